"""Which eligibility rule keeps a type out of a city, said with the numbers (spec §3).

The rules themselves are :class:`spatialopt.derive.EligibilityRules`' masks,
in the spec's order; this module only finds, for one (type, city) pair, the
first rule each facility of the type fails there and words it: the city's
tier against the allowed tiers, the distance against the band, the clusters,
the sites table, the arcs table. A facility that cannot go anywhere is told
by :func:`spatialopt.diagnose._rule_story` (the counting story of
``validate``), not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .derive import EligibilityRules
from .instance import Instance

#: Rule names as :meth:`EligibilityRules.masks` gives them, in the spec's order.
RULES = ("destination", "allowed_tiers", "min_km", "max_km", "same_cluster", "sites table", "arcs table")


@dataclass(frozen=True)
class Exclusion:
    """Why no facility of ``type`` may go to ``city``: the rule (the first one each origin's facilities fail) and the words."""

    type: str
    city: str
    rule: str  # one of RULES; several origins failing different rules are joined with "; "
    text: str


def exclusions(instance: Instance, pairs: list[tuple[str, str]],
               rules: EligibilityRules | None = None) -> dict[tuple[str, str], Exclusion | None]:
    """Per (type, city) pair: the :class:`Exclusion`, or None when some facility of the type may go there."""
    rules = rules if rules is not None else EligibilityRules(instance)
    fac = instance.facilities
    types = fac["type"].to_numpy(dtype=object)
    origins = fac["origin"].to_numpy(dtype=object)
    out: dict[tuple[str, str], Exclusion | None] = {}
    masks_of: dict[str, tuple[np.ndarray, list[tuple[str, np.ndarray]], np.ndarray]] = {}
    for k, c in pairs:
        if k not in masks_of:
            members = np.flatnonzero(types == k)
            masks_of[k] = (members, rules.masks(k, members) if members.size else [], rules.km(members))
        members, masks, km = masks_of[k]
        j = rules.city_pos[c]
        if not members.size:
            out[(k, c)] = None
            continue
        first = np.full(members.size, "", dtype=object)  # the first rule each facility fails in c
        for name, mask in masks:
            fails = ~np.asarray(mask)[:, j] & (first == "")
            first[fails] = name
        if (first == "").any():
            out[(k, c)] = None
            continue
        said: dict[tuple[str, str], str] = {}
        for i, rule in enumerate(first.tolist()):
            origin = str(origins[members[i]])
            if (rule, origin) not in said:
                said[(rule, origin)] = _words(instance, rules, k, c, origin, rule, float(km[i, j]))
        names = list(dict.fromkeys(rule for rule, _ in said))
        texts = list(dict.fromkeys(said.values()))
        out[(k, c)] = Exclusion(k, c, "; ".join(names), "; ".join(texts))
    return out


def _words(instance: Instance, rules: EligibilityRules, k: str, c: str, origin: str, rule: str, km: float) -> str:
    """One rule, failed by the facilities of type ``k`` from ``origin`` in city ``c``, in words with numbers."""
    kind = instance.types[k]
    city = instance.cities.loc[c]
    if rule == "destination":
        return f"{c} is a source (a megacity core), never a destination"
    if rule == "allowed_tiers":
        allowed = ", ".join(kind.allowed_tiers or [])
        tier = str(city["tier"])
        shown = f"tier {tier!r}" if tier else "no tier"
        return f"{c} has {shown}; {k} may go only to tiers {allowed}"
    if rule == "min_km":
        return f"{c} is {km:,.1f} km from {origin}, nearer than the {k} type's min_km {kind.min_km:g}"
    if rule == "max_km":
        return f"{c} is {km:,.1f} km from {origin}, farther than the {k} type's max_km {kind.max_km:g}"
    if rule == "same_cluster":
        theirs = str(rules.clusters[rules.city_pos[c]])
        ours = str(rules.clusters[rules.city_pos[origin]])
        if not ours:
            return f"{origin} has no cluster, and {k} must stay within its origin's cluster"
        shown = f"cluster {theirs!r}" if theirs else "no cluster"
        return f"{c} has {shown}, not {origin}'s cluster {ours!r} ({k} must stay within its cluster)"
    if rule == "sites table":
        return f"the sites table has no {k} site in {c}"
    if rule == "arcs table":
        return f"the arcs table lists no {k} facility of {origin} with {c}"
    return f"{rule} excludes {c}"  # pragma: no cover - every rule of EligibilityRules is named above
