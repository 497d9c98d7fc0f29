"""The independent checker on spec v2 plans: each v2 violation kind is caught and named.

A phased instance (three periods, a discount rate, milestones, a cap by period
with an empty cell, sites, period budgets, travel-time bands from ``[travel]``
and from distances ``minutes``) is solved once; the checker must accept that
plan, then each test corrupts one thing and asserts the family the spec's
table names (``target``, ``capacity``, ``site_open``, ``period_budget``, …).
Expected numbers are worked by hand in the docstrings.

Geometry (haversine, R = 6371.0088): s = (116, 40); a = (116.5, 40) is 42.59 km
away, so 42.59 minutes by ``[travel]`` (60 km/h, detour 1); b = (116, 40.5) is
55.60 km away but the distances table times s–b at 30 minutes; c = (118, 40)
is 170.4 km, 170.4 minutes away.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from support import load_dict, load_script

import spatialopt
from spatialopt import SolveStatus
from spatialopt.check import CheckReport, check_solution
from spatialopt.instance import Instance


def _phased_generator() -> Any:
    """tests/model/test_bruteforce_phased.py's random instances (loaded by path: tests/model is no package)."""
    return load_script(Path(__file__).parents[1] / "model" / "test_bruteforce_phased.py", "bruteforce_phased_instances")


_GENERATOR = _phased_generator()


def data(**policy: Any) -> dict[str, Any]:
    return {
        "instance": {"name": "check-v2", "base_year": 2020, "horizon_years": 15, "discount_rate": 0.05},
        "periods": [{"id": "p1", "end_year": 2025, "budget": 100.0}, {"id": "p2", "end_year": 2030},
                    {"id": "p3", "end_year": 2035, "budget": 1000.0}],
        "travel": {"speed_kmh": 60.0, "detour": 1.0},
        "types": [
            {"id": "m", "requires_site": True, "site_cost": 50.0, "site_capacity_jobs": 15, "min_site_jobs": 5,
             "max_sites": 1, "max_minutes": 60.0, "annual_cost_per_job": 1.0},
            {"id": "o", "min_minutes": 40.0, "max_minutes": 60.0, "annual_cost_per_job": 1.0},
        ],
        "resources": [{"id": "res", "use": "residents", "cap": "cap_res",
                       "cap_by_period": {"p1": "cap_res_2025"}}],
        "sources": [{"city": "s", "target_reduction": 20, "core_population": 1000, "core_area_km2": 10.0,
                     "milestones": {"p1": 0.25, "p2": 0.5}, "min_share": {"m": 0.5}}],
        "policy": policy,
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0, "tier": "core", "region": "core"},
            {"id": "a", "lon": 116.5, "lat": 40.0, "tier": "large", "region": "north", "cost_index": 0.5,
             "cap_res": 100, "cap_res_2025": 10},
            {"id": "b", "lon": 116.0, "lat": 40.5, "tier": "large", "region": "south", "cost_index": 0.5},
            {"id": "c", "lon": 118.0, "lat": 40.0, "tier": "large", "region": "south", "cost_index": 0.5},
        ],
        "distances": [{"from": "s", "to": "b", "minutes": 30.0}],
        "facilities": [
            {"id": "f1", "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 20.0, "must_move": True,
             "latest": "p2"},
            {"id": "f2", "origin": "s", "type": "m", "jobs": 10, "fixed_cost": 20.0, "earliest": "p2"},
            {"id": "f3", "origin": "s", "type": "o", "jobs": 10, "fixed_cost": 20.0},
        ],
    }


def load(raw: dict[str, Any]) -> Instance:
    with tempfile.TemporaryDirectory() as folder:
        return load_dict(Path(folder), raw)


@pytest.fixture(scope="module")
def instance() -> Instance:
    return load(data())


@pytest.fixture(scope="module")
def solved(instance: Instance) -> dict[str, Any]:
    result = spatialopt.solve(instance, gap=1e-9)
    assert result.status == SolveStatus.OPTIMAL, result.reasons
    return result.to_solution_dict()


@pytest.fixture()
def plan(solved: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(solved)


def assert_fails(report: CheckReport, family: str, *words: str) -> None:
    """The report has a line of ``family`` containing every one of ``words``."""
    lines = [line for line in report.violations if line.startswith(family + ":")]
    assert lines, f"no {family!r} violation in:\n{report}"
    assert any(all(w in line for w in words) for line in lines), f"no {family!r} line with {words} in:\n{report}"


def moves_of(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["facility"]: row for row in plan["assignments"]}


# -- the valid plan --------------------------------------------------------------------
def test_the_solved_phased_plan_is_valid(instance: Instance, solved: dict[str, Any]) -> None:
    """The optimum, worked by hand: every move as early as it may (each saves 5 a year at a).

    f3 (type o) may go to a only (b is 30 min < min_minutes 40, c 170 min > 60).
    f1 and f2 (type m) need the one m site (max_sites 1, capacity 15 jobs), so
    only one of them moves: f1, which must. Waiting to p2 would save
    (50 + 20)(1 − 1.05^-5) = 15.2 of site and relocation but lose 5 a year over
    Σ_{t=0}^{4} 1.05^-t = 4.546 years (22.7), so both move in p1 (spending
    50 + 20 + 20 = 90 ≤ p1's budget 100). a's p1 cap (10 residents) is taken by
    f3, so f1 goes to b and the site opens there. Milestones 5 (p1) and 10 (p2)
    and the target 20 need both; min_share 0.5 of m's 20 jobs = f1's 10.
    """
    report = check_solution(instance, solved)
    assert report.ok, report.violations
    got = {(r["facility"], r["destination"], r["period"]) for r in solved["assignments"]}
    assert got == {("f1", "b", "p1"), ("f3", "a", "p1")}
    assert solved["sites"] == [{"type": "m", "city": "b", "period": "p1"}]


def test_present_values_recomputed_by_hand(instance: Instance, solved: dict[str, Any]) -> None:
    """Rate 5 %, horizon 15, both moves in p1: δ_1 = 1, Y_1 = Σ_{t=0}^{14} 1.05^-t = 10.898641.

    relocation 20 + 20 = 40; operating 2 × 10 jobs × 1 × (0.5 − 1) × Y_1 = −10 Y_1;
    sites 50 (δ_1 = 1); objective 90 − 108.98641 = −18.98641.
    """
    y1 = sum(1.05 ** -t for t in range(15))
    report = check_solution(instance, solved)
    assert report.components["relocation"] == pytest.approx(40.0, rel=1e-12)
    assert report.components["operating"] == pytest.approx(-10 * y1, rel=1e-12)
    assert report.components["sites"] == pytest.approx(50.0, rel=1e-12)
    assert report.objective == pytest.approx(90 - 10 * y1, rel=1e-12)


def test_a_late_move_is_discounted(instance: Instance, plan: dict[str, Any]) -> None:
    """f3 moved in p2 instead: δ_2 = 1.05^-5 on its 20, Y_2 = Σ_{t=5}^{14} 1.05^-t on its −5 a year."""
    moves_of(plan)["f3"]["period"] = "p2"
    report = check_solution(instance, plan)
    assert report.components["relocation"] == pytest.approx(20 + 20 * 1.05 ** -5, rel=1e-12)
    y1, y2 = sum(1.05 ** -t for t in range(15)), sum(1.05 ** -t for t in range(5, 15))
    assert report.components["operating"] == pytest.approx(-5 * y1 - 5 * y2, rel=1e-12)
    assert_fails(report, "components", "relocation")  # the file still reports the p1 numbers


# -- each v2 row -----------------------------------------------------------------------
def test_move_before_earliest(instance: Instance, plan: dict[str, Any]) -> None:
    plan["assignments"].append({"facility": "f2", "destination": "b", "period": "p1", "units": 1.0})
    assert_fails(check_solution(instance, plan), "assign", "'f2' -> 'b' in period 'p1'", "earliest 'p2'")


def test_must_move_after_latest(instance: Instance, plan: dict[str, Any]) -> None:
    """f1 must move by the end of its latest period p2: a move in p3 is outside its window."""
    moves_of(plan)["f1"]["period"] = "p3"
    assert_fails(check_solution(instance, plan), "assign", "'f1' -> 'b' in period 'p3'", "latest 'p2'")


def test_must_move_missing(instance: Instance, plan: dict[str, Any]) -> None:
    plan["assignments"] = [r for r in plan["assignments"] if r["facility"] != "f1"]
    assert_fails(check_solution(instance, plan), "assign", "'f1' must_move", "0 units")


def test_milestone_missed(instance: Instance, plan: dict[str, Any]) -> None:
    """Both moves in p2: by the end of p1 nothing is moved against the milestone 0.25 × 20 = 5."""
    for row in plan["assignments"]:
        row["period"] = "p2"
    assert_fails(check_solution(instance, plan), "target", "milestone 'p1'", "by its end 0 < 5")


def test_final_target_missed(instance: Instance, plan: dict[str, Any]) -> None:
    """Without f3 only 10 of the 20 residents move; p2's milestone (10) still holds."""
    plan["assignments"] = [r for r in plan["assignments"] if r["facility"] != "f3"]
    report = check_solution(instance, plan)
    assert_fails(report, "target", "moved residents 10 < target 20")
    assert not any("milestone 'p2'" in line for line in report.violations if line.startswith("target"))


def test_soft_milestones_cost_each_row() -> None:
    """Soft, penalty 2: nothing moved gives u = 5, 10, 20 on the three rows: shortfall 2 × 35 = 70."""
    raw = data()
    raw["sources"][0] |= {"soft": True, "shortfall_penalty": 2.0, "min_share": {}}
    raw["facilities"][0]["must_move"] = False
    inst = load(raw)
    result = spatialopt.solve(inst, gap=1e-9)
    empty = result.to_solution_dict() | {"assignments": [], "sites": []}
    report = check_solution(inst, empty)
    assert report.components["shortfall"] == pytest.approx(70.0, rel=1e-12)
    assert not [line for line in report.violations if line.startswith("target")]


def test_min_share_after_all_periods(instance: Instance, plan: dict[str, Any]) -> None:
    plan["assignments"] = [r for r in plan["assignments"] if r["facility"] != "f1"]
    assert_fails(check_solution(instance, plan), "min_share", "moved jobs 0 < 0.5 x total jobs 20")


def test_capacity_by_period(instance: Instance, plan: dict[str, Any]) -> None:
    """a holds 10 residents by 2025: f1 there in p1 as well makes 20 (f1's site follows it to a)."""
    moves_of(plan)["f1"]["destination"] = "a"
    plan["sites"][0]["city"] = "a"
    assert_fails(check_solution(instance, plan), "capacity", "city 'a' resource 'res' by the end of 'p1'",
                 "use 20 > cap 10")


def test_capacity_by_period_empty_cell_has_no_row(instance: Instance, plan: dict[str, Any]) -> None:
    """b has no cap_res_2025 and no cap_res: 10 000 residents there break no capacity row."""
    moves_of(plan)["f1"]["units"] = 1000.0
    report = check_solution(instance, plan)
    assert not [line for line in report.violations if line.startswith("capacity")]
    assert_fails(report, "assign", "'f1' must_move")


def test_capacity_last_period_is_cap() -> None:
    """cap_res of a lowered to 5 (its p1 cap stays 10): 10 residents by the last period exceed it."""
    raw = data()
    raw["cities"][1]["cap_res"] = 5
    raw["cities"][1]["cap_res_2025"] = 10
    inst = load(raw)
    plan = {
        "instance": "check-v2", "status": "feasible", "objective": 0.0, "bound": None, "gap": None,
        "components": {}, "sites": [], "periods": [], "sources": [],
        "assignments": [{"facility": "f3", "destination": "a", "period": "p1", "units": 1.0}],
    }
    assert_fails(check_solution(inst, plan), "capacity", "by the end of 'p3'", "use 10 > cap 5")


def test_site_opened_twice(instance: Instance, plan: dict[str, Any]) -> None:
    plan["sites"].append({"type": "m", "city": "b", "period": "p2"})
    assert_fails(check_solution(instance, plan), "site_open", "'m' at 'b'", "2 times", "at most once")


def test_site_used_before_it_opens(instance: Instance, plan: dict[str, Any]) -> None:
    plan["sites"][0]["period"] = "p2"
    report = check_solution(instance, plan)
    assert_fails(report, "site_link", "'f1' -> 'b' in period 'p1'", "opens only in 'p2'")
    assert_fails(report, "site_capacity", "'m' at 'b' by the end of 'p1'", "not open")


def test_site_capacity(instance: Instance, plan: dict[str, Any]) -> None:
    """f2 (earliest p2) joins f1 at b in p2: 20 jobs > the site's 15 by the end of p2."""
    plan["assignments"].append({"facility": "f2", "destination": "b", "period": "p2", "units": 1.0})
    assert_fails(check_solution(instance, plan), "site_capacity", "'m' at 'b' by the end of 'p2'",
                 "jobs 20 > capacity 15")


def test_site_min_and_count(instance: Instance, plan: dict[str, Any]) -> None:
    plan["sites"].append({"type": "m", "city": "a", "period": "p3"})
    report = check_solution(instance, plan)
    assert_fails(report, "site_min", "'m' at 'a'", "jobs 0 < min_site_jobs 5")
    assert_fails(report, "site_count", "2 site(s) open > max_sites 1")


def test_period_budget(instance: Instance, plan: dict[str, Any]) -> None:
    """p1 spends site 50 + 2 × 20 = 90 ≤ 100; f2 there too makes 110."""
    plan["assignments"].append({"facility": "f2", "destination": "b", "period": "p1", "units": 1.0})
    assert_fails(check_solution(instance, plan), "period_budget",
                 "period 'p1': relocation 60 + sites 50 = 110 > budget 100")


def test_budget_is_undiscounted(solved: dict[str, Any]) -> None:
    """policy.budget 89 < 90 spent (undiscounted); 90 passes."""
    assert_fails(check_solution(load(data(budget=89.0)), solved), "budget", "= 90 > budget 89")
    assert "budget" not in check_solution(load(data(budget=90.0)), solved).families


def test_destination_and_region_share(solved: dict[str, Any]) -> None:
    """10 residents each to a (north) and b (south): shares 0.5 > 0.4, and north's 0.5 < 0.6."""
    report = check_solution(load(data(max_destination_share=0.4, min_region_share={"north": 0.6})), solved)
    assert_fails(report, "destination_share", "city 'a'", "receives 10 residents > 0.4 x total 20")
    assert_fails(report, "region_share", "region 'north'", "receives 10 jobs < 0.6 x total 20")


def test_max_minutes_by_travel(instance: Instance, plan: dict[str, Any]) -> None:
    moves_of(plan)["f3"]["destination"] = "c"
    assert_fails(check_solution(instance, plan), "eligibility", "'f3'", "'c'", "travel time 170.357", "[40, 60]")


def test_min_minutes_by_distances_minutes(instance: Instance, plan: dict[str, Any]) -> None:
    """b is 55.6 km away (55.6 min by [travel], inside the band) but the distances table says 30."""
    moves_of(plan)["f3"]["destination"] = "b"
    assert_fails(check_solution(instance, plan), "eligibility", "'f3'", "'b'", "travel time 30 min outside [40, 60]")


# -- the v2 fields of solution.json ----------------------------------------------------
def test_period_key_required(instance: Instance, plan: dict[str, Any]) -> None:
    del plan["assignments"][0]["period"]
    del plan["sites"][0]["period"]
    report = check_solution(instance, plan)
    assert_fails(report, "format", "assignments[0]: missing 'period'")
    assert_fails(report, "format", "sites[0]: missing 'period'")


def test_unknown_period(instance: Instance, plan: dict[str, Any]) -> None:
    plan["assignments"][0]["period"] = "2040"
    plan["sites"][0]["period"] = "p9"
    report = check_solution(instance, plan)
    assert_fails(report, "unknown ids", "assignments[0] names period '2040'")
    assert_fails(report, "unknown ids", "sites[0] names period 'p9'")


@pytest.mark.parametrize("key", ["periods", "milestones"])
def test_v2_lists_required(instance: Instance, plan: dict[str, Any], key: str) -> None:
    if key == "periods":
        del plan["periods"]
    else:
        del plan["sources"][0]["milestones"]
    assert_fails(check_solution(instance, plan), "format", repr(key))


def test_periods_values(instance: Instance, plan: dict[str, Any]) -> None:
    """periods[]: p1 spends 90 and moves 20 residents; p3's budget is 1000."""
    assert [(p["spending"], p["moved_residents"], p["budget"]) for p in plan["periods"]] == \
        [(90.0, 20.0, 100.0), (0.0, 0.0, None), (0.0, 0.0, 1000.0)]
    plan["periods"][0]["spending"] = 40.0
    plan["periods"][2]["budget"] = None
    report = check_solution(instance, plan)
    assert_fails(report, "periods", "period 'p1' spending: reported 40, recomputed 90")
    assert_fails(report, "periods", "period 'p3' budget")
    plan["periods"].reverse()
    assert_fails(check_solution(instance, plan), "periods", "expected ['p1', 'p2', 'p3']")


def test_milestone_values(instance: Instance, plan: dict[str, Any]) -> None:
    """Milestone rows p1 (5) and p2 (10), 20 moved by each; density after (1000 − 20) / 10 = 98."""
    rows = plan["sources"][0]["milestones"]
    assert [(r["period"], r["target"], r["moved_residents"], r["density_after"]) for r in rows] == \
        [("p1", 5.0, 20.0, 98.0), ("p2", 10.0, 20.0, 98.0)]
    rows[1]["target"] = 12.0
    assert_fails(check_solution(instance, plan), "sources", "milestone 'p2' target: reported 12, recomputed 10")
    del rows[1]
    assert_fails(check_solution(instance, plan), "sources", "periods ['p1'], expected ['p1', 'p2']")


def test_period_keys_refused_without_periods() -> None:
    """A v1.1 instance's file has no period keys, milestones or periods."""
    raw = data()
    for key in ("periods",):
        raw.pop(key)
    raw["instance"] = {"name": "check-v2"}
    raw["sources"][0].pop("milestones")
    raw["resources"][0].pop("cap_by_period")
    for fac in raw["facilities"]:
        fac.pop("earliest", None)
        fac.pop("latest", None)
    inst = load(raw)
    result = spatialopt.solve(inst, gap=1e-9)
    solution = result.to_solution_dict()
    assert "periods" not in solution and check_solution(inst, solution).ok
    solution["assignments"][0]["period"] = "p1"
    solution["periods"] = []
    report = check_solution(inst, solution)
    assert_fails(report, "format", "periods is given but the instance has no [[periods]]")
    assert_fails(report, "format", "assignments[0] has 'period'")


def test_no_solution_has_empty_v2_lists(instance: Instance, solved: dict[str, Any]) -> None:
    plan = copy.deepcopy(solved) | {"status": "infeasible", "objective": None, "bound": None, "gap": None,
                                    "components": None, "assignments": [], "sites": []}
    report = check_solution(instance, plan)
    assert_fails(report, "periods", "periods must be empty")
    assert_fails(report, "sources", "milestones must be empty")
    plan["periods"] = []
    plan["sources"][0]["milestones"] = []
    assert check_solution(instance, plan).ok


# -- agreement with the model on random phased instances --------------------------------
@settings(_GENERATOR.SETTINGS, max_examples=25)
@given(_GENERATOR.tiny_phased_instances())
def test_checker_accepts_every_solved_phased_plan(raw: dict) -> None:
    """Random phased instances of the brute-force test (every v2 row reachable): the optimum passes the check."""
    inst = load(raw)
    result = spatialopt.solve(inst, gap=1e-9)
    report = check_solution(inst, result.to_solution_dict())
    assert report.ok, report.violations
