"""Journey (联 link): a resident reports a need on a phone; staff at the desk match a resource from the ranked list and
fulfil the need with an activity recorded right there; the resident's attendance is entered from the paper sheet; the
need shows fulfilled on the phone and the resident rates it."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from gongzhi.activities.models import Activity
from gongzhi.people import services as people_services
from gongzhi.resources.models import Need, Provider, Rating, Resource
from tests import factories

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"
RES_NAME, RES_PHONE = "李秀兰", "13911112222"


def _login(page, base, phone, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _provider(name: str, kind: str, place=None) -> Provider:
    p = Provider(ref=f"P-{name}", name=name, kind=kind, place=place)
    p.full_clean()
    p.save()
    return p


def _resource(provider: Provider, name: str, kind: str, area=(), **extra) -> Resource:
    r = Resource(ref=f"R-{name}", provider=provider, name=name, kind=kind, **extra)
    r.full_clean()
    r.save()
    r.service_area.add(*area)
    return r


def test_a_need_from_a_phone_is_matched_fulfilled_and_rated(live_server, desk, phone, browser, tree):
    base = live_server.url
    tree.street_a.name, tree.comm_a1.name = "九堡街道", "九堡社区"
    tree.street_a.save()
    tree.comm_a1.save()
    staff = factories.staff("street_staff", tree.street_a)
    factories.resident(tree.comm_a1, name=RES_NAME, phone=RES_PHONE)
    people_services.account_claim(phone=RES_PHONE, password=PASSWORD)
    bank = _provider("浙商银行九堡支行", "bank", tree.street_a)
    partner = factories.staff("resource_partner", tree.street_a)
    bank.members.add(partner)
    college = _provider("浙江大学医学院", "university", tree.district)
    lecture = _resource(
        bank, "防范电信诈骗讲座", "course", [tree.comm_a1], availability="每月第二个周六上午", terms="免费"
    )
    _resource(bank, "网点会议室", "venue", [tree.comm_a1], terms="需提前一周预约")
    _resource(college, "老年健康讲座", "course", [tree.street_a], availability="周末")
    _resource(college, "大学生志愿服务", "volunteer_service")

    # 1. A resident reports a need on a phone.
    _login(phone, base, RES_PHONE)
    phone.goto(f"{base}/me/needs/")
    phone.locator("#report-need").click()
    phone.get_by_label("需要什么").fill("老人想学防范电信诈骗")
    phone.get_by_label("需要哪类帮助").select_option("course")
    phone.get_by_label("详细说明").fill("小区里好几位老人接到冒充公检法的电话，希望请专业的人来讲讲。")
    phone.get_by_label("希望时间").fill("周六上午")
    phone.locator("#need-submit").click()
    phone.wait_for_url(re.compile(r"/me/needs/[0-9a-f-]+/$"))
    phone.get_by_text("需求已提交").wait_for()
    assert phone.locator("#need-status [data-status]").get_attribute("data-status") == "open"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "link-needs-1-reported-phone")
    need = Need.objects.get(title="老人想学防范电信诈骗")
    assert need.raised_by is not None and need.raised_by.name == RES_NAME and need.status == "open"

    # 2. Staff see it, and match the resource the ranking puts first.
    _login(desk, base, staff.phone)
    desk.goto(f"{base}/staff/needs/")
    desk.locator(f'tr[data-need="{need.ref}"] a').click()
    desk.locator("#candidates").wait_for()
    cards = desk.locator("#candidates li.candidate")
    assert cards.count() == 4
    first = cards.nth(0)
    assert first.get_attribute("data-resource") == lecture.ref
    for reason in ("同类资源", "服务范围覆盖本社区", "当前可用", "尚无居民评分", "该资源方当前没有承接中的需求"):
        first.get_by_text(reason).wait_for()
    assert cards.nth(1).locator("strong").first.inner_text() == "老年健康讲座"
    cards.nth(1).get_by_text("服务范围覆盖本街道").wait_for()
    cards.nth(3).get_by_text("类型不同：需要课程，这是志愿服务").wait_for()
    shot(desk, "link-needs-2-candidates-desk")
    first.get_by_role("button", name="接受匹配").click()
    desk.get_by_text("已匹配：防范电信诈骗讲座").wait_for()
    assert desk.locator("#need-status [data-status]").get_attribute("data-status") == "matched"
    desk.locator("#match-reasons").get_by_text("服务范围覆盖本社区").wait_for()
    desk.goto(f"{base}/staff/needs/?status=matched")
    desk.locator(f'tr[data-need="{need.ref}"]').get_by_text("防范电信诈骗讲座").wait_for()
    shot(desk, "link-needs-2b-list-desk")
    desk.goto(f"{base}/staff/needs/{need.pk}/")

    # 3. The lecture took place this morning: staff record it right here, and it fulfils the need.
    desk.locator("#need-fulfil").click()
    form = desk.locator("#new-form")
    form.get_by_label("活动名称").fill("防范电信诈骗讲座（九堡社区）")
    # Two hours ago — but not before today, the day the need was raised (the suite may run just after midnight).
    now = timezone.localtime()
    start = max(now - datetime.timedelta(hours=2), now.replace(hour=0, minute=0, second=0, microsecond=0))
    form.get_by_label("开始时间").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("地点").fill("九堡社区活动室")
    shot(desk, "link-needs-3-fulfil-desk")
    desk.locator("#new-submit").click()
    desk.get_by_text("已登记活动，需求已满足").wait_for()
    assert desk.locator("#need-status [data-status]").get_attribute("data-status") == "fulfilled"
    activity = Activity.objects.get(title="防范电信诈骗讲座（九堡社区）")
    assert list(activity.resources.all()) == [lecture] and list(activity.needs.all()) == [need]

    # 4. The resident came: staff enter the paper sign-in sheet.
    desk.goto(f"{base}/staff/activities/{activity.pk}/paper/")
    desk.get_by_label("签到名单").fill(f"{RES_NAME} {RES_PHONE}")
    desk.get_by_role("button", name="保存签到").click()
    desk.get_by_text("已保存 1 人").wait_for()
    desk.goto(f"{base}/staff/needs/{need.pk}/")
    desk.locator("#need-activities").get_by_text("1 人到场").wait_for()
    shot(desk, "link-needs-4-fulfilled-desk")

    # 5. On the phone the need shows fulfilled, with what was done; the resident rates it, once.
    phone.goto(f"{base}/me/needs/")
    card = phone.locator(f'li[data-need="{need.ref}"]')
    assert card.locator("[data-status]").get_attribute("data-status") == "fulfilled"
    card.get_by_text("已开展：防范电信诈骗讲座（九堡社区）").wait_for()
    shot(phone, "link-needs-5-fulfilled-phone")
    card.get_by_role("link", name="评价这次服务").click()
    phone.get_by_label("5 非常满意").check()
    phone.get_by_label("意见").fill("讲得很实在，老人们都听懂了。")
    shot(phone, "link-needs-6-rate-form-phone")
    phone.locator("#rate-submit").click()
    phone.get_by_text("谢谢您的评价").wait_for()
    phone.locator("#rated").get_by_text("5 分").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "link-needs-7-rated-phone")
    rating = Rating.objects.get()
    assert (rating.need, rating.resource, rating.score) == (need, lecture, 5)
    need.refresh_from_db()
    assert need.status == "fulfilled" and need.fulfilled_on == timezone.localdate(activity.starts_at)

    # 6. The bank's own account sees the need matched to it, what was done and the rating — not who raised it.
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        bank_page = ctx.new_page()
        bank_page.set_default_timeout(10_000)
        _login(bank_page, base, partner.phone)
        bank_page.goto(f"{base}/partner/needs/")
        item = bank_page.locator(f'li[data-need="{need.ref}"]')
        item.get_by_text("居民评价：5.0 分（1 人）").wait_for()
        assert RES_NAME not in bank_page.content()
        shot(bank_page, "link-needs-8-partner-desk")
    finally:
        ctx.close()
