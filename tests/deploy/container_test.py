#!/usr/bin/python3
"""bundle_container: the container image holds everything the tools need.

Builds the image of deploy/container/Containerfile -- its real final stage,
`--target image` -- from the bundle under test instead of compiling: the
bundle goes through deploy/container/image-root.sh (the script the
Containerfile's build stage runs) into a directory given to podman as the
named build context `build`, which replaces the stage of that name (podman
>= 4.1, buildah's documented precedence: named context, then stage, then
image). Then it exports the image's root filesystem (`podman create` +
`podman export`: this sandbox refuses to run containers, not to create
them) and, chrooted into it as the image's user 10001:10001 with only the
image's environment, runs each tool's --version and a short epoch:
stdb-standin, `bench-dist-control seed`, a coordinator with --verify, two
generators, `bench-dist-control wait-ready` and `start-epoch`, whose
verdict must be valid and whose result file must land in the image's
working directory.

What a container runtime would provide and the test provides instead, in a
private mount namespace (`unshare --mount`), so all of it disappears with
the namespace, also when the test is killed:
  - /proc in the root filesystem: the loader resolves the bundle's
    $ORIGIN RPATH through /proc/self/exe, and the generator reads
    /proc/self/statm; every runtime mounts it.
  - a tmpfs over /var/lib/containers: podman keeps a blob-info cache there
    whatever --root says; with the tmpfs the user's storage is never
    touched. Images and containers live in a private --root/--runroot
    (vfs driver) in the test's temporary directory, removed at the end.
Nothing else: no /dev, /sys or /etc/hosts; the tools need none of them here.

Needs root (chroot, mount, and the image's files owned by 10001); fails,
never skips, when it is not root or podman is missing.

  container_test.py --bundle bench-dist-<v>-linux-x86_64.tar.gz --source-dir <repo> --artifacts <dir>
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "python"))
import benchdist_rig  # noqa: E402

TOOLS = ("bench-dist-coordinator", "bench-dist-generator", "bench-dist-control", "stdb-standin")
USER = "10001:10001"
WORKDIR = "/var/lib/bench-dist"
RESULTS = WORKDIR + "/results"
IMAGE = "localhost/bench-dist:container-test"
TOKEN = "container-test-token"
PODMAN_CACHE = "/var/lib/containers"  # where podman's blob-info cache goes regardless of --root

# Programs used, and the Debian package that has each.
NEEDED = {"podman": "podman", "tar": "tar", "chroot": "coreutils", "env": "coreutils", "unshare": "util-linux",
          "mount": "mount", "umount": "mount", "ldd": "libc-bin"}


def fail(message):
    print(f"bundle_container: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def run(argv, what, timeout=120, **kw):
    """Runs argv; its stdout. Raises with all output when it fails."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{what} failed (exit {p.returncode}): {' '.join(argv)}\n"
                             f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p.stdout


class Timer:
    def __init__(self):
        self.marks = {}
        self._t = time.monotonic()

    def mark(self, name):
        now = time.monotonic()
        self.marks[name] = round(now - self._t, 2)
        self._t = now
        print(f"bundle_container: {name}: {self.marks[name]} s", flush=True)


# --- outer: checks, temporary directory, cleanup ----------------------------------------------

def outer(args):
    missing = [f"{prog} (Debian package {pkg})" for prog, pkg in NEEDED.items() if not shutil.which(prog)]
    if missing:
        fail("missing programs: " + ", ".join(missing) + "; scripts/setup.sh installs them")
    if os.geteuid() != 0:
        # `unshare -r` would make us root in a user namespace, but with one uid
        # mapped: podman cannot store files owned by 10001 and
        # `chroot --userspec=10001:10001` cannot switch to an unmapped uid.
        fail("needs root: it chroots into the image and mounts /proc in a private mount namespace, and the image "
             "holds files owned by 10001, which an unprivileged user namespace with one mapped uid cannot hold. "
             "Run ctest (or this script) as root, e.g. with sudo.")
    if not os.path.isfile(args.bundle):
        fail(f"no bundle at {args.bundle} (the package_bundle test makes it)")
    for name in ("Containerfile", "image-root.sh"):
        if not os.path.isfile(os.path.join(args.source_dir, "deploy", "container", name)):
            fail(f"no deploy/container/{name} in --source-dir {args.source_dir}")
    os.makedirs(args.artifacts, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="bench-dist-container-")
    made_cache_dir = not os.path.exists(PODMAN_CACHE)
    if made_cache_dir:
        os.makedirs(PODMAN_CACHE, mode=0o700)  # only as a mount point; removed below
    rc = 1
    try:
        # Everything else runs in a private mount namespace: its mounts (the
        # tmpfs over podman's cache, /proc in the rootfs) vanish with it.
        argv = ["unshare", "--mount", "--propagation", "private", sys.executable, os.path.abspath(__file__),
                "--inner", tmp, "--bundle", os.path.abspath(args.bundle),
                "--source-dir", os.path.abspath(args.source_dir), "--artifacts", os.path.abspath(args.artifacts)]
        child = subprocess.Popen(argv)
        # A timeout's SIGTERM reaches the namespace too, which then stops
        # its processes and unmounts before we remove the directory.
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        rc = child.wait()
    finally:
        if any(tmp in line for line in open("/proc/self/mountinfo")):
            print(f"bundle_container: {tmp} still has mounts; left in place", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        if made_cache_dir:
            shutil.rmtree(PODMAN_CACHE, ignore_errors=True)
    if rc != 0:
        fail(f"see above (artifacts in {args.artifacts})")
    print("bundle_container: PASS")


# --- inner: build, export, run (in the private mount namespace) -------------------------------

def podman_argv(tmp):
    # A private store and state: nothing reaches the user's images or
    # containers, and removing tmp removes everything.
    return ["podman", "--root", f"{tmp}/storage", "--runroot", f"{tmp}/run", "--storage-driver", "vfs",
            "--tmpdir", f"{tmp}/libpod", "--events-backend", "none", "--cgroup-manager", "cgroupfs"]


def build_and_export(args, tmp, timer):
    """Builds the image, writes its config to the artifacts, exports its
    root filesystem to tmp/rootfs; returns (rootfs, image config)."""
    context = os.path.join(tmp, "context")
    os.makedirs(context)
    image_root = os.path.join(args.source_dir, "deploy", "container", "image-root.sh")
    out = run([image_root, args.bundle, os.path.join(context, "image")], "image-root.sh")
    print(out, end="")
    timer.mark("image-root.sh")

    podman = podman_argv(tmp)
    env = dict(os.environ, TMPDIR=os.path.join(tmp, "tmp"))
    os.makedirs(env["TMPDIR"])
    containerfile = os.path.join(args.source_dir, "deploy", "container", "Containerfile")
    # --pull=never: were the build stage not replaced, the build fails at once
    # instead of trying a registry.
    log = run(podman + ["build", "--pull=never", "--target", "image", "--build-context", f"build={context}",
                        "-f", containerfile, "-t", IMAGE, args.source_dir], "podman build", timeout=180, env=env)
    with open(os.path.join(args.artifacts, "podman-build.log"), "w") as f:
        f.write(log)
    timer.mark("podman build")

    inspect = json.loads(run(podman + ["image", "inspect", IMAGE], "podman image inspect", env=env))[0]
    with open(os.path.join(args.artifacts, "image-inspect.json"), "w") as f:
        json.dump(inspect, f, indent=2)
    config = inspect["Config"]
    size_mb = inspect.get("Size", 0) / 1e6
    print(f"bundle_container: image {IMAGE}: {size_mb:.1f} MB, config {json.dumps(config)}")

    run(podman + ["create", "--name", "export", IMAGE], "podman create", env=env)
    tarball = os.path.join(tmp, "rootfs.tar")
    run(podman + ["export", "--output", tarball, "export"], "podman export", env=env)
    run(podman + ["rm", "export"], "podman rm", env=env)
    rootfs = os.path.join(tmp, "rootfs")
    os.makedirs(rootfs)
    # As root, tar keeps the owners and modes the image gave (10001, 1777).
    run(["tar", "-xpf", tarball, "--numeric-owner", "-C", rootfs], "unpacking the exported rootfs")
    os.remove(tarball)
    listing = run(["find", ".", "-printf", "%U:%G %m %p\n"], "listing the rootfs", cwd=rootfs)
    with open(os.path.join(args.artifacts, "rootfs-listing.txt"), "w") as f:
        f.write(listing)
    timer.mark("podman create + export + unpack")
    return rootfs, config, size_mb


def check_image(rootfs, config):
    """What the Containerfile promises (deploy/container/README.md)."""
    problems = []
    if config.get("User") != USER:
        problems.append(f"User is {config.get('User')!r}, not {USER}")
    if config.get("WorkingDir") != WORKDIR:
        problems.append(f"WorkingDir is {config.get('WorkingDir')!r}, not {WORKDIR}")
    env = dict(e.split("=", 1) for e in config.get("Env", []))
    if "/opt/bench-dist/bin" not in env.get("PATH", "").split(":"):
        problems.append(f"PATH {env.get('PATH')!r} lacks /opt/bench-dist/bin")
    ports = set(config.get("ExposedPorts", {}))
    if not {"8080/tcp", "3000/tcp"} <= ports:
        problems.append(f"exposed ports {sorted(ports)} lack 8080/tcp and 3000/tcp")
    for tool in TOOLS:
        if not os.access(os.path.join(rootfs, "opt/bench-dist/bin", tool), os.X_OK):
            problems.append(f"/opt/bench-dist/bin/{tool} missing or not executable")
    for d in (WORKDIR, RESULTS):
        st = os.stat(rootfs + d)
        if (st.st_uid, st.st_gid) != (10001, 10001):
            problems.append(f"{d} belongs to {st.st_uid}:{st.st_gid}, not {USER}")
    for d in ("/", "/opt", "/opt/bench-dist/bin", "/var", "/var/lib", "/etc"):
        if os.stat(rootfs + d).st_uid != 0:
            problems.append(f"{d} does not belong to root")
    if os.stat(rootfs + "/tmp").st_mode & 0o7777 != 0o1777:
        problems.append("/tmp is not mode 1777")
    passwd = open(rootfs + "/etc/passwd").read()
    group = open(rootfs + "/etc/group").read()
    if not re.search(r"^[^:]+:x:10001:10001:", passwd, re.M) or not re.search(r"^[^:]+:x:10001:", group, re.M):
        problems.append("no 10001 entry in /etc/passwd or /etc/group")
    if not os.path.getsize(rootfs + env.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")):
        problems.append("the CA file SSL_CERT_FILE names is empty")
    # The manifests rely on there being no shell (they never use sh -c).
    shells = [s for s in ("/bin/sh", "/usr/bin/sh", "/bin/bash") if os.path.lexists(rootfs + s)]
    if shells:
        problems.append(f"the image has a shell ({shells}): the Containerfile says it has none")
    if problems:
        raise AssertionError("the image is not as the Containerfile promises:\n  " + "\n  ".join(problems))
    return env


class ChrootRig(benchdist_rig.Rig):
    """benchdist_rig's Rig with every tool run inside the image's root
    filesystem, as the image's user, with only the image's environment:
    env -i <image Env> chroot --userspec=10001:10001 <rootfs> <tool> ...
    The tool is found through the image's PATH. coreutils' chroot starts it
    in / (a runtime would use WORKDIR), so paths into the working directory
    are absolute, as the Kubernetes manifests give them."""

    def __init__(self, rootfs, image_env):
        super().__init__(bin_dir=rootfs, token=TOKEN, tag="container")
        self.rootfs = rootfs
        self.image_env = image_env
        self.results_dir = RESULTS  # inside the image

    def tool(self, name):
        return name

    def wrap(self, argv, env=None):
        full_env = dict(self.image_env)
        full_env["BENCH_DIST_TOKEN"] = TOKEN
        full_env.update(env or {})
        # chroot by its path: env -i leaves only the image's PATH.
        return [shutil.which("env"), "-i", *(f"{k}={v}" for k, v in full_env.items()),
                shutil.which("chroot"), f"--userspec={USER}", self.rootfs, *argv]

    def start(self, argv, name, env=None):
        return super().start(self.wrap(argv, env), name)

    def control(self, *args, timeout=60):
        argv = self.wrap(["bench-dist-control", "--coordinator-url", self.coordinator_url(), *args])
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def start_standin(self, accounts=10000, balance=10_000_000):
        # Seeded by bench-dist-control from the image, as on a real server.
        p = self.start(["stdb-standin", "--listen", "127.0.0.1:0", "--database", "test-1"], "stdb-standin")
        self.standin_port = int(p.wait_for_line(benchdist_rig.LISTENING.pattern, 30).group(1))
        argv = self.wrap(["bench-dist-control", "seed", "--stdb-url", self.stdb_url, "--stdb-module", "test-1",
                          "--accounts", str(accounts), "--initial-balance", str(balance)])
        run(argv, "bench-dist-control seed", timeout=60)
        return p


def run_in_image(args, rootfs, image_env, timer):
    proc_dir = os.path.join(rootfs, "proc")
    os.makedirs(proc_dir, exist_ok=True)
    run(["mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", proc_dir], "mounting /proc in the rootfs")
    try:
        with ChrootRig(rootfs, image_env) as rig:
            versions = {}
            for tool in TOOLS:
                out = run(rig.wrap([tool, "--version"]), f"{tool} --version in the image", timeout=30).strip()
                if not re.search(r"\d+\.\d+\.\d+", out):
                    raise AssertionError(f"{tool} --version printed {out!r}")
                versions[tool] = out
            print(f"bundle_container: versions {versions}")
            timer.mark("--version x4")

            rig.start_standin()
            rig.start_coordinator(["--window-seconds", "2", "--warmup-seconds", "0.5", "--verify",
                                   "--initial-balance", "10000000"])
            for gen in ("gen-a", "gen-b"):
                rig.start_generator(gen, concurrency=8)
            rc, out, err = rig.control("wait-ready", "--generators", "2", "--timeout", "30")
            if rc != 0:
                raise AssertionError(f"wait-ready exited {rc}\n{out}\n{err}\n{rig.diagnostics()}")
            # A loaded machine can spoil a 2 s epoch (docs/results.md lists
            # why); one more try tells that apart from a broken image.
            for attempt in (1, 2):
                rc, out, err = rig.control("start-epoch", "--label", f"container-{attempt}", "--no-live",
                                           "--timeout", "60", "--json", timeout=90)
                try:
                    result = json.loads(out)
                except ValueError:
                    result = {}
                if rc == 0 and result.get("verdict") == "valid":
                    break
                print(f"bundle_container: epoch {attempt}: exit {rc}, verdict {result.get('verdict')}, "
                      f"reasons {result.get('reasons')}", flush=True)
            else:
                raise AssertionError(f"no valid epoch in two tries; last: exit {rc}\n{out}\n{err}\n"
                                     f"{rig.diagnostics()}")
            timer.mark("epoch (stand-in, seed, coordinator, 2 generators, start-epoch)")
            with open(os.path.join(args.artifacts, "processes.log"), "w") as f:
                f.write(rig.diagnostics())

        # The non-root user wrote its result into the image's working directory.
        files = sorted(glob.glob(rootfs + RESULTS + "/*-epoch-*.json"))
        if not files:
            raise AssertionError(f"no result file in {RESULTS} of the image: {os.listdir(rootfs + RESULTS)}")
        for path in files:
            st = os.stat(path)
            if (st.st_uid, st.st_gid) != (10001, 10001):
                raise AssertionError(f"{path} belongs to {st.st_uid}:{st.st_gid}, not {USER}")
        with open(files[-1]) as f:
            written = json.load(f)
        if written.get("verdict") != "valid" or not written.get("tps", 0) > 0:
            raise AssertionError(f"result file {files[-1]}: verdict {written.get('verdict')}, tps {written.get('tps')}")
        shutil.copy(files[-1], args.artifacts)
        print(f"bundle_container: epoch valid, {written['tps']:.0f} TPS, result {files[-1][len(rootfs):]} "
              f"written by {USER}")
    finally:
        subprocess.call(["umount", proc_dir])


def inner(args):
    tmp = args.inner
    timer = Timer()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks run
    # podman's blob-info cache: on a tmpfs private to this namespace.
    run(["mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", PODMAN_CACHE], "mounting a tmpfs over " + PODMAN_CACHE)
    try:
        rootfs, config, size_mb = build_and_export(args, tmp, timer)
        image_env = check_image(rootfs, config)
        run_in_image(args, rootfs, image_env, timer)
    except (AssertionError, RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"bundle_container: FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        subprocess.call(["umount", PODMAN_CACHE])
        timer.marks["total"] = round(sum(timer.marks.values()), 2)
        with open(os.path.join(args.artifacts, "timings.json"), "w") as f:
            json.dump(timer.marks, f, indent=2)
    print(f"bundle_container: image {size_mb:.1f} MB; total {timer.marks['total']} s")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", required=True, help="bench-dist-<version>-linux-x86_64.tar.gz")
    parser.add_argument("--source-dir", required=True, help="the repository (Containerfile, image-root.sh)")
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--inner", help=argparse.SUPPRESS)  # set by outer() for the re-run in the namespace
    args = parser.parse_args()
    if args.inner:
        sys.exit(inner(args))
    outer(args)


if __name__ == "__main__":
    main()
