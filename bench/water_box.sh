#!/usr/bin/env bash
# Puts the water box of N molecules into WORK as waterN.data: copied from DATA_DIR when it holds
# one (made beforehand, e.g. on a machine without ase), else made by examples/water/make_box.py.
#   bash bench/water_box.sh N WORK
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=$1 WORK=$2
if [ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/water$N.data" ]; then cp "$DATA_DIR/water$N.data" "$WORK/"
else (cd "$WORK" && "${PYTHON:-python3}" "$ROOT/examples/water/make_box.py" "$N" 11 > /dev/null && mv water.data "water$N.data"); fi
