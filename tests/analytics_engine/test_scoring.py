"""Normalisation, weights (equal, entropy worked by hand, expert), dimension scores, composite and diagnosis."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from gongzhi.analytics.engine.config import MeasureConfig
from gongzhi.analytics.engine.indicators import compute_indicators
from gongzhi.analytics.engine.periods import Period
from gongzhi.analytics.engine.scoring import diagnose, entropy_weights, normalise, score

from .helpers import long
from .test_indicators import full_world


def scores_of(frame: pl.DataFrame) -> dict[tuple[str, str], float | None]:
    return {(c, i): s for c, i, s in frame.select("community_code", "indicator", "score").iter_rows()}


def weights_of(frame: pl.DataFrame) -> dict[str, float]:
    return {i: w for _, i, w in frame.iter_rows()}


# --- normalise ---------------------------------------------------------------------------------------------------


def test_normalise_clips_to_the_goalposts():
    values = long(
        [
            ("A", "I1", 0.25),  # 0 → 0.5: 50
            ("A", "I2", 1.2),  # above hi: 100
            ("A", "II1", -3.0),  # below lo: 0
            ("A", "III5", -0.5),  # −1 → 0: 50
            ("A", "III7", 0.9),  # reported, not scored
            ("A", "E1", 12.0),
            ("A", "POP", 100.0),
            ("A", "I3", None),  # null stays null
            ("A", "S_TRUST", 3.0),  # survey 1 → 5: 50
            ("A", "S_SATISFACTION", 4.0),  # reported
        ]
    )
    s = scores_of(normalise(values, MeasureConfig()))
    assert s[("A", "I1")] == 50.0
    assert s[("A", "I2")] == 100.0
    assert s[("A", "II1")] == 0.0
    assert s[("A", "III5")] == 50.0
    assert s[("A", "S_TRUST")] == 50.0
    for ind in ("III7", "E1", "POP", "I3", "S_SATISFACTION"):
        assert s[("A", ind)] is None, ind


def test_goalposts_come_from_the_config():
    config = MeasureConfig.from_overrides(goalposts={"I1": [0.1, 0.3]})
    s = scores_of(normalise(long([("A", "I1", 0.25)]), config))
    assert s[("A", "I1")] == pytest.approx(75.0)


# --- equal weights, dimensions, composite ------------------------------------------------------------------------


def test_equal_weights_leave_out_nulls_per_community():
    values = long(
        [
            ("A", "I1", 0.5),  # 100
            ("A", "I2", 0.4),  # 50
            ("A", "I3", None),
            ("A", "II1", 2.5),  # 50
            ("A", "III1", None),
            ("B", "I1", 0.0),  # 0
            ("B", "I2", None),
            ("B", "I3", 0.3),  # 50
            ("B", "II1", None),
            ("B", "III1", 3.0),  # 100
        ]
    )
    scored = score(values, MeasureConfig())
    weights = weights_of(scored.weights)
    # dimension I has I1, I2, I3 with a score somewhere: 1/3 each; II has II1; III has III1
    assert weights == pytest.approx({"I1": 1 / 3, "I2": 1 / 3, "I3": 1 / 3, "II1": 1.0, "III1": 1.0})
    d = scores_of(scored.dimensions)
    assert d[("A", "DIM_I")] == 75.0  # (100 + 50) / 2
    assert d[("A", "DIM_II")] == 50.0
    assert d[("A", "DIM_III")] is None
    assert d[("A", "COMPOSITE")] == pytest.approx(62.5)  # mean of the two known dimensions
    assert d[("B", "DIM_I")] == 25.0
    assert d[("B", "DIM_II")] is None
    assert d[("B", "DIM_III")] == 100.0
    assert d[("B", "COMPOSITE")] == pytest.approx(62.5)
    assert scored.dimensions.get_column("indicator").to_list() == ["DIM_I", "DIM_II", "DIM_III", "COMPOSITE"] * 2


def test_composite_is_null_without_any_dimension():
    scored = score(long([("A", "E1", 3.0), ("A", "I1", None)]), MeasureConfig())
    assert scores_of(scored.dimensions)[("A", "COMPOSITE")] is None
    assert scored.diagnoses[0].dilemmas == ()


def test_survey_scales_are_one_more_indicator_in_their_dimension():
    values = long([("A", "I1", 0.5), ("A", "S_TRUST", 1.0), ("B", "I1", 0.25), ("A", "S_SATISFACTION", 5.0)])
    scored = score(values, MeasureConfig())
    assert weights_of(scored.weights) == {"I1": 0.5, "S_TRUST": 0.5}
    d = scores_of(scored.dimensions)
    assert d[("A", "DIM_I")] == 50.0  # (100 + 0) / 2
    assert d[("B", "DIM_I")] == 50.0  # no survey in B: I1 alone


# --- entropy weights ---------------------------------------------------------------------------------------------


def test_entropy_weights_worked_example():
    # Three communities, dimension I with two indicators.
    # I1 (0 → 0.5): values 0.1, 0.2, 0.2 → scores 20, 40, 40 → p = 0.2, 0.4, 0.4
    #   e1 = −(0.2 ln 0.2 + 2 · 0.4 ln 0.4) ÷ ln 3 = 1.0549201679 ÷ 1.0986122887 = 0.9602297179; d1 = 0.0397702821
    # I2 (0 → 0.8): values 0.8, 0, 0.4 → scores 100, 0, 50 → p = 2/3, 0, 1/3 (0 · ln 0 = 0)
    #   e2 = −(2/3 ln 2/3 + 1/3 ln 1/3) ÷ ln 3 = 0.6365141683 ÷ 1.0986122887 = 0.5793801643; d2 = 0.4206198357
    # w1 = 0.0397702821 ÷ 0.4603901178 = 0.0863838745, w2 = 0.9136161255
    values = long(
        [("X", "I1", 0.1), ("Y", "I1", 0.2), ("Z", "I1", 0.2), ("X", "I2", 0.8), ("Y", "I2", 0.0), ("Z", "I2", 0.4)]
    )
    scored = score(values, MeasureConfig(weighting="entropy"))
    w = weights_of(scored.weights)
    assert w["I1"] == pytest.approx(0.0863838745, abs=1e-10)
    assert w["I2"] == pytest.approx(0.9136161255, abs=1e-10)
    d = scores_of(scored.dimensions)
    # X = 0.0863838745 · 20 + 0.9136161255 · 100 = 93.0892900439; Y = 3.4553549780; Z = 49.1361612555
    assert d[("X", "DIM_I")] == pytest.approx(93.0892900439, abs=1e-9)
    assert d[("Y", "DIM_I")] == pytest.approx(3.4553549780, abs=1e-9)
    assert d[("Z", "DIM_I")] == pytest.approx(49.1361612555, abs=1e-9)


def test_entropy_weights_edge_cases():
    nan = math.nan
    # a column summing to 0 and a constant column carry no information (d = 0); the third takes all the weight
    w = entropy_weights(np.array([[0.0, 50.0, 10.0], [0.0, 50.0, 0.0]]))
    assert w == [0.0, 0.0, 1.0]
    # every d_j = 0 → equal weights
    assert entropy_weights(np.array([[0.0, 30.0], [0.0, 30.0]])) == [0.5, 0.5]
    # one community: ln 1 = 0 → no information → equal
    assert entropy_weights(np.array([[10.0, 90.0, 40.0]])) == pytest.approx([1 / 3] * 3)
    # nulls are left out: column 0 has communities (100, 0) of 3 → p = 1, 0 over m = 2 → e = 0 → d = 1;
    # column 1 (20, 20, 20) → d = 0
    assert entropy_weights(np.array([[100.0, 20.0], [0.0, 20.0], [nan, 20.0]])) == [1.0, 0.0]
    assert entropy_weights(np.zeros((3, 0))) == []


# --- expert weights ----------------------------------------------------------------------------------------------


def test_expert_weights_are_renormalised_within_each_dimension():
    values = long([("A", "I1", 0.5), ("A", "I2", 0.0), ("A", "I3", 0.6), ("A", "II1", 5.0), ("A", "II2", 0.0)])
    config = MeasureConfig(weighting="expert", expert_weights={"I1": 3.0, "I2": 1.0, "II1": 0.0, "II2": 0.0})
    scored = score(values, config)
    # I: 3, 1, 0 (I3 not given) → 0.75, 0.25, 0; II: all zero → equal
    assert weights_of(scored.weights) == {"I1": 0.75, "I2": 0.25, "I3": 0.0, "II1": 0.5, "II2": 0.5}
    d = scores_of(scored.dimensions)
    assert d[("A", "DIM_I")] == 75.0  # 0.75 · 100 + 0.25 · 0 (+ 0 · 100)
    assert d[("A", "DIM_II")] == 50.0


def test_a_dimension_whose_available_indicators_all_weigh_zero_is_null():
    values = long([("A", "I1", 0.5), ("B", "I1", None), ("B", "I2", 0.4)])
    scored = score(values, MeasureConfig(weighting="expert", expert_weights={"I1": 1.0}))
    d = scores_of(scored.dimensions)
    assert d[("A", "DIM_I")] == 100.0
    assert d[("B", "DIM_I")] is None  # B has only I2, which weighs 0


# --- diagnosis ---------------------------------------------------------------------------------------------------


def dims(rows: list[tuple[str, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"community_code": pl.Utf8, "indicator": pl.Utf8, "score": pl.Float64}, orient="row"
    )


def test_diagnosis_lowest_dimension_below_threshold():
    d = dims([("A", "DIM_I", 40.0), ("A", "DIM_II", 55.0), ("A", "DIM_III", 70.0), ("B", "DIM_I", 60.0)])
    d = pl.concat([d, dims([("B", "DIM_II", 80.0), ("B", "DIM_III", 90.0)])])
    result = diagnose(d, dims([]), 60.0)
    assert [(x.community_code, x.dilemmas) for x in result] == [("A", ("I",)), ("B", ())]  # 60 is not below 60
    assert result[0].dilemmas_text == "I"
    assert result[1].dilemmas_text == ""
    assert result[1].weak == {"I": [], "II": [], "III": []}


def test_diagnosis_ties_name_every_tied_dimension():
    d = dims(
        [
            ("A", "DIM_I", 30.0),
            ("A", "DIM_II", 50.0),
            ("A", "DIM_III", 30.0 + 1e-11),  # equal after rounding to 1e-9
            ("B", "DIM_I", 30.0),
            ("B", "DIM_II", 30.0 + 1e-6),  # not a tie
            ("B", "DIM_III", None),
        ]
    )
    result = diagnose(d, dims([]), 60.0)
    assert result[0].dilemmas == ("I", "III")
    assert result[0].dilemmas_text == "I;III"
    assert result[1].dilemmas == ("I",)


def test_weak_indicators_worst_first_ties_in_spec_order():
    values = long(
        [
            ("A", "I1", 0.05),  # 10
            ("A", "I2", 0.8),  # 100
            ("A", "I3", 0.06),  # 10 (tie with I1: spec order)
            ("A", "I4", 0.0),  # 0
            ("A", "I5", 0.5),  # 100
            ("A", "II1", 5.0),  # 100 → II = 100, nothing below
            ("A", "III5", -1.0),  # 0
            ("A", "III6", 1.0),  # 100
            ("A", "III7", 0.0),  # reported: never weak
        ]
    )
    scored = score(values, MeasureConfig())
    (diag,) = scored.diagnoses
    # I = (10 + 100 + 10 + 0 + 100) / 5 = 44; III = 50 → dilemma I
    assert diag.dilemmas == ("I",)
    assert diag.weak == {"I": ["I4", "I1", "I3"], "II": [], "III": ["III5"]}


def test_diagnose_works_for_rolled_up_places():
    d = pl.DataFrame(
        {"place_code": ["S", "S", "S"], "indicator": ["DIM_I", "DIM_II", "DIM_III"], "score": [80.0, 20.0, 20.0]}
    )
    i = pl.DataFrame({"place_code": ["S", "S"], "indicator": ["II1", "II2"], "score": [10.0, 30.0]})
    (diag,) = diagnose(d, i, 60.0)
    assert (diag.community_code, diag.dilemmas) == ("S", ("II", "III"))
    assert diag.weak["II"] == ["II1"]


# --- determinism -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("weighting", ["equal", "entropy", "expert"])
def test_scoring_is_byte_identical_and_keeps_the_input_rows(weighting):
    period = Period.parse("2025")
    values = compute_indicators(full_world(), period)
    config = MeasureConfig(weighting=weighting, expert_weights={"I1": 2.0, "II3": 1.0})
    first, second = score(values, config), score(values.reverse(), config)
    for attr in ("indicators", "dimensions", "weights"):
        assert getattr(first, attr).write_csv() == getattr(second, attr).write_csv()
    assert first.diagnoses == second.diagnoses
    assert first.indicators.drop("score").equals(values)
    for dim in ("I", "II", "III"):
        total = first.weights.filter(pl.col("dimension") == dim).get_column("weight").sum()
        assert total == pytest.approx(1.0)
