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
import os
import pickle
import signal
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from .errors import SolverError
from .session import Columns, HighsSession, Progress, SolveInterrupt, _column_values, highs_version, pinned_options
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
                started: float) -> None:
    """The child: hand the model over, run HiGHS, announce plans, send the outcome (or the error)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and passes it on as SIGUSR1
    try:
        session = HighsSession(matrices, options, verbose=verbose)
        signal.signal(signal.SIGUSR1, lambda signum, frame: session.stop())
        handoff = time.monotonic() - started
        limit = options.get("time_limit")
        if limit is not None:  # the limit counts from the start of the handoff
            session.highs.setOptionValue("time_limit", max(float(limit) - handoff, 1e-3))
        conn.send(("running", handoff))

        def announce(event: Any) -> None:
            conn.send(("plan", slots.write(np.asarray(event.data_out.mip_solution)), _stats(event)))

        session.highs.cbMipImprovingSolution += announce
        session.highs.cbMipInterrupt += slots.note_bound
        with session:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the session's handler would take it back
            run = session.run()
        conn.send(("done", replace(run, options=pinned_options(options), handoff_seconds=handoff)))
    except BaseException as exc:  # whatever it is, the parent reports it
        with contextlib.suppress(OSError):
            conn.send(("error", str(exc) or type(exc).__name__))
    finally:
        conn.close()


class _Watch:
    """The parent's view of one child: its announcements, the last plan, whether it was asked to stop."""

    def __init__(self, slots: _PlanSlots, columns: Columns, options: Mapping[str, Any], progress: Progress | None,
                 started: float) -> None:
        self.slots, self.columns, self.options, self.progress = slots, columns, options, progress
        self.started = started
        self.handoff = 0.0
        self.plan: tuple[int, dict[str, float]] | None = None
        self.outcome: SolverRun | None = None

    def take(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "running":
            self.handoff = float(message[1])
        elif kind == "plan":
            self.plan = (int(message[1]), message[2])
            if self.progress is not None:
                self.progress(dict(message[2]))
        elif kind == "done":
            self.outcome = message[1]
        elif kind == "error":
            raise SolverError(f"HiGHS failed: {message[1]}")

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
        seconds = time.monotonic() - self.started - self.handoff
        return SolverRun(status=status, objective=objective, bound=bound, values=values, seconds=seconds,
                         version=highs_version(), options=pinned_options(self.options), termination=termination,
                         handoff_seconds=self.handoff)


def _drain(conn: Any, watch: _Watch) -> None:
    """Read what a stopped child announced before it stopped (a message cut short ends the reading)."""
    try:
        while conn.poll(0):
            watch.take(conn.recv())
    except (EOFError, OSError, pickle.UnpicklingError):
        pass


def run_in_child(matrices: Any, options: Mapping[str, Any], *, verbose: bool = False,
                 progress: Progress | None = None) -> SolverRun:
    """Solve a :class:`~spatialopt.matrix.MatrixModel` in a child process, back within the limit + grace.

    The same :class:`SolverRun` as :meth:`HighsSession.run`; when the child had
    to be stopped from outside, its last announced plan (module docstring).
    ``progress`` is called in this process with each better plan.
    """
    chosen = pinned_options(options)
    limit = chosen.get("time_limit")
    context = multiprocessing.get_context("fork")
    slots = _PlanSlots(int(matrices.n_cols))
    receive, send = context.Pipe(duplex=False)
    started = time.monotonic()
    watch = _Watch(slots, {"x": matrices.x, "y": matrices.y, "u": matrices.u}, options, progress, started)
    child = context.Process(target=_child_main, args=(matrices, dict(options), verbose, slots, send, started),
                            daemon=True)
    deadline = started + float(limit) + GRACE_SECONDS if limit is not None else math.inf
    with SolveInterrupt() as ctrl_c:
        child.start()
        send.close()
        try:
            asked = False
            while watch.outcome is None:
                if ctrl_c.requested and not asked:
                    os.kill(child.pid, signal.SIGUSR1)  # type: ignore[arg-type]
                    asked = True
                    deadline = min(deadline, time.monotonic() + GRACE_SECONDS)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if receive.poll(min(left, _POLL_SECONDS)):
                    try:
                        watch.take(receive.recv())
                    except EOFError:
                        child.join()
                        if watch.plan is None:
                            raise SolverError(f"HiGHS stopped unexpectedly (exit code {child.exitcode})") from None
                        return replace(watch.last_plan_run(False), termination="error")
            if watch.outcome is None:
                child.kill()
                child.join()
                _drain(receive, watch)
            return watch.outcome if watch.outcome is not None else watch.last_plan_run(ctrl_c.requested)
        finally:
            if child.is_alive():
                child.kill()
            child.join()
            receive.close()
            slots.close()
