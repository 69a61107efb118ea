"""The arithmetic of selection (plain Python): the stated tie-break as a table of tie cases, quotas and last-place
warnings, determinism whatever the input order, and the scheme and score checks."""

from __future__ import annotations

import datetime
import itertools
import random
from decimal import Decimal

import pytest

from gongzhi.organizations.cultivation import selection
from gongzhi.organizations.cultivation.selection import Candidate

D = Decimal
EARLY, LATE = datetime.date(2015, 1, 1), datetime.date(2020, 1, 1)


def cand(key: str, total: str, heaviest: str = "80", assessors: int = 3, founded: datetime.date | None = EARLY,
         ref: str | None = None) -> Candidate:  # fmt: skip
    return Candidate(key=key, total=D(total), heaviest=D(heaviest), assessors=assessors, founded_on=founded,
                     ref=ref or key)  # fmt: skip


# Each case: two candidates whose totals are equal (except the first row); the winner is named, and the rule that
# decided is the one named in the loser's tie note.
TIE_CASES = [
    # (case, a, b, winner, deciding rule)
    ("higher total wins", cand("A", "80.001"), cand("B", "80.000", heaviest="99"), "A", None),
    ("tie: heaviest criterion", cand("A", "80", heaviest="85"), cand("B", "80", heaviest="90"), "B",
     "权重最大指标的平均得分高者在前"),
    ("tie: more assessors", cand("A", "80", assessors=2), cand("B", "80", assessors=3), "B", "评审人数多者在前"),
    ("tie: earlier founded", cand("A", "80", founded=LATE), cand("B", "80", founded=EARLY), "B", "成立日期早者在前"),
    ("tie: unknown founding date is latest", cand("A", "80", founded=None), cand("B", "80", founded=LATE), "B",
     "成立日期早者在前"),
    ("tie: smaller ref", cand("A", "80", ref="O0002"), cand("B", "80", ref="O0001"), "B", "组织编号小者在前"),
    ("earlier rule beats later ones", cand("A", "80", heaviest="81", assessors=1, founded=LATE, ref="Z"),
     cand("B", "80", heaviest="80", assessors=5, founded=EARLY, ref="A"), "A", "权重最大指标的平均得分高者在前"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "a", "b", "winner", "rule"), TIE_CASES, ids=[c[0] for c in TIE_CASES])
def test_tie_break_table(case, a, b, winner, rule):
    for pair in ([a, b], [b, a]):
        placed = selection.rank(pair, quota=1, warn_last=0)
        assert [p.key for p in placed if p.outcome == "selected"] == [winner], case
        loser = next(p for p in placed if p.key != winner)
        assert loser.rank == 2 and loser.outcome == "not_selected"
        if rule is None:
            assert loser.tie_note == ""
        else:
            assert f"按“{rule}”排在其后" in loser.tie_note, loser.tie_note
            top = next(p for p in placed if p.key == winner)
            assert f"按“{rule}”排在其前" in top.tie_note


def test_the_stated_order_is_the_documented_one():
    assert [key for key, _label in selection.TIE_BREAK] == ["total", "heaviest", "assessors", "founded_on", "ref"]


@pytest.mark.parametrize(
    ("n", "quota", "warn_last", "selected", "warned"),
    [
        (5, 2, 1, ["1", "2"], ["5"]),
        (5, 2, 2, ["1", "2"], ["4", "5"]),
        (5, 2, 9, ["1", "2"], ["3", "4", "5"]),  # never warn a selected one
        (3, 3, 1, ["1", "2", "3"], []),  # no more entries than places: nobody warned
        (2, 5, 1, ["1", "2"], []),
        (4, 1, 0, ["1"], []),
        (0, 2, 1, [], []),
    ],
)
def test_quotas_and_last_place_warnings(n, quota, warn_last, selected, warned):
    cands = [cand(str(i), str(100 - i)) for i in range(1, n + 1)]
    placed = selection.rank(cands, quota=quota, warn_last=warn_last)
    assert [p.key for p in placed if p.outcome == "selected"] == selected
    assert [p.key for p in placed if p.outcome == "warned"] == warned
    assert [p.rank for p in placed] == list(range(1, n + 1))


def test_ranking_is_deterministic_whatever_the_order():
    rng = random.Random(7)
    cands = [
        cand(f"K{i}", str(rng.choice([70, 75, 80])), heaviest=str(rng.choice([60, 70])),
             assessors=rng.choice([2, 3]), founded=rng.choice([EARLY, LATE, None]), ref=f"O{i:04d}")
        for i in range(30)
    ]  # fmt: skip
    expected = selection.rank(cands, quota=10, warn_last=3)
    for _ in range(20):
        shuffled = cands[:]
        rng.shuffle(shuffled)
        assert selection.rank(shuffled, quota=10, warn_last=3) == expected
    for perm in itertools.islice(itertools.permutations(cands[:5]), 50):
        assert selection.rank(list(perm), quota=2, warn_last=1) == selection.rank(cands[:5], quota=2, warn_last=1)


def test_weighted_total_is_on_a_hundred_point_scale_and_rounded_half_up():
    criteria, errors = selection.validate_criteria(
        [
            {"code": "a", "name": "甲", "weight": 0.5, "max": 10},
            {"code": "b", "name": "乙", "weight": 0.5, "max": 100},
        ]
    )
    assert errors == []
    assert selection.weighted_total(criteria, {"a": D(10), "b": D(100)}) == D("100.000")
    assert selection.weighted_total(criteria, {"a": D(5), "b": D(50)}) == D("50.000")
    # 0.5 × 1/3 × 100 = 16.6666… → 16.667
    three, _ = selection.validate_criteria(
        [{"code": "a", "name": "甲", "weight": 0.5, "max": 3}, {"code": "b", "name": "乙", "weight": 0.5, "max": 3}]
    )
    assert selection.weighted_total(three, {"a": D(1), "b": D(0)}) == D("16.667")
    assert selection.mean([D("80.0005"), D("80")]) == D("80.000")  # mean 80.00025 rounds to 80.000
    assert selection.mean([D("1"), D("2"), D("2")]) == D("1.667")


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ([], "至少需要一项指标"),
        ([{"code": "a", "name": "甲", "weight": 0.5, "max": 10}], "各项权重之和应为 1，当前为 0.5"),
        ([{"code": "A", "name": "甲", "weight": 1, "max": 10}], "第 1 项：代码"),
        (
            [
                {"code": "a", "name": "甲", "weight": 0.5, "max": 10},
                {"code": "a", "name": "乙", "weight": 0.5, "max": 10},
            ],
            "第 2 项：代码 a 重复",
        ),
        ([{"code": "a", "name": "", "weight": 1, "max": 10}], "第 1 项：名称必填"),
        (
            [{"code": "a", "name": "甲", "weight": 0, "max": 10}, {"code": "b", "name": "乙", "weight": 1, "max": 10}],
            "第 1 项：权重应为大于 0、不超过 1 的数",
        ),
        ([{"code": "a", "name": "甲", "weight": "x", "max": 10}], "第 1 项：权重"),
        ([{"code": "a", "name": "甲", "weight": 1, "max": 0}], "第 1 项：满分"),
        ([{"code": "a", "name": "甲", "weight": 0.33333, "max": 10}], "最多保留 4 位小数"),
        ("not a list", "至少需要一项指标"),
    ],
)
def test_bad_schemes(criteria, message):
    parsed, errors = selection.validate_criteria(criteria)
    assert parsed == []
    assert any(message in e for e in errors), errors


def test_weights_like_point_three_sum_exactly():
    parsed, errors = selection.validate_criteria(
        [
            {"code": "a", "name": "甲", "weight": 0.3, "max": 100},
            {"code": "b", "name": "乙", "weight": 0.3, "max": 100},
            {"code": "c", "name": "丙", "weight": 0.4, "max": 100},
        ]
    )
    assert errors == [] and selection.heaviest(parsed).code == "c"
    equal, _ = selection.validate_criteria(
        [{"code": "x", "name": "甲", "weight": 0.5, "max": 1}, {"code": "y", "name": "乙", "weight": 0.5, "max": 1}]
    )
    assert selection.heaviest(equal).code == "x", "equal weights: the first in the scheme"


@pytest.mark.parametrize(
    ("scores", "field", "message"),
    [
        ({"a": 11, "b": 5}, "a", "应在 0 到 10 之间"),
        ({"a": -1, "b": 5}, "a", "应在 0 到 10 之间"),
        ({"a": "九", "b": 5}, "a", "应为数字"),
        ({"b": 5}, "a", "必填"),
        ({"a": 5, "b": 5, "zz": 1}, "zz", "不是本方案的指标"),
        ({"a": 5.555, "b": 5}, "a", "最多保留 2 位小数"),
        ({"a": True, "b": 5}, "a", "应为数字"),
    ],
)
def test_bad_scores(scores, field, message):
    criteria, _ = selection.validate_criteria(
        [{"code": "a", "name": "甲", "weight": 0.5, "max": 10}, {"code": "b", "name": "乙", "weight": 0.5, "max": 10}]
    )
    _parsed, errors = selection.validate_scores(criteria, scores)
    assert message in errors.get(field, []), errors
