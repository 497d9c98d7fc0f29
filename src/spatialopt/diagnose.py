"""Why an instance has no plan, said in the instance's own words.

Two tools:

- :func:`presolve_findings`: cheap checks run by ``validate`` and before every
  solve, each quoting numbers ("source beijing-core: hard target 1,200,000
  residents, but its facilities can move at most 900,000 to eligible
  destinations (hospital: max_km 150 leaves 0 cities)"). A finding marked
  ``proves_infeasible`` settles the question without a solver.
- :func:`diagnose`: an elastic relaxation. Each rule family (targets,
  must_move, min_share, capacities, site capacity / minimum / count, budget,
  destination and region shares) gets penalised slack on its rows — on the
  formulation's blocks (:func:`elastic`), so the relaxation reaches every
  family without naming a model component; the relaxed model minimises the
  sum of slacks, each relative to its row's right-hand side (so 1% of a target weighs like 1% of a cap). It is solved
  once per family alone — every family that can repair the plan on its own is
  one alternative ("lower beijing-core's target by 42,000, or raise
  cap_residents of langfang by 42,000") — and once with all families together
  when no single family suffices. Minimising relative slack is a proxy for
  "the smallest set of changes"; the report gives the amounts of each.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .derive import Derived, EligibilityRules, derive
from .formulation import ColumnBlock, Formulation, build
from .instance import Instance
from .matrix import MatrixModel, matrices_from
from .solve import HighsSession
from .status import SolveStatus

COMBINED = "all families together"  # the relaxation of every family at once, as the lists name it
RELAXABLE = (
    "target", "assign", "min_share", "capacity", "site_capacity", "site_min", "site_count",
    "budget", "period_budget", "destination_share", "region_share",
)


@dataclass(frozen=True)
class Finding:
    """One pre-solve observation, with the numbers that make it true."""

    rule: str
    message: str
    proves_infeasible: bool = True

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Change:
    """One change to the instance that a relaxation needed."""

    family: str
    subject: str
    amount: float
    text: str


@dataclass
class Diagnosis:
    """Findings, and the alternative repairs found by relaxing rule families."""

    findings: list[Finding] = field(default_factory=list)
    alternatives: dict[str, list[Change]] = field(default_factory=dict)  # family -> changes that suffice alone
    combined: list[Change] = field(default_factory=list)  # when no single family suffices
    feasible: bool = False  # the instance has a plan as it is
    #: families the time limit left no time for, or whose relaxation found no plan in its share of it
    unsettled: list[str] = field(default_factory=list)
    #: the check solve found no plan in time, nor proved there is none: nothing was relaxed
    undecided: bool = False
    #: families (or COMBINED) whose relaxation stopped at its share of the time: a repair, maybe not the smallest
    unproven: list[str] = field(default_factory=list)
    time_limit: float | None = None  # the seconds the diagnosis had in all

    def lines(self) -> list[str]:
        out = [f"- {f.message}" for f in self.findings]
        if self.feasible:
            out.append("The instance has a feasible plan as it stands.")
            return out
        if self.undecided:
            out.append(f"No plan was found within the time limit{self._limit()}, and none was proved impossible: "
                       "the instance may have one (spatialopt solve, or more time, settles it).")
            return out
        if self.alternatives:
            out.append("Any one of these changes makes a plan possible:")
            for family, changes in self.alternatives.items():
                out.append(f"  [{family}] " + "; ".join(c.text for c in changes) + self._unproven_note(family))
        elif self.combined:
            out.append("No single kind of rule can be relaxed alone; together these changes make a plan possible"
                       + self._unproven_note(COMBINED) + ":")
            out += [f"  [{c.family}] {c.text}" for c in self.combined]
        elif not self.findings and not self.unsettled:
            out.append("No relaxation of the rule families restores a plan (see the findings above).")
        if self.unsettled:
            out.append(f"Not settled within the time limit{self._limit()}: {', '.join(self.unsettled)} "
                       "(spatialopt diagnose INSTANCE --time-limit S gives the search more time).")
        return out

    def _limit(self) -> str:
        return f" of {self.time_limit:g} s" if self.time_limit is not None else ""

    def _unproven_note(self, family: str) -> str:
        return " (found within the time limit: a smaller change may exist)" if family in self.unproven else ""


# -- pre-solve checks ------------------------------------------------------------
def presolve_findings(instance: Instance, derived: Derived | None = None) -> list[Finding]:
    """Cheap checks that quote numbers; see the module docstring."""
    d = derived if derived is not None else derive(instance)
    fac = instance.facilities
    n_fac = len(fac)
    arcs_per_facility = np.bincount(d.arc_f, minlength=n_fac)
    stranded = arcs_per_facility == 0
    count = fac["count"].to_numpy(dtype=float)
    jobs = fac["jobs"].to_numpy(dtype=float)
    residents = fac["residents"].to_numpy(dtype=float)
    must = fac["must_move"].to_numpy(dtype=bool) & (count > 0)
    origin = fac["origin"].to_numpy(dtype=object)
    ftype = fac["type"].to_numpy(dtype=object)
    findings: list[Finding] = []
    rules: list[EligibilityRules] = []  # built only when a stranded facility needs its story

    def why_stranded(i: int) -> str:
        if not rules:
            rules.append(EligibilityRules(instance))
        return _rule_story(rules[0], ftype[i], i)

    for i in np.nonzero(must & stranded)[0]:
        findings.append(Finding(
            "must_move",
            f"facility {fac.index[i]!r} ({ftype[i]}, from {origin[i]}) must move but has no eligible destination: "
            f"{why_stranded(int(i))}",
        ))

    for s, src in instance.sources.items():
        if src.soft or src.target_persons <= 0:
            continue
        mine = origin == s
        movable = float(np.sum(residents[mine & ~stranded] * count[mine & ~stranded]))
        if movable + 1e-9 < src.target_persons:
            stuck = []
            for k in instance.types:
                idx = np.nonzero(mine & stranded & (ftype == k))[0]
                if idx.size:
                    lost = float(np.sum(residents[idx] * count[idx]))
                    stuck.append(f"{k}: {lost:,.0f} residents have no eligible destination, {why_stranded(int(idx[0]))}")
            detail = f" ({'; '.join(stuck)})" if stuck else ""
            findings.append(Finding(
                "target",
                f"source {s!r}: hard target {src.target_persons:,.0f} residents, but its facilities can move at most "
                f"{movable:,.0f} to eligible destinations{detail}",
            ))
        for k, share in src.min_share.items():
            members = (origin == s) & (ftype == k)
            need = share * float(np.sum(jobs[members] * count[members]))
            can = float(np.sum(jobs[members & ~stranded] * count[members & ~stranded]))
            if can + 1e-9 < need:
                findings.append(Finding(
                    "min_share",
                    f"source {s!r}: min_share {share:g} of {k} needs {need:,.0f} jobs to move, but only {can:,.0f} "
                    f"{k} jobs have an eligible destination",
                ))

    findings += _site_findings(instance, d, must, jobs, count)
    capacity = _capacity_findings(instance, d, must, count)
    findings += capacity
    findings += _budget_findings(instance, d, must, residents, count, origin)
    if instance.phased:
        windows = _windows(instance)
        findings += _milestone_findings(instance, windows, stranded, residents, count, origin)
        # A resource whose reachable caps are already exceeded in all is not said again city by city.
        counted = {r.id for r in instance.resources if any(f.message.startswith(f"resource {r.id!r}:") for f in capacity)}
        findings += _capacity_by_period_findings(instance, d, windows, must, arcs_per_facility, count, counted)
        findings += _period_budget_findings(instance, d, windows, must, count)
    return findings


# -- plan periods (spec v2) ------------------------------------------------------------
def _windows(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    """Per facility, the positions of its earliest and latest period."""
    at = {p.id: i for i, p in enumerate(instance.periods)}
    fac = instance.facilities
    return (np.array([at[str(e)] for e in fac["earliest"]], dtype=np.int64),
            np.array([at[str(e)] for e in fac["latest"]], dtype=np.int64))


def _named(ids: Iterable[Any], limit: int = 5) -> str:
    """'f1, f2, f3' — at most ``limit`` ids, then how many more."""
    ids = [str(i) for i in ids]
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def _city_name(instance: Instance, city: str) -> str:
    """The city's ``name`` where the cities table gives one, else its id."""
    if "name" in instance.cities.columns:
        name = instance.cities.at[city, "name"]
        if isinstance(name, str) and name.strip():
            return name
    return city


def _milestone_findings(instance: Instance, windows: tuple[np.ndarray, np.ndarray], stranded: np.ndarray,
                        residents: np.ndarray, count: np.ndarray, origin: np.ndarray) -> list[Finding]:
    """A hard milestone larger than what the facilities allowed to move by then hold.

    A facility counts towards the milestone of period p when it has an eligible
    destination and its earliest period is p or before.
    """
    earliest, _ = windows
    periods = instance.periods
    findings = []
    for s, src in instance.sources.items():
        if src.soft or src.target_persons <= 0:
            continue
        for p, period in enumerate(periods[:-1]):
            if period.id not in src.milestones:
                continue
            need = src.milestones[period.id] * src.target_persons
            mine = (origin == s) & ~stranded
            early = mine & (earliest <= p)
            hold = float(np.sum(residents[early] * count[early]))
            if need > hold + 1e-9 * max(1.0, need):
                late = mine & (earliest > p)
                later = float(np.sum(residents[late] * count[late]))
                detail = (f" ({later:,.0f} more residents are in facilities that may move only after "
                          f"{period.id})") if later > 0 else ""
                findings.append(Finding(
                    "target",
                    f"milestone {period.id} of {s} needs {need:,.0f} residents moved, but the facilities allowed "
                    f"to move by {period.end_year} hold {hold:,.0f}{detail}",
                ))
    return findings


def _capacity_by_period_findings(instance: Instance, d: Derived, windows: tuple[np.ndarray, np.ndarray],
                                 must: np.ndarray, arcs_per_facility: np.ndarray, count: np.ndarray,
                                 counted: set[str]) -> list[Finding]:
    """A city's cap by a period's end below what must-move facilities whose only destination it is need by then.

    A must-move facility with one eligible destination puts its use there by
    the end of its latest period, so every period from its latest on counts it.
    The last period's caps (``cap``) are skipped for the resources in
    ``counted``, whose whole-plan shortage is already a finding.
    """
    _, latest = windows
    n_fac = len(instance.facilities)
    single = must & (arcs_per_facility == 1)
    if not single.any():
        return []
    only_arc = np.full(n_fac, -1, dtype=np.int64)
    on_single = single[d.arc_f]
    only_arc[d.arc_f[on_single]] = np.flatnonzero(on_single)
    city_ids = instance.city_caps.index
    fac_ids = instance.facilities.index
    findings = []
    last = len(instance.periods) - 1
    for j, resource in enumerate(instance.resources):
        for p, period in enumerate(instance.periods):
            if p == last and resource.id not in counted:
                caps, column = instance.city_caps[resource.id], resource.cap
            elif period.id in resource.cap_by_period and period.id in instance.city_caps_by_period:
                caps, column = instance.city_caps_by_period[period.id][resource.id], resource.cap_by_period[period.id]
            else:
                continue
            cap = caps.reindex(city_ids).to_numpy(dtype=float)
            chosen = np.flatnonzero(single & (latest <= p))
            if chosen.size == 0:
                continue
            arcs = only_arc[chosen]
            need = np.bincount(d.arc_d[arcs], weights=d.use[arcs, j] * count[chosen], minlength=len(city_ids))
            for c in np.flatnonzero(np.isfinite(cap) & (need > cap + 1e-9 * np.maximum(1.0, cap))):
                who = chosen[d.arc_d[arcs] == c]
                findings.append(Finding(
                    "capacity",
                    f"{_city_name(instance, city_ids[c])}'s {resource.id} cap by {period.end_year} ({column}) is "
                    f"{cap[c]:,.0f} but the must-move facilities whose only destination it is need {need[c]:,.0f} "
                    f"by then ({_named(fac_ids[who])})",
                ))
    return findings


def _period_budget_findings(instance: Instance, d: Derived, windows: tuple[np.ndarray, np.ndarray],
                            must: np.ndarray, count: np.ndarray) -> list[Finding]:
    """Budgets of a run of periods below the cheapest spending that must-move facilities force into it.

    A must-move facility whose window (earliest to latest) lies inside the run
    spends at least its cheapest relocation there; any facility that may move
    in the run with a negative cheapest relocation may give that money back.
    Only runs of periods that all have a budget are compared; a run that
    contains a run already reported is not reported again.
    """
    if d.n_arcs == 0:
        return []
    earliest, latest = windows
    periods = instance.periods
    n_fac = len(instance.facilities)
    cheapest = np.full(n_fac, np.inf)
    np.minimum.at(cheapest, d.arc_f, d.relocation)
    has_arc = np.isfinite(cheapest)
    unit = f" {instance.cost_unit}" if instance.cost_unit else ""
    fac_ids = instance.facilities.index
    findings: list[Finding] = []
    reported: list[tuple[int, int]] = []
    for length in range(1, len(periods) + 1):
        for a in range(len(periods) - length + 1):
            b = a + length - 1
            run = periods[a:b + 1]
            if any(p.budget is None for p in run) or any(a <= x and y <= b for x, y in reported):
                continue
            inside = must & has_arc & (earliest >= a) & (latest <= b)
            meets = has_arc & ~inside & (earliest <= b) & (latest >= a) & (cheapest < 0)
            spend = float(np.sum(cheapest[inside] * count[inside]) + np.sum(cheapest[meets] * count[meets]))
            budget = float(sum(p.budget for p in run if p.budget is not None))
            if not inside.any() or spend <= budget + 1e-9 * max(1.0, abs(budget)):
                continue
            reported.append((a, b))
            who = _named(fac_ids[inside])
            if a == b:
                text = (f"period {run[0].id}'s budget is {budget:,.2f}{unit} but the must-move facilities that can "
                        f"move only in it cost at least {spend:,.2f}{unit} to relocate ({who})")
            else:
                text = (f"periods {run[0].id} to {run[-1].id} have budgets totalling {budget:,.2f}{unit} but the "
                        f"must-move facilities that must move within them cost at least {spend:,.2f}{unit} "
                        f"to relocate ({who})")
            findings.append(Finding("period_budget", text))
    return findings


def _rule_story(rules: EligibilityRules, type_id: str, position: int) -> str:
    """'of 12 destinations, allowed_tiers leaves 4, max_km 160 leaves 0'."""
    kind = rules.instance.types[type_id]
    masks = rules.masks(type_id, np.array([position]))
    alive = np.ones(len(rules.city_ids), dtype=bool)
    steps = []
    for name, mask in masks:
        alive &= mask[0]
        left = int(alive.sum())
        label = {"min_km": f"min_km {kind.min_km:g}", "max_km": f"max_km {kind.max_km:g}"}.get(name, name)
        if name == "destination":
            steps.append(f"of {left} destinations")
            continue
        steps.append(f"{label} leaves {left}")
        if left == 0:
            break
    return ", ".join(steps)


def _site_findings(instance: Instance, d: Derived, must: np.ndarray, jobs: np.ndarray, count: np.ndarray) -> list[Finding]:
    findings = []
    fac = instance.facilities
    ftype = fac["type"].to_numpy(dtype=object)
    site_type = np.asarray(d.site_type, dtype=object)
    for k, kind in instance.types.items():
        if not kind.requires_site:
            continue
        candidates = np.nonzero(site_type == k)[0]
        if kind.min_sites > candidates.size:
            findings.append(Finding(
                "site_count", f"type {k!r}: min_sites {kind.min_sites} but only {candidates.size} site candidate(s)"
            ))
        must_jobs = float(np.sum(jobs[must & (ftype == k)] * count[must & (ftype == k)]))
        if must_jobs <= 0 or candidates.size == 0:
            continue
        reachable = set(d.arc_d[np.isin(d.arc_f, np.nonzero(ftype == k)[0])].tolist())
        caps = sorted((d.site_capacity[i] for i in candidates if int(d.site_d[i]) in reachable), reverse=True)
        if math.isfinite(kind.max_sites):
            caps = caps[: int(kind.max_sites)]
        total = float(sum(caps))
        if math.isfinite(total) and total + 1e-9 < must_jobs:
            findings.append(Finding(
                "site_capacity",
                f"type {k!r}: {must_jobs:,.0f} jobs must move, but its reachable sites hold at most {total:,.0f} jobs"
                + (f" (max_sites {int(kind.max_sites)})" if math.isfinite(kind.max_sites) else ""),
            ))
    return findings


def _capacity_findings(instance: Instance, d: Derived, must: np.ndarray, count: np.ndarray) -> list[Finding]:
    """Per resource: what must-move facilities use at least (their smallest use over their arcs)
    against everything the cities they can reach hold (when every one of those caps is finite)."""
    findings = []
    movers = np.nonzero(must)[0]
    on_mover = np.isin(d.arc_f, movers)
    if not on_mover.any():
        return []
    reachable = np.unique(d.arc_d[on_mover])
    for j, resource in enumerate(instance.resources):
        caps = instance.city_caps[resource.id].to_numpy(dtype=float)[reachable]
        if not np.all(np.isfinite(caps)):
            continue
        least = np.full(len(instance.facilities), np.inf)
        np.minimum.at(least, d.arc_f[on_mover], d.use[on_mover, j])
        need = float(np.sum(least[movers] * count[movers]))
        room = float(caps.sum())
        if need > room + 1e-9 * max(1.0, room):
            findings.append(Finding(
                "capacity",
                f"resource {resource.id!r}: facilities that must move need at least {need:,.0f} of it, but the "
                f"{reachable.size} cities they can reach hold {room:,.0f} ({resource.cap})",
            ))
    return findings


def _budget_findings(
    instance: Instance, d: Derived, must: np.ndarray, residents: np.ndarray, count: np.ndarray, origin: np.ndarray
) -> list[Finding]:
    """A lower bound on spending: must-move facilities at their cheapest arc, hard targets by a
    fractional knapsack on the cheapest relocation per resident, and the cheapest min_sites."""
    budget = instance.policy.budget
    if budget is None or d.n_arcs == 0:
        return []
    n_fac = len(instance.facilities)
    cheapest = np.full(n_fac, np.inf)
    np.minimum.at(cheapest, d.arc_f, d.relocation)
    has_arc = np.isfinite(cheapest)
    spend = float(np.sum(cheapest[must & has_arc] * count[must & has_arc]))
    free = has_arc & ~must & (cheapest < 0)  # moves that give money back can only lower the bound
    spend += float(np.sum(cheapest[free] * count[free]))
    for s, src in instance.sources.items():
        if src.soft or src.target_persons <= 0:
            continue
        mine = origin == s
        covered = float(np.sum(residents[mine & (must | free)] * count[mine & (must | free)]))
        need = src.target_persons - covered
        options = np.nonzero(mine & has_arc & ~must & ~free & (residents > 0))[0]
        order = options[np.argsort(cheapest[options] / residents[options])]
        for i in order:
            if need <= 0:
                break
            take = min(count[i], need / residents[i])
            spend += take * cheapest[i]
            need -= take * residents[i]
    site_type = np.asarray(d.site_type, dtype=object)
    for k, kind in instance.types.items():
        if kind.requires_site and kind.min_sites > 0:
            costs = np.sort(d.site_cost[site_type == k])
            spend += float(costs[: kind.min_sites].sum())
    if spend > budget + 1e-9 * max(1.0, abs(budget)):
        unit = f" {instance.cost_unit}" if instance.cost_unit else ""
        return [Finding(
            "budget",
            f"budget {budget:,.2f}{unit}, but meeting the must-move facilities, the hard targets and min_sites "
            f"costs at least {spend:,.2f}{unit} in relocation and sites",
        )]
    return []


# -- elastic relaxation ----------------------------------------------------------------
def diagnose(
    instance: Instance, time_limit: float = 60.0, threads: int | None = None, known_infeasible: bool = False
) -> Diagnosis:
    """Findings plus, when the instance has no plan, the repairs found by relaxation.

    ``time_limit`` is the seconds of the whole diagnosis: the check solve and
    the relaxations share it (:class:`_Clock`). A relaxation stopped at its
    share with a repair is reported as one that may not be the smallest
    (``unproven``); families the time did not reach, or whose relaxation
    found no plan in its share, are listed (``unsettled``). A check solve that
    finds no plan in time and proves none impossible relaxes nothing
    (``undecided``): the instance may have a plan.
    ``known_infeasible`` skips the check solve of the unrelaxed model (a caller
    that has just seen HiGHS prove infeasibility need not pay for it twice).
    """
    clock = _Clock(time_limit)
    derived = derive(instance)
    diagnosis = Diagnosis(findings=presolve_findings(instance, derived), time_limit=time_limit)
    structural = [f for f in diagnosis.findings if f.rule == "must_move"]
    base = build(instance, derived)
    if not known_infeasible and not base.trivially_infeasible:
        status = SolveStatus.OPTIMAL if base.n_cols == 0 else \
            _solve_all_columns(matrices_from(base), clock.left(), threads)[0]
        diagnosis.feasible = status.has_solution
        diagnosis.undecided = status == SolveStatus.LIMIT_NO_SOLUTION
        if diagnosis.feasible or diagnosis.undecided:
            return diagnosis
    if structural:
        return diagnosis  # no relaxation of rows can give a stranded facility a destination
    present = {b.family for b in base.rows if b.n_rows}
    families = [f for f in RELAXABLE if f in present]
    for i, family in enumerate(families):
        # a share of what is left, keeping one for the combined relaxation while no family alone has sufficed
        share = clock.share(len(families) - i + (0 if diagnosis.alternatives else 1))
        if share is None:
            diagnosis.unsettled += families[i:]
            break
        relaxed = _relax(instance, derived, {family}, share, threads)
        if relaxed is not None and relaxed.unsettled:
            diagnosis.unsettled.append(family)
        elif relaxed is not None and relaxed.changes:
            diagnosis.alternatives[family] = relaxed.changes
            if relaxed.stopped:
                diagnosis.unproven.append(family)
    if not diagnosis.alternatives and not diagnosis.unsettled:
        share = clock.share(1)
        relaxed = None if share is None else _relax(instance, derived, set(RELAXABLE), share, threads)
        if relaxed is None or relaxed.unsettled:
            diagnosis.unsettled.append(COMBINED)
        else:
            diagnosis.combined = relaxed.changes
            if relaxed.stopped:
                diagnosis.unproven.append(COMBINED)
    return diagnosis


class _Clock:
    """The diagnosis's time: what is left of ``limit`` seconds, shared out among the relaxations still to run."""

    MIN_SHARE = 0.05  # seconds: below this a HiGHS run cannot say anything

    def __init__(self, limit: float) -> None:
        self.deadline = time.perf_counter() + limit

    def left(self) -> float:
        return max(0.0, self.deadline - time.perf_counter())

    def share(self, runs: int) -> float | None:
        """An even share of the time left among ``runs`` runs (the first's), or None when too little is left."""
        left = self.left()
        return None if left < self.MIN_SHARE else left / max(1, runs)


@dataclass(frozen=True)
class _Elastic:
    """The relaxed rows of one family: their keys, bounds and slack columns."""

    family: str
    keys: list[Any]
    lower: np.ndarray
    upper: np.ndarray
    short: np.ndarray  # per row: its "short of the lower bound" column, -1 when the row has no lower bound
    over: np.ndarray  # per row: its "over the upper bound" column, -1 when the row has no upper bound


def elastic(form: Formulation, families: Iterable[str]) -> list[_Elastic]:
    """Give the rows of ``families`` penalised slack, on the blocks themselves; minimise relative slack.

    A row ``lo <= a·v <= up`` becomes ``lo <= a·v + short - over <= up`` (a
    ``short`` column where ``lo`` is finite, an ``over`` column where ``up``
    is), each slack costing ``1 / max(1, |rhs|)`` so that 1% of a target
    weighs like 1% of a cap; every other cost is dropped. ``assign`` rows are
    relaxed only where they are equalities (``must_move``): "at most count" is
    physics, not a rule. Works for every family of the formulation, including
    an analyst's own.
    """
    out: list[_Elastic] = []
    weights: dict[str, np.ndarray] = {}
    for family in families:
        block = form.find(family)
        if block is None or not block.n_rows:
            continue
        rows = np.arange(block.n_rows)
        if family == "assign":
            rows = rows[block.lower == block.upper]
        if rows.size == 0:
            continue
        lower, upper = block.lower[rows], block.upper[rows]
        scale = 1.0 / np.maximum(1.0, np.abs(np.where(np.isfinite(lower), lower, upper)))
        short = _slack_columns(form, f"{family}_short", np.isfinite(lower), scale, weights)
        over = _slack_columns(form, f"{family}_over", np.isfinite(upper), scale, weights)
        has_short, has_over = short >= 0, over >= 0
        form.replace_rows(replace(
            block, row=np.r_[block.row, rows[has_short], rows[has_over]],
            col=np.r_[block.col, short[has_short], over[has_over]],
            val=np.r_[block.val, np.ones(int(has_short.sum())), -np.ones(int(has_over.sum()))],
        ))
        keys = block.keys
        out.append(_Elastic(family, [keys[i] for i in rows], lower, upper, short, over))
    form.set_objective("relaxation", weights)  # type: ignore[arg-type]
    return out


def _slack_columns(form: Formulation, name: str, present: np.ndarray, scale: np.ndarray,
                   weights: dict[str, np.ndarray]) -> np.ndarray:
    """One slack column per row where ``present``; per row its column index, -1 elsewhere."""
    n = int(present.sum())
    where = form.add_columns(ColumnBlock(name, np.zeros(n), np.full(n, np.inf), np.zeros(n, dtype=bool), np.zeros(n)))
    weights[name] = scale[present]
    column = np.full(present.size, -1, dtype=np.int64)
    column[present] = where.start + np.arange(n)
    return column


@dataclass(frozen=True)
class _Relaxed:
    """What a relaxation needed, and whether it stopped at its time limit (a repair, maybe not the smallest).

    ``unsettled``: it stopped without any plan, so whether the family can repair the plan is not known.
    """

    changes: list[Change]
    stopped: bool = False
    unsettled: bool = False


def _relax(instance: Instance, derived: Derived, families: set[str], time_limit: float,
           threads: int | None) -> _Relaxed | None:
    """Changes needed when ``families`` get slack; None if that does not restore a plan (or nothing relaxes)."""
    form = build(instance, derived)
    if form.trivially_infeasible:
        return None
    relaxed = elastic(form, [f for f in RELAXABLE if f in families])
    if not relaxed:
        return None
    status, values = _solve_all_columns(matrices_from(form), time_limit, threads)
    if status == SolveStatus.LIMIT_NO_SOLUTION:
        return _Relaxed([], unsettled=True)
    if values is None:
        return None
    stopped = status != SolveStatus.OPTIMAL
    changes = []
    shares: dict[str, list[tuple[Any, float]]] = {"destination_share": [], "region_share": []}
    for group in relaxed:
        short = np.where(group.short >= 0, values[np.maximum(group.short, 0)], 0.0)
        over = np.where(group.over >= 0, values[np.maximum(group.over, 0)], 0.0)
        rhs = np.where(np.isfinite(group.lower), group.lower, group.upper)
        for i in np.flatnonzero(np.maximum(short, over) > 1e-6 * np.maximum(1.0, np.abs(rhs))):
            if group.family in shares:
                shares[group.family].append((group.keys[i], over[i] if group.family == "destination_share" else short[i]))
                continue
            lower = float(group.lower[i]) if np.isfinite(group.lower[i]) else None
            upper = float(group.upper[i]) if np.isfinite(group.upper[i]) else None
            changes.append(_describe(instance, group.family, group.keys[i], float(short[i]), float(over[i]), lower, upper))
    totals = {name: float(values[form.column(name).start]) for name in ("moved_residents", "moved_jobs")
              if form.has_column(name)}
    changes += _share_changes(instance, totals, shares)
    return _Relaxed(changes, stopped)


def _solve_all_columns(matrices: MatrixModel, time_limit: float,
                       threads: int | None) -> tuple[SolveStatus, np.ndarray | None]:
    """The run's status and every column's value in HiGHS's plan (None without a plan)."""
    session = HighsSession(matrices, {"time_limit": time_limit, "threads": threads, "mip_rel_gap": 1e-6})
    run = session.run()
    if not run.status.has_solution:
        return run.status, None
    return run.status, np.asarray(session.solution().col_value, dtype=float)


def _share_changes(instance: Instance, totals: dict[str, float], shares: dict[str, list[tuple[Any, float]]]) -> list[Change]:
    """Share slacks as the share value that would have been needed.

    The rows read part - share * whole <= 0 (destinations) and
    part - share * whole >= 0 (regions), the whole being ``moved_residents``
    or ``moved_jobs``; a slack s means the share must move by s / whole.
    """
    out = []
    if shares["destination_share"]:
        alpha = instance.policy.max_destination_share or 0.0
        whole = max(totals.get("moved_residents", 0.0), 1e-9)
        need = max(alpha + over / whole for _, over in shares["destination_share"])
        where = ", ".join(str(d) for d, _ in sorted(shares["destination_share"], key=lambda t: -t[1]))
        out.append(Change(
            "destination_share", "policy", need - alpha,
            f"raise max_destination_share from {alpha:g} to at least {need:.3f} (too much would go to {where})",
        ))
    for region, short in shares["region_share"]:
        beta = instance.policy.min_region_share[region]
        whole = max(totals.get("moved_jobs", 0.0), 1e-9)
        out.append(Change(
            "region_share", region, short,
            f"lower min_region_share.{region} from {beta:g} to at most {max(0.0, beta - short / whole):.3f} "
            f"(the region is {short:,.0f} jobs short)",
        ))
    return out


def _target_text(instance: Instance, index: Any, short: float, lower: float | None) -> str:
    """A target row's slack: the source's target, or (phased, before the last period) its milestone share."""
    if not isinstance(index, tuple) or index[1] == instance.periods[-1].id:
        s = index[0] if isinstance(index, tuple) else index
        target = instance.sources[s].target_persons
        return f"lower the target of {s} by {short:,.0f} residents (from {target:,.0f} to {target - short:,.0f})"
    s, period = index
    end = next(p.end_year for p in instance.periods if p.id == period)
    share, need = instance.sources[s].milestones[period], float(lower or 0.0)
    new_share = max(0.0, share * (1 - short / need)) if need else 0.0
    return (f"lower milestone {period} of {s} by {short:,.0f} residents moved by {end} "
            f"(from {need:,.0f} to {need - short:,.0f}: milestones.{period} from {share:g} "
            f"to at most {new_share:.3f})")


def _capacity_text(instance: Instance, index: Any, over: float, upper: float | None) -> str:
    """A capacity row's slack as a raised cap column; a phased row says which period's cap it is."""
    r, d = index[:2]
    resource = next(res for res in instance.resources if res.id == r)
    column = resource.cap if len(index) == 2 else resource.cap_by_period.get(index[2], resource.cap)
    cap = float(upper or 0.0)
    text = f"raise {column} of {d} by {over:,.0f} (from {cap:,.0f} to {cap + over:,.0f})"
    if len(index) == 3:
        end = next(p.end_year for p in instance.periods if p.id == index[2])
        text += f", its {r} cap by {end}"
    return text


def _describe(instance: Instance, family: str, index: Any, short: float, over: float,
              lower: float | None, upper: float | None) -> Change:
    """A slack, said as a change to the instance."""
    unit = f" {instance.cost_unit}" if instance.cost_unit else ""
    amount = max(over, short)
    if family == "target":
        text = _target_text(instance, index, short, lower)
    elif family == "assign":
        text = f"let facility {index} stay (must_move = false; {short:g} unit(s) cannot move)"
    elif family == "min_share":
        s, k = index
        share = instance.sources[s].min_share[k]
        text = f"lower min_share.{k} of {s} from {share:g} (it is {short:,.0f} jobs short)"
    elif family == "capacity":
        text = _capacity_text(instance, index, over, upper)
    elif family == "site_capacity":
        k, d = index
        text = f"raise the {k} site capacity at {d} by {over:,.0f} jobs"
    elif family == "site_min":
        k, d = index
        text = f"lower min_site_jobs of {k} by {short:,.0f} (the site at {d} is that short)"
    elif family == "site_count":
        kind = instance.types[index]
        if short > over:
            text = f"lower min_sites of {index} by {math.ceil(short - 1e-9)} (from {kind.min_sites})"
        else:
            text = f"raise max_sites of {index} by {math.ceil(over - 1e-9)} (from {int(kind.max_sites)})"
    elif family == "budget":
        text = f"raise the budget by {over:,.2f}{unit} (from {upper:,.2f} to {upper + over:,.2f})"  # type: ignore[operator]
    elif family == "period_budget":
        text = (f"raise the budget of period {index} by {over:,.2f}{unit} "
                f"(from {upper:,.2f} to {upper + over:,.2f})")  # type: ignore[operator]
    else:  # pragma: no cover - every relaxable family is named above
        text = f"{family}[{index}] off by {amount:g}"
    subject = index if isinstance(index, str) else "/".join(map(str, index)) if isinstance(index, tuple) else str(index)
    return Change(family, subject, amount, text)
