"""Benchmark: a Pareto front with ONE persistent, warm-started solver vs N cold solves.

    python bench/bench_pareto.py                       # generated instance, 11 points, both builders
    python bench/bench_pareto.py --points 21 --facilities 300 --destinations 30 --builders matrix
    python bench/bench_pareto.py --instance instances/tutorial/instance.toml

Both ways solve the same points (the target scales ``pareto_front`` chose)
in the same run, with the same HiGHS options (default profile, one thread),
once per model builder (``matrix``: numpy arrays into one ``highspy.Highs``;
``pyomo``: the Pyomo model and Pyomo's persistent HiGHS interface):

- warm: ``spatialopt.scenarios.pareto_front(..., workers=1, builder=...)``: one
  model, one persistent HiGHS, target rows whose bounds change from point to
  point, each point started from its neighbour's plan. Timed per point (the
  solver calls) and as a whole (model build, the largest-scale search and
  extraction included).
- cold: ``spatialopt.solve(front.point_instance(i), builder=...)`` for every
  point: derive, build, a fresh HiGHS and extraction each time (building the
  point instances is not timed).

Prints a table per point, the totals and the ratio cold / warm, and the
largest objective difference between the two (within the MIP gap). The
generated instance is seeded: one core, ``--facilities`` rows of two types
(``--plants`` of them whole, the rest splittable offices), a residents cap
per destination and costs that make moving cost money, so the target binds
all along the front. MIP times vary from point to point and from run to run
(HiGHS's search is sensitive to its start); run it on a quiet machine.

Two settings tell the two effects apart:

- the default (200 facilities, 10% whole: a MIP of 4,000 arcs), where
  HiGHS's search dominates and the warm start is what can help (or not);
- ``--plants 0 --facilities 2000 --destinations 60`` (an LP of 120,000 arcs),
  where building and handing over the model dominates, which the persistent
  solver does once instead of once per point.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

import spatialopt
from spatialopt.scenarios import pareto_front, task_options


def make_instance(folder: Path, facilities: int = 200, destinations: int = 20, seed: int = 7,
                  plants: float = 0.1) -> Path:
    """Write a seeded instance whose front is non-trivial; return its manifest."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lon0, lat0 = 116.4, 39.9
    angle = rng.uniform(0, 2 * np.pi, destinations)
    km = rng.uniform(40, 380, destinations)
    lon = lon0 + km * np.cos(angle) / (111.32 * np.cos(np.radians(lat0)))
    lat = lat0 + km * np.sin(angle) / 110.57
    cost_index = rng.uniform(0.9, 1.4, destinations)
    cap = rng.integers(15, 40, destinations) * 1000
    lines = ["id,lon,lat,tier,cost_index,cap_residents", f"core,{lon0},{lat0},core,1.0,"]
    lines += [f"d{j},{lon[j]:.5f},{lat[j]:.5f},medium,{cost_index[j]:.3f},{cap[j]}" for j in range(destinations)]
    (folder / "cities.csv").write_text("\n".join(lines) + "\n")
    kinds = rng.choice(["plant", "office"], facilities, p=[plants, 1.0 - plants])
    jobs = rng.integers(200, 2500, facilities)
    fixed = rng.uniform(5, 60, facilities).round(1)
    lines = ["id,origin,type,jobs,fixed_cost"] + [
        f"f{i},core,{kinds[i]},{jobs[i]},{fixed[i]}" for i in range(facilities)
    ]
    (folder / "facilities.csv").write_text("\n".join(lines) + "\n")
    total = float((jobs * np.where(kinds == "plant", 2.2, 1.6)).sum())
    manifest = f"""
[instance]
name = "bench-pareto"
cost_unit = "CNY million"

[tables]
cities = "cities.csv"
facilities = "facilities.csv"

[[types]]
id = "plant"
household_factor = 2.2
cost_per_job_km = 0.0006
annual_cost_per_job = 0.004

[[types]]
id = "office"
splittable = true
household_factor = 1.6
cost_per_job_km = 0.0004
annual_cost_per_job = 0.006

[[resources]]
id = "residents"
use = "residents"
cap = "cap_residents"

[[sources]]
city = "core"
core_population = 9000000
core_area_km2 = 1200.0
target_reduction = {0.45 * total:.0f}
"""
    path = folder / "instance.toml"
    path.write_text(manifest.lstrip())
    return path


def run(instance: spatialopt.Instance, points: int, options: dict, builder: str) -> dict:
    """One front warm (persistent) and the same points cold, with ``builder``; returns the timings."""
    started = time.perf_counter()
    front = pareto_front(instance, points, workers=1, options=options, builder=builder)
    warm_total = time.perf_counter() - started
    table = front.table
    cold_seconds, cold_objectives = [], []
    for i in range(len(table)):
        point = front.point_instance(i)  # not timed: building the point's instance
        started = time.perf_counter()
        result = spatialopt.solve(point, highs_options=options, builder=builder)
        cold_seconds.append(time.perf_counter() - started)
        cold_objectives.append(result.objective)

    print(f"\nbuilder {builder}")
    print(f"{'point':>5} {'scale':>7} {'moved':>10} {'warm obj':>14} {'cold obj':>14} {'warm s':>8} {'cold s':>8}  start")
    worst = 0.0
    for i, row in enumerate(table.itertuples()):
        cold = cold_objectives[i]
        if cold is not None and not math.isnan(row.objective):
            worst = max(worst, abs(row.objective - cold) / max(1.0, abs(cold)))
        print(f"{row.point:>5} {row.target_scale:>7.3f} {row.moved_residents:>10,.0f} {row.objective:>14,.3f} "
              f"{cold:>14,.3f} {row.seconds:>8.3f} {cold_seconds[i]:>8.3f}  {row.warm_start}")
    warm_solves = float(table["seconds"].sum())
    cold_total = sum(cold_seconds)
    print(f"largest-scale search (warm only): {front.max_scale_seconds:.3f} s")
    print(f"warm: solver calls {warm_solves:.3f} s, whole front {warm_total:.3f} s")
    print(f"cold: {len(cold_seconds)} spatialopt.solve calls {cold_total:.3f} s")
    print(f"ratio cold / warm: {cold_total / warm_solves:.2f}x (solver calls), "
          f"{cold_total / warm_total:.2f}x (whole front, incl. the largest-scale search)")
    print(f"largest relative objective difference warm vs cold: {worst:.2e}")
    return {"builder": builder, "warm_calls": warm_solves, "warm_total": warm_total, "cold": cold_total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", type=Path, help="an instance manifest (default: a generated one)")
    parser.add_argument("--points", type=int, default=11)
    parser.add_argument("--facilities", type=int, default=200)
    parser.add_argument("--destinations", type=int, default=20)
    parser.add_argument("--plants", type=float, default=0.1, help="share of whole (unsplittable) facilities")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--builders", default="matrix,pyomo", help="comma-separated: matrix, pyomo")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.instance or make_instance(Path(tmp), args.facilities, args.destinations, args.seed, args.plants)
        instance = spatialopt.load(path)
    options = task_options(spatialopt.solver_options(gap=args.gap))
    print(f"{instance!r}; {args.points} points; HiGHS options {options}")
    rows = [run(instance, args.points, options, b.strip()) for b in args.builders.split(",") if b.strip()]
    print(f"\n{'builder':<8} {'warm calls s':>12} {'warm front s':>12} {'cold s':>10} {'cold/warm':>10}")
    for r in rows:
        print(f"{r['builder']:<8} {r['warm_calls']:>12.3f} {r['warm_total']:>12.3f} {r['cold']:>10.3f} "
              f"{r['cold'] / r['warm_total']:>9.2f}x")


if __name__ == "__main__":
    main()
