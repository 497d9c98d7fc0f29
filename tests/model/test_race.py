"""A race of seeds: the winner's answer is the single run's answer, checked like any plan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import write_hard_gap

import spatialopt
from spatialopt import SolveStatus
from spatialopt.check import check_solution
from spatialopt.race import entrant_options
from spatialopt.stoppable import fork_available

pytestmark = pytest.mark.skipif(not fork_available(), reason="a race needs fork")
TUTORIAL = Path(__file__).parents[2] / "instances" / "tutorial" / "instance.toml"


def test_race_proves_the_single_runs_optimum() -> None:
    """The optimum of one in-process run at a 1e-9 gap is what the race's winner proves too."""
    instance = spatialopt.load(TUTORIAL)
    single = spatialopt.solve(instance, gap=1e-9, threads=1, seed=0)
    raced = spatialopt.solve(instance, gap=1e-9, seed=0, race=2)
    assert single.status == raced.status == SolveStatus.OPTIMAL
    assert raced.objective == pytest.approx(single.objective, rel=1e-9)
    assert raced.solver["options"]["random_seed"] in (0, 1) and raced.solver["options"]["threads"] == 1
    assert check_solution(instance, raced.to_solution_dict()).ok


def test_race_without_a_proof_keeps_the_best_plan_and_bound(tmp_path: Path) -> None:
    instance = spatialopt.load(write_hard_gap(tmp_path))
    result = spatialopt.solve(instance, gap=0.0, time_limit=1.0, race=2)
    assert result.status == SolveStatus.FEASIBLE
    assert result.bound is not None and result.bound <= result.objective
    assert check_solution(instance, result.to_solution_dict()).ok


def test_entrants_differ_by_seed_and_default_to_one_thread() -> None:
    assert [entrant_options({"random_seed": 7}, i)["random_seed"] for i in range(3)] == [7, 8, 9]
    assert entrant_options({}, 0)["threads"] == 1
    assert entrant_options({"threads": 2}, 1)["threads"] == 2


def test_race_is_refused_with_the_pyomo_builder(tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "spatialopt.cli", "solve", str(TUTORIAL), "--out", str(tmp_path / "run"),
         "--race", "2", "--builder", "pyomo"],
        capture_output=True, text=True, timeout=120,
    )
    assert process.returncode == 2
    assert "--race" in process.stderr and "Traceback" not in process.stderr
    assert not (tmp_path / "run").exists()
