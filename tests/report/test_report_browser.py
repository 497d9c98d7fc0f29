"""The report in a real browser: headless Chromium opens it from a file:// URL.

Driven by the ``playwright`` package against Debian's ``chromium``
(``executable_path``); no browser is downloaded (``playwright install`` is
never run). Asserts no console errors, no page errors, no request other than
the file itself, every image decoded, and a screenshot that is not blank.

Skipped only outside CI when Chromium or playwright is missing; with CI=true
a missing browser fails the test (.ci/run installs it).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import spatialopt
from spatialopt.report import write_report

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _require_browser() -> str:
    in_ci = os.environ.get("CI", "").lower() == "true"
    executable = _chromium()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if in_ci:
            pytest.fail("playwright is not installed (pip install '.[test]')")
        pytest.skip("playwright is not installed (pip install '.[test]')")
    if executable is None:
        if in_ci:
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return executable


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_browser()  # skip (or fail in CI) before spending a solve
    folder = tmp_path_factory.mktemp("browser") / "tut"
    spatialopt.solve(spatialopt.load(TUTORIAL)).write(folder)
    return write_report(folder).html


def test_report_renders_offline_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    executable = _require_browser()
    from PIL import Image
    from playwright.sync_api import sync_playwright

    url = report.resolve().as_uri()
    requests: list[str] = []
    failed: list[str] = []
    console: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, timeout=60_000)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            context.on("request", lambda r: requests.append(r.url))
            context.on("requestfailed", lambda r: failed.append(r.url))
            page = context.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            response = page.goto(url, wait_until="load", timeout=30_000)
            assert response is None or response.ok
            title = page.title()
            headings = page.locator("h2").all_inner_texts()
            images_ok = page.evaluate(
                "Array.from(document.images).every(i => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100)"
            )
            n_images = page.evaluate("document.images.length")
            shot = page.screenshot(full_page=True)
        finally:
            browser.close()

    assert console == [] and errors == [], (console, errors)
    assert failed == []
    assert requests == [url], f"the report made requests besides itself: {requests}"
    assert title == "Relocation plan: tutorial"
    assert "Summary" in headings and "Flow map" in headings and "Cost breakdown" in headings
    assert n_images >= 4 and images_ok
    with Image.open(io.BytesIO(shot)) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int64)
    assert pixels.shape[0] > 2000  # the whole page, not the first screen
    colours = np.unique((pixels[::3, ::3] * [65536, 256, 1]).sum(axis=-1))
    assert pixels.std() > 15 and len(colours) > 100  # not blank: text, maps and charts were painted
    (tmp_path / "report.png").write_bytes(shot)
