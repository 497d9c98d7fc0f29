"""The one place HiGHS runs: :class:`HighsSession`, for every solve of either builder.

A session holds one ``highspy.Highs`` with a model in it: the matrix
builder's arrays handed over in one ``passModel`` call, or a Pyomo model
translated by Pyomo's HiGHS interface (:func:`spatialopt.solve.pyomo_session`).
Everything else is the same for both: the options (:func:`pinned_options`,
over :data:`DEFAULT_OPTIONS`), Ctrl-C handling (:class:`SolveInterrupt`),
progress reports, the reset of HiGHS's thread pool before each run, and the
reading of the outcome, whose status goes through
:func:`spatialopt.status.map_highs_status`.

highspy is imported where HiGHS is used, so that importing this module (or
:mod:`spatialopt.solve`) loads no solver.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Self

import numpy as np

from .errors import SolverError
from .status import SolverRun, SolveStatus, map_highs_status
from .tolerances import DEFAULT_MIP_REL_GAP

# HiGHS defaults that the spec's statuses depend on; always recorded.
DEFAULT_OPTIONS: dict[str, Any] = {"mip_rel_gap": DEFAULT_MIP_REL_GAP}
#: HiGHS threads when no option sets ``threads`` (HiGHS's own default, 0, follows the
#: machine's cores). HiGHS's branch and bound is serial: on china-2035 and
#: jingjinji-2035-phased it explored the same 3 nodes on 1 and 2 threads, and a second
#: thread gave 0.76x and 1.87x the one-thread time on a shared 2-core machine. One thread
#: makes a seed re-create the same search on any machine and leaves the other cores to
#: ``--race`` or sweep workers. Like HiGHS's defaults it is not written into the record.
DEFAULT_THREADS = 1
#: HiGHS's objective and its plan's cost differ beyond this (relative, 1 at least) only when it misjudged a start.
START_OBJECTIVE_TOL = 1e-6
#: A run whose start HiGHS misjudged runs again only with at least this many seconds of its limit left.
MIN_RERUN_SECONDS = 0.5

Progress = Callable[[dict[str, float]], None]
#: A starting plan: every column's value, and its objective.
StartPlan = tuple[np.ndarray, float]
#: Where each model variable group lives among HiGHS's columns: a slice, or
#: column indices with -1 for a variable HiGHS does not hold (its value is 0).
Columns = Mapping[str, "slice | np.ndarray"]


def pinned_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The HiGHS options a solve uses and records: :data:`DEFAULT_OPTIONS`, then ``options`` (None = unset)."""
    return {**DEFAULT_OPTIONS, **{k: v for k, v in options.items() if v is not None}}


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence the C++ side's stdout (file descriptor 1) for a moment."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no descriptor 1: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w", encoding="utf-8") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def quiet_highs() -> Any:
    """A fresh ``highspy.Highs`` without its start-up banner on stdout."""
    import highspy

    # HiGHS prints a banner from C++ the first time a Highs object is made;
    # the planner's stdout is for the planner's output.
    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


@functools.lru_cache(maxsize=1)
def highs_version() -> str:
    h = quiet_highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


class SolveInterrupt:
    """Ctrl-C during a solve: stop HiGHS cleanly and keep its incumbent.

    While a solve runs, SIGINT only sets a flag; HiGHS's interrupt callbacks
    see it and stop the search, which then ends like a limit. A second Ctrl-C
    raises KeyboardInterrupt as usual, for a solver stuck where it polls no
    callback. A context manager around one or more solves (the handler is
    installed in the main thread only); :attr:`requested` tells whether a
    Ctrl-C came.
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
            self._previous = None

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def poll(self, event: Any) -> None:
        if self.requested:
            event.interrupt()


def pass_model(h: Any, m: Any) -> None:
    """Hand a :class:`~spatialopt.matrix.MatrixModel` to a highspy object in one call (row-wise CSR)."""
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


def _column_values(col: np.ndarray, where: slice | np.ndarray) -> np.ndarray:
    if isinstance(where, slice):
        return col[where]
    index = np.asarray(where, dtype=np.int64)
    return np.where(index >= 0, col[np.maximum(index, 0)], 0.0) if index.size else np.zeros(0)


class HighsSession:
    """One ``highspy.Highs`` holding a model, solved once or many times; every solve runs here.

    ``HighsSession(matrices, options)`` hands a
    :class:`~spatialopt.matrix.MatrixModel` to HiGHS (``passModel``, timed as
    the first run's ``handoff_seconds``); :meth:`from_highs` wraps a HiGHS
    that already holds a model (the Pyomo builder's, see
    :func:`spatialopt.solve.pyomo_session`). ``options`` are HiGHS option
    names over :data:`DEFAULT_OPTIONS` (:func:`pinned_options`); a rejected
    one raises :class:`SolverError`. Between runs a caller may change row
    bounds (:meth:`set_row_bounds`) and give a start (:meth:`set_start`, e.g.
    the previous run's :meth:`solution`); nothing is rebuilt.

    Every :meth:`run` resets HiGHS's process-global thread pool first (a solve
    asking for another thread count than the pool was made with otherwise
    ends with status "not set"), maps HiGHS's model status through
    :func:`~spatialopt.status.map_highs_status`, and stops cleanly on Ctrl-C,
    keeping the incumbent (:class:`SolveInterrupt`). Used as a context
    manager, the Ctrl-C handler stays installed from one run to the next (a
    Ctrl-C between two runs stops the next one at once); otherwise each run
    installs it for its own duration. :attr:`interrupted` tells whether a
    Ctrl-C came.

    ``verbose`` prints HiGHS's log; ``keep_log`` keeps each run's log in
    :attr:`log` (and the run's ``log``) instead, printing nothing (what HiGHS
    says of a start is only in its log).
    """

    def __init__(self, matrices: Any, options: Mapping[str, Any], *, verbose: bool = False,
                 keep_log: bool = False) -> None:
        h = quiet_highs()
        self._setup(h, options, verbose=verbose, keep_log=keep_log)
        started = time.perf_counter()
        pass_model(h, matrices)
        self._handoff = time.perf_counter() - started
        self.n_cols = int(matrices.n_cols)
        self.columns: Columns = {"x": matrices.x, "y": matrices.y, "u": matrices.u}
        self._cost: np.ndarray | None = np.asarray(matrices.cost, dtype=float)

    @classmethod
    def from_highs(cls, h: Any, columns: Columns, options: Mapping[str, Any], *, verbose: bool = False,
                   keep_log: bool = False, handoff_seconds: float = 0.0,
                   before_run: Callable[[], None] | None = None) -> HighsSession:
        """A session over ``h``, a ``highspy.Highs`` already holding a model.

        ``columns`` says where ``x``, ``y`` and ``u`` are among its columns;
        ``before_run`` is called at the start of every run after the first
        (e.g. to pass Pyomo's changes on to HiGHS).
        """
        session = cls.__new__(cls)
        session._setup(h, options, verbose=verbose, keep_log=keep_log)
        session._handoff = handoff_seconds
        session.n_cols = int(h.getNumCol())
        session.columns = columns
        session._before_run = before_run
        return session

    def _setup(self, h: Any, options: Mapping[str, Any], *, verbose: bool, keep_log: bool) -> None:
        import highspy

        self.options = pinned_options(options)
        self._log: list[str] = []
        self._keep_log = keep_log
        if keep_log:
            h.cbLogging += lambda event: self._log.append(event.message)
            h.setOptionValue("output_flag", True)  # to the callback only
            h.setOptionValue("log_to_console", False)
            chosen = {k: v for k, v in self.options.items() if k not in ("output_flag", "log_to_console")}
        else:
            h.setOptionValue("output_flag", bool(verbose))
            h.setOptionValue("log_to_console", bool(verbose))
            chosen = self.options
        for key, value in {"threads": DEFAULT_THREADS, **chosen}.items():
            if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
                raise SolverError(f"HiGHS rejected option {key} = {value!r}")
        self._interrupt = SolveInterrupt()
        h.cbSimplexInterrupt += self._interrupt.poll
        h.cbIpmInterrupt += self._interrupt.poll
        h.cbMipInterrupt += self._interrupt.poll
        self._progress: Progress | None = None
        self._progress_attached = False
        self._entered = False
        self._runs = 0
        self._before_run: Callable[[], None] | None = None
        self._start: tuple[Any, ...] | None = None
        self._cost = None  # the objective's coefficients, read from HiGHS when first needed
        self._offset = 0.0
        self._h = h

    def __enter__(self) -> Self:
        self._interrupt.__enter__()
        self._entered = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._entered = False
        self._interrupt.__exit__(*exc)

    @property
    def highs(self) -> Any:
        """The ``highspy.Highs`` itself."""
        return self._h

    @property
    def interrupted(self) -> bool:
        """True once a Ctrl-C came during (or, inside ``with``, between) runs."""
        return self._interrupt.requested

    def stop(self) -> None:
        """Ask the running (or next) run to stop at HiGHS's next poll, as a Ctrl-C would."""
        self._interrupt.requested = True

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

    def column_index(self, name: str) -> np.ndarray:
        """HiGHS's column of each variable of group ``name`` (``x``, ``y``, ``u``); -1 where HiGHS has none."""
        where = self.columns[name]
        if isinstance(where, slice):
            return np.arange(self.n_cols)[where]
        return np.asarray(where, dtype=np.int64)

    def set_start(self, values: Any, columns: Any = None) -> None:
        """Give the next run a start: a :meth:`solution`, or column values.

        With ``columns``, ``values`` are those columns' values only and HiGHS
        completes the rest (a column of -1 is skipped); without, one value per
        column. The start is handed to HiGHS when the next run begins, after
        the model's changes; HiGHS judges it then (its log says whether it
        was feasible).
        """
        import highspy

        if isinstance(values, highspy.HighsSolution):
            self._start = (values,)
            return
        index = np.arange(self.n_cols) if columns is None else columns
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        given = np.asarray(values, dtype=np.float64).reshape(-1)
        held = index >= 0
        self._start = (int(held.sum()), index[held].astype(np.int32), given[held])

    def solution(self) -> Any:
        """HiGHS's full solution after the last run, as :meth:`set_start` takes it."""
        return self._h.getSolution()

    def run(self, progress: Progress | None = None) -> SolverRun:
        """Solve from the current bounds and start; the outcome with values of ``x``, ``y`` and ``u``.

        ``progress`` is called with objective, bound, gap and seconds each
        time HiGHS finds a better plan. A run given a start whose objective
        HiGHS misstates runs again without it (:meth:`_start_misjudged`).
        """
        h = self._h
        if self._runs and self._before_run is not None:
            self._before_run()
        self._runs += 1
        handed = self._start is not None
        if self._start is not None:  # after the model's changes, which may drop a start given earlier
            h.setSolution(*self._start)
            self._start = None
        self._progress = progress
        if progress is not None and not self._progress_attached:
            h.cbMipImprovingSolution += self._improving
            self._progress_attached = True
        seconds = self._run_highs()
        handoff, self._handoff = self._handoff, 0.0  # the first run's
        if handed and self._start_misjudged():
            return self._again_without_start(seconds, handoff)
        return self._outcome(seconds, handoff)

    def _run_highs(self) -> float:
        """One ``run`` of HiGHS as the model and start stand; its seconds."""
        import highspy

        h = self._h
        self._log.clear()
        highspy.Highs.resetGlobalScheduler(True)  # see the class docstring
        before = h.getRunTime()
        started = time.perf_counter()
        if self._entered:
            h.run()
        else:
            with self._interrupt:
                h.run()
        return float((h.getRunTime() - before) or (time.perf_counter() - started))

    def _start_misjudged(self) -> bool:
        """Whether HiGHS's objective differs from its own plan's cost (HiGHS 1.16, with a start).

        HiGHS judges a start in the presolved model, and when presolve has
        moved a constant out of the objective (a column it fixed, e.g. a site
        every plan opens) it can leave that constant out of the objective and
        the bound it reports: a plan costing -10 came back as -15 with bound
        -15, so the proof was lost; the shift can go either way, so the bound
        cannot be trusted either. Its own plan's cost tells.
        """
        info = self._h.getInfo()
        if info.primal_solution_status != 2:
            return False
        cost = self._plan_cost()
        return abs(float(info.objective_function_value) - cost) > START_OBJECTIVE_TOL * max(1.0, abs(cost))

    def _plan_cost(self) -> float:
        """The objective at HiGHS's plan, from the model's coefficients."""
        if self._cost is None:
            lp = self._h.getLp()
            self._cost, self._offset = np.asarray(lp.col_cost_, dtype=float), float(lp.offset_)
        return float(self._cost @ np.asarray(self._h.getSolution().col_value, dtype=float)) + self._offset

    def _again_without_start(self, seconds: float, handoff: float) -> SolverRun:
        """The run again from scratch in the time left; without time left, its plan with no bound."""
        h = self._h
        limit = float(self.options.get("time_limit", math.inf))
        left = limit - seconds
        if left < MIN_RERUN_SECONDS or self._interrupt.requested:
            run = self._outcome(seconds, handoff)
            return dataclasses.replace(run, status=SolveStatus.FEASIBLE, objective=self._plan_cost(), bound=None)
        h.clearSolver()
        if math.isfinite(limit):
            h.setOptionValue("time_limit", left)
        try:
            again = self._run_highs()
        finally:
            if math.isfinite(limit):
                h.setOptionValue("time_limit", limit)
        return self._outcome(seconds + again, handoff)

    def _outcome(self, seconds: float, handoff: float) -> SolverRun:
        """The last run as a :class:`SolverRun`: status, objective, bound and values when there is a plan."""
        h = self._h
        info = h.getInfo()
        has_incumbent = info.primal_solution_status == 2  # HiGHS: 0 none, 1 infeasible, 2 feasible
        status, termination = map_highs_status(h.getModelStatus().name, has_incumbent, self._interrupt.requested)
        values: dict[str, np.ndarray] = {}
        objective = bound = None
        if has_incumbent and status.has_solution:
            col = np.asarray(h.getSolution().col_value, dtype=float)
            values = {name: _column_values(col, where) for name, where in self.columns.items()}
            objective = float(info.objective_function_value)
        if info.mip_node_count >= 0:
            bound = float(info.mip_dual_bound)
        elif status == SolveStatus.OPTIMAL and objective is not None:
            bound = objective  # an LP solved to optimality proves its own bound
        if bound is not None and not math.isfinite(bound):
            bound = None
        return SolverRun(
            status=status, objective=objective, bound=bound, values=values, seconds=seconds,
            version=highs_version(), options=self.options, termination=termination, handoff_seconds=handoff,
            log=self.log, work={"simplex_iterations": int(info.simplex_iteration_count),
                                "nodes": int(info.mip_node_count)},
        )

    def _improving(self, event: Any) -> None:
        if self._progress is not None:
            out = event.data_out
            self._progress({"objective": float(out.objective_function_value), "bound": float(out.mip_dual_bound),
                            "gap": float(out.mip_gap), "seconds": float(out.running_time)})


def write_model_file(matrices: Any, path: str, column_names: list[str] | None = None) -> None:
    """Write the model as MPS or LP (by the file's extension) for any other solver.

    Rows are named ``<family>_<n>``; columns by ``column_names`` when given.
    """
    import highspy

    h = quiet_highs()
    pass_model(h, matrices)
    for family, block in matrices.family_rows.items():
        for n, row in enumerate(range(block.start, block.stop)):
            h.passRowName(row, f"{family}_{n}")
    for col, name in enumerate(column_names or []):
        h.passColName(col, name)
    if h.writeModel(path) == highspy.HighsStatus.kError:  # kWarning: HiGHS named the rows itself
        raise SolverError(f"HiGHS could not write {path}")
