"""The matrix builder builds the same model as the Pyomo reference, row family by row family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyomo.environ as pyo

import spatialopt
from spatialopt.derive import derive
from spatialopt.matrix import build_matrices
from spatialopt.model import build_model

ROOT = Path(__file__).parents[2]
INSTANCES = [ROOT / "instances/tutorial/instance.toml"] + sorted((ROOT / "instances/hand").glob("*.toml"))


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem if p.stem != "instance" else p.parent.name)
def test_same_rows_columns_and_objective_coefficients(path: Path) -> None:
    instance = spatialopt.load(path)
    derived = derive(instance)
    model = build_model(instance, derived)
    matrices = build_matrices(instance, derived)
    pyomo_rows = {c.local_name: len(c) for c in model.component_objects(pyo.Constraint, active=True) if len(c)}
    matrix_rows = {name: block.stop - block.start for name, block in matrices.family_rows.items()}
    assert pyomo_rows == matrix_rows
    assert matrices.n_cols == model.nvariables()
    objective = model.total_cost.expr
    pyomo_cost = dict(zip((v.name for v in objective.linear_vars), objective.linear_coefs))
    names = [model.x[k].name for k in derived.arc_keys()] + [model.y[k].name for k in derived.site_keys()]
    assert np.allclose([pyomo_cost.get(n, 0.0) for n in names], matrices.cost[: len(names)])


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
