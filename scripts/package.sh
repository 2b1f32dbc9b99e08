#!/usr/bin/env bash
# Packages bench-dist for load machines that have no compiler (docs/deploy.md):
#   dist/bench-dist-<version>-linux-x86_64.tar.gz  the four tools and every
#       shared library they need that glibc does not provide, found through
#       an RPATH relative to each executable: unpack anywhere and run bin/<tool>
#   dist/bench-dist_<version>_amd64.deb            the Debian package (CPack;
#       dependencies from dpkg-shlibdeps, man pages, systemd units)
#
#   scripts/package.sh                   build the release preset, then package it
#   scripts/package.sh --build-dir DIR --no-build   package an existing build
#                                        (the tests package the ci build)
#   --out DIR      where the files go (default dist/)
#   --no-deb       only the bundle
#   --no-setup     skip scripts/setup.sh (with the default build)
# Needs patchelf, help2man and dpkg-dev (scripts/setup.sh installs them).
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)

build_dir=""
out_dir="$source_dir/dist"
build=1
deb=1
setup=1
usage() { sed -n '2,15p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --out) out_dir=${2:?--out needs a directory}; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-deb) deb=0; shift ;;
    --no-setup) setup=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "package.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
fail() { echo "package.sh: $*" >&2; exit 1; }

if [ "$build" -eq 1 ]; then
  [ "$setup" -eq 0 ] || "$source_dir/scripts/setup.sh"
  [ -n "$build_dir" ] || build_dir="$source_dir/build/release"
  if [ "$build_dir" = "$source_dir/build/release" ]; then
    (cd "$source_dir" && cmake --preset release)
  else
    cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DBENCHDIST_BUILD_TESTS=OFF -DBENCHDIST_BUILD_BENCH=OFF
  fi
  cmake --build "$build_dir" -j2 --target bench-dist-coordinator bench-dist-generator bench-dist-control \
    stdb-standin man_pages debian_changelog
fi
if [ -z "$build_dir" ]; then
  echo "package.sh: --no-build needs --build-dir DIR (a configured and built tree)" >&2
  exit 2
fi
[ -d "$build_dir" ] || fail "no build directory $build_dir (build first, or leave out --no-build)"
build_dir=$(cd "$build_dir" && pwd)
[ -f "$build_dir/CMakeCache.txt" ] || fail "$build_dir is not a CMake build tree (no CMakeCache.txt)"
for tool in patchelf help2man objdump; do
  command -v "$tool" >/dev/null || fail "$tool not found: run scripts/setup.sh (Debian: patchelf, help2man, binutils)"
done
# The man pages are part of the package: build them if this tree has not.
cmake --build "$build_dir" --target man_pages debian_changelog >/dev/null ||
  fail "could not build the man pages in $build_dir (is help2man installed? reconfigure after installing it)"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build_dir/CMakeCache.txt")
[ -n "$version" ] || fail "no project version in $build_dir/CMakeCache.txt"
name="bench-dist-$version-linux-x86_64"
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-dist-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage="$work/$name"

# --- the bundle ---------------------------------------------------------
cmake --install "$build_dir" --prefix "$stage" --strip >/dev/null
# The units are the Debian package's (lib/systemd/system); the bundle keeps
# its lib/ for shared libraries and carries them under share/bench-dist/deploy.
rm -rf "$stage/lib"
install -m 0644 "$source_dir/LICENSE" "$stage/share/doc/bench-dist/LICENSE"
tools=(bench-dist-coordinator bench-dist-generator bench-dist-control stdb-standin)
mkdir -p "$stage/lib" "$stage/share/doc/bench-dist/help"

# glibc's own libraries stay the host's: they must match its dynamic loader
# and kernel interface. Everything else the tools load is copied.
is_glibc() {
  case "$1" in
    ld-linux*.so.* | libc.so.* | libm.so.* | libmvec.so.* | libpthread.so.* | libdl.so.* | librt.so.* | \
      libresolv.so.* | libutil.so.* | libanl.so.* | libnss_*.so.* | libBrokenLocale.so.*) return 0 ;;
  esac
  return 1
}
for tool in "${tools[@]}"; do
  # ldd lists the whole closure, libraries' own dependencies included.
  while read -r soname arrow path _; do
    [ "$arrow" = "=>" ] || continue
    is_glibc "$soname" && continue
    [ -f "$path" ] || fail "$tool needs $soname, which ldd did not find ($path)"
    [ -f "$stage/lib/$soname" ] || install -m 0644 "$path" "$stage/lib/$soname"
  done < <(ldd "$stage/bin/$tool")
  # DT_RPATH, not DT_RUNPATH: it also applies to the libraries' own
  # dependencies, and LD_LIBRARY_PATH cannot pull in another copy.
  patchelf --force-rpath --set-rpath '$ORIGIN/../lib' "$stage/bin/$tool"
  "$stage/bin/$tool" --help >"$stage/share/doc/bench-dist/help/$tool.txt"
done
for lib in "$stage"/lib/*.so*; do
  patchelf --force-rpath --set-rpath '$ORIGIN' "$lib"
done

# The oldest glibc the bundle runs on: the newest GLIBC_ symbol version any
# of its files needs.
glibc_needed=$(objdump -T "$stage"/bin/* "$stage"/lib/*.so* | grep -o 'GLIBC_[0-9][0-9.]*' |
  sed 's/GLIBC_//' | sort -u -V | tail -1)
build_glibc=$(ldd --version | sed -n '1s/.* //p')
tool_version=$("$stage/bin/bench-dist-control" --version | sed 's/.* //')
cat >"$stage/share/doc/bench-dist/BUNDLE.txt" <<EOF
bench-dist $tool_version, portable bundle for x86-64 Linux.

Needs glibc $glibc_needed or newer (built on glibc $build_glibc, $(. /etc/os-release && echo "$PRETTY_NAME")).
Every other library is in lib/, found through the executables' RPATH
(\$ORIGIN/../lib): unpack anywhere, run bin/<tool>; nothing to install.
Bundled libraries: $(cd "$stage/lib" && echo *)

Deploying on many machines, systemd units, Kubernetes and containers:
share/doc/bench-dist/deploy.md and share/bench-dist/deploy/.
EOF

# Check the bundle before anyone else has to: every library resolves
# inside it, with a clean environment.
stage_lib=$(realpath "$stage/lib")
for tool in "${tools[@]}"; do
  while read -r soname arrow path _; do
    [ "$arrow" = "=>" ] || continue
    [ "$path" != "not" ] || fail "$tool: $soname not found with a clean environment"
    is_glibc "$soname" && continue
    [ "$(dirname "$(realpath "$path")")" = "$stage_lib" ] ||
      fail "$tool loads $soname from $path, outside the bundle"
  done < <(env -i ldd "$stage/bin/$tool")
  env -i "$stage/bin/$tool" --version >/dev/null || fail "$stage/bin/$tool --version failed"
done

# Reproducible: the commit's time, sorted names, no owner.
mtime=$(git -C "$source_dir" log -1 --format=%ct 2>/dev/null || date +%s)
bundle="$out_dir/$name.tar.gz"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$work" -cf - "$name" |
  gzip -9n >"$bundle.tmp"
mv "$bundle.tmp" "$bundle"
echo "package.sh: $bundle ($(du -h "$bundle" | cut -f1), glibc >= $glibc_needed)"

# --- the Debian package -------------------------------------------------
if [ "$deb" -eq 1 ]; then
  command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps not found: install Debian's dpkg-dev"
  (cd "$build_dir" && cpack -G DEB -B "$work/cpack" >"$work/cpack.log" 2>&1) ||
    { cat "$work/cpack.log" >&2; fail "cpack failed (its output is above)"; }
  deb_file=$(find "$work/cpack" -maxdepth 1 -name '*.deb' | head -1)
  [ -n "$deb_file" ] || fail "cpack wrote no .deb (see $work/cpack.log)"
  mv "$deb_file" "$out_dir/"
  echo "package.sh: $out_dir/$(basename "$deb_file")"
fi
