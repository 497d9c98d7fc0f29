"""Seeded generator of large relocation instances for the scale benchmark.

A capacitated assignment with sites: ``sources`` megacity cores hold
``facilities`` rows of two types; every destination is eligible for every
facility (no distance rule cuts arcs), so the instance has
``facilities x destinations`` eligible arcs. Type ``plant`` needs a site
(free, with a capacity), type ``office`` does not; a resource caps the
residents each destination can take, and every core has a hard target.
Capacities are loose and sites free, so that the LP relaxation is nearly
integral and HiGHS's own solve stays short: the benchmark measures
everything around the solver.

The generator returns the raw arrays too, so that the baseline in
``bench_scale.py`` can build the same model straight into highspy without
going through spatialopt at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np


@dataclass
class ScaleData:
    sources: int
    destinations: int
    facilities: int
    origin: np.ndarray  # source index per facility
    is_plant: np.ndarray  # bool per facility
    jobs: np.ndarray
    fixed_cost: np.ndarray
    lon: np.ndarray  # per city: sources first, then destinations
    lat: np.ndarray
    cost_index: np.ndarray
    cap_residents: np.ndarray  # per destination
    site_cost: float
    site_capacity: float
    target: np.ndarray  # per source
    cost_per_job_km: float
    annual_cost_per_job: float
    horizon_years: float


def generate(facilities: int, destinations: int, sources: int = 4, seed: int = 20261129) -> ScaleData:
    rng = np.random.default_rng(seed)
    n_cities = sources + destinations
    # Rounded as the CSV writes them, so that the files and the arrays describe the same model.
    lon = np.round(np.concatenate([rng.uniform(115.5, 117.5, sources), rng.uniform(110.0, 122.0, destinations)]), 5)
    lat = np.round(np.concatenate([rng.uniform(38.5, 40.5, sources), rng.uniform(30.0, 42.0, destinations)]), 5)
    cost_index = np.concatenate([np.full(sources, 1.5), rng.choice([0.7, 0.8, 0.9, 1.0, 1.1], destinations)])
    origin = rng.integers(0, sources, facilities)
    is_plant = rng.random(facilities) < 0.4
    jobs = rng.integers(50, 2000, facilities).astype(float)
    fixed_cost = rng.integers(1, 20, facilities).astype(float)
    total_jobs = float(jobs.sum())
    cap = np.round(rng.uniform(40.0, 80.0, destinations) * total_jobs / destinations)
    target = np.zeros(sources)
    for s in range(sources):
        target[s] = np.floor(0.01 * jobs[origin == s].sum())
    del n_cities
    return ScaleData(
        sources=sources, destinations=destinations, facilities=facilities, origin=origin, is_plant=is_plant,
        jobs=jobs, fixed_cost=fixed_cost, lon=lon, lat=lat, cost_index=cost_index, cap_residents=cap,
        site_cost=0.0, site_capacity=float(np.ceil(total_jobs / destinations * 100)), target=target,
        cost_per_job_km=0.0005, annual_cost_per_job=0.01, horizon_years=10.0,
    )



def sited(data: ScaleData) -> ScaleData:
    """The same data made a location problem: costly sites of tight capacity, and targets that need plants.

    ``generate`` keeps sites free and caps loose (the scale benchmark measures
    the modelling layer). Here a site costs 200 (about three plants' fixed
    costs and ten-year operating savings), holds about 1/60 of all plant jobs,
    and each core must shed 70% of its residents, so that plants must move and
    sites must be chosen: the fixed-charge structure whose LP relaxation is weak.
    """
    plant_jobs = float(data.jobs[data.is_plant].sum())
    target = np.array([np.floor(0.7 * data.jobs[data.origin == s].sum()) for s in range(data.sources)])
    return replace(data, site_cost=200.0, site_capacity=float(np.ceil(plant_jobs / 60)), target=target)

# The phased variant (spec v2): three five-year periods to 2035, so that every move
# and site opening exists once per period (three times the columns), with every
# v2 row family present: a milestone per core, a budget in the first period, a
# cap by 2025 on every city's residents (half its final cap) and a site may open once.
PERIODS = (("2021-2025", 2025), ("2026-2030", 2030), ("2031-2035", 2035))
BASE_YEAR = 2020
FIRST_PERIOD_SHARE = 0.5  # milestone: share of each core's target moved by 2025, and of each cap open by then


def write(data: ScaleData, folder: Path, phased: bool = False) -> Path:
    """Write the instance as a manifest plus CSV tables; returns the manifest.

    ``phased`` writes the same instance split into ``PERIODS`` (horizon 2020-2035).
    """
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"core{s}" for s in range(data.sources)] + [f"city{d}" for d in range(data.destinations)]
    with open(folder / "cities.csv", "w") as f:
        f.write("id,lon,lat,tier,cost_index,cap_residents" + (",cap_residents_2025" if phased else "") + "\n")
        for i, name in enumerate(names):
            cap = "" if i < data.sources else f"{data.cap_residents[i - data.sources]:.0f}"
            if phased:
                early = "" if i < data.sources else f"{np.floor(FIRST_PERIOD_SHARE * data.cap_residents[i - data.sources]):.0f}"
                cap = f"{cap},{early}"
            tier = "core" if i < data.sources else "large"
            f.write(f"{name},{data.lon[i]:.5f},{data.lat[i]:.5f},{tier},{data.cost_index[i]},{cap}\n")
    with open(folder / "facilities.csv", "w") as f:
        f.write("id,origin,type,jobs,fixed_cost\n")
        for j in range(data.facilities):
            kind = "plant" if data.is_plant[j] else "office"
            f.write(f"f{j},core{data.origin[j]},{kind},{data.jobs[j]:.0f},{data.fixed_cost[j]:.0f}\n")
    rates = (
        f"cost_per_job_km = {data.cost_per_job_km}\n"
        f"annual_cost_per_job = {data.annual_cost_per_job}\n"
        'allowed_tiers = ["large"]\n'
    )
    first = PERIODS[0][0]
    milestone = f'milestones = {{ "{first}" = {FIRST_PERIOD_SHARE} }}\n' if phased else ""
    sources = "".join(
        f'[[sources]]\ncity = "core{s}"\ntarget_reduction = {data.target[s]:.0f}\n{milestone}\n'
        for s in range(data.sources)
    )
    header = '[instance]\nname = "scale"\n' + (
        f"base_year = {BASE_YEAR}\nhorizon_years = {PERIODS[-1][1] - BASE_YEAR}\n\n" if phased
        else f"horizon_years = {data.horizon_years}\n\n"
    )
    # The first period's budget: the sum of the fixed costs, a figure of the data's own scale
    # (spending also counts the per-km costs, so it can bind).
    budget = float(data.fixed_cost.sum())
    periods = "".join(
        f'[[periods]]\nid = "{pid}"\nend_year = {end}\n' + (f"budget = {budget}\n" if pid == first else "") + "\n"
        for pid, end in PERIODS
    ) if phased else ""
    by_period = f'cap_by_period = {{ "{first}" = "cap_residents_2025" }}\n' if phased else ""
    manifest = (
        header + periods
        + '[tables]\ncities = "cities.csv"\nfacilities = "facilities.csv"\n\n'
        f'[[types]]\nid = "plant"\n{rates}requires_site = true\n'
        f"site_cost = {data.site_cost}\nsite_capacity_jobs = {data.site_capacity}\n\n"
        f'[[types]]\nid = "office"\n{rates}\n'
        f'[[resources]]\nid = "residents"\nuse = "residents"\ncap = "cap_residents"\n{by_period}\n'
        + sources
    )
    path = folder / "instance.toml"
    path.write_text(manifest)
    return path
