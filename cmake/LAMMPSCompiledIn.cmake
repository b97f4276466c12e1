# Compiles pair_style mlff/painn into LAMMPS (LAMMPS's own CMake build), as an alternative to
# the plugin. Pass this file as a project include when configuring LAMMPS:
#
#   cmake -S lammps/cmake -B build-lammps -DPKG_MOLECULE=on ... \
#         -DCMAKE_PROJECT_lammps_INCLUDE=/path/to/mlff-painn/cmake/LAMMPSCompiledIn.cmake
#
# It registers the style header with LAMMPS's style generator before LAMMPS scans its own
# sources, builds the engine library, and attaches both to the `lammps` target once that
# target exists (deferred call, CMake >= 3.19).
cmake_minimum_required(VERSION 3.19)
get_filename_component(MLFF_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

include(${MLFF_ROOT}/cmake/DebianKokkos.cmake)
find_package(nlohmann_json 3.9 REQUIRED)

include(${CMAKE_CURRENT_SOURCE_DIR}/Modules/StyleHeaderUtils.cmake)
RegisterStyles(${MLFF_ROOT}/src/lammps)

add_library(mlff_painn_engine STATIC
  ${MLFF_ROOT}/src/weights/json_loader.cpp
  ${MLFF_ROOT}/src/engine/engine_instances.cpp
  ${MLFF_ROOT}/src/lammps/painn_runner.cpp)
set_target_properties(mlff_painn_engine PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON
                      POSITION_INDEPENDENT_CODE ON)
target_include_directories(mlff_painn_engine PUBLIC ${MLFF_ROOT}/src)
target_link_libraries(mlff_painn_engine PUBLIC Kokkos::kokkos nlohmann_json::nlohmann_json)

function(mlff_painn_attach_to_lammps)
  target_sources(lammps PRIVATE ${MLFF_ROOT}/src/lammps/pair_mlff_painn.cpp)
  # Kokkos needs C++14 or later; LAMMPS before 2023 asks for C++11.
  get_target_property(std lammps CXX_STANDARD)
  if(NOT std OR std LESS 17)
    set_property(TARGET lammps PROPERTY CXX_STANDARD 17)
  endif()
  target_include_directories(lammps PRIVATE ${MLFF_ROOT}/src/lammps)
  target_link_libraries(lammps PRIVATE mlff_painn_engine)
  message(STATUS "mlff/painn: pair_style mlff/painn compiled into LAMMPS")
endfunction()
cmake_language(DEFER CALL mlff_painn_attach_to_lammps)
