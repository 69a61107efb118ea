"""Reads of providers, resources, pairings and deliveries. Each takes the acting user; lists are a constant number of
queries whatever their length.

Who sees what:

- Staff (admin, street staff, community worker) see the providers registered on a place their grants cover, the
  providers with no place (imported), and the providers that serve their area: a resource whose service area lies in
  their subtree or is one of their places' ancestors (a resource serving a street serves its communities), or a pairing
  with such a place. They see all of a visible provider's resources and pairings.
- A resource partner (a ``Provider.members`` account) sees their own providers.
- Anyone else sees none.

Managing (editing, adding resources, pairing, recording delivery) is decided by the predicates in ``rules.py``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import NeedStatus, Pairing, PairingDelivery, Provider, Resource
from ..rules import provider_ids


def _area_q(field: str, prefixes: list[str]) -> Q:
    """``field`` (a place code column) lies under one of the prefixes or is an ancestor of one of their places."""
    q = Q(pk__in=[])
    ancestors: set[str] = set()
    for p in prefixes:
        q |= Q(**{f"{field}__startswith": p})
        ancestors.update(codes.ancestor_codes(p.ljust(12, "0")))
    if ancestors:
        q |= Q(**{f"{field}__in": sorted(ancestors)})
    return q


def _serving_provider_ids(prefixes: list[str]) -> Q:
    """Providers with a resource serving, or a pairing with, a place in (or above) these prefixes."""
    by_resource = Resource.objects.filter(_area_q("service_area__code", prefixes)).values("provider_id")
    by_pairing = Pairing.objects.filter(_area_q("place__code", prefixes)).values("provider_id")
    return Q(pk__in=by_resource) | Q(pk__in=by_pairing)


def visible_provider_q(user: Any) -> Q | None:
    """The filter on Provider for what the user may see; None means everything (superuser)."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    allowed = access.prefixes(user, access.STAFF_ROLES)
    if allowed is None:
        return None
    q = Q(pk__in=sorted(provider_ids(user), key=str))
    if allowed:
        registered = Q(place__isnull=True)
        for p in allowed:
            registered |= Q(place__code__startswith=p)
        q |= registered | _serving_provider_ids(allowed)
    return q


def _count(model: Any, field: str, **filters: Any) -> Coalesce:
    rows = (
        model.objects.filter(**{field: OuterRef("pk")}, **filters)
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def providers_visible(
    *,
    user: Any,
    place: Place | None = None,
    kind: str = "",
    area: Place | None = None,
    active: bool | None = None,
    search: str = "",
) -> QuerySet[Provider]:
    """Providers the user may see, with their resource and pairing counts. ``place`` narrows to the providers
    registered in its subtree or serving it; ``area`` to those with a resource serving (or a pairing with) that place,
    its subtree or its ancestors. One query."""
    q = visible_provider_q(user)
    qs = Provider.objects.all() if q is None else Provider.objects.filter(q)
    if place is not None:
        qs = qs.filter(Q(place__code__startswith=place.prefix) | _serving_provider_ids([place.prefix]))
    if area is not None:
        qs = qs.filter(_serving_provider_ids([area.prefix]))
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(active=active)
    search = search.strip()
    if search:
        qs = qs.filter(Q(name__contains=search) | Q(ref=search))
    return (
        qs.select_related("place")
        .annotate(
            resource_count=_count(Resource, "provider", active=True),
            pairing_count=_count(Pairing, "provider"),
        )
        .order_by("name", "ref")
    )


def provider_get(*, user: Any, provider_id: Any) -> Provider:
    """A provider the user may see; any other does not exist for them."""
    try:
        provider = providers_visible(user=user).filter(pk=provider_id).first()
    except (ValidationError, ValueError, TypeError):
        provider = None
    if provider is None:
        raise NotFound(_("找不到该资源方"))
    return provider


def partner_providers(*, user: Any) -> QuerySet[Provider]:
    """The providers the user speaks for as a partner account (their own, whatever their staff roles)."""
    ids = provider_ids(user)
    return (
        Provider.objects.filter(pk__in=sorted(ids, key=str))
        .select_related("place")
        .annotate(
            resource_count=_count(Resource, "provider", active=True),
            pairing_count=_count(Pairing, "provider"),
        )
        .order_by("name")
    )


def provider_members(*, user: Any, provider: Provider) -> list[Any]:
    """The partner accounts of a provider, for whoever may manage them (staff covering it); else empty."""
    if not user.has_perm("resources.change_provider", provider):
        return []
    return list(provider.members.order_by("phone").only("id", "phone", "display_name", "last_login"))


# --- resources --------------------------------------------------------------------------------------------------


def resources_visible(
    *,
    user: Any,
    place: Place | None = None,
    kind: str = "",
    area: Place | None = None,
    active: bool | None = None,
    provider: Provider | None = None,
    search: str = "",
) -> QuerySet[Resource]:
    """Resources of the providers the user may see, with their provider and service area (two queries when
    evaluated). ``place``: resources of providers registered in its subtree, or serving it; ``area``: resources
    serving that place, its subtree or its ancestors."""
    q = visible_provider_q(user)
    qs = Resource.objects.all() if q is None else Resource.objects.filter(provider__in=Provider.objects.filter(q))
    if place is not None:
        serving = Resource.objects.filter(_area_q("service_area__code", [place.prefix])).values("pk")
        qs = qs.filter(Q(provider__place__code__startswith=place.prefix) | Q(pk__in=serving))
    if area is not None:
        qs = qs.filter(pk__in=Resource.objects.filter(_area_q("service_area__code", [area.prefix])).values("pk"))
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(active=active)
    if provider is not None:
        qs = qs.filter(provider=provider)
    search = search.strip()
    if search:
        qs = qs.filter(Q(name__contains=search) | Q(ref=search) | Q(provider__name__contains=search))
    return (
        qs.select_related("provider", "provider__place")
        .prefetch_related(Prefetch("service_area", queryset=Place.objects.order_by("code")))
        .order_by("provider__name", "name", "ref")
    )


def resource_get(*, user: Any, resource_id: Any) -> Resource:
    """A resource the user may see; any other does not exist for them."""
    try:
        resource = resources_visible(user=user).filter(pk=resource_id).first()
    except (ValidationError, ValueError, TypeError):
        resource = None
    if resource is None:
        raise NotFound(_("找不到该资源"))
    return resource


# --- pairings and deliveries ------------------------------------------------------------------------------------


def pairings_visible(
    *,
    user: Any,
    place: Place | None = None,
    provider: Provider | None = None,
    current_on: datetime.date | None = None,
) -> QuerySet[Pairing]:
    """Pairings the user may see (staff covering the paired place, or of a provider they may see), with how many
    deliveries each recorded and their total quantity. ``place``: pairings with a place in its subtree, or with its
    street when it is a community; ``current_on``: running on that day. One query."""
    if not getattr(user, "is_authenticated", False):
        return Pairing.objects.none()
    q = visible_provider_q(user)
    if q is None:
        qs = Pairing.objects.all()
    else:
        staff = access.prefixes(user, access.STAFF_ROLES) or []
        by_place = _area_q("place__code", staff) if staff else Q(pk__in=[])
        qs = Pairing.objects.filter(by_place | Q(provider__in=Provider.objects.filter(q)))
    if place is not None:
        qs = qs.filter(_area_q("place__code", [place.prefix]))
    if provider is not None:
        qs = qs.filter(provider=provider)
    if current_on is not None:
        qs = qs.filter(Q(starts_on__lte=current_on), Q(ends_on__isnull=True) | Q(ends_on__gte=current_on))
    delivered = (
        PairingDelivery.objects.filter(pairing=OuterRef("pk"))
        .order_by()
        .values("pairing")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return (
        qs.select_related("provider", "place")
        .annotate(
            deliveries_count=_count(PairingDelivery, "pairing"),
            delivered_quantity=Subquery(delivered, output_field=IntegerField()),
        )
        .order_by("place_id", "-starts_on", "provider__name")
    )


def pairing_get(*, user: Any, pairing_id: Any) -> Pairing:
    try:
        pairing = pairings_visible(user=user).filter(pk=pairing_id).first()
    except (ValidationError, ValueError, TypeError):
        pairing = None
    if pairing is None:
        raise NotFound(_("找不到该结对"))
    return pairing


def deliveries_of_pairing(*, user: Any, pairing: Pairing) -> QuerySet[PairingDelivery]:
    """What a pairing delivered, newest first (the caller got the pairing through ``pairing_get``)."""
    if not getattr(user, "is_authenticated", False):
        return PairingDelivery.objects.none()
    return PairingDelivery.objects.filter(pairing=pairing).select_related("recorded_by").order_by("-delivered_on")


def deliveries_of_provider(*, user: Any, provider: Provider, limit: int = 50) -> list[PairingDelivery]:
    """The latest deliveries of all of a provider's pairings (the caller got the provider through ``provider_get``)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        PairingDelivery.objects.filter(pairing__provider=provider)
        .select_related("pairing__place")
        .order_by("-delivered_on", "-created_at")[:limit]
    )


# --- where a provider reached -----------------------------------------------------------------------------------


@dataclass
class Reach:
    place: Place
    activities: int
    needs: int


def provider_reach(*, provider: Provider) -> list[Reach]:
    """The streets and communities a provider reached: where activities that used its resources were held, and the
    communities whose needs its resources fulfilled (read through the reverse relations of ``Activity.resources`` and
    ``Need.resource``, without importing activities). Two queries. The caller got the provider through
    ``provider_get``; the full network view is ``gongzhi.activities.resource_use``."""
    by_activity = (
        Place.objects.filter(activities__resources__provider=provider)
        .annotate(n=Count("activities", distinct=True))
        .order_by("code")
    )
    by_need = (
        Place.objects.filter(needs__resource__provider=provider, needs__status=NeedStatus.FULFILLED)
        .annotate(n=Count("needs", distinct=True))
        .order_by("code")
    )
    out: dict[str, Reach] = {}
    for p in by_activity:
        out[p.code] = Reach(place=p, activities=p.n, needs=0)  # type: ignore[attr-defined]
    for p in by_need:
        out.setdefault(p.code, Reach(place=p, activities=0, needs=0)).needs = p.n  # type: ignore[attr-defined]
    return sorted(out.values(), key=lambda r: (-(r.activities + r.needs), r.place.code))
