"""Infeasibility explained: one planted cause per rule family, named in the report.

Every instance starts from the same feasible base (source s with two
facilities that must move, 100 jobs each; destinations a and b, costs 1 and 3)
and gets one rule made impossible. The diagnosis must name that rule, in the
instance's words, with the amount that would repair it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import load_dict

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
