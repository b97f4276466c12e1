#!/usr/bin/env bash
# Builds LAMMPS from Debian's `lammps` source package with the packages mlff/painn needs:
# PLUGIN (so `plugin load` works), KOKKOS (against Debian's Kokkos), MOLECULE and MPI.
# The build is cached outside the repository and reused while the Debian version is unchanged.
# Prints the path of `lmp` on its last line. Needs deb-src entries (scripts/setup.sh adds them).
# Usage: bash scripts/build_lammps.sh   (MLFF_LAMMPS_CACHE overrides the cache folder)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSION=$(dpkg-query -W -f='${Version}' lammps 2>/dev/null || apt-cache show lammps | awk '/^Version:/{print $2; exit}')
[ -n "$VERSION" ] || { echo "build_lammps: cannot find Debian's lammps package version" >&2; exit 1; }
CACHE=${MLFF_LAMMPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlff-painn/lammps-${VERSION//[:+~]/_}}
LMP="$CACHE/install/bin/lmp"

if [ -x "$LMP" ] && [ -f "$CACHE/install/.complete" ]; then
  echo "build_lammps: using cached LAMMPS $VERSION" >&2
  echo "$LMP"
  exit 0
fi

mkdir -p "$CACHE"
cd "$CACHE"
if [ ! -d source ]; then
  echo "build_lammps: fetching Debian source package lammps $VERSION" >&2
  rm -rf fetch && mkdir fetch
  (cd fetch && apt-get source -q "lammps=$VERSION" > ../fetch.log 2>&1) ||
    { cat fetch.log >&2; echo "build_lammps: apt-get source failed (are deb-src entries enabled?)" >&2; exit 1; }
  mv "$(find fetch -maxdepth 1 -mindepth 1 -type d | head -1)" source
  rm -rf fetch
fi

echo "build_lammps: configuring (log: $CACHE/configure.log)" >&2
cmake -S source/cmake -B build -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$CACHE/install" -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_INSTALL_RPATH="$CACHE/install/lib" \
  -DCMAKE_PROJECT_lammps_INCLUDE="$ROOT/cmake/DebianKokkos.cmake" \
  -DBUILD_SHARED_LIBS=on -DBUILD_MPI=on -DBUILD_OMP=off -DLAMMPS_EXCEPTIONS=on \
  -DPKG_PLUGIN=on -DPKG_KOKKOS=on -DEXTERNAL_KOKKOS=on -DPKG_MOLECULE=on \
  -DWITH_JPEG=off -DWITH_PNG=off -DWITH_FFMPEG=off -DBUILD_DOC=off -DBUILD_TOOLS=off \
  > configure.log 2>&1 || { tail -40 configure.log >&2; exit 1; }
echo "build_lammps: compiling (about 6 minutes on 2 cores; log: $CACHE/build.log)" >&2
cmake --build build > build.log 2>&1 || { tail -40 build.log >&2; exit 1; }
cmake --install build > install.log 2>&1 || { tail -20 install.log >&2; exit 1; }
touch "$CACHE/install/.complete"
echo "$LMP"
