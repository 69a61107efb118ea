"""Permissions of online tests (django-rules), loaded by gongzhi/learning/rules.py.

- ``learning.manage_questionbank`` (a place or a bank): staff roles covering the bank's place create and edit it and
  its questions (the answer key is theirs to see).
- ``learning.view_questionbank`` (a bank): also staff working below the bank's place — a district's bank is used for
  tests in its streets and communities — may see it and build tests from it.
- ``learning.manage_onlinetest`` (a place or a test): staff roles covering the test's place create, edit, publish and
  close it and see its results.
- ``learning.take_onlinetest`` (a test): a resident whose community lies under the test's place, while it is open.
"""

from __future__ import annotations

from typing import Any

import rules

from gongzhi.people import access
from gongzhi.places import codes

from ..models import OnlineTest, OnlineTestStatus, Question, QuestionBank


def _place_code(obj: Any) -> str | None:
    if isinstance(obj, Question):
        return obj.bank.place_id
    for attr in ("place_id", "code"):
        value = getattr(obj, attr, None)
        if isinstance(value, str):
            return value
    return None


@rules.predicate
def covers_as_staff(user: Any, obj: Any) -> bool:
    code = _place_code(obj)
    return code is not None and access.has_role_covering(user, code, access.STAFF_ROLES)


@rules.predicate
def works_below_bank(user: Any, bank: Any) -> bool:
    """Staff whose place lies in the subtree of the bank's place (a street worker using the district's bank)."""
    if not isinstance(bank, QuestionBank):
        return False
    return any(
        codes.covers(bank.place_id, g.place_code) for g in access.user_grants(user) if g.role in access.STAFF_ROLES
    )


@rules.predicate
def may_take_test(user: Any, test: Any) -> bool:
    if not isinstance(test, OnlineTest) or test.status != OnlineTestStatus.OPEN:
        return False
    if not getattr(user, "is_authenticated", False) or not access.has_resident_profile(user):
        return False
    from gongzhi.people.selectors import resident_of_user

    from .services import may_take

    resident = resident_of_user(user=user)
    return resident is not None and may_take(resident, test)


rules.add_perm("learning.manage_questionbank", covers_as_staff)
rules.add_perm("learning.view_questionbank", covers_as_staff | works_below_bank)
rules.add_perm("learning.manage_onlinetest", covers_as_staff)
rules.add_perm("learning.take_onlinetest", may_take_test)
