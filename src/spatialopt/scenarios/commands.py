"""The command-line glue of ``spatialopt sweep``, ``diff`` and ``pareto`` (see :mod:`spatialopt.cli`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .diff import diff_plans
from .parallel import default_workers
from .pareto import pareto_front
from .scenario_file import load_scenarios
from .sweep import SweepOutcome, run_sweep


def _describe(status: str, objective: float | None, seconds: float, unit: str) -> str:
    shown = "no plan" if objective is None else f"objective {objective:,.3f}{unit}"
    return f"{status}, {shown}, {seconds:.2f} s"


def sweep_command(args: Any) -> int:
    """``spatialopt sweep INSTANCE SCENARIOS.toml``: see the README section "What-if studies"."""
    from ..api import load, solver_options

    base = load(args.instance, allow_outside_paths=args.allow_outside_paths)
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
        print(f"[{done}/{total}] {o.name}: {_describe(o.status.value, objective, o.seconds, unit)}{extra}", flush=True)

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
    from ..errors import SolutionFileError

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
    from ..api import load, solver_options

    instance = load(args.instance, allow_outside_paths=args.allow_outside_paths)
    for warning in instance.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    options = solver_options(args.profile, time_limit=args.time_limit, gap=args.gap, threads=args.threads, seed=args.seed)
    unit = f" {instance.cost_unit}" if instance.cost_unit else ""
    print(f"tracing {instance.name}: {args.points} points (Ctrl-C stops and keeps the points so far)",
          file=sys.stderr, flush=True)

    def progress(done: int, total: int, row: dict[str, Any]) -> None:
        print(f"[{done}/{total}] scale {row['target_scale']:.4g}: "
              f"{_describe(row['status'], row['objective'], row['seconds'], unit)}, warm start {row['warm_start']}",
              flush=True)

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
