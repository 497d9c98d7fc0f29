"""Derived data of spec §3: distances, eligible arcs, site candidates, costs.

Everything is computed with numpy over whole (facility x city) blocks, one
facility type at a time, never with a Python loop over pairs. The result,
:class:`Derived`, is all the model needs: flat arrays over eligible arcs and
over site candidates, positions into the instance's city and facility tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .instance import Instance
from .periods import discount_factors
from .travel import EARTH_RADIUS_KM, distance_matrix, haversine_km, minutes_matrix, timed_matrix

__all__ = ["EARTH_RADIUS_KM", "Derived", "EligibilityRules", "derive", "distance_matrix", "haversine_km",
           "minutes_matrix", "timed_matrix"]

@dataclass(frozen=True)
class Derived:
    """Eligible arcs and site candidates with their per-unit data (spec §3).

    Arc arrays are aligned: arc ``i`` moves facility ``facility_ids[arc_f[i]]``
    to city ``city_ids[arc_d[i]]``. Site arrays are aligned likewise.
    """

    city_ids: list[str]
    facility_ids: list[str]
    arc_f: np.ndarray  # int, position in facility_ids
    arc_d: np.ndarray  # int, position in city_ids
    arc_km: np.ndarray
    relocation: np.ndarray  # r_fd
    operating: np.ndarray  # p_fd
    access: np.ndarray  # a_fd
    cost: np.ndarray  # c_fd, weighted
    use: np.ndarray  # (arcs x resources), use in the capacity rows
    site_type: list[str]
    site_d: np.ndarray  # int, position in city_ids
    site_cost: np.ndarray
    site_capacity: np.ndarray  # inf when unlimited
    # annual_cost_per_job x jobs x cost-index difference: p_fdp = Y_p x this (spec v2 §3);
    # ``operating`` is the first period's (v1.1's p_fd with one period at rate 0)
    annual_operating: np.ndarray | None = None

    @property
    def n_arcs(self) -> int:
        return int(self.arc_f.size)

    def arc_keys(self) -> list[tuple[str, str]]:
        """(facility id, destination id) of every arc, in arc order."""
        f = np.asarray(self.facility_ids, dtype=object)[self.arc_f]
        d = np.asarray(self.city_ids, dtype=object)[self.arc_d]
        return list(zip(f.tolist(), d.tolist()))

    def site_keys(self) -> list[tuple[str, str]]:
        d = np.asarray(self.city_ids, dtype=object)[self.site_d]
        return list(zip(self.site_type, d.tolist()))

    def arcs_frame(self) -> pd.DataFrame:
        """The eligible arcs as a table (for inspection in notebooks)."""
        keys = self.arc_keys()
        return pd.DataFrame(
            {
                "facility": [k[0] for k in keys],
                "destination": [k[1] for k in keys],
                "km": self.arc_km,
                "relocation": self.relocation,
                "operating": self.operating,
                "access": self.access,
                "cost": self.cost,
            }
        )


class EligibilityRules:
    """The §3 eligibility rules of one instance, as boolean (facility x city) masks.

    ``masks`` gives each rule separately, in the spec's order, so that
    :func:`derive` can combine them and the diagnosis can say which rule
    leaves a facility without destinations.
    """

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        cities = instance.cities
        self.city_ids = list(cities.index)
        self.city_pos = {c: i for i, c in enumerate(self.city_ids)}
        self.is_destination = np.array([c not in instance.sources for c in self.city_ids], dtype=bool)
        self.tiers = cities["tier"].to_numpy(dtype=object)
        self.clusters = cities["cluster"].to_numpy(dtype=object)
        source_ids = list(instance.sources)
        self.source_row = {s: i for i, s in enumerate(source_ids)}
        self.km_from_source = (
            distance_matrix(instance, source_ids) if source_ids else np.zeros((0, len(self.city_ids)))
        )
        self.source_ids = source_ids
        self._minutes_from_source: np.ndarray | None = None
        self.site_cities_by_type = _site_cities_by_type(instance)
        #: (facility, city) positions of the arcs table's rows, None without rows (the eligibility mask and
        #: derive's cost overrides both read them)
        self.arcs_table = _arcs_table_positions(instance) if instance.arcs is not None and len(instance.arcs) else None
        self.listed = _listed_arcs(instance, self.arcs_table)

    def km(self, members: np.ndarray) -> np.ndarray:
        """(members x cities) km from each facility's origin."""
        origins = self.instance.facilities["origin"].to_numpy(dtype=object)[members]
        return self.km_from_source[np.array([self.source_row[o] for o in origins], dtype=np.int64)]

    def minutes_from_source(self) -> np.ndarray:
        """(sources x cities) travel minutes, computed when a type first asks."""
        if self._minutes_from_source is None:
            self._minutes_from_source = (
                minutes_matrix(self.instance, self.source_ids, self.city_ids, self.km_from_source)
                if self.source_ids else np.zeros((0, len(self.city_ids)))
            )
        return self._minutes_from_source

    def minutes(self, members: np.ndarray) -> np.ndarray:
        """(members x cities) travel minutes from each facility's origin."""
        origins = self.instance.facilities["origin"].to_numpy(dtype=object)[members]
        return self.minutes_from_source()[np.array([self.source_row[o] for o in origins], dtype=np.int64)]

    def masks(self, type_id: str, members: np.ndarray, km: np.ndarray | None = None) -> list[tuple[str, np.ndarray]]:
        """(rule, mask) pairs for facilities ``members`` (positions) of type ``type_id``."""
        kind = self.instance.types[type_id]
        km = self.km(members) if km is None else km
        shape = km.shape
        rules: list[tuple[str, np.ndarray]] = [("destination", np.broadcast_to(self.is_destination, shape))]
        if kind.allowed_tiers is not None:
            allowed = set(kind.allowed_tiers)
            tier_ok = np.array([t != "" and t in allowed for t in self.tiers], dtype=bool)
            rules.append(("allowed_tiers", np.broadcast_to(tier_ok, shape)))
        if kind.min_km > 0:
            rules.append(("min_km", km >= kind.min_km))
        if np.isfinite(kind.max_km):
            rules.append(("max_km", km <= kind.max_km))
        if kind.min_minutes is not None or kind.max_minutes is not None:
            mins = self.minutes(members)
            with np.errstate(invalid="ignore"):  # NaN (untimed) compares False: not eligible
                if kind.min_minutes is not None:
                    rules.append(("min_minutes", mins >= kind.min_minutes))
                if kind.max_minutes is not None:
                    rules.append(("max_minutes", mins <= kind.max_minutes))
        if kind.same_cluster:
            origins = self.instance.facilities["origin"].to_numpy(dtype=object)[members]
            origin_cluster = self.clusters[np.array([self.city_pos[o] for o in origins], dtype=np.int64)]
            rules.append(
                ("same_cluster", (origin_cluster[:, None] == self.clusters[None, :]) & (origin_cluster[:, None] != ""))
            )
        if type_id in self.site_cities_by_type:
            has_site = np.zeros(len(self.city_ids), dtype=bool)
            has_site[self.site_cities_by_type[type_id]] = True
            rules.append(("sites table", np.broadcast_to(has_site, shape)))
        if self.listed is not None:
            rules.append(("arcs table", self.listed[members]))
        return rules


def derive(instance: Instance) -> Derived:
    """Eligible arcs, their costs and uses, and the site candidates of ``instance``."""
    cities = instance.cities
    facilities = instance.facilities
    city_ids = list(cities.index)
    facility_ids = list(facilities.index)
    city_pos = {c: i for i, c in enumerate(city_ids)}
    cost_index = cities["cost_index"].to_numpy(dtype=float)
    rules = EligibilityRules(instance)
    years = float(discount_factors(instance)[1][0])  # Y_1: horizon_years at rate 0, as in v1.1

    parts: list[dict[str, np.ndarray]] = []
    fac_pos_all = np.arange(len(facility_ids))
    types_col = facilities["type"].to_numpy(dtype=object)
    for type_id, kind in instance.types.items():
        members = fac_pos_all[types_col == type_id]
        if members.size == 0:
            continue
        fac = facilities.iloc[members]
        origin_city = np.array([city_pos[o] for o in fac["origin"]], dtype=np.int64)
        km = rules.km(members)
        ok = np.ones(km.shape, dtype=bool)
        for _, mask in rules.masks(type_id, members, km):
            ok &= mask

        rows, cols = np.nonzero(ok)
        jobs = fac["jobs"].to_numpy(dtype=float)[rows]
        dist = km[rows, cols]
        relocation = fac["fixed_cost"].to_numpy(dtype=float)[rows] + kind.cost_per_job_km * jobs * dist
        spread = cost_index[cols] - cost_index[origin_city[rows]]
        operating = years * kind.annual_cost_per_job * jobs * spread
        annual = kind.annual_cost_per_job * jobs * spread
        access = kind.access_cost_per_unit_km * fac["service_units"].to_numpy(dtype=float)[rows] * dist
        parts.append(
            {"f": members[rows], "d": cols, "km": dist, "r": relocation, "p": operating, "a": access, "y": annual}
        )

    def gather(key: str, dtype: type) -> np.ndarray:
        if not parts:
            return np.zeros(0, dtype=dtype)
        return np.concatenate([p[key] for p in parts]).astype(dtype)

    arc_f, arc_d = gather("f", np.int64), gather("d", np.int64)
    # Arcs in (facility, destination) table order: stable output and model layout.
    order = np.lexsort((arc_d, arc_f))
    arc_f, arc_d = arc_f[order], arc_d[order]
    km, relocation = gather("km", float)[order], gather("r", float)[order]
    operating, access = gather("p", float)[order], gather("a", float)[order]
    annual = gather("y", float)[order]
    use = instance.facility_use.to_numpy(dtype=float)[arc_f] if len(instance.resources) else np.zeros((arc_f.size, 0))
    relocation, use = _apply_arc_overrides(instance, rules.arcs_table, arc_f, arc_d, relocation, use)

    w = instance.weights
    cost = w.relocation * relocation + w.operating * operating + w.access * access
    site_type, site_d, site_cost, site_capacity = _site_candidates(instance, rules.is_destination)
    return Derived(
        city_ids=city_ids, facility_ids=facility_ids, arc_f=arc_f, arc_d=arc_d, arc_km=km,
        relocation=relocation, operating=operating, access=access, cost=cost, use=use,
        site_type=site_type, site_d=site_d, site_cost=site_cost, site_capacity=site_capacity,
        annual_operating=annual,
    )


def _site_cities_by_type(instance: Instance) -> dict[str, np.ndarray]:
    """City positions of the sites-table rows, per type that has rows."""
    if instance.sites is None or not len(instance.sites):
        return {}
    out: dict[str, np.ndarray] = {}
    positions = instance.cities.index.get_indexer(instance.sites["city"]).astype(np.int64)
    types = instance.sites["type"].to_numpy(dtype=object)
    for type_id in dict.fromkeys(types):  # in table order
        out[str(type_id)] = positions[types == type_id]
    return out


def _listed_arcs(instance: Instance, positions: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray | None:
    """(facilities x cities) mask of the arcs table (its rows' ``positions``), None when there is no table."""
    if instance.arcs is None:
        return None
    mask = np.zeros((len(instance.facilities), len(instance.cities)), dtype=bool)
    if positions is not None:
        mask[positions] = True
    return mask


def _arcs_table_positions(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    """Facility and city positions of the arcs table's rows (validation has checked that both exist)."""
    table = instance.arcs
    assert table is not None
    # pandas' vectorised lookups: a Python loop over the arrow-backed id strings was most of derive's time
    # on OR-Library cap131 (2,500 arcs: 5 ms of 7)
    rows = instance.facilities.index.get_indexer(table["facility"]).astype(np.int64)
    cols = instance.cities.index.get_indexer(table["destination"]).astype(np.int64)
    return rows, cols


def _apply_arc_overrides(
    instance: Instance, positions: tuple[np.ndarray, np.ndarray] | None,
    arc_f: np.ndarray, arc_d: np.ndarray, relocation: np.ndarray, use: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The arcs table's ``cost`` replaces r_fd; ``use_<r>`` replaces the use in capacity rows."""
    table = instance.arcs
    if table is None or positions is None or arc_f.size == 0:
        return relocation, use
    n_cities = len(instance.cities)
    arc_code = arc_f * n_cities + arc_d
    table_code = positions[0] * n_cities + positions[1]
    # Position of each table row among the (sorted) arcs, -1 when the row is not eligible.
    at = np.searchsorted(arc_code, table_code)
    at = np.where((at < arc_code.size) & (arc_code[np.minimum(at, arc_code.size - 1)] == table_code), at, -1)
    hit = at >= 0
    relocation = relocation.copy()
    cost = table["cost"].to_numpy(dtype=float)
    given = hit & ~np.isnan(cost)
    relocation[at[given]] = cost[given]
    use = use.copy()
    for j, resource in enumerate(instance.resources):
        column = f"use_{resource.id}"
        if column in table.columns:
            values = table[column].to_numpy(dtype=float)
            given = hit & ~np.isnan(values)
            use[at[given], j] = values[given]
    return relocation, use


def _site_candidates(
    instance: Instance, is_destination: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Site candidates per type that requires a site: the sites-table rows, else every destination."""
    types: list[str] = []
    positions: list[np.ndarray] = []
    costs: list[np.ndarray] = []
    capacities: list[np.ndarray] = []
    sites = instance.sites
    for type_id, kind in instance.types.items():
        if not kind.requires_site:
            continue
        rows = sites[sites["type"] == type_id] if sites is not None and len(sites) else None
        if rows is not None and len(rows):
            pos = instance.cities.index.get_indexer(rows["city"]).astype(np.int64)
            cost = rows["site_cost"].fillna(kind.site_cost).to_numpy(dtype=float)
            capacity = rows["capacity_jobs"].fillna(kind.site_capacity_jobs).to_numpy(dtype=float)
        else:
            pos = np.nonzero(is_destination)[0].astype(np.int64)
            cost = np.full(pos.size, kind.site_cost, dtype=float)
            capacity = np.full(pos.size, kind.site_capacity_jobs, dtype=float)
        types.extend([type_id] * pos.size)
        positions.append(pos)
        costs.append(cost)
        capacities.append(capacity)
    if not positions:
        return [], np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    return types, np.concatenate(positions), np.concatenate(costs), np.concatenate(capacities)
