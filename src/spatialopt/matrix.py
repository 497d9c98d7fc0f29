"""The model of :mod:`spatialopt.model`, built directly as sparse arrays.

The Pyomo model is the readable reference; this module builds exactly the
same rows and columns with numpy, one vectorised block per constraint family,
and hands them to HiGHS in one call. On 100,000 eligible arcs that takes a
fraction of a second where Pyomo's construction and hand-off take several
(see ``bench/bench_scale.py``). Tests solve every test instance both ways and
compare the optima.

Columns, in order: ``x`` (one per eligible arc, in :class:`Derived` order),
``y`` (one per site candidate), ``u`` (one per soft source), then
``moved_residents`` and ``moved_jobs`` when a share rule needs them. Rows are
the families of the model module's docstring, in its order and with its
names; ``row_family`` tells which family each row belongs to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .derive import Derived
from .instance import Instance

INF = math.inf


@dataclass
class MatrixModel:
    """min c·v  s.t.  row_lower <= A v <= row_upper,  col_lower <= v <= col_upper."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray  # bool per column
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray  # CSR row pointers
    a_index: np.ndarray
    a_value: np.ndarray
    x: slice
    y: slice
    u: slice
    row_family: list[str] = field(default_factory=list)  # one name per row block, see ``family_rows``
    family_rows: dict[str, slice] = field(default_factory=dict)
    trivially_infeasible: list[str] = field(default_factory=list)

    @property
    def n_cols(self) -> int:
        return int(self.cost.size)

    @property
    def n_rows(self) -> int:
        return int(self.row_lower.size)

    @property
    def n_nonzeros(self) -> int:
        return int(self.a_value.size)


class _Rows:
    """Collects rows as COO triplets, block by block."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.count = 0
        self.families: dict[str, slice] = {}

    def add(self, family: str, row: np.ndarray, col: np.ndarray, val: np.ndarray,
            lower: np.ndarray, upper: np.ndarray) -> None:
        """Rows numbered 0..len(lower)-1 within the block; entries (row, col, val)."""
        n = len(lower)
        if n == 0:
            return
        keep = val != 0
        self.rows.append(np.asarray(row, dtype=np.int64)[keep] + self.count)
        self.cols.append(np.asarray(col, dtype=np.int64)[keep])
        self.vals.append(np.asarray(val, dtype=float)[keep])
        self.lower.append(np.asarray(lower, dtype=float))
        self.upper.append(np.asarray(upper, dtype=float))
        self.families[family] = slice(self.count, self.count + n)
        self.count += n


def _block(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row number of each entry (one row per distinct key, keys sorted), and the distinct keys."""
    unique, inverse = np.unique(keys, return_inverse=True)
    return inverse.reshape(-1), unique


def build_matrices(instance: Instance, derived: Derived) -> MatrixModel:
    """The model of spec §4 as sparse arrays (same rows and columns as :func:`build_model`)."""
    fac = instance.facilities
    d = derived
    n_arcs, n_sites = d.n_arcs, len(d.site_type)
    soft = [s for s, src in instance.sources.items() if src.soft]
    count = fac["count"].to_numpy(dtype=float)
    jobs = fac["jobs"].to_numpy(dtype=float)
    residents = fac["residents"].to_numpy(dtype=float)
    must = fac["must_move"].to_numpy(dtype=bool)
    fac_type = fac["type"].to_numpy(dtype=object)
    fac_origin = fac["origin"].to_numpy(dtype=object)
    splittable = np.array([instance.types[t].splittable for t in fac_type], dtype=bool)

    arc = np.arange(n_arcs)
    af, ad = d.arc_f, d.arc_d
    arc_type, arc_origin = fac_type[af], fac_origin[af]
    arc_jobs, arc_res = jobs[af], residents[af]
    site_col = n_arcs + np.arange(n_sites)
    y0, u0 = n_arcs, n_arcs + n_sites
    n_cols = u0 + len(soft)
    rows = _Rows()

    # (1) assign: facilities with at least one arc
    r, keys = _block(af)
    rows.add("assign", r, arc, np.ones(n_arcs),
             np.where(must[keys], count[keys], -INF), count[keys])

    # (2) target: sources with a positive target (soft ones with their shortfall column)
    tgt = [(s, src) for s, src in instance.sources.items() if src.target_persons > 0]
    if tgt:
        index = {s: i for i, (s, _) in enumerate(tgt)}
        sel = np.array([o in index for o in arc_origin], dtype=bool)
        r = np.array([index[o] for o in arc_origin[sel]], dtype=np.int64)
        cols, vals = [arc[sel]], [arc_res[sel]]
        rr = [r]
        for j, s in enumerate(soft):
            if s in index:
                rr.append(np.array([index[s]]))
                cols.append(np.array([u0 + j]))
                vals.append(np.array([1.0]))
        rows.add("target", np.concatenate(rr), np.concatenate(cols), np.concatenate(vals),
                 np.array([src.target_persons for _, src in tgt]), np.full(len(tgt), INF))

    # (3) min_share
    shares = []
    for s, src in instance.sources.items():
        for k, share in src.min_share.items():
            members = (fac_origin == s) & (fac_type == k)
            need = share * float(np.sum(jobs[members] * count[members]))
            if need > 0:
                shares.append((s, k, need))
    if shares:
        rr, cc, vv = [], [], []
        for i, (s, k, _) in enumerate(shares):
            sel = np.nonzero((arc_origin == s) & (arc_type == k))[0]
            rr.append(np.full(sel.size, i))
            cc.append(sel)
            vv.append(arc_jobs[sel])
        rows.add("min_share", np.concatenate(rr), np.concatenate(cc), np.concatenate(vv),
                 np.array([need for *_, need in shares]), np.full(len(shares), INF))

    # (4) capacity: per resource, destinations with a finite cap and a non-zero use
    rr, cc, vv, up = [], [], [], []
    offset = 0
    for j, resource in enumerate(instance.resources):
        cap = instance.city_caps[resource.id].to_numpy(dtype=float)
        sel = np.nonzero(np.isfinite(cap[ad]) & (d.use[:, j] != 0))[0]
        if sel.size == 0:
            continue
        r, keys = _block(ad[sel])
        rr.append(r + offset)
        cc.append(sel)
        vv.append(d.use[sel, j])
        up.append(cap[keys])
        offset += keys.size
    if rr:
        rows.add("capacity", np.concatenate(rr), np.concatenate(cc), np.concatenate(vv),
                 np.full(offset, -INF), np.concatenate(up))

    # (5) site_link: x_fd <= count_f y_kd for arcs of types that require a site
    site_of = {(t, int(c)): i for i, (t, c) in enumerate(zip(d.site_type, d.site_d))}
    needs = np.array([instance.types[t].requires_site for t in arc_type], dtype=bool)
    link = np.nonzero(needs)[0]
    link_site = np.array([site_of[(arc_type[a], int(ad[a]))] for a in link], dtype=np.int64)
    if link.size:
        r = np.arange(link.size)
        rows.add("site_link", np.concatenate([r, r]), np.concatenate([link, y0 + link_site]),
                 np.concatenate([np.ones(link.size), -count[af[link]]]),
                 np.full(link.size, -INF), np.zeros(link.size))

    # (6) site_capacity and (7) site_min: jobs at a site against its capacity / minimum
    def site_rows(family: str, chosen: np.ndarray, coef: np.ndarray, upper: bool) -> None:
        if chosen.size == 0:
            return
        number = {int(s): i for i, s in enumerate(chosen)}
        on = np.array([int(s) in number for s in link_site], dtype=bool)
        r_x = np.array([number[int(s)] for s in link_site[on]], dtype=np.int64)
        rows.add(
            family,
            np.concatenate([r_x, np.arange(chosen.size)]),
            np.concatenate([link[on], y0 + chosen]),
            np.concatenate([arc_jobs[link[on]], coef]),
            np.full(chosen.size, -INF) if upper else np.zeros(chosen.size),
            np.zeros(chosen.size) if upper else np.full(chosen.size, INF),
        )

    finite = np.nonzero(np.isfinite(d.site_capacity))[0]
    site_rows("site_capacity", finite, -d.site_capacity[finite], upper=True)
    site_min_jobs = np.array([instance.types[t].min_site_jobs for t in d.site_type], dtype=float)
    with_min = np.nonzero(site_min_jobs > 0)[0]
    site_rows("site_min", with_min, -site_min_jobs[with_min], upper=False)

    # (8) site_count
    counted = []
    for k, kind in instance.types.items():
        if not kind.requires_site or (kind.min_sites <= 0 and math.isinf(kind.max_sites)):
            continue
        members = np.nonzero(np.asarray(d.site_type, dtype=object) == k)[0]
        upper = kind.max_sites if kind.max_sites < members.size else INF
        lower = kind.min_sites if kind.min_sites > 0 else -INF
        if lower > -INF or upper < INF:  # an empty row here is reported as infeasible
            counted.append((members, lower, upper))
    if counted:
        rows.add("site_count",
                 np.concatenate([np.full(m.size, i) for i, (m, _, _) in enumerate(counted)]),
                 np.concatenate([y0 + m for m, _, _ in counted]),
                 np.ones(sum(m.size for m, _, _ in counted)),
                 np.array([lo for _, lo, _ in counted]), np.array([up for *_, up in counted]))

    # (9) budget
    if instance.policy.budget is not None:
        rows.add("budget", np.zeros(n_arcs + n_sites, dtype=np.int64), np.concatenate([arc, site_col]),
                 np.concatenate([d.relocation, d.site_cost]), np.array([-INF]), np.array([instance.policy.budget]))

    # (10) destination_share and (11) region_share, each against one auxiliary total
    extra_cost: list[float] = []
    alpha = instance.policy.max_destination_share
    if alpha is not None and alpha < 1 and n_arcs:
        total = n_cols
        n_cols += 1
        extra_cost.append(0.0)
        rows.add("moved_residents_def", np.zeros(n_arcs + 1, dtype=np.int64), np.r_[arc, total],
                 np.r_[arc_res, -1.0], np.zeros(1), np.zeros(1))
        sel = np.nonzero(arc_res != 0)[0]
        r, keys = _block(ad[sel])
        rows.add("destination_share", np.r_[r, np.arange(keys.size)], np.r_[sel, np.full(keys.size, total)],
                 np.r_[arc_res[sel], np.full(keys.size, -alpha)], np.full(keys.size, -INF), np.zeros(keys.size))
    regions = {g: b for g, b in instance.policy.min_region_share.items() if b > 0}
    if regions and n_arcs:
        total = n_cols
        n_cols += 1
        extra_cost.append(0.0)
        rows.add("moved_jobs_def", np.zeros(n_arcs + 1, dtype=np.int64), np.r_[arc, total],
                 np.r_[arc_jobs, -1.0], np.zeros(1), np.zeros(1))
        region_of = instance.cities["region"].to_numpy(dtype=object)[ad]
        rr, cc, vv = [], [], []
        for i, (g, beta) in enumerate(regions.items()):
            sel = np.nonzero(region_of == g)[0]
            rr += [np.full(sel.size + 1, i)]
            cc += [np.r_[sel, total]]
            vv += [np.r_[arc_jobs[sel], -beta]]
        rows.add("region_share", np.concatenate(rr), np.concatenate(cc), np.concatenate(vv),
                 np.zeros(len(regions)), np.full(len(regions), INF))

    # Columns
    w = instance.weights
    penalties = np.array([instance.sources[s].shortfall_penalty for s in soft], dtype=float)
    cost = np.concatenate([d.cost, w.sites * d.site_cost, w.shortfall * penalties, extra_cost])
    col_lower = np.zeros(n_cols)
    col_upper = np.concatenate([count[af], np.ones(n_sites), np.full(n_cols - n_arcs - n_sites, INF)])
    integer = np.concatenate([~splittable[af], np.ones(n_sites, dtype=bool), np.zeros(n_cols - n_arcs - n_sites, dtype=bool)])

    model = _assemble(rows, cost, col_lower, col_upper, integer, n_arcs, n_sites, len(soft))
    return model


def _assemble(rows: _Rows, cost: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray,
              integer: np.ndarray, n_arcs: int, n_sites: int, n_soft: int) -> MatrixModel:
    """COO blocks -> CSR; rows without entries that cannot hold are reported."""
    if rows.count:
        r = np.concatenate(rows.rows)
        c = np.concatenate(rows.cols)
        v = np.concatenate(rows.vals)
        lower = np.concatenate(rows.lower)
        upper = np.concatenate(rows.upper)
    else:
        r = c = np.zeros(0, dtype=np.int64)
        v = lower = upper = np.zeros(0)
    order = np.argsort(r, kind="stable")
    r, c, v = r[order], c[order], v[order]
    per_row = np.bincount(r, minlength=rows.count)
    start = np.zeros(rows.count + 1, dtype=np.int64)
    np.cumsum(per_row, out=start[1:])
    empty = np.nonzero(per_row == 0)[0]
    impossible = empty[(lower[empty] > 0) | (upper[empty] < 0)]
    family_of = {i: name for name, block in rows.families.items() for i in range(block.start, block.stop)}
    trivial = [f"{family_of[int(i)]} row {int(i) - rows.families[family_of[int(i)]].start} has no variable "
               f"but needs {lower[i]:g} <= 0 <= {upper[i]:g}" for i in impossible]
    return MatrixModel(
        cost=cost, col_lower=col_lower, col_upper=col_upper, integer=integer,
        row_lower=lower, row_upper=upper, a_start=start, a_index=c, a_value=v,
        x=slice(0, n_arcs), y=slice(n_arcs, n_arcs + n_sites), u=slice(n_arcs + n_sites, n_arcs + n_sites + n_soft),
        row_family=list(rows.families), family_rows=dict(rows.families), trivially_infeasible=trivial,
    )
