"""Solver options, profiles, statuses and what the solution record says about them."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import solve_checked

import spatialopt
from spatialopt import InstanceError, SolveStatus
from spatialopt.derive import derive
from spatialopt.matrix import build_matrices
from spatialopt.profiles import load_profile, packaged_profiles
from spatialopt.session import HighsSession
from spatialopt.status import STATUS_BY_MODEL_STATUS, map_highs_status

TUTORIAL = Path(__file__).parents[2] / "instances" / "tutorial" / "instance.toml"


@pytest.fixture(scope="module")
def tutorial() -> spatialopt.Instance:
    return spatialopt.load(TUTORIAL)


def test_changing_thread_counts_between_solves(tutorial: spatialopt.Instance) -> None:
    """HiGHS's global thread pool must not make a later solve with other threads fail."""
    objectives = [solve_checked(tutorial, threads=t).objective for t in (1, 2, 1, 0)]
    assert objectives == pytest.approx([objectives[0]] * 4)


def test_options_recorded_in_solution(tutorial: spatialopt.Instance) -> None:
    result = spatialopt.solve(tutorial, gap=1e-6, seed=7, time_limit=30)
    options = result.to_solution_dict()["solver"]["options"]
    assert options["mip_rel_gap"] == 1e-6
    assert options["random_seed"] == 7
    assert options["time_limit"] == 30
    assert result.to_solution_dict()["solver"]["name"] == "highs"


def test_profile_then_explicit_keywords(tutorial: spatialopt.Instance) -> None:
    options = spatialopt.solver_options("quick", gap=1e-3)
    assert options["mip_rel_gap"] == 1e-3  # the keyword wins
    assert options["time_limit"] == 60.0  # the profile's value stays


def test_exact_profile_proves_optimality(tutorial: spatialopt.Instance) -> None:
    result = solve_checked(tutorial, profile="exact")
    assert result.status == SolveStatus.OPTIMAL
    assert result.gap is not None and result.gap <= 1e-9


def test_unknown_profile_and_bad_options_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match="not found"):
        spatialopt.solver_options("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("[highs]\nmip_rel_gapp = 0.1\ntime_limit = 'soon'\n")
    with pytest.raises(InstanceError) as info:
        spatialopt.solver_options(str(bad))
    assert len(info.value.problems) == 2


def test_node_limit_before_any_solution(tutorial: spatialopt.Instance) -> None:
    """A node limit of 0 stops HiGHS before its first incumbent on the tutorial
    (checked with HiGHS 1.16): limit_no_solution, no plan, never an error
    (without a starting plan, which would be a plan before any node; start=False skips the LP first too,
    whose optimum is a plan on the tutorial)."""
    result = spatialopt.solve(tutorial, node_limit=0, start=False)
    assert result.status == SolveStatus.LIMIT_NO_SOLUTION
    record = result.to_solution_dict()
    assert record["objective"] is None and record["gap"] is None and record["assignments"] == []
    assert result.status.exit_code == 4


@pytest.mark.parametrize(
    ("model_status", "incumbent", "interrupted", "expected"),
    [
        ("kOptimal", True, False, SolveStatus.OPTIMAL),
        ("kOptimal", True, True, SolveStatus.OPTIMAL),  # finished before the Ctrl-C took effect
        ("kInfeasible", False, False, SolveStatus.INFEASIBLE),
        ("kUnboundedOrInfeasible", False, False, SolveStatus.INFEASIBLE),
        ("kUnbounded", False, False, SolveStatus.UNBOUNDED),
        ("kTimeLimit", True, False, SolveStatus.FEASIBLE),
        ("kTimeLimit", False, False, SolveStatus.LIMIT_NO_SOLUTION),
        ("kSolutionLimit", False, False, SolveStatus.LIMIT_NO_SOLUTION),
        ("kInterrupt", True, False, SolveStatus.FEASIBLE),
        ("kSolveError", True, True, SolveStatus.FEASIBLE),  # a Ctrl-C with an incumbent keeps it
        ("kSolveError", False, False, SolveStatus.ERROR),
        ("kNoSuchStatus", False, False, SolveStatus.ERROR),
    ],
)
def test_status_table(model_status: str, incumbent: bool, interrupted: bool, expected: SolveStatus) -> None:
    assert map_highs_status(model_status, incumbent, interrupted)[0] == expected


def test_every_highs_model_status_is_mapped() -> None:
    """The table covers every status the pinned highspy can return (its enum, not a list typed here)."""
    import highspy

    assert set(highspy.HighsModelStatus.__members__) <= set(STATUS_BY_MODEL_STATUS)


def test_a_ctrl_c_is_recorded_as_interrupted() -> None:
    assert map_highs_status("kTimeLimit", True, interrupted=True) == (SolveStatus.FEASIBLE, "interrupted")



def test_optimal_is_only_claimed_within_the_recorded_relative_gap(tutorial: spatialopt.Instance) -> None:
    """HiGHS may stop on its absolute gap (objectives near zero); a record whose gap exceeds
    the recorded mip_rel_gap then says 'feasible', since the spec's 'optimal' promises it."""
    import numpy as np

    from spatialopt.derive import derive
    from spatialopt.results import extract_plan
    from spatialopt.status import SolverRun

    d = derive(tutorial)
    # Moving nothing costs Tianjin's shortfall: 19,300 residents x 0.01 = 193.
    zeros = {"x": np.zeros(d.n_arcs), "y": np.zeros(len(d.site_type)), "u": np.zeros(1)}
    close = SolverRun(SolveStatus.OPTIMAL, 193.0, 192.9, zeros, options={"mip_rel_gap": 1e-4})
    result = extract_plan(tutorial, d, close)
    assert result.objective == pytest.approx(193.0)
    assert result.gap == pytest.approx(0.1 / 193.0) and result.status == SolveStatus.FEASIBLE
    proven = SolverRun(SolveStatus.OPTIMAL, 193.0, 193.0, zeros, options={"mip_rel_gap": 1e-4})
    assert extract_plan(tutorial, d, proven).status == SolveStatus.OPTIMAL


def test_one_thread_unless_told_and_every_profile_pins_a_seed(tutorial: spatialopt.Instance) -> None:
    """One HiGHS thread when no option sets threads (the measured choice in docs/extensions.md; HiGHS's
    own default follows the machine's cores), the option when one does; a seed in every shipped profile."""
    matrices = build_matrices(tutorial, derive(tutorial))
    assert HighsSession(matrices, {}).highs.getOptionValue("threads")[1] == 1
    assert HighsSession(matrices, {"threads": 2}).highs.getOptionValue("threads")[1] == 2
    assert "threads" not in spatialopt.solve(tutorial).solver["options"]  # a default, not a recorded choice
    for name in packaged_profiles():
        assert isinstance(load_profile(name)["random_seed"], int), name
