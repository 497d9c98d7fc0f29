"""A phased instance written by hand from spec v2 (tests/data/every-v2-key/), solved against a brute force.

The brute force reads the instance's CSV files with the csv module and its
manifest with tomllib — nothing of spatialopt — and applies the spec's words
(§3 derived data, §4 rows, the objective) to every combination of each
facility's (destination, period) or staying, and each site's opening period
(the campus type has max_sites 1, so one site or none covers every
candidate). The optimum must equal the MIP's on both back ends, and the plan
must pass the independent checker.
"""

from __future__ import annotations

import csv
import itertools
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest

import spatialopt
from spatialopt import SolveStatus
from spatialopt.check import check_solution

FOLDER = Path(__file__).parents[1] / "data" / "every-v2-key"
TOL = 1e-9


def _rows(name: str) -> list[dict[str, str]]:
    with open(FOLDER / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _haversine(a: dict[str, str], b: dict[str, str]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (float(a["lon"]), float(a["lat"]), float(b["lon"]), float(b["lat"])))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def brute_force() -> float:
    spec = tomllib.loads((FOLDER / "instance.toml").read_text(encoding="utf-8"))
    cities = {c["id"]: c for c in _rows("cities.csv")}
    facilities = _rows("facilities.csv")
    table: dict[frozenset[str], dict[str, float]] = {}
    for row in _rows("distances.csv"):
        pair = table.setdefault(frozenset((row["from"], row["to"])), {})
        for col in ("km", "minutes"):
            if row[col]:
                pair[col] = float(row[col])
    types = {t["id"]: t for t in spec["types"]}
    source = spec["sources"][0]
    periods = spec["periods"]
    ids = [p["id"] for p in periods]
    rate, horizon, base = spec["instance"]["discount_rate"], spec["instance"]["horizon_years"], spec["instance"]["base_year"]
    starts = [0] + [p["end_year"] - base for p in periods[:-1]]
    delta = [(1 + rate) ** -a for a in starts]
    years = [sum((1 + rate) ** -t for t in range(a, horizon)) for a in starts]
    travel = spec["travel"]
    origin = cities[source["city"]]
    destinations = [c for c in cities if c != source["city"]]

    def dist(d: str) -> float:
        return table.get(frozenset((source["city"], d)), {}).get("km", _haversine(origin, cities[d]))

    def minutes(d: str) -> float:
        given = table.get(frozenset((source["city"], d)), {}).get("minutes")
        return given if given is not None else 60 * travel["detour"] * dist(d) / travel["speed_kmh"]

    def eligible(kind: dict[str, Any], d: str) -> bool:
        return kind.get("min_minutes", 0.0) <= minutes(d) <= kind.get("max_minutes", math.inf)

    options = []  # per facility: None (stays) or (destination, period position, residents, jobs, r, annual, type)
    for f in facilities:
        kind = types[f["type"]]
        jobs = float(f["jobs"])
        residents = float(f["residents"]) if f["residents"] else jobs * kind.get("household_factor", 1.0)
        first = ids.index(f["earliest"]) if f["earliest"] else 0
        last = ids.index(f["latest"]) if f["latest"] else len(ids) - 1
        moves: list[Any] = [] if f["must_move"] == "true" else [None]
        for d in destinations:
            if not eligible(kind, d):
                continue
            r = float(f["fixed_cost"]) + kind.get("cost_per_job_km", 0.0) * jobs * dist(d)
            annual = kind.get("annual_cost_per_job", 0.0) * jobs * (float(cities[d]["cost_index"]) - float(origin["cost_index"]))
            moves += [(d, p, residents, jobs, r, annual, f["type"]) for p in range(first, last + 1)]
        options.append(moves)
    campus = types["campus"]
    sites = [None] + [(d, p) for d in destinations for p in range(len(ids))]
    target = source["target_reduction"]
    milestones = {ids.index(pid): share * target for pid, share in source["milestones"].items()}
    milestones[len(ids) - 1] = target
    resource = spec["resources"][0]

    def cap(d: str, p: int) -> float:
        column = resource["cap"] if p == len(ids) - 1 else resource["cap_by_period"].get(ids[p])
        value = cities[d].get(column, "") if column else ""
        return float(value) if value else math.inf

    campus_total = sum(float(f["jobs"]) for f in facilities if f["type"] == "campus")
    best = math.inf
    for plan in itertools.product(*options):
        moved = [m for m in plan if m is not None]
        # target rows: residents moved by the end of each milestone period
        if any(sum(m[2] for m in moved if m[1] <= p) < need - TOL for p, need in milestones.items()):
            continue
        if sum(m[3] for m in moved if m[6] == "campus") < source["min_share"]["campus"] * campus_total - TOL:
            continue
        if any(sum(m[2] for m in moved if m[0] == d and m[1] <= p) > cap(d, p) + TOL
               for d in destinations for p in range(len(ids))):
            continue
        for site in sites:
            on_campus = [m for m in moved if m[6] == "campus"]
            # site_link: a campus move needs the site at its destination open by its period
            if any(site is None or m[0] != site[0] or m[1] < site[1] for m in on_campus):
                continue
            jobs = sum(m[3] for m in on_campus)
            if site is not None and (jobs > campus["site_capacity_jobs"] + TOL or jobs < campus["min_site_jobs"] - TOL):
                continue
            site_cost = campus["site_cost"] if site is not None else 0.0
            spent = [sum(m[4] for m in moved if m[1] == p) + (site_cost if site and site[1] == p else 0.0)
                     for p in range(len(ids))]
            if sum(spent) > spec["policy"]["budget"] + TOL:
                continue
            if any("budget" in period and spent[p] > period["budget"] + TOL for p, period in enumerate(periods)):
                continue
            cost = sum(delta[m[1]] * m[4] + years[m[1]] * m[5] for m in moved)
            cost += delta[site[1]] * site_cost if site is not None else 0.0
            best = min(best, cost)
    return best


@pytest.fixture(scope="module")
def optimum() -> float:
    return brute_force()


@pytest.mark.parametrize("builder", ["matrix", "pyomo"])
def test_hand_written_v2_instance_solves_to_the_brute_force_optimum(builder: str, optimum: float) -> None:
    instance = spatialopt.load(FOLDER / "instance.toml")
    assert instance.phased and instance.travel is not None and instance.discount_rate == 0.04
    result = spatialopt.solve(instance, builder=builder, gap=1e-9)
    assert result.status == SolveStatus.OPTIMAL
    assert math.isfinite(optimum)
    assert result.objective == pytest.approx(optimum, rel=1e-9, abs=1e-9)
    report = check_solution(instance, result.to_solution_dict())
    assert report.ok, report.violations
    assert report.objective == pytest.approx(optimum, rel=1e-9)


def test_hand_written_v2_instance_passes_the_cli_check(tmp_path: Path) -> None:
    from spatialopt.cli import main

    out = tmp_path / "plan"
    assert main(["solve", str(FOLDER / "instance.toml"), "--out", str(out), "--gap", "1e-9"]) == 0
    assert main(["check", str(FOLDER / "instance.toml"), str(out)]) == 0
