"""测评设置 and 指标计算 pages: who sees and does what (role × place × action), the forms' Chinese errors (nothing
written), a double submit queues once, the htmx table polls while a computation is live, constant query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.analytics import services
from gongzhi.analytics.models import Computation, MeasureSettings
from gongzhi.people.models import Role
from gongzhi.web.middleware import SESSION_KEY
from tests import factories

pytestmark = pytest.mark.django_db

GRANTS = {
    "admin": (Role.ADMIN, "district"),
    "street_staff": (Role.STREET_STAFF, "street_a"),
    "community_worker": (Role.COMMUNITY_WORKER, "comm_a1"),
    "teacher": (Role.TEACHER, "street_a"),
}
# role → (sees both pages, may submit the forms)
ACCESS = {
    "admin": (True, True),
    "street_staff": (True, True),
    "community_worker": (True, False),
    "teacher": (False, False),
}


def _login(client, tree, role):
    grant, key = GRANTS[role]
    user = factories.staff(grant, getattr(tree, key))
    client.force_login(user)
    return user, getattr(tree, key)


def _settings_post(**extra):
    data = {"weighting": "equal", "threshold": "55", "graph_limit": "40", "note": "调整阈值"}
    from gongzhi.analytics.engine import spec

    for s in spec.CORE:
        if s.scored:
            data[f"lo_{s.id}"] = str(s.lo)
            data[f"hi_{s.id}"] = str(s.hi)
    data.update(extra)
    return data


@pytest.mark.parametrize("role", list(ACCESS))
@override_settings(ANALYTICS_INLINE=False)
def test_permission_table(client, tree, role):
    sees, acts = ACCESS[role]
    user, place = _login(client, tree, role)
    for name in ("measure_settings", "measure_computations", "measure_computations_table"):
        assert client.get(reverse(name)).status_code == (200 if sees else 403), name
    posted = client.post(reverse("measure_settings"), _settings_post())
    assert posted.status_code == (302 if acts else 403)
    assert MeasureSettings.objects.filter(place=place).exists() is acts
    requested = client.post(reverse("measure_computations"), {"period": "2025"})
    assert requested.status_code == (302 if acts else 403)
    assert Computation.objects.filter(scope_code=place.code, requested_by=user).exists() is acts


@override_settings(ANALYTICS_INLINE=False)
def test_staff_act_on_their_current_place_only(client, tree):
    """A street's staff who put another street in the session still work on their own street (the middleware
    only keeps places they may use)."""
    _login(client, tree, "street_staff")
    session = client.session
    session[SESSION_KEY] = tree.street_b.code
    session.save()
    client.post(reverse("measure_computations"), {"period": "2025"})
    client.post(reverse("measure_settings"), _settings_post())
    assert list(Computation.objects.values_list("scope_code", flat=True)) == [tree.street_a.code]
    assert list(MeasureSettings.objects.values_list("place_id", flat=True)) == [tree.street_a.code]
    # Switching to a community of the street: the page and the request are that community's.
    session = client.session
    session[SESSION_KEY] = tree.comm_a2.code
    session.save()
    assert client.get(reverse("measure_computations")).context["place"] == tree.comm_a2
    client.post(reverse("measure_computations"), {"period": "2025"})
    assert Computation.objects.filter(scope_code=tree.comm_a2.code).exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    for name in ("measure_settings", "measure_computations", "measure_computations_table"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_bad_settings_show_chinese_errors_and_write_nothing(client, tree):
    _login(client, tree, "street_staff")
    response = client.post(
        reverse("measure_settings"), _settings_post(hi_I1="0", threshold="120", graph_limit="1", w_I1="-2")
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "threshold" in form.errors and "graph_limit" in form.errors and "w_I1" in form.errors
    assert not MeasureSettings.objects.exists()
    # Errors the service finds (upper goalpost not above the lower) land on the indicator's inputs.
    response = client.post(reverse("measure_settings"), _settings_post(lo_I1="0.5", hi_I1="0.5"))
    body = response.content.decode()
    assert "I1 的目标值：上限（0.5）必须大于下限（0.5）" in body
    assert response.context["form"].errors["hi_I1"]
    response = client.post(reverse("measure_settings"), _settings_post(weighting="expert", w_I1="1"))
    assert "专家赋权时，维度 II 至少要有一个指标的权重大于 0" in response.content.decode()
    assert not MeasureSettings.objects.exists()


def test_settings_page_shows_what_is_in_force_and_the_history(client, tree):
    admin = factories.staff(Role.ADMIN, tree.district)
    services.measure_settings_change(place=tree.district, actor=admin, goalposts={"I4": [0, 0.1]}, note="区级调整")
    _login(client, tree, "street_staff")
    body = client.get(reverse("measure_settings")).content.decode()
    assert "沿用上级" in body and "区级调整" in body and "I4</span> 0.0→0.1" in body
    client.post(reverse("measure_settings"), _settings_post(weighting="entropy", note="街道用熵权"))
    response = client.get(reverse("measure_settings"))
    assert response.context["version"].place == tree.street_a
    assert response.context["config"].weighting == "entropy"
    assert [v.note for v in response.context["history"]] == ["街道用熵权", "区级调整"]
    # A version is complete: the street posted I4 as 0 → 0.2, so that is what holds for the street now.
    assert response.context["config"].goalposts["I4"] == (0.0, 0.2)


@override_settings(ANALYTICS_INLINE=False)
def test_a_double_submit_queues_once_and_the_table_polls_while_live(client, tree):
    _login(client, tree, "street_staff")
    first = client.post(reverse("measure_computations"), {"period": "2025"}, follow=True)
    second = client.post(reverse("measure_computations"), {"period": "2025"}, follow=True)
    assert Computation.objects.count() == 1
    assert "已提交 2025 的指标计算" in first.content.decode()
    assert "2025 的计算已在进行中，无需重复提交" in second.content.decode()
    table = client.get(reverse("measure_computations_table")).content.decode()
    assert 'hx-trigger="every 3s"' in table and "排队中" in table
    services.compute_now(period="2025", scope_code=tree.street_a.code)
    table = client.get(reverse("measure_computations_table")).content.decode()
    assert "hx-trigger" not in table and "已完成" in table


def test_a_bad_period_is_refused_in_chinese(client, tree):
    _login(client, tree, "street_staff")
    response = client.post(reverse("measure_computations"), {"period": "2025Q7"})
    assert response.status_code == 200
    assert "时期应为年份（如 2025）或季度（如 2025Q1）" in response.content.decode()
    assert not Computation.objects.exists()


def test_computation_page_lists_what_covers_and_what_is_inside(client, tree):
    for scope in ("", tree.district.code, tree.street_a.code, tree.comm_a1.code, tree.street_b.code):
        Computation.objects.create(period="2025", scope_code=scope, status="done", message="完成")
    _login(client, tree, "street_staff")
    rows = client.get(reverse("measure_computations")).context["rows"]
    assert sorted(c.scope_code for c in rows) == sorted(["", tree.district.code, tree.street_a.code, tree.comm_a1.code])


def _count(client, name) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse(name)).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_the_rows(client, tree):
    _login(client, tree, "street_staff")
    requester = factories.staff(Role.STREET_STAFF, tree.street_a)
    for i in range(2):
        Computation.objects.create(
            period=f"20{20 + i}", scope_code=tree.street_a.code, status="done", requested_by=requester
        )
        services.measure_settings_change(place=tree.street_a, actor=requester, threshold=50 + i)
    small = {
        name: _count(client, name)
        for name in ("measure_computations", "measure_computations_table", "measure_settings")
    }
    for i in range(2, 15):
        Computation.objects.create(
            period=f"20{20 + i}", scope_code=tree.comm_a1.code if i % 2 else "", status="done", requested_by=requester
        )
        services.measure_settings_change(place=tree.street_a if i % 2 else tree.district, actor=None, threshold=50 + i)
    large = {name: _count(client, name) for name in small}
    assert large == small
