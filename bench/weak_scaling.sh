#!/usr/bin/env bash
# Weak scaling of mlff/painn/kk: one MPI rank per GPU, the water box copied once per GPU along x
# (the same atoms per GPU at every count); efficiency = t(1 GPU) / t(n GPUs) per MD step.
#   bash bench/weak_scaling.sh LMP PLUGIN OUT [GPUS...]    (GPUS default: 1 2 4)
# LMP: LAMMPS with KOKKOS (CUDA) and real MPI; PLUGIN built against it with -DMLFF_LAMMPS_KOKKOS=ON.
# MOLECULES (water molecules per GPU, default 32768), PREC, TABLE, STEPS, MPIRUN, KK_ARGS
# (default "-k on g N -sf kk -pk kokkos gpu/aware off"; set gpu/aware on for a CUDA-aware MPI).
# DATA_DIR: folder with waterN.data made beforehand by examples/water/make_box.py N 11.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LMP=$1 PLUGIN=$2
OUT=$(mkdir -p "$3" && cd "$3" && pwd)
shift 3
GPUS=${*:-1 2 4}
N=${MOLECULES:-32768} PREC=${PREC:-fp32} TABLE=${TABLE:-1024} STEPS=${STEPS:-50}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe}
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
RES=$OUT/weak_scaling.jsonl
: > "$RES"
bash "$ROOT/bench/water_box.sh" "$N" "$WORK"
nvidia-smi --query-gpu=name --format=csv,noheader > "$OUT/weak-gpu.txt" 2>/dev/null
for g in $GPUS; do
  log=$OUT/weak_${g}gpu.log
  args=${KK_ARGS:--k on g $g -sf kk -pk kokkos gpu/aware off}
  (cd "$WORK" && timeout 500 $MPIRUN -np "$g" "$LMP" $args -in "$ROOT/bench/in.lammps_bench" \
    -var plugin "$PLUGIN" -var data "water$N.data" -var bnd p -var elements "O H" \
    -var model "$ROOT/potentials/water/water_painn.json" -var prec "$PREC" -var table "$TABLE" \
    -var warm 5 -var steps "$STEPS" -var rep "$g" > "$log" 2>&1)
  "$PY" "$ROOT/bench/loop_time.py" "$log" gpus="$g" precision="$PREC" table="$TABLE" >> "$RES"
  tail -1 "$RES"
done
"$PY" - "$RES" "$(head -1 "$OUT/weak-gpu.txt" 2>/dev/null)" > "$OUT/weak_scaling.md" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
one = next((r for r in rows if r.get("gpus") == 1 and "us_per_step" in r), None)
print(f"Weak scaling of mlff/painn/kk on {sys.argv[2]}: one rank per GPU, median of 3 timed runs\n")
print("| GPUs | atoms | µs/step | atom-steps/s | efficiency |")
print("| --- | --- | --- | --- | --- |")
for r in rows:
    if "error" in r:
        print(f"| {r['gpus']} | | failed: {r['error']} | | |")
        continue
    eff = f"{one['us_per_step'] / r['us_per_step'] * 100:.0f} %" if one else "—"
    print(f"| {r['gpus']} | {r['atoms']} | {r['us_per_step']:.0f} | {r['atom_steps_per_s'] / 1e6:.2f} M | {eff} |")
PYEOF
cat "$OUT/weak_scaling.md"
rm -rf "$WORK"
