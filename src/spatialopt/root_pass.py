r"""The root pass: one LP relaxation before the search, for a better start and reduced-cost fixing.

Before HiGHS searches, :func:`root_pass` solves the model's LP relaxation
once (HiGHS simplex, in a session that Ctrl-C stops) and uses it twice:

- **A guided start.** A sub-MIP in which only the sites the LP opens
  (``y > 0``) or the start opens may open, every other column as in the
  model, solved from the start for at most :data:`GUIDE_SECONDS`. It only
  closes site columns, so each of its plans is a plan of the model, and it
  replaces the start when cheaper (checked against every row by
  :func:`spatialopt.heuristic.start_problems` first). Site choices are what
  the construction heuristic gets most wrong (OR-Library pmed6 and pmed11:
  its plan is 32% and 62% above the optimum) and what the LP sees best: it
  opens 15 of pmed6's 200 candidates, and the sub-MIP over them finds the
  optimum in under a second.
- **Reduced-cost fixing** (:func:`spatialopt.strengthen.fixed_bounds`)
  against the best start's cost: an integer column whose move away from its
  LP bound would cost more than the start's margin over the LP bound is held
  within reach. No plan cheaper than the start (and no plan costing the
  same) is cut off, so the optimum stays; with the optimum as the start,
  pmed11 keeps 8,380 of its 90,300 columns.

Models with no site columns get the fixing only (their sub-MIP would be the
whole model). The pass is not run on models large enough to solve in a
child process (:func:`spatialopt.stoppable.wants_child`: there the LP itself
could outrun the time limit unseen) nor on small ones
(:attr:`~spatialopt.strong_rows.Strengthening.fixing_min_integers`), and its
seconds count against the solve's time limit. Measured in
``bench/results/solve.md``; described in ``docs/extensions.md``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .heuristic import start_problems
from .session import HighsSession, Progress
from .status import SolverRun, SolveStatus
from .stoppable import StartPlan, wants_child
from .strengthen import fixed_bounds
from .tolerances import GAP_DENOMINATOR_FLOOR

#: Seconds the guided start's sub-MIP may take (and at most this share of the solve's time limit).
GUIDE_SECONDS = 10.0
GUIDE_SHARE = 0.1
#: The LP may take at most this share of the solve's time limit.
LP_SHARE = 0.2
#: Relative difference below which the search's plan and the start cost the same (HiGHS's sums differ in the last bits).
TIE = 1e-9


@dataclass
class RootPass:
    """What the root pass did: the LP bound, the start before and after, the columns it fixed, its time."""

    lp_bound: float | None = None
    start_before: float | None = None
    start_after: float | None = None
    sites_kept: int = 0  # site columns the sub-MIP could open
    tightened: int = 0
    fixed: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    def search_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The search's HiGHS options: the time limit less the pass's seconds."""
        limit = options.get("time_limit")
        if limit is None or not math.isfinite(float(limit)):
            return dict(options)
        return {**options, "time_limit": max(1.0, float(limit) - self.seconds)}

    def search_start(self, start: StartPlan | None) -> StartPlan | None:
        """The start HiGHS gets: none once columns were fixed.

        HiGHS 1.16 judges a start in its presolved model without the
        objective offset presolve made there, and fixing makes such offsets
        (a pmed customer left one arc is assigned by presolve): on pmed3 it
        logged the 4,250 start as "feasible in the reduced space: objective
        value is 4183" and ended "optimal" at 4,183, a cost no plan has. So
        the start stays out of the search and is the answer only if the
        search ends with nothing better (:meth:`settled`).
        """
        return start if not self.tightened else None

    def settled(self, run: SolverRun, matrices: Any, start: StartPlan | None,
                options: Mapping[str, Any]) -> SolverRun:
        """The search's outcome, recording the limit asked for; the start when the search has nothing better.

        The fixed model keeps every plan costing no more than the start
        (and the start itself), so its bound holds for the model too.
        """
        recorded = {**run.options, "time_limit": options["time_limit"]} if "time_limit" in options else run.options
        run = dataclasses.replace(run, options=recorded)
        if start is None or (run.status.has_solution and run.objective is not None
                             and run.objective <= start[1] + TIE * max(1.0, abs(start[1]))):
            return run  # HiGHS's plan, as good as the start or better (a tie keeps its proof)
        bounds = [b for b in (run.bound, self.lp_bound) if b is not None and math.isfinite(b)]
        bound = min(max(bounds), start[1]) if bounds else None
        v = start[0]
        return dataclasses.replace(run, status=SolveStatus.FEASIBLE, objective=start[1], bound=bound,
                                   values={"x": v[matrices.x], "y": v[matrices.y], "u": v[matrices.u]})


def root_pass(matrices: Any, start: StartPlan | None, options: Mapping[str, Any], *, guide: bool, fix: bool,
              progress: Progress | None = None) -> tuple[Any, StartPlan | None, RootPass]:
    """The model with reduced-cost bounds, the best start and what was done (see the module docstring).

    ``options`` are the solve's HiGHS options (threads, seed, gap, time
    limit); ``guide`` runs the guided start, ``fix`` the fixing. A Ctrl-C
    stops the pass where it is (``interrupted``): the model and start are
    then returned as they were, the start possibly improved.
    """
    started = time.perf_counter()
    report = RootPass(start_before=None if start is None else start[1])
    limit = float(options.get("time_limit") or math.inf)
    lp_options = {**options, "solve_relaxation": True, "time_limit": max(1.0, LP_SHARE * limit)}
    with HighsSession(matrices, lp_options) as session:
        lp = session.run()
        report.interrupted = session.interrupted
        if lp.status != SolveStatus.OPTIMAL or report.interrupted:
            return _done(matrices, start, report, started)
        solution = session.solution()
        value = np.asarray(solution.col_value, dtype=float)
        reduced = np.asarray(solution.col_dual, dtype=float)
    report.lp_bound = float(lp.objective) if lp.objective is not None else None
    if report.lp_bound is None:
        return _done(matrices, start, report, started)
    if guide and _has_sites(matrices):
        budget = min(GUIDE_SECONDS, GUIDE_SHARE * limit)
        start = _guided_start(matrices, start, value, options, budget, report, progress, started)
        if report.interrupted:
            return _done(matrices, start, report, started)
    if fix and start is not None:
        lower, upper = fixed_bounds(matrices.col_lower, matrices.col_upper, np.asarray(matrices.integer, bool),
                                    value, reduced, report.lp_bound, start[1])
        changed = (lower != matrices.col_lower) | (upper != matrices.col_upper)
        report.tightened = int(changed.sum())
        report.fixed = int((changed & (lower == upper)).sum())
        if report.tightened:
            matrices = dataclasses.replace(matrices, col_lower=lower, col_upper=upper)
    return _done(matrices, start, report, started)


def _has_sites(matrices: Any) -> bool:
    y = matrices.y
    return bool(y.stop > y.start and np.asarray(matrices.integer, bool)[y].any())


def _guided_start(matrices: Any, start: StartPlan | None, lp_value: np.ndarray, options: Mapping[str, Any],
                  budget: float, report: RootPass, progress: Progress | None, started: float) -> StartPlan | None:
    """The sub-MIP over the sites the LP or the start opens; its plan when cheaper than ``start``."""
    y = np.zeros(matrices.n_cols, dtype=bool)
    y[matrices.y] = True
    held = lp_value > 1e-6
    if start is not None:
        held |= start[0] > 1e-9
    closed = y & ~held & (matrices.col_lower <= 0)
    report.sites_kept = int((y & ~closed).sum())
    if not closed.any():
        return start  # the LP opens every candidate a little: the sub-MIP would be the model
    upper = np.where(closed, np.minimum(matrices.col_upper, 0.0), matrices.col_upper)
    sub = dataclasses.replace(matrices, col_upper=upper)
    with HighsSession(sub, {**options, "time_limit": max(1.0, budget)}) as session:
        if start is not None:
            session.set_start(start[0])
        run: SolverRun = session.run()
        report.interrupted = session.interrupted
        if run.objective is None or not run.status.has_solution:
            return start
        if start is not None and run.objective >= start[1]:
            return start
        values = np.asarray(session.solution().col_value, dtype=float)
    if start_problems(matrices, values):
        return start  # HiGHS's tolerances let through what the model's rows do not: keep the checked start
    objective = float(matrices.cost @ values)
    if progress is not None:
        bound = report.lp_bound if report.lp_bound is not None else math.nan
        progress({"objective": objective, "bound": bound,
                  "gap": (objective - bound) / max(abs(objective), GAP_DENOMINATOR_FLOOR),
                  "seconds": time.perf_counter() - started})
    return values, objective


def _done(matrices: Any, start: StartPlan | None, report: RootPass, started: float
          ) -> tuple[Any, StartPlan | None, RootPass]:
    report.start_after = None if start is None else start[1]
    report.seconds = time.perf_counter() - started
    return matrices, start, report


def wants_root_pass(matrices: Any, min_integers: int) -> bool:
    """True for a model the pass pays on: at least ``min_integers`` integer columns, small enough for this process."""
    return int(np.asarray(matrices.integer, bool).sum()) >= min_integers and not wants_child(matrices)


def stopped_run(matrices: Any, start: StartPlan | None, report: RootPass, options: Mapping[str, Any],
                version: str) -> SolverRun:
    """The solve's outcome when a Ctrl-C stopped it in the root pass: the start, if any, with the LP bound."""
    if start is None:
        return SolverRun(status=SolveStatus.LIMIT_NO_SOLUTION, objective=None, bound=report.lp_bound,
                         version=version, options=dict(options), termination="interrupted", seconds=report.seconds)
    v = start[0]
    values = {"x": v[matrices.x], "y": v[matrices.y], "u": v[matrices.u]}
    return SolverRun(status=SolveStatus.FEASIBLE, objective=start[1], bound=report.lp_bound, values=values,
                     version=version, options=dict(options), termination="interrupted", seconds=report.seconds)
