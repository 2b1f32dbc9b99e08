#!/usr/bin/env bash
# The README's test command: installs dependencies, builds with warnings as
# errors, and runs every test (unit, integration, conformance) with CTest.
#   scripts/test.sh            the ci preset (RelWithDebInfo, -Werror)
#   scripts/test.sh --sanitize also runs the suite under ASan+UBSan
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=0
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

scripts/setup.sh

run_preset() {
  local preset=$1
  cmake --preset "$preset"
  cmake --build --preset "$preset"
  ctest --preset "$preset"
}

run_preset ci
if [ "$sanitize" -eq 1 ]; then
  run_preset asan
fi
