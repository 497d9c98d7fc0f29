"""The report's interactive map: Bokeh, inline, no request of any kind.

Drawn with Bokeh (a maintained library that writes self-contained HTML with
its JavaScript inline: ``bokeh.resources.Resources(mode="inline")``); this
module writes no JavaScript of its own. What the reader can do:

- pan (drag) and zoom (wheel, box);
- hover a city: what it receives, per facility type, and its capacity use
  per resource; hover a core: what it sends;
- hover a flow: its facility rows; every flow of the same core lights up at
  once (one invisible "fan" line per core, shown by Bokeh's hover glyph);
- buttons that zoom to a city cluster (Bokeh's ``SetValue`` callbacks set the
  ranges; no code is evaluated, so the page needs no ``'unsafe-eval'``).

Coordinates are lon/lat scaled by cos(mean latitude) so that shapes keep
their proportions without a map projection library.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .overview import core_label

# Okabe & Ito's colour-blind-safe palette (yellow last: it fades on white).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
WIDTH, HEIGHT = 960, 680
MAX_FACILITY_ROWS = 12
ARC_POINTS, HOVER_TRIM = 21, 4  # points per flow line; points at each end that do not answer hovers


@dataclass
class InteractiveInput:
    """What the interactive map shows; built by the report from the result folder."""

    cities: pd.DataFrame  # index id; columns label, lon, lat, cluster (id), cluster_label
    sources: list[str]
    destinations: pd.DataFrame | None  # destinations.csv (None: no plan)
    assignments: pd.DataFrame | None  # assignments.csv (None: no plan)
    resources: list[str]
    types: list[str]
    colour_of: dict[str, str]  # core id -> flow colour
    tr: Callable[[str], str] = field(default=lambda s: s)
    basemap: Any = None  # plots.Basemap or None


def _n(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "–"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int) -> str:
    head = "".join(f'<th style="text-align:{"right" if i >= numeric_from else "left"};padding:0 4px">{_e(h)}</th>'
                   for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td style="text-align:{"right" if i >= numeric_from else "left"};padding:0 4px">{_e(c)}</td>'
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<table style="border-collapse:collapse;font-size:11px">{head and "<tr>" + head + "</tr>"}{body}</table>'


class _Projection:
    def __init__(self, lat0: float) -> None:
        self.k = math.cos(math.radians(lat0))

    def x(self, lon: Any) -> Any:
        return np.asarray(lon, dtype=float) * self.k


def _fitted_range(xs: np.ndarray, ys: np.ndarray, margin: float = 0.12, min_span: float = 0.8) -> tuple[float, float, float, float]:
    """x0, x1, y0, y1 around the points with the plot's aspect ratio (so nothing is stretched)."""
    x0, x1, y0, y1 = float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())
    w, h = max(x1 - x0, min_span), max(y1 - y0, min_span)
    w, h = w * (1 + 2 * margin), h * (1 + 2 * margin)
    aspect = WIDTH / HEIGHT
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


def _city_tips(data: InteractiveInput) -> dict[str, str]:
    """The hover text of every city: what it receives (or sends), per type, and capacity use."""
    tr = data.tr
    tips: dict[str, str] = {}
    a, d = data.assignments, data.destinations
    for city, row in data.cities.iterrows():
        head = f"<b>{_e(row['label'])}</b> <span style=\"color:#5d6d7e\">{_e(row['cluster_label'])}</span>"
        tips[str(city)] = head + f"<div>{_e(tr('received nothing'))}</div>"
    if a is not None and len(a):
        for core, rows in a.groupby("origin"):
            if core not in data.cities.index:
                continue
            per_type = rows.groupby("type")[["units", "residents", "jobs"]].sum()
            table = _table([tr("type"), tr("units"), tr("residents"), tr("jobs")],
                           [[t, f"{r.units:,.2f}".rstrip("0").rstrip("."), _n(r.residents), _n(r.jobs)]
                            for t, r in per_type.iterrows()], 1)
            label = data.cities.loc[core, "label"]
            tips[str(core)] = (f"<b>{_e(label)}</b><div>{_e(tr('moved out'))}: {_n(rows['residents'].sum())} "
                               f"{_e(tr('residents'))}, {_n(rows['jobs'].sum())} {_e(tr('jobs'))}; "
                               f"{_e(tr('to cities'))}: {rows['destination'].nunique()}</div>{table}")
    if d is not None and a is not None:
        per_dest = {c: g for c, g in a.groupby("destination")}
        for r in d.itertuples(index=False):
            if float(r.residents_received) <= 0 or r.city not in data.cities.index:
                continue
            rows = per_dest.get(r.city)
            type_rows = []
            if rows is not None:
                per_type = rows.groupby("type")[["units", "residents", "jobs"]].sum()
                type_rows = [[t, f"{v.units:,.2f}".rstrip("0").rstrip("."), _n(v.residents), _n(v.jobs)]
                             for t, v in per_type.iterrows()]
            use_rows = []
            for rid in data.resources:
                used, cap = float(getattr(r, f"use_{rid}")), float(getattr(r, f"cap_{rid}"))
                share = f"{used / cap:.0%}" if math.isfinite(cap) and cap > 0 else tr("no cap")
                use_rows.append([rid, f"{_n(used)} / {_n(cap)}" if math.isfinite(cap) else _n(used), share])
            label = data.cities.loc[r.city, "label"]
            cluster = data.cities.loc[r.city, "cluster_label"]
            tips[r.city] = (
                f"<b>{_e(label)}</b> <span style=\"color:#5d6d7e\">{_e(cluster)}</span>"
                f"<div>{_e(tr('residents received'))}: <b>{_n(float(r.residents_received))}</b>; "
                f"{_e(tr('jobs received'))}: <b>{_n(float(r.jobs_received))}</b></div>"
                + _table([tr("type"), tr("units"), tr("residents"), tr("jobs")], type_rows, 1)
                + (f"<div style=\"margin-top:4px\">{_e(tr('capacity use'))}</div>"
                   + _table(["", tr("used / cap"), tr("use")], use_rows, 1) if use_rows else "")
            )
    return tips


def _flow_rows(data: InteractiveInput) -> pd.DataFrame:
    """One row per (origin, destination) with its residents, jobs and the HTML of its facility rows."""
    a = data.assignments
    assert a is not None
    tr = data.tr
    out = []
    for (origin, dest), rows in a.groupby(["origin", "destination"], sort=False):
        if origin not in data.cities.index or dest not in data.cities.index:
            continue
        rows = rows.sort_values("residents", ascending=False)
        shown = rows.head(MAX_FACILITY_ROWS)
        table = _table([tr("facility"), tr("type"), tr("units"), tr("residents"), tr("jobs"), tr("km")],
                       [[f, t, f"{u:,.2f}".rstrip("0").rstrip("."), _n(p), _n(j), _n(k)]
                        for f, t, u, p, j, k in zip(shown["facility"], shown["type"], shown["units"],
                                                     shown["residents"], shown["jobs"], shown["km"])], 2)
        more = len(rows) - len(shown)
        label_o, label_d = data.cities.loc[origin, "label"], data.cities.loc[dest, "label"]
        tip = (f"<b>{_e(label_o)} → {_e(label_d)}</b><div>{_n(rows['residents'].sum())} {_e(tr('residents'))}, "
               f"{_n(rows['jobs'].sum())} {_e(tr('jobs'))}</div>{table}"
               + (f"<div>+{more} {_e(tr('more rows'))}</div>" if more > 0 else ""))
        out.append({"origin": origin, "destination": dest, "residents": float(rows["residents"].sum()), "tip": tip})
    return pd.DataFrame(out, columns=["origin", "destination", "residents", "tip"])


def _arc(x0: float, y0: float, x1: float, y1: float, bend: float = 0.15, n: int = ARC_POINTS) -> tuple[list[float], list[float]]:
    """A gently curved line from (x0, y0) to (x1, y1) (a quadratic Bézier), so opposite flows stay apart."""
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    cx, cy = mx - bend * (y1 - y0), my + bend * (x1 - x0)
    t = np.linspace(0.0, 1.0, n)
    xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1
    ys = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1
    return xs.tolist(), ys.tolist()


def cluster_views(data: InteractiveInput, proj: _Projection) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(label, view) per city cluster that receives anything, largest first; the whole map first."""
    cities = data.cities
    xs, ys = proj.x(cities["lon"]), cities["lat"].to_numpy(dtype=float)
    views = [(data.tr("All"), _fitted_range(xs, ys, margin=0.04))]
    if data.destinations is None:
        return views
    d = data.destinations
    busy = d[d["residents_received"] > 0]
    busy = busy[busy["city"].isin(cities.index)]
    if not len(busy):
        return views
    clusters = cities.loc[busy["city"], "cluster"].to_numpy()
    totals = pd.Series(busy["residents_received"].to_numpy(dtype=float), index=clusters).groupby(level=0).sum()
    for cluster in totals.sort_values(ascending=False).index:
        if not cluster:
            continue
        members = cities[cities["cluster"] == cluster]
        views.append((str(members["cluster_label"].iloc[0]),
                      _fitted_range(proj.x(members["lon"]), members["lat"].to_numpy(dtype=float))))
    return views


def interactive_map(data: InteractiveInput) -> tuple[str, str]:
    """(scripts, markup): Bokeh's JavaScript and the plot's embedding script, and the plot's div."""
    from bokeh.embed import components
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, HoverTool, Range1d, SetValue
    from bokeh.models.widgets import Button, Div
    from bokeh.resources import Resources

    tr = data.tr
    cities = data.cities
    lat0 = float(cities["lat"].mean()) if len(cities) else 35.0
    proj = _Projection(lat0)
    views = cluster_views(data, proj)
    x0, x1, y0, y1 = views[0][1]
    x_range = Range1d(start=x0, end=x1, name="map-x")
    y_range = Range1d(start=y0, end=y1, name="map-y")
    plot = _map_figure("flowmap", x_range, y_range)

    if data.basemap is not None and len(data.basemap.polygons):
        xs, ys = [], []
        for geom in data.basemap.polygons:
            parts = getattr(geom, "geoms", [geom])
            for part in parts:
                lon, lat = part.exterior.coords.xy
                xs.append(proj.x(lon).tolist())
                ys.append(list(lat))
        plot.patches(xs, ys, fill_color="#f3f1ec", line_color="#b0b0b0", line_width=0.6)

    tips = _city_tips(data)
    renderers_hover: list[Any] = []
    received = {}
    if data.destinations is not None:
        received = dict(zip(data.destinations["city"], data.destinations["residents_received"].astype(float)))

    # Flows: one line per (origin, destination), width ~ sqrt(residents), colour by core.
    if data.assignments is not None and len(data.assignments):
        flows = _flow_rows(data)
        top = float(flows["residents"].max()) if len(flows) else 0.0
        fx, fy, widths, colours, hx, hy = [], [], [], [], [], []
        for r in flows.itertuples(index=False):
            xs_, ys_ = _arc(float(proj.x(cities.loc[r.origin, "lon"])), float(cities.loc[r.origin, "lat"]),
                            float(proj.x(cities.loc[r.destination, "lon"])), float(cities.loc[r.destination, "lat"]))
            fx.append(xs_)
            fy.append(ys_)
            # The part of the flow that answers hovers leaves out its ends, so that a city's tooltip is alone.
            hx.append(xs_[HOVER_TRIM:-HOVER_TRIM])
            hy.append(ys_[HOVER_TRIM:-HOVER_TRIM])
            widths.append(1.0 + 9.0 * math.sqrt(r.residents / top) if top > 0 else 1.0)
            colours.append(data.colour_of.get(r.origin, "#555555"))
        flow_source = ColumnDataSource({"xs": fx, "ys": fy, "w": widths, "colour": colours}, name="flows")
        hit_source = ColumnDataSource({"xs": hx, "ys": hy, "w": widths, "colour": colours, "tip": flows["tip"].tolist(),
                                       "origin": flows["origin"].tolist()}, name="flow-middles")
        # The fan of each core: all its flows as one line (NaN between them), invisible until hovered.
        fan_x, fan_y, fan_core = [], [], []
        for core, idx in flows.groupby("origin").groups.items():
            xs_, ys_ = [], []
            for i in idx:
                pos = flows.index.get_loc(i)
                xs_ += fx[pos] + [math.nan]
                ys_ += fy[pos] + [math.nan]
            fan_x.append(xs_)
            fan_y.append(ys_)
            fan_core.append(core)
        fan_source = ColumnDataSource({"xs": fan_x, "ys": fan_y, "core": fan_core}, name="fans")
        fan_hover: dict[str, Any] = {"hover_line_alpha": 0.55, "hover_line_color": "#1b2631", "hover_line_width": 3}
        fans = plot.multi_line("xs", "ys", source=fan_source, line_alpha=0.0, line_width=12, line_color="#000000",
                               **fan_hover)
        plot.multi_line("xs", "ys", source=flow_source, line_width="w", line_color="colour", line_alpha=0.6,
                        line_cap="round")
        flow_lines = plot.multi_line("xs", "ys", source=hit_source, line_width="w", line_color="colour",
                                     line_alpha=0.0, hover_line_alpha=1.0, hover_line_color="colour")
        plot.add_tools(HoverTool(renderers=[fans], tooltips=None, line_policy="interp", name="fan-hover"))
        plot.add_tools(HoverTool(renderers=[flow_lines], tooltips="<div style=\"max-width:420px\">@tip{safe}</div>",
                                 line_policy="interp", name="flow-hover", attachment="horizontal"))

    # Cities: idle candidates, receiving cities (area ~ residents), cores.
    dest_ids = [c for c in cities.index if c not in data.sources]
    busy = [c for c in dest_ids if received.get(c, 0.0) > 0]
    idle = [c for c in dest_ids if received.get(c, 0.0) <= 0]
    most = max((received[c] for c in busy), default=1.0) or 1.0

    def points(ids: list[str], sizes: list[float], name: str) -> Any:
        return ColumnDataSource({
            "id": list(ids), "x": proj.x(cities.loc[ids, "lon"]).tolist() if ids else [],
            "y": cities.loc[ids, "lat"].astype(float).tolist() if ids else [], "size": sizes,
            "tip": [tips.get(c, "") for c in ids], "label": cities.loc[ids, "label"].tolist() if ids else [],
        }, name=name)

    idle_r = plot.scatter("x", "y", size="size", source=points(idle, [5.0] * len(idle), "idle-cities"),
                          color="#9aa5ae", line_color=None, hover_fill_color="#5d6d7e")
    busy_r = plot.scatter("x", "y", size="size",
                          source=points(busy, [8.0 + 22.0 * math.sqrt(received[c] / most) for c in busy], "receiving-cities"),
                          fill_color="white", line_color="#2c3e50", line_width=1.6, hover_fill_color="#fdebd0")
    cores = [c for c in data.sources if c in cities.index]
    core_source = points(cores, [18.0] * len(cores), "cores")
    core_source.data["colour"] = [data.colour_of.get(c, "#555555") for c in cores]
    core_hover: dict[str, Any] = {"hover_line_width": 2.0}
    core_r = plot.scatter("x", "y", size="size", marker="star", source=core_source, fill_color="colour",
                          line_color="black", line_width=0.8, **core_hover)
    renderers_hover += [idle_r, busy_r, core_r]
    plot.add_tools(HoverTool(renderers=renderers_hover, tooltips="<div style=\"max-width:380px\">@tip{safe}</div>",
                             name="city-hover"))
    core_source.data["label"] = [core_label(str(t)) for t in core_source.data["label"]]
    plot.text("x", "y", text="label", source=core_source, x_offset=9, y_offset=-4, text_font_size="11px",
              text_font_style="bold", text_color="#1b2631")

    buttons = []
    for label, (bx0, bx1, by0, by1) in views:
        button = Button(label=label, button_type="default", width_policy="min", name=f"zoom:{label}")
        button.js_on_event("button_click", SetValue(obj=x_range, attr="start", value=bx0),
                           SetValue(obj=x_range, attr="end", value=bx1),
                           SetValue(obj=y_range, attr="start", value=by0),
                           SetValue(obj=y_range, attr="end", value=by1))
        buttons.append(button)
    caption = Div(text=f"<b>{_e(tr('Zoom to a city cluster'))}:</b>")
    controls = row(caption, *buttons, styles={"flex-wrap": "wrap", "gap": "4px"}, sizing_mode="stretch_width")
    layout = column(controls, plot, sizing_mode="stretch_width")
    script, div = components(layout)
    resources = Resources(mode="inline", components=["bokeh", "bokeh-widgets"])
    return resources.render_js() + script, div


def _map_figure(name: str, x_range: Any, y_range: Any) -> Any:
    """An empty Bokeh map of the page's size: pan and zoom tools, no axes or grid, the sea-blue background."""
    from bokeh.plotting import figure

    plot = figure(width=WIDTH, height=HEIGHT, x_range=x_range, y_range=y_range, name=name,
                  tools="pan,wheel_zoom,box_zoom,reset", active_scroll="wheel_zoom", toolbar_location="right",
                  min_border=0, output_backend="canvas", sizing_mode="scale_width")
    plot.axis.visible = False
    plot.grid.visible = False
    plot.background_fill_color = "#f4f8fb"
    plot.outline_line_color = "#9aa5ae"
    return plot


def _basemap_patches(plot: Any, basemap: Any, proj: _Projection) -> None:
    if basemap is None or not len(basemap.polygons):
        return
    xs, ys = [], []
    for geom in basemap.polygons:
        for part in getattr(geom, "geoms", [geom]):
            lon, lat = part.exterior.coords.xy
            xs.append(proj.x(lon).tolist())
            ys.append(list(lat))
    plot.patches(xs, ys, fill_color="#f3f1ec", line_color="#b0b0b0", line_width=0.6)


# The difference map's colours, as the static one's (plots.CHANGE_STYLE): Okabe & Ito.
CHANGE_COLOURS = {"added": "#009E73", "removed": "#D55E00", "changed": "#0072B2", "unchanged": "#b8c0c7"}
SHRINKS = "#CC79A7"  # a changed flow with fewer residents in B


def difference_figure(cities: pd.DataFrame, flows: pd.DataFrame, tr: Callable[[str], str] = lambda s: s,
                      basemap: Any = None) -> tuple[str, str]:
    """(scripts, markup) of the interactive difference map of two plans.

    ``cities``: index id, columns label, lon, lat; ``flows``: origin,
    destination, a, b, delta, change (:func:`spatialopt.report_compare.flow_changes`).
    Hovering a flow shows its residents in plan A and in plan B.
    """
    from bokeh.embed import components
    from bokeh.models import ColumnDataSource, HoverTool, Range1d
    from bokeh.models.annotations.legends import Legend, LegendItem
    from bokeh.resources import Resources

    lat0 = float(cities["lat"].mean()) if len(cities) else 35.0
    proj = _Projection(lat0)
    ends = [c for c in dict.fromkeys([*flows["origin"], *flows["destination"]]) if c in cities.index]
    shown = cities.loc[ends] if ends else cities
    x0, x1, y0, y1 = _fitted_range(proj.x(shown["lon"]), shown["lat"].to_numpy(dtype=float))
    plot = _map_figure("differencemap", Range1d(start=x0, end=x1), Range1d(start=y0, end=y1))
    _basemap_patches(plot, basemap, proj)
    size = flows["delta"].abs().where(flows["change"] != "unchanged", 0.0) if len(flows) else pd.Series(dtype=float)
    top = float(size.max()) if len(size) else 0.0
    items = []
    for change in ("unchanged", "changed", "removed", "added"):
        rows = flows[(flows["change"] == change) & flows["origin"].isin(cities.index)
                     & flows["destination"].isin(cities.index)]
        if not len(rows):
            continue
        data: dict[str, list[Any]] = {"xs": [], "ys": [], "w": [], "tip": [], "colour": []}
        for r in rows.itertuples(index=False):
            xs_, ys_ = _arc(float(proj.x(cities.loc[r.origin, "lon"])), float(cities.loc[r.origin, "lat"]),
                            float(proj.x(cities.loc[r.destination, "lon"])), float(cities.loc[r.destination, "lat"]))
            data["xs"].append(xs_)
            data["ys"].append(ys_)
            data["colour"].append(SHRINKS if change == "changed" and r.b < r.a else CHANGE_COLOURS[change])
            data["w"].append(1.0 if change == "unchanged" else 1.5 + 8.0 * math.sqrt(abs(r.delta) / top) if top else 1.5)
            data["tip"].append(
                f"<b>{_e(cities.loc[r.origin, 'label'])} → {_e(cities.loc[r.destination, 'label'])}</b>"
                f"<div>{_e(tr(change))}</div>"
                + _table([tr("plan"), tr("residents")], [["A", _n(r.a)], ["B", _n(r.b)], ["B − A", f"{r.delta:+,.0f}"]], 1))
        renderer: Any = plot.multi_line("xs", "ys", source=ColumnDataSource(data, name=f"flows-{change}"), line_width="w",
                                   line_color="colour", line_alpha=0.5 if change == "unchanged" else 0.85,
                                   line_dash="dashed" if change == "removed" else "solid", hover_line_alpha=1.0,
                                   hover_line_color="#1b2631")
        label = tr("changed (blue: more residents in B; pink: fewer)") if change == "changed" else tr(change)
        items.append(LegendItem(label=label, renderers=[renderer]))
        plot.add_tools(HoverTool(renderers=[renderer], tooltips="<div style=\"max-width:320px\">@tip{safe}</div>",
                                 line_policy="interp", name=f"hover-{change}"))
    if ends:
        plot.scatter(proj.x(shown["lon"]), shown["lat"].to_numpy(dtype=float), size=6, fill_color="white",
                     line_color="#2c3e50")
        plot.text(proj.x(shown["lon"]), shown["lat"].to_numpy(dtype=float), text=shown["label"].astype(str).tolist(),
                  x_offset=6, y_offset=-3, text_font_size="10px", text_color="#1b2631")
    if items:
        plot.add_layout(Legend(items=items, location="top_left", click_policy="hide"))
    script, div = components(plot)
    resources = Resources(mode="inline", components=["bokeh"])
    return resources.render_js() + script, div
