r"""Variable fixing from reduced costs: the root LP and a known plan's cost bound integer columns.

Given the LP relaxation's optimum z (HiGHS simplex) and its reduced costs
rc_j, every point of the relaxation costs at least z + sum_j rc_j (v_j - v*_j)
(LP duality: rc_j >= 0 at a lower bound, <= 0 at an upper one). A plan
cheaper than ``upper_bound`` (the cost of a plan already known, for example
the warm start's) therefore keeps an integer column at a lower bound l with
rc_j > 0 within l + floor((upper_bound - z) / rc_j), and one at an upper
bound u with rc_j < 0 within u - floor((upper_bound - z) / -rc_j). Plans
costing exactly ``upper_bound`` are kept (a margin covers the LP's
tolerances), so an optimum is never cut off: at worst the known plan is the
optimum and stays feasible.

The bounds change in the :class:`~spatialopt.formulation.Formulation`, so
both back ends read them; no column is removed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, replace

import numpy as np

from .derive import Derived
from .formulation import Formulation, build
from .instance import Instance
from .matrix import matrices_from
from .session import pass_model, quiet_highs
from .strong_rows import DEFAULT, Strengthening, strengthened

# Reduced costs are dual feasible to HiGHS's tolerance (1e-7): allow that much per unit of range.
DUAL_TOLERANCE = 1e-7
# And a relative margin on the objective, so plans costing exactly the bound are never cut.
OBJECTIVE_MARGIN = 1e-6


@dataclass
class Fixing:
    """What reduced-cost fixing did: the LP bound, how many columns it tightened, and its time."""

    lp_bound: float | None = None
    tightened: int = 0
    fixed: int = 0  # of those, columns whose range became a single value
    seconds: float = 0.0


def lp_relaxation(form: Formulation, threads: int = 1, time_limit: float | None = None
                  ) -> tuple[float, np.ndarray, np.ndarray] | None:
    """The LP relaxation's optimum, primal values and reduced costs (column order); None unless optimal."""
    import highspy

    m = matrices_from(form)
    lp = dataclasses.replace(m, integer=np.zeros(m.n_cols, dtype=bool))
    h = quiet_highs()
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("solver", "simplex")
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    pass_model(h, lp)
    highspy.Highs.resetGlobalScheduler(True)  # a pool made for another thread count would refuse the run
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    solution = h.getSolution()
    return (float(h.getInfo().objective_function_value), np.asarray(solution.col_value, float),
            np.asarray(solution.col_dual, float))


def fixed_bounds(lower: np.ndarray, upper: np.ndarray, integer: np.ndarray, value: np.ndarray,
                 reduced: np.ndarray, lp_bound: float, upper_bound: float) -> tuple[np.ndarray, np.ndarray]:
    """New (lower, upper) per column: integer columns at a bound whose move past ``upper_bound`` costs too much."""
    span = np.where(np.isfinite(upper - lower), upper - lower, 0.0)
    if np.any(~np.isfinite(upper - lower) & (np.abs(reduced) > 0)):
        span_total = math.inf  # an unbounded column with a reduced cost: keep the LP's word out of it
    else:
        span_total = float(np.sum(span))
    room = upper_bound - lp_bound + OBJECTIVE_MARGIN * max(1.0, abs(upper_bound), abs(lp_bound))
    room += DUAL_TOLERANCE * span_total
    new_lower, new_upper = lower.copy(), upper.copy()
    if not math.isfinite(room) or room < 0:
        return new_lower, new_upper
    at_lower = integer & (reduced > DUAL_TOLERANCE) & (np.abs(value - lower) <= 1e-9 * np.maximum(1, np.abs(lower)))
    at_upper = integer & (reduced < -DUAL_TOLERANCE) & np.isfinite(upper) & (
        np.abs(value - upper) <= 1e-9 * np.maximum(1, np.abs(upper)))
    steps = np.floor(room / np.abs(reduced[at_lower]))
    new_upper[at_lower] = np.minimum(upper[at_lower], lower[at_lower] + steps)
    steps = np.floor(room / np.abs(reduced[at_upper]))
    new_lower[at_upper] = np.maximum(lower[at_upper], upper[at_upper] - steps)
    return new_lower, new_upper


def fix_by_reduced_costs(form: Formulation, upper_bound: float, threads: int = 1,
                         time_limit: float | None = None) -> tuple[Formulation, Fixing]:
    """``form`` with integer columns bounded by reduced costs against ``upper_bound`` (see the module doc)."""
    started = time.perf_counter()
    report = Fixing()
    if not math.isfinite(upper_bound) or form.n_cols == 0:
        return form, report
    relaxed = lp_relaxation(form, threads, time_limit)
    if relaxed is None:
        report.seconds = time.perf_counter() - started
        return form, report
    lp_bound, value, reduced = relaxed
    report.lp_bound = lp_bound
    lower = np.concatenate([b.lower for b in form.columns])
    upper = np.concatenate([b.upper for b in form.columns])
    integer = np.concatenate([b.integer for b in form.columns])
    new_lower, new_upper = fixed_bounds(lower, upper, integer, value, reduced, lp_bound, upper_bound)
    changed = (new_lower != lower) | (new_upper != upper)
    report.tightened = int(changed.sum())
    report.fixed = int((changed & (new_lower == new_upper)).sum())
    out = form.copy()
    start = 0
    for i, block in enumerate(form.columns):
        stop = start + block.size
        if changed[start:stop].any():
            out.columns[i] = replace(block, lower=new_lower[start:stop], upper=new_upper[start:stop])
        start = stop
    report.seconds = time.perf_counter() - started
    return out, report


def strong_formulation(instance: Instance, derived: Derived, options: Strengthening = DEFAULT,
                       upper_bound: float | None = None, threads: int = 1) -> tuple[Formulation, Fixing]:
    """The spec's model with the strengthenings of ``options``; reduced-cost fixing needs ``upper_bound``."""
    form = strengthened(build(instance, derived), options)
    if options.reduced_cost_fixing and upper_bound is not None and form.n_cols:
        integers = sum(int(b.integer.sum()) for b in form.columns)
        if integers >= options.fixing_min_integers:
            return fix_by_reduced_costs(form, upper_bound, threads)
    return form, Fixing()
