# Background processes for scripts/demo.sh and the bench/ scripts: each
# is started with its log in one work directory, waited for through a line
# in that log (bounded), and stopped -- TERM, then KILL after 5 s -- when
# the script exits for any reason, with the logs' tails printed when it
# failed. Sourced, not run:
#   source "$root/scripts/lib/processes.sh"
#   processes_init demo                  # work dir in $PROCESSES_WORK, traps set
#   start_process standin "$bin/stdb-standin" --listen 127.0.0.1:0
#   port=$(listening_port standin stdb-standin "$STARTED_PID")

processes_init() {
  PROCESSES_SCRIPT=$1
  PROCESSES_WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  PROCESSES_PIDS=()
  trap processes_cleanup EXIT
  trap 'exit 130' INT TERM
}

# start_process LOG CMD [ARGS...]: runs CMD in the background with its
# output in $PROCESSES_WORK/LOG.log; its pid is left in STARTED_PID.
start_process() {
  local log=$1
  shift
  "$@" >"$PROCESSES_WORK/$log.log" 2>&1 &
  STARTED_PID=$!
  PROCESSES_PIDS+=("$STARTED_PID")
}

# stop_process PID: TERM, then KILL if it is still there after 5 s.
stop_process() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

processes_cleanup() {
  local rc=$?
  local pid f
  # TERM all first, so they wind down together rather than one by one.
  for pid in "${PROCESSES_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PROCESSES_PIDS[@]}"; do stop_process "$pid"; done
  if [ "$rc" -ne 0 ]; then
    echo "$PROCESSES_SCRIPT failed (exit $rc); logs:" >&2
    for f in "$PROCESSES_WORK"/*.log; do
      [ -e "$f" ] || continue
      echo "--- $f" >&2
      tail -n 20 "$f" >&2
    done
  fi
  rm -rf "$PROCESSES_WORK"
}

# wait_for_line LOG PATTERN WHAT [PID]: prints the first match of the
# extended regex PATTERN in $PROCESSES_WORK/LOG.log; fails after 30 s, or
# at once when PID (if given) has exited.
wait_for_line() {
  local file="$PROCESSES_WORK/$1.log" pattern=$2 what=$3 pid=${4:-}
  for _ in $(seq 1 600); do
    if grep -m1 -oE "$pattern" "$file" 2>/dev/null; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "$PROCESSES_SCRIPT: $what exited before it was ready" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "$PROCESSES_SCRIPT: $what did not start within 30 s" >&2
  return 1
}

# listening_port LOG WHAT [PID]: the port of the process's
# "listening on http://127.0.0.1:PORT" line.
listening_port() {
  wait_for_line "$1" 'listening on http://127\.0\.0\.1:[0-9]+' "$2" "${3:-}" | sed 's/.*://'
}
