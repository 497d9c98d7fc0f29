"""Reading instance tables into plain rows, whatever the file format (spec §2).

A table arrives as a CSV, GeoJSON, GeoPackage or Parquet file, or inline in
the manifest as an array of TOML tables. Every reader returns the same
:class:`RawTable`: a list of ``{column: value}`` rows, where a value is a
Python scalar (``str``, ``int``, ``float``, ``bool``) or ``None`` when the cell
is absent. Typing and range checks happen later, in :mod:`spatialopt.validate`,
so that every problem of every table is reported at once.

Nothing here executes, unpickles or fetches anything: CSV is read with the
``csv`` module, the geo formats through GDAL (pyogrio) with the driver pinned
by the file's extension and GDAL's network file systems refused, Parquet
through pyarrow from a file this module opened. Only regular files are
opened (never a folder, a FIFO or a device), and by default only inside the
manifest's folder (see :func:`locate_table`).
"""

from __future__ import annotations

import csv
import decimal
import io
import math
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .errors import PROBLEMS_PER_FILE, Problem
from .instance import TABLE_COLUMNS

CSV_SUFFIXES = {".csv"}
GEO_SUFFIXES = {".geojson", ".json", ".gpkg"}
PARQUET_SUFFIXES = {".parquet", ".pq", ".geoparquet"}
MAX_CSV_LINE = 1_000_000  # characters; a longer line is not a table row (and must not fill memory)

# GDAL settings that keep reading local: /vsicurl/ (and the cloud file systems
# built on it) only open names ending in an extension no file has, so a table
# that points elsewhere (an OGR VRT, a GeoPackage view) fails instead of
# fetching; no sibling listing on open; no retries. PROJ stays offline too.
GDAL_OFFLINE = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".spatialopt-reads-no-network",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
}


@dataclass
class RawTable:
    """One table as rows of plain values, with a label for every row."""

    name: str  # "cities", "facilities", ...
    label: str  # how messages name the table: "cities.csv", "instance.toml [[cities]]"
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_labels: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    path: Path | None = None

    def where(self, index: int, row_id: object = None) -> str:
        """Location of row ``index`` for messages, with its id when known."""
        text = f"{self.label} {self.row_labels[index]}"
        if row_id is not None and row_id != "":
            text += f" (id {row_id!r})" if isinstance(row_id, str) else f" ({row_id})"
        return text


def locate_table(
    name: str, value: str, folder: Path, where: str, problems: list[Problem], *, allow_outside_paths: bool = False
) -> Path | None:
    """The file that table ``name`` names (``value``, relative to the manifest's ``folder``), or None (reported).

    GDAL's virtual file systems (``/vsicurl/``, ``/vsizip/`` ...) and URLs are
    refused. Unless ``allow_outside_paths``, the file must resolve (symlinks
    followed) inside ``folder``: an instance names its own tables, not
    ``/etc/passwd``.
    """
    text = value.strip()
    if text.lower().startswith("/vsi") or "://" in text:
        problems.append(Problem(where, name, value, "a path to a local table file (no URLs or GDAL /vsi paths)"))
        return None
    path = folder / text
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        problems.append(Problem(where, name, value, f"a path that resolves to a file ({_first_line(exc)})"))
        return None
    if str(resolved).lower().startswith("/vsi"):
        problems.append(Problem(where, name, value, "a path to a local table file (no GDAL /vsi paths)"))
        return None
    if not allow_outside_paths:
        root = folder.resolve()
        if not resolved.is_relative_to(root):
            problems.append(
                Problem(where, name, value, f"a file inside the instance folder {root} (this resolves to {resolved};"
                        " pass --allow-outside-paths, or allow_outside_paths=True, to read tables elsewhere)")
            )
            return None
    return path


def not_a_regular_file(path: Path) -> str | None:
    """Why ``path`` cannot be opened as a table or manifest (it is missing, a folder, a FIFO ...), or None."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return f"file not found: {path}"
    except PermissionError:
        return f"cannot be read (permission denied): {path}"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__}): {path}"
    return None if stat.S_ISREG(mode) else f"{path} {_kind_of(mode)}; expected a regular file"


def _kind_of(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "is a folder"), (stat.S_ISFIFO, "is a named pipe (FIFO)"), (stat.S_ISCHR, "is a character device"),
        (stat.S_ISBLK, "is a block device"), (stat.S_ISSOCK, "is a socket"),
    ):
        if test(mode):
            return kind
    return "is not a regular file"


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading, refusing anything but a regular file without ever blocking (a FIFO)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(f"{path} {_kind_of(mode)}; expected a regular file")
        os.set_blocking(fd, True)
        return open(fd, "rb")  # the caller closes it
    except BaseException:
        os.close(fd)
        raise


def read_table_file(name: str, path: Path, problems: list[Problem]) -> RawTable | None:
    """Read table ``name`` from ``path``; append problems and return None on failure.

    A table whose header lacks a column the spec requires is not read further
    (its rows would only repeat the same problem).
    """
    label = path.name
    reason = not_a_regular_file(path)
    if reason is not None:
        problems.append(Problem(label, None, None, reason))
        return None
    suffix = path.suffix.lower()
    try:
        with warnings.catch_warnings(record=True):  # GDAL/pyarrow chatter becomes a located problem, never a raw warning
            warnings.simplefilter("always")
            if suffix in CSV_SUFFIXES:
                return _read_csv(name, label, path, problems)
            if suffix in GEO_SUFFIXES:
                return _read_geo(name, label, path, problems)
            if suffix in PARQUET_SUFFIXES:
                return _read_parquet(name, label, path, problems)
    except Exception as exc:  # a reader library refusing a corrupt file
        problems.append(Problem(label, None, None, f"cannot be read as a {suffix} table ({_first_line(exc)})"))
        return None
    problems.append(
        Problem(label, None, None, "unknown table format; expected .csv, .geojson, .json, .gpkg or .parquet")
    )
    return None


def _missing_columns(name: str, label: str, columns: list[str], problems: list[Problem], has_geometry: bool) -> bool:
    """Report the spec's required columns that ``columns`` lacks; True when any is missing."""
    required = [c for c in TABLE_COLUMNS[name] if not (has_geometry and c in ("lon", "lat"))]
    missing = [c for c in required if c not in columns]
    for column in missing:
        problems.append(Problem(label, column, None, f"a column named {column!r} (columns found: {columns_text(columns)})"))
    return bool(missing)


def columns_text(columns: list[str]) -> str:
    """A table's column names for a message, cut short (a junk header must not flood the terminal)."""
    text = ", ".join(columns) or "none"
    return text if len(text) <= 200 else text[:197] + "..."


def read_inline_table(name: str, manifest_label: str, rows: object, problems: list[Problem]) -> RawTable | None:
    """Read a table given inline in the manifest as ``[[name]]`` entries."""
    label = f"{manifest_label} [[{name}]]"
    if not isinstance(rows, list):
        problems.append(Problem(manifest_label, name, _type_name(rows), "an array of tables ([[" + name + "]])"))
        return None
    table = RawTable(name, label)
    seen: dict[str, None] = {}
    for number, row in enumerate(rows, start=1):
        row_label = f"#{number}"
        if not isinstance(row, dict):
            problems.append(Problem(f"{label} {row_label}", None, None, "each entry must be a table of column = value"))
            continue
        clean: dict[str, Any] = {}
        for key, value in row.items():
            seen.setdefault(key)
            if isinstance(value, (dict, list)):
                problems.append(
                    Problem(f"{label} {row_label}", key, _type_name(value), "a single value (text, number or true/false)")
                )
                clean[key] = None
            else:
                clean[key] = _absent_if_nan(value)
        table.rows.append(clean)
        table.row_labels.append(row_label)
    table.columns = list(seen)
    # A key missing from a row is an empty cell (spec §2).
    for row in table.rows:
        for column in table.columns:
            row.setdefault(column, None)
    return table


class _CsvStop(Exception):
    """The CSV cannot be read on (not text, a line too long); ``reason`` says why."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _csv_lines(stream: io.TextIOWrapper) -> Iterator[str]:
    """The file's lines, one at a time (memory stays flat), stopping at NUL bytes, bad UTF-8 or huge lines."""
    number = 0
    while True:
        number += 1
        try:
            line = stream.readline(MAX_CSV_LINE + 1)
        except UnicodeDecodeError:
            raise _CsvStop(number, f"not UTF-8 text (at or near line {number}); save the file as UTF-8") from None
        if line == "":
            return
        if "\x00" in line:
            raise _CsvStop(number, "contains NUL bytes; expected a UTF-8 CSV text file")
        if len(line) > MAX_CSV_LINE and not line.endswith("\n"):
            raise _CsvStop(number, f"a line longer than {MAX_CSV_LINE:,} characters; expected CSV rows")
        yield line


def _read_csv(name: str, label: str, path: Path, problems: list[Problem]) -> RawTable | None:
    with open_regular(path) as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            return _parse_csv(name, label, path, csv.reader(_csv_lines(stream)), problems)
        except _CsvStop as stop:
            where = label if stop.line <= 1 else f"{label} line {stop.line}"
            problems.append(Problem(where, None, None, stop.reason))
            return None
        except csv.Error as exc:
            problems.append(Problem(label, None, None, f"not readable CSV ({exc})"))
            return None


def _parse_csv(name: str, label: str, path: Path, reader: Any, problems: list[Problem]) -> RawTable | None:
    try:
        header = next(reader)
    except StopIteration:
        problems.append(Problem(label, None, None, "empty file; expected a header row"))
        return None
    header = [h.strip() for h in header]
    table = RawTable(name, label, columns=list(header), path=path)
    bad_header = False
    for position, column in enumerate(header, start=1):
        if column == "":
            problems.append(Problem(f"{label} line 1", f"column {position}", "", "a column name"))
            bad_header = True
        elif header.index(column) != position - 1:
            problems.append(Problem(f"{label} line 1", column, column, "unique column names (this one repeats)"))
            bad_header = True
        if bad_header and position > PROBLEMS_PER_FILE:
            break
    if bad_header or _missing_columns(name, label, header, problems, has_geometry=False):
        return None  # the rows of a table without the spec's header say nothing more
    broken = 0
    try:
        previous_end = reader.line_num
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not cells or all(c.strip() == "" for c in cells):
                continue  # blank lines carry no row
            if len(cells) != len(header):
                broken += 1
                problems.append(
                    Problem(
                        f"{label} line {line}",
                        None,
                        None,
                        f"has {len(cells)} fields, expected {len(header)} (one per header column)",
                    )
                )
                continue
            if broken > PROBLEMS_PER_FILE:
                continue  # past this many broken lines the table is unusable: only count the rest
            table.rows.append({h: (c if c.strip() != "" else None) for h, c in zip(header, cells)})
            table.row_labels.append(f"line {line}")
    except csv.Error as exc:
        problems.append(Problem(f"{label} line {reader.line_num}", None, None, f"not readable CSV ({exc})"))
        return None
    return None if broken > PROBLEMS_PER_FILE else table


def _gdal_offline() -> None:
    import pyogrio

    pyogrio.set_gdal_config_options(GDAL_OFFLINE)
    try:
        import pyproj.network

        pyproj.network.set_network_enabled(active=False)  # reprojection uses the grids installed, never downloads
    except ImportError:  # pragma: no cover - geopandas brings pyproj
        pass


def _read_geo(name: str, label: str, path: Path, problems: list[Problem]) -> RawTable | None:
    import pyogrio

    _gdal_offline()
    # The driver is pinned by the extension ("GeoJSON:" / "GPKG:" prefixes): a
    # .geojson that is really a VRT (or anything else GDAL could open) is
    # refused instead of being followed.
    is_gpkg = path.suffix.lower() == ".gpkg"
    source = ("GPKG:" if is_gpkg else "GeoJSON:") + str(path.resolve())
    layer = None
    if is_gpkg:
        layers = [str(row[0]) for row in pyogrio.list_layers(source)]
        if name in layers:
            layer = name  # a GeoPackage may hold several tables: prefer the one named like the table
        elif len(layers) == 1:
            layer = layers[0]
        else:
            problems.append(
                Problem(label, None, None, f"has layers {layers}; expected one layer, or a layer named {name!r}")
            )
            return None
    frame = pyogrio.read_dataframe(source, layer=layer)
    return _frame_table(name, label, path, frame, "feature", problems)


def _read_parquet(name: str, label: str, path: Path, problems: list[Problem]) -> RawTable | None:
    import pyarrow.parquet as pq

    with open_regular(path) as handle:
        metadata = pq.read_schema(handle).metadata or {}
        handle.seek(0)
        if b"geo" in metadata:
            import geopandas

            frame = geopandas.read_parquet(handle)
        else:
            import pandas

            frame = pandas.read_parquet(handle)
    return _frame_table(name, label, path, frame, "row", problems)


def _frame_table(
    name: str, label: str, path: Path, frame: Any, row_word: str, problems: list[Problem]
) -> RawTable | None:
    """Rows of a (Geo)DataFrame; a geometry column, reprojected to WGS84, gives Point coordinates."""
    geometry = frame.geometry if hasattr(frame, "crs") else None  # GeoDataFrames only
    if geometry is not None and frame.crs is not None and not geometry.isna().all():
        if frame.crs.to_epsg() != 4326:
            geometry = geometry.to_crs(4326)
    geometry_name = geometry.name if geometry is not None else None
    table = RawTable(name, label, path=path)
    table.columns = [str(c) for c in frame.columns if c != geometry_name]
    has_points = geometry is not None and not geometry.isna().all()
    if _missing_columns(name, label, table.columns, problems, has_geometry=has_points):
        return None
    for position in range(len(frame)):
        row = {str(c): _plain(frame[c].iat[position]) for c in frame.columns if c != geometry_name}
        row_label = f"{row_word} {position + 1}"
        if geometry is not None:
            row["__geometry__"] = _point_or_problem(geometry.iat[position], f"{label} {row_label}", problems, name)
        table.rows.append(row)
        table.row_labels.append(row_label)
    return table


def _point_or_problem(geom: Any, where: str, problems: list[Problem], table: str) -> tuple[float, float] | None:
    """(lon, lat) of a Point geometry; only the cities table reads geometry."""
    if geom is None or table != "cities":
        return None
    if getattr(geom, "is_empty", False):
        return None
    if geom.geom_type != "Point":
        problems.append(Problem(where, "geometry", geom.geom_type, "a Point (or lon/lat columns)"))
        return None
    return (float(geom.x), float(geom.y))


def _plain(value: Any) -> Any:
    """A pandas/numpy cell as a plain Python scalar, None when absent."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, decimal.Decimal):  # a Parquet decimal column: a number like any other
        if not value.is_finite():
            return None if value.is_nan() else float(value)
        return int(value) if value == value.to_integral_value() else float(value)
    try:
        import pandas

        if value is pandas.NA or value is pandas.NaT:
            return None
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return _absent_if_nan(value)


def _absent_if_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _type_name(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
