"""Reads of needs surveys. Every selector takes the acting user: staff see the surveys sent from places they cover
(and their results), a resident sees the surveys sent to their community.

Results are aggregated from one query over the answers (topics, times and places are short JSON lists, counted in
Python so that SQLite and PostgreSQL give the same numbers). Results never name the residents who answered.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.people.models import Resident
from gongzhi.places.models import Place

from ..models import Need, NeedsSurvey, SurveyResponse, SurveyStatus
from ..services.surveys import PLACE_CHOICES, TIME_CHOICES, covers

OTHER_SHOWN = 50


def _response_count() -> Coalesce:
    counted = (
        SurveyResponse.objects.filter(survey=OuterRef("pk"))
        .order_by()
        .values("survey_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def surveys_visible(*, user: Any, place: Place | None = None, status: str = "") -> QuerySet[NeedsSurvey]:
    """Surveys sent from the places the user covers as staff (under ``place`` when given), with ``response_count``.
    One query."""
    qs = NeedsSurvey.objects.filter(access.prefix_q("place__code", user, access.STAFF_ROLES))
    if place is not None:
        qs = qs.filter(place__code__startswith=place.prefix)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("place").annotate(response_count=_response_count()).order_by("-opens_on", "-created_at")


def survey_get(*, user: Any, survey_id: Any) -> NeedsSurvey:
    """A survey the user manages (staff covering the sending place); any other does not exist."""
    try:
        survey = (
            NeedsSurvey.objects.select_related("place")
            .annotate(response_count=_response_count())
            .filter(pk=survey_id)
            .first()
        )
    except (ValueError, ValidationError):
        survey = None
    if survey is None or not user.has_perm("resources.view_needssurvey", survey):
        raise NotFound(_("找不到该需求调查"))
    return survey


def survey_targets(*, survey: NeedsSurvey) -> list[Place]:
    return list(survey.targets.order_by("code"))


# --- residents ----------------------------------------------------------------------------------------------------


def current_resident(*, user: Any) -> Resident | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Resident.objects.select_related("community").filter(user_id=user.pk, left_on__isnull=True).first()


def _for_community(community_code: str) -> QuerySet[NeedsSurvey]:
    street = community_code[:9] + "000"
    ids = NeedsSurvey.targets.through.objects.filter(place_id__in=[community_code, street]).values("needssurvey_id")
    return NeedsSurvey.objects.filter(pk__in=ids).exclude(status=SurveyStatus.DRAFT)


def surveys_for_resident(*, user: Any, include_past: bool = False) -> QuerySet[NeedsSurvey]:
    """Surveys sent to the resident's community (or its street) that take answers today, each with ``answered``
    (whether this resident has answered). With ``include_past``, also the closed ones they were sent. One query."""
    resident = current_resident(user=user)
    if resident is None:
        return NeedsSurvey.objects.none()
    today = timezone.localdate()
    qs = _for_community(resident.community_id)
    if not include_past:
        qs = qs.filter(status=SurveyStatus.OPEN, opens_on__lte=today, closes_on__gte=today)
    return qs.annotate(
        answered=Exists(SurveyResponse.objects.filter(survey=OuterRef("pk"), resident=resident))
    ).order_by("closes_on", "title")


def survey_for_resident(*, user: Any, survey_id: Any) -> NeedsSurvey:
    """A survey (not a draft) sent to the resident's community; any other does not exist."""
    resident = current_resident(user=user)
    if resident is None:
        raise NotFound(_("找不到该需求调查"))
    try:
        survey = _for_community(resident.community_id).filter(pk=survey_id).first()
    except (ValueError, ValidationError):
        survey = None
    if survey is None:
        raise NotFound(_("找不到该需求调查"))
    return survey


def my_response(*, user: Any, survey: NeedsSurvey) -> SurveyResponse | None:
    resident = current_resident(user=user)
    if resident is None:
        return None
    return SurveyResponse.objects.filter(survey=survey, resident=resident).first()


def is_targeted(*, user: Any, survey: NeedsSurvey) -> bool:
    resident = current_resident(user=user)
    if resident is None:
        return False
    return any(covers(code, resident.community_id) for code in survey.targets.values_list("code", flat=True))


# --- results ------------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    key: str
    label: str
    count: int
    share: float  # of respondents, 0–1
    own: bool = False  # a topic a resident wrote in

    @property
    def percent(self) -> int:
        return round(self.share * 100)


@dataclass
class CommunityTally:
    code: str
    name: str
    respondents: int
    topics: list[Tally] = field(default_factory=list)


@dataclass
class SurveyResults:
    respondents: int
    topics: list[Tally]
    times: list[Tally]
    places: list[Tally]
    communities: list[CommunityTally]
    others: list[str]
    needs: list[Need]


def _tallies(counter: Counter[str], total: int, labels: list[tuple[str, str]], *, own: bool = False) -> list[Tally]:
    """Tallies in the order of the options (zero counts kept), sorted by count."""
    known = [
        Tally(key=k, label=lbl, count=counter.get(k, 0), share=counter.get(k, 0) / total if total else 0.0)
        for k, lbl in labels
    ]
    known.sort(key=lambda t: -t.count)
    return known


def survey_results(*, user: Any, survey: NeedsSurvey, community: str = "") -> SurveyResults:
    """The answers counted per topic (options first with zeros, then residents' own topics), per preferred time and
    place, and per community (respondents and their top topics); the latest suggestions; the needs already made from
    the survey. Staff covering the survey only. ``community`` limits to one community. Three queries."""
    if not user.has_perm("resources.view_needssurvey", survey):
        raise NotFound(_("找不到该需求调查"))
    qs = SurveyResponse.objects.filter(survey=survey)
    if community:
        qs = qs.filter(community_id=community)
    rows = list(qs.order_by("-updated_at").values_list("community_id", "topics", "times", "places", "other"))
    total = len(rows)
    topic_count: Counter[str] = Counter()
    time_count: Counter[str] = Counter()
    place_count: Counter[str] = Counter()
    per_community: dict[str, Counter[str]] = {}
    respondents: Counter[str] = Counter()
    others: list[str] = []
    for code, topics, times, places, other in rows:
        topic_count.update(set(topics))
        time_count.update(set(times))
        place_count.update(set(places))
        respondents[code] += 1
        per_community.setdefault(code, Counter()).update(set(topics))
        if other and len(others) < OTHER_SHOWN:
            others.append(other)
    options = list(survey.topics)
    topic_tallies = _tallies(topic_count, total, [(t, t) for t in options])
    own = sorted(((t, c) for t, c in topic_count.items() if t not in options), key=lambda tc: (-tc[1], tc[0]))
    topic_tallies += [Tally(key=t, label=t, count=c, share=c / total if total else 0.0, own=True) for t, c in own]

    def order(topic: str) -> tuple[int, str]:
        # Ties: the survey's options in their order, then residents' own topics by name.
        return (options.index(topic), "") if topic in options else (len(options), topic)

    names = dict(Place.objects.filter(code__in=list(respondents)).values_list("code", "name"))
    communities = [
        CommunityTally(
            code=code,
            name=names.get(code, code),
            respondents=n,
            topics=[
                Tally(key=t, label=t, count=c, share=c / n, own=t not in options)
                for t, c in sorted(per_community[code].items(), key=lambda tc: (-tc[1], *order(tc[0])))[:3]
            ],
        )
        for code, n in sorted(respondents.items(), key=lambda cn: (-cn[1], cn[0]))
    ]
    return SurveyResults(
        respondents=total,
        topics=topic_tallies,
        times=_tallies(time_count, total, [(k, str(v)) for k, v in TIME_CHOICES]),
        places=_tallies(place_count, total, [(k, str(v)) for k, v in PLACE_CHOICES]),
        communities=communities,
        others=others,
        needs=list(Need.objects.filter(survey=survey).select_related("community").order_by("title", "community_id")),
    )


def survey_status_counts(*, user: Any, place: Place | None = None) -> dict[str, int]:
    rows = (
        NeedsSurvey.objects.filter(access.prefix_q("place__code", user, access.STAFF_ROLES))
        .filter(Q(place__code__startswith=place.prefix) if place is not None else Q())
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    counts = {s: 0 for s in SurveyStatus.values}
    counts.update(dict(rows))
    return counts


def days_left(survey: NeedsSurvey, today: datetime.date | None = None) -> int:
    today = today or timezone.localdate()
    return (survey.closes_on - today).days
