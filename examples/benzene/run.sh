#!/usr/bin/env bash
# The main job: set everything up (first time only), run benzene NVE with the shipped model,
# print the energy drift and write energy.png. Usage: bash examples/benzene/run.sh [steps]
set -euo pipefail
cd "$(dirname "$0")"
bash ../../scripts/setup.sh >&2   # builds into <repo>/build
LMP=../../build/lmp
"$LMP" -in in.nve -var steps "${1:-4000}" -log log.lammps
/usr/bin/python3 plot_energy.py energy.dat energy.png
