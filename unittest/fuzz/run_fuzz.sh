#!/usr/bin/env bash
# Runs the loader fuzzer for a fixed time from the seed corpus and the regression inputs, and
# fails on any finding (crash, uncaught exception, ASan/UBSan/LeakSanitizer report, timeout,
# memory above the limit). Registered as the ctest test fuzz_loader.
# Usage: run_fuzz.sh FUZZER WORKDIR [SECONDS]
set -euo pipefail
fuzzer=$1
work=$2
seconds=${3:-60}
here=$(cd "$(dirname "$0")" && pwd)

# A fresh corpus each run: every run starts from the committed seeds, so runs are comparable.
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "fuzz_loader: $seconds s, seeds $here/corpus, regressions $here/regressions, log $work/fuzz.log"
rc=0
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
  -max_len=8192 -print_final_stats=1 -dict="$here/json.dict" \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$here/corpus" "$here/regressions" \
  > "$work/fuzz.log" 2>&1 || rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
units=$(sed -n 's/^stat::new_units_added: *//p' "$work/fuzz.log")
rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/fuzz.log")
findings=$(find "$work/artifacts" -type f | wc -l)
if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ] || [ -z "$execs" ]; then
  tail -60 "$work/fuzz.log"
  echo "fuzz_loader: FAILED (exit status $rc, $findings reproducer(s) in $work/artifacts)"
  exit 1
fi
echo "fuzz_loader: ${execs} executions in ${seconds} s, ${units} new corpus units, peak RSS ${rss} MB, no findings"
