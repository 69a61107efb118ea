"""Permission tables: role × relation to the bank (registered on COMM_A1, paired with COMM_A1) × action, on the pages
and on the API. Nothing a refused request asks for is written."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from gongzhi.resources.models import Pairing, PairingDelivery, Provider, Resource
from gongzhi.resources.selectors import providers as selectors
from gongzhi.resources.services import providers as services
from tests.api.conftest import API

pytestmark = pytest.mark.django_db

# who: (sees the bank, changes it and adds resources, manages its accounts, pairs it with COMM_A1, records delivery)
TABLE = [
    ("community_worker", True, True, True, True, True),  # same community
    ("sibling_worker", False, False, False, False, False),  # sibling community
    ("street_staff", True, True, True, True, True),  # parent street
    ("admin", True, True, True, True, True),  # district
    ("other_street_staff", False, False, False, False, False),  # another street
    ("other_admin", False, False, False, False, False),  # another district
    ("partner", True, True, False, False, True),  # the bank's own account
    ("other_partner", False, False, False, False, False),  # the university's account
    ("resident", False, False, False, False, False),  # a resident of COMM_A1
]
ROWS = [pytest.param(*row, id=row[0]) for row in TABLE]


@pytest.mark.parametrize(("who", "sees", "changes", "members", "pairs", "delivers"), ROWS)
def test_selectors_and_rules_table(pw, who, sees, changes, members, pairs, delivers):
    user = pw.users[who]
    assert selectors.providers_visible(user=user).filter(pk=pw.bank.pk).exists() is sees
    assert selectors.resources_visible(user=user).filter(pk=pw.lectures.pk).exists() is sees
    assert user.has_perm("resources.change_provider", pw.bank) is changes
    assert user.has_perm("resources.add_resource", pw.bank) is changes
    assert user.has_perm("resources.change_resource", pw.lectures) is changes
    assert user.has_perm("resources.add_pairing", pw.tree.comm_a1) is pairs
    assert user.has_perm("resources.record_delivery", pw.pairing) is delivers


@pytest.mark.parametrize(("who", "sees", "changes", "members", "pairs", "delivers"), ROWS)
def test_pages_table(client, pw, who, sees, changes, members, pairs, delivers):
    client.force_login(pw.users[who])
    detail = client.get(reverse("provider_detail", args=[pw.bank.pk]))
    assert detail.status_code == (200 if sees else 404)
    edit = client.post(
        reverse("provider_edit", args=[pw.bank.pk]),
        {"name": "改名", "kind": "bank", "contact_phone": "", "active": "on"},
    )
    assert edit.status_code == (302 if changes else 403 if sees else 404)
    assert Provider.objects.filter(name="改名").exists() is changes
    new_resource = client.post(reverse("resource_new", args=[pw.bank.pk]), {"kind": "course", "name": "理财课"})
    assert new_resource.status_code == (302 if changes else 403 if sees else 404)
    assert Resource.objects.filter(name="理财课").exists() is changes
    member = client.post(reverse("provider_member_add", args=[pw.bank.pk]), {"phone": "13700000555"})
    assert member.status_code == (302 if members else 403 if sees else 404)
    assert pw.bank.members.filter(phone="13700000555").exists() is members
    pairing = client.post(
        reverse("pairing_new", args=[pw.bank.pk]),
        {"place": pw.tree.comm_a1.code, "starts_on": "2030-01-01", "commitments": "讲座"},
    )
    assert Pairing.objects.filter(starts_on=datetime.date(2030, 1, 1)).exists() is pairs
    if pairs:
        assert pairing.status_code == 302
    else:
        assert pairing.status_code in (403, 404)
    page = client.get(reverse("pairing_detail", args=[pw.pairing.pk]))
    assert page.status_code == (200 if sees else 404)
    delivered = client.post(
        reverse("pairing_delivery_add", args=[pw.pairing.pk]),
        {"delivered_on": timezone.localdate().isoformat(), "description": "防诈骗讲座"},
    )
    assert delivered.status_code == (302 if delivers else 403 if sees else 404)
    assert PairingDelivery.objects.exists() is delivers


@pytest.mark.parametrize(("who", "sees", "changes", "members", "pairs", "delivers"), ROWS)
def test_api_table(make_client, pw, who, sees, changes, members, pairs, delivers):
    client = make_client(pw.users[who])
    ids = {p["id"] for p in client.get(f"{API}/providers").json()["items"]}
    assert (str(pw.bank.pk) in ids) is sees
    assert client.get(f"{API}/providers/{pw.bank.pk}").status_code == (200 if sees else 404)
    patched = client.patch_json(f"{API}/providers/{pw.bank.pk}", {"description": "普惠金融"})
    assert patched.status_code == (200 if changes else 403 if sees else 404)
    made = client.post_json(f"{API}/providers/{pw.bank.pk}/resources", {"kind": "course", "name": "理财课"})
    assert made.status_code == (201 if changes else 403 if sees else 404)
    member = client.post_json(f"{API}/providers/{pw.bank.pk}/members", {"phone": "13700000555"})
    assert member.status_code == (201 if members else 403 if sees else 404)
    pairing = client.post_json(
        f"{API}/pairings",
        {
            "provider_id": str(pw.bank.pk),
            "place_code": pw.tree.comm_a1.code,
            "starts_on": "2030-01-01",
            "commitments": "讲座",
        },
    )
    assert pairing.status_code == (201 if pairs else 403 if sees else 404)
    delivered = client.post_json(
        f"{API}/pairings/{pw.pairing.pk}/deliveries",
        {"delivered_on": timezone.localdate().isoformat(), "description": "防诈骗讲座"},
    )
    assert delivered.status_code == (201 if delivers else 403 if sees else 404)
    assert Resource.objects.filter(name="理财课").exists() is changes
    assert pw.bank.members.filter(phone="13700000555").exists() is members
    assert PairingDelivery.objects.exists() is delivers


def test_a_provider_serving_a_community_is_visible_to_its_staff_but_not_theirs_to_change(pw, client):
    """The sibling worker of COMM_A2 sees the bank once one of its resources serves COMM_A2 (or the street above it),
    and may not change it."""
    sibling = pw.users["sibling_worker"]
    assert not selectors.providers_visible(user=sibling).filter(pk=pw.bank.pk).exists()
    services.resource_update(actor=None, resource=pw.lectures, service_area=[pw.tree.street_a])
    assert selectors.providers_visible(user=sibling).filter(pk=pw.bank.pk).exists()
    assert not sibling.has_perm("resources.change_provider", pw.bank)
    client.force_login(sibling)
    assert client.get(reverse("provider_detail", args=[pw.bank.pk])).status_code == 200
    assert client.get(reverse("provider_edit", args=[pw.bank.pk])).status_code == 403
    # The other street still does not see it.
    assert not selectors.providers_visible(user=pw.users["other_street_staff"]).filter(pk=pw.bank.pk).exists()


def test_a_pairing_makes_a_provider_visible_to_the_paired_place(pw):
    other = pw.users["other_street_staff"]
    assert not selectors.providers_visible(user=other).filter(pk=pw.bank.pk).exists()
    services.pairing_create(
        actor=None, provider=pw.bank, place=pw.tree.comm_b1, starts_on=timezone.localdate(), commitments="讲座"
    )
    assert selectors.providers_visible(user=other).filter(pk=pw.bank.pk).exists()


def test_staff_only_pages_refuse_partners_and_residents(client, pw):
    for who in ("partner", "resident"):
        client.force_login(pw.users[who])
        for name in ("provider_list", "provider_new", "pairing_list"):
            assert client.get(reverse(name)).status_code == 403, (who, name)


def test_partner_home_is_for_partners_only(client, pw):
    client.force_login(pw.users["partner"])
    body = client.get(reverse("partner_home")).content.decode()
    assert pw.bank.name in body and pw.lectures.name in body and pw.university.name not in body
    for who in ("community_worker", "resident"):
        client.force_login(pw.users[who])
        assert client.get(reverse("partner_home")).status_code == 404
