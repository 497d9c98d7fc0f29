"""Bounds on the numbers the model forms from an instance's values (spec §3-§4).

Every value of an instance is at most ``MAX_MAGNITUDE`` (1e15) in size
(:mod:`spatialopt.values`), but the model multiplies them: an arc's cost is
``weight × horizon_years × annual_cost_per_job × jobs × cost_index spread``
and the like. HiGHS reads any coefficient of size 1e20 or more as infinite, so
a product past that silently changes the model (or ends in status 'error').
:func:`magnitude_problems` bounds each such product from above, cheaply, per
facility, and reports those beyond ``COEFFICIENT_LIMIT`` with their factors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from .derive import EARTH_RADIUS_KM
from .errors import Problem
from .instance import Instance
from .tables import RawTable

COEFFICIENT_LIMIT = 1e15  # five orders below HiGHS's infinity (1e20): room for sums and scaling
LIMIT_TEXT = "at most 1e15 (spatialopt's limit on the model's coefficients; HiGHS reads 1e20 as infinite)"
HALF_CIRCUMFERENCE_KM = math.pi * EARTH_RADIUS_KM  # the longest great-circle distance


def magnitude_problems(instance: Instance, label: str, tables: Mapping[str, RawTable]) -> list[Problem]:
    """Located problems for every model number of ``instance`` that may exceed ``COEFFICIENT_LIMIT``."""
    problems: list[Problem] = []
    fac = instance.facilities
    if not len(fac):
        return problems
    where_table = tables["facilities"].label if "facilities" in tables else f"{label} [[facilities]]"

    def facility_where(fid: str) -> str:
        table = tables.get("facilities")
        if table is not None:
            for index, row in enumerate(table.rows):
                if str(row.get("id")) == fid:
                    return table.where(index, fid)
        return f"{where_table} (id {fid!r})"

    count = fac["count"].to_numpy(dtype=float)
    jobs = fac["jobs"].to_numpy(dtype=float)
    residents = fac["residents"].to_numpy(dtype=float)
    for column, values in (("residents", residents),):
        over = np.nonzero(values > COEFFICIENT_LIMIT)[0]
        for i in over[:5]:
            problems.append(Problem(facility_where(fac.index[i]), column, float(values[i]),
                                    f"{LIMIT_TEXT} (jobs × the type's household_factor)"))
    for column, values in (("jobs × count", jobs * count), ("residents × count", residents * count)):
        total = float(values.sum())
        if total > COEFFICIENT_LIMIT:
            problems.append(Problem(where_table, f"sum of {column}", float(f"{total:.3g}"),
                                    f"{LIMIT_TEXT} (the targets and shares add these up)"))

    problems += _arc_cost_problems(instance, facility_where, where_table, jobs)
    w = instance.weights
    for type_id, kind in instance.types.items():
        if kind.requires_site and w.sites * kind.site_cost > COEFFICIENT_LIMIT:
            problems.append(Problem(f"{label} [[types]] (id {type_id!r})", "site_cost", kind.site_cost,
                                    f"weights.sites × site_cost {LIMIT_TEXT}"))
    if instance.sites is not None and len(instance.sites):
        worst = float(np.nan_to_num(instance.sites["site_cost"].to_numpy(dtype=float)).max(initial=0.0))
        if w.sites * worst > COEFFICIENT_LIMIT:
            problems.append(Problem(tables["sites"].label if "sites" in tables else label, "site_cost", worst,
                                    f"weights.sites ({w.sites:g}) × site_cost {LIMIT_TEXT}"))
    for city, source in instance.sources.items():
        if source.soft and w.shortfall * source.shortfall_penalty > COEFFICIENT_LIMIT:
            problems.append(Problem(f"{label} [[sources]] (city {city!r})", "shortfall_penalty",
                                    source.shortfall_penalty, f"weights.shortfall × shortfall_penalty {LIMIT_TEXT}"))
    return problems


def _arc_cost_problems(
    instance: Instance, facility_where: Callable[[str], str], where_table: str, jobs: np.ndarray
) -> list[Problem]:
    """An upper bound on each facility's weighted arc cost c_fd (and unweighted r_fd, used by the budget)."""
    fac = instance.facilities
    w = instance.weights
    longest = HALF_CIRCUMFERENCE_KM
    if instance.distances is not None and len(instance.distances):
        longest = max(longest, float(instance.distances["km"].max()))
    cost_index = instance.cities["cost_index"].to_numpy(dtype=float)
    spread = float(cost_index.max() - cost_index.min()) if cost_index.size else 0.0
    override = np.zeros(len(fac))
    if instance.arcs is not None and len(instance.arcs):
        costs = instance.arcs["cost"].abs().groupby(instance.arcs["facility"]).max()
        override = np.nan_to_num(costs.reindex(fac.index).to_numpy(dtype=float))
    types = fac["type"].to_numpy(dtype=object)
    per_type = {t: instance.types[t] for t in set(types)}
    per_km = np.array([per_type[t].cost_per_job_km for t in types])
    annual = np.array([per_type[t].annual_cost_per_job for t in types])
    access = np.array([per_type[t].access_cost_per_unit_km for t in types])
    km = np.array([min(per_type[t].max_km, longest) for t in types])
    relocation = np.maximum(np.abs(fac["fixed_cost"].to_numpy(dtype=float)) + per_km * jobs * km, override)
    operating = instance.horizon_years * annual * jobs * spread
    access_cost = access * fac["service_units"].to_numpy(dtype=float) * km
    bound = w.relocation * relocation + w.operating * operating + w.access * access_cost
    worst = np.maximum(bound, relocation)
    over = np.nonzero(worst > COEFFICIENT_LIMIT)[0]
    problems: list[Problem] = []
    for i in over[:5]:
        parts = {
            "relocation": w.relocation * relocation[i], "operating": w.operating * operating[i],
            "access": w.access * access_cost[i],
        }
        largest = max(parts, key=lambda k: parts[k])
        factors = {
            "relocation": f"weights.relocation {w.relocation:g} × (fixed_cost + cost_per_job_km {per_km[i]:g} × jobs "
                          f"{jobs[i]:g} × up to {km[i]:,.0f} km, or the arcs table's cost)",
            "operating": f"weights.operating {w.operating:g} × horizon_years {instance.horizon_years:g} × "
                         f"annual_cost_per_job {annual[i]:g} × jobs {jobs[i]:g} × cost_index spread {spread:g}",
            "access": f"weights.access {w.access:g} × access_cost_per_unit_km {access[i]:g} × service_units × "
                      f"up to {km[i]:,.0f} km",
        }[largest]
        problems.append(Problem(facility_where(fac.index[i]), "arc cost", float(f"{worst[i]:.3g}"),
                                f"{LIMIT_TEXT}; it is {factors}"))
    if over.size > 5:
        problems.append(Problem(where_table, None, None,
                                f"and {over.size - 5} more facilities whose arc costs may exceed 1e15"))
    return problems
