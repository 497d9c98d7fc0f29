r"""Block bounds: the model cut where no site is shared, each block solved alone, the bounds summed.

A source's columns are its facilities' moves and moved units and its own
shortfall. Two sources are in one *block* when a row that holds a site's
opening also holds columns of both (a site both can fill: ``site_link``,
``site_capacity``, the cumulative rows): a site belongs to the block of the
sources it can receive. What is left ties blocks only through rows such as a
city's cap, a region's share or a period's budget, which several blocks may
draw on (*linking* rows). On the national instances the blocks are the city
clusters' sub-plans (11 blocks on china-2035 and china-2035-phased).

**The bound.** For block ``b`` with columns ``J``, every row it touches is
relaxed to ``J`` alone by the least and most the other columns can add within
their bounds (a city's cap ``Σ use·x ≤ cap`` becomes the block's uses ``≤
cap``, since the others' are ``≥ 0``; a row whose other part is unbounded on
the side that matters is dropped). Every plan of the model, restricted to
``J``, is a plan of that relaxation, so its objective part ``c_J·v_J`` is at
least the relaxation's proven bound ``L_b`` (HiGHS's dual bound; valid also
when a block stops at its limit). The objective is the sum of the blocks'
parts and of the columns no block owns (each at least its least cost within
its bounds), so ``Σ_b L_b +`` that least cost bounds every plan.

**The plan.** When every block has a plan and, put together (the columns no
block owns at their least cost, definition columns such as ``moved_jobs``
computed from the moves), they satisfy every row of the model, that is a plan
of the model: on china-2035-phased it is the optimum (46,260.593; the best
plan a 4,899 s search had found was 46,276.257), proved by the blocks'
bound in under a minute. Where a linking row binds, the blocks' plans break
it (china-2035: a region's share) and only the bound is used.

**The rows.** ``block_bound[b]``: ``c_J·v_J ≥ L_b − margin`` for each block, a
valid inequality (above), added to the model the search gets, which lifts its
LP bound to at least ``Σ L_b`` (china-2035: 63,549 → 64,865, optimum 64,868).

The pass runs before the root pass, in the solving process, on models that
are not large enough for a child process and that split into at least two
blocks of which none holds more than :data:`MAX_BLOCK_SHARE` of the columns;
its seconds count against the time limit (at most :data:`BLOCK_SHARE` of it
and :data:`BLOCK_SECONDS`). The explanations' question model uses
:class:`Blocks` for a lower bound per question
(:mod:`spatialopt.explain_counterfactuals`). ``Strengthening(block_bounds=False)``
turns both off.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .formulation import Formulation
from .heuristic import AUX, start_problems
from .instance import Instance
from .root_pass import RootPass
from .root_pass import proved_run as lp_proved_run
from .session import HighsSession, Progress, StartPlan
from .status import SolverRun, SolveStatus

#: The pass takes at most this share of the solve's time limit, and at most this many seconds.
BLOCK_SHARE = 0.5
BLOCK_SECONDS = 180.0
#: No block may hold more than this share of the owned columns (else the pass re-solves most of the model).
MAX_BLOCK_SHARE = 0.5
#: Each block is solved to this share of the asked relative gap, so the sum can prove the asked gap.
BLOCK_GAP_SHARE = 0.1
#: A block row gives up this much (relative, 1 at least) of the block's bound for HiGHS's tolerances.
BOUND_MARGIN = 1e-6
#: HiGHS options a block's run takes from the solve's; the rest are the block's own.
PASSED_OPTIONS = ("threads", "random_seed", "mip_feasibility_tolerance", "primal_feasibility_tolerance",
                  "dual_feasibility_tolerance")


@dataclass
class BlockPass:
    """What the block pass found: the blocks, their summed bound, the combined plan, its time."""

    blocks: int = 0
    bound: float | None = None  # a lower bound on every plan's objective; None unless every block gave one
    plan: StartPlan | None = None  # the blocks' plans together, when they satisfy every row
    rows: list[tuple[np.ndarray, float]] = field(default_factory=list)  # (columns, bound) per block
    solved: int = 0  # blocks proved within their gap
    seconds: float = 0.0
    interrupted: bool = False
    broken: list[str] = field(default_factory=list)  # why the combined plan is not a plan, when it is not

    def proves(self, start: StartPlan | None, options: Mapping[str, Any]) -> bool:
        """True when the blocks' bound proves ``start`` optimal within the asked gap."""
        return self.bound is not None and RootPass(lp_bound=self.bound).proves(start, options)

    def settled(self, run: SolverRun, options: Mapping[str, Any]) -> SolverRun:
        """The search's outcome with the limit asked for and the blocks' bound where it is the higher.

        A run stopped at its limit whose plan the blocks' bound proves within the gap is optimal.
        """
        recorded = {**run.options, "time_limit": options["time_limit"]} if "time_limit" in options else run.options
        run = dataclasses.replace(run, options=recorded)
        if self.bound is None or run.objective is None or not run.status.has_solution:
            return run
        objective = float(run.objective)
        if run.bound is not None and math.isfinite(run.bound) and run.bound >= self.bound:
            return run
        run = dataclasses.replace(run, bound=min(self.bound, objective))
        if run.status == SolveStatus.FEASIBLE and self.proves((np.zeros(0), objective), options):
            run = dataclasses.replace(run, status=SolveStatus.OPTIMAL,
                                      termination=f"{run.termination}; proved by the block bounds")
        return run


def column_sources(form: Formulation, instance: Instance, n_cols: int) -> np.ndarray:
    """Per model column, the source it belongs to (a facility's origin, a shortfall's source), or None."""
    origin = instance.facilities["origin"].to_dict()
    owner = np.full(n_cols, None, dtype=object)
    start = 0
    for block in form.columns:
        keys: list[Any] = list(block.keys)
        if block.name in ("x", "moved_units"):  # keys (facility, ...) or a facility
            owner[start:start + len(keys)] = [origin[k if isinstance(k, str) else k[0]] for k in keys]
        elif block.name == "u":  # keys (source, ...) or a source
            owner[start:start + len(keys)] = [k if isinstance(k, str) else k[0] for k in keys]
        start += len(keys)
    return owner


def partition(matrices: Any, sources: np.ndarray) -> np.ndarray:
    """Per column, its block (0, 1, ...) or -1: sources joined by every row that holds a site's opening.

    A graph of rows, site columns and sources: each row holding both a site and a column some source
    owns links to them; its connected components are the blocks (numbered in the sources' sorted order).
    """
    from scipy.sparse.csgraph import connected_components

    names = sorted({s for s in sources if s is not None})
    number = {s: i for i, s in enumerate(names)}
    source_of = np.array([number[s] if s is not None else -1 for s in sources], dtype=np.int64)
    n_rows, n_cols = matrices.n_rows, matrices.n_cols
    is_site = np.zeros(n_cols, dtype=bool)
    is_site[matrices.y] = True
    cols = np.asarray(matrices.a_index, dtype=np.int64)
    counts: np.ndarray = np.diff(np.asarray(matrices.a_start, dtype=np.int64))
    rows = np.repeat(np.arange(n_rows), counts)
    owned = source_of[cols] >= 0
    joining = (np.bincount(rows[is_site[cols]], minlength=n_rows) > 0) & (np.bincount(rows[owned], minlength=n_rows) > 0)
    to_site = joining[rows] & is_site[cols]
    to_source = joining[rows] & owned
    u = np.concatenate([rows[to_site], rows[to_source]])
    v = np.concatenate([n_rows + cols[to_site], n_rows + n_cols + source_of[cols[to_source]]])
    size = n_rows + n_cols + len(names)
    graph = sp.coo_matrix((np.ones(u.size, dtype=np.int8), (u, v)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    source_label = label[n_rows + n_cols + np.arange(len(names))]
    first: dict[int, int] = {}
    for lab in source_label.tolist():  # blocks numbered in the order of their first source
        first.setdefault(lab, len(first))
    block_of_label = np.full(int(label.max()) + 1 if label.size else 0, -1, dtype=np.int64)
    for lab, b in first.items():
        block_of_label[lab] = b
    block = np.full(n_cols, -1, dtype=np.int64)
    block[source_of >= 0] = block_of_label[source_label[source_of[source_of >= 0]]]
    sites = np.flatnonzero(is_site)
    block[sites] = block_of_label[label[n_rows + sites]]  # a site no row ties to a source stays -1
    return block


def split(form: Formulation, instance: Instance, matrices: Any) -> np.ndarray | None:
    """The model's blocks (:func:`partition`) when the pass pays (:func:`wants_block_pass`), else None;
    a model of one source (the OR-Library conversions) is one block, known without building the partition."""
    if len(instance.sources) < 2:
        return None
    block = partition(matrices, column_sources(form, instance, matrices.n_cols))
    return block if wants_block_pass(block) else None


def wants_block_pass(block: np.ndarray) -> bool:
    """At least two blocks, none holding more than :data:`MAX_BLOCK_SHARE` of the owned columns."""
    sizes = np.bincount(block[block >= 0]) if (block >= 0).any() else np.zeros(0, dtype=np.int64)
    return sizes.size >= 2 and int(sizes.max()) <= MAX_BLOCK_SHARE * int(sizes.sum())


class _Activity:
    """Per row, the least and most each set of columns can add within its bounds (infinite parts counted)."""

    def __init__(self, matrices: Any) -> None:
        self.a = sp.csr_matrix((matrices.a_value, matrices.a_index, matrices.a_start),
                               shape=(matrices.n_rows, matrices.n_cols)).tocsc()
        self.lower, self.upper = np.asarray(matrices.col_lower, float), np.asarray(matrices.col_upper, float)
        self.least, self.most = self._parts(self.a)

    def _parts(self, a: sp.csc_matrix, cols: np.ndarray | None = None) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        lo = self.lower if cols is None else self.lower[cols]
        up = self.upper if cols is None else self.upper[cols]
        coo = a.tocoo()
        v, low, high = coo.data, lo[coo.col], up[coo.col]
        least = np.where(v > 0, v * low, v * high)
        most = np.where(v > 0, v * high, v * low)
        out = []
        for part in (least, most):
            finite = np.isfinite(part)
            total = np.bincount(coo.row[finite], weights=part[finite], minlength=a.shape[0])
            infinite = np.bincount(coo.row[~finite], minlength=a.shape[0])
            out.append((total, infinite))
        return tuple(out)

    def relaxed_rows(self, row_lower: np.ndarray, row_upper: np.ndarray, cols: np.ndarray
                     ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """The rows ``cols`` appear in, over ``cols`` alone, with the other columns' least / most moved out."""
        own = self.a[:, cols]
        touched = np.unique(own.nonzero()[0])
        (own_least, own_least_inf), (own_most, own_most_inf) = self._parts(own, cols)
        rest_least = np.where(self.least[1] - own_least_inf > 0, -np.inf, self.least[0] - own_least)
        rest_most = np.where(self.most[1] - own_most_inf > 0, np.inf, self.most[0] - own_most)
        with np.errstate(invalid="ignore"):  # inf - inf: a side no bound reaches
            lower = np.nan_to_num((row_lower - rest_most)[touched], nan=-np.inf)
            upper = np.nan_to_num((row_upper - rest_least)[touched], nan=np.inf)
        keep = np.isfinite(lower) | np.isfinite(upper)
        return own.tocsr()[touched[keep]], lower[keep], upper[keep]


class Blocks:
    """The model's blocks, each solvable alone (its rows relaxed to its columns), under changed bounds too."""

    def __init__(self, matrices: Any, block: np.ndarray) -> None:
        self.matrices, self.block = matrices, block
        self.count = int(block.max()) + 1 if block.size else 0
        self.columns = [np.flatnonzero(block == b) for b in range(self.count)]
        self.activity = _Activity(matrices)
        cost = np.asarray(matrices.cost, float)
        rest = block < 0
        c = cost[rest]
        with np.errstate(invalid="ignore"):  # 0 * inf: a free column that costs nothing
            least = np.where(c > 0, c * self.activity.lower[rest], np.where(c < 0, c * self.activity.upper[rest], 0.0))
        #: the least the columns no block owns can cost (each within its bounds); -inf if unbounded
        self.rest_least = float(least.sum()) if np.all(np.isfinite(least)) else -math.inf

    def solve(self, b: int, options: Mapping[str, Any], *, upper: np.ndarray | None = None,
              row_lower: np.ndarray | None = None, at_least: tuple[np.ndarray, np.ndarray, float] | None = None
              ) -> SolverRun:
        """Block ``b`` alone: the model's rows relaxed to its columns (module doc); its run (``values["x"]``:
        the block's columns). ``upper`` (per model column) and ``row_lower`` (per model row) narrow the
        block's own columns and rows; ``at_least`` (columns, coefficients, lower) adds one row over its columns."""
        from .matrix import MatrixModel

        m, cols = self.matrices, self.columns[b]
        lower_rows = m.row_lower if row_lower is None else row_lower
        a, lower, upper_rows = self.activity.relaxed_rows(lower_rows, m.row_upper, cols)
        if at_least is not None:
            where = np.searchsorted(cols, at_least[0])
            extra = sp.csr_matrix((at_least[1], (np.zeros(where.size, dtype=np.int64), where)), shape=(1, cols.size))
            a = sp.vstack([a, extra]).tocsr()
            lower, upper_rows = np.append(lower, at_least[2]), np.append(upper_rows, np.inf)
        col_upper = (self.activity.upper if upper is None else upper)[cols]
        sub = MatrixModel(cost=np.asarray(m.cost, float)[cols], col_lower=self.activity.lower[cols],
                          col_upper=col_upper, integer=np.asarray(m.integer, bool)[cols], row_lower=lower,
                          row_upper=upper_rows, a_start=a.indptr.astype(np.int64), a_index=a.indices.astype(np.int64),
                          a_value=a.data, x=slice(0, cols.size), y=slice(0, 0), u=slice(0, 0))
        with HighsSession(sub, options) as session:
            run = session.run()
            if session.interrupted:
                run = dataclasses.replace(run, termination="interrupted")
        return run


def block_options(options: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """A block's HiGHS options: the solve's threads, seed and tolerances, a tenth of its gap, ``seconds``."""
    gap = BLOCK_GAP_SHARE * float(options.get("mip_rel_gap", 1e-4))
    return {**{k: options[k] for k in PASSED_OPTIONS if k in options}, "mip_rel_gap": gap, "time_limit": seconds}


def block_pass(matrices: Any, block: np.ndarray, options: Mapping[str, Any], *,
               progress: Progress | None = None, start: StartPlan | None = None) -> BlockPass:
    """Each block solved alone (smallest first), the summed bound and the combined plan (module doc)."""
    started = time.perf_counter()
    blocks = Blocks(matrices, block)
    report = BlockPass(blocks=blocks.count)
    limit = options.get("time_limit")
    budget = BLOCK_SECONDS if limit is None else min(BLOCK_SECONDS, BLOCK_SHARE * float(limit))
    values = np.zeros(matrices.n_cols)
    whole = True  # every block has a plan
    bound = 0.0
    sizes = np.array([c.size for c in blocks.columns])
    left_size = int(sizes.sum())
    for b in np.argsort(sizes, kind="stable"):
        cols = blocks.columns[b]
        seconds = max(1.0, (budget - (time.perf_counter() - started)) * cols.size / max(1, left_size))
        left_size -= cols.size
        run = blocks.solve(int(b), block_options(options, seconds))
        if run.termination == "interrupted":
            report.interrupted = True
            break
        if run.bound is None or not math.isfinite(run.bound):
            bound = math.nan
        else:
            bound += run.bound
            report.rows.append((cols, float(run.bound)))
        report.solved += int(run.status == SolveStatus.OPTIMAL)
        if run.status.has_solution and "x" in run.values:
            values[cols] = run.values["x"]
        else:
            whole = False
    if not report.interrupted and math.isfinite(bound) and math.isfinite(blocks.rest_least) \
            and len(report.rows) == report.blocks:
        report.bound = bound + blocks.rest_least
    if not report.interrupted and whole:
        report.plan = _combined(matrices, values, block < 0, report)
        if report.plan is not None and progress is not None and (start is None or report.plan[1] < start[1]):
            progress({"objective": report.plan[1], "bound": report.bound if report.bound is not None else math.nan,
                      "gap": math.nan, "seconds": time.perf_counter() - started})
    report.seconds = time.perf_counter() - started
    return report


def _combined(matrices: Any, values: np.ndarray, rest: np.ndarray, report: BlockPass) -> StartPlan | None:
    """The blocks' plans as one plan of the model, or None (why, in ``report.broken``)."""
    v = values.copy()
    cost = np.asarray(matrices.cost, float)
    low, up = np.asarray(matrices.col_lower, float), np.asarray(matrices.col_upper, float)
    v[rest] = np.where(cost[rest] >= 0, low[rest], up[rest])
    v[rest] = np.where(np.isfinite(v[rest]), v[rest], 0.0)
    report.broken, objective = as_plan(matrices, v, rest)
    return None if report.broken else (v, objective)


def as_plan(matrices: Any, v: np.ndarray, rest: np.ndarray) -> tuple[list[str], float]:
    """``v`` made a plan in place (integer columns rounded, the definition columns among ``rest`` from their
    rows); why it is not a plan of the model (empty when it is), and its cost."""
    integer = np.asarray(matrices.integer, bool)
    v[integer] = np.round(v[integer])
    define_rest(matrices, v, rest)
    return start_problems(matrices, v), float(np.asarray(matrices.cost, float) @ v)


def define_rest(matrices: Any, v: np.ndarray, rest: np.ndarray) -> None:
    """Set in ``v`` each definition column among ``rest`` (``moved_jobs``: Σ terms − column = 0) from its row."""
    starts = np.asarray(matrices.a_start, dtype=np.int64)
    for family, column in AUX.items():  # a definition row: Σ terms − column = 0, the column from the moves
        rows, cols = matrices.family_rows.get(family), matrices.column_groups.get(column)
        if rows is None or cols is None:
            continue
        is_aux = np.zeros(matrices.n_cols, dtype=bool)
        is_aux[cols] = True
        for r in range(rows.start, rows.stop):
            index = matrices.a_index[starts[r]:starts[r + 1]]
            coef = matrices.a_value[starts[r]:starts[r + 1]]
            mine = is_aux[index]
            if mine.sum() == 1 and rest[index[mine]].all():
                j, c = int(index[mine][0]), float(coef[mine][0])
                v[j] = -float(coef[~mine] @ v[index[~mine]]) / c


def with_block_rows(matrices: Any, report: BlockPass) -> Any:
    """``matrices`` with a ``block_bound`` row per block: ``c_J·v_J ≥ L_b − margin`` (module doc)."""
    if not report.rows:
        return matrices
    cost = np.asarray(matrices.cost, float)
    index = [cols[cost[cols] != 0] for cols, _ in report.rows]
    lower = np.array([bound - BOUND_MARGIN * max(1.0, abs(bound)) for _, bound in report.rows])
    a_index = np.concatenate([np.asarray(matrices.a_index, np.int64), *[i.astype(np.int64) for i in index]])
    a_value = np.concatenate([np.asarray(matrices.a_value, float), *[cost[i] for i in index]])
    counts = np.array([i.size for i in index], dtype=np.int64)
    a_start = np.concatenate([np.asarray(matrices.a_start, np.int64), matrices.a_start[-1] + np.cumsum(counts)])
    n = matrices.n_rows
    family_rows = {**matrices.family_rows, "block_bound": slice(n, n + len(index))}
    return dataclasses.replace(
        matrices, a_index=a_index, a_value=a_value, a_start=a_start,
        row_lower=np.concatenate([matrices.row_lower, lower]),
        row_upper=np.concatenate([matrices.row_upper, np.full(len(index), np.inf)]),
        row_family=[*matrices.row_family, "block_bound"], family_rows=family_rows)


def proved_run(matrices: Any, plan: StartPlan, report: BlockPass, options: Mapping[str, Any],
               version: str) -> SolverRun:
    """The solve's outcome when the blocks' bound proves the plan optimal within the gap: no search (the root
    pass's outcome for a proof, with the blocks' bound and their termination)."""
    return lp_proved_run(matrices, plan, RootPass(lp_bound=report.bound, seconds=report.seconds), options, version,
                         termination="proved by the block bounds")
