"""The root pass (spatialopt.root_pass): a guided start and reduced-cost fixing from one LP, before HiGHS.

OR-Library pmed2 (published optimum 4,093, ``results/known_optima.csv``) is
the test bed: 10,100 columns, so the default solve runs the pass; its LP
(4,088.5) opens few of the 100 candidate medians, and is not whole, so the LP
alone does not answer (pmed1's is whole: ``test_lp_first.py``).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import spatialopt
from spatialopt import SolveStatus, api
from spatialopt.check import check_solution
from spatialopt.convert.orlib import write_pmed_instance
from spatialopt.derive import derive
from spatialopt.heuristic import construct_start, start_problems
from spatialopt.matrix import matrices_from
from spatialopt.root_pass import (
    GUIDE_SECONDS,
    MANY_FRACTIONAL,
    SUB_MIP_HEURISTICS,
    RootPass,
    root_pass,
    stopped_run,
    wants_root_pass,
)
from spatialopt.session import HighsSession
from spatialopt.status import SolverRun
from spatialopt.stoppable import GRACE_SECONDS, fork_available
from spatialopt.strengthen import strong_formulation
from spatialopt.strong_rows import DEFAULT, Strengthening

ROOT = Path(__file__).parents[2]
PMED2_OPTIMUM = 4093.0  # OR-Library pmedinfo (results/known_optima.csv)
OPTIONS = {"threads": 1, "random_seed": 0, "mip_rel_gap": 1e-6, "time_limit": 120.0}


@pytest.fixture(scope="module")
def pmed2(tmp_path_factory: pytest.TempPathFactory) -> spatialopt.Instance:
    folder = tmp_path_factory.mktemp("pmed2")
    return spatialopt.load(write_pmed_instance(ROOT / "instances/orlib/pmed/pmed2.txt", folder / "pmed2"))


@pytest.fixture(scope="module")
def model(pmed2: spatialopt.Instance) -> tuple:
    derived = derive(pmed2)
    form, _ = strong_formulation(pmed2, derived, DEFAULT)
    matrices = matrices_from(form)
    greedy = construct_start(pmed2, derived, matrices)
    assert greedy is not None
    return derived, matrices, (greedy.values, greedy.objective)


def test_the_guided_start_is_a_checked_plan_no_worse_than_the_heuristic(model: tuple) -> None:
    _, matrices, greedy = model
    seen: list[dict[str, float]] = []
    _, start, report = root_pass(matrices, greedy, OPTIONS, guide=True, fix=False, progress=seen.append)
    assert start is not None and not report.interrupted
    assert start_problems(matrices, start[0]) == []
    assert start[1] == pytest.approx(float(matrices.cost @ start[0]))
    assert report.lp_bound is not None and report.lp_bound <= PMED2_OPTIMUM + 1e-6
    assert report.lp_bound - 1e-6 <= start[1] <= greedy[1]
    assert MANY_FRACTIONAL <= report.fractional < int(np.asarray(matrices.integer, bool).sum())
    # the sub-MIP may open only the sites the LP or the start opens: far fewer than the 100 candidates
    assert 0 < report.sites_kept < matrices.y.stop - matrices.y.start
    if start[1] < greedy[1]:  # a better plan is reported as the terminal's next plan line
        assert seen and seen[-1]["objective"] == pytest.approx(start[1])


def test_fixing_keeps_an_optimum_of_the_unfixed_model(model: tuple) -> None:
    """Every column the pass fixes is 0 (or within its new bounds) in an optimal plan HiGHS finds
    without the pass: the fixing cuts off no optimum."""
    _, matrices, greedy = model
    fixed, _, report = root_pass(matrices, greedy, OPTIONS, guide=True, fix=True)
    assert report.tightened > 0
    with HighsSession(matrices, OPTIONS) as session:
        plain = session.run()
        optimum = np.asarray(session.solution().col_value, dtype=float)
    assert plain.objective == pytest.approx(PMED2_OPTIMUM)
    assert np.all(optimum >= fixed.col_lower - 1e-9) and np.all(optimum <= fixed.col_upper + 1e-9)
    with HighsSession(fixed, OPTIONS) as session:
        again = session.run()
    assert again.status == SolveStatus.OPTIMAL and again.objective == pytest.approx(PMED2_OPTIMUM)


def test_a_default_solve_runs_the_pass_and_reports_the_options_asked(pmed2: spatialopt.Instance) -> None:
    result = spatialopt.solve(pmed2, gap=1e-6, threads=1, seed=0, time_limit=300)
    assert "root" in result.timings  # pmed2 has 10,100 integer columns: the pass runs
    assert result.status == SolveStatus.OPTIMAL and result.objective == pytest.approx(PMED2_OPTIMUM)
    solution = result.to_solution_dict()
    assert solution["solver"]["options"]["time_limit"] == 300  # not the limit left after the pass
    report = check_solution(pmed2, solution)
    assert report.ok, report.violations


def test_small_models_and_explicit_bounds_skip_the_pass(pmed2: spatialopt.Instance) -> None:
    tutorial = spatialopt.load(ROOT / "instances/tutorial/instance.toml")
    assert "root" not in spatialopt.solve(tutorial).timings  # below fixing_min_integers
    assert "root" not in spatialopt.solve(pmed2, upper_bound=PMED2_OPTIMUM + 1).timings  # fixed at build
    assert "root" not in spatialopt.solve(pmed2, strengthen=Strengthening.none()).timings
    assert "root" not in spatialopt.solve(pmed2, start=False).timings  # --no-start: HiGHS alone


def test_wants_root_pass_counts_integer_columns(model: tuple) -> None:
    _, matrices, _ = model
    n_integer = int(np.asarray(matrices.integer, bool).sum())
    assert wants_root_pass(matrices, n_integer)
    assert not wants_root_pass(matrices, n_integer + 1)


def test_a_ctrl_c_in_the_pass_ends_the_solve_with_the_start(pmed2: spatialopt.Instance,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C during the pass's LP or sub-MIP: the solve ends there, with the best start and the LP
    bound (when it has one), as a stopped run does; no search starts."""
    seen: dict[str, float] = {}

    def interrupted(matrices, start, options, **_):  # type: ignore[no-untyped-def]
        seen["objective"] = start[1]
        return matrices, start, RootPass(lp_bound=5000.0, interrupted=True, seconds=0.1)

    def no_search(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the search ran after a Ctrl-C in the root pass")

    monkeypatch.setattr(api, "root_pass", interrupted)
    monkeypatch.setattr(api, "run_highs_matrix", no_search)
    result = spatialopt.solve(pmed2)
    assert result.status == SolveStatus.FEASIBLE and result.termination == "interrupted"
    assert result.objective == pytest.approx(seen["objective"]) and result.bound == pytest.approx(5000.0)
    assert check_solution(pmed2, result.to_solution_dict()).ok


def test_stopped_run_without_a_start_has_no_plan(model: tuple) -> None:
    _, matrices, _ = model
    run = stopped_run(matrices, None, RootPass(lp_bound=None, interrupted=True), {}, "1.16.0")
    assert run.status == SolveStatus.LIMIT_NO_SOLUTION and run.objective is None and run.termination == "interrupted"


def test_once_columns_are_fixed_the_start_is_the_fallback_not_handed_to_highs(model: tuple) -> None:
    """HiGHS 1.16 misjudges a start against a presolved model with an offset (root_pass.RootPass.search_start):
    after fixing, the search gets no start, and a search that ends with nothing better returns the start."""
    _, matrices, greedy = model
    fixed = RootPass(lp_bound=5000.0, tightened=3)
    assert fixed.search_start(greedy) is None and RootPass(tightened=0).search_start(greedy) is greedy
    assert fixed.search_options({"time_limit": 10.0}, greedy)["time_limit"] == pytest.approx(10.0)
    nothing = SolverRun(status=SolveStatus.LIMIT_NO_SOLUTION, objective=None, bound=4000.0,
                        options={"time_limit": 9.5}, termination="maxTimeLimit")
    run = fixed.settled(nothing, matrices, greedy, {"time_limit": 10.0})
    assert run.status == SolveStatus.FEASIBLE and run.objective == greedy[1] and run.bound == 5000.0
    assert run.options["time_limit"] == 10.0 and run.termination == "maxTimeLimit"
    assert np.array_equal(run.values["x"], greedy[0][matrices.x])
    better = SolverRun(status=SolveStatus.OPTIMAL, objective=greedy[1] - 1, bound=greedy[1] - 1,
                       options={"time_limit": 9.5})
    assert fixed.settled(better, matrices, greedy, {"time_limit": 10.0}).objective == greedy[1] - 1


@pytest.mark.parametrize("name, optimum", [("pmed3", 4250.0), ("pmed5", 1355.0)])
def test_pmed_rows_where_presolve_leaves_an_offset_are_proved(name: str, optimum: float, tmp_path: Path) -> None:
    """pmed3 and pmed5 (published optima, results/known_optima.csv): after fixing, presolve assigns
    customers left with one arc; handed the start, HiGHS 1.16 ended 'optimal' below any plan's cost. (pmed5's
    LP is whole, so the LP first would answer before the pass: off here, to keep the pass's path tested.)"""
    instance = spatialopt.load(write_pmed_instance(ROOT / f"instances/orlib/pmed/{name}.txt", tmp_path / name))
    result = spatialopt.solve(instance, profile="exact", strengthen=Strengthening(lp_first=False))
    assert "root" in result.timings
    assert result.status == SolveStatus.OPTIMAL and result.objective == pytest.approx(optimum)
    assert result.bound == pytest.approx(optimum)
    assert check_solution(instance, result.to_solution_dict()).ok


def test_a_search_plan_that_ties_the_start_keeps_its_proof(model: tuple) -> None:
    _, matrices, greedy = model
    tie = SolverRun(status=SolveStatus.OPTIMAL, objective=greedy[1] * (1 + 1e-12), bound=greedy[1], options={})
    assert RootPass(tightened=1).settled(tie, matrices, greedy, {}).status == SolveStatus.OPTIMAL


# -- in a child process (a model of at least CHILD_NONZEROS nonzeros) ----------------------------
def every_model_to_a_child(monkeypatch: pytest.MonkeyPatch) -> None:
    solve_module = importlib.import_module("spatialopt.solve")
    monkeypatch.setattr(solve_module, "wants_child", lambda matrices: True)
    monkeypatch.setattr(api, "wants_child", lambda matrices: True)


@pytest.mark.skipif(not fork_available(), reason="the child-process solve needs fork")
def test_a_large_model_gets_the_pass_in_its_child(pmed2: spatialopt.Instance,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    every_model_to_a_child(monkeypatch)
    plans: list[dict[str, float]] = []
    result = spatialopt.solve(pmed2, gap=1e-6, threads=1, seed=0, time_limit=300, progress=plans.append)
    assert "root" in result.timings  # reported back from the child
    assert result.status == SolveStatus.OPTIMAL and result.objective == pytest.approx(PMED2_OPTIMUM)
    objectives = [p["objective"] for p in plans]
    assert objectives == sorted(objectives, reverse=True) and len(set(objectives)) == len(objectives)
    assert result.to_solution_dict()["solver"]["options"]["time_limit"] == 300
    assert check_solution(pmed2, result.to_solution_dict()).ok


@pytest.mark.skipif(not fork_available(), reason="the child-process solve needs fork")
def test_a_child_stopped_after_the_pass_answers_with_its_best_start(pmed2: spatialopt.Instance,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The search after the pass hangs polling nothing: the parent stops the child at the limit, and the
    answer is the best start the pass announced, with the LP bound."""
    every_model_to_a_child(monkeypatch)
    # the LP bound may prove the pass's start within the gap, and then no search would run: make it search
    monkeypatch.setattr(RootPass, "proves", lambda self, start, options: False)
    original = HighsSession.run
    limit = 5.0

    def stalled(self: HighsSession, progress: Any = None) -> Any:
        search = not self.options.get("solve_relaxation") and self.options.get("time_limit") == limit
        if search:
            time.sleep(60)
        return original(self, progress)

    monkeypatch.setattr(HighsSession, "run", stalled)  # the forked child inherits the patched class
    plans: list[dict[str, float]] = []
    started = time.monotonic()
    result = spatialopt.solve(pmed2, time_limit=limit, threads=1, progress=plans.append)
    assert time.monotonic() - started < limit + GRACE_SECONDS + 5.0  # the fork, the kill, the checks
    assert result.termination == "maxTimeLimit" and result.status.has_solution
    assert len(plans) >= 2 and result.objective == pytest.approx(plans[-1]["objective"])
    assert plans[-1]["objective"] < plans[0]["objective"]  # the pass's start, better than the heuristic's
    assert result.bound is not None and result.bound <= result.objective + 1e-9
    assert check_solution(pmed2, result.to_solution_dict()).ok
    # the pass's seconds are "root", told by the child before its search, not part of "handoff" or "solve"
    timings = result.timings
    assert timings["root"] > 0 and timings["handoff"] >= 0 and timings["solve"] >= 0
    assert timings["root"] + timings["handoff"] + timings["solve"] <= time.monotonic() - started


def test_the_widened_rounding_frees_exactly_the_split_facilities(model: tuple) -> None:
    """``_split_facilities_freed``: the box around the LP, except every move of a facility the LP splits
    (its assign row's columns) back to its whole range; None when no move is fractional."""
    from spatialopt.root_pass import _around_the_lp, _split_facilities_freed

    _, matrices, greedy = model
    value = greedy[0].copy()
    assert _split_facilities_freed(matrices, value) is None  # a whole plan: nothing is split
    rows = matrices.family_rows["assign"]
    row = rows.start + 7  # one customer's assign row: split its unit between its plan's arc and another
    cols = matrices.a_index[matrices.a_start[row]:matrices.a_start[row + 1]]
    held = cols[value[cols] > 0.5][0]
    other = cols[cols != held][0]
    value[held], value[other] = 0.5, 0.5
    widened = _split_facilities_freed(matrices, value)
    box = _around_the_lp(matrices, value)
    freed = np.zeros(matrices.n_cols, dtype=bool)
    freed[cols] = True
    assert np.array_equal(widened.col_lower[freed], matrices.col_lower[freed])
    assert np.array_equal(widened.col_upper[freed], matrices.col_upper[freed])
    assert np.array_equal(widened.col_lower[~freed], box.col_lower[~freed])  # pmed has no other integer columns
    assert np.array_equal(widened.col_upper[~freed], box.col_upper[~freed])
    assert box.col_upper[cols].sum() == 2  # the box allows the customer only the two arcs the LP splits it over
    assert widened.col_upper[cols].sum() == cols.size


def test_the_lp_bound_proves_a_start_within_the_gap() -> None:
    values = np.zeros(3)
    report = RootPass(lp_bound=100.0)
    assert report.proves((values, 100.5), {"mip_rel_gap": 0.01})  # 0.5% above the LP bound
    assert not report.proves((values, 100.5), {"mip_rel_gap": 1e-4, "mip_abs_gap": 1e-6})
    assert report.proves((values, 100.5), {"mip_rel_gap": 1e-4, "mip_abs_gap": 0.5})  # HiGHS's either-or
    assert not report.proves((values, 100.5), {})  # HiGHS's defaults: 1e-4 and 1e-6
    assert not report.proves(None, {"mip_rel_gap": 0.5})
    assert not RootPass(lp_bound=None).proves((values, 100.5), {"mip_rel_gap": 0.5})


def test_highs_sub_mips_are_off_only_for_a_near_start_and_a_much_split_lp() -> None:
    values = np.zeros(3)
    off = dict.fromkeys(SUB_MIP_HEURISTICS, False)
    split = RootPass(lp_bound=100.0, fractional=MANY_FRACTIONAL, seconds=2.0)
    near = split.search_options({"time_limit": 10.0, "mip_rel_gap": 1e-4}, (values, 100.9))  # 0.89% above
    assert {k: near[k] for k in SUB_MIP_HEURISTICS} == off
    assert near["time_limit"] == pytest.approx(8.0) and near["mip_rel_gap"] == 1e-4
    untouched = [
        split.search_options({}, (values, 102.0)),  # 1.96% above the LP bound: the sub-MIPs may find better
        split.search_options({}, None),
        RootPass(lp_bound=100.0, fractional=MANY_FRACTIONAL - 1).search_options({}, (values, 100.9)),  # small sub-MIPs
        RootPass(lp_bound=None, fractional=MANY_FRACTIONAL).search_options({}, (values, 100.0)),
    ]
    assert all(not set(SUB_MIP_HEURISTICS) & set(options) for options in untouched)
    asked = split.search_heuristics({"mip_heuristic_run_rins": True}, (values, 100.0))  # the caller's word stands
    assert asked["mip_heuristic_run_rins"] is True and asked["mip_heuristic_run_rens"] is False


@pytest.mark.parametrize("in_child", [False, True], ids=["here", "child"])
def test_the_search_after_a_near_start_runs_without_highs_sub_mips(pmed2: spatialopt.Instance, in_child: bool,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """pmed2's LP splits well over MANY_FRACTIONAL columns and the pass's start is within 1% of its bound (4,088.5
    against the optimum 4,093): the search runs with RINS, RENS and root reduced cost off, as its recorded
    options say, and still proves the published optimum."""
    if in_child:
        if not fork_available():
            pytest.skip("the child-process solve needs fork")
        every_model_to_a_child(monkeypatch)
    result = spatialopt.solve(pmed2, gap=1e-6, threads=1, seed=0, time_limit=300)
    assert result.status == SolveStatus.OPTIMAL and result.objective == pytest.approx(PMED2_OPTIMUM)
    assert "solve" in result.timings and result.timings["solve"] > 0  # searched, not proved by the pass
    options = result.to_solution_dict()["solver"]["options"]
    assert {k: options.get(k) for k in SUB_MIP_HEURISTICS} == dict.fromkeys(SUB_MIP_HEURISTICS, False)
    assert check_solution(pmed2, result.to_solution_dict()).ok


@pytest.mark.parametrize("in_child", [False, True], ids=["here", "child"])
def test_a_start_the_lp_bound_proves_ends_the_solve_without_a_search(pmed2: spatialopt.Instance, in_child: bool,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With a 50% gap asked, pmed2's best start (well within 50% of its LP bound) is the answer, proved by the pass's
    LP bound: optimal within the gap, checked, its bound no more than the published optimum."""
    if in_child:
        if not fork_available():
            pytest.skip("the child-process solve needs fork")
        every_model_to_a_child(monkeypatch)
    searches: list[dict[str, Any]] = []
    original = HighsSession.run

    def counted(self: HighsSession, progress: Any = None) -> Any:
        if not self.options.get("solve_relaxation"):
            searches.append(dict(self.options))
        return original(self, progress)

    monkeypatch.setattr(HighsSession, "run", counted)
    result = spatialopt.solve(pmed2, gap=0.5, threads=1, seed=0, time_limit=300)
    assert result.status == SolveStatus.OPTIMAL and result.termination == "proved by the root pass's LP bound"
    assert "root" in result.timings
    assert result.bound is not None and result.bound <= PMED2_OPTIMUM + 1e-6 <= result.objective + 1e-6
    assert (result.objective - result.bound) / result.objective <= 0.5
    assert check_solution(pmed2, result.to_solution_dict()).ok
    if not in_child:  # (a forked child's runs are not counted here) only the pass's guided sub-MIPs ran
        assert all(o.get("time_limit", 0) <= GUIDE_SECONDS for o in searches)
