"""Sweeps: the numbers equal individual solves of the changed instances; folders, table, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import spatialopt
from spatialopt.check import check_solution
from spatialopt.cli import main
from spatialopt.result_folder import load_solution
from spatialopt.scenarios import (
    SweepOutcome,
    diff_plans,
    load_scenarios,
    run_sweep,
    task_options,
    worst_exit_code,
)

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"
EXACT = task_options(spatialopt.solver_options(gap=1e-9))

STUDY = f"""
base = "{TUTORIAL.as_posix()}"

[[scenarios]]
name = "budget-cut"
scale = {{ "policy.budget" = 0.8 }}

[[scenarios]]
name = "baoding-grows"
set = {{ "cities.baoding.cap_residents" = 80000 }}

[[scenarios]]
name = "no-xiongan"
exclude_cities = ["xiongan"]
"""

IMPOSSIBLE = """
[[scenarios]]
name = "impossible"
set = { "sources.beijing-core.target_reduction" = 900000 }
"""


@pytest.fixture(scope="module")
def tutorial() -> spatialopt.Instance:
    return spatialopt.load(TUTORIAL)


def plan(result: spatialopt.Result) -> dict[tuple[str, str], float]:
    a = result.assignments
    return {(f, d): u for f, d, u in zip(a["facility"], a["destination"], a["units"])}


def test_sweep_equals_individual_solves(tmp_path: Path, tutorial: spatialopt.Instance) -> None:
    path = tmp_path / "study.toml"
    path.write_text(STUDY, encoding="utf-8")
    study = load_scenarios(path)
    seen: list[tuple[int, int, str]] = []
    sweep = run_sweep(tutorial, study, workers=1, options=EXACT,
                      on_result=lambda done, total, o: seen.append((done, total, o.name)))
    assert seen == [(1, 4, "base"), (2, 4, "budget-cut"), (3, 4, "baoding-grows"), (4, 4, "no-xiongan")]
    assert sweep.exit_code == 0
    table = sweep.comparison.set_index("scenario")
    base_result = sweep.outcomes["base"].result
    for scenario in study.scenarios:
        changed = tutorial.with_changes(scenario.changes)
        alone = spatialopt.solve(changed, highs_options=EXACT)
        got = sweep.outcomes[scenario.name].result
        assert got.instance.sha256 == changed.sha256
        assert got.objective == pytest.approx(alone.objective, abs=1e-6)
        assert plan(got) == plan(alone)
        assert check_solution(changed, got.to_solution_dict()).ok
        row = table.loc[scenario.name]
        assert row["status"] == "optimal" and row["objective"] == pytest.approx(alone.objective)
        for c, value in alone.components.items():
            assert row[c] == pytest.approx(value)
        for s in alone.sources.itertuples():
            assert row[f"moved_{s.city}"] == pytest.approx(s.moved_residents)
            assert row[f"density_after_{s.city}"] == pytest.approx(s.density_after)
        assert row["sites_opened"] == int(alone.opened.sum())
        changed_ids = diff_plans(base_result, alone).facilities["facility"].tolist()
        assert row["destinations_changed"] == len(changed_ids)
        assert row["changed_facilities"] == ";".join(changed_ids)
    assert table.loc["base", "destinations_changed"] == 0
    assert table.loc["no-xiongan", "destinations_changed"] > 0  # xiongan received facilities in the base


def test_cli_sweep_on_a_process_pool(tmp_path: Path, tutorial: spatialopt.Instance,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "study.toml"
    path.write_text(STUDY + IMPOSSIBLE, encoding="utf-8")
    out = tmp_path / "sweep"
    code = main(["sweep", str(TUTORIAL), str(path), "--out", str(out), "--workers", "2", "--gap", "1e-9"])
    stdout, stderr = capsys.readouterr()
    assert code == 3, stdout + stderr  # every run but one has a plan; the worst status is infeasible
    lines = [line for line in stdout.splitlines() if line.startswith("[")]
    assert len(lines) == 5 and any("] impossible: infeasible, no plan" in line for line in lines)
    assert any("] budget-cut: optimal, objective" in line and "CNY million" in line for line in lines)
    assert {p.name for p in out.iterdir()} == {"base", "budget-cut", "baoding-grows", "no-xiongan", "impossible",
                                              "comparison.csv", "sweep.json"}
    table = pd.read_csv(out / "comparison.csv")
    assert table["scenario"].tolist() == ["base", "budget-cut", "baoding-grows", "no-xiongan", "impossible"]
    assert table.set_index("scenario").loc["impossible", "status"] == "infeasible"
    study = load_scenarios(path)
    for scenario in study.scenarios:
        changed = tutorial.with_changes(scenario.changes)
        solution = load_solution(out / scenario.name / "solution.json")
        assert solution["instance_sha256"] == changed.sha256
        assert check_solution(changed, solution).ok
        record = json.loads((out / scenario.name / "scenario.json").read_text())
        assert record["changes"] == scenario.changes.as_dict() and record["base_sha256"] == tutorial.sha256
    base_solution = load_solution(out / "base" / "solution.json")
    assert check_solution(tutorial, base_solution).ok and base_solution["instance_sha256"] == tutorial.sha256


def test_cli_sweep_reports_bad_scenarios_before_solving(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[scenarios]]\nname = "x"\nscale = { "cities.atlantis.cost_index" = 2 }\n', encoding="utf-8")
    code = main(["sweep", str(TUTORIAL), str(path), "--out", str(tmp_path / "never"), "--workers", "1"])
    _, stderr = capsys.readouterr()
    assert code == 2
    assert "bad.toml [scenario 'x']: scale cities.atlantis.cost_index=2.0, expected a known city id" in stderr
    assert not (tmp_path / "never").exists()


def test_worst_status_decides_the_exit_code() -> None:
    S = spatialopt.SolveStatus
    assert worst_exit_code([S.OPTIMAL, S.FEASIBLE]) == 0
    assert worst_exit_code([S.OPTIMAL, S.LIMIT_NO_SOLUTION]) == 4
    assert worst_exit_code([S.LIMIT_NO_SOLUTION, S.INFEASIBLE]) == 3
    assert worst_exit_code([S.INFEASIBLE, S.ERROR, S.OPTIMAL]) == 1


def test_a_failing_task_is_an_error_row_not_a_crash(tutorial: spatialopt.Instance, monkeypatch: pytest.MonkeyPatch) -> None:
    import spatialopt.scenarios.sweep as scenarios

    def boom(name, instance, options, builder="matrix"):
        if name == "broken":
            raise RuntimeError("worker lost")
        return scenarios_solve(name, instance, options, builder)

    scenarios_solve = scenarios._solve_task
    monkeypatch.setattr(scenarios, "_solve_task", boom)
    sweep = run_sweep(tutorial, {"broken": tutorial.with_changes(scale={"policy.budget": 0.5})}, workers=1, options=EXACT)
    broken: SweepOutcome = sweep.outcomes["broken"]
    assert broken.status == spatialopt.SolveStatus.ERROR and broken.error == "RuntimeError: worker lost"
    assert sweep.exit_code == 1
    row = sweep.comparison.set_index("scenario").loc["broken"]
    assert row["status"] == "error" and np.isnan(row["objective"]) and row["note"] == "RuntimeError: worker lost"


def test_an_infeasible_scenario_carries_the_terminals_repair_hints(tutorial: spatialopt.Instance) -> None:
    """HiGHS proves this scenario infeasible (counting does not); the sweep's result explains it as
    'spatialopt solve' does on the same instance (README, "A plan that cannot exist")."""
    tight = tutorial.with_changes(set={"policy.max_destination_share": 0.12})
    sweep = run_sweep(tutorial, {"tight": tight}, workers=1, options=EXACT)
    outcome = sweep.outcomes["tight"]
    assert outcome.status == spatialopt.SolveStatus.INFEASIBLE and outcome.result is not None
    assert outcome.result.termination != "presolve checks"
    hint = "raise max_destination_share from 0.12 to at least 0.147"
    assert any(hint in reason for reason in outcome.result.reasons), outcome.result.reasons
    assert hint in sweep.comparison.set_index("scenario").loc["tight", "note"]
