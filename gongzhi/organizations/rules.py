"""Who may see and manage organisations (django-rules predicates, ``organizations.<verb>_<model>``).

- Staff (admin, street staff, community worker) whose grant covers the organisation's place see and manage it.
- A leader (current membership with role leader) manages their own organisation's members and records its meetings.
- A resident sees the active organisations of their own community and of its street ("near me"), and may join them.

育 cultivate (``organizations.cultivation``):

- Staff covering a place keep its admission standard (准入标准), assessment schemes and rounds; staff covering an
  organisation check its admission, record support and see everything about it.
- An organisation's leader sees its admission checklist, the support it received and its round entries, keeps its
  supply list (供给清单) and replies to a last-place warning.
- An assessor of a round sees the round's entries and scores them; a conflicted assessor (one who leads or belongs
  to the organisation) is refused by the scoring service with its own message, not by a permission.
"""

from __future__ import annotations

from typing import Any

import rules

from gongzhi.people import access
from gongzhi.people.rules import covers_as_staff

from .models import AssessmentRound, MembershipRole, Organization, OrganizationStatus, RoundEntry


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


# --- 育 cultivate -------------------------------------------------------------------------------------------------


def assessor_round_ids(user: Any) -> frozenset[Any]:
    """The ids of the rounds the user is an assessor of (read once per request and cached on the user)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_gongzhi_assessor_rounds", None)
    if cached is None:
        cached = frozenset(
            AssessmentRound.assessors.through.objects.filter(user_id=user.pk).values_list(
                "assessmentround_id", flat=True
            )
        )
        user._gongzhi_assessor_rounds = cached
    return cached


def forget_assessor(user: Any) -> None:
    if hasattr(user, "_gongzhi_assessor_rounds"):
        del user._gongzhi_assessor_rounds


@rules.predicate
def is_round_assessor(user: Any, obj: Any) -> bool:
    """An assessor of the round (``obj`` a round or one of its entries)."""
    round_id = obj.pk if isinstance(obj, AssessmentRound) else getattr(obj, "round_id", None)
    return round_id is not None and round_id in assessor_round_ids(user)


@rules.predicate
def covers_round_entry(user: Any, entry: Any) -> bool:
    """Staff covering the place of the entry's round."""
    if not isinstance(entry, RoundEntry):
        return False
    return access.has_role_covering(user, entry.round.place_id, access.STAFF_ROLES)


@rules.predicate
def leads_entry(user: Any, entry: Any) -> bool:
    return isinstance(entry, RoundEntry) and entry.organization_id in led_organization_ids(user)


# Admission standard of a place (object: the Place); checking one organisation against it (object: the Organization).
rules.add_perm("organizations.manage_admission", covers_as_staff)
rules.add_perm("organizations.check_admission", covers_as_staff)
# An organisation's cultivation record: admission checklist, support received, supply list, round entries.
rules.add_perm("organizations.view_cultivation", covers_as_staff | leads)
rules.add_perm("organizations.record_support", covers_as_staff)
rules.add_perm("organizations.manage_supply", covers_as_staff | leads)
# Schemes and rounds (object: the Place, the AssessmentScheme or the AssessmentRound — all have place_id).
rules.add_perm("organizations.manage_assessment", covers_as_staff)
rules.add_perm("organizations.view_assessmentround", covers_as_staff | is_round_assessor)
# Scoring an entry (object: the RoundEntry): its round's assessors; conflicts are refused by the service.
rules.add_perm("organizations.score_roundentry", is_round_assessor)
rules.add_perm("organizations.view_roundentry", covers_round_entry | is_round_assessor | leads_entry)
# Replying to a last-place warning (object: the RoundEntry): the organisation's leader.
rules.add_perm("organizations.reply_roundentry", leads_entry)
