#!/usr/bin/env bash
# Runs every test: C++ engine and loader tests (GoogleTest) and the Python tests (exporters,
# PyTorch reference, engine vs schnetpack and vs the seed ONNX model), all through ctest.
# Installs and builds what is missing first. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
ctest --test-dir build --output-on-failure --timeout 1500 -j 2
