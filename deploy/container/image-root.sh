#!/bin/sh
# Lays out, from a bench-dist bundle, the files of the container image that
# deploy/container/Containerfile copies into its FROM scratch final stage:
#
#   OUT/root/opt/bench-dist/{bin,lib,share}   the bundle as is (RPATH $ORIGIN/../lib)
#   OUT/root/<glibc files>                    the glibc files ldd of the bundle names
#   OUT/root/etc/{passwd,group,nsswitch.conf} root and bench-dist (10001:10001)
#   OUT/root/etc/ssl/certs/ca-certificates.crt  this machine's CA store (wss:// to SpacetimeDB)
#   OUT/root/tmp (1777), OUT/root/var/lib     so no directory is created by a later COPY --chown
#   OUT/workdir/results                       becomes /var/lib/bench-dist, owned by 10001
#
# Usage: image-root.sh BUNDLE.tar.gz|BUNDLE_DIR OUT
# Used by the Containerfile's build stage (on debian:12) and by
# tests/deploy/container_test.py (on the test machine), so the test checks
# this very script. POSIX sh: the build stage has no bash guarantee.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 BUNDLE.tar.gz|BUNDLE_DIR OUT" >&2
  exit 2
fi
bundle=$1
out=$2
root=$out/root
prefix=/opt/bench-dist

if [ -e "$out" ]; then
  echo "image-root: $out exists; give a new directory" >&2
  exit 1
fi
mkdir -p "$root$prefix" "$out/workdir/results"

# The bundle: one top folder (bench-dist-<version>-linux-x86_64/) in the
# tarball; its contents become /opt/bench-dist.
if [ -d "$bundle" ]; then
  cp -a "$bundle/." "$root$prefix/"
else
  tar -xzf "$bundle" -C "$root$prefix" --strip-components=1 --no-same-owner
fi
for tool in bench-dist-coordinator bench-dist-generator bench-dist-control stdb-standin; do
  if [ ! -x "$root$prefix/bin/$tool" ]; then
    echo "image-root: the bundle has no bin/$tool" >&2
    exit 1
  fi
done

# glibc: the bundle holds every library but the C library (its BUNDLE.txt
# says which glibc it needs), so copy the glibc files the loader resolves
# outside the bundle -- libc.so.6, libm.so.6, the loader itself, and any
# other part of glibc a future dependency pulls in -- at the same absolute
# path it has here, which is where the loader looks for it in the image too.
# Any other library found outside the bundle is an error, not copied: the
# image must be the bundle plus glibc, so a bundle missing a library fails
# here rather than working by chance. So is a "not found".
ldd_out=$(mktemp)
trap 'rm -f "$ldd_out"' EXIT
for f in "$root$prefix"/bin/* "$root$prefix"/lib/*.so*; do
  ldd "$f" >>"$ldd_out" 2>&1 || { echo "image-root: ldd $f failed:" >&2; cat "$ldd_out" >&2; exit 1; }
done
if grep -q 'not found' "$ldd_out"; then
  echo "image-root: libraries neither in the bundle nor on this machine:" >&2
  grep 'not found' "$ldd_out" | sort -u >&2
  exit 1
fi
# "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and the loader's
# "/lib64/ld-linux-x86-64.so.2 (0x...)"; paths inside the bundle are skipped.
libs=$(sed -n -e 's/^[[:space:]]*[^[:space:]]* => \(\/[^[:space:]]*\) (0x.*/\1/p' \
              -e 's/^[[:space:]]*\(\/[^[:space:]]*\) (0x.*/\1/p' "$ldd_out" | sort -u)
for lib in $libs; do
  case "$lib" in "$root"/*) continue ;; esac
  case "${lib##*/}" in
    ld-linux*.so.* | libc.so.* | libm.so.* | libmvec.so.* | libpthread.so.* | libdl.so.* | librt.so.* | \
      libresolv.so.* | libutil.so.* | libanl.so.* | libnss_*.so.*) ;;
    *) echo "image-root: the bundle lacks ${lib##*/} (ldd found it outside the bundle, at $lib)" >&2
       exit 1 ;;
  esac
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"   # -L: the file, not Debian's versioned symlink
done
if [ ! -e "$root/lib64/ld-linux-x86-64.so.2" ] || [ ! -e "$root/lib/x86_64-linux-gnu/libc.so.6" ]; then
  echo "image-root: ldd named no loader or C library; is this an x86-64 glibc system?" >&2
  exit 1
fi

# Users: numeric 10001 (Kubernetes' runAsNonRoot can check a number, never a
# name); the entries give tools and people a name for it. No shell exists.
mkdir -p "$root/etc"
printf '%s\n' 'root:x:0:0:root:/root:/nonexistent' \
  'bench-dist:x:10001:10001:bench-dist:/var/lib/bench-dist:/nonexistent' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'bench-dist:x:10001:' >"$root/etc/group"
# Without nsswitch.conf glibc tries DNS before /etc/hosts; the runtime
# mounts /etc/hosts and /etc/resolv.conf over the image's.
printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$root/etc/nsswitch.conf"

# CA certificates for a wss:// or https:// --stdb-url: OpenSSL reads the file
# named by SSL_CERT_FILE (set in the Containerfile).
ca=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$ca" ]; then
  echo "image-root: $ca missing: install Debian's ca-certificates" >&2
  exit 1
fi
mkdir -p "$root/etc/ssl/certs"
cp -L "$ca" "$root$ca"

mkdir -p "$root/tmp" "$root/var/lib"
chmod 1777 "$root/tmp"
echo "image-root: $out ($(du -sh "$root" | cut -f1) in root/)"
