"""Who sees which residents: role × place relation → allowed, for the list, the detail and the reveal.

A resident the caller may not see is "not found" (404), never "forbidden" (403), which would tell that it exists.
"""

from __future__ import annotations

import pytest

from gongzhi.core.models import AuditEvent

from .conftest import API, error_of

COMMUNITIES = ["comm_a1", "comm_a2", "comm_b1", "other_comm"]

# role (granted on) → the communities whose residents it sees.
SEES = {
    "community_worker": {"comm_a1"},  # on COMM_A1: not its sibling COMM_A2, not COMM_B1, not another district
    "street_staff": {"comm_a1", "comm_a2"},  # on STREET_A: both its communities, not STREET_B's, not another district
    "admin": {"comm_a1", "comm_a2", "comm_b1"},  # on DISTRICT: the whole district, not OTHER_DISTRICT
    "teacher": set(),  # on STREET_A: teachers see no residents
}
TABLE = [(role, community, community in seen) for role, seen in SEES.items() for community in COMMUNITIES]


@pytest.mark.parametrize(("role", "community", "allowed"), TABLE)
def test_resident_list(world, make_client, role, community, allowed):
    response = make_client(world.users[role]).get(f"{API}/residents")
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["items"]}
    assert (str(world.residents[community].pk) in ids) is allowed


@pytest.mark.parametrize(("role", "community", "allowed"), TABLE)
def test_resident_detail(world, make_client, role, community, allowed):
    resident = world.residents[community]
    response = make_client(world.users[role]).get(f"{API}/residents/{resident.pk}")
    if allowed:
        assert response.status_code == 200
        assert response.json()["id"] == str(resident.pk)
        assert response.json()["name_masked"] == resident.masked_name
    else:
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(("role", "community", "allowed"), TABLE)
def test_resident_reveal(world, make_client, role, community, allowed):
    resident = world.residents[community]
    name, phone, id_number = world.personal[community]
    response = make_client(world.users[role]).post(f"{API}/residents/{resident.pk}/reveal")
    audits = AuditEvent.objects.filter(action="view_personal", target_id=str(resident.pk))
    if allowed:
        assert response.status_code == 200
        assert response.json() == {"id": str(resident.pk), "name": name, "phone": phone, "id_number": id_number}
        assert audits.count() == 1
        assert audits.get().actor == world.users[role]
    else:
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
        assert id_number not in response.content.decode() and phone not in response.content.decode()
        assert not audits.exists()


@pytest.mark.parametrize("community", COMMUNITIES)
def test_unauthenticated_gets_401_and_no_personal_data(world, anon, community):
    resident = world.residents[community]
    name, phone, id_number = world.personal[community]
    for response in (
        anon.get(f"{API}/residents"),
        anon.get(f"{API}/residents/{resident.pk}"),
        anon.post(f"{API}/residents/{resident.pk}/reveal"),
    ):
        assert response.status_code == 401
        assert error_of(response) == {"code": "unauthenticated", "message": "请先登录", "fields": {}}
        text = response.content.decode()
        assert name not in text and phone not in text and id_number not in text
        assert resident.masked_name not in text
    assert not AuditEvent.objects.filter(action="view_personal").exists()


def test_superuser_sees_everyone(world, make_client):
    from tests.factories import UserFactory

    root = UserFactory(is_superuser=True)
    response = make_client(root).get(f"{API}/residents")
    assert response.json()["count"] == len(COMMUNITIES)


def test_resident_sees_own_record_only(world, make_client):
    from gongzhi.people import services

    _name, phone, _ = world.personal["comm_b1"]
    user = services.account_claim(phone=phone, password="a-long-passphrase-9")
    client = make_client(user)
    own = world.residents["comm_b1"]
    assert client.get(f"{API}/residents/{own.pk}").status_code == 200
    assert client.get(f"{API}/residents/{world.residents['comm_a1'].pk}").status_code == 404
    # The list is the staff roll: a resident's own account keeps no roll.
    assert client.get(f"{API}/residents").json()["count"] == 0
