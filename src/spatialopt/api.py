"""The public workflow: load an instance, solve it, get a Result.

    >>> import spatialopt
    >>> inst = spatialopt.load("instances/tutorial/instance.toml")
    >>> result = spatialopt.solve(inst, time_limit=60)
    >>> result.status, result.objective
    >>> result.assignments          # pandas DataFrame: who moves where
    >>> result.write("results/tutorial")

Each stage is a plain function (``load`` -> ``derive`` -> ``build_model`` ->
``run_highs`` -> ``extract_plan``), so a notebook can stop at any of them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .blocks import BlockPass, block_pass, split, with_block_rows
from .blocks import proved_run as block_proved_run
from .derive import Derived, derive
from .heuristic import construct_start
from .instance import Instance
from .matrix import matrices_from
from .profiles import load_profile, require_allowed_options
from .results import Result, extract_plan
from .root_pass import (
    Relaxation,
    RootPass,
    cheaper,
    improving_only,
    less_time,
    proved_run,
    root_pass,
    solve_relaxation,
    stopped_run,
    wants_root_pass,
    whole_plan,
)
from .session import highs_version, pinned_options
from .solve import Progress, run_highs, run_highs_matrix
from .status import SolverRun, SolveStatus
from .stoppable import wants_child
from .strengthen import strong_formulation
from .strong_rows import DEFAULT, Strengthening
from .validate import load_instance

if TYPE_CHECKING:
    from .diagnose import Diagnosis

BUILDERS = ("matrix", "pyomo")
# Seconds a diagnosis gets even when the search used up the time limit: "within a second or two" of it.
MIN_DIAGNOSIS_SECONDS = 1.0
#: How a solve the LP first answers ends (``Result.termination``).
LP_PROOF = "proved by the LP relaxation (its optimum is a plan)"

# Command-line / keyword names -> HiGHS option names.
OPTION_NAMES = {
    "time_limit": "time_limit",
    "gap": "mip_rel_gap",
    "threads": "threads",
    "seed": "random_seed",
    "node_limit": "mip_max_nodes",
}


def load(path: str | Path, *, allow_outside_paths: bool = False) -> Instance:
    """Read and validate an instance manifest; raises ``InstanceError`` listing every problem.

    Table files must lie inside the manifest's folder (symlinks resolved);
    ``allow_outside_paths=True`` lifts that rule for instances you trust.
    """
    return load_instance(path, allow_outside_paths=allow_outside_paths)


def solver_options(profile: str | None = None, highs_options: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """HiGHS options from a profile, then ``highs_options``, then keyword overrides.

    Without ``profile`` the packaged ``default`` profile applies (never a file
    in the current folder). ``highs_options`` may hold only the search options
    a profile may set (:data:`spatialopt.profiles.ALLOWED_OPTIONS`).
    """
    require_allowed_options(highs_options)
    options: dict[str, Any] = dict(load_profile(profile if profile is not None else "default"))
    options.update(highs_options or {})
    for name, value in overrides.items():
        if name not in OPTION_NAMES:
            raise TypeError(f"unknown solve option {name!r}; expected one of {', '.join(OPTION_NAMES)}")
        if value is not None:
            options[OPTION_NAMES[name]] = value
    return options


def solve(
    instance: Instance,
    *,
    profile: str | None = None,
    highs_options: dict[str, Any] | None = None,
    verbose: bool = False,
    progress: Progress | None = None,
    builder: str = "matrix",
    diagnose: bool = True,
    diagnose_time_limit: float = 60.0,
    on_diagnose: Callable[[], None] | None = None,
    race: int = 1,
    strengthen: Strengthening = DEFAULT,
    upper_bound: float | None = None,
    start: bool = True,
    **options: Any,
) -> Result:
    """Solve ``instance`` and return its :class:`Result` (never raises on infeasibility).

    Keyword options: ``time_limit`` (s), ``gap`` (relative MIP gap), ``threads``,
    ``seed``, ``node_limit``; ``profile`` names a solver profile and
    ``highs_options`` passes raw HiGHS options. Explicit keywords win.
    ``progress`` is called with each better plan HiGHS finds (objective, bound,
    gap, seconds). Ctrl-C stops the search and keeps the best plan found.
    ``builder`` chooses how the model reaches HiGHS: ``"matrix"`` (default,
    :mod:`spatialopt.matrix`, numpy arrays in one call) or ``"pyomo"`` (the
    readable reference in :mod:`spatialopt.model`, through Pyomo's HiGHS
    interface). Both build the same model.

    When HiGHS proves the instance infeasible, ``diagnose`` (default) looks
    for the rules that stand in the way (:func:`spatialopt.diagnose.diagnose`,
    relaxed re-solves sharing ``diagnose_time_limit`` seconds in all, and no
    more than is left of ``time_limit``, so the limit holds through the
    diagnosis too, give or take a second): the
    repair hints become the result's ``reasons`` and its ``diagnosis``, in a
    notebook, a sweep and the terminal alike. ``on_diagnose`` is called just
    before that search starts (it can take a while). ``race`` > 1 races that
    many HiGHS seeds in separate processes, first proof wins
    (:mod:`spatialopt.race`; matrix builder only).

    ``strengthen`` chooses the valid strengthenings of the model
    (:class:`spatialopt.strong_rows.Strengthening`, ``docs/extensions.md``);
    ``upper_bound``, the cost of a plan known to be feasible (a warm start's),
    lets reduced-cost fixing act when ``strengthen.reduced_cost_fixing`` is on.

    ``start`` (default, matrix builder) hands HiGHS a starting plan from
    :func:`spatialopt.heuristic.construct_start`, reported to ``progress`` as
    the first plan; when the heuristic finds none the solve goes on without.
    The start goes to every run (a race's too, and a large model's child
    process, where it is the answer if the run is stopped before a better plan).
    With a start, a model of at least ``strengthen.fixing_min_integers``
    integer columns first gets the root pass (:mod:`spatialopt.root_pass`:
    one LP, starts guided by it, reduced-cost fixing against the best start),
    here or, for a model large enough for a child process, in that child
    (not in a race); its seconds are taken from the time limit.

    Before it, a model that falls apart into blocks of sources sharing no site
    (``strengthen.block_bounds``, default on; not for a child process's model)
    gets the block pass (:mod:`spatialopt.blocks`): each block solved alone,
    their bounds summed; the blocks' plans together, when they keep every row,
    are the start, and the solve ends there when the sum proves them within the
    gap. Its seconds are taken from the time limit too (``timings["blocks"]``).

    First of all, with a start (``strengthen.lp_first``, default on; one run in
    this process), the LP relaxation (:func:`spatialopt.root_pass.solve_relaxation`,
    ``timings["lp"]``, taken from the time limit): when its optimum is whole it
    is the answer, proved by the LP bound, and nothing else runs (termination
    :data:`LP_PROOF`); otherwise the root pass reuses it.
    """
    # The Pyomo builder and the counting checks load Pyomo: imported when solving.
    from .diagnose import presolve_findings
    from .model import model_from

    if builder not in BUILDERS:
        raise ValueError(f"unknown builder {builder!r}; expected one of {', '.join(BUILDERS)}")
    if race > 1 and builder != "matrix":
        raise ValueError("a race (race > 1) runs the matrix builder's model only")
    chosen = solver_options(profile, highs_options, **options)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    derived = derive(instance)
    proofs = [f.message for f in presolve_findings(instance, derived) if f.proves_infeasible]
    timings["derive"] = time.perf_counter() - started  # eligible arcs, costs and the counting checks
    started = time.perf_counter()
    form, _ = strong_formulation(instance, derived, strengthen, upper_bound, chosen.get("threads") or 1)
    model: Any = model_from(form) if builder == "pyomo" else matrices_from(form)
    timings["build"] = time.perf_counter() - started
    if proofs or model.trivially_infeasible:
        # Infeasible by counting alone: say why in numbers, without a solver run.
        reasons = proofs or list(model.trivially_infeasible)
        run = SolverRun(status=SolveStatus.INFEASIBLE, objective=None, bound=None,
                        version=highs_version(), options=chosen, termination="presolve checks")
        return _finish(instance, derived, run, reasons, timings)
    n_variables = model.nvariables() if builder == "pyomo" else model.n_cols
    if n_variables == 0:
        # Nothing can move: the empty plan is the only plan, and it is optimal.
        run = SolverRun(status=SolveStatus.OPTIMAL, objective=0.0, bound=0.0,
                        values={"x": np.zeros(0), "y": np.zeros(0), "u": np.zeros(0)},
                        version=highs_version(), options=chosen, termination="empty model")
        return _finish(instance, derived, run, [], timings)
    clock = time.perf_counter()  # the time limit counts from here: LP, block pass, root pass, search, diagnosis
    relaxation: Relaxation | None = None
    if start and builder == "matrix" and strengthen.lp_first and race == 1 and not wants_child(model):
        # The LP relaxation first (spatialopt.root_pass): when its own point is a plan, the LP bound proves it and
        # nothing else runs (OR-Library cap131-134, pmed1, pmed4, pmed5, gen-10k, gen-100k); otherwise the root
        # pass reuses it.
        relaxation = solve_relaxation(model, chosen)
        timings["lp"] = relaxation.seconds
        lp_report = RootPass(lp_bound=relaxation.bound, seconds=relaxation.seconds,
                             interrupted=relaxation.interrupted)
        if relaxation.interrupted:
            run = stopped_run(model, None, lp_report, pinned_options(chosen), highs_version())
            return _finish(instance, derived, run, [], timings)
        whole = whole_plan(model, relaxation)
        if whole is not None and relaxation.bound is not None and lp_report.proves(whole, chosen):
            if progress is not None:
                progress({"objective": whole[1], "bound": relaxation.bound, "gap": 0.0, "seconds": relaxation.seconds})
            run = proved_run(model, whole, lp_report, pinned_options(chosen), highs_version(),
                             termination=LP_PROOF)
            return _finish(instance, derived, run, [], timings)
    # The starting plan is timed on its own ("start"), outside the solver's time limit (and the diagnosis's).
    plan = _starting_plan(instance, derived, model, progress, timings) if start and builder != "pyomo" else None
    clock += timings.get("start", 0.0)
    root: RootPass | None = None
    run_options, handed, root_in_child = chosen, plan, False
    if relaxation is not None:
        run_options = less_time(chosen, relaxation.seconds)
    blocks: BlockPass | None = None
    if builder == "matrix" and strengthen.block_bounds and not wants_child(model):
        block = split(form, instance, model)
        if block is not None:
            # Each block (sources sharing no site) alone: a bound, and often the optimum (spatialopt.blocks).
            blocks = block_pass(model, block, chosen, progress=progress, start=plan)
            timings["blocks"] = blocks.seconds
            if blocks.plan is not None and (plan is None or cheaper(blocks.plan[1], plan[1])):
                plan = handed = blocks.plan
            if blocks.interrupted:
                run = stopped_run(model, plan, RootPass(seconds=blocks.seconds, interrupted=True),
                                  pinned_options(chosen), highs_version())
                return _finish(instance, derived, run, [], timings)
            if plan is not None and blocks.proves(plan, chosen):  # the blocks' bound proves the plan: no search
                run = block_proved_run(model, plan, blocks, pinned_options(chosen), highs_version())
                return _finish(instance, derived, run, [], timings)
            if blocks.plan is not None:  # rows only beside the blocks' plan: without it they slowed the search
                model = with_block_rows(model, blocks)
                relaxation = None  # a new model: the root pass solves its LP
            run_options = less_time(run_options, blocks.seconds)
    if start and builder != "pyomo" and upper_bound is None and strengthen.reduced_cost_fixing \
            and wants_root_pass(model, strengthen.fixing_min_integers):
        # The LP relaxation once, for guided starts and reduced-cost fixing (spatialopt.root_pass), where the
        # search runs: a large model's in its child process (not for a race), a smaller one's here. Its
        # seconds count against the time limit.
        if wants_child(model):
            root_in_child = race == 1
        else:
            model, plan, root = root_pass(model, plan, run_options, guide=True, fix=True, progress=progress,
                                          relaxation=relaxation)
            timings["root"] = root.seconds
            if root.interrupted:
                run = stopped_run(model, plan, root, pinned_options(chosen), highs_version())
                return _finish(instance, derived, run, [], timings)
            if plan is not None and root.proves(plan, chosen):  # the LP bound proves the best start: no search
                run = proved_run(model, plan, root, pinned_options(chosen), highs_version())
                return _finish(instance, derived, run, [], timings)
            run_options, handed = root.search_options(run_options, plan), root.search_start(plan)
    # The terminal has shown the (best) start: after it, only cheaper plans (HiGHS's first is often the start
    # itself, and after the root pass's fixing it searches without it).
    progress = improving_only(progress, plan)
    started = time.perf_counter()
    if builder == "pyomo":
        run = run_highs(model, chosen, verbose=verbose, progress=progress)
    else:
        run = run_highs_matrix(model, run_options, verbose=verbose, progress=progress, race=race, start=handed,
                               root=root_in_child)
        if root is not None:
            run = root.settled(run, model, plan, chosen)
        if blocks is not None:
            run = blocks.settled(run, chosen)
        if run.root_seconds is not None:
            timings["root"] = run.root_seconds
    timings["handoff"] = run.handoff_seconds
    # a root pass in a child process ran inside this clock: its seconds are "root", not "solve"
    timings["solve"] = time.perf_counter() - started - run.handoff_seconds - (run.root_seconds or 0.0)
    reasons = [] if run.status.has_solution else [f"HiGHS ended with {run.termination}"]
    diagnosis = None
    if diagnose and run.status == SolveStatus.INFEASIBLE:
        limit = chosen.get("time_limit")
        left = (math.inf if limit is None else float(limit)) - (time.perf_counter() - clock)
        budget = min(diagnose_time_limit, max(MIN_DIAGNOSIS_SECONDS, left))
        diagnosis = _diagnose(instance, budget, chosen.get("threads"), on_diagnose, timings)
        reasons = diagnosis.lines()
    result = _finish(instance, derived, run, reasons, timings)
    result.diagnosis = diagnosis
    return result


def _starting_plan(instance: Instance, derived: Derived, model: Any, progress: Progress | None,
                   timings: dict[str, float]) -> tuple[np.ndarray, float] | None:
    """The heuristic's plan for HiGHS to start from (column values, objective), reported as the first plan; or None."""
    started = time.perf_counter()
    found = construct_start(instance, derived, model)
    timings["start"] = time.perf_counter() - started  # a search that finds no plan takes time too
    if found is None:
        return None
    if progress is not None:
        progress({"objective": found.objective, "bound": math.nan, "gap": math.nan, "seconds": found.seconds})
    return found.values, found.objective


def _diagnose(instance: Instance, time_limit: float, threads: int | None, on_diagnose: Callable[[], None] | None,
              timings: dict[str, float]) -> Diagnosis:
    """Why HiGHS found no plan, and what change would give one (relaxed re-solves)."""
    from .diagnose import diagnose

    if on_diagnose is not None:
        on_diagnose()
    started = time.perf_counter()
    diagnosis = diagnose(instance, time_limit=time_limit, threads=threads, known_infeasible=True)
    timings["diagnose"] = time.perf_counter() - started
    return diagnosis


def _finish(instance: Instance, derived: Derived, run: SolverRun, reasons: list[str], timings: dict[str, float]) -> Result:
    started = time.perf_counter()
    result = extract_plan(instance, derived, run, reasons)
    timings["extract"] = time.perf_counter() - started
    result.timings = timings
    return result

