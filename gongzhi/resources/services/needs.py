"""Writes of needs (需求): reporting (both ways), matching a resource, undoing a match, cancelling.

One transaction each. Permission checks are made by the callers (views, API) with the predicates in ``rules.py``;
these functions enforce the domain's own rules:

- a resident reports only in the community they live in, and only bottom-up (``report``); staff may record a
  resident's report or a need found by a needs survey (``survey``, top-down);
- a double submit (the same resident — or the same staff account — with the same title in the same community on the
  same day) returns the need already there instead of a second one;
- a need moves only along ``NEED_TRANSITIONS``: open → matched → fulfilled, open/matched → cancelled, and a match can
  be undone (matched → open). Fulfilment goes through an activity (``gongzhi.activities.fulfilment.services``);
- the need's row is locked (``select_for_update``) before its status changes, so two concurrent matches cannot both
  win: the second sees the first one's match and is refused (or, for the same resource, gets the same need back).
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied, invalid
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import Need, NeedDirection, NeedsSurvey, NeedStatus, Resource, ResourceKind

NEED_TRANSITIONS: dict[str, frozenset[str]] = {
    NeedStatus.OPEN: frozenset({NeedStatus.MATCHED, NeedStatus.CANCELLED}),
    NeedStatus.MATCHED: frozenset({NeedStatus.OPEN, NeedStatus.FULFILLED, NeedStatus.CANCELLED}),
    NeedStatus.FULFILLED: frozenset(),
    NeedStatus.CANCELLED: frozenset(),
}
FINISHED = (NeedStatus.FULFILLED, NeedStatus.CANCELLED)
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_PREFERRED_TIME = 100
MAX_REASON = 300


def bad(field: str, message: str) -> DomainError:
    return DomainError(_("提交的信息有误，请检查标红的字段"), fields={field: [message]})


def locked(need: Need) -> Need:
    """The need's row, locked for this transaction (with its community and resource)."""
    return (
        Need.objects.select_for_update(of=("self",))
        .select_related("community", "resource", "resource__provider")
        .get(pk=need.pk)
    )


def move_check(need: Need, target: str) -> None:
    """Refuse a status move that ``NEED_TRANSITIONS`` does not allow, saying what is possible."""
    current = NeedStatus(need.status)
    if target in NEED_TRANSITIONS[current]:
        return
    allowed = "、".join(str(NeedStatus(s).label) for s in sorted(NEED_TRANSITIONS[current])) or _("无（已结束）")
    message = _("不能从「%(from)s」变为「%(to)s」。当前可以变为：%(allowed)s") % {
        "from": current.label,
        "to": NeedStatus(target).label,
        "allowed": allowed,
    }
    raise Conflict(message, fields={"status": [message]}, code="illegal_transition")


def _reason(reason: str, *, required: bool, label: str) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise DomainError(label, fields={"reason": [_("必填")]})
    if len(reason) > MAX_REASON:
        raise bad("reason", _("不能超过 %(n)d 字") % {"n": MAX_REASON})
    return reason


# --- reporting --------------------------------------------------------------------------------------------------


@transaction.atomic
def need_report(
    *,
    actor: Any,
    community: Place,
    title: str,
    resource_kind: str,
    description: str = "",
    preferred_time: str = "",
    resident: Resident | None = None,
    direction: str = NeedDirection.REPORT,
    survey: NeedsSurvey | None = None,
    raised_on: datetime.date | None = None,
    ref: str = "",
) -> tuple[Need, bool]:
    """A resident reports a need in their own community (``resident`` given), or staff record one for a community:
    a resident's report heard at the desk (``report``) or a need found by a needs survey (``survey``).

    Idempotent: the same raiser with the same title in the same community on the same day returns
    ``(existing, False)``; concurrent submits are serialised on the community's row (a no-key lock, so other writes
    that only reference the community are not held up)."""
    title = (title or "").strip()
    description = (description or "").strip()
    preferred_time = (preferred_time or "").strip()
    if not title:
        raise bad("title", _("必填"))
    if len(title) > MAX_TITLE:
        raise bad("title", _("不能超过 %(n)d 字") % {"n": MAX_TITLE})
    if len(description) > MAX_DESCRIPTION:
        raise bad("description", _("不能超过 %(n)d 字") % {"n": MAX_DESCRIPTION})
    if len(preferred_time) > MAX_PREFERRED_TIME:
        raise bad("preferred_time", _("不能超过 %(n)d 字") % {"n": MAX_PREFERRED_TIME})
    if resource_kind not in ResourceKind.values:
        raise bad("resource_kind", _("不是可选的值"))
    if direction not in NeedDirection.values:
        raise bad("direction", _("不是可选的值"))
    if getattr(community, "level", None) != "community":
        raise bad("community", _("需求必须属于一个社区"))
    if resident is not None:
        if resident.community_id != community.code or resident.left_on is not None:
            message = _("只能反映自己所在社区的需求")
            raise PermissionDenied(message, fields={"community": [message]})
        if direction != NeedDirection.REPORT:
            raise bad("direction", _("居民反映的需求来源只能是「居民反映」"))
    if survey is not None:
        if direction != NeedDirection.SURVEY:
            raise bad("survey", _("只有来自需求调查的需求才能关联调查"))
        if not community.code.startswith(codes.prefix_of(survey.place_id)):
            raise bad("survey", _("该调查不包括这个社区"))
    today = timezone.localdate()
    day = raised_on or today
    if day > today:
        raise bad("raised_on", _("提出日期不能晚于今天"))

    # Serialise reports in this community, then look for the same report made a moment ago.
    Place.objects.select_for_update(no_key=True).filter(pk=community.pk).order_by().values_list("pk").first()
    same = Need.objects.filter(community=community, title=title, raised_on=day, direction=direction)
    if resident is not None:
        same = same.filter(raised_by=resident)
    else:
        same = same.filter(raised_by__isnull=True, raised_by_user=acting_user(actor))
    existing = same.order_by("created_at").first()
    if existing is not None and not ref:
        return existing, False

    need = Need(
        ref=ref or f"N{secrets.token_hex(6).upper()}",
        community=community,
        direction=direction,
        resource_kind=resource_kind,
        title=title,
        description=description,
        preferred_time=preferred_time,
        raised_on=day,
        raised_by=resident,
        raised_by_user=acting_user(actor),
        survey=survey,
        status=NeedStatus.OPEN,
    )
    try:
        need.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            need.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(_("编号重复：该需求已存在"), fields={"ref": [_("编号已存在")]}, code="duplicate_ref") from exc
    who = _("居民") if resident is not None else _("工作人员")
    audit_record(
        actor=actor,
        action="create",
        target_type="need",
        target_id=str(need.pk),
        place_code=community.code,
        summary=f"{who}{need.get_direction_display()}：{need.title}",
    )
    return need, True


# --- matching ---------------------------------------------------------------------------------------------------


@transaction.atomic
def need_match(*, actor: Any, need: Need, resource: Resource, on: datetime.date | None = None) -> Need:
    """Staff accept a resource for an open need: it becomes matched, with the date and the ranking's reasons for this
    resource (``selectors.needs.match_explained``) stored. Matching it again to the same resource changes nothing;
    to another resource is refused (undo the match first)."""
    from ..selectors.needs import match_explained

    need = locked(need)
    if need.status == NeedStatus.MATCHED and need.resource_id == resource.pk:
        return need
    if need.status == NeedStatus.MATCHED:
        message = _("该需求已匹配到「%(name)s」，如需更换请先撤销匹配") % {"name": need.resource}
        raise Conflict(message, fields={"resource": [message]}, code="already_matched")
    move_check(need, NeedStatus.MATCHED)
    resource = Resource.objects.select_related("provider").get(pk=resource.pk)
    if not (resource.active and resource.provider.active):
        raise bad("resource", _("该资源已停用，不能匹配"))
    day = on or timezone.localdate()
    if day < need.raised_on:
        raise bad("on", _("匹配日期不能早于提出日期"))
    explained = match_explained(need=need, resource=resource)
    need.status = NeedStatus.MATCHED
    need.resource = resource
    need.matched_on = day
    need.match_reasons = explained.texts
    need.save(update_fields=["status", "resource", "matched_on", "match_reasons", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="need",
        target_id=str(need.pk),
        place_code=need.community_id,
        summary=f"需求匹配：{need.title} → {resource.name}",
        changes={
            "status": [NeedStatus.OPEN, NeedStatus.MATCHED],
            "resource": str(resource.pk),
            "score": explained.score,
            "reasons": explained.texts,
        },
    )
    return need


@transaction.atomic
def need_unmatch(*, actor: Any, need: Need, reason: str) -> Need:
    """Undo a match (matched → open) with a reason, e.g. the provider cannot come after all. An open need is
    returned unchanged (a double click)."""
    reason = _reason(reason, required=True, label=_("撤销匹配时请填写原因"))
    need = locked(need)
    if need.status == NeedStatus.OPEN:
        return need
    move_check(need, NeedStatus.OPEN)
    before = need.resource
    need.status = NeedStatus.OPEN
    need.resource = None
    need.matched_on = None
    need.match_reasons = []
    need.save(update_fields=["status", "resource", "matched_on", "match_reasons", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="need",
        target_id=str(need.pk),
        place_code=need.community_id,
        summary=f"撤销需求匹配：{need.title}（{before}）",
        changes={
            "status": [NeedStatus.MATCHED, NeedStatus.OPEN],
            "resource": str(getattr(before, "pk", "")),
            "reason": reason,
        },
    )
    return need


@transaction.atomic
def need_cancel(*, actor: Any, need: Need, reason: str) -> Need:
    """Cancel an open or matched need with a reason (shown to the residents). Cancelling a cancelled need changes
    nothing; a fulfilled one cannot be cancelled."""
    reason = _reason(reason, required=True, label=_("取消需求时请填写原因"))
    need = locked(need)
    if need.status == NeedStatus.CANCELLED:
        return need
    move_check(need, NeedStatus.CANCELLED)
    before = need.status
    need.status = NeedStatus.CANCELLED
    need.cancelled_reason = reason
    need.save(update_fields=["status", "cancelled_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="need",
        target_id=str(need.pk),
        place_code=need.community_id,
        summary=f"取消需求：{need.title}",
        changes={"status": [before, NeedStatus.CANCELLED], "reason": reason},
    )
    return need
