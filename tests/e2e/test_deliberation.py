"""The whole chain 民事民议 → 民决 → 民治 across staff (desk) and resident (phone) browser contexts, ending on the public
page (no login, no personal data)."""

from __future__ import annotations

import datetime
import re
import time

import pytest
from django.utils import timezone

from gongzhi.deliberation.models import Ballot, Issue, PaperTally, Vote
from gongzhi.learning import services as learning
from gongzhi.organizations.services import organization_create
from gongzhi.people import services as people
from tests import factories
from tests.conftest import ID_A, ID_B

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"
RES_PW = "Resident-2026-pw"
A_NAME, A_PHONE = "欧阳翠花", "13911112222"
B_NAME, B_PHONE = "司马长风", "13933334444"


def _login(page, base, phone, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_the_whole_chain_from_a_phone_to_the_public_page(live_server, desk, phone, browser, tree):
    base = live_server.url
    tree.comm_a1.name = "九堡社区"
    tree.comm_a1.save()
    staff = factories.staff("street_staff", tree.street_a)
    factories.resident(tree.comm_a1, name=A_NAME, phone=A_PHONE, id_number=ID_A)
    factories.resident(tree.comm_a1, name=B_NAME, phone=B_PHONE, id_number=ID_B, household="new_citizen")
    people.account_claim(phone=A_PHONE, password=RES_PW)
    people.account_claim(phone=B_PHONE, password=RES_PW)
    organization_create(actor=None, place=tree.comm_a1, kind="learning_community", name="好婆婆学堂")
    lawyer = learning.teacher_create(actor=None, place=tree.street_a, name="沈律师", expertise="物业纠纷律师")
    learning.course_create(actor=None, place=tree.street_a, title="小区改造中的物业法律", teachers=[lawyer])

    # 1. A resident raises an issue on a phone.
    _login(phone, base, A_PHONE, RES_PW)
    phone.goto(f"{base}/me/issues/")
    phone.locator("#raise-issue").click()
    phone.get_by_label("议题").fill("老旧小区加装电梯")
    phone.get_by_label("类别").select_option("estate")
    phone.get_by_label("说明").fill("六层老楼没有电梯，老人上下楼很难。")
    phone.locator("#issue-submit").click()
    phone.wait_for_url(re.compile(r"/me/issues/[0-9a-f-]+/$"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "deliberation-1-raised-phone")
    issue = Issue.objects.get(title="老旧小区加装电梯")
    assert issue.raised_by is not None and issue.status == "open"

    # 2. Staff at the desk move it to discussing, bring it into a learning community, schedule an expert session.
    _login(desk, base, staff.phone)
    desk.goto(f"{base}/staff/issues/{issue.pk}/")
    desk.locator("#move-discussing").click()
    desk.wait_for_load_state()
    desk.locator("#classroom-actions summary", has_text="带进学习共同体或课程").click()
    desk.locator("#topic-form select").select_option(label="好婆婆学堂")
    desk.locator("#topic-submit").click()
    desk.locator("#topics").get_by_text("好婆婆学堂").wait_for()
    desk.locator("#classroom-actions summary", has_text="安排专家讲座或议事会").click()
    form = desk.locator("#session-form")
    form.get_by_label("类型").select_option("course_session")
    form.get_by_label("主题").fill("加装电梯的法律程序")
    form.get_by_label("开始时间").fill(_local(timezone.now() + datetime.timedelta(days=2)))
    form.get_by_label("所属课程").select_option(label="小区改造中的物业法律")
    form.get_by_label("主讲专家/教师").select_option(index=1)
    desk.locator("#session-submit").click()
    desk.locator("#sessions").get_by_text("加装电梯的法律程序").wait_for()
    # A deliberation meeting for the paper vote.
    desk.locator("#classroom-actions summary", has_text="安排专家讲座或议事会").click()
    form.get_by_label("类型").select_option("deliberation_meeting")
    form.get_by_label("主题").fill("九堡社区居民议事会")
    form.get_by_label("开始时间").fill(_local(timezone.now()))
    desk.locator("#session-submit").click()
    desk.locator("#sessions").get_by_text("九堡社区居民议事会").wait_for()
    shot(desk, "deliberation-2-classroom-desk")
    issue.refresh_from_db()
    assert issue.status == "discussing"

    # 3. A second resident adds a proposal, and the first another.
    b_ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN",
                                timezone_id="Asia/Shanghai")  # fmt: skip
    phone_b = b_ctx.new_page()
    phone_b.set_default_timeout(10_000)
    try:
        _login(phone_b, base, B_PHONE, RES_PW)
        for page, title in ((phone_b, "整体改造并加装电梯"), (phone, "只加装电梯")):
            page.goto(f"{base}/me/issues/{issue.pk}/")
            page.locator("#proposal-open").click()
            page.locator("#proposal-form").get_by_label("方案").fill(title)
            page.locator("#proposal-submit").click()
            page.locator("#proposals").get_by_text(title).wait_for()
        shot(phone_b, "deliberation-3-proposals-phone")

        # 4. Staff open a ballot that closes a few seconds from now.
        # The paper votes need the meeting's attendance as evidence: two neighbours signed in on paper.
        from gongzhi.activities.models import ActivityKind, AttendanceSource
        from gongzhi.activities.services import attendance_record

        meeting = issue.sessions.get(activity__kind=ActivityKind.DELIBERATION_MEETING).activity
        for n in range(3):
            r = factories.resident(tree.comm_a1, name=f"邻居{n}")
            attendance_record(actor=staff, activity=meeting, resident=r, source=AttendanceSource.PAPER)
        desk.goto(f"{base}/staff/issues/{issue.pk}/ballots/new/")
        ballot_form = desk.locator("form").filter(has=desk.get_by_label("表决事项"))
        desk.get_by_label("表决事项").fill("是否加装电梯")
        for box in desk.locator("input[name=proposals]").all():
            box.check()
        opens = timezone.now() - datetime.timedelta(minutes=1)
        # The window closes 40 seconds from now (datetime-local takes seconds), so the decision can follow the vote.
        closes_at = timezone.now() + datetime.timedelta(seconds=40)
        desk.get_by_label("开始时间").fill(_local(opens))
        desk.get_by_label("截止时间").fill(timezone.localtime(closes_at).strftime("%Y-%m-%dT%H:%M:%S"))
        ballot_form.locator("button[type=submit]").first.click()
        desk.wait_for_url(re.compile(r"/staff/ballots/[0-9a-f-]+/$"))
        ballot = Ballot.objects.get(issue=issue)
        shot(desk, "deliberation-4-ballot-desk")

        # 5. Both residents vote on their phones. The second resident had the ballot open in two tabs: submitting the
        # stale one is a second vote attempt, refused with 您已投过票.
        stale = b_ctx.new_page()
        stale.goto(f"{base}/me/ballots/{ballot.pk}/")
        for page, choice in ((phone, "整体改造并加装电梯"), (phone_b, "只加装电梯")):
            page.goto(f"{base}/me/ballots/{ballot.pk}/")
            page.locator("label.vote-option", has_text=choice).click()
            page.locator("#vote-submit").click()
            page.locator("#vote-done").wait_for()
        shot(phone, "deliberation-5-voted-phone")
        stale.locator("label.vote-option", has_text="整体改造并加装电梯").click()
        stale.locator("#vote-submit").click()
        stale.get_by_text("您已投过票").first.wait_for()
        shot(stale, "deliberation-5-already-voted-phone")
        stale.close()
        assert Vote.objects.filter(ballot=ballot).count() == 2

        # 6. Staff enter the paper tally from the meeting.
        desk.goto(f"{base}/staff/ballots/{ballot.pk}/paper/")
        meeting_select = desk.locator("#paper-form select").first
        meeting_select.select_option(value=str(meeting.pk))
        desk.locator("#paper-form").get_by_label("整体改造并加装电梯").fill("2")
        desk.locator("#paper-form").get_by_label("只加装电梯").fill("1")
        desk.locator("#paper-submit").click()
        desk.wait_for_load_state()
        assert sum(PaperTally.objects.filter(ballot=ballot).values_list("count", flat=True)) == 3, desk.content()[:2000]
        shot(desk, "deliberation-6-paper-desk")

        # 7. After the window, staff publish the decision.
        ballot.refresh_from_db()
        wait = (ballot.closes_at - timezone.now()).total_seconds()
        if wait > 0:
            time.sleep(wait + 1)
        desk.goto(f"{base}/staff/issues/{issue.pk}/decision/")
        form = desk.locator("#decision-form")
        form.get_by_label("决策方式").select_option("vote")
        form.get_by_label("表决", exact=True).select_option(value=str(ballot.pk))
        form.get_by_label("决定内容").fill("同意整体改造并加装电梯，低层住户给予补偿。")
        form.get_by_label("决策主体").fill("九堡社区居民议事会")
        form.get_by_label("决策日期").fill(timezone.localdate().isoformat())
        desk.locator("#decision-submit").click()
        desk.wait_for_load_state()
        issue.refresh_from_db()
        assert issue.status == "decided", desk.locator("main").inner_text()[:2000]
        shot(desk, "deliberation-7-decision-desk")

        # 8. Carrying it out: start, a milestone, progress, done, close.
        desk.goto(f"{base}/staff/issues/{issue.pk}/milestones/")
        desk.locator("#start-implementing").click()
        desk.wait_for_load_state()
        desk.locator("#milestone-open").click()
        form = desk.locator("#milestone-form")
        form.get_by_label("节点").fill("电梯井施工")
        form.get_by_label("责任方").fill("物业公司")
        form.get_by_label("计划完成日期").fill(timezone.localdate().isoformat())
        desk.locator("#milestone-submit").click()
        desk.locator("#milestones").get_by_text("电梯井施工").first.wait_for()
        desk.locator("#progress-open").click()
        desk.locator("#progress-form").get_by_label("进展").fill("电梯井已完工，正在安装轿厢。")
        desk.locator("#progress-submit").click()
        desk.locator("#progress").get_by_text("电梯井已完工").wait_for()
        desk.locator("#milestones").get_by_role("button", name="标记完成").first.click()
        desk.wait_for_load_state()
        desk.locator("#close-issue").click()
        desk.wait_for_load_state()
        issue.refresh_from_db()
        assert issue.status == "closed", desk.locator("main").inner_text()[:2000]
        shot(desk, "deliberation-8-closed-desk")

        # 9. A resident rates satisfaction on a phone.
        phone.goto(f"{base}/me/issues/{issue.pk}/rate/")
        phone.get_by_label("5 非常满意").check()
        phone.locator("#rate-submit").click()
        phone.locator("#rated").wait_for()
        shot(phone, "deliberation-9-rated-phone")
    finally:
        b_ctx.close()

    # 10. The public page, in a fresh anonymous context on a phone.
    anon_ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN",
                                   timezone_id="Asia/Shanghai")  # fmt: skip
    anon = anon_ctx.new_page()
    try:
        anon.goto(f"{base}/")
        anon.goto(f"{base}/public/")
        anon.get_by_role("link", name="九堡社区").click()
        anon.locator("#closed").get_by_text("老旧小区加装电梯").wait_for()
        shot(anon, "deliberation-10-public-community-phone")
        anon.get_by_role("link", name="老旧小区加装电梯").click()
        anon.get_by_text("同意整体改造并加装电梯").first.wait_for()
        html = anon.content()
        totals = anon.locator("table.pub-totals tfoot").inner_text()
        assert re.search(r"合计\s+2\s+3\s+5", totals), totals  # 2 online + 3 paper
        assert "电梯井施工" in html and "物业公司" in html
        for secret in (A_NAME, B_NAME, "欧*花", "司*风", A_PHONE, B_PHONE, "139****2222", ID_A, ID_B):
            assert secret not in html, secret
        assert anon.evaluate("document.documentElement.scrollWidth") <= 390
        shot(anon, "deliberation-10-public-phone")
    finally:
        anon_ctx.close()
