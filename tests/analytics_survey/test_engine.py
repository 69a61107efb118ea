"""The survey engine (engine.survey) on hand-computed tiny frames: scale scores, Cronbach's alpha (also against a
direct numpy computation on random data), the period, the latest answer, whose community, nulls and edge cases."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from gongzhi.analytics.engine import spec
from gongzhi.analytics.engine.frames import SCHEMAS, empty, frame
from gongzhi.analytics.engine.periods import Period
from gongzhi.analytics.engine.survey import (
    OUTPUT_SCHEMA,
    alphas_of,
    cronbach_alpha,
    latest_answers,
    scale_scores,
)
from gongzhi.analytics.survey.instrument import ITEMS, SCALES

Y2025 = Period.parse("2025")
ALL_NULL = {"S_TRUST": None, "S_NORMS": None, "S_NETWORK": None, "S_SATISFACTION": None}


def rows_for(resident: str, community: str, day: str, values: dict[str, int]) -> list[dict]:
    return [
        {"resident_id": resident, "community_code": community, "answered_on": day, "item": i, "value": v}
        for i, v in values.items()
    ]


def trust(a: int, b: int, c: int) -> dict[str, int]:
    return {"T1": a, "T2": b, "T3": c}


def as_dict(scores: pl.DataFrame) -> dict[tuple[str, str], tuple[float, float]]:
    return {(c, i): (v, n) for c, i, v, n, _d in scores.iter_rows()}


def numpy_alpha(matrix: np.ndarray) -> float:
    k = matrix.shape[1]
    return k / (k - 1) * (1 - matrix.var(axis=0, ddof=1).sum() / matrix.sum(axis=1).var(ddof=1))


# --- scale scores -------------------------------------------------------------------------------------------------


def test_scale_score_is_the_mean_of_item_means_with_respondents():
    answers = frame(
        "survey_answers",
        rows_for("r1", "A", "2025-03-01", trust(1, 2, 3))
        + rows_for("r2", "A", "2025-03-02", trust(2, 2, 4))
        + rows_for("r3", "B", "2025-05-01", trust(5, 5, 5) | {"N1": 4, "N2": 2})
        # r4 answered T1 only: counts for T1's mean and as a respondent of the scale
        + rows_for("r4", "A", "2025-06-01", {"T1": 3}),
    )
    scores = scale_scores(answers, Y2025)
    assert dict(scores.schema) == OUTPUT_SCHEMA
    got = as_dict(scores)
    # A: T1 mean (1+2+3)/3 = 2, T2 (2+2)/2 = 2, T3 (3+4)/2 = 3.5 → (2 + 2 + 3.5)/3 = 2.5; three respondents
    assert got[("A", "S_TRUST")] == (pytest.approx(2.5), 3.0)
    assert got[("B", "S_TRUST")] == (5.0, 1.0)
    # B norms: only N1 and N2 answered: the missing item is left out of the mean
    assert got[("B", "S_NORMS")] == (3.0, 1.0)
    # sorted by community, then the instrument's scale order; no rows for scales nobody answered
    assert [(c, i) for c, i, *_ in scores.iter_rows()] == [("A", "S_TRUST"), ("B", "S_TRUST"), ("B", "S_NORMS")]
    assert scores.get_column("denominator").null_count() == scores.height


def test_every_scale_and_the_indicator_ids_of_the_spec():
    answers = frame("survey_answers", rows_for("r1", "A", "2025-01-01", dict(zip(ITEMS, [1, 2, 3] * 4, strict=True))))
    scores = scale_scores(answers, Y2025)
    assert scores.get_column("indicator").to_list() == [s.id for s in spec.SURVEY]
    assert scores.get_column("value").to_list() == [2.0, 2.0, 2.0, 2.0]


def test_only_answers_in_the_period_count():
    answers = frame(
        "survey_answers",
        rows_for("r1", "A", "2024-12-31", trust(1, 1, 1))
        + rows_for("r2", "A", "2025-01-01", trust(4, 4, 4))
        + rows_for("r3", "A", "2025-03-31", trust(2, 2, 2))
        + rows_for("r4", "A", "2025-04-01", trust(5, 5, 5)),
    )
    q1 = as_dict(scale_scores(answers, Period.parse("2025Q1")))
    assert q1 == {("A", "S_TRUST"): (3.0, 2.0)}
    assert as_dict(scale_scores(answers, Period.parse("2024"))) == {("A", "S_TRUST"): (1.0, 1.0)}
    assert as_dict(scale_scores(answers, Period.parse("2025Q2"))) == {("A", "S_TRUST"): (5.0, 1.0)}
    assert scale_scores(answers, Period.parse("2023")).is_empty()


def test_a_resident_counts_once_with_their_latest_answer_in_the_period():
    answers = frame(
        "survey_answers",
        rows_for("r1", "A", "2025-02-01", trust(1, 1, 1))
        + rows_for("r1", "A", "2025-09-01", trust(5, 4, 3))  # the second round replaces the first
        + rows_for("r1", "A", "2026-01-05", trust(2, 2, 2))  # after the period
        + rows_for("r2", "A", "2025-05-01", trust(1, 2, 3)),
    )
    got = as_dict(scale_scores(answers, Y2025))
    assert got == {("A", "S_TRUST"): (pytest.approx(((5 + 1) / 2 + (4 + 2) / 2 + (3 + 3) / 2) / 3), 2.0)}
    # Row order does not matter.
    assert as_dict(scale_scores(answers.reverse(), Y2025)) == got


def test_a_resident_who_moved_counts_where_they_answered_last():
    answers = frame(
        "survey_answers",
        rows_for("r1", "A", "2025-02-01", trust(1, 1, 1) | {"N1": 2, "N2": 2, "N3": 2})
        + rows_for("r1", "B", "2025-08-01", trust(5, 5, 5)),
    )
    got = as_dict(scale_scores(answers, Y2025))
    # All r1's latest answers (the norms from February too) count for B, where they answered last.
    assert got == {("B", "S_TRUST"): (5.0, 1.0), ("B", "S_NORMS"): (2.0, 1.0)}
    latest = latest_answers(answers)
    assert set(latest.get_column("community_code")) == {"B"}


def test_unknown_items_and_values_out_of_range_are_ignored():
    answers = frame(
        "survey_answers",
        [
            *rows_for("r1", "A", "2025-02-01", trust(4, 4, 4) | {"X9": 5}),
            {"resident_id": "r2", "community_code": "A", "answered_on": "2025-02-01", "item": "T1", "value": 9},
        ],
    )
    assert as_dict(scale_scores(answers, Y2025)) == {("A", "S_TRUST"): (4.0, 1.0)}


def test_no_answers_no_rows():
    assert scale_scores(empty("survey_answers"), Y2025).is_empty()
    assert dict(scale_scores(empty("survey_answers"), Y2025).schema) == OUTPUT_SCHEMA
    assert cronbach_alpha(empty("survey_answers"), Y2025) == ALL_NULL


# --- Cronbach's alpha ---------------------------------------------------------------------------------------------


def test_alpha_by_hand():
    # Trust answers of four respondents (T1, T2, T3):
    #   (1,2,2) (2,2,3) (4,3,4) (5,5,4)
    # item variances (ddof=1): T1 var(1,2,4,5) = 3.3333…, T2 var(2,2,3,5) = 2.0, T3 var(2,3,4,4) = 0.9166…
    # totals 5, 7, 11, 14: var = 16.25
    # alpha = 3/2 · (1 − 6.25/16.25) = 0.923076…
    data = [("r1", (1, 2, 2)), ("r2", (2, 2, 3)), ("r3", (4, 3, 4)), ("r4", (5, 5, 4))]
    answers = frame("survey_answers", [r for rid, v in data for r in rows_for(rid, "A", "2025-04-01", trust(*v))])
    alpha = cronbach_alpha(answers, Y2025)
    assert alpha["S_TRUST"] == pytest.approx(1.5 * (1 - 6.25 / 16.25))
    assert alpha["S_TRUST"] == pytest.approx(numpy_alpha(np.array([v for _r, v in data], dtype=float)))
    assert {k: v for k, v in alpha.items() if k != "S_TRUST"} == {
        "S_NORMS": None,
        "S_NETWORK": None,
        "S_SATISFACTION": None,
    }


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_alpha_matches_numpy_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    # A latent trait plus noise, clipped to 1–5: correlated items, like real answers.
    trait = rng.normal(3, 1, size=(n, 1))
    matrix = np.clip(np.rint(trait + rng.normal(0, 0.8, size=(n, len(ITEMS)))), 1, 5).astype(int)
    rows = []
    for r in range(n):
        rows += rows_for(f"r{r:03d}", "AB"[r % 2], "2025-06-01", dict(zip(ITEMS, matrix[r].tolist(), strict=True)))
    answers = frame("survey_answers", rows)
    alpha = cronbach_alpha(answers, Y2025)
    for scale, items in SCALES.items():
        cols = [ITEMS.index(i) for i in items]
        indicator = {"trust": "S_TRUST", "norms": "S_NORMS", "network": "S_NETWORK", "satisfaction": "S_SATISFACTION"}
        expected = numpy_alpha(matrix[:, cols].astype(float))
        assert alpha[indicator[scale]] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # The comparison set: community A's respondents only.
    only_a = cronbach_alpha(answers, Y2025, communities=["A"])
    a_rows = matrix[[r for r in range(n) if r % 2 == 0]]
    assert only_a["S_NETWORK"] == pytest.approx(numpy_alpha(a_rows[:, [6, 7, 8]].astype(float)), rel=1e-12)


def test_alpha_counts_only_complete_respondents():
    answers = frame(
        "survey_answers",
        rows_for("r1", "A", "2025-04-01", trust(1, 2, 2))
        + rows_for("r2", "A", "2025-04-01", trust(2, 2, 3))
        + rows_for("r3", "A", "2025-04-01", {"T1": 5, "T2": 5}),  # no T3: left out of trust's alpha
    )
    details = alphas_of(latest_answers(answers))
    assert details["S_TRUST"].respondents == 2
    assert details["S_TRUST"].value == pytest.approx(numpy_alpha(np.array([[1, 2, 2], [2, 2, 3]], dtype=float)))


def test_alpha_is_null_below_two_respondents_or_without_variance():
    one = frame("survey_answers", rows_for("r1", "A", "2025-04-01", trust(1, 2, 3)))
    assert cronbach_alpha(one, Y2025)["S_TRUST"] is None
    same_totals = frame(
        "survey_answers",
        rows_for("r1", "A", "2025-04-01", trust(1, 5, 3)) + rows_for("r2", "A", "2025-04-01", trust(5, 1, 3)),
    )
    assert cronbach_alpha(same_totals, Y2025)["S_TRUST"] is None  # totals 9 and 9
    all_same = frame(
        "survey_answers",
        rows_for("r1", "A", "2025-04-01", trust(3, 3, 3)) + rows_for("r2", "A", "2025-04-01", trust(3, 3, 3)),
    )
    assert cronbach_alpha(all_same, Y2025)["S_TRUST"] is None


def test_alpha_can_be_negative():
    # Items that disagree with each other give a negative alpha (reported as it is).
    answers = frame(
        "survey_answers",
        rows_for("r1", "A", "2025-04-01", trust(1, 5, 2))
        + rows_for("r2", "A", "2025-04-01", trust(5, 1, 3))
        + rows_for("r3", "A", "2025-04-01", trust(3, 2, 4)),
    )
    value = cronbach_alpha(answers, Y2025)["S_TRUST"]
    assert value is not None and value < 0
    assert value == pytest.approx(numpy_alpha(np.array([[1, 5, 2], [5, 1, 3], [3, 2, 4]], dtype=float)))


def test_alpha_uses_the_latest_answer_and_the_period():
    answers = frame(
        "survey_answers",
        rows_for("r1", "A", "2025-01-10", trust(5, 5, 5))
        + rows_for("r1", "A", "2025-07-10", trust(1, 2, 2))
        + rows_for("r2", "A", "2025-07-10", trust(4, 3, 4))
        + rows_for("r3", "A", "2024-07-10", trust(1, 1, 5)),
    )
    expected = numpy_alpha(np.array([[1, 2, 2], [4, 3, 4]], dtype=float))
    assert cronbach_alpha(answers, Y2025)["S_TRUST"] == pytest.approx(expected)
    assert cronbach_alpha(answers, Y2025, communities=["B"]) == ALL_NULL
    assert cronbach_alpha(answers, Y2025, communities=[]) == ALL_NULL


def test_same_input_same_bytes():
    rng = np.random.default_rng(7)
    rows = []
    for r in range(40):
        values = rng.integers(1, 6, size=len(ITEMS)).tolist()
        rows += rows_for(f"r{r}", f"C{r % 3}", f"2025-0{1 + r % 9}-01", dict(zip(ITEMS, values, strict=True)))
    answers = frame("survey_answers", rows)
    shuffled = answers.sample(fraction=1.0, shuffle=True, seed=3)
    first = scale_scores(answers, Y2025).write_csv()
    assert scale_scores(shuffled, Y2025).write_csv() == first
    assert cronbach_alpha(shuffled, Y2025) == cronbach_alpha(answers, Y2025)


def test_extra_columns_and_a_typed_frame_are_fine():
    answers = pl.DataFrame(
        {
            "resident_id": ["r1", "r1", "r1"],
            "community_code": ["A"] * 3,
            "answered_on": [datetime.date(2025, 5, 1)] * 3,
            "item": ["S1", "S2", "S3"],
            "value": [2, 3, 4],
            "survey": ["x"] * 3,
        },
        schema_overrides={"value": SCHEMAS["survey_answers"]["value"]},
    )
    assert as_dict(scale_scores(answers, Y2025)) == {("A", "S_SATISFACTION"): (3.0, 1.0)}


def test_the_engine_runs_without_django_settings():
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys\n"
        "from gongzhi.analytics.engine.frames import frame\n"
        "from gongzhi.analytics.engine.periods import Period\n"
        "from gongzhi.analytics.engine.survey import scale_scores, cronbach_alpha\n"
        "rows=[('a','C','2025-01-02',i,v) for i,v in (('T1',1),('T2',2),('T3',2))]"
        "+[('b','C','2025-01-02',i,v) for i,v in (('T1',3),('T2',2),('T3',4))]\n"
        "f=frame('survey_answers', rows)\n"
        "print(scale_scores(f, Period.parse('2025')).get_column('value').to_list(), "
        "cronbach_alpha(f, Period.parse('2025'))['S_TRUST'])\n"
        "assert 'django.db.models' not in sys.modules\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[2.3333333333333335] 0.75"
