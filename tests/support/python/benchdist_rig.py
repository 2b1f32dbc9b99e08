"""The Python twin of tests/support/rig.hpp, for the tests that drive a
browser or Prometheus against the suite's real processes: stdb-standin,
bench-dist-coordinator and bench-dist-generator on 127.0.0.1 with ports the
kernel picks. Every start waits (bounded) for the process's "listening on"
line; every wait polls a condition under a deadline and fails with the
processes' output, never sleeping to synchronize. Everything started is
stopped (SIGTERM, then SIGKILL) when the Rig is closed, also on failure.

Only the standard library: the tests run under Debian's /usr/bin/python3.
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

LISTENING = re.compile(r"listening on https?://[^\s:]+:(\d+)")


class Process:
    """A child process whose merged stdout/stderr is collected by a thread."""

    def __init__(self, argv, name, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self._lines = []
        self._cond = threading.Condition()
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=full_env, cwd=cwd, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def output(self):
        with self._cond:
            return "\n".join(self._lines)

    def wait_for_line(self, pattern, timeout):
        """The first match of the regex `pattern` in a line, waiting at most
        `timeout` seconds; raises with the output when none comes."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                while seen < len(self._lines):
                    m = regex.search(self._lines[seen])
                    seen += 1
                    if m:
                        return m
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) before printing /{pattern}/:\n"
                                       f"{self.output()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"{self.name} printed no line matching /{pattern}/ within {timeout} s:\n"
                                       f"{self.output()}")
                self._cond.wait(min(left, 0.5))

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return self.proc.returncode


def http(method, url, body=None, token=None, timeout=10):
    """(status, text) of one request; a dict body goes as JSON."""
    data = None
    headers = {}
    if body is not None:
        data = (json.dumps(body) if not isinstance(body, (str, bytes)) else body)
        data = data.encode() if isinstance(data, str) else data
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def wait_until(condition, timeout, what, diagnostics=lambda: ""):
    """Polls `condition()` (truthy ends the wait and is returned) every
    0.1 s for at most `timeout` seconds; raises naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as e:  # a condition may fail while a process starts
            last_error = e
        time.sleep(0.1)  # polling interval, not synchronization: the condition decides
    raise AssertionError(f"timed out after {timeout} s waiting for {what}"
                         f"{'; last error: ' + repr(last_error) if last_error else ''}\n{diagnostics()}")


class Rig:
    """stdb-standin, a coordinator and generators in a private directory.

    bin_dir: the build's bin/ (CTest passes it). Use as a context manager."""

    def __init__(self, bin_dir, token=None, tag="rig"):
        self.bin_dir = os.path.abspath(bin_dir)
        self.token = token
        self.dir = tempfile.TemporaryDirectory(prefix=f"benchdist-{tag}-")
        self.results_dir = os.path.join(self.dir.name, "results")
        self.processes = []
        self.standin_port = None
        self.coordinator_port = None
        self.coordinator = None
        self.generators = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for p in reversed(self.processes):
            p.stop()
        self.processes.clear()
        self.dir.cleanup()

    def tool(self, name):
        return os.path.join(self.bin_dir, name)

    def start(self, argv, name, env=None):
        p = Process(argv, name, env=env, cwd=self.dir.name)
        self.processes.append(p)
        return p

    def diagnostics(self):
        return "\n".join(f"--- {p.name} ---\n{p.output()}" for p in self.processes)

    def start_standin(self, args=(), accounts=10000, balance=10_000_000):
        p = self.start([self.tool("stdb-standin"), "--listen", "127.0.0.1:0", "--database", "test-1", *args],
                       "stdb-standin")
        self.standin_port = int(p.wait_for_line(LISTENING.pattern, 30).group(1))
        status, text = http("POST", f"http://127.0.0.1:{self.standin_port}/v1/database/test-1/call/seed",
                            f"[{accounts},{balance}]")
        if status != 200:
            raise RuntimeError(f"seeding the stand-in failed: HTTP {status} {text}")
        return p

    @property
    def stdb_url(self):
        return f"ws://127.0.0.1:{self.standin_port}"

    def coordinator_url(self, path=""):
        return f"http://127.0.0.1:{self.coordinator_port}{path}"

    def start_coordinator(self, args=()):
        env = {"BENCH_DIST_TOKEN": self.token} if self.token else {}
        p = self.start([self.tool("bench-dist-coordinator"), "--bind", "127.0.0.1", "--port", "0", "--stdb-url",
                        self.stdb_url, "--stdb-module", "test-1", "--results-dir", self.results_dir, *args],
                       "bench-dist-coordinator", env=env)
        self.coordinator_port = int(p.wait_for_line(LISTENING.pattern, 30).group(1))
        self.coordinator = p
        return p

    def start_generator(self, gen_id, concurrency=8, args=()):
        env = {"BENCH_DIST_TOKEN": self.token} if self.token else {}
        p = self.start([self.tool("bench-dist-generator"), "--coordinator-url", self.coordinator_url(), "--id", gen_id,
                        "--concurrency", str(concurrency), "--accounts", "10000", "--stdb-url", self.stdb_url,
                        "--stdb-module", "test-1", "--poll-ms", "100", "--threads", "1", *args],
                       f"generator {gen_id}", env=env)
        self.generators[gen_id] = p
        return p

    def call(self, method, path, body=None, timeout=10):
        """A call to the coordinator with the rig's token; (status, parsed JSON or text)."""
        status, text = http(method, self.coordinator_url(path), body, self.token, timeout)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def state(self):
        status, body = self.call("GET", "/admin/status")
        if status != 200:
            raise RuntimeError(f"GET /admin/status: HTTP {status} {body}")
        return body

    def wait_ready(self, n, timeout=60):
        def ready():
            gens = self.state().get("generators", [])
            return sum(1 for g in gens if g.get("localState") == "ready") >= n
        return wait_until(ready, timeout, f"{n} ready generators", self.diagnostics)

    def start_epoch(self, body=None):
        """Starts an epoch; returns its number (raises unless it started)."""
        status, answer = self.call("POST", "/admin/start-epoch", body if body is not None else {})
        if status != 200 or not isinstance(answer, dict) or not answer.get("started"):
            raise RuntimeError(f"start-epoch refused: HTTP {status} {answer}")
        return answer["state"]["currentEpoch"]

    def wait_result(self, epoch, timeout=90):
        """The result of `epoch` once the coordinator has it (lastResult)."""
        def done():
            r = self.state().get("lastResult")
            return r if r and r.get("epoch") == epoch else None
        return wait_until(done, timeout, f"the result of epoch {epoch}", self.diagnostics)
