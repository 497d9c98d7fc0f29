"""Scenario changes: their normal form (:class:`Changes`), parsing, hashing and applying them.

A scenario is a set of *changes* to a base instance: set, scale or unset a
value (``policy.budget``, ``sources.<city>.target``, ``types.<id>.max_km``,
``cities.<id>.<cap column>``, ``facilities.<id>.<column>``, ...), exclude or
add cities, remove or add facility rows. :func:`apply_changes` (and
:meth:`Instance.with_changes <spatialopt.instance.Instance.with_changes>`)
writes the instance back into manifest entries and table rows
(:class:`~spatialopt.scenarios.document.InstanceDocument`), applies the
changes there and runs the *loader's own validation* over the result, so a
changed instance obeys exactly the rules of a loaded one. An unknown key, id
or column is an :class:`~spatialopt.errors.InstanceError` with located
problems, like any bad input.

The changed instance's ``sha256`` is ``sha256("spatialopt-changes-v1\\n" +
base sha256 + "\\n" + canonical JSON of the changes)``, so two runs of the
same scenario on the same base files carry the same hash, and any other
change gives another one.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InstanceError, Problem
from ..instance import Instance
from .document import SOURCE_PARAMETERS, InstanceDocument, plain_value, shown_value

CHANGE_KEYS = ("set", "scale", "unset", "exclude_cities", "add_cities", "remove_facilities", "add_facilities")


@dataclass(frozen=True)
class Changes:
    """The changes of one scenario, normalised (keys sorted, values plain).

    ``set`` and ``scale`` map dotted keys to values (``scale``: factors >= 0),
    ``unset`` lists keys whose default then applies, and the row lists add or
    remove table rows. Build one with :func:`parse_changes`.
    """

    set: tuple[tuple[str, Any], ...] = ()
    scale: tuple[tuple[str, float], ...] = ()
    unset: tuple[str, ...] = ()
    exclude_cities: tuple[str, ...] = ()
    add_cities: tuple[Mapping[str, Any], ...] = ()
    remove_facilities: tuple[str, ...] = ()
    add_facilities: tuple[Mapping[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The changes as plain data (the scenario-file form), empty parts left out."""
        out: dict[str, Any] = {}
        if self.set:
            out["set"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.set}
        if self.scale:
            out["scale"] = dict(self.scale)
        if self.unset:
            out["unset"] = list(self.unset)
        for name in ("exclude_cities", "remove_facilities"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        for name in ("add_cities", "add_facilities"):
            if getattr(self, name):
                out[name] = [dict(row) for row in getattr(self, name)]
        return out

    def canonical(self) -> str:
        """Canonical JSON of the changes: what the changed instance's sha256 hashes."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    def __bool__(self) -> bool:
        return bool(self.as_dict())


def changed_sha256(base_sha256: str, changes: Changes) -> str:
    """The sha256 of an instance changed by ``changes`` (see the module docstring)."""
    h = hashlib.sha256(b"spatialopt-changes-v1\n")
    h.update(base_sha256.encode("ascii"))
    h.update(b"\n")
    h.update(changes.canonical().encode("utf-8"))
    return h.hexdigest()


def parse_changes(data: Mapping[str, Any] | Changes | None = None, *, where: str = "with_changes", **kwargs: Any) -> Changes:
    """Check the shape of a change description and normalise it into :class:`Changes`.

    ``data`` has the keys of a scenario (``set``, ``scale``, ``unset``,
    ``exclude_cities``, ``add_cities``, ``remove_facilities``,
    ``add_facilities``); keyword arguments add to it. Nested tables in ``set``
    and ``scale`` are flattened into dotted keys (``{"policy": {"budget": 1}}``
    is ``{"policy.budget": 1}``). Raises :class:`InstanceError` listing every
    problem.
    """
    problems: list[Problem] = []
    changes = _merged_changes(data, kwargs, where, problems)
    if problems:
        raise InstanceError(problems, where)
    return changes


def _merged_changes(data: Mapping[str, Any] | Changes | None, kwargs: Mapping[str, Any], where: str,
                    problems: list[Problem]) -> Changes:
    """``data`` with ``kwargs`` added, normalised; a :class:`Changes` alone is taken as it is."""
    if isinstance(data, Changes) and not kwargs:
        return data
    merged: dict[str, Any] = dict(data.as_dict() if isinstance(data, Changes) else (data or {}))
    merged.update(kwargs)
    return collect_changes(merged, where, problems)


def collect_changes(data: Mapping[str, Any], where: str, problems: list[Problem]) -> Changes:
    """Normalise the change keys of ``data`` (a scenario's table), adding each problem to ``problems``."""
    for key in data:
        if key not in CHANGE_KEYS:
            problems.append(Problem(where, key, shown_value(data[key]),
                                    f"a known key (one of {', '.join(sorted(CHANGE_KEYS))})"))
    set_items = _flat_table(data.get("set"), "set", where, problems)
    scale_items = _flat_table(data.get("scale"), "scale", where, problems)
    for key, value in list(set_items.items()):
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            problems.append(Problem(where, f"set {key}", value, "a single value, or a list of names (allowed_tiers)"))
            del set_items[key]
        elif isinstance(value, list):
            set_items[key] = tuple(value)
    for key, value in list(scale_items.items()):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            problems.append(Problem(where, f"scale {key}", value, "a factor: a finite number >= 0"))
            del scale_items[key]
        else:
            scale_items[key] = float(value)
    unset = _name_list(data.get("unset"), "unset", where, problems)
    for key in sorted(set(set_items) & set(scale_items)):
        problems.append(Problem(where, f"scale {key}", scale_items[key], "each key changed once per scenario (it is also set)"))
    for key in sorted(set(unset) & (set(set_items) | set(scale_items))):
        problems.append(Problem(where, f"unset {key}", key, "each key changed once per scenario (it is also set or scaled)"))
    target_keys: dict[str, list[str]] = {}
    for key in [*set_items, *scale_items, *unset]:
        head, _, rest = key.partition(".")
        if head == "sources":
            for form in SOURCE_PARAMETERS[:4]:
                if rest.endswith("." + form):
                    target_keys.setdefault(rest[: -len(form) - 1], []).append(key)
    for city, keys in target_keys.items():
        if len(keys) > 1:
            problems.append(Problem(where, ", ".join(sorted(keys)), None,
                                    f"one change to source {city!r}'s target per scenario (its forms replace each other)"))
    return Changes(
        set=tuple(sorted(set_items.items())),
        scale=tuple(sorted(scale_items.items())),
        unset=tuple(sorted(dict.fromkeys(unset))),
        exclude_cities=tuple(_name_list(data.get("exclude_cities"), "exclude_cities", where, problems)),
        add_cities=tuple(_row_list(data.get("add_cities"), "add_cities", where, problems)),
        remove_facilities=tuple(_name_list(data.get("remove_facilities"), "remove_facilities", where, problems)),
        add_facilities=tuple(_row_list(data.get("add_facilities"), "add_facilities", where, problems)),
    )


def _flat_table(value: Any, name: str, where: str, problems: list[Problem]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem(where, name, shown_value(value), f"a table of key = value ({name} = {{ \"policy.budget\" = ... }})"))
        return {}
    out: dict[str, Any] = {}

    def walk(prefix: str, table: Mapping[str, Any]) -> None:
        for key, item in table.items():
            if not isinstance(key, str) or key == "":
                problems.append(Problem(where, name, key, "dotted keys (text)"))
                continue
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(item, Mapping):
                walk(path, item)
            else:
                out[path] = plain_value(item)

    walk("", value)
    return out


def _name_list(value: Any, name: str, where: str, problems: list[Problem]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) and v for v in value):
        problems.append(Problem(where, name, shown_value(value), "a list of ids (text)"))
        return []
    return list(value)


def _row_list(value: Any, name: str, where: str, problems: list[Problem]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, Mapping) or not isinstance(value, Sequence) or not all(isinstance(v, Mapping) for v in value):
        problems.append(Problem(where, name, shown_value(value), f"a list of rows ([[...{name}]] tables of column = value)"))
        return []
    rows = []
    for number, row in enumerate(value, start=1):
        clean = {}
        for key, item in row.items():
            item = plain_value(item)
            if isinstance(item, (Mapping, list, tuple)):
                problems.append(Problem(where, f"{name} #{number}", key, "a single value per column"))
                continue
            clean[str(key)] = item
        rows.append(clean)
    return rows


def apply_changes(instance: Instance, changes: Mapping[str, Any] | Changes | None = None, *,
                  label: str = "with_changes", **kwargs: Any) -> Instance:
    """A new, validated :class:`Instance`: ``instance`` with ``changes`` applied.

    ``changes`` (and keyword arguments) take the scenario keys (see
    :func:`parse_changes`). The instance is written back into manifest entries
    and table rows, changed there, and validated by the loader; every problem
    is reported at once, located by ``label`` (``scenarios.toml [scenario 'x']``),
    key, value and what was expected.
    """
    problems: list[Problem] = []
    parsed = _merged_changes(changes, kwargs, label, problems)
    document = InstanceDocument(instance)
    document.apply(parsed, label, problems)
    if problems:
        raise InstanceError(problems, label)
    changed = document.validate(label)
    warnings = tuple(dict.fromkeys([*instance.warnings, *changed.warnings]))
    return replace(changed, sha256=changed_sha256(instance.sha256, parsed), warnings=warnings)
