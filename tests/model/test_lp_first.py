"""The LP first (spatialopt.root_pass.solve_relaxation / whole_plan, on the solve path in spatialopt.api).

Before the start, the passes and the search, the default solve solves the
model's LP relaxation; when its optimum is whole it is a plan, and the LP
bound proves it. Expected optima are OR-Library's published ones
(instances/orlib/cap/optima.csv, instances/orlib/pmed/optima.csv; the same
figures as results/known_optima.csv).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import spatialopt
from spatialopt import SolveStatus, api
from spatialopt.api import LP_PROOF
from spatialopt.check import check_solution
from spatialopt.convert.orlib import write_cap_instance, write_pmed_instance
from spatialopt.derive import derive
from spatialopt.matrix import build_matrices
from spatialopt.root_pass import Relaxation, less_time, solve_relaxation, whole_plan
from spatialopt.session import HighsSession
from spatialopt.strong_rows import Strengthening

ROOT = Path(__file__).parents[2]
ORLIB = ROOT / "instances" / "orlib"
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"
NO_LP = Strengthening(lp_first=False)


def _published(family: str, name: str) -> float:
    for line in (ORLIB / family / "optima.csv").read_text().splitlines()[1:]:
        cells = line.split(",")
        if cells[0] == name:
            return float(cells[1])
    raise KeyError(name)


def _instance(family: str, name: str, folder: Path) -> spatialopt.Instance:
    path = ORLIB / family / f"{name}.txt"
    if family == "cap":
        return spatialopt.load(write_cap_instance(path, folder / name, variant="split"))
    return spatialopt.load(write_pmed_instance(path, folder / name))


@pytest.mark.parametrize(("family", "name"), [("cap", "cap131"), ("cap", "cap134"), ("pmed", "pmed1")])
def test_a_whole_lp_optimum_is_the_proved_answer(family: str, name: str, tmp_path: Path) -> None:
    """cap131, cap134 (split demand) and pmed1 have whole LP optima: the LP alone answers, at the published
    optimum, checked; no start is built and HiGHS does not search. Without the LP first, HiGHS's search
    agrees."""
    instance = _instance(family, name, tmp_path)
    result = spatialopt.solve(instance, threads=1)
    assert result.status == SolveStatus.OPTIMAL and result.termination == LP_PROOF
    assert result.objective == pytest.approx(_published(family, name), rel=1e-9)
    assert result.bound is not None and result.bound <= result.objective
    assert result.objective - result.bound <= 1e-9 * abs(result.objective)
    assert "lp" in result.timings and not {"start", "root", "solve"} & set(result.timings)
    report = check_solution(instance, result.to_solution_dict())
    assert report.ok, report.violations
    searched = spatialopt.solve(instance, threads=1, strengthen=NO_LP)
    assert "lp" not in searched.timings and searched.termination != LP_PROOF
    assert searched.objective == pytest.approx(result.objective, rel=1e-7)


def test_a_fractional_lp_goes_on_and_the_root_pass_reuses_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pmed2's LP (4,088.5) is not whole: the solve goes on to the start, the root pass and the search, and the
    LP is solved once (the pass is handed it), to the published optimum 4,093."""
    instance = _instance("pmed", "pmed2", tmp_path)
    relaxations: list[dict[str, Any]] = []
    original = HighsSession.run

    def counted(self: HighsSession, progress: Any = None) -> Any:
        if self.options.get("solve_relaxation"):
            relaxations.append(dict(self.options))
        return original(self, progress)

    monkeypatch.setattr(HighsSession, "run", counted)
    result = spatialopt.solve(instance, threads=1, gap=1e-6)
    assert result.status == SolveStatus.OPTIMAL and result.termination != LP_PROOF
    assert result.objective == pytest.approx(_published("pmed", "pmed2"))
    assert {"lp", "start", "root"} <= set(result.timings)
    assert len(relaxations) == 1 and relaxations[0]["presolve"] == "off"
    assert check_solution(instance, result.to_solution_dict()).ok


def test_whole_plan_rounds_a_whole_point_and_refuses_anything_else() -> None:
    instance = spatialopt.load(TUTORIAL)
    matrices = build_matrices(instance, derive(instance))
    relaxation = solve_relaxation(matrices, {"threads": 1})
    assert relaxation.bound is not None and relaxation.value is not None
    plan = whole_plan(matrices, relaxation)
    assert plan is not None  # the tutorial's LP optimum is whole
    integer = np.asarray(matrices.integer, bool)
    assert np.array_equal(plan[0][integer], np.round(plan[0][integer]))
    assert plan[1] == pytest.approx(relaxation.bound, rel=1e-9)
    nudged = relaxation.value.copy()
    at = np.flatnonzero(integer)[0]
    nudged[at] += 1e-7  # within HiGHS's integrality tolerance: rounded away
    again = whole_plan(matrices, Relaxation(bound=relaxation.bound, value=nudged))
    assert again is not None and again[0][at] == plan[0][at]
    nudged[at] += 0.3  # not whole
    assert whole_plan(matrices, Relaxation(bound=relaxation.bound, value=nudged)) is None
    moved = relaxation.value.copy()
    unused = np.flatnonzero(integer[matrices.x] & (plan[0][matrices.x] < 0.5))[0] + matrices.x.start
    moved[unused] = 1.0  # whole, but a facility then goes to two places (or beyond a cap)
    assert whole_plan(matrices, Relaxation(bound=relaxation.bound, value=moved)) is None
    assert whole_plan(matrices, Relaxation()) is None  # no LP optimum


def test_progress_shows_the_lp_plan_with_its_bound() -> None:
    seen: list[dict[str, float]] = []
    result = spatialopt.solve(spatialopt.load(TUTORIAL), threads=1, progress=seen.append)
    assert result.termination == LP_PROOF
    assert len(seen) == 1 and seen[0]["objective"] == pytest.approx(result.objective)
    assert seen[0]["bound"] == pytest.approx(result.objective) and seen[0]["gap"] == 0.0


def test_a_ctrl_c_in_the_lp_ends_the_solve_without_a_search(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(matrices: Any, options: Any, **_: Any) -> Relaxation:
        return Relaxation(interrupted=True, seconds=0.01)

    def no_search(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the search ran after a Ctrl-C in the LP")

    monkeypatch.setattr(api, "solve_relaxation", interrupted)
    monkeypatch.setattr(api, "run_highs_matrix", no_search)
    monkeypatch.setattr(api, "construct_start", no_search)
    result = spatialopt.solve(spatialopt.load(TUTORIAL))
    assert result.status == SolveStatus.LIMIT_NO_SOLUTION and result.termination == "interrupted"
    assert result.objective is None


def test_time_taken_from_a_limit_never_lengthens_it() -> None:
    assert less_time({"time_limit": 10.0}, 3.0)["time_limit"] == pytest.approx(7.0)
    assert less_time({"time_limit": 2.0}, 1.5)["time_limit"] == pytest.approx(1.0)  # one second at least left
    assert less_time({"time_limit": 0.01}, 0.003)["time_limit"] == pytest.approx(0.01)  # but not more than asked
    assert "time_limit" not in less_time({}, 3.0)


def test_a_short_limit_holds_with_the_lp_first(tmp_path: Path) -> None:
    """The LP's own limit is never above the solve's: a 0.05 s solve of pmed2 returns in well under a second
    (before, taking the LP's seconds from the limit could lengthen it to one second)."""
    import time

    instance = _instance("pmed", "pmed2", tmp_path)
    started = time.perf_counter()
    result = spatialopt.solve(instance, threads=1, time_limit=0.05, start=False)
    assert time.perf_counter() - started < 0.9
    assert result.to_solution_dict()["solver"]["options"]["time_limit"] == 0.05
