"""The built wheel, installed outside the checkout, finds its solver profiles (issue 12, item 6).

Before, profiles were found through ``Path(__file__).parents[2] / "solvers"``:
after ``pip install .``, run from another folder, ``--profile exact`` failed and
the default profile's time limit and seed were silently dropped. The wheel
now ships the repository's ``solvers/*.toml`` as the package data
``spatialopt.solvers``.

The test builds the wheel from a copy of the sources (nothing is written into
the checkout), installs it with ``--no-deps`` into a fresh virtual
environment and lends that environment this one's dependencies through a
``.pth`` line (so nothing is downloaded and this environment's editable
spatialopt stays invisible: a plain path in a ``.pth`` file does not run the
``.pth`` files found there). Then it solves the tutorial from an empty folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"


def _run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=600, check=False)


@pytest.mark.slow
def test_wheel_installed_elsewhere_applies_the_shipped_profiles(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("src", "solvers"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path / "dist", source)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("spatialopt-*.whl")

    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    installed = _run(python, "-m", "pip", "install", "--no-deps", "--quiet", wheel)
    assert installed.returncode == 0, installed.stderr
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    (Path(purelib) / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "solvers").mkdir(parents=True)  # a local default.toml must not be applied
    (elsewhere / "solvers" / "default.toml").write_text("[highs]\ntime_limit = 1.0\nrandom_seed = 99\n")
    where = _run(python, "-c", "import spatialopt; print(spatialopt.__file__)", cwd=elsewhere)
    assert where.stdout.strip().startswith(purelib), where.stdout + where.stderr

    exact = tomllib.loads((ROOT / "solvers" / "exact.toml").read_text(encoding="utf-8"))["highs"]
    default = tomllib.loads((ROOT / "solvers" / "default.toml").read_text(encoding="utf-8"))["highs"]
    for profile, expected in (("exact", exact), (None, default)):
        out = tmp_path / f"result-{profile}"
        argv = ["solve", TUTORIAL, "--out", out] + (["--profile", profile] if profile else [])
        solved = _run(env / "bin" / "spatialopt", *argv, cwd=elsewhere)
        assert solved.returncode == 0, solved.stderr
        options = json.loads((out / "solution.json").read_text(encoding="utf-8"))["solver"]["options"]
        assert options == expected  # time limit, seed and gaps of the shipped profile, nothing else
    assert exact["mip_rel_gap"] == 1e-9 and exact["time_limit"] == 3600.0 and exact["random_seed"] == 0
