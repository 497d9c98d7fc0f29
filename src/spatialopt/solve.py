"""Solving a built model: either builder's model handed to one :class:`~spatialopt.session.HighsSession`.

:func:`run_highs_matrix` solves the matrix builder's arrays; :func:`run_highs`
solves a Pyomo model, which Pyomo's HiGHS interface (``pyomo.contrib.solver``)
only translates into a ``highspy.Highs`` (:func:`pyomo_session`): the run,
the options, Ctrl-C, progress and the status table are the session's, the
same for both. Neither raises on a model outcome: infeasible, a time limit or
an interrupt are statuses in the returned :class:`SolverRun`; a
:class:`~spatialopt.errors.SolverError` means HiGHS is missing or failed.

Pyomo and highspy are imported by the functions that use them: importing this
module loads neither (``spatialopt`` imports it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import SolverError
from .race import run_race
from .session import (
    DEFAULT_OPTIONS,
    HighsSession,
    Progress,
    SolveInterrupt,
    highs_version,
    pinned_options,
    quiet_highs,
    write_model_file,
)
from .status import STATUS_BY_MODEL_STATUS, SolverRun, SolveStatus, map_highs_status
from .stoppable import StartPlan, fork_available, run_in_child, wants_child

__all__ = [
    "DEFAULT_OPTIONS",
    "STATUS_BY_MODEL_STATUS",
    "HighsSession",
    "Progress",
    "SolveInterrupt",
    "SolveStatus",
    "SolverRun",
    "highs_version",
    "map_highs_status",
    "pinned_options",
    "pyomo_session",
    "quiet_highs",
    "run_highs",
    "run_highs_matrix",
    "write_model_file",
]

VARIABLE_GROUPS = ("x", "y", "u")


def pyomo_session(model: Any, options: Mapping[str, Any], *, verbose: bool = False, keep_log: bool = False,
                  configure: Any = None) -> tuple[HighsSession, Any]:
    """A :class:`HighsSession` holding the Pyomo model ``model``; also Pyomo's HiGHS interface that built it.

    Pyomo's persistent HiGHS interface translates the model into a
    ``highspy.Highs`` (timed as the first run's ``handoff_seconds``); the
    session runs it. Before every later run the interface passes the model's
    changes on to HiGHS (a mutable Param's new value becomes new row bounds,
    no rebuild); ``configure(interface)``, called first, may narrow what it
    looks for (``interface.config.auto_updates``).
    """
    from pyomo.contrib.solver.solvers.highs import Highs

    interface = Highs()
    if not interface.available():
        raise SolverError("HiGHS (highspy) is not available in this Python environment.")
    if configure is not None:
        configure(interface)
    quiet_highs()  # the banner, once per process, out of the way
    started = time.perf_counter()
    try:
        interface.set_instance(model)
    except Exception as exc:
        raise SolverError(f"HiGHS failed: {exc}") from exc
    handoff = time.perf_counter() - started
    column = interface._pyomo_var_to_solver_var_map  # id(variable) -> HiGHS column
    columns = {
        name: np.fromiter((column.get(id(v), -1) for v in getattr(model, name).values()), dtype=np.int64)
        for name in VARIABLE_GROUPS
    }
    session = HighsSession.from_highs(interface._solver_model, columns, options, verbose=verbose, keep_log=keep_log,
                                      handoff_seconds=handoff, before_run=interface.update)
    return session, interface


def load_values(model: Any, interface: Any, session: HighsSession) -> None:
    """Put the session's last solution into the Pyomo model's variables (those HiGHS holds)."""
    import pyomo.environ as pyo

    col = session.solution().col_value
    column = interface._pyomo_var_to_solver_var_map
    for v in model.component_data_objects(pyo.Var, descend_into=True):
        index = column.get(id(v))
        if index is not None:
            v.set_value(col[index], skip_validation=True)


def run_highs(
    model: Any, options: Mapping[str, Any], verbose: bool = False, progress: Progress | None = None,
    keep_values: bool = False,
) -> SolverRun:
    """Solve the Pyomo model ``model`` with HiGHS using HiGHS option names in ``options``.

    ``progress`` is called with objective, bound, gap and seconds each time
    HiGHS finds a better plan. Ctrl-C stops the search and keeps the incumbent.
    ``keep_values`` also loads the solution into the model's variables.
    """
    session, interface = pyomo_session(model, options, verbose=verbose)
    run = session.run(progress)
    if keep_values and run.values:
        load_values(model, interface, session)
    return run


def run_highs_matrix(
    matrices: Any, options: Mapping[str, Any], verbose: bool = False, progress: Progress | None = None,
    race: int = 1, start: StartPlan | None = None, root: bool = False,
) -> SolverRun:
    """Solve a :class:`~spatialopt.matrix.MatrixModel` with HiGHS directly: a session run once.

    A large model runs in a child process that is stopped from outside if
    HiGHS overruns the time limit or ignores a Ctrl-C in a stage that polls
    neither (:mod:`spatialopt.stoppable`); a smaller one in this process.
    ``race`` > 1 races that many seeds in child processes (:mod:`spatialopt.race`).
    ``start`` (column values and their objective) is handed to HiGHS as its
    starting solution, and is the answer of a child stopped before a better plan.
    ``root``: a model solved in a child process gets the root pass there
    first (:mod:`spatialopt.root_pass`); ignored otherwise.
    """
    if race > 1:
        if not fork_available():
            raise SolverError("a race of solver runs needs processes started by fork (Linux, macOS)")
        return run_race(matrices, options, race, verbose=verbose, progress=progress, start=start)
    if wants_child(matrices):
        return run_in_child(matrices, options, verbose=verbose, progress=progress, start=start, root=root)
    session = HighsSession(matrices, options, verbose=verbose)
    if start is not None:
        session.set_start(start[0])
    return session.run(progress)
