#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for mlff/painn and builds the engine, its tools and tests.
# Everything comes from Debian's packages and PyPI. Safe to run again: installs only what is
# missing and rebuilds incrementally. Usage: bash scripts/setup.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PY=/usr/bin/python3   # Debian's Python, where python3-torch and python3-onnx live

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libtrilinos-kokkos-dev nlohmann-json3-dev libgtest-dev
  python3 python3-pip python3-numpy python3-scipy python3-ase python3-torch python3-onnx
  python3-protobuf python3-sympy python3-packaging python3-tqdm python3-pytest
  python3-jsonschema python3-matplotlib python3-cffi
  dpkg-dev libopenmpi-dev openmpi-bin
  clang-14 libclang-rt-14-dev valgrind   # loader fuzzer (libFuzzer, ASan, UBSan); leak test
)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_if_needed apt-get update -q
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LAMMPS is built from Debian's source package: make sure apt knows deb-src entries.
if ! grep -rqs "^Types:.*deb-src\|^deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "setup: enabling Debian source packages (deb-src)"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      sudo_if_needed tee /etc/apt/sources.list.d/mlff-painn-deb-src.sources > /dev/null
  else
    grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
      sudo_if_needed tee /etc/apt/sources.list.d/mlff-painn-deb-src.list > /dev/null
  fi
  sudo_if_needed apt-get update -q
fi

if ! "$PY" -c "import onnxruntime, matscipy, dirsync, fasteners, tblite, importlib.util as u
assert u.find_spec('schnetpack')" >/dev/null 2>&1; then
  echo "setup: installing PyPI packages (scripts/requirements-pypi.txt)"
  sudo_if_needed "$PY" -m pip install -q --no-deps --break-system-packages \
    -r scripts/requirements-pypi.txt
fi

LMP=$(bash scripts/build_lammps.sh | tail -1)
LMP_SRC=$(dirname "$(dirname "$(dirname "$LMP")")")/source/src

mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLFF_PYTHON="$PY" \
  -DMLFF_LAMMPS_SOURCE_DIR="$LMP_SRC" -DMLFF_LAMMPS_EXECUTABLE="$LMP" -DMLFF_LAMMPS_KOKKOS=ON -DMLFF_FUZZ=ON \
  > "$BUILD/configure.log" 2>&1 ||
  { cat "$BUILD/configure.log"; exit 1; }
cmake --build "$BUILD"
ln -sf "$LMP" "$BUILD/lmp"
echo "setup: built $BUILD/mlff_painn_plugin.so (pair_style mlff/painn), $BUILD/mlff_painn_eval and the tests"
echo "setup: LAMMPS with PLUGIN, KOKKOS, MOLECULE and MPI: $LMP (linked as $BUILD/lmp)"
