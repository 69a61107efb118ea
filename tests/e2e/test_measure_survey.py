"""Journey (析 measure): staff send a round of the social-capital survey from the desk and open it; a resident answers
all twelve items on a phone (a missed item is pointed out, then fixed; answering again replaces); staff read the
results — respondents and scale scores per community, Cronbach's alpha with its reading, the spread of answers."""

from __future__ import annotations

import urllib.request

import pytest

from gongzhi.analytics.models import SocialSurvey, SurveyAnswer
from gongzhi.analytics.survey import services
from gongzhi.analytics.survey.instrument import ITEMS
from gongzhi.people import services as people_services
from tests import factories

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"
RES_NAME, RES_PHONE = "王秀英", "13911113333"
# The resident's answers on the phone (T1 … S3).
PHONE_ANSWERS = [4, 4, 5, 4, 3, 4, 5, 4, 4, 3, 3, 4]
# Five neighbours who answered on their own phones (through the service here).
OTHERS = [
    [5, 4, 5, 4, 4, 5, 3, 4, 4, 5, 4, 4],
    [2, 2, 3, 2, 3, 2, 2, 3, 2, 2, 3, 2],
    [3, 3, 3, 3, 3, 4, 4, 3, 3, 3, 3, 3],
    [1, 2, 1, 2, 1, 2, 1, 2, 2, 1, 2, 1],
    [5, 5, 4, 5, 5, 5, 5, 5, 4, 5, 5, 5],
]


def _login(page, base, phone, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _pick(page, item: str, value: int) -> None:
    page.locator(f'#ss-item-{item} label:has(input[value="{value}"])').click()


def test_a_round_is_sent_answered_on_a_phone_and_read(live_server, desk, phone, tree):
    base = live_server.url
    urllib.request.urlopen(f"{base}/accounts/login/", timeout=120).close()  # a cold server's first page is slow
    tree.street_a.name, tree.comm_a1.name, tree.comm_a2.name = "九堡街道", "九堡社区", "格畈社区"
    for place in (tree.street_a, tree.comm_a1, tree.comm_a2):
        place.save()
    staff = factories.staff("street_staff", tree.street_a)
    factories.resident(tree.comm_a1, name=RES_NAME, phone=RES_PHONE)
    people_services.account_claim(phone=RES_PHONE, password=PASSWORD)

    # 1. At the desk: a new round for the street's communities, opened at once.
    _login(desk, base, staff.phone)
    desk.goto(f"{base}/staff/measure/surveys/")
    desk.locator("#ss-new").click()
    desk.get_by_label("标题").fill("2026 年上半年社会资本调查")
    desk.get_by_label("九堡社区").check()
    desk.get_by_label("格畈社区").check()
    shot(desk, "measure-survey-1-new-desk")
    desk.locator("#ss-submit").click()
    desk.get_by_text("已保存社会资本调查").wait_for()
    assert desk.locator("#ss-status").inner_text() == "进行中"
    survey = SocialSurvey.objects.get()
    assert sorted(survey.targets.values_list("code", flat=True)) == [tree.comm_a1.code, tree.comm_a2.code]
    shot(desk, "measure-survey-2-opened-desk")

    # 2. On the phone: the round is listed; the resident answers, misses one item, is told which, and sends.
    _login(phone, base, RES_PHONE)
    phone.goto(f"{base}/me/social-surveys/")
    card = phone.locator('li[data-survey="2026 年上半年社会资本调查"]')
    shot(phone, "measure-survey-3-list-phone")
    card.get_by_role("link", name="去填写").click()
    phone.locator("#ss-answer-form").wait_for()
    assert phone.locator("#ss-answer-form input[type=radio]").count() == 60
    box = phone.locator('#ss-item-T1 label:has(input[value="3"])').bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 56  # big enough for a thumb
    for item, value in zip(ITEMS, PHONE_ANSWERS, strict=True):
        if item != "R2":
            _pick(phone, item, value)
    shot(phone, "measure-survey-4-form-phone")
    phone.locator("#ss-answer-submit").click()
    phone.locator("#ss-errors").get_by_text("还有 1 道题没有作答").wait_for()
    phone.locator("#ss-item-R2").get_by_text("第 8 题还没有选择").wait_for()
    assert phone.locator("#ss-answer-form input:checked").count() == 11  # nothing picked is lost
    phone.locator("#ss-item-R2").scroll_into_view_if_needed()
    shot(phone, "measure-survey-5-missing-phone")
    _pick(phone, "R2", PHONE_ANSWERS[7])
    phone.locator("#ss-answer-submit").click()
    phone.get_by_text("谢谢您！您的回答已提交").wait_for()
    phone.locator("#ss-answered-note").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert dict(SurveyAnswer.objects.values_list("item", "value")) == dict(zip(ITEMS, PHONE_ANSWERS, strict=True))
    shot(phone, "measure-survey-6-answered-phone")
    # Changing one answer and sending again replaces the round's answers.
    _pick(phone, "S1", 5)
    phone.locator("#ss-answer-submit").click()
    phone.get_by_text("已更新您的回答").wait_for()
    assert SurveyAnswer.objects.count() == 12 and SurveyAnswer.objects.get(item="S1").value == 5
    phone.goto(f"{base}/me/social-surveys/")
    card.get_by_text("已填写").wait_for()

    # 3. Neighbours answer too; staff read the results.
    for i, values in enumerate(OTHERS):
        factories.resident(tree.comm_a1, name=f"邻居{i}", phone=f"1391111400{i}")
        user = people_services.account_claim(phone=f"1391111400{i}", password=PASSWORD)
        services.social_survey_answer(user=user, survey=survey, answers=dict(zip(ITEMS, values, strict=True)))
    desk.goto(f"{base}/staff/measure/surveys/{survey.pk}/")
    assert desk.locator("#ss-respondents strong").inner_text() == "6"
    row = desk.locator(f'#ss-communities tr[data-community="{tree.comm_a1.code}"]')
    assert row.locator("[data-indicator=S_TRUST]").count() == 1
    desk.locator(f'#ss-communities tr[data-community="{tree.comm_a2.code}"]').get_by_text("暂无作答").first.wait_for()
    trust = desk.locator('#ss-alphas tr[data-indicator="S_TRUST"]')
    assert trust.get_attribute("data-level") in {"excellent", "good", "acceptable"}
    desk.locator("#ss-chart svg").wait_for()
    assert desk.locator("#ss-chart").is_visible()
    shot(desk, "measure-survey-7-results-desk")
    assert RES_NAME not in desk.content()

    # 4. Staff close the round; the phone says it has ended.
    desk.locator("#ss-close").click()
    desk.get_by_text("调查已结束").first.wait_for()
    phone.goto(f"{base}/me/social-surveys/{survey.pk}/")
    phone.locator("#ss-not-accepting").get_by_text("这份调查已经结束").wait_for()
    shot(phone, "measure-survey-8-closed-phone")
