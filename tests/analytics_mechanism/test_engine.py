"""The mechanism engine (no database): mediation with a community bootstrap, two-way fixed effects, degenerate
inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.api as sm

from gongzhi.analytics.engine import mechanism as mech

TRUE_A, TRUE_B, TRUE_DIRECT = 2.0, 3.0, 0.5


def planted(
    n_communities: int = 60, periods: tuple[str, ...] = ("2023", "2024", "2025"), seed: int = 7
) -> pd.DataFrame:
    """M = 2X + noise, Y = 3M + 0.5X + noise, with a community-level shock in X shared by its periods."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_communities):
        shock = rng.normal(0, 1)
        for p in periods:
            x = rng.normal(5, 2) + shock
            m = TRUE_A * x + rng.normal(0, 1)
            y = TRUE_B * m + TRUE_DIRECT * x + rng.normal(0, 1)
            rows.append((f"C{c:03d}", p, x, m, y))
    return pd.DataFrame(rows, columns=list(mech.COLUMNS))


def test_mediation_recovers_planted_paths():
    result = mech.mediation(planted(), resamples=500)
    assert result["estimable"] is True
    assert result["n_rows"] == 180 and result["n_communities"] == 60 and result["n_periods"] == 3
    assert result["dropped_rows"] == 0
    assert result["a"]["coef"] == pytest.approx(TRUE_A, abs=0.1)
    assert result["b"]["coef"] == pytest.approx(TRUE_B, abs=0.15)
    assert result["direct"]["coef"] == pytest.approx(TRUE_DIRECT, abs=0.35)
    assert result["total"]["coef"] == pytest.approx(TRUE_A * TRUE_B + TRUE_DIRECT, abs=0.3)
    # OLS on one sample: total = direct + a·b exactly (up to the rounding to 6 significant digits).
    assert result["total"]["coef"] == pytest.approx(
        result["direct"]["coef"] + result["a"]["coef"] * result["b"]["coef"], rel=1e-4
    )
    indirect = result["indirect"]
    assert indirect["coef"] == pytest.approx(result["a"]["coef"] * result["b"]["coef"], rel=1e-4)
    assert indirect["ci_low"] < TRUE_A * TRUE_B < indirect["ci_high"]
    assert indirect["ci_low"] < indirect["coef"] < indirect["ci_high"]
    assert indirect["resamples"] == indirect["resamples_valid"] == 500
    for path in ("a", "b", "total"):
        assert result[path]["p"] < 1e-6 and result[path]["se"] > 0


def test_no_relation_gives_an_interval_around_zero():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        [(f"C{c}", p, rng.normal(), rng.normal(), rng.normal()) for c in range(40) for p in ("2024", "2025")],
        columns=list(mech.COLUMNS),
    )
    result = mech.mediation(frame, resamples=1000)
    assert result["indirect"]["ci_low"] < 0 < result["indirect"]["ci_high"]
    assert result["a"]["p"] > 0.01 or result["b"]["p"] > 0.01


def test_point_estimates_and_clustered_errors_are_statsmodels():
    frame = planted(n_communities=20)
    result = mech.mediation(frame, resamples=10)
    groups = pd.factorize(frame["community"], sort=True)[0]
    fit = sm.OLS(frame["Y"], sm.add_constant(frame[["M", "X"]])).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    assert result["b"]["coef"] == mech.rnd(fit.params["M"])
    assert result["b"]["se"] == mech.rnd(fit.bse["M"])
    assert result["direct"]["p"] == mech.rnd(fit.pvalues["X"])
    unclustered = sm.OLS(frame["Y"], sm.add_constant(frame[["M", "X"]])).fit()
    assert result["b"]["se"] != mech.rnd(unclustered.bse["M"])


def test_fast_bootstrap_equals_statsmodels_on_the_resampled_rows():
    frame, _ = mech.prepare(planted(n_communities=15))
    communities = sorted(frame["community"].unique())
    fast = mech.bootstrap_indirect(frame, resamples=25, seed=11)
    draws = mech.community_draws(len(communities), resamples=25, seed=11)
    for i, draw in enumerate(draws):
        # The resample as data: each drawn community's rows, as many times as it was drawn.
        sample = pd.concat([frame[frame["community"] == communities[g]] for g in draw], ignore_index=True)
        a = sm.OLS(sample["M"], sm.add_constant(sample[["X"]])).fit().params["X"]
        b = sm.OLS(sample["Y"], sm.add_constant(sample[["M", "X"]])).fit().params["M"]
        assert fast[i] == pytest.approx(a * b, rel=1e-9)


def test_same_seed_same_result_other_seed_other_interval():
    frame = planted(n_communities=30)
    first = mech.mediation(frame, resamples=400, seed=42)
    again = mech.mediation(frame, resamples=400, seed=42)
    other = mech.mediation(frame, resamples=400, seed=43)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert (first["indirect"]["ci_low"], first["indirect"]["ci_high"]) != (
        other["indirect"]["ci_low"],
        other["indirect"]["ci_high"],
    )
    assert first["a"] == other["a"]  # only the bootstrap depends on the seed


def test_row_order_and_polars_input_do_not_matter():
    frame = planted(n_communities=25)
    shuffled = frame.sample(frac=1.0, random_state=1)
    as_polars = pl.from_dict({c: frame[c].tolist() for c in frame.columns})
    base = mech.mediation(frame, resamples=300)
    assert mech.mediation(shuffled, resamples=300) == base
    assert mech.mediation(as_polars, resamples=300) == base
    assert mech.fixed_effects(shuffled) == mech.fixed_effects(frame) == mech.fixed_effects(as_polars)


def test_rows_with_nulls_are_dropped_and_counted():
    frame = planted(n_communities=20)
    holes = frame.copy()
    holes.loc[0, "X"] = None
    holes.loc[5, "M"] = np.nan
    holes.loc[9, "Y"] = np.inf
    result = mech.mediation(holes, resamples=200)
    assert result["dropped_rows"] == 3 and result["n_rows"] == 57
    assert result == {**mech.mediation(frame.drop(index=[0, 5, 9]), resamples=200), "dropped_rows": 3}
    fe = mech.fixed_effects(holes)
    assert fe["dropped_rows"] == 3 and fe["n_rows"] == 57


def test_results_are_json_and_rounded():
    result = mech.mediation(planted(n_communities=10), resamples=100)
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result
    coef = result["a"]["coef"]
    assert coef == float(f"{coef:.6g}")
    assert mech.rnd(-0.0) == 0.0 and str(mech.rnd(-1e-30 * 0)) == "0.0"
    assert mech.rnd(float("nan")) is None and mech.rnd(None) is None and mech.rnd(float("inf")) is None
    assert mech.rnd(123456789.0) == 123457000.0


def test_fixed_effects_remove_community_and_period_confounding():
    """Y = 3M + community effect + period effect + noise, with M high where the community effect is high: pooled OLS
    is biased, the two-way FE estimate is not; and it is the LSDV coefficient."""
    rng = np.random.default_rng(21)
    rows = []
    period_effect = {"2022": 0.0, "2023": 4.0, "2024": -3.0, "2025": 6.0}
    for c in range(40):
        alpha = rng.normal(0, 5)
        for p, gamma in period_effect.items():
            m = alpha + gamma + rng.normal(0, 1)
            y = 3.0 * m + 4 * alpha - 2 * gamma + rng.normal(0, 1)
            rows.append((f"C{c:02d}", p, 0.0, m, y))
    frame = pd.DataFrame(rows, columns=list(mech.COLUMNS))
    fe = mech.fixed_effects(frame)
    assert fe["estimable"] is True and fe["n_communities"] == 40 and fe["n_periods"] == 4
    assert fe["coef"] == pytest.approx(3.0, abs=0.1)
    assert fe["se"] > 0 and fe["p"] < 1e-6 and 0.9 <= fe["r2"] <= 1
    pooled = sm.OLS(frame["Y"], sm.add_constant(frame[["M"]])).fit().params["M"]
    assert abs(pooled - 3.0) > 1.0
    dummies = pd.get_dummies(frame[["community", "period"]], drop_first=True, dtype=float)
    lsdv = sm.OLS(frame["Y"], sm.add_constant(pd.concat([frame[["M"]], dummies], axis=1))).fit()
    assert fe["coef"] == mech.rnd(lsdv.params["M"])


def test_fixed_effects_on_an_unbalanced_panel():
    frame = planted(n_communities=12).iloc[1:]  # the first community lacks one period
    fe = mech.fixed_effects(frame)
    assert fe["estimable"] is True and fe["n_rows"] == 35


def _frame(rows):
    return pd.DataFrame(rows, columns=list(mech.COLUMNS))


@pytest.mark.parametrize(
    ("rows", "mediation_reason", "fe_reason"),
    [
        pytest.param([], "no_rows", "no_rows", id="empty"),
        pytest.param([("A", p, None, 1.0, 2.0) for p in ("2024", "2025")], "no_rows", "no_rows", id="all-null"),
        pytest.param(
            [("A", p, float(i), 2.0 * i + i % 2, 3.0 * i) for i, p in enumerate(("2022", "2023", "2024", "2025"))],
            "too_few_communities",
            "too_few_communities",
            id="one-community",
        ),
        pytest.param(
            [
                (f"C{c}", p, 5.0, c + 0.4 * i * (c % 3), 2.0 * c + i * (c % 2))
                for c in range(6)
                for i, p in enumerate("12")
            ],
            "constant_x",
            None,
            id="constant-x",
        ),
        pytest.param(
            [(f"C{c}", p, c + 0.5 * i, 7.0, c * 2.0 + i) for c in range(6) for i, p in enumerate(("2024", "2025"))],
            "constant_m",
            "constant_m",
            id="constant-m",
        ),
        pytest.param(
            [(f"C{c}", p, c + 0.5 * i, c + 0.5 * i * (c % 3), 1.0) for c in range(6) for i, p in enumerate("12")],
            "constant_y",
            "constant_y",
            id="constant-y",
        ),
        pytest.param(
            [
                (f"C{c}", p, c + i * (c % 3), 2 * (c + i * (c % 3)) + 1, c * i)
                for c in range(6)
                for i, p in enumerate("12")
            ],
            "collinear",
            None,
            id="m-is-a-line-of-x",
        ),
        pytest.param(
            [(f"C{c}", "2025", float(c), c * 2.0 + c % 3, c * 1.5 - c % 2) for c in range(8)],
            None,
            "too_few_periods",
            id="one-period",
        ),
        pytest.param(
            [(f"C{c}", "2024" if c % 2 else "2025", float(c), c * 2.0 + c % 3, c - c % 2) for c in range(8)],
            None,
            "no_repeated_communities",
            id="no-community-twice",
        ),
        pytest.param(
            [(f"C{c}", p, c + i * 0.3, float(c), c + i) for c in range(6) for i, p in enumerate(("2024", "2025"))],
            None,
            "absorbed",
            id="m-fixed-within-community",
        ),
        pytest.param(
            [
                ("A", "1", 0.0, 0.0, 1.0),
                ("A", "2", 1.0, 1.0, 3.0),
                ("B", "1", 2.0, 2.0, 2.0),
                ("B", "2", 3.0, 5.0, 7.0),
            ],
            "too_few_communities",
            "no_residual_df",
            id="two-by-two",
        ),
    ],
)
def test_degenerate_inputs_are_not_estimable(rows, mediation_reason, fe_reason):
    frame = _frame(rows)
    med = mech.mediation(frame, resamples=50)
    fe = mech.fixed_effects(frame)
    if mediation_reason is None:
        assert med["estimable"] is True
    else:
        assert med["estimable"] is False and med["reason"] == mediation_reason, med
        assert med["message"] == mech.REASONS[mediation_reason]
    if fe_reason is None:
        assert fe["estimable"] is True
    else:
        assert fe["estimable"] is False and fe["reason"] == fe_reason, fe
    json.dumps([med, fe], allow_nan=False)


def test_few_valid_resamples_give_no_interval():
    """Only resamples that hold both A and B can be estimated (without A, X is constant; without B, M is exactly
    X): about 44% of them for three communities, below the half needed for an interval."""
    rows = [("A", "2024", 0.0, 0.0, 1.0), ("A", "2025", 0.0, 0.0, 2.5)]
    rows += [("B", "2024", 1.0, 2.0, 4.0), ("B", "2025", 1.0, 3.0, 3.0)]
    rows += [("C", "2024", 1.0, 1.0, 2.0), ("C", "2025", 1.0, 1.0, 5.0)]
    result = mech.mediation(_frame(rows), resamples=400, seed=5)
    assert result["estimable"] is True
    indirect = result["indirect"]
    assert 120 < indirect["resamples_valid"] < 200
    assert indirect["ci_low"] is None and indirect["ci_high"] is None and indirect["boot_se"] is None
    draws = mech.community_draws(3, resamples=400, seed=5)
    both = sum(1 for d in draws if 0 in d and 1 in d)
    assert indirect["resamples_valid"] == both


def test_bad_arguments_raise():
    frame = planted(n_communities=5)
    with pytest.raises(ValueError, match="once"):
        mech.mediation(pd.concat([frame, frame.iloc[:1]]))
    with pytest.raises(ValueError, match="columns"):
        mech.mediation(frame.drop(columns=["Y"]))
    with pytest.raises(ValueError):
        mech.mediation(frame, resamples=0)
    with pytest.raises(ValueError):
        mech.mediation(frame, alpha=1.5)
    with pytest.raises(TypeError):
        mech.mediation([1, 2, 3])


def test_two_thousand_resamples_on_a_few_hundred_rows_are_fast():
    import time

    frame = planted(n_communities=150)  # 450 rows
    mech.mediation(frame, resamples=10)  # imports warmed
    started = time.perf_counter()
    result = mech.mediation(frame, resamples=2000)
    mech.fixed_effects(frame)
    assert result["indirect"]["resamples_valid"] == 2000
    assert time.perf_counter() - started < 2.0
