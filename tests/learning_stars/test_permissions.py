"""Permission tables of star ratings: role × where the role is granted × where the standard is × action."""

from __future__ import annotations

import pytest

from gongzhi.learning.models import StarRating
from gongzhi.learning.stars import services as stars
from gongzhi.people.models import Role
from tests import factories

from .conftest import make_standard

pytestmark = pytest.mark.django_db

ROLES = {
    "admin@district": (Role.ADMIN, "district"),
    "street_staff@street_a": (Role.STREET_STAFF, "street_a"),
    "street_staff@street_b": (Role.STREET_STAFF, "street_b"),
    "community_worker@comm_a1": (Role.COMMUNITY_WORKER, "comm_a1"),
    "community_worker@comm_a2": (Role.COMMUNITY_WORKER, "comm_a2"),
    "community_worker@other_comm": (Role.COMMUNITY_WORKER, "other_comm"),
    "teacher@street_a": (Role.TEACHER, "street_a"),
    "org_leader@comm_a1": (Role.ORG_LEADER, "comm_a1"),
}
ACTIONS = ("view_starstandard", "manage_starstandard", "assess_starstandard", "review_starrating")

# standard at → role → allowed actions (v view, m manage, a assess, r review)
EXPECTED = {
    "street_a": {
        "admin@district": "vmar",
        "street_staff@street_a": "vmar",
        "street_staff@street_b": "",
        "community_worker@comm_a1": "va",  # works inside the street: sees it and scores its residents
        "community_worker@comm_a2": "va",
        "community_worker@other_comm": "",
        "teacher@street_a": "",
        "org_leader@comm_a1": "",
    },
    "comm_a1": {
        "admin@district": "vmar",
        "street_staff@street_a": "vmar",
        "street_staff@street_b": "",
        "community_worker@comm_a1": "vmar",
        "community_worker@comm_a2": "",
        "community_worker@other_comm": "",
        "teacher@street_a": "",
        "org_leader@comm_a1": "",
    },
}


@pytest.mark.parametrize("standard_at", list(EXPECTED))
@pytest.mark.parametrize("who", list(ROLES))
def test_staff_permission_table(world, standard_at, who):
    role, place_key = ROLES[who]
    user = factories.staff(role, getattr(world.tree, place_key))
    standard = make_standard(getattr(world.tree, standard_at))
    stars.star_ratings_compute(actor=None, standard=standard)
    rating = StarRating.objects.filter(standard=standard).select_related("standard").first()
    allowed = EXPECTED[standard_at][who]
    for action in ACTIONS:
        obj = rating if action == "review_starrating" else standard
        assert user.has_perm(f"learning.{action}", obj) is (action[0] in allowed), (who, standard_at, action)


# resident relation → status of the standard → may assess (peer), may view or manage the standard
@pytest.mark.parametrize(
    ("who", "active", "assess"),
    [
        ("member", True, True),
        ("member", False, False),  # a draft takes no scores
        ("outsider", True, False),  # not a member of the organisation
    ],
)
def test_residents_assess_as_peers_only(world, who, active, assess):
    user = world.users["a" if who == "member" else "outsider"]
    standard = make_standard(world.tree.street_a, active=active)
    assert user.has_perm("learning.assess_starstandard", standard) is assess
    assert not user.has_perm("learning.view_starstandard", standard)
    assert not user.has_perm("learning.manage_starstandard", standard)


def test_no_peer_assessment_without_peer_criteria(world):
    criteria = [
        {"code": "attendance", "name": "出勤", "weight": 0.5, "source": "attendance", "target": 10},
        {"code": "staff", "name": "教师评议", "weight": 0.5, "source": "assessment", "target": 100},
    ]
    standard = make_standard(world.tree.street_a, criteria=criteria)
    assert not world.users["a"].has_perm("learning.assess_starstandard", standard)


def test_a_resident_sees_only_their_own_published_rating(world):
    standard = make_standard(world.tree.street_a)
    stars.star_ratings_compute(actor=None, standard=standard)
    mine = StarRating.objects.select_related("resident", "standard").get(standard=standard, resident=world.a)
    theirs = StarRating.objects.select_related("resident", "standard").get(standard=standard, resident=world.b)
    user = world.users["a"]
    assert not user.has_perm("learning.view_starrating", mine)  # proposed: not yet
    stars.star_ratings_approve_all(actor=None, standard=standard)
    stars.star_standard_publish(actor=None, standard=standard)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert user.has_perm("learning.view_starrating", mine)
    assert not user.has_perm("learning.view_starrating", theirs)
    assert not user.has_perm("learning.review_starrating", mine)
    assert world.users["street_staff"].has_perm("learning.view_starrating", theirs)


def test_anonymous_has_no_permission(world):
    from django.contrib.auth.models import AnonymousUser

    standard = make_standard(world.tree.street_a)
    for action in ACTIONS[:3]:
        assert not AnonymousUser().has_perm(f"learning.{action}", standard)
