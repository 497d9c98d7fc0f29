"""The highspy and Pyomo back ends build the same model from one formulation (see ``same_model``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from same_model import assert_same, assert_same_model, from_matrix, from_pyomo

import spatialopt
from spatialopt.derive import derive
from spatialopt.formulation import build
from spatialopt.matrix import matrices_from
from spatialopt.model import model_from

ROOT = Path(__file__).parents[2]
INSTANCES = [ROOT / "instances/tutorial/instance.toml"] + sorted((ROOT / "instances/hand").glob("*.toml"))


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem if p.stem != "instance" else p.parent.name)
def test_highspy_and_pyomo_models_are_the_same_model(path: Path) -> None:
    """Row by row (by key), coefficient by coefficient, bound by bound, and the objective."""
    instance = spatialopt.load(path)
    canonical = assert_same_model(build(instance, derive(instance)))
    assert canonical["rows"] and canonical["objective"]


def test_the_comparison_sees_a_changed_coefficient() -> None:
    """The structural comparison can fail: one coefficient changed on the highspy side only."""
    instance = spatialopt.load(INSTANCES[0])
    form = build(instance, derive(instance))
    matrix = matrices_from(form)
    matrix.a_value[3] += 1.0
    with pytest.raises(AssertionError):
        assert_same(from_matrix(form, matrix), from_pyomo(model_from(form)))


def test_export_writes_mps_and_lp(tmp_path: Path) -> None:
    from spatialopt.cli import main

    tutorial = str(ROOT / "instances/tutorial/instance.toml")
    assert main(["export", tutorial, "--mps", str(tmp_path / "t.mps"), "--lp", str(tmp_path / "t.lp")]) == 0
    assert "ROWS" in (tmp_path / "t.mps").read_text()
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(tmp_path / "t.mps"))
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.run()
    result = spatialopt.solve(spatialopt.load(tutorial), gap=1e-9)
    assert h.getInfo().objective_function_value == pytest.approx(result.objective, rel=1e-9)


def test_both_builders_explain_an_impossible_row_alike(tmp_path: Path) -> None:
    """A must-move facility without a destination and a hard target without arcs, named in the instance's words."""
    from support import load_dict

    from spatialopt.matrix import build_matrices
    from spatialopt.model import build_model

    data = {
        "instance": {"name": "stuck"},
        "types": [{"id": "t", "max_km": 1.0}],
        "sources": [{"city": "s", "target_reduction": 10}],
        "cities": [{"id": "s", "lon": 116.0, "lat": 40.0}, {"id": "a", "lon": 117.0, "lat": 40.0}],
        "facilities": [{"id": "f", "origin": "s", "type": "t", "jobs": 10, "must_move": True}],
    }
    instance = load_dict(tmp_path, data)
    derived = derive(instance)
    expected = [
        "facility 'f' must move (1 unit(s)) but has no eligible destination",
        "source 's': hard target 10 residents but none of its facilities has an eligible destination",
    ]
    assert build_matrices(instance, derived).trivially_infeasible == expected
    assert build_model(instance, derived).trivially_infeasible == expected
