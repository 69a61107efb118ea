"""Permissions of credential programmes and certificates (django-rules), loaded by gongzhi/learning/rules.py.

- Staff (``access.STAFF_ROLES``) whose role covers a programme's place itself manage the programme and its levels,
  issue its certificates, and revoke or renew them (``learning.manage_credentialprogramme``,
  ``learning.issue_certificate``, ``learning.manage_certificate``). A community worker inside a street does not manage
  the street's programme.
- Staff working anywhere in a programme's subtree see it (their residents can earn it), and so do staff above it.
- A resident sees the active programmes of their place chain (community, street, district, city, province) and their
  own certificates (``learning.view_certificate``).
"""

from __future__ import annotations

from typing import Any

import rules

from gongzhi.people import access
from gongzhi.places import codes

from ..models import Certificate, CredentialLevel, CredentialProgramme, ProgrammeStatus


def _programme_place(obj: Any) -> str | None:
    """The place code that governs ``obj``: a programme's, a level's or a certificate's programme place, or a place."""
    if obj is None:
        return None
    if isinstance(obj, CredentialProgramme):
        return obj.place_id
    if isinstance(obj, CredentialLevel):
        return obj.programme.place_id
    if isinstance(obj, Certificate):
        return obj.programme.place_id
    code = getattr(obj, "code", None)  # a Place
    return code if isinstance(code, str) else None


@rules.predicate
def covers_programme_place(user: Any, obj: Any) -> bool:
    code = _programme_place(obj)
    return code is not None and access.has_role_covering(user, code, access.STAFF_ROLES)


@rules.predicate
def works_inside_programme_place(user: Any, obj: Any) -> bool:
    """Staff with a grant on a place inside the programme's subtree (their residents can earn it)."""
    code = _programme_place(obj)
    if code is None:
        return False
    prefix = codes.prefix_of(code)
    return any(g.place_code.startswith(prefix) for g in access.user_grants(user) if g.role in access.STAFF_ROLES)


@rules.predicate
def resident_in_programme_chain(user: Any, obj: Any) -> bool:
    """A resident whose community lies in the subtree of an active programme's place."""
    if isinstance(obj, CredentialLevel):
        obj = obj.programme
    if not isinstance(obj, CredentialProgramme) or obj.status != ProgrammeStatus.ACTIVE:
        return False
    if not getattr(user, "is_authenticated", False) or not access.has_resident_profile(user):
        return False
    from gongzhi.people.selectors import resident_of_user

    resident = resident_of_user(user=user)
    return resident is not None and codes.covers(obj.place_id, resident.community_id)


@rules.predicate
def holds_certificate(user: Any, obj: Any) -> bool:
    if not isinstance(obj, Certificate) or not getattr(user, "is_authenticated", False):
        return False
    return bool(obj.resident.user_id is not None and obj.resident.user_id == user.pk)


rules.add_perm("learning.manage_credentialprogramme", covers_programme_place)
rules.add_perm(
    "learning.view_credentialprogramme",
    covers_programme_place | works_inside_programme_place | resident_in_programme_chain,
)
rules.add_perm("learning.issue_certificate", covers_programme_place)
rules.add_perm("learning.manage_certificate", covers_programme_place)
rules.add_perm("learning.view_certificate", covers_programme_place | holds_certificate)
