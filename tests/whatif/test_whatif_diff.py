"""Plan diffs on hand-made result folders: who moves elsewhere, starts or stops, sites, deltas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from spatialopt.cli import main
from spatialopt.scenarios import diff_plans


def solution(assignments: list[tuple[str, str, float]], sites: list[tuple[str, str]], objective: float,
             components: dict[str, float], moved: float, density_after: float) -> dict[str, Any]:
    return {
        "instance": "hand", "instance_sha256": "", "status": "optimal",
        "objective": objective, "bound": objective, "gap": 0.0, "components": components,
        "assignments": [{"facility": f, "destination": d, "units": u} for f, d, u in assignments],
        "sites": [{"type": t, "city": c} for t, c in sites],
        "sources": [{"city": "s", "target": 100.0, "moved_residents": moved, "shortfall": 0.0,
                     "density_before": 50.0, "density_after": density_after}],
        "solver": {"name": "highs", "version": "1.16.0", "seconds": 0.1, "options": {"mip_rel_gap": 1e-4}},
    }


def folder(path: Path, sol: dict[str, Any], facilities: dict[str, tuple[str, str]] | None = None) -> Path:
    path.mkdir(parents=True)
    (path / "solution.json").write_text(json.dumps(sol), encoding="utf-8")
    if facilities:
        rows = [{"facility": f, "origin": o, "type": t, "destination": d, "units": u}
                for f, d, u in ((a["facility"], a["destination"], a["units"]) for a in sol["assignments"])
                for t, o in [facilities[f]]]
        pd.DataFrame(rows).to_csv(path / "assignments.csv", index=False)
    return path


COMP_A = {"relocation": 10.0, "operating": -4.0, "access": 1.0, "sites": 5.0, "shortfall": 0.0}
COMP_B = {"relocation": 12.5, "operating": -4.0, "access": 0.0, "sites": 6.0, "shortfall": 0.0}
KINDS = {f: ("manufacturing", "s") for f in ("f1", "f2", "f3", "f4", "w")}


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    a = folder(tmp_path / "a", solution(
        [("f1", "x", 1.0), ("f2", "y", 2.0), ("f3", "x", 1.0), ("w", "x", 0.5), ("w", "y", 0.5)],
        [("manufacturing", "x"), ("manufacturing", "y")], 12.0, COMP_A, 120.0, 40.0), KINDS)
    b = folder(tmp_path / "b", solution(
        [("f1", "y", 1.0), ("f3", "x", 1.0), ("f4", "x", 1.0), ("w", "x", 0.25), ("w", "y", 0.75)],
        [("manufacturing", "x"), ("manufacturing", "z")], 14.5, COMP_B, 110.0, 41.5))
    return a, b


def test_diff_finds_every_kind_of_change(folders: tuple[Path, Path]) -> None:
    diff = diff_plans(*folders)
    fac = diff.facilities.set_index("facility")
    assert fac["change"].to_dict() == {"f1": "moves elsewhere", "f2": "stops moving", "w": "units change",
                                       "f4": "starts moving"}
    assert fac.loc["f1", "a"] == "x" and fac.loc["f1", "b"] == "y"
    assert fac.loc["f2", "a"] == "y (2)" and fac.loc["f2", "b"] == "-"
    assert fac.loc["w", "b"] == "x (0.25) + y (0.75)"
    assert fac.loc["f1", "type"] == "manufacturing" and fac.loc["f1", "origin"] == "s"  # from A's assignments.csv
    assert "f3" not in fac.index
    assert diff.sites.to_dict("records") == [{"type": "manufacturing", "city": "z", "change": "opened"},
                                             {"type": "manufacturing", "city": "y", "change": "closed"}]
    comp = diff.components.set_index("component")["delta"].to_dict()
    assert comp == pytest.approx({"objective": 2.5, "relocation": 2.5, "operating": 0.0, "access": -1.0,
                                  "sites": 1.0, "shortfall": 0.0})
    src = diff.sources.set_index("measure")
    assert src.loc["moved_residents", "delta"] == -10.0 and src.loc["density_after", "delta"] == 1.5


def test_same_plan_has_no_differences(folders: tuple[Path, Path]) -> None:
    diff = diff_plans(folders[0], folders[0] / "solution.json")
    assert diff.unchanged and "facilities: no facility moves differently" in diff.text()
    assert "sites: the same" in diff.text() and (diff.components["delta"] == 0).all()


def test_cli_diff_prints_and_writes_csv(folders: tuple[Path, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "diff.csv"
    code = main(["diff", str(folders[0]), str(folders[1]), "--csv", str(csv)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "facilities: 1 moves elsewhere, 1 stops moving, 1 units change, 1 starts moving" in out
    assert "f1 [manufacturing from s]: moves elsewhere: x -> y" in out
    assert "site opened: manufacturing at z" in out and "site closed: manufacturing at y" in out
    assert "relocation" in out and "+2.500" in out
    table = pd.read_csv(csv)
    assert list(table.columns) == ["section", "item", "change", "a", "b", "delta"]
    assert set(table["section"]) == {"component", "source", "facility", "site"}
    assert len(table[table["section"] == "facility"]) == 4


def test_cli_diff_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(tmp_path / "nope"), str(tmp_path / "nope2")]) == 2
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "solution.json").write_text("{}", encoding="utf-8")
    assert main(["diff", str(tmp_path / "broken"), str(tmp_path / "broken")]) == 2
    assert "missing required key" in capsys.readouterr().err
