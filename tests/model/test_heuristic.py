"""Starting plans: feasible by the independent checker on every shipped and hand instance, accepted by HiGHS,
absent (and harmless) when the heuristic finds none, and never a change to the optimum found.

Expected optima come from ``instances/hand/optima.csv`` (hand-worked) and
``instances/orlib/*/optima.csv`` (published); feasibility is judged by
:func:`spatialopt.check.check_solution`, a numpy reading of the spec that
shares no code with the model or the heuristic.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

import spatialopt
from spatialopt.check import check_solution
from spatialopt.convert.orlib import write_cap_instance, write_gap_instance, write_pmed_instance
from spatialopt.derive import derive
from spatialopt.heuristic import Start, construct_start, start_problems
from spatialopt.matrix import build_matrices
from spatialopt.results import extract_plan
from spatialopt.session import HighsSession
from spatialopt.start import part_columns, refine_start, refinement_for
from spatialopt.status import SolverRun, SolveStatus
from spatialopt.strong_rows import Strengthening

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p for p in (ROOT / "instances").glob("*/instance.toml"))
HAND = sorted((ROOT / "instances" / "hand").glob("*.toml"))


def _optima(path: Path) -> dict[str, float]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["instance"]: float(row["objective"]) for row in csv.DictReader(handle)}


HAND_OPTIMA = _optima(ROOT / "instances" / "hand" / "optima.csv")
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"


def _built(path: Path):
    instance = spatialopt.load(path)
    derived = derive(instance)
    return instance, derived, build_matrices(instance, derived)


def _checked(instance, derived, matrices, start: Start) -> None:
    """The start as a solution file passes the independent checker, with the objective the model gives it."""
    assert start_problems(matrices, start.values) == []
    run = SolverRun(status=SolveStatus.FEASIBLE, objective=start.objective, bound=None,
                    values={k: start.group(matrices, k) for k in ("x", "y", "u")})
    report = check_solution(instance, extract_plan(instance, derived, run, []).to_solution_dict())
    assert report.ok, report
    assert report.objective == pytest.approx(start.objective, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("path", SHIPPED + HAND, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_shipped_and_hand_instance_gets_a_checked_start(path: Path) -> None:
    instance, derived, matrices = _built(path)
    start = construct_start(instance, derived, matrices)
    assert start is not None, "no start: the terminal would show no plan before HiGHS's first"
    _checked(instance, derived, matrices, start)
    assert start.stages["improve"] <= start.stages["construct"] + 1e-9 * abs(start.stages["construct"])


@pytest.fixture(scope="module")
def orlib(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("orlib")
    base = ROOT / "instances" / "orlib"
    return {
        "cap41": write_cap_instance(base / "cap" / "cap41.txt", out / "cap41", "split"),
        "cap131": write_cap_instance(base / "cap" / "cap131.txt", out / "cap131", "split"),
        "pmed1": write_pmed_instance(base / "pmed" / "pmed1.txt", out / "pmed1"),
        "gap1-1": write_gap_instance(base / "gap" / "gap1.txt", out / "gap1-1", 1, "max"),
    }


@pytest.mark.parametrize("name", ["cap41", "cap131", "pmed1"])
def test_published_instances_get_a_checked_start_no_better_than_the_optimum(orlib: dict[str, Path], name: str) -> None:
    optima = {**_optima(ROOT / "instances" / "orlib" / "cap" / "optima.csv"),
              **_optima(ROOT / "instances" / "orlib" / "pmed" / "optima.csv")}
    instance, derived, matrices = _built(orlib[name])
    start = construct_start(instance, derived, matrices)
    assert start is not None
    _checked(instance, derived, matrices, start)
    assert start.objective >= optima[name] * (1 - 1e-6)  # a plan cannot beat the published optimum


def test_a_start_the_heuristic_cannot_find_is_not_given(orlib: dict[str, Path]) -> None:
    """gap1-1 (tight generalized assignment): greedy placement leaves jobs out; no start, the solve is unchanged."""
    instance, derived, matrices = _built(orlib["gap1-1"])
    assert construct_start(instance, derived, matrices) is None
    with_start = spatialopt.solve(instance, threads=1)
    assert with_start.status == SolveStatus.OPTIMAL
    assert -with_start.objective == pytest.approx(336)  # OR-Library gapinfo c515-1 (maximisation)


def test_infeasible_instance_gets_no_start_and_is_still_reported_infeasible(tmp_path: Path) -> None:
    folder = tmp_path / "inst"
    shutil.copytree(TUTORIAL.parent, folder)
    manifest = folder / "instance.toml"
    manifest.write_text(manifest.read_text().replace("target_reduction = 60_000", "target_reduction = 6_000_000"))
    instance, derived, matrices = _built(manifest)
    assert construct_start(instance, derived, matrices) is None
    assert spatialopt.solve(instance, threads=1, diagnose=False).status == SolveStatus.INFEASIBLE


def test_start_problems_finds_a_broken_plan() -> None:
    instance, derived, matrices = _built(TUTORIAL)
    start = construct_start(instance, derived, matrices)
    assert start is not None
    broken = start.values.copy()
    moved = np.flatnonzero(broken[matrices.x] > 0)[0] + matrices.x.start
    broken[moved] += 1  # one more unit than the facility has, or than the caps allow
    assert start_problems(matrices, broken)
    half = start.values.copy()
    integer_x = np.flatnonzero(matrices.integer[matrices.x] & (half[matrices.x] > 0))
    if integer_x.size:
        half[matrices.x.start + integer_x[0]] -= 0.5
        assert any("not whole" in p for p in start_problems(matrices, half))


def test_highs_accepts_the_start_and_has_a_plan_before_any_node() -> None:
    """With no node allowed HiGHS has no plan of its own on the tutorial; with the start it has that plan."""
    instance, derived, matrices = _built(TUTORIAL)
    start = construct_start(instance, derived, matrices)
    assert start is not None
    session = HighsSession(matrices, {"threads": 1, "mip_max_nodes": 0}, keep_log=True)
    session.set_start(start.values)
    run = session.run()
    assert "MIP start solution is feasible" in run.log
    assert run.status.has_solution and run.objective <= start.objective + 1e-9
    # without the LP first: the tutorial's LP optimum is whole, and would answer before HiGHS searches at all
    no_lp = Strengthening(lp_first=False)
    without = spatialopt.solve(instance, threads=1, node_limit=0, start=False, strengthen=no_lp)
    assert without.status == SolveStatus.LIMIT_NO_SOLUTION
    with_start = spatialopt.solve(instance, threads=1, node_limit=0, strengthen=no_lp)
    assert with_start.status.has_solution and with_start.objective <= start.objective + 1e-9


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_highs_says_every_shipped_start_is_feasible(path: Path) -> None:
    instance, derived, matrices = _built(path)
    start = construct_start(instance, derived, matrices)
    assert start is not None
    session = HighsSession(matrices, {"threads": 1, "mip_max_nodes": 0, "time_limit": 30.0}, keep_log=True)
    session.set_start(start.values)
    run = session.run()
    assert "MIP start solution is feasible" in run.log
    assert run.objective is not None and run.objective <= start.objective + 1e-9 * max(1.0, abs(start.objective))


def test_progress_shows_the_start_first() -> None:
    """(Without the LP first: the tutorial's LP optimum is a plan, and would be the first and only line.)"""
    seen: list[dict[str, float]] = []
    instance = spatialopt.load(TUTORIAL)
    result = spatialopt.solve(instance, threads=1, progress=seen.append, strengthen=Strengthening(lp_first=False))
    start = construct_start(instance, derive(instance), build_matrices(instance, derive(instance)))
    assert start is not None and seen
    assert seen[0]["objective"] == pytest.approx(start.objective) and np.isnan(seen[0]["bound"])
    assert result.objective <= seen[0]["objective"]


def test_progress_shows_each_plan_once_and_only_better_ones() -> None:
    """jingjinji-2035's start is its optimum: HiGHS's first plan is the start again, and is not shown twice."""
    seen: list[dict[str, float]] = []
    result = spatialopt.solve(spatialopt.load(ROOT / "instances" / "jingjinji-2035" / "instance.toml"), threads=1,
                              progress=seen.append)
    objectives = [s["objective"] for s in seen]
    assert objectives[0] == pytest.approx(result.objective)  # the start, already optimal
    # Each plan shown is cheaper than the one before by more than HiGHS's last bits (here: one plan only).
    assert all(later < earlier - 1e-9 * max(1.0, abs(earlier)) for earlier, later in zip(objectives, objectives[1:])), \
        objectives


@pytest.mark.parametrize("path", HAND, ids=lambda p: p.stem)
def test_hand_optima_are_found_with_and_without_the_start(path: Path) -> None:
    instance = spatialopt.load(path)
    for start in (True, False):
        result = spatialopt.solve(instance, threads=1, start=start)
        assert result.status == SolveStatus.OPTIMAL
        if path.stem in HAND_OPTIMA:
            assert result.objective == pytest.approx(HAND_OPTIMA[path.stem], abs=1e-6)
    assert (spatialopt.solve(instance, threads=1).objective
            == pytest.approx(spatialopt.solve(instance, threads=1, start=False).objective, abs=1e-6))


@pytest.mark.parametrize("name", ["jingjinji-2035-phased", "china-2035"])
def test_refinement_keeps_a_checked_plan_no_worse_than_the_start(name: str) -> None:
    instance, derived, matrices = _built(ROOT / "instances" / name / "instance.toml")
    start = construct_start(instance, derived, matrices)
    assert start is not None
    by = refinement_for(instance)
    assert by == ("periods" if instance.phased else "clusters")
    parts = part_columns(instance, derived, matrices, by)
    assert len(parts) >= 2
    refined = refine_start(instance, derived, matrices, start, by=by, seconds=5.0)
    assert refined.objective <= start.objective + 1e-9 * abs(start.objective)
    _checked(instance, derived, matrices, refined)


def test_refinement_for_a_one_period_instance_in_one_cluster_is_none() -> None:
    assert refinement_for(spatialopt.load(TUTORIAL)) is None
    with pytest.raises(ValueError, match="unknown refinement"):
        part_columns(*_built(TUTORIAL), by="regions")
