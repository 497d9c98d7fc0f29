"""An instance as editable data: manifest entries and table rows, changed by key and validated again.

:class:`InstanceDocument` writes a validated :class:`~spatialopt.instance.Instance`
back into the plain values a manifest and its tables hold, applies
:class:`~spatialopt.scenarios.changes.Changes` there (each dotted key located
by :meth:`InstanceDocument.locate`) and hands the result to the loader's own
validation (:func:`spatialopt.validate.load_instance_from_data`), so a changed
instance obeys exactly the rules of a loaded one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import Problem
from ..instance import BUILTIN_FACILITY_COLUMNS, WEIGHT_NAMES, Instance
from ..tables import RawTable
from ..validate import load_instance_from_data

if TYPE_CHECKING:
    from .changes import Changes

# The keys a change may name (see docs/scenarios.md).
INSTANCE_KEYS = ("name", "description", "cost_unit", "horizon_years")
TYPE_PARAMETERS = (
    "allowed_tiers", "min_km", "max_km", "same_cluster", "splittable", "household_factor", "cost_per_job_km",
    "annual_cost_per_job", "access_cost_per_unit_km", "requires_site", "site_cost", "site_capacity_jobs",
    "min_site_jobs", "min_sites", "max_sites",
)
TARGET_FORMS = ("target_reduction", "target_reduction_pct", "target_density")
SOURCE_PARAMETERS = ("target", *TARGET_FORMS, "core_population", "core_area_km2", "soft", "shortfall_penalty")
CITY_COLUMNS = ("name", "lon", "lat", "tier", "region", "cluster", "population", "cost_index")
FACILITY_COLUMNS = ("origin", "type", "count", "jobs", "residents", "service_units", "fixed_cost", "must_move")
KEY_HEADS = "instance.*, policy.*, objective.weights.*, types.<id>.*, sources.<city>.*, cities.<id>.<column>, facilities.<id>.<column>"


class _Bad(Exception):
    """A change that names something unknown; ``expected`` says what would do."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


class InstanceDocument:
    """An instance as manifest entries and table rows (plain values), to be changed and re-validated."""

    def __init__(self, inst: Instance) -> None:
        self.header: dict[str, Any] = {"name": inst.name, "horizon_years": inst.horizon_years}
        if inst.description:
            self.header["description"] = inst.description
        if inst.cost_unit:
            self.header["cost_unit"] = inst.cost_unit
        # spec v2: periods, discounting and travel time travel with the instance unchanged
        if inst.base_year is not None:
            self.header["base_year"] = inst.base_year
        if inst.discount_rate:
            self.header["discount_rate"] = inst.discount_rate
        self.periods = [{"id": p.id, "end_year": p.end_year, **({"budget": p.budget} if p.budget is not None else {})}
                        for p in inst.periods]
        self.travel = None if inst.travel is None else {"speed_kmh": inst.travel.speed_kmh,
                                                         "detour": inst.travel.detour}
        self.types = {k: _type_entry(t) for k, t in inst.types.items()}
        self.resources = [{"id": r.id, "use": r.use, "cap": r.cap,
                           **({"cap_by_period": dict(r.cap_by_period)} if r.cap_by_period else {})}
                          for r in inst.resources]
        self.sources = {s: _source_entry(src) for s, src in inst.sources.items()}
        self.policy: dict[str, Any] = {"min_region_share": dict(inst.policy.min_region_share)}
        if inst.policy.budget is not None:
            self.policy["budget"] = inst.policy.budget
        if inst.policy.max_destination_share is not None:
            self.policy["max_destination_share"] = inst.policy.max_destination_share
        self.weights = inst.weights.as_dict()
        by_period = [c for r in inst.resources for c in r.cap_by_period.values()]
        self.city_columns = list(dict.fromkeys([*CITY_COLUMNS, *(r.cap for r in inst.resources), *by_period]))
        extra_use = [r.use for r in inst.resources if r.use not in BUILTIN_FACILITY_COLUMNS]
        window = ["earliest", "latest"] if inst.phased else []
        self.facility_columns = list(dict.fromkeys([*FACILITY_COLUMNS, *window, *extra_use]))

        cities = inst.cities
        caps = inst.city_caps.to_numpy(dtype=float) if len(inst.resources) else np.zeros((len(cities), 0))
        self.cities: dict[str, dict[str, Any]] = {}
        columns = [cities[c].tolist() for c in CITY_COLUMNS]
        for i, (cid, values) in enumerate(zip(cities.index, zip(*columns))):
            row = dict(zip(CITY_COLUMNS, values))
            entry = {
                "id": cid, "name": None if row["name"] == cid else row["name"],
                "lon": float(row["lon"]), "lat": float(row["lat"]),
                "tier": row["tier"] or None, "region": row["region"] or None, "cluster": row["cluster"] or None,
                "population": None if math.isnan(row["population"]) else float(row["population"]),
                "cost_index": float(row["cost_index"]),
            }
            for j, r in enumerate(inst.resources):
                entry[r.cap] = None if math.isinf(caps[i, j]) else float(caps[i, j])
                for pid, column in r.cap_by_period.items():
                    value = float(inst.city_caps_by_period[pid].loc[cid, r.id])
                    entry[column] = None if math.isinf(value) else value
            self.cities[cid] = entry

        fac = inst.facilities
        uses = inst.facility_use.to_numpy(dtype=float) if len(inst.resources) else np.zeros((len(fac), 0))
        self.facilities: dict[str, dict[str, Any]] = {}
        self.default_residents: set[str] = set()  # rows whose residents follow jobs x household_factor
        self.explicit_residents: set[str] = set()
        columns = [fac[c].tolist() for c in FACILITY_COLUMNS]
        for i, (fid, values) in enumerate(zip(fac.index, zip(*columns))):
            row = dict(zip(FACILITY_COLUMNS, values))
            entry = {
                "id": fid, "origin": row["origin"], "type": row["type"], "count": int(row["count"]),
                "jobs": float(row["jobs"]), "residents": float(row["residents"]),
                "service_units": float(row["service_units"]), "fixed_cost": float(row["fixed_cost"]),
                "must_move": bool(row["must_move"]),
            }
            if inst.phased:
                entry.update(earliest=fac.at[fid, "earliest"], latest=fac.at[fid, "latest"])
            for j, r in enumerate(inst.resources):
                if r.use not in BUILTIN_FACILITY_COLUMNS:
                    entry[r.use] = float(uses[i, j])
            if entry["residents"] == entry["jobs"] * inst.types[row["type"]].household_factor:
                self.default_residents.add(fid)
            self.facilities[fid] = entry

        use_columns = [f"use_{r.id}" for r in inst.resources]
        self.arcs = _frame_rows(inst.arcs, ["facility", "destination", "cost", *use_columns])
        self.sites = _frame_rows(inst.sites, ["type", "city", "site_cost", "capacity_jobs"])
        distance_columns = ["from", "to", "km"]
        if inst.distances is not None and inst.distances["minutes"].notna().any():
            distance_columns.append("minutes")
        self.distances = _frame_rows(inst.distances, distance_columns)
        self.table_columns = {
            "arcs": ["facility", "destination", "cost", *use_columns],
            "sites": ["type", "city", "site_cost", "capacity_jobs"],
            "distances": distance_columns,
        }

    # -- applying ---------------------------------------------------------------
    def apply(self, changes: Changes, where: str, problems: list[Problem]) -> None:
        def attempt(column: str, value: Any, action: Callable[[], None]) -> None:
            try:
                action()
            except _Bad as bad:
                problems.append(Problem(where, column, shown_value(value), bad.expected))

        for cid in changes.exclude_cities:
            attempt("exclude_cities", cid, partial(self.exclude_city, cid))
        for fid in changes.remove_facilities:
            attempt("remove_facilities", fid, partial(self.remove_facility, fid))
        for number, row in enumerate(changes.add_cities, start=1):
            attempt(f"add_cities #{number}", row.get("id"), partial(self.add_row, "cities", row))
        for number, row in enumerate(changes.add_facilities, start=1):
            attempt(f"add_facilities #{number}", row.get("id"), partial(self.add_row, "facilities", row))
        for key in changes.unset:
            attempt(f"unset {key}", key, partial(self.unset, key))
        for key, value in changes.set:
            attempt(f"set {key}", value, partial(self.set, key, value))
        for key, factor in changes.scale:
            attempt(f"scale {key}", factor, partial(self.scale, key, factor))
        # A facility whose residents were the default (jobs x household_factor)
        # keeps following that rule when its jobs, type or the factor change.
        for fid in self.default_residents - self.explicit_residents:
            if fid in self.facilities:
                self.facilities[fid]["residents"] = None

    def locate(self, key: str, op: str) -> tuple[dict[str, Any], str]:
        head, _, rest = key.partition(".")
        if head == "instance":
            if rest not in INSTANCE_KEYS:
                raise _Bad(f"a key of [instance] ({', '.join(INSTANCE_KEYS)})")
            return self.header, rest
        if head == "policy":
            if rest in ("budget", "max_destination_share"):
                return self.policy, rest
            if rest.startswith("min_region_share.") and len(rest) > len("min_region_share."):
                region = rest[len("min_region_share."):]
                shares = self.policy["min_region_share"]
                if op != "set" and region not in shares:
                    raise _Bad(f"a region with a min_region_share in this instance ({', '.join(shares) or 'none'})")
                return shares, region
            raise _Bad("policy.budget, policy.max_destination_share or policy.min_region_share.<region>")
        if head == "objective":
            name = rest[len("weights."):] if rest.startswith("weights.") else ""
            if name not in WEIGHT_NAMES:
                raise _Bad(f"objective.weights.<component> ({', '.join(WEIGHT_NAMES)})")
            return self.weights, name
        if head == "types":
            type_id, param = _split_id(rest, self.types, "type")
            if param not in TYPE_PARAMETERS:
                raise _Bad(f"a type parameter ({', '.join(TYPE_PARAMETERS)})")
            return self.types[type_id], param
        if head == "sources":
            city, param = _split_id(rest, self.sources, "source city")
            entry = self.sources[city]
            if param.startswith("min_share.") and len(param) > len("min_share."):
                type_id = param[len("min_share."):]
                shares = entry.setdefault("min_share", {})
                if op != "set" and type_id not in shares:
                    raise _Bad(f"a type with a min_share at this source ({', '.join(shares) or 'none'})")
                return shares, type_id
            if param.startswith("milestones.") and len(param) > len("milestones."):  # spec v2: per period id
                period_id = param[len("milestones."):]
                milestones = entry.setdefault("milestones", {})
                if op != "set" and period_id not in milestones:
                    raise _Bad(f"a period with a milestone at this source ({', '.join(milestones) or 'none'})")
                return milestones, period_id
            if param not in SOURCE_PARAMETERS:
                raise _Bad(f"a source parameter ({', '.join(SOURCE_PARAMETERS)} or min_share.<type>)")
            return entry, param
        if head == "cities":
            city, column = _split_id(rest, self.cities, "city")
            if column not in self.city_columns:
                raise _Bad(f"a city column ({', '.join(self.city_columns)})")
            return self.cities[city], column
        if head == "facilities":
            fid, column = _split_id(rest, self.facilities, "facility")
            if column not in self.facility_columns:
                raise _Bad(f"a facility column ({', '.join(self.facility_columns)})")
            if column == "residents":
                self.explicit_residents.add(fid)
            return self.facilities[fid], column
        raise _Bad(f"a key starting with one of: {KEY_HEADS}")

    def is_source(self, container: Mapping[str, Any]) -> bool:
        return any(container is entry for entry in self.sources.values())

    def set(self, key: str, value: Any) -> None:
        container, name = self.locate(key, "set")
        if isinstance(value, tuple):
            value = list(value)  # a list of names (allowed_tiers), kept as a tuple in Changes
        if name in ("target", *TARGET_FORMS) and self.is_source(container):
            for form in TARGET_FORMS:
                container.pop(form, None)
            container["target_reduction" if name == "target" else name] = value
            return
        container[name] = value

    def scale(self, key: str, factor: float) -> None:
        container, name = self.locate(key, "scale")
        if name == "target" and self.is_source(container):
            persons = _target_persons(container)
            for form in TARGET_FORMS:
                container.pop(form, None)
            container["target_reduction"] = persons * factor
            return
        current = container.get(name)
        if current is None:
            raise _Bad("a key with a value to scale (this one has none: its default or no limit applies)")
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise _Bad(f"a numeric key (this one is {current!r})")
        scaled = current * factor
        if isinstance(current, int) and float(scaled).is_integer():
            scaled = int(scaled)
        container[name] = scaled

    def unset(self, key: str) -> None:
        container, name = self.locate(key, "unset")
        if name == "target" and self.is_source(container):
            for form in TARGET_FORMS:
                container.pop(form, None)
            return
        container.pop(name, None)

    def exclude_city(self, cid: str) -> None:
        if cid not in self.cities:
            raise _Bad(f"a city id ({_some(self.cities)})")
        if cid in self.sources:
            raise _Bad("a destination city (this one is a source)")
        del self.cities[cid]
        if self.arcs is not None:
            self.arcs = [r for r in self.arcs if r["destination"] != cid]
        if self.sites is not None:
            self.sites = [r for r in self.sites if r["city"] != cid]
        if self.distances is not None:
            self.distances = [r for r in self.distances if cid not in (r["from"], r["to"])]

    def remove_facility(self, fid: str) -> None:
        if fid not in self.facilities:
            raise _Bad(f"a facility id ({_some(self.facilities)})")
        del self.facilities[fid]
        if self.arcs is not None:
            self.arcs = [r for r in self.arcs if r["facility"] != fid]

    def add_row(self, table: str, row: Mapping[str, Any]) -> None:
        rows: dict[str, dict[str, Any]] = getattr(self, table)
        columns = self.city_columns if table == "cities" else self.facility_columns
        unknown = [k for k in row if k != "id" and k not in columns]
        if unknown:
            raise _Bad(f"known columns only (unknown: {', '.join(unknown)}; known: id, {', '.join(columns)})")
        rid = row.get("id")
        if not isinstance(rid, str) or not rid.strip():
            raise _Bad("an id (text) in every added row")
        if rid in rows:
            raise _Bad(f"a new id ({'a city' if table == 'cities' else 'a facility'} {rid!r} exists)")
        rows[rid] = dict(row)
        if table == "facilities" and row.get("residents") is not None:
            self.explicit_residents.add(rid)

    # -- validating ---------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        policy = {k: v for k, v in self.policy.items() if k != "min_region_share" or v}
        manifest = {
            "instance": dict(self.header),
            "types": [dict(t) for t in self.types.values()],
            "resources": [dict(r) for r in self.resources],
            "sources": [dict(s) for s in self.sources.values()],
            "policy": policy,
            "objective": {"weights": dict(self.weights)},
        }
        if self.periods:
            manifest["periods"] = [dict(p) for p in self.periods]
        if self.travel is not None:
            manifest["travel"] = dict(self.travel)
        return manifest

    def raw_tables(self, label: str) -> dict[str, RawTable]:
        tables = {}
        listing = [
            ("cities", list(self.cities.values()), ["id", *self.city_columns]),
            ("facilities", list(self.facilities.values()), ["id", *self.facility_columns]),
            ("arcs", self.arcs, self.table_columns["arcs"]),
            ("sites", self.sites, self.table_columns["sites"]),
            ("distances", self.distances, self.table_columns["distances"]),
        ]
        for name, rows, columns in listing:
            if rows is None:
                continue
            table = RawTable(name, f"{label} [[{name}]]", columns=list(columns))
            for number, row in enumerate(rows, start=1):
                table.rows.append({c: row.get(c) for c in columns})
                table.row_labels.append(f"#{number}")
            tables[name] = table
        return tables

    def validate(self, label: str) -> Instance:
        """The document as an instance, through every check of the loader; problems located by ``label``."""
        return load_instance_from_data(self.manifest(), self.raw_tables(label), label)


def _type_entry(t: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": t.id}
    if t.allowed_tiers is not None:
        entry["allowed_tiers"] = list(t.allowed_tiers)
    entry.update(
        min_km=t.min_km, same_cluster=t.same_cluster, splittable=t.splittable, household_factor=t.household_factor,
        cost_per_job_km=t.cost_per_job_km, annual_cost_per_job=t.annual_cost_per_job,
        access_cost_per_unit_km=t.access_cost_per_unit_km, requires_site=t.requires_site,
    )
    if math.isfinite(t.max_km):
        entry["max_km"] = t.max_km
    for key in ("min_minutes", "max_minutes"):
        if getattr(t, key) is not None:
            entry[key] = getattr(t, key)
    if t.requires_site:
        entry.update(site_cost=t.site_cost, min_site_jobs=t.min_site_jobs, min_sites=int(t.min_sites))
        if math.isfinite(t.site_capacity_jobs):
            entry["site_capacity_jobs"] = t.site_capacity_jobs
        if math.isfinite(t.max_sites):
            entry["max_sites"] = int(t.max_sites)
    return entry


def _source_entry(src: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"city": src.city, src.target_form: src.target_value, "soft": src.soft,
                             "shortfall_penalty": src.shortfall_penalty, "min_share": dict(src.min_share)}
    if src.milestones:
        entry["milestones"] = dict(src.milestones)
    if src.core_population is not None:
        entry["core_population"] = src.core_population
    if src.core_area_km2 is not None:
        entry["core_area_km2"] = src.core_area_km2
    return entry


def _target_persons(entry: Mapping[str, Any]) -> float:
    """T_s of a source entry (spec §3), for scaling ``sources.<city>.target``."""
    def number(key: str) -> float:
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Bad(f"a source whose {key} is a number (it is {value!r})")
        return float(value)

    if "target_reduction" in entry:
        return number("target_reduction")
    if "target_reduction_pct" in entry:
        return number("core_population") * number("target_reduction_pct") / 100.0
    if "target_density" in entry:
        return max(0.0, number("core_population") - number("target_density") * number("core_area_km2"))
    raise _Bad("a source with a target to scale")


def _frame_rows(frame: pd.DataFrame | None, columns: list[str]) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    rows = []
    for values in frame[columns].itertuples(index=False, name=None):
        rows.append({c: plain_value(v) for c, v in zip(columns, values)})
    return rows


def _split_id(rest: str, ids: Iterable[str], what: str) -> tuple[str, str]:
    """Split ``<id>.<parameter>`` where the id itself may hold dots: the longest known id wins."""
    best = None
    for candidate in ids:
        if rest.startswith(candidate + ".") and len(rest) > len(candidate) + 1:
            if best is None or len(candidate) > len(best):
                best = candidate
    if best is None:
        head = rest.split(".", 1)[0]
        if head in ids and "." not in rest:
            raise _Bad(f"<{what} id>.<parameter> (no parameter after {head!r})")
        raise _Bad(f"a known {what} id ({_some(ids)})")
    return best, rest[len(best) + 1:]


def _some(ids: Iterable[str], limit: int = 12) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:limit])
    return (shown + f", ... {len(ids) - limit} more") if len(ids) > limit else (shown or "none")


def plain_value(value: Any) -> Any:
    """numpy and pandas scalars as Python ones; NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA:
        return None
    return value


def shown_value(value: Any) -> Any:
    """How a problem shows a value: a table or a long list by its kind."""
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)) and len(value) > 5:
        return "a list"
    return value
