"""The provider → community network (gongzhi.activities.resource_use) on hand-made data: which edges, which weights,
which resources are shared across communities, in three queries; and its staff page."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from gongzhi.activities import resource_use
from gongzhi.activities import services as activity_services
from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.resources.models import Need
from gongzhi.resources.services import providers as services
from tests import factories

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 6, 1)


def _at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _activity(place, title, day, resources):
    return activity_services.activity_create(
        actor=None, place=place, kind="course_session", title=title, starts_at=_at(day), resources=resources
    )


def _need(community, resource, *, status="fulfilled", fulfilled_on=DAY, ref):
    """A need as the matching part of 联 leaves it (made directly: this tests the network reader, not matching)."""
    return Need.objects.create(
        ref=ref,
        community=community,
        direction="report",
        resource_kind=resource.kind,
        title=f"需求{ref}",
        raised_on=DAY - datetime.timedelta(days=30),
        status=status,
        resource=resource,
        matched_on=DAY - datetime.timedelta(days=20),
        fulfilled_on=fulfilled_on if status == "fulfilled" else None,
    )


@pytest.fixture
def net(tree):
    bank = services.provider_create(actor=None, place=tree.street_a, name="农商银行", kind="bank")
    uni = services.provider_create(actor=None, place=tree.street_a, name="工商大学", kind="university")
    far = services.provider_create(actor=None, place=tree.street_b, name="远方医院", kind="hospital")
    lectures = services.resource_create(actor=None, provider=bank, kind="teacher", name="金融讲座")
    fund = services.resource_create(actor=None, provider=bank, kind="fund", name="教育基金")
    talks = services.resource_create(actor=None, provider=uni, kind="volunteer_service", name="健康讲座")
    clinic = services.resource_create(actor=None, provider=far, kind="teacher", name="义诊")
    # In range, in STREET_A's subtree.
    _activity(tree.comm_a1, "金融讲座一", DAY, [lectures])
    _activity(tree.comm_a1, "金融讲座二", DAY + datetime.timedelta(days=7), [lectures, fund])
    _activity(tree.comm_a2, "金融讲座三", DAY, [lectures])
    _activity(tree.street_a, "街道健康日", DAY, [talks])
    _activity(tree.comm_a2, "没有用资源", DAY, [])
    _need(tree.comm_a1, fund, ref="N1")
    _need(tree.comm_a2, talks, ref="N2")
    # Not counted: out of range, outside the subtree, a need only matched.
    _activity(tree.comm_a1, "去年的讲座", DAY - datetime.timedelta(days=400), [lectures])
    _activity(tree.comm_b1, "别的街道", DAY, [lectures, clinic])
    _need(tree.comm_a1, talks, ref="N3", fulfilled_on=DAY - datetime.timedelta(days=400))
    _need(tree.comm_a2, lectures, ref="N4", status="matched")
    _need(tree.comm_b1, clinic, ref="N5")
    return {"bank": bank, "uni": uni, "lectures": lectures, "fund": fund, "talks": talks}


def _edges(network):
    return {
        (network.providers[e.provider_id].name, network.places[e.place_code].name): (e.activities, e.needs)
        for e in network.edges
    }


def test_network_edges_and_weights(tree, net, django_assert_num_queries):
    tree.comm_a1.name, tree.comm_a2.name, tree.street_a.name = "九堡社区", "客运中心社区", "九堡街道"
    for p in (tree.comm_a1, tree.comm_a2, tree.street_a):
        p.save()
    staff = factories.staff("street_staff", tree.street_a)
    access.user_grants(staff)  # read once per request, before
    with django_assert_num_queries(3):
        network = resource_use.resource_network(
            user=staff,
            place=tree.street_a,
            date_from=DAY - datetime.timedelta(days=30),
            date_to=DAY + datetime.timedelta(days=30),
        )
    assert _edges(network) == {
        ("农商银行", "九堡社区"): (2, 1),  # two lectures (one also used the fund) + the fund fulfilled a need
        ("农商银行", "客运中心社区"): (1, 0),
        ("工商大学", "九堡街道"): (1, 0),  # a street-wide activity reaches the street
        ("工商大学", "客运中心社区"): (0, 1),
    }
    assert set(network.providers) == {str(net["bank"].pk), str(net["uni"].pk)}
    bank = network.providers[str(net["bank"].pk)]
    assert (bank.activities, bank.needs, len(bank.places)) == (3, 1, 2)
    assert network.edges[0].provider_name == "农商银行" and network.edges[0].place_name == "九堡社区"
    shared = {s.name: s for s in network.shared}
    assert set(shared) == {"金融讲座", "健康讲座"}
    assert shared["金融讲座"].places == ["九堡社区", "客运中心社区"] and shared["金融讲座"].uses == 3
    assert shared["健康讲座"].places == ["九堡街道", "客运中心社区"]
    chart = network.chart()
    assert len(chart["nodes"]) == 2 + 3 and len(chart["links"]) == 4
    assert {n["category"] for n in chart["nodes"]} == {0, 1, 2}


def test_network_of_a_community_and_one_provider(tree, net):
    worker = factories.staff("community_worker", tree.comm_a1)
    network = resource_use.resource_network(
        user=worker,
        place=tree.comm_a1,
        date_from=DAY - datetime.timedelta(days=30),
        date_to=DAY + datetime.timedelta(days=30),
    )
    assert {(e.place_code, e.activities, e.needs) for e in network.edges} == {(tree.comm_a1.code, 2, 1)}
    assert network.shared == []
    only_uni = resource_use.resource_network(
        user=factories.staff("street_staff", tree.street_a),
        place=tree.street_a,
        date_from=DAY - datetime.timedelta(days=30),
        date_to=DAY + datetime.timedelta(days=30),
        provider_id=net["uni"].pk,
    )
    assert {e.provider_id for e in only_uni.edges} == {str(net["uni"].pk)}


def test_network_date_range_is_inclusive(tree, net):
    staff = factories.staff("street_staff", tree.street_a)
    one_day = resource_use.resource_network(user=staff, place=tree.street_a, date_from=DAY, date_to=DAY)
    assert sum(e.activities for e in one_day.edges) == 3  # the second lecture is a week later
    assert sum(e.needs for e in one_day.edges) == 2


@pytest.mark.parametrize(
    "role_place", [("community_worker", "comm_a2"), ("street_staff", "street_b"), ("teacher", "street_a")]
)
def test_network_is_for_staff_covering_the_place(tree, net, role_place):
    role, where = role_place
    user = factories.staff(role, getattr(tree, where))
    target = tree.comm_a1 if where != "street_a" else tree.street_a
    with pytest.raises(NotFound):
        resource_use.resource_network(user=user, place=target, date_from=DAY, date_to=DAY)


def _network_url() -> str:
    return reverse("resource_network")


def test_network_page(client, tree, net, django_assert_max_num_queries):
    url = _network_url()
    staff = factories.staff("street_staff", tree.street_a)
    client.force_login(staff)
    with django_assert_max_num_queries(12):
        response = client.get(url, {"from": "2025-05-01", "to": "2025-07-31"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="network-chart"' in body and 'id="network-data"' in body and "echarts.min.js" in body
    assert "农商银行" in body and "金融讲座" in body and "远方医院" not in body
    empty = client.get(url, {"from": "2020-01-01", "to": "2020-12-31"}).content.decode()
    assert 'id="network-empty"' in empty and "农商银行" not in empty
    bad = client.get(url, {"from": "2025-08-01", "to": "2025-07-01"})
    assert bad.status_code == 400 and "开始日期不能晚于结束日期" in bad.content.decode()


def test_network_page_refuses_non_staff(client, tree, net):
    url = _network_url()
    resident_user = factories.UserFactory()
    client.force_login(resident_user)
    assert client.get(url).status_code == 403
