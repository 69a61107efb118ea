"""Who may see and run 析 measure (django-rules, ``analytics.<verb>_<model>``); the object is a ``Place``.

- view_dashboard: staff (admin, street staff, community worker) whose grant covers the place — their subtree only.
- run_computation, change_measuresettings, run_mechanism: admins and street staff covering the place.
- manage_socialsurvey: staff covering the place that sends the survey.
- export_opendata: admins and street staff covering the place (the open-data file has no personal data).
"""

from __future__ import annotations

from typing import Any

import rules

from gongzhi.people import access
from gongzhi.people.models import Role

STAFF = access.STAFF_ROLES
PLANNERS = frozenset({Role.ADMIN, Role.STREET_STAFF})


def _code(obj: Any) -> str | None:
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    code = getattr(obj, "code", None) or getattr(obj, "place_id", None)
    return code


@rules.predicate
def staff_covers_place(user: Any, obj: Any) -> bool:
    code = _code(obj)
    return code is not None and access.has_role_covering(user, code, STAFF)


@rules.predicate
def planner_covers_place(user: Any, obj: Any) -> bool:
    code = _code(obj)
    return code is not None and access.has_role_covering(user, code, PLANNERS)


rules.add_perm("analytics.view_dashboard", staff_covers_place)
rules.add_perm("analytics.run_computation", planner_covers_place)
rules.add_perm("analytics.change_measuresettings", planner_covers_place)
rules.add_perm("analytics.run_mechanism", planner_covers_place)
rules.add_perm("analytics.manage_socialsurvey", staff_covers_place)
rules.add_perm("analytics.export_opendata", planner_covers_place)
