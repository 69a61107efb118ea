"""Who may see and manage 联 link records (django-rules predicates, ``resources.<verb>_<model>``).

- Staff (admin, street staff, community worker) whose grant covers the record's place see and manage it: a provider
  by the place that registered it (a provider with no place — imported — is visible to every staff member and
  managed by admins), a need by its community, a space by its place, a survey by the place that sent it.
- A resource partner is a user listed in ``Provider.members``: they see and manage their own provider's resources,
  see the needs matched to them and record their pairings' delivery.
- A resident reports needs in their own community, sees their own needs, answers surveys sent to their community and
  rates a need they came to see fulfilled (the service checks the attendance).
"""

from __future__ import annotations

from typing import Any

import rules

from gongzhi.organizations.rules import _resident_community
from gongzhi.people import access
from gongzhi.people.models import Role
from gongzhi.people.rules import covers_as_staff

from .models import LearningSpace, Need, NeedsSurvey, Pairing, Provider, Resource


def provider_ids(user: Any) -> frozenset[Any]:
    """The providers whose accounts include this user (read once per request and cached on the user)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_gongzhi_provider_ids", None)
    if cached is None:
        cached = frozenset(
            Provider.members.through.objects.filter(user_id=user.pk).values_list("provider_id", flat=True)
        )
        user._gongzhi_provider_ids = cached
    return cached


def _provider_of(obj: Any) -> Any:
    if isinstance(obj, Provider):
        return obj
    if isinstance(obj, Resource | Pairing):
        return obj.provider
    if isinstance(obj, LearningSpace) and obj.resource is not None:
        return obj.resource.provider
    return None


@rules.predicate
def staff_covers_provider(user: Any, obj: Any) -> bool:
    provider = _provider_of(obj)
    if provider is None:
        return False
    if provider.place_id is None:
        return access.is_staff(user)
    return access.has_role_covering(user, provider.place_id, access.STAFF_ROLES)


@rules.predicate
def manages_unplaced_provider(user: Any, obj: Any) -> bool:
    provider = _provider_of(obj)
    if provider is None:
        return False
    if provider.place_id is None:
        admin_prefixes = access.prefixes(user, frozenset({Role.ADMIN}))
        return admin_prefixes is None or bool(admin_prefixes)
    return access.has_role_covering(user, provider.place_id, access.STAFF_ROLES)


@rules.predicate
def is_provider_member(user: Any, obj: Any) -> bool:
    provider = _provider_of(obj)
    return provider is not None and provider.pk in provider_ids(user)


@rules.predicate
def is_partner(user: Any) -> bool:
    return bool(provider_ids(user))


@rules.predicate
def staff_covers_need(user: Any, need: Any) -> bool:
    return isinstance(need, Need) and access.has_role_covering(user, need.community_id, access.STAFF_ROLES)


@rules.predicate
def raised_need(user: Any, need: Any) -> bool:
    if not isinstance(need, Need) or need.raised_by is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(need.raised_by.user_id == user.pk)


@rules.predicate
def matched_to_my_resource(user: Any, need: Any) -> bool:
    return isinstance(need, Need) and need.resource is not None and need.resource.provider_id in provider_ids(user)


@rules.predicate
def need_of_my_community(user: Any, need: Any) -> bool:
    return isinstance(need, Need) and _resident_community(user) == need.community_id


@rules.predicate
def resident_of_place(user: Any, place: Any) -> bool:
    """The object is the resident's own community (reporting a need there)."""
    code = getattr(place, "code", None)
    return code is not None and _resident_community(user) == code


@rules.predicate
def staff_covers_survey(user: Any, survey: Any) -> bool:
    return isinstance(survey, NeedsSurvey) and access.has_role_covering(user, survey.place_id, access.STAFF_ROLES)


# Providers, resources and pairings.
rules.add_perm("resources.add_provider", covers_as_staff)  # object: the Place it is registered on
rules.add_perm("resources.view_provider", staff_covers_provider | is_provider_member)
rules.add_perm("resources.change_provider", manages_unplaced_provider | is_provider_member)
rules.add_perm("resources.add_resource", manages_unplaced_provider | is_provider_member)  # object: the Provider
rules.add_perm("resources.change_resource", manages_unplaced_provider | is_provider_member)
rules.add_perm("resources.add_pairing", covers_as_staff)  # object: the Place paired with
rules.add_perm("resources.change_pairing", covers_as_staff)  # object: the Pairing (its place)
rules.add_perm("resources.record_delivery", covers_as_staff | is_provider_member)  # object: the Pairing
# Needs: staff of the community; the resident who raised it sees it; residents of the community see its needs
# (without who raised them); the partner whose resource was matched sees it.
rules.add_perm("resources.add_need", covers_as_staff | resident_of_place)  # object: the community Place
rules.add_perm("resources.view_need", staff_covers_need | raised_need | need_of_my_community | matched_to_my_resource)
rules.add_perm("resources.match_need", staff_covers_need)
rules.add_perm("resources.change_need", staff_covers_need)
# Learning spaces and bookings.
rules.add_perm("resources.add_learningspace", covers_as_staff)  # object: the Place
rules.add_perm("resources.change_learningspace", covers_as_staff)
rules.add_perm("resources.book_learningspace", covers_as_staff | is_provider_member)
# Needs surveys.
rules.add_perm("resources.add_needssurvey", covers_as_staff)  # object: the Place sending it
rules.add_perm("resources.change_needssurvey", staff_covers_survey)
rules.add_perm("resources.view_needssurvey", staff_covers_survey)
