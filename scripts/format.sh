#!/usr/bin/env bash
# Applies .clang-format to every tracked C++ file, or with --check lists the
# files that differ from it and exits 1 (nothing is changed).
#   scripts/format.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format.sh: clang-format not found (apt-get install clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
case "${1:-}" in
  --check)
    differ=()
    for f in "${files[@]}"; do
      clang-format "$f" | cmp -s - "$f" || differ+=("$f")
    done
    if [ "${#differ[@]}" -gt 0 ]; then
      printf 'format.sh: not formatted: %s\n' "${differ[@]}" >&2
      exit 1
    fi ;;
  "") clang-format -i "${files[@]}" ;;
  -h|--help) sed -n '2,4p' "$0" ;;
  *) echo "format.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac
