"""A race of HiGHS runs on one model: the same options with different seeds, first proof wins.

HiGHS's branch and bound is sensitive to its random seed: the same model can
take twice as long with another seed. ``--race N`` starts N runs, each in its
own child process (:class:`spatialopt.stoppable.ChildSolve`, one HiGHS
thread each unless ``threads`` says otherwise), with seeds ``random_seed``,
``random_seed + 1``, ... The first run that proves its answer (optimal within
the gap, or infeasible) wins and the others are stopped. When none proves
before the limit, the answer is the best plan any run found, with the best
bound any run proved (every run solves the same model, so each bound holds
for all). The options recorded are the winning run's (its seed), so a
single run with them re-creates the winner's search.

Whether it pays is measured, not assumed: see ``docs/extensions.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .session import Progress, SolveInterrupt, pinned_options
from .status import SolverRun, SolveStatus
from .stoppable import ChildSolve, StartPlan, watch

PROVEN = (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE, SolveStatus.UNBOUNDED)


def entrant_options(options: Mapping[str, Any], entrant: int) -> dict[str, Any]:
    """Run ``entrant``'s options: one thread unless set, and the seed ``random_seed + entrant``."""
    chosen = pinned_options(options)
    seed = int(chosen.get("random_seed", 0))
    return {**chosen, "threads": chosen.get("threads", 1), "random_seed": seed + entrant}


def run_race(matrices: Any, options: Mapping[str, Any], entrants: int, *, verbose: bool = False,
             progress: Progress | None = None, start: StartPlan | None = None) -> SolverRun:
    """Race ``entrants`` seeds on a :class:`~spatialopt.matrix.MatrixModel` (module docstring).

    ``progress`` sees each plan better than every run's before it; ``verbose``
    shows the first run's HiGHS log.
    """
    best = [math.inf]

    def relay(stats: dict[str, float]) -> None:
        if stats["objective"] < best[0]:
            best[0] = stats["objective"]
            if progress is not None:
                progress(stats)

    limit = pinned_options(options).get("time_limit")
    with SolveInterrupt() as ctrl_c:
        children: list[ChildSolve] = []
        try:
            for entrant in range(entrants):
                children.append(ChildSolve(matrices, entrant_options(options, entrant), verbose=verbose and entrant == 0,
                                           progress=relay, start=start))

            def decided() -> bool:
                return any(c.outcome is not None and c.outcome.status in PROVEN for c in children) or all(
                    c.settled for c in children)

            watch(children, limit, ctrl_c, decided)
            proven = [c for c in children if c.outcome is not None and c.outcome.status in PROVEN]
            if proven:
                return min(proven, key=lambda c: c.finished_at).answer(ctrl_c.requested)
            return _best_of([c.answer(ctrl_c.requested) for c in children])
        finally:
            for child in children:
                child.close()


def _best_of(runs: list[SolverRun]) -> SolverRun:
    """No run proved its answer: the best plan of all, with the best bound of all."""
    with_plan = [run for run in runs if run.objective is not None and run.status.has_solution]
    winner = min(with_plan, key=lambda run: run.objective) if with_plan else runs[0]  # type: ignore[arg-type, return-value]
    bounds = [run.bound for run in runs if run.bound is not None and math.isfinite(run.bound)]
    bound = max(bounds) if bounds else None
    if bound is not None and winner.objective is not None:
        bound = min(bound, winner.objective)
    return replace(winner, bound=bound)
