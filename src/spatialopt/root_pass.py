r"""The LP relaxation before the search: a whole optimum is the answer; else a better start and reduced-cost fixing.

:func:`solve_relaxation` solves the model's LP relaxation once (HiGHS
simplex, presolve off, in a session that Ctrl-C stops); the solve path does
it first of all (the LP first, :mod:`spatialopt.api`), and when the LP's own
point is a plan (:func:`whole_plan`) its bound proves it and nothing else
runs. Otherwise, before HiGHS searches, :func:`root_pass` uses that LP (or
solves it, in a child process) three ways:

- **Guided starts.** Restricted copies of the model, each solved for
  what is left of :data:`GUIDE_SECONDS`; each only narrows column bounds, so
  every plan of one is a plan of the model, and it replaces the start when
  cheaper (checked against every row by
  :func:`spatialopt.heuristic.start_problems` first).
  *Around the LP* (RENS, first): each integer column between the integers
  around its LP value. Where the LP leaves few columns fractional it is a
  small MIP: on the generated 3,000 x 400 instance (1.2M columns) 10 are,
  and its plan is within 0.09% of the LP bound, against 2.7% for the
  heuristic's; on china-2035-phased 173 are, and its optimum (48,025 against
  the heuristic's 50,621) takes about 15 s.
  *Split facilities freed*, when the box around the LP holds no plan: the
  same box, but every move of a facility the LP splits back to its whole
  range (on the sited 3,000 x 400 instance the box is infeasible; freeing
  its 24 split facilities gives a plan 0.59% above the LP bound in 4 s).
  *Sites of the LP*: only the sites the LP opens (``y > 0``) or the start
  opens may open. Site choices are what the construction heuristic gets most
  wrong (OR-Library pmed6 and pmed11: its plan is 32% and 62% above the
  optimum) and what the LP sees best: it opens 15 of pmed6's 200
  candidates, and the sub-MIP over them finds the optimum in under a second.
- **A start the LP bound proves** within the asked gap ends the solve
  (:meth:`RootPass.proves`, :func:`proved_run`): no search.
- **Reduced-cost fixing** (:func:`spatialopt.strengthen.fixed_bounds`)
  against the best start's cost: an integer column whose move away from its
  LP bound would cost more than the start's margin over the LP bound is held
  within reach. No plan cheaper than the start (and no plan costing the
  same) is cut off, so the optimum stays; with the optimum as the start,
  pmed11 keeps 8,380 of its 90,300 columns.
- **A search without HiGHS's sub-MIPs** where they would re-find the start
  (:meth:`RootPass.search_heuristics`): the start within :data:`NEAR_BOUND`
  of the LP bound and at least :data:`MANY_FRACTIONAL` columns fractional.

The pass runs where the search runs: in this process, or for a model large
enough to solve in a child process (:func:`spatialopt.stoppable.wants_child`)
in that child, before the search, where the parent's watch keeps the time
limit and Ctrl-C for it as for the search (each better start is announced
there like the search's plans). It is not run on small models
(:attr:`~spatialopt.strong_rows.Strengthening.fixing_min_integers`), and its
seconds count against the solve's time limit. Measured in
``bench/results/solve-root-pass.md`` and ``bench/results/solve-3000x400-root-pass.md``;
described in ``docs/extensions.md``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .heuristic import start_problems
from .session import HighsSession, Progress, StartPlan
from .status import SolverRun, SolveStatus
from .strengthen import fixed_bounds
from .tolerances import DEFAULT_MIP_ABS_GAP, DEFAULT_MIP_REL_GAP, GAP_DENOMINATOR_FLOOR

#: A better start's column values and numbers; a new HiGHS session (see root_pass).
PlanHook = Callable[[np.ndarray, dict[str, float]], None]
SessionHook = Callable[[HighsSession], None]
#: Seconds the guided starts' sub-MIPs may take together (and at most this share of the solve's time limit).
GUIDE_SECONDS = 5.0
GUIDE_SHARE = 0.1
#: The LP may take at most this share of the solve's time limit.
LP_SHARE = 0.2
#: An integer column's LP value this close to a whole number counts as whole (HiGHS's own
#: ``mip_feasibility_tolerance``); the rounded point must still keep every row (:func:`whole_plan`).
WHOLE = 1e-6
#: Relative difference below which the search's plan and the start cost the same (HiGHS's sums differ in the last bits).
TIE = 1e-9
#: HiGHS's sub-MIP heuristics, off in the search after the pass when it would spend them re-finding the start
#: (:meth:`RootPass.search_heuristics`).
SUB_MIP_HEURISTICS = ("mip_heuristic_run_rins", "mip_heuristic_run_rens", "mip_heuristic_run_root_reduced_cost")
#: The start is this close to the LP bound (relative, as the gap) ...
NEAR_BOUND = 0.01
#: ... and the LP leaves at least this many integer columns fractional: then the sub-MIPs are off.
MANY_FRACTIONAL = 100


@dataclass
class RootPass:
    """What the root pass did: the LP bound, the columns it fixed, its time."""

    lp_bound: float | None = None
    fractional: int = 0  # integer columns the LP leaves fractional
    sites_kept: int = 0  # site columns the sites-of-the-LP sub-MIP could open
    tightened: int = 0
    fixed: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    def proves(self, start: StartPlan | None, options: Mapping[str, Any]) -> bool:
        """True when the LP bound proves ``start`` optimal within the asked gap (relative or absolute, as
        HiGHS reads ``mip_rel_gap`` and ``mip_abs_gap``): then no search is needed (:func:`proved_run`)."""
        if start is None or self.lp_bound is None or not math.isfinite(self.lp_bound):
            return False
        excess = max(0.0, float(start[1]) - self.lp_bound)
        relative = excess / max(abs(float(start[1])), GAP_DENOMINATOR_FLOOR)
        return relative <= float(options.get("mip_rel_gap", DEFAULT_MIP_REL_GAP)) \
            or excess <= float(options.get("mip_abs_gap", DEFAULT_MIP_ABS_GAP))

    def search_options(self, options: Mapping[str, Any], start: StartPlan | None) -> dict[str, Any]:
        """The search's HiGHS options: the time limit less the pass's seconds, and :meth:`search_heuristics`."""
        return less_time(self.search_heuristics(options, start), self.seconds)

    def search_heuristics(self, options: Mapping[str, Any], start: StartPlan | None) -> dict[str, Any]:
        """``options`` with HiGHS's RINS, RENS and root reduced-cost sub-MIPs (:data:`SUB_MIP_HEURISTICS`) off when
        ``start`` is within :data:`NEAR_BOUND` of the LP bound and the LP left at least :data:`MANY_FRACTIONAL`
        integer columns fractional; an option the caller set stays as set.

        Once columns are fixed the search gets no start (:meth:`search_start`). Where the LP splits many
        columns (OR-Library pmed16 and pmed17: about 800 of 160,400) the sub-MIPs are large and spend half the
        search re-finding a plan the pass has, while the work left is the proof: without them pmed16 took
        42.7 s instead of 70.8 s. Where the LP splits a few (the generated 3,000 x 400 instance: 10 of 1.2M,
        the start 0.03% above the LP bound) they are small and find the plans the search still needs: without
        them it took 270 s instead of 36 s (``docs/extensions.md``, *The root pass*).
        """
        if self.fractional < MANY_FRACTIONAL or not self.proves(start, {"mip_rel_gap": NEAR_BOUND, "mip_abs_gap": 0.0}):
            return dict(options)
        return {**dict.fromkeys(SUB_MIP_HEURISTICS, False), **options}

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
                             and not cheaper(start[1], run.objective)):
            return run  # HiGHS's plan, as good as the start or better (a tie keeps its proof)
        bounds = [b for b in (run.bound, self.lp_bound) if b is not None and math.isfinite(b)]
        bound = min(max(bounds), start[1]) if bounds else None
        return dataclasses.replace(run, status=SolveStatus.FEASIBLE, objective=start[1], bound=bound,
                                   values=_group_values(matrices, start[0]))


@dataclass
class Relaxation:
    """The model's LP relaxation as solved once (:func:`solve_relaxation`); ``bound`` None unless optimal."""

    bound: float | None = None
    value: np.ndarray | None = None
    reduced: np.ndarray | None = None
    seconds: float = 0.0
    interrupted: bool = False


def solve_relaxation(matrices: Any, options: Mapping[str, Any], *,
                     on_session: SessionHook | None = None) -> Relaxation:
    """The LP relaxation of ``matrices`` (HiGHS simplex, in a session a Ctrl-C stops), within :data:`LP_SHARE`
    of the time limit.

    HiGHS's presolve is off: on every model measured the LP was faster without it (cap131 3 ms against 8 ms,
    china-2035 27 ms against 51 ms, gen-100k 92 ms against 366 ms; ``docs/extensions.md``, *The LP first*).
    """
    started = time.perf_counter()
    limit = float(options.get("time_limit") or math.inf)
    lp_options = {**options, "solve_relaxation": True, "presolve": "off",
                  "time_limit": min(limit, max(1.0, LP_SHARE * limit))}
    out = Relaxation()
    with HighsSession(matrices, lp_options) as session:
        if on_session is not None:
            on_session(session)
        lp = session.run()
        out.interrupted = session.interrupted
        if lp.status == SolveStatus.OPTIMAL and lp.objective is not None and not out.interrupted:
            solution = session.solution()
            out.bound = float(lp.objective)
            out.value = np.asarray(solution.col_value, dtype=float)
            out.reduced = np.asarray(solution.col_dual, dtype=float)
    out.seconds = time.perf_counter() - started
    return out


def whole_plan(matrices: Any, relaxation: Relaxation) -> StartPlan | None:
    """The LP's own point as a plan, when every integer column is whole in it (within :data:`WHOLE`) and, those
    rounded, it keeps every row (:func:`spatialopt.heuristic.start_problems`); None otherwise.

    Such a plan costs the LP bound (give or take the rounding), so the bound proves it optimal: OR-Library
    cap131-134, pmed1, pmed4, pmed5, the tutorial, gen-10k and gen-100k end here.
    """
    if relaxation.value is None or fractional(matrices, relaxation.value).any():
        return None
    integer = np.asarray(matrices.integer, bool)
    values = relaxation.value.copy()
    values[integer] = np.round(values[integer])
    if start_problems(matrices, values):
        return None
    return values, float(np.asarray(matrices.cost, float) @ values)


def fractional(matrices: Any, value: np.ndarray) -> np.ndarray:
    """The integer columns more than :data:`WHOLE` from a whole number in ``value`` (a mask over every column)."""
    return np.asarray(matrices.integer, bool) & (np.abs(value - np.round(value)) > WHOLE)


def root_pass(matrices: Any, start: StartPlan | None, options: Mapping[str, Any], *, guide: bool, fix: bool,
              progress: Progress | None = None, on_plan: PlanHook | None = None,
              on_session: SessionHook | None = None,
              relaxation: Relaxation | None = None) -> tuple[Any, StartPlan | None, RootPass]:
    """The model with reduced-cost bounds, the best start and what was done (see the module docstring).

    ``options`` are the solve's HiGHS options (threads, seed, gap, time
    limit); ``guide`` runs the guided starts, ``fix`` the fixing. Each better
    start goes to ``progress`` (its numbers) and ``on_plan`` (its column
    values too); ``on_session`` sees each HiGHS session before it runs (a
    child process stops it on its parent's word). A Ctrl-C stops the pass
    where it is (``interrupted``): the model and start are then returned as
    they were, the start possibly improved. ``relaxation``: the model's LP already solved
    (:func:`solve_relaxation`), not solved again; the pass's seconds are then its own work after it. When
    the LP's own point is a plan (:func:`whole_plan`) cheaper than the start, it is the start, and when
    the LP bound proves the start the pass ends there.
    """
    started = time.perf_counter()
    report = RootPass()
    if relaxation is None:
        relaxation = solve_relaxation(matrices, options, on_session=on_session)
    report.interrupted = relaxation.interrupted
    report.lp_bound = relaxation.bound
    if relaxation.bound is None or relaxation.value is None or relaxation.reduced is None or report.interrupted:
        return _done(matrices, start, report, started)
    value, reduced, lp_bound = relaxation.value, relaxation.reduced, relaxation.bound
    report.fractional = int(fractional(matrices, value).sum())
    whole = whole_plan(matrices, relaxation) if not report.fractional else None
    if whole is not None and (start is None or cheaper(whole[1], start[1])):
        start = whole
        stats = _stats(whole[1], lp_bound, started)
        if progress is not None:
            progress(dict(stats))
        if on_plan is not None:
            on_plan(whole[0], stats)
    if report.proves(start, options):
        return _done(matrices, start, report, started)  # the LP's own point is a plan: nothing left to do
    if guide:
        budget = min(GUIDE_SECONDS, GUIDE_SHARE * float(options.get("time_limit") or math.inf))
        found = _Guide(matrices, options, budget, report, started, progress, on_plan, on_session)
        # Rounding first: where the LP leaves few columns fractional it is small and quick (china-2035-phased:
        # 173 free columns, its optimum in 15 s, where the sites sub-MIP found nothing in 30 s).
        start = found.better(_around_the_lp(matrices, value), start)
        if not found.had_plan and not report.interrupted:
            # the box around the LP holds no plan (or none in time): the facilities the LP splits get every
            # destination back (gen-3000x400-sited: a plan 0.59% above the LP bound in 4 s, where the box is
            # infeasible and the heuristic's plan 8.5% above)
            widened = _split_facilities_freed(matrices, value)
            if widened is not None:
                start = found.better(widened, start)
        restricted = _sites_of_the_lp(matrices, value, start, report)
        if restricted is not None and not report.interrupted:
            start = found.better(restricted, start)
        if report.interrupted:
            return _done(matrices, start, report, started)
    if fix and start is not None:
        lower, upper = fixed_bounds(matrices.col_lower, matrices.col_upper, np.asarray(matrices.integer, bool),
                                    value, reduced, lp_bound, start[1])
        changed = (lower != matrices.col_lower) | (upper != matrices.col_upper)
        report.tightened = int(changed.sum())
        report.fixed = int((changed & (lower == upper)).sum())
        if report.tightened:
            matrices = dataclasses.replace(matrices, col_lower=lower, col_upper=upper)
    return _done(matrices, start, report, started)


def _sites_of_the_lp(matrices: Any, lp_value: np.ndarray, start: StartPlan | None,
                     report: RootPass) -> Any | None:
    """The model with only the sites the LP or the start opens; None without site columns or when the LP opens all."""
    y = np.zeros(matrices.n_cols, dtype=bool)
    y[matrices.y] = True
    y &= np.asarray(matrices.integer, bool)
    if not y.any():
        return None
    held = lp_value > 1e-6
    if start is not None:
        held |= start[0] > 1e-9
    closed = y & ~held & (matrices.col_lower <= 0)
    report.sites_kept = int((y & ~closed).sum())
    if not closed.any():
        return None  # the LP opens every candidate a little: this sub-MIP would be the model
    return dataclasses.replace(matrices, col_upper=np.where(closed, np.minimum(matrices.col_upper, 0.0),
                                                            matrices.col_upper))


def _around_the_lp(matrices: Any, lp_value: np.ndarray) -> Any:
    """The model with each integer column held between the integers around its LP value (RENS). With every
    integer column at an integer in the LP, what is left is an LP whose optimum is the LP's: a plan."""
    integer = np.asarray(matrices.integer, bool)
    lower = np.where(integer, np.maximum(matrices.col_lower, np.floor(lp_value + 1e-6)), matrices.col_lower)
    upper = np.where(integer, np.minimum(matrices.col_upper, np.ceil(lp_value - 1e-6)), matrices.col_upper)
    return dataclasses.replace(matrices, col_lower=lower, col_upper=np.maximum(upper, lower))


def _split_facilities_freed(matrices: Any, lp_value: np.ndarray) -> Any | None:
    """RENS widened: the box around the LP, but every move column of a facility with a fractional move in the LP
    back to its whole range (its ``assign`` row's columns), and the integer columns other than moves and sites
    (definitions from the moves) free within their bounds; None without assign rows or a fractional move.

    A facility the LP splits between destinations (or between moving and staying) may then go anywhere it
    is eligible to, with every other move and every site as the LP has them: a small MIP over a few
    facilities' arcs, which holds plans where the box does not (the box allows a split facility only the
    destinations the LP splits it between).
    """
    rows = matrices.family_rows.get("assign")
    if rows is None or rows.stop <= rows.start:
        return None
    integer = np.asarray(matrices.integer, bool)
    is_move = np.zeros(matrices.n_cols, dtype=bool)
    is_move[matrices.x] = True
    split = integer & is_move & (np.abs(lp_value - np.round(lp_value)) > 1e-6)
    if not split.any():
        return None
    first, last = int(matrices.a_start[rows.start]), int(matrices.a_start[rows.stop])
    cols = np.asarray(matrices.a_index[first:last], dtype=np.int64)
    row_of = np.repeat(np.arange(rows.stop - rows.start), np.diff(matrices.a_start[rows.start:rows.stop + 1]))
    hit = np.unique(row_of[split[cols]])
    freed = np.zeros(matrices.n_cols, dtype=bool)
    freed[cols[np.isin(row_of, hit)]] = True
    is_site = np.zeros(matrices.n_cols, dtype=bool)
    is_site[matrices.y] = True
    freed |= integer & ~is_move & ~is_site
    box = _around_the_lp(matrices, lp_value)
    return dataclasses.replace(box, col_lower=np.where(freed, matrices.col_lower, box.col_lower),
                               col_upper=np.where(freed, matrices.col_upper, box.col_upper))


class _Guide:
    """Runs restricted copies of the model (each plan of one is a plan of the model) for the better start."""

    def __init__(self, matrices: Any, options: Mapping[str, Any], budget: float, report: RootPass, started: float,
                 progress: Progress | None, on_plan: PlanHook | None, on_session: SessionHook | None) -> None:
        self.matrices, self.options, self.report, self.started = matrices, options, report, started
        self.deadline = time.perf_counter() + budget
        self.progress, self.on_plan, self.on_session = progress, on_plan, on_session
        self.had_plan = False  # the last restricted copy run had a plan (cheaper than the start or not)

    def better(self, restricted: Any, start: StartPlan | None) -> StartPlan | None:
        """``restricted``'s best plan within what is left of the budget, when it is cheaper than ``start``."""
        self.had_plan = False
        left = self.deadline - time.perf_counter()
        if left <= 0.05:
            return start
        held = start is not None and bool(np.all(start[0] >= restricted.col_lower - 1e-9)
                                          and np.all(start[0] <= restricted.col_upper + 1e-9))
        with HighsSession(restricted, {**self.options, "time_limit": max(0.1, left)}) as session:
            if self.on_session is not None:
                self.on_session(session)
            if held and start is not None:
                session.set_start(start[0])
            run: SolverRun = session.run()
            self.report.interrupted = session.interrupted
            if run.objective is None or not run.status.has_solution:
                return start
            self.had_plan = True
            if start is not None and run.objective >= start[1]:
                return start
            values = np.asarray(session.solution().col_value, dtype=float)
        if start_problems(self.matrices, values):
            return start  # HiGHS's tolerances let through what the model's rows do not: keep the checked start
        objective = float(self.matrices.cost @ values)
        if start is not None and objective >= start[1]:
            return start
        stats = _stats(objective, self.report.lp_bound, self.started)
        if self.progress is not None:
            self.progress(dict(stats))
        if self.on_plan is not None:
            self.on_plan(values, stats)
        return values, objective


def _stats(objective: float, bound: float | None, started: float) -> dict[str, float]:
    """A better start's numbers as ``progress`` takes them (the LP bound, the gap to it, seconds since ``started``)."""
    lp = bound if bound is not None else math.nan
    return {"objective": objective, "bound": lp, "gap": (objective - lp) / max(abs(objective), GAP_DENOMINATOR_FLOOR),
            "seconds": time.perf_counter() - started}


def _done(matrices: Any, start: StartPlan | None, report: RootPass, started: float
          ) -> tuple[Any, StartPlan | None, RootPass]:
    report.seconds = time.perf_counter() - started
    return matrices, start, report


def less_time(options: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """``options`` with ``seconds`` taken from a finite time limit (one second at least left, or the whole limit
    when it is shorter: a limit is never lengthened)."""
    limit = options.get("time_limit")
    if limit is None or not math.isfinite(float(limit)):
        return dict(options)
    return {**options, "time_limit": max(min(1.0, float(limit)), float(limit) - seconds)}


def cheaper(objective: float, than: float) -> bool:
    """``objective`` is below ``than`` by more than HiGHS's last-bit differences (:data:`TIE`); anything
    finite is cheaper than no plan (``than`` infinite)."""
    if math.isinf(than):
        return objective < than
    return objective < than - TIE * max(1.0, abs(than))


def _group_values(matrices: Any, values: np.ndarray) -> dict[str, np.ndarray]:
    """A plan's column values as the move, site and shortfall groups (``SolverRun.values``)."""
    return {"x": values[matrices.x], "y": values[matrices.y], "u": values[matrices.u]}


def improving_only(progress: Progress | None, start: StartPlan | None) -> Progress | None:
    """``progress`` told only of plans better than ``start`` and than each other (HiGHS searches a fixed
    model without the start, and its first plans may cost more than the start the terminal has shown)."""
    if progress is None or start is None:
        return progress
    best = [float(start[1])]

    def told(stats: dict[str, float]) -> None:
        if cheaper(stats["objective"], best[0]):
            best[0] = stats["objective"]
            progress(stats)

    return told


def wants_root_pass(matrices: Any, min_integers: int) -> bool:
    """True for a model the pass pays on: at least ``min_integers`` integer columns."""
    return int(np.asarray(matrices.integer, bool).sum()) >= min_integers


def proved_run(matrices: Any, start: StartPlan, report: RootPass, options: Mapping[str, Any],
               version: str, termination: str = "proved by the root pass's LP bound") -> SolverRun:
    """The solve's outcome when the LP bound proves the best start optimal within the gap (:meth:`RootPass.proves`)."""
    # the rounded plan may cost a last bit less than the LP said: the bound never above the plan
    bound = min(report.lp_bound, start[1]) if report.lp_bound is not None else None
    return SolverRun(status=SolveStatus.OPTIMAL, objective=start[1], bound=bound,
                     values=_group_values(matrices, start[0]), version=version, options=dict(options),
                     termination=termination, seconds=report.seconds)


def stopped_run(matrices: Any, start: StartPlan | None, report: RootPass, options: Mapping[str, Any],
                version: str) -> SolverRun:
    """The solve's outcome when a Ctrl-C stopped it in the root pass: the start, if any, with the LP bound."""
    if start is None:
        return SolverRun(status=SolveStatus.LIMIT_NO_SOLUTION, objective=None, bound=report.lp_bound,
                         version=version, options=dict(options), termination="interrupted", seconds=report.seconds)
    return SolverRun(status=SolveStatus.FEASIBLE, objective=start[1], bound=report.lp_bound,
                     values=_group_values(matrices, start[0]),
                     version=version, options=dict(options), termination="interrupted", seconds=report.seconds)
