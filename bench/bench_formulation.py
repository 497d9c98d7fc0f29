"""What the strong formulation buys: HiGHS time and nodes, strong vs weaker variants.

    python bench/bench_formulation.py [classic|strengthening|all] [--quick] [--only=NAME,...]

``strengthening`` (issue 17) measures each valid strengthening of
:mod:`spatialopt.strong_rows` on its own against the spec's rows, and the
two row-level ones together, on the same instance in the same run (HiGHS
``threads=1``, seed 0, time to a proven 1e-4 gap, root LP bound, nodes), on
OR-Library cap131-134 (split demand) and pmed1-5, the China instances (the phased ones included) and
a seeded 3,000 x 400 location instance (left out by ``--quick``). Reduced-cost
fixing needs a plan's cost: it is given the best plan's cost plus 0.5% (what a
warm start provides), and is compared with the spec's model given the same
cutoff. A variant that changes nothing is the spec's model and is not solved
again. It writes ``bench/results/strengthening.md`` (``--only``:
``strengthening-partial.md``); ``classic`` the two
older comparisons below (``bench/results/formulation.md``).

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
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import spatialopt
from spatialopt.convert.orlib import write_cap_instance, write_pmed_instance
from spatialopt.derive import derive
from spatialopt.formulation import build
from spatialopt.matrix import MatrixModel, build_matrices, matrices_from
from spatialopt.solve import run_highs_matrix
from spatialopt.strengthen import fix_by_reduced_costs, lp_relaxation
from spatialopt.strong_rows import Strengthening, strengthened

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


def classic() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["cap61", "cap62", "cap63", "cap64", "cap91", "cap92", "cap121", "cap122"]:
            manifest = write_cap_instance(ROOT / f"instances/orlib/cap/{name}.txt", Path(tmp) / name, variant="split")
            inst = spatialopt.load(manifest)
            d = derive(inst)
            strong = build_matrices(inst, d, Strengthening.none())
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
        s_obj, s_sec, s_nodes, s_done = solve(build_matrices(inst, derive(inst), Strengthening.none()))
        wide = expand_units(inst)
        w_obj, w_sec, w_nodes, w_done = solve(build_matrices(wide, derive(wide), Strengthening.none()))
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


# -- strengthening (issue 17, item 1) ----------------------------------------------------------
STRONG_OPTIONS = {"mip_rel_gap": 1e-4, "random_seed": 0, "threads": 1}
# Each strengthening alone, against the spec's model, in the same run; then the default set.
VARIANTS = [*((name, Strengthening.only(name))
              for name in ("capacity_links", "cover_rows", "dominated_arcs", "cumulative_rows", "moved_units",
                           "site_city_caps")),
            ("moved_units (with periods too)",
             dataclasses.replace(Strengthening.only("moved_units"), moved_units_with_periods=True))]
BOTH = ("capacity_links + cover_rows",
        Strengthening(capacity_links=True, cover_rows=True, reduced_cost_fixing=False, cumulative_rows=False,
                      moved_units=False))
# The rows the default adds (reduced-cost fixing needs a plan's cost: measured on its own below).
DEFAULT_ROWS = ("default rows (cover_rows + cumulative_rows + moved_units)",
                Strengthening(cover_rows=True, cumulative_rows=True, moved_units=True, reduced_cost_fixing=False))
LP_BOUND_COLUMNS = 300_000  # above this the root LP bound column is left out (an extra LP solve per row)
HEURISTIC_SLACK = 0.005  # reduced-cost fixing is given a plan 0.5% dearer than the best known (a warm start's)


@dataclasses.dataclass
class Measured:
    seconds: float  # LP for fixing (when used) + HiGHS, to a proven 1e-4 gap or the limit
    nodes: int
    lp_bound: float | None  # the root LP relaxation's optimum, before HiGHS's cuts
    objective: float | None
    bound: float | None  # HiGHS's proven bound at the end (at the limit: how far the search got)
    gap: float | None
    proven: bool
    changed: int = 0  # rows added, coefficients or column bounds tightened
    same_model: bool = False  # nothing changed: the spec's model, not solved again


def measure(instance: spatialopt.Instance, derived: object, options: Strengthening, limit: float,
            upper_bound: float | None = None, unchanged: Measured | None = None) -> Measured:
    """One solve of ``instance`` strengthened by ``options``; ``upper_bound`` also goes to HiGHS as its cutoff.

    When the strengthening changes nothing, ``unchanged`` (the spec's model's run) is the answer.
    """
    plain = build(instance, derived)  # type: ignore[arg-type]
    form = strengthened(plain, options)
    changed = _changes(plain, form)
    seconds = 0.0
    if options.reduced_cost_fixing and upper_bound is not None:
        form, fixing = fix_by_reduced_costs(form, upper_bound)
        seconds += fixing.seconds
        changed += fixing.tightened
    if changed == 0 and unchanged is not None:
        return dataclasses.replace(unchanged, seconds=unchanged.seconds + seconds, same_model=True)
    relaxed = lp_relaxation(form) if form.n_cols <= LP_BOUND_COLUMNS else None
    run_options: dict[str, object] = {**STRONG_OPTIONS, "time_limit": limit}
    if upper_bound is not None:
        run_options["objective_bound"] = upper_bound
    run = run_highs_matrix(matrices_from(form), run_options)
    seconds += run.seconds
    gap = None
    if run.objective is not None and run.bound is not None:
        gap = (run.objective - run.bound) / max(abs(run.objective), 1e-10)
    return Measured(seconds, run.work["nodes"], relaxed[0] if relaxed else None, run.objective, run.bound,
                    gap, run.status.value == "optimal", changed)


def _changes(plain: object, form: object) -> int:
    """Rows the strengthening added, link coefficients it lowered and columns it bounded."""
    before = {b.family: b for b in plain.rows}  # type: ignore[attr-defined]
    added = sum(b.n_rows for b in form.rows if b.family not in before)  # type: ignore[attr-defined]
    lowered = 0
    if "site_link" in before:
        old, new = before["site_link"], form.family("site_link")  # type: ignore[attr-defined]
        weight = [np.bincount(b.row, weights=np.minimum(b.val, 0), minlength=b.n_rows) for b in (old, new)]
        lowered = int(np.sum(weight[1] > weight[0]))  # rows whose -coefficient on y shrank
    bounded = sum(int(np.sum(n.upper < o.upper)) for o, n in zip(plain.columns, form.columns))  # type: ignore[attr-defined]
    return added + bounded + lowered


def hard_scale_instance(folder: Path, facilities: int = 3000, destinations: int = 400) -> Path:
    """The seeded scale instance made a location problem (``scale_instance.sited``)."""
    from scale_instance import generate, sited, write

    return write(sited(generate(facilities, destinations)), folder)


def strengthening_cases(tmp: Path, quick: bool) -> list[tuple[str, Path, float]]:
    """(name, manifest, time limit) of every instance the strengthening table covers."""
    cases = [(f"{n} (split)", write_cap_instance(ROOT / f"instances/orlib/cap/{n}.txt", tmp / n, variant="split"), 60.0)
             for n in ("cap131", "cap132", "cap133", "cap134")]
    cases += [(n, write_pmed_instance(ROOT / f"instances/orlib/pmed/{n}.txt", tmp / n), 120.0)
              for n in ("pmed1", "pmed2", "pmed3", "pmed4", "pmed5")]
    cases += [(n, ROOT / f"instances/{n}/instance.toml", 90.0) for n in ("jingjinji-2035", "china-2035-phased")]
    # The phased regional instances: cumulative_rows acts only with plan periods.
    cases += [(n, ROOT / f"instances/{n}/instance.toml", 120.0)
              for n in ("jingjinji-2035-phased", "yangtze-delta-2035-phased", "pearl-delta-2035-phased",
                        "chengyu-2035-phased")]
    if not quick:
        cases.append(("seeded 3000x400", hard_scale_instance(tmp / "hard-scale"), 90.0))
    cases.append(("china-2035", ROOT / "instances/china-2035/instance.toml", 90.0))
    return cases


def strengthening_table(out: Path, quick: bool = False, only: list[str] | None = None) -> str:
    """The table, rewritten to ``out`` after each instance (a long run keeps what it measured)."""
    header = ("| instance | variant | changed | s to 1e-4 | nodes | root LP bound | bound at end | gap at end "
              "| plain / variant time |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, manifest, limit in strengthening_cases(Path(tmp), quick):
            if only and not any(name.startswith(o) for o in only):
                continue
            inst = spatialopt.load(manifest)
            d = derive(inst)
            t = time.perf_counter()
            plain = measure(inst, d, Strengthening.none(), limit)
            runs = [(v, measure(inst, d, s, limit, unchanged=plain)) for v, s in VARIANTS + [BOTH, DEFAULT_ROWS]]
            for variant, got in runs:
                _same_optimum(name, variant, plain, got)
            lines.append(_line(name, "none (spec rows)", plain, plain, limit))
            lines += [_line(name, v, got, plain, limit) for v, got in runs]
            if plain.objective is not None:
                bound = plain.objective + HEURISTIC_SLACK * max(1.0, abs(plain.objective))
                cut = measure(inst, d, Strengthening.none(), limit, upper_bound=bound)
                fixed = measure(inst, d, Strengthening.only("reduced_cost_fixing"), limit, upper_bound=bound,
                                unchanged=cut)
                _same_optimum(name, "reduced_cost_fixing", cut, fixed)
                lines.append(_line(name, "none + cutoff (plan +0.5%)", cut, cut, limit))
                lines.append(_line(name, "reduced_cost_fixing + cutoff", fixed, cut, limit))
            out.write_text("\n".join(lines) + "\n")
            print(f"{name}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    return "\n".join(lines)


def _same_optimum(name: str, variant: str, plain: Measured, got: Measured) -> None:
    """Both proven: the same optimum, to the gap (a strengthening must never cut one off)."""
    if plain.proven and got.proven and plain.objective is not None and got.objective is not None:
        tol = 2e-4 * max(1.0, abs(plain.objective))
        assert abs(plain.objective - got.objective) <= tol, (name, variant, plain.objective, got.objective)


def _line(name: str, variant: str, got: Measured, plain: Measured, limit: float) -> str:
    shown = f"{got.seconds:.2f}" if got.proven else f">= {limit:.0f} (limit)"
    if got.same_model:
        shown = "same model as none"
    gap = "n/a" if got.gap is None else f"{100 * got.gap:.3f}%"
    lp = "n/a" if got.lp_bound is None else f"{got.lp_bound:,.2f}"
    bound = "n/a" if got.bound is None or not math.isfinite(got.bound) else f"{got.bound:,.2f}"
    ratio = plain.seconds / max(got.seconds, 1e-3)
    mark = "" if got.proven or not plain.proven else " (variant at limit)"
    return (f"| {name} | {variant} | {got.changed} | {shown} | {got.nodes} | {lp} | {bound} | {gap} | "
            f"{ratio:.2f}x{mark} |")


def main(argv: list[str]) -> None:
    part = next((a for a in argv if not a.startswith("-")), "all")
    if part in ("classic", "all"):
        classic()
    if part in ("strengthening", "all"):
        only = next((a.split("=", 1)[1].split(",") for a in argv if a.startswith("--only=")), None)
        out = ROOT / "bench" / "results" / ("strengthening.md" if only is None else "strengthening-partial.md")
        print(strengthening_table(out, quick="--quick" in argv, only=only))
        print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
