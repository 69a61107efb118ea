"""The matching table: for each case, plain rows in, the ranking out — in the right order, and explained.

Each case names the candidates, the order they must come in, and reasons that must explain it (the reason of the
deciding factor on the winner, and on the loser). No database: ``gongzhi.resources.matching`` is a pure function.
"""

from __future__ import annotations

import datetime
from dataclasses import replace

import pytest

from gongzhi.resources import matching
from gongzhi.resources.matching import CandidateFacts, NeedFacts

COMM = "330102001001"  # 九堡社区
SIBLING = "330102001002"  # same street, next community
STREET = "330102001000"
OTHER_STREET = "330102002000"
OTHER_DISTRICT_COMM = "330103001001"
DAY = datetime.date(2025, 12, 1)
LABELS = {
    "venue": "场地/学习空间",
    "teacher": "师资/专家",
    "course": "课程",
    "volunteer_service": "志愿服务",
    "other": "其他",
}

NEED = NeedFacts(community_code=COMM, resource_kind="course", on=DAY)
# A baseline candidate: same kind, serves the community, available, unrated, idle provider.
BASE = CandidateFacts(resource_id="base", name="基准", kind="course", provider_id="p0", area_codes=(COMM,))


def c(rid: str, **kw) -> CandidateFacts:
    return replace(BASE, resource_id=rid, name=rid, provider_id=kw.pop("provider_id", f"p-{rid}"), **kw)


CASES = [
    pytest.param(
        NEED,
        [c("other-kind", kind="other"), c("same-kind"), c("wrong-kind", kind="venue")],
        ["same-kind", "other-kind", "wrong-kind"],
        {
            "same-kind": "同类资源",
            "other-kind": "其他类资源，或可满足",
            "wrong-kind": "类型不同：需要课程，这是场地/学习空间",
        },
        id="same kind first, 'other' weak, another kind last",
    ),
    pytest.param(
        NEED,
        [
            c("elsewhere", area_codes=(OTHER_STREET,)),
            c("undeclared", area_codes=()),
            c("street", area_codes=(STREET,)),
            c("community", area_codes=(COMM,)),
        ],
        ["community", "street", "undeclared", "elsewhere"],
        {
            "community": "服务范围覆盖本社区",
            "street": "服务范围覆盖本街道",
            "undeclared": "未声明服务范围",
            "elsewhere": "服务范围不含本社区",
        },
        id="service area: community > street > undeclared > elsewhere",
    ),
    pytest.param(
        NEED,
        [c("sibling-only", area_codes=(SIBLING,)), c("with-sibling", area_codes=(SIBLING, COMM))],
        ["with-sibling", "sibling-only"],
        {"with-sibling": "服务范围覆盖本社区", "sibling-only": "服务范围不含本社区"},
        id="serving the next community is not serving this one",
    ),
    pytest.param(
        NEED,
        [c("one-five", rating_sum=5, rating_count=1), c("twelve-4.6", rating_sum=55, rating_count=12)],
        ["twelve-4.6", "one-five"],
        {"twelve-4.6": "历史评分 4.6（12 次）", "one-five": "历史评分 5.0（1 次）"},
        id="one 5-star does not beat twelve 4.6s (shrunk mean)",
    ),
    pytest.param(
        NEED,
        [c("poorly-rated", rating_sum=4, rating_count=3), c("unrated")],
        ["unrated", "poorly-rated"],
        {"unrated": "尚无居民评分", "poorly-rated": "历史评分 1.3（3 次）"},
        id="a poorly rated resource drops below an unrated one",
    ),
    pytest.param(
        NEED,
        [c("busy", provider_matched=3, provider_recent=2), c("idle")],
        ["idle", "busy"],
        {"idle": "该资源方当前没有承接中的需求", "busy": "该资源方当前承接 3 项需求，近 30 天有 2 场活动使用其资源"},
        id="a loaded provider ranks below an idle one",
    ),
    pytest.param(
        NEED,
        [
            c("ended", available_until=datetime.date(2025, 6, 30)),
            c("not-yet", available_from=datetime.date(2026, 3, 1)),
            c("window", available_from=datetime.date(2025, 1, 1), available_until=datetime.date(2026, 6, 30)),
        ],
        ["window", "ended", "not-yet"],
        {"window": "可用至 2026-06-30", "ended": "可用期已于 2025-06-30 结束", "not-yet": "2026-03-01 起才可用"},
        id="outside the date window ranks below inside it",
    ),
    pytest.param(
        NEED,
        [c("inactive", active=False), c("active")],
        ["active"],
        {"active": "当前可用"},
        id="inactive resources are not candidates",
    ),
    pytest.param(
        NEED,
        [
            c("unrated-here"),
            c("loved-undeclared", area_codes=(), rating_sum=100, rating_count=20),
        ],
        ["unrated-here", "loved-undeclared"],
        {"unrated-here": "服务范围覆盖本社区", "loved-undeclared": "未声明服务范围"},
        id="ratings do not outweigh serving the community",
    ),
    pytest.param(
        NEED,
        [
            c("other-kind-perfect", kind="other", rating_sum=50, rating_count=10),
            c("same-kind-street-busy", area_codes=(STREET,), provider_matched=4),
        ],
        ["same-kind-street-busy", "other-kind-perfect"],
        {"same-kind-street-busy": "同类资源", "other-kind-perfect": "其他类资源，或可满足"},
        id="the kind decides first",
    ),
    pytest.param(
        NEED,
        [c("loved-some-load", provider_recent=2, rating_sum=48, rating_count=10), c("idle-unrated")],
        ["loved-some-load", "idle-unrated"],
        {"loved-some-load": "近 30 天有 2 场活动使用其资源", "idle-unrated": "尚无居民评分"},
        id="a well-rated resource stays ahead of an idle unrated one despite some load",
    ),
    pytest.param(
        NEED,
        [c("loved-overloaded", provider_matched=4, provider_recent=4, rating_sum=48, rating_count=10), c("idle")],
        ["idle", "loved-overloaded"],
        {
            "loved-overloaded": "该资源方当前承接 4 项需求，近 30 天有 4 场活动使用其资源",
            "idle": "该资源方当前没有承接中的需求",
        },
        id="a very busy provider yields to an idle one",
    ),
    pytest.param(
        replace(NEED, resource_kind="other"),
        [c("a-venue", kind="venue"), c("an-other", kind="other")],
        ["an-other", "a-venue"],
        {"an-other": "同类资源", "a-venue": "需求未限定类型，这是场地/学习空间"},
        id="a need of kind 'other' weakly fits every kind",
    ),
    pytest.param(
        replace(NEED, community_code=COMM),
        [c("district-wide", area_codes=("330102000000",)), c("other-district", area_codes=(OTHER_DISTRICT_COMM,))],
        ["district-wide", "other-district"],
        {"district-wide": "服务范围覆盖本街道", "other-district": "服务范围不含本社区"},
        id="an area above the street covers it too",
    ),
    pytest.param(
        NEED,
        [c("b-same"), c("a-same")],
        ["a-same", "b-same"],
        {"a-same": "同类资源"},
        id="ties are broken by name (stable)",
    ),
]


@pytest.mark.parametrize(("need", "candidates", "expected", "reasons"), CASES)
def test_matching_table(need, candidates, expected, reasons):
    ranked = matching.rank(need, candidates, LABELS)
    assert matching.order(ranked) == expected
    by_id = {r.resource_id: r for r in ranked}
    for rid, text in reasons.items():
        assert text in by_id[rid].texts, f"{rid}: {by_id[rid].texts}"
    # Every candidate is explained: one reason per factor, the points add up to the score, within 0–100.
    for r in ranked:
        assert [x.factor for x in r.reasons] == ["kind", "area", "availability", "rating", "load"]
        assert r.score == round(sum(x.points for x in r.reasons), 1)
        assert 0 <= r.score <= matching.MAX_SCORE == 100
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)


def test_best_possible_candidate_scores_near_100_and_worst_near_0():
    best = c("best", rating_sum=5 * 200, rating_count=200)
    worst = c("worst", kind="venue", area_codes=(OTHER_STREET,), available_until=datetime.date(2020, 1, 1),
              rating_sum=200, rating_count=200, provider_matched=500)  # fmt: skip
    ranked = matching.rank(NEED, [worst, best], LABELS)
    assert ranked[0].score > 98 and ranked[1].score < 2


def test_shrunk_mean():
    assert matching.shrunk_mean(0, 0) == matching.RATING_PRIOR_MEAN
    assert matching.shrunk_mean(5, 1) == pytest.approx(3.75)
    assert matching.shrunk_mean(55, 12) == pytest.approx(72.5 / 17)
