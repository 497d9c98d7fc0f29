"""docs/extensions.md states the tolerances the code uses: its table and spatialopt.tolerances agree."""

from __future__ import annotations

import re
from pathlib import Path

from spatialopt import check, tolerances

EXTENSIONS_MD = Path(__file__).parents[2] / "docs" / "extensions.md"


def test_extensions_md_states_every_tolerance_with_its_value() -> None:
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| ([0-9.e-]+) \|", EXTENSIONS_MD.read_text(encoding="utf-8"), re.MULTILINE))
    defined = {name: getattr(tolerances, name) for name in dir(tolerances) if name.isupper()}
    assert set(rows) == set(defined)
    assert {name: float(value) for name, value in rows.items()} == defined


def test_the_checker_uses_them() -> None:
    assert check.TOL == tolerances.FEASIBILITY_TOL and check.DIST_EPS == tolerances.DISTANCE_EPS
