"""Solver option profiles: TOML files of HiGHS search options.

A profile is a small TOML file::

    description = "what this profile is for"
    [highs]
    mip_rel_gap = 1e-4
    time_limit = 600.0

Where profiles come from
------------------------
``--profile NAME`` (``default``, ``exact``, ``quick``) reads the profile of
that name shipped inside the package (the repository's ``solvers/*.toml``,
installed as the package data ``spatialopt.solvers`` and read with
:mod:`importlib.resources`), so a profile means the same thing from any
folder, in a checkout or after ``pip install``. Without ``--profile`` the
packaged ``default`` applies. Nothing is looked up in the current folder: a
``solvers/default.toml`` there is ignored. ``--profile PATH`` (a name ending
in ``.toml`` or containing a folder) reads the file the user named.

What a profile may set
----------------------
Only the search options in :data:`ALLOWED_OPTIONS`: limits, gaps, threads and
seed, presolve, heuristics, cut-pool and symmetry settings, tolerances and the
LP algorithm. HiGHS options that read or write files (``log_file``,
``solution_file``, ``write_model_to_file`` ...) or that change what the run
prints or reports (``output_flag``, ``solve_relaxation`` ...) are refused
with a located error, as is an unknown name: a profile is data, and data must
not be able to overwrite files or silently change the question asked. The same
rule applies to options passed through the API (``highs_options``,
:func:`spatialopt.solver_options`, sweep and front ``options``). Values are
then checked by HiGHS itself, so a wrong type or range is an error too.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import InstanceError, Problem
from .regular_files import read_regular_text

PROFILE_KEYS = {"description", "highs"}
#: The package holding the shipped profiles (the repository's ``solvers/`` folder).
PROFILE_PACKAGE = "spatialopt.solvers"

#: HiGHS options a profile (or ``highs_options``) may set, by purpose. All of
#: them only steer the search; none reads or writes a file.
ALLOWED_OPTION_GROUPS: dict[str, tuple[str, ...]] = {
    "limits": ("time_limit", "mip_max_nodes", "mip_max_leaves", "mip_max_improving_sols", "mip_max_stall_nodes",
               "simplex_iteration_limit", "ipm_iteration_limit"),
    "gaps": ("mip_rel_gap", "mip_abs_gap"),
    "reproducibility and parallelism": ("random_seed", "threads", "parallel"),
    "presolve": ("presolve",),
    "heuristics": ("mip_heuristic_effort", "mip_heuristic_run_feasibility_jump", "mip_heuristic_run_rens",
                   "mip_heuristic_run_rins", "mip_heuristic_run_root_reduced_cost", "mip_heuristic_run_shifting",
                   "mip_heuristic_run_zi_round"),
    "cuts and symmetry": ("mip_pool_soft_limit", "mip_pool_age_limit", "mip_lp_age_limit", "mip_detect_symmetry"),
    "tolerances": ("mip_feasibility_tolerance", "primal_feasibility_tolerance", "dual_feasibility_tolerance",
                   "optimality_tolerance", "ipm_optimality_tolerance"),
    "LP algorithm": ("solver", "simplex_strategy", "run_crossover"),
}
ALLOWED_OPTIONS = frozenset(name for names in ALLOWED_OPTION_GROUPS.values() for name in names)


def packaged_profiles() -> list[str]:
    """Names of the profiles shipped with the package (``default``, ``exact``, ``quick``)."""
    folder = resources.files(PROFILE_PACKAGE)
    return sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml"))


def is_profile_path(name_or_path: str) -> bool:
    """True when ``--profile`` names a file (``my/opts.toml``) rather than a shipped profile (``exact``)."""
    candidate = Path(name_or_path)
    return candidate.suffix == ".toml" or candidate.parent != Path(".")


def _profile_text(name_or_path: str) -> tuple[str, str]:
    """(where, TOML text) of a profile name or path; ``where`` names it in messages."""
    if is_profile_path(name_or_path):
        try:
            return name_or_path, read_regular_text(name_or_path)
        except OSError as exc:
            raise InstanceError([Problem(name_or_path, None, None, f"cannot read the profile: {exc.strerror or exc}")],
                                "profile") from None
        except UnicodeDecodeError as exc:
            raise InstanceError([Problem(name_or_path, None, None, f"not UTF-8 text ({exc.reason})")], "profile") from None
    available = packaged_profiles()
    if name_or_path not in available:
        raise InstanceError(
            [Problem(f"profile {name_or_path!r}", None, None,
                     f"not found among the shipped profiles (available: {', '.join(available)}; "
                     "a profile of your own is named by its path, e.g. --profile ./solvers/mine.toml)")],
            "profile",
        )
    return f"{name_or_path}.toml (shipped)", (resources.files(PROFILE_PACKAGE) / f"{name_or_path}.toml").read_text("utf-8")


def load_profile(name_or_path: str) -> dict[str, Any]:
    """HiGHS options of a profile: allowed search options only, with values HiGHS accepts."""
    where, text = _profile_text(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InstanceError([Problem(where, None, None, f"not valid TOML: {exc}")], "profile") from None
    except RecursionError:
        raise InstanceError([Problem(where, None, None, "not valid TOML: nested too deeply")], "profile") from None
    problems = [Problem(where, k, data[k], "description or [highs]") for k in data if k not in PROFILE_KEYS]
    options = data.get("highs", {})
    if not isinstance(options, dict):
        problems.append(Problem(where, "highs", options, "a table of HiGHS options"))
        options = {}
    problems += check_highs_options(options, f"{where} [highs]")
    if problems:
        raise InstanceError(problems, "profile")
    return dict(options)


def option_problems(options: Mapping[str, Any], where: str) -> list[Problem]:
    """Options outside :data:`ALLOWED_OPTIONS`, each with what is allowed instead."""
    problems = []
    for key, value in options.items():
        if key in ALLOWED_OPTIONS:
            continue
        name = str(key)
        if "file" in name or name.startswith(("write_", "read_")):
            why = "a search option; options that read or write files are not accepted"
        else:
            why = "one of the allowed search options"
        problems.append(Problem(where, name, value, f"{why} ({', '.join(sorted(ALLOWED_OPTIONS))})"))
    return problems


def check_highs_options(options: Mapping[str, Any], where: str) -> list[Problem]:
    """Problems with option names (the allowlist) or values (as HiGHS itself judges them)."""
    problems = option_problems(options, where)
    allowed = {k: v for k, v in options.items() if k in ALLOWED_OPTIONS}
    if not allowed:
        return problems
    import highspy

    from .solve import quiet_highs

    probe = quiet_highs()
    for key, value in allowed.items():
        if isinstance(value, (dict, list)) or probe.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            problems.append(Problem(where, key, value, "a valid value for this HiGHS option"))
    return problems


def require_allowed_options(options: Mapping[str, Any] | None, where: str = "highs_options") -> None:
    """Raise :class:`InstanceError` when ``options`` holds a name outside the allowlist."""
    problems = option_problems(options or {}, where)
    if problems:
        raise InstanceError(problems, "solver options")
