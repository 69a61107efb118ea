"""The pipeline API: every response checked against the OpenAPI document; role × place relation × action; a double
request returns the live computation; bad input in the one error shape, changing nothing; constant query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from gongzhi.analytics import services
from gongzhi.analytics.models import Computation, MeasureSettings
from gongzhi.people.models import Role
from tests import factories
from tests.api.conftest import API, error_of

pytestmark = pytest.mark.django_db

GRANTS = {
    "community_worker": (Role.COMMUNITY_WORKER, "comm_a1"),
    "street_staff": (Role.STREET_STAFF, "street_a"),
    "admin": (Role.ADMIN, "district"),
    "teacher": (Role.TEACHER, "street_a"),
}
# place relations, seen from the community worker of comm_a1: same community, sibling community, parent street,
# other district.
PLACES = ["comm_a1", "comm_a2", "street_a", "other_comm"]
VIEWS = {
    "community_worker": {"comm_a1"},
    "street_staff": {"comm_a1", "comm_a2", "street_a"},
    "admin": {"comm_a1", "comm_a2", "street_a"},
    "teacher": set(),
}
PLANS = {"community_worker": set(), "street_staff": VIEWS["street_staff"], "admin": VIEWS["admin"], "teacher": set()}
TABLE = [(role, key) for role in GRANTS for key in PLACES]


@pytest.mark.parametrize(("role", "key"), TABLE)
@override_settings(ANALYTICS_INLINE=False)
def test_permission_table(make_client, tree, role, key):
    grant, at = GRANTS[role]
    client = make_client(factories.staff(grant, getattr(tree, at)))
    code = getattr(tree, key).code
    sees, plans = key in VIEWS[role], key in PLANS[role]
    denied = 403 if sees else 404
    assert client.get(f"{API}/measure/computations?place={code}").status_code == (200 if sees else 404)
    assert client.get(f"{API}/measure/settings?place={code}").status_code == (200 if sees else 404)
    made = client.post_json(f"{API}/measure/computations", {"period": "2025", "place_code": code})
    assert made.status_code == (201 if plans else denied)
    changed = client.put(
        f"{API}/measure/settings",
        data=f'{{"place_code": "{code}", "threshold": 55}}',
        content_type="application/json",
    )
    assert changed.status_code == (200 if plans else denied)
    assert Computation.objects.filter(scope_code=code).exists() is plans
    assert MeasureSettings.objects.filter(place_id=code).exists() is plans
    if plans:
        one = made.json()["id"]
        assert client.get(f"{API}/measure/computations/{one}").status_code == 200


@override_settings(ANALYTICS_INLINE=False)
def test_a_double_request_returns_the_live_one(make_client, tree):
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    first = client.post_json(f"{API}/measure/computations", {"period": "2025", "place_code": tree.street_a.code})
    second = client.post_json(f"{API}/measure/computations", {"period": "2025", "place_code": tree.street_a.code})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["status"] == "queued" and first.json()["status_label"] == "排队中"
    assert Computation.objects.count() == 1


def test_a_request_runs_and_reports_progress(make_client, tree):
    """Inline in tests (settings.ANALYTICS_INLINE): the answer already shows it done."""
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    made = client.post_json(f"{API}/measure/computations", {"period": "2025", "place_code": tree.comm_a1.code})
    body = client.get(f"{API}/measure/computations/{made.json()['id']}").json()
    assert body["status"] == "done" and body["progress_done"] == body["progress_total"] == 7
    assert body["communities"] == 1 and body["requested_by"]
    listed = client.get(f"{API}/measure/computations?place={tree.street_a.code}&period=2025").json()
    assert [c["id"] for c in listed["items"]] == [made.json()["id"]]


def test_bad_input_changes_nothing(make_client, tree):
    client = make_client(factories.staff(Role.ADMIN, tree.district))
    bad_period = client.post_json(f"{API}/measure/computations", {"period": "25", "place_code": tree.district.code})
    assert bad_period.status_code == 400 and "period" in error_of(bad_period)["fields"]
    unknown = client.post_json(f"{API}/measure/computations", {"period": "2025", "place_code": "330102009009"})
    assert unknown.status_code == 404 and "place_code" in error_of(unknown)["fields"]
    malformed = client.post_json(f"{API}/measure/computations", {"period": "2025", "place_code": "33"})
    assert malformed.status_code == 422
    settings = client.put(
        f"{API}/measure/settings",
        data=f'{{"place_code": "{tree.district.code}", "goalposts": {{"I1": [1, 0]}}, "threshold": 101}}',
        content_type="application/json",
    )
    error = error_of(settings)
    assert settings.status_code == 400 and set(error["fields"]) == {"goalposts.I1", "threshold"}
    assert "上限" in error["fields"]["goalposts.I1"][0]
    wrong_type = client.put(
        f"{API}/measure/settings",
        data=f'{{"place_code": "{tree.district.code}", "weighting": "vote"}}',
        content_type="application/json",
    )
    assert wrong_type.status_code == 422
    assert not Computation.objects.exists() and not MeasureSettings.objects.exists()


def test_settings_api_shows_the_settings_in_force_and_the_versions(make_client, tree):
    services.measure_settings_change(place=tree.district, actor=None, weighting="entropy", note="区级")
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    body = client.get(f"{API}/measure/settings?place={tree.comm_a1.code}").json()
    assert body["config"]["weighting"] == "entropy" and body["version"]["place_code"] == tree.district.code
    assert body["versions"] == [] and body["config"]["goalposts"]["I1"] == [0.0, 0.5]
    put = client.put(
        f"{API}/measure/settings",
        data=f'{{"place_code": "{tree.comm_a1.code}", "weighting": "expert", '
        '"expert_weights": {"I1": 2, "II1": 1, "III1": 1}, "graph_limit": 20}',
        content_type="application/json",
    ).json()
    assert put["version"]["place_code"] == tree.comm_a1.code and put["config"]["graph_limit"] == 20
    assert put["config"]["expert_weights"] == {"I1": 2.0, "II1": 1.0, "III1": 1.0}
    assert len(put["versions"]) == 1


def test_anonymous_callers_are_refused(anon, tree):
    assert anon.get(f"{API}/measure/computations?place={tree.district.code}").status_code == 401
    assert (
        anon.post_json(f"{API}/measure/computations", {"period": "2025", "place_code": tree.district.code}).status_code
        == 401
    )


def test_list_query_count_is_constant(make_client, tree):
    client = make_client(factories.staff(Role.ADMIN, tree.district))
    requester = factories.staff(Role.STREET_STAFF, tree.street_a)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{API}/measure/computations?place={tree.district.code}").status_code == 200
        return len(ctx.captured_queries)

    Computation.objects.create(period="2020", scope_code=tree.district.code, status="done", requested_by=requester)
    few = count()
    for year in range(2001, 2020):
        Computation.objects.create(
            period=str(year), scope_code=tree.comm_a1.code, status="done", requested_by=requester
        )
    assert count() == few
