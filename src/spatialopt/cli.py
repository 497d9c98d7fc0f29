"""The ``spatialopt`` command line: ``main(argv) -> exit code``.

Exit codes (the same for every command):
    0  a plan was found (optimal or feasible), or the input / solution is valid
    1  internal error, or ``check`` found violations
    2  invalid input or usage
    3  infeasible or unbounded
    4  a limit or an interrupt came before any plan
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .destinations import PARETO, RESULT, SWEEP, DestinationError, FolderKind, command_output
from .errors import InstanceError, SolutionFileError, SpatialoptError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_LIMIT = 0, 1, 2, 3, 4


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 2 and one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"spatialopt: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spatialopt", description="Plan which facilities move out of megacity cores, and where.")
    parser.add_argument("--version", action="version", version=f"spatialopt {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check an instance and list every problem")
    p.add_argument("instance", help="the instance's .toml manifest")

    p = sub.add_parser("info", help="counts, eligible arcs per type, destinations per facility")
    p.add_argument("instance")

    p = sub.add_parser("diagnose", help="why an instance has no plan, and what change would give it one")
    p.add_argument("instance")
    p.add_argument("--time-limit", type=_positive_float, default=60.0, help="seconds per relaxation (default 60)")

    p = sub.add_parser("solve", help="solve an instance and write the result folder")
    p.add_argument("instance")
    p.add_argument("--out", type=Path, help="result folder (default: results/<instance name>/)")
    p.add_argument("--force", action="store_true", help="replace an existing result folder")
    p.add_argument("--profile", help="solver profile: a name in solvers/ (default, exact, quick) or a .toml path")
    p.add_argument("--time-limit", type=_positive_float, help="seconds")
    p.add_argument("--gap", type=_fraction, help="relative MIP gap, e.g. 1e-4")
    p.add_argument("--threads", type=_non_negative_int, help="HiGHS threads (0 = automatic)")
    p.add_argument("--seed", type=_non_negative_int, help="HiGHS random seed")
    p.add_argument("--verbose", action="store_true", help="show the HiGHS log while solving")
    p.add_argument("--builder", choices=["matrix", "pyomo"], default="matrix",
                   help="how the model reaches HiGHS: numpy arrays (default) or the Pyomo reference model")

    p = sub.add_parser("export", help="write the model as MPS and/or LP for any other solver")
    p.add_argument("instance")
    p.add_argument("--mps", type=Path, help="MPS file to write")
    p.add_argument("--lp", type=Path, help="LP file to write")

    p = sub.add_parser("check", help="verify a solution file against an instance, independently of the model")
    p.add_argument("instance")
    p.add_argument("solution", help="solution.json, or a result folder holding one")

    p = sub.add_parser("bench", help="benchmarks: 'known-optima' re-solves instances with published optima")
    p.add_argument("suite", choices=["known-optima"])
    p.add_argument("--family", action="append", choices=["gap", "cap", "pmed", "hand"],
                   help="only this family (repeatable); default all")
    p.add_argument("--only", help="only ids matching this shell pattern, e.g. 'gap1-*' or 'pmed?'")
    p.add_argument("--time-limit", type=_positive_float, help="seconds per instance")
    p.add_argument("--registry", type=Path, help="known-optima CSV (default results/known_optima.csv)")

    p = sub.add_parser("report", help="write report.html (offline), the flow map and plan.gpkg for a result folder")
    p.add_argument("result", type=Path, help="a result folder written by 'solve'")
    p.add_argument("--instance", help="the instance's .toml manifest (default: the one named in the folder's run.json)")
    p.add_argument("--out", type=Path, help="the HTML file to write (default: RESULT/report.html); the map and GeoPackage go beside it")
    p.add_argument("--force", action="store_true", help="replace an existing report and the files beside it")

    p = sub.add_parser("convert", help="write a spatialopt instance from an OR-Library file")
    convert = p.add_subparsers(dest="format", required=True, parser_class=_Parser)
    q = convert.add_parser("orlib-gap", help="generalised assignment (gapN.txt)")
    q.add_argument("file", type=Path)
    q.add_argument("--out", type=Path, required=True)
    q.add_argument("--problem", type=_positive_int, default=1, help="which problem of the file (1-based)")
    q.add_argument("--sense", choices=["max", "min"], default="max",
                   help="OR-Library publishes maximum profit (max); min treats c as cost")
    q = convert.add_parser("orlib-cap", help="capacitated warehouse location (capNN.txt, capa/capb/capc)")
    q.add_argument("file", type=Path)
    q.add_argument("--out", type=Path, required=True)
    q.add_argument("--variant", choices=["split", "single", "uncap"], default="split",
                   help="split demand (OR-Library's published optima), single sourcing, or no capacities")
    q.add_argument("--capacity", type=_positive_float, help="the capacity of capa/capb/capc files")
    q = convert.add_parser("orlib-pmed", help="p-median on a graph (pmedN.txt)")
    q.add_argument("file", type=Path)
    q.add_argument("--out", type=Path, required=True)

    # What-if studies (spatialopt.scenarios): sweep, diff, pareto.
    p = sub.add_parser("sweep", help="solve the base and every scenario of a scenario file; compare them")
    p.add_argument("instance")
    p.add_argument("scenarios", help="the scenario file (.toml, see docs/scenarios.md)")
    q = sub.add_parser("pareto", help="trace total cost against residents moved (scaled targets), one warm solver")
    q.add_argument("instance")
    q.add_argument("--points", type=_positive_int, default=11, help="points on the front (default 11, at least 2)")
    q.add_argument("--source", help="scale only this source's target (default: every source's)")
    q.add_argument("--period", help="trace this period's milestone only (a phased instance's period id, not the "
                                    "last): residents moved by its end against cost")
    for p, what in ((p, "sweep"), (q, "pareto")):  # noqa: B020 - p becomes each of the two parsers
        p.add_argument("--out", type=Path, help=f"output folder (default: results/<instance name>-{what}/)")
        p.add_argument("--force", action="store_true", help="replace an existing output folder")
        p.add_argument("--workers", type=_positive_int, help="local worker processes (default: the CPUs; 1 = this process)")
        p.add_argument("--scheduler", type=_scheduler_address,
                       help="run on the Dask cluster at this address, e.g. tcp://127.0.0.1:8786")
        p.add_argument("--profile", help="solver profile: a name in solvers/ (default, exact, quick) or a .toml path")
        p.add_argument("--time-limit", type=_positive_float, help="seconds per solve")
        p.add_argument("--gap", type=_fraction, help="relative MIP gap, e.g. 1e-4")
        p.add_argument("--threads", type=_non_negative_int, help="HiGHS threads per solve (default 1)")
        p.add_argument("--seed", type=_non_negative_int, help="HiGHS random seed")
        p.add_argument("--builder", choices=["matrix", "pyomo"], default="matrix",
                       help="how models reach HiGHS: numpy arrays (default) or the Pyomo reference")
    p = sub.add_parser("diff", help="compare two result folders: who moves elsewhere, sites, costs, sources")
    p.add_argument("a", help="result folder (or solution.json) A")
    p.add_argument("b", help="result folder (or solution.json) B")
    p.add_argument("--csv", type=Path, help="also write every difference to this CSV file")
    _add_allow_outside_paths(sub)
    return parser


# Commands that load an instance manifest (report: its --instance).
INSTANCE_COMMANDS = ("validate", "info", "diagnose", "solve", "export", "check", "sweep", "pareto", "report")


def _add_allow_outside_paths(sub: argparse._SubParsersAction) -> None:
    for name in INSTANCE_COMMANDS:
        sub.choices[name].add_argument(
            "--allow-outside-paths", action="store_true",
            help="read table files outside the manifest's folder (absolute paths, '..', symlinks); "
                 "by default an instance may only name files inside its own folder",
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Ctrl-C at any point gives "spatialopt: interrupted", exit 4; a closed
    stdout or stderr silences the output without changing the exit code
    (:mod:`spatialopt.console`). Without ``argv`` (the installed command)
    main owns the process: Ctrl-C stays ignored after it returns, while the
    interpreter exits.
    """
    from .console import guarded_process, quiet_interrupt

    with guarded_process(owns_process=argv is None):
        try:
            return _run(argv)
        except KeyboardInterrupt:
            quiet_interrupt()
            print("spatialopt: interrupted", file=sys.stderr)
            return EXIT_LIMIT


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return COMMANDS[args.command](args)
    except InstanceError as exc:
        _print_problems(exc)
        return EXIT_INPUT
    except (SolutionFileError, DestinationError) as exc:
        print(f"spatialopt: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except SpatialoptError as exc:
        print(f"spatialopt: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except BrokenPipeError:
        # The reader of our output went away (``spatialopt solve ... | head``):
        # results are already written; say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # never a bare traceback for the user
        if os.environ.get("SPATIALOPT_DEBUG"):
            traceback.print_exc()
        print(f"spatialopt: internal error: {type(exc).__name__}: {exc} (set SPATIALOPT_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


def _print_problems(exc: InstanceError) -> None:
    count = exc.total
    print(f"{exc.source}: {count:,} problem{'s' if count != 1 else ''}", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)


def _load(path: str, allow_outside_paths: bool = False):
    from .api import load

    instance = load(path, allow_outside_paths=allow_outside_paths)
    for warning in instance.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return instance


def cmd_validate(args: argparse.Namespace) -> int:
    from .diagnose import presolve_findings

    instance = _load(args.instance, args.allow_outside_paths)
    print(f"{args.instance}: valid ({instance!r})")
    findings = presolve_findings(instance)
    if findings:
        print("but it cannot have a plan:")
        for finding in findings:
            print(f"  - {finding}")
        return EXIT_INFEASIBLE
    return EXIT_OK


def cmd_diagnose(args: argparse.Namespace) -> int:
    from .diagnose import diagnose

    instance = _load(args.instance, args.allow_outside_paths)
    print(f"diagnosing {instance.name} ...", file=sys.stderr, flush=True)
    diagnosis = diagnose(instance, time_limit=args.time_limit)
    print("\n".join(diagnosis.lines()))
    return EXIT_OK if diagnosis.feasible else EXIT_INFEASIBLE


def cmd_info(args: argparse.Namespace) -> int:
    import numpy as np

    from .derive import derive

    instance = _load(args.instance, args.allow_outside_paths)
    derived = derive(instance)
    fac = instance.facilities
    print(repr(instance))
    print(f"  destinations: {len(instance.destination_ids)}; eligible arcs: {derived.n_arcs}; site candidates: {len(derived.site_type)}")
    per_facility = np.bincount(derived.arc_f, minlength=len(fac))
    types = fac["type"].to_numpy(dtype=object)
    print("  by type: facility rows, units, eligible arcs, destinations per facility (min / median / max)")
    for type_id in instance.types:
        members = types == type_id
        if not members.any():
            print(f"    {type_id}: no facilities")
            continue
        counts = per_facility[members]
        print(
            f"    {type_id}: {int(members.sum())} rows, {int(fac['count'][members].sum())} units, "
            f"{int(counts.sum())} arcs, {int(counts.min())} / {float(np.median(counts)):g} / {int(counts.max())}"
        )
    stranded = [f for f, n in zip(fac.index, per_facility) if n == 0]
    if stranded:
        shown = ", ".join(stranded[:10]) + (" ..." if len(stranded) > 10 else "")
        print(f"  facilities with no eligible destination ({len(stranded)}): {shown}")
    for s, src in instance.sources.items():
        kind = "soft" if src.soft else "hard"
        print(f"  source {s}: {kind} target {src.target_persons:,.0f} residents ({src.target_form} = {src.target_value:g})")
    return EXIT_OK


def cmd_solve(args: argparse.Namespace) -> int:
    from .api import solve, solver_options

    instance = _load(args.instance, args.allow_outside_paths)
    out = output_folder(args.out, instance.name, "", RESULT, args.force)
    options = solver_options(args.profile, time_limit=args.time_limit, gap=args.gap, threads=args.threads, seed=args.seed)
    print(f"solving {instance.name} (Ctrl-C stops and keeps the best plan so far)", file=sys.stderr, flush=True)
    stream = None if args.verbose else _terminal_stderr()
    try:
        progress = None if stream is None else _incumbent_printer(stream)
        result = solve(instance, highs_options=options, verbose=args.verbose, progress=progress, builder=args.builder,
                       diagnose_time_limit=args.time_limit or 60.0, on_diagnose=_announce_diagnosis)
    finally:
        if stream is not None and stream is not sys.stderr:
            stream.close()
    written = result.write(out, force=args.force)
    print(result.summary())
    if written != out:
        print(f"note: {out} holds an earlier run; wrote {written} instead (use --force to replace it)", file=sys.stderr)
    print(f"wrote {written}/")
    return result.status.exit_code


def output_folder(out: Path | None, name: str, suffix: str, kind: FolderKind, force: bool) -> Path:
    """``--out``, or the default folder under results/ named after the instance, checked before any solve."""
    folder, note = command_output(out, name, suffix, kind, force)
    if note:
        print(f"note: {note}", file=sys.stderr)
    return folder


def _announce_diagnosis() -> None:
    print("infeasible: looking for the rules that stand in the way ...", file=sys.stderr, flush=True)


def _terminal_stderr():
    """A duplicate of the stderr descriptor, taken before the solve.

    Pyomo captures the process's standard streams while HiGHS runs; progress
    lines written here still reach the terminal. The caller closes it.
    """
    try:
        return open(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8")
    except (OSError, ValueError, AttributeError):  # no real descriptor (e.g. under a test harness)
        return sys.stderr


def _incumbent_printer(stream):
    """Print each better plan HiGHS finds, one line, to ``stream``."""

    def show(info: dict[str, float]) -> None:
        gap = info["gap"]
        shown = f"{100 * gap:.2f}%" if gap == gap and gap < 1e6 else "n/a"
        with contextlib.suppress(BrokenPipeError):  # nobody reads stderr any more: the solve goes on
            print(f"  {info['seconds']:7.1f} s  plan {info['objective']:,.3f}  bound {info['bound']:,.3f}  gap {shown}",
                  file=stream, flush=True)

    return show


def cmd_export(args: argparse.Namespace) -> int:
    from .derive import derive
    from .matrix import build_matrices
    from .solve import write_model_file

    if args.mps is None and args.lp is None:
        print("spatialopt: export needs --mps FILE and/or --lp FILE", file=sys.stderr)
        return EXIT_INPUT
    instance = _load(args.instance, args.allow_outside_paths)
    derived = derive(instance)
    matrices = build_matrices(instance, derived)
    names = _safe_names(
        [f"x_{f}_{d}" for f, d in derived.arc_keys()] + [f"y_{k}_{d}" for k, d in derived.site_keys()]
        + [f"u_{s}" for s, src in instance.sources.items() if src.soft]
        + _auxiliary_names(matrices)
    )
    for path in (args.mps, args.lp):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_model_file(matrices, str(path), names)
            print(f"wrote {path} ({matrices.n_rows} rows, {matrices.n_cols} columns, {matrices.n_nonzeros} nonzeros)")
    return EXIT_OK


def _auxiliary_names(matrices: Any) -> list[str]:
    """The auxiliary totals' columns after u, in their order, named by the rows that define them.

    A destination share adds ``moved_residents``, a region share ``moved_jobs``;
    either may come alone.
    """
    return [name for name in ("moved_residents", "moved_jobs") if f"{name}_def" in matrices.family_rows]


def _safe_names(names: list[str]) -> list[str]:
    """Names that MPS and LP readers accept: no spaces or operators, unique."""
    import re

    seen: set[str] = set()
    out = []
    for name in names:
        clean = re.sub(r"[^A-Za-z0-9_.]", "_", name)
        while clean in seen:
            clean += "_"
        seen.add(clean)
        out.append(clean)
    return out


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_solution
    from .result_folder import load_solution, solution_path

    instance = _load(args.instance, args.allow_outside_paths)
    path = solution_path(args.solution)
    solution = load_solution(path)
    report = check_solution(instance, solution)
    if report.ok:
        objective = solution.get("objective")
        shown = "no plan" if objective is None else f"objective {objective:,.6f}"
        print(f"{path}: valid ({solution.get('status')}, {shown})")
        return EXIT_OK
    for line in report.violations:
        print(line)
    print(f"{path}: {len(report.violations)} violation(s)", file=sys.stderr)
    return EXIT_INTERNAL


def cmd_bench(args: argparse.Namespace) -> int:
    import fnmatch

    from .known_optima import Outcome, default_registry, read_registry, run_registry

    registry = args.registry or default_registry()
    if not registry.is_file():
        print(f"spatialopt: known-optima registry not found: {registry} (the registry and the instances it names "
              "are in a checkout of the repository: run from its root, or pass --registry)", file=sys.stderr)
        return EXIT_INPUT
    entries = [
        e for e in read_registry(registry)
        if (not args.family or e.family in args.family) and (not args.only or fnmatch.fnmatch(e.id, args.only))
    ]
    if not entries:
        print("spatialopt: no registry rows match the filters", file=sys.stderr)
        return EXIT_INPUT
    header = f"{'instance':<22} {'published':>16} {'found':>16} {'rel diff':>9} {'seconds':>8}  status"
    print(header)
    print("-" * len(header))

    def show(i: int, o: Outcome) -> None:
        found = "-" if o.found is None else f"{o.found:,.3f}"
        diff = "-" if o.rel_diff is None else f"{o.rel_diff:.1e}"
        verdict = "ok" if o.ok else "MISMATCH" if o.check_ok else "CHECK FAILED"
        print(f"{o.entry.id:<22} {o.entry.objective:>16,.3f} {found:>16} {diff:>9} {o.seconds:>8.2f}  {o.status} {verdict}",
              flush=True)
        for line in o.violations:
            print(f"    {line}")

    root = registry.resolve().parents[1]
    outcomes = run_registry(entries, root, args.time_limit, on_result=show)
    bad = [o for o in outcomes if not o.ok]
    total = sum(o.seconds for o in outcomes)
    print(f"{len(outcomes)} instances, {len(bad)} mismatch(es), {total:.1f} s")
    return EXIT_OK if not bad else EXIT_INTERNAL


def cmd_convert(args: argparse.Namespace) -> int:
    from .convert.orlib import write_cap_instance, write_gap_instance, write_pmed_instance

    try:
        if args.format == "orlib-gap":
            manifest = write_gap_instance(args.file, args.out, problem=args.problem, sense=args.sense)
        elif args.format == "orlib-cap":
            manifest = write_cap_instance(args.file, args.out, variant=args.variant, capacity=args.capacity)
        else:
            manifest = write_pmed_instance(args.file, args.out)
    except (ValueError, OSError) as exc:
        print(f"spatialopt: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(f"wrote {manifest}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    instance = None if args.instance is None else _load(args.instance, args.allow_outside_paths)
    files = write_report(args.result, instance, args.out, force=args.force)
    for note in files.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {files.html}")
    print(f"wrote {files.flows_png}, {files.flows_svg.name}, {files.gpkg.name} beside it")
    return EXIT_OK


COMMANDS = {
    "validate": cmd_validate, "info": cmd_info, "diagnose": cmd_diagnose, "solve": cmd_solve, "check": cmd_check,
    "export": cmd_export,
    "bench": cmd_bench, "convert": cmd_convert,
    "report": cmd_report,
}


def _describe(status: str, objective: float | None, seconds: float, unit: str) -> str:
    shown = "no plan" if objective is None else f"objective {objective:,.3f}{unit}"
    return f"{status}, {shown}, {seconds:.2f} s"


def cmd_sweep(args: argparse.Namespace) -> int:
    """``spatialopt sweep INSTANCE SCENARIOS.toml``: see the README section "What-if studies"."""
    from .api import solver_options
    from .scenarios.parallel import default_workers
    from .scenarios.scenario_file import load_scenarios
    from .scenarios.sweep import SweepOutcome, run_sweep

    base = _load(args.instance, args.allow_outside_paths)
    scenario_set = load_scenarios(args.scenarios)
    if scenario_set.base is not None and scenario_set.base != Path(args.instance).resolve():
        print(f"note: {Path(args.scenarios).name} names base {scenario_set.base}; using {args.instance}", file=sys.stderr)
    scenario_set.instances(base)  # every scenario's problems before any solve
    out = output_folder(args.out, base.name, "-sweep", SWEEP, args.force)
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
    written = sweep.write(out, force=args.force)
    print(sweep.comparison_text())
    if written != out:
        print(f"note: {out} holds an earlier run; wrote {written} instead (use --force to replace it)", file=sys.stderr)
    print(f"wrote {written}/ (one folder per run, comparison.csv)")
    return sweep.exit_code


def cmd_diff(args: argparse.Namespace) -> int:
    """``spatialopt diff A B [--csv FILE]``."""
    from .scenarios.diff import diff_plans

    for path in (args.a, args.b):
        if not Path(path).exists():
            raise SolutionFileError(f"{path}: no such result folder or solution file")
    diff = diff_plans(args.a, args.b)
    print(diff.text())
    if args.csv is not None:
        diff.to_frame().to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return EXIT_OK


def cmd_pareto(args: argparse.Namespace) -> int:
    """``spatialopt pareto INSTANCE [--points N] [--source ID] [--period ID]``."""
    from .api import solver_options
    from .scenarios.pareto import pareto_front

    if args.points < 2:
        print("spatialopt: error: --points must be at least 2", file=sys.stderr)
        return EXIT_INPUT
    instance = _load(args.instance, args.allow_outside_paths)
    out = output_folder(args.out, instance.name, "-pareto", PARETO, args.force)
    options = solver_options(args.profile, time_limit=args.time_limit, gap=args.gap, threads=args.threads, seed=args.seed)
    unit = f" {instance.cost_unit}" if instance.cost_unit else ""
    print(f"tracing {instance.name}: {args.points} points (Ctrl-C stops and keeps the points so far)",
          file=sys.stderr, flush=True)

    def progress(done: int, total: int, row: dict[str, Any]) -> None:
        print(f"[{done}/{total}] scale {row['target_scale']:.4g}: "
              f"{_describe(row['status'], row['objective'], row['seconds'], unit)}, warm start {row['warm_start']}",
              flush=True)

    front = pareto_front(instance, args.points, source=args.source, period=args.period, workers=args.workers,
                         scheduler=args.scheduler,
                         options=options, builder=args.builder, on_point=progress)
    if front.table.empty:
        print(f"{instance.name}: no front: {front.status.value}" + "".join(f"\n  why: {r}" for r in front.reasons))
        return front.exit_code
    written = front.write(out, force=args.force)
    shown = front.table.drop(columns=["plan_from"])
    print(shown.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:,.2f}"))
    print(f"largest target scale reached: {front.max_scale:.6g} (found in {front.max_scale_seconds:.2f} s)")
    if written != out:
        print(f"note: {out} holds an earlier run; wrote {written} instead (use --force to replace it)", file=sys.stderr)
    print(f"wrote {written}/ (pareto.csv, pareto.png)")
    return front.exit_code


COMMANDS.update({"sweep": cmd_sweep, "diff": cmd_diff, "pareto": cmd_pareto})


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a whole number >= 1, got 0")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text}")
    return value


def _scheduler_address(text: str) -> str:
    from .scenarios.parallel import scheduler_address

    try:
        return scheduler_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _version() -> str:
    from ._version import __version__

    return __version__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

