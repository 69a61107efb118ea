"""Certificates API, every response checked against the OpenAPI document (tests/api/conftest.py)."""

from __future__ import annotations

import pytest

from gongzhi.learning.credentials import signing
from gongzhi.learning.models import Certificate
from tests.api.conftest import API, error_of

pytestmark = pytest.mark.django_db


def _claim(client, level):
    return client.post_json(f"{API}/credentials/levels/{level.pk}/claim")


def test_claim_twice_gives_one_certificate(eligible, make_client):
    client = make_client(eligible.holder.user)
    first = _claim(client, eligible.level1)
    assert first.status_code == 200, first.content
    again = _claim(client, eligible.level1)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Certificate.objects.filter(resident=eligible.holder).count() == 1
    body = first.json()
    assert body["state"] == "valid" and body["claimed"] is True and body["holder_name_masked"] == "陈*华"
    assert body["verify_url"] == f"http://testserver/verify/{body['code']}/"
    listed = client.get(f"{API}/me/certificates").json()
    assert listed["count"] == 1 and listed["items"][0]["code"] == body["code"]
    credential = client.get(f"{API}/certificates/{body['id']}/credential").json()
    assert credential["credential"] == signing.credential_of_jwt(credential["jwt"])
    assert credential["credential"]["type"] == ["VerifiableCredential", "OpenBadgeCredential"]


def test_claim_refusals(cw, make_client):
    client = make_client(cw.holder.user)
    refused = _claim(client, cw.level1)  # no points yet
    assert refused.status_code == 400
    err = error_of(refused)
    assert err["code"] == "not_eligible" and "一星家长" in err["message"] and "积分" in err["message"]
    assert not Certificate.objects.exists()
    assert _claim(make_client(), cw.level1).status_code == 401
    assert _claim(make_client(cw.users["street_staff"]), cw.level1).status_code == 403  # not a resident
    far = _claim(make_client(cw.far.user), cw.level1)  # a resident of another street does not see the programme
    assert far.status_code == 404
    missing = client.post_json(f"{API}/credentials/levels/00000000-0000-4000-8000-000000000000/claim")
    assert missing.status_code == 404


def test_staff_issue_list_revoke_renew(eligible, make_client, django_assert_max_num_queries):
    staff = make_client(eligible.users["street_staff"])
    issued = staff.post_json(
        f"{API}/certificates",
        {"level_id": str(eligible.level1.pk), "resident_id": str(eligible.neighbour.pk), "note": "线下培训签到表"},
    )
    assert issued.status_code == 201, issued.content
    again = staff.post_json(
        f"{API}/certificates", {"level_id": str(eligible.level1.pk), "resident_id": str(eligible.neighbour.pk)}
    )
    assert again.status_code == 201 and again.json()["id"] == issued.json()["id"]
    assert issued.json()["claimed"] is False
    make_client(eligible.holder.user).post_json(f"{API}/credentials/levels/{eligible.level1.pk}/claim")

    with django_assert_max_num_queries(8):
        listed = staff.get(f"{API}/certificates")
    assert listed.status_code == 200 and listed.json()["count"] == 2
    names = {row["holder_name_masked"] for row in listed.json()["items"]}
    assert names == {"陈*华", "刘*英"}
    assert "陈美华" not in listed.content.decode()
    code = issued.json()["code"]
    found = staff.get(f"{API}/certificates", {"q": code}).json()
    assert [row["code"] for row in found["items"]] == [code]
    by_phone = staff.get(f"{API}/certificates", {"q": eligible.names["holder"][1]}).json()
    assert [row["holder_name_masked"] for row in by_phone["items"]] == ["陈*华"]
    # A community worker inside the street does not manage the street's programme; other streets see nothing.
    assert make_client(eligible.users["community_worker"]).get(f"{API}/certificates").json()["count"] == 0
    assert make_client(eligible.users["other_street_staff"]).get(f"{API}/certificates").json()["count"] == 0
    assert make_client(eligible.holder.user).get(f"{API}/certificates").status_code == 403

    cert_id = issued.json()["id"]
    empty = staff.post_json(f"{API}/certificates/{cert_id}/revoke", {"reason": ""})
    assert empty.status_code == 422 and "reason" in error_of(empty)["fields"]
    holder_try = make_client(eligible.holder.user).post_json(f"{API}/certificates/{cert_id}/revoke", {"reason": "x"})
    assert holder_try.status_code == 404
    revoked = staff.post_json(f"{API}/certificates/{cert_id}/revoke", {"reason": "重复颁发"})
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert revoked.json()["revoke_reason"] == "重复颁发"
    assert staff.get(f"{API}/certificates", {"state": "revoked"}).json()["count"] == 1
    assert error_of(staff.post_json(f"{API}/certificates/{cert_id}/renew"))["code"] == "certificate_revoked"

    mine = make_client(eligible.holder.user).get(f"{API}/me/certificates").json()["items"][0]
    too_early = make_client(eligible.holder.user).post_json(f"{API}/certificates/{mine['id']}/renew")
    assert too_early.status_code == 409 and error_of(too_early)["code"] == "too_early"
    renewed = staff.post_json(f"{API}/certificates/{mine['id']}/renew")
    assert renewed.status_code == 201 and renewed.json()["renewed_from_id"] == mine["id"]
    assert staff.get(f"{API}/certificates/{mine['id']}").json()["state"] == "superseded"


def test_issue_refusals(cw, make_client):
    payload = {"level_id": str(cw.level1.pk), "resident_id": str(cw.holder.pk)}
    assert make_client().post_json(f"{API}/certificates", payload).status_code == 401
    assert make_client(cw.users["other_street_staff"]).post_json(f"{API}/certificates", payload).status_code == 404
    assert make_client(cw.users["community_worker"]).post_json(f"{API}/certificates", payload).status_code == 403
    far = {"level_id": str(cw.level1.pk), "resident_id": str(cw.far.pk)}  # staff of street A do not see street B
    assert make_client(cw.users["street_staff"]).post_json(f"{API}/certificates", far).status_code == 404
    bad = make_client(cw.users["street_staff"]).post_json(f"{API}/certificates", {"level_id": "x"})
    assert bad.status_code == 422 and set(error_of(bad)["fields"]) == {"level_id", "resident_id"}
    assert not Certificate.objects.exists()


def test_public_verification_endpoint(eligible, make_client):
    cert = eligible.claim()
    anon = make_client()
    ok = anon.post_json(f"{API}/credentials/verify", {"credential": cert.credential_jwt})
    assert ok.status_code == 200
    body = ok.json()
    assert body["status"] == "valid" and body["valid"] is True and body["message"] == "证书有效"
    assert body["certificate"]["holder_name_masked"] == "陈*华" and body["certificate"]["code"] == cert.code
    assert "陈美华" not in ok.content.decode()
    as_object = anon.post_json(
        f"{API}/credentials/verify", {"credential": signing.credential_of_jwt(cert.credential_jwt)}
    )
    assert as_object.json()["status"] == "valid" and as_object.json()["format"] == "ob3-json"

    head, payload, sig = cert.credential_jwt.split(".")
    tampered = f"{head}.{payload[:-3]}{'A' if payload[-3] != 'A' else 'B'}{payload[-2:]}.{sig}"
    bad = anon.post_json(f"{API}/credentials/verify", {"credential": tampered}).json()
    assert bad["valid"] is False and bad["status"] == "invalid_signature" and bad["certificate"] is None

    by_code = anon.get(f"{API}/credentials/verify/{cert.code}")
    assert by_code.status_code == 200 and by_code.json()["status"] == "valid"
    assert anon.get(f"{API}/credentials/verify/NOSUCHCODE000000").status_code == 404

    staff = make_client(eligible.users["street_staff"])
    staff.post_json(f"{API}/certificates/{cert.pk}/revoke", {"reason": "材料不实"})
    revoked = anon.post_json(f"{API}/credentials/verify", {"credential": cert.credential_jwt}).json()
    assert revoked["status"] == "revoked" and revoked["message"] == "证书已被撤销"
    assert "材料不实" not in str(revoked)  # the reason is not public
    assert anon.get(f"{API}/credentials/verify/{cert.code}").json()["status"] == "revoked"

    missing = anon.post_json(f"{API}/credentials/verify", {})
    assert missing.status_code == 422 and "credential" in error_of(missing)["fields"]
