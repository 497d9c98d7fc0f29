"""bench/bench_solve.py keeps working: its quickest run on one tiny instance, and its verdicts.

The expected optimum of cap41 is OR-Library's published one
(instances/orlib/cap/optima.csv); the script must find it on both sides,
proven, and say so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import load_script

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "bench" / "bench_solve.py"


def _bench_solve():
    return load_script(SCRIPT, "bench_solve")


def _cells(table: str, name: str) -> dict[str, str]:
    head = next(line for line in table.splitlines() if line.startswith("| instance |"))
    row = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
    keys = [c.strip() for c in head.strip("|").split("|")]
    return dict(zip(keys, (c.strip() for c in row.strip("|").split("|")), strict=True))


def test_quick_run_on_cap41_proves_the_published_optimum_on_both_sides(tmp_path):
    out = tmp_path / "solve.md"
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--only", "cap41", "--time-limit", "60",
                          "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    table = out.read_text()
    assert table in run.stdout + "\n"  # printed and written alike
    cells = _cells(table, "cap41")
    assert cells["status default"] == cells["status plain"] == "optimal"
    assert cells["answer"] == "same, = published"
    for key in ("plan s default", "plan s plain", "1e-4 s default", "1e-4 s plain"):
        # reached, so a number (not "> s"); "*" when the gap was seen only with a plan (cap41's LP optimum is whole:
        # the LP first answers, and HiGHS never searches, so its bound is never sampled)
        assert float(cells[key].rstrip("*")) >= 0.0
    assert cells["1e-4 d/p"].endswith("x")
    assert "cap41 default" in run.stderr and "cap41 plain" in run.stderr  # progress lines


def test_without_compares_the_default_path_with_one_strengthening_off(tmp_path):
    """--without: the baseline side is the default path without that strengthening; both prove cap41's optimum."""
    out = tmp_path / "solve.md"
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--only", "cap41", "--time-limit", "60",
                          "--without", "cover_rows", "--seed", "1", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    table = out.read_text()
    assert "The `plain` side is the default path with `cover_rows` off" in table
    assert "seed 1" in table
    cells = _cells(table, "cap41")
    assert cells["status default"] == cells["status plain"] == "optimal"
    assert cells["answer"] == "same, = published"


def _usage_error(tmp_path, *arguments: str) -> str:
    """Run the script with ``arguments``: it must stop with exit 2 before writing its table; its stderr."""
    run = subprocess.run([sys.executable, str(SCRIPT), *arguments, "--out", str(tmp_path / "x.md")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert not (tmp_path / "x.md").exists()
    return run.stderr


def test_without_takes_only_a_strengthening_the_default_turns_on(tmp_path):
    stderr = _usage_error(tmp_path, "--without", "capacity_links")
    assert "--without takes a strengthening the default turns on: cover_rows" in stderr


def test_an_unknown_pattern_is_a_usage_error(tmp_path):
    assert "no instance matches no-such-instance" in _usage_error(tmp_path, "--only", "no-such-instance")


def test_verdicts_flag_different_answers_and_bound_unreached_ratios():
    bench = _bench_solve()
    cap41 = next(b for b in bench.registry() if b.name == "cap41")
    published = cap41.published  # 1040444.375 (OR-Library capopt)

    def side(objective, proven_at, seconds=10.0):
        return bench.Side(seconds=seconds, status="optimal" if proven_at else "feasible", objective=objective,
                          at_gap={1e-2: proven_at, 1e-4: proven_at})

    note, ok = bench.answer_cell(cap41, side(published, 1.0), side(published, 2.0))
    assert (note, ok) == ("same, = published", True)
    note, ok = bench.answer_cell(cap41, side(published * 1.01, 1.0), side(published, 2.0))
    assert not ok and note.startswith("DIFFERENT") and "default" in note and "not the published" in note
    # The plain side never got there in its 40 s: the default path's 4 s is under a tenth of it.
    assert bench.ratio_cell(4.0, None, side(published, 4.0), side(None, None, seconds=40.0)) == "< 0.10x"
    assert bench.ratio_cell(None, 5.0, side(None, None, seconds=50.0), side(published, 5.0)) == "> 10.00x"
    assert bench.relative_gap(100.0, 99.0) == 0.01


def test_the_sited_generated_instance_is_the_same_model_on_both_sides(tmp_path):
    """The plain arrays of a sited generated instance (bench_scale's numpy baseline) and spatialopt's spec
    model of its files have the same LP relaxation: the benchmark compares like with like."""
    import highspy
    import numpy as np

    import spatialopt
    from spatialopt.derive import derive
    from spatialopt.matrix import build_matrices
    from spatialopt.strong_rows import Strengthening

    _bench_solve()  # puts bench/ on the path
    from bench_scale import baseline_arrays
    from scale_instance import write
    from solve_instances import GENERATED, generated_data

    assert GENERATED["gen-3000x400-sited"] == (3000, 400, False, True)
    data = generated_data(200, 30, True)  # the rule of the 3,000 x 400 instance at a size an LP solves at once
    assert data.site_cost > 0 and data.target.sum() > 0
    plain = baseline_arrays(data)
    ours = build_matrices(instance := spatialopt.load(write(data, tmp_path / "sited")), derive(instance),
                          Strengthening.none())

    def lp(cost, lower, upper, row_lower, row_upper, start, index, value) -> float:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(cost.size, row_lower.size, value.size, int(highspy.MatrixFormat.kRowwise),
                    int(highspy.ObjSense.kMinimize), 0.0, cost, lower, upper, row_lower, row_upper,
                    start.astype(np.int32), index.astype(np.int32), value, np.zeros(cost.size, np.int32))
        h.run()
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        return h.getInfo().objective_function_value

    expected = lp(plain["cost"], plain["col_lower"], plain["col_upper"], plain["row_lower"], plain["row_upper"],
                  plain["start"], plain["index"], plain["value"])
    got = lp(ours.cost, ours.col_lower, ours.col_upper, ours.row_lower, ours.row_upper, ours.a_start[:ours.n_rows],
             ours.a_index, ours.a_value)
    assert abs(got - expected) <= 1e-7 * max(1.0, abs(expected))
