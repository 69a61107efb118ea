"""Permission tables for needs: role × place relation × action → allowed or not, checked on the predicates and on the
pages' real outcomes (a need one may not see does not exist: 404; one may see but not manage: 403)."""

from __future__ import annotations

import pytest
from django.test import Client

from gongzhi.activities.fulfilment import services as fulfilment
from gongzhi.people.models import Role
from gongzhi.resources.models import Need, Rating
from gongzhi.resources.services import needs as services
from tests import factories

from .conftest import need, past_activity, present, provider, resident_with_account, resource

pytestmark = pytest.mark.django_db

PLACES = ["comm_a1", "comm_a2", "comm_b1", "other_comm"]
GRANTS = {"community_worker": "comm_a1", "street_staff": "street_a", "admin": "district", "teacher": "street_a"}
# role (granted on) → the needs (by community) it sees and manages: its subtree, never a sibling or another district.
MANAGES = {
    "community_worker": {"comm_a1"},
    "street_staff": {"comm_a1", "comm_a2"},
    "admin": {"comm_a1", "comm_a2", "comm_b1"},
    "teacher": set(),
}
STAFF_TABLE = [(role, key, key in seen) for role, seen in MANAGES.items() for key in PLACES]


@pytest.fixture
def needs(tree) -> dict[str, Need]:
    return {key: need(getattr(tree, key), title=f"需求{key}") for key in PLACES}


@pytest.fixture
def lecture(tree):
    return resource(provider("银行", place=None), "金融讲座", kind="course")


@pytest.mark.parametrize(("role", "key", "allowed"), STAFF_TABLE)
def test_staff_permission_table(tree, needs, lecture, role, key, allowed):
    user = factories.staff(role, getattr(tree, GRANTS[role]))
    n = needs[key]
    for perm in ("resources.view_need", "resources.match_need", "resources.change_need"):
        assert user.has_perm(perm, n) is allowed, perm
    assert user.has_perm("resources.add_need", getattr(tree, key)) is allowed
    client = Client()
    client.force_login(user)
    assert client.get(f"/staff/needs/{n.pk}/").status_code == (200 if allowed else 404)
    assert client.get(f"/staff/needs/{n.pk}/fulfil/").status_code == (200 if allowed else 404)
    matched = client.post(f"/staff/needs/{n.pk}/match/", {"resource": str(lecture.pk)})
    assert matched.status_code == (302 if allowed else 404)
    n.refresh_from_db()
    assert (n.status == "matched") is allowed
    cancelled = client.post(f"/staff/needs/{n.pk}/cancel/", {"cancel-reason": "测试"})
    assert cancelled.status_code == (302 if allowed else 404)
    n.refresh_from_db()
    assert (n.status == "cancelled") is allowed
    if role != "teacher":
        listed = client.get("/staff/needs/")
        assert (f'data-need="{n.ref}"' in listed.content.decode()) is allowed


# Residents: the raiser, a neighbour in the same community, a resident of the sibling community.
RESIDENT_TABLE = [
    # who, sees the need, in "my needs", in "community needs"
    ("raiser", True, True, True),
    ("neighbour", True, False, True),
    ("sibling", False, False, False),
]


@pytest.mark.parametrize(("who", "sees", "in_mine", "in_community"), RESIDENT_TABLE)
def test_resident_permission_table(tree, lecture, who, sees, in_mine, in_community):
    raiser = resident_with_account(tree.comm_a1, name="李阿姨")
    others = {
        "raiser": raiser,
        "neighbour": resident_with_account(tree.comm_a1, name="王大爷"),
        "sibling": resident_with_account(tree.comm_a2, name="赵奶奶"),
    }
    n, _created = services.need_report(
        actor=raiser.user, community=tree.comm_a1, resident=raiser, title="想学用手机挂号", resource_kind="course"
    )
    user = others[who].user
    assert user.has_perm("resources.view_need", n) is sees
    assert not user.has_perm("resources.match_need", n) and not user.has_perm("resources.change_need", n)
    client = Client()
    client.force_login(user)
    assert client.get(f"/me/needs/{n.pk}/").status_code == (200 if sees else 404)
    # The staff page of a need sends residents to their own view (or 404).
    staff_page = client.get(f"/staff/needs/{n.pk}/")
    assert staff_page.status_code == (302 if sees else 404)
    assert (f'data-need="{n.ref}"' in client.get("/me/needs/").content.decode()) is in_mine
    community_page = client.get("/me/needs/community/").content.decode()
    assert (f'data-need="{n.ref}"' in community_page) is in_community
    cards = community_page[community_page.index('id="need-cards"') :]
    cards = cards[: cards.index("</ul>")]
    assert "李阿姨" not in cards and "李*姨" not in cards, "no personal data of who raised it"
    assert client.post(f"/staff/needs/{n.pk}/match/", {"resource": str(lecture.pk)}).status_code == (
        403 if sees else 404
    )
    assert client.get(f"/staff/needs/{n.pk}/fulfil/").status_code == (403 if sees else 404)
    n.refresh_from_db()
    assert n.status == "open"


@pytest.mark.parametrize(("member_of", "sees"), [("matched", True), ("other", False), ("none", False)])
def test_partner_permission_table(tree, member_of, sees):
    user = factories.staff(Role.RESOURCE_PARTNER, tree.street_a)
    bank = provider("银行", place=tree.street_a, members=[user] if member_of == "matched" else [])
    provider("医院", kind="hospital", place=tree.street_a, members=[user] if member_of == "other" else [])
    lecture = resource(bank, "金融讲座")
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    assert user.has_perm("resources.view_need", n) is sees
    assert not user.has_perm("resources.change_need", n)
    client = Client()
    client.force_login(user)
    assert client.get(f"/me/needs/{n.pk}/").status_code == (200 if sees else 404)
    partner_list = client.get("/partner/needs/")
    assert partner_list.status_code == (200 if member_of != "none" else 403)
    assert (f'data-need="{n.ref}"' in partner_list.content.decode()) is sees
    assert client.post(f"/staff/needs/{n.pk}/cancel/", {"cancel-reason": "x"}).status_code == (403 if sees else 404)


# Rating: who may rate a fulfilled need (the service decides; the page shows it).
RATE_TABLE = [
    ("present_same_community", True),
    ("present_sibling_community_at_street_activity", True),
    ("absent", False),
    ("excused", False),
    ("did_not_attend", False),
]


@pytest.mark.parametrize(("case", "allowed"), RATE_TABLE)
def test_rating_permission_table(tree, lecture, case, allowed):
    community = tree.comm_a2 if case.startswith("present_sibling") else tree.comm_a1
    r = resident_with_account(community, name="李阿姨")
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    activity = past_activity(tree.street_a if case.startswith("present_sibling") else tree.comm_a1)
    fulfilment.need_fulfil(actor=None, need=n, activity=activity)
    if case.startswith("present"):
        present(activity, r)
    elif case in ("absent", "excused"):
        present(activity, r, case)
    client = Client()
    client.force_login(r.user)
    page = client.get(f"/me/needs/{n.pk}/rate/")
    assert page.status_code == 200  # residents of the community see the need; the one from next door came
    assert ('id="rate-form"' in page.content.decode()) is allowed
    posted = client.post(f"/me/needs/{n.pk}/rate/", {"score": "5"})
    assert posted.status_code == (302 if allowed else 400)
    assert Rating.objects.filter(need=n, resident=r).exists() is allowed


def test_a_resident_of_another_community_who_did_not_come_cannot_find_the_rating_page(tree, lecture):
    r = resident_with_account(tree.comm_a2, name="李阿姨")
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    fulfilment.need_fulfil(actor=None, need=n, activity=past_activity(tree.comm_a1))
    client = Client()
    client.force_login(r.user)
    assert client.get(f"/me/needs/{n.pk}/rate/").status_code == 404
    assert client.post(f"/me/needs/{n.pk}/rate/", {"score": "5"}).status_code == 404
    assert not Rating.objects.exists()
