"""Permission table: role (granted on) × place × action → allowed, forbidden (403: a place one covers without the
permission) or not found (404: a place outside one's subtree). Reports need analytics.view_dashboard (staff), open data
analytics.export_opendata (admins and street staff)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PLACES = ["district", "street_a", "street_b", "comm_a1", "comm_a2", "comm_b1"]
COVERS = {
    "admin": set(PLACES),
    "street_staff": {"street_a", "comm_a1", "comm_a2"},
    "community_worker": {"comm_a1"},
    "teacher": {"street_a", "comm_a1", "comm_a2"},
    "other_admin": set(),
}
VIEWERS = {"admin", "street_staff", "community_worker"}
EXPORTERS = {"admin", "street_staff"}


def _expected(role: str, key: str, allowed_roles: set[str]) -> int:
    if key not in COVERS[role]:
        return 404
    return 200 if role in allowed_roles else 403


TABLE = [(role, key) for role in COVERS for key in PLACES]


@pytest.mark.parametrize(("role", "key"), TABLE)
def test_permission_table(snap, role, key):
    user = snap.users[role]
    place = getattr(snap.tree, key)
    assert user.has_perm("analytics.view_dashboard", place) is (key in COVERS[role] and role in VIEWERS)
    assert user.has_perm("analytics.export_opendata", place) is (key in COVERS[role] and role in EXPORTERS)
    client = Client()
    client.force_login(user)
    view = _expected(role, key, VIEWERS)
    export = _expected(role, key, EXPORTERS)
    assert client.get(f"/measure/reports/{place.code}/2025/").status_code == view
    assert client.get(f"/measure/opendata/{place.code}/2025.csv").status_code == export
    assert client.get(f"/measure/opendata/{place.code}/2025.xlsx").status_code == export
    if view != 200:  # the PDF is refused before anything is drawn
        assert client.get(f"/measure/reports/{place.code}/2025/report.pdf").status_code == view


def test_anonymous_users_are_sent_to_log_in(snap):
    client = Client()
    for url in (
        "/measure/reports/",
        f"/measure/reports/{snap.tree.district.code}/2025/",
        f"/measure/reports/{snap.tree.district.code}/2025/report.pdf",
        f"/measure/opendata/{snap.tree.district.code}/2025.csv",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_an_unknown_or_malformed_place_is_404(snap):
    client = Client()
    client.force_login(snap.users["admin"])
    assert client.get("/measure/reports/330102009999/2025/").status_code == 404
    assert client.get("/measure/reports/abc/2025/").status_code == 404
    assert client.get("/measure/opendata/abc/2025.csv").status_code == 404
