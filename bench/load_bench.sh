#!/usr/bin/env bash
# The generator's cost on this machine: runs stdb-standin and one
# `bench-dist-generator run` per case, both on this host, and prints one JSON
# object per case (a line each), then nothing else on stdout.
#
#   bench/load_bench.sh [--build-dir DIR] [--seconds S] [--warmup S] [--cases LIST]
#                       [--io-backend auto|uring|epoll]
#
# Cases (default all): c100, c1000, c5000, c10000 (closed loop, one call in
# flight per connection) and c1000x16 (1000 connections, --max-inflight 16).
# Open loop, never run by default: c<N>r<R> (N connections, --rate R), e.g.
# c1000r30000; compare it with the closed loop c<N> run at the TPS it gave.
# Per case:
#   tps                        committed transfers/s from the server's counter
#   genCpuUsPerTransfer        generator user+system CPU over the window
#                              (getrusage) / committed transfers
#   genRssPerConnectionBytes   (RSS after the load - RSS before any
#                              connection opened) / connections
#   openSeconds                time to open every connection, --open-parallelism 128
#   standinCpuUsPerTransfer    stdb-standin's CPU over the same window
#                              (/proc/PID/stat) / committed transfers
#   ioBackend                  what carried the ws:// connections (the
#                              generator's --io-backend, passed through)
# plus latency p50/p99 (us), errors and the full generator result under
# "raw". Generator and stand-in share the machine's cores, as the targets
# in docs/performance.md assume. Without --build-dir it uses the release
# preset's build/release and builds the three tools there if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build/release
seconds=5
warmup=1
cases=c100,c1000,c5000,c10000,c1000x16
accounts=100000
standin_io_threads=1
io_backend=
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --standin-io-threads) standin_io_threads=$2; shift 2 ;;
    --io-backend) io_backend=$2; shift 2 ;;  # the generator's --io-backend (auto|uring|epoll)
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "load_bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

bin=$build_dir/bin
tools=(stdb-standin bench-dist-generator bench-dist-control)
missing=0
for tool in "${tools[@]}"; do [ -x "$bin/$tool" ] || missing=1; done
if [ "$missing" -eq 1 ]; then
  if [ "$build_dir" != build/release ]; then
    echo "load_bench.sh: $build_dir lacks ${tools[*]}: build them there first" >&2
    exit 2
  fi
  # A fresh checkout: build the three tools of the release preset (the
  # dependencies come from scripts/setup.sh).
  echo "load_bench.sh: building ${tools[*]} (release preset)" >&2
  scripts/setup.sh >&2
  cmake --preset release >&2
  cmake --build --preset release --target "${tools[@]}" >&2
fi

# Both processes hold one descriptor per connection.
ulimit -n "$(ulimit -Hn)"

source scripts/lib/processes.sh
processes_init load-bench
work=$PROCESSES_WORK

start_process standin "$bin/stdb-standin" --listen 127.0.0.1:0 --io-threads "$standin_io_threads"
standin_pid=$STARTED_PID
port=$(listening_port standin stdb-standin "$standin_pid")
url=ws://127.0.0.1:$port
"$bin/bench-dist-control" seed --stdb-url "$url" --stdb-module test-1 --accounts "$accounts" \
  --initial-balance 1000000000 >&2

IFS=, read -r -a case_list <<<"$cases"
for name in "${case_list[@]}"; do
  rate=
  case "$name" in
    c100) conns=100; inflight=1 ;;
    c1000) conns=1000; inflight=1 ;;
    c5000) conns=5000; inflight=1 ;;
    c10000) conns=10000; inflight=1 ;;
    c1000x16) conns=1000; inflight=16 ;;
    *)
      if [[ "$name" =~ ^c([0-9]+)r([0-9]+)$ ]]; then
        conns=${BASH_REMATCH[1]}; inflight=1; rate=${BASH_REMATCH[2]}
      else
        echo "load_bench.sh: unknown case '$name' (c100, c1000, c5000, c10000, c1000x16, or c<N>r<RATE>)" >&2; exit 2
      fi ;;
  esac
  echo "load_bench.sh: case $name: $conns connections, $inflight in flight each${rate:+, open loop at $rate/s}" >&2
  if ! "$bin/bench-dist-generator" run --seconds "$seconds" --warmup-seconds "$warmup" \
      --stdb-url "$url" --stdb-module test-1 --accounts "$accounts" \
      --concurrency "$conns" --max-inflight "$inflight" --open-parallelism 128 \
      --server-pid "$standin_pid" --id "bench-$name" ${rate:+--rate "$rate"} \
      ${io_backend:+--io-backend "$io_backend"} \
      >"$work/$name.json" 2>"$work/$name.log"; then
    echo "load_bench.sh: case $name failed:" >&2
    tail -n 20 "$work/$name.log" >&2
    exit 1
  fi
  python3 - "$name" "$conns" "$inflight" "$work/$name.json" "$rate" <<'PY'
import json, sys
name, conns, inflight, path, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
r = json.load(open(path))
res, srv = r["resources"], r["server"].get("process", {})
print(json.dumps({
    "case": name,
    "connections": conns,
    "maxInflight": inflight,
    "rate": float(rate) if rate else None,
    "ioBackend": res.get("ioBackend"),
    "tps": r["tps"],
    "genCpuUsPerTransfer": res["cpuUsPerCommitted"],
    "genCpuCores": res["cpuCores"],
    "genRssPerConnectionBytes": res["rssPerConnectionLoadedBytes"],
    "genRssPerConnectionOpenBytes": res["rssPerConnectionOpenBytes"],
    "openSeconds": res["openSeconds"],
    "standinCpuUsPerTransfer": srv.get("cpuUsPerCommitted"),
    "standinCpuCores": srv.get("cpuCores"),
    "latencyP50Us": r["latency"]["p50"],
    "latencyP99Us": r["latency"]["p99"],
    "errors": r["client"]["errors"],
    "warnings": r["warnings"],
    "raw": r,
}, separators=(",", ":")))
PY
done
