"""What-if studies: scenarios as data, sweeps, plan diffs and a cost–residents Pareto front.

Scenarios
    A scenario is a set of *changes* to a base instance (set, scale or unset a
    value, exclude or add cities, remove or add facility rows).
    :func:`apply_changes` (and :meth:`Instance.with_changes
    <spatialopt.instance.Instance.with_changes>`) applies them and runs the
    loader's own validation over the result; :func:`load_scenarios` reads a
    scenario file (TOML, format in ``docs/scenarios.md``).

Sweeps
    :func:`run_sweep` solves the base and every scenario, on a local process
    pool (``workers``), in this process (``workers=1``) or on a Dask cluster
    (``scheduler="tcp://host:port"``), and compares them (:class:`Sweep`).

Diffs
    :func:`diff_plans` compares two plans: facilities that move elsewhere,
    start or stop moving, sites opened or closed, cost components and
    per-source figures.

Pareto front
    :func:`pareto_front` traces total cost against residents moved out of the
    cores by the ε-constraint method, with one persistent, warm-started HiGHS
    per chain of points.

One job per module:

========================  ===============================================================
``changes``               :class:`Changes`: parsing, hashing, :func:`apply_changes`
``document``              an instance as editable entries and rows, re-validated
``scenario_file``         scenario files (:func:`load_scenarios`)
``parallel``              tasks in this process, on a process pool or on Dask
``sweep``                 :func:`run_sweep` and :class:`Sweep`
``diff``                  :func:`diff_plans` and :class:`PlanDiff`
``pareto``                :func:`pareto_front` and :class:`ParetoFront`
``front_solver``          the front's solves: the largest scale, chains of points
========================  ===============================================================

The ``sweep``, ``diff`` and ``pareto`` commands are in :mod:`spatialopt.cli`.
Importing this package loads only :mod:`.changes` (it installs
:meth:`Instance.with_changes <spatialopt.instance.Instance.with_changes>`);
the other names load their module on first use.
"""

from __future__ import annotations

from typing import Any

from ..instance import install_change_applier
from .changes import Changes, apply_changes, changed_sha256, parse_changes

install_change_applier(apply_changes)

# name -> the module defining it, imported on first use of any of them (sweeps
# and fronts solve; scenario edits need none of it).
_LAZY = {
    "PlanDiff": "diff", "diff_plans": "diff",
    "task_options": "parallel",
    "ParetoFront": "pareto", "pareto_front": "pareto",
    "Scenario": "scenario_file", "ScenarioSet": "scenario_file", "load_scenarios": "scenario_file",
    "Sweep": "sweep", "SweepOutcome": "sweep", "run_sweep": "sweep", "worst_exit_code": "sweep",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import diff, parallel, pareto, scenario_file, sweep

    modules = {"diff": diff, "parallel": parallel, "pareto": pareto, "scenario_file": scenario_file, "sweep": sweep}
    value = getattr(modules[_LAZY[name]], name)
    globals()[name] = value
    return value


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
    "task_options",
    "worst_exit_code",
]
