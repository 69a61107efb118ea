"""Permissions of learning (``learning.<verb>_<model>``).

- Staff roles (admin, street staff, community worker) covering a place manage its courses, series, teachers and
  sessions, see enrolments, and reverse the points of residents they cover.
- A teacher (the teacher role and a ``Teacher`` profile linked to the account) sees their own courses and sessions.
- A resident sees open courses of their community and street, and only their own enrolments and points.
"""

from __future__ import annotations

from typing import Any

import rules

from gongzhi.people import access

from .models import Course, CourseSession, CourseStatus, PointsEntry


def _place_code(obj: Any) -> str | None:
    if obj is None:
        return None
    if isinstance(obj, CourseSession):
        return obj.activity.place_id
    if isinstance(obj, PointsEntry):
        return obj.resident.community_id
    for attr in ("place_id", "code"):
        value = getattr(obj, attr, None)
        if isinstance(value, str):
            return value
    return None


@rules.predicate
def covers_as_staff(user: Any, obj: Any) -> bool:
    code = _place_code(obj)
    if code is None and isinstance(obj, CourseSession):
        code = obj.course.place_id
    return code is not None and access.has_role_covering(user, code, access.STAFF_ROLES)


@rules.predicate
def is_course_teacher(user: Any, obj: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or obj is None:
        return False
    if not any(g.role == "teacher" for g in access.user_grants(user)):
        return False
    if isinstance(obj, CourseSession):
        if obj.teacher_id and obj.teacher and obj.teacher.user_id == user.pk:
            return True
        obj = obj.course
    if isinstance(obj, Course):
        return obj.teachers.filter(user=user).exists() or obj.sessions.filter(teacher__user=user).exists()
    return False


@rules.predicate
def is_open_near_resident(user: Any, course: Any) -> bool:
    if not isinstance(course, Course) or course.status != CourseStatus.OPEN:
        return False
    if not access.has_resident_profile(user):
        return False
    from gongzhi.people.selectors import resident_of_user

    resident = resident_of_user(user=user)
    if resident is None:
        return False
    return course.place_id in (resident.community_id, resident.community.parent_id)


@rules.predicate
def is_teacher_user(user: Any) -> bool:
    return any(g.role == "teacher" for g in access.user_grants(user))


@rules.predicate
def is_staff_user(user: Any) -> bool:
    return access.is_staff(user)


rules.add_perm("learning.manage_course", covers_as_staff)
rules.add_perm("learning.view_course", covers_as_staff | is_course_teacher | is_open_near_resident)
rules.add_perm("learning.manage_series", covers_as_staff)
rules.add_perm("learning.manage_teacher", covers_as_staff)
rules.add_perm("learning.view_coursesession", covers_as_staff | is_course_teacher)
rules.add_perm("learning.view_enrolment", covers_as_staff | is_course_teacher)
rules.add_perm("learning.view_pointsrule", is_staff_user)
rules.add_perm("learning.reverse_pointsentry", covers_as_staff)

# The credentials parts declare their own permissions; importing them here registers them with django-rules.
from .credentials import rules as _credentials_rules  # noqa: E402, F401
from .stars import rules as _stars_rules  # noqa: E402, F401
from .testing import rules as _testing_rules  # noqa: E402, F401
