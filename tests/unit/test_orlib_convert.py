"""OR-Library converters: parsing, written instances, and published optima.

The optimum checks do not use the project's model: ``_solve_spec_instance``
below reads the written ``instance.toml`` and CSVs with the standard library
and builds spec §4 (restricted to what the converters use) directly in
highspy; ``_solve_classic_gap/cap/pmed`` build the textbook models from the
parsed arrays. Both must reproduce the published values in
``instances/orlib/*/optima.csv``.
"""

from __future__ import annotations

import csv
import filecmp
import math
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

import highspy
import numpy as np
import pytest

from spatialopt.convert import (
    CapProblem,
    GapProblem,
    PmedProblem,
    pmed_distances,
    read_cap,
    read_gap,
    read_pmed,
    write_cap_instance,
    write_gap_instance,
    write_pmed_instance,
)

ORLIB = Path(__file__).resolve().parents[2] / "instances" / "orlib"
GAP1 = ORLIB / "gap" / "gap1.txt"
CAP41 = ORLIB / "cap" / "cap41.txt"
PMED1 = ORLIB / "pmed" / "pmed1.txt"


def _optimum(family: str, instance: str, sense: str) -> float:
    with (ORLIB / family / "optima.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["instance"] == instance and row["sense"] == sense:
                assert row["status"] == "optimal"
                return float(row["objective"])
    raise KeyError((family, instance, sense))


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- tokens

GAP_TINY = """1
2 3
1 2 3
4 5 6
7 8 9
10 11 12
20 30
"""


def test_gap_tokens_ignore_line_breaks(tmp_path: Path) -> None:
    tokens = GAP_TINY.split()
    one_line = _write(tmp_path, "one.txt", " ".join(tokens))
    one_per_line = _write(tmp_path, "many.txt", "\r\n".join(tokens) + "\r\n")
    odd = _write(tmp_path, "odd.txt", "1 2\n3 1 2\n\n3 4 5 6 7\t8 9 10\n 11 12 20\n30")
    expected = [
        GapProblem(m=2, n=3, c=((1, 2, 3), (4, 5, 6)), a=((7, 8, 9), (10, 11, 12)), b=(20, 30))
    ]
    assert read_gap(_write(tmp_path, "std.txt", GAP_TINY)) == expected
    assert read_gap(one_line) == expected
    assert read_gap(one_per_line) == expected
    assert read_gap(odd) == expected


def test_real_gap_file_rewrapped_reads_the_same(tmp_path: Path) -> None:
    tokens = GAP1.read_text().split()
    rewrapped = _write(
        tmp_path,
        "gap1.txt",
        "\n".join(" ".join(tokens[k : k + 7]) for k in range(0, len(tokens), 7)),
    )
    assert read_gap(rewrapped) == read_gap(GAP1)


def test_cap_float_tokens(tmp_path: Path) -> None:
    path = _write(tmp_path, "cap.txt", "2 2\n 10 7500. \n 20 .00000\n 5\n 1.5 .25\n 7 3. 4\n")
    problem = read_cap(path)
    assert problem == CapProblem(
        m=2,
        n=2,
        s=(10, 20),
        f=(7500.0, 0.0),
        d=(5, 7),
        c=((1.5, 3.0), (0.25, 4)),
    )
    assert isinstance(problem.f[0], float) and isinstance(problem.f[1], float)
    assert isinstance(problem.s[0], int) and isinstance(problem.d[0], int)


def test_cap42_one_line_layout_has_the_shared_demands() -> None:
    # cap42 puts each demand and its costs on one line; cap41 wraps them seven a line.
    cap41, cap42 = read_cap(CAP41), read_cap(ORLIB / "cap" / "cap42.txt")
    assert cap42.d == cap41.d
    assert cap42.c == cap41.c  # same costs, other fixed costs
    assert cap42.f[0] == 12500.0 and cap42.f[10] == 0.0


@pytest.mark.parametrize("path", sorted((ORLIB / "cap").glob("cap*.txt")), ids=lambda p: p.stem)
def test_every_cap_file_parses(path: Path) -> None:
    problem = read_cap(path)
    number = int(path.stem[3:])
    assert (problem.m, problem.n) == (16 if number < 80 else 25 if number < 110 else 50, 50)
    assert sum(problem.d) == 58268 and max(problem.d) == 12912
    assert len(set(problem.s)) == 1
    assert len(problem.c) == problem.m and all(len(row) == problem.n for row in problem.c)


@pytest.mark.parametrize("path", sorted((ORLIB / "gap").glob("gap*.txt")), ids=lambda p: p.stem)
def test_every_gap_file_parses(path: Path) -> None:
    sizes = {
        1: (5, 15),
        2: (5, 20),
        3: (5, 25),
        4: (5, 30),
        5: (8, 24),
        6: (8, 32),
        7: (8, 40),
        8: (8, 48),
        9: (10, 30),
        10: (10, 40),
        11: (10, 50),
        12: (10, 60),
    }
    problems = read_gap(path)
    assert len(problems) == 5
    assert {(p.m, p.n) for p in problems} == {sizes[int(path.stem[3:])]}


@pytest.mark.parametrize("path", sorted((ORLIB / "pmed").glob("pmed*.txt")), ids=lambda p: p.stem)
def test_every_pmed_file_parses(path: Path) -> None:
    problem = read_pmed(path)
    assert len(problem.edges) == problem.n**2 // 50
    assert 1 <= problem.p <= problem.n
    # every file repeats some pairs, which is why the overwrite rule matters
    assert len(problem.edge_lengths()) < len(problem.edges)


# ---------------------------------------------------------------- pmed costs

PMED_TINY = """3 4 1
1 2 1
2 3 5
2 1 10
3 2 5
"""


def test_pmed_later_edge_line_replaces_earlier(tmp_path: Path) -> None:
    problem = read_pmed(_write(tmp_path, "tiny.txt", PMED_TINY))
    assert problem == PmedProblem(n=3, p=1, edges=((1, 2, 1), (2, 3, 5), (2, 1, 10), (3, 2, 5)))
    assert problem.edge_lengths() == {(1, 2): 10, (2, 3): 5}
    dist = pmed_distances(problem)
    np.testing.assert_array_equal(dist, [[0, 10, 15], [10, 0, 5], [15, 5, 0]])
    # keeping the shortest would give d(1,2) = 1 and the 1-median cost 6 instead of 15
    assert dist.sum(axis=0).min() == 15

    manifest = write_pmed_instance(tmp_path / "tiny.txt", tmp_path / "out")
    costs = {
        (r["facility"], r["destination"]): r["cost"] for r in _rows(manifest.parent / "arcs.csv")
    }
    assert costs[("customer-1", "vertex-2")] == "10"
    assert costs[("customer-3", "vertex-1")] == "15"
    assert _solve_spec_instance(manifest) == pytest.approx(15)


def test_pmed_zero_length_edge_and_unreachable_pairs(tmp_path: Path) -> None:
    problem = read_pmed(_write(tmp_path, "zero.txt", "4 2 2\n1 2 0\n2 3 4.5\n"))
    dist = pmed_distances(problem)
    assert dist[0, 2] == 4.5 and dist[0, 1] == 0.0
    assert math.isinf(dist[0, 3]) and dist[3, 3] == 0.0
    manifest = write_pmed_instance(tmp_path / "zero.txt", tmp_path / "out")
    arcs = _rows(manifest.parent / "arcs.csv")
    assert len(arcs) == 3 * 3 + 1  # vertex 4 only reaches itself
    assert {"facility": "customer-1", "destination": "vertex-2", "cost": "0.0"} in arcs


@pytest.mark.parametrize("name", ["pmed1", "pmed6"])
def test_pmed_distances_match_scipy_on_the_final_edges(name: str) -> None:
    from scipy import sparse
    from scipy.sparse import csgraph
    problem = read_pmed(ORLIB / "pmed" / f"{name}.txt")
    lengths = problem.edge_lengths()
    rows = [i - 1 for i, _ in lengths]
    cols = [j - 1 for _, j in lengths]
    graph = sparse.coo_matrix(
        (list(lengths.values()), (rows, cols)), shape=(problem.n, problem.n)
    ).tocsr()
    expected = csgraph.shortest_path(graph, directed=False)
    np.testing.assert_array_equal(pmed_distances(problem), expected)


# ---------------------------------------------------------------- capa-style capacity

CAPA_TINY = """2 3
capacity 100.
CAPACITY 50
4 1 2
5 3 1
6 2 2
"""


def test_capacity_word(tmp_path: Path) -> None:
    path = _write(tmp_path, "capx.txt", CAPA_TINY)
    with pytest.raises(
        ValueError, match=r"capx\.txt: token 3 \(line 2\) is the word 'capacity'.*capacity="
    ):
        read_cap(path)
    problem = read_cap(path, capacity=8)
    assert problem.s == (8, 8) and problem.capacity_word
    assert problem.c == ((1, 3, 2), (2, 1, 2)) and problem.d == (4, 5, 6)

    with pytest.raises(ValueError, match="capacity"):
        write_cap_instance(path, tmp_path / "split", "split")
    manifest = write_cap_instance(path, tmp_path / "split", "split", capacity=8)
    sites = _rows(manifest.parent / "sites.csv")
    assert [r["capacity_jobs"] for r in sites] == ["8", "8"]
    assert tomllib.loads(manifest.read_text())["instance"]["name"] == "capx-8-split"
    assert _solve_spec_instance(manifest) == pytest.approx(
        _solve_classic_cap(read_cap(path, capacity=8), split=True)
    )

    uncap = write_cap_instance(path, tmp_path / "uncap", "uncap")  # no capacity needed
    assert [r["capacity_jobs"] for r in _rows(uncap.parent / "sites.csv")] == ["", ""]


def test_capacity_for_a_numeric_file_is_an_error() -> None:
    with pytest.raises(ValueError, match="numeric capacities"):
        read_cap(CAP41, capacity=8000)
    with pytest.raises(ValueError, match="finite number >= 0"):
        read_cap(CAP41, capacity=-1)


# ---------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    ("reader", "text", "message"),
    [
        pytest.param(
            read_gap,
            GAP_TINY.rsplit(maxsplit=1)[0],
            r"file ends after 16 tokens \(line 7\); "
            r"expected capacity b\[2\] of problem 1 of 1 as token 17",
            id="gap-truncated",
        ),
        pytest.param(
            read_gap,
            GAP_TINY.replace("8 9", "8 x9"),
            r"token 12 \(line 5\) is 'x9'; expected use a\[1\]\[3\] of problem 1 of 1 \(a number\)",
            id="gap-not-a-number",
        ),
        pytest.param(
            read_gap,
            GAP_TINY + "7\n",
            r"token 18 \(line 8\) is '7'; expected the end of the file after 1 problems",
            id="gap-trailing-token",
        ),
        pytest.param(
            read_gap,
            "1.\n" + GAP_TINY[2:],
            r"token 1 \(line 1\) is '1\.'; expected the number of problems P \(a whole number\)",
            id="gap-count-with-point",
        ),
        pytest.param(
            read_gap,
            GAP_TINY.replace("20 30", "20 -3"),
            r"capacity b\[2\] of problem 1 of 1 \(a number >= 0\)",
            id="gap-negative-capacity",
        ),
        pytest.param(
            read_gap,
            GAP_TINY.replace("1 2 3", "1 nan 3"),
            r"'nan'; expected value c\[1\]\[2\]",
            id="gap-nan",
        ),
        pytest.param(
            read_gap,
            "",
            r"file ends after 0 tokens \(line 1\); expected the number of problems P",
            id="gap-empty",
        ),
        pytest.param(
            read_cap,
            "2 2\n10 1\n10 1\n5 1 2\n5 1\n",
            r"file ends after 11 tokens \(line 5\); expected cost c\[2\]\[2\] of customer 2",
            id="cap-truncated",
        ),
        pytest.param(
            read_cap,
            "2 2\n10 1\n10 1\n-5 1 2\n5 1 1\n",
            r"token 7 \(line 4\) is '-5'; expected demand d\[1\] \(a number >= 0\)",
            id="cap-negative-demand",
        ),
        pytest.param(
            read_cap,
            "2 2\n10 1\nten 1\n5 1 2\n5 1 1\n",
            r"'ten'; expected capacity s\[2\]",
            id="cap-word-not-capacity",
        ),
        pytest.param(
            read_pmed,
            "3 2 1\n1 2 5\n2 4 1\n",
            r"token 8 \(line 3\) is '4'; expected the second vertex of edge 2 of 2 \(in 1\.\.3\)",
            id="pmed-vertex-out-of-range",
        ),
        pytest.param(
            read_pmed,
            "3 2 1\n1 2 5\n2 2 1\n",
            r"token 8 \(line 3\): edge 2 joins vertex 2 to itself",
            id="pmed-self-loop",
        ),
        pytest.param(
            read_pmed,
            "3 2 4\n1 2 5\n2 3 1\n",
            r"expected the number of medians p \(in 1\.\.3\)",
            id="pmed-p-too-large",
        ),
        pytest.param(
            read_pmed,
            "3 2 1\n1 2 5\n2 3\n",
            r"file ends after 8 tokens \(line 3\); expected the length of edge 2 of 2",
            id="pmed-truncated",
        ),
        pytest.param(
            read_pmed,
            "3 1 1\n1 2 -5\n",
            r"'-5'; expected the length of edge 1 of 1 \(a number >= 0\)",
            id="pmed-negative-length",
        ),
    ],
)
def test_malformed_files(
    tmp_path: Path, reader: Callable[[Path], object], text: str, message: str
) -> None:
    path = _write(tmp_path, "bad.txt", text)
    with pytest.raises(ValueError, match=r"bad\.txt: .*" + message):
        reader(path)


def test_binary_file_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.txt"
    path.write_bytes(b"5 \xff\xfe 3")
    with pytest.raises(ValueError, match=r"bin\.txt: not a text file"):
        read_gap(path)


def test_bad_writer_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"problem=6, expected a whole number in 1\.\.5"):
        write_gap_instance(GAP1, tmp_path, 6, "max")
    with pytest.raises(ValueError, match=r"problem=0"):
        write_gap_instance(GAP1, tmp_path, 0, "max")
    with pytest.raises(ValueError, match="sense='maximum'"):
        write_gap_instance(GAP1, tmp_path, 1, "maximum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="variant='multi'"):
        write_cap_instance(CAP41, tmp_path, "multi")  # type: ignore[arg-type]


# ---------------------------------------------------------------- written instances


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("orlib")
    return {
        "gap-max": write_gap_instance(GAP1, base / "gap1-1-max", 1, "max"),
        "gap-min": write_gap_instance(GAP1, base / "gap1-1-min", 1, "min"),
        "cap-split": write_cap_instance(CAP41, base / "cap41-split", "split"),
        "cap-single": write_cap_instance(CAP41, base / "cap41-single", "single"),
        "cap-uncap": write_cap_instance(ORLIB / "cap" / "cap71.txt", base / "cap71-uncap", "uncap"),
        "pmed": write_pmed_instance(PMED1, base / "pmed1"),
    }


def test_determinism(written: dict[str, Path], tmp_path: Path) -> None:
    again = {
        "gap-max": write_gap_instance(GAP1, tmp_path / "a", 1, "max"),
        "cap-split": write_cap_instance(CAP41, tmp_path / "b", "split"),
        "pmed": write_pmed_instance(PMED1, tmp_path / "c"),
    }
    for key, manifest in again.items():
        first = written[key].parent
        names = sorted(p.name for p in first.iterdir())
        assert names == sorted(p.name for p in manifest.parent.iterdir())
        _, mismatch, errors = filecmp.cmpfiles(first, manifest.parent, names, shallow=False)
        assert (mismatch, errors) == ([], []), key
    # rewriting into the same directory gives the same bytes
    before = (written["pmed"].parent / "arcs.csv").read_bytes()
    write_pmed_instance(PMED1, written["pmed"].parent)
    assert (written["pmed"].parent / "arcs.csv").read_bytes() == before
    assert b"\r" not in before


def _manifest(path: Path) -> dict:  # type: ignore[type-arg]
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    for table in doc["tables"].values():
        assert (path.parent / table).is_file()
    return doc


NEUTRAL = {
    "min_km": 0.0,
    "cost_per_job_km": 0.0,
    "annual_cost_per_job": 0.0,
    "access_cost_per_unit_km": 0.0,
}


def test_gap_manifest_and_tables(written: dict[str, Path]) -> None:
    problem = read_gap(GAP1)[0]
    for sense, sign in (("max", -1), ("min", 1)):
        manifest = written[f"gap-{sense}"]
        doc = _manifest(manifest)
        assert set(doc) == {"instance", "tables", "types", "resources", "sources"}
        assert doc["instance"]["name"] == f"gap1-1-{sense}"
        assert "gap1.txt" in doc["instance"]["description"]
        assert doc["tables"] == {
            "cities": "cities.csv",
            "facilities": "facilities.csv",
            "arcs": "arcs.csv",
        }
        assert doc["types"] == [
            {"id": "gap-job", "splittable": False, "requires_site": False, **NEUTRAL}
        ]
        assert doc["resources"] == [{"id": "cap", "use": "gap_use", "cap": "cap_gap"}]
        assert doc["sources"] == [{"city": "orlib-source", "target_reduction": 0}]
        cities = _rows(manifest.parent / "cities.csv")
        facilities = _rows(manifest.parent / "facilities.csv")
        arcs = _rows(manifest.parent / "arcs.csv")
        assert len(cities) == problem.m + 1 and len(facilities) == problem.n
        assert len(arcs) == problem.m * problem.n
        assert cities[0] == {"id": "orlib-source", "lon": "0.0", "lat": "0.0", "cap_gap": ""}
        assert [float(r["cap_gap"]) for r in cities[1:]] == list(problem.b)
        assert all(
            r["must_move"] == "true" and r["count"] == "1" and r["gap_use"] == "0"
            for r in facilities
        )
        for r in arcs:
            i, j = int(r["destination"].split("-")[1]) - 1, int(r["facility"].split("-")[1]) - 1
            assert float(r["cost"]) == sign * problem.c[i][j]
            assert float(r["use_cap"]) == problem.a[i][j]


def test_cap_manifest_and_tables(written: dict[str, Path]) -> None:
    problem = read_cap(CAP41)
    for variant in ("split", "single"):
        manifest = written[f"cap-{variant}"]
        doc = _manifest(manifest)
        assert set(doc) == {"instance", "tables", "types", "sources"}
        assert doc["instance"]["name"] == f"cap41-{variant}"
        assert doc["types"] == [
            {
                "id": "cap-customer",
                "splittable": variant == "split",
                "requires_site": True,
                **NEUTRAL,
            }
        ]
        assert set(doc["tables"]) == {"cities", "facilities", "arcs", "sites"}
    folder = written["cap-split"].parent
    cities, facilities = _rows(folder / "cities.csv"), _rows(folder / "facilities.csv")
    sites, arcs = _rows(folder / "sites.csv"), _rows(folder / "arcs.csv")
    assert (len(cities), len(facilities), len(sites), len(arcs)) == (17, 50, 16, 800)
    assert [int(r["jobs"]) for r in facilities] == list(problem.d)
    assert [(float(r["site_cost"]), int(r["capacity_jobs"])) for r in sites] == list(
        zip(problem.f, problem.s, strict=True)
    )
    # floats round-trip exactly
    written_costs = {(r["facility"], r["destination"]): float(r["cost"]) for r in arcs}
    for i in range(problem.m):
        for j in range(problem.n):
            assert written_costs[(f"customer-{j + 1}", f"warehouse-{i + 1}")] == problem.c[i][j]
    uncap = written["cap-uncap"].parent
    assert all(r["capacity_jobs"] == "" for r in _rows(uncap / "sites.csv"))


def test_pmed_manifest_and_tables(written: dict[str, Path]) -> None:
    doc = _manifest(written["pmed"])
    assert doc["instance"]["name"] == "pmed1"
    assert doc["types"] == [
        {
            "id": "pmed-customer",
            "splittable": False,
            "requires_site": True,
            "site_cost": 0.0,
            "min_sites": 5,
            "max_sites": 5,
            **NEUTRAL,
        }
    ]
    assert set(doc["tables"]) == {"cities", "facilities", "arcs"}
    folder = written["pmed"].parent
    assert len(_rows(folder / "cities.csv")) == 101
    assert len(_rows(folder / "facilities.csv")) == 100
    assert len(_rows(folder / "arcs.csv")) == 100 * 100


# ---------------------------------------------------------------- solver cross-checks


Row = tuple[dict[int, float], float, float]  # (coefficients by column, lower, upper)


def _solve(
    cost: Sequence[float],
    lower: Sequence[float],
    upper: Sequence[float],
    integer: Sequence[bool],
    rows: Sequence[Row],
) -> tuple[str, float]:
    """min cost·x s.t. lo <= Σ coef x <= hi for (coefs, lo, hi) in rows; HiGHS, quiet."""
    # The thread pool is process-global; other tests may have made it with
    # another thread count, which would make this solve end "not set".
    highspy.Highs.resetGlobalScheduler(True)
    h = highspy.Highs()
    options: dict[str, object] = {
        "output_flag": False,
        "threads": 1,
        "time_limit": 60.0,
        # the default 1e-4 would accept ~100 off on cap41's 1e6 objective
        "mip_rel_gap": 1e-10,
        "mip_abs_gap": 1e-7,
    }
    for option, setting in options.items():
        h.setOptionValue(option, setting)
    n = len(cost)
    h.addVars(n, np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(cost, dtype=float))
    starts: list[int] = []
    index: list[int] = []
    value: list[float] = []
    lo: list[float] = []
    hi: list[float] = []
    for coefs, row_lo, row_hi in rows:
        starts.append(len(index))
        index += list(coefs)
        value += list(coefs.values())
        lo.append(row_lo)
        hi.append(row_hi)
    h.addRows(
        len(rows),
        np.asarray(lo, dtype=float),
        np.asarray(hi, dtype=float),
        len(index),
        np.asarray(starts, dtype=np.int32),
        np.asarray(index, dtype=np.int32),
        np.asarray(value, dtype=float),
    )
    ints = [k for k in range(n) if integer[k]]
    if ints:
        h.changeColsIntegrality(
            len(ints), np.asarray(ints, dtype=np.int32), np.full(len(ints), 1, dtype=np.uint8)
        )
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return "optimal", h.getInfo().objective_function_value
    return str(status), math.nan


def _solve_spec_instance(manifest: Path) -> float:
    """Spec §4 built straight from the written files (only what converters use)."""
    status, objective = _solve_spec_instance_status(manifest)
    assert status == "optimal", status
    return objective


def _solve_spec_instance_status(manifest: Path) -> tuple[str, float]:
    doc = tomllib.loads(manifest.read_text(encoding="utf-8"))
    assert set(doc) <= {
        "instance",
        "tables",
        "types",
        "resources",
        "sources",
    }  # no policy/objective
    tables = {k: _rows(manifest.parent / v) for k, v in doc["tables"].items()}
    types = {t["id"]: t for t in doc["types"]}
    for t in types.values():
        assert t.get("annual_cost_per_job", 0) == 0 and t.get("access_cost_per_unit_km", 0) == 0
        assert t.get("min_site_jobs", 0) == 0
    sources = {s["city"] for s in doc["sources"]}
    assert all(s["target_reduction"] == 0 for s in doc["sources"])  # target rows are trivial
    cities = {r["id"]: r for r in tables["cities"]}
    destinations = [c for c in cities if c not in sources]
    facilities = tables["facilities"]
    arcs = {(r["facility"], r["destination"]): r for r in tables.get("arcs", [])}
    site_rows: dict[str, dict[str, dict[str, str]]] = {}
    for r in tables.get("sites", []):
        site_rows.setdefault(r["type"], {})[r["city"]] = r

    def num(text: str | None, default: float) -> float:
        return default if text in (None, "") else float(text)

    def km(a: str, b: str) -> float:
        lon1, lat1, lon2, lat2 = (
            math.radians(float(cities[c][k])) for c in (a, b) for k in ("lon", "lat")
        )
        h = (
            math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        )
        return 2 * 6371.0088 * math.asin(math.sqrt(h))

    cost: list[float] = []
    lower: list[float] = []
    upper: list[float] = []
    integer: list[bool] = []

    def var(c: float, ub: float, is_int: bool) -> int:
        cost.append(c)
        lower.append(0.0)
        upper.append(ub)
        integer.append(is_int)
        return len(cost) - 1

    # y: site candidates
    y: dict[tuple[str, str], int] = {}
    site_cap: dict[tuple[str, str], float] = {}
    for k, t in types.items():
        if not t.get("requires_site", False):
            continue
        for d in site_rows.get(k, destinations):
            row = site_rows.get(k, {}).get(d, {})
            y[(k, d)] = var(num(row.get("site_cost"), t.get("site_cost", 0.0)), 1, True)
            site_cap[(k, d)] = num(row.get("capacity_jobs"), t.get("site_capacity_jobs", math.inf))
    # x: eligible arcs
    x: dict[tuple[str, str], int] = {}
    for f in facilities:
        t = types[f["type"]]
        assert f["origin"] in sources
        for d in destinations:
            dist = km(f["origin"], d)
            if not t.get("min_km", 0.0) <= dist <= t.get("max_km", math.inf):
                continue
            if f["type"] in site_rows and d not in site_rows[f["type"]]:
                continue
            if arcs and (f["id"], d) not in arcs:
                continue
            arc = arcs.get((f["id"], d), {})
            r_fd = num(
                arc.get("cost"),
                num(f.get("fixed_cost"), 0.0)
                + t.get("cost_per_job_km", 0.0) * num(f.get("jobs"), 0.0) * dist,
            )
            x[(f["id"], d)] = var(r_fd, num(f.get("count"), 1.0), not t.get("splittable", False))
    rows = []
    by_id = {f["id"]: f for f in facilities}
    for f in facilities:  # assign
        count = num(f.get("count"), 1.0)
        must = f.get("must_move", "false") == "true"
        rows.append(({x[a]: 1.0 for a in x if a[0] == f["id"]}, count if must else 0.0, count))
    for res in doc.get("resources", []):  # capacity, with arc use_<r> overrides
        for d in destinations:
            cap = num(cities[d].get(res["cap"]), math.inf)
            if math.isfinite(cap):
                coefs = {}
                for (fid, dd), col in x.items():
                    if dd == d:
                        override = arcs.get((fid, d), {}).get(f"use_{res['id']}", "")
                        coefs[col] = num(override, num(by_id[fid].get(res["use"]), 0.0))
                rows.append((coefs, -math.inf, cap))
    for (fid, d), col in x.items():  # site_link
        k = by_id[fid]["type"]
        if (k, d) in y:
            rows.append(({col: 1.0, y[(k, d)]: -num(by_id[fid].get("count"), 1.0)}, -math.inf, 0.0))
    for (k, d), ycol in y.items():  # site_capacity
        if math.isfinite(site_cap[(k, d)]):
            coefs = {
                col: num(by_id[fid].get("jobs"), 0.0)
                for (fid, dd), col in x.items()
                if dd == d and by_id[fid]["type"] == k
            }
            coefs[ycol] = -site_cap[(k, d)]
            rows.append((coefs, -math.inf, 0.0))
    for k, t in types.items():  # site_count
        if t.get("requires_site", False):
            rows.append(
                (
                    {col: 1.0 for (kk, _), col in y.items() if kk == k},
                    t.get("min_sites", 0),
                    t.get("max_sites", math.inf),
                )
            )
    return _solve(cost, lower, upper, integer, rows)


def _solve_classic_gap(p: GapProblem, sense: str) -> float:
    sign = -1 if sense == "max" else 1
    col = {(i, j): i * p.n + j for i in range(p.m) for j in range(p.n)}
    rows = [({col[i, j]: 1.0 for i in range(p.m)}, 1.0, 1.0) for j in range(p.n)]
    rows += [({col[i, j]: p.a[i][j] for j in range(p.n)}, -math.inf, p.b[i]) for i in range(p.m)]
    cost = [sign * p.c[i][j] for i in range(p.m) for j in range(p.n)]
    status, value = _solve(cost, [0] * len(cost), [1] * len(cost), [True] * len(cost), rows)
    assert status == "optimal"
    return sign * value


def _solve_classic_cap(p: CapProblem, split: bool) -> float:
    # columns y_i then x_ij:  min Σ f y + Σ c x,  Σ_i x_ij = 1,
    # Σ_j d_j x_ij <= s_i y_i,  x_ij <= y_i
    x = {(i, j): p.m + i * p.n + j for i in range(p.m) for j in range(p.n)}
    cost = list(p.f) + [p.c[i][j] for i in range(p.m) for j in range(p.n)]
    rows = [({x[i, j]: 1.0 for i in range(p.m)}, 1.0, 1.0) for j in range(p.n)]
    rows += [
        ({**{x[i, j]: p.d[j] for j in range(p.n)}, i: -p.s[i]}, -math.inf, 0.0) for i in range(p.m)
    ]
    rows += [({x[i, j]: 1.0, i: -1.0}, -math.inf, 0.0) for i in range(p.m) for j in range(p.n)]
    integer = [True] * p.m + [not split] * (p.m * p.n)
    status, value = _solve(cost, [0] * len(cost), [1] * len(cost), integer, rows)
    assert status == "optimal"
    return value


def _solve_classic_pmed(p: PmedProblem) -> float:
    dist = pmed_distances(p)
    n = p.n
    x = {(i, j): n + i * n + j for i in range(n) for j in range(n)}
    cost = [0.0] * n + [float(dist[i, j]) for i in range(n) for j in range(n)]
    rows = [({x[i, j]: 1.0 for i in range(n)}, 1.0, 1.0) for j in range(n)]
    rows += [({x[i, j]: 1.0, i: -1.0}, -math.inf, 0.0) for i in range(n) for j in range(n)]
    rows.append(({i: 1.0 for i in range(n)}, p.p, p.p))
    status, value = _solve(cost, [0] * len(cost), [1] * len(cost), [True] * len(cost), rows)
    assert status == "optimal"
    return value


@pytest.mark.parametrize("sense", ["max", "min"])
def test_gap1_1_published_optimum(written: dict[str, Path], sense: str) -> None:
    published = _optimum("gap", "gap1-1", sense)
    assert published == {"max": 336, "min": 261}[sense]
    assert _solve_classic_gap(read_gap(GAP1)[0], sense) == pytest.approx(published, abs=1e-6)
    expected = -published if sense == "max" else published
    assert _solve_spec_instance(written[f"gap-{sense}"]) == pytest.approx(expected, abs=1e-6)


def test_cap41_split_published_optimum(written: dict[str, Path]) -> None:
    published = _optimum("cap", "cap41", "min")
    assert published == 1040444.375
    assert _solve_classic_cap(read_cap(CAP41), split=True) == pytest.approx(published, abs=1e-3)
    assert _solve_spec_instance(written["cap-split"]) == pytest.approx(published, abs=1e-3)


def test_cap41_single_is_infeasible(written: dict[str, Path]) -> None:
    # README: a demand of 12912 exceeds every capacity of 5000 when it cannot be split
    status, _ = _solve_spec_instance_status(written["cap-single"])
    assert status == "HighsModelStatus.kInfeasible"


def test_pmed1_published_optimum(written: dict[str, Path]) -> None:
    published = _optimum("pmed", "pmed1", "min")
    assert published == 5819
    assert _solve_classic_pmed(read_pmed(PMED1)) == pytest.approx(published, abs=1e-6)
    assert _solve_spec_instance(written["pmed"]) == pytest.approx(published, abs=1e-6)


def test_pmed1_keeping_the_shortest_edge_would_be_wrong() -> None:
    # README: keeping the shortest of repeated pairs turns pmed1's 5819 into 5718
    problem = read_pmed(PMED1)
    shortest: dict[tuple[int, int], int | float] = {}
    for i, j, w in problem.edges:
        key = (min(i, j), max(i, j))
        shortest[key] = min(w, shortest.get(key, math.inf))
    assert shortest != problem.edge_lengths()
    variant = PmedProblem(
        n=problem.n, p=problem.p, edges=tuple((i, j, w) for (i, j), w in shortest.items())
    )
    assert _solve_classic_pmed(variant) == pytest.approx(5718, abs=1e-6)
