"""Writes of top-down needs surveys (需求调查): staff send a short questionnaire to the residents of chosen streets and
communities — what do you want to learn, when, where — open and close it, and turn its top topics into needs.

A resident answers once per survey: answering again replaces the earlier answer (the ``survey_response_once``
constraint keeps one row; the survey row is locked while answering, so a double submit never makes two).

Permission checks for staff are made by the callers (``resources.add_needssurvey`` on the sending place,
``resources.change_needssurvey`` on the survey); these functions enforce the domain's rules — targets inside the
sending place, only residents of a target answer, only while the survey is open.
"""

from __future__ import annotations

import datetime
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied, invalid
from gongzhi.people.models import Resident
from gongzhi.places.models import Place

from ..models import (
    Need,
    NeedDirection,
    NeedsSurvey,
    NeedStatus,
    ResourceKind,
    SurveyResponse,
    SurveyStatus,
)

# What residents may pick for "when" and "where" (stored as keys; shown with these labels).
TIME_CHOICES: list[tuple[str, Any]] = [
    ("weekday_day", gettext_lazy("工作日白天")),
    ("weekday_evening", gettext_lazy("工作日晚上")),
    ("weekend_day", gettext_lazy("周末白天")),
    ("weekend_evening", gettext_lazy("周末晚上")),
]
PLACE_CHOICES: list[tuple[str, Any]] = [
    ("community_room", gettext_lazy("本社区活动室")),
    ("street_school", gettext_lazy("街道社区学校")),
    ("learning_space", gettext_lazy("附近的学习空间（图书馆、文化家园等）")),
    ("online", gettext_lazy("线上")),
]
TIME_KEYS = [k for k, _label in TIME_CHOICES]
PLACE_KEYS = [k for k, _label in PLACE_CHOICES]
TARGET_LEVELS = ("street", "community")
MAX_TOPICS = 20
MAX_TOPIC_LENGTH = 50


def _bad(field: str, message: str) -> DomainError:
    return DomainError(_("提交的信息有误，请检查标红的字段"), fields={field: [message]})


def _locked(survey: NeedsSurvey) -> NeedsSurvey:
    return NeedsSurvey.objects.select_for_update(of=("self",)).select_related("place").get(pk=survey.pk)


def clean_topics(topics: Iterable[str] | str) -> list[str]:
    """Topic options from a list or from text with one per line: stripped, blank lines dropped, duplicates once."""
    items = topics.splitlines() if isinstance(topics, str) else list(topics)
    seen: list[str] = []
    for item in items:
        label = str(item or "").strip()
        if label and label not in seen:
            seen.append(label)
    if not seen:
        raise _bad("topics", _("请至少列出一个主题"))
    if len(seen) > MAX_TOPICS:
        raise _bad("topics", _("主题最多 %(n)d 个") % {"n": MAX_TOPICS})
    for label in seen:
        if len(label) > MAX_TOPIC_LENGTH:
            raise _bad("topics", _("每个主题不超过 %(n)d 字：%(t)s") % {"n": MAX_TOPIC_LENGTH, "t": label[:10] + "…"})
    return seen


def covers(target_code: str, community_code: str) -> bool:
    """A target (a street or community) covers a community: the community itself, or its street."""
    return community_code == target_code or (target_code.endswith("000") and community_code[:9] == target_code[:9])


# --- staff --------------------------------------------------------------------------------------------------------


@transaction.atomic
def survey_create(
    *,
    actor: Any,
    place: Place,
    title: str,
    targets: Sequence[Place],
    topics: Iterable[str] | str,
    opens_on: datetime.date,
    closes_on: datetime.date,
    intro: str = "",
) -> NeedsSurvey:
    """A draft survey sent from ``place`` to residents of ``targets`` (streets or communities inside ``place``)."""
    title = (title or "").strip()
    if not title:
        raise _bad("title", _("必填"))
    if len(title) > 200:
        raise _bad("title", _("不能超过 %(n)d 字") % {"n": 200})
    intro = (intro or "").strip()
    if len(intro) > 2000:
        raise _bad("intro", _("不能超过 %(n)d 字") % {"n": 2000})
    chosen = list({t.code: t for t in targets}.values())
    if not chosen:
        raise _bad("targets", _("请至少选择一个街道或社区"))
    for target in chosen:
        if target.level not in TARGET_LEVELS:
            raise _bad("targets", _("调查范围只能是街道或社区：%(name)s") % {"name": target.name})
        if not target.code.startswith(place.prefix):
            raise _bad("targets", _("%(name)s 不在 %(place)s 之内") % {"name": target.name, "place": place.name})
    options = clean_topics(topics)
    if closes_on < opens_on:
        raise _bad("closes_on", _("截止日期不能早于开始日期"))
    if closes_on < timezone.localdate():
        raise _bad("closes_on", _("截止日期已经过去"))
    survey = NeedsSurvey(
        title=title,
        intro=intro,
        place=place,
        topics=options,
        opens_on=opens_on,
        closes_on=closes_on,
        status=SurveyStatus.DRAFT,
        created_by=acting_user(actor),
    )
    try:
        survey.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    survey.save(force_insert=True)
    survey.targets.set(chosen)
    audit_record(
        actor=actor,
        action="create",
        target_type="needs_survey",
        target_id=str(survey.pk),
        place_code=place.code,
        summary=f"需求调查 {survey.title}（{len(chosen)} 个范围，{len(options)} 个主题）",
    )
    return survey


@transaction.atomic
def survey_open(*, actor: Any, survey: NeedsSurvey) -> NeedsSurvey:
    """Start collecting answers. Opening an open survey changes nothing; a closed one cannot be reopened."""
    survey = _locked(survey)
    if survey.status == SurveyStatus.OPEN:
        return survey
    if survey.status == SurveyStatus.CLOSED:
        raise Conflict(_("调查已结束，不能再开始"), code="survey_closed")
    if survey.closes_on < timezone.localdate():
        raise Conflict(_("截止日期已经过去，不能开始收集"), code="survey_expired")
    survey.status = SurveyStatus.OPEN
    survey.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="needs_survey",
        target_id=str(survey.pk),
        place_code=survey.place_id,
        summary=f"开始需求调查 {survey.title}",
        changes={"status": ["draft", "open"]},
    )
    return survey


@transaction.atomic
def survey_close(*, actor: Any, survey: NeedsSurvey) -> NeedsSurvey:
    """Stop collecting answers. Closing a closed survey changes nothing; a draft has nothing to close."""
    survey = _locked(survey)
    if survey.status == SurveyStatus.CLOSED:
        return survey
    if survey.status == SurveyStatus.DRAFT:
        raise Conflict(_("调查还没有开始收集，不能结束"), code="survey_draft")
    survey.status = SurveyStatus.CLOSED
    survey.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="needs_survey",
        target_id=str(survey.pk),
        place_code=survey.place_id,
        summary=f"结束需求调查 {survey.title}",
        changes={"status": ["open", "closed"]},
    )
    return survey


# --- residents ----------------------------------------------------------------------------------------------------


def accepting(survey: NeedsSurvey, today: datetime.date | None = None) -> bool:
    """Whether the survey takes answers today: open, and today inside its dates."""
    today = today or timezone.localdate()
    return survey.status == SurveyStatus.OPEN and survey.opens_on <= today <= survey.closes_on


def _pick(values: Iterable[str], allowed: Sequence[str], field: str) -> list[str]:
    picked: list[str] = []
    for value in values:
        if value not in allowed:
            raise _bad(field, _("不是可选的值：%(v)s") % {"v": str(value)[:20]})
        if value not in picked:
            picked.append(value)
    return picked


@transaction.atomic
def survey_answer(
    *,
    user: Any,
    survey: NeedsSurvey,
    topics: Iterable[str] = (),
    own_topic: str = "",
    times: Iterable[str] = (),
    places: Iterable[str] = (),
    other: str = "",
) -> tuple[SurveyResponse, bool]:
    """A resident of a target community answers. The first answer is created (``True``); answering again replaces the
    answer (``False``) — one row per resident and survey, however often or concurrently they submit."""
    resident = (
        Resident.objects.filter(user_id=user.pk, left_on__isnull=True).first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    if resident is None:
        raise PermissionDenied(_("只有本社区居民可以填写需求调查"))
    chosen = _pick(topics, list(survey.topics), "topics")
    own_topic = (own_topic or "").strip()
    if len(own_topic) > MAX_TOPIC_LENGTH:
        raise _bad("own_topic", _("不能超过 %(n)d 字") % {"n": MAX_TOPIC_LENGTH})
    if own_topic and own_topic not in chosen:
        chosen.append(own_topic)
    if not chosen:
        raise _bad("topics", _("请至少选择一个主题，或写下您想学的内容"))
    when = _pick(times, TIME_KEYS, "times")
    where = _pick(places, PLACE_KEYS, "places")
    other = (other or "").strip()
    if len(other) > 300:
        raise _bad("other", _("不能超过 %(n)d 字") % {"n": 300})
    survey = _locked(survey)  # answers to one survey take turns: a double submit finds the first answer
    if not accepting(survey):
        raise Conflict(_("该调查目前不在收集期内"), code="survey_not_open")
    target_codes = list(survey.targets.values_list("code", flat=True))
    if not any(covers(code, resident.community_id) for code in target_codes):
        raise PermissionDenied(_("这份调查不是发给您所在社区的"))
    values = {"community_id": resident.community_id, "topics": chosen, "times": when, "places": where, "other": other}
    existing = SurveyResponse.objects.filter(survey=survey, resident=resident).first()
    if existing is None:
        response = SurveyResponse(survey=survey, resident=resident, **values)
        try:
            with transaction.atomic():
                response.save(force_insert=True)
        except IntegrityError:
            existing = SurveyResponse.objects.get(survey=survey, resident=resident)
        else:
            return response, True
    for name, value in values.items():
        setattr(existing, name, value)
    existing.save(update_fields=[*values, "updated_at"])
    return existing, False


# --- from results to needs ----------------------------------------------------------------------------------------


def _top(counter: Counter[str], labels: dict[str, str], n: int = 2) -> str:
    return "、".join(labels.get(k, k) for k, _c in counter.most_common(n))


@transaction.atomic
def survey_needs_create(
    *,
    actor: Any,
    survey: NeedsSurvey,
    topics: Sequence[tuple[str, str]],
    min_count: int = 1,
) -> list[Need]:
    """Turn chosen topics into needs (direction ``survey``): for each ``(topic, resource_kind)``, one open Need in each
    community where at least ``min_count`` respondents picked the topic, with the counts and the preferred times and
    places in its description. All in one transaction; a need already made from this survey for the same topic and
    community is not made again (a second call makes none). Returns the needs made."""
    if not topics:
        raise _bad("topics", _("请至少选择一个主题"))
    if not isinstance(min_count, int) or min_count < 1:
        raise _bad("min_count", _("至少为 1"))
    for topic, kind in topics:
        if kind not in ResourceKind.values:
            raise _bad("resource_kind", _("请为「%(t)s」选择所需资源类型") % {"t": topic})
    survey = _locked(survey)
    if survey.status == SurveyStatus.DRAFT:
        raise Conflict(_("调查还没有开始收集"), code="survey_draft")
    rows = list(
        SurveyResponse.objects.filter(survey=survey).values_list("community_id", "topics", "times", "places").order_by()
    )
    picked: dict[str, Counter[str]] = {}
    times: dict[tuple[str, str], Counter[str]] = {}
    places: dict[tuple[str, str], Counter[str]] = {}
    for community, their_topics, their_times, their_places in rows:
        for topic in their_topics:
            picked.setdefault(topic, Counter())[community] += 1
            times.setdefault((topic, community), Counter()).update(their_times)
            places.setdefault((topic, community), Counter()).update(their_places)
    for topic, _kind in topics:
        if topic not in picked:
            raise _bad("topics", _("没有居民选择「%(t)s」") % {"t": topic})
    existing = set(
        Need.objects.filter(survey=survey, direction=NeedDirection.SURVEY).values_list("community_id", "title")
    )
    communities = {
        p.code: p
        for p in Place.objects.filter(code__in={c for counter in picked.values() for c in counter}, level="community")
    }
    time_labels = {k: str(v) for k, v in TIME_CHOICES}
    place_labels = {k: str(v) for k, v in PLACE_CHOICES}
    today = timezone.localdate()
    made: list[Need] = []
    for topic, kind in topics:
        for code, count in sorted(picked[topic].items()):
            if count < min_count or (code, topic[:200]) in existing or code not in communities:
                continue
            when = _top(times[(topic, code)], time_labels)
            where = _top(places[(topic, code)], place_labels)
            description = _("来自需求调查「%(s)s」：本社区 %(n)d 位居民想学这个主题。") % {
                "s": survey.title,
                "n": count,
            }
            if when:
                description += _("方便的时间：%(t)s。") % {"t": when}
            if where:
                description += _("方便的地点：%(p)s。") % {"p": where}
            need = Need(
                ref=f"N{secrets.token_hex(6).upper()}",
                community=communities[code],
                direction=NeedDirection.SURVEY,
                resource_kind=kind,
                title=topic[:200],
                description=description,
                preferred_time=when[:100],
                raised_on=today,
                raised_by_user=acting_user(actor),
                survey=survey,
                status=NeedStatus.OPEN,
            )
            try:
                need.full_clean(validate_unique=False, validate_constraints=False)
            except ValidationError as exc:
                raise invalid(exc) from exc
            need.save(force_insert=True)
            existing.add((code, need.title))
            made.append(need)
            audit_record(
                actor=actor,
                action="create",
                target_type="need",
                target_id=str(need.pk),
                place_code=code,
                summary=f"由需求调查「{survey.title}」生成需求：{need.title}（{count} 人）",
            )
    return made
