"""The valid strengthenings of strong_rows and strengthen: hand-worked rows, and never a lost optimum.

The expected coefficients and rows below are worked by hand from each
instance's numbers; the optima of the brute-force tests
(``test_bruteforce*.py``, every strengthening on) and of the known-optima
registry (``tests/regression/test_known_optima_strengthened.py``) show that no
strengthening cuts an optimum off. Here: that the random generators reach
every strengthening (so those tests can fail), and each one's rows by hand.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from same_model import assert_same_model
from support import load_dict
from test_bruteforce import tiny_instances
from test_bruteforce_phased import tiny_phased_instances

import spatialopt
from spatialopt.derive import derive
from spatialopt.formulation import Formulation, _Data, build
from spatialopt.strengthen import fix_by_reduced_costs, fixed_bounds, strong_formulation
from spatialopt.strong_rows import NAMES, Strengthening, dominated_arcs, link_coefficients, strengthened

ROOT = Path(__file__).parents[2]


def site_instance(capacity: float, jobs: float, count: int, splittable: bool = False, must_move: bool = True) -> dict:
    """One source, two destinations with a site each (capacity ``capacity`` jobs), one facility row."""
    return {
        "instance": {"name": "sites"},
        "types": [{"id": "t", "requires_site": True, "site_cost": 10.0, "site_capacity_jobs": capacity,
                   "splittable": splittable, "cost_per_job_km": 0.001}],
        "sources": [{"city": "s", "target_reduction": 0}],
        "cities": [{"id": "s", "lon": 116.0, "lat": 40.0, "tier": "core"},
                   {"id": "a", "lon": 117.0, "lat": 40.0, "tier": "large"},
                   {"id": "b", "lon": 118.0, "lat": 40.0, "tier": "large"}],
        "facilities": [{"id": "f", "origin": "s", "type": "t", "count": count, "jobs": jobs, "must_move": must_move}],
    }


def formulation(tmp_path: Path, data: dict) -> Formulation:
    instance = load_dict(tmp_path, data)
    return build(instance, derive(instance))


def test_link_coefficient_is_the_units_an_open_site_holds(tmp_path: Path) -> None:
    # 5 units of 40 jobs, sites of 130 jobs: at most floor(130 / 40) = 3 units per site.
    form = formulation(tmp_path, site_instance(130, 40, 5))
    assert link_coefficients(_Data(form.instance, form.derived)).tolist() == [3.0, 3.0]
    link = strengthened(form, Strengthening.only("capacity_links")).family("site_link")
    assert sorted(link.val.tolist()) == [-3.0, -3.0, 1.0, 1.0]


def test_link_coefficient_rounds_a_ratio_that_is_whole_up_to_float_error(tmp_path: Path) -> None:
    # 0.3 / 0.1 is 2.9999999999999996 in floating point; 3 units of 0.1 jobs fit a site of 0.3.
    form = formulation(tmp_path, site_instance(0.3, 0.1, 5))
    assert link_coefficients(_Data(form.instance, form.derived)).tolist() == [3.0, 3.0]


def test_splittable_link_coefficient_is_not_rounded(tmp_path: Path) -> None:
    # A splittable row may move 130 / 40 = 3.25 units to one site.
    form = formulation(tmp_path, site_instance(130, 40, 5, splittable=True))
    assert link_coefficients(_Data(form.instance, form.derived)).tolist() == [3.25, 3.25]


def test_zero_capacity_site_links_nothing_and_no_jobs_keep_the_count(tmp_path: Path) -> None:
    form = formulation(tmp_path / "zero", site_instance(0, 40, 2, must_move=False))
    link = strengthened(form, Strengthening.only("capacity_links")).family("site_link")
    assert sorted(link.val.tolist()) == [1.0, 1.0]  # x_fd <= 0: the y entries are gone
    form = formulation(tmp_path / "nojobs", site_instance(100, 0, 2))
    assert link_coefficients(_Data(form.instance, form.derived)).tolist() == [2.0, 2.0]


def test_cover_row_for_jobs_that_must_move(tmp_path: Path) -> None:
    # 5 must-move units of 40 jobs = 200 jobs; sites of 130: 130 y_a + 130 y_b >= 200.
    form = strengthened(formulation(tmp_path, site_instance(130, 40, 5)), Strengthening.only("cover_rows"))
    cover = form.family("cover_site_jobs")
    assert cover.keys == ["t"] and cover.lower.tolist() == [200.0] and cover.val.tolist() == [130.0, 130.0]
    # Sites of 500 each alone hold the 200 jobs: the coefficient is 200.
    form = strengthened(formulation(tmp_path / "big", site_instance(500, 40, 5)), Strengthening.only("cover_rows"))
    assert form.family("cover_site_jobs").val.tolist() == [200.0, 200.0]


def test_cover_row_for_a_hard_target(tmp_path: Path) -> None:
    # Target 150 residents; the facility (5 units of 40 residents) can only reach a site of 130 jobs each,
    # one resident per job: through each site at most min(150, 200, 130) = 130.
    data = site_instance(130, 40, 5, must_move=False)
    data["sources"][0]["target_reduction"] = 150
    form = strengthened(formulation(tmp_path, data), Strengthening.only("cover_rows"))
    cover = form.family("cover_target")
    assert cover.keys == ["s"] and cover.lower.tolist() == [150.0] and cover.val.tolist() == [130.0, 130.0]
    assert "cover_site_jobs" not in {b.family for b in form.rows}  # nothing must move as jobs


def phased_site_instance(capacity: float, facilities: list[tuple[str, int]]) -> dict:
    """One source, destination ``a`` with a site of ``capacity`` jobs, periods p1 and p2, no target.

    ``facilities``: (id, count) rows of 10 jobs each, free to move in either period.
    """
    return {
        "instance": {"name": "phased-sites", "base_year": 2020, "horizon_years": 10},
        "periods": [{"id": "p1", "end_year": 2025}, {"id": "p2", "end_year": 2030}],
        "types": [{"id": "t", "requires_site": True, "site_cost": 100.0, "site_capacity_jobs": capacity}],
        "sources": [{"city": "s", "target_reduction": 0}],
        "cities": [{"id": "s", "lon": 116.0, "lat": 40.0, "tier": "core"},
                   {"id": "a", "lon": 117.0, "lat": 40.0, "tier": "large"}],
        "facilities": [{"id": f, "origin": "s", "type": "t", "count": n, "jobs": 10} for f, n in facilities],
    }


def activity(form: Formulation, point: dict) -> dict[str, np.ndarray]:
    """Each family's row activities at ``point`` (column key -> value, others 0), and whether each row holds."""
    v = np.zeros(form.n_cols)
    for block in form.columns:
        start = form.column(block.name).start
        for i, key in enumerate(block.keys):
            v[start + i] = point.get(key, 0.0)
    out = {}
    for block in form.rows:
        act = np.bincount(block.row, weights=block.val * v[block.col], minlength=block.n_rows)
        out[block.family] = (act >= block.lower - 1e-9) & (act <= block.upper + 1e-9)
    return out


def test_cumulative_link_by_hand(tmp_path: Path) -> None:
    """f (2 units) to a in p1 and p2: sum_{q<=p2} x_faq - 2 (y_a,p1 + y_a,p2) <= 0; none for p1 (site_link's)."""
    form = strengthened(formulation(tmp_path, phased_site_instance(1000, [("f", 2)])), Strengthening.only("cumulative_rows"))
    link = form.family("cumulative_link")
    assert link.keys == [("f", "a", "p2")]
    x, y = form.column("x"), form.column("y")
    entries = sorted(zip(link.col.tolist(), link.val.tolist()))
    assert entries == [(x.start, 1.0), (x.start + 1, 1.0), (y.start, -2.0), (y.start + 1, -2.0)]
    # One unit moved in each period into a site half opened in p1 meets every spec row (site_link: 1 <= 2 * 0.5
    # twice), but not this one (2 > 2 * 0.5): the relaxation paid half a site for a whole facility.
    point = {("f", "a", "p1"): 1.0, ("f", "a", "p2"): 1.0, ("t", "a", "p1"): 0.5}
    holds = activity(form, point)
    assert all(holds[f].all() for f in holds if f != "cumulative_link")
    assert not holds["cumulative_link"].any()
    # Whole plans (site opened in p1, both units in p2) keep every row.
    assert all(h.all() for h in activity(form, {("f", "a", "p2"): 2.0, ("t", "a", "p1"): 1.0}).values())


def test_cumulative_site_capacity_by_hand(tmp_path: Path) -> None:
    """A site of 10 jobs; f and g (10 jobs each): by the end of p1, 10 x_fa,p1 + 10 x_ga,p1 - 10 y_a,p1 <= 0."""
    form = strengthened(formulation(tmp_path, phased_site_instance(10, [("f", 1), ("g", 1)])),
                        Strengthening.only("cumulative_rows"))
    capacity = form.family("cumulative_site_capacity")
    assert capacity.keys == [("t", "a", "p1")]  # the last period's row is the spec's site_capacity
    assert sorted(capacity.val.tolist()) == [-10.0, 10.0, 10.0]
    # Half of each moved in p1 into a site half opened in p1 and half in p2: the spec's rows hold
    # (site_capacity counts both openings: 10 <= 10), this one does not (10 > 5).
    point = {("f", "a", "p1"): 0.5, ("g", "a", "p1"): 0.5, ("t", "a", "p1"): 0.5, ("t", "a", "p2"): 0.5}
    holds = activity(form, point)
    assert all(holds[f].all() for f in holds if f != "cumulative_site_capacity")
    assert not holds["cumulative_site_capacity"].any()


def test_site_city_cap_by_hand(tmp_path: Path) -> None:
    """a holds 10 residents by p1 and 15 by p2; f (2 units of 10 residents) can bring 20, so the cap binds:
    10 x_fa,p1 - 10 y_a,p1 <= 0 and 10 x_fa,p1 + 10 x_fa,p2 - 15 (y_a,p1 + y_a,p2) <= 0."""
    data = phased_site_instance(1000, [("f", 2)])
    data["facilities"][0]["residents"] = 10
    data["resources"] = [{"id": "res", "use": "residents", "cap": "cap_res", "cap_by_period": {"p1": "cap_res_p1"}}]
    data["cities"][1].update({"cap_res": 15, "cap_res_p1": 10})
    form = strengthened(formulation(tmp_path, data), Strengthening.only("site_city_caps"))
    rows = form.family("site_city_cap")
    assert rows.keys == [("t", "a", "res", "p1"), ("t", "a", "res", "p2")]
    x, y = form.column("x"), form.column("y")
    per_row: dict[int, list[tuple[int, float]]] = {}
    for r, c, v in zip(rows.row.tolist(), rows.col.tolist(), rows.val.tolist()):
        per_row.setdefault(r, []).append((c, v))
    assert sorted(per_row[0]) == [(x.start, 10.0), (y.start, -10.0)]
    assert sorted(per_row[1]) == [(x.start, 10.0), (x.start + 1, 10.0), (y.start, -15.0), (y.start + 1, -15.0)]
    assert rows.upper.tolist() == [0.0, 0.0]
    # One unit in p1 into a site half opened in p1 meets every spec row (site_link 1 <= 2 * 0.5, the cap 10 <= 10)
    # but not this one (10 > 5): the relaxation paid half a site for a whole city's cap.
    holds = activity(form, {("f", "a", "p1"): 1.0, ("t", "a", "p1"): 0.5})
    assert all(holds[f].all() for f in holds if f != "site_city_cap")
    assert not holds["site_city_cap"][0]
    # Whole plans keep every row.
    assert all(h.all() for h in activity(form, {("f", "a", "p1"): 1.0, ("f", "a", "p2"): 0.0,
                                               ("t", "a", "p1"): 1.0}).values())
    # A cap the facilities cannot fill (25 >= 20 by p2) adds no row for that period: the links imply it.
    data["cities"][1]["cap_res"] = 25
    form = strengthened(formulation(tmp_path / "loose", data), Strengthening.only("site_city_caps"))
    assert form.family("site_city_cap").keys == [("t", "a", "res", "p1")]


def target_instance(periods: bool = False, soft: bool = False) -> dict:
    """Source s (target 150 residents), destinations a and b; f: 2 whole units of 100 residents, g: splittable, 50."""
    data = {
        "instance": {"name": "moved-units"},
        "types": [{"id": "t", "cost_per_job_km": 0.001}, {"id": "w", "splittable": True, "cost_per_job_km": 0.001}],
        "sources": [{"city": "s", "target_reduction": 150, "soft": soft, "shortfall_penalty": 5.0}],
        "cities": [{"id": "s", "lon": 116.0, "lat": 40.0, "tier": "core"},
                   {"id": "a", "lon": 117.0, "lat": 40.0, "tier": "large"},
                   {"id": "b", "lon": 118.0, "lat": 40.0, "tier": "large"}],
        "facilities": [{"id": "f", "origin": "s", "type": "t", "count": 2, "jobs": 10, "residents": 100},
                       {"id": "g", "origin": "s", "type": "w", "count": 1, "jobs": 10, "residents": 50}],
    }
    if periods:
        data["instance"].update({"base_year": 2020, "horizon_years": 10})
        data["periods"] = [{"id": "p1", "end_year": 2025}, {"id": "p2", "end_year": 2030}]
        data["sources"][0]["milestones"] = {"p1": 0.4}  # 60 residents by the end of p1
    return data


def test_moved_units_by_hand(tmp_path: Path) -> None:
    """z_f = x_fa + x_fb (f's two whole units); target_units: 100 z_f + 50 x_ga + 50 x_gb >= 150."""
    form = strengthened(formulation(tmp_path, target_instance()), Strengthening.only("moved_units"))
    z, x = form.column("moved_units"), form.column("x")
    assert form.columns[[b.name for b in form.columns].index("moved_units")].keys == ["f"]
    assert form.columns[[b.name for b in form.columns].index("moved_units")].integer.tolist() == [True]
    arcs = form.columns[0].keys  # (f, a), (f, b), (g, a), (g, b)
    assert arcs == [("f", "a"), ("f", "b"), ("g", "a"), ("g", "b")]
    definition = form.family("moved_units_def")
    assert sorted(zip(definition.col.tolist(), definition.val.tolist())) == [
        (x.start, -1.0), (x.start + 1, -1.0), (z.start, 1.0)]
    assert definition.lower.tolist() == definition.upper.tolist() == [0.0]
    units = form.family("target_units")
    assert units.keys == form.family("target").keys == ["s"]
    assert sorted(zip(units.col.tolist(), units.val.tolist())) == [
        (x.start + 2, 50.0), (x.start + 3, 50.0), (z.start, 100.0)]
    assert units.lower.tolist() == [150.0]
    # A plan keeps every row with z its moved units; z at another value breaks the definition.
    plan = {("f", "a"): 1.0, ("f", "b"): 1.0, "f": 2.0}
    assert all(h.all() for h in activity(form, plan).values())
    assert not activity(form, {**plan, "f": 1.0})["moved_units_def"].any()


def test_moved_units_per_period_and_soft_target(tmp_path: Path) -> None:
    """With periods, z_f,p1 counts the moves of p1 and z_f,p2 those of both; a soft target keeps its u_sp."""
    with_periods = dataclasses.replace(Strengthening.only("moved_units"), moved_units_with_periods=True)
    form = strengthened(formulation(tmp_path, target_instance(periods=True, soft=True)), with_periods)
    z, x, u = form.column("moved_units"), form.column("x"), form.column("u")
    block = form.columns[[b.name for b in form.columns].index("moved_units")]
    assert block.keys == [("f", "p1"), ("f", "p2")]
    moves = form.columns[0].keys
    f_moves = {key: x.start + i for i, key in enumerate(moves) if key[0] == "f"}
    definition = form.family("moved_units_def")
    per_row: dict[int, list[tuple[int, float]]] = {}
    for r, c, v in zip(definition.row.tolist(), definition.col.tolist(), definition.val.tolist()):
        per_row.setdefault(r, []).append((c, v))
    assert sorted(per_row[0]) == sorted([(z.start, 1.0), (f_moves["f", "a", "p1"], -1.0), (f_moves["f", "b", "p1"], -1.0)])
    assert sorted(per_row[1]) == sorted([(z.start + 1, 1.0)] + [(c, -1.0) for c in f_moves.values()])
    units = form.family("target_units")
    assert units.keys == form.family("target").keys == [("s", "p1"), ("s", "p2")]
    assert units.lower.tolist() == [60.0, 150.0]
    first = sorted((c, v) for r, c, v in zip(units.row.tolist(), units.col.tolist(), units.val.tolist()) if r == 0)
    g_p1 = sorted(x.start + i for i, key in enumerate(moves) if key[0] == "g" and key[2] == "p1")
    assert first == sorted([(z.start, 100.0), (u.start, 1.0)] + [(c, 50.0) for c in g_p1])
    # One unit of f in p1 and one in p2: z_f,p1 = 1, z_f,p2 = 2 keep every row; 2 by p1 breaks the definition.
    plan = {("f", "a", "p1"): 1.0, ("f", "b", "p2"): 1.0, ("f", "p1"): 1.0, ("f", "p2"): 2.0}
    assert all(h.all() for h in activity(form, plan).values())
    assert not activity(form, {**plan, ("f", "p1"): 2.0})["moved_units_def"].all()


def test_moved_units_need_a_target(tmp_path: Path) -> None:
    """No target row (target 0): no moved_units column, the model as it was."""
    form = formulation(tmp_path, site_instance(130, 40, 5))
    assert not strengthened(form, Strengthening.only("moved_units")).has_column("moved_units")


def test_moved_units_wait_for_their_switch_with_periods(tmp_path: Path) -> None:
    """With plan periods the default leaves them out (they cost time there); moved_units_with_periods adds them."""
    form = formulation(tmp_path, target_instance(periods=True))
    assert not strengthened(form, Strengthening()).has_column("moved_units")
    assert not strengthened(form, Strengthening.only("moved_units")).has_column("moved_units")
    assert strengthened(form, Strengthening.every()).has_column("moved_units")
    assert strengthened(formulation(tmp_path / "one", target_instance()), Strengthening()).has_column("moved_units")


def region_instance() -> dict:
    """Source s; a (east) and b (west) receive; f (10 jobs) and g (30 jobs) may move; 40% of moved jobs east."""
    return {
        "instance": {"name": "shares-over-moves"},
        "types": [{"id": "t", "cost_per_job_km": 0.001}],
        "policy": {"min_region_share": {"east": 0.4}},
        "sources": [{"city": "s", "target_reduction": 0}],
        "cities": [{"id": "s", "lon": 116.0, "lat": 40.0, "tier": "core", "region": "north"},
                   {"id": "a", "lon": 117.0, "lat": 40.0, "tier": "large", "region": "east"},
                   {"id": "b", "lon": 118.0, "lat": 40.0, "tier": "large", "region": "west"}],
        "facilities": [{"id": "f", "origin": "s", "type": "t", "jobs": 10},
                       {"id": "g", "origin": "s", "type": "t", "jobs": 30}],
    }


def test_shares_over_moves_by_hand(tmp_path: Path) -> None:
    """region_share[east]: 10 x_fa + 30 x_ga - 0.4 moved_jobs >= 0 becomes, with moved_jobs = 10 x_fa + 10 x_fb +
    30 x_ga + 30 x_gb: 6 x_fa - 4 x_fb + 18 x_ga - 12 x_gb >= 0; moved_jobs stays in its definition only."""
    plain = formulation(tmp_path, region_instance())
    form = strengthened(plain, Strengthening.only("shares_over_moves"))
    x, total = form.column("x"), form.column("moved_jobs").start
    assert form.columns[0].keys == [("f", "a"), ("f", "b"), ("g", "a"), ("g", "b")]
    share = form.family("region_share")
    assert share.keys == plain.family("region_share").keys == ["east"]
    assert sorted(zip(share.col.tolist(), np.round(share.val, 12).tolist())) == [
        (x.start, 6.0), (x.start + 1, -4.0), (x.start + 2, 18.0), (x.start + 3, -12.0)]
    assert share.lower.tolist() == [0.0] and share.upper.tolist() == [np.inf]
    assert form.family("moved_jobs_def").val.size == plain.family("moved_jobs_def").val.size
    assert total not in share.col.tolist()
    # the same plans keep it: g east and f west (30 of 40 jobs east) holds, g west and f east (10 of 40) does not
    keep = {("f", "b"): 1.0, ("g", "a"): 1.0, None: 40.0}  # None: the key of the one moved_jobs column
    assert activity(form, keep)["region_share"].all() and activity(plain, keep)["region_share"].all()
    lose = {("f", "a"): 1.0, ("g", "b"): 1.0, None: 40.0}
    assert not activity(form, lose)["region_share"].any() and not activity(plain, lose)["region_share"].any()


def test_shares_over_moves_need_a_region_share(tmp_path: Path) -> None:
    data = region_instance()
    del data["policy"]
    plain = formulation(tmp_path, data)
    form = strengthened(plain, Strengthening.only("shares_over_moves"))
    assert [b.family for b in form.rows] == [b.family for b in plain.rows]
    assert all(np.array_equal(a.val, b.val) for a, b in zip(form.rows, plain.rows))


def test_cumulative_rows_need_periods(tmp_path: Path) -> None:
    """One period: nothing accumulates, so the option adds no row."""
    form = formulation(tmp_path, site_instance(130, 40, 5))
    assert not any(b.family.startswith("cumulative") for b in strengthened(form, Strengthening.every()).rows)


def test_dominated_arc_is_the_dearer_of_two_free_destinations(tmp_path: Path) -> None:
    # No site, no cap, no share: f's moves to a (100 km) and b (185 km) differ only in cost.
    data = site_instance(130, 40, 1)
    data["types"][0]["requires_site"] = False
    form = formulation(tmp_path, data)
    assert dominated_arcs(_Data(form.instance, form.derived), form).tolist() == [False, True]
    x = strengthened(form, Strengthening.only("dominated_arcs")).columns[0]
    assert x.upper.tolist() == [1.0, 0.0]
    # A finite cap at the cheap destination ties its arc: nothing is dominated.
    data["resources"] = [{"id": "res", "use": "residents", "cap": "cap_res"}]
    data["cities"][1]["cap_res"] = 100
    form = formulation(tmp_path / "capped", data)
    assert not dominated_arcs(_Data(form.instance, form.derived), form).any()


def test_fixed_bounds_by_hand() -> None:
    # LP optimum 10, known plan 13: a column at 0 with reduced cost 2 may rise by floor(3 / 2) = 1,
    # one with reduced cost 4 not at all; one at its upper bound 5 with rc -1.5 may fall by 2;
    # a continuous column and a basic one (rc 0) keep their bounds.
    lower, upper = np.zeros(5), np.array([3.0, 3.0, 5.0, 3.0, 3.0])
    integer = np.array([True, True, True, False, True])
    value = np.array([0.0, 0.0, 5.0, 0.0, 1.5])
    reduced = np.array([2.0, 4.0, -1.5, 4.0, 0.0])
    new_lower, new_upper = fixed_bounds(lower, upper, integer, value, reduced, 10.0, 13.0)
    assert new_upper.tolist() == [1.0, 0.0, 5.0, 3.0, 3.0]
    assert new_lower.tolist() == [0.0, 0.0, 3.0, 0.0, 0.0]


def test_fixing_keeps_plans_that_cost_exactly_the_bound() -> None:
    # With the known plan's cost equal to the LP's plus one reduced cost, the column may still reach 1.
    new_lower, new_upper = fixed_bounds(np.zeros(1), np.ones(1), np.ones(1, bool), np.zeros(1), np.array([3.0]),
                                        10.0, 13.0)
    assert new_upper.tolist() == [1.0]


def test_reduced_cost_fixing_on_a_real_model_keeps_its_optimum(tmp_path: Path) -> None:
    instance = spatialopt.load(ROOT / "instances" / "hand" / "site-choice.toml")
    plain = spatialopt.solve(instance, gap=1e-9, strengthen=Strengthening.none())
    form, fixing = fix_by_reduced_costs(build(instance, derive(instance)), plain.objective)
    assert fixing.lp_bound is not None and fixing.lp_bound <= plain.objective + 1e-9
    again = spatialopt.solve(instance, gap=1e-9, strengthen=Strengthening.every(), upper_bound=plain.objective)
    assert again.objective == pytest.approx(plain.objective, rel=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_only_switches_one(name: str) -> None:
    chosen = Strengthening.only(name)
    assert [getattr(chosen, n) for n in NAMES] == [n == name for n in NAMES]
    with pytest.raises(ValueError, match="unknown strengthening"):
        Strengthening.only("symmetry")


def test_none_is_the_spec_model(tmp_path: Path) -> None:
    form = formulation(tmp_path, site_instance(130, 40, 5))
    assert strengthened(form, Strengthening.none()) is form


def test_default_reaches_the_committed_reference_cost() -> None:
    """jingjinji-2035's committed reference (solved on the spec's rows): the default strengthening, same cost."""
    reference = json.loads((ROOT / "results" / "reference" / "jingjinji-2035" / "solution.json").read_text())
    instance = spatialopt.load(ROOT / "instances" / "jingjinji-2035" / "instance.toml")
    result = spatialopt.solve(instance, highs_options=reference["solver"]["options"])
    assert result.objective == pytest.approx(reference["objective"], rel=1e-9)


def _reach(data: dict, counts: dict[str, int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        instance = load_dict(Path(folder), data)
    plain = build(instance, derive(instance))
    every = strengthened(plain, Strengthening.every())
    assert_same_model(every)
    before = {b.family: b for b in plain.rows}
    if "site_link" in before and not np.array_equal(every.family("site_link").val, before["site_link"].val):
        counts["capacity_links"] += 1
    if any(b.family.startswith("cover_") for b in every.rows):
        counts["cover_rows"] += 1
    if any(np.any(a.upper != b.upper) for a, b in zip(every.columns, plain.columns)):
        counts["dominated_arcs"] += 1
    if any(b.family.startswith("cumulative_") for b in every.rows):
        counts["cumulative_rows"] += 1
    if every.has_column("moved_units"):
        counts["moved_units"] += 1
    if "region_share" in before and not np.array_equal(every.family("region_share").val, before["region_share"].val):
        counts["shares_over_moves"] += 1
    if any(b.family == "site_city_cap" for b in every.rows):
        counts["site_city_caps"] += 1


@pytest.mark.parametrize("generator", [tiny_instances, tiny_phased_instances], ids=["v11", "phased"])
def test_the_brute_force_generators_reach_each_strengthening(generator: object) -> None:
    """Of the instances the brute-force tests draw, several get each strengthening (so those tests can fail)."""
    counts = dict.fromkeys(("capacity_links", "cover_rows", "dominated_arcs", "cumulative_rows", "moved_units",
                            "shares_over_moves", "site_city_caps"), 0)
    if generator is tiny_instances:  # one period: there is nothing to accumulate
        del counts["cumulative_rows"]
    else:  # the phased brute force draws no region share; the restatement does not depend on periods
        del counts["shares_over_moves"]

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(generator())  # type: ignore[operator]
    def probe(data: dict) -> None:
        _reach(data, counts)

    probe()
    assert all(n >= 2 for n in counts.values()), counts


def test_default_fixing_waits_for_a_large_model_and_a_known_plan() -> None:
    """Below fixing_min_integers integer columns (site-choice has a handful) the default leaves the bounds."""
    instance = spatialopt.load(ROOT / "instances" / "hand" / "site-choice.toml")
    derived = derive(instance)
    plain = spatialopt.solve(instance, gap=1e-9, strengthen=Strengthening.none())
    _, skipped = strong_formulation(instance, derived, Strengthening(), plain.objective)
    assert skipped.lp_bound is None
    _, unknown = strong_formulation(instance, derived, Strengthening.every(), None)
    assert unknown.lp_bound is None
    _, done = strong_formulation(instance, derived, Strengthening.every(), plain.objective)
    assert done.lp_bound is not None
