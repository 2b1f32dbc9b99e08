"""What the Prometheus tests share: their command line, generators started
with --metrics-listen, scraping an endpoint, promtool, and the metric names
a text exposes. Real processes come from tests/support/python/benchdist_rig.py.

Only the standard library: the tests run under Debian's /usr/bin/python3.
"""

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# Importing this module makes tests/support/python (benchdist_rig) importable.
sys.path.insert(0, os.path.join(REPO, "tests", "support", "python"))

PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"
DASHBOARD = os.path.join(REPO, "deploy", "grafana", "bench-dist.json")
METRICS_LISTENING = r"metrics listening on (http://127\.0\.0\.1:(\d+))/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bin-dir", required=True, help="the build's bin/ (CTest passes it)")
    p.add_argument("--artifacts", required=True, help="where the scraped texts and figures are saved")
    args = p.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    return args


def require_executable(path, package):
    """Fails (never skips) naming the Debian package when a tool is missing."""
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is missing: install Debian's {package} (scripts/setup.sh does)")


def start_generator(rig, gen_id, args=()):
    """A generator with --metrics-listen on a free loopback port; (process, base URL)."""
    p = rig.start_generator(gen_id, concurrency=4, args=["--metrics-listen", "127.0.0.1:0", *args])
    m = p.wait_for_line(METRICS_LISTENING, 30)
    return p, m.group(1)


def scrape(url, token=None):
    """(status, content type, text) of GET url/metrics."""
    import urllib.error
    import urllib.request
    headers = {"Authorization": "Bearer " + token} if token else {}
    req = urllib.request.Request(url + "/metrics", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode("utf-8", "replace")


def scrape_ok(url, token=None):
    status, content_type, text = scrape(url, token)
    if status != 200:
        raise AssertionError(f"GET {url}/metrics: HTTP {status}: {text}")
    if content_type != CONTENT_TYPE:
        raise AssertionError(f"GET {url}/metrics: Content-Type {content_type!r}, expected {CONTENT_TYPE!r}")
    return text


def promtool_check(text, what):
    """Runs `promtool check metrics` on the text; raises with its findings."""
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    findings = (r.stdout + r.stderr).decode("utf-8", "replace").strip()
    if r.returncode != 0 or findings:
        raise AssertionError(f"promtool check metrics on {what} exited {r.returncode}:\n{findings}")


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^\n]*\})?\s+(\S+)", re.M)


def samples(text):
    """[(name, labels text, value)] of every sample line."""
    return [(m.group(1), m.group(2) or "", float(m.group(3))) for m in SAMPLE.finditer(text)]


def value(text, name, labels=""):
    """The value of the sample `name{labels}` (labels as written, e.g. '{kind="timeout"}'); None if absent."""
    for n, l, v in samples(text):
        if n == name and l == labels:
            return v
    return None


TYPE = re.compile(r"^# TYPE (\S+) (\S+)$", re.M)


def names(text):
    """The metric names a text exposes: those of its samples and those its
    # TYPE lines declare (a family may have no sample now, e.g. the reasons
    of an epoch that had none), a histogram's with their three suffixes."""
    out = {n for n, _, _ in samples(text)}
    for m in TYPE.finditer(text):
        out.add(m.group(1))
        if m.group(2) == "histogram":
            out.update(m.group(1) + suffix for suffix in ("_bucket", "_sum", "_count"))
    return out


def save(artifacts, name, text):
    with open(os.path.join(artifacts, name), "w") as f:
        f.write(text)
