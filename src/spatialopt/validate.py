"""Load an instance manifest and its tables, checking every value (spec §2).

:func:`load_instance` reads the TOML manifest, reads each table (from a file
or inline), checks every key and cell against the spec, and either returns a
validated :class:`~spatialopt.instance.Instance` or raises one
:class:`~spatialopt.errors.InstanceError` listing *all* problems found, each
with its file, row, column, value and what was expected. Nothing in an
instance is executed, and nothing is fetched.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from .errors import InstanceError, Problem, ProblemLog
from .instance import (
    BUILTIN_FACILITY_COLUMNS,
    TABLE_NAMES,
    WEIGHT_NAMES,
    FacilityType,
    Instance,
    Period,
    Policy,
    Resource,
    Source,
    Travel,
    Weights,
)
from .magnitudes import magnitude_problems
from .tables import (
    RawTable,
    locate_table,
    not_a_regular_file,
    open_regular,
    read_inline_table,
    read_table_file,
)
from .values import INVALID, as_bool, as_number, as_text, is_invalid

TOP_LEVEL_KEYS = {
    "instance", "tables", "types", "resources", "sources", "policy", "objective", "periods", "travel", *TABLE_NAMES,
}
INSTANCE_KEYS = {"name", "description", "cost_unit", "horizon_years", "base_year", "discount_rate"}
PERIOD_KEYS = {"id", "end_year", "budget"}
TRAVEL_KEYS = {"speed_kmh", "detour"}
SITE_KEYS = ("site_cost", "site_capacity_jobs", "min_site_jobs", "min_sites", "max_sites")
TYPE_KEYS = {
    "id",
    "allowed_tiers",
    "min_km",
    "max_km",
    "min_minutes",
    "max_minutes",
    "same_cluster",
    "splittable",
    "household_factor",
    "cost_per_job_km",
    "annual_cost_per_job",
    "access_cost_per_unit_km",
    "requires_site",
    *SITE_KEYS,
}
RESOURCE_KEYS = {"id", "use", "cap", "cap_by_period"}
TARGET_KEYS = ("target_reduction", "target_reduction_pct", "target_density")
SOURCE_KEYS = {
    "city", "core_population", "core_area_km2", "soft", "shortfall_penalty", "min_share", "milestones", *TARGET_KEYS,
}
POLICY_KEYS = {"budget", "max_destination_share", "min_region_share"}
OBJECTIVE_KEYS = {"weights"}


def load_instance(path: str | Path, *, allow_outside_paths: bool = False) -> Instance:
    """Read and validate the instance whose manifest is ``path``.

    Table files must lie inside the manifest's folder (symlinks resolved)
    unless ``allow_outside_paths``. Raises :class:`InstanceError` with every
    problem found (at most a few per file are listed, the rest counted).
    """
    manifest_path = Path(path)
    label = manifest_path.name
    manifest, manifest_bytes = _read_manifest(manifest_path)
    loader = _Loader(manifest_path, label, manifest, manifest_bytes)
    loader.allow_outside_paths = allow_outside_paths
    return loader.run()


def load_instance_from_data(manifest: dict[str, Any], tables: Mapping[str, RawTable], label: str) -> Instance:
    """Validate an instance given as data (manifest entries and table rows) rather than files.

    ``manifest`` is what a manifest's TOML parses to, without ``[tables]`` and
    without inline rows; ``tables`` holds the rows instead, one
    :class:`~spatialopt.tables.RawTable` per table name (``cities`` and
    ``facilities`` required). Every check of :func:`load_instance` runs and
    every problem is raised at once as an :class:`InstanceError` located by
    ``label``. No file is read: the instance's ``sha256`` is that of no bytes
    (a caller sets its own, as :func:`spatialopt.scenarios.apply_changes`
    does) and it has no ``source_path`` (unless ``label`` happens to name a
    file).
    """
    return _DataLoader(Path(label), label, manifest, b"", tables).run()


def _read_manifest(path: Path) -> tuple[dict[str, Any], bytes]:
    label = path.name
    if path.is_dir():
        candidates = sorted(path.glob("*.toml"))
        hint = f" (it holds {', '.join(c.name for c in candidates)})" if candidates else ""
        raise InstanceError([Problem(str(path), None, None, f"is a folder; expected the instance's .toml manifest{hint}")], label)
    reason = not_a_regular_file(path)
    if reason is not None:
        raise InstanceError([Problem(str(path), None, None, reason)], label)
    with open_regular(path) as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is accepted, as in CSV tables
    except UnicodeDecodeError as exc:
        raise InstanceError([Problem(label, None, None, f"not UTF-8 text (byte {exc.start})")], label) from None
    try:
        return tomllib.loads(text), data
    except tomllib.TOMLDecodeError as exc:
        raise InstanceError([Problem(label, None, None, f"not valid TOML: {exc}")], label) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InstanceError([Problem(label, None, None, f"not valid TOML: {str(exc).split(';')[0]}")], label) from None
    except RecursionError:
        line = _deepest_line(text)
        where = f"{label} line {line}" if line else label
        raise InstanceError(
            [Problem(where, None, None, "arrays or tables nested too deeply to read; expected a manifest's few levels")],
            label,
        ) from None


def _deepest_line(text: str, depth: int = 100) -> int | None:
    """The first line where brackets and braces open ``depth`` deep (roughly: strings are not skipped)."""
    level = 0
    for number, line in enumerate(text.splitlines(), start=1):
        for char in line:
            level += char in "[{"
            level -= char in "]}"
            if level >= depth:
                return number
    return None


class _Loader:
    """One validation pass over a manifest and its tables; collects problems."""

    def __init__(self, path: Path, label: str, manifest: dict[str, Any], manifest_bytes: bytes) -> None:
        self.path = path
        self.label = label
        self.manifest = manifest
        self.manifest_bytes = manifest_bytes
        self.problems = ProblemLog()
        self.problems.register(label)
        self.allow_outside_paths = False
        # Table files given but unreadable: checks of other tables against
        # their ids are skipped (one root cause, not a cascade of misses).
        self.unreadable: set[str] = set()
        self.table_paths: dict[str, Path] = {}  # the table files read, for the digest
        self.warnings: list[str] = []
        # Ids declared in the manifest, valid or not: a row that refers to a
        # declared but broken entry is not reported again as "unknown".
        self.declared_types: list[str] = []
        self.declared_sources: list[str] = []
        # Period ids declared (valid or not), in order; the problems of later
        # entries that name them are then about those entries only.
        self.declared_periods: list[str] = []
        self.type_where: dict[str, str] = {}  # type id -> its location, for rules checked later

    # -- helpers -----------------------------------------------------------
    def problem(self, where: str, column: str | None, value: object, expected: str) -> None:
        self.problems.append(Problem(where, column, value, expected))

    def section(self, key: str) -> dict[str, Any]:
        value = self.manifest.get(key, {})
        if not isinstance(value, dict):
            self.problem(self.label, key, _kind(value), f"a table [{key}]")
            return {}
        return value

    def array(self, key: str) -> list[dict[str, Any]]:
        value = self.manifest.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(self.label, key, _kind(value), f"an array of tables [[{key}]]")
            return []
        return value

    def unknown_keys(self, where: str, entry: Mapping[str, Any], allowed: set[str]) -> None:
        for key in entry:
            if key not in allowed:
                self.problem(where, key, entry[key], f"a known key (one of {', '.join(sorted(allowed))})")

    def number(self, where: str, entry: Mapping[str, Any], key: str, default: float | None, **bounds: Any) -> Any:
        if isinstance(entry.get(key), str):
            # TOML is typed: a quoted "3000" is text, most likely a slip worth pointing out.
            self.problem(where, key, entry[key], "a number (TOML numbers are written without quotes)")
            return INVALID
        value = as_number(entry.get(key), where, key, self.problems, **bounds)
        return default if value is None else value

    def flag(self, where: str, entry: Mapping[str, Any], key: str, default: bool) -> Any:
        value = entry.get(key)
        if value is not None and not isinstance(value, bool):
            self.problem(where, key, value, "true or false")
            return INVALID
        return default if value is None else value

    def text(self, where: str, entry: Mapping[str, Any], key: str, *, required: bool = False) -> Any:
        value = entry.get(key)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            if required:
                self.problem(where, key, value, "a non-empty text value (required)")
                return INVALID
            return None
        if not isinstance(value, str):
            self.problem(where, key, value, "text")
            return INVALID
        return value

    # -- the pass ----------------------------------------------------------
    def run(self) -> Instance:
        self.unknown_keys(self.label, self.manifest, TOP_LEVEL_KEYS)
        header = self.read_instance_header()
        periods = self.read_periods(header)
        travel = self.read_travel()
        raw = self.read_tables()
        types = self.read_types()
        resources = self.read_resources()
        cities, city_caps = self.read_cities(raw.get("cities"), resources)
        caps_by_period = self.read_caps_by_period(raw.get("cities"), cities, resources)
        sources = self.read_sources(cities, types)
        facilities, facility_use = self.read_facilities(raw.get("facilities"), types, sources, resources)
        arcs = self.read_arcs(raw.get("arcs"), facilities, cities, resources)
        sites = self.read_sites(raw.get("sites"), types, cities, sources)
        distances = self.read_distances(raw.get("distances"), cities)
        self.check_minutes_rules(types, travel, facilities, cities, sources, distances)
        policy = self.read_policy(cities, sources)
        weights = self.read_weights()
        if self.problems:
            raise InstanceError(self.problems, self.label)
        instance = Instance(
            name=header["name"],
            description=header["description"],
            cost_unit=header["cost_unit"],
            horizon_years=header["horizon_years"],
            types=types,
            resources=tuple(resources),
            sources=sources,
            cities=cities,
            city_caps=city_caps,
            facilities=facilities,
            facility_use=facility_use,
            arcs=arcs,
            sites=sites,
            distances=distances,
            policy=policy,
            weights=weights,
            sha256=self.digest(),
            warnings=tuple(self.warnings),
            source_path=str(self.path.resolve()) if self.path.is_file() else None,  # None: built from entries (scenarios)
            periods=tuple(periods),
            base_year=header["base_year"],
            discount_rate=header["discount_rate"],
            travel=travel,
            city_caps_by_period=caps_by_period,
        )
        for problem in magnitude_problems(instance, self.label, raw):
            self.problems.append(problem)
        if self.problems:
            raise InstanceError(self.problems, self.label)
        return instance

    def digest(self) -> str:
        """sha256 of the manifest's bytes, then each table file's bytes in [tables] order."""
        h = hashlib.sha256(self.manifest_bytes)
        tables = self.manifest.get("tables", {})
        for name in tables if isinstance(tables, dict) else []:
            path = self.table_paths.get(name)
            if path is None:
                continue
            with open_regular(path) as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    h.update(chunk)
        return h.hexdigest()

    def read_instance_header(self) -> dict[str, Any]:
        section = self.section("instance")
        where = f"{self.label} [instance]"
        if "instance" not in self.manifest:
            self.problem(self.label, "instance", None, "an [instance] table with a name")
        self.unknown_keys(where, section, INSTANCE_KEYS)
        name = self.text(where, section, "name", required=True)
        description = self.text(where, section, "description") or ""
        cost_unit = self.text(where, section, "cost_unit") or ""
        horizon = self.number(where, section, "horizon_years", 10.0, minimum=0)
        base_year = self.number(where, section, "base_year", None, whole=True)
        rate = self.number(where, section, "discount_rate", 0.0, minimum=0)
        return {"name": name, "description": description, "cost_unit": cost_unit, "horizon_years": horizon,
                "base_year": None if base_year is None or is_invalid(base_year) else int(base_year),
                "base_year_invalid": is_invalid(base_year), "discount_rate": 0.0 if is_invalid(rate) else rate}

    def read_periods(self, header: dict[str, Any]) -> list[Period]:
        """``[[periods]]``: ids unique, end years whole, after base_year and strictly increasing."""
        if "periods" not in self.manifest:
            return []
        entries = self.array("periods")
        if isinstance(self.manifest["periods"], list) and not self.manifest["periods"]:
            self.problem(self.label, "periods", "[]", "at least one [[periods]] entry when periods are given")
        base_year = header["base_year"]
        if entries and base_year is None and not header["base_year_invalid"]:
            self.problem(f"{self.label} [instance]", "base_year", None,
                         "a whole-number year (required with [[periods]]: the year core_population describes)")
        periods: list[Period] = []
        previous: tuple[float, str] | None = None
        for number, entry in enumerate(entries, start=1):
            raw_id = entry.get("id")
            where = f"{self.label} [[periods]] #{number}" + (f" (id {raw_id!r})" if isinstance(raw_id, str) else "")
            self.unknown_keys(where, entry, PERIOD_KEYS)
            pid = self.text(where, entry, "id", required=True)
            if isinstance(pid, str):
                if pid in self.declared_periods:
                    self.problem(where, "id", pid, "a unique period id (this one repeats)")
                self.declared_periods.append(pid)
            else:  # keeps the order (which period is last) for the checks of other entries
                self.declared_periods.append(f"<period #{number}>")
            end = self.number(where, entry, "end_year", None, whole=True)
            if end is None:
                self.problem(where, "end_year", None, "a whole-number year (required)")
            elif not is_invalid(end):
                if base_year is not None and end <= base_year:
                    self.problem(where, "end_year", int(end), f"a year after base_year ({base_year})")
                if previous is not None and end <= previous[0]:
                    self.problem(where, "end_year", int(end),
                                 f"a year after the previous period's end_year ({int(previous[0])}, {previous[1]}): "
                                 "periods are listed in order")
                previous = (end, str(pid))
            budget = self.number(where, entry, "budget", None, minimum=0)
            if isinstance(pid, str) and isinstance(end, float) and not is_invalid(budget):
                periods.append(Period(id=pid, end_year=int(end), budget=budget))
        horizon = header["horizon_years"]
        if periods and base_year is not None and not is_invalid(horizon):
            span = periods[-1].end_year - base_year
            if horizon < span:
                self.problem(f"{self.label} [instance]", "horizon_years", horizon,
                             f"at least the last period's end_year - base_year ({periods[-1].end_year} - {base_year} "
                             f"= {span}): operating costs are counted to the horizon")
        return periods

    def read_travel(self) -> Travel | None:
        """``[travel]``: speed_kmh > 0 (required), detour >= 1."""
        if "travel" not in self.manifest:
            return None
        section = self.section("travel")
        where = f"{self.label} [travel]"
        self.unknown_keys(where, section, TRAVEL_KEYS)
        speed = self.number(where, section, "speed_kmh", None, minimum=0, exclusive_minimum=True)
        if speed is None:
            self.problem(where, "speed_kmh", None, "a speed in km/h > 0 (required in [travel])")
        detour = self.number(where, section, "detour", 1.0, minimum=1)
        if speed is None or is_invalid(speed, detour):
            return None
        return Travel(speed_kmh=speed, detour=detour)

    def period_keys(self, where: str, key: str, given: Mapping[str, Any]) -> list[str]:
        """The keys of ``given`` that are period ids other than the last; the others are reported."""
        allowed = self.declared_periods[:-1]
        valid: list[str] = []
        for pid in given:
            if pid in allowed:
                valid.append(pid)
            elif not self.declared_periods:
                self.problem(where, f"{key}.{pid}", given[pid], "no period keys: the instance has no [[periods]]")
            elif pid == self.declared_periods[-1]:
                self.problem(where, f"{key}.{pid}", given[pid],
                             "a period other than the last (the last period's value is the plan's own)")
            else:
                self.problem(where, f"{key}.{pid}", given[pid],
                             f"a period id other than the last ({', '.join(allowed) or 'none'})")
        return valid

    def read_tables(self) -> dict[str, RawTable]:
        paths = self.section("tables")
        where = f"{self.label} [tables]"
        self.unknown_keys(where, paths, set(TABLE_NAMES))
        tables: dict[str, RawTable] = {}
        for name in TABLE_NAMES:
            in_file = name in paths
            inline = name in self.manifest
            if in_file and inline:
                self.problem(where, name, paths[name], f"either a file or inline [[{name}]] rows, not both")
                self.unreadable.add(name)
                continue
            table: RawTable | None = None
            if in_file:
                value = paths[name]
                if not isinstance(value, str) or value.strip() == "":
                    self.problem(where, name, value, "a path to a table file, relative to the manifest")
                    self.unreadable.add(name)
                    continue
                path = locate_table(name, value, self.path.parent, where, self.problems,
                                    allow_outside_paths=self.allow_outside_paths)
                if path is not None:
                    self.problems.register(path.name)
                    table = read_table_file(name, path, self.problems)
                    if table is not None:
                        self.table_paths[name] = path
                if table is None:
                    self.unreadable.add(name)
            elif inline:
                table = read_inline_table(name, self.label, self.manifest[name], self.problems)
            elif name in ("cities", "facilities"):
                self.problem(where, name, None, f"a {name} table (a file under [tables] or inline [[{name}]] rows)")
            if table is not None:
                tables[name] = table
        return tables

    def read_types(self) -> dict[str, FacilityType]:
        types: dict[str, FacilityType] = {}
        for number, entry in enumerate(self.array("types"), start=1):
            raw_id = entry.get("id")
            where = f"{self.label} [[types]] #{number}" + (f" (id {raw_id!r})" if isinstance(raw_id, str) else "")
            self.unknown_keys(where, entry, TYPE_KEYS)
            type_id = self.text(where, entry, "id", required=True)
            if isinstance(type_id, str):
                self.declared_types.append(type_id)
            if isinstance(type_id, str) and self.declared_types.count(type_id) > 1:
                self.problem(where, "id", type_id, "a unique type id (this one repeats)")
            tiers = entry.get("allowed_tiers")
            allowed: Any = None
            if tiers is not None:
                if not isinstance(tiers, list) or not all(isinstance(t, str) for t in tiers):
                    self.problem(where, "allowed_tiers", tiers, "a list of tier names (text)")
                    allowed = INVALID
                else:
                    allowed = tuple(tiers)
            min_km = self.number(where, entry, "min_km", 0.0, minimum=0)
            max_km = self.number(where, entry, "max_km", math.inf, minimum=0)
            if not is_invalid(min_km, max_km) and min_km > max_km:
                self.problem(where, "max_km", max_km, f"a number >= min_km ({min_km})")
            min_minutes = self.number(where, entry, "min_minutes", None, minimum=0)
            max_minutes = self.number(where, entry, "max_minutes", None, minimum=0)
            if not is_invalid(min_minutes, max_minutes) and min_minutes is not None and max_minutes is not None \
                    and min_minutes > max_minutes:
                self.problem(where, "max_minutes", max_minutes, f"a number >= min_minutes ({min_minutes})")
            if isinstance(type_id, str):
                self.type_where.setdefault(type_id, where)
            requires_site = self.flag(where, entry, "requires_site", False)
            fields: dict[str, Any] = {
                "same_cluster": self.flag(where, entry, "same_cluster", False),
                "splittable": self.flag(where, entry, "splittable", False),
                "household_factor": self.number(where, entry, "household_factor", 1.0, minimum=0),
                "cost_per_job_km": self.number(where, entry, "cost_per_job_km", 0.0, minimum=0),
                "annual_cost_per_job": self.number(where, entry, "annual_cost_per_job", 0.0, minimum=0),
                "access_cost_per_unit_km": self.number(where, entry, "access_cost_per_unit_km", 0.0, minimum=0),
            }
            site_fields: dict[str, Any] = {
                "site_cost": self.number(where, entry, "site_cost", 0.0, minimum=0),
                "site_capacity_jobs": self.number(where, entry, "site_capacity_jobs", math.inf, minimum=0),
                "min_site_jobs": self.number(where, entry, "min_site_jobs", 0.0, minimum=0),
                "min_sites": self.number(where, entry, "min_sites", 0.0, minimum=0, whole=True),
                "max_sites": self.number(where, entry, "max_sites", math.inf, minimum=0, whole=True),
            }
            if not is_invalid(site_fields["min_sites"], site_fields["max_sites"]):
                if site_fields["max_sites"] < site_fields["min_sites"]:
                    self.problem(where, "max_sites", site_fields["max_sites"], f"a whole number >= min_sites ({int(site_fields['min_sites'])})")
            if requires_site is False:
                given = [k for k in SITE_KEYS if entry.get(k) is not None]
                if given:
                    self.warnings.append(
                        f"{where}: {', '.join(given)} ignored because requires_site is false"
                    )
                site_fields = {}
            values = [type_id, allowed, min_km, max_km, min_minutes, max_minutes, requires_site,
                      *fields.values(), *site_fields.values()]
            if is_invalid(*values) or not isinstance(type_id, str):
                continue
            if "min_sites" in site_fields:
                site_fields["min_sites"] = int(site_fields["min_sites"])
            types[type_id] = FacilityType(
                id=type_id, allowed_tiers=allowed, min_km=min_km, max_km=max_km, min_minutes=min_minutes,
                max_minutes=max_minutes, requires_site=requires_site,
                **fields, **site_fields,
            )
        return types

    def read_resources(self) -> list[Resource]:
        resources: list[Resource] = []
        seen: set[str] = set()
        for number, entry in enumerate(self.array("resources"), start=1):
            raw_id = entry.get("id")
            where = f"{self.label} [[resources]] #{number}" + (f" (id {raw_id!r})" if isinstance(raw_id, str) else "")
            self.unknown_keys(where, entry, RESOURCE_KEYS)
            rid = self.text(where, entry, "id", required=True)
            use = self.text(where, entry, "use", required=True)
            cap = self.text(where, entry, "cap", required=True)
            if isinstance(rid, str):
                if rid in seen:
                    self.problem(where, "id", rid, "a unique resource id (this one repeats)")
                    continue
                seen.add(rid)
            by_period = entry.get("cap_by_period", {})
            cap_by_period: dict[str, str] = {}
            if not isinstance(by_period, dict):
                self.problem(where, "cap_by_period", by_period, "a table of period id = city column name")
            else:
                for pid in self.period_keys(where, "cap_by_period", by_period):
                    column = by_period[pid]
                    if not isinstance(column, str) or column.strip() == "":
                        self.problem(where, f"cap_by_period.{pid}", column, "the name of a city column (text)")
                    else:
                        cap_by_period[pid] = column
            if not is_invalid(rid, use, cap):
                resources.append(Resource(rid, use, cap, cap_by_period))
        return resources

    # -- tables --------------------------------------------------------------
    def read_cities(self, table: RawTable | None, resources: list[Resource]) -> tuple[pd.DataFrame, pd.DataFrame]:
        columns = ["name", "lon", "lat", "tier", "region", "cluster", "population", "cost_index"]
        empty = pd.DataFrame(columns=columns, index=pd.Index([], name="id", dtype=object))
        if table is None:
            return empty, pd.DataFrame(index=empty.index)
        for resource in resources:
            if resource.cap not in table.columns:
                self.problem(
                    f"{self.label} [[resources]] (id {resource.id!r})", "cap", resource.cap,
                    f"a column of {table.label} (it has: {', '.join(table.columns)})",
                )
        self.require_columns(table, ["id"])
        records: list[dict[str, Any]] = []
        ids: list[str] = []
        caps: list[list[float]] = []
        seen: set[str] = set()
        has_geometry = any("__geometry__" in row for row in table.rows)
        if not has_geometry:
            self.require_columns(table, ["lon", "lat"])
        for index, row in enumerate(table.rows):
            city_id, where = self.row_id(table, index, "city", seen)
            lon = as_number(row.get("lon"), where, "lon", self.problems, minimum=-180, maximum=180)
            lat = as_number(row.get("lat"), where, "lat", self.problems, minimum=-90, maximum=90)
            point = row.get("__geometry__")
            if lon is None and point is not None:
                lon = _checked_coordinate(point[0], -180, 180, where, "geometry lon", self.problems)
            if lat is None and point is not None:
                lat = _checked_coordinate(point[1], -90, 90, where, "geometry lat", self.problems)
            if lon is None:
                self.problem(where, "lon", None, "a longitude in [-180, 180] (required; or a Point geometry)")
            if lat is None:
                self.problem(where, "lat", None, "a latitude in [-90, 90] (required; or a Point geometry)")
            record = {
                "name": as_text(row.get("name"), where, "name", self.problems),
                "lon": lon,
                "lat": lat,
                "tier": as_text(row.get("tier"), where, "tier", self.problems),
                "region": as_text(row.get("region"), where, "region", self.problems),
                "cluster": as_text(row.get("cluster"), where, "cluster", self.problems),
                "population": as_number(row.get("population"), where, "population", self.problems, minimum=0),
                "cost_index": as_number(row.get("cost_index"), where, "cost_index", self.problems, minimum=0),
            }
            cap_values = [
                as_number(row.get(r.cap), where, r.cap, self.problems, minimum=0) for r in resources
            ]
            if isinstance(city_id, str):
                ids.append(city_id)
                records.append(record)
                caps.append([math.inf if v is None or v is INVALID else cast(float, v) for v in cap_values])
        frame = pd.DataFrame(records, columns=columns, index=pd.Index(ids, name="id", dtype=object))
        for column in ("tier", "region", "cluster"):
            frame[column] = frame[column].map(lambda v: v if isinstance(v, str) else "").astype(object)
        frame["name"] = [n if isinstance(n, str) else i for n, i in zip(frame["name"], frame.index)]
        for column, default in (("population", np.nan), ("cost_index", 1.0), ("lon", np.nan), ("lat", np.nan)):
            frame[column] = [v if _is_number(v) else default for v in frame[column]]
        frame = frame.astype({"lon": float, "lat": float, "population": float, "cost_index": float})
        city_caps = pd.DataFrame(
            np.array(caps, dtype=float).reshape(len(ids), len(resources)),
            index=frame.index,
            columns=[r.id for r in resources],
        )
        return frame, city_caps

    def read_caps_by_period(
        self, table: RawTable | None, cities: pd.DataFrame, resources: list[Resource],
    ) -> dict[str, pd.DataFrame]:
        """Per period some resource names: the cities' caps by that period's end (inf: no cap)."""
        named = [pid for pid in self.declared_periods if any(pid in r.cap_by_period for r in resources)]
        if table is None or not named:
            return {}
        present = set(table.columns)
        for resource in resources:
            for pid, column in resource.cap_by_period.items():
                if column not in present:
                    self.problem(
                        f"{self.label} [[resources]] (id {resource.id!r})", f"cap_by_period.{pid}", column,
                        f"a column of {table.label} (it has: {', '.join(table.columns)})",
                    )
        out: dict[str, pd.DataFrame] = {}
        ids = [r.get("id") for r in table.rows]
        keep = [i for i, c in enumerate(ids) if isinstance(c, str) and c in cities.index]
        for pid in named:
            values = np.full((len(cities), len(resources)), math.inf)
            position = {c: i for i, c in enumerate(cities.index)}
            for j, resource in enumerate(resources):
                cap_column = resource.cap_by_period.get(pid)
                if cap_column is None or cap_column not in present:
                    continue
                for index in keep:
                    where = table.where(index, ids[index])
                    value = as_number(table.rows[index].get(cap_column), where, cap_column, self.problems, minimum=0)
                    if isinstance(value, float):
                        values[position[ids[index]], j] = value
            out[pid] = pd.DataFrame(values, index=cities.index, columns=[r.id for r in resources])
        return out

    def read_sources(self, cities: pd.DataFrame, types: Mapping[str, FacilityType]) -> dict[str, Source]:
        sources: dict[str, Source] = {}
        for number, entry in enumerate(self.array("sources"), start=1):
            raw_city = entry.get("city")
            where = f"{self.label} [[sources]] #{number}" + (f" (city {raw_city!r})" if isinstance(raw_city, str) else "")
            self.unknown_keys(where, entry, SOURCE_KEYS)
            city = self.text(where, entry, "city", required=True)
            if isinstance(city, str):
                self.declared_sources.append(city)
                if len(cities) and city not in cities.index:
                    self.problem(where, "city", city, "the id of a city in the cities table")
                if city in sources:
                    self.problem(where, "city", city, "a city listed once among the sources (this one repeats)")
            population = self.number(where, entry, "core_population", None, minimum=0, exclusive_minimum=True)
            area = self.number(where, entry, "core_area_km2", None, minimum=0, exclusive_minimum=True)
            given = [k for k in TARGET_KEYS if _present(entry.get(k))]
            target: Any = INVALID
            form = ""
            value: Any = INVALID
            if len(given) != 1:
                self.problem(
                    where, "target", ", ".join(given) if given else None,
                    "exactly one of target_reduction, target_reduction_pct, target_density",
                )
            else:
                form = given[0]
                if form == "target_reduction":
                    value = self.number(where, entry, form, None, minimum=0)
                    target = value
                elif form == "target_reduction_pct":
                    value = self.number(where, entry, form, None, minimum=0, maximum=100)
                    if population is None:
                        self.problem(where, "core_population", None, "a core population > 0 (target_reduction_pct needs it)")
                    elif not is_invalid(value, population):
                        target = population * value / 100.0
                else:
                    value = self.number(where, entry, form, None, minimum=0)
                    if population is None or area is None:
                        self.problem(
                            where, "core_population" if population is None else "core_area_km2", None,
                            "core_population and core_area_km2 > 0 (target_density needs both)",
                        )
                    elif not is_invalid(value, population, area):
                        target = max(0.0, population - value * area)
            soft = self.flag(where, entry, "soft", False)
            penalty = self.number(where, entry, "shortfall_penalty", 0.0, minimum=0)
            shares = entry.get("min_share", {})
            min_share: dict[str, float] = {}
            if not isinstance(shares, dict):
                self.problem(where, "min_share", shares, "a table of type id = share in [0, 1]")
            else:
                for type_id, share in shares.items():
                    if type_id not in self.declared_types:
                        self.problem(where, f"min_share.{type_id}", share, f"a type id (one of {', '.join(self.declared_types) or 'none'})")
                    key = f"min_share.{type_id}"
                    parsed = self.number(where, {key: share}, key, None, minimum=0, maximum=1)
                    if parsed is None:
                        self.problem(where, key, share, "a share in [0, 1]")
                    elif not is_invalid(parsed):
                        min_share[type_id] = parsed
            milestones = self.read_milestones(where, entry.get("milestones", {}))
            if is_invalid(city, population, area, target, value, soft, penalty) or not isinstance(city, str):
                continue
            sources[city] = Source(
                city=city, target_persons=float(target), target_form=form, target_value=float(value),
                core_population=population, core_area_km2=area, soft=soft,
                shortfall_penalty=penalty, min_share=min_share, milestones=milestones,
            )
        if not self.manifest.get("sources"):
            self.problem(self.label, "sources", None, "at least one [[sources]] entry (a megacity core)")
        return sources

    def read_milestones(self, where: str, given: object) -> dict[str, float]:
        """A source's ``milestones``: non-last period ids -> shares in [0, 1], not decreasing in period order."""
        if not isinstance(given, dict):
            self.problem(where, "milestones", given, "a table of period id = share of the target in [0, 1]")
            return {}
        milestones: dict[str, float] = {}
        for pid in self.period_keys(where, "milestones", given):
            key = f"milestones.{pid}"
            parsed = self.number(where, {key: given[pid]}, key, None, minimum=0, maximum=1)
            if parsed is None:
                self.problem(where, key, given[pid], "a share in [0, 1]")
            elif not is_invalid(parsed):
                milestones[pid] = parsed
        ordered = [p for p in self.declared_periods if p in milestones]
        for before, after in zip(ordered, ordered[1:]):
            if milestones[after] < milestones[before]:
                self.problem(where, f"milestones.{after}", milestones[after],
                             f"a share >= the earlier milestone {before!r} ({milestones[before]:g}): "
                             "milestones do not decrease")
        return milestones

    def read_facilities(
        self, table: RawTable | None, types: Mapping[str, FacilityType], sources: Mapping[str, Source],
        resources: list[Resource],
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        columns = ["origin", "type", "count", "jobs", "residents", "service_units", "fixed_cost", "must_move",
                   "earliest", "latest"]
        if table is None:
            empty = pd.DataFrame(columns=columns, index=pd.Index([], name="id", dtype=object))
            return empty, pd.DataFrame(index=empty.index)
        self.require_columns(table, ["id", "origin", "type"])
        for resource in resources:
            if resource.use not in table.columns and resource.use not in BUILTIN_FACILITY_COLUMNS:
                self.problem(
                    f"{self.label} [[resources]] (id {resource.id!r})", "use", resource.use,
                    f"a column of {table.label} or a built-in column (jobs, residents, service_units)",
                )
        records: list[dict[str, Any]] = []
        uses: list[list[float]] = []
        ids: list[str] = []
        seen: set[str] = set()
        for index, row in enumerate(table.rows):
            fid, where = self.row_id(table, index, "facility", seen)
            origin = as_text(row.get("origin"), where, "origin", self.problems)
            if isinstance(origin, str) and origin not in self.declared_sources:
                self.problem(where, "origin", origin, f"the city id of a source ({', '.join(self.declared_sources) or 'none declared'})")
            elif origin is None:
                self.problem(where, "origin", None, "the city id of a source (required)")
            type_id = as_text(row.get("type"), where, "type", self.problems)
            if isinstance(type_id, str) and type_id not in self.declared_types:
                self.problem(where, "type", type_id, f"a type id ({', '.join(self.declared_types) or 'none declared'})")
            elif type_id is None:
                self.problem(where, "type", None, "a type id (required)")
            count = as_number(row.get("count"), where, "count", self.problems, minimum=0, whole=True)
            jobs = as_number(row.get("jobs"), where, "jobs", self.problems, minimum=0)
            residents = as_number(row.get("residents"), where, "residents", self.problems, minimum=0)
            service = as_number(row.get("service_units"), where, "service_units", self.problems, minimum=0)
            fixed = as_number(row.get("fixed_cost"), where, "fixed_cost", self.problems)
            must_move = as_bool(row.get("must_move"), where, "must_move", self.problems)
            earliest, latest = self.facility_window(where, row)
            kind = types.get(type_id) if isinstance(type_id, str) else None
            jobs_value = 0.0 if jobs is None or jobs is INVALID else cast(float, jobs)
            if residents is None:
                residents = jobs_value * (kind.household_factor if kind else 1.0)
            record = {
                "origin": origin, "type": type_id,
                "count": 1 if count is None else count,
                "jobs": jobs_value, "residents": residents,
                "service_units": 0.0 if service is None else service,
                "fixed_cost": 0.0 if fixed is None else fixed,
                "must_move": False if must_move is None else must_move,
                "earliest": earliest, "latest": latest,
            }
            builtin = {"jobs": record["jobs"], "residents": record["residents"], "service_units": record["service_units"]}
            use_row: list[float] = []
            for resource in resources:
                if resource.use in BUILTIN_FACILITY_COLUMNS:
                    use_row.append(cast(float, builtin[resource.use]))
                    continue
                use = as_number(row.get(resource.use), where, resource.use, self.problems, minimum=0)
                use_row.append(0.0 if use is None or use is INVALID else cast(float, use))
            if isinstance(fid, str):
                ids.append(fid)
                records.append(record)
                uses.append([u if isinstance(u, float) else 0.0 for u in use_row])
        frame = pd.DataFrame(records, columns=columns, index=pd.Index(ids, name="id", dtype=object))
        if self.problems:
            return frame, pd.DataFrame(index=frame.index)
        frame = frame.astype(
            {"count": np.int64, "jobs": float, "residents": float, "service_units": float,
             "fixed_cost": float, "must_move": bool, "origin": object, "type": object,
             "earliest": object, "latest": object}
        )
        use_frame = pd.DataFrame(
            np.array(uses, dtype=float).reshape(len(ids), len(resources)),
            index=frame.index, columns=[r.id for r in resources],
        )
        return frame, use_frame

    def facility_window(self, where: str, row: Mapping[str, Any]) -> tuple[str, str]:
        """A facility's ``earliest`` and ``latest`` period ids (defaults: first and last; "" without periods)."""
        periods = self.declared_periods
        given: dict[str, Any] = {}
        for column in ("earliest", "latest"):
            value = as_text(row.get(column), where, column, self.problems)
            if value is None or value is INVALID:
                continue
            if not periods:
                self.problem(where, column, value, "an empty cell (the instance has no [[periods]])")
            elif value not in periods:
                self.problem(where, column, value, f"a period id ({', '.join(periods)})")
            else:
                given[column] = value
        if not periods:
            return "", ""
        earliest, latest = given.get("earliest", periods[0]), given.get("latest", periods[-1])
        if periods.index(earliest) > periods.index(latest):
            self.problem(where, "earliest", earliest, f"a period not after latest ({latest!r})")
        return earliest, latest

    def read_arcs(
        self, table: RawTable | None, facilities: pd.DataFrame, cities: pd.DataFrame, resources: list[Resource]
    ) -> pd.DataFrame | None:
        if table is None:
            return None
        self.require_columns(table, ["facility", "destination"])
        use_columns = {f"use_{r.id}": r.id for r in resources}
        rows: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for index, row in enumerate(table.rows):
            base = table.where(index)
            facility = as_text(row.get("facility"), base, "facility", self.problems)
            destination = as_text(row.get("destination"), base, "destination", self.problems)
            where = f"{base} ({facility!r} -> {destination!r})" if isinstance(facility, str) and isinstance(destination, str) else base
            if facility is None:
                self.problem(where, "facility", None, "a facility id (required)")
            elif isinstance(facility, str) and facility not in facilities.index and "facilities" not in self.unreadable:
                self.problem(where, "facility", facility, "the id of a facility in the facilities table")
            if destination is None:
                self.problem(where, "destination", None, "a city id (required)")
            elif isinstance(destination, str) and destination not in cities.index and "cities" not in self.unreadable:
                self.problem(where, "destination", destination, "the id of a city in the cities table")
            if isinstance(facility, str) and isinstance(destination, str):
                if (facility, destination) in seen:
                    self.problem(where, None, None, "each (facility, destination) pair once (this pair repeats)")
                seen.add((facility, destination))
            cost = as_number(row.get("cost"), where, "cost", self.problems)
            record: dict[str, Any] = {
                "facility": facility, "destination": destination,
                "cost": np.nan if cost is None or cost is INVALID else cost,
            }
            for column in use_columns:
                value = as_number(row.get(column), where, column, self.problems, minimum=0)
                record[column] = np.nan if value is None or value is INVALID else value
            rows.append(record)
        frame = pd.DataFrame(rows, columns=["facility", "destination", "cost", *use_columns])
        return frame.astype({"cost": float, **{c: float for c in use_columns}})

    def read_sites(
        self, table: RawTable | None, types: Mapping[str, FacilityType], cities: pd.DataFrame,
        sources: Mapping[str, Source],
    ) -> pd.DataFrame | None:
        if table is None:
            return None
        self.require_columns(table, ["type", "city"])
        rows: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for index, row in enumerate(table.rows):
            base = table.where(index)
            type_id = as_text(row.get("type"), base, "type", self.problems)
            city = as_text(row.get("city"), base, "city", self.problems)
            where = f"{base} ({type_id!r} at {city!r})" if isinstance(type_id, str) and isinstance(city, str) else base
            if type_id is None:
                self.problem(where, "type", None, "a type id (required)")
            elif isinstance(type_id, str):
                if type_id not in self.declared_types:
                    self.problem(where, "type", type_id, f"a type id ({', '.join(self.declared_types) or 'none declared'})")
                elif type_id in types and not types[type_id].requires_site:
                    self.problem(where, "type", type_id, "a type with requires_site = true (only those have sites)")
            if city is None:
                self.problem(where, "city", None, "a city id (required)")
            elif isinstance(city, str):
                if city not in cities.index:
                    if "cities" not in self.unreadable:
                        self.problem(where, "city", city, "the id of a city in the cities table")
                elif city in sources:
                    self.problem(where, "city", city, "a destination (this city is a source)")
            if isinstance(type_id, str) and isinstance(city, str):
                if (type_id, city) in seen:
                    self.problem(where, None, None, "each (type, city) pair once (this pair repeats)")
                seen.add((type_id, city))
            cost = as_number(row.get("site_cost"), where, "site_cost", self.problems, minimum=0)
            capacity = as_number(row.get("capacity_jobs"), where, "capacity_jobs", self.problems, minimum=0)
            rows.append({
                "type": type_id, "city": city,
                "site_cost": np.nan if cost is None or cost is INVALID else cost,
                "capacity_jobs": np.nan if capacity is None or capacity is INVALID else capacity,
            })
        frame = pd.DataFrame(rows, columns=["type", "city", "site_cost", "capacity_jobs"])
        return frame.astype({"site_cost": float, "capacity_jobs": float})

    def read_distances(self, table: RawTable | None, cities: pd.DataFrame) -> pd.DataFrame | None:
        """km and/or minutes per pair, read both ways; one value of each column per pair."""
        if table is None:
            return None
        self.require_columns(table, ["from", "to"])
        if "km" not in table.columns and "minutes" not in table.columns:
            self.problem(table.label, "km", None,
                         f"a column named 'km' or 'minutes' (columns found: {', '.join(table.columns) or 'none'})")
        rows: list[dict[str, Any]] = []
        known: dict[tuple[str, frozenset[str]], tuple[float, str]] = {}
        for index, row in enumerate(table.rows):
            base = table.where(index)
            a = as_text(row.get("from"), base, "from", self.problems)
            b = as_text(row.get("to"), base, "to", self.problems)
            where = f"{base} ({a!r} - {b!r})" if isinstance(a, str) and isinstance(b, str) else base
            for column, city in (("from", a), ("to", b)):
                if city is None:
                    self.problem(where, column, None, "a city id (required)")
                elif isinstance(city, str) and city not in cities.index and "cities" not in self.unreadable:
                    self.problem(where, column, city, "the id of a city in the cities table")
            km = as_number(row.get("km"), where, "km", self.problems, minimum=0)
            minutes = as_number(row.get("minutes"), where, "minutes", self.problems, minimum=0)
            if km is None and minutes is None:
                self.problem(where, "km", None, "a distance in km >= 0 and/or a travel time in minutes >= 0")
            if isinstance(a, str) and isinstance(b, str):
                if a == b:
                    self.problem(where, "to", b, "a city other than 'from' (a city's distance to itself is 0)")
                    continue
                pair = frozenset((a, b))
                for column, value in (("km", km), ("minutes", minutes)):
                    if not isinstance(value, float):
                        continue
                    seen = known.get((column, pair))
                    if seen is not None and seen[0] != value:
                        self.problem(where, column, value,
                                     f"the same {column} as {seen[1]} ({seen[0]}) for this pair")
                    known.setdefault((column, pair), (value, table.row_labels[index]))
                if isinstance(km, float) or isinstance(minutes, float):
                    rows.append({"from": a, "to": b,
                                 "km": km if isinstance(km, float) else np.nan,
                                 "minutes": minutes if isinstance(minutes, float) else np.nan})
        return pd.DataFrame(rows, columns=["from", "to", "km", "minutes"]).astype({"km": float, "minutes": float})

    def check_minutes_rules(
        self, types: Mapping[str, FacilityType], travel: Travel | None, facilities: pd.DataFrame,
        cities: pd.DataFrame, sources: Mapping[str, Source], distances: pd.DataFrame | None,
    ) -> None:
        """A type with a minutes rule needs [travel] unless the distances table times every pair it meets."""
        if travel is not None or "travel" in self.manifest:
            return
        timed: set[frozenset[str]] = set()
        if distances is not None and len(distances):
            given = distances[distances["minutes"].notna()]
            timed = {frozenset((a, b)) for a, b in zip(given["from"], given["to"])}
        destinations = [c for c in cities.index if c not in sources]
        for type_id, kind in types.items():
            if kind.min_minutes is None and kind.max_minutes is None:
                continue
            origins = sorted(set(facilities.loc[facilities["type"] == type_id, "origin"])) if len(facilities) else []
            missing = [(o, d) for o in origins for d in destinations if frozenset((o, d)) not in timed]
            if missing:
                key = "max_minutes" if kind.max_minutes is not None else "min_minutes"
                o, d = missing[0]
                self.problem(
                    self.type_where.get(type_id, self.label), key, getattr(kind, key),
                    f"a [travel] table (speed_kmh, detour): the distances table gives no minutes for "
                    f"{len(missing)} pair(s) of an origin and a destination of this type, e.g. {o!r} - {d!r}",
                )

    def read_policy(self, cities: pd.DataFrame, sources: Mapping[str, Source]) -> Policy:
        section = self.section("policy")
        where = f"{self.label} [policy]"
        self.unknown_keys(where, section, POLICY_KEYS)
        budget = self.number(where, section, "budget", None, minimum=0)
        share = self.number(where, section, "max_destination_share", None, minimum=0, maximum=1)
        regions_given = section.get("min_region_share", {})
        min_region_share: dict[str, float] = {}
        if not isinstance(regions_given, dict):
            self.problem(where, "min_region_share", regions_given, "a table of region = share in [0, 1]")
        else:
            destination_regions = {
                r for c, r in zip(cities.index, cities["region"]) if c not in sources and r != ""
            } if len(cities) else set()
            for region, value in regions_given.items():
                key = f"min_region_share.{region}"
                if len(cities) and region not in destination_regions:
                    self.problem(where, key, value, f"a region that some destination has ({', '.join(sorted(destination_regions)) or 'none'})")
                parsed = self.number(where, {key: value}, key, None, minimum=0, maximum=1)
                if parsed is None:
                    self.problem(where, key, value, "a share in [0, 1]")
                elif not is_invalid(parsed):
                    min_region_share[region] = parsed
            total = sum(min_region_share.values())
            if total > 1 + 1e-12:
                self.problem(where, "min_region_share", round(total, 12), "shares summing to <= 1")
        if is_invalid(budget, share):
            return Policy()
        return Policy(budget=budget, max_destination_share=share, min_region_share=min_region_share)

    def read_weights(self) -> Weights:
        section = self.section("objective")
        where = f"{self.label} [objective]"
        self.unknown_keys(where, section, OBJECTIVE_KEYS)
        given = section.get("weights", {})
        if not isinstance(given, dict):
            self.problem(where, "weights", given, "a table of component = weight")
            return Weights()
        self.unknown_keys(f"{where} weights", given, set(WEIGHT_NAMES))
        values = {name: self.number(f"{where} weights", given, name, 1.0, minimum=0) for name in WEIGHT_NAMES}
        if is_invalid(*values.values()):
            return Weights()
        return Weights(**values)

    def row_id(self, table: RawTable, index: int, kind: str, seen: set[str]) -> tuple[Any, str]:
        """The row's id (required, unique) and the row's location for messages."""
        row_id = as_text(table.rows[index].get("id"), table.where(index), "id", self.problems)
        where = table.where(index, row_id if isinstance(row_id, str) else None)
        if row_id is None:
            self.problem(where, "id", None, f"a {kind} id (required)")
        elif isinstance(row_id, str):
            if row_id in seen:
                self.problem(where, "id", row_id, f"a unique {kind} id (this one repeats)")
            seen.add(row_id)
        return row_id, where

    def require_columns(self, table: RawTable, columns: list[str]) -> None:
        present = set(table.columns)
        for column in columns:
            if column not in present:
                self.problem(table.label, column, None, f"a column named {column!r} (columns found: {', '.join(table.columns) or 'none'})")


class _DataLoader(_Loader):
    """A :class:`_Loader` over tables given as data (see :func:`load_instance_from_data`)."""

    def __init__(self, path: Path, label: str, manifest: dict[str, Any], manifest_bytes: bytes,
                 tables: Mapping[str, RawTable]) -> None:
        super().__init__(path, label, manifest, manifest_bytes)
        self.given_tables = dict(tables)

    def read_tables(self) -> dict[str, RawTable]:
        return self.given_tables


def _checked_coordinate(value: float, low: float, high: float, where: str, column: str, problems: list[Problem]) -> Any:
    return as_number(value, where, column, problems, minimum=low, maximum=high)


def _present(value: object) -> bool:
    """Given at all: NaN, like an empty cell, means absent (spec §2)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _is_number(value: object) -> bool:
    return isinstance(value, float) and not math.isnan(value)


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)

