"""The criteria language, as a table: each row is a criteria tree, a resident's facts, "today", and what the
evaluator must say. Pure: no database."""

from __future__ import annotations

import datetime

import pytest

from gongzhi.learning.credentials import criteria as crit
from gongzhi.learning.credentials.criteria import (
    CertificateFact,
    CourseFact,
    Facts,
    PointsFact,
    SessionFact,
    TestFact,
)

D = datetime.date
TODAY = D(2025, 12, 31)
S1 = "11111111-1111-4111-8111-111111111111"  # series 科学育儿
S2 = "22222222-2222-4222-8222-222222222222"  # series 健康生活
C1 = "33333333-3333-4333-8333-333333333333"  # a course of S1
C2 = "44444444-4444-4444-8444-444444444444"  # a course of S2
T1 = "55555555-5555-4555-8555-555555555555"  # a test of S1
T2 = "66666666-6666-4666-8666-666666666666"  # a test of S2
NAMES = {S1: "科学育儿", S2: "健康生活", C1: "婴幼儿照护", C2: "膳食营养", T1: "育儿测验", "level:1": "一星"}


def points(*rows: tuple[D, int, str | None]) -> list[PointsFact]:
    return [PointsFact(on=on, points=p, series=s) for on, p, s in rows]


JUNE_1 = D(2025, 6, 1)


def sessions(n: int, *, on: D = JUNE_1, course: str = C1, series: str | None = S1) -> list[SessionFact]:
    return [SessionFact(on=on + datetime.timedelta(days=7 * i), course=course, series=series) for i in range(n)]


# A resident with some history, used by many rows.
HISTORY = Facts(
    points=points(
        (D(2024, 12, 31), 30, S1),  # last year
        (D(2025, 1, 1), 40, S1),  # first day of the year
        (D(2025, 6, 15), 20, S2),
        (D(2025, 12, 31), 10, None),  # today, outside any series (volunteer hours)
    ),
    sessions=sessions(4) + sessions(2, course=C2, series=S2, on=D(2025, 9, 1)),
    courses=[CourseFact(on=D(2025, 7, 1), course=C1, series=S1)],
    tests=[TestFact(on=D(2025, 3, 1), test=T1, series=S1), TestFact(on=D(2025, 4, 1), test=T1, series=S1)],
    certificates=[CertificateFact(rank=1, issued_on=D(2025, 5, 1), expires_on=None)],
)
EMPTY = Facts()

CASES = [
    # id, tree, facts, today, met, [have per leaf]
    # --- points: boundaries and series ---
    ("points total exactly min", {"kind": "points", "min": 100}, HISTORY, TODAY, True, [100]),
    ("points total one below min", {"kind": "points", "min": 101}, HISTORY, TODAY, False, [100]),
    ("points in series S1", {"kind": "points", "min": 70, "series": S1}, HISTORY, TODAY, True, [70]),
    ("points in series S1 one short", {"kind": "points", "min": 71, "series": S1}, HISTORY, TODAY, False, [70]),
    ("points in series S2 only", {"kind": "points", "min": 20, "series": S2}, HISTORY, TODAY, True, [20]),
    (
        "series id in upper case matches",
        {"kind": "points", "min": 20, "series": S2.upper()},
        HISTORY,
        TODAY,
        True,
        [20],
    ),
    # --- windows: from/to inclusive, days ---
    (
        "window from is inclusive",
        {"kind": "points", "min": 70, "window": {"from": "2025-01-01"}},
        HISTORY,
        TODAY,
        True,
        [70],
    ),
    (
        "window to is inclusive",
        {"kind": "points", "min": 70, "window": {"to": "2025-01-01"}},
        HISTORY,
        TODAY,
        True,
        [70],
    ),
    (
        "window from..to of one day",
        {"kind": "points", "min": 40, "window": {"from": "2025-01-01", "to": "2025-01-01"}},
        HISTORY,
        TODAY,
        True,
        [40],
    ),
    (
        "window excludes the day before from",
        {"kind": "points", "min": 1, "window": {"from": "2025-01-02", "to": "2025-06-14"}},
        HISTORY,
        TODAY,
        False,
        [0],
    ),
    ("days 1 is today only", {"kind": "points", "min": 10, "window": {"days": 1}}, HISTORY, TODAY, True, [10]),
    (
        "days 365 reaches back to 2025-01-01",
        {"kind": "points", "min": 70, "window": {"days": 365}},
        HISTORY,
        TODAY,
        True,
        [70],
    ),
    (
        "days 366 reaches 2024-12-31",
        {"kind": "points", "min": 100, "window": {"days": 366}},
        HISTORY,
        TODAY,
        True,
        [100],
    ),
    (
        "days window moves with today",
        {"kind": "points", "min": 1, "window": {"days": 30}},
        HISTORY,
        D(2026, 3, 1),
        False,
        [0],
    ),
    (
        "window and series together",
        {"kind": "points", "min": 40, "series": S1, "window": {"from": "2025-01-01", "to": "2025-12-31"}},
        HISTORY,
        TODAY,
        True,
        [40],
    ),
    # --- sessions attended: boundaries, series, course ---
    ("sessions exactly min", {"kind": "sessions_attended", "min": 6}, HISTORY, TODAY, True, [6]),
    ("sessions one below", {"kind": "sessions_attended", "min": 7}, HISTORY, TODAY, False, [6]),
    ("sessions of series S2", {"kind": "sessions_attended", "min": 2, "series": S2}, HISTORY, TODAY, True, [2]),
    ("sessions of course C1", {"kind": "sessions_attended", "min": 5, "course": C1}, HISTORY, TODAY, False, [4]),
    (
        "sessions in a window",
        {"kind": "sessions_attended", "min": 3, "window": {"from": "2025-06-08", "to": "2025-06-22"}},
        HISTORY,
        TODAY,
        True,
        [3],
    ),
    # --- courses completed, tests passed ---
    ("courses completed exactly", {"kind": "courses_completed", "min": 1}, HISTORY, TODAY, True, [1]),
    ("courses of series S2", {"kind": "courses_completed", "min": 1, "series": S2}, HISTORY, TODAY, False, [0]),
    (
        "course completed outside window",
        {"kind": "courses_completed", "min": 1, "window": {"to": "2025-06-30"}},
        HISTORY,
        TODAY,
        False,
        [0],
    ),
    ("a test passed twice counts once", {"kind": "tests_passed", "min": 2}, HISTORY, TODAY, False, [1]),
    ("a named test", {"kind": "tests_passed", "min": 1, "test": T1}, HISTORY, TODAY, True, [1]),
    ("another named test", {"kind": "tests_passed", "min": 1, "test": T2}, HISTORY, TODAY, False, [0]),
    (
        "a pass dated inside the window counts",
        {"kind": "tests_passed", "min": 1, "window": {"from": "2025-04-01"}},
        HISTORY,
        TODAY,
        True,
        [1],
    ),
    # --- level held ---
    ("level 1 held", {"kind": "level_held", "rank": 1}, HISTORY, TODAY, True, [1]),
    ("level 2 not held", {"kind": "level_held", "rank": 2}, HISTORY, TODAY, False, [0]),
    (
        "expired certificate does not count",
        {"kind": "level_held", "rank": 1},
        Facts(certificates=[CertificateFact(rank=1, issued_on=D(2024, 1, 1), expires_on=D(2025, 12, 30))]),
        TODAY,
        False,
        [0],
    ),
    (
        "certificate valid through its expiry day",
        {"kind": "level_held", "rank": 1},
        Facts(certificates=[CertificateFact(rank=1, issued_on=D(2024, 1, 1), expires_on=TODAY)]),
        TODAY,
        True,
        [1],
    ),
    # --- AND / OR nesting ---
    (
        "all: both met",
        {"all": [{"kind": "points", "min": 100}, {"kind": "sessions_attended", "min": 6}]},
        HISTORY,
        TODAY,
        True,
        [100, 6],
    ),
    (
        "all: one unmet",
        {"all": [{"kind": "points", "min": 100}, {"kind": "sessions_attended", "min": 7}]},
        HISTORY,
        TODAY,
        False,
        [100, 6],
    ),
    (
        "any: one met",
        {"any": [{"kind": "points", "min": 500}, {"kind": "tests_passed", "min": 1}]},
        HISTORY,
        TODAY,
        True,
        [100, 1],
    ),
    (
        "any: none met",
        {"any": [{"kind": "points", "min": 500}, {"kind": "tests_passed", "min": 2}]},
        HISTORY,
        TODAY,
        False,
        [100, 1],
    ),
    (
        "all of (any, leaf): met through the second branch of any",
        {
            "all": [
                {"any": [{"kind": "courses_completed", "min": 2}, {"kind": "sessions_attended", "min": 6}]},
                {"kind": "level_held", "rank": 1},
            ]
        },
        HISTORY,
        TODAY,
        True,
        [1, 6, 1],
    ),
    (
        "any of (all, all): neither all holds",
        {
            "any": [
                {"all": [{"kind": "points", "min": 100}, {"kind": "tests_passed", "min": 2}]},
                {"all": [{"kind": "sessions_attended", "min": 1, "series": S2}, {"kind": "level_held", "rank": 2}]},
            ]
        },
        HISTORY,
        TODAY,
        False,
        [100, 1, 2, 0],
    ),
    (
        "three levels deep",
        {"all": [{"any": [{"all": [{"kind": "points", "min": 1, "series": S2}]}, {"kind": "points", "min": 999}]}]},
        HISTORY,
        TODAY,
        True,
        [20, 100],
    ),
    # --- empty facts ---
    ("empty facts: points", {"kind": "points", "min": 1}, EMPTY, TODAY, False, [0]),
    (
        "empty facts: an any group",
        {"any": [{"kind": "sessions_attended", "min": 1}, {"kind": "level_held", "rank": 1}]},
        EMPTY,
        TODAY,
        False,
        [0, 0],
    ),
]


@pytest.mark.parametrize(("tree", "facts", "today", "met", "haves"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_evaluator_table(tree, facts, today, met, haves):
    assert crit.validate(tree) == []
    result = crit.evaluate(tree, facts, today, names=NAMES)
    assert result.met is met
    assert [leaf.have for leaf in result.leaves] == haves
    assert all(leaf.met == (leaf.have >= leaf.need) for leaf in result.leaves)


# --- validation: rejected trees, with messages naming the item and the field ----------------------------------------

INVALID = [
    ("unknown kind", {"kind": "likes", "min": 1}, "条件「条件类型」：不认识的条件类型“likes”"),
    ("missing kind", {"min": 1}, "条件「条件类型」：必填"),
    (
        "unknown kind deep inside",
        {"all": [{"kind": "points", "min": 1}, {"any": [{"kind": "x"}]}]},
        "第 2.1 项「条件类型」",
    ),
    ("min missing", {"kind": "points"}, "条件「最少」：必填"),
    ("min zero", {"kind": "points", "min": 0}, "条件「最少」：必须是 1 到"),
    ("min not an integer", {"kind": "points", "min": "100"}, "「最少」"),
    ("min a boolean", {"kind": "points", "min": True}, "「最少」"),
    ("bad series id", {"kind": "points", "min": 1, "series": "abc"}, "条件「主题系列」：不是有效的编号"),
    ("course on points", {"kind": "points", "min": 1, "course": C1}, "不接受这些字段：course"),
    ("series and course together", {"kind": "sessions_attended", "min": 1, "series": S1, "course": C1}, "只能选一个"),
    ("named test with min 2", {"kind": "tests_passed", "min": 2, "test": T1}, "指定了测试时，最少只能是 1"),
    (
        "days and from together",
        {"kind": "points", "min": 1, "window": {"days": 5, "from": "2025-01-01"}},
        "「近 N 天」",
    ),
    ("days zero", {"kind": "points", "min": 1, "window": {"days": 0}}, "「近 N 天」：必须是 1 到"),
    (
        "bad date",
        {"kind": "points", "min": 1, "window": {"from": "2025/01/01"}},
        "「起始日期」：日期格式应为 YYYY-MM-DD",
    ),
    ("impossible date", {"kind": "points", "min": 1, "window": {"to": "2025-02-30"}}, "「截止日期」"),
    (
        "from after to",
        {"kind": "points", "min": 1, "window": {"from": "2025-02-01", "to": "2025-01-31"}},
        "截止日期不能早于起始日期",
    ),
    ("empty window", {"kind": "points", "min": 1, "window": {}}, "「时间范围」"),
    ("unknown window key", {"kind": "points", "min": 1, "window": {"weeks": 2}}, "不认识的字段：weeks"),
    ("empty tree", {}, "请至少设置一项条件"),
    ("empty group", {"all": []}, "条件组至少要包含一项条件"),
    ("group with two keys", {"all": [{"kind": "points", "min": 1}], "any": []}, "只能有一个键"),
    ("a list, not an object", [{"kind": "points", "min": 1}], "应为一个条件或条件组"),
    ("level_held with min", {"kind": "level_held", "rank": 1, "min": 1}, "不接受这些字段：min"),
    ("level_held rank zero", {"kind": "level_held", "rank": 0}, "「级别」：必须是不小于 1 的整数"),
    ("too deep", {"all": [{"all": [{"all": [{"all": [{"all": [{"kind": "points", "min": 1}]}]}]}]}]}, "最多嵌套"),
]


@pytest.mark.parametrize(("tree", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_validate_rejects(tree, expected):
    errors = crit.validate(tree)
    assert errors, "the tree must be rejected"
    assert any(expected in e for e in errors), errors


def test_level_held_must_name_a_lower_existing_level():
    tree = {"kind": "level_held", "rank": 2}
    assert crit.validate(tree, own_rank=3, ranks={1, 2, 3}) == []
    assert crit.validate(tree, own_rank=2, ranks={1, 2}) == ["条件「级别」：只能要求低于本级别的级别"]
    assert crit.validate(tree, own_rank=5, ranks={1, 3, 5}) == ["条件「级别」：本项目没有第 2 级"]


def test_evaluate_reports_an_invalid_leaf_as_unmet_instead_of_failing():
    result = crit.evaluate({"any": [{"kind": "likes", "min": 1}, {"kind": "points", "min": 1}]}, HISTORY, TODAY)
    assert result.met is True
    assert [(leaf.label, leaf.met) for leaf in result.leaves] == [("无效条件", False), ("积分 ≥ 1", True)]


# --- labels and details (what the resident reads) ------------------------------------------------------------------

LABELS = [
    ({"kind": "points", "min": 100, "series": S1}, "系列“科学育儿”内积分 ≥ 100", "已有 70 积分，还差 30 积分"),
    ({"kind": "points", "min": 80, "window": {"days": 365}}, "积分 ≥ 80（近 365 天）", "已有 70 积分，还差 10 积分"),
    (
        {"kind": "sessions_attended", "min": 6, "course": C1},
        "参加课程“婴幼儿照护” ≥ 6 次",
        "已参加 4/6 次课，还差 2 次",
    ),
    (
        {"kind": "sessions_attended", "min": 2, "series": S2, "window": {"from": "2025-01-01", "to": "2025-12-31"}},
        "参加系列“健康生活”的课 ≥ 2 次（2025-01-01 至 2025-12-31）",
        "已参加 2 次课",
    ),
    ({"kind": "courses_completed", "min": 2}, "完成课程 ≥ 2 门", "已完成 1/2 门课程，还差 1 门"),
    ({"kind": "tests_passed", "min": 1, "test": T1}, "通过测试“育儿测验”", "已通过 1 个测试"),
    (
        {"kind": "tests_passed", "min": 1, "window": {"from": "2026-01-01"}},
        "通过测试 ≥ 1 个（2026-01-01 起）",
        "已通过 0/1 个测试，还差 1 个",
    ),
    ({"kind": "level_held", "rank": 1}, "持有本项目“一星”的有效证书", "已持有"),
    (
        {"kind": "points", "min": 1, "series": C2, "window": {"to": "2025-06-30"}},
        "系列“膳食营养”内积分 ≥ 1（截至 2025-06-30）",
        "已有 0 积分，还差 1 积分",
    ),
]


@pytest.mark.parametrize(("leaf", "label", "detail"), LABELS)
def test_labels_and_details(leaf, label, detail):
    facts = Facts(
        points=points((D(2025, 3, 1), 70, S1)),
        sessions=sessions(4) + sessions(2, course=C2, series=S2, on=D(2025, 9, 1)),
        courses=HISTORY.courses,
        tests=HISTORY.tests,
        certificates=HISTORY.certificates,
    )
    [result] = crit.evaluate(leaf, facts, TODAY, names=NAMES).leaves
    assert (result.label, result.detail) == (label, detail)


def test_normalize_canonicalises_ids_and_drops_nothing_else():
    tree = {
        "any": [
            {"min": 3, "kind": "points", "series": S1.upper(), "window": {"days": 30}},
            {"kind": "level_held", "rank": 1},
        ]
    }
    assert crit.normalize(tree) == {
        "any": [{"kind": "points", "min": 3, "series": S1, "window": {"days": 30}}, {"kind": "level_held", "rank": 1}]
    }


def test_facts_for_programme_keeps_only_that_programmes_certificates():
    facts = Facts(
        certificates=[
            CertificateFact(rank=1, issued_on=TODAY, programme=S1),
            CertificateFact(rank=2, issued_on=TODAY, programme=S2),
        ]
    )
    assert [c.rank for c in facts.for_programme(S2).certificates] == [2]
