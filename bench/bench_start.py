"""Starting plans, measured: time to the first plan and to a proven 1% and 1e-4 gap, with and without a start.

Each instance is derived and built once, then solved by HiGHS (one thread,
``mip_rel_gap`` 1e-4, the same time limit) in the same run, three ways:

- ``none``: HiGHS alone;
- ``greedy``: the construction heuristic's plan (:func:`spatialopt.heuristic.construct_start`)
  handed over as HiGHS's starting solution;
- ``refined``: that plan improved part by part (:func:`spatialopt.start.refine_start`:
  per city cluster for a national instance, per period for a phased one), then handed over;
  only where :func:`spatialopt.start.refinement_for` names a refinement.

Times count from the built model: a start's own seconds are included. The
gap over time is read from HiGHS's MIP callbacks. Ratios are
``none / with start`` (above 1: the start helps); ``-`` where a run did not
get there within the limit.

    python bench/bench_start.py                      # shipped instances + a seeded 3,000 x 400
    python bench/bench_start.py --time-limit 120 instances/china-2035/instance.toml
"""

from __future__ import annotations

import argparse
import glob
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import spatialopt
from spatialopt.derive import derive
from spatialopt.heuristic import construct_start
from spatialopt.matrix import build_matrices
from spatialopt.session import HighsSession
from spatialopt.start import refine_start, refinement_for

sys.path.insert(0, str(Path(__file__).parent))
from scale_instance import generate, write

GAPS = (1e-2, 1e-4)


def timed_solve(matrices: Any, values: np.ndarray | None, offset: float, time_limit: float) -> dict[str, Any]:
    """HiGHS on ``matrices`` (from ``values`` when given): seconds to the first plan and to each gap, plus ``offset``."""
    session = HighsSession(matrices, {"threads": 1, "mip_rel_gap": 1e-4, "time_limit": time_limit})
    seen: dict[str, float] = {}

    def watch(event: Any) -> None:
        out = event.data_out
        t = offset + float(out.running_time)
        if math.isfinite(out.mip_primal_bound) and out.mip_primal_bound < 1e300:
            seen.setdefault("first", t)
            for gap in GAPS:
                if out.mip_gap <= gap:
                    seen.setdefault(f"{gap:g}", t)

    session.highs.cbMipInterrupt += watch
    session.highs.cbMipImprovingSolution += watch
    if values is not None:
        session.set_start(values)
    run = session.run()
    if run.status.name == "OPTIMAL":
        for gap in GAPS:
            seen.setdefault(f"{gap:g}", offset + run.seconds)
    if values is not None:
        seen["first"] = offset  # the start itself is the first plan
    return {**seen, "objective": run.objective, "status": run.status.value, "total": offset + run.seconds}


def bench(path: str, time_limit: float) -> list[dict[str, Any]]:
    instance = spatialopt.load(path)
    derived = derive(instance)
    matrices = build_matrices(instance, derived)
    rows = [{"mode": "none", **timed_solve(matrices, None, 0.0, time_limit)}]
    start = construct_start(instance, derived, matrices)
    if start is None:
        rows.append({"mode": "greedy", "status": "no start"})
        return rows
    rows.append({"mode": "greedy", "start": start.objective, "start_s": start.seconds,
                 **timed_solve(matrices, start.values, start.seconds, time_limit)})
    by = refinement_for(instance)
    if by is not None:
        refined = refine_start(instance, derived, matrices, start, by=by, seconds=10.0)
        rows.append({"mode": f"refined ({by})", "start": refined.objective, "start_s": refined.seconds,
                     **timed_solve(matrices, refined.values, refined.seconds, time_limit)})
    return rows


def _s(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}" if isinstance(value, float) else str(value)


def _ratio(base: Any, value: Any) -> str:
    return "-" if base is None or value is None or value <= 0 else f"{base / value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", nargs="*", help="manifests (default: instances/*/instance.toml and a "
                        "seeded generated 3,000 x 400)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per HiGHS run (default 60)")
    parser.add_argument("--no-scale", action="store_true", help="leave out the generated 3,000 x 400 instance")
    args = parser.parse_args(argv)
    paths = args.instances or sorted(glob.glob("instances/*/instance.toml"))
    with tempfile.TemporaryDirectory() as tmp:
        if not args.instances and not args.no_scale:
            paths.append(str(write(generate(3000, 400), Path(tmp) / "scale-3000x400")))
        print(f"| instance | mode | start objective | objective | status | first plan s | 1% s | 1e-4 s | "
              f"ratio first | ratio 1% | ratio 1e-4 |  (threads=1, limit {args.time_limit:g} s)")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for path in paths:
            began = time.perf_counter()
            rows = bench(path, args.time_limit)
            base = rows[0]
            name = Path(path).parent.name
            for row in rows:
                print(f"| {name} | {row['mode']} | {_s(row.get('start'))} | {_s(row.get('objective'))} | "
                      f"{row.get('status')} | {_s(row.get('first'))} | {_s(row.get('0.01'))} | "
                      f"{_s(row.get('0.0001'))} | {_ratio(base.get('first'), row.get('first'))} | "
                      f"{_ratio(base.get('0.01'), row.get('0.01'))} | {_ratio(base.get('0.0001'), row.get('0.0001'))} |",
                      flush=True)
            print(f"<!-- {name}: {time.perf_counter() - began:.0f} s -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
