"""OR-Library gap, cap and pmed files -> spatialopt instances.

The file formats are J.E. Beasley's (see ``instances/orlib/README.md``): a
stream of numbers separated by white space, where line breaks carry no
meaning. The readers therefore work on tokens, accept numbers written as
``7500.`` or ``.00000`` (floats) and report every malformed or truncated file
as a ``ValueError`` naming the file, the token position (and its line) and
what was expected.

The writers map each problem onto the model as spec §4 "Classic problems are
special cases" describes. Common to all three families:

- one source city ``orlib-source`` (``target_reduction = 0``) holding every
  customer/job as a facility with ``count = 1`` and ``must_move = true``, so
  the ``assign`` row is ``Σ_d x_fd = 1``;
- every other city is a destination (an agent, a warehouse, a vertex);
- all cities sit at lon = lat = 0, so every distance is 0 and the type has
  ``min_km = 0`` and no ``max_km``: distance rules never remove an arc;
  ``cost_per_job_km``, ``annual_cost_per_job`` and ``access_cost_per_unit_km``
  are 0 (written explicitly), so ``c_fd`` is exactly the arc's ``cost``;
- an ``arcs`` table lists each eligible pair once with its ``cost``.

Family specifics (ids in brackets):

- gap: jobs [``job-j``] -> facilities, agents [``agent-i``] -> destinations;
  arc ``cost`` = ``c[i][j]`` (``min``) or ``-c[i][j]`` (``max``, so the
  instance's minimum is minus the published maximum); one resource ``cap``
  with facility column ``gap_use`` = 0 and arc column ``use_cap`` = ``a[i][j]``
  (the arc value replaces the facility's use), city column ``cap_gap`` =
  ``b[i]`` (empty, i.e. unlimited, at the source). x is binary.
- cap: customers [``customer-j``] -> facilities with ``jobs = d[j]``;
  warehouses [``warehouse-i``] -> destinations; one type that requires a
  site, ``splittable`` for the split-demand variant; sites table rows
  ``site_cost = f[i]``, ``capacity_jobs = s[i]`` (empty for ``uncap``); arc
  ``cost = c[i][j]`` (the cost of the whole customer, and a facility's unit is
  the whole customer). Then ``site_link`` is ``x_ij <= y_i`` and
  ``site_capacity`` is ``Σ_j d_j x_ij <= s_i y_i``: Beasley's model.
- pmed: vertices -> facilities [``customer-j``, demand 1] and destinations
  [``vertex-i``]; one type requiring a site with ``site_cost = 0`` and
  ``min_sites = max_sites = p`` and no capacity; arc ``cost`` = shortest-path
  distance (built as OR-Library prescribes, see :func:`pmed_distances`);
  unreachable pairs get no arc.

Output is deterministic: same input, byte-identical files (``\\n`` line ends,
numbers written with ``repr``, so floats round-trip exactly).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

Number = int | float

SOURCE_CITY = "orlib-source"
GAP_TYPE = "gap-job"
GAP_RESOURCE = "cap"
GAP_USE_COLUMN = "gap_use"
GAP_CAP_COLUMN = "cap_gap"
CAP_TYPE = "cap-customer"
PMED_TYPE = "pmed-customer"
MANIFEST = "instance.toml"

# Distance rules and per-job cost rates written on every type, so that only
# the arc cost counts (the values are the spec defaults, written for clarity).
_NEUTRAL_TYPE_KEYS: tuple[tuple[str, object], ...] = (
    ("min_km", 0.0),
    ("cost_per_job_km", 0.0),
    ("annual_cost_per_job", 0.0),
    ("access_cost_per_unit_km", 0.0),
)

_INT_RE = re.compile(r"[+-]?[0-9]+")
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


# ---------------------------------------------------------------- problems


@dataclass(frozen=True)
class GapProblem:
    """One generalised assignment problem: ``m`` agents, ``n`` jobs.

    ``c[i][j]``: value of giving job ``j`` to agent ``i``; ``a[i][j]``: the
    resource agent ``i`` uses for job ``j``; ``b[i]``: capacity of agent ``i``
    (0-based indices here; the files and instance ids are 1-based).
    """

    m: int
    n: int
    c: tuple[tuple[Number, ...], ...]
    a: tuple[tuple[Number, ...], ...]
    b: tuple[Number, ...]


@dataclass(frozen=True)
class CapProblem:
    """A capacitated warehouse location problem: ``m`` warehouses, ``n`` customers.

    ``s[i]`` capacity and ``f[i]`` fixed cost of warehouse ``i``; ``d[j]``
    demand of customer ``j``; ``c[i][j]`` the cost of serving *all* of
    customer ``j`` from warehouse ``i``. ``capacity_word`` is true when the
    file wrote the word ``capacity`` for the capacities (capa/capb/capc) and
    ``s`` holds the number given in its place.
    """

    m: int
    n: int
    s: tuple[Number, ...]
    f: tuple[Number, ...]
    d: tuple[Number, ...]
    c: tuple[tuple[Number, ...], ...]
    capacity_word: bool = False


@dataclass(frozen=True)
class PmedProblem:
    """A p-median problem on an undirected graph with ``n`` vertices.

    ``edges`` are the file's ``(i, j, w)`` lines, 1-based, in file order
    (repeated pairs included); use :meth:`edge_lengths` for the lengths that
    count and :func:`pmed_distances` for the cost matrix.
    """

    n: int
    p: int
    edges: tuple[tuple[int, int, Number], ...]

    def edge_lengths(self) -> dict[tuple[int, int], Number]:
        """Final length of each vertex pair ``(i, j)``, ``i < j``, 1-based.

        OR-Library sets ``c(i,j) = c(j,i) = w`` line by line, so a later line
        for a pair replaces an earlier one, even when it is longer.
        """
        lengths: dict[tuple[int, int], Number] = {}
        for i, j, w in self.edges:
            lengths[(min(i, j), max(i, j))] = w
        return lengths


# ---------------------------------------------------------------- tokens


class _Tokens:
    """White-space separated tokens of a file, with positions for messages."""

    def __init__(self, path: str | Path) -> None:
        self.name = str(path)
        try:
            text = Path(path).read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{self.name}: not a text file (byte {exc.start} is not UTF-8); "
                "expected an OR-Library file of numbers"
            ) from None
        self.items: list[tuple[str, int]] = [
            (tok, lineno)
            for lineno, line in enumerate(text.split("\n"), start=1)
            for tok in line.split()
        ]
        self.pos = 0

    def _next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.items):
            last = self.items[-1][1] if self.items else 1
            raise ValueError(
                f"{self.name}: file ends after {len(self.items)} tokens (line {last}); "
                f"expected {what} as token {self.pos + 1}"
            )
        item = self.items[self.pos]
        self.pos += 1
        return item

    def _fail(self, tok: str, line: int, what: str) -> ValueError:
        return ValueError(
            f"{self.name}: token {self.pos} (line {line}) is {tok!r}; expected {what}"
        )

    def count(self, what: str, minimum: int = 1, maximum: int | None = None) -> int:
        """A whole number written without a decimal point, in ``[minimum, maximum]``."""
        tok, line = self._next(what)
        if not _INT_RE.fullmatch(tok):
            raise self._fail(tok, line, f"{what} (a whole number)")
        value = int(tok)
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
            raise self._fail(tok, line, f"{what} ({bounds})")
        return value

    def number(
        self, what: str, nonnegative: bool = False, word: str | None = None
    ) -> Number | None:
        """An int or float token (``7500.`` and ``.5`` are floats).

        With ``word``, that word (any case) is also accepted and returns None.
        """
        tok, line = self._next(what)
        if word is not None and tok.lower() == word:
            return None
        if _INT_RE.fullmatch(tok):
            value: Number = int(tok)
        elif _NUMBER_RE.fullmatch(tok):
            value = float(tok)
            if not math.isfinite(value):
                raise self._fail(tok, line, f"{what} (a finite number)")
        else:
            raise self._fail(tok, line, f"{what} (a number)")
        if nonnegative and value < 0:
            raise self._fail(tok, line, f"{what} (a number >= 0)")
        return value

    def num(self, what: str, nonnegative: bool = False) -> Number:
        value = self.number(what, nonnegative)
        assert value is not None  # only None when a word is accepted
        return value

    def end(self, what: str) -> None:
        if self.pos < len(self.items):
            tok, line = self.items[self.pos]
            raise ValueError(
                f"{self.name}: token {self.pos + 1} (line {line}) is {tok!r}; "
                f"expected the end of the file after {what}"
            )


# ---------------------------------------------------------------- readers


def read_gap(path: str | Path) -> list[GapProblem]:
    """Read every problem of an OR-Library generalised assignment file.

    Layout: ``P``; then per problem ``m n``, ``m`` rows of ``n`` values
    ``c[i][j]``, ``m`` rows of ``n`` uses ``a[i][j]``, ``m`` capacities ``b[i]``.
    """
    toks = _Tokens(path)
    count = toks.count("the number of problems P")
    problems = []
    for k in range(1, count + 1):
        where = f"problem {k} of {count}"
        m = toks.count(f"the number of agents m of {where}")
        n = toks.count(f"the number of jobs n of {where}")
        c = tuple(
            tuple(toks.num(f"value c[{i}][{j}] of {where}") for j in range(1, n + 1))
            for i in range(1, m + 1)
        )
        a = tuple(
            tuple(toks.num(f"use a[{i}][{j}] of {where}") for j in range(1, n + 1))
            for i in range(1, m + 1)
        )
        b = tuple(
            toks.num(f"capacity b[{i}] of {where}", nonnegative=True) for i in range(1, m + 1)
        )
        problems.append(GapProblem(m=m, n=n, c=c, a=a, b=b))
    toks.end(f"{count} problems")
    return problems


def read_cap(path: str | Path, capacity: float | None = None) -> CapProblem:
    """Read an OR-Library capacitated warehouse location file.

    Layout: ``m n``; ``m`` pairs ``s[i] f[i]``; per customer ``d[j]`` and the
    ``m`` costs ``c[i][j]``. capa/capb/capc files write the word ``capacity``
    for every ``s[i]``: pass ``capacity`` to stand in for it (an error when
    the word is present without ``capacity``, or ``capacity`` is given for a
    file with numeric capacities).
    """
    return _read_cap(path, capacity, word_ok=False)


def _read_cap(path: str | Path, capacity: float | None, word_ok: bool) -> CapProblem:
    if capacity is not None and (
        isinstance(capacity, bool) or not math.isfinite(capacity) or capacity < 0
    ):
        raise ValueError(f"{path}: capacity={capacity!r}, expected a finite number >= 0")
    toks = _Tokens(path)
    m = toks.count("the number of warehouses m")
    n = toks.count("the number of customers n")
    s: list[Number] = []
    f: list[Number] = []
    word = False
    for i in range(1, m + 1):
        value = toks.number(
            f"capacity s[{i}] (a number >= 0 or the word 'capacity')",
            nonnegative=True,
            word="capacity",
        )
        if value is None:
            word = True
            if capacity is None and not word_ok:
                tok_pos, line = toks.pos, toks.items[toks.pos - 1][1]
                raise ValueError(
                    f"{toks.name}: token {tok_pos} (line {line}) is the word 'capacity' "
                    "(capa/capb/capc layout): give the capacity that stands in for it "
                    "(--capacity N on the command line, capacity= in Python)"
                )
            value = capacity if capacity is not None else math.nan
        s.append(value)
        f.append(toks.num(f"fixed cost f[{i}]", nonnegative=True))
    d: list[Number] = []
    cols: list[tuple[Number, ...]] = []
    for j in range(1, n + 1):
        d.append(toks.num(f"demand d[{j}]", nonnegative=True))
        cols.append(tuple(toks.num(f"cost c[{i}][{j}] of customer {j}") for i in range(1, m + 1)))
    toks.end(f"{n} customers")
    if capacity is not None and not word:
        raise ValueError(
            f"{toks.name}: a capacity was given (--capacity {name_number(capacity)}), but the file has "
            "numeric capacities (no word 'capacity' to replace); leave it out"
        )
    c = tuple(tuple(cols[j][i] for j in range(n)) for i in range(m))
    return CapProblem(m=m, n=n, s=tuple(s), f=tuple(f), d=tuple(d), c=c, capacity_word=word)


def read_pmed(path: str | Path) -> PmedProblem:
    """Read an OR-Library p-median file: ``n e p``, then ``e`` edges ``i j w``."""
    toks = _Tokens(path)
    n = toks.count("the number of vertices n")
    e = toks.count("the number of edges e", minimum=0)
    p = toks.count("the number of medians p", maximum=n)
    edges = []
    for k in range(1, e + 1):
        i = toks.count(f"the first vertex of edge {k} of {e}", maximum=n)
        j = toks.count(f"the second vertex of edge {k} of {e}", maximum=n)
        if i == j:
            raise ValueError(
                f"{toks.name}: token {toks.pos} (line {toks.items[toks.pos - 1][1]}): "
                f"edge {k} joins vertex {i} to itself; expected two different vertices"
            )
        w = toks.num(f"the length of edge {k} of {e}", nonnegative=True)
        edges.append((i, j, w))
    toks.end(f"{e} edges")
    return PmedProblem(n=n, p=p, edges=tuple(edges))


def pmed_distances(problem: PmedProblem) -> np.ndarray:
    """All-pairs shortest-path lengths, the way OR-Library prescribes.

    Start from ``c(i,j) = inf``, ``c(i,i) = 0``; set ``c(i,j) = c(j,i) = w``
    for each edge line in order (a later line replaces an earlier one, see
    :meth:`PmedProblem.edge_lengths`); then Floyd-Warshall. Returns an
    ``n x n`` float array, 0-based, ``inf`` where no path exists.

    A dense Floyd-Warshall on the final edge lengths (O(n^3), a fraction of a
    second for OR-Library's n <= 900) keeps zero-length edges distinct from
    missing ones, which a dense matrix handed to ``scipy.sparse.csgraph``
    would not.
    """
    n = problem.n
    dist = np.full((n, n), np.inf)
    np.fill_diagonal(dist, 0.0)
    for (i, j), w in problem.edge_lengths().items():
        dist[i - 1, j - 1] = dist[j - 1, i - 1] = w
    for k in range(n):
        np.minimum(dist, dist[:, k, None] + dist[None, k, :], out=dist)
    return dist


# ---------------------------------------------------------------- writers


def write_gap_instance(
    path: str | Path, out_dir: str | Path, problem: int, sense: Literal["max", "min"]
) -> Path:
    """Write problem ``problem`` (1-based, file order) of a gap file as an instance.

    ``sense="max"`` writes arc cost ``-c`` (the instance's optimum is minus the
    published maximum); ``"min"`` writes ``c``. Returns the manifest path.
    """
    if sense not in ("max", "min"):
        raise ValueError(f"sense={sense!r}, expected 'max' or 'min'")
    problems = read_gap(path)
    if (
        isinstance(problem, bool)
        or not isinstance(problem, int)
        or not 1 <= problem <= len(problems)
    ):
        raise ValueError(
            f"{path}: problem={problem!r}, expected a whole number in 1..{len(problems)}"
        )
    gp = problems[problem - 1]
    stem = Path(path).stem
    label = f"{stem}-{problem}"
    cname = f" (c{gp.m}{gp.n}-{problem})" if re.fullmatch(r"gap[0-9]+", stem) else ""
    negate = sense == "max"
    description = (
        f"OR-Library generalised assignment, file {Path(path).name}, problem {problem} of "
        f"{len(problems)}{cname}: {gp.m} agents x {gp.n} jobs, {sense}imise the total value. "
        "Jobs are facilities (must_move) at source orlib-source, agents are destinations; "
        "arc use_cap is the agent's use of the job, cities' cap_gap the agent's capacity. "
        + (
            "Arc cost = -value, so this instance's minimum is minus the published maximum."
            if negate
            else "Arc cost = value."
        )
    )
    out = _prepare(out_dir)
    agents = [f"agent-{i}" for i in range(1, gp.m + 1)]
    jobs = [f"job-{j}" for j in range(1, gp.n + 1)]
    _write_csv(
        out / "cities.csv",
        ["id", "lon", "lat", GAP_CAP_COLUMN],
        [[SOURCE_CITY, 0.0, 0.0, None]] + [[agents[i], 0.0, 0.0, gp.b[i]] for i in range(gp.m)],
    )
    _write_csv(
        out / "facilities.csv",
        ["id", "origin", "type", "count", "jobs", "must_move", GAP_USE_COLUMN],
        [[job, SOURCE_CITY, GAP_TYPE, 1, 1, True, 0] for job in jobs],
    )
    _write_csv(
        out / "arcs.csv",
        ["facility", "destination", "cost", f"use_{GAP_RESOURCE}"],
        (
            [jobs[j], agents[i], _negate(gp.c[i][j]) if negate else gp.c[i][j], gp.a[i][j]]
            for j in range(gp.n)
            for i in range(gp.m)
        ),
    )
    manifest = _manifest(
        name=f"{label}-{sense}",
        description=description,
        tables=["cities", "facilities", "arcs"],
        type_keys=[("id", GAP_TYPE), ("splittable", False), ("requires_site", False)],
        resources=[("id", GAP_RESOURCE), ("use", GAP_USE_COLUMN), ("cap", GAP_CAP_COLUMN)],
    )
    return _write_text(out / MANIFEST, manifest)


def write_cap_instance(
    path: str | Path,
    out_dir: str | Path,
    variant: Literal["split", "single", "uncap"],
    capacity: float | None = None,
) -> Path:
    """Write a capacitated warehouse location file as an instance.

    ``split``: a customer's demand may be split among warehouses (x continuous
    in [0, 1]; OR-Library ``capopt`` values); ``single``: each customer is
    served by one warehouse (x binary); ``uncap``: capacities dropped
    (``uncapopt`` values). ``capacity`` stands in for the word ``capacity`` of
    capa/capb/capc files (not needed for ``uncap``). Returns the manifest path.
    """
    if variant not in ("split", "single", "uncap"):
        raise ValueError(f"variant={variant!r}, expected 'split', 'single' or 'uncap'")
    cp = _read_cap(path, capacity, word_ok=variant == "uncap")
    stem = Path(path).stem
    label = stem if capacity is None or variant == "uncap" else f"{stem}-{name_number(capacity)}"
    what = {
        "split": "a customer's demand may be split among warehouses (x = fraction served)",
        "single": "each customer is served by exactly one warehouse",
        "uncap": "warehouse capacities dropped",
    }[variant]
    given = (
        f" Every capacity is {name_number(capacity)}, standing in for the file's word 'capacity'."
        if capacity is not None and variant != "uncap"
        else ""
    )
    description = (
        f"OR-Library capacitated warehouse location, file {Path(path).name}, "
        f"variant {variant}: {cp.m} warehouses x {cp.n} customers; {what}.{given} "
        "Customers are facilities (must_move, jobs = demand) at source orlib-source, "
        "warehouses are destinations with a site each (site_cost = fixed cost"
        + (", capacity_jobs = capacity" if variant != "uncap" else "")
        + "); arc cost = the cost of serving the whole customer."
    )
    out = _prepare(out_dir)
    houses = [f"warehouse-{i}" for i in range(1, cp.m + 1)]
    customers = [f"customer-{j}" for j in range(1, cp.n + 1)]
    _write_customers(out, houses, customers, CAP_TYPE, cp.d)
    _write_csv(
        out / "sites.csv",
        ["type", "city", "site_cost", "capacity_jobs"],
        [
            [CAP_TYPE, houses[i], cp.f[i], None if variant == "uncap" else cp.s[i]]
            for i in range(cp.m)
        ],
    )
    _write_csv(
        out / "arcs.csv",
        ["facility", "destination", "cost"],
        ([customers[j], houses[i], cp.c[i][j]] for j in range(cp.n) for i in range(cp.m)),
    )
    manifest = _manifest(
        name=f"{label}-{variant}",
        description=description,
        tables=["cities", "facilities", "arcs", "sites"],
        type_keys=[
            ("id", CAP_TYPE),
            ("splittable", variant == "split"),
            ("requires_site", True),
        ],
    )
    return _write_text(out / MANIFEST, manifest)


def write_pmed_instance(path: str | Path, out_dir: str | Path) -> Path:
    """Write an OR-Library p-median file as an instance; returns the manifest path."""
    pp = read_pmed(path)
    dist = pmed_distances(pp)
    whole = all(isinstance(w, int) for _, _, w in pp.edges)
    stem = Path(path).stem
    description = (
        f"OR-Library p-median, file {Path(path).name}: {pp.n} vertices, {len(pp.edges)} edge "
        f"lines, p = {pp.p}. Every vertex is a customer (facility, must_move, demand 1) at "
        "source orlib-source and a candidate median (destination); arc cost = shortest-path "
        "length, edge lines applied in order (a later line for a pair replaces an earlier "
        "one), then all-pairs shortest paths."
    )
    out = _prepare(out_dir)
    vertices = [f"vertex-{i}" for i in range(1, pp.n + 1)]
    customers = [f"customer-{j}" for j in range(1, pp.n + 1)]
    _write_customers(out, vertices, customers, PMED_TYPE, [1] * len(customers))
    _write_csv(
        out / "arcs.csv",
        ["facility", "destination", "cost"],
        (
            [customers[j], vertices[i], int(dist[i, j]) if whole else float(dist[i, j])]
            for j in range(pp.n)
            for i in range(pp.n)
            if math.isfinite(dist[i, j])
        ),
    )
    manifest = _manifest(
        name=stem,
        description=description,
        tables=["cities", "facilities", "arcs"],
        type_keys=[
            ("id", PMED_TYPE),
            ("splittable", False),
            ("requires_site", True),
            ("site_cost", 0.0),
            ("min_sites", pp.p),
            ("max_sites", pp.p),
        ],
    )
    return _write_text(out / MANIFEST, manifest)


# ---------------------------------------------------------------- output helpers


def name_number(value: float) -> str:
    """A number as names and messages show it: ``8000.0`` as ``8000``, ``7.5`` as ``7.5`` (never ``1e+04``)."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _negate(value: Number) -> Number:
    return -value if value else value  # no -0.0


def _fmt(value: object) -> str:
    """One CSV cell or TOML scalar: exact, locale-free, deterministic."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"cannot write the non-finite number {value!r}")
        return repr(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot write {value!r}")


def _write_customers(
    out: Path, destinations: Sequence[str], customers: Sequence[str], type_id: str, demands: Sequence[Number]
) -> None:
    """cities.csv (the source and the destinations, all at lon = lat = 0) and
    facilities.csv (one must-move customer per demand, at the source)."""
    _write_csv(
        out / "cities.csv",
        ["id", "lon", "lat"],
        [[SOURCE_CITY, 0.0, 0.0]] + [[c, 0.0, 0.0] for c in destinations],
    )
    _write_csv(
        out / "facilities.csv",
        ["id", "origin", "type", "count", "jobs", "must_move"],
        [[cust, SOURCE_CITY, type_id, 1, demand, True] for cust, demand in zip(customers, demands)],
    )


def _prepare(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([_fmt(v) for v in row] for row in rows)


def _write_text(path: Path, text: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


def _toml_str(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return _toml_str(value)
    return _fmt(value)


def _manifest(
    name: str,
    description: str,
    tables: Sequence[str],
    type_keys: Sequence[tuple[str, object]],
    resources: Sequence[tuple[str, object]] | None = None,
) -> str:
    lines = [
        "# Converted from OR-Library by spatialopt.convert.orlib; do not edit by hand.",
        "[instance]",
        f"name = {_toml_str(name)}",
        f"description = {_toml_str(description)}",
        f"cost_unit = {_toml_str('OR-Library cost units')}",
        "",
        "[tables]",
    ]
    lines += [f"{table} = {_toml_str(table + '.csv')}" for table in tables]
    lines += ["", "[[types]]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in (*type_keys, *_NEUTRAL_TYPE_KEYS)]
    if resources:
        lines += ["", "[[resources]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in resources]
    lines += [
        "",
        "[[sources]]",
        f"city = {_toml_str(SOURCE_CITY)}",
        "target_reduction = 0",
        "",
    ]
    return "\n".join(lines)
