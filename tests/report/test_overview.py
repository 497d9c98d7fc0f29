"""The national picture of the china-2035 reference plan: labels that do not collide, one per city.

The label boxes are measured with matplotlib's own renderer (the same Agg
canvas that writes the PNG), not judged by eye.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spatialopt.overview import LABEL_GID, cluster_panels, core_label, overview_map
from spatialopt.report import overview_data, read_folder
from spatialopt.report_text import chinese_names

ROOT = Path(__file__).parents[2]
CHINA = ROOT / "instances" / "china-2035" / "instance.toml"
CHINA_RESULT = ROOT / "results" / "reference" / "china-2035"


def _labels(fig: object) -> list[tuple[str, object]]:
    fig.canvas.draw()  # type: ignore[attr-defined]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    return [(t.get_text(), t.get_window_extent(renderer))
            for ax in fig.axes for t in ax.texts if t.get_gid() == LABEL_GID]  # type: ignore[attr-defined]


def _overlaps(labels: list[tuple[str, object]]) -> list[tuple[str, str]]:
    return [(a, b) for i, (a, box_a) in enumerate(labels) for b, box_b in labels[i + 1:]
            if box_a.overlaps(box_b)]  # type: ignore[attr-defined]


@pytest.fixture(scope="module", params=["en", "zh"])
def national(request: pytest.FixtureRequest) -> object:
    folder = read_folder(CHINA_RESULT, CHINA)
    folder.lang = request.param
    if request.param == "zh":
        folder.names_zh = chinese_names(str(CHINA))
    data = overview_data(folder)
    assert data is not None  # the national plan sends residents into many clusters
    return data


def test_national_overview_labels_do_not_overlap(national: object) -> None:
    fig = overview_map(national)  # type: ignore[arg-type]
    labels = _labels(fig)
    assert _overlaps(labels) == []
    texts = [t for t, _ in labels]
    assert len(texts) == len(set(texts))  # a city is named once
    # Every core that sends residents is labelled, by its city's name (not "X central districts" and "X").
    flows = national.flows  # type: ignore[attr-defined]
    cities = national.cities  # type: ignore[attr-defined]
    for core in sorted(set(flows["origin"])):
        assert core_label(str(cities.loc[core, "label"])) in texts, core
    assert not [t for t in texts if t.endswith(("central districts", "中心城区"))]


def test_cluster_panels_label_every_panel_without_overlaps(national: object) -> None:
    fig = cluster_panels(national)  # type: ignore[arg-type]
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    flows, cities = national.flows, national.cities  # type: ignore[attr-defined]
    receiving = {c for c in cities.loc[flows["destination"], "cluster"] if c}
    assert len(panels) == len(receiving)  # one panel per receiving cluster
    for ax in panels:
        labels = _labels_of(fig, ax)
        assert labels, ax.get_title(loc="left")
        assert _overlaps(labels) == [], ax.get_title(loc="left")


def _labels_of(fig: object, ax: object) -> list[tuple[str, object]]:
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    fig.canvas.draw()  # type: ignore[attr-defined]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts  # type: ignore[attr-defined]
            if t.get_gid() == LABEL_GID]
