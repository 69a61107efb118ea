"""Reads of star ratings. Selectors take the acting user (or the resident acting) so that permission filtering cannot
be forgotten; the facts of a standard are gathered set-based: a fixed number of queries whatever the number of
residents in scope."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.activities.models import EDUCATION_KINDS, Attendance, AttendanceStatus, VolunteerHours
from gongzhi.core.errors import NotFound
from gongzhi.organizations.models import Membership, Organization
from gongzhi.people import access
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import (
    PointsEntry,
    StarAssessment,
    StarRating,
    StarRatingStatus,
    StarStandard,
    StarStandardStatus,
)
from . import compute
from .rules import member_resident_id

# --- the year and the residents in scope ----------------------------------------------------------------------------


def year_days(year: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def year_moments(year: int) -> tuple[datetime.datetime, datetime.datetime]:
    """[1 January 00:00, next 1 January 00:00) in the site's time zone (Asia/Shanghai)."""
    tz = timezone.get_current_timezone()
    return datetime.datetime(year, 1, 1, tzinfo=tz), datetime.datetime(year + 1, 1, 1, tzinfo=tz)


def organization_of(standard: StarStandard) -> Organization | None:
    if not standard.organization_ref:
        return None
    return Organization.objects.filter(ref=standard.organization_ref).select_related("place").first()


def _members_in_year(organization_ref: str, year: int) -> QuerySet[Membership]:
    first, last = year_days(year)
    return Membership.objects.filter(organization__ref=organization_ref, joined_on__lte=last).filter(
        Q(left_on__isnull=True) | Q(left_on__gte=first)
    )


def scope_residents(standard: StarStandard) -> QuerySet[Resident]:
    """The residents a standard rates: the members of its organisation at some time in the year (wherever they
    live), or else every resident of its place; in either case registered by the end of the year, not moved out
    before it began, and not erased."""
    first, last = year_days(standard.year)
    if standard.organization_ref:
        qs = Resident.objects.filter(
            pk__in=_members_in_year(standard.organization_ref, standard.year).values("resident_id")
        )
    else:
        qs = Resident.objects.filter(community__code__startswith=codes.prefix_of(standard.place_id))
    return qs.filter(registered_on__lte=last, erased_at__isnull=True).filter(
        Q(left_on__isnull=True) | Q(left_on__gte=first)
    )


def in_scope(standard: StarStandard, resident: Resident) -> bool:
    return scope_residents(standard).filter(pk=resident.pk).exists()


def standard_facts(standard: StarStandard, scope_ids: list[Any]) -> dict[Any, compute.ResidentFacts]:
    """What counted in the standard's year for each resident in scope — four queries whatever their number (the
    residents are selected by a subquery, not a list of ids)."""
    facts: dict[Any, compute.ResidentFacts] = {rid: compute.ResidentFacts() for rid in scope_ids}
    if not facts:
        return facts
    scope = scope_residents(standard).values("pk")
    start, end = year_moments(standard.year)
    first, last = year_days(standard.year)
    sources = {c.source for c in compute.criteria_of(standard.criteria)}
    if compute.ATTENDANCE in sources:
        for rid, n in (
            Attendance.objects.filter(
                resident_id__in=scope,
                status=AttendanceStatus.PRESENT,
                activity__kind__in=EDUCATION_KINDS,
                activity__starts_at__gte=start,
                activity__starts_at__lt=end,
            )
            .order_by()
            .values("resident_id")
            .annotate(n=Count("pk"))
            .values_list("resident_id", "n")
        ):
            if rid in facts:
                facts[rid].attendance = n
    if compute.POINTS in sources:
        for rid, total in (
            PointsEntry.objects.filter(resident_id__in=scope, created_at__gte=start, created_at__lt=end)
            .order_by()
            .values("resident_id")
            .annotate(total=Sum("points"))
            .values_list("resident_id", "total")
        ):
            if rid in facts:
                facts[rid].points = int(total or 0)
    if compute.VOLUNTEER_HOURS in sources:
        # Only confirmed entries count; a confirmed correction (negative hours, same date) nets the original.
        for rid, hours in (
            VolunteerHours.objects.filter(
                resident_id__in=scope, confirmed_at__isnull=False, served_on__gte=first, served_on__lte=last
            )
            .order_by()
            .values("resident_id")
            .annotate(total=Sum("hours"))
            .values_list("resident_id", "total")
        ):
            if rid in facts:
                facts[rid].volunteer_hours = Decimal(hours or 0)
    if compute.ASSESSMENT in sources:
        for rid, criterion, score in (
            StarAssessment.objects.filter(standard=standard).order_by().values_list("resident_id", "criterion", "score")
        ):
            if rid in facts:
                facts[rid].assessments.setdefault(criterion, []).append(Decimal(score))
    return facts


# --- standards ------------------------------------------------------------------------------------------------------


def _with_counts(qs: QuerySet[StarStandard]) -> QuerySet[StarStandard]:
    return qs.select_related("place").annotate(
        rating_count=Count("ratings"),
        proposed_count=Count("ratings", filter=Q(ratings__status=StarRatingStatus.PROPOSED)),
        approved_count=Count("ratings", filter=Q(ratings__status=StarRatingStatus.APPROVED)),
        starred_count=Count(
            "ratings",
            filter=Q(ratings__status=StarRatingStatus.PUBLISHED, ratings__final_stars__gte=1),
        ),
    )


def _visible_q(user: Any) -> Q:
    """Standards on places the user covers as staff, and standards above a place where the user works."""
    allowed = access.prefixes(user, access.STAFF_ROLES)
    if allowed is None:
        return Q()
    q = Q(pk__in=[])
    for prefix in allowed:
        q |= Q(place__code__startswith=prefix)
    above = {
        a for g in access.user_grants(user) if g.role in access.STAFF_ROLES for a in codes.ancestor_codes(g.place_code)
    }
    if above:
        q |= Q(place_id__in=sorted(above))
    return q


def standards_visible(
    *, user: Any, place: Place | None = None, year: int | None = None, status: str = ""
) -> QuerySet[StarStandard]:
    """The standards the user may see (staff), optionally those of ``place``, its subtree and the places above it;
    with their rating counts. One query."""
    qs = StarStandard.objects.filter(_visible_q(user))
    if place is not None:
        qs = qs.filter(Q(place__code__startswith=place.prefix) | Q(place_id__in=codes.ancestor_codes(place.code)))
    if year is not None:
        qs = qs.filter(year=year)
    if status in StarStandardStatus.values:
        qs = qs.filter(status=status)
    return _with_counts(qs).order_by("-year", "place_id", "name")


def standard_get(*, user: Any, standard_id: Any) -> StarStandard:
    """A standard the user may see (with its counts); any other does not exist for them."""
    try:
        standard = _with_counts(StarStandard.objects.filter(pk=standard_id)).first()
    except (ValueError, ValidationError):
        standard = None
    if standard is None or not user.has_perm("learning.view_starstandard", standard):
        raise NotFound(_("找不到该星级评定标准"))
    return standard


def rating_get(*, user: Any, rating_id: Any) -> StarRating:
    """A rating the user may review (or their own published one)."""
    try:
        rating = (
            StarRating.objects.select_related("standard", "standard__place", "resident", "resident__community")
            .filter(pk=rating_id)
            .first()
        )
    except (ValueError, ValidationError):
        rating = None
    if rating is None or not (
        user.has_perm("learning.review_starrating", rating) or user.has_perm("learning.view_starrating", rating)
    ):
        raise NotFound(_("找不到该星级评定"))
    return rating


def ratings_ranked(
    *, user: Any, standard: StarStandard, status: str = "", stars: int | None = None, search: str = ""
) -> QuerySet[StarRating]:
    """The ratings of a standard, highest score first (ties by the resident's number). Before publication only
    the staff who manage the standard see them; after it, every staff user who sees the standard."""
    if not user.has_perm("learning.manage_starstandard", standard) and not (
        standard.status == StarStandardStatus.PUBLISHED and user.has_perm("learning.view_starstandard", standard)
    ):
        return StarRating.objects.none()
    qs = StarRating.objects.filter(standard=standard)
    if status in StarRatingStatus.values:
        qs = qs.filter(status=status)
    if stars is not None:
        qs = qs.filter(Q(final_stars=stars) | Q(final_stars__isnull=True, proposed_stars=stars))
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(resident__ref=search) | Q(resident__name__startswith=search))
    return qs.select_related("resident", "resident__community", "reviewed_by").order_by("-score", "resident__ref")


def star_histogram(*, standard: StarStandard) -> list[int]:
    """How many ratings have 0…5 stars (final stars once reviewed, else proposed). One query."""
    counts = [0] * (compute.STARS + 1)
    for final, proposed, n in (
        StarRating.objects.filter(standard=standard)
        .order_by()
        .values("final_stars", "proposed_stars")
        .annotate(n=Count("pk"))
        .values_list("final_stars", "proposed_stars", "n")
    ):
        counts[final if final is not None else proposed] += n
    return counts


# --- assessment -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessorRole:
    staff: bool  # staff covering the standard's place (all residents in scope) or some communities
    peer_resident_id: Any  # the assessor's own resident id when they are a current member of the organisation
    all_residents: bool  # staff covering the standard's place itself


def assessor_role(*, user: Any, standard: StarStandard) -> AssessorRole:
    all_residents = access.has_role_covering(user, standard.place_id, access.STAFF_ROLES)
    staff = all_residents or user.has_perm("learning.view_starstandard", standard)
    peer = member_resident_id(user, standard.organization_ref) if standard.organization_ref else None
    return AssessorRole(staff=bool(staff), peer_resident_id=peer, all_residents=all_residents)


def assessable_criteria(*, user: Any, standard: StarStandard) -> list[compute.Criterion]:
    """The assessment criteria the user may score on this standard: staff criteria for staff, peer criteria for
    members of its organisation."""
    role = assessor_role(user=user, standard=standard)
    return [
        c
        for c in compute.criteria_of(standard.criteria)
        if (role.staff and c.staff_may_score) or (role.peer_resident_id is not None and c.peers_may_score)
    ]


def assessable_residents(
    *, user: Any, standard: StarStandard, search: str = "", as_peer: bool = False
) -> QuerySet[Resident]:
    """The residents in scope the user may score (never themselves): for staff covering the standard's place all of
    them, for other staff those of the communities they cover, for a peer the fellow members. ``as_peer`` limits a
    staff user who is also a member to the peer view."""
    role = assessor_role(user=user, standard=standard)
    qs = scope_residents(standard)
    if role.staff and not as_peer:
        if not role.all_residents:
            qs = qs.filter(access.prefix_q("community__code", user, access.STAFF_ROLES))
    elif role.peer_resident_id is not None:
        current = Membership.objects.filter(organization__ref=standard.organization_ref, left_on__isnull=True)
        qs = qs.filter(pk__in=current.values("resident_id")).exclude(pk=role.peer_resident_id)
    else:
        return Resident.objects.none()
    if getattr(user, "is_authenticated", False):
        qs = qs.exclude(user=user)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(ref=search) | Q(name__startswith=search))
    return qs.select_related("community").order_by("community_id", "ref")


def my_scores(*, user: Any, standard: StarStandard, resident_ids: list[Any]) -> dict[tuple[Any, str], StarAssessment]:
    """The user's own scores of these residents on this standard, by (resident id, criterion code). One query."""
    if not resident_ids or not getattr(user, "is_authenticated", False):
        return {}
    return {
        (a.resident_id, a.criterion): a
        for a in StarAssessment.objects.filter(standard=standard, assessor=user, resident_id__in=resident_ids)
    }


def reviewed_resident_ids(*, standard: StarStandard, resident_ids: list[Any]) -> set[Any]:
    """Which of these residents already have a reviewed rating (their scores can no longer change). One query."""
    if not resident_ids:
        return set()
    return set(
        StarRating.objects.filter(standard=standard, resident_id__in=resident_ids)
        .exclude(status=StarRatingStatus.PROPOSED)
        .values_list("resident_id", flat=True)
    )


def assessment_counts(*, standard: StarStandard) -> dict[str, int]:
    """How many scores each criterion has (all assessors). One query."""
    return dict(
        StarAssessment.objects.filter(standard=standard)
        .order_by()
        .values("criterion")
        .annotate(n=Count("pk"))
        .values_list("criterion", "n")
    )


def assessments_of(*, user: Any, standard: StarStandard) -> QuerySet[StarAssessment]:
    """Scores on a standard: all of them for the staff who manage it, else the user's own."""
    qs = StarAssessment.objects.filter(standard=standard)
    if not user.has_perm("learning.manage_starstandard", standard):
        qs = qs.filter(assessor=user) if getattr(user, "is_authenticated", False) else qs.none()
    return qs.select_related("resident", "assessor").order_by("resident__ref", "criterion", "created_at")


# --- residents ------------------------------------------------------------------------------------------------------


def my_ratings(*, resident: Resident) -> list[StarRating]:
    """A resident's published ratings, latest year first."""
    return list(
        StarRating.objects.filter(resident=resident, status=StarRatingStatus.PUBLISHED)
        .select_related("standard", "standard__place")
        .order_by("-standard__year", "standard__name")
    )


def peer_tasks(*, user: Any) -> list[StarStandard]:
    """Active standards with peer criteria of organisations the user's resident currently belongs to."""
    if not getattr(user, "is_authenticated", False):
        return []
    refs = list(
        Membership.objects.filter(resident__user=user, left_on__isnull=True).values_list("organization__ref", flat=True)
    )
    if not refs:
        return []
    found = StarStandard.objects.filter(organization_ref__in=refs, status=StarStandardStatus.ACTIVE).select_related(
        "place"
    )
    return [
        s for s in found.order_by("-year", "name") if any(c.peers_may_score for c in compute.criteria_of(s.criteria))
    ]


@dataclass(frozen=True)
class PublicRow:
    rank: int
    masked_name: str
    community: str
    stars: int


def public_standard(*, standard_id: Any) -> tuple[StarStandard, list[PublicRow]]:
    """A published standard and its starred residents (1 star and more) for the public list: masked names and
    communities only, most stars first. Two queries."""
    try:
        standard = (
            StarStandard.objects.filter(pk=standard_id, status=StarStandardStatus.PUBLISHED)
            .select_related("place")
            .first()
        )
    except (ValueError, ValidationError):
        standard = None
    if standard is None:
        raise NotFound(_("找不到该星级评定结果"))
    rows = (
        StarRating.objects.filter(standard=standard, status=StarRatingStatus.PUBLISHED, final_stars__gte=1)
        .select_related("resident", "resident__community")
        .order_by("-final_stars", "-score", "resident__ref")
    )
    return standard, [
        PublicRow(
            rank=i,
            masked_name=r.resident.masked_name or "—",
            community=r.resident.community.name,
            stars=r.final_stars or 0,
        )
        for i, r in enumerate(rows, start=1)
    ]


def group_by_stars(rows: list[PublicRow]) -> list[tuple[int, list[PublicRow]]]:
    groups: dict[int, list[PublicRow]] = defaultdict(list)
    for r in rows:
        groups[r.stars].append(r)
    return sorted(groups.items(), key=lambda kv: -kv[0])
