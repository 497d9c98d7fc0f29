"""Output safety (issue 11, items 1, 2, 5, 8, 10 and 13's folder mode): nothing destroyed, nothing misplaced.

Each test reproduces a probe that failed before: it runs the real command line
(``spatialopt.cli.main`` in-process, or ``python -m spatialopt.cli`` where two
processes or another user are needed), and asserts the exit code, the message,
and that no file outside the result folder changed (a snapshot of the tree
before and after). Expected values come from the rules in
``spatialopt.destinations`` and the README's "results" section.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from spatialopt.cli import main

ROOT = Path(__file__).parents[2]
BUDGET = ROOT / "instances" / "hand" / "budget.toml"  # one facility, two destinations: solves in milliseconds
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"
STARTED = ("solving", "sweeping", "tracing")  # the first line each command prints once it starts the work


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(root: Path, *skip: Path) -> dict[str, tuple[str, str]]:
    """Every entry under ``root`` (``skip`` folders left out): its kind and, for a file, its bytes' hash."""
    skipped = {p.resolve() for p in skip}
    entries: dict[str, tuple[str, str]] = {}

    def walk(folder: Path) -> Iterator[Path]:
        for entry in sorted(folder.iterdir()):
            if entry.resolve() in skipped:
                continue
            yield entry
            if entry.is_dir() and not entry.is_symlink():
                yield from walk(entry)

    for entry in walk(root):
        mode = entry.lstat().st_mode
        if stat.S_ISREG(mode):
            entries[str(entry.relative_to(root))] = ("file", hashlib.sha256(entry.read_bytes()).hexdigest())
        else:
            entries[str(entry.relative_to(root))] = ("dir" if stat.S_ISDIR(mode) else "other", oct(mode))
    return entries


def hidden(folder: Path) -> list[str]:
    """Staging or set-aside folders (and temporary files) left in ``folder``."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def named_instance(folder: Path, name: str) -> Path:
    """A copy of the hand-worked budget instance under another [instance] name."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "budget.toml"
    text = BUDGET.read_text(encoding="utf-8")
    assert 'name = "hand-budget"' in text
    manifest.write_text(text.replace('name = "hand-budget"', f"name = {name!r}".replace("'", '"')), encoding="utf-8")
    return manifest


# -- 1. --force replaces only what spatialopt wrote -------------------------------------------
def test_force_refuses_the_instance_folder_being_solved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Probe: ``solve X/instance.toml --out X --force`` deleted the instance."""
    shutil.copytree(TUTORIAL.parent, tmp_path / "X")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "solve", tmp_path / "X" / "instance.toml", "--out", tmp_path / "X", "--force")
    assert code == 2
    assert "--force refused: it is not a result folder that 'spatialopt solve' wrote" in err
    assert not any(word in err for word in STARTED)  # refused before the solve
    assert snapshot(tmp_path) == before


def test_force_refuses_a_result_folder_holding_other_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    assert run(capsys, "solve", BUDGET, "--out", out)[0] == 0
    (out / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "solve", BUDGET, "--out", out, "--force")
    assert code == 2 and "it holds what spatialopt does not write there (notes.txt)" in err
    assert snapshot(tmp_path) == before


def test_force_replaces_a_result_folder_and_leaves_nothing_behind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    assert run(capsys, "solve", BUDGET, "--out", out)[0] == 0
    (out / "solution.json").write_text((out / "solution.json").read_text().replace('"status"', '"status" ', 1))
    marked = (out / "solution.json").read_bytes()
    code, stdout, _ = run(capsys, "solve", BUDGET, "--out", out, "--force")
    assert code == 0 and f"wrote {out}/" in stdout
    assert (out / "solution.json").read_bytes() != marked  # replaced by the new run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no r-2, no .old, no staging


@pytest.mark.parametrize("command", ["sweep", "pareto"])
def test_sweep_and_pareto_force_refuse_a_folder_of_another_kind(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sweep or Pareto folder may only replace its own kind: here a solve's result folder."""
    result = tmp_path / "r"
    assert run(capsys, "solve", BUDGET, "--out", result)[0] == 0
    scenarios = tmp_path / "study.toml"
    scenarios.write_text('[[scenarios]]\nname = "half"\nscale = { "policy.budget" = 0.5 }\n')
    before = snapshot(tmp_path)
    extra = [scenarios] if command == "sweep" else ["--points", "2"]
    code, _, err = run(capsys, command, BUDGET, *extra, "--out", result, "--force", "--workers", "1")
    label = "sweep folder that 'spatialopt sweep'" if command == "sweep" else "Pareto folder that 'spatialopt pareto'"
    assert code == 2 and f"--force refused: it is not a {label} wrote" in err
    assert not any(word in err for word in STARTED)
    assert snapshot(tmp_path) == before


def test_sweep_force_replaces_its_own_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenarios = tmp_path / "study.toml"
    scenarios.write_text('[[scenarios]]\nname = "half"\nscale = { "policy.budget" = 0.5 }\n')
    out = tmp_path / "s"
    assert run(capsys, "sweep", BUDGET, scenarios, "--out", out, "--workers", "1")[0] in (0, 3)
    code, stdout, _ = run(capsys, "sweep", BUDGET, scenarios, "--out", out, "--workers", "1", "--force")
    assert code in (0, 3) and f"wrote {out}/" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s", "study.toml"]
    assert {p.name for p in out.iterdir()} == {"base", "half", "comparison.csv", "sweep.json"}


# -- 2. the instance name does not steer the path ------------------------------------------------
@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_a_dotted_name_stays_under_results(tmp_path: Path, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Probe: name = "../../victim" with --force deleted a folder outside results/."""
    manifest = named_instance(tmp_path / "inst", "../../victim")
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "precious.txt").write_text("keep me")
    before = snapshot(tmp_path, workdir)
    code, stdout, err = run(capsys, "solve", manifest, "--force")
    assert code == 0
    assert "not a safe folder name; writing under results/victim" in err
    assert "wrote results/victim/" in stdout and (workdir / "results" / "victim" / "solution.json").is_file()
    assert snapshot(tmp_path, workdir) == before


def test_an_absolute_name_stays_under_results(tmp_path: Path, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Probe: name = "/abs/elsewhere" wrote to that absolute path."""
    elsewhere = tmp_path / "elsewhere"
    manifest = named_instance(tmp_path / "inst", str(elsewhere))
    before = snapshot(tmp_path, workdir)
    code, _, _ = run(capsys, "solve", manifest)
    assert code == 0 and not elsewhere.exists()
    written = list((workdir / "results").iterdir())
    assert len(written) == 1 and (written[0] / "solution.json").is_file()
    assert written[0].name.endswith("elsewhere") and "/" not in written[0].name
    assert snapshot(tmp_path, workdir) == before


def test_a_300_character_name_gives_a_bounded_folder(tmp_path: Path, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Probe: a 300-character name failed after the solve with "File name too long" (exit 1)."""
    manifest = named_instance(tmp_path / "inst", "n" * 300)
    before = snapshot(tmp_path, workdir)
    code, stdout, err = run(capsys, "solve", manifest)
    assert code == 0 and "is not a safe folder name" in err
    written = workdir / "results" / ("n" * 80)  # destinations.MAX_SLUG_CHARS
    assert f"wrote results/{written.name}/" in stdout and (written / "solution.json").is_file()
    assert [p.name for p in (workdir / "results").iterdir()] == [written.name]
    assert snapshot(tmp_path, workdir) == before


# -- 5. concurrent runs to one --out --------------------------------------------------------------
def test_two_writers_racing_for_one_folder_both_keep_their_result(tmp_path: Path) -> None:
    """Probe: two solves started together both said "wrote DIR/"; one result was gone.

    Both finish their staging folder before either places it (a barrier), the
    moment the old check-then-replace lost one.
    """
    from spatialopt.destinations import RESULT
    from spatialopt.output import write_folder

    out = tmp_path / "r"
    barrier = threading.Barrier(2)
    written: dict[str, Path] = {}

    def writer(tag: str) -> None:
        def fill(folder: Path) -> None:
            (folder / "solution.json").write_text(tag)
            barrier.wait(timeout=30)

        written[tag] = write_folder(out, fill, RESULT)

    threads = [threading.Thread(target=writer, args=(tag,)) for tag in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert {written["first"], written["second"]} == {out, tmp_path / "r-2"}
    for tag, folder in written.items():
        assert (folder / "solution.json").read_text() == tag
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r", "r-2"]


def test_two_solve_processes_to_one_out_write_two_folders(tmp_path: Path) -> None:
    out = tmp_path / "r"
    command = [sys.executable, "-m", "spatialopt.cli", "solve", str(BUDGET), "--out", str(out), "--rename"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in runs]
    assert [p.returncode for p in runs] == [0, 0]
    wrote = sorted(line for stdout, _ in outputs for line in stdout.splitlines() if line.startswith("wrote "))
    assert wrote == [f"wrote {out}-2/", f"wrote {out}/"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r", "r-2"]
    assert all((tmp_path / name / "solution.json").is_file() for name in ("r", "r-2"))


# -- 8. a bad --out is refused before the solve ---------------------------------------------------
def test_out_at_an_existing_file_is_refused_before_the_solve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Probe: --out at a file ended in "internal error", exit 1, after the solve (the plan lost)."""
    target = tmp_path / "plan.txt"
    target.write_text("not a folder")
    before = snapshot(tmp_path)
    for force in ([], ["--force"]):
        code, _, err = run(capsys, "solve", BUDGET, "--out", target, *force)
        assert code == 2 and f"--out {target} is an existing file; a result folder must be a folder" in err
        assert not any(word in err for word in STARTED)
        assert snapshot(tmp_path) == before  # and --force left no hidden .old-PID behind


def test_out_at_the_root_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for force in ([], ["--force"]):
        code, _, err = run(capsys, "solve", BUDGET, "--out", "/", *force)
        assert code == 2 and "--out /: a filesystem root cannot be a result folder" in err


def test_out_under_a_file_or_with_an_overlong_name_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "solve", BUDGET, "--out", tmp_path / "file" / "r")
    assert code == 2 and f"{tmp_path / 'file'} is a file, not a folder" in err
    code, _, err = run(capsys, "solve", BUDGET, "--out", tmp_path / ("a" * 300))
    assert code == 2 and "a name in the path is 300 bytes long; the limit is 243" in err
    assert snapshot(tmp_path) == before


def test_out_under_a_read_only_folder_is_refused_before_the_solve(tmp_path: Path) -> None:
    """Probe: --out under a read-only folder ended in "internal error", exit 1, after the solve.

    Root writes anywhere, so as root the command runs without the capabilities
    that bypass file permissions (util-linux ``setpriv``).
    """
    drop: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: a read-only folder cannot be made")
        caps = "-dac_override,-dac_read_search"
        drop = ["setpriv", "--bounding-set", caps, "--inh-caps", caps]
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        before = snapshot(tmp_path)
        command = [*drop, sys.executable, "-m", "spatialopt.cli", "solve", str(BUDGET), "--out", str(locked / "r")]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 2, done.stderr
        assert f"--out {locked / 'r'}: cannot create anything in {locked} (no write permission" in done.stderr
        assert "solving" not in done.stderr and "Traceback" not in done.stderr
        assert snapshot(tmp_path) == before
    finally:
        locked.chmod(0o755)


# -- 10. report never overwrites without --force ----------------------------------------------------
def test_report_refuses_to_overwrite_then_replaces_with_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Probe: ``report R --out dir/x.html`` replaced x.html and flows.png/svg, plan.gpkg there."""
    result = tmp_path / "r"
    assert run(capsys, "solve", BUDGET, "--out", result)[0] == 0
    committee = tmp_path / "committee"
    committee.mkdir()
    (committee / "x.html").write_text("<p>the committee's own page</p>")
    (committee / "flows.png").write_bytes(b"their picture")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "report", result, "--out", committee / "x.html")
    assert code == 2
    assert f"{committee / 'x.html'}, {committee / 'flows.png'} already exist; use --force to replace" in err
    assert snapshot(tmp_path) == before
    code, stdout, _ = run(capsys, "report", result, "--out", committee / "x.html", "--force")
    assert code == 0 and f"wrote {committee / 'x.html'}" in stdout
    assert "Relocation plan: hand-budget" in (committee / "x.html").read_text(encoding="utf-8")
    assert (committee / "flows.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in committee.iterdir()) == ["flows.png", "flows.svg", "plan.gpkg", "x.html"]
    assert snapshot(tmp_path, committee) == {k: v for k, v in before.items() if not k.startswith("committee")}


def test_second_default_report_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = tmp_path / "r"
    assert run(capsys, "solve", BUDGET, "--out", result)[0] == 0
    assert run(capsys, "report", result)[0] == 0
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "report", result)
    assert code == 2 and f"report: {result / 'report.html'}, {result / 'flows.png'}" in err
    assert snapshot(tmp_path) == before
    assert not hidden(result)


# -- 13. folder permissions follow the umask ------------------------------------------------------
def test_result_folder_mode_follows_the_umask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Probe: result folders were created 0700 (tempfile.mkdtemp), whatever the umask."""
    previous = os.umask(0o022)
    try:
        assert run(capsys, "solve", BUDGET, "--out", tmp_path / "r")[0] == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "r").stat().st_mode) == 0o755  # 0o777 & ~0o022
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
