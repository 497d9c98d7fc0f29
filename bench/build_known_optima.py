"""Write results/known_optima.csv from the optima tables beside the instances.

    python bench/build_known_optima.py

The registry is derived data: change an expected value in
``instances/orlib/*/optima.csv`` or ``instances/hand/optima.csv`` and rerun
this script, so every change to an expected optimum shows up as a reviewed
diff of both files.

Tolerances: 1e-6 relative, except OR-Library's ``capopt`` values, which are
printed rounded to three decimals (1e-3 absolute).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from spatialopt.known_optima import KnownOptimum, write_registry

ROOT = Path(__file__).resolve().parents[1]


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def gap_entries() -> list[KnownOptimum]:
    out = []
    for row in rows(ROOT / "instances/orlib/gap/optima.csv"):
        match = re.fullmatch(r"(gap\d+)-(\d+)", row["instance"])
        assert match, row
        name, problem = match.groups()
        out.append(KnownOptimum(
            id=f"{row['instance']}-{row['sense']}", family="gap", file=f"instances/orlib/gap/{name}.txt",
            problem=int(problem), variant="", sense=row["sense"], objective=float(row["objective"]),
            status=row["status"], rel_tol=1e-6, abs_tol=0.0, source=row["source"],
        ))
    return out


def cap_entries() -> list[KnownOptimum]:
    out = []
    for row in rows(ROOT / "instances/orlib/cap/optima.csv"):
        name = row["instance"]
        uncap = name.endswith("_uncap")
        base = name.removesuffix("_uncap")
        out.append(KnownOptimum(
            id=name, family="cap", file=f"instances/orlib/cap/{base}.txt", problem=None,
            variant="uncap" if uncap else "split", sense="min", objective=float(row["objective"]),
            status=row["status"], rel_tol=0.0, abs_tol=1e-3, source=row["source"],
        ))
    return out


def pmed_entries() -> list[KnownOptimum]:
    return [
        KnownOptimum(
            id=row["instance"], family="pmed", file=f"instances/orlib/pmed/{row['instance']}.txt", problem=None,
            variant="", sense="min", objective=float(row["objective"]), status=row["status"],
            rel_tol=1e-6, abs_tol=0.0, source=row["source"],
        )
        for row in rows(ROOT / "instances/orlib/pmed/optima.csv")
    ]


def hand_entries() -> list[KnownOptimum]:
    return [
        KnownOptimum(
            id=f"hand-{row['instance']}", family="hand", file=f"instances/hand/{row['instance']}.toml", problem=None,
            variant="", sense=row["sense"], objective=float(row["objective"]), status=row["status"],
            rel_tol=1e-9, abs_tol=0.0, source=row["source"],
        )
        for row in rows(ROOT / "instances/hand/optima.csv")
    ]


def main() -> None:
    entries = hand_entries() + gap_entries() + cap_entries() + pmed_entries()
    target = ROOT / "results" / "known_optima.csv"
    write_registry(target, entries)
    print(f"wrote {target} ({len(entries)} rows)")


if __name__ == "__main__":
    main()
