"""Reads of learning spaces and bookings. Every selector takes the acting user, so permission filtering cannot be
forgotten: staff see the spaces of the places they cover, a resource partner the spaces their provider offers.

Utilisation (利用率) is booked hours ÷ open hours per week, per space: the booked hours of every space and week come
from one aggregate query, whatever the number of spaces.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.places.models import Place

from ..models import Booking, BookingSeries, BookingStatus, LearningSpace
from ..rules import provider_ids
from ..services.spaces import weekday_label


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of the day's week."""
    return day - datetime.timedelta(days=day.isoweekday() - 1)


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def spaces_visible(*, user: Any, place: Place | None = None, active: bool | None = None) -> QuerySet[LearningSpace]:
    """Spaces of the places the user covers as staff, and those their provider offers (a resource partner); under
    ``place`` when given. One query, with the place and the providing resource joined."""
    q = access.prefix_q("place__code", user, access.STAFF_ROLES)
    mine = provider_ids(user)
    if mine:
        q |= Q(resource__provider_id__in=mine)
    qs = LearningSpace.objects.filter(q)
    if place is not None:
        qs = qs.filter(place__code__startswith=place.prefix)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.select_related("place", "resource", "resource__provider").order_by("place_id", "name")


def space_get(*, user: Any, space_id: Any) -> LearningSpace:
    """A space the user may book (staff covering it, the partner providing it); any other does not exist."""
    try:
        space = (
            LearningSpace.objects.select_related("place", "resource", "resource__provider").filter(pk=space_id).first()
        )
    except (ValueError, ValidationError):
        space = None
    if space is None or not user.has_perm("resources.book_learningspace", space):
        raise NotFound(_("找不到该学习空间"))
    return space


def booking_get(*, user: Any, booking_id: Any) -> Booking:
    try:
        booking = (
            Booking.objects.select_related("space", "space__place", "space__resource", "series")
            .filter(pk=booking_id)
            .first()
        )
    except (ValueError, ValidationError):
        booking = None
    if booking is None or not user.has_perm("resources.book_learningspace", booking.space):
        raise NotFound(_("找不到该预约"))
    return booking


def series_get(*, user: Any, series_id: Any) -> BookingSeries:
    try:
        series = BookingSeries.objects.select_related("space", "space__place", "space__resource").filter(pk=series_id)
        found = series.first()
    except (ValueError, ValidationError):
        found = None
    if found is None or not user.has_perm("resources.book_learningspace", found.space):
        raise NotFound(_("找不到该每周预约"))
    return found


def space_bookings(
    *,
    user: Any,
    space: LearningSpace,
    since: datetime.date,
    until: datetime.date,
    include_cancelled: bool = False,
) -> QuerySet[Booking]:
    """The space's bookings starting on the days ``since`` … ``until`` (local dates, inclusive)."""
    if not user.has_perm("resources.book_learningspace", space):
        return Booking.objects.none()
    qs = Booking.objects.filter(
        space=space,
        starts_at__gte=_midnight(since),
        starts_at__lt=_midnight(until + datetime.timedelta(days=1)),
    )
    if not include_cancelled:
        qs = qs.filter(status=BookingStatus.ACTIVE)
    return qs.select_related("booked_by", "series").order_by("starts_at")


@dataclass
class CalendarDay:
    date: datetime.date
    label: str
    open: bool
    today: bool
    bookings: list[Booking] = field(default_factory=list)


def space_week(*, user: Any, space: LearningSpace, monday: datetime.date) -> list[CalendarDay]:
    """The week's calendar: seven days from ``monday``, whether the space opens that day, and its active bookings.
    One query."""
    monday = week_start(monday)
    today = timezone.localdate()
    days = [monday + datetime.timedelta(days=i) for i in range(7)]
    calendar = [
        CalendarDay(
            date=d, label=weekday_label(d.isoweekday()), open=str(d.isoweekday()) in space.weekdays, today=d == today
        )
        for d in days
    ]
    for booking in space_bookings(user=user, space=space, since=days[0], until=days[-1]):
        local = timezone.localtime(booking.starts_at).date()
        calendar[(local - monday).days].bookings.append(booking)
    return calendar


def space_series(*, user: Any, space: LearningSpace) -> list[BookingSeries]:
    """The space's weekly series that still have weeks to come, with ``remaining`` (active weeks not yet started)."""
    if not user.has_perm("resources.book_learningspace", space):
        return []
    now = timezone.now()
    qs = (
        BookingSeries.objects.filter(space=space)
        .annotate(
            remaining=Count("bookings", filter=Q(bookings__status=BookingStatus.ACTIVE, bookings__starts_at__gt=now))
        )
        .filter(remaining__gt=0)
        .order_by("weekday", "starts_at")
    )
    return list(qs)


# --- utilisation ------------------------------------------------------------------------------------------------


def open_hours_per_week(space: LearningSpace) -> float:
    day = datetime.datetime.combine(datetime.date.min, space.closes_at) - datetime.datetime.combine(
        datetime.date.min, space.opens_at
    )
    return round(day.total_seconds() / 3600 * len(space.weekdays), 2)


@dataclass
class WeekUse:
    week: datetime.date
    booked_hours: float
    open_hours: float

    @property
    def ratio(self) -> float | None:
        return round(self.booked_hours / self.open_hours, 4) if self.open_hours else None

    @property
    def percent(self) -> int | None:
        ratio = self.ratio
        return None if ratio is None else round(ratio * 100)


@dataclass
class SpaceUse:
    space: LearningSpace
    weeks: list[WeekUse]


def weeks_around(today: datetime.date, *, before: int = 3, after: int = 2) -> list[datetime.date]:
    """Mondays from ``before`` weeks ago to ``after`` weeks ahead (this week included)."""
    monday = week_start(today)
    return [monday + datetime.timedelta(weeks=i) for i in range(-before, after + 1)]


def space_utilisation(
    *,
    user: Any,
    weeks: Sequence[datetime.date],
    place: Place | None = None,
    spaces: Sequence[LearningSpace] | None = None,
) -> list[SpaceUse]:
    """Booked hours ÷ open hours in each week (given by its Monday), for each space the user may see under ``place``
    (or for the given ``spaces``, e.g. one page of a list). Two queries at most: the spaces, and one aggregate of
    booked hours grouped by space and week."""
    mondays = sorted({week_start(w) for w in weeks})
    if spaces is None:
        spaces = list(spaces_visible(user=user, place=place))
    else:
        allowed = set(spaces_visible(user=user).filter(pk__in=[s.pk for s in spaces]).values_list("pk", flat=True))
        spaces = [s for s in spaces if s.pk in allowed]
    if not spaces or not mondays:
        return [SpaceUse(space=s, weeks=[]) for s in spaces]
    rows = (
        Booking.objects.filter(
            space_id__in=[s.pk for s in spaces],
            status=BookingStatus.ACTIVE,
            starts_at__gte=_midnight(mondays[0]),
            starts_at__lt=_midnight(mondays[-1] + datetime.timedelta(days=7)),
        )
        .annotate(week=TruncWeek("starts_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("space_id", "week")
        .annotate(booked=Sum(F("ends_at") - F("starts_at")))
    )
    booked: dict[tuple[Any, datetime.date], float] = {}
    for row in rows:
        week = row["week"]
        week_day = timezone.localtime(week).date() if isinstance(week, datetime.datetime) else week
        duration = row["booked"]
        seconds = duration.total_seconds() if isinstance(duration, datetime.timedelta) else (duration or 0) / 1e6
        booked[(row["space_id"], week_day)] = round(seconds / 3600, 2)
    return [
        SpaceUse(
            space=s,
            weeks=[
                WeekUse(week=m, booked_hours=booked.get((s.pk, m), 0.0), open_hours=open_hours_per_week(s))
                for m in mondays
            ],
        )
        for s in spaces
    ]


def utilisation_totals(rows: Sequence[SpaceUse]) -> list[WeekUse]:
    """The same weeks summed over the spaces (of active spaces only)."""
    if not rows or not rows[0].weeks:
        return []
    totals = []
    for i, week in enumerate(rows[0].weeks):
        used = [r.weeks[i] for r in rows if r.space.active]
        totals.append(
            WeekUse(
                week=week.week,
                booked_hours=round(sum(w.booked_hours for w in used), 2),
                open_hours=round(sum(w.open_hours for w in used), 2),
            )
        )
    return totals
