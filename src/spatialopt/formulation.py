r"""The relocation model of spec §4, written once as labelled numpy blocks.

Every variable group and every constraint family is built here, in one
function each, with vectorised numpy. Two back ends read the blocks and add
nothing of their own: :func:`spatialopt.matrix.matrices_from` (sparse arrays
handed to HiGHS in one call, the default) and :func:`spatialopt.model.model_from`
(a Pyomo ``ConcreteModel`` whose components carry the names below, indexed by
instance ids). Whatever changes a model — the elastic relaxation of
:mod:`spatialopt.diagnose`, the ε rows of the Pareto front, an analyst's own
rule (``docs/extending.md``) — changes the blocks, once, for both.

Columns (:class:`ColumnBlock`, in this order)
    x[f, d]            units of facility f moved to d, over the eligible arcs (set ARCS):
                       integer in [0, count_f], continuous when f's type is splittable;
                       cost c_fd
    y[k, d]            1 when a site of type k opens in d (set SITES); cost W.sites site_cost_kd
    u[s]               shortfall of a soft source's target (set SOFT), >= 0;
                       cost W.shortfall shortfall_penalty_s
    moved_residents    sum residents_f x_fd, >= 0 (only with a destination share < 1)
    moved_jobs         sum jobs_f x_fd, >= 0 (only with a region share > 0)

Rows (:class:`RowBlock`, one family each, keyed by instance ids)
    (1)  assign[f]            sum_d x_fd <= count_f            (= when must_move)
    (2)  target[s]            sum_{f: o(f)=s} residents_f sum_d x_fd (+ u_s) >= T_s   (T_s > 0)
    (3)  min_share[s, k]      sum_{f: o=s, type k} jobs_f sum_d x_fd
                                  >= share_sk * sum_{f: o=s, type k} jobs_f count_f
    (4)  capacity[r, d]       sum_f use_{f,r,d} x_fd <= cap_{d,r}   (finite caps)
    (5)  site_link[f, d]      x_fd - count_f y_{k(f),d} <= 0      (types requiring a site)
    (6)  site_capacity[k, d]  sum_{f: type k} jobs_f x_fd - capacity_kd y_kd <= 0   (finite)
    (7)  site_min[k, d]       sum_{f: type k} jobs_f x_fd - min_site_jobs_k y_kd >= 0
    (8)  site_count[k]        min_sites_k <= sum_d y_kd <= max_sites_k
    (9)  budget               sum r_fd x_fd + sum site_cost_kd y_kd <= budget  (unweighted)
    (10) moved_residents_def  sum residents_f x_fd - moved_residents = 0
         destination_share[d] sum_f residents_f x_fd - alpha moved_residents <= 0
    (11) moved_jobs_def       sum jobs_f x_fd - moved_jobs = 0
         region_share[g]      sum_{f, d in g} jobs_f x_fd - beta_g moved_jobs >= 0

Objective (``total_cost``), minimised: the sum of the column costs above.

Plan periods (spec v2, an instance with ``[[periods]]``): x is one column per
move ``x[f, d, p]`` (each arc in each period of f's ``earliest``..``latest``,
:func:`move_layout`), y one per opening ``y[k, d, p]`` (:func:`site_layout`),
u one per target row of a soft source ``u[s, p]``; costs are present values
(``delta_p``, ``Y_p`` of :mod:`spatialopt.periods`). Every family above sums a
facility's moves over periods where the spec reads ``X_fd``; in addition
    target[s, p]         moved from s by the end of p (+ u_sp) >= T_sp, p = P and each milestone
    capacity[r, d, p]    uses moved by the end of p <= cap_{d,r,p} (cap_by_period; the last: cap)
    site_open[k, d]      sum_p y_kdp <= 1                   (several periods)
    site_link[f, d, p]   x_fdp - count_f sum_{q<=p} y_kdq <= 0
    period_budget[p]     sum r_fd x_fdp + sum site_cost_kd y_kdp <= budget_p
``site_capacity`` and ``site_min`` sum y over all periods (the last period's
rows; earlier capacity rows are implied by ``site_link``). Without
``[[periods]]`` the blocks are exactly v1.1's (one period, the moves are the arcs).

The two share rules compare part of the move with the whole; the whole is one
auxiliary column, so each share row holds only its own arcs plus one term.
Rows that cannot bind (a share of 0 or 1, a zero target, an unlimited cap)
are not built. A row left without any variable is dropped when it holds and,
when it cannot, explained in the instance's words in
:attr:`Formulation.trivially_infeasible` (the solve then reports
infeasibility with the reason instead of handing HiGHS a contradiction); both
back ends therefore say the same thing.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from .derive import Derived
from .instance import Instance
from .periods import discount_factors, facility_windows, milestone_targets

INF = math.inf
Key = Hashable
Keys = Callable[[], Sequence[Key]]
Explain = Callable[[Key, float, float], str]


@dataclass
class ColumnBlock:
    """A group of columns: bounds, integrality and objective cost per column.

    ``key_source`` gives the keys (instance ids) when asked, so that a large
    model that never needs them never builds them; ``None`` makes the group one
    unindexed column. ``index_set`` names the Pyomo set of the keys (``ARCS``).
    """

    name: str
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray  # bool per column
    cost: np.ndarray
    key_source: Keys | None = None
    index_set: str | None = None
    dimen: int = 1  # length of a key (Pyomo's set dimension)

    @property
    def size(self) -> int:
        return int(self.lower.size)

    @cached_property
    def keys(self) -> list[Key]:
        return [None] if self.key_source is None else list(self.key_source())


@dataclass
class RowBlock:
    """One constraint family: ``lower <= sum_j val * column_j <= upper`` per row.

    Entries are COO triplets: ``row`` (0-based within the block), ``col``
    (the model's column index), ``val``. ``key_source`` gives one key per row
    in instance ids (``scalar`` blocks have the single key ``None``).
    ``explain(key, lower, upper)`` says, in the instance's words, why a row
    left without variables cannot hold.
    """

    family: str
    row: np.ndarray
    col: np.ndarray
    val: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    key_source: Keys
    explain: Explain | None = None
    scalar: bool = False

    @property
    def n_rows(self) -> int:
        return int(self.lower.size)

    @cached_property
    def keys(self) -> list[Key]:
        return list(self.key_source())

    @classmethod
    def grouped(cls, family: str, groups: Sequence[Key] | np.ndarray, col: np.ndarray, val: Any = 1.0,
                lower: Any = -INF, upper: Any = INF, explain: Explain | None = None) -> RowBlock:
        """One row per distinct value of ``groups`` (one group per entry, rows in sorted order).

        ``col`` and ``val`` give each entry's column and coefficient; ``lower``
        and ``upper`` are scalars or one value per row. The row keys are the
        group values.
        """
        groups = np.asarray(groups)
        row, unique = _rows_of(groups)
        n = unique.size
        return cls(family, row, np.asarray(col, dtype=np.int64), np.broadcast_to(np.asarray(val, float), row.shape),
                   _per_row(lower, n), _per_row(upper, n), lambda: unique.tolist(), explain)


@dataclass
class Formulation:
    """Column groups and row families of one model, in order, and why it cannot hold (if it cannot)."""

    name: str
    columns: list[ColumnBlock] = field(default_factory=list)
    rows: list[RowBlock] = field(default_factory=list)
    trivially_infeasible: list[str] = field(default_factory=list)
    objective_name: str = "total_cost"
    instance: Instance | None = None
    derived: Derived | None = None
    # Per x column: its arc (index into ``derived``'s arcs) and period position (0 without periods).
    move_arc: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    move_period: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def arc_columns(self, arcs: np.ndarray) -> np.ndarray:
        """Positions within ``x`` of every move of the arcs ``arcs`` (all their periods)."""
        return np.flatnonzero(np.isin(self.move_arc, np.asarray(arcs, dtype=np.int64)))

    @property
    def n_cols(self) -> int:
        return sum(b.size for b in self.columns)

    @property
    def n_rows(self) -> int:
        return sum(b.n_rows for b in self.rows)

    def column(self, name: str) -> slice:
        """The columns of group ``name`` (a slice of the model's columns)."""
        start = 0
        for block in self.columns:
            if block.name == name:
                return slice(start, start + block.size)
            start += block.size
        raise KeyError(f"no column group {name!r}; groups: {', '.join(b.name for b in self.columns)}")

    def has_column(self, name: str) -> bool:
        return any(b.name == name for b in self.columns)

    def find(self, name: str) -> RowBlock | None:
        """The row block of family ``name``, or None when the model has no such family."""
        return next((b for b in self.rows if b.family == name), None)

    def family(self, name: str) -> RowBlock:
        """The row block of family ``name``."""
        block = self.find(name)
        if block is not None:
            return block
        raise KeyError(f"no row family {name!r}; families: {', '.join(b.family for b in self.rows)}")

    def add_columns(self, block: ColumnBlock) -> slice:
        """Append a column group; its columns' slice."""
        if self.has_column(block.name):
            raise ValueError(f"column group {block.name!r} exists already")
        self.columns.append(block)
        return self.column(block.name)

    def add_rows(self, block: RowBlock) -> RowBlock:
        """Append a row family (the extension seam: an analyst's own rule is one more block).

        Zero coefficients are dropped; a row left without variables is dropped
        when it holds, and explained in :attr:`trivially_infeasible` when it
        cannot. Returns the block as stored.
        """
        if any(b.family == block.family for b in self.rows):
            raise ValueError(f"row family {block.family!r} exists already")
        if block.col.size and (block.col.min() < 0 or block.col.max() >= self.n_cols):
            raise ValueError(f"row family {block.family!r} names a column outside 0..{self.n_cols - 1}")
        block = _settled(block, self.trivially_infeasible)
        self.rows.append(block)
        return block

    def replace_rows(self, block: RowBlock) -> None:
        """Put ``block`` in the place of the family of the same name (same rows, new entries or bounds)."""
        at = self.rows.index(self.family(block.family))
        self.rows[at] = block

    def cost(self) -> np.ndarray:
        """Objective coefficient of every column, in column order."""
        return np.concatenate([b.cost for b in self.columns]) if self.columns else np.zeros(0)

    def set_objective(self, name: str, costs: dict[str, np.ndarray | float]) -> None:
        """A new objective ``name``, minimised: ``costs`` per column group, every other column 0."""
        for i, block in enumerate(self.columns):
            cost = np.broadcast_to(np.asarray(costs.get(block.name, 0.0), dtype=float), (block.size,)).copy()
            self.columns[i] = replace(block, cost=cost)
        self.objective_name = name

    def copy(self) -> Formulation:
        """A copy whose lists of blocks can change without changing this one (blocks are shared)."""
        return replace(self, columns=list(self.columns), rows=list(self.rows),
                       trivially_infeasible=list(self.trivially_infeasible))


# -- helpers ------------------------------------------------------------------------
def _rows_of(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row number of each entry (one row per distinct group, groups sorted), and the distinct groups."""
    unique, inverse = np.unique(groups, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), unique


def _per_row(value: Any, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()


def _settled(block: RowBlock, reasons: list[str]) -> RowBlock:
    """``block`` without zero entries and without rows that have no variable (see :meth:`Formulation.add_rows`)."""
    row, col, val = (np.asarray(block.row, np.int64), np.asarray(block.col, np.int64), np.asarray(block.val, float))
    keep = val != 0
    if not keep.all():
        row, col, val = row[keep], col[keep], val[keep]
    lower, upper = np.asarray(block.lower, float), np.asarray(block.upper, float)
    empty = np.bincount(row, minlength=block.n_rows) == 0
    if not empty.any():
        return replace(block, row=row, col=col, val=val, lower=lower, upper=upper)
    for i in np.flatnonzero(empty & ((lower > 0) | (upper < 0))):
        key, lo, up = block.keys[int(i)], float(lower[i]), float(upper[i])
        reasons.append(block.explain(key, lo, up) if block.explain else _no_variable(block.family, key, lo, up))
    alive = ~empty
    renumber = np.cumsum(alive) - 1
    source = block.key_source
    return replace(block, row=renumber[row], col=col, val=val, lower=lower[alive], upper=upper[alive],
                   key_source=lambda: [k for k, a in zip(source(), alive) if a])


def _no_variable(family: str, key: Key, lower: float, upper: float) -> str:
    where = family if key is None else f"{family}[{key if not isinstance(key, tuple) else ', '.join(map(str, key))}]"
    return f"{where}: no variable can take part, but the row needs {lower:g} <= 0 <= {upper:g}"


class _Data:
    """The instance's per-facility and per-arc arrays every family reads."""

    def __init__(self, instance: Instance, derived: Derived) -> None:
        fac = instance.facilities
        self.instance, self.derived = instance, derived
        self.count = fac["count"].to_numpy(dtype=float)
        self.jobs = fac["jobs"].to_numpy(dtype=float)
        self.residents = fac["residents"].to_numpy(dtype=float)
        self.must = fac["must_move"].to_numpy(dtype=bool)
        self.fac_type = fac["type"].to_numpy(dtype=object)
        self.fac_origin = fac["origin"].to_numpy(dtype=object)
        self.type_ids = list(instance.types)
        type_code = {k: i for i, k in enumerate(self.type_ids)}
        self.fac_type_code = np.array([type_code[t] for t in self.fac_type], dtype=np.int64)
        self.af, self.ad = derived.arc_f, derived.arc_d
        self.n_arcs, self.n_sites = derived.n_arcs, len(derived.site_type)
        self.arc = np.arange(self.n_arcs)
        self.arc_type_code = self.fac_type_code[self.af]
        self.arc_jobs, self.arc_res = self.jobs[self.af], self.residents[self.af]
        self.site_type_code = np.array([type_code[t] for t in derived.site_type], dtype=np.int64)
        self.soft = [s for s, src in instance.sources.items() if src.soft]
        self.city_ids = np.asarray(derived.city_ids, dtype=object)
        self.facility_ids = np.asarray(derived.facility_ids, dtype=object)
        # Moves (x columns): each arc in each period of its facility's window,
        # arc-major. Without [[periods]] the moves are the arcs, in arc order.
        self.phased = instance.phased
        self.period_ids = [p.id for p in instance.plan_periods]
        self.n_periods = len(self.period_ids)
        self.mv_arc, self.mv_p = move_layout(instance, derived)
        self.n_moves = int(self.mv_arc.size)
        self.mv = np.arange(self.n_moves)
        self.mv_f, self.mv_d = self.af[self.mv_arc], self.ad[self.mv_arc]
        self.mv_jobs, self.mv_res = self.arc_jobs[self.mv_arc], self.arc_res[self.mv_arc]
        self.delta, self.years = discount_factors(instance)

    def city_caps(self, resource: int, period: int) -> np.ndarray | None:
        """Resource ``resource``'s cap per city by the end of ``period`` (the last period's: the ``cap``
        column; an earlier one's: its ``cap_by_period`` column), or None when that period has none."""
        res = self.instance.resources[resource]
        if period == self.n_periods - 1:
            return self.instance.city_caps[res.id].to_numpy(dtype=float)
        by_period = self.instance.city_caps_by_period.get(self.period_ids[period])
        return None if by_period is None else by_period[res.id].to_numpy(dtype=float)

    def site_column(self, site: np.ndarray, period: np.ndarray | int) -> np.ndarray:
        """Position within y of the opening of site candidate ``site`` in ``period`` (site-major)."""
        return np.asarray(site, dtype=np.int64) * self.n_periods + period

    def move_keys(self, moves: np.ndarray) -> Keys:
        """Keys of the rows or columns of ``moves``: (f, d) without periods, (f, d, period id) with."""
        f, d = self.facility_ids[self.mv_f[moves]], self.city_ids[self.mv_d[moves]]
        if not self.phased:
            return _keys2(f, d)
        p = np.asarray(self.period_ids, dtype=object)[self.mv_p[moves]]
        return lambda: list(zip(f.tolist(), d.tolist(), p.tolist()))

    @cached_property
    def link(self) -> tuple[np.ndarray, np.ndarray]:
        """Arcs of types that require a site, and the position of each one's site candidate."""
        needs = np.array([self.instance.types[k].requires_site for k in self.type_ids], dtype=bool)
        link = np.flatnonzero(needs[self.arc_type_code]) if self.n_arcs else np.zeros(0, np.int64)
        n_cities = len(self.city_ids)
        site_code = self.site_type_code * n_cities + np.asarray(self.derived.site_d, dtype=np.int64)
        order = np.argsort(site_code, kind="stable")
        arc_code = self.arc_type_code[link] * n_cities + self.ad[link]
        return link, order[np.searchsorted(site_code[order], arc_code)].astype(np.int64)

    @cached_property
    def move_link(self) -> tuple[np.ndarray, np.ndarray]:
        """Moves of types that require a site, and the position of each one's site candidate."""
        link, site = self.link
        site_of_arc = np.full(self.n_arcs, -1, dtype=np.int64)
        site_of_arc[link] = site
        moves = np.flatnonzero(site_of_arc[self.mv_arc] >= 0) if self.n_moves else np.zeros(0, np.int64)
        return moves, site_of_arc[self.mv_arc[moves]]

    def origin_code(self, sources: Sequence[str]) -> np.ndarray:
        """Per facility, the position of its origin in ``sources`` (-1 when not there)."""
        at = {s: i for i, s in enumerate(sources)}
        return np.array([at.get(o, -1) for o in self.fac_origin], dtype=np.int64)


def _keys2(first: np.ndarray | Sequence[Any], second: np.ndarray) -> Keys:
    return lambda: list(zip(np.asarray(first, dtype=object).tolist(), np.asarray(second, dtype=object).tolist()))


def move_layout(instance: Instance, derived: Derived) -> tuple[np.ndarray, np.ndarray]:
    """The x columns as (arc, period position) arrays: each arc in each period of its facility's window.

    Arc-major, periods ascending within an arc; without ``[[periods]]`` the
    moves are the arcs themselves (period 0), so the model is v1.1's.
    """
    n_arcs = derived.n_arcs
    if not instance.phased:
        return np.arange(n_arcs, dtype=np.int64), np.zeros(n_arcs, np.int64)
    earliest, latest = facility_windows(instance)
    first, last = earliest[derived.arc_f], latest[derived.arc_f]
    length = np.maximum(last - first + 1, 0)
    arc = np.repeat(np.arange(n_arcs, dtype=np.int64), length)
    offset = np.arange(arc.size, dtype=np.int64) - np.repeat(np.cumsum(length) - length, length)
    return arc, (first[arc] + offset).astype(np.int64)


def site_layout(instance: Instance, derived: Derived) -> tuple[np.ndarray, np.ndarray]:
    """The y columns as (site candidate, period position) arrays, site-major."""
    n_periods = len(instance.plan_periods)
    n_sites = len(derived.site_type)
    return (np.repeat(np.arange(n_sites, dtype=np.int64), n_periods),
            np.tile(np.arange(n_periods, dtype=np.int64), n_sites))


def soft_layout(instance: Instance) -> list[tuple[str, int]]:
    """The u columns: (soft source, period position) of each of its target rows, in source order."""
    targets = milestone_targets(instance)
    return [(s, p) for s, src in instance.sources.items() if src.soft for p, _ in targets[s]]


# -- columns ------------------------------------------------------------------------
def _columns(data: _Data, form: Formulation) -> None:
    """x, y, u and the auxiliary totals, in that order."""
    inst, d = data.instance, data.derived
    if data.phased:
        _phased_columns(data, form)
    else:
        splittable = np.array([inst.types[t].splittable for t in data.fac_type], dtype=bool)
        form.add_columns(ColumnBlock("x", np.zeros(data.n_arcs), data.count[data.af], ~splittable[data.af],
                                     np.asarray(d.cost, float), d.arc_keys, "ARCS", 2))
        form.add_columns(ColumnBlock("y", np.zeros(data.n_sites), np.ones(data.n_sites), np.ones(data.n_sites, bool),
                                     inst.weights.sites * np.asarray(d.site_cost, float), d.site_keys, "SITES", 2))
        penalty = np.array([inst.sources[s].shortfall_penalty for s in data.soft], dtype=float)
        soft = list(data.soft)
        form.add_columns(ColumnBlock("u", np.zeros(len(soft)), np.full(len(soft), INF), np.zeros(len(soft), bool),
                                     inst.weights.shortfall * penalty, lambda: soft, "SOFT"))
    alpha = inst.policy.max_destination_share
    if alpha is not None and alpha < 1 and data.n_arcs:
        form.add_columns(_total("moved_residents"))
    if _regions(inst) and data.n_arcs:
        form.add_columns(_total("moved_jobs"))


def _phased_columns(data: _Data, form: Formulation) -> None:
    """x over moves (f, d, p), y over openings (k, d, p), u over soft target rows (s, p); present-value costs."""
    inst, d = data.instance, data.derived
    w = inst.weights
    splittable = np.array([inst.types[t].splittable for t in data.fac_type], dtype=bool)
    delta, years = data.delta[data.mv_p], data.years[data.mv_p]
    annual = np.asarray(d.annual_operating, float)[data.mv_arc]
    cost = (w.relocation * delta * np.asarray(d.relocation, float)[data.mv_arc] + w.operating * years * annual
            + w.access * delta * np.asarray(d.access, float)[data.mv_arc])
    form.add_columns(ColumnBlock("x", np.zeros(data.n_moves), data.count[data.mv_f], ~splittable[data.mv_f],
                                 cost, data.move_keys(data.mv), "MOVES", 3))
    site, period = site_layout(inst, d)
    n = site.size
    periods = np.asarray(data.period_ids, dtype=object)
    site_type = np.asarray(d.site_type, dtype=object)[site]
    site_city = data.city_ids[np.asarray(d.site_d, dtype=np.int64)[site]] if n else np.zeros(0, dtype=object)
    form.add_columns(ColumnBlock(
        "y", np.zeros(n), np.ones(n), np.ones(n, bool),
        w.sites * data.delta[period] * np.asarray(d.site_cost, float)[site],
        lambda: list(zip(site_type.tolist(), site_city.tolist(), periods[period].tolist())), "SITE_OPENINGS", 3))
    soft = soft_layout(inst)
    penalty = np.array([inst.sources[s].shortfall_penalty for s, _ in soft], dtype=float)
    keys = [(s, data.period_ids[p]) for s, p in soft]
    form.add_columns(ColumnBlock("u", np.zeros(len(soft)), np.full(len(soft), INF), np.zeros(len(soft), bool),
                                 w.shortfall * penalty, lambda: list(keys), "SOFT_TARGETS", 2))


def _total(name: str) -> ColumnBlock:
    return ColumnBlock(name, np.zeros(1), np.full(1, INF), np.zeros(1, bool), np.zeros(1))


def _regions(instance: Instance) -> dict[str, float]:
    return {g: b for g, b in instance.policy.min_region_share.items() if b > 0}


# -- (1) assign -----------------------------------------------------------------------
def _assign(data: _Data, form: Formulation) -> RowBlock:
    """sum_{d,p} x_fdp <= count_f (= when must_move), one row per facility."""
    x0 = form.column("x").start
    lower = np.where(data.must, data.count, -INF)
    ids = data.facility_ids

    def explain(f: Key, lo: float, _up: float) -> str:
        return f"facility {f!r} must move ({lo:g} unit(s)) but has no eligible destination"

    return RowBlock("assign", data.mv_f, x0 + data.mv, np.ones(data.n_moves), lower, data.count.copy(),
                    lambda: ids.tolist(), explain)


# -- (2) target -----------------------------------------------------------------------
def _target(data: _Data, form: Formulation) -> RowBlock:
    """Residents moved from s (+ u_s when soft) >= T_s, sources with T_s > 0."""
    if data.phased:
        return _phased_target(data, form)
    inst = data.instance
    chosen = [s for s, src in inst.sources.items() if src.target_persons > 0]
    code = data.origin_code(chosen)[data.af]
    on = np.flatnonzero(code >= 0)
    soft_rows = [(chosen.index(s), form.column("u").start + j) for j, s in enumerate(data.soft) if s in chosen]
    row = np.r_[code[on], [r for r, _ in soft_rows]].astype(np.int64)
    col = np.r_[form.column("x").start + on, [c for _, c in soft_rows]].astype(np.int64)
    val = np.r_[data.arc_res[on], np.ones(len(soft_rows))]
    lower = np.array([inst.sources[s].target_persons for s in chosen], dtype=float)

    def explain(s: Key, lo: float, _up: float) -> str:
        return (f"source {s!r}: hard target {lo:,.0f} residents but none of its facilities "
                "has an eligible destination")

    return RowBlock("target", row, col, val, lower, np.full(len(chosen), INF), lambda: list(chosen), explain)


def _phased_target(data: _Data, form: Formulation) -> RowBlock:
    """Residents moved from s by the end of p (+ u_sp when soft) >= T_sp: p = P and each milestone, T_sp > 0."""
    inst = data.instance
    u_at = {key: form.column("u").start + j for j, key in enumerate(soft_layout(inst))}
    origin = data.origin_code(list(inst.sources))[data.mv_f]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lower: list[float] = []
    keys: list[tuple[str, str]] = []
    x0 = form.column("x").start
    for i, (s, targets) in enumerate(milestone_targets(inst).items()):
        for p, target in targets:
            if target <= 0:
                continue
            on = np.flatnonzero((origin == i) & (data.mv_p <= p))
            extra = [u_at[(s, p)]] if (s, p) in u_at else []
            rows.append(np.full(on.size + len(extra), len(keys), dtype=np.int64))
            cols.append(np.r_[x0 + on, extra].astype(np.int64))
            vals.append(np.r_[data.mv_res[on], np.ones(len(extra))])
            lower.append(target)
            keys.append((s, data.period_ids[p]))

    def explain(key: Key, lo: float, _up: float) -> str:
        s, period = typing.cast(tuple[str, str], key)
        return (f"source {s!r}: hard target {lo:,.0f} residents by the end of {period} but none of its "
                "facilities can move by then to an eligible destination")

    return RowBlock("target", _cat(rows, np.int64), _cat(cols, np.int64), _cat(vals, float),
                    np.array(lower, float), np.full(len(keys), INF), lambda: list(keys), explain)


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


# -- (3) min_share --------------------------------------------------------------------
def _min_share(data: _Data, form: Formulation) -> RowBlock:
    """Jobs moved of type k from s >= share * all such jobs, for required shares > 0."""
    inst = data.instance
    chosen: list[tuple[str, str]] = []
    need: list[float] = []
    rows, cols = [], []
    x0 = form.column("x").start
    move_origin = data.fac_origin[data.mv_f]
    move_type = data.fac_type[data.mv_f]
    for s, src in inst.sources.items():
        for k, share in src.min_share.items():
            members = (data.fac_origin == s) & (data.fac_type == k)
            required = share * float(np.sum(data.jobs[members] * data.count[members]))
            if required <= 0:
                continue
            moves = np.flatnonzero((move_origin == s) & (move_type == k))
            rows.append(np.full(moves.size, len(chosen), dtype=np.int64))
            cols.append(x0 + moves)
            chosen.append((s, k))
            need.append(required)
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, np.int64)

    def explain(key: Key, lo: float, _up: float) -> str:
        source, kind = typing.cast(tuple[str, str], key)
        share = inst.sources[source].min_share[kind]
        return (f"source {source!r}: min_share {share:g} of {kind} jobs ({lo:,.0f} jobs) but no {kind} "
                "facility of it has an eligible destination")

    return RowBlock("min_share", row, col, data.mv_jobs[col - x0], np.array(need, float),
                    np.full(len(chosen), INF), lambda: list(chosen), explain)


# -- (4) capacity ---------------------------------------------------------------------
def _capacity(data: _Data, form: Formulation) -> RowBlock:
    """Per resource, destination and period with a finite cap: uses moved by the period's end <= cap.

    Without periods: one row per resource and destination, keyed (r, d); with
    periods keyed (r, d, period id): the last period's caps are the ``cap``
    columns, earlier ones the ``cap_by_period`` columns (cumulative).
    """
    inst, d = data.instance, data.derived
    rows, cols, vals, caps, res_ids, cities, periods = [], [], [], [], [], [], []
    offset = 0
    last = data.n_periods - 1
    for j, resource in enumerate(inst.resources):
        use = d.use[data.mv_arc, j]
        for p, pid in enumerate(data.period_ids):
            cap = data.city_caps(j, p)
            if cap is None:
                continue
            ok = np.isfinite(cap[data.mv_d]) & (use != 0)
            if p != last:
                ok &= data.mv_p <= p
            sel = np.flatnonzero(ok)
            row, dest = _rows_of(data.mv_d[sel])
            rows.append(row + offset)
            cols.append(sel)
            vals.append(use[sel])
            caps.append(cap[dest])
            res_ids += [resource.id] * dest.size
            periods += [pid] * dest.size
            cities.append(dest)
            offset += dest.size
    x0 = form.column("x").start
    city = _cat(cities, np.int64)
    keys = _keys2(res_ids, data.city_ids[city])
    if data.phased:
        names = data.city_ids[city]
        keys = lambda: list(zip(res_ids, names.tolist(), periods))  # noqa: E731
    return RowBlock("capacity", _cat(rows, np.int64), x0 + _cat(cols, np.int64), _cat(vals, float),
                    np.full(offset, -INF), _cat(caps, float), keys)


# -- (5)-(8) sites --------------------------------------------------------------------
def _site_open(data: _Data, form: Formulation) -> RowBlock | None:
    """sum_p y_kdp <= 1: a site opens once (only with several periods)."""
    if data.n_periods < 2:
        return None
    n, n_periods = data.n_sites, data.n_periods
    row = np.repeat(np.arange(n, dtype=np.int64), n_periods)
    col = form.column("y").start + np.arange(n * n_periods, dtype=np.int64)
    d = data.derived
    return RowBlock("site_open", row, col, np.ones(row.size), np.full(n, -INF), np.ones(n),
                    _keys2(np.asarray(d.site_type, dtype=object), data.city_ids[np.asarray(d.site_d, np.int64)]))


def opened_by(data: _Data, form: Formulation, sites: np.ndarray, rows: np.ndarray, periods: np.ndarray,
              coef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries coef[i] * y_{sites[i], q} for q = 0..periods[i] in row rows[i]: coef[i] * Y (opened by the end of p).

    (row, column, value) arrays, row-major and in period order within a row.
    """
    count = np.asarray(periods, dtype=np.int64) + 1
    row = np.repeat(rows, count)
    q = np.arange(row.size) - np.repeat(np.cumsum(count) - count, count)
    col = form.column("y").start + data.site_column(np.repeat(sites, count), q)
    return row, col, np.repeat(coef, count)


def _site_link(data: _Data, form: Formulation) -> RowBlock:
    """x_fdp - count_f sum_{q <= p} y_kdq <= 0 per move whose type requires a site."""
    moves, site = data.move_link
    n = moves.size
    r = np.arange(n)
    y_row, y_col, y_val = opened_by(data, form, site, r, data.mv_p[moves], -data.count[data.mv_f[moves]])
    return RowBlock("site_link", np.r_[r, y_row], np.r_[form.column("x").start + moves, y_col],
                    np.r_[np.ones(n), y_val], np.full(n, -INF), np.zeros(n), data.move_keys(moves))


def _site_jobs(data: _Data, form: Formulation, family: str, chosen: np.ndarray, coef: np.ndarray,
               upper: bool) -> RowBlock:
    """Jobs moved to site candidate ``chosen[i]`` + coef[i] * (opened by the end) <= 0 (``upper``) or >= 0.

    Built for the last period only: before it the capacity rows are implied by
    ``site_link`` (a site not yet open receives nothing), spec §4.
    """
    moves, site = data.move_link
    number = np.full(data.n_sites, -1, dtype=np.int64)
    number[chosen] = np.arange(chosen.size)
    on = number[site] >= 0
    n = chosen.size
    d = data.derived
    n_periods = data.n_periods
    y_sites = np.repeat(chosen, n_periods)
    y_period = np.tile(np.arange(n_periods, dtype=np.int64), n)
    return RowBlock(
        family, np.r_[number[site[on]], np.repeat(np.arange(n), n_periods)],
        np.r_[form.column("x").start + moves[on], form.column("y").start + data.site_column(y_sites, y_period)],
        np.r_[data.mv_jobs[moves[on]], np.repeat(coef, n_periods)], np.full(n, -INF) if upper else np.zeros(n),
        np.zeros(n) if upper else np.full(n, INF),
        _keys2(np.asarray(d.site_type, dtype=object)[chosen], data.city_ids[np.asarray(d.site_d)[chosen]]),
    )


def _site_capacity(data: _Data, form: Formulation) -> RowBlock:
    """Jobs at a site <= its capacity when open (finite capacities)."""
    capacity = np.asarray(data.derived.site_capacity, float)
    finite = np.flatnonzero(np.isfinite(capacity))
    return _site_jobs(data, form, "site_capacity", finite, -capacity[finite], upper=True)


def _site_min(data: _Data, form: Formulation) -> RowBlock:
    """Jobs at an open site >= its type's min_site_jobs."""
    minimum = np.array([data.instance.types[t].min_site_jobs for t in data.derived.site_type], dtype=float)
    chosen = np.flatnonzero(minimum > 0)
    return _site_jobs(data, form, "site_min", chosen, -minimum[chosen], upper=False)


def _site_count(data: _Data, form: Formulation) -> RowBlock:
    """min_sites_k <= sites of type k opened (in any period) <= max_sites_k, where either binds."""
    rows, cols, lower, upper = [], [], [], []
    chosen: list[str] = []
    n_periods = data.n_periods
    for code, k in enumerate(data.type_ids):
        kind = data.instance.types[k]
        members = np.flatnonzero(data.site_type_code == code)
        if not kind.requires_site or (kind.min_sites <= 0 and math.isinf(kind.max_sites)):
            continue
        if 0 < members.size < kind.min_sites:
            form.trivially_infeasible.append(
                f"type {k!r}: min_sites {kind.min_sites} but only {members.size} site candidate(s)")
            continue
        lo = kind.min_sites if kind.min_sites > 0 else -INF
        up = kind.max_sites if kind.max_sites < members.size else INF
        if lo == -INF and up == INF:
            continue
        columns = data.site_column(np.repeat(members, n_periods), np.tile(np.arange(n_periods), members.size))
        rows.append(np.full(columns.size, len(chosen), dtype=np.int64))
        cols.append(form.column("y").start + columns)
        lower.append(lo)
        upper.append(up)
        chosen.append(k)

    def explain(k: Key, lo: float, _up: float) -> str:
        return f"type {k!r}: min_sites {lo:g} but it has no site candidate"

    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    return RowBlock("site_count", row, np.concatenate(cols) if cols else row.copy(), np.ones(row.size),
                    np.array(lower, float), np.array(upper, float), lambda: list(chosen), explain)


# -- (9) budget, period_budget ----------------------------------------------------------
def _spending(data: _Data, form: Formulation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every x and y column with its undiscounted cost (r_fd, site_cost_kd) and its period position."""
    d = data.derived
    site, period = site_layout(data.instance, d)
    col = np.r_[form.column("x").start + data.mv, form.column("y").start + np.arange(site.size)]
    val = np.r_[np.asarray(d.relocation, float)[data.mv_arc], np.asarray(d.site_cost, float)[site]]
    return col, val, np.r_[data.mv_p, period]


def _budget(data: _Data, form: Formulation) -> RowBlock | None:
    """Relocation plus site costs (unweighted, undiscounted) <= budget."""
    budget = data.instance.policy.budget
    if budget is None:
        return None
    col, val, _ = _spending(data, form)
    return RowBlock("budget", np.zeros(col.size, np.int64), col, val,
                    np.array([-INF]), np.array([float(budget)]), lambda: [None], scalar=True)


def _period_budget(data: _Data, form: Formulation) -> RowBlock | None:
    """Relocation plus site costs (unweighted, undiscounted) in period p <= budget_p, periods with a budget."""
    budgets = [(p, period) for p, period in enumerate(data.instance.periods) if period.budget is not None]
    if not budgets:
        return None
    col, val, when = _spending(data, form)
    rows, cols, vals = [], [], []
    for i, (p, _) in enumerate(budgets):
        on = np.flatnonzero(when == p)
        rows.append(np.full(on.size, i, dtype=np.int64))
        cols.append(col[on])
        vals.append(val[on])
    keys = [period.id for _, period in budgets]
    return RowBlock("period_budget", _cat(rows, np.int64), _cat(cols, np.int64), _cat(vals, float),
                    np.full(len(keys), -INF), np.array([float(period.budget) for _, period in budgets]),  # type: ignore[arg-type]
                    lambda: list(keys))


# -- (10) destination_share, (11) region_share ----------------------------------------------
def _definition(family: str, total: int, x0: int, coef: np.ndarray) -> RowBlock:
    """sum coef x - total = 0: the auxiliary column ``total`` is the whole move."""
    n = coef.size
    return RowBlock(family, np.zeros(n + 1, np.int64), np.r_[x0 + np.arange(n), total], np.r_[coef, -1.0],
                    np.zeros(1), np.zeros(1), lambda: [None], scalar=True)


def _moved_residents_def(data: _Data, form: Formulation) -> RowBlock | None:
    if not form.has_column("moved_residents"):
        return None
    return _definition("moved_residents_def", form.column("moved_residents").start, form.column("x").start,
                       data.mv_res)


def _destination_share(data: _Data, form: Formulation) -> RowBlock | None:
    """Residents received by d - alpha * moved_residents <= 0, destinations receiving residents."""
    if not form.has_column("moved_residents"):
        return None
    alpha = float(data.instance.policy.max_destination_share)  # type: ignore[arg-type]
    sel = np.flatnonzero(data.mv_res != 0)
    row, dest = _rows_of(data.mv_d[sel])
    n = dest.size
    ids = data.city_ids[dest]
    return RowBlock("destination_share", np.r_[row, np.arange(n)],
                    np.r_[form.column("x").start + sel, np.full(n, form.column("moved_residents").start)],
                    np.r_[data.mv_res[sel], np.full(n, -alpha)], np.full(n, -INF), np.zeros(n),
                    lambda: ids.tolist())


def _moved_jobs_def(data: _Data, form: Formulation) -> RowBlock | None:
    if not form.has_column("moved_jobs"):
        return None
    return _definition("moved_jobs_def", form.column("moved_jobs").start, form.column("x").start, data.mv_jobs)


def _region_share(data: _Data, form: Formulation) -> RowBlock | None:
    """Jobs received by region g - beta_g * moved_jobs >= 0, regions with beta_g > 0."""
    if not form.has_column("moved_jobs"):
        return None
    regions = _regions(data.instance)
    region_of = data.instance.cities["region"].to_numpy(dtype=object)[data.mv_d]
    total = form.column("moved_jobs").start
    rows, cols, vals = [], [], []
    for i, (g, beta) in enumerate(regions.items()):
        sel = np.flatnonzero(region_of == g)
        rows.append(np.full(sel.size + 1, i, dtype=np.int64))
        cols.append(np.r_[form.column("x").start + sel, total])
        vals.append(np.r_[data.mv_jobs[sel], -beta])
    n = len(regions)
    return RowBlock("region_share", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals),
                    np.zeros(n), np.full(n, INF), lambda: list(regions))


FAMILIES: tuple[Callable[[_Data, Formulation], RowBlock | None], ...] = (
    _assign, _target, _min_share, _capacity, _site_open, _site_link, _site_capacity, _site_min, _site_count,
    _budget, _period_budget, _moved_residents_def, _destination_share, _moved_jobs_def, _region_share,
)


def build(instance: Instance, derived: Derived) -> Formulation:
    """The model of spec §4 over the eligible arcs of ``derived``, as labelled blocks."""
    data = _Data(instance, derived)
    form = Formulation(instance.name, instance=instance, derived=derived, move_arc=data.mv_arc,
                       move_period=data.mv_p)
    _columns(data, form)
    for family in FAMILIES:
        block = family(data, form)
        if block is not None:
            form.add_rows(block)
    return form
