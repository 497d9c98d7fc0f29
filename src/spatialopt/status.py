"""What a solve ended with: the spec's statuses and the solver-run record.

This module imports neither Pyomo nor highspy, so that reading a result
(:mod:`spatialopt.results`, :mod:`spatialopt.result_folder`) never loads a
solver. HiGHS's own outcome, its model status (by name) and whether it holds
a primal solution, becomes a :class:`SolveStatus` through one table,
:data:`STATUS_BY_MODEL_STATUS`, for every solve (both builders, sweeps, the
Pareto front, diagnosis).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np


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
    root_seconds: float | None = None  # the root pass's, when it ran in a child process (spatialopt.root_pass)


LIMIT = "limit"  # resolved to feasible / limit_no_solution by whether an incumbent exists

# HiGHS model status (``highspy.HighsModelStatus`` member name) -> (the
# termination recorded in run.json and Result.termination, the spec status).
# The termination names are the ones the records have always carried.
STATUS_BY_MODEL_STATUS: dict[str, tuple[str, SolveStatus | str]] = {
    "kOptimal": ("convergenceCriteriaSatisfied", SolveStatus.OPTIMAL),
    "kInfeasible": ("provenInfeasible", SolveStatus.INFEASIBLE),
    # The objective is bounded below (x and y are bounded, u has a cost >= 0),
    # so "infeasible or unbounded" can only be infeasible.
    "kUnboundedOrInfeasible": ("infeasibleOrUnbounded", SolveStatus.INFEASIBLE),
    "kUnbounded": ("unbounded", SolveStatus.UNBOUNDED),
    "kTimeLimit": ("maxTimeLimit", LIMIT),
    "kIterationLimit": ("iterationLimit", LIMIT),
    "kSolutionLimit": ("iterationLimit", LIMIT),  # HiGHS's node and improving-solution limits
    "kObjectiveBound": ("objectiveLimit", LIMIT),
    "kObjectiveTarget": ("objectiveLimit", LIMIT),
    "kInterrupt": ("interrupted", LIMIT),
    "kHighsInterrupt": ("interrupted", LIMIT),
    "kMemoryLimit": ("error", SolveStatus.ERROR),
    "kModelEmpty": ("emptyModel", SolveStatus.OPTIMAL),
    "kNotset": ("unknown", SolveStatus.ERROR),
    "kUnknown": ("unknown", SolveStatus.ERROR),
    "kLoadError": ("error", SolveStatus.ERROR),
    "kModelError": ("error", SolveStatus.ERROR),
    "kPresolveError": ("error", SolveStatus.ERROR),
    "kSolveError": ("error", SolveStatus.ERROR),
    "kPostsolveError": ("error", SolveStatus.ERROR),
}


def map_highs_status(model_status: str, has_incumbent: bool, interrupted: bool = False) -> tuple[SolveStatus, str]:
    """The spec status and the termination name for HiGHS's model status ``model_status``.

    ``has_incumbent``: HiGHS holds a feasible primal solution. ``interrupted``:
    a Ctrl-C came and HiGHS did not prove optimality, so the run stopped
    because of it whatever HiGHS calls the stop. An unknown status name is an
    error, like HiGHS's own error statuses.
    """
    termination, status = STATUS_BY_MODEL_STATUS.get(model_status, ("unknown", SolveStatus.ERROR))
    if interrupted and model_status != "kOptimal":
        termination, status = "interrupted", LIMIT
    if status == LIMIT:
        return (SolveStatus.FEASIBLE if has_incumbent else SolveStatus.LIMIT_NO_SOLUTION), termination
    if status == SolveStatus.ERROR and has_incumbent:
        # HiGHS stopped for a reason it could not name but holds a solution;
        # report it as feasible (without a proof) and let the checker judge it.
        return SolveStatus.FEASIBLE, termination
    assert isinstance(status, SolveStatus)
    return status, termination
