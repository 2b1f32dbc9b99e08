"""A real Prometheus server (Debian's /usr/bin/prometheus) scrapes the
coordinator (with its bearer token) and two generators' --metrics-listen
every second while an epoch of about 9 s runs on stdb-standin. Then, over
exactly the epoch's window -- the result's measuredAt to finishedAt: each
query is evaluated at finishedAt with a range of the window's length --
two rates must match the result's TPS:

- rate() of the server's counter as the coordinator read it: within 5%.
  The coordinator reads it every 200 ms in the window (--sample-ms), so a
  scraped value is at most about that old: the span rate() sees is the
  window's to a fraction of a second.
- sum(rate()) of the generators' committed counters: within 15%. Their
  counters move with the progress ticks, once a second, so each end of the
  span rate() sees may lie up to a second before the window's edge: with a
  steady load that costs little (measured: within 0.5%), but on a host
  short of CPU the load stalls and catches up (open loop), and a second's
  shift at an edge then moves the rate by up to 10% (measured under a load
  average of 8 on two cores). The bound catches a counter that is wrong,
  not that granularity.

Fails (never skips) with the reason when Prometheus cannot start.
"""

import datetime
import json
import os
import socket
import time
import urllib.parse
import urllib.request

import prom_support as ps
from benchdist_rig import Rig, wait_until

TOKEN = "prom-scrape-token"
WINDOW_SECONDS = 9
RATE_PER_GENERATOR = 500
TOLERANCE = 0.05
GENERATOR_RATE_TOLERANCE = 0.15


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unix_seconds(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class Prometheus:
    def __init__(self, rig, targets):
        ps.require_executable(ps.PROMETHEUS, "prometheus")
        self.dir = os.path.join(rig.dir.name, "prometheus")
        os.makedirs(self.dir)
        token_file = os.path.join(self.dir, "coordinator.token")
        with open(token_file, "w") as f:
            f.write(TOKEN)
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": "bench-dist-coordinator", "authorization": {"credentials_file": token_file},
                 "static_configs": [{"targets": [targets["coordinator"]]}]},
                {"job_name": "bench-dist-generator",
                 "static_configs": [{"targets": targets["generators"]}]},
            ],
        }
        config_file = os.path.join(self.dir, "prometheus.yml")
        with open(config_file, "w") as f:
            json.dump(config, f)  # JSON is YAML
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = rig.start([ps.PROMETHEUS, f"--config.file={config_file}",
                                  f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
                                  f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                                 "prometheus")
        try:
            wait_until(self.ready, 60, "Prometheus to answer /-/ready")
        except AssertionError as e:
            raise AssertionError(f"Prometheus did not start: {e}\n--- prometheus ---\n{self.process.output()}")

    def ready(self):
        if self.process.proc.poll() is not None:
            raise AssertionError(f"prometheus exited ({self.process.proc.returncode}):\n{self.process.output()}")
        with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
            return r.status == 200

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise AssertionError(f"{url}: {body}")
        return body["data"]

    def targets_up(self):
        active = self.api("targets", state="active")["activeTargets"]
        return len(active) == 3 and all(t["health"] == "up" for t in active)

    def scalar(self, query, at):
        """The one value of an instant query at unix time `at`; raises when there is not exactly one."""
        result = self.api("query", query=query, time=f"{at:.3f}")["result"]
        if len(result) != 1:
            raise AssertionError(f"{query} at {at:.3f}: expected one series, got {result}")
        return float(result[0]["value"][1])


def main():
    args = ps.parse_args(__doc__)
    started = time.monotonic()
    with Rig(args.bin_dir, token=TOKEN, tag="prom-scrape") as rig:
        rig.start_standin()
        # Two seconds of warmup: the generators' first progress tick (a
        # second into their load) comes before the window opens, so rate()
        # has a generator sample from before it.
        rig.start_coordinator(["--window-seconds", str(WINDOW_SECONDS), "--warmup-seconds", "2",
                               "--sample-ms", "200"])
        generators = [ps.start_generator(rig, g, ["--rate", str(RATE_PER_GENERATOR)])[1] for g in ("gen-a", "gen-b")]
        rig.wait_ready(2)
        prom = Prometheus(rig, {"coordinator": f"127.0.0.1:{rig.coordinator_port}",
                                "generators": [g.removeprefix("http://") for g in generators]})
        wait_until(prom.targets_up, 30, "Prometheus to scrape all three targets",
                   lambda: json.dumps(prom.api("targets"), indent=1) + "\n" + rig.diagnostics())

        epoch = rig.start_epoch({"label": "prometheus-scrape"})
        result = rig.wait_result(epoch)
        t0, t1 = unix_seconds(result["measuredAt"]), unix_seconds(result["finishedAt"])
        window_ms = int(round((t1 - t0) * 1000))
        tps = result["tps"]
        assert tps > 0, f"the epoch measured nothing: {json.dumps(result, indent=1)}"

        # Every target scraped once more after the window closed.
        wait_until(lambda: prom.api("query", query="min(timestamp(up))")["result"] and
                   float(prom.api("query", query="min(timestamp(up))")["result"][0]["value"][1]) > t1 + 0.5,
                   30, "a scrape of every target after the window")

        c = "benchdist_generator_committed_transfers_total"
        queries = {
            "server": (f"rate(benchdist_coordinator_server_committed_transfers_total[{window_ms}ms])", TOLERANCE),
            "generators": (f"sum(rate({c}[{window_ms}ms]))", GENERATOR_RATE_TOLERANCE),
        }
        figures = {"epoch": epoch, "tps": tps, "measuredAt": result["measuredAt"],
                   "finishedAt": result["finishedAt"], "windowMs": window_ms, "verdict": result.get("verdict")}
        failures = []
        for name, (query, tolerance) in queries.items():
            try:
                got = prom.scalar(query, t1)
            except AssertionError as e:
                failures.append(f"{name}: {e}")
                continue
            off = (got - tps) / tps
            figures[name] = {"query": query, "at": t1, "value": got, "relativeDifference": off}
            print(f"{name}: {query} at {t1:.3f} = {got:.1f}/s against the result's {tps:.1f}/s ({off:+.2%})")
            if abs(off) > tolerance:
                failures.append(f"{name}: {query} = {got:.1f}/s, the result says {tps:.1f}/s: "
                                f"{abs(off):.1%} apart (at most {tolerance:.0%})")
        # The last epoch's own figure, scraped once the result was in.
        last = prom.scalar("benchdist_coordinator_last_epoch_transfers_per_second", time.time())
        figures["lastEpochTps"] = last
        if abs(last - tps) > 1e-6 * tps:
            failures.append(f"benchdist_coordinator_last_epoch_transfers_per_second = {last}, the result says {tps}")
        # What the queries saw, for a reader of a failure: every raw sample
        # around the window.
        span = f"{window_ms + 4000}ms"
        at = f"{t1 + 1:.3f}"
        figures["raw"] = {name: prom.api("query", query=f"{name}[{span}]", time=at)["result"]
                          for name in ("benchdist_coordinator_server_committed_transfers_total",
                                       "benchdist_coordinator_server_read_timestamp_seconds",
                                       c, "benchdist_generator_last_tick_timestamp_seconds", "up",
                                       "scrape_duration_seconds")}
        with open(os.path.join(args.artifacts, "figures.json"), "w") as f:
            json.dump(figures, f, indent=1)
        assert not failures, "\n".join(failures) + "\n" + json.dumps(result, indent=1)
    print(f"prometheus_scrape: ok in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
