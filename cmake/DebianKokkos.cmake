# Debian's Trilinos-packaged Kokkos 3.4 exports a Kokkos::kokkos target whose include directory
# (/usr/lib/include) does not exist; the headers live in /usr/include/trilinos. Repair the
# target in place so that anything linking Kokkos::kokkos compiles. No-op for other Kokkos builds.
# Used by this project's CMakeLists.txt and, through CMAKE_PROJECT_lammps_INCLUDE, by the
# LAMMPS build in scripts/build_lammps.sh.
find_package(Kokkos REQUIRED)
if(TARGET trilinos_kokkoscore)
  find_path(MLFF_KOKKOS_INCLUDE Kokkos_Core.hpp
            HINTS ${Kokkos_INCLUDE_DIRS} PATH_SUFFIXES trilinos REQUIRED)
  set_property(TARGET Kokkos::kokkos PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${MLFF_KOKKOS_INCLUDE}")
  set_property(TARGET Kokkos::kokkos PROPERTY INTERFACE_LINK_LIBRARIES
               trilinos_kokkoscontainers trilinos_kokkoscore)
endif()
