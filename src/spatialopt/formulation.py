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

    def family(self, name: str) -> RowBlock:
        """The row block of family ``name``."""
        for block in self.rows:
            if block.family == name:
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

    def origin_code(self, sources: Sequence[str]) -> np.ndarray:
        """Per facility, the position of its origin in ``sources`` (-1 when not there)."""
        at = {s: i for i, s in enumerate(sources)}
        return np.array([at.get(o, -1) for o in self.fac_origin], dtype=np.int64)


def _keys2(first: np.ndarray | Sequence[Any], second: np.ndarray) -> Keys:
    return lambda: list(zip(np.asarray(first, dtype=object).tolist(), np.asarray(second, dtype=object).tolist()))


# -- columns ------------------------------------------------------------------------
def _columns(data: _Data, form: Formulation) -> None:
    """x, y, u and the auxiliary totals, in that order."""
    inst, d = data.instance, data.derived
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


def _total(name: str) -> ColumnBlock:
    return ColumnBlock(name, np.zeros(1), np.full(1, INF), np.zeros(1, bool), np.zeros(1))


def _regions(instance: Instance) -> dict[str, float]:
    return {g: b for g, b in instance.policy.min_region_share.items() if b > 0}


# -- (1) assign -----------------------------------------------------------------------
def _assign(data: _Data, form: Formulation) -> RowBlock:
    """sum_d x_fd <= count_f (= when must_move), one row per facility."""
    x0 = form.column("x").start
    lower = np.where(data.must, data.count, -INF)
    ids = data.facility_ids

    def explain(f: Key, lo: float, _up: float) -> str:
        return f"facility {f!r} must move ({lo:g} unit(s)) but has no eligible destination"

    return RowBlock("assign", data.af, x0 + data.arc, np.ones(data.n_arcs), lower, data.count.copy(),
                    lambda: ids.tolist(), explain)


# -- (2) target -----------------------------------------------------------------------
def _target(data: _Data, form: Formulation) -> RowBlock:
    """Residents moved from s (+ u_s when soft) >= T_s, sources with T_s > 0."""
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


# -- (3) min_share --------------------------------------------------------------------
def _min_share(data: _Data, form: Formulation) -> RowBlock:
    """Jobs moved of type k from s >= share * all such jobs, for required shares > 0."""
    inst = data.instance
    chosen: list[tuple[str, str]] = []
    need: list[float] = []
    rows, cols = [], []
    x0 = form.column("x").start
    arc_origin = data.fac_origin[data.af]
    for s, src in inst.sources.items():
        for k, share in src.min_share.items():
            members = (data.fac_origin == s) & (data.fac_type == k)
            required = share * float(np.sum(data.jobs[members] * data.count[members]))
            if required <= 0:
                continue
            arcs = np.flatnonzero((arc_origin == s) & (data.fac_type[data.af] == k))
            rows.append(np.full(arcs.size, len(chosen), dtype=np.int64))
            cols.append(x0 + arcs)
            chosen.append((s, k))
            need.append(required)
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, np.int64)

    def explain(key: Key, lo: float, _up: float) -> str:
        source, kind = typing.cast(tuple[str, str], key)
        share = inst.sources[source].min_share[kind]
        return (f"source {source!r}: min_share {share:g} of {kind} jobs ({lo:,.0f} jobs) but no {kind} "
                "facility of it has an eligible destination")

    return RowBlock("min_share", row, col, data.arc_jobs[col - x0], np.array(need, float),
                    np.full(len(chosen), INF), lambda: list(chosen), explain)


# -- (4) capacity ---------------------------------------------------------------------
def _capacity(data: _Data, form: Formulation) -> RowBlock:
    """Per resource and destination with a finite cap: sum of uses <= cap."""
    inst, d = data.instance, data.derived
    rows, cols, vals, caps, res_ids, cities = [], [], [], [], [], []
    offset = 0
    for j, resource in enumerate(inst.resources):
        cap = inst.city_caps[resource.id].to_numpy(dtype=float)
        sel = np.flatnonzero(np.isfinite(cap[data.ad]) & (d.use[:, j] != 0))
        row, dest = _rows_of(data.ad[sel])
        rows.append(row + offset)
        cols.append(sel)
        vals.append(d.use[sel, j])
        caps.append(cap[dest])
        res_ids += [resource.id] * dest.size
        cities.append(dest)
        offset += dest.size
    x0 = form.column("x").start

    def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    city = cat(cities, np.int64)
    return RowBlock("capacity", cat(rows, np.int64), x0 + cat(cols, np.int64), cat(vals, float),
                    np.full(offset, -INF), cat(caps, float), _keys2(res_ids, data.city_ids[city]))


# -- (5)-(8) sites --------------------------------------------------------------------
def _site_link(data: _Data, form: Formulation) -> RowBlock:
    """x_fd - count_f y_kd <= 0 per arc whose type requires a site."""
    link, site = data.link
    n = link.size
    r = np.arange(n)
    return RowBlock("site_link", np.r_[r, r], np.r_[form.column("x").start + link, form.column("y").start + site],
                    np.r_[np.ones(n), -data.count[data.af[link]]], np.full(n, -INF), np.zeros(n),
                    _keys2(data.facility_ids[data.af[link]], data.city_ids[data.ad[link]]))


def _site_jobs(data: _Data, form: Formulation, family: str, chosen: np.ndarray, coef: np.ndarray,
               upper: bool) -> RowBlock:
    """sum of jobs at site candidate ``chosen[i]`` + coef[i] y <= 0 (``upper``) or >= 0."""
    link, site = data.link
    number = np.full(data.n_sites, -1, dtype=np.int64)
    number[chosen] = np.arange(chosen.size)
    on = number[site] >= 0
    n = chosen.size
    d = data.derived
    return RowBlock(
        family, np.r_[number[site[on]], np.arange(n)],
        np.r_[form.column("x").start + link[on], form.column("y").start + chosen],
        np.r_[data.arc_jobs[link[on]], coef], np.full(n, -INF) if upper else np.zeros(n),
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
    """min_sites_k <= sites of type k opened <= max_sites_k, where either binds."""
    rows, cols, lower, upper = [], [], [], []
    chosen: list[str] = []
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
        rows.append(np.full(members.size, len(chosen), dtype=np.int64))
        cols.append(form.column("y").start + members)
        lower.append(lo)
        upper.append(up)
        chosen.append(k)

    def explain(k: Key, lo: float, _up: float) -> str:
        return f"type {k!r}: min_sites {lo:g} but it has no site candidate"

    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    return RowBlock("site_count", row, np.concatenate(cols) if cols else row.copy(), np.ones(row.size),
                    np.array(lower, float), np.array(upper, float), lambda: list(chosen), explain)


# -- (9) budget -----------------------------------------------------------------------
def _budget(data: _Data, form: Formulation) -> RowBlock | None:
    """Relocation plus site costs (unweighted) <= budget."""
    budget = data.instance.policy.budget
    if budget is None:
        return None
    d = data.derived
    col = np.r_[form.column("x").start + data.arc, form.column("y").start + np.arange(data.n_sites)]
    return RowBlock("budget", np.zeros(col.size, np.int64), col, np.r_[d.relocation, d.site_cost],
                    np.array([-INF]), np.array([float(budget)]), lambda: [None], scalar=True)


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
                       data.arc_res)


def _destination_share(data: _Data, form: Formulation) -> RowBlock | None:
    """Residents received by d - alpha * moved_residents <= 0, destinations receiving residents."""
    if not form.has_column("moved_residents"):
        return None
    alpha = float(data.instance.policy.max_destination_share)  # type: ignore[arg-type]
    sel = np.flatnonzero(data.arc_res != 0)
    row, dest = _rows_of(data.ad[sel])
    n = dest.size
    ids = data.city_ids[dest]
    return RowBlock("destination_share", np.r_[row, np.arange(n)],
                    np.r_[form.column("x").start + sel, np.full(n, form.column("moved_residents").start)],
                    np.r_[data.arc_res[sel], np.full(n, -alpha)], np.full(n, -INF), np.zeros(n),
                    lambda: ids.tolist())


def _moved_jobs_def(data: _Data, form: Formulation) -> RowBlock | None:
    if not form.has_column("moved_jobs"):
        return None
    return _definition("moved_jobs_def", form.column("moved_jobs").start, form.column("x").start, data.arc_jobs)


def _region_share(data: _Data, form: Formulation) -> RowBlock | None:
    """Jobs received by region g - beta_g * moved_jobs >= 0, regions with beta_g > 0."""
    if not form.has_column("moved_jobs"):
        return None
    regions = _regions(data.instance)
    region_of = data.instance.cities["region"].to_numpy(dtype=object)[data.ad]
    total = form.column("moved_jobs").start
    rows, cols, vals = [], [], []
    for i, (g, beta) in enumerate(regions.items()):
        sel = np.flatnonzero(region_of == g)
        rows.append(np.full(sel.size + 1, i, dtype=np.int64))
        cols.append(np.r_[form.column("x").start + sel, total])
        vals.append(np.r_[data.arc_jobs[sel], -beta])
    n = len(regions)
    return RowBlock("region_share", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals),
                    np.zeros(n), np.full(n, INF), lambda: list(regions))


FAMILIES: tuple[Callable[[_Data, Formulation], RowBlock | None], ...] = (
    _assign, _target, _min_share, _capacity, _site_link, _site_capacity, _site_min, _site_count, _budget,
    _moved_residents_def, _destination_share, _moved_jobs_def, _region_share,
)


def build(instance: Instance, derived: Derived) -> Formulation:
    """The model of spec §4 over the eligible arcs of ``derived``, as labelled blocks."""
    data = _Data(instance, derived)
    form = Formulation(instance.name, instance=instance, derived=derived)
    _columns(data, form)
    for family in FAMILIES:
        block = family(data, form)
        if block is not None:
            form.add_rows(block)
    return form
