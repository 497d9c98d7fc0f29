"""Solving the Pareto front's points: the largest target scale, then chains of points on one solver.

:func:`largest_scale` finds λ*, the largest scale of the targets that some
plan reaches (a MIP maximising λ). :func:`solve_chain` solves a descending
run of scales with ONE model and ONE persistent HiGHS.

Both add their rows to the model's formulation (:mod:`spatialopt.formulation`)
once, with :func:`moved_rows` (one row of residents moved per scaled source:
``pareto_reach`` against the λ column, ``pareto_target`` against a level),
and either back end takes the result:

- ``matrix``: the highspy matrices in one :class:`~spatialopt.solve.HighsSession`;
  a new point only changes the ``pareto_target`` rows' bounds;
- ``pyomo``: the Pyomo model handed to the same kind of session through
  Pyomo's HiGHS interface (:func:`~spatialopt.solve.pyomo_session`), whose ``pareto_target``
  rows take their lower bound from the mutable Param ``pareto_target_level``
  (Pyomo's update turns a new Param value into new row bounds; no rebuild).

Each point starts from the previous point's full solution, the first from a
plan feasible for every scale; what HiGHS said of the start is reported
(:func:`_warm_verdict`). A Ctrl-C ends the running solve with its incumbent
and the chain with it, as in :mod:`spatialopt.solve`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..formulation import ColumnBlock, Formulation, RowBlock, build
from ..instance import Instance
from ..status import SolveStatus

if TYPE_CHECKING:
    from ..derive import Derived
    from ..results import Result
    from ..status import SolverRun

ChainReport = Callable[[float, "SolverRun", str], None]


def arcs_by_source(instance: Instance, derived: Derived, sources: Iterable[str]) -> dict[str, np.ndarray]:
    """The arcs (indices into ``derived``'s arcs) of the facilities of each source."""
    origin = instance.facilities["origin"].to_numpy(dtype=object)[derived.arc_f]
    return {s: np.nonzero(origin == s)[0] for s in sources}


def split_milestone_key(key: str, instance: Instance) -> tuple[str, str | None]:
    """``s@period`` (a milestone row of source s traced alone) -> (s, period); a source id -> (s, None)."""
    if key in instance.sources:
        return key, None
    s, _, period_id = key.rpartition("@")
    return s, period_id


def scaled_rows(instance: Instance, derived: Derived, targets: Mapping[str, float], *, skip_empty: bool
                ) -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, float]]:
    """The front's rows per scaled source: its arcs, the last period it counts, its level at scale 1.

    One row per source (key ``s``, the whole plan); for a phased instance
    (spec v2) also one per milestone of it (key ``s@period``, moves up to that
    period, level ``milestone share x T_s``), so that every point meets its
    scaled milestones too. A key ``s@period`` in ``targets`` (``pareto
    --period``) gives that milestone's row alone, at the level given.
    ``skip_empty`` leaves out sources without arcs.
    """
    periods = instance.plan_periods
    position = {period.id: p for p, period in enumerate(periods[:-1])}
    traced = {key: split_milestone_key(key, instance) for key in targets}
    arcs_of = arcs_by_source(instance, derived, dict.fromkeys(s for s, _ in traced.values()))
    arcs: dict[str, np.ndarray] = {}
    until: dict[str, int] = {}
    levels: dict[str, float] = {}
    for key, (s, period_id) in traced.items():
        if period_id is None:
            continue
        # One milestone traced alone (pareto --period): its row only, the level given.
        if skip_empty and not (arcs_of[s].size and targets[key] > 0):
            continue
        arcs[key], until[key], levels[key] = arcs_of[s], position[period_id], targets[key]
    for s, t in targets.items():
        if traced[s][1] is not None:
            continue
        if skip_empty and not (arcs_of[s].size and t > 0):
            continue
        arcs[s], until[s], levels[s] = arcs_of[s], len(periods) - 1, t
        milestones = instance.sources[s].milestones
        for p, period in enumerate(periods[:-1]):
            if milestones.get(period.id, 0.0) * t > 0:
                key = f"{s}@{period.id}"
                arcs[key], until[key], levels[key] = arcs_of[s], p, milestones[period.id] * t
    return arcs, until, levels


def largest_scale(zero: Instance, derived: Derived, targets: Mapping[str, float], options: dict[str, Any],
                  builder: str) -> tuple[float, Result | None, SolveStatus, list[str], float]:
    """The largest λ such that some plan moves λ·T_s from every scaled source (a MIP maximising λ).

    Returns (λ*, the plan reaching it, status, reasons, seconds). λ* is
    recomputed from the rounded plan, so that plan meets λ*·T_s exactly.
    """
    from ..diagnose import presolve_findings
    from ..results import extract_plan

    positive = {s: t for s, t in targets.items() if t > 0}
    proofs = [f.message for f in presolve_findings(zero, derived) if f.proves_infeasible]
    if proofs:
        return 0.0, None, SolveStatus.INFEASIBLE, proofs, 0.0
    arcs, until, levels = scaled_rows(zero, derived, positive, skip_empty=False)
    fac = zero.facilities
    residents = fac["residents"].to_numpy(dtype=float)[derived.arc_f]
    count = fac["count"].to_numpy(dtype=float)[derived.arc_f]
    # Per arc a facility's full count: summed over its arcs this overstates what
    # it can move, which is fine for an upper bound on λ.
    upper = min((float(residents[arcs[s]] @ count[arcs[s]]) / t for s, t in levels.items()), default=0.0)
    started = time.perf_counter()
    form = build(zero, derived)
    run: SolverRun | None = None
    reasons = list(form.trivially_infeasible)
    if not reasons and upper > 0 and form.n_cols:
        form.add_columns(ColumnBlock("pareto_scale", np.zeros(1), np.array([upper]), np.zeros(1, dtype=bool),
                                     np.zeros(1)))
        form.add_rows(moved_rows(form, arcs, residents, levels, "pareto_reach", scale=form.column("pareto_scale"),
                                 until=until))
        form.set_objective("pareto_max", {"pareto_scale": -1.0})  # minimising -λ maximises λ
        run = _max_scale_pyomo(form, options) if builder == "pyomo" else _max_scale_matrix(form, options)
    seconds = time.perf_counter() - started
    if reasons:
        return 0.0, None, SolveStatus.INFEASIBLE, reasons, seconds
    if run is None:  # nothing can reach a positive scale
        return 0.0, None, SolveStatus.OPTIMAL, [], seconds
    if not run.status.has_solution:
        why = f"the search for the largest target scale ended {run.status.value} ({run.termination})"
        return 0.0, None, run.status, [why], seconds
    plan = extract_plan(zero, derived, run)
    units = plan.column_start()[0]
    moved = {}
    for s, level in levels.items():
        moves = _moves_of(form, arcs[s], until[s])
        moved[s] = float(residents[form.move_arc[moves]] @ units[moves]) / level
    return min(moved.values()), plan, SolveStatus.OPTIMAL, [], seconds


def _moves_of(form: Formulation, arcs: np.ndarray, until: int | None) -> np.ndarray:
    """Positions within x of the moves of ``arcs`` in periods up to ``until`` (all when None)."""
    moves = form.arc_columns(arcs)
    return moves if until is None else moves[form.move_period[moves] <= until]


def moved_rows(form: Formulation, arcs: Mapping[str, np.ndarray], residents: np.ndarray, levels: Mapping[str, float],
               family: str, scale: slice | None = None, until: Mapping[str, int] | None = None) -> RowBlock:
    """The ε rows of the front, once for both builders: residents moved from each source of ``levels``.

    Without ``scale``: ``Σ residents·x >= level_s`` (the chains move the
    levels from point to point). With ``scale`` (the λ column):
    ``Σ residents·x - level_s·λ >= 0``.
    """
    sources = list(levels)
    x0 = form.column("x").start
    # the moves of those arcs by the end of the row's period (spec v2; every move without periods)
    moves = {s: _moves_of(form, arcs[s], None if until is None else until[s]) for s in sources}
    row = [np.full(moves[s].size, i, dtype=np.int64) for i, s in enumerate(sources)]
    col = [x0 + moves[s] for s in sources]
    val = [residents[form.move_arc[moves[s]]] for s in sources]
    lower = np.array([levels[s] for s in sources], dtype=float)
    if scale is not None:
        row.append(np.arange(len(sources), dtype=np.int64))
        col.append(np.full(len(sources), scale.start, dtype=np.int64))
        val.append(-lower)
        lower = np.zeros(len(sources))
    empty = np.zeros(0, dtype=np.int64)
    return RowBlock(family, np.concatenate([empty, *row]), np.concatenate([empty, *col]),
                    np.concatenate([np.zeros(0), *val]), lower, np.full(len(sources), np.inf), lambda: sources)


def _max_scale_pyomo(form: Formulation, options: dict[str, Any]) -> SolverRun:
    from ..model import model_from
    from ..solve import run_highs

    return run_highs(model_from(form), options)


def _max_scale_matrix(form: Formulation, options: dict[str, Any]) -> SolverRun:
    from ..matrix import matrices_from
    from ..solve import HighsSession

    # keep_log: HiGHS's log goes to the session, never to the console (as in the chains).
    return HighsSession(matrices_from(form), options, keep_log=True).run()


def solve_chain(instance: Instance, derived: Derived, targets: Mapping[str, float], scales: Sequence[float],
                start: tuple[np.ndarray, np.ndarray] | None, options: Mapping[str, Any], builder: str = "matrix",
                on_point: ChainReport | None = None) -> list[tuple[float, SolverRun, str]]:
    """Solve the points ``scales`` (descending) with ONE model and ONE persistent HiGHS.

    ``instance`` has the scaled sources' targets at 0 (and hard); the rows
    added here, ``Σ residents·x ≥ level_s`` per scaled source, are the only
    thing that changes from point to point (see the module docstring for the
    two builders). Each point starts from the previous point's full solution,
    the first from ``start`` (x and y of a plan feasible for every scale;
    HiGHS completes the rest). Returns ``(scale, SolverRun, warm start)`` per
    point solved, where warm start is ``accepted`` (HiGHS found the start
    feasible), ``rejected``, ``lp`` or ``none`` (see :func:`_warm_verdict`);
    stops after a Ctrl-C, which ends the running solve with its incumbent.
    A task of :func:`~spatialopt.scenarios.parallel.run_tasks`.
    """
    chain = _chain_pyomo if builder == "pyomo" else _chain_matrix
    return chain(instance, derived, targets, scales, start, options, on_point)


def _chain_formulation(instance: Instance, derived: Derived, targets: Mapping[str, float]
                       ) -> tuple[Formulation, dict[str, float]]:
    """The model with a ``pareto_target`` row (at level 0) per scaled source that has arcs, for either builder.

    Also each row's level at scale 1 (by row key: see :func:`scaled_rows`).
    """
    form = build(instance, derived)
    residents = instance.facilities["residents"].to_numpy(dtype=float)[derived.arc_f]
    arcs, until, levels = scaled_rows(instance, derived, targets, skip_empty=True)
    form.add_rows(moved_rows(form, arcs, residents, dict.fromkeys(arcs, 0.0), "pareto_target", until=until))
    return form, levels


def _is_mip(form: Formulation) -> bool:
    return any(bool(np.any(group.integer)) for group in form.columns)


_START_ACCEPTED = re.compile(r"Assessing feasibility of MIP solution[^\n]*: feasible|MIP start solution is feasible")


def _warm_verdict(log: str, given: bool, is_mip: bool = True) -> str:
    """What HiGHS said of the start it was given (its log; the only place it says so).

    ``lp`` when the model has no integer column: HiGHS judges starts of MIPs only.
    """
    if not given:
        return "none"
    if not is_mip:
        return "lp"
    return "accepted" if _START_ACCEPTED.search(log) else "rejected"


def _empty_chain(scales: Sequence[float], options: dict[str, Any]) -> list[tuple[float, SolverRun, str]]:
    """Every point of a model without columns: optimal at 0, nothing solved."""
    from ..solve import SolverRun, highs_version

    empty = {"x": np.zeros(0), "y": np.zeros(0), "u": np.zeros(0)}
    return [(s, SolverRun(SolveStatus.OPTIMAL, 0.0, 0.0, empty, 0.0, highs_version(), options, "empty model"), "none")
            for s in scales]


def _chain_matrix(instance: Instance, derived: Derived, targets: Mapping[str, float], scales: Sequence[float],
                  start: tuple[np.ndarray, np.ndarray] | None, options: Mapping[str, Any],
                  on_point: ChainReport | None) -> list[tuple[float, SolverRun, str]]:
    from ..matrix import matrices_from
    from ..solve import HighsSession

    form, targets = _chain_formulation(instance, derived, targets)
    if form.n_cols == 0:
        return _empty_chain(scales, dict(options))
    m = matrices_from(form)
    is_mip = _is_mip(form)
    block = m.family_rows.get("pareto_target", slice(0, 0))
    row_of = dict(zip(map(str, form.family("pareto_target").keys), range(block.start, block.stop)))
    out: list[tuple[float, SolverRun, str]] = []
    previous = None  # the last point's full solution: feasible for every lower scale
    with HighsSession(m, options, keep_log=True) as session:
        for scale in scales:
            if row_of:
                session.set_row_bounds(list(row_of.values()), [scale * targets[s] for s in row_of], np.inf)
            given = previous is not None or start is not None
            if previous is not None:
                session.set_start(previous)
            elif start is not None:
                columns = np.r_[np.arange(m.x.start, m.x.stop), np.arange(m.y.start, m.y.stop)]
                session.set_start(np.r_[np.asarray(start[0], float), np.asarray(start[1], float)], columns)
            run = session.run()
            if run.status.has_solution:
                previous = session.solution()
            warm = _warm_verdict(session.log, given, is_mip)
            out.append((scale, run, warm))
            if on_point is not None:
                on_point(scale, run, warm)
            if session.interrupted:
                break
    return out


def _chain_pyomo(instance: Instance, derived: Derived, targets: Mapping[str, float], scales: Sequence[float],
                 start: tuple[np.ndarray, np.ndarray] | None, options: Mapping[str, Any],
                 on_point: ChainReport | None) -> list[tuple[float, SolverRun, str]]:
    from ..model import model_from
    from ..solve import pinned_options, pyomo_session

    form, targets = _chain_formulation(instance, derived, targets)
    if form.n_cols == 0:
        return _empty_chain(scales, pinned_options(options))
    model = model_from(form, mutable_lower=["pareto_target"])  # its levels: model.pareto_target_level
    is_mip = _is_mip(form)
    rows = [str(s) for s in form.family("pareto_target").keys]
    # The first point's levels go to HiGHS with the model; later ones as Pyomo's updates before each run.
    first = scales[0] if len(scales) else 0.0
    for s in rows:
        model.pareto_target_level[s] = first * targets[s]

    def params_only(interface: Any) -> None:
        # Between points only the Params change: skip Pyomo's scan for new or
        # changed constraints, variables and objective (costly on a large model).
        auto = interface.config.auto_updates
        for name in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                     "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
                     "update_vars", "update_named_expressions", "update_objective"):
            setattr(auto, name, False)
        auto.update_parameters = True

    session, _ = pyomo_session(model, options, keep_log=True, configure=params_only)
    columns = np.r_[session.column_index("x"), session.column_index("y")]
    out: list[tuple[float, SolverRun, str]] = []
    previous = None
    with session:
        for scale in scales:
            for s in rows:
                model.pareto_target_level[s] = scale * targets[s]
            given = previous is not None or start is not None
            if previous is not None:
                session.set_start(previous)
            elif start is not None:
                session.set_start(np.r_[np.asarray(start[0], float), np.asarray(start[1], float)], columns)
            run = session.run()
            if run.values:  # a plan: its full solution starts the next point
                previous = session.solution()
            warm = _warm_verdict(session.log, given, is_mip)
            out.append((scale, run, warm))
            if on_point is not None:
                on_point(scale, run, warm)
            if session.interrupted:
                break
    return out
