"""Scenario files: named scenarios (TOML, format in ``docs/scenarios.md``) and applying them to a base."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import InstanceError, Problem
from ..instance import Instance
from .changes import Changes, apply_changes, collect_changes
from .document import shown_value

FILE_KEYS = {"base", "description", "scenarios"}
BASE_NAME = "base"  # the sweep's name for the unchanged instance; no scenario may take it
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # a folder name: bounded


@dataclass(frozen=True)
class Scenario:
    """One named scenario of a scenario file."""

    name: str
    changes: Changes
    description: str = ""
    where: str = ""  # how messages name it: "study.toml [scenario 'budget-cut']"


@dataclass(frozen=True)
class ScenarioSet:
    """A scenario file: an optional base instance and named scenarios, in file order."""

    path: Path
    base: Path | None
    scenarios: tuple[Scenario, ...]
    description: str = ""

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    def instances(self, base: Instance) -> dict[str, Instance]:
        """Every scenario applied to ``base``, validated; one InstanceError listing every problem."""
        out: dict[str, Instance] = {}
        problems: list[Problem] = []
        for scenario in self.scenarios:
            try:
                out[scenario.name] = apply_changes(base, scenario.changes, label=scenario.where)
            except InstanceError as exc:
                problems.extend(exc.problems)
        if problems:
            raise InstanceError(problems, self.path.name)
        return out


def load_scenarios(path: str | Path) -> ScenarioSet:
    """Read a scenario file (TOML, see ``docs/scenarios.md``); raises InstanceError listing every problem.

    The ids and keys the changes name are checked when the scenarios are
    applied to an instance (:meth:`ScenarioSet.instances`).
    """
    path = Path(path)
    label = path.name
    if not path.is_file():
        raise InstanceError([Problem(str(path), None, None, "file not found")], label)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InstanceError([Problem(label, None, None, f"not UTF-8 text (byte {exc.start})")], label) from None
    except tomllib.TOMLDecodeError as exc:
        raise InstanceError([Problem(label, None, None, f"not valid TOML: {exc}")], label) from None
    problems: list[Problem] = []
    for key in data:
        if key not in FILE_KEYS:
            problems.append(Problem(label, key, shown_value(data[key]), f"a known key (one of {', '.join(sorted(FILE_KEYS))})"))
    base = data.get("base")
    base_path = None
    if base is not None:
        if not isinstance(base, str) or not base.strip():
            problems.append(Problem(label, "base", base, "the base instance's manifest, a path relative to this file"))
        else:
            base_path = (path.parent / base).resolve()
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(Problem(label, "description", description, "text"))
        description = ""
    entries = data.get("scenarios")
    scenarios: list[Scenario] = []
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        problems.append(Problem(label, "scenarios", shown_value(entries), "one or more [[scenarios]] tables"))
        entries = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        raw = entry.get("name")
        where = f"{label} [[scenarios]] #{number}" + (f" (name {raw!r})" if isinstance(raw, str) else "")
        name = raw if isinstance(raw, str) else ""
        if not isinstance(raw, str) or not NAME_PATTERN.match(raw):
            problems.append(Problem(where, "name", raw, "a name of letters, digits, '.', '-' or '_', at most 100 of them (it names a folder)"))
        elif raw == BASE_NAME:
            problems.append(Problem(where, "name", raw, f"a name other than {BASE_NAME!r} (the sweep's name for the base)"))
        elif raw in seen:
            problems.append(Problem(where, "name", raw, "a unique scenario name (this one repeats)"))
        seen.add(name)
        text = entry.get("description", "")
        if not isinstance(text, str):
            problems.append(Problem(where, "description", text, "text"))
            text = ""
        scenario_where = f"{label} [scenario {name!r}]" if name else where
        changes = collect_changes({k: v for k, v in entry.items() if k not in ("name", "description")},
                                  scenario_where, problems)
        scenarios.append(Scenario(name=name, changes=changes, description=text, where=scenario_where))
    if problems:
        raise InstanceError(problems, label)
    return ScenarioSet(path=path, base=base_path, scenarios=tuple(scenarios), description=description)
