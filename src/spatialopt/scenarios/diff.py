"""Plan diffs: what changed from one plan to another.

:func:`diff_plans` compares two plans (result folders, ``Result`` objects or
solution records): facilities that move elsewhere, start or stop moving,
sites opened or closed, cost components and per-source figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..instance import WEIGHT_NAMES


def plan_of(solution: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """facility -> {destination: units} of a solution record."""
    plan: dict[str, dict[str, float]] = {}
    for a in solution.get("assignments") or []:
        by_dest = plan.setdefault(str(a["facility"]), {})
        by_dest[str(a["destination"])] = by_dest.get(str(a["destination"]), 0.0) + float(a["units"])
    return plan


def timed_plan_of(solution: Mapping[str, Any]) -> dict[str, dict[tuple[str, str], float]]:
    """facility -> {(destination, period): units} of a solution record (period "" in a v1.1 record)."""
    plan: dict[str, dict[tuple[str, str], float]] = {}
    for a in solution.get("assignments") or []:
        by_move = plan.setdefault(str(a["facility"]), {})
        key = (str(a["destination"]), str(a.get("period", "")))
        by_move[key] = by_move.get(key, 0.0) + float(a["units"])
    return plan


def _same_units(a: Mapping[Any, float], b: Mapping[Any, float]) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 1e-6 * max(1.0, abs(a[k])) for k in a)


def changed_facilities(a: Mapping[str, Mapping[Any, float]], b: Mapping[str, Mapping[Any, float]]) -> list[str]:
    """Facilities whose destinations (or units per destination; per move with :func:`timed_plan_of`) differ."""
    return [f for f in dict.fromkeys([*a, *b]) if not _same_units(a.get(f, {}), b.get(f, {}))]


def _where_to(plan: Mapping[Any, float]) -> str:
    """'a + b (0.5)', or with periods 'a in 2021-2025 + b (0.5) in 2026-2030'."""
    if not plan:
        return "-"
    parts = []
    for key, u in sorted(plan.items()):
        d, period = key if isinstance(key, tuple) else (key, "")
        text = d if abs(u - 1.0) < 1e-9 else f"{d} ({u:g})"
        parts.append(f"{text} in {period}" if period else text)
    return " + ".join(parts)


def _by_destination(plan: Mapping[tuple[str, str], float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for (d, _), u in plan.items():
        out[d] = out.get(d, 0.0) + u
    return out


@dataclass
class PlanDiff:
    """What changed from plan A to plan B."""

    a_label: str
    b_label: str
    a: dict[str, Any]  # solution records (spec §5)
    b: dict[str, Any]
    facility_info: dict[str, tuple[str, str]] = field(default_factory=dict)  # facility -> (type, origin), when known

    @property
    def components(self) -> pd.DataFrame:
        ca, cb = self.a.get("components") or {}, self.b.get("components") or {}
        rows = [{"component": "objective", "a": self.a.get("objective"), "b": self.b.get("objective")}]
        rows += [{"component": c, "a": ca.get(c), "b": cb.get(c)} for c in WEIGHT_NAMES]
        frame = pd.DataFrame(rows, columns=["component", "a", "b"])
        frame["delta"] = [_delta(x, y) for x, y in zip(frame["a"], frame["b"])]
        return frame

    @property
    def sources(self) -> pd.DataFrame:
        sa = {s["city"]: s for s in self.a.get("sources") or []}
        sb = {s["city"]: s for s in self.b.get("sources") or []}
        rows = []
        for city in dict.fromkeys([*sa, *sb]):
            for measure in ("target", "moved_residents", "shortfall", "density_after"):
                x, y = sa.get(city, {}).get(measure), sb.get(city, {}).get(measure)
                rows.append({"city": city, "measure": measure, "a": x, "b": y, "delta": _delta(x, y)})
        return pd.DataFrame(rows, columns=["city", "measure", "a", "b", "delta"])

    @property
    def facilities(self) -> pd.DataFrame:
        """Facilities that move elsewhere, start or stop moving, move other units, or move in another period.

        "changes period" (phased plans): the same destinations and units, moved
        in other periods.
        """
        pa, pb = timed_plan_of(self.a), timed_plan_of(self.b)
        rows = []
        for f in changed_facilities(pa, pb):
            xa, xb = pa.get(f, {}), pb.get(f, {})
            da, db = _by_destination(xa), _by_destination(xb)
            if not xa:
                change = "starts moving"
            elif not xb:
                change = "stops moving"
            elif da.keys() != db.keys():
                change = "moves elsewhere"
            elif not _same_units(da, db):
                change = "units change"
            else:
                change = "changes period"
            kind, origin = self.facility_info.get(f, ("", ""))
            rows.append({"facility": f, "type": kind, "origin": origin, "change": change,
                         "a": _where_to(xa), "b": _where_to(xb)})
        return pd.DataFrame(rows, columns=["facility", "type", "origin", "change", "a", "b"])

    @property
    def sites(self) -> pd.DataFrame:
        """Sites opened or closed in B; with periods also sites that open in another period."""
        sa = {(s["type"], s["city"]): str(s.get("period", "")) for s in self.a.get("sites") or []}
        sb = {(s["type"], s["city"]): str(s.get("period", "")) for s in self.b.get("sites") or []}
        rows = [{"type": t, "city": c, "change": "opened"} for t, c in sorted(sb.keys() - sa.keys())]
        rows += [{"type": t, "city": c, "change": "closed"} for t, c in sorted(sa.keys() - sb.keys())]
        rows += [{"type": t, "city": c, "change": f"opens in {sb[(t, c)]} instead of {sa[(t, c)]}"}
                 for t, c in sorted(sa.keys() & sb.keys()) if sa[(t, c)] != sb[(t, c)]]
        return pd.DataFrame(rows, columns=["type", "city", "change"])

    @property
    def unchanged(self) -> bool:
        return self.facilities.empty and self.sites.empty

    def to_frame(self) -> pd.DataFrame:
        """Every difference as one long table: section, item, change, a, b, delta."""
        rows = []
        for r in self.components.itertuples():
            rows.append({"section": "component", "item": r.component, "change": "", "a": r.a, "b": r.b, "delta": r.delta})
        for r in self.sources.itertuples():
            rows.append({"section": "source", "item": r.city, "change": r.measure, "a": r.a, "b": r.b, "delta": r.delta})
        for r in self.facilities.itertuples():
            rows.append({"section": "facility", "item": r.facility, "change": r.change, "a": r.a, "b": r.b, "delta": None})
        for r in self.sites.itertuples():
            rows.append({"section": "site", "item": f"{r.type} at {r.city}", "change": r.change, "a": None, "b": None, "delta": None})
        return pd.DataFrame(rows, columns=["section", "item", "change", "a", "b", "delta"])

    def text(self) -> str:
        lines = [
            f"A: {self.a_label} ({self.a.get('instance')}, {self.a.get('status')})",
            f"B: {self.b_label} ({self.b.get('instance')}, {self.b.get('status')})",
        ]
        if self.a.get("instance_sha256") and self.a.get("instance_sha256") == self.b.get("instance_sha256"):
            lines.append("  (same instance data)")
        head = f"{'':<36} {'A':>15} {'B':>15} {'B - A':>15}"
        lines.append("cost" + head[4:])
        for r in self.components.itertuples():
            lines.append(f"  {r.component:<34} {_num(r.a):>15} {_num(r.b):>15} {_num(r.delta, sign=True):>15}")
        src = self.sources
        if len(src):
            lines.append("sources (persons; density per km2)")
            for r in src.itertuples():
                digits = 1 if r.measure == "density_after" else 0
                label = f"{r.city} {r.measure.replace('_', ' ')}"
                lines.append(f"  {label:<34} {_num(r.a, digits):>15} {_num(r.b, digits):>15} {_num(r.delta, digits, True):>15}")
        fac = self.facilities
        if fac.empty:
            lines.append("facilities: no facility moves differently")
        else:
            counts = fac["change"].value_counts()
            lines.append("facilities: " + ", ".join(f"{n} {c}" for c, n in counts.items()))
            for r in fac.itertuples():
                what = f" [{r.type} from {r.origin}]" if r.type else ""
                lines.append(f"  {r.facility}{what}: {r.change}: {r.a} -> {r.b}")
        sites = self.sites
        if sites.empty:
            lines.append("sites: the same")
        else:
            for r in sites.itertuples():
                if r.change in ("opened", "closed"):
                    lines.append(f"  site {r.change}: {r.type} at {r.city}")
                else:
                    lines.append(f"  site {r.type} at {r.city} {r.change}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _delta(a: Any, b: Any) -> float | None:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return None
    return float(b) - float(a)


def _num(x: Any, digits: int = 3, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{float(x):+,.{digits}f}" if sign else f"{float(x):,.{digits}f}"


def _read_plan(item: Any) -> tuple[str, dict[str, Any], dict[str, tuple[str, str]]]:
    """(label, solution record, facility info) of a Result, a result folder, a solution.json or a record."""
    from ..results import Result

    if isinstance(item, Result):
        a = item.instance.facilities
        info = {f: (t, o) for f, t, o in zip(a.index, a["type"], a["origin"])}
        return item.instance.name, item.to_solution_dict(), info
    if isinstance(item, Mapping):
        return str(item.get("instance", "plan")), dict(item), {}
    from ..result_folder import facility_info, load_solution

    return str(item), load_solution(item), facility_info(item)


def diff_plans(a: Any, b: Any, *, labels: tuple[str, str] | None = None) -> PlanDiff:
    """Compare plan ``a`` with plan ``b``: Result objects, result folders, solution.json paths or records."""
    label_a, sol_a, info_a = _read_plan(a)
    label_b, sol_b, info_b = _read_plan(b)
    if labels is not None:
        label_a, label_b = labels
    elif label_a == label_b:
        label_a, label_b = "A", "B"
    return PlanDiff(label_a, label_b, sol_a, sol_b, {**info_a, **info_b})
