"""Reads of the social-capital survey. Every selector takes the acting user: staff see the rounds sent from places they
cover (``analytics.manage_socialsurvey`` on the sending place) and their results; a resident sees the rounds sent to
their community.

Results are computed by the survey engine (``engine.survey``: the same scale scores and Cronbach's alpha as the
indicators) over the round's answers, read in one query. They never name a resident, and any figure resting on fewer
than ``MIN_RESPONDENTS`` respondents is withheld and shown as 样本不足 (small sample).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.people.models import Resident
from gongzhi.places.models import Place

from ..engine import survey as engine
from ..models import SocialSurvey, SocialSurveyStatus, SurveyAnswer
from .instrument import ITEMS, SCALE_INDICATORS, SCALE_LABELS, SCALE_OF, SCALES, SHORT, TEXTS, VALUES, item_number
from .services import MANAGE, covers

MIN_RESPONDENTS = 5  # fewer respondents than this: 样本不足, no figures


def _respondent_count() -> Coalesce:
    counted = (
        SurveyAnswer.objects.filter(survey=OuterRef("pk"))
        .order_by()
        .values("survey_id")
        .annotate(n=Count("resident_id", distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def social_surveys_visible(*, user: Any, place: Place | None = None, status: str = "") -> QuerySet[SocialSurvey]:
    """Rounds sent from the places the user covers as staff (under ``place`` when given), newest first, each with
    ``respondents``. One query (plus one for the targets when prefetched)."""
    qs = SocialSurvey.objects.filter(access.prefix_q("place__code", user, access.STAFF_ROLES))
    if place is not None:
        qs = qs.filter(place__code__startswith=place.prefix)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("place").annotate(respondents=_respondent_count()).order_by("-opens_on", "-created_at")


def social_survey_get(*, user: Any, survey_id: Any) -> SocialSurvey:
    """A round the user manages (staff covering the sending place); any other does not exist."""
    try:
        survey = (
            SocialSurvey.objects.select_related("place")
            .annotate(respondents=_respondent_count())
            .filter(pk=survey_id)
            .first()
        )
    except (ValueError, ValidationError):
        survey = None
    if survey is None or not user.has_perm(MANAGE, survey.place):
        raise NotFound(_("找不到该社会资本调查"))
    return survey


def social_survey_targets(*, survey: SocialSurvey) -> list[Place]:
    return list(survey.targets.order_by("code"))


def status_counts(*, user: Any, place: Place | None = None) -> dict[str, int]:
    rows = (
        SocialSurvey.objects.filter(access.prefix_q("place__code", user, access.STAFF_ROLES))
        .filter(Q(place__code__startswith=place.prefix) if place is not None else Q())
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(SocialSurveyStatus.values, 0)
    counts.update(dict(rows))
    return counts


# --- residents ----------------------------------------------------------------------------------------------------


def current_resident(*, user: Any) -> Resident | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Resident.objects.select_related("community").filter(user_id=user.pk, left_on__isnull=True).first()


def _for_community(community_code: str) -> QuerySet[SocialSurvey]:
    street = community_code[:9] + "000"
    through = SocialSurvey.targets.through.objects.filter(place_id__in=[community_code, street])
    return SocialSurvey.objects.filter(pk__in=through.values("socialsurvey_id")).exclude(
        status=SocialSurveyStatus.DRAFT
    )


def social_surveys_for_resident(*, user: Any, include_past: bool = False) -> QuerySet[SocialSurvey]:
    """Rounds sent to the resident's community (or its street) that take answers today, each with ``answered``
    (whether this resident has answered it). With ``include_past``, also the closed ones. One query."""
    resident = current_resident(user=user)
    if resident is None:
        return SocialSurvey.objects.none()
    today = timezone.localdate()
    qs = _for_community(resident.community_id)
    if not include_past:
        qs = qs.filter(status=SocialSurveyStatus.OPEN, opens_on__lte=today, closes_on__gte=today)
    return qs.annotate(answered=Exists(SurveyAnswer.objects.filter(survey=OuterRef("pk"), resident=resident))).order_by(
        "closes_on", "title"
    )


def social_survey_for_resident(*, user: Any, survey_id: Any) -> SocialSurvey:
    """A round (not a draft) sent to the resident's community; any other does not exist."""
    resident = current_resident(user=user)
    survey = None
    if resident is not None:
        try:
            survey = _for_community(resident.community_id).filter(pk=survey_id).first()
        except (ValueError, ValidationError):
            survey = None
    if survey is None:
        raise NotFound(_("找不到该社会资本调查"))
    return survey


@dataclass
class MyAnswers:
    values: dict[str, int]  # item → 1–5
    answered_on: datetime.date | None
    updated_at: datetime.datetime | None


def my_answers(*, user: Any, survey: SocialSurvey) -> MyAnswers | None:
    """The resident's answers to the round, or None when they have not answered."""
    resident = current_resident(user=user)
    if resident is None:
        return None
    rows = list(
        SurveyAnswer.objects.filter(survey=survey, resident=resident).values_list(
            "item", "value", "answered_on", "updated_at"
        )
    )
    if not rows:
        return None
    return MyAnswers(
        values={item: value for item, value, _day, _at in rows},
        answered_on=max(day for _i, _v, day, _at in rows),
        updated_at=max(at for _i, _v, _day, at in rows),
    )


# --- results ------------------------------------------------------------------------------------------------------


@dataclass
class ScaleCell:
    indicator: str
    value: float | None  # mean of item means, 1–5; None when withheld or no answers

    @property
    def percent(self) -> float | None:
        """The value on 0–100 (1 → 0, 5 → 100), as the scorer maps it."""
        return None if self.value is None else (self.value - 1.0) / 4.0 * 100.0


@dataclass
class CommunityResult:
    code: str
    name: str
    targeted: bool
    respondents: int
    small: bool  # fewer than MIN_RESPONDENTS: figures withheld
    scales: list[ScaleCell]


@dataclass
class AlphaResult:
    scale: str
    indicator: str
    label: str
    items: int
    respondents: int  # complete respondents
    value: float | None  # withheld (None) below MIN_RESPONDENTS
    level: str  # small, undefined, excellent, good, acceptable, questionable, poor
    reading: str


@dataclass
class ItemResult:
    item: str
    number: int
    scale: str
    text: str
    short: str
    counts: list[int]  # answers with value 1 … 5
    total: int
    mean: float | None

    def shares(self) -> list[int]:
        """Percent of answers per value (rounded), for the no-script table."""
        return [round(100 * c / self.total) if self.total else 0 for c in self.counts]


@dataclass
class SocialSurveyResults:
    respondents: int
    small: bool
    overall: list[ScaleCell]
    alphas: list[AlphaResult]
    communities: list[CommunityResult]
    items: list[ItemResult] = field(default_factory=list)
    min_respondents: int = MIN_RESPONDENTS


def alpha_reading(value: float | None, respondents: int) -> tuple[str, str]:
    """(level, plain-language reading) of Cronbach's alpha."""
    if respondents < MIN_RESPONDENTS:
        return "small", _("样本不足：完整作答少于 %(n)d 人，暂不计算") % {"n": MIN_RESPONDENTS}
    if value is None:
        return "undefined", _("无法计算：各人的总分没有差异")
    if value >= 0.9:
        return "excellent", _("很好（≥0.9）：几道题测的是同一件事，结果非常稳定")
    if value >= 0.8:
        return "good", _("良好（≥0.8）：几道题测的是同一件事，结果稳定")
    if value >= 0.7:
        return "acceptable", _("可接受（≥0.7）：可以用这个量表的得分做比较")
    if value >= 0.6:
        return "questionable", _("勉强（0.6–0.7）：得分可以参考，解读时要谨慎")
    return "poor", _("偏低（<0.6）：几道题的回答不一致，这个量表的得分不宜单独使用")


def answers_frame(rows: list[tuple[Any, str, datetime.date, str, int]]) -> pl.DataFrame:
    """Answer rows (resident id, community code, date, item, value) as the engine's ``survey_answers`` frame."""
    from ..engine.frames import SCHEMAS, empty

    if not rows:
        return empty("survey_answers")
    return pl.DataFrame(
        [(str(r), c, d, i, v) for r, c, d, i, v in rows],
        schema=SCHEMAS["survey_answers"],
        orient="row",
    )


def social_survey_results(*, user: Any, survey: SocialSurvey) -> SocialSurveyResults:
    """Respondents and scale scores per community (every community the round was sent to, and any other that
    answered), the overall scale scores, Cronbach's alpha per scale with a reading, and the spread of answers per item.
    Staff managing the round only. Three queries."""
    if not user.has_perm(MANAGE, survey.place):
        raise NotFound(_("找不到该社会资本调查"))
    rows = list(
        SurveyAnswer.objects.filter(survey=survey)
        .order_by()
        .values_list("resident_id", "community_id", "answered_on", "item", "value")
    )
    latest = engine.latest_answers(answers_frame(rows))
    respondents = latest.get_column("resident_id").n_unique() if latest.height else 0
    small = respondents < MIN_RESPONDENTS

    # Per community: every targeted community (streets expanded), with their respondents and scale scores.
    targets = list(survey.targets.values_list("code", "level"))
    answered = set(latest.get_column("community_code").to_list()) if latest.height else set()
    wanted = Q(code__in=answered | {code for code, level in targets if level == "community"})
    for code, level in targets:
        if level == "street":
            wanted |= Q(code__startswith=code[:9], level="community")
    names = dict(Place.objects.filter(wanted).order_by("code").values_list("code", "name"))
    per_community = {
        (c, ind): v for c, ind, v in engine.scores_of(latest).select("community_code", "indicator", "value").iter_rows()
    }
    counts: dict[str, int] = {}
    if latest.height:
        for code, n in latest.group_by("community_code").agg(pl.col("resident_id").n_unique()).iter_rows():
            counts[code] = n
    indicators = [SCALE_INDICATORS[s] for s in SCALES]
    communities = []
    for code in sorted(set(names) | answered):
        n = counts.get(code, 0)
        few = n < MIN_RESPONDENTS
        communities.append(
            CommunityResult(
                code=code,
                name=names.get(code, code),
                targeted=any(covers(t, code) for t, _level in targets),
                respondents=n,
                small=few,
                scales=[ScaleCell(ind, None if few else per_community.get((code, ind))) for ind in indicators],
            )
        )

    # Overall: the round's respondents as one group.
    everyone = latest.with_columns(pl.lit("*").alias("community_code"))
    overall_scores = {
        ind: v for _c, ind, v in engine.scores_of(everyone).select("community_code", "indicator", "value").iter_rows()
    }
    overall = [ScaleCell(ind, None if small else overall_scores.get(ind)) for ind in indicators]

    alphas = []
    for indicator, a in engine.alphas_of(latest).items():
        level, reading = alpha_reading(a.value, a.respondents)
        alphas.append(
            AlphaResult(
                scale=a.scale,
                indicator=indicator,
                label=str(SCALE_LABELS[a.scale]),
                items=a.items,
                respondents=a.respondents,
                value=None if a.respondents < MIN_RESPONDENTS else a.value,
                level=level,
                reading=reading,
            )
        )

    spread: dict[str, list[int]] = {item: [0] * len(VALUES) for item in ITEMS}
    if latest.height and not small:
        for item, value, n in latest.group_by(["item", "value"]).agg(pl.len()).iter_rows():
            spread[item][value - 1] = n
    items = []
    for item in ITEMS:
        c = spread[item]
        total = sum(c)
        items.append(
            ItemResult(
                item=item,
                number=item_number(item),
                scale=SCALE_OF[item],
                text=str(TEXTS[item]),
                short=str(SHORT[item]),
                counts=c,
                total=total,
                mean=sum((i + 1) * n for i, n in enumerate(c)) / total if total else None,
            )
        )
    return SocialSurveyResults(
        respondents=respondents,
        small=small,
        overall=overall,
        alphas=alphas,
        communities=communities,
        items=items,
    )


def days_left(survey: SocialSurvey, today: datetime.date | None = None) -> int:
    today = today or timezone.localdate()
    return (survey.closes_on - today).days
