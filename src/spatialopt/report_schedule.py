"""The report's schedule (spec v2 plan periods) and explanation ('spatialopt explain') sections.

- :func:`schedule_section` reads ``schedule.csv`` as :mod:`spatialopt.output`
  writes it (one row per period and core) and shows what a planner checks:
  per core, the residents moved by each period's end against its milestone
  (a small chart per core) with the density trajectory; per period, the
  spending against its budget and the sites opened. A ``schedule.csv`` with
  other columns is shown as a plain table.
- :func:`explanation_section` reads ``explain.json`` (self-describing: its
  sections' titles, what they answer, their columns and rows) and shows each
  question with the columns that answer it, closest calls first, and the
  largest marginal values as a chart. A record of another shape is shown as
  plain tables.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from .report_html import _clip, _e, _figure, _float, _generic_table, _table, fmt_cost, fmt_int

if TYPE_CHECKING:
    from .report import _Folder

SCHEDULE_COLUMNS = ("period", "end_year", "source", "residents_moved", "residents_moved_by_end", "target", "shortfall",
                    "density_after", "spending", "budget", "sites_opened")
MAX_ROWS = 30
TOL = 1e-6

# explain.json's sections: the columns shown (in this order, when present and not all empty); cities named.
EXPLAIN_COLUMNS = {
    "moved": ("facility", "period", "destination", "runner_up", "runner_up_extra_cost", "stays_instead"),
    "staying": ("facility", "period", "cheapest_destination", "extra_cost", "why_not"),
    "cities": ("city", "type", "period", "verdict", "rule", "extra_cost"),
    "marginals": ("family", "subject", "period", "change", "effect", "per"),
}
COLUMN_LABEL = {
    "facility": "facility", "period": "period", "destination": "destination", "runner_up": "runner-up",
    "runner_up_extra_cost": "extra cost of the runner-up", "stays_instead": "stays instead",
    "cheapest_destination": "cheapest destination", "extra_cost": "extra cost", "why_not": "what stands in the way",
    "city": "city", "type": "type", "verdict": "verdict", "rule": "rule", "family": "rule family",
    "subject": "rule's row", "change": "one-unit change", "effect": "effect on the objective", "per": "per",
}
MONEY_COLUMNS = ("runner_up_extra_cost", "extra_cost", "effect")
CITY_COLUMNS = ("destination", "runner_up", "cheapest_destination", "city")
SORT_BY = {"moved": "runner_up_extra_cost", "staying": "extra_cost", "cities": "extra_cost"}
# The sections' titles and questions in Chinese (the English ones are explain.json's own).
SECTION_ZH = {
    "moved": ("为何选择这座城市？", "对每个迁移的设施：若不得迁往所选城市，它的次优去向，以及重新优化后的额外成本。"),
    "staying": ("为何留在原地？", "对方案保留原地的每个设施：重新优化后迁出一个单位的最低成本，以及阻碍因素。"),
    "cities": ("为何不选这座城市？", "对未承接任何设施的候选城市（按类型）：排除它的规则，或重新优化后向它迁移一个单位的最低成本。"),
    "marginals": ("约束的边际价值", "紧约束的边际价值：在整数决策固定于方案取值时的线性规划对偶值；仅在局部成立。"),
}


# -- the schedule -------------------------------------------------------------------------------
def schedule_section(data: _Folder) -> str:
    frame = data.schedule
    assert frame is not None
    tr = data.tr
    missing = [c for c in SCHEDULE_COLUMNS if c not in frame.columns]
    if missing or not len(frame):
        return _generic_table(frame, tr("The schedule of this plan (schedule.csv)."))
    frame = frame.copy()
    for column in SCHEDULE_COLUMNS:
        if column not in ("period", "source"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["period"] = frame["period"].astype(str)
    frame["source"] = frame["source"].astype(str)
    periods = frame.drop_duplicates("period").sort_values("end_year", kind="stable")
    lead = tr("Residents moved out of each core by the end of each plan period, against its milestone (the share "
              "of the target due by then); spending per period against its budget; sites opened per period.")
    parts = [f'<p class="muted">{_e(lead)}</p>']
    parts.append(f'<h3>{_e(tr("Milestones per core"))}</h3>')
    parts.append(_milestone_figure(data, frame))
    parts.append(_milestone_table(data, frame))
    parts.append(f'<h3>{_e(tr("Spending and sites per period"))}</h3>')
    parts.append(_spending(data, periods))
    return "".join(parts)


def _milestone_figure(data: _Folder, frame: pd.DataFrame) -> str:
    from . import plots

    tr = data.tr
    rows = pd.DataFrame({"label": [data.short_name_of(c) for c in frame["source"]], "source": frame["source"],
                         "period": frame["period"], "end_year": frame["end_year"],
                         "by_end": frame["residents_moved_by_end"], "target": frame["target"]})
    fig = plots.milestone_chart(rows, tr("Residents moved by each period's end against the milestone"), tr)
    return _figure(plots.figure_bytes(fig, "png"),
                   tr("line charts, one per core: residents moved by the end of each plan period against its "
                      "milestone"),
                   tr("Black ticks: the milestone due by the period's end; red-orange points fall short of it."))


def _milestone_table(data: _Folder, frame: pd.DataFrame) -> str:
    tr = data.tr
    rows = []
    for r in frame.sort_values(["source", "end_year"], kind="stable").itertuples(index=False):
        target = _float(r.target)
        met = "–" if target is None else (tr("met") if r.residents_moved_by_end >= target - TOL * max(1.0, target)
                                           else tr("short"))
        rows.append([data.short_name_of(r.source), r.period, fmt_int(r.residents_moved), fmt_int(r.residents_moved_by_end),
                     fmt_int(target), met, fmt_int(r.shortfall), fmt_int(r.density_after)])
    headers = [tr(h) for h in ("core", "period", "moved in the period", "moved by its end", "milestone",
                               "milestone met", "shortfall", "density after (persons/km²)")]
    return _table(headers, rows, numeric=[2, 3, 4, 6, 7],
                  caption=tr("Per core and period; density after = core population left at the period's end / core "
                             "area (the density trajectory)."))


def _spending(data: _Folder, periods: pd.DataFrame) -> str:
    from . import plots

    tr = data.tr
    unit = data.unit or tr("cost units")
    opened: dict[str, list[str]] = {}
    for site in data.solution.get("sites") or []:
        opened.setdefault(str(site.get("period", "")), []).append(
            f"{tr(str(site.get('type')))} {tr('at')} {data.name_of(str(site.get('city')))}")
    rows = []
    for r in periods.itertuples(index=False):
        budget = _float(r.budget)
        use = f"{r.spending / budget:.0%}" if budget else "–"
        sites = opened.get(r.period) or []
        listed = ", ".join(sites) if sites else ("–" if not _float(r.sites_opened) else fmt_int(r.sites_opened))
        rows.append([r.period, f"{r.end_year:.0f}", fmt_cost(r.spending),
                     fmt_cost(budget) if budget is not None else tr("no budget"), use, fmt_int(r.sites_opened), listed])
    headers = [tr("period"), tr("ends"), f"{tr('spending')} ({unit})", f"{tr('budget')} ({unit})", tr("use"),
               tr("sites opened"), tr("which")]
    chart = pd.DataFrame({"period": periods["period"], "spending": periods["spending"], "budget": periods["budget"]})
    fig = plots.spending_chart(chart, unit, tr("Spending per period against its budget"), tr)
    return _figure(plots.figure_bytes(fig, "png"), tr("bar chart of spending per plan period against its budget"),
                   tr("Red-orange bars: the period spends its whole budget.")) + _table(
        headers, rows, numeric=[1, 2, 3, 4, 5],
        caption=tr("Spending = relocation and site costs paid in the period, undiscounted, as the budget counts them."))


# -- the explanations ---------------------------------------------------------------------------
def explanation_section(data: _Folder) -> str:
    record = data.explanation or {}
    sections = record.get("sections")
    if not isinstance(sections, list) or not all(isinstance(s, dict) for s in sections):
        return _plain_explanation(data, record)
    tr = data.tr
    unit = str(record.get("cost_unit") or data.unit or tr("cost units"))
    lead = tr("Why these cities: each question re-solves the plan with one choice forbidden or forced "
              "(explain.json; every row in its CSV files).")
    parts = [f'<p class="muted">{_e(lead)}</p>']
    parts += [f'<div class="note">{_e(n)}</div>' for n in record.get("notes") or [] if isinstance(n, str)]
    for section in sections:
        parts.append(_explained(data, section, unit))
    return "".join(parts)


def _explained(data: _Folder, section: dict[str, Any], unit: str) -> str:
    tr = data.tr
    sid = str(section.get("id", ""))
    title, answers = str(section.get("title", sid)), str(section.get("answers", ""))
    if data.lang == "zh" and sid in SECTION_ZH:
        title, answers = SECTION_ZH[sid]
    head = f"<h3>{_e(title)}</h3><p class=\"muted\">{_e(answers)}</p>"
    rows = [r for r in section.get("rows") or [] if isinstance(r, dict)]
    if not rows:
        return head + f"<p>{_e(tr('Nothing to explain here: the table is empty.'))}</p>"
    frame = pd.DataFrame(rows)
    wanted = EXPLAIN_COLUMNS.get(sid) or tuple(c for c in frame.columns if c != "text")
    shown = [c for c in wanted if c in frame.columns and frame[c].map(lambda v: v not in (None, "")).any()]
    order = SORT_BY.get(sid)
    if order in frame.columns:
        frame = frame.assign(_key=pd.to_numeric(frame[order], errors="coerce")).sort_values("_key", kind="stable")
    elif sid == "marginals" and "effect" in frame.columns:
        frame = frame.assign(_key=-pd.to_numeric(frame["effect"], errors="coerce").abs()).sort_values("_key")
    body = []
    for row in frame.head(MAX_ROWS).to_dict(orient="records"):
        body.append([_cell(data, c, row.get(c)) for c in shown])
    headers = [tr(COLUMN_LABEL.get(c, c)) + (f" ({unit})" if c in MONEY_COLUMNS else "") for c in shown]
    csv = str(section.get("csv") or "")
    caption = {"moved": tr("Closest calls first: a small extra cost means the runner-up is nearly as good."),
               "staying": tr("Cheapest first."), "cities": tr("Cheapest first; excluded cities have no cost."),
               "marginals": tr("Largest effect first.")}.get(sid, "")
    if len(frame) > MAX_ROWS:
        caption += f" {tr('First')} {MAX_ROWS} {tr('of')} {len(frame)}" + (f" ({csv})." if csv else ".")
    numeric = [i for i, c in enumerate(shown) if c in MONEY_COLUMNS]
    out = head
    if sid == "marginals" and "effect" in frame.columns:
        out += _marginal_figure(data, frame, unit)
    return out + _table(headers, body, numeric=numeric, caption=caption)


def _cell(data: _Folder, column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if column in CITY_COLUMNS and isinstance(value, str) and value:
        return data.name_of(value)
    if column in MONEY_COLUMNS:
        v = _float(value)
        return "–" if v is None else f"{v:+,.2f}"
    if isinstance(value, bool):
        return data.tr("yes") if value else data.tr("no")
    return data.tr(value) if isinstance(value, str) else _clip(value)


def _marginal_figure(data: _Folder, frame: pd.DataFrame, unit: str) -> str:
    from . import plots

    effects = pd.to_numeric(frame["effect"], errors="coerce")
    top = frame.assign(effect=effects).dropna(subset=["effect"]).head(15)
    if not len(top):
        return ""
    labels = [f"{r.get('family', '')}: {r.get('subject', '')}" for r in top.to_dict(orient="records")]
    tr = data.tr
    fig = plots.comparison_chart(labels, top["effect"].astype(float).tolist(),
                                 f"{tr('effect on the objective')} ({unit})", tr("The largest marginal values"))
    return _figure(plots.figure_bytes(fig, "png"), tr("bar chart of the binding rules' marginal values"),
                   tr("The objective's change for one more unit of each rule's limit (negative: it saves)."))


def _plain_explanation(data: _Folder, record: dict[str, Any]) -> str:
    """A record of another shape: each list of records as a table, the other values in one table."""
    parts = [f'<p class="muted">{_e(data.tr("Why these cities: the explanation of this plan (explain.json)."))}</p>']
    plain = []
    for key, value in record.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            parts.append(f"<h3>{_e(key)}</h3>" + _generic_table(pd.DataFrame(value), f"explain.json: {key}."))
        elif isinstance(value, dict) and value and all(not isinstance(v, (dict, list)) for v in value.values()):
            parts.append(f"<h3>{_e(key)}</h3>" + _table([data.tr("item"), data.tr("value")],
                                                         [[k, _clip(v)] for k, v in value.items()]))
        else:
            plain.append([key, _clip(json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value, 200)])
    if plain:
        parts.append(_table([data.tr("item"), data.tr("value")], plain))
    return "".join(parts)
