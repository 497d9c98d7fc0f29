"""Spec v2 keys and columns (spec §2): periods, travel, milestones, caps by period, windows, minutes.

Each bad value is reported once, located (file, entry or row, column) with
what was expected; the valid phased instance loads with the defaults the spec
gives.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import load_dict
from test_validate import one_problem, valid

from spatialopt.instance import Period, Travel


def phased() -> dict[str, Any]:
    data = valid()
    data["instance"].update(base_year=2020, horizon_years=15)
    data["periods"] = [{"id": "p1", "end_year": 2025, "budget": 50.0}, {"id": "p2", "end_year": 2035}]
    data["resources"][0]["cap_by_period"] = {"p1": "cap_res_p1"}
    data["cities"][1]["cap_res_p1"] = 40
    data["sources"][0]["milestones"] = {"p1": 0.5}
    data["facilities"][0].update(earliest="p1", latest="p2")
    return data


def test_phased_instance_loads_with_defaults(tmp_path: Path) -> None:
    data = phased()
    data["facilities"].append({"id": "g", "origin": "s", "type": "m", "jobs": 5})
    data["cities"].append({"id": "b", "lon": 118.0, "lat": 40.0})
    inst = load_dict(tmp_path, data)
    assert inst.phased and inst.base_year == 2020 and inst.discount_rate == 0.0 and inst.travel is None
    assert inst.periods == (Period("p1", 2025, 50.0), Period("p2", 2035, None))
    assert inst.plan_periods == inst.periods
    assert inst.resources[0].cap_by_period == {"p1": "cap_res_p1"}
    caps = inst.city_caps_by_period["p1"]
    assert caps.loc["a", "res"] == 40 and math.isinf(caps.loc["b", "res"]) and math.isinf(caps.loc["s", "res"])
    assert inst.sources["s"].milestones == {"p1": 0.5}
    assert tuple(inst.facilities.loc["g", ["earliest", "latest"]]) == ("p1", "p2")


def test_instance_without_periods_has_one_implicit_period(tmp_path: Path) -> None:
    inst = load_dict(tmp_path, valid())
    assert not inst.phased and inst.periods == ()
    assert inst.plan_periods == (Period("", 10, None),)
    assert tuple(inst.facilities.loc["f", ["earliest", "latest"]]) == ("", "")
    assert inst.city_caps_by_period == {}


def test_travel_and_minutes_load(tmp_path: Path) -> None:
    data = valid()
    data["travel"] = {"speed_kmh": 120.0}
    data["types"][0].update(max_minutes=60.0)
    data["distances"] = [{"from": "s", "to": "a", "minutes": 45.0}]
    inst = load_dict(tmp_path, data)
    assert inst.travel == Travel(120.0, 1.0)
    assert inst.types["m"].max_minutes == 60.0 and inst.types["m"].min_minutes is None
    row = inst.distances.iloc[0]
    assert row["minutes"] == 45.0 and np.isnan(row["km"])


def test_minutes_rule_without_travel_loads_when_the_table_times_every_pair(tmp_path: Path) -> None:
    data = valid()
    data["types"][0].update(min_minutes=10.0)
    data["distances"] = [{"from": "a", "to": "s", "minutes": 45.0}]
    assert load_dict(tmp_path, data).types["m"].min_minutes == 10.0


def _periods(edit: Any) -> Any:
    def apply(d: dict[str, Any]) -> None:
        d.update(phased())
        edit(d)
    return apply


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        # [instance] and [[periods]]
        (_periods(lambda d: d["instance"].pop("base_year")), ("[instance]", "base_year", "required with [[periods]]")),
        (_periods(lambda d: d["instance"].update(base_year=2020.5)), ("base_year=2020.5", "whole number")),
        (lambda d: d["instance"].update(discount_rate=-0.1), ("discount_rate=-0.1", ">= 0")),
        (_periods(lambda d: d["instance"].update(horizon_years=10)),
         ("[instance]", "horizon_years=10", "2035 - 2020 = 15")),
        (_periods(lambda d: d["periods"][1].update(end_year=2025)),
         ("[[periods]] #2", "end_year=2025", "after the previous period's end_year (2025")),
        (_periods(lambda d: d["periods"][0].update(end_year=2020)), ("[[periods]] #1", "end_year=2020", "after base_year (2020)")),
        (_periods(lambda d: d["periods"][0].update(end_year=2025.5)), ("[[periods]] #1", "end_year=2025.5", "whole number")),
        (_periods(lambda d: d["periods"][0].pop("end_year")), ("[[periods]] #1", "end_year", "required")),
        (_periods(lambda d: d["periods"][1].update(id="p1") or d["facilities"][0].pop("latest")), ("[[periods]] #2", "id='p1'", "unique")),
        (_periods(lambda d: (d["periods"][1].pop("id"), d["facilities"][0].pop("latest"))), ("[[periods]] #2", "id", "required")),
        (_periods(lambda d: d["periods"][0].update(budget=-1.0)), ("[[periods]] #1", "budget=-1.0", ">= 0")),
        (_periods(lambda d: d["periods"][0].update(budgt=1.0)), ("[[periods]] #1", "budgt", "a known key")),
        # [travel]
        (lambda d: d.update(travel={"detour": 1.2}), ("[travel]", "speed_kmh", "required")),
        (lambda d: d.update(travel={"speed_kmh": 0.0}), ("[travel]", "speed_kmh=0.0", "> 0")),
        (lambda d: d.update(travel={"speed_kmh": 60.0, "detour": 0.9}), ("[travel]", "detour=0.9", ">= 1")),
        (lambda d: d.update(travel={"speed_kmh": 60.0, "speeed": 1}), ("[travel]", "speeed", "a known key")),
        # types' minutes band
        (lambda d: d.update(travel={"speed_kmh": 60.0}) or d["types"][0].update(min_minutes=50.0, max_minutes=40.0),
         ("[[types]] #1", "max_minutes=40.0", ">= min_minutes")),
        (lambda d: d.update(travel={"speed_kmh": 60.0}) or d["types"][0].update(max_minutes=-5.0),
         ("max_minutes=-5.0", ">= 0")),
        (lambda d: d["types"][0].update(max_minutes=60.0),
         ("[[types]] #1 (id 'm')", "max_minutes=60.0", "[travel]", "'s' - 'a'")),
        # resources' cap_by_period
        (_periods(lambda d: d["resources"][0].update(cap_by_period={"p1": "cap_nope"})),
         ("[[resources]] (id 'res')", "cap_by_period.p1='cap_nope'", "a column of")),
        (_periods(lambda d: d["resources"][0].update(cap_by_period={"p2": "cap_res_p1"})),
         ("[[resources]] #1", "cap_by_period.p2", "other than the last")),
        (_periods(lambda d: d["resources"][0].update(cap_by_period={"p9": "cap_res_p1"})),
         ("cap_by_period.p9", "a period id other than the last (p1)")),
        (lambda d: d["resources"][0].update(cap_by_period={"p1": "cap_res"}),
         ("cap_by_period.p1", "no [[periods]]")),
        (_periods(lambda d: d["cities"][1].update(cap_res_p1=-3)), ("'a'", "cap_res_p1=-3", ">= 0")),
        # sources' milestones
        (_periods(lambda d: d["sources"][0].update(milestones={"p2": 0.5})), ("[[sources]] #1", "milestones.p2", "other than the last")),
        (_periods(lambda d: d["sources"][0].update(milestones={"p1": 1.5})), ("milestones.p1=1.5", "[0, 1]")),
        (lambda d: d["sources"][0].update(milestones={"p1": 0.5}), ("milestones.p1", "no [[periods]]")),
        # facilities' window
        (_periods(lambda d: d["facilities"][0].update(earliest="p2", latest="p1")),
         ("'f'", "earliest='p2'", "not after latest ('p1')")),
        (_periods(lambda d: d["facilities"][0].update(latest="p7")), ("'f'", "latest='p7'", "a period id (p1, p2)")),
        (lambda d: d["facilities"][0].update(earliest="p1"), ("'f'", "earliest='p1'", "no [[periods]]")),
        # distances: km and/or minutes
        (lambda d: d.update(distances=[{"from": "s", "to": "a", "minutes": -1.0}]), ("minutes=-1.0", ">= 0")),
        (lambda d: d.update(distances=[{"from": "s", "to": "a", "km": 5.0}, {"from": "a", "to": "s", "km": 6.0}]),
         ("km=6.0", "the same km as")),
        (lambda d: d.update(distances=[{"from": "s", "to": "a", "minutes": 5.0}, {"from": "a", "to": "s", "minutes": 6.0}]),
         ("minutes=6.0", "the same minutes as")),
        (lambda d: d.update(distances=[{"from": "s", "to": "a", "minutes": 5.0}, {"from": "a", "to": "s", "km": 3.0, "note": 1}]),
         None),
        (lambda d: d.update(distances=[{"from": "s", "to": "a", "km": 5.0, "note": "x"}, {"from": "a", "to": "s", "note": "y"}]),
         ("'a' - 's'", "km", "and/or a travel time in minutes")),
    ],
)
def test_each_v2_problem_is_located(tmp_path: Path, edit: Any, fragments: tuple[str, ...] | None) -> None:
    data = valid()
    edit(data)
    if fragments is None:  # one row giving km and another minutes for the same pair is fine
        inst = load_dict(tmp_path, data)
        assert inst.distances is not None and len(inst.distances) == 2
        return
    one_problem(tmp_path, data, *fragments)


def test_milestones_must_not_decrease(tmp_path: Path) -> None:
    data = phased()
    data["instance"]["horizon_years"] = 20
    data["periods"].insert(1, {"id": "p15", "end_year": 2030})
    data["sources"][0]["milestones"] = {"p1": 0.6, "p15": 0.4}
    one_problem(tmp_path, data, "[[sources]] #1", "milestones.p15=0.4", ">= the earlier milestone 'p1' (0.6)")


def test_empty_periods_array_is_an_error(tmp_path: Path) -> None:
    data = valid()
    data["periods"] = []
    data["instance"]["base_year"] = 2020
    # an empty array of tables cannot be written in TOML's [[...]] form: write it inline
    from support import write_manifest

    import spatialopt
    from spatialopt import InstanceError

    path = write_manifest(tmp_path, data)
    path.write_text(path.read_text(encoding="utf-8") + "periods = []\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    # move the inline key above the first table header so TOML reads it top-level
    path.write_text("periods = []\n" + text.replace("periods = []\n", ""), encoding="utf-8")
    with pytest.raises(InstanceError) as info:
        spatialopt.load(path)
    assert any("periods" in str(p) and "at least one" in str(p) for p in info.value.problems)
