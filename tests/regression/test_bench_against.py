"""bench/bench_against.py keeps working: this checkout against itself on cap131, and its verdicts.

The expected optimum of cap131 is OR-Library's published one
(instances/orlib/cap/optima.csv); both sides must prove it and the table
must say so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "bench" / "bench_against.py"


def _cells(table: str, name: str) -> dict[str, str]:
    head = next(line for line in table.splitlines() if line.startswith("| instance |"))
    row = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
    keys = [c.strip() for c in head.strip("|").split("|")]
    return dict(zip(keys, (c.strip() for c in row.strip("|").split("|")), strict=True))


def test_against_itself_both_sides_prove_the_published_optimum(tmp_path: Path) -> None:
    out = tmp_path / "against.md"
    run = subprocess.run([sys.executable, str(SCRIPT), "--baseline-python", sys.executable, "--baseline-label",
                          "itself", "--only", "cap131", "--repeat", "1", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    table = out.read_text()
    assert run.stdout == table  # printed and written alike
    assert "this checkout against itself" in table
    cells = _cells(table, "cap131")
    assert cells["status baseline"] == cells["status current"] == "optimal"
    assert cells["answer"] == "same, = published"
    assert float(cells["baseline s"]) > 0 and float(cells["current s"]) > 0
    assert cells["current / baseline"].endswith("x")
    assert "cap131: baseline" in run.stderr  # a progress line per instance


def test_a_missing_baseline_is_a_clear_error(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--baseline-python", str(tmp_path / "no-python")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--baseline-python" in run.stderr and "Traceback" not in run.stderr
    run = subprocess.run([sys.executable, str(SCRIPT), "--baseline-python", sys.executable, "--only", "nope*"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "no OR-Library cap or pmed instance matches" in run.stderr
