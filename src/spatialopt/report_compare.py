"""``spatialopt report A --compare B``: two plans side by side, with a difference map.

:func:`write_comparison` reads two result folders (e.g. two runs of a sweep,
or a plan and its re-solve) and writes one offline page, ``compare.html``
(default: in folder A), with ``difference.png`` and ``difference.svg``
beside it:

- the two plans' figures side by side (objective, cost components, residents
  and jobs moved, receiving cities, sites) with B − A;
- the difference map: every flow (core -> receiving city, residents summed
  over facility types and periods) added (only in B), removed (only in A),
  changed (in both, other residents) or unchanged; static, and interactive
  (hover a flow for A's and B's residents) in the page;
- both plans' flow maps side by side;
- what changed per core, per facility and per site.

The per-facility, per-site, per-core and cost differences are
:func:`spatialopt.scenarios.diff.diff_plans`'s, the same as ``spatialopt
sweep``'s diff; the flows view adds them up per (core, city) for the map.
Numbers come from the folders; each instance (``--instance``, or the one its
``run.json`` names) supplies names and coordinates only, as for the report.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .destinations import check_files, publish_files
from .instance import Instance
from .report import CSS, _Folder, _map_data, contents_and_sections, page_head, read_folder
from .report_html import _e, _figure, _float, _table, fmt_cost, fmt_int
from .report_text import chinese_names, translator
from .scenarios.diff import PlanDiff, diff_plans

COMPARE_HTML, DIFFERENCE_PNG, DIFFERENCE_SVG = "compare.html", "difference.png", "difference.svg"
CHANGES = ("added", "removed", "changed", "unchanged")
MAX_ROWS = 40
PAIR_CSS = """
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.pair h3 { margin-top: 4px; }
@media (max-width: 800px) { .pair { grid-template-columns: 1fr; } }
@media print { .pair { display: block; } .pair figure { break-before: page; } #interactive-difference { display: none; } }
"""


@dataclass
class CompareFiles:
    """What :func:`write_comparison` wrote, and what it wants the reader to know."""

    html: Path
    png: Path
    svg: Path
    notes: list[str] = field(default_factory=list)


def flow_changes(a: pd.DataFrame | None, b: pd.DataFrame | None) -> pd.DataFrame:
    """Per (origin, destination): residents in plan A and in plan B, and the change from A to B.

    ``a`` and ``b`` are the plans' assignments tables (None: no plan). A flow
    is *changed* when its residents differ beyond the tolerance the plan diff
    uses for units (relative 1e-6).
    """
    def per_pair(frame: pd.DataFrame | None, name: str) -> pd.DataFrame:
        if frame is None or not len(frame):
            return pd.DataFrame({"origin": pd.Series(dtype=str), "destination": pd.Series(dtype=str),
                                 name: pd.Series(dtype=float)})
        summed = frame.groupby(["origin", "destination"], as_index=False)["residents"].sum()
        return summed[summed["residents"] > 0].rename(columns={"residents": name}).astype({name: float})

    out = per_pair(a, "a").merge(per_pair(b, "b"), on=["origin", "destination"], how="outer").fillna(
        {"a": 0.0, "b": 0.0})
    same = (out["a"] - out["b"]).abs() <= 1e-6 * out[["a", "b"]].abs().max(axis=1).clip(lower=1.0)
    out["change"] = ["added" if x == 0 else "removed" if y == 0 else "unchanged" if s else "changed"
                     for x, y, s in zip(out["a"], out["b"], same)]
    out["delta"] = out["b"] - out["a"]
    return out.sort_values(["change", "delta"], key=lambda c: c.abs() if c.name == "delta" else c.map(
        {k: i for i, k in enumerate(CHANGES)}), ascending=[True, False], kind="stable").reset_index(drop=True)


def write_comparison(
    a_dir: str | os.PathLike[str],
    b_dir: str | os.PathLike[str],
    instance: str | os.PathLike[str] | Instance | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    lang: str = "en",
) -> CompareFiles:
    """Write ``compare.html`` (or ``out``; default in folder A), ``difference.png`` and ``.svg`` beside it.

    ``instance`` (given) is used for both plans, as for runs of one sweep;
    otherwise each folder's ``run.json`` names its own. None of the three
    files may exist unless ``force``; each is written atomically.
    """
    from . import plots

    tr = translator(lang)
    a, b = read_folder(a_dir, instance), read_folder(b_dir, instance)
    for data in (a, b):
        data.lang = lang
        if lang == "zh":
            data.names_zh = chinese_names(data.instance.source_path)
    label_a, label_b = _labels(a, b)
    diff = diff_plans(a.path, b.path, labels=(label_a, label_b))
    html_path = Path(out) if out is not None else a.path / COMPARE_HTML
    if html_path.is_dir():
        html_path = html_path / COMPARE_HTML
    files = CompareFiles(html=html_path, png=html_path.parent / DIFFERENCE_PNG, svg=html_path.parent / DIFFERENCE_SVG,
                         notes=[f"A: {tr(n)}" for n in a.notes] + [f"B: {tr(n)}" for n in b.notes])
    if a.instance.name != b.instance.name:
        files.notes.append(tr("The two plans are of different instances") +
                           f" ({a.instance.name}, {b.instance.name}).")
    if not (a.has_plan and b.has_plan):
        files.notes.append(tr("A folder without a plan counts as one without flows."))
    check_files([files.html, files.png, files.svg], force, f"--out {out}" if out is not None else "report --compare")
    files.html.parent.mkdir(parents=True, exist_ok=True)

    flows = flow_changes(a.assignments if a.has_plan else None, b.assignments if b.has_plan else None)
    fig = plots.difference_map(_difference_data(a, b, flows, label_a, label_b))
    png, svg = plots.figure_bytes(fig, "png"), plots.figure_bytes(fig, "svg")
    page = _page(a, b, diff, flows, png, files).encode("utf-8")
    publish_files([(files.png, png, None), (files.svg, svg, None), (files.html, page, None)], force)
    return files


def _labels(a: _Folder, b: _Folder) -> tuple[str, str]:
    """The plans' names: a sweep run's scenario, else the folder's name; A and B when both are the same."""
    la, lb = a.scenario or a.path.name, b.scenario or b.path.name
    return ("A", "B") if la == lb else (la, lb)


def _cities(a: _Folder, b: _Folder) -> pd.DataFrame:
    """Names and places of both instances' cities (A's first), in the report's language."""
    frames = []
    for data in (a, b):
        frame = data.instance.cities[["name", "lon", "lat"]].copy()
        frame["name"] = [data.name_of(c) for c in frame.index]
        frames.append(frame)
    both = pd.concat(frames)
    return both[~both.index.duplicated()]


def _difference_data(a: _Folder, b: _Folder, flows: pd.DataFrame, label_a: str, label_b: str) -> Any:
    from .plots import DifferenceData

    tr = a.tr
    counts = flows["change"].value_counts()
    title = f"{label_a} → {label_b}: " + ", ".join(f"{int(counts.get(c, 0))} {tr(c)}" for c in CHANGES[:3])
    sources = list(dict.fromkeys([*a.instance.sources, *b.instance.sources]))
    note = "" if a.has_plan and b.has_plan else tr("A folder without a plan counts as one without flows.")
    return DifferenceData(title=title, cities=_cities(a, b), sources=sources, flows=flows, note=note, tr=tr)


# -- the page ---------------------------------------------------------------------------------------
def _page(a: _Folder, b: _Folder, diff: PlanDiff, flows: pd.DataFrame, png: bytes, files: CompareFiles) -> str:
    from ._version import __version__
    from .plots import figure_bytes, flow_map

    tr = a.tr
    la, lb = diff.a_label, diff.b_label
    title = f"{tr('Two plans compared')}: {la} · {lb}"
    scripts, interactive = _interactive(a, b, flows)
    pair = "".join(
        f"<div><h3>{_e(label)}</h3>" + _figure(figure_bytes(flow_map(_map_data(data)), "png"),
                                                  f"{tr('flow map of plan')} {label}") + "</div>"
        for label, data in ((la, a), (lb, b)))
    sections = [
        ("summary", tr("Summary"), _summary(a, b, diff)),
        ("difference", tr("Difference map"), _difference(a, b, flows, png, files, la, lb)),
        ("interactive-difference", tr("Interactive difference map"), interactive),
        ("side-by-side", tr("The two plans side by side"), f'<div class="pair">{pair}</div>'),
        ("cores", tr("Megacity cores"), _cores(a, diff)),
        ("facilities", tr("Facilities that move differently"), _facilities(a, diff)),
        ("sites", tr("Sites"), _sites(a, diff)),
        ("files", tr("Files and provenance"), _provenance(a, b, diff)),
    ]
    toc, body = contents_and_sections(sections)
    notes = "".join(f'<div class="note">{_e(n)}</div>' for n in files.notes)  # translated where they are made
    generated = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""{page_head(a.lang, title, CSS + PAIR_CSS)}
<body>
<main>
<header>
<h1>{_e(title)}</h1>
<p class="lead">A: <code>{_e(a.path)}</code> ({_e(tr(str(a.solution.get('status'))))}) &nbsp;·&nbsp;
B: <code>{_e(b.path)}</code> ({_e(tr(str(b.solution.get('status'))))}) &nbsp;·&nbsp;
{_e(tr('report generated'))} {_e(generated)}, spatialopt {_e(__version__)}</p>
</header>
{notes}
<nav><strong>{_e(tr('Contents'))}</strong><ol>{toc}</ol></nav>
{body}
</main>
{scripts}
</body>
</html>
"""


def _totals(data: _Folder) -> dict[str, float | None]:
    a = data.assignments if data.has_plan else None
    receiving = None
    if data.has_plan and data.destinations is not None:
        receiving = float((data.destinations["residents_received"] > 0).sum())
    return {
        "residents moved": sum(float(s.get("moved_residents") or 0) for s in data.solution.get("sources") or []),
        "jobs moved": float(a["jobs"].sum()) if a is not None else None,
        "receiving cities": receiving,
        "sites opened": float(len(data.solution.get("sites") or [])) if data.has_plan else None,
    }


def _short(a: _Folder, b: _Folder, city: str) -> str:
    """A city's short name from the instance that has it (A's first)."""
    return a.short_name_of(city) if city in a.instance.cities.index else b.short_name_of(city)


def _head(letter: str, label: str) -> str:
    return letter if label == letter else f"{letter}: {label}"


def _signed(value: float | None, cost: bool) -> str:
    if value is None:
        return "–"
    if abs(value) < 1e-9:
        return "0"
    return f"{value:+,.1f}" if cost else f"{value:+,.0f}"


def _summary(a: _Folder, b: _Folder, diff: PlanDiff) -> str:
    tr = a.tr
    unit = a.unit or tr("cost units")
    rows = [[tr("status"), tr(str(a.solution.get("status"))), tr(str(b.solution.get("status"))), ""]]
    for r in diff.components.itertuples(index=False):
        name = tr("Objective") if r.component == "objective" else tr(r.component.capitalize())
        rows.append([f"{name} ({unit})", fmt_cost(r.a), fmt_cost(r.b), _signed(_float(r.delta), True)])
    ta, tb = _totals(a), _totals(b)
    for key in ta:
        x, y = ta[key], tb[key]
        rows.append([tr(key.capitalize()), fmt_int(x), fmt_int(y), _signed(None if x is None or y is None else y - x, False)])
    verdict = tr("The two plans move every facility alike.") if diff.unchanged else ""
    table = _table([tr("measure"), _head("A", diff.a_label), _head("B", diff.b_label), "B − A"], rows, numeric=[1, 2, 3],
                   caption=tr("Cost components unweighted, as in solution.json; the objective weighs them."))
    return (f"<p>{_e(verdict)}</p>" if verdict else "") + table


def _difference(a: _Folder, b: _Folder, flows: pd.DataFrame, png: bytes, files: CompareFiles, la: str, lb: str) -> str:
    tr = a.tr
    counts = flows["change"].value_counts()
    lead = "; ".join(f"{int(counts.get(c, 0))} {tr('flows')} {tr(c)}" for c in CHANGES)
    parts = [f'<p class="muted">{_e(lead)}.</p>',
             _figure(png, tr("map of the flows added, removed and changed from plan A to plan B"),
                     tr("Also written as") + f" {files.png.name}, {files.svg.name}. " +
                     tr("Width ~ residents added, removed or changed; a flow sums its facilities over types and periods."))]
    moved = flows[flows["change"] != "unchanged"]
    rows = [[_short(a, b, r.origin), _short(a, b, r.destination), tr(r.change), fmt_int(r.a), fmt_int(r.b),
             _signed(float(r.delta), False)] for r in moved.head(MAX_ROWS).itertuples(index=False)]
    if rows:
        more = len(moved) - MAX_ROWS
        caption = tr("Flows that differ, by change and size") + (f" ({tr('first')} {MAX_ROWS} {tr('of')} {len(moved)})"
                                                                  if more > 0 else "") + "."
        parts.append(_table([tr("from"), tr("to"), tr("change"), _head("A", la), _head("B", lb), "B − A"], rows,
                            numeric=[3, 4, 5], caption=caption))
    return "".join(parts)


def _interactive(a: _Folder, b: _Folder, flows: pd.DataFrame) -> tuple[str, str]:
    from .interactive_map import difference_figure
    from .plots import load_basemap, map_extent

    cities = _cities(a, b)
    cities["label"] = [_short(a, b, c) for c in cities.index]
    basemap = load_basemap(map_extent(cities)) if len(cities) else None
    scripts, markup = difference_figure(cities, flows, a.tr, basemap)
    lead = a.tr("Pan and zoom; hover a flow for its residents in plan A and in plan B.")
    return scripts, f'<p class="muted">{_e(lead)}</p><div class="interactive" role="application">{markup}</div>'


def _cores(a: _Folder, diff: PlanDiff) -> str:
    tr = a.tr
    src = diff.sources
    if src.empty:
        return f"<p>{_e(tr('Neither plan has megacity cores.'))}</p>"
    rows = []
    for city, group in src.groupby("city", sort=False):
        by = group.set_index("measure")
        row = [a.short_name_of(str(city))]
        for measure in ("moved_residents", "shortfall", "density_after"):
            x, y, d = (by.loc[measure, k] if measure in by.index else None for k in ("a", "b", "delta"))
            row += [fmt_int(x), fmt_int(y), _signed(_float(d), False)]
        rows.append(row)
    headers = [tr("core")] + [f"{tr(m)} {s}" for m in ("residents moved", "shortfall", "density after (persons/km²)")
                              for s in ("A", "B", "B − A")]
    return _table(headers, rows, numeric=list(range(1, 10)),
                  caption=tr("Residents moved, shortfall and density after (persons/km²) per core."))


def _facilities(a: _Folder, diff: PlanDiff) -> str:
    tr = a.tr
    fac = diff.facilities
    if fac.empty:
        return f"<p>{_e(tr('No facility moves differently.'))}</p>"
    counts = fac["change"].value_counts()
    lead = ", ".join(f"{n} {tr(c)}" for c, n in counts.items())
    rows = [[r.facility, tr(r.type), a.short_name_of(r.origin) if r.origin else "", tr(r.change), _where(a, r.a),
             _where(a, r.b)] for r in fac.head(MAX_ROWS).itertuples(index=False)]
    caption = tr("Where each facility goes in A and in B (units in brackets when not one)")
    caption += f" ({tr('first')} {MAX_ROWS} {tr('of')} {len(fac)})." if len(fac) > MAX_ROWS else "."
    return f"<p>{_e(lead)}.</p>" + _table([tr("facility"), tr("type"), tr("core"), tr("change"), "A", "B"], rows,
                                           caption=caption)


def _where(data: _Folder, text: str) -> str:
    """A diff's 'city (units) in period + ...' with the cities named as the report names them."""
    if text == "-":
        return "–"
    parts = []
    for part in text.split(" + "):
        found = re.match(r"^(\S+)(.*)$", part)
        parts.append(data.short_name_of(found.group(1)) + found.group(2) if found else part)
    return " + ".join(parts).replace(" in ", f" {data.tr('in')} ")


def _sites(a: _Folder, diff: PlanDiff) -> str:
    tr = a.tr
    sites = diff.sites
    if sites.empty:
        return f"<p>{_e(tr('Both plans open the same sites.'))}</p>"
    rows = []
    for r in sites.itertuples(index=False):
        moved = re.match(r"^opens in (.+) instead of (.+)$", r.change)
        change = (f"{tr('opens in')} {moved.group(1)} {tr('instead of')} {moved.group(2)}" if moved else tr(r.change))
        rows.append([tr(r.type), a.short_name_of(r.city), change])
    return _table([tr("type"), tr("city"), tr("change")], rows,
                  caption=tr("Opened: only B opens it; closed: only A does."))


def _provenance(a: _Folder, b: _Folder, diff: PlanDiff) -> str:
    tr = a.tr
    same = a.solution.get("instance_sha256") and a.solution.get("instance_sha256") == b.solution.get("instance_sha256")
    rows = [[f"A: {diff.a_label}", str(a.path), f"{a.instance.name}, instance_sha256 {a.solution.get('instance_sha256', '')}"],
            [f"B: {diff.b_label}", str(b.path), f"{b.instance.name}, instance_sha256 {b.solution.get('instance_sha256', '')}"]]
    note = tr("Both plans were solved from the same instance data.") if same else tr(
        "The plans were solved from different instance data (e.g. two scenarios of a sweep).")
    return f"<p>{_e(note)}</p>" + _table([tr("plan"), tr("result folder"), tr("instance")], rows)
