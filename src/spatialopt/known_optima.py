"""Known optima: a registry of instances with published or hand-derived optimal values.

The registry (``results/known_optima.csv`` of a checkout) has one row per instance::

    id, family, file, problem, variant, sense, objective, status, rel_tol, abs_tol, source

``family`` is ``gap``, ``cap``, ``pmed`` (OR-Library files, converted on the
fly by :mod:`spatialopt.convert.orlib`) or ``hand`` (a manifest under
``instances/hand/``). ``file`` is relative to the repository root. For the
maximisation GAP rows the model minimises ``-profit``, so the value found is
minus the model's objective. A row matches when
``|found - objective| <= max(abs_tol, rel_tol * max(1, |objective|))``.

The registry is written by ``bench/build_known_optima.py`` from the
``optima.csv`` files beside the instances; edit those, not the registry.
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .api import load, solve
from .check import check_solution
from .convert.orlib import write_cap_instance, write_gap_instance, write_pmed_instance

REGISTRY_COLUMNS = ("id", "family", "file", "problem", "variant", "sense", "objective", "status", "rel_tol", "abs_tol", "source")
FAMILIES = ("gap", "cap", "pmed", "hand")


@dataclass(frozen=True)
class KnownOptimum:
    id: str
    family: str
    file: str
    problem: int | None
    variant: str
    sense: str
    objective: float
    status: str
    rel_tol: float
    abs_tol: float
    source: str

    def matches(self, found: float) -> bool:
        return abs(found - self.objective) <= max(self.abs_tol, self.rel_tol * max(1.0, abs(self.objective)))


@dataclass(frozen=True)
class Outcome:
    entry: KnownOptimum
    status: str
    found: float | None
    seconds: float
    check_ok: bool
    violations: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.found is not None and self.check_ok and self.entry.matches(self.found) and self.status == "optimal"

    @property
    def rel_diff(self) -> float | None:
        if self.found is None:
            return None
        return abs(self.found - self.entry.objective) / max(1.0, abs(self.entry.objective))


def default_registry() -> Path:
    """``results/known_optima.csv`` under the current folder (run from a checkout's root).

    The registry is repository data, not package data: its rows name the
    OR-Library and hand-worked files under ``instances/``, which only a
    checkout has, so shipping the table alone would not make the benchmark
    run. It is never looked up beside the installed package (after ``pip
    install`` that is a folder of site-packages, not a checkout).
    """
    return Path("results") / "known_optima.csv"


def read_registry(path: str | Path) -> list[KnownOptimum]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    entries = []
    for row in rows:
        entries.append(
            KnownOptimum(
                id=row["id"], family=row["family"], file=row["file"],
                problem=int(row["problem"]) if row["problem"] else None,
                variant=row["variant"], sense=row["sense"], objective=float(row["objective"]),
                status=row["status"], rel_tol=float(row["rel_tol"]), abs_tol=float(row["abs_tol"]),
                source=row["source"],
            )
        )
    return entries


def write_registry(path: str | Path, entries: Iterable[KnownOptimum]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(REGISTRY_COLUMNS)
        for e in entries:
            writer.writerow([
                e.id, e.family, e.file, "" if e.problem is None else e.problem, e.variant, e.sense,
                repr(e.objective) if not e.objective.is_integer() else int(e.objective),
                e.status, e.rel_tol, e.abs_tol, e.source,
            ])


def manifest_for(entry: KnownOptimum, root: Path, work_dir: Path) -> Path:
    """The instance manifest of a registry row (OR-Library rows are converted into ``work_dir``)."""
    source = root / entry.file
    out = work_dir / entry.id
    if entry.family == "gap":
        return write_gap_instance(source, out, problem=entry.problem or 1, sense=entry.sense)  # type: ignore[arg-type]
    if entry.family == "cap":
        return write_cap_instance(source, out, variant=entry.variant)  # type: ignore[arg-type]
    if entry.family == "pmed":
        return write_pmed_instance(source, out)
    if entry.family == "hand":
        return source
    raise ValueError(f"unknown family {entry.family!r} in the known-optima registry (expected {', '.join(FAMILIES)})")


def run_entry(entry: KnownOptimum, root: Path, work_dir: Path, time_limit: float | None = None) -> Outcome:
    """Solve one registry row with the exact profile and verify the plan independently."""
    started = time.perf_counter()
    instance = load(manifest_for(entry, root, work_dir))
    result = solve(instance, profile="exact", time_limit=time_limit)
    seconds = time.perf_counter() - started
    report = check_solution(instance, result.to_solution_dict())
    found = None
    if result.objective is not None:
        # GAP maximisation rows are written as minimisation of -profit.
        found = -result.objective if entry.sense == "max" else result.objective
    return Outcome(entry, result.status.value, found, seconds, report.ok, tuple(report.violations[:5]))


def run_registry(
    entries: list[KnownOptimum], root: Path, time_limit: float | None = None,
    on_result: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="spatialopt-known-") as work:
        for i, entry in enumerate(entries):
            outcome = run_entry(entry, root, Path(work), time_limit)
            outcomes.append(outcome)
            if on_result is not None:
                on_result(i, outcome)
    return outcomes
