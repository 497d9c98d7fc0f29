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
import math
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .destinations import PARETO, RESULT, SWEEP, DestinationError, FolderKind, command_output, moved_elsewhere
from .errors import InstanceError, SolutionFileError, SpatialoptError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_LIMIT = 0, 1, 2, 3, 4
COMPLETION_SHELLS = ("bash", "zsh", "fish", "tcsh")  # spatialopt.completion.SHELLS; a test keeps them equal
PROFILE_HELP = "solver profile: a name in solvers/ (default, exact, quick) or a .toml path (default: default)"
FROM_PROFILE = " (default: the solver profile's, see --profile)"
RENAME_HELP = ("when --out DIR is not empty, write DIR-2 (the next free DIR-N) instead of refusing; "
               "the default folder under results/ does this on its own, and says so before the work")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that states every option's default and keeps the examples' (epilog's) line breaks.

    A default argparse knows is appended as "(default: X)"; an option whose
    help already says its default in words ("default: results/<name>/") is left
    as written, and so is a flag (off unless given).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (not action.option_strings or "default" in text
                or action.default in (None, False, argparse.SUPPRESS)):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 2 and one line; every subcommand shares its help format."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"spatialopt: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spatialopt", description="Plan which facilities move out of megacity cores, and where.",
                     epilog="examples:\n  spatialopt solve instances/tutorial/instance.toml\n"
                            "  spatialopt COMMAND --help    # its options, their defaults, and examples\n\n"
                            "Every command's help is also in docs/cli.md.")
    parser.add_argument("--version", action=_VersionAction, help="print spatialopt's, HiGHS's, Pyomo's and Python's versions")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check an instance and list every problem")
    p.add_argument("instance", help="the instance's .toml manifest")

    p = sub.add_parser("info", help="counts, eligible arcs per type, destinations per facility")
    p.add_argument("instance")

    p = sub.add_parser("diagnose", help="why an instance has no plan, and what change would give it one")
    p.add_argument("instance")
    p.add_argument("--time-limit", type=_positive_float, default=60.0, help="seconds for the whole diagnosis: the relaxations share them (default 60)")

    p = sub.add_parser("solve", help="solve an instance and write the result folder")
    p.add_argument("instance")
    p.add_argument("--out", type=Path, help="result folder (default: results/<instance name>/)")
    p.add_argument("--force", action="store_true", help="replace an existing result folder")
    p.add_argument("--rename", action="store_true", help=RENAME_HELP)
    p.add_argument("--profile", help=PROFILE_HELP)
    p.add_argument("--time-limit", type=_positive_float, help=f"seconds{FROM_PROFILE}")
    p.add_argument("--gap", type=_fraction, help=f"relative MIP gap, e.g. 1e-4{FROM_PROFILE}")
    p.add_argument("--threads", type=_non_negative_int, help=f"HiGHS threads (0 = automatic){FROM_PROFILE}")
    p.add_argument("--seed", type=_non_negative_int, help=f"HiGHS random seed{FROM_PROFILE}")
    p.add_argument("--race", type=_positive_int, default=1,
                   help="race N HiGHS runs with seeds seed, seed+1, ... in separate processes, first proof wins "
                        "(default 1: no race; matrix builder only)")
    p.add_argument("--verbose", action="store_true", help="show the HiGHS log while solving")
    p.add_argument("--builder", choices=["matrix", "pyomo"], default="matrix",
                   help="how the model reaches HiGHS: numpy arrays (default) or the Pyomo reference model")
    p.add_argument("--no-start", dest="start", action="store_false",
                   help="give HiGHS no starting plan from the construction heuristic, and skip the LP "
                        "first and the root pass (its LP-guided start and reduced-cost fixing): HiGHS alone "
                        "(default: give one; matrix builder only)")

    p = sub.add_parser("export", help="write the model as MPS and/or LP for any other solver")
    p.add_argument("instance")
    p.add_argument("--mps", type=Path, help="MPS file to write (default: none; give --mps and/or --lp)")
    p.add_argument("--lp", type=Path, help="LP file to write (default: none; give --mps and/or --lp)")
    p.add_argument("--force", action="store_true", help="replace an existing --mps or --lp file")

    p = sub.add_parser("check", help="verify a solution file against an instance, independently of the model")
    p.add_argument("instance")
    p.add_argument("solution", help="solution.json, or a result folder holding one")

    p = sub.add_parser("bench", help="benchmarks: 'known-optima' re-solves instances with published optima")
    p.add_argument("suite", choices=["known-optima"])
    p.add_argument("--family", action="append", choices=["gap", "cap", "pmed", "hand"],
                   help="only this family (repeatable); default all")
    p.add_argument("--only", help="only ids matching this shell pattern, e.g. 'gap1-*' or 'pmed?' (default: every id)")
    p.add_argument("--time-limit", type=_positive_float,
                   help="seconds per instance (default: the 'exact' profile's limit)")
    p.add_argument("--registry", type=Path, help="known-optima CSV (default results/known_optima.csv)")

    p = sub.add_parser("report", help="write report.html (offline), the flow map and plan.gpkg for a result folder")
    p.add_argument("result", type=Path, help="a result folder written by 'solve'")
    p.add_argument("--instance", help="the instance's .toml manifest (default: the one named in the folder's run.json)")
    p.add_argument("--out", type=Path, help="the HTML file to write (default: RESULT/report.html); the map and GeoPackage go beside it")
    p.add_argument("--force", action="store_true", help="replace an existing report and the files beside it")
    p.add_argument("--lang", choices=("en", "zh"), default="en",
                   help="the report's language: headings, tables and map labels (zh: city names from name_zh)")
    p.add_argument("--compare", type=Path, metavar="OTHER",
                   help="compare RESULT (plan A) with the result folder OTHER (plan B): writes compare.html (default: "
                        "RESULT/compare.html), difference.png and difference.svg instead of the report (default: no "
                        "comparison)")

    p = sub.add_parser("convert", help="write a spatialopt instance from an OR-Library file")
    convert = p.add_subparsers(dest="format", required=True, parser_class=_Parser)
    q = convert.add_parser("orlib-gap", help="generalised assignment (gapN.txt)")
    q.add_argument("file", type=Path)
    q.add_argument("--out", type=Path, required=True)
    q.add_argument("--problem", type=_positive_int,
                   help="which problem of the file, 1-based (default: 1; said on stderr when the file holds more)")
    q.add_argument("--sense", choices=["max", "min"], required=True,
                   help="required, the file does not say: max for OR-Library's published maximum profits "
                        "(arc cost = -value), min to treat the values as costs")
    q = convert.add_parser("orlib-cap", help="capacitated warehouse location (capNN.txt, capa/capb/capc)")
    q.add_argument("file", type=Path)
    q.add_argument("--out", type=Path, required=True)
    q.add_argument("--variant", choices=["split", "single", "uncap"], default="split",
                   help="split demand (OR-Library's published optima), single sourcing, or no capacities")
    q.add_argument("--capacity", type=_positive_float,
                   help="the capacity standing in for the word 'capacity' of capa/capb/capc files "
                        "(default: none; those files need it, numeric files refuse it)")
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
                                    "last): residents moved by its end against cost "
                                    "(default: none, every target scaled)")
    for p, what in ((p, "sweep"), (q, "pareto")):  # noqa: B020 - p becomes each of the two parsers
        p.add_argument("--out", type=Path, help=f"output folder (default: results/<instance name>-{what}/)")
        p.add_argument("--force", action="store_true", help="replace an existing output folder")
        p.add_argument("--rename", action="store_true", help=RENAME_HELP)
        p.add_argument("--workers", type=_positive_int, help="local worker processes (default: the CPUs; 1 = this process)")
        p.add_argument("--scheduler", type=_scheduler_address,
                       help="run on the Dask cluster at this address, e.g. tcp://127.0.0.1:8786 "
                            "(default: none, local processes)")
        p.add_argument("--profile", help=PROFILE_HELP)
        p.add_argument("--time-limit", type=_positive_float, help=f"seconds per solve{FROM_PROFILE}")
        p.add_argument("--gap", type=_fraction, help=f"relative MIP gap, e.g. 1e-4{FROM_PROFILE}")
        p.add_argument("--threads", type=_non_negative_int, help="HiGHS threads per solve (default 1)")
        p.add_argument("--seed", type=_non_negative_int, help=f"HiGHS random seed{FROM_PROFILE}")
        p.add_argument("--builder", choices=["matrix", "pyomo"], default="matrix",
                       help="how models reach HiGHS: numpy arrays (default) or the Pyomo reference")
    p = sub.add_parser("diff", help="compare two result folders: who moves elsewhere, sites, costs, sources")
    p.add_argument("a", help="result folder (or solution.json) A")
    p.add_argument("b", help="result folder (or solution.json) B")
    p.add_argument("--csv", type=Path, help="also write every difference to this CSV file (default: none)")
    p.add_argument("--force", action="store_true", help="replace an existing --csv file")
    _add_explain_parser(sub)
    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh, fish or tcsh)")
    p.add_argument("shell", choices=COMPLETION_SHELLS, help="the shell to complete in")

    _add_allow_outside_paths(sub)
    _add_examples(sub)
    return parser


def _add_explain_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="why this city: runner-ups and their extra cost, re-optimised; marginal values")
    p.add_argument("result", type=Path, help="a result folder written by 'solve'")
    p.add_argument("--facility", nargs="+", metavar="ID", help="only these facility rows, and no city question (default: every facility row)")
    p.add_argument("--city", nargs="+", metavar="ID", help="only these destinations, and no facility question (default: every city that received nothing)")
    p.add_argument("--top", type=_positive_int, help="only the N largest of each kind of question (default: all)")
    p.add_argument("--time-limit", type=_positive_float, help="seconds per re-solve (default 60)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, help="local worker processes (default: the CPUs; 1 = this process)")
    where.add_argument("--scheduler", type=_scheduler_address,
                       help="run on the Dask cluster at this address, e.g. tcp://127.0.0.1:8786 "
                            "(default: none, local processes)")
    p.add_argument("--instance", help="the instance's .toml manifest (default: the one named in the folder's run.json)")
    p.add_argument("--force", action="store_true", help="replace an earlier explanation in the folder")


# Each command's examples, shown by 'spatialopt COMMAND --help' (and in docs/cli.md).
EXAMPLES = {
    "validate": ["spatialopt validate instances/tutorial/instance.toml"],
    "info": ["spatialopt info instances/jingjinji-2035/instance.toml"],
    "diagnose": ["spatialopt diagnose my-plan/instance.toml --time-limit 30"],
    "solve": [
        "spatialopt solve instances/tutorial/instance.toml            # writes results/tutorial/",
        "spatialopt solve instances/tutorial/                         # a folder holding one manifest",
        "spatialopt solve instances/tutorial/instance.toml --out run1 --force   # replace run1",
        "spatialopt solve instances/tutorial/instance.toml --out run1 --rename  # or write run1-2",
        "spatialopt solve instances/jingjinji-2035/instance.toml --profile quick --time-limit 60",
        "spatialopt solve instances/china-2035/instance.toml --race 2   # two seeds, first proof wins",
        "spatialopt solve instances/china-2035/instance.toml --no-start   # HiGHS alone, no starting plan",
    ],
    "export": ["spatialopt export instances/tutorial/instance.toml --mps tutorial.mps --lp tutorial.lp"],
    "check": ["spatialopt check instances/tutorial/instance.toml results/tutorial/"],
    "bench": [
        "spatialopt bench known-optima",
        "spatialopt bench known-optima --family gap --only 'gap1-*'",
    ],
    "report": [
        "spatialopt report results/tutorial/                         # writes results/tutorial/report.html",
        "spatialopt report results/tutorial/ --out committee/plan.html",
        "spatialopt report results/study/base/ --compare results/study/budget-cut/   # two plans, their difference map",
    ],
    "convert": [
        "spatialopt convert orlib-gap instances/orlib/gap/gap1.txt --sense max --problem 2 --out /tmp/gap1-2",
        "spatialopt convert orlib-cap instances/orlib/cap/cap41.txt --variant split --out /tmp/cap41",
        "spatialopt convert orlib-pmed instances/orlib/pmed/pmed1.txt --out /tmp/pmed1",
    ],
    "convert orlib-gap": [
        "spatialopt convert orlib-gap instances/orlib/gap/gap1.txt --sense max --out /tmp/gap1-1",
        "spatialopt convert orlib-gap instances/orlib/gap/gap12.txt --sense max --problem 5 --out /tmp/gap12-5",
    ],
    "convert orlib-cap": [
        "spatialopt convert orlib-cap instances/orlib/cap/cap41.txt --variant single --out /tmp/cap41-single",
        "spatialopt convert orlib-cap capa.txt --capacity 8000 --out /tmp/capa-8000   # capa/capb/capc",
    ],
    "convert orlib-pmed": ["spatialopt convert orlib-pmed instances/orlib/pmed/pmed1.txt --out /tmp/pmed1"],
    "sweep": ["spatialopt sweep instances/tutorial/instance.toml study.toml --out results/study --workers 2"],
    "pareto": ["spatialopt pareto instances/tutorial/instance.toml --points 5 --out fronts/tutorial"],
    "diff": ["spatialopt diff results/tutorial/ results/tutorial-2/ --csv changes.csv"],
    "explain": [
        "spatialopt explain results/jingjinji-2035/                  # writes explain.json and CSVs there",
        "spatialopt explain results/jingjinji-2035/ --facility beijing-core-hos-001 --time-limit 30",
        "spatialopt explain results/china-2035/ --top 20 --workers 2",
    ],
    "completion": [
        "spatialopt completion bash > ~/.local/share/bash-completion/completions/spatialopt",
        "spatialopt completion zsh > ~/.zfunc/_spatialopt      # with fpath+=(~/.zfunc) before compinit",
        "spatialopt completion fish > ~/.config/fish/completions/spatialopt.fish",
    ],
}


def _add_examples(sub: argparse._SubParsersAction) -> None:
    """An "examples:" epilog for every command (and convert's formats) that has some in :data:`EXAMPLES`."""
    for name, command in sub.choices.items():
        _set_examples(command, name)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for inner, parser in action.choices.items():
                    _set_examples(parser, f"{name} {inner}")


def _set_examples(parser: argparse.ArgumentParser, name: str) -> None:
    if name in EXAMPLES and not parser.epilog:
        parser.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])


# Commands that load an instance manifest (report: its --instance).
INSTANCE_COMMANDS = ("validate", "info", "diagnose", "solve", "export", "check", "sweep", "pareto", "report", "explain")


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
        _manifests_for_folders(args)
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
        if _raised_by_ctrl_c(exc):
            raise KeyboardInterrupt from exc  # main reports it as an interrupt (exit 4)
        if os.environ.get("SPATIALOPT_DEBUG"):
            traceback.print_exc()
        print(f"spatialopt: internal error: {type(exc).__name__}: {exc} (set SPATIALOPT_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


def _raised_by_ctrl_c(exc: BaseException) -> bool:
    """True when a KeyboardInterrupt is behind ``exc``: Python wraps one that lands in some machinery,
    e.g. a class body's ``__set_name__`` while pandas is imported ("RuntimeError: Error calling
    __set_name__ ..."), and the user pressed Ctrl-C all the same."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _manifests_for_folders(args: argparse.Namespace) -> None:
    """An instance given as a folder that holds exactly one manifest means that manifest (said on stderr)."""
    for field in ("instance",):
        given = getattr(args, field, None)
        if args.command in INSTANCE_COMMANDS and isinstance(given, str) and Path(given).is_dir():
            manifest = _only_manifest(Path(given))
            print(f"note: using {manifest}", file=sys.stderr)
            setattr(args, field, str(manifest))


def _only_manifest(folder: Path) -> Path:
    """The one instance manifest (a .toml with an [instance] table) directly in ``folder``; else the candidates."""
    import tomllib

    manifests = []
    for path in sorted(folder.glob("*.toml")):
        try:
            if isinstance(tomllib.loads(path.read_text(encoding="utf-8")).get("instance"), dict):
                manifests.append(path)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue  # not a manifest; load() reports a broken one when it is named
    if len(manifests) == 1:
        return manifests[0]
    if not manifests:
        raise SolutionFileError(f"{folder}: is a folder holding no instance manifest "
                                "(a .toml file with an [instance] table); pass the manifest's path")
    names = ", ".join(str(m) for m in manifests)
    raise SolutionFileError(f"{folder}: holds {len(manifests)} instance manifests; pass one of: {names}")


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
    if diagnosis.undecided:
        return EXIT_LIMIT
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

    if args.race > 1 and args.builder != "matrix":
        print("spatialopt: --race runs the matrix builder's model only (drop --builder pyomo)", file=sys.stderr)
        return EXIT_INPUT
    instance = _load(args.instance, args.allow_outside_paths)
    out = output_folder(args.out, instance.name, "", RESULT, args.force, args.rename)
    options = solver_options(args.profile, time_limit=args.time_limit, gap=args.gap, threads=args.threads, seed=args.seed)
    print(f"solving {instance.name} (Ctrl-C stops and keeps the best plan so far)", file=sys.stderr, flush=True)
    stream = None if args.verbose else _terminal_stderr()
    try:
        progress = None if stream is None else _incumbent_printer(stream)
        result = solve(instance, highs_options=options, verbose=args.verbose, progress=progress, builder=args.builder,
                       start=args.start, diagnose_time_limit=args.time_limit or 60.0, on_diagnose=_announce_diagnosis,
                       race=args.race)
    finally:
        if stream is not None and stream is not sys.stderr:
            stream.close()
    written = result.write(out, force=args.force)
    print(result.summary())
    print(f"wrote {written}/")
    return _placed(out, written, args.out is None or args.rename) or result.status.exit_code


def output_folder(out: Path | None, name: str, suffix: str, kind: FolderKind, force: bool,
                  rename: bool = False) -> Path:
    """``--out``, or the default folder under results/ named after the instance, checked before any solve.

    An occupied ``--out`` is refused unless ``--force`` or ``--rename``
    (:func:`spatialopt.destinations.command_output`); a move is said now, before the work.
    """
    folder, note = command_output(out, name, suffix, kind, force, rename)
    if note:
        print(f"note: {note}", file=sys.stderr, flush=True)
    return folder


def _placed(asked: Path, written: Path, may_rename: bool) -> int:
    """0, or exit code 2 with the reason when the run could not land where the user was promised."""
    message = moved_elsewhere(asked, written, may_rename)
    if message is None:
        return EXIT_OK
    print(message, file=sys.stderr)
    return EXIT_INPUT


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

    last = [math.inf]

    def show(info: dict[str, float]) -> None:
        value = info["bound"]
        if info["objective"] >= last[0] and not math.isfinite(value):
            return  # HiGHS announcing the starting plan it was given: already shown
        last[0] = info["objective"]
        gap = info["gap"]
        shown = f"{100 * gap:.2f}%" if gap == gap and gap < 1e6 else "n/a"
        bound = f"{value:,.3f}" if math.isfinite(value) else "n/a (starting plan)" if value != value else "n/a"
        with contextlib.suppress(BrokenPipeError):  # nobody reads stderr any more: the solve goes on
            print(f"  {info['seconds']:7.1f} s  plan {info['objective']:,.3f}  bound {bound}  gap {shown}",
                  file=stream, flush=True)

    return show


def cmd_export(args: argparse.Namespace) -> int:
    from .derive import derive
    from .destinations import check_files, new_temporary_file, publish_file
    from .matrix import build_matrices
    from .solve import write_model_file
    from .strong_rows import Strengthening

    if args.mps is None and args.lp is None:
        print("spatialopt: export needs --mps FILE and/or --lp FILE", file=sys.stderr)
        return EXIT_INPUT
    targets = [path for path in (args.mps, args.lp) if path is not None]
    check_files(targets, args.force, "export", other="another file name")  # before any work: nothing of the user's is overwritten
    instance = _load(args.instance, args.allow_outside_paths)
    derived = derive(instance)
    # The spec's model exactly (no strengthening rows): what any other solver should be given to compare.
    matrices = build_matrices(instance, derived, Strengthening.none())
    names = _safe_names(
        [f"x_{f}_{d}" for f, d in derived.arc_keys()] + [f"y_{k}_{d}" for k, d in derived.site_keys()]
        + [f"u_{s}" for s, src in instance.sources.items() if src.soft]
        + _auxiliary_names(matrices)
    )
    for path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        # HiGHS picks the format by the extension: it writes into a file of ours (created empty here, with
        # that extension), which then takes the name atomically.
        written = new_temporary_file(path, suffix=f".tmp{path.suffix}")
        try:
            write_model_file(matrices, str(written), names)
            publish_file(path, None, args.force, written=written)
        finally:
            written.unlink(missing_ok=True)
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
        _say(f"{o.entry.id:<22} {o.entry.objective:>16,.3f} {found:>16} {diff:>9} {o.seconds:>8.2f}  {o.status} {verdict}")
        for line in o.violations:
            _say(f"    {line}")

    root = registry.resolve().parents[1]
    with _Progress(len(entries), "instance") as bar:
        outcomes = run_registry(entries, root, args.time_limit, on_result=lambda i, o: bar.step(len(entries), show, i, o))
    bad = [o for o in outcomes if not o.ok]
    total = sum(o.seconds for o in outcomes)
    print(f"{len(outcomes)} instances, {len(bad)} mismatch(es), {total:.1f} s")
    return EXIT_OK if not bad else EXIT_INTERNAL


def cmd_convert(args: argparse.Namespace) -> int:
    from .convert.orlib import write_cap_instance, write_gap_instance, write_pmed_instance

    try:
        if args.out.is_dir() and any(args.out.iterdir()):  # the files written there would replace the user's
            raise ValueError(f"--out {args.out} already exists and is not empty; nothing was written. "
                             "Choose a new folder (or remove that one)")
        if args.format == "orlib-gap":
            problem = _gap_problem(args.file, args.problem)
            manifest = write_gap_instance(args.file, args.out, problem=problem, sense=args.sense)
        elif args.format == "orlib-cap":
            if args.variant == "uncap" and args.capacity is not None:
                raise ValueError("--capacity is not used with --variant uncap (it drops every capacity); leave it out")
            manifest = write_cap_instance(args.file, args.out, variant=args.variant, capacity=args.capacity)
        else:
            manifest = write_pmed_instance(args.file, args.out)
    except (ValueError, OSError) as exc:
        print(f"spatialopt: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(f"wrote {manifest}")
    print(f"  {_converted(manifest)}")
    return EXIT_OK


def _gap_problem(path: Path, asked: int | None) -> int:
    """The problem to convert: ``--problem``, or 1 with a note when the file holds more than one."""
    from .convert.orlib import read_gap

    count = len(read_gap(path))
    if asked is None:
        if count > 1:
            print(f"note: {path} holds {count} problems; converting problem 1 (use --problem N for another)",
                  file=sys.stderr)
        return 1
    if asked > count:
        held = "only problem 1" if count == 1 else f"problems 1..{count}"
        raise ValueError(f"--problem {asked}: {path} holds {held}")
    return asked


def _converted(manifest: Path) -> str:
    """What was written, in the instance's own words: its name and description say which problem and sense."""
    import tomllib

    record = tomllib.loads(manifest.read_text(encoding="utf-8")).get("instance", {})
    return f"instance {record.get('name')}: {record.get('description', '')}"


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    instance = None if args.instance is None else _load(args.instance, args.allow_outside_paths)
    if args.compare is not None:
        from .report_compare import write_comparison

        compared = write_comparison(args.result, args.compare, instance, args.out, force=args.force, lang=args.lang)
        for note in compared.notes:
            print(f"note: {note}", file=sys.stderr)
        print(f"wrote {compared.html}")
        print(f"wrote {compared.png}, {compared.svg.name} beside it")
        return EXIT_OK
    files = write_report(args.result, instance, args.out, force=args.force, lang=args.lang)
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


class _Progress:
    """A progress bar with an estimate of the time left, on stderr when it is a terminal.

    Each finished item still prints its line on stdout (above the bar); when
    stderr is not a terminal (a log file, CI) there is no bar, only those lines.
    """

    active: _Progress | None = None  # the bar _say prints above

    def __init__(self, total: int, unit: str) -> None:
        self.bar: Any = None
        if _stderr_is_terminal():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} {unit}s [{elapsed}, about {remaining} left]")

    def __enter__(self) -> _Progress:
        _Progress.active = self
        return self

    def __exit__(self, *exc: object) -> None:
        _Progress.active = None
        if self.bar is not None:
            self.bar.close()

    def step(self, total: int, report: Any, *args: Any) -> None:
        """Report one finished item with ``report(*args)``, then advance the bar."""
        report(*args)
        if self.bar is not None:
            self.bar.total = total
            self.bar.update(1)


def _say(line: str) -> None:
    """Print a progress line on stdout, above the bar when one is shown."""
    bar = _Progress.active.bar if _Progress.active is not None else None
    if bar is None:
        print(line, flush=True)
    else:
        bar.write(line, file=sys.stdout)
        sys.stdout.flush()


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


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
    out = output_folder(args.out, base.name, "-sweep", SWEEP, args.force, args.rename)
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
        _say(f"[{done}/{total}] {o.name}: {_describe(o.status.value, objective, o.seconds, unit)}{extra}")

    with _Progress(total, "run") as bar:
        sweep = run_sweep(base, scenario_set, workers=args.workers, scheduler=args.scheduler, options=options,
                          builder=args.builder, on_result=lambda done, n, o: bar.step(n, progress, done, n, o))
    written = sweep.write(out, force=args.force)
    print(sweep.comparison_text())
    print(f"wrote {written}/ (one folder per run, comparison.csv)")
    return _placed(out, written, args.out is None or args.rename) or sweep.exit_code


def cmd_diff(args: argparse.Namespace) -> int:
    """``spatialopt diff A B [--csv FILE]``."""
    from .destinations import check_files, publish_file
    from .scenarios.diff import diff_plans

    for path in (args.a, args.b):
        if not Path(path).exists():
            raise SolutionFileError(f"{path}: no such result folder or solution file")
    if args.csv is not None:
        check_files([args.csv], args.force, "diff --csv", other="another file name")  # before any work: nothing of the user's is overwritten
    diff = diff_plans(args.a, args.b)
    print(diff.text())
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        publish_file(args.csv, diff.to_frame().to_csv(index=False).encode("utf-8"), args.force)
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
    out = output_folder(args.out, instance.name, "-pareto", PARETO, args.force, args.rename)
    options = solver_options(args.profile, time_limit=args.time_limit, gap=args.gap, threads=args.threads, seed=args.seed)
    unit = f" {instance.cost_unit}" if instance.cost_unit else ""
    print(f"tracing {instance.name}: {args.points} points (Ctrl-C stops and keeps the points so far)",
          file=sys.stderr, flush=True)

    def progress(done: int, total: int, row: dict[str, Any]) -> None:
        _say(f"[{done}/{total}] scale {row['target_scale']:.4g}: "
             f"{_describe(row['status'], row['objective'], row['seconds'], unit)}, warm start {row['warm_start']}")

    with _Progress(args.points, "point") as bar:
        front = pareto_front(instance, args.points, source=args.source, period=args.period, workers=args.workers,
                             scheduler=args.scheduler, options=options, builder=args.builder,
                             on_point=lambda done, n, row: bar.step(n, progress, done, n, row))
    if front.table.empty:
        print(f"{instance.name}: no front: {front.status.value}" + "".join(f"\n  why: {r}" for r in front.reasons))
        return front.exit_code
    written = front.write(out, force=args.force)
    shown = front.table.drop(columns=["plan_from"])
    print(shown.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:,.2f}"))
    print(f"largest target scale reached: {front.max_scale:.6g} (found in {front.max_scale_seconds:.2f} s)")
    print(f"wrote {written}/ (pareto.csv, pareto.png)")
    return _placed(out, written, args.out is None or args.rename) or front.exit_code


COMMANDS.update({"sweep": cmd_sweep, "diff": cmd_diff, "pareto": cmd_pareto})


def cmd_explain(args: argparse.Namespace) -> int:
    """``spatialopt explain RESULT``: see the README section "Why this city?"."""
    from .destinations import check_files
    from .explain import EXPLAIN_FILES, ExplainError, explain
    from .explain_folder import read_result

    folder = args.result
    earlier = [name for name in EXPLAIN_FILES if os.path.lexists(folder / name)]
    if earlier and not args.force:  # before any work
        raise DestinationError(f"{folder} holds an earlier explanation ({', '.join(earlier)}); "
                               "use --force to replace it")
    check_files([folder / name for name in EXPLAIN_FILES], args.force, str(folder))
    instance = None if args.instance is None else _load(args.instance, args.allow_outside_paths)
    try:
        result = read_result(folder, instance, allow_outside_paths=args.allow_outside_paths)
    except ExplainError as exc:
        print(f"spatialopt: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(f"explaining {result.instance.name} (objective {result.objective:,.3f}); one re-optimised alternative per question",
          file=sys.stderr, flush=True)
    stream = _terminal_stderr()
    tty = stream.isatty()

    def progress(done: int, total: int, answer: Any) -> None:
        line = f"  [{done}/{total}] {answer.question.label} ({answer.seconds:.1f} s)"
        print(f"\r{line[:100]:<100}" if tty else line, end="" if tty and done < total else "\n", file=stream,
              flush=True)

    try:
        explanation = explain(result, facilities=args.facility, cities=args.city, top=args.top,
                              time_limit=args.time_limit, workers=args.workers, scheduler=args.scheduler,
                              progress=progress)
    except ExplainError as exc:
        print(f"spatialopt: {exc}", file=sys.stderr)
        return EXIT_INPUT
    finally:
        if stream is not sys.stderr:
            stream.close()
    written = explanation.write(folder, force=args.force)
    print(explanation.text(top=args.top or 10))
    print(f"{explanation.settings['counterfactuals']} questions answered in {explanation.seconds:.1f} s")
    print(f"wrote {', '.join(p.name for p in written)} in {folder}/")
    if explanation.settings.get("interrupted"):
        print("spatialopt: interrupted; what was answered is written", file=sys.stderr)
        return EXIT_LIMIT
    return EXIT_OK


COMMANDS["explain"] = cmd_explain


def cmd_completion(args: argparse.Namespace) -> int:
    """``spatialopt completion SHELL``: the completion script on stdout, written from this parser."""
    from .completion import completion_script

    sys.stdout.write(completion_script(build_parser(), args.shell))
    return EXIT_OK


COMMANDS["completion"] = cmd_completion


def _positive_float(text: str) -> float:
    value = _number(text, "a number > 0")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a whole number >= 1, got 0")
    return value


def _fraction(text: str) -> float:
    value = _number(text, "a number in [0, 1]")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def _number(text: str, expected: str) -> float:
    """``text`` as a float; argparse names the flag before the message ("argument --capacity: expected ...")."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


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


def version_text() -> str:
    """``spatialopt X (HiGHS Y via highspy, Pyomo Z, Python W)``: read from package metadata, nothing imported."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    return (f"spatialopt {_version()} (HiGHS {installed('highspy')} via highspy, Pyomo {installed('pyomo')}, "
            f"Python {platform.python_version()})")


class _VersionAction(argparse.Action):
    """``--version``: the versions that decide a result, looked up only when asked."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(version_text())
        parser.exit()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

