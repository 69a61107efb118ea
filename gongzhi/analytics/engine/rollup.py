"""Roll community results up to streets, districts and above (METHOD.md: "Results roll up … by population-weighted
mean").

For each place and indicator, over the place's child communities:

- ``value`` and ``score``: the mean weighted by N(c,p) over the children whose value (score) is not null, weights
  re-normalised. A child with an unknown (null) or zero population weighs nothing; with no weight left the result is
  null. This holds for every row, the dimension scores and the composite included (the place's composite is the
  population-weighted mean of its communities' composites);
- ``numerator`` and ``denominator``: sums over the children that have them (null when none has);
- the counts POP, NODES and EDGES: ``value`` is the sum over the children that have one.

Sums are taken over rows sorted by community code, in list order, so the same input gives the same bits.
"""

from __future__ import annotations

import polars as pl

from . import spec

CODE = "community_code"
PLACE = "place_code"
COUNTS: tuple[str, ...] = ("POP", "NODES", "EDGES")
_ORDER: dict[str, int] = {
    ind: i
    for i, ind in enumerate(
        (
            *spec.EXPORT_IDS,
            *spec.EXTRA_IDS,
            *(s.id for s in spec.SURVEY),
            *(spec.DIMENSION_ROWS[d] for d in spec.DIMENSIONS),
            spec.COMPOSITE,
        )
    )
}
OUTPUT_SCHEMA: dict[str, type[pl.DataType]] = {
    PLACE: pl.Utf8,
    "indicator": pl.Utf8,
    "value": pl.Float64,
    "score": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}


def _weighted(column: str) -> list[pl.Expr]:
    """Per row: weight × x and the weight itself where x is known (both null otherwise)."""
    known = pl.col(column).is_not_null() & pl.col("_w").is_not_null()
    return [
        pl.when(known).then(pl.col("_w") * pl.col(column)).otherwise(None).alias(f"_{column}_wx"),
        pl.when(known).then(pl.col("_w")).otherwise(None).alias(f"_{column}_w"),
    ]


def _list_sum(name: str) -> pl.Expr:
    """Sum of the non-null list items in list order; null when every item is null."""
    return pl.when(pl.col(name).list.drop_nulls().list.len() > 0).then(pl.col(name).list.drop_nulls().list.sum())


def rollup(rows: pl.DataFrame, population: pl.DataFrame, parents: pl.DataFrame) -> pl.DataFrame:
    """``rows``: community_code, indicator, value, score, numerator, denominator. ``population``: community_code,
    population. ``parents``: community_code, place_code (one row per ancestor to roll up to). Returns place_code,
    indicator, value, score, numerator, denominator, sorted by place code then the spec order."""
    for col in ("value", "score", "numerator", "denominator"):
        if col not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.Float64).alias(col))
    weights = (
        population.select(CODE, pl.col("population").cast(pl.Float64).alias("_w"))
        .group_by(CODE)
        .agg(pl.col("_w").max())
        .with_columns(pl.when(pl.col("_w") > 0).then(pl.col("_w")).otherwise(None).alias("_w"))
    )
    links = parents.select(CODE, PLACE).drop_nulls().unique()
    joined = (
        rows.select(
            CODE,
            "indicator",
            *(pl.col(c).cast(pl.Float64) for c in ("value", "score", "numerator", "denominator")),
        )
        .join(links, on=CODE, how="inner")
        .join(weights, on=CODE, how="left")
        .with_columns(*_weighted("value"), *_weighted("score"))
        .sort(PLACE, "indicator", CODE)
    )
    lists = joined.group_by(PLACE, "indicator", maintain_order=True).agg(
        "_value_wx", "_value_w", "_score_wx", "_score_w", "value", "numerator", "denominator"
    )

    def mean(column: str) -> pl.Expr:
        den = _list_sum(f"_{column}_w")
        return pl.when(den > 0).then(_list_sum(f"_{column}_wx") / den).otherwise(None)

    is_count = pl.col("indicator").is_in(COUNTS)
    out = lists.select(
        PLACE,
        "indicator",
        pl.when(is_count).then(_list_sum("value")).otherwise(mean("value")).alias("value"),
        mean("score").alias("score"),
        _list_sum("numerator").alias("numerator"),
        _list_sum("denominator").alias("denominator"),
    )
    order = pl.col("indicator").replace_strict(_ORDER, default=len(_ORDER), return_dtype=pl.Int64)
    return (
        out.with_columns(order.alias("_order"))
        .sort(PLACE, "_order", "indicator")
        .drop("_order")
        .select([pl.col(c).cast(t) for c, t in OUTPUT_SCHEMA.items()])
    )
