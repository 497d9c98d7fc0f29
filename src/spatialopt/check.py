"""Independent check of a solution against its instance (spec §3–§5).

Why a second implementation
---------------------------
The model code turns an :class:`~spatialopt.instance.Instance` into a Pyomo
model and reads the solver's answer back. If that code gets a derived quantity
wrong (a distance read the wrong way round, a cost override applied to the
wrong term, an eligibility rule forgotten), the solver will happily optimise
the wrong model and every number it reports will be consistent with that wrong
model. A checker that re-used the model code would agree with it.

So this module deliberately shares *nothing* with the model: it imports
neither Pyomo nor any spatialopt module other than ``instance`` (the data) and
``errors``. It re-derives everything from the spec with plain numpy, in its
own way: its own haversine, its own eligibility rules, its own per-unit
costs, its own site candidates. Then it evaluates every constraint family of
§4 on the assignments and sites written in ``solution.json`` and recomputes
the objective and its components. When this checker and the model disagree,
one of them misreads the spec; the message says which rule and which numbers.

Validity rule (end of spec §5)
------------------------------
- every constraint holds with ``|violation| <= 1e-6 * max(1, |lhs|, |rhs|)``;
- every integer variable (units of a non-splittable type) is within 1e-6 of
  a whole number;
- only eligible arcs and site candidates are used;
- ``objective`` and ``components`` recomputed from ``assignments`` and
  ``sites`` match within the same tolerance.

Variables the file does not list are implied: ``y_kd = 1`` exactly for the
listed sites (the file lists every opened site) and ``u_s = max(0, T_s -
moved_s)`` for a soft source, the smallest shortfall that satisfies its target
row (with a positive penalty it is also the only optimal one).

Layout
------
:func:`check_solution` parses the file's lists into integer positions (one
small function per step), then runs one small function per constraint family.
Every family function works on whole numpy arrays (``np.bincount`` to group
by facility, destination, source or site), so ~1M assignments take seconds,
and builds message lines only for the rows that fail. Each line starts with
the family name as the spec's table spells it (``capacity: ...``), so tests
and users can grep for it.
"""

from __future__ import annotations

import math
import reprlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from spatialopt.instance import WEIGHT_NAMES, Instance
from spatialopt.tolerances import DISTANCE_EPS, FEASIBILITY_TOL, GAP_DENOMINATOR_FLOOR

#: Relative tolerance of the spec's validity rule (§5).
TOL = FEASIBILITY_TOL
#: Slack on the inclusive distance bounds of eligibility, relative to the
#: bound. Eligibility is not a §4 row, so the 1e-6 rule does not apply; this
#: only absorbs rounding between two correct haversine formulas, so that an
#: arc exactly on ``max_km`` is not rejected because of the last bit.
DIST_EPS = DISTANCE_EPS
#: Earth radius of spec §3, km.
EARTH_RADIUS_KM = 6371.0088

STATUSES_WITH_SOLUTION = ("optimal", "feasible")
STATUSES_WITHOUT_SOLUTION = ("infeasible", "unbounded", "limit_no_solution", "error")
STATUSES = STATUSES_WITH_SOLUTION + STATUSES_WITHOUT_SOLUTION
COMPONENT_NAMES = WEIGHT_NAMES  # relocation, operating, access, sites, shortfall

_REQUIRED_KEYS = ("status", "objective", "bound", "gap", "components", "assignments", "sites", "sources")
_SOURCE_NUMBERS = ("target", "moved_residents", "shortfall")
_SOURCE_NULLABLE = ("density_before", "density_after")
#: Largest magnitude of a number in a solution file. Plans need nothing near
#: it; the bound keeps every product with the instance's coefficients, and
#: every sum of them, finite (a file with 1e308 units would otherwise turn
#: the recomputation into inf - inf).
MAX_MAGNITUDE = 1e100
_NUMBER = f"a finite number with |value| <= {MAX_MAGNITUDE:g}"
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlevel = 3
#: Format problems listed before "... and N more" (a file with a million
#: broken rows should not produce a million-line exception).
_MAX_FORMAT_PROBLEMS = 20


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check_solution` found.

    ``violations`` holds one line per violation, each starting with its family
    (``assign: ...``, ``eligibility: ...``); when a family has more failing
    rows than the line limit, its last line says how many were not shown.
    ``components`` and ``objective`` are the checker's own recomputation from
    the file's assignments and sites (``{}`` and ``None`` when the status has
    no solution or the file is malformed).
    """

    violations: list[str] = field(default_factory=list)
    components: dict[str, float] = field(default_factory=dict)
    objective: float | None = None

    @property
    def ok(self) -> bool:
        """True when the solution is valid by the spec's rule (§5)."""
        return not self.violations

    @property
    def families(self) -> set[str]:
        """The families that have at least one violation."""
        return {line.split(":", 1)[0] for line in self.violations}

    def __str__(self) -> str:
        if self.ok:
            return "solution is valid"
        head = f"{len(self.violations)} violation line(s)"
        return head + "\n" + "\n".join(f"  {line}" for line in self.violations)


# Overflow in a product or a sum is reported as a violation (a non-finite
# recomputation), not as numpy warnings on the terminal.
@np.errstate(over="ignore", invalid="ignore")
def check_solution(
    instance: Instance, solution: Mapping[str, Any], *, max_lines_per_family: int | None = 100
) -> CheckReport:
    """Check ``solution`` (a parsed ``solution.json``) against ``instance``.

    Returns a :class:`CheckReport`; ``report.ok`` says whether the solution is
    valid by the rule of spec §5. A malformed ``solution`` is reported (family
    ``format``) rather than raised, and nothing else is checked then.
    ``max_lines_per_family`` caps the lines per family (``None``: no cap);
    the overflow is counted in one extra line.
    """
    out = _Violations(max_lines_per_family)
    problems = _format_problems(solution)
    if problems:
        for problem in problems:
            out.add("format", problem)
        return CheckReport(out.finish())

    _check_identity(instance, solution, out)
    if solution["status"] in STATUSES_WITHOUT_SOLUTION:
        # Nothing was found, so there is nothing to evaluate: only the shape of
        # "no solution" is checked (nulls, empty lists).
        _check_no_solution(solution, out)
        return CheckReport(out.finish())

    data = _InstanceArrays(instance)
    arcs = _read_assignments(solution["assignments"], data, out)
    opened = _read_sites(solution["sites"], data, out)
    dist = data.dist[data.fac_source[arcs.fac], arcs.dest]
    arcs_row = data.arc_rows(arcs.fac, arcs.dest)

    _check_eligibility(data, arcs, dist, arcs_row, out)
    _check_integrality(data, arcs, out)

    moved = np.bincount(data.fac_source[arcs.fac], weights=data.residents[arcs.fac] * arcs.units,
                        minlength=data.n_sources)
    _check_assign(data, arcs, out)
    _check_target(data, moved, out)
    _check_min_share(data, arcs, out)
    _check_capacity(data, arcs, arcs_row, out)
    site_jobs = _site_jobs(data, arcs)
    _check_site_link(data, arcs, opened, out)
    _check_site_capacity(data, site_jobs, opened, out)
    _check_site_min(data, site_jobs, opened, out)
    _check_site_count(data, opened, out)

    unit_r, unit_p, unit_a = _unit_costs(data, arcs, dist, arcs_row)
    site_cost_total = float(data.site_cost[opened].sum())
    _check_budget(data, arcs, unit_r, site_cost_total, out)
    _check_destination_share(data, arcs, out)
    _check_region_share(data, arcs, out)

    shortfall = np.maximum(0.0, data.target - moved)
    components = {
        "relocation": float(np.dot(unit_r, arcs.units)),
        "operating": float(np.dot(unit_p, arcs.units)),
        "access": float(np.dot(unit_a, arcs.units)),
        "sites": site_cost_total,
        # u_s exists only for soft sources; a hard source's shortfall is a
        # target violation, not a cost.
        "shortfall": float(np.sum(np.where(data.soft, data.penalty * shortfall, 0.0))),
    }
    weights = instance.weights.as_dict()
    objective = _finite_sum([weights[name] * components[name] for name in COMPONENT_NAMES])
    _check_objective(solution, components, objective, out)
    _check_sources(data, solution["sources"], moved, shortfall, out)
    _check_gap(solution, out)
    return CheckReport(out.finish(), components, objective)


def haversine_km(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in km (spec §3, R = 6371.0088 km); broadcasts over arrays."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlam = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    # Clip: rounding can push h a hair above 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


# --------------------------------------------------------------------------- tolerance


def _slack(lhs: Any, rhs: Any) -> Any:
    """The allowed violation of a row ``lhs ? rhs`` (spec §5)."""
    return TOL * np.maximum(1.0, np.maximum(np.abs(lhs), np.abs(rhs)))


def _le_fails(lhs: Any, rhs: Any) -> Any:
    return np.asarray(lhs - rhs > _slack(lhs, rhs))


def _ge_fails(lhs: Any, rhs: Any) -> Any:
    return np.asarray(rhs - lhs > _slack(lhs, rhs))


def _eq_fails(lhs: Any, rhs: Any) -> Any:
    return np.asarray(np.abs(lhs - rhs) > _slack(lhs, rhs))


def _num(x: float) -> str:
    """Numbers in messages: enough digits to see a 1e-6 relative difference."""
    return f"{x:.10g}"


# --------------------------------------------------------------------------- collecting lines


class _Violations:
    """Collects violation lines, at most ``limit`` per family plus a count of the rest."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.lines: list[str] = []
        self.shown: Counter[str] = Counter()
        self.hidden: Counter[str] = Counter()

    def add(self, family: str, text: str) -> None:
        if self.limit is not None and self.shown[family] >= self.limit:
            self.hidden[family] += 1
            return
        self.shown[family] += 1
        self.lines.append(f"{family}: {text}")

    def add_each(self, family: str, failing: Any, describe: Callable[[int], str]) -> None:
        """One line per true entry of the boolean array ``failing``.

        ``describe(i)`` is only called for the lines shown, so a family with a
        million failing rows costs one ``nonzero`` and ``limit`` f-strings.
        """
        indices = np.flatnonzero(failing)
        room = len(indices) if self.limit is None else max(0, self.limit - self.shown[family])
        for i in indices[:room]:
            self.add(family, describe(int(i)))
        self.hidden[family] += max(0, len(indices) - room)

    def finish(self) -> list[str]:
        tail = [f"{fam}: ... and {n} more {fam} violation(s) not shown" for fam, n in self.hidden.items() if n]
        return self.lines + tail


# --------------------------------------------------------------------------- file shape


def _is_number(value: Any) -> bool:
    # bool is an int in Python, but `true` is not a number in the file.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):  # compared as an int: a 400-digit one does not fit a float
        return -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE
    return math.isfinite(value) and abs(value) <= MAX_MAGNITUDE


def _show(value: Any) -> str:
    """A value in a message: short, and safe for any size or depth."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"{'-' if value < 0 else ''}<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    return _SHORT.repr(value)


def solution_format_problems(sol: Any) -> list[str]:
    """What is wrong with the shape of a parsed ``solution.json`` (missing keys, wrong types); empty when fine.

    :func:`spatialopt.result_folder.load_solution` reads the file and reports these.
    """
    return _format_problems(sol)


def _format_problems(sol: Any) -> list[str]:
    """Every problem with the shape of a solution dict (keys and value types)."""
    problems: list[str] = []
    if not isinstance(sol, Mapping):
        return [f"the top level must be a JSON object, got {type(sol).__name__}"]
    problems += [f"missing required key {key!r}" for key in _REQUIRED_KEYS if key not in sol]

    status = sol.get("status")
    if "status" in sol and status not in STATUSES:
        problems.append(f"status={_show(status)}, expected one of {', '.join(STATUSES)}")
    for key in ("objective", "bound", "gap"):
        if key in sol and sol[key] is not None and not _is_number(sol[key]):
            problems.append(f"{key}={_show(sol[key])}, expected {_NUMBER} or null")
    for key in ("instance", "instance_sha256"):
        if key in sol and not isinstance(sol[key], str):
            problems.append(f"{key}={_show(sol[key])}, expected a string")
    if "solver" in sol and not isinstance(sol["solver"], Mapping):
        problems.append(f"solver={_show(sol['solver'])}, expected an object")

    comps = sol.get("components")
    if comps is not None:
        if not isinstance(comps, Mapping):
            problems.append(f"components={_show(comps)}, expected an object or null")
        else:
            problems += [
                f"components.{_show(k)}={_show(v)}, expected {_NUMBER}"
                for k, v in comps.items()
                if not _is_number(v)
            ]

    row_problems: list[str] = []
    assignment_fields = {"facility": str, "destination": str, "units": float}
    row_problems += _list_problems(sol, "assignments", assignment_fields, ())
    row_problems += _list_problems(sol, "sites", {"type": str, "city": str}, ())
    numbers = {key: float for key in _SOURCE_NUMBERS}
    row_problems += _list_problems(sol, "sources", {"city": str, **numbers}, _SOURCE_NULLABLE)
    if len(row_problems) > _MAX_FORMAT_PROBLEMS:
        more = len(row_problems) - _MAX_FORMAT_PROBLEMS
        row_problems = row_problems[:_MAX_FORMAT_PROBLEMS] + [f"... and {more} more row problem(s)"]
    return problems + row_problems


def _list_problems(
    sol: Mapping[str, Any], key: str, fields: Mapping[str, type], nullable: Sequence[str]
) -> list[str]:
    """Problems of the list ``sol[key]``: each row an object with the given fields."""
    if key not in sol:
        return []
    rows = sol[key]
    if not isinstance(rows, list):
        return [f"{key}={_show(rows)}, expected a list"]
    problems = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            problems.append(f"{key}[{i}]={_show(row)}, expected an object")
            continue
        for name, kind in fields.items():
            if name not in row:
                problems.append(f"{key}[{i}]: missing {name!r}")
            elif kind is str and not isinstance(row[name], str):
                problems.append(f"{key}[{i}].{name}={_show(row[name])}, expected a string")
            elif kind is float and not _is_number(row[name]):
                problems.append(f"{key}[{i}].{name}={_show(row[name])}, expected {_NUMBER}")
        for name in nullable:
            if name not in row:
                problems.append(f"{key}[{i}]: missing {name!r} (null when unknown)")
            elif row[name] is not None and not _is_number(row[name]):
                problems.append(f"{key}[{i}].{name}={_show(row[name])}, expected {_NUMBER} or null")
    return problems


def _check_identity(instance: Instance, sol: Mapping[str, Any], out: _Violations) -> None:
    """A solution of another instance is not checked against this one by mistake."""
    name = sol.get("instance")
    if name is not None and name != instance.name:
        out.add("instance", f"the solution is for instance {name!r}, this instance is {instance.name!r}")
    sha = sol.get("instance_sha256")
    # An instance built in memory has no hash ("") and a file may omit it.
    if sha and instance.sha256 and sha != instance.sha256:
        out.add("instance", f"instance_sha256 {sha} differs from the instance's {instance.sha256}")


def _check_no_solution(sol: Mapping[str, Any], out: _Violations) -> None:
    status = sol["status"]
    for key in ("objective", "bound", "gap"):
        if sol[key] is not None:
            out.add("objective", f"status {status!r} has no solution, so {key} must be null, "
                                 f"got {sol[key]!r}")
    for key in ("assignments", "sites"):
        if sol[key]:
            out.add("format", f"status {status!r} has no solution, so {key} must be empty, "
                              f"got {len(sol[key])} row(s)")


# --------------------------------------------------------------------------- instance as arrays


class _InstanceArrays:
    """The instance as positional numpy arrays, with §3's derived data.

    Cities, facilities, types and sources are numbered by their position in
    the instance's tables; every per-arc quantity is then a fancy index.
    """

    def __init__(self, inst: Instance) -> None:
        cities, facs = inst.cities, inst.facilities
        self.inst = inst
        self.city_ids = pd.Index(cities.index.astype(str))
        self.fac_ids = pd.Index(facs.index.astype(str))
        self.type_ids = list(inst.types)
        self.source_ids = list(inst.sources)
        self.n_cities, self.n_facs = len(self.city_ids), len(self.fac_ids)
        self.n_types, self.n_sources = len(self.type_ids), len(self.source_ids)
        types = [inst.types[k] for k in self.type_ids]

        # Cities.
        self.is_source = self.city_ids.isin(self.source_ids)
        self.tier = cities["tier"].fillna("").astype(str).to_numpy(dtype=object)
        self.region = cities["region"].fillna("").astype(str).to_numpy(dtype=object)
        self.cluster = cities["cluster"].fillna("").astype(str).to_numpy(dtype=object)
        self.cost_index = cities["cost_index"].to_numpy(dtype=float)

        # Facilities.
        self.fac_type = pd.Index(self.type_ids).get_indexer(facs["type"].astype(str))
        self.fac_origin = self.city_ids.get_indexer(facs["origin"].astype(str))
        self.fac_source = pd.Index(self.source_ids).get_indexer(facs["origin"].astype(str))
        self.count = facs["count"].to_numpy(dtype=float)
        self.jobs = facs["jobs"].to_numpy(dtype=float)
        self.residents = facs["residents"].to_numpy(dtype=float)
        self.service_units = facs["service_units"].to_numpy(dtype=float)
        self.fixed_cost = facs["fixed_cost"].to_numpy(dtype=float)
        self.must_move = facs["must_move"].fillna(False).astype(bool).to_numpy()

        # Types.
        def per_type(attr: str) -> np.ndarray:
            return np.array([float(getattr(t, attr)) for t in types], dtype=float)

        self.min_km, self.max_km = per_type("min_km"), per_type("max_km")
        self.same_cluster = np.array([t.same_cluster for t in types], dtype=bool)
        self.splittable = np.array([t.splittable for t in types], dtype=bool)
        self.requires_site = np.array([t.requires_site for t in types], dtype=bool)
        self.cost_per_job_km = per_type("cost_per_job_km")
        self.annual_cost_per_job = per_type("annual_cost_per_job")
        self.access_cost = per_type("access_cost_per_unit_km")
        self.min_site_jobs = per_type("min_site_jobs")
        self.min_sites, self.max_sites = per_type("min_sites"), per_type("max_sites")
        self.type_site_cost, self.type_site_cap = per_type("site_cost"), per_type("site_capacity_jobs")
        # tier_ok[k, d]: an empty tier matches no listed tier, but a type
        # without allowed_tiers accepts every city, empty tier included.
        self.tier_ok = np.ones((self.n_types, self.n_cities), dtype=bool)
        for k, t in enumerate(types):
            if t.allowed_tiers is not None:
                listed = {tier for tier in t.allowed_tiers if tier != ""}
                self.tier_ok[k] = [tier != "" and tier in listed for tier in self.tier]

        # Sources.
        srcs = [inst.sources[s] for s in self.source_ids]
        self.target = np.array([s.target_persons for s in srcs], dtype=float)
        self.soft = np.array([s.soft for s in srcs], dtype=bool)
        self.penalty = np.array([s.shortfall_penalty for s in srcs], dtype=float)

        self._sites(inst)
        self._distances(inst)
        self._arcs_table(inst)

    def _sites(self, inst: Instance) -> None:
        """Site candidates and their cost and capacity (spec §3), as [type, city] matrices."""
        self.site_row = np.zeros((self.n_types, self.n_cities), dtype=bool)
        self.site_cost = np.repeat(self.type_site_cost[:, None], self.n_cities, axis=1)
        self.site_cap = np.repeat(self.type_site_cap[:, None], self.n_cities, axis=1)
        sites = inst.sites
        if sites is not None and len(sites):
            k = pd.Index(self.type_ids).get_indexer(sites["type"].astype(str))
            d = self.city_ids.get_indexer(sites["city"].astype(str))
            keep = (k >= 0) & (d >= 0)
            k, d = k[keep], d[keep]
            self.site_row[k, d] = True
            # The row's value where given, else the type's (already in place).
            for column, matrix in (("site_cost", self.site_cost), ("capacity_jobs", self.site_cap)):
                if column in sites.columns:
                    values = pd.to_numeric(sites[column], errors="coerce").to_numpy(dtype=float)[keep]
                    given = ~np.isnan(values)
                    matrix[k[given], d[given]] = values[given]
        self.has_site_rows = self.site_row.any(axis=1)
        # A type that requires a site may open one in every destination, or
        # only at its own sites rows where the table has any.
        self.site_candidate = np.where(self.has_site_rows[:, None], self.site_row, ~self.is_source[None, :])
        self.site_candidate &= self.requires_site[:, None]

    def _distances(self, inst: Instance) -> None:
        """dist[s, d] from source s's city to every city d (spec §3).

        Only sources are origins, so a sources × cities matrix is all that is
        ever needed. The distances table wins over haversine, in both directions.
        """
        src_pos = self.city_ids.get_indexer(self.source_ids)
        lon = self.inst.cities["lon"].to_numpy(dtype=float)
        lat = self.inst.cities["lat"].to_numpy(dtype=float)
        self.dist = haversine_km(lon[src_pos][:, None], lat[src_pos][:, None], lon[None, :], lat[None, :])
        table = inst.distances
        if table is None or not len(table):
            return
        km = table["km"].to_numpy(dtype=float)
        source_index = pd.Index(self.source_ids)
        for a, b in (("from", "to"), ("to", "from")):
            s = source_index.get_indexer(table[a].astype(str))
            d = self.city_ids.get_indexer(table[b].astype(str))
            hit = (s >= 0) & (d >= 0)
            self.dist[s[hit], d[hit]] = km[hit]

    def _arcs_table(self, inst: Instance) -> None:
        """Index the arcs table by (facility, destination) for listing and overrides."""
        self.arcs = inst.arcs
        if self.arcs is None:
            self._arc_keys = None
            return
        f = self.fac_ids.get_indexer(self.arcs["facility"].astype(str)).astype(np.int64)
        d = self.city_ids.get_indexer(self.arcs["destination"].astype(str)).astype(np.int64)
        keys = pd.Index(f * self.n_cities + d)
        # A validated arcs table has known ids and unique pairs; keep the first
        # of each anyway so that get_indexer below never sees a repeated key.
        keep = np.flatnonzero((f >= 0) & (d >= 0) & ~keys.duplicated())
        self._arc_keys, self._arc_table_row = keys[keep], keep

    def arc_rows(self, fac: np.ndarray, dest: np.ndarray) -> np.ndarray | None:
        """Row of the arcs table for each (fac, dest), -1 when unlisted; None without a table."""
        if self._arc_keys is None:
            return None
        keys = fac.astype(np.int64) * self.n_cities + dest.astype(np.int64)
        found = np.asarray(self._arc_keys.get_indexer(keys))
        rows = np.full(len(keys), -1, dtype=np.int64)
        rows[found >= 0] = self._arc_table_row[found[found >= 0]]
        return rows

    def arc_override(self, column: str, rows: np.ndarray | None, size: int) -> np.ndarray:
        """The arcs table's ``column`` for each arc; NaN where unlisted or empty (no override)."""
        values = np.full(size, np.nan)
        if rows is None or self.arcs is None or column not in self.arcs.columns:
            return values
        col = pd.to_numeric(self.arcs[column], errors="coerce").to_numpy(dtype=float)
        listed = rows >= 0
        values[listed] = col[rows[listed]]
        return values


# --------------------------------------------------------------------------- reading the file's lists


@dataclass(frozen=True)
class _Arcs:
    """The used arcs: one entry per distinct (facility, destination), units summed."""

    fac: np.ndarray  # facility position
    dest: np.ndarray  # city position
    units: np.ndarray


def _read_assignments(rows: list[Mapping[str, Any]], data: _InstanceArrays, out: _Violations) -> _Arcs:
    """Turn the assignments list into arrays; report unknown ids, duplicates and units <= 0.

    Rows with an unknown id are dropped (nothing can be computed for them).
    A pair listed twice is reported, then its units are summed: that is the
    only reading under which the rest of the checks still mean something.
    """
    fac_names = [row["facility"] for row in rows]
    dest_names = [row["destination"] for row in rows]
    units = np.fromiter((row["units"] for row in rows), dtype=float, count=len(rows))
    fac = np.asarray(data.fac_ids.get_indexer(fac_names), dtype=np.int64)
    dest = np.asarray(data.city_ids.get_indexer(dest_names), dtype=np.int64)

    out.add_each("unknown ids", fac < 0,
                 lambda i: f"assignments[{i}] names facility {fac_names[i]!r}, not in the facilities table")
    out.add_each("unknown ids", dest < 0,
                 lambda i: f"assignments[{i}] names destination {dest_names[i]!r}, not in the cities table")
    # x_fd >= 0, and §5 lists only arcs with units > 0.
    out.add_each("assign", units <= 0,
                 lambda i: f"assignments[{i}] {fac_names[i]!r} -> {dest_names[i]!r}: units={_num(units[i])}, "
                           "expected > 0 (only arcs with units > 0 are listed)")

    known = (fac >= 0) & (dest >= 0)
    keys = fac[known] * data.n_cities + dest[known]
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    out.add_each("duplicates", counts > 1,
                 lambda j: f"assignment {data.fac_ids[unique[j] // data.n_cities]!r} -> "
                           f"{data.city_ids[unique[j] % data.n_cities]!r} is listed {counts[j]} times "
                           "(each pair once); its units are summed for the other checks")
    summed = np.bincount(inverse, weights=units[known], minlength=len(unique))
    return _Arcs(fac=unique // data.n_cities, dest=unique % data.n_cities, units=summed)


def _read_sites(rows: list[Mapping[str, Any]], data: _InstanceArrays, out: _Violations) -> np.ndarray:
    """The opened sites as a bool [type, city] matrix (y_kd = 1 exactly where listed).

    Reports unknown ids, pairs listed twice, and sites that are not candidates
    (§3) under ``eligibility``. A non-candidate at a known requiring-site type
    and known city is still counted as open, since the file says it is, so the
    site rows and costs below see what the file claims.
    """
    opened = np.zeros((data.n_types, data.n_cities), dtype=bool)
    seen: Counter[tuple[str, str]] = Counter()
    type_pos = {k: i for i, k in enumerate(data.type_ids)}
    city_pos = {c: i for i, c in enumerate(data.city_ids)}
    for i, row in enumerate(rows):
        k_name, d_name = row["type"], row["city"]
        seen[(k_name, d_name)] += 1
        k, d = type_pos.get(k_name, -1), city_pos.get(d_name, -1)
        if k < 0:
            out.add("unknown ids", f"sites[{i}] names type {k_name!r}, not a type of the instance")
        if d < 0:
            out.add("unknown ids", f"sites[{i}] names city {d_name!r}, not in the cities table")
        if k < 0 or d < 0:
            continue
        if not data.requires_site[k]:
            out.add("eligibility", f"sites[{i}]: type {k_name!r} does not require a site, so it has no sites")
            continue
        if not data.site_candidate[k, d]:
            why = "is a source" if data.is_source[d] else f"has no row for type {k_name!r} in the sites table"
            out.add("eligibility", f"sites[{i}]: {d_name!r} is not a site candidate of {k_name!r}: it {why}")
        opened[k, d] = True
    for (k_name, d_name), n in seen.items():
        if n > 1:
            out.add("duplicates", f"site {k_name!r} at {d_name!r} is listed {n} times (each site once)")
    return opened


# --------------------------------------------------------------------------- eligibility and integrality


def _check_eligibility(
    data: _InstanceArrays, arcs: _Arcs, dist: np.ndarray, arcs_row: np.ndarray | None, out: _Violations
) -> None:
    """Every used arc must be eligible (spec §3); one line per arc with every failed rule."""
    k, d, o = data.fac_type[arcs.fac], arcs.dest, data.fac_origin[arcs.fac]
    lo, hi = data.min_km[k], data.max_km[k]
    tiers = [list(data.inst.types[t].allowed_tiers or ()) for t in data.type_ids]
    co, cd = data.cluster[o], data.cluster[d]
    rules: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (data.is_source[d], lambda i: "the destination is a source"),
        (~data.tier_ok[k, d], lambda i: f"tier {data.tier[d[i]]!r} not in allowed_tiers {tiers[k[i]]}"),
        # Inclusive bounds; DIST_EPS only absorbs last-bit rounding.
        ((dist < lo - DIST_EPS * np.maximum(1.0, lo)) | (dist > hi + DIST_EPS * np.maximum(1.0, hi)),
         lambda i: f"distance {_num(dist[i])} km outside [{_num(lo[i])}, {_num(hi[i])}]"),
        (data.same_cluster[k] & ((co == "") | (cd == "") | (co != cd)),
         lambda i: f"same_cluster: clusters {co[i]!r} and {cd[i]!r} are not the same non-empty cluster"),
        (data.has_site_rows[k] & ~data.site_row[k, d],
         lambda i: "the sites table has rows for the type but none at the destination"),
    ]
    if arcs_row is not None:
        rules.append((arcs_row < 0, lambda i: "not listed in the arcs table"))
    bad = np.zeros(len(arcs.units), dtype=bool)
    for failing, _ in rules:
        bad |= failing

    def describe(i: int) -> str:
        reasons = "; ".join(text(i) for failing, text in rules if failing[i])
        return (f"facility {data.fac_ids[arcs.fac[i]]!r} (type {data.type_ids[k[i]]!r}) -> "
                f"{data.city_ids[d[i]]!r} is not an eligible arc: {reasons}")

    out.add_each("eligibility", bad, describe)


def _check_integrality(data: _InstanceArrays, arcs: _Arcs, out: _Violations) -> None:
    """x_fd is integer unless the facility's type is splittable."""
    off = np.abs(arcs.units - np.round(arcs.units))
    failing = ~data.splittable[data.fac_type[arcs.fac]] & (off > TOL)
    out.add_each("integrality", failing,
                 lambda i: f"facility {data.fac_ids[arcs.fac[i]]!r} -> {data.city_ids[arcs.dest[i]]!r}: "
                           f"units={_num(arcs.units[i])} is not a whole number and the type is not splittable")


# --------------------------------------------------------------------------- §4 rows


def _check_assign(data: _InstanceArrays, arcs: _Arcs, out: _Violations) -> None:
    """Σ_d x_fd ≤ count_f, with = when must_move (so a must_move facility left unlisted fails)."""
    moved = np.bincount(arcs.fac, weights=arcs.units, minlength=data.n_facs)
    over = ~data.must_move & _le_fails(moved, data.count)
    out.add_each("assign", over, lambda f: f"facility {data.fac_ids[f]!r}: {_num(moved[f])} units moved "
                                           f"> count {_num(data.count[f])}")
    unequal = data.must_move & _eq_fails(moved, data.count)
    out.add_each("assign", unequal, lambda f: f"facility {data.fac_ids[f]!r} must_move: {_num(moved[f])} units "
                                              f"moved != count {_num(data.count[f])}")


def _check_target(data: _InstanceArrays, moved: np.ndarray, out: _Violations) -> None:
    """Hard sources only: a soft one's u_s = max(0, T - moved) always closes the row."""
    failing = ~data.soft & _ge_fails(moved, data.target)
    out.add_each("target", failing,
                 lambda s: f"source {data.source_ids[s]!r}: moved residents {_num(moved[s])} "
                           f"< target {_num(data.target[s])}")


def _check_min_share(data: _InstanceArrays, arcs: _Arcs, out: _Violations) -> None:
    """Σ jobs·x ≥ share · Σ jobs·count, per source and type in its min_share."""
    cell = data.fac_source * data.n_types + data.fac_type  # (source, type) of each facility
    size = data.n_sources * data.n_types
    moved = np.bincount(cell[arcs.fac], weights=data.jobs[arcs.fac] * arcs.units, minlength=size)
    total = np.bincount(cell, weights=data.jobs * data.count, minlength=size)
    type_index = {k: i for i, k in enumerate(data.type_ids)}
    for s, sid in enumerate(data.source_ids):
        for k_name, share in data.inst.sources[sid].min_share.items():
            c = s * data.n_types + type_index[k_name]
            if _ge_fails(moved[c], share * total[c]):
                out.add("min_share", f"source {sid!r} type {k_name!r}: moved jobs {_num(moved[c])} < "
                                     f"{_num(share)} x total jobs {_num(total[c])} = {_num(share * total[c])}")


def _check_capacity(
    data: _InstanceArrays, arcs: _Arcs, arcs_row: np.ndarray | None, out: _Violations
) -> None:
    """Σ_f use_{f,r,d} x_fd ≤ cap_{d,r} for each resource and each city with a finite cap.

    The use is the arc's ``use_<r>`` where the arcs table gives one, else the
    facility's use (this override is for capacity rows only).
    """
    caps = data.inst.city_caps
    for res in data.inst.resources:
        use = data.inst.facility_use[res.id].reindex(data.fac_ids).to_numpy(dtype=float)[arcs.fac]
        override = data.arc_override(f"use_{res.id}", arcs_row, len(arcs.units))
        use = np.where(np.isnan(override), use, override)
        load = np.bincount(arcs.dest, weights=use * arcs.units, minlength=data.n_cities)
        if res.id in caps:
            cap = caps[res.id].reindex(data.city_ids).to_numpy(dtype=float)
        else:  # a resource nobody caps: no rows
            cap = np.full(data.n_cities, np.inf)
        finite = np.isfinite(cap)
        failing = finite & _le_fails(load, np.where(finite, cap, 0.0))
        out.add_each("capacity", failing,
                     lambda d, r=res.id, load=load, cap=cap: f"city {data.city_ids[d]!r} resource {r!r}: "
                                                             f"use {_num(load[d])} > cap {_num(cap[d])}")


def _site_jobs(data: _InstanceArrays, arcs: _Arcs) -> np.ndarray:
    """Σ_{f: type k} jobs_f x_fd as a [type, city] matrix."""
    cell = data.fac_type[arcs.fac] * data.n_cities + arcs.dest
    flat = np.bincount(cell, weights=data.jobs[arcs.fac] * arcs.units, minlength=data.n_types * data.n_cities)
    return flat.reshape(data.n_types, data.n_cities)


def _check_site_link(data: _InstanceArrays, arcs: _Arcs, opened: np.ndarray, out: _Violations) -> None:
    """x_fd ≤ count_f · y_{k(f),d} for types that require a site: no site, no move."""
    k = data.fac_type[arcs.fac]
    rhs = data.count[arcs.fac] * opened[k, arcs.dest]
    failing = data.requires_site[k] & _le_fails(arcs.units, rhs)
    out.add_each("site_link", failing,
                 lambda i: f"facility {data.fac_ids[arcs.fac[i]]!r} -> {data.city_ids[arcs.dest[i]]!r}: "
                           f"{_num(arcs.units[i])} units but no {data.type_ids[k[i]]!r} site is open there")


def _site_cells(data: _InstanceArrays, failing: np.ndarray) -> np.ndarray:
    """Flat [type, city] indices of a failing matrix, restricted to types that require a site."""
    return np.asarray(failing & data.requires_site[:, None]).ravel()


def _check_site_capacity(
    data: _InstanceArrays, jobs: np.ndarray, opened: np.ndarray, out: _Violations
) -> None:
    """Σ jobs·x ≤ capacity_kd · y_kd for finite capacities (the row's value, else the type's)."""
    finite = np.isfinite(data.site_cap)
    rhs = np.where(finite, data.site_cap, 0.0) * opened
    failing = _site_cells(data, finite & _le_fails(jobs, rhs))
    n = data.n_cities
    def describe(c: int) -> str:
        where = f"site {data.type_ids[c // n]!r} at {data.city_ids[c % n]!r}"
        if not opened.flat[c]:
            return f"{where}: jobs {_num(jobs.flat[c])} > 0 (the site is not open, so its row allows none)"
        return f"{where}: jobs {_num(jobs.flat[c])} > capacity {_num(data.site_cap.flat[c])}"

    out.add_each("site_capacity", failing, describe)


def _check_site_min(data: _InstanceArrays, jobs: np.ndarray, opened: np.ndarray, out: _Violations) -> None:
    """Σ jobs·x ≥ min_site_jobs_k · y_kd: an opened site must be used enough."""
    rhs = data.min_site_jobs[:, None] * opened
    failing = _site_cells(data, _ge_fails(jobs, rhs))
    n = data.n_cities
    out.add_each("site_min", failing,
                 lambda c: f"site {data.type_ids[c // n]!r} at {data.city_ids[c % n]!r}: "
                           f"jobs {_num(jobs.flat[c])} < min_site_jobs {_num(data.min_site_jobs[c // n])}")


def _check_site_count(data: _InstanceArrays, opened: np.ndarray, out: _Violations) -> None:
    """min_sites_k ≤ Σ_d y_kd ≤ max_sites_k for types that require a site."""
    count = opened.sum(axis=1).astype(float)
    low = data.requires_site & _ge_fails(count, data.min_sites)
    high = data.requires_site & np.isfinite(data.max_sites) & _le_fails(count, np.nan_to_num(data.max_sites))
    out.add_each("site_count", low, lambda k: f"type {data.type_ids[k]!r}: {int(count[k])} site(s) open "
                                              f"< min_sites {_num(data.min_sites[k])}")
    out.add_each("site_count", high, lambda k: f"type {data.type_ids[k]!r}: {int(count[k])} site(s) open "
                                               f"> max_sites {_num(data.max_sites[k])}")


def _unit_costs(
    data: _InstanceArrays, arcs: _Arcs, dist: np.ndarray, arcs_row: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-unit r, p, a of each used arc (spec §3); the arc ``cost`` replaces r only."""
    f, k = arcs.fac, data.fac_type[arcs.fac]
    o, d = data.fac_origin[f], arcs.dest
    r = data.fixed_cost[f] + data.cost_per_job_km[k] * data.jobs[f] * dist
    cost = data.arc_override("cost", arcs_row, len(f))
    r = np.where(np.isnan(cost), r, cost)
    # Negative when the destination is cheaper: a move can pay for itself.
    p = data.inst.horizon_years * data.annual_cost_per_job[k] * data.jobs[f] * (
        data.cost_index[d] - data.cost_index[o]
    )
    a = data.access_cost[k] * data.service_units[f] * dist
    return r, p, a


def _check_budget(
    data: _InstanceArrays, arcs: _Arcs, unit_r: np.ndarray, site_cost_total: float, out: _Violations
) -> None:
    """Σ r·x + Σ site_cost·y ≤ budget, unweighted, when a budget is set."""
    budget = data.inst.policy.budget
    if budget is None:
        return
    spent = float(np.dot(unit_r, arcs.units)) + site_cost_total
    if _le_fails(spent, budget):
        out.add("budget", f"relocation {_num(spent - site_cost_total)} + sites {_num(site_cost_total)} = "
                          f"{_num(spent)} > budget {_num(budget)}")


def _check_destination_share(data: _InstanceArrays, arcs: _Arcs, out: _Violations) -> None:
    """Σ_f residents·x_fd ≤ α · Σ residents·x, for each destination d."""
    alpha = data.inst.policy.max_destination_share
    if alpha is None:
        return
    load = np.bincount(arcs.dest, weights=data.residents[arcs.fac] * arcs.units, minlength=data.n_cities)
    total = float(load.sum())
    failing = _le_fails(load, alpha * total)
    out.add_each("destination_share", failing,
                 lambda d: f"city {data.city_ids[d]!r}: receives {_num(load[d])} residents > "
                           f"{_num(alpha)} x total {_num(total)} = {_num(alpha * total)}")


def _check_region_share(data: _InstanceArrays, arcs: _Arcs, out: _Violations) -> None:
    """Σ jobs·x into region g ≥ β_g · Σ jobs·x, for each region of policy.min_region_share."""
    shares = data.inst.policy.min_region_share
    if not shares:
        return
    load = np.bincount(arcs.dest, weights=data.jobs[arcs.fac] * arcs.units, minlength=data.n_cities)
    total = float(load.sum())
    for region, beta in shares.items():
        got = float(load[data.region == region].sum())
        if _ge_fails(got, beta * total):
            out.add("region_share", f"region {region!r}: receives {_num(got)} jobs < "
                                    f"{_num(beta)} x total {_num(total)} = {_num(beta * total)}")


# --------------------------------------------------------------------------- reported numbers


def _finite_sum(terms: Sequence[float]) -> float:
    """``math.fsum``, or ``inf`` when a term is not finite or the sum overflows."""
    try:
        return math.fsum(terms)
    except (OverflowError, ValueError):  # inf - inf, or an intermediate overflow
        return math.inf


def _check_objective(
    sol: Mapping[str, Any], components: Mapping[str, float], objective: float, out: _Violations
) -> None:
    """The file's objective and unweighted components against the recomputed ones."""
    reported = sol["objective"]
    overflowed = [name for name, value in components.items() if not math.isfinite(value)]
    if overflowed or not math.isfinite(objective):
        out.add("objective", "the recomputed objective is not finite: the file's units times the instance's "
                             f"coefficients overflow ({', '.join(overflowed) or 'the weighted sum'})")
        return
    if reported is None:
        out.add("objective", f"status {sol['status']!r} has a solution but objective is null")
    elif _eq_fails(reported, objective):
        out.add("objective", f"reported {_num(reported)}, recomputed {_num(objective)} "
                             "from assignments and sites")
    comps = sol["components"]
    if comps is None:
        out.add("components", f"status {sol['status']!r} has a solution but components is null")
        return
    for name in COMPONENT_NAMES:
        if name not in comps:
            out.add("components", f"{name} is missing")
        elif _eq_fails(comps[name], components[name]):
            out.add("components", f"{name}: reported {_num(comps[name])}, "
                                  f"recomputed {_num(components[name])}")
    for name in comps:
        if name not in COMPONENT_NAMES:
            out.add("components", f"unknown component {name!r} (expected {', '.join(COMPONENT_NAMES)})")


def _check_sources(
    data: _InstanceArrays,
    rows: list[Mapping[str, Any]],
    moved: np.ndarray,
    shortfall: np.ndarray,
    out: _Violations,
) -> None:
    """``sources[]``: each source once, with target, moved, shortfall and densities as recomputed."""
    index = {sid: s for s, sid in enumerate(data.source_ids)}
    seen: Counter[str] = Counter()
    for i, row in enumerate(rows):
        city = row["city"]
        seen[city] += 1
        if city not in index:
            if city in data.city_ids:
                out.add("sources", f"sources[{i}]: {city!r} is not a source")
            else:
                out.add("unknown ids", f"sources[{i}] names city {city!r}, not in the cities table")
            continue
        if seen[city] > 1:
            continue  # reported once below
        s = index[city]
        src = data.inst.sources[city]
        expected: dict[str, float | None] = {
            "target": float(data.target[s]),
            "moved_residents": float(moved[s]),
            "shortfall": float(shortfall[s]),
            "density_before": None,
            "density_after": None,
        }
        if src.core_population is not None and src.core_area_km2 is not None:
            expected["density_before"] = src.core_population / src.core_area_km2
            expected["density_after"] = (src.core_population - moved[s]) / src.core_area_km2
        for key, want in expected.items():
            got = row[key]
            if want is None or got is None:
                if (want is None) != (got is None):
                    out.add("sources", f"source {city!r} {key}: reported {got!r}, expected {want!r}")
            elif _eq_fails(got, want):
                out.add("sources", f"source {city!r} {key}: reported {_num(got)}, recomputed {_num(want)}")
    for city, n in seen.items():
        if n > 1:
            out.add("duplicates", f"source {city!r} is listed {n} times in sources[] (each once)")
    for sid in data.source_ids:
        if sid not in seen:
            out.add("sources", f"source {sid!r} is missing from sources[]")


def _check_gap(sol: Mapping[str, Any], out: _Violations) -> None:
    """gap = (objective − bound) / max(|objective|, 1e-10); a minimisation bound is ≤ objective."""
    objective, bound, gap = sol["objective"], sol["bound"], sol["gap"]
    if objective is None:
        return
    if bound is None:
        if gap is not None:
            out.add("gap", f"gap={_num(gap)} but bound is null (gap needs a finite bound)")
        return
    if _le_fails(bound, objective):
        out.add("gap", f"bound {_num(bound)} > objective {_num(objective)} "
                       "(a minimisation bound is a lower bound)")
    want = (objective - bound) / max(abs(objective), GAP_DENOMINATOR_FLOOR)
    if gap is None:
        out.add("gap", f"gap is null although objective and bound are given (expected {_num(want)})")
    elif _eq_fails(gap, want):
        out.add("gap", f"reported {_num(gap)}, expected (objective - bound) / max(|objective|, 1e-10) "
                       f"= {_num(want)}")
