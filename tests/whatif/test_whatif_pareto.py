"""The cost–residents Pareto front: endpoints, monotonicity, every point checked, warm equals cold.

The hand instance (docstring of ``front_data``): moving costs money, so the
target binds all along the front and the optimum at each scale is a small
knapsack one can follow by hand.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
from pathlib import Path
from typing import Any

import pytest
from support import load_dict

import spatialopt
from spatialopt.check import check_solution
from spatialopt.cli import main
from spatialopt.scenarios import pareto_front
from spatialopt.scenarios.pareto import _point_instance, _scaled_changes

EXACT = spatialopt.solver_options(gap=1e-9)


def front_data(**extra: Any) -> dict[str, Any]:
    """Source s (hard target 100 residents), destinations a (east) and b (west); arc costs:

    f1 40 residents for 4 at a, f2 60 for 9 at b, f3 30 for 2 at a, f4 50 for 10 at b,
    g (2 units) 20 each for 3 at a or b. Everything together moves 220 residents, so the
    largest scale is 2.2. Second source t (soft target 30, penalty 1/person): h 30 for 5 at a.
    """
    data: dict[str, Any] = {
        "instance": {"name": "front", "cost_unit": "CNY million"},
        "types": [{"id": "t"}],
        "sources": [{"city": "s", "target_reduction": 100}],
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0, "tier": "core"},
            {"id": "a", "lon": 117.0, "lat": 40.0, "tier": "large", "region": "east"},
            {"id": "b", "lon": 116.0, "lat": 41.0, "tier": "medium", "region": "west"},
        ],
        "facilities": [
            {"id": "f1", "origin": "s", "type": "t", "jobs": 40},
            {"id": "f2", "origin": "s", "type": "t", "jobs": 60},
            {"id": "f3", "origin": "s", "type": "t", "jobs": 30},
            {"id": "f4", "origin": "s", "type": "t", "jobs": 50},
            {"id": "g", "origin": "s", "type": "t", "jobs": 20, "count": 2},
        ],
        "arcs": [
            {"facility": "f1", "destination": "a", "cost": 4.0},
            {"facility": "f2", "destination": "b", "cost": 9.0},
            {"facility": "f3", "destination": "a", "cost": 2.0},
            {"facility": "f4", "destination": "b", "cost": 10.0},
            {"facility": "g", "destination": "a", "cost": 3.0},
            {"facility": "g", "destination": "b", "cost": 3.0},
        ],
    }
    data.update(extra)
    return data


RESIDENTS = {"f1": 40, "f2": 60, "f3": 30, "f4": 50, "g": 20}
COST = {"f1": 4.0, "f2": 9.0, "f3": 2.0, "f4": 10.0, "g": 3.0}


def cheapest(level: float) -> tuple[float, float]:
    """(cost, residents moved) of the cheapest plan of ``front_data`` moving at least ``level``, by enumeration."""
    best = None
    for units in itertools.product((0, 1), (0, 1), (0, 1), (0, 1), (0, 1, 2)):
        plan = dict(zip(RESIDENTS, units))
        moved = sum(RESIDENTS[f] * u for f, u in plan.items())
        cost = sum(COST[f] * u for f, u in plan.items())
        if moved >= level - 1e-9 and (best is None or (cost, -moved) < (best[0], -best[1])):
            best = (cost, moved)
    assert best is not None
    return best


def two_sources(tmp_path: Path) -> spatialopt.Instance:
    data = front_data()
    data["cities"].append({"id": "t", "lon": 115.0, "lat": 40.0, "tier": "core"})
    data["sources"].append({"city": "t", "target_reduction": 30, "soft": True, "shortfall_penalty": 1.0})
    data["facilities"].append({"id": "h", "origin": "t", "type": "t", "jobs": 30})
    data["arcs"].append({"facility": "h", "destination": "a", "cost": 5.0})
    return load_dict(tmp_path, data)


def assert_front_is_sound(front: Any, base: spatialopt.Instance) -> None:
    table = front.table
    assert list(table["point"]) == list(range(1, len(table) + 1))
    assert (table["status"] == "optimal").all() or set(table["status"]) <= {"optimal", "feasible"}
    # Cost never decreases as the scaled targets grow...
    objectives = table["objective"].tolist()
    assert all(b >= a - 1e-9 * max(1.0, abs(a)) for a, b in zip(objectives, objectives[1:]))
    # ... nor as residents moved grow (sorted by what actually moved).
    by_moved = table.sort_values(["moved_residents", "objective"])
    assert by_moved["objective"].is_monotonic_increasing
    for i, result in enumerate(front.results):
        point = front.point_instance(i)  # validated through with_changes
        fast = _point_instance(base, front.scaled, front.targets, float(table["target_scale"][i]))
        assert dict(fast.sources) == dict(point.sources) and fast.sha256 == point.sha256
        assert result.instance.sha256 == point.sha256
        report = check_solution(point, result.to_solution_dict())
        assert report.ok, report.violations
        assert table["moved_residents"][i] >= table["target_residents"][i] - 1e-6


def test_front_endpoints_monotone_checked_and_equal_to_cold_solves(tmp_path: Path) -> None:
    base = load_dict(tmp_path, front_data())
    front = pareto_front(base, 5, workers=1, options=EXACT)
    table = front.table
    assert front.max_scale == pytest.approx(2.2)
    assert table["target_scale"].tolist() == pytest.approx([0.0, 0.55, 1.1, 1.65, 2.2])
    assert_front_is_sound(front, base)
    # Each point is the cheapest plan moving at least scale x 100 residents (enumerated).
    reference = [cheapest(scale * 100) for scale in table["target_scale"]]
    assert table["objective"].tolist() == pytest.approx([cost for cost, _ in reference])
    assert table["objective"][0] == 0.0 and table["objective"][4] == pytest.approx(31.0)
    # Scale 0 is the base with every target at 0.
    untargeted = spatialopt.solve(base.with_changes(set={"sources.s.target_reduction": 0}), highs_options=EXACT)
    assert table["objective"][0] == pytest.approx(untargeted.objective)
    # Warm (one persistent solver) and cold (a fresh solve per point) agree.
    for i in range(len(table)):
        cold = spatialopt.solve(front.point_instance(i), highs_options=EXACT)
        assert cold.objective == pytest.approx(table["objective"][i], abs=1e-7)
    assert (table["warm_start"] == "accepted").all()  # the top point's start is the largest-scale plan
    assert table["on_front"].all() and (table["plan_from"] == table["point"]).all()


def test_pyomo_persistent_builder_traces_the_same_front(tmp_path: Path) -> None:
    base = load_dict(tmp_path, front_data())
    matrix = pareto_front(base, 4, workers=1, options=EXACT)
    pyomo = pareto_front(base, 4, workers=1, options=EXACT, builder="pyomo")
    assert pyomo.max_scale == pytest.approx(matrix.max_scale)
    assert pyomo.table["objective"].tolist() == pytest.approx(matrix.table["objective"].tolist())
    assert (pyomo.table["warm_start"] == "accepted").all()
    assert_front_is_sound(pyomo, base)


def test_all_sources_scaled_and_soft_targets_made_hard(tmp_path: Path) -> None:
    base = two_sources(tmp_path)
    front = pareto_front(base, 3, workers=1, options=EXACT)
    assert front.scaled == ("s", "t") and front.max_scale == pytest.approx(1.0)  # t moves at most 30 of 30
    assert_front_is_sound(front, base)
    top = front.point_instance(len(front.table) - 1)
    assert not top.sources["t"].soft and top.sources["t"].target_persons == pytest.approx(30.0)
    assert front.table["shortfall"].tolist() == [0.0, 0.0, 0.0]
    # One source only: t keeps its soft target, s is traced.
    only = pareto_front(base, 3, source="s", workers=1, options=EXACT)
    assert only.scaled == ("s",) and only.max_scale == pytest.approx(2.2)
    assert only.point_instance(0).sources["t"] == base.sources["t"]
    assert_front_is_sound(only, base)


def test_a_dearer_point_takes_its_upper_neighbours_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate a solver that stops early at the middle point: the repair keeps the front monotone."""
    from spatialopt.scenarios import front_solver

    base = load_dict(tmp_path, front_data())
    real = front_solver._chain_matrix

    def worse_middle(instance, derived, targets, scales, start, options, on_point):
        def swap(scale, run, warm):
            if scale == scales[2]:  # scales descend: 2.2, 1.65, 1.1, ...
                heavy = {**run.values, "x": run.values["x"].copy()}
                heavy["x"][:] = [1, 1, 1, 1, 2, 0]  # everything moves: feasible at 1.1, dearer than 1.65's plan
                run = dataclasses.replace(run, values=heavy, status=spatialopt.SolveStatus.FEASIBLE)
            on_point(scale, run, warm)

        return real(instance, derived, targets, scales, start, options, swap)

    monkeypatch.setattr(front_solver, "_chain_matrix", worse_middle)
    front = pareto_front(base, 5, workers=1, options=EXACT)
    table = front.table
    assert table["plan_from"].tolist() == [1, 2, 4, 4, 5]
    assert table["objective"][2] == pytest.approx(cheapest(165)[0]) and table["status"][2] == "feasible"
    assert table["objective"][2] < 31.0
    assert_front_is_sound(front, base)


def test_changes_of_a_point_are_the_scaled_targets(tmp_path: Path) -> None:
    base = load_dict(tmp_path, front_data())
    changes = _scaled_changes(("s",), {"s": 100.0}, 0.5)
    assert changes.as_dict() == {"set": {"sources.s.soft": False, "sources.s.target_reduction": 50.0}}
    fast = _point_instance(base, ("s",), {"s": 100.0}, 0.5)  # what the front uses, without re-validating
    slow = base.with_changes(changes)
    assert dict(fast.sources) == dict(slow.sources) and fast.sha256 == slow.sha256


def test_cli_writes_csv_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_dict(tmp_path / "inst", front_data())  # writes inst/instance.toml
    out = tmp_path / "front"
    code = main(["pareto", str(tmp_path / "inst" / "instance.toml"), "--points", "3", "--out", str(out),
                 "--workers", "1", "--gap", "1e-9"])
    stdout, _ = capsys.readouterr()
    assert code == 0, stdout
    assert "[1/3] scale 2.2: optimal" in stdout and "largest target scale reached: 2.2" in stdout
    with (out / "pareto.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["point"] for r in rows] == ["1", "2", "3"]
    assert {"target_scale", "moved_residents", "objective", "relocation", "status", "seconds"} <= set(rows[0])
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_dict(tmp_path / "inst", front_data())
    manifest = str(tmp_path / "inst" / "instance.toml")
    assert main(["pareto", manifest, "--source", "nowhere", "--workers", "1"]) == 2
    assert "--source='nowhere', expected a source city id (s)" in capsys.readouterr().err
    assert main(["pareto", manifest, "--points", "1"]) == 2
    # A base that no plan satisfies, whatever the target: a must-move facility with nowhere to go.
    data = front_data()
    data["facilities"].append({"id": "stuck", "origin": "s", "type": "t", "jobs": 1, "must_move": True})
    load_dict(tmp_path / "stuck", data)
    code = main(["pareto", str(tmp_path / "stuck" / "instance.toml"), "--workers", "1", "--out", str(tmp_path / "x")])
    out, _ = capsys.readouterr()
    assert code == 3 and "no front: infeasible" in out and not (tmp_path / "x").exists()
