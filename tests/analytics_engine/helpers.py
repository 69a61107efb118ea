"""Tiny hand-made engine inputs: ``world(...)`` builds an ``EngineInput`` from rows (tuples in the column order of
``frames.SCHEMAS`` or dicts), every other frame empty; ``values(...)`` reads a result frame as a dict."""

from __future__ import annotations

from typing import Any

import polars as pl

from gongzhi.analytics.engine.frames import EngineInput, frame
from gongzhi.analytics.engine.indicators import compute_indicators
from gongzhi.analytics.engine.keys import encode_ids
from gongzhi.analytics.engine.periods import Period

Triple = tuple[float | None, float | None, float | None]


def world(communities: tuple[str, ...] = ("A", "B"), missing: tuple[str, ...] = (), **rows: list[Any]) -> EngineInput:
    data = EngineInput(communities=frame("communities", [(c,) for c in communities]), missing=frozenset(missing))
    for name, items in rows.items():
        setattr(data, name, frame(name, items))
    return data


def run(data: EngineInput, period: str = "2025", *, graph_limit: int = 50) -> dict[tuple[str, str], Triple]:
    """The indicators of ``data`` as a dict — checked to be the same with the ids coded as integers (what the
    pipeline computes on, ``keys.encode_ids``)."""
    out = compute_indicators(data, Period.parse(period), graph_limit=graph_limit)
    coded = compute_indicators(encode_ids(data), Period.parse(period), graph_limit=graph_limit)
    assert coded.equals(out), "the indicators differ with coded ids"
    return {(c, i): (v, n, d) for c, i, v, n, d in out.iter_rows()}


def value(result: dict[tuple[str, str], Triple], code: str, indicator: str) -> float | None:
    return result[(code, indicator)][0]


def long(rows: list[tuple[str, str, float | None]]) -> pl.DataFrame:
    """A values frame (community_code, indicator, value, numerator, denominator) from (code, id, value)."""
    return pl.DataFrame(
        [(c, i, v, None, None) for c, i, v in rows],
        schema={
            "community_code": pl.Utf8,
            "indicator": pl.Utf8,
            "value": pl.Float64,
            "numerator": pl.Float64,
            "denominator": pl.Float64,
        },
        orient="row",
    )
