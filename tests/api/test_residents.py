"""Residents through the API: registering (and refusing bad input without writing anything), changing, masking, the
audited reveal, and a list whose query count does not grow with its rows."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.core.models import AuditEvent
from gongzhi.people.models import Resident
from tests import factories
from tests.conftest import COMM_A1, COMM_A2, ID_A, ID_B, STREET_A

from .conftest import API, error_of, make_id_number

GOOD = {"community": COMM_A1, "name": "李四", "household": "local", "phone": "13912345678", "id_number": ID_A}


def _bad_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


@pytest.fixture
def worker_client(world, make_client):
    return make_client(world.users["community_worker"])


def test_register_resident(world, worker_client):
    response = worker_client.post_json(f"{API}/residents", {**GOOD, "gender": "F", "birth_year": 1980})
    assert response.status_code == 201
    body = response.json()
    assert body["community_code"] == COMM_A1
    assert body["name_masked"] == "李*"
    assert body["phone_masked"] == "139****5678"
    assert body["id_number_masked"] == "3301**********123X"
    assert body["registered_on"] == datetime.date.today().isoformat()
    text = response.content.decode()
    assert ID_A not in text and "13912345678" not in text
    resident = Resident.objects.get(pk=body["id"])
    assert resident.id_number() == ID_A
    assert AuditEvent.objects.filter(action="create", target_id=str(resident.pk)).count() == 1


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"id_number": _bad_check_digit(ID_A)}, 400, "id_number"),  # wrong check digit
        ({"id_number": "12345"}, 400, "id_number"),
        ({"phone": "12345678901"}, 400, "phone"),  # not a mainland mobile number
        ({"phone": "1391234567"}, 400, "phone"),
        ({"community": "330102001999"}, 400, "community"),  # no such community
        ({"community": "not-a-code"}, 400, "community"),
        ({"birth_year": 1800}, 400, "birth_year"),
        ({"name": ""}, 422, "name"),
        ({"name": None}, 422, "name"),
        ({"household": "tourist"}, 422, "household"),
        ({"gender": "X"}, 422, "gender"),
        ({"registered_on": "2024-13-01"}, 422, "registered_on"),
        ({"birth_year": "nineteen"}, 422, "birth_year"),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(world, worker_client, change, status, field):
    residents, audits = Resident.objects.count(), AuditEvent.objects.count()
    response = worker_client.post_json(f"{API}/residents", {**GOOD, **change})
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert all(isinstance(m, str) and m for m in error["fields"][field])
    assert (Resident.objects.count(), AuditEvent.objects.count()) == (residents, audits)


@pytest.mark.parametrize("missing", ["community", "name", "household"])
def test_register_requires_fields(world, worker_client, missing):
    body = {k: v for k, v in GOOD.items() if k != missing}
    response = worker_client.post_json(f"{API}/residents", body)
    assert response.status_code == 422
    assert error_of(response)["fields"] == {missing: ["必填"]}
    assert not Resident.objects.filter(name="李四").exists()


def test_register_malformed_json(world, worker_client):
    response = worker_client.post(f"{API}/residents", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert not Resident.objects.filter(name="李四").exists()


def test_register_duplicate_id_number_conflicts(world, worker_client):
    assert worker_client.post_json(f"{API}/residents", GOOD).status_code == 201
    response = worker_client.post_json(f"{API}/residents", {**GOOD, "phone": ""})
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert "id_number" in error_of(response)["fields"]
    assert Resident.objects.filter(name="李四").count() == 1


def test_register_outside_own_place_is_forbidden(world, worker_client):
    response = worker_client.post_json(f"{API}/residents", {**GOOD, "community": COMM_A2})
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert "community" in error_of(response)["fields"]
    assert not Resident.objects.filter(name="李四").exists()


def test_register_on_a_street_is_refused(world, make_client):
    response = make_client(world.users["street_staff"]).post_json(f"{API}/residents", {**GOOD, "community": STREET_A})
    assert response.status_code == 400
    assert "community" in error_of(response)["fields"]
    assert not Resident.objects.filter(name="李四").exists()


def test_teacher_may_not_register(world, make_client):
    response = make_client(world.users["teacher"]).post_json(f"{API}/residents", GOOD)
    assert response.status_code == 403
    assert not Resident.objects.filter(name="李四").exists()


def test_unauthenticated_may_not_register(world, anon):
    response = anon.post_json(f"{API}/residents", GOOD)
    assert response.status_code == 401
    assert not Resident.objects.filter(name="李四").exists()


# --- change ----------------------------------------------------------------------------------------------------


def test_change_resident(world, worker_client):
    resident = world.residents["comm_a1"]
    response = worker_client.patch_json(
        f"{API}/residents/{resident.pk}", {"phone": "13700001111", "household": "new_citizen", "id_number": ID_B}
    )
    assert response.status_code == 200, response.content
    assert response.json()["phone_masked"] == "137****1111"
    assert response.json()["household"] == "new_citizen"
    resident.refresh_from_db()
    assert (resident.phone, resident.household, resident.id_number()) == ("13700001111", "new_citizen", ID_B)
    event = AuditEvent.objects.get(action="update", target_id=str(resident.pk))
    assert event.changes == {"fields": ["household", "id_number", "phone"]}
    assert "13700001111" not in str(event.changes) and ID_B not in event.summary


def test_change_clears_id_number_and_gender(world, worker_client):
    resident = world.residents["comm_a1"]
    response = worker_client.patch_json(f"{API}/residents/{resident.pk}", {"id_number": None, "gender": None})
    assert response.status_code == 200
    assert response.json()["id_number_masked"] == ""
    resident.refresh_from_db()
    assert resident.id_number_encrypted == "" and resident.id_number_hash == ""


def test_change_refuses_bad_input_and_writes_nothing(world, worker_client):
    resident = world.residents["comm_a1"]
    before = Resident.objects.values().get(pk=resident.pk)
    for body, field in [
        ({"phone": "123"}, "phone"),
        ({"id_number": _bad_check_digit(ID_B)}, "id_number"),
        ({"left_on": "2000-01-01"}, "left_on"),  # before registration
        ({"community": "330102001999"}, "community"),
    ]:
        response = worker_client.patch_json(f"{API}/residents/{resident.pk}", body)
        assert response.status_code == 400, (body, response.content)
        assert field in error_of(response)["fields"]
    assert Resident.objects.values().get(pk=resident.pk) == before
    assert not AuditEvent.objects.filter(action="update").exists()


def test_change_moving_outside_own_place_is_forbidden(world, worker_client):
    resident = world.residents["comm_a1"]
    response = worker_client.patch_json(f"{API}/residents/{resident.pk}", {"community": COMM_A2})
    assert response.status_code == 403
    resident.refresh_from_db()
    assert resident.community_id == COMM_A1


def test_street_staff_moves_resident_between_its_communities(world, make_client):
    resident = world.residents["comm_a1"]
    response = make_client(world.users["street_staff"]).patch_json(
        f"{API}/residents/{resident.pk}", {"community": COMM_A2}
    )
    assert response.status_code == 200
    assert response.json()["community_code"] == COMM_A2


def test_change_invisible_resident_is_not_found(world, worker_client):
    resident = world.residents["comm_a2"]
    response = worker_client.patch_json(f"{API}/residents/{resident.pk}", {"phone": "13700001111"})
    assert response.status_code == 404
    resident.refresh_from_db()
    assert resident.phone != "13700001111"


# --- masking and the reveal -------------------------------------------------------------------------------------


def test_lists_and_details_never_carry_plain_personal_data(world, make_client):
    client = make_client(world.users["admin"])
    texts = [client.get(f"{API}/residents").content.decode()]
    texts += [client.get(f"{API}/residents/{r.pk}").content.decode() for r in world.residents.values()]
    for key in ("comm_a1", "comm_a2", "comm_b1"):
        name, phone, id_number = world.personal[key]
        for text in texts:
            assert phone not in text
            assert id_number not in text
            assert id_number[:-1] not in text
            assert name not in text
    assert world.residents["comm_a1"].id_number_masked in texts[0]


def test_reveal_is_audited(world, worker_client):
    resident = world.residents["comm_a1"]
    response = worker_client.post(f"{API}/residents/{resident.pk}/reveal")
    assert response.status_code == 200
    assert response.json()["id_number"] == world.personal["comm_a1"][2]
    event = AuditEvent.objects.get(action="view_personal")
    assert (event.actor, event.target_type, event.target_id, event.place_code) == (
        world.users["community_worker"],
        "resident",
        str(resident.pk),
        COMM_A1,
    )
    assert world.personal["comm_a1"][2] not in event.summary


def test_reveal_needs_post(world, worker_client):
    from django.test import Client

    client = Client()
    client.force_login(world.users["community_worker"])
    response = client.get(f"{API}/residents/{world.residents['comm_a1'].pk}/reveal")
    assert response.status_code == 405
    assert not AuditEvent.objects.filter(action="view_personal").exists()


# --- filters and pagination -------------------------------------------------------------------------------------


def test_filters(world, make_client):
    client = make_client(world.users["admin"])
    factories.resident(world.tree.comm_a2, name="赵新", household="new_citizen", ref="R-NEW")
    assert client.get(f"{API}/residents", {"place": STREET_A}).json()["count"] == 3
    assert client.get(f"{API}/residents", {"place": COMM_A2}).json()["count"] == 2
    assert client.get(f"{API}/residents", {"household": "new_citizen"}).json()["count"] == 1
    assert client.get(f"{API}/residents", {"q": "R-NEW"}).json()["count"] == 1
    assert client.get(f"{API}/residents", {"q": "赵"}).json()["count"] == 1
    assert client.get(f"{API}/residents", {"q": world.personal["comm_b1"][1]}).json()["count"] == 1
    assert client.get(f"{API}/residents", {"q": world.personal["comm_b1"][2]}).json()["count"] == 1
    # A place outside the caller's is not found.
    response = client.get(f"{API}/residents", {"place": world.tree.other_comm.code})
    assert response.status_code == 404
    response = client.get(f"{API}/residents", {"place": "123", "household": "x", "page": 0})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"place", "household", "page"}


def test_pagination(world, make_client):
    for i in range(55):
        factories.resident(world.tree.comm_a1, name=f"钱{i}", ref=f"P{i:03d}")
    client = make_client(world.users["community_worker"])
    first = client.get(f"{API}/residents").json()
    assert first["count"] == 56 and len(first["items"]) == 50
    second = client.get(f"{API}/residents", {"page": 2}).json()
    assert len(second["items"]) == 6
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


def test_list_query_count_does_not_grow_with_rows(tree, make_client):
    from gongzhi.people.models import Role

    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))

    def queries(n_total: int) -> int:
        while Resident.objects.count() < n_total:
            i = Resident.objects.count()
            community = tree.comm_a1 if i % 2 else tree.comm_a2
            factories.resident(
                community, name=f"孙{i}", phone=f"1380000{i:04d}", id_number=make_id_number(f"3301021985010{i:03d}1")
            )
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"{API}/residents", {"page_size": 100})
        assert response.status_code == 200
        assert len(response.json()["items"]) == n_total
        return len(ctx.captured_queries)

    few, many = queries(5), queries(60)
    assert few == many, f"{few} queries for 5 residents, {many} for 60"
    assert many <= 6
