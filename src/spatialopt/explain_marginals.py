"""Marginal values of a plan: the LP with the integer decisions fixed, and its row duals in planning words.

Every integer column (whole-unit moves, sites) is fixed at the plan's value
and made continuous; what is left (splittable moves, shortfalls, the share
totals) is a linear programme whose duals say what one more unit of a rule's
right-hand side is worth: HiGHS's ``row_dual`` of a minimisation is the change
of the objective per unit increase of the row's active bound. Each binding row
is stated as a change a planner can make ("one more unit of cap_residents in
langfang") and its effect on the cost (negative: it saves). The values hold
locally: for small changes, with the sites and the whole-unit moves as they
are. On a pure LP instance (every type splittable, no sites) they are the
model's own marginal values.

A plan with periods (spec v2) has rows per period: a target per milestone
(keyed source and period), caps by period (keyed resource, city and period)
and a budget per period (``period_budget``); their values are named with
their period and carry it in the ``period`` column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from .derive import Derived
from .formulation import build
from .instance import Instance

LOCAL_NOTE = ("These values hold locally: for small changes, with the sites opened and the whole-unit moves "
              "fixed as in the plan (only splittable moves and shortfalls may adjust). A larger change may "
              "make another plan better.")
DUAL_TOL = 1e-9  # a dual smaller than this (relative to the objective's scale) is not binding
ACTIVE_TOL = 1e-6  # a row within this (relative, floor 1) of its bound is at the bound

COLUMNS = ["family", "subject", "city", "resource", "type", "period", "change", "effect", "per", "text"]


def fixed_lp_duals(instance: Instance, derived: Derived, units: np.ndarray, opened: np.ndarray,
                   options: Mapping[str, Any]) -> tuple[pd.DataFrame, float | None]:
    """The binding rows of the LP with integers fixed at the plan: one row each, and the LP's objective."""
    from .matrix import matrices_from
    from .session import HighsSession

    form = build(instance, derived)
    if form.n_cols == 0 or form.trivially_infeasible:
        return pd.DataFrame(columns=COLUMNS), None
    m = matrices_from(form)
    lower, upper = m.col_lower.copy(), m.col_upper.copy()
    fixed = np.zeros(m.n_cols, dtype=bool)
    fixed[m.x] = m.integer[m.x]
    fixed[m.y] = True
    values = np.zeros(m.n_cols)
    values[m.x], values[m.y] = units, np.asarray(opened, float)
    lower[fixed] = upper[fixed] = values[fixed]
    lp = replace(m, col_lower=lower, col_upper=upper, integer=np.zeros(m.n_cols, dtype=bool))
    session = HighsSession(lp, {k: v for k, v in options.items() if k != "mip_rel_gap"})
    run = session.run()
    if not run.status.has_solution:
        return pd.DataFrame(columns=COLUMNS), None
    solution = session.solution()
    dual = np.asarray(solution.row_dual, float)
    activity = np.asarray(solution.row_value, float)
    scale = max(1.0, abs(run.objective or 0.0))
    # A row whose every column is fixed only restates the plan: its dual says nothing.
    free = np.r_[0, np.cumsum(~fixed[m.a_index])]
    has_free = free[m.a_start[1:]] - free[m.a_start[:-1]] > 0
    n_sites = len(derived.site_keys())
    # ``opened`` is per site column: with periods, each candidate in each period (site-major)
    per_site = np.asarray(opened, float).reshape(n_sites, -1).sum(axis=1) if n_sites else np.zeros(0)
    open_sites = {key for key, o in zip(derived.site_keys(), per_site.tolist()) if o > 0}
    rows = []
    for family, where in m.family_rows.items():
        words = WORDS.get(family)
        if words is None:
            continue
        block = form.family(family)
        for i, key in enumerate(block.keys):
            r = where.start + i
            y = float(dual[r])
            if abs(y) <= DUAL_TOL * scale or not has_free[r]:
                continue
            if family in ("site_capacity", "site_min") and key not in open_sites:
                continue
            lo, up = float(m.row_lower[r]), float(m.row_upper[r])
            near = ACTIVE_TOL * max(1.0, abs(activity[r]))
            at_lower = np.isfinite(lo) and abs(activity[r] - lo) <= near
            at_upper = np.isfinite(up) and abs(activity[r] - up) <= near
            if not (at_lower or at_upper):
                continue
            rows.append(words(instance, key, y))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame, run.objective


def _money(instance: Instance, value: float) -> str:
    unit = f" {instance.cost_unit}" if instance.cost_unit else ""
    return f"{abs(value):,.6g}{unit}"


def _effect(instance: Instance, effect: float) -> str:
    return f"costs {_money(instance, effect)} more" if effect > 0 else f"saves {_money(instance, effect)}"


def _row(family: str, subject: str, change: str, effect: float, per: str, text: str, *, city: str = "",
         resource: str = "", type_: str = "", period: str = "") -> dict[str, Any]:
    return {"family": family, "subject": subject, "city": city, "resource": resource, "type": type_, "period": period,
            "change": change, "effect": effect, "per": per, "text": text}


def _target(instance: Instance, key: Any, y: float) -> dict[str, Any]:
    # with periods the key is (source, period id): the milestone (or the final target) of that period
    s, period = key if isinstance(key, tuple) else (key, "")
    change = f"one more resident moved out of {s}" + (f" by the end of {period}" if period else "")
    return _row("target", f"{s}/{period}" if period else str(s), change, y, "resident",
                f"{change} {_effect(instance, y)}", city=str(s), period=str(period))


def _capacity(instance: Instance, key: Any, y: float) -> dict[str, Any]:
    # with periods the key is (resource, city, period id): the last period's cap, or cap_by_period before it
    r, d, period = key if len(key) == 3 else (*key, "")
    column = next(res.cap for res in instance.resources if res.id == r)
    if period and period != instance.plan_periods[-1].id:
        change = f"one more unit of {column} in {d} by the end of {period} (cap_by_period)"
    else:
        change = f"one more unit of {column} in {d}" + (f" (period {period})" if period else "")
    return _row("capacity", f"{r}/{d}/{period}" if period else f"{r}/{d}", change, y, f"unit of {column}",
                f"{change} {_effect(instance, y)}", city=str(d), resource=str(r), period=str(period))


def _site_capacity(instance: Instance, key: Any, y: float) -> dict[str, Any]:
    k, d = key
    change = f"one more job of capacity at the {k} site in {d}"
    return _row("site_capacity", f"{k}/{d}", change, y, "job", f"{change} {_effect(instance, y)}", city=str(d),
                type_=str(k))


def _site_min(instance: Instance, key: Any, y: float) -> dict[str, Any]:
    k, d = key
    effect = -y  # one job less of the minimum lowers the row's lower bound
    change = f"one job less of min_site_jobs at the {k} site in {d}"
    return _row("site_min", f"{k}/{d}", change, effect, "job", f"{change} {_effect(instance, effect)}",
                city=str(d), type_=str(k))


def _budget(instance: Instance, _key: Any, y: float) -> dict[str, Any]:
    unit = instance.cost_unit or "cost unit"
    change = f"one more {unit} of budget"
    return _row("budget", "budget", change, y, unit, f"{change} {_effect(instance, y)}")


def _period_budget(instance: Instance, period: Any, y: float) -> dict[str, Any]:
    unit = instance.cost_unit or "cost unit"
    change = f"one more {unit} of budget in period {period}"
    return _row("period_budget", str(period), change, y, unit, f"{change} {_effect(instance, y)}",
                period=str(period))


def _min_share(instance: Instance, key: Any, y: float) -> dict[str, Any]:
    s, k = key
    change = f"one more {k} job required to leave {s} (min_share)"
    return _row("min_share", f"{s}/{k}", change, y, "job", f"{change} {_effect(instance, y)}", city=str(s),
                type_=str(k))


def _destination_share(instance: Instance, d: Any, y: float) -> dict[str, Any]:
    change = f"one more resident allowed into {d} above max_destination_share"
    return _row("destination_share", str(d), change, y, "resident", f"{change} {_effect(instance, y)}", city=str(d))


def _region_share(instance: Instance, g: Any, y: float) -> dict[str, Any]:
    effect = -y  # one job less required lowers the row's lower bound
    change = f"one job less required in region {g} (min_region_share)"
    return _row("region_share", str(g), change, effect, "job", f"{change} {_effect(instance, effect)}")


WORDS: dict[str, Callable[[Instance, Any, float], dict[str, Any]]] = {
    "target": _target, "capacity": _capacity, "site_capacity": _site_capacity, "site_min": _site_min,
    "budget": _budget, "period_budget": _period_budget, "min_share": _min_share, "destination_share": _destination_share,
    "region_share": _region_share,
}
