"""Journey: staff create a course with one seat and a session; on phones, A enrols, B waits, A cancels, B moves up."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.learning import services
from gongzhi.people import services as people_services
from tests import factories

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"


def _login(page, base, phone, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def test_course_with_one_seat_waitlist_moves_up(live_server, desk, browser, tree):
    tree.street_a.name, tree.comm_a1.name, tree.comm_a2.name = "九堡街道", "九堡社区", "客运中心社区"
    for p in (tree.street_a, tree.comm_a1, tree.comm_a2):
        p.save()
    staff = factories.staff("street_staff", tree.street_a, phone="13900000102")
    services.series_create(actor=None, place=tree.street_a, name="科学育儿")
    services.teacher_create(actor=None, place=tree.street_a, name="李医生", expertise="儿科")
    for phone, name, comm in (("13900000111", "陈美华", tree.comm_a1), ("13900000112", "刘秀英", tree.comm_a2)):
        factories.resident(comm, name=name, phone=phone)
        people_services.account_claim(phone=phone, password=PASSWORD)

    base = live_server.url
    _login(desk, base, staff.phone)
    desk.get_by_role("link", name="课程", exact=True).click()
    desk.get_by_role("link", name="新建课程").click()
    desk.get_by_label("课程名称").fill("好婆婆课堂·科学育儿")
    desk.get_by_label("主题系列").select_option(label="科学育儿")
    desk.get_by_label("李医生").check()
    desk.get_by_label("面向对象").fill("祖辈家长")
    desk.get_by_label("名额").fill("1")
    desk.get_by_role("button", name="保存").click()
    desk.get_by_text("已创建课程").wait_for()
    start = (timezone.localtime() + datetime.timedelta(days=3)).replace(hour=9, minute=30)
    desk.get_by_label("开始时间").fill(start.strftime("%Y-%m-%dT%H:%M"))
    desk.get_by_label("结束时间").fill((start + datetime.timedelta(hours=1, minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    desk.get_by_label("地点").fill("九堡社区活动室")
    desk.get_by_label("授课教师").select_option(label="李医生")
    desk.get_by_role("button", name="添加课次").click()
    desk.get_by_text("已添加课次").wait_for()
    desk.locator("table.sessions").get_by_text("好婆婆课堂·科学育儿 第1讲").wait_for()
    shot(desk, "course-detail-desk")

    def phone_page():
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

    ctx_a, a = phone_page()
    ctx_b, b = phone_page()
    try:
        _login(a, base, "13900000111")
        a.goto(f"{base}/learn/")
        card = a.locator("article.course-card", has_text="好婆婆课堂·科学育儿")
        card.get_by_role("button", name="报名").click()
        a.get_by_text("已报名《好婆婆课堂·科学育儿》").wait_for()
        card.locator(".badge", has_text="已报名").wait_for()
        assert a.evaluate("document.documentElement.scrollWidth") <= 390
        shot(a, "learn-enrolled-phone")

        _login(b, base, "13900000112")
        b.goto(f"{base}/learn/")
        card_b = b.locator("article.course-card", has_text="好婆婆课堂·科学育儿")
        card_b.get_by_role("button", name="报名候补").click()
        card_b.get_by_text("候补第 1 位").wait_for()
        shot(b, "learn-waitlisted-phone")

        card.get_by_role("button", name="取消报名").click()
        a.get_by_text("已取消报名").wait_for()

        b.reload()
        card_b.locator(".badge", has_text="已报名").wait_for()
        assert "候补第" not in card_b.inner_text()
        b.goto(f"{base}/learn/schedule/")
        b.get_by_text("好婆婆课堂·科学育儿 第1讲").wait_for()
        assert b.evaluate("document.documentElement.scrollWidth") <= 390
        shot(b, "my-schedule-phone")

        # B's points page: an award and a reversal, with reasons.
        from gongzhi.people.models import Resident

        rb = Resident.objects.get(phone="13900000112")
        e = services.points_award(
            resident=rb, rule_code="pass_test", source_type="test", source_id="T1", reason="育儿知识测试"
        )
        services.points_award(resident=rb, rule_code="adopted_proposal", source_type="proposal", source_id="P1")
        assert e is not None
        services.points_reverse(entry=e, reason="重复登记，冲正", actor=staff)
        b.get_by_role("link", name="我的积分").first.click()
        b.locator("#balance").get_by_text("30").wait_for()
        b.get_by_text("重复登记，冲正").wait_for()
        assert b.evaluate("document.documentElement.scrollWidth") <= 390
        shot(b, "my-points-phone")
    finally:
        ctx_a.close()
        ctx_b.close()

    desk.reload()
    desk.locator("table.enrolled").get_by_text("刘*英").wait_for()
    shot(desk, "course-enrolments-desk")
