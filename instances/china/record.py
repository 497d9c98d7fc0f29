#!/usr/bin/env python3
"""The flagship's plan held against the record: instances/jingjinji-2035/record.{csv,md}.

Run from the repository root (a few minutes on one thread)::

    python instances/china/record.py                  # writes instances/jingjinji-2035/record.csv and record.md
    python instances/china/record.py --out /tmp/rec   # writes them to /tmp/rec/

For each relocation on the record (data/china/beijing_relief/facilities.csv),
the table gives the announced destination and dates and, where the relocation
is a row of the phased flagship ``jingjinji-2035-phased``, the plan's
destination and period when the choice is left to the model (its row is a
must-move with the record's window; the destination is free), whether they
agree and, where they do not, what the announced choice costs under the model:
the same instance re-solved with that one row restricted to its announced
destination (an ``arcs`` table that lists every other row's pairs and only the
announced pair for this row; spec §3: an arcs table restricts eligibility, it
never widens it) and the objective difference split into its cost terms. The
rules that shape a choice are found by re-solving once without each synthetic
policy rule (the destination share cap, the capacities by period): a rule
shapes a row's choice when the row goes elsewhere without it. Record rows that
are not instance rows are listed with the reason the assumptions give.

Solves use HiGHS on one thread with seed 0 and the relative gap below, so the
figures are reproducible (tests/regression/test_flagship_record.py re-derives
them).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

import spatialopt

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
INSTANCE = ROOT / "instances" / "jingjinji-2035-phased"
OUT = ROOT / "instances" / "jingjinji-2035"
RELIEF = ROOT / "data" / "china" / "beijing_relief" / "facilities.csv"
GAP = 1e-6  # relative gap of every solve: extra costs are differences of two optima
OPTIONS = {"mip_rel_gap": GAP, "threads": 1, "random_seed": 0, "time_limit": 600.0}
TERMS = ("relocation", "operating", "access", "sites")
COLUMNS = (
    "record_id",
    "name",
    "type",
    "announced_destination",
    "announced_place",
    "announced_dates",
    "in_instance",
    "facility",
    "window",
    "model_destination",
    "model_period",
    "agree",
    "extra_cost",
    "relocation",
    "operating",
    "access",
    "sites",
    "driving_term",
    "rules_shaping_choice",
    "note",
)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def solve(path: Path) -> dict:
    instance = spatialopt.load(path)
    result = spatialopt.solve(instance, highs_options=dict(OPTIONS))
    if result.status.value != "optimal":
        raise SystemExit(f"{path}: {result.status.value} ({'; '.join(result.reasons)})")
    return result.to_solution_dict()


def plan_of(solution: dict, facility: str) -> list[tuple[str, str, float]]:
    """(destination, period, units) of a facility's moves, units > 1e-9."""
    return sorted(
        (a["destination"], a.get("period", ""), float(a["units"]))
        for a in solution["assignments"]
        if a["facility"] == facility and float(a["units"]) > 1e-9
    )


def forced_instance(folder: Path, facility: str, destination: str) -> Path:
    """A copy of the phased flagship in which ``facility`` may go to ``destination`` only."""
    shutil.copytree(INSTANCE, folder)
    cities = [c["id"] for c in read_csv(folder / "cities.csv") if c["kind"] != "core"]
    rows = [(f["id"], d) for f in read_csv(folder / "facilities.csv") for d in cities
            if f["id"] != facility or d == destination]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("facility", "destination"))
    w.writerows(rows)
    (folder / "arcs.csv").write_text(buf.getvalue(), encoding="utf-8")
    manifest = folder / "instance.toml"
    text = manifest.read_text(encoding="utf-8")
    anchor = 'distances = "distances.csv"\n'
    if anchor not in text:
        raise SystemExit(f"{INSTANCE}/instance.toml: no [tables] distances line to add the arcs table after")
    manifest.write_text(text.replace(anchor, anchor + 'arcs = "arcs.csv"\n'), encoding="utf-8")
    return manifest


# Rules relaxed one at a time to see which of them shapes the model's choices: the manifest
# lines each relaxation removes (both are synthetic policy in the flagship's assumptions).
RELAXATIONS = {
    "max_destination_share": lambda line: line.startswith("max_destination_share ="),
    "cap_by_period": lambda line: line.startswith("cap_by_period ="),
}


def relaxed_instance(folder: Path, rule: str) -> Path:
    """A copy of the phased flagship without ``rule`` (its manifest lines removed)."""
    shutil.copytree(INSTANCE, folder)
    manifest = folder / "instance.toml"
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not RELAXATIONS[rule](line)]
    if len(kept) == len(lines):
        raise SystemExit(f"{INSTANCE}/instance.toml has no {rule} to relax")
    manifest.write_text("".join(kept), encoding="utf-8")
    return manifest


def fmt(x: float) -> str:
    s = f"{x:.2f}"
    return "0.00" if s == "-0.00" else s


def where(plan: list[tuple[str, str, float]]) -> tuple[str, str]:
    dests = "; ".join(d if math.isclose(u, 1.0) else f"{d} ({u:.3f})" for d, _, u in plan)
    periods = "; ".join(sorted({p for _, p, _ in plan}))
    return dests or "stays", periods


def announced_dates(r: dict[str, str]) -> str:
    parts = [f"{label} {r[key]}" for key, label in (("announced_date", "announced"), ("start_date", "start"),
                                                        ("completion_or_first_intake", "done/planned")) if r[key]]
    return "; ".join(parts)


def build_table(work: Path) -> tuple[list[dict], dict]:
    with (HERE / "assumptions.toml").open("rb") as fh:
        A = tomllib.load(fh)
    rec = A["instances"]["jingjinji-2035"]["record"]
    record = {r["id"]: r for r in read_csv(RELIEF)}
    named = {s["id"]: s for s in rec["rows"]}
    left_out = {s["id"]: s["why"] for s in rec["left_out"]}
    if set(named) & set(left_out) or set(named) | set(left_out) != set(record):
        raise SystemExit("assumptions: every record row must be either an instance row or left out, once")
    facilities = {f["record_id"]: f for f in read_csv(INSTANCE / "facilities.csv") if f["record_id"]}
    base = solve(INSTANCE / "instance.toml")
    without = {rule: solve(relaxed_instance(work / f"without-{rule}", rule)) for rule in RELAXATIONS}
    base["without"] = {rule: sol["objective"] for rule, sol in without.items()}
    rows = []
    for rid, r in record.items():
        row = {
            "record_id": rid,
            "name": r["name_en"],
            "type": r["type"],
            "announced_destination": r["instance_site"] or "(several)",
            "announced_place": r["destination_place"],
            "announced_dates": announced_dates(r),
        }
        if rid in left_out:
            rows.append({**row, "in_instance": "no", "note": left_out[rid]})
            continue
        f = facilities[rid]
        plan = plan_of(base, f["id"])
        dest, period = where(plan)
        to_announced = sum(u for d, _, u in plan if d == r["instance_site"])
        agree = "yes" if math.isclose(to_announced, 1.0) else ("partly" if to_announced > 1e-9 else "no")
        shaping = [f"{rule} (without it: {where(plan_of(sol, f['id']))[0]})"
                   for rule, sol in without.items() if where(plan_of(sol, f["id"]))[0] != dest]
        row.update({
            "in_instance": "yes",
            "facility": f["id"],
            "window": f["earliest"] if f["earliest"] == f["latest"] else f"{f['earliest']}..{f['latest']}",
            "model_destination": dest,
            "model_period": period,
            "agree": agree,
            "rules_shaping_choice": "; ".join(shaping),
            "note": f["basis"],
        })
        if agree != "yes":
            folder = work / rid
            forced = solve(forced_instance(folder, f["id"], r["instance_site"]))
            forced_period = where(plan_of(forced, f["id"]))[1]
            deltas = {t: forced["components"][t] - base["components"][t] for t in TERMS}
            row.update({
                "extra_cost": fmt(forced["objective"] - base["objective"]),
                **{t: fmt(v) for t, v in deltas.items()},
                "driving_term": max(deltas, key=lambda t: deltas[t]),
                "note": f"{f['basis']}; forced: moves in {forced_period}",
            })
        rows.append(row)
    rows.sort(key=lambda x: (x["in_instance"] != "yes", x["type"], x["record_id"]))
    return rows, base


def markdown(rows: list[dict], base: dict) -> str:
    L = [
        "# jingjinji-2035 on the record: the plan against Beijing's announced relocations",
        "",
        "Generated by `python instances/china/record.py` from `instances/jingjinji-2035-phased`",
        "and `data/china/beijing_relief/facilities.csv`; do not edit by hand. Reading: the",
        "flagship section of `instances/china/README.md`.",
        "",
        f"Plan: `jingjinji-2035-phased` solved to a relative gap of {GAP:g} on one thread (seed 0):",
        f"objective {base['objective']:,.3f} CNY million. Each named row must move, in the window the",
        "record dates it to; its destination is the model's choice. Where the model's choice differs",
        "from the announced one, the instance is re-solved with that row allowed only its announced",
        "destination: *extra cost* is the objective difference (CNY million), split into its terms",
        "(relocation, operating, access, sites; every other row may re-plan). *Rules shaping the",
        "choice*: the synthetic policy rules without which the model would send the row elsewhere (the",
        "instance re-solved once without each: "
        + "; ".join(f"without {rule} the objective is {obj:,.3f}" for rule, obj in base["without"].items()) + ").",
        "",
        "## Relocations that are rows of the instance",
        "",
        "| record row | announced | model (period) | agree | extra cost | relocation | operating | access | sites | driving term | rules shaping the choice |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        if r["in_instance"] != "yes":
            continue
        L.append(
            f"| {r['record_id']} | {r['announced_destination']} ({r['window']}) | {r['model_destination']} "
            f"({r['model_period']}) | {r['agree']} | {r.get('extra_cost', '')} | {r.get('relocation', '')} | "
            f"{r.get('operating', '')} | {r.get('access', '')} | {r.get('sites', '')} | {r.get('driving_term', '')} | "
            f"{r.get('rules_shaping_choice', '')} |"
        )
    L += ["", "## Relocations on the record that are not rows of the instance", "",
          "| record row | type | announced destination | dates | why not a row |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        if r["in_instance"] == "yes":
            continue
        L.append(f"| {r['record_id']} | {r['type']} | {r['announced_destination']} | {r['announced_dates']} | {r['note']} |")
    return "\n".join(L) + "\n"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="folder of record.csv and record.md")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        rows, base = build_table(Path(work))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "record.csv", buf.getvalue())
    write_atomic(args.out / "record.md", markdown(rows, base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
