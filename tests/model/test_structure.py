"""On random instances over every family, the highspy and Pyomo models are the same model.

Instances come from the brute-force test's generator (every feature family of
the spec, written as TOML and loaded). For each, both back ends of the one
formulation are read back as canonical (row key, column key) -> coefficient
dicts with senses, right-hand sides, column bounds, integrality and the
objective (``same_model``), and must be equal.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from same_model import FAMILIES, assert_same_model, families_of
from support import load_dict
from test_bruteforce import tiny_instances

from spatialopt.derive import derive
from spatialopt.formulation import build

SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.data_too_large])


def formulation_of(data: dict):
    with tempfile.TemporaryDirectory() as folder:
        instance = load_dict(Path(folder), data)
    return build(instance, derive(instance))


@settings(SETTINGS, max_examples=120)
@given(tiny_instances())
def test_both_back_ends_build_the_same_model(data: dict) -> None:
    assert_same_model(formulation_of(data))


@pytest.mark.parametrize("family", FAMILIES)
def test_the_generator_reaches_every_family(family: str) -> None:
    """The instances above cover each family: hypothesis finds one with a row of it."""
    # No shrinking: any instance with the family will do.
    data = find(tiny_instances(), lambda d: any(b.family == family and b.n_rows for b in formulation_of(d).rows),
                settings=settings(SETTINGS, max_examples=300, database=None, phases=[Phase.generate]))
    assert family in families_of(assert_same_model(formulation_of(data)))
