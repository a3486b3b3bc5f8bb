"""Headless Debian Chromium driven by Selenium, plus the axe-core accessibility check.

Only Debian's ``chromium`` and ``chromium-driver`` are used (scripts/ensure-chromium.sh);
Selenium is pointed at both, so it never fetches a browser or a driver of its own.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

AXE = Path(__file__).parent / "dashboard_assets" / "axe.min.js"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)
#: axe impacts that fail a page.
FAILING = frozenset({"serious", "critical"})

T = TypeVar("T")


def chromium() -> webdriver.Chrome:
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.fail("chromium and chromedriver are missing: run scripts/ensure-chromium.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    chrome.set_script_timeout(30)
    return chrome


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            found = probe()
            if found:
                return found
        except WebDriverException as exc:  # an element replaced while being read
            last = exc
        time.sleep(0.2)
    suffix = f" (last error: {last})" if last else ""
    raise AssertionError(f"timed out waiting for {what}{suffix}")


def axe_violations(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations of the page as it is now."""
    if not driver.execute_script("return typeof window.axe !== 'undefined'"):
        driver.execute_script(AXE.read_text())
    found: list[dict[str, Any]] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        "  .then((r) => done(r.violations), (e) => done([{id: 'axe-error', impact: 'critical',"
        "   help: String(e), nodes: []}]));"
    )
    return [v for v in found if v.get("impact") in FAILING]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
        for v in violations
    )
