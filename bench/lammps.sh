#!/usr/bin/env bash
# LAMMPS timings of mlff/painn (host neighbor lists, engine on the GPU) and mlff/painn/kk
# (KOKKOS package, everything on the GPU) on benzene and periodic water boxes; one JSON line per
# run in OUT/lammps.jsonl and a table in OUT/lammps-table.md.
#   bash bench/lammps.sh LMP PLUGIN OUT [MOLECULES...]   (water molecules; default 512 3375 32768)
# (DATA_DIR: folder with waterN.data files made by examples/water/make_box.py N 11)
# LMP must have the KOKKOS package (CUDA) and PLUGIN; PLUGIN must be built with
# -DMLFF_LAMMPS_KOKKOS=ON against it. KK_ARGS overrides "-k on g 1 -sf kk".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LMP=$1 PLUGIN=$2
OUT=$(mkdir -p "$3" && cd "$3" && pwd)
shift 3
SIZES=${*:-512 3375 32768}
KK_ARGS=${KK_ARGS:--k on g 1 -sf kk}
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
RES=$OUT/lammps.jsonl
: > "$RES"
cp "$ROOT/examples/benzene/benzene.data" "$WORK/"
for n in $SIZES; do bash "$ROOT/bench/water_box.sh" "$n" "$WORK"; done

# style precision table system data boundary elements model warm steps [graph yes|no]
one() {
  local style=$1 prec=$2 table=$3 sys=$4 data=$5 bnd=$6 el=$7 model=$8 warm=$9 steps=${10} graph=${11:-yes} args=""
  [ "$style" = kk ] && args=$KK_ARGS
  local log="$OUT/lammps_${sys}_${style}_${prec}_t${table}_g${graph}.log"
  (cd "$WORK" && timeout 300 "$LMP" $args -in "$ROOT/bench/in.lammps_bench" -var plugin "$PLUGIN" \
    -var data "$data" -var bnd "$bnd" -var elements "$el" -var model "$model" -var prec "$prec" \
    -var table "$table" -var warm "$warm" -var steps "$steps" -var graph "$graph" > "$log" 2>&1)
  local rc=$? name=mlff/painn; [ "$style" = kk ] && name=mlff/painn/kk
  "$PY" "$ROOT/bench/loop_time.py" "$log" system="$sys" style=$name precision="$prec" table="$table" \
    graph="$graph" exit_status=$rc >> "$RES"
  tail -1 "$RES"
}
B=$ROOT/potentials/benzene/benzene_painn.json W=$ROOT/potentials/water/water_painn.json
nvidia-smi --query-gpu=name --format=csv,noheader > "$OUT/lammps-gpu.txt" 2>/dev/null || echo "a machine without nvidia-smi" > "$OUT/lammps-gpu.txt"
for style in host kk; do
  one $style fp64 0 benzene benzene.data f "C H" "$B" 200 1000
  one $style fp32 1024 benzene benzene.data f "C H" "$B" 200 1000
  # each kernel launched and ghost rows through LAMMPS (graph no) against the default (one
  # rank: ghost rows from an owner map, the call recorded as a CUDA graph)
  one $style fp32 1024 benzene benzene.data f "C H" "$B" 200 1000 no
  for n in $SIZES; do
    steps=$(( 300000 / (3 * n) + 10 )); [ $steps -gt 300 ] && steps=300
    # the host path moves every layer's ghost rows through host memory: large boxes only on kk
    [ "$style" = host ] && [ "$n" -gt 4000 ] && [ "$n" -ne "${SIZES%% *}" ] && continue
    one $style fp64 0 "water$((3 * n))" "water$n.data" p "O H" "$W" 5 "$steps"
    # fp32 with the exact filter (weights resident in registers) on the device-resident style
    [ "$style" = kk ] && one $style fp32 0 "water$((3 * n))" "water$n.data" p "O H" "$W" 5 "$steps"
    one $style fp32 1024 "water$((3 * n))" "water$n.data" p "O H" "$W" 5 "$steps"
    one $style fp32 1024 "water$((3 * n))" "water$n.data" p "O H" "$W" 5 "$steps" no
  done
done
"$PY" - "$RES" "$(cat "$OUT/lammps-gpu.txt")" > "$OUT/lammps-table.md" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"LAMMPS timings on {sys.argv[2]} (median of 3 timed runs after a warm-up)\n")
print("| system | atoms | style | precision | table | graph | µs/step | atom-steps/s | exit status |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    if "error" in r:
        print(f"| {r['system']} | | {r['style']} | {r['precision']} | {r['table']} | {r.get('graph', '')} | failed: {r['error']} | | {r.get('exit_status', '')} |")
    else:
        print(f"| {r['system']} | {r['atoms']} | {r['style']} | {r['precision']} | {r['table']} | {r.get('graph', '')} | "
              f"{r['us_per_step']:.1f} | {r['atom_steps_per_s'] / 1e6:.3f} M | {r.get('exit_status', '')} |")
PYEOF
cat "$OUT/lammps-table.md"
rm -rf "$WORK"
