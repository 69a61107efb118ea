"""Permissions as tables: role × where the role is granted (relative to a street A programme) × action."""

from __future__ import annotations

import pytest

from gongzhi.learning.credentials import programmes
from gongzhi.learning.credentials.selectors import programmes_for_resident, programmes_visible
from gongzhi.people.models import Role
from tests import factories

from .conftest import resident_with_account

pytestmark = pytest.mark.django_db

MANAGE = "learning.manage_credentialprogramme"
VIEW = "learning.view_credentialprogramme"
ISSUE = "learning.issue_certificate"

# role, where granted → (manage and issue, view)
STAFF_TABLE = [
    ("admin", "district", True, True),  # above the programme's place
    ("admin", "other_district", False, False),
    ("street_staff", "street_a", True, True),  # the programme's own place
    ("street_staff", "street_b", False, False),  # a sibling street
    ("community_worker", "comm_a1", False, True),  # inside: sees it (their residents earn it), does not manage
    ("community_worker", "comm_b1", False, False),
    ("teacher", "street_a", False, False),  # not a staff role
]


@pytest.fixture
def programme(tree):
    p = programmes.programme_create(actor=None, place=tree.street_a, name="星级家长执照")
    programmes.level_create(actor=None, programme=p, rank=1, name="一星", criteria={"kind": "points", "min": 10})
    return programmes.programme_activate(actor=None, programme=p)


@pytest.mark.parametrize(("role", "where", "manage", "view"), STAFF_TABLE)
def test_staff_permission_table(tree, programme, role, where, manage, view):
    user = factories.staff(getattr(Role, role.upper()), getattr(tree, where))
    assert user.has_perm(MANAGE, programme) is manage
    assert user.has_perm(ISSUE, programme) is manage
    assert user.has_perm(VIEW, programme) is view
    listed = programme.pk in set(programmes_visible(user=user).values_list("pk", flat=True))
    assert listed is view


# resident's community → sees the programme when active
RESIDENT_TABLE = [("comm_a1", True), ("comm_a2", True), ("comm_b1", False), ("other_comm", False)]


@pytest.mark.parametrize(("community", "sees"), RESIDENT_TABLE)
def test_resident_permission_table(tree, programme, community, sees):
    r = resident_with_account(getattr(tree, community))
    assert r.user.has_perm(VIEW, programme) is sees
    assert r.user.has_perm(MANAGE, programme) is False
    assert (programme in programmes_for_resident(resident=r)) is sees
    programmes.programme_retire(actor=None, programme=programme)
    programme.refresh_from_db()
    assert r.user.has_perm(VIEW, programme) is False  # a retired programme is no longer shown to residents
    assert list(programmes_for_resident(resident=r)) == []


def test_a_district_programme_is_seen_by_residents_of_every_street(tree):
    p = programmes.programme_create(actor=None, place=tree.district, name="区级执照")
    programmes.level_create(actor=None, programme=p, rank=1, name="一星", criteria={"kind": "points", "min": 10})
    programmes.programme_activate(actor=None, programme=p)
    for community in ("comm_a1", "comm_b1"):
        assert [x.pk for x in programmes_for_resident(resident=resident_with_account(getattr(tree, community)))] == [
            p.pk
        ]
    street = factories.staff(Role.STREET_STAFF, tree.street_b)
    assert street.has_perm(VIEW, p) and not street.has_perm(MANAGE, p)
