"""Running independent tasks: in this process, on a local process pool or on a Dask cluster.

Sweeps and fronts hand :func:`run_tasks` a module-level function and its
arguments per task. Arguments travel to workers pickled (instances are
frozen dataclasses of DataFrames), so workers need no access to the instance
files. Every task solves with ``threads=1`` unless told otherwise
(:func:`task_options`): tasks run side by side, and one thread each keeps
HiGHS from oversubscribing the cores and the runs reproducible whatever runs
them.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import SpatialoptError


def default_workers() -> int:
    """Worker processes by default: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def task_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """HiGHS options for one task of a sweep or a front: ``threads = 1`` unless set."""
    from ..api import solver_options
    from ..profiles import require_allowed_options

    require_allowed_options(options, "options")
    chosen = dict(solver_options() if options is None else options)
    chosen.setdefault("threads", 1)
    return chosen


#: Dask transports that need no configuration beyond an address (tls, wss
#: need certificates, ucx a native library, inproc the same process).
SCHEDULER_SCHEMES = ("tcp", "ws")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


def scheduler_address(text: str) -> str:
    """``text`` if it is a Dask scheduler address (``tcp://HOST:PORT``, ``HOST:PORT``, ``ws://HOST:PORT``).

    Raises ValueError otherwise, before anything runs: Dask's client, given
    an address it cannot use, fails only after its connection timeout and
    leaves threads that stall the process for 20 s at exit.
    """
    expected = f"expected SCHEME://HOST:PORT with SCHEME {' or '.join(SCHEDULER_SCHEMES)} (or HOST:PORT for tcp)"
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    if scheme not in SCHEDULER_SCHEMES:
        raise ValueError(f"scheduler address {text!r}: unsupported scheme {scheme!r}; {expected}")
    host, colon, port = rest.rpartition(":")
    if not colon or not _HOST.fullmatch(host) or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"scheduler address {text!r}: {expected}, PORT in 1-65535")
    return text


_stop = {"requested": False}  # in a pool worker: a Ctrl-C (forwarded by the parent) came


def _worker_setup() -> None:
    """A pool worker: its own process group, and a Ctrl-C between solves only noted (:func:`stop_requested`).

    In its own group the worker does not get the terminal's Ctrl-C: the parent
    forwards exactly one (a second one would break off a solve instead of
    stopping it cleanly). During a solve, the session's handler stops HiGHS
    cleanly and keeps its plan.
    """
    import signal

    os.setpgrp()
    signal.signal(signal.SIGINT, _note_sigint)


def _note_sigint(signum: int, frame: Any) -> None:
    _stop["requested"] = True


def stop_requested() -> bool:
    """True in a pool worker once the parent forwarded a Ctrl-C: start no further solve."""
    return _stop["requested"]


def run_tasks(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *, workers: int | None = None,
              scheduler: str | None = None,
              on_done: Callable[[int, Any, BaseException | None], bool | None] | None = None,
              ) -> list[tuple[Any, BaseException | None]]:
    """Run ``fn(*task)`` for every task: in this process, on a process pool or on a Dask cluster.

    Returns ``(value, exception)`` per task, in task order; ``on_done(index,
    value, exception)`` is called as each finishes and may return True to
    start no further task. ``workers=1`` (or a single task) runs here; more use
    a ``spawn`` process pool (a fork would copy HiGHS's thread pool in a
    broken state) fed one task per free worker, so that nothing waits in a
    queue where it could no longer be cancelled; ``scheduler`` sends the tasks
    to the Dask scheduler at that address. A first Ctrl-C starts no further
    task, forwards the Ctrl-C to the running ones, which stop with their best
    plan (the session's handler), and waits for them; a second one ends the
    workers at once and raises KeyboardInterrupt. Tasks never started are
    reported with a KeyboardInterrupt. No worker outlives the call.
    """
    out: list[tuple[Any, BaseException | None]] = [(None, None)] * len(tasks)
    state = {"stop": False}

    def finish(i: int, value: Any, exc: BaseException | None) -> None:
        out[i] = (value, exc)
        if on_done is not None and on_done(i, value, exc):
            state["stop"] = True

    if scheduler:
        scheduler_address(scheduler)
        _run_on_dask(fn, tasks, scheduler, finish)
        return out
    workers = default_workers() if workers is None else workers
    waiting = list(enumerate(tasks))
    if workers <= 1 or len(tasks) <= 1:
        while waiting and not state["stop"]:
            i, task = waiting.pop(0)
            try:
                value = fn(*task)
            except Exception as exc:
                finish(i, None, exc)
                continue
            finish(i, value, None)
    else:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        size = min(workers, len(tasks))
        pool = ProcessPoolExecutor(max_workers=size, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_setup)
        pending: dict[Any, int] = {}
        interrupted = False
        try:
            while waiting or pending:
                try:
                    while waiting and len(pending) < size and not state["stop"]:
                        i, task = waiting.pop(0)
                        pending[pool.submit(fn, *task)] = i
                    if not pending:
                        break
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        i = pending.pop(future)
                        if future.exception() is not None:
                            finish(i, None, future.exception())
                        else:
                            finish(i, future.result(), None)
                except KeyboardInterrupt:
                    if interrupted:
                        raise
                    interrupted = state["stop"] = True
                    _signal_workers(pool, "SIGINT")
        except BaseException:
            _signal_workers(pool, "SIGKILL")  # a second Ctrl-C or a failure here: no worker may outlive us
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    for i, _task in waiting:
        finish(i, None, KeyboardInterrupt("interrupted before it started"))
    return out


def _signal_workers(pool: Any, name: str) -> None:
    """Send signal ``name`` to every live worker process of ``pool`` (the ones this call started)."""
    import signal

    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive() and process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, getattr(signal, name))


DASK_CONNECT_TIMEOUT = "10s"  # how long to wait for the scheduler before giving up


def _run_on_dask(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], address: str,
                 finish: Callable[[int, Any, BaseException | None], None]) -> None:
    """Submit every task to the Dask scheduler at ``address``; report each as it completes.

    The client is never made the process's default client (a notebook's own
    client stays untouched): completion is signalled through future callbacks.
    """
    import queue

    try:
        from distributed import Client
    except ImportError as exc:
        raise SpatialoptError(f"--scheduler needs Dask distributed ({exc}); install it with: pip install 'spatialopt[dask]'") from exc
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SpatialoptError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    with client:
        completed: queue.Queue[int] = queue.Queue()
        futures = [client.submit(fn, *task, pure=False) for task in tasks]
        for i, future in enumerate(futures):
            future.add_done_callback(lambda _f, i=i: completed.put(i))
        reported: set[int] = set()
        try:
            for _ in futures:
                while True:
                    try:
                        i = completed.get(timeout=0.2)  # a timeout keeps Ctrl-C responsive
                        break
                    except queue.Empty:
                        continue
                future = futures[i]
                reported.add(i)
                if future.status == "error":
                    finish(i, None, future.exception())
                elif future.status == "cancelled":
                    finish(i, None, KeyboardInterrupt("cancelled"))
                else:
                    finish(i, future.result(), None)
        except KeyboardInterrupt:
            # Dask cannot stop a running task: every unfinished one is cancelled
            # (its result dropped) and reported as interrupted.
            client.cancel([f for i, f in enumerate(futures) if i not in reported])
            for i in range(len(futures)):
                if i not in reported:
                    finish(i, None, KeyboardInterrupt("interrupted"))
