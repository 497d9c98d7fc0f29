"""The report's HTML building blocks: number formats, tables, figures and cards.

Shared by the plan report (:mod:`spatialopt.report`), its schedule and
explanation sections (:mod:`spatialopt.report_schedule`) and the comparison
page (:mod:`spatialopt.report_compare`). Every text is escaped here.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd


# -- formatting ------------------------------------------------------------------------
def fmt_int(value: Any) -> str:
    """Persons, jobs, units: ``12,345``."""
    v = _float(value)
    return "–" if v is None else f"{v:,.0f}"


def fmt_cost(value: Any) -> str:
    """Costs: one decimal (``-1,303.7``); three below one unit."""
    v = _float(value)
    if v is None:
        return "–"
    return f"{v:,.1f}" if abs(v) >= 1 or v == 0 else f"{v:,.3f}"


def fmt_auto(value: Any) -> str:
    """Any cell of a CSV the report does not know the meaning of."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    v = _float(value)
    if v is None:
        return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    if v == int(v) and abs(v) < 1e15:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:,.1f}"
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"


def fmt_units(value: Any) -> str:
    """Facility units: whole numbers as such, split ones (splittable types) to two decimals."""
    v = _float(value)
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.2f}"


def fmt_pct(value: Any) -> str:
    v = _float(value)
    return "–" if v is None else f"{100 * v:.2f} %"


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


# -- HTML building blocks ---------------------------------------------------------------
def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = (), caption: str = "") -> str:
    num = set(numeric)
    head = "".join(f'<th class="num">{_e(h)}</th>' if i in num else f"<th>{_e(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = "".join(f'<td class="num">{_e(c)}</td>' if i in num else f"<td>{_e(c)}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _figure(png: bytes, alt: str, caption: str = "") -> str:
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def _cards(items: Sequence[tuple[str, str, str]]) -> str:
    cells = "".join(
        f'<div class="card"><div class="label">{_e(label)}</div><div class="value">{_e(value)}</div>'
        f'<div class="sub">{_e(sub)}</div></div>'
        for label, value, sub in items
    )
    return f'<div class="cards">{cells}</div>'


def _clip(value: Any, limit: int = 80) -> str:
    text = fmt_auto(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _column_format(column: pd.Series) -> Any:
    """One number format per column of a CSV the report does not know: same decimals down the column."""
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        return _clip
    if str(column.name).lower() in ("gap", "mip_gap", "rel_gap"):
        return fmt_pct
    values = column.astype(float).to_numpy()
    values = values[np.isfinite(values)]
    if not len(values) or np.all(values == np.round(values)):
        return fmt_int
    top = float(np.max(np.abs(values)))
    decimals = 1 if top >= 100 else 2 if top >= 1 else 3
    return lambda v: "–" if _float(v) is None else f"{float(v):,.{decimals}f}"


def _generic_table(frame: pd.DataFrame, caption: str) -> str:
    shown = frame.head(50)
    formats = [_column_format(shown[c]) for c in shown.columns]
    rows = [[f(v) for f, v in zip(formats, row)] for row in shown.itertuples(index=False)]
    numeric = [i for i, c in enumerate(shown.columns) if pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c])]
    if len(frame) > 50:
        caption += f" First 50 of {len(frame)} rows."
    return _table([str(c) for c in shown.columns], rows, numeric=numeric, caption=caption)
