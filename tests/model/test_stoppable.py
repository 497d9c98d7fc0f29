"""The child-process solve: the same answer as in-process, and back on time when HiGHS is not.

HiGHS's unpolled stages (presolve, MIP set-up on a very large model) are
stood in for by a run that stalls in the child after (or before) HiGHS's own
run: the parent must stop it at the limit + grace and answer with the last
plan the child announced.
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import write_hard_gap

import spatialopt
from spatialopt import SolveStatus
from spatialopt.check import check_solution
from spatialopt.derive import derive
from spatialopt.errors import SolverError
from spatialopt.matrix import build_matrices
from spatialopt.session import HighsSession
from spatialopt.stoppable import CHILD_NONZEROS, GRACE_SECONDS, fork_available, run_in_child, wants_child

pytestmark = pytest.mark.skipif(not fork_available(), reason="the child-process solve needs fork")
solve_module = importlib.import_module("spatialopt.solve")
# The stopped run's wall time may exceed limit + grace by this much: the fork, the kill, reading the plan.
SLACK = 1.5


@pytest.fixture(scope="module")
def hard_gap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hard_gap(tmp_path_factory.mktemp("hard"))


def stall_in_child(monkeypatch: pytest.MonkeyPatch, *, before: bool) -> None:
    """Every solve goes to the child, whose run then hangs (before or after HiGHS's own run) polling nothing."""
    original = HighsSession.run

    def stalled(self: HighsSession, progress: Any = None) -> Any:
        if before:
            time.sleep(60)
        run = original(self, progress)
        time.sleep(60)
        return run

    monkeypatch.setattr(solve_module, "wants_child", lambda matrices: True)
    monkeypatch.setattr(HighsSession, "run", stalled)  # the forked child inherits the patched class


def test_child_gives_the_in_process_answer(hard_gap: Path) -> None:
    """Same options and seed, one thread: the same status, objective, bound and plan either way."""
    instance = spatialopt.load(hard_gap)
    matrices = build_matrices(instance, derive(instance))
    options = {"threads": 1, "random_seed": 0, "mip_max_improving_sols": 1}
    here = HighsSession(matrices, options).run()
    plans: list[dict[str, float]] = []
    there = run_in_child(matrices, options, progress=plans.append)
    assert (there.status, there.objective, there.bound) == (here.status, here.objective, here.bound)
    assert np.array_equal(there.values["x"], here.values["x"]) and np.array_equal(there.values["y"], here.values["y"])
    assert there.options == here.options  # the user's options are recorded, not the child's remaining limit
    assert [p["objective"] for p in plans] == [here.objective]


def test_a_stalled_child_is_stopped_at_the_limit_with_its_last_plan(hard_gap: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    stall_in_child(monkeypatch, before=False)
    instance = spatialopt.load(hard_gap)
    plans: list[dict[str, float]] = []
    result = spatialopt.solve(instance, time_limit=1.0, threads=1, gap=0.0, progress=plans.append)
    assert result.timings["handoff"] + result.timings["solve"] < 1.0 + GRACE_SECONDS + SLACK
    assert result.status == SolveStatus.FEASIBLE and result.termination == "maxTimeLimit"
    assert plans and result.objective == plans[-1]["objective"]
    assert result.bound is not None and result.bound <= result.objective
    assert check_solution(instance, result.to_solution_dict()).ok


def test_a_child_stalled_before_any_plan_ends_without_one(hard_gap: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stall_in_child(monkeypatch, before=True)
    result = spatialopt.solve(spatialopt.load(hard_gap), time_limit=1.0, threads=1, start=False)
    assert result.timings["handoff"] + result.timings["solve"] < 1.0 + GRACE_SECONDS + SLACK
    assert result.status == SolveStatus.LIMIT_NO_SOLUTION and result.status.exit_code == 4
    assert result.termination == "maxTimeLimit"


def test_a_child_stalled_before_any_plan_answers_with_the_starting_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """The heuristic's start is a plan the run already has: a stop before HiGHS finds better returns it."""
    stall_in_child(monkeypatch, before=True)
    instance = spatialopt.load(Path(__file__).parents[2] / "instances" / "jingjinji-2035" / "instance.toml")
    plans: list[dict[str, float]] = []
    result = spatialopt.solve(instance, time_limit=1.0, threads=1, progress=plans.append)
    assert result.timings["handoff"] + result.timings["solve"] < 1.0 + GRACE_SECONDS + SLACK
    assert plans, "the heuristic found no start for jingjinji-2035: this test needs one"
    assert result.status == SolveStatus.FEASIBLE and result.termination == "maxTimeLimit"
    assert result.objective == pytest.approx(plans[0]["objective"], rel=1e-12)
    assert check_solution(instance, result.to_solution_dict()).ok


def test_ctrl_c_stops_a_stalled_child_within_the_grace(hard_gap: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stall_in_child(monkeypatch, before=True)
    instance = spatialopt.load(hard_gap)
    matrices = build_matrices(instance, derive(instance))
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        run = run_in_child(matrices, {"threads": 1, "time_limit": 600.0})
    finally:
        timer.cancel()
    assert time.monotonic() - started < 0.5 + GRACE_SECONDS + SLACK
    assert run.status == SolveStatus.LIMIT_NO_SOLUTION and run.termination == "interrupted"


def test_an_option_highs_rejects_is_reported_from_the_child(hard_gap: Path) -> None:
    instance = spatialopt.load(hard_gap)
    with pytest.raises(SolverError, match="threads"):
        run_in_child(build_matrices(instance, derive(instance)), {"threads": -3})


def test_only_large_models_go_to_a_child() -> None:
    class Sized:
        def __init__(self, n_nonzeros: int) -> None:
            self.n_nonzeros = n_nonzeros

    assert wants_child(Sized(CHILD_NONZEROS))
    assert not wants_child(Sized(CHILD_NONZEROS - 1))
