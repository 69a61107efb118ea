"""Reads of needs (需求) and their matching. Every selector takes the acting user, so permission filtering cannot be
forgotten; lists run a constant number of queries whatever the number of rows.

- Staff see the needs of the communities their grants cover (``needs_visible``), with the raiser's name.
- A resident sees the needs they raised (``needs_of_resident``) and those of their community (``needs_of_my_community``,
  without who raised them), each with whether they came to an activity that fulfilled it and their own rating.
- A resource partner (a user in ``Provider.members``) sees the needs matched to their provider's resources
  (``needs_of_partner``), without who raised them.

``resources`` sits below ``activities``: the activities that fulfilled a need and the attendance at them are reached
through the reverse relations (``Need.activities``, ``activities__attendances``) without importing that app.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.models import Place

from .. import matching
from ..models import Need, NeedStatus, Rating, Resource, ResourceKind
from ..rules import provider_ids

# Attendance.status of someone who came (activities.models.AttendanceStatus.PRESENT; not imported: see above).
PRESENT = "present"
CANDIDATE_LIMIT = 20
CANDIDATE_POOL = 1000


def _resident(user: Any) -> Resident | None:
    """The user's current resident profile (not moved out), or None. Read once per request (cached on the user)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_gongzhi_needs_resident"):
        user._gongzhi_needs_resident = (
            Resident.objects.select_related("community")
            .filter(user_id=user.pk, left_on__isnull=True)
            .order_by()
            .first()
        )
    found: Resident | None = user._gongzhi_needs_resident
    return found


def _base(qs: QuerySet[Need]) -> QuerySet[Need]:
    return qs.select_related("community", "resource", "resource__provider")


def _for_resident(qs: QuerySet[Need], user: Any) -> QuerySet[Need]:
    """Annotate ``i_came`` (present at an activity that fulfilled it), ``my_score`` (their rating, or None) and the
    fulfilling activities (``done``, prefetched: one more query)."""
    from django.apps import apps

    activity_model = apps.get_model("activities", "Activity")
    came = Need.objects.filter(
        pk=OuterRef("pk"),
        activities__attendances__resident__user_id=user.pk,
        activities__attendances__status=PRESENT,
    )
    mine = Rating.objects.filter(need=OuterRef("pk"), resident__user_id=user.pk).values("score")[:1]
    return qs.annotate(i_came=Exists(came), my_score=Subquery(mine)).prefetch_related(
        Prefetch(
            "activities",
            queryset=activity_model.objects.select_related("place").order_by("starts_at"),
            to_attr="done",
        )
    )


# --- staff ------------------------------------------------------------------------------------------------------


def _staff_scope(user: Any, place: Place | None) -> QuerySet[Need]:
    qs = Need.objects.filter(access.prefix_q("community__code", user, access.STAFF_ROLES))
    if place is not None:
        qs = qs.filter(community__code__startswith=place.prefix)
    return qs


def needs_visible(
    *,
    user: Any,
    place: Place | None = None,
    status: str = "",
    kind: str = "",
    direction: str = "",
    search: str = "",
) -> QuerySet[Need]:
    """Needs of the communities the user covers as staff (under ``place`` when given), newest first. One query."""
    qs = _staff_scope(user, place)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(resource_kind=kind)
    if direction:
        qs = qs.filter(direction=direction)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(title__contains=search) | Q(ref=search))
    return _base(qs).select_related("raised_by").order_by("-raised_on", "-created_at")


def need_status_counts(*, user: Any, place: Place | None = None) -> dict[str, int]:
    """How many needs are in each status (the board). One query."""
    rows = _staff_scope(user, place).order_by().values_list("status").annotate(n=Count("pk"))
    counts = dict.fromkeys(NeedStatus.values, 0)
    counts.update(dict(rows))
    return counts


def need_get(*, user: Any, need_id: Any) -> Need:
    """A need the user may see (staff covering it, its raiser, residents of its community, the matched partner);
    any other does not exist for them."""
    try:
        need = (
            Need.objects.select_related(
                "community", "community__parent", "raised_by", "resource", "resource__provider", "survey"
            )
            .filter(pk=need_id)
            .first()
        )
    except (ValueError, ValidationError, TypeError):
        need = None
    if need is None or not user.has_perm("resources.view_need", need):
        raise NotFound(_("找不到该需求"))
    return need


def need_get_for_resident(*, user: Any, need_id: Any, need: Need | None = None) -> Need:
    """A need the user may see, with the resident's annotations (``i_came``, ``my_score``, ``done``). ``need``: the
    need already read through ``need_get`` for this user (skips reading and checking it again)."""
    if need is None:
        need = need_get(user=user, need_id=need_id)
    return _for_resident(Need.objects.filter(pk=need.pk), user).select_related(
        "community", "resource", "resource__provider", "raised_by"
    )[0]


def need_activities(*, need: Need) -> QuerySet[Any]:
    """The activities that fulfilled the need, with how many were present at each. One query."""
    return (
        need.activities.select_related("place")  # type: ignore[attr-defined]
        .annotate(present=Count("attendances", filter=Q(attendances__status=PRESENT)))
        .order_by("starts_at")
    )


@dataclass(frozen=True)
class RatingSummary:
    count: int
    mean: float | None


def need_rating_summary(*, need: Need) -> RatingSummary:
    agg = Rating.objects.filter(need=need).aggregate(n=Count("pk"), mean=Avg("score"))
    return RatingSummary(count=agg["n"] or 0, mean=float(agg["mean"]) if agg["mean"] is not None else None)


def need_ratings(*, user: Any, need: Need) -> list[Rating]:
    """The ratings of a need for staff covering it or the matched partner (score, comment; the rater's name masked);
    empty for anyone else. One query."""
    if not (user.has_perm("resources.change_need", need) or _is_partner_of(user, need)):
        return []
    return list(Rating.objects.filter(need=need).select_related("resident").order_by("-created_at"))


def _is_partner_of(user: Any, need: Need) -> bool:
    return need.resource_id is not None and need.resource.provider_id in provider_ids(user)  # type: ignore[union-attr]


# --- residents --------------------------------------------------------------------------------------------------


def needs_of_resident(*, user: Any, status: str = "") -> QuerySet[Need]:
    """The needs the logged-in resident raised, newest first, with ``i_came``, ``my_score`` and ``done``."""
    if not getattr(user, "is_authenticated", False):
        return Need.objects.none()
    qs = Need.objects.filter(raised_by__user_id=user.pk)
    if status:
        qs = qs.filter(status=status)
    return _for_resident(_base(qs), user).order_by("-raised_on", "-created_at")


def needs_of_my_community(*, user: Any, status: str = "") -> QuerySet[Need]:
    """The needs of the logged-in resident's (current) community — never who raised them — with ``i_came``,
    ``my_score`` and ``done``; none for anyone else. Cancelled needs are left out unless asked for."""
    resident = _resident(user)
    if resident is None:
        return Need.objects.none()
    qs = Need.objects.filter(community_id=resident.community_id)
    qs = qs.filter(status=status) if status else qs.exclude(status=NeedStatus.CANCELLED)
    return _for_resident(_base(qs), user).order_by("-raised_on", "-created_at")


# --- partners ---------------------------------------------------------------------------------------------------


def needs_of_partner(*, user: Any, status: str = "") -> QuerySet[Need]:
    """Needs matched to the resources of the providers the user belongs to (``Provider.members``), with the rating
    count and mean and the fulfilling activities; never who raised them."""
    mine = provider_ids(user)
    if not mine:
        return Need.objects.none()
    qs = Need.objects.filter(resource__provider_id__in=mine)
    if status:
        qs = qs.filter(status=status)
    from django.apps import apps

    activity_model = apps.get_model("activities", "Activity")
    return (
        _base(qs)
        .annotate(rating_count=Count("ratings"), rating_mean=Avg("ratings__score"))
        .prefetch_related(
            Prefetch(
                "activities",
                queryset=activity_model.objects.select_related("place").order_by("starts_at"),
                to_attr="done",
            )
        )
        .order_by("-matched_on", "-raised_on", "-created_at")
    )


# --- matching ---------------------------------------------------------------------------------------------------


def need_facts(need: Need, on: datetime.date | None = None) -> matching.NeedFacts:
    """The need as matching sees it; served today, or on the day it was raised if that is later."""
    day = on or max(timezone.localdate(), need.raised_on)
    return matching.NeedFacts(community_code=need.community_id, resource_kind=need.resource_kind, on=day)


def _pool(need: Need) -> QuerySet[Resource]:
    """Candidate resources: active, of an active provider, and either serving the need's community (its service
    area holds the community or a place above it) or within reach (a provider registered in the need's district, above
    it, or nowhere) and of the needed kind, of kind "other", or with no service area declared."""
    code = need.community_id
    above = [code, *codes.ancestor_codes(code)]
    through = Resource.service_area.through
    serving = through.objects.filter(place_id__in=above).values("resource_id")
    declared = through.objects.values("resource_id")
    # Within reach: registered nowhere, above the community, or anywhere in its district (6 significant digits).
    district = code[:6]
    reach = (
        Q(provider__place__isnull=True)
        | Q(provider__place_id__in=above)
        | Q(provider__place__code__startswith=district)
    )
    fits = Q(kind=need.resource_kind) | Q(kind=ResourceKind.OTHER) | ~Q(pk__in=declared)
    if need.resource_kind == ResourceKind.OTHER:
        fits = Q()
    return Resource.objects.filter(active=True, provider__active=True).filter(Q(pk__in=serving) | (reach & fits))


def _candidates(*, need: Need, resource_ids: list[Any] | None = None) -> list[tuple[Resource, matching.CandidateFacts]]:
    qs = Resource.objects.filter(pk__in=resource_ids) if resource_ids is not None else _pool(need)
    resources = list(qs.select_related("provider").order_by("pk")[:CANDIDATE_POOL])
    if not resources:
        return []
    ids = [r.pk for r in resources]
    pids = {r.provider_id for r in resources}
    areas: dict[Any, list[str]] = {}
    for rid, place_id in Resource.service_area.through.objects.filter(resource_id__in=ids).values_list(
        "resource_id", "place_id"
    ):
        areas.setdefault(rid, []).append(place_id)
    ratings = {
        row["resource_id"]: (row["s"] or 0, row["n"])
        for row in Rating.objects.filter(resource_id__in=ids)
        .order_by()
        .values("resource_id")
        .annotate(s=Sum("score"), n=Count("pk"))
    }
    matched = dict(
        Need.objects.filter(status=NeedStatus.MATCHED, resource__provider_id__in=pids)
        .exclude(pk=need.pk)
        .order_by()
        .values_list("resource__provider_id")
        .annotate(n=Count("pk"))
    )
    now = timezone.now()
    recent = dict(
        Resource.objects.filter(
            provider_id__in=pids,
            activities__starts_at__gte=now - datetime.timedelta(days=matching.RECENT_DAYS),
            activities__starts_at__lte=now,
        )
        .order_by()
        .values_list("provider_id")
        .annotate(n=Count("activities", distinct=True))
    )
    rows = []
    for r in resources:
        rating_sum, rating_count = ratings.get(r.pk, (0, 0))
        facts = matching.CandidateFacts(
            resource_id=r.pk,
            name=r.name,
            kind=r.kind,
            provider_id=r.provider_id,
            provider_name=r.provider.name,
            active=r.active and r.provider.active,
            available_from=r.available_from,
            available_until=r.available_until,
            area_codes=tuple(sorted(areas.get(r.pk, ()))),
            rating_sum=int(rating_sum),
            rating_count=int(rating_count),
            provider_matched=int(matched.get(r.provider_id, 0)),
            provider_recent=int(recent.get(r.provider_id, 0)),
        )
        rows.append((r, facts))
    return rows


def candidate_facts(*, need: Need, resource_ids: list[Any] | None = None) -> list[matching.CandidateFacts]:
    """Candidate resources for the need as plain rows — the pool (see ``_pool``) or the given resources — with their
    service areas, ratings and their providers' load (matched needs other than this one, activities in the last 30
    days). Five queries, whatever the number of candidates."""
    return [facts for _resource, facts in _candidates(need=need, resource_ids=resource_ids)]


def kind_labels() -> dict[str, str]:
    return {value: str(label) for value, label in ResourceKind.choices}


@dataclass(frozen=True)
class Candidate:
    """A ranked candidate with its resource (and provider) at hand for the page."""

    resource: Resource
    ranked: matching.Ranked

    @property
    def score(self) -> float:
        return self.ranked.score

    @property
    def reasons(self) -> tuple[matching.Reason, ...]:
        return self.ranked.reasons


def need_candidates(*, user: Any, need: Need, limit: int = CANDIDATE_LIMIT) -> list[Candidate]:
    """The best candidate resources for a need, ranked with reasons (see ``gongzhi.resources.matching``), for staff
    who may match it; empty for anyone else. Five queries whatever the number of candidates."""
    if not user.has_perm("resources.match_need", need):
        return []
    pairs = _candidates(need=need)
    by_id = {r.pk: r for r, _facts in pairs}
    ranked = matching.rank(need_facts(need), [facts for _r, facts in pairs], kind_labels())[:limit]
    return [Candidate(resource=by_id[x.resource_id], ranked=x) for x in ranked]


def match_explained(*, need: Need, resource: Resource) -> matching.Ranked:
    """How the ranking judges this one resource for the need (the reasons stored with a match)."""
    rows = candidate_facts(need=need, resource_ids=[resource.pk])
    if not rows:
        raise NotFound(_("找不到该资源"))
    return matching.score(need_facts(need), rows[0], kind_labels())
