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
  python3-jsonschema python3-matplotlib
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

if ! "$PY" -c "import onnxruntime, matscipy, dirsync, fasteners, importlib.util as u
assert u.find_spec('schnetpack')" >/dev/null 2>&1; then
  echo "setup: installing PyPI packages (scripts/requirements-pypi.txt)"
  sudo_if_needed "$PY" -m pip install -q --no-deps --break-system-packages \
    -r scripts/requirements-pypi.txt
fi

mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLFF_PYTHON="$PY" > "$BUILD/configure.log" 2>&1 ||
  { cat "$BUILD/configure.log"; exit 1; }
cmake --build "$BUILD"
echo "setup: built $BUILD/mlff_painn_eval and the tests"
