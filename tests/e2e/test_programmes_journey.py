"""Journey: street staff declare a programme's levels with the criteria builder (a mistake first, shown on its row),
activate it; on her phone a resident sees what she has and what is missing, claims level 1, and level 2 becomes next."""

from __future__ import annotations

import pytest

from gongzhi.learning import services as learning
from gongzhi.people import services as people_services
from tests import factories
from tests.e2e.conftest import shot
from tests.learning_programmes.conftest import attend, course_with_sessions, sessions_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"


def _login(page, base, phone_number, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone_number)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def test_staff_build_criteria_and_resident_claims(live_server, desk, phone, tree):
    tree.street_a.name, tree.comm_a1.name = "九堡街道", "九堡社区"
    for p in (tree.street_a, tree.comm_a1):
        p.save()
    staff = factories.staff("street_staff", tree.street_a, phone="13900000202")
    series = learning.series_create(actor=None, place=tree.street_a, name="科学育儿")
    course = course_with_sessions(tree.street_a, title="婴幼儿照护", series=series, past=4)
    resident = factories.resident(tree.comm_a1, name="陈美华", phone="13900000211")
    people_services.account_claim(phone="13900000211", password=PASSWORD)
    for s in sessions_of(course)[:2]:
        attend(resident, s)  # 20 points in the series, 2 sessions

    base = live_server.url
    _login(desk, base, staff.phone)
    desk.goto(f"{base}/staff/credentials/programmes/")
    desk.get_by_role("link", name="新建认证项目").click()
    desk.get_by_label("名称").fill("星级家长执照")
    desk.get_by_label("有效期（月）").fill("24")
    desk.get_by_role("button", name="保存").click()
    desk.get_by_text("已新建认证项目，请添加级别").wait_for()

    # level 1: 系列积分 ≥ 20, and (参加 2 次课 or 通过 1 个测试) — first with the minimum left empty
    desk.get_by_role("link", name="添加级别").click()
    desk.locator("#id_name").fill("一星家长")
    desk.get_by_label("第 1 行 条件类型").select_option(label="积分")
    desk.get_by_label("第 1 行 主题系列").select_option(label="科学育儿")
    desk.get_by_label("第 2 行 分组").select_option(label="A")
    desk.get_by_label("第 2 行 条件类型").select_option(label="参加课次")
    desk.get_by_label("第 2 行 最少").fill("2")
    desk.get_by_label("第 3 行 分组").select_option(label="A")
    desk.get_by_label("第 3 行 条件类型").select_option(label="通过测试")
    desk.get_by_label("第 3 行 最少").fill("1")
    desk.get_by_label("组 A 内").select_option(label="任一满足（或者）")
    assert desk.get_by_label("第 1 行 课程").is_disabled()  # points take no course
    desk.get_by_role("button", name="保存级别").click()
    desk.locator("#level-errors").get_by_text("第 1 行「最少」：必填").wait_for()
    shot(desk, "programmes-builder-error-desk")
    desk.get_by_label("第 1 行 最少").fill("20")
    desk.get_by_role("button", name="保存级别").click()
    desk.get_by_text("已添加级别").wait_for()

    # level 2: level 1 held and one course completed
    desk.get_by_role("link", name="添加级别").click()
    desk.locator("#id_name").fill("二星家长")
    desk.get_by_label("第 1 行 条件类型").select_option(label="持有级别证书")
    desk.get_by_label("第 1 行 级别").select_option(label="1 · 一星家长")
    desk.get_by_label("第 2 行 条件类型").select_option(label="完成课程")
    desk.get_by_label("第 2 行 最少").fill("1")
    desk.get_by_label("第 2 行 近 N 天").fill("365")
    desk.get_by_role("button", name="保存级别").click()
    desk.get_by_text("已添加级别").wait_for()
    desk.get_by_role("button", name="启用").click()
    desk.get_by_text("认证项目已启用").wait_for()
    desk.locator("#level-1").get_by_text("系列“科学育儿”内积分 ≥ 20").wait_for()
    desk.locator("#level-2").get_by_text("完成课程 ≥ 1 门（近 365 天）").wait_for()
    shot(desk, "programmes-detail-desk")

    _login(phone, base, "13900000211")
    phone.goto(f"{base}/me/programmes/")
    level1 = phone.locator('article[data-level="1"]')
    level1.get_by_text("已有 20 积分").wait_for()
    level1.get_by_text("已参加 2 次课").wait_for()
    level1.get_by_text("已通过 0/1 个测试，还差 1 个").wait_for()
    assert "is-next" in (level1.get_attribute("class") or "")
    shot(phone, "programmes-progress-phone")
    level1.get_by_role("button", name="领取证书").click()
    phone.get_by_text("已领取证书").wait_for()
    phone.goto(f"{base}/me/programmes/")
    phone.get_by_text("已获得“一星家长”").wait_for()
    level2 = phone.locator('article[data-level="2"]')
    assert "is-next" in (level2.get_attribute("class") or "")
    level2.get_by_text("持有本项目“一星家长”的有效证书").wait_for()
    level2.get_by_text("已完成 0/1 门课程，还差 1 门").wait_for()
    shot(phone, "programmes-progress-claimed-phone")
