"""Writes of learning spaces (学习空间) and their bookings (场地预约).

Active bookings of one space never overlap. Every booking write locks the space row (``select_for_update``) and then
looks for a clashing active booking inside the same transaction, so two concurrent requests for one space take turns
and the second sees the first. On PostgreSQL the exclusion constraint ``booking_no_overlap`` (migration 0002) is the
backstop for any write that would get past the check; its violation is turned into the same Conflict. On SQLite the
IMMEDIATE transaction mode serialises writers, which makes the check safe there too.

A booking lies inside one day of the space's opening hours and opening weekdays, and starts today or later. A weekly
series (``booking_series_create``) is made all together or not at all: if any week clashes, nothing is written and the
error lists the clashing dates.

Permission checks are made by the callers (views, API, the activity form) with ``resources.book_learningspace`` and
``resources.add_learningspace`` / ``resources.change_learningspace``; these functions enforce the domain's rules.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, invalid
from gongzhi.places.models import Place

from ..models import Booking, BookingSeries, BookingStatus, LearningSpace, Resource, ResourceKind

WEEKDAY_NAMES = "一二三四五六日"
MAX_SERIES_WEEKS = 53
SPACE_LEVELS = ("street", "community")
_UNSET: Any = object()


def _bad(field: str, message: str) -> DomainError:
    return DomainError(_("提交的信息有误，请检查标红的字段"), fields={field: [message]})


def weekday_label(iso_weekday: int) -> str:
    """周一 … 周日 for ISO weekdays 1 … 7."""
    return _("周%(d)s") % {"d": WEEKDAY_NAMES[iso_weekday - 1]}


def weekdays_label(weekdays: str) -> str:
    """The opening weekdays in words: 每天, 周一至周五, or a list (周一、周三、周五)."""
    days = sorted({int(d) for d in weekdays})
    if days == list(range(1, 8)):
        return _("每天")
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return _("%(a)s至%(b)s") % {"a": weekday_label(days[0]), "b": weekday_label(days[-1])}
    return "、".join(weekday_label(d) for d in days)


def _normalise_weekdays(weekdays: str | Iterable[Any]) -> str:
    text = weekdays if isinstance(weekdays, str) else "".join(str(d) for d in weekdays)
    text = text.replace(",", "").replace(" ", "")
    if not text or not set(text) <= set("1234567") or len(set(text)) != len(text):
        raise _bad("weekdays", _("开放日只能是 1–7 的数字，不重复"))
    return "".join(sorted(text))


def _clean_text(value: str, field: str, max_length: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _bad(field, _("必填"))
    if len(value) > max_length:
        raise _bad(field, _("不能超过 %(n)d 字") % {"n": max_length})
    return value


def _locked_space(space: LearningSpace) -> LearningSpace:
    return LearningSpace.objects.select_for_update(of=("self",)).get(pk=space.pk)


# --- spaces -----------------------------------------------------------------------------------------------------


def _check_space_fields(*, place: Place, resource: Resource | None, capacity: Any) -> None:
    if getattr(place, "level", None) not in SPACE_LEVELS:
        raise _bad("place", _("学习空间只能设在街道或社区"))
    if resource is not None and resource.kind != ResourceKind.VENUE:
        raise _bad("resource", _("只能选择「场地/学习空间」类的资源"))
    if not isinstance(capacity, int) or capacity < 1:
        raise _bad("capacity", _("容纳人数至少为 1"))


def _save_space(space: LearningSpace, update_fields: list[str] | None = None) -> None:
    try:
        space.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            if update_fields is None:
                space.save(force_insert=True)
            else:
                space.save(update_fields=update_fields)
    except IntegrityError as exc:
        message = _("该区划已有同名的学习空间")
        raise Conflict(message, fields={"name": [message]}, code="duplicate_space") from exc


@transaction.atomic
def space_create(
    *,
    actor: Any,
    place: Place,
    name: str,
    capacity: int,
    opens_at: datetime.time,
    closes_at: datetime.time,
    weekdays: str | Iterable[Any] = "1234567",
    address: str = "",
    resource: Resource | None = None,
) -> LearningSpace:
    """A learning space of a street or community, open ``opens_at``–``closes_at`` on ``weekdays`` (ISO digits)."""
    name = _clean_text(name, "name", 100, required=True)
    address = _clean_text(address, "address", 200)
    _check_space_fields(place=place, resource=resource, capacity=capacity)
    space = LearningSpace(
        place=place,
        name=name,
        resource=resource,
        address=address,
        capacity=capacity,
        opens_at=opens_at,
        closes_at=closes_at,
        weekdays=_normalise_weekdays(weekdays),
    )
    _save_space(space)
    audit_record(
        actor=actor,
        action="create",
        target_type="learning_space",
        target_id=str(space.pk),
        place_code=place.code,
        summary=f"学习空间 {space.name}",
    )
    return space


@transaction.atomic
def space_update(
    *,
    actor: Any,
    space: LearningSpace,
    name: str = _UNSET,
    address: str = _UNSET,
    capacity: int = _UNSET,
    opens_at: datetime.time = _UNSET,
    closes_at: datetime.time = _UNSET,
    weekdays: str | Iterable[Any] = _UNSET,
    resource: Resource | None = _UNSET,
    active: bool = _UNSET,
) -> LearningSpace:
    """Change what is given (the place stays). Bookings already made stay as they are; new ones follow the new hours."""
    space = _locked_space(space)
    given: dict[str, Any] = {}
    if name is not _UNSET:
        given["name"] = _clean_text(name, "name", 100, required=True)
    if address is not _UNSET:
        given["address"] = _clean_text(address, "address", 200)
    if capacity is not _UNSET:
        given["capacity"] = capacity
    if opens_at is not _UNSET:
        given["opens_at"] = opens_at
    if closes_at is not _UNSET:
        given["closes_at"] = closes_at
    if weekdays is not _UNSET:
        given["weekdays"] = _normalise_weekdays(weekdays)
    if resource is not _UNSET:
        given["resource"] = resource
    if active is not _UNSET:
        given["active"] = bool(active)
    _check_space_fields(
        place=space.place,
        resource=given.get("resource", space.resource),
        capacity=given.get("capacity", space.capacity),
    )
    changes: dict[str, Any] = {}
    for field, value in given.items():
        old = getattr(space, field)
        if old != value:
            changes[field] = [str(getattr(old, "pk", old)), str(getattr(value, "pk", value))]
            setattr(space, field, value)
    if not changes:
        return space
    _save_space(space, update_fields=[*changes, "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="learning_space",
        target_id=str(space.pk),
        place_code=space.place_id,
        summary=f"修改学习空间 {space.name}",
        changes=changes,
    )
    return space


# --- bookings ---------------------------------------------------------------------------------------------------


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def span_label(starts_at: datetime.datetime, ends_at: datetime.datetime) -> str:
    """2026-01-05（周一）14:00–16:00, in local time."""
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    return f"{start:%Y-%m-%d}（{weekday_label(start.isoweekday())}）{start:%H:%M}–{end:%H:%M}"


def _hours_label(space: LearningSpace) -> str:
    return f"{space.opens_at:%H:%M}–{space.closes_at:%H:%M}"


def overlap_message(clash: Booking) -> str:
    """The one message a refused booking gets, naming the booking it clashes with."""
    return _("该时段已被预约：「%(title)s」%(span)s。请换一个时间。") % {
        "title": clash.title,
        "span": span_label(clash.starts_at, clash.ends_at),
    }


def _check_slot(
    space: LearningSpace, starts_at: datetime.datetime, ends_at: datetime.datetime, *, today: datetime.date
) -> None:
    """The rules of one booking: order, one day, opening weekday and hours, not in the past."""
    if ends_at <= starts_at:
        raise _bad("ends_at", _("结束时间必须晚于开始时间"))
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    if start.date() < today:
        raise _bad("starts_at", _("不能预约过去的日期"))
    if end.date() != start.date():
        raise _bad("ends_at", _("预约须在同一天内开始和结束"))
    if str(start.isoweekday()) not in space.weekdays:
        raise _bad(
            "starts_at",
            _("该空间%(day)s不开放（开放日：%(days)s）")
            % {"day": weekday_label(start.isoweekday()), "days": weekdays_label(space.weekdays)},
        )
    if start.time() < space.opens_at or end.time() > space.closes_at:
        field = "starts_at" if start.time() < space.opens_at else "ends_at"
        raise _bad(field, _("不在开放时间内：该空间开放时间为 %(hours)s") % {"hours": _hours_label(space)})


def _clashes(space: LearningSpace, slots: list[tuple[datetime.datetime, datetime.datetime]]) -> list[Booking]:
    """Active bookings of the space overlapping any of the slots (one query)."""
    if not slots:
        return []
    first = min(s for s, _e in slots)
    last = max(e for _s, e in slots)
    candidates = list(
        Booking.objects.filter(space=space, status=BookingStatus.ACTIVE, starts_at__lt=last, ends_at__gt=first)
        .only("id", "title", "starts_at", "ends_at", "series_id", "booked_by_id")
        .order_by("starts_at")
    )
    return [b for b in candidates if any(b.starts_at < e and b.ends_at > s for s, e in slots)]


def _clash_after_integrity_error(
    space: LearningSpace, slots: list[tuple[datetime.datetime, datetime.datetime]]
) -> Booking | None:
    found = _clashes(space, slots)
    return found[0] if found else None


def _same_request(
    clash: Booking, user: Any, title: str, starts_at: datetime.datetime, ends_at: datetime.datetime
) -> bool:
    """The clash is this very booking made a moment ago by the same person (a double click), not someone else's."""
    return (
        user is not None
        and clash.booked_by_id == user.pk
        and clash.series_id is None
        and clash.title == title
        and clash.starts_at == starts_at
        and clash.ends_at == ends_at
    )


def _check_space_open(space: LearningSpace) -> None:
    if not space.active:
        raise Conflict(_("该学习空间已停用，不能预约"), code="space_inactive")


@transaction.atomic
def booking_create(
    *,
    actor: Any,
    space: LearningSpace,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
) -> Booking:
    """Book the space from ``starts_at`` to ``ends_at``. Refused (Conflict, code ``booking_overlap``) when another
    active booking of the space overlaps; the message names that booking's time."""
    title = _clean_text(title, "title", 200, required=True)
    starts_at, ends_at = _aware(starts_at), _aware(ends_at)
    space = _locked_space(space)  # concurrent bookings of this space wait here
    _check_space_open(space)
    _check_slot(space, starts_at, ends_at, today=timezone.localdate())
    slots = [(starts_at, ends_at)]
    clash = next(iter(_clashes(space, slots)), None)
    user = acting_user(actor)
    if clash is not None and _same_request(clash, user, title, starts_at, ends_at):
        return clash  # a double submit: the booking already made
    if clash is not None:
        message = overlap_message(clash)
        raise Conflict(message, fields={"starts_at": [message]}, code="booking_overlap")
    booking = Booking(space=space, title=title, starts_at=starts_at, ends_at=ends_at, booked_by=user)
    try:
        booking.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            booking.save(force_insert=True)
    except IntegrityError as exc:  # PostgreSQL's booking_no_overlap: a write that got past the check
        clash = _clash_after_integrity_error(space, slots)
        if clash is None:
            raise
        message = overlap_message(clash)
        raise Conflict(message, fields={"starts_at": [message]}, code="booking_overlap") from exc
    audit_record(
        actor=actor,
        action="create",
        target_type="booking",
        target_id=str(booking.pk),
        place_code=space.place_id,
        summary=f"预约 {space.name}：{title} {span_label(starts_at, ends_at)}",
    )
    return booking


def series_dates(*, weekday: int, first_on: datetime.date, last_on: datetime.date) -> list[datetime.date]:
    """The dates of a weekly series: every ``weekday`` (ISO) from ``first_on`` to ``last_on``."""
    start = first_on + datetime.timedelta(days=(weekday - first_on.isoweekday()) % 7)
    dates = []
    day = start
    while day <= last_on:
        dates.append(day)
        day += datetime.timedelta(days=7)
    return dates


def _local_moment(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


def series_clash_message(clashes: list[tuple[datetime.date, Booking]]) -> str:
    listed = "；".join(
        _("%(date)s 与「%(title)s」%(span)s")
        % {"date": day.isoformat(), "title": b.title, "span": span_label(b.starts_at, b.ends_at)}
        for day, b in clashes
    )
    return _("以下 %(n)d 个日期与已有预约冲突，整组每周预约未保存：%(list)s") % {"n": len(clashes), "list": listed}


@transaction.atomic
def booking_series_create(
    *,
    actor: Any,
    space: LearningSpace,
    title: str,
    weekday: int,
    starts_at: datetime.time,
    ends_at: datetime.time,
    first_on: datetime.date,
    last_on: datetime.date,
) -> BookingSeries:
    """A weekly booking: one Booking every ``weekday`` from ``first_on`` to ``last_on`` — all of them or none. If any
    week clashes with an active booking, nothing is written and the Conflict (code ``series_overlap``) lists the
    clashing dates."""
    title = _clean_text(title, "title", 200, required=True)
    if not isinstance(weekday, int) or not 1 <= weekday <= 7:
        raise _bad("weekday", _("星期只能是 1（周一）到 7（周日）"))
    if ends_at <= starts_at:
        raise _bad("ends_at", _("结束时间必须晚于开始时间"))
    if last_on < first_on:
        raise _bad("last_on", _("末次日期不能早于首次日期"))
    dates = series_dates(weekday=weekday, first_on=first_on, last_on=last_on)
    if not dates:
        raise _bad(
            "last_on",
            _("%(a)s 至 %(b)s 之间没有%(day)s") % {"a": first_on, "b": last_on, "day": weekday_label(weekday)},
        )
    if len(dates) > MAX_SERIES_WEEKS:
        raise _bad("last_on", _("每周预约最多 %(n)d 周") % {"n": MAX_SERIES_WEEKS})
    space = _locked_space(space)
    _check_space_open(space)
    today = timezone.localdate()
    slots = [(_local_moment(d, starts_at), _local_moment(d, ends_at)) for d in dates]
    for s, e in slots:
        _check_slot(space, s, e, today=today)
    user = acting_user(actor)
    if user is not None:  # a double submit: the series already made
        same = BookingSeries.objects.filter(
            space=space,
            title=title,
            weekday=weekday,
            starts_at=starts_at,
            ends_at=ends_at,
            first_on=dates[0],
            last_on=dates[-1],
            booked_by=user,
        ).first()
        if same is not None and same.bookings.filter(status=BookingStatus.ACTIVE).count() == len(dates):
            return same
    found = _clashes(space, slots)
    clashes = [
        (day, b) for day, (s, e) in zip(dates, slots, strict=True) for b in found if b.starts_at < e and b.ends_at > s
    ]
    if clashes:
        message = series_clash_message(clashes)
        raise Conflict(
            message,
            fields={"first_on": [message]},
            code="series_overlap",
        )
    series = BookingSeries(
        space=space,
        title=title,
        weekday=weekday,
        starts_at=starts_at,
        ends_at=ends_at,
        first_on=dates[0],
        last_on=dates[-1],
        booked_by=user,
    )
    try:
        series.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    bookings = [
        Booking(space=space, series=series, title=title, starts_at=s, ends_at=e, booked_by=user) for s, e in slots
    ]
    try:
        with transaction.atomic():
            series.save(force_insert=True)
            Booking.objects.bulk_create(bookings)
    except IntegrityError as exc:  # PostgreSQL's booking_no_overlap
        found = _clashes(space, slots)
        if not found:
            raise
        clashes = [
            (day, b)
            for day, (s, e) in zip(dates, slots, strict=True)
            for b in found
            if b.starts_at < e and b.ends_at > s
        ]
        message = series_clash_message(clashes)
        raise Conflict(message, fields={"first_on": [message]}, code="series_overlap") from exc
    audit_record(
        actor=actor,
        action="create",
        target_type="booking_series",
        target_id=str(series.pk),
        place_code=space.place_id,
        summary=f"每周预约 {space.name}：{title}，{weekday_label(weekday)} {starts_at:%H:%M}–{ends_at:%H:%M}，"
        f"{dates[0]} 至 {dates[-1]} 共 {len(dates)} 次",
    )
    return series


@transaction.atomic
def booking_cancel(*, actor: Any, booking: Booking, reason: str) -> Booking:
    """Cancel a booking with a reason; its time is free again. Cancelling a cancelled booking changes nothing. A
    booking that has already ended cannot be cancelled."""
    reason = _clean_text(reason, "reason", 200, required=True)
    booking = Booking.objects.select_for_update(of=("self",)).select_related("space").get(pk=booking.pk)
    if booking.status == BookingStatus.CANCELLED:
        return booking
    if booking.ends_at <= timezone.now():
        raise Conflict(_("该预约已经结束，不能取消"), code="booking_past")
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = timezone.now()
    booking.cancel_reason = reason
    booking.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="booking",
        target_id=str(booking.pk),
        place_code=booking.space.place_id,
        summary=f"取消预约 {booking.space.name}：{booking.title} {span_label(booking.starts_at, booking.ends_at)}",
        changes={"status": ["active", "cancelled"], "reason": reason},
    )
    return booking


@transaction.atomic
def booking_series_cancel(*, actor: Any, series: BookingSeries, reason: str) -> int:
    """Cancel the weeks of a series still to come (those not yet started); past weeks stay as they were. Returns how
    many were cancelled — 0 the second time."""
    reason = _clean_text(reason, "reason", 200, required=True)
    series = BookingSeries.objects.select_for_update(of=("self",)).select_related("space").get(pk=series.pk)
    now = timezone.now()
    count = Booking.objects.filter(series=series, status=BookingStatus.ACTIVE, starts_at__gt=now).update(
        status=BookingStatus.CANCELLED, cancelled_at=now, cancel_reason=reason, updated_at=now
    )
    if count:
        audit_record(
            actor=actor,
            action="update",
            target_type="booking_series",
            target_id=str(series.pk),
            place_code=series.space.place_id,
            summary=f"取消每周预约 {series.space.name}：{series.title}，余下 {count} 次",
            changes={"cancelled": count, "reason": reason},
        )
    return count
