"""Writing a result folder atomically, and the terminal summary.

A result folder holds ``solution.json`` (spec §5) and its views:
``assignments.csv``, ``sources.csv``, ``destinations.csv``, ``sites.csv``,
``regions.csv`` and ``clusters.csv`` (residents and jobs received per region
and per city cluster), ``schedule.csv`` (phased instances: per period and source, see
:attr:`~spatialopt.results.Result.schedule`) and ``flows.geojson`` (origin -> destination lines, EPSG:4326), plus
``run.json`` (timings, reasons, warnings: what the spec's record has no
place for). Every file is first written into a hidden sibling folder which is
renamed into place at the end, so a crash never leaves a half-written result.
An existing result folder is never overwritten silently: without ``force``
the new run goes to ``<folder>-2``, ``<folder>-3``, ...; ``force`` replaces
only a result folder spatialopt wrote (rules in :mod:`spatialopt.destinations`).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .destinations import (
    RESULT,
    FolderKind,
    check_destination,
    new_staging,
    place_folder,
    written_by,
)

if TYPE_CHECKING:
    from .results import Result


def write_result(result: Result, out_dir: Path, *, force: bool = False) -> Path:
    """Write ``result`` into ``out_dir`` (or a fresh sibling); return the folder written."""
    return write_folder(out_dir, lambda folder: _write_files(result, folder), RESULT, force=force)


def write_folder(out_dir: Path, fill: Callable[[Path], None], kind: FolderKind, *, force: bool = False) -> Path:
    """Write a ``kind`` folder atomically: ``fill(staging)`` writes the files, then the folder moves into place.

    The staging folder is a hidden sibling of the target, renamed to it at the
    end, so a failure (or Ctrl-C) in ``fill`` leaves nothing half-written and
    no staging folder behind. Where it lands follows
    :mod:`spatialopt.destinations`: ``out_dir`` when it is missing or empty,
    else the first free ``out_dir-N``; with ``force``, ``out_dir`` replaced
    when it is a ``kind`` folder spatialopt wrote (anything else is refused,
    before ``fill`` runs). Returns the folder written.
    """
    out_dir = check_destination(out_dir, kind, force)
    staging = new_staging(out_dir)
    try:
        fill(staging)
        return place_folder(staging, out_dir, kind, force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when it was placed


def _write_files(result: Result, folder: Path) -> None:
    solution = result.to_solution_dict()
    (folder / "solution.json").write_text(json.dumps(solution, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    result.sources.to_csv(folder / "sources.csv", index=False)
    if result.status.has_solution:
        result.assignments.to_csv(folder / "assignments.csv", index=False)
        result.destinations.to_csv(folder / "destinations.csv", index=False)
        result.sites.to_csv(folder / "sites.csv", index=False)
        result.receipts("region").to_csv(folder / "regions.csv", index=False)
        result.receipts("cluster").to_csv(folder / "clusters.csv", index=False)
        if result.instance.phased:
            result.schedule.to_csv(folder / "schedule.csv", index=False)
        (folder / "flows.geojson").write_text(json.dumps(flows_geojson(result)) + "\n", encoding="utf-8")
    run = {
        "written_by": written_by(),  # marks the folder as one spatialopt may replace (--force)
        "status": result.status.value,
        "termination": result.termination,
        "reasons": result.reasons,
        "warnings": list(result.instance.warnings),
        "timings_seconds": {k: round(v, 4) for k, v in result.timings.items()},
        "highs_work": result.work,
    }
    if result.instance.source_path:
        # Where the instance was read from, so that `spatialopt report` can find
        # coordinates and names without a flag (solution.json is a spec'd format).
        run["instance_path"] = result.instance.source_path
    (folder / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")


def flows_geojson(result: Result) -> dict[str, Any]:
    """One LineString per assignment, origin -> destination, in WGS84 lon/lat (RFC 7946)."""
    a = result.assignments
    xy = result.instance.cities[["lon", "lat"]]
    start = xy.loc[a["origin"]].to_numpy().tolist()
    end = xy.loc[a["destination"]].to_numpy().tolist()
    columns = {
        "facility": a["facility"].tolist(), "type": a["type"].tolist(), "origin": a["origin"].tolist(),
        "destination": a["destination"].tolist(), "units": a["units"].astype(float).tolist(),
        "residents": a["residents"].astype(float).tolist(), "jobs": a["jobs"].astype(float).tolist(),
        "km": a["km"].astype(float).round(3).tolist(),
    }
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [start[i], end[i]]},
            "properties": {name: values[i] for name, values in columns.items()},
        }
        for i in range(len(a))
    ]
    return {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }


def summary_text(result: Result, top: int = 8) -> str:
    """A concise plain-text summary for the terminal."""
    inst = result.instance
    unit = f" {inst.cost_unit}" if inst.cost_unit else ""
    stopped = {"maxTimeLimit": "time limit", "interrupted": "interrupted", "iterationLimit": "node or solution limit"}
    how = stopped.get(result.termination)
    lines = [f"{inst.name}: {result.status.value}" + (f" (stopped: {how})" if how else "")]
    if result.reasons:
        lines += [f"  why: {r}" if not r.startswith(("-", " ", "Any", "No", "The")) else f"  {r}" for r in result.reasons]
    if result.objective is not None:
        bound = "n/a" if result.bound is None else f"{result.bound:,.3f}"
        gap = "n/a" if result.gap is None else f"{result.gap:.2e}"
        lines.append(f"  objective {result.objective:,.3f}{unit}   bound {bound}   gap {gap}")
        comp = result.components or {}
        lines.append("  components: " + ", ".join(f"{k} {v:,.2f}" for k, v in comp.items()))
    lines.append(f"  solver: HiGHS {result.solver['version']}, {result.solver['seconds']:.2f} s")
    src = result.sources
    if len(src) and not result.status.has_solution:
        lines.append("  targets: " + ", ".join(f"{r.city} {r.target:,.0f} residents" for r in src.itertuples()))
    elif len(src):
        lines.append("  sources (residents moved / target; density per km2 before -> after):")
        for r in src.itertuples():
            density = ""
            if r.density_before is not None and not (isinstance(r.density_before, float) and math.isnan(r.density_before)):
                density = f"; {r.density_before:,.0f} -> {r.density_after:,.0f}"
            short = f", shortfall {r.shortfall:,.0f}" if r.shortfall >= 0.5 else ""  # whole persons
            lines.append(f"    {r.city}: {r.moved_residents:,.0f} / {r.target:,.0f}{short}{density}")
    if result.status.has_solution and inst.phased:
        lines += schedule_lines(result, unit)
    if result.status.has_solution:
        dest = result.destinations
        dest = dest[dest["residents_received"] > 0].sort_values("residents_received", ascending=False)
        if len(dest):
            lines.append(f"  main destinations (of {len(dest)} receiving):")
            for r in dest.head(top).itertuples():
                sites = f" [sites: {r.sites}]" if r.sites else ""
                lines.append(f"    {r.city}: {r.residents_received:,.0f} residents, {r.jobs_received:,.0f} jobs{sites}")
        lines.append(f"  sites opened: {int(np.count_nonzero(result.opened))}")
        for by in ("region", "cluster"):
            table = result.receipts(by)
            table = table[table["residents_received"] > 0]
            if len(table) > 1 or (len(table) == 1 and table[by].iloc[0] != "(none)"):
                shown = ", ".join(f"{name} {residents:,.0f}" for name, residents in zip(table[by].head(top), table["residents_received"].head(top)))
                lines.append(f"  residents received by {by}: {shown}")
        passing = result.destinations[result.destinations["passes_200k"]]
        if len(passing):
            names = ", ".join(f"{r.city} ({r.population:,.0f} -> {r.population_after:,.0f})" for r in passing.itertuples())
            lines.append(f"  county towns past 200,000 residents: {names}")
    return "\n".join(lines)


def schedule_lines(result: Result, unit: str) -> list[str]:
    """The schedule of a phased plan: per period, residents moved per source against the milestone, spending."""
    lines = ["  schedule (residents moved in the period, by its end / target; spending / budget):"]
    table = result.schedule
    for period in result.instance.periods:
        rows = table[table["period"] == period.id]
        first = rows.iloc[0]
        budget = "" if math.isnan(first["budget"]) else f" / {first['budget']:,.2f}"
        opened = f", {int(first['sites_opened'])} site(s) opened" if first["sites_opened"] else ""
        lines.append(f"    {period.id} (to {period.end_year}): spending {first['spending']:,.2f}{budget}{unit}{opened}")
        for r in rows.itertuples():
            target = "" if math.isnan(r.target) else f" / {r.target:,.0f}"
            short = f", shortfall {r.shortfall:,.0f}" if not math.isnan(r.shortfall) and r.shortfall >= 0.5 else ""
            lines.append(f"      {r.source}: {r.residents_moved:,.0f} moved, {r.residents_moved_by_end:,.0f}{target}{short}")
    return lines
