#!/usr/bin/env bash
# Runs the official SpacetimeDB TypeScript SDK (tests/conformance) against a
# fresh stdb-standin on a free loopback port, then stops it. CTest calls this
# with the path of the stdb-standin binary.
set -euo pipefail
standin=${1:?usage: run_conformance.sh PATH/TO/stdb-standin}
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -d "$here/node_modules/spacetimedb" ]; then
  echo "conformance: node_modules missing; run scripts/setup.sh (it runs npm ci in tests/conformance)" >&2
  exit 1
fi

log=$(mktemp)
"$standin" --listen 127.0.0.1:0 --database test-1 >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT INT TERM

# Wait (bounded: 10 s) for the line that names the port.
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's/^stdb-standin listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n1)
  [ -n "$port" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "conformance: stdb-standin exited early:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "conformance: stdb-standin did not report its port within 10 s:" >&2
  cat "$log" >&2
  exit 1
fi

cd "$here"
STDB_URL="ws://127.0.0.1:$port" STDB_DATABASE=test-1 node --test test/sdk_conformance.test.mjs
