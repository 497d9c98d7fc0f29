"""The block pass (spatialopt.blocks): blocks, their summed bound, the combined plan and the block rows.

Optima come from enumeration (``support.brute_force``) and are worked by hand
in each docstring; the brute-force tests (``test_bruteforce*.py``) solve
through the same default path, so the pass runs there on every random instance
that splits into blocks.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from support import assert_brute_force_verdict, brute_force, load_dict, solve_checked

import spatialopt
from spatialopt.blocks import block_pass, column_sources, partition, wants_block_pass, with_block_rows
from spatialopt.derive import derive
from spatialopt.heuristic import start_problems
from spatialopt.matrix import matrices_from
from spatialopt.session import HighsSession
from spatialopt.strengthen import strong_formulation
from spatialopt.strong_rows import DEFAULT


def two_cores(core2: tuple[float, float] = (110.0, 30.0)) -> dict:
    """Cores s1 and s2, each 150 residents to move: f (2 units of 10 jobs, 100 residents) and g (1 unit of
    5 jobs, 70 residents). Whole units: f + g (170 residents, 15 jobs) is each core's cheapest cover (2 f
    moves 20 jobs); in fractions 0.8 f + g (13 jobs) would do. Destinations a (near s1) and b (near s2)."""
    return {
        "instance": {"name": "two-cores"},
        "types": [{"id": "t", "cost_per_job_km": 0.001}],
        "sources": [{"city": "s1", "target_reduction": 150}, {"city": "s2", "target_reduction": 150}],
        "cities": [{"id": "s1", "lon": 116.0, "lat": 40.0, "tier": "core"},
                   {"id": "s2", "lon": core2[0], "lat": core2[1], "tier": "core"},
                   {"id": "a", "lon": 117.0, "lat": 40.0, "tier": "large"},
                   {"id": "b", "lon": core2[0] + 1.0, "lat": core2[1], "tier": "large"}],
        "facilities": [{"id": f"{name}{i}", "origin": f"s{i}", "type": "t", "count": count, "jobs": jobs,
                        "residents": residents}
                       for i in (1, 2) for name, count, jobs, residents in (("f", 2, 10, 100), ("g", 1, 5, 70))],
    }


def matrices_of(tmp_path: Path, data: dict):
    instance = load_dict(tmp_path, data)
    form, _ = strong_formulation(instance, derive(instance))
    m = matrices_from(form)
    return instance, m, partition(m, column_sources(form, instance, m.n_cols))


def optimum_columns(m) -> np.ndarray:
    with HighsSession(m, {"mip_rel_gap": 1e-9}) as session:
        session.run()
        return np.asarray(session.solution().col_value, float)


def test_independent_cores_are_proved_by_their_blocks(tmp_path: Path) -> None:
    """No row ties s1 to s2: two blocks, each solved alone to f + g into its nearest city, and together
    the optimum, proved by the blocks' bound without a search."""
    instance, m, block = matrices_of(tmp_path / "m", two_cores())
    # per core: f and g into a and b, and their moved units; no site
    assert sorted(np.bincount(block[block >= 0]).tolist()) == [6, 6]
    assert wants_block_pass(block)
    report = block_pass(m, block, {"mip_rel_gap": 1e-9})
    assert report.blocks == 2 and report.solved == 2 and report.broken == []
    expected = brute_force(instance)
    assert report.plan is not None and report.plan[1] == pytest.approx(expected, rel=1e-9)
    assert report.bound == pytest.approx(expected, rel=1e-9)
    # f + g of each core moves to its nearest city: 2 f units would move 20 jobs, not 15.
    x = report.plan[0][m.x]
    assert sorted(x[x > 0].tolist()) == [1.0, 1.0, 1.0, 1.0]
    result = solve_checked(instance)
    assert result.termination == "proved by the block bounds"
    assert result.objective == pytest.approx(expected, rel=1e-9)
    assert result.timings["blocks"] >= 0
    off = spatialopt.solve(instance, gap=1e-9, strengthen=replace(DEFAULT, block_bounds=False))
    assert "blocks" not in off.timings and off.objective == pytest.approx(expected, rel=1e-9)


def shared_cap() -> dict:
    """The cores side by side (s2 one degree north of s1), a city cap of 200 residents at a, their nearest
    city: each core alone sends f + g there (170), together 340 > 200, so the blocks' plans break the cap."""
    data = two_cores(core2=(116.0, 40.5))
    data["cities"][2].update({"lat": 40.25, "cap_res": 200})
    data["cities"][3].update({"lon": 118.0, "lat": 40.25})
    data["resources"] = [{"id": "res", "use": "residents", "cap": "cap_res"}]
    return data


def test_a_shared_cap_breaks_the_combined_plan_but_the_bound_holds(tmp_path: Path) -> None:
    instance, m, block = matrices_of(tmp_path / "m", shared_cap())
    assert wants_block_pass(block)
    report = block_pass(m, block, {"mip_rel_gap": 1e-9})
    assert report.plan is None and report.broken == ["1 capacity row(s) violated"]
    expected = brute_force(instance)
    assert expected is not None and report.bound is not None
    assert report.bound < expected - 0.5  # each core alone pays less than the two together (2.68 against 3.51)
    # The block rows keep the optimum: every row of the model with them holds at the optimum's columns.
    best = optimum_columns(m)
    assert float(m.cost @ best) == pytest.approx(expected, rel=1e-9)
    assert start_problems(with_block_rows(m, report), np.round(best, 9)) == []
    result = solve_checked(instance)
    assert result.termination != "proved by the block bounds"
    assert_brute_force_verdict(instance, result, expected)


def test_a_block_row_cuts_the_fractional_cover(tmp_path: Path) -> None:
    """The LP relaxation moves 0.8 f + g per core (13 jobs); the block rows ask for what f + g costs (15)."""
    instance, m, block = matrices_of(tmp_path / "m", two_cores())
    report = block_pass(m, block, {"mip_rel_gap": 1e-9})
    lp = replace(m, integer=np.zeros(m.n_cols, dtype=bool))
    with HighsSession(lp, {}) as session:
        before = session.run().objective
    with HighsSession(with_block_rows(lp, report), {}) as session:
        after = session.run().objective
    assert before == pytest.approx(report.bound * 13 / 15, rel=1e-6)
    assert after == pytest.approx(report.bound, rel=1e-5)


def test_sources_sharing_a_site_are_one_block(tmp_path: Path) -> None:
    """A site type both cores reach: its openings tie them (one block, no pass); out of each other's
    reach (max 150 km), two blocks."""
    data = two_cores(core2=(116.0, 40.5))
    data["types"][0].update({"requires_site": True, "site_cost": 10.0, "site_capacity_jobs": 100})
    _, _, block = matrices_of(tmp_path / "near", data)
    assert set(block[block >= 0].tolist()) == {0} and not wants_block_pass(block)
    far = two_cores()
    far["types"][0].update({"requires_site": True, "site_cost": 10.0, "site_capacity_jobs": 100, "max_km": 150.0})
    _, m, block = matrices_of(tmp_path / "far", far)
    assert wants_block_pass(block)
    assert set(block[m.y].tolist()) == {0, 1}  # each core's site in its block
