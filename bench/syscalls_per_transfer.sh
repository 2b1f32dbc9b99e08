#!/usr/bin/env bash
# System calls per committed transfer, of the generator and of the stand-in:
# runs stdb-standin and one `bench-dist-generator run`, and once the load is
# warm attaches `perf trace -s` to both for --trace-seconds while reading the
# server's committed-transfer counter before and after. Prints, per process,
# each system call's count divided by the transfers committed meanwhile
# (calls that failed, e.g. EAGAIN, are in the count: perf trace -s gives
# errors per call, shown as "errors"), then the total.
#
#   bench/syscalls_per_transfer.sh [--build-dir DIR] [--case c1000|c1000x16|c<N>[x<K>]]
#                                  [--trace-seconds S] [--threads T] [-- GENERATOR FLAGS...]
#
# e.g. bench/syscalls_per_transfer.sh --case c1000 -- --io-backend epoll
# Needs perf (Debian: linux-perf) and root, or kernel.perf_event_paranoid <= 1.
# vDSO calls (clock_gettime) are not system calls and do not show here.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build/release
case_name=c1000
trace_seconds=2
threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --case) case_name=$2; shift 2 ;;
    --trace-seconds) trace_seconds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "syscalls_per_transfer.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
if ! [[ "$case_name" =~ ^c([0-9]+)(x([0-9]+))?$ ]]; then
  echo "syscalls_per_transfer.sh: --case must be c<N> or c<N>x<K>, not '$case_name'" >&2
  exit 2
fi
conns=${BASH_REMATCH[1]}
inflight=${BASH_REMATCH[3]:-1}
command -v perf >/dev/null || { echo "syscalls_per_transfer.sh: perf is not installed (Debian: linux-perf)" >&2; exit 2; }
bin=$build_dir/bin
for tool in stdb-standin bench-dist-generator bench-dist-control; do
  [ -x "$bin/$tool" ] || { echo "syscalls_per_transfer.sh: $bin/$tool missing: build the release preset first" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"

source scripts/lib/processes.sh
processes_init syscalls
work=$PROCESSES_WORK

start_process standin "$bin/stdb-standin" --listen 127.0.0.1:0 --io-threads 1
standin_pid=$STARTED_PID
port=$(listening_port standin stdb-standin "$standin_pid")
"$bin/bench-dist-control" seed --stdb-url "ws://127.0.0.1:$port" --stdb-module test-1 --accounts 100000 \
  --initial-balance 1000000000 >&2

committed() {
  curl -s "http://127.0.0.1:$port/v1/metrics" |
    awk '/^spacetime_num_txns_total\{/ && /committed="true"/ && /reducer="transfer"/ {print $NF}'
}

run_seconds=$((trace_seconds + 6))
start_process generator "$bin/bench-dist-generator" run --seconds "$run_seconds" --warmup-seconds 1 \
  --stdb-url "ws://127.0.0.1:$port" --stdb-module test-1 --accounts 100000 --threads "$threads" \
  --concurrency "$conns" --max-inflight "$inflight" --open-parallelism 128 --id syscalls "$@"
gen_pid=$STARTED_PID
# Warm: the counter has moved for a second after the connections opened.
for _ in $(seq 1 300); do
  c=$(committed); [ -n "$c" ] && [ "$c" -gt 0 ] && break
  kill -0 "$gen_pid" 2>/dev/null || { echo "syscalls_per_transfer.sh: the generator exited early" >&2; exit 1; }
  sleep 0.1
done
sleep 1

# The counter is read by the traced command itself, so the two reads
# bracket exactly the traced span (perf attaches before it runs the command).
ls "/proc/$gen_pid/task" >"$work/gen.tids"
ls "/proc/$standin_pid/task" >"$work/standin.tids"
export -f committed
export port
perf trace -s -p "$gen_pid,$standin_pid" -o "$work/all.trace" -- \
  bash -c "committed >'$work/before'; sleep $trace_seconds; committed >'$work/after'" 2>/dev/null
transfers=$(($(cat "$work/after") - $(cat "$work/before")))
echo "case $case_name, generator flags: ${*:-none}; $transfers transfers committed in the ${trace_seconds} s traced"
for who in gen standin; do
  python3 - "$work/all.trace" "$transfers" "$who" "$work/$who.tids" <<'PY'
import re, sys
path, transfers, who, tids_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
tids = set(open(tids_path).read().split())
totals = {}
errors = {}
mine = False
for line in open(path):
    # A thread's section starts " name (tid), N events, ..."; its rows are
    # "   recvfrom   41421  20710  ...": syscall, calls, errors, total ms, ...
    head = re.match(r"\s*\S.*\((\d+)\), \d+ events", line)
    if head:
        mine = head[1] in tids
        continue
    m = re.match(r"\s+([a-z_0-9]+)\s+(\d+)\s+(\d+)\s+[\d.]+", line)
    if m and mine:
        totals[m[1]] = totals.get(m[1], 0) + int(m[2])
        errors[m[1]] = errors.get(m[1], 0) + int(m[3])
name = "generator" if who == "gen" else "stand-in"
if transfers <= 0:
    print(f"{name}: no transfers committed while tracing"); sys.exit(1)
print(f"{name}: system calls per committed transfer (all threads)")
for sc, n in sorted(totals.items(), key=lambda kv: -kv[1]):
    if n / transfers < 0.001: continue
    err = f"  ({errors[sc] / transfers:.3f} failed)" if errors[sc] else ""
    print(f"  {sc:<20} {n / transfers:8.3f}{err}")
print(f"  {'total':<20} {sum(totals.values()) / transfers:8.3f}")
PY
done
