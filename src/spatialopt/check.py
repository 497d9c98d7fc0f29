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

Plan periods (spec v2)
----------------------
For an instance with ``[[periods]]`` every move and site carries its period.
The checker derives δ_p and Y_p itself (Y_p as the spec's yearly sum, not the
closed form the model uses; see :func:`_present_value_factors`), the milestone
targets T_sp, each facility's window and the travel minutes of §3, and checks
every row of §4 in every period — cumulative targets, caps by period, site
links and capacities by each period's end (also the rows the model leaves out
as implied), ``site_open``, ``period_budget`` — plus the v2 fields of the
file (``period`` keys, ``sources[].milestones``, ``periods[]``). Without
periods everything runs with one period and gives exactly the v1.1 checks.

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
    data = _InstanceArrays(instance)
    period_problems = _period_format_problems(data, solution)
    if period_problems:
        for problem in period_problems:
            out.add("format", problem)
        return CheckReport(out.finish())
    if solution["status"] in STATUSES_WITHOUT_SOLUTION:
        # Nothing was found, so there is nothing to evaluate: only the shape of
        # "no solution" is checked (nulls, empty lists).
        _check_no_solution(data, solution, out)
        return CheckReport(out.finish())

    moves = _read_assignments(solution["assignments"], data, out)
    arcs = moves.arcs(data)
    opened, open_period = _read_sites(solution["sites"], data, out)
    dist = data.dist[data.fac_source[arcs.fac], arcs.dest]
    arcs_row = data.arc_rows(arcs.fac, arcs.dest)

    _check_eligibility(data, arcs, dist, arcs_row, out)
    _check_integrality(data, arcs, out)

    # moved_by[s, p]: residents of source s moved by the end of period p (X_fd(p) summed).
    moved_by = data.by_period(data.fac_source[moves.fac], moves.period,
                              data.residents[moves.fac] * moves.units, data.n_sources)
    _check_assign(data, arcs, out)
    _check_window(data, moves, out)
    _check_target(data, moved_by, out)
    _check_min_share(data, arcs, out)
    _check_capacity(data, moves, out)
    _check_site_link(data, moves, open_period, out)
    _check_site_capacity(data, moves, open_period, out)
    _check_site_min(data, _site_jobs(data, arcs), opened, out)
    _check_site_count(data, opened, out)

    unit_r, unit_p, unit_a = _unit_costs(data, moves)
    site_cost_total = float(data.site_cost[opened].sum())
    _check_budget(data, moves, unit_r, site_cost_total, out)
    spending = _period_spending(data, moves, unit_r, open_period)
    _check_period_budget(data, spending, out)
    _check_destination_share(data, arcs, out)
    _check_region_share(data, arcs, out)

    # u_sp = max(0, T_sp - moved by the end of p) on each target row (NaN: no row).
    row_shortfall = np.where(np.isnan(data.targets), 0.0, np.maximum(0.0, data.targets - moved_by))
    components = {
        "relocation": float(np.dot(data.delta[moves.period] * unit_r, moves.units)),
        "operating": float(np.dot(data.years[moves.period] * unit_p, moves.units)),
        "access": float(np.dot(data.delta[moves.period] * unit_a, moves.units)),
        "sites": float(np.sum(np.where(opened, data.site_cost * data.delta[np.maximum(open_period, 0)], 0.0))),
        # u_sp exists only for soft sources; a hard source's shortfall is a
        # target violation, not a cost.
        "shortfall": float(np.sum(np.where(data.soft, data.penalty * row_shortfall.sum(axis=1), 0.0))),
    }
    weights = instance.weights.as_dict()
    objective = _finite_sum([weights[name] * components[name] for name in COMPONENT_NAMES])
    _check_objective(solution, components, objective, out)
    _check_sources(data, solution["sources"], moved_by, out)
    _check_periods(data, solution, moves, spending, out)
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


def _present_value_factors(rate: float, horizon: float, starts: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(δ_p, Y_p) per period from the years ``a`` between base_year and each period's start (spec §3).

    δ_p = (1 + rate)^-a. Y_p = Σ_{t=a}^{H-1} (1 + rate)^-t is summed term by
    term when H is a whole number of years (the spec's definition, not its
    closed form, so a slip in either shows); a fractional horizon has only the
    closed form (v^a − v^H) / (1 − v), H − a at rate 0.
    """
    delta, years = [], []
    for a in starts:
        delta.append((1.0 + rate) ** -a)
        if rate == 0:
            years.append(horizon - a)
        elif float(horizon).is_integer():
            years.append(math.fsum((1.0 + rate) ** -t for t in range(int(a), int(horizon))))
        else:
            v = 1.0 / (1.0 + rate)
            years.append((v ** a - v ** horizon) / (1.0 - v))
    return np.array(delta, dtype=float), np.array(years, dtype=float)


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


def _period_format_problems(data: _InstanceArrays, sol: Mapping[str, Any]) -> list[str]:
    """The v2 fields (spec §5): present exactly when the instance has [[periods]], with the right shape."""
    problems: list[str] = []
    if not data.phased:
        if "periods" in sol:
            problems.append("periods is given but the instance has no [[periods]] (a v1.1 file has no periods)")
        for key in ("assignments", "sites", "sources"):
            extra = "milestones" if key == "sources" else "period"
            problems += [f"{key}[{i}] has {extra!r} but the instance has no [[periods]]"
                         for i, row in enumerate(sol[key]) if extra in row]
        return problems[:_MAX_FORMAT_PROBLEMS]
    if "periods" not in sol:
        problems.append("missing required key 'periods' (the instance has [[periods]])")
    problems += _list_problems(sol, "assignments", {"period": str}, ())
    problems += _list_problems(sol, "sites", {"period": str}, ())
    problems += _list_problems(sol, "periods", {"id": str, "end_year": float, "spending": float,
                                                "moved_residents": float}, ("budget",))
    for i, row in enumerate(sol["sources"]):
        if "milestones" not in row:
            problems.append(f"sources[{i}]: missing 'milestones' (the instance has [[periods]])")
            continue
        numbers = {key: float for key in _SOURCE_NUMBERS}
        problems += [p.replace("milestones", f"sources[{i}].milestones", 1) for p in
                     _list_problems(row, "milestones", {"period": str, **numbers}, ("density_after",))]
    if len(problems) > _MAX_FORMAT_PROBLEMS:
        more = len(problems) - _MAX_FORMAT_PROBLEMS
        problems = problems[:_MAX_FORMAT_PROBLEMS] + [f"... and {more} more row problem(s)"]
    return problems


def _check_no_solution(data: _InstanceArrays, sol: Mapping[str, Any], out: _Violations) -> None:
    status = sol["status"]
    if data.phased:  # spec §5: without a solution periods is [] and each source's milestones is []
        if sol["periods"]:
            out.add("periods", f"status {status!r} has no solution, so periods must be empty, "
                               f"got {len(sol['periods'])} row(s)")
        for row in sol["sources"]:
            if row["milestones"]:
                out.add("sources", f"status {status!r} has no solution, so source {row['city']!r} "
                                   f"milestones must be empty, got {len(row['milestones'])} row(s)")
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
        self._periods(inst)
        self.min_minutes = np.array([np.nan if t.min_minutes is None else t.min_minutes for t in types], float)
        self.max_minutes = np.array([np.nan if t.max_minutes is None else t.max_minutes for t in types], float)

    def _periods(self, inst: Instance) -> None:
        """Plan periods (spec §3): ids, windows, present-value factors, target rows.

        Without ``[[periods]]`` there is one period with id ``""`` starting at
        year 0, so every per-period array below has one column and the v1.1
        costs come out unchanged.
        """
        self.phased = bool(inst.periods)
        self.period_ids = [p.id for p in inst.periods] if self.phased else [""]
        self.n_periods = len(self.period_ids)
        last = self.n_periods - 1
        position = {pid: i for i, pid in enumerate(self.period_ids)}
        facs = inst.facilities
        if self.phased:
            self.earliest = np.array([position[str(e)] for e in facs["earliest"]], dtype=np.int64)
            self.latest = np.array([position[str(e)] for e in facs["latest"]], dtype=np.int64)
            base = inst.base_year or 0
            starts = [0] + [p.end_year - base for p in inst.periods[:-1]]
        else:
            self.earliest = np.zeros(self.n_facs, dtype=np.int64)
            self.latest = np.zeros(self.n_facs, dtype=np.int64)
            starts = [0]
        self.delta, self.years = _present_value_factors(inst.discount_rate, float(inst.horizon_years), starts)
        # targets[s, p]: T_sp where period p has a target row, NaN where it has none.
        self.targets = np.full((self.n_sources, self.n_periods), np.nan)
        for s, sid in enumerate(self.source_ids):
            for pid, share in inst.sources[sid].milestones.items():
                if position.get(pid, last) != last:
                    self.targets[s, position[pid]] = share * self.target[s]
            self.targets[s, last] = self.target[s]

    def by_period(self, group: np.ndarray, period: np.ndarray, weights: np.ndarray, n_groups: int) -> np.ndarray:
        """[group, period] sums of ``weights`` moved by the end of each period (cumulative over periods)."""
        flat = np.bincount(group * self.n_periods + period, weights=weights, minlength=n_groups * self.n_periods)
        return np.cumsum(flat.reshape(n_groups, self.n_periods), axis=1)

    def caps(self, resource: str, p: int) -> np.ndarray:
        """cap_{d,r,p} per city: the cap_by_period column for p before the last period, else ``cap``; inf = no row."""
        last = p == self.n_periods - 1
        frame = self.inst.city_caps if last else self.inst.city_caps_by_period.get(self.period_ids[p])
        if frame is None or resource not in frame:
            return np.full(self.n_cities, np.inf)
        return frame[resource].reindex(self.city_ids).to_numpy(dtype=float)

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
        self.timed = np.full(self.dist.shape, np.nan)  # the distances table's minutes, NaN where absent
        table = inst.distances
        if table is None or not len(table):
            return
        source_index = pd.Index(self.source_ids)
        for column, matrix in (("km", self.dist), ("minutes", self.timed)):
            if column not in table.columns:
                continue
            values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
            for a, b in (("from", "to"), ("to", "from")):
                s = source_index.get_indexer(table[a].astype(str))
                d = self.city_ids.get_indexer(table[b].astype(str))
                # A row may give km or minutes only: an absent value overrides nothing.
                hit = (s >= 0) & (d >= 0) & ~np.isnan(values)
                matrix[s[hit], d[hit]] = values[hit]

    @property
    def minutes(self) -> np.ndarray:
        """minutes[s, d] (spec §3): the table's minutes, else 60·detour·dist/speed; NaN where neither times it."""
        travel = self.inst.travel
        if travel is None:
            return self.timed
        estimate = self.dist * (60.0 * travel.detour / travel.speed_kmh)
        return np.where(np.isnan(self.timed), estimate, self.timed)

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


@dataclass(frozen=True)
class _Moves:
    """The moves x_fdp: one entry per distinct (facility, destination, period), units summed.

    Without [[periods]] every move is in period 0 and the moves are the arcs.
    """

    fac: np.ndarray
    dest: np.ndarray
    period: np.ndarray  # period position
    units: np.ndarray

    def arcs(self, data: _InstanceArrays) -> _Arcs:
        """X_fd = Σ_p x_fdp: the moves summed over periods, per (facility, destination)."""
        keys = self.fac * data.n_cities + self.dest
        unique, inverse = np.unique(keys, return_inverse=True)
        units = np.bincount(inverse, weights=self.units, minlength=len(unique))
        return _Arcs(fac=unique // data.n_cities, dest=unique % data.n_cities, units=units)

    def where(self, i: int, data: _InstanceArrays) -> str:
        """``'f' -> 'd'`` of move i, with ``in period 'p'`` for a phased instance."""
        text = f"{data.fac_ids[self.fac[i]]!r} -> {data.city_ids[self.dest[i]]!r}"
        return text + (f" in period {data.period_ids[self.period[i]]!r}" if data.phased else "")


def _read_assignments(rows: list[Mapping[str, Any]], data: _InstanceArrays, out: _Violations) -> _Moves:
    """Turn the assignments list into arrays; report unknown ids, duplicates and units <= 0.

    Rows with an unknown id (facility, destination or period) are dropped
    (nothing can be computed for them). A move listed twice is reported, then
    its units are summed: that is the only reading under which the rest of
    the checks still mean something.
    """
    fac_names = [row["facility"] for row in rows]
    dest_names = [row["destination"] for row in rows]
    period_names = [row.get("period", "") for row in rows]
    units = np.fromiter((row["units"] for row in rows), dtype=float, count=len(rows))
    fac = np.asarray(data.fac_ids.get_indexer(fac_names), dtype=np.int64)
    dest = np.asarray(data.city_ids.get_indexer(dest_names), dtype=np.int64)
    period = np.asarray(pd.Index(data.period_ids).get_indexer(period_names), dtype=np.int64)

    out.add_each("unknown ids", fac < 0,
                 lambda i: f"assignments[{i}] names facility {fac_names[i]!r}, not in the facilities table")
    out.add_each("unknown ids", dest < 0,
                 lambda i: f"assignments[{i}] names destination {dest_names[i]!r}, not in the cities table")
    out.add_each("unknown ids", period < 0,
                 lambda i: f"assignments[{i}] names period {period_names[i]!r}, not a period of the instance "
                           f"({', '.join(data.period_ids)})")
    # x_fdp >= 0, and §5 lists only moves with units > 0.
    out.add_each("assign", units <= 0,
                 lambda i: f"assignments[{i}] {fac_names[i]!r} -> {dest_names[i]!r}: units={_num(units[i])}, "
                           "expected > 0 (only arcs with units > 0 are listed)")

    known = (fac >= 0) & (dest >= 0) & (period >= 0)
    keys = (fac[known] * data.n_cities + dest[known]) * data.n_periods + period[known]
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    pair, move_period = unique // data.n_periods, unique % data.n_periods
    when = (lambda j: f" in period {data.period_ids[move_period[j]]!r}") if data.phased else (lambda j: "")
    out.add_each("duplicates", counts > 1,
                 lambda j: f"assignment {data.fac_ids[pair[j] // data.n_cities]!r} -> "
                           f"{data.city_ids[pair[j] % data.n_cities]!r}{when(j)} is listed {counts[j]} times "
                           "(each pair once); its units are summed for the other checks")
    summed = np.bincount(inverse, weights=units[known], minlength=len(unique))
    return _Moves(fac=pair // data.n_cities, dest=pair % data.n_cities, period=move_period, units=summed)


def _read_sites(
    rows: list[Mapping[str, Any]], data: _InstanceArrays, out: _Violations
) -> tuple[np.ndarray, np.ndarray]:
    """The opened sites: a bool [type, city] matrix (Y_kd = 1 exactly where listed) and the opening period.

    ``open_period[k, d]`` is the position of the period the site opens in (-1:
    not open). Reports unknown ids, pairs listed twice (``site_open`` when in
    different periods: a site opens at most once), and sites that are not
    candidates (§3) under ``eligibility``. A non-candidate at a known
    requiring-site type and known city is still counted as open, since the
    file says it is, so the site rows and costs below see what the file claims.
    """
    opened = np.zeros((data.n_types, data.n_cities), dtype=bool)
    open_period = np.full((data.n_types, data.n_cities), -1, dtype=np.int64)
    seen: dict[tuple[str, str], list[str]] = {}
    type_pos = {k: i for i, k in enumerate(data.type_ids)}
    city_pos = {c: i for i, c in enumerate(data.city_ids)}
    period_pos = {p: i for i, p in enumerate(data.period_ids)}
    for i, row in enumerate(rows):
        k_name, d_name, p_name = row["type"], row["city"], row.get("period", "")
        seen.setdefault((k_name, d_name), []).append(p_name)
        k, d, p = type_pos.get(k_name, -1), city_pos.get(d_name, -1), period_pos.get(p_name, -1)
        if k < 0:
            out.add("unknown ids", f"sites[{i}] names type {k_name!r}, not a type of the instance")
        if d < 0:
            out.add("unknown ids", f"sites[{i}] names city {d_name!r}, not in the cities table")
        if p < 0:
            out.add("unknown ids", f"sites[{i}] names period {p_name!r}, not a period of the instance "
                                   f"({', '.join(data.period_ids)})")
        if k < 0 or d < 0 or p < 0:
            continue
        if not data.requires_site[k]:
            out.add("eligibility", f"sites[{i}]: type {k_name!r} does not require a site, so it has no sites")
            continue
        if not data.site_candidate[k, d]:
            why = "is a source" if data.is_source[d] else f"has no row for type {k_name!r} in the sites table"
            out.add("eligibility", f"sites[{i}]: {d_name!r} is not a site candidate of {k_name!r}: it {why}")
        # Listed twice in different periods: it counts as open from the earlier one.
        open_period[k, d] = p if not opened[k, d] else min(p, open_period[k, d])
        opened[k, d] = True
    for (k_name, d_name), periods in seen.items():
        if len(periods) == 1:
            continue
        if data.phased and len(set(periods)) > 1:
            out.add("site_open", f"site {k_name!r} at {d_name!r} is opened {len(periods)} times "
                                 f"(in {', '.join(map(repr, periods))}); Y_kd <= 1: a site opens at most once")
        else:
            out.add("duplicates", f"site {k_name!r} at {d_name!r} is listed {len(periods)} times (each site once)")
    return opened, open_period


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
    # Travel-time band, only where the type sets min_minutes or max_minutes (inclusive).
    minutes = data.minutes[data.fac_source[arcs.fac], d]
    lo_m = np.nan_to_num(data.min_minutes[k], nan=0.0)
    hi_m = np.where(np.isnan(data.max_minutes[k]), np.inf, data.max_minutes[k])
    timed_rule = ~np.isnan(data.min_minutes[k]) | ~np.isnan(data.max_minutes[k])
    with np.errstate(invalid="ignore"):
        outside = (minutes < lo_m - DIST_EPS * np.maximum(1.0, lo_m)) | (minutes > hi_m + DIST_EPS * np.maximum(1.0, hi_m))
    rules.append((timed_rule & (np.isnan(minutes) | outside),
                  lambda i: "no travel time (no [travel] and no minutes in the distances table)"
                  if np.isnan(minutes[i]) else f"travel time {_num(minutes[i])} min outside "
                                               f"[{_num(lo_m[i])}, {_num(hi_m[i])}]"))
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


def _check_window(data: _InstanceArrays, moves: _Moves, out: _Violations) -> None:
    """A facility moves only in the periods from its earliest to its latest (spec §3).

    So a must_move facility, whose Σ_d X_fd = count is checked by ``assign``,
    is moved by the end of its latest period.
    """
    if not data.phased:
        return
    f = moves.fac
    failing = (moves.period < data.earliest[f]) | (moves.period > data.latest[f])
    out.add_each("assign", failing,
                 lambda i: f"move {moves.where(i, data)}: outside the facility's window, earliest "
                           f"{data.period_ids[data.earliest[f[i]]]!r} to latest {data.period_ids[data.latest[f[i]]]!r}")


def _check_target(data: _InstanceArrays, moved_by: np.ndarray, out: _Violations) -> None:
    """Each target row of a hard source: moved by the end of p ≥ T_sp (the last period's T_sp is T_s).

    A soft source's u_sp = max(0, T_sp - moved) always closes its rows.
    """
    last = data.n_periods - 1
    rows = ~np.isnan(data.targets) & ~data.soft[:, None]
    failing = np.asarray(rows & _ge_fails(moved_by, np.nan_to_num(data.targets))).ravel()
    n = data.n_periods

    def describe(c: int) -> str:
        s, p = divmod(c, n)
        if p == last:
            return f"source {data.source_ids[s]!r}: moved residents {_num(moved_by[s, p])} < target {_num(data.target[s])}"
        return (f"source {data.source_ids[s]!r} milestone {data.period_ids[p]!r}: residents moved by its end "
                f"{_num(moved_by[s, p])} < {_num(data.targets[s, p])}")

    out.add_each("target", failing, describe)


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


def _check_capacity(data: _InstanceArrays, moves: _Moves, out: _Violations) -> None:
    """Σ_f use_{f,r,d} X_fd(p) ≤ cap_{d,r,p} for each resource, city and period with a finite cap.

    The use is the arc's ``use_<r>`` where the arcs table gives one, else the
    facility's use (this override is for capacity rows only). Before the last
    period the cap is the city's ``cap_by_period`` column for p (an empty cell:
    no row); the last period's is ``cap``.
    """
    rows = data.arc_rows(moves.fac, moves.dest)
    for res in data.inst.resources:
        use = data.inst.facility_use[res.id].reindex(data.fac_ids).to_numpy(dtype=float)[moves.fac]
        override = data.arc_override(f"use_{res.id}", rows, len(moves.units))
        use = np.where(np.isnan(override), use, override)
        load_by = data.by_period(moves.dest, moves.period, use * moves.units, data.n_cities)
        for p in range(data.n_periods):
            cap, load = data.caps(res.id, p), load_by[:, p]
            finite = np.isfinite(cap)
            failing = finite & _le_fails(load, np.where(finite, cap, 0.0))
            when = f" by the end of {data.period_ids[p]!r}" if data.phased else ""
            out.add_each("capacity", failing,
                         lambda d, r=res.id, load=load, cap=cap, when=when:
                         f"city {data.city_ids[d]!r} resource {r!r}{when}: use {_num(load[d])} > cap {_num(cap[d])}")


def _site_jobs(data: _InstanceArrays, arcs: _Arcs) -> np.ndarray:
    """Σ_{f: type k} jobs_f x_fd as a [type, city] matrix."""
    cell = data.fac_type[arcs.fac] * data.n_cities + arcs.dest
    flat = np.bincount(cell, weights=data.jobs[arcs.fac] * arcs.units, minlength=data.n_types * data.n_cities)
    return flat.reshape(data.n_types, data.n_cities)


def _check_site_link(data: _InstanceArrays, moves: _Moves, open_period: np.ndarray, out: _Violations) -> None:
    """x_fdp ≤ count_f · Y_{k(f),d}(p) for types that require a site: no site open by p, no move in p."""
    k = data.fac_type[moves.fac]
    opened_by = open_period[k, moves.dest]
    is_open = (opened_by >= 0) & (opened_by <= moves.period)
    rhs = data.count[moves.fac] * is_open
    failing = data.requires_site[k] & _le_fails(moves.units, rhs)

    def describe(i: int) -> str:
        where = f"facility {moves.where(i, data)}: {_num(moves.units[i])} units but "
        if opened_by[i] >= 0:
            return where + (f"its {data.type_ids[k[i]]!r} site there opens only in "
                            f"{data.period_ids[opened_by[i]]!r}")
        return where + f"no {data.type_ids[k[i]]!r} site is open there"

    out.add_each("site_link", failing, describe)


def _site_cells(data: _InstanceArrays, failing: np.ndarray) -> np.ndarray:
    """Flat [type, city] indices of a failing matrix, restricted to types that require a site."""
    return np.asarray(failing & data.requires_site[:, None]).ravel()


def _check_site_capacity(data: _InstanceArrays, moves: _Moves, open_period: np.ndarray, out: _Violations) -> None:
    """Σ jobs·X_fd(p) ≤ capacity_kd · Y_kd(p) per period, for finite capacities (the row's value, else the type's)."""
    cell = data.fac_type[moves.fac] * data.n_cities + moves.dest
    jobs_by = data.by_period(cell, moves.period, data.jobs[moves.fac] * moves.units, data.n_types * data.n_cities)
    finite = np.isfinite(data.site_cap)
    n = data.n_cities
    for p in range(data.n_periods):
        jobs = jobs_by[:, p].reshape(data.n_types, n)
        open_by = (open_period >= 0) & (open_period <= p)
        rhs = np.where(finite, data.site_cap, 0.0) * open_by
        failing = _site_cells(data, finite & _le_fails(jobs, rhs))
        when = f" by the end of {data.period_ids[p]!r}" if data.phased else ""

        def describe(c: int, jobs: np.ndarray = jobs, open_by: np.ndarray = open_by, when: str = when) -> str:
            where = f"site {data.type_ids[c // n]!r} at {data.city_ids[c % n]!r}{when}"
            if not open_by.flat[c]:
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


def _unit_costs(data: _InstanceArrays, moves: _Moves) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-unit r, annual operating difference and a of each move (spec §3), undiscounted.

    The arc ``cost`` replaces r only. The operating term is per year: the
    caller multiplies it by Y_p (the years counted from the move's period).
    """
    f, k = moves.fac, data.fac_type[moves.fac]
    o, d = data.fac_origin[f], moves.dest
    dist = data.dist[data.fac_source[f], d]
    r = data.fixed_cost[f] + data.cost_per_job_km[k] * data.jobs[f] * dist
    cost = data.arc_override("cost", data.arc_rows(f, d), len(f))
    r = np.where(np.isnan(cost), r, cost)
    # Negative when the destination is cheaper: a move can pay for itself.
    p = data.annual_cost_per_job[k] * data.jobs[f] * (data.cost_index[d] - data.cost_index[o])
    a = data.access_cost[k] * data.service_units[f] * dist
    return r, p, a


def _check_budget(
    data: _InstanceArrays, moves: _Moves, unit_r: np.ndarray, site_cost_total: float, out: _Violations
) -> None:
    """Σ r·X + Σ site_cost·Y ≤ budget, unweighted and undiscounted, when a budget is set."""
    budget = data.inst.policy.budget
    if budget is None:
        return
    spent = float(np.dot(unit_r, moves.units)) + site_cost_total
    if _le_fails(spent, budget):
        out.add("budget", f"relocation {_num(spent - site_cost_total)} + sites {_num(site_cost_total)} = "
                          f"{_num(spent)} > budget {_num(budget)}")


def _period_spending(
    data: _InstanceArrays, moves: _Moves, unit_r: np.ndarray, open_period: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(relocation, sites) spent in each period, undiscounted: Σ r x_fdp and Σ site_cost y_kdp."""
    relocation = np.bincount(moves.period, weights=unit_r * moves.units, minlength=data.n_periods)
    opened = open_period >= 0
    sites = np.bincount(open_period[opened], weights=data.site_cost[opened], minlength=data.n_periods)
    return relocation, sites


def _check_period_budget(data: _InstanceArrays, spending: tuple[np.ndarray, np.ndarray], out: _Violations) -> None:
    """Σ r x_fdp + Σ site_cost y_kdp ≤ budget_p for each period with a budget."""
    if not data.phased:
        return
    relocation, sites = spending
    for p, period in enumerate(data.inst.periods):
        if period.budget is None:
            continue
        spent = relocation[p] + sites[p]
        if _le_fails(spent, period.budget):
            out.add("period_budget", f"period {period.id!r}: relocation {_num(relocation[p])} + sites "
                                     f"{_num(sites[p])} = {_num(spent)} > budget {_num(period.budget)}")


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


def _compare(family: str, what: str, got: Any, want: float | None, out: _Violations) -> None:
    """One reported number (or null) against its recomputation."""
    if want is None or got is None:
        if (want is None) != (got is None):
            out.add(family, f"{what}: reported {got!r}, expected {want!r}")
    elif _eq_fails(got, want):
        out.add(family, f"{what}: reported {_num(got)}, recomputed {_num(want)}")


def _check_milestones(data: _InstanceArrays, s: int, rows: list[Mapping[str, Any]], moved_by: np.ndarray,
                      out: _Violations) -> None:
    """``sources[].milestones``: one entry per target row before the last period, in order (spec §5)."""
    city = data.source_ids[s]
    src = data.inst.sources[city]
    expected = [p for p in range(data.n_periods - 1) if not np.isnan(data.targets[s, p])]
    got_ids = [row["period"] for row in rows]
    want_ids = [data.period_ids[p] for p in expected]
    if got_ids != want_ids:
        out.add("sources", f"source {city!r} milestones: periods {got_ids}, expected {want_ids} "
                           "(one entry per milestone row, in period order)")
        return
    for row, p in zip(rows, expected):
        target, moved = float(data.targets[s, p]), float(moved_by[s, p])
        want: dict[str, float | None] = {"target": target, "moved_residents": moved,
                                         "shortfall": max(0.0, target - moved), "density_after": None}
        if src.core_population is not None and src.core_area_km2 is not None:
            want["density_after"] = (src.core_population - moved) / src.core_area_km2
        for key, value in want.items():
            _compare("sources", f"source {city!r} milestone {data.period_ids[p]!r} {key}", row[key], value, out)


def _check_periods(data: _InstanceArrays, sol: Mapping[str, Any], moves: _Moves,
                   spending: tuple[np.ndarray, np.ndarray], out: _Violations) -> None:
    """``periods[]``: every period in order with its end year, undiscounted spending, budget and residents moved."""
    if not data.phased:
        return
    rows = sol["periods"]
    got_ids = [row["id"] for row in rows]
    if got_ids != data.period_ids:
        out.add("periods", f"periods {got_ids}, expected {data.period_ids} (every period once, in order)")
        return
    moved = np.bincount(moves.period, weights=data.residents[moves.fac] * moves.units, minlength=data.n_periods)
    relocation, sites = spending
    for p, (row, period) in enumerate(zip(rows, data.inst.periods)):
        want: dict[str, float | None] = {
            "end_year": float(period.end_year), "spending": float(relocation[p] + sites[p]),
            "budget": None if period.budget is None else float(period.budget), "moved_residents": float(moved[p]),
        }
        for key, value in want.items():
            _compare("periods", f"period {period.id!r} {key}", row[key], value, out)


def _check_sources(
    data: _InstanceArrays,
    rows: list[Mapping[str, Any]],
    moved_by: np.ndarray,
    out: _Violations,
) -> None:
    """``sources[]``: each source once, with target, moved, shortfall and densities as recomputed."""
    moved = moved_by[:, -1]
    shortfall = np.maximum(0.0, data.target - moved)
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
            _compare("sources", f"source {city!r} {key}", row[key], want, out)
        if data.phased:
            _check_milestones(data, s, row["milestones"], moved_by, out)
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
