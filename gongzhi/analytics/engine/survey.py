"""The social-capital survey (METHOD.md "The survey"): scale scores per community and Cronbach's alpha per scale.

Plain Polars over the ``survey_answers`` frame (``frames.SCHEMAS``: resident_id, community_code, answered_on, item,
value), no Django. The rules, in the order they are applied:

1. **In p**: an answer counts for period p when its ``answered_on`` is in ``[p.start, p.end)``. Rows with an item id
   outside the instrument or a value outside 1–5 are ignored (the import and the services never store them).
2. **Latest answer**: a resident who answered an item more than once in p (two survey rounds in one year, say) counts
   with their latest answer to that item (the latest ``answered_on``; two answers on one day cannot be stored, and in a
   hand-made frame the higher value wins, so the result never depends on row order).
3. **Whose community**: a respondent belongs to the community of their latest answer in p (a resident who moved
   during p counts once, where they answered last), for every item.
4. **Scale score** of a community = the mean, over the scale's items, of the item means (each item mean over the
   community's respondents who answered it); 1–5. An item nobody in the community answered is left out of the mean.
   ``numerator`` = respondents (residents of the community with at least one answer to the scale's items),
   ``denominator`` = null. Only communities with respondents get rows (no survey in (c, p): no row, not 0).
5. **Cronbach's alpha** of a scale over the respondents of the comparison set (the given communities; all when None)
   who answered every item of the scale: ``alpha = k/(k−1) · (1 − Σ var(item) / var(total))`` with sample variances
   (ddof = 1), k items, total = the sum of a respondent's k answers. Null with fewer than two such respondents, or when
   the totals do not vary (alpha is then undefined).

The normalised 0–100 score (1 → 0, 5 → 100) is the scorer's: ``spec.SURVEY`` gives the goalposts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from gongzhi.analytics.survey.instrument import ITEMS, SCALE_INDICATORS, SCALE_OF, SCALES

from .periods import Period

OUTPUT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "community_code": pl.Utf8,
    "indicator": pl.Utf8,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}
LATEST_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "resident_id": pl.Utf8,
    "community_code": pl.Utf8,
    "item": pl.Utf8,
    "value": pl.Int64,
}
SCALE_ORDER: tuple[str, ...] = tuple(SCALES)
INDICATOR_ORDER: tuple[str, ...] = tuple(SCALE_INDICATORS[s] for s in SCALE_ORDER)


@dataclass(frozen=True)
class Alpha:
    """Cronbach's alpha of one scale, with the number of complete respondents it was computed over."""

    scale: str
    indicator: str
    items: int
    respondents: int  # respondents who answered every item of the scale
    value: float | None


def in_period(answers: pl.DataFrame, period: Period) -> pl.DataFrame:
    """The answers dated in p, with a known item and a Likert value (1–5)."""
    return answers.filter(
        (pl.col("answered_on") >= period.start)
        & (pl.col("answered_on") < period.end)
        & pl.col("item").is_in(list(ITEMS))
        & pl.col("value").is_between(1, 5)
    )


def latest_answers(answers: pl.DataFrame) -> pl.DataFrame:
    """One row per (respondent, item): the latest answer (rules 2 and 3 above), with the respondent's community.
    Columns resident_id, community_code, item, value (Int64), sorted by resident and instrument order."""
    rows = answers.filter(pl.col("item").is_in(list(ITEMS)) & pl.col("value").is_between(1, 5))
    if rows.is_empty():
        return pl.DataFrame(schema=LATEST_SCHEMA)
    rows = rows.select(
        pl.col("resident_id").cast(pl.Utf8),
        pl.col("community_code").cast(pl.Utf8),
        pl.col("answered_on"),
        pl.col("item").cast(pl.Utf8),
        pl.col("value").cast(pl.Int64),
    ).sort(["resident_id", "answered_on", "community_code", "item", "value"])
    # The community of each respondent's latest answer (ties on the day: the last community in code order).
    home = rows.group_by("resident_id", maintain_order=True).agg(pl.col("community_code").last())
    latest = (
        rows.sort(["resident_id", "item", "answered_on", "value"])
        .group_by(["resident_id", "item"], maintain_order=True)
        .agg(pl.col("value").last())
    )
    order = pl.DataFrame({"item": list(ITEMS), "position": list(range(len(ITEMS)))})
    return (
        latest.join(home, on="resident_id", how="left")
        .join(order, on="item", how="left")
        .sort(["resident_id", "position"])
        .select(list(LATEST_SCHEMA))
    )


def _with_scale(latest: pl.DataFrame) -> pl.DataFrame:
    return latest.with_columns(pl.col("item").replace_strict(SCALE_OF, return_dtype=pl.Utf8).alias("scale"))


def scores_of(latest: pl.DataFrame) -> pl.DataFrame:
    """Scale scores per community from ``latest_answers`` rows (rule 4): community_code, indicator, value, numerator,
    denominator; sorted by community code, then trust, norms, network, satisfaction."""
    if latest.is_empty():
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    rows = _with_scale(latest)
    item_means = (
        rows.sort(["community_code", "scale", "item"])
        .group_by(["community_code", "scale", "item"], maintain_order=True)
        .agg(pl.col("value").cast(pl.Float64).mean().alias("item_mean"))
    )
    values = item_means.group_by(["community_code", "scale"], maintain_order=True).agg(
        pl.col("item_mean").mean().alias("value")
    )
    respondents = rows.group_by(["community_code", "scale"]).agg(
        pl.col("resident_id").n_unique().cast(pl.Float64).alias("numerator")
    )
    order = pl.DataFrame(
        {
            "scale": list(SCALE_ORDER),
            "indicator": list(INDICATOR_ORDER),
            "position": list(range(len(SCALE_ORDER))),
        }
    )
    return (
        values.join(respondents, on=["community_code", "scale"], how="left")
        .join(order, on="scale", how="left")
        .sort(["community_code", "position"])
        .with_columns(pl.lit(None, dtype=pl.Float64).alias("denominator"))
        .select(
            pl.col("community_code").cast(pl.Utf8),
            pl.col("indicator").cast(pl.Utf8),
            pl.col("value").cast(pl.Float64),
            pl.col("numerator").cast(pl.Float64),
            pl.col("denominator"),
        )
    )


def alpha_of_matrix(rows: pl.DataFrame, k: int) -> float | None:
    """Alpha from complete respondents' rows (resident_id, item, value; k rows each). Null below two respondents or
    when the totals do not vary."""
    totals = rows.group_by("resident_id").agg(pl.col("value").cast(pl.Float64).sum().alias("total"))
    n = totals.height
    if n < 2 or k < 2:
        return None
    total_variance = totals.select(pl.col("total").var(ddof=1)).item()
    if total_variance is None or total_variance <= 0:
        return None
    item_variances = rows.group_by("item").agg(pl.col("value").cast(pl.Float64).var(ddof=1).alias("var"))
    summed = float(item_variances.sort("item").get_column("var").sum())
    return k / (k - 1) * (1.0 - summed / float(total_variance))


def alphas_of(latest: pl.DataFrame, communities: Iterable[str] | None = None) -> dict[str, Alpha]:
    """Cronbach's alpha of every scale (rule 5) from ``latest_answers`` rows, keyed by indicator id (S_TRUST …), in
    instrument order. ``communities`` limits the respondents to that comparison set."""
    rows = latest
    if communities is not None:
        rows = rows.filter(pl.col("community_code").is_in(sorted(set(communities))))
    out: dict[str, Alpha] = {}
    for scale in SCALE_ORDER:
        items = SCALES[scale]
        k = len(items)
        scale_rows = rows.filter(pl.col("item").is_in(list(items)))
        complete = scale_rows.group_by("resident_id").agg(pl.col("item").n_unique().alias("n")).filter(pl.col("n") == k)
        complete_rows = scale_rows.join(complete.select("resident_id"), on="resident_id", how="semi")
        indicator = SCALE_INDICATORS[scale]
        out[indicator] = Alpha(
            scale=scale,
            indicator=indicator,
            items=k,
            respondents=complete.height,
            value=alpha_of_matrix(complete_rows, k),
        )
    return out


# --- the contract (gongzhi/analytics/engine: signatures fixed) --------------------------------------------------------


def scale_scores(answers: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Rows of community_code, indicator (S_TRUST, S_NORMS, S_NETWORK, S_SATISFACTION), value = mean of item means
    (1–5), numerator = respondents, denominator = null — for the communities with answers in p."""
    return scores_of(latest_answers(in_period(answers, period)))


def cronbach_alpha(
    answers: pl.DataFrame, period: Period, communities: Iterable[str] | None = None
) -> dict[str, float | None]:
    """Cronbach's alpha per scale (keys S_TRUST, S_NORMS, S_NETWORK, S_SATISFACTION, always all four) over the
    respondents of ``communities`` (all when None) with answers in p who answered every item of the scale."""
    alphas = alphas_of(latest_answers(in_period(answers, period)), communities)
    return {indicator: a.value for indicator, a in alphas.items()}
