"""Shell completion scripts for ``spatialopt``, generated from the command line's own parser.

``spatialopt completion bash`` (or zsh, fish, tcsh) prints a script that
completes commands, options, choices and paths. It is written by shtab from
the parser of :func:`spatialopt.cli.build_parser`, so it cannot drift from the options the
program accepts. Paths complete by what each argument takes: instance
manifests and scenario files are ``.toml`` files (or folders holding them),
result folders are folders, ``--profile`` offers the shipped profile names.

The script is static: pressing Tab runs no Python, so it stays instant.
"""

from __future__ import annotations

import argparse

#: The shells a script can be written for (all supported by shtab).
SHELLS = ("bash", "zsh", "fish", "tcsh")

# How each kind of argument completes, per shell. The bash/fish entries name
# functions defined in the preamble below; zsh and tcsh use built-ins.
_MANIFEST = {
    "bash": "_spatialopt_compgen_manifests",
    "zsh": "_files -g '*.toml'",
    "fish": "(__fish_complete_suffix .toml)",
    "tcsh": "f",
}
_FOLDER = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/", "fish": "(__fish_complete_directories)", "tcsh": "d"}
_FILE = {"bash": "_shtab_compgen_files", "zsh": "_files", "fish": "(__fish_complete_path (commandline -ct))", "tcsh": "f"}

# (command, argument dest) -> what it completes to; "*" matches any command.
_KINDS: dict[tuple[str, str], str] = {
    ("*", "instance"): "manifest",       # positional manifest, and report/explain's --instance
    ("sweep", "scenarios"): "manifest",
    ("*", "profile"): "profile",
    ("*", "out"): "folder",
    ("report", "out"): "file",           # the HTML file
    ("report", "result"): "folder",
    ("report", "compare"): "folder",     # the other result folder
    ("explain", "result"): "folder",
    ("diff", "a"): "folder",
    ("diff", "b"): "folder",
    ("check", "solution"): "file",       # solution.json, or a folder holding one
    ("export", "mps"): "file",
    ("export", "lp"): "file",
    ("diff", "csv"): "file",
    ("bench", "registry"): "file",
    ("*", "file"): "file",               # convert's OR-Library file
}


def _profile_names() -> list[str]:
    from .profiles import packaged_profiles

    return packaged_profiles()


def _preamble(shell: str) -> str:
    """Shell functions the completions name (bash only: the others use built-ins)."""
    if shell != "bash":
        return ""
    profiles = " ".join(_profile_names())
    return (
        "# spatialopt: instance manifests and scenario files are .toml files (or folders holding them)\n"
        "_spatialopt_compgen_manifests() {\n"
        '  compgen -d -- "$1"\n'
        "  compgen -f -X '!*.toml' -- \"$1\"\n"
        "}\n"
        "# spatialopt: --profile takes a shipped profile's name or a .toml file\n"
        "_spatialopt_compgen_profiles() {\n"
        f'  compgen -W "{profiles}" -- "$1"\n'
        "  compgen -f -X '!*.toml' -- \"$1\"\n"
        "}\n"
    )


def _profile_completion(shell: str) -> dict[str, str]:
    names = _profile_names()
    return {
        "bash": "_spatialopt_compgen_profiles",
        "zsh": f"({' '.join(names)})",
        "fish": " ".join(names),
        "tcsh": f"({' '.join(names)})",
    }


def _kind_of(command: str, dest: str) -> str | None:
    return _KINDS.get((command, dest)) or _KINDS.get(("*", dest))


def annotate(parser: argparse.ArgumentParser, shell: str) -> None:
    """Set shtab's ``complete`` attribute on every argument that takes a path or a profile."""
    table = {"manifest": _MANIFEST, "folder": _FOLDER, "file": _FILE, "profile": _profile_completion(shell)}

    def walk(p: argparse.ArgumentParser, command: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, inner in action.choices.items():
                    walk(inner, command or name)
            elif action.choices is None and action.nargs != 0:
                kind = _kind_of(command, action.dest)
                if kind is not None:
                    action.complete = table[kind]  # type: ignore[attr-defined]

    walk(parser, "")


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for ``shell`` (one of :data:`SHELLS`) of the command line ``parser``."""
    import shtab

    if shell not in SHELLS:
        raise ValueError(f"no completion for shell {shell!r}; expected one of {', '.join(SHELLS)}")
    annotate(parser, shell)
    return shtab.complete(parser, shell=shell, preamble=_preamble(shell))
