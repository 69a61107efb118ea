"""From indicators to scores and a diagnosis (METHOD.md "From indicators to a diagnosis").

1. **Normalise** each scored indicator: ``100 × clip((x − lo) ÷ (hi − lo), 0, 1)`` with the goalposts of the config
   (survey scales S_TRUST, S_NORMS, S_NETWORK use their fixed goalposts 1 → 5). Unscored rows and null values get a
   null score.
2. **Weights** within each dimension, over the indicators of the dimension that have at least one scored (non-null)
   value in the frame — the core indicators in spec order, then the survey scale of the dimension when the frame has
   one:

   - ``equal``: 1 ÷ k;
   - ``entropy`` (熵权法) over the communities of the frame: for indicator j, the m_j communities with a score give
     ``p_ij = x′_ij ÷ Σ_i x′_ij`` (x′ the 0–100 score), ``e_j = −(1 ÷ ln m_j) Σ_i p_ij ln p_ij`` with 0·ln 0 = 0,
     ``d_j = 1 − e_j``, ``w_j = d_j ÷ Σ_j d_j``. Nulls are left out of m_j (each indicator uses the communities that
     have it). An indicator whose scores sum to 0, or that only one community has, tells the communities nothing
     apart: d_j = 0; a d_j below 1e-12 (a constant indicator, up to float noise) counts as 0. When every d_j of a
     dimension is 0, the weights are equal;
   - ``expert``: ``config.expert_weights`` (a missing id weighs 0), re-normalised within the dimension; all zero →
     equal.

   The weights frame holds these weights as used (each dimension sums to 1).
3. **Dimension score** of a community = Σ w_j s_j ÷ Σ w_j over its indicators with a score (nulls left out, weights
   re-normalised per community); null when it has no scored indicator in the dimension, or only ones weighing 0.
   **Composite** = mean of the community's non-null dimension scores; null when all three are null.
4. **Diagnosis** (``diagnose``): scores are compared after rounding to 1e-9. The dilemma is the dimension with the
   lowest score when that score is below the threshold; ties name every tied dimension (in order I, II, III); none
   below (or no dimension score) → no dilemma. ``weak[d]`` lists the dimension's scored indicators whose score is
   below the dimension score, worst first (ties in spec order); every dimension has a (possibly empty) list.

Everything is computed in a fixed order (sorted communities, spec-ordered columns, horizontal sums), so the same input
and config give byte-identical frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from . import spec
from .config import MeasureConfig

CODE = "community_code"
PLACE = "place_code"
ROUND = 9  # ties and comparisons at 1e-9
# 1 − e_j of a constant indicator is 0 up to float noise (~1e-16); noise must not take the weight
ENTROPY_TOLERANCE = 1e-12
DIM_ROWS: tuple[str, ...] = (*(spec.DIMENSION_ROWS[d] for d in spec.DIMENSIONS), spec.COMPOSITE)
_ORDER: dict[str, int] = {
    ind: i
    for i, ind in enumerate(
        (*spec.EXPORT_IDS, *spec.EXTRA_IDS, *(s.id for s in spec.SURVEY), *DIM_ROWS),
    )
}


@dataclass
class Diagnosis:
    community_code: str
    dilemmas: tuple[str, ...]
    weak: dict[str, list[str]] = field(default_factory=dict)

    @property
    def dilemmas_text(self) -> str:
        """``"I"``, ``"II;III"`` or ``""`` (the stored form)."""
        return ";".join(self.dilemmas)


@dataclass
class Scored:
    indicators: pl.DataFrame  # input long frame + score (Float64)
    dimensions: pl.DataFrame  # community_code, indicator (DIM_I, DIM_II, DIM_III, COMPOSITE), score
    weights: pl.DataFrame  # dimension, indicator, weight
    diagnoses: list[Diagnosis]


def goalposts_for(config: MeasureConfig) -> dict[str, tuple[float, float]]:
    """Goalposts of every scored id: the config's for the core indicators, the fixed 1 → 5 for survey scales."""
    posts: dict[str, tuple[float, float]] = {}
    for s in spec.CORE:
        if s.scored:
            assert s.lo is not None and s.hi is not None
            posts[s.id] = config.goalposts.get(s.id, (s.lo, s.hi))
    for s in spec.SURVEY:
        if s.scored:
            assert s.lo is not None and s.hi is not None
            posts[s.id] = (s.lo, s.hi)
    return posts


def normalise(values: pl.DataFrame, config: MeasureConfig) -> pl.DataFrame:
    """``values`` + ``score`` = 100 × clip((x − lo) ÷ (hi − lo), 0, 1) for scored ids, null otherwise."""
    posts = goalposts_for(config)
    lo = pl.col("indicator").replace_strict({k: v[0] for k, v in posts.items()}, default=None, return_dtype=pl.Float64)
    hi = pl.col("indicator").replace_strict({k: v[1] for k, v in posts.items()}, default=None, return_dtype=pl.Float64)
    raw = 100.0 * ((pl.col("value").cast(pl.Float64) - lo) / (hi - lo)).clip(0.0, 1.0)
    return values.with_columns(
        pl.when(pl.col("value").is_not_null() & lo.is_not_null() & pl.col("value").is_not_nan())
        .then(raw)
        .otherwise(None)
        .cast(pl.Float64)
        .alias("score")
    )


def _dimension_members(scores: pl.DataFrame) -> dict[str, list[str]]:
    """The indicators of each dimension that have ≥1 score in the frame, in spec order (core, then survey)."""
    present = set(scores.filter(pl.col("score").is_not_null()).get_column("indicator").unique().to_list())
    members: dict[str, list[str]] = {d: [] for d in spec.DIMENSIONS}
    for s in (*spec.CORE, *spec.SURVEY):
        if s.scored and s.dimension is not None and s.id in present:
            members[s.dimension].append(s.id)
    return members


def _equal(ids: list[str]) -> list[float]:
    return [1.0 / len(ids)] * len(ids) if ids else []


def entropy_weights(matrix: np.ndarray) -> list[float]:
    """Entropy weights of the columns of ``matrix`` (rows: communities, columns: indicators; x′ ≥ 0, NaN = no
    score). See the module docstring for nulls, zero sums and the all-d_j-zero case."""
    k = matrix.shape[1]
    d = np.zeros(k, dtype=np.float64)
    for j in range(k):
        column = matrix[:, j]
        column = column[~np.isnan(column)]
        m = column.shape[0]
        total = float(column.sum()) if m else 0.0
        if m < 2 or total <= 0.0:
            continue  # no information: d_j = 0
        p = column / total
        nz = p[p > 0]
        e = float(-(nz * np.log(nz)).sum() / math.log(m))
        dj = 1.0 - e
        d[j] = dj if dj > ENTROPY_TOLERANCE else 0.0
    if k == 0:
        return []
    if float(d.sum()) <= 0.0:
        return [1.0 / k] * k
    return [float(x) for x in d / d.sum()]


def _expert(ids: list[str], config: MeasureConfig) -> list[float]:
    raw = [float(config.expert_weights.get(i, 0.0)) for i in ids]
    total = sum(raw)
    if total <= 0.0:
        return _equal(ids)
    return [w / total for w in raw]


def _wide(scores: pl.DataFrame, ids: list[str]) -> pl.DataFrame:
    """community_code × the given ids, score values (null where absent), communities sorted."""
    comms = scores.select(CODE).unique().sort(CODE)
    out = comms
    for ind in ids:
        col = (
            scores.filter(pl.col("indicator") == ind)
            .group_by(CODE)
            .agg(pl.col("score").drop_nulls().first().alias(ind))  # one row per (c, id) expected
        )
        out = out.join(col, on=CODE, how="left")
    return out.sort(CODE)


def weights_for(scores: pl.DataFrame, config: MeasureConfig) -> pl.DataFrame:
    """``dimension, indicator, weight`` as used (each dimension's weights sum to 1)."""
    members = _dimension_members(scores)
    rows: list[tuple[str, str, float]] = []
    for dim in spec.DIMENSIONS:
        ids = members[dim]
        if not ids:
            continue
        if config.weighting == "entropy":
            matrix = _wide(scores, ids).select(ids).to_numpy().astype(np.float64)
            w = entropy_weights(matrix)
        elif config.weighting == "expert":
            w = _expert(ids, config)
        else:
            w = _equal(ids)
        rows.extend((dim, ind, weight) for ind, weight in zip(ids, w, strict=True))
    return pl.DataFrame(rows, schema={"dimension": pl.Utf8, "indicator": pl.Utf8, "weight": pl.Float64}, orient="row")


def dimension_scores(scores: pl.DataFrame, weights: pl.DataFrame) -> pl.DataFrame:
    """``community_code, indicator (DIM_I, DIM_II, DIM_III, COMPOSITE), score`` for every community of the frame."""
    comms = scores.select(CODE).unique().sort(CODE)
    wide = comms
    dim_cols: list[str] = []
    for dim in spec.DIMENSIONS:
        name = spec.DIMENSION_ROWS[dim]
        dim_cols.append(name)
        sub = weights.filter(pl.col("dimension") == dim)
        ids = sub.get_column("indicator").to_list()
        # the mean does not change when all weights are scaled; scaling the largest to 1 keeps equal weights exact
        largest = max(sub.get_column("weight").to_list(), default=0.0)
        ws = [w / largest if largest > 0 else w for w in sub.get_column("weight").to_list()]
        if not ids:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(name))
            continue
        block = _wide(scores, ids)
        num = pl.sum_horizontal([pl.col(i).fill_null(0.0) * w for i, w in zip(ids, ws, strict=True)])
        den = pl.sum_horizontal([pl.col(i).is_not_null().cast(pl.Float64) * w for i, w in zip(ids, ws, strict=True)])
        block = block.select(CODE, pl.when(den > 0).then(num / den).otherwise(None).cast(pl.Float64).alias(name))
        wide = wide.join(block, on=CODE, how="left")
    available = pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Float64) for c in dim_cols])
    total = pl.sum_horizontal([pl.col(c).fill_null(0.0) for c in dim_cols])
    wide = wide.with_columns(pl.when(available > 0).then(total / available).otherwise(None).alias(spec.COMPOSITE))
    long = wide.unpivot(index=CODE, on=list(DIM_ROWS), variable_name="indicator", value_name="score")
    return _sorted(long.with_columns(pl.col("score").cast(pl.Float64)))


def _sorted(frame: pl.DataFrame, code: str = CODE) -> pl.DataFrame:
    order = pl.col("indicator").replace_strict(_ORDER, default=len(_ORDER), return_dtype=pl.Int64)
    return frame.with_columns(order.alias("_order")).sort(code, "_order", "indicator").drop("_order")


def _rounded(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), ROUND)


def diagnose(dimensions: pl.DataFrame, indicators: pl.DataFrame, threshold: float) -> list[Diagnosis]:
    """One ``Diagnosis`` per community (or place: a ``place_code`` column is used when there is no
    ``community_code``) of ``dimensions``, sorted by code. ``indicators`` needs its code column, ``indicator`` and
    ``score``."""
    code = CODE if CODE in dimensions.columns else PLACE
    icode = CODE if CODE in indicators.columns else PLACE
    dims: dict[str, dict[str, float | None]] = {}
    for c, ind, s in dimensions.select(code, "indicator", "score").iter_rows():
        dims.setdefault(c, {})[ind] = _rounded(s)
    by_code: dict[str, list[tuple[str, float]]] = {}
    for c, ind, s in indicators.select(icode, "indicator", "score").filter(pl.col("score").is_not_null()).iter_rows():
        r = _rounded(s)
        if r is not None and spec.dimension_of(ind) is not None and spec.BY_ID[ind].scored:
            by_code.setdefault(c, []).append((ind, r))
    result: list[Diagnosis] = []
    for c in sorted(dims):
        scores = {d: dims[c].get(spec.DIMENSION_ROWS[d]) for d in spec.DIMENSIONS}
        known = {d: s for d, s in scores.items() if s is not None}
        dilemmas: tuple[str, ...] = ()
        if known:
            low = min(known.values())
            if low < threshold:
                dilemmas = tuple(d for d in spec.DIMENSIONS if known.get(d) == low)
        weak: dict[str, list[str]] = {}
        for d in spec.DIMENSIONS:
            level = scores[d]
            items = [(ind, s) for ind, s in by_code.get(c, []) if spec.dimension_of(ind) == d]
            below = [] if level is None else [(ind, s) for ind, s in items if s < level]
            below.sort(key=lambda t: (t[1], _ORDER.get(t[0], len(_ORDER)), t[0]))
            weak[d] = [ind for ind, _ in below]
        result.append(Diagnosis(community_code=c, dilemmas=dilemmas, weak=weak))
    return result


def score(values: pl.DataFrame, config: MeasureConfig) -> Scored:
    """Normalise, weight, score the dimensions and the composite, and diagnose (see the module docstring)."""
    scored = _sorted(normalise(values, config))
    weights = weights_for(scored, config)
    dimensions = dimension_scores(scored, weights)
    diagnoses = diagnose(dimensions, scored, config.threshold)
    return Scored(indicators=scored, dimensions=dimensions, weights=weights, diagnoses=diagnoses)
