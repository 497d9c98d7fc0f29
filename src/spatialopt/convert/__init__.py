"""Converters from benchmark file formats to spatialopt instances (spec §2).

Each converter reads a foreign file and writes an ordinary instance directory
(``instance.toml`` plus CSV tables) that :func:`spatialopt.load` reads like any
other. They never build or solve a model.

- :mod:`spatialopt.convert.orlib`: J.E. Beasley's OR-Library generalised
  assignment (gap), capacitated warehouse location (cap) and p-median (pmed)
  files, mapped onto the model as spec §4 "Classic problems are special
  cases" describes.
"""

from __future__ import annotations

from spatialopt.convert.orlib import (
    CapProblem,
    GapProblem,
    PmedProblem,
    pmed_distances,
    read_cap,
    read_gap,
    read_pmed,
    write_cap_instance,
    write_gap_instance,
    write_pmed_instance,
)

__all__ = [
    "CapProblem",
    "GapProblem",
    "PmedProblem",
    "pmed_distances",
    "read_cap",
    "read_gap",
    "read_pmed",
    "write_cap_instance",
    "write_gap_instance",
    "write_pmed_instance",
]
