#!/usr/bin/env python3
"""Build the China relocation instances from data/china and assumptions.toml.

Run from the repository root::

    python instances/china/build.py                 # writes instances/<name>/
    python instances/china/build.py --out /tmp/x    # writes /tmp/x/<name>/

Each instance directory gets ``instance.toml`` (the manifest of
docs/spec MODEL.md), ``cities.csv``, ``facilities.csv`` and ``sites.csv``.
An instance with a ``phased`` table in the assumptions also gets a phased
variant ``<name>-phased`` (spec v2: plan periods, milestones, capacities by
period, travel-time rules) and, where the assumptions name a rail table, a
``distances.csv`` of sourced rail minutes with each value's source beside it.
The city rows come from the data tables plus a ``<city>-core`` row per
source and the suburban new areas named in the assumptions; a core's
population and area are the sums of its central districts' sourced figures
in ``data/china/core_districts.csv`` where every district has one, and
follow the synthetic rule of the assumptions where not; the facility
rows are synthetic, drawn with ``numpy.random.default_rng`` from the seeds
in the assumptions, except where an instance has a ``record`` table: its
rows come first from the sourced record (data/china/beijing_relief for the
flagship), each figure sourced, estimated by a stated rule or, where the
record is silent, synthetic, and ``provenance.csv`` beside the instance says
which (with page, publisher, date and address). Output is byte-for-byte
reproducible: rows are sorted and every number has a fixed format.

Only the standard library and numpy are used.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import sys
import tomllib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EARTH_RADIUS_KM = 6371.0088  # spec §3
TYPE_ABBR = {
    "manufacturing": "mfg",
    "logistics": "log",
    "wholesale": "whs",
    "hospital": "hos",
    "university": "uni",
}
TYPE_KEY_ORDER = (
    "allowed_tiers",
    "min_km",
    "max_km",
    "min_minutes",
    "max_minutes",
    "same_cluster",
    "splittable",
    "household_factor",
    "cost_per_job_km",
    "annual_cost_per_job",
    "access_cost_per_unit_km",
    "requires_site",
    "site_cost",
    "site_capacity_jobs",
    "min_site_jobs",
    "min_sites",
    "max_sites",
)
CITY_COLUMNS = (
    "id",
    "name",
    "name_zh",
    "lon",
    "lat",
    "tier",
    "region",
    "cluster",
    "province",
    "population",
    "cost_index",
    "cap_residents",
    "cap_land_ha",
    "kind",
    "data_city_id",
)
FACILITY_COLUMNS = (
    "id",
    "origin",
    "type",
    "count",
    "jobs",
    "residents",
    "service_units",
    "fixed_cost",
    "land_ha",
    "beds",
    "students",
    "must_move",
)
SITE_COLUMNS = ("type", "city", "site_cost")
# extra facility columns of an instance with a record (the spec keeps and ignores them)
RECORD_FACILITY_COLUMNS = ("record_id", "basis")
PROVENANCE_COLUMNS = ("facility", "field", "value", "basis", "rule", "source_id", "publisher", "date", "address")
MU_PER_HA = 15.0  # 1 ha = 15 mu
PHASED_FACILITY_COLUMNS = (*FACILITY_COLUMNS, "earliest", "latest")
# distances.csv of a phased instance: the spec's columns, then where each value comes from
DISTANCE_COLUMNS = (
    "from",
    "to",
    "km",
    "minutes",
    "from_station",
    "from_station_district",
    "to_station",
    "line",
    "year_stated",
    "stated_as",
    "source_id",
    "source_publisher",
    "source_url",
)
# data/china/core_districts.csv: the central districts of each core, with
# each figure's source id in data/china/core_sources.csv
CORE_DISTRICT_COLUMNS = (
    "city_id",
    "district_zh",
    "district_en",
    "population_2020",
    "population_source",
    "area_km2",
    "area_source",
    "scope_source",
    "confidence",
    "note",
)
# a district figure and the column naming its source
CORE_DISTRICT_FIGURES = (("population_2020", "population_source"), ("area_km2", "area_source"))
# Beijing's six central districts: a rail time counts as "from the central
# districts" when its station lies in one of them (rail_minutes_beijing.csv)
CENTRAL_DISTRICTS = ("Dongcheng", "Xicheng", "Chaoyang", "Fengtai", "Haidian", "Shijingshan")


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def fnum(x: float, nd: int) -> str:
    """Fixed-point text, no negative zero."""
    s = f"{x:.{nd}f}"
    if s.startswith("-") and float(s) == 0.0:
        s = s[1:]
    return s


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"non-finite float {v!r}")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c, "") for c in columns])
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------
# cities
# ---------------------------------------------------------------------------


def tier_of(row: dict) -> str:
    size = row["size_class_2020"]
    if size == "super_large":
        return "super_large"
    if size == "very_large":
        return "very_large"
    if size == "large_1":
        return "large"
    if row["is_provincial_capital"] == "1" or row["is_sub_provincial"] == "1":
        return "large"
    if row["admin_level"] == "county_city_province_administered":
        return "county"
    return "medium"


def cost_index(A: dict, region: str, tier: str, population: str = "") -> float:
    ci = A["cost_index"]
    size = 0.0
    if population != "" and float(population) > 0:
        size = min(max(math.log10(float(population) / 1e6), -1.0), 1.0)
    return round(ci["region_base"][region] * ci["tier_factor"][tier] * (1.0 + ci["size_slope"] * size), 3)


def cap_residents(A: dict, tier: str, population: str) -> int:
    c = A["caps"]["residents"]
    lo, hi = c["lo"][tier], c["hi"][tier]
    if population == "":
        return int(lo)
    v = min(max(c["share"] * float(population), lo), hi)
    return int(round(v / 1000.0)) * 1000


def land_cap(A: dict, cap_res: int) -> float:
    return round(A["caps"]["land_ha"]["per_resident"] * cap_res, 1)


def read_core_districts(path: Path, sources_path: Path, data: dict[str, dict]) -> dict[str, list[dict]]:
    """The central districts of each core, by data city id, checked row by row.

    A figure (population, area) is either a number with the id of its source
    in ``sources_path``, or empty with a note saying why; ``scope_source``
    names the source of the district's being central, or ``rule``.
    """
    known = {r["id"] for r in read_csv(sources_path)}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != CORE_DISTRICT_COLUMNS:
            raise SystemExit(f"{path}: expected the columns {', '.join(CORE_DISTRICT_COLUMNS)}")
        rows = list(reader)
    out: dict[str, list[dict]] = {}
    for line, row in enumerate(rows, start=2):
        where = f"{path}, row {line}"
        if row["city_id"] not in data:
            raise SystemExit(f"{where}, column city_id: {row['city_id']!r} is not a city of the data")
        if not row["district_en"].strip() or not row["district_zh"].strip():
            raise SystemExit(f"{where}: a district needs its English and Chinese names")
        for figure, source in CORE_DISTRICT_FIGURES:
            if not row[figure]:
                if row[source]:
                    raise SystemExit(f"{where}, column {source}: a source without a {figure}")
                if not row["note"].strip():
                    raise SystemExit(f"{where}, column note: {figure} is empty, so the note must say why")
                continue
            try:
                value = float(row[figure])
            except ValueError:
                raise SystemExit(f"{where}, column {figure}: expected a number, got {row[figure]!r}") from None
            whole = figure == "population_2020"  # persons are counted, areas measured
            if not (value > 0 and math.isfinite(value)) or (whole and not value.is_integer()):
                kind = "a positive whole number" if whole else "a positive number"
                raise SystemExit(f"{where}, column {figure}: expected {kind}, got {row[figure]!r}")
            if row[source] not in known:
                raise SystemExit(f"{where}, column {source}: expected a source id of {sources_path.name}, got {row[source]!r}")
        if row["scope_source"] != "rule" and row["scope_source"] not in known:
            raise SystemExit(f"{where}, column scope_source: expected 'rule' or a source id of {sources_path.name}, got {row['scope_source']!r}")
        out.setdefault(row["city_id"], []).append(row)
    return out


def district_sum(rows: list[dict], figure: str) -> float | None:
    """Sum of a figure over a core's districts, or None unless every district has it."""
    if not rows or any(not r[figure] for r in rows):
        return None
    return sum(float(r[figure]) for r in rows)


def core_figures(A: dict, data_row: dict, districts: list[dict]) -> dict:
    """core_population, core_area_km2, target and name of a source's core.

    Beijing and Shanghai keep the facts of the assumptions. Any other core takes
    the sum of its districts' sourced figures where every district has one, and
    the synthetic rule of ``[cores]`` where not; its name says which is which.
    """
    cid = data_row["city_id"]
    cores = A["cores"]
    facts = A["facts"]
    size = data_row["size_class_2020"]
    spec = cores.get(cid) if isinstance(cores.get(cid), dict) else None
    out: dict = {}
    if spec is not None:
        out["name"] = spec["name"]
        out["core_population"] = int(facts[spec["core_population_fact"]]["value"])
        out["core_area_km2"] = float(facts[spec["core_area_fact"]]["value"])
        out["basis"] = {"population": "sourced", "area": "sourced"}
    else:
        pop = district_sum(districts, "population_2020")
        area = district_sum(districts, "area_km2")
        out["basis"] = {
            "population": "SYNTHETIC" if pop is None else "sourced",
            "area": "SYNTHETIC" if area is None else "sourced",
        }
        if pop is None:
            if data_row["urban_pop_2020"]:
                urban = float(data_row["urban_pop_2020"])
            else:
                ph = cores["urban_pop_placeholder"]
                urban = float(ph.get(cid, ph["default"]))
            pop = round(cores["core_share"] * urban / 1000.0) * 1000
        if area is None:
            area = pop / cores["core_density"][size]
        out["core_population"] = int(pop)
        out["core_area_km2"] = round(area, 1)
        out["name"] = core_name(data_row["name_en"], districts)
    if spec is not None and "target_density_from_fact" in spec:
        cap = facts[spec["target_density_from_fact"]]["value"]
        density = round(cap / out["core_area_km2"], 1)
        out["target_density"] = density
        out["target_persons"] = max(0.0, out["core_population"] - density * out["core_area_km2"])
        out["basis"]["target"] = "sourced"
    else:
        pct = float(cores["target_reduction_pct"][size])
        out["target_reduction_pct"] = pct
        out["target_persons"] = out["core_population"] * pct / 100.0
        out["basis"]["target"] = "SYNTHETIC"
    return out


def core_basis_lines(cores: dict[str, dict]) -> list[str]:
    """Header comment lines saying, per source core, which of its figures are sourced."""
    lines = ["# The sources' core figures (data/china/core_districts.csv and core_sources.csv;",
             "# instances/china/README.md, 'The cores on the record'):"]
    for cid in sorted(cores):
        b = cores[cid]["basis"]
        lines.append(f"#   {cid}-core: population {b['population']}, area {b['area']}, target {b['target']}")
    return lines


def core_name(city: str, districts: list[dict]) -> str:
    """'<city> central districts (<districts>)', saying which figures are still synthetic."""
    if not districts:
        return f"{city} central districts (synthetic core)"
    synthetic = [f for f, _ in CORE_DISTRICT_FIGURES if district_sum(districts, f) is None]
    if len(synthetic) == len(CORE_DISTRICT_FIGURES):
        label = "; synthetic core"
    elif synthetic:
        label = "; synthetic " + synthetic[0].split("_")[0]  # population_2020 -> population
    else:
        label = ""
    return f"{city} central districts ({', '.join(d['district_en'] for d in districts)}{label})"


def build_cities(
    A: dict, data: dict[str, dict], inst: dict, districts: dict[str, list[dict]]
) -> tuple[list[dict], dict[str, dict]]:
    """City rows of one instance and, per source city id, its core figures."""
    if inst.get("source_size_classes"):
        classes = set(inst["source_size_classes"])
        source_ids = [c for c, r in data.items() if r["size_class_2020"] in classes]
    else:
        source_ids = list(inst["sources"])
    if inst.get("all_cities"):
        member_ids = list(data)
    else:
        clusters = set(inst["clusters"])
        member_ids = [c for c, r in data.items() if r["cluster"] in clusters]
    rows: list[dict] = []
    cores: dict[str, dict] = {}
    for cid in source_ids:
        d = data[cid]
        fig = core_figures(A, d, districts.get(cid, []))
        cores[cid] = fig
        rows.append(
            {
                "id": f"{cid}-core",
                "name": fig["name"],
                "name_zh": d["name_zh"] + "中心城区",
                "lon": fnum(float(d["lon"]), 5),
                "lat": fnum(float(d["lat"]), 5),
                "tier": "core",
                "region": d["region"],
                "cluster": d["cluster"],
                "province": d["province"],
                "population": str(fig["core_population"]),
                "cost_index": fnum(cost_index(A, d["region"], "core"), 3),
                "cap_residents": "",
                "cap_land_ha": "",
                "kind": "core",
                "data_city_id": cid,
            }
        )
    for cid in member_ids:
        if cid in cores:
            continue  # the city itself is represented by its core only
        d = data[cid]
        tier = tier_of(d)
        rows.append(
            {
                "id": cid,
                "name": d["name_en"],
                "name_zh": d["name_zh"],
                "lon": fnum(float(d["lon"]), 5),
                "lat": fnum(float(d["lat"]), 5),
                "tier": tier,
                "region": d["region"],
                "cluster": d["cluster"],
                "province": d["province"],
                "population": d["population"],
                "cost_index": fnum(cost_index(A, d["region"], tier, d["population"]), 3),
                "cap_residents": str(cap_residents(A, tier, d["population"])),
                "cap_land_ha": fnum(land_cap(A, cap_residents(A, tier, d["population"])), 1),
                "kind": "city",
                "data_city_id": cid,
            }
        )
    for nid in inst["new_areas"]:
        na = A["new_areas"][nid]
        parent = data[na["parent"]]
        if "cap_residents_fact" in na:
            cap = int(A["facts"][na["cap_residents_fact"]]["takes_from_central_area"][1])
        else:
            cap = int(A["caps"]["residents"]["suburban"])
        rows.append(
            {
                "id": nid,
                "name": na["name"],
                "name_zh": na["name_zh"],
                "lon": fnum(na["lon"], 5),
                "lat": fnum(na["lat"], 5),
                "tier": "suburban",
                "region": parent["region"],
                "cluster": parent["cluster"],
                "province": parent["province"],
                "population": "",
                # a new area costs what its parent city costs (outside the core)
                "cost_index": fnum(cost_index(A, parent["region"], tier_of(parent), parent["population"]), 3),
                "cap_residents": str(cap),
                "cap_land_ha": fnum(land_cap(A, cap), 1),
                "kind": "new_area",
                "data_city_id": na["parent"],
            }
        )
    rows.sort(key=lambda r: r["id"])
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate city ids")
    return rows, cores


# ---------------------------------------------------------------------------
# types, eligibility, facilities
# ---------------------------------------------------------------------------


def instance_types(A: dict, inst: dict, phased: bool = False) -> dict[str, dict]:
    out = {}
    overrides = inst.get("type_overrides", {})
    travel_rules = A["phasing"]["type_overrides"] if phased else {}
    for k in A["types"]["order"]:
        rule = dict(A["types"][k]["rule"])
        rule.update(overrides.get(k, {}))
        if k in travel_rules:
            # the plan states this type's reach in travel time: minutes replace km
            for key in travel_rules["drop_keys"]:
                rule.pop(key, None)
            rule.update(travel_rules[k])
        out[k] = rule
    return out


def eligible(rule: dict, src: dict, dst: dict, minutes_of=None) -> bool:
    """Spec §3 eligibility of a (source, destination) pair for a type's rule.

    ``minutes_of(src, dst, km)`` gives the travel time where the rule sets a
    minutes band (phased instances only).
    """
    if dst["tier"] not in rule.get("allowed_tiers", [dst["tier"]]):
        return False
    if rule.get("same_cluster") and (not src["cluster"] or src["cluster"] != dst["cluster"]):
        return False
    km = haversine_km(float(src["lon"]), float(src["lat"]), float(dst["lon"]), float(dst["lat"]))
    if not rule.get("min_km", 0.0) <= km <= rule.get("max_km", math.inf):
        return False
    if "min_minutes" in rule or "max_minutes" in rule:
        if minutes_of is None:
            raise SystemExit("a type with a minutes rule needs travel times")
        minutes = minutes_of(src, dst, km)
        return rule.get("min_minutes", 0.0) <= minutes <= rule.get("max_minutes", math.inf)
    return True


def build_facilities(
    A: dict, inst: dict, cities: list[dict], cores: dict[str, dict], types: dict[str, dict], minutes_of=None
) -> list[dict]:
    gen_all = A["generator"]
    slack = float(inst.get("offer_slack", gen_all["offer_slack"]))
    rounding = int(gen_all["jobs_rounding"])
    unit_scale = inst.get("unit_scale", {})
    by_id = {c["id"]: c for c in cities}
    dests = [c for c in cities if c["kind"] != "core"]
    must = inst.get("must_move", {})
    rows: list[dict] = []
    for s_idx, cid in enumerate(sorted(cores)):
        core_id = f"{cid}-core"
        src = by_id[core_id]
        target = cores[cid]["target_persons"]
        ok = [k for k in A["types"]["order"] if any(eligible(types[k], src, d, minutes_of) for d in dests)]
        total_share = sum(A["types"][k]["gen"]["share"] for k in ok)
        named = record_rows(A, inst, cid, core_id, types, by_id) if inst.get("record", {}).get("core") == cid else []
        rows.extend(named)
        for t_idx, k in enumerate(A["types"]["order"]):
            if k not in ok:
                continue
            g = A["types"][k]["gen"]
            hf = float(types[k]["household_factor"])
            rng = np.random.default_rng([int(inst["seed"]), s_idx, t_idx])
            # the named rows of the record take their part of the type's offer first
            goal = slack * target * g["share"] / total_share - sum(
                residents_of(r, hf) for r in named if r["type"] == k
            )
            scale = float(unit_scale.get(k, 1.0))
            c_lo, c_hi = g["count"]
            c_hi = min(c_hi, int(inst["max_count"]))
            got = 0.0
            i = 0
            n_must = int(must.get(cid, {}).get(k, 0))
            while got < goal:
                i += 1
                jobs = int(round(scale * rng.uniform(*g["jobs"]) / rounding)) * rounding
                count = int(rng.integers(c_lo, c_hi + 1)) if c_hi > c_lo else c_lo
                row = {
                    "id": f"{core_id}-{TYPE_ABBR[k]}-{i:03d}",
                    "origin": core_id,
                    "type": k,
                    "count": str(count),
                    "jobs": str(jobs),
                    "residents": "",
                    "service_units": "",
                    "beds": "",
                    "students": "",
                    "must_move": "true" if i <= n_must else "false",
                    "record_id": "",
                    "basis": "synthetic",
                }
                residents = jobs * hf
                if k == "hospital":
                    beds = int(round(jobs * g["beds_per_job"] / 10.0)) * 10
                    row["beds"] = str(beds)
                    row["service_units"] = str(beds)
                    fixed = beds * g["fixed_cost_per_bed"]
                    land = beds * g["land_ha_per_bed"]
                elif k == "university":
                    students = int(round(jobs * rng.uniform(*g["students_per_job"]) / 100.0)) * 100
                    residents = int(round(jobs * hf)) + students
                    row["students"] = str(students)
                    row["service_units"] = str(students)
                    row["residents"] = str(residents)
                    fixed = students * g["fixed_cost_per_student"]
                    land = students * g["land_ha_per_student"]
                else:
                    fixed = jobs * g["fixed_cost_per_job"]
                    land = jobs * g["land_ha_per_job"]
                # how hard a unit is to move varies (age of plant, lease terms,
                # equipment): a per-row multiplier breaks the cost-per-resident
                # ties that make the covering knapsack hard to prove optimal
                fixed *= rng.uniform(*gen_all["fixed_cost_spread"])
                row["fixed_cost"] = fnum(fixed, 3)
                row["land_ha"] = fnum(land, 2)
                rows.append(row)
                got += residents * count
    rows.sort(key=lambda r: r["id"])
    return rows


def residents_of(row: dict, hf: float) -> float:
    """Residents a row moves in all (spec §2: jobs x household factor unless given)."""
    per_unit = float(row["residents"]) if row["residents"] else float(row["jobs"]) * hf
    return per_unit * int(row["count"])


def field_sources(record: dict) -> dict[str, list[str]]:
    """The record row's ``field_sources`` (``field=id[,id];...``) as field -> source ids."""
    out: dict[str, list[str]] = {}
    for part in filter(None, record["field_sources"].split(";")):
        field, _, ids = part.partition("=")
        out[field.strip()] = [i.strip() for i in ids.split(",") if i.strip()]
    return out


def record_rows(A: dict, inst: dict, cid: str, core_id: str, types: dict[str, dict], by_id: dict[str, dict]) -> list[dict]:
    """Facility rows of a core from its sourced record (see [instances.*.record] in the assumptions).

    Each row carries ``_provenance``: one entry per figure, ``(field, value, basis, rule, source ids)``
    with basis ``sourced``, ``estimated`` (a rule of [record_rules] applied to sourced figures)
    or ``synthetic`` (the generator, where the record is silent).
    """
    rec = inst["record"]
    rules = A["record_rules"]
    table = {r["id"]: r for r in read_csv(ROOT / rec["table"])}
    seen: set[str] = set()
    rows = []
    for n, spec in enumerate(rec["rows"]):
        rid = spec["id"]
        if rid not in table or rid in seen:
            raise SystemExit(f"{rec['table']}: record row {rid!r} missing or named twice in the assumptions")
        seen.add(rid)
        r = table[rid]
        if r["origin_in_six_central_districts"] != "yes" or r["instance_site"] not in by_id:
            raise SystemExit(f"{rec['table']}: {rid} does not leave the six central districts for a city of the instance")
        k = rec["type_map"][r["type"]]
        g = A["types"][k]["gen"]
        hf = float(types[k]["household_factor"])
        fs = field_sources(r)
        prov: list[tuple[str, str, str, str, list[str]]] = []
        rng = np.random.default_rng([int(inst["seed"]), 1000 + n])  # synthetic sizes only
        row = {
            "id": f"{core_id}-{TYPE_ABBR[k]}-{rid}",
            "origin": core_id,
            "type": k,
            "count": "1",
            "residents": "",
            "service_units": "",
            "beds": "",
            "students": "",
            "must_move": "true" if spec.get("must_move") else "false",
            "record_id": rid,
            "basis": "sourced",
        }
        size_field = spec.get("students") or spec.get("beds")
        if size_field:
            size = int(r[size_field])
            prov.append(("beds" if k == "hospital" else "students", str(size), "sourced",
                         f"record column {size_field}", fs[size_field]))
        if k == "university":
            if not size_field:
                raise SystemExit(f"{rid}: a university row needs a sourced student figure")
            jobs = int(round(size * float(rules["university_staff_per_student"]) / 10.0)) * 10
            prov.append(("jobs", str(jobs), "estimated", rules["university_staff_rule"], ["S80", *fs[size_field]]))
            row["students"] = row["service_units"] = str(size)
            row["residents"] = str(int(round(jobs * hf)) + size)
            prov.append(("residents", row["residents"], "estimated",
                         "staff x household_factor + students (spec rule of the type)", []))
            fixed = size * g["fixed_cost_per_student"]
            land = size * g["land_ha_per_student"]
        elif k == "hospital":
            if size_field:
                beds = size
                jobs = int(round(beds * float(rules["hospital_staff_per_bed"]) / 10.0)) * 10
                prov.append(("jobs", str(jobs), "estimated", rules["hospital_staff_rule"], ["S81", *fs[size_field]]))
            else:
                jobs = int(round(rng.uniform(*g["jobs"]) / 10.0)) * 10
                beds = int(round(jobs * g["beds_per_job"] / 10.0)) * 10
                prov.append(("jobs", str(jobs), "synthetic", "record silent on size: the generator's jobs range", []))
                prov.append(("beds", str(beds), "synthetic", "jobs x the generator's beds_per_job", []))
            row["beds"] = row["service_units"] = str(beds)
            fixed = beds * g["fixed_cost_per_bed"]
            land = beds * g["land_ha_per_bed"]
        else:
            jobs = int(round(rng.uniform(*g["jobs"]) / 10.0)) * 10
            prov.append(("jobs", str(jobs), "synthetic", "record silent on size: the generator's jobs range", []))
            fixed = jobs * g["fixed_cost_per_job"]
            land = jobs * g["land_ha_per_job"]
        row["jobs"] = str(jobs)
        prov.append(("fixed_cost", fnum(fixed, 3), "synthetic", rules["cost_rule"], []))
        if "land" in spec:
            amount, unit = spec["land"].split()
            if spec["land"] not in r["other_size"] or unit not in ("mu", "ha"):
                raise SystemExit(f"{rid}: land {spec['land']!r} is not in the record's other_size {r['other_size']!r}")
            land = float(amount) / (MU_PER_HA if unit == "mu" else 1.0)
            prov.append(("land_ha", fnum(land, 2), "sourced", f"{spec['land']} ({rules['land_rule']})", fs["other_size"]))
        else:
            prov.append(("land_ha", fnum(land, 2), "synthetic", rules["land_rule"], []))
        row["fixed_cost"] = fnum(fixed, 3)
        row["land_ha"] = fnum(land, 2)
        why_ids = re.findall(r"\bS\d+b?\b", spec["why"])  # the pages the dates come from
        if spec.get("must_move"):
            prov.append(("must_move", "true", "sourced", spec["why"], why_ids))
        row["_window"] = (spec.get("earliest"), spec.get("latest"), spec["why"], why_ids)
        if any(basis == "synthetic" and field in ("jobs", "beds") for field, _, basis, _, _ in prov):
            row["basis"] = "sourced (synthetic size)"
        row["_provenance"] = prov
        rows.append(row)
    return rows


def provenance_rows(facilities: list[dict], sources: dict[str, dict], phased: bool) -> list[dict]:
    """provenance.csv: per facility and figure, its basis, the rule and each source's page."""
    out = []
    for f in facilities:
        entries = list(f.get("_provenance", []))
        if not entries:
            out.append({"facility": f["id"], "field": "*", "basis": "synthetic",
                        "rule": "build.py's seeded generator (assumptions [types], [generator])"})
            continue
        if phased:
            earliest, latest, why, ids = f["_window"]
            entries.append(("earliest", f["earliest"], "sourced", why, ids))
            entries.append(("latest", f["latest"], "sourced", why, ids))
        for field, value, basis, rule, ids in entries:
            base = {"facility": f["id"], "field": field, "value": value, "basis": basis, "rule": rule}
            if not ids:
                out.append(base)
            for sid in ids:
                if sid not in sources:
                    raise SystemExit(f"{f['id']}: source {sid!r} is not in the record's sources table")
                src = sources[sid]
                out.append({**base, "source_id": sid, "publisher": src["publisher"], "date": src["date"],
                            "address": src["address"]})
    return out


def build_sites(A: dict, cities: list[dict], types: dict[str, dict]) -> list[dict]:
    rows = []
    for k, rule in types.items():
        if not rule.get("requires_site"):
            continue
        for c in cities:
            if c["kind"] == "core" or c["tier"] not in rule["allowed_tiers"]:
                continue
            cost = float(rule["site_cost"]) * float(c["cost_index"])
            rows.append({"type": k, "city": c["id"], "site_cost": fnum(cost, 1)})
    rows.sort(key=lambda r: (r["type"], r["city"]))
    return rows


# ---------------------------------------------------------------------------
# phasing (spec v2): periods, caps by period, windows, rail minutes, travel
# ---------------------------------------------------------------------------


def periods(A: dict) -> list[dict]:
    out = [dict(p) for p in A["phasing"]["periods"]]
    years = [int(p["end_year"]) for p in out]
    if years != sorted(set(years)) or years[0] <= int(A["phasing"]["base_year"]):
        raise SystemExit("[phasing] periods: end years must rise after base_year")
    return out


def cap_shares(A: dict, inst: dict, city: dict) -> list[float]:
    """Shares of a city's 2035 caps it can take by the end of each period but the last."""
    special = inst["phased"].get("cap_share", {})
    if city["id"] in special:
        shares = special[city["id"]]["shares"]
    else:
        shares = A["phasing"]["cap_share"]["new_area" if city["kind"] == "new_area" else "city"]
    n = len(A["phasing"]["periods"]) - 1
    if len(shares) != n or any(not 0.0 <= s <= 1.0 for s in shares) or list(shares) != sorted(shares):
        raise SystemExit(f"cap_share of {city['id']}: {n} rising shares in [0, 1] expected, got {shares}")
    return [float(s) for s in shares]


def add_period_caps(A: dict, inst: dict, cities: list[dict]) -> tuple[str, ...]:
    """Cumulative caps by the end of each period but the last (spec v2 cap_by_period).

    Returns the added city columns: ``cap_residents_<year>`` then ``cap_land_ha_<year>``.
    """
    ends = [int(p["end_year"]) for p in periods(A)[:-1]]
    cols = A["phasing"]["cap_columns"]
    added = tuple(f"{cols['residents']}_{y}" for y in ends) + tuple(f"{cols['land']}_{y}" for y in ends)
    for c in cities:
        if c["kind"] == "core":
            continue  # a source takes nothing: its caps stay empty
        for y, share in zip(ends, cap_shares(A, inst, c)):
            cap = int(round(share * int(c[cols["residents"]]) / 1000.0)) * 1000
            c[f"{cols['residents']}_{y}"] = str(cap)
            c[f"{cols['land']}_{y}"] = fnum(land_cap(A, cap), 1)
    return added


def apply_windows(A: dict, inst: dict, facilities: list[dict], n_sources: int) -> None:
    """Sets each row's earliest/latest period: the first and last unless a window names the row."""
    ids = [p["id"] for p in periods(A)]
    for f in facilities:
        earliest, latest = f.get("_window", (None, None))[:2]
        f["earliest"], f["latest"] = earliest or ids[0], latest or ids[-1]
        if f["earliest"] not in ids or f["latest"] not in ids or ids.index(f["earliest"]) > ids.index(f["latest"]):
            raise SystemExit(f"{f['id']}: window {f['earliest']}..{f['latest']} is not a period range")
    for w in inst["phased"].get("windows", []):
        lo, hi = (1, int(w["rows"])) if isinstance(w["rows"], int) else (int(w["rows"][0]), int(w["rows"][1]))
        earliest, latest = w.get("earliest", ids[0]), w.get("latest", ids[-1])
        if earliest not in ids or latest not in ids or ids.index(earliest) > ids.index(latest):
            raise SystemExit(f"window for {w['type']} rows {w['rows']}: {earliest}..{latest} is not a period range")
        hit = 0
        for f in facilities:
            if f["type"] == w["type"] and lo <= int(f["id"].rsplit("-", 1)[1]) <= hi:
                f["earliest"], f["latest"] = earliest, latest
                hit += 1
        if hit != (hi - lo + 1) * n_sources:
            raise SystemExit(f"window for {w['type']} rows {w['rows']}: {hit} rows found")


def fastest_rail_rows(rail: list[dict]) -> dict[str, dict]:
    """Per receiving city, the rail row with the fewest minutes from a central-district station.

    Ties go to the most recent timetable. Rows timed from the sub-centre's station
    or from an unnamed Beijing station are not from the central districts.
    """
    best: dict[str, dict] = {}
    for r in rail:
        if r["from_station_district"] not in CENTRAL_DISTRICTS:
            continue
        key = (int(r["minutes"]), -int(r["year_stated"]))
        site = r["instance_site"]
        if site not in best or key < (int(best[site]["minutes"]), -int(best[site]["year_stated"])):
            best[site] = r
    return best


def point_of(A: dict, data: dict[str, dict], site: str) -> tuple[float, float]:
    if site in data:
        return float(data[site]["lon"]), float(data[site]["lat"])
    na = A["new_areas"][site]
    return float(na["lon"]), float(na["lat"])


def travel(A: dict, data: dict[str, dict]) -> dict:
    """[travel] of the phased instances: the stated detour and a speed calibrated on the sourced rail times."""
    tr = A["phasing"]["travel"]
    rail = read_csv(ROOT / tr["calibration_table"])
    origin = point_of(A, data, tr["calibration_origin"])
    detour = float(tr["detour"])
    speeds = []
    for site, r in sorted(fastest_rail_rows(rail).items()):
        if r["stated_as"].startswith(tr["calibration_stated_as"]):
            km = haversine_km(*origin, *point_of(A, data, site))
            speeds.append(detour * km * 60.0 / float(r["minutes"]))
    step = float(tr["speed_round_kmh"])
    return {"speed_kmh": float(round(float(np.median(speeds)) / step) * step), "detour": detour, "pairs": len(speeds)}


def rail_distances(inst: dict, cities: list[dict], core_id: str) -> list[dict]:
    """distances.csv rows: sourced fastest rail minutes from the core, each with its source."""
    ph = inst["phased"]
    sources = {s["id"]: s for s in read_csv(ROOT / ph["rail_sources"])}
    ids = {c["id"] for c in cities}
    rows = []
    for site, r in sorted(fastest_rail_rows(read_csv(ROOT / ph["rail_minutes"])).items()):
        if site not in ids:
            raise SystemExit(f"{ph['rail_minutes']}: {site!r} is not a city of the instance")
        src = sources[r["source_id"]]
        rows.append(
            {
                "from": core_id,
                "to": site,
                "km": "",
                "minutes": str(int(r["minutes"])),
                "from_station": r["from_station"],
                "from_station_district": r["from_station_district"],
                "to_station": r["to_station"],
                "line": r["line"],
                "year_stated": r["year_stated"],
                "stated_as": r["stated_as"],
                "source_id": r["source_id"],
                "source_publisher": src["publisher"],
                "source_url": src["address"],
            }
        )
    return rows


def minutes_function(distances: list[dict], tr: dict):
    """Spec v2 minutes(a, b): the table's minutes where given, else 60 x detour x km / speed."""
    table = {}
    for d in distances:
        table[(d["from"], d["to"])] = table[(d["to"], d["from"])] = float(d["minutes"])

    def minutes_of(src: dict, dst: dict, km: float) -> float:
        given = table.get((src["id"], dst["id"]))
        return given if given is not None else 60.0 * tr["detour"] * km / tr["speed_kmh"]

    return minutes_of


# ---------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------


def manifest(
    A: dict, name: str, inst: dict, cores: dict[str, dict], types: dict[str, dict], phase: dict | None = None
) -> str:
    """The instance.toml text; ``phase`` (phased variants only) adds spec v2's keys."""
    b = A["build"]
    L: list[str] = [
        "# Generated by instances/china/build.py from data/china and",
        "# instances/china/assumptions.toml. Do not edit by hand: change the",
        "# assumptions and rebuild. Facilities, caps and cost indices are",
        "# SYNTHETIC" + (", except the named rows of the record (provenance.csv)." if "record" in inst else "."),
    ]
    L += core_basis_lines(cores)
    if phase is not None:
        L += [
            "# Phased (spec v2): milestones, caps by period, period budgets and the",
            "# discount rate are SYNTHETIC rules; the periods, the facility windows and",
            "# the rail minutes in distances.csv are sourced (see the README).",
        ]
    L += [
        "",
        "[instance]",
        f"name = {toml_value(name)}",
        f"description = {toml_value(inst['description'] if phase is None else phase['description'])}",
        f"cost_unit = {toml_value(b['cost_unit'])}",
    ]
    if phase is None:
        L.append(f"horizon_years = {toml_value(int(b['horizon_years']))}")
    else:
        ph = A["phasing"]
        L += [
            f"horizon_years = {toml_value(int(ph['horizon_years']))}",
            f"base_year = {toml_value(int(ph['base_year']))}",
            f"discount_rate = {toml_value(float(ph['discount_rate']))}",
        ]
    L += [
        "",
        "[tables]",
        'cities = "cities.csv"',
        'facilities = "facilities.csv"',
        'sites = "sites.csv"',
    ]
    if phase is not None and phase["distances"]:
        L.append('distances = "distances.csv"')
    for k, rule in types.items():
        L += ["", "[[types]]", f"id = {toml_value(k)}"]
        for key in TYPE_KEY_ORDER:
            if key in rule:
                L.append(f"{key} = {toml_value(rule[key])}")
    for rid, use, cap in (("residents", "residents", "cap_residents"), ("land", "land_ha", "cap_land_ha")):
        L += ["", "[[resources]]", f"id = {toml_value(rid)}", f"use = {toml_value(use)}", f"cap = {toml_value(cap)}"]
        if phase is not None:
            by_period = {p["id"]: f"{cap}_{p['end_year']}" for p in phase["periods"][:-1]}
            L.append(f"cap_by_period = {toml_value(by_period)}")
    if phase is not None:
        for p in phase["periods"]:
            L += ["", "[[periods]]", f"id = {toml_value(p['id'])}", f"end_year = {toml_value(int(p['end_year']))}"]
            if p.get("budget") is not None:
                L.append(f"budget = {toml_value(float(p['budget']))}")
        tr = phase["travel"]
        L += ["", "[travel]", f"speed_kmh = {toml_value(tr['speed_kmh'])}", f"detour = {toml_value(tr['detour'])}"]
    min_share = inst.get("min_share", {})
    for cid in min_share:
        if cid not in cores:
            raise SystemExit(f"{name}: min_share for {cid!r}, which is not a source")
    for cid in sorted(cores):
        fig = cores[cid]
        L += [
            "",
            "[[sources]]",
            f"city = {toml_value(cid + '-core')}",
            f"core_population = {toml_value(int(fig['core_population']))}",
            f"core_area_km2 = {toml_value(float(fig['core_area_km2']))}",
        ]
        if "target_density" in fig:
            L.append(f"target_density = {toml_value(float(fig['target_density']))}")
        else:
            L.append(f"target_reduction_pct = {toml_value(float(fig['target_reduction_pct']))}")
        L.append("soft = false")
        if cid in min_share:
            L.append(f"min_share = {toml_value({k: float(v) for k, v in min_share[cid].items()})}")
        if phase is not None:
            L.append(f"milestones = {toml_value({k: float(v) for k, v in A['phasing']['milestones'].items()})}")
    pol = inst.get("policy", {})
    if pol:
        L += ["", "[policy]"]
        for key in ("budget", "max_destination_share"):
            if key in pol:
                L.append(f"{key} = {toml_value(float(pol[key]))}")
        if "min_region_share" in pol:
            L.append(
                "min_region_share = "
                + toml_value({k: float(v) for k, v in pol["min_region_share"].items()})
            )
    L += ["", "[objective]", f"weights = {toml_value({k: float(v) for k, v in b['objective_weights'].items()})}"]
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------------------


def variants(A: dict) -> dict[str, tuple[str, bool]]:
    """Output name -> (assumptions instance, phased?), in the assumptions' order."""
    out: dict[str, tuple[str, bool]] = {}
    for base, inst in A["instances"].items():
        out[base] = (base, False)
        if "phased" in inst:
            out[base + A["phasing"]["suffix"]] = (base, True)
    return out


def build_instance(
    A: dict, data: dict[str, dict], districts: dict[str, list[dict]], name: str, out_root: Path
) -> dict:
    base, phased = variants(A)[name]
    inst = A["instances"][base]
    cities, cores = build_cities(A, data, inst, districts)
    types = instance_types(A, inst, phased)
    city_columns: tuple[str, ...] = CITY_COLUMNS
    distances: list[dict] = []
    phase = None
    minutes_of = None
    if phased:
        city_columns = CITY_COLUMNS + add_period_caps(A, inst, cities)
        if inst["phased"].get("distances"):
            if len(cores) != 1:
                raise SystemExit(f"{name}: a rail table needs exactly one source")
            distances = rail_distances(inst, cities, f"{next(iter(cores))}-core")
        tr = travel(A, data)
        minutes_of = minutes_function(distances, tr)
        phase = {
            "description": inst["phased"]["description"],
            "periods": periods(A),
            "travel": tr,
            "distances": bool(distances),
        }
        shares = inst["phased"].get("period_budget_shares")
        if shares is not None:
            budget = float(inst["policy"]["budget"])
            if len(shares) != len(phase["periods"]):
                raise SystemExit(f"{name}: one period_budget_share per period expected")
            for p, share in zip(phase["periods"], shares):
                p["budget"] = round(share * budget, 1)
    facilities = build_facilities(A, inst, cities, cores, types, minutes_of)
    if phased:
        apply_windows(A, inst, facilities, len(cores))
    sites = build_sites(A, cities, types)
    out = out_root / name
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "cities.csv", city_columns, cities)
    facility_columns = PHASED_FACILITY_COLUMNS if phased else FACILITY_COLUMNS
    if "record" in inst:
        facility_columns += RECORD_FACILITY_COLUMNS
        sources = {r["id"]: r for r in read_csv(ROOT / inst["record"]["source_table"])}
        write_csv(out / "provenance.csv", PROVENANCE_COLUMNS, provenance_rows(facilities, sources, phased))
    write_csv(out / "facilities.csv", facility_columns, facilities)
    write_csv(out / "sites.csv", SITE_COLUMNS, sites)
    if distances:
        write_csv(out / "distances.csv", DISTANCE_COLUMNS, distances)
    text = manifest(A, name, inst, cores, types, phase)
    (out / "instance.toml").write_text(text, encoding="utf-8", newline="")
    return {
        "cities": len(cities),
        "sources": len(cores),
        "facility_rows": len(facilities),
        "units": sum(int(f["count"]) for f in facilities),
        "types": sorted({f["type"] for f in facilities}),
        "sites": len(sites),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "instances", help="root directory of the instance folders")
    ap.add_argument("--data", type=Path, default=None, help="data/china directory (default: from assumptions)")
    ap.add_argument("--assumptions", type=Path, default=HERE / "assumptions.toml")
    ap.add_argument("--only", action="append", default=None, help="build only this instance (repeatable)")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    with args.assumptions.open("rb") as fh:
        A = tomllib.load(fh)
    data_dir = args.data if args.data is not None else ROOT / A["build"]["data_dir"]
    data = {r["city_id"]: r for r in read_csv(data_dir / "cities.csv")}
    districts = read_core_districts(
        data_dir / A["cores"]["districts_table"], data_dir / A["cores"]["district_sources_table"], data
    )
    known = variants(A)
    names = args.only or list(known)
    for name in names:
        if name not in known:
            raise SystemExit(f"unknown instance {name!r}; known: {', '.join(known)}")
    for name in names:
        stats = build_instance(A, data, districts, name, args.out)
        if not args.quiet:
            print(f"{name}: {stats}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
