"""``spatialopt explain``: every number checked against an independent solve through the normal path.

- Runner-ups: the best plan that may not use the chosen arc, solved from
  scratch by ``spatialopt.solve`` on the instance with an arcs table that
  leaves that arc out (and, when that plan keeps the facility home, with the
  facility made to move), must give the same extra cost.
- Staying facilities: the same with the facility made to move (``must_move``).
- Empty cities: the cheapest unit sent there is the best, over the type's
  facilities, of a solve with that facility made to move and only its arc to
  the city left.
- Marginal values, on a pure LP instance: a finite difference of the
  objective when the cap, the target or the budget moves by a small amount.
- Exclusions: one instance per rule kind, the words and numbers checked
  against the instance's own values (distances by the test's reference
  haversine).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from support import load_dict, reference_distance

import spatialopt
from spatialopt.cli import main
from spatialopt.derive import derive
from spatialopt.explain import EXPLAIN_FILES, explain
from spatialopt.instance import Instance

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"
SITE_CHOICE = ROOT / "instances" / "hand" / "site-choice.toml"
EXACT = {"mip_rel_gap": 1e-9}


def solve(instance: Instance) -> spatialopt.Result:
    result = spatialopt.solve(instance, gap=1e-9)
    assert result.status == spatialopt.SolveStatus.OPTIMAL
    return result


def without_arc(instance: Instance, facility: str, city: str, must_move: str | None = None) -> Instance:
    """The instance with an arcs table listing every eligible arc but (facility, city); overrides kept."""
    keys = derive(instance).arc_keys()
    if instance.arcs is not None:
        table = instance.arcs.copy()
        listed = set(zip(table["facility"], table["destination"]))
        assert set(keys) <= listed | set(keys)
    else:
        table = pd.DataFrame({"facility": [f for f, _ in keys], "destination": [d for _, d in keys],
                              "cost": np.nan})
    table = table[~((table["facility"] == facility) & (table["destination"] == city))].reset_index(drop=True)
    return dataclasses.replace(instance, arcs=table, facilities=_must(instance, must_move))


def _must(instance: Instance, facility: str | None) -> pd.DataFrame:
    fac = instance.facilities.copy()
    if facility is not None:
        fac.loc[facility, "must_move"] = True
    return fac


@pytest.fixture(scope="module")
def tutorial() -> tuple[spatialopt.Result, Any]:
    result = solve(spatialopt.load(TUTORIAL))
    return result, explain(result, options=EXACT, workers=1)


# -- runner-ups -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [TUTORIAL, SITE_CHOICE], ids=["tutorial", "site-choice"])
def test_runner_up_extra_cost_equals_an_independent_solve_without_the_chosen_arc(path: Path) -> None:
    instance = spatialopt.load(path)
    result = solve(instance)
    moved = explain(result, options=EXACT, workers=1).moved
    assert len(moved) == len(result.assignments) > 0
    fac = instance.facilities
    for row in moved.itertuples():
        # The runner-up is asked of a facility whose whole row moves (every unit is forced elsewhere).
        if row.units != fac.at[row.facility, "count"]:
            continue
        free = solve(without_arc(instance, row.facility, row.destination))
        leaves_home = not (free.assignments["facility"] == row.facility).any()
        assert bool(row.stays_instead) == leaves_home, row.facility
        alternative = solve(without_arc(instance, row.facility, row.destination, must_move=row.facility)) \
            if leaves_home else free
        expected = alternative.objective - result.objective
        assert row.runner_up_extra_cost == pytest.approx(expected, rel=1e-6, abs=1e-6), row.facility
        assert row.runner_up_status == "optimal"
        went = alternative.assignments[alternative.assignments["facility"] == row.facility]
        if abs(expected) > 1e-6:  # a tie may pick either city
            assert row.runner_up == went.sort_values("units").iloc[-1]["destination"], row.facility
        if leaves_home:
            assert row.stay_extra_cost == pytest.approx(free.objective - result.objective, rel=1e-6, abs=1e-6)


def test_site_choice_runner_up_by_hand() -> None:
    """instances/hand/site-choice.toml: only b (14) is optimal; f1 without b must use a, and so must f2
    (a second site would cost 10 more): only a costs 15, one more than the plan."""
    result = solve(spatialopt.load(SITE_CHOICE))
    moved = explain(result, options=EXACT, workers=1).moved.set_index("facility")
    assert moved.at["f1", "destination"] == "b" and moved.at["f1", "runner_up"] == "a"
    assert moved.at["f1", "runner_up_extra_cost"] == pytest.approx(1.0)
    assert "f2: b -> a" in moved.at["f1", "other_moves"]
    assert moved.at["f1", "sites_opened"] == "t at a" and moved.at["f1", "sites_closed"] == "t at b"


def test_staying_facility_cost_equals_an_independent_solve_that_makes_it_move(tutorial) -> None:
    result, explanation = tutorial
    staying = explanation.staying
    assert len(staying) > 0
    for row in staying.itertuples():
        forced = dataclasses.replace(result.instance, facilities=_must(result.instance, row.facility))
        expected = solve(forced).objective - result.objective
        assert row.extra_cost == pytest.approx(expected, rel=1e-6, abs=1e-6), row.facility
        assert row.why_not, row.facility


def test_empty_city_cost_equals_the_best_independent_solve_sending_one_unit(tutorial) -> None:
    """Independent: per facility of the type, a solve with it made to move and only its arc to the city left."""
    result, explanation = tutorial
    instance = result.instance
    # Whole single units: "one unit of the type there" is then "one of its facilities there".
    whole = [k for k, kind in instance.types.items() if not kind.splittable
             and (instance.facilities.loc[instance.facilities["type"] == k, "count"] == 1).all()]
    cities = explanation.cities
    costlier = cities[(cities["verdict"] == "costlier") & cities["type"].isin(whole)].head(3)
    assert len(costlier) > 0
    keys = derive(instance).arc_keys()
    for row in costlier.itertuples():
        best = np.inf
        members = instance.facilities.index[instance.facilities["type"] == row.type]
        for f in members:
            if (f, row.city) not in keys:
                continue
            others = [d for g, d in keys if g == f and d != row.city]
            changed = instance
            for d in others:
                changed = without_arc(changed, f, d)
            changed = dataclasses.replace(changed, facilities=_must(instance, f))
            plan = spatialopt.solve(changed, gap=1e-9)
            if plan.status.has_solution:
                best = min(best, plan.objective)
        assert row.extra_cost == pytest.approx(best - result.objective, rel=1e-6, abs=1e-6), (row.city, row.type)


def test_parallel_workers_give_the_same_answers(tutorial) -> None:
    result, one = tutorial
    two = explain(result, options=EXACT, workers=2, top=4)
    merged = two.moved.merge(one.moved, on=["facility", "destination"], suffixes=("", "_one"))
    assert len(merged) == 4
    assert np.allclose(merged["runner_up_extra_cost"], merged["runner_up_extra_cost_one"], rtol=1e-6, atol=1e-6)


def test_a_re_solve_stopped_at_its_limit_is_reported_with_its_gap(tutorial) -> None:
    result, _ = tutorial
    # HiGHS stops at its first plan: some re-solves end before proving it best.
    stopped = explain(result, options={"mip_rel_gap": 1e-9, "mip_max_improving_sols": 1}, workers=1,
                      facilities=list(result.instance.facilities.index))
    feasible = stopped.moved[stopped.moved["runner_up_status"] == "feasible"]
    assert len(feasible) > 0
    for row in feasible.itertuples():
        assert row.runner_up_gap is not None and row.runner_up_gap > 1e-9
        assert row.runner_up_extra_cost_at_least < row.runner_up_extra_cost
        assert "at most" in row.text and "and at least" in row.text and "gap" in row.text


# -- marginal values -------------------------------------------------------------------------------
def lp_instance(tmp_path: Path, **changes: Any) -> Instance:
    """A pure LP (one splittable type, no sites): objective = operating cost, budget = relocation.

    Moving costs operating money everywhere (cost index above the core's), per
    unit of 100 residents 2 to a, 5 to b, 9 to c; moving there costs 30, 10 and
    1. The target (20 units) binds; b's cap (5 units) binds; the budget (310)
    limits a to 245/29 units; c takes the rest. By hand, with y the duals of
    target, b's cap and budget: 2 = y_T + 30 y_B and 9 = y_T + y_B give
    y_B = -7/29, y_T = 9 + 7/29; 5 = y_T + 10 y_B + y_C gives y_C = -53/29 (per unit).
    """
    data: dict[str, Any] = {
        "instance": {"name": "lp", "horizon_years": 10},
        "types": [{"id": "t", "splittable": True, "annual_cost_per_job": 0.01}],
        "resources": [{"id": "residents", "use": "residents", "cap": "cap_residents"}],
        "sources": [{"city": "s", "target_reduction": 2000.0}],
        "policy": {"budget": 310.0},
        "objective": {"weights": {"relocation": 0.0}},
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0, "cost_index": 1.0},
            {"id": "a", "lon": 117.0, "lat": 40.0, "cost_index": 1.2},
            {"id": "b", "lon": 116.0, "lat": 41.0, "cost_index": 1.5, "cap_residents": 500.0},
            {"id": "c", "lon": 115.0, "lat": 40.0, "cost_index": 1.9},
        ],
        "facilities": [{"id": "f", "origin": "s", "type": "t", "count": 50, "jobs": 100}],
        "arcs": [{"facility": "f", "destination": "a", "cost": 30.0},
                 {"facility": "f", "destination": "b", "cost": 10.0},
                 {"facility": "f", "destination": "c", "cost": 1.0}],
    }
    instance = load_dict(tmp_path, data)
    return instance.with_changes(set=changes) if changes else instance


def test_marginal_values_match_finite_differences_on_a_pure_lp(tmp_path: Path) -> None:
    base = lp_instance(tmp_path)
    result = solve(base)
    marginals = explain(result, options=EXACT, workers=1, facilities=[]).marginals
    assert {"target", "capacity", "budget"} <= set(marginals["family"])
    delta = 1.0
    perturbed = {"target": {"sources.s.target": 2000.0 + delta},
                 "capacity": {"cities.b.cap_residents": 500.0 + delta},
                 "budget": {"policy.budget": 310.0 + delta}}
    for row in marginals.itertuples():
        moved = solve(base.with_changes(set=perturbed[row.family]))
        assert row.effect == pytest.approx((moved.objective - result.objective) / delta, rel=1e-6, abs=1e-9), \
            row.family
    effect = marginals.set_index("family")["effect"]
    # By hand (per resident: the duals above over 100 residents a unit).
    assert effect["target"] == pytest.approx((9 + 7 / 29) / 100)
    assert effect["capacity"] == pytest.approx(-53 / 29 / 100)
    assert effect["budget"] == pytest.approx(-7 / 29)
    texts = marginals.set_index("family")["text"]
    assert texts["target"].startswith("one more resident moved out of s costs")
    assert texts["capacity"].startswith("one more unit of cap_residents in b saves")


def test_marginals_say_they_hold_locally(tutorial) -> None:
    _, explanation = tutorial
    record = explanation.to_dict()
    section = next(s for s in record["sections"] if s["id"] == "marginals")
    assert "hold locally" in section["answers"] and "sites opened and the whole-unit moves fixed" in section["answers"]


# -- exclusions, one per rule kind -----------------------------------------------------------------
def rule_instance(tmp_path: Path, kind: dict[str, Any], city: dict[str, Any], **extra: Any) -> Instance:
    data: dict[str, Any] = {
        "instance": {"name": "rule"},
        "types": [{"id": "t", "cost_per_job_km": 0.001, **kind}],
        "sources": [{"city": "s", "target_reduction": 10.0}],
        "cities": [{"id": "s", "lon": 116.0, "lat": 40.0, "tier": "core", "cluster": "north"},
                   {"id": "ok", "lon": 116.0, "lat": 41.0, "tier": "medium", "cluster": "north"},
                   {"id": "x", "lon": 116.0, "lat": 40.5, "tier": "medium", "cluster": "north", **city}],
        "facilities": [{"id": "f", "origin": "s", "type": "t", "jobs": 10}],
        **extra,
    }
    return load_dict(tmp_path, data)


def city_row(instance: Instance) -> pd.Series:
    cities = explain(solve(instance), options=EXACT, workers=1, cities=["x"]).cities
    assert len(cities) == 1
    return cities.iloc[0]


def test_exclusion_by_tier(tmp_path: Path) -> None:
    row = city_row(rule_instance(tmp_path, {"allowed_tiers": ["medium", "county"]}, {"tier": "large"}))
    assert row["verdict"] == "excluded" and row["rule"] == "allowed_tiers"
    assert row["text"] == "x gets no t: x has tier 'large'; t may go only to tiers medium, county"


def test_exclusion_by_min_km(tmp_path: Path) -> None:
    instance = rule_instance(tmp_path, {"min_km": 100.0}, {})
    km = reference_distance(instance, "s", "x")
    row = city_row(instance)
    assert row["rule"] == "min_km"
    assert row["text"] == f"x gets no t: x is {km:,.1f} km from s, nearer than the t type's min_km 100"


def test_exclusion_by_max_km(tmp_path: Path) -> None:
    instance = rule_instance(tmp_path, {"max_km": 150.0}, {"lat": 42.0})
    km = reference_distance(instance, "s", "x")
    row = city_row(instance)
    assert row["rule"] == "max_km" and km > 150
    assert row["text"] == f"x gets no t: x is {km:,.1f} km from s, farther than the t type's max_km 150"


def test_exclusion_by_cluster(tmp_path: Path) -> None:
    row = city_row(rule_instance(tmp_path, {"same_cluster": True}, {"cluster": "south"}))
    assert row["rule"] == "same_cluster"
    assert row["text"] == "x gets no t: x has cluster 'south', not s's cluster 'north' (t must stay within its cluster)"


def test_exclusion_by_sites_table(tmp_path: Path) -> None:
    instance = rule_instance(tmp_path, {"requires_site": True, "site_cost": 1.0}, {},
                             sites=[{"type": "t", "city": "ok"}])
    row = city_row(instance)
    assert row["rule"] == "sites table" and row["text"] == "x gets no t: the sites table has no t site in x"


def test_exclusion_by_arcs_table(tmp_path: Path) -> None:
    instance = rule_instance(tmp_path, {}, {}, arcs=[{"facility": "f", "destination": "ok"}])
    row = city_row(instance)
    assert row["rule"] == "arcs table" and row["text"] == "x gets no t: the arcs table lists no t facility of s with x"


def test_an_allowed_empty_city_is_priced_not_excluded(tmp_path: Path) -> None:
    # x is nearer, so dearer than ok for nobody: the plan uses x; make ok the cheaper one instead.
    instance = rule_instance(tmp_path, {}, {"lat": 41.5})
    row = city_row(instance)
    assert row["verdict"] == "costlier" and row["facility"] == "f"
    km_x, km_ok = reference_distance(instance, "s", "x"), reference_distance(instance, "s", "ok")
    assert row["extra_cost"] == pytest.approx(0.001 * 10 * (km_x - km_ok), rel=1e-6)


# -- the command line -----------------------------------------------------------------------------
def test_cli_writes_the_files_and_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "plan"
    assert main(["solve", str(SITE_CHOICE), "--out", str(folder), "--gap", "1e-9"]) == 0
    capsys.readouterr()
    assert main(["explain", str(folder), "--workers", "1"]) == 0
    out, err = capsys.readouterr()
    assert "runner-up a, extra cost +1.00" in out and "[3/3] t into a" in err
    assert {p.name for p in folder.iterdir()} >= set(EXPLAIN_FILES)
    record = json.loads((folder / "explain.json").read_text())
    assert [s["id"] for s in record["sections"]] == ["moved", "staying", "cities", "marginals"]
    moved = next(s for s in record["sections"] if s["id"] == "moved")
    assert moved["rows"][0]["period"] == "" and {c["name"] for c in moved["columns"]} >= {"runner_up", "period"}
    assert pd.read_csv(folder / "explain_moved.csv")["runner_up"].tolist() == ["a", "a"]
    before = (folder / "explain.json").read_bytes()
    assert main(["explain", str(folder), "--workers", "1"]) == 2
    _, err = capsys.readouterr()
    assert "earlier explanation" in err and "--force" in err
    assert (folder / "explain.json").read_bytes() == before
    assert main(["explain", str(folder), "--workers", "1", "--force"]) == 0
    capsys.readouterr()
    assert main(["solve", str(SITE_CHOICE), "--out", str(folder), "--force"]) == 0  # still a result folder


def test_cli_input_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(tmp_path)]) == 2
    assert "not a result folder" in capsys.readouterr().err
    folder = tmp_path / "plan"
    assert main(["solve", str(SITE_CHOICE), "--out", str(folder)]) == 0
    capsys.readouterr()
    assert main(["explain", str(folder), "--facility", "nope"]) == 2
    assert "unknown facility id(s) 'nope'" in capsys.readouterr().err
    assert not (folder / "explain.json").exists()
    assert main(["explain", str(folder), "--workers", "2", "--scheduler", "tcp://x:1"]) == 2


def test_result_explain_delegates(tmp_path: Path) -> None:
    result = solve(spatialopt.load(SITE_CHOICE))
    explanation = result.explain(options=EXACT, workers=1, facilities=["f1"])
    assert explanation.moved["facility"].tolist() == ["f1"] and explanation.cities.empty


def test_cli_refuses_a_folder_whose_instance_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "site-choice.toml"
    manifest.write_text(SITE_CHOICE.read_text())
    folder = tmp_path / "plan"
    assert main(["solve", str(manifest), "--out", str(folder)]) == 0
    manifest.write_text(SITE_CHOICE.read_text() + "\n# edited after the solve\n")
    capsys.readouterr()
    assert main(["explain", str(folder), "--workers", "1"]) == 2
    assert "instance_sha256 differs" in capsys.readouterr().err
    assert not (folder / "explain.json").exists()


def test_no_plan_no_explanation(tmp_path: Path) -> None:
    from spatialopt.explain import ExplainError

    instance = rule_instance(tmp_path, {"max_km": 1.0}, {})  # nothing can move, but 10 residents must
    result = spatialopt.solve(instance)
    assert not result.status.has_solution
    with pytest.raises(ExplainError, match="no plan to explain"):
        explain(result)


def test_the_period_of_a_phased_plan_is_carried(tmp_path: Path) -> None:
    """A plan with periods (spec v2) has a period per assignment; the tables carry it (empty otherwise)."""
    result = solve(spatialopt.load(SITE_CHOICE))
    plain = explain(result, options=EXACT, workers=1, facilities=["f1"]).moved
    assert plain["period"].tolist() == [""]
    phased = result.assignments.assign(period="2030")
    result.__dict__["assignments"] = phased  # as a phased Result's view will be
    assert explain(result, options=EXACT, workers=1, facilities=["f1"]).moved["period"].tolist() == ["2030"]


def test_a_dask_cluster_gives_the_same_answers(tutorial) -> None:
    distributed = pytest.importorskip("distributed")
    result, one = tutorial
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=":0")  # any free port: 8787 may be taken
    try:
        dask = explain(result, options=EXACT, scheduler=cluster.scheduler_address, top=3)
    finally:
        cluster.close()
    merged = dask.moved.merge(one.moved, on=["facility", "destination"], suffixes=("", "_one"))
    assert len(merged) == 3 and dask.settings["scheduler"] == cluster.scheduler_address
    assert np.allclose(merged["runner_up_extra_cost"], merged["runner_up_extra_cost_one"], rtol=1e-6, atol=1e-6)


def test_naming_a_city_that_receives_says_so(tmp_path: Path) -> None:
    result = solve(spatialopt.load(SITE_CHOICE))
    explanation = explain(result, options=EXACT, workers=1, cities=["b"])
    assert explanation.cities.empty
    assert any(note.startswith("b receives facilities in this plan") for note in explanation.notes)
