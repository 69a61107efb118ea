"""The open-data API: a summary with the rules and the files, and the rows (paginated), checked against the OpenAPI
document; the same suppression as the files; permissions and a missing period in the one error shape."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from gongzhi.core.models import AuditEvent

pytestmark = pytest.mark.django_db

API = "/api/v1"


def test_the_summary_describes_the_dataset_and_its_files(snap, make_client):
    client = make_client(snap.users["admin"])
    response = client.get(f"{API}/measure/opendata/{snap.tree.district.code}/2025")
    assert response.status_code == 200
    body = response.json()
    assert body["place_name"] == "上城区" and body["period"] == "2025" and body["communities"] == 3
    assert body["suppressed_rows"] > 0 and body["rows"] > body["suppressed_rows"]
    assert body["columns"][:4] == ["place_code", "place_name", "period", "indicator"]
    assert any("1–4" in rule for rule in body["rules"])
    assert body["files"]["csv"] == f"/measure/opendata/{snap.tree.district.code}/2025.csv"
    assert body["files"]["rows"] == f"{API}/measure/opendata/{snap.tree.district.code}/2025/rows"
    assert body["computed_at"].startswith("2026-01-02T")


def test_the_rows_match_the_csv_and_are_audited(snap, make_client):
    client = make_client(snap.users["street_staff"])
    code = snap.tree.street_a.code
    rows = []
    page = 1
    while True:
        response = client.get(f"{API}/measure/opendata/{code}/2025/rows", {"page": page})
        assert response.status_code == 200
        body = response.json()
        rows += body["items"]
        if len(rows) >= body["count"]:
            break
        page += 1
    assert page > 1  # more than one page of 50
    web = Client()
    web.force_login(snap.users["street_staff"])
    csv_rows = list(csv.DictReader(io.StringIO(web.get(f"/measure/opendata/{code}/2025.csv").content.decode())))
    assert len(rows) == len(csv_rows)
    for api_row, csv_row in zip(rows, csv_rows, strict=True):
        assert api_row["place_code"] == csv_row["place_code"] and api_row["indicator"] == csv_row["indicator"]
        assert ";".join(api_row["suppressed"]) == csv_row["suppressed"]
        assert (api_row["value"] is None) == (csv_row["value"] == "")
    ii2 = next(r for r in rows if r["place_code"] == snap.tree.comm_a1.code and r["indicator"] == "II2")
    assert ii2["value"] is None and ii2["numerator"] is None and ii2["suppressed"] == ["value", "score", "numerator"]
    formats = list(
        AuditEvent.objects.filter(target_type="analytics_opendata").values_list("changes__format", flat=True)
    )
    assert formats.count("json") == page and formats.count("csv") == 1


@pytest.mark.parametrize(
    ("role", "key", "period", "status", "code"),
    [
        ("community_worker", "comm_a1", "2025", 403, "permission_denied"),
        ("street_staff", "district", "2025", 404, "not_found"),
        ("street_staff", "comm_b1", "2025", 404, "not_found"),
        ("admin", "district", "2023", 404, "not_found"),
        ("other_admin", "comm_a1", "2025", 404, "not_found"),
    ],
)
def test_refusals_have_the_one_error_shape(snap, make_client, role, key, period, status, code):
    client = make_client(snap.users[role])
    place = getattr(snap.tree, key)
    for path in (f"{API}/measure/opendata/{place.code}/{period}", f"{API}/measure/opendata/{place.code}/{period}/rows"):
        response = client.get(path)
        assert response.status_code == status
        assert response.json()["error"]["code"] == code


def test_anonymous_callers_get_401(snap, make_client):
    assert make_client().get(f"{API}/measure/opendata/{snap.tree.district.code}/2025").status_code == 401
