"""Journey (育): a volunteer signs up on a phone; staff record the event's hours at the desk; the team leader confirms
them on a phone (never their own); the volunteer sees the confirmed hours on their phone and prints a certificate."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from gongzhi.activities.models import ActivitySignup, VolunteerHours
from gongzhi.activities.volunteering import services
from gongzhi.learning.models import PointsEntry
from gongzhi.organizations import services as organizations
from tests import factories
from tests.volunteering.conftest import PASSWORD, resident_with_account

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAFF_PW = "gongzhi-test-pw"


def _login(page, base, phone, password):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _phone_context(browser):
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    return ctx, page


def test_leader_confirms_hours_and_the_volunteer_sees_them(live_server, desk, phone, browser, tree):
    base = live_server.url
    tree.street_a.name, tree.comm_a1.name = "九堡街道", "九堡社区"
    tree.street_a.save()
    tree.comm_a1.save()
    staff = factories.staff("community_worker", tree.comm_a1, phone="13900000041")
    team = organizations.organization_create(
        actor=None, place=tree.comm_a1, kind="volunteer_team", name="小蜜蜂志愿服务队"
    )
    leader, leader_user = resident_with_account(tree.comm_a1, "沈蜂队长")
    volunteer, volunteer_user = resident_with_account(tree.comm_a1, "陆小蜂")
    for r, role in ((leader, "leader"), (volunteer, "member")):
        organizations.membership_add(
            actor=None, organization=team, resident=r, role=role, joined_on=datetime.date(2024, 6, 1)
        )
    start = timezone.now() - datetime.timedelta(hours=4)
    done = services.volunteer_event_create(
        actor=None,
        team=team,
        title="垃圾分类桶边督导",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        venue="九堡社区东区投放点",
    )
    soon = timezone.now() + datetime.timedelta(days=3)
    upcoming = services.volunteer_event_create(
        actor=None,
        team=team,
        title="敬老院探访",
        starts_at=soon,
        ends_at=soon + datetime.timedelta(hours=2),
        capacity=6,
    )

    # 1. The volunteer signs up for the next event on a phone.
    _login(phone, base, volunteer_user.phone, PASSWORD)
    phone.get_by_role("link", name="我的志愿服务").click()
    phone.locator(f"#event-{upcoming.pk}").get_by_role("button", name="报名").click()
    phone.get_by_text("已报名：敬老院探访").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "volunteering-1-signup-phone")
    assert ActivitySignup.objects.filter(activity=upcoming, resident=volunteer, status="signed_up").count() == 1

    # 2. Staff record the hours of the event that took place, at the desk (not confirming them).
    _login(desk, base, staff.phone, STAFF_PW)
    desk.get_by_role("link", name="志愿服务队").click()
    desk.locator("#teams").get_by_text("小蜜蜂志愿服务队").wait_for()
    shot(desk, "volunteering-2a-teams-desk")
    desk.get_by_role("link", name="小蜜蜂志愿服务队").click()
    shot(desk, "volunteering-2b-team-desk")
    desk.get_by_role("link", name="垃圾分类桶边督导").click()
    desk.locator("#record-hours").click()
    desk.locator(f"#hours-{volunteer.pk}").fill("3")
    desk.locator(f"#hours-{leader.pk}").fill("3")
    shot(desk, "volunteering-2-record-desk")
    desk.locator("#bulk-submit").click()
    desk.get_by_text("已记录 2 人的时长").wait_for()
    shot(desk, "volunteering-3-recorded-desk")
    entry = VolunteerHours.objects.get(resident=volunteer, activity=done)
    assert entry.confirmed_at is None and entry.recorded_by == staff

    # 3. The leader confirms the volunteer's hours on a phone; their own hours are not offered to them.
    ctx, leader_phone = _phone_context(browser)
    try:
        _login(leader_phone, base, leader_user.phone, PASSWORD)
        leader_phone.get_by_role("link", name="志愿服务队").click()
        leader_phone.locator("#to-confirm-link").click()
        item = leader_phone.locator(f"#entry-{entry.pk}")
        item.get_by_text("陆*蜂").wait_for()  # masked name
        leader_phone.locator("#own-pending").wait_for()  # their own hours wait for someone else
        own = VolunteerHours.objects.get(resident=leader, activity=done)
        assert leader_phone.locator(f"#entry-{own.pk}").count() == 0
        assert "陆小蜂" not in leader_phone.content()
        assert leader_phone.evaluate("document.documentElement.scrollWidth") <= 390
        shot(leader_phone, "volunteering-4-to-confirm-phone")
        item.get_by_role("button", name="确认").click()
        leader_phone.get_by_text("已确认 陆*蜂 的 3 小时").wait_for()
        shot(leader_phone, "volunteering-5-confirmed-phone")
    finally:
        ctx.close()
    entry.refresh_from_db()
    assert entry.confirmed_by == leader_user
    assert PointsEntry.objects.get(resident=volunteer, source_type="volunteer_hours").points == 15
    assert VolunteerHours.objects.get(resident=leader, activity=done).confirmed_at is None

    # 4. The volunteer sees the confirmed hours on the phone, and the certificate.
    phone.goto(f"{base}/me/volunteering/")
    phone.locator("#my-hours-link").click()
    phone.locator("#confirmed-total").get_by_text("3").wait_for()
    assert "已确认" in phone.locator("#entries").inner_text()
    assert "垃圾分类桶边督导" in phone.locator("#entries").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "volunteering-6-my-hours-phone")
    phone.get_by_role("link", name="打印志愿服务证明").click()
    phone.locator("#certificate-total").wait_for()
    assert phone.locator("#certificate-total").inner_text() == "3"
    assert "陆小蜂" in phone.content()
    shot(phone, "volunteering-7-certificate-phone")
    # The certificate as printed (A4, print CSS: no buttons), on a desk-sized screen.
    ctx = browser.new_context(viewport={"width": 900, "height": 1200}, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        _login(page, base, volunteer_user.phone, PASSWORD)
        page.goto(f"{base}/me/volunteering/certificate/")
        page.emulate_media(media="print")
        assert not page.locator(".tools").is_visible()
        shot(page, "volunteering-8-certificate-print")
        assert page.pdf(format="A4")[:4] == b"%PDF"
    finally:
        ctx.close()
    assert entry.hours == Decimal(3)
