"""Solving a built model with HiGHS through Pyomo. The only module that touches the solver.

:func:`run_highs` never raises on a model outcome: infeasible, a time limit
or an interrupt are statuses in the returned :class:`SolverRun`. It raises
:class:`~spatialopt.errors.SolverError` only when HiGHS is missing or fails.

Status mapping (Pyomo termination condition -> spec status) lives in one
table, :data:`STATUS_BY_TERMINATION`; "a limit" becomes ``feasible`` when an
incumbent exists and ``limit_no_solution`` otherwise.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

from .errors import SolverError

# HiGHS defaults that the spec's statuses depend on; always recorded.
DEFAULT_OPTIONS: dict[str, Any] = {"mip_rel_gap": 1e-4}


class SolveStatus(str, Enum):
    """Outcome of a solve, as written in ``solution.json`` (spec §5)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    LIMIT_NO_SOLUTION = "limit_no_solution"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)

    @property
    def exit_code(self) -> int:
        """CLI exit code: 0 a plan, 3 infeasible/unbounded, 4 a limit before any plan, 1 error."""
        return {
            SolveStatus.OPTIMAL: 0,
            SolveStatus.FEASIBLE: 0,
            SolveStatus.INFEASIBLE: 3,
            SolveStatus.UNBOUNDED: 3,
            SolveStatus.LIMIT_NO_SOLUTION: 4,
            SolveStatus.ERROR: 1,
        }[self]


_LIMIT = "limit"  # resolved to feasible / limit_no_solution by whether an incumbent exists
TC = TerminationCondition
STATUS_BY_TERMINATION: dict[TerminationCondition, SolveStatus | str] = {
    TC.convergenceCriteriaSatisfied: SolveStatus.OPTIMAL,
    TC.provenInfeasible: SolveStatus.INFEASIBLE,
    TC.locallyInfeasible: SolveStatus.INFEASIBLE,
    # The objective is bounded below (x and y are bounded, u has a cost >= 0),
    # so "infeasible or unbounded" can only be infeasible.
    TC.infeasibleOrUnbounded: SolveStatus.INFEASIBLE,
    TC.unbounded: SolveStatus.UNBOUNDED,
    TC.maxTimeLimit: _LIMIT,
    TC.iterationLimit: _LIMIT,  # also HiGHS's node and solution limits
    TC.objectiveLimit: _LIMIT,
    TC.minStepLength: _LIMIT,
    TC.interrupted: _LIMIT,
    TC.error: SolveStatus.ERROR,
    TC.licensingProblems: SolveStatus.ERROR,
    TC.unknown: SolveStatus.ERROR,
    TC.emptyModel: SolveStatus.OPTIMAL,
}


def map_status(termination: TerminationCondition, has_incumbent: bool) -> SolveStatus:
    """The spec status for a Pyomo termination condition."""
    status = STATUS_BY_TERMINATION.get(termination, SolveStatus.ERROR)
    if status == _LIMIT:
        return SolveStatus.FEASIBLE if has_incumbent else SolveStatus.LIMIT_NO_SOLUTION
    if status == SolveStatus.ERROR and has_incumbent:
        # HiGHS stopped for a reason it could not name but holds a solution;
        # report it as feasible (without a proof) and let the checker judge it.
        return SolveStatus.FEASIBLE
    return status  # type: ignore[return-value]


@dataclass(frozen=True)
class SolverRun:
    """What HiGHS returned, with variable values in the model's own order."""

    status: SolveStatus
    objective: float | None
    bound: float | None
    values: dict[str, np.ndarray] = field(default_factory=dict)  # "x", "y", "u" -> values
    seconds: float = 0.0
    version: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    termination: str = ""
    log: str = ""
    handoff_seconds: float = 0.0  # moving the model into HiGHS (matrix path: passModel)
    work: dict[str, int] = field(default_factory=dict)  # HiGHS's simplex iterations and B&B nodes


def quiet_highs() -> Any:
    """A fresh ``highspy.Highs`` without its start-up banner on stdout."""
    import highspy
    from pyomo.common.tee import capture_output

    # HiGHS prints a banner from C++ the first time a Highs object is made;
    # the planner's stdout is for the planner's output.
    with capture_output(capture_fd=True):
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


@functools.lru_cache(maxsize=1)
def highs_version() -> str:
    h = quiet_highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


Progress = Callable[[dict[str, float]], None]


class _Interrupt:
    """Ctrl-C during a solve: stop HiGHS cleanly and keep its incumbent.

    Through Pyomo, a KeyboardInterrupt raised inside HiGHS's Python callbacks
    ends the solve as an error and loses the incumbent. Instead, while a solve
    runs, SIGINT only sets a flag; HiGHS's interrupt callbacks see it and stop
    the search, which then ends like a limit. A second Ctrl-C raises
    KeyboardInterrupt as usual, for a solver stuck where it polls no callback.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        # No printing here: Pyomo captures the standard streams during a solve.
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def poll(self, event: Any) -> None:
        if self.requested:
            event.interrupt()


def _solver_class() -> type:
    """Pyomo's HiGHS interface, with our interrupt and progress callbacks attached."""
    from pyomo.contrib.solver.solvers.highs import Highs

    class _Highs(Highs):  # type: ignore[misc, valid-type]
        interrupt: _Interrupt | None = None
        progress: Progress | None = None

        def set_instance(self, model: Any) -> None:
            super().set_instance(model)
            h = self._solver_model
            if self.interrupt is not None:
                h.cbSimplexInterrupt += self.interrupt.poll
                h.cbIpmInterrupt += self.interrupt.poll
                h.cbMipInterrupt += self.interrupt.poll
            if self.progress is not None:
                report = self.progress

                def improving(event: Any) -> None:
                    out = event.data_out
                    report({
                        "objective": float(out.objective_function_value),
                        "bound": float(out.mip_dual_bound),
                        "gap": float(out.mip_gap),
                        "seconds": float(out.running_time),
                    })

                h.cbMipImprovingSolution += improving

    return _Highs


def run_highs(
    model: pyo.ConcreteModel, options: dict[str, Any], verbose: bool = False, progress: Progress | None = None,
    keep_values: bool = False,
) -> SolverRun:
    """Solve ``model`` with HiGHS using HiGHS option names in ``options``.

    ``progress`` is called with objective, bound, gap and seconds each time
    HiGHS finds a better plan. Ctrl-C stops the search and keeps the incumbent.
    ``keep_values`` also loads the solution into the model's variables.
    """
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - highspy is a dependency
        raise SolverError(f"HiGHS is not available: {exc}. Install spatialopt's dependencies (pip install -e .).") from exc

    used = {**DEFAULT_OPTIONS, **{k: v for k, v in options.items() if v is not None}}
    # HiGHS's thread pool is global to the process: a solve that asks for a
    # different thread count than the pool was made with (by any earlier
    # solve, ours or not) ends silently with status "not set". Resetting it
    # first costs a few milliseconds and makes every solve independent.
    highspy.Highs.resetGlobalScheduler(True)

    quiet_highs()  # the banner, once per process, out of the way
    solver = _solver_class()()
    if not solver.available():
        raise SolverError("HiGHS (highspy) is not available in this Python environment.")
    solver.progress = progress
    stream = io.StringIO()
    tee: list[Any] = [stream]
    if verbose:
        tee.append(sys.stderr)
    started = time.perf_counter()
    # Pyomo logs a warning for HiGHS's "interrupted" status, which it does not
    # map; the interrupt is ours and is reported as such below.
    pyomo_highs_log = logging.getLogger("pyomo.contrib.solver.solvers.highs")
    level = pyomo_highs_log.level
    pyomo_highs_log.setLevel(logging.ERROR)
    try:
        with _Interrupt() as interrupt:
            solver.interrupt = interrupt
            results = solver.solve(
                model,
                load_solutions=False,
                raise_exception_on_nonoptimal_result=False,
                tee=tee,
                solver_options=dict(used),
            )
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        raise SolverError(f"HiGHS failed: {exc}") from exc
    finally:
        pyomo_highs_log.setLevel(level)
    seconds = time.perf_counter() - started

    has_incumbent = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
    termination = results.termination_condition
    if interrupt.requested and termination != TerminationCondition.convergenceCriteriaSatisfied:
        termination = TerminationCondition.interrupted
    status = map_status(termination, has_incumbent)
    values: dict[str, np.ndarray] = {}
    objective = bound = None
    if has_incumbent and status.has_solution:
        primals = results.solution_loader.get_vars()
        for name in ("x", "y", "u"):
            component = getattr(model, name)
            values[name] = np.array([primals.get(v, 0.0) for v in component.values()], dtype=float)
        objective = results.incumbent_objective
        if keep_values:
            results.solution_loader.load_vars()
    if results.objective_bound is not None and math.isfinite(results.objective_bound):
        bound = float(results.objective_bound)
    highs_seconds = float(getattr(results.timing_info, "highs_time", None) or seconds)
    extra = results.extra_info
    work = {
        "simplex_iterations": int(getattr(extra, "simplex_iteration_count", -1) or 0),
        "nodes": int(getattr(extra, "mip_node_count", -1) or 0),
    }
    return SolverRun(
        status=status,
        objective=objective,
        bound=bound,
        values=values,
        handoff_seconds=max(0.0, seconds - highs_seconds),
        work=work,
        seconds=highs_seconds,
        version=".".join(str(p) for p in solver.version()),
        options=used,
        termination=str(termination.name),
        log=stream.getvalue(),
    )


# HiGHS model status -> the termination conditions of the table above, so that
# both solve paths share one status mapping.
def _highs_termination(status: Any) -> TerminationCondition:
    import highspy

    S = highspy.HighsModelStatus
    table = {
        S.kOptimal: TC.convergenceCriteriaSatisfied,
        S.kInfeasible: TC.provenInfeasible,
        S.kUnboundedOrInfeasible: TC.infeasibleOrUnbounded,
        S.kUnbounded: TC.unbounded,
        S.kTimeLimit: TC.maxTimeLimit,
        S.kIterationLimit: TC.iterationLimit,
        S.kSolutionLimit: TC.iterationLimit,
        S.kObjectiveBound: TC.objectiveLimit,
        S.kObjectiveTarget: TC.objectiveLimit,
        S.kInterrupt: TC.interrupted,
        S.kModelEmpty: TC.emptyModel,
    }
    return table.get(status, TC.error)


def _pass_model(h: Any, m: Any) -> None:
    """Hand a MatrixModel to a highspy object in one call (row-wise CSR)."""
    import highspy

    status = h.passModel(
        m.n_cols, m.n_rows, m.n_nonzeros, int(highspy.MatrixFormat.kRowwise), int(highspy.ObjSense.kMinimize), 0.0,
        np.ascontiguousarray(m.cost, dtype=np.float64),
        np.ascontiguousarray(m.col_lower, dtype=np.float64), np.ascontiguousarray(m.col_upper, dtype=np.float64),
        np.ascontiguousarray(m.row_lower, dtype=np.float64), np.ascontiguousarray(m.row_upper, dtype=np.float64),
        np.ascontiguousarray(m.a_start[:-1], dtype=np.int32),
        np.ascontiguousarray(m.a_index, dtype=np.int32), np.ascontiguousarray(m.a_value, dtype=np.float64),
        np.ascontiguousarray(m.integer, dtype=np.int32),
    )
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS refused the model (passModel failed)")


def run_highs_matrix(
    matrices: Any, options: dict[str, Any], verbose: bool = False, progress: Progress | None = None
) -> SolverRun:
    """Solve a :class:`~spatialopt.matrix.MatrixModel` with HiGHS directly (the fast path).

    Same options, statuses, interrupt and progress behaviour as :func:`run_highs`.
    """
    import highspy

    used = {**DEFAULT_OPTIONS, **{k: v for k, v in options.items() if v is not None}}
    highspy.Highs.resetGlobalScheduler(True)  # see run_highs
    h = quiet_highs()
    h.setOptionValue("output_flag", bool(verbose))
    h.setOptionValue("log_to_console", bool(verbose))
    for key, value in used.items():
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise SolverError(f"HiGHS rejected option {key} = {value!r}")
    m = matrices
    handoff = time.perf_counter()
    _pass_model(h, m)
    handoff = time.perf_counter() - handoff
    interrupt = _Interrupt()
    h.cbSimplexInterrupt += interrupt.poll
    h.cbIpmInterrupt += interrupt.poll
    h.cbMipInterrupt += interrupt.poll
    if progress is not None:
        def improving(event: Any) -> None:
            out = event.data_out
            progress({"objective": float(out.objective_function_value), "bound": float(out.mip_dual_bound),
                      "gap": float(out.mip_gap), "seconds": float(out.running_time)})

        h.cbMipImprovingSolution += improving
    started = time.perf_counter()
    with interrupt:
        h.run()
    seconds = time.perf_counter() - started
    info = h.getInfo()
    termination = _highs_termination(h.getModelStatus())
    if interrupt.requested and termination != TC.convergenceCriteriaSatisfied:
        termination = TC.interrupted
    has_incumbent = info.primal_solution_status == 2
    run_status = map_status(termination, has_incumbent)
    values: dict[str, np.ndarray] = {}
    objective = bound = None
    if has_incumbent and run_status.has_solution:
        col = np.asarray(h.getSolution().col_value, dtype=float)
        values = {"x": col[m.x], "y": col[m.y], "u": col[m.u]}
        objective = float(info.objective_function_value)
    if info.mip_node_count >= 0:
        bound = float(info.mip_dual_bound)
    elif run_status == SolveStatus.OPTIMAL and objective is not None:
        bound = objective  # an LP solved to optimality proves its own bound
    if bound is not None and not math.isfinite(bound):
        bound = None
    return SolverRun(
        status=run_status, objective=objective, bound=bound, values=values, seconds=h.getRunTime() or seconds,
        version=highs_version(), options=used, termination=termination.name, handoff_seconds=handoff,
        work={"simplex_iterations": int(info.simplex_iteration_count), "nodes": int(info.mip_node_count)},
    )


def write_model_file(matrices: Any, path: str, column_names: list[str] | None = None) -> None:
    """Write the model as MPS or LP (by the file's extension) for any other solver.

    Rows are named ``<family>_<n>``; columns by ``column_names`` when given.
    """
    import highspy

    h = quiet_highs()
    _pass_model(h, matrices)
    for family, block in matrices.family_rows.items():
        for n, row in enumerate(range(block.start, block.stop)):
            h.passRowName(row, f"{family}_{n}")
    for col, name in enumerate(column_names or []):
        h.passColName(col, name)
    if h.writeModel(path) == highspy.HighsStatus.kError:  # kWarning: HiGHS named the rows itself
        raise SolverError(f"HiGHS could not write {path}")
