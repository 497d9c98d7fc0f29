"""``spatialopt explain`` on plans with periods (spec v2): one move column per arc and period.

- Runner-ups: forbidding the chosen arc forbids it in every period; the best
  plan without it is solved from scratch by ``spatialopt.solve`` on the
  instance with an arcs table that leaves the arc out (and the facility made
  to move when that plan keeps it home), as tests/explain/test_explain.py does
  for single-period plans. Instances: the hand-worked phased ones.
- Marginal values on a phased pure LP: rows per period are named with their
  period, and each matches a finite difference of the objective (the instance
  rebuilt with the milestone, the final target, the period budget or the cap
  moved by a small amount, solved through the normal path).
- The result folder of a phased plan is read back with its periods:
  ``spatialopt explain`` on it answers (it used to fail on the column count).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from support import load_dict

import spatialopt
from spatialopt.cli import main
from spatialopt.derive import derive
from spatialopt.explain import explain
from spatialopt.instance import Instance

ROOT = Path(__file__).parents[2]
PHASED_SCHEDULE = ROOT / "instances" / "hand" / "phased-schedule.toml"
EVERY_V2_KEY = ROOT / "tests" / "data" / "every-v2-key" / "instance.toml"
EXACT = {"mip_rel_gap": 1e-9}


def solve_exactly(instance: Instance) -> spatialopt.Result:
    result = spatialopt.solve(instance, gap=1e-9)
    assert result.status == spatialopt.SolveStatus.OPTIMAL
    return result


def without_arc_everywhere(instance: Instance, facility: str, city: str, must_move: str | None = None) -> Instance:
    """The instance with an arcs table of every eligible arc but (facility, city): in no period may it be used."""
    keys = derive(instance).arc_keys()
    if instance.arcs is not None:
        table = instance.arcs.copy()
    else:
        table = pd.DataFrame({"facility": [f for f, _ in keys], "destination": [d for _, d in keys],
                              "cost": np.nan})
    table = table[~((table["facility"] == facility) & (table["destination"] == city))].reset_index(drop=True)
    fac = instance.facilities.copy()
    if must_move is not None:
        fac.loc[must_move, "must_move"] = True
    return dataclasses.replace(instance, arcs=table, facilities=fac)


def phased_with_b_eligible(tmp_path: Path) -> Instance:
    """phased-schedule with the travel-time belt widened (max_minutes 200): b (153 minutes) becomes eligible."""
    text = PHASED_SCHEDULE.read_text().replace("max_minutes = 90.0", "max_minutes = 200.0")
    assert "max_minutes = 200.0" in text
    path = tmp_path / "phased-b.toml"
    path.write_text(text)
    return spatialopt.load(path)


# -- runner-ups -------------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["every-v2-key", "phased-b"])
def test_phased_runner_up_equals_an_independent_solve_without_the_arc_in_any_period(
        source: str, tmp_path: Path) -> None:
    instance = spatialopt.load(EVERY_V2_KEY) if source == "every-v2-key" else phased_with_b_eligible(tmp_path)
    assert instance.phased
    result = solve_exactly(instance)
    moved = explain(result, options=EXACT, workers=1).moved
    assert len(moved) == len(result.assignments) > 0
    assert (moved["period"] != "").all() and set(moved["period"]) <= {p.id for p in instance.periods}
    fac = instance.facilities
    checked = 0
    for row in moved.itertuples():
        if row.units != fac.at[row.facility, "count"]:
            continue  # the runner-up is asked of a facility whose whole row moves
        assert f" in {row.period}" in row.text
        free = solve_exactly(without_arc_everywhere(instance, row.facility, row.destination))
        leaves_home = not (free.assignments["facility"] == row.facility).any()
        assert bool(row.stays_instead) == leaves_home, row.facility
        alternative = solve_exactly(without_arc_everywhere(instance, row.facility, row.destination,
                                                           must_move=row.facility)) if leaves_home else free
        expected = alternative.objective - result.objective
        assert row.runner_up_extra_cost == pytest.approx(expected, rel=1e-6, abs=1e-6), row.facility
        assert row.runner_up_status == "optimal"
        went = alternative.assignments[alternative.assignments["facility"] == row.facility]
        if abs(expected) > 1e-6:  # a tie may pick either city
            assert row.runner_up == went.sort_values("units").iloc[-1]["destination"], row.facility
        checked += 1
    assert checked == len(moved)


def test_phased_plan_with_one_destination_has_no_runner_up() -> None:
    """phased-schedule (hand-worked, objective 25): a is the only eligible city, so no plan avoids it."""
    instance = spatialopt.load(PHASED_SCHEDULE)
    result = solve_exactly(instance)
    assert result.objective == pytest.approx(25.0)
    moved = explain(result, options=EXACT, workers=1).moved
    assert sorted(zip(moved["facility"], moved["period"])) == [("f1", "2026-2030"), ("f2", "2021-2025")]
    assert (moved["runner_up"] == "").all()
    assert moved["text"].str.contains("no other eligible destination").all()
    # Independently: without a (in every period) no plan meets the target.
    alone = spatialopt.solve(without_arc_everywhere(instance, "f1", "a"))
    assert alone.status == spatialopt.SolveStatus.INFEASIBLE


def phased_with_optional_f3(tmp_path: Path) -> Instance:
    """phased-schedule with a third, optional facility f3: 3 jobs, fixed cost 12 (hand-worked).

    At a (cost index 0.5) f3 saves 3 x 0.5 = 1.5 a year: 15 when moved in
    2021-2025 (10 years), 7.5 in 2026-2030, so its move costs 12 - 15 = -3
    then and 12 - 7.5 = +4.5 later. The milestone (10 residents by 2025) needs
    f1 or f2 (50) in 2021-2025, which leaves 10 of that period's budget of 60:
    f3 cannot move then, and moving it later costs +4.5, so it stays.
    """
    extra = '[[facilities]]\nid = "f3"\norigin = "core"\ntype = "office"\njobs = 3\nfixed_cost = 12.0\n'
    path = tmp_path / "phased-f3.toml"
    path.write_text(PHASED_SCHEDULE.read_text() + "\n" + extra)
    return spatialopt.load(path)


def test_why_not_names_the_period_budget_in_the_way(tmp_path: Path) -> None:
    instance = phased_with_optional_f3(tmp_path)
    assert instance.policy.budget is None  # only a period has a budget: the overall check says nothing
    result = solve_exactly(instance)
    assert result.objective == pytest.approx(25.0)  # as phased-schedule: f3 stays
    staying = explain(result, options=EXACT, workers=1).staying
    row = staying.set_index("facility").loc["f3"]
    assert row["extra_cost"] == pytest.approx(4.5)  # hand-worked: f3 to a in 2026-2030
    assert row["cheapest_destination"] == "a" and row["period"] == "2026-2030"
    assert "moving it (to a in 2026-2030) costs" in row["text"]
    independent = solve_exactly(dataclasses.replace(instance, facilities=_must_move(instance, "f3")))
    assert row["extra_cost"] == pytest.approx(independent.objective - result.objective, abs=1e-9)
    assert "the 2021-2025 budget (10.00 left of 60.00; moving it then spends 12.00)" in row["why_not"]
    assert "2026-2030 budget" not in row["why_not"]  # that period has no budget


def test_other_moves_name_a_facility_that_only_changes_period(tmp_path: Path) -> None:
    """phased-b (hand-worked): a move to b saves 8 a year, so it costs 50 - 80 = -30 in 2021-2025 and
    50 - 40 = +10 in 2026-2030; one fits the 2021-2025 budget: optimum -20. Without b, the facility moved
    first goes to a in 2026-2030 (+25) and the other one takes its place in 2021-2025 (-30): -5, the same
    city in another period."""
    instance = phased_with_b_eligible(tmp_path)
    result = solve_exactly(instance)
    assert result.objective == pytest.approx(-20.0)
    moved = explain(result, options=EXACT, workers=1).moved.set_index("facility")
    first = moved.index[moved["period"] == "2021-2025"][0]
    later = moved.index[moved["period"] == "2026-2030"][0]
    row = moved.loc[first]
    assert row["runner_up"] == "a" and row["runner_up_extra_cost"] == pytest.approx(15.0)
    assert row["other_moves"] == f"{later}: b in 2026-2030 -> b in 2021-2025"
    assert f"{later}: b in 2026-2030 -> b in 2021-2025" in row["text"]
    independent = solve_exactly(without_arc_everywhere(instance, first, "b"))
    went = independent.assignments.set_index("facility")
    assert went.loc[later, "destination"] == "b" and went.loc[later, "period"] == "2021-2025"
    assert moved.loc[later, "other_moves"] == ""  # avoiding b later changes nothing else (-5 as well)


def _must_move(instance: Instance, facility: str) -> pd.DataFrame:
    fac = instance.facilities.copy()
    fac.loc[facility, "must_move"] = True
    return fac


# -- the result folder ------------------------------------------------------------------------
def test_cli_explains_a_phased_result_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    assert main(["solve", str(EVERY_V2_KEY), "--out", str(out)]) == 0
    solved = json.loads((out / "solution.json").read_text())
    capsys.readouterr()
    assert main(["explain", str(out), "--workers", "1"]) == 0
    record = json.loads((out / "explain.json").read_text())
    # The plan read back has the solved objective (its periods' discounting and timing recomputed).
    assert record["objective"] == pytest.approx(solved["objective"], rel=1e-9)
    moved = pd.read_csv(out / "explain_moved.csv")
    periods = {(a["facility"], a["destination"]): a["period"] for a in solved["assignments"]}
    assert {(f, d): p for f, d, p in zip(moved["facility"], moved["destination"], moved["period"])} == periods
    assert moved["runner_up"].notna().all()


# -- marginal values --------------------------------------------------------------------------
def phased_lp_data() -> dict[str, Any]:
    """A pure LP over two periods (one splittable type, no sites, no discounting).

    Per unit of 100 residents: moving costs 30 to a, 10 to b, 1 to c;
    operating there costs more than at home (cost index 1.2, 1.5, 1.9). The
    target (20 units, half by 2025) and the 2021-2025 budget (120) bind; b's
    cap by 2025 (2 units) binds; a move in 2026-2030 runs 5 years instead of 10.
    """
    return {
        "instance": {"name": "phased-lp", "horizon_years": 10, "base_year": 2020},
        "periods": [{"id": "2021-2025", "end_year": 2025, "budget": 120.0}, {"id": "2026-2030", "end_year": 2030}],
        "types": [{"id": "t", "splittable": True, "annual_cost_per_job": 0.01}],
        "resources": [{"id": "residents", "use": "residents", "cap": "cap_residents",
                       "cap_by_period": {"2021-2025": "cap_residents_2025"}}],
        "sources": [{"city": "s", "target_reduction": 2000.0, "milestones": {"2021-2025": 0.5}}],
        "objective": {"weights": {"relocation": 0.0}},
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0, "cost_index": 1.0},
            {"id": "a", "lon": 117.0, "lat": 40.0, "cost_index": 1.2},
            {"id": "b", "lon": 116.0, "lat": 41.0, "cost_index": 1.5, "cap_residents": 5000.0,
             "cap_residents_2025": 200.0},
            {"id": "c", "lon": 115.0, "lat": 40.0, "cost_index": 1.9},
        ],
        "facilities": [{"id": "f", "origin": "s", "type": "t", "count": 50, "jobs": 100}],
        "arcs": [{"facility": "f", "destination": "a", "cost": 30.0},
                 {"facility": "f", "destination": "b", "cost": 10.0},
                 {"facility": "f", "destination": "c", "cost": 1.0}],
    }


def _perturbed(data: dict[str, Any], family: str, period: str, delta: float) -> dict[str, Any]:
    """``data`` with the right-hand side of one marginal row moved by ``delta`` (in its own unit)."""
    out = copy.deepcopy(data)
    source = out["sources"][0]
    target, share = source["target_reduction"], source["milestones"]["2021-2025"]
    if family == "target" and period == "2021-2025":  # the milestone: T_sp = share * T
        source["milestones"]["2021-2025"] = (share * target + delta) / target
    elif family == "target":  # the final target, the milestone held where it was
        source["target_reduction"] = target + delta
        source["milestones"]["2021-2025"] = share * target / (target + delta)
    elif family == "period_budget":
        next(p for p in out["periods"] if p["id"] == period)["budget"] += delta
    elif family == "capacity":
        column = "cap_residents_2025" if period == "2021-2025" else "cap_residents"
        out["cities"][2][column] += delta
    else:
        raise AssertionError(f"unexpected marginal row {family} {period}")
    return out


def test_phased_marginals_are_named_by_period_and_match_finite_differences(tmp_path: Path) -> None:
    data = phased_lp_data()
    base = load_dict(tmp_path / "base", data)
    result = solve_exactly(base)
    marginals = explain(result, options=EXACT, workers=1, facilities=[]).marginals
    assert len(marginals) > 0
    assert (marginals["period"] != "").all()
    assert {"target", "period_budget"} <= set(marginals["family"])
    delta = 1.0
    for i, row in enumerate(marginals.itertuples()):
        assert row.period in row.text, row.text
        moved = solve_exactly(load_dict(tmp_path / f"moved{i}", _perturbed(data, row.family, row.period, delta)))
        assert row.effect == pytest.approx((moved.objective - result.objective) / delta, rel=1e-6, abs=1e-9), \
            (row.family, row.period)


def test_sites_opened_and_closed_say_when(tmp_path: Path) -> None:
    """every-v2-key (brute-forced optimum 44.61972, tests/unit/test_every_v2_key.py) opens its campus
    site at far in 2021-2025. The best plan without c1 at far is solved from scratch: the sites it
    opens and the plan's own are what the explanation names, each with its period."""
    instance = spatialopt.load(EVERY_V2_KEY)
    result = solve_exactly(instance)
    moved = explain(result, options=EXACT, workers=1).moved.set_index("facility")
    alternative = solve_exactly(without_arc_everywhere(instance, "c1", "far"))

    def said(sites: pd.DataFrame) -> set[str]:
        return {f"{t} at {c} in {p}" for t, c, p in zip(sites["type"], sites["city"], sites["period"])}

    base, other = said(result.sites), said(alternative.sites)
    assert base == {"campus at far in 2021-2025"}
    row = moved.loc["c1"]
    assert set(filter(None, row["sites_opened"].split("; "))) == other - base
    assert set(filter(None, row["sites_closed"].split("; "))) == base - other
    assert row["runner_up_extra_cost"] == pytest.approx(alternative.objective - result.objective, abs=1e-6)
