"""Shell completion (issue 18): ``spatialopt completion SHELL`` completes what the parser accepts.

The bash script is exercised for real: sourced in bash, its completion
function is called with the words a user would have typed (COMP_WORDS), and
the offered candidates are compared with what the parser defines — the
commands, the options, the choices, the shipped profiles and, for an
instance argument, only ``.toml`` files and folders. The other shells'
scripts are checked to name every command and option.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from spatialopt import completion
from spatialopt.cli import COMPLETION_SHELLS, build_parser, main
from spatialopt.profiles import packaged_profiles


def script(capsys: pytest.CaptureFixture[str], shell: str) -> str:
    assert main(["completion", shell]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    from spatialopt.completion import completion_script

    path = tmp_path_factory.mktemp("completion") / "spatialopt.bash"
    path.write_text(completion_script(build_parser(), "bash"), encoding="utf-8")
    return path


def complete(bash_script: Path, cwd: Path, *words: str) -> list[str]:
    """The candidates bash offers for the last word of ``spatialopt WORDS...`` (typed in ``cwd``)."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in ("spatialopt", *words))
    program = (
        f"source '{bash_script}'\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n"
        'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()\n'
        "_shtab_spatialopt\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], cwd=cwd, capture_output=True,
                          text=True, timeout=30, check=True)
    return sorted(line for line in done.stdout.splitlines() if line)


def test_the_shells_offered_are_those_the_module_writes() -> None:
    import shtab

    assert COMPLETION_SHELLS == completion.SHELLS
    assert set(completion.SHELLS) <= set(shtab.SUPPORTED_SHELLS)


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "cmd.exe"]) == 2
    assert "invalid choice: 'cmd.exe'" in capsys.readouterr().err


def test_bash_completes_every_command(bash_script: Path, tmp_path: Path) -> None:
    names = sorted(commands(build_parser()))
    assert complete(bash_script, tmp_path, "") == names
    assert complete(bash_script, tmp_path, "ex") == ["explain", "export"]
    assert complete(bash_script, tmp_path, "convert", "") == ["orlib-cap", "orlib-gap", "orlib-pmed"]


def test_bash_completes_each_commands_options(bash_script: Path, tmp_path: Path) -> None:
    for name, command in commands(build_parser()).items():
        options = sorted(o for a in command._actions for o in a.option_strings if o.startswith("--"))
        assert complete(bash_script, tmp_path, name, "--") == options, name


def test_bash_completes_choices_and_profiles(bash_script: Path, tmp_path: Path) -> None:
    assert complete(bash_script, tmp_path, "report", "r", "--lang", "") == ["en", "zh"]
    assert complete(bash_script, tmp_path, "solve", "x.toml", "--builder", "") == ["matrix", "pyomo"]
    assert complete(bash_script, tmp_path, "completion", "") == sorted(COMPLETION_SHELLS)
    assert complete(bash_script, tmp_path, "solve", "x.toml", "--profile", "") == sorted(packaged_profiles())
    assert packaged_profiles()  # the shipped profiles are found at all


def test_bash_completes_an_instance_with_manifests_and_folders_only(bash_script: Path, tmp_path: Path) -> None:
    (tmp_path / "study").mkdir()
    for name in ("study/instance.toml", "study/cities.csv", "study/notes.txt"):
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "study" / "runs").mkdir()
    assert complete(bash_script, tmp_path, "solve", "study/") == ["study/instance.toml", "study/runs"]
    assert complete(bash_script, tmp_path, "sweep", "study/instance.toml", "study/i") == ["study/instance.toml"]
    # A result folder is a folder; a solution is any file.
    assert complete(bash_script, tmp_path, "report", "study/") == ["study/runs"]
    assert complete(bash_script, tmp_path, "check", "a.toml", "study/c") == ["study/cities.csv"]


def test_every_path_argument_says_how_it_completes() -> None:
    """A new argument taking a path (type Path, or an instance) must be given a kind in completion._KINDS."""
    parser = build_parser()
    completion.annotate(parser, "bash")
    missing = []
    for name, command in commands(parser).items():
        inner = [command] + [p for a in command._actions if isinstance(a, argparse._SubParsersAction)
                             for p in a.choices.values()]
        for p in inner:
            for action in p._actions:
                takes_path = action.type is Path or action.dest in ("instance", "scenarios", "solution", "a", "b")
                if takes_path and not hasattr(action, "complete"):
                    missing.append(f"{name} {action.dest}")
    assert missing == []


@pytest.mark.parametrize("shell", ["zsh", "fish", "tcsh"])
def test_other_shells_name_every_command_and_option(capsys: pytest.CaptureFixture[str], shell: str) -> None:
    text = script(capsys, shell)
    for name, command in commands(build_parser()).items():
        assert name in text, (shell, name)
        for action in command._actions:
            for option in action.option_strings:
                if option.startswith("--"):
                    assert option.removeprefix("--") in text, (shell, name, option)
    assert " ".join(packaged_profiles()) in text  # --profile offers the shipped profiles
