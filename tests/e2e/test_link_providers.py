"""Journey 联: street staff register a bank and its lecture series serving a community, pair it with the community and
add the bank's partner account; the partner logs in on a phone, sees their resource and records what the pairing
delivered; staff hold an activity in the community's learning space using the bank's lectures; the network page shows
the bank reaching the community."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.activities.models import Activity
from gongzhi.people import services as people
from gongzhi.resources.models import PairingDelivery, Provider
from gongzhi.resources.services import spaces as space_services
from tests import factories

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"
PARTNER_PHONE = "13700000001"
PARTNER_PW = "Partner-2026-pw"


def _login(page, base, phone, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def test_provider_partner_delivery_and_network(live_server, desk, phone, tree):
    base = live_server.url
    names = {"street_a": "九堡街道", "comm_a1": "九堡社区", "comm_a2": "客运中心社区", "street_b": "采荷街道"}
    for key, name in names.items():
        place = getattr(tree, key)
        place.name = name
        place.save()
    staff = factories.staff("street_staff", tree.street_a, phone="13900000102")
    space_services.space_create(
        actor=None,
        place=tree.comm_a1,
        name="九堡社区学习室",
        capacity=40,
        opens_at=datetime.time(0, 0),
        closes_at=datetime.time(23, 59),
    )
    today = timezone.localdate()

    # 1. Staff register the bank.
    _login(desk, base, staff.phone)
    desk.goto(f"{base}/providers/")
    desk.get_by_role("link", name="登记资源方").click()
    desk.get_by_label("登记区划").select_option(label="九堡街道（街道/乡镇）")
    desk.get_by_label("名称").fill("九堡农商银行")
    desk.get_by_label("类型").select_option(label="银行")
    desk.get_by_label("简介").fill("与九堡街道共建金融知识教育基地")
    desk.get_by_label("联系人").fill("李经理")
    desk.get_by_label("联系电话").fill("0571-86000000")
    desk.get_by_role("button", name="保存").click()
    desk.get_by_text("已登记资源方：九堡农商银行").wait_for()
    bank = Provider.objects.get(name="九堡农商银行")

    # 2. … and its lecture series, serving 九堡社区.
    desk.get_by_role("link", name="添加资源").click()
    desk.get_by_label("类型").select_option(label="师资/专家")
    desk.get_by_label("名称").fill("金融知识讲座")
    desk.get_by_label("九堡社区（社区/村）").check()
    desk.get_by_label("可用时间").fill("每月第二个周六上午")
    desk.get_by_label("条件").fill("免费，需提前两周预约")
    desk.get_by_label("每月可承接次数").fill("2")
    shot(desk, "link-resource-form-desk")
    desk.get_by_role("button", name="保存").click()
    desk.get_by_text("已添加资源：金融知识讲座").wait_for()

    # 3. … a partner account for the bank's own staff.
    desk.get_by_label("资源方账号手机号").fill(PARTNER_PHONE)
    desk.get_by_label("姓名").fill("张柜员")
    desk.get_by_role("button", name="添加账号").click()
    desk.get_by_text("已添加资源方账号 137****0001").wait_for()

    # 4. … and a pairing (结对) with 九堡社区.
    desk.get_by_role("link", name="建立结对").click()
    desk.get_by_label("结对街道/社区").select_option(label="九堡社区（社区/村）")
    desk.get_by_label("开始日期").fill((today - datetime.timedelta(days=30)).isoformat())
    desk.get_by_label("承诺内容").fill("每季度一次金融知识讲座，每年资助学习空间建设")
    desk.get_by_role("button", name="保存").click()
    desk.get_by_text("已建立结对：九堡社区").wait_for()
    desk.goto(f"{base}/providers/{bank.pk}/")
    desk.locator("table.provider-resources").get_by_text("金融知识讲座").wait_for()
    shot(desk, "link-provider-detail-desk")
    desk.goto(f"{base}/providers/")
    desk.locator("table.providers").get_by_role("link", name="九堡农商银行").wait_for()
    shot(desk, "link-provider-list-desk")
    desk.goto(f"{base}/providers/pairings/")
    desk.locator("table.pairings").get_by_text("九堡农商银行").wait_for()
    shot(desk, "link-pairing-list-desk")

    # 5. The partner claims the account (an SMS code in real life) and logs in on a phone.
    people.account_claim(phone=PARTNER_PHONE, password=PARTNER_PW)
    _login(phone, base, PARTNER_PHONE, PARTNER_PW)
    phone.goto(f"{base}/partner/")
    phone.locator(".partner-resources").get_by_text("金融知识讲座").wait_for()
    phone.locator(".partner-pairings").get_by_text("九堡社区").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "link-partner-home-phone")
    phone.locator(".partner-pairings").get_by_role("link", name="登记履约").click()
    phone.get_by_label("内容").fill("防范电信诈骗讲座")
    phone.get_by_label("数量").fill("1")
    phone.get_by_role("button", name="登记").click()
    phone.get_by_text("已登记履约：防范电信诈骗讲座").wait_for()
    phone.locator("table.deliveries").get_by_text("防范电信诈骗讲座").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "link-partner-delivery-phone")
    delivery = PairingDelivery.objects.get()
    assert delivery.recorded_by.phone == PARTNER_PHONE and delivery.delivered_on == today

    # 6. Staff hold an activity in the learning space, using the bank's lectures.
    day = today + datetime.timedelta(days=1)
    desk.goto(f"{base}/staff/activities/new/")
    desk.get_by_label("举办地").select_option(label="九堡社区（社区/村）")
    desk.get_by_label("类型").select_option(label="课程")
    desk.get_by_label("标题").fill("守好钱袋子：老年人防诈骗")
    desk.get_by_label("开始时间").fill(f"{day.isoformat()}T14:00")
    desk.get_by_label("结束时间").fill(f"{day.isoformat()}T16:00")
    desk.get_by_label("学习空间").select_option(label="九堡社区学习室（九堡社区，40 人，00:00–23:59）")
    desk.get_by_label("九堡农商银行 · 金融知识讲座（师资/专家）").check()
    shot(desk, "link-activity-form-desk")
    desk.get_by_role("button", name="保存").click()
    desk.get_by_text("已创建活动").wait_for()
    desk.locator("#activity-space").get_by_text("已预约").wait_for()
    desk.locator("#activity-resources").get_by_text("九堡农商银行 · 金融知识讲座").wait_for()
    shot(desk, "link-activity-detail-desk")
    activity = Activity.objects.get(title="守好钱袋子：老年人防诈骗")
    assert activity.booking is not None and list(activity.resources.values_list("name", flat=True)) == ["金融知识讲座"]

    # 7. The network page: the bank reaches 九堡社区.
    desk.goto(f"{base}/staff/network/resources/?from={today.replace(day=1).isoformat()}&to={day.isoformat()}")
    row = desk.locator("table.network-edges tbody tr", has_text="九堡农商银行")
    row.get_by_text("九堡社区").wait_for()
    assert row.locator("td.num").first.inner_text() == "1"
    desk.locator("#network-chart canvas").wait_for()
    desk.wait_for_timeout(300)
    shot(desk, "link-network-desk")
