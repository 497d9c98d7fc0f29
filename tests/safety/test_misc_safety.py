"""Hostile or careless input that must end in a located message, never a traceback (issue 11).

Each test reproduces a probe that failed before its fix: a solver profile that
writes files, a ``solvers/default.toml`` in the current folder, ``check`` and
``diff`` on a FIFO, numbers that overflow the checker, JSON nested hundreds of
levels, a malformed Dask address, Ctrl-C while the program starts and a reader
that closes the pipe. Each asserts the exit code, the message and that no
Python traceback reached the user.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from support import sigint_as_from_a_shell

import spatialopt
from spatialopt.cli import main
from spatialopt.errors import InstanceError
from spatialopt.profiles import ALLOWED_OPTIONS, load_profile

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"
SPATIALOPT = shutil.which("spatialopt") or str(Path(sys.executable).parent / "spatialopt")
#: Options HiGHS would use to write (or read) a file of the user's choosing.
FILE_OPTIONS = {
    "log_file": "victim.txt",
    "write_solution_to_file": True,
    "solution_file": "victim.txt",
    "write_model_to_file": True,
    "write_model_file": "victim.mps",
    "write_presolved_model_file": "victim.mps",
    "read_solution_file": "victim.txt",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def run_process(*argv: str, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command in its own process (what a user runs), never hanging the suite."""
    result = subprocess.run([SPATIALOPT, *argv], check=False, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A result folder of the tutorial (quick profile)."""
    out = tmp_path_factory.mktemp("solved") / "tutorial"
    assert main(["solve", str(TUTORIAL), "--out", str(out), "--profile", "quick"]) == 0
    return out


def solution_with(solved: Path, tmp_path: Path, text_edit: tuple[str, str] | None = None, **changes: object) -> Path:
    """A copy of the tutorial's solution.json with ``changes`` to its first assignment, as raw JSON text."""
    data = json.loads((solved / "solution.json").read_text(encoding="utf-8"))
    data["assignments"][0].update(changes)
    text = json.dumps(data)
    if text_edit is not None:
        assert text.count(text_edit[0]) == 1
        text = text.replace(*text_edit)
    path = tmp_path / "solution.json"
    path.write_text(text, encoding="utf-8")
    return path


# -- solver profiles: only search options, only from the package or a named path (item 3)


@pytest.mark.parametrize("option", sorted(FILE_OPTIONS))
def test_profile_that_writes_files_is_refused(option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: HiGHS accepted these options from a profile and wrote (or read) the named file."""
    value = FILE_OPTIONS[option]
    profile = tmp_path / "evil.toml"
    profile.write_text(f"[highs]\ntime_limit = 10.0\n{option} = {json.dumps(value)}\n", encoding="utf-8")
    code, _, err = run(capsys, "solve", str(TUTORIAL), "--profile", str(profile), "--out", str(tmp_path / "r"))
    assert code == 2
    assert f"{profile} [highs]: {option}=" in err  # file, table and key
    assert "options that read or write files are not accepted" in err and "mip_rel_gap" in err  # what is allowed
    assert not (tmp_path / "r").exists() and not (tmp_path / "victim.txt").exists()


def test_unknown_profile_option_names_what_is_allowed(tmp_path: Path) -> None:
    profile = tmp_path / "odd.toml"
    profile.write_text("[highs]\noutput_flag = true\nmip_rel_gap = 0.5\n", encoding="utf-8")
    with pytest.raises(InstanceError) as info:
        load_profile(str(profile))
    [problem] = info.value.problems
    assert (problem.where, problem.column) == (f"{profile} [highs]", "output_flag")
    assert problem.expected.startswith("one of the allowed search options (")


def test_api_highs_options_are_held_to_the_same_allowlist(tmp_path: Path) -> None:
    """A notebook passing log_file gets a clear error, before any solve."""
    victim = tmp_path / "log.txt"
    instance = spatialopt.load(TUTORIAL)
    with pytest.raises(InstanceError, match=r"highs_options: log_file='/.*, expected a search option"):
        spatialopt.solve(instance, highs_options={"log_file": str(victim)})
    with pytest.raises(InstanceError, match="write_model_file"):
        spatialopt.solver_options(highs_options={"write_model_file": str(victim)})
    from spatialopt.scenarios import task_options

    with pytest.raises(InstanceError, match="options: solution_file="):
        task_options({"solution_file": str(victim)})
    assert not victim.exists()


def test_profile_path_that_is_a_fifo_or_nested_too_deeply_is_located(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    result = run_process("solve", str(TUTORIAL), "--profile", str(fifo), "--out", str(tmp_path / "r"), timeout=60)
    assert result.returncode == 2
    assert f"{fifo}: cannot read the profile: it is a FIFO (named pipe), not a regular file" in result.stderr
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(InstanceError, match=r"deep\.toml: not valid TOML"):
        load_profile(str(deep))


def test_shipped_profiles_use_only_allowed_options() -> None:
    for path in sorted((ROOT / "solvers").glob("*.toml")):
        options = tomllib.loads(path.read_text(encoding="utf-8"))["highs"]
        assert set(options) <= ALLOWED_OPTIONS, path.name
        assert load_profile(path.stem) == options  # the package reads the repository's files


def test_default_profile_in_the_current_folder_is_ignored(tmp_path: Path, solved: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: ./solvers/default.toml was picked up without --profile (and could set log_file)."""
    (tmp_path / "solvers").mkdir()
    (tmp_path / "solvers" / "default.toml").write_text('[highs]\nlog_file = "victim.txt"\ntime_limit = 1.5\n')
    (tmp_path / "solvers" / "exact.toml").write_text("[highs]\ntime_limit = 2.5\n")
    monkeypatch.chdir(tmp_path)
    shipped = tomllib.loads((ROOT / "solvers" / "default.toml").read_text(encoding="utf-8"))["highs"]
    assert spatialopt.solver_options() == shipped
    assert spatialopt.solver_options("exact")["time_limit"] == 3600.0  # a name is always the shipped profile
    # A profile of one's own is named by its path, and then it is read.
    assert spatialopt.solver_options("solvers/exact.toml") == {"time_limit": 2.5}
    assert main(["solve", str(TUTORIAL), "--out", str(tmp_path / "r")]) == 0
    record = json.loads((tmp_path / "r" / "solution.json").read_text(encoding="utf-8"))
    assert record["solver"]["options"] == shipped
    assert not (tmp_path / "victim.txt").exists()


# -- check and diff: regular files only, numbers that cannot overflow (items 9 and 11)


@pytest.mark.parametrize("command", ["check", "diff"])
def test_check_and_diff_refuse_a_fifo_instead_of_hanging(command: str, tmp_path: Path, solved: Path) -> None:
    """Before: both blocked forever opening the FIFO for reading."""
    fifo = tmp_path / "solution.json"
    os.mkfifo(fifo)
    argv = [str(TUTORIAL), str(fifo)] if command == "check" else [str(solved), str(fifo)]
    result = run_process(command, *argv, timeout=60)
    assert result.returncode == 2
    assert f"{fifo}: cannot read the solution file: it is a FIFO (named pipe), not a regular file" in result.stderr


def test_check_says_a_directory_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r" / "solution.json").mkdir(parents=True)
    code, _, err = run(capsys, "check", str(TUTORIAL), str(tmp_path / "r"))
    assert code == 2 and "solution.json: cannot read the solution file: it is a directory" in err


@pytest.mark.parametrize(
    ("units", "message"),
    [
        # 1e400 parses as inf; a 401-digit integer overflowed math.isfinite (OverflowError, exit 1).
        ("1e400", "assignments[0].units=inf, expected a finite number with |value| <= 1e+100"),
        ("1" + "0" * 400, "assignments[0].units=<an integer of about 401 digits>, expected a finite number"),
        # 1e308 passed the format check and ended in inf - inf in math.fsum (ValueError, exit 1).
        ("1e308", "assignments[0].units=1e+308, expected a finite number with |value| <= 1e+100"),
        # More digits than Python converts: a ValueError from json.loads (exit 1).
        ("1" + "0" * 5000, "not a solution file: a number has more than 4300 digits"),
    ],
    ids=["1e400", "int-400-digits", "1e308", "int-5000-digits"],
)
def test_check_huge_numbers_are_located_input_errors(units: str, message: str, tmp_path: Path, solved: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = solution_with(solved, tmp_path, ('"units": 12345', f'"units": {units}'), units=12345)
    code, _, err = run(capsys, "check", str(TUTORIAL), str(path))
    assert code == 2
    assert f"spatialopt: {path}: " in err and message in err


def test_large_but_bounded_numbers_are_violations_without_warnings(tmp_path: Path, solved: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """1e100 units pass the format check; the recomputation stays finite and reports them (exit 1, no numpy noise)."""
    path = solution_with(solved, tmp_path, units=1e100)
    code, out, err = run(capsys, "check", str(TUTORIAL), str(path))
    assert code == 1
    assert "assign: " in out and "objective: reported" in out
    assert "RuntimeWarning" not in err and "violation(s)" in err


def test_check_reports_a_recomputation_that_overflows() -> None:
    """With finite inputs whose weighted sum overflows, the objective family says so (no ValueError from fsum)."""
    from spatialopt.check import _check_objective, _finite_sum, _Violations

    assert _finite_sum([1e308, 1e308]) == float("inf") and _finite_sum([float("inf"), -float("inf")]) == float("inf")
    out = _Violations(None)
    _check_objective({"objective": 1.0, "components": {}, "status": "optimal"},
                     {"relocation": float("inf")}, float("inf"), out)
    expected = ("objective: the recomputed objective is not finite: the file's units times the "
                "instance's coefficients overflow (relocation)")
    assert out.finish() == [expected]


@pytest.mark.parametrize("depth", [400, 100_000])
def test_check_deeply_nested_json_is_an_input_error(depth: int, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Before: RecursionError from the JSON decoder, exit 1 (400 levels inside an object already failed)."""
    path = tmp_path / "solution.json"
    path.write_text('{"status": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")
    code, _, err = run(capsys, "check", str(TUTORIAL), str(path))
    assert code == 2
    assert f"spatialopt: {path}: " in err
    assert "nested too deeply" in err or "status=[[[[...]]]], expected one of optimal" in err


# -- Dask scheduler addresses checked before anything runs (item 11)


@pytest.mark.parametrize("address", ["foo://x", "tcp://", "127.0.0.1:8786x", "h:99999", "tls://h:1", "inproc://x"])
def test_malformed_scheduler_address_is_a_usage_error(address: str, tmp_path: Path) -> None:
    """Before: foo://x gave a ValueError (exit 1) after Dask's 20 s timeout, and a traceback at exit."""
    study = tmp_path / "study.toml"
    study.write_text('[[scenarios]]\nname = "a"\nscale = { "policy.budget" = 0.8 }\n', encoding="utf-8")
    started = time.perf_counter()
    result = run_process("sweep", str(TUTORIAL), str(study), "--scheduler", address, "--out", str(tmp_path / "out"),
                         timeout=60)
    assert result.returncode == 2
    assert f"spatialopt: error: argument --scheduler: scheduler address {address!r}: " in result.stderr
    assert "expected SCHEME://HOST:PORT with SCHEME tcp or ws" in result.stderr
    assert time.perf_counter() - started < 15  # Dask's connection timeout alone is 10 s
    assert not (tmp_path / "out").exists()


def test_api_checks_the_scheduler_address_before_any_task() -> None:
    from spatialopt.scenarios.parallel import run_tasks

    calls: list[int] = []
    with pytest.raises(ValueError, match="scheduler address 'foo://x': unsupported scheme 'foo'"):
        run_tasks(calls.append, [(1,)], scheduler="foo://x")
    assert calls == []


# -- Ctrl-C while the program starts (item 12)


def _startup_seconds() -> float:
    """How long this machine, now, takes to start Python and import the command line."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import spatialopt.cli"], check=True)
    return time.perf_counter() - started


def test_ctrl_c_while_starting_is_interrupted_exit_4() -> None:
    """Before: Ctrl-C in the first half-second (the package imported Pyomo, HiGHS and pandas before main ran)
    printed a KeyboardInterrupt traceback and the process died of SIGINT (exit 130) instead of exit 4.

    The signal is sent at several small delays after the time Python needs to reach ``main``; they land in
    the imports, the reading of the instance and its validation. A delay after which the command had
    already finished tests nothing and is not counted."""
    china = ROOT / "instances" / "china-2035" / "instance.toml"
    reach_main = _startup_seconds()
    interrupted = 0
    for extra in (0.05, 0.1, 0.2, 0.35, 0.5):
        process = subprocess.Popen([SPATIALOPT, "validate", str(china)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, preexec_fn=sigint_as_from_a_shell)
        time.sleep(reach_main + extra)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            interrupted += 1
        _, err = process.communicate(timeout=120)
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, (extra, err)
        if process.returncode != 0:  # 0: finished before the signal arrived
            assert (process.returncode, err.strip().splitlines()[-1]) == (4, "spatialopt: interrupted"), (extra, err)
    assert interrupted >= 3


def test_ctrl_c_swallowed_by_a_callback_is_delivered_again() -> None:
    """A Ctrl-C landing in a weakref callback (the import machinery has some) was printed as
    'Exception ignored ... KeyboardInterrupt' and lost: the command went on and exited 0."""
    import gc
    import weakref

    from spatialopt.console import guarded_process

    class Thing:
        pass

    def swallowed(_: object) -> None:
        raise KeyboardInterrupt

    hook_before = sys.unraisablehook
    # A command run in-process earlier (owns_process=True) leaves SIGINT ignored, as a finished
    # command should; Ctrl-C is then not delivered at all. This test is about a live handler.
    handler_before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), guarded_process(owns_process=False):
            thing = Thing()
            ref = weakref.ref(thing, swallowed)
            del thing
            gc.collect()
            for _ in range(2000):  # the second delivery arrives here, outside the callback
                time.sleep(0.001)
    finally:
        signal.signal(signal.SIGINT, handler_before)
    assert ref() is None and sys.unraisablehook is hook_before


# -- a reader that goes away (item 13)


@pytest.mark.parametrize("closed", ["stdout", "stderr", "both"])
@pytest.mark.parametrize(
    ("argv", "expected_code", "stderr_says"),
    [
        (["validate", str(TUTORIAL)], 0, ""),
        (["validate", "many-problems"], 2, "instance.toml: 6,000 problems"),
        (["check", str(TUTORIAL), "many-violations"], 1, "violation(s)"),
    ],
    ids=["valid", "invalid", "violations"],
)
def test_closed_pipe_keeps_the_exit_code(argv: list[str], expected_code: int, stderr_says: str, closed: str,
                                         tmp_path: Path, solved: Path) -> None:
    """Before: ``validate X 2>&1 | head -1`` exited 1 (BrokenPipeError while reporting the problems).

    The pipe's reading end is closed before the command writes anything, so every write fails."""
    if "many-problems" in argv:  # 2 x 3000 located problems (the first 50 listed) on stderr
        shutil.copytree(TUTORIAL.parent, tmp_path / "bad")
        facilities = tmp_path / "bad" / "facilities.csv"
        rows = "".join(f"bad-{i},beijing-core,manufacturing,-1,abc,,,20,,\n" for i in range(3000))
        facilities.write_text(facilities.read_text(encoding="utf-8") + rows, encoding="utf-8")
        argv = ["validate", str(tmp_path / "bad" / "instance.toml")]
    if "many-violations" in argv:
        argv = ["check", str(TUTORIAL), str(solution_with(solved, tmp_path, units=1e100))]
    read_end, write_end = os.pipe()
    os.close(read_end)
    streams = {name: write_end if closed in (name, "both") else subprocess.PIPE for name in ("stdout", "stderr")}
    result = subprocess.run([SPATIALOPT, *argv], text=True, timeout=120, check=False, **streams)
    os.close(write_end)
    assert result.returncode == expected_code
    other = result.stderr if closed == "stdout" else result.stdout if closed == "stderr" else ""
    assert "Traceback" not in (other or "") and "Exception ignored" not in (other or "")
    if closed == "stdout":
        assert stderr_says in other  # stderr still says why


# -- packaging: every package is in the wheel


def test_every_package_is_listed_for_the_wheel() -> None:
    """pyproject.toml lists packages explicitly (for the solvers/ mapping): a new subpackage must be added there."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT / "src").parts) for p in (ROOT / "src").rglob("__init__.py")}
    assert on_disk | {"spatialopt.solvers"} == set(config["packages"])
    assert config["package-dir"]["spatialopt.solvers"] == "solvers"


@pytest.mark.parametrize("wrapped", ["cause", "context"])
def test_ctrl_c_wrapped_by_python_is_an_interrupt(wrapped: str, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Before: Ctrl-C landing while a class was created during pandas' import came out as
    "internal error: RuntimeError: Error calling __set_name__ on 'Field' instance ...", exit 1
    (seen in CI by test_ctrl_c_while_starting_is_interrupted_exit_4 at 0.2 s). Python had wrapped
    the KeyboardInterrupt in a RuntimeError; the command now says it was interrupted, exit 4."""
    from spatialopt import cli

    def command(args: object) -> int:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            if wrapped == "cause":
                raise RuntimeError("Error calling __set_name__ on 'Field' instance") from interrupt
            raise RuntimeError("Error calling __set_name__ on 'Field' instance")  # noqa: B904 (the context)

    monkeypatch.setitem(cli.COMMANDS, "validate", command)
    handler_before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert cli.main(["validate", str(ROOT / "instances" / "tutorial" / "instance.toml")]) == 4
    finally:
        signal.signal(signal.SIGINT, handler_before)
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "spatialopt: interrupted" and "internal error" not in err


def test_an_unrelated_runtime_error_is_still_an_internal_error(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from spatialopt import cli

    def command(args: object) -> int:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner

    monkeypatch.setitem(cli.COMMANDS, "validate", command)
    assert cli.main(["validate", str(ROOT / "instances" / "tutorial" / "instance.toml")]) == 1
    assert "internal error: RuntimeError: outer" in capsys.readouterr().err
