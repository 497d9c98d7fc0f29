"""Distances and travel times between cities (spec §3): km and minutes, table values first.

``dist(a, b)`` is the distances table's ``km`` where it gives one for the pair
(either direction), else the haversine distance; ``minutes(a, b)`` is the
table's ``minutes`` where it gives them, else ``60 x detour x dist / speed_kmh``
from ``[travel]``. Whole matrices at once, numpy only.
"""

from __future__ import annotations

import numpy as np

from .instance import Instance

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG), as the spec prescribes


def haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasts)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlambda = np.radians(lon2) - np.radians(lon1)
    h = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlambda / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def distance_matrix(instance: Instance, from_ids: list[str], to_ids: list[str] | None = None) -> np.ndarray:
    """km from each of ``from_ids`` to each of ``to_ids`` (default: every city).

    The distances table wins where it lists a pair (in either direction);
    everything else is the haversine distance.
    """
    cities = instance.cities
    to_ids = list(cities.index) if to_ids is None else to_ids
    # positions, not .loc: label lookups were most of a small instance's time here (city ids are unique)
    src, dst = cities.index.get_indexer(from_ids), cities.index.get_indexer(to_ids)
    if (src < 0).any() or (dst < 0).any():
        unknown = [c for c, at in (*zip(from_ids, src), *zip(to_ids, dst)) if at < 0]
        raise KeyError(f"not in the cities table: {', '.join(map(str, unknown[:5]))}")
    lon, lat = cities["lon"].to_numpy(dtype=float), cities["lat"].to_numpy(dtype=float)
    km = haversine_km(lon[src][:, None], lat[src][:, None], lon[dst][None, :], lat[dst][None, :])
    km[src[:, None] == dst[None, :]] = 0.0
    _overlay(instance, "km", from_ids, to_ids, km)
    return km


def timed_matrix(instance: Instance, from_ids: list[str], to_ids: list[str] | None = None) -> np.ndarray:
    """The distances table's minutes from each of ``from_ids`` to each of ``to_ids``; NaN where it gives none."""
    to_ids = list(instance.cities.index) if to_ids is None else to_ids
    timed = np.full((len(from_ids), len(to_ids)), np.nan)
    same = np.asarray(from_ids, dtype=object)[:, None] == np.asarray(to_ids, dtype=object)[None, :]
    timed[same] = 0.0
    _overlay(instance, "minutes", from_ids, to_ids, timed)
    return timed


def minutes_matrix(instance: Instance, from_ids: list[str], to_ids: list[str] | None = None,
                   km: np.ndarray | None = None) -> np.ndarray:
    """Travel minutes (spec §3): the table's where it times a pair, else from ``[travel]`` (NaN without)."""
    km = distance_matrix(instance, from_ids, to_ids) if km is None else km
    return travel_minutes(instance, km, timed_matrix(instance, from_ids, to_ids))


def _overlay(instance: Instance, column: str, from_ids: list[str], to_ids: list[str], out: np.ndarray) -> None:
    """Write the distances table's ``column`` (both directions) over ``out`` where it gives a value."""
    table = instance.distances
    if table is None or not len(table) or column not in table.columns:
        return
    row_of = {c: i for i, c in enumerate(from_ids)}
    col_of = {c: j for j, c in enumerate(to_ids)}
    for a, b, value in zip(table["from"], table["to"], table[column]):
        if value != value:  # NaN: this row gives the other column only
            continue
        for x, y in ((a, b), (b, a)):
            i, j = row_of.get(x), col_of.get(y)
            if i is not None and j is not None:
                out[i, j] = value


def travel_minutes(instance: Instance, km: np.ndarray, timed: np.ndarray) -> np.ndarray:
    """Travel minutes: ``timed`` (the distances table's minutes, NaN where absent) else from ``[travel]``.

    ``km`` and ``timed`` broadcast together; pairs that neither times are NaN
    (validation makes sure no minutes rule meets one).
    """
    travel = instance.travel
    timed = np.asarray(timed, dtype=float)
    if travel is None:
        return timed + 0.0 * np.asarray(km, dtype=float)  # broadcast; NaN stays NaN
    estimate = 60.0 * travel.detour * np.asarray(km, dtype=float) / travel.speed_kmh
    return np.where(np.isnan(timed), estimate, timed)
