"""An analyst's own rule, added through the public extension seam, holds on both back ends.

The seam (docs/extending.md): build the formulation, add a row block
(:meth:`Formulation.add_rows`), hand it to either back end; or add a Pyomo
constraint to the generated model. Expected optima are worked by hand in each
test's docstring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest
from same_model import assert_same_model
from support import load_dict

import spatialopt
from spatialopt.derive import derive
from spatialopt.diagnose import elastic
from spatialopt.formulation import RowBlock, build
from spatialopt.matrix import matrices_from
from spatialopt.model import build_model, model_from
from spatialopt.results import extract_plan
from spatialopt.solve import HighsSession, run_highs, run_highs_matrix

ROOT = Path(__file__).parents[2]
EXACT = {"mip_rel_gap": 1e-9, "threads": 1}


def two_units() -> dict[str, Any]:
    """Facility f, 2 units, saves 5 per unit at a and 3 per unit at b: unruled, both go to a (-10)."""
    return {
        "instance": {"name": "toy"},
        "types": [{"id": "t"}],
        "sources": [{"city": "s", "target_reduction": 0}],
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0},
            {"id": "a", "lon": 117.0, "lat": 40.0},
            {"id": "b", "lon": 116.0, "lat": 41.0},
        ],
        "facilities": [{"id": "f", "origin": "s", "type": "t", "count": 2, "jobs": 1}],
        "arcs": [{"facility": "f", "destination": "a", "cost": -5.0}, {"facility": "f", "destination": "b", "cost": -3.0}],
    }


def at_most_one_unit_per_city(form: Any, family: str = "at_most_one") -> RowBlock:
    """The toy family: sum_f x_fd <= 1 for every destination d."""
    derived = form.derived
    x = form.column("x")
    return RowBlock.grouped(family, np.asarray(derived.city_ids, dtype=object)[derived.arc_d],
                            x.start + np.arange(derived.n_arcs), 1.0, upper=1.0)


def both_ways(instance: Any, form: Any) -> list[Any]:
    """The plan of ``form`` through the highspy matrices and through the Pyomo model."""
    derived = form.derived
    return [extract_plan(instance, derived, run_highs_matrix(matrices_from(form), EXACT)),
            extract_plan(instance, derived, run_highs(model_from(form), EXACT))]


def test_a_row_block_is_enforced_on_both_back_ends(tmp_path: Path) -> None:
    """With at most one unit per city, one unit goes to a and one to b: -5 - 3 = -8 (unruled: -10)."""
    instance = load_dict(tmp_path, two_units())
    form = build(instance, derive(instance))
    assert [r.objective for r in both_ways(instance, form)] == pytest.approx([-10.0, -10.0])
    form.add_rows(at_most_one_unit_per_city(form))
    canonical = assert_same_model(form)  # the new rows, identical on both sides
    assert {key for family, key in canonical["rows"] if family == "at_most_one"} == {"a", "b"}
    for result in both_ways(instance, form):
        assert result.objective == pytest.approx(-8.0)
        assert result.assignments.groupby("destination")["units"].sum().to_dict() == {"a": 1.0, "b": 1.0}


def test_a_pyomo_constraint_on_the_generated_model(tmp_path: Path) -> None:
    """The same rule written in Pyomo on build_model's components: -8 again."""
    instance = load_dict(tmp_path, two_units())
    derived = derive(instance)
    m = build_model(instance, derived)
    m.at_most_one = pyo.Constraint(["a", "b"], rule=lambda m, d: sum(m.x[f, c] for f, c in m.ARCS if c == d) <= 1)
    result = extract_plan(instance, derived, run_highs(m, EXACT))
    assert result.objective == pytest.approx(-8.0)


def test_an_added_rule_that_cannot_hold_is_explained_and_can_be_relaxed(tmp_path: Path) -> None:
    """A rule without a variable that cannot hold is named; a rule that can be relaxed is, by elastic()."""
    instance = load_dict(tmp_path, two_units())
    form = build(instance, derive(instance))
    form.add_rows(RowBlock.grouped("nobody_home", np.array(["z"]), np.array([0]), 0.0, lower=1.0))
    assert form.trivially_infeasible == ["nobody_home[z]: no variable can take part, but the row needs 1 <= 0 <= inf"]

    form = build(instance, derive(instance))
    x = form.column("x")
    # Both units must move, but at most one unit may move at all: one unit of slack, on the added family.
    form.add_rows(RowBlock.grouped("move_two", np.array(["f", "f"]), x.start + np.arange(2), 1.0, lower=2.0))
    form.add_rows(RowBlock.grouped("move_one", np.array(["f", "f"]), x.start + np.arange(2), 1.0, upper=1.0))
    assert run_highs_matrix(matrices_from(form), EXACT).status == spatialopt.SolveStatus.INFEASIBLE
    relaxed = elastic(form, ["move_one"])
    session = HighsSession(matrices_from(form), EXACT)
    assert session.run().status.has_solution
    values = np.asarray(session.solution().col_value)
    assert relaxed[0].keys == ["f"] and values[relaxed[0].over[0]] == pytest.approx(1.0)


def test_no_city_receives_more_than_three_manufacturing_units_in_the_tutorial() -> None:
    """The tutorial's plan sends 4 manufacturing units to Baoding; the rule caps every city at 3.

    Both back ends must reach the same (higher) optimum, and the plan must keep the rule.
    """
    instance = spatialopt.load(ROOT / "instances/tutorial/instance.toml")
    derived = derive(instance)
    form = build(instance, derived)
    unruled = both_ways(instance, form)
    manufacturing = np.flatnonzero(instance.facilities["type"].to_numpy()[derived.arc_f] == "manufacturing")
    cities = np.asarray(derived.city_ids, dtype=object)[derived.arc_d[manufacturing]]
    form.add_rows(RowBlock.grouped("max_three_manufacturing", cities, form.column("x").start + manufacturing,
                                   1.0, upper=3.0))
    ruled = both_ways(instance, form)
    for before, after in zip(unruled, ruled):
        received = before.assignments.query("type == 'manufacturing'").groupby("destination")["units"].sum()
        assert received.max() == pytest.approx(4.0)
        received = after.assignments.query("type == 'manufacturing'").groupby("destination")["units"].sum()
        assert received.max() <= 3.0 + 1e-9
        assert after.objective > before.objective + 1.0
    assert ruled[0].objective == pytest.approx(ruled[1].objective, rel=1e-7)
