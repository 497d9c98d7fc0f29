"""Both back ends of one formulation, written as canonical dicts, must be the same model.

The highspy side is read from the :class:`~spatialopt.matrix.MatrixModel`'s
arrays (rows by the formulation's keys, columns by group and key); the Pyomo
side from the ``ConcreteModel``'s components through Pyomo's standard linear
representation (``generate_standard_repn``) and each variable's own bounds and
domain. Nothing is shared between the two readings but the key names.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.repn import generate_standard_repn

from spatialopt.formulation import Formulation
from spatialopt.matrix import MatrixModel, matrices_from
from spatialopt.model import model_from

Canonical = dict[str, Any]
FAMILIES = ("assign", "target", "min_share", "capacity", "site_link", "site_capacity", "site_min", "site_count",
            "budget", "moved_residents_def", "destination_share", "moved_jobs_def", "region_share")


def _bound(value: Any, default: float) -> float:
    return default if value is None else float(pyo.value(value))


def from_matrix(form: Formulation, m: MatrixModel) -> Canonical:
    col_key = [(g.name, k) for g in form.columns for k in g.keys]
    assert len(col_key) == m.n_cols
    columns = {col_key[j]: (float(m.col_lower[j]), float(m.col_upper[j]), bool(m.integer[j])) for j in range(m.n_cols)}
    objective = {col_key[j]: float(c) for j, c in enumerate(m.cost) if c != 0}
    rows = {}
    for family, block in m.family_rows.items():
        keys = form.family(family).keys
        assert len(keys) == block.stop - block.start
        for key, i in zip(keys, range(block.start, block.stop)):
            s, e = m.a_start[i], m.a_start[i + 1]
            entries = {col_key[j]: float(v) for j, v in zip(m.a_index[s:e], m.a_value[s:e])}
            assert len(entries) == e - s, f"{family}[{key}] names a column twice"
            rows[(family, key)] = (float(m.row_lower[i]), float(m.row_upper[i]), entries)
    return {"columns": columns, "objective": objective, "rows": rows}


def from_pyomo(model: pyo.ConcreteModel, objective_name: str = "total_cost") -> Canonical:
    columns = {}
    for var in model.component_objects(pyo.Var, active=True):
        for index, v in var.items():
            lb, ub = v.bounds
            columns[(var.local_name, index)] = (_bound(lb, -math.inf), _bound(ub, math.inf), bool(v.is_integer()))
    repn = generate_standard_repn(getattr(model, objective_name).expr, compute_values=True)
    assert repn.constant == 0 and repn.is_linear()
    objective = {}
    for v, c in zip(repn.linear_vars, repn.linear_coefs):
        if c != 0:
            objective[(v.parent_component().local_name, v.index())] = float(c)
    rows = {}
    for con in model.component_objects(pyo.Constraint, active=True):
        for index, row in con.items():
            body = generate_standard_repn(row.body, compute_values=True)
            assert body.is_linear()
            entries: dict[Any, float] = {}
            for v, c in zip(body.linear_vars, body.linear_coefs):
                key = (v.parent_component().local_name, v.index())
                assert key not in entries, f"{con.local_name}[{index}] names {key} twice"
                if c != 0:
                    entries[key] = float(c)
            constant = float(body.constant)
            rows[(con.local_name, index)] = (_bound(row.lower, -math.inf) - constant,
                                             _bound(row.upper, math.inf) - constant, entries)
    return {"columns": columns, "objective": objective, "rows": rows}


def assert_same(a: Canonical, b: Canonical) -> None:
    """Same columns (bounds, integrality), objective, rows (keys, coefficients, senses, right-hand sides)."""
    assert a["columns"] == b["columns"]
    assert a["objective"].keys() == b["objective"].keys()
    assert np.allclose([a["objective"][k] for k in a["objective"]], [b["objective"][k] for k in a["objective"]],
                       rtol=1e-15, atol=0)
    assert a["rows"].keys() == b["rows"].keys(), set(a["rows"]) ^ set(b["rows"])
    for key, (lo, up, entries) in a["rows"].items():
        assert (lo, up) == b["rows"][key][:2], key
        assert entries == b["rows"][key][2], key


def assert_same_model(form: Formulation) -> Canonical:
    """The two back ends of ``form`` agree; the canonical model (from the highspy side)."""
    matrix = from_matrix(form, matrices_from(form))
    assert_same(matrix, from_pyomo(model_from(form), form.objective_name))
    return matrix


def families_of(canonical: Canonical) -> set[str]:
    return {family for family, _ in canonical["rows"]}
