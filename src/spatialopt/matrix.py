"""The highspy back end: a :class:`~spatialopt.formulation.Formulation` as sparse arrays.

The algebra is :mod:`spatialopt.formulation`'s; this module only stacks its
blocks into one row-wise sparse matrix that HiGHS takes in one call
(``passModel``). On 100,000 eligible arcs that takes a fraction of a second
where Pyomo's construction and hand-off take several (see
``bench/bench_scale.py``).

Columns are the formulation's column groups in order: ``x`` (one per
eligible arc, in :class:`~spatialopt.derive.Derived` order), ``y`` (one per
site candidate), ``u`` (one per soft source), then ``moved_residents`` and
``moved_jobs`` when a share rule needs them, then any group a caller added.
Rows are the formulation's families in order; ``family_rows`` gives each
family's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .derive import Derived
from .formulation import Formulation, RowBlock, build
from .instance import Instance
from .strong_rows import DEFAULT, Strengthening, strengthened


@dataclass
class MatrixModel:
    """min c·v  s.t.  row_lower <= A v <= row_upper,  col_lower <= v <= col_upper."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray  # bool per column
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray  # CSR row pointers
    a_index: np.ndarray
    a_value: np.ndarray
    x: slice
    y: slice
    u: slice
    row_family: list[str] = field(default_factory=list)  # one name per row block, see ``family_rows``
    family_rows: dict[str, slice] = field(default_factory=dict)
    trivially_infeasible: list[str] = field(default_factory=list)
    column_groups: dict[str, slice] = field(default_factory=dict)  # every column group, x, y and u included

    @property
    def n_cols(self) -> int:
        return int(self.cost.size)

    @property
    def n_rows(self) -> int:
        return int(self.row_lower.size)

    @property
    def n_nonzeros(self) -> int:
        return int(self.a_value.size)


def build_matrices(instance: Instance, derived: Derived, strengthen: Strengthening = DEFAULT) -> MatrixModel:
    """The model of spec §4 as sparse arrays (the same model as :func:`~spatialopt.model.build_model`).

    ``strengthen`` chooses the valid strengthenings of :mod:`spatialopt.strong_rows`
    (``Strengthening.none()`` gives the spec's rows exactly).
    """
    return matrices_from(strengthened(build(instance, derived), strengthen))


def matrices_from(form: Formulation) -> MatrixModel:
    """Stack ``form``'s blocks: columns in group order, rows in family order, CSR."""
    blocks = [b for b in form.rows if b.n_rows]
    starts = np.cumsum([0] + [b.n_rows for b in blocks])
    n_rows = int(starts[-1])
    entries = [_row_sorted(b) for b in blocks]
    a_start = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(_cat([np.bincount(b.row, minlength=b.n_rows) for b in blocks], np.int64), out=a_start[1:])
    family_rows = {b.family: slice(int(s), int(s) + b.n_rows) for b, s in zip(blocks, starts)}
    groups = {b.name: form.column(b.name) for b in form.columns}
    return MatrixModel(
        cost=form.cost(), col_lower=_stack(form, "lower"), col_upper=_stack(form, "upper"),
        integer=_stack(form, "integer").astype(bool),
        row_lower=_cat([b.lower for b in blocks], float), row_upper=_cat([b.upper for b in blocks], float),
        a_start=a_start, a_index=_cat([col for col, _ in entries], np.int64),
        a_value=_cat([val for _, val in entries], float), x=groups["x"], y=groups["y"], u=groups["u"],
        row_family=list(family_rows), family_rows=family_rows,
        trivially_infeasible=list(form.trivially_infeasible), column_groups=groups,
    )


def _row_sorted(block: RowBlock) -> tuple[np.ndarray, np.ndarray]:
    """The block's columns and values in row order (most families are built that way already)."""
    row = block.row
    if row.size < 2 or not np.any(row[1:] < row[:-1]):
        return block.col, block.val
    order = np.argsort(row, kind="stable")
    return block.col[order], block.val[order]


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _stack(form: Formulation, attribute: str) -> np.ndarray:
    parts = [getattr(b, attribute) for b in form.columns]
    return np.concatenate(parts) if parts else np.zeros(0)
