"""``spatialopt report A --compare B``: two plans side by side with a difference map.

Plan A is the tutorial, plan B the tutorial with a larger target for Beijing
(more residents move, so some flows grow, others shift). Every expected
figure is recomputed here from the two folders' own assignments.csv and
solution.json, independently of the page's code.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import spatialopt
from spatialopt.cli import main
from spatialopt.report_compare import flow_changes
from spatialopt.scenarios.diff import diff_plans

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("compare")
    shutil.copytree(TUTORIAL.parent, base / "more")
    manifest = base / "more" / "instance.toml"
    text = manifest.read_text()
    assert "target_reduction = 60_000" in text
    manifest.write_text(text.replace("target_reduction = 60_000", "target_reduction = 90_000", 1))
    spatialopt.solve(spatialopt.load(TUTORIAL), gap=1e-9).write(base / "base")
    spatialopt.solve(spatialopt.load(manifest), gap=1e-9).write(base / "more-target")
    return base / "base", base / "more-target"


def _section(text: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">(.*?)</section>', text, re.S)
    assert found, f"no section {anchor}"
    return found.group(1)


def _table_rows(section: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.S)
    assert body
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body.group(1))]


def test_flow_changes_by_hand() -> None:
    """Four pairs, worked by hand: one only in A, one only in B, one that grows, one the same (split rows summed)."""
    a = pd.DataFrame({"origin": ["o", "o", "o", "o"], "destination": ["x", "y", "z", "z"],
                      "residents": [10.0, 5.0, 3.0, 4.0]})
    b = pd.DataFrame({"origin": ["o", "o", "o"], "destination": ["y", "z", "w"], "residents": [8.0, 7.0, 2.0]})
    got = flow_changes(a, b).set_index("destination")
    assert got.loc["x", "change"] == "removed" and got.loc["x", "delta"] == -10
    assert got.loc["w", "change"] == "added" and got.loc["w", "b"] == 2
    assert got.loc["y", "change"] == "changed" and got.loc["y", "delta"] == 3
    assert got.loc["z", "change"] == "unchanged" and got.loc["z", "a"] == 7
    assert flow_changes(a, None)["change"].tolist() == ["removed"] * 3  # B without a plan: every flow removed
    assert flow_changes(None, None).empty and list(flow_changes(None, None).columns) == [
        "origin", "destination", "a", "b", "change", "delta"]


def test_compare_page_shows_both_plans_and_their_differences(plans: tuple[Path, Path],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    a, b = plans
    assert main(["report", str(a), "--compare", str(b)]) == 0
    assert "compare.html" in capsys.readouterr().out
    assert {p.name for p in a.iterdir()} >= {"compare.html", "difference.png", "difference.svg"}
    assert not (a / "report.html").exists()  # the comparison is written instead of the report
    text = (a / "compare.html").read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in text and "default-src 'none'" in text

    # The flows that differ, recomputed from the two assignments.csv files.
    ra = pd.read_csv(a / "assignments.csv").groupby(["origin", "destination"])["residents"].sum()
    rb = pd.read_csv(b / "assignments.csv").groupby(["origin", "destination"])["residents"].sum()
    both = pd.concat({"a": ra, "b": rb}, axis=1).fillna(0.0)
    differ = both[(both["a"] - both["b"]).abs() > 1e-6 * both.max(axis=1).clip(lower=1)]
    assert len(differ) >= 2  # the larger target changes the plan
    shown = _table_rows(_section(text, "difference"))
    assert len(shown) == len(differ)
    for r in shown:
        _, _, change, x, y, delta = r
        assert change in ("added", "removed", "changed")
        assert float(y.replace(",", "")) - float(x.replace(",", "")) == pytest.approx(
            float(delta.replace(",", "")), abs=1.0)
    assert sorted(round(float(r[5].replace(",", ""))) for r in shown) == sorted(
        round(v) for v in differ["b"] - differ["a"])

    # The facilities and cost rows are the plan diff's (spatialopt.scenarios.diff), named as the report names them.
    diff = diff_plans(a, b)
    facilities = _table_rows(_section(text, "facilities"))
    assert [r[0] for r in facilities] == diff.facilities["facility"].tolist()[:40]
    assert [r[3] for r in facilities] == diff.facilities["change"].tolist()[:40]
    summary = {r[0]: r[1:] for r in _table_rows(_section(text, "summary"))}
    objective = diff.components.set_index("component").loc["objective"]
    assert summary["Objective (CNY million)"][2] == f"{objective['delta']:+,.1f}"
    assert summary["Residents moved"][0] == f"{sum(s['moved_residents'] for s in diff.a['sources']):,.0f}"
    # Both plans' maps side by side, the difference map, and the interactive map's data inline.
    assert _section(text, "side-by-side").count("<img") == 2
    assert "flows-changed" in text and "differencemap" in text


def test_compare_with_itself_and_with_no_plan(plans: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = plans
    out = tmp_path / "same" / "page.html"
    assert main(["report", str(a), "--compare", str(a), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "The two plans move every facility alike." in text and "No facility moves differently." in text
    assert not _section(text, "difference").count("<tbody>")  # no flow differs: no table of differences
    assert (out.parent / "difference.png").is_file()

    # An infeasible plan B: every flow of A is removed.
    shutil.copytree(TUTORIAL.parent, tmp_path / "inst")
    manifest = tmp_path / "inst" / "instance.toml"
    manifest.write_text(manifest.read_text().replace("target_reduction = 60_000", "target_reduction = 6_000_000"))
    result = spatialopt.solve(spatialopt.load(manifest))
    assert result.status.value == "infeasible"
    result.write(tmp_path / "none")
    assert main(["report", str(a), "--compare", str(tmp_path / "none"), "--out", str(tmp_path / "x.html")]) == 0
    rows = _table_rows(_section((tmp_path / "x.html").read_text(encoding="utf-8"), "difference"))
    pairs = pd.read_csv(a / "assignments.csv").groupby(["origin", "destination"]).ngroups
    assert len(rows) == pairs and {r[2] for r in rows} == {"removed"}
    # Neither has a plan: the page still says what each is.
    assert main(["report", str(tmp_path / "none"), "--compare", str(tmp_path / "none"),
                 "--out", str(tmp_path / "y" / "y.html")]) == 0
    text = (tmp_path / "y" / "y.html").read_text(encoding="utf-8")
    assert "A folder without a plan counts as one without flows." in text and "infeasible" in _section(text, "summary")


def test_compare_refuses_to_overwrite_and_names_a_missing_folder(plans: tuple[Path, Path], tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    a, b = plans
    out = tmp_path / "c.html"
    assert main(["report", str(a), "--compare", str(b), "--out", str(out)]) == 0
    before = out.read_bytes()
    assert main(["report", str(a), "--compare", str(b), "--out", str(out)]) == 2
    assert "already exist" in capsys.readouterr().err and out.read_bytes() == before
    assert main(["report", str(a), "--compare", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
