"""The /metrics of real processes (stdb-standin, a coordinator with a token,
two generators with --metrics-listen) before, during and after an epoch:
promtool check metrics passes on every text, the token guards the
coordinator's (and a generator's, when given one), the figures move with
the load, and every metric the Grafana dashboard (deploy/grafana/) queries
is in the texts. Also the refusals of a bad --metrics-listen (exit 2).
"""

import json
import re
import socket
import subprocess
import time

import prom_support as ps
from benchdist_rig import Rig, wait_until

TOKEN = "prom-exposition-token"
SCRAPE_TOKEN = "scrape-secret"


def check_bad_listen(rig):
    gen = rig.tool("bench-dist-generator")
    base = [gen, "--coordinator-url", rig.coordinator_url(), "--id", "gen-bad", "--concurrency", "1",
            "--stdb-url", rig.stdb_url, "--stdb-module", "test-1"]
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        for flag, expect in (("localhost:9464", "not an IP address"), ("127.0.0.1", "has no port"),
                             ("127.0.0.1:99999", "port must be a number"), ("::1:9464", "in brackets"),
                             (f"127.0.0.1:{busy.getsockname()[1]}", "cannot listen on")):
            r = subprocess.run([*base, "--metrics-listen", flag], capture_output=True, timeout=30)
            err = r.stderr.decode("utf-8", "replace")
            assert r.returncode == 2, f"--metrics-listen {flag}: exit {r.returncode}, expected 2:\n{err}"
            assert "--metrics-listen" in err and expect in err, f"--metrics-listen {flag}: unclear error:\n{err}"
    finally:
        busy.close()


def dashboard_metric_names():
    with open(ps.DASHBOARD) as f:
        dashboard = json.load(f)  # fails the test when not valid JSON
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                exprs.append(node["expr"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(dashboard)
    assert exprs, f"{ps.DASHBOARD} has no queries"
    used = set()
    for e in exprs:
        used.update(re.findall(r"\b((?:benchdist|process)_[a-z0-9_]+)", e))
    return used


def main():
    args = ps.parse_args(__doc__)
    ps.require_executable(ps.PROMTOOL, "prometheus")
    started = time.monotonic()
    with Rig(args.bin_dir, token=TOKEN, tag="prom-exposition") as rig:
        rig.start_standin()
        rig.start_coordinator(["--window-seconds", "3", "--warmup-seconds", "0", "--sample-ms", "200"])
        check_bad_listen(rig)
        _, gen_a = ps.start_generator(rig, "gen-a", ["--rate", "300"])
        _, gen_b = ps.start_generator(rig, "gen-b", ["--rate", "300", "--metrics-auth-token", SCRAPE_TOKEN])
        rig.wait_ready(2)
        coordinator = rig.coordinator_url()

        # The token: the coordinator's /metrics is an admin route; gen-b's
        # scrape token guards its endpoint, gen-a has none.
        status, _, body = ps.scrape(coordinator)
        assert status == 401, f"the coordinator's /metrics without the token: HTTP {status} {body}"
        status, _, body = ps.scrape(gen_b)
        assert status == 401, f"gen-b's /metrics without its scrape token: HTTP {status} {body}"
        status, _, body = ps.scrape(gen_b, TOKEN)
        assert status == 401, f"gen-b's /metrics with a wrong token: HTTP {status} {body}"

        texts = {"coordinator-idle": ps.scrape_ok(coordinator, TOKEN), "gen-a-idle": ps.scrape_ok(gen_a)}
        epoch = rig.start_epoch({"label": "prom \"exposition\" \\ test"})
        wait_until(lambda: rig.state().get("phase") == "measure", 30, "phase measure", rig.diagnostics)
        texts["coordinator-measure"] = ps.scrape_ok(coordinator, TOKEN)
        # A generator's figures move with its first progress tick, about a
        # second into the load.
        texts["gen-a-measure"] = wait_until(
            lambda: (lambda t: t if ps.value(t, "benchdist_generator_load_running") == 1 else None)(
                ps.scrape_ok(gen_a)), 30, "gen-a's metrics to show its load running", rig.diagnostics)
        result = rig.wait_result(epoch)
        texts["coordinator-after"] = ps.scrape_ok(coordinator, TOKEN)
        texts["gen-a-after"] = ps.scrape_ok(gen_a)
        texts["gen-b-after"] = ps.scrape_ok(gen_b, SCRAPE_TOKEN)

        for name, text in texts.items():
            ps.save(args.artifacts, name + ".prom", text)
            ps.promtool_check(text, name)

        after = texts["coordinator-after"]
        assert ps.value(texts["coordinator-idle"], "benchdist_coordinator_phase", '{phase="idle"}') == 1
        assert ps.value(texts["coordinator-measure"], "benchdist_coordinator_phase", '{phase="measure"}') == 1
        assert ps.value(texts["coordinator-measure"], "benchdist_coordinator_window_open") == 1
        assert ps.value(after, "benchdist_coordinator_epoch") == epoch
        assert ps.value(after, "benchdist_coordinator_generators", '{state="ready"}') == 2, after
        assert ps.value(after, "benchdist_coordinator_open_connections") == 8, after
        assert abs(ps.value(after, "benchdist_coordinator_last_epoch_transfers_per_second") - result["tps"]) < 1e-6
        verdict = result.get("verdict", "unknown")
        info = (f'{{epoch="{epoch}",label="prom \\"exposition\\" \\\\ test",verdict="{verdict}"}}')
        assert ps.value(after, "benchdist_coordinator_last_epoch_info", info) == 1, f"no {info} in:\n{after}"
        assert ps.value(after, "benchdist_coordinator_server_committed_transfers_total") == \
            int(result["committedAfter"]), after
        latency_count = ps.value(after, "benchdist_coordinator_transfer_latency_seconds_count")
        assert latency_count and latency_count > 0, f"no live latency in the coordinator's text:\n{after}"

        committed = 0
        for name in ("gen-a-after", "gen-b-after"):
            text = texts[name]
            c = ps.value(text, "benchdist_generator_committed_transfers_total")
            assert c and c > 0, f"{name}: nothing committed:\n{text}"
            assert ps.value(text, "benchdist_generator_transfer_latency_seconds_count") > 0, text
            assert ps.value(text, "benchdist_generator_epoch") == epoch, text
            assert ps.value(text, "benchdist_generator_load_running") == 0, text
            assert ps.value(text, "process_cpu_seconds_total") > 0, text
            committed += c
        assert ps.value(texts["gen-a-measure"], "benchdist_generator_in_flight_transfers") >= 0
        # The generators committed at least the window's transfers (they load
        # before and after it too).
        assert committed >= int(result["committedDelta"]), (committed, result["committedDelta"])

        # `run` (no coordinator) serves the same metrics while it loads.
        local = rig.start([rig.tool("bench-dist-generator"), "run", "--seconds", "2", "--warmup-seconds", "0",
                           "--id", "gen-local", "--concurrency", "2", "--rate", "200", "--accounts", "10000",
                           "--stdb-url", rig.stdb_url, "--stdb-module", "test-1", "--threads", "1",
                           "--metrics-listen", "127.0.0.1:0"], "generator run")
        local_url = local.wait_for_line(ps.METRICS_LISTENING, 30).group(1)
        texts["gen-local-run"] = wait_until(
            lambda: (lambda t: t if (ps.value(t, "benchdist_generator_committed_transfers_total") or 0) > 0 else None)(
                ps.scrape_ok(local_url)), 30, "`run`'s metrics to count commits", rig.diagnostics)
        ps.save(args.artifacts, "gen-local-run.prom", texts["gen-local-run"])
        ps.promtool_check(texts["gen-local-run"], "gen-local-run")
        assert ps.value(texts["gen-local-run"], "benchdist_generator_load_running") == 1, texts["gen-local-run"]
        assert local.proc.wait(timeout=60) == 0, f"`run` failed:\n{local.output()}"

        exposed = set().union(*(ps.names(t) for t in texts.values()))
        missing = sorted(dashboard_metric_names() - exposed)
        assert not missing, f"{ps.DASHBOARD} queries metrics no endpoint exposes: {missing}"
    print(f"prometheus_exposition: ok in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
