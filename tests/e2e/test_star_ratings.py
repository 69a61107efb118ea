"""Journey (学 星级评定): the education centre writes and declares the 好婆婆 star standard at the desk, scores a member,
computes the proposals, reviews them (one changed with a note) and publishes; a member sees her stars and what counted
on her phone, and the public list shows masked names."""

from __future__ import annotations

import datetime

import pytest

from gongzhi.learning.models import StarRating, StarStandard
from gongzhi.organizations import services as organizations
from tests import factories
from tests.learning_stars.conftest import PASSWORD, YEAR, attend, resident_with_account

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAFF_PW = "gongzhi-test-pw"


def _login(page, base, phone, password):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def test_staff_compute_review_publish_and_a_member_sees_her_stars(live_server, desk, phone, tree):
    base = live_server.url
    tree.street_a.name, tree.comm_a1.name = "九堡街道", "九堡社区"
    tree.street_a.save()
    tree.comm_a1.save()
    staff = factories.staff("street_staff", tree.street_a, phone="13900000051")
    org = organizations.organization_create(
        actor=None, place=tree.comm_a1, kind="learning_community", name="好婆婆学堂", ref="HP-E2E",
        founded_on=datetime.date(2020, 1, 1),
    )  # fmt: skip
    members = {}
    for name, sessions in (("陈美华", 12), ("刘秀英", 7), ("王桂兰", 3), ("赵玉珍", 0)):
        members[name], _user = resident_with_account(tree.comm_a1, name)
        organizations.membership_add(
            actor=None, organization=org, resident=members[name], joined_on=datetime.date(2024, 1, 1)
        )
        attend(members[name], sessions, place=tree.comm_a1)

    # --- the desk: write the standard and declare it
    _login(desk, base, staff.phone, STAFF_PW)
    desk.goto(f"{base}/staff/stars/")
    desk.get_by_role("link", name="新建评定标准").click()
    desk.get_by_label("名称").fill("好婆婆学堂星级学员评定")
    desk.get_by_label("年度").fill(str(YEAR))
    desk.get_by_label("限定组织").select_option(label="好婆婆学堂（学习共同体 · 九堡社区）")
    rows = [
        ("attendance", "学习出勤", "attendance", "0.6", "10", ""),
        ("teacher", "教师评议", "assessment", "0.4", "100", "staff"),
    ]
    for n, (code, name, source, weight, target, by) in enumerate(rows, start=1):
        desk.get_by_label(f"{n} · 代码").fill(code)
        desk.get_by_label(f"{n} · 指标").fill(name)
        desk.get_by_label(f"{n} · 数据来源").select_option(source)
        desk.get_by_label(f"{n} · 权重").fill(weight)
        desk.get_by_label(f"{n} · 满分目标").fill(target)
        if by:
            desk.get_by_label(f"{n} · 评议人").select_option(by)
    for label, value in zip(("一星", "二星", "三星", "四星", "五星"), ("20", "40", "60", "75", "90"), strict=True):
        desk.locator("#thresholds").get_by_label(label, exact=True).fill(value)
    shot(desk, "stars-standard-form")
    desk.get_by_role("button", name="保存标准").click()
    desk.get_by_text("已保存评定标准（草稿）").wait_for()
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.get_by_role("button", name="发布标准，开始评定").click()
    desk.get_by_text("标准已发布").wait_for()
    standard = StarStandard.objects.get()
    assert standard.status == "active"

    # --- score a member on the teachers' criterion
    desk.get_by_role("link", name="评议打分").click()
    card = desk.locator("article.st-person", has_text="陈*华")
    card.get_by_label("教师评议").fill("95")
    card.get_by_role("button", name="保存评分").click()
    desk.get_by_text("已保存对 陈*华 的评分").wait_for()
    shot(desk, "stars-assess-desk")

    # --- compute, review, publish
    desk.goto(f"{base}/staff/stars/{standard.pk}/")
    desk.get_by_role("button", name="计算星级建议").click()
    desk.get_by_text("已计算 4 人").wait_for()
    first = desk.locator("tr.rating-row").first
    assert "陈*华" in first.inner_text()  # 60 + 0.4 × 95 = 98: first
    second = desk.locator("tr.rating-row", has_text="刘*英")
    second.get_by_text("得分明细").click()
    second.get_by_label("审定星级").select_option(label="三星")
    second.get_by_label("审核意见").fill("主动带新学员，课后组织复习")
    shot(desk, "stars-review-desk")
    second.get_by_role("button", name="审核").click()
    desk.get_by_text("已审核 刘*英：三星").wait_for()
    publish = desk.get_by_role("button", name="公布评定结果")
    assert publish.is_disabled()
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.get_by_role("button", name="其余按建议星级审核").click()
    desk.get_by_text("已按建议星级审核 3 条").wait_for()
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.get_by_role("button", name="公布评定结果").click()
    desk.get_by_text("已公布星级评定结果").wait_for()
    desk.locator("#standard-status", has_text="已公布").wait_for()
    shot(desk, "stars-published-desk")
    assert set(StarRating.objects.filter(standard=standard).values_list("status", flat=True)) == {"published"}
    assert StarRating.objects.get(standard=standard, resident=members["刘秀英"]).final_stars == 3

    # --- the member's phone: her stars and what counted
    _login(phone, base, members["刘秀英"].phone, PASSWORD)
    phone.goto(f"{base}/me/stars/")
    phone.get_by_text("3 星学员").wait_for()
    phone.get_by_text("按标准计算为 2 星，审核后调整：主动带新学员，课后组织复习").wait_for()
    phone.get_by_text("7 次").first.wait_for()
    shot(phone, "stars-mine-phone")
    phone.get_by_role("link", name="查看公示名单").click()
    phone.get_by_text("星级学员 2 人").wait_for()
    body = phone.content()
    assert "陈*华" in body and "陈美华" not in body
    shot(phone, "stars-public-phone")


def test_a_member_scores_fellow_members_on_her_phone(live_server, phone, tree):
    from gongzhi.learning.models import StarAssessment
    from tests.learning_stars.conftest import make_standard

    base = live_server.url
    tree.street_a.name, tree.comm_a1.name = "九堡街道", "九堡社区"
    tree.street_a.save()
    tree.comm_a1.save()
    org = organizations.organization_create(
        actor=None, place=tree.comm_a1, kind="learning_community", name="好婆婆学堂", ref="HP-TEST",
        founded_on=datetime.date(2020, 1, 1),
    )  # fmt: skip
    people = {}
    for name in ("陈美华", "刘秀英", "王桂兰"):
        people[name], _user = resident_with_account(tree.comm_a1, name)
        organizations.membership_add(
            actor=None, organization=org, resident=people[name], joined_on=datetime.date(2024, 1, 1)
        )
    standard = make_standard(tree.street_a)  # with a peer criterion (同伴互评)
    _login(phone, base, people["刘秀英"].phone, PASSWORD)
    phone.goto(f"{base}/me/stars/")
    phone.get_by_role("link", name="去评分").click()
    card = phone.locator("article.st-person", has_text="陈*华")
    assert phone.locator("article.st-person", has_text="刘*英").count() == 0  # never oneself
    card.get_by_label("同伴互评").fill("95")
    card.get_by_label("评语").fill("课后常帮大家复习")
    card.get_by_role("button", name="保存评分").click()
    phone.get_by_text("已保存对 陈*华 的评分").wait_for()
    shot(phone, "stars-peer-phone")
    assessment = StarAssessment.objects.get(standard=standard)
    assert (assessment.resident, assessment.criterion, assessment.score) == (people["陈美华"], "peer", 95)
