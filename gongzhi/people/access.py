"""Who holds which role where. A grant covers its place's subtree; the grants of a user are read once per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from gongzhi.places import codes

from .models import Role

# Roles that keep or read the resident roll of the places they cover.
RESIDENT_ROLES = frozenset({Role.ADMIN, Role.STREET_STAFF, Role.COMMUNITY_WORKER})
# Roles that work at a desk on a place (staff home).
STAFF_ROLES = frozenset({Role.ADMIN, Role.STREET_STAFF, Role.COMMUNITY_WORKER})
# The roles street staff may grant inside their street; admins may grant any role inside their place.
STREET_GRANTABLE = frozenset({Role.COMMUNITY_WORKER, Role.TEACHER, Role.ORG_LEADER, Role.RESOURCE_PARTNER})


@dataclass(frozen=True)
class GrantView:
    role: str
    place_code: str
    prefix: str


def user_grants(user: Any) -> list[GrantView]:
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_gongzhi_grants", None)
    if cached is None:
        rows = user.grants.values_list("role", "place_id")
        cached = [GrantView(role, code, codes.prefix_of(code)) for role, code in rows]
        user._gongzhi_grants = cached
    return cached


def forget_grants(user: Any) -> None:
    if hasattr(user, "_gongzhi_grants"):
        del user._gongzhi_grants


def has_role_covering(user: Any, code: str, roles: frozenset[str] | None = None) -> bool:
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    return any(code.startswith(g.prefix) for g in user_grants(user) if roles is None or g.role in roles)


def prefixes(user: Any, roles: frozenset[str] | None = None) -> list[str] | None:
    """The code prefixes the user covers with these roles; None means everything (superuser)."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return None
    found = sorted({g.prefix for g in user_grants(user) if roles is None or g.role in roles})
    # Drop prefixes already covered by a shorter one.
    return [p for p in found if not any(p != q and p.startswith(q) for q in found)]


def prefix_q(field: str, user: Any, roles: frozenset[str] | None = None) -> Q:
    """A filter on a 12-digit code column (a foreign key to Place) limited to what the user covers."""
    allowed = prefixes(user, roles)
    if allowed is None:
        return Q()
    if not allowed:
        return Q(pk__in=[])
    q = Q()
    for p in allowed:
        q |= Q(**{f"{field}__startswith": p})
    return q


def is_staff(user: Any) -> bool:
    """Whether the user works at a desk on some place (or is a superuser)."""
    allowed = prefixes(user, STAFF_ROLES)
    return allowed is None or bool(allowed)


def has_resident_profile(user: Any) -> bool:
    cached = getattr(user, "_gongzhi_has_resident", None)
    if cached is None:
        from .models import Resident

        cached = Resident.objects.filter(user_id=user.pk).exists()
        user._gongzhi_has_resident = cached
    return cached
