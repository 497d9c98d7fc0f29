"""A result folder, read back as the :class:`~spatialopt.results.Result` it records, for ``spatialopt explain``.

The folder is the record: the plan is ``solution.json``'s assignments and
sites (spec §5), re-attached to the instance it was solved from. The instance
is the one given, or the manifest ``run.json`` names (for a run of a sweep,
the base manifest with the scenario's changes of ``scenario.json``). Its
bytes must be the ones solved (``instance_sha256``): an explanation computed
on another instance would be an explanation of another plan, so a mismatch is
refused, not noted.

A plan with periods (spec v2) records the period of every move and site
opening; they are read back as the model's move and site columns (each arc
and site in each period), and the objective is recomputed from them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .explain import ExplainError

if TYPE_CHECKING:
    from .instance import Instance
    from .results import Result


def instance_of(folder: Path, instance: Instance | None = None, *, allow_outside_paths: bool = False) -> Instance:
    """The instance ``folder`` was solved from (see the module docstring)."""
    from .api import load
    from .result_folder import read_record, read_scenario, run_records

    if instance is not None:
        return instance
    named = ""
    for record in run_records(folder):
        path = read_record(record).get("instance_path")
        if isinstance(path, str) and path:
            named = named or path
            if Path(path).is_file():
                base = load(path, allow_outside_paths=allow_outside_paths)
                scenario = read_scenario(folder)
                changes = scenario.get("changes") if scenario else None
                if changes and base.sha256 == scenario.get("base_sha256"):
                    return base.with_changes(changes)
                return base
    if named:
        raise ExplainError(f"{folder}: run.json names the instance {named}, which does not exist (any more); "
                           "pass --instance MANIFEST")
    raise ExplainError(f"{folder}: run.json does not say which instance was solved; pass --instance MANIFEST")


def read_result(folder: str | os.PathLike[str], instance: Instance | None = None, *,
                allow_outside_paths: bool = False) -> Result:
    """The plan of the result folder ``folder`` as a :class:`Result` of its instance."""
    from .derive import derive
    from .result_folder import SOLUTION, load_solution
    from .results import COMPONENTS, Result, phased_components, plan_components
    from .status import SolveStatus

    where = Path(folder)
    if not where.is_dir() or not (where / SOLUTION).is_file():
        raise ExplainError(f"{where}: not a result folder (no {SOLUTION}); run 'spatialopt solve' first")
    solution = load_solution(where)
    inst = instance_of(where, instance, allow_outside_paths=allow_outside_paths)
    if solution.get("instance") != inst.name:
        raise ExplainError(f"{where}: the plan is of instance {solution.get('instance')!r}, but the instance given is "
                           f"{inst.name!r}")
    solved = solution.get("instance_sha256")
    if solved and inst.sha256 and solved != inst.sha256:
        raise ExplainError(f"{where}: the instance files have changed since this plan was solved (instance_sha256 "
                           "differs); re-solve it, or pass the instance that was solved with --instance")
    status = SolveStatus(solution["status"])
    if not status.has_solution:
        raise ExplainError(f"{where}: there is no plan to explain (status {status.value})")
    derived = derive(inst)
    arc_of = {key: i for i, key in enumerate(derived.arc_keys())}
    period_at = {p.id: i for i, p in enumerate(inst.plan_periods)} if inst.phased else {}
    move_of: dict[tuple[int, int], int] = {}
    if inst.phased:
        from .formulation import move_layout

        move_arc, move_period = move_layout(inst, derived)
        move_of = {(int(a), int(p)): i for i, (a, p) in enumerate(zip(move_arc, move_period))}
    units = np.zeros(derived.n_arcs)
    move_units = np.zeros(len(move_of)) if inst.phased else None
    for n, a in enumerate(solution["assignments"]):
        key = (str(a["facility"]), str(a["destination"]))
        if key not in arc_of:
            raise ExplainError(f"{where / SOLUTION}: assignments[{n}] moves {key[0]} to {key[1]}, which is not an "
                               "eligible arc of the instance")
        units[arc_of[key]] += float(a["units"])
        if move_units is not None:
            move = move_of.get((arc_of[key], period_at.get(str(a.get("period")), -1)))
            if move is None:
                raise ExplainError(f"{where / SOLUTION}: assignments[{n}] moves {key[0]} to {key[1]} in period "
                                   f"{a.get('period')!r}, which is not a period of the facility's window")
            move_units[move] = float(a["units"])
    site_of = {key: i for i, key in enumerate(derived.site_keys())}
    opened = np.zeros(len(derived.site_type), dtype=bool)
    site_period = np.full(len(derived.site_type), -1, dtype=np.int64) if inst.phased else None
    for n, s in enumerate(solution["sites"]):
        key = (str(s["type"]), str(s["city"]))
        if key not in site_of:
            raise ExplainError(f"{where / SOLUTION}: sites[{n}] opens a {key[0]} site in {key[1]}, which is not a "
                               "site candidate of the instance")
        opened[site_of[key]] = True
        if site_period is not None:
            if str(s.get("period")) not in period_at:
                raise ExplainError(f"{where / SOLUTION}: sites[{n}] opens in period {s.get('period')!r}, which is "
                                   "not a period of the instance")
            site_period[site_of[key]] = period_at[str(s.get("period"))]
    if move_units is not None and site_period is not None:
        components = phased_components(inst, derived, move_arc, move_period, move_units, site_period)
    else:
        components = plan_components(inst, derived, units, opened)
    objective = sum(getattr(inst.weights, k) * components[k] for k in COMPONENTS)
    return Result(instance=inst, derived=derived, status=status, objective=objective, bound=solution.get("bound"),
                  gap=solution.get("gap"), components=components, units=units, opened=opened,
                  solver=dict(solution.get("solver") or {}), move_units=move_units, site_period=site_period)
