"""Writes of learning: teachers, series, courses and sessions, enrolment with a waiting list, and the points ledger.

Each service is one transaction. Concurrency is settled by the database: the course row is locked while seats are
counted, a resident's balance row is locked while an award is weighed against the daily cap, and the unique constraints
``enrolment_one_live`` and ``points_once_per_source`` decide duplicates (never a check-then-insert alone).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.activities.models import Activity, ActivityKind
from gongzhi.activities.services import activity_create, insert_new_row
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import Conflict, DomainError, NotFound, invalid
from gongzhi.people.models import Resident
from gongzhi.places.models import Place

from .defaults import DEFAULT_RULES
from .models import (
    Course,
    CourseSession,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    PointsBalance,
    PointsEntry,
    PointsRule,
    Series,
    Teacher,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLACE_LEVELS = ("street", "community")


def _check_place(place: Place | None) -> None:
    if place is None or place.level not in PLACE_LEVELS:
        msg = _("只能设在街道或社区")
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields={"place": [msg]})


# --- teachers and series ----------------------------------------------------------------------------------------


@transaction.atomic
def teacher_create(
    *, actor: Any, place: Place, name: str, expertise: str = "", bio: str = "", user: Any = None
) -> Teacher:
    teacher = Teacher(place=place, name=(name or "").strip(), expertise=expertise.strip(), bio=bio, user=user)
    try:
        teacher.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    teacher.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="teacher",
        target_id=str(teacher.pk),
        place_code=place.code,
        summary=teacher.name,
    )
    return teacher


@transaction.atomic
def series_create(*, actor: Any, place: Place, name: str, description: str = "") -> Series:
    """Idempotent on (place, name): an existing series of that name is returned as is."""
    name = (name or "").strip()
    existing = Series.objects.filter(place=place, name=name).first()
    if existing is not None:
        return existing
    series = Series(place=place, name=name, description=description)
    try:
        series.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            series.save(force_insert=True)
    except IntegrityError:
        return Series.objects.get(place=place, name=name)
    audit_record(
        actor=actor,
        action="create",
        target_type="series",
        target_id=str(series.pk),
        place_code=place.code,
        summary=name,
    )
    return series


# --- courses and sessions ---------------------------------------------------------------------------------------


def _course_fields_check(*, place: Place, series: Series | None, teachers: Iterable[Teacher], status: str) -> None:
    _check_place(place)
    errors: dict[str, list[str]] = {}
    if status not in CourseStatus.values:
        errors["status"] = [_("不是可选的值")]
    if series is not None and not (place.code.startswith(series.place.prefix) or series.place_id == place.code):
        errors["series"] = [_("主题系列不属于该区划")]
    for t in teachers:
        if not (place.code.startswith(t.place.prefix) or t.place.code.startswith(place.prefix)):
            errors["teachers"] = [_("教师不属于该区划")]
    if errors:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields=errors)


def _promote_waitlisted(course: Course) -> list[Enrolment]:
    """Move waitlisted people up while seats remain (the course row must be locked by the caller)."""
    moved: list[Enrolment] = []
    if course.status != CourseStatus.OPEN:
        return moved
    enrolled = Enrolment.objects.filter(course=course, status=EnrolmentStatus.ENROLLED).count()
    free = None if course.capacity is None else course.capacity - enrolled
    queue = Enrolment.objects.filter(course=course, status=EnrolmentStatus.WAITLISTED).order_by("created_at", "id")
    if free is not None:
        queue = queue[: max(free, 0)]
    for e in queue:
        e.status = EnrolmentStatus.ENROLLED
        e.save(update_fields=["status", "updated_at"])
        moved.append(e)
    return moved


@transaction.atomic
def course_create(
    *,
    actor: Any,
    place: Place,
    title: str,
    series: Series | None = None,
    teachers: Iterable[Teacher] = (),
    audience: str = "",
    description: str = "",
    capacity: int | None = None,
    status: str = "open",
) -> Course:
    teachers = list(teachers)
    _course_fields_check(place=place, series=series, teachers=teachers, status=status)
    course = Course(
        place=place,
        title=(title or "").strip(),
        series=series,
        audience=audience.strip(),
        description=description,
        capacity=capacity,
        status=status,
    )
    try:
        course.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    course.save(force_insert=True)
    if teachers:
        course.teachers.set(teachers)
    audit_record(
        actor=actor,
        action="create",
        target_type="course",
        target_id=str(course.pk),
        place_code=place.code,
        summary=course.title,
    )
    return course


@transaction.atomic
def course_update(
    *,
    actor: Any,
    course: Course,
    title: str,
    series: Series | None = None,
    teachers: Iterable[Teacher] = (),
    audience: str = "",
    description: str = "",
    capacity: int | None = None,
    status: str = "open",
) -> Course:
    """Change a course. Raising the capacity (or reopening) moves waitlisted people up, first come first served."""
    teachers = list(teachers)
    course = Course.objects.select_for_update().get(pk=course.pk)
    _course_fields_check(place=course.place, series=series, teachers=teachers, status=status)
    enrolled = Enrolment.objects.filter(course=course, status=EnrolmentStatus.ENROLLED).count()
    if capacity is not None and capacity < enrolled:
        msg = _("名额不能少于已报名人数（%(n)d）") % {"n": enrolled}
        raise DomainError(msg, fields={"capacity": [msg]})
    before = {"title": course.title, "capacity": course.capacity, "status": course.status}
    course.title, course.series, course.audience = (title or "").strip(), series, audience.strip()
    course.description, course.capacity, course.status = description, capacity, status
    try:
        course.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    course.save(update_fields=["title", "series", "audience", "description", "capacity", "status", "updated_at"])
    course.teachers.set(teachers)
    _promote_waitlisted(course)
    audit_record(
        actor=actor,
        action="update",
        target_type="course",
        target_id=str(course.pk),
        place_code=course.place_id,
        summary=course.title,
        changes={"before": before, "after": {"title": course.title, "capacity": capacity, "status": status}},
    )
    return course


@transaction.atomic
def course_session_add(
    *,
    actor: Any,
    course: Course,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None = None,
    venue: str = "",
    teacher: Teacher | None = None,
    mode: str = "local",
    place: Place | None = None,
    title: str = "",
) -> CourseSession:
    """Add a session: the Activity (kind course_session) where people check in, and its link to the course."""
    Course.objects.select_for_update().filter(pk=course.pk).first()  # number sessions one at a time
    number = CourseSession.objects.filter(course=course).count() + 1
    activity = activity_create(
        actor=actor,
        place=place or course.place,
        kind=ActivityKind.COURSE_SESSION,
        title=(title or "").strip() or _("%(title)s 第%(n)d讲") % {"title": course.title, "n": number},
        starts_at=starts_at,
        ends_at=ends_at,
        venue=venue,
        capacity=course.capacity,
        mode=mode,
    )
    session = CourseSession.objects.create(activity=activity, course=course, teacher=teacher)
    audit_record(
        actor=actor,
        action="create",
        target_type="course_session",
        target_id=str(session.pk),
        place_code=activity.place_id,
        summary=activity.title,
    )
    return session


@transaction.atomic
def course_session_attach(
    *, actor: Any, course: Course, activity: Activity, teacher: Teacher | None = None
) -> CourseSession:
    """Link an existing course_session activity to a course. Idempotent; an activity of another course is refused."""
    if activity.kind != ActivityKind.COURSE_SESSION:
        msg = _("只能关联类型为课程的活动")
        raise DomainError(msg, fields={"activity": [msg]})
    existing = CourseSession.objects.filter(activity=activity).first()
    if existing is None:
        try:
            with transaction.atomic():
                existing = CourseSession.objects.create(activity=activity, course=course, teacher=teacher)
        except IntegrityError:
            existing = CourseSession.objects.get(activity=activity)
        else:
            audit_record(
                actor=actor,
                action="create",
                target_type="course_session",
                target_id=str(existing.pk),
                place_code=activity.place_id,
                summary=activity.title,
            )
            return existing
    if existing.course_id != course.pk:
        msg = _("该活动已属于另一门课程")
        raise Conflict(msg, fields={"activity": [msg]})
    return existing


# --- enrolment --------------------------------------------------------------------------------------------------


def _live(course: Course, resident: Resident) -> Enrolment | None:
    return Enrolment.objects.filter(course=course, resident=resident).exclude(status=EnrolmentStatus.CANCELLED).first()


@transaction.atomic
def enrolment_create(*, resident: Resident, course: Course, actor: Any = None) -> Enrolment:
    """Enrol while seats remain, else join the waiting list. A second enrolment returns the live one."""
    locked = Course.objects.select_for_update().filter(pk=course.pk).first()
    if locked is None:
        raise NotFound(_("找不到该课程"))
    existing = _live(locked, resident)
    if existing is not None:
        return existing
    if locked.status != CourseStatus.OPEN:
        msg = _("该课程当前不接受报名")
        raise DomainError(msg, fields={"course": [msg]}, code="not_open")
    enrolled = Enrolment.objects.filter(course=locked, status=EnrolmentStatus.ENROLLED).count()
    full = locked.capacity is not None and enrolled >= locked.capacity
    status = EnrolmentStatus.WAITLISTED if full else EnrolmentStatus.ENROLLED
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(course=locked, resident=resident, status=status)
    except IntegrityError:
        found = _live(locked, resident)
        if found is None:  # pragma: no cover - the constraint said there is one
            raise
        return found
    if actor is not None:
        audit_record(
            actor=actor,
            action="create",
            target_type="enrolment",
            target_id=str(enrolment.pk),
            place_code=locked.place_id,
            summary=f"{locked.title}：{enrolment.get_status_display()}",
        )
    return enrolment


@transaction.atomic
def enrolment_cancel(*, resident: Resident, course: Course, actor: Any = None) -> Enrolment | None:
    """Cancel a live enrolment (idempotent: nothing live, nothing done); the first waitlisted moves up."""
    locked = Course.objects.select_for_update().filter(pk=course.pk).first()
    if locked is None:
        raise NotFound(_("找不到该课程"))
    enrolment = _live(locked, resident)
    if enrolment is None:
        return None
    was_enrolled = enrolment.status == EnrolmentStatus.ENROLLED
    enrolment.status = EnrolmentStatus.CANCELLED
    enrolment.cancelled_at = timezone.now()
    enrolment.save(update_fields=["status", "cancelled_at", "updated_at"])
    if was_enrolled:
        _promote_waitlisted(locked)
    if actor is not None:
        audit_record(
            actor=actor,
            action="update",
            target_type="enrolment",
            target_id=str(enrolment.pk),
            place_code=locked.place_id,
            summary=f"{locked.title}：{enrolment.get_status_display()}",
        )
    return enrolment


# --- points ledger ----------------------------------------------------------------------------------------------


def _day_bounds(now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    local = now.astimezone(SHANGHAI)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + datetime.timedelta(days=1)


def _lock_balance(resident: Resident) -> None:
    """Create the resident's balance row if missing and lock it until the end of the transaction (race-safe).

    PostgreSQL: one statement, ``INSERT … ON CONFLICT (resident_id) DO UPDATE SET balance = balance`` — a new row is
    ours until commit, an existing one is row-locked by the no-op update (concurrent awards wait here, and what they
    read afterwards is what the lock holder committed). Other databases: ``INSERT … ON CONFLICT DO NOTHING`` then
    ``SELECT … FOR UPDATE`` (SQLite serialises writers anyway).
    """
    connection = connections[router.db_for_write(PointsBalance)]
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(PointsBalance._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (resident_id, balance, updated_at) VALUES (%s, 0, %s) "
                f"ON CONFLICT (resident_id) DO UPDATE SET balance = {table}.balance",
                [resident.pk, timezone.now()],
            )
        return
    PointsBalance.objects.bulk_create([PointsBalance(resident=resident, balance=0)], ignore_conflicts=True)
    PointsBalance.objects.select_for_update().get(resident=resident)


def _existing_award(resident: Resident, source_type: str, source_id: str) -> PointsEntry | None:
    qs = PointsEntry.objects.filter(
        resident=resident, source_type=source_type, source_id=source_id, reversal_of__isnull=True
    ).order_by()  # at most one row (points_once_per_source): no ORDER BY
    return next(iter(qs[:1]), None)


def _award_at_constraint(resident: Resident, source_type: str, source_id: str) -> PointsEntry:
    """The entry that holds ``points_once_per_source`` for this source (the insert of another one was refused)."""
    return PointsEntry.objects.get(
        resident=resident, source_type=source_type, source_id=source_id, reversal_of__isnull=True
    )


def _rule(rule_code: str) -> PointsRule:
    try:  # code is unique: no ORDER BY
        return PointsRule.objects.get(code=rule_code)
    except PointsRule.DoesNotExist:
        pass
    if rule_code in DEFAULT_RULES:
        name, pts, cap, description = DEFAULT_RULES[rule_code]
        rule, _created = PointsRule.objects.get_or_create(
            code=rule_code, defaults={"name": name, "points": pts, "daily_cap": cap, "description": description}
        )
        return rule
    raise DomainError(_("积分规则不存在"), fields={"rule_code": [_("积分规则不存在")]})


def points_award(
    *,
    resident: Resident,
    rule_code: str,
    source_type: str,
    source_id: str,
    reason: str = "",
    actor: Any = None,
    quantity: Decimal | int = 1,
    savepoint: bool = True,
) -> PointsEntry | None:
    """Award a rule's points for a source (``quantity`` times, e.g. hours), at most once per source.

    Returns the entry (the existing one when this source was already awarded), or None when the rule is inactive,
    the daily cap is reached, or there is nothing to award.

    One transaction. ``savepoint=False``: when called inside a caller's transaction that must fail as a whole on any
    error (a presence handler in ``attendance_record``), no savepoint is made for this award.
    """
    with transaction.atomic(savepoint=savepoint):
        return _points_award(
            resident=resident,
            rule_code=rule_code,
            source_type=source_type,
            source_id=str(source_id),
            reason=reason,
            actor=actor,
            quantity=quantity,
        )


def _points_award(
    *,
    resident: Resident,
    rule_code: str,
    source_type: str,
    source_id: str,
    reason: str,
    actor: Any,
    quantity: Decimal | int,
) -> PointsEntry | None:
    rule = _rule(rule_code)
    if not rule.active:
        return None
    if not source_type or not source_id:
        raise DomainError(_("缺少积分来源"), fields={"source_id": [_("必填")]})
    _lock_balance(resident)  # one award at a time per resident: the cap below is exact
    points = int((Decimal(rule.points) * Decimal(str(quantity))).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if rule.daily_cap is not None and points > 0:
        start, end = _day_bounds(timezone.now())
        used = (
            PointsEntry.objects.filter(
                resident=resident, rule=rule, reversal_of__isnull=True, created_at__gte=start, created_at__lt=end
            )
            .order_by()
            .aggregate(s=Sum("points"))["s"]
            or 0
        )
        points = min(points, rule.daily_cap - used)
    if points <= 0:
        # Nothing to award now; a source awarded earlier still returns its entry.
        return _existing_award(resident, source_type, source_id)
    user = actor if getattr(actor, "is_authenticated", False) else None
    entry = PointsEntry(
        resident=resident,
        points=points,
        rule=rule,
        source_type=source_type,
        source_id=source_id,
        reason=(reason or rule.name)[:300],
        created_by=user,
    )
    # No check before the insert: the constraint points_once_per_source decides (a repeated award, a concurrent one).
    if not insert_new_row(entry):
        return _award_at_constraint(resident, source_type, source_id)
    PointsBalance.objects.filter(resident=resident).update(balance=F("balance") + points, updated_at=timezone.now())
    return entry


@transaction.atomic
def points_reverse(*, entry: PointsEntry, reason: str, actor: Any) -> PointsEntry:
    """Correct an award with a reversing entry (negative points, ``reversal_of``); never twice, never a reversal."""
    reason = (reason or "").strip()
    if not reason:
        msg = _("请填写冲正原因")
        raise DomainError(msg, fields={"reason": [msg]})
    if entry.reversal_of_id is not None:
        msg = _("冲正记录不能再冲正")
        raise DomainError(msg, fields={"entry": [msg]})
    _lock_balance(entry.resident)
    if PointsEntry.objects.filter(reversal_of=entry).exists():
        raise Conflict(_("该积分记录已冲正"), fields={"entry": [_("该积分记录已冲正")]}, code="already_reversed")
    user = actor if getattr(actor, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            reversal = PointsEntry.objects.create(
                resident=entry.resident,
                points=-entry.points,
                rule=entry.rule,
                source_type=entry.source_type,
                source_id=entry.source_id,
                reason=reason[:300],
                reversal_of=entry,
                created_by=user,
            )
    except IntegrityError as exc:
        raise Conflict(
            _("该积分记录已冲正"), fields={"entry": [_("该积分记录已冲正")]}, code="already_reversed"
        ) from exc
    PointsBalance.objects.filter(resident=entry.resident).update(
        balance=F("balance") - entry.points, updated_at=timezone.now()
    )
    audit_record(
        actor=actor,
        action="create",
        target_type="points_reversal",
        target_id=str(reversal.pk),
        place_code=entry.resident.community_id,
        summary=reason,
        changes={"reversal_of": str(entry.pk), "points": -entry.points},
    )
    return reversal


@transaction.atomic
def points_balance_rebuild(resident: Resident | None = None) -> list[tuple[str, int, int]]:
    """Recompute balances from the entries. Returns the differences found as (resident id, stored, computed)."""
    entries = PointsEntry.objects.all()
    balances = PointsBalance.objects.select_for_update()
    if resident is not None:
        entries = entries.filter(resident=resident)
        balances = balances.filter(resident=resident)
    computed = {
        str(r["resident_id"]): r["total"] or 0
        for r in entries.order_by().values("resident_id").annotate(total=Sum("points"))
    }
    stored = {str(b.resident_id): b.balance for b in balances}
    differences: list[tuple[str, int, int]] = []
    for rid in sorted(set(computed) | set(stored)):
        want, have = computed.get(rid, 0), stored.get(rid)
        if have is None:
            PointsBalance.objects.bulk_create([PointsBalance(resident_id=rid, balance=want)], ignore_conflicts=True)
            PointsBalance.objects.filter(resident_id=rid).update(balance=want)
            if want != 0:
                differences.append((rid, 0, want))
        elif have != want:
            PointsBalance.objects.filter(resident_id=rid).update(balance=want, updated_at=timezone.now())
            differences.append((rid, have, want))
    return differences


def points_balance_of(resident: Resident) -> int:
    row = PointsBalance.objects.filter(resident=resident).values_list("balance", flat=True).first()
    return row or 0
