"""A solve that keeps its time limit and Ctrl-C whatever HiGHS is doing: HiGHS in a child process.

Why a child process
-------------------
HiGHS looks at its clock and its interrupt callbacks during the search, not
in every stage before it. Measured on the seeded 3,000-facility x 400-city
instance in three plan periods (``bench/scale_instance.py``, 3.6M columns,
19.9M nonzeros), ``time_limit = 1``, one thread, on the shared 2-core machine:
``passModel`` 1.6 s, then ``run`` returned after 6.6 s (4.4 s of presolve and
1.6 s of MIP set-up that poll nothing); under heavier load from other jobs
the same ``spatialopt solve --time-limit 1`` spent 29.8 s from handoff to
answer (55.8 s end to end). With presolve off ``run`` still took 6.3 s (the
MIP solver's own set-up), so a presolve budget cannot keep the promise; ``cancelSolve`` and the interrupt callbacks are polled at the same
places as the clock, so a watchdog thread cannot either. The same model
without periods (1.2M columns, 5.0M nonzeros) overran a 1 s limit by 0.85 s.
A separate process can be stopped at any instant.

How
---
The child is forked, so it sees the parent's arrays without copying them; it
hands the model to HiGHS (``passModel``) and runs it, giving HiGHS what is
left of the time limit after the handoff. Each better plan HiGHS finds is
copied into one of two slots of shared memory, then announced on a pipe
(the slot being written is never the last one announced); the outcome comes
back on the pipe. The parent waits at most ``time_limit + GRACE_SECONDS``
from the start of the handoff; Ctrl-C in the parent asks the child to stop
(``SIGUSR1``: HiGHS stops at its next poll) and waits ``GRACE_SECONDS`` more.
A child still running then is killed, and the answer is the last plan
announced: status ``feasible`` (``limit_no_solution`` without one),
termination ``maxTimeLimit`` or ``interrupted``, with the bound HiGHS
reported with that plan. The plan is verified like any other.

When
----
Only for models of at least :data:`CHILD_NONZEROS` nonzeros
(:func:`wants_child`), where the measured unpolled stages approach a
second; smaller ones run in-process (no fork, no copies), where HiGHS polls
often enough. Only where ``fork`` exists (Linux, macOS): elsewhere every
solve runs in-process.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .errors import SolverError
from .root_pass import cheaper, proved_run, root_pass, stopped_run
from .session import (
    Columns,
    HighsSession,
    Progress,
    SolveInterrupt,
    StartPlan,
    _column_values,
    highs_version,
    pinned_options,
)
from .status import SolverRun, map_highs_status

#: Models from this many nonzeros solve in a child process: measured above, the
#: unpolled stages take about 0.2-0.3 s per million nonzeros.
CHILD_NONZEROS = 1_000_000
#: How long the parent waits past the limit (or a Ctrl-C) before it stops the child.
GRACE_SECONDS = 1.0
_POLL_SECONDS = 0.05


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def wants_child(matrices: Any) -> bool:
    """True when ``matrices`` is large enough for HiGHS to overrun a limit unseen (see the module docstring)."""
    return int(matrices.n_nonzeros) >= CHILD_NONZEROS and fork_available()


class _PlanSlots:
    """Two plans' column values in memory shared with the child: written there, announced, read after.

    After them, one more number: the best bound HiGHS has reported so far (it
    moves between plans; an aligned 8-byte store is read whole).
    """

    def __init__(self, n_cols: int) -> None:
        self.n_cols = n_cols
        self._memory = mmap.mmap(-1, (2 * n_cols + 1) * 8)  # anonymous and shared across fork
        self._bound = np.frombuffer(self._memory, dtype=np.float64, count=1, offset=2 * n_cols * 8)
        self._bound[0] = -math.inf
        self._written = 0

    def write(self, values: np.ndarray) -> int:
        """Copy ``values`` into the slot not announced last; returns that slot."""
        slot = self._written % 2
        self._view(slot)[:] = values[: self.n_cols]
        self._written += 1
        return slot

    def read(self, slot: int) -> np.ndarray:
        return self._view(slot).copy()

    def note_bound(self, event: Any) -> None:
        """HiGHS's interrupt poll: keep its current bound (the poll's other callbacks decide about stopping)."""
        self._bound[0] = float(event.data_out.mip_dual_bound)

    @property
    def bound(self) -> float:
        return float(self._bound[0])

    def _view(self, slot: int) -> np.ndarray:
        return np.frombuffer(self._memory, dtype=np.float64, count=self.n_cols, offset=slot * self.n_cols * 8)

    def close(self) -> None:
        del self._bound
        with contextlib.suppress(BufferError):  # a view still alive: freed with it
            self._memory.close()


def _stats(event: Any) -> dict[str, float]:
    out = event.data_out
    return {"objective": float(out.objective_function_value), "bound": float(out.mip_dual_bound),
            "gap": float(out.mip_gap), "seconds": float(out.running_time)}


def _child_main(matrices: Any, options: dict[str, Any], verbose: bool, slots: _PlanSlots, conn: Any,
                started: float, start: StartPlan | None = None, root: bool = False) -> None:
    """The child: the root pass if asked, then hand the model over, run HiGHS, announce plans, send the outcome
    (or the error)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and passes it on as SIGUSR1
    asked: list[HighsSession | None] = [None]  # the session once there is one; a stop asked before it waits here

    def on_stop(signum: int, frame: Any) -> None:
        session = asked[0]
        if session is not None:
            session.stop()
        asked.append(None)

    def register(session: HighsSession) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the session's handler would take it back
        asked[0] = session
        if len(asked) > 1:
            session.stop()

    def announce_start(values: np.ndarray, stats: dict[str, float]) -> None:
        conn.send(("plan", slots.write(np.asarray(values, dtype=np.float64)), stats))

    signal.signal(signal.SIGUSR1, on_stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})  # blocked by the parent until now
    try:
        report = None
        if root:
            matrices, start, report = root_pass(matrices, start, options, guide=True, fix=True, on_plan=announce_start,
                                                on_session=register)
            if report.interrupted:
                run = stopped_run(matrices, start, report, pinned_options(options), highs_version())
                conn.send(("done", replace(run, root_seconds=report.seconds)))
                return
            if start is not None and report.proves(start, options):  # no search needed
                run = proved_run(matrices, start, report, pinned_options(options), highs_version())
                conn.send(("done", replace(run, root_seconds=report.seconds)))
                return
        handed = start if report is None else report.search_start(start)
        if report is not None:
            options = report.search_heuristics(options, start)
        session = HighsSession(matrices, options, verbose=verbose)
        if handed is not None:
            session.set_start(handed[0])
        asked[0] = session
        if len(asked) > 1:
            session.stop()
        elapsed = time.monotonic() - started
        handoff = elapsed - (report.seconds if report is not None else 0.0)
        limit = options.get("time_limit")
        if limit is not None:  # the limit counts from the start of the handoff (the root pass's included)
            session.highs.setOptionValue("time_limit", max(float(limit) - elapsed, 1e-3))
        conn.send(("running", handoff, None if report is None else report.seconds))

        # After the root pass the search does not know the start's cost: announce only what beats it.
        best = [math.inf if start is None or report is None else float(start[1])]

        def announce(event: Any) -> None:
            stats = _stats(event)
            if cheaper(stats["objective"], best[0]):
                best[0] = stats["objective"]
                conn.send(("plan", slots.write(np.asarray(event.data_out.mip_solution)), stats))

        session.highs.cbMipImprovingSolution += announce
        session.highs.cbMipInterrupt += slots.note_bound
        with session:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the session's handler would take it back
            run = session.run()
        if report is not None:
            run = replace(report.settled(run, matrices, start, options), root_seconds=report.seconds)
        conn.send(("done", replace(run, options=pinned_options(options), handoff_seconds=handoff)))
    except BaseException as exc:  # whatever it is, the parent reports it
        with contextlib.suppress(OSError):
            conn.send(("error", str(exc) or type(exc).__name__))
    finally:
        conn.close()


class ChildSolve:
    """One HiGHS run of a model in a forked child, seen from the parent: its plans, its outcome, its stop.

    Started at once. :meth:`read` takes the child's next message (a plan is
    passed on to ``progress``); :meth:`ask_to_stop` is Ctrl-C for the child;
    :meth:`answer` is the outcome, or, for a child stopped from outside, its
    last announced plan. :meth:`close` kills whatever still runs.
    """

    def __init__(self, matrices: Any, options: Mapping[str, Any], *, verbose: bool = False,
                 progress: Progress | None = None, start: StartPlan | None = None, root: bool = False) -> None:
        context = multiprocessing.get_context("fork")
        self.options = dict(options)
        self.columns: Columns = {"x": matrices.x, "y": matrices.y, "u": matrices.u}
        self.progress = progress
        self.slots = _PlanSlots(int(matrices.n_cols))
        self.connection, send = context.Pipe(duplex=False)
        self.started = time.monotonic()
        self.handoff = 0.0
        self.root_seconds: float | None = None  # the root pass's, once the child says its search is running
        self.plan: tuple[int, dict[str, float]] | None = None
        self.outcome: SolverRun | None = None
        self.finished_at = math.inf  # when the outcome came
        self.ended = False  # the pipe is closed: nothing more will come
        self._killed = False
        if start is not None:  # the starting plan is the answer until the child announces a better one
            self.plan = (self.slots.write(np.asarray(start[0], dtype=np.float64)),
                         {"objective": float(start[1]), "bound": -math.inf, "gap": math.nan, "seconds": 0.0})
        self._process = context.Process(target=_child_main, daemon=True,
                                        args=(matrices, self.options, verbose, self.slots, send, self.started,
                                              start, root))
        # A stop asked before the child's handler is in place must wait for it, not kill it (SIGUSR1's default).
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        try:
            self._process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        send.close()

    @property
    def settled(self) -> bool:
        return self.outcome is not None or self.ended

    def read(self) -> None:
        """Take the child's next message (it must have one, or have ended)."""
        try:
            self._take(self.connection.recv())
        except (EOFError, OSError, pickle.UnpicklingError):  # a message cut short by a kill ends it too
            self.ended = True
            self._process.join()

    def _take(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "running":
            self.handoff, self.root_seconds = float(message[1]), message[2]
        elif kind == "plan":
            self.plan = (int(message[1]), message[2])
            if self.progress is not None:
                self.progress(dict(message[2]))
        elif kind == "done":
            self.outcome = message[1]
            self.finished_at = time.monotonic()
        elif kind == "error":
            raise SolverError(f"HiGHS failed: {message[1]}")

    def ask_to_stop(self) -> None:
        if self._process.is_alive():
            os.kill(self._process.pid, signal.SIGUSR1)  # type: ignore[arg-type]

    def stop_now(self) -> None:
        """Kill the child, then read what it announced before it died."""
        if not self.ended:
            self._killed = True
            self._process.kill()
            self._process.join()
            while not self.ended and self.connection.poll(0):
                self.read()
            self.ended = True

    def answer(self, interrupted: bool) -> SolverRun:
        """The outcome; for a child stopped from outside its last plan (module docstring); an error for a crash."""
        if self.outcome is None:
            self.stop_now()
        if self.outcome is not None:
            return self.outcome
        if not self._killed:  # it ended by itself without an outcome: it crashed
            if self.plan is None:
                raise SolverError(f"HiGHS stopped unexpectedly (exit code {self._process.exitcode})")
            return replace(self.last_plan_run(False), termination="error")
        return self.last_plan_run(interrupted)

    def last_plan_run(self, interrupted: bool) -> SolverRun:
        """The answer of a child stopped from outside: its last announced plan, if any."""
        model_status = "kInterrupt" if interrupted else "kTimeLimit"
        status, termination = map_highs_status(model_status, self.plan is not None, interrupted)
        values: dict[str, np.ndarray] = {}
        objective = bound = None
        if self.plan is not None:
            slot, stats = self.plan
            col = self.slots.read(slot)
            values = {name: _column_values(col, where) for name, where in self.columns.items()}
            objective = stats["objective"]
            best = max(stats["bound"], self.slots.bound)  # bounds only rise; the latest may be past the plan's
            bound = min(best, objective) if math.isfinite(best) else None
        seconds = time.monotonic() - self.started - self.handoff - (self.root_seconds or 0.0)
        return SolverRun(status=status, objective=objective, bound=bound, values=values, seconds=seconds,
                         version=highs_version(), options=pinned_options(self.options), termination=termination,
                         handoff_seconds=self.handoff, root_seconds=self.root_seconds)

    def close(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self.connection.close()
        self.slots.close()


def watch(children: Sequence[ChildSolve], time_limit: float | None, ctrl_c: SolveInterrupt,
          done: Callable[[], bool]) -> None:
    """Read the children's messages until ``done()``, all have ended, or the limit + grace has passed.

    A Ctrl-C (``ctrl_c.requested``) asks every child to stop and leaves them
    :data:`GRACE_SECONDS` more. Children still running afterwards are the
    caller's to stop (:meth:`ChildSolve.answer`).
    """
    started = min(child.started for child in children)
    deadline = started + time_limit + GRACE_SECONDS if time_limit is not None else math.inf
    asked = False
    by_connection = {child.connection: child for child in children}
    while not done():
        if ctrl_c.requested and not asked:
            for child in children:
                child.ask_to_stop()
            asked = True
            deadline = min(deadline, time.monotonic() + GRACE_SECONDS)
        left = deadline - time.monotonic()
        live = [child.connection for child in children if not child.ended]
        if left <= 0 or not live:
            return
        for connection in multiprocessing.connection.wait(live, timeout=min(left, _POLL_SECONDS)):
            by_connection[connection].read()  # type: ignore[index]


def run_in_child(matrices: Any, options: Mapping[str, Any], *, verbose: bool = False,
                 progress: Progress | None = None, start: StartPlan | None = None, root: bool = False) -> SolverRun:
    """Solve a :class:`~spatialopt.matrix.MatrixModel` in a child process, back within the limit + grace.

    The same :class:`SolverRun` as :meth:`HighsSession.run`; when the child had
    to be stopped from outside, its last announced plan (module docstring).
    ``progress`` is called in this process with each better plan. ``root``
    runs :func:`spatialopt.root_pass.root_pass` in the child before the
    search (the limit counts it).
    """
    limit = pinned_options(options).get("time_limit")
    with SolveInterrupt() as ctrl_c:
        child = ChildSolve(matrices, options, verbose=verbose, progress=progress, start=start, root=root)
        try:
            watch([child], limit, ctrl_c, lambda: child.settled)
            return child.answer(ctrl_c.requested)
        finally:
            child.close()
