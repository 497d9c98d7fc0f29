"""Unit tests of the independent checker (spatialopt.check).

One tiny instance, built directly as an ``Instance`` (no files, no model),
and one hand-made valid solution for it. Every other test corrupts a deep copy
of that solution (or replaces one field of the instance) and checks that the
report names the right constraint family.

The instance, with every number used below
------------------------------------------
Cities (distances come from the distances table, two of its rows written
"backwards" to test that it is read in both directions; coordinates are far
from those numbers so a haversine fallback would show):

=====  ======  ======  =======  ==========  ================
city   tier    region  cluster  cost_index  cap_residents
=====  ======  ======  =======  ==========  ================
core   mega    north   A        2.0         (none) - source
d1     large   north   A        1.0         1000
d2     medium  south   B        1.5         (none)
d3     county  south   A        1.0         (none)
=====  ======  ======  =======  ==========  ================

dist(core, d1) = 100, dist(core, d2) = 200, dist(core, d3) = 300 km.

Types:

- ``mfg``: tiers large/medium, 50–250 km, requires a site (site_cost 10,
  capacity 500 jobs, min_site_jobs 100, 1–2 sites), cost_per_job_km 0.001,
  annual_cost_per_job 0.01. Sites table rows: (mfg, d1) with the type's
  values, (mfg, d2) with site_cost 12 and capacity 250.
- ``uni``: every tier, 150–300 km, splittable, cost_per_job_km 0.002,
  access_cost_per_unit_km 0.01.

Facilities (origin core), horizon 10 years:

====  ====  =====  ====  =========  =============  ==========  =========
id    type  count  jobs  residents  service_units  fixed_cost  must_move
====  ====  =====  ====  =========  =============  ==========  =========
f1    mfg   2      100   150        0              5           no
f2    mfg   1      200   300        0              0           yes
f3    uni   1      50    50         10             1           no
====  ====  =====  ====  =========  =============  ==========  =========

Arcs table lists (f1,d1), (f1,d2), (f2,d1), (f3,d1), (f3,d2) with cost 3,
(f3,d3), (f3,core); (f2,d2) is *not* listed.

Source core: hard, target 600, core_population 10000, area 10 km²,
min_share mfg 0.5, uni 0.9. Policy: budget 100, max_destination_share 0.95,
min_region_share south 0.1.

The valid solution: site (mfg, d1); f1→d1 2 units, f2→d1 1, f3→d2 0.5,
f3→d3 0.5.

- per unit: f1→d1 r = 5 + 0.001·100·100 = 15, p = 10·0.01·100·(1−2) = −10;
  f2→d1 r = 0.001·200·100 = 20, p = −20; f3→d2 r = 3 (arc cost),
  a = 0.01·10·200 = 20; f3→d3 r = 1 + 0.002·50·300 = 31, a = 30.
- components: relocation 2·15 + 20 + 0.5·3 + 0.5·31 = 67, operating
  2·(−10) − 20 = −40, access 0.5·20 + 0.5·30 = 25, sites 10, shortfall 0;
  objective 67 − 40 + 25 + 10 = 62.
- moved residents 2·150 + 300 + 50 = 650 ≥ 600; density 1000 → 935.
- d1 receives 600 residents (cap 1000; share 600/650 = 0.923 ≤ 0.95) and
  400 mfg jobs (site capacity 500, min 100); south receives 50 of 450 jobs
  (0.111 ≥ 0.1); mfg jobs moved 400 ≥ 0.5·400; uni jobs 50 ≥ 0.9·50;
  budget 67 + 10 = 77 ≤ 100.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from spatialopt.check import CheckReport, check_solution, haversine_km
from spatialopt.errors import SolutionFileError
from spatialopt.instance import FacilityType, Instance, Policy, Resource, Source, Weights
from spatialopt.result_folder import load_solution

NAN = math.nan
INF = math.inf


# --------------------------------------------------------------------------- builders


def make_instance(**changes: Any) -> Instance:
    """The module docstring's instance; keyword arguments replace Instance fields."""
    cities = pd.DataFrame(
        {
            "id": ["core", "d1", "d2", "d3"],
            "name": ["Core", "D1", "D2", "D3"],
            "lon": [116.4, 10.0, -70.0, 150.0],
            "lat": [39.9, 50.0, -30.0, -30.0],
            "tier": ["mega", "large", "medium", "county"],
            "region": ["north", "north", "south", "south"],
            "cluster": ["A", "A", "B", "A"],
            "population": [NAN, NAN, NAN, NAN],
            "cost_index": [2.0, 1.0, 1.5, 1.0],
        }
    ).set_index("id")
    city_caps = pd.DataFrame({"id": ["core", "d1", "d2", "d3"], "residents": [INF, 1000.0, INF, INF]}).set_index("id")
    facilities = pd.DataFrame(
        {
            "id": ["f1", "f2", "f3"],
            "origin": ["core", "core", "core"],
            "type": ["mfg", "mfg", "uni"],
            "count": [2, 1, 1],
            "jobs": [100.0, 200.0, 50.0],
            "residents": [150.0, 300.0, 50.0],
            "service_units": [0.0, 0.0, 10.0],
            "fixed_cost": [5.0, 0.0, 1.0],
            "must_move": [False, True, False],
        }
    ).set_index("id")
    facility_use = facilities[["residents"]].copy()
    arcs = pd.DataFrame(
        {
            "facility": ["f1", "f1", "f2", "f3", "f3", "f3", "f3"],
            "destination": ["d1", "d2", "d1", "d1", "d2", "d3", "core"],
            "cost": [NAN, NAN, NAN, NAN, 3.0, NAN, NAN],
            "use_residents": [NAN] * 7,
        }
    )
    sites = pd.DataFrame({"type": ["mfg", "mfg"], "city": ["d1", "d2"], "site_cost": [NAN, 12.0],
                          "capacity_jobs": [NAN, 250.0]})
    distances = pd.DataFrame({"from": ["core", "d2", "core"], "to": ["d1", "core", "d3"], "km": [100.0, 200.0, 300.0]})
    types = {
        "mfg": FacilityType(
            id="mfg", allowed_tiers=("large", "medium"), min_km=50.0, max_km=250.0, cost_per_job_km=0.001,
            annual_cost_per_job=0.01, requires_site=True, site_cost=10.0, site_capacity_jobs=500.0,
            min_site_jobs=100.0, min_sites=1, max_sites=2,
        ),
        "uni": FacilityType(
            id="uni", min_km=150.0, max_km=300.0, splittable=True, cost_per_job_km=0.002,
            access_cost_per_unit_km=0.01,
        ),
    }
    source = Source(
        city="core", target_persons=600.0, target_form="target_reduction", target_value=600.0,
        core_population=10000.0, core_area_km2=10.0, min_share={"mfg": 0.5, "uni": 0.9},
    )
    fields: dict[str, Any] = dict(
        name="tiny", types=types, resources=(Resource(id="residents", use="residents", cap="cap_residents"),),
        sources={"core": source}, cities=cities, city_caps=city_caps, facilities=facilities,
        facility_use=facility_use, arcs=arcs, sites=sites, distances=distances,
        policy=Policy(budget=100.0, max_destination_share=0.95, min_region_share={"south": 0.1}),
        horizon_years=10.0,
    )
    fields.update(changes)
    return Instance(**fields)


def with_type(inst: Instance, type_id: str, **changes: Any) -> Instance:
    types = dict(inst.types)
    types[type_id] = dataclasses.replace(types[type_id], **changes)
    return dataclasses.replace(inst, types=types)


def with_source(inst: Instance, **changes: Any) -> Instance:
    return dataclasses.replace(inst, sources={"core": dataclasses.replace(inst.sources["core"], **changes)})


def with_policy(inst: Instance, **changes: Any) -> Instance:
    return dataclasses.replace(inst, policy=dataclasses.replace(inst.policy, **changes))


VALID: dict[str, Any] = {
    "instance": "tiny",
    "instance_sha256": "",
    "status": "optimal",
    "objective": 62.0,
    "bound": 62.0,
    "gap": 0.0,
    "components": {"relocation": 67.0, "operating": -40.0, "access": 25.0, "sites": 10.0, "shortfall": 0.0},
    "assignments": [
        {"facility": "f1", "destination": "d1", "units": 2.0},
        {"facility": "f2", "destination": "d1", "units": 1.0},
        {"facility": "f3", "destination": "d2", "units": 0.5},
        {"facility": "f3", "destination": "d3", "units": 0.5},
    ],
    "sites": [{"type": "mfg", "city": "d1"}],
    "sources": [
        {"city": "core", "target": 600.0, "moved_residents": 650.0, "shortfall": 0.0,
         "density_before": 1000.0, "density_after": 935.0}
    ],
    "solver": {"name": "highs", "version": "1.16.0", "seconds": 0.1, "options": {"mip_rel_gap": 1e-6}},
}


def valid() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def check(solution: dict[str, Any], inst: Instance | None = None) -> CheckReport:
    return check_solution(inst if inst is not None else make_instance(), solution)


def assert_fails(report: CheckReport, family: str, *words: str) -> None:
    """The report has a line of ``family`` that contains every one of ``words``."""
    assert not report.ok
    lines = [line for line in report.violations if line.startswith(family + ":")]
    assert lines, f"no {family!r} violation in:\n{report}"
    assert any(all(w in line for w in words) for line in lines), f"no {family!r} line with {words} in:\n{report}"


def set_units(sol: dict[str, Any], facility: str, destination: str, units: float) -> None:
    for row in sol["assignments"]:
        if row["facility"] == facility and row["destination"] == destination:
            row["units"] = units
            return
    sol["assignments"].append({"facility": facility, "destination": destination, "units": units})


def drop(sol: dict[str, Any], facility: str, destination: str) -> None:
    sol["assignments"] = [
        r for r in sol["assignments"] if (r["facility"], r["destination"]) != (facility, destination)
    ]


# --------------------------------------------------------------------------- the valid solution


def test_valid_solution_passes_with_hand_worked_numbers() -> None:
    """Components 67 / −40 / 25 / 10 / 0 and objective 62 (module docstring)."""
    report = check(valid())
    assert report.ok, str(report)
    assert report.violations == []
    assert report.components == pytest.approx(
        {"relocation": 67.0, "operating": -40.0, "access": 25.0, "sites": 10.0, "shortfall": 0.0}, rel=1e-12
    )
    assert report.objective == pytest.approx(62.0, rel=1e-12)


def test_weights_scale_the_objective_not_the_components() -> None:
    """Weights relocation 2, access 0: objective 2·67 − 40 + 0·25 + 10 = 104; components unchanged."""
    inst = make_instance(weights=Weights(relocation=2.0, access=0.0))
    sol = valid()
    sol["objective"] = sol["bound"] = 104.0
    report = check(sol, inst)
    assert report.ok, str(report)
    assert report.objective == pytest.approx(104.0)


def test_noise_within_tolerance_passes() -> None:
    """Solver noise: units 2 + 1e-9 (integral within 1e-6), objective 62·(1 + 5e-7) are valid."""
    sol = valid()
    set_units(sol, "f1", "d1", 2.0 + 1e-9)
    sol["objective"] = 62.0 * (1 + 5e-7)
    sol["gap"] = (sol["objective"] - 62.0) / sol["objective"]
    assert check(sol).ok, str(check(sol))


def test_soft_source_shortfall_is_priced() -> None:
    """Soft target 700, penalty 2: u = 700 − 650 = 50, shortfall component 100, objective 162."""
    inst = with_source(make_instance(), soft=True, shortfall_penalty=2.0, target_persons=700.0, target_value=700.0)
    sol = valid()
    sol["components"]["shortfall"] = 100.0
    sol["objective"] = sol["bound"] = 162.0
    sol["sources"][0].update(target=700.0, shortfall=50.0)
    report = check(sol, inst)
    assert report.ok, str(report)
    assert report.components["shortfall"] == pytest.approx(100.0)

    sol["components"]["shortfall"] = 0.0  # as if u_s were forgotten
    assert_fails(check(sol, inst), "components", "shortfall")


def test_densities_are_null_without_core_area() -> None:
    """No core_area_km2: density_before/after must be null; 1000 and 935 are then wrong."""
    inst = with_source(make_instance(), core_area_km2=None)
    report = check(valid(), inst)
    assert_fails(report, "sources", "density_before")
    sol = valid()
    sol["sources"][0].update(density_before=None, density_after=None)
    assert check(sol, inst).ok


# --------------------------------------------------------------------------- §4 families


def test_assign_more_units_than_count() -> None:
    """f1 count 2, 3 units to d1: Σ_d x = 3 > 2."""
    sol = valid()
    set_units(sol, "f1", "d1", 3.0)
    assert_fails(check(sol), "assign", "'f1'", "3", "count 2")


def test_assign_must_move_equality() -> None:
    """f2 must_move (count 1) left unlisted: Σ_d x = 0 ≠ 1 (an equality, not ≤)."""
    sol = valid()
    drop(sol, "f2", "d1")
    assert_fails(check(sol), "assign", "'f2'", "must_move")


def test_assign_nonpositive_units() -> None:
    """§5 lists only arcs with units > 0: f3→d3 with units 0 (f3 still moves 0.5 ≤ 1)."""
    sol = valid()
    set_units(sol, "f3", "d3", 0.0)
    assert_fails(check(sol), "assign", "units=0", "> 0")


def test_target_hard_source() -> None:
    """f1 moves 1 unit instead of 2: residents 150 + 300 + 50 = 500 < 600."""
    sol = valid()
    set_units(sol, "f1", "d1", 1.0)
    assert_fails(check(sol), "target", "500", "600")


def test_min_share() -> None:
    """Drop f3→d3: uni jobs moved 0.5·50 = 25 < 0.9·50 = 45 (target still 625 ≥ 600)."""
    sol = valid()
    drop(sol, "f3", "d3")
    report = check(sol)
    assert_fails(report, "min_share", "'uni'", "25", "45")
    assert "target" not in report.families


def test_capacity() -> None:
    """cap_residents(d1) = 550: d1 receives 2·150 + 300 = 600 > 550."""
    caps = make_instance().city_caps.copy()
    caps.loc["d1", "residents"] = 550.0
    assert_fails(check(valid(), make_instance(city_caps=caps)), "capacity", "'d1'", "600", "550")


def test_capacity_uses_arc_use_override() -> None:
    """Arc (f1,d1) use_residents 400 replaces 150: d1 uses 2·400 + 300 = 1100 > 1000.

    The override replaces the use in capacity rows only: moved residents,
    the target and destination share still count 150 per f1 unit.
    """
    inst = make_instance()
    arcs = inst.arcs.copy()
    arcs.loc[(arcs.facility == "f1") & (arcs.destination == "d1"), "use_residents"] = 400.0
    report = check(valid(), dataclasses.replace(inst, arcs=arcs))
    assert_fails(report, "capacity", "'d1'", "1100", "1000")
    assert report.families == {"capacity"}


def test_capacity_override_can_lower_the_use() -> None:
    """Cap 550 and arc (f1,d1) use_residents 100: 2·100 + 300 = 500 ≤ 550, valid."""
    inst = make_instance()
    caps = inst.city_caps.copy()
    caps.loc["d1", "residents"] = 550.0
    arcs = inst.arcs.copy()
    arcs.loc[(arcs.facility == "f1") & (arcs.destination == "d1"), "use_residents"] = 100.0
    report = check(valid(), dataclasses.replace(inst, arcs=arcs, city_caps=caps))
    assert report.ok, str(report)


def test_site_link() -> None:
    """No site listed at d1: f1 (2 units) and f2 (1 unit) move to d1 with y(mfg,d1) = 0."""
    sol = valid()
    sol["sites"] = []
    report = check(sol)
    assert_fails(report, "site_link", "'f1'", "'d1'")
    assert_fails(report, "site_link", "'f2'", "'d1'")


def test_site_capacity_uses_the_sites_row() -> None:
    """Sites row (mfg,d1) capacity_jobs 300 replaces the type's 500: 400 jobs > 300."""
    inst = make_instance()
    sites = inst.sites.copy()
    sites.loc[sites.city == "d1", "capacity_jobs"] = 300.0
    report = check(valid(), dataclasses.replace(inst, sites=sites))
    assert_fails(report, "site_capacity", "'d1'", "400", "300")
    assert report.families == {"site_capacity"}


def test_site_min() -> None:
    """An empty (mfg, d2) site also opened: 0 jobs < min_site_jobs 100 (and its cost 12 is unreported)."""
    sol = valid()
    sol["sites"].append({"type": "mfg", "city": "d2"})
    report = check(sol)
    assert_fails(report, "site_min", "'d2'", "100")
    assert report.components["sites"] == pytest.approx(22.0)  # 10 + the row's 12


def test_site_count() -> None:
    """min_sites 2 for mfg, one site open: 1 < 2; and max_sites 0: 1 > 0."""
    assert_fails(check(valid(), with_type(make_instance(), "mfg", min_sites=2)), "site_count", "1", "min_sites 2")
    inst = with_type(make_instance(), "mfg", min_sites=0, max_sites=0)
    assert_fails(check(valid(), inst), "site_count", "max_sites 0")


def test_budget() -> None:
    """Budget 76.5: relocation 67 + sites 10 = 77 > 76.5 (unweighted, operating/access not counted)."""
    report = check(valid(), with_policy(make_instance(), budget=76.5))
    assert_fails(report, "budget", "77", "76.5")
    assert report.families == {"budget"}
    assert check(valid(), with_policy(make_instance(), budget=77.0)).ok


def test_destination_share() -> None:
    """α = 0.9: d1 receives 600 > 0.9 · 650 = 585 residents."""
    report = check(valid(), with_policy(make_instance(), max_destination_share=0.9))
    assert_fails(report, "destination_share", "'d1'", "600", "585")


def test_region_share() -> None:
    """β(south) = 0.2: south receives 25 + 25 = 50 jobs < 0.2 · 450 = 90."""
    report = check(valid(), with_policy(make_instance(), min_region_share={"south": 0.2}))
    assert_fails(report, "region_share", "'south'", "50", "90")


# --------------------------------------------------------------------------- eligibility and integrality


def test_eligibility_tier() -> None:
    """mfg allows large/medium; f1→d3 (county) is ineligible whatever else holds."""
    sol = valid()
    set_units(sol, "f1", "d1", 1.0)
    set_units(sol, "f1", "d3", 1.0)
    assert_fails(check(sol), "eligibility", "'f1'", "'d3'", "tier 'county'")


def test_eligibility_empty_tier() -> None:
    """d3's tier empty: it matches no listed tier (mfg), but uni (no allowed_tiers) still accepts it."""
    inst = make_instance()
    cities = inst.cities.copy()
    cities.loc["d3", "tier"] = ""
    inst = dataclasses.replace(inst, cities=cities)
    assert check(valid(), inst).ok  # f3→d3 is uni
    # Even "" listed among the tiers does not match an empty tier: f3→d2 (medium) ok, f3→d3 not.
    report = check(valid(), with_type(inst, "uni", allowed_tiers=("medium", "")))
    assert report.families == {"eligibility"}
    assert_fails(report, "eligibility", "'f3'", "'d3'", "tier ''")


def test_eligibility_distance_bound() -> None:
    """uni needs 150–300 km; f3→d1 is 100 km (arc listed). f3→d3 at exactly 300 km is fine: bounds inclusive."""
    sol = valid()
    drop(sol, "f3", "d2")
    set_units(sol, "f3", "d1", 0.5)
    report = check(sol)
    assert_fails(report, "eligibility", "'f3'", "'d1'", "distance 100")
    assert not any("'d3'" in line for line in report.violations if line.startswith("eligibility"))


def test_eligibility_unlisted_arc() -> None:
    """f2→d2: medium tier, 200 km, sites row — eligible but for the arcs table, which omits it.

    f1 keeps d1 (200 jobs ≥ 100), a second site at d2 takes f2 (200 ≤ 250 jobs).
    """
    sol = valid()
    drop(sol, "f2", "d1")
    set_units(sol, "f2", "d2", 1.0)
    sol["sites"].append({"type": "mfg", "city": "d2"})
    report = check(sol)
    assert_fails(report, "eligibility", "'f2'", "'d2'", "arcs table")
    assert "site_link" not in report.families and "site_capacity" not in report.families


def test_eligibility_source_as_destination() -> None:
    """f3→core (listed in the arcs table): a source is never a destination."""
    sol = valid()
    drop(sol, "f3", "d2")
    set_units(sol, "f3", "core", 0.5)
    assert_fails(check(sol), "eligibility", "'core'", "source")


def test_eligibility_same_cluster() -> None:
    """uni with same_cluster: core is A, d2 is B (ineligible), d3 is A (eligible)."""
    report = check(valid(), with_type(make_instance(), "uni", same_cluster=True))
    assert_fails(report, "eligibility", "'d2'", "same_cluster")
    assert len([line for line in report.violations if line.startswith("eligibility")]) == 1


def test_eligibility_site_candidate() -> None:
    """A site of mfg at d3 (no sites row) and a site of uni (needs none) are not candidates."""
    sol = valid()
    sol["sites"] += [{"type": "mfg", "city": "d3"}, {"type": "uni", "city": "d2"}]
    report = check(sol)
    assert_fails(report, "eligibility", "'d3'", "not a site candidate")
    assert_fails(report, "eligibility", "'uni'", "does not require a site")


def test_distances_table_wins_over_haversine_both_ways() -> None:
    """Without the table, haversine core→d1 is thousands of km > 250: f1, f2 → d1 become ineligible."""
    report = check(valid(), make_instance(distances=None))
    assert_fails(report, "eligibility", "'f1'", "'d1'", "distance")


def test_arc_cost_replaces_relocation_only() -> None:
    """Without the arcs table, f3→d2 costs r = 1 + 0.002·50·200 = 21 instead of the arc's 3.

    Relocation becomes 67 + 0.5·(21 − 3) = 76 and the objective 71; access
    (0.5·20 + 0.5·30 = 25) is the same with or without the override.
    """
    report = check(valid(), make_instance(arcs=None))
    assert report.families == {"objective", "components"}
    assert report.components["relocation"] == pytest.approx(76.0)
    assert report.components["access"] == pytest.approx(25.0)
    assert report.objective == pytest.approx(71.0)


def test_empty_arcs_table_lists_nothing() -> None:
    """An arcs table with no rows still exists: every used arc is unlisted (4 arcs)."""
    inst = make_instance()
    report = check(valid(), dataclasses.replace(inst, arcs=inst.arcs.iloc[:0]))
    lines = [line for line in report.violations if line.startswith("eligibility")]
    assert len(lines) == 4 and all("arcs table" in line for line in lines)


def test_haversine_one_degree_of_latitude() -> None:
    """One degree along a meridian is R·π/180 = 6371.0088·π/180 = 111.19508 km."""
    assert haversine_km(0.0, 0.0, 0.0, 1.0) == pytest.approx(6371.0088 * math.pi / 180, rel=1e-12)
    assert haversine_km(10.0, 20.0, 10.0, 20.0) == 0.0
    assert haversine_km(0.0, 0.0, 180.0, 0.0) == pytest.approx(6371.0088 * math.pi, rel=1e-12)


def test_integrality() -> None:
    """f1 (mfg, not splittable) moves 1.5 units; f3's 0.5 units are fine (uni is splittable)."""
    sol = valid()
    set_units(sol, "f1", "d1", 1.5)
    report = check(sol)
    assert_fails(report, "integrality", "'f1'", "1.5")
    assert not any("'f3'" in line for line in report.violations if line.startswith("integrality"))


# --------------------------------------------------------------------------- reported numbers


def test_objective_mismatch() -> None:
    """Objective reported 63 (gap kept consistent with bound 62); recomputed 62."""
    sol = valid()
    sol["objective"] = 63.0
    sol["gap"] = 1.0 / 63.0
    report = check(sol)
    assert_fails(report, "objective", "63", "62")
    assert report.families == {"objective"}


def test_components_mismatch() -> None:
    """Relocation reported 68 (recomputed 67); the objective 62 is still right."""
    sol = valid()
    sol["components"]["relocation"] = 68.0
    report = check(sol)
    assert_fails(report, "components", "relocation", "68", "67")
    assert report.families == {"components"}


def test_components_missing_key() -> None:
    """A component left out of the file is a components violation."""
    sol = valid()
    del sol["components"]["access"]
    assert_fails(check(sol), "components", "access", "missing")


def test_sources_entry_mismatch() -> None:
    """moved_residents reported 640; recomputed 2·150 + 300 + 50 = 650."""
    sol = valid()
    sol["sources"][0]["moved_residents"] = 640.0
    report = check(sol)
    assert_fails(report, "sources", "moved_residents", "640", "650")
    assert report.families == {"sources"}


def test_sources_missing_and_not_a_source() -> None:
    """sources[] without core, and with d1 (a city, not a source)."""
    sol = valid()
    sol["sources"][0]["city"] = "d1"
    report = check(sol)
    assert_fails(report, "sources", "'d1'", "not a source")
    assert_fails(report, "sources", "'core'", "missing")


def test_gap_mismatch() -> None:
    """Bound 61: gap must be (62 − 61) / 62 = 0.016129, not 0."""
    sol = valid()
    sol["bound"] = 61.0
    assert_fails(check(sol), "gap", "0.016129")
    sol["gap"] = 1.0 / 62.0
    assert check(sol).ok


def test_bound_above_objective() -> None:
    """Bound 63 > objective 62 cannot be a lower bound of a minimisation."""
    sol = valid()
    sol["bound"], sol["gap"] = 63.0, -1.0 / 62.0
    assert_fails(check(sol), "gap", "bound 63")


# --------------------------------------------------------------------------- ids and duplicates


def test_duplicate_pair() -> None:
    """f1→d1 listed twice with 1 unit each: a duplicate; summed (2) nothing else fails."""
    sol = valid()
    set_units(sol, "f1", "d1", 1.0)
    sol["assignments"].append({"facility": "f1", "destination": "d1", "units": 1.0})
    report = check(sol)
    assert_fails(report, "duplicates", "'f1'", "'d1'", "2 times")
    assert report.families == {"duplicates"}


def test_duplicate_site() -> None:
    """(mfg, d1) listed twice: a duplicate; y is still 1 and the site costs 10 once."""
    sol = valid()
    sol["sites"].append({"type": "mfg", "city": "d1"})
    report = check(sol)
    assert report.families == {"duplicates"}
    assert report.components["sites"] == pytest.approx(10.0)


def test_unknown_ids() -> None:
    """A facility 'fX', a destination 'nowhere', a site type 'farm' and a sources city 'atlantis'."""
    sol = valid()
    sol["assignments"] += [
        {"facility": "fX", "destination": "d1", "units": 1.0},
        {"facility": "f3", "destination": "nowhere", "units": 0.1},
    ]
    sol["sites"].append({"type": "farm", "city": "d1"})
    sol["sources"].append(dict(sol["sources"][0], city="atlantis"))
    report = check(sol)
    for word in ("'fX'", "'nowhere'", "'farm'", "'atlantis'"):
        assert_fails(report, "unknown ids", word)
    assert report.families == {"unknown ids"}  # rows with unknown ids are set aside


def test_other_instance() -> None:
    """A solution whose instance name is not the instance's."""
    sol = valid()
    sol["instance"] = "other"
    assert_fails(check(sol), "instance", "'other'", "'tiny'")


# --------------------------------------------------------------------------- statuses and format


@pytest.mark.parametrize("status", ["infeasible", "unbounded", "limit_no_solution", "error"])
def test_no_solution_statuses(status: str) -> None:
    """Without a solution: null objective/bound/gap and empty lists pass; a number does not."""
    sol = valid()
    sol.update(status=status, objective=None, bound=None, gap=None, components=None, assignments=[], sites=[])
    report = check(sol)
    assert report.ok, str(report)
    assert report.objective is None and report.components == {}
    sol["objective"] = 62.0
    assert_fails(check(sol), "objective", "null")


def test_malformed_solution_is_reported_not_raised() -> None:
    """units as a string and a missing key: family 'format', nothing else checked."""
    sol = valid()
    sol["assignments"][0]["units"] = "2"
    del sol["sources"]
    report = check(sol)
    assert report.families == {"format"}
    assert_fails(report, "format", "units")
    assert_fails(report, "format", "'sources'")


def test_line_limit_counts_the_rest() -> None:
    """With one line per family, three failing ids show one line and '2 more'."""
    sol = valid()
    sol["assignments"] += [{"facility": f"x{i}", "destination": "d1", "units": 1.0} for i in range(3)]
    report = check_solution(make_instance(), sol, max_lines_per_family=1)
    lines = [line for line in report.violations if line.startswith("unknown ids")]
    assert len(lines) == 2 and "2 more" in lines[1]


def test_many_rows_are_grouped_not_compared_pairwise() -> None:
    """200k rows of 1/200000 unit of f3, each to d2 or d3 at random: a duplicates storm.

    Summed, f3 moves 1 unit as in the valid solution, so only 'duplicates'
    fails (two lines, one per pair); relocation is 30 + 20 + 3·share(d2) +
    31·share(d3). Grouping is by np.unique/bincount, so this takes well under
    a second.
    """
    n = 200_000
    sol = valid()
    drop(sol, "f3", "d2")
    drop(sol, "f3", "d3")
    dests = np.random.default_rng(0).choice(["d2", "d3"], size=n)
    sol["assignments"] += [{"facility": "f3", "destination": str(d), "units": 1.0 / n} for d in dests]
    to_d2 = float((dests == "d2").sum()) / n
    sol["components"]["relocation"] = 50 + 3 * to_d2 + 31 * (1 - to_d2)
    sol["components"]["access"] = 20 * to_d2 + 30 * (1 - to_d2)
    sol["objective"] = sol["bound"] = sum(sol["components"].values())
    report = check(sol)
    assert report.families == {"duplicates"}, str(report)
    assert len(report.violations) == 2


# --------------------------------------------------------------------------- load_solution


def test_load_solution_round_trip(tmp_path: Any) -> None:
    path = tmp_path / "solution.json"
    path.write_text(json.dumps(VALID), encoding="utf-8")
    assert load_solution(path) == VALID
    assert check(load_solution(path)).ok


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({k: v for k, v in VALID.items() if k != "status"}), "missing required key 'status'"),
        (json.dumps(dict(VALID, objective="62")), "objective='62'"),
        (json.dumps(dict(VALID, status="solved")), "status='solved'"),
        (json.dumps(dict(VALID, assignments={"f1": "d1"})), "expected a list"),
        (json.dumps(dict(VALID, sites=[{"type": "mfg"}])), "missing 'city'"),
        (json.dumps(dict(VALID, assignments=[{"facility": "f1", "destination": "d1", "units": True}])), "units=True"),
    ],
)
def test_load_solution_rejects_malformed(tmp_path: Any, content: str, words: str) -> None:
    path = tmp_path / "solution.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SolutionFileError, match="solution.json") as info:
        load_solution(path)
    assert words in str(info.value)


def test_load_solution_missing_file(tmp_path: Any) -> None:
    with pytest.raises(SolutionFileError, match="cannot read"):
        load_solution(tmp_path / "absent.json")


def test_load_solution_not_utf8(tmp_path: Any) -> None:
    path = tmp_path / "solution.json"
    path.write_bytes(b'{"status": "\xff"}')
    with pytest.raises(SolutionFileError, match="UTF-8"):
        load_solution(path)
