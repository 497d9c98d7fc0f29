"""Property: on random tiny instances the MIP optimum equals exhaustive enumeration.

Instances are drawn over every feature family of the spec (tiers, distance
bands, clusters, sites with costs/capacities/minimums/counts, resources with
caps and arc overrides, hard and soft targets, min shares, budget,
destination and region shares, weights, distances, arcs and sites tables)
and written as TOML, so the loader is exercised too. The expected optimum
comes from :func:`support.brute_force`, which enumerates every integer plan.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from same_model import assert_same_model
from support import assert_brute_force_verdict, brute_force, load_dict, solve_checked

import spatialopt
from spatialopt import SolveStatus
from spatialopt.derive import derive
from spatialopt.formulation import build
from spatialopt.strong_rows import Strengthening, strengthened

TIERS = ["large", "medium", "large", "medium", ""]
REGIONS = ["east", "west", ""]
CLUSTERS = ["c1", "c2", ""]


def rarely(draw: st.DrawFn) -> bool:
    """True one time in four: rules that cut plans away are drawn sparingly."""
    return draw(st.integers(0, 3)) == 0


@st.composite
def tiny_instances(draw: st.DrawFn) -> dict:
    n_dest = draw(st.integers(2, 3))
    n_sources = draw(st.integers(1, 2))
    cities = []
    for i in range(n_sources):
        cities.append({"id": f"s{i}", "lon": 116.0 + i * 0.5, "lat": 40.0, "tier": "core", "region": "east",
                       "cluster": draw(st.sampled_from(["c1", "c2"])), "cost_index": 1.5,
                       # Sources receive nothing; their caps only make the columns exist.
                       "cap_res": 10**6, "cap_land": 10**6})
    for i in range(n_dest):
        city = {
            "id": f"d{i}",
            "lon": draw(st.sampled_from([115.0, 116.5, 117.5, 118.5])),
            "lat": draw(st.sampled_from([38.5, 39.5, 40.5])),
            "tier": draw(st.sampled_from(TIERS)),
            "region": draw(st.sampled_from(REGIONS)),
            "cluster": draw(st.sampled_from(CLUSTERS)),
            "cost_index": draw(st.sampled_from([0.5, 1.0, 2.0])),
        }
        cap = draw(st.one_of(st.none(), st.sampled_from([50, 120, 300])))
        if cap is not None:
            city["cap_res"] = cap
        cities.append(city)

    n_types = draw(st.integers(1, 2))
    types = []
    for k in range(n_types):
        kind = {
            "id": f"t{k}",
            "household_factor": draw(st.sampled_from([1.0, 2.0])),
            "cost_per_job_km": draw(st.sampled_from([0.0, 0.01])),
            "annual_cost_per_job": draw(st.sampled_from([0.0, 0.1])),
            "access_cost_per_unit_km": draw(st.sampled_from([0.0, 0.02])),
        }
        if rarely(draw):
            kind["allowed_tiers"] = draw(st.lists(st.sampled_from(["large", "medium"]), min_size=1, max_size=2, unique=True))
        if rarely(draw):
            kind["min_km"] = 50.0
        if rarely(draw):
            kind["max_km"] = 250.0
        kind["same_cluster"] = rarely(draw)
        if draw(st.booleans()):
            kind["requires_site"] = True
            kind["site_cost"] = draw(st.sampled_from([0.0, 5.0, 40.0]))
            if draw(st.booleans()):
                kind["site_capacity_jobs"] = draw(st.sampled_from([80, 200]))
            if draw(st.booleans()):
                kind["min_site_jobs"] = draw(st.sampled_from([10, 40]))
            if draw(st.booleans()):
                kind["min_sites"] = 1
            if draw(st.booleans()):
                kind["max_sites"] = draw(st.sampled_from([1, 2]))
                kind["min_sites"] = min(kind.get("min_sites", 0), kind["max_sites"])
        types.append(kind)

    n_fac = draw(st.integers(1, 3))
    facilities = []
    for i in range(n_fac):
        facilities.append({
            "id": f"f{i}",
            "origin": f"s{draw(st.integers(0, n_sources - 1))}",
            "type": f"t{draw(st.integers(0, n_types - 1))}",
            "count": draw(st.integers(1, 2)),
            "jobs": draw(st.sampled_from([10, 40, 70])),
            "service_units": draw(st.sampled_from([0, 5])),
            "fixed_cost": draw(st.sampled_from([-20.0, 0.0, 3.0, 15.0])),
            "must_move": rarely(draw),
            "land": draw(st.sampled_from([0, 1, 3])),
        })

    sources = []
    for i in range(n_sources):
        src: dict = {"city": f"s{i}", "target_reduction": draw(st.sampled_from([0, 20, 60, 150]))}
        if draw(st.booleans()):
            src["soft"] = True
            src["shortfall_penalty"] = draw(st.sampled_from([0.0, 0.5, 5.0]))
        if rarely(draw):
            src["min_share"] = {f"t{draw(st.integers(0, n_types - 1))}": draw(st.sampled_from([0.3, 0.6]))}
        sources.append(src)

    data: dict = {
        "instance": {"name": "tiny", "horizon_years": draw(st.sampled_from([0, 10]))},
        "types": types,
        "resources": [{"id": "res", "use": "residents", "cap": "cap_res"}],
        "sources": sources,
        "cities": cities,
        "facilities": facilities,
    }
    if draw(st.booleans()):
        data["resources"].append({"id": "land", "use": "land", "cap": "cap_land"})
        for city in cities[n_sources:]:
            if draw(st.booleans()):
                city["cap_land"] = draw(st.sampled_from([2, 4]))
    policy: dict = {}
    if draw(st.booleans()):
        policy["budget"] = draw(st.sampled_from([40.0, 200.0, 1000.0]))
    if draw(st.booleans()):
        policy["max_destination_share"] = draw(st.sampled_from([0.6, 0.9]))
    regions = sorted({c["region"] for c in cities[n_sources:] if c["region"]})
    if regions and rarely(draw):
        policy["min_region_share"] = {draw(st.sampled_from(regions)): draw(st.sampled_from([0.2, 0.5]))}
    if policy:
        data["policy"] = policy
    if draw(st.booleans()):
        data["objective"] = {"weights": {
            name: draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))
            for name in ("relocation", "operating", "access", "sites", "shortfall")
        }}
    dest_ids = [c["id"] for c in cities[n_sources:]]
    if draw(st.booleans()):
        arcs = []
        for f in facilities:
            for d in dest_ids:
                if not rarely(draw):
                    arc = {"facility": f["id"], "destination": d}
                    if draw(st.booleans()):
                        arc["cost"] = draw(st.sampled_from([-10.0, 2.0, 25.0]))
                    if draw(st.booleans()):
                        arc["use_res"] = draw(st.sampled_from([0.0, 30.0, 100.0]))
                    arcs.append(arc)
        if arcs:
            data["arcs"] = arcs
    site_types = [t["id"] for t in types if t.get("requires_site")]
    if site_types and draw(st.booleans()):
        rows = []
        for t in site_types:
            for d in dest_ids:
                if draw(st.booleans()):
                    row = {"type": t, "city": d}
                    if draw(st.booleans()):
                        row["site_cost"] = draw(st.sampled_from([1.0, 30.0]))
                    if draw(st.booleans()):
                        row["capacity_jobs"] = draw(st.sampled_from([50, 200]))
                    rows.append(row)
        if rows:
            data["sites"] = rows
    if draw(st.booleans()):
        data["distances"] = [{"from": "s0", "to": dest_ids[0], "km": draw(st.sampled_from([10.0, 50.0, 250.0, 400.0]))}]
    return data


@pytest.mark.slow
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tiny_instances())
def test_mip_optimum_equals_brute_force(data: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        instance = load_dict(Path(folder), data)
        expected = brute_force(instance)
        result = solve_checked(instance)
        if expected is None:
            assert result.status == SolveStatus.INFEASIBLE
        else:
            assert result.status == SolveStatus.OPTIMAL
            assert result.objective == pytest.approx(expected, rel=1e-7, abs=1e-6)


@pytest.mark.slow
@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tiny_instances())
def test_strengthened_optimum_equals_brute_force(data: dict) -> None:
    """Every strengthening on (reduced-cost fixing given the optimum itself as the known plan's cost):
    the same verdict and optimum as enumeration, the same strengthened model from both back ends."""
    with tempfile.TemporaryDirectory() as folder:
        instance = load_dict(Path(folder), data)
        expected = brute_force(instance)
        assert_same_model(strengthened(build(instance, derive(instance)), Strengthening.every()))
        result = spatialopt.solve(instance, gap=1e-9, strengthen=Strengthening.every(), upper_bound=expected)
        assert_brute_force_verdict(instance, result, expected)


@pytest.mark.slow
@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tiny_instances())
def test_root_pass_optimum_equals_brute_force(data: dict) -> None:
    """Every strengthening on and no known plan's cost: the root pass runs on every size (its guided
    start, then reduced-cost fixing against the best start), and must keep enumeration's optimum."""
    with tempfile.TemporaryDirectory() as folder:
        instance = load_dict(Path(folder), data)
        expected = brute_force(instance)
        result = spatialopt.solve(instance, gap=1e-9, strengthen=Strengthening.every())
        assert_brute_force_verdict(instance, result, expected)
