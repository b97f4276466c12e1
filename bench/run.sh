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

engine() {  # model system precision table path repeat [graph 0|1]
  "$BUILD/mlff_painn_bench" --model "$1" --system "$2" --precision "$3" --table "$4" --path "$5" \
    --graph "${7:-0}" --warmup 3 --repeat "$6" | tee -a "$RES" || echo "{\"error\": \"mlff_painn_bench failed\", \"model\": \"$1\", \"system\": \"$2\", \"precision\": \"$3\", \"table\": $4}" >> "$RES"
}
torchb() {  # model system repeat
  "$PY" bench/torch_bench.py --model "$1" --system "$2" --repeat "$3" | tee -a "$RES" || true
}
repeats() { case $1 in 1000000) echo 5 ;; 100000) echo 10 ;; *) echo 30 ;; esac; }

nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
# Precision and radial filter: exact network, or the table (filter_table.h) with 4096 intervals
# in fp64 and 1024 in fp32 (both far below that precision's rounding: bench/RESULTS.md).
CONFIGS="fp64:0 fp64:4096 fp32:0 fp32:1024"
for cfg in $CONFIGS; do
  prec=${cfg%:*} table=${cfg#*:}
  engine $PAINN_MOL "$WORK/benzene.sys" $prec $table both 200
  engine $SEED "$WORK/benzene.sys" $prec $table both 200
  # the resident call recorded as a CUDA graph and replayed (src/engine/call_graph.h)
  engine $PAINN_MOL "$WORK/benzene.sys" $prec $table resident 200 1
  for n in $SIZES; do
    # the host path (ghost rows through host memory) is shown where it is not hopeless
    path=both; [ "$n" -ge 10000 ] && path=resident
    engine $PAINN_BOX "$WORK/water$n.sys" $prec $table $path "$(repeats "$n")"
    [ "$n" -le 10000 ] && engine $PAINN_BOX "$WORK/water$n.sys" $prec $table resident "$(repeats "$n")" 1
    # the seed architecture's exact filter network costs 1-2 s per call at 100k atoms
    [ "$n" -ge 100000 ] && [ "$table" = 0 ] && continue
    engine $SEED "$WORK/water$n.sys" $prec $table $path "$(repeats "$n")"
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
