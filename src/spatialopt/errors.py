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
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class InstanceError(SpatialoptError):
    """An instance that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem], source: str = "instance") -> None:
        self.problems = list(problems)
        self.source = source
        count = len(self.problems)
        head = f"{source}: {count} problem{'s' if count != 1 else ''}"
        super().__init__(head + "\n" + "\n".join(f"  {p}" for p in self.problems))


class SolverError(SpatialoptError):
    """The solver is missing or failed in a way that is not a model status."""


class SolutionFileError(SpatialoptError):
    """A solution file that cannot be read as the spec's solution format."""
