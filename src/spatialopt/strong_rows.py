r"""Valid strengthening of the spec's model: tighter coefficients, cover rows, dominated arcs.

Each piece is switched by one field of :class:`Strengthening` and changes a
:class:`~spatialopt.formulation.Formulation` built by
:func:`~spatialopt.formulation.build`, so both back ends (highspy arrays and
Pyomo) read the same strengthened model. None of them removes a column or
changes what a solution file holds: the spec's rows all stay, the extra rows
are implied by them, and a dominated arc is only bounded to 0. Proofs are
sketched beside each function and in ``docs/extensions.md``.

    capacity_links   site_link[f, d(, p)]: x_fdp <= min(count_f, cap_kd / jobs_f, cap_dr / use_fdr) Y_kd(p)
                     (rounded down for an integer column) instead of count_f Y_kd(p)
    cover_rows       cover_site_jobs[k]: sum_i min(cap_i, L_k) Y_i >= L_k, L_k the jobs of
                     type k that must move (must_move and min_share);
                     cover_target[s(, p)]: sum_i a_si Y_i(p) >= T_sp - (residents s can move without a site)
    dominated_arcs   x_fd bounded to 0 where another arc of f to a destination with no
                     destination-dependent row costs no more in every period and no more budget
    cumulative_rows  (plan periods only) cumulative_link[f, d, p]: sum_{q<=p} x_fdq <= count_f Y_kd(p);
                     cumulative_site_capacity[k, d, p]: jobs moved to the site by the end of p
                     <= cap_kd Y_kd(p), p before the last
    moved_units      an integer column moved_units[f(, p)] = units of f moved (by the end of p), defined by
                     moved_units_def rows, and target_units[s(, p)]: each target row restated over them
                     (with plan periods only when moved_units_with_periods is on too)
    shares_over_moves region_share[g]: the total moved_jobs replaced by its definition (the sum of
                     jobs x), so the row reads jobs received by g - beta_g * jobs moved >= 0 over the moves
                     themselves (moved_jobs and its definition row stay, read by nothing else)
    site_city_caps   site_city_cap[k, d, r(, p)]: uses of r moved by type k into d (by the end of p)
                     <= min(cap_dr(p), what k's facilities could bring) Y_kd(p), where the cap is the smaller
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .formulation import INF, ColumnBlock, Formulation, RowBlock, _Data, _keys2, opened_by
from .periods import facility_windows, milestone_targets

# A ratio cap / jobs within this relative distance below a whole number counts as that number:
# the site_capacity row is met to HiGHS's tolerance, so rounding must never cut a plan it accepts.
ROUNDING_SLACK = 1e-9


@dataclass(frozen=True)
class Strengthening:
    """Which valid strengthenings the built model gets (each one on its own; see ``docs/extensions.md``).

    Defaults are what ``bench/bench_formulation.py`` measured to pay
    (``bench/results/strengthening.md``): cover rows on; reduced-cost fixing
    on, acting only when a plan's cost is known (``upper_bound``) and the model
    has at least ``fixing_min_integers`` integer columns (below that its extra
    LP solve cost more than it saved); cumulative rows on (plan periods only:
    they raise the root LP bound of the phased China instances, 43,085 to
    43,821 on china-2035-phased, and the bound a time-limited run ends at,
    ``bench/results/strengthening-phased.md``); moved units on without plan
    periods (china-2035's default solve proves 1e-4 in about half the time)
    and off with them (``moved_units_with_periods``: the phased regional
    instances proved 1.1-1.5x slower; README, *Performance*); region shares
    over the moves on (china-2035 proves in about 0.65x the time, the phased
    national instance's gap after 300 s is 0.7-1.3% instead of 2.3%); capacity-aware
    links and dominated arcs off (they changed nothing, or next to nothing, on
    the measured instances); a city's cap through its site off (a slightly
    higher bound after 300 s on china-2035-phased, but chengyu-2035-phased
    proved 1.0-1.75x slower; ``docs/extensions.md``); block bounds on (the
    solve path's block pass, :mod:`spatialopt.blocks`: china-2035-phased solved
    to optimality in under a minute); the LP first on (the solve path's LP
    relaxation before the start: when its point is a plan it is the proved
    answer, OR-Library cap131-134 in about a third of the time).
    """

    capacity_links: bool = False
    cover_rows: bool = True
    dominated_arcs: bool = False
    reduced_cost_fixing: bool = True
    cumulative_rows: bool = True
    moved_units: bool = True
    moved_units_with_periods: bool = False  # moved_units acts on a model with plan periods only with this too
    shares_over_moves: bool = True
    site_city_caps: bool = False
    block_bounds: bool = True  # the solve path's block pass (spatialopt.blocks), not a row of the formulation
    lp_first: bool = True  # the solve path's LP before anything else (spatialopt.root_pass), not a row either
    fixing_min_integers: int = 5_000

    @classmethod
    def none(cls) -> Strengthening:
        """The spec's model exactly."""
        return cls(**dict.fromkeys(NAMES, False))

    @classmethod
    def every(cls) -> Strengthening:
        """Every strengthening on, on any model size (the tests' setting)."""
        return cls(**dict.fromkeys(NAMES, True), moved_units_with_periods=True, fixing_min_integers=0)

    @classmethod
    def only(cls, name: str) -> Strengthening:
        """Only the strengthening ``name`` on, on any model size (the benchmark's setting)."""
        if name not in NAMES:
            raise ValueError(f"unknown strengthening {name!r}; expected one of {', '.join(NAMES)}")
        return replace(cls.none(), fixing_min_integers=0, **{name: True})


NAMES = ("capacity_links", "cover_rows", "dominated_arcs", "reduced_cost_fixing", "cumulative_rows", "moved_units",
         "shares_over_moves", "site_city_caps", "block_bounds", "lp_first")
#: The strengthenings that change the formulation (reduced-cost fixing needs an LP solve: spatialopt.strengthen;
#: block bounds solve the model's blocks: spatialopt.blocks, and the LP first solves the LP: spatialopt.root_pass,
#: both on the solve path).
ROW_NAMES = tuple(n for n in NAMES if n not in ("reduced_cost_fixing", "block_bounds", "lp_first"))
DEFAULT = Strengthening()


def strengthened(form: Formulation, options: Strengthening = DEFAULT) -> Formulation:
    """``form`` with the row-level strengthenings of ``options`` (a copy; ``form`` is unchanged)."""
    if not any(getattr(options, name) for name in ROW_NAMES):
        return form
    if form.instance is None or form.derived is None:
        raise ValueError("strengthening needs a formulation built from an instance (formulation.build)")
    data = _Data(form.instance, form.derived)
    out = form.copy()
    if options.capacity_links:
        _capacity_links(data, out)
    if options.cover_rows:
        for block in (_cover_site_jobs(data, out), _cover_target(data, out)):
            if block is not None and block.n_rows:
                out.add_rows(block)
    if options.cumulative_rows and data.n_periods > 1:
        for block in (_cumulative_link(data, out), _cumulative_site_capacity(data, out)):
            if block is not None and block.n_rows:
                out.add_rows(block)
    if options.site_city_caps:
        block = _site_city_caps(data, out)
        if block is not None:
            out.add_rows(block)
    if options.dominated_arcs:
        _bound_dominated_arcs(data, out)
    if options.moved_units and (options.moved_units_with_periods or data.n_periods == 1):
        _moved_units(data, out)
    if options.shares_over_moves:
        _shares_over_moves(out)
    return out


# -- (a) capacity-aware linking -------------------------------------------------------
def link_coefficients(data: _Data) -> np.ndarray:
    """Per site_link row (``data.move_link`` order): the largest x_fdp an open site lets through.

    Proof: site_capacity reads sum_f jobs_f X_fd <= cap_kd Y_kd with every term
    >= 0, so jobs_f x_fdp <= jobs_f X_fd <= cap_kd when the site is open (and 0
    when not, by site_link itself); an integer x is then at most the floor.
    A finite final cap of d on a resource f uses bounds x_fdp the same way
    (capacity rows: uses >= 0). Zero jobs, or an unlimited site, leave count_f.
    """
    moves, site = data.move_link
    f = data.mv_f[moves]
    count, jobs = data.count[f], data.jobs[f]
    cap = np.asarray(data.derived.site_capacity, float)[site]
    limited = np.isfinite(cap) & (jobs > 0)
    ratio = np.full(moves.size, INF)
    ratio[limited] = cap[limited] / jobs[limited]
    # The city's final caps bound x_fdp the same way: use_{f,r,d} x_fdp <= X_fd use <= cap_{d,r}.
    arc, dest = data.mv_arc[moves], data.mv_d[moves]
    for j, resource in enumerate(data.instance.resources):
        use = np.asarray(data.derived.use, float)[arc, j]
        city_cap = data.instance.city_caps[resource.id].to_numpy(dtype=float)[dest]
        on = np.isfinite(city_cap) & (use > 0)
        ratio[on] = np.minimum(ratio[on], city_cap[on] / use[on])
    integer = np.array([not data.instance.types[t].splittable for t in data.fac_type], dtype=bool)[f]
    whole = integer & np.isfinite(ratio)
    ratio[whole] = np.floor(ratio[whole] * (1 + ROUNDING_SLACK) + ROUNDING_SLACK)
    return np.minimum(count, ratio)


def _capacity_links(data: _Data, form: Formulation) -> None:
    """Replace site_link's -count_f by -min(count_f, cap/jobs) (see :func:`link_coefficients`)."""
    block = form.find("site_link")
    if block is None:
        return
    coef = link_coefficients(data)
    if coef.size != block.n_rows:  # rows were settled away: nothing safe to map
        return
    y = form.column("y")
    on_y = (block.col >= y.start) & (block.col < y.stop)
    val = block.val.copy()
    val[on_y] = -coef[block.row[on_y]]
    keep = val != 0  # a site that lets nothing of f through: the row reads x_fdp <= 0
    form.replace_rows(replace(block, row=block.row[keep], col=block.col[keep], val=val[keep]))


# -- (b) cover rows --------------------------------------------------------------------
def _site_y(data: _Data, form: Formulation, sites: np.ndarray, coef: np.ndarray, row: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries coef_i * Y_i (all openings of site i) in row ``row``."""
    n_periods = data.n_periods
    cols = form.column("y").start + data.site_column(np.repeat(sites, n_periods),
                                                     np.tile(np.arange(n_periods), sites.size))
    return np.full(cols.size, row, np.int64), cols, np.repeat(coef, n_periods)


def must_move_jobs(data: _Data) -> dict[str, float]:
    """Per type requiring a site: jobs that every plan moves (must_move units, min_share), over all sources."""
    inst = data.instance
    out: dict[str, float] = {}
    for k in data.type_ids:
        if not inst.types[k].requires_site:
            continue
        total = 0.0
        for s, src in inst.sources.items():
            members = (data.fac_origin == s) & (data.fac_type == k)
            jobs = data.jobs[members] * data.count[members]
            must = float(np.sum(jobs[data.must[members]]))
            total += max(must, src.min_share.get(k, 0.0) * float(np.sum(jobs)))
        if total > 0:
            out[k] = total
    return out


def _cover_site_jobs(data: _Data, form: Formulation) -> RowBlock | None:
    """cover_site_jobs[k]: sum_i min(cap_i, L_k) Y_i >= L_k over the site candidates of type k.

    Proof: the L_k jobs (:func:`must_move_jobs`) move to open sites of type k,
    whose site_capacity rows hold at most cap_i each; replacing a coefficient
    above L_k by L_k keeps every 0/1 point that met the row.
    """
    need = must_move_jobs(data)
    if not need:
        return None
    capacity = np.asarray(data.derived.site_capacity, float)
    rows, cols, vals, lower = [], [], [], []
    keys: list[str] = []
    for k, jobs in need.items():
        sites = np.flatnonzero(data.site_type_code == data.type_ids.index(k))
        if sites.size == 0 or np.all(np.isinf(capacity[sites])):  # an unlimited site alone covers
            continue
        r, c, v = _site_y(data, form, sites, np.minimum(capacity[sites], jobs), len(keys))
        rows.append(r)
        cols.append(c)
        vals.append(v)
        lower.append(jobs)
        keys.append(k)
    if not keys:
        return None
    return RowBlock("cover_site_jobs", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals),
                    np.array(lower, float), np.full(len(keys), INF), lambda: list(keys),
                    lambda k, lo, _up: f"type {k!r}: {lo:,.0f} jobs must move but no site of it can open")


def _cover_target(data: _Data, form: Formulation) -> RowBlock | None:
    """cover_target[s] (with periods [s, p], each target row): sum_i a_si Y_i(p) >= N_sp for a hard target.

    N_sp = T_sp minus the residents of s's facilities that need no site (all
    their units, where they have an arc and may move by the end of p). By then,
    through site i (type k, city d) at most R_si = sum residents_f count_f over
    s's type-k facilities with an arc to d that may move by p move, and only if
    the site opened by p (site_link); at most rho_sk cap_i in all
    (site_capacity, rho_sk the largest residents per job among them);
    a_si = min(N_sp, R_si, rho_sk cap_i).
    """
    inst = data.instance
    has_arc = np.bincount(data.af, minlength=data.count.size) > 0
    needs_site = np.array([inst.types[k].requires_site for k in data.type_ids], dtype=bool)[data.fac_type_code]
    capacity = np.asarray(data.derived.site_capacity, float)
    earliest, _ = facility_windows(inst)
    link, site_of_link = data.link
    rows, cols, vals, lower = [], [], [], []
    keys: list[Any] = []
    for s, targets in milestone_targets(inst).items():
        if inst.sources[s].soft:
            continue
        for p, target in targets:
            block = _target_cover(data, s, p, target, has_arc & (earliest <= p), needs_site, capacity, link,
                                  site_of_link)
            if block is None:
                continue
            sites, coef, need = block
            n_periods = data.n_periods
            on = np.tile(np.arange(n_periods), sites.size) <= p
            cols.append(form.column("y").start + data.site_column(np.repeat(sites, n_periods),
                                                                 np.tile(np.arange(n_periods), sites.size))[on])
            vals.append(np.repeat(coef, n_periods)[on])
            rows.append(np.full(int(on.sum()), len(keys), np.int64))
            lower.append(need)
            keys.append((s, data.period_ids[p]) if data.phased else s)
    if not keys:
        return None
    return RowBlock("cover_target", np.concatenate(rows), np.concatenate(cols), np.concatenate(vals),
                    np.array(lower, float), np.full(len(keys), INF), lambda: list(keys))


def _target_cover(data: _Data, s: str, p: int, target: float, movable: np.ndarray, needs_site: np.ndarray,
                  capacity: np.ndarray, link: np.ndarray, site_of_link: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Sites, coefficients and right-hand side of one cover_target row (None when there is none to build)."""
    mine = (data.fac_origin == s) & movable
    free = float(np.sum((data.residents * data.count)[mine & ~needs_site]))
    need = target - free
    if target <= 0 or need <= 0:
        return None
    on = mine[data.af[link]]
    arcs, sites = link[on], site_of_link[on]
    if arcs.size == 0:
        return None
    reach = np.bincount(sites, weights=(data.residents * data.count)[data.af[arcs]], minlength=data.n_sites)
    coef = np.minimum(reach, need)
    for code in np.unique(data.site_type_code[sites]):
        members = mine & (data.fac_type_code == code) & (data.residents > 0)
        jobs, res = data.jobs[members], data.residents[members]
        rho = INF if np.any(jobs == 0) else float(np.max(res / jobs)) if res.size else 0.0
        limited = (data.site_type_code == code) & np.isfinite(capacity)
        if math.isfinite(rho):
            coef[limited] = np.minimum(coef[limited], rho * capacity[limited])
    chosen = np.flatnonzero(coef > 0)
    if chosen.size == 0 or float(np.sum(coef[chosen])) < need * (1 - 1e-12):
        return None  # the row could not hold: leave the verdict to the spec's rows
    return chosen, coef[chosen], need


# -- (c) cumulative rows over plan periods -----------------------------------------------
def _cumulative_link(data: _Data, form: Formulation) -> RowBlock | None:
    """cumulative_link[f, d, p]: sum_{q<=p} x_fdq - count_f sum_{q<=p} y_kdq <= 0.

    Proof: site_open makes Y_kd(p) = sum_{q<=p} y_kdq a 0/1 value. When it is 0,
    site_link keeps every x_fdq with q <= p at 0; when it is 1, the moves of f
    to d by the end of p are part of all of f's moves, at most count_f (assign).
    The spec's site_link bounds each period's move alone, so a facility split
    over periods into a site opened late can pass more units than it has; these
    rows close that. Built for the periods after the arc's first move (at its
    first period the row is site_link's).
    """
    moves, site = data.move_link
    if moves.size == 0:
        return None
    arc, period = data.mv_arc[moves], data.mv_p[moves]
    first = np.full(data.n_arcs, data.n_periods, dtype=np.int64)
    np.minimum.at(first, arc, period)
    last = np.full(data.n_arcs, -1, dtype=np.int64)
    np.maximum.at(last, arc, period)
    site_of_arc = np.full(data.n_arcs, -1, dtype=np.int64)
    site_of_arc[arc] = site
    # One row per (arc, p) with first(arc) < p <= last(arc); the moves q <= p of the arc enter it.
    arcs = np.flatnonzero(last > first)
    if arcs.size == 0:
        return None
    n_per_arc = last[arcs] - first[arcs]
    row_arc = np.repeat(arcs, n_per_arc)
    row_p = np.repeat(first[arcs] + 1, n_per_arc) + (np.arange(row_arc.size) - np.repeat(np.cumsum(n_per_arc) - n_per_arc, n_per_arc))
    row_start = np.zeros(data.n_arcs, dtype=np.int64)
    row_start[arcs] = np.cumsum(n_per_arc) - n_per_arc
    # Move (a, q) enters the rows (a, p) for max(q, first_a + 1) <= p <= last_a.
    lowest = np.maximum(period, first[arc] + 1)
    times = np.maximum(last[arc] - lowest + 1, 0)
    x_p = np.repeat(lowest, times) + (np.arange(int(times.sum())) - np.repeat(np.cumsum(times) - times, times))
    x_arc = np.repeat(arc, times)
    x_rows = row_start[x_arc] + x_p - first[x_arc] - 1
    x_cols = np.repeat(moves, times)
    f = data.af[row_arc]
    y_row, y_col, y_val = opened_by(data, form, site_of_arc[row_arc], np.arange(row_arc.size), row_p,
                                    -data.count[f])
    n = row_arc.size
    keys = (data.facility_ids[f], data.city_ids[data.ad[row_arc]], np.asarray(data.period_ids, dtype=object)[row_p])
    return RowBlock("cumulative_link", np.r_[x_rows, y_row], np.r_[form.column("x").start + x_cols, y_col],
                    np.r_[np.ones(x_rows.size), y_val], np.full(n, -INF), np.zeros(n),
                    lambda: list(zip(*(k.tolist() for k in keys))))


def _cumulative_site_capacity(data: _Data, form: Formulation) -> RowBlock | None:
    """cumulative_site_capacity[k, d, p], p before the last: jobs moved to d by the end of p <= cap_kd Y_kd(p).

    Proof: when the site has not opened by p, site_link keeps those moves at 0;
    when it has, they are part of all the jobs moved to it (every term >= 0),
    at most cap_kd by site_capacity. The spec builds site_capacity for the last
    period only, so in the relaxation an early fraction of an opening could
    take the whole capacity's moves.
    """
    moves, site = data.move_link
    capacity = np.asarray(data.derived.site_capacity, float)
    finite = np.flatnonzero(np.isfinite(capacity))
    if moves.size == 0 or finite.size == 0:
        return None
    number = np.full(data.n_sites, -1, dtype=np.int64)
    number[finite] = np.arange(finite.size)
    n_sites, periods = finite.size, data.n_periods - 1
    rows, cols, vals = [], [], []
    for p in range(periods):
        on = (number[site] >= 0) & (data.mv_p[moves] <= p)
        rows.append(p * n_sites + number[site[on]])
        cols.append(form.column("x").start + moves[on])
        vals.append(data.mv_jobs[moves[on]])
    row_site = np.tile(finite, periods)
    row_p = np.repeat(np.arange(periods, dtype=np.int64), n_sites)
    y_row, y_col, y_val = opened_by(data, form, row_site, np.arange(row_site.size), row_p, -capacity[row_site])
    # A row with no move in it reads -cap Y <= 0: it holds, leave it out.
    used = np.zeros(row_site.size, dtype=bool)
    used[np.concatenate(rows)] = True
    renumber = np.cumsum(used) - 1
    x_row = np.concatenate(rows)
    keep_y = used[y_row]
    d = data.derived
    kept_site, kept_p = row_site[used], row_p[used]
    keys = (np.asarray(d.site_type, dtype=object)[kept_site], data.city_ids[np.asarray(d.site_d)[kept_site]],
            np.asarray(data.period_ids, dtype=object)[kept_p])
    n = int(used.sum())
    if n == 0:
        return None
    return RowBlock("cumulative_site_capacity", np.r_[renumber[x_row], renumber[y_row[keep_y]]],
                    np.r_[np.concatenate(cols), y_col[keep_y]], np.r_[np.concatenate(vals), y_val[keep_y]],
                    np.full(n, -INF), np.zeros(n), lambda: list(zip(*(k.tolist() for k in keys))))


# -- (d) a city's cap through its site --------------------------------------------------
def _site_city_caps(data: _Data, form: Formulation) -> RowBlock | None:
    """site_city_cap[k, d, r(, p)]: uses of r moved by type k into d (by the end of p) <= M Y_kd(p).

    M = min(cap_dr(p), sum of use_fr count_f over the facilities of type k
    with a move into d by p); a row is built only where the cap is the
    smaller (otherwise cumulative_link and site_link already imply it).
    Proof: when the site has not opened by p, site_link keeps every move of
    type k into d up to p at 0; when it has, those moves' uses are part of all
    uses moved into d by p, at most cap_dr(p) by the capacity row (every use
    into d >= 0: a destination where some use is negative gets no row), and
    each facility moves at most count_f units (assign). The capacity row alone
    lets a fraction of an opening take a whole city's cap: on
    china-2035-phased these rows raise the root LP from 44,660.1 to 44,779.4.
    """
    moves, site = data.move_link
    if moves.size == 0 or not data.instance.resources:
        return None
    d = data.derived
    x0 = form.column("x").start
    row_parts: list[np.ndarray] = []
    col_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    y_sites: list[np.ndarray] = []
    y_periods: list[np.ndarray] = []
    y_coef: list[np.ndarray] = []
    keys: list[tuple[Any, ...]] = []
    n_rows = 0
    site_type = np.asarray(d.site_type, dtype=object)
    site_city = np.asarray(d.site_d, dtype=np.int64)
    dest = data.mv_d[moves]
    for j, resource in enumerate(data.instance.resources):
        every_use = d.use[data.mv_arc, j]
        negative = np.zeros(len(data.city_ids), dtype=bool)
        negative[data.mv_d[every_use < 0]] = True
        use = every_use[moves]
        for p in range(data.n_periods):
            cap = data.city_caps(j, p)
            if cap is None:
                continue
            on = (data.mv_p[moves] <= p) & (use > 0) & np.isfinite(cap[dest]) & ~negative[dest]
            if not on.any():
                continue
            sel, sel_site = moves[on], site[on]
            # the most type k can bring into the site's city by p: each facility's units once (not per period)
            arcs, first = np.unique(data.mv_arc[sel], return_index=True)
            reach = np.zeros(data.n_sites)
            np.add.at(reach, sel_site[first], d.use[arcs, j] * data.count[data.af[arcs]])
            city_cap = cap[site_city]
            binding = np.flatnonzero((reach > 0) & (city_cap < reach * (1 - ROUNDING_SLACK)))
            if binding.size == 0:
                continue
            number = np.full(data.n_sites, -1, dtype=np.int64)
            number[binding] = n_rows + np.arange(binding.size)
            keep = number[sel_site] >= 0
            row_parts.append(number[sel_site[keep]])
            col_parts.append(x0 + sel[keep])
            val_parts.append(use[on][keep])
            y_sites.append(binding)
            y_periods.append(np.full(binding.size, p, dtype=np.int64))
            y_coef.append(-city_cap[binding])
            period = (data.period_ids[p],) if data.phased else ()
            keys += [(site_type[i], data.city_ids[site_city[i]], resource.id, *period) for i in binding.tolist()]
            n_rows += binding.size
    if n_rows == 0:
        return None
    y_row, y_col, y_val = opened_by(data, form, np.concatenate(y_sites), np.arange(n_rows),
                                     np.concatenate(y_periods), np.concatenate(y_coef))
    return RowBlock("site_city_cap", np.r_[np.concatenate(row_parts), y_row], np.r_[np.concatenate(col_parts), y_col],
                    np.r_[np.concatenate(val_parts), y_val], np.full(n_rows, -INF), np.zeros(n_rows),
                    lambda: list(keys))


# -- (e) dominated arcs -----------------------------------------------------------------
def dominated_arcs(data: _Data, form: Formulation) -> np.ndarray:
    """Arcs whose moves can be bounded to 0 without losing every optimum (a bool per arc).

    An arc (f, d) is *free* when no row of the model depends on d for f: f's
    type needs no site, no finite capacity row at d counts a use of f, no
    destination share counts f's residents (or there is none), and, with
    region shares, only arcs into the same region are compared. Then moving
    f's units from a free arc (f, d1) to a free arc (f, d2) leaves every row's
    activity unchanged except the objective and the budgets; when d2 costs no
    more in every period and spends no more (``r_fd``), the move keeps the plan
    feasible and costs no more. (f, d1) is dominated when such a d2 exists
    (ties: the later arc yields), so some optimum uses no dominated arc.
    """
    inst, d = data.instance, data.derived
    n = data.n_arcs
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    free = ~np.array([inst.types[k].requires_site for k in data.type_ids], dtype=bool)[data.arc_type_code]
    for block in form.rows:  # a use in a finite capacity row ties the arc to its destination
        if block.family == "capacity":
            x = form.column("x")
            on = (block.col >= x.start) & (block.col < x.stop)
            free[form.move_arc[block.col[on] - x.start]] = False
    alpha = inst.policy.max_destination_share
    if alpha is not None and alpha < 1:
        free &= data.arc_res == 0
    region = inst.cities["region"].to_numpy(dtype=object)[data.ad] if form.has_column("moved_jobs") else None
    if region is not None:
        region = np.where(data.arc_jobs > 0, region, "")
    cost = np.full((n, data.n_periods), INF)
    cost[data.mv_arc, data.mv_p] = next(b for b in form.columns if b.name == "x").cost
    spend = np.asarray(d.relocation, float)
    if inst.policy.budget is None and all(p.budget is None for p in inst.periods):
        spend = np.zeros(n)
    arcs = np.flatnonzero(free)
    order = np.argsort(data.af[arcs], kind="stable")
    arcs = arcs[order]
    bounds = np.flatnonzero(np.r_[True, data.af[arcs][1:] != data.af[arcs][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        group = arcs[a:b]
        if group.size < 2:
            continue
        c, r = cost[group], spend[group]
        # j dominates i: no dearer in any period, no more spending, same region; ties broken by position.
        le = np.all(c[:, None, :] <= c[None, :, :], axis=2) & (r[:, None] <= r[None, :])
        if region is not None:
            le &= region[group][:, None] == region[group][None, :]
        strict = np.any(c[:, None, :] < c[None, :, :], axis=2) | (r[:, None] < r[None, :])
        earlier = np.arange(group.size)[:, None] < np.arange(group.size)[None, :]
        beats = le & (strict | earlier)  # beats[j, i]: arc j dominates arc i
        np.fill_diagonal(beats, False)
        out[group[beats.any(axis=0)]] = True
    return out


def _bound_dominated_arcs(data: _Data, form: Formulation) -> None:
    """Upper bound 0 on every move of a dominated arc (:func:`dominated_arcs`); the columns stay."""
    dominated = dominated_arcs(data, form)
    if not dominated.any():
        return
    at = form.columns.index(next(b for b in form.columns if b.name == "x"))
    block: ColumnBlock = form.columns[at]
    upper = block.upper.copy()
    upper[dominated[form.move_arc]] = 0.0
    form.columns[at] = replace(block, upper=upper)


# -- (f) moved units: whole facilities as integer columns -------------------------------
def _moved_units(data: _Data, form: Formulation) -> None:
    r"""moved_units[f(, p)] = units of f moved (by the end of p); target_units: the target rows over them.

    For each facility with whole units (not splittable) that enters a target
    row, one integer column z_fp in [0, count_f] per period p of those rows,
    defined by moved_units_def[f(, p)]: z_fp - sum_{d, q<=p} x_fdq = 0. Each
    target row is then written again over them, target_units[s(, p)]:
    sum_f residents_f z_fp (+ the splittable moves and u_sp as in the row) >= T_sp.
    Proof: the definition is an equality and z_fp is a sum of integers, so
    the model's plans are exactly the plans it had, with z_fp computed from
    them; the new row is the target row with equal terms gathered. Why: in
    the spec's rows a target is a knapsack over the arcs, where a fractional
    facility can be spread over many destinations; over z it is a knapsack
    over whole facilities, where HiGHS's cover cuts apply and a branch on
    z_fp (does f move by p at all) splits the plans in two at once. The
    target rows stay, so a plan and its checks read the spec's rows.
    """
    target = form.find("target")
    if target is None or target.n_rows == 0 or data.n_moves == 0:
        return
    x = form.column("x")
    x_integer = next(b for b in form.columns if b.name == "x").integer
    keys = target.keys
    period_at = {p: i for i, p in enumerate(data.period_ids)}
    source_at = {s: i for i, s in enumerate(data.instance.sources)}
    row_period = np.array([period_at[k[1]] if data.phased else 0 for k in keys], dtype=np.int64)  # type: ignore[index]
    row_source = np.array([source_at[k[0] if data.phased else k] for k in keys], dtype=np.int64)  # type: ignore[index]
    # A target row (s, p) holds every move of s's facilities in a period q <= p: per whole-unit facility with a
    # move, the pairs (f, p) of its source's rows from its first move on, each in exactly one row.
    n_facilities, n_periods = data.count.size, data.n_periods
    first = np.full(n_facilities, n_periods, dtype=np.int64)
    for p in range(n_periods - 1, -1, -1):  # latest first, so each facility keeps its earliest (ufunc.at is slow)
        first[data.mv_f[x_integer & (data.mv_p == p)]] = p
    origin = data.origin_code(list(data.instance.sources))
    pair_f, pair_row = [], []
    for j in range(target.n_rows):
        f = np.flatnonzero((origin == row_source[j]) & (first <= row_period[j]))
        pair_f.append(f)
        pair_row.append(np.full(f.size, j, dtype=np.int64))
    z_f, z_row = np.concatenate(pair_f), np.concatenate(pair_row)
    if z_f.size == 0:
        return
    z_p = row_period[z_row]
    z = form.add_columns(ColumnBlock(
        "moved_units", np.zeros(z_f.size), data.count[z_f], np.ones(z_f.size, bool), np.zeros(z_f.size),
        _unit_keys(data, z_f, z_p), "MOVED_UNITS", 2 if data.phased else 1))
    # moved_units_def: z_fp - (every move of f in a period q <= p) = 0.
    position = np.full(n_facilities * n_periods, -1, dtype=np.int64)
    position[z_f * n_periods + z_p] = np.arange(z_f.size)
    moves = np.flatnonzero(x_integer & (first[data.mv_f] < n_periods))
    def_rows, def_cols, def_vals = [np.arange(z_f.size)], [z.start + np.arange(z_f.size)], [np.ones(z_f.size)]
    for p in range(n_periods):
        at = position[data.mv_f[moves] * n_periods + p]
        on = (at >= 0) & (data.mv_p[moves] <= p)
        def_rows.append(at[on])
        def_cols.append(x.start + moves[on])
        def_vals.append(-np.ones(int(on.sum())))
    form.add_rows(RowBlock("moved_units_def", np.concatenate(def_rows), np.concatenate(def_cols),
                           np.concatenate(def_vals), np.zeros(z_f.size), np.zeros(z_f.size),
                           _unit_keys(data, z_f, z_p)))
    # target_units: the target row's other terms as they are, its whole-unit moves gathered per facility.
    move = target.col - x.start
    keep = (move < 0) | (move >= x.stop - x.start)
    keep[~keep] = ~x_integer[move[~keep]]
    form.add_rows(RowBlock(
        "target_units", np.r_[target.row[keep], z_row], np.r_[target.col[keep], z.start + np.arange(z_f.size)],
        np.r_[target.val[keep], data.residents[z_f]], target.lower.copy(), target.upper.copy(),
        lambda: list(keys)))


def _unit_keys(data: _Data, f: np.ndarray, p: np.ndarray) -> Any:
    """Keys of moved_units columns or rows: facility id, with periods (facility id, period id)."""
    ids = data.facility_ids[f]
    if not data.phased:
        return lambda: ids.tolist()
    return _keys2(ids, np.asarray(data.period_ids, dtype=object)[p])


# -- (g) share rows over the moves ------------------------------------------------------
def _shares_over_moves(form: Formulation) -> None:
    """region_share[g] with moved_jobs replaced by its definition: the same rows wherever moved_jobs_def holds.

    moved_jobs_def reads sum_j c_j x_j - moved_jobs = 0, so moved_jobs = sum_j c_j x_j and a row
    a x + b moved_jobs >= 0 holds exactly when a x + b sum_j c_j x_j >= 0 does. moved_jobs is then in
    its definition row only (presolve removes both); HiGHS's path-aggregation cuts no longer run
    through that one continuous column shared by a row over every move (the phased national
    instance: the root bound rose about four times faster). Only region_share: a row per region, few
    by nature; destination_share has a row per destination, and restating each over every move would
    multiply the nonzeros.
    """
    share = form.find("region_share")
    if share is None or not form.has_column("moved_jobs"):
        return
    definition = form.family("moved_jobs_def")
    total = form.column("moved_jobs").start
    in_def = definition.col != total
    # moved_jobs = -(sum of the other entries) / its own coefficient (-1 as formulation._definition writes it)
    def_col, def_val = definition.col[in_def], -definition.val[in_def] / float(definition.val[~in_def][0])
    at_total = share.col == total
    rows = [share.row[~at_total]]
    cols = [share.col[~at_total]]
    vals = [share.val[~at_total]]
    for r, b in zip(share.row[at_total], share.val[at_total], strict=True):
        rows.append(np.full(def_col.size, r, dtype=np.int64))
        cols.append(def_col)
        vals.append(b * def_val)
    row, col, val = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    # one entry per (row, column): a move into g is in both parts of its row
    key = row * form.n_cols + col
    unique, where = np.unique(key, return_inverse=True)
    summed = np.bincount(where, weights=val, minlength=unique.size)
    keep = summed != 0.0
    form.replace_rows(replace(share, row=(unique // form.n_cols)[keep], col=(unique % form.n_cols)[keep],
                              val=summed[keep]))
