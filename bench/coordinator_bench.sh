#!/usr/bin/env bash
# Measures bench-dist-coordinator under a fleet of simulated generators
# polling /state (issue 7: p99 <= 5 ms at 1000 generators polling once a
# second). Builds nothing: give it a build directory that has stdb-standin,
# bench-dist-coordinator and coordinator_poll_load (default build/release;
# build the last with -DBENCHDIST_BUILD_BENCH=ON). Starts stdb-standin and
# the coordinator on free 127.0.0.1 ports, registers the fleet, polls for
# ~20 s per case and prints one JSON object per case; every process it
# started is stopped on exit, failure or Ctrl-C.
#
# Cases (MODES, default "long-poll poll"):
#   long-poll  what bench-dist-generator does by default: back-to-back
#              GET /state?id=..&since=<version>&waitMs=1000, held by the
#              coordinator until the wait ends; response_ms = lateness
#              beyond the wait.
#   poll       a plain GET /state?id=.. every second per generator on a
#              fixed schedule; response_ms = round trip.
# Both keep one connection per generator, as bench-dist-generator's control
# client does (CONNECTION=close opens a new one per request instead). A
# held long-poll occupies a coordinator connection for its whole wait, so
# 1000 generators keep ~1000 connections open: the coordinator runs with
# --max-connections 2000 (MAX_CONNECTIONS); with a cap below the fleet
# (before the default became 2048 it was 512) the rest would be answered 503.
#
#   bench/coordinator_bench.sh [BUILD_DIR]
#   env: GENERATORS=1000 POLL_SECONDS=20 MODES="long-poll poll"
#        CONNECTION=keep-alive MAX_CONNECTIONS=2000 CLIENT_THREADS=2
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build/release}
case "$build" in /*) ;; *) [ -d "$build" ] || build="$root/$build" ;; esac
bin="$build/bin"
generators=${GENERATORS:-1000}
poll_seconds=${POLL_SECONDS:-20}
modes=${MODES:-long-poll poll}
connection=${CONNECTION:-keep-alive}
max_connections=${MAX_CONNECTIONS:-2000}
client_threads=${CLIENT_THREADS:-2}

for tool in stdb-standin bench-dist-coordinator coordinator_poll_load; do
  if [ ! -x "$bin/$tool" ]; then
    echo "coordinator_bench: $bin/$tool not found; build it first, e.g." >&2
    echo "  cmake --build $build --target stdb-standin bench-dist-coordinator coordinator_poll_load" >&2
    exit 2
  fi
done

source "$root/scripts/lib/processes.sh"
processes_init coordinator-bench
work=$PROCESSES_WORK

# The coordinator needs a descriptor per held poll (and the helper one per
# generator): raise the soft limit as far as the hard one allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((generators + 64)) ]; then
  echo "coordinator_bench: open-file limit $(ulimit -n) is below $((generators + 64)); raise it (ulimit -Hn)" >&2
  exit 2
fi

start_process standin "$bin/stdb-standin" --listen 127.0.0.1:0 --database test-1
standin_port=$(listening_port standin stdb-standin "$STARTED_PID")

case_index=0
for mode in $modes; do
  case_index=$((case_index + 1))
  # A fresh coordinator per case, so one case's fleet does not linger in the next's /state.
  start_process "coordinator-$case_index" "$bin/bench-dist-coordinator" --bind 127.0.0.1 --port 0 \
    --stdb-url "ws://127.0.0.1:$standin_port" --stdb-module test-1 --results-dir "$work/results" \
    --max-connections "$max_connections"
  coord_pid=$STARTED_PID
  coord_port=$(listening_port "coordinator-$case_index" coordinator "$coord_pid")
  "$bin/coordinator_poll_load" --url "http://127.0.0.1:$coord_port" --generators "$generators" \
    --seconds "$poll_seconds" --mode "$mode" --connection "$connection" --threads "$client_threads" \
    --pid "$coord_pid" --wait-ms 1000 --interval-ms 1000
  stop_process "$coord_pid"
done
