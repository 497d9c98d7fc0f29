"""The question model carries the solve path's strengthening rows, and no answer changes for it.

Each strengthening row is implied by the spec's rows (or restates them
exactly), and a question only narrows the plan's problem, so the rows hold
under every question: the answers of the spec's rows alone and of every
strengthening that stays valid (``question_strengthening(Strengthening.every())``)
must agree on the tutorial and the hand-worked instances, phased included.
Dominated-arc bounds are the exception (they cap an arc because a cheaper
one is open, and a question closes arcs): a hand-worked instance where the
runner-up is such an arc shows why they are left out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import load_dict

import spatialopt
from spatialopt.derive import derive
from spatialopt.explain_counterfactuals import Question, answer_questions, question_strengthening
from spatialopt.formulation import build
from spatialopt.strong_rows import Strengthening, _Data, dominated_arcs

ROOT = Path(__file__).parents[2]
INSTANCES = [ROOT / "instances" / "tutorial" / "instance.toml", ROOT / "instances" / "hand" / "site-choice.toml",
             ROOT / "instances" / "hand" / "budget.toml", ROOT / "instances" / "hand" / "capacity-override.toml",
             ROOT / "instances" / "hand" / "phased-schedule.toml"]
IDS = [p.stem if p.parent.name == "hand" else p.parent.name for p in INSTANCES]
EXACT = {"mip_rel_gap": 1e-9, "threads": 1}


def solve(instance: spatialopt.Instance) -> spatialopt.Result:
    result = spatialopt.solve(instance, gap=1e-9)
    assert result.status == spatialopt.SolveStatus.OPTIMAL
    return result


def questions_of(result: spatialopt.Result) -> list[Question]:
    """Every moved arc avoided and every facility with an arc made to move one unit more."""
    moved = list(dict.fromkeys(zip(result.assignments["facility"], result.assignments["destination"])))
    with_arcs = {f for f, _ in result.derived.arc_keys()}
    return ([Question("avoid", facility=f, city=d) for f, d in moved]
            + [Question("move", facility=f) for f in result.instance.facilities.index if f in with_arcs])


@pytest.mark.parametrize("path", INSTANCES, ids=IDS)
def test_strengthened_question_model_gives_the_spec_rows_answers(path: Path) -> None:
    instance = spatialopt.load(path)
    result = solve(instance)
    moves, sites = result.column_start()
    questions = questions_of(result)
    assert questions
    plain = answer_questions(instance, moves, sites, [], questions, EXACT, floor=None,
                             strengthen=Strengthening.none())
    strong = answer_questions(instance, moves, sites, [], questions, EXACT, floor=None,
                              strengthen=Strengthening.every())
    for a, b in zip(plain, strong):
        assert a.note == b.note, a.question.label
        for p, q in ((a.first, b.first), (a.forced, b.forced)):
            assert (p is None) == (q is None), a.question.label
            if p is not None and q is not None:
                assert p.status == q.status, a.question.label
                if p.has_plan:
                    assert q.objective == pytest.approx(p.objective, rel=1e-7, abs=1e-6), a.question.label


# f1 must move; its arcs a (10) and b (20) are free (no site, no capacity), so b is dominated by a. The plan
# sends f1 to a (10); without a the best plan sends it to b: 20, +10. A model that capped dominated arcs at 0
# would find f1 no destination at all.
DOMINATED = {
    "instance": {"name": "hand-dominated-runner-up", "horizon_years": 10},
    "types": [{"id": "t"}],
    "sources": [{"city": "s", "target_reduction": 0}],
    "cities": [{"id": "s", "lon": 116.0, "lat": 40.0}, {"id": "a", "lon": 117.0, "lat": 40.0},
               {"id": "b", "lon": 116.0, "lat": 41.0}],
    "facilities": [{"id": "f1", "origin": "s", "type": "t", "jobs": 100, "must_move": True}],
    "arcs": [{"facility": "f1", "destination": "a", "cost": 10.0},
             {"facility": "f1", "destination": "b", "cost": 20.0}],
}


def test_dominated_arcs_stay_out_of_the_question_model(tmp_path: Path) -> None:
    assert question_strengthening(Strengthening.every()).dominated_arcs is False
    instance = load_dict(tmp_path, DOMINATED)
    derived = derive(instance)
    form = build(instance, derived)
    dominated = dict(zip(derived.arc_keys(), dominated_arcs(_Data(instance, derived), form).tolist()))
    assert dominated == {("f1", "a"): False, ("f1", "b"): True}  # the runner-up is the dominated arc
    result = solve(instance)
    assert result.objective == pytest.approx(10.0)
    moves, sites = result.column_start()
    answer, = answer_questions(instance, moves, sites, [], [Question("avoid", facility="f1", city="a")], EXACT,
                               floor=result.bound, strengthen=Strengthening.every())
    assert answer.first is not None and answer.first.status == "optimal"
    assert answer.first.objective == pytest.approx(20.0)
