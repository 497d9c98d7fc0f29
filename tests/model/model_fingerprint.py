"""A fingerprint of the model built for an instance: sha256 of the highspy arrays, keys and names.

Run as a script with the package of the main branch on ``PYTHONPATH`` to
record fingerprints of v1.1 models (``tests/model/data/v11_models.json``);
``test_v11_unchanged.py`` rebuilds them with this branch's code and compares.
Only what any version of the formulation exposes is read: the matrices of
``spatialopt.matrix.build_matrices`` and the Pyomo model's component names.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parents[2]
# Every v1.1 instance of the repository that solves in seconds (the orlib ones are large and many).
INSTANCES = [
    "instances/hand/budget.toml", "instances/hand/capacity-override.toml", "instances/hand/site-choice.toml",
    "instances/hand/soft-target.toml", "instances/tutorial/instance.toml",
    "instances/jingjinji-2035/instance.toml", "instances/yangtze-delta-2035/instance.toml",
    "instances/pearl-delta-2035/instance.toml", "instances/chengyu-2035/instance.toml",
    "instances/china-2035/instance.toml",
]


def fingerprint(path: Path) -> dict[str, str]:
    import spatialopt
    from spatialopt.derive import derive
    from spatialopt.formulation import build
    from spatialopt.matrix import matrices_from

    instance = spatialopt.load(path)
    form = build(instance, derive(instance))
    m = matrices_from(form)
    h = hashlib.sha256()
    for array in (m.cost, m.col_lower, m.col_upper, m.integer, m.row_lower, m.row_upper, m.a_start, m.a_index,
                  m.a_value):
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(json.dumps([(b.name, [str(k) for k in b.keys]) for b in form.columns]).encode())
    h.update(json.dumps([(b.family, [str(k) for k in b.keys]) for b in form.rows]).encode())
    return {"instance_sha256": instance.sha256, "model_sha256": h.hexdigest()}


if __name__ == "__main__":
    out = {name: fingerprint(ROOT / name) for name in INSTANCES}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
