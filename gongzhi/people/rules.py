"""Permissions as django-rules predicates over the place tree (``<app>.<verb>_<model>``)."""

from __future__ import annotations

import rules

from . import access
from .models import ROLE_LEVELS, Role


def _code(obj) -> str | None:
    if obj is None:
        return None
    for attr in ("community_id", "place_id", "code"):
        value = getattr(obj, attr, None)
        if isinstance(value, str):
            return value
    return None


@rules.predicate
def covers_for_residents(user, obj) -> bool:
    code = _code(obj)
    return code is not None and access.has_role_covering(user, code, access.RESIDENT_ROLES)


@rules.predicate
def covers_as_staff(user, obj) -> bool:
    code = _code(obj)
    return code is not None and access.has_role_covering(user, code, access.STAFF_ROLES)


@rules.predicate
def covers_any_role(user, obj) -> bool:
    code = _code(obj)
    return code is not None and access.has_role_covering(user, code)


@rules.predicate
def covers_as_admin(user, obj) -> bool:
    code = _code(obj)
    return code is not None and access.has_role_covering(user, code, frozenset({Role.ADMIN}))


@rules.predicate
def may_grant(user, grant) -> bool:
    """Admins grant any role inside their place (another admin only strictly below their own place); street staff
    grant the working roles inside their street."""
    if grant is None or not grant.place_id or grant.role not in ROLE_LEVELS:
        return False
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    admin_grants = [g for g in access.user_grants(user) if g.role == Role.ADMIN]
    if grant.role == Role.ADMIN:
        return any(grant.place_id.startswith(g.prefix) and grant.place_id != g.place_code for g in admin_grants)
    if any(grant.place_id.startswith(g.prefix) for g in admin_grants):
        return True
    return grant.role in access.STREET_GRANTABLE and access.has_role_covering(
        user, grant.place_id, frozenset({Role.STREET_STAFF})
    )


@rules.predicate
def is_own_resident(user, resident) -> bool:
    if resident is None or not getattr(user, "is_authenticated", False):
        return False
    owner = getattr(resident, "user_id", None)
    return owner is not None and owner == user.pk


rules.add_perm("places.view_place", covers_any_role)
rules.add_perm("places.manage_place", covers_as_staff)
rules.add_perm("people.view_resident", covers_for_residents | is_own_resident)
rules.add_perm("people.add_resident", covers_for_residents)
rules.add_perm("people.change_resident", covers_for_residents)
rules.add_perm("people.view_resident_personal", covers_for_residents | is_own_resident)
rules.add_perm("people.view_rolegrant", covers_as_staff)
rules.add_perm("people.add_rolegrant", may_grant)
rules.add_perm("people.delete_rolegrant", may_grant)
rules.add_perm("core.view_auditevent", covers_as_admin)
