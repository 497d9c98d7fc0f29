"""Published and hand-worked optima with every strengthening on: none may be cut off.

The rows are the known-optima registry's (``results/known_optima.csv``, each
value's source named there). Every strengthening of
:class:`spatialopt.strong_rows.Strengthening` is on, reduced-cost fixing
included, given as the known plan's cost the published optimum plus the row's
tolerance (the tightest bound a warm start could give). The solve must prove
optimality, match the published value and pass the independent checker.
The default strengthening alone runs over the whole registry in
``test_known_optima.py`` (the default of every solve). Kept fast: every cap
and hand row, pmed1-5, and the first problem of each GAP file in both senses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_known_optima import REGISTRY, in_suite, is_slow

import spatialopt
from spatialopt.check import check_solution
from spatialopt.known_optima import KnownOptimum, manifest_for
from spatialopt.strong_rows import Strengthening

ROOT = Path(__file__).parents[2]


def chosen(entry: KnownOptimum) -> bool:
    if not in_suite(entry) or is_slow(entry):
        return False
    return entry.family != "gap" or entry.problem in (None, 1)


CASES = [pytest.param(e, id=e.id) for e in REGISTRY if chosen(e)]


def test_the_cases_cover_every_family() -> None:
    assert {e.values[0].family for e in CASES} == {e.family for e in REGISTRY}


@pytest.mark.parametrize("entry", CASES)
def test_known_optimum_with_every_strengthening(entry: KnownOptimum, tmp_path: Path) -> None:
    instance = spatialopt.load(manifest_for(entry, ROOT, tmp_path))
    published = -entry.objective if entry.sense == "max" else entry.objective  # GAP max rows minimise -profit
    slack = max(entry.abs_tol, entry.rel_tol * max(1.0, abs(entry.objective)))
    result = spatialopt.solve(instance, profile="exact", strengthen=Strengthening.every(),
                              upper_bound=published + slack)
    assert result.status.value == "optimal", result.reasons
    found = -result.objective if entry.sense == "max" else result.objective
    assert entry.matches(found), f"found {found}, published {entry.objective} ({entry.source})"
    report = check_solution(instance, result.to_solution_dict())
    assert report.ok, report.violations
