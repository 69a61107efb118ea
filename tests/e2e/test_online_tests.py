"""Journey (学 线上测试): staff build a test at the desk from a question bank and publish it; on her phone a resident
finds it, takes it against the countdown, hands it in, passes, sees the answers with explanations and her points."""

from __future__ import annotations

import pytest

from gongzhi.learning.models import OnlineTest, OnlineTestAttempt, PointsEntry
from gongzhi.learning.testing import services
from tests import factories
from tests.learning_testing.conftest import PASSWORD, QUESTIONS, resident_with_account

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAFF_PW = "gongzhi-test-pw"


def _login(page, base, phone, password):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def test_resident_takes_a_test_on_a_phone_and_passes(live_server, desk, phone, tree):
    base = live_server.url
    tree.street_a.name, tree.comm_a1.name = "九堡街道", "九堡社区"
    tree.street_a.save()
    tree.comm_a1.save()
    staff = factories.staff("street_staff", tree.street_a, phone="13900000061")
    bank = services.question_bank_create(actor=staff, place=tree.street_a, name="科学育儿题库")
    for kind, text, choices, answer in QUESTIONS:
        services.question_create(
            actor=staff,
            bank=bank,
            kind=kind,
            text=text,
            choices=choices,
            answer=answer,
            explanation=f"解析：{text[:6]}",
        )
    resident, _user = resident_with_account(tree.comm_a1, "陈美华")

    # Staff: a test from the bank, 4 questions drawn, 10 minutes, 60 to pass; then publish it.
    _login(desk, base, staff.phone, STAFF_PW)
    desk.goto(f"{base}/staff/question-banks/")
    desk.get_by_role("link", name="科学育儿题库").click()
    desk.get_by_role("link", name="添加题目").click()
    desk.get_by_label("题型").select_option(label="单选题")
    desk.locator("#id_text").fill("祖辈带孩子时，最好的做法是？")
    desk.get_by_label("选项 A").fill("什么都依着孩子")
    desk.get_by_label("选项 B").fill("与父母商量、统一规则")
    desk.locator("#id_answer").get_by_label("A", exact=True).check()
    desk.locator("#id_answer").get_by_label("B", exact=True).check()
    desk.get_by_role("button", name="保存", exact=True).click()
    desk.get_by_text("正确答案：单选题和判断题只能有一个正确答案").wait_for()  # shown, nothing saved
    shot(desk, "question-form-error-desk")
    desk.locator("#id_answer").get_by_label("A", exact=True).uncheck()
    desk.get_by_label("解析").fill("隔代教养要与父母沟通，规则一致。")
    desk.get_by_role("button", name="保存", exact=True).click()
    desk.get_by_text("已添加题目").wait_for()
    desk.get_by_text("与父母商量、统一规则 ✓").wait_for()
    shot(desk, "question-bank-desk")
    desk.get_by_role("link", name="用此题库建测试").click()
    desk.get_by_label("测试名称").fill("科学育儿知识测试")
    desk.get_by_label("抽题数").fill("4")
    desk.get_by_label("限时（分钟）").fill("10")
    desk.get_by_role("button", name="保存").click()
    desk.get_by_text("已创建测试（未发布）").wait_for()
    desk.get_by_role("button", name="发布").click()
    desk.get_by_text("测试已发布").wait_for()
    test = OnlineTest.objects.get()
    assert test.status == "open" and test.question_count == 4

    # The resident, on her phone.
    _login(phone, base, resident.phone, PASSWORD)
    phone.goto(f"{base}/learn/tests/")
    card = phone.locator("li.qt-card", has_text="科学育儿知识测试")
    card.get_by_text("未参加").wait_for()
    shot(phone, "online-tests-home-phone")
    card.get_by_role("link", name="去测试").click()
    shot(phone, "online-test-intro-phone")
    phone.get_by_role("button", name="开始作答").click()
    phone.locator("#clock").wait_for()
    assert phone.locator("fieldset.qt-q").count() == 4
    attempt = OnlineTestAttempt.objects.get()
    page_html = phone.content()
    assert "解析：" not in page_html and "正确答案" not in page_html  # no key on the page before submission
    clock = phone.locator("#clock").inner_text()
    assert clock.startswith(("10:", "09:")), clock
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    # Answer every question right (the test knows the key; the page does not).
    keys = {str(q.pk): q.answer for q in bank.questions.all()}
    for qid in attempt.question_ids:
        fieldset = phone.locator(f'fieldset[data-question="{qid}"]')
        for original in keys[qid]:
            position = attempt.option_orders[qid].index(original)
            fieldset.locator(f'input[value="{position}"]').check()
        fieldset.get_by_text("已保存").wait_for()  # autosaved
    phone.get_by_text("已答 4 / 4 题").wait_for()
    shot(phone, "online-test-sheet-phone")
    phone.get_by_role("button", name="交卷").click()

    phone.locator("#verdict", has_text="通过").wait_for()
    assert phone.locator("#score").inner_text() == "100.00"
    phone.get_by_text("获得 20 积分").wait_for()
    phone.locator("#review .qt-explain").first.wait_for()
    assert phone.locator("#review .qt-opt.right").count() >= 4
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "online-test-result-phone")
    assert PointsEntry.objects.filter(resident=resident, source_type="online_test", points=20).count() == 1

    # The sheet of a submitted attempt now opens its result: it cannot be handed in again.
    phone.goto(f"{base}/learn/tests/attempts/{attempt.pk}/")
    phone.locator("#verdict").wait_for()

    phone.locator("#points").get_by_role("link", name="我的积分").click()
    phone.locator("#balance").get_by_text("20").wait_for()
    phone.get_by_text("通过线上测试《科学育儿知识测试》").wait_for()
    shot(phone, "online-test-points-phone")

    # Staff see the result and the pass rate.
    desk.reload()
    desk.locator("#pass-rate").get_by_text("100.00%").wait_for()
    desk.locator("table.results").get_by_text("陈*华").wait_for()
    shot(desk, "online-test-results-desk")
