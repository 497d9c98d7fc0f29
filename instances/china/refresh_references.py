#!/usr/bin/env python3
"""Re-solve the reference results of the China instances: results/reference/<instance>/.

Run from the repository root, one solve at a time (minutes for the national
instance and for chengyu-2035-phased on one thread)::

    nice -n 10 python instances/china/refresh_references.py                 # every reference folder
    nice -n 10 python instances/china/refresh_references.py pearl-delta-2035 china-2035
    python instances/china/refresh_references.py --list                    # the commands, no solve

Each reference is ``spatialopt solve`` with the options results/README.md gives:
``--gap 1e-6 --threads 1 --seed 0``, and for a phased instance (spec v2)
``--gap 1e-4 --time-limit 1500 --threads 1 --seed 0``. The solve writes into a
temporary folder; only when it ends with a proven plan (status ``optimal``, gap
within the one asked for) are the files a reference folder keeps moved into
``results/reference/<instance>/``: ``solution.json``, ``run.json`` (its
``instance_path`` made repository-relative), the CSV views (``schedule.csv``
for a phased instance) and ``summary.txt``, the terminal summary, whose closing
line names the reference folder. The flow
GeoJSON is left out. A folder that does not exist yet is not created (a
reference is added by hand, once its instance can be proven), and a file in
the folder that the solve does not write is left alone.

Exit codes: 0 every reference refreshed (or listed), 2 bad usage (an instance
without a reference folder), 4 a solve ended without a proven plan (its
folder is left as it was; the others are still refreshed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "results" / "reference"
INSTANCES = ROOT / "instances"
SINGLE = ("--gap", "1e-6", "--threads", "1", "--seed", "0")
PHASED = ("--gap", "1e-4", "--time-limit", "1500", "--threads", "1", "--seed", "0")
KEPT = ("solution.json", "run.json", "assignments.csv", "clusters.csv", "destinations.csv",
        "regions.csv", "sites.csv", "sources.csv")
KEPT_PHASED = KEPT + ("schedule.csv",)


def is_phased(name: str) -> bool:
    """A phased instance (spec v2) declares plan periods."""
    with (INSTANCES / name / "instance.toml").open("rb") as fh:
        return bool(tomllib.load(fh).get("periods"))


def shown(path: Path) -> str:
    """A path as the README's command writes it: repository-relative where it can be."""
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def command(name: str, out: Path) -> list[str]:
    options = PHASED if is_phased(name) else SINGLE
    return ["spatialopt", "solve", f"instances/{name}/instance.toml", "--out", shown(out), "--force", *options]


def proven(solution: dict, gap: float) -> bool:
    return solution.get("status") == "optimal" and float(solution.get("gap", 1.0)) <= gap


def refresh(name: str, folder: Path) -> int:
    """Solve one instance and, if the plan is proven, replace the folder's files; 0 or 4."""
    beside = Path(sys.executable).parent / "spatialopt"  # the environment running this script
    exe = str(beside) if beside.is_file() else shutil.which("spatialopt")
    if exe is None:
        print("spatialopt is not on PATH (activate the environment it is installed in)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix=f"reference-{name}-") as tmp:
        staging = Path(tmp) / name
        cmd = command(name, staging)
        print("  " + " ".join(cmd), flush=True)
        run = subprocess.run([exe, *cmd[1:]], cwd=ROOT, capture_output=True, text=True)
        solution_path = staging / "solution.json"
        if run.returncode != 0 or not solution_path.is_file():
            print(f"{name}: the solve ended with exit code {run.returncode}; {shown(folder)} left as it was",
                  file=sys.stderr)
            sys.stderr.write(run.stderr[-2000:])
            return 4
        solution = json.loads(solution_path.read_text(encoding="utf-8"))
        gap = float(cmd[cmd.index("--gap") + 1])
        if not proven(solution, gap):
            print(f"{name}: status {solution.get('status')}, gap {solution.get('gap')} (asked for {gap}); "
                  f"{shown(folder)} left as it was", file=sys.stderr)
            return 4
        # run.json records where the instance was read from, absolute: keep it repository-relative
        run_path = staging / "run.json"
        record = json.loads(run_path.read_text(encoding="utf-8"))
        if record.get("instance_path"):
            record["instance_path"] = shown(Path(record["instance_path"]))
            run_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        summary = run.stdout.replace(f"wrote {shown(staging)}/", f"wrote {shown(folder)}/")
        (staging / "summary.txt").write_text(summary, encoding="utf-8")
        kept = KEPT_PHASED if solution.get("periods") or is_phased(name) else KEPT
        for file in (*kept, "summary.txt"):
            source = staging / file
            if not source.is_file():
                print(f"{name}: the solve did not write {file}; {shown(folder)} left as it was", file=sys.stderr)
                return 4
        for file in (*kept, "summary.txt"):
            # copy next to the target, then rename over it: a reader never sees half a file
            part = folder / f".{file}.part"
            shutil.copyfile(staging / file, part)
            os.replace(part, folder / file)
        # a plan proved before any search (the block pass, the root pass) has no "solve" timing
        timings = json.loads((staging / "run.json").read_text(encoding="utf-8"))["timings_seconds"]
        seconds = sum(timings.get(stage, 0.0) for stage in ("blocks", "root", "solve"))
        print(f"{name}: objective {solution['objective']:,.3f}, gap {float(solution['gap']):.1e}, "
              f"solver {seconds:.1f} s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("instances", nargs="*", help="instance names (default: every folder in the reference directory)")
    parser.add_argument("--reference-dir", type=Path, default=REFERENCE,
                        help="directory of the reference folders (default: results/reference)")
    parser.add_argument("--list", action="store_true", help="print the solve commands and stop")
    args = parser.parse_args(argv)
    base = args.reference_dir.resolve()
    if not base.is_dir():
        print(f"{args.reference_dir}: not a directory", file=sys.stderr)
        return 2
    names = args.instances or sorted(p.name for p in base.iterdir() if p.is_dir())
    for name in names:
        if not (base / name).is_dir():
            print(f"{name}: no reference folder {shown(base / name)} (a new reference is added by hand)",
                  file=sys.stderr)
            return 2
        if not (INSTANCES / name / "instance.toml").is_file():
            print(f"{name}: no instance instances/{name}/instance.toml", file=sys.stderr)
            return 2
    if args.list:
        for name in names:
            print(" ".join(command(name, base / name)))
        return 0
    worst = 0
    for name in names:
        worst = max(worst, refresh(name, base / name))
    return worst


if __name__ == "__main__":
    sys.exit(main())
