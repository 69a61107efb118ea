"""Facts for the criteria evaluator: a set of residents' dated events, read from the database set-based.

``facts_for(resident_ids, programme)`` runs five queries per chunk of ``CHUNK`` residents, whatever the number of
residents, courses or entries:

1. points entries that were not reversed (and not reversals), with their source;
2. the residents' attendance at course sessions, with the course and its series (present ones are "sessions
   attended"; every one maps an ``attendance`` points entry to its series);
3. the number of sessions held so far (started by ``now``) of the courses found in 2, for "courses completed";
4. the tests passed, with the date of the first pass and the test's series (or its course's series), read by
   ``testing.selectors.tests_passed_facts``; they also map ``online_test`` points;
5. the residents' certificates in status valid (of ``programme``, or of every programme when it is None).

Dates are local (Asia/Shanghai) calendar dates: a points entry by its creation — except points for attendance at a
course session, dated by the session (a paper sheet entered a week later still counts on the session's day) —, a
session by its start, a completed course by the last session attended, a passed test by its first passing attempt.
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Count
from django.utils import timezone

from gongzhi.activities.models import Attendance, AttendanceStatus

from ..models import (
    Certificate,
    CertificateStatus,
    CourseSession,
    CredentialProgramme,
    PointsEntry,
)
from ..testing.selectors import tests_passed_facts
from .criteria import CertificateFact, CourseFact, Facts, PointsFact, SessionFact, TestFact

CHUNK = 500
ATTENDANCE_SOURCE = "attendance"
TEST_SOURCE = "online_test"


def _local_date(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def facts_for(
    resident_ids: Iterable[Any],
    programme: CredentialProgramme | None = None,
    *,
    now: datetime.datetime | None = None,
) -> dict[uuid.UUID, Facts]:
    """The facts of each resident (keyed by resident id; every requested id is present, possibly with no facts).
    Certificates are those of ``programme`` (every programme when None)."""
    now = now or timezone.now()
    ids = list(dict.fromkeys(_as_uuid(r) for r in resident_ids))
    out: dict[uuid.UUID, Facts] = {rid: Facts() for rid in ids}
    for start in range(0, len(ids), CHUNK):
        _fill(out, ids[start : start + CHUNK], programme, now)
    return out


def _fill(
    out: dict[uuid.UUID, Facts], ids: list[uuid.UUID], programme: CredentialProgramme | None, now: datetime.datetime
) -> None:
    # 2. attendance at course sessions (every status: an award's series is known whatever the status became later).
    attendance_series: dict[str, str | None] = {}
    attendance_on: dict[str, datetime.date] = {}
    present: dict[tuple[uuid.UUID, str], list[tuple[datetime.datetime, str | None]]] = defaultdict(list)
    for pk, rid, status, starts_at, course_id, series_id in (
        Attendance.objects.filter(resident_id__in=ids, activity__course_session__isnull=False)
        .order_by()
        .values_list(
            "pk",
            "resident_id",
            "status",
            "activity__starts_at",
            "activity__course_session__course_id",
            "activity__course_session__course__series_id",
        )
    ):
        course, series, on = str(course_id), _id(series_id), _local_date(starts_at)
        attendance_series[str(pk)], attendance_on[str(pk)] = series, on
        if status == AttendanceStatus.PRESENT:
            out[rid].sessions.append(SessionFact(on=on, course=course, series=series))
            present[(rid, course)].append((starts_at, series))

    # 3. courses completed: present at ≥ 80 % of the sessions held so far (at least one held).
    courses = {course for _rid, course in present}
    held: dict[str, int] = {}
    if courses:
        held = {
            str(row["course_id"]): row["n"]
            for row in CourseSession.objects.filter(course_id__in=courses, activity__starts_at__lte=now)
            .order_by()
            .values("course_id")
            .annotate(n=Count("pk"))
        }
    for (rid, course), sessions in present.items():
        attended = [(starts, series) for starts, series in sessions if starts <= now]
        total = held.get(course, 0)
        if total and attended and len(attended) * 5 >= total * 4:
            last, series = max(attended, key=lambda row: row[0])
            out[rid].courses.append(CourseFact(on=_local_date(last), course=course, series=series))

    # 4. tests passed, dated by the first pass (the testing part's set-based read); a test's series, else its
    #    course's series. They also map ``online_test`` points entries to their series.
    test_series: dict[str, str | None] = {}
    for passed in tests_passed_facts(ids):
        test, series = str(passed.test_id), _id(passed.series_id)
        test_series[test] = series
        out[_as_uuid(passed.resident_id)].tests.append(TestFact(on=passed.passed_on, test=test, series=series))

    # 1. points entries that stand (an award and its reversal cancel out: neither counts).
    for rid, points, created_at, source_type, source_id in (
        PointsEntry.objects.filter(resident_id__in=ids, reversal_of__isnull=True, reversed_by__isnull=True)
        .order_by()
        .values_list("resident_id", "points", "created_at", "source_type", "source_id")
    ):
        entry_series: str | None = None
        entry_on: datetime.date | None = None
        if source_type == ATTENDANCE_SOURCE:
            entry_series, entry_on = attendance_series.get(source_id), attendance_on.get(source_id)
        elif source_type == TEST_SOURCE:
            entry_series = test_series.get(source_id)
        out[rid].points.append(PointsFact(on=entry_on or _local_date(created_at), points=points, series=entry_series))

    # 5. certificates in status valid (expiry is the evaluator's: it knows "today").
    certificates = Certificate.objects.filter(resident_id__in=ids, status=CertificateStatus.VALID)
    if programme is not None:
        certificates = certificates.filter(programme=programme)
    for rid, programme_id, rank, issued_on, expires_on in certificates.order_by().values_list(
        "resident_id", "programme_id", "level__rank", "issued_on", "expires_on"
    ):
        out[rid].certificates.append(
            CertificateFact(rank=rank, issued_on=issued_on, expires_on=expires_on, programme=str(programme_id))
        )
