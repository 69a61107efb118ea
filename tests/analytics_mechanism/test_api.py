"""The mechanism API (every response checked against the OpenAPI document by the API test client)."""

from __future__ import annotations

import pytest

from gongzhi.analytics.models import MechanismResult
from gongzhi.core.models import AuditEvent
from tests.api.conftest import API, error_of

pytestmark = pytest.mark.django_db

NEWEST = f"{API}/measure/mechanism"
PERIODS = f"{API}/measure/mechanism/periods"
RUNS = f"{API}/measure/mechanism/runs"


def test_run_read_and_retry(mech_world, make_client):
    street = mech_world.tree.street_a.code
    client = make_client(mech_world.users["street_staff"])
    assert client.get(PERIODS, {"place": street}).json() == {"place_code": street, "periods": ["2024", "2025"]}
    missing = client.get(NEWEST, {"place": street})
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"

    created = client.post_json(RUNS, {"place": street, "periods": ["2024", "2025"], "resamples": 300, "seed": 3})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["place_code"] == street and body["periods"] == ["2024", "2025"] and body["outcome"] == "G1"
    assert body["resamples"] == 300 and body["seed"] == 3 and body["x"] == "E1"
    assert body["panel"] == {"rows": 24, "communities": 12, "periods": ["2024", "2025"]}
    assert [m["mediator"] for m in body["mediators"]] == ["DIM_I", "DIM_II", "DIM_III", "COMPOSITE"]
    composite = body["mediators"][3]
    assert composite["label"] == "社会资本综合得分"
    assert composite["mediation"]["estimable"] is True and composite["mediation"]["indirect"]["ci_low"] > 0
    assert composite["fixed_effects"]["estimable"] is True
    assert "不是因果关系的证明" in body["caution"]

    again = client.post_json(RUNS, {"place": street, "periods": ["2025", "2024"], "resamples": 300, "seed": 3})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert MechanismResult.objects.count() == 1

    newest = client.get(NEWEST, {"place": street})
    assert newest.status_code == 200 and newest.json() == body


def test_not_estimable_parts_carry_a_reason(mech_world, make_client):
    from gongzhi.analytics.models import IndicatorSnapshot

    IndicatorSnapshot.objects.filter(indicator="DIM_III").update(score=50.0)
    client = make_client(mech_world.users["admin"])
    body = client.post_json(
        RUNS, {"place": mech_world.tree.street_a.code, "periods": ["2024", "2025"], "resamples": 200}
    ).json()
    dim3 = body["mediators"][2]
    assert dim3["mediation"]["estimable"] is False and dim3["mediation"]["reason"] == "constant_m"
    assert dim3["mediation"]["message"] == "中介变量没有差异" and dim3["mediation"]["a"] is None


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"periods": ["2024"]}, 400, "periods"),
        ({"periods": ["2024", "1999"]}, 400, "periods"),
        ({"periods": ["2024", "2025"], "outcome": "G2"}, 422, "outcome"),
        ({"periods": ["2024", "2025"], "resamples": 5}, 422, "resamples"),
        ({"periods": ["2024", "2025"], "seed": -1}, 422, "seed"),
        ({"periods": []}, 422, "periods"),
        ({}, 422, "periods"),
    ],
)
def test_bad_input_changes_nothing(mech_world, make_client, payload, status, field):
    client = make_client(mech_world.users["street_staff"])
    audits = AuditEvent.objects.count()
    response = client.post_json(RUNS, {"place": mech_world.tree.street_a.code, **payload})
    assert response.status_code == status, response.content
    assert field in error_of(response)["fields"]
    assert MechanismResult.objects.count() == 0 and AuditEvent.objects.count() == audits


@pytest.mark.parametrize(
    ("role", "read", "run"),
    [
        ("admin", 404, 201),  # 404: nothing stored yet
        ("street_staff", 404, 201),
        ("community_worker", 404, 404),  # covers only its community: street A is not its place
        ("teacher", 403, 403),
        ("other_admin", 404, 404),
    ],
)
def test_permissions(mech_world, make_client, role, read, run):
    client = make_client(mech_world.users[role])
    street = mech_world.tree.street_a.code
    response = client.get(NEWEST, {"place": street})
    assert response.status_code == read
    response = client.post_json(RUNS, {"place": street, "periods": ["2024", "2025"], "resamples": 200})
    assert response.status_code == run
    assert MechanismResult.objects.count() == (1 if run == 201 else 0)


def test_community_worker_reads_its_own_place(mech_world, make_client):
    from gongzhi.analytics.mechanism import services

    community = mech_world.tree.comm_a1
    client = make_client(mech_world.users["community_worker"])
    assert client.get(PERIODS, {"place": community.code}).json()["periods"] == ["2024", "2025"]
    # A stored result on its community (run by a planner) is readable; running is not the worker's.
    stored = MechanismResult.objects.create(
        place=community,
        config={"periods": ["2024", "2025"], "x": "E1", "outcome": "G1", "resamples": 200, "seed": 1, "alpha": 0.05},
        result={"panel": {"rows": 0, "communities": 0, "periods": []}, "mediators": []},
    )
    assert client.get(NEWEST, {"place": community.code}).json()["id"] == str(stored.pk)
    refused = client.post_json(RUNS, {"place": community.code, "periods": ["2024", "2025"]})
    assert refused.status_code == 403 and error_of(refused)["code"] == "permission_denied"
    assert services.MIN_COMMUNITIES == 5


def test_anonymous_gets_401(mech_world, make_client):
    client = make_client()
    assert client.get(NEWEST, {"place": mech_world.tree.street_a.code}).status_code == 401
    assert (
        client.post_json(RUNS, {"place": mech_world.tree.street_a.code, "periods": ["2024", "2025"]}).status_code == 401
    )


def test_malformed_place_is_422(mech_world, make_client):
    client = make_client(mech_world.users["admin"])
    response = client.get(NEWEST, {"place": "abc"})
    assert response.status_code == 422 and "place" in error_of(response)["fields"]
