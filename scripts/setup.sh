#!/usr/bin/env bash
# Installs everything bench-dist needs to build, test and run its demo on
# Debian 12. Idempotent: a second run finds everything installed and only
# checks. Uses sudo when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-url1.81-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  zlib1g-dev libbrotli-dev libssl-dev
  # The generator's io_uring backend (its .deb then depends on liburing2).
  liburing-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nodejs npm
  curl ca-certificates iproute2 procps python3
  # Observability (docs/observability.md): Chart.js, embedded in the
  # dashboard and reports at build time; headless Chromium, its driver and
  # Selenium for the browser tests; Prometheus for promtool and the scrape test.
  libjs-chart.js chromium chromium-driver python3-selenium prometheus
  # Fleet packaging (docs/deploy.md): scripts/package.sh sets the bundle's
  # RPATH with patchelf, writes man pages with help2man, and CPack's Debian
  # package takes its dependencies from dpkg-shlibdeps (dpkg-dev); the deploy
  # tests run lintian on it, build an image with podman, render the
  # Kubernetes manifests with kubectl and verify the systemd units.
  patchelf help2man dpkg-dev binutils lintian podman kubernetes-client systemd
  # fuzz/ (scripts/fuzz.sh): clang and its libFuzzer runtime, which is only
  # a Recommends of clang and so must be named with --no-install-recommends.
  clang libclang-rt-14-dev
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
# A machine may already carry Node from elsewhere (e.g. nodesource); do not
# fight it with Debian's nodejs/npm.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in nodejs|npm) ;; *) filtered+=("$p") ;; esac
  done
  missing=("${filtered[@]}")
fi

# A kubectl from elsewhere (the `kubectl` package of Google's or Kubernetes'
# repository) owns /usr/bin/kubectl, and Debian's kubernetes-client would
# fail to unpack over it; either renders the manifests.
if command -v kubectl >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    [ "$p" = kubernetes-client ] || filtered+=("$p")
  done
  missing=("${filtered[@]}")
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# The conformance suite needs Node 20 or newer (Debian 12's own nodejs is 18).
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: warning: Node $(node --version 2>/dev/null || echo missing) found; the SDK conformance test needs Node >= 20" >&2
  echo "setup:          (install Node 20 from your distribution's backports or nodejs.org packages)" >&2
fi

# Node dependencies of the conformance suite (the official SpacetimeDB SDK),
# pinned by its lockfile.
if [ -f tests/conformance/package-lock.json ]; then
  if [ ! -d tests/conformance/node_modules ] || \
     [ tests/conformance/package-lock.json -nt tests/conformance/node_modules/.package-lock.json ]; then
    echo "setup: npm ci in tests/conformance"
    (cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
