"""What the strong formulation buys: HiGHS time and nodes, strong vs weaker variants.

    python bench/bench_formulation.py

Two choices of :mod:`spatialopt.matrix` are measured against the textbook
alternatives, on the same instances, in the same run:

1. **Site linking.** spatialopt links each arc to its site on its own,
   ``x_fd <= count_f y_kd`` (strong). The weak alternative aggregates them per
   site, ``sum_f x_fd <= (sum_f count_f) y_kd``: fewer rows, a much weaker LP
   relaxation. Measured on OR-Library capacitated warehouse location
   (cap61-64, cap91-94, cap121-124: 16 to 50 sites, 50 customers).
2. **Identical units.** A facility row with ``count`` identical units is one
   integer variable per arc; the alternative writes ``count`` rows of one unit
   each (symmetric binaries, which branch-and-bound explores again and again).
   Measured on a seeded instance whose rows carry 2 to 6 units.

Both variants of a pair must reach the same optimum. The table prints HiGHS's
seconds and branch-and-bound nodes and the ratio weak / strong.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import spatialopt
from spatialopt.convert.orlib import write_cap_instance
from spatialopt.derive import derive
from spatialopt.matrix import MatrixModel, build_matrices
from spatialopt.solve import run_highs_matrix

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = {"mip_rel_gap": 1e-9, "random_seed": 0, "threads": 1, "time_limit": 120.0}


def weak_linking(m: MatrixModel, derived: object) -> MatrixModel:
    """The same model with site_link rows aggregated per site."""
    block = m.family_rows["site_link"]
    rows = np.arange(m.n_rows)
    keep = (rows < block.start) | (rows >= block.stop)
    starts, ends = m.a_start[:-1], m.a_start[1:]
    r_of_entry = np.repeat(rows, ends - starts)
    entry_keep = keep[r_of_entry]
    # Each site_link row holds x (coefficient 1) and y (coefficient -count).
    link_entries = ~entry_keep
    link_rows = r_of_entry[link_entries]
    cols = m.a_index[link_entries]
    vals = m.a_value[link_entries]
    is_y = (cols >= m.y.start) & (cols < m.y.stop)
    y_of_row = pd.Series(cols[is_y], index=link_rows[is_y])
    count_of_row = pd.Series(-vals[is_y], index=link_rows[is_y])
    x_rows = link_rows[~is_y]
    site = y_of_row.loc[x_rows].to_numpy()
    sites = np.unique(site)
    number = {int(s): i for i, s in enumerate(sites)}
    agg_count = pd.Series(count_of_row.loc[x_rows].to_numpy()).groupby(site).sum()
    new_r = np.r_[[number[int(s)] for s in site], np.arange(sites.size)]
    new_c = np.r_[cols[~is_y], sites]
    new_v = np.r_[np.ones(x_rows.size), -agg_count.loc[sites].to_numpy()]
    base_r = np.searchsorted(np.nonzero(keep)[0], r_of_entry[entry_keep])
    n_kept = int(keep.sum())
    r = np.r_[base_r, n_kept + new_r]
    c = np.r_[m.a_index[entry_keep], new_c]
    v = np.r_[m.a_value[entry_keep], new_v]
    order = np.argsort(r, kind="stable")
    start = np.zeros(n_kept + sites.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_kept + sites.size), out=start[1:])
    return dataclasses.replace(
        m, row_lower=np.r_[m.row_lower[keep], np.full(sites.size, -np.inf)],
        row_upper=np.r_[m.row_upper[keep], np.zeros(sites.size)],
        a_start=start, a_index=c[order], a_value=v[order], family_rows={}, row_family=[],
    )


def expand_units(instance: spatialopt.Instance) -> spatialopt.Instance:
    """The same instance with every row of ``count`` units written as ``count`` one-unit rows."""
    fac = instance.facilities
    repeats = fac["count"].to_numpy()
    ids = [f"{f}#{i}" for f, n in zip(fac.index, repeats) for i in range(n)]
    expanded = fac.loc[fac.index.repeat(repeats)].assign(count=1)
    expanded.index = pd.Index(ids, name="id")
    use = instance.facility_use.loc[instance.facility_use.index.repeat(repeats)]
    use.index = expanded.index
    return dataclasses.replace(instance, facilities=expanded, facility_use=use)


def solve(m: MatrixModel) -> tuple[float, float, int, bool]:
    """Objective (or best found), HiGHS seconds, nodes, and whether optimality was proven in time."""
    run = run_highs_matrix(m, OPTIONS)
    assert run.status.value in ("optimal", "feasible"), run.status
    return float(run.objective), run.seconds, run.work["nodes"], run.status.value == "optimal"


def units_instance(folder: Path, seed: int = 7) -> Path:
    """A seeded relocation instance whose facility rows carry 2-6 identical units."""
    rng = np.random.default_rng(seed)
    n_dest, n_fac = 12, 30
    cities = ["id,lon,lat,tier,cost_index,cap_res", "core,116.4,39.9,core,1.5,"]
    for d in range(n_dest):
        cities.append(f"d{d},{rng.uniform(113, 120):.4f},{rng.uniform(36, 42):.4f},large,"
                      f"{rng.choice([0.8, 0.9, 1.0, 1.2])},{int(rng.integers(800, 2000))}")
    facilities = ["id,origin,type,count,jobs,fixed_cost"]
    for f in range(n_fac):
        facilities.append(f"f{f},core,t,{int(rng.integers(2, 7))},{int(rng.integers(40, 160))},{int(rng.integers(1, 9))}")
    (folder / "cities.csv").write_text("\n".join(cities) + "\n")
    (folder / "facilities.csv").write_text("\n".join(facilities) + "\n")
    manifest = folder / "instance.toml"
    manifest.write_text(
        '[instance]\nname = "units"\n[tables]\ncities = "cities.csv"\nfacilities = "facilities.csv"\n'
        '[[types]]\nid = "t"\ncost_per_job_km = 0.002\nannual_cost_per_job = 0.02\n'
        "requires_site = true\nsite_cost = 40.0\nsite_capacity_jobs = 2500\n"
        '[[resources]]\nid = "res"\nuse = "residents"\ncap = "cap_res"\n'
        '[[sources]]\ncity = "core"\ntarget_reduction = 9000\n'
    )
    return manifest


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["cap61", "cap62", "cap63", "cap64", "cap91", "cap92", "cap121", "cap122"]:
            manifest = write_cap_instance(ROOT / f"instances/orlib/cap/{name}.txt", Path(tmp) / name, variant="split")
            inst = spatialopt.load(manifest)
            d = derive(inst)
            strong = build_matrices(inst, d)
            t = time.perf_counter()
            s_obj, s_sec, s_nodes, s_done = solve(strong)
            w_obj, w_sec, w_nodes, w_done = solve(weak_linking(strong, d))
            if s_done and w_done:
                assert abs(s_obj - w_obj) <= 1e-6 * abs(s_obj), (name, s_obj, w_obj)
            rows.append(("site linking", name, s_sec, s_nodes, s_done, w_sec, w_nodes, w_done))
            print(f"{name}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        folder = Path(tmp) / "units"
        folder.mkdir()
        inst = spatialopt.load(units_instance(folder))
        s_obj, s_sec, s_nodes, s_done = solve(build_matrices(inst, derive(inst)))
        wide = expand_units(inst)
        w_obj, w_sec, w_nodes, w_done = solve(build_matrices(wide, derive(wide)))
        if s_done and w_done:
            assert abs(s_obj - w_obj) <= 1e-6 * max(1.0, abs(s_obj)), (s_obj, w_obj)
        else:  # the variant stopped at the time limit: its plan can only be worse
            assert w_obj >= s_obj - 1e-6 * max(1.0, abs(s_obj)), (s_obj, w_obj)
        rows.append(("identical units", "units (30 rows, 2-6 units)", s_sec, s_nodes, s_done, w_sec, w_nodes, w_done))
    lines = [
        "| choice | instance | strong s | strong nodes | weak s | weak nodes | weak / strong time |",
        "|---|---|---|---|---|---|---|",
    ]
    limit = OPTIONS["time_limit"]
    for choice, name, s_sec, s_nodes, s_done, w_sec, w_nodes, w_done in rows:
        def shown(sec: float, done: bool) -> str:
            return f"{sec:.2f}" if done else f">= {limit:.0f} (limit)"

        ratio = f"{w_sec / max(s_sec, 1e-3):.1f}x" + ("" if w_done else "+")
        lines.append(f"| {choice} | {name} | {shown(s_sec, s_done)} | {s_nodes} | {shown(w_sec, w_done)} | {w_nodes} | {ratio} |")
    table = "\n".join(lines)
    print(table)
    out = ROOT / "bench" / "results" / "formulation.md"
    out.write_text(table + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
