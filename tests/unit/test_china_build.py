"""The China instances: reproducible from their builder, and well-formed per the spec.

``instances/china/build.py`` writes ``instances/<name>/`` from ``data/china``
and ``instances/china/assumptions.toml``. These tests rebuild into a temporary
folder and compare bytes with the committed files, then read each committed
instance with the standard library only (``tomllib`` + ``csv``) and check it
against the manifest keys of docs/MODEL.md, so a typo or a stale file cannot
pass. The last tests load and solve them with spatialopt itself.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "instances" / "china" / "build.py"
INSTANCES = ("jingjinji-2035", "yangtze-delta-2035", "pearl-delta-2035", "chengyu-2035", "china-2035")
FILES = ("instance.toml", "cities.csv", "facilities.csv", "sites.csv")

# Manifest keys allowed by docs/MODEL.md §2 (unknown keys are errors there).
TOP_KEYS = {"instance", "tables", "types", "resources", "sources", "policy", "objective",
            "cities", "facilities", "arcs", "sites", "distances"}
INSTANCE_KEYS = {"name", "description", "cost_unit", "horizon_years"}
TABLE_KEYS = {"cities", "facilities", "arcs", "sites", "distances"}
TYPE_KEYS = {"id", "allowed_tiers", "min_km", "max_km", "same_cluster", "splittable", "household_factor",
             "cost_per_job_km", "annual_cost_per_job", "access_cost_per_unit_km", "requires_site", "site_cost",
             "site_capacity_jobs", "min_site_jobs", "min_sites", "max_sites"}
SITE_KEYS = {"site_cost", "site_capacity_jobs", "min_site_jobs", "min_sites", "max_sites"}
RESOURCE_KEYS = {"id", "use", "cap"}
SOURCE_KEYS = {"city", "core_population", "core_area_km2", "target_reduction", "target_reduction_pct",
               "target_density", "soft", "shortfall_penalty", "min_share"}
TARGET_KEYS = {"target_reduction", "target_reduction_pct", "target_density"}
POLICY_KEYS = {"budget", "max_destination_share", "min_region_share"}
OBJECTIVE_KEYS = {"weights"}
WEIGHT_KEYS = {"relocation", "operating", "access", "sites", "shortfall"}
BUILTIN_FACILITY_COLUMNS = {"jobs", "residents", "service_units"}


def _load_builder():
    spec = importlib.util.spec_from_file_location("china_instances_build", BUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _manifest(name: str) -> dict:
    with (ROOT / "instances" / name / "instance.toml").open("rb") as fh:
        return tomllib.load(fh)


def _table(name: str, file: str) -> list[dict[str, str]]:
    with (ROOT / "instances" / name / file).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# -- reproducibility -------------------------------------------------------------
@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("china-rebuild")
    assert _load_builder().main(["--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("name", INSTANCES)
def test_rebuild_is_byte_identical(rebuilt: Path, name: str) -> None:
    committed = ROOT / "instances" / name
    fresh = rebuilt / name
    assert sorted(p.name for p in fresh.iterdir()) == sorted(FILES)
    assert sorted(p.name for p in committed.iterdir()) == sorted(FILES)
    for file in FILES:
        assert (fresh / file).read_bytes() == (committed / file).read_bytes(), (
            f"{name}/{file} differs from a rebuild: run `python instances/china/build.py` and commit"
        )


def test_builder_uses_the_projects_data_copy() -> None:
    data = ROOT / "data" / "china"
    for file in ("README.md", "cities.csv", "clusters.csv", "provinces.csv", "size_classes.csv"):
        assert (data / file).is_file(), file
    with (data / "cities.csv").open(encoding="utf-8", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 358


# -- manifests follow the spec ------------------------------------------------------
@pytest.mark.parametrize("name", INSTANCES)
def test_manifest_uses_only_spec_keys(name: str) -> None:
    m = _manifest(name)
    assert set(m) <= TOP_KEYS
    assert set(m["instance"]) <= INSTANCE_KEYS
    assert m["instance"]["name"] == name
    assert m["instance"]["cost_unit"] == "CNY million"
    assert set(m["tables"]) <= TABLE_KEYS
    for table in m["tables"]:
        assert table not in m, f"{table} given both as a file and inline"
    type_ids = [t["id"] for t in m["types"]]
    assert len(type_ids) == len(set(type_ids))
    for t in m["types"]:
        assert set(t) <= TYPE_KEYS, t["id"]
        assert 0 <= t.get("min_km", 0.0) <= t.get("max_km", math.inf)
        if not t.get("requires_site", False):
            assert not (set(t) & SITE_KEYS), f"site keys on {t['id']}, which needs no site (a warning)"
    for r in m["resources"]:
        assert set(r) == RESOURCE_KEYS
    for s in m["sources"]:
        assert set(s) <= SOURCE_KEYS
        assert len(set(s) & TARGET_KEYS) == 1, s["city"]
        assert s["core_population"] > 0 and s["core_area_km2"] > 0
        assert set(s.get("min_share", {})) <= set(type_ids)
        assert all(0 <= v <= 1 for v in s.get("min_share", {}).values())
    assert set(m.get("policy", {})) <= POLICY_KEYS
    assert set(m.get("objective", {})) <= OBJECTIVE_KEYS
    assert set(m.get("objective", {}).get("weights", {})) <= WEIGHT_KEYS


@pytest.mark.parametrize("name", INSTANCES)
def test_references_resolve(name: str) -> None:
    m = _manifest(name)
    cities = _table(name, m["tables"]["cities"])
    facilities = _table(name, m["tables"]["facilities"])
    sites = _table(name, m["tables"]["sites"])
    city_ids = [c["id"] for c in cities]
    assert len(city_ids) == len(set(city_ids))
    sources = {s["city"] for s in m["sources"]}
    assert len(sources) == len(m["sources"])
    assert sources <= set(city_ids)
    types = {t["id"]: t for t in m["types"]}

    fac_ids = [f["id"] for f in facilities]
    assert len(fac_ids) == len(set(fac_ids))
    for f in facilities:
        assert f["origin"] in sources, f"{f['id']}: origin {f['origin']} is not a source"
        assert f["type"] in types
        assert int(f["count"]) >= 1 and float(f["jobs"]) >= 0

    by_origin_type = {(f["origin"], f["type"]) for f in facilities}
    for s in m["sources"]:
        assert any(o == s["city"] for o, _ in by_origin_type), f"{s['city']} has no facility"
        for k in s.get("min_share", {}):
            assert (s["city"], k) in by_origin_type, f"min_share {k} of {s['city']} has no facility of that type"

    for r in m["resources"]:
        assert r["use"] in BUILTIN_FACILITY_COLUMNS or r["use"] in facilities[0], r["use"]
        assert r["cap"] in cities[0], r["cap"]
    for s in sites:
        assert s["city"] in city_ids and s["city"] not in sources
        assert types[s["type"]].get("requires_site", False)
    pairs = [(s["type"], s["city"]) for s in sites]
    assert len(pairs) == len(set(pairs))

    regions = {c["region"] for c in cities if c["id"] not in sources}
    shares = m.get("policy", {}).get("min_region_share", {})
    assert set(shares) <= regions
    assert sum(shares.values()) <= 1.0
    for c in cities:
        assert -180 <= float(c["lon"]) <= 180 and -90 <= float(c["lat"]) <= 90


def test_instance_shapes() -> None:
    """The sizes the README promises."""
    assert {s["city"] for s in _manifest("jingjinji-2035")["sources"]} == {"beijing-core"}
    jjj = {c["id"]: c for c in _table("jingjinji-2035", "cities.csv")}
    assert jjj["tongzhou-subcentre"]["tier"] == "suburban" and jjj["xiongan"]["tier"] == "suburban"
    assert "tianjin" in jjj and len(jjj) == 15
    assert 10 <= len(_table("jingjinji-2035", "facilities.csv")) < 100
    china = _manifest("china-2035")
    assert len(china["sources"]) == 21
    assert set(china["policy"]["min_region_share"]) == {"central", "west", "northeast"}
    n = len(_table("china-2035", "facilities.csv"))
    assert 300 <= n <= 2000
    tiers = {c["tier"] for c in _table("china-2035", "cities.csv")}
    assert {"core", "large", "medium", "county", "suburban"} <= tiers


# -- spatialopt reads and solves them ----------------------------------------------
@pytest.mark.parametrize("name", INSTANCES)
def test_spatialopt_loads_without_warnings(name: str) -> None:
    import spatialopt

    inst = spatialopt.load(ROOT / "instances" / name / "instance.toml")
    assert inst.warnings == ()
    assert len(inst.sources) == len(_manifest(name)["sources"])


def _solve_and_check(name: str, time_limit: float) -> None:
    import spatialopt

    inst = spatialopt.load(ROOT / "instances" / name / "instance.toml")
    result = spatialopt.solve(inst, time_limit=time_limit, threads=1)
    assert result.status.value == "optimal", (name, result.status, result.reasons)
    src = result.sources
    assert (src["moved_residents"] >= src["target"] - 1e-6).all()


def test_jingjinji_solves_to_proven_optimality() -> None:
    _solve_and_check("jingjinji-2035", time_limit=60)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["yangtze-delta-2035", "pearl-delta-2035", "chengyu-2035", "china-2035"])
def test_other_instances_solve(name: str) -> None:
    _solve_and_check(name, time_limit=600)
