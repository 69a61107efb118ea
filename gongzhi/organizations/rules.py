"""Who may see and manage organisations (django-rules predicates, ``organizations.<verb>_<model>``).

- Staff (admin, street staff, community worker) whose grant covers the organisation's place see and manage it.
- A leader (current membership with role leader) manages their own organisation's members and records its meetings.
- A resident sees the active organisations of their own community and of its street ("near me"), and may join them.
"""

from __future__ import annotations

from typing import Any

import rules

from gongzhi.people import access
from gongzhi.people.rules import covers_as_staff

from .models import MembershipRole, Organization, OrganizationStatus


def led_organization_ids(user: Any) -> frozenset[Any]:
    """The ids of the organisations the user currently leads (read once per request and cached on the user)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_gongzhi_led_orgs", None)
    if cached is None:
        from .models import Membership

        cached = frozenset(
            Membership.objects.filter(
                resident__user_id=user.pk, role=MembershipRole.LEADER, left_on__isnull=True
            ).values_list("organization_id", flat=True)
        )
        user._gongzhi_led_orgs = cached
    return cached


def forget_led(user: Any) -> None:
    if hasattr(user, "_gongzhi_led_orgs"):
        del user._gongzhi_led_orgs


def is_organization_leader(user: Any, organization: Organization | None) -> bool:
    """Whether the user currently leads this organisation (through their resident profile)."""
    if organization is None or getattr(organization, "pk", None) is None:
        return False
    return organization.pk in led_organization_ids(user)


def _resident_community(user: Any) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_gongzhi_resident_community", "")
    if cached == "":
        from gongzhi.people.models import Resident

        cached = Resident.objects.filter(user_id=user.pk).values_list("community_id", flat=True).first()
        user._gongzhi_resident_community = cached
    return cached


def near_codes(community_code: str) -> tuple[str, str]:
    """The places "near" a resident: their community and its street (the code with the community digits zeroed)."""
    return community_code, community_code[:9] + "000"


@rules.predicate
def leads(user: Any, organization: Any) -> bool:
    return isinstance(organization, Organization) and is_organization_leader(user, organization)


@rules.predicate
def is_near_active(user: Any, organization: Any) -> bool:
    """An active organisation of the resident's community or street."""
    if not isinstance(organization, Organization) or organization.status != OrganizationStatus.ACTIVE:
        return False
    community = _resident_community(user)
    return community is not None and organization.place_id in near_codes(community)


@rules.predicate
def is_staff_user(user: Any) -> bool:
    return access.is_staff(user)


# Staff who cover the organisation's place: see it, create, review proposals, change stage, dissolve.
rules.add_perm("organizations.view_organization", covers_as_staff | leads | is_near_active)
rules.add_perm("organizations.add_organization", covers_as_staff)  # object: the Place it is created on
rules.add_perm("organizations.change_organization", covers_as_staff)
rules.add_perm("organizations.review_organization", covers_as_staff)
# Members: staff covering the place, or the organisation's own leader.
rules.add_perm("organizations.view_membership", covers_as_staff | leads)
rules.add_perm("organizations.manage_membership", covers_as_staff | leads)
# Meetings of the organisation (activities of kind learning_meeting with organization=it).
rules.add_perm("organizations.record_meeting", covers_as_staff | leads)
# A resident joins an active organisation near them.
rules.add_perm("organizations.join_organization", is_near_active)
