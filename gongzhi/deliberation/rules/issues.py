"""Who may do what with issues (django-rules predicates, ``deliberation.<verb>_<model>``).

- Staff roles (admin, street staff, community worker) whose grant covers the issue's community manage it: move its
  status, moderate its comments, bring it into classes (topics) and schedule sessions for it.
- Current residents of the community (not moved out) see its issues, raise issues there, comment and propose.
- Anyone logged in who can see a comment may report it.
"""

from __future__ import annotations

from typing import Any

import rules

from gongzhi.people import access

_CACHE = "_gongzhi_delib_community"


def resident_community(user: Any) -> str | None:
    """The community code of the user's current resident profile (read once per request, cached on the user)."""
    if not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, _CACHE, "")
    if cached == "":
        from gongzhi.people.models import Resident

        cached = (
            Resident.objects.filter(user_id=user.pk, left_on__isnull=True)
            .values_list("community_id", flat=True)
            .first()
        )
        setattr(user, _CACHE, cached)
    return cached


def _community_code(obj: Any) -> str | None:
    """The community an issue, comment, proposal or place stands for."""
    if obj is None:
        return None
    issue = getattr(obj, "issue", None)
    if issue is not None and hasattr(issue, "community_id"):
        return issue.community_id
    for attr in ("community_id", "code"):
        value = getattr(obj, attr, None)
        if isinstance(value, str):
            return value
    return None


@rules.predicate
def manages(user: Any, obj: Any) -> bool:
    """Staff covering the community of the issue (or of the comment's / proposal's issue, or the place itself)."""
    code = _community_code(obj)
    return code is not None and access.has_role_covering(user, code, access.STAFF_ROLES)


@rules.predicate
def lives_there(user: Any, obj: Any) -> bool:
    """A current resident of that community."""
    code = _community_code(obj)
    return code is not None and resident_community(user) == code


@rules.predicate
def is_logged_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


rules.add_perm("deliberation.view_issue", manages | lives_there)
rules.add_perm("deliberation.manage_issue", manages)  # transitions, topics, sessions
rules.add_perm("deliberation.add_issue", manages | lives_there)  # object: the community (Place)
rules.add_perm("deliberation.add_comment", manages | lives_there)  # object: the issue
rules.add_perm("deliberation.moderate_comment", manages)  # object: the comment
rules.add_perm("deliberation.report_comment", is_logged_in & (manages | lives_there))  # object: the comment
rules.add_perm("deliberation.add_proposal", lives_there)  # object: the issue
rules.add_perm("deliberation.add_issuephoto", manages | lives_there)  # object: the issue
