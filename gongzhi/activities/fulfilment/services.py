"""Fulfilment (需求满足): an activity fulfils a matched need, and the residents who came rate how it was met.

- ``need_fulfil`` links an activity of the need's community (or its street) to the need (``Activity.needs``), adds
  the need's matched resource to the activity's resources (METHOD.md resource_refs), and sets the need fulfilled on
  the activity's date. Linking the same activity again changes nothing; a further activity (a second lecture of a
  series) may be linked to a fulfilled need too, and the need keeps the earliest date.
- ``need_fulfil_with_new_activity`` creates the activity (``activities.services.activity_create``) and fulfils the
  need with it in one transaction: if the need cannot be fulfilled, no activity is left behind.
- ``need_rate``: only a resident PRESENT at an activity that fulfilled the need may rate it, once (the database's
  ``resource_rating_once`` decides under concurrency). A second submit changes nothing and says so
  (``(rating, False)``): a rating is a record of what someone thought after coming, not a setting to tune.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import Conflict, PermissionDenied, invalid
from gongzhi.people.models import Resident
from gongzhi.places.models import Place
from gongzhi.resources.models import Need, NeedStatus, Rating
from gongzhi.resources.services.needs import bad, locked

from ..models import Activity, Attendance, AttendanceStatus
from ..services import activity_create, insert_new_row

MAX_COMMENT = 300


def street_code(community_code: str) -> str:
    return community_code[:9] + "000"


def activity_places(need: Need) -> tuple[str, str]:
    """Where an activity fulfilling the need may be held: the need's community or its street."""
    return need.community_id, street_code(need.community_id)


def activity_day(activity: Activity) -> datetime.date:
    return timezone.localdate(activity.starts_at)


@transaction.atomic
def need_fulfil(*, actor: Any, need: Need, activity: Activity) -> tuple[Need, bool]:
    """Fulfil a matched need through an activity held in its community or street, on or before today. Returns
    ``(need, linked)``: ``linked`` is False when this activity was already linked (nothing changed)."""
    if activity.place_id not in activity_places(need):
        raise bad("activity", _("只能选择本社区或所在街道的活动"))
    day = activity_day(activity)
    if day > timezone.localdate():
        raise bad("activity", _("活动还没有举行，举行后再登记满足"))
    need = locked(need)
    if day < need.raised_on:
        raise bad("activity", _("活动日期早于需求提出日期"))
    already = activity.needs.filter(pk=need.pk).exists()
    if already:
        return need, False
    if need.status == NeedStatus.OPEN:
        message = _("请先为需求匹配资源，再登记满足")
        raise Conflict(message, fields={"status": [message]}, code="not_matched")
    if need.status == NeedStatus.CANCELLED:
        message = _("该需求已取消，不能登记满足")
        raise Conflict(message, fields={"status": [message]}, code="illegal_transition")
    before = need.status
    activity.needs.add(need)
    if need.resource_id is not None:
        activity.resources.add(need.resource)  # type: ignore[arg-type]
    changed = ["updated_at"]
    if need.status != NeedStatus.FULFILLED:
        need.status = NeedStatus.FULFILLED
        changed.append("status")
    if need.fulfilled_on is None or day < need.fulfilled_on:
        need.fulfilled_on = day
        changed.append("fulfilled_on")
    need.save(update_fields=changed)
    audit_record(
        actor=actor,
        action="update",
        target_type="need",
        target_id=str(need.pk),
        place_code=need.community_id,
        summary=f"需求已满足：{need.title} ← {activity.title}",
        changes={
            "status": [before, NeedStatus.FULFILLED],
            "activity": str(activity.pk),
            "fulfilled_on": need.fulfilled_on.isoformat() if need.fulfilled_on else "",
        },
    )
    return need, True


@transaction.atomic
def need_fulfil_with_new_activity(
    *,
    actor: Any,
    need: Need,
    place: Place,
    kind: str,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None = None,
    venue: str = "",
    description: str = "",
) -> tuple[Need, Activity]:
    """Create the activity that met the need (in its community or street) and fulfil the need with it — both or
    neither."""
    if place.code not in activity_places(need):
        raise bad("place", _("只能在本社区或所在街道举办"))
    if not (title or "").strip():
        raise bad("title", _("必填"))
    if timezone.localdate(starts_at) > timezone.localdate():
        raise bad("starts_at", _("活动还没有举行，举行后再登记满足"))
    activity = activity_create(
        actor=actor,
        place=place,
        kind=kind,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        venue=venue,
        description=description,
    )
    need, _linked = need_fulfil(actor=actor, need=need, activity=activity)
    return need, activity


def came_to_fulfilment(*, resident: Resident, need: Need) -> bool:
    """Whether the resident was present at an activity that fulfilled the need."""
    return Attendance.objects.filter(activity__needs=need, resident=resident, status=AttendanceStatus.PRESENT).exists()


@transaction.atomic
def need_rate(*, resident: Resident, need: Need, score: int, comment: str = "") -> tuple[Rating, bool]:
    """A resident who came to an activity that fulfilled the need rates it (1–5, with an optional comment); the
    rating counts for the need's matched resource. Once: a second submit returns ``(existing, False)`` unchanged."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise bad("score", _("请选择 1 到 5 分"))
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise bad("comment", _("不能超过 %(n)d 字") % {"n": MAX_COMMENT})
    need = Need.objects.select_related("resource").get(pk=need.pk)
    existing = Rating.objects.filter(need=need, resident=resident).first()
    if existing is not None:
        return existing, False
    if need.status != NeedStatus.FULFILLED:
        message = _("需求满足后才能评价")
        raise Conflict(message, fields={"score": [message]}, code="not_fulfilled")
    if not came_to_fulfilment(resident=resident, need=need):
        message = _("只有参加了满足该需求的活动的居民才能评价")
        raise PermissionDenied(message, fields={"score": [message]})
    rating = Rating(need=need, resource=need.resource, resident=resident, score=score, comment=comment)
    try:
        rating.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    if not insert_new_row(rating):  # the constraint resource_rating_once decides: someone was quicker (a double tap)
        return Rating.objects.get(need=need, resident=resident), False
    audit_record(
        actor=resident.user,
        action="create",
        target_type="rating",
        target_id=str(rating.pk),
        place_code=need.community_id,
        summary=f"评价需求满足：{need.title}（{score} 分）",
    )
    return rating, True
