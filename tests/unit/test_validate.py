"""Instance validation (spec §2): every bad value is reported, located, all at once."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from support import load_dict, write_manifest

import spatialopt
from spatialopt import InstanceError


def valid() -> dict[str, Any]:
    return {
        "instance": {"name": "v"},
        "types": [{"id": "m"}],
        "resources": [{"id": "res", "use": "residents", "cap": "cap_res"}],
        "sources": [{"city": "s", "target_reduction": 10}],
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0},
            {"id": "a", "lon": 117.0, "lat": 40.0, "cap_res": 100, "region": "east"},
        ],
        "facilities": [{"id": "f", "origin": "s", "type": "m", "jobs": 20}],
    }


def problems_of(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    with pytest.raises(InstanceError) as info:
        load_dict(tmp_path, data)
    return [str(p) for p in info.value.problems]


def one_problem(tmp_path: Path, data: dict[str, Any], *fragments: str) -> str:
    problems = problems_of(tmp_path, data)
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in problems[0], problems[0]
    return problems[0]


def test_valid_instance_loads_with_defaults(tmp_path: Path) -> None:
    inst = load_dict(tmp_path, valid())
    f = inst.facilities.loc["f"]
    assert (f["count"], f["residents"], f["service_units"], f["fixed_cost"], f["must_move"]) == (1, 20.0, 0.0, 0.0, False)
    assert inst.horizon_years == 10
    kind = inst.types["m"]
    assert kind.allowed_tiers is None and kind.max_km == math.inf and not kind.requires_site
    assert inst.cities.loc["s", "cost_index"] == 1.0
    assert inst.city_caps.loc["s", "res"] == math.inf and inst.city_caps.loc["a", "res"] == 100
    assert inst.weights.as_dict() == {k: 1.0 for k in ("relocation", "operating", "access", "sites", "shortfall")}


def test_household_factor_defaults_residents(tmp_path: Path) -> None:
    data = valid()
    data["types"][0]["household_factor"] = 2.5
    assert load_dict(tmp_path, data).facilities.loc["f", "residents"] == 50.0


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda d: d.update(extra={"x": 1}), ("extra", "a known key")),
        (lambda d: d["instance"].update(nmae="x"), ("[instance]", "nmae")),
        (lambda d: d["instance"].pop("name"), ("name", "required")),
        (lambda d: d["instance"].update(horizon_years=-1), ("horizon_years=-1", ">= 0")),
        (lambda d: d["types"][0].update(max_km=10.0, min_km=20.0), ("max_km=10.0", ">= min_km")),
        (lambda d: d["types"][0].update(splittable="yes"), ("splittable='yes'", "true or false")),
        (lambda d: d["types"][0].update(allowed_tiers="large"), ("allowed_tiers", "list")),
        (lambda d: d["types"].append({"id": "m"}), ("id='m'", "unique")),
        (lambda d: d["types"][0].update(requires_site=True, min_sites=3, max_sites=2), ("max_sites=2", ">= min_sites")),
        (lambda d: d["types"][0].update(requires_site=True, min_sites=1.5), ("min_sites=1.5", "whole number")),
        (lambda d: d["resources"][0].update(cap="cap_land"), ("cap='cap_land'", "a column of")),
        (lambda d: d["resources"][0].update(use="land"), ("use='land'", "built-in column")),
        (lambda d: d["sources"][0].update(target_density=5.0), ("target", "exactly one of")),
        (lambda d: d["sources"][0].pop("target_reduction"), ("target", "exactly one of")),
        (lambda d: d["sources"][0].update(target_reduction=None, target_reduction_pct=5.0), ("core_population", "needs it")),
        (lambda d: d["sources"][0].update(target_reduction=None, core_population=10.0, target_density=5.0), ("core_area_km2", "needs both")),
        (lambda d: d["sources"][0].update(target_reduction=None, core_population=10.0, target_reduction_pct=120), ("target_reduction_pct=120", "[0, 100]")),
        (lambda d: d["sources"][0].update(core_population=0), ("core_population=0", "> 0")),
        (lambda d: (d["sources"][0].update(city="nowhere"), d["facilities"][0].update(origin="nowhere")),
         ("city='nowhere'", "a city in the cities table")),
        (lambda d: d["sources"][0].update(min_share={"zz": 0.5}), ("min_share.zz", "a type id")),
        (lambda d: d["sources"][0].update(min_share={"m": 1.5}), ("min_share.m=1.5", "[0, 1]")),
        (lambda d: d["sources"][0].update(shortfall_penalty=-1), ("shortfall_penalty=-1", ">= 0")),
        (lambda d: d.update(policy={"budget": -5}), ("budget=-5", ">= 0")),
        (lambda d: d.update(policy={"max_destination_share": 1.2}), ("max_destination_share=1.2", "[0, 1]")),
        (lambda d: d.update(policy={"min_region_share": {"west": 0.2}}), ("min_region_share.west", "a region that some destination has")),
        (lambda d: d.update(objective={"weights": {"relocaton": 1.0}}), ("relocaton", "a known key")),
        (lambda d: d.update(objective={"weights": {"sites": -1.0}}), ("sites=-1.0", ">= 0")),
        (lambda d: d["cities"][1].update(lon=200.0), ("lon=200.0", "[-180, 180]")),
        (lambda d: d["cities"][1].pop("lat"), ("lat", "required")),
        (lambda d: d["cities"][1].update(id="s"), ("id='s'", "unique city id")),
        (lambda d: d["cities"][1].update(cap_res=-1), ("cap_res=-1", ">= 0")),
        (lambda d: d["cities"][1].update(cost_index="cheap"), ("cost_index='cheap'", "a number")),
        (lambda d: d["facilities"][0].update(origin="a"), ("origin='a'", "a source")),
        (lambda d: d["facilities"][0].update(type="zz"), ("type='zz'", "a type id")),
        (lambda d: d["facilities"][0].update(count=2.5), ("count=2.5", "whole number")),
        (lambda d: d["facilities"][0].update(jobs=-3), ("jobs=-3", ">= 0")),
        (lambda d: d["facilities"][0].update(must_move="maybe"), ("must_move='maybe'", "true or false")),
        (lambda d: d["facilities"].append({"id": "f", "origin": "s", "type": "m"}), ("id='f'", "unique facility id")),
        (lambda d: d.update(arcs=[{"facility": "f", "destination": "a"}, {"facility": "f", "destination": "a"}]), ("pair repeats",)),
        (lambda d: d.update(arcs=[{"facility": "g", "destination": "a"}]), ("facility='g'", "a facility in the facilities table")),
        (lambda d: d.update(arcs=[{"facility": "f", "destination": "a", "use_res": -1}]), ("use_res=-1", ">= 0")),
        (lambda d: d.update(sites=[{"type": "m", "city": "a"}]), ("type='m'", "requires_site = true")),
        (lambda d: d.update(distances=[{"from": "a", "to": "a", "km": 1.0}]), ("to='a'", "other than 'from'")),
        (lambda d: d.update(distances=[{"from": "a", "to": "s", "km": 1.0}, {"from": "s", "to": "a", "km": 2.0}]), ("km=2.0", "the same km")),
        (lambda d: d.update(distances=[{"from": "a", "to": "q", "km": 1.0}]), ("to='q'", "a city in the cities table")),
    ],
)
def test_each_bad_value_is_one_located_problem(tmp_path: Path, edit: Any, fragments: tuple[str, ...]) -> None:
    data = valid()
    edit(data)
    one_problem(tmp_path, data, *fragments)


def test_site_rows_need_a_destination(tmp_path: Path) -> None:
    data = valid()
    data["types"][0]["requires_site"] = True
    data["sites"] = [{"type": "m", "city": "s"}, {"type": "m", "city": "a"}, {"type": "m", "city": "a"}]
    problems = problems_of(tmp_path, data)
    assert len(problems) == 2
    assert "a destination (this city is a source)" in problems[0]
    assert "pair repeats" in problems[1]


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    data = valid()
    data["cities"][1]["lon"] = 500
    data["facilities"][0]["jobs"] = -1
    data["instance"]["typo"] = 1
    assert len(problems_of(tmp_path, data)) == 3


def test_site_keys_on_a_type_without_sites_warn(tmp_path: Path) -> None:
    data = valid()
    data["types"][0]["site_cost"] = 5.0
    inst = load_dict(tmp_path, data)
    assert any("site_cost ignored" in w for w in inst.warnings)


def test_table_as_file_and_inline_is_an_error(tmp_path: Path) -> None:
    data = valid()
    data["tables"] = {"cities": "cities.csv"}
    (tmp_path / "cities.csv").write_text("id,lon,lat\ns,1,1\n")
    one_problem(tmp_path, data, "not both")


def csv_instance(tmp_path: Path, cities_csv: bytes) -> Path:
    data = valid()
    del data["cities"]
    data["tables"] = {"cities": "cities.csv"}
    (tmp_path / "cities.csv").write_bytes(cities_csv)
    return write_manifest(tmp_path, data)


def test_csv_problems_name_file_line_and_column(tmp_path: Path) -> None:
    path = csv_instance(tmp_path, b"id,lon,lat,cap_res\ns,116,40,\na,abc,40,100\n")
    with pytest.raises(InstanceError) as info:
        spatialopt.load(path)
    assert [str(p) for p in info.value.problems] == [
        "cities.csv line 3 (id 'a'): lon='abc', expected a number in [-180, 180]"
    ]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty file"),
        (b"id,lon,lat,cap_res\ns,116,40\n", "has 3 fields, expected 4"),
        (b"id,lon,lon,cap_res\n", "unique column names"),
        (b"id,lon,lat,cap_res\n\xff\xfe,1,2,3\n", "not UTF-8"),
        (b"\x00\x01\x02binary", "NUL"),
    ],
)
def test_broken_csv_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    with pytest.raises(InstanceError) as info:
        spatialopt.load(csv_instance(tmp_path, content))
    assert any(fragment in str(p) for p in info.value.problems), info.value.problems


def test_empty_cells_take_defaults_and_nan_is_absent(tmp_path: Path) -> None:
    inst = spatialopt.load(csv_instance(tmp_path, b"id,lon,lat,cap_res,cost_index\ns,116,40,,\na,117,40,NaN,\n"))
    assert inst.city_caps.loc["a", "res"] == math.inf
    assert inst.cities.loc["a", "cost_index"] == 1.0


def test_missing_table_file(tmp_path: Path) -> None:
    data = valid()
    del data["cities"]
    data["tables"] = {"cities": "nope.csv"}
    one_problem(tmp_path, data, "file not found")


def test_manifest_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[instance\nname = 1")
    with pytest.raises(InstanceError, match="not valid TOML"):
        spatialopt.load(bad)
    with pytest.raises(InstanceError, match="file not found"):
        spatialopt.load(tmp_path / "missing.toml")
    with pytest.raises(InstanceError, match="is a folder"):
        spatialopt.load(tmp_path)


def geo_cities(tmp_path: Path, features: list[dict[str, Any]], crs: str | None = None) -> Path:
    data = valid()
    del data["cities"]
    data["tables"] = {"cities": "cities.geojson"}
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    (tmp_path / "cities.geojson").write_text(json.dumps(collection))
    return write_manifest(tmp_path, data)


def point(city_id: str, x: float, y: float, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"id": city_id, "cap_res": 100, **props},
            "geometry": {"type": "Point", "coordinates": [x, y]}}


def test_geojson_points_give_lon_lat_and_columns_win(tmp_path: Path) -> None:
    path = geo_cities(tmp_path, [point("s", 116.0, 40.0), point("a", 117.0, 40.0, lon=118.0)])
    inst = spatialopt.load(path)
    assert inst.cities.loc["s", ["lon", "lat"]].tolist() == [116.0, 40.0]
    assert inst.cities.loc["a", "lon"] == 118.0


def test_geojson_in_another_crs_is_reprojected(tmp_path: Path) -> None:
    # Web Mercator coordinates of (116E, 40N) and (117E, 40N).
    path = geo_cities(
        tmp_path,
        [point("s", 12913060.93, 4865942.28), point("a", 13024380.42, 4865942.28)],
        crs="urn:ogc:def:crs:EPSG::3857",
    )
    inst = spatialopt.load(path)
    assert inst.cities.loc["s", "lon"] == pytest.approx(116.0, abs=1e-6)
    assert inst.cities.loc["a", "lat"] == pytest.approx(40.0, abs=1e-6)


def test_geojson_polygon_is_an_error(tmp_path: Path) -> None:
    polygon = {"type": "Feature", "properties": {"id": "a", "cap_res": 1},
               "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}
    with pytest.raises(InstanceError) as info:
        spatialopt.load(geo_cities(tmp_path, [point("s", 116.0, 40.0), polygon]))
    assert any("geometry='Polygon'" in str(p) and "feature 2" in str(p) for p in info.value.problems)


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet"])
def test_geopackage_and_parquet_tables(tmp_path: Path, suffix: str) -> None:
    import geopandas
    import pandas
    from shapely.geometry import Point

    frame = pandas.DataFrame({"id": ["s", "a"], "cap_res": [None, 100.0], "region": ["", "east"]})
    data = valid()
    del data["cities"]
    data["tables"] = {"cities": f"cities{suffix}"}
    if suffix == ".gpkg":
        geo = geopandas.GeoDataFrame(frame, geometry=[Point(116, 40), Point(117, 40)], crs="EPSG:4326")
        geo.to_file(tmp_path / "cities.gpkg", layer="cities", driver="GPKG")
    else:
        frame.assign(lon=[116.0, 117.0], lat=[40.0, 40.0]).to_parquet(tmp_path / "cities.parquet")
    inst = spatialopt.load(write_manifest(tmp_path, data))
    assert inst.cities.loc["a", ["lon", "lat"]].tolist() == [117.0, 40.0]
    assert inst.city_caps.loc["s", "res"] == math.inf


def test_sha256_covers_manifest_and_table_files(tmp_path: Path) -> None:
    path = csv_instance(tmp_path, b"id,lon,lat,cap_res\ns,116,40,\na,117,40,100\n")
    first = spatialopt.load(path).sha256
    (tmp_path / "cities.csv").write_bytes(b"id,lon,lat,cap_res\ns,116,40,\na,117,40,101\n")
    assert spatialopt.load(path).sha256 != first
    import hashlib

    expected = hashlib.sha256(path.read_bytes() + (tmp_path / "cities.csv").read_bytes()).hexdigest()
    assert spatialopt.load(path).sha256 == expected


def test_quoted_numbers_in_the_manifest_are_pointed_out(tmp_path: Path) -> None:
    data = valid()
    data["policy"] = {"budget": "3000"}
    one_problem(tmp_path, data, "budget='3000'", "without quotes")
