"""Solve power: spatialopt's default solve path against the plain direct model of the same instance.

    python bench/bench_solve.py --quick                  # a small subset, 20 s per run
    nice -n 10 python bench/bench_solve.py --time-limit 120 --only 'cap13*' 'pmed1?' 'china-2035*'
    python bench/bench_solve.py                          # every instance, 120 s per run (hours)

Per instance (``solve_instances.py``: OR-Library cap and pmed, the China
instances single and phased, seeded generated ones from 10k to 1.2M arcs), in
the same run and each in a fresh process, one after the other:

- ``default``: ``spatialopt.solve`` as a user calls it (whatever the solve
  path does by default: formulation, start, settings), with only the time
  limit and threads given;
- ``plain``: the spec's model of the same data as plain arrays passed straight
  to highspy (``solve_instances.py`` says where each comes from), with HiGHS's
  defaults and the same time limit, threads, seed and relative gap.

Measured on each side, by the wall clock from the moment the data is in
memory (files read, not yet derived or built) until the solve returns: the
time to the first plan, the time to a proven gap of 1% and of 1e-4, nodes and
the final status. A plan is seen through the progress callback (``default``:
``spatialopt.solve(progress=...)``; ``plain``: HiGHS's improving-solution
callback); the bound is also sampled at each of HiGHS's MIP interrupt checks
(many per second; ``default``: where the session polls for Ctrl-C, but not
while the root pass's guided-start sub-MIPs or the block pass's blocks run: their
bounds are those of a restricted or partial model), so a gap closed by the bound alone is seen when it happens. Where that sampling is
not available the gap is seen only with a new plan or at the end; such
times are marked ``*`` (upper bounds). Ratios are default / plain: below 1
the default path is faster. A side that did not get there within its run
gives a bound on the ratio (``<`` or ``>``).

``--without NAME`` measures what one default strengthening buys on the path
a user gets: the ``plain`` side is then the default path with
``Strengthening(NAME=False)`` (every other default, the start and the root
pass as they are), and the table says so. ``--seed`` goes to both sides.

The table is printed and written atomically to ``--out`` (rewritten after
each instance while the run goes on). Under a loaded machine absolute
seconds mean little: compare the ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from solve_instances import BenchInstance, registry, select  # noqa: E402

GAPS = (1e-2, 1e-4)
GAP_LABEL = {1e-2: "1%", 1e-4: "1e-4"}
SIDES = ("default", "plain")
FULL_LIMIT, QUICK_LIMIT = 120.0, 20.0
# A child that has not returned this long after its limit is stopped (and says so in the table).
GRACE = 300.0


def relative_gap(objective: float | None, bound: float | None) -> float:
    """HiGHS's relative gap, |objective - bound| / |objective| (0 when they meet); inf without both."""
    if objective is None or bound is None or not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    if objective == bound:
        return 0.0
    return abs(objective - bound) / abs(objective) if objective else math.inf


# -- child: one side of one instance ------------------------------------------------------------
class Trace:
    """What a run reached and when, by the wall clock from :meth:`start`; each first reached printed as a JSON line."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.first_plan: float | None = None
        self.at_gap: dict[float, float | None] = dict.fromkeys(GAPS)
        self.samples = 0  # times the bound was sampled between plans (at HiGHS's interrupt checks)
        self.paused = False  # while a restricted sub-MIP runs (its bound is not the model's)

    def start(self) -> None:
        self.t0 = time.perf_counter()

    def see(self, objective: float | None, bound: float | None, plan: bool) -> None:
        now = time.perf_counter() - self.t0
        if plan and self.first_plan is None and objective is not None and math.isfinite(objective):
            self.first_plan = now
            emit({"event": "plan", "t": now})
        gap = relative_gap(objective, bound)
        for level in GAPS:
            if self.at_gap[level] is None and gap <= level:
                self.at_gap[level] = now
                emit({"event": "gap", "level": level, "t": now})

    def proven(self, asked_gap: float) -> None:
        """HiGHS ended optimal: the gap it was asked for is proven now, if it was not seen before."""
        now = time.perf_counter() - self.t0
        for level in GAPS:
            if self.at_gap[level] is None and level >= asked_gap:
                self.at_gap[level] = now

    def progress(self, report: dict[str, float]) -> None:
        """spatialopt's progress callback: a better plan, with its objective and the bound."""
        self.see(report.get("objective"), report.get("bound"), plan=True)

    def interrupt_check(self, event: Any) -> None:
        """HiGHS's MIP interrupt callback: the bound (and the best plan so far) as the search goes."""
        import highspy

        if event.callback_type != highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            return
        self.samples += 1
        out = event.data_out
        primal = float(out.mip_primal_bound)
        self.see(primal if math.isfinite(primal) else None, float(out.mip_dual_bound), plan=math.isfinite(primal))


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def listen_to_session(trace: Trace) -> None:
    """Sample the default path's bound where its session polls HiGHS for Ctrl-C (if it still does)."""
    from spatialopt import session

    interrupt = getattr(session, "SolveInterrupt", None)
    poll = getattr(interrupt, "poll", None)
    if interrupt is None or poll is None:
        return

    def sampling_poll(self: Any, event: Any) -> None:
        if not trace.paused:
            trace.interrupt_check(event)
        poll(self, event)

    interrupt.poll = sampling_poll
    # The root pass's guided starts are sub-MIPs of a restricted model, the block pass's blocks relaxations of
    # part of it: their bounds are not the model's (a sub-MIP proved optimal would read as the whole model
    # proved), so sampling pauses while they run.
    from spatialopt import blocks, root_pass

    for owner, name in ((getattr(root_pass, "_Guide", None), "better"), (getattr(blocks, "Blocks", None), "solve")):
        if owner is not None and getattr(owner, name, None) is not None:
            setattr(owner, name, _unsampled(trace, getattr(owner, name)))


def _unsampled(trace: Trace, method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` with the trace's sampling paused while it runs."""

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        trace.paused = True
        try:
            return method(self, *args, **kwargs)
        finally:
            trace.paused = False

    return run


WARM_UP = [HERE.parent / "instances" / "hand" / name for name in ("site-choice.toml", "phased-schedule.toml")]


def run_default(bench: BenchInstance, limit: float, threads: int, folder: Path, seed: int = 0,
                without: str | None = None) -> dict[str, Any]:
    """The default solve path; ``without``: with that one strengthening off (``--without``)."""
    import spatialopt
    from spatialopt.strong_rows import Strengthening

    instance = spatialopt.load(bench.manifest(folder))
    # Whatever the solve path imports on its first call is loaded here, outside the clock (a one-off per process).
    for manifest in WARM_UP:
        spatialopt.solve(spatialopt.load(manifest), threads=threads)
    trace = Trace()
    listen_to_session(trace)
    trace.start()
    strengthen = replace(Strengthening(), **{without: False}) if without else Strengthening()
    result = spatialopt.solve(instance, time_limit=limit, threads=threads, seed=seed, progress=trace.progress,
                              strengthen=strengthen)
    seconds = time.perf_counter() - trace.t0
    trace.see(result.objective, result.bound, plan=result.status.has_solution)
    if result.status.value == "optimal":
        trace.proven(float(result.solver.get("options", {}).get("mip_rel_gap", 0.0)))  # spatialopt's "optimal" holds it
    return finish(trace, seconds, result.status.value, result.objective, result.bound,
                  result.work.get("nodes"), None)


def run_plain(bench: BenchInstance, limit: float, threads: int, seed: int = 0) -> dict[str, Any]:
    import highspy

    from spatialopt.api import solver_options
    from spatialopt.session import quiet_highs
    from spatialopt.status import map_highs_status

    build = bench.plain()  # the data, read before the clock starts (as spatialopt's files are)
    gap = solver_options()["mip_rel_gap"]  # the same question as the default path asks
    warm = quiet_highs()  # HiGHS's first run, outside the clock as on the default side
    warm.passModel(highspy.HighsLp())
    warm.run()
    h = quiet_highs()
    trace = Trace()
    h.cbMipImprovingSolution += lambda e: trace.see(float(e.data_out.objective_function_value),
                                                    float(e.data_out.mip_dual_bound), plan=True)
    h.cbMipInterrupt += trace.interrupt_check
    trace.start()
    a = build()
    for key, value in {"threads": threads, "time_limit": limit, "mip_rel_gap": gap, "random_seed": seed}.items():
        h.setOptionValue(key, value)
    h.passModel(
        a["cost"].size, a["row_lower"].size, a["value"].size, int(highspy.MatrixFormat.kRowwise),
        int(highspy.ObjSense.kMinimize), 0.0, a["cost"], a["col_lower"], a["col_upper"], a["row_lower"],
        a["row_upper"], a["start"].astype("int32"), a["index"].astype("int32"), a["value"], a["integer"],
    )
    highspy.Highs.resetGlobalScheduler(True)
    h.run()
    info = h.getInfo()
    has_plan = info.primal_solution_status == 2
    status, _ = map_highs_status(h.getModelStatus().name, has_plan)
    objective = float(info.objective_function_value) if has_plan else None
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    seconds = time.perf_counter() - trace.t0
    trace.see(objective, bound, plan=has_plan)
    if status.value == "optimal":
        trace.proven(gap)
    return finish(trace, seconds, status.value, objective, bound, int(info.mip_node_count), int(a["cost"].size))


def finish(trace: Trace, seconds: float, status: str, objective: float | None, bound: float | None,
           nodes: int | None, columns: int | None) -> dict[str, Any]:
    return {"event": "done", "seconds": seconds, "status": status, "objective": objective, "bound": bound,
            "nodes": nodes, "columns": columns, "first_plan": trace.first_plan,
            "at_gap": {str(k): v for k, v in trace.at_gap.items()}, "samples": trace.samples}


def child(args: argparse.Namespace) -> None:
    bench = next(b for b in registry() if b.name == args.child)
    with tempfile.TemporaryDirectory(prefix="bench-solve-") as tmp:
        if args.side == "default":
            record = run_default(bench, args.time_limit, args.threads, Path(tmp), args.seed)
        elif args.without:
            record = run_default(bench, args.time_limit, args.threads, Path(tmp), args.seed, args.without)
        else:
            record = run_plain(bench, args.time_limit, args.threads, args.seed)
    emit(record)


# -- parent: every instance, both sides, the table ------------------------------------------------
@dataclass
class Side:
    """One side's outcome as the parent read it from the child's lines."""

    seconds: float
    status: str
    first_plan: float | None = None
    at_gap: dict[float, float | None] = field(default_factory=lambda: dict.fromkeys(GAPS))
    objective: float | None = None
    bound: float | None = None
    nodes: int | None = None
    columns: int | None = None
    samples: int = 0  # 0: the gap was seen only with a new plan or at the end
    error: str = ""


def run_side(bench: BenchInstance, side: str, limit: float, threads: int, seed: int = 0,
             without: str | None = None) -> Side:
    cmd = [sys.executable, __file__, "--child", bench.name, "--side", side, "--time-limit", str(limit),
           "--threads", str(threads), "--seed", str(seed)] + (["--without", without] if without else [])
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=limit + GRACE)
        stopped = False
    except subprocess.TimeoutExpired:
        proc.kill()  # our own child, by its handle
        out, err = proc.communicate()
        stopped = True
    except KeyboardInterrupt:  # Ctrl-C: the child is not left running on its own
        proc.kill()
        proc.wait()
        raise
    wall = time.perf_counter() - started
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    done = next((r for r in records if r.get("event") == "done"), None)
    if done is not None:
        return Side(seconds=done["seconds"], status=done["status"], first_plan=done["first_plan"],
                    at_gap={float(k): v for k, v in done["at_gap"].items()}, objective=done["objective"],
                    bound=done["bound"], nodes=done["nodes"], columns=done["columns"], samples=done["samples"])
    # No final record: what the child reported before it was stopped or failed.
    side_out = Side(seconds=wall, status=f"stopped after {wall:.0f} s" if stopped else "error")
    for r in records:
        if r.get("event") == "plan":
            side_out.first_plan = r["t"]
        elif r.get("event") == "gap":
            side_out.at_gap[float(r["level"])] = r["t"]
    if not stopped:
        lines = [line for line in err.strip().splitlines() if line.strip()]
        side_out.error = lines[-1] if lines else f"exit code {proc.returncode}"
    return side_out


def seconds_cell(t: float | None, side: Side, marked: bool = False) -> str:
    if t is None:
        return f"> {side.seconds:.1f}"
    return f"{t:.2f}" + ("*" if marked and not side.samples else "")


def ratio_cell(d: float | None, p: float | None, default: Side, plain: Side) -> str:
    if d is not None and p is not None:
        return f"{d / p:.2f}x" if p > 0 else ""
    if d is not None:  # plain did not get there in plain.seconds
        return f"< {d / plain.seconds:.2f}x"
    if p is not None:
        return f"> {default.seconds / p:.2f}x"
    return ""


def answer_cell(bench: BenchInstance, default: Side, plain: Side) -> tuple[str, bool]:
    """Whether the proven answers agree with each other and with a published optimum; and whether all is well."""
    notes, ok = [], True
    proven = {name: s.objective for name, s in (("default", default), ("plain", plain))
              if s.at_gap[GAPS[-1]] is not None and s.objective is not None}
    if len(proven) == 2:
        d, p = proven["default"], proven["plain"]
        same = abs(d - p) <= 2 * GAPS[-1] * max(abs(d), abs(p), 1.0)
        notes.append("same" if same else f"DIFFERENT ({d:.6g} vs {p:.6g})")
        ok &= same
    if bench.published is not None:
        for name, value in proven.items():
            if abs(value - bench.published) > GAPS[-1] * max(abs(bench.published), 1.0):
                notes.append(f"{name} {value:.6g} is not the published {bench.published:.6g}")
                ok = False
        if proven and ok:
            notes.append("= published")
    for name, s in (("default", default), ("plain", plain)):
        if s.error:
            notes.append(f"{name} failed: {s.error}")
            ok = False
    return ", ".join(notes), ok


HEAD = ("| instance | columns | plan s default | plan s plain | plan d/p | 1% s default | 1% s plain | 1% d/p"
        " | 1e-4 s default | 1e-4 s plain | 1e-4 d/p | nodes default | nodes plain | status default | status plain"
        " | answer |")


def row(bench: BenchInstance, default: Side, plain: Side) -> str:
    cells = [bench.name, str(plain.columns or "")]
    cells += [seconds_cell(default.first_plan, default), seconds_cell(plain.first_plan, plain),
              ratio_cell(default.first_plan, plain.first_plan, default, plain)]
    for level in GAPS:
        d, p = default.at_gap[level], plain.at_gap[level]
        cells += [seconds_cell(d, default, marked=True), seconds_cell(p, plain, marked=True),
                  ratio_cell(d, p, default, plain)]
    cells += ["" if s.nodes is None else str(s.nodes) for s in (default, plain)]
    cells += [default.status, plain.status, answer_cell(bench, default, plain)[0]]
    return "| " + " | ".join(cells) + " |"


def geometric_means(done: list[tuple[BenchInstance, Side, Side]]) -> str:
    """The geometric mean of each ratio over the instances where both sides got there."""
    parts = []
    for label, pick in [("first plan", lambda s: s.first_plan)] + [
            (f"{GAP_LABEL[g]} gap", lambda s, g=g: s.at_gap[g]) for g in GAPS]:
        logs = [math.log(pick(d) / pick(p)) for _, d, p in done if pick(d) and pick(p)]
        if logs:
            parts.append(f"{label} **{math.exp(sum(logs) / len(logs)):.2f}x** ({len(logs)} instances)")
    return "Geometric mean of default / plain where both got there: " + ("; ".join(parts) or "none") + "."


def machine_note(loads: list[float]) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from spatialopt.session import highs_version

    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, HiGHS {highs_version()}; "
            f"1-minute load average {min(loads):.1f} to {max(loads):.1f} (mean {sum(loads) / len(loads):.1f}) "
            "over the run")


def commit() -> str:
    """`` at commit abc1234`` (``+ changes`` if the checkout differs from it), or nothing outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=HERE,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f" at commit {head}" + (" + changes" if dirty else "")


def render(done: list[tuple[BenchInstance, Side, Side]], args: argparse.Namespace, total: int,
           loads: list[float], started: datetime) -> str:
    partial = "" if len(done) == total else f" (partial: {len(done)} of {total} instances so far)"
    lines = [
        f"# Solve power: default path vs the plain direct model{partial}",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC{args.commit}, `python bench/bench_solve.py {shlex.join(args.shown)}`: "
        f"time limit {args.time_limit:g} s per run, threads {args.threads}, seed {args.seed}. "
        f"Machine: {machine_note(loads)}.",
        "",
        *([f"**The `plain` side is the default path with `{args.without}` off** (every other default as it is): "
           f"`d/p` is what `{args.without}` buys.", ""] if args.without else []),
        *([args.note, ""] if args.note else []),
        "Seconds by the wall clock from data in memory; `> s`: not reached in the run's s seconds; `*`: the gap was "
        "seen only with a new plan or at the end (an upper bound); `d/p`: default / plain (below 1x the default "
        "path is faster). `answer`: proven objectives agree with each other (`same`) and with a published optimum.",
        "",
        HEAD,
        "|" + "---|" * (HEAD.count("|") - 1),
    ]
    lines += [row(b, d, p) for b, d, p in done]
    lines += ["", geometric_means(done)]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def describe(side: str, s: Side) -> str:
    reached = ", ".join(f"{GAP_LABEL[g]} {v:.2f} s" for g, v in s.at_gap.items() if v is not None) or "no gap reached"
    plan = f"plan {s.first_plan:.2f} s" if s.first_plan is not None else "no plan"
    extra = f" ({s.error})" if s.error else ""
    return (f"{side} {s.status} in {s.seconds:.1f} s: {plan}, {reached}, nodes {s.nodes}, "
            f"{s.samples} bound samples{extra}")


def shown_arguments(argv: list[str]) -> list[str]:
    """The command's arguments as the table's header shows them: without ``--note`` (written out below it)."""
    shown, skip = [], False
    for arg in argv:
        if skip or arg.startswith("--note="):
            skip = False
            continue
        if arg == "--note":
            skip = True
            continue
        shown.append(arg)
    return shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small subset (cap41, pmed1, jingjinji-2035 single "
                        f"and phased, gen-10k) with {QUICK_LIMIT:g} s per run unless --time-limit")
    parser.add_argument("--only", nargs="+", metavar="PATTERN", help="instances whose name matches a pattern "
                        "(fnmatch, e.g. 'cap13*' 'pmed?'); with --quick, within the quick subset")
    parser.add_argument("--time-limit", type=float, help=f"seconds per run (default {FULL_LIMIT:g}; "
                        f"{QUICK_LIMIT:g} with --quick)")
    parser.add_argument("--threads", type=int, default=1, help="HiGHS threads on both sides (default 1)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "solve.md",
                        help="markdown table, written atomically (default bench/results/solve.md)")
    parser.add_argument("--seed", type=int, default=0, help="HiGHS random seed on both sides (default 0)")
    parser.add_argument("--without", metavar="NAME", help="the plain side is the default path with the default "
                        "strengthening NAME off (e.g. moved_units): what that one buys (default: the plain model)")
    parser.add_argument("--note", help="a sentence for the table's header (e.g. what else ran on the machine)")
    parser.add_argument("--list", action="store_true", help="list the chosen instances and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    given = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(given)
    if args.time_limit is None:
        args.time_limit = QUICK_LIMIT if args.quick else FULL_LIMIT
    if args.time_limit <= 0 or args.threads < 1:
        parser.error("--time-limit must be positive and --threads at least 1")
    if args.without is not None:
        from spatialopt.strong_rows import NAMES, Strengthening

        if args.without not in NAMES or not getattr(Strengthening(), args.without):
            on = [n for n in NAMES if getattr(Strengthening(), n)]
            parser.error(f"--without takes a strengthening the default turns on: {', '.join(on)}")
    if args.child:
        child(args)
        return 0
    chosen = select(args.quick, args.only)
    if not chosen:
        parser.error(f"no instance matches {' '.join(args.only or [])}; see --list")
    if args.list:
        print("\n".join(b.name for b in chosen))
        return 0
    args.shown = shown_arguments(given)
    args.commit = commit()  # before the table (perhaps a tracked file) is first written
    started, loads = datetime.now(UTC), [os.getloadavg()[0]]
    done: list[tuple[BenchInstance, Side, Side]] = []
    try:
        ok = run_all(chosen, args, done, loads, started)
    except KeyboardInterrupt:
        print(f"interrupted: {args.out} holds the {len(done)} instances done", file=sys.stderr)
        return 4
    table = render(done, args, len(chosen), loads, started)
    write_atomically(args.out, table)
    print(table)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if ok else 1


def run_all(chosen: list[BenchInstance], args: argparse.Namespace, done: list[tuple[BenchInstance, Side, Side]],
            loads: list[float], started: datetime) -> bool:
    """Both sides of every instance, the table rewritten after each; False if an answer is wrong or a run failed."""
    ok = True
    for n, bench in enumerate(chosen, 1):
        # Alternate which side goes first, so that a change in the machine's load favours neither.
        order = SIDES if n % 2 else SIDES[::-1]
        outcome = {}
        for side in order:
            print(f"[{n}/{len(chosen)}] {bench.name} {side} ...", file=sys.stderr, flush=True)
            outcome[side] = run_side(bench, side, args.time_limit, args.threads, args.seed, args.without)
            loads.append(os.getloadavg()[0])
            print(f"[{n}/{len(chosen)}] {bench.name} {describe(side, outcome[side])}", file=sys.stderr, flush=True)
        done.append((bench, outcome["default"], outcome["plain"]))
        note, fine = answer_cell(bench, outcome["default"], outcome["plain"])
        if not fine:
            print(f"[{n}/{len(chosen)}] {bench.name}: {note}", file=sys.stderr, flush=True)
        ok &= fine
        write_atomically(args.out, render(done, args, len(chosen), loads, started))
    return ok


if __name__ == "__main__":
    sys.exit(main())
