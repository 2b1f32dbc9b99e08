#!/usr/bin/env bash
# The README's demo: on a fresh Debian 12 machine, installs what is needed,
# builds, starts stdb-standin (a SpacetimeDB stand-in), seeds it, starts a
# coordinator and two generators on this machine, runs one measured epoch
# with verification, prints the result and where it was written, and stops
# every process it started — also on Ctrl-C or failure.
#   scripts/demo.sh [--window-seconds S] [--concurrency N]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

window=10
concurrency=32
while [ $# -gt 0 ]; do
  case "$1" in
    --window-seconds) window=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target stdb-standin bench-dist-coordinator bench-dist-generator bench-dist-control
bin="$root/build/release/bin"

work=$(mktemp -d /tmp/bench-dist-demo.XXXXXX)
results="$root/runs/distributed"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    echo "demo failed (exit $rc); logs:" >&2
    for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (bounded) for a log line matching a pattern and prints the match.
wait_for_line() {
  local file=$1 pattern=$2 what=$3
  for _ in $(seq 1 600); do
    if grep -m1 -oE "$pattern" "$file" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "demo: $what did not start within 30 s" >&2
  return 1
}

echo "== starting stdb-standin"
"$bin/stdb-standin" --listen 127.0.0.1:0 --database test-1 >"$work/standin.log" 2>&1 &
pids+=($!)
standin_port=$(wait_for_line "$work/standin.log" 'listening on http://127\.0\.0\.1:[0-9]+' stdb-standin | sed 's/.*://')
stdb_url="ws://127.0.0.1:$standin_port"
echo "   $stdb_url"

echo "== seeding 10000 accounts with balance 10000000"
"$bin/bench-dist-control" seed --stdb-url "$stdb_url" --stdb-module test-1 --accounts 10000 --initial-balance 10000000

echo "== starting bench-dist-coordinator"
"$bin/bench-dist-coordinator" --bind 127.0.0.1 --port 0 --stdb-url "$stdb_url" --stdb-module test-1 \
  --window-seconds "$window" --warmup-seconds 2 --start-ack-timeout-seconds 30 --stop-ack-timeout-seconds 30 \
  --verify --initial-balance 10000000 --results-dir "$results" >"$work/coordinator.log" 2>&1 &
pids+=($!)
coord_port=$(wait_for_line "$work/coordinator.log" 'listening on http://127\.0\.0\.1:[0-9]+' coordinator | sed 's/.*://')
coord_url="http://127.0.0.1:$coord_port"
echo "   $coord_url"

for name in gen-a gen-b; do
  echo "== starting generator $name ($concurrency connections)"
  "$bin/bench-dist-generator" --coordinator-url "$coord_url" --id "$name" --concurrency "$concurrency" \
    --accounts 10000 --pairs 200000 --stdb-url "$stdb_url" --stdb-module test-1 --poll-ms 200 \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
done

"$bin/bench-dist-control" --coordinator-url "$coord_url" wait-ready --generators 2 --timeout 60

echo "== running one epoch: 2s warmup, then a ${window}s measured window, verification on"
set +e
"$bin/bench-dist-control" --coordinator-url "$coord_url" start-epoch --label demo --timeout $((window + 120))
rc=$?
set -e
latest=$(ls -t "$results"/test-1-spacetimedb-epoch-*.json 2>/dev/null | head -n1 || true)
if [ -n "$latest" ]; then
  echo "== result ($latest)"
  cat "$latest"
fi
exit $rc
