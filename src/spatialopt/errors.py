"""Exceptions raised by spatialopt.

Hierarchy::

    SpatialoptError            base of everything the package raises on purpose
    ├── InstanceError          the instance (manifest or a table) is invalid;
    │                          carries every problem found, each located
    ├── SolverError            HiGHS is missing or crashed (an infeasible or
    │                          unbounded model is *not* an error: it is a status)
    └── SolutionFileError      a solution file cannot be read

An infeasible plan is an answer, reported through ``SolveStatus``; callers who
want an exception call ``Result.raise_for_status()``.
"""

from __future__ import annotations

from dataclasses import dataclass


class SpatialoptError(Exception):
    """Base class for errors raised on purpose by spatialopt."""


@dataclass(frozen=True)
class Problem:
    """One located problem in an instance.

    ``where`` names the file and the row (``cities.csv line 7 (id 'baoding')``
    or ``instance.toml [[types]] #2 (id 'hospital')``); ``column`` the column or
    key; ``value`` the offending value as written; ``expected`` what would be
    valid.
    """

    where: str
    column: str | None
    value: object
    expected: str

    def __str__(self) -> str:
        if self.column is None:
            return f"{self.where}: {self.expected}"
        shown = _show(self.value)
        return f"{self.where}: {self.column}={shown}, expected {self.expected}"


def _show(value: object) -> str:
    if value is None:
        return "(missing)"
    try:
        text = repr(value) if isinstance(value, str) else str(value)
    except (RecursionError, ValueError):  # a value nested hundreds deep, an integer of thousands of digits
        text = f"({type(value).__name__})"
    return text if len(text) <= 60 else text[:57] + "..."


PROBLEMS_PER_FILE = 50  # listed per file; the rest are counted (a junk table must not flood the terminal)


class ProblemLog(list[Problem]):
    """A list of problems that keeps the first ``limit`` of each file and counts the rest.

    A file is recognised by the longest registered label that a problem's
    ``where`` starts with (``cities.csv``, ``instance.toml``), else by the
    first word of ``where``. Memory stays flat however many problems a file
    has; :meth:`finished` appends one "and N more" line per file that
    overflowed.
    """

    def __init__(self, limit: int = PROBLEMS_PER_FILE) -> None:
        super().__init__()
        self.limit = limit
        self.labels: list[str] = []
        self.counts: dict[str, int] = {}

    def register(self, label: str) -> None:
        if label not in self.labels:
            self.labels.append(label)
            self.labels.sort(key=len, reverse=True)

    def file_of(self, problem: Problem) -> str:
        for label in self.labels:
            if problem.where == label or problem.where.startswith(label + " ") or problem.where.startswith(label + ":"):
                return label
        return problem.where.split(" ", 1)[0]

    def append(self, problem: Problem) -> None:
        key = self.file_of(problem)
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.counts[key] <= self.limit:
            super().append(problem)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def finished(self) -> list[Problem]:
        """The listed problems, then one line per file saying how many were not listed."""
        more = [
            Problem(key, None, None, f"and {count - self.limit:,} more problem{'s' if count - self.limit != 1 else ''}"
                    f" in this file (only the first {self.limit} of each file are listed)")
            for key, count in self.counts.items() if count > self.limit
        ]
        return list(self) + more


class InstanceError(SpatialoptError):
    """An instance that cannot be used; ``problems`` lists every problem found.

    ``total`` counts every problem found, also those not listed (a
    :class:`ProblemLog` lists at most a few per file).
    """

    def __init__(self, problems: list[Problem], source: str = "instance") -> None:
        if isinstance(problems, ProblemLog):
            self.total = problems.total
            self.problems = problems.finished()
        else:
            self.problems = list(problems)
            self.total = len(self.problems)
        self.source = source
        count = self.total
        head = f"{source}: {count:,} problem{'s' if count != 1 else ''}"
        super().__init__(head + "\n" + "\n".join(f"  {p}" for p in self.problems))


class SolverError(SpatialoptError):
    """The solver is missing or failed in a way that is not a model status."""


class SolutionFileError(SpatialoptError):
    """A solution file that cannot be read as the spec's solution format."""
