"""Who may do what with activities and attendance.

- Staff roles (admin, street staff, community worker) covering an activity's place manage it and its roster.
- The teacher of a course session sees and marks the roster of their own sessions (``activity.course_session.teacher``,
  reached through learning's reverse accessor — activities does not import learning).
- The current leader of the organising organisation runs its meetings: QR screen, roster, paper sheet.
- A resident sees only their own attendance.
"""

from __future__ import annotations

from typing import Any

import rules
from django.core.exceptions import ObjectDoesNotExist

from gongzhi.organizations.rules import led_organization_ids
from gongzhi.people import access
from gongzhi.people.rules import covers_as_staff


@rules.predicate
def is_session_teacher(user: Any, activity: Any) -> bool:
    if activity is None or not getattr(user, "is_authenticated", False):
        return False
    try:
        teacher = activity.course_session.teacher
    except (ObjectDoesNotExist, AttributeError):
        return False
    return teacher is not None and teacher.user_id is not None and teacher.user_id == user.pk


@rules.predicate
def is_organizer_leader(user: Any, activity: Any) -> bool:
    if activity is None or not getattr(activity, "organization_id", None):
        return False
    return activity.organization_id in led_organization_ids(user)


@rules.predicate
def is_own_attendance(user: Any, attendance: Any) -> bool:
    if attendance is None or not getattr(user, "is_authenticated", False):
        return False
    return attendance.resident.user_id == user.pk


@rules.predicate
def may_mark_attendance_of(user: Any, attendance: Any) -> bool:
    return attendance is not None and (
        covers_as_staff(user, attendance.activity)
        or is_session_teacher(user, attendance.activity)
        or is_organizer_leader(user, attendance.activity)
    )


@rules.predicate
def may_run_activities(user: Any) -> bool:
    """Whether the activities pages are for this user at all: staff, a teacher / organisation leader role, or the
    current leader of an organisation."""
    if not getattr(user, "is_authenticated", False):
        return False
    if access.is_staff(user) or any(g.role in ("teacher", "org_leader") for g in access.user_grants(user)):
        return True
    return bool(led_organization_ids(user))


runs_activity = covers_as_staff | is_session_teacher | is_organizer_leader

rules.add_perm("activities.view_activity", runs_activity)
rules.add_perm("activities.add_activity", covers_as_staff)  # object: the place
rules.add_perm("activities.change_activity", covers_as_staff)
rules.add_perm("activities.mark_attendance", runs_activity)
rules.add_perm("activities.view_attendance", is_own_attendance | may_mark_attendance_of)
rules.add_perm("activities.use_activity_pages", may_run_activities)


# --- 育 volunteering: teams, events, sign-ups and the hours ledger ------------------------------------------------
#
# - Staff whose grant covers a volunteer team's place, and the team's current leaders (membership role leader), run
#   the team: create its events, see their sign-ups, record, confirm and correct its volunteers' hours.
# - Nobody confirms (or corrects a confirmed entry of) their own hours: ``confirm_volunteer_hours`` is refused to the
#   volunteer whatever their role; the services refuse it too.
# - A resident sees and signs up for the open volunteer events of their community and its street ("near me"), and of
#   the teams they belong to; they see only their own hours.


def led_volunteer_team_ids(user: Any) -> frozenset[Any]:
    """The volunteer teams the user currently leads. Free for someone who leads nothing (``led_organization_ids`` is
    read once per request anyway); one query, cached on the user, for someone who leads an organisation."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_gongzhi_led_teams", None)
    if cached is None:
        led = led_organization_ids(user)
        if not led:
            cached = frozenset()
        else:
            from gongzhi.organizations.models import Organization, OrganizationKind

            cached = frozenset(
                Organization.objects.filter(pk__in=led, kind=OrganizationKind.VOLUNTEER_TEAM).values_list(
                    "pk", flat=True
                )
            )
        user._gongzhi_led_teams = cached
    return cached


def resident_community_of(user: Any) -> str | None:
    """The community code of the user's resident profile (read once per request; shares organisations' cache)."""
    if not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_gongzhi_resident_community", "")
    if cached == "":
        from gongzhi.people.models import Resident

        cached = Resident.objects.filter(user_id=user.pk).values_list("community_id", flat=True).first()
        user._gongzhi_resident_community = cached
    return cached


def _is_team(organization: Any) -> bool:
    from gongzhi.organizations.models import Organization, OrganizationKind

    return isinstance(organization, Organization) and organization.kind == OrganizationKind.VOLUNTEER_TEAM


@rules.predicate
def manages_volunteer_team(user: Any, team: Any) -> bool:
    if not _is_team(team) or not getattr(user, "is_authenticated", False):
        return False
    return team.pk in led_organization_ids(user) or covers_as_staff(user, team)


@rules.predicate
def manages_volunteer_event(user: Any, activity: Any) -> bool:
    from .models import ActivityKind

    if activity is None or getattr(activity, "kind", None) != ActivityKind.VOLUNTEER_EVENT:
        return False
    if not getattr(activity, "organization_id", None) or not getattr(user, "is_authenticated", False):
        return False
    return activity.organization_id in led_organization_ids(user) or covers_as_staff(user, activity)


@rules.predicate
def manages_hours_entry(user: Any, entry: Any) -> bool:
    if entry is None or not getattr(user, "is_authenticated", False):
        return False
    return entry.organization_id in led_organization_ids(user) or covers_as_staff(user, entry.organization)


@rules.predicate
def is_own_hours(user: Any, entry: Any) -> bool:
    if entry is None or not getattr(user, "is_authenticated", False):
        return False
    return entry.resident.user_id is not None and entry.resident.user_id == user.pk


@rules.predicate
def may_sign_up_for(user: Any, activity: Any) -> bool:
    """An open volunteer event near the resident (their community or its street), or of a team they belong to."""
    from gongzhi.organizations.models import Membership
    from gongzhi.organizations.rules import near_codes

    from .models import ActivityKind

    if activity is None or getattr(activity, "kind", None) != ActivityKind.VOLUNTEER_EVENT:
        return False
    community = resident_community_of(user)
    if community is None:
        return False
    if activity.place_id in near_codes(community):
        return True
    return bool(activity.organization_id) and (
        Membership.objects.filter(
            organization_id=activity.organization_id, resident__user_id=user.pk, left_on__isnull=True
        ).exists()
    )


@rules.predicate
def may_use_volunteer_pages(user: Any) -> bool:
    """Whether the team pages are for this user at all: staff, or the current leader of a volunteer team."""
    if not getattr(user, "is_authenticated", False):
        return False
    return access.is_staff(user) or bool(led_volunteer_team_ids(user))


rules.add_perm("activities.manage_volunteer_team", manages_volunteer_team)  # object: the team (an Organization)
rules.add_perm("activities.manage_volunteer_event", manages_volunteer_event)  # object: the event (an Activity)
rules.add_perm("activities.signup_activity", may_sign_up_for)
rules.add_perm("activities.view_volunteerhours", manages_hours_entry | is_own_hours)
rules.add_perm("activities.confirm_volunteerhours", manages_hours_entry & ~is_own_hours)
rules.add_perm("activities.reverse_volunteerhours", manages_hours_entry)
rules.add_perm("activities.use_volunteer_pages", may_use_volunteer_pages)
