"""Better starting plans by fix-and-optimise: HiGHS re-plans one part while the rest of the start stays put.

:func:`refine_start` takes a feasible start (:func:`spatialopt.heuristic.construct_start`)
and, part by part, frees the columns of that part, fixes every other move and
site at its value in the start, and lets HiGHS solve that smaller model for a
few seconds from the start. Each part's answer is a plan of the whole model
(all rows are kept), never worse than the one before, so the parts combine:

- ``"clusters"``: a national instance, part by part per city cluster — the moves
  of the facilities whose source lies in the cluster and the sites in its
  cities (the sub-plan of each cluster, solved in turn against the others);
- ``"periods"``: a phased instance (spec v2), period by period — the moves and
  site openings of one period, earlier periods fixed as planned (fix-and-optimise
  over periods, a relax-and-fix that starts from a whole plan).

:func:`refinement_for` says which one fits an instance. Every plan kept is
checked against the model's rows first (:func:`spatialopt.heuristic.start_problems`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from .derive import Derived
from .formulation import move_layout, site_layout
from .heuristic import Start, start_problems
from .instance import Instance
from .session import HighsSession, Progress

__all__ = ["REFINEMENTS", "part_columns", "refine_start", "refinement_for"]

REFINEMENTS = ("clusters", "periods")


def refinement_for(instance: Instance) -> str | None:
    """``"periods"`` for a phased instance, ``"clusters"`` when sources lie in two or more clusters, else None."""
    if instance.phased:
        return "periods"
    clusters = instance.cities["cluster"].reindex(list(instance.sources)).fillna("")
    return "clusters" if len({c for c in clusters if c}) >= 2 else None


def part_columns(instance: Instance, derived: Derived, matrices: Any, by: str) -> list[tuple[str, np.ndarray]]:
    """(part name, boolean mask over the model's columns) of each part's moves and sites, in solving order."""
    if by not in REFINEMENTS:
        raise ValueError(f"unknown refinement {by!r}; expected one of {', '.join(REFINEMENTS)}")
    arc, period = move_layout(instance, derived)
    site, site_period = site_layout(instance, derived)
    if by == "periods":
        x_part = period
        y_part = site_period
        names = [p.id for p in instance.plan_periods]
    else:
        cluster = instance.cities["cluster"].fillna("").to_numpy(dtype=object)
        city_pos = {c: i for i, c in enumerate(derived.city_ids)}
        origin = np.array([city_pos[o] for o in instance.facilities["origin"]], dtype=np.int64)
        names = sorted({str(cluster[city_pos[s]]) for s in instance.sources if cluster[city_pos[s]]})
        code = {c: i for i, c in enumerate(names)}
        x_part = np.array([code.get(c, -1) for c in cluster[origin[derived.arc_f[arc]]]], dtype=np.int64)
        y_part = np.array([code.get(c, -1) for c in cluster[np.asarray(derived.site_d, np.int64)[site]]],
                          dtype=np.int64)
    parts = []
    for i, name in enumerate(names):
        free = np.zeros(matrices.n_cols, dtype=bool)
        free[matrices.x.start:matrices.x.stop] = x_part == i
        free[matrices.y.start:matrices.y.stop] = y_part == i
        if free.any():
            parts.append((name, free))
    return parts


def refine_start(instance: Instance, derived: Derived, matrices: Any, start: Start, *, by: str,
                 seconds: float = 10.0, progress: Progress | None = None) -> Start:
    """``start`` improved part by part (see the module); at most ``seconds`` in all, one HiGHS thread.

    ``progress`` is called with each better plan, like HiGHS's own.
    """
    began = time.perf_counter()
    parts = part_columns(instance, derived, matrices, by)
    values, objective = start.values.copy(), start.objective
    # Columns that are neither moves nor sites (shortfalls, the share totals) follow whatever is free.
    aux = np.ones(matrices.n_cols, dtype=bool)
    aux[matrices.x.start:matrices.x.stop] = False
    aux[matrices.y.start:matrices.y.stop] = False
    stages = dict(start.stages)
    for n, (name, free) in enumerate(parts):
        left = seconds - (time.perf_counter() - began)
        if left <= 0.05:
            break
        open_ = free | aux
        sub = replace(matrices, col_lower=np.where(open_, matrices.col_lower, values),
                      col_upper=np.where(open_, matrices.col_upper, values))
        session = HighsSession(sub, {"time_limit": left / (len(parts) - n), "threads": 1})
        session.set_start(values)
        run = session.run()
        if not run.status.has_solution or run.objective is None or run.objective >= objective - 1e-9 * abs(objective):
            continue
        found = np.asarray(session.solution().col_value, dtype=float)
        found[matrices.integer] = np.round(found[matrices.integer])
        if start_problems(matrices, found):
            continue
        values, objective = found, float(matrices.cost @ found)
        stages[f"{by}:{name}"] = objective
        if progress is not None:
            elapsed = start.seconds + time.perf_counter() - began
            progress({"objective": objective, "bound": float("nan"), "gap": float("nan"), "seconds": elapsed})
    return Start(values, objective, start.seconds + time.perf_counter() - began, stages)
