"""Reads of people. Every selector takes the acting user, so permission filtering cannot be forgotten."""

from __future__ import annotations

import contextlib
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.places.models import Place

from . import access, protection
from .models import Resident, RoleGrant


def residents_visible(
    *,
    user: Any,
    place: Place | None = None,
    search: str = "",
    household: str = "",
    include_left: bool = False,
) -> QuerySet[Resident]:
    """The residents the user may see, optionally under a place. Constant queries: one, whatever the count."""
    qs = Resident.objects.filter(access.prefix_q("community__code", user, access.RESIDENT_ROLES))
    if place is not None:
        qs = qs.filter(community__code__startswith=place.prefix)
    if household:
        qs = qs.filter(household=household)
    if not include_left:
        qs = qs.filter(left_on__isnull=True)
    search = search.strip()
    if search:
        q = Q(ref=search) | Q(name__startswith=search)
        digits = search.replace(" ", "")
        if digits.isdigit() and len(digits) == 11:
            q |= Q(phone=digits)
        with contextlib.suppress(protection.PersonalDataError):
            q |= Q(id_number_hash=protection.lookup_hash(protection.normalise_id_number(search)))
        qs = qs.filter(q)
    return qs.select_related("community").order_by("community_id", "ref")


def resident_get(*, user: Any, resident_id: Any) -> Resident:
    """A resident the user may see; a resident they may not see does not exist for them."""
    try:
        resident = Resident.objects.select_related("community", "user").get(pk=resident_id)
    except (Resident.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("找不到该居民")) from exc
    except Exception as exc:  # invalid UUID text
        from django.core.exceptions import ValidationError

        if isinstance(exc, ValidationError):
            raise NotFound(_("找不到该居民")) from exc
        raise
    if not user.has_perm("people.view_resident", resident):
        raise NotFound(_("找不到该居民"))
    return resident


def resident_of_user(*, user: Any) -> Resident | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Resident.objects.select_related("community", "community__parent").filter(user=user).first()


def resident_of_user_for_write(*, user: Any) -> Resident | None:
    """The user's own resident record, lean: for writes that only need its key (a QR check-in). One query, no joins,
    no ORDER BY (``Resident.user`` is one-to-one), only the key, the account and the community loaded."""
    if not getattr(user, "is_authenticated", False):
        return None
    return next(iter(Resident.objects.filter(user=user).order_by().only("id", "user_id", "community_id")[:1]), None)


def places_switchable(*, user: Any) -> list[Place]:
    """The places a user may switch to: the places of their grants (their subtrees are reached from there)."""
    if getattr(user, "is_superuser", False):
        return list(Place.objects.filter(level__in=["province", "city", "district"]).order_by("code")[:200])
    codes_ = sorted({g.place_code for g in access.user_grants(user)})
    return list(Place.objects.filter(code__in=codes_).order_by("code"))


def staff_places_switchable(*, user: Any) -> list[Place]:
    if getattr(user, "is_superuser", False):
        return places_switchable(user=user)
    codes_ = sorted({g.place_code for g in access.user_grants(user) if g.role in access.STAFF_ROLES})
    return list(Place.objects.filter(code__in=codes_).order_by("code"))


def grants_visible(*, user: Any, place: Place) -> QuerySet[RoleGrant]:
    """Role grants on the place's subtree and its ancestors, for someone who works on the place."""
    from gongzhi.places import codes

    if not user.has_perm("people.view_rolegrant", place):
        return RoleGrant.objects.none()
    return (
        RoleGrant.objects.filter(
            Q(place__code__startswith=place.prefix) | Q(place_id__in=codes.ancestor_codes(place.code))
        )
        .select_related("user", "place")
        .order_by("place_id", "role", "user__phone")
    )


def places_visible(*, user: Any, level: str = "", parent: str = "", search: str = "") -> QuerySet[Place]:
    """The places the user covers with any role (each grant's place and its subtree). One query."""
    qs = Place.objects.filter(access.prefix_q("code", user))
    if level:
        qs = qs.filter(level=level)
    if parent:
        qs = qs.filter(parent_id=parent)
    search = search.strip()
    if search:
        qs = qs.filter(name__contains=search)
    return qs.order_by("code")


def grant_get(*, user: Any, grant_id: Any) -> RoleGrant:
    """A role grant on a place the user works on (people.view_rolegrant); any other grant is not found."""
    grant = RoleGrant.objects.select_related("user", "place").filter(pk=grant_id).first()
    if grant is None or not user.has_perm("people.view_rolegrant", grant):
        raise NotFound(_("找不到该角色授权"))
    return grant
