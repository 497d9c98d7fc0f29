"""What-if studies on phased plans (spec v2): diff names moves that change period, sweep has per-period
columns, pareto --period traces one milestone. Expected values are worked by hand in the docstrings."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

import pytest
from support import load_dict, write_manifest

import spatialopt
from spatialopt.check import check_solution
from spatialopt.cli import main
from spatialopt.errors import InstanceError
from spatialopt.instance import Instance
from spatialopt.scenarios import diff_plans, pareto_front, run_sweep

EXACT = spatialopt.solver_options(gap=1e-9)
DELTA2 = 1.1 ** -5  # δ_2 at 10 %, periods starting 2020 and 2025


def timing_data(**instance: Any) -> dict[str, Any]:
    """f1 (10 jobs, relocation 50) saves 5 a year at a (cost_index 0.5 against 1), counted to 2030.

    At rate 0 a move in p1 costs 50 − 10·5 = 0, in p2 50 − 5·5 = 25: p1. At rate 0.5 a move in
    p1 costs 50 − 5·Σ_{t=0}^{9} 1.5^-t = 35.26, in p2 1.5^-5·50 − 5·Σ_{t=5}^{9} 1.5^-t = 4.64: p2.
    """
    return {
        "instance": {"name": "timing", "base_year": 2020, "horizon_years": 10, **instance},
        "periods": [{"id": "p1", "end_year": 2025}, {"id": "p2", "end_year": 2030}],
        "types": [{"id": "m", "annual_cost_per_job": 1.0}],
        "sources": [{"city": "s", "target_reduction": 10}],
        "cities": [{"id": "s", "lon": 116.0, "lat": 40.0}, {"id": "a", "lon": 117.0, "lat": 40.0, "cost_index": 0.5}],
        "facilities": [{"id": "f1", "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 50.0}],
    }


def load(data: dict[str, Any]) -> Instance:
    with tempfile.TemporaryDirectory() as folder:
        return load_dict(Path(folder), data)


@pytest.fixture(scope="module")
def timing() -> tuple[Instance, spatialopt.Result, spatialopt.Result]:
    base = load(timing_data())
    late = load(timing_data(discount_rate=0.5))
    return base, spatialopt.solve(base, gap=1e-9), spatialopt.solve(late, gap=1e-9)


def test_diff_reports_a_move_that_changes_period(timing: Any) -> None:
    _, early, late = timing
    assert set(early.assignments["period"]) == {"p1"} and set(late.assignments["period"]) == {"p2"}
    diff = diff_plans(early, late, labels=("rate 0", "rate 0.5"))
    facilities = diff.facilities
    assert facilities[["facility", "change", "a", "b"]].values.tolist() == [["f1", "changes period", "a in p1", "a in p2"]]
    assert "f1 [m from s]: changes period: a in p1 -> a in p2" in diff.text()
    assert not diff.unchanged


def test_diff_reports_a_site_that_opens_in_another_period() -> None:
    a = {"instance": "x", "assignments": [], "sites": [{"type": "m", "city": "a", "period": "p1"}]}
    b = {"instance": "x", "assignments": [], "sites": [{"type": "m", "city": "a", "period": "p2"}]}
    diff = diff_plans(a, b)
    assert diff.sites.values.tolist() == [["m", "a", "opens in p2 instead of p1"]]
    assert "site m at a opens in p2 instead of p1" in diff.text()


def test_diff_of_v11_records_is_unchanged_in_wording() -> None:
    a = {"instance": "x", "assignments": [{"facility": "f", "destination": "a", "units": 1.0}], "sites": []}
    b = {"instance": "x", "assignments": [{"facility": "f", "destination": "b", "units": 1.0}], "sites": []}
    assert diff_plans(a, b).facilities[["change", "a", "b"]].values.tolist() == [["moves elsewhere", "a", "b"]]


def test_sweep_has_per_period_columns(timing: Any) -> None:
    """Base: f1 in p1 (10 residents by p1, spending 50 in p1). Rate 0.5: f1 in p2, the same destination."""
    base, _, _ = timing
    sweep = run_sweep(base, {"late": load(timing_data(discount_rate=0.5))}, workers=1, options=EXACT)
    table = sweep.comparison.set_index("scenario")
    assert table.loc["base", ["moved_s_by_p1", "moved_s_by_p2", "spending_p1", "spending_p2"]].tolist() == \
        [10.0, 10.0, 50.0, 0.0]
    assert table.loc["late", ["moved_s_by_p1", "moved_s_by_p2", "spending_p1", "spending_p2"]].tolist() == \
        [0.0, 10.0, 0.0, 50.0]
    assert table.loc["late", "destinations_changed"] == 0 and table.loc["late", "periods_changed"] == 1
    assert table.loc["late", "changed_facilities"] == "f1"
    assert "spending_p1" in sweep.comparison_text()


def test_sweep_of_a_v11_instance_has_no_period_columns(timing: Any) -> None:
    data = timing_data()
    data.pop("periods")
    data["instance"] = {"name": "timing"}
    base = load(data)
    table = run_sweep(base, {}, workers=1, options=EXACT).comparison
    assert not [c for c in table.columns if "_by_" in c or c.startswith("spending_") or c == "periods_changed"]


def milestone_data() -> dict[str, Any]:
    """Hard target 20 residents, milestone p1 = 0.5 (10 by 2025), rate 10 %: a p2 move costs δ_2 = 0.62092 of it.

    g1 (10 residents, relocation 10, may move only from p2), g2 (10, 20), g3 (10, 30); no operating
    cost. Tracing p1's milestone at scale λ (λ·10 residents by 2025, λ ≤ 1 / 0.5 = 2):
      λ = 0:       g1 and g2 in p2:                (10 + 20)·δ_2 = 18.6276, 0 moved by 2025;
      λ = 0.5, 1:  g2 in p1, g1 in p2:             20 + 10·δ_2 = 26.2092, 10 by 2025;
      λ = 1.5, 2:  g2 and g3 in p1 (20 ≥ target):  50, 20 by 2025.
    """
    return {
        "instance": {"name": "milestone-front", "base_year": 2020, "horizon_years": 10, "discount_rate": 0.1},
        "periods": [{"id": "p1", "end_year": 2025}, {"id": "p2", "end_year": 2030}],
        "types": [{"id": "m"}],
        "sources": [{"city": "s", "target_reduction": 20, "milestones": {"p1": 0.5}}],
        "cities": [{"id": "s", "lon": 116.0, "lat": 40.0}, {"id": "a", "lon": 117.0, "lat": 40.0}],
        "facilities": [
            {"id": "g1", "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 10.0, "earliest": "p2"},
            {"id": "g2", "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 20.0},
            {"id": "g3", "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 30.0},
        ],
    }


@pytest.mark.parametrize("builder", ["matrix", "pyomo"])
def test_pareto_traces_one_milestone(builder: str) -> None:
    instance = load(milestone_data())
    front = pareto_front(instance, 5, period="p1", workers=1, options=EXACT, builder=builder)
    t = front.table
    assert front.max_scale == pytest.approx(2.0)
    assert t["target_scale"].tolist() == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    assert t["target_residents"].tolist() == pytest.approx([0.0, 5.0, 10.0, 15.0, 20.0])
    assert t["moved_residents"].tolist() == pytest.approx([0.0, 10.0, 10.0, 20.0, 20.0])
    expected = [30 * DELTA2, 20 + 10 * DELTA2, 20 + 10 * DELTA2, 50.0, 50.0]
    assert t["objective"].tolist() == pytest.approx(expected, rel=1e-9)
    for i, result in enumerate(front.results):
        point = front.point_instance(i)
        assert point.sources["s"].milestones["p1"] == pytest.approx(0.5 * t["target_scale"][i])
        assert point.sources["s"].target_persons == 20  # the final target is not scaled
        report = check_solution(point, result.to_solution_dict())
        assert report.ok, report.violations


def test_pareto_period_refuses_the_last_period_and_unknown_ids() -> None:
    instance = load(milestone_data())
    for bad in ("p2", "2040"):
        with pytest.raises(InstanceError, match="--period"):
            pareto_front(instance, 3, period=bad, workers=1)


def test_cli_pareto_period(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "in", milestone_data())
    out = tmp_path / "front"
    code = main(["pareto", str(manifest), "--period", "p1", "--points", "3", "--workers", "1", "--gap", "1e-9",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr()
    with open(out / "pareto.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["moved_residents"]) for r in rows] == [0.0, 10.0, 20.0]
    assert main(["pareto", str(manifest), "--period", "nope", "--out", str(tmp_path / "bad")]) == 2
    assert "--period" in capsys.readouterr().err
