"""The arithmetic of star ratings as tables: weights, targets and caps, threshold boundaries, missing data; and the
validation of a declared standard (Chinese errors naming the row and field). Pure: no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gongzhi.learning.stars import compute
from gongzhi.learning.stars.compute import ResidentFacts

D = Decimal
CRITERIA = compute.criteria_of(
    [
        {"code": "attendance", "name": "出勤", "weight": 0.3, "source": "attendance", "target": 10},
        {"code": "points", "name": "积分", "weight": 0.2, "source": "points", "target": 100},
        {"code": "service", "name": "志愿服务", "weight": 0.2, "source": "volunteer_hours", "target": 20},
        {"code": "staff", "name": "教师评议", "weight": 0.2, "source": "assessment", "target": 100, "by": "staff"},
        {"code": "peer", "name": "同伴互评", "weight": 0.1, "source": "assessment", "target": 80, "by": "peer"},
    ]
)
THRESHOLDS = [D(20), D(40), D(60), D(75), D(90)]


def facts(attendance=0, points=0, hours="0", staff=(), peer=()) -> ResidentFacts:
    return ResidentFacts(
        attendance=attendance,
        points=points,
        volunteer_hours=D(hours),
        assessments={k: [D(str(s)) for s in v] for k, v in (("staff", staff), ("peer", peer)) if v},
    )


# (facts, expected score, expected stars)
CASES = [
    # nothing at all: 0, no star
    (facts(), "0.00", 0),
    # everything exactly at its target: 100, five stars
    (facts(10, 100, "20", [100], [80]), "100.00", 5),
    # above every target: capped at full marks, still 100
    (facts(25, 480, "61.5", [100, 100], [95]), "100.00", 5),
    # linear below the target: 5/10 × 30 + 50/100 × 20 + 10/20 × 20 + 50 × 0.2 + 40/80 × 10 = 50
    (facts(5, 50, "10", [50], [40]), "50.00", 2),
    # mean of assessors: (80 + 90 + 100) / 3 = 90 → 0.9 × 20 = 18; peers (60, 61) → 60.5/80 × 10 = 7.5625 → 7.56
    (facts(0, 0, "0", [80, 90, 100], [60, 61]), "25.56", 1),
    # partial marks: 1/10 of attendance = 3.00, 33/100 of points = 6.60
    (facts(1, 33), "9.60", 0),
    # negative points (reversed more than earned in the year) count as 0
    (facts(10, -30), "30.00", 1),
    # fractional volunteer hours: 7.25 / 20 × 20 = 7.25
    (facts(0, 0, "7.25"), "7.25", 0),
]


@pytest.mark.parametrize(("f", "score", "stars"), CASES)
def test_weighted_score_and_stars(f, score, stars):
    rating = compute.evaluate(CRITERIA, THRESHOLDS, f)
    assert rating.score == D(score)
    assert rating.stars == stars
    # the score is exactly the sum of the contributions people see
    assert sum((line.score for line in rating.lines), D(0)) == rating.score


@pytest.mark.parametrize(
    ("score", "stars"),
    [
        ("0", 0),
        ("19.99", 0),
        ("20", 1),  # a threshold is reached when the score equals it
        ("20.00", 1),
        ("39.99", 1),
        ("40", 2),
        ("59.99", 2),
        ("60", 3),
        ("74.99", 3),
        ("75", 4),
        ("89.99", 4),
        ("90", 5),
        ("100", 5),
    ],
)
def test_threshold_boundaries(score, stars):
    assert compute.stars_for(D(score), THRESHOLDS) == stars


def test_each_contribution_rounds_half_up():
    # 0.1 × 1/16 × 100 = 0.625 → 0.63 (half-up, not half-even); 0.9 × 1/3 × 100 = 30.0 → 30.00
    crit = compute.criteria_of(
        [
            {"code": "a", "name": "出勤", "weight": 0.1, "source": "attendance", "target": 16},
            {"code": "b", "name": "积分", "weight": 0.9, "source": "points", "target": 3},
        ]
    )
    rating = compute.evaluate(crit, THRESHOLDS, facts(attendance=1, points=1))
    assert [line.score for line in rating.lines] == [D("0.63"), D("30.00")]
    assert rating.score == D("30.63")
    assert rating.lines[0].ratio == D("0.0625")


def test_threshold_boundary_through_evaluate():
    # attendance only, weight 1, target 100: the score equals the sessions attended
    only = compute.criteria_of([{"code": "a", "name": "出勤", "weight": 1, "source": "attendance", "target": 100}])
    assert compute.evaluate(only, THRESHOLDS, facts(attendance=39)).stars == 1
    assert compute.evaluate(only, THRESHOLDS, facts(attendance=40)).stars == 2
    assert compute.evaluate(only, THRESHOLDS, facts(attendance=90)).stars == 5


def test_missing_assessment_counts_as_zero_with_a_note():
    rating = compute.evaluate(CRITERIA, THRESHOLDS, facts(10, 100, "20", [], [80]))
    staff = next(line for line in rating.lines if line.code == "staff")
    assert staff.value is None and staff.score == D(0) and staff.assessors == 0
    assert staff.note == "尚无评分，按 0 计"
    assert rating.score == D(80)  # 100 − 20 for the missing staff assessment
    as_json = rating.breakdown()["lines"][3]
    assert as_json == {
        "code": "staff",
        "name": "教师评议",
        "source": "assessment",
        "weight": "0.2",
        "target": "100",
        "value": None,
        "ratio": "0",
        "score": "0.00",
        "assessors": 0,
        "note": "尚无评分，按 0 计",
    }


def test_notes_for_caps_and_negatives():
    rating = compute.evaluate(CRITERIA, THRESHOLDS, facts(12, -5, "20", [100], [81]))
    notes = {line.code: line.note for line in rating.lines}
    assert notes["attendance"] == "超过满分目标，按满分计"
    assert notes["points"] == "为负数，按 0 计"
    assert notes["service"] == "达到满分目标"
    assert rating.lines[0].ratio == D(1)


def test_next_star():
    assert compute.next_star(D("55.5"), THRESHOLDS) == (3, D("4.50"))
    assert compute.next_star(D("0"), THRESHOLDS) == (1, D("20.00"))
    assert compute.next_star(D("90"), THRESHOLDS) is None


# --- validation ---------------------------------------------------------------------------------------------------

GOOD = [
    {"code": "attendance", "name": "出勤", "weight": "0.6", "source": "attendance", "target": "12"},
    {"code": "staff", "name": "评议", "weight": "0.4", "source": "assessment", "target": "100"},
]


def test_valid_criteria_parse_and_default_assessors_to_staff():
    parsed, errors = compute.validate_criteria(GOOD, organization_limited=False)
    assert errors == []
    assert [c.as_json() for c in parsed] == [
        {"code": "attendance", "name": "出勤", "weight": 0.6, "source": "attendance", "target": 12},
        {"code": "staff", "name": "评议", "weight": 0.4, "source": "assessment", "target": 100, "by": "staff"},
    ]


@pytest.mark.parametrize(
    ("change", "limited", "message"),
    [
        ({"weight": "0.5"}, False, "评定指标：各项权重之和应为 1，当前为 0.9"),
        ({"weight": "0"}, False, "第 1 项：权重应为大于 0、不超过 1 的数"),
        ({"weight": "0.12345"}, False, "第 1 项：权重最多保留 4 位小数"),
        ({"source": "likes"}, False, "第 1 项：数据来源应为出勤、积分、志愿服务时长或评议之一"),
        ({"target": "0"}, False, "第 1 项：满分目标应为大于 0 的数"),
        ({"target": "10.5"}, False, "第 1 项：出勤和积分的满分目标应为整数"),
        ({"target": "5000"}, False, "第 1 项：满分目标不能超过 1000"),
        ({"code": "Attendance"}, False, "第 1 项：代码应为小写字母开头的字母、数字或下划线（最多 40 个）"),
        ({"code": "staff"}, False, "第 2 项：代码 staff 重复"),
        ({"name": ""}, False, "第 1 项：名称必填"),
        ({"by": "staff"}, False, "第 1 项：只有评议类指标可以设置评议人"),
        ({"colour": "red"}, False, "第 1 项：不认识的字段 colour"),
    ],
)
def test_criteria_errors_name_the_row_and_field(change, limited, message):
    raw = [dict(GOOD[0], **change), dict(GOOD[1])]
    if change.get("code") == "staff":
        raw = [dict(GOOD[1]), dict(GOOD[1], weight="0.6")]
    parsed, errors = compute.validate_criteria(raw, organization_limited=limited)
    assert parsed == []
    assert message in errors, errors


def test_peer_assessment_needs_an_organisation():
    raw = [dict(GOOD[0]), dict(GOOD[1], by="peer")]
    assert compute.validate_criteria(raw, organization_limited=False)[1] == [
        "第 2 项：同伴互评只能用于限定组织的标准（请填写限定组织）"
    ]
    assert compute.validate_criteria(raw, organization_limited=True)[1] == []
    assert compute.validate_criteria([dict(GOOD[0]), dict(GOOD[1], by="all")], organization_limited=True)[1] == [
        "第 2 项：评议人应为工作人员、同伴或两者"
    ]
    assert compute.validate_criteria([dict(GOOD[0]), dict(GOOD[1], target=120)], organization_limited=True)[1] == [
        "第 2 项：满分目标不能超过 100"
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "评定指标：至少需要一项"),
        ("attendance", "评定指标：至少需要一项"),
        ([{"code": f"c{i}"} for i in range(11)], "评定指标：不能超过 10 项"),
        (["x"], "第 1 项：格式不正确"),
    ],
)
def test_criteria_shape_errors(raw, message):
    assert message in compute.validate_criteria(raw, organization_limited=False)[1]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([20, 40, 60, 75], "星级分数线：应为一星到五星的 5 个分数"),
        ([20, 40, 40, 75, 90], "三星分数线：应高于二星分数线 40"),
        ([20, 40, 30, 75, 90], "三星分数线：应高于二星分数线 40"),
        ([0, 40, 60, 75, 90], "一星分数线：应大于 0、不超过 100"),
        ([20, 40, 60, 75, 101], "五星分数线：应大于 0、不超过 100"),
        ([20, "x", 60, 75, 90], "二星分数线：应为数字"),
        ([20, 40.555, 60, 75, 90], "二星分数线：最多保留 2 位小数"),
    ],
)
def test_threshold_errors(raw, message):
    parsed, errors = compute.validate_thresholds(raw)
    assert parsed == [] and message in errors, errors


def test_thresholds_parse():
    assert compute.validate_thresholds(["20", 40, 60.5, "75", 100]) == ([D(20), D(40), D("60.5"), D(75), D(100)], [])
