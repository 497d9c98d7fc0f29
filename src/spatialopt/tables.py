"""Reading instance tables into plain rows, whatever the file format (spec §2).

A table arrives as a CSV, GeoJSON, GeoPackage or Parquet file, or inline in
the manifest as an array of TOML tables. Every reader returns the same
:class:`RawTable`: a list of ``{column: value}`` rows, where a value is a
Python scalar (``str``, ``int``, ``float``, ``bool``) or ``None`` when the cell
is absent. Typing and range checks happen later, in :mod:`spatialopt.validate`,
so that every problem of every table is reported at once.

Nothing here executes or unpickles anything: CSV is read with the ``csv``
module, the geo formats through GDAL (pyogrio), Parquet through pyarrow.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Problem

CSV_SUFFIXES = {".csv"}
GEO_SUFFIXES = {".geojson", ".json", ".gpkg"}
PARQUET_SUFFIXES = {".parquet", ".pq", ".geoparquet"}


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


def read_table_file(name: str, path: Path, problems: list[Problem]) -> RawTable | None:
    """Read table ``name`` from ``path``; append problems and return None on failure."""
    label = path.name
    if not path.is_file():
        problems.append(Problem(label, None, None, f"file not found: {path}"))
        return None
    suffix = path.suffix.lower()
    try:
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


def _read_csv(name: str, label: str, path: Path, problems: list[Problem]) -> RawTable | None:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(label, None, None, f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"))
        return None
    if "\x00" in text:
        problems.append(Problem(label, None, None, "contains NUL bytes; expected a UTF-8 CSV text file"))
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        problems.append(Problem(label, None, None, "empty file; expected a header row"))
        return None
    except csv.Error as exc:
        problems.append(Problem(label, None, None, f"not a readable CSV ({exc})"))
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
    if bad_header:
        return None
    try:
        previous_end = reader.line_num
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not cells or all(c.strip() == "" for c in cells):
                continue  # blank lines carry no row
            if len(cells) != len(header):
                problems.append(
                    Problem(
                        f"{label} line {line}",
                        None,
                        None,
                        f"has {len(cells)} fields, expected {len(header)} (one per header column)",
                    )
                )
                continue
            table.rows.append({h: (c if c.strip() != "" else None) for h, c in zip(header, cells)})
            table.row_labels.append(f"line {line}")
    except csv.Error as exc:
        problems.append(Problem(f"{label} line {reader.line_num}", None, None, f"not readable CSV ({exc})"))
        return None
    return table


def _read_geo(name: str, label: str, path: Path, problems: list[Problem]) -> RawTable | None:
    import pyogrio

    layer = None
    if path.suffix.lower() == ".gpkg":
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
        if name in layers:
            layer = name  # a GeoPackage may hold several tables: prefer the one named like the table
        elif len(layers) == 1:
            layer = layers[0]
        else:
            problems.append(
                Problem(label, None, None, f"has layers {layers}; expected one layer, or a layer named {name!r}")
            )
            return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL chatter about drivers is not the planner's concern
        frame = pyogrio.read_dataframe(path, layer=layer)
    return _frame_table(name, label, path, frame, "feature", problems)


def _read_parquet(name: str, label: str, path: Path, problems: list[Problem]) -> RawTable | None:
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    if b"geo" in metadata:
        import geopandas

        frame = geopandas.read_parquet(path)
    else:
        import pandas

        frame = pandas.read_parquet(path)
    return _frame_table(name, label, path, frame, "row", problems)


def _frame_table(name: str, label: str, path: Path, frame: Any, row_word: str, problems: list[Problem]) -> RawTable:
    """Rows of a (Geo)DataFrame; a geometry column, reprojected to WGS84, gives Point coordinates."""
    geometry = frame.geometry if hasattr(frame, "crs") else None  # GeoDataFrames only
    if geometry is not None and frame.crs is not None and not geometry.isna().all():
        if frame.crs.to_epsg() != 4326:
            geometry = geometry.to_crs(4326)
    geometry_name = geometry.name if geometry is not None else None
    table = RawTable(name, label, path=path)
    table.columns = [str(c) for c in frame.columns if c != geometry_name]
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
    return {dict: "a table", list: "an array"}.get(type(value), type(value).__name__)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
