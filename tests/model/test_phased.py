"""Hand-worked instances, one per rule of spec v2: periods, milestones, discounting, travel time.

Each optimum is derived in its docstring from the spec's formulas (§3, §4)
and the instance is solved with both back ends (highspy matrices and the
Pyomo model), which must agree. Common setting unless said otherwise: one
source ``s`` at (116, 40), one destination ``a`` at (117, 40),
``base_year = 2020``, periods ``p1`` (to 2025) and ``p2`` (to 2030),
``horizon_years = 10``; facilities carry ``fixed_cost`` as their whole
relocation cost r (``cost_per_job_km = 0``) so that ``r_fd = fixed_cost``.
With rate ρ: δ_1 = 1, δ_2 = (1 + ρ)^-5; Y_1 = Σ_{t=0}^{9} (1+ρ)^-t,
Y_2 = Σ_{t=5}^{9} (1+ρ)^-t (10 and 5 at ρ = 0).
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
from support import load_dict

import spatialopt
from spatialopt import SolveStatus
from spatialopt.check import check_solution
from spatialopt.instance import Instance

DELTA2 = 1.1 ** -5  # δ_2 at 10 %
Y1_10 = sum(1.1 ** -t for t in range(10))  # Y_1 at 10 % = 6.759024...
Y2_10 = sum(1.1 ** -t for t in range(5, 10))  # Y_2 at 10 % = 2.589158...


def base(**instance: Any) -> dict[str, Any]:
    return {
        "instance": {"name": "phased", "base_year": 2020, "horizon_years": 10, **instance},
        "periods": [{"id": "p1", "end_year": 2025}, {"id": "p2", "end_year": 2030}],
        "types": [{"id": "m"}],
        "sources": [{"city": "s", "target_reduction": 10}],
        "cities": [{"id": "s", "lon": 116.0, "lat": 40.0, "cost_index": 1.0},
                   {"id": "a", "lon": 117.0, "lat": 40.0, "cost_index": 1.0}],
        "facilities": [{"id": "f1", "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 100.0}],
    }


def load(data: dict[str, Any]) -> Instance:
    with tempfile.TemporaryDirectory() as folder:
        return load_dict(Path(folder), data)


def solve_both(data: dict[str, Any]) -> spatialopt.Result:
    """The plan of the matrix back end, after checking the Pyomo back end reaches the same optimum
    and the checker accepts both plans."""
    instance = load(data)
    result = spatialopt.solve(instance, builder="matrix", gap=1e-9)
    reference = spatialopt.solve(instance, builder="pyomo", gap=1e-9)
    assert result.status == reference.status == SolveStatus.OPTIMAL, (result.status, reference.reasons)
    assert result.objective == pytest.approx(reference.objective, rel=1e-9, abs=1e-9)
    for plan in (result, reference):  # the independent checker (spatialopt.check) verifies every v2 row
        report = check_solution(instance, plan.to_solution_dict())
        assert report.ok, "checker rejected the plan:\n" + "\n".join(report.violations)
    return result


def moves(result: spatialopt.Result) -> set[tuple[str, str, str]]:
    a = result.assignments
    return set(zip(a["facility"], a["destination"], a["period"]))


# -- discounting and milestones ------------------------------------------------------
def test_discount_rate_makes_a_late_move_cheaper() -> None:
    """ρ = 10 %, target 10 = f1's residents: f1 moves in p1 (cost 100) or p2 (δ_2·100 = 62.0921).

    Optimum: p2, objective 100 · 1.1^-5 = 62.09213.
    """
    result = solve_both(base(discount_rate=0.1))
    assert moves(result) == {("f1", "a", "p2")}
    assert result.objective == pytest.approx(100 * DELTA2, rel=1e-9)
    assert result.components["relocation"] == pytest.approx(100 * DELTA2, rel=1e-9)


def test_milestone_forces_an_early_move() -> None:
    """As above with milestones = {p1 = 1.0}: the whole target by 2025, so f1 moves in p1.

    Optimum: 100 (undiscounted, δ_1 = 1), against 62.09 without the milestone.
    The solution's milestone entry: target 10, moved 10 by p1, shortfall 0.
    """
    data = base(discount_rate=0.1)
    data["sources"][0]["milestones"] = {"p1": 1.0}
    result = solve_both(data)
    assert moves(result) == {("f1", "a", "p1")}
    assert result.objective == pytest.approx(100.0, rel=1e-9)
    (entry,) = result.to_solution_dict()["sources"][0]["milestones"]
    assert entry == {"period": "p1", "target": 10.0, "moved_residents": 10.0, "shortfall": 0.0, "density_after": None}


def test_period_budget_splits_moves_across_periods() -> None:
    """ρ = 0; f1, f2 (10 jobs, residents 10, r = 50) both needed (target 20); ``a`` has cost_index 0.5
    and annual_cost_per_job = 1, so each move saves 10 · 0.5 = 5 a year: p_fd1 = -5 · Y_1 = -50,
    p_fd2 = -5 · Y_2 = -25. Per move: p1 costs 50 - 50 = 0, p2 costs 50 - 25 = 25.

    Without a period budget both move in p1 (objective 0); with budget 60 in p1 only one
    relocation (50) fits there: objective 0 + 25 = 25, one move per period, p1's spending 50.
    """
    data = base()
    data["types"][0]["annual_cost_per_job"] = 1.0
    data["cities"][1]["cost_index"] = 0.5
    data["sources"][0]["target_reduction"] = 20
    data["facilities"] = [{"id": f, "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 50.0} for f in ("f1", "f2")]
    free = solve_both(copy.deepcopy(data))
    assert free.objective == pytest.approx(0.0, abs=1e-9)
    assert {p for _, _, p in moves(free)} == {"p1"}
    data["periods"][0]["budget"] = 60.0
    result = solve_both(data)
    assert result.objective == pytest.approx(25.0, rel=1e-9)
    assert sorted(p for _, _, p in moves(result)) == ["p1", "p2"]
    periods = result.to_solution_dict()["periods"]
    assert periods == [
        {"id": "p1", "end_year": 2025, "spending": 50.0, "budget": 60.0, "moved_residents": 10.0},
        {"id": "p2", "end_year": 2030, "spending": 50.0, "budget": None, "moved_residents": 10.0},
    ]


def test_cap_by_period_delays_a_move() -> None:
    """The setting of the period-budget test without a budget, but ``a`` holds 10 residents by
    2025 (cap_by_period p1 -> cap_res_2025 = 10; cap_res = 100 by the end): one move in p1
    (cost 0), the other waits for p2 (cost 25). Optimum 25.
    """
    data = base()
    data["types"][0]["annual_cost_per_job"] = 1.0
    data["cities"][1].update(cost_index=0.5, cap_res=100, cap_res_2025=10)
    data["resources"] = [{"id": "res", "use": "residents", "cap": "cap_res", "cap_by_period": {"p1": "cap_res_2025"}}]
    data["sources"][0]["target_reduction"] = 20
    data["facilities"] = [{"id": f, "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 50.0} for f in ("f1", "f2")]
    result = solve_both(data)
    assert result.objective == pytest.approx(25.0, rel=1e-9)
    assert sorted(p for _, _, p in moves(result)) == ["p1", "p2"]


def test_site_opened_in_period_2_is_used_from_period_2_only() -> None:
    """ρ = 10 %; f1 (10 jobs, r = 0) must move (target 10) to ``a``, where its type needs a site
    (site_cost 100); ``a`` is cheaper to run (cost_index 0.5, annual 1/job: 5 a year saved).

    Plans: site and move in p1: 100 - 5·Y_1 = 100 - 33.795 = 66.205; site and move in p2:
    δ_2·100 - 5·Y_2 = 62.092 - 12.946 = 49.146; site in p1, move in p2: 100 - 12.946 (worse).
    A move in p1 to a site opened only in p2 (62.092 - 33.795 = 28.297) is what site_link
    forbids. Optimum 49.1463: site and move in p2.
    """
    data = base(discount_rate=0.1)
    data["types"][0].update(requires_site=True, site_cost=100.0, annual_cost_per_job=1.0)
    data["cities"][1]["cost_index"] = 0.5
    data["facilities"][0]["fixed_cost"] = 0.0
    result = solve_both(data)
    expected = 100 * DELTA2 - 5 * Y2_10
    assert result.objective == pytest.approx(expected, rel=1e-9)
    assert moves(result) == {("f1", "a", "p2")}
    assert result.to_solution_dict()["sites"] == [{"type": "m", "city": "a", "period": "p2"}]
    assert result.components["sites"] == pytest.approx(100 * DELTA2, rel=1e-9)
    assert result.components["operating"] == pytest.approx(-5 * Y2_10, rel=1e-9)


def test_earliest_latest_window() -> None:
    """ρ = 10 %, r = 100 each, target 20 (both move). Unrestricted, both move in p2 (2 · 62.092).
    f1 has earliest = p2 and f2 latest = p1: f1 in p2 (62.092), f2 in p1 (100): optimum 162.0921.
    """
    data = base(discount_rate=0.1)
    data["sources"][0]["target_reduction"] = 20
    data["facilities"] = [
        {"id": "f1", "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 100.0, "earliest": "p2"},
        {"id": "f2", "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 100.0, "latest": "p1"},
    ]
    result = solve_both(data)
    assert moves(result) == {("f1", "a", "p2"), ("f2", "a", "p1")}
    assert result.objective == pytest.approx(100 + 100 * DELTA2, rel=1e-9)
    free = copy.deepcopy(data)
    for f in free["facilities"]:
        f.pop("earliest", None)
        f.pop("latest", None)
    assert solve_both(free).objective == pytest.approx(200 * DELTA2, rel=1e-9)


def test_must_move_means_moved_by_the_end_of_latest() -> None:
    """f1 must_move with latest = p1 and no target: it moves in p1 at cost 100 though p2 costs 62.09."""
    data = base(discount_rate=0.1)
    data["sources"][0]["target_reduction"] = 0
    data["facilities"][0].update(must_move=True, latest="p1")
    result = solve_both(data)
    assert moves(result) == {("f1", "a", "p1")}
    assert result.objective == pytest.approx(100.0, rel=1e-9)


def test_soft_milestone_pays_its_own_shortfall() -> None:
    """ρ = 10 %; soft source, penalty π = 7 per person, target 10 and milestone 0.5 (5 by p1);
    each target row has its own shortfall u_sp. Plans: no move: 7·(10 + 5) = 105; f1 in p1:
    100; f1 in p2: 62.092 + 7·5 = 97.092 (the p1 milestone missed by 5). Optimum 97.0921,
    shortfall component 35.
    """
    data = base(discount_rate=0.1)
    data["sources"][0].update(soft=True, shortfall_penalty=7.0, milestones={"p1": 0.5})
    result = solve_both(data)
    assert moves(result) == {("f1", "a", "p2")}
    assert result.components["shortfall"] == pytest.approx(35.0, rel=1e-9)
    assert result.objective == pytest.approx(100 * DELTA2 + 35.0, rel=1e-9)
    (entry,) = result.to_solution_dict()["sources"][0]["milestones"]
    assert (entry["target"], entry["moved_residents"], entry["shortfall"]) == (5.0, 0.0, 5.0)


# -- travel time -------------------------------------------------------------------------
def timed(**travel: Any) -> dict[str, Any]:
    """No periods. ``a`` is 100 km from s, ``b`` 40 km (distances table); r = km (1 job, 1/job-km);
    ``a`` runs cheaper: cost_index 0 against 1, annual 10 per job over 10 years: p = -100 at a.
    Costs: a 100 - 100 = 0, b 40. Without a minutes rule the optimum is a (0).
    """
    return {
        "instance": {"name": "timed", "horizon_years": 10},
        "types": [{"id": "m", "cost_per_job_km": 1.0, "annual_cost_per_job": 10.0}],
        "sources": [{"city": "s", "target_reduction": 1}],
        "cities": [{"id": "s", "lon": 116.0, "lat": 40.0, "cost_index": 1.0},
                   {"id": "a", "lon": 117.0, "lat": 40.0, "cost_index": 0.0},
                   {"id": "b", "lon": 116.5, "lat": 40.0, "cost_index": 1.0}],
        "facilities": [{"id": "f1", "origin": "s", "type": "m", "jobs": 1}],
        "distances": [{"from": "s", "to": "a", "km": 100.0}, {"from": "s", "to": "b", "km": 40.0}],
        **({"travel": travel} if travel else {}),
    }


def test_max_minutes_with_travel() -> None:
    """[travel] speed 60 km/h, detour 1.2: a is 60·1.2·100/60 = 120 min away, b 48 min.
    max_minutes = 60 leaves b only: optimum 40 (without the rule, a at 0).
    """
    data = timed(speed_kmh=60.0, detour=1.2)
    assert solve_both(copy.deepcopy(data)).objective == pytest.approx(0.0, abs=1e-9)
    data["types"][0]["max_minutes"] = 60.0
    result = solve_both(data)
    assert set(result.assignments["destination"]) == {"b"}
    assert result.objective == pytest.approx(40.0, rel=1e-9)


def test_distances_minutes_override_travel() -> None:
    """As above, but the distances table times s - a at 55 minutes (a fast train): that wins over
    [travel]'s 120, a is within the hour again, optimum 0 at a. A min_minutes of 50 then drops
    b (48 min): still a.
    """
    data = timed(speed_kmh=60.0, detour=1.2)
    data["types"][0].update(max_minutes=60.0, min_minutes=50.0)
    data["distances"].append({"from": "a", "to": "s", "minutes": 55.0})
    result = solve_both(data)
    assert set(result.assignments["destination"]) == {"a"}
    assert result.objective == pytest.approx(0.0, abs=1e-9)


def test_minutes_from_the_table_alone() -> None:
    """Without [travel], the table times every pair: s - a 70 min, s - b 30 min; max_minutes 60
    leaves b: optimum 40.
    """
    data = timed()
    data["types"][0]["max_minutes"] = 60.0
    data["distances"] += [{"from": "s", "to": "a", "minutes": 70.0}, {"from": "b", "to": "s", "minutes": 30.0}]
    result = solve_both(data)
    assert set(result.assignments["destination"]) == {"b"}
    assert result.objective == pytest.approx(40.0, rel=1e-9)


# -- results ---------------------------------------------------------------------------------
def test_schedule_and_solution_fields() -> None:
    """The period-budget plan: schedule rows per period and source, v2 keys in solution.json."""
    data = base()
    data["types"][0]["annual_cost_per_job"] = 1.0
    data["cities"][1]["cost_index"] = 0.5
    data["sources"][0].update(target_reduction=20, milestones={"p1": 0.5}, core_population=1000, core_area_km2=10)
    data["periods"][0]["budget"] = 60.0
    data["facilities"] = [{"id": f, "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 50.0} for f in ("f1", "f2")]
    result = solve_both(data)
    schedule = result.schedule
    assert list(schedule["period"]) == ["p1", "p2"]
    assert list(schedule["residents_moved"]) == [10.0, 10.0]
    assert list(schedule["residents_moved_by_end"]) == [10.0, 20.0]
    assert list(schedule["target"]) == [10.0, 20.0]
    assert list(schedule["density_after"]) == [99.0, 98.0]
    solution = result.to_solution_dict()
    assert list(solution) == ["instance", "instance_sha256", "status", "objective", "bound", "gap", "components",
                              "assignments", "sites", "sources", "periods", "solver"]
    assert all(list(a) == ["facility", "destination", "period", "units"] for a in solution["assignments"])
    assert solution["sources"][0]["milestones"] == [
        {"period": "p1", "target": 10.0, "moved_residents": 10.0, "shortfall": 0.0, "density_after": 99.0}]
    assert "schedule (residents moved" in result.summary()
    assert list(result.assignments.columns[:5]) == ["facility", "origin", "type", "destination", "period"]


def test_no_solution_has_empty_periods_and_milestones() -> None:
    """Infeasible (milestone 1.0 by p1 but f1 may only move from p2): periods [] and milestones []."""
    data = base()
    data["sources"][0]["milestones"] = {"p1": 1.0}
    data["facilities"][0]["earliest"] = "p2"
    result = spatialopt.solve(load(data))
    assert result.status == SolveStatus.INFEASIBLE
    solution = result.to_solution_dict()
    assert solution["periods"] == [] and solution["sources"][0]["milestones"] == []
    assert any("milestone p1 of s needs 10 residents moved, but the facilities allowed to move by 2025 hold 0" in r
               for r in result.reasons), result.reasons


def test_checker_accepts_phased_plans() -> None:
    """The independent checker accepts the discounted optimal plan above."""
    data = base(discount_rate=0.1)
    instance = load(data)
    result = spatialopt.solve(instance)
    report = check_solution(instance, result.to_solution_dict())
    assert report.ok, report.violations


def test_shipped_phased_hand_instance() -> None:
    """instances/hand/phased-schedule.toml (its comments derive the optimum): 25, one move per period to a."""
    instance = spatialopt.load(Path(__file__).parents[2] / "instances" / "hand" / "phased-schedule.toml")
    results = [spatialopt.solve(instance, builder=b, gap=1e-9) for b in ("matrix", "pyomo")]
    for result in results:
        assert result.status == SolveStatus.OPTIMAL
        assert result.objective == pytest.approx(25.0, rel=1e-9)
        assert sorted(result.assignments["period"]) == ["2021-2025", "2026-2030"]
        assert set(result.assignments["destination"]) == {"a"}


def _budget_split() -> dict[str, Any]:
    """The period-budget setting: f1, f2 (r = 50, -5 a year at a), target 20, milestone 0.5 at p1."""
    data = base()
    data["types"][0]["annual_cost_per_job"] = 1.0
    data["cities"][1]["cost_index"] = 0.5
    data["sources"][0].update(target_reduction=20, milestones={"p1": 0.5})
    data["facilities"] = [{"id": f, "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 50.0} for f in ("f1", "f2")]
    return data


def test_diagnosis_of_a_phased_instance_names_periods() -> None:
    """Milestone 1.0 at p1 (20 residents by 2025) but p1's budget 60 pays one relocation (50):
    the elastic relaxation finds two single repairs, each in the instance's words: lower the p1
    target by 10 (20 -> 10), or raise p1's budget by 40 (60 -> 100, two relocations)."""
    data = _budget_split()
    data["sources"][0]["milestones"] = {"p1": 1.0}
    data["periods"][0]["budget"] = 60.0
    result = spatialopt.solve(load(data))
    assert result.status == SolveStatus.INFEASIBLE
    texts = {family: [c.text for c in changes] for family, changes in result.diagnosis.alternatives.items()}
    assert texts["target"] == ["lower milestone p1 of s by 10 residents moved by 2025 "
                               "(from 20 to 10: milestones.p1 from 1 to at most 0.500)"]
    assert texts["period_budget"] == ["raise the budget of period p1 by 40.00 (from 60.00 to 100.00)"]


def test_pareto_front_of_a_phased_instance_meets_the_milestones() -> None:
    """The milestone setting (ρ = 10 %, milestone 1.0 at p1): the front's top point (scale 1) is the
    instance's optimum 100 (f1 moves in p1), not the 62.09 of a move in p2 that ignores the
    milestone: each point's rows include the scaled milestone."""
    from spatialopt.scenarios.pareto import pareto_front

    data = base(discount_rate=0.1)
    data["sources"][0]["milestones"] = {"p1": 1.0}
    instance = load(data)
    for builder in ("matrix", "pyomo"):
        front = pareto_front(instance, points=3, builder=builder, workers=1, options={"mip_rel_gap": 1e-9})
        top = front.table[front.table["target_scale"] == 1.0]
        assert float(top["objective"].iloc[0]) == pytest.approx(100.0, rel=1e-9)
