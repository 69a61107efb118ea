"""Population-weighted roll-ups to streets and districts."""

from __future__ import annotations

import polars as pl
import pytest

from gongzhi.analytics.engine.rollup import rollup

COLUMNS = ["community_code", "indicator", "value", "score", "numerator", "denominator"]


def rows(items: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        items,
        schema={
            "community_code": pl.Utf8,
            "indicator": pl.Utf8,
            "value": pl.Float64,
            "score": pl.Float64,
            "numerator": pl.Float64,
            "denominator": pl.Float64,
        },
        orient="row",
    )


POPULATION = pl.DataFrame({"community_code": ["A", "B", "C", "D"], "population": [100, 300, 600, None]})
PARENTS = pl.DataFrame(
    {
        "community_code": ["A", "B", "C", "A", "B", "C", "D"],
        "place_code": ["S1", "S1", "S2", "D", "D", "D", "D"],
    }
)


def by_place(frame: pl.DataFrame) -> dict[tuple[str, str], tuple]:
    return {(p, i): (v, s, n, d) for p, i, v, s, n, d in frame.iter_rows()}


def test_population_weighted_means_and_sums():
    data = rows(
        [
            ("A", "I1", 0.1, 20.0, 10.0, 100.0),
            ("B", "I1", 0.3, 60.0, 90.0, 300.0),
            ("C", "I1", None, None, 0.0, 0.0),  # null: left out of the mean, still in the sums
            ("D", "I1", 0.9, 100.0, 9.0, 10.0),  # no population: weighs nothing
            ("A", "POP", 100.0, None, None, None),
            ("B", "POP", 300.0, None, None, None),
            ("C", "POP", 600.0, None, None, None),
            ("A", "EDGES", 5.0, None, None, None),
            ("B", "EDGES", 7.0, None, None, None),
            ("A", "DIM_I", None, 40.0, None, None),
            ("B", "DIM_I", None, 80.0, None, None),
            ("C", "DIM_I", None, 10.0, None, None),
        ]
    )
    out = rollup(data, POPULATION, PARENTS)
    assert out.columns == ["place_code", "indicator", "value", "score", "numerator", "denominator"]
    r = by_place(out)
    # S1 = A (100) + B (300): I1 = (0.1·100 + 0.3·300) ÷ 400 = 0.25, score (20·100 + 60·300) ÷ 400 = 50
    assert r[("S1", "I1")] == (pytest.approx(0.25), pytest.approx(50.0), 100.0, 400.0)
    # D (district) = A, B, C, D: C's I1 is null, D has no population → same mean as S1; sums over all four
    assert r[("D", "I1")] == (pytest.approx(0.25), pytest.approx(50.0), 109.0, 410.0)
    # S2 = C only, whose value is null
    assert r[("S2", "I1")] == (None, None, 0.0, 0.0)
    # counts are summed
    assert r[("S1", "POP")] == (400.0, None, None, None)
    assert r[("D", "POP")] == (1000.0, None, None, None)
    assert r[("D", "EDGES")][0] == 12.0
    # dimension rows: score = (40·100 + 80·300 + 10·600) ÷ 1000 = 34
    assert r[("D", "DIM_I")] == (None, pytest.approx(34.0), None, None)
    assert out.get_column("place_code").to_list() == sorted(out.get_column("place_code").to_list())


def test_rollup_order_and_determinism():
    data = rows(
        [
            ("A", "COMPOSITE", None, 50.0, None, None),
            ("A", "DIM_I", None, 50.0, None, None),
            ("A", "I1", 0.1, 20.0, 1.0, 10.0),
            ("B", "I1", 0.2, 40.0, 2.0, 10.0),
            ("A", "S_TRUST", 3.0, 50.0, 12.0, None),
        ]
    )
    out = rollup(data, POPULATION, PARENTS)
    assert out.filter(pl.col("place_code") == "S1").get_column("indicator").to_list() == [
        "I1",
        "S_TRUST",
        "DIM_I",
        "COMPOSITE",
    ]
    again = rollup(data.reverse(), POPULATION, PARENTS.reverse())
    assert out.write_csv() == again.write_csv()


def test_zero_population_everywhere_gives_null_means():
    data = rows([("A", "I1", 0.1, 20.0, 1.0, 10.0)])
    pop = pl.DataFrame({"community_code": ["A"], "population": [0]})
    (row,) = rollup(data, pop, PARENTS.filter(pl.col("place_code") == "S1")).iter_rows()
    assert row == ("S1", "I1", None, None, 1.0, 10.0)
