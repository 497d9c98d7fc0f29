"""The plan a solve produced, as tables and as the spec's solution record (§5).

:func:`extract_plan` turns raw solver values into a :class:`Result`: integer
variables are rounded to whole numbers (HiGHS reports them within its
integrality tolerance), and the objective and its components are recomputed
from the rounded plan, so that what is reported is exactly what the plan
costs. The solver's bound is kept as HiGHS proved it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .derive import Derived
from .errors import SpatialoptError
from .instance import WEIGHT_NAMES, Instance
from .status import SolverRun, SolveStatus
from .tolerances import (
    FEASIBILITY_TOL,
    GAP_DENOMINATOR_FLOOR,
    OPEN_SITE_THRESHOLD,
    UNIT_DUST,
)

COMPONENTS = WEIGHT_NAMES  # relocation, operating, access, sites, shortfall
COUNTY_THRESHOLD = 200_000.0  # residents: county towns the plan lifts past this are listed


# Result.explain's implementation, installed when spatialopt.explain is imported (the method imports it
# on first use), so that reading a result neither loads a solver nor makes an import cycle.
_explainer: Callable[..., Any] | None = None


def install_explainer(explain: Callable[..., Any]) -> None:
    """Make ``explain(result, **options)`` the implementation of :meth:`Result.explain`."""
    global _explainer
    _explainer = explain


class PlanStatusError(SpatialoptError):
    """Raised by :meth:`Result.raise_for_status` when a solve found no plan."""


@dataclass
class Result:
    """A solve's outcome: status, numbers and the plan (empty without a solution)."""

    instance: Instance
    derived: Derived
    status: SolveStatus
    objective: float | None
    bound: float | None
    gap: float | None
    components: dict[str, float] | None
    units: np.ndarray  # per eligible arc (zeros without a solution)
    opened: np.ndarray  # per site candidate, bool
    solver: dict[str, Any]
    reasons: list[str] = field(default_factory=list)  # why there is no plan, in the instance's words
    termination: str = ""  # how HiGHS stopped: convergenceCriteriaSatisfied, maxTimeLimit, interrupted, ...
    work: dict[str, int] = field(default_factory=dict)  # HiGHS's simplex iterations and nodes
    timings: dict[str, float] = field(default_factory=dict)
    diagnosis: Any = None  # an infeasible solve's Diagnosis (spatialopt.diagnose): rules in the way, repairs

    # -- tables ---------------------------------------------------------------
    @functools.cached_property
    def assignments(self) -> pd.DataFrame:
        """Arcs with units > 0: who moves where, with what it carries and costs."""
        d = self.derived
        used = np.nonzero(self.units > 0)[0]
        fac = self.instance.facilities
        f_ids = np.asarray(d.facility_ids, dtype=object)[d.arc_f[used]]
        units = self.units[used]
        rows = fac.loc[f_ids]
        return pd.DataFrame(
            {
                "facility": f_ids,
                "origin": rows["origin"].to_numpy(),
                "type": rows["type"].to_numpy(),
                "destination": np.asarray(d.city_ids, dtype=object)[d.arc_d[used]],
                "units": units,
                "residents": rows["residents"].to_numpy() * units,
                "jobs": rows["jobs"].to_numpy() * units,
                "km": d.arc_km[used],
                "relocation": d.relocation[used] * units,
                "operating": d.operating[used] * units,
                "access": d.access[used] * units,
            }
        )

    @property
    def sites(self) -> pd.DataFrame:
        """Every opened site, empty ones included."""
        d = self.derived
        opened = np.nonzero(self.opened)[0]
        return pd.DataFrame(
            {
                "type": [d.site_type[i] for i in opened],
                "city": np.asarray(d.city_ids, dtype=object)[d.site_d[opened]],
                "site_cost": d.site_cost[opened],
                "capacity_jobs": d.site_capacity[opened],
            }
        )

    @property
    def sources(self) -> pd.DataFrame:
        """Per source: target, residents moved, shortfall, density before and after."""
        moved = self._moved_residents()
        rows = []
        for s, src in self.instance.sources.items():
            m = moved.get(s, 0.0)
            before = src.density_before
            after = None if before is None else (src.core_population - m) / src.core_area_km2  # type: ignore[operator]
            rows.append(
                {
                    "city": s,
                    "target": src.target_persons,
                    "moved_residents": m,
                    "shortfall": max(0.0, src.target_persons - m),
                    "density_before": before,
                    "density_after": after,
                    "soft": src.soft,
                }
            )
        return pd.DataFrame(rows, columns=["city", "target", "moved_residents", "shortfall", "density_before", "density_after", "soft"])

    @functools.cached_property
    def destinations(self) -> pd.DataFrame:
        """Per receiving city: residents and jobs received (by type), resource use vs cap, sites.

        Computed once (the summary, the CSV and both receipts tables read it); treat it as read-only.
        """
        inst = self.instance
        a = self.assignments
        dest_ids = inst.destination_ids
        cities = inst.cities.loc[dest_ids]
        out = pd.DataFrame(
            {"city": dest_ids, "name": cities["name"].to_numpy(), "tier": cities["tier"].to_numpy(),
             "region": cities["region"].to_numpy(), "cluster": cities["cluster"].to_numpy()}
        ).set_index("city")
        out["residents_received"] = a.groupby("destination")["residents"].sum().reindex(dest_ids, fill_value=0.0).to_numpy()
        out["jobs_received"] = a.groupby("destination")["jobs"].sum().reindex(dest_ids, fill_value=0.0).to_numpy()
        out["population"] = cities["population"].to_numpy()
        out["population_after"] = out["population"] + out["residents_received"]
        # The plan's threshold for county towns (县城): the ones this plan takes past 200,000.
        out["passes_200k"] = (
            (out["tier"] == "county") & (out["population"] < COUNTY_THRESHOLD) & (out["population_after"] >= COUNTY_THRESHOLD)
        )
        for type_id in inst.types:
            part = a[a["type"] == type_id].groupby("destination")
            out[f"residents_{type_id}"] = part["residents"].sum().reindex(dest_ids, fill_value=0.0).to_numpy()
            out[f"jobs_{type_id}"] = part["jobs"].sum().reindex(dest_ids, fill_value=0.0).to_numpy()
        d = self.derived
        city_pos = {c: i for i, c in enumerate(d.city_ids)}
        pos = np.array([city_pos[c] for c in dest_ids], dtype=np.int64)
        for j, resource in enumerate(inst.resources):
            use = np.zeros(len(d.city_ids))
            np.add.at(use, d.arc_d, d.use[:, j] * self.units)
            out[f"use_{resource.id}"] = use[pos]
            out[f"cap_{resource.id}"] = inst.city_caps.loc[dest_ids, resource.id].to_numpy()
        sites = self.sites
        listing = sites.groupby("city")["type"].apply(lambda t: ";".join(t)) if len(sites) else pd.Series(dtype=object)
        out["sites"] = listing.reindex(dest_ids, fill_value="").to_numpy() if len(dest_ids) else []
        return out.reset_index()

    @property
    def flows(self) -> Any:
        """The assignments as a GeoDataFrame of origin -> destination lines (EPSG:4326)."""
        import geopandas
        from shapely.geometry import LineString

        a = self.assignments
        xy = self.instance.cities[["lon", "lat"]]
        lines = [
            LineString([tuple(xy.loc[o]), tuple(xy.loc[d])]) for o, d in zip(a["origin"], a["destination"])
        ]
        return geopandas.GeoDataFrame(a, geometry=lines, crs="EPSG:4326")

    def receipts(self, by: str) -> pd.DataFrame:
        """Residents and jobs received, summed per ``region`` or ``cluster`` (empty -> "(none)")."""
        dest = self.destinations
        key = dest[by].replace("", "(none)")
        out = dest.groupby(key)[["residents_received", "jobs_received"]].sum()
        out["receiving_cities"] = dest[dest["residents_received"] > 0].groupby(key[dest["residents_received"] > 0]).size()
        out = out.fillna({"receiving_cities": 0}).astype({"receiving_cities": int})
        return out.sort_values("residents_received", ascending=False).rename_axis(by).reset_index()

    def _moved_residents(self) -> dict[str, float]:
        d = self.derived
        fac = self.instance.facilities
        moved = fac["residents"].to_numpy(dtype=float)[d.arc_f] * self.units
        origin = fac["origin"].to_numpy(dtype=object)[d.arc_f]
        return {s: float(moved[origin == s].sum()) for s in self.instance.sources}

    # -- the spec's record -----------------------------------------------------
    def to_solution_dict(self) -> dict[str, Any]:
        """The ``solution.json`` record of spec §5."""
        solved = self.status.has_solution
        a = self.assignments if solved else None
        sources = self.sources
        return {
            "instance": self.instance.name,
            "instance_sha256": self.instance.sha256,
            "status": self.status.value,
            "objective": _num(self.objective),
            "bound": _num(self.bound),
            "gap": _num(self.gap),
            "components": {k: float(v) for k, v in self.components.items()} if self.components else None,
            "assignments": [
                {"facility": f, "destination": d, "units": float(u)}
                for f, d, u in zip(a["facility"], a["destination"], a["units"])
            ] if a is not None else [],
            "sites": [{"type": t, "city": c} for t, c in zip(self.sites["type"], self.sites["city"])] if solved else [],
            "sources": [
                {
                    "city": r.city,
                    "target": float(r.target),
                    # Without a plan the units are all zero, so nothing is moved.
                    "moved_residents": float(r.moved_residents),
                    "shortfall": float(r.shortfall),
                    "density_before": _num(r.density_before),
                    "density_after": _num(r.density_after),
                }
                for r in sources.itertuples()
            ],
            "solver": self.solver,
        }

    def raise_for_status(self) -> Result:
        """Return self when a plan exists, else raise :class:`PlanStatusError` with the reasons."""
        if not self.status.has_solution:
            why = "; ".join(self.reasons) if self.reasons else "no further detail"
            raise PlanStatusError(f"{self.instance.name}: {self.status.value} ({why})")
        return self

    def write(self, out_dir: str | Path, *, force: bool = False) -> Path:
        """Write the result folder (solution.json, CSV and GeoJSON views) atomically."""
        from .output import write_result

        return write_result(self, Path(out_dir), force=force)

    def explain(self, **options: Any) -> Any:
        """Why this city? Runner-ups, their re-optimised extra costs and marginal values, as tables.

        Returns an :class:`~spatialopt.explain.Explanation` (``.moved``, ``.staying``,
        ``.cities``, ``.marginals``); ``options`` as :func:`spatialopt.explain.explain`.
        """
        if _explainer is None:
            import_module("spatialopt.explain")  # installs it (it runs solves: not imported with this module)
        assert _explainer is not None
        return _explainer(self, **options)

    def summary(self) -> str:
        from .output import summary_text

        return summary_text(self)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def extract_plan(instance: Instance, derived: Derived, run: SolverRun, reasons: list[str] | None = None) -> Result:
    """Round, recompute and package a solver run as a :class:`Result`."""
    n_arcs, n_sites = derived.n_arcs, len(derived.site_type)
    units = np.zeros(n_arcs)
    opened = np.zeros(n_sites, dtype=bool)
    objective = gap = None
    components = None
    bound = run.bound
    if run.status.has_solution:
        units = _clean_units(instance, derived, run.values["x"])
        opened = run.values["y"] > OPEN_SITE_THRESHOLD
        components = plan_components(instance, derived, units, opened)
        objective = sum(getattr(instance.weights, k) * components[k] for k in COMPONENTS)
        if bound is not None:
            # A proven lower bound cannot exceed a feasible objective; any excess is
            # the solver's tolerance showing through the recomputed objective.
            bound = min(bound, objective)
            gap = (objective - bound) / max(abs(objective), GAP_DENOMINATOR_FLOOR)
    status = run.status
    rel_gap = float(run.options.get("mip_rel_gap", 0.0))
    if status == SolveStatus.OPTIMAL and gap is not None and gap > rel_gap + FEASIBILITY_TOL:
        # HiGHS may stop on its absolute gap (objectives near zero); the spec's
        # "optimal" promises the relative gap recorded in solver.options.
        status = SolveStatus.FEASIBLE
    solver = {
        "name": "highs",
        "version": run.version,
        "seconds": round(run.seconds, 6),
        "options": dict(run.options),
    }
    return Result(
        instance=instance, derived=derived, status=status, objective=objective, bound=bound, gap=gap,
        components=components, units=units, opened=opened, solver=solver, reasons=list(reasons or []),
        termination=run.termination, work=dict(run.work),
    )


def _clean_units(instance: Instance, derived: Derived, x: np.ndarray) -> np.ndarray:
    """Whole numbers for integer arcs; continuous ones clipped to [0, count], dust removed."""
    fac = instance.facilities
    count = fac["count"].to_numpy(dtype=float)[derived.arc_f]
    splittable = np.array([instance.types[t].splittable for t in fac["type"]], dtype=bool)[derived.arc_f]
    units = np.where(splittable, x, np.round(x))
    units = np.clip(units, 0.0, count)
    units[np.abs(units) < UNIT_DUST] = 0.0
    return units


def plan_components(instance: Instance, derived: Derived, units: np.ndarray, opened: np.ndarray) -> dict[str, float]:
    """Unweighted cost components of a plan (spec §5)."""
    fac = instance.facilities
    moved = fac["residents"].to_numpy(dtype=float)[derived.arc_f] * units
    origin = fac["origin"].to_numpy(dtype=object)[derived.arc_f]
    shortfall = 0.0
    for s, src in instance.sources.items():
        if src.soft:
            shortfall += src.shortfall_penalty * max(0.0, src.target_persons - float(moved[origin == s].sum()))
    return {
        "relocation": float(derived.relocation @ units),
        "operating": float(derived.operating @ units),
        "access": float(derived.access @ units),
        "sites": float(derived.site_cost[opened].sum()),
        "shortfall": shortfall,
    }
