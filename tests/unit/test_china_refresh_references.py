"""instances/china/refresh_references.py re-solves reference folders (results/README.md).

The commands it runs are the README's (single-period: gap 1e-6; phased: gap 1e-4 and
a 1500 s limit; one thread, seed 0), it refreshes existing folders only, and a
refresh of the flagship (about a second) reproduces the committed reference's
objective and file set, leaves out the flow GeoJSON and leaves other files alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import load_script

import spatialopt

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "results" / "reference"


def _script():
    return load_script(ROOT / "instances" / "china" / "refresh_references.py", "china_refresh_references")


def test_the_commands_are_the_readmes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("china-2035", "chengyu-2035-phased"):
        (tmp_path / name).mkdir()
    assert _script().main(["--reference-dir", str(tmp_path), "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"spatialopt solve instances/chengyu-2035-phased/instance.toml --out {tmp_path.as_posix()}/chengyu-2035-phased"
        " --force --gap 1e-4 --time-limit 1500 --threads 1 --seed 0",
        f"spatialopt solve instances/china-2035/instance.toml --out {tmp_path.as_posix()}/china-2035"
        " --force --gap 1e-6 --threads 1 --seed 0",
    ]
    readme = (ROOT / "results" / "README.md").read_text(encoding="utf-8")
    assert "--gap 1e-6 --threads 1 --seed 0" in readme and "--gap 1e-4 --time-limit 1500" in readme


def test_a_missing_folder_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _script().main(["--reference-dir", str(tmp_path), "china-2035-phased"]) == 2
    assert "no reference folder" in capsys.readouterr().err
    assert not (tmp_path / "china-2035-phased").exists()


def test_refreshing_the_flagship_reproduces_its_reference(tmp_path: Path) -> None:
    folder = tmp_path / "jingjinji-2035"
    shutil.copytree(REFERENCE / "jingjinji-2035", folder)
    before = sorted(p.name for p in folder.iterdir())
    committed = json.loads((folder / "solution.json").read_text(encoding="utf-8"))
    (folder / "solution.json").write_text("{}", encoding="utf-8")  # must be replaced
    (folder / "notes.txt").write_text("kept", encoding="utf-8")  # not the script's: left alone
    assert _script().main(["--reference-dir", str(tmp_path), "jingjinji-2035"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted([*before, "notes.txt"])
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "kept"
    fresh = json.loads((folder / "solution.json").read_text(encoding="utf-8"))
    instance = spatialopt.load(ROOT / "instances" / "jingjinji-2035" / "instance.toml")
    assert fresh["status"] == "optimal" and fresh["instance_sha256"] == instance.sha256
    assert fresh["objective"] == pytest.approx(committed["objective"], rel=2e-6)
    assert (folder / "summary.txt").read_text(encoding="utf-8").rstrip().endswith(f"wrote {folder.as_posix()}/")
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["instance_path"] == "instances/jingjinji-2035/instance.toml"
