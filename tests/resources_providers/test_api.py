"""Providers API: create, read, filter, change; partner accounts; resources; pairings and deliveries; bad input in the
one error shape; constant query counts. Every response is checked against the OpenAPI document."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.resources.models import Pairing, PairingDelivery, Provider, Resource
from gongzhi.resources.services import providers as services
from tests.api.conftest import API, error_of

pytestmark = pytest.mark.django_db


def test_create_provider_and_retry(make_client, pw):
    client = make_client(pw.users["street_staff"])
    payload = {"place_code": pw.tree.street_a.code, "name": "杭州银行", "kind": "bank", "contact_name": "周经理"}
    made = client.post_json(f"{API}/providers", payload)
    assert made.status_code == 201
    body = made.json()
    assert body["ref"].startswith("P") and body["place_name"] and body["resource_count"] == 0
    again = client.post_json(f"{API}/providers", payload)
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    clash = client.post_json(f"{API}/providers", {**payload, "kind": "company"})
    assert clash.status_code == 409 and error_of(clash)["code"] == "duplicate_name"
    assert Provider.objects.filter(name="杭州银行").count() == 1


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"name": "", "kind": "bank"}, 422, None),
        ({"name": "杭州银行", "kind": "bakery"}, 422, None),
        ({"name": "杭州银行", "kind": "bank", "place_code": "123"}, 422, None),
        ({"name": "杭州银行", "kind": "bank", "place_code": "330199999000"}, 400, "place_code"),
        ({"name": "杭州银行", "kind": "bank", "contact_phone": "打电话"}, 400, "contact_phone"),
        ({"name": "杭州银行", "kind": "bank", "place_code": "330102002000"}, 403, "place_code"),  # STREET_B
    ],
)
def test_create_provider_bad_input(make_client, pw, payload, status, field):
    client = make_client(pw.users["street_staff"])
    response = client.post_json(f"{API}/providers", {"place_code": pw.tree.street_a.code, **payload})
    assert response.status_code == status
    error = error_of(response)
    if field:
        assert field in error["fields"]
    assert not Provider.objects.filter(name="杭州银行").exists()


def test_provider_filters(make_client, pw):
    client = make_client(pw.users["admin"])

    def names(**params) -> set[str]:
        return {p["name"] for p in client.get(f"{API}/providers", params).json()["items"]}

    assert names() == {"农商银行九堡支行", "浙江工商大学"}
    assert names(kind="bank") == {"农商银行九堡支行"}
    assert names(area=pw.tree.comm_b1.code) == {"浙江工商大学"}  # its talks serve STREET_B
    assert names(place=pw.tree.street_a.code) == {"农商银行九堡支行"}
    assert names(q="工商") == {"浙江工商大学"}
    services.provider_update(actor=None, provider=pw.university, active=False)
    assert names(active="true") == {"农商银行九堡支行"}
    assert names(active="false") == {"浙江工商大学"}
    # A place the caller does not cover is not found.
    outsider = make_client(pw.users["other_admin"])
    assert outsider.get(f"{API}/providers", {"place": pw.tree.street_a.code}).status_code == 404


def test_partner_sees_their_own_providers(make_client, pw):
    client = make_client(pw.users["partner"])
    mine = client.get(f"{API}/partner/providers").json()["items"]
    assert [p["name"] for p in mine] == ["农商银行九堡支行"]
    assert [p["name"] for p in client.get(f"{API}/providers").json()["items"]] == ["农商银行九堡支行"]
    resources = client.get(f"{API}/resources").json()["items"]
    assert [r["name"] for r in resources] == ["金融知识讲座"]
    assert make_client(pw.users["resident"]).get(f"{API}/partner/providers").json()["items"] == []


def test_members_are_listed_masked_and_removed(make_client, pw):
    client = make_client(pw.users["community_worker"])
    added = client.post_json(
        f"{API}/providers/{pw.bank.pk}/members", {"phone": "13700000555", "display_name": "张柜员"}
    )
    assert added.status_code == 201 and added.json()["phone_masked"] == "137****0555"
    listed = client.get(f"{API}/providers/{pw.bank.pk}/members").json()
    assert {m["phone_masked"] for m in listed} == {"137****0001", "137****0555"}
    assert all("13700000555" not in str(m) for m in listed)
    user_id = added.json()["id"]
    assert client.delete(f"{API}/providers/{pw.bank.pk}/members/{user_id}").status_code == 204
    assert client.delete(f"{API}/providers/{pw.bank.pk}/members/{user_id}").status_code == 404
    assert not pw.bank.members.filter(pk=user_id).exists()
    # The partner may not manage accounts, not even list them.
    partner = make_client(pw.users["partner"])
    assert partner.get(f"{API}/providers/{pw.bank.pk}/members").status_code == 403
    bad = client.post_json(f"{API}/providers/{pw.bank.pk}/members", {"phone": "12345"})
    assert bad.status_code == 400 and "phone" in error_of(bad)["fields"]


def test_resource_create_patch_and_deactivate(make_client, pw):
    client = make_client(pw.users["partner"])
    made = client.post_json(
        f"{API}/providers/{pw.bank.pk}/resources",
        {
            "kind": "course",
            "name": "老年人防诈骗课",
            "service_area": [pw.tree.comm_a1.code, pw.tree.street_a.code],
            "available_from": "2026-01-01",
            "availability": "周三下午",
            "capacity": 4,
        },
    )
    assert made.status_code == 201
    body = made.json()
    assert [a["code"] for a in body["service_area"]] == [pw.tree.street_a.code, pw.tree.comm_a1.code]
    rid = body["id"]
    patched = client.patch_json(f"{API}/resources/{rid}", {"terms": "免费", "service_area": [pw.tree.comm_a2.code]})
    assert patched.status_code == 200
    assert patched.json()["terms"] == "免费" and [a["code"] for a in patched.json()["service_area"]] == [
        pw.tree.comm_a2.code
    ]
    assert client.post(f"{API}/resources/{rid}/deactivate").json()["active"] is False
    assert client.post(f"{API}/resources/{rid}/deactivate").status_code == 200


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"kind": "course", "name": "课", "service_area": ["330102000000"]}, 400, "service_area"),
        ({"kind": "course", "name": "课", "service_area": ["330102009009"]}, 400, "service_area"),
        (
            {"kind": "course", "name": "课", "available_from": "2026-05-01", "available_until": "2026-04-01"},
            400,
            "available_until",
        ),
        ({"kind": "course", "name": "课", "capacity": 0}, 422, None),
        ({"kind": "land", "name": "课"}, 422, None),
    ],
)
def test_resource_bad_input(make_client, pw, payload, status, field):
    client = make_client(pw.users["community_worker"])
    response = client.post_json(f"{API}/providers/{pw.bank.pk}/resources", payload)
    assert response.status_code == status
    if field:
        assert field in error_of(response)["fields"]
    assert not Resource.objects.filter(name="课").exists()


def test_pairing_and_deliveries(make_client, pw):
    staff = make_client(pw.users["street_staff"])
    made = staff.post_json(
        f"{API}/pairings",
        {
            "provider_id": str(pw.bank.pk),
            "place_code": pw.tree.street_a.code,
            "starts_on": timezone.localdate().isoformat(),
            "commitments": "每年资助学习空间建设",
        },
    )
    assert made.status_code == 201 and made.json()["place"]["level"] == "street"
    partner = make_client(pw.users["partner"])
    today = timezone.localdate().isoformat()
    for _ in range(2):  # a retry records once
        recorded = partner.post_json(
            f"{API}/pairings/{pw.pairing.pk}/deliveries", {"delivered_on": today, "description": "讲座", "quantity": 3}
        )
        assert recorded.status_code == 201
    assert PairingDelivery.objects.count() == 1
    listed = partner.get(f"{API}/pairings", {"provider_id": str(pw.bank.pk)}).json()["items"]
    counts = {p["place"]["code"]: (p["deliveries_count"], p["delivered_quantity"]) for p in listed}
    assert counts == {pw.tree.comm_a1.code: (1, 3), pw.tree.street_a.code: (0, None)}
    assert len(partner.get(f"{API}/pairings/{pw.pairing.pk}/deliveries").json()["items"]) == 1
    # The partner may not end it; staff may, not before its last delivery.
    assert partner.post_json(f"{API}/pairings/{pw.pairing.pk}/end", {"ends_on": today}).status_code == 403
    early = staff.post_json(f"{API}/pairings/{pw.pairing.pk}/end", {"ends_on": "2000-01-01"})
    assert early.status_code == 400 and "ends_on" in error_of(early)["fields"]
    ended = staff.post_json(f"{API}/pairings/{pw.pairing.pk}/end", {"ends_on": today})
    assert ended.status_code == 200 and ended.json()["ends_on"] == today


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"delivered_on": "2999-01-01", "description": "讲座"}, 400, "delivered_on"),
        ({"delivered_on": "2000-01-01", "description": "讲座"}, 400, "delivered_on"),
        ({"delivered_on": "today", "description": "讲座"}, 422, None),
        ({"delivered_on": "2026-01-01", "description": ""}, 422, None),
        ({"delivered_on": "2026-01-01", "description": "讲座", "quantity": -1}, 422, None),
    ],
)
def test_delivery_bad_input(make_client, pw, payload, status, field):
    response = make_client(pw.users["partner"]).post_json(f"{API}/pairings/{pw.pairing.pk}/deliveries", payload)
    assert response.status_code == status
    if field:
        assert field in error_of(response)["fields"]
    assert not PairingDelivery.objects.exists()


def test_pairing_with_a_district_or_overlapping_is_refused(make_client, pw):
    client = make_client(pw.users["admin"])
    base = {"provider_id": str(pw.bank.pk), "starts_on": timezone.localdate().isoformat(), "commitments": "讲座"}
    district = client.post_json(f"{API}/pairings", {**base, "place_code": pw.tree.district.code})
    assert district.status_code == 400 and "place" in error_of(district)["fields"]
    overlap = client.post_json(f"{API}/pairings", {**base, "place_code": pw.tree.comm_a1.code})
    assert overlap.status_code == 409 and error_of(overlap)["code"] == "overlapping_pairing"
    assert Pairing.objects.count() == 1


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_list_query_counts_are_constant(make_client, pw):
    client = make_client(pw.users["admin"])
    urls = [f"{API}/providers", f"{API}/resources", f"{API}/pairings"]
    few = [_count(client, u) for u in urls]
    for i in range(8):
        p = services.provider_create(actor=None, place=pw.tree.comm_a2, name=f"企业{i}", kind="company")
        services.resource_create(
            actor=None, provider=p, kind="course", name=f"课{i}", service_area=[pw.tree.comm_a2, pw.tree.street_a]
        )
        pairing = services.pairing_create(
            actor=None, provider=p, place=pw.tree.comm_a2, starts_on=timezone.localdate(), commitments="课"
        )
        services.delivery_record(actor=None, pairing=pairing, delivered_on=timezone.localdate(), description="课")
    assert [_count(client, u) for u in urls] == few
    assert len(client.get(f"{API}/resources").json()["items"]) == 10
