"""The flagship's plan-against-record table is what a fresh run of its script gives.

``instances/jingjinji-2035/record.csv`` (and ``record.md``) are written by
``instances/china/record.py``: the phased flagship solved to a 1e-6 gap on one
thread, then one counterfactual re-solve per relocation where the plan and the
record disagree (the row restricted to its announced destination) and one
re-solve without each synthetic policy rule. This test runs the script into a
temporary folder and compares: the destinations, periods, agreement and rules
exactly, the cost figures within 0.05 CNY million (two optima each within 1e-6
of about 22,000). About a minute and a half on one thread.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from support import load_script

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "instances" / "china" / "record.py"
COMMITTED = ROOT / "instances" / "jingjinji-2035"
NUMBERS = ("extra_cost", "relocation", "operating", "access", "sites")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _cells(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")]


def _same(a: str, b: str) -> bool:
    try:
        return abs(float(a.replace(",", "")) - float(b.replace(",", ""))) <= 0.05
    except ValueError:
        return a == b


@pytest.mark.slow
def test_record_table_matches_a_fresh_solve(tmp_path: Path) -> None:
    script = load_script(SCRIPT, "flagship_record_script")
    assert script.main(["--out", str(tmp_path)]) == 0

    committed, fresh = _rows(COMMITTED / "record.csv"), _rows(tmp_path / "record.csv")
    assert [r["record_id"] for r in fresh] == [r["record_id"] for r in committed]
    compared = 0
    for old, new in zip(committed, fresh, strict=True):
        for column in script.COLUMNS:
            if column in NUMBERS and old[column]:
                assert float(new[column]) == pytest.approx(float(old[column]), abs=0.05), (old["record_id"], column)
                compared += 1
            else:
                assert new[column] == old[column], (old["record_id"], column)
    assert compared >= 5 * sum(r["agree"] == "no" for r in committed) > 0  # the costs were compared, not skipped

    old_md, new_md = (COMMITTED / "record.md").read_text(encoding="utf-8"), (tmp_path / "record.md").read_text(
        encoding="utf-8"
    )
    assert len(_cells(new_md)) == len(_cells(old_md))
    for a, b in zip(_cells(old_md), _cells(new_md), strict=True):
        assert len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True)), (a, b)


def test_record_table_covers_the_record() -> None:
    """Every relocation of data/china/beijing_relief/facilities.csv has one row; rows of the
    instance say where the plan sends them, the others why they are not rows."""
    record = _rows(ROOT / "data" / "china" / "beijing_relief" / "facilities.csv")
    table = _rows(COMMITTED / "record.csv")
    assert sorted(r["record_id"] for r in table) == sorted(r["id"] for r in record)
    facilities = {f["record_id"]: f["id"] for f in _rows(ROOT / "instances" / "jingjinji-2035-phased" / "facilities.csv")
                  if f["record_id"]}
    for r in table:
        if r["in_instance"] == "yes":
            assert r["facility"] == facilities[r["record_id"]] and r["model_destination"] and r["model_period"]
            assert (r["agree"] == "yes") == (r["model_destination"] == r["announced_destination"])
            assert (r["extra_cost"] == "") == (r["agree"] == "yes")
            if r["extra_cost"]:
                parts = sum(float(r[k]) for k in ("relocation", "operating", "access", "sites"))
                assert parts == pytest.approx(float(r["extra_cost"]), abs=0.02)  # no shortfall: the terms add up
        else:
            assert r["in_instance"] == "no" and r["note"] and r["record_id"] not in facilities
