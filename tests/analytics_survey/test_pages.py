"""Survey pages: the permission tables (staff role × place relation × action; residents by where they live), creating
and opening a round at the desk, the resident's phone form (all twelve items, again = replace, bad input), the
results page (scores, alpha and its reading, the spread of answers, 样本不足 for small counts) and constant query
counts of the list and results pages."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gongzhi.analytics.models import SocialSurvey, SurveyAnswer
from gongzhi.analytics.survey import services
from gongzhi.analytics.survey.instrument import ITEMS, TEXTS
from gongzhi.people.models import Role
from tests import factories

from .conftest import all_items, answer, make_survey, resident_with_account

pytestmark = pytest.mark.django_db

D = datetime.timedelta
CHECKED = re.compile(r'<input type="radio"[^>]*?(value="\d")[^>]*?\schecked')


def chart_data(html: str) -> dict:
    return json.loads(html.split('id="ss-chart-data" type="application/json">')[1].split("</script>")[0])


# A round sent from STREET_A: who may see and manage it, and create one at their current place.
STAFF_TABLE = [
    # role, granted on, sees/manages the street's round, may create a round at their own place
    (Role.ADMIN, "district", True, True),
    (Role.STREET_STAFF, "street_a", True, True),
    (Role.STREET_STAFF, "street_b", False, True),
    (Role.COMMUNITY_WORKER, "comm_a1", False, True),  # does not cover the street that sent it
    (Role.ADMIN, "other_district", False, True),
    (Role.TEACHER, "street_a", False, False),  # not staff: no desk pages
]


@pytest.mark.parametrize(("role", "granted", "allowed", "may_create"), STAFF_TABLE)
def test_staff_permission_table(client, tree, role, granted, allowed, may_create):
    survey = make_survey(tree, open_it=False)
    client.force_login(factories.staff(role, getattr(tree, granted)))
    listing = client.get(reverse("social_survey_list"))
    is_staff = role != Role.TEACHER
    assert listing.status_code == (200 if is_staff else 403)
    if is_staff:
        html = listing.content.decode()
        assert ("2026 年社会资本调查" in html) is allowed
        assert ('id="ss-new"' in html) is may_create
    assert client.get(reverse("social_survey_new")).status_code == (200 if may_create else 403)
    assert client.get(reverse("social_survey_detail", args=[survey.pk])).status_code == (200 if allowed else 404)
    opened = client.post(reverse("social_survey_open", args=[survey.pk]))
    assert opened.status_code == (302 if allowed else 404)
    closed = client.post(reverse("social_survey_close", args=[survey.pk]))
    assert closed.status_code == (302 if allowed else 404)
    survey.refresh_from_db()
    assert survey.status == ("closed" if allowed else "draft")
    assert client.get(reverse("social_survey_mine")).status_code == 404  # not a resident
    assert client.get(reverse("social_survey_answer", args=[survey.pk])).status_code == 404


# A round sent to STREET_A: which residents see and answer it.
RESIDENT_TABLE = [("comm_a1", True), ("comm_a2", True), ("comm_b1", False), ("other_comm", False)]


@pytest.mark.parametrize(("home", "targeted"), RESIDENT_TABLE)
def test_resident_permission_table(client, tree, home, targeted):
    survey = make_survey(tree, targets=[tree.street_a])
    _r, user = resident_with_account(getattr(tree, home))
    client.force_login(user)
    mine = client.get(reverse("social_survey_mine")).content.decode()
    assert ("2026 年社会资本调查" in mine) is targeted
    url = reverse("social_survey_answer", args=[survey.pk])
    assert client.get(url).status_code == (200 if targeted else 404)
    posted = client.post(url, {k: str(v) for k, v in all_items(4).items()})
    assert posted.status_code == (302 if targeted else 404)
    assert SurveyAnswer.objects.count() == (12 if targeted else 0)
    assert client.get(reverse("social_survey_detail", args=[survey.pk])).status_code == 404
    assert client.get(reverse("social_survey_list")).status_code == 403


def test_a_draft_is_not_shown_to_residents(client, tree):
    draft = make_survey(tree, open_it=False)
    _r, user = resident_with_account(tree.comm_a1)
    client.force_login(user)
    assert "现在没有发给您所在社区的社会资本调查" in client.get(reverse("social_survey_mine")).content.decode()
    assert client.get(reverse("social_survey_answer", args=[draft.pk])).status_code == 404


def test_staff_create_and_open_at_the_desk(client, tree):
    client.force_login(factories.staff(Role.STREET_STAFF, tree.street_a))
    form = client.get(reverse("social_survey_new")).content.decode()
    assert tree.comm_a1.name in form and tree.comm_b1.name not in form
    assert str(TEXTS["R2"]) in form  # the questionnaire is shown beside the form
    today = timezone.localdate()
    post = {
        "title": "上半年社会资本调查",
        "targets": [tree.comm_a1.code, tree.comm_a2.code],
        "opens_on": today.isoformat(),
        "closes_on": (today + D(days=7)).isoformat(),
        "open_now": "on",
    }
    response = client.post(reverse("social_survey_new"), post)
    survey = SocialSurvey.objects.get()
    assert response.status_code == 302 and response.url == reverse("social_survey_detail", args=[survey.pk])
    assert survey.status == "open" and survey.place == tree.street_a
    bad = client.post(reverse("social_survey_new"), {**post, "targets": [tree.comm_b1.code]})
    assert bad.status_code == 400 and "调查范围：" in bad.content.decode()
    late = client.post(reverse("social_survey_new"), {**post, "closes_on": (today - D(days=1)).isoformat()})
    assert late.status_code == 400 and "截止日期：截止日期不能早于开始日期" in late.content.decode()
    empty = client.post(reverse("social_survey_new"), {**post, "title": " "})
    assert empty.status_code == 400 and "标题：" in empty.content.decode()
    assert SocialSurvey.objects.count() == 1
    draft = client.post(reverse("social_survey_new"), {**post, "title": "草稿调查", "open_now": ""})
    assert draft.status_code == 302
    made = SocialSurvey.objects.get(title="草稿调查")
    assert made.status == "draft"
    assert 'id="ss-open"' in client.get(reverse("social_survey_detail", args=[made.pk])).content.decode()
    client.post(reverse("social_survey_open", args=[made.pk]))
    made.refresh_from_db()
    assert made.status == "open"


def test_resident_answers_on_a_phone_and_again_replaces(client, tree):
    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_a1)
    client.force_login(user)
    assert "去填写" in client.get(reverse("social_survey_mine")).content.decode()
    url = reverse("social_survey_answer", args=[survey.pk])
    page = client.get(url).content.decode()
    assert page.count('type="radio"') == 60 and str(TEXTS["S3"]) in page
    partial = {k: str(v) for k, v in all_items(4).items() if k not in ("N2", "S1")}
    missing = client.post(url, partial)
    html = missing.content.decode()
    assert missing.status_code == 400
    assert "还有 2 道题没有作答，请选择后再提交：" in html
    assert '<a href="#ss-item-N2">第 5 题</a>、<a href="#ss-item-S1">第 10 题</a>' in html
    assert "第 5 题还没有选择" in html and "第 10 题还没有选择" in html
    assert 'id="ss-item-N2"' in html and 'class="ss-item has-error" id="ss-item-N2"' in html
    assert len(CHECKED.findall(html)) == 10  # what was picked stays picked
    bad = client.post(url, {**partial, "N2": "7", "S1": "3"})
    assert bad.status_code == 400 and "第 5 题的答案应为 1 到 5" in bad.content.decode()
    assert not SurveyAnswer.objects.exists()
    first = client.post(url, {k: str(v) for k, v in all_items(4).items()}, follow=True)
    assert "谢谢您！您的回答已提交" in first.content.decode()
    second = client.post(url, {k: str(v) for k, v in all_items(2).items()}, follow=True)
    html = second.content.decode()
    assert "已更新您的回答" in html and 'id="ss-answered-note"' in html and "再次提交会替换之前的回答" in html
    assert set(SurveyAnswer.objects.values_list("value", flat=True)) == {2} and SurveyAnswer.objects.count() == 12
    assert [m for m in CHECKED.findall(html)] == ['value="2"'] * 12  # shown as kept
    assert "查看或修改我的回答" in client.get(reverse("social_survey_mine")).content.decode()
    services.social_survey_close(actor=None, survey=survey)
    closed = client.get(url).content.decode()
    assert "这份调查已经结束" in closed and 'id="ss-answer-form"' not in closed
    assert "谢谢参与" in closed and "再次提交" not in closed
    late = client.post(url, {k: str(v) for k, v in all_items(5).items()})
    assert late.status_code == 400 and "这份调查已经结束，不能再填写" in late.content.decode()
    assert set(SurveyAnswer.objects.values_list("value", flat=True)) == {2}


def test_a_round_not_yet_open_tells_its_dates(client, tree):
    today = timezone.localdate()
    survey = make_survey(tree, opens_on=today + D(days=2), closes_on=today + D(days=9))
    _r, user = resident_with_account(tree.comm_a1)
    client.force_login(user)
    html = client.get(reverse("social_survey_answer", args=[survey.pk])).content.decode()
    assert f"这份调查的填写时间是 {today + D(days=2)} 至 {today + D(days=9)}" in html


# --- results ------------------------------------------------------------------------------------------------------

# Six respondents in comm_a1 (enough), two in comm_a2 (样本不足).
A1_ANSWERS = [
    [5, 4, 5, 4, 4, 5, 3, 4, 4, 5, 4, 4],
    [4, 4, 4, 3, 4, 4, 3, 3, 4, 4, 4, 3],
    [2, 2, 3, 2, 3, 2, 2, 3, 2, 2, 3, 2],
    [3, 3, 3, 3, 3, 4, 4, 3, 3, 3, 3, 3],
    [1, 2, 1, 2, 1, 2, 1, 2, 2, 1, 2, 1],
    [5, 5, 4, 5, 5, 5, 5, 5, 4, 5, 5, 5],
]
A2_ANSWERS = [[3] * 12, [4] * 12]


@pytest.fixture
def answered(tree):
    survey = make_survey(tree, targets=[tree.street_a])
    for i, values in enumerate(A1_ANSWERS):
        _r, user = resident_with_account(tree.comm_a1, name=f"甲居民{i}")
        answer(user, survey, values)
    for i, values in enumerate(A2_ANSWERS):
        _r, user = resident_with_account(tree.comm_a2, name=f"乙居民{i}")
        answer(user, survey, values)
    return survey


def test_results_page(client, tree, answered):
    import numpy as np

    client.force_login(factories.staff(Role.STREET_STAFF, tree.street_a))
    html = client.get(reverse("social_survey_detail", args=[answered.pk])).content.decode()
    assert "<strong>8</strong> 人" in html
    a1 = np.array(A1_ANSWERS, dtype=float)
    trust_a1 = a1[:, 0:3].mean(axis=0).mean()
    row_a1 = html.split(f'data-community="{tree.comm_a1.code}"')[1].split("</tr>")[0]
    assert f"{trust_a1:.2f}" in row_a1 and "样本不足" not in row_a1
    row_a2 = html.split(f'data-community="{tree.comm_a2.code}"')[1].split("</tr>")[0]
    assert row_a2.count("样本不足") == 4 and ">2<" in row_a2
    # The alpha of trust over all eight respondents, with its reading.
    everyone = np.array(A1_ANSWERS + A2_ANSWERS, dtype=float)[:, 0:3]
    k = 3
    alpha = k / (k - 1) * (1 - everyone.var(axis=0, ddof=1).sum() / everyone.sum(axis=1).var(ddof=1))
    trust_row = html.split('data-indicator="S_TRUST" data-level="')[1].split("</tr>")[0]
    assert f"{alpha:.2f}" in trust_row and alpha >= 0.9 and trust_row.startswith("excellent")
    assert "很好（≥0.9）" in trust_row
    chart = chart_data(html)
    assert chart["items"][0] == "1 普遍信任" and chart["items"][8] == "9 遇事有人出主意" and len(chart["counts"]) == 5
    t1 = [chart["counts"][v][0] for v in range(5)]
    assert t1 == [1, 1, 2, 2, 2]  # T1: one 1, one 2, two 3s (incl. comm_a2), two 4s, two 5s
    assert sum(chart["counts"][v][i] for v in range(5) for i in range(12)) == 8 * 12
    assert "甲居民" not in html and "乙居民" not in html  # no names


def test_results_withheld_below_five_respondents(client, tree):
    survey = make_survey(tree)
    for i in range(4):
        _r, user = resident_with_account(tree.comm_a1, name=f"居民{i}")
        answer(user, survey, [1 + (i + j) % 5 for j in range(12)])
    client.force_login(factories.staff(Role.ADMIN, tree.district))
    html = client.get(reverse("social_survey_detail", args=[survey.pk])).content.decode()
    assert 'id="ss-small"' in html and 'id="ss-chart-data"' not in html and 'id="ss-dist-small"' in html
    assert html.count('data-level="small"') == 4 and "样本不足：完整作答少于 5 人" in html
    table = html.split('id="ss-communities"')[1].split("</table>")[0]
    assert 'class="num ss-score"' not in table
    a1 = table.split(f'data-community="{tree.comm_a1.code}"')[1].split("</tr>")[0]
    a2 = table.split(f'data-community="{tree.comm_a2.code}"')[1].split("</tr>")[0]
    assert a1.count("样本不足") == 4 and a2.count("暂无作答") == 4  # the street's other community: no answers yet


def test_list_page_queries_do_not_grow(client, tree):
    client.force_login(factories.staff(Role.ADMIN, tree.district))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("social_survey_list")).status_code == 200
        return len(ctx.captured_queries)

    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_a1)
    answer(user, survey)
    few = count()
    for i in range(6):
        s = make_survey(tree, place=tree.district, targets=[tree.street_b, tree.comm_a1], title=f"调查{i}")
        _r, user = resident_with_account(tree.comm_a1, name=f"居民{i}")
        answer(user, s)
    html = client.get(reverse("social_survey_list")).content.decode()
    assert html.count('data-survey="') == 7
    assert count() == few


def test_results_page_queries_do_not_grow(client, tree):
    survey = make_survey(tree, place=tree.district, targets=[tree.street_a, tree.comm_b1])
    client.force_login(factories.staff(Role.STREET_STAFF, tree.street_b))  # place switcher etc. aside
    client.force_login(factories.staff(Role.ADMIN, tree.district))
    url = reverse("social_survey_detail", args=[survey.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    _r, user = resident_with_account(tree.comm_a1, name="第一位")
    answer(user, survey, 3)
    few = count()
    for i in range(12):
        _r, user = resident_with_account([tree.comm_a1, tree.comm_a2, tree.comm_b1][i % 3], name=f"居民{i}")
        answer(user, survey, [1 + (i * j) % 5 for j in range(12)])
    assert count() == few
    assert few <= 14


def test_resident_list_queries_are_constant(client, tree):
    _r, user = resident_with_account(tree.comm_a1)
    client.force_login(user)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("social_survey_mine")).status_code == 200
        return len(ctx.captured_queries)

    make_survey(tree, targets=[tree.comm_a1])
    few = count()
    for i in range(5):
        s = make_survey(tree, targets=[tree.street_a], title=f"调查{i}")
        if i % 2:
            answer(user, s)
    assert count() == few
    assert len(ITEMS) == 12
