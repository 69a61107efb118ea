"""联 link journeys: staff book a learning space at the desk and a second, overlapping booking is refused with a
message naming the first; staff send a needs survey, a resident answers it on a phone, and staff see the result."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from gongzhi.people import services as people
from gongzhi.resources.models import Booking, BookingSeries, LearningSpace, SurveyResponse
from gongzhi.resources.services import spaces as space_services
from tests import factories

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"
RES_PW = "Resident-2026-pw"
RES_PHONE = "13955556666"


def _login(page, base, phone, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _next_monday() -> datetime.date:
    today = timezone.localdate()
    return today + datetime.timedelta(days=8 - today.isoweekday())


def _book(page, title, day, start, end):
    form = page.locator("#booking-form")
    form.get_by_label("用途").fill(title)
    form.get_by_label("日期").fill(day.isoformat())
    form.get_by_label("开始时间").fill(start)
    form.get_by_label("结束时间").fill(end)
    page.locator("#booking-submit").click()
    page.wait_for_load_state()


def test_overlapping_booking_is_refused_with_the_clash(live_server, desk, phone, tree):
    base = live_server.url
    tree.comm_a1.name = "九堡社区"
    tree.comm_a1.save()
    tree.street_a.name = "九堡街道"
    tree.street_a.save()
    staff = factories.staff("street_staff", tree.street_a)
    space_services.space_create(
        actor=None, place=tree.comm_a2, name="客运中心社区书房", capacity=20,
        opens_at=datetime.time(9, 0), closes_at=datetime.time(17, 0), weekdays="12345",
    )  # fmt: skip
    monday = _next_monday()

    _login(desk, base, staff.phone)
    # 0. Staff add the community's learning room, open Monday to Saturday.
    desk.goto(f"{base}/staff/spaces/")
    desk.locator("#space-new").click()
    form = desk.locator("#space-form")
    form.get_by_label("所在街道/社区").select_option(label="九堡社区")
    form.get_by_label("名称").fill("九堡社区学习室")
    form.get_by_label("地址").fill("九堡路 1 号")
    form.get_by_label("容纳人数").fill("40")
    form.get_by_label("开放时间").fill("08:30")
    form.get_by_label("关闭时间").fill("21:00")
    form.get_by_label("周日").uncheck()
    shot(desk, "link-spaces-0-space-form-desk")
    desk.locator("#space-submit").click()
    desk.wait_for_url(re.compile(r"/staff/spaces/[0-9a-f-]+/$"))
    space = LearningSpace.objects.get(name="九堡社区学习室")
    assert space.weekdays == "123456" and space.place_id == tree.comm_a1.code

    # 1. A one-off booking.
    _book(desk, "太极拳班", monday, "09:00", "11:00")
    desk.locator("#week").get_by_text("太极拳班").wait_for()
    assert desk.locator(f'.day[data-date="{monday.isoformat()}"] .slot').count() == 1

    # 2. A weekly booking on Wednesday evenings, for six weeks.
    form = desk.locator("#booking-form")
    form.get_by_label("用途").fill("合唱团排练")
    form.get_by_label("日期").fill((monday + datetime.timedelta(days=2)).isoformat())
    form.get_by_label("开始时间").fill("19:00")
    form.get_by_label("结束时间").fill("21:00")
    form.get_by_label("每周重复").check()
    form.get_by_label("重复到").fill((monday + datetime.timedelta(weeks=5, days=2)).isoformat())
    desk.locator("#booking-submit").click()
    desk.wait_for_load_state()
    desk.locator("#series").get_by_text("合唱团排练").wait_for()
    assert BookingSeries.objects.get().bookings.count() == 6
    shot(desk, "link-spaces-1-week-desk")

    # 3. An overlapping booking is refused, with the clashing booking's time.
    _book(desk, "书法班", monday, "10:00", "12:00")
    message = f"该时段已被预约：「太极拳班」{monday.isoformat()}（周一）09:00–11:00。请换一个时间。"
    desk.locator("#booking-form").get_by_text(message).wait_for()
    assert desk.locator("#booking-form").get_by_label("用途").input_value() == "书法班"  # the input is kept
    shot(desk, "link-spaces-2-refused-desk")
    assert Booking.objects.filter(space=space, title="书法班").count() == 0
    assert Booking.objects.filter(space=space, status="active").count() == 7

    # 4. The list shows this and next weeks' utilisation.
    desk.goto(f"{base}/staff/spaces/")
    row = desk.locator('tr[data-space="九堡社区学习室"]')
    row.wait_for()
    shot(desk, "link-spaces-3-list-desk")

    # 5. A community worker's phone: the week stacks, nothing is wider than the screen.
    _login(phone, base, staff.phone)
    phone.goto(f"{base}/staff/spaces/{space.pk}/?week={monday.isoformat()}")
    phone.locator("#week").get_by_text("太极拳班").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "link-spaces-8-week-phone")


def test_resident_answers_a_survey_on_a_phone_and_staff_see_the_result(live_server, desk, phone, tree):
    base = live_server.url
    for place, name in ((tree.street_a, "九堡街道"), (tree.comm_a1, "九堡社区"), (tree.comm_a2, "客运中心社区")):
        place.name = name
        place.save()
    staff = factories.staff("street_staff", tree.street_a)
    factories.resident(tree.comm_a1, name="欧阳翠花", phone=RES_PHONE)
    people.account_claim(phone=RES_PHONE, password=RES_PW)

    # 1. Staff send a survey to the street.
    _login(desk, base, staff.phone)
    desk.goto(f"{base}/staff/surveys/")
    desk.locator("#survey-new").click()
    form = desk.locator("#survey-form")
    form.get_by_label("标题").fill("2026 年九堡街道学习需求调查")
    form.get_by_label("说明").fill("想学什么、什么时候方便？结果用来安排明年的课程。")
    form.get_by_label("主题选项").fill("智能手机使用\n防范电信诈骗\n家庭教育\n中医养生")
    form.get_by_label("九堡街道").check()
    shot(desk, "link-spaces-9-survey-form-desk")
    desk.locator("#survey-submit").click()
    desk.wait_for_url(re.compile(r"/staff/surveys/[0-9a-f-]+/$"))
    assert desk.locator("#survey-status").inner_text() == "收集中"
    survey_url = desk.url

    # 2. A resident answers on a phone.
    _login(phone, base, RES_PHONE, RES_PW)
    phone.goto(f"{base}/me/surveys/")
    card = phone.locator("#my-surveys li", has_text="2026 年九堡街道学习需求调查")
    card.get_by_role("link", name="去填写").click()
    phone.wait_for_url(re.compile(r"/me/surveys/[0-9a-f-]+/$"))
    phone.locator("#pick-topics").get_by_label("智能手机使用").check()
    phone.locator("#pick-topics").get_by_label("防范电信诈骗").check()
    phone.get_by_label("还想学别的？写下来").fill("太极拳")
    phone.locator("#pick-times").get_by_label("周末白天").check()
    phone.locator("#pick-places").get_by_label("本社区活动室").check()
    phone.get_by_label("其他建议").fill("希望有子女陪同的亲子场")
    shot(phone, "link-spaces-4-answer-phone")
    phone.locator("#answer-submit").click()
    phone.get_by_text("谢谢您！您的回答已提交").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "link-spaces-5-answered-phone")
    # Answering again replaces the answer.
    phone.locator("#pick-topics").get_by_label("防范电信诈骗").uncheck()
    phone.locator("#answer-submit").click()
    phone.get_by_text("已更新您的回答").wait_for()
    response = SurveyResponse.objects.get()
    assert response.topics == ["智能手机使用", "太极拳"] and response.times == ["weekend_day"]

    # 3. Staff see the result: one respondent, the chart and the community.
    desk.goto(survey_url)
    assert desk.locator("#respondents strong").inner_text() == "1"
    desk.locator("#chart-topics svg").wait_for()
    assert desk.locator("#community-table").get_by_text("九堡社区").count() == 1
    assert "希望有子女陪同的亲子场" in desk.locator("#others").inner_text()
    shot(desk, "link-spaces-6-results-desk")

    # 4. The top topic becomes a need.
    desk.get_by_label("「智能手机使用」所需资源类型").select_option("course")
    desk.locator("#needs-submit").click()
    desk.locator("#survey-needs").get_by_text("智能手机使用").wait_for()
    shot(desk, "link-spaces-7-needs-desk")
