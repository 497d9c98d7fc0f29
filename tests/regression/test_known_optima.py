"""Published and hand-derived optima, re-solved on every commit.

Rows come from ``results/known_optima.csv`` (written by
``bench/build_known_optima.py`` from the ``optima.csv`` files beside the
instances, where each value's source is named): OR-Library's GAP optima
(gapinfo, maximisation, and the minimisation values of Cattrysse et al. as
collected by fontanf/generalizedassignmentsolver), its capacitated warehouse
optima (capopt, split demand) and uncapacitated ones (uncapopt), its p-median
optima (pmedopt), and the hand-worked instances in ``instances/hand/``.

Each solve uses the ``exact`` profile, must be proven optimal, must match the
registry within the row's tolerance, and its plan must pass the independent
checker. A sample of each family (:data:`SAMPLE`) is also solved through the
Pyomo back end, after checking that it builds the same model as the highspy
matrices. pmed11-20 are in the registry for ``spatialopt bench`` but too slow
for every commit; pmed6-10 (n = 200) are marked slow and still run in CI.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from same_model import assert_same_model

import spatialopt
from spatialopt.check import check_solution
from spatialopt.derive import derive
from spatialopt.formulation import build
from spatialopt.known_optima import KnownOptimum, manifest_for, read_registry, run_entry

ROOT = Path(__file__).parents[2]
REGISTRY = read_registry(ROOT / "results" / "known_optima.csv")


def in_suite(entry: KnownOptimum) -> bool:
    if entry.family != "pmed":
        return True
    return int(re.sub(r"\D", "", entry.id)) <= 10


def is_slow(entry: KnownOptimum) -> bool:
    return entry.family == "pmed" and int(re.sub(r"\D", "", entry.id)) > 5


CASES = [
    pytest.param(e, id=e.id, marks=[pytest.mark.slow] if is_slow(e) else [])
    for e in REGISTRY
    if in_suite(e)
]


def test_registry_covers_what_ci_promises() -> None:
    ids = {e.id for e in REGISTRY}
    assert {f"gap{n}-{k}-{s}" for n in range(1, 13) for k in range(1, 6) for s in ("max", "min")} <= ids
    caps = {e.id for e in REGISTRY if e.family == "cap"}
    assert len([c for c in caps if not c.endswith("_uncap")]) == 37 and len([c for c in caps if c.endswith("_uncap")]) == 12
    assert {f"pmed{n}" for n in range(1, 11)} <= ids
    assert all(e.source for e in REGISTRY)


def sample(entries: list[KnownOptimum], per_family: int = 2) -> list[KnownOptimum]:
    """The first rows of each family (both senses for GAP, both variants for cap), in registry order."""
    out: list[KnownOptimum] = []
    for e in entries:
        kind = (e.family, e.sense if e.family == "gap" else e.variant)
        if in_suite(e) and not is_slow(e) and sum((x.family, x.sense if x.family == "gap" else x.variant) == kind
                                                  for x in out) < per_family:
            out.append(e)
    return out


SAMPLE = sample(REGISTRY)


def test_the_sample_covers_every_family() -> None:
    assert {e.family for e in SAMPLE} == {e.family for e in REGISTRY}


@pytest.mark.parametrize("entry", [pytest.param(e, id=e.id) for e in SAMPLE])
def test_known_optimum_through_pyomo(entry: KnownOptimum, tmp_path: Path) -> None:
    instance = spatialopt.load(manifest_for(entry, ROOT, tmp_path))
    assert_same_model(build(instance, derive(instance)))
    result = spatialopt.solve(instance, profile="exact", builder="pyomo")
    assert result.status.value == "optimal"
    found = -result.objective if entry.sense == "max" else result.objective  # GAP max rows minimise -profit
    assert entry.matches(found), f"found {found}, published {entry.objective} ({entry.source})"
    assert check_solution(instance, result.to_solution_dict()).ok


@pytest.mark.parametrize("entry", CASES)
def test_known_optimum(entry: KnownOptimum, tmp_path: Path) -> None:
    outcome = run_entry(entry, ROOT, tmp_path, time_limit=600)
    assert outcome.status == "optimal"
    assert outcome.check_ok, outcome.violations
    assert outcome.found is not None
    assert entry.matches(outcome.found), f"found {outcome.found}, published {entry.objective} ({entry.source})"
