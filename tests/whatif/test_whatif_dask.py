"""A local process pool and a real Dask cluster of worker processes give identical sweeps and fronts.

The cluster is ``distributed.LocalCluster(n_workers=2, processes=True,
threads_per_worker=1)`` on the loopback interface: two worker processes, as
a remote cluster would have. Instances travel pickled to both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import distributed
import numpy as np
import pytest

import spatialopt
from spatialopt.cli import main
from spatialopt.scenarios import pareto_front, run_sweep, task_options

ROOT = Path(__file__).parents[2]
TUTORIAL = ROOT / "instances" / "tutorial" / "instance.toml"
OPTIONS = task_options(spatialopt.solver_options(gap=1e-9))


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def tutorial() -> spatialopt.Instance:
    return spatialopt.load(TUTORIAL)


def scenarios(base: spatialopt.Instance) -> dict[str, spatialopt.Instance]:
    return {
        "budget-cut": base.with_changes(scale={"policy.budget": 0.8}),
        "no-xiongan": base.with_changes(exclude_cities=["xiongan"]),
        "far-hospitals": base.with_changes(set={"types.hospital.max_km": 250.0}),
    }


def test_sweep_on_pool_and_dask_is_identical(tutorial: spatialopt.Instance, scheduler: str) -> None:
    pool = run_sweep(tutorial, scenarios(tutorial), workers=2, options=OPTIONS)
    dask = run_sweep(tutorial, scenarios(tutorial), scheduler=scheduler, options=OPTIONS)
    assert list(pool.outcomes) == list(dask.outcomes) == ["base", "budget-cut", "no-xiongan", "far-hospitals"]
    for name, a in pool.outcomes.items():
        b = dask.outcomes[name]
        assert a.status == b.status == spatialopt.SolveStatus.OPTIMAL
        assert a.result.objective == b.result.objective
        assert np.array_equal(a.result.units, b.result.units) and np.array_equal(a.result.opened, b.result.opened)
        assert a.result.instance.sha256 == b.result.instance.sha256
    columns = ["scenario", "status", "objective", "destinations_changed", "changed_facilities"]
    assert pool.comparison[columns].equals(dask.comparison[columns])


def test_front_on_pool_and_dask_is_identical(tutorial: spatialopt.Instance, scheduler: str) -> None:
    pool = pareto_front(tutorial, 4, workers=2, options=OPTIONS)
    dask = pareto_front(tutorial, 4, workers=2, scheduler=scheduler, options=OPTIONS)
    columns = ["target_scale", "moved_residents", "objective", "status", "plan_from"]
    assert pool.table[columns].equals(dask.table[columns])
    for a, b in zip(pool.results, dask.results):
        assert np.array_equal(a.units, b.units)


def test_cli_sweep_with_scheduler(tmp_path: Path, scheduler: str, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "study.toml"
    study.write_text('[[scenarios]]\nname = "budget-cut"\nscale = { "policy.budget" = 0.8 }\n', encoding="utf-8")
    code = main(["sweep", str(TUTORIAL), str(study), "--scheduler", scheduler, "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert f"on the Dask cluster at {scheduler}" in err and "[2/2]" in out
    assert (tmp_path / "out" / "budget-cut" / "solution.json").is_file()


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from spatialopt.scenarios import parallel

    monkeypatch.setattr(parallel, "DASK_CONNECT_TIMEOUT", "1s")
    study = tmp_path / "study.toml"
    study.write_text('[[scenarios]]\nname = "a"\nscale = { "policy.budget" = 0.8 }\n', encoding="utf-8")
    import socket

    with socket.socket() as s:  # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["sweep", str(TUTORIAL), str(study), "--scheduler", f"tcp://127.0.0.1:{port}",
                 "--out", str(tmp_path / "out")])
    assert code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in capsys.readouterr().err
