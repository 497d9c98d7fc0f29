"""Infeasibility explained: one planted cause per rule family, named in the report.

Every instance starts from the same feasible base (source s with two
facilities that must move, 100 jobs each; destinations a and b, costs 1 and 3)
and gets one rule made impossible. The diagnosis must name that rule, in the
instance's words, with the amount that would repair it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from support import load_dict, load_scale_generator, write_hard_gap

import spatialopt
from spatialopt import SolveStatus
from spatialopt.diagnose import diagnose, presolve_findings


def base() -> dict[str, Any]:
    return {
        "instance": {"name": "diag", "cost_unit": "CNY million"},
        "types": [{"id": "t"}],
        "resources": [{"id": "res", "use": "residents", "cap": "cap_res"}],
        "sources": [{"city": "s", "target_reduction": 150}],
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0, "region": "east", "cap_res": 10**6},
            {"id": "a", "lon": 117.0, "lat": 40.0, "tier": "large", "region": "east", "cap_res": 1000},
            {"id": "b", "lon": 116.0, "lat": 41.0, "tier": "medium", "region": "west", "cap_res": 1000},
        ],
        "facilities": [
            {"id": "f1", "origin": "s", "type": "t", "jobs": 100, "must_move": True},
            {"id": "f2", "origin": "s", "type": "t", "jobs": 100},
        ],
        "arcs": [
            {"facility": f, "destination": d, "cost": c}
            for f in ("f1", "f2") for d, c in (("a", 1.0), ("b", 3.0))
        ],
    }


def plant(edit: Any) -> dict[str, Any]:
    data = base()
    edit(data)
    return data


def test_base_is_feasible(tmp_path: Path) -> None:
    diagnosis = diagnose(load_dict(tmp_path, base()))
    assert diagnosis.feasible and not diagnosis.findings


@pytest.mark.parametrize(
    ("name", "edit", "family", "words"),
    [
        ("target", lambda d: d["sources"][0].update(target_reduction=500),
         "target", "hard target 500 residents, but its facilities can move at most 200"),
        ("capacity", lambda d: [c.update(cap_res=60) for c in d["cities"][1:]],
         "capacity", "raise cap_res of"),
        ("budget", lambda d: d.update(policy={"budget": 1.5}),
         "budget", "raise the budget by 0.50 CNY million (from 1.50 to 2.00)"),
        ("destination_share", lambda d: d.update(policy={"max_destination_share": 0.2}),
         "destination_share", "raise max_destination_share from 0.2 to at least 0.500"),
        ("region_share", lambda d: (d["cities"][2].update(region="east"), d["cities"][1].update(region="west"),
                                    d.update(policy={"min_region_share": {"west": 1.0}}),
                                    d["arcs"].__setitem__(slice(None), [a for a in d["arcs"] if a["destination"] != "a" or a["facility"] == "f1"]),
                                    d["arcs"].__setitem__(slice(None), [a for a in d["arcs"] if not (a["facility"] == "f1" and a["destination"] == "b")])),
         "region_share", "lower min_region_share.west from 1 to at most 0.500"),
        ("min_share", lambda d: (d["types"].append({"id": "m", "max_km": 10.0}),
                                 d["facilities"].append({"id": "m1", "origin": "s", "type": "m", "jobs": 50}),
                                 d["sources"][0].update(min_share={"m": 0.5})),
         "min_share", "min_share 0.5 of m needs 25 jobs to move, but only 0 m jobs have an eligible destination"),
        ("must_move", lambda d: d["arcs"].__setitem__(slice(None), [a for a in d["arcs"] if a["facility"] != "f1"]),
         "must_move", "facility 'f1' (t, from s) must move but has no eligible destination: of 2 destinations, arcs table leaves 0"),
    ],
)
def test_planted_cause_is_named(tmp_path: Path, name: str, edit: Any, family: str, words: str) -> None:
    instance = load_dict(tmp_path, plant(edit))
    result = spatialopt.solve(instance, diagnose=False)  # diagnosed below, with the check solve
    assert result.status == SolveStatus.INFEASIBLE
    diagnosis = diagnose(instance, time_limit=30)
    report = "\n".join(diagnosis.lines())
    assert not diagnosis.feasible
    assert words in report, report
    named = {f.rule for f in diagnosis.findings} | set(diagnosis.alternatives) | {c.family for c in diagnosis.combined}
    assert family in named, report


def test_solve_explains_an_infeasible_plan_as_the_terminal_does(tmp_path: Path) -> None:
    """spatialopt.solve (notebooks, sweeps) fills the reasons with the diagnosis the CLI prints:
    the same lines as diagnose() after HiGHS's proof; diagnose=False leaves HiGHS's word only."""
    instance = load_dict(tmp_path, plant(lambda d: d.update(policy={"budget": 1.5})))
    result = spatialopt.solve(instance)
    assert result.status == SolveStatus.INFEASIBLE and result.termination != "presolve checks"
    assert result.diagnosis is not None and not result.diagnosis.feasible
    assert result.reasons == diagnose(instance, known_infeasible=True).lines()
    assert any("raise the budget by 0.50 CNY million" in r for r in result.reasons), result.reasons
    assert "diagnose" in result.timings
    bare = spatialopt.solve(instance, diagnose=False)
    assert bare.diagnosis is None and bare.reasons == ["HiGHS ended with provenInfeasible"]


def test_site_rules(tmp_path: Path) -> None:
    """Only f1 (100 jobs, must move) is left. Sites of 50 jobs cannot take it (counting does not
    see it: two sites hold 100 together, but f1 is one unit); the relaxation names the site
    capacity, 50 jobs short at whichever site it picks. A minimum of 150 jobs per site, or
    3 sites out of 2 candidates, are the other planted causes."""
    data = base()
    data["facilities"] = data["facilities"][:1]
    data["arcs"] = [a for a in data["arcs"] if a["facility"] == "f1"]
    data["types"] = [{"id": "t", "requires_site": True, "site_capacity_jobs": 50}]
    data["sources"][0]["target_reduction"] = 0
    instance = load_dict(tmp_path / "cap", data)
    assert spatialopt.solve(instance).status == SolveStatus.INFEASIBLE
    report = "\n".join(diagnose(instance, time_limit=30).lines())
    assert "raise the t site capacity at" in report and "by 50 jobs" in report, report

    data["types"] = [{"id": "t", "requires_site": True, "min_site_jobs": 150}]
    instance = load_dict(tmp_path / "min", data)
    report = "\n".join(diagnose(instance, time_limit=30).lines())
    assert "lower min_site_jobs of t by 50" in report, report

    data["types"] = [{"id": "t", "requires_site": True, "min_sites": 3}]
    instance = load_dict(tmp_path / "count", data)
    assert [f.rule for f in presolve_findings(instance)] == ["site_count"]
    assert "min_sites 3 but only 2 site candidate(s)" in "\n".join(diagnose(instance).lines())


def test_presolve_proof_skips_the_solver(tmp_path: Path) -> None:
    instance = load_dict(tmp_path, plant(lambda d: d["sources"][0].update(target_reduction=500)))
    result = spatialopt.solve(instance)
    assert result.termination == "presolve checks"
    assert any("can move at most 200" in r for r in result.reasons)


def test_capacity_of_reachable_cities_is_counted(tmp_path: Path) -> None:
    """Both facilities must move (100 residents each) but a and b hold 60 each: 200 > 120,
    proven by counting before any solve."""
    data = base()
    data["facilities"][1]["must_move"] = True
    for city in data["cities"][1:]:
        city["cap_res"] = 60
    instance = load_dict(tmp_path, data)
    findings = presolve_findings(instance)
    assert [f.rule for f in findings] == ["capacity"]
    assert "need at least 200 of it, but the 2 cities they can reach hold 120 (cap_res)" in findings[0].message
    assert spatialopt.solve(instance).termination == "presolve checks"


# -- plan periods (spec v2) ------------------------------------------------------------------
def phased_base() -> dict[str, Any]:
    """Feasible: periods to 2025, 2030, 2035; milestone 0.4 × 150 = 60 by 2025; f1 (100 residents,
    must move) reaches only xiongan (named Xiong'an, 500 residents by 2025, 1000 in all), f2 also b."""
    return {
        "instance": {"name": "diag-v2", "cost_unit": "CNY million", "base_year": 2020, "horizon_years": 15},
        "periods": [{"id": "2021-2025", "end_year": 2025}, {"id": "2026-2030", "end_year": 2030},
                    {"id": "2031-2035", "end_year": 2035}],
        "types": [{"id": "t"}],
        "resources": [{"id": "residents", "use": "residents", "cap": "cap_res",
                       "cap_by_period": {"2021-2025": "cap_res_2025"}}],
        "sources": [{"city": "s", "target_reduction": 150, "milestones": {"2021-2025": 0.4}}],
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0},
            {"id": "xiongan", "name": "Xiong'an", "lon": 116.0, "lat": 39.0, "cap_res": 1000, "cap_res_2025": 500},
            {"id": "b", "lon": 117.0, "lat": 40.0, "cap_res": 1000},
        ],
        "facilities": [
            {"id": "f1", "origin": "s", "type": "t", "jobs": 100, "must_move": True},
            {"id": "f2", "origin": "s", "type": "t", "jobs": 100},
        ],
        "arcs": [{"facility": "f1", "destination": "xiongan", "cost": 1.0},
                 {"facility": "f2", "destination": "xiongan", "cost": 1.0},
                 {"facility": "f2", "destination": "b", "cost": 3.0}],
    }


def phased(edit: Any) -> dict[str, Any]:
    data = phased_base()
    edit(data)
    return data


def test_phased_base_is_feasible(tmp_path: Path) -> None:
    diagnosis = diagnose(load_dict(tmp_path, phased_base()))
    assert diagnosis.feasible and not diagnosis.findings


@pytest.mark.parametrize(
    ("edit", "finding", "repair"),
    [
        # 0.8 × 150 = 120 by 2025, but f2 (100) may move only from 2026-2030: f1's 100 is all there is.
        (lambda d: (d["sources"][0]["milestones"].update({"2021-2025": 0.8}),
                    d["facilities"][1].update(earliest="2026-2030")),
         "milestone 2021-2025 of s needs 120 residents moved, but the facilities allowed to move by 2025 hold 100 "
         "(100 more residents are in facilities that may move only after 2021-2025)",
         "lower milestone 2021-2025 of s by 20 residents moved by 2025 (from 120 to 100: "
         "milestones.2021-2025 from 0.8 to at most 0.667)"),
        # f1 must move by 2025 (latest) and reaches only Xiong'an, which holds 60 residents by 2025.
        (lambda d: (d["cities"][1].update(cap_res_2025=60), d["facilities"][0].update(latest="2021-2025")),
         "Xiong'an's residents cap by 2025 (cap_res_2025) is 60 but the must-move facilities whose only "
         "destination it is need 100 by then (f1)",
         "raise cap_res_2025 of xiongan by 40 (from 60 to 100), its residents cap by 2025"),
        # The whole plan's cap: f1 needs 100 at Xiong'an by 2035, its cap_res is 80 (b, which f1 does not
        # reach, has no cap, so the count over all reachable cities below is not what finds it).
        (lambda d: (d["cities"][1].update(cap_res=80), d["cities"][2].pop("cap_res"),
                    d["facilities"].append({"id": "f3", "origin": "s", "type": "t", "jobs": 1, "must_move": True}),
                    d["arcs"].append({"facility": "f3", "destination": "b", "cost": 1.0})),
         "Xiong'an's residents cap by 2035 (cap_res) is 80 but the must-move facilities whose only destination "
         "it is need 100 by then (f1)",
         "raise cap_res of xiongan by 20 (from 80 to 100), its residents cap by 2035"),
        # f1 (cheapest relocation 1) must move in 2021-2025, whose budget is 0.5.
        (lambda d: (d["periods"][0].update(budget=0.5), d["facilities"][0].update(latest="2021-2025")),
         "period 2021-2025's budget is 0.50 CNY million but the must-move facilities that can move only in it "
         "cost at least 1.00 CNY million to relocate (f1)",
         "raise the budget of period 2021-2025 by 0.50 CNY million (from 0.50 to 1.00)"),
        # f1 must move by 2030; the two first periods have 0.4 each: 0.8 < 1.
        (lambda d: (d["periods"][0].update(budget=0.4), d["periods"][1].update(budget=0.4),
                    d["facilities"][0].update(latest="2026-2030")),
         "periods 2021-2025 to 2026-2030 have budgets totalling 0.80 CNY million but the must-move facilities "
         "that must move within them cost at least 1.00 CNY million to relocate (f1)",
         "raise the budget of period"),
    ],
    ids=["milestone", "cap_by_period", "cap_last_period", "period_budget", "period_budget_run"],
)
def test_phased_finding_in_the_instance_words(tmp_path: Path, edit: Any, finding: str, repair: str) -> None:
    """Each counting check quotes its numbers (worked in the comments); the relaxation names the repair."""
    instance = load_dict(tmp_path, phased(edit))
    assert [f.message for f in presolve_findings(instance)] == [finding]
    assert spatialopt.solve(instance, diagnose=False).status == SolveStatus.INFEASIBLE
    report = "\n".join(diagnose(instance, time_limit=30).lines())
    assert repair in report, report


# -- the diagnosis keeps to its time ----------------------------------------------------------
# bench/scale_instance.py's seeded instance as a location problem (``sited``), 60 facilities x 10
# cities: infeasible (ten sites of 1/60 of the plant jobs each cannot take what the targets need),
# and its site-capacity relaxation is a MIP HiGHS does not prove within 60 s; every other one in
# a fraction of a second.
DIAGNOSIS_SLACK = 3.0  # seconds past the budget: deriving, building each relaxation, a loaded machine


@pytest.fixture(scope="module")
def slow_to_diagnose(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generator = load_scale_generator()
    return generator.write(generator.sited(generator.generate(60, 10)), tmp_path_factory.mktemp("sited"))


def test_relaxations_share_the_diagnosis_time_and_say_when_they_stopped(slow_to_diagnose: Path) -> None:
    instance = spatialopt.load(slow_to_diagnose)
    started = time.perf_counter()
    diagnosis = diagnose(instance, time_limit=3.0, known_infeasible=True)
    assert time.perf_counter() - started <= 3.0 + DIAGNOSIS_SLACK
    # the target relaxation is proved (the smallest change), the site capacities' stopped at its share
    assert {"target", "site_capacity"} <= set(diagnosis.alternatives)
    assert diagnosis.unproven == ["site_capacity"] and not diagnosis.unsettled
    text = "\n".join(diagnosis.lines())
    assert "lower the target of core0 by 3,272 residents" in text
    line = next(s for s in diagnosis.lines() if s.startswith("  [site_capacity]"))
    assert line.endswith("(found within the time limit: a smaller change may exist)")


def test_families_the_time_did_not_reach_are_named(slow_to_diagnose: Path) -> None:
    diagnosis = diagnose(spatialopt.load(slow_to_diagnose), time_limit=0.01, known_infeasible=True)
    assert not diagnosis.alternatives and not diagnosis.combined
    assert diagnosis.unsettled == ["target", "assign", "capacity", "site_capacity"]
    assert diagnosis.lines()[-1] == ("Not settled within the time limit of 0.01 s: target, assign, capacity, "
                                     "site_capacity (spatialopt diagnose INSTANCE --time-limit S gives the "
                                     "search more time).")


def test_a_solve_keeps_its_time_limit_through_the_diagnosis(slow_to_diagnose: Path) -> None:
    """The diagnosis gets what the search left of the limit (at least a second), not 60 s per family."""
    started = time.perf_counter()
    result = spatialopt.solve(spatialopt.load(slow_to_diagnose), time_limit=2.0, threads=1)
    assert result.status == SolveStatus.INFEASIBLE
    assert time.perf_counter() - started <= 2.0 + 1.0 + DIAGNOSIS_SLACK
    assert result.diagnosis is not None and "target" in result.diagnosis.alternatives


def test_a_check_solve_stopped_without_a_plan_claims_nothing(tmp_path: Path) -> None:
    """No plan in time is not infeasibility: the diagnosis says it does not know, and relaxes nothing."""
    # feasible, but 1 ms leaves HiGHS no time after the model is derived and built (10 ms did once; a faster
    # derivation left HiGHS enough of them to find the first plan)
    hard = spatialopt.load(write_hard_gap(tmp_path))
    diagnosis = diagnose(hard, time_limit=0.001)
    assert diagnosis.undecided and not diagnosis.feasible and not diagnosis.alternatives
    assert diagnosis.lines()[-1].startswith("No plan was found within the time limit of 0.001 s, and none was "
                                            "proved impossible")
