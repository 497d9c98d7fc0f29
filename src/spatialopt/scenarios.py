"""What-if studies: scenarios as data, sweeps, plan diffs and a cost–residents Pareto front.

Scenarios
    A scenario is a set of *changes* to a base instance: set, scale or unset a
    value (``policy.budget``, ``sources.<city>.target``, ``types.<id>.max_km``,
    ``cities.<id>.<cap column>``, ``facilities.<id>.<column>``, ...), exclude or
    add cities, remove or add facility rows. :func:`apply_changes` (and
    :meth:`Instance.with_changes <spatialopt.instance.Instance.with_changes>`)
    writes the instance back into manifest entries and table rows, applies the
    changes there and runs the *loader's own validation* over the result, so a
    changed instance obeys exactly the rules of a loaded one. An unknown key,
    id or column is an :class:`~spatialopt.errors.InstanceError` with located
    problems, like any bad input. :func:`load_scenarios` reads a scenario file
    (TOML, format in ``docs/scenarios.md``).

    The changed instance's ``sha256`` is ``sha256("spatialopt-changes-v1\\n" +
    base sha256 + "\\n" + canonical JSON of the changes)``, so two runs of the
    same scenario on the same base files carry the same hash, and any other
    change gives another one.

Sweeps
    :func:`run_sweep` solves the base and every scenario, on a local process
    pool (``workers``), in this process (``workers=1``) or on a Dask cluster
    (``scheduler="tcp://host:port"``), and compares them (:class:`Sweep`).
    Instances travel to workers pickled (a frozen dataclass of DataFrames):
    each is built and validated here, so a bad scenario fails before any solve,
    and workers need no access to the instance files. Every task solves with
    ``threads=1`` unless told otherwise: tasks run side by side, and one thread
    each keeps HiGHS from oversubscribing the cores and the runs reproducible
    whatever runs them.

Diffs
    :func:`diff_plans` compares two plans (result folders, ``Result`` objects
    or solution records): facilities that move elsewhere, start or stop moving,
    sites opened or closed, cost components and per-source figures.

Pareto front
    :func:`pareto_front` traces total cost against residents moved out of the
    cores by the ε-constraint method: every (or one) source's target ``T_s`` is
    scaled by λ from 0 to the largest λ any plan reaches, each scaled target
    made hard. It builds ONE model and one persistent HiGHS solver: the target
    rows' right-hand sides are mutable parameters, so a new point only changes
    row bounds in HiGHS (no rebuild), and every point starts from its upper
    neighbour's plan (``Highs.setSolution``), which is feasible for it. Points
    are solved from the largest λ down, so each point's cost is at most its
    neighbour's by construction (a point that still came out dearer takes the
    neighbour's plan). ``bench/bench_pareto.py`` measures the gain.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InstanceError, Problem, SpatialoptError
from .instance import BUILTIN_FACILITY_COLUMNS, WEIGHT_NAMES, Instance
from .solve import SolveStatus

if TYPE_CHECKING:
    from .derive import Derived
    from .results import Result
    from .solve import SolverRun

__all__ = [
    "Changes",
    "ParetoFront",
    "PlanDiff",
    "Scenario",
    "ScenarioSet",
    "Sweep",
    "SweepOutcome",
    "apply_changes",
    "changed_sha256",
    "diff_plans",
    "load_scenarios",
    "pareto_front",
    "parse_changes",
    "run_sweep",
]

# ============================================================================ changes

CHANGE_KEYS = ("set", "scale", "unset", "exclude_cities", "add_cities", "remove_facilities", "add_facilities")
SCENARIO_KEYS = {"name", "description", *CHANGE_KEYS}
FILE_KEYS = {"base", "description", "scenarios"}
BASE_NAME = "base"  # the sweep's name for the unchanged instance; no scenario may take it
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

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


@dataclass(frozen=True)
class Changes:
    """The changes of one scenario, normalised (keys sorted, values plain).

    ``set`` and ``scale`` map dotted keys to values (``scale``: factors >= 0),
    ``unset`` lists keys whose default then applies, and the row lists add or
    remove table rows. Build one with :func:`parse_changes`.
    """

    set: tuple[tuple[str, Any], ...] = ()
    scale: tuple[tuple[str, float], ...] = ()
    unset: tuple[str, ...] = ()
    exclude_cities: tuple[str, ...] = ()
    add_cities: tuple[Mapping[str, Any], ...] = ()
    remove_facilities: tuple[str, ...] = ()
    add_facilities: tuple[Mapping[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The changes as plain data (the scenario-file form), empty parts left out."""
        out: dict[str, Any] = {}
        if self.set:
            out["set"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.set}
        if self.scale:
            out["scale"] = dict(self.scale)
        if self.unset:
            out["unset"] = list(self.unset)
        for name in ("exclude_cities", "remove_facilities"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        for name in ("add_cities", "add_facilities"):
            if getattr(self, name):
                out[name] = [dict(row) for row in getattr(self, name)]
        return out

    def canonical(self) -> str:
        """Canonical JSON of the changes: what the changed instance's sha256 hashes."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    def __bool__(self) -> bool:
        return bool(self.as_dict())


def changed_sha256(base_sha256: str, changes: Changes) -> str:
    """The sha256 of an instance changed by ``changes`` (see the module docstring)."""
    h = hashlib.sha256(b"spatialopt-changes-v1\n")
    h.update(base_sha256.encode("ascii"))
    h.update(b"\n")
    h.update(changes.canonical().encode("utf-8"))
    return h.hexdigest()


def parse_changes(data: Mapping[str, Any] | Changes | None = None, *, where: str = "with_changes", **kwargs: Any) -> Changes:
    """Check the shape of a change description and normalise it into :class:`Changes`.

    ``data`` has the keys of a scenario (``set``, ``scale``, ``unset``,
    ``exclude_cities``, ``add_cities``, ``remove_facilities``,
    ``add_facilities``); keyword arguments add to it. Nested tables in ``set``
    and ``scale`` are flattened into dotted keys (``{"policy": {"budget": 1}}``
    is ``{"policy.budget": 1}``). Raises :class:`InstanceError` listing every
    problem.
    """
    if isinstance(data, Changes) and not kwargs:
        return data
    merged: dict[str, Any] = dict(data.as_dict() if isinstance(data, Changes) else (data or {}))
    for key, value in kwargs.items():
        merged[key] = value
    problems: list[Problem] = []
    changes = _parse_changes(merged, where, problems, allowed=set(CHANGE_KEYS))
    if problems:
        raise InstanceError(problems, where)
    return changes


def _parse_changes(data: Mapping[str, Any], where: str, problems: list[Problem], allowed: set[str]) -> Changes:
    for key in data:
        if key not in allowed:
            problems.append(Problem(where, key, _short(data[key]), f"a known key (one of {', '.join(sorted(allowed))})"))
    set_items = _flat_table(data.get("set"), "set", where, problems)
    scale_items = _flat_table(data.get("scale"), "scale", where, problems)
    for key, value in list(set_items.items()):
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            problems.append(Problem(where, f"set {key}", value, "a single value, or a list of names (allowed_tiers)"))
            del set_items[key]
        elif isinstance(value, list):
            set_items[key] = tuple(value)
    for key, value in list(scale_items.items()):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            problems.append(Problem(where, f"scale {key}", value, "a factor: a finite number >= 0"))
            del scale_items[key]
        else:
            scale_items[key] = float(value)
    unset = _name_list(data.get("unset"), "unset", where, problems)
    for key in sorted(set(set_items) & set(scale_items)):
        problems.append(Problem(where, f"scale {key}", scale_items[key], "each key changed once per scenario (it is also set)"))
    for key in sorted(set(unset) & (set(set_items) | set(scale_items))):
        problems.append(Problem(where, f"unset {key}", key, "each key changed once per scenario (it is also set or scaled)"))
    target_keys: dict[str, list[str]] = {}
    for key in [*set_items, *scale_items, *unset]:
        head, _, rest = key.partition(".")
        if head == "sources":
            for form in SOURCE_PARAMETERS[:4]:
                if rest.endswith("." + form):
                    target_keys.setdefault(rest[: -len(form) - 1], []).append(key)
    for city, keys in target_keys.items():
        if len(keys) > 1:
            problems.append(Problem(where, ", ".join(sorted(keys)), None,
                                    f"one change to source {city!r}'s target per scenario (its forms replace each other)"))
    return Changes(
        set=tuple(sorted(set_items.items())),
        scale=tuple(sorted(scale_items.items())),
        unset=tuple(sorted(dict.fromkeys(unset))),
        exclude_cities=tuple(_name_list(data.get("exclude_cities"), "exclude_cities", where, problems)),
        add_cities=tuple(_row_list(data.get("add_cities"), "add_cities", where, problems)),
        remove_facilities=tuple(_name_list(data.get("remove_facilities"), "remove_facilities", where, problems)),
        add_facilities=tuple(_row_list(data.get("add_facilities"), "add_facilities", where, problems)),
    )


def _flat_table(value: Any, name: str, where: str, problems: list[Problem]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem(where, name, _short(value), f"a table of key = value ({name} = {{ \"policy.budget\" = ... }})"))
        return {}
    out: dict[str, Any] = {}

    def walk(prefix: str, table: Mapping[str, Any]) -> None:
        for key, item in table.items():
            if not isinstance(key, str) or key == "":
                problems.append(Problem(where, name, key, "dotted keys (text)"))
                continue
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(item, Mapping):
                walk(path, item)
            else:
                out[path] = _plain(item)

    walk("", value)
    return out


def _name_list(value: Any, name: str, where: str, problems: list[Problem]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) and v for v in value):
        problems.append(Problem(where, name, _short(value), "a list of ids (text)"))
        return []
    return list(value)


def _row_list(value: Any, name: str, where: str, problems: list[Problem]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, Mapping) or not isinstance(value, Sequence) or not all(isinstance(v, Mapping) for v in value):
        problems.append(Problem(where, name, _short(value), f"a list of rows ([[...{name}]] tables of column = value)"))
        return []
    rows = []
    for number, row in enumerate(value, start=1):
        clean = {}
        for key, item in row.items():
            item = _plain(item)
            if isinstance(item, (Mapping, list, tuple)):
                problems.append(Problem(where, f"{name} #{number}", key, "a single value per column"))
                continue
            clean[str(key)] = item
        rows.append(clean)
    return rows


def apply_changes(instance: Instance, changes: Mapping[str, Any] | Changes | None = None, *,
                  label: str = "with_changes", **kwargs: Any) -> Instance:
    """A new, validated :class:`Instance`: ``instance`` with ``changes`` applied.

    ``changes`` (and keyword arguments) take the scenario keys (see
    :func:`parse_changes`). The instance is written back into manifest entries
    and table rows, changed there, and validated by the loader; every problem
    is reported at once, located by ``label`` (``scenarios.toml [scenario 'x']``),
    key, value and what was expected.
    """
    problems: list[Problem] = []
    if isinstance(changes, Changes) and not kwargs:
        parsed = changes
    else:
        merged = dict(changes.as_dict() if isinstance(changes, Changes) else (changes or {}))
        merged.update(kwargs)
        parsed = _parse_changes(merged, label, problems, allowed=set(CHANGE_KEYS))
    document = _Document(instance)
    document.apply(parsed, label, problems)
    if problems:
        raise InstanceError(problems, label)
    changed = document.validate(label)
    warnings = tuple(dict.fromkeys([*instance.warnings, *changed.warnings]))
    return replace(changed, sha256=changed_sha256(instance.sha256, parsed), warnings=warnings)


class _Bad(Exception):
    """A change that names something unknown; ``expected`` says what would do."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


class _Document:
    """An instance as manifest entries and table rows (plain values), to be changed and re-validated."""

    def __init__(self, inst: Instance) -> None:
        self.header: dict[str, Any] = {"name": inst.name, "horizon_years": inst.horizon_years}
        if inst.description:
            self.header["description"] = inst.description
        if inst.cost_unit:
            self.header["cost_unit"] = inst.cost_unit
        self.types = {k: _type_entry(t) for k, t in inst.types.items()}
        self.resources = [{"id": r.id, "use": r.use, "cap": r.cap} for r in inst.resources]
        self.sources = {s: _source_entry(src) for s, src in inst.sources.items()}
        self.policy: dict[str, Any] = {"min_region_share": dict(inst.policy.min_region_share)}
        if inst.policy.budget is not None:
            self.policy["budget"] = inst.policy.budget
        if inst.policy.max_destination_share is not None:
            self.policy["max_destination_share"] = inst.policy.max_destination_share
        self.weights = inst.weights.as_dict()
        self.city_columns = list(dict.fromkeys([*CITY_COLUMNS, *(r.cap for r in inst.resources)]))
        extra_use = [r.use for r in inst.resources if r.use not in BUILTIN_FACILITY_COLUMNS]
        self.facility_columns = list(dict.fromkeys([*FACILITY_COLUMNS, *extra_use]))

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
            for j, r in enumerate(inst.resources):
                if r.use not in BUILTIN_FACILITY_COLUMNS:
                    entry[r.use] = float(uses[i, j])
            if entry["residents"] == entry["jobs"] * inst.types[row["type"]].household_factor:
                self.default_residents.add(fid)
            self.facilities[fid] = entry

        use_columns = [f"use_{r.id}" for r in inst.resources]
        self.arcs = _frame_rows(inst.arcs, ["facility", "destination", "cost", *use_columns])
        self.sites = _frame_rows(inst.sites, ["type", "city", "site_cost", "capacity_jobs"])
        self.distances = _frame_rows(inst.distances, ["from", "to", "km"])
        self.table_columns = {
            "arcs": ["facility", "destination", "cost", *use_columns],
            "sites": ["type", "city", "site_cost", "capacity_jobs"],
            "distances": ["from", "to", "km"],
        }

    # -- applying ---------------------------------------------------------------
    def apply(self, changes: Changes, where: str, problems: list[Problem]) -> None:
        def attempt(column: str, value: Any, action: Callable[[], None]) -> None:
            try:
                action()
            except _Bad as bad:
                problems.append(Problem(where, column, _short(value), bad.expected))

        for cid in changes.exclude_cities:
            attempt("exclude_cities", cid, lambda cid=cid: self.exclude_city(cid))
        for fid in changes.remove_facilities:
            attempt("remove_facilities", fid, lambda fid=fid: self.remove_facility(fid))
        for number, row in enumerate(changes.add_cities, start=1):
            attempt(f"add_cities #{number}", row.get("id"), lambda row=row: self.add_row("cities", row))
        for number, row in enumerate(changes.add_facilities, start=1):
            attempt(f"add_facilities #{number}", row.get("id"), lambda row=row: self.add_row("facilities", row))
        for key in changes.unset:
            attempt(f"unset {key}", key, lambda key=key: self.unset(key))
        for key, value in changes.set:
            attempt(f"set {key}", value, lambda key=key, value=value: self.set(key, value))
        for key, factor in changes.scale:
            attempt(f"scale {key}", factor, lambda key=key, factor=factor: self.scale(key, factor))
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
        return {
            "instance": dict(self.header),
            "types": [dict(t) for t in self.types.values()],
            "resources": [dict(r) for r in self.resources],
            "sources": [dict(s) for s in self.sources.values()],
            "policy": policy,
            "objective": {"weights": dict(self.weights)},
        }

    def raw_tables(self, label: str) -> dict[str, Any]:
        from .tables import RawTable

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
        from .validate import _Loader

        document = self

        class _DocumentLoader(_Loader):  # type: ignore[misc, valid-type]
            def read_tables(self) -> dict[str, Any]:
                return document.raw_tables(label)

        return _DocumentLoader(Path(label), label, self.manifest(), b"").run()


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
        rows.append({c: _plain(v) for c, v in zip(columns, values)})
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


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as Python ones; NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA:
        return None
    return value


def _short(value: Any) -> Any:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)) and len(value) > 5:
        return "a list"
    return value


# ============================================================================ scenario files


@dataclass(frozen=True)
class Scenario:
    """One named scenario of a scenario file."""

    name: str
    changes: Changes
    description: str = ""
    where: str = ""  # how messages name it: "study.toml [scenario 'budget-cut']"


@dataclass(frozen=True)
class ScenarioSet:
    """A scenario file: an optional base instance and named scenarios, in file order."""

    path: Path
    base: Path | None
    scenarios: tuple[Scenario, ...]
    description: str = ""

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    def instances(self, base: Instance) -> dict[str, Instance]:
        """Every scenario applied to ``base``, validated; one InstanceError listing every problem."""
        out: dict[str, Instance] = {}
        problems: list[Problem] = []
        for scenario in self.scenarios:
            try:
                out[scenario.name] = apply_changes(base, scenario.changes, label=scenario.where)
            except InstanceError as exc:
                problems.extend(exc.problems)
        if problems:
            raise InstanceError(problems, self.path.name)
        return out


def load_scenarios(path: str | Path) -> ScenarioSet:
    """Read a scenario file (TOML, see ``docs/scenarios.md``); raises InstanceError listing every problem.

    The ids and keys the changes name are checked when the scenarios are
    applied to an instance (:meth:`ScenarioSet.instances`).
    """
    path = Path(path)
    label = path.name
    if not path.is_file():
        raise InstanceError([Problem(str(path), None, None, "file not found")], label)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InstanceError([Problem(label, None, None, f"not UTF-8 text (byte {exc.start})")], label) from None
    except tomllib.TOMLDecodeError as exc:
        raise InstanceError([Problem(label, None, None, f"not valid TOML: {exc}")], label) from None
    problems: list[Problem] = []
    for key in data:
        if key not in FILE_KEYS:
            problems.append(Problem(label, key, _short(data[key]), f"a known key (one of {', '.join(sorted(FILE_KEYS))})"))
    base = data.get("base")
    base_path = None
    if base is not None:
        if not isinstance(base, str) or not base.strip():
            problems.append(Problem(label, "base", base, "the base instance's manifest, a path relative to this file"))
        else:
            base_path = (path.parent / base).resolve()
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(Problem(label, "description", description, "text"))
        description = ""
    entries = data.get("scenarios")
    scenarios: list[Scenario] = []
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        problems.append(Problem(label, "scenarios", _short(entries), "one or more [[scenarios]] tables"))
        entries = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        raw = entry.get("name")
        where = f"{label} [[scenarios]] #{number}" + (f" (name {raw!r})" if isinstance(raw, str) else "")
        name = raw if isinstance(raw, str) else ""
        if not isinstance(raw, str) or not NAME_PATTERN.match(raw):
            problems.append(Problem(where, "name", raw, "a name of letters, digits, '.', '-' or '_' (it names a folder)"))
        elif raw == BASE_NAME:
            problems.append(Problem(where, "name", raw, f"a name other than {BASE_NAME!r} (the sweep's name for the base)"))
        elif raw in seen:
            problems.append(Problem(where, "name", raw, "a unique scenario name (this one repeats)"))
        seen.add(name)
        text = entry.get("description", "")
        if not isinstance(text, str):
            problems.append(Problem(where, "description", text, "text"))
            text = ""
        scenario_where = f"{label} [scenario {name!r}]" if name else where
        changes = _parse_changes({k: v for k, v in entry.items() if k not in ("name", "description")},
                                 scenario_where, problems, allowed=set(CHANGE_KEYS))
        scenarios.append(Scenario(name=name, changes=changes, description=text, where=scenario_where))
    if problems:
        raise InstanceError(problems, label)
    return ScenarioSet(path=path, base=base_path, scenarios=tuple(scenarios), description=description)


# ============================================================================ running tasks


def default_workers() -> int:
    """Worker processes by default: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def task_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """HiGHS options for one task of a sweep or a front: ``threads = 1`` unless set."""
    from .api import solver_options

    chosen = dict(solver_options() if options is None else options)
    chosen.setdefault("threads", 1)
    return chosen


def _ignore_sigint() -> None:
    """Pool workers ignore Ctrl-C while idle; during a solve, solve.py's handler stops HiGHS cleanly."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_tasks(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *, workers: int | None = None,
              scheduler: str | None = None,
              on_done: Callable[[int, Any, BaseException | None], bool | None] | None = None,
              ) -> list[tuple[Any, BaseException | None]]:
    """Run ``fn(*task)`` for every task: in this process, on a process pool or on a Dask cluster.

    Returns ``(value, exception)`` per task, in task order; ``on_done(index,
    value, exception)`` is called as each finishes and may return True to
    start no further task. ``workers=1`` (or a single task) runs here; more use
    a ``spawn`` process pool (a fork would copy HiGHS's thread pool in a
    broken state) fed one task per free worker, so that nothing waits in a
    queue where it could no longer be cancelled; ``scheduler`` sends the tasks
    to the Dask scheduler at that address. A first Ctrl-C starts no further
    task and waits for the running ones, which got the Ctrl-C too and stop with
    their best plan (solve.py's handler); tasks never started are reported
    with a KeyboardInterrupt.
    """
    out: list[tuple[Any, BaseException | None]] = [(None, None)] * len(tasks)
    state = {"stop": False}

    def finish(i: int, value: Any, exc: BaseException | None) -> None:
        out[i] = (value, exc)
        if on_done is not None and on_done(i, value, exc):
            state["stop"] = True

    if scheduler:
        _run_on_dask(fn, tasks, scheduler, finish)
        return out
    workers = default_workers() if workers is None else workers
    waiting = list(enumerate(tasks))
    if workers <= 1 or len(tasks) <= 1:
        while waiting and not state["stop"]:
            i, task = waiting.pop(0)
            try:
                value = fn(*task)
            except Exception as exc:
                finish(i, None, exc)
                continue
            finish(i, value, None)
    else:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        size = min(workers, len(tasks))
        pool = ProcessPoolExecutor(max_workers=size, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_ignore_sigint)
        pending: dict[Any, int] = {}
        try:
            while waiting or pending:
                while waiting and len(pending) < size and not state["stop"]:
                    i, task = waiting.pop(0)
                    pending[pool.submit(fn, *task)] = i
                if not pending:
                    break
                try:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    if state["stop"]:
                        raise
                    state["stop"] = True
                    continue
                for future in done:
                    i = pending.pop(future)
                    if future.exception() is not None:
                        finish(i, None, future.exception())
                    else:
                        finish(i, future.result(), None)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    for i, _task in waiting:
        finish(i, None, KeyboardInterrupt("interrupted before it started"))
    return out


DASK_CONNECT_TIMEOUT = "10s"  # how long to wait for the scheduler before giving up


def _run_on_dask(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], address: str,
                 finish: Callable[[int, Any, BaseException | None], None]) -> None:
    """Submit every task to the Dask scheduler at ``address``; report each as it completes.

    The client is never made the process's default client (a notebook's own
    client stays untouched): completion is signalled through future callbacks.
    """
    import queue

    try:
        from distributed import Client
    except ImportError as exc:
        raise SpatialoptError(f"--scheduler needs Dask distributed ({exc}); install it with: pip install 'spatialopt[dask]'") from exc
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SpatialoptError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    with client:
        completed: queue.Queue[int] = queue.Queue()
        futures = [client.submit(fn, *task, pure=False) for task in tasks]
        for i, future in enumerate(futures):
            future.add_done_callback(lambda _f, i=i: completed.put(i))
        reported: set[int] = set()
        try:
            for _ in futures:
                while True:
                    try:
                        i = completed.get(timeout=0.2)  # a timeout keeps Ctrl-C responsive
                        break
                    except queue.Empty:
                        continue
                future = futures[i]
                reported.add(i)
                if future.status == "error":
                    finish(i, None, future.exception())
                elif future.status == "cancelled":
                    finish(i, None, KeyboardInterrupt("cancelled"))
                else:
                    finish(i, future.result(), None)
        except KeyboardInterrupt:
            # Dask cannot stop a running task: every unfinished one is cancelled
            # (its result dropped) and reported as interrupted.
            client.cancel([f for i, f in enumerate(futures) if i not in reported])
            for i in range(len(futures)):
                if i not in reported:
                    finish(i, None, KeyboardInterrupt("interrupted"))


# ============================================================================ sweeps


@dataclass
class SweepOutcome:
    """One run of a sweep: the base or a scenario."""

    name: str
    status: SolveStatus
    result: Result | None
    error: str = ""  # why there is no result (an exception in the task)
    seconds: float = 0.0  # wall time of the solve, in the worker
    changes: Changes | None = None  # None for the base


def _solve_task(name: str, instance: Instance, options: dict[str, Any], builder: str = "matrix") -> tuple[Result, float]:
    """One sweep task (runs in a worker): solve ``instance`` with HiGHS ``options``."""
    from .api import solve

    started = time.perf_counter()
    result = solve(instance, highs_options=options, builder=builder)
    return result, time.perf_counter() - started


STATUS_SEVERITY = (SolveStatus.ERROR, SolveStatus.INFEASIBLE, SolveStatus.UNBOUNDED, SolveStatus.LIMIT_NO_SOLUTION)


def worst_exit_code(statuses: Iterable[SolveStatus]) -> int:
    """0 when every run has a plan, else the exit code of the worst status (error, infeasible/unbounded, limit)."""
    present = set(statuses)
    for status in STATUS_SEVERITY:
        if status in present:
            return status.exit_code
    return 0


@dataclass
class Sweep:
    """The base and every scenario solved, with their comparison."""

    base: Instance
    outcomes: dict[str, SweepOutcome]  # the base first, then scenarios in file order
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return worst_exit_code(o.status for o in self.outcomes.values())

    @property
    def comparison(self) -> pd.DataFrame:
        """One row per run: status, objective and components, per-source figures, sites, changes vs the base."""
        base = self.outcomes.get(BASE_NAME)
        base_plan = _plan_of(base.result.to_solution_dict()) if base and base.result and base.status.has_solution else None
        rows = []
        for name, o in self.outcomes.items():
            row: dict[str, Any] = {"scenario": name, "status": o.status.value}
            r = o.result
            solved = r is not None and r.status.has_solution
            row["objective"] = r.objective if solved else None
            row["gap"] = r.gap if solved else None
            for c in WEIGHT_NAMES:
                row[c] = r.components[c] if solved and r.components else None
            src = r.sources.set_index("city") if solved else None
            for s in self.base.sources:
                has = src is not None and s in src.index
                row[f"moved_{s}"] = float(src.loc[s, "moved_residents"]) if has else None
                after = src.loc[s, "density_after"] if has else None
                row[f"density_after_{s}"] = None if after is None or pd.isna(after) else float(after)
            row["sites_opened"] = int(np.count_nonzero(r.opened)) if solved else None
            if solved and base_plan is not None:
                changed = _changed_facilities(base_plan, _plan_of(r.to_solution_dict()))
                row["destinations_changed"] = len(changed)
                row["changed_facilities"] = ";".join(changed)
            else:
                row["destinations_changed"] = None
                row["changed_facilities"] = ""
            row["seconds"] = round(o.seconds, 3)
            row["note"] = o.error or ("; ".join(r.reasons) if r is not None else "")
            rows.append(row)
        frame = pd.DataFrame(rows)
        numbers = ["objective", "gap", *WEIGHT_NAMES, *(c for c in frame.columns if c.startswith(("moved_", "density_")))]
        return frame.astype({**{c: float for c in numbers}, "sites_opened": "Int64", "destinations_changed": "Int64"})

    def comparison_text(self) -> str:
        table = self.comparison.drop(columns=["changed_facilities", "note"])
        return table.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:,.2f}")

    def write(self, out_dir: str | Path, *, force: bool = False) -> Path:
        """Write ``out_dir/<run>/`` (result folders), ``comparison.csv`` and ``sweep.json``, atomically."""
        def fill(folder: Path) -> None:
            for name, o in self.outcomes.items():
                if o.result is None:
                    continue
                written = o.result.write(folder / name, force=True)
                record = {"scenario": name, "base_sha256": self.base.sha256,
                          "instance_sha256": o.result.instance.sha256,
                          "changes": o.changes.as_dict() if o.changes is not None else {}}
                (written / "scenario.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
            self.comparison.to_csv(folder / "comparison.csv", index=False)
            summary = {"instance": self.base.name, "instance_sha256": self.base.sha256, "options": self.options,
                       "runs": {n: {"status": o.status.value, "error": o.error} for n, o in self.outcomes.items()}}
            (folder / "sweep.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")

        return _write_folder(Path(out_dir), force, fill)


def run_sweep(base: Instance, scenarios: Mapping[str, Instance] | ScenarioSet, *, workers: int | None = None,
              scheduler: str | None = None, options: Mapping[str, Any] | None = None, builder: str = "matrix",
              on_result: Callable[[int, int, SweepOutcome], None] | None = None) -> Sweep:
    """Solve the base and every scenario; ``on_result(done, total, outcome)`` reports each as it finishes.

    ``scenarios`` is a :class:`ScenarioSet` (applied to ``base`` here) or
    changed instances by name. ``options`` are HiGHS options (see
    :func:`spatialopt.solver_options`; default profile when None), with
    ``threads = 1`` unless they set it. A scenario whose solve ended with an
    interrupt stops the sweep: the runs not started are reported
    ``limit_no_solution`` with the note "interrupted".
    """
    changes: dict[str, Changes | None] = {BASE_NAME: None}
    if isinstance(scenarios, ScenarioSet):
        instances = scenarios.instances(base)
        changes.update({s.name: s.changes for s in scenarios.scenarios})
    else:
        instances = dict(scenarios)
        for name in instances:
            if name == BASE_NAME:
                raise ValueError(f"a scenario may not be named {BASE_NAME!r}")
            changes[name] = None
    runs = {BASE_NAME: base, **instances}
    chosen = task_options(options)
    workers = default_workers() if workers is None else workers
    names = list(runs)
    outcomes: dict[str, SweepOutcome] = {}

    def done(i: int, value: Any, exc: BaseException | None) -> bool:
        name = names[i]
        if exc is not None:
            interrupted = isinstance(exc, KeyboardInterrupt)
            outcome = SweepOutcome(name, SolveStatus.LIMIT_NO_SOLUTION if interrupted else SolveStatus.ERROR, None,
                                   error="interrupted" if interrupted else f"{type(exc).__name__}: {exc}",
                                   changes=changes.get(name))
        else:
            result, seconds = value
            outcome = SweepOutcome(name, result.status, result, seconds=seconds, changes=changes.get(name))
        outcomes[name] = outcome
        if on_result is not None:
            on_result(len(outcomes), len(names), outcome)
        # A solve stopped by Ctrl-C ends the sweep: start no further run.
        return outcome.result is not None and outcome.result.termination == "interrupted"

    tasks = [(name, runs[name], chosen, builder) for name in names]
    run_tasks(_solve_task, tasks, workers=workers, scheduler=scheduler, on_done=done)
    ordered = {name: outcomes[name] for name in names if name in outcomes}
    return Sweep(base=base, outcomes=ordered, options=chosen)


def _write_folder(out_dir: Path, force: bool, fill: Callable[[Path], None]) -> Path:
    """Fill a hidden staging folder, then move it to ``out_dir`` (or a free ``out_dir-N``)."""
    from .output import _replace_folder, free_folder

    target = free_folder(out_dir, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fill(staging)
        _replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


# ============================================================================ plan diffs


def _plan_of(solution: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """facility -> {destination: units} of a solution record."""
    plan: dict[str, dict[str, float]] = {}
    for a in solution.get("assignments") or []:
        by_dest = plan.setdefault(str(a["facility"]), {})
        by_dest[str(a["destination"])] = by_dest.get(str(a["destination"]), 0.0) + float(a["units"])
    return plan


def _same_units(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 1e-6 * max(1.0, abs(a[k])) for k in a)


def _changed_facilities(a: Mapping[str, Mapping[str, float]], b: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Facilities whose destinations (or units per destination) differ between two plans."""
    return [f for f in dict.fromkeys([*a, *b]) if not _same_units(a.get(f, {}), b.get(f, {}))]


def _where_to(plan: Mapping[str, float]) -> str:
    if not plan:
        return "-"
    return " + ".join(d if abs(u - 1.0) < 1e-9 else f"{d} ({u:g})" for d, u in sorted(plan.items()))


@dataclass
class PlanDiff:
    """What changed from plan A to plan B."""

    a_label: str
    b_label: str
    a: dict[str, Any]  # solution records (spec §5)
    b: dict[str, Any]
    facility_info: dict[str, tuple[str, str]] = field(default_factory=dict)  # facility -> (type, origin), when known

    @property
    def components(self) -> pd.DataFrame:
        ca, cb = self.a.get("components") or {}, self.b.get("components") or {}
        rows = [{"component": "objective", "a": self.a.get("objective"), "b": self.b.get("objective")}]
        rows += [{"component": c, "a": ca.get(c), "b": cb.get(c)} for c in WEIGHT_NAMES]
        frame = pd.DataFrame(rows, columns=["component", "a", "b"])
        frame["delta"] = [_delta(x, y) for x, y in zip(frame["a"], frame["b"])]
        return frame

    @property
    def sources(self) -> pd.DataFrame:
        sa = {s["city"]: s for s in self.a.get("sources") or []}
        sb = {s["city"]: s for s in self.b.get("sources") or []}
        rows = []
        for city in dict.fromkeys([*sa, *sb]):
            for measure in ("target", "moved_residents", "shortfall", "density_after"):
                x, y = sa.get(city, {}).get(measure), sb.get(city, {}).get(measure)
                rows.append({"city": city, "measure": measure, "a": x, "b": y, "delta": _delta(x, y)})
        return pd.DataFrame(rows, columns=["city", "measure", "a", "b", "delta"])

    @property
    def facilities(self) -> pd.DataFrame:
        """Facilities that move elsewhere, start or stop moving, or move other units."""
        pa, pb = _plan_of(self.a), _plan_of(self.b)
        rows = []
        for f in _changed_facilities(pa, pb):
            xa, xb = pa.get(f, {}), pb.get(f, {})
            if not xa:
                change = "starts moving"
            elif not xb:
                change = "stops moving"
            elif xa.keys() != xb.keys():
                change = "moves elsewhere"
            else:
                change = "units change"
            kind, origin = self.facility_info.get(f, ("", ""))
            rows.append({"facility": f, "type": kind, "origin": origin, "change": change,
                         "a": _where_to(xa), "b": _where_to(xb)})
        return pd.DataFrame(rows, columns=["facility", "type", "origin", "change", "a", "b"])

    @property
    def sites(self) -> pd.DataFrame:
        sa = {(s["type"], s["city"]) for s in self.a.get("sites") or []}
        sb = {(s["type"], s["city"]) for s in self.b.get("sites") or []}
        rows = [{"type": t, "city": c, "change": "opened"} for t, c in sorted(sb - sa)]
        rows += [{"type": t, "city": c, "change": "closed"} for t, c in sorted(sa - sb)]
        return pd.DataFrame(rows, columns=["type", "city", "change"])

    @property
    def unchanged(self) -> bool:
        return self.facilities.empty and self.sites.empty

    def to_frame(self) -> pd.DataFrame:
        """Every difference as one long table: section, item, change, a, b, delta."""
        rows = []
        for r in self.components.itertuples():
            rows.append({"section": "component", "item": r.component, "change": "", "a": r.a, "b": r.b, "delta": r.delta})
        for r in self.sources.itertuples():
            rows.append({"section": "source", "item": r.city, "change": r.measure, "a": r.a, "b": r.b, "delta": r.delta})
        for r in self.facilities.itertuples():
            rows.append({"section": "facility", "item": r.facility, "change": r.change, "a": r.a, "b": r.b, "delta": None})
        for r in self.sites.itertuples():
            rows.append({"section": "site", "item": f"{r.type} at {r.city}", "change": r.change, "a": None, "b": None, "delta": None})
        return pd.DataFrame(rows, columns=["section", "item", "change", "a", "b", "delta"])

    def text(self) -> str:
        lines = [
            f"A: {self.a_label} ({self.a.get('instance')}, {self.a.get('status')})",
            f"B: {self.b_label} ({self.b.get('instance')}, {self.b.get('status')})",
        ]
        if self.a.get("instance_sha256") and self.a.get("instance_sha256") == self.b.get("instance_sha256"):
            lines.append("  (same instance data)")
        head = f"{'':<36} {'A':>15} {'B':>15} {'B - A':>15}"
        lines.append("cost" + head[4:])
        for r in self.components.itertuples():
            lines.append(f"  {r.component:<34} {_num(r.a):>15} {_num(r.b):>15} {_num(r.delta, sign=True):>15}")
        src = self.sources
        if len(src):
            lines.append("sources (persons; density per km2)")
            for r in src.itertuples():
                digits = 1 if r.measure == "density_after" else 0
                label = f"{r.city} {r.measure.replace('_', ' ')}"
                lines.append(f"  {label:<34} {_num(r.a, digits):>15} {_num(r.b, digits):>15} {_num(r.delta, digits, True):>15}")
        fac = self.facilities
        if fac.empty:
            lines.append("facilities: no facility moves differently")
        else:
            counts = fac["change"].value_counts()
            lines.append("facilities: " + ", ".join(f"{n} {c}" for c, n in counts.items()))
            for r in fac.itertuples():
                what = f" [{r.type} from {r.origin}]" if r.type else ""
                lines.append(f"  {r.facility}{what}: {r.change}: {r.a} -> {r.b}")
        sites = self.sites
        if sites.empty:
            lines.append("sites: the same")
        else:
            for r in sites.itertuples():
                lines.append(f"  site {r.change}: {r.type} at {r.city}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _delta(a: Any, b: Any) -> float | None:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return None
    return float(b) - float(a)


def _num(x: Any, digits: int = 3, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{float(x):+,.{digits}f}" if sign else f"{float(x):,.{digits}f}"


def _read_plan(item: Any) -> tuple[str, dict[str, Any], dict[str, tuple[str, str]]]:
    """(label, solution record, facility info) of a Result, a result folder, a solution.json or a record."""
    from .results import Result

    if isinstance(item, Result):
        info = {}
        a = item.instance.facilities
        info = {f: (t, o) for f, t, o in zip(a.index, a["type"], a["origin"])}
        return item.instance.name, item.to_solution_dict(), info
    if isinstance(item, Mapping):
        return str(item.get("instance", "plan")), dict(item), {}
    from .check import load_solution

    path = Path(item)
    folder = path if path.is_dir() else path.parent
    solution = load_solution(path / "solution.json" if path.is_dir() else path)
    info: dict[str, tuple[str, str]] = {}
    csv = folder / "assignments.csv"
    if csv.is_file():
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        if {"facility", "type", "origin"} <= set(frame.columns):
            info = {f: (t, o) for f, t, o in zip(frame["facility"], frame["type"], frame["origin"])}
    return str(item), solution, info


def diff_plans(a: Any, b: Any, *, labels: tuple[str, str] | None = None) -> PlanDiff:
    """Compare plan ``a`` with plan ``b``: Result objects, result folders, solution.json paths or records."""
    label_a, sol_a, info_a = _read_plan(a)
    label_b, sol_b, info_b = _read_plan(b)
    if labels is not None:
        label_a, label_b = labels
    elif label_a == label_b:
        label_a, label_b = "A", "B"
    return PlanDiff(label_a, label_b, sol_a, sol_b, {**info_a, **info_b})


# ============================================================================ Pareto front

PARETO_COLUMNS = [
    "point", "target_scale", "target_residents", "moved_residents", "objective", *WEIGHT_NAMES,
    "status", "seconds", "warm_start", "plan_from", "on_front",
]


@dataclass
class ParetoFront:
    """Total cost against residents moved, one point per target scale (ascending)."""

    instance: Instance
    scaled: tuple[str, ...]  # the sources whose targets are scaled
    targets: dict[str, float]  # their T_s
    max_scale: float  # the largest scale any plan reaches
    table: pd.DataFrame  # PARETO_COLUMNS
    results: list[Result | None]  # per point, in table order
    changes: list[Changes]  # per point: the instance of that point is instance.with_changes(changes)
    status: SolveStatus = SolveStatus.OPTIMAL  # of the search for the largest scale
    reasons: list[str] = field(default_factory=list)
    max_scale_seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        if self.table.empty:
            return worst_exit_code([self.status]) or SolveStatus.ERROR.exit_code
        return worst_exit_code(SolveStatus(s) for s in self.table["status"])

    def point_instance(self, i: int) -> Instance:
        """The instance of point ``i`` (scaled targets, made hard), validated like any changed instance."""
        return self.instance.with_changes(self.changes[i])

    def plot(self, ax: Any = None) -> Any:
        """Draw the front with matplotlib (no pyplot state touched); returns the Figure."""
        from matplotlib.figure import Figure
        from matplotlib.ticker import StrMethodFormatter

        if ax is None:
            fig = Figure(figsize=(7.5, 4.8), layout="constrained")
            ax = fig.add_subplot()
        t = self.table[self.table["objective"].notna()]
        front = t[t["on_front"]].sort_values(["moved_residents", "objective"])
        # Between two plans the cheapest way to move at least x residents is the
        # right-hand plan: the front is a staircase, not a line.
        ax.plot(front["moved_residents"], front["objective"], marker="o", color="tab:blue", drawstyle="steps-pre",
                label="front: least cost to move at least x residents")
        off = t[~t["on_front"]]
        if len(off):
            ax.scatter(off["moved_residents"], off["objective"], marker="x", color="grey", label="dominated point")
        who = "all sources" if len(self.scaled) != 1 else self.scaled[0]
        ax.set_title(f"{self.instance.name}: total cost against residents moved out of the cores\n"
                     f"(targets of {who} scaled from 0 to {self.max_scale:.3g} x, each made hard)", fontsize=10)
        ax.set_xlabel("residents moved out of the cores (persons)")
        unit = self.instance.cost_unit or "cost units"
        ax.set_ylabel(f"total cost, weighted objective ({unit})")
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        return ax.figure

    def write(self, out_dir: str | Path, *, force: bool = False) -> Path:
        """Write ``pareto.csv`` and ``pareto.png`` (when matplotlib is installed) into a fresh folder."""
        def fill(folder: Path) -> None:
            self.table.to_csv(folder / "pareto.csv", index=False)
            try:
                fig = self.plot()
            except ImportError:
                print("note: pareto.png not drawn: matplotlib is not installed (pip install 'spatialopt[plot]')",
                      file=sys.stderr)
                return
            fig.savefig(folder / "pareto.png", dpi=120)

        return _write_folder(Path(out_dir), force, fill)


def _scaled_changes(scaled: Sequence[str], targets: Mapping[str, float], scale: float) -> Changes:
    """The changes of one point: each scaled source's target set to scale x T_s, and made hard."""
    sets: dict[str, Any] = {}
    for s in scaled:
        sets[f"sources.{s}.target_reduction"] = scale * targets[s]
        sets[f"sources.{s}.soft"] = False
    return Changes(set=tuple(sorted(sets.items())))


def _point_instance(base: Instance, scaled: Sequence[str], targets: Mapping[str, float], scale: float) -> Instance:
    """The point's instance without re-running the loader: only targets (>= 0) and soft flags change.

    Equal, sources and sha256 included, to ``base.with_changes(_scaled_changes(...))``
    (a test holds them to it); used per point so that the front does not
    re-validate the whole instance N times.
    """
    sources = dict(base.sources)
    for s in scaled:
        value = scale * targets[s]
        sources[s] = replace(sources[s], target_persons=float(value), target_form="target_reduction",
                             target_value=float(value), soft=False)
    changes = _scaled_changes(scaled, targets, scale)
    return replace(base, sources=sources, sha256=changed_sha256(base.sha256, changes))


def _arcs_by_source(instance: Instance, derived: Derived, sources: Iterable[str]) -> dict[str, np.ndarray]:
    origin = instance.facilities["origin"].to_numpy(dtype=object)[derived.arc_f]
    return {s: np.nonzero(origin == s)[0] for s in sources}


def _max_scale(zero: Instance, derived: Derived, targets: Mapping[str, float], options: dict[str, Any],
               builder: str) -> tuple[float, Result | None, SolveStatus, list[str], float]:
    """The largest λ such that some plan moves λ·T_s from every scaled source (a MIP maximising λ).

    Returns (λ*, the plan reaching it, status, reasons, seconds). λ* is
    recomputed from the rounded plan, so that plan meets λ*·T_s exactly.
    """
    from .diagnose import presolve_findings
    from .results import extract_plan

    positive = {s: t for s, t in targets.items() if t > 0}
    proofs = [f.message for f in presolve_findings(zero, derived) if f.proves_infeasible]
    if proofs:
        return 0.0, None, SolveStatus.INFEASIBLE, proofs, 0.0
    arcs = _arcs_by_source(zero, derived, positive)
    fac = zero.facilities
    residents = fac["residents"].to_numpy(dtype=float)[derived.arc_f]
    count = fac["count"].to_numpy(dtype=float)[derived.arc_f]
    # Per arc a facility's full count: summed over its arcs this overstates what
    # it can move, which is fine for an upper bound on λ.
    upper = min((float(residents[arcs[s]] @ count[arcs[s]]) / t for s, t in positive.items()), default=0.0)
    started = time.perf_counter()
    if builder == "pyomo":
        run, reasons = _max_scale_pyomo(zero, derived, positive, arcs, residents, upper, options)
    else:
        run, reasons = _max_scale_matrix(zero, derived, positive, arcs, residents, upper, options)
    seconds = time.perf_counter() - started
    if reasons:
        return 0.0, None, SolveStatus.INFEASIBLE, reasons, seconds
    if run is None:  # nothing can reach a positive scale
        return 0.0, None, SolveStatus.OPTIMAL, [], seconds
    if not run.status.has_solution:
        why = f"the search for the largest target scale ended {run.status.value} ({run.termination})"
        return 0.0, None, run.status, [why], seconds
    plan = extract_plan(zero, derived, run)
    moved = {s: float(residents[arcs[s]] @ plan.units[arcs[s]]) for s in positive}
    return min(moved[s] / positive[s] for s in positive), plan, SolveStatus.OPTIMAL, [], seconds


def _max_scale_pyomo(zero: Instance, derived: Derived, positive: Mapping[str, float], arcs: Mapping[str, np.ndarray],
                     residents: np.ndarray, upper: float, options: dict[str, Any]) -> tuple[SolverRun | None, list[str]]:
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    from .model import build_model
    from .solve import run_highs

    model = build_model(zero, derived)
    if model.trivially_infeasible:
        return None, list(model.trivially_infeasible)
    if upper <= 0 or model.nvariables() == 0:
        return None, []
    xs = list(model.x.values())
    model.pareto_scale = pyo.Var(bounds=(0.0, upper))
    model.pareto_reach = pyo.Constraint(
        list(positive),
        rule=lambda m, s: LinearExpression(constant=0.0, linear_coefs=[*residents[arcs[s]], -positive[s]],
                                           linear_vars=[*(xs[a] for a in arcs[s]), m.pareto_scale]) >= 0,
    )
    model.total_cost.deactivate()
    model.pareto_max = pyo.Objective(expr=model.pareto_scale, sense=pyo.maximize)
    return run_highs(model, options), []


def _max_scale_matrix(zero: Instance, derived: Derived, positive: Mapping[str, float], arcs: Mapping[str, np.ndarray],
                      residents: np.ndarray, upper: float, options: dict[str, Any]) -> tuple[SolverRun | None, list[str]]:
    import highspy

    from .matrix import build_matrices
    from .solve import _Interrupt

    m = build_matrices(zero, derived)
    if m.trivially_infeasible:
        return None, list(m.trivially_infeasible)
    if upper <= 0 or m.n_cols == 0:
        return None, []
    h, _messages, used = _matrix_highs(m, options)
    n = m.n_cols
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.zeros(n))
    h.addCol(-1.0, 0.0, upper, 0, np.zeros(0, dtype=np.int32), np.zeros(0))  # maximise λ: minimise -λ
    for s, t in positive.items():
        index = np.concatenate([m.x.start + arcs[s], [n]]).astype(np.int32)
        h.addRow(0.0, highspy.kHighsInf, index.size, index, np.concatenate([residents[arcs[s]], [-t]]))
    highspy.Highs.resetGlobalScheduler(True)
    with _Interrupt() as interrupt:
        for hook in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
            hook += interrupt.poll
        run = _run_matrix_once(h, m, used, interrupt)
    return run, []


def _matrix_highs(m: Any, options: Mapping[str, Any]) -> tuple[Any, list[str], dict[str, Any]]:
    """A highspy object holding MatrixModel ``m``, with ``options`` and its log lines collected."""
    import highspy

    from .errors import SolverError
    from .solve import DEFAULT_OPTIONS, _pass_model, quiet_highs

    used = {**DEFAULT_OPTIONS, **{k: v for k, v in options.items() if v is not None}}
    h = quiet_highs()
    messages: list[str] = []
    h.cbLogging += lambda event: messages.append(event.message)
    h.setOptionValue("output_flag", True)  # to the callback only: what HiGHS says about a start
    h.setOptionValue("log_to_console", False)
    for key, value in used.items():
        if key in ("output_flag", "log_to_console"):
            continue
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise SolverError(f"HiGHS rejected option {key} = {value!r}")
    _pass_model(h, m)
    return h, messages, used


def _run_matrix_once(h: Any, m: Any, used: dict[str, Any], interrupt: Any) -> SolverRun:
    """``h.run()`` and its outcome as a SolverRun (as solve.run_highs_matrix reads it)."""
    from .solve import TC, SolverRun, _highs_termination, highs_version, map_status

    started = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - started
    info = h.getInfo()
    termination = _highs_termination(h.getModelStatus())
    if interrupt.requested and termination != TC.convergenceCriteriaSatisfied:
        termination = TC.interrupted
    has_incumbent = info.primal_solution_status == 2
    status = map_status(termination, has_incumbent)
    values: dict[str, np.ndarray] = {}
    objective = bound = None
    if has_incumbent and status.has_solution:
        col = np.asarray(h.getSolution().col_value, dtype=float)
        values = {"x": col[m.x], "y": col[m.y], "u": col[m.u]}
        objective = float(info.objective_function_value)
    if info.mip_node_count >= 0 and math.isfinite(info.mip_dual_bound):
        bound = float(info.mip_dual_bound)
    elif status == SolveStatus.OPTIMAL and objective is not None:
        bound = objective
    return SolverRun(status=status, objective=objective, bound=bound, values=values, seconds=seconds,
                     version=highs_version(), options=used, termination=termination.name)


def _pareto_chain(instance: Instance, derived: Derived, targets: Mapping[str, float], scales: Sequence[float],
                  start: tuple[np.ndarray, np.ndarray] | None, options: Mapping[str, Any], builder: str = "matrix",
                  on_point: Callable[[float, SolverRun, str], None] | None = None) -> list[tuple[float, SolverRun, str]]:
    """Solve the points ``scales`` (descending) with ONE model and ONE persistent HiGHS.

    ``instance`` has the scaled sources' targets at 0 (and hard); the rows
    added here, ``Σ residents·x ≥ level_s`` per scaled source, are the only
    thing that changes from point to point. ``builder="matrix"`` keeps one
    ``highspy.Highs`` holding the numpy model (:mod:`spatialopt.matrix`) and
    changes the rows' bounds with ``changeRowBounds``; ``builder="pyomo"``
    keeps one Pyomo persistent HiGHS solver on the Pyomo model, whose rows take
    their right-hand side from a mutable Param (Pyomo's ``update`` turns a new
    Param value into ``changeRowBounds``; no rebuild). Each point starts from
    the previous point's full solution (``setSolution``), the first from
    ``start`` (x and y of a plan feasible for every scale; HiGHS completes the
    rest). Returns ``(scale, SolverRun, warm start)`` per point solved, where
    warm start is ``accepted`` (HiGHS found the start feasible), ``rejected`` or
    ``none``; stops after a Ctrl-C, which ends the running solve with its
    incumbent, as solve.py does.
    """
    chain = _chain_pyomo if builder == "pyomo" else _chain_matrix
    return chain(instance, derived, targets, scales, start, options, on_point)


_START_ACCEPTED = re.compile(r"Assessing feasibility of MIP solution[^\n]*: feasible|MIP start solution is feasible")


def _warm_verdict(log: str, given: bool, is_mip: bool = True) -> str:
    """What HiGHS said of the start it was given (its log; the only place it says so).

    ``lp`` when the model has no integer column: HiGHS judges starts of MIPs only.
    """
    if not given:
        return "none"
    if not is_mip:
        return "lp"
    return "accepted" if _START_ACCEPTED.search(log) else "rejected"


def _chain_matrix(instance: Instance, derived: Derived, targets: Mapping[str, float], scales: Sequence[float],
                  start: tuple[np.ndarray, np.ndarray] | None, options: Mapping[str, Any],
                  on_point: Callable[[float, SolverRun, str], None] | None) -> list[tuple[float, SolverRun, str]]:
    import highspy

    from .matrix import build_matrices
    from .solve import SolverRun, _Interrupt, highs_version

    m = build_matrices(instance, derived)
    if m.n_cols == 0:
        empty = {"x": np.zeros(0), "y": np.zeros(0), "u": np.zeros(0)}
        return [(s, SolverRun(SolveStatus.OPTIMAL, 0.0, 0.0, empty, 0.0, highs_version(), dict(options), "empty model"),
                 "none") for s in scales]
    h, messages, used = _matrix_highs(m, options)
    is_mip = bool(np.any(m.integer))
    residents = instance.facilities["residents"].to_numpy(dtype=float)[derived.arc_f]
    row_of: dict[str, int] = {}
    for s, arcs in _arcs_by_source(instance, derived, targets).items():
        if arcs.size and targets[s] > 0:
            index = (m.x.start + arcs).astype(np.int32)
            h.addRow(0.0, highspy.kHighsInf, index.size, index, residents[arcs])
            row_of[s] = h.getNumRow() - 1
    out: list[tuple[float, SolverRun, str]] = []
    previous = None  # the last point's HighsSolution: feasible for every lower scale
    with _Interrupt() as interrupt:
        for hook in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
            hook += interrupt.poll
        for scale in scales:
            for s, row in row_of.items():
                h.changeRowBounds(row, scale * targets[s], highspy.kHighsInf)
            given = previous is not None or start is not None
            if previous is not None:
                h.setSolution(previous)
            elif start is not None:
                index = np.r_[np.arange(m.x.start, m.x.stop), np.arange(m.y.start, m.y.stop)].astype(np.int32)
                h.setSolution(index.size, index, np.r_[np.asarray(start[0], float), np.asarray(start[1], float)])
            # HiGHS's thread pool is process-global (see solve.run_highs).
            highspy.Highs.resetGlobalScheduler(True)
            messages.clear()
            run = _run_matrix_once(h, m, used, interrupt)
            if run.status.has_solution:
                previous = h.getSolution()
            warm = _warm_verdict("\n".join(messages), given, is_mip)
            out.append((scale, run, warm))
            if on_point is not None:
                on_point(scale, run, warm)
            if interrupt.requested:
                break
    return out


def _chain_pyomo(instance: Instance, derived: Derived, targets: Mapping[str, float], scales: Sequence[float],
                 start: tuple[np.ndarray, np.ndarray] | None, options: Mapping[str, Any],
                 on_point: Callable[[float, SolverRun, str], None] | None) -> list[tuple[float, SolverRun, str]]:
    import highspy
    import pyomo.environ as pyo
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
    from pyomo.core.expr.numeric_expr import LinearExpression

    from .model import build_model
    from .solve import (
        DEFAULT_OPTIONS,
        SolverRun,
        _Interrupt,
        _solver_class,
        highs_version,
        map_status,
        quiet_highs,
    )

    used = {**DEFAULT_OPTIONS, **{k: v for k, v in options.items() if v is not None}}
    model = build_model(instance, derived)
    if model.nvariables() == 0:
        empty = {"x": np.zeros(0), "y": np.zeros(0), "u": np.zeros(0)}
        return [(s, SolverRun(SolveStatus.OPTIMAL, 0.0, 0.0, empty, 0.0, highs_version(), used, "empty model"), "none")
                for s in scales]
    xs = list(model.x.values())
    ys = list(model.y.values())
    is_mip = any(not v.is_continuous() for v in [*xs, *ys])
    residents = instance.facilities["residents"].to_numpy(dtype=float)[derived.arc_f]
    rows = {s: a for s, a in _arcs_by_source(instance, derived, targets).items() if a.size and targets[s] > 0}
    model.pareto_level = pyo.Param(list(rows), mutable=True, initialize=0.0, within=pyo.Reals)
    model.pareto_target = pyo.Constraint(
        list(rows),
        rule=lambda mm, s: LinearExpression(constant=0.0, linear_coefs=residents[rows[s]].tolist(),
                                            linear_vars=[xs[a] for a in rows[s]]) >= mm.pareto_level[s],
    )

    class _Persistent(_solver_class()):  # type: ignore[misc]
        """solve.py's Pyomo HiGHS class with a hook that hands HiGHS a start right before it runs."""

        before_run: Callable[[Any, dict[int, int]], Any] | None = None

        def _solve(self) -> Any:
            hook, self.before_run = self.before_run, None
            if hook is not None:
                hook(self._solver_model, self._pyomo_var_to_solver_var_map)
            return super()._solve()

    solver = _Persistent()
    # Between points only the Params change: skip Pyomo's scan for new or
    # changed constraints, variables and objective (costly on a large model).
    auto = solver.config.auto_updates
    for name in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                 "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
                 "update_vars", "update_named_expressions", "update_objective"):
        setattr(auto, name, False)
    auto.update_parameters = True

    def partial_start(h: Any, var_map: dict[int, int]) -> None:
        # Pyomo numbers HiGHS's columns in the order it met the variables: ask its map.
        units, opened = start  # type: ignore[misc]
        index = np.asarray([var_map[id(v)] for v in [*xs, *ys]], dtype=np.int32)
        h.setSolution(index.size, index, np.r_[np.asarray(units, float), np.asarray(opened, float)])

    quiet_highs()
    out: list[tuple[float, SolverRun, str]] = []
    previous = None
    pyomo_log = logging.getLogger("pyomo.contrib.solver.solvers.highs")
    level = pyomo_log.level
    pyomo_log.setLevel(logging.ERROR)
    try:
        with _Interrupt() as interrupt:
            solver.interrupt = interrupt
            for scale in scales:
                for s in rows:
                    model.pareto_level[s] = scale * targets[s]
                given = previous is not None or start is not None
                if previous is not None:
                    solver.before_run = lambda h, _m, sol=previous: h.setSolution(sol)
                elif start is not None:
                    solver.before_run = partial_start
                highspy.Highs.resetGlobalScheduler(True)
                stream = io.StringIO()
                started = time.perf_counter()
                results = solver.solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                                       tee=[stream], solver_options=dict(used))
                seconds = time.perf_counter() - started
                has_incumbent = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
                termination = results.termination_condition
                if interrupt.requested and termination != TerminationCondition.convergenceCriteriaSatisfied:
                    termination = TerminationCondition.interrupted
                status = map_status(termination, has_incumbent)
                values: dict[str, np.ndarray] = {}
                objective = bound = None
                if has_incumbent and status.has_solution:
                    primals = results.solution_loader.get_vars()
                    for name in ("x", "y", "u"):
                        values[name] = np.array([primals.get(v, 0.0) for v in getattr(model, name).values()], dtype=float)
                    objective = results.incumbent_objective
                    solution = solver._solver_model.getSolution()
                    if solution.value_valid:
                        previous = solution
                if results.objective_bound is not None and math.isfinite(results.objective_bound):
                    bound = float(results.objective_bound)
                warm = _warm_verdict(stream.getvalue(), given, is_mip)
                run = SolverRun(status=status, objective=objective, bound=bound, values=values, seconds=seconds,
                                version=highs_version(), options=used, termination=str(termination.name))
                out.append((scale, run, warm))
                if on_point is not None:
                    on_point(scale, run, warm)
                if interrupt.requested:
                    break
    finally:
        pyomo_log.setLevel(level)
    return out


def pareto_front(instance: Instance, points: int = 11, *, source: str | None = None, workers: int | None = None,
                 scheduler: str | None = None, options: Mapping[str, Any] | None = None, builder: str = "matrix",
                 on_point: Callable[[int, int, dict[str, Any]], None] | None = None) -> ParetoFront:
    """ε-constraint trace of total cost against residents moved out of the cores.

    Every source's target (or ``source``'s only) is scaled by λ from 0 to λ*,
    the largest scale some plan reaches under every other rule (found by a MIP
    that maximises λ), in ``points`` equal steps; at each point the scaled
    targets are hard. One persistent solver per chain of points, each point
    warm-started from its upper neighbour's plan (see :func:`_pareto_chain`).
    ``workers`` > 1 or ``scheduler`` splits the points into contiguous chains,
    one per worker, each starting from the λ* plan. ``builder`` is ``"matrix"``
    (numpy model, one ``highspy.Highs``) or ``"pyomo"`` (Pyomo model, Pyomo's
    persistent HiGHS interface). ``on_point(done, total, row)`` reports each
    point (per chain when they run elsewhere).

    Every point's plan is a plan of ``front.point_instance(i)``; the objective
    never decreases from one point to the next (a point that came out dearer
    than its upper neighbour takes the neighbour's plan, which is feasible for
    it: ``plan_from`` says so). ``on_front`` marks the points no other point
    beats on both cost and residents moved.
    """
    from .derive import derive
    from .results import extract_plan

    if points < 2:
        raise ValueError("a front needs at least 2 points")
    if source is not None and source not in instance.sources:
        raise InstanceError([Problem(instance.name, "--source", source,
                                     f"a source city id ({', '.join(instance.sources)})")], instance.name)
    scaled = (source,) if source is not None else tuple(instance.sources)
    targets = {s: instance.sources[s].target_persons for s in scaled}
    if not any(t > 0 for t in targets.values()):
        raise InstanceError([Problem(instance.name, "target", 0, "a source with a target > 0 to scale "
                                     f"({', '.join(scaled)} all have 0)")], instance.name)
    chosen = task_options(options)
    zero = instance.with_changes(_scaled_changes(scaled, targets, 0.0))
    derived = derive(zero)
    max_scale, top_plan, status, reasons, max_seconds = _max_scale(zero, derived, targets, chosen, builder)
    if not status.has_solution:
        empty = pd.DataFrame(columns=PARETO_COLUMNS)
        return ParetoFront(instance, scaled, targets, 0.0, empty, [], [], status, reasons, max_seconds)
    scales = [max_scale * k / (points - 1) for k in range(points)] if max_scale > 0 else [0.0]
    scales[-1] = max_scale
    start = (top_plan.units, top_plan.opened) if top_plan is not None else None
    descending = list(reversed(scales))
    n_chains = max(1, min(len(descending), default_workers() if workers is None else workers))
    chains = [[float(x) for x in c] for c in np.array_split(np.array(descending), n_chains) if len(c)]
    by_scale: dict[float, tuple[SolverRun, str]] = {}
    done_count = {"n": 0}

    def report(scale: float, run: SolverRun, warm: str) -> None:
        by_scale[scale] = (run, warm)
        done_count["n"] += 1
        if on_point is not None:
            on_point(done_count["n"], len(scales), {"target_scale": scale, "status": run.status.value,
                                                    "objective": run.objective, "seconds": run.seconds,
                                                    "warm_start": warm})

    if len(chains) == 1 and not scheduler:
        _pareto_chain(zero, derived, targets, chains[0], start, chosen, builder, on_point=report)
    else:
        tasks = [(zero, derived, targets, chain, start, chosen, builder) for chain in chains]

        def chain_done(_i: int, value: Any, exc: BaseException | None) -> None:
            if exc is not None:
                if isinstance(exc, KeyboardInterrupt):
                    return
                raise SpatialoptError(f"a chain of the front failed: {type(exc).__name__}: {exc}") from exc
            for scale, run, warm in value:
                report(scale, run, warm)

        run_tasks(_pareto_chain, tasks, workers=len(chains), scheduler=scheduler, on_done=chain_done)

    solved = [s for s in scales if s in by_scale]  # ascending; an interrupt may leave some out
    runs = {s: by_scale[s][0] for s in solved}
    plan_from = {s: i + 1 for i, s in enumerate(solved)}
    results: dict[float, Result] = {}
    for s in solved:
        results[s] = extract_plan(_point_instance(instance, scaled, targets, s), derived, runs[s])
    # Monotone by construction: a plan for a larger scale is feasible for every smaller one.
    for lower, upper in zip(reversed(solved[:-1]), reversed(solved[1:])):
        up, low = results[upper], results[lower]
        if not up.status.has_solution:
            continue
        dearer = low.status.has_solution and low.objective > up.objective + 1e-9 * max(1.0, abs(up.objective))
        if not low.status.has_solution or dearer:
            run = replace(runs[upper], status=SolveStatus.FEASIBLE, bound=None)
            runs[lower] = run
            plan_from[lower] = plan_from[upper]
            results[lower] = extract_plan(_point_instance(instance, scaled, targets, lower), derived, run)
    rows = []
    for i, s in enumerate(solved, start=1):
        r = results[s]
        has = r.status.has_solution
        moved = float(r.sources.set_index("city").loc[list(scaled), "moved_residents"].sum()) if has else None
        rows.append({
            "point": i, "target_scale": s, "target_residents": float(sum(s * targets[x] for x in scaled)),
            "moved_residents": moved, "objective": r.objective if has else None,
            **{c: (r.components[c] if has and r.components else None) for c in WEIGHT_NAMES},
            "status": r.status.value, "seconds": round(by_scale[s][0].seconds, 4), "warm_start": by_scale[s][1],
            "plan_from": plan_from[s], "on_front": False,
        })
    table = pd.DataFrame(rows, columns=PARETO_COLUMNS)
    table["on_front"] = _non_dominated(table)
    return ParetoFront(instance, scaled, targets, max_scale, table, [results[s] for s in solved],
                       [_scaled_changes(scaled, targets, s) for s in solved], SolveStatus.OPTIMAL, [], max_seconds)


def _non_dominated(table: pd.DataFrame) -> list[bool]:
    """Points that no other point beats on both cost (lower) and residents moved (higher)."""
    moved = table["moved_residents"].to_numpy(dtype=float)
    cost = table["objective"].to_numpy(dtype=float)
    out = []
    for i in range(len(table)):
        if math.isnan(cost[i]):
            out.append(False)
            continue
        tol_c = 1e-9 * max(1.0, abs(cost[i]))
        tol_m = 1e-9 * max(1.0, abs(moved[i]))
        beaten = any(
            j != i and not math.isnan(cost[j]) and moved[j] >= moved[i] - tol_m and cost[j] <= cost[i] + tol_c
            and (moved[j] > moved[i] + tol_m or cost[j] < cost[i] - tol_c)
            for j in range(len(table))
        )
        out.append(not beaten)
    return out


# ============================================================================ command line


def _print_line(text: str) -> None:
    print(text, flush=True)


def _describe(status: str, objective: float | None, seconds: float, unit: str) -> str:
    shown = "no plan" if objective is None else f"objective {objective:,.3f}{unit}"
    return f"{status}, {shown}, {seconds:.2f} s"


def sweep_command(args: Any) -> int:
    """``spatialopt sweep INSTANCE SCENARIOS.toml``: see the README section "What-if studies"."""
    from .api import load, solver_options

    base = load(args.instance)
    for warning in base.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    scenario_set = load_scenarios(args.scenarios)
    if scenario_set.base is not None and scenario_set.base != Path(args.instance).resolve():
        print(f"note: {Path(args.scenarios).name} names base {scenario_set.base}; using {args.instance}", file=sys.stderr)
    scenario_set.instances(base)  # every scenario's problems before any solve
    options = solver_options(args.profile, time_limit=args.time_limit, gap=args.gap, threads=args.threads, seed=args.seed)
    where = f"the Dask cluster at {args.scheduler}" if args.scheduler else (
        "this process" if args.workers == 1 else f"{args.workers or default_workers()} worker processes")
    total = 1 + len(scenario_set.scenarios)
    print(f"sweeping {base.name}: base + {total - 1} scenario(s) on {where} (Ctrl-C stops and keeps the plans so far)",
          file=sys.stderr, flush=True)
    unit = f" {base.cost_unit}" if base.cost_unit else ""

    def progress(done: int, total: int, o: SweepOutcome) -> None:
        objective = o.result.objective if o.result is not None else None
        extra = f" ({o.error})" if o.error else ""
        _print_line(f"[{done}/{total}] {o.name}: {_describe(o.status.value, objective, o.seconds, unit)}{extra}")

    sweep = run_sweep(base, scenario_set, workers=args.workers, scheduler=args.scheduler, options=options,
                      builder=args.builder, on_result=progress)
    out = args.out if args.out is not None else Path("results") / f"{base.name}-sweep"
    written = sweep.write(out, force=args.force)
    print(sweep.comparison_text())
    if written != out:
        print(f"note: {out} holds an earlier run; wrote {written} instead (use --force to replace it)", file=sys.stderr)
    print(f"wrote {written}/ (one folder per run, comparison.csv)")
    return sweep.exit_code


def diff_command(args: Any) -> int:
    """``spatialopt diff A B [--csv FILE]``."""
    from .errors import SolutionFileError

    for path in (args.a, args.b):
        if not Path(path).exists():
            raise SolutionFileError(f"{path}: no such result folder or solution file")
    diff = diff_plans(args.a, args.b)
    print(diff.text())
    if args.csv is not None:
        diff.to_frame().to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0


def pareto_command(args: Any) -> int:
    """``spatialopt pareto INSTANCE [--points N] [--source ID]``."""
    from .api import load, solver_options

    instance = load(args.instance)
    for warning in instance.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    options = solver_options(args.profile, time_limit=args.time_limit, gap=args.gap, threads=args.threads, seed=args.seed)
    unit = f" {instance.cost_unit}" if instance.cost_unit else ""
    print(f"tracing {instance.name}: {args.points} points (Ctrl-C stops and keeps the points so far)",
          file=sys.stderr, flush=True)

    def progress(done: int, total: int, row: dict[str, Any]) -> None:
        _print_line(f"[{done}/{total}] scale {row['target_scale']:.4g}: "
                    f"{_describe(row['status'], row['objective'], row['seconds'], unit)}, warm start {row['warm_start']}")

    front = pareto_front(instance, args.points, source=args.source, workers=args.workers, scheduler=args.scheduler,
                         options=options, builder=args.builder, on_point=progress)
    if front.table.empty:
        print(f"{instance.name}: no front: {front.status.value}" + "".join(f"\n  why: {r}" for r in front.reasons))
        return front.exit_code
    out = args.out if args.out is not None else Path("results") / f"{instance.name}-pareto"
    written = front.write(out, force=args.force)
    shown = front.table.drop(columns=["plan_from"])
    print(shown.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:,.2f}"))
    print(f"largest target scale reached: {front.max_scale:.6g} (found in {front.max_scale_seconds:.2f} s)")
    if written != out:
        print(f"note: {out} holds an earlier run; wrote {written} instead (use --force to replace it)", file=sys.stderr)
    print(f"wrote {written}/ (pareto.csv, pareto.png)")
    return front.exit_code
