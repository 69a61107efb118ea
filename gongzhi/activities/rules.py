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
