"""Bad input never crashes: mutated copies of the tutorial either load or fail with
located problems; the CLI exits 0, 2 or 3 and never prints a traceback."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spatialopt.cli import main

TUTORIAL = Path(__file__).parents[2] / "instances" / "tutorial"
CSV_FILES = ["facilities.csv", "arcs.csv", "sites.csv"]
NASTY = [
    "", "nan", "NaN", "inf", "-inf", "-1", "-0.5", "1e308", "1e999", "abc", "😀", "true", "0x10", "1,5", " 3 ",
    "99999999999999999999999", "None", "null", "beijing-core", "hospital", "\t", '"', "2.5",
]
MANIFEST_EDITS = [
    ("budget = 3000.0", 'budget = "lots"'),
    ("budget = 3000.0", "budget = -1"),
    ("max_km = 160.0", "max_km = -5.0"),
    ("max_km = 160.0", "max_km = inf"),
    ("min_km = 60.0", "min_km = 600.0"),
    ('id = "hospital"', 'id = "manufacturing"'),
    ("target_reduction = 60_000", "target_reduction = nan"),
    ("target_reduction = 60_000", "target_reduction = 60_000\ntarget_reduction_pct = 5"),
    ('name = "tutorial"', 'name = ""'),
    ("[policy]", "[policy]\nbudgett = 1"),
    ("horizon_years = 10", "horizon_years = [10]"),
    ("household_factor = 2.5", "household_factor = true"),
    ('cities = "cities.geojson"', 'cities = "missing.geojson"'),
    ('cities = "cities.geojson"', 'cities = "facilities.csv"'),
    ('use = "beds"', 'use = "nope"'),
    ('city = "tianjin-core"', 'city = "atlantis"'),
    ("min_region_share = { central = 0.05 }", "min_region_share = { mars = 0.05 }"),
    ("weights = { relocation = 1.0", "weights = { relocation = -1.0"),
    ("[[distances]]\nfrom = \"beijing-core\"", "[[distances]]\nfrom = \"xiongan\""),
    ("[instance]", "[instance"),
]


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, tuple]:
    kind = draw(st.sampled_from(["cell", "drop_column", "extra_column", "duplicate_row", "truncate",
                                 "garbage", "not_utf8", "empty", "delete", "manifest", "geometry"]))
    target = draw(st.sampled_from(CSV_FILES))
    if kind == "cell":
        return kind, (target, draw(st.integers(0, 200)), draw(st.integers(0, 20)), draw(st.sampled_from(NASTY)))
    if kind in ("drop_column", "duplicate_row", "truncate"):
        return kind, (target, draw(st.integers(0, 2000)))
    if kind == "garbage":
        return kind, (target, draw(st.binary(min_size=1, max_size=64)))
    if kind == "manifest":
        return kind, draw(st.sampled_from(MANIFEST_EDITS))
    if kind == "geometry":
        return kind, (draw(st.integers(0, 13)), draw(st.sampled_from(["polygon", "strings", "none", "json"])))
    return kind, (target,)


def apply(folder: Path, kind: str, args: tuple) -> None:
    if kind == "manifest":
        manifest = folder / "instance.toml"
        old, new = args
        manifest.write_text(manifest.read_text().replace(old, new, 1))
        return
    if kind == "geometry":
        index, how = args
        path = folder / "cities.geojson"
        if how == "json":
            path.write_text(path.read_text()[:-20])
            return
        data = json.loads(path.read_text())
        feature = data["features"][index]
        if how == "polygon":
            feature["geometry"] = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
        elif how == "strings":
            feature["properties"]["cap_residents"] = "many"
        else:
            feature["geometry"] = None
        path.write_text(json.dumps(data))
        return
    path = folder / args[0]
    lines = path.read_text().splitlines()
    if kind == "cell":
        row = 1 + args[1] % max(1, len(lines) - 1)
        cells = lines[row].split(",")
        cells[args[2] % len(cells)] = args[3]
        lines[row] = ",".join(cells)
    elif kind == "drop_column":
        column = args[1] % len(lines[0].split(","))
        lines = [",".join(c for i, c in enumerate(line.split(",")) if i != column) for line in lines]
    elif kind == "extra_column":
        lines = [lines[0] + ",note"] + [line + ",x" for line in lines[1:]]
    elif kind == "duplicate_row":
        lines.append(lines[1 + args[1] % max(1, len(lines) - 1)])
    elif kind == "truncate":
        text = "\n".join(lines)
        path.write_text(text[: args[1] % max(1, len(text))])
        return
    elif kind == "garbage":
        path.write_bytes(args[1])
        return
    elif kind == "not_utf8":
        path.write_bytes(b"\xff\xfe" + path.read_bytes())
        return
    elif kind == "empty":
        path.write_text("")
        return
    elif kind == "delete":
        path.unlink()
        return
    path.write_text("\n".join(lines) + "\n")


LOCATED = re.compile(r"^  \S.*: .+")


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_mutated_instances_load_or_fail_with_located_problems(mutation: tuple[str, tuple]) -> None:
    kind, args = mutation
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "inst"
        shutil.copytree(TUTORIAL, folder)
        apply(folder, kind, args)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(folder / "instance.toml")])
        text = out.getvalue() + err.getvalue()
        assert code in (0, 2, 3), text
        assert "Traceback" not in text and "internal error" not in text, text
        if code == 2:
            problems = err.getvalue().splitlines()[1:]
            assert problems, text
            assert all(LOCATED.match(line) for line in problems), text
