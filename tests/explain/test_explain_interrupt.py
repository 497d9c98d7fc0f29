"""Ctrl-C during ``spatialopt explain`` with a process pool: the workers stop, what was answered is kept.

The command runs in a subprocess on a jingjinji-2035 plan (questions of
seconds each, two workers). SIGINT goes to the command alone (as ``kill -INT``
would send it; a terminal's Ctrl-C reaches only the command too, the workers
having their own process group): the command must forward it, end within a
few seconds, write a complete explanation whose answered rows are kept and
whose unanswered ones say so, exit 4, and leave no worker process behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from support import sigint_as_from_a_shell

from spatialopt.cli import main
from spatialopt.explain import EXPLAIN_FILES

ROOT = Path(__file__).parents[2]
JINGJINJI = ROOT / "instances" / "jingjinji-2035" / "instance.toml"
PROMPT = 30.0  # seconds from the SIGINT to the exit: far below one question's limit (600 s here)


def wait_for(path: Path, text: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_keeps_the_answers(tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    assert main(["solve", str(JINGJINJI), "--out", str(folder), "--time-limit", "20", "--threads", "1"]) == 0
    log = tmp_path / "stderr.txt"
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "spatialopt.cli", "explain", str(folder), "--workers", "2",
             "--time-limit", "600"], stdout=subprocess.PIPE, stderr=stderr, text=True,
            preexec_fn=sigint_as_from_a_shell)
        try:
            assert wait_for(log, "[1/", timeout=300), "no question was answered"
            workers = psutil.Process(process.pid).children(recursive=True)
            assert len([w for w in workers if "spawn_main" in " ".join(w.cmdline())]) == 2
            process.send_signal(signal.SIGINT)
            sent = time.monotonic()
            stdout, _ = process.communicate(timeout=120)
            took = time.monotonic() - sent
        finally:
            if process.poll() is None:
                process.kill()
    text = log.read_text()
    assert "Traceback" not in text
    assert process.returncode == 4, text
    assert took <= PROMPT, f"{took:.1f} s from the SIGINT to the exit"
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], "a worker outlived the command"
    # What was answered is written, completely: every file, the JSON whole, each table's rows.
    assert all((folder / name).exists() for name in EXPLAIN_FILES)
    record = json.loads((folder / "explain.json").read_text())
    assert record["settings"]["interrupted"] is True
    rows = [r for s in record["sections"] if s["id"] in ("moved", "staying", "cities") for r in s["rows"]]
    status = [r.get("runner_up_status", r.get("status")) for r in rows]
    assert any(s == "optimal" for s in status), "the answers before the Ctrl-C are kept"
    assert any(s == "not solved" for s in status), "the questions after it say so"
    assert not list(folder.glob("*.tmp*")) and not list(folder.glob(".*tmp*")), "a half-written file"
