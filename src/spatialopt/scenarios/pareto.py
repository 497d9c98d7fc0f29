"""The cost–residents Pareto front, by the ε-constraint method.

:func:`pareto_front` traces total cost against residents moved out of the
cores: every (or one) source's target ``T_s`` is scaled by λ from 0 to the
largest λ any plan reaches, each scaled target made hard. The points are
solved by :mod:`spatialopt.scenarios.front_solver` (ONE model and one
persistent HiGHS per chain of points; only the target rows' bounds change
from point to point, and every point starts from its upper neighbour's plan,
which is feasible for it). Points are solved from the largest λ down, so
each point's cost is at most its neighbour's by construction (a point that
still came out dearer takes the neighbour's plan). ``bench/bench_pareto.py``
measures the gain.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..destinations import PARETO
from ..errors import InstanceError, Problem, SpatialoptError
from ..instance import WEIGHT_NAMES, Instance
from ..output import write_folder
from ..solve import SolveStatus
from .changes import Changes, changed_sha256
from .front_solver import largest_scale, solve_chain
from .parallel import default_workers, run_tasks, task_options
from .sweep import worst_exit_code

if TYPE_CHECKING:
    from ..results import Result
    from ..solve import SolverRun


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
    period: str | None = None  # pareto --period: the milestone traced (moved_residents by its end)

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
        if self.period is not None:
            ax.set_title(f"{self.instance.name}: total cost against residents moved by the end of {self.period}\n"
                         f"(milestone {self.period} of {who} scaled from 0 to {self.max_scale:.3g} x, made hard)",
                         fontsize=10)
            ax.set_xlabel(f"residents moved out of the cores by the end of {self.period} (persons)")
        else:
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

        return write_folder(Path(out_dir), fill, PARETO, force=force)


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



@dataclass(frozen=True)
class _MilestoneTrace:
    """``pareto --period P``: the milestone of P scaled alone, per source its share and the shares before and after.

    A point at scale λ sets each scaled source's milestone of P to
    ``max(λ·share, the largest milestone before P)`` (an earlier milestone
    already holds the moves by P above it) and raises a later milestone below
    that value to it (the later row is implied by P's): the point instance
    stays valid (milestones not decreasing) and means exactly "λ·share of the
    target by the end of P". λ stops at ``1 / share`` (a milestone is at most
    the whole target).
    """

    period: str
    shares: dict[str, float]  # source -> its milestone share of P
    before: dict[str, float]  # source -> its largest milestone share before P (0 without)
    later: dict[str, list[tuple[str, float]]]  # source -> (period id, share) of its milestones after P

    @property
    def max_scale(self) -> float:
        return min(1.0 / share for share in self.shares.values())

    def changes(self, scale: float) -> Changes:
        sets: dict[str, Any] = {}
        for s, share in self.shares.items():
            level = max(scale * share, self.before[s])
            sets[f"sources.{s}.milestones.{self.period}"] = level
            for period_id, later in self.later[s]:
                if later < level:
                    sets[f"sources.{s}.milestones.{period_id}"] = level
            sets[f"sources.{s}.soft"] = False
        return Changes(set=tuple(sorted(sets.items())))


def _milestone_trace(instance: Instance, scaled: Sequence[str], period: str) -> _MilestoneTrace:
    """The milestone of ``period`` at each scaled source that has one > 0; an InstanceError otherwise."""
    ids = [p.id for p in instance.periods]
    if period not in ids[:-1]:
        expected = (f"a period id other than the last ({', '.join(ids[:-1]) or 'none'}); the last period's "
                    "row is the target itself (leave out --period)") if ids else "no --period: the instance has no [[periods]]"
        raise InstanceError([Problem(instance.name, "--period", period, expected)], instance.name)
    at = ids.index(period)
    shares, before, later = {}, {}, {}
    for s in scaled:
        milestones = instance.sources[s].milestones
        share = milestones.get(period, 0.0)
        if share > 0 and instance.sources[s].target_persons > 0:
            shares[s] = share
            before[s] = max([milestones[q] for q in ids[:at] if q in milestones], default=0.0)
            later[s] = [(q, milestones[q]) for q in ids[at + 1:-1] if q in milestones]
    if not shares:
        raise InstanceError([Problem(instance.name, "--period", period, "a period in which some scaled source "
                                     f"({', '.join(scaled)}) has a milestone > 0 and a target > 0")], instance.name)
    return _MilestoneTrace(period, shares, before, later)


def pareto_front(instance: Instance, points: int = 11, *, source: str | None = None, period: str | None = None,
                 workers: int | None = None,
                 scheduler: str | None = None, options: Mapping[str, Any] | None = None, builder: str = "matrix",
                 on_point: Callable[[int, int, dict[str, Any]], None] | None = None) -> ParetoFront:
    """ε-constraint trace of total cost against residents moved out of the cores.

    Every source's target (or ``source``'s only) is scaled by λ from 0 to λ*,
    the largest scale some plan reaches under every other rule (found by a MIP
    that maximises λ), in ``points`` equal steps; at each point the scaled
    targets are hard. One persistent solver per chain of points, each point
    warm-started from its upper neighbour's plan (see
    :func:`~spatialopt.scenarios.front_solver.solve_chain`).
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

    ``period`` (a phased instance's period other than the last) traces one
    milestone instead: only that milestone of the scaled sources is scaled
    (from 0 to the largest share of the target some plan moves by the end of
    ``period``, at most the whole target), every other target and milestone
    stays as the instance states it, and ``moved_residents`` counts the
    residents moved by the end of ``period``.
    """
    from ..derive import derive
    from ..results import extract_plan

    if points < 2:
        raise ValueError("a front needs at least 2 points")
    if source is not None and source not in instance.sources:
        raise InstanceError([Problem(instance.name, "--source", source,
                                     f"a source city id ({', '.join(instance.sources)})")], instance.name)
    scaled = (source,) if source is not None else tuple(instance.sources)
    trace = _milestone_trace(instance, scaled, period) if period is not None else None
    targets: dict[str, float]
    if trace is not None:  # the rows "s@period", at the milestone's level at scale 1
        targets = {f"{s}@{period}": share * instance.sources[s].target_persons for s, share in trace.shares.items()}
    else:
        targets = {s: instance.sources[s].target_persons for s in scaled}
    if not any(t > 0 for t in targets.values()):
        raise InstanceError([Problem(instance.name, "target", 0, "a source with a target > 0 to scale "
                                     f"({', '.join(scaled)} all have 0)")], instance.name)

    def changes_at(scale: float) -> Changes:
        return trace.changes(scale) if trace is not None else _scaled_changes(scaled, targets, scale)

    def point_at(scale: float) -> Instance:
        if trace is not None:  # few points: the loader's validation per point is affordable
            return instance.with_changes(trace.changes(scale))
        return _point_instance(instance, scaled, targets, scale)

    chosen = task_options(options)
    zero = instance.with_changes(changes_at(0.0))
    derived = derive(zero)
    largest, top_plan, status, reasons, max_seconds = largest_scale(zero, derived, targets, chosen, builder)
    if not status.has_solution:
        empty = pd.DataFrame(columns=PARETO_COLUMNS)
        return ParetoFront(instance, scaled, targets, 0.0, empty, [], [], status, reasons, max_seconds, period)
    if trace is not None:
        largest = min(largest, trace.max_scale)
    scales = [largest * k / (points - 1) for k in range(points)] if largest > 0 else [0.0]
    scales[-1] = largest
    start = top_plan.column_start() if top_plan is not None else None
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
        solve_chain(zero, derived, targets, chains[0], start, chosen, builder, on_point=report)
    else:
        tasks = [(zero, derived, targets, chain, start, chosen, builder) for chain in chains]

        def chain_done(_i: int, value: Any, exc: BaseException | None) -> None:
            if exc is not None:
                if isinstance(exc, KeyboardInterrupt):
                    return
                raise SpatialoptError(f"a chain of the front failed: {type(exc).__name__}: {exc}") from exc
            for scale, run, warm in value:
                report(scale, run, warm)

        run_tasks(solve_chain, tasks, workers=len(chains), scheduler=scheduler, on_done=chain_done)

    solved = [s for s in scales if s in by_scale]  # ascending; an interrupt may leave some out
    runs = {s: by_scale[s][0] for s in solved}
    plan_from = {s: i + 1 for i, s in enumerate(solved)}
    results: dict[float, Result] = {}
    for s in solved:
        results[s] = extract_plan(point_at(s), derived, runs[s])
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
            results[lower] = extract_plan(point_at(lower), derived, run)
    rows = []
    for i, s in enumerate(solved, start=1):
        r = results[s]
        has = r.status.has_solution
        moved = _moved(r, scaled, period) if has else None
        rows.append({
            "point": i, "target_scale": s, "target_residents": float(sum(s * t for t in targets.values())),
            "moved_residents": moved, "objective": r.objective if has else None,
            **{c: (r.components[c] if has and r.components else None) for c in WEIGHT_NAMES},
            "status": r.status.value, "seconds": round(by_scale[s][0].seconds, 4), "warm_start": by_scale[s][1],
            "plan_from": plan_from[s], "on_front": False,
        })
    table = pd.DataFrame(rows, columns=PARETO_COLUMNS)
    table["on_front"] = _non_dominated(table)
    return ParetoFront(instance, scaled, targets, largest, table, [results[s] for s in solved],
                       [changes_at(s) for s in solved], SolveStatus.OPTIMAL, [], max_seconds, period)


def _moved(result: Result, scaled: Sequence[str], period: str | None) -> float:
    """Residents moved from the scaled sources: in the whole plan, or by the end of ``period``."""
    if period is None:
        return float(result.sources.set_index("city").loc[list(scaled), "moved_residents"].sum())
    schedule = result.schedule
    mine = schedule[(schedule["period"] == period) & schedule["source"].isin(list(scaled))]
    return float(mine["residents_moved_by_end"].sum())


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
