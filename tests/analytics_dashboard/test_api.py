"""The 治理成效 API: the same snapshots as the pages, every response checked against the OpenAPI document."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.analytics.models import Computation, DiagnosisSnapshot, GraphSnapshot
from tests import factories
from tests.api.conftest import API, error_of

from .snapshots import store

pytestmark = pytest.mark.django_db


def test_dashboard_of_a_street(make_client, tree, people, measured):
    client = make_client(people.street_a)
    response = client.get(f"{API}/measure/dashboards/{tree.street_a.code}")
    assert response.status_code == 200
    body = response.json()
    assert body["place"] == {"code": tree.street_a.code, "name": tree.street_a.name, "level": "street"}
    assert body["period"] == "2025" and [p["key"] for p in body["periods"]] == ["2025", "2024"]
    assert body["crumbs"] == []  # the district is not theirs
    rows = measured.rows[(tree.street_a.code, "2025")]
    dims = {d["row"]: d for d in body["dimensions"]}
    assert dims["COMPOSITE"]["score"] == pytest.approx(rows["COMPOSITE"]["score"])
    i1 = next(i for i in body["indicators"] if i["id"] == "I1")
    assert i1["value"] == pytest.approx(rows["I1"]["value"]) and i1["unit"] == "share" and i1["goalposts"] == [0, 0.5]
    assert body["computation"]["threshold"] == 60 and body["computation"]["goalposts"]["I1"] == [0, 0.5]
    assert body["trend"]["year"]["periods"] == ["2024", "2025"] and body["trend"]["quarter"]["periods"] == []
    ranking = body["ranking"]
    assert ranking["mode"] == "children" and [r["code"] for r in ranking["rows"]] == [
        tree.comm_a2.code,
        tree.comm_a1.code,
    ]
    stored = DiagnosisSnapshot.objects.get(place=tree.street_a, period="2025")
    assert ";".join(body["diagnosis"]["dilemmas"]) == stored.dilemmas


def test_dashboard_of_a_community_with_a_dilemma(make_client, tree, people, measured):
    client = make_client(people.worker_a1)
    body = client.get(f"{API}/measure/dashboards/{tree.comm_a1.code}?period=2024").json()
    assert body["period"] == "2024" and body["ranking"] is None
    stored = DiagnosisSnapshot.objects.get(place=tree.comm_a1, period="2024")
    strategies = body["diagnosis"]["strategies"]
    assert [s["dimension"] for s in strategies] == stored.dilemmas.split(";")
    assert strategies[0]["actions"] and strategies[0]["strategy"]
    ii6 = next(i for i in body["indicators"] if i["id"] == "II6")
    assert ii6["value"] is None and ii6["score"] is None and ii6["value_text"] == "暂无数据"


def test_compare_every_community_of_the_district(make_client, tree, people, measured):
    body = make_client(people.admin).get(f"{API}/measure/dashboards/{tree.district.code}?compare=communities").json()
    assert body["ranking"]["mode"] == "communities"
    assert [r["code"] for r in body["ranking"]["rows"]] == [tree.comm_a2.code, tree.comm_b1.code, tree.comm_a1.code]


def test_nothing_computed_and_a_missing_period(make_client, tree, people):
    client = make_client(people.admin)
    body = client.get(f"{API}/measure/dashboards/{tree.district.code}").json()
    assert body["period"] is None and body["has_data"] is False and body["indicators"] == []
    store([(tree.comm_a1, 1)], ("2025",))
    body = client.get(f"{API}/measure/dashboards/{tree.comm_a1.code}?period=2020").json()
    assert body["period"] == "2020" and body["has_data"] is False and [p["key"] for p in body["periods"]] == ["2025"]


def test_network(make_client, tree, people, measured):
    body = make_client(people.street_a).get(f"{API}/measure/networks/{tree.comm_a2.code}").json()
    stored = GraphSnapshot.objects.get(place=tree.comm_a2, period="2025")
    assert body["truncated"] is True and body["nodes_total"] == stored.data["nodes_total"]
    assert len(body["nodes"]) == len(stored.data["nodes"]) and body["nodes"][0]["group"] in {"local", "new_citizen"}
    assert body["edges"] == stored.data["edges"]
    assert [m["id"] for m in body["measures"]] == ["NODES", "EDGES", "DENSITY", "III5", "III6", "III7"]


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("admin", "dashboards/DISTRICT", 200),
        ("street_a", "dashboards/DISTRICT", 404),
        ("street_b", "dashboards/STREET_A", 404),
        ("street_b", "networks/COMM_A1", 404),
        ("worker_a2", "dashboards/COMM_A1", 404),
        ("worker_a1", "networks/COMM_A1", 200),
        ("admin", "networks/STREET_A", 404),
        ("resident", "dashboards/COMM_A1", 403),
        (None, "dashboards/COMM_A1", 401),
        ("admin", "dashboards/330102009999", 404),
    ],
)
def test_permissions(make_client, tree, people, measured, who, path, status):
    codes = {"DISTRICT": tree.district.code, "STREET_A": tree.street_a.code, "COMM_A1": tree.comm_a1.code}
    for key, code in codes.items():
        path = path.replace(key, code)
    client = make_client(getattr(people, who) if who else None)
    response = client.get(f"{API}/measure/{path}")
    assert response.status_code == status
    if status != 200:
        assert error_of(response)["code"] in {"not_found", "permission_denied", "unauthenticated"}


@pytest.mark.parametrize("period", ["2025Q5", "25", "abc", "0000"])
def test_bad_period(make_client, tree, people, measured, period):
    response = make_client(people.admin).get(f"{API}/measure/dashboards/{tree.comm_a1.code}?period={period}")
    assert response.status_code in (400, 422)
    assert "period" in error_of(response)["fields"]
    response = make_client(people.admin).get(f"{API}/measure/dashboards/{tree.comm_a1.code}?compare=everything")
    assert response.status_code == 422 and "compare" in error_of(response)["fields"]


def test_api_reads_only_and_in_constant_queries(make_client, tree):
    extra = [factories.place_chain(f"330102001{n:03d}") for n in range(3, 7)]
    store([(tree.comm_b1, 1)], ("2024", "2025"), rollup_to=[tree.street_b])
    store(
        [(p, i) for i, p in enumerate([tree.comm_a1, tree.comm_a2, *extra])],
        ("2024", "2025"),
        rollup_to=[tree.street_a],
    )
    admin = factories.staff("admin", tree.district)
    client = make_client(admin)
    before = Computation.objects.count()
    counts = []
    for place in (tree.street_b, tree.street_a):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{API}/measure/dashboards/{place.code}").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    assert Computation.objects.count() == before
