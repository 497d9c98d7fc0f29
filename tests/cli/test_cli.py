"""The command line, run in-process: exit codes, files written, messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import write_manifest

from spatialopt.cli import main

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(TUTORIAL))
    assert code == 0 and "valid" in out


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {
        "instance": {"name": "bad"},
        "types": [{"id": "m", "max_km": -1.0}],
        "sources": [{"city": "s", "target_reduction": 1}],
        "cities": [{"id": "s", "lon": 1.0, "lat": 1.0}, {"id": "a", "lon": 999.0, "lat": 1.0}],
        "facilities": [{"id": "f", "origin": "s", "type": "m", "jobs": 1}],
    }
    code, out, err = run(capsys, "validate", str(write_manifest(tmp_path, data)))
    assert code == 2
    assert "instance.toml: 2 problems" in err
    assert "max_km=-1.0, expected a number >= 0" in err
    assert "[[cities]] #2 (id 'a'): lon=999.0, expected a number in [-180, 180]" in err
    assert "Traceback" not in err + out


def test_solve_writes_result_folder_and_check_accepts_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "tut"
    code, out, _ = run(capsys, "solve", str(TUTORIAL), "--out", str(out_dir), "--gap", "1e-9")
    assert code == 0
    assert "tutorial: optimal" in out and "beijing-core" in out
    expected = {"solution.json", "assignments.csv", "sources.csv", "destinations.csv", "sites.csv", "flows.geojson", "run.json"}
    assert expected <= {p.name for p in out_dir.iterdir()}
    solution = json.loads((out_dir / "solution.json").read_text())
    assert solution["status"] == "optimal" and solution["solver"]["options"]["mip_rel_gap"] == 1e-9
    flows = json.loads((out_dir / "flows.geojson").read_text())
    assert len(flows["features"]) == len(solution["assignments"])
    code, out, _ = run(capsys, "check", str(TUTORIAL), str(out_dir))
    assert code == 0 and "valid" in out


def test_check_rejects_a_corrupted_solution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "tut"
    assert run(capsys, "solve", str(TUTORIAL), "--out", str(out_dir))[0] == 0
    path = out_dir / "solution.json"
    solution = json.loads(path.read_text())
    solution["assignments"][0]["units"] += 1  # more units than exist, and the objective no longer matches
    path.write_text(json.dumps(solution))
    code, out, _ = run(capsys, "check", str(TUTORIAL), str(path))
    assert code == 1
    assert "assign" in out and "objective" in out


def test_second_run_never_overwrites_the_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "tut"
    assert run(capsys, "solve", str(TUTORIAL), "--out", str(out_dir))[0] == 0
    first = (out_dir / "solution.json").read_bytes()
    code, _, err = run(capsys, "solve", str(TUTORIAL), "--out", str(out_dir))  # refused: a script reads DIR
    assert code == 2 and "--rename" in err and not (tmp_path / "tut-2").exists()
    code, _, err = run(capsys, "solve", str(TUTORIAL), "--out", str(out_dir), "--rename")
    assert code == 0 and "holds an earlier run" in err
    assert (out_dir / "solution.json").read_bytes() == first
    assert (tmp_path / "tut-2" / "solution.json").is_file()
    code, _, _ = run(capsys, "solve", str(TUTORIAL), "--out", str(out_dir), "--force")
    assert code == 0 and not (tmp_path / "tut-3").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging leftovers


def test_infeasible_exits_3_and_still_writes_the_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "inst"
    shutil.copytree(TUTORIAL.parent, folder)
    manifest = folder / "instance.toml"
    manifest.write_text(manifest.read_text().replace("target_reduction = 60_000", "target_reduction = 6_000_000"))
    code, out, _ = run(capsys, "solve", str(manifest), "--out", str(tmp_path / "res"))
    assert code == 3 and "infeasible" in out
    record = json.loads((tmp_path / "res" / "solution.json").read_text())
    assert record["status"] == "infeasible" and record["objective"] is None


def test_limit_before_any_solution_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "nodes.toml"
    profile.write_text("[highs]\nmip_max_nodes = 0\n")
    code, out, _ = run(capsys, "solve", str(TUTORIAL), "--out", str(tmp_path / "r"), "--profile", str(profile),
                       "--no-start")  # a starting plan would be a plan before any node
    assert code == 4 and "limit_no_solution" in out


def test_info(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", str(TUTORIAL))
    assert code == 0
    assert "eligible arcs: 79" in out and "manufacturing: 3 rows" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["solve"],
        ["solve", str(TUTORIAL), "--gap", "2"],
        ["solve", str(TUTORIAL), "--threads", "-1"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and "error" in err


def test_missing_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "solve", str(tmp_path / "nope.toml"))
    assert code == 2 and "file not found" in err
    code, _, err = run(capsys, "check", str(TUTORIAL), str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in err


def test_unknown_profile_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "solve", str(TUTORIAL), "--profile", "nope", "--out", str(tmp_path / "r"))
    assert code == 2 and "available: default, exact, quick" in err


def test_convert_then_solve_reproduces_a_published_optimum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """gap1-1 maximisation: OR-Library gapinfo publishes 336; the model minimises -profit."""
    code, out, _ = run(capsys, "convert", "orlib-gap", str(ROOT / "instances/orlib/gap/gap1.txt"),
                       "--out", str(tmp_path / "g"), "--problem", "1", "--sense", "max")
    assert code == 0 and "instance.toml" in out
    code, _, _ = run(capsys, "solve", str(tmp_path / "g" / "instance.toml"), "--out", str(tmp_path / "r"), "--profile", "exact")
    assert code == 0
    assert json.loads((tmp_path / "r" / "solution.json").read_text())["objective"] == pytest.approx(-336)


def test_convert_bad_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 x")
    code, _, err = run(capsys, "convert", "orlib-pmed", str(bad), "--out", str(tmp_path / "o"))
    assert code == 2 and "bad.txt" in err


def test_bench_known_optima_reports_and_fails_on_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "bench", "known-optima", "--family", "hand")
    assert code == 0 and "4 instances, 0 mismatch(es)" in out
    registry = (ROOT / "results" / "known_optima.csv").read_text().splitlines()
    wrong = [line.replace(",min,14,", ",min,15,") if line.startswith("hand-site-choice") else line for line in registry]
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "known_optima.csv").write_text("\n".join(wrong) + "\n")
    for sub in ("instances",):
        (tmp_path / sub).symlink_to(ROOT / sub)
    code, out, _ = run(capsys, "bench", "known-optima", "--only", "hand-site-choice",
                       "--registry", str(tmp_path / "results" / "known_optima.csv"))
    assert code == 1 and "MISMATCH" in out and "1 mismatch(es)" in out


def test_python_api_gives_tables_and_geometries(tmp_path: Path) -> None:
    import spatialopt

    result = spatialopt.solve(spatialopt.load(TUTORIAL))
    flows = result.flows
    assert flows.crs.to_epsg() == 4326 and len(flows) == len(result.assignments)
    dest = result.destinations
    assert dest["residents_received"].sum() == pytest.approx(result.sources["moved_residents"].sum())
    assert {"residents_hospital", "jobs_hospital", "use_beds", "cap_beds", "sites"} <= set(dest.columns)
    written = result.write(tmp_path / "api")
    assert (written / "solution.json").is_file()


def planted(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "inst"
    shutil.copytree(TUTORIAL.parent, folder)
    manifest = folder / "instance.toml"
    text = manifest.read_text()
    assert old in text
    manifest.write_text(text.replace(old, new))
    return manifest


def test_validate_reports_counting_proofs_with_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = planted(tmp_path, "budget = 3000.0", "budget = 300.0")
    code, out, _ = run(capsys, "validate", str(manifest))
    assert code == 3
    assert "budget 300.00 CNY million, but meeting the must-move facilities" in out


def test_infeasible_solve_explains_itself(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = planted(tmp_path, "max_destination_share = 0.45", "max_destination_share = 0.05")
    code, out, _ = run(capsys, "solve", str(manifest), "--out", str(tmp_path / "r"))
    assert code == 3
    assert "raise max_destination_share from 0.05 to at least" in out
    reasons = json.loads((tmp_path / "r" / "run.json").read_text())["reasons"]
    assert any("max_destination_share" in r for r in reasons)
    code, out, _ = run(capsys, "diagnose", str(manifest), "--time-limit", "30")
    assert code == 3 and "raise max_destination_share" in out
    code, out, _ = run(capsys, "diagnose", str(TUTORIAL))
    assert code == 0 and "feasible plan as it stands" in out


@pytest.mark.parametrize(
    ("policy", "named"),
    [
        ({"min_region_share": {"west": 0.1}}, ["moved_jobs"]),
        ({"max_destination_share": 0.9}, ["moved_residents"]),
        ({"max_destination_share": 0.9, "min_region_share": {"west": 0.1}}, ["moved_residents", "moved_jobs"]),
    ],
)
def test_export_names_the_auxiliary_totals_by_the_share_that_needs_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: dict[str, object], named: list[str]
) -> None:
    """A region share alone adds moved_jobs (spec §4 (11)), a destination share moved_residents (10)."""
    data = {
        "instance": {"name": "aux"},
        "types": [{"id": "t"}],
        "resources": [{"id": "res", "use": "residents", "cap": "cap_res"}],
        "sources": [{"city": "s", "target_reduction": 50}],
        "cities": [
            {"id": "s", "lon": 116.0, "lat": 40.0, "region": "east", "cap_res": 10**6},
            {"id": "a", "lon": 117.0, "lat": 40.0, "region": "east", "cap_res": 1000},
            {"id": "b", "lon": 116.0, "lat": 41.0, "region": "west", "cap_res": 1000},
        ],
        "facilities": [{"id": "f1", "origin": "s", "type": "t", "jobs": 100}],
        "policy": policy,
    }
    manifest = write_manifest(tmp_path, data)
    lp = tmp_path / "aux.lp"
    code, _, _ = run(capsys, "export", str(manifest), "--lp", str(lp))
    assert code == 0
    text = lp.read_text()
    for name in ("moved_residents", "moved_jobs"):
        assert (name in text) == (name in named), name


def test_export_writes_the_specs_rows_without_strengthening(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A solve adds cover rows by default (docs/extensions.md); export gives other solvers the spec's model only."""
    from spatialopt.derive import derive
    from spatialopt.matrix import build_matrices
    from spatialopt.validate import load_instance

    manifest = ROOT / "instances" / "jingjinji-2035" / "instance.toml"
    instance = load_instance(manifest)
    assert any(name.startswith("cover_") for name in build_matrices(instance, derive(instance)).family_rows)
    lp = tmp_path / "m.lp"
    assert main(["export", str(manifest), "--lp", str(lp)]) == 0
    text = lp.read_text(encoding="utf-8")
    assert "site_link_0" in text and "cover_" not in text



def test_the_starting_plan_is_shown_once() -> None:
    """The heuristic's plan is the first line; HiGHS announcing that start again adds none; later plans do."""
    import io
    import math

    from spatialopt.cli import _incumbent_printer

    stream = io.StringIO()
    show = _incumbent_printer(stream)
    show({"objective": 100.0, "bound": math.nan, "gap": math.nan, "seconds": 0.1})   # the starting plan
    show({"objective": 100.0, "bound": -math.inf, "gap": math.inf, "seconds": 0.2})  # HiGHS: the same start
    show({"objective": 90.0, "bound": 80.0, "gap": 0.111, "seconds": 0.5})          # a better plan
    lines = stream.getvalue().splitlines()
    assert lines == ["      0.1 s  plan 100.000  bound n/a (starting plan)  gap n/a",
                     "      0.5 s  plan 90.000  bound 80.000  gap 11.10%"]
