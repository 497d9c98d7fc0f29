"""Answers proved by the model's block bounds (spatialopt.blocks) are the answers a full re-solve gives.

A question about one facility changes its block only; the sum of the other
blocks' bounds and its block solved again under the question bounds the
answer from below, and the plan with that block's own answer in place of its
part is a plan of the question: when the two meet within the gap, no full
re-solve runs. Checked on a hand-made instance of two cores that share no
site (two blocks): each core moves 150 residents, f (100 residents, 10 jobs)
and g (70, 5 jobs) cover it most cheaply (15 jobs; f and h, 160 residents,
move 18), so h stays; every answer equals the same question answered without
the blocks, and each runner-up equals an independent solve without the arc.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import load_dict

import spatialopt
from spatialopt.derive import derive
from spatialopt.explain_counterfactuals import Question, answer_questions
from spatialopt.instance import Instance
from spatialopt.strong_rows import DEFAULT

EXACT = {"mip_rel_gap": 1e-9, "threads": 1}


def two_cores() -> dict:
    cores = {"s1": (116.0, 40.0), "s2": (100.0, 30.0)}
    cities = [{"id": s, "lon": lon, "lat": lat, "tier": "core"} for s, (lon, lat) in cores.items()]
    for s, (lon, lat) in cores.items():  # three destinations near each core, at 1, 1.2 and 1.5 degrees
        cities += [{"id": f"{s}-{n}", "lon": lon + dx, "lat": lat, "tier": "large"}
                   for n, dx in (("a", 1.0), ("b", 1.2), ("c", 1.5))]
    return {
        "instance": {"name": "two-cores-explain"},
        "types": [{"id": "t", "cost_per_job_km": 0.001}],
        "sources": [{"city": s, "target_reduction": 150} for s in cores],
        "cities": cities,
        "facilities": [{"id": f"{s}-{name}", "origin": s, "type": "t", "count": 1, "jobs": jobs,
                        "residents": residents}
                       for s in cores for name, jobs, residents in (("f", 10, 100), ("g", 5, 70), ("h", 8, 60))],
    }


def without_arc(instance: Instance, facility: str, city: str) -> Instance:
    keys = [k for k in derive(instance).arc_keys() if k != (facility, city)]
    table = pd.DataFrame({"facility": [f for f, _ in keys], "destination": [d for _, d in keys], "cost": np.nan})
    return dataclasses.replace(instance, arcs=table)


def test_block_bounds_answer_as_full_re_solves(tmp_path: Path) -> None:
    instance = load_dict(tmp_path, two_cores())
    result = spatialopt.solve(instance, gap=1e-9)
    assert result.status == spatialopt.SolveStatus.OPTIMAL
    rows = list(zip(result.assignments["facility"], result.assignments["destination"]))
    assert sorted(f for f, _ in rows) == ["s1-f", "s1-g", "s2-f", "s2-g"]
    questions = ([Question("avoid", facility=f, city=d) for f, d in rows]
                 + [Question("move", facility=f) for f in ("s1-h", "s2-h")]
                 + [Question("receive", type="t", city=c) for c in ("s1-c", "s2-c")])
    pairs = [("t", "s1-c"), ("t", "s2-c")]
    with_blocks = answer_questions(instance, result.units, result.opened, pairs, questions, EXACT,
                                   floor=result.bound)
    without = answer_questions(instance, result.units, result.opened, pairs, questions, EXACT, floor=result.bound,
                               strengthen=dataclasses.replace(DEFAULT, block_bounds=False))
    proved = 0
    for a, b in zip(with_blocks, without):
        assert a.first is not None and b.first is not None and a.first.status == "optimal", a.question.label
        assert a.first.objective == pytest.approx(b.first.objective, rel=1e-9, abs=1e-9), a.question.label
        proved += a.first.termination == "proved by the block bounds"
        assert all(p.termination != "proved by the block bounds" for p in (b.first, b.forced) if p is not None)
    # no row ties the cores: every question is settled by its block (the receive questions too: whole units)
    assert proved == len(questions)
    for answer in with_blocks[:len(rows)]:
        q = answer.question
        independent = spatialopt.solve(without_arc(instance, q.facility, q.city), gap=1e-9)
        assert answer.first is not None and answer.first.objective == pytest.approx(independent.objective, rel=1e-9)


@pytest.mark.parametrize("max_km", [None, 500.0])
def test_a_splittable_type_gets_a_receive_floor_from_one_block_only(tmp_path: Path, max_km: float | None) -> None:
    """Fractions of a splittable type may come from both cores, none sending a whole unit: no block floor.
    Within 500 km only s1 reaches s1-c (s2 is some 1,800 km away): its block alone must send the unit."""
    data = two_cores()
    data["types"][0]["splittable"] = True
    if max_km is not None:
        data["types"][0]["max_km"] = max_km
    instance = load_dict(tmp_path, data)
    result = spatialopt.solve(instance, gap=1e-9)
    question = Question("receive", type="t", city="s1-c")
    [answer] = answer_questions(instance, result.units, result.opened, [("t", "s1-c")], [question], EXACT,
                                floor=result.bound)
    assert answer.first is not None and answer.first.status == "optimal"
    assert (answer.first.termination == "proved by the block bounds") == (max_km is not None)
    [plain] = answer_questions(instance, result.units, result.opened, [("t", "s1-c")], [question], EXACT,
                               floor=result.bound, strengthen=dataclasses.replace(DEFAULT, block_bounds=False))
    assert plain.first is not None and answer.first.objective == pytest.approx(plain.first.objective, rel=1e-9)
