#!/usr/bin/env bash
# The README's demo: on a fresh Debian 12 machine, installs what is needed,
# builds, starts stdb-standin (a SpacetimeDB stand-in), seeds it, starts a
# coordinator and two generators on this machine, runs one measured epoch
# with verification, prints the result and where it was written, then runs
# a short sweep (a 2 x 2 grid of total connections x contention, one epoch
# per point, no generator restarted) and prints its campaign table, writes
# an HTML report of the run, and stops every process it started — also on
# Ctrl-C or failure. The coordinator's dashboard is at <coordinator>/ui
# while the demo runs.
#   scripts/demo.sh [--window-seconds S] [--concurrency N] [--no-sweep]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

window=10
concurrency=32
sweep=1
while [ $# -gt 0 ]; do
  case "$1" in
    --window-seconds) window=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --no-sweep) sweep=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target stdb-standin bench-dist-coordinator bench-dist-generator bench-dist-control
bin="$root/build/release/bin"

results="$root/runs/distributed"
source "$root/scripts/lib/processes.sh"
processes_init bench-dist-demo
# Files newer than this are this run's (the report covers them only, while
# runs/distributed keeps every run's results).
run_marker="$PROCESSES_WORK/run-started"
mkdir -p "$results"
touch "$run_marker"

echo "== starting stdb-standin"
start_process standin "$bin/stdb-standin" --listen 127.0.0.1:0 --database test-1
standin_port=$(listening_port standin stdb-standin "$STARTED_PID")
stdb_url="ws://127.0.0.1:$standin_port"
echo "   $stdb_url"

echo "== seeding 10000 accounts with balance 10000000"
"$bin/bench-dist-control" seed --stdb-url "$stdb_url" --stdb-module test-1 --accounts 10000 --initial-balance 10000000

echo "== starting bench-dist-coordinator"
start_process coordinator "$bin/bench-dist-coordinator" --bind 127.0.0.1 --port 0 --stdb-url "$stdb_url" --stdb-module test-1 \
  --window-seconds "$window" --warmup-seconds 2 --start-ack-timeout-seconds 30 --stop-ack-timeout-seconds 30 \
  --verify --initial-balance 10000000 --results-dir "$results"
coord_port=$(listening_port coordinator coordinator "$STARTED_PID")
coord_url="http://127.0.0.1:$coord_port"
echo "   $coord_url"

for name in gen-a gen-b; do
  echo "== starting generator $name ($concurrency connections)"
  start_process "$name" "$bin/bench-dist-generator" --coordinator-url "$coord_url" --id "$name" --concurrency "$concurrency" \
    --accounts 10000 --pairs 200000 --stdb-url "$stdb_url" --stdb-module test-1 --poll-ms 200
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
[ "$rc" -eq 0 ] || exit "$rc"

if [ "$sweep" = 1 ]; then
  # At most 2 x concurrency connections are open; the grid asks for fewer,
  # and each point's share is applied by the generators at its start.
  small=$((concurrency / 4 > 1 ? concurrency / 4 : 2))
  echo "== a short sweep: connections=$small,$((2 * concurrency)) x alpha=0,1.5, 1 s warmup + 3 s window per point"
  "$bin/bench-dist-control" --coordinator-url "$coord_url" sweep --vary "connections=$small,$((2 * concurrency))" \
    --vary alpha=0,1.5 --warmup 1 --window 3 --campaign-dir "$results" --timeout 120
fi

echo "== a report of this run's epochs and sweep (self-contained HTML; also --format csv|markdown)"
mapfile -t this_run < <(find "$results" -maxdepth 1 -name '*.json' -newer "$run_marker" | sort)
"$bin/bench-dist-control" report "${this_run[@]}" --out "$results/report.html"
echo "   open file://$(cd "$results" && pwd)/report.html in a browser"
