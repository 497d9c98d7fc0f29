"""A starting plan for HiGHS: greedy construction under the model's rows, then local improvement.

:func:`construct_start` reads the model exactly as HiGHS will see it (a
:class:`~spatialopt.matrix.MatrixModel`) plus where each move and site
opening sits among its columns, and keeps every row's activity up to date
as it changes the plan one move at a time. Whatever the rules of an
instance, a change is taken only when no row it touches is pushed out of
its bounds (the rows of the spec are all there, milestones, windows and
travel bands included, since ineligible moves have no column), so the start
is feasible by the same arithmetic HiGHS checks; a final full product
``A v`` confirms it, and when anything is off no start is given at all.

1. **Demand**: rows that need more moved (a must-move facility's
   ``assign``, each ``target`` and milestone, ``min_share``) are filled
   greedily with the moves cheapest per unit of what the row counts
   (per resident for a target), a site's cost spread over its capacity;
   capacities, site capacities, site counts and budgets are never exceeded.
2. **Savings**: moves that pay for themselves (negative cost) are added
   while the caps allow, and a soft source's residents are moved where that
   costs less than the shortfall it saves.
3. **Site minimums and shares**: an open site below its ``min_site_jobs`` is
   filled with more moves of its type, else closed and its moves placed
   elsewhere; a short region or an overfull destination gets units shifted.
4. **Local improvement** (``improve``, within a budget of tried changes): move units to
   a cheaper destination or period of the same facility, drop moves that
   cost without being needed, close a site whose moves fit elsewhere for less.

Numpy over whole arrays, and Python loops only over the units placed and
the moves tried (never over all pairs): at a million arcs it takes about
1.5 times as long as building the model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .derive import Derived
from .formulation import move_layout
from .instance import Instance

__all__ = ["Start", "construct_start", "start_problems"]

#: Row tolerance of the start (absolute, relative only beyond 1e5): within HiGHS's 1e-6 MIP-start check
#: and the checker's 1e-6 relative rule (spec §5), with room for rounding in long sums.
ROW_TOL = 1e-7
RELATIVE_TOL = 1e-12
#: Families whose upper side needs several moves before it can hold (a share of the whole move).
DEFERRED_UPPER = frozenset({"destination_share"})
#: Definition rows and the column each computes from the moves (a total, or a facility's moved units).
AUX = {"moved_residents_def": "moved_residents", "moved_jobs_def": "moved_jobs", "moved_units_def": "moved_units"}


@dataclass
class Start:
    """A feasible plan as one value per model column, its objective, and how it was made."""

    values: np.ndarray
    objective: float
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)  # objective after each stage

    def group(self, matrices: Any, name: str) -> np.ndarray:
        """The values of column group ``name`` (``x``, ``y``, ``u``)."""
        return self.values[getattr(matrices, name)]


def start_problems(matrices: Any, values: np.ndarray, tol: float = ROW_TOL) -> list[str]:
    """Why ``values`` is not a feasible point of ``matrices`` (bounds, integrality, rows); empty when it is."""
    problems: list[str] = []
    v = np.asarray(values, dtype=float)
    if v.size != matrices.n_cols or not np.all(np.isfinite(v)):
        return [f"expected {matrices.n_cols} finite column values"]
    scale = np.maximum(1.0, np.abs(v))
    bad = (v < matrices.col_lower - tol * scale) | (v > matrices.col_upper + tol * scale)
    if bad.any():
        problems.append(f"{int(bad.sum())} column(s) outside their bounds")
    frac = matrices.integer & (np.abs(v - np.round(v)) > 1e-9)
    if frac.any():
        problems.append(f"{int(frac.sum())} integer column(s) not whole")
    activity = _row_activity(matrices, v)
    lo, hi = matrices.row_lower, matrices.row_upper
    slack = np.maximum(tol, RELATIVE_TOL * np.maximum(_finite_abs(lo), np.maximum(_finite_abs(hi), np.abs(activity))))
    for family, rows in matrices.family_rows.items():
        a, low, up, s = activity[rows], lo[rows], hi[rows], slack[rows]
        n = int(np.sum((a < low - s) | (a > up + s)))
        if n:
            problems.append(f"{n} {family} row(s) violated")
    return problems


def _finite_abs(bound: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(bound), np.abs(bound), 0.0)


def _row_activity(matrices: Any, v: np.ndarray) -> np.ndarray:
    """A v, row by row (CSR)."""
    terms = matrices.a_value * v[matrices.a_index]
    starts = np.asarray(matrices.a_start[:-1], dtype=np.int64)
    filled = np.diff(matrices.a_start) > 0
    out = np.zeros(matrices.n_rows)
    if terms.size:
        out[filled] = np.add.reduceat(terms, starts[filled])
    return out


def construct_start(instance: Instance, derived: Derived, matrices: Any, *, improve: bool = True,
                    effort: int = 20_000) -> Start | None:
    """A feasible plan of ``matrices`` (the model of ``instance``), or None when the heuristic finds none.

    ``improve`` runs the local improvement for at most ``effort`` tried
    changes (a count, not a clock: the same instance always gets the same
    start; about a second on an idle core). None means only that no start is given: the solve goes on as
    without one.
    """
    started = time.perf_counter()
    if matrices.n_cols == 0 or derived.n_arcs == 0:
        return None
    search = _Search(instance, derived, matrices)
    stages: dict[str, float] = {}
    search.demand()
    search.savings()
    search.soft_targets()
    search.site_minimums()
    search.shares()
    search.shrink_shortfall()
    stages["construct"] = search.objective
    if search.violated_rows():
        return None
    if improve:
        search.improve(search.checks + effort)
        search.shrink_shortfall()
        stages["improve"] = search.objective
    values = search.v.copy()
    if start_problems(matrices, values):
        return None
    return Start(values, float(matrices.cost @ values), time.perf_counter() - started, stages)


class _Search:
    """The plan being built, each row's activity, and the changes that keep the rows in bounds."""

    def __init__(self, instance: Instance, derived: Derived, m: Any) -> None:
        self.m = m
        n_rows = m.n_rows
        self.lo, self.hi = m.row_lower.astype(float), m.row_upper.astype(float)
        self.tol = np.maximum(ROW_TOL, RELATIVE_TOL * np.maximum(_finite_abs(self.lo), _finite_abs(self.hi)))
        # Columns as CSC, built from the CSR rows.
        entry_row = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(m.a_start))
        order = np.argsort(m.a_index)  # the order within a column does not matter
        self.c_row, self.c_val = entry_row[order], np.asarray(m.a_value, float)[order]
        self.c_start = np.zeros(m.n_cols + 1, dtype=np.int64)
        np.cumsum(np.bincount(m.a_index, minlength=m.n_cols), out=self.c_start[1:])
        self.family = np.full(n_rows, "", dtype=object)  # filled for the few families looked up by name
        self.check_hi = np.ones(n_rows, dtype=bool)
        for name in DEFERRED_UPPER:
            if name in m.family_rows:
                self.check_hi[m.family_rows[name]] = False
        for name in ("assign", "site_min", "site_count"):
            if name in m.family_rows:
                self.family[m.family_rows[name]] = name
        self.check_lo = np.zeros(n_rows, dtype=bool)  # lower sides count once the plan is feasible
        self.cost = np.asarray(m.cost, float)
        self.upper = np.asarray(m.col_upper, float)
        self.integer = np.asarray(m.integer, bool)
        self.v = np.zeros(m.n_cols)
        self.act = np.zeros(n_rows)
        self.objective = 0.0
        self._moves(instance, derived)
        self._aux()
        self.banned_sites: set[int] = set()
        self.checks = 0  # changes tried: the measure of the improvement's effort
        # u: every soft target row starts fully short, so that it holds from the start.
        for c in range(m.u.start, m.u.stop):
            rows = self.c_row[self.c_start[c]:self.c_start[c + 1]]
            if rows.size:
                self.commit([c], [max(0.0, float(self.lo[rows].max()))])

    # -- layout -----------------------------------------------------------------------------
    def _moves(self, instance: Instance, derived: Derived) -> None:
        """Per x column: facility, period, site candidate (-1: none); per site: its y columns."""
        arc, period = move_layout(instance, derived)
        self.x0, self.n_x = self.m.x.start, int(arc.size)
        self.x_fac, self.x_period = derived.arc_f[arc], period
        self.n_periods = len(instance.plan_periods)
        n_cities = len(derived.city_ids)
        type_ids = list(instance.types)
        code = {k: i for i, k in enumerate(type_ids)}
        fac_type = np.array([code[t] for t in instance.facilities["type"]], dtype=np.int64)
        needs = np.array([instance.types[k].requires_site for k in type_ids], dtype=bool)
        n_sites = len(derived.site_type)
        site_code = np.array([code[t] for t in derived.site_type], dtype=np.int64) * n_cities + derived.site_d
        arc_code = fac_type[derived.arc_f] * n_cities + derived.arc_d
        order = np.argsort(site_code, kind="stable")
        at = np.minimum(np.searchsorted(site_code[order], arc_code), max(n_sites - 1, 0))
        found = (site_code[order][at] == arc_code) & needs[fac_type[derived.arc_f]] if n_sites else np.zeros(
            arc_code.size, dtype=bool)
        arc_site = np.where(found, order[at] if n_sites else 0, -1).astype(np.int64)
        self.x_site = arc_site[arc]
        self.y0, self.n_sites = self.m.y.start, n_sites
        self.open_at = np.full(n_sites, -1, dtype=np.int64)
        # Each site's site_count row (-1: none), to skip openings and closings the count forbids.
        self.count_row = np.full(n_sites, -1, dtype=np.int64)
        if "site_count" in self.m.family_rows:
            rows = self.m.family_rows["site_count"]
            for r in range(rows.start, rows.stop):
                cols = self.m.a_index[self.m.a_start[r]:self.m.a_start[r + 1]] - self.y0
                self.count_row[cols // self.n_periods] = r
        self.site_units = np.zeros(n_sites)
        self.count = instance.facilities["count"].to_numpy(dtype=float)
        self.jobs = instance.facilities["jobs"].to_numpy(dtype=float)
        self.moved = np.zeros(self.count.size)
        site_capacity = np.asarray(derived.site_capacity, float)
        self.site_capacity = np.where(np.isfinite(site_capacity) & (site_capacity > 0), site_capacity, np.nan)
        # Each facility's moves, cheapest first.
        cost = self.cost[self.x0:self.x0 + self.n_x]
        spread = float(cost.max() - cost.min()) if cost.size else 0.0
        # One float key (facility + cost scaled into [0, 0.5)) sorts faster than a lexsort.
        key = self.x_fac + (0.5 * (cost - cost.min()) / spread if spread > 0 else 0.0)
        self.by_fac = np.argsort(key)
        self.fac_first = np.searchsorted(self.x_fac[self.by_fac], np.arange(self.count.size + 1))

    def _aux(self) -> None:
        """Per x column, what it adds to each column a definition row computes from the moves (:data:`AUX`).

        Stored column-wise (``aux_start`` into ``aux_col`` / ``aux_coef``) so a change of a few moves
        finds the totals it changes without a pass over the rest.
        """
        x_col, aux_col, coef = [], [], []
        for family, group in AUX.items():
            if family not in self.m.family_rows or group not in self.m.column_groups:
                continue
            rows, defined = self.m.family_rows[family], self.m.column_groups[group]
            entry_row = np.repeat(np.arange(rows.stop - rows.start), np.diff(self.m.a_start[rows.start:rows.stop + 1]))
            entries = slice(int(self.m.a_start[rows.start]), int(self.m.a_start[rows.stop]))
            cols = np.asarray(self.m.a_index[entries], np.int64)
            vals = np.asarray(self.m.a_value[entries], float)
            own = (cols >= defined.start) & (cols < defined.stop)  # the row's defined column, one per row
            own_col = np.zeros(rows.stop - rows.start, np.int64)
            own_val = np.ones(rows.stop - rows.start)
            own_col[entry_row[own]], own_val[entry_row[own]] = cols[own], vals[own]
            on = (cols >= self.x0) & (cols < self.x0 + self.n_x)
            # defined * own_val + sum(val * x) = 0: each unit of x adds -val / own_val.
            x_col.append(cols[on] - self.x0)
            aux_col.append(own_col[entry_row[on]])
            coef.append(-vals[on] / own_val[entry_row[on]])
        x_all = np.concatenate(x_col) if x_col else np.zeros(0, np.int64)
        order = np.argsort(x_all, kind="stable")
        self.aux_col = np.concatenate(aux_col)[order] if aux_col else np.zeros(0, np.int64)
        self.aux_coef = np.concatenate(coef)[order] if coef else np.zeros(0)
        self.aux_start = np.searchsorted(x_all[order], np.arange(self.n_x + 1))

    def y_col(self, site: int, period: int) -> int:
        return self.y0 + site * self.n_periods + period

    # -- changes ----------------------------------------------------------------------------
    def _with_aux(self, cols: list[int], deltas: list[float]) -> tuple[np.ndarray, np.ndarray]:
        c, d = np.asarray(cols, dtype=np.int64), np.asarray(deltas, dtype=float)
        if self.aux_col.size:
            xs = np.flatnonzero((c >= self.x0) & (c < self.x0 + self.n_x))
            j = c[xs] - self.x0
            starts, stops = self.aux_start[j], self.aux_start[j + 1]
            if int((stops - starts).sum()):
                idx = np.concatenate([np.arange(a, b) for a, b in zip(starts.tolist(), stops.tolist())])
                totals, inverse = np.unique(self.aux_col[idx], return_inverse=True)
                change = np.bincount(inverse, weights=self.aux_coef[idx] * np.repeat(d[xs], stops - starts))
                c, d = np.r_[c, totals], np.r_[d, change]
        return c, d

    def _entries(self, c: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows touched by changing columns ``c`` by ``d``, and the change of each row's activity."""
        starts, stops = self.c_start[c], self.c_start[c + 1]
        if c.size == 1:
            s = slice(int(starts[0]), int(stops[0]))
            return self.c_row[s], self.c_val[s] * d[0]
        idx = np.concatenate([np.arange(a, b) for a, b in zip(starts.tolist(), stops.tolist())])
        rows, inverse = np.unique(self.c_row[idx], return_inverse=True)
        return rows, np.bincount(inverse, weights=self.c_val[idx] * np.repeat(d, stops - starts))

    def feasible(self, cols: list[int], deltas: list[float], relax: set[int] | None = None) -> bool:
        """Whether the change keeps every checked row's violation from growing (and columns in bounds)."""
        self.checks += 1
        c, d = self._with_aux(cols, deltas)
        new_v = self.v[c] + d
        if np.any(new_v < -1e-9) or np.any(new_v > self.upper[c] + 1e-9):
            return False
        rows, change = self._entries(c, d)
        old = self.act[rows]
        new = old + change
        tol = self.tol[rows]
        over = self.check_hi[rows] & (new > self.hi[rows] + tol) & (new > old + 1e-12)
        under = self.check_lo[rows] & (new < self.lo[rows] - tol) & (new < old - 1e-12)
        bad = over | under
        if relax and bad.any():
            bad &= ~np.isin(rows, list(relax))
        return not bad.any()

    def commit(self, cols: list[int], deltas: list[float]) -> None:
        c, d = self._with_aux(cols, deltas)
        rows, change = self._entries(c, d)
        self.act[rows] += change
        self.v[c] += d
        # Snap integer columns to whole numbers (sums of whole steps drift by nothing, but be exact).
        whole = self.integer[c]
        self.v[c[whole]] = np.round(self.v[c[whole]])
        self.objective += float(np.dot(self.cost[c], d))
        for col, delta in zip(cols, deltas):
            j = col - self.x0
            if 0 <= j < self.n_x:
                self.moved[self.x_fac[j]] += delta
                site = self.x_site[j]
                if site >= 0:
                    self.site_units[site] += delta
            elif self.y0 <= col < self.y0 + self.n_sites * self.n_periods:
                site, period = divmod(col - self.y0, self.n_periods)
                self.open_at[site] = period if delta > 0 else -1

    def _opening(self, j: int) -> tuple[list[int], list[float]] | None:
        """The y changes that let move ``j`` happen: open its site by its period; None when banned."""
        site = int(self.x_site[j])
        if site < 0:
            return [], []
        if site in self.banned_sites:
            return None
        at, period = int(self.open_at[site]), int(self.x_period[j])
        if at < 0:
            return [self.y_col(site, period)], [1.0]
        if at > period:
            return [self.y_col(site, at), self.y_col(site, period)], [-1.0, 1.0]
        return [], []

    def _step(self, j: int, want: float, fixed: tuple[list[int], list[float]]) -> float:
        """The most units (up to ``want``) move ``j`` can take after the ``fixed`` changes (ratio test)."""
        col = self.x0 + j
        room = min(want, self.upper[col] - self.v[col], self.count[self.x_fac[j]] - self.moved[self.x_fac[j]])
        if room <= 1e-9:
            return 0.0
        c, d = self._with_aux([col], [1.0])
        rows, per_unit = self._entries(c, d)
        base = self.act[rows].copy()
        if fixed[0]:
            fc, fd = self._with_aux(*fixed)
            frows, fchange = self._entries(fc, fd)
            at = np.searchsorted(rows, frows)
            hit = (at < rows.size) & (rows[np.minimum(at, rows.size - 1)] == frows)
            base[at[hit]] += fchange[hit]
        rises = self.check_hi[rows] & (per_unit > 0) & np.isfinite(self.hi[rows])
        if rises.any():
            limit = (self.hi[rows][rises] - base[rises]) / per_unit[rises]  # to the bound: the tolerance is HiGHS's
            room = min(room, float(limit.min()))
        falls = self.check_lo[rows] & (per_unit < 0) & np.isfinite(self.lo[rows])
        if falls.any():
            limit = (base[falls] - self.lo[rows][falls]) / -per_unit[falls]
            room = min(room, float(limit.min()))
        if self.integer[col]:
            room = math.floor(room + 1e-9)
        return room if room > 1e-9 else 0.0

    def add(self, j: int, want: float, *, improving: bool = False) -> float:
        """Move up to ``want`` units on move ``j`` (opening its site if needed); the units moved."""
        fixed = self._opening(j)
        if fixed is None:
            return 0.0
        t = self._step(j, want, fixed)
        if t <= 0:
            return 0.0
        cols, deltas = [*fixed[0], self.x0 + j], [*fixed[1], t]
        if improving and float(np.dot(self.cost[cols], deltas)) >= -1e-9:
            return 0.0
        if not self.feasible(cols, deltas):
            return 0.0
        self.commit(cols, deltas)
        return t

    # -- construction -----------------------------------------------------------------------
    def _need(self, row: int) -> float:
        return float(self.lo[row] - self.act[row])

    def _row_columns(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """The x moves of row ``row`` with a positive coefficient (positions within x), and the coefficients."""
        s = slice(int(self.m.a_start[row]), int(self.m.a_start[row + 1]))
        cols, vals = self.m.a_index[s] - self.x0, self.m.a_value[s]
        on = (cols >= 0) & (cols < self.n_x) & (vals > 0)
        return cols[on], vals[on]

    def _site_share(self, js: np.ndarray) -> np.ndarray:
        """A site's cost spread over its capacity: the part of it each move would carry (0 when open)."""
        site = self.x_site[js]
        out = np.zeros(js.size)
        has = site >= 0
        if not has.any():
            return out
        s, p = site[has], self.x_period[js][has]
        closed = self.open_at[s] < 0
        y_cost = self.cost[self.y0 + s * self.n_periods + p]
        capacity = self.site_capacity[s]
        fill = np.where(np.isnan(capacity), 1.0, self.jobs[self.x_fac[js][has]] / np.where(np.isnan(capacity), 1.0,
                                                                                            capacity))
        out[has] = np.where(closed, y_cost * np.minimum(fill, 1.0), 0.0)
        return out

    def fill_row(self, row: int) -> None:
        """Raise row ``row`` to its lower bound with its moves cheapest per unit of the row first."""
        if self._need(row) <= self.tol[row]:
            return
        js, coef = self._row_columns(row)
        if js.size == 0:
            return
        key = (self.cost[self.x0 + js] + self._site_share(js)) / coef
        for i in np.argsort(key, kind="stable").tolist():
            need = self._need(row)
            if need <= self.tol[row]:
                return
            j = int(js[i])
            if self.moved[self.x_fac[j]] >= self.count[self.x_fac[j]] - 1e-9:
                continue
            if self.x_site[j] >= 0 and self.open_at[self.x_site[j]] < 0 and self._sites_full(j):
                continue
            self.add(j, need / coef[i] if not self.integer[self.x0 + j] else math.ceil(need / coef[i] - 1e-9))

    def make_room(self, row: int, tries: int = 10) -> None:
        """A must-move facility that fits nowhere: move others out of its cheapest destinations' full rows."""
        js, coef = self._row_columns(row)
        for i in np.argsort(self.cost[self.x0 + js], kind="stable")[:tries].tolist():
            if self._need(row) <= self.tol[row]:
                return
            j = int(js[i])
            c = self.x0 + j
            rows = self.c_row[self.c_start[c]:self.c_start[c + 1]]
            vals = self.c_val[self.c_start[c]:self.c_start[c + 1]]
            full = rows[(vals > 0) & self.check_hi[rows] & np.isfinite(self.hi[rows]) & (self.family[rows] != "assign")]
            for r in full.tolist():
                if self._need(row) <= self.tol[row]:
                    return
                others, _ = self._row_columns(r)
                others = others[(self.v[self.x0 + others] > 1e-9) & (self.x_fac[others] != self.x_fac[j])]
                for g in others.tolist():
                    f = self.x_fac[g]
                    for k in self.by_fac[self.fac_first[f]:self.fac_first[f + 1]].tolist():
                        if k != g and self.x_site[k] == self.x_site[g] and self._move_units(
                                g, k, float(self.v[self.x0 + g]), relax=set()):
                            break
                    need = self._need(row)
                    if self.add(j, need / coef[i] if not self.integer[c] else math.ceil(need / coef[i] - 1e-9)):
                        break

    def _rows_of(self, family: str) -> range:
        rows = self.m.family_rows.get(family)
        return range(rows.start, rows.stop) if rows is not None else range(0)

    def demand(self) -> None:
        """Must-move facilities (largest first), then targets and milestones (earliest first), then shares."""
        assign = [r for r in self._rows_of("assign") if self.lo[r] > 0]
        size = [float(self.jobs[self.x_fac[self._row_columns(r)[0][0]]]) if self._row_columns(r)[0].size else 0.0
                for r in assign]
        for r in [assign[i] for i in np.argsort(size, kind="stable")[::-1]]:
            self.fill_row(r)
        for r in assign:
            if self._need(r) > self.tol[r]:
                self.make_room(r)
        targets = list(self._rows_of("target"))
        for r in sorted(targets, key=lambda r: self._row_period(r)):
            self.fill_row(r)
        for r in self._rows_of("min_share"):
            self.fill_row(r)

    def _row_period(self, row: int) -> int:
        js, _ = self._row_columns(row)
        return int(self.x_period[js].max()) if js.size else 0

    def savings(self, tries: int = 5) -> None:
        """Add moves that lower the cost (negative cost, their site included) while every cap allows."""
        cost = self.cost[self.x0:self.x0 + self.n_x]
        cheapest = self.by_fac[self.fac_first[:-1][self.fac_first[:-1] < self.fac_first[1:]]]
        for first in cheapest[np.argsort(cost[cheapest], kind="stable")].tolist():
            f = self.x_fac[first]
            for j in self.by_fac[self.fac_first[f]:self.fac_first[f + 1]][:tries].tolist():
                if cost[j] >= 0 or self.moved[f] >= self.count[f] - 1e-9:
                    break
                self.add(j, self.count[f] - self.moved[f], improving=True)

    def soft_targets(self) -> None:
        """Move residents of a soft source where that costs less than the shortfall it saves."""
        u_of_row = {int(self.c_row[self.c_start[c]]): c for c in range(self.m.u.start, self.m.u.stop)
                    if self.c_start[c + 1] > self.c_start[c]}
        for row, u in u_of_row.items():
            js, coef = self._row_columns(row)
            key = self.cost[self.x0 + js] / coef
            for i in np.argsort(key, kind="stable").tolist():
                if self.v[u] <= 1e-9 or key[i] >= self.cost[u]:
                    break
                j = int(js[i])
                fixed = self._opening(j)
                if fixed is None or self.moved[self.x_fac[j]] >= self.count[self.x_fac[j]] - 1e-9:
                    continue
                want = self.v[u] / coef[i]
                t = self._step(j, math.ceil(want - 1e-9) if self.integer[self.x0 + j] else want, fixed)
                if t <= 0:
                    continue
                cols, deltas = [*fixed[0], self.x0 + j], [*fixed[1], t]
                c = self.x0 + j
                for r, a in zip(self.c_row[self.c_start[c]:self.c_start[c + 1]].tolist(),
                                self.c_val[self.c_start[c]:self.c_start[c + 1]].tolist()):
                    if r in u_of_row and a > 0:
                        cols.append(u_of_row[r])
                        deltas.append(-min(a * t, float(self.v[u_of_row[r]])))
                if float(np.dot(self.cost[cols], deltas)) < -1e-9 and self.feasible(cols, deltas):
                    self.commit(cols, deltas)

    def site_minimums(self, rounds: int = 3) -> None:
        """Fill each open site below its minimum with more moves, else close it and place its moves again."""
        rows = list(self._rows_of("site_min"))
        if not rows:
            return
        for _ in range(rounds):
            short = [r for r in rows if self._need(r) > self.tol[r]]
            if not short:
                return
            for r in short:
                self.fill_row(r)
                if self._need(r) > self.tol[r]:
                    self._close_for_good(r)
            self.demand()

    def shares(self, rounds: int = 20) -> None:
        """Meet the share rules: fill a short region, and shift units out of an overfull destination or into a region.

        From here on these rows, and the site minimums, may not get worse: a
        shift that mends one share row cannot break another.
        """
        dest, region = self._rows_of("destination_share"), self._rows_of("region_share")
        if not dest and not region:
            return
        for family in ("destination_share", "region_share", "site_min"):
            rows = self.m.family_rows.get(family)
            if rows is not None:
                self.check_hi[rows] = True
                self.check_lo[rows] = True
        for _ in range(rounds):
            short = [r for r in region if self.act[r] < self.lo[r] - self.tol[r]]
            over = [r for r in dest if self.act[r] > self.hi[r] + self.tol[r]]
            if not short and not over:
                return
            before = self.objective, float(self.act[short].sum()) if short else 0.0, float(self.act[over].sum())
            for r in short:
                self.fill_row(r)
                self._shift(r, into=True)
            for r in over:
                self._shift(r, into=False)
            after = self.objective, float(self.act[short].sum()) if short else 0.0, float(self.act[over].sum())
            if after == before:
                return

    def _shift(self, row: int, *, into: bool) -> None:
        """Move units of the same facilities into row ``row``'s moves (``into``) or out of them, cheapest first."""
        js, _ = self._row_columns(row)
        inside = np.zeros(self.n_x, dtype=bool)
        inside[js] = True
        moved = self.v[self.x0:self.x0 + self.n_x] > 1e-9
        for j in np.flatnonzero(moved & (inside != into)).tolist():
            if (self.act[row] >= self.lo[row] - self.tol[row]) if into else (self.act[row] <= self.hi[row] + self.tol[row]):
                return
            f = self.x_fac[j]
            for k in self.by_fac[self.fac_first[f]:self.fac_first[f + 1]].tolist():
                if inside[k] == into and self.x_period[k] <= self.x_period[j]:
                    units = float(self.v[self.x0 + j])
                    if self._move_units(j, k, units, relax=set()) or (
                            units > 1 and self.integer[self.x0 + j] and self._move_units(j, k, 1.0, relax=set())):
                        break

    def _close_for_good(self, site_min_row: int) -> None:
        s = slice(int(self.m.a_start[site_min_row]), int(self.m.a_start[site_min_row + 1]))
        cols = self.m.a_index[s]
        ys = cols[(cols >= self.y0) & (cols < self.y0 + self.n_sites * self.n_periods)]
        site = int((ys[0] - self.y0) // self.n_periods)
        self.banned_sites.add(site)
        xs = np.flatnonzero((self.x_site == site) & (self.v[self.x0:self.x0 + self.n_x] > 0))
        out_cols = [self.x0 + int(j) for j in xs] + [self.y_col(site, int(self.open_at[site]))]
        self.commit(out_cols, [-float(self.v[c]) for c in out_cols])

    def shrink_shortfall(self) -> None:
        """u of each soft target row down to what the row still lacks."""
        for c in range(self.m.u.start, self.m.u.stop):
            rows = self.c_row[self.c_start[c]:self.c_start[c + 1]]
            if rows.size:
                spare = float(np.min(self.act[rows] - self.lo[rows]))
                cut = min(float(self.v[c]), max(0.0, spare))
                if cut > 0:
                    self.commit([c], [-cut])

    def violated_rows(self) -> int:
        bad = (self.act < self.lo - self.tol) | (self.act > self.hi + self.tol)
        return int(bad.sum())

    # -- local improvement --------------------------------------------------------------------
    def improve(self, deadline: int) -> None:
        """Reassign, drop and close sites while each pass gains and time remains (all rows checked)."""
        self.check_hi[:] = True
        self.check_lo[:] = True
        self.banned_sites.clear()
        for _ in range(10):
            before = self.objective
            self._reassign(deadline)
            self._drop(deadline)
            self.savings()
            self._close_sites(deadline)
            if self.checks > deadline or self.objective > before - 1e-9 * max(1.0, abs(before)):
                return

    def _reassign(self, deadline: int, tries: int = 12) -> None:
        """Move each moved unit to a cheaper move of its facility (another destination or period)."""
        for j in np.flatnonzero(self.v[self.x0:self.x0 + self.n_x] > 1e-9).tolist():
            if self.checks > deadline:
                return
            f = self.x_fac[j]
            units = float(self.v[self.x0 + j])
            if units <= 1e-9:
                continue
            here = self.cost[self.x0 + j]
            left = tries
            for k in self.by_fac[self.fac_first[f]:self.fac_first[f + 1]].tolist():
                if self.cost[self.x0 + k] >= here - 1e-12 or left <= 0:
                    break
                if self.x_site[k] >= 0 and self.open_at[self.x_site[k]] < 0 and self._sites_full(k):
                    continue
                left -= 1
                if self._move_units(j, k, units):
                    break

    def _sites_full(self, k: int) -> bool:
        """Whether move ``k``'s site type has all the sites it may open (site_count at its upper bound)."""
        row = self.count_row[self.x_site[k]]
        return bool(row >= 0 and self.act[row] >= self.hi[row] - 0.5)

    def _sites_fewest(self, site: int) -> bool:
        """Whether site ``site``'s type has no site it may close (site_count at its lower bound)."""
        row = self.count_row[site]
        return bool(row >= 0 and self.act[row] <= self.lo[row] + 0.5)

    def _move_units(self, j: int, k: int, units: float, relax: set[int] | None = None) -> bool:
        """Move ``units`` from move ``j`` to move ``k`` when that is feasible and cheaper; True when done."""
        fixed = self._opening(k)
        if fixed is None:
            return False
        cols, deltas = [*fixed[0], self.x0 + j, self.x0 + k], [*fixed[1], -units, units]
        site = int(self.x_site[j])
        if site >= 0 and site != self.x_site[k] and self.site_units[site] - units <= 1e-9:
            cols.append(self.y_col(site, int(self.open_at[site])))
            deltas.append(-1.0)
        if float(np.dot(self.cost[cols], deltas)) >= -1e-9 and relax is None:
            return False
        if not self.feasible(cols, deltas, relax):
            return False
        self.commit(cols, deltas)
        return True

    def _drop(self, deadline: int) -> None:
        """Undo moves that cost and that no row needs (their site too when it empties)."""
        xs = np.flatnonzero((self.v[self.x0:self.x0 + self.n_x] > 1e-9) & (self.cost[self.x0:self.x0 + self.n_x] > 0))
        for j in xs[np.argsort(-self.cost[self.x0 + xs], kind="stable")].tolist():
            if self.checks > deadline:
                return
            units = float(self.v[self.x0 + j])
            cols, deltas = [self.x0 + j], [-units]
            site = int(self.x_site[j])
            if site >= 0 and self.site_units[site] - units <= 1e-9:
                cols.append(self.y_col(site, int(self.open_at[site])))
                deltas.append(-1.0)
            if self.feasible(cols, deltas):
                self.commit(cols, deltas)

    def _close_sites(self, deadline: int) -> None:
        """Close an open site when its moves fit elsewhere and the plan costs less; else leave it."""
        for site in np.flatnonzero(self.open_at >= 0).tolist():
            if self.checks > deadline:
                return
            if self._sites_fewest(site):
                continue
            saved = (self.v.copy(), self.act.copy(), self.objective, self.open_at.copy(), self.site_units.copy(),
                     self.moved.copy())
            before = self.objective
            relax = set(self._site_rows(site))
            self.banned_sites.add(site)
            ok = True
            for j in np.flatnonzero((self.x_site == site) & (self.v[self.x0:self.x0 + self.n_x] > 1e-9)).tolist():
                f = self.x_fac[j]
                units = float(self.v[self.x0 + j])
                placed = any(self._move_units(j, k, units, relax)
                             for k in self.by_fac[self.fac_first[f]:self.fac_first[f + 1]].tolist()
                             if self.x_site[k] != site)
                if not placed:
                    ok = False
                    break
            self.banned_sites.discard(site)
            if ok and self.open_at[site] >= 0:
                col = self.y_col(site, int(self.open_at[site]))
                ok = self.feasible([col], [-1.0])
                if ok:
                    self.commit([col], [-1.0])
            if not ok or self.objective >= before - 1e-9 * max(1.0, abs(before)):
                self.v, self.act, self.objective, self.open_at, self.site_units, self.moved = saved

    def _site_rows(self, site: int) -> list[int]:
        """The rows of site ``site``'s own y columns (site_min, site_capacity, ...) that emptying it relaxes."""
        rows: list[int] = []
        for p in range(self.n_periods):
            c = self.y_col(site, p)
            for r in self.c_row[self.c_start[c]:self.c_start[c + 1]].tolist():
                if self.family[r] == "site_min":
                    rows.append(r)
        return rows
