"""Writes of activities and attendance. Every check-in — QR, roster, paper, import — ends in ``attendance_record``."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import Conflict, DomainError, invalid
from gongzhi.organizations.models import Organization
from gongzhi.people.models import Resident
from gongzhi.places.models import Place
from gongzhi.resources.models import Booking, LearningSpace, Resource

from .hooks import presence_handlers
from .models import Activity, Attendance, AttendanceSource, AttendanceStatus


def _resource_list(resources: Iterable[Resource] | None) -> list[Resource]:
    return list({r.pk: r for r in resources or ()}.values())


def _book_space(
    *,
    actor: Any,
    space: LearningSpace | None,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None,
) -> Booking | None:
    """Book the space an activity is held in, in the caller's transaction (the activity and its booking are made
    together or not at all). An activity that starts before today is a record of the past: it names its space without
    booking it. A clash is refused by the booking service (Conflict ``booking_overlap``, its message on ``starts_at``)."""
    from gongzhi.resources.services.spaces import booking_create

    if space is None:
        return None
    if ends_at is None:
        message = _("使用学习空间时请填写结束时间")
        raise DomainError(message, fields={"ends_at": [message]})
    if timezone.localtime(starts_at).date() < timezone.localdate():
        return None
    return booking_create(actor=actor, space=space, title=title, starts_at=starts_at, ends_at=ends_at)


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
    space: LearningSpace | None = None,
    resources: Iterable[Resource] | None = None,
) -> Activity:
    """Create an activity. ``space``: the learning space it is held in — booked for its time in this same transaction
    (if the space is taken, nothing is created and the clash is reported on ``starts_at``); ``resources``: the
    providers' resources it uses (METHOD.md resource_refs). Submitting the same activity with a space twice (a double
    click) returns the activity made the first time: its booking is already there."""
    activity = Activity(
        ref=ref or f"A{secrets.token_hex(6).upper()}",
        place=place,
        kind=kind,
        title=title.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        venue=venue or (space.name if space is not None else ""),
        organization=organization,
        capacity=capacity,
        mode=mode,
        description=description,
        space=space,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        activity.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    used = _resource_list(resources)
    booking = _book_space(actor=actor, space=space, title=activity.title, starts_at=starts_at, ends_at=ends_at)
    if booking is not None:
        earlier = Activity.objects.filter(booking=booking).first()
        if earlier is not None:
            if earlier.place_id == place.code and earlier.title == activity.title and earlier.kind == kind:
                return earlier  # the same activity submitted twice
            message = _("该学习空间在这个时段已被活动“%(title)s”使用") % {"title": earlier.title}
            raise Conflict(message, fields={"starts_at": [message]}, code="booking_overlap")
        activity.booking = booking
    try:
        with transaction.atomic():
            activity.save(force_insert=True)
    except IntegrityError as exc:
        raise DomainError(_("编号重复"), fields={"ref": [_("编号已存在")]}, code="duplicate_ref") from exc
    if used:
        activity.resources.set(used)
    audit_record(
        actor=actor,
        action="create",
        target_type="activity",
        target_id=str(activity.pk),
        place_code=place.code,
        summary=activity.title,
        changes={"space": str(space.pk) if space else "", "resources": sorted(r.ref for r in used)}
        if space is not None or used
        else None,
    )
    return activity


def insert_new_row(obj: models.Model) -> bool:
    """Insert a new row unless a unique constraint already holds an equal one: True when inserted, False when not.

    PostgreSQL: ``INSERT … ON CONFLICT DO NOTHING`` (only unique and exclusion conflicts are skipped; every other error
    still raises), so no savepoint is needed around an insert that may meet its unique constraint — the transaction
    stays usable and the constraint still decides. Other databases: the insert in a savepoint, ``IntegrityError`` read
    as "already there" (SQLite's ``INSERT OR IGNORE`` would also skip NOT NULL and CHECK failures). Like
    ``bulk_create``, no model signals are sent.
    """
    model = type(obj)
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic(using=using):
                obj.save(force_insert=True, using=using)
        except IntegrityError:
            return False
        return True
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values(list(model._meta.concrete_fields), [obj])
    with connection.cursor() as cursor:
        for statement, params in query.get_compiler(using=using).as_sql():
            cursor.execute(statement, params)
        inserted = cursor.rowcount == 1
    if inserted:
        obj._state.adding = False
        obj._state.db = using
    return inserted


def _self_checkin(actor: Any, resident: Resident, source: str) -> bool:
    """A resident scanning the QR code for themselves: their own record, not a staff write (so not audited)."""
    return (
        source == AttendanceSource.QR
        and resident.user_id is not None
        and getattr(actor, "pk", None) == resident.user_id
    )


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
    Presence handlers (points …) run in this transaction when the row is present. Every write by staff (roster, paper,
    import, or a QR check-in on someone else's behalf) is audited; a resident's own QR check-in is their own record and
    is not.
    """
    if status not in AttendanceStatus.values:
        raise DomainError(_("出席状态无效"), fields={"status": [_("不是可选的值")]})
    if hours is not None and hours < 0:
        raise DomainError(_("时长不能为负数"), fields={"hours": [_("不能为负数")]})
    recorded_by = actor if getattr(actor, "is_authenticated", False) else None
    changed: list[str] = []
    attendance = Attendance(
        activity=activity, resident=resident, status=status, source=source, hours=hours, recorded_by=recorded_by
    )
    created = insert_new_row(attendance)  # the constraint attendance_one_per_person decides
    if not created:
        # Someone (or this same person, a moment ago) already recorded it: lock the row and update if needed.
        attendance = Attendance.objects.select_for_update().get(activity=activity, resident=resident)
        attendance.activity, attendance.resident = activity, resident  # already at hand: no look-ups for the handlers
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
    # A repeated scan or click changes nothing, and leaves no trace either.
    if (created or changed) and not _self_checkin(actor, resident, source):
        audit_record(
            actor=actor,
            action="create" if created else "update",
            target_type="attendance",
            target_id=str(attendance.pk),
            place_code=activity.place_id,
            summary=f"{activity.title}：{attendance.get_status_display()}（{attendance.get_source_display()}）",
        )
    return attendance, created


# --- activities -------------------------------------------------------------------------------------------------

ACTIVITY_FIELDS = ("kind", "title", "starts_at", "ends_at", "venue", "organization", "capacity", "mode", "description")
# Also changeable, handled on their own: the learning space (re-booked when it or the time changes) and the resources.
USE_FIELDS = ("space", "resources")


def _rebook(*, actor: Any, activity: Activity, space: LearningSpace | None) -> Booking | None:
    """Release the activity's booking (cancelled if it has not ended yet) and book ``space`` for its current time."""
    from gongzhi.resources.models import BookingStatus
    from gongzhi.resources.services.spaces import booking_cancel

    old = activity.booking
    if old is not None and old.status == BookingStatus.ACTIVE and old.ends_at > timezone.now():
        booking_cancel(actor=actor, booking=old, reason=_("活动“%(title)s”调整") % {"title": activity.title})
    return _book_space(
        actor=actor, space=space, title=activity.title, starts_at=activity.starts_at, ends_at=activity.ends_at
    )


@transaction.atomic
def activity_update(*, actor: Any, activity: Activity, **changes: Any) -> Activity:
    """Change the given fields of an activity (any of ``ACTIVITY_FIELDS``, and ``space`` / ``resources``).

    When the space or the time changes and the activity holds a booking, the booking is released and the (new) space
    booked for the new time, in this one transaction: if the space is taken, nothing changes and the clash is reported
    on ``starts_at``.
    """
    unknown = set(changes) - set(ACTIVITY_FIELDS) - set(USE_FIELDS)
    if unknown:
        raise DomainError(_("提交的信息有误"), fields={name: [_("不能修改")] for name in sorted(unknown)})
    activity = Activity.objects.select_for_update(of=("self",)).select_related("place", "booking").get(pk=activity.pk)
    space_given = "space" in changes
    new_space: LearningSpace | None = changes.pop("space", None)
    new_resources = changes.pop("resources", None)
    before = {name: str(getattr(activity, name)) for name in changes}
    for name, value in changes.items():
        setattr(activity, name, value.strip() if name == "title" and isinstance(value, str) else value)
    try:
        activity.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    changed = [name for name in changes if str(getattr(activity, name)) != before[name]]
    diff: dict[str, Any] = {n: [before[n], str(getattr(activity, n))] for n in changed}
    fields = [f"{n}_id" if n == "organization" else n for n in changed]
    space_changed = space_given and getattr(new_space, "pk", None) != activity.space_id
    time_changed = bool({"starts_at", "ends_at"} & set(changed))
    if space_changed or (time_changed and activity.space_id is not None):
        space = new_space if space_given else activity.space
        booking = _rebook(actor=actor, activity=activity, space=space)
        if space_changed:
            diff["space"] = [str(activity.space_id or ""), str(getattr(space, "pk", "") or "")]
            activity.space = space
            fields.append("space")
        if booking is not None and Activity.objects.filter(booking=booking).exclude(pk=activity.pk).exists():
            message = _("该学习空间在这个时段已被其他活动使用")
            raise Conflict(message, fields={"starts_at": [message]}, code="booking_overlap")
        if booking != activity.booking:
            activity.booking = booking
            fields.append("booking")
    if fields:
        activity.save(update_fields=[*fields, "updated_at"])
    if new_resources is not None:
        used = _resource_list(new_resources)
        old_refs = sorted(activity.resources.values_list("ref", flat=True))
        new_refs = sorted(r.ref for r in used)
        if old_refs != new_refs:
            activity.resources.set(used)
            diff["resources"] = [old_refs, new_refs]
    if diff:
        audit_record(
            actor=actor,
            action="update",
            target_type="activity",
            target_id=str(activity.pk),
            place_code=activity.place_id,
            summary=activity.title,
            changes=diff,
        )
    return activity


# --- the three check-ins ----------------------------------------------------------------------------------------


def checkin_token_check(
    *,
    token: str,
    activity: Activity | None = None,
    accept_expired: bool = False,
    now: datetime.datetime | None = None,
) -> Activity:
    """The activity a QR token is for, if it is genuine, fresh and inside the check-in window (``qr.TokenError``
    otherwise). ``activity``: when the caller expects a particular activity, a token for any other is refused."""
    from . import qr

    verified = qr.verify_signature(token, at=now.timestamp() if now else None, accept_expired=accept_expired)
    if activity is not None and activity.pk != verified.activity_id:
        raise qr.other_activity_error()
    found = activity
    if found is None:
        try:  # by primary key: no ORDER BY (``first()`` would add one)
            found = Activity.objects.select_related("place").get(pk=verified.activity_id)
        except Activity.DoesNotExist as exc:
            raise qr.TokenError(_("签到码无效"), fields={"token": [_("找不到该活动")]}, code="invalid") from exc
    qr.check_window(found, now=now)
    return found


def checkin_by_qr(
    *,
    user: Any,
    token: str,
    activity: Activity | None = None,
    accept_expired: bool = False,
    now: datetime.datetime | None = None,
) -> tuple[Attendance, bool]:
    """A logged-in resident scans the rotating QR code: verify the token, then record them present (source qr).

    ``accept_expired``: the token was verified fresh a moment ago (before the resident logged in).
    Refusals (``qr.TokenError``, a ``DomainError``) write nothing. A second scan returns ``(attendance, False)``.
    """
    from gongzhi.people.selectors import resident_of_user_for_write

    found = checkin_token_check(token=token, activity=activity, accept_expired=accept_expired, now=now)
    resident = resident_of_user_for_write(user=user)
    if resident is None:
        message = _("您的账号还没有关联居民信息，请联系社区工作人员")
        raise DomainError(message, fields={"token": [message]}, code="no_resident")
    return attendance_record(
        actor=user, activity=found, resident=resident, status=AttendanceStatus.PRESENT, source=AttendanceSource.QR
    )


def roster_mark(
    *, actor: Any, activity: Activity, resident: Resident, status: str, hours: Decimal | None = None
) -> tuple[Attendance, bool]:
    """Staff (or the teacher, or the organisation's leader) tick someone on the roster."""
    return attendance_record(
        actor=actor, activity=activity, resident=resident, status=status, source=AttendanceSource.ROSTER, hours=hours
    )


@dataclass
class PaperRow:
    """One line of a paper sheet: a resident named by ``ref``, or by ``name`` and ``phone``."""

    line: int
    ref: str = ""
    name: str = ""
    phone: str = ""
    status: str = AttendanceStatus.PRESENT
    hours: Decimal | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class PaperResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


STATUS_WORDS = {
    "出席": AttendanceStatus.PRESENT,
    "到": AttendanceStatus.PRESENT,
    "已到": AttendanceStatus.PRESENT,
    "签到": AttendanceStatus.PRESENT,
    "present": AttendanceStatus.PRESENT,
    "缺席": AttendanceStatus.ABSENT,
    "未到": AttendanceStatus.ABSENT,
    "absent": AttendanceStatus.ABSENT,
    "请假": AttendanceStatus.EXCUSED,
    "excused": AttendanceStatus.EXCUSED,
}


def parse_status(text: str) -> str | None:
    text = (text or "").strip()
    if not text:
        return AttendanceStatus.PRESENT
    return STATUS_WORDS.get(text.lower())


def parse_hours(value: Any) -> Decimal | None:
    """Hours from a cell or a word; raises ValueError when it is not a number from 0 to 24."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        hours = Decimal(str(value).strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(str(value)) from exc
    if not Decimal(0) <= hours <= Decimal(24):
        raise ValueError(str(value))
    return hours


def _sheet_scope_prefix(activity: Activity) -> str:
    """Whom a paper sheet may name: residents of the activity's street (a community activity draws its neighbours)."""
    code = activity.place_id
    return code[:9]


@transaction.atomic
def paper_sheet_record(*, actor: Any, activity: Activity, rows: list[PaperRow]) -> PaperResult:
    """Record a paper sign-in sheet: every row is checked first; one bad row and nothing is written.

    Errors name the line: ``fields={"rows": ["第 3 行：…", …]}``. The same person twice with the same status is one
    attendance; with different statuses it is an error.
    """
    from django.db.models import Q

    if not rows:
        raise DomainError(_("签到表是空的"), fields={"rows": [_("请至少填写一行")]})
    prefix = _sheet_scope_prefix(activity)
    refs = {r.ref for r in rows if r.ref}
    phones = {r.phone for r in rows if not r.ref and r.phone}
    query = Q(ref__in=refs) | Q(phone__in=phones)
    candidates = list(
        Resident.objects.filter(query, community__code__startswith=prefix, left_on__isnull=True).only(
            "id", "ref", "name", "phone", "community_id"
        )
    )
    by_ref = {r.ref: r for r in candidates}
    by_phone_name: dict[tuple[str, str], list[Resident]] = {}
    for r in candidates:
        by_phone_name.setdefault((r.phone, r.name), []).append(r)
    errors: list[str] = []
    chosen: dict[Any, tuple[PaperRow, Resident]] = {}
    plan: list[tuple[PaperRow, Resident]] = []
    for row in rows:
        problems = list(row.problems)
        resident: Resident | None = None
        if not problems:
            if row.ref:
                resident = by_ref.get(row.ref)
                if resident is None:
                    problems.append(_("找不到编号为 %(ref)s 的居民") % {"ref": row.ref})
            elif row.name and row.phone:
                matches = by_phone_name.get((row.phone, row.name), [])
                if len(matches) == 1:
                    resident = matches[0]
                elif not matches:
                    problems.append(_("找不到姓名和手机号都相符的居民"))
                else:
                    problems.append(_("有多位居民姓名和手机号相同，请改填编号"))
            else:
                problems.append(_("请填写居民编号，或者姓名加手机号"))
        if resident is not None:
            earlier = chosen.get(resident.pk)
            if earlier is None:
                chosen[resident.pk] = (row, resident)
                plan.append((row, resident))
            elif earlier[0].status != row.status:
                problems.append(_("与第 %(line)s 行是同一位居民，但状态不同") % {"line": earlier[0].line})
        for problem in problems:
            errors.append(_("第 %(line)s 行：%(problem)s") % {"line": row.line, "problem": problem})
    if errors:
        raise DomainError(
            _("签到表有 %(n)s 处错误，没有保存任何记录") % {"n": len(errors)}, fields={"rows": errors}, code="invalid"
        )
    result = PaperResult()
    for row, resident in plan:
        before = Attendance.objects.filter(activity=activity, resident=resident).values_list("status", "hours").first()
        _attendance, created = attendance_record(
            actor=actor,
            activity=activity,
            resident=resident,
            status=row.status,
            source=AttendanceSource.PAPER,
            hours=row.hours,
        )
        if created:
            result.created += 1
        elif before is not None and (before[0] != row.status or (row.hours is not None and before[1] != row.hours)):
            result.updated += 1
        else:
            result.unchanged += 1
    return result


def paper_rows_from_text(text: str) -> list[PaperRow]:
    """Typed lines: ``编号 [状态] [时长]`` or ``姓名 手机号 [状态] [时长]``, separated by spaces, commas or tabs."""
    import re

    rows: list[PaperRow] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        words = [w for w in re.split(r"[\s,，、;；\t]+", raw.strip()) if w]
        if not words:
            continue
        row = PaperRow(line=number)
        rest: list[str] = []
        for word in words:
            if re.fullmatch(r"1\d{10}", word):
                row.phone = word
            elif word.lower() in STATUS_WORDS:
                row.status = STATUS_WORDS[word.lower()]
            elif re.fullmatch(r"\d{1,2}(\.\d{1,2})?", word):
                try:
                    row.hours = parse_hours(word)
                except ValueError:
                    row.problems.append(_("时长应为 0 到 24 之间的数字"))
            else:
                rest.append(word)
        if len(rest) > 1:
            row.problems.append(_("无法识别：%(text)s") % {"text": " ".join(rest[1:])})
        elif rest and row.phone:
            row.name = rest[0]
        elif rest:
            row.ref = rest[0]
        rows.append(row)
    return rows


HEADER_NAMES = {
    "ref": ("编号", "ref", "居民编号"),
    "name": ("姓名", "name"),
    "phone": ("手机号", "phone", "电话"),
    "status": ("状态", "status"),
    "hours": ("时长", "hours", "时长（小时）", "小时"),
}


def paper_rows_from_xlsx(file: Any) -> list[PaperRow]:
    """Rows of an uploaded XLSX sheet (first sheet, header in the first row; columns 编号/ref, 状态/status, 时长/hours,
    or 姓名/name + 手机号/phone). Line numbers are the spreadsheet's row numbers."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:
        raise DomainError(
            _("无法读取文件：请上传 Excel（.xlsx）文件"), fields={"file": [_("不是有效的 .xlsx 文件")]}
        ) from exc
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = next(lines, None)
        if header is None:
            raise DomainError(_("签到表是空的"), fields={"file": [_("第一行应为表头")]})
        columns: dict[str, int] = {}
        for index, heading in enumerate(header):
            text = str(heading or "").strip().lower()
            for key, names in HEADER_NAMES.items():
                if text in {n.lower() for n in names}:
                    columns.setdefault(key, index)
        if "ref" not in columns and not ("name" in columns and "phone" in columns):
            raise DomainError(
                _("表头缺少“编号”列（或“姓名”和“手机号”两列）"), fields={"file": [_("第 1 行：缺少“编号”列")]}
            )

        def cell(values: tuple[Any, ...], key: str) -> Any:
            index = columns.get(key)
            return values[index] if index is not None and index < len(values) else None

        rows: list[PaperRow] = []
        for number, values in enumerate(lines, start=2):
            if not values or all(v is None or str(v).strip() == "" for v in values):
                continue
            row = PaperRow(line=number)
            row.ref = str(cell(values, "ref") or "").strip()
            row.name = str(cell(values, "name") or "").strip()
            phone = cell(values, "phone")
            row.phone = str(int(phone) if isinstance(phone, float) else phone or "").strip()
            status = parse_status(str(cell(values, "status") or ""))
            if status is None:
                row.problems.append(
                    _("状态“%(value)s”无效，应为 出席、缺席 或 请假") % {"value": cell(values, "status")}
                )
            else:
                row.status = status
            try:
                row.hours = parse_hours(cell(values, "hours"))
            except ValueError:
                row.problems.append(_("时长应为 0 到 24 之间的数字"))
            rows.append(row)
        return rows
    finally:
        book.close()


def paper_sheet_import_xlsx(*, actor: Any, activity: Activity, file: Any) -> PaperResult:
    """An uploaded XLSX sign-in sheet: all rows valid or nothing written (see ``paper_sheet_record``)."""
    return paper_sheet_record(actor=actor, activity=activity, rows=paper_rows_from_xlsx(file))


def paper_sheet_template() -> bytes:
    """An empty XLSX sign-in sheet with the expected header."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "签到表"
    sheet.append(["编号", "姓名", "手机号", "状态", "时长"])
    sheet.append(["R-0001", "", "", "出席", 1.5])
    for column, width in zip("ABCDE", (18, 12, 16, 10, 8), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
