"""“Why this city?”: counterfactuals and marginal values for a plan (``spatialopt explain``, ``Result.explain``).

For a :class:`~spatialopt.results.Result` this module answers, in tables:

- **moved** — per moved facility row (facility, destination): the runner-up,
  the destination the facility would take if its chosen one were closed to it,
  and what that costs *re-optimised* (the best plan that avoids the chosen
  arc minus this plan's objective), with what else changes in that plan;
- **staying** — per facility that stays: the cheapest way to move one unit of
  it (re-optimised) and why the plan does not (the cost, a full capacity, the
  budget, a site it would need, or no eligible destination at all);
- **cities** — per destination that received nothing, per type: the rule that
  excludes the type there, with its numbers, or what sending it the cheapest
  possible unit costs, re-optimised;
- **marginals** — the binding rules' marginal values from the LP with the
  integer decisions fixed (:mod:`spatialopt.explain_marginals`).

Counterfactuals run on one persistent HiGHS model per worker, one bound change
each (:mod:`spatialopt.explain_counterfactuals`); questions go one per task
to a process pool or a Dask cluster through
:func:`spatialopt.scenarios.parallel.run_tasks`. A Ctrl-C stops the running
re-solves; what was answered is kept (``settings["interrupted"]``).
Each run has its own time limit; one that stops at it is reported with its
gap and the range the extra cost lies in, not as an exact number.

Every table has a ``period`` column, empty for a single-period plan: a plan
with periods (spec v2) fills it from the result.

:meth:`Explanation.write` puts ``explain.json`` (self-describing: each
section's title, what it answers, its columns with their meaning and unit,
and its rows) and one CSV per table into the result folder, atomically, and
never replaces an earlier explanation without ``force``.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import SpatialoptError
from .explain_counterfactuals import Answer, Counterfactuals, Plan, Question, answer_questions
from .explain_marginals import LOCAL_NOTE, fixed_lp_duals

if TYPE_CHECKING:
    from .results import Result

EXPLAIN_JSON = "explain.json"
TABLES = ("moved", "staying", "cities", "marginals")
EXPLAIN_FILES = (EXPLAIN_JSON, *(f"explain_{t}.csv" for t in TABLES))
DEFAULT_TIME_LIMIT = 60.0  # seconds per counterfactual re-solve
DEFAULT_GAP = 1e-4  # as a planning run's (solvers/default.toml); an extra cost carries it: ties within it are said so
# A plan whose gap is above this share of the re-solves' gets a note that a tighter one would settle near-ties
# (its bound proves no answer above the plan otherwise), when there are at least this many questions.
TIGHT_PLAN_SHARE = 0.1
TIGHT_PLAN_QUESTIONS = 10

Progress = Callable[[int, int, Answer], None]


class ExplainError(SpatialoptError):
    """A result that cannot be explained (no plan, an instance that does not match it)."""


# -- the tables' columns: name -> (meaning, unit) ------------------------------------------------
MONEY = "cost unit"
COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "moved": {
        "facility": ("the facility row", ""), "origin": ("the source it leaves", ""), "type": ("its type", ""),
        "period": ("the plan period (empty: a single-period plan)", ""),
        "destination": ("the city the plan chose", ""), "units": ("units the plan moves there", "units"),
        "residents": ("residents those units take along", "persons"),
        "runner_up": ("the destination it takes in the best plan that may not use the chosen one", ""),
        "runner_up_extra_cost": ("that plan's objective minus this plan's (re-optimised); an upper bound when "
                                 "the re-solve stopped at its limit", MONEY),
        "runner_up_extra_cost_at_least": ("the proven lower bound of the extra cost (equal to it when exact)", MONEY),
        "runner_up_status": ("optimal (exact within the gap) or feasible (stopped at a limit)", ""),
        "runner_up_gap": ("the re-solve's relative MIP gap", ""),
        "stays_instead": ("true when the best plan without the chosen city leaves the facility where it is", ""),
        "stay_extra_cost": ("that plan's extra cost (only when stays_instead)", MONEY),
        "other_moves": ("other facilities that move differently (elsewhere, or in another period) in the runner-up "
                        "plan", ""),
        "sites_opened": ("sites the runner-up plan opens that this plan does not (with plan periods: when; a "
                         "site opened in another period is closed in one and opened in the other)", ""),
        "sites_closed": ("sites this plan opens that the runner-up plan does not (with plan periods: when)", ""),
        "seconds": ("solver time of the re-solves", "s"),
        "text": ("the answer in words", ""),
    },
    "staying": {
        "facility": ("the facility row", ""), "origin": ("its source", ""), "type": ("its type", ""),
        "period": ("when the cheapest move happens, in the plan that moves it (empty: a single-period plan)", ""),
        "units_moved": ("units the plan moves", "units"), "count": ("units of the row", "units"),
        "cheapest_destination": ("where one more unit goes in the best plan that moves it", ""),
        "extra_cost": ("that plan's objective minus this plan's (re-optimised)", MONEY),
        "extra_cost_at_least": ("the proven lower bound of the extra cost", MONEY),
        "status": ("optimal, feasible (stopped at a limit), infeasible (no plan can move it) or not solved", ""),
        "gap": ("the re-solve's relative MIP gap", ""),
        "why_not": ("what stands in the way: cost, a full capacity, the budget or a period's budget, a site, or no "
                    "eligible destination", ""),
        "other_moves": ("other facilities that move differently in that plan", ""),
        "sites_opened": ("sites that plan opens that this plan does not (with plan periods: when)", ""),
        "sites_closed": ("sites this plan opens that that plan does not (with plan periods: when)", ""),
        "seconds": ("solver time of the re-solve", "s"),
        "text": ("the answer in words", ""),
    },
    "cities": {
        "city": ("a destination that received nothing", ""), "type": ("a facility type", ""),
        "period": ("when the unit arrives, in the plan that sends it (empty: a single-period plan)", ""),
        "verdict": ("excluded (a rule keeps the type out), costlier (allowed, but dearer), infeasible, or "
                    "not solved", ""),
        "rule": ("the eligibility rule that excludes it (allowed_tiers, min_km, max_km, same_cluster, "
                 "sites table, arcs table)", ""),
        "facility": ("the facility that goes there in the best plan sending it one unit", ""),
        "extra_cost": ("that plan's objective minus this plan's (re-optimised)", MONEY),
        "extra_cost_at_least": ("the proven lower bound of the extra cost", MONEY),
        "status": ("the re-solve's status", ""), "gap": ("the re-solve's relative MIP gap", ""),
        "other_moves": ("other facilities that move differently in that plan", ""),
        "sites_opened": ("sites that plan opens that this plan does not (with plan periods: when)", ""),
        "sites_closed": ("sites this plan opens that that plan does not (with plan periods: when)", ""),
        "seconds": ("solver time of the re-solve", "s"),
        "text": ("the answer in words", ""),
    },
    "marginals": {
        "family": ("the rule family (target, capacity, site_capacity, site_min, budget, min_share, "
                   "destination_share, region_share)", ""),
        "subject": ("the rule's row", ""), "city": ("its city, if any", ""),
        "resource": ("its resource, if any", ""), "type": ("its type, if any", ""),
        "period": ("the plan period (empty: a single-period plan)", ""),
        "change": ("the one-unit change the value is for", ""),
        "effect": ("the objective's change for that one unit (negative: it saves)", MONEY),
        "per": ("the unit of the change", ""), "text": ("the value in words", ""),
    },
}
TITLES = {
    "moved": ("Why this city?", "For each moved facility row: the runner-up destination and what forcing it "
              "there instead costs, re-optimised (the best plan that may not use the chosen city, minus this "
              "plan's objective), with what else changes in that plan."),
    "staying": ("Why does it stay?", "For each facility the plan leaves in place: the cheapest way to move one "
                "unit of it, re-optimised, and what stands in the way."),
    "cities": ("Why not this city?", "For each destination that received nothing, per type: the rule that "
               "excludes it, with its numbers, or what sending it the cheapest possible unit costs, re-optimised."),
    "marginals": ("What is a rule worth?", "Marginal values of the binding rules, from the LP with the integer "
                  "decisions fixed at the plan's values. " + LOCAL_NOTE),
}


@dataclass
class Explanation:
    """The answers for one plan: four tables, the settings they were found with, and notes."""

    instance: str
    instance_sha256: str
    objective: float
    cost_unit: str
    moved: pd.DataFrame
    staying: pd.DataFrame
    cities: pd.DataFrame
    marginals: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lp_objective: float | None = None

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        """``explain.json``: self-describing, so that a report can render it without knowing this module."""
        from .destinations import written_by

        sections = []
        for name in TABLES:
            title, answers = TITLES[name]
            frame = self.table(name)
            sections.append({
                "id": name, "title": title, "answers": answers, "csv": f"explain_{name}.csv",
                "columns": [{"name": c, "meaning": COLUMNS[name][c][0],
                             "unit": self.cost_unit if COLUMNS[name][c][1] == MONEY else COLUMNS[name][c][1]}
                            for c in frame.columns],
                "rows": [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")],
            })
        return {
            "written_by": written_by(), "kind": "spatialopt explain", "explains": "solution.json",
            "instance": self.instance, "instance_sha256": self.instance_sha256,
            "objective": self.objective, "cost_unit": self.cost_unit,
            "periods": bool((self.moved["period"].astype(str) != "").any()) if len(self.moved) else False,
            "lp_objective_integers_fixed": self.lp_objective, "settings": self.settings,
            "seconds": round(self.seconds, 3), "notes": self.notes, "sections": sections,
        }

    def text(self, top: int | None = None) -> str:
        """The answers in words, for the terminal."""
        lines = [f"{self.instance}: objective {self.objective:,.3f} {self.cost_unit}".rstrip()]
        for name in TABLES:
            frame = self.table(name)
            title, _ = TITLES[name]
            lines.append("")
            lines.append(f"{title} ({len(frame)})")
            shown = frame if top is None else frame.head(top)
            lines += [f"  {t}" for t in shown["text"]]
            if len(shown) < len(frame):
                lines.append(f"  ... and {len(frame) - len(shown)} more (see explain_{name}.csv)")
        if len(self.marginals):
            lines.append(f"  {LOCAL_NOTE}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def write(self, folder: str | Path, *, force: bool = False) -> list[Path]:
        """Write ``explain.json`` and the CSVs into the result folder ``folder``; the files written.

        Refuses (before writing anything) when an earlier explanation is there
        and ``force`` is not given; each file is written atomically, the
        JSON record last.
        """
        from .destinations import check_files, publish_file

        folder = Path(folder)
        paths = [folder / name for name in EXPLAIN_FILES]
        check_files(paths, force, f"{folder}")
        for name, path in zip(TABLES, paths[1:]):
            publish_file(path, self.table(name).to_csv(index=False).encode("utf-8"), force)
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        publish_file(paths[0], text.encode("utf-8"), force)
        return paths


def _json_value(value: Any) -> Any:
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


# -- explaining a plan --------------------------------------------------------------------------
def explain(result: Result, *, facilities: Sequence[str] | None = None, cities: Sequence[str] | None = None,
            top: int | None = None, time_limit: float | None = None, workers: int | None = None,
            scheduler: str | None = None, options: dict[str, Any] | None = None,
            progress: Progress | None = None) -> Explanation:
    """Answer "why this city?" for ``result`` (see the module docstring); the :class:`Explanation`.

    ``facilities`` / ``cities`` narrow the questions to those ids (naming only
    facilities asks no city question and the reverse); ``top`` keeps the N
    largest of each kind (moved rows and staying facilities by residents,
    cities by their cheapest arc). ``time_limit`` (default 60 s) bounds each
    re-solve; ``options`` are HiGHS options over the default profile (a 1e-4
    gap), with one thread per worker. ``workers`` and ``scheduler`` as in
    ``spatialopt sweep``. ``progress(done, total, answer)`` is called as
    answers come in.
    """
    from .api import solver_options
    from .scenarios.parallel import default_workers, run_tasks, task_options

    if not result.status.has_solution:
        raise ExplainError(f"{result.instance.name}: there is no plan to explain ({result.status.value})")
    started = time.perf_counter()
    chosen = task_options(solver_options(highs_options=options))
    chosen.setdefault("mip_rel_gap", DEFAULT_GAP)
    chosen["time_limit"] = float(time_limit if time_limit is not None else DEFAULT_TIME_LIMIT)
    ctx = _Context(result, tie=float(chosen["mip_rel_gap"]))
    _check_ids(ctx, facilities, cities)
    ask_facilities = facilities is not None or cities is None
    ask_cities = cities is not None or facilities is None
    moved_rows = ctx.moved_rows(facilities) if ask_facilities else []
    staying = ctx.staying(facilities) if ask_facilities else []
    pairs, excluded = ctx.city_pairs(cities) if ask_cities else ([], {})
    if top is not None:
        moved_rows, staying, pairs = moved_rows[:top], staying[:top], pairs[:top]
    # with periods a facility's moves to one city in two periods are two rows but one question (the arc)
    questions = list(dict.fromkeys([Question("avoid", facility=f, city=d) for f, d, _, _ in moved_rows]
                                   + [Question("move", facility=f) for f in staying]
                                   + [Question("receive", city=c, type=k) for k, c in pairs]))
    answers: dict[Question, Answer] = {}
    done = [0]

    def record(answer: Answer) -> None:
        answers[answer.question] = answer
        done[0] += 1
        if progress is not None:
            progress(done[0], len(questions), answer)

    floor = _plan_floor(result)
    moves, sites = result.column_start()  # the plan per model column: with periods, per arc and period
    if questions:
        n_workers = 1 if scheduler is None and workers == 1 else (workers or default_workers())
        if scheduler is None and (n_workers <= 1 or len(questions) <= 1):
            answer_questions(result.instance, moves, sites, pairs, questions, chosen, record, floor)
        else:
            # one question per task, handed to whichever worker is free: the last one to finish is one
            # question, never a batch; each worker builds its model once (_answer_in_worker)
            key = f"{os.getpid()}-{id(result)}-{time.time_ns()}"
            tasks = [(key, result.instance, moves, sites, pairs, q, chosen, floor) for q in questions]

            failures: list[BaseException] = []

            def finished(_i: int, value: Any, exc: BaseException | None) -> bool:
                if exc is not None:
                    failures.append(exc)
                    return not isinstance(exc, KeyboardInterrupt)  # a failed question: start no further one
                record(value)
                return False

            run_tasks(_answer_in_worker, tasks, workers=n_workers, scheduler=scheduler, on_done=finished)
            errors = [e for e in failures if not isinstance(e, KeyboardInterrupt)]
            if errors:
                raise errors[0]
    marginals, lp_objective = fixed_lp_duals(result.instance, result.derived, moves, sites,
                                            {k: v for k, v in chosen.items() if k != "time_limit"})
    explanation = Explanation(
        instance=result.instance.name, instance_sha256=result.instance.sha256 or "",
        objective=float(result.objective or 0.0), cost_unit=result.instance.cost_unit,
        moved=ctx.moved_table(moved_rows, answers), staying=ctx.staying_table(staying, answers),
        cities=ctx.cities_table(pairs, excluded, answers),
        marginals=marginals.sort_values("effect", key=np.abs, ascending=False).reset_index(drop=True),
        settings={"time_limit_seconds": chosen["time_limit"], "mip_rel_gap": chosen["mip_rel_gap"],
                  "threads_per_solve": chosen.get("threads"), "top": top,
                  "facilities": list(facilities) if facilities is not None else None,
                  "cities": list(cities) if cities is not None else None,
                  "workers": None if scheduler else (1 if len(questions) <= 1 else
                                                     (workers or default_workers())),
                  "scheduler": scheduler, "counterfactuals": len(questions),
                  "proved_by_plan_bound": _screened(answers, "the plan's bound"),
                  "proved_by_block_bounds": _screened(answers, "the block bounds")},
        lp_objective=lp_objective,
    )
    if result.gap is not None and result.gap > chosen["mip_rel_gap"]:
        explanation.notes.append(
            f"the plan itself was found with a gap of {result.gap:.2e}: a re-optimised alternative can cost "
            "less than the plan by up to that gap (a negative extra cost), and every extra cost carries it")
    elif result.gap is not None and result.gap > TIGHT_PLAN_SHARE * chosen["mip_rel_gap"] \
            and len(questions) >= TIGHT_PLAN_QUESTIONS and not explanation.settings["proved_by_block_bounds"]:
        # (answers proved by the block bounds did not need the plan's)
        tighter = TIGHT_PLAN_SHARE * chosen["mip_rel_gap"]
        explanation.notes.append(
            f"the plan's bound lies {result.gap:.1e} below it, close to the re-solves' gap of "
            f"{chosen['mip_rel_gap']:.0e}, so it settles no answer that costs more than the plan, not even a "
            f"near-tie: each needs a full re-solve. A plan solved to a gap of {tighter:.0e} (spatialopt solve "
            f"--gap {tighter:.0e}) settles them by its bound (docs/explain.md, 'Speed, measured')")
    if cities is not None:
        received = set(result.assignments["destination"])
        for c in cities:
            if c in received:
                explanation.notes.append(f"{c} receives facilities in this plan: its moves are in the moved table "
                                         "(ask with --facility), not among the cities that received nothing")
    proved = explanation.settings["proved_by_plan_bound"]
    by_blocks = explanation.settings["proved_by_block_bounds"]
    runs = sum(p is not None for a in answers.values() for p in (a.first, a.forced))
    if proved:
        explanation.notes.append(f"{proved} of {runs} re-solves needed no full MIP run: the plan, completed under "
                                 "the question, came within the gap of a bound no answer can beat (the plan's own)")
    if by_blocks:
        explanation.notes.append(
            f"{by_blocks} of {runs} re-solves needed no full MIP run: the plan, completed under the question (its "
            "own block solved again), came within the gap of the model's blocks' bounds with the subject's block "
            "solved under the question (docs/explain.md, 'Block bounds')")
    stopped = sum(any(p is not None and "interrupted" in p.termination for p in (a.first, a.forced))
                  for a in answers.values())
    explanation.settings["interrupted"] = len(answers) < len(questions) or stopped > 0
    if len(answers) < len(questions):
        explanation.notes.append(f"{len(questions) - len(answers)} of {len(questions)} questions were not "
                                 "answered (interrupted); their rows say 'not solved'")
    if stopped:
        explanation.notes.append(f"{stopped} question{'s were' if stopped != 1 else ' was'} stopped by the "
                                 "interrupt: their answers are the best found by then, with their gap")
    explanation.seconds = time.perf_counter() - started
    return explanation


def _screened(answers: Mapping[Any, Any], by: str) -> int:
    """How many re-solves ended without a full run, proved by ``by`` (``Plan.termination``)."""
    return sum(p.screened and p.termination == f"proved by {by}" for a in answers.values()
               for p in (a.first, a.forced) if p is not None)


def _plan_floor(result: Result) -> float | None:
    """The plan's proven lower bound: every counterfactual only adds a condition, so none costs less."""
    if result.bound is None or result.objective is None or not math.isfinite(result.bound):
        return None
    return min(float(result.bound), float(result.objective))


# in a worker process, per thread (a Dask worker may run several): the plan it answers for and its model
_ENGINES: dict[int, tuple[str, Counterfactuals]] = {}


def _answer_in_worker(key: str, instance: Any, moves: np.ndarray, sites: np.ndarray,
                      receive_pairs: list[tuple[str, str]], question: Question, options: dict[str, Any],
                      floor: float | None) -> Answer:
    """One question, in a pool or cluster worker, on the worker's model of the plan ``key`` (built once per
    worker thread: a model answers one question at a time).

    A Ctrl-C forwarded to the worker stops the run it is in (the answer keeps
    what it found, as a run stopped at a limit); one that came between two
    questions starts no further one.
    """
    from .scenarios.parallel import stop_requested

    thread = threading.get_ident()
    held = _ENGINES.get(thread)
    if held is not None and held[0] == key:
        engine = held[1]
    else:
        _ENGINES.pop(thread, None)
        engine = Counterfactuals(instance, moves, sites, receive_pairs, options, floor=floor)
        _ENGINES[thread] = (key, engine)
    if stop_requested():
        raise KeyboardInterrupt("interrupted before it started")
    with engine.session:
        if stop_requested():
            engine.session.stop()
        return engine.answer(question)


def _install() -> None:
    from .results import install_explainer

    install_explainer(explain)


_install()


def _check_ids(ctx: _Context, facilities: Sequence[str] | None, cities: Sequence[str] | None) -> None:
    inst = ctx.instance
    unknown = [f for f in facilities or [] if f not in inst.facilities.index]
    if unknown:
        raise ExplainError(f"--facility: unknown facility id(s) {', '.join(map(repr, unknown))} in {inst.name}")
    unknown = [c for c in cities or [] if c not in inst.cities.index]
    if unknown:
        raise ExplainError(f"--city: unknown city id(s) {', '.join(map(repr, unknown))} in {inst.name}")
    sources = [c for c in cities or [] if c in inst.sources]
    if sources:
        raise ExplainError(f"--city: {', '.join(map(repr, sources))} is a source (a megacity core), not a destination")


class _Context:
    """The plan's facts the tables need: who moves where, what each plan changes, the words."""

    def __init__(self, result: Result, tie: float = DEFAULT_GAP) -> None:
        self.result = result
        self.tie = tie  # relative: extra costs this small are ties
        self.instance = result.instance
        self.derived = d = result.derived
        self.z0 = float(result.objective or 0.0)
        self.unit = f" {self.instance.cost_unit}" if self.instance.cost_unit else ""
        self.facility_ids = np.asarray(d.facility_ids, dtype=object)
        self.city_ids = np.asarray(d.city_ids, dtype=object)
        self.period_ids = [p.id for p in self.instance.periods] if self.instance.phased else [""]
        arc, period, units = result._moves
        self.base_moves = self._timed(list(zip(arc.tolist(), period.tolist(), units.tolist())))
        opened = np.flatnonzero(result.opened)
        periods = [] if result.site_period is None else np.asarray(result.site_period)[opened].tolist()
        self.base_openings = self._openings(opened.tolist(), periods)
        self.base_sites = {(k, c) for k, c, _ in self.base_openings}
        self._arc_of: dict[tuple[str, str], int] = {}

    # -- which questions --------------------------------------------------------------------
    def moved_rows(self, facilities: Sequence[str] | None) -> list[tuple[str, str, float, str]]:
        a = self.result.assignments
        if facilities is not None:
            a = a[a["facility"].isin(list(facilities))]
        a = a.sort_values(["residents", "facility"], ascending=[False, True], kind="stable")
        # A plan with periods (spec v2) says when each move happens: the tables carry it.
        period = a["period"].astype(str) if "period" in a.columns else pd.Series("", index=a.index)
        return list(zip(a["facility"], a["destination"], a["units"].astype(float), period))

    def staying(self, facilities: Sequence[str] | None) -> list[str]:
        fac = self.instance.facilities
        moved = pd.Series(self.result.units, dtype=float).groupby(self.derived.arc_f).sum()
        units = moved.reindex(range(len(fac)), fill_value=0.0).to_numpy()
        count = fac["count"].to_numpy(dtype=float)
        stays = (units < count - 1e-9) & (count > 0)
        frame = pd.DataFrame({"facility": fac.index, "weight": fac["residents"].to_numpy(float) * count})[stays]
        if facilities is not None:
            frame = frame[frame["facility"].isin(list(facilities))]
        return frame.sort_values(["weight", "facility"], ascending=[False, True], kind="stable")["facility"].tolist()

    def city_pairs(self, cities: Sequence[str] | None) -> tuple[list[tuple[str, str]], dict[tuple[str, str], Any]]:
        """(type, city) pairs to re-solve, cheapest arc first, and the pairs a rule excludes (no re-solve)."""
        from .explain_rules import exclusions

        d = self.derived
        received = np.zeros(len(d.city_ids))
        np.add.at(received, d.arc_d, self.result.units)
        dest = [c for c in self.instance.destination_ids if cities is None or c in cities]
        pos = {c: i for i, c in enumerate(d.city_ids)}
        empty = [c for c in dest if received[pos[c]] <= 0]
        types = [k for k in self.instance.types if (self.instance.facilities["type"] == k).any()]
        pairs = [(k, c) for c in empty for k in types]
        excluded = exclusions(self.instance, pairs)
        arc_type = self.instance.facilities["type"].to_numpy(dtype=object)[d.arc_f]
        cheapest: dict[tuple[str, str], float] = {}
        for k, c, cost in zip(arc_type.tolist(), self.city_ids[d.arc_d].tolist(), d.cost.tolist()):
            if (k, c) in excluded and excluded[(k, c)] is None:
                cheapest[(k, c)] = min(cost, cheapest.get((k, c), math.inf))
        open_pairs = sorted((p for p in pairs if excluded[p] is None), key=lambda p: (cheapest.get(p, math.inf), p))
        return open_pairs, {p: e for p, e in excluded.items() if e is not None}

    # -- what a plan changes -------------------------------------------------------------------
    def _moves(self, arcs: list[int], units: list[float]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        d = self.derived
        for a, u in zip(arcs, units):
            out.setdefault(str(self.facility_ids[d.arc_f[a]]), {})[str(self.city_ids[d.arc_d[a]])] = u
        return out

    def _timed(self, moves: list[tuple[int, int, float]]) -> dict[str, dict[tuple[str, str], float]]:
        """Per facility: units per (city, period id); the period id is "" for a single-period plan."""
        out: dict[str, dict[tuple[str, str], float]] = {}
        d = self.derived
        for a, p, u in moves:
            there = out.setdefault(str(self.facility_ids[d.arc_f[a]]), {})
            key = (str(self.city_ids[d.arc_d[a]]), self.period_ids[p])
            there[key] = there.get(key, 0.0) + u
        return out

    def changes(self, plan: Plan, subject: str) -> tuple[str, str, str]:
        """Other facilities that move differently (elsewhere, or in another period), sites opened, sites closed."""
        moves = self._timed(plan.moves)
        differ, resplit = [], []
        for f in sorted(set(moves) | set(self.base_moves)):
            if f == subject or moves.get(f) == self.base_moves.get(f):
                continue
            if self.splittable(f) and moves.get(f) and self.base_moves.get(f):
                resplit.append(f)  # a split that shifts between cities of equal cost is not news
                continue
            differ.append(f"{f}: {_where(self.base_moves.get(f))} -> {_where(moves.get(f))}")
        if resplit:
            differ.append(f"re-split: {', '.join(resplit)}")
        sites = self._openings(plan.opened, plan.opened_periods)
        opened = "; ".join(_site_text(k, c, p) for k, c, p in sorted(sites - self.base_openings))
        closed = "; ".join(_site_text(k, c, p) for k, c, p in sorted(self.base_openings - sites))
        return "; ".join(differ), opened, closed

    def _openings(self, opened: list[int], periods: list[int]) -> set[tuple[str, str, str]]:
        """(type, city, period id) of each opened site; with plan periods a site opened in another
        period than in this plan is a change too (closed in the one, opened in the other)."""
        keys = self.derived.site_keys()  # period_ids is [""] for a single-period plan
        return {(*keys[i], self.period_ids[p]) for i, p in zip(opened, periods or [0] * len(opened))}

    def periods_of(self, plan: Plan, facilities: Sequence[str], city: str) -> str:
        """The period ids (comma-separated, in plan order) in which ``facilities`` move into ``city`` in ``plan``."""
        timed = self._timed(plan.moves)
        return ", ".join(p for p in self.period_ids if p and any((city, p) in timed.get(f, {}) for f in facilities))

    def splittable(self, facility: str) -> bool:
        return bool(self.instance.types[str(self.instance.facilities.at[facility, "type"])].splittable)

    def destination_of(self, plan: Plan, facility: str, avoid: str = "") -> str:
        """Where ``facility`` goes in ``plan`` (most units; not ``avoid``), "" when it stays."""
        there = {c: u for c, u in self._moves(plan.arcs, plan.units).get(facility, {}).items() if c != avoid}
        return max(sorted(there), key=lambda c: there[c]) if there else ""

    def extra(self, plan: Plan) -> tuple[float | None, float | None, str]:
        """Extra cost (upper end), proven lower end, and how to say it."""
        if not plan.has_plan or plan.objective is None:
            return None, None, ""
        extra = plan.objective - self.z0
        low = None if plan.bound is None else plan.bound - self.z0
        if plan.status == "optimal":
            if abs(extra) <= self.tie * max(1.0, abs(self.z0)):
                return extra, extra, f"{_signed(extra)}{self.unit}, a tie with this plan within the {self.tie:.2%} optimality gap"
            return extra, extra, f"{_signed(extra)}{self.unit}"
        low_text = "unknown" if low is None else f"{_signed(low)}{self.unit}"
        gap = "n/a" if plan.gap is None else f"{plan.gap:.1%}"
        why = "interrupted" if "interrupted" in plan.termination else "stopped at the limit"
        return extra, low, f"at most {_signed(extra)}{self.unit} and at least {low_text} ({why}, gap {gap})"

    # -- tables ---------------------------------------------------------------------------------
    def moved_table(self, rows: list[tuple[str, str, float, str]], answers: dict[Question, Answer]) -> pd.DataFrame:
        fac = self.instance.facilities
        out = []
        for f, dest, units, period in rows:
            answer = answers.get(Question("avoid", facility=f, city=dest))
            row: dict[str, Any] = {
                "facility": f, "origin": fac.at[f, "origin"], "type": fac.at[f, "type"],
                "period": period, "destination": dest, "units": units, "residents": float(fac.at[f, "residents"]) * units,
                "runner_up": "", "runner_up_extra_cost": None, "runner_up_extra_cost_at_least": None,
                "runner_up_status": "not solved", "runner_up_gap": None, "stays_instead": False,
                "stay_extra_cost": None, "other_moves": "", "sites_opened": "", "sites_closed": "",
                "seconds": None, "text": f"{f} -> {dest}: not answered (interrupted)",
            }
            if answer is not None:
                self._fill_moved(row, answer)
            out.append(row)
        return pd.DataFrame(out, columns=list(COLUMNS["moved"]))

    def _fill_moved(self, row: dict[str, Any], answer: Answer) -> None:
        f, dest = row["facility"], row["destination"]
        row["seconds"] = round(answer.seconds, 3)
        first, forced = answer.first, answer.forced
        head = f"{f} ({row['type']}, {row['residents']:,.0f} residents) -> {dest}"
        if row["period"]:
            head += f" in {row['period']}"  # the runner-up avoids {dest} in every period
        if first is None or not first.has_plan:
            row["runner_up_status"] = first.status if first is not None else "not solved"
            reason = answer.note or ("no plan without it" if first is None or first.status == "infeasible"
                                     else f"the re-solve found no plan ({first.status})")
            row["text"] = f"{head}: no runner-up: {reason}; {dest} is the only way this plan works"
            return
        runner = forced if forced is not None else first
        if forced is not None:
            row["stays_instead"] = True
            row["stay_extra_cost"] = self.extra(first)[0]
        stay_text = ""
        if forced is not None:
            stay_text = f"; without {dest} the best plan leaves it where it is ({self.extra(first)[2]})"
        if not runner.has_plan:
            row["runner_up_status"] = runner.status
            row["text"] = f"{head}: it cannot go anywhere else ({runner.status}){stay_text}"
            return
        extra, low, said = self.extra(runner)
        row.update(runner_up=self.destination_of(runner, f, avoid=dest), runner_up_extra_cost=extra,
                   runner_up_extra_cost_at_least=low, runner_up_status=runner.status, runner_up_gap=runner.gap)
        moves, opened, closed = self.changes(runner, f)
        row.update(other_moves=moves, sites_opened=opened, sites_closed=closed)
        row["text"] = (f"{head}: runner-up {row['runner_up']}, extra cost {said}{stay_text}"
                       + _changes_text(moves, opened, closed))

    def staying_table(self, facilities: list[str], answers: dict[Question, Answer]) -> pd.DataFrame:
        from .derive import EligibilityRules
        from .diagnose import _rule_story

        fac = self.instance.facilities
        rules: list[EligibilityRules] = []
        out = []
        for f in facilities:
            moved = float(self.result.units[self.derived.arc_f == list(self.facility_ids).index(f)].sum())
            row: dict[str, Any] = {
                "facility": f, "origin": fac.at[f, "origin"], "type": fac.at[f, "type"], "period": "",
                "units_moved": moved, "count": float(fac.at[f, "count"]), "cheapest_destination": "",
                "extra_cost": None, "extra_cost_at_least": None, "status": "not solved", "gap": None,
                "why_not": "", "other_moves": "", "sites_opened": "", "sites_closed": "", "seconds": None,
                "text": f"{f}: not answered (interrupted)",
            }
            answer = answers.get(Question("move", facility=f))
            head = f"{f} ({row['type']}, {float(fac.at[f, 'residents']):,.0f} residents per unit) stays"
            if answer is not None and answer.note == "no eligible destination":
                if not rules:
                    rules.append(EligibilityRules(self.instance))
                position = int(np.flatnonzero(self.facility_ids == f)[0])
                row.update(status="no destination", why_not=f"no eligible destination: "
                           f"{_rule_story(rules[0], row['type'], position)}")
                row["text"] = f"{head}: {row['why_not']}"
            elif answer is not None and answer.first is not None:
                self._fill_staying(row, answer.first, head)
            out.append(row)
        return pd.DataFrame(out, columns=list(COLUMNS["staying"]))

    def _fill_staying(self, row: dict[str, Any], plan: Plan, head: str) -> None:
        f = row["facility"]
        row.update(status=plan.status, gap=plan.gap, seconds=round(plan.seconds, 3))
        if not plan.has_plan:
            row["why_not"] = "no plan can move it" if plan.status == "infeasible" else f"no plan found ({plan.status})"
            row["text"] = f"{head}: {row['why_not']} (every rule of the plan kept)"
            return
        extra, low, said = self.extra(plan)
        dest = self.destination_of(plan, f)
        moves, opened, closed = self.changes(plan, f)
        why = self.obstacles(f, dest)
        row.update(cheapest_destination=dest, extra_cost=extra, extra_cost_at_least=low, why_not="; ".join(why),
                   other_moves=moves, sites_opened=opened, sites_closed=closed, period=self.periods_of(plan, [f], dest))
        when = f" in {row['period']}" if row["period"] else ""
        row["text"] = (f"{head}: moving it (to {dest}{when}) costs {said}; in the way: {row['why_not']}"
                       + _changes_text(moves, opened, closed))

    def obstacles(self, facility: str, dest: str) -> list[str]:
        """What, in this plan, stands between ``facility`` and ``dest``: cost, a full capacity, a site, the budget and
        the budget of each period of the facility's window (plan periods) without room for the move."""
        inst, d, units = self.instance, self.derived, self.result.units
        if not self._arc_of:
            self._arc_of.update({key: i for i, key in enumerate(d.arc_keys())})
        arc = self._arc_of[(facility, dest)]
        out = []
        into = d.arc_d == d.arc_d[arc]
        for j, resource in enumerate(inst.resources):
            cap = float(inst.city_caps.at[dest, resource.id])
            need = float(d.use[arc, j])
            used = float(d.use[into, j] @ units[into])
            if math.isfinite(cap) and need > 0 and used + need > cap + 1e-9 * max(1.0, cap):
                out.append(f"{resource.cap} of {dest} is full ({used:,.0f} of {cap:,.0f} used; it needs {need:,.0f})")
        kind = inst.types[str(inst.facilities.at[facility, "type"])]
        site_cost = 0.0
        if kind.requires_site and (inst.facilities.at[facility, "type"], dest) not in self.base_sites:
            keys = d.site_keys()
            at = next((i for i, key in enumerate(keys) if key == (inst.facilities.at[facility, "type"], dest)), None)
            site_cost = float(d.site_cost[at]) if at is not None else 0.0
            out.append(f"it needs a new {kind.id} site in {dest} (site cost {site_cost:,.2f}{self.unit})")
        cost = float(d.relocation[arc]) + site_cost
        budget = inst.policy.budget
        if budget is not None:
            spent = float(d.relocation @ units + d.site_cost[self.result.opened].sum())
            if spent + cost > budget + 1e-9 * max(1.0, budget):
                out.append(f"the budget ({budget - spent:,.2f}{self.unit} left of {budget:,.2f}; moving it "
                           f"spends {cost:,.2f})")
        out += self._period_budgets(facility, cost)
        out.append(f"its own cost there is {float(d.cost[arc]):,.2f}{self.unit} per unit")
        return out

    def _period_budgets(self, facility: str, cost: float) -> list[str]:
        """The budgets of the periods of ``facility``'s window that have no room for ``cost`` in this plan."""
        from .periods import facility_windows

        inst, d = self.instance, self.derived
        if not inst.phased or all(p.budget is None for p in inst.periods):
            return []
        spent = np.zeros(len(inst.periods))
        arc, period, units = self.result._moves
        np.add.at(spent, period, np.asarray(d.relocation, float)[arc] * units)
        site_period = self.result.site_period
        if site_period is not None:
            opened = np.flatnonzero(site_period >= 0)
            np.add.at(spent, site_period[opened], np.asarray(d.site_cost, float)[opened])
        earliest, latest = facility_windows(inst)
        f = int(np.flatnonzero(self.facility_ids == facility)[0])
        out = []
        for p in range(int(earliest[f]), int(latest[f]) + 1):
            budget = inst.periods[p].budget
            if budget is not None and spent[p] + cost > budget + 1e-9 * max(1.0, budget):
                out.append(f"the {inst.periods[p].id} budget ({budget - spent[p]:,.2f}{self.unit} left of "
                           f"{budget:,.2f}; moving it then spends {cost:,.2f})")
        return out

    def cities_table(self, pairs: list[tuple[str, str]], excluded: dict[tuple[str, str], Any],
                     answers: dict[Question, Answer]) -> pd.DataFrame:
        out = []
        blank = {"facility": "", "extra_cost": None, "extra_cost_at_least": None, "status": "", "gap": None,
                 "other_moves": "", "sites_opened": "", "sites_closed": "", "seconds": None}
        for (k, c), why in excluded.items():
            out.append({"city": c, "type": k, "period": "", "verdict": "excluded", "rule": why.rule, **blank,
                        "text": f"{c} gets no {k}: {why.text}"})
        for k, c in pairs:
            row: dict[str, Any] = {"city": c, "type": k, "period": "", "verdict": "not solved", "rule": "", **blank,
                                   "status": "not solved", "text": f"{c}, {k}: not answered (interrupted)"}
            answer = answers.get(Question("receive", city=c, type=k))
            plan = answer.first if answer is not None else None
            if plan is not None:
                row.update(status=plan.status, gap=plan.gap, seconds=round(plan.seconds, 3))
                if plan.has_plan:
                    extra, low, said = self.extra(plan)
                    moves, opened, closed = self.changes(plan, "")
                    sent = [f for f, there in self._moves(plan.arcs, plan.units).items() if c in there
                            and self.instance.facilities.at[f, "type"] == k]
                    row.update(verdict="costlier", facility="; ".join(sorted(sent)), extra_cost=extra,
                               extra_cost_at_least=low, other_moves=moves, sites_opened=opened, sites_closed=closed,
                               period=self.periods_of(plan, sent, c))
                    in_text = f" in {row['period']}" if row["period"] else ""
                    row["text"] = (f"{c} gets no {k}: allowed, but sending it one unit ({row['facility']}{in_text}) "
                                   f"costs {said}" + _changes_text(moves, opened, closed))
                else:
                    row["verdict"] = plan.status
                    row["text"] = f"{c} gets no {k}: no plan can send it one ({plan.status})"
            out.append(row)
        frame = pd.DataFrame(out, columns=list(COLUMNS["cities"]))
        return frame.sort_values(["city", "type"], kind="stable").reset_index(drop=True)


def _site_text(kind: str, city: str, period: str) -> str:
    """A site in words: "manufacturing at tieling", with plan periods "... in 2026-2030"."""
    return f"{kind} at {city}" + (f" in {period}" if period else "")


def _where(there: dict[tuple[str, str], float] | None) -> str:
    """Where (and, with plan periods, when) a facility goes: "a", "a (2)", "a in 2026-2030"."""
    if not there:
        return "stays"
    return ", ".join(c + (f" in {p}" if p else "") + ("" if u == 1 else f" ({u:g})")
                     for (c, p), u in sorted(there.items()))


def _signed(value: float) -> str:
    return f"{value:+,.2f}"


SHOWN_CHANGES = 3  # other moves named in the text (the tables hold them all)


def _changes_text(moves: str, opened: str, closed: str) -> str:
    parts = []
    if moves:
        items = moves.split("; ")
        resplit = [i for i in items if i.startswith("re-split: ")]
        items = [i for i in items if not i.startswith("re-split: ")]
        shown = items[:SHOWN_CHANGES] + ([f"{len(items) - SHOWN_CHANGES} more"] if len(items) > SHOWN_CHANGES else [])
        if resplit:
            n = len(resplit[0].split(", "))
            shown.append(f"{n} splittable row{'s' if n != 1 else ''} re-split")
        parts.append(f"also moving differently: {'; '.join(shown)}")
    if opened:
        parts.append(f"opens {opened}")
    if closed:
        parts.append(f"closes {closed}")
    return ("; " + "; ".join(parts)) if parts else ""
