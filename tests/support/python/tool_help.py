"""What a tool's --help says it accepts, and a check of a command line
against it: for the deployment tests (Kubernetes manifests, systemd
units), so that a manifest cannot pass a flag or an environment variable
that the tool does not know -- it would exit 2 at start (a flag) or
silently ignore it (a variable).

The tools are CLI11 programs: each option is listed on a line of its own
starting with two spaces (`  --stdb-url TEXT=... (Env:STDB_URL)`,
`  -h,--help`), the environment variable an option falls back to is
written `(Env:NAME)`, and the commands are listed under `Subcommands:`.
A command's --help lists only its own options; the parent's (bench-dist-
control's --coordinator-url, --auth-token, --json) are accepted after the
command too, so a command line is checked against both.

Only the standard library: the tests run under Debian's /usr/bin/python3.
"""

import os
import re
import subprocess

_OPTION = re.compile(r"^  ((?:-[A-Za-z],)?--[A-Za-z0-9][A-Za-z0-9-]*)")
_ENV = re.compile(r"\(Env:([A-Za-z_][A-Za-z0-9_]*)\)")
_COMMAND = re.compile(r"^  ([a-z][a-z0-9-]*)\s")


class Help:
    """One --help text, parsed: flags (and which are REQUIRED), environment
    variables, commands."""

    def __init__(self, text):
        self.text = text
        self.flags = set()
        self.required = set()
        self.env = set(_ENV.findall(text))
        self.commands = set()
        section = None
        for line in text.splitlines():
            if line and not line.startswith(" "):
                section = line.rstrip(":")
                continue
            if section == "Options":
                m = _OPTION.match(line)
                if m:
                    names = m.group(1).split(",")
                    self.flags.update(names)
                    if " REQUIRED" in line:
                        self.required.update(n for n in names if n.startswith("--"))
            elif section == "Subcommands":
                m = _COMMAND.match(line)
                if m:
                    self.commands.add(m.group(1))


class ToolHelp:
    """Runs `<bin-dir>/<tool> [command] --help` once per pair and caches it."""

    def __init__(self, bin_dir):
        self.bin_dir = bin_dir
        self._cache = {}

    def help(self, tool, command=None):
        key = (tool, command)
        if key not in self._cache:
            path = os.path.join(self.bin_dir, tool)
            if not os.access(path, os.X_OK):
                raise FileNotFoundError(f"{path} is not an executable: is --bin-dir the build's bin directory?")
            argv = [path] + ([command] if command else []) + ["--help"]
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            if r.returncode != 0 or "Options:" not in r.stdout:
                raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
            self._cache[key] = Help(r.stdout)
        return self._cache[key]

    def check(self, argv, env_names=()):
        """Problems with running argv (argv[0] a path or name of a tool in
        bin_dir) with these environment variables set for it; [] when every
        flag is in the tool's (and its command's) --help and every variable
        is listed there as Env:NAME. The command is the first argument that
        is one of the tool's commands."""
        tool = os.path.basename(argv[0])
        try:
            parent = self.help(tool)
        except (OSError, RuntimeError) as e:
            return [f"{tool}: {e}"]
        command = next((a for a in argv[1:] if a in parent.commands), None)
        helps = [parent] + ([self.help(tool, command)] if command else [])
        flags = set().union(*(h.flags for h in helps))
        env = set().union(*(h.env for h in helps))
        where = f"{tool} {command}" if command else tool
        problems = []
        for arg in argv[1:]:
            if arg == "--" or not arg.startswith("-"):
                continue  # a bare -- is skipped by the tools; values and commands are not flags
            name = arg.split("=", 1)[0]
            if name not in flags:
                problems.append(f"{where}: {name} is not in its --help")
        for name in env_names:
            if name not in env:
                problems.append(f"{where}: environment variable {name} is not read (no Env:{name} in its --help)")
        return problems
