"""Writes of the social-capital survey (社会资本调查): staff send a round of the fixed instrument to residents of chosen
streets and communities, open and close it; residents answer all twelve items on their phones.

- Staff need ``analytics.manage_socialsurvey`` on the sending place (checked here for a signed-in actor; ``actor=None``
  is the system: commands, the demo, tests). Targets are streets or communities inside the sending place.
- A resident answers while the round is open and today is within its dates, when their community is a target or lies
  in a target street. Answering again replaces: in one transaction the resident's earlier answers to this round are
  deleted and the new twelve inserted (dated today). The database keeps one answer per resident, day and item
  (``sanswer_once_a_day``), so answers the resident gave *today* to another round or through an import are replaced
  too: a day's answer is the resident's latest word that day. Submits of one resident take turns (their resident row is
  locked), so a double submit or two at the same moment leave exactly twelve rows.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied, full_clean_or_invalid
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import SocialSurvey, SocialSurveyStatus, SurveyAnswer
from .instrument import ITEMS, VALUES, item_number

TARGET_LEVELS = ("street", "community")
MANAGE = "analytics.manage_socialsurvey"
TITLE_MAX = 200


def _bad(field: str, message: str) -> DomainError:
    return DomainError(_("提交的信息有误，请检查标红的字段"), fields={field: [message]})


def _require_manage(actor: Any, place: Place) -> None:
    """A signed-in actor must be staff covering ``place``; ``None`` (the system) may act anywhere."""
    if actor is not None and not actor.has_perm(MANAGE, place):
        raise PermissionDenied(_("您无权管理 %(place)s 的社会资本调查") % {"place": place.name})


def covers(target_code: str, community_code: str) -> bool:
    """A target (a street or a community) covers a community: the community itself, or one in the street."""
    return codes.covers(target_code, community_code)


def _locked(survey: SocialSurvey) -> SocialSurvey:
    return SocialSurvey.objects.select_for_update(of=("self",)).select_related("place").get(pk=survey.pk)


# --- staff --------------------------------------------------------------------------------------------------------


@transaction.atomic
def social_survey_create(
    *,
    actor: Any,
    place: Place,
    title: str,
    targets: Sequence[Place],
    opens_on: datetime.date,
    closes_on: datetime.date,
) -> SocialSurvey:
    """A draft round sent from ``place`` to the residents of ``targets`` (streets or communities inside ``place``)."""
    _require_manage(actor, place)
    title = (title or "").strip()
    if not title:
        raise _bad("title", _("必填"))
    if len(title) > TITLE_MAX:
        raise _bad("title", _("不能超过 %(n)d 字") % {"n": TITLE_MAX})
    chosen = list({t.code: t for t in targets}.values())
    if not chosen:
        raise _bad("targets", _("请至少选择一个街道或社区"))
    for target in chosen:
        if target.level not in TARGET_LEVELS:
            raise _bad("targets", _("调查范围只能是街道或社区：%(name)s") % {"name": target.name})
        if not place.covers(target.code):
            raise _bad("targets", _("%(name)s 不在 %(place)s 之内") % {"name": target.name, "place": place.name})
    if opens_on is None:
        raise _bad("opens_on", _("必填"))
    if closes_on is None:
        raise _bad("closes_on", _("必填"))
    if closes_on < opens_on:
        raise _bad("closes_on", _("截止日期不能早于开始日期"))
    if closes_on < timezone.localdate():
        raise _bad("closes_on", _("截止日期已经过去"))
    survey = SocialSurvey(
        title=title,
        place=place,
        opens_on=opens_on,
        closes_on=closes_on,
        status=SocialSurveyStatus.DRAFT,
        created_by=acting_user(actor),
    )
    full_clean_or_invalid(survey)
    survey.save(force_insert=True)
    ordered: list[Place] = sorted(chosen, key=lambda p: p.code)
    survey.targets.set(ordered)
    audit_record(
        actor=actor,
        action="create",
        target_type="social_survey",
        target_id=str(survey.pk),
        place_code=place.code,
        summary=f"社会资本调查 {survey.title}（{len(chosen)} 个范围，{opens_on} 至 {closes_on}）",
    )
    return survey


@transaction.atomic
def social_survey_open(*, actor: Any, survey: SocialSurvey) -> SocialSurvey:
    """Start taking answers. Opening an open round changes nothing; a closed or expired one cannot be opened."""
    survey = _locked(survey)
    _require_manage(actor, survey.place)
    if survey.status == SocialSurveyStatus.OPEN:
        return survey
    if survey.status == SocialSurveyStatus.CLOSED:
        raise Conflict(_("调查已结束，不能再开始"), code="survey_closed")
    if survey.closes_on < timezone.localdate():
        raise Conflict(_("截止日期已经过去，不能开始收集"), code="survey_expired")
    survey.status = SocialSurveyStatus.OPEN
    survey.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="social_survey",
        target_id=str(survey.pk),
        place_code=survey.place_id,
        summary=f"开始社会资本调查 {survey.title}",
        changes={"status": ["draft", "open"]},
    )
    return survey


@transaction.atomic
def social_survey_close(*, actor: Any, survey: SocialSurvey) -> SocialSurvey:
    """Stop taking answers. Closing a closed round changes nothing; a draft has nothing to close."""
    survey = _locked(survey)
    _require_manage(actor, survey.place)
    if survey.status == SocialSurveyStatus.CLOSED:
        return survey
    if survey.status == SocialSurveyStatus.DRAFT:
        raise Conflict(_("调查还没有开始收集，不能结束"), code="survey_draft")
    survey.status = SocialSurveyStatus.CLOSED
    survey.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="social_survey",
        target_id=str(survey.pk),
        place_code=survey.place_id,
        summary=f"结束社会资本调查 {survey.title}",
        changes={"status": ["open", "closed"]},
    )
    return survey


# --- residents ----------------------------------------------------------------------------------------------------


def accepting(survey: SocialSurvey, today: datetime.date | None = None) -> bool:
    """Whether the round takes answers today: open, and today within its dates."""
    today = today or timezone.localdate()
    return survey.status == SocialSurveyStatus.OPEN and survey.opens_on <= today <= survey.closes_on


def clean_answers(answers: Mapping[str, Any]) -> dict[str, int]:
    """Every item of the instrument answered with a whole number 1–5; unknown items refused. All problems at once,
    keyed by item id."""
    problems: dict[str, list[str]] = {}
    for key in answers:
        if key not in ITEMS:
            problems.setdefault(str(key)[:20], []).append(_("没有这道题"))
    cleaned: dict[str, int] = {}
    for item in ITEMS:
        raw = answers.get(item)
        if raw is None or raw == "":
            problems[item] = [_("第 %(n)d 题还没有选择") % {"n": item_number(item)}]
            continue
        value: int | None
        if isinstance(raw, bool):
            value = None
        elif isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and raw.strip().isdigit():
            value = int(raw.strip())
        else:
            value = None
        if value not in VALUES:
            problems[item] = [_("第 %(n)d 题的答案应为 1 到 5") % {"n": item_number(item)}]
            continue
        cleaned[item] = value
    if problems:
        missing = sum(1 for item in ITEMS if item not in cleaned)
        message = (
            _("还有 %(n)d 道题没有作答，请选择后再提交") % {"n": missing}
            if missing
            else _("提交的信息有误，请检查标红的字段")
        )
        raise DomainError(message, fields=problems)
    return cleaned


def resident_of(user: Any) -> Resident | None:
    """The resident profile of a signed-in user (still living here), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Resident.objects.filter(user_id=user.pk, left_on__isnull=True).first()


@transaction.atomic
def social_survey_answer(
    *, user: Any, survey: SocialSurvey, answers: Mapping[str, Any]
) -> tuple[list[SurveyAnswer], bool]:
    """A resident of a target community answers all twelve items. Returns the stored answers and whether this was
    their first answer to the round (``False``: the earlier answers were replaced)."""
    resident = resident_of(user)
    if resident is None:
        raise PermissionDenied(_("只有居民可以填写社会资本调查"))
    values = clean_answers(answers)
    # One resident's submits take turns: a double submit finds the first one's answers and replaces them.
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    survey = SocialSurvey.objects.get(pk=survey.pk)
    if not any(covers(code, resident.community_id) for code in survey.targets.values_list("code", flat=True)):
        raise PermissionDenied(_("这份调查不是发给您所在社区的"))
    if not accepting(survey):
        if survey.status == SocialSurveyStatus.CLOSED:
            raise Conflict(_("这份调查已经结束，不能再填写"), code="survey_not_open")
        raise Conflict(
            _("这份调查的填写时间是 %(a)s 至 %(b)s，现在不能填写") % {"a": survey.opens_on, "b": survey.closes_on},
            code="survey_not_open",
        )
    today = timezone.localdate()
    earlier = SurveyAnswer.objects.filter(resident=resident, survey=survey).exists()
    SurveyAnswer.objects.filter(resident=resident).filter(Q(survey=survey) | Q(answered_on=today)).delete()
    rows = [
        SurveyAnswer(
            survey=survey,
            resident=resident,
            community_id=resident.community_id,
            answered_on=today,
            item=item,
            value=values[item],
        )
        for item in ITEMS
    ]
    SurveyAnswer.objects.bulk_create(rows)
    return rows, not earlier
