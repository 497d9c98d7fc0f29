"""Answers proved by the plan's own bound (no full re-solve) are the answers a full re-solve gives.

Every counterfactual only adds a condition to the plan's problem, so the
plan's proven bound is a lower bound of each; a completion of the plan within
the gap of it is then optimal as it stands. Checked on the tutorial and the
hand-worked instances: the same questions answered with that bound and
without it (every question re-solved in full) give the same runner-ups and
extra costs, and each answer proved by the bound equals an independent
solve from scratch through the normal solve path (the arc left out of an
arcs table, as in test_explain.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import spatialopt
from spatialopt import explain_counterfactuals as counterfactuals
from spatialopt.derive import derive
from spatialopt.explain import explain
from spatialopt.explain_counterfactuals import Question, answer_questions
from spatialopt.instance import Instance
from spatialopt.root_pass import SUB_MIP_HEURISTICS

ROOT = Path(__file__).parents[2]
INSTANCES = [ROOT / "instances" / "tutorial" / "instance.toml", ROOT / "instances" / "hand" / "site-choice.toml",
             ROOT / "instances" / "hand" / "budget.toml", ROOT / "instances" / "hand" / "capacity-override.toml"]
IDS = [p.stem if p.parent.name == "hand" else p.parent.name for p in INSTANCES]
EXACT = {"mip_rel_gap": 1e-9, "threads": 1}


def solve(instance: Instance) -> spatialopt.Result:
    result = spatialopt.solve(instance, gap=1e-9)
    assert result.status == spatialopt.SolveStatus.OPTIMAL
    return result


def without_arc(instance: Instance, facility: str, city: str) -> Instance:
    """The instance with an arcs table listing every eligible arc but (facility, city)."""
    keys = [k for k in derive(instance).arc_keys() if k != (facility, city)]
    if instance.arcs is not None:
        table = instance.arcs[~((instance.arcs["facility"] == facility) & (instance.arcs["destination"] == city))]
    else:
        table = pd.DataFrame({"facility": [f for f, _ in keys], "destination": [d for _, d in keys], "cost": np.nan})
    return dataclasses.replace(instance, arcs=table.reset_index(drop=True))


@pytest.mark.parametrize("path", INSTANCES, ids=IDS)
def test_the_plan_bound_never_changes_an_answer(path: Path) -> None:
    result = solve(spatialopt.load(path))
    screened = explain(result, options=EXACT, workers=1)
    full = explain(dataclasses.replace(result, bound=None), options=EXACT, workers=1)  # no bound: all re-solved
    assert full.settings["proved_by_plan_bound"] == 0
    for name, cost, where in (("moved", "runner_up_extra_cost", "runner_up"),
                              ("staying", "extra_cost", "cheapest_destination"), ("cities", "extra_cost", "facility")):
        a, b = screened.table(name), full.table(name)
        assert len(a) == len(b)
        assert np.allclose(a[cost].astype(float), b[cost].astype(float), rtol=1e-6, atol=1e-6, equal_nan=True), name
        decided = (a[cost].astype(float).abs() > 1e-6).to_numpy()  # a tie may pick either city
        assert (a[where].to_numpy()[decided] == b[where].to_numpy()[decided]).all(), name


def test_answers_proved_by_the_plan_bound_equal_independent_solves() -> None:
    instance = spatialopt.load(INSTANCES[0])
    result = solve(instance)
    rows = list(zip(result.assignments["facility"], result.assignments["destination"]))
    questions = [Question("avoid", facility=f, city=d) for f, d in rows]
    answers = answer_questions(instance, result.units, result.opened, [], questions, EXACT, floor=result.bound)
    proved = [a for a in answers if a.first is not None and a.first.screened]
    assert proved, "the tutorial has ties: some answers must be proved by the plan's bound"
    for answer in proved:
        q, plan = answer.question, answer.first
        assert plan.status == "optimal" and plan.bound == pytest.approx(min(result.bound, result.objective))
        assert plan.gap is not None and plan.gap <= EXACT["mip_rel_gap"]
        independent = spatialopt.solve(without_arc(instance, q.facility, q.city), gap=1e-9)
        assert plan.objective == pytest.approx(independent.objective, rel=1e-7, abs=1e-6), q.label


def test_without_a_bound_nothing_is_proved_by_it() -> None:
    instance = spatialopt.load(INSTANCES[0])
    result = solve(instance)
    rows = list(zip(result.assignments["facility"], result.assignments["destination"]))[:3]
    questions = [Question("avoid", facility=f, city=d) for f, d in rows]
    answers = answer_questions(instance, result.units, result.opened, [], questions, EXACT, floor=None)
    assert all(not p.screened for a in answers for p in (a.first, a.forced) if p is not None)
    assert all(a.first is not None and a.first.termination != "proved by the plan's bound" for a in answers)


def test_a_re_solve_stopped_early_takes_the_floor_as_its_lower_end() -> None:
    """Each tutorial question is answered with HiGHS stopped at its first plan and, as floor, the question's own
    optimum (a valid lower bound: an independent solve without the arc); the answer's lower end is then that
    optimum, never HiGHS's weaker bound at the stop, and the gap is measured from it."""
    instance = spatialopt.load(INSTANCES[0])
    result = solve(instance)
    options = {**EXACT, "mip_max_improving_sols": 1}
    for f, d in zip(result.assignments["facility"], result.assignments["destination"]):
        optimum = spatialopt.solve(without_arc(instance, f, d), gap=1e-9).objective
        answer, = answer_questions(instance, result.units, result.opened, [], [Question("avoid", facility=f, city=d)],
                                   options, floor=optimum)
        plan = answer.first
        assert plan is not None and plan.bound is not None and plan.objective is not None
        assert plan.bound >= optimum - 1e-9 * abs(optimum), (f, d)
        assert plan.gap == pytest.approx((plan.objective - plan.bound) / abs(plan.objective), abs=1e-12)


@pytest.mark.parametrize("path", INSTANCES, ids=IDS)
def test_the_re_solve_speed_ups_never_change_an_answer(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wider completion, HiGHS's objective target and the sub-MIP heuristics left off after a start only
    change how fast an answer comes: every question answered with them and without them (the heuristics and the
    target set by the caller, which the re-solves keep; the wider completion made the narrow one) gives the same
    objective, and each moved row's equals an independent solve without the arc (as in test_explain.py)."""
    instance = spatialopt.load(path)
    result = solve(instance)
    rows = list(zip(result.assignments["facility"], result.assignments["destination"]))
    staying = [f for f in instance.facilities.index if f not in set(result.assignments["facility"])]
    questions = [Question("avoid", facility=f, city=d) for f, d in rows] + [Question("move", facility=f)
                                                                            for f in staying]
    fast = answer_questions(instance, result.units, result.opened, [], questions, EXACT, floor=result.bound)
    plain_options = {**EXACT, "objective_target": -np.inf,
                     **dict.fromkeys(SUB_MIP_HEURISTICS, True)}
    monkeypatch.setattr(counterfactuals.Counterfactuals, "_with_origin_siblings", lambda self, free: list(free))
    plain = answer_questions(instance, result.units, result.opened, [], questions, plain_options,
                             floor=result.bound)
    for a, b in zip(fast, plain):
        for x, y in ((a.first, b.first), (a.forced, b.forced)):
            assert (x is None) == (y is None), a.question.label
            if x is not None and y is not None:
                assert x.status == y.status, a.question.label
                if x.objective is not None:
                    assert x.objective == pytest.approx(y.objective, rel=1e-7, abs=1e-6), a.question.label
    for answer in fast[:len(rows)]:
        q, plan = answer.question, answer.forced or answer.first
        if plan is None or not plan.has_plan or answer.forced is not None:
            continue
        independent = spatialopt.solve(without_arc(instance, q.facility, q.city), gap=1e-9)
        assert plan.objective == pytest.approx(independent.objective, rel=1e-7, abs=1e-6), q.label


def test_a_plan_bound_near_the_re_solves_gap_gets_a_note() -> None:
    """A plan whose bound lies within the re-solves' gap but above a tenth of it proves no near-tie: said so."""
    result = solve(spatialopt.load(INSTANCES[0]))
    objective = float(result.objective)
    options = {"mip_rel_gap": 1e-4, "threads": 1}

    def notes(gap: float) -> list[str]:
        plan = dataclasses.replace(result, bound=objective - gap * abs(objective), gap=gap)
        explanation = explain(plan, options=options, workers=1)
        assert explanation.settings["counterfactuals"] >= 10  # enough questions for the note
        return [n for n in explanation.notes if "settles no answer that costs more than the plan" in n]

    loose = notes(5e-5)
    assert len(loose) == 1 and "--gap 1e-05" in loose[0] and "5.0e-05" in loose[0]
    assert notes(5e-6) == []  # within a tenth of the gap: near-ties are settled by the bound
