"""Matching (资源匹配): rank candidate resources for a need, with the reasons shown. Plain Python, no ORM.

``rank(need, candidates)`` takes plain rows (``NeedFacts``, ``CandidateFacts``; the selector
``selectors.needs.need_candidates`` builds them from the database in a constant number of queries) and returns the
active candidates best first, each with its score (0–100) and one human-readable reason per factor.

Weights (points add up; the most a candidate can get is 100):

============  ======  ==========================================================================================
factor        points  how
============  ======  ==========================================================================================
kind 类型       40     the resource is of the kind the need asks for: 40 ("同类资源"); the resource is of kind
                      ``other``, or the need is of kind ``other`` (either could fit): 15; another kind: 0.
area 范围       25     the declared service area includes the need's community: 25; its street (or a place above):
                      18; no area declared: 10 (it may serve here, nobody said); declared, but not here: 0.
availability   15     the resource's date window (``available_from`` … ``available_until``, either end open)
可用期                 includes the date the need is to be served (today, or the day it was raised if later): 15;
                      outside the window: 0. Inactive resources (or of an inactive provider) are not candidates.
ratings 评分    15     the mean of the residents' ``Rating.score`` (1–5) for this resource, shrunk toward a prior of
                      3.5 worth 5 ratings: ``(3.5 × 5 + Σ score) / (5 + n)``, mapped from 1…5 onto 0…15. So one
                      5-star (3.75) does not beat twelve 4.6s (4.28); no ratings at all count as 3.5 (9.4 points);
                      a poorly rated resource drops below an unrated one.
load 负荷       5      how busy the provider already is: needs matched to any of its resources and not yet fulfilled,
                      plus activities that used any of its resources in the last 30 days. ``5 × 2 / (2 + load)``:
                      an idle provider gets 5, a load of 2 halves it, a load of 8 leaves 1. Enough to spread work
                      among alike resources, and to let an idle newcomer pass a very busy one, but a proven resource
                      with a little load stays ahead of an unrated idle one.
============  ======  ==========================================================================================

Ties (equal scores) go to the resource with more ratings, then by name, so the order is stable.

The weights make the kind decide first (a same-kind resource is ahead of an "other" one, whatever else), then the
service area, then availability; ratings and load separate resources that are alike on those. Each reason says what
the factor found, e.g. "同类资源", "服务范围覆盖本社区", "历史评分 4.6（12 次）", "该资源方当前承接 3 项需求".
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from gongzhi.places.codes import prefix_of

OTHER = "other"

KIND_POINTS = 40.0
KIND_WEAK_POINTS = 15.0
AREA_COMMUNITY_POINTS = 25.0
AREA_STREET_POINTS = 18.0
AREA_UNDECLARED_POINTS = 10.0
AVAILABLE_POINTS = 15.0
RATING_POINTS = 15.0
RATING_PRIOR_MEAN = 3.5
RATING_PRIOR_WEIGHT = 5
LOAD_POINTS = 5.0
LOAD_HALF = 2
RECENT_DAYS = 30

MAX_SCORE = KIND_POINTS + AREA_COMMUNITY_POINTS + AVAILABLE_POINTS + RATING_POINTS + LOAD_POINTS


@dataclass(frozen=True)
class NeedFacts:
    """What matching needs to know about a need."""

    community_code: str  # 12-digit code of the need's community
    resource_kind: str
    on: datetime.date  # the date the need is to be served


@dataclass(frozen=True)
class CandidateFacts:
    """One candidate resource, as plain values."""

    resource_id: Any
    name: str
    kind: str
    provider_id: Any
    provider_name: str = ""
    active: bool = True
    available_from: datetime.date | None = None
    available_until: datetime.date | None = None
    area_codes: tuple[str, ...] = ()  # 12-digit codes of the declared service area (streets, communities)
    rating_sum: int = 0
    rating_count: int = 0
    provider_matched: int = 0  # needs matched to the provider's resources, not yet fulfilled
    provider_recent: int = 0  # activities that used the provider's resources in the last 30 days


@dataclass(frozen=True)
class Reason:
    factor: str  # kind, area, availability, rating, load
    points: float
    text: str


@dataclass(frozen=True)
class Ranked:
    candidate: CandidateFacts
    score: float
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    @property
    def resource_id(self) -> Any:
        return self.candidate.resource_id

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.reasons]


# --- the factors ------------------------------------------------------------------------------------------------


def _covers(area_code: str, community_code: str) -> bool:
    """A place of the service area covers the community: the community itself or a place above it (its street…)."""
    return community_code.startswith(prefix_of(area_code))


def kind_reason(need: NeedFacts, c: CandidateFacts, labels: dict[str, str]) -> Reason:
    if c.kind == need.resource_kind:
        return Reason("kind", KIND_POINTS, _("同类资源"))
    if c.kind == OTHER:
        return Reason("kind", KIND_WEAK_POINTS, _("其他类资源，或可满足"))
    if need.resource_kind == OTHER:
        return Reason(
            "kind",
            KIND_WEAK_POINTS,
            _("需求未限定类型，这是%(kind)s") % {"kind": labels.get(c.kind, c.kind)},
        )
    return Reason(
        "kind",
        0.0,
        _("类型不同：需要%(need)s，这是%(kind)s")
        % {"need": labels.get(need.resource_kind, need.resource_kind), "kind": labels.get(c.kind, c.kind)},
    )


def area_reason(need: NeedFacts, c: CandidateFacts) -> Reason:
    if not c.area_codes:
        return Reason("area", AREA_UNDECLARED_POINTS, _("未声明服务范围"))
    if need.community_code in c.area_codes:
        return Reason("area", AREA_COMMUNITY_POINTS, _("服务范围覆盖本社区"))
    if any(_covers(code, need.community_code) for code in c.area_codes):
        return Reason("area", AREA_STREET_POINTS, _("服务范围覆盖本街道"))
    return Reason("area", 0.0, _("服务范围不含本社区"))


def availability_reason(need: NeedFacts, c: CandidateFacts) -> Reason:
    if c.available_from and need.on < c.available_from:
        return Reason("availability", 0.0, _("%(day)s 起才可用") % {"day": c.available_from.isoformat()})
    if c.available_until and need.on > c.available_until:
        return Reason("availability", 0.0, _("可用期已于 %(day)s 结束") % {"day": c.available_until.isoformat()})
    if c.available_until:
        return Reason("availability", AVAILABLE_POINTS, _("可用至 %(day)s") % {"day": c.available_until.isoformat()})
    return Reason("availability", AVAILABLE_POINTS, _("当前可用"))


def shrunk_mean(rating_sum: int, rating_count: int) -> float:
    """The mean rating pulled toward the prior: ``(prior × weight + Σ) / (weight + n)``."""
    return (RATING_PRIOR_MEAN * RATING_PRIOR_WEIGHT + rating_sum) / (RATING_PRIOR_WEIGHT + rating_count)


def rating_reason(c: CandidateFacts) -> Reason:
    points = RATING_POINTS * (shrunk_mean(c.rating_sum, c.rating_count) - 1) / 4
    if not c.rating_count:
        return Reason("rating", points, _("尚无居民评分"))
    mean = c.rating_sum / c.rating_count
    return Reason("rating", points, _("历史评分 %(mean).1f（%(n)d 次）") % {"mean": mean, "n": c.rating_count})


def load_reason(c: CandidateFacts) -> Reason:
    load = max(c.provider_matched, 0) + max(c.provider_recent, 0)
    points = LOAD_POINTS * LOAD_HALF / (LOAD_HALF + load)
    if load == 0:
        return Reason("load", points, _("该资源方当前没有承接中的需求"))
    parts = []
    if c.provider_matched:
        parts.append(_("该资源方当前承接 %(n)d 项需求") % {"n": c.provider_matched})
    if c.provider_recent:
        parts.append(_("近 %(days)d 天有 %(n)d 场活动使用其资源") % {"days": RECENT_DAYS, "n": c.provider_recent})
    return Reason("load", points, _("，").join(parts))


# --- ranking ----------------------------------------------------------------------------------------------------


def score(need: NeedFacts, c: CandidateFacts, kind_labels: dict[str, str] | None = None) -> Ranked:
    """One candidate's score and reasons (whether or not it is active)."""
    reasons = (
        kind_reason(need, c, kind_labels or {}),
        area_reason(need, c),
        availability_reason(need, c),
        rating_reason(c),
        load_reason(c),
    )
    return Ranked(candidate=c, score=round(sum(r.points for r in reasons), 1), reasons=reasons)


def rank(
    need: NeedFacts, candidates: Iterable[CandidateFacts], kind_labels: dict[str, str] | None = None
) -> list[Ranked]:
    """The active candidates, best first (score, then more ratings, then name)."""
    ranked = [score(need, c, kind_labels) for c in candidates if c.active]
    ranked.sort(key=lambda r: (-r.score, -r.candidate.rating_count, r.candidate.name, str(r.candidate.resource_id)))
    return ranked


def order(ranked: Sequence[Ranked]) -> list[Any]:
    """The resource ids in ranked order (for tests and logs)."""
    return [r.resource_id for r in ranked]
