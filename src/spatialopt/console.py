"""The command line's edges with its process: Ctrl-C and a reader that goes away.

:func:`spatialopt.cli.main` runs inside :func:`guarded_process`, which

- makes sure Ctrl-C raises ``KeyboardInterrupt`` from the first line of
  ``main`` (the package imports nothing heavy before it, see
  ``spatialopt/__init__.py``), so the CLI can answer "interrupted", exit 4.
  A Ctrl-C that lands inside a callback Python cannot propagate from (a
  weakref callback of the import machinery, a ``__del__``) would be printed
  as "Exception ignored" and lost; it is delivered again instead, outside
  the callback;
- wraps ``sys.stdout`` and ``sys.stderr`` so that a closed pipe
  (``spatialopt validate X 2>&1 | head -1``) silences the output instead of
  raising ``BrokenPipeError`` in the middle of a command: the command runs to
  its end and its exit code stands. The broken descriptor is pointed at
  ``/dev/null``, so the interpreter's last flush does not print "Exception
  ignored" either.

When ``main`` owns the process (the installed command), Ctrl-C is ignored
once the command has its answer, while the interpreter shuts down: a late
Ctrl-C cannot turn a finished run into a traceback. Called in-process (tests,
a notebook), everything is restored on return.
"""

from __future__ import annotations

import _thread
import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TextIO


class PipeSafeStream:
    """A text stream whose writes never raise because the reader went away."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except OSError as exc:
                self._on_error(exc)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except OSError as exc:
                self._on_error(exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _on_error(self, exc: OSError) -> None:
        if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EPIPE:
            raise exc
        self.broken = True
        # Text still buffered in the stream is flushed again at exit: let it
        # go to /dev/null rather than fail a second time.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            fd = self._stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _redeliver_interrupt(previous: Any) -> Any:
    """An unraisable-exception hook that re-raises a swallowed Ctrl-C in the main thread."""

    def hook(unraisable: Any) -> None:
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            # As if Ctrl-C came again, from another thread: tripped here, it
            # would be raised inside this hook and be lost once more.
            _thread.start_new_thread(_thread.interrupt_main, ())
            return
        previous(unraisable)

    return hook


@contextlib.contextmanager
def guarded_process(owns_process: bool) -> Iterator[None]:
    """Ctrl-C as KeyboardInterrupt and pipe-safe standard streams for the duration of a command."""
    previous_handler: Any = None
    if _in_main_thread():
        previous_handler = signal.getsignal(signal.SIGINT)
        if previous_handler == signal.SIG_DFL:  # SIG_IGN (e.g. a background job) is respected
            signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _redeliver_interrupt(previous_hook)
    originals = sys.stdout, sys.stderr
    sys.stdout = PipeSafeStream(sys.stdout) if sys.stdout is not None else None
    sys.stderr = PipeSafeStream(sys.stderr) if sys.stderr is not None else None
    try:
        yield
    finally:
        if owns_process and _in_main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        if not owns_process:
            sys.unraisablehook = previous_hook
            sys.stdout, sys.stderr = originals
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)


def quiet_interrupt() -> None:
    """Ignore further Ctrl-C while the CLI reports an interrupt (restored by :func:`guarded_process`)."""
    if _in_main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
