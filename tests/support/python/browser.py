"""Headless Chromium for the browser tests, through Selenium and Debian's
chromium-driver. A browser that cannot start fails the test with the reason
(never a silent skip). Console errors are collected so a test can assert
there were none, and screenshots go to the test's artefacts directory.
"""

import os
import shutil
import tempfile

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


class BrowserUnavailable(RuntimeError):
    pass


def start_chromium(width=1400, height=1000):
    """A headless Chromium WebDriver; raises BrowserUnavailable naming what is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        raise BrowserUnavailable(f"Selenium is not importable ({e}): install Debian's python3-selenium "
                                 "(scripts/setup.sh does) and run the test with /usr/bin/python3")
    for path, package in ((CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")):
        if not os.access(path, os.X_OK):
            raise BrowserUnavailable(f"{path} is missing: install Debian's {package} (scripts/setup.sh does)")
    profile = tempfile.mkdtemp(prefix="benchdist-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as e:
        shutil.rmtree(profile, ignore_errors=True)
        raise BrowserUnavailable(f"headless Chromium did not start: {e}")
    driver.set_page_load_timeout(30)
    driver._benchdist_profile = profile
    return driver


def stop_chromium(driver):
    try:
        driver.quit()
    finally:
        shutil.rmtree(getattr(driver, "_benchdist_profile", ""), ignore_errors=True)


def console_errors(driver):
    """The console's SEVERE entries since the last call (the log is drained)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def screenshot(driver, artifacts_dir, name):
    """Saves a PNG screenshot as <artifacts_dir>/<name>.png; returns its path."""
    os.makedirs(artifacts_dir, exist_ok=True)
    path = os.path.join(artifacts_dir, name + ".png")
    if not driver.save_screenshot(path):
        raise AssertionError(f"could not save the screenshot {path}")
    return path
