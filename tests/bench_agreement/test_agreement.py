"""The benchmark's baseline (``bench/baseline.py``, pandas + NetworkX) and the engine agree on every core indicator
of every community (issue #9, part 3): the baseline reads the rows of the extractor's own statements (replayed, as
``bench/measure.py`` does) and computes METHOD.md independently; the engine's values are the snapshots
``compute_now`` stored."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench import baseline, measure
from bench.district import DISTRICT, Shape, generate
from gongzhi.analytics.models import Computation, IndicatorSnapshot
from gongzhi.analytics.services import compute_now
from tests.analytics_support import measured_world

pytestmark = pytest.mark.django_db


def baseline_values(period: str, scope: str = "", graph_limit: int = 50) -> Any:
    queries = measure.capture(period, scope)
    rows, _seconds = measure.floor_read(queries)
    return baseline.compute(baseline.load(rows), period, graph_limit=graph_limit)


def engine_values(computation: Computation) -> list[tuple[str, str, float | None]]:
    return list(
        IndicatorSnapshot.objects.filter(computation=computation, place__level="community").values_list(
            "place_id", "indicator", "value"
        )
    )


def known(values: Any) -> dict[str, int]:
    """Per indicator, the communities with a non-null baseline value."""
    present = values[values["value"].map(lambda v: v is not None and not math.isnan(v))]
    return present.groupby("indicator")["community_code"].nunique().to_dict()


def test_capture_reads_every_source_of_the_extractor(tree):
    queries = measure.capture("2025", "")
    sources = [source for source, _sql, _params in queries]
    assert set(baseline.COLUMNS) <= set(sources)
    assert all("LIMIT 0" not in sql for _source, sql, _params in queries)


def test_measured_world_agrees(tree):
    world = measured_world(tree)
    for period, computation in world.computations.items():
        mine = baseline_values(period)
        theirs = engine_values(computation)
        assert baseline.disagreements(mine, theirs) == [], period
        assert {c for c, _i, _v in theirs} >= set(world.community_codes)
        counts = known(mine)
        # not an agreement of nulls: every core indicator has a value somewhere in 2025
        if period == "2025":
            assert {i for i in baseline.IDS if counts.get(i, 0) > 0} >= {"I1", "I2", "I3", "I4", "I5", "II1", "II3"}


@pytest.mark.parametrize("period", ["2025", "2025Q3"])
def test_generated_district_agrees(period, tmp_path: Path):
    from gongzhi.interchange.importer import import_data

    shape = Shape(residents=1200, communities=5, streets=2, attendance=9000, seed=11, year=2025)
    generate(tmp_path, shape)
    import_data(tmp_path)
    computation = compute_now(period=period, scope_code=DISTRICT, trigger="test")
    assert computation.status == "done", computation.message
    mine = baseline_values(period, DISTRICT)
    theirs = engine_values(computation)
    assert {(c, i) for c, i, _v in theirs} >= {(c, i) for c in mine["community_code"].unique() for i in baseline.IDS}
    assert mine["community_code"].nunique() == 5
    assert baseline.disagreements(mine, theirs) == []
    counts = known(mine)
    graphs = {"III5", "III6", "III7", "NODES", "EDGES", "DENSITY"}
    assert all(counts.get(i, 0) == 5 for i in graphs)  # every community has a graph with triangles
    assert sum(1 for i in baseline.IDS if counts.get(i, 0) > 0) >= len(baseline.IDS) - 2


def test_disagreements_are_reported():
    import pandas as pd

    mine = pd.DataFrame({"community_code": ["A", "A", "B"], "indicator": ["I1", "I2", "I1"], "value": [0.5, None, 1.0]})
    assert baseline.disagreements(mine, [("A", "I1", 0.5), ("A", "I2", None), ("B", "I1", 1.0)]) == []
    assert baseline.disagreements(mine, [("A", "I1", 0.5 + 1e-6), ("A", "I2", 0.0), ("B", "I1", 1.0)]) == [
        ("A", "I1", 0.5, 0.5 + 1e-6),
        ("A", "I2", None, 0.0),
    ]
    assert baseline.disagreements(mine, [("A", "I1", 0.5), ("A", "I2", None)]) == [("B", "I1", 1.0, None)]
