#!/usr/bin/env bash
# The README's test command: installs dependencies, builds with warnings as
# errors, and runs every test (unit, integration, conformance) with CTest,
# then the integration tests once more on the generator's epoll backend
# (the first run uses io_uring where the host allows it).
#   scripts/test.sh              the ci preset (RelWithDebInfo, -Werror)
#   scripts/test.sh --sanitize   the ci preset, then ASan+UBSan (every test but
#                                the `fidelity` and `deploy` labels), then ThreadSanitizer
#                                (the generator's tests, label `generator`)
#   scripts/test.sh --only asan[,tsan,ci]   just those stages (.ci/run uses it)
#   scripts/test.sh --no-setup   skip scripts/setup.sh
# A sanitizer stage fails on a failing test and on any sanitizer report,
# including one from a child process (stdb-standin, coordinator, generator):
# reports go to build/<preset>/sanitizer-reports/, printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

stages=ci
setup=1
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) stages=ci,asan,tsan; shift ;;
    --only) stages=${2:?--only needs a list of stages: ci, asan, tsan}; shift 2 ;;
    --no-setup) setup=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
IFS=, read -r -a stage_list <<<"$stages"
for stage in "${stage_list[@]}"; do
  case "$stage" in
    ci|asan|tsan) ;;
    *) echo "test.sh: unknown stage '$stage' (ci, asan or tsan)" >&2; exit 2 ;;
  esac
done

if [ "$setup" -eq 1 ]; then scripts/setup.sh; fi

run_preset() {
  local preset=$1
  echo "test.sh: === $preset: configure, build, test ==="
  # Explicit returns: run_sanitized calls this under `||`, where set -e is off.
  local t0=$SECONDS
  cmake --preset "$preset" || return
  cmake --build --preset "$preset" || return
  echo "test.sh: $preset built in $((SECONDS - t0)) s"
  local t1=$SECONDS
  local status=0
  # CTest rewrites this list only when a test fails: a stale one would name
  # tests that passed.
  local failed="build/$preset/Testing/Temporary/LastTestsFailed.log"
  rm -f "$failed"
  ctest --preset "$preset" || status=$?
  if [ "$status" -ne 0 ]; then
    # CI shows only part of a long log: name the failures last, on both
    # streams, so they are never the part cut off.
    local summary="test.sh: $preset: ctest exited $status; failed tests:"
    if [ -s "$failed" ]; then
      summary+=$'\n'$(sed 's/^/test.sh:   /' "$failed")
    else
      summary+=$'\n'"test.sh:   (none listed in $failed)"
    fi
    echo "$summary"
    echo "$summary" >&2
    return "$status"
  fi
  echo "test.sh: $preset tests passed in $((SECONDS - t1)) s"
  if [ "$preset" = ci ]; then run_epoll_pass || return; fi
}

# The generator's plain ws:// connections run on io_uring where the host
# allows it (--io-backend auto, as above) and on epoll elsewhere: the
# integration tests run a second time with epoll forced, through the
# variable both bench-dist-generator and the in-process test sessions read.
run_epoll_pass() {
  local t0=$SECONDS status=0
  local failed="build/ci/Testing/Temporary/LastTestsFailed.log"
  rm -f "$failed"
  echo "test.sh: ci: the integration tests again with BENCH_DIST_IO_BACKEND=epoll"
  BENCH_DIST_IO_BACKEND=epoll ctest --preset ci -L integration || status=$?
  if [ "$status" -ne 0 ]; then
    local summary="test.sh: ci (epoll backend): ctest exited $status; failed tests:"
    if [ -s "$failed" ]; then summary+=$'\n'$(sed 's/^/test.sh:   /' "$failed"); fi
    echo "$summary"
    echo "$summary" >&2
    return "$status"
  fi
  echo "test.sh: ci: integration tests on the epoll backend passed in $((SECONDS - t0)) s"
}

# Sanitizer runtime options. Every process the tests start inherits them, so
# a report from a server the test kills afterwards is not lost with its
# captured output: log_path sends each report to its own file, and any file
# there fails the stage. Leak checking stays on (LeakSanitizer, part of ASan).
run_sanitized() {
  local preset=$1
  local reports="$PWD/build/$preset/sanitizer-reports"
  rm -rf "$reports"
  mkdir -p "$reports"
  local common="log_path=$reports/report:log_exe_name=1"
  local status=0
  ASAN_OPTIONS="$common:detect_leaks=1:check_initialization_order=1" \
  UBSAN_OPTIONS="$common:print_stacktrace=1:halt_on_error=1" \
  TSAN_OPTIONS="$common:halt_on_error=0:second_deadlock_stack=1" \
    run_preset "$preset" || status=$?
  if compgen -G "$reports/report*" >/dev/null; then
    echo "test.sh: $preset: sanitizer reports:" >&2
    for f in "$reports"/report*; do
      echo "----- $f" >&2
      cat "$f" >&2
    done
    status=1
  fi
  if [ "$status" -ne 0 ]; then
    echo "test.sh: $preset FAILED" >&2
    exit "$status"
  fi
  echo "test.sh: $preset: no sanitizer reports"
}

for stage in "${stage_list[@]}"; do
  case "$stage" in
    ci) run_preset ci ;;
    asan|tsan) run_sanitized "$stage" ;;
  esac
done
