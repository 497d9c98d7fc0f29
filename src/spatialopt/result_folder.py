"""The result folder's layout, and the one reader of it.

A result folder holds ``solution.json`` (spec §5), ``run.json`` (timings,
reasons, warnings, the instance's path), CSV views (``assignments.csv``,
``destinations.csv``, ``sites.csv``, ...) and, for a run of a sweep,
``scenario.json`` beside ``sweep.json`` in the parent folder; a sweep or a
front adds ``comparison.csv`` or ``pareto.csv``. :mod:`spatialopt.output`
writes it; ``check``, ``report`` and ``diff`` read it through the functions
here, so the file names and the way each file is read live in one place.

Reading a result loads no solver (neither Pyomo nor highspy).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import SolutionFileError
from .regular_files import read_regular_text

SOLUTION = "solution.json"
RUN = "run.json"
SCENARIO = "scenario.json"
SWEEP = "sweep.json"
COMPARISON = "comparison.csv"
PARETO = "pareto.csv"

#: The CSV views of a plan, with their id columns (read as text: "1" is a city id, not a number).
VIEW_TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "assignments": ("facility", "origin", "type", "destination"),
    "destinations": ("city", "name", "tier", "region", "cluster", "sites"),
    "sites": ("type", "city"),
}


def solution_path(path: str | os.PathLike[str]) -> Path:
    """The ``solution.json`` of a result folder, or ``path`` itself when it names a file."""
    p = Path(path)
    # A directory called solution.json is the (wrong) file itself: reading it
    # says so, rather than looking for solution.json/solution.json.
    return p / SOLUTION if p.is_dir() and p.name != SOLUTION else p


def load_solution(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``solution.json`` (spec §5; a file, or a result folder's) into a dict, checking its shape.

    Raises :class:`~spatialopt.errors.SolutionFileError` when the file cannot
    be read, is not JSON, or lacks a required key or has a value of the wrong
    type; the message lists every such problem. Values are not judged against
    an instance here; that is :func:`spatialopt.check.check_solution`'s job.
    """
    from .check import solution_format_problems

    where = os.fspath(solution_path(path))
    try:
        # Only a regular file: a FIFO would block forever, a device never ends.
        text = read_regular_text(where)
    except OSError as exc:
        raise SolutionFileError(f"{where}: cannot read the solution file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SolutionFileError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SolutionFileError(
            f"{where}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError:
        raise SolutionFileError(f"{where}: not a solution file: JSON nested too deeply") from None
    except ValueError:  # an integer longer than Python converts
        raise SolutionFileError(f"{where}: not a solution file: a number has more than "
                                f"{sys.get_int_max_str_digits()} digits") from None
    problems = solution_format_problems(data)
    if problems:
        count = len(problems)
        raise SolutionFileError(
            f"{where}: {count} problem{'s' if count != 1 else ''} with the solution format\n"
            + "\n".join(f"  {p}" for p in problems)
        )
    return data


def read_record(path: Path) -> dict[str, Any]:
    """A JSON object file of the folder (``run.json``, ``scenario.json``); ``{}`` when absent or not an object.

    Raises :class:`~spatialopt.errors.SolutionFileError` when it exists but cannot be read.
    """
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SolutionFileError(f"{path}: cannot read: {exc}") from exc
    return value if isinstance(value, dict) else {}


def read_run(folder: Path) -> dict[str, Any]:
    """The folder's ``run.json`` (``{}`` when absent)."""
    return read_record(folder / RUN)


def read_scenario(folder: Path) -> dict[str, Any]:
    """The folder's ``scenario.json`` (``{}`` unless the folder is a run of a sweep)."""
    return read_record(folder / SCENARIO)


def is_sweep_run(folder: Path) -> bool:
    """True when ``folder`` is one run of a sweep (``sweep.json`` in its parent)."""
    return (folder.parent / SWEEP).is_file()


def run_records(folder: Path) -> list[Path]:
    """``run.json`` files that may name the solved instance: the folder's, then, for a run of a sweep, its siblings'."""
    found = [folder / RUN]
    if is_sweep_run(folder):
        found += sorted(p for p in folder.parent.glob(f"*/{RUN}") if p.parent != folder)
    return [p for p in found if p.is_file()]


def read_view(folder: Path, name: str) -> pd.DataFrame | None:
    """A CSV view of a plan (``assignments``, ``destinations``, ``sites``), ids as text; None when absent."""
    path = folder / f"{name}.csv"
    if not path.is_file():
        return None
    text = VIEW_TEXT_COLUMNS.get(name, ())
    # Ids stay text ("1" is a city id, not a number); empty text cells stay "".
    frame = pd.read_csv(path, dtype=dict.fromkeys(text, str), keep_default_na=False, na_values=[""])
    for column in text:
        if column in frame.columns:
            frame[column] = frame[column].fillna("")
    return frame


def comparison_path(folder: Path) -> Path:
    """The sweep comparison to show with ``folder``: its own, or its sweep's for a run of a sweep."""
    own = folder / COMPARISON
    return own if own.is_file() or not is_sweep_run(folder) else folder.parent / COMPARISON


def read_optional_table(path: Path, notes: list[str]) -> pd.DataFrame | None:
    """A CSV table that is nice to have (comparison, pareto); None, with a note, when unreadable or empty."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        notes.append(f"{path.name} could not be read and is left out: {exc}")
        return None
    if frame.empty:
        notes.append(f"{path.name} has no rows and is left out.")
        return None
    return frame


def facility_info(path: str | os.PathLike[str]) -> dict[str, tuple[str, str]]:
    """facility -> (type, origin) from the ``assignments.csv`` beside a solution (``{}`` when absent)."""
    p = Path(path)
    csv = (p if p.is_dir() else p.parent) / "assignments.csv"
    if not csv.is_file():
        return {}
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    if not {"facility", "type", "origin"} <= set(frame.columns):
        return {}
    return {f: (t, o) for f, t, o in zip(frame["facility"], frame["type"], frame["origin"])}
