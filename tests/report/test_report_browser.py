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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import spatialopt
from spatialopt.report import write_report
from spatialopt.report_text import chinese_names, cluster_label

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"
CHINA = ROOT / "instances" / "china-2035" / "instance.toml"
CHINA_RESULT = ROOT / "results" / "reference" / "china-2035"
# Where a city of the interactive map is on the screen: Bokeh's own scales of the plot's frame.
WHERE = """([source, id]) => {
  const doc = Bokeh.documents[0];
  const plot = doc.get_model_by_name('flowmap');
  const view = [...Bokeh.index.all_views()].find(v => v.model === plot);
  const data = doc.get_model_by_name(source).data;
  const i = data.id.indexOf(id);
  const box = view.el.getBoundingClientRect();
  return [box.left + view.frame.x_scale.compute(data.x[i]), box.top + view.frame.y_scale.compute(data.y[i])];
}"""
X_RANGE = "[Bokeh.documents[0].get_model_by_name('map-x').start, Bokeh.documents[0].get_model_by_name('map-x').end]"
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


@pytest.fixture(scope="module")
def report_zh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The national reference plan reported in Chinese (its instance carries name_zh)."""
    _require_browser()
    folder = tmp_path_factory.mktemp("browser-zh") / "china"
    shutil.copytree(CHINA_RESULT, folder)
    return write_report(folder, CHINA, lang="zh").html


def _fontconfig(folder: Path) -> dict[str, str]:
    """The environment for Chromium with the CJK font the report depends on (pip) added to the system's fonts.

    A reader's system has its own CJK fonts; a bare CI machine has none, and
    Chinese text would show as boxes in the screenshots.
    """
    from spatialopt.plots import cjk_font_file

    font = cjk_font_file()
    assert font is not None, "pylopdf-fonts-zh-cn is a dependency of spatialopt"
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{font.parent}</dir><cachedir>{folder / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    executable = _require_browser()
    from playwright.sync_api import sync_playwright

    env = _fontconfig(tmp_path_factory.mktemp("fonts"))
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, timeout=60_000, env=env)
        try:
            yield launched
        finally:
            launched.close()


def _open(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """A page showing ``path``, every request it makes, and its console errors and page errors."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    problems: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(path.resolve().as_uri(), wait_until="load", timeout=30_000)
    page.wait_for_function("window.Bokeh !== undefined && Bokeh.documents.length > 0 && "
                           "Bokeh.documents[0].get_model_by_name('flowmap') !== null", timeout=30_000)
    page.locator("#interactive").scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # the first paint of the canvas
    return page, requests, problems


def _hover(page: Any, source: str, city: str) -> str:
    """Move the mouse onto ``city`` (a point of the named Bokeh source) and return the one tooltip shown."""
    x, y = page.evaluate(WHERE, [source, city])
    page.mouse.move(x - 40, y - 40)
    page.mouse.move(x, y, steps=4)
    page.wait_for_timeout(300)
    shown = [t for t in page.locator("div.bk-tooltip-content").all_inner_texts() if t.strip()]
    assert len(shown) == 1, shown  # a city's tooltip alone: flows answer hovers away from their ends
    return shown[0]


def test_hovering_a_city_shows_what_it_receives(report: Path, browser: Any) -> None:
    """Baoding's tooltip carries its row of destinations.csv and its per-type sums of assignments.csv."""
    page, requests, problems = _open(browser, report)
    folder = report.parent
    dest = pd.read_csv(folder / "destinations.csv").set_index("city").loc["baoding"]
    a = pd.read_csv(folder / "assignments.csv")
    per_type = a[a["destination"] == "baoding"].groupby("type")[["residents", "jobs"]].sum()
    assert float(dest["residents_received"]) > 0 and len(per_type)  # the plan sends something to Baoding
    text = _hover(page, "receiving-cities", "baoding")
    assert f"residents received: {dest['residents_received']:,.0f}" in text, text
    assert f"jobs received: {dest['jobs_received']:,.0f}" in text
    for kind, row in per_type.iterrows():
        assert f"{kind}\t" in text and f"{row['residents']:,.0f}\t{row['jobs']:,.0f}" in text, (kind, text)
    for resource in ("residents", "beds"):
        used, cap = float(dest[f"use_{resource}"]), float(dest[f"cap_{resource}"])
        assert f"{resource}\t{used:,.0f} / {cap:,.0f}\t{used / cap:.0%}" in text, (resource, text)
    # Hovering empty sea shows nothing: the tooltip above belongs to the city.
    page.mouse.move(5, 5)
    page.wait_for_timeout(200)
    assert "residents received" not in "\n".join(page.locator("div.bk-tooltip-content").all_inner_texts())
    assert problems == [] and requests == [report.resolve().as_uri()]


def test_cluster_button_zooms_the_map(report_zh: Path, browser: Any) -> None:
    """The national map opens on all of China; the Jingjinji button narrows the view to that cluster."""
    page, requests, problems = _open(browser, report_zh)
    before = page.evaluate(X_RANGE)
    buttons = page.locator("button.bk-btn").all_inner_texts()
    assert buttons[0] == "全部" and "京津冀" in buttons
    page.get_by_role("button", name="京津冀").click()
    page.wait_for_timeout(300)
    after = page.evaluate(X_RANGE)
    assert after != before and after[1] - after[0] < before[1] - before[0], (before, after)
    page.get_by_role("button", name="全部").click()
    page.wait_for_timeout(300)
    assert page.evaluate(X_RANGE) == pytest.approx(before)
    assert problems == [] and requests == [report_zh.resolve().as_uri()]


def test_chinese_report_shows_chinese_names(report_zh: Path, browser: Any) -> None:
    page, requests, problems = _open(browser, report_zh)
    headings = page.locator("h2").all_inner_texts()
    assert "概要" in headings and "交互地图" in headings and "疏解流向图" in headings
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    body = page.locator("main").inner_text()
    names = chinese_names(str(CHINA))  # name_zh of the instance's cities table
    dest = pd.read_csv(report_zh.parent / "destinations.csv").sort_values("residents_received", ascending=False)
    largest = str(dest["city"].iloc[0])
    assert names["beijing-core"] in body and names[largest] in body
    # At national scale a core and its nearest receiving city touch: zoom to the city's cluster first.
    page.get_by_role("button", name=cluster_label(str(dest["cluster"].iloc[0]), "zh")).click()
    page.wait_for_timeout(300)
    text = _hover(page, "receiving-cities", largest)
    assert text.startswith(names[largest]) and f"承接人口: {dest['residents_received'].iloc[0]:,.0f}" in text, text
    assert problems == [] and requests == [report_zh.resolve().as_uri()]


# Words a Chinese page may keep in Latin letters outside data (file names, the solver's and the program's names).
LATIN_OK = {"HiGHS", "UTC", "spatialopt"}
VISIBLE_WORDS = """() => {
  const main = document.querySelector('main').cloneNode(true);
  main.querySelectorAll('code, #files, script, style, .bk-root').forEach(e => e.remove());
  main.querySelector('header p.lead')?.remove();  // the instance's own description
  const alts = [...main.querySelectorAll('img')].map(i => i.alt).join(' ');
  return main.innerText + ' ' + alts;
}"""


def test_chinese_report_has_no_english_words(report_zh: Path, browser: Any) -> None:
    """Every heading, caption, table header, cell word and alt text is Chinese; Latin letters only in data
    (the instance's name and description, file names, the provenance table)."""
    import re

    page, requests, problems = _open(browser, report_zh)
    text = re.sub(r"[\w-]+\.(csv|png|svg|json|gpkg)\b", "", page.evaluate(VISIBLE_WORDS))  # file names
    words = set(re.findall(r"[A-Za-z][A-Za-z_]{2,}", text)) - LATIN_OK - set(re.findall(r"[a-z]+", "china-2035"))
    assert words == set(), sorted(words)
    assert problems == [] and requests == [report_zh.resolve().as_uri()]


def test_report_renders_offline_in_headless_chromium(report: Path, browser: Any, tmp_path: Path) -> None:
    from PIL import Image

    url = report.resolve().as_uri()
    requests: list[str] = []
    failed: list[str] = []
    console: list[str] = []
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        context.on("request", lambda r: requests.append(r.url))
        context.on("requestfailed", lambda r: failed.append(r.url))
        page = context.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        response = page.goto(url, wait_until="load", timeout=30_000)
        assert response is None or response.ok
        page.wait_for_timeout(500)  # Bokeh draws the interactive map after load
        title = page.title()
        headings = page.locator("h2").all_inner_texts()
        images_ok = page.evaluate(
            "Array.from(document.images).every(i => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100)"
        )
        n_images = page.evaluate("document.images.length")
        shot = page.screenshot(full_page=True)
    finally:
        context.close()

    assert console == [] and errors == [], (console, errors)
    assert failed == []
    assert requests == [url], f"the report made requests besides itself: {requests}"
    assert title == "Relocation plan: tutorial"
    assert "Summary" in headings and "Flow map" in headings and "Cost breakdown" in headings
    assert n_images >= 4 and images_ok
    assert "Interactive map" in headings
    with Image.open(io.BytesIO(shot)) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int64)
    assert pixels.shape[0] > 2000  # the whole page, not the first screen
    colours = np.unique((pixels[::3, ::3] * [65536, 256, 1]).sum(axis=-1))
    assert pixels.std() > 15 and len(colours) > 100  # not blank: text, maps and charts were painted
    (tmp_path / "report.png").write_bytes(shot)


# Where the middle of a flow of the difference map is on the screen (its line's middle point, Bokeh's scales).
FLOW_MIDDLE = """([source, i]) => {
  const doc = Bokeh.documents[0];
  const plot = doc.get_model_by_name('differencemap');
  const view = [...Bokeh.index.all_views()].find(v => v.model === plot);
  const data = doc.get_model_by_name(source).data;
  const xs = data.xs[i], ys = data.ys[i], m = Math.floor(xs.length / 2);
  const box = view.el.getBoundingClientRect();
  return [box.left + view.frame.x_scale.compute(xs[m]), box.top + view.frame.y_scale.compute(ys[m])];
}"""


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tutorial (A) against the tutorial with a larger target (B)."""
    from spatialopt.report_compare import write_comparison

    _require_browser()
    base = tmp_path_factory.mktemp("browser-compare")
    shutil.copytree(TUTORIAL.parent, base / "more")
    manifest = base / "more" / "instance.toml"
    manifest.write_text(manifest.read_text().replace("target_reduction = 60_000", "target_reduction = 90_000", 1))
    spatialopt.solve(spatialopt.load(TUTORIAL)).write(base / "a")
    spatialopt.solve(spatialopt.load(manifest)).write(base / "b")
    return write_comparison(base / "a", base / "b").html


def test_comparison_page_offline_and_hovering_a_changed_flow(comparison: Path, browser: Any) -> None:
    """The page makes no request; hovering the largest changed flow shows its residents in A and in B, as the two
    folders' assignments.csv sum them."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    problems: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(comparison.resolve().as_uri(), wait_until="load", timeout=30_000)
        page.wait_for_function("window.Bokeh !== undefined && Bokeh.documents.length > 0 && "
                               "Bokeh.documents[0].get_model_by_name('differencemap') !== null", timeout=30_000)
        page.locator("#interactive-difference").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 100)")
        folder_a, folder_b = comparison.parent, comparison.parent.parent / "b"
        ra = pd.read_csv(folder_a / "assignments.csv").groupby(["origin", "destination"])["residents"].sum()
        rb = pd.read_csv(folder_b / "assignments.csv").groupby(["origin", "destination"])["residents"].sum()
        both = pd.concat({"a": ra, "b": rb}, axis=1).dropna()
        changed = both[(both["a"] - both["b"]).abs() > 1e-6 * both.max(axis=1)]
        assert len(changed)
        (origin, dest), row = max(changed.iterrows(), key=lambda kv: abs(kv[1]["b"] - kv[1]["a"]))
        x, y = page.evaluate(FLOW_MIDDLE, ["flows-changed", 0])  # the largest change comes first
        page.mouse.move(x - 30, y - 30)
        page.mouse.move(x, y, steps=4)
        page.wait_for_timeout(300)
        shown = "\n".join(t for t in page.locator("div.bk-tooltip-content").all_inner_texts() if t.strip())
    finally:
        context.close()
    assert f"A\t{row['a']:,.0f}" in shown and f"B\t{row['b']:,.0f}" in shown, (origin, dest, shown)
    assert f"{row['b'] - row['a']:+,.0f}" in shown
    assert problems == [] and requests == [comparison.resolve().as_uri()]
