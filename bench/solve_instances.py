"""The instances of ``bench_solve.py``, each as spatialopt reads it and as a plain direct model.

Every instance is two things built from the same data:

- ``manifest(folder)``: the instance as spatialopt reads it (shipped files,
  or files written into ``folder``), for the default solve path;
- ``plain()``: the *plain direct model*: the spec's model as arrays (row-wise
  CSR, the format of ``bench_scale.baseline_arrays``) to hand straight to
  highspy, with none of spatialopt's own work around the search (no start,
  no added rows, no fixing).

Where the plain model comes from, by family:

- OR-Library ``cap`` (split demand) and ``pmed``: the textbook models written
  here from the raw files (``read_cap``, ``read_pmed``), so they stay plain
  whatever spatialopt's formulation becomes: cap ``min Σ f_i y_i + Σ c_ij x_ij``,
  ``Σ_i x_ij = 1``, ``Σ_j d_j x_ij <= s_i y_i``, ``x_ij <= y_i``, x in [0, 1],
  y binary; pmed ``min Σ d_ij x_ij``, ``Σ_i x_ij = 1``, ``x_ij <= y_i``,
  ``Σ_i y_i = p``, x and y binary (pairs without a path have no x);
- generated ``gen-*``: ``bench_scale.baseline_arrays``, the model built from
  the generator's numpy arrays without spatialopt (the scale benchmark's baseline);
- the China instances and generated phased ones: spatialopt's own matrices
  of the spec model (``build_matrices``) restricted to the spec's row families
  (:data:`SPEC_FAMILIES`): rows a strengthening adds under another family
  name are left out.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_scale import baseline_arrays  # noqa: E402
from scale_instance import ScaleData, generate, sited, write  # noqa: E402

Arrays = dict[str, np.ndarray]

#: The row families of the spec's model (docs/MODEL.md), as spatialopt's formulation names them.
SPEC_FAMILIES = frozenset({
    "assign", "target", "min_share", "capacity", "site_open", "site_link", "site_capacity", "site_count",
    "site_min", "budget", "period_budget", "destination_share", "region_share", "moved_residents_def",
    "moved_jobs_def",
})

CHINA = ("jingjinji-2035", "yangtze-delta-2035", "pearl-delta-2035", "chengyu-2035", "china-2035")
#: Generated instances: name -> (facilities, destinations, phased, sited); arcs = facilities x destinations.
#: ``sited``: ``scale_instance.sited``, costly sites of tight capacity and targets that need plants (a
#: location problem with a weak LP relaxation); otherwise sites are free and caps loose.
GENERATED = {
    "gen-10k": (100, 100, False, False),
    "gen-100k": (1000, 100, False, False),
    "gen-100k-phased": (1000, 100, True, False),
    "gen-1M": (5000, 200, False, False),
    "gen-3000x400": (3000, 400, False, False),  # 1.2M arcs, the size of issue 17's "done when"
    "gen-3000x400-sited": (3000, 400, False, True),  # the same arcs as a location problem
}
QUICK = ("cap41", "pmed1", "jingjinji-2035", "jingjinji-2035-phased", "gen-10k")


@dataclass(frozen=True)
class BenchInstance:
    name: str
    family: str  # cap, pmed, china, generated
    manifest: Callable[[Path], Path]  # folder to write into (if needed) -> the manifest spatialopt reads
    #: Reads the plain direct model's data (outside the clock) and returns what builds its arrays (inside).
    plain: Callable[[], Callable[[], Arrays]]
    published: float | None = None  # a published optimum, if any


# -- plain models -----------------------------------------------------------------------------
def csr(n_rows: int, r: np.ndarray, c: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise CSR (starts without the final end, column index, value) from triplets."""
    order = np.argsort(r, kind="stable")
    start = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=start[1:])
    return start[:-1], c[order], v[order].astype(float)


def cap_arrays(path: Path) -> Callable[[], Arrays]:
    from spatialopt.convert.orlib import read_cap

    problem = read_cap(path)

    def build() -> Arrays:
        m, n = problem.m, problem.n
        c = np.asarray(problem.c, dtype=float)  # m x n
        s, f, d = (np.asarray(a, dtype=float) for a in (problem.s, problem.f, problem.d))
        i = np.repeat(np.arange(m), n)  # x_ij at column i * n + j
        j = np.tile(np.arange(n), m)
        nx = m * n
        x = np.arange(nx)
        rows = [(j, x, np.ones(nx)),  # assign: one row per customer
                (n + i, x, d[j]), (n + np.arange(m), nx + np.arange(m), -s),  # capacity per warehouse
                (n + m + x, x, np.ones(nx)), (n + m + x, nx + i, -np.ones(nx))]  # link x_ij <= y_i
        r, col, val = (np.concatenate(parts) for parts in zip(*rows, strict=True))
        n_rows = n + m + nx
        start, index, value = csr(n_rows, r, col, val)
        return {
            "cost": np.concatenate([c.reshape(-1), f]), "col_lower": np.zeros(nx + m), "col_upper": np.ones(nx + m),
            "integer": np.r_[np.zeros(nx), np.ones(m)].astype(np.int32),
            "row_lower": np.r_[np.ones(n), np.full(m + nx, -np.inf)],
            "row_upper": np.r_[np.ones(n), np.zeros(m + nx)],
            "start": start, "index": index, "value": value,
        }

    return build


def pmed_arrays(path: Path) -> Callable[[], Arrays]:
    from spatialopt.convert.orlib import pmed_distances, read_pmed

    problem = read_pmed(path)
    dist = pmed_distances(problem)  # reading the data: outside the clock, as the files are for spatialopt

    def build() -> Arrays:
        n = problem.n
        i, j = np.nonzero(np.isfinite(dist))  # median i serves customer j
        nx = i.size
        x = np.arange(nx)
        rows = [(j, x, np.ones(nx)),  # assign: one row per customer
                (n + x, x, np.ones(nx)), (n + x, nx + i, -np.ones(nx)),  # link x_ij <= y_i
                (np.full(n, n + nx), nx + np.arange(n), np.ones(n))]  # exactly p medians
        r, col, val = (np.concatenate(parts) for parts in zip(*rows, strict=True))
        start, index, value = csr(n + nx + 1, r, col, val)
        return {
            "cost": np.r_[dist[i, j], np.zeros(n)], "col_lower": np.zeros(nx + n), "col_upper": np.ones(nx + n),
            "integer": np.ones(nx + n, dtype=np.int32),
            "row_lower": np.r_[np.ones(n), np.full(nx, -np.inf), problem.p],
            "row_upper": np.r_[np.ones(n), np.zeros(nx), problem.p],
            "start": start, "index": index, "value": value,
        }

    return build


def spec_arrays(manifest: Path) -> Callable[[], Arrays]:
    """spatialopt's matrices of the spec model, restricted to :data:`SPEC_FAMILIES`."""
    import spatialopt

    instance = spatialopt.load(manifest)

    def build() -> Arrays:
        from spatialopt.derive import derive
        from spatialopt.matrix import build_matrices
        from spatialopt.strong_rows import Strengthening

        m = build_matrices(instance, derive(instance), Strengthening.none())  # the spec's rows and bounds only
        keep = np.zeros(m.n_rows, dtype=bool)
        for family, rows in m.family_rows.items():
            keep[rows] = family in SPEC_FAMILIES
        if not m.family_rows:
            keep[:] = True
        counts = np.diff(m.a_start)
        entry_rows = np.repeat(np.arange(m.n_rows), counts)
        kept_entries = keep[entry_rows]
        new_row = np.cumsum(keep) - 1
        start, index, value = csr(int(keep.sum()), new_row[entry_rows[kept_entries]], m.a_index[kept_entries],
                                  m.a_value[kept_entries])
        return {
            "cost": m.cost, "col_lower": m.col_lower, "col_upper": m.col_upper,
            "integer": np.asarray(m.integer, dtype=np.int32),
            "row_lower": m.row_lower[keep], "row_upper": m.row_upper[keep],
            "start": start, "index": index, "value": value,
        }

    return build


def generated_data(facilities: int, destinations: int, is_sited: bool) -> ScaleData:
    data = generate(facilities, destinations)
    return sited(data) if is_sited else data


def generated_plain(facilities: int, destinations: int, is_sited: bool = False) -> Callable[[], Arrays]:
    data = generated_data(facilities, destinations, is_sited)
    return lambda: baseline_arrays(data)


# -- the registry -----------------------------------------------------------------------------
def _published(family: str) -> dict[str, float]:
    table = ROOT / "instances" / "orlib" / family / "optima.csv"
    out = {}
    for line in table.read_text().splitlines()[1:]:
        name, objective = line.split(",")[:2]
        out[name] = float(objective)
    return out


def _orlib(family: str, path: Path, published: dict[str, float]) -> BenchInstance:
    from spatialopt.convert.orlib import write_cap_instance, write_pmed_instance

    def manifest(folder: Path) -> Path:
        if family == "cap":
            return write_cap_instance(path, folder / path.stem, variant="split")
        return write_pmed_instance(path, folder / path.stem)

    def plain() -> Callable[[], Arrays]:
        return cap_arrays(path) if family == "cap" else pmed_arrays(path)

    return BenchInstance(path.stem, family, manifest, plain, published.get(path.stem))


def _shipped(name: str) -> BenchInstance:
    path = ROOT / "instances" / name / "instance.toml"

    def manifest(_folder: Path) -> Path:
        return path

    def plain() -> Callable[[], Arrays]:
        return spec_arrays(path)

    return BenchInstance(name, "china", manifest, plain)


def _generated(name: str, facilities: int, destinations: int, phased: bool, is_sited: bool) -> BenchInstance:
    def manifest(folder: Path) -> Path:
        return write(generated_data(facilities, destinations, is_sited), folder / name, phased=phased)

    def plain() -> Callable[[], Arrays]:
        if phased:  # no numpy-only baseline of the phased model: spatialopt's spec rows
            return spec_arrays(manifest(Path(_scratch()) / "plain"))
        return generated_plain(facilities, destinations, is_sited)

    return BenchInstance(name, "generated", manifest, plain)


_SCRATCH: list[str] = []


def _scratch() -> str:
    """A temporary folder for the rest of the process (the phased plain model's files)."""
    import atexit
    import shutil
    import tempfile

    if not _SCRATCH:
        _SCRATCH.append(tempfile.mkdtemp(prefix="bench-solve-"))
        atexit.register(shutil.rmtree, _SCRATCH[0], True)
    return _SCRATCH[0]


def _number(stem: str) -> int:
    return int("".join(ch for ch in stem if ch.isdigit()) or 0)


def registry() -> list[BenchInstance]:
    """Every instance, in the order of the table: cap, pmed, China (single, phased), generated."""
    out: list[BenchInstance] = []
    for family in ("cap", "pmed"):
        published = _published(family)
        files = (ROOT / "instances" / "orlib" / family).glob(f"{family}*.txt")
        for path in sorted(files, key=lambda p: _number(p.stem)):
            out.append(_orlib(family, path, published))
    for suffix in ("", "-phased"):
        for name in CHINA:
            out.append(_shipped(f"{name}{suffix}"))
    out += [_generated(name, *spec) for name, spec in GENERATED.items()]
    return out


def select(quick: bool, only: list[str] | None) -> list[BenchInstance]:
    """The quick subset or every instance, then those matching any of the ``only`` patterns (fnmatch)."""
    chosen = [b for b in registry() if not quick or b.name in QUICK]
    if only:
        chosen = [b for b in chosen if any(fnmatch.fnmatchcase(b.name, pattern) for pattern in only)]
    return chosen
