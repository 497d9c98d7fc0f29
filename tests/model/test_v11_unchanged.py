"""Every v1.1 instance of the repository builds exactly the model it built before spec v2.

The fingerprints in ``data/v11_models.json`` were recorded by
``model_fingerprint.py`` with the main branch's package (spec v1.1, before
periods existed): sha256 of the highspy arrays (costs, bounds, integrality,
row bounds, the CSR matrix) and of every column and row key. The same
fingerprint from this code must match bit for bit. An instance whose files
changed since (its sha256 differs) is no longer the instance recorded, and is
skipped with that reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from model_fingerprint import INSTANCES, ROOT, fingerprint

RECORDED = json.loads((Path(__file__).parent / "data" / "v11_models.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", INSTANCES)
def test_v11_model_is_unchanged(name: str) -> None:
    now = fingerprint(ROOT / name)
    before = RECORDED[name]
    if now["instance_sha256"] != before["instance_sha256"]:
        pytest.skip(f"{name} changed since its v1.1 model was recorded")
    assert now["model_sha256"] == before["model_sha256"]
