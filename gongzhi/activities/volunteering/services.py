"""育 volunteering — writes: volunteer events with sign-up, and the volunteer-hours ledger.

The ledger (``VolunteerHours``) is append-only:

- **record**: the team's leader or staff write an entry (per volunteer and event, or without an event on a date); it is
  *pending*. One original entry per volunteer and event (``vhours_once_per_event``): recording it again with the same
  hours returns the existing entry (a double click), with other hours it is refused — a correction is a reversal.
  Entries without an event are idempotent too: the same volunteer, team, date, hours and note is the same entry.
- **confirm**: someone who runs the team and is *not the volunteer* confirms a pending entry. The recorder may confirm
  what they recorded when they are not the volunteer (staff record and confirm in one step; a leader records their
  own hours and another leader or staff confirms them). Confirming twice (or concurrently) confirms once.
- **reverse** (冲正): a correction is a reversing entry (``reversal_of``, hours ≤ 0, a reason), at most one per entry;
  ``hours`` is the corrected total (0 cancels the entry). Reversing a confirmed entry takes effect at once (it is
  confirmed by the corrector, who may not be the volunteer); reversing a pending entry corrects what will be
  confirmed (0 cancels it: it can no longer be confirmed).
- Only confirmed entries count: a volunteer's hours are the sum of ``hours`` over their confirmed entries.

When an entry of an event becomes counted, the volunteer's attendance at the event is set to present with the net
hours (``attendance_record``), so the indicators (METHOD.md II4 reads attendance hours) and the export agree with the
ledger; then the hours-confirmed handlers run (learning awards the ``volunteer_hour`` points) in the same transaction.

Permission checks are made by the callers (views, API) with ``activities.*`` rules; these functions enforce the
domain's rules — including that nobody confirms their own hours, whatever their role.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied
from gongzhi.organizations.models import Membership, Organization, OrganizationKind, OrganizationStatus
from gongzhi.people.models import Resident

from ..hooks import hours_confirmed_handlers
from ..models import (
    Activity,
    ActivityKind,
    ActivitySignup,
    Attendance,
    AttendanceSource,
    AttendanceStatus,
    SignupStatus,
    VolunteerHours,
)
from ..services import activity_create, attendance_record, insert_new_row

MAX_HOURS = Decimal(24)
CENT = Decimal("0.01")


def _local_date(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def _check_team(team: Organization | None) -> Organization:
    if team is None or team.kind != OrganizationKind.VOLUNTEER_TEAM:
        message = _("只有志愿服务队可以记录志愿服务")
        raise DomainError(message, fields={"team": [message]}, code="not_a_team")
    if team.status != OrganizationStatus.ACTIVE:
        message = _("该志愿服务队不在活动状态")
        raise DomainError(message, fields={"team": [message]}, code="not_active")
    return team


def parse_hours(value: Any, *, name: str = "hours") -> Decimal:
    """Hours of service: a number above 0 and at most 24, with at most two decimals."""
    message = _("时长应为大于 0、不超过 24 的数字，最多两位小数")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DomainError(_("请填写时长"), fields={name: [_("必填")]})
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(message, fields={name: [message]}) from exc
    if not hours.is_finite() or hours != hours.quantize(CENT) or not Decimal(0) < hours <= MAX_HOURS:
        raise DomainError(message, fields={name: [message]})
    return hours.quantize(CENT)


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def _is_own(actor: Any, resident: Resident) -> bool:
    return resident.user_id is not None and getattr(actor, "pk", None) == resident.user_id


# --- events and sign-up -----------------------------------------------------------------------------------------


@transaction.atomic
def volunteer_event_create(
    *,
    actor: Any,
    team: Organization,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None = None,
    venue: str = "",
    capacity: int | None = None,
    description: str = "",
    signup_open: bool = True,
    ref: str = "",
) -> Activity:
    """A volunteer event of the team, held at the team's place, open for sign-up unless told otherwise."""
    _check_team(team)
    if not (title or "").strip():
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields={"title": [_("必填")]})
    if capacity is not None and capacity < 1:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields={"capacity": [_("名额至少为 1")]})
    activity = activity_create(
        actor=actor,
        place=team.place,
        kind=ActivityKind.VOLUNTEER_EVENT,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        venue=venue,
        organization=team,
        capacity=capacity,
        description=description,
        ref=ref,
    )
    if signup_open:
        activity.signup_open = True
        activity.save(update_fields=["signup_open", "updated_at"])
    return activity


@transaction.atomic
def volunteer_event_signup_set(*, actor: Any, activity: Activity, open: bool) -> Activity:
    """Open or close an event's sign-up. Setting what is already set changes nothing."""
    locked = Activity.objects.select_for_update().get(pk=activity.pk)
    if locked.kind != ActivityKind.VOLUNTEER_EVENT:
        raise DomainError(_("只有志愿服务活动可以报名"), code="not_a_volunteer_event")
    if locked.signup_open != open:
        locked.signup_open = open
        locked.save(update_fields=["signup_open", "updated_at"])
        audit_record(
            actor=actor,
            action="update",
            target_type="activity",
            target_id=str(locked.pk),
            place_code=locked.place_id,
            summary=f"{locked.title}：{'开放报名' if open else '关闭报名'}",
        )
    activity.signup_open = locked.signup_open
    return activity


def _live_signup(activity: Activity, resident: Resident) -> ActivitySignup | None:
    return (
        ActivitySignup.objects.filter(activity=activity, resident=resident, status=SignupStatus.SIGNED_UP)
        .order_by()
        .first()
    )


@transaction.atomic
def signup_create(
    *, resident: Resident, activity: Activity, now: datetime.datetime | None = None
) -> tuple[ActivitySignup, bool]:
    """A resident signs up for an open event. Signing up again (a double click, concurrent requests) returns the live
    sign-up: ``(signup, False)``. The event's row is locked while counting, so the capacity is never exceeded."""
    now = now or timezone.now()
    locked = Activity.objects.select_for_update().get(pk=activity.pk)
    existing = _live_signup(locked, resident)
    if existing is not None:
        return existing, False
    if not locked.signup_open:
        raise DomainError(_("该活动没有开放报名"), code="signup_closed")
    if locked.starts_at <= now:
        raise DomainError(_("活动已经开始，不能再报名"), code="started")
    if resident.left_on is not None:
        raise DomainError(_("您已迁出，不能报名"), code="left")
    if locked.capacity is not None:
        taken = ActivitySignup.objects.filter(activity=locked, status=SignupStatus.SIGNED_UP).count()
        if taken >= locked.capacity:
            raise Conflict(
                _("名额已满：这次活动共 %(n)s 个名额，都已报满") % {"n": locked.capacity},
                code="full",
            )
    signup = ActivitySignup(activity=locked, resident=resident, status=SignupStatus.SIGNED_UP)
    if not insert_new_row(signup):  # signup_one_live decides
        found = _live_signup(locked, resident)
        assert found is not None
        return found, False
    audit_record(
        actor=resident.user if resident.user_id else None,
        action="create",
        target_type="activity_signup",
        target_id=str(signup.pk),
        place_code=locked.place_id,
        summary=f"报名 {locked.title}",
    )
    return signup, True


@transaction.atomic
def signup_cancel(
    *, resident: Resident, activity: Activity, now: datetime.datetime | None = None
) -> ActivitySignup | None:
    """Cancel the resident's live sign-up before the event starts. Without one, nothing changes (None)."""
    now = now or timezone.now()
    signup = (
        ActivitySignup.objects.select_for_update()
        .filter(activity=activity, resident=resident, status=SignupStatus.SIGNED_UP)
        .order_by()
        .first()
    )
    if signup is None:
        return None
    if activity.starts_at <= now:
        raise DomainError(_("活动已经开始，不能取消报名"), code="started")
    signup.status = SignupStatus.CANCELLED
    signup.cancelled_at = now
    signup.save(update_fields=["status", "cancelled_at", "updated_at"])
    audit_record(
        actor=resident.user if resident.user_id else None,
        action="update",
        target_type="activity_signup",
        target_id=str(signup.pk),
        place_code=activity.place_id,
        summary=f"取消报名 {activity.title}",
    )
    return signup


# --- the hours ledger -------------------------------------------------------------------------------------------


def _check_event(activity: Activity, team: Organization, now: datetime.datetime) -> None:
    if activity.kind != ActivityKind.VOLUNTEER_EVENT or activity.organization_id != team.pk:
        message = _("该活动不是这个服务队的志愿服务活动")
        raise DomainError(message, fields={"activity": [message]}, code="wrong_event")
    if activity.starts_at > now:
        message = _("活动还没有开始，不能记录时长")
        raise DomainError(message, fields={"activity": [message]}, code="not_started")


def event_candidate_ids(activity: Activity, resident_ids: list[Any] | None = None) -> set[Any]:
    """Who may be given hours for an event: its live sign-ups, anyone with an attendance, the team's current
    members. One query."""
    q = (
        Q(activity_signups__activity=activity, activity_signups__status=SignupStatus.SIGNED_UP)
        | Q(attendances__activity=activity)
        | Q(memberships__organization_id=activity.organization_id, memberships__left_on__isnull=True)
    )
    qs = Resident.objects.filter(q)
    if resident_ids is not None:
        qs = qs.filter(pk__in=resident_ids)
    return set(qs.values_list("pk", flat=True).distinct())


def _member_on(team: Organization, resident: Resident, day: datetime.date) -> bool:
    return (
        Membership.objects.filter(organization=team, resident=resident, joined_on__lte=day)
        .filter(Q(left_on__isnull=True) | Q(left_on__gte=day))
        .exists()
    )


def _audit_entry(actor: Any, entry: VolunteerHours, action: str, summary: str, **changes: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="volunteer_hours",
        target_id=str(entry.pk),
        place_code=entry.organization.place_id,
        summary=summary,
        changes={k: str(v) for k, v in changes.items()} or None,
    )


def _insert_original(
    *,
    actor: Any,
    team: Organization,
    resident: Resident,
    hours: Decimal,
    served_on: datetime.date,
    activity: Activity | None,
    note: str,
) -> tuple[VolunteerHours, bool]:
    """Insert an original entry unless the same one is there: ``(entry, created)``; other hours for the same event
    are refused (a correction is a reversal)."""
    if activity is not None:
        entry = VolunteerHours(
            resident=resident,
            organization=team,
            activity=activity,
            served_on=served_on,
            hours=hours,
            note=note,
            recorded_by=acting_user(actor),
        )
        if insert_new_row(entry):  # vhours_once_per_event decides
            return entry, True
        existing = (
            VolunteerHours.objects.select_related("resident", "organization", "activity")
            .filter(resident=resident, activity=activity, reversal_of__isnull=True)
            .order_by()
            .get()
        )
        if existing.hours == hours:
            return existing, False
        message = _("这次活动已记录该居民 %(h)s 小时；如需更正，请在已有记录上冲正") % {"h": existing.hours}
        raise Conflict(message, fields={"hours": [message]}, code="already_recorded")
    # Without an event there is no unique constraint: the team's row is the lock under which an identical entry is
    # looked for (a double click, a retried request), so two requests cannot both insert.
    Organization.objects.select_for_update().filter(pk=team.pk).values_list("pk", flat=True).get()
    same = (
        VolunteerHours.objects.select_related("resident", "organization", "activity")
        .filter(
            resident=resident,
            organization=team,
            activity__isnull=True,
            reversal_of__isnull=True,
            served_on=served_on,
            hours=hours,
            note=note,
        )
        .order_by()
        .first()
    )
    if same is not None:
        return same, False
    entry = VolunteerHours.objects.create(
        resident=resident,
        organization=team,
        served_on=served_on,
        hours=hours,
        note=note,
        recorded_by=acting_user(actor),
    )
    return entry, True


def _record_one(
    *,
    actor: Any,
    team: Organization,
    resident: Resident,
    hours: Decimal,
    served_on: datetime.date,
    activity: Activity | None,
    note: str,
) -> tuple[VolunteerHours, bool]:
    entry, created = _insert_original(
        actor=actor, team=team, resident=resident, hours=hours, served_on=served_on, activity=activity, note=note
    )
    if created:
        entry.organization, entry.resident = team, resident
        _audit_entry(
            actor,
            entry,
            "create",
            f"记录志愿服务时长：{resident.masked_name} {hours} 小时（{team.name}）",
            hours=hours,
            served_on=served_on,
        )
    return entry, created


def _record_checks(
    *,
    team: Organization,
    resident: Resident,
    served_on: datetime.date | None,
    activity: Activity | None,
    now: datetime.datetime,
) -> datetime.date:
    """The service date of a new entry, after the domain's checks (errors name the field)."""
    if activity is not None:
        _check_event(activity, team, now)
        day = _local_date(activity.starts_at)
        if resident.pk not in event_candidate_ids(activity, [resident.pk]):
            message = _("该居民没有报名或参加这次活动，也不是服务队成员")
            raise DomainError(message, fields={"resident": [message]}, code="not_a_volunteer")
    else:
        if served_on is None:
            raise DomainError(_("请填写服务日期"), fields={"served_on": [_("必填")]})
        day = served_on
        if day > _local_date(now):
            message = _("服务日期不能晚于今天")
            raise DomainError(message, fields={"served_on": [message]})
        if not _member_on(team, resident, day):
            message = _("该居民在服务日期不是服务队成员；活动之外的时长只能记给成员")
            raise DomainError(message, fields={"resident": [message]}, code="not_a_member")
    if resident.left_on is not None and day > resident.left_on:
        message = _("服务日期晚于该居民的迁出日期")
        raise DomainError(message, fields={"served_on": [message]})
    return day


@transaction.atomic
def volunteer_hours_record(
    *,
    actor: Any,
    team: Organization,
    resident: Resident,
    hours: Any,
    served_on: datetime.date | None = None,
    activity: Activity | None = None,
    note: str = "",
    confirm: bool = False,
    now: datetime.datetime | None = None,
) -> tuple[VolunteerHours, bool]:
    """Record a volunteer's hours for the team: at an event (the date is the event's) or on a date without one.

    Returns ``(entry, created)``; the entry is pending unless ``confirm`` and the actor is not the volunteer (then it
    is confirmed at once, see ``volunteer_hours_confirm``).
    """
    now = now or timezone.now()
    _check_team(team)
    value = parse_hours(hours)
    note = (note or "").strip()[:300]
    day = _record_checks(team=team, resident=resident, served_on=served_on, activity=activity, now=now)
    entry, created = _record_one(
        actor=actor, team=team, resident=resident, hours=value, served_on=day, activity=activity, note=note
    )
    if confirm and not _is_own(actor, resident) and entry.confirmed_at is None:
        entry, _changed = volunteer_hours_confirm(actor=actor, entry=entry, now=now)
    return entry, created


@dataclass
class HoursRow:
    """One line of the bulk form for an event: a resident and their hours (blank hours: skipped)."""

    line: int
    resident_id: Any
    hours: Any = None
    note: str = ""


@dataclass
class BulkResult:
    created: list[VolunteerHours] = field(default_factory=list)
    unchanged: list[VolunteerHours] = field(default_factory=list)
    confirmed: int = 0
    own_pending: int = 0  # the actor's own hours: recorded, left for someone else to confirm


@transaction.atomic
def volunteer_hours_record_bulk(
    *,
    actor: Any,
    activity: Activity,
    rows: list[HoursRow],
    confirm: bool = False,
    now: datetime.datetime | None = None,
) -> BulkResult:
    """Record the hours of an event's volunteers in one go: every row is checked first; one bad row and nothing is
    written. Errors name the row and the field: ``fields={"rows.<i>.hours": ["第 3 行：…"], …}`` (``i`` = line − 1).
    Rows with blank hours are skipped; a row equal to what is recorded changes nothing."""
    now = now or timezone.now()
    team = activity.organization
    _check_team(team)
    assert team is not None
    _check_event(activity, team, now)
    filled = [r for r in rows if not (r.hours is None or (isinstance(r.hours, str) and not r.hours.strip()))]
    if not filled:
        message = _("请至少填写一位志愿者的时长")
        raise DomainError(message, fields={"rows": [message]})
    wanted = [u for u in (_as_uuid(r.resident_id) for r in filled) if u is not None]
    residents = {r.pk: r for r in Resident.objects.filter(pk__in=wanted)}
    allowed = event_candidate_ids(activity, list(residents))
    recorded = {
        e.resident_id: e
        for e in VolunteerHours.objects.filter(activity=activity, reversal_of__isnull=True).only("resident_id", "hours")
    }
    errors: dict[str, list[str]] = {}
    seen: dict[Any, int] = {}
    plan: list[tuple[HoursRow, Resident, Decimal]] = []

    def problem(row: HoursRow, name: str, text: str) -> None:
        errors.setdefault(f"rows.{row.line - 1}.{name}", []).append(
            _("第 %(line)s 行：%(problem)s") % {"line": row.line, "problem": text}
        )

    day = _local_date(activity.starts_at)
    for row in filled:
        key = _as_uuid(row.resident_id)
        resident = residents.get(key) if key is not None else None
        if resident is None or resident.pk not in allowed:
            problem(row, "resident_id", _("该居民没有报名或参加这次活动，也不是服务队成员"))
            continue
        if resident.left_on is not None and day > resident.left_on:
            problem(row, "resident_id", _("该居民在活动日期之前已迁出"))
            continue
        try:
            hours = parse_hours(row.hours)
        except DomainError as exc:
            problem(row, "hours", exc.fields.get("hours", [exc.message])[0])
            continue
        if resident.pk in seen:
            problem(row, "resident_id", _("与第 %(line)s 行是同一位居民") % {"line": seen[resident.pk]})
            continue
        seen[resident.pk] = row.line
        earlier = recorded.get(resident.pk)
        if earlier is not None and earlier.hours != hours:
            problem(
                row,
                "hours",
                _("已记录 %(h)s 小时；如需更正，请在已有记录上冲正") % {"h": earlier.hours},
            )
            continue
        plan.append((row, resident, hours))
    if errors:
        lines = sorted({int(key.split(".")[1]) + 1 for key in errors})
        raise DomainError(
            _("有 %(n)s 行填写有误（第 %(lines)s 行），没有保存任何记录")
            % {"n": len(lines), "lines": "、".join(str(n) for n in lines)},
            fields=errors,
            code="invalid",
        )
    result = BulkResult()
    for row, resident, hours in plan:
        entry, created = _record_one(
            actor=actor,
            team=team,
            resident=resident,
            hours=hours,
            served_on=day,
            activity=activity,
            note=(row.note or "").strip()[:300],
        )
        (result.created if created else result.unchanged).append(entry)
        if confirm and entry.confirmed_at is None:
            if _is_own(actor, resident):
                result.own_pending += 1
            else:
                volunteer_hours_confirm(actor=actor, entry=entry, now=now)
                result.confirmed += 1
    return result


def _locked(entry: VolunteerHours) -> VolunteerHours:
    return (
        VolunteerHours.objects.select_for_update(of=("self",))
        .select_related("resident", "organization", "activity", "activity__place")
        .get(pk=entry.pk)
    )


def _sync_attendance(actor: Any, original: VolunteerHours, net: Decimal) -> None:
    """The volunteer's attendance at the event carries the counted hours (present once hours are confirmed)."""
    if original.activity is None:
        return
    status = (
        Attendance.objects.filter(activity=original.activity, resident_id=original.resident_id)
        .values_list("status", flat=True)
        .first()
    )
    if net > 0:
        status = AttendanceStatus.PRESENT
    elif status is None:
        return  # nothing counted and nothing recorded: no attendance to write
    attendance_record(
        actor=actor,
        activity=original.activity,
        resident=original.resident,
        status=status,
        source=AttendanceSource.ROSTER,
        hours=net,
    )


def _run_handlers(entry: VolunteerHours, net: Decimal, actor: Any) -> None:
    for handler in hours_confirmed_handlers():
        handler(entry, net, actor)


@transaction.atomic
def volunteer_hours_confirm(
    *, actor: Any, entry: VolunteerHours, now: datetime.datetime | None = None
) -> tuple[VolunteerHours, bool]:
    """Confirm a pending entry: ``(entry, True)``; an entry already confirmed: ``(entry, False)`` (a double click or
    a concurrent confirmation — the entry's row is locked, so exactly one confirms and the handlers run once).

    Refused: the volunteer's own hours (whoever they are — leader or staff), a reversing entry, a cancelled entry.
    """
    now = now or timezone.now()
    locked = _locked(entry)
    if locked.reversal_of_id is not None:
        message = _("冲正记录随原记录生效，无需单独确认")
        raise DomainError(message, fields={"entry": [message]}, code="is_reversal")
    if _is_own(actor, locked.resident):
        message = _("不能确认自己的志愿服务时长：请由服务队的其他负责人或工作人员确认")
        raise PermissionDenied(message, fields={"entry": [message]}, code="self_confirm")
    if locked.confirmed_at is not None:
        return locked, False
    reversal = VolunteerHours.objects.select_for_update().filter(reversal_of=locked).order_by().first()
    net = locked.hours + (reversal.hours if reversal is not None else Decimal(0))
    if net <= 0:
        message = _("该记录已撤销，不能确认")
        raise DomainError(message, fields={"entry": [message]}, code="cancelled")
    user = acting_user(actor)
    locked.confirmed_by, locked.confirmed_at = user, now
    locked.save(update_fields=["confirmed_by", "confirmed_at", "updated_at"])
    if reversal is not None:  # a correction made while pending takes effect with the entry
        reversal.confirmed_by, reversal.confirmed_at = user, now
        reversal.save(update_fields=["confirmed_by", "confirmed_at", "updated_at"])
    _sync_attendance(actor, locked, net)
    _run_handlers(locked, net, actor)
    _audit_entry(
        actor,
        locked,
        "update",
        f"确认志愿服务时长：{locked.resident.masked_name} {net} 小时（{locked.organization.name}）",
        confirmed_hours=net,
    )
    return locked, True


@transaction.atomic
def volunteer_hours_reverse(
    *,
    actor: Any,
    entry: VolunteerHours,
    reason: str,
    hours: Any = Decimal(0),
    now: datetime.datetime | None = None,
) -> VolunteerHours:
    """Correct an entry with a reversing entry: ``hours`` is the corrected total (0, the default, cancels it), below
    the recorded hours; ``reason`` is required. At most one correction per entry; a reversal is never reversed.

    A confirmed entry's correction is confirmed by the corrector at once (so the volunteer may not correct their own
    confirmed hours): the attendance and the points follow. A pending entry's correction waits for its confirmation.
    """
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写冲正原因")
        raise DomainError(message, fields={"reason": [message]})
    locked = _locked(entry)
    if locked.reversal_of_id is not None:
        message = _("冲正记录不能再冲正")
        raise DomainError(message, fields={"entry": [message]}, code="is_reversal")
    if VolunteerHours.objects.filter(reversal_of=locked).exists():
        message = _("该记录已冲正过；每条记录只能冲正一次")
        raise Conflict(message, fields={"entry": [message]}, code="already_reversed")
    try:
        corrected = Decimal(0) if hours in (None, "") else Decimal(str(hours).strip())
    except (InvalidOperation, ValueError):
        corrected = Decimal(-1)
    if not corrected.is_finite() or corrected != corrected.quantize(CENT) or not 0 <= corrected < locked.hours:
        message = _("更正后的时长应不少于 0、少于原记录的 %(h)s 小时") % {"h": locked.hours}
        raise DomainError(message, fields={"hours": [message]})
    corrected = corrected.quantize(CENT)
    confirmed = locked.confirmed_at is not None
    if confirmed and _is_own(actor, locked.resident):
        message = _("不能更正自己已确认的志愿服务时长：请由服务队的其他负责人或工作人员处理")
        raise PermissionDenied(message, fields={"entry": [message]}, code="self_confirm")
    user = acting_user(actor)
    reversal = VolunteerHours(
        resident=locked.resident,
        organization=locked.organization,
        activity=locked.activity,
        served_on=locked.served_on,
        hours=corrected - locked.hours,
        note=reason[:300],
        recorded_by=user,
        reversal_of=locked,
        confirmed_by=user if confirmed else None,
        confirmed_at=now if confirmed else None,
    )
    try:
        with transaction.atomic():
            reversal.save(force_insert=True)
    except IntegrityError as exc:  # reversal_of is one-to-one: a concurrent correction won
        message = _("该记录已冲正过；每条记录只能冲正一次")
        raise Conflict(message, fields={"entry": [message]}, code="already_reversed") from exc
    if confirmed:
        _sync_attendance(actor, locked, corrected)
        _run_handlers(reversal, corrected, actor)
    _audit_entry(
        actor,
        reversal,
        "create",
        f"冲正志愿服务时长：{locked.resident.masked_name} {locked.hours} → {corrected} 小时（{reason}）",
        reversal_of=locked.pk,
        hours=reversal.hours,
    )
    return reversal
