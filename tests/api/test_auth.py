"""Authentication (bearer token or session with CSRF), the one error shape, and the locally served docs."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.people import services
from gongzhi.people.models import ApiToken, Resident
from tests.conftest import COMM_A1

from .conftest import API, error_of


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_session_user_creates_token_and_uses_it(world, make_client):
    user = world.users["community_worker"]
    response = make_client(user).post_json(f"{API}/tokens", {"name": "数据对接"})
    assert response.status_code == 201
    key = response.json()["key"]
    assert key.startswith("gz_") and response.json()["prefix"] == key[:8]
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.key_hash == services.token_hash(key) and key not in token.key_hash  # only the hash is kept

    client = make_client()  # no session
    me = client.get(f"{API}/me", headers=bearer(key))
    assert me.status_code == 200
    assert me.json()["id"] == str(user.pk)
    residents = client.get(f"{API}/residents", headers=bearer(key)).json()
    assert {i["id"] for i in residents["items"]} == {str(world.residents["comm_a1"].pk)}
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_last_used_is_written_at_most_once_a_minute(world, make_client):
    token, key = services.api_token_create(user=world.users["admin"], name="t")
    client = make_client()
    recent = timezone.now() - datetime.timedelta(seconds=20)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    assert client.get(f"{API}/me", headers=bearer(key)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == recent
    stale = timezone.now() - datetime.timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    assert client.get(f"{API}/me", headers=bearer(key)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > stale


@pytest.mark.parametrize("case", ["unknown", "revoked", "inactive_user", "empty"])
def test_bad_token_gets_401(world, make_client, case):
    user = world.users["admin"]
    token, key = services.api_token_create(user=user, name="t")
    if case == "unknown":
        key = key + "x"
    elif case == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    elif case == "inactive_user":
        user.is_active = False
        user.save(update_fields=["is_active"])
    elif case == "empty":
        key = ""
    client = make_client()
    for response in (
        client.get(f"{API}/residents", headers=bearer(key)),
        client.get(f"{API}/residents/{world.residents['comm_a1'].pk}", headers=bearer(key)),
        client.post(f"{API}/residents/{world.residents['comm_a1'].pk}/reveal", headers=bearer(key)),
    ):
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthenticated"
        assert world.personal["comm_a1"][1] not in response.content.decode()


def test_bad_token_does_not_fall_back_to_the_session(world, make_client):
    client = make_client(world.users["admin"])
    assert client.get(f"{API}/me").status_code == 200
    assert client.get(f"{API}/me", headers=bearer("gz_nope")).status_code == 401


def test_token_cannot_mint_tokens(world, make_client):
    _, key = services.api_token_create(user=world.users["admin"], name="t")
    response = make_client().post_json(f"{API}/tokens", {"name": "more"}, headers=bearer(key))
    assert response.status_code == 401
    assert ApiToken.objects.count() == 1


def test_token_writes_need_no_csrf(world, make_client):
    _, key = services.api_token_create(user=world.users["community_worker"], name="t")
    client = make_client(enforce_csrf_checks=True)
    body = {"community": COMM_A1, "name": "周五", "household": "local"}
    assert client.post_json(f"{API}/residents", body, headers=bearer(key)).status_code == 201


def test_session_writes_need_csrf(world, make_client):
    client = make_client(world.users["community_worker"], enforce_csrf_checks=True)
    body = {"community": COMM_A1, "name": "周五", "household": "local"}
    response = client.post_json(f"{API}/residents", body)
    assert response.status_code == 403
    assert error_of(response)["code"] == "csrf_failed"
    assert not Resident.objects.filter(name="周五").exists()
    # Reads need no token.
    assert client.get(f"{API}/residents").status_code == 200
    # With the token from the cookie, as the browser sends it.
    client.get(f"{API}/docs")  # any page that renders a CSRF token sets the cookie
    csrf = client.cookies["csrftoken"].value
    assert client.post_json(f"{API}/residents", body, headers={"X-CSRFToken": csrf}).status_code == 201


def test_unauthenticated_write_is_401_not_csrf(world, make_client):
    client = make_client(enforce_csrf_checks=True)
    body = {"community": COMM_A1, "name": "周五", "household": "local"}
    for headers in ({}, bearer("gz_unknown")):
        response = client.post_json(f"{API}/residents", body, headers=headers)
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/places"),
        ("get", f"/places/{COMM_A1}"),
        ("get", f"/places/{COMM_A1}/children"),
        ("get", f"/places/{COMM_A1}/population"),
        ("get", "/residents"),
        ("post", "/residents"),
        ("get", "/grants"),
        ("post", "/grants"),
        ("delete", "/grants/3f1b1d2e-0000-4000-8000-000000000000"),
        ("get", "/me"),
        ("post", "/tokens"),
        ("patch", "/residents/3f1b1d2e-0000-4000-8000-000000000000"),
    ],
)
def test_every_endpoint_needs_authentication(tree, anon, method, path):
    response = getattr(anon, method)(f"{API}{path}")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_unknown_api_path_is_404_in_the_error_shape(world):
    client = Client()
    client.force_login(world.users["admin"])
    for response in (client.get(f"{API}/nothing-here"), client.post(f"{API}/residents/x/y/z")):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_openapi_document_is_served(anon):
    response = anon.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "gongzhi 共治 API"


def test_docs_page_uses_no_cdn(db, anon):
    response = anon.get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html), "external asset in the docs page"
    assets = re.findall(r"""(?:src|href)="([^"]+)\"""", html)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js"}
    for asset in assets:
        asset_response = anon.get(asset)
        assert asset_response.status_code == 200, asset
        body = b"".join(asset_response.streaming_content)
        assert body
        assert b"cdn.jsdelivr" not in body
    assert anon.get(f"{API}/docs/assets/..%2Fsettings.py").status_code == 404
    assert anon.get(f"{API}/docs/assets/redoc.standalone.js.map").status_code == 404


def test_user_lists_and_revokes_own_token_which_then_stops_working(world, make_client):
    user = world.users["community_worker"]
    session = make_client(user)
    created = session.post_json(f"{API}/tokens", {"name": "对接"}).json()
    listed = session.get(f"{API}/tokens").json()
    assert [t["id"] for t in listed] == [created["id"]] and "key" not in listed[0]
    other = make_client(world.users["admin"])
    assert other.delete(f"{API}/tokens/{created['id']}").status_code == 404, "not someone else's token"
    revoked = session.delete(f"{API}/tokens/{created['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert session.delete(f"{API}/tokens/{created['id']}").status_code == 200, "revoking twice changes nothing"
    assert make_client().get(f"{API}/me", headers=bearer(created["key"])).status_code == 401
