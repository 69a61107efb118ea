"""育 cultivate in the browser: street staff set up a yearly scheme and a selection round, enter organisations in two
categories and add two assessors; the assessors score (one of them leads an entered studio: it is marked 须回避 and
they cannot score it); staff close the round (ranks, selection, last-place warnings); the warned studio's leader replies
on a phone; staff publish; the public list (no login) shows the selected organisations."""

from __future__ import annotations

import re

import pytest

from gongzhi.organizations import services as org_services
from gongzhi.organizations.models import AssessmentScore, MembershipRole, RoundEntry
from gongzhi.people import services as people
from gongzhi.people.models import Role
from tests import factories

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAFF_PW = "gongzhi-test-pw"
LEADER_PW = "Leader-2026-pw"
LEADER_PHONE = "13955556666"
# (name, place key, kind, category) and each assessor's three scores (service /100, governance /100, growth /10).
ORGS = [
    ("杭海路社区老娘舅调解工作室", "comm_a1", "studio", "studio", (90, 88, 8), (92, 86, 8)),
    ("九堡社区新市民之声工作室", "comm_a1", "studio", "studio", (60, 62, 5), None),  # the leader assesses: recused
    ("新杭州人志愿服务驿站", "street_a", "social_org", "quality_org", (95, 92, 9), (93, 90, 9)),
    ("九堡街道红马甲志愿服务队", "street_a", "volunteer_team", "quality_org", (85, 84, 8), (86, 82, 8)),
    ("双桥社区平安巡防队", "comm_a2", "volunteer_team", "quality_org", (70, 72, 6), (68, 70, 6)),
]


def _login(page, base, phone, password):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _score(page, base, org_name, values):
    page.goto(f"{base}/me/assessments/")
    page.locator(".task-list li", has_text=org_name).get_by_role("link", name="评分").click()
    page.wait_for_url(re.compile(r"/me/assessments/entries/"))
    for field, value in zip(("s_service", "s_governance", "s_growth"), values, strict=True):
        page.locator(f"input[name={field}]").fill(str(value))
    page.locator("#score-submit").click()
    page.wait_for_url(re.compile(r"/me/assessments/$"))


def test_staff_run_a_round_assessors_score_a_leader_replies_and_the_selection_is_public(
    live_server, desk, phone, browser, tree
):
    base = live_server.url
    for place, name in ((tree.street_a, "九堡街道"), (tree.comm_a1, "九堡社区"), (tree.comm_a2, "双桥社区")):
        place.name = name
        place.save()
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    assessor_a = factories.staff(Role.STREET_STAFF, tree.street_b)
    orgs = {}
    for name, key, kind, _category, _a, _b in ORGS:
        orgs[name] = org_services.organization_create(actor=None, place=getattr(tree, key), kind=kind, name=name)
    # The second assessor is a resident who leads the new-citizens studio.
    factories.resident(tree.comm_a1, name="陈晓东", phone=LEADER_PHONE, household="new_citizen")
    people.account_claim(phone=LEADER_PHONE, password=LEADER_PW)
    from gongzhi.people.models import Resident

    leader = Resident.objects.get(phone=LEADER_PHONE)
    org_services.membership_add(
        actor=None, organization=orgs["九堡社区新市民之声工作室"], resident=leader, role=MembershipRole.LEADER
    )

    # 1. Staff: a scheme with three weighted criteria, then a round with two categories.
    _login(desk, base, staff.phone, STAFF_PW)
    desk.get_by_role("link", name="组织培育").click()
    desk.locator(".cv-tabs").get_by_role("link", name="评估评选").click()
    desk.get_by_role("link", name="新建评估方案").click()
    desk.get_by_label("方案名称").fill("九堡街道社会组织年度评估方案")
    desk.get_by_label("年度").fill("2025")
    rows = [
        ("service", "服务成效", "0.4", "100", "服务次数、受益人数和居民评价"),
        ("governance", "组织治理", "0.3", "100", "章程、财务与档案"),
        ("growth", "专业成长", "0.3", "10", "培训与督导（满分 10）"),
    ]
    for i, row in enumerate(rows):
        for key, value in zip(("code", "name", "weight", "max", "guide"), row, strict=True):
            desk.locator(f"input[name=c{i}_{key}]").fill(value)
    desk.locator("#scheme-submit").click()
    desk.wait_for_url(re.compile(r"/staff/cultivation/schemes/[0-9a-f-]+/$"))
    desk.locator("#criteria").get_by_text("权重最大").wait_for()
    shot(desk, "cultivation-1-scheme-desk")
    desk.get_by_role("link", name="用这个方案新建评选").click()
    desk.get_by_label("评选名称").fill("2025 年度九堡街道社会组织评选")
    desk.get_by_label("每类末位警示数").fill("1")
    desk.locator("input[name=cat0_quota]").fill("1")
    desk.locator("input[name=cat1_quota]").fill("2")
    desk.locator("#round-submit").click()
    desk.wait_for_url(re.compile(r"/staff/cultivation/rounds/[0-9a-f-]+/$"))
    round_url = desk.url

    # 2. Assessors by phone number, organisations by search.
    for user_phone in (assessor_a.phone, LEADER_PHONE):
        desk.locator("#assessor-form input[name=phone]").fill(user_phone)
        desk.locator("#assessor-form").get_by_role("button", name="增加评审").click()
        desk.wait_for_load_state()
    for name, _key, _kind, category, _a, _b in ORGS:
        desk.locator("#entry-search input[name=q]").fill(name[-5:])
        desk.locator("#entry-search").get_by_role("button", name="查找").click()
        item = desk.locator("#entry-candidates li", has_text=name)
        item.locator("select[name=category]").select_option(category)
        item.get_by_role("button", name="参评").click()
        desk.locator(f"#entries a:has-text('{name}')").wait_for()
    assert RoundEntry.objects.count() == 5
    shot(desk, "cultivation-2-round-open-desk")

    # 3. Two assessors score; the leader is recused from their own studio.
    a_ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN", timezone_id="Asia/Shanghai")
    a_page = a_ctx.new_page()
    a_page.set_default_timeout(10_000)
    try:
        _login(a_page, base, assessor_a.phone, STAFF_PW)
        for name, _key, _kind, _category, values, _b in ORGS:
            _score(a_page, base, name, values)
        a_page.locator(".task-list").get_by_text("已评", exact=False).first.wait_for()
        shot(a_page, "cultivation-3-assessor-a-desk")
    finally:
        a_ctx.close()
    _login(phone, base, LEADER_PHONE, LEADER_PW)
    phone.get_by_role("link", name="我的评审").click()
    recused = phone.locator(".task-list li", has_text="新市民之声工作室")
    recused.get_by_text("须回避").wait_for()
    assert recused.get_by_role("link", name="评分").count() == 0
    for name, _key, _kind, _category, _a, values in ORGS:
        if values is not None:
            _score(phone, base, name, values)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "cultivation-4-assessor-recused-phone")
    assert AssessmentScore.objects.count() == 9

    # 4. Staff close the round: ranks, selection and warnings by the stated rule.
    desk.goto(round_url)
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.locator("#round-close").click()
    desk.wait_for_load_state()
    desk.locator("#round-status", has_text="已结束").wait_for()
    desk.locator("#rules").get_by_text("权重最大指标的平均得分高者在前").wait_for()
    shot(desk, "cultivation-5-round-closed-desk")
    outcomes = dict(RoundEntry.objects.values_list("organization__name", "outcome"))
    assert outcomes == {
        "杭海路社区老娘舅调解工作室": "selected",
        "九堡社区新市民之声工作室": "warned",
        "新杭州人志愿服务驿站": "selected",
        "九堡街道红马甲志愿服务队": "selected",
        "双桥社区平安巡防队": "warned",
    }

    # 5. The warned studio's leader replies on the phone before publication.
    phone.goto(f"{base}/me/communities/")
    phone.get_by_role("link", name="去申辩").click()
    phone.wait_for_url(re.compile(r"/organizations/[0-9a-f-]+/cultivation/"))
    phone.locator("#entries textarea[name=reply]").fill(
        "工作室今年三月才成立，骨干有变动；已补充三名新市民骨干，恳请保留参评资格。"
    )
    phone.locator("#entries").get_by_role("button", name="提交申辩").click()
    phone.wait_for_load_state()
    phone.locator(".reply-box").get_by_text("恳请保留参评资格").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "cultivation-6-reply-phone")

    # 6. Staff publish; the public list shows the selected organisations, without logging in.
    desk.goto(round_url)
    desk.locator(".reply-box").get_by_text("恳请保留参评资格").wait_for()
    desk.locator("#round-publish").click()
    desk.wait_for_load_state()
    desk.locator("#round-status", has_text="已公示").wait_for()
    public_url = desk.locator("#public-link").get_attribute("href")
    anon_ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    anon = anon_ctx.new_page()
    try:
        anon.goto(f"{base}{public_url}")
        body = anon.locator("main").inner_text()
        for name in ("杭海路社区老娘舅调解工作室", "新杭州人志愿服务驿站", "九堡街道红马甲志愿服务队"):
            assert name in body
        assert "新市民之声工作室" not in body and "平安巡防队" not in body and "陈晓东" not in body
        assert anon.evaluate("document.documentElement.scrollWidth") <= 390
        shot(anon, "cultivation-7-public-phone")
    finally:
        anon_ctx.close()


def test_stage_board_and_the_leader_s_organisation_on_a_phone(live_server, desk, phone, tree):
    """Staff see the stage board (now and this year's moves, with drill-down) and record support; the station's
    leader sees its stage history and support and adds to its supply list on a phone."""
    import datetime
    from decimal import Decimal

    from gongzhi.organizations.cultivation import services as cv

    base = live_server.url
    tree.street_a.name = "九堡街道"
    tree.street_a.save()
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    d = datetime.date
    station = org_services.organization_create(
        actor=staff, place=tree.street_a, kind="social_org", name="新杭州人志愿服务驿站", founded_on=d(2024, 3, 15)
    )
    criterion = cv.admission_criterion_add(actor=staff, place=tree.street_a, text="有固定负责人和 5 名以上骨干成员")
    cv.admission_check_record(
        actor=staff, organization=station, criterion=criterion, met=True, evidence="成员名册", checked_on=d(2024, 8, 20)
    )
    for to, on, reason in (
        ("incubating", d(2024, 9, 1), "通过准入核查，入驻孵化基地"),
        ("professional", d(2025, 4, 15), "孵化期满评估合格"),
        ("self_governing", d(2025, 11, 20), "登记为社会服务机构，理事会自主运营"),
    ):
        org_services.organization_stage_change(
            actor=staff, organization=station, to_stage=to, changed_on=on, reason=reason, evidence="评估报告与协议"
        )
    for n, (name, stage) in enumerate(
        [("红马甲志愿服务队", "professional"), ("新市民互助会", "incubating"), ("读书会", "grassroots"),
         ("平安巡防队", "grassroots"), ("老娘舅调解工作室", "professional")]
    ):  # fmt: skip
        org_services.organization_create(
            actor=staff, place=tree.comm_a1, kind="social_org", name=name, founded_on=d(2020, 1, 1 + n), stage=stage
        )
    cv.support_record_add(
        actor=staff, organization=station, kind="contract", title="政府购买服务：新市民子女四点半课堂",
        starts_on=d(2025, 3, 1), ends_on=d(2025, 12, 31), amount=Decimal("180000"), deliverables="每周 4 次，120 人",
    )  # fmt: skip
    cv.support_record_add(
        actor=staff, organization=station, kind="post", title="公益岗位：项目社工", starts_on=d(2025, 1, 1), quantity=2
    )
    factories.resident(tree.comm_a1, name="陈晓东", phone=LEADER_PHONE, household="new_citizen")
    people.account_claim(phone=LEADER_PHONE, password=LEADER_PW)
    from gongzhi.people.models import Resident

    org_services.membership_add(
        actor=None, organization=station, resident=Resident.objects.get(phone=LEADER_PHONE), role=MembershipRole.LEADER
    )

    _login(desk, base, staff.phone, STAFF_PW)
    desk.goto(f"{base}/staff/cultivation/?year=2025")
    desk.locator("#stage-self_governing .n", has_text="1").wait_for()
    shot(desk, "cultivation-8-stage-board-desk")
    desk.locator("#moves a", has_text="专业化").first.click()
    desk.locator("#drill").get_by_text("新杭州人志愿服务驿站").wait_for()
    shot(desk, "cultivation-9-stage-drill-desk")
    desk.goto(f"{base}/organizations/{station.pk}/cultivation/")
    desk.locator("#support").get_by_text("政府购买服务：新市民子女四点半课堂").wait_for()
    shot(desk, "cultivation-10-organization-desk")

    _login(phone, base, LEADER_PHONE, LEADER_PW)
    phone.get_by_role("link", name="我的学习共同体").click()
    phone.get_by_role("link", name="培育档案").click()
    phone.locator("#history").get_by_text("自治型公益组织").wait_for()
    phone.locator("#supply summary", has_text="增加一项服务").click()
    phone.locator("#supply-form").get_by_label("服务项目").fill("新市民子女四点半课堂")
    phone.locator("#supply-form").get_by_label("服务对象").fill("小学生及其家长")
    phone.locator("#supply-form").get_by_role("button", name="加入供给清单").click()
    phone.wait_for_load_state()
    phone.locator("#supply").get_by_text("新市民子女四点半课堂").wait_for()
    assert phone.locator("#support-form").count() == 0, "the leader does not record support"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "cultivation-11-leader-phone")
