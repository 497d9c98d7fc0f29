"""Limits and interrupts keep what was found: plan, bound and gap, written and checked."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import load_scale_generator, write_hard_gap

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


# -- the limit and Ctrl-C on a model whose presolve polls neither ---------------------------------
# The seeded 3,000-facility x 400-city instance in three plan periods (bench/scale_instance.py):
# 3.6M columns, 19.9M nonzeros. In-process, HiGHS returned from a 1 s limit after 6-30 s on the
# loaded 2-core machine (passModel and presolve look at no clock); in a child process it is stopped.
GRACE = 1.0  # spatialopt.stoppable.GRACE_SECONDS, the parent's wait past the limit or a Ctrl-C
SLACK = 2.0  # the fork, the kill, reading the last plan and the outcome back, on a loaded machine


@pytest.fixture(scope="module")
def national_phased(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generator = load_scale_generator()
    return generator.write(generator.generate(3000, 400), tmp_path_factory.mktemp("scale"), phased=True)


def solver_stage(out: Path) -> float:
    """Seconds from the model's handoff to HiGHS to the answer, as run.json records them."""
    timings = json.loads((out / "run.json").read_text())["timings_seconds"]
    return timings["handoff"] + timings["solve"]


def assert_answer_is_right(instance: Path, out: Path, returncode: int, termination: str) -> None:
    solution = json.loads((out / "solution.json").read_text())
    run = json.loads((out / "run.json").read_text())
    assert run["termination"] == termination
    if solution["status"] == "limit_no_solution":
        assert returncode == 4
    else:  # a plan found in time: kept, and it holds
        assert (solution["status"], returncode) == ("feasible", 0)
        assert check_solution(spatialopt.load(instance), solution).ok


@pytest.mark.slow
def test_time_limit_is_kept_whatever_the_stage(national_phased: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = subprocess.run(
        [sys.executable, "-m", "spatialopt.cli", "solve", str(national_phased), "--out", str(out),
         "--time-limit", "1", "--threads", "1"],
        capture_output=True, text=True, timeout=600,
    )
    assert "Traceback" not in process.stderr
    assert solver_stage(out) <= 1.0 + GRACE + SLACK
    assert_answer_is_right(national_phased, out, process.returncode, "maxTimeLimit")


@pytest.mark.slow
def test_ctrl_c_is_kept_whatever_the_stage(national_phased: Path, tmp_path: Path) -> None:
    """SIGINT about 1 s into HiGHS's presolve (which polls nothing): back within the grace."""
    out = tmp_path / "run"
    log = tmp_path / "stdout.txt"
    with open(log, "w") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "spatialopt.cli", "solve", str(national_phased), "--out", str(out),
             "--time-limit", "600", "--threads", "1", "--verbose"],
            stdout=stdout, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert wait_for(log, "Presolving model", timeout=300), "HiGHS never started"
            time.sleep(1.0)
            process.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
            _, stderr = process.communicate(timeout=120)
            # After the answer: the plan's check and the result's writing, a few seconds at this size.
            stopped = time.monotonic() - interrupted
        finally:
            if process.poll() is None:
                process.kill()
    assert "Traceback" not in stderr
    assert "(stopped: interrupted)" in log.read_text()
    assert_answer_is_right(national_phased, out, process.returncode, "interrupted")
    assert stopped <= GRACE + SLACK + json.loads((out / "run.json").read_text())["timings_seconds"]["extract"] + 5.0
