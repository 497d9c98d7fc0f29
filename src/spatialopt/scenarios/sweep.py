"""Sweeps: the base and every scenario solved, side by side, and compared.

:func:`run_sweep` solves the base and every scenario, on a local process pool
(``workers``), in this process (``workers=1``) or on a Dask cluster
(``scheduler="tcp://host:port"``) through :func:`~spatialopt.scenarios.parallel.run_tasks`,
and compares them (:class:`Sweep`). Each changed instance is built and
validated here, so a bad scenario fails before any solve.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..destinations import SWEEP, written_by
from ..instance import WEIGHT_NAMES, Instance
from ..output import write_folder
from ..solve import SolveStatus
from .changes import Changes
from .diff import changed_facilities, plan_of, timed_plan_of
from .parallel import run_tasks, task_options
from .scenario_file import BASE_NAME, ScenarioSet

if TYPE_CHECKING:
    from ..results import Result


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
    from ..api import solve

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
        base_plan = plan_of(base.result.to_solution_dict()) if base and base.result and base.status.has_solution else None
        rows = []
        for name, o in self.outcomes.items():
            row: dict[str, Any] = {"scenario": name, "status": o.status.value}
            r = o.result
            row.update(self._plan_columns(r if r is not None and r.status.has_solution else None, base_plan))
            row["seconds"] = round(o.seconds, 3)
            row["note"] = o.error or ("; ".join(r.reasons) if r is not None else "")
            rows.append(row)
        frame = pd.DataFrame(rows)
        numbers = ["objective", "gap", *WEIGHT_NAMES,
                   *(c for c in frame.columns if c.startswith(("moved_", "density_", "spending_")))]
        counts = {c: "Int64" for c in ("sites_opened", "destinations_changed", "periods_changed") if c in frame.columns}
        return frame.astype({**{c: float for c in numbers}, **counts})

    def _period_columns(self, r: Result | None) -> dict[str, Any]:
        """A phased base's per-period figures: residents moved by each period's end per source, spending per period.

        Columns ``moved_<source>_by_<period>`` (to read against the milestones)
        and ``spending_<period>`` (undiscounted, as the period budgets count it).
        """
        schedule = r.schedule if r is not None else None
        row: dict[str, Any] = {}
        for period in self.base.periods:
            mine = schedule[schedule["period"] == period.id] if schedule is not None else None
            for s in self.base.sources:
                got = mine[mine["source"] == s] if mine is not None else None
                row[f"moved_{s}_by_{period.id}"] = (float(got["residents_moved_by_end"].iloc[0])
                                                   if got is not None and len(got) else None)
            row[f"spending_{period.id}"] = float(mine["spending"].iloc[0]) if mine is not None and len(mine) else None
        return row

    def _plan_columns(self, r: Result | None, base_plan: Any) -> dict[str, Any]:
        """A run's figures in the comparison (None without a plan): objective, components, sources, sites, changes."""
        row: dict[str, Any] = {"objective": None if r is None else r.objective, "gap": None if r is None else r.gap}
        for c in WEIGHT_NAMES:
            row[c] = r.components[c] if r is not None and r.components else None
        src = r.sources.set_index("city") if r is not None else None
        for s in self.base.sources:
            has = src is not None and s in src.index
            row[f"moved_{s}"] = float(src.loc[s, "moved_residents"]) if src is not None and has else None
            after = src.loc[s, "density_after"] if src is not None and has else None
            row[f"density_after_{s}"] = None if after is None or pd.isna(after) else float(after)
        if self.base.phased:
            row.update(self._period_columns(r))
        row["sites_opened"] = int(np.count_nonzero(r.opened)) if r is not None else None
        if r is not None and base_plan is not None:
            solution = r.to_solution_dict()
            changed = changed_facilities(base_plan, plan_of(solution))
            row["destinations_changed"] = len(changed)
            if self.base.phased:  # the same destinations, moved in other periods
                base_timed = timed_plan_of(self.outcomes[BASE_NAME].result.to_solution_dict())  # type: ignore[union-attr]
                retimed = [f for f in changed_facilities(base_timed, timed_plan_of(solution)) if f not in changed]
                row["periods_changed"] = len(retimed)
                changed += retimed
            row["changed_facilities"] = ";".join(changed)
        else:
            row["destinations_changed"] = None
            if self.base.phased:
                row["periods_changed"] = None
            row["changed_facilities"] = ""
        return row

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
            summary = {"written_by": written_by(), "instance": self.base.name, "instance_sha256": self.base.sha256, "options": self.options,
                       "runs": {n: {"status": o.status.value, "error": o.error} for n, o in self.outcomes.items()}}
            (folder / "sweep.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")

        return write_folder(Path(out_dir), fill, SWEEP, force=force)


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
