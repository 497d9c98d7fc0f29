"""Property: on random tiny phased instances the MIP optimum equals exhaustive enumeration (spec v2).

Instances draw plan periods (2 or 3, with period budgets), a discount rate,
milestones (hard and soft), caps by period, facility windows, sites opened
per period, and travel-time bands (``[travel]`` and distances ``minutes``);
they are written as TOML and loaded. The enumeration below is written from
the spec's words alone: each facility's units over every (destination,
period) of its window, each site candidate's opening period (or none), every
row of §4 checked period by period, the objective of §4 with δ_p and Y_p as
explicit sums of yearly factors (the code uses closed forms). Eligibility
comes from ``support.reference_arcs`` plus the minutes band computed here.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from same_model import assert_same_model
from support import assert_brute_force_verdict, load_dict, reference_arcs, reference_distance

import spatialopt
from spatialopt import SolveStatus
from spatialopt.check import check_solution
from spatialopt.derive import derive
from spatialopt.formulation import build
from spatialopt.instance import Instance
from spatialopt.strong_rows import Strengthening, strengthened

TOL = 1e-7
SETTINGS = settings(deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def tiny_phased_instances(draw: st.DrawFn) -> dict:
    n_periods = draw(st.sampled_from([2, 2, 3]))
    ends = [2025, 2030, 2035][:n_periods]
    periods = [{"id": f"p{i + 1}", "end_year": e} for i, e in enumerate(ends)]
    for period in periods:
        if draw(st.integers(0, 3)) == 0:
            period["budget"] = draw(st.sampled_from([10.0, 40.0]))
    ids = [p["id"] for p in periods]
    cities = [{"id": "s0", "lon": 116.0, "lat": 40.0, "cost_index": 1.5, "cap_res": 10**6, "cap_res_p1": 10**6}]
    n_dest = draw(st.integers(2, 3))
    for i in range(n_dest):
        city = {"id": f"d{i}", "lon": draw(st.sampled_from([115.0, 116.5, 117.5])),
                "lat": draw(st.sampled_from([39.5, 40.5])), "cost_index": draw(st.sampled_from([0.5, 1.0, 2.0]))}
        if draw(st.booleans()):
            city["cap_res"] = draw(st.sampled_from([30, 80]))
        if draw(st.booleans()):
            city["cap_res_p1"] = draw(st.sampled_from([0, 20, 40]))
        cities.append(city)
    kind: dict = {"id": "t0", "cost_per_job_km": draw(st.sampled_from([0.0, 0.05])),
                  "annual_cost_per_job": draw(st.sampled_from([0.0, 0.2]))}
    travel = None
    if draw(st.booleans()):
        travel = {"speed_kmh": draw(st.sampled_from([60.0, 120.0])), "detour": draw(st.sampled_from([1.0, 1.3]))}
        kind[draw(st.sampled_from(["max_minutes", "min_minutes"]))] = draw(st.sampled_from([40.0, 80.0]))
    if draw(st.booleans()):
        kind.update(requires_site=True, site_cost=draw(st.sampled_from([5.0, 30.0])))
        if draw(st.booleans()):
            kind["site_capacity_jobs"] = draw(st.sampled_from([20, 50]))
        if draw(st.booleans()):
            kind["min_site_jobs"] = 20
        if draw(st.booleans()):
            kind["max_sites"] = 1
    facilities = []
    for i in range(draw(st.integers(1, 2))):
        fac = {"id": f"f{i}", "origin": "s0", "type": "t0", "count": draw(st.integers(1, 2)),
               "jobs": draw(st.sampled_from([10, 20])), "fixed_cost": draw(st.sampled_from([-5.0, 0.0, 8.0])),
               "must_move": draw(st.integers(0, 3)) == 0}
        first = draw(st.integers(0, n_periods - 1))
        last = draw(st.integers(first, n_periods - 1))
        if draw(st.booleans()):
            fac["earliest"], fac["latest"] = ids[first], ids[last]
        facilities.append(fac)
    source: dict = {"city": "s0", "target_reduction": draw(st.sampled_from([0, 10, 20, 40]))}
    if draw(st.booleans()):
        source["milestones"] = {ids[0]: draw(st.sampled_from([0.25, 0.5, 1.0]))}
    if draw(st.booleans()):
        source.update(soft=True, shortfall_penalty=draw(st.sampled_from([0.5, 3.0])))
    resource = {"id": "res", "use": "residents", "cap": "cap_res"}
    if draw(st.booleans()):
        resource["cap_by_period"] = {"p1": "cap_res_p1"}
    data: dict = {
        "instance": {"name": "tiny-phased", "base_year": 2020, "horizon_years": draw(st.sampled_from([15, 20])),
                     "discount_rate": draw(st.sampled_from([0.0, 0.05, 0.2]))},
        "periods": periods, "types": [kind], "resources": [resource], "sources": [source],
        "cities": cities, "facilities": facilities,
    }
    if travel is not None:
        data["travel"] = travel
    if draw(st.booleans()):
        row: dict = {"from": "s0", "to": "d0", "minutes": draw(st.sampled_from([30.0, 90.0]))}
        if draw(st.booleans()):
            row["km"] = draw(st.sampled_from([20.0, 150.0]))
        data["distances"] = [row]
        if "min_minutes" in kind or "max_minutes" in kind:  # the table must time every pair without [travel]
            if travel is None:
                data["distances"] += [{"from": "s0", "to": f"d{i}", "minutes": 50.0} for i in range(1, n_dest)]
    elif travel is None and ("min_minutes" in kind or "max_minutes" in kind):
        data["travel"] = {"speed_kmh": 90.0}
    if draw(st.booleans()):
        data["policy"] = {"budget": draw(st.sampled_from([20.0, 60.0]))}
    return data


def reference_minutes(instance: Instance, a: str, b: str) -> float:
    table = instance.distances
    if table is not None:
        for x, y, minutes in zip(table["from"], table["to"], table["minutes"]):
            if {x, y} == {a, b} and minutes == minutes:
                return float(minutes)
    travel = instance.travel
    assert travel is not None
    return 60.0 * travel.detour * reference_distance(instance, a, b) / travel.speed_kmh


def brute_force_phased(instance: Instance) -> float | None:
    """Optimum of spec v2 §4 by enumerating every integer plan over periods; None when infeasible."""
    arcs = sorted(reference_arcs(instance))
    fac = instance.facilities
    kind = instance.types["t0"]
    if kind.min_minutes is not None or kind.max_minutes is not None:
        lo = kind.min_minutes or 0.0
        hi = math.inf if kind.max_minutes is None else kind.max_minutes
        arcs = [(f, d) for f, d in arcs if lo <= reference_minutes(instance, fac.at[f, "origin"], d) <= hi]
    periods = instance.periods
    n_periods = len(periods)
    position = {p.id: i for i, p in enumerate(periods)}
    rate, horizon = instance.discount_rate, int(instance.horizon_years)
    starts = [0] + [p.end_year - instance.base_year for p in periods[:-1]]
    delta = [(1 + rate) ** -a for a in starts]
    years = [sum((1 + rate) ** -t for t in range(a, horizon)) for a in starts]
    slots = [(f, d, p) for f, d in arcs for p in range(position[fac.at[f, "earliest"]], position[fac.at[f, "latest"]] + 1)]
    # per facility, every way to spread its units over its slots
    per_facility = []
    for f, row in fac.iterrows():
        mine = [i for i, (g, _, _) in enumerate(slots) if g == f]
        options = []
        for units in itertools.product(range(int(row["count"]) + 1), repeat=len(mine)):
            if sum(units) > row["count"] or (row["must_move"] and sum(units) != row["count"]):
                continue
            vec = np.zeros(len(slots))
            vec[mine] = units
            options.append(vec)
        if not options:
            return None
        per_facility.append(options)
    X = np.array([np.sum(c, axis=0) for c in itertools.product(*per_facility)]).reshape(-1, len(slots)) \
        if slots else np.zeros((1, 0))
    cities = instance.cities
    jobs = np.array([fac.at[f, "jobs"] for f, _, _ in slots])
    res = np.array([fac.at[f, "residents"] for f, _, _ in slots])
    when = np.array([p for _, _, p in slots], dtype=int)
    dest = np.array([d for _, d, _ in slots], dtype=object)
    km = np.array([reference_distance(instance, "s0", d) for _, d, _ in slots])
    r = np.array([fac.at[f, "fixed_cost"] for f, _, _ in slots]) + kind.cost_per_job_km * jobs * km
    annual = kind.annual_cost_per_job * jobs * np.array([cities.at[d, "cost_index"] - cities.at["s0", "cost_index"] for d in dest])
    w = instance.weights
    cost = np.array([w.relocation * delta[p] * r[i] + w.operating * years[p] * annual[i] for i, p in enumerate(when)])
    src = instance.sources["s0"]
    rows = [(position[p], share * src.target_persons) for p, share in src.milestones.items()] + [(n_periods - 1, src.target_persons)]
    ok = np.ones(len(X), bool)
    shortfall = np.zeros(len(X))
    for p, target in rows:
        by_end = X[:, when <= p] @ res[when <= p]
        if src.soft:
            shortfall += src.shortfall_penalty * np.maximum(0.0, target - by_end)
        else:
            ok &= by_end >= target - TOL
    resource = instance.resources[0]
    for d in set(dest):
        for p in range(n_periods):
            column = resource.cap if p == n_periods - 1 else resource.cap_by_period.get(periods[p].id)
            if column is None:
                continue
            value = (instance.city_caps if p == n_periods - 1 else instance.city_caps_by_period[periods[p].id]).at[d, "res"]
            if math.isfinite(value):
                sel = (dest == d) & (when <= p)
                ok &= X[:, sel] @ res[sel] <= value + TOL
    spending = X * r  # per plan and slot, undiscounted
    candidates = sorted(set(dest)) if kind.requires_site else []
    best = None
    for opening in itertools.product([None, *range(n_periods)], repeat=len(candidates)):
        opened = {d: p for d, p in zip(candidates, opening) if p is not None}
        feasible = ok.copy()
        if kind.requires_site:
            if len(opened) > kind.max_sites:
                continue
            for i, (_, d, p) in enumerate(slots):
                if d not in opened or opened[d] > p:
                    feasible &= X[:, i] == 0
            for d in candidates:
                load = X[:, dest == d] @ jobs[dest == d]
                feasible &= load <= (kind.site_capacity_jobs if d in opened else 0.0) + TOL
                if d in opened:
                    feasible &= load >= kind.min_site_jobs - TOL
        site_spend = [sum(kind.site_cost for q in opened.values() if q == p) for p in range(n_periods)]
        if instance.policy.budget is not None:
            feasible &= spending.sum(axis=1) + sum(site_spend) <= instance.policy.budget + TOL
        for p, period in enumerate(periods):
            if period.budget is not None:
                feasible &= spending[:, when == p].sum(axis=1) + site_spend[p] <= period.budget + TOL
        if not feasible.any():
            continue
        sites = w.sites * sum(delta[q] * kind.site_cost for q in opened.values())
        objective = X @ cost + sites + w.shortfall * shortfall
        value = float(objective[feasible].min())
        best = value if best is None else min(best, value)
    return best


@settings(SETTINGS, max_examples=60)
@given(tiny_phased_instances())
def test_phased_mip_optimum_equals_brute_force(data: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        instance = load_dict(Path(folder), data)
    expected = brute_force_phased(instance)
    results = [spatialopt.solve(instance, builder=b, gap=1e-9) for b in ("matrix", "pyomo")]
    for result in results:
        if expected is None:
            assert result.status == SolveStatus.INFEASIBLE
        else:
            assert result.status == SolveStatus.OPTIMAL, result.reasons
            assert result.objective == pytest.approx(expected, rel=1e-7, abs=1e-6)
            report = check_solution(instance, result.to_solution_dict())
            assert report.ok, report.violations


@settings(SETTINGS, max_examples=60)
@given(tiny_phased_instances())
def test_both_back_ends_build_the_same_phased_model(data: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        instance = load_dict(Path(folder), data)
    assert_same_model(build(instance, derive(instance)))


@settings(SETTINGS, max_examples=40)
@given(tiny_phased_instances())
def test_strengthened_phased_optimum_equals_brute_force(data: dict) -> None:
    """Every strengthening on (reduced-cost fixing given the optimum as the known plan's cost)."""
    with tempfile.TemporaryDirectory() as folder:
        instance = load_dict(Path(folder), data)
    expected = brute_force_phased(instance)
    assert_same_model(strengthened(build(instance, derive(instance)), Strengthening.every()))
    result = spatialopt.solve(instance, gap=1e-9, strengthen=Strengthening.every(), upper_bound=expected)
    assert_brute_force_verdict(instance, result, expected)


def _rows_of(data: dict) -> set[str]:
    """The v2 rows a drawn instance's model holds: families, and target and capacity rows of a period before the last."""
    with tempfile.TemporaryDirectory() as folder:
        instance = load_dict(Path(folder), data)
    form = build(instance, derive(instance))
    last = instance.periods[-1].id
    found = {b.family for b in form.rows if b.n_rows}
    for family in ("target", "capacity"):
        if family in found and any(k[-1] != last for k in form.family(family).keys):
            found.add(f"{family} before the last period")
    if form.column("x").stop > form.column("x").start and np.any(form.move_period > 0):
        found.add("moves after the first period")
    return found


@pytest.mark.parametrize("what", ["site_open", "period_budget", "site_link", "target before the last period",
                                  "capacity before the last period", "moves after the first period"])
def test_the_phased_generator_reaches_each_v2_row(what: str) -> None:
    """The instances above exercise each v2 row: hypothesis finds one holding it."""
    from hypothesis import Phase, find

    data = find(tiny_phased_instances(), lambda d: what in _rows_of(d),
                settings=settings(SETTINGS, max_examples=300, database=None, phases=[Phase.generate]))
    assert what in _rows_of(data)


@settings(SETTINGS, max_examples=40)
@given(tiny_phased_instances())
def test_root_pass_phased_optimum_equals_brute_force(data: dict) -> None:
    """Every strengthening on and no known plan's cost: the root pass (guided start, reduced-cost
    fixing against it) runs on every size and must keep enumeration's optimum."""
    with tempfile.TemporaryDirectory() as folder:
        instance = load_dict(Path(folder), data)
    expected = brute_force_phased(instance)
    result = spatialopt.solve(instance, gap=1e-9, strengthen=Strengthening.every())
    assert_brute_force_verdict(instance, result, expected)
