"""Solver option profiles: TOML files of HiGHS options (``solvers/*.toml``).

A profile is a small TOML file::

    description = "what this profile is for"
    [highs]
    mip_rel_gap = 1e-4
    time_limit = 600.0

Keys under ``[highs]`` are HiGHS option names, checked against HiGHS itself
so that a typo is an error rather than an option silently not applied.
``--profile NAME`` looks for ``NAME.toml`` in ``./solvers/`` and then in the
``solvers/`` folder shipped beside the package sources; ``--profile PATH``
reads that file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import InstanceError, Problem

PROFILE_KEYS = {"description", "highs"}


def profile_dirs() -> list[Path]:
    here = Path(__file__).resolve()
    return [Path.cwd() / "solvers", here.parents[2] / "solvers"]


def find_profile(name_or_path: str) -> Path:
    """The profile file for a name (``exact``) or a path (``my/opts.toml``)."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.parent != Path("."):
        if candidate.is_file():
            return candidate
        raise InstanceError([Problem(str(candidate), None, None, "profile file not found")], "profile")
    looked = []
    for folder in profile_dirs():
        path = folder / f"{name_or_path}.toml"
        looked.append(str(path))
        if path.is_file():
            return path
    available = sorted({p.stem for d in profile_dirs() if d.is_dir() for p in d.glob("*.toml")})
    raise InstanceError(
        [Problem(f"profile {name_or_path!r}", None, None,
                 f"not found (looked in {', '.join(looked)}); available: {', '.join(available) or 'none'}")],
        "profile",
    )


def load_profile(name_or_path: str) -> dict[str, Any]:
    """HiGHS options of a profile, validated against HiGHS's option names and types."""
    path = find_profile(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InstanceError([Problem(path.name, None, None, f"not valid TOML: {exc}")], "profile") from None
    problems = [Problem(path.name, k, data[k], "description or [highs]") for k in data if k not in PROFILE_KEYS]
    options = data.get("highs", {})
    if not isinstance(options, dict):
        problems.append(Problem(path.name, "highs", options, "a table of HiGHS options"))
        options = {}
    problems += check_highs_options(options, path.name)
    if problems:
        raise InstanceError(problems, "profile")
    return dict(options)


def check_highs_options(options: dict[str, Any], where: str) -> list[Problem]:
    """Problems with option names or values, as HiGHS itself judges them."""
    import highspy

    from .solve import quiet_highs

    probe = quiet_highs()
    problems = []
    for key, value in options.items():
        if isinstance(value, (dict, list)) or probe.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            problems.append(Problem(where, key, value, "a HiGHS option name with a valid value"))
    return problems
