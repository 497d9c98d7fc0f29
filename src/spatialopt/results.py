"""The plan a solve produced, as tables and as the spec's solution record (§5).

:func:`extract_plan` turns raw solver values into a :class:`Result`: integer
variables are rounded to whole numbers (HiGHS reports them within its
integrality tolerance), and the objective and its components are recomputed
from the rounded plan, so that what is reported is exactly what the plan
costs. The solver's bound is kept as HiGHS proved it.
"""

from __future__ import annotations

import functools
import itertools
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
from .periods import discount_factors, milestone_targets
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
    # Phased instances (spec v2): units per move (the x columns: each arc in each period of
    # its window, see spatialopt.formulation.move_layout) and, per site candidate, the
    # position of the period it opens in (-1: not opened). ``units`` and ``opened`` are the
    # whole plan's. Without [[periods]] the moves are the arcs and every site opens in period 0.
    move_units: np.ndarray | None = None
    site_period: np.ndarray | None = None

    def column_start(self) -> tuple[np.ndarray, np.ndarray]:
        """The plan as values of the model's x and y columns (a solver's warm start)."""
        if self.move_units is None or self.site_period is None:
            return self.units, self.opened
        n_periods = len(self.instance.plan_periods)
        y = np.zeros((self.site_period.size, n_periods))
        opened = self.site_period >= 0
        y[np.flatnonzero(opened), self.site_period[opened]] = 1.0
        return self.move_units, y.reshape(-1)

    # -- periods ----------------------------------------------------------------
    @functools.cached_property
    def _moves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(arc, period position, units) of every move with units > 0, arc-major."""
        from .formulation import move_layout

        if self.move_units is None:
            used = np.nonzero(self.units > 0)[0]
            return used, np.zeros(used.size, np.int64), self.units[used]
        arc, period = move_layout(self.instance, self.derived)
        used = np.nonzero(self.move_units > 0)[0]
        return arc[used], period[used], self.move_units[used]

    def moved_by_period(self) -> pd.DataFrame:
        """Residents and jobs moved per (source, period position), in the period (not cumulative)."""
        arc, period, units = self._moves
        fac = self.instance.facilities
        f = self.derived.arc_f[arc]
        return pd.DataFrame({
            "origin": fac["origin"].to_numpy(dtype=object)[f], "period": period,
            "residents": fac["residents"].to_numpy(dtype=float)[f] * units,
            "jobs": fac["jobs"].to_numpy(dtype=float)[f] * units,
            "spending": self.derived.relocation[arc] * units,
        })

    # -- tables ---------------------------------------------------------------
    @functools.cached_property
    def assignments(self) -> pd.DataFrame:
        """Arcs with units > 0: who moves where, with what it carries and costs.

        For a phased instance one row per move (facility, destination, period)
        with a ``period`` column after ``destination``; its cost columns are
        present values (spec §5's components), so they sum to the components.
        """
        d = self.derived
        inst = self.instance
        if inst.phased:
            used, period, units = self._moves
        else:
            used = np.nonzero(self.units > 0)[0]
            units = self.units[used]
        fac = inst.facilities
        f_ids = np.asarray(d.facility_ids, dtype=object)[d.arc_f[used]]
        rows = fac.loc[f_ids]
        columns: dict[str, Any] = {
            "facility": f_ids,
            "origin": rows["origin"].to_numpy(),
            "type": rows["type"].to_numpy(),
            "destination": np.asarray(d.city_ids, dtype=object)[d.arc_d[used]],
        }
        relocation, operating, access = d.relocation[used], d.operating[used], d.access[used]
        if inst.phased:
            delta, years = discount_factors(inst)
            columns["period"] = np.asarray([p.id for p in inst.periods], dtype=object)[period]
            relocation = delta[period] * relocation
            operating = years[period] * np.asarray(d.annual_operating, float)[used]
            access = delta[period] * access
        columns.update({
            "units": units,
            "residents": rows["residents"].to_numpy() * units,
            "jobs": rows["jobs"].to_numpy() * units,
            "km": d.arc_km[used],
            "relocation": relocation * units,
            "operating": operating * units,
            "access": access * units,
        })
        return pd.DataFrame(columns)

    @property
    def sites(self) -> pd.DataFrame:
        """Every opened site, empty ones included."""
        d = self.derived
        opened = np.nonzero(self.opened)[0]
        columns: dict[str, Any] = {
            "type": [d.site_type[i] for i in opened],
            "city": np.asarray(d.city_ids, dtype=object)[d.site_d[opened]],
        }
        if self.instance.phased:  # the period each opens in
            period = self.site_period[opened] if self.site_period is not None else np.zeros(opened.size, np.int64)
            columns["period"] = np.asarray([p.id for p in self.instance.periods], dtype=object)[period]
        columns.update({"site_cost": d.site_cost[opened], "capacity_jobs": d.site_capacity[opened]})
        return pd.DataFrame(columns)

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
    def schedule(self) -> pd.DataFrame:
        """Per period and source: residents and jobs moved in the period and by its end against the milestone.

        Columns: ``period, end_year, source, residents_moved, jobs_moved,
        residents_moved_by_end, target`` (the milestone's ``T_sp``, the
        source's target in the last period, NaN where no milestone),
        ``shortfall`` (persons, where a target), ``density_after`` (at the
        period's end) and, per period, ``spending`` (undiscounted, as the
        budgets count it), ``budget`` (NaN: none) and ``sites_opened``.
        Without [[periods]] there is one row per source, period ``""``.
        """
        inst = self.instance
        periods = inst.plan_periods
        moved = self.moved_by_period()
        spending = moved.groupby("period")["spending"].sum()
        site_period = self._site_periods()
        site_spending = pd.Series(self.derived.site_cost[site_period >= 0]).groupby(
            site_period[site_period >= 0]).sum() if (site_period >= 0).any() else pd.Series(dtype=float)
        targets = milestone_targets(inst)
        rows = []
        for p, period in enumerate(periods):
            spent = float(spending.get(p, 0.0)) + float(site_spending.get(p, 0.0))
            opened = int(np.count_nonzero(site_period == p))
            for s, src in inst.sources.items():
                mine = moved[moved["origin"] == s]
                now, by_end = mine[mine["period"] == p], mine[mine["period"] <= p]
                moved_by_end = float(by_end["residents"].sum())
                target = dict(targets[s]).get(p, math.nan)
                after = None
                if src.core_population is not None and src.core_area_km2 is not None:
                    after = (src.core_population - moved_by_end) / src.core_area_km2
                rows.append({
                    "period": period.id, "end_year": period.end_year, "source": s,
                    "residents_moved": float(now["residents"].sum()), "jobs_moved": float(now["jobs"].sum()),
                    "residents_moved_by_end": moved_by_end, "target": target,
                    "shortfall": max(0.0, target - moved_by_end) if not math.isnan(target) else math.nan,
                    "density_after": after, "spending": spent,
                    "budget": math.nan if period.budget is None else float(period.budget), "sites_opened": opened,
                })
        return pd.DataFrame(rows, columns=["period", "end_year", "source", "residents_moved", "jobs_moved",
                                           "residents_moved_by_end", "target", "shortfall", "density_after",
                                           "spending", "budget", "sites_opened"])

    def _site_periods(self) -> np.ndarray:
        """Per site candidate, the period position it opens in (-1: not opened)."""
        if self.site_period is not None:
            return self.site_period
        return np.where(self.opened, 0, -1).astype(np.int64)

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
        """The ``solution.json`` record of spec §5 (with v2's period fields only for a phased instance)."""
        solved = self.status.has_solution
        phased = self.instance.phased
        milestone_rows, periods = self._period_fields() if phased and solved else ({}, [])
        a = self.assignments if solved else None
        sites = self.sites if solved else None
        record: dict[str, Any] = {
            "instance": self.instance.name,
            "instance_sha256": self.instance.sha256,
            "status": self.status.value,
            "objective": _num(self.objective),
            "bound": _num(self.bound),
            "gap": _num(self.gap),
            "components": {k: float(v) for k, v in self.components.items()} if self.components else None,
            "assignments": [
                {"facility": f, "destination": d, **_period_key(p, phased), "units": float(u)}
                for f, d, p, u in zip(a["facility"], a["destination"], _period_column(a, phased), a["units"])
            ] if a is not None else [],
            "sites": [
                {"type": t, "city": c, **_period_key(p, phased)}
                for t, c, p in zip(sites["type"], sites["city"], _period_column(sites, phased))
            ] if sites is not None else [],
            "sources": [
                {
                    "city": r.city,
                    "target": float(r.target),
                    # Without a plan the units are all zero, so nothing is moved.
                    "moved_residents": float(r.moved_residents),
                    "shortfall": float(r.shortfall),
                    "density_before": _num(r.density_before),
                    "density_after": _num(r.density_after),
                    **({"milestones": milestone_rows.get(r.city, [])} if phased else {}),
                }
                for r in self.sources.itertuples()
            ],
        }
        if phased:
            record["periods"] = periods
        record["solver"] = self.solver
        return record

    def _period_fields(self) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
        """spec §5's ``sources[].milestones`` (per source) and ``periods[]`` of a phased plan."""
        schedule = self.schedule
        milestone_rows: dict[str, list[dict[str, Any]]] = {s: [] for s in self.instance.sources}
        last = self.instance.periods[-1].id
        for r in schedule.itertuples():
            if r.period != last and not math.isnan(r.target):
                milestone_rows[r.source].append({
                    "period": r.period, "target": float(r.target),
                    "moved_residents": float(r.residents_moved_by_end), "shortfall": float(r.shortfall),
                    "density_after": _num(r.density_after),
                })
        per_period = schedule.groupby("period", sort=False)
        periods = []
        for period in self.instance.periods:
            rows = per_period.get_group(period.id)
            periods.append({
                "id": period.id, "end_year": period.end_year, "spending": float(rows["spending"].iloc[0]),
                "budget": _num(period.budget), "moved_residents": float(rows["residents_moved"].sum()),
            })
        return milestone_rows, periods

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


def _period_column(table: pd.DataFrame, phased: bool) -> Any:
    """A table's ``period`` column for a phased plan; else a stand-in that :func:`_period_key` ignores."""
    return table["period"] if phased else itertools.repeat(None)


def _period_key(period: Any, phased: bool) -> dict[str, Any]:
    """``{"period": id}`` in a phased plan's records (spec v2 §5); nothing in a v1.1 one."""
    return {"period": period} if phased else {}


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
    move_units = site_period = None
    if instance.phased:
        from .formulation import move_layout

        arc, period = move_layout(instance, derived)
        move_units = np.zeros(arc.size)
        site_period = np.full(n_sites, -1, dtype=np.int64)
    if run.status.has_solution and instance.phased:
        move_units = _clean_units(instance, derived, run.values["x"], arc)
        units = np.bincount(arc, weights=move_units, minlength=n_arcs).astype(float)
        n_periods = len(instance.periods)
        open_at = np.asarray(run.values["y"], float).reshape(n_sites, n_periods) > OPEN_SITE_THRESHOLD
        opened = np.asarray(open_at.any(axis=1), dtype=bool)
        site_period = np.where(opened, np.argmax(open_at, axis=1), -1).astype(np.int64)
        components = phased_components(instance, derived, arc, period, move_units, site_period)
    elif run.status.has_solution:
        units = _clean_units(instance, derived, run.values["x"])
        opened = run.values["y"] > OPEN_SITE_THRESHOLD
        components = plan_components(instance, derived, units, opened)
    if components is not None:
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
        termination=run.termination, work=dict(run.work), move_units=move_units, site_period=site_period,
    )


def _clean_units(instance: Instance, derived: Derived, x: np.ndarray, arcs: np.ndarray | None = None) -> np.ndarray:
    """Whole numbers for integer arcs; continuous ones clipped to [0, count], dust removed.

    ``x`` holds one value per arc, or per move when ``arcs`` gives each move's arc.
    """
    fac = instance.facilities
    f = derived.arc_f if arcs is None else derived.arc_f[arcs]
    count = fac["count"].to_numpy(dtype=float)[f]
    splittable = np.array([instance.types[t].splittable for t in fac["type"]], dtype=bool)[f]
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


def phased_components(instance: Instance, derived: Derived, arc: np.ndarray, period: np.ndarray,
                      move_units: np.ndarray, site_period: np.ndarray) -> dict[str, float]:
    """Unweighted present-value components of a phased plan (spec §5).

    ``relocation = Σ δ_p r_fd x_fdp``, ``operating = Σ Y_p (annual) x_fdp``,
    ``access = Σ δ_p a_fd x_fdp``, ``sites = Σ δ_p site_cost y_kdp``,
    ``shortfall = Σ penalty_s max(0, T_sp - moved by the end of p)`` over each
    soft source's target rows.
    """
    delta, years = discount_factors(instance)
    fac = instance.facilities
    f = derived.arc_f[arc]
    moved = fac["residents"].to_numpy(dtype=float)[f] * move_units
    origin = fac["origin"].to_numpy(dtype=object)[f]
    shortfall = 0.0
    for s, rows in milestone_targets(instance).items():
        src = instance.sources[s]
        if src.soft:
            for p, target in rows:
                by_end = float(moved[(origin == s) & (period <= p)].sum())
                shortfall += src.shortfall_penalty * max(0.0, target - by_end)
    opened = site_period >= 0
    return {
        "relocation": float((delta[period] * derived.relocation[arc]) @ move_units),
        "operating": float((years[period] * np.asarray(derived.annual_operating, float)[arc]) @ move_units),
        "access": float((delta[period] * derived.access[arc]) @ move_units),
        "sites": float((delta[site_period[opened]] * derived.site_cost[opened]).sum()),
        "shortfall": shortfall,
    }
