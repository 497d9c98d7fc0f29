"""Hostile and careless instances (issue 11, input side), through the real command line.

Each test reproduces one probe that used to fetch from the network, read
outside the instance folder, flood the output, hang, or end in an internal
error, and asserts the exit code, a message that names the file (and row and
column where there is one), and that no traceback is printed. The expected
figures are worked by hand from the files the tests write.
"""

from __future__ import annotations

import contextlib
import decimal
import http.server
import io
import os
import random
import shutil
import sqlite3
import string
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

import spatialopt
from spatialopt import InstanceError
from spatialopt.cli import INSTANCE_COMMANDS, main

TUTORIAL = Path(__file__).parents[2] / "instances" / "tutorial"


def run(*argv: str) -> tuple[int, str]:
    """Exit code and everything printed (stdout then stderr) of ``spatialopt ARGV``, in-process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text and "internal error" not in text, text
    return code, text


@pytest.fixture
def tutorial(tmp_path: Path) -> Path:
    """A private copy of the tutorial instance; returns its manifest."""
    folder = tmp_path / "inst"
    shutil.copytree(TUTORIAL, folder)
    return folder / "instance.toml"


def edit(manifest: Path, old: str, new: str) -> None:
    text = manifest.read_text()
    assert old in text, old
    manifest.write_text(text.replace(old, new, 1))


# -- 4. no network: a .geojson that is really a GDAL VRT -------------------------------
@contextlib.contextmanager
def recording_server() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on 127.0.0.1 that records request paths; stopped (and bounded by a timeout) on exit."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 1
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_vrt_disguised_as_geojson_fetches_nothing(tutorial: Path) -> None:
    with recording_server() as (port, requests):
        (tutorial.parent / "cities.geojson").write_text(
            '<OGRVRTDataSource><OGRVRTLayer name="cities">'
            f"<SrcDataSource>/vsicurl/http://127.0.0.1:{port}/cities.geojson</SrcDataSource>"
            "</OGRVRTLayer></OGRVRTDataSource>"
        )
        code, text = run("validate", str(tutorial))
    assert requests == []  # before: GDAL followed the VRT and asked the server twice
    assert code == 2
    assert "cities.geojson: cannot be read as a .geojson table" in text


@pytest.mark.parametrize("path", ["/vsicurl/http://127.0.0.1:9/x.csv", "https://example.org/facilities.csv"])
def test_urls_and_gdal_virtual_paths_are_refused(tutorial: Path, path: str) -> None:
    edit(tutorial, 'facilities = "facilities.csv"', f'facilities = "{path}"')
    code, text = run("validate", str(tutorial), "--allow-outside-paths")
    assert code == 2
    assert f"instance.toml [tables]: facilities='{path}', expected a path to a local table file" in text


# -- 6. tables stay inside the instance folder --------------------------------------------
SECRET = "secret-first-line-of-a-private-file"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A facilities table outside the instance folder (a valid one, so that allowing it loads)."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    path = folder / "facilities.csv"
    path.write_text((TUTORIAL / "facilities.csv").read_text())
    (folder / "private.txt").write_text(SECRET + "\n")
    return path


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink", "symlink-to-private"])
def test_table_outside_the_instance_folder_is_refused(tutorial: Path, outside: Path, how: str) -> None:
    value = {"absolute": str(outside), "dotdot": "../elsewhere/facilities.csv"}.get(how, "link.csv")
    if how.startswith("symlink"):
        target = outside if how == "symlink" else outside.parent / "private.txt"
        (tutorial.parent / "link.csv").symlink_to(target)
    edit(tutorial, 'facilities = "facilities.csv"', f'facilities = "{value}"')
    code, text = run("validate", str(tutorial))
    assert code == 2, text
    assert "instance.toml [tables]: facilities=" in text  # the value is shown, cut at 60 characters
    assert f", expected a file inside the instance folder {tutorial.parent}" in text
    assert "--allow-outside-paths" in text
    assert SECRET not in text
    if how != "symlink-to-private":
        code, text = run("validate", str(tutorial), "--allow-outside-paths")
        assert code == 0, text


def test_load_keyword_allows_outside_paths(tutorial: Path, outside: Path) -> None:
    edit(tutorial, 'facilities = "facilities.csv"', f'facilities = "{outside}"')
    with pytest.raises(InstanceError) as info:
        spatialopt.load(tutorial)
    assert [p.column for p in info.value.problems] == ["facilities"]
    assert len(spatialopt.load(tutorial, allow_outside_paths=True).facilities) == 14  # the tutorial's 14 rows


@pytest.mark.parametrize("command", INSTANCE_COMMANDS)
def test_every_instance_command_offers_allow_outside_paths(command: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([command, "--help"]) == 0
    assert "--allow-outside-paths" in out.getvalue()


def test_solve_honours_allow_outside_paths(tutorial: Path, outside: Path, tmp_path: Path) -> None:
    edit(tutorial, 'facilities = "facilities.csv"', f'facilities = "{outside}"')
    code, text = run("solve", str(tutorial), "--out", str(tmp_path / "refused"))
    assert code == 2 and "expected a file inside the instance folder" in text
    assert not (tmp_path / "refused").exists()
    code, text = run("solve", str(tutorial), "--out", str(tmp_path / "allowed"), "--allow-outside-paths")
    assert code == 0, text
    report = tmp_path / "report.html"
    code, text = run("report", str(tmp_path / "allowed"), "--instance", str(tutorial), "--out", str(report))
    assert code == 2 and "expected a file inside the instance folder" in text
    assert not report.exists()
    code, text = run("report", str(tmp_path / "allowed"), "--instance", str(tutorial), "--out", str(report),
                     "--allow-outside-paths")
    assert code == 0, text
    assert report.is_file()


# -- 7. bounded error output --------------------------------------------------------------
def test_junk_rows_list_fifty_problems_and_count_the_rest(tutorial: Path) -> None:
    header = (TUTORIAL / "facilities.csv").read_text().splitlines()[0]  # 10 columns
    lines = 150_000
    with open(tutorial.parent / "facilities.csv", "w") as handle:
        handle.write(header + "\n")
        handle.writelines(f"junk{i},{i * 7919 % 100003},x\n" for i in range(lines))  # 3 fields each
    assert (tutorial.parent / "facilities.csv").stat().st_size > 2_000_000
    tracemalloc.start()
    try:
        code, text = run("validate", str(tutorial))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 30e6  # memory stays flat: about 6 MB here, before 82 MB (the file's text and 150,000 problems)
    assert code == 2
    assert "facilities.csv line 2: has 3 fields, expected 10 (one per header column)" in text
    assert "facilities.csv line 52:" not in text  # the 51st broken line is counted, not listed
    # every junk line is one problem; 50 are listed
    assert f"facilities.csv: and {lines - 50:,} more problems in this file" in text
    assert f"instance.toml: {lines:,} problems" in text
    assert len(text.encode()) < 20_000  # before: one line per junk line (megabytes)


def test_a_table_without_the_spec_header_is_not_read_further(tutorial: Path) -> None:
    rng = random.Random(11)
    words = ["".join(rng.choices(string.ascii_letters, k=rng.randint(1, 12))) for _ in range(500)]
    lines = (",".join(rng.choices(words, k=rng.randint(1, 30))) for _ in range(60_000))
    header = ",".join(rng.sample(words, 8))  # eight distinct junk column names
    (tutorial.parent / "facilities.csv").write_text(header + "\n" + "\n".join(lines))
    assert (tutorial.parent / "facilities.csv").stat().st_size > 2_000_000
    code, text = run("validate", str(tutorial))
    assert code == 2
    assert "facilities.csv: id=(missing), expected a column named 'id'" in text
    assert "facilities.csv line" not in text  # no row was read
    assert "instance.toml: 3 problems" in text  # id, origin and type missing; nothing else
    assert len(text.encode()) < 5_000


# -- 9. only regular files ----------------------------------------------------------------
def run_subprocess(*argv: str) -> subprocess.CompletedProcess[str]:
    """``spatialopt ARGV`` in a child process, bounded: a FIFO must never hang a load."""
    return subprocess.run([sys.executable, "-m", "spatialopt.cli", *argv], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_table_is_named_and_never_blocks(tutorial: Path) -> None:
    table = tutorial.parent / "facilities.csv"
    table.unlink()
    os.mkfifo(table)
    done = run_subprocess("validate", str(tutorial))
    assert done.returncode == 2, done.stderr
    assert f"facilities.csv: {table} is a named pipe (FIFO); expected a regular file" in done.stderr
    assert "Traceback" not in done.stderr


def test_folder_table_is_named(tutorial: Path) -> None:
    table = tutorial.parent / "facilities.csv"
    table.unlink()
    table.mkdir()
    code, text = run("validate", str(tutorial))
    assert code == 2
    assert f"facilities.csv: {table} is a folder; expected a regular file" in text


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_manifest_is_named_and_never_blocks(tmp_path: Path) -> None:
    manifest = tmp_path / "instance.toml"
    os.mkfifo(manifest)
    done = run_subprocess("validate", str(manifest))
    assert done.returncode == 2
    assert "is a named pipe (FIFO)" in done.stderr and "Traceback" not in done.stderr


# -- 11. manifest: nesting and magnitudes ------------------------------------------------
@pytest.mark.parametrize("value", ["{b = " * 400 + "1" + "}" * 400, "[" * 1000 + "]" * 1000])
def test_deeply_nested_toml_is_a_located_problem(tmp_path: Path, value: str) -> None:
    manifest = tmp_path / "instance.toml"
    manifest.write_text(f"a = {value}\n")
    code, text = run("validate", str(manifest))
    assert code == 2
    assert "instance.toml line 1: arrays or tables nested too deeply to read" in text


def test_horizon_beyond_the_magnitude_limit(tutorial: Path) -> None:
    edit(tutorial, "horizon_years = 10", "horizon_years = 1e23")
    code, text = run("validate", str(tutorial))
    assert code == 2
    assert "instance.toml [instance]: horizon_years=1e+23, expected a number >= 0, at most 1e15 in size" in text


def test_weight_beyond_the_magnitude_limit(tutorial: Path) -> None:
    edit(tutorial, "weights = { relocation = 1.0", "weights = { relocation = 1e308")
    code, text = run("validate", str(tutorial))
    assert code == 2
    assert "instance.toml [objective] weights: relocation=1e+308, expected a number >= 0, at most 1e15" in text


def test_product_of_allowed_values_beyond_the_coefficient_limit(tutorial: Path) -> None:
    # Each value is within 1e15, but their product is not: facility m-bj-1 (line 2,
    # 4,000 jobs, manufacturing) over the tutorial's cost_index spread 1.3 - 0.4 = 0.9
    # costs up to 1e9 years x 1e9 per job-year x 4,000 jobs x 0.9 = 3.6e21.
    edit(tutorial, "horizon_years = 10", "horizon_years = 1e9")
    edit(tutorial, "annual_cost_per_job = 0.015", "annual_cost_per_job = 1e9")
    code, text = run("validate", str(tutorial))
    assert code == 2
    assert "facilities.csv line 2 (id 'm-bj-1'): arc cost=3.6e+21, expected at most 1e15" in text
    assert "horizon_years 1e+09 × annual_cost_per_job 1e+09 × jobs 4000 × cost_index spread 0.9" in text


# -- 13. smaller input probes -------------------------------------------------------------
def test_manifest_with_a_byte_order_mark_is_accepted(tutorial: Path) -> None:
    tutorial.write_bytes(b"\xef\xbb\xbf" + tutorial.read_bytes())
    code, text = run("validate", str(tutorial))
    assert code == 0, text


def test_parquet_decimal_columns_are_numbers(tutorial: Path) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.read_csv(TUTORIAL / "facilities.csv", dtype={"id": str, "origin": str, "type": str})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for column, kind in (("count", pa.decimal128(10, 2)), ("jobs", pa.decimal128(12, 0))):
        values = pa.array([decimal.Decimal(int(v)) for v in frame[column]], kind)
        table = table.set_column(table.schema.get_field_index(column), column, values)
    pq.write_table(table, tutorial.parent / "facilities.parquet")
    edit(tutorial, 'facilities = "facilities.csv"', 'facilities = "facilities.parquet"')
    code, text = run("validate", str(tutorial))
    assert code == 0, text
    loaded = spatialopt.load(tutorial).facilities
    assert loaded["count"].tolist() == frame["count"].tolist() and loaded["jobs"].tolist() == frame["jobs"].tolist()


def test_unbounded_number_message_reads_right(tutorial: Path) -> None:
    path = tutorial.parent / "facilities.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[7] = "inf"  # fixed_cost: any finite number
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    code, text = run("validate", str(tutorial))
    assert code == 2
    assert "facilities.csv line 2 (id 'm-bj-1'): fixed_cost='inf', expected a finite number (finite;" in text
    assert "finite a number" not in text


def test_plain_sqlite_named_gpkg_is_a_located_problem(tutorial: Path) -> None:
    with contextlib.closing(sqlite3.connect(tutorial.parent / "cities.gpkg")) as db:
        db.execute("create table cities (id text, lon real, lat real)")
        db.commit()
    edit(tutorial, 'cities = "cities.geojson"', 'cities = "cities.gpkg"')
    code, text = run("validate", str(tutorial))  # pytest turns any raw warning into an error
    assert code == 2
    assert "cities.gpkg: cannot be read as a .gpkg table" in text
    assert "Warning" not in text


def test_missing_facilities_table_is_reported_once(tutorial: Path) -> None:
    (tutorial.parent / "facilities.csv").unlink()
    code, text = run("validate", str(tutorial))
    assert code == 2
    problems = text.splitlines()[1:]
    # before: the missing file, then one 'unknown facility' per row of arcs.csv (165)
    assert problems == [f"  facilities.csv: file not found: {tutorial.parent / 'facilities.csv'}"], problems
