r"""The relocation model of spec §4, built in Pyomo.

Sets (indexed by instance ids)
    ARCS            eligible (facility f, destination d) pairs (spec §3)
    SITES           site candidates (type k, destination d) of types that require a site
    SOFT            sources s whose target is soft

Variables
    x[f, d]   units of facility f moved to d: integer in [0, count_f] (binary when
              count_f = 1), continuous in [0, count_f] when f's type is splittable
    y[k, d]   1 when a site of type k opens in d
    u[s]      shortfall of a soft source's target (persons), >= 0

Objective (total_cost), minimised
    sum_{f,d} c_fd x_fd + W.sites sum_{k,d} site_cost_kd y_kd
                         + W.shortfall sum_s shortfall_penalty_s u_s

Constraints
    (1)  assign[f]            sum_d x_fd <= count_f            (= when must_move)
    (2)  target[s]            sum_{f: o(f)=s} residents_f sum_d x_fd (+ u_s) >= T_s
    (3)  min_share[s, k]      sum_{f: o=s, type k} jobs_f sum_d x_fd
                                  >= share_sk * sum_{f: o=s, type k} jobs_f count_f
    (4)  capacity[r, d]       sum_f use_{f,r,d} x_fd <= cap_{d,r}   (finite caps)
    (5)  site_link[f, d]      x_fd <= count_f y_{k(f),d}       (types requiring a site)
    (6)  site_capacity[k, d]  sum_{f: type k} jobs_f x_fd <= capacity_kd y_kd   (finite)
    (7)  site_min[k, d]       sum_{f: type k} jobs_f x_fd >= min_site_jobs_k y_kd
    (8)  site_count[k]        min_sites_k <= sum_d y_kd <= max_sites_k
    (9)  budget               sum r_fd x_fd + sum site_cost_kd y_kd <= budget  (unweighted)
    (10) destination_share[d] sum_f residents_f x_fd <= alpha sum_{f,d'} residents_f x_fd'
    (11) region_share[g]      sum_{f, d in g} jobs_f x_fd >= beta_g sum_{f,d} jobs_f x_fd

For (10) and (11) the whole move is carried by an auxiliary variable,
``moved_residents`` = sum residents_f x_fd (row ``moved_residents_def``) and
``moved_jobs`` = sum jobs_f x_fd (row ``moved_jobs_def``), so that each share
row holds only its own arcs plus one term.

Rows whose left side has no variable are not built: they either hold (then
they say nothing) or cannot hold, and those are listed in
``model.trivially_infeasible`` so that the solve reports infeasibility with the
reason instead of handing HiGHS a contradiction. Constraints that cannot bind
(a share of 0 or 1, a zero target, an unlimited cap) are left out as well.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from .derive import Derived
from .instance import Instance


def build_model(instance: Instance, derived: Derived) -> pyo.ConcreteModel:
    """The Pyomo model of ``instance`` over the eligible arcs of ``derived``."""
    m = pyo.ConcreteModel(name=instance.name)
    m.trivially_infeasible = []  # reasons, in the instance's words
    fac = instance.facilities
    arc_keys = derived.arc_keys()
    site_keys = derived.site_keys()
    count = fac["count"].to_numpy(dtype=np.int64)
    jobs = fac["jobs"].to_numpy(dtype=float)
    residents = fac["residents"].to_numpy(dtype=float)
    must_move = fac["must_move"].to_numpy(dtype=bool)
    splittable = np.array([instance.types[t].splittable for t in fac["type"]], dtype=bool)
    arc_f, arc_d = derived.arc_f, derived.arc_d

    m.ARCS = pyo.Set(initialize=arc_keys, dimen=2, ordered=True)
    m.SITES = pyo.Set(initialize=site_keys, dimen=2, ordered=True)
    soft = [s for s, src in instance.sources.items() if src.soft]
    m.SOFT = pyo.Set(initialize=soft, ordered=True)

    arc_count = count[arc_f]
    arc_split = splittable[arc_f]

    def x_domain(model: pyo.ConcreteModel, f: str, d: str) -> object:
        i = arc_index[(f, d)]
        if arc_split[i]:
            return pyo.NonNegativeReals
        return pyo.Binary if arc_count[i] == 1 else pyo.NonNegativeIntegers

    arc_index = {k: i for i, k in enumerate(arc_keys)}
    m.x = pyo.Var(m.ARCS, domain=x_domain, bounds=lambda _m, f, d: (0, int(arc_count[arc_index[(f, d)]])))
    m.y = pyo.Var(m.SITES, domain=pyo.Binary)
    m.u = pyo.Var(m.SOFT, domain=pyo.NonNegativeReals)
    xs = [m.x[k] for k in arc_keys]
    ys = [m.y[k] for k in site_keys]

    def lin(coefs: Iterable[float], variables: Iterable[object], constant: float = 0.0) -> LinearExpression:
        return LinearExpression(constant=constant, linear_coefs=list(coefs), linear_vars=list(variables))

    by_facility = _group(arc_f)

    # (1) assign
    def assign_rule(model: pyo.ConcreteModel, f: str) -> object:
        i = fac_pos[f]
        arcs = by_facility.get(i, ())
        expr = lin([1.0] * len(arcs), (xs[a] for a in arcs))
        return expr == int(count[i]) if must_move[i] else expr <= int(count[i])

    fac_pos = {f: i for i, f in enumerate(derived.facility_ids)}
    assign_ids = [f for i, f in enumerate(derived.facility_ids) if i in by_facility]
    for i, f in enumerate(derived.facility_ids):
        if i not in by_facility and must_move[i] and count[i] > 0:
            m.trivially_infeasible.append(
                f"facility {f!r} must move ({count[i]} unit(s)) but has no eligible destination"
            )
    m.assign = pyo.Constraint(assign_ids, rule=assign_rule)

    # (2) target and (3) min_share
    arc_origin = fac["origin"].to_numpy(dtype=object)[arc_f]
    target_rows: dict[str, tuple[list[int], float]] = {}
    for s, src in instance.sources.items():
        arcs = np.nonzero(arc_origin == s)[0]
        if src.target_persons <= 0:
            continue
        if arcs.size == 0 and not src.soft:
            m.trivially_infeasible.append(
                f"source {s!r}: hard target {src.target_persons:,.0f} residents but none of its facilities "
                "has an eligible destination"
            )
            continue
        target_rows[s] = (arcs.tolist(), src.target_persons)

    def target_rule(model: pyo.ConcreteModel, s: str) -> object:
        arcs, target = target_rows[s]
        expr = lin(residents[arc_f[arcs]], (xs[a] for a in arcs))
        if instance.sources[s].soft:
            expr = lin([*residents[arc_f[arcs]], 1.0], [*(xs[a] for a in arcs), model.u[s]])
        return expr >= target

    m.target = pyo.Constraint(list(target_rows), rule=target_rule)

    fac_origin = fac["origin"].to_numpy(dtype=object)
    fac_type = fac["type"].to_numpy(dtype=object)
    arc_type = fac_type[arc_f]
    share_rows: dict[tuple[str, str], tuple[np.ndarray, float]] = {}
    for s, src in instance.sources.items():
        for k, share in src.min_share.items():
            members = (fac_origin == s) & (fac_type == k)
            required = share * float(np.sum(jobs[members] * count[members]))
            if required <= 0:
                continue
            arcs = np.nonzero((arc_origin == s) & (arc_type == k))[0]
            if arcs.size == 0:
                m.trivially_infeasible.append(
                    f"source {s!r}: min_share {share:g} of {k} jobs ({required:,.0f} jobs) but no {k} "
                    "facility of it has an eligible destination"
                )
                continue
            share_rows[(s, k)] = (arcs, required)
    m.min_share = pyo.Constraint(
        list(share_rows),
        rule=lambda model, s, k: lin(jobs[arc_f[share_rows[(s, k)][0]]], (xs[a] for a in share_rows[(s, k)][0]))
        >= share_rows[(s, k)][1],
    )

    # (4) capacity
    by_destination = _group(arc_d)
    capacity_rows: dict[tuple[str, str], tuple[list[int], np.ndarray, float]] = {}
    caps = instance.city_caps
    for j, resource in enumerate(instance.resources):
        cap_col = caps[resource.id].to_numpy(dtype=float)
        for d_pos, arcs in by_destination.items():
            cap = cap_col[d_pos]
            if not math.isfinite(cap):
                continue
            coefs = derived.use[arcs, j]
            keep = coefs != 0
            if not keep.any():
                continue
            capacity_rows[(resource.id, derived.city_ids[d_pos])] = (
                [a for a, k in zip(arcs, keep) if k], coefs[keep], cap
            )
    m.capacity = pyo.Constraint(
        list(capacity_rows),
        rule=lambda model, r, d: lin(capacity_rows[(r, d)][1], (xs[a] for a in capacity_rows[(r, d)][0]))
        <= capacity_rows[(r, d)][2],
    )

    # (5)-(8) sites
    site_index = {k: i for i, k in enumerate(site_keys)}
    needs_site = np.array([instance.types[t].requires_site for t in arc_type], dtype=bool)
    link_arcs = np.nonzero(needs_site)[0]
    m.site_link = pyo.Constraint(
        [arc_keys[a] for a in link_arcs],
        rule=lambda model, f, d: lin(
            [1.0, -float(count[fac_pos[f]])], [model.x[f, d], model.y[fac_type[fac_pos[f]], d]]
        )
        <= 0,
    )
    arcs_by_site: dict[tuple[str, str], list[int]] = {}
    for a in link_arcs:
        arcs_by_site.setdefault((arc_type[a], arc_keys[a][1]), []).append(int(a))

    def site_jobs(key: tuple[str, str], extra_coef: float) -> LinearExpression:
        arcs = arcs_by_site.get(key, [])
        return lin([*jobs[arc_f[arcs]], extra_coef], [*(xs[a] for a in arcs), m.y[key]])

    capacity_sites = [k for k in site_keys if math.isfinite(derived.site_capacity[site_index[k]])]
    m.site_capacity = pyo.Constraint(
        capacity_sites, rule=lambda model, k, d: site_jobs((k, d), -float(derived.site_capacity[site_index[(k, d)]])) <= 0
    )
    min_sites = [key for key in site_keys if instance.types[key[0]].min_site_jobs > 0]
    m.site_min = pyo.Constraint(
        min_sites, rule=lambda model, k, d: site_jobs((k, d), -instance.types[k].min_site_jobs) >= 0
    )
    count_rows: dict[str, tuple[list[int], float, float]] = {}
    for k, kind in instance.types.items():
        if not kind.requires_site or (kind.min_sites <= 0 and math.isinf(kind.max_sites)):
            continue
        members = [i for i, key in enumerate(site_keys) if key[0] == k]
        if not members:
            if kind.min_sites > 0:
                m.trivially_infeasible.append(f"type {k!r}: min_sites {kind.min_sites} but it has no site candidate")
            continue
        upper = kind.max_sites if math.isfinite(kind.max_sites) and kind.max_sites < len(members) else None
        lower = kind.min_sites if kind.min_sites > 0 else None
        if kind.min_sites > len(members):
            m.trivially_infeasible.append(
                f"type {k!r}: min_sites {kind.min_sites} but only {len(members)} site candidate(s)"
            )
            continue
        if lower is None and upper is None:
            continue
        count_rows[k] = (members, lower, upper)
    m.site_count = pyo.Constraint(
        list(count_rows),
        rule=lambda model, k: (
            count_rows[k][1], lin([1.0] * len(count_rows[k][0]), (ys[i] for i in count_rows[k][0])), count_rows[k][2]
        ),
    )

    # (9) budget
    budget = instance.policy.budget
    if budget is not None:
        m.budget = pyo.Constraint(expr=lin([*derived.relocation, *derived.site_cost], [*xs, *ys]) <= budget)

    # (10) destination_share and (11) region_share compare a part of the move
    # with the whole; the whole is one auxiliary variable per measure, so each
    # row stays sparse instead of repeating every arc.
    alpha = instance.policy.max_destination_share
    arc_res = residents[arc_f]
    city_pos = {c: i for i, c in enumerate(derived.city_ids)}
    if alpha is not None and alpha < 1 and len(arc_keys):
        m.moved_residents = pyo.Var(domain=pyo.NonNegativeReals)
        m.moved_residents_def = pyo.Constraint(expr=lin([*arc_res, -1.0], [*xs, m.moved_residents]) == 0)
        share_destinations = [derived.city_ids[d] for d in sorted(by_destination) if arc_res[by_destination[d]].any()]

        def share_rule(model: pyo.ConcreteModel, d: str) -> object:
            arcs = by_destination[city_pos[d]]
            return lin([*arc_res[arcs], -alpha], [*(xs[a] for a in arcs), model.moved_residents]) <= 0

        m.destination_share = pyo.Constraint(share_destinations, rule=share_rule)

    region_of = instance.cities["region"].to_numpy(dtype=object)[arc_d]
    arc_jobs = jobs[arc_f]
    regions = {g: b for g, b in instance.policy.min_region_share.items() if b > 0}
    if regions and len(arc_keys):
        m.moved_jobs = pyo.Var(domain=pyo.NonNegativeReals)
        m.moved_jobs_def = pyo.Constraint(expr=lin([*arc_jobs, -1.0], [*xs, m.moved_jobs]) == 0)

        def region_rule(model: pyo.ConcreteModel, g: str) -> object:
            arcs = np.nonzero(region_of == g)[0]
            return lin([*arc_jobs[arcs], -regions[g]], [*(xs[a] for a in arcs), model.moved_jobs]) >= 0

        m.region_share = pyo.Constraint(list(regions), rule=region_rule)

    # Objective
    w = instance.weights
    penalties = [instance.sources[s].shortfall_penalty for s in soft]
    m.total_cost = pyo.Objective(
        expr=lin(
            [*derived.cost, *(w.sites * derived.site_cost), *(w.shortfall * p for p in penalties)],
            [*xs, *ys, *(m.u[s] for s in soft)],
        ),
        sense=pyo.minimize,
    )
    return m


def _group(keys: np.ndarray) -> dict[int, list[int]]:
    """Positions of each distinct value of ``keys`` (arcs per facility, per city, ...)."""
    if keys.size == 0:
        return {}
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], keys.size]
    return {int(sorted_keys[s]): order[s:e].tolist() for s, e in zip(starts, ends)}
