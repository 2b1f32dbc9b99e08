#!/usr/bin/env bash
# Builds the libFuzzer targets with the `fuzz` preset (clang, ASan+UBSan) and
# runs each for a bounded number of executions over its seed corpus.
#
#   scripts/fuzz.sh [RUNS]                    default 20000 executions per target
#   scripts/fuzz.sh --build-dir DIR [RUNS]    build there instead of build/fuzz
#   scripts/fuzz.sh --no-build [RUNS]         run an existing build (CTest's fuzz_smoke)
#
# Environment: FUZZ_MAX_TOTAL_TIME (seconds per target, default 300) caps a
# run whatever RUNS says; FUZZ_TARGETS limits the targets run.
# Exit status: 0 when no target found anything; 1 on a finding (the input is
# saved under DIR/fuzz/findings/ and named in the output); 2 on usage errors.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build/fuzz
do_build=1
runs=20000
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *[!0-9]*|'') echo "fuzz.sh: unknown argument \"$1\" (expected a number of runs)" >&2; exit 2 ;;
    *) runs=$1; shift ;;
  esac
done
max_total_time=${FUZZ_MAX_TOTAL_TIME:-300}
targets=${FUZZ_TARGETS:-"message_decode_fuzz control_json_fuzz ws_frame_fuzz"}

if [ "$do_build" -eq 1 ]; then
  if ! command -v clang++ >/dev/null 2>&1; then
    echo "fuzz.sh: clang++ not found; run scripts/setup.sh (it installs clang and libclang-rt-14-dev)" >&2
    exit 2
  fi
  cmake --preset fuzz -B "$build_dir" >/dev/null
  # -j1 by default: these machines are small and shared; FUZZ_JOBS to change.
  cmake --build "$build_dir" --target $targets fuzz_corpus -j "${FUZZ_JOBS:-1}"
fi

bin="$build_dir/bin"
seeds="$build_dir/fuzz/seeds"
for t in $targets; do
  if [ ! -x "$bin/$t" ]; then
    echo "fuzz.sh: $bin/$t is missing; build with the fuzz preset first (scripts/fuzz.sh without --no-build)" >&2
    exit 2
  fi
done
if [ ! -d "$seeds" ]; then
  python3 fuzz/make_corpus.py --vectors tests/data/vectors.json --out "$seeds"
fi

findings="$build_dir/fuzz/findings"
mkdir -p "$findings"
status=0
for t in $targets; do
  # New inputs go to a work corpus that persists between runs, so each run
  # starts where the last one stopped; the seeds stay as generated.
  work="$build_dir/fuzz/corpus/$t"
  mkdir -p "$work"
  log="$build_dir/fuzz/$t.log"
  echo "fuzz.sh: $t: up to $runs executions (at most ${max_total_time}s)"
  start=$(date +%s)
  set +e
  "$bin/$t" -runs="$runs" -max_total_time="$max_total_time" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$findings/$t-" "$work" "$seeds/$t" >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    echo "fuzz.sh: $t: FINDING (exit $rc) after ${elapsed}s; log $log" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*: [a-z_]*fuzz: |artifact_prefix|Test unit written)' "$log" >&2 || tail -30 "$log" >&2
    status=1
  else
    echo "fuzz.sh: $t: ok, ${execs:-?} executions in ${elapsed}s, corpus $(ls "$work" | wc -l) inputs"
  fi
done
exit $status
