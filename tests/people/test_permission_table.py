"""Permission tables: role × place relation × action → allowed."""

import pytest

from gongzhi.people.models import RoleGrant
from tests import factories

# Where the role is granted, per role; the resident always lives in COMM_A1.
GRANTED_ON = {
    "admin": "district",
    "street_staff": "street_a",
    "community_worker": "comm_a1",
    "teacher": "comm_a1",
    "org_leader": "comm_a1",
    "resource_partner": "comm_a1",
}

# relation of the resident's community to the grant → which community the resident lives in
RELATIONS = {
    "same": "comm_a1",
    "sibling": "comm_a2",
    "other_street": "comm_b1",
    "other_district": "other_comm",
}

EXPECTED_VIEW = {
    ("admin", "same"): True,
    ("admin", "sibling"): True,
    ("admin", "other_street"): True,
    ("admin", "other_district"): False,
    ("street_staff", "same"): True,
    ("street_staff", "sibling"): True,
    ("street_staff", "other_street"): False,
    ("street_staff", "other_district"): False,
    ("community_worker", "same"): True,
    ("community_worker", "sibling"): False,
    ("community_worker", "other_street"): False,
    ("community_worker", "other_district"): False,
}


@pytest.mark.parametrize("role", list(GRANTED_ON))
@pytest.mark.parametrize("relation", list(RELATIONS))
@pytest.mark.parametrize("perm", ["people.view_resident", "people.view_resident_personal", "people.change_resident"])
def test_resident_permissions(tree, role, relation, perm):
    user = factories.staff(role, getattr(tree, GRANTED_ON[role]))
    resident = factories.resident(getattr(tree, RELATIONS[relation]))
    assert user.has_perm(perm, resident) is EXPECTED_VIEW.get((role, relation), False)


def test_anonymous_has_no_permission(tree):
    from django.contrib.auth.models import AnonymousUser

    resident = factories.resident(tree.comm_a1)
    assert not AnonymousUser().has_perm("people.view_resident", resident)


def test_resident_sees_own_record_only(tree):
    me = factories.resident(tree.comm_a1, phone="13811112222")
    other = factories.resident(tree.comm_a1, name="邻居")
    from gongzhi.people import services

    user = services.account_claim(phone="13811112222", password="Me-2026-pw!")
    me.refresh_from_db()
    assert user.has_perm("people.view_resident", me)
    assert not user.has_perm("people.view_resident", other)


@pytest.mark.parametrize(
    ("granter", "target_place", "role", "allowed"),
    [
        ("admin@district", "comm_a1", "community_worker", True),
        ("admin@district", "street_a", "street_staff", True),
        ("admin@district", "district", "admin", False),  # no peer admin on one's own place
        ("admin@district", "other_comm", "community_worker", False),
        ("street_staff@street_a", "comm_a1", "community_worker", True),
        ("street_staff@street_a", "comm_a1", "teacher", True),
        ("street_staff@street_a", "street_a", "street_staff", False),
        ("street_staff@street_a", "comm_b1", "community_worker", False),
        ("community_worker@comm_a1", "comm_a1", "community_worker", False),
        ("teacher@comm_a1", "comm_a1", "teacher", False),
    ],
)
def test_who_may_grant_which_role_where(tree, granter, target_place, role, allowed):
    granter_role, granter_place = granter.split("@")
    user = factories.staff(granter_role, getattr(tree, granter_place))
    candidate = RoleGrant(place=getattr(tree, target_place), role=role)
    assert user.has_perm("people.add_rolegrant", candidate) is allowed


@pytest.mark.parametrize(
    ("role", "place", "audit_place", "allowed"),
    [
        ("admin", "district", "comm_a1", True),
        ("admin", "district", "other_comm", False),
        ("street_staff", "street_a", "comm_a1", False),
        ("community_worker", "comm_a1", "comm_a1", False),
    ],
)
def test_audit_log_is_for_admins_of_the_place(tree, role, place, audit_place, allowed):
    user = factories.staff(role, getattr(tree, place))
    assert user.has_perm("core.view_auditevent", getattr(tree, audit_place)) is allowed
