"""Limits and interrupts keep what was found: plan, bound and gap, written and checked."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import write_hard_gap

import spatialopt
from spatialopt import SolveStatus
from spatialopt.check import check_solution


@pytest.fixture(scope="module")
def hard_gap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hard_gap(tmp_path_factory.mktemp("hard"))


def test_solution_limit_keeps_incumbent_bound_and_gap(hard_gap: Path) -> None:
    """Stopping at HiGHS's first improving plan: feasible, with a finite bound and a gap > 0."""
    instance = spatialopt.load(hard_gap)
    result = spatialopt.solve(instance, threads=1, highs_options={"mip_max_improving_sols": 1})
    assert result.status == SolveStatus.FEASIBLE
    assert result.bound is not None and result.bound <= result.objective
    assert result.gap == pytest.approx((result.objective - result.bound) / abs(result.objective))
    assert result.gap > 0
    assert check_solution(instance, result.to_solution_dict()).ok


def test_same_seed_same_threads_same_answer(hard_gap: Path) -> None:
    """Determinism: the same instance, options, threads and seed give the same objective and bound."""
    instance = spatialopt.load(hard_gap)
    options = {"mip_max_improving_sols": 3}
    runs = [spatialopt.solve(instance, threads=1, seed=5, highs_options=options) for _ in range(2)]
    assert runs[0].objective == runs[1].objective
    assert runs[0].bound == runs[1].bound
    assert runs[0].status == runs[1].status


def wait_for(path: Path, text: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_ctrl_c_keeps_the_best_plan(hard_gap: Path, tmp_path: Path) -> None:
    """SIGINT during the search: HiGHS stops, the incumbent is written as 'feasible', exit 0."""
    out = tmp_path / "run"
    err = tmp_path / "stderr.txt"
    with open(err, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "spatialopt.cli", "solve", str(hard_gap), "--out", str(out),
             "--threads", "1", "--gap", "0"],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
        try:
            # An incumbent line ("  1.2 s  plan 2,099.000  bound ..."), not the banner's "best plan so far".
            assert wait_for(err, "  bound ", timeout=60), "no incumbent reported"
            time.sleep(0.5)
            process.send_signal(signal.SIGINT)
            stdout, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err.read_text()
    assert "(stopped: interrupted)" in stdout
    solution = json.loads((out / "solution.json").read_text())
    assert solution["status"] == "feasible"
    assert solution["objective"] is not None and solution["bound"] is not None
    assert check_solution(spatialopt.load(hard_gap), solution).ok
    assert json.loads((out / "run.json").read_text())["termination"] == "interrupted"
    assert "Traceback" not in err.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
