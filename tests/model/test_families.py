"""One hand-worked instance per constraint family of spec §4.

Each test's docstring derives the optimum by hand; the test asserts the
solver's status and objective and (through ``solve_checked``) that the plan
passes the independent checker. Unless a test says otherwise: one source
``s`` at (116E, 40N), destinations ``a`` (117E, 40N, east, tier large) and
``b`` (116E, 41N, west, tier medium); costs are per-unit arc costs from an
arcs table, and there is no target.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from same_model import assert_same_model
from support import load_dict, solve_checked

from spatialopt import SolveStatus
from spatialopt.derive import derive
from spatialopt.formulation import build

KM_PER_DEGREE = math.radians(1.0) * 6371.0088  # one degree of latitude


def base(facilities: list[dict[str, Any]], arcs: list[tuple[str, str, float]] | None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "instance": {"name": "hand"},
        "types": [{"id": "t"}],
        "sources": [{"city": "s", "target_reduction": 0}],
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0, "tier": "core", "region": "east", "cost_index": 1.0},
            {"id": "a", "lon": 117.0, "lat": 40.0, "tier": "large", "region": "east", "cost_index": 1.0},
            {"id": "b", "lon": 116.0, "lat": 41.0, "tier": "medium", "region": "west", "cost_index": 1.0},
        ],
        "facilities": [{"origin": "s", "type": "t", **f} for f in facilities],
    }
    if arcs is not None:
        data["arcs"] = [{"facility": f, "destination": d, "cost": c} for f, d, c in arcs]
    for key, value in extra.items():
        data[key] = value
    return data


def solve_dict(tmp_path: Path, data: dict[str, Any]):
    """Solve both ways (``solve_checked``), after checking that both back ends build the same model."""
    instance = load_dict(tmp_path, data)
    assert_same_model(build(instance, derive(instance)))
    return solve_checked(instance)


def units(result: Any) -> dict[tuple[str, str], float]:
    a = result.assignments
    return {(f, d): u for f, d, u in zip(a["facility"], a["destination"], a["units"])}


def test_assign_caps_units_and_must_move_forces_them(tmp_path: Path) -> None:
    """f (count 2) saves 5 per unit at a: both units move, -10, no more (assign <=).
    g costs 4 but must move (assign =): +4. Optimum -6."""
    data = base(
        [{"id": "f", "count": 2, "jobs": 1}, {"id": "g", "jobs": 1, "must_move": True}],
        [("f", "a", -5.0), ("g", "a", 4.0)],
    )
    result = solve_dict(tmp_path, data)
    assert result.status == SolveStatus.OPTIMAL
    assert result.objective == pytest.approx(-6.0)
    assert units(result) == {("f", "a"): 2.0, ("g", "a"): 1.0}


def test_hard_target(tmp_path: Path) -> None:
    """Target 150 residents. f1: 100 residents for 10; f2: 60 residents per unit, 3 per unit, 2 units.
    f2 x2 = 120 < 150; f1 + f2 = 160 for 13; f1 + 2 f2 = 16. Optimum 13."""
    data = base(
        [{"id": "f1", "jobs": 100}, {"id": "f2", "jobs": 60, "count": 2}],
        [("f1", "a", 10.0), ("f2", "a", 3.0)],
        sources=[{"city": "s", "target_reduction": 150}],
    )
    result = solve_dict(tmp_path, data)
    assert result.objective == pytest.approx(13.0)
    assert result.sources.loc[0, "moved_residents"] == pytest.approx(160.0)


def test_soft_target_prices_the_shortfall(tmp_path: Path) -> None:
    """As the hard case, but soft with a penalty of 0.1 per person short.
    Nothing: 15; f2: 3 + 9 = 12; 2 f2: 6 + 3 = 9; f1: 10 + 5 = 15; f1 + f2: 13.
    Optimum 9 with a shortfall of 30 persons (component 3)."""
    data = base(
        [{"id": "f1", "jobs": 100}, {"id": "f2", "jobs": 60, "count": 2}],
        [("f1", "a", 10.0), ("f2", "a", 3.0)],
        sources=[{"city": "s", "target_reduction": 150, "soft": True, "shortfall_penalty": 0.1}],
    )
    result = solve_dict(tmp_path, data)
    assert result.objective == pytest.approx(9.0)
    assert result.components["shortfall"] == pytest.approx(3.0)
    assert result.sources.loc[0, "shortfall"] == pytest.approx(30.0)


def test_infeasible_hard_target_is_a_status(tmp_path: Path) -> None:
    """Target 1,000 residents but the only facility carries 100: infeasible, no plan."""
    data = base([{"id": "f1", "jobs": 100}], [("f1", "a", 1.0)], sources=[{"city": "s", "target_reduction": 1000}])
    result = solve_dict(tmp_path, data)
    assert result.status == SolveStatus.INFEASIBLE
    assert result.objective is None and result.to_solution_dict()["assignments"] == []


def test_target_forms(tmp_path: Path) -> None:
    """pct: 2% of 1,000,000 = 20,000. density: 1,000,000 - 9,000/km2 x 100 km2 = 100,000."""
    data = base([{"id": "f", "jobs": 1}], [("f", "a", 1.0)], sources=[
        {"city": "s", "core_population": 1_000_000, "target_reduction_pct": 2.0, "soft": True},
    ])
    assert load_dict(tmp_path / "pct", data).sources["s"].target_persons == pytest.approx(20_000)
    data["sources"] = [{"city": "s", "core_population": 1_000_000, "core_area_km2": 100.0,
                        "target_density": 9000.0, "soft": True}]
    assert load_dict(tmp_path / "density", data).sources["s"].target_persons == pytest.approx(100_000)


def test_min_share(tmp_path: Path) -> None:
    """Type m must move >= 60% of its 150 jobs (90): m2 alone (50 jobs, cost 2) is short,
    m1 (100 jobs, cost 8) suffices. Nothing else pays. Optimum 8."""
    data = base(
        [{"id": "m1", "type": "m", "jobs": 100}, {"id": "m2", "type": "m", "jobs": 50}, {"id": "w1", "jobs": 500}],
        [("m1", "a", 8.0), ("m2", "a", 2.0), ("w1", "a", 1.0)],
        types=[{"id": "t"}, {"id": "m"}],
        sources=[{"city": "s", "target_reduction": 0, "min_share": {"m": 0.6}}],
    )
    result = solve_dict(tmp_path, data)
    assert result.objective == pytest.approx(8.0)
    assert set(units(result)) == {("m1", "a")}


def capacity_case(**arc_use: float) -> dict[str, Any]:
    data = base(
        [{"id": "f1", "jobs": 80, "must_move": True}, {"id": "f2", "jobs": 50, "must_move": True}],
        [("f1", "a", 1.0), ("f1", "b", 5.0), ("f2", "a", 1.0), ("f2", "b", 5.0)],
        resources=[{"id": "res", "use": "residents", "cap": "cap_res"}],
    )
    data["cities"][1]["cap_res"] = 100
    for arc in data["arcs"]:
        if (arc["facility"], arc["destination"]) == ("f2", "a") and arc_use:
            arc.update(arc_use)
    return data


def test_capacity(tmp_path: Path) -> None:
    """a holds 100 residents; f1 (80) + f2 (50) = 130 do not fit: one goes to b for 5. Optimum 6."""
    result = solve_dict(tmp_path, capacity_case())
    assert result.objective == pytest.approx(6.0)


def test_capacity_with_arc_use_override(tmp_path: Path) -> None:
    """f2 at a uses only 10 in the capacity row (use_res override): 80 + 10 fits. Optimum 2."""
    result = solve_dict(tmp_path, capacity_case(use_res=10.0))
    assert result.objective == pytest.approx(2.0)


def site_case(**kind: Any) -> dict[str, Any]:
    return base(
        [{"id": "f1", "jobs": 60, "must_move": True}, {"id": "f2", "jobs": 60, "must_move": True}],
        [("f1", "a", 1.0), ("f1", "b", 3.0), ("f2", "a", 4.0), ("f2", "b", 1.0)],
        types=[{"id": "t", "requires_site": True, "site_cost": 10.0, **kind}],
    )


def test_site_link_and_site_cost(tmp_path: Path) -> None:
    """Sites cost 10. Both sites: 1 + 1 + 20 = 22; only a: 1 + 4 + 10 = 15; only b: 3 + 1 + 10 = 14.
    Optimum 14 with one site at b."""
    result = solve_dict(tmp_path, site_case())
    assert result.objective == pytest.approx(14.0)
    assert list(result.sites["city"]) == ["b"]


def test_site_capacity(tmp_path: Path) -> None:
    """Sites hold 100 jobs; 60 + 60 do not share one: both sites, 1 + 1 + 20 = 22."""
    result = solve_dict(tmp_path, site_case(site_capacity_jobs=100))
    assert result.objective == pytest.approx(22.0)


def test_site_capacity_from_sites_table(tmp_path: Path) -> None:
    """As above, but the sites table gives b 150 jobs (a keeps the type's 100) and a's site costs 30:
    only b holds both: 3 + 1 + 10 = 14."""
    data = site_case(site_capacity_jobs=100)
    data["sites"] = [{"type": "t", "city": "a", "site_cost": 30.0}, {"type": "t", "city": "b", "capacity_jobs": 150}]
    result = solve_dict(tmp_path, data)
    assert result.objective == pytest.approx(14.0)


def test_site_min(tmp_path: Path) -> None:
    """Free sites of at least 50 jobs. f1 (60, must move): a 5, b 1. f2 (30): a -3, b 0.5.
    Without the minimum: f1->b, f2->a = -2. f2 alone at a (30 < 50) is not allowed:
    f1->b and f2 stays = 1; f1->b, f2->b = 1.5; both at a = 2. Optimum 1."""
    data = base(
        [{"id": "f1", "jobs": 60, "must_move": True}, {"id": "f2", "jobs": 30}],
        [("f1", "a", 5.0), ("f1", "b", 1.0), ("f2", "a", -3.0), ("f2", "b", 0.5)],
        types=[{"id": "t", "requires_site": True, "min_site_jobs": 50}],
    )
    result = solve_dict(tmp_path, data)
    assert result.objective == pytest.approx(1.0)


def test_site_count_min(tmp_path: Path) -> None:
    """As the site_link case with min_sites 2: both sites open; best plan 1 + 1 + 20 = 22."""
    result = solve_dict(tmp_path, site_case(min_sites=2))
    assert result.objective == pytest.approx(22.0)
    assert len(result.sites) == 2


def test_site_count_max(tmp_path: Path) -> None:
    """Free sites, max_sites 1: at a 1 + 4 = 5, at b 3 + 1 = 4. Optimum 4 (two sites would give 2)."""
    result = solve_dict(tmp_path, site_case(site_cost=0.0, max_sites=1))
    assert result.objective == pytest.approx(4.0)


def budget_case(budget: float | None) -> dict[str, Any]:
    """f1 (100 jobs) must move. a: relocation 50 but operating -60 (cost index 0 vs 1,
    10 years x 0.06 x 100 jobs), total -10; b: relocation 10, operating 0, total 10."""
    data = base(
        [{"id": "f1", "jobs": 100, "must_move": True}],
        [("f1", "a", 50.0), ("f1", "b", 10.0)],
        types=[{"id": "t", "annual_cost_per_job": 0.06}],
    )
    data["cities"][1]["cost_index"] = 0.0
    if budget is not None:
        data["policy"] = {"budget": budget}
    return data


def test_budget(tmp_path: Path) -> None:
    """Without a budget the move to a pays for itself (-10); a budget of 20 (relocation only,
    unweighted) rules a out (50 > 20): b for 10."""
    assert solve_dict(tmp_path / "free", budget_case(None)).objective == pytest.approx(-10.0)
    result = solve_dict(tmp_path / "tight", budget_case(20.0))
    assert result.objective == pytest.approx(10.0)
    assert result.components == pytest.approx(
        {"relocation": 10.0, "operating": 0.0, "access": 0.0, "sites": 0.0, "shortfall": 0.0}
    )


def test_destination_share(tmp_path: Path) -> None:
    """f1, f2 (100 residents each) must move; a costs 1, b 3. At most half the residents per
    destination: one goes to b. Optimum 4."""
    data = base(
        [{"id": "f1", "jobs": 100, "must_move": True}, {"id": "f2", "jobs": 100, "must_move": True}],
        [("f1", "a", 1.0), ("f1", "b", 3.0), ("f2", "a", 1.0), ("f2", "b", 3.0)],
        policy={"max_destination_share": 0.5},
    )
    assert solve_dict(tmp_path, data).objective == pytest.approx(4.0)


def test_region_share(tmp_path: Path) -> None:
    """As above but at least half the jobs must go west (b is west): one goes to b. Optimum 4."""
    data = base(
        [{"id": "f1", "jobs": 100, "must_move": True}, {"id": "f2", "jobs": 100, "must_move": True}],
        [("f1", "a", 1.0), ("f1", "b", 3.0), ("f2", "a", 1.0), ("f2", "b", 3.0)],
        policy={"min_region_share": {"west": 0.5}},
    )
    assert solve_dict(tmp_path, data).objective == pytest.approx(4.0)


def test_cost_components_and_weights(tmp_path: Path) -> None:
    """One facility (10 jobs, 2 service units, fixed cost 1) must move to b, 1 degree north
    (111.195 km); a is not an allowed tier. cost_per_job_km 0.01, annual 0.1 over 10 years,
    cost index 1 -> 0.5, access 0.5 per unit-km. r = 1 + 0.01*10*111.195 = 12.1195;
    p = 10*0.1*10*(0.5-1) = -5; a = 0.5*2*111.195 = 111.195.
    Weights relocation 2, operating 0.5, access 3: 2r + 0.5p + 3a."""
    data = base(
        [{"id": "f", "jobs": 10, "service_units": 2, "fixed_cost": 1.0, "must_move": True}],
        None,
        types=[{"id": "t", "allowed_tiers": ["medium"], "cost_per_job_km": 0.01,
                "annual_cost_per_job": 0.1, "access_cost_per_unit_km": 0.5}],
        objective={"weights": {"relocation": 2.0, "operating": 0.5, "access": 3.0}},
    )
    data["cities"][2]["cost_index"] = 0.5
    result = solve_dict(tmp_path, data)
    r = 1 + 0.01 * 10 * KM_PER_DEGREE
    p = -5.0
    a = 0.5 * 2 * KM_PER_DEGREE
    assert result.components["relocation"] == pytest.approx(r, rel=1e-9)
    assert result.components["operating"] == pytest.approx(p, rel=1e-9)
    assert result.components["access"] == pytest.approx(a, rel=1e-9)
    assert result.objective == pytest.approx(2 * r + 0.5 * p + 3 * a, rel=1e-9)


def test_splittable_type_moves_fractions(tmp_path: Path) -> None:
    """A splittable market of 100 residents must move; a holds 40 residents (cost 1 per unit),
    b is unlimited (cost 3 per unit). 0.4 units to a, 0.6 to b: 0.4 + 1.8 = 2.2."""
    data = base(
        [{"id": "w", "jobs": 100, "must_move": True}],
        [("w", "a", 1.0), ("w", "b", 3.0)],
        types=[{"id": "t", "splittable": True}],
        resources=[{"id": "res", "use": "residents", "cap": "cap_res"}],
    )
    data["cities"][1]["cap_res"] = 40
    result = solve_dict(tmp_path, data)
    assert result.objective == pytest.approx(2.2)
    assert units(result) == pytest.approx({("w", "a"): 0.4, ("w", "b"): 0.6})


def test_must_move_without_destination_is_infeasible_with_reason(tmp_path: Path) -> None:
    """A must_move facility whose only arc is to a source city has nowhere to go."""
    data = base([{"id": "f", "jobs": 1, "must_move": True}], [("f", "s", 1.0)])
    result = solve_dict(tmp_path, data)
    assert result.status == SolveStatus.INFEASIBLE
    assert any("facility 'f' (t, from s) must move but has no eligible destination" in r for r in result.reasons)
