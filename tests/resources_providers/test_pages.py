"""Provider pages: lists with filters, the detail (resources, pairings, deliveries, where it reached, accounts), forms
with Chinese field errors that change nothing, the partner's "我的资源" page, and constant query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gongzhi.activities import services as activity_services
from gongzhi.resources.models import Pairing, PairingDelivery, Provider, Resource
from gongzhi.resources.services import providers as services

pytestmark = pytest.mark.django_db


def test_list_and_filters(client, pw):
    client.force_login(pw.users["admin"])
    url = reverse("provider_list")
    body = client.get(url).content.decode()
    assert "农商银行九堡支行" in body and "浙江工商大学" in body and "登记资源方" in body
    assert "资源网络" in body  # the network page exists: linked
    assert "浙江工商大学" not in client.get(url, {"kind": "bank"}).content.decode()
    assert "农商银行九堡支行" not in client.get(url, {"area": pw.tree.comm_b1.code}).content.decode()
    assert "农商银行九堡支行" not in client.get(url, {"q": "大学"}).content.decode()
    services.provider_update(actor=None, provider=pw.university, active=False)
    assert "浙江工商大学" not in client.get(url).content.decode()  # active ones by default
    assert "浙江工商大学" in client.get(url, {"active": "0"}).content.decode()


def test_detail_shows_resources_pairings_deliveries_reach_and_accounts(client, pw):
    services.delivery_record(
        actor=pw.users["partner"], pairing=pw.pairing, delivered_on=timezone.localdate(), description="防诈骗讲座"
    )
    activity_services.activity_create(
        actor=None,
        place=pw.tree.comm_a1,
        kind="course_session",
        title="理财入门",
        starts_at=timezone.now(),
        resources=[pw.lectures],
    )
    client.force_login(pw.users["community_worker"])
    body = client.get(reverse("provider_detail", args=[pw.bank.pk])).content.decode()
    assert "金融知识讲座" in body and "每月第二个周六上午" in body  # resource
    assert "每季度一次金融知识讲座" in body  # pairing
    assert "防诈骗讲座" in body  # delivery
    assert 'class="table provider-reach"' in body  # reached COMM_A1
    assert "137****0001" in body and "13700000001" not in body  # the partner account, masked
    assert "添加账号" in body and "建立结对" in body


def test_partner_detail_has_no_account_management(client, pw):
    client.force_login(pw.users["partner"])
    body = client.get(reverse("provider_detail", args=[pw.bank.pk])).content.decode()
    assert "金融知识讲座" in body and "添加资源" in body
    assert "添加账号" not in body and "session-list members" not in body and "建立结对" not in body


def test_provider_form_errors_in_chinese_change_nothing(client, pw):
    client.force_login(pw.users["street_staff"])
    before = Provider.objects.count()
    response = client.post(
        reverse("provider_new"), {"place": pw.tree.street_a.code, "name": "", "kind": "bank", "contact_phone": "x"}
    )
    body = response.content.decode()
    assert response.status_code == 400 and "名称：这个字段是必填项。" in body
    response = client.post(
        reverse("provider_new"),
        {"place": pw.tree.street_a.code, "name": "杭州银行", "kind": "bank", "contact_phone": "打电话"},
    )
    assert "联系电话：请填写有效的电话号码" in response.content.decode()
    response = client.post(
        reverse("provider_new"), {"place": pw.tree.street_b.code, "name": "杭州银行", "kind": "bank"}
    )
    assert response.status_code == 400 and "登记区划：" in response.content.decode()  # not one of theirs
    assert Provider.objects.count() == before


def test_provider_new_then_resource_then_pairing(client, pw):
    client.force_login(pw.users["street_staff"])
    response = client.post(
        reverse("provider_new"), {"place": pw.tree.street_a.code, "name": "杭州银行", "kind": "bank"}
    )
    provider = Provider.objects.get(name="杭州银行")
    assert response.status_code == 302 and response["Location"] == reverse("provider_detail", args=[provider.pk])
    page = client.get(reverse("resource_new", args=[provider.pk])).content.decode()
    assert pw.tree.comm_b1.name in page  # streets and communities of the district
    response = client.post(
        reverse("resource_new", args=[provider.pk]),
        {"kind": "teacher", "name": "理财讲师", "service_area": [pw.tree.comm_a1.code, pw.tree.comm_a2.code]},
    )
    assert response.status_code == 302
    resource = Resource.objects.get(name="理财讲师")
    assert resource.service_area.count() == 2
    response = client.post(
        reverse("pairing_new", args=[provider.pk]),
        {"place": pw.tree.street_a.code, "starts_on": "2026-01-01", "ends_on": "2025-01-01", "commitments": "讲座"},
    )
    assert response.status_code == 400 and "结束日期：结束日期不能早于开始日期" in response.content.decode()
    assert not Pairing.objects.filter(provider=provider).exists()
    response = client.post(
        reverse("pairing_new", args=[provider.pk]),
        {"place": pw.tree.street_a.code, "starts_on": "2026-01-01", "commitments": "讲座"},
    )
    pairing = Pairing.objects.get(provider=provider)
    assert response.status_code == 302 and response["Location"] == reverse("pairing_detail", args=[pairing.pk])


def test_resource_edit_and_deactivate_pages(client, pw):
    client.force_login(pw.users["partner"])
    url = reverse("resource_edit", args=[pw.lectures.pk])
    assert "金融知识讲座" in client.get(url).content.decode()
    response = client.post(
        url, {"kind": "teacher", "name": "金融知识讲座", "service_area": [pw.tree.comm_a2.code], "capacity": "0"}
    )
    assert response.status_code == 400 and "每月可承接次数：" in response.content.decode()
    response = client.post(url, {"kind": "teacher", "name": "金融知识讲座", "service_area": [pw.tree.comm_a2.code]})
    assert response.status_code == 302
    assert list(pw.lectures.service_area.values_list("code", flat=True)) == [pw.tree.comm_a2.code]
    assert client.post(reverse("resource_deactivate", args=[pw.lectures.pk])).status_code == 302
    pw.lectures.refresh_from_db()
    assert not pw.lectures.active


def test_delivery_form_errors_and_success(client, pw):
    client.force_login(pw.users["partner"])
    url = reverse("pairing_delivery_add", args=[pw.pairing.pk])
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.post(url, {"delivered_on": tomorrow, "description": "讲座"})
    assert response.status_code == 400 and "日期：不能登记未来的日期" in response.content.decode()
    assert not PairingDelivery.objects.exists()
    response = client.post(
        url, {"delivered_on": timezone.localdate().isoformat(), "description": "讲座", "quantity": "2"}
    )
    assert response.status_code == 302
    body = client.get(reverse("pairing_detail", args=[pw.pairing.pk])).content.decode()
    end_url = reverse("pairing_end", args=[pw.pairing.pk])
    assert "讲座" in body and end_url not in body  # the partner may not end it
    client.force_login(pw.users["community_worker"])
    assert end_url in client.get(reverse("pairing_detail", args=[pw.pairing.pk])).content.decode()


def test_pairing_list_current_filter(client, pw):
    services.pairing_create(
        actor=None,
        provider=pw.university,
        place=pw.tree.street_a,
        starts_on=datetime.date(2020, 1, 1),
        ends_on=datetime.date(2020, 12, 31),
        commitments="已结束的结对",
    )
    client.force_login(pw.users["street_staff"])
    body = client.get(reverse("pairing_list")).content.decode()
    assert "每季度一次金融知识讲座" in body and "已结束的结对" in body
    body = client.get(reverse("pairing_list"), {"current": "1"}).content.decode()
    assert "每季度一次金融知识讲座" in body and "已结束的结对" not in body


def test_partner_home(client, pw):
    client.force_login(pw.users["partner"])
    body = client.get(reverse("partner_home")).content.decode()
    assert "我的资源" in body and "金融知识讲座" in body and "登记履约" in body
    assert "每季度一次金融知识讲座" in body


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_page_query_counts_are_constant(client, pw):
    client.force_login(pw.users["admin"])
    partner = pw.users["partner"]
    pages = [reverse("provider_list"), reverse("pairing_list"), reverse("provider_detail", args=[pw.bank.pk])]
    few = [_count(client, u) for u in pages]
    client.force_login(partner)
    few_partner = _count(client, reverse("partner_home"))
    for i in range(6):
        p = services.provider_create(actor=None, place=pw.tree.comm_a2, name=f"企业{i}", kind="company")
        services.resource_create(actor=None, provider=p, kind="course", name=f"课{i}", service_area=[pw.tree.comm_a2])
        services.resource_create(
            actor=None,
            provider=pw.bank,
            kind="course",
            name=f"银行课{i}",
            service_area=[pw.tree.comm_a1, pw.tree.comm_a2],
        )
        pairing = services.pairing_create(
            actor=None,
            provider=pw.bank,
            place=pw.tree.comm_b1 if i == 0 else pw.tree.comm_a2,
            starts_on=datetime.date(2020 + i, 1, 1),
            ends_on=datetime.date(2020 + i, 6, 1),
            commitments=f"承诺{i}",
        )
        services.delivery_record(
            actor=None, pairing=pairing, delivered_on=datetime.date(2020 + i, 2, 1), description="课"
        )
        activity_services.activity_create(
            actor=None,
            place=pw.tree.comm_a2,
            kind="course_session",
            title=f"活动{i}",
            starts_at=timezone.now(),
            resources=[pw.lectures],
        )
    assert _count(client, reverse("partner_home")) == few_partner
    client.force_login(pw.users["admin"])
    assert [_count(client, u) for u in pages] == few
