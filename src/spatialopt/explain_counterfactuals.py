"""Counterfactual re-solves for ``spatialopt explain``: one persistent HiGHS model, one bound change each.

A :class:`Question` asks what the best plan costs under one more condition:

- ``avoid``: a moved facility may not use its chosen destination (the arc's
  columns get upper bound 0: with plan periods, its move in every period). When the best such plan leaves the facility
  where it is, a second run also makes it move (its ``assign`` row gets the
  plan's units as lower bound), so that the runner-up destination is known.
- ``move``: a facility that stays (or stays partly) moves one unit more (its
  ``assign`` row's lower bound).
- ``receive``: a city that received nothing of a type gets at least one unit
  of it (a row of the formulation's extension seam, :data:`RECEIVE_FAMILY`,
  built free and given lower bound 1 for this question only).

:func:`answer_questions` builds the model once (the formulation with the
solve path's strengthening rows valid under every question,
:func:`question_strengthening`, read by the matrix back end), and answers its questions one after the other: each is a
bound change, a completion of the plan and, unless the completion already
answers it, a run from that start; then the bounds are put back.

The completion keeps the plan's whole-unit moves of every facility the
question is not about and solves for the rest (the subject's arcs, the sites,
every continuous column): a small MIP, what HiGHS would do with a partial
start. Every question only adds a condition to the plan's problem, so the
plan's proven bound (``floor``) bounds every answer from below: a completion
within the gap of that floor is optimal as it stands (a tie, mostly), and the
full re-solve is skipped (:attr:`Plan.screened`); so is the second run of an
``avoid`` question, a restriction of the first, within the gap of the first
run's bound. Where the model falls apart into blocks of sources sharing no
site (:mod:`spatialopt.blocks`: the national instances), each block is solved
alone once when the model is built, and a question gets its own floor: the
other blocks' bounds plus its subject's block solved again under the question
(for a city made to receive a type, the least over the blocks that could
send it, when the type's units are whole or one block alone can send it); the completion with that block's own answer in place of its
part, when it keeps every row, is then often within the gap of that floor
(proved by "the block bounds"). A question about one facility whose completion is not proved
gets a second, wider one (every facility of its origin freed); the better of
the two is the full run's start. :mod:`spatialopt.explain` hands one question
per task to a worker process (or Dask worker), which keeps its
:class:`Counterfactuals` for the next question.

The plan is given as the values of the model's move and site columns
(:meth:`spatialopt.results.Result.column_start`): with plan periods (spec v2)
one move column per arc and period of the facility's window and one site
column per candidate and period; without, the arcs and the site candidates.
Questions speak of arcs; :attr:`Counterfactuals.arc_moves` maps each arc to
its move columns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .blocks import Blocks, as_plan, block_options, split
from .derive import Derived, derive
from .formulation import Formulation, RowBlock, build, move_layout
from .instance import Instance
from .root_pass import SUB_MIP_HEURISTICS
from .strong_rows import DEFAULT, Strengthening, strengthened
from .tolerances import GAP_DENOMINATOR_FLOOR

#: Branch-and-bound nodes a completion may use (HiGHS's own limit for completing a partial start,
#: mip_max_start_nodes): a completion is a start, not the answer, unless the plan's bound proves it.
COMPLETION_NODES = 500
RECEIVE_FAMILY = "explain_receive"  # one free row per (type, city) asked about: units of the type received there


def question_strengthening(base: Strengthening = DEFAULT) -> Strengthening:
    """The strengthenings of the question model: ``base``'s rows that stay valid under every question.

    A question only narrows the plan's problem (an arc closed, a facility's or
    a city's lower bound raised), and each strengthening row is implied by the
    spec's rows or restates them exactly (cover and cumulative rows, moved
    units, shares over the moves, capacity-aware links), so it holds in every
    narrower problem too. Dominated-arc bounds do not: they cap an arc because
    a cheaper one is open, and a question may close that one. Reduced-cost
    fixing is not a row (it needs a plan's cost and acts in the solve path).
    """
    return replace(base, dominated_arcs=False)


@dataclass(frozen=True)
class Question:
    """One counterfactual: ``kind`` is ``avoid``, ``move`` or ``receive`` (see the module docstring)."""

    kind: str
    facility: str = ""
    city: str = ""
    type: str = ""

    @property
    def label(self) -> str:
        if self.kind == "avoid":
            return f"{self.facility} without {self.city}"
        if self.kind == "move":
            return f"{self.facility} made to move"
        return f"{self.type} into {self.city}"


@dataclass
class Plan:
    """One re-solve's outcome, small enough to send back from a worker: status, numbers, sparse plan."""

    status: str
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    arcs: list[int] = field(default_factory=list)  # arcs with units > 0
    units: list[float] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)  # opened site candidates
    opened_periods: list[int] = field(default_factory=list)  # with plan periods: each opening's period position
    # every move with units > 0 as (arc, period position, units): with plan periods an arc may have several
    moves: list[tuple[int, int, float]] = field(default_factory=list)
    termination: str = ""
    screened: bool = False  # no full run: the plan's completion, proved optimal within the gap by a known bound

    @property
    def has_plan(self) -> bool:
        return self.status in ("optimal", "feasible")


@dataclass
class Answer:
    """A question and its re-solves: ``first`` always, ``forced`` when ``avoid`` had to make the facility move."""

    question: Question
    first: Plan | None = None
    forced: Plan | None = None
    note: str = ""  # why no solve was needed (e.g. the facility has no other destination)

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in (self.first, self.forced) if p is not None)


class Counterfactuals:
    """The model of one instance in one HiGHS session, with the plan as the start of every run."""

    def __init__(self, instance: Instance, units: np.ndarray, opened: np.ndarray,
                 receive_pairs: Sequence[tuple[str, str]], options: Mapping[str, Any],
                 derived: Derived | None = None, floor: float | None = None,
                 strengthen: Strengthening = DEFAULT) -> None:
        from .matrix import matrices_from
        from .session import HighsSession

        self.instance = instance
        self.derived = derived if derived is not None else derive(instance)
        self.units, self.opened = np.asarray(units, float), np.asarray(opened, bool)  # per move / site column
        # the solve path's rows, less those a question can invalidate: questions prove as the plan did
        form = strengthened(build(instance, self.derived), question_strengthening(strengthen))
        self.move_arc = np.asarray(form.move_arc, np.int64)
        self.move_period = move_layout(instance, self.derived)[1]
        if self.move_arc.size != self.units.size:
            raise ValueError(f"{instance.name}: the plan has {self.units.size} move values, the model "
                             f"{self.move_arc.size} move columns")
        self.receive_row = _add_receive_rows(form, self.derived, instance, receive_pairs)
        self.matrices = matrices_from(form)
        m = self.matrices
        self.x0 = m.x.start
        self.col_lower, self.col_upper = m.col_lower, m.col_upper
        assign = form.find("assign")
        start = m.family_rows.get("assign", slice(0, 0)).start
        self.assign_row = {f: start + i for i, f in enumerate(assign.keys)} if assign is not None else {}
        self.row_lower, self.row_upper = m.row_lower, m.row_upper
        if RECEIVE_FAMILY in m.family_rows:
            first = m.family_rows[RECEIVE_FAMILY].start
            self.receive_row = {pair: first + i for pair, i in self.receive_row.items()}
        self.arc_of = {key: i for i, key in enumerate(self.derived.arc_keys())}
        self.fac_arcs = _arcs_by_facility(self.derived)
        self.session = HighsSession(m, options)
        self.floor = floor  # a proven lower bound of the plan's problem, hence of every question's
        self.gap = float(self.session.options.get("mip_rel_gap", 0.0))
        self.time_limit = float(self.session.options.get("time_limit", math.inf))
        self.x_integer = np.asarray(m.integer, bool)[self.x0:self.x0 + self.units.size]
        order = np.argsort(self.move_arc, kind="stable")
        bounds = np.searchsorted(self.move_arc[order], np.arange(len(self.derived.arc_f) + 1))
        self.arc_moves = [order[bounds[a]:bounds[a + 1]] for a in range(len(self.derived.arc_f))]
        self.arc_type = instance.facilities["type"].to_numpy(dtype=object)[self.derived.arc_f]
        self.arc_origin = instance.facilities["origin"].to_numpy(dtype=object)[self.derived.arc_f]
        self.blocks: Blocks | None = None
        self.block_bound: list[float] = []
        self._floor_by = "the plan's bound"
        self._block_answer: tuple[int, Any] | None = None  # the subject's block solved under the question
        self._floor_seconds = 0.0
        if strengthen.block_bounds:
            self._block_bounds(form)

    def _block_bounds(self, form: Formulation) -> None:
        """Each block of the model (spatialopt.blocks) solved alone once: its bound, for the question floors."""
        m = self.matrices
        block = split(form, self.instance, m)
        if block is None:
            return
        blocks = Blocks(m, block)
        bounds = []
        for b in range(blocks.count):
            run = blocks.solve(b, block_options(self.session.options, self.time_limit))
            if run.bound is None or not math.isfinite(run.bound) or run.termination == "interrupted":
                return
            bounds.append(float(run.bound))
        if math.isfinite(blocks.rest_least):
            self.blocks, self.block_bound = blocks, bounds

    def answer(self, question: Question) -> Answer:
        if question.kind == "avoid":
            return self._avoid(question)
        if question.kind == "move":
            return self._move(question)
        if question.kind == "receive":
            return self._receive(question)
        raise ValueError(f"unknown question kind {question.kind!r}")

    # -- the three kinds ---------------------------------------------------------------
    def _avoid(self, q: Question) -> Answer:
        arc = self.arc_of[(q.facility, q.city)]
        others = [a for a in self.fac_arcs.get(q.facility, []) if a != arc]
        closed = self.x0 + self.arc_moves[arc]
        with self._column_closed(arc):
            first = self._run(self.fac_arcs[q.facility], self._block_floor(closed=closed), widen=True)
            answer = Answer(q, first)
            if not first.has_plan or not others or self._moves_elsewhere(first, q.facility):
                if not others:
                    answer.note = "no other eligible destination"
                return answer
            units = float(self.units[self._moves_of(self.fac_arcs[q.facility])].sum())
            row = self.assign_row[q.facility]
            with self._row_lower(row, units):
                # a restriction of the first run's problem: its bound holds here too
                block = self._block_floor(closed=closed, row=(row, units))
                by = "the block bounds" if block is not None and (first.bound is None or block >= first.bound) \
                    else "the plan's bound"  # the first run's bound, as the plan's, carries over
                answer.forced = self._run(self.fac_arcs[q.facility], _highest([first.bound, block]), widen=True,
                                          floor_by=by)
        return answer

    def _move(self, q: Question) -> Answer:
        arcs = self.fac_arcs.get(q.facility, [])
        if not arcs:
            return Answer(q, note="no eligible destination")
        moved = float(self.units[self._moves_of(arcs)].sum())
        count = float(self.col_upper[self.x0 + self.arc_moves[arcs[0]][0]])
        if moved >= count:
            return Answer(q, note="every unit moves already")
        row, lower = self.assign_row[q.facility], min(count, moved + 1.0)
        with self._row_lower(row, lower):
            return Answer(q, self._run(arcs, self._block_floor(row=(row, lower)), widen=True))

    def _receive(self, q: Question) -> Answer:
        row = self.receive_row.get((q.type, q.city))
        if row is None:
            return Answer(q, note="no eligible arc")
        with self._row_lower(row, 1.0):
            return Answer(q, self._run(np.flatnonzero(self.arc_type == q.type).tolist(), self._block_floor(receive=row)))

    # -- lower bounds from the blocks -----------------------------------------------------
    def _block_floor(self, *, closed: np.ndarray | None = None, row: tuple[int, float] | None = None,
                     receive: int | None = None) -> float | None:
        """A proven lower bound of the question's problem from the model's blocks (spatialopt.blocks), or None.

        Every plan's objective is at least the sum of the blocks' bounds (and the least the columns no
        block owns can cost). A question about one facility changes its block only (``closed`` move
        columns, its ``assign`` ``row`` with a new lower bound): that block solved again under the change
        replaces its bound. A city made to receive a type (the ``receive`` row, which several blocks may
        feed) gets a whole unit from at least one block (for a splittable type only when one block alone can
        send it: fractions could come from several): the least, over those blocks, of the sum with that
        block solved again made to send one.
        """
        if self.blocks is None:
            return None
        started = time.perf_counter()
        try:
            return self._block_floor_of(closed, row, receive)
        finally:
            self._floor_seconds += time.perf_counter() - started

    def _block_floor_of(self, closed: np.ndarray | None, row: tuple[int, float] | None,
                        receive: int | None) -> float | None:
        assert self.blocks is not None
        blocks, m = self.blocks, self.matrices
        total = sum(self.block_bound) + blocks.rest_least
        options = block_options(self.session.options, self.time_limit)
        if receive is not None:
            start, stop = int(m.a_start[receive]), int(m.a_start[receive + 1])
            cols, coefs = np.asarray(m.a_index[start:stop]), np.asarray(m.a_value[start:stop], float)
            feeding = blocks.block[cols]
            if np.unique(feeding).size > 1 and not np.asarray(m.integer, bool)[cols].all():
                return None  # fractions of a splittable type could come from several blocks, none sending one unit
            floors: list[tuple[float | None, int, Any]] = []
            for b in np.unique(feeding[feeding >= 0]):
                mine = feeding == b
                run = blocks.solve(int(b), options, at_least=(cols[mine], coefs[mine], 1.0))
                floors.append((self._replaced(total, int(b), run), int(b), run))
            if not floors or any(f is None for f, _, _ in floors):
                return None
            lowest = min(floors, key=lambda t: float(t[0]))  # type: ignore[arg-type]
            self._block_answer = (lowest[1], lowest[2])
            return lowest[0]
        subject = closed[0] if closed is not None and closed.size else None
        if subject is None and row is not None:
            start = int(m.a_start[row[0]])
            subject = int(m.a_index[start])
        if subject is None or blocks.block[subject] < 0:
            return None
        upper = None
        if closed is not None:
            upper = blocks.activity.upper.copy()
            upper[closed] = 0.0
        row_lower = None
        if row is not None:
            row_lower = np.array(m.row_lower, dtype=float)
            row_lower[row[0]] = row[1]
        b = int(blocks.block[subject])
        run = blocks.solve(b, options, upper=upper, row_lower=row_lower)
        self._block_answer = (b, run)
        return self._replaced(total, b, run)

    def _with_block_answer(self, completion: Plan, values: np.ndarray | None) -> tuple[Plan, np.ndarray | None]:
        """The completion with the subject's block replaced by that block's own answer, when that keeps
        every row and costs less (the plan's other blocks as the completion has them); else as it was."""
        from .status import SolverRun, SolveStatus

        if self.blocks is None or self._block_answer is None or values is None:
            return completion, values
        b, run = self._block_answer
        if not run.status.has_solution or "x" not in run.values:
            return completion, values
        m = self.matrices
        candidate = values.copy()
        candidate[self.blocks.columns[b]] = run.values["x"]
        problems, cost = as_plan(m, candidate, self.blocks.block < 0)
        if problems or (completion.objective is not None and cost >= completion.objective):
            return completion, values
        plan = self._plan(SolverRun(status=SolveStatus.FEASIBLE, objective=cost, bound=None,
                                    values={"x": candidate[m.x], "y": candidate[m.y], "u": candidate[m.u]}))
        plan.seconds = completion.seconds
        return plan, candidate

    def _replaced(self, total: float, b: int, run: Any) -> float | None:
        """``total`` with block ``b``'s bound replaced by ``run``'s (None if the run proved nothing)."""
        if run.termination == "interrupted" or run.bound is None or not math.isfinite(run.bound):
            return None
        return total - self.block_bound[b] + float(run.bound)

    # -- bounds, runs ---------------------------------------------------------------------
    def _moves_elsewhere(self, plan: Plan, facility: str) -> bool:
        mine = set(self.fac_arcs.get(facility, []))
        return any(a in mine for a in plan.arcs)

    def _moves_of(self, arcs: Sequence[int]) -> np.ndarray:
        """The move columns (positions within x) of ``arcs``: one per arc and period of its window."""
        if not len(arcs):
            return np.zeros(0, np.int64)
        return np.concatenate([self.arc_moves[a] for a in arcs]).astype(np.int64)

    def _column_closed(self, arc: int) -> _Restore:
        """The arc closed in every period (each of its move columns gets upper bound 0)."""
        h = self.session.highs
        cols = (self.x0 + self.arc_moves[arc]).astype(np.int32)
        zeros = np.zeros(cols.size)
        upper = np.ascontiguousarray(self.col_upper[cols], dtype=np.float64)

        def close() -> None:
            h.changeColsBounds(cols.size, cols, zeros, zeros)

        def reopen() -> None:
            h.changeColsBounds(cols.size, cols, zeros, upper)

        return _Restore(close, reopen)

    def _row_lower(self, row: int, lower: float) -> _Restore:
        original = (float(self.row_lower[row]), float(self.row_upper[row]))
        return _Restore(lambda: self.session.set_row_bounds([row], lower, original[1]),
                        lambda: self.session.set_row_bounds([row], *original))

    def _run(self, free: Sequence[int], floor: float | None = None, widen: bool = False,
             floor_by: str = "the block bounds") -> Plan:
        """Re-solve: the plan's completion (see the module docstring), then, unless it is proved, a full run from it.

        ``floor`` is a proven lower bound of this run's problem besides the plan's (the higher one counts),
        ``floor_by`` what it comes from (the block bounds unless said otherwise: the termination names it).
        ``widen``: when that completion is not proved, a second one also frees every facility of the
        subject's origin (they share its target); the better of the two starts the full run.
        """
        known = [b for b in (self.floor, floor) if b is not None and math.isfinite(b)]
        self._floor_by = floor_by if floor is not None and (self.floor is None or floor > self.floor) \
            else "the plan's bound"
        completion, values = self._with_block_answer(*self._complete(free))
        completion.seconds += self._floor_seconds  # the subject's block solved under the question
        self._block_answer, self._floor_seconds = None, 0.0
        spent = completion.seconds
        if completion.has_plan and known and self._proved(completion, max(known)):
            return completion
        if widen and not self.session.interrupted:
            wider, wider_values = self._complete(self._with_origin_siblings(free))
            spent += wider.seconds
            if wider.has_plan and (not completion.has_plan or _cheaper(wider, completion)):
                completion, values = wider, wider_values
                completion.seconds = spent
                if known and self._proved(completion, max(known)):
                    return completion
        if values is not None:
            self.session.set_start(values)
        with self._time_limit(max(1.0, self.time_limit - spent)), self._full_run_options(values is not None, known):
            plan = self._plan(self.session.run())
        plan.seconds += spent
        if plan.status == "feasible" and plan.gap is not None and plan.gap <= self.gap:
            # stopped at a limit (a solution count, the target) just as its own bound closed the gap
            plan.status, plan.termination = "optimal", f"{plan.termination}; proved by its own bound"
        if plan.has_plan and plan.status != "optimal" and known and plan.objective is not None:
            # stopped at a limit: the floor may prove it after all, or at least narrow the range
            stopped = plan.termination
            if self._proved(plan, max(known)):
                plan.screened, plan.termination = False, f"{stopped}; proved by {self._floor_by}"
            elif plan.bound is None or plan.bound < max(known):
                plan.bound = min(max(known), plan.objective)
                plan.gap = (plan.objective - plan.bound) / max(abs(plan.objective), GAP_DENOMINATOR_FLOOR)
        return plan

    def _with_origin_siblings(self, free: Sequence[int]) -> list[int]:
        """``free`` and every arc of a facility that leaves the same origin as one of ``free``'s facilities."""
        origins = np.unique(self.arc_origin[np.asarray(free, dtype=np.int64)])
        return np.flatnonzero(np.isin(self.arc_origin, origins)).tolist()

    def _full_run_options(self, started: bool, known: list[float]) -> _Restore:
        """HiGHS options for one full run (each keeps an option the caller set).

        ``objective_target``: HiGHS stops at a plan the known lower bound
        already proves optimal within the gap (``_proved`` then says so).
        With a start (``started``), HiGHS's sub-MIP heuristics (RINS, RENS,
        root reduced cost) are off: the start is the plan with one question's
        change, near the answer as a rule, and on china-2035 the sub-MIPs
        took half of each run (docs/explain.md).
        """
        chosen: dict[str, Any] = {}
        if known:
            floor = max(known)
            # (objective - floor) / |objective| <= gap for every objective below this target
            chosen["objective_target"] = floor + self.gap / (1.0 + self.gap) * max(abs(floor), GAP_DENOMINATOR_FLOOR)
        if started:
            chosen.update(dict.fromkeys(SUB_MIP_HEURISTICS, False))
        chosen = {k: v for k, v in chosen.items() if k not in self.session.options}
        h = self.session.highs
        before = {k: _option(h, k) for k in chosen}

        def apply(values: dict[str, Any]) -> None:
            for k, v in values.items():
                h.setOptionValue(k, v)

        return _Restore(lambda: apply(chosen), lambda: apply(before))

    def _complete(self, free: Sequence[int]) -> tuple[Plan, np.ndarray | None]:
        """The best plan keeping the plan's whole-unit moves except on arcs ``free``, and its column values.

        Those moves are fixed by their column bounds for this one run (the
        same small MIP HiGHS solves for a partial start, with the same node
        limit); its bound is only the restricted problem's, so it is not kept.
        """
        keep = np.ones(self.units.size, dtype=bool)
        keep[self._moves_of(free)] = False
        arcs = np.flatnonzero(keep & self.x_integer)
        cols = (self.x0 + arcs).astype(np.int32)
        fixed = np.round(self.units[arcs])
        h = self.session.highs
        h.changeColsBounds(cols.size, cols, fixed, fixed)
        nodes = int(_option(h, "mip_max_nodes"))
        h.setOptionValue("mip_max_nodes", min(nodes, COMPLETION_NODES))
        try:
            run = self.session.run()
            values = np.array(h.getSolution().col_value, dtype=float) if run.status.has_solution else None
        finally:
            h.setOptionValue("mip_max_nodes", nodes)
            h.changeColsBounds(cols.size, cols, np.ascontiguousarray(self.col_lower[cols], dtype=np.float64),
                               np.ascontiguousarray(self.col_upper[cols], dtype=np.float64))
        plan = self._plan(run)
        plan.bound, plan.gap = None, None
        if plan.status == "optimal":
            plan.status = "feasible"  # optimal for the restricted problem only
        return plan, values

    def _proved(self, plan: Plan, floor: float) -> bool:
        """True when ``floor`` (a proven lower bound) proves ``plan`` optimal within the gap (then marked so)."""
        if plan.objective is None:
            return False
        gap = max(0.0, plan.objective - floor) / max(abs(plan.objective), GAP_DENOMINATOR_FLOOR)
        if gap > self.gap:
            return False
        plan.status, plan.bound, plan.gap, plan.screened = "optimal", min(floor, plan.objective), gap, True
        plan.termination = f"proved by {self._floor_by}"
        return True

    def _time_limit(self, seconds: float) -> _Restore:
        h = self.session.highs
        return _Restore(lambda: h.setOptionValue("time_limit", float(seconds)),
                        lambda: h.setOptionValue("time_limit", self.time_limit))

    def _plan(self, run: Any) -> Plan:
        from .results import extract_plan

        result = extract_plan(self.instance, self.derived, run)
        plan = Plan(result.status.value, result.objective, result.bound, result.gap, run.seconds,
                    termination=run.termination)
        if result.status.has_solution:
            used = np.flatnonzero(result.units > 0)
            plan.arcs, plan.units = used.tolist(), result.units[used].tolist()
            if result.move_units is not None:
                moved = np.flatnonzero(result.move_units > 0)
                plan.moves = list(zip(self.move_arc[moved].tolist(), self.move_period[moved].tolist(),
                                      result.move_units[moved].tolist()))
            else:
                plan.moves = [(a, 0, u) for a, u in zip(plan.arcs, plan.units)]
            plan.opened = np.flatnonzero(result.opened).tolist()
            if result.site_period is not None:
                plan.opened_periods = np.asarray(result.site_period)[plan.opened].tolist()
        return plan


def _highest(bounds: Sequence[float | None]) -> float | None:
    known = [b for b in bounds if b is not None and math.isfinite(b)]
    return max(known) if known else None


def _option(h: Any, name: str) -> Any:
    value = h.getOptionValue(name)
    return value[1] if isinstance(value, tuple) else value  # highspy gives (status, value)


def _cheaper(a: Plan, b: Plan) -> bool:
    return a.objective is not None and (b.objective is None or a.objective < b.objective)


class _Restore:
    """A bound change for the duration of a ``with`` block."""

    def __init__(self, apply: Callable[[], None], undo: Callable[[], None]) -> None:
        self._apply, self._undo = apply, undo

    def __enter__(self) -> None:
        self._apply()

    def __exit__(self, *exc: object) -> None:
        self._undo()


def _arcs_by_facility(derived: Derived) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    ids = derived.facility_ids
    for arc, f in enumerate(derived.arc_f.tolist()):
        out.setdefault(ids[f], []).append(arc)
    return out


def _add_receive_rows(form: Formulation, derived: Derived, instance: Instance,
                      pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """One free row per (type, city) pair with an eligible arc: units of the type received there.

    Returns each pair's row within the family (pairs without an eligible arc have none).
    """
    if not pairs:
        return {}
    fac_type = instance.facilities["type"].to_numpy(dtype=object)[derived.arc_f]
    city = np.asarray(derived.city_ids, dtype=object)[derived.arc_d]
    rows, cols = [], []
    keys: list[tuple[str, str]] = []
    for k, c in pairs:
        arcs = np.flatnonzero((fac_type == k) & (city == c))
        if arcs.size:
            moves = form.arc_columns(arcs)  # the arcs' moves in every period
            rows.append(np.full(moves.size, len(keys), np.int64))
            cols.append(form.column("x").start + moves)
            keys.append((k, c))
    if not keys:
        return {}
    n = len(keys)
    row = np.concatenate(rows)
    form.add_rows(RowBlock(RECEIVE_FAMILY, row, np.concatenate(cols), np.ones(row.size), np.full(n, -np.inf),
                           np.full(n, np.inf), lambda: list(keys)))
    return {key: i for i, key in enumerate(keys)}


def answer_questions(instance: Instance, units: np.ndarray, opened: np.ndarray,
                     receive_pairs: Sequence[tuple[str, str]], questions: Sequence[Question],
                     options: Mapping[str, Any], on_answer: Callable[[Answer], None] | None = None,
                     floor: float | None = None, strengthen: Strengthening = DEFAULT) -> list[Answer]:
    """Answer ``questions`` on one model of ``instance`` (see :class:`Counterfactuals`), in order.

    ``on_answer`` is called after each (the progress line of a run in this process); ``floor`` is the
    plan's proven bound (None: no answer is proved by it); ``strengthen`` the model's strengthenings (those
    valid under every question: :func:`question_strengthening`).
    """
    started = time.perf_counter()
    engine = Counterfactuals(instance, units, opened, receive_pairs, options, floor=floor, strengthen=strengthen)
    build_seconds = time.perf_counter() - started
    out = []
    with engine.session:  # a Ctrl-C from here on stops the run it comes in (or the next) and ends the loop
        for q in questions:
            answer = engine.answer(q)
            out.append(answer)
            if on_answer is not None:
                on_answer(answer)
            if engine.session.interrupted:
                break
    if out and out[0].first is not None:
        out[0].first.seconds += build_seconds  # the model's build is part of the first answer's time
    return out
