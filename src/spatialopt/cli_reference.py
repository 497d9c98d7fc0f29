"""docs/cli.md, generated from the command line's parser so the reference cannot drift from ``--help``.

Regenerate after changing any command, option or example::

    python -m spatialopt.cli_reference > docs/cli.md

``tests/cli/test_cli_ux.py`` fails when the file and the parser disagree.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

from .cli import build_parser

WIDTH = "100"  # help is wrapped to the terminal's width: fixed here so the file is the same everywhere
COMMAND = "python -m spatialopt.cli_reference > docs/cli.md"


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every subcommand below it, in the order ``--help`` lists them."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def render() -> str:
    """The whole reference: one section per command, each its ``--help`` verbatim."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        sections = [
            "# Command-line reference\n",
            f"Generated from the parser by `{COMMAND}`; do not edit by hand. "
            "Every command also prints its part with `--help`. Exit codes: 0 a plan (or valid), "
            "1 internal error or check violations, 2 invalid input or usage, 3 infeasible, "
            "4 a limit or an interrupt before any plan.\n",
        ]
        for parser in _parsers(build_parser()):
            sections.append(f"## `{parser.prog}`\n\n```text\n{parser.format_help().rstrip()}\n```\n")
        return "\n".join(sections)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render())
