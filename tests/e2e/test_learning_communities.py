"""Journey: a resident proposes a learning community on a phone, staff approve it at the desk, a neighbour joins."""

from __future__ import annotations

import pytest

from gongzhi.organizations.models import Membership, Organization
from tests import factories
from tests.organizations.conftest import PASSWORD, resident_with_account

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _login(page, base, phone, password):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def test_propose_approve_join(live_server, desk, phone, browser, tree):
    tree.street_a.name, tree.comm_a1.name = "九堡街道", "九堡社区"
    tree.street_a.save()
    tree.comm_a1.save()
    staff = factories.staff("street_staff", tree.street_a, phone="13900000031")
    grandma = resident_with_account(tree.comm_a1, name="钱桂英", phone="13900000032")
    neighbour = resident_with_account(tree.comm_a1, name="孙秀兰", phone="13900000033")

    # 1. A grandmother proposes 好婆婆学堂 on her phone.
    _login(phone, live_server.url, grandma.phone, PASSWORD)
    phone.get_by_role("link", name="我的学习共同体").click()
    phone.get_by_role("link", name="发起一个学习共同体").click()
    phone.get_by_label("名称").fill("好婆婆学堂")
    phone.get_by_label("学习主题").fill("科学育儿与隔代养育")
    phone.get_by_label("简介与约定").fill("每周三下午两点，社区活动室，欢迎带孙辈的奶奶外婆们。")
    shot(phone, "lc-propose-phone")
    phone.get_by_role("button", name="提交申请").click()
    phone.get_by_text("已提交申请").wait_for()
    phone.get_by_text("我发起的申请").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "lc-proposed-phone")

    # 2. Street staff approve it at the desk.
    _login(desk, live_server.url, staff.phone, "gongzhi-test-pw")
    desk.get_by_role("link", name="学习共同体").first.click()
    card = desk.locator(".org-proposals li", has_text="好婆婆学堂")
    card.get_by_text("钱*英", exact=False).wait_for()  # the masked proposer, never the full name
    assert "钱桂英" not in desk.content()
    shot(desk, "lc-review-desk")
    card.get_by_role("button", name="通过", exact=True).click()
    desk.get_by_text("已通过：好婆婆学堂 正式成立").wait_for()
    o = Organization.objects.get(name="好婆婆学堂")
    assert o.status == "active"

    # 3. A neighbour joins it on her phone.
    other = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
    page = other.new_page()
    page.set_default_timeout(10_000)
    _login(page, live_server.url, neighbour.phone, PASSWORD)
    page.get_by_role("link", name="我的学习共同体").click()
    page.locator(".org-card", has_text="好婆婆学堂").get_by_role("button", name="加入").click()
    page.get_by_text("已加入 好婆婆学堂").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "lc-joined-phone")
    other.close()

    # 4. Staff see two members: the proposer as leader, the neighbour as member — names masked.
    desk.get_by_role("link", name="好婆婆学堂").click()
    desk.get_by_role("heading", name="成员（2）").wait_for()
    members = desk.locator("table.members tbody")
    assert members.get_by_text("钱*英").is_visible() and members.get_by_text("孙*兰").is_visible()
    assert "孙秀兰" not in desk.content()
    shot(desk, "lc-detail-desk")
    assert Membership.objects.filter(organization=o, left_on__isnull=True).count() == 2

    # The grandmother, now its leader, sees it among her communities with a link to manage it.
    phone.get_by_role("link", name="我的学习共同体").click()
    phone.locator(".org-card", has_text="好婆婆学堂").get_by_text("负责人").wait_for()
    shot(phone, "lc-leader-phone")
