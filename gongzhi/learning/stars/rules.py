"""Permissions of star ratings (django-rules), loaded by gongzhi/learning/rules.py.

- Staff (``access.STAFF_ROLES``) whose role covers a standard's place manage it: define and declare the standard,
  compute the proposals, review them and publish (``learning.manage_starstandard``, ``learning.review_starrating``).
- Staff working anywhere inside the standard's place also see it and score their own residents on the staff
  assessment criteria (``learning.view_starstandard``, ``learning.assess_starstandard``): a community worker assesses
  the residents of their community for the street's standard. Which residents and which criteria is checked by the
  service (``star_assessment_submit``).
- A member of the organisation a standard is limited to scores fellow members on its peer criteria
  (``learning.assess_starstandard``; never themselves — the service refuses).
- A resident sees their own rating once it is published (``learning.view_starrating``).
"""

from __future__ import annotations

from typing import Any

import rules

from gongzhi.people import access
from gongzhi.places import codes

from ..models import StarRating, StarRatingStatus, StarStandard, StarStandardStatus


def _standard_place(obj: Any) -> str | None:
    if obj is None:
        return None
    if isinstance(obj, StarStandard):
        return obj.place_id
    if isinstance(obj, StarRating):
        return obj.standard.place_id
    code = getattr(obj, "code", None)  # a Place
    return code if isinstance(code, str) else None


@rules.predicate
def covers_standard_place(user: Any, obj: Any) -> bool:
    code = _standard_place(obj)
    return code is not None and access.has_role_covering(user, code, access.STAFF_ROLES)


@rules.predicate
def works_inside_standard_place(user: Any, obj: Any) -> bool:
    """Staff with a grant on a place inside the standard's subtree (the standard rates their residents)."""
    code = _standard_place(obj)
    if code is None:
        return False
    prefix = codes.prefix_of(code)
    return any(g.place_code.startswith(prefix) for g in access.user_grants(user) if g.role in access.STAFF_ROLES)


def member_resident_id(user: Any, organization_ref: str) -> Any:
    """The user's resident id when the resident is a current member of the organisation ``organization_ref``."""
    if not organization_ref or not getattr(user, "is_authenticated", False):
        return None
    cache: dict[str, Any] = user.__dict__.setdefault("_gongzhi_star_member", {})
    if organization_ref not in cache:
        from gongzhi.organizations.models import Membership

        cache[organization_ref] = (
            Membership.objects.filter(organization__ref=organization_ref, resident__user=user, left_on__isnull=True)
            .values_list("resident_id", flat=True)
            .first()
        )
    return cache[organization_ref]


@rules.predicate
def is_peer_assessor(user: Any, obj: Any) -> bool:
    """A current member of the organisation an active standard with peer criteria is limited to."""
    if not isinstance(obj, StarStandard) or obj.status != StarStandardStatus.ACTIVE or not obj.organization_ref:
        return False
    if not any(c.get("source") == "assessment" and c.get("by") in ("peer", "both") for c in obj.criteria or []):
        return False
    return member_resident_id(user, obj.organization_ref) is not None


@rules.predicate
def owns_published_rating(user: Any, obj: Any) -> bool:
    if not isinstance(obj, StarRating) or obj.status != StarRatingStatus.PUBLISHED:
        return False
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(obj.resident.user_id is not None and obj.resident.user_id == user.pk)


rules.add_perm("learning.manage_starstandard", covers_standard_place)
rules.add_perm("learning.view_starstandard", covers_standard_place | works_inside_standard_place)
rules.add_perm("learning.assess_starstandard", covers_standard_place | works_inside_standard_place | is_peer_assessor)
rules.add_perm("learning.review_starrating", covers_standard_place)
rules.add_perm("learning.view_starrating", covers_standard_place | owns_published_rating)
