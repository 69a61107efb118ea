"""Reads of activities and attendance. Each takes the acting user; list reads are a constant number of queries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.people.models import Resident
from gongzhi.places.models import Place

from .models import Activity, Attendance, AttendanceStatus


def _led_by(user: Any) -> Q:
    """Activities of organisations the user currently leads (as a resident)."""
    return Q(
        organization__in=_leader_org_ids(user),
    )


def _leader_org_ids(user: Any) -> Any:
    from gongzhi.organizations.models import Membership

    return Membership.objects.filter(role="leader", left_on__isnull=True, resident__user_id=user.pk).values(
        "organization_id"
    )


def _taught_by(user: Any) -> Q:
    """Course sessions whose teacher is the user (through learning's reverse accessor, without importing it)."""
    return Q(pk__in=Activity.objects.filter(course_session__teacher__user_id=user.pk).values("pk"))


def activities_visible(
    *,
    user: Any,
    place: Place | None = None,
    kind: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    search: str = "",
) -> QuerySet[Activity]:
    """Activities the user may manage or run: under the places their staff roles cover, the course sessions they teach,
    the meetings of organisations they lead. ``place`` narrows to a subtree. One query, with the present count."""
    if not getattr(user, "is_authenticated", False):
        return Activity.objects.none()
    allowed = access.prefixes(user, access.STAFF_ROLES)
    if allowed is None:
        qs = Activity.objects.all()
    else:
        q = access.prefix_q("place__code", user, access.STAFF_ROLES) if allowed else Q(pk__in=[])
        qs = Activity.objects.filter(q | _taught_by(user) | _led_by(user))
    if place is not None:
        qs = qs.filter(place__code__startswith=place.prefix)
    if kind:
        qs = qs.filter(kind=kind)
    if date_from:
        qs = qs.filter(starts_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(starts_at__date__lte=date_to)
    search = search.strip()
    if search:
        qs = qs.filter(Q(title__contains=search) | Q(ref=search))
    return (
        qs.select_related("place", "organization")
        .annotate(present_count=Count("attendances", filter=Q(attendances__status=AttendanceStatus.PRESENT)))
        .order_by("-starts_at", "ref")
    )


def activity_get(*, user: Any, activity_id: Any) -> Activity:
    """An activity the user may see; any other does not exist for them."""
    try:
        activity = Activity.objects.select_related("place", "organization").filter(pk=activity_id).first()
    except (ValidationError, ValueError, TypeError):
        activity = None
    if activity is None or not user.has_perm("activities.view_activity", activity):
        raise NotFound(_("找不到该活动"))
    return activity


def present_count(*, activity: Activity) -> int:
    return Attendance.objects.filter(activity=activity, status=AttendanceStatus.PRESENT).count()


@dataclass
class RosterRow:
    resident: Resident
    attendance: Attendance | None
    expected: bool

    @property
    def status(self) -> str:
        return self.attendance.status if self.attendance else ""


def roster_residents(*, activity: Activity) -> QuerySet[Resident]:
    """Who belongs on the roster: the expected people (current members of the organising organisation; the residents
    enrolled in the course of a session) and anyone already with an attendance. One query (attendance prefetched)."""
    from gongzhi.organizations.models import Membership

    expected = Q(pk__in=Attendance.objects.filter(activity=activity).values("resident_id"))
    if activity.organization_id:
        expected |= Q(
            pk__in=Membership.objects.filter(organization_id=activity.organization_id, left_on__isnull=True).values(
                "resident_id"
            )
        )
    expected |= Q(
        pk__in=Resident.objects.filter(
            enrolments__course__sessions__activity=activity, enrolments__status="enrolled"
        ).values("pk")
    )
    return (
        Resident.objects.filter(expected)
        .select_related("community")
        .prefetch_related(
            Prefetch("attendances", queryset=Attendance.objects.filter(activity=activity), to_attr="this_attendance")
        )
        .order_by("community_id", "name", "ref")
    )


def roster(*, user: Any, activity: Activity) -> list[RosterRow]:
    """The roster of an activity for someone who may mark it (else empty). Two queries, whatever its size."""
    if not user.has_perm("activities.mark_attendance", activity):
        return []
    rows = []
    for resident in roster_residents(activity=activity):
        found = resident.this_attendance[0] if resident.this_attendance else None  # type: ignore[attr-defined]
        rows.append(RosterRow(resident=resident, attendance=found, expected=True))
    return rows


def roster_row(*, user: Any, activity: Activity, resident_id: Any) -> RosterRow:
    """One person of an activity's roster (for re-rendering a ticked row); anyone else is not found."""
    if not user.has_perm("activities.mark_attendance", activity):
        raise NotFound(_("找不到该居民"))
    try:
        resident = roster_residents(activity=activity).filter(pk=resident_id).first()
    except (ValidationError, ValueError, TypeError):
        resident = None
    if resident is None:
        raise NotFound(_("找不到该居民"))
    found = resident.this_attendance[0] if resident.this_attendance else None  # type: ignore[attr-defined]
    return RosterRow(resident=resident, attendance=found, expected=True)


def attendance_of_resident(*, user: Any, resident: Resident | None) -> QuerySet[Attendance]:
    """A resident's own attendance history (only their own: for anyone else it is empty)."""
    if resident is None or resident.user_id != getattr(user, "pk", None):
        return Attendance.objects.none()
    return (
        Attendance.objects.filter(resident=resident)
        .select_related("activity", "activity__place")
        .order_by("-activity__starts_at")
    )
