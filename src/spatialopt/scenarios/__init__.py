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
``commands``              the ``sweep``, ``diff`` and ``pareto`` commands
========================  ===============================================================
"""

from __future__ import annotations

from .changes import Changes, apply_changes, changed_sha256, parse_changes
from .commands import diff_command, pareto_command, sweep_command
from .diff import PlanDiff, diff_plans
from .parallel import task_options
from .pareto import ParetoFront, pareto_front
from .scenario_file import Scenario, ScenarioSet, load_scenarios
from .sweep import Sweep, SweepOutcome, run_sweep, worst_exit_code

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
    "diff_command",
    "diff_plans",
    "load_scenarios",
    "pareto_command",
    "pareto_front",
    "parse_changes",
    "run_sweep",
    "sweep_command",
    "task_options",
    "worst_exit_code",
]
