"""The validated, in-memory form of an instance (spec §2).

An ``Instance`` is what :func:`spatialopt.load` returns once every value has
been checked. Defaults are already applied, ids are strings, and absent
limits are ``math.inf``. Tables are pandas DataFrames indexed by id; treat
them as read-only (scenario edits build a new ``Instance``).

Column conventions of the tables:

- ``cities`` (index ``id``): ``name, lon, lat, tier, region, cluster,
  population, cost_index`` (``tier``/``region``/``cluster`` are ``""`` when
  absent, ``population`` NaN when absent).
- ``city_caps`` (index ``id``, one column per resource id): capacity, ``inf``
  when unlimited.
- ``facilities`` (index ``id``): ``origin, type, count, jobs, residents,
  service_units, fixed_cost, must_move`` with defaults resolved.
- ``facility_use`` (index ``id``, one column per resource id): use per unit.
- ``arcs`` (or ``None``): ``facility, destination, cost`` (NaN = no override)
  and ``use_<resource id>`` (NaN = no override).
- ``sites`` (or ``None``): ``type, city, site_cost, capacity_jobs`` (NaN = the
  type's value).
- ``distances`` (or ``None``): ``from, to, km, minutes`` (NaN where a row
  does not give that value).
- ``facilities`` also has ``earliest, latest``: the first and last period ids
  in which the facility may move (defaults resolved; ``""`` without periods).
- ``city_caps_by_period``: period id -> a frame like ``city_caps`` holding the
  ``cap_by_period`` columns (``inf`` where none is named or the cell is empty);
  only periods some resource names appear; the last period's caps are
  ``city_caps``.

Plan periods (spec v2): ``periods`` is empty for an instance without
``[[periods]]``; :attr:`Instance.plan_periods` always gives the periods to
model (one implicit period then), and :attr:`Instance.phased` says which.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

TABLE_NAMES = ("cities", "facilities", "arcs", "sites", "distances")
# The columns each table must have (spec §2); ``lon``/``lat`` may come from a Point geometry instead.
TABLE_COLUMNS = {
    "cities": ("id", "lon", "lat"),
    "facilities": ("id", "origin", "type"),
    "arcs": ("facility", "destination"),
    "sites": ("type", "city"),
    "distances": ("from", "to"),  # and km and/or minutes
}
BUILTIN_FACILITY_COLUMNS = ("jobs", "residents", "service_units")
WEIGHT_NAMES = ("relocation", "operating", "access", "sites", "shortfall")


@dataclass(frozen=True)
class FacilityType:
    """A facility type and its relocation rules (``[[types]]``)."""

    id: str
    allowed_tiers: tuple[str, ...] | None = None  # None: every tier
    min_km: float = 0.0
    max_km: float = math.inf
    min_minutes: float | None = None  # None: the key is absent (no travel-time rule)
    max_minutes: float | None = None
    same_cluster: bool = False
    splittable: bool = False
    household_factor: float = 1.0
    cost_per_job_km: float = 0.0
    annual_cost_per_job: float = 0.0
    access_cost_per_unit_km: float = 0.0
    requires_site: bool = False
    site_cost: float = 0.0
    site_capacity_jobs: float = math.inf
    min_site_jobs: float = 0.0
    min_sites: int = 0
    max_sites: float = math.inf  # a whole number, or inf for no limit


@dataclass(frozen=True)
class Resource:
    """A capacity dimension: facilities use column ``use``, cities cap column ``cap``."""

    id: str
    use: str
    cap: str
    cap_by_period: Mapping[str, str] = field(default_factory=dict)  # period id -> city column


@dataclass(frozen=True)
class Period:
    """A plan period (``[[periods]]``): moves and site openings happen in one period."""

    id: str
    end_year: int
    budget: float | None = None  # None: no period_budget row


@dataclass(frozen=True)
class Travel:
    """How minutes are timed where the distances table gives none (``[travel]``)."""

    speed_kmh: float
    detour: float = 1.0


@dataclass(frozen=True)
class Source:
    """A megacity core that must shed functions (``[[sources]]``)."""

    city: str
    target_persons: float  # T_s, derived from whichever target form was given
    target_form: str  # "target_reduction" | "target_reduction_pct" | "target_density"
    target_value: float
    core_population: float | None = None
    core_area_km2: float | None = None
    soft: bool = False
    shortfall_penalty: float = 0.0
    min_share: Mapping[str, float] = field(default_factory=dict)
    milestones: Mapping[str, float] = field(default_factory=dict)  # period id -> share of the target

    @property
    def density_before(self) -> float | None:
        if self.core_population is None or self.core_area_km2 is None:
            return None
        return self.core_population / self.core_area_km2


@dataclass(frozen=True)
class Policy:
    """Plan-wide rules (``[policy]``); ``None`` means the rule is off."""

    budget: float | None = None
    max_destination_share: float | None = None
    min_region_share: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Weights:
    """Objective weights (``[objective] weights``)."""

    relocation: float = 1.0
    operating: float = 1.0
    access: float = 1.0
    sites: float = 1.0
    shortfall: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in WEIGHT_NAMES}


# Scenario edits re-run the loader's validation, which sits above this module:
# spatialopt.scenarios installs its apply_changes here when imported (and
# importing spatialopt imports it), so that this module imports nothing above it.
_change_applier: Callable[..., Instance] | None = None


def install_change_applier(apply: Callable[..., Instance]) -> None:
    """Make ``apply(instance, changes, **kwargs)`` what :meth:`Instance.with_changes` calls."""
    global _change_applier
    _change_applier = apply


@dataclass(frozen=True)
class Instance:
    """A validated instance. Build one with :func:`spatialopt.load`."""

    name: str
    types: Mapping[str, FacilityType]
    resources: tuple[Resource, ...]
    sources: Mapping[str, Source]
    cities: pd.DataFrame
    city_caps: pd.DataFrame
    facilities: pd.DataFrame
    facility_use: pd.DataFrame
    arcs: pd.DataFrame | None = None
    sites: pd.DataFrame | None = None
    distances: pd.DataFrame | None = None
    policy: Policy = field(default_factory=Policy)
    weights: Weights = field(default_factory=Weights)
    description: str = ""
    cost_unit: str = ""
    horizon_years: float = 10.0
    sha256: str = ""  # of the files it was read from (spec §5); "" when built in memory
    warnings: tuple[str, ...] = ()
    source_path: str | None = None  # the manifest it was read from (absolute); None when built in memory
    periods: tuple[Period, ...] = ()  # empty: no [[periods]] (one implicit period, v1.1's meaning)
    base_year: int | None = None
    discount_rate: float = 0.0
    travel: Travel | None = None
    city_caps_by_period: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def phased(self) -> bool:
        """True when the instance lists ``[[periods]]``."""
        return bool(self.periods)

    @property
    def plan_periods(self) -> tuple[Period, ...]:
        """The periods to model: ``periods``, or one implicit period ending at the horizon."""
        if self.periods:
            return self.periods
        horizon = self.horizon_years
        end = int(horizon) if float(horizon).is_integer() else horizon
        return (Period(id="", end_year=end, budget=None),)  # type: ignore[arg-type]

    @property
    def destination_ids(self) -> list[str]:
        """Every city that is not a source, in table order."""
        return [c for c in self.cities.index if c not in self.sources]

    def with_changes(self, changes: object = None, /, **kwargs: object) -> Instance:
        """A NEW validated instance: this one with scenario changes applied (docs/scenarios.md).

            inst.with_changes(scale={"policy.budget": 0.8})
            inst.with_changes(set={"cities.baoding.cap_residents": 80_000}, exclude_cities=["datong"])

        ``changes`` is a mapping with the keys of a scenario (``set``, ``scale``,
        ``unset``, ``exclude_cities``, ``add_cities``, ``remove_facilities``,
        ``add_facilities``); keywords add to it. The result passes the loader's
        own checks; an unknown key or id, or a value they reject, raises
        ``InstanceError`` with every problem located. Its ``sha256`` hashes this
        instance's with the changes. See :func:`spatialopt.scenarios.apply_changes`.
        """
        if _change_applier is None:  # pragma: no cover - importing spatialopt installs it
            raise RuntimeError("scenario changes need spatialopt.scenarios; import spatialopt first")
        return _change_applier(self, changes, **kwargs)

    def __repr__(self) -> str:
        return (
            f"Instance({self.name!r}: {len(self.cities)} cities, "
            f"{len(self.sources)} sources, {len(self.facilities)} facility rows, "
            f"{len(self.types)} types, {len(self.resources)} resources)"
        )
