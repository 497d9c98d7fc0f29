"""Scenarios as data: scenario files, Instance.with_changes, re-validation, located errors, hashes."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from support import load_dict

import spatialopt
from spatialopt import InstanceError
from spatialopt.scenarios import (
    Changes,
    apply_changes,
    changed_sha256,
    load_scenarios,
    parse_changes,
)

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"
FRAMES = ("cities", "city_caps", "facilities", "facility_use", "arcs", "sites", "distances")


@pytest.fixture(scope="module")
def tutorial() -> spatialopt.Instance:
    return spatialopt.load(TUTORIAL)


def messages(exc: pytest.ExceptionInfo[InstanceError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_no_change_gives_an_equal_instance_with_its_own_hash(tutorial: spatialopt.Instance) -> None:
    same = tutorial.with_changes()
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(tutorial, name), getattr(same, name))
    assert dict(same.types) == dict(tutorial.types) and dict(same.sources) == dict(tutorial.sources)
    assert same.policy == tutorial.policy and same.weights == tutorial.weights
    assert (same.name, same.cost_unit, same.horizon_years) == (tutorial.name, tutorial.cost_unit, tutorial.horizon_years)
    assert same.sha256 == changed_sha256(tutorial.sha256, Changes()) != tutorial.sha256


def test_hash_is_canonical_and_follows_the_change(tutorial: spatialopt.Instance) -> None:
    a = tutorial.with_changes(set={"policy.budget": 2000.0, "cities.baoding.cost_index": 0.9})
    b = tutorial.with_changes({"set": {"cities": {"baoding": {"cost_index": 0.9}}, "policy": {"budget": 2000.0}}})
    c = tutorial.with_changes(set={"policy.budget": 2001.0, "cities.baoding.cost_index": 0.9})
    assert a.sha256 == b.sha256 != c.sha256
    chained = a.with_changes(scale={"policy.budget": 0.5})
    assert chained.policy.budget == 1000.0
    assert chained.sha256 == changed_sha256(a.sha256, parse_changes(scale={"policy.budget": 0.5}))


def test_every_kind_of_override(tutorial: spatialopt.Instance) -> None:
    changed = tutorial.with_changes(
        set={
            "policy.max_destination_share": 0.5,
            "policy.min_region_share.central": 0.1,
            "sources.beijing-core.target_reduction_pct": 1.0,
            "sources.beijing-core.min_share.manufacturing": 0.25,
            "types.hospital.max_km": 200.0,
            "types.wholesale.allowed_tiers": ["large"],
            "cities.baoding.cap_residents": 80_000,
            "facilities.w-bj-1.must_move": True,
            "objective.weights.access": 1.0,
        },
        scale={"policy.budget": 0.8, "sources.tianjin-core.target": 2.0, "cities.tangshan.cost_index": 1.5,
               "types.logistics.site_cost": 2.0},
        unset=["cities.langfang.cap_residents"],
    )
    assert changed.policy.budget == pytest.approx(2400.0)
    assert changed.policy.max_destination_share == 0.5 and changed.policy.min_region_share == {"central": 0.1}
    bj = changed.sources["beijing-core"]
    assert (bj.target_form, bj.target_persons) == ("target_reduction_pct", pytest.approx(109_900.0))
    assert bj.min_share == {"manufacturing": 0.25}
    # Scaling T_s of a density target turns it into persons.
    tj_before = tutorial.sources["tianjin-core"].target_persons
    tj = changed.sources["tianjin-core"]
    assert (tj.target_form, tj.target_persons) == ("target_reduction", pytest.approx(2 * tj_before))
    assert tj.soft and tj.shortfall_penalty == 0.01
    assert changed.types["hospital"].max_km == 200.0 and changed.types["wholesale"].allowed_tiers == ("large",)
    assert changed.types["logistics"].site_cost == 300.0
    assert changed.city_caps.loc["baoding", "residents"] == 80_000
    assert math.isinf(changed.city_caps.loc["langfang", "residents"])
    assert changed.cities.loc["tangshan", "cost_index"] == pytest.approx(1.35)
    assert bool(changed.facilities.loc["w-bj-1", "must_move"]) is True
    assert changed.weights.access == 1.0
    # Untouched parts are untouched.
    pd.testing.assert_frame_equal(changed.arcs, tutorial.arcs)
    assert changed.types["manufacturing"] == tutorial.types["manufacturing"]


def test_rows_excluded_and_added(tutorial: spatialopt.Instance) -> None:
    changed = tutorial.with_changes(
        exclude_cities=["xiongan"],
        remove_facilities=["u-bj-2"],
        add_cities=[{"id": "new-town", "lon": 116.8, "lat": 39.2, "tier": "suburban", "region": "east",
                     "cluster": "jingjinji", "cap_residents": 30_000}],
        add_facilities=[{"id": "u-bj-3", "origin": "beijing-core", "type": "university", "jobs": 800}],
    )
    assert "xiongan" not in changed.cities.index and "new-town" in changed.cities.index
    assert "xiongan" not in set(changed.arcs["destination"]) and "xiongan" not in set(changed.sites["city"])
    assert "xiongan" not in set(changed.distances["from"]) | set(changed.distances["to"])
    assert "u-bj-2" not in changed.facilities.index and "u-bj-2" not in set(changed.arcs["facility"])
    assert changed.facilities.loc["u-bj-3", "residents"] == 800.0  # university household_factor 1.0
    assert changed.city_caps.loc["new-town", "beds"] == math.inf


def test_default_residents_follow_jobs_and_household_factor(tutorial: spatialopt.Instance) -> None:
    changed = tutorial.with_changes(set={"types.hospital.household_factor": 3.0, "facilities.m-bj-1.jobs": 1000})
    fac = changed.facilities
    assert fac.loc["h-bj-1", "residents"] == 9000.0  # 3000 jobs x 3.0 (was x 2.5)
    assert fac.loc["m-bj-1", "residents"] == 2200.0  # 1000 jobs x 2.2
    assert fac.loc["u-bj-1", "residents"] == 20_000.0  # given explicitly in the CSV: kept
    kept = tutorial.with_changes(set={"facilities.m-bj-1.jobs": 1000, "facilities.m-bj-1.residents": 5000})
    assert kept.facilities.loc["m-bj-1", "residents"] == 5000.0


def test_a_bad_change_fails_revalidation_with_the_row_located(tutorial: spatialopt.Instance) -> None:
    with pytest.raises(InstanceError) as exc:
        tutorial.with_changes(set={"cities.baoding.cap_residents": -5, "types.hospital.max_km": 10.0,
                                   "types.hospital.min_km": 20.0, "policy.min_region_share.moon": 0.1})
    lines = messages(exc)
    assert "with_changes [[cities]] #6 (id 'baoding'): cap_residents=-5, expected a number >= 0" in lines
    assert any("(id 'hospital'): max_km=10.0, expected a number >= min_km (20.0)" in line for line in lines)
    assert any("min_region_share.moon=0.1, expected a region that some destination has" in line for line in lines)
    # Rules across rows hold too: a facility that moves from a city that is not a source.
    with pytest.raises(InstanceError) as exc:
        tutorial.with_changes(set={"facilities.m-bj-1.origin": "baoding"})
    assert any("origin='baoding', expected the city id of a source" in line for line in messages(exc))


def test_unknown_keys_and_ids_are_located_errors(tutorial: spatialopt.Instance) -> None:
    with pytest.raises(InstanceError) as exc:
        tutorial.with_changes(
            set={"cities.atlantis.cap_residents": 1, "policy.budgett": 3, "facilities.m-bj-1.colour": "red",
                 "types.hospital.max_kms": 1.0, "sources.baoding.target": 5},
            scale={"policy.budget": -1, "cities.beijing-core.cap_residents": 2.0},
            exclude_cities=["beijing-core"],
            add_facilities=[{"id": "m-bj-1", "origin": "beijing-core", "type": "manufacturing"}],
            bogus=[1],
        )
    lines = messages(exc)
    expected = [
        "with_changes: bogus=[1], expected a known key",
        "with_changes: scale policy.budget=-1, expected a factor: a finite number >= 0",
        "with_changes: set cities.atlantis.cap_residents=1, expected a known city id (beijing-core, tianjin-core,",
        "with_changes: set policy.budgett=3, expected policy.budget, policy.max_destination_share",
        "with_changes: set facilities.m-bj-1.colour='red', expected a facility column (origin, type,",
        "with_changes: set types.hospital.max_kms=1.0, expected a type parameter (",
        "with_changes: set sources.baoding.target=5, expected a known source city id (beijing-core, tianjin-core)",
        "with_changes: scale cities.beijing-core.cap_residents=2.0, expected a key with a value to scale",
        "with_changes: exclude_cities='beijing-core', expected a destination city (this one is a source)",
        "with_changes: add_facilities #1='m-bj-1', expected a new id (a facility 'm-bj-1' exists)",
    ]
    for text in expected:
        assert any(line.startswith(text) for line in lines), (text, lines)
    assert len(lines) == len(expected)


def test_two_changes_to_one_key_are_refused(tutorial: spatialopt.Instance) -> None:
    with pytest.raises(InstanceError) as exc:
        tutorial.with_changes(set={"policy.budget": 1.0, "sources.tianjin-core.target_reduction": 10},
                              scale={"policy.budget": 2.0, "sources.tianjin-core.target": 2.0})
    text = "\n".join(messages(exc))
    assert "scale policy.budget=2.0, expected each key changed once per scenario" in text
    assert "one change to source 'tianjin-core''s target per scenario" in text


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_scenario_file_is_read_and_applied(tmp_path: Path, tutorial: spatialopt.Instance) -> None:
    path = write(tmp_path / "study.toml", f"""
base = "{TUTORIAL.as_posix()}"
description = "two what-ifs"

[[scenarios]]
name = "budget-cut"
description = "a fifth less money"
scale = {{ "policy.budget" = 0.8 }}

[[scenarios]]
name = "baoding.grows"
set.cities.baoding.cap_residents = 80000
exclude_cities = ["datong"]
""")
    study = load_scenarios(path)
    assert study.base == TUTORIAL.resolve() and study.names == ["budget-cut", "baoding.grows"]
    assert study.scenarios[1].changes.set == (("cities.baoding.cap_residents", 80000),)
    instances = study.instances(tutorial)
    assert instances["budget-cut"].policy.budget == pytest.approx(2400.0)
    assert instances["baoding.grows"].city_caps.loc["baoding", "residents"] == 80000
    assert instances["baoding.grows"].sha256 == tutorial.with_changes(study.scenarios[1].changes).sha256


def test_scenario_file_problems_are_located_by_file_and_scenario(tmp_path: Path, tutorial: spatialopt.Instance) -> None:
    path = write(tmp_path / "bad.toml", """
colour = "red"
[[scenarios]]
name = "base"
[[scenarios]]
name = "has space"
[[scenarios]]
name = "ok"
set = "policy.budget"
[[scenarios]]
name = "ok"
""")
    with pytest.raises(InstanceError) as exc:
        load_scenarios(path)
    lines = messages(exc)
    assert "bad.toml: colour='red', expected a known key (one of base, description, scenarios)" in lines
    assert any("[[scenarios]] #1 (name 'base'): name='base', expected a name other than 'base'" in x for x in lines)
    assert any("#2 (name 'has space'): name='has space', expected a name of letters" in x for x in lines)
    assert any(x.startswith("bad.toml [scenario 'ok']: set='policy.budget', expected a table") for x in lines)
    assert any("#4 (name 'ok'): name='ok', expected a unique scenario name" in x for x in lines)

    path = write(tmp_path / "ids.toml", """
[[scenarios]]
name = "a"
set = { "cities.atlantis.cap_residents" = 1 }
[[scenarios]]
name = "b"
set = { "cities.baoding.cap_residents" = -1 }
""")
    with pytest.raises(InstanceError) as exc:
        load_scenarios(path).instances(tutorial)
    lines = messages(exc)
    assert exc.value.source == "ids.toml"
    assert lines[0].startswith("ids.toml [scenario 'a']: set cities.atlantis.cap_residents=1, expected a known city id")
    assert lines[1] == "ids.toml [scenario 'b'] [[cities]] #6 (id 'baoding'): cap_residents=-1, expected a number >= 0"


def test_ids_with_dots_resolve_to_the_longest_known_id(tmp_path: Path) -> None:
    data = {
        "instance": {"name": "dots"},
        "types": [{"id": "t"}],
        "sources": [{"city": "s", "target_reduction": 0}],
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0, "cap": 5.0},
            {"id": "st", "lon": 117.0, "lat": 40.0, "cap": 5.0},
            {"id": "st.petersburg", "lon": 117.0, "lat": 41.0, "cap": 5.0},
        ],
        "resources": [{"id": "r", "use": "jobs", "cap": "cap"}],
        "facilities": [{"id": "f", "origin": "s", "type": "t", "jobs": 1}],
    }
    instance = load_dict(tmp_path, data)
    changed = apply_changes(instance, set={"cities.st.petersburg.cap": 9.0, "cities.st.cap": 7.0})
    assert changed.city_caps.loc["st.petersburg", "r"] == 9.0 and changed.city_caps.loc["st", "r"] == 7.0
