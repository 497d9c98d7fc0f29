"""Scale benchmark: spatialopt end to end against numpy-straight-into-highspy.

    python bench/bench_scale.py                 # 10k, 100k and 1M eligible arcs
    python bench/bench_scale.py --sizes 10k 100k --out bench/results.md

For each size, a seeded instance (``scale_instance.py``) is solved three ways,
each in a fresh subprocess so that peak memory is its own:

- ``baseline``: the same model built from the generator's numpy arrays and
  passed straight to highspy (no files, no validation, no plan): the least
  any tool can do;
- ``spatialopt``: the product, end to end: read the instance files, validate,
  derive arcs and costs, build (matrix path), hand off, solve, extract the
  plan, write the result folder;
- ``pyomo``: the same with ``builder="pyomo"`` (the readable reference model
  through Pyomo's HiGHS interface), at the sizes where it is practical;
- ``3 periods``: the same instance split into three plan periods (spec v2:
  2021-2025, 2026-2030, 2031-2035, with a milestone per core, a period budget
  and a cap by 2025), so three times the move columns, read, validated,
  derived, built and handed off (not solved: the target is the modelling
  overhead, at most 1 s per 100k move variables, column ``s / 100k moves``).

All three must reach the same objective (solved to a 1e-9 gap). The table
gives seconds per stage, peak resident memory, and ratios against the
baseline measured in the same run; each path runs ``--repeat`` times and the
fastest run is kept, since a noisy shared machine only ever adds time. At 1M arcs the solve itself is skipped unless ``--solve-1m``:
the target there is the time and memory to build and hand off.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scale_instance import ScaleData, generate, write  # noqa: E402

SIZES = {"10k": (100, 100), "100k": (1000, 100), "1M": (5000, 200)}
GAP = 1e-9


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- baseline: numpy arrays straight into highspy ------------------------------------------
def haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle km, R = 6371.0088 (spec §3); the baseline imports nothing from spatialopt."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((np.radians(lon2) - np.radians(lon1)) / 2.0) ** 2
    return 2.0 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def baseline_arrays(data: ScaleData) -> dict[str, np.ndarray]:
    """The spec's model of the generated instance, built from the raw arrays."""
    S, D, F = data.sources, data.destinations, data.facilities
    km = haversine_km(data.lon[:S, None], data.lat[:S, None], data.lon[None, S:], data.lat[None, S:])[data.origin]
    f = np.repeat(np.arange(F), D)
    d = np.tile(np.arange(D), F)
    jobs = data.jobs[f]
    dist = km[f, d]
    relocation = data.fixed_cost[f] + data.cost_per_job_km * jobs * dist
    operating = data.horizon_years * data.annual_cost_per_job * jobs * (data.cost_index[S + d] - data.cost_index[data.origin[f]])
    n_arcs = F * D
    plant_sites = np.nonzero(data.is_plant)[0]
    n_sites = D  # one candidate per destination for the site type
    plant_arc = data.is_plant[f]
    rows_r, rows_c, rows_v, lo, up = [], [], [], [], []
    row = 0
    # assign: one row per facility
    rows_r.append(f)
    rows_c.append(np.arange(n_arcs))
    rows_v.append(np.ones(n_arcs))
    lo.append(np.full(F, -np.inf))
    up.append(np.ones(F))
    row += F
    # target: one row per source
    rows_r.append(row + data.origin[f])
    rows_c.append(np.arange(n_arcs))
    rows_v.append(jobs)
    lo.append(data.target)
    up.append(np.full(S, np.inf))
    row += S
    # capacity: residents per destination
    rows_r.append(row + d)
    rows_c.append(np.arange(n_arcs))
    rows_v.append(jobs)
    lo.append(np.full(D, -np.inf))
    up.append(data.cap_residents.astype(float))
    row += D
    # site_link: x <= y for arcs of the site type
    link = np.nonzero(plant_arc)[0]
    r = row + np.arange(link.size)
    rows_r += [r, r]
    rows_c += [link, n_arcs + d[link]]
    rows_v += [np.ones(link.size), -np.ones(link.size)]
    lo.append(np.full(link.size, -np.inf))
    up.append(np.zeros(link.size))
    row += link.size
    # site_capacity: jobs at each site <= capacity * y
    rows_r += [row + d[link], row + np.arange(D)]
    rows_c += [link, n_arcs + np.arange(D)]
    rows_v += [jobs[link], np.full(D, -data.site_capacity)]
    lo.append(np.full(D, -np.inf))
    up.append(np.zeros(D))
    row += D
    del plant_sites
    r = np.concatenate(rows_r)
    c = np.concatenate(rows_c)
    v = np.concatenate(rows_v)
    order = np.argsort(r, kind="stable")
    start = np.zeros(row + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=row), out=start[1:])
    return {
        "cost": np.concatenate([relocation + operating, np.full(n_sites, data.site_cost)]),
        "col_lower": np.zeros(n_arcs + n_sites),
        "col_upper": np.ones(n_arcs + n_sites),
        "integer": np.ones(n_arcs + n_sites, dtype=np.int32),
        "row_lower": np.concatenate(lo),
        "row_upper": np.concatenate(up),
        "start": start[:-1],
        "index": c[order],
        "value": v[order],
    }


def run_baseline(data: ScaleData, solve: bool) -> dict[str, float]:
    import highspy  # imported before any clock starts, like spatialopt below

    times: dict[str, float] = {}
    t = time.perf_counter()
    a = baseline_arrays(data)
    times["build"] = time.perf_counter() - t
    t = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", GAP)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    h.passModel(
        a["cost"].size, a["row_lower"].size, a["value"].size, int(highspy.MatrixFormat.kRowwise),
        int(highspy.ObjSense.kMinimize), 0.0, a["cost"], a["col_lower"], a["col_upper"], a["row_lower"],
        a["row_upper"], a["start"].astype(np.int32), a["index"].astype(np.int32), a["value"], a["integer"],
    )
    times["handoff"] = time.perf_counter() - t
    objective = None
    if solve:
        t = time.perf_counter()
        h.run()
        times["solve"] = time.perf_counter() - t
        info = h.getInfo()
        objective = info.objective_function_value
        times["work"] = {"simplex_iterations": int(info.simplex_iteration_count), "nodes": int(info.mip_node_count)}
        t = time.perf_counter()
        x = np.asarray(h.getSolution().col_value)[: data.facilities * data.destinations]
        times["extract"] = time.perf_counter() - t
        del x
    return {**times, "objective": objective}


# -- spatialopt end to end ----------------------------------------------------------------
def run_product(manifest: Path, builder: str, solve: bool, out: Path) -> dict[str, float]:
    import spatialopt
    from spatialopt.derive import derive
    from spatialopt.matrix import build_matrices
    from spatialopt.model import build_model

    times: dict[str, float] = {}
    t = time.perf_counter()  # imports above are outside the clock, as for the baseline
    instance = spatialopt.load(manifest)
    times["load"] = time.perf_counter() - t
    if solve:
        result = spatialopt.solve(instance, builder=builder, gap=GAP, seed=0, threads=1)
        times.update({k: v for k, v in result.timings.items()})
        t = time.perf_counter()
        result.write(out, force=True)
        times["write"] = time.perf_counter() - t
        return {**times, "objective": result.objective, "work": result.work}
    t = time.perf_counter()
    derived = derive(instance)
    times["derive"] = time.perf_counter() - t
    t = time.perf_counter()
    model = build_matrices(instance, derived) if builder == "matrix" else build_model(instance, derived)
    times["build"] = time.perf_counter() - t
    if builder == "matrix":
        times["moves"] = model.x.stop - model.x.start  # the move variables, one per arc and period
    if builder == "matrix":
        from spatialopt.solve import HighsSession

        t = time.perf_counter()
        HighsSession(model, {})  # options, then the model handed to HiGHS in one call
        times["handoff"] = time.perf_counter() - t
    return {**times, "objective": None}


def one(args: argparse.Namespace) -> None:
    """Child process: one size, one mode; prints a JSON line."""
    facilities, destinations = SIZES[args.one]
    data = generate(facilities, destinations)
    solve = (args.one != "1M" or args.solve_1m) and args.mode != "phased"
    with tempfile.TemporaryDirectory() as tmp:
        if args.mode == "baseline":
            times = run_baseline(data, solve)
        else:
            manifest = write(data, Path(tmp) / "instance", phased=args.mode == "phased")
            start_rss = peak_mb()
            del start_rss
            times = run_product(manifest, "pyomo" if args.mode == "pyomo" else "matrix", solve, Path(tmp) / "out")
    times["peak_mb"] = peak_mb()
    print(json.dumps(times))


STAGES = ["load", "derive", "build", "handoff", "solve", "extract", "write"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--pyomo-up-to", default="100k", choices=list(SIZES), help="largest size for the Pyomo path")
    parser.add_argument("--solve-1m", action="store_true", help="also solve the 1M-arc instance")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale.md")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size and path; the fastest is kept")
    parser.add_argument("--no-phased", action="store_true", help="skip the 3-period column")
    parser.add_argument("--one", choices=list(SIZES), help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["baseline", "spatialopt", "pyomo", "phased"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args)
        return
    order = list(SIZES)
    rows = []
    for size in args.sizes:
        modes = ["baseline", "spatialopt"]
        if order.index(size) <= order.index(args.pyomo_up_to):
            modes.append("pyomo")
        if not args.no_phased:
            modes.append("phased")
        measured = {}
        for mode in modes:
            cmd = [sys.executable, __file__, "--one", size, "--mode", mode] + (["--solve-1m"] if args.solve_1m else [])
            runs = []
            for _ in range(args.repeat):
                line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
                runs.append(json.loads(line))
                print(f"{size:>5} {mode:<10} {runs[-1]}", file=sys.stderr, flush=True)
            # The fastest of the repeats: the machine's noise only ever adds time.
            measured[mode] = min(runs, key=lambda r: sum(r.get(s, 0.0) for s in STAGES))
        base = measured["baseline"]
        for mode in modes:
            m = measured[mode]
            if m.get("objective") is not None and base.get("objective") is not None:
                same = abs(m["objective"] - base["objective"]) <= 1e-9 * max(1.0, abs(base["objective"]))
                assert same, f"{size} {mode}: objective {m['objective']} differs from the baseline {base['objective']}"
            total = sum(m.get(s, 0.0) for s in STAGES)
            overhead = total - m.get("solve", 0.0)
            rows.append((size, mode, m, total, overhead))
    table = render(rows)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


def render(rows: list[tuple[str, str, dict, float, float]]) -> str:
    """Seconds per stage and ratios to the baseline of the same size.

    ``same work`` says whether HiGHS did the same simplex iterations and nodes
    as for the baseline: then both solved the identical model along the same
    path, any difference in solve seconds is the machine's noise, and
    ``at equal solve`` gives the end-to-end ratio with the baseline's solve
    seconds on both sides.
    """
    head = ("| arcs | path | " + " | ".join(STAGES) + " | total s | overhead s | peak MB | total / baseline"
            " | same work | at equal solve | move columns | overhead / baseline | s / 100k moves |")
    sep = "|" + "---|" * (head.count("|") - 1)
    lines = [head, sep]
    base_of = {size: (total, m) for size, mode, m, total, _ in rows if mode == "baseline"}
    for size, mode, m, total, overhead in rows:
        cells = [f"{m[s]:.2f}" if s in m else "" for s in STAGES]
        bt, bm = base_of[size]
        same = "" if "work" not in m or "work" not in bm else ("yes" if m["work"] == bm["work"] else "no")
        equal = f"{(overhead + bm.get('solve', 0.0)) / bt:.2f}x" if same == "yes" else ""
        # Overhead against the baseline's (build and hand-off of the single-period model);
        # per 100k move variables where the path reports its move columns.
        b_over = bt - bm.get("solve", 0.0)
        ratio = f"{overhead / b_over:.1f}x" if b_over > 0 else ""
        moves = m.get("moves")
        per = f"{overhead / moves * 1e5:.2f}" if moves else ""
        # Totals compare only where both sides solved or neither did.
        vs = f"{total / bt:.2f}x" if ("solve" in m) == ("solve" in bm) else ""
        lines.append(
            f"| {size} | {'3 periods' if mode == 'phased' else mode} | " + " | ".join(cells)
            + f" | {total:.2f} | {overhead:.2f} | {m['peak_mb']:.0f} | {vs} | {same} | {equal}"
            + f" | {moves if moves else ''} | {ratio} | {per} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
