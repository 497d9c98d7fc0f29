"""The numeric tolerances of the spec and of reading HiGHS's answers, in one place.

docs/MODEL.md (§5, "Validity") states the spec's; the checker, the result
extraction and the solver settings read them from here.
"""

from __future__ import annotations

#: Spec §5 validity: a constraint holds when ``|violation| <= FEASIBILITY_TOL * max(1, |lhs|, |rhs|)``,
#: an integer variable is within it of a whole number, and a recorded objective or gap
#: matches its recomputation within it (relative, floor 1).
FEASIBILITY_TOL = 1e-6
#: Slack on the inclusive distance bounds of eligibility (min_km, max_km), relative to the
#: bound: it only absorbs last-bit rounding between two correct haversine formulas.
DISTANCE_EPS = 1e-9
#: Spec §5: ``gap = (objective - bound) / max(|objective|, GAP_DENOMINATOR_FLOOR)``.
GAP_DENOMINATOR_FLOOR = 1e-10
#: HiGHS's relative MIP gap when no profile or option sets one (recorded in solution.json).
DEFAULT_MIP_REL_GAP = 1e-4
#: HiGHS's absolute MIP gap when no profile or option sets one (HiGHS's own default).
DEFAULT_MIP_ABS_GAP = 1e-6
#: Unit values this close to zero are solver noise, not a move (removed before reporting).
UNIT_DUST = 1e-9
#: A site variable above this is an opened site (HiGHS reports binaries within its integrality tolerance).
OPEN_SITE_THRESHOLD = 0.5
