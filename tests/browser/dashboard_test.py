#!/usr/bin/python3
"""The coordinator's dashboard (/ui) in headless Chromium, against the real
processes: stdb-standin, a coordinator with a bearer token, two generators.

It checks, in order: the page loads without the token and asks for it
(nothing else shown); once the token is typed in, both generators appear;
an epoch started through the API fills the live TPS chart while it runs;
the epoch's verdict reaches the history, its hostile label shown as text
(no element made of it, no script run); the page's own start button starts
an epoch whose verdict appears; a sweep run by bench-dist-control (which
posts its campaign after every epoch) shows its curve; and the console has
no error. Screenshots go to --artifacts. Run by CTest (label `browser`)
under Debian's /usr/bin/python3 with python3-selenium; a browser that
cannot start fails the test with the reason.
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support", "python"))

import browser  # noqa: E402
from benchdist_rig import Rig, wait_until  # noqa: E402

TOKEN = "dashboard-test-token"
HOSTILE_LABEL = '<img src=x onerror="window.__benchdistPwned=1">'
BUTTON_LABEL = "started from the page"


def js(driver, script, *args):
    return driver.execute_script(script, *args)


def history(driver):
    """The history table's rows as {epoch, label, verdict} (textContent)."""
    return js(driver, """
        return [...document.querySelectorAll('#history tbody tr')].map(r => ({
            epoch: r.cells[0].textContent, label: r.cells[1].textContent, verdict: r.cells[2].textContent}));""")


def chart_points(driver, chart):
    """Points per dataset of window.benchdist.charts[chart]."""
    return js(driver, "const c = window.benchdist.charts[arguments[0]];"
                      "return c ? c.data.datasets.map(d => d.data.length) : null;", chart)


def run(rig, driver, artifacts, log):
    rig.start_standin()
    # Warmup and window long enough for several live seconds to arrive
    # while the epoch runs, short enough to keep the test quick.
    rig.start_coordinator(["--warmup-seconds", "1", "--window-seconds", "6"])
    rig.start_generator("gen-a", concurrency=4)
    rig.start_generator("gen-b", concurrency=4)
    rig.wait_ready(2)

    def wait(condition, what, timeout=30):
        return wait_until(condition, timeout, what, rig.diagnostics)

    # 1. Without the token: the prompt, and no data.
    driver.get(rig.coordinator_url("/ui"))
    wait(lambda: driver.find_element("id", "token-panel").is_displayed(), "the token prompt")
    assert not driver.find_element("id", "dashboard").is_displayed(), "the dashboard shows before the token"
    assert js(driver, "return window.benchdist.state") is None, "the page read the state without a token"
    assert js(driver, "return sessionStorage.getItem('benchdist.token')") is None
    browser.screenshot(driver, artifacts, "01-token-prompt")
    log("token prompt shown")

    # 2. The token typed in: the generators appear; the token stays out of the URL.
    driver.find_element("id", "token-input").send_keys(TOKEN)
    driver.find_element("id", "token-submit").click()
    wait(lambda: sorted(js(driver, "return [...document.querySelectorAll('#generators tbody tr')]"
                                   ".map(r => r.dataset.generator)")) == ["gen-a", "gen-b"],
         "both generators in the table")
    assert TOKEN not in driver.current_url
    assert js(driver, "return sessionStorage.getItem('benchdist.token')") == TOKEN
    states = js(driver, "return [...document.querySelectorAll('#generators tbody tr')].map(r => r.cells[2].textContent)")
    assert states == ["ready", "ready"], states
    browser.screenshot(driver, artifacts, "02-generators")
    log("generators shown")

    # 3. An epoch started through the API: the live TPS chart gets points
    # while it runs (read from the chart's own data).
    epoch = rig.start_epoch({"label": HOSTILE_LABEL})

    def live_points_while_running():
        running = js(driver, "const l = window.benchdist.live; return !!(l && l.running && l.epoch === arguments[0]);",
                     epoch)
        points = chart_points(driver, "tps")
        return running and points and points[0] >= 2 and points[1] >= 2 and points
    points = wait(live_points_while_running, "server and client points in the live TPS chart while the epoch runs")
    latency = chart_points(driver, "latency")
    assert latency[0] >= 2 and latency[1] >= 2, f"latency chart points: {latency}"
    browser.screenshot(driver, artifacts, "03-live-epoch")
    log(f"live chart points while running: TPS {points}, latency {latency}")

    # 4. Its verdict in the history, the hostile label as text.
    result = rig.wait_result(epoch)
    wait(lambda: any(r["epoch"] == str(epoch) and r["verdict"].startswith(result["verdict"])
                     for r in history(driver)), f"epoch {epoch}'s verdict in the history")
    row = next(r for r in history(driver) if r["epoch"] == str(epoch))
    assert row["label"] == HOSTILE_LABEL, row
    assert js(driver, "return document.querySelectorAll('img').length") == 0, "a label became an element"
    assert js(driver, "return window.__benchdistPwned") is None, "a label ran a script"
    title = js(driver, "return document.getElementById('live-title').textContent")
    assert HOSTILE_LABEL in title, title
    browser.screenshot(driver, artifacts, "04-history")
    log(f"epoch {epoch}: verdict {result['verdict']} in the history, hostile label shown as text")

    # 5. The page's start button, with a label, window and warmup.
    wait(lambda: driver.find_element("id", "start-button").is_enabled(), "the start button enabled (idle)")
    driver.find_element("id", "start-label").send_keys(BUTTON_LABEL)
    driver.find_element("id", "start-window").send_keys("1")
    driver.find_element("id", "start-warmup").send_keys("0")
    driver.find_element("id", "start-button").click()
    row = wait(lambda: next((r for r in history(driver) if r["label"] == BUTTON_LABEL and r["verdict"]), None),
               "the verdict of the epoch started by the button", timeout=45)
    button_epoch = int(row["epoch"])
    status, stored = rig.call("GET", f"/admin/results/{button_epoch}")
    assert status == 200 and stored["label"] == BUTTON_LABEL, (status, stored)
    assert stored["windowSeconds"] == 1, stored["windowSeconds"]
    assert row["verdict"].startswith(stored["verdict"]), (row, stored["verdict"])
    log(f"button: epoch {button_epoch}, verdict {stored['verdict']}")

    # 6. A sweep run by bench-dist-control: its curve on the page.
    started = time.monotonic()
    sweep = subprocess.run(
        [rig.tool("bench-dist-control"), "--coordinator-url", rig.coordinator_url(), "sweep",
         "--vary", "connections=2,4", "--warmup", "0", "--window", "1", "--campaign-id", "dashboard-sweep",
         "--campaign-dir", os.path.join(rig.dir.name, "control-campaigns")],
        env=dict(os.environ, BENCH_DIST_TOKEN=TOKEN), capture_output=True, text=True, timeout=120)
    assert sweep.returncode == 0, f"sweep exited {sweep.returncode}:\n{sweep.stdout}\n{sweep.stderr}"
    assert "warning" not in sweep.stderr, sweep.stderr
    log(f"sweep ran in {time.monotonic() - started:.1f} s")
    wait(lambda: js(driver, "const c = window.benchdist.campaign; return c && c.campaign === 'dashboard-sweep'"
                            " && c.status === 'complete'"), "the sweep's campaign on the page")
    wait(lambda: sum(chart_points(driver, "campaign") or []) == 2, "the sweep's two points in the curve")
    x_title = js(driver, "return window.benchdist.charts.campaign.options.scales.x.title.text")
    assert x_title == "connections", x_title
    xs = js(driver, "return window.benchdist.charts.campaign.data.datasets[0].data.map(p => p.x)")
    assert xs == [2, 4], xs
    driver.execute_script("document.getElementById('campaign-panel').scrollIntoView()")
    browser.screenshot(driver, artifacts, "05-campaign")
    log("campaign curve shown")

    # 7. Nothing went wrong in the page.
    errors = browser.console_errors(driver)
    assert not errors, f"console errors: {errors}"
    driver.execute_script("window.scrollTo(0, 0)")
    browser.screenshot(driver, artifacts, "06-final")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", required=True, help="the build's bin/ directory")
    parser.add_argument("--artifacts", required=True, help="where screenshots go")
    args = parser.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    began = time.monotonic()

    def log(message):
        print(f"[{time.monotonic() - began:6.1f} s] {message}", flush=True)

    try:
        driver = browser.start_chromium()
    except browser.BrowserUnavailable as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    try:
        with Rig(args.bin_dir, token=TOKEN, tag="dashboard") as rig:
            try:
                run(rig, driver, args.artifacts, log)
            except BaseException:
                try:
                    browser.screenshot(driver, args.artifacts, "failure")
                    print("console:", driver.get_log("browser"), file=sys.stderr)
                except Exception as e:  # the browser itself may be the failure
                    print(f"(no failure screenshot: {e})", file=sys.stderr)
                raise
    finally:
        browser.stop_chromium(driver)
    log(f"passed; screenshots in {args.artifacts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
