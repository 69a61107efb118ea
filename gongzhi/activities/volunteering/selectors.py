"""育 volunteering — reads. Each takes the acting user; lists are a constant number of queries, whatever their size.

"Counted" hours are the confirmed entries of the ledger (an original entry once confirmed, and a correction of a
confirmed entry); "pending" hours are the unconfirmed ones (a pending entry with its pending correction, if any).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.organizations.models import Membership, Organization, OrganizationKind, OrganizationStatus
from gongzhi.organizations.rules import led_organization_ids, near_codes
from gongzhi.people import access
from gongzhi.people.models import Resident

from ..models import Activity, ActivityKind, ActivitySignup, Attendance, SignupStatus, VolunteerHours

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=8, decimal_places=2))
LIVE = Q(signups__status=SignupStatus.SIGNED_UP)


def _uuid_or_none(value: Any) -> Any:
    import uuid

    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


# --- teams ------------------------------------------------------------------------------------------------------


def teams_managed(*, user: Any, place: Any = None) -> QuerySet[Organization]:
    """The volunteer teams the user runs: under the places their staff roles cover, and the teams they lead.
    ``place`` narrows to a subtree. One query, with the current member count."""
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    allowed = access.prefixes(user, access.STAFF_ROLES)
    qs = Organization.objects.filter(kind=OrganizationKind.VOLUNTEER_TEAM)
    if allowed is not None:
        staff_q = access.prefix_q("place__code", user, access.STAFF_ROLES) if allowed else Q(pk__in=[])
        qs = qs.filter(staff_q | Q(pk__in=list(led_organization_ids(user))))
    if place is not None:
        qs = qs.filter(place__code__startswith=place.prefix)
    return (
        qs.select_related("place")
        .annotate(member_count=Count("memberships", filter=Q(memberships__left_on__isnull=True), distinct=True))
        .order_by("place_id", "name")
    )


def team_get(*, user: Any, team_id: Any) -> Organization:
    """A volunteer team the user runs; any other does not exist for them."""
    key = _uuid_or_none(team_id)
    team = (
        Organization.objects.select_related("place").filter(pk=key, kind=OrganizationKind.VOLUNTEER_TEAM).first()
        if key
        else None
    )
    if team is None or not user.has_perm("activities.manage_volunteer_team", team):
        raise NotFound(_("找不到该志愿服务队"))
    return team


def team_hours_by_year(*, user: Any, team_ids: list[Any]) -> dict[Any, dict[int, Decimal]]:
    """Counted hours per team and year (of the service date) for these teams, limited to the teams the user runs.
    One query."""
    managed = set(team_ids)
    rows = (
        VolunteerHours.objects.filter(organization_id__in=managed, confirmed_at__isnull=False)
        .annotate(year=ExtractYear("served_on"))
        .values("organization_id", "year")
        .annotate(total=Sum("hours"))
        .order_by()
    )
    out: dict[Any, dict[int, Decimal]] = defaultdict(dict)
    for row in rows:
        out[row["organization_id"]][row["year"]] = row["total"] or Decimal(0)
    return out


def team_pending_counts(*, team_ids: list[Any], exclude_user: Any = None) -> dict[Any, int]:
    """Pending, confirmable entries per team (one query)."""
    qs = _confirmable().filter(organization_id__in=team_ids)
    if exclude_user is not None:
        qs = qs.exclude(resident__user_id=exclude_user.pk)
    return dict(qs.values("organization_id").annotate(n=Count("pk")).values_list("organization_id", "n").order_by())


def team_members(*, team: Organization) -> QuerySet[Resident]:
    """Current members of the team, for picking a volunteer (one query)."""
    return (
        Resident.objects.filter(memberships__organization=team, memberships__left_on__isnull=True)
        .select_related("community")
        .order_by("name", "ref")
        .distinct()
    )


# --- events -----------------------------------------------------------------------------------------------------


def team_events(*, user: Any, team: Organization) -> QuerySet[Activity]:
    """The team's events, newest first, with live sign-ups, recorded and confirmed entries. One query."""
    if not user.has_perm("activities.manage_volunteer_team", team):
        return Activity.objects.none()
    signed = ActivitySignup.objects.filter(activity=OuterRef("pk"), status=SignupStatus.SIGNED_UP)
    return (
        Activity.objects.filter(organization=team, kind=ActivityKind.VOLUNTEER_EVENT)
        .select_related("place")
        .annotate(
            signup_count=Count("signups", filter=LIVE, distinct=True),
            entry_count=Count("volunteer_hours", filter=Q(volunteer_hours__reversal_of__isnull=True), distinct=True),
            pending_count=Count(
                "volunteer_hours",
                filter=Q(volunteer_hours__reversal_of__isnull=True, volunteer_hours__confirmed_at__isnull=True),
                distinct=True,
            ),
            has_signups=Exists(signed),
        )
        .order_by("-starts_at", "ref")
    )


def event_get(*, user: Any, activity_id: Any) -> Activity:
    """A volunteer event whose team the user runs; any other does not exist for them."""
    key = _uuid_or_none(activity_id)
    activity = (
        Activity.objects.select_related("place", "organization", "organization__place")
        .filter(pk=key, kind=ActivityKind.VOLUNTEER_EVENT)
        .first()
        if key
        else None
    )
    if activity is None or not user.has_perm("activities.manage_volunteer_event", activity):
        raise NotFound(_("找不到该志愿服务活动"))
    return activity


@dataclass
class EventRow:
    """One person on an event's page: their sign-up, attendance and hours entry (any may be missing)."""

    resident: Resident
    signup: ActivitySignup | None = None
    attendance: Attendance | None = None
    entry: VolunteerHours | None = None
    member: bool = False

    @property
    def net_hours(self) -> Decimal | None:
        if self.entry is None:
            return None
        reversal = getattr(self.entry, "reversal", None)
        return self.entry.hours + (reversal.hours if reversal is not None else Decimal(0))


def event_rows(*, user: Any, activity: Activity) -> list[EventRow]:
    """Everyone who belongs on an event's page — live sign-ups, anyone with an attendance or an entry, the team's
    current members — with what is recorded for them. Four queries, whatever the size."""
    if not user.has_perm("activities.manage_volunteer_event", activity):
        return []
    q = (
        Q(activity_signups__activity=activity, activity_signups__status=SignupStatus.SIGNED_UP)
        | Q(attendances__activity=activity)
        | Q(volunteer_hours__activity=activity)
        | Q(memberships__organization_id=activity.organization_id, memberships__left_on__isnull=True)
    )
    ids = set(Resident.objects.filter(q).values_list("pk", flat=True).distinct())
    residents = list(Resident.objects.filter(pk__in=ids).select_related("community"))
    rows = {r.pk: EventRow(resident=r) for r in residents}
    for s in ActivitySignup.objects.filter(activity=activity, status=SignupStatus.SIGNED_UP, resident_id__in=ids):
        rows[s.resident_id].signup = s
    for a in Attendance.objects.filter(activity=activity, resident_id__in=ids):
        rows[a.resident_id].attendance = a
    entries = VolunteerHours.objects.filter(activity=activity).select_related("recorded_by", "confirmed_by")
    originals: dict[Any, VolunteerHours] = {}
    reversals: dict[Any, VolunteerHours] = {}
    for e in entries:
        (reversals if e.reversal_of_id else originals)[e.reversal_of_id or e.pk] = e
    for key, e in originals.items():
        e.reversal = reversals.get(key)  # type: ignore[attr-defined]
        if e.resident_id in rows:
            e.resident = rows[e.resident_id].resident  # already at hand: no query per row
            rows[e.resident_id].entry = e
    members = set(
        Membership.objects.filter(
            organization=activity.organization, left_on__isnull=True, resident_id__in=ids
        ).values_list("resident_id", flat=True)
    )
    for key in members:
        rows[key].member = True

    def order(row: EventRow) -> tuple[int, str, str]:
        rank = 0 if row.signup or row.attendance or row.entry else 1
        return rank, row.resident.name, row.resident.ref

    return sorted(rows.values(), key=order)


def signup_count(*, activity: Activity) -> int:
    return ActivitySignup.objects.filter(activity=activity, status=SignupStatus.SIGNED_UP).count()


# --- residents: open events near them ---------------------------------------------------------------------------


def events_open_for(
    *,
    user: Any,
    resident: Resident | None,
    now: datetime.datetime | None = None,
    not_signed_up: bool = False,
) -> QuerySet[Activity]:
    """Upcoming volunteer events open for sign-up near the resident (their community and its street) or of a team
    they belong to, soonest first, with the live sign-up count and whether they signed up (``not_signed_up``: only
    those they have not signed up for). One query."""
    if resident is None or resident.user_id != getattr(user, "pk", None):
        return Activity.objects.none()
    now = now or timezone.now()
    teams = Membership.objects.filter(resident=resident, left_on__isnull=True).values("organization_id")
    mine = ActivitySignup.objects.filter(activity=OuterRef("pk"), resident=resident, status=SignupStatus.SIGNED_UP)
    qs = Activity.objects.all()
    if not_signed_up:
        qs = qs.exclude(Exists(mine))
    return (
        qs.filter(
            Q(place_id__in=near_codes(resident.community_id)) | Q(organization_id__in=teams),
            kind=ActivityKind.VOLUNTEER_EVENT,
            signup_open=True,
            starts_at__gt=now,
            organization__status=OrganizationStatus.ACTIVE,
        )
        .select_related("place", "organization")
        .annotate(signup_count=Count("signups", filter=LIVE, distinct=True), signed_up=Exists(mine))
        .order_by("starts_at", "ref")
    )


def my_signups(*, user: Any, resident: Resident | None) -> QuerySet[ActivitySignup]:
    """The resident's live sign-ups for events not yet over (their own only). One query."""
    if resident is None or resident.user_id != getattr(user, "pk", None):
        return ActivitySignup.objects.none()
    today = timezone.localdate()
    return (
        ActivitySignup.objects.filter(
            resident=resident, status=SignupStatus.SIGNED_UP, activity__starts_at__date__gte=today
        )
        .select_related("activity", "activity__place", "activity__organization")
        .order_by("activity__starts_at")
    )


def open_event_get(*, user: Any, activity_id: Any) -> Activity:
    """A volunteer event the resident may sign up for (or cancel); any other does not exist for them."""
    key = _uuid_or_none(activity_id)
    activity = (
        Activity.objects.select_related("place", "organization")
        .filter(pk=key, kind=ActivityKind.VOLUNTEER_EVENT)
        .first()
        if key
        else None
    )
    if activity is None or not user.has_perm("activities.signup_activity", activity):
        raise NotFound(_("找不到该志愿服务活动"))
    return activity


# --- the ledger: entries to confirm, entries of a resident ------------------------------------------------------


def _confirmable() -> QuerySet[VolunteerHours]:
    """Pending original entries that can still be confirmed (not cancelled by a correction to 0)."""
    return VolunteerHours.objects.filter(reversal_of__isnull=True, confirmed_at__isnull=True).exclude(
        reversed_by__hours=-F("hours")
    )


def hours_to_confirm(*, user: Any, team: Organization | None = None) -> QuerySet[VolunteerHours]:
    """Pending entries of the teams the user runs that they may confirm (never their own hours), oldest service
    first. One query (the correction of each entry, if any, joined in)."""
    if not getattr(user, "is_authenticated", False):
        return VolunteerHours.objects.none()
    team_ids = teams_managed(user=user).values("pk")
    qs = _confirmable().filter(organization_id__in=team_ids).exclude(resident__user_id=user.pk)
    if team is not None:
        qs = qs.filter(organization=team)
    return (
        qs.select_related("resident", "resident__community", "organization", "activity", "recorded_by", "reversed_by")
        .annotate(net_hours=F("hours") + Coalesce(F("reversed_by__hours"), ZERO))
        .order_by("served_on", "created_at")
    )


def entry_get(*, user: Any, entry_id: Any, perm: str = "activities.view_volunteerhours") -> VolunteerHours:
    """One ledger entry the user may see (and act on with ``perm``); any other does not exist for them."""
    key = _uuid_or_none(entry_id)
    entry = (
        VolunteerHours.objects.select_related("resident", "resident__community", "organization", "activity")
        .filter(pk=key)
        .first()
        if key
        else None
    )
    if entry is None or not user.has_perm("activities.view_volunteerhours", entry):
        raise NotFound(_("找不到该记录"))
    return entry


def entries_of_resident(*, user: Any, resident: Resident | None) -> QuerySet[VolunteerHours]:
    """A resident's own ledger entries, newest service first (their own only). One query."""
    if resident is None or resident.user_id != getattr(user, "pk", None):
        return VolunteerHours.objects.none()
    return (
        VolunteerHours.objects.filter(resident=resident)
        .select_related("resident", "organization", "activity", "reversed_by")
        .order_by("-served_on", "-created_at")
    )


def entries_managed(
    *, user: Any, team: Organization | None = None, status: str = "", activity: Activity | None = None
) -> QuerySet[VolunteerHours]:
    """Entries of the teams the user runs (``status``: pending, confirmed or empty for all). One query."""
    if not getattr(user, "is_authenticated", False):
        return VolunteerHours.objects.none()
    qs = VolunteerHours.objects.filter(organization_id__in=teams_managed(user=user).values("pk"))
    if team is not None:
        qs = qs.filter(organization=team)
    if activity is not None:
        qs = qs.filter(activity=activity)
    if status == "pending":
        qs = qs.filter(confirmed_at__isnull=True)
    elif status == "confirmed":
        qs = qs.filter(confirmed_at__isnull=False)
    return qs.select_related("resident", "organization", "activity", "reversed_by").order_by(
        "-served_on", "-created_at"
    )


# --- the service record -----------------------------------------------------------------------------------------


@dataclass
class RecordLine:
    year: int
    team_id: Any
    team_name: str
    place_name: str
    confirmed: Decimal
    pending: Decimal


@dataclass
class ServiceRecord:
    """A resident's hours by year and team: counted (confirmed) and pending."""

    lines: list[RecordLine] = field(default_factory=list)

    @property
    def confirmed(self) -> Decimal:
        return sum((line.confirmed for line in self.lines), Decimal(0))

    @property
    def pending(self) -> Decimal:
        return sum((line.pending for line in self.lines), Decimal(0))

    def years(self) -> list[tuple[int, Decimal, list[RecordLine]]]:
        """(year, confirmed hours, lines) from the latest year."""
        by_year: dict[int, list[RecordLine]] = defaultdict(list)
        for line in self.lines:
            by_year[line.year].append(line)
        return [
            (year, sum((x.confirmed for x in lines), Decimal(0)), lines)
            for year, lines in sorted(by_year.items(), reverse=True)
        ]

    def confirmed_lines(self) -> list[RecordLine]:
        return [line for line in self.lines if line.confirmed > 0]


def service_record(*, user: Any, resident: Resident) -> ServiceRecord:
    """A resident's hours by year (of the service date) and team, set-based: one query. The resident themselves, or
    staff who may see the resident."""
    if resident.user_id != getattr(user, "pk", None) and not user.has_perm("people.view_resident", resident):
        return ServiceRecord()
    rows = (
        VolunteerHours.objects.filter(resident=resident)
        .annotate(year=ExtractYear("served_on"))
        .values("year", "organization_id", "organization__name", "organization__place__name")
        .annotate(
            confirmed=Coalesce(Sum("hours", filter=Q(confirmed_at__isnull=False)), ZERO),
            pending=Coalesce(Sum("hours", filter=Q(confirmed_at__isnull=True)), ZERO),
        )
        .order_by("-year", "organization__name")
    )
    return ServiceRecord(
        lines=[
            RecordLine(
                year=row["year"],
                team_id=row["organization_id"],
                team_name=row["organization__name"],
                place_name=row["organization__place__name"],
                confirmed=row["confirmed"],
                pending=row["pending"],
            )
            for row in rows
            if row["confirmed"] or row["pending"]
        ]
    )


def entries_with_corrections(entries: list[VolunteerHours]) -> list[VolunteerHours]:
    """Attach each original entry's correction (``entry.correction``) from the same list; reversals stay in it."""
    by_original = {e.reversal_of_id: e for e in entries if e.reversal_of_id}
    for e in entries:
        e.correction = by_original.get(e.pk)  # type: ignore[attr-defined]
    return entries


__all__ = [
    "EventRow",
    "RecordLine",
    "ServiceRecord",
    "entries_managed",
    "entries_of_resident",
    "entries_with_corrections",
    "entry_get",
    "event_get",
    "event_rows",
    "events_open_for",
    "hours_to_confirm",
    "my_signups",
    "open_event_get",
    "service_record",
    "signup_count",
    "team_events",
    "team_get",
    "team_hours_by_year",
    "team_members",
    "team_pending_counts",
    "teams_managed",
]
