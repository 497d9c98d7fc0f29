"""The command line as a new user meets it (issue 18): defaults said, results where asked, no silent guesses.

Each test runs the real command line (``spatialopt.cli.main`` in-process, or
``python -m spatialopt.cli`` where two processes are needed) and asserts the
exit code, the message a user reads and the files written. Expected values
come from the rules in ``spatialopt.destinations`` and README "Using it", and
for the converters from the hand-made OR-Library files written here.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spatialopt.cli import build_parser, main

ROOT = Path(__file__).parents[2]
BUDGET = ROOT / "instances" / "hand" / "budget.toml"  # one facility, two destinations: solves in milliseconds
STARTED = ("solving", "sweeping", "tracing")  # the first line each command prints once it starts the work


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# -- 3. results where asked -----------------------------------------------------------------------
def test_an_occupied_out_is_refused_before_the_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    assert run(capsys, "solve", BUDGET, "--out", out)[0] == 0
    first = (out / "solution.json").read_bytes()
    code, stdout, err = run(capsys, "solve", BUDGET, "--out", out)
    assert code == 2
    assert f"--out {out} already exists and is not empty; nothing was run" in err
    assert "--force replaces" in err and f"--rename writes {out}-2 instead" in err
    assert not any(word in err for word in STARTED) and stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    assert (out / "solution.json").read_bytes() == first


def test_rename_says_where_before_the_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    assert run(capsys, "solve", BUDGET, "--out", out)[0] == 0
    code, stdout, err = run(capsys, "solve", BUDGET, "--out", out, "--rename")
    assert code == 0
    note = f"note: {out} holds an earlier run: this run will write {out}-2 instead"
    assert err.startswith(note)  # the first thing said, before "solving"
    assert stdout.rstrip().endswith(f"wrote {out}-2/")
    assert (tmp_path / "r-2" / "solution.json").is_file()


def test_force_and_rename_exclude_each_other(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "solve", BUDGET, "--out", tmp_path / "r", "--force", "--rename")
    assert code == 2 and "--force and --rename exclude each other" in err
    assert list(tmp_path.iterdir()) == []


def test_the_default_folder_moves_on_and_says_so_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "solve", BUDGET)[0] == 0
    code, stdout, err = run(capsys, "solve", BUDGET)
    assert code == 0
    first = err.splitlines()[0]
    assert first == ("note: results/hand-budget holds an earlier run: this run will write results/hand-budget-2 "
                     "instead (--force replaces it, --out DIR chooses the place)")
    assert stdout.rstrip().endswith("wrote results/hand-budget-2/")


@pytest.mark.parametrize("command, extra", [("sweep", ["SCENARIOS"]), ("pareto", ["--points", "2"])])
def test_sweep_and_pareto_follow_the_same_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, extra: list[str]
) -> None:
    scenarios = tmp_path / "s.toml"
    scenarios.write_text('[[scenarios]]\nname = "same"\n', encoding="utf-8")
    args = [scenarios if a == "SCENARIOS" else a for a in extra]
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = run(capsys, command, BUDGET, *args, "--out", out, "--workers", "1")
    assert code == 2 and f"--out {out} already exists and is not empty" in err and "--rename" in err
    assert not any(word in err for word in STARTED)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o", "s.toml"]


def test_two_runs_to_one_out_never_lose_a_result(tmp_path: Path) -> None:
    """Started together, both pass the check; the one that lands second keeps its result in r-2 and exits 2."""
    out = tmp_path / "r"
    command = [sys.executable, "-m", "spatialopt.cli", "solve", str(BUDGET), "--out", str(out)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in runs]
    codes = sorted(p.returncode for p in runs)
    assert codes == [0, 2]
    loser = next(err for p, (_, err) in zip(runs, outputs) if p.returncode == 2)
    if (tmp_path / "r-2").exists():  # both solved: the second result is kept, and the exit code says so
        assert f"this run's result is kept in {out}-2" in loser
    else:  # the second started after the first had finished: refused before its solve
        assert "already exists and is not empty" in loser
    assert (out / "solution.json").is_file()


# -- 1. no silent guesses in convert ----------------------------------------------------------------
GAP1 = ROOT / "instances" / "orlib" / "gap" / "gap1.txt"  # OR-Library gap1: five problems (c515-1 ... c515-5)
CAP41 = ROOT / "instances" / "orlib" / "cap" / "cap41.txt"  # numeric capacities
# A capa-style file (hand-made, two warehouses x three customers): the word 'capacity' for every s[i].
CAPX = "2 3\ncapacity 10\ncapacity 20\n4 1 2\n5 3 1\n6 2 2\n"


def test_gap_sense_is_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The gap format does not say max or min: a guess would silently solve the negated problem."""
    code, _, err = run(capsys, "convert", "orlib-gap", GAP1, "--out", tmp_path / "g")
    assert code == 2 and "the following arguments are required: --sense" in err
    assert not (tmp_path / "g").exists()


def test_gap_says_which_problem_of_several(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "convert", "orlib-gap", GAP1, "--out", tmp_path / "g", "--sense", "min")
    assert code == 0
    assert f"note: {GAP1} holds 5 problems; converting problem 1 (use --problem N for another)" in err
    assert "instance gap1-1-min:" in out and "problem 1 of 5" in out and "minimise the total value" in out
    code, out, err = run(capsys, "convert", "orlib-gap", GAP1, "--out", tmp_path / "g3", "--sense", "max",
                         "--problem", "3")
    assert code == 0 and "note:" not in err  # asked for: nothing to announce
    assert "instance gap1-3-max:" in out and "Arc cost = -value" in out


def test_cap_names_use_no_floats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capx = tmp_path / "capx.txt"
    capx.write_text(CAPX)
    code, out, _ = run(capsys, "convert", "orlib-cap", capx, "--out", tmp_path / "c", "--capacity", "8000")
    assert code == 0 and "instance capx-8000-split:" in out and "Every capacity is 8000," in out
    code, out, _ = run(capsys, "convert", "orlib-cap", capx, "--out", tmp_path / "d", "--capacity", "7.5")
    assert code == 0 and "instance capx-7.5-split:" in out


# -- 2. messages in the CLI's words -------------------------------------------------------------------
def test_problem_out_of_range_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "convert", "orlib-gap", GAP1, "--out", tmp_path / "g", "--sense", "max",
                       "--problem", "7")
    assert code == 2 and err.strip() == f"spatialopt: --problem 7: {GAP1} holds problems 1..5"
    assert not (tmp_path / "g").exists()


def test_capacity_word_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capx = tmp_path / "capx.txt"
    capx.write_text(CAPX)
    code, _, err = run(capsys, "convert", "orlib-cap", capx, "--out", tmp_path / "c")
    assert code == 2 and "--capacity N" in err and "<number>" not in err
    code, _, err = run(capsys, "convert", "orlib-cap", CAP41, "--out", tmp_path / "c", "--capacity", "8000")
    assert code == 2 and "a capacity was given (--capacity 8000), but the file has numeric capacities" in err


def test_capacity_with_uncap_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "convert", "orlib-cap", CAP41, "--out", tmp_path / "c", "--variant", "uncap",
                       "--capacity", "5")
    assert code == 2 and "--capacity is not used with --variant uncap" in err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("argv, flag, expected", [
    (["convert", "orlib-cap", str(CAP41), "--out", "x", "--capacity", "abc"], "--capacity", "a number > 0"),
    (["solve", str(BUDGET), "--time-limit", "soon"], "--time-limit", "a number > 0"),
    (["solve", str(BUDGET), "--gap", "tiny"], "--gap", "a number in [0, 1]"),
    (["solve", str(BUDGET), "--threads", "many"], "--threads", "a whole number >= 0"),
])
def test_bad_numbers_name_the_flag(capsys: pytest.CaptureFixture[str], argv: list[str], flag: str,
                                   expected: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and f"argument {flag}: expected {expected}, got" in err
    assert "invalid" not in err and "_positive" not in err and "_fraction" not in err


# -- 1 and 5. every default said, every command's examples --------------------------------------------
def _commands() -> list[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)command parser, named as typed: 'solve', 'convert orlib-gap', ..."""
    found = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for inner, child in action.choices.items():
                    found.append((f"{name} {inner}".strip(), child))
                    walk(child, f"{name} {inner}")

    walk(build_parser(), "")
    return found


def test_every_option_states_its_default() -> None:
    """An option that takes a value says its default in --help (a flag is off unless given)."""
    missing = []
    for name, parser in _commands():
        formatter = parser._get_formatter()
        for action in parser._actions:
            if not action.option_strings or action.nargs == 0 or action.required:
                continue
            text = formatter._expand_help(action)  # what --help prints, "%(default)s" filled in
            if "default" not in text:
                missing.append(f"{name} {action.option_strings[0]}")
    assert missing == []


def test_defaults_appear_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "convert", "orlib-cap", "--help")
    assert code == 0 and "(default: split)" in " ".join(out.split())
    code, out, _ = run(capsys, "diagnose", "--help")
    assert code == 0 and "(default 60)" in out


def test_every_command_lists_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for name, _ in _commands():
        code, out, _ = run(capsys, *name.split(), "--help")
        assert code == 0 and "\nexamples:\n  spatialopt " + name in out, name


# -- 4. small frictions ------------------------------------------------------------------------------
def test_solve_accepts_a_folder_holding_one_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "inst"
    folder.mkdir()
    shutil.copy(BUDGET, folder / "budget.toml")
    (folder / "notes.toml").write_text('title = "not a manifest"\n')
    code, stdout, err = run(capsys, "solve", folder, "--out", tmp_path / "r")
    assert code == 0 and f"note: using {folder / 'budget.toml'}" in err
    assert (tmp_path / "r" / "solution.json").is_file()


def test_a_folder_of_several_manifests_lists_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hand = ROOT / "instances" / "hand"
    code, _, err = run(capsys, "solve", hand, "--out", tmp_path / "r")
    manifests = sorted(hand.glob("*.toml"))
    assert code == 2 and f"{hand}: holds {len(manifests)} instance manifests; pass one of: " in err
    assert all(str(m) in err for m in manifests)
    code, _, err = run(capsys, "validate", tmp_path)
    assert code == 2 and "is a folder holding no instance manifest" in err


def test_version_names_highs_and_pyomo(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert f"HiGHS {version('highspy')} via highspy" in out and f"Pyomo {version('pyomo')}" in out


def test_version_does_not_import_pyomo() -> None:
    done = subprocess.run([sys.executable, "-c", "import sys; from spatialopt.cli import main; main(['--version']); "
                           "print('pyomo' in sys.modules, 'highspy' in sys.modules)"],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[-1] == "False False"


def test_docs_cli_md_is_the_parsers_help() -> None:
    """docs/cli.md is generated; a command, option or example changed without regenerating it fails here."""
    from spatialopt.cli_reference import COMMAND, render

    written = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert written == render(), f"docs/cli.md is out of date with the parser: regenerate it with `{COMMAND}`"


@pytest.mark.parametrize("terminal", [True, False])
def test_long_runs_show_a_bar_only_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    import spatialopt.cli as cli

    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: terminal)
    scenarios = tmp_path / "s.toml"
    scenarios.write_text('[[scenarios]]\nname = "a"\n[[scenarios]]\nname = "b"\n', encoding="utf-8")
    code, stdout, err = run(capsys, "sweep", BUDGET, scenarios, "--out", tmp_path / "sw", "--workers", "1")
    assert code == 0
    assert [line[:6] for line in stdout.splitlines() if line.startswith("[")] == ["[1/3] ", "[2/3] ", "[3/3] "]
    assert ("/3 runs [" in err and " left]" in err) is terminal  # the bar and its estimate, on stderr
    assert ("\r" in err) is terminal  # a log file gets plain lines only
    code, stdout, err = run(capsys, "bench", "known-optima", "--family", "hand",
                            "--registry", ROOT / "results" / "known_optima.csv")
    assert code == 0 and "hand-budget" in stdout
    assert (" instances [" in err and " left]" in err) is terminal


def test_convert_never_writes_into_an_occupied_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out at an instance folder would have replaced its instance.toml and tables."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "instance.toml").write_text("# my own instance\n")
    code, _, err = run(capsys, "convert", "orlib-pmed", ROOT / "instances" / "orlib" / "pmed" / "pmed1.txt",
                       "--out", folder)
    assert code == 2 and f"--out {folder} already exists and is not empty; nothing was written" in err
    assert [p.name for p in folder.iterdir()] == ["instance.toml"]
    assert (folder / "instance.toml").read_text() == "# my own instance\n"
