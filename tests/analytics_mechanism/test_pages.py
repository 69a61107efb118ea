"""The 机制检验 page: who may view and run, bad input, constant query count, and a view never recomputes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.analytics.engine import mechanism as engine
from gongzhi.analytics.mechanism import services
from gongzhi.analytics.models import MechanismResult
from gongzhi.core.models import AuditEvent
from gongzhi.people.models import Role
from tests import factories

from .conftest import community_codes, plant

pytestmark = pytest.mark.django_db

PAGE = "/measure/mechanism/"
RUN = "/measure/mechanism/run/"
CAUTION = "这是观察数据中的关联，不是因果关系的证明"


def client_for(user, place=None) -> Client:
    client = Client()
    client.force_login(user)
    if place is not None:
        session = client.session
        session["gongzhi_place"] = place.code
        session.save()
    return client


def test_urls():
    assert reverse("analytics_mechanism") == PAGE and reverse("analytics_mechanism_run") == RUN


# role → (sees the page, may run)
ACCESS = {
    "admin": (True, True),
    "street_staff": (True, True),
    "community_worker": (True, False),
    "teacher": (False, False),
}


@pytest.mark.parametrize("role", ACCESS)
def test_permission_table(mech_world, role):
    sees, runs = ACCESS[role]
    client = client_for(mech_world.users[role])
    page = client.get(PAGE)
    assert page.status_code == (200 if sees else 403)
    if sees:
        text = page.content.decode()
        assert CAUTION in text
        assert ('id="mechanism-run"' in text) is runs
    response = client.post(RUN, {"periods": ["2024", "2025"], "outcome": "G1", "resamples": 200, "seed": 1})
    if runs:
        assert response.status_code == 302 and response["Location"] == PAGE
        assert MechanismResult.objects.count() == 1
    else:
        assert response.status_code == 403
        assert MechanismResult.objects.count() == 0


def test_anonymous_is_sent_to_login(mech_world):
    client = Client()
    assert client.get(PAGE).status_code == 302
    assert client.post(RUN, {"periods": ["2024", "2025"]}).status_code == 302
    assert MechanismResult.objects.count() == 0


def test_resident_without_staff_role_is_refused(mech_world):
    resident_user = factories.UserFactory()
    client = client_for(resident_user)
    assert client.get(PAGE).status_code == 403


def test_run_then_view_the_result(mech_world):
    client = client_for(mech_world.users["street_staff"])
    page = client.get(PAGE)
    assert 'id="mechanism-empty"' in page.content.decode()
    assert 'value="2024"' in page.content.decode() and 'value="2025"' in page.content.decode()
    response = client.post(
        RUN, {"periods": ["2024", "2025"], "outcome": "G1", "resamples": 300, "seed": 5}, follow=True
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "机制检验已完成" in text
    stored = MechanismResult.objects.get()
    assert stored.place_id == mech_world.tree.street_a.code and stored.requested_by == mech_world.users["street_staff"]
    for key in ("DIM_I", "DIM_II", "DIM_III", "COMPOSITE"):
        assert f'id="mediator-{key}"' in text
    composite = stored.result["mediators"][3]["mediation"]
    from gongzhi.analytics.mechanism.views import fmt

    assert fmt(composite["a"]["coef"]) in text and fmt(composite["indirect"]["coef"]) in text
    assert f"[{fmt(composite['indirect']['ci_low'])}, {fmt(composite['indirect']['ci_high'])}]" in text
    assert "间接效应 a·b" in text and "固定效应系数" in text and "<svg" in text
    assert CAUTION in text
    assert "12 个社区，24 条社区-时期记录" in text


def test_double_submit_stores_one_result(mech_world):
    client = client_for(mech_world.users["street_staff"])
    data = {"periods": ["2024", "2025"], "outcome": "G1", "resamples": 200, "seed": 9}
    assert client.post(RUN, data).status_code == 302
    assert client.post(RUN, data).status_code == 302
    assert MechanismResult.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"periods": ["2024"], "outcome": "G1", "resamples": 2000, "seed": 1}, "时期：请至少选择 2 个时期"),
        ({"periods": ["2024", "2019"], "outcome": "G1", "resamples": 2000, "seed": 1}, "时期："),
        ({"periods": ["2024", "2025"], "outcome": "G2", "resamples": 2000, "seed": 1}, "结果变量 Y："),
        ({"periods": ["2024", "2025"], "outcome": "G1", "resamples": 5, "seed": 1}, "自助抽样次数："),
        ({"periods": ["2024", "2025"], "outcome": "G1", "resamples": "很多", "seed": 1}, "自助抽样次数："),
        ({"periods": ["2024", "2025"], "outcome": "G1", "resamples": 2000, "seed": -3}, "随机种子："),
        ({"outcome": "G1", "resamples": 2000, "seed": 1}, "时期："),
    ],
)
def test_bad_input_changes_nothing(mech_world, data, message):
    client = client_for(mech_world.users["street_staff"])
    audits = AuditEvent.objects.count()
    response = client.post(RUN, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert MechanismResult.objects.count() == 0 and AuditEvent.objects.count() == audits


def test_too_few_communities_is_explained(mech_world):
    client = client_for(mech_world.users["street_staff_b"])
    response = client.post(RUN, {"periods": ["2024", "2025"], "outcome": "G1", "resamples": 200, "seed": 1})
    assert response.status_code == 400
    assert "只有 2 个，至少需要 5 个" in response.content.decode()
    assert MechanismResult.objects.count() == 0


def test_viewing_never_recomputes(mech_world, monkeypatch):
    street = mech_world.tree.street_a
    services.mechanism_run(place=street, periods=["2024", "2025"], resamples=200, actor=None)
    counts = (MechanismResult.objects.count(), AuditEvent.objects.count())

    def boom(*args, **kwargs):
        raise AssertionError("the page recomputed")

    monkeypatch.setattr(engine, "mediation", boom)
    monkeypatch.setattr(engine, "fixed_effects", boom)
    monkeypatch.setattr(services, "mechanism_run", boom)
    for role in ("street_staff", "community_worker", "admin"):
        place = street if role == "admin" else None
        response = client_for(mech_world.users[role], place).get(PAGE)
        assert response.status_code == 200
    assert (MechanismResult.objects.count(), AuditEvent.objects.count()) == counts


def _page_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(PAGE)
    assert response.status_code == 200
    return len(ctx)


def test_page_query_count_does_not_grow_with_the_data(mech_world):
    street = mech_world.tree.street_a
    staff = mech_world.users["street_staff"]
    client = client_for(staff)
    services.mechanism_run(place=street, periods=["2024", "2025"], resamples=200, actor=staff)
    small = _page_queries(client)
    # Twenty more communities and two more periods, and a newer result over all of it.
    more = community_codes(street, 32)[12:]
    plant(more, ("2022", "2023", "2024", "2025"), seed=4)
    plant(mech_world.street_a, ("2022", "2023"), seed=5)
    services.mechanism_run(place=street, periods=["2022", "2023", "2024", "2025"], resamples=200, actor=staff)
    large = _page_queries(client)
    assert large == small, (small, large)
    assert small <= 12


def test_the_page_of_a_place_shows_its_own_newest_result(mech_world):
    tree = mech_world.tree
    services.mechanism_run(place=tree.district, periods=["2024", "2025"], resamples=200, seed=1, actor=None)
    newest_street = services.mechanism_run(
        place=tree.street_a, periods=["2024", "2025"], resamples=200, seed=2, actor=None
    )
    text = client_for(mech_world.users["street_staff"]).get(PAGE).content.decode()
    assert "随机种子 2" in text and "随机种子 1" not in text
    text = client_for(mech_world.users["admin"]).get(PAGE).content.decode()  # the district: its own result
    assert "随机种子 1" in text and "14 个社区" in text
    assert newest_street.place_id == tree.street_a.code


def test_staff_of_another_district_sees_nothing_here(mech_world):
    other = factories.staff(Role.STREET_STAFF, mech_world.tree.other_street)
    services.mechanism_run(place=mech_world.tree.street_a, periods=["2024", "2025"], resamples=200, actor=None)
    response = client_for(other).get(PAGE)
    assert response.status_code == 200
    assert 'id="mechanism-empty"' in response.content.decode()
    assert 'id="mechanism-result"' not in response.content.decode()
