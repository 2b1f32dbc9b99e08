"""Browser test of `bench-dist-control report`: real epochs and a real sweep
on the stand-in, the report built from the coordinator's results directory,
opened in headless Chromium from file:// (no server, no network).

Asserts: every chart canvas has pixels drawn, the console has no error (a
Content-Security-Policy violation would be one), a label made of HTML is
shown as text and runs nothing, the CSV has one row per epoch and the
markdown a row per epoch. Saves screenshots to the artefacts directory.

Run by CTest (label `browser`) under /usr/bin/python3:
  report_test.py --bin-dir build/ci/bin --artifacts build/ci/artifacts/report
A Chromium that cannot start fails the test with the reason.
"""

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "python"))
import benchdist_rig  # noqa: E402
import browser  # noqa: E402

# A label a page that used innerHTML would run: it changes the title and adds an image.
HOSTILE_LABEL = "</script><img src=x onerror=\"document.title='pwned'\"><b>bold</b> \"q\", x"


def control(rig, *args, timeout=120, ok=(0,)):
    """Runs bench-dist-control; returns its stdout, raises with everything
    when its exit code is not in `ok`."""
    argv = [rig.tool("bench-dist-control"), "--coordinator-url", rig.coordinator_url(), *args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=rig.dir.name)
    if p.returncode not in ok:
        raise AssertionError(f"{' '.join(argv)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}\n"
                             f"{rig.diagnostics()}")
    return p.stdout


def drawn_pixels(driver):
    """{canvas id: [pixels drawn (alpha > 0), pixels in a series colour]}:
    the second count is only the data's lines and points, not axes or text
    (drawn in greys), so a chart whose series stayed empty has 0."""
    return driver.execute_script("""
        const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2']
            .map(h => [1, 3, 5].map(i => parseInt(h.substr(i, 2), 16)));
        const out = {};
        for (const c of document.querySelectorAll('canvas')) {
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let drawn = 0, series = 0;
            for (let i = 0; i < data.length; i += 4) {
                if (data[i + 3] === 0) continue;
                drawn++;
                if (data[i + 3] > 200 && palette.some(p => Math.abs(p[0] - data[i]) < 12 &&
                        Math.abs(p[1] - data[i + 1]) < 12 && Math.abs(p[2] - data[i + 2]) < 12)) series++;
            }
            out[c.id] = [drawn, series];
        }
        return out;""")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--artifacts", required=True)
    args = parser.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    started = time.monotonic()

    with benchdist_rig.Rig(args.bin_dir, tag="report") as rig:
        rig.start_standin()
        rig.start_coordinator(["--window-seconds", "2", "--warmup-seconds", "0.5"])
        for gen in ("gen-a", "gen-b"):
            rig.start_generator(gen, concurrency=8)
        rig.wait_ready(2)
        # One epoch with a hostile label, then a 2 x 2 sweep: connections x
        # contention. Exit 1 is an invalid verdict (a loaded machine can
        # spoil an epoch; the sweep retries it): the report shows those too.
        control(rig, "start-epoch", "--label", HOSTILE_LABEL, "--timeout", "60", ok=(0, 1))
        control(rig, "sweep", "--vary", "connections=2,16", "--vary", "alpha=0,1.5", "--warmup", "0.5",
                "--window", "2", "--campaign-dir", rig.results_dir, "--campaign-id", "browser-sweep",
                "--timeout", "60", timeout=300, ok=(0, 1))
        epochs_done = time.monotonic()
        results = sorted(f for f in os.listdir(rig.results_dir) if "-epoch-" in f and f.endswith(".json"))
        n = len(results)
        assert n >= 5, results

        html = os.path.join(args.artifacts, "report.html")
        out = control(rig, "report", rig.results_dir, "--out", html)
        assert f"{n} epochs, 1 campaign" in out, out
        csv_text = control(rig, "report", rig.results_dir, "--format", "csv", "--out", "-")
        rows = list(csv.DictReader(io.StringIO(csv_text, newline="")))
        assert [r["epoch"] for r in rows] == [str(i) for i in range(1, n + 1)], rows
        assert rows[0]["label"] == HOSTILE_LABEL, rows[0]["label"]
        assert all(r["campaign"] == "browser-sweep" for r in rows[1:]), rows
        assert {r["point"] for r in rows[1:]} == {"connections=2 alpha=0", "connections=2 alpha=1.5",
                                                   "connections=16 alpha=0", "connections=16 alpha=1.5"}
        for r in rows:
            with open(os.path.join(rig.results_dir, os.path.basename(r["file"]))) as f:
                result = json.load(f)
            assert r["verdict"] == result["verdict"], (r, result["verdict"])
            if r["measured"] == "true":
                assert float(r["tps"]) == result["tps"] > 0, r
                assert float(r["p99_us"]) == result["latency"]["p99"] > 0, r
            else:
                assert r["tps"] == "" and r["p99_us"] == "", r
        measured = sum(1 for r in rows if r["measured"] == "true")
        markdown = control(rig, "report", rig.results_dir, "--format", "markdown", "--out", "-")
        assert markdown.count("\n| ") >= 1 + n + 1 + 4, markdown  # epochs table header + rows, points header + rows
        with open(os.path.join(args.artifacts, "report.md"), "w") as f:
            f.write(markdown)
        with open(os.path.join(args.artifacts, "report.csv"), "w") as f:
            f.write(csv_text)

    try:
        driver = browser.start_chromium(width=1400, height=1000)
    except browser.BrowserUnavailable as e:
        raise AssertionError(f"Chromium is needed for this test and did not start: {e}")
    try:
        driver.get("file://" + os.path.abspath(html))
        benchdist_rig.wait_until(lambda: driver.execute_script("return document.readyState") == "complete", 30,
                                 "the report to load")
        pixels = drawn_pixels(driver)
        # 2 campaign charts, the latency percentiles (when an epoch measured), one timeline per epoch.
        assert len(pixels) == 2 + (1 if measured else 0) + n, pixels
        empty = [cid for cid, (drawn, series) in pixels.items() if drawn < 500 or series < 50]
        assert not empty, f"canvases without their data drawn: {empty} ({pixels})"
        errors = browser.console_errors(driver)
        assert not errors, f"console errors: {errors}"
        assert driver.title == "bench-dist report", driver.title
        assert driver.execute_script("return document.querySelectorAll('img, b').length") == 0
        labels = driver.execute_script(
            "return Array.from(document.querySelectorAll('#epochs tbody tr td:nth-child(2)')).map(t => t.textContent)")
        assert labels[0] == HOSTILE_LABEL, labels
        assert driver.execute_script("return document.querySelectorAll('.chart-error').length") == 0
        browser.screenshot(driver, args.artifacts, "report-top")
        driver.execute_script("document.querySelector('section.campaign').scrollIntoView()")
        browser.screenshot(driver, args.artifacts, "report-campaign")
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(height + 120, 8000))
        browser.screenshot(driver, args.artifacts, "report-full")
    finally:
        browser.stop_chromium(driver)
    total = time.monotonic() - started
    print(f"report browser test passed: epochs and sweep {epochs_done - started:.1f} s, total {total:.1f} s; "
          f"screenshots in {args.artifacts}")


if __name__ == "__main__":
    main()
