#!/usr/bin/env bash
# The generator's cost on this machine: runs stdb-standin and one
# `bench-dist-generator run` per case, both on this host, and prints one JSON
# object per case (a line each), then nothing else on stdout.
#
#   bench/load_bench.sh [--build-dir DIR] [--seconds S] [--warmup S] [--cases LIST]
#                       [--io-backends LIST] [--runs N] [--no-pin]
#
# Every case runs once per generator I/O backend in --io-backends (default
# uring,epoll: the generator's --io-backend; --io-backend X is one of them),
# --runs times each (default 1), cases outermost; with --runs above 1 a
# summary line per case and backend follows: {"summary": true, ...} with
# the median, lowest and highest of each figure. On a machine of two or more
# CPUs the stand-in is pinned to CPU 0 and the generator, with --threads 1,
# to CPU 1 (taskset), so that each is measured on a core of its own;
# --no-pin lets them share every core, the generator with one thread a core.
# A case that fails or whose result is invalid prints {"case": ...,
# "failed": why} and the script carries on, exiting 1 at the end.
#
# Cases (default all): c100, c1000, c5000, c10000, c100000 (closed loop,
# one call in flight per connection) and c1000x16 (1000 connections,
# --max-inflight 16). Any c<N> (N connections) and c<N>x<K> (--max-inflight
# K) run too, e.g. c50000. Open loop, never run by default: c<N>r<R> (N
# connections, --rate R), e.g. c1000r30000. Its fair comparison is a closed
# loop at the same rate, which c<N>d<US> gives: N connections, the stand-in
# holding each reply back US microseconds (POST /v1/debug/delays, so the
# stand-in runs with --debug-routes), e.g. c1000d50000 is a closed loop at
# about 1000 / 0.05 s = 20,000/s, to set beside c1000r20000. The delay is
# a timer in the stand-in, not work: the generator's cost per transfer is
# that of a closed loop whose answers come back spread out, as the open
# loop's do.
#
# Many connections: both processes hold one descriptor per connection, so
# the script raises the open-file limit (ulimit -n) to the hard limit, and
# the hard limit too when it may (root with CAP_SYS_RESOURCE), before it
# starts the stand-in, which inherits it. A case needing more descriptors
# than the limit allows is not run: it prints {"case": ..., "skipped": why}
# instead. One source address has ~28,000 ephemeral ports towards the one
# server port, and connect() finds a free one cheaply only in the first half
# of them (Linux hands connect() the even ports first; past ~14,000 each
# connect scans for an odd one: 19,000 connections took 15 s to open from
# one address, 5.4 s from two). So a case above 12,000 connections spreads
# them over 127.0.0.2, 127.0.0.3, ... (--source-addresses, one per 12,000
# connections; all of 127/8 is loopback on Linux).
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
cases=c100,c1000,c5000,c10000,c100000,c1000x16
accounts=100000
standin_io_threads=1
io_backends=uring,epoll
runs=1
pin=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --standin-io-threads) standin_io_threads=$2; shift 2 ;;
    --io-backends|--io-backend) io_backends=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --no-pin) pin=0; shift ;;
    -h|--help) sed -n '2,52p' "$0"; exit 0 ;;
    *) echo "load_bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "load_bench.sh: --runs must be a whole number of at least 1, not '$runs'" >&2; exit 2
fi
IFS=, read -r -a backend_list <<<"$io_backends"
for backend in "${backend_list[@]}"; do
  case "$backend" in
    auto|uring|epoll) ;;
    *) echo "load_bench.sh: unknown I/O backend '$backend' in --io-backends (auto, uring or epoll)" >&2; exit 2 ;;
  esac
done
standin_cpu=()
generator_cpu=()
generator_threads=()
if [ "$pin" -eq 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  standin_cpu=(taskset -c 0)
  generator_cpu=(taskset -c 1)
  generator_threads=(--threads 1)
else
  pin=0
fi

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

# Both processes hold one descriptor per connection: raise the limits to
# what the largest case needs, as far as this user may.
largest=0
IFS=, read -r -a case_list <<<"$cases"
for name in "${case_list[@]}"; do
  if [[ "$name" =~ ^c([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt "$largest" ]; then largest=${BASH_REMATCH[1]}; fi
done
fd_margin=256  # the generator's own files, its HTTP clients, the stand-in's listeners
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((largest + fd_margin)) ]; then
  ulimit -Hn $((largest + fd_margin)) 2>/dev/null || true
fi
ulimit -n "$(ulimit -Hn)"
fd_limit=$(ulimit -n)

source scripts/lib/processes.sh
processes_init load-bench
work=$PROCESSES_WORK

start_process standin "${standin_cpu[@]}" "$bin/stdb-standin" --listen 127.0.0.1:0 --io-threads "$standin_io_threads" \
  --debug-routes
standin_pid=$STARTED_PID
port=$(listening_port standin stdb-standin "$standin_pid")
url=ws://127.0.0.1:$port

# The stand-in's reply delay for the next case (c<N>d<US>; 0 for the rest).
set_reply_delay() {
  if ! curl -fsS -X POST "http://127.0.0.1:$port/v1/debug/delays?replyUs=$1" >/dev/null; then
    echo "load_bench.sh: the stand-in refused a reply delay of $1 us" >&2
    exit 1
  fi
}
"$bin/bench-dist-control" seed --stdb-url "$url" --stdb-module test-1 --accounts "$accounts" \
  --initial-balance 1000000000 >&2

# 127.0.0.2, 127.0.0.3, ...: enough loopback source addresses for N
# connections at 12,000 each (the cheap half of the ~28,000 ephemeral ports
# per source address and destination, see above), none up to 12,000.
source_addresses_for() {
  local conns=$1 per=12000 list= i
  [ "$conns" -le "$per" ] && return 0
  for ((i = 0; i < (conns + per - 1) / per; i++)); do list+=${list:+,}127.0.0.$((i + 2)); done
  echo "$list"
}

failed=0
: >"$work/results.jsonl"
for name in "${case_list[@]}"; do
  rate=
  inflight=1
  reply_delay=0
  if [[ "$name" =~ ^c([0-9]+)$ ]]; then
    conns=${BASH_REMATCH[1]}
  elif [[ "$name" =~ ^c([0-9]+)d([0-9]+)$ ]]; then
    conns=${BASH_REMATCH[1]}; reply_delay=${BASH_REMATCH[2]}
  elif [[ "$name" =~ ^c([0-9]+)x([0-9]+)$ ]]; then
    conns=${BASH_REMATCH[1]}; inflight=${BASH_REMATCH[2]}
  elif [[ "$name" =~ ^c([0-9]+)r([0-9]+)$ ]]; then
    conns=${BASH_REMATCH[1]}; rate=${BASH_REMATCH[2]}
  else
    echo "load_bench.sh: unknown case '$name' (c<N>, c<N>x<INFLIGHT>, c<N>r<RATE> or c<N>d<REPLY_DELAY_US>, e.g. c1000, c1000x16, c1000r30000, c1000d50000)" >&2; exit 2
  fi
  if [ "$fd_limit" != unlimited ] && [ "$fd_limit" -lt $((conns + fd_margin)) ]; then
    why="needs about $((conns + fd_margin)) open files per process, but the hard limit (ulimit -Hn) is $fd_limit and this user cannot raise it: run as root with CAP_SYS_RESOURCE, or raise nofile (limits.conf, LimitNOFILE=)"
    echo "load_bench.sh: case $name skipped: $why" >&2
    python3 -c 'import json,sys; print(json.dumps({"case": sys.argv[1], "connections": int(sys.argv[2]), "skipped": sys.argv[3]}, separators=(",", ":")))' "$name" "$conns" "$why"
    continue
  fi
  sources=$(source_addresses_for "$conns")
  set_reply_delay "$reply_delay"
  for backend in "${backend_list[@]}"; do
  for ((run = 1; run <= runs; run++)); do
  out=$work/$name-$backend-$run
  echo "load_bench.sh: case $name, $backend, run $run of $runs: $conns connections, $inflight in flight each${rate:+, open loop at $rate/s}${sources:+, from $sources}$([ "$reply_delay" -gt 0 ] && echo ", replies held $reply_delay us")" >&2
  if ! "${generator_cpu[@]}" "$bin/bench-dist-generator" run --seconds "$seconds" --warmup-seconds "$warmup" \
      --stdb-url "$url" --stdb-module test-1 --accounts "$accounts" \
      --concurrency "$conns" --max-inflight "$inflight" --open-parallelism 128 \
      --server-pid "$standin_pid" --id "bench-$name" ${rate:+--rate "$rate"} \
      --io-backend "$backend" "${generator_threads[@]}" \
      ${sources:+--source-addresses "$sources"} \
      >"$out.json" 2>"$out.log"; then
    echo "load_bench.sh: case $name ($backend, run $run) failed:" >&2
    tail -n 20 "$out.log" >&2
    failed=$((failed + 1))
    python3 - "$name" "$conns" "$backend" "$out.json" "$out.log" <<'PY'
import json, sys
name, conns, backend, result, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
try:
    reasons = json.load(open(result))["reasons"]
    why = "; ".join(r.get("message", r.get("code", "")) if isinstance(r, dict) else str(r) for r in reasons)
    if not why:
        raise ValueError("no reasons")
except Exception:
    lines = [l.strip() for l in open(log, errors="replace") if l.strip()]
    why = lines[-1] if lines else "the generator exited without a result"
print(json.dumps({"case": name, "connections": conns, "ioBackend": backend, "failed": why}, separators=(",", ":")))
PY
    continue
  fi
  python3 - "$name" "$conns" "$inflight" "$out.json" "$rate" "$pin" "$reply_delay" <<'PY' | tee -a "$work/results.jsonl"
import json, sys
name, conns, inflight, path, rate, pinned = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6] == "1"
reply_delay = int(sys.argv[7])
r = json.load(open(path))
res, srv = r["resources"], r["server"].get("process", {})
print(json.dumps({
    "case": name,
    "connections": conns,
    "maxInflight": inflight,
    "rate": float(rate) if rate else None,
    "replyDelayUs": reply_delay,
    "ioBackend": res.get("ioBackend"),
    "pinned": pinned,
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
  done
done

if [ "$runs" -gt 1 ] && [ -s "$work/results.jsonl" ]; then
  python3 - "$work/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
groups = {}
for r in rows:
    groups.setdefault((r["case"], r["ioBackend"]), []).append(r)
figures = ["tps", "genCpuUsPerTransfer", "genRssPerConnectionBytes", "openSeconds", "standinCpuUsPerTransfer",
           "latencyP50Us", "latencyP99Us"]
for (case, backend), rs in groups.items():
    out = {"summary": True, "case": case, "ioBackend": backend, "runs": len(rs)}
    for f in figures:
        values = [r[f] for r in rs if isinstance(r.get(f), (int, float))]
        if values:
            out[f] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    print(json.dumps(out, separators=(",", ":")))
PY
fi
if [ "$failed" -gt 0 ]; then
  echo "load_bench.sh: $failed run(s) failed (their {\"failed\": ...} lines above)" >&2
  exit 1
fi
