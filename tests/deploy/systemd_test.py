"""deploy/systemd's units, checked offline (nothing here starts systemd):

- `systemd-analyze verify` passes on bench-dist-coordinator.service and on
  bench-dist-generator@gen-01.service (the template through an instance),
  with no output at all, in two temporary roots laid out as the two installs
  are: the Debian package (tools in /usr/bin, units in /usr/lib/systemd/system)
  and the portable bundle (tools under /opt, linked into /usr/local/bin,
  units in /etc/systemd/system). verify exits 0 on a misspelled directive and
  only prints a line, so any line fails; the test shows it catches one, and a
  tool missing from the search path too.
- Every `--flag` of each ExecStart=, after the example env files' variables
  are expanded as systemd expands them, is in the tool's --help; every other
  variable the examples set is one of the tool's `Env:` names; flags the tool
  marks REQUIRED are given; the token never reaches a command line;
  LimitNOFILE= covers the tool's largest connection counts.

Only the standard library: the test runs under Debian's /usr/bin/python3.
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "python"))
import tool_help as tool_help_module  # noqa: E402

SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
# Debian 12 has merged /usr: /lib/systemd/system is /usr/lib/systemd/system.
HOST_UNITS = "/usr/lib/systemd/system"
INSTANCE = "gen-01"
# unit file -> (tool, the unit name verify is given)
UNITS = {
    "bench-dist-coordinator.service": ("bench-dist-coordinator", "bench-dist-coordinator.service"),
    "bench-dist-generator@.service": ("bench-dist-generator", f"bench-dist-generator@{INSTANCE}.service"),
}
ENV_DIR = "/etc/bench-dist/"


def fail(message):
    raise AssertionError(message)


# --- the tools' --help ----------------------------------------------------

def tool_help(bin_dir, tool):
    """(flags, env names, required flags, text) of `tool --help`."""
    h = tool_help_module.ToolHelp(bin_dir).help(tool)
    return h.flags, h.env, h.required, h.text


def help_default(help_text, flag):
    """The number after `=` on flag's line of --help (e.g. --max-connections' 2048)."""
    m = re.search(r"^  " + re.escape(flag) + r" [^\n]*?=(\d+)(?:\s|$)", help_text, re.M)
    if not m:
        fail(f"--help shows no numeric default for {flag}")
    return int(m.group(1))


def help_max(help_text, flag):
    """The upper end of flag's `in [a - b]` range in --help."""
    m = re.search(r"^  " + re.escape(flag) + r" [^\n]*? in \[\d+ - (\d+)\]", help_text, re.M)
    if not m:
        fail(f"--help shows no range for {flag}")
    return int(m.group(1))


# --- unit and env files ---------------------------------------------------

def read_unit(path):
    """{section: [(key, value), ...]} in file order (continuation lines joined)."""
    sections, current, pending = {}, None, ""
    for raw in open(path, encoding="utf-8").read().splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def values(sections, section, key):
    return [v for k, v in sections.get(section, []) if k == key]


def read_env_file(path):
    """KEY=VALUE lines as systemd's EnvironmentFile= reads our examples
    (comments, blank lines, one pair of quotes around a whole value)."""
    env = {}
    for n, raw in enumerate(open(path, encoding="utf-8").read().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, eq, value = line.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            fail(f"{path}:{n}: not KEY=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def example_for(env_file, source_dir):
    """/etc/bench-dist/NAME.env (after %i) -> deploy/systemd/NAME.env.example."""
    if not env_file.startswith(ENV_DIR):
        fail(f"EnvironmentFile={env_file} is outside {ENV_DIR}")
    return os.path.join(source_dir, "deploy", "systemd", env_file[len(ENV_DIR):] + ".example")


def expand_exec(line, env):
    """ExecStart= as systemd runs it: %i, then "$NAME" words split at
    whitespace (quotes respected; unset: no word), "${NAME}" as one word."""
    line = line.replace("%i", INSTANCE).replace("%%", "%")
    words = []
    for word in shlex.split(line):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            words += shlex.split(env.get(m.group(1), ""))
        else:
            words.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda v: env.get(v.group(1), ""), word))
    return words


def exec_variables(line):
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", line))


def check_unit_against_help(unit_path, tool, bin_dir, source_dir):
    """Problems (strings) of one unit's command line and env files; [] if none."""
    problems = []
    unit = read_unit(unit_path)
    name = os.path.basename(unit_path)
    flags, env_names, required, help_text = tool_help(bin_dir, tool)

    execs = values(unit, "Service", "ExecStart")
    if len(execs) != 1:
        return [f"{name}: {len(execs)} ExecStart= lines, expected 1"], []
    exec_line = execs[0]
    env, env_keys_by_file = {}, {}
    for entry in values(unit, "Service", "EnvironmentFile"):
        optional = entry.startswith("-")
        path = entry.lstrip("-").replace("%i", INSTANCE)
        example = example_for(path, source_dir)
        if not os.path.isfile(example):
            problems.append(f"{name}: EnvironmentFile={entry} has no example {os.path.relpath(example, source_dir)}"
                            + (" (optional files need one too, to show what goes there)" if optional else ""))
            continue
        got = read_env_file(example)
        env_keys_by_file[example] = got
        env.update(got)  # a later file wins, as in systemd

    argv = expand_exec(exec_line, env)
    if argv[0] != tool:
        problems.append(f"{name}: ExecStart runs {argv[0]!r}, expected the bare name {tool} "
                        "(resolved through systemd's search path: /usr/local/bin, then /usr/bin)")
    given = set()
    for word in argv[1:]:
        if word.startswith("--"):
            flag = word.split("=", 1)[0]
            given.add(flag)
            if flag not in flags:
                problems.append(f"{name}: ExecStart passes {flag}, which `{tool} --help` does not list")
    for flag in sorted(required - given):
        problems.append(f"{name}: ExecStart lacks {flag}, which `{tool} --help` marks REQUIRED")
    if "--auth-token" in given:
        problems.append(f"{name}: the token is on the command line (visible in ps); use BENCH_DIST_TOKEN from token.env")
    if tool == "bench-dist-generator" and "--exit-on-coordinator-loss" in given:
        problems.append(f"{name}: --exit-on-coordinator-loss: the generator should re-register by itself")

    consumed = exec_variables(exec_line)  # the args variables the unit itself expands
    for example, keys in env_keys_by_file.items():
        for key in sorted(set(keys) - consumed):
            if key not in env_names:
                problems.append(f"{os.path.relpath(example, source_dir)} sets {key}, which is neither used by "
                                f"{name}'s ExecStart nor an Env: name of `{tool} --help`")
    if "BENCH_DIST_TOKEN" not in env_names:
        problems.append(f"`{tool} --help` names no Env:BENCH_DIST_TOKEN")
    if "BENCH_DIST_TOKEN" in consumed:
        problems.append(f"{name}: ExecStart expands $BENCH_DIST_TOKEN onto the command line")

    # Open files: one per connection plus the tools' own margin (64, the
    # generator's; the coordinator's needs are smaller).
    limits = values(unit, "Service", "LimitNOFILE")
    if len(limits) != 1 or not limits[0].isdigit():
        problems.append(f"{name}: LimitNOFILE= should be one number, got {limits}")
    else:
        limit = int(limits[0])
        if tool == "bench-dist-generator":
            need = help_max(help_text, "--concurrency") + 64
        else:
            need = help_default(help_text, "--max-connections") + help_default(help_text, "--max-pending-connections") + 64
        if limit < need:
            problems.append(f"{name}: LimitNOFILE={limit} is below the {need} descriptors the tool may need")

    for doc in " ".join(values(unit, "Unit", "Documentation")).split():
        m = re.fullmatch(r"man:([\w-]+)\(1\)", doc)
        if doc.startswith("man:") and not (m and os.path.exists(os.path.join(bin_dir, m.group(1)))):
            problems.append(f"{name}: Documentation={doc} is not the man page of one of our tools")
        if not re.match(r"(man|file|https?|info):", doc):
            problems.append(f"{name}: Documentation={doc} is not a URI lintian accepts")
    return problems, argv


# --- systemd-analyze verify in a temporary root ---------------------------

def place_tool(src, dst):
    """A hard link (the ci build's tools are large) or else a copy: verify
    looks the executable up inside the root, so a symlink to the build tree
    (resolved under the root) would not do."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def make_root(base, layout, bin_dir, source_dir, version, tools):
    """A root with the standard units (for sysinit.target & co., which
    verify's default dependencies need), ours, the example env files, and the
    tools where `layout` puts them."""
    root = os.path.join(base, layout)
    shutil.copytree(HOST_UNITS, os.path.join(root, HOST_UNITS.lstrip("/")), symlinks=True)
    unit_dir = {"deb": "usr/lib/systemd/system", "bundle": "etc/systemd/system"}[layout]
    os.makedirs(os.path.join(root, unit_dir), exist_ok=True)
    for unit in UNITS:
        shutil.copy(os.path.join(source_dir, "deploy", "systemd", unit), os.path.join(root, unit_dir, unit))
    os.makedirs(os.path.join(root, "etc", "bench-dist"))
    for f in os.listdir(os.path.join(source_dir, "deploy", "systemd")):
        if f.endswith(".env.example"):
            dst = os.path.join(root, "etc", "bench-dist", f[:-len(".example")])
            shutil.copy(os.path.join(source_dir, "deploy", "systemd", f), dst)
            os.chmod(dst, 0o600)
    for tool in tools:
        if layout == "deb":
            place_tool(os.path.join(bin_dir, tool), os.path.join(root, "usr", "bin", tool))
        else:
            top = f"/opt/bench-dist-{version}-linux-x86_64"
            place_tool(os.path.join(bin_dir, tool), os.path.join(root, top.lstrip("/"), "bin", tool))
            os.makedirs(os.path.join(root, "usr", "local", "bin"), exist_ok=True)
            os.symlink(f"{top}/bin/{tool}", os.path.join(root, "usr", "local", "bin", tool))
    return root


def verify(root, log_path):
    """(exit code, output lines) of systemd-analyze verify on both units.
    --root: 252 looks the units, their dependencies and the executables up
    inside it (not the env files, which are read when the service starts).
    --man=no: the man pages exist only where the .deb is installed; the
    Documentation= check above covers their names. The working directory is
    the root, so no unit file of the same name is picked up from elsewhere."""
    argv = [SYSTEMD_ANALYZE, "verify", "--man=no", f"--root={root}"] + [v for _, v in UNITS.values()]
    r = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=60)
    lines = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    with open(log_path, "w", encoding="utf-8") as f:
        f.write(" ".join(argv) + f"\nexit {r.returncode}\n" + "\n".join(lines) + "\n")
    return r.returncode, lines


def check_verify(root, log_path, what):
    code, lines = verify(root, log_path)
    if code != 0 or lines:
        fail(f"systemd-analyze verify ({what}) exit {code}; every line counts as a failure:\n" + "\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin-dir", required=True, help="the build's bin/ (CTest passes it)")
    p.add_argument("--source-dir", required=True, help="the repository")
    p.add_argument("--artifacts", required=True, help="verify's output and the expanded command lines")
    args = p.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    if not os.access(SYSTEMD_ANALYZE, os.X_OK):
        fail(f"{SYSTEMD_ANALYZE} is missing: install Debian's systemd (scripts/setup.sh does)")
    version = re.search(r"project\(bench-dist VERSION ([\d.]+)",
                        open(os.path.join(args.source_dir, "CMakeLists.txt"), encoding="utf-8").read()).group(1)
    tools = [tool for tool, _ in UNITS.values()]

    # Command lines and env files against --help.
    with open(os.path.join(args.artifacts, "exec_start.txt"), "w", encoding="utf-8") as out:
        problems = []
        for unit, (tool, _) in UNITS.items():
            found, argv = check_unit_against_help(os.path.join(args.source_dir, "deploy", "systemd", unit),
                                                  tool, args.bin_dir, args.source_dir)
            problems += found
            out.write(f"{unit}: {shlex.join(argv)}\n")
    if problems:
        fail("the units do not match the tools' --help:\n" + "\n".join(problems))

    # The same check must catch a made-up flag.
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        shutil.copytree(os.path.join(args.source_dir, "deploy", "systemd"), os.path.join(src, "deploy", "systemd"))
        bad = os.path.join(src, "deploy", "systemd", "generator.env.example")
        text = open(bad, encoding="utf-8").read()
        open(bad, "w", encoding="utf-8").write(text.replace("GENERATOR_ARGS=", "GENERATOR_ARGS=--made-up-flag 1 ", 1))
        found, _ = check_unit_against_help(os.path.join(src, "deploy", "systemd", "bench-dist-generator@.service"),
                                           "bench-dist-generator", args.bin_dir, src)
        if not any("--made-up-flag" in f for f in found):
            fail(f"the --help check missed a made-up flag in GENERATOR_ARGS: {found}")

    base = tempfile.mkdtemp(prefix="roots-", dir=args.artifacts)
    try:
        for layout in ("deb", "bundle"):
            root = make_root(base, layout, args.bin_dir, args.source_dir, version, tools)
            check_verify(root, os.path.join(args.artifacts, f"verify-{layout}.txt"), f"{layout} layout")

        # verify exits 0 on a misspelled directive, only printing a line: the
        # check above must still fail on it.
        root = os.path.join(base, "deb")
        unit = os.path.join(root, "usr/lib/systemd/system/bench-dist-coordinator.service")
        good = open(unit, encoding="utf-8").read()
        open(unit, "w", encoding="utf-8").write(good.replace("\nNoNewPrivileges=", "\nNoNewPrivilege=", 1))
        code, lines = verify(root, os.path.join(args.artifacts, "verify-misspelled.txt"))
        if not any("NoNewPrivilege" in l for l in lines):
            fail(f"verify said nothing of a misspelled directive (exit {code}): {lines}")
        open(unit, "w", encoding="utf-8").write(good)

        # And a tool missing from the search path (the bundle without its links).
        root = os.path.join(base, "bundle")
        os.remove(os.path.join(root, "usr", "local", "bin", "bench-dist-generator"))
        code, lines = verify(root, os.path.join(args.artifacts, "verify-no-generator.txt"))
        if code == 0 or not any("bench-dist-generator" in l and "not executable" in l for l in lines):
            fail(f"verify did not miss the generator (exit {code}): {lines}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("systemd units: verify clean in the deb and bundle layouts; flags and env names match --help")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
