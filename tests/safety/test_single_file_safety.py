"""Single files a command writes where the user says (export --mps/--lp, diff --csv): never over a user's file.

Before any work an existing file is refused (exit 2, the file byte for byte
unchanged, nothing else written); ``--force`` replaces it; either way no
temporary file is left beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spatialopt.cli import main

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"
BUDGET = ROOT / "instances" / "hand" / "budget.toml"  # one facility, two destinations: solves in milliseconds


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("flag,name", [("--mps", "model.mps"), ("--lp", "model.lp")])
def test_export_refuses_an_existing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str,
                                         name: str) -> None:
    mine = tmp_path / name
    mine.write_text("my own notes\n", encoding="utf-8")
    before = listing(tmp_path)
    assert main(["export", str(TUTORIAL), flag, str(mine)]) == 2
    err = capsys.readouterr().err
    assert f"{mine} already exists; use --force to replace, or choose another file name" in err
    assert listing(tmp_path) == before


def test_export_force_replaces_and_leaves_nothing_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mps, lp = tmp_path / "model.mps", tmp_path / "model.lp"
    mps.write_text("old\n", encoding="utf-8")
    assert main(["export", str(TUTORIAL), "--mps", str(mps), "--lp", str(lp), "--force"]) == 0
    assert sorted(listing(tmp_path)) == ["model.lp", "model.mps"]
    assert mps.read_text(encoding="utf-8").startswith("NAME") and "ROWS" in mps.read_text(encoding="utf-8")
    assert lp.read_text(encoding="utf-8").startswith("\\ File written by HiGHS .lp file handler\nmin\n")
    assert f"wrote {mps}" in capsys.readouterr().out


def test_export_refuses_all_before_writing_any(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--lp exists: the --mps file (new) is not written either."""
    lp = tmp_path / "model.lp"
    lp.write_text("mine\n", encoding="utf-8")
    assert main(["export", str(TUTORIAL), "--mps", str(tmp_path / "model.mps"), "--lp", str(lp)]) == 2
    assert listing(tmp_path) == {"model.lp": b"mine\n"}


def test_diff_csv_refuses_an_existing_file_then_force_replaces(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    result = tmp_path / "r"
    assert main(["solve", str(BUDGET), "--out", str(result)]) == 0
    out = tmp_path / "out"
    out.mkdir()
    csv = out / "changes.csv"
    csv.write_text("my,own\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["diff", str(result), str(result), "--csv", str(csv)]) == 2
    assert "already exists; use --force to replace, or choose another file name" in capsys.readouterr().err
    assert listing(out) == {"changes.csv": b"my,own\n"}
    assert main(["diff", str(result), str(result), "--csv", str(csv), "--force"]) == 0
    assert sorted(listing(out)) == ["changes.csv"]
    assert csv.read_text(encoding="utf-8").startswith("section,item,change,a,b,delta")


def test_publish_files_is_all_or_nothing_and_removes_only_its_own(tmp_path: Path) -> None:
    """A file that appears meanwhile stops the batch: the files this call created go, the user's file stays."""
    from spatialopt.destinations import DestinationError, publish_files

    mine = tmp_path / "c.html"
    mine.write_text("the user's\n", encoding="utf-8")
    with pytest.raises(DestinationError):
        publish_files([(tmp_path / "a.png", b"a", None), (tmp_path / "b.svg", b"b", None), (mine, b"c", None)],
                      force=False)
    assert listing(tmp_path) == {"c.html": b"the user's\n"}  # no a.png, b.svg, nor any temporary file
