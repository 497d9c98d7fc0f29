"""sha256 of each file of a result folder, timings aside: the files a v1.1 instance's solve writes.

Run as a script with the main branch's package on ``PYTHONPATH`` to record
them (``tests/model/data/v11_results.json``); ``test_v11_unchanged.py``
solves the same instances with this branch's code and compares. solution.json
is hashed with ``solver.seconds`` set to 0; run.json (timings, paths) is left
out.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[2]
SOLVED = [
    "instances/hand/budget.toml", "instances/hand/capacity-override.toml", "instances/hand/site-choice.toml",
    "instances/hand/soft-target.toml", "instances/tutorial/instance.toml", "instances/jingjinji-2035/instance.toml",
    "instances/pearl-delta-2035/instance.toml",
]


def result_files(path: Path) -> dict[str, object]:
    """``{"instance_sha256": ..., "files": {file name: sha256}}`` of the folder a solve of ``path`` writes."""
    import spatialopt

    instance = spatialopt.load(path)
    try:  # the spec's model to the letter, the v1.1 search alone: ties fall as they did
        from spatialopt.strong_rows import Strengthening

        spec_model: dict[str, object] = {"strengthen": Strengthening.none(), "start": False}
    except ImportError:  # the main branch's package, before strengthening and starting plans existed
        spec_model = {}
    result = spatialopt.solve(instance, gap=1e-6, **spec_model)
    with tempfile.TemporaryDirectory() as folder:
        out = result.write(Path(folder) / "out")
        hashes = {}
        for file in sorted(out.iterdir()):
            if file.name == "run.json":
                continue
            data = file.read_bytes()
            if file.name == "solution.json":
                solution = json.loads(data)
                solution["solver"]["seconds"] = 0.0
                data = json.dumps(solution, indent=2).encode()
            hashes[file.name] = hashlib.sha256(data).hexdigest()
    return {"instance_sha256": instance.sha256, "files": hashes}


if __name__ == "__main__":
    json.dump({name: result_files(ROOT / name) for name in SOLVED}, sys.stdout, indent=1, sort_keys=True)
    print()
