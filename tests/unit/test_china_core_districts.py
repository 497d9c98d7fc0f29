"""The national instance's cores on the record: data/china/core_districts.csv.

Each core of ``china-2035`` names its central districts; a district's 2020
census population and land area either carry the id of their source in
data/china/core_sources.csv or are empty with a note saying why. The builder
sums a figure only where every district of the core has it, and the core's
name says which figures are still synthetic. These tests read the table and
the committed instance with the standard library, and feed the builder's
reader bad rows to see that it names the file, row and column.
"""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest
from support import load_script

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "china"
DISTRICTS = DATA / "core_districts.csv"
SOURCES = DATA / "core_sources.csv"
INSTANCE = ROOT / "instances" / "china-2035"
FIGURES = (("population_2020", "population_source"), ("area_km2", "area_source"))


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _builder():
    return load_script(ROOT / "instances" / "china" / "build.py", "china_core_districts_build")


def _data() -> dict[str, dict[str, str]]:
    return {r["city_id"]: r for r in _csv(DATA / "cities.csv")}


def _by_city() -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for row in _csv(DISTRICTS):
        out.setdefault(row["city_id"], []).append(row)
    return out


def _complete(rows: list[dict[str, str]], figure: str) -> bool:
    return all(r[figure] for r in rows)


def test_the_builder_reads_the_table() -> None:
    tables = _builder().read_core_districts(DISTRICTS, SOURCES, _data())
    assert sum(len(v) for v in tables.values()) == len(_csv(DISTRICTS))


def test_every_core_of_the_national_instance_names_its_districts() -> None:
    m = tomllib.loads((INSTANCE / "instance.toml").read_text(encoding="utf-8"))
    cores = {s["city"].removesuffix("-core") for s in m["sources"]}
    assert len(cores) == 21
    assert set(_by_city()) == cores
    for city, rows in _by_city().items():
        names = [r["district_en"] for r in rows]
        assert len(names) == len(set(names)), city


def test_every_cited_source_is_on_file() -> None:
    sources = {r["id"]: r for r in _csv(SOURCES)}
    assert len(sources) == len(_csv(SOURCES))
    cited = set()
    for row in _csv(DISTRICTS):
        for figure, source in FIGURES:
            if row[figure]:
                cited.add(row[source])
            else:
                assert not row[source] and row["note"].strip(), (row["city_id"], row["district_en"], figure)
        if row["scope_source"] != "rule":
            cited.add(row["scope_source"])
    assert cited <= set(sources), sorted(cited - set(sources))
    for sid in cited:
        s = sources[sid]
        assert s["publisher"].strip() and s["facts"].strip(), sid
        # an address, or a note saying why there is none
        assert s["address"].startswith("http") or "address not recorded" in s["note"], sid


def test_cores_take_the_sourced_sums_and_say_what_is_synthetic() -> None:
    """Where every district has a figure the core carries their sum; otherwise its
    name says 'synthetic'. Beijing and Shanghai keep the assumptions' facts."""
    m = tomllib.loads((INSTANCE / "instance.toml").read_text(encoding="utf-8"))
    sources = {s["city"]: s for s in m["sources"]}
    cities = {c["id"]: c for c in _csv(INSTANCE / "cities.csv")}
    checked = 0
    for city, rows in _by_city().items():
        core = cities[f"{city}-core"]
        src = sources[f"{city}-core"]
        if city in ("beijing", "shanghai"):
            assert "synthetic" not in core["name"]
            continue
        pop = _complete(rows, "population_2020")
        area = _complete(rows, "area_km2")
        if pop:
            assert src["core_population"] == sum(int(r["population_2020"]) for r in rows), city
            assert int(core["population"]) == src["core_population"]
            checked += 1
        if area:
            assert src["core_area_km2"] == pytest.approx(sum(float(r["area_km2"]) for r in rows), abs=0.05), city
        assert ("synthetic" in core["name"]) == (not (pop and area)), (city, core["name"])
        for r in rows:
            assert r["district_en"] in core["name"], (city, r["district_en"])
    assert checked >= 8  # cores whose population is on the record


def test_the_header_says_per_core_what_is_sourced() -> None:
    """instance.toml's header lists each core's population, area and target as sourced or
    SYNTHETIC, as the district table has them (Beijing and Shanghai: the assumptions' facts;
    only Beijing's target, the master plan's ceiling, is sourced)."""
    lines = (INSTANCE / "instance.toml").read_text(encoding="utf-8").splitlines()
    said = {}
    for line in lines:
        if line.startswith("#   ") and "-core: population " in line:
            core, rest = line[4:].split(": ", 1)
            said[core.removesuffix("-core")] = dict(part.split(" ") for part in rest.split(", "))
    assert set(said) == set(_by_city())
    for city, rows in _by_city().items():
        facts = city in ("beijing", "shanghai")
        expect = {
            "population": "sourced" if facts or _complete(rows, "population_2020") else "SYNTHETIC",
            "area": "sourced" if facts or _complete(rows, "area_km2") else "SYNTHETIC",
            "target": "sourced" if city == "beijing" else "SYNTHETIC",
        }
        assert said[city] == expect, city


def test_beijing_and_shanghai_rows_match_the_facts() -> None:
    with (ROOT / "instances" / "china" / "assumptions.toml").open("rb") as fh:
        facts = tomllib.load(fh)["facts"]
    rows = _by_city()
    for city, fact in (("beijing", "beijing_six_districts_population_2020"),
                       ("shanghai", "shanghai_central_districts_population_2020")):
        table = {r["district_en"].lower().replace("'", ""): int(r["population_2020"]) for r in rows[city]}
        assert table == facts[fact]["districts"], city
    # Beijing's sixteen-district figures add up to the published total; its six to the fact
    assert sum(int(r["population_2020"]) for r in rows["beijing"]) == 10_988_587


def test_tianjin_adds_up_to_the_bulletins_central_area() -> None:
    """Tianjin's 7th census bulletin gives its central area (中心城区) as 4,057,215
    residents (source K06); the six districts' figures (K05) must add up to it."""
    assert sum(int(r["population_2020"]) for r in _by_city()["tianjin"]) == 4_057_215


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"population_2020": "many"}, "population_2020"),
        ({"population_2020": "12.5"}, "population_2020"),
        ({"area_km2": "-3"}, "area_km2"),
        ({"population_source": "K99"}, "population_source"),
        ({"population_2020": "", "population_source": "", "note": ""}, "note"),
        ({"area_km2": "", "area_source": "K05"}, "area_source"),
        ({"scope_source": "somewhere"}, "scope_source"),
        ({"city_id": "atlantis"}, "city_id"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, change: dict[str, str], column: str) -> None:
    rows = _csv(DISTRICTS)
    tianjin = next(i for i, r in enumerate(rows) if r["city_id"] == "tianjin")
    rows[tianjin] = {**rows[tianjin], **change}
    bad = tmp_path / "core_districts.csv"
    with bad.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(SystemExit) as err:
        _builder().read_core_districts(bad, SOURCES, _data())
    message = str(err.value)
    assert str(bad) in message and f"row {tianjin + 2}" in message and column in message, message
