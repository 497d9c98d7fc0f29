"""spatialopt.periods against spec v2 §3 written out: yearly sums, milestone shares, minutes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import load_dict
from test_validate_v2 import phased

from spatialopt.instance import Instance
from spatialopt.periods import discount_factors, facility_windows, milestone_targets, minutes


def test_discount_factors_are_the_yearly_sums(tmp_path: Path) -> None:
    """δ_p = (1+ρ)^-a and Y_p = Σ_{t=a}^{H-1} (1+ρ)^-t, a = e_{p-1} - e_0 (0 and 5 here), H = 15."""
    data = phased()
    data["instance"]["discount_rate"] = 0.07
    inst = load_dict(tmp_path, data)
    delta, years = discount_factors(inst)
    assert delta == pytest.approx([1.0, 1.07 ** -5], rel=1e-12)
    assert years == pytest.approx([sum(1.07 ** -t for t in range(15)), sum(1.07 ** -t for t in range(5, 15))], rel=1e-12)


def test_rate_zero_counts_the_years_to_the_horizon_and_a_fractional_horizon_is_defined(tmp_path: Path) -> None:
    data = phased()
    data["instance"]["horizon_years"] = 15.5
    delta, years = discount_factors(load_dict(tmp_path, data))
    assert list(delta) == [1.0, 1.0] and list(years) == [15.5, 10.5]


def test_without_periods_the_factors_are_v11s(tmp_path: Path) -> None:
    """One period from year 0: δ = 1 and Y = horizon_years at rate 0 (v1.1's operating years)."""
    from test_validate import valid

    delta, years = discount_factors(load_dict(tmp_path, valid()))
    assert list(delta) == [1.0] and list(years) == [10.0]


def test_milestone_targets_and_windows(tmp_path: Path) -> None:
    data = phased()
    data["facilities"][0]["earliest"] = "p2"
    inst = load_dict(tmp_path, data)
    assert milestone_targets(inst) == {"s": [(0, 5.0), (1, 10.0)]}  # 0.5 x T_s by p1, T_s by p2
    earliest, latest = facility_windows(inst)
    assert list(earliest) == [1] and list(latest) == [1]


def test_minutes_prefer_the_table_then_travel(tmp_path: Path) -> None:
    """s - a: the table's 45 min; a - b: 60 x 1.5 x km(a, b) / 90 by [travel] (km from the table: 30)."""
    data = phased()
    data["cities"].append({"id": "b", "lon": 118.0, "lat": 40.0})
    data["travel"] = {"speed_kmh": 90.0, "detour": 1.5}
    data["distances"] = [{"from": "a", "to": "s", "minutes": 45.0}, {"from": "a", "to": "b", "km": 30.0}]
    inst = load_dict(tmp_path, data)
    assert minutes(inst, ["s", "a"], ["a", "b"]) == pytest.approx([45.0, 60 * 1.5 * 30 / 90])
    assert np.isnan(minutes(phased_without_travel(tmp_path / "x"), "s", "a"))


def phased_without_travel(folder: Path) -> Instance:
    return load_dict(folder, phased())
