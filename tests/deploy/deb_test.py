"""The Debian package (scripts/package.sh, CPack) is sound: lintian reports
no error, its dependencies were computed (dpkg-shlibdeps) and name the
libraries the tools link, it holds the tools, their man pages, the systemd
units, the copyright file and changelog, and its tools run once unpacked
(against the system's libraries, as when installed).

Run by CTest (label `deploy`, after the `package_bundle` fixture):
  deb_test.py --deb build/ci/dist/bench-dist_<v>_amd64.deb --artifacts DIR
"""

import argparse
import os
import re
import shutil
import subprocess
import tempfile

TOOLS = ("bench-dist-coordinator", "bench-dist-generator", "bench-dist-control", "stdb-standin")


def run(argv, timeout=300):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def require(program, package):
    if shutil.which(program) is None:
        raise SystemExit(f"deb_test: {program} not found: install Debian's {package} (scripts/setup.sh does)")


def check_lintian(deb, artifacts):
    # --fail-on error: warnings and notes are reported (saved below), errors fail.
    p = run(["lintian", "--fail-on", "error", "--display-level", ">=warning", deb])
    with open(os.path.join(artifacts, "lintian.txt"), "w") as f:
        f.write(p.stdout + p.stderr)
    errors = [line for line in p.stdout.splitlines() if line.startswith("E:")]
    assert p.returncode == 0 and not errors, f"lintian failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"


def check_fields(deb):
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    # What the tools link against, as dpkg-shlibdeps names it on Debian 12.
    for package in ("libc6", "libstdc++6", "libssl3", "libboost-url1.81.0", "libspdlog1.10", "zlib1g", "libbrotli1"):
        assert re.search(rf"(^|[ ,]){re.escape(package)}", depends), f"Depends lacks {package}: {depends}"
    assert run(["dpkg-deb", "-f", deb, "Architecture"]).stdout.strip() == "amd64"


def check_contents(deb):
    listing = run(["dpkg-deb", "-c", deb]).stdout
    paths = {line.split()[-1].lstrip(".") for line in listing.splitlines() if line.strip()}
    expected = [f"/usr/bin/{tool}" for tool in TOOLS]
    expected += [f"/usr/share/man/man1/{tool}.1.gz" for tool in TOOLS]
    expected += ["/usr/lib/systemd/system/bench-dist-coordinator.service",
                 "/usr/lib/systemd/system/bench-dist-generator@.service",
                 "/usr/share/doc/bench-dist/copyright", "/usr/share/doc/bench-dist/changelog.gz",
                 "/usr/share/doc/bench-dist/deploy.md"]
    missing = [p for p in expected if p not in paths]
    assert not missing, f"the package lacks {missing}; it holds:\n{listing}"


def check_tools_run(deb):
    with tempfile.TemporaryDirectory(prefix="benchdist-deb-") as root:
        p = run(["dpkg-deb", "-x", deb, root])
        assert p.returncode == 0, p.stderr
        for tool in TOOLS:
            path = os.path.join(root, "usr", "bin", tool)
            v = run([path, "--version"])
            assert v.returncode == 0 and re.match(r"\d+\.\d+\.\d+", v.stdout), (tool, v.stdout, v.stderr)
            dynamic = run(["readelf", "-d", path]).stdout
            # A packaged tool uses the system's libraries: no bundle RPATH.
            assert "RPATH" not in dynamic and "RUNPATH" not in dynamic, f"{tool}:\n{dynamic}"
        page = run(["gzip", "-dc", os.path.join(root, "usr/share/man/man1/bench-dist-generator.1.gz")]).stdout
        assert "--concurrency" in page.replace("\\-", "-"), "the generator's man page lacks its options"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deb", required=True)
    parser.add_argument("--artifacts", required=True)
    args = parser.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    require("lintian", "lintian")
    require("dpkg-deb", "dpkg")
    check_lintian(args.deb, args.artifacts)
    check_fields(args.deb)
    check_contents(args.deb)
    check_tools_run(args.deb)
    print("deb_test: ok")


if __name__ == "__main__":
    main()
