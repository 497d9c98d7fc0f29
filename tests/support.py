"""Shared test helpers: writing instances, solving with verification, brute force.

The brute force and the reference eligibility here are deliberately written
a third way (plain loops and enumeration straight from the spec's words), so
that the model, the checker and these helpers can only agree by being right.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import spatialopt
from spatialopt.check import check_solution
from spatialopt.derive import derive, haversine_km
from spatialopt.instance import Instance

TOL = 1e-6


# -- writing instances ----------------------------------------------------------
def sigint_as_from_a_shell() -> None:
    """``preexec_fn`` for a subprocess that a test will Ctrl-C: SIGINT at its default, as a shell starts it.

    A command run in-process earlier in the suite leaves SIGINT ignored in the test process, and an
    ignored SIGINT is inherited: the child would then finish its work as if no Ctrl-C had come.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def load_script(path: Path, name: str) -> ModuleType:
    """A script outside the package (bench/, instances/china/) as module ``name``, loaded once per session.

    The module goes into ``sys.modules`` before it runs: its dataclasses look their module up there.
    """
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def load_scale_generator() -> ModuleType:
    """bench/scale_instance.py, the seeded generator of large instances."""
    return load_script(Path(__file__).parents[1] / "bench" / "scale_instance.py", "scale_instance")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else toml_value(key)


def toml_dumps(data: Mapping[str, Any]) -> str:
    """TOML for a manifest: tables of scalars, arrays of tables of scalars/inline tables."""
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines.append(f"[{key}]")
            lines += [f"{_key(k)} = {toml_value(v)}" for k, v in value.items() if v is not None]
            lines.append("")
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for row in value:
                lines.append(f"[[{key}]]")
                lines += [f"{_key(k)} = {toml_value(v)}" for k, v in row.items() if v is not None]
                lines.append("")
        elif isinstance(value, list) and not value:
            continue
        else:
            raise TypeError(f"top-level {key} must be a table or an array of tables")
    return "\n".join(lines) + "\n"


def write_manifest(folder: Path, data: Mapping[str, Any], name: str = "instance.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(toml_dumps(data), encoding="utf-8")
    return path


def load_dict(folder: Path, data: Mapping[str, Any]) -> Instance:
    return spatialopt.load(write_manifest(folder, data))


# -- solving with verification ----------------------------------------------------
def solve_checked(instance: Instance, **options: Any) -> spatialopt.Result:
    """Solve with both model builders; assert they agree and the checker accepts the plan.

    The matrix builder (the default path) and the Pyomo model (the readable
    reference) must reach the same status and optimum on every test instance.
    """
    options.setdefault("gap", 1e-9)
    result = spatialopt.solve(instance, builder="matrix", **options)
    reference = spatialopt.solve(instance, builder="pyomo", **options)
    assert result.status == reference.status, (result.status, reference.status)
    if result.status == spatialopt.SolveStatus.OPTIMAL:
        assert result.objective == pytest.approx(reference.objective, rel=1e-7, abs=1e-6)
    for plan in (result, reference):
        report = check_solution(instance, plan.to_solution_dict())
        assert report.ok, "checker rejected the solver's plan:\n" + "\n".join(report.violations)
    return result


def assert_brute_force_verdict(instance: Instance, result: spatialopt.Result, expected: float | None) -> None:
    """``result`` says what enumeration says: infeasible when it found no plan, else optimal at its
    optimum, with a plan the independent checker accepts."""
    if expected is None:
        assert result.status == spatialopt.SolveStatus.INFEASIBLE
        return
    assert result.status == spatialopt.SolveStatus.OPTIMAL, result.reasons
    assert result.objective == pytest.approx(expected, rel=1e-7, abs=1e-6)
    report = check_solution(instance, result.to_solution_dict())
    assert report.ok, report.violations


# -- reference eligibility -----------------------------------------------------------
def reference_distance(instance: Instance, a: str, b: str) -> float:
    if a == b:
        return 0.0
    if instance.distances is not None:
        for x, y, km in zip(instance.distances["from"], instance.distances["to"], instance.distances["km"]):
            if {x, y} == {a, b} and km == km:  # a row may give minutes only (km NaN, spec v2)
                return float(km)
    ca, cb = instance.cities.loc[a], instance.cities.loc[b]
    return float(haversine_km(ca["lon"], ca["lat"], cb["lon"], cb["lat"]))


def reference_arcs(instance: Instance) -> set[tuple[str, str]]:
    """Eligible (facility, destination) pairs by the spec's §3 rules, one pair at a time."""
    listed = None
    if instance.arcs is not None:
        listed = set(zip(instance.arcs["facility"], instance.arcs["destination"]))
    site_rows: dict[str, set[str]] = {}
    if instance.sites is not None:
        for t, c in zip(instance.sites["type"], instance.sites["city"]):
            site_rows.setdefault(t, set()).add(c)
    out = set()
    for f, row in instance.facilities.iterrows():
        kind = instance.types[row["type"]]
        origin = row["origin"]
        for d, city in instance.cities.iterrows():
            if d in instance.sources:
                continue
            if kind.allowed_tiers is not None and (city["tier"] == "" or city["tier"] not in kind.allowed_tiers):
                continue
            km = reference_distance(instance, origin, d)
            if not (kind.min_km <= km <= kind.max_km):
                continue
            if kind.same_cluster:
                oc = instance.cities.loc[origin, "cluster"]
                if oc == "" or city["cluster"] != oc:
                    continue
            if row["type"] in site_rows and d not in site_rows[row["type"]]:
                continue
            if listed is not None and (f, d) not in listed:
                continue
            out.add((f, d))
    return out


# -- brute force ------------------------------------------------------------------
def brute_force(instance: Instance) -> float | None:
    """Optimum by enumerating every integer plan (no splittable types); None if infeasible."""
    d = derive(instance)
    assert reference_arcs(instance) == set(d.arc_keys()), "eligible arcs differ from the reference"
    fac = instance.facilities
    n_arcs, n_sites = d.n_arcs, len(d.site_type)
    assert not any(instance.types[t].splittable for t in fac["type"]), "brute force needs integer plans"
    arcs_of = {i: [a for a in range(n_arcs) if d.arc_f[a] == i] for i in range(len(fac))}
    per_facility = []
    for i, (_, row) in enumerate(fac.iterrows()):
        arcs = arcs_of[i]
        count = int(row["count"])
        options = []
        for units in itertools.product(range(count + 1), repeat=len(arcs)):
            total = sum(units)
            if total > count or (row["must_move"] and total != count):
                continue
            vec = np.zeros(n_arcs)
            vec[arcs] = units
            options.append(vec)
        if not options:
            return None
        per_facility.append(options)
    combos = [np.sum(combo, axis=0) for combo in itertools.product(*per_facility)]
    X = np.array(combos, dtype=float).reshape(len(combos), n_arcs)
    jobs = fac["jobs"].to_numpy(float)[d.arc_f]
    res = fac["residents"].to_numpy(float)[d.arc_f]
    origin = fac["origin"].to_numpy(object)[d.arc_f]
    arc_type = fac["type"].to_numpy(object)[d.arc_f]
    arc_city = np.asarray(d.city_ids, dtype=object)[d.arc_d]
    ok = np.ones(len(X), dtype=bool)
    moved = {s: X[:, origin == s] @ res[origin == s] for s in instance.sources}
    shortfall = np.zeros(len(X))
    for s, src in instance.sources.items():
        if src.soft:
            shortfall += src.shortfall_penalty * np.maximum(0.0, src.target_persons - moved[s])
        else:
            ok &= moved[s] >= src.target_persons - TOL
        for k, share in src.min_share.items():
            members = (fac["origin"] == s) & (fac["type"] == k)
            need = share * float((fac["jobs"][members] * fac["count"][members]).sum())
            sel = (origin == s) & (arc_type == k)
            ok &= X[:, sel] @ jobs[sel] >= need - TOL
    for j, r in enumerate(instance.resources):
        for c in set(arc_city):
            cap = instance.city_caps.loc[c, r.id]
            if math.isfinite(cap):
                sel = arc_city == c
                ok &= X[:, sel] @ d.use[sel, j] <= cap + TOL
    total_res = X @ res
    total_jobs = X @ jobs
    alpha = instance.policy.max_destination_share
    if alpha is not None:
        for c in set(arc_city):
            sel = arc_city == c
            ok &= X[:, sel] @ res[sel] <= alpha * total_res + TOL
    regions = instance.cities["region"].to_numpy(object)[d.arc_d]
    for g, beta in instance.policy.min_region_share.items():
        sel = regions == g
        ok &= X[:, sel] @ jobs[sel] >= beta * total_jobs - TOL
    w = instance.weights
    best = None
    for bits in itertools.product((0, 1), repeat=n_sites):
        y = np.array(bits, dtype=bool)
        feasible = ok.copy()
        open_at = {(d.site_type[i], d.city_ids[d.site_d[i]]) for i in range(n_sites) if y[i]}
        for a in range(n_arcs):
            kind = instance.types[arc_type[a]]
            if kind.requires_site and (arc_type[a], arc_city[a]) not in open_at:
                feasible &= X[:, a] == 0
        for i in range(n_sites):
            k, c = d.site_type[i], d.city_ids[d.site_d[i]]
            sel = (arc_type == k) & (arc_city == c)
            load = X[:, sel] @ jobs[sel]
            if math.isfinite(d.site_capacity[i]):
                feasible &= load <= d.site_capacity[i] * y[i] + TOL
            feasible &= load >= instance.types[k].min_site_jobs * y[i] - TOL
        for k, kind in instance.types.items():
            if kind.requires_site:
                n_open = sum(1 for i in range(n_sites) if y[i] and d.site_type[i] == k)
                if not (kind.min_sites <= n_open <= kind.max_sites):
                    feasible[:] = False
        site_cost = float(d.site_cost[y].sum())
        if instance.policy.budget is not None:
            feasible &= X @ d.relocation + site_cost <= instance.policy.budget + TOL
        if not feasible.any():
            continue
        objective = X @ d.cost + w.sites * site_cost + w.shortfall * shortfall
        value = float(objective[feasible].min())
        best = value if best is None else min(best, value)
    return best


def write_hard_gap(folder: Path, agents: int = 10, jobs: int = 150, seed: int = 3) -> Path:
    """A seeded generalised-assignment instance that HiGHS needs several seconds to prove.

    HiGHS 1.16 finds a first plan at once and the optimum within ~2 s, but
    proving it takes ~9 s on one core: room for a time limit or a Ctrl-C that
    stops with a plan and a gap.
    """
    rng = np.random.default_rng(seed)
    cost = rng.integers(10, 50, size=(agents, jobs))
    use = rng.integers(5, 25, size=(agents, jobs))
    capacity = np.floor(0.8 * use.sum(axis=1) / agents).astype(int)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id,lon,lat,cap_gap", "s,0,0,"] + [f"a{i},0,0,{capacity[i]}" for i in range(agents)]
    (folder / "cities.csv").write_text("\n".join(lines) + "\n")
    lines = ["id,origin,type,must_move,gap_use"] + [f"j{j},s,job,true,0" for j in range(jobs)]
    (folder / "facilities.csv").write_text("\n".join(lines) + "\n")
    lines = ["facility,destination,cost,use_cap"] + [
        f"j{j},a{i},{cost[i, j]},{use[i, j]}" for j in range(jobs) for i in range(agents)
    ]
    (folder / "arcs.csv").write_text("\n".join(lines) + "\n")
    manifest = {
        "instance": {"name": "hard-gap"},
        "tables": {"cities": "cities.csv", "facilities": "facilities.csv", "arcs": "arcs.csv"},
        "types": [{"id": "job"}],
        "resources": [{"id": "cap", "use": "gap_use", "cap": "cap_gap"}],
        "sources": [{"city": "s", "target_reduction": 0}],
    }
    return write_manifest(folder, manifest)
