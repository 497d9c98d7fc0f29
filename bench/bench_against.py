"""Time to a proven optimum: this checkout against an earlier version of spatialopt, in the same run.

    git worktree add /tmp/spatialopt-44093f9 44093f9
    python -m venv /tmp/spatialopt-44093f9/.venv
    /tmp/spatialopt-44093f9/.venv/bin/pip install -e /tmp/spatialopt-44093f9
    python bench/bench_against.py --baseline-python /tmp/spatialopt-44093f9/.venv/bin/python \\
        --only 'cap13*' 'pmed*'

Issue 17's "2x faster than today" is a ratio against the code of the day it was
filed (commit 44093f9, before any of its work); that version is installed
in a virtual environment of its own and named by its Python. Both sides get
the same instance files (OR-Library cap and pmed, written once by this
checkout's converter, the format both versions read), and each solve runs in
a fresh process of its side's Python: the instance loaded, one solve of
cap41 to warm up (lazy imports, first-call costs), then ``--repeat`` solves
of the instance, timed by the wall clock around ``spatialopt.api.solve``
(derivation, model, start, passes and search; not the file reading) with
one HiGHS thread, the relative gap 1e-4 and the time limit. The fastest is
kept. Sides alternate instance by instance so that a change of load hits
both. Ratios are current / baseline: below 1x this checkout is faster.

The table is printed and written atomically to ``--out`` (rewritten after
each instance). Compare the ratios: absolute seconds follow the machine's load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WARM_UP = "cap41"


def child(args: argparse.Namespace) -> None:
    """Runs under either side's Python: only the API both versions have (``load``, ``solve``)."""
    from spatialopt.api import load, solve

    options = {"threads": 1, "gap": 1e-4, "time_limit": args.time_limit, "diagnose": False}
    solve(load(str(Path(args.folder) / WARM_UP / "instance.toml")), **options)
    instance = load(str(Path(args.folder) / args.name / "instance.toml"))
    best, result = math.inf, None
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = solve(instance, **options)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    status = getattr(result.status, "value", str(result.status))
    print(json.dumps({"seconds": best, "objective": result.objective, "bound": result.bound, "status": status}))


def write_instances(chosen: list[Any], warm_up: Any, folder: Path) -> dict[str, float | None]:
    """The OR-Library files as instance folders (this checkout's converter); their published optima."""
    for bench in [warm_up, *chosen]:
        bench.manifest(folder)
    return {bench.name: bench.published for bench in chosen}


def run_side(python: str, folder: Path, name: str, args: argparse.Namespace) -> dict[str, object]:
    command = [python, str(Path(__file__).resolve()), "--child", "--folder", str(folder), "--name", name,
               "--repeat", str(args.repeat), "--time-limit", str(args.time_limit)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder,
                          timeout=args.time_limit * (args.repeat + 1) + 120)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {last}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def cell(side: dict[str, object]) -> str:
    if "error" in side:
        return "failed"
    return f"{float(side['seconds']):.3f}"  # type: ignore[arg-type]


def answer(published: float | None, base: dict[str, object], current: dict[str, object]) -> str:
    if "error" in base or "error" in current:
        return ""
    objectives = [s["objective"] for s in (base, current) if s.get("status") == "optimal"]
    if len(objectives) < 2:
        return "not both proven"
    a, b = (float(o) for o in objectives)  # type: ignore[arg-type]
    same = abs(a - b) <= 1e-4 * max(1.0, abs(a))
    words = "same" if same else f"differ ({a:g} vs {b:g})"
    if published is not None:
        words += ", = published" if abs(b - published) <= 1e-4 * max(1.0, abs(published)) else f", published {published:g}"
    return words


def render(rows: list[tuple[str, dict[str, object], dict[str, object], str]], args: argparse.Namespace,
           started: datetime, loads: list[float], total: int) -> str:
    partial = "" if len(rows) == total else f" (partial: {len(rows)} of {total} instances so far)"
    head = "| instance | baseline s | current s | current / baseline | status baseline | status current | answer |"
    lines = [f"# Time to a proven optimum: this checkout against {args.baseline_label}{partial}", "",
             f"Run {started:%Y-%m-%d %H:%M} UTC{args.commit}, `python bench/bench_against.py {shlex.join(args.shown)}`: "
             f"best of {args.repeat} solves per side in a fresh process, one thread, gap 1e-4, time limit "
             f"{args.time_limit:g} s; 1-minute load average {min(loads):.1f} to {max(loads):.1f} over the run.", "",
             "Seconds around `spatialopt.api.solve` (files already read). Below 1x this checkout is faster.", "",
             head, "|" + "---|" * (head.count("|") - 1)]
    ratios = []
    for name, base, current, words in rows:
        ratio = ""
        if "error" not in base and "error" not in current:
            r = float(current["seconds"]) / float(base["seconds"])  # type: ignore[arg-type]
            ratios.append(r)
            ratio = f"{r:.2f}x"
        lines.append(f"| {name} | {cell(base)} | {cell(current)} | {ratio} | {base.get('status', '')} | "
                     f"{current.get('status', '')} | {words} |")
    if ratios:
        mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        lines += ["", f"Geometric mean current / baseline: **{mean:.2f}x** ({len(ratios)} instances); "
                      f"slowest ratio {max(ratios):.2f}x."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-python", help="the Python of an environment holding the earlier spatialopt")
    parser.add_argument("--baseline-label", default="the baseline", help="what the table calls the baseline")
    parser.add_argument("--only", nargs="+", default=["cap13*"], metavar="PATTERN",
                        help="OR-Library cap/pmed instances (fnmatch; default 'cap13*')")
    parser.add_argument("--repeat", type=int, default=5, help="solves per side and instance; the fastest counts")
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--out", type=Path, help="where the table is written (default: printed only)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if not args.baseline_python or not Path(args.baseline_python).exists():
        parser.error("--baseline-python: the Python of an environment holding the earlier spatialopt (see above)")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.shown = sys.argv[1:] if argv is None else argv
    import fnmatch

    sys.path.insert(0, str(HERE))
    from bench_solve import commit, write_atomically
    from solve_instances import registry

    orlib = [b for b in registry() if b.family in ("cap", "pmed")]
    chosen = [b for b in orlib if any(fnmatch.fnmatchcase(b.name, p) for p in args.only)]
    names = [b.name for b in chosen]
    if not names:
        parser.error(f"--only {' '.join(args.only)}: no OR-Library cap or pmed instance matches")
    args.commit = commit()  # before the table (perhaps a tracked file) is first written
    started, loads = datetime.now(UTC), []
    rows: list[tuple[str, dict[str, object], dict[str, object], str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-against-") as scratch:
        folder = Path(scratch)
        published = write_instances(chosen, next(b for b in orlib if b.name == WARM_UP), folder)
        for name in names:
            loads.append(os.getloadavg()[0])
            base = run_side(args.baseline_python, folder, name, args)
            current = run_side(sys.executable, folder, name, args)
            rows.append((name, base, current, answer(published[name], base, current)))
            print(f"{name}: baseline {cell(base)} s, current {cell(current)} s", file=sys.stderr, flush=True)
            text = render(rows, args, started, loads, len(names))
            if args.out is not None:
                write_atomically(args.out, text)
    print(text, end="", flush=True)
    failed = [name for name, base, current, _ in rows if "error" in base or "error" in current]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
