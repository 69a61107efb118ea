"""The mechanism test of METHOD.md: does education (X = E1) go with better governance (Y = G1, or survey
satisfaction) through social capital (M = a dimension score or the composite)?

Input: a panel with one row per (community, period) and the columns ``community``, ``period``, ``X``, ``M``, ``Y``
(pandas or Polars). Rows with a null (or non-finite) X, M or Y are dropped, and the number dropped is reported.

- :func:`mediation`: pooled OLS (statsmodels) of the a path ``M ~ X``, the b path ``Y ~ M + X`` (b and the direct
  effect c′), and the total effect ``Y ~ X`` (c), with standard errors clustered by community; the indirect effect
  a·b with a percentile bootstrap interval that resamples *communities* with replacement (all periods of a drawn
  community come together), from a seeded numpy Generator, so the same panel and seed give the same interval.
- :func:`fixed_effects`: the two-way fixed-effects regression of Y on M (community and period effects;
  linearmodels ``PanelOLS``) with community-clustered standard errors.

Both return plain, JSON-serialisable dicts with numbers rounded to 6 significant digits. A model that cannot be
estimated (too few rows, communities or periods, no variation) gives ``{"estimable": False, "reason": <code>,
"message": <English text>, …}`` rather than an exception; callers translate the code for display.

This is association in observational data: nothing here identifies a causal effect.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("community", "period", "X", "M", "Y")
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20260101
DEFAULT_ALPHA = 0.05

# Fewest complete rows / communities for the mediation models (3 coefficients in the b path, and clustering and the
# community bootstrap need several communities).
MIN_ROWS = 5
MIN_COMMUNITIES = 3
# The bootstrap interval needs this share of resamples to be estimable (a resample whose X or M does not vary is
# skipped and counted).
MIN_VALID_SHARE = 0.5

REASONS: dict[str, str] = {
    "no_rows": "no row has X, M and Y",
    "too_few_rows": "too few complete rows",
    "too_few_communities": "too few communities",
    "too_few_periods": "too few periods",
    "constant_x": "X does not vary",
    "constant_m": "M does not vary",
    "constant_y": "Y does not vary",
    "collinear": "M and X are perfectly collinear",
    "no_repeated_communities": "no community is observed in two periods",
    "absorbed": "M does not vary within communities and periods (absorbed by the fixed effects)",
    "no_residual_df": "no residual degrees of freedom after the fixed effects",
    "not_finite": "the estimate is not finite",
}


# --- helpers ------------------------------------------------------------------------------------------------------


def rnd(value: Any, digits: int = 6) -> float | None:
    """A number rounded to ``digits`` significant digits (deterministic; -0.0 → 0.0); None for null/NaN/inf."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    if number == 0:
        return 0.0
    out = float(f"{number:.{digits}g}")
    return 0.0 if out == 0 else out


def _to_pandas(panel: Any) -> pd.DataFrame:
    import pandas as pd  # heavy: loaded when the test runs, not when a page imports this module

    if isinstance(panel, pd.DataFrame):
        frame = panel
    elif hasattr(panel, "to_dict") and hasattr(panel, "schema"):  # a Polars frame (no pyarrow needed this way)
        frame = pd.DataFrame(panel.to_dict(as_series=False))
    else:
        raise TypeError("panel must be a pandas or Polars DataFrame")
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"panel lacks the columns {missing}")
    return frame


def prepare(panel: Any) -> tuple[pd.DataFrame, int]:
    """The complete rows (X, M, Y present and finite), sorted by community and period, and how many were dropped.
    Raises ValueError when a (community, period) appears twice."""
    import pandas as pd  # heavy: loaded when the test runs, not when a page imports this module

    frame = _to_pandas(panel)
    out = pd.DataFrame(
        {
            "community": frame["community"].astype(str),
            "period": frame["period"].astype(str),
            "X": pd.to_numeric(frame["X"], errors="coerce").astype(float),
            "M": pd.to_numeric(frame["M"], errors="coerce").astype(float),
            "Y": pd.to_numeric(frame["Y"], errors="coerce").astype(float),
        }
    )
    if out.duplicated(["community", "period"]).any():
        raise ValueError("each (community, period) must appear once")
    values = out[["X", "M", "Y"]].to_numpy()
    keep = np.isfinite(values).all(axis=1)
    dropped = int((~keep).sum())
    complete = out[keep].sort_values(["community", "period"], kind="mergesort").reset_index(drop=True)
    return complete, dropped


def _counts(frame: pd.DataFrame, dropped: int) -> dict[str, int]:
    return {
        "n_rows": len(frame),
        "n_communities": int(frame["community"].nunique()),
        "n_periods": int(frame["period"].nunique()),
        "dropped_rows": dropped,
    }


def _not_estimable(reason: str, counts: dict[str, int], **extra: Any) -> dict[str, Any]:
    return {"estimable": False, "reason": reason, "message": REASONS[reason], **counts, **extra}


def _varies(values: np.ndarray) -> bool:
    return len(values) > 1 and float(np.ptp(values)) > 1e-12 * max(1.0, float(np.max(np.abs(values))))


def _design(*columns: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(columns[0])), *columns])


def _ols(y: np.ndarray, design: np.ndarray, groups: np.ndarray) -> Any:
    from statsmodels.regression.linear_model import OLS

    model = OLS(y, design)
    if len(np.unique(groups)) >= 2:
        return model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    return model.fit()


def _path(fit: Any, index: int) -> dict[str, float | None]:
    return {
        "coef": rnd(fit.params[index]),
        "se": rnd(fit.bse[index]),
        "p": rnd(fit.pvalues[index]),
    }


# --- the bootstrap ------------------------------------------------------------------------------------------------


def community_draws(n_communities: int, *, resamples: int, seed: int) -> np.ndarray:
    """``resamples`` × ``n_communities`` community indices drawn with replacement (numpy PCG64 from ``seed``)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_communities, size=(resamples, n_communities))


# Resamples are processed in blocks, so that memory stays small however many there are.
_BLOCK = 512
# A resample is skipped when (in standardised units) X or M hardly varies in it, or M is (nearly) a line of X.
_DEGENERATE = 1e-10


def bootstrap_indirect(
    frame: pd.DataFrame, *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
) -> np.ndarray:
    """a·b for each community resample (NaN where a resample cannot be estimated), in draw order.

    A community drawn k times contributes its rows k times, so every moment OLS needs is Σ over communities of
    k × the community's own sums: the resample's a (``M ~ X``) and b (``Y ~ M + X``) follow from the per-community
    sums of 1, x, m, y, x², m², xm, xy, my (data centred and scaled on the whole panel first, for precision) in
    closed form. This equals statsmodels OLS on the resampled rows (tests check it) at a fraction of the cost.
    """
    import pandas as pd  # heavy: loaded when the test runs, not when a page imports this module

    codes, communities = pd.factorize(frame["community"], sort=True)
    n_groups = len(communities)
    scale: dict[str, float] = {}
    cols = []
    for name in ("X", "M", "Y"):
        values = frame[name].to_numpy(float)
        scale[name] = float(np.std(values)) or 1.0
        cols.append((values - float(np.mean(values))) / scale[name])
    x, m, y = cols
    # Back from standardised units: a = a* · sd(M)/sd(X), b = b* · sd(Y)/sd(M).
    unscale = (scale["M"] / scale["X"]) * (scale["Y"] / scale["M"])
    terms = np.column_stack([np.ones_like(x), x, m, y, x * x, m * m, x * m, x * y, m * y])
    per_group = np.zeros((n_groups, terms.shape[1]))
    np.add.at(per_group, codes, terms)
    draws = community_draws(n_groups, resamples=resamples, seed=seed)
    out = np.empty(resamples)
    for start in range(0, resamples, _BLOCK):
        block = draws[start : start + _BLOCK]
        offsets = (np.arange(len(block)) * n_groups)[:, None]
        counts = np.bincount((block + offsets).ravel(), minlength=len(block) * n_groups)
        sums = counts.reshape(len(block), n_groups).astype(float) @ per_group
        n, sx, sm, sy, sxx, smm, sxm, sxy, smy = sums.T
        cxx = sxx - sx * sx / n
        cmm = smm - sm * sm / n
        cxm = sxm - sx * sm / n
        cxy = sxy - sx * sy / n
        cmy = smy - sm * sy / n
        det = cxx * cmm - cxm * cxm
        with np.errstate(divide="ignore", invalid="ignore"):
            a = cxm / cxx
            b = (cxx * cmy - cxm * cxy) / det
            bad = (cxx <= _DEGENERATE * n) | (cmm <= _DEGENERATE * n) | (det <= _DEGENERATE * cxx * cmm)
        out[start : start + len(block)] = np.where(bad, np.nan, a * b * unscale)
    return out


# --- the two analyses ---------------------------------------------------------------------------------------------


def mediation(
    panel: Any,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    alpha: float = DEFAULT_ALPHA,
) -> dict[str, Any]:
    """The a path (M ~ X), the b path and direct effect c′ (Y ~ M + X), the total effect c (Y ~ X), each with
    community-clustered standard errors and p-values, and the indirect effect a·b with its percentile bootstrap
    interval at level 1 − ``alpha`` over ``resamples`` community resamples drawn from ``seed``."""
    import pandas as pd  # heavy: loaded when the test runs, not when a page imports this module

    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be within (0, 1)")
    frame, dropped = prepare(panel)
    counts = _counts(frame, dropped)
    if counts["n_rows"] == 0:
        return _not_estimable("no_rows", counts)
    if counts["n_communities"] < MIN_COMMUNITIES:
        return _not_estimable("too_few_communities", counts, minimum=MIN_COMMUNITIES)
    if counts["n_rows"] < MIN_ROWS:
        return _not_estimable("too_few_rows", counts, minimum=MIN_ROWS)
    x = frame["X"].to_numpy(float)
    m = frame["M"].to_numpy(float)
    y = frame["Y"].to_numpy(float)
    if not _varies(x):
        return _not_estimable("constant_x", counts)
    if not _varies(m):
        return _not_estimable("constant_m", counts)
    if not _varies(y):
        return _not_estimable("constant_y", counts)
    design_b = _design(m, x)
    if np.linalg.matrix_rank(design_b) < 3:
        return _not_estimable("collinear", counts)
    groups, _ = pd.factorize(frame["community"], sort=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_a = _ols(m, _design(x), groups)
        fit_b = _ols(y, design_b, groups)
        fit_c = _ols(y, _design(x), groups)
    a = float(fit_a.params[1])
    b = float(fit_b.params[1])
    if not (math.isfinite(a) and math.isfinite(b)):
        return _not_estimable("not_finite", counts)
    boot = bootstrap_indirect(frame, resamples=resamples, seed=seed)
    valid = boot[np.isfinite(boot)]
    indirect: dict[str, Any] = {
        "coef": rnd(a * b),
        "ci_low": None,
        "ci_high": None,
        "boot_se": None,
        "resamples": resamples,
        "resamples_valid": len(valid),
    }
    if len(valid) >= 2 and len(valid) >= MIN_VALID_SHARE * resamples:
        low, high = np.quantile(valid, [alpha / 2, 1 - alpha / 2])
        indirect.update(ci_low=rnd(low), ci_high=rnd(high), boot_se=rnd(np.std(valid, ddof=1)))
    return {
        "estimable": True,
        **counts,
        "a": _path(fit_a, 1),
        "b": _path(fit_b, 1),
        "direct": _path(fit_b, 2),
        "total": _path(fit_c, 1),
        "indirect": indirect,
        "alpha": alpha,
        "seed": seed,
    }


def fixed_effects(panel: Any) -> dict[str, Any]:
    """Y on M with community and period fixed effects (``PanelOLS(entity_effects=True, time_effects=True)``) and
    standard errors clustered by community."""
    import pandas as pd  # heavy: loaded when the test runs, not when a page imports this module
    from linearmodels.panel import PanelOLS
    from linearmodels.panel.utility import AbsorbingEffectError

    frame, dropped = prepare(panel)
    counts = _counts(frame, dropped)
    if counts["n_rows"] == 0:
        return _not_estimable("no_rows", counts)
    if counts["n_communities"] < 2:
        return _not_estimable("too_few_communities", counts, minimum=2)
    if counts["n_periods"] < 2:
        return _not_estimable("too_few_periods", counts, minimum=2)
    if int(frame.groupby("community")["period"].nunique().max()) < 2:
        return _not_estimable("no_repeated_communities", counts)
    if not _varies(frame["M"].to_numpy(float)):
        return _not_estimable("constant_m", counts)
    if not _varies(frame["Y"].to_numpy(float)):
        return _not_estimable("constant_y", counts)
    # linearmodels wants a numeric (or date) time index: the periods in their sorted order.
    order = {key: i for i, key in enumerate(sorted(frame["period"].unique(), key=period_sort_key))}
    data = pd.DataFrame(
        {"Y": frame["Y"].to_numpy(float), "M": frame["M"].to_numpy(float)},
        index=pd.MultiIndex.from_arrays(
            [frame["community"].to_numpy(), frame["period"].map(order).to_numpy()], names=["community", "period"]
        ),
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = PanelOLS(data["Y"], data[["M"]], entity_effects=True, time_effects=True).fit(
                cov_type="clustered", cluster_entity=True
            )
    except AbsorbingEffectError:
        return _not_estimable("absorbed", counts)
    except ValueError as exc:
        if "degrees of freedom" in str(exc):
            return _not_estimable("no_residual_df", counts)
        raise
    coef, se, p = float(fit.params["M"]), float(fit.std_errors["M"]), float(fit.pvalues["M"])
    if not (math.isfinite(coef) and math.isfinite(se)):
        return _not_estimable("not_finite", counts)
    return {
        "estimable": True,
        **counts,
        "coef": rnd(coef),
        "se": rnd(se),
        "p": rnd(p),
        "r2": rnd(fit.rsquared),  # of the model after the two-way effects are taken out
        "df_resid": int(fit.df_resid),
    }


def period_sort_key(key: str) -> tuple[int, int, str]:
    """ "2024" < "2024Q1" < … < "2025": by year, the whole year before its quarters; anything else last, by text."""
    from .periods import Period, PeriodError

    try:
        period = Period.parse(key)
    except PeriodError:
        return (10_000, 0, key)
    return (period.year, period.quarter or 0, key)
