"""Solving the Pareto front's points: the largest target scale, then chains of points on one solver.

:func:`largest_scale` finds λ*, the largest scale of the targets that some
plan reaches (a MIP maximising λ). :func:`solve_chain` solves a descending
run of scales with ONE model and ONE persistent HiGHS, per builder:

- ``matrix``: the numpy model (:mod:`spatialopt.matrix`) with one target row
  per scaled source, in one :class:`~spatialopt.solve.HighsSession`; a new
  point only changes those rows' bounds;
- ``pyomo``: the Pyomo model handed to the same kind of session through
  Pyomo's HiGHS interface (:func:`~spatialopt.solve.pyomo_session`); its
  target rows take their right-hand side from a mutable Param (Pyomo's
  update turns a new Param value into new row bounds; no rebuild).

Each point starts from the previous point's full solution, the first from a
plan feasible for every scale; what HiGHS said of the start is reported
(:func:`_warm_verdict`). A Ctrl-C ends the running solve with its incumbent
and the chain with it, as in :mod:`spatialopt.solve`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..instance import Instance
from ..status import SolveStatus

if TYPE_CHECKING:
    from ..derive import Derived
    from ..matrix import MatrixModel
    from ..results import Result
    from ..status import SolverRun

ChainReport = Callable[[float, "SolverRun", str], None]


def arcs_by_source(instance: Instance, derived: Derived, sources: Iterable[str]) -> dict[str, np.ndarray]:
    """The arcs (indices into ``derived``'s arcs) of the facilities of each source."""
    origin = instance.facilities["origin"].to_numpy(dtype=object)[derived.arc_f]
    return {s: np.nonzero(origin == s)[0] for s in sources}


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
    arcs = arcs_by_source(zero, derived, positive)
    fac = zero.facilities
    residents = fac["residents"].to_numpy(dtype=float)[derived.arc_f]
    count = fac["count"].to_numpy(dtype=float)[derived.arc_f]
    # Per arc a facility's full count: summed over its arcs this overstates what
    # it can move, which is fine for an upper bound on λ.
    upper = min((float(residents[arcs[s]] @ count[arcs[s]]) / t for s, t in positive.items()), default=0.0)
    started = time.perf_counter()
    if builder == "pyomo":
        run, reasons = _max_scale_pyomo(zero, derived, positive, arcs, residents, upper, options)
    else:
        run, reasons = _max_scale_matrix(zero, derived, positive, arcs, residents, upper, options)
    seconds = time.perf_counter() - started
    if reasons:
        return 0.0, None, SolveStatus.INFEASIBLE, reasons, seconds
    if run is None:  # nothing can reach a positive scale
        return 0.0, None, SolveStatus.OPTIMAL, [], seconds
    if not run.status.has_solution:
        why = f"the search for the largest target scale ended {run.status.value} ({run.termination})"
        return 0.0, None, run.status, [why], seconds
    plan = extract_plan(zero, derived, run)
    moved = {s: float(residents[arcs[s]] @ plan.units[arcs[s]]) for s in positive}
    return min(moved[s] / positive[s] for s in positive), plan, SolveStatus.OPTIMAL, [], seconds


def _max_scale_pyomo(zero: Instance, derived: Derived, positive: Mapping[str, float], arcs: Mapping[str, np.ndarray],
                     residents: np.ndarray, upper: float, options: dict[str, Any]) -> tuple[SolverRun | None, list[str]]:
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    from ..model import build_model
    from ..solve import run_highs

    model = build_model(zero, derived)
    if model.trivially_infeasible:
        return None, list(model.trivially_infeasible)
    if upper <= 0 or model.nvariables() == 0:
        return None, []
    xs = list(model.x.values())
    model.pareto_scale = pyo.Var(bounds=(0.0, upper))
    model.pareto_reach = pyo.Constraint(
        list(positive),
        rule=lambda m, s: LinearExpression(constant=0.0, linear_coefs=[*residents[arcs[s]], -positive[s]],
                                           linear_vars=[*(xs[a] for a in arcs[s]), m.pareto_scale]) >= 0,
    )
    model.total_cost.deactivate()
    model.pareto_max = pyo.Objective(expr=model.pareto_scale, sense=pyo.maximize)
    return run_highs(model, options), []


def _max_scale_matrix(zero: Instance, derived: Derived, positive: Mapping[str, float], arcs: Mapping[str, np.ndarray],
                      residents: np.ndarray, upper: float, options: dict[str, Any]) -> tuple[SolverRun | None, list[str]]:
    from ..matrix import build_matrices
    from ..solve import HighsSession

    m = build_matrices(zero, derived)
    if m.trivially_infeasible:
        return None, list(m.trivially_infeasible)
    if upper <= 0 or m.n_cols == 0:
        return None, []
    n = m.n_cols  # λ's column
    reach = [(np.concatenate([m.x.start + arcs[s], [n]]), np.concatenate([residents[arcs[s]], [-t]]))
             for s, t in positive.items()]
    # keep_log: HiGHS's log goes to the session, never to the console (as in the chains).
    return HighsSession(_with_rows(m, reach, scale_upper=upper), options, keep_log=True).run(), []


def _with_rows(m: MatrixModel, rows: Sequence[tuple[np.ndarray, np.ndarray]], *,
               scale_upper: float | None = None) -> MatrixModel:
    """``m`` with rows ``Σ value·v >= 0`` appended after its own, each given as (column indices, values).

    With ``scale_upper``, one more continuous column λ in [0, ``scale_upper``]
    follows ``m``'s columns (index ``m.n_cols``, which the rows may use) and is
    all the objective counts: minimising -λ maximises λ.
    """
    cost, col_lower, col_upper, integer = m.cost, m.col_lower, m.col_upper, m.integer
    if scale_upper is not None:
        cost = np.r_[np.zeros(m.n_cols), -1.0]
        col_lower = np.r_[col_lower, 0.0]
        col_upper = np.r_[col_upper, scale_upper]
        integer = np.r_[integer, False]
    sizes = np.array([len(index) for index, _ in rows], dtype=np.int64)
    return replace(
        m, cost=cost, col_lower=col_lower, col_upper=col_upper, integer=integer,
        row_lower=np.r_[m.row_lower, np.zeros(len(rows))], row_upper=np.r_[m.row_upper, np.full(len(rows), np.inf)],
        a_start=np.r_[m.a_start, m.a_start[-1] + np.cumsum(sizes)],
        a_index=np.concatenate([m.a_index, *(np.asarray(index, dtype=m.a_index.dtype) for index, _ in rows)]),
        a_value=np.concatenate([m.a_value, *(np.asarray(value, dtype=float) for _, value in rows)]),
    )


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
    from ..matrix import build_matrices
    from ..solve import HighsSession

    m = build_matrices(instance, derived)
    if m.n_cols == 0:
        return _empty_chain(scales, dict(options))
    is_mip = bool(np.any(m.integer))
    residents = instance.facilities["residents"].to_numpy(dtype=float)[derived.arc_f]
    rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # scaled source -> its target row
    for s, arcs in arcs_by_source(instance, derived, targets).items():
        if arcs.size and targets[s] > 0:
            rows[s] = (m.x.start + arcs, residents[arcs])
    row_of = {s: m.n_rows + k for k, s in enumerate(rows)}
    out: list[tuple[float, SolverRun, str]] = []
    previous = None  # the last point's full solution: feasible for every lower scale
    with HighsSession(_with_rows(m, list(rows.values())), options, keep_log=True) as session:
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
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    from ..model import build_model
    from ..solve import pinned_options, pyomo_session

    model = build_model(instance, derived)
    if model.nvariables() == 0:
        return _empty_chain(scales, pinned_options(options))
    xs = list(model.x.values())
    ys = list(model.y.values())
    is_mip = any(not v.is_continuous() for v in [*xs, *ys])
    residents = instance.facilities["residents"].to_numpy(dtype=float)[derived.arc_f]
    rows = {s: a for s, a in arcs_by_source(instance, derived, targets).items() if a.size and targets[s] > 0}
    # The first point's levels go to HiGHS with the model; later ones as Pyomo's updates before each run.
    first = scales[0] if len(scales) else 0.0
    model.pareto_level = pyo.Param(list(rows), mutable=True, initialize={s: first * targets[s] for s in rows},
                                   within=pyo.Reals)
    model.pareto_target = pyo.Constraint(
        list(rows),
        rule=lambda mm, s: LinearExpression(constant=0.0, linear_coefs=residents[rows[s]].tolist(),
                                            linear_vars=[xs[a] for a in rows[s]]) >= mm.pareto_level[s],
    )

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
                model.pareto_level[s] = scale * targets[s]
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
