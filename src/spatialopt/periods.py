"""Plan periods in numbers (spec §3): present-value factors, milestone targets, travel minutes.

Shared by the model, the results and the derived data; plain numpy, nothing
of Pyomo or HiGHS. (The independent checker recomputes these its own way.)

Periods are ``p = 0..P-1`` here (the spec counts from 1), in the order the
instance lists them; an instance without ``[[periods]]`` has one implicit
period starting at year 0 and ending at the horizon.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .instance import Instance
from .travel import distance_matrix, timed_matrix, travel_minutes


def period_starts(instance: Instance) -> np.ndarray:
    """Years from ``base_year`` to each period's start, ``e_{p-1} - e_0`` (0 for the first)."""
    periods = instance.plan_periods
    if not instance.phased:
        return np.zeros(1)
    base = float(instance.base_year or 0)
    ends = np.array([p.end_year for p in periods], dtype=float)
    return np.r_[0.0, ends[:-1] - base]


def discount_factors(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    """``(delta_p, Y_p)`` per period: the one-off factor at the period's start and the operating factor.

    ``delta_p = (1 + rate)^-a`` and ``Y_p = sum_{t=a}^{H-1} (1 + rate)^-t`` in
    closed form ``(v^a - v^H) / (1 - v)`` with ``v = 1 / (1 + rate)``, ``a``
    the period's start and ``H = horizon_years`` (``H - a`` at rate 0), so a
    fractional horizon is defined. Without periods and at rate 0 this is
    exactly ``(1, horizon_years)``: v1.1's costs.
    """
    start = period_starts(instance)
    horizon = float(instance.horizon_years)
    rate = float(instance.discount_rate)
    if rate == 0:
        return np.ones(start.size), horizon - start
    v = 1.0 / (1.0 + rate)
    delta = v ** start
    return delta, (delta - v ** horizon) / (1.0 - v)


def milestone_targets(instance: Instance) -> dict[str, list[tuple[int, float]]]:
    """Per source: ``(period position, T_sp)`` of each target row, in period order; the last is ``T_s``."""
    periods = instance.plan_periods
    last = len(periods) - 1
    out: dict[str, list[tuple[int, float]]] = {}
    for s, source in instance.sources.items():
        rows = [(p, source.milestones[period.id] * source.target_persons)
                for p, period in enumerate(periods[:-1]) if period.id in source.milestones]
        out[s] = rows + [(last, source.target_persons)]
    return out


def facility_windows(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    """Per facility (table order): positions of its earliest and latest period."""
    n = len(instance.facilities)
    if not instance.phased:
        return np.zeros(n, np.int64), np.zeros(n, np.int64)
    at = {p.id: i for i, p in enumerate(instance.periods)}
    fac = instance.facilities
    return (np.array([at[e] for e in fac["earliest"]], dtype=np.int64),
            np.array([at[e] for e in fac["latest"]], dtype=np.int64))


def minutes(instance: Instance, a: Sequence[str] | str, b: Sequence[str] | str) -> np.ndarray:
    """``minutes(a[i], b[i])`` of spec §3 for city ids ``a`` and ``b`` (broadcast; NaN where untimed)."""
    first, second = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    rows, row_at = np.unique(first.astype(str), return_inverse=True)
    cols, col_at = np.unique(second.astype(str), return_inverse=True)
    km = distance_matrix(instance, rows.tolist(), cols.tolist())
    table = travel_minutes(instance, km, timed_matrix(instance, rows.tolist(), cols.tolist()))
    return table[row_at.reshape(first.shape), col_at.reshape(first.shape)]
