"""Reads of learning. Each selector takes the acting user (or the resident acting), so permission filtering cannot be
forgotten; list selectors run a constant number of queries whatever the number of rows."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.people.models import Resident
from gongzhi.places.models import Place

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

NEAR_DAYS = 60


def _count(qs: QuerySet[Any]) -> Coalesce:
    counted = qs.order_by().values("course_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _with_counts(qs: QuerySet[Course]) -> QuerySet[Course]:
    return (
        qs.annotate(
            enrolled_count=_count(Enrolment.objects.filter(course=OuterRef("pk"), status=EnrolmentStatus.ENROLLED)),
            waitlisted_count=_count(Enrolment.objects.filter(course=OuterRef("pk"), status=EnrolmentStatus.WAITLISTED)),
            session_count=_count(CourseSession.objects.filter(course=OuterRef("pk"))),
        )
        .select_related("series", "place")
        .prefetch_related(Prefetch("teachers", queryset=Teacher.objects.order_by("name")))
    )


def _teacher_q(user: Any) -> Q:
    if not getattr(user, "is_authenticated", False) or not any(g.role == "teacher" for g in access.user_grants(user)):
        return Q(pk__in=[])
    ids = Course.objects.filter(Q(teachers__user=user) | Q(sessions__teacher__user=user)).values("pk")
    return Q(pk__in=ids)


def courses_visible(
    *, user: Any, place: Place | None = None, series: Series | None = None, status: str = ""
) -> QuerySet[Course]:
    """Courses a staff user covers (under ``place`` when given) and a teacher's own courses, with counts annotated."""
    q = access.prefix_q("place__code", user, access.STAFF_ROLES) if access.is_staff(user) else Q(pk__in=[])
    q |= _teacher_q(user)
    qs = Course.objects.filter(q)
    if place is not None:
        qs = qs.filter(place__code__startswith=place.prefix)
    if series is not None:
        qs = qs.filter(series=series)
    if status in CourseStatus.values:
        qs = qs.filter(status=status)
    return _with_counts(qs).order_by("-created_at")


def courses_for_resident(*, resident: Resident) -> QuerySet[Course]:
    """Open courses of the resident's community and its street, with counts and the resident's own enrolment."""
    codes = [resident.community_id, resident.community.parent_id]
    mine = Enrolment.objects.filter(course=OuterRef("pk"), resident=resident).exclude(status=EnrolmentStatus.CANCELLED)
    return (
        _with_counts(Course.objects.filter(place_id__in=codes, status=CourseStatus.OPEN))
        .annotate(
            my_status=Subquery(mine.values("status")[:1]),
            my_waiting_since=Subquery(mine.filter(status=EnrolmentStatus.WAITLISTED).values("created_at")[:1]),
        )
        .annotate(
            my_position=Subquery(
                Enrolment.objects.filter(
                    course=OuterRef("pk"),
                    status=EnrolmentStatus.WAITLISTED,
                    created_at__lte=OuterRef("my_waiting_since"),
                )
                .order_by()
                .values("course_id")
                .annotate(n=Count("pk"))
                .values("n"),
                output_field=IntegerField(),
            ),
        )
        .order_by("-created_at")
    )


def course_get(*, user: Any, course_id: Any) -> Course:
    """A course the user may see; any other does not exist for them."""
    try:
        course = _with_counts(Course.objects.filter(pk=course_id)).first()
    except (ValueError, ValidationError):
        course = None
    if course is None or not user.has_perm("learning.view_course", course):
        raise NotFound(_("找不到该课程"))
    return course


def course_sessions(*, course: Course) -> QuerySet[CourseSession]:
    return (
        CourseSession.objects.filter(course=course)
        .select_related("activity", "activity__place", "teacher")
        .order_by("activity__starts_at")
    )


def course_enrolments(*, course: Course) -> tuple[list[Enrolment], list[Enrolment]]:
    """(enrolled, waiting list in order) of a course."""
    rows = list(
        Enrolment.objects.filter(course=course)
        .exclude(status=EnrolmentStatus.CANCELLED)
        .select_related("resident", "resident__community")
        .order_by("created_at", "id")
    )
    return (
        [e for e in rows if e.status == EnrolmentStatus.ENROLLED],
        [e for e in rows if e.status == EnrolmentStatus.WAITLISTED],
    )


def series_visible(*, user: Any, place: Place | None = None) -> QuerySet[Series]:
    qs = Series.objects.filter(access.prefix_q("place__code", user, access.STAFF_ROLES))
    if place is not None:
        # A place's own series and those of the places above it (a district series is used by its streets).
        from gongzhi.places import codes

        qs = qs.filter(Q(place__code__startswith=place.prefix) | Q(place_id__in=codes.ancestor_codes(place.code)))
    return qs.select_related("place").annotate(course_count=Count("courses")).order_by("place_id", "name")


def series_for_place(*, place: Place) -> QuerySet[Series]:
    from gongzhi.places import codes

    return Series.objects.filter(
        Q(place__code__startswith=place.prefix) | Q(place_id__in=codes.ancestor_codes(place.code))
    ).order_by("name")


def teachers_visible(*, user: Any, place: Place | None = None) -> QuerySet[Teacher]:
    qs = Teacher.objects.filter(access.prefix_q("place__code", user, access.STAFF_ROLES))
    if place is not None:
        from gongzhi.places import codes

        qs = qs.filter(Q(place__code__startswith=place.prefix) | Q(place_id__in=codes.ancestor_codes(place.code)))
    return qs.select_related("place", "user").order_by("place_id", "name")


def points_rules(*, user: Any) -> QuerySet[PointsRule]:
    if not user.has_perm("learning.view_pointsrule"):
        return PointsRule.objects.none()
    return PointsRule.objects.order_by("code")


@dataclass
class NearMe:
    courses: list[Course]
    sessions: list[CourseSession]


def near_me(*, resident: Resident, days: int = NEAR_DAYS) -> NearMe:
    """What is on near a resident: open courses and upcoming sessions in their community and its street."""
    now = timezone.now()
    codes = [resident.community_id, resident.community.parent_id]
    sessions = list(
        CourseSession.objects.filter(
            activity__place_id__in=codes,
            activity__starts_at__gte=now - datetime.timedelta(hours=3),
            activity__starts_at__lte=now + datetime.timedelta(days=days),
            course__status=CourseStatus.OPEN,
        )
        .select_related("activity", "course", "teacher")
        .order_by("activity__starts_at")[:50]
    )
    return NearMe(courses=list(courses_for_resident(resident=resident)), sessions=sessions)


def my_schedule(*, resident: Resident, days: int = NEAR_DAYS * 3) -> list[CourseSession]:
    """The upcoming sessions of the courses the resident is enrolled in."""
    now = timezone.now()
    enrolled = Enrolment.objects.filter(resident=resident, status=EnrolmentStatus.ENROLLED).values("course_id")
    return list(
        CourseSession.objects.filter(
            course_id__in=enrolled,
            activity__starts_at__gte=now - datetime.timedelta(hours=3),
            activity__starts_at__lte=now + datetime.timedelta(days=days),
        )
        .select_related("activity", "course", "teacher")
        .order_by("activity__starts_at")
    )


def my_enrolments(*, resident: Resident) -> QuerySet[Enrolment]:
    """The resident's live enrolments, with their place on the waiting list."""
    return (
        Enrolment.objects.filter(resident=resident)
        .exclude(status=EnrolmentStatus.CANCELLED)
        .select_related("course")
        .annotate(
            position=Subquery(
                Enrolment.objects.filter(
                    course=OuterRef("course"),
                    status=EnrolmentStatus.WAITLISTED,
                    created_at__lte=OuterRef("created_at"),
                )
                .order_by()
                .values("course_id")
                .annotate(n=Count("pk"))
                .values("n"),
                output_field=IntegerField(),
            )
        )
        .order_by("-created_at")
    )


def my_points(*, resident: Resident) -> tuple[int, QuerySet[PointsEntry]]:
    """(balance, entries newest first) of a resident."""
    balance = PointsBalance.objects.filter(resident=resident).values_list("balance", flat=True).first() or 0
    entries = (
        PointsEntry.objects.filter(resident=resident)
        .select_related("rule", "reversal_of", "reversed_by")
        .order_by("-created_at", "-id")
    )
    return balance, entries


def points_entry_get(*, user: Any, entry_id: Any) -> PointsEntry:
    try:
        entry = PointsEntry.objects.select_related("resident", "rule").filter(pk=entry_id).first()
    except (ValueError, ValidationError):
        entry = None
    if entry is None or not user.has_perm("learning.reverse_pointsentry", entry):
        raise NotFound(_("找不到该积分记录"))
    return entry
