"""Writes of activities and attendance. Every check-in — QR, roster, paper, import — ends in ``attendance_record``."""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import DomainError, fields_from_validation_error
from gongzhi.organizations.models import Organization
from gongzhi.people.models import Resident
from gongzhi.places.models import Place

from .hooks import presence_handlers
from .models import Activity, Attendance, AttendanceStatus


def _invalid(exc: ValidationError) -> DomainError:
    return DomainError(_("提交的信息有误，请检查标红的字段"), fields=fields_from_validation_error(exc))


@transaction.atomic
def activity_create(
    *,
    actor: Any,
    place: Place,
    kind: str,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None = None,
    venue: str = "",
    organization: Organization | None = None,
    capacity: int | None = None,
    mode: str = "local",
    description: str = "",
    ref: str = "",
) -> Activity:
    activity = Activity(
        ref=ref or f"A{secrets.token_hex(6).upper()}",
        place=place,
        kind=kind,
        title=title.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        venue=venue,
        organization=organization,
        capacity=capacity,
        mode=mode,
        description=description,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        activity.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    try:
        with transaction.atomic():
            activity.save(force_insert=True)
    except IntegrityError as exc:
        raise DomainError(_("编号重复"), fields={"ref": [_("编号已存在")]}, code="duplicate_ref") from exc
    audit_record(
        actor=actor,
        action="create",
        target_type="activity",
        target_id=str(activity.pk),
        place_code=place.code,
        summary=activity.title,
    )
    return activity


@transaction.atomic
def attendance_record(
    *,
    actor: Any,
    activity: Activity,
    resident: Resident,
    status: str = AttendanceStatus.PRESENT,
    source: str,
    hours: Decimal | None = None,
) -> tuple[Attendance, bool]:
    """Record someone's attendance: one row per (activity, resident), whatever the source.

    Repeating the same call (a second scan, a double click, a retry, concurrent requests) changes nothing and returns
    ``(attendance, False)``. A later record with another status or hours updates the row (staff correcting a roster).
    Presence handlers (points …) run in this transaction when the row is present.
    """
    if status not in AttendanceStatus.values:
        raise DomainError(_("出席状态无效"), fields={"status": [_("不是可选的值")]})
    if hours is not None and hours < 0:
        raise DomainError(_("时长不能为负数"), fields={"hours": [_("不能为负数")]})
    recorded_by = actor if getattr(actor, "is_authenticated", False) else None
    created = False
    try:
        with transaction.atomic():
            attendance = Attendance.objects.create(
                activity=activity,
                resident=resident,
                status=status,
                source=source,
                hours=hours,
                recorded_by=recorded_by,
            )
            created = True
    except IntegrityError:
        # Someone (or this same person, a moment ago) already recorded it: lock the row and update if needed.
        attendance = Attendance.objects.select_for_update().get(activity=activity, resident=resident)
        changed = []
        if attendance.status != status:
            attendance.status = status
            changed.append("status")
        if hours is not None and attendance.hours != hours:
            attendance.hours = hours
            changed.append("hours")
        if changed:
            attendance.source = source
            attendance.recorded_by = recorded_by
            attendance.save(update_fields=[*changed, "source", "recorded_by", "updated_at"])
    if attendance.status == AttendanceStatus.PRESENT:
        for handler in presence_handlers():
            handler(attendance, actor)
    if created or recorded_by is not None:
        audit_record(
            actor=actor,
            action="create" if created else "update",
            target_type="attendance",
            target_id=str(attendance.pk),
            place_code=activity.place_id,
            summary=f"{activity.title}：{attendance.get_status_display()}（{attendance.get_source_display()}）",
        )
    return attendance, created
