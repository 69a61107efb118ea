"""Role grants through the API: who may list, grant and revoke, and a repeated grant that creates nothing new."""

from __future__ import annotations

import pytest

from gongzhi.core.models import AuditEvent
from gongzhi.people import services
from gongzhi.people.models import RoleGrant, User
from tests.conftest import COMM_A1, COMM_A2, COMM_B1, DISTRICT, OTHER_COMM, STREET_A

from .conftest import API, error_of

NEW = {"phone": "13655556666", "place_code": COMM_A1, "role": "community_worker", "display_name": "新社工"}


def test_repeated_grant_creates_one(world, make_client):
    client = make_client(world.users["street_staff"])
    first = client.post_json(f"{API}/grants", NEW)
    second = client.post_json(f"{API}/grants", NEW)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert RoleGrant.objects.filter(user__phone=NEW["phone"]).count() == 1
    assert User.objects.filter(phone=NEW["phone"]).count() == 1
    assert AuditEvent.objects.filter(action="grant", target_id=first.json()["id"]).count() == 1
    body = first.json()
    assert (body["place_code"], body["role"], body["phone_masked"]) == (COMM_A1, "community_worker", "136****6666")
    assert NEW["phone"] not in first.content.decode()


def test_grant_to_existing_user(world, make_client):
    teacher = world.users["teacher"]
    client = make_client(world.users["street_staff"])
    response = client.post_json(f"{API}/grants", {"phone": teacher.phone, "place_code": COMM_A2, "role": "teacher"})
    assert response.status_code == 201
    assert response.json()["user_id"] == str(teacher.pk)


@pytest.mark.parametrize(
    ("granter", "body", "status", "field"),
    [
        ("street_staff", {"role": "admin", "place_code": STREET_A}, 403, "role"),  # street staff grant no admins
        ("street_staff", {"place_code": COMM_B1}, 403, "role"),  # outside their street
        ("community_worker", {}, 403, "role"),  # community workers grant nothing
        ("teacher", {}, 403, "role"),
        ("admin", {"place_code": OTHER_COMM}, 403, "role"),  # outside the district
        ("admin", {"role": "admin", "place_code": DISTRICT}, 403, "role"),  # not on their own place
        ("street_staff", {"place_code": STREET_A}, 400, "place"),  # community worker on a street: wrong level
        ("street_staff", {"phone": "12345"}, 400, "phone"),
        ("street_staff", {"place_code": "330102001999"}, 400, "place_code"),
        ("street_staff", {"role": "mayor"}, 422, "role"),
        ("street_staff", {"place_code": "33"}, 422, "place_code"),
    ],
)
def test_grant_refused_writes_nothing(world, make_client, granter, body, status, field):
    counts = (RoleGrant.objects.count(), User.objects.count(), AuditEvent.objects.count())
    response = make_client(world.users[granter]).post_json(f"{API}/grants", {**NEW, **body})
    assert response.status_code == status, response.content
    assert field in error_of(response)["fields"], error_of(response)
    assert (RoleGrant.objects.count(), User.objects.count(), AuditEvent.objects.count()) == counts


def test_admin_grants_street_staff(world, make_client):
    response = make_client(world.users["admin"]).post_json(
        f"{API}/grants", {**NEW, "role": "street_staff", "place_code": STREET_A}
    )
    assert response.status_code == 201


def test_grant_list(world, make_client):
    client = make_client(world.users["street_staff"])
    response = client.get(f"{API}/grants", {"place": STREET_A})
    assert response.status_code == 200
    got = {(g["role"], g["place_code"]) for g in response.json()["items"]}
    # Grants in the street's subtree and on its ancestors; not STREET_B's, not another district's.
    assert got == {
        ("community_worker", COMM_A1),
        ("street_staff", STREET_A),
        ("admin", DISTRICT),
        ("teacher", STREET_A),
    }
    for g in response.json()["items"]:
        assert len(g["phone_masked"]) == 11 and "****" in g["phone_masked"]


def test_grant_list_elsewhere(world, make_client):
    client = make_client(world.users["street_staff"])
    assert client.get(f"{API}/grants", {"place": COMM_B1}).status_code == 404
    assert client.get(f"{API}/grants").status_code == 422
    # A teacher covers the street but does not work on its grants.
    assert make_client(world.users["teacher"]).get(f"{API}/grants", {"place": STREET_A}).json()["count"] == 0


def test_revoke(world, make_client):
    worker = world.users["community_worker"]
    grant = RoleGrant.objects.get(user=worker)
    client = make_client(world.users["street_staff"])
    response = client.delete(f"{API}/grants/{grant.pk}")
    assert response.status_code == 204
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert AuditEvent.objects.filter(action="revoke", target_id=str(grant.pk)).exists()
    assert client.delete(f"{API}/grants/{grant.pk}").status_code == 404


def test_revoke_refused(world, make_client):
    street_grant = RoleGrant.objects.get(user=world.users["street_staff"])
    admin_grant = RoleGrant.objects.get(user=world.users["admin"])
    worker_grant = RoleGrant.objects.get(user=world.users["community_worker"])
    # Not one's own role, even one the caller could revoke for someone else.
    own_teacher = services.role_grant(
        actor=None, user=world.users["street_staff"], place=world.tree.comm_a1, role="teacher"
    )
    response = make_client(world.users["street_staff"]).delete(f"{API}/grants/{own_teacher.pk}")
    assert response.status_code == 400
    assert error_of(response)["code"] == "own_grant"
    assert make_client(world.users["street_staff"]).delete(f"{API}/grants/{street_grant.pk}").status_code == 403
    # The district admin's grant is listed to street staff (as context) but lies above the place they work on.
    assert make_client(world.users["street_staff"]).delete(f"{API}/grants/{admin_grant.pk}").status_code == 404
    # A community worker works on COMM_A1 and sees its grants, but grants nothing.
    assert make_client(world.users["community_worker"]).delete(f"{API}/grants/{worker_grant.pk}").status_code == 403
    # A teacher does not even see grants.
    assert make_client(world.users["teacher"]).delete(f"{API}/grants/{worker_grant.pk}").status_code == 404
    assert (
        RoleGrant.objects.filter(pk__in=[street_grant.pk, admin_grant.pk, worker_grant.pk, own_teacher.pk]).count() == 4
    )
