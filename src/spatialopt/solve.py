"""Solving a built model with HiGHS through Pyomo. The only module that touches the solver.

:func:`run_highs` never raises on a model outcome: infeasible, a time limit
or an interrupt are statuses in the returned :class:`SolverRun`. It raises
:class:`~spatialopt.errors.SolverError` only when HiGHS is missing or fails.

Status mapping (Pyomo termination condition -> spec status) lives in one
table, :data:`STATUS_BY_TERMINATION`; "a limit" becomes ``feasible`` when an
incumbent exists and ``limit_no_solution`` otherwise.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Self

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


class SolveInterrupt:
    """Ctrl-C during a solve: stop HiGHS cleanly and keep its incumbent.

    Through Pyomo, a KeyboardInterrupt raised inside HiGHS's Python callbacks
    ends the solve as an error and loses the incumbent. Instead, while a solve
    runs, SIGINT only sets a flag; HiGHS's interrupt callbacks see it and stop
    the search, which then ends like a limit. A second Ctrl-C raises
    KeyboardInterrupt as usual, for a solver stuck where it polls no callback.

    Use it as a context manager around one or more solves (the handler is
    installed in the main thread only) and hand :meth:`poll` to HiGHS's
    interrupt callbacks, or make it the ``interrupt`` of a
    :func:`pyomo_highs_solver`; :attr:`requested` tells whether a Ctrl-C came.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> SolveInterrupt:
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
        interrupt: SolveInterrupt | None = None
        progress: Progress | None = None
        before_run: Callable[[Any, dict[int, int]], Any] | None = None

        @property
        def highs(self) -> Any:
            """The ``highspy.Highs`` holding the model (once a solve has run)."""
            return self._solver_model

        def _solve(self) -> Any:
            hook, self.before_run = self.before_run, None
            if hook is not None:
                hook(self._solver_model, self._pyomo_var_to_solver_var_map)
            return super()._solve()

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


def pyomo_highs_solver() -> Any:
    """A new Pyomo HiGHS solver (``pyomo.contrib.solver``'s persistent interface), as :func:`run_highs` uses.

    Solving the same model again with it changes only what changed in HiGHS
    (a mutable Param's new value becomes new row bounds: no rebuild). Three
    attributes hook into its solves:

    - ``interrupt``: a :class:`SolveInterrupt` whose ``poll`` HiGHS's
      interrupt callbacks call (attached when the model is first handed over);
    - ``progress``: called like :func:`run_highs`'s ``progress`` (idem);
    - ``before_run``: called by the next solve only, with the
      ``highspy.Highs`` and Pyomo's ``id(variable) -> column`` map, after
      Pyomo's updates and right before HiGHS runs (to hand it a start).

    ``solver.highs`` is the ``highspy.Highs`` itself once a solve has run.
    """
    return _solver_class()()


@contextlib.contextmanager
def quiet_pyomo_highs_log() -> Iterator[None]:
    """Keep Pyomo's HiGHS interface to errors while a solve runs.

    Pyomo logs a warning for HiGHS's "interrupted" status, which it does not
    map; the interrupt is ours (:class:`SolveInterrupt`) and is reported as
    such by :func:`read_pyomo_results`.
    """
    log = logging.getLogger("pyomo.contrib.solver.solvers.highs")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def read_pyomo_results(
    results: Any, model: pyo.ConcreteModel, interrupt: SolveInterrupt
) -> tuple[SolveStatus, TerminationCondition, float | None, float | None, dict[str, np.ndarray]]:
    """A Pyomo HiGHS solve's outcome as :func:`run_highs` reads it.

    Returns (status, termination, objective, bound, values): the termination
    is ``interrupted`` when ``interrupt`` saw a Ctrl-C and HiGHS did not
    finish; values of the model's ``x``, ``y`` and ``u`` (in their order) and
    the objective only when there is a plan (``values`` is empty otherwise);
    the bound when HiGHS reports a finite one.
    """
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
    if results.objective_bound is not None and math.isfinite(results.objective_bound):
        bound = float(results.objective_bound)
    return status, termination, objective, bound, values


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
    solver = pyomo_highs_solver()
    if not solver.available():
        raise SolverError("HiGHS (highspy) is not available in this Python environment.")
    solver.progress = progress
    stream = io.StringIO()
    tee: list[Any] = [stream]
    if verbose:
        tee.append(sys.stderr)
    started = time.perf_counter()
    try:
        with quiet_pyomo_highs_log(), SolveInterrupt() as interrupt:
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
    seconds = time.perf_counter() - started

    status, termination, objective, bound, values = read_pyomo_results(results, model, interrupt)
    if keep_values and values:
        results.solution_loader.load_vars()
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


class HighsSession:
    """One ``highspy.Highs`` holding a :class:`~spatialopt.matrix.MatrixModel`, solved once or many times.

    The matrix path's solver: :func:`run_highs_matrix` is a session run once;
    the Pareto front runs one session per chain of points. The model is handed
    to HiGHS once (``passModel``, timed as the first run's ``handoff_seconds``),
    after ``options`` (HiGHS option names, over :data:`DEFAULT_OPTIONS`; a
    rejected one raises :class:`SolverError`). Between runs a caller may change
    row bounds (:meth:`set_row_bounds`) and give a start (:meth:`set_start`,
    e.g. the previous run's :meth:`solution`); nothing is rebuilt.

    Every :meth:`run` resets HiGHS's process-global thread pool first (see
    :func:`run_highs`), maps HiGHS's model status to a :class:`SolveStatus`
    through :data:`STATUS_BY_TERMINATION` like :func:`run_highs`, and stops
    cleanly on Ctrl-C, keeping the incumbent (:class:`SolveInterrupt`). Used
    as a context manager, the Ctrl-C handler stays installed from one run to
    the next (a Ctrl-C between two runs stops the next one at once);
    otherwise each run installs it for its own duration. :attr:`interrupted`
    tells whether a Ctrl-C came.

    ``verbose`` prints HiGHS's log; ``keep_log`` keeps each run's log in
    :attr:`log` instead, printing nothing (what HiGHS says of a start is only
    in its log).
    """

    def __init__(self, matrices: Any, options: Mapping[str, Any], *, verbose: bool = False,
                 keep_log: bool = False) -> None:
        import highspy

        self.matrices = matrices
        self.options = {**DEFAULT_OPTIONS, **{k: v for k, v in options.items() if v is not None}}
        h = quiet_highs()
        self._log: list[str] = []
        if keep_log:
            h.cbLogging += lambda event: self._log.append(event.message)
            h.setOptionValue("output_flag", True)  # to the callback only
            h.setOptionValue("log_to_console", False)
            chosen = {k: v for k, v in self.options.items() if k not in ("output_flag", "log_to_console")}
        else:
            h.setOptionValue("output_flag", bool(verbose))
            h.setOptionValue("log_to_console", bool(verbose))
            chosen = self.options
        for key, value in chosen.items():
            if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
                raise SolverError(f"HiGHS rejected option {key} = {value!r}")
        started = time.perf_counter()
        _pass_model(h, matrices)
        self._handoff = time.perf_counter() - started
        self._interrupt = SolveInterrupt()
        h.cbSimplexInterrupt += self._interrupt.poll
        h.cbIpmInterrupt += self._interrupt.poll
        h.cbMipInterrupt += self._interrupt.poll
        self._progress: Progress | None = None
        self._progress_attached = False
        self._entered = False
        self._h = h

    def __enter__(self) -> Self:
        self._interrupt.__enter__()
        self._entered = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._entered = False
        self._interrupt.__exit__(*exc)

    @property
    def interrupted(self) -> bool:
        """True once a Ctrl-C came during (or, inside ``with``, between) runs."""
        return self._interrupt.requested

    @property
    def log(self) -> str:
        """What HiGHS logged during the last run (``keep_log=True`` only; else empty)."""
        return "\n".join(self._log)

    def set_row_bounds(self, rows: Any, lower: Any, upper: Any) -> None:
        """Set the bounds of rows ``rows`` (indices into the model's rows); scalars apply to every row."""
        index = np.asarray(rows, dtype=np.int32).reshape(-1)
        low = np.broadcast_to(np.asarray(lower, dtype=np.float64), index.shape)
        up = np.broadcast_to(np.asarray(upper, dtype=np.float64), index.shape)
        self._h.changeRowsBounds(index.size, index, np.ascontiguousarray(low), np.ascontiguousarray(up))

    def set_start(self, values: Any, columns: Any = None) -> None:
        """Give the next run a start: a :meth:`solution`, or column values.

        With ``columns``, ``values`` are those columns' values only and HiGHS
        completes the rest; without, one value per column. HiGHS judges the
        start when it runs (its log says whether it was feasible).
        """
        import highspy

        if isinstance(values, highspy.HighsSolution):
            self._h.setSolution(values)
            return
        index = np.arange(self.matrices.n_cols) if columns is None else columns
        index = np.asarray(index, dtype=np.int32).reshape(-1)
        self._h.setSolution(index.size, index, np.asarray(values, dtype=np.float64).reshape(-1))

    def solution(self) -> Any:
        """HiGHS's full solution after the last run, as :meth:`set_start` takes it."""
        return self._h.getSolution()

    def run(self, progress: Progress | None = None) -> SolverRun:
        """Solve from the current bounds and start; the outcome with values of ``x``, ``y`` and ``u``.

        ``progress`` is called with objective, bound, gap and seconds each
        time HiGHS finds a better plan (as :func:`run_highs`).
        """
        import highspy

        h, m = self._h, self.matrices
        self._progress = progress
        if progress is not None and not self._progress_attached:
            h.cbMipImprovingSolution += self._improving
            self._progress_attached = True
        self._log.clear()
        highspy.Highs.resetGlobalScheduler(True)  # see run_highs
        before = h.getRunTime()
        started = time.perf_counter()
        if self._entered:
            h.run()
        else:
            with self._interrupt:
                h.run()
        seconds = time.perf_counter() - started
        info = h.getInfo()
        termination = _highs_termination(h.getModelStatus())
        if self._interrupt.requested and termination != TC.convergenceCriteriaSatisfied:
            termination = TC.interrupted
        has_incumbent = info.primal_solution_status == 2
        status = map_status(termination, has_incumbent)
        values: dict[str, np.ndarray] = {}
        objective = bound = None
        if has_incumbent and status.has_solution:
            col = np.asarray(h.getSolution().col_value, dtype=float)
            values = {"x": col[m.x], "y": col[m.y], "u": col[m.u]}
            objective = float(info.objective_function_value)
        if info.mip_node_count >= 0:
            bound = float(info.mip_dual_bound)
        elif status == SolveStatus.OPTIMAL and objective is not None:
            bound = objective  # an LP solved to optimality proves its own bound
        if bound is not None and not math.isfinite(bound):
            bound = None
        handoff, self._handoff = self._handoff, 0.0  # the first run's
        return SolverRun(
            status=status, objective=objective, bound=bound, values=values, seconds=(h.getRunTime() - before) or seconds,
            version=highs_version(), options=self.options, termination=termination.name, handoff_seconds=handoff,
            work={"simplex_iterations": int(info.simplex_iteration_count), "nodes": int(info.mip_node_count)},
        )

    def _improving(self, event: Any) -> None:
        if self._progress is not None:
            out = event.data_out
            self._progress({"objective": float(out.objective_function_value), "bound": float(out.mip_dual_bound),
                            "gap": float(out.mip_gap), "seconds": float(out.running_time)})


def run_highs_matrix(
    matrices: Any, options: dict[str, Any], verbose: bool = False, progress: Progress | None = None
) -> SolverRun:
    """Solve a :class:`~spatialopt.matrix.MatrixModel` with HiGHS directly (the fast path).

    Same options, statuses, interrupt and progress behaviour as :func:`run_highs`
    (one :class:`HighsSession`, run once).
    """
    return HighsSession(matrices, options, verbose=verbose).run(progress)


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
