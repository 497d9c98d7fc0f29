"""The Pyomo back end: a :class:`~spatialopt.formulation.Formulation` as a readable ``ConcreteModel``.

The algebra is :mod:`spatialopt.formulation`'s (its docstring states every
family once); this module only names it. Each column group becomes a ``Var``
and each row family a ``Constraint`` of the same name, indexed by instance
ids::

    m.x[f, d]   over m.ARCS        m.assign[f]          m.site_link[f, d]
    m.y[k, d]   over m.SITES       m.target[s]          m.site_capacity[k, d]
    m.u[s]      over m.SOFT        m.min_share[s, k]    m.site_min[k, d]
    m.moved_residents, m.moved_jobs (when a share rule needs them)
    m.capacity[r, d]  m.site_count[k]  m.budget  m.moved_residents_def
    m.destination_share[d]  m.moved_jobs_def  m.region_share[g]
    m.total_cost (the objective, minimised)

For a phased instance (spec v2) ``m.x[f, d, p]`` is over ``m.MOVES``,
``m.y[k, d, p]`` over ``m.SITE_OPENINGS``, ``m.u[s, p]`` over
``m.SOFT_TARGETS``, and ``m.target[s, p]``, ``m.capacity[r, d, p]``,
``m.site_link[f, d, p]``, ``m.site_open[k, d]``, ``m.period_budget[p]`` join
(period keys are the period ids).

``m.trivially_infeasible`` lists the reasons the model cannot hold, if any
(see the formulation module). An analyst can add Pyomo constraints to the
model before solving it (``docs/extending.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from .derive import Derived
from .formulation import ColumnBlock, Formulation, RowBlock, build
from .instance import Instance
from .strong_rows import DEFAULT, Strengthening, strengthened


def build_model(instance: Instance, derived: Derived, strengthen: Strengthening = DEFAULT) -> pyo.ConcreteModel:
    """The Pyomo model of ``instance`` over the eligible arcs of ``derived`` (``strengthen``: as ``build_matrices``)."""
    return model_from(strengthened(build(instance, derived), strengthen))


def model_from(form: Formulation, mutable_lower: Iterable[str] = ()) -> pyo.ConcreteModel:
    """A ``ConcreteModel`` with one ``Var`` per column group and one ``Constraint`` per row family of ``form``.

    For each family in ``mutable_lower`` the rows' lower bounds are a mutable
    ``Param`` named ``<family>_level`` (indexed like the family), so that a
    persistent solver can move them without rebuilding anything.
    """
    m = pyo.ConcreteModel(name=form.name)
    m.trivially_infeasible = list(form.trivially_infeasible)
    columns: list[Any] = []
    for group in form.columns:
        columns += _add_var(m, group)
    mutable = set(mutable_lower)
    for block in form.rows:
        _add_constraint(m, block, columns, block.family in mutable)
    cost = form.cost()
    used = np.flatnonzero(cost)
    objective = LinearExpression(constant=0.0, linear_coefs=cost[used].tolist(),
                                 linear_vars=[columns[j] for j in used.tolist()])
    setattr(m, form.objective_name, pyo.Objective(expr=objective, sense=pyo.minimize))
    return m


def _bound(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _domain(integer: bool, lower: float, upper: float) -> Any:
    if not integer:
        return pyo.Reals if lower < 0 else pyo.NonNegativeReals
    if lower == 0 and upper == 1:
        return pyo.Binary
    return pyo.Integers if lower < 0 else pyo.NonNegativeIntegers


def _add_var(m: pyo.ConcreteModel, group: ColumnBlock) -> list[Any]:
    """The group's ``Var`` (indexed by its keys, over ``index_set`` when named); its data in column order."""
    if group.key_source is None:
        var = pyo.Var()
        setattr(m, group.name, var)
        members = [var]
    else:
        keys = group.keys
        index: Any = keys
        if group.index_set is not None:
            setattr(m, group.index_set, pyo.Set(initialize=keys, dimen=group.dimen, ordered=True))
            index = getattr(m, group.index_set)
        var = pyo.Var(index, dense=True)
        setattr(m, group.name, var)
        members = [var[k] for k in keys]
    for v, lo, up, integer in zip(members, group.lower.tolist(), group.upper.tolist(), group.integer.tolist()):
        v.domain = _domain(integer, lo, up)
        v.setlb(_bound(lo))
        v.setub(_bound(up))
    return members


def _relation(expr: Any, lower: Any, upper: float) -> Any:
    """``lower <= expr <= upper`` as Pyomo reads it (an equality when they meet; a missing side is infinite)."""
    fixed_lower = not isinstance(lower, float)  # a Param: always a lower bound
    if not fixed_lower and lower == upper:
        return expr == lower
    if fixed_lower or np.isfinite(lower):
        return (lower, expr, upper) if np.isfinite(upper) else expr >= lower
    return expr <= upper if np.isfinite(upper) else pyo.Constraint.Skip


def _add_constraint(m: pyo.ConcreteModel, block: RowBlock, columns: Sequence[Any], mutable: bool) -> None:
    """One ``Constraint`` named after the family, indexed by its row keys (unindexed for a scalar block)."""
    order = np.argsort(block.row, kind="stable")
    bounds = np.zeros(block.n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(block.row, minlength=block.n_rows), out=bounds[1:])
    entry_vars = [columns[j] for j in block.col[order].tolist()]
    coefs = block.val[order].tolist()
    lower: list[Any] = block.lower.tolist()
    upper = block.upper.tolist()

    def expr(i: int) -> Any:
        s, e = bounds[i], bounds[i + 1]
        return _relation(LinearExpression(constant=0.0, linear_coefs=coefs[s:e], linear_vars=entry_vars[s:e]),
                         lower[i], upper[i])

    if block.scalar:
        if block.n_rows == 0:  # a row without variables that holds
            return
        if mutable:
            raise ValueError(f"row family {block.family!r} has one unindexed row: its bound cannot be a Param")
        setattr(m, block.family, pyo.Constraint(expr=expr(0)))
        return
    keys = block.keys
    if mutable:
        level = pyo.Param(keys, mutable=True, within=pyo.Reals, initialize=dict(zip(keys, lower)))
        setattr(m, f"{block.family}_level", level)
        lower = [level[k] for k in keys]
    position = {k: i for i, k in enumerate(keys)}

    def rule(_m: pyo.ConcreteModel, *index: Any) -> Any:
        return expr(position[index if len(index) > 1 else index[0]])

    setattr(m, block.family, pyo.Constraint(keys, rule=rule))
