"""The national picture: one overview map, and one small map per receiving city cluster.

Flows are grouped and coloured by the cluster of the receiving city (a
handful of colour-blind-safe colours; the smaller clusters share one grey),
the legend sits under the map, every flow is drawn above the basemap and
under the markers with a white casing so that none vanishes. Labels are
moved apart with adjustText; any label that still touches another is then
dropped, lowest priority first (cores are labelled before receiving cities),
so no two labels overlap. A core is labelled once, by its city's name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import patheffects, rc_context
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from .plots import fmt_number, load_basemap, new_figure, style

# Okabe & Ito's colour-blind-safe palette, yellow left out (it fades on the basemap).
GROUP_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
OTHER_COLOUR = "#8c8c8c"
LABEL_GID = "city-label"
CORE_SUFFIXES = (" central districts", "中心城区")


@dataclass
class OverviewData:
    """What the overview and the cluster panels draw; built by the report."""

    cities: pd.DataFrame  # index id; columns label, lon, lat, cluster, cluster_label
    sources: list[str]
    flows: pd.DataFrame  # origin, destination, residents (one row per pair, residents > 0)
    title: str
    tr: Callable[[str], str] = field(default=lambda text: text)


def core_label(label: str) -> str:
    """A core named after its city: "Beijing central districts" -> "Beijing", "北京市中心城区" -> "北京市"."""
    for suffix in CORE_SUFFIXES:
        if label.endswith(suffix) and len(label) > len(suffix):
            return label[: -len(suffix)]
    return label


def receiving_groups(data: OverviewData, most: int = len(GROUP_COLOURS)) -> tuple[pd.Series, dict[str, str]]:
    """Each flow's group (the receiving city's cluster, the smaller ones as "other") and each group's colour."""
    clusters = data.cities["cluster"].reindex(data.flows["destination"]).fillna("").to_numpy()
    totals = pd.Series(data.flows["residents"].to_numpy(dtype=float), index=clusters).groupby(level=0).sum()
    totals = totals.sort_values(ascending=False)
    named = [c for c in totals.index if c][:most]
    labels = data.cities.drop_duplicates("cluster").set_index("cluster")["cluster_label"]
    group = [str(labels.get(c, c)) if c in named else data.tr("other cities") for c in clusters]
    colours = {str(labels.get(c, c)): GROUP_COLOURS[i] for i, c in enumerate(named)}
    if len(named) < len(totals):
        colours[data.tr("other cities")] = OTHER_COLOUR
    return pd.Series(group, index=data.flows.index), colours


def _extent(lon: np.ndarray, lat: np.ndarray, pad: float, min_span: float) -> tuple[float, float, float, float]:
    x0, x1, y0, y1 = float(lon.min()), float(lon.max()), float(lat.min()), float(lat.max())
    w, h = max(x1 - x0, min_span), max(y1 - y0, min_span * 0.75)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - w / 2 - pad * w, cy - h / 2 - pad * h, cx + w / 2 + pad * w, cy + h / 2 + pad * h


def _draw_panel(ax: Any, data: OverviewData, flows: pd.DataFrame, groups: pd.Series, colours: dict[str, str],
                extent: tuple[float, float, float, float], top: float, scale: float) -> None:
    """Basemap, flows and cities of one map (labels come last, once the layout is fixed)."""
    lon0, lat0, lon1, lat1 = extent
    basemap = load_basemap(extent)
    ax.set_facecolor("#f4f8fb" if basemap is None else "white")
    if basemap is not None:  # drawn as plain collections: geopandas' plot redraws the whole figure each time
        rings = [np.asarray(part.exterior.coords) for geom in basemap.polygons for part in getattr(geom, "geoms", [geom])]
        ax.add_collection(PolyCollection(rings, facecolor="#f3f1ec", edgecolor="#b5b5b5", linewidth=0.5, zorder=1))
        lines = [np.asarray(part.coords) for geom in basemap.lines for part in getattr(geom, "geoms", [geom])]
        if lines:
            ax.add_collection(LineCollection(lines, color="#b5b5b5", linewidth=0.5, linestyle="--", zorder=1))
    ax.set_xlim(lon0, lon1)
    ax.set_ylim(lat0, lat1)
    ax.set_aspect(1.0 / math.cos(math.radians((lat0 + lat1) / 2)))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#9aa5ae")

    xy = data.cities[["lon", "lat"]].astype(float)
    casing = [patheffects.Stroke(linewidth=1.2, foreground="white"), patheffects.Normal()]
    for i in flows.sort_values("residents", ascending=False).index:
        row = flows.loc[i]
        w = scale * (0.6 + 5.0 * math.sqrt(float(row["residents"]) / top)) if top > 0 else 1.0
        arrow = FancyArrowPatch(
            tuple(xy.loc[row["origin"]]), tuple(xy.loc[row["destination"]]), connectionstyle="arc3,rad=0.15",
            arrowstyle=f"simple,tail_width={w:.2f},head_width={w + 3:.2f},head_length={0.5 * w + 4:.2f}",
            mutation_scale=1, linewidth=0.4, edgecolor="white", facecolor=colours.get(groups.loc[i], OTHER_COLOUR),
            alpha=0.85, shrinkA=4, shrinkB=4, zorder=3, path_effects=casing,
        )
        ax.add_patch(arrow)
    received = flows.groupby("destination")["residents"].sum()
    most = float(received.max()) if len(received) else 1.0
    busy = [c for c in received.index if c in xy.index]
    if busy:
        ax.scatter(xy.loc[busy, "lon"], xy.loc[busy, "lat"], s=[scale * (10 + 120 * received[c] / most) for c in busy],
                   facecolor="white", edgecolor="#2c3e50", linewidths=0.9, zorder=5)
    cores = [s for s in data.sources if s in xy.index and s in set(flows["origin"])]
    if cores:
        ax.scatter(xy.loc[cores, "lon"], xy.loc[cores, "lat"], s=scale * 70, marker="*", color="#1b2631",
                   edgecolor="white", linewidths=0.5, zorder=6)


def _freeze_layout(fig: Figure) -> None:
    """Lay the figure out once and keep it: labels are measured where they will be drawn."""
    fig.canvas.draw()
    fig.set_layout_engine("none")


def _place_labels(ax: Any, data: OverviewData, ids: list[str], fontsize: float) -> list[Any]:
    """Labels for ``ids`` (highest priority first), moved apart by adjustText, the overlapping rest dropped."""
    from adjustText import adjust_text

    fig = ax.figure
    lon0, lon1 = ax.get_xlim()
    lat0, lat1 = ax.get_ylim()
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    texts = []
    for city in ids:
        lon, lat = float(data.cities.loc[city, "lon"]), float(data.cities.loc[city, "lat"])
        if not (lon0 <= lon <= lon1 and lat0 <= lat <= lat1):
            continue
        core = city in data.sources
        text = core_label(str(data.cities.loc[city, "label"])) if core else str(data.cities.loc[city, "label"])
        t = ax.text(lon, lat, text, fontsize=fontsize, fontweight="bold" if core else "normal", color="#1b2631",
                    path_effects=halo, zorder=8, ha="left", va="bottom", gid=LABEL_GID)
        texts.append(t)
    if not texts:
        return []
    anchors = [t.get_position() for t in texts]
    adjust_text(texts, ax=ax, expand=(1.15, 1.3), ensure_inside_axes=True, iter_lim=100)
    renderer = fig.canvas.get_renderer()
    kept: list[Any] = []
    boxes: list[Any] = []
    axes_box = ax.get_window_extent(renderer)
    for t, (lon, lat) in zip(texts, anchors):  # in priority order
        box = t.get_window_extent(renderer)
        inside = axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1 and axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1
        if not inside or any(box.overlaps(other) for other in boxes):
            t.remove()
            continue
        kept.append(t)
        boxes.append(box)
        # A leader line from the city to its label when adjustText moved the label away.
        px, py = ax.transData.transform((lon, lat))
        if px < box.x0 - 4 or px > box.x1 + 4 or py < box.y0 - 4 or py > box.y1 + 4:
            tx = min(max(px, box.x0), box.x1)
            ty = min(max(py, box.y0), box.y1)
            end = ax.transData.inverted().transform((tx, ty))
            ax.plot([lon, end[0]], [lat, end[1]], color="#5d6d7e", linewidth=0.5, zorder=7)
    return kept


def _legend(fig: Figure, data: OverviewData, colours: dict[str, str], top: float, scale: float) -> None:
    handles: list[Any] = [Line2D([], [], color=c, linewidth=4, label=g) for g, c in colours.items()]
    handles.append(Line2D([], [], marker="*", linestyle="", color="#1b2631", markersize=9,
                          label=data.tr("megacity core (origin)")))
    handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="#2c3e50",
                          markersize=7, label=data.tr("receiving city (area ~ residents received)")))
    for value in sorted({_nice(top), _nice(top / 10)}, reverse=True) if top > 0 else []:
        handles.append(Line2D([], [], color="#7f8c8d", linewidth=scale * (0.6 + 5.0 * math.sqrt(value / top)),
                              label=f"{fmt_number(value)} {data.tr('residents')}"))
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=7.5, title=data.tr("Legend"),
               title_fontsize=8)


def _nice(value: float) -> float:
    if value <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(value))
    return next((step * power for step in (5, 2, 1) if step * power <= value), power)


def overview_map(data: OverviewData) -> Figure:
    """All of the plan on one map: flows coloured by receiving cluster, cores and the largest receivers labelled."""
    with rc_context(style()):
        fig = new_figure(9.0, 8.2)
        ax = fig.add_subplot()
        flows = data.flows
        groups, colours = receiving_groups(data)
        involved = sorted(set(flows["origin"]) | set(flows["destination"]))
        pts = data.cities.loc[involved] if involved else data.cities
        extent = _extent(pts["lon"].to_numpy(float), pts["lat"].to_numpy(float), 0.06, 8.0)
        top = float(flows["residents"].max()) if len(flows) else 0.0
        received = flows.groupby("destination")["residents"].sum().sort_values(ascending=False)
        cores = [s for s in data.sources if s in set(flows["origin"])]
        labels = cores + [c for c in received.index[:12] if c not in cores]
        _draw_panel(ax, data, flows, groups, colours, extent, top, 1.0)
        ax.set_title(data.title, loc="left")
        ax.set_xlabel(data.tr("Flows grouped by the cluster of the receiving city; width ~ residents moved."),
                      fontsize=7, color="#5d6d7e", loc="left")
        _legend(fig, data, colours, top, 1.0)
        _freeze_layout(fig)
        _place_labels(ax, data, labels, 7.0)
        return fig


def cluster_panels(data: OverviewData, columns: int = 3) -> Figure:
    """One small map per receiving cluster (largest first), every core and receiving city in it labelled."""
    with rc_context(style()):
        flows = data.flows
        groups, colours = receiving_groups(data, most=len(GROUP_COLOURS))
        dest_cluster = data.cities["cluster"].reindex(flows["destination"]).fillna("").to_numpy()
        totals = pd.Series(flows["residents"].to_numpy(float), index=dest_cluster).groupby(level=0).sum()
        order = [c for c in totals.sort_values(ascending=False).index if c]
        n = max(len(order), 1)
        cols = min(columns, n)
        rows = math.ceil(n / cols)
        fig = new_figure(3.4 * cols, 3.3 * rows + 0.6)
        axes = fig.subplots(rows, cols, squeeze=False)
        top = float(flows["residents"].max()) if len(flows) else 0.0
        labelling = []
        for k, ax in enumerate(axes.flat):
            if k >= len(order):
                ax.set_axis_off()
                continue
            cluster = order[k]
            mask = dest_cluster == cluster
            sub = flows[mask]
            involved = sorted(set(sub["origin"]) | set(sub["destination"]))
            pts = data.cities.loc[involved]
            extent = _extent(pts["lon"].to_numpy(float), pts["lat"].to_numpy(float), 0.18, 1.2)
            received = sub.groupby("destination")["residents"].sum().sort_values(ascending=False)
            cores = [s for s in data.sources if s in set(sub["origin"])]
            labels = cores + [c for c in received.index if c not in cores]
            _draw_panel(ax, data, sub, groups[mask], colours, extent, top, 0.6)
            labelling.append((ax, labels))
            name = str(data.cities.loc[data.cities["cluster"] == cluster, "cluster_label"].iloc[0])
            ax.set_title(f"{name}: {fmt_number(float(sub['residents'].sum()))} {data.tr('residents')}", loc="left",
                         fontsize=9)
        fig.suptitle(data.tr("One panel per city cluster that receives anything; flows coloured by the cluster of "
                             "the receiving city."), x=0.01, ha="left", fontsize=9, fontweight="normal")
        _freeze_layout(fig)
        for ax, labels in labelling:
            _place_labels(ax, data, labels, 6.5)
        return fig


def label_boxes(fig: Figure) -> list[Any]:
    """The window extents of every city label drawn on ``fig`` (for checks that no two overlap)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    return [t.get_window_extent(renderer) for ax in fig.axes for t in ax.texts if t.get_gid() == LABEL_GID]
