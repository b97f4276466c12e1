#!/usr/bin/env bash
# Runs the whole benchmark in one go on a GPU machine: builds the systems and models, times the
# engine (mlff_painn_bench, built against a CUDA Kokkos) and the PyTorch baseline on the same
# systems and weights, and writes results.jsonl, RESULTS-table.md and scaling.png to OUT.
#   bash bench/run.sh BUILD_DIR OUT_DIR [SIZES...]     (SIZES default: 1000 10000 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$(cd "$1" && pwd)
OUT=$(mkdir -p "$2" && cd "$2" && pwd)
shift 2
SIZES=${*:-1000 10000 100000 1000000}
WORK=$(mktemp -d)
PY=${PYTHON:-python3}
RES=$OUT/results.jsonl
: > "$RES"

"$PY" bench/systems.py "$WORK" --atoms $SIZES
# SEED_MODEL: a seed-architecture model made beforehand by bench/models.py (which needs ase).
SEED=${SEED_MODEL:-$WORK/seed_arch.json}
[ -f "$SEED" ] || "$PY" bench/models.py "$WORK"
PAINN_MOL=potentials/benzene/benzene_painn.json
PAINN_BOX=potentials/water/water_painn.json

engine() {  # model system precision path repeat
  "$BUILD/mlff_painn_bench" --model "$1" --system "$2" --precision "$3" --path "$4" \
    --warmup 3 --repeat "$5" | tee -a "$RES" || echo "{\"error\": \"mlff_painn_bench failed\", \"model\": \"$1\", \"system\": \"$2\", \"precision\": \"$3\"}" >> "$RES"
}
torchb() {  # model system repeat
  "$PY" bench/torch_bench.py --model "$1" --system "$2" --repeat "$3" | tee -a "$RES" || true
}
repeats() { case $1 in 1000000) echo 5 ;; 100000) echo 10 ;; *) echo 30 ;; esac; }

nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
for prec in fp64 fp32; do
  engine $PAINN_MOL "$WORK/benzene.sys" $prec both 200
  engine $SEED "$WORK/benzene.sys" $prec both 200
  for n in $SIZES; do
    path=both; [ "$n" -ge 1000000 ] && path=resident
    engine $PAINN_BOX "$WORK/water$n.sys" $prec $path "$(repeats "$n")"
    engine $SEED "$WORK/water$n.sys" $prec $path "$(repeats "$n")"
  done
done
torchb $PAINN_MOL "$WORK/benzene.sys" 30
torchb $SEED "$WORK/benzene.sys" 30
for n in $SIZES; do
  [ "$n" -ge 1000000 ] && continue
  torchb $PAINN_BOX "$WORK/water$n.sys" "$(repeats "$n")"
  torchb $SEED "$WORK/water$n.sys" "$(repeats "$n")"
done
"$PY" bench/report.py "$RES" "$OUT"
rm -rf "$WORK"
