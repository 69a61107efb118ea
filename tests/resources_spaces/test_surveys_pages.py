"""Needs-survey pages: the permission table, staff create/open/close, the results page with the chart data and per
community tables in constant queries, turning topics into needs, and the resident's phone pages (answer once, again
replaces, not targeted = not found)."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gongzhi.people.models import Role
from gongzhi.resources.models import Need, NeedsSurvey, SurveyResponse
from gongzhi.resources.services import surveys as services
from tests import factories

from .conftest import resident_with_account

pytestmark = pytest.mark.django_db

D = datetime.timedelta


def chart_data(html: str) -> dict:
    return json.loads(html.split('id="survey-charts" type="application/json">')[1].split("</script>")[0])


def make_survey(tree, place=None, targets=None, open_it=True):
    survey = services.survey_create(
        actor=None,
        place=place or tree.street_a,
        title="社区学习需求调查",
        targets=targets or [tree.comm_a1],
        topics=["智能手机使用", "防范电信诈骗", "家庭理财"],
        opens_on=timezone.localdate(),
        closes_on=timezone.localdate() + D(days=10),
    )
    if open_it:
        services.survey_open(actor=None, survey=survey)
    return survey


# Survey sent from STREET_A: who may see and manage it.
STAFF_TABLE = [
    ("admin", "district", True),
    ("street_staff", "street_a", True),
    ("street_staff", "street_b", False),
    ("community_worker", "comm_a1", False),  # a community worker does not cover the street that sent it
    ("admin", "other_district", False),
    ("teacher", "street_a", False),
]


@pytest.mark.parametrize(("role", "granted", "allowed"), STAFF_TABLE)
def test_staff_permission_table(client, tree, role, granted, allowed):
    survey = make_survey(tree)
    client.force_login(factories.staff(role, getattr(tree, granted)))
    listing = client.get(reverse("survey_list"))
    is_staff = role in ("admin", "street_staff", "community_worker")
    assert listing.status_code == (200 if is_staff else 403)
    if is_staff:
        assert ("社区学习需求调查" in listing.content.decode()) is allowed
    assert client.get(reverse("survey_detail", args=[survey.pk])).status_code == (200 if allowed else 404)
    closed = client.post(reverse("survey_close", args=[survey.pk]))
    assert closed.status_code == (302 if allowed else 404)
    survey.refresh_from_db()
    assert (survey.status == "closed") is allowed
    assert client.get(reverse("survey_mine")).status_code == 404  # not a resident


# Survey sent to STREET_A: which residents may answer.
RESIDENT_TABLE = [("comm_a1", True), ("comm_a2", True), ("comm_b1", False), ("other_comm", False)]


@pytest.mark.parametrize(("home", "targeted"), RESIDENT_TABLE)
def test_resident_permission_table(client, tree, home, targeted):
    survey = make_survey(tree, targets=[tree.street_a])
    _r, user = resident_with_account(getattr(tree, home))
    client.force_login(user)
    mine = client.get(reverse("survey_mine")).content.decode()
    assert ("社区学习需求调查" in mine) is targeted
    page = client.get(reverse("survey_answer", args=[survey.pk]))
    assert page.status_code == (200 if targeted else 404)
    posted = client.post(reverse("survey_answer", args=[survey.pk]), {"topics": ["家庭理财"]})
    assert posted.status_code == (302 if targeted else 404)
    assert SurveyResponse.objects.exists() is targeted
    assert client.get(reverse("survey_detail", args=[survey.pk])).status_code == 404
    assert client.get(reverse("survey_list")).status_code == 403


def test_staff_create_and_open(client, tree):
    client.force_login(factories.staff(Role.STREET_STAFF, tree.street_a))
    form = client.get(reverse("survey_new")).content.decode()
    assert tree.comm_a1.name in form and tree.comm_b1.name not in form
    today = timezone.localdate()
    post = {
        "title": "春季学习需求",
        "intro": "请告诉我们",
        "topics": "智能手机使用\n防范电信诈骗\n",
        "targets": [tree.comm_a1.code, tree.comm_a2.code],
        "opens_on": today.isoformat(),
        "closes_on": (today + D(days=7)).isoformat(),
        "open_now": "on",
    }
    response = client.post(reverse("survey_new"), post)
    survey = NeedsSurvey.objects.get()
    assert response.status_code == 302 and survey.status == "open" and survey.topics == ["智能手机使用", "防范电信诈骗"]
    bad = client.post(reverse("survey_new"), {**post, "targets": [tree.comm_b1.code]})
    assert bad.status_code == 200 and "调查范围：" in bad.content.decode()
    late = client.post(reverse("survey_new"), {**post, "closes_on": (today - D(days=1)).isoformat()})
    assert "截止日期：截止日期不能早于开始日期" in late.content.decode()
    empty = client.post(reverse("survey_new"), {**post, "topics": "\n\n"})
    assert "主题选项：" in empty.content.decode()
    assert NeedsSurvey.objects.count() == 1
    # A draft (not opened now), then opened from its page.
    draft = client.post(reverse("survey_new"), {**post, "title": "草稿调查", "open_now": ""})
    assert draft.status_code == 302
    made = NeedsSurvey.objects.get(title="草稿调查")
    assert made.status == "draft"
    assert 'id="survey-open"' in client.get(reverse("survey_detail", args=[made.pk])).content.decode()
    client.post(reverse("survey_open", args=[made.pk]))
    made.refresh_from_db()
    assert made.status == "open"


def test_results_page_and_needs(client, tree):
    survey = make_survey(tree, targets=[tree.street_a])
    for i, (home, topics) in enumerate(
        [("comm_a1", ["智能手机使用"]), ("comm_a1", ["智能手机使用", "家庭理财"]), ("comm_a2", ["防范电信诈骗"])]
    ):
        _r, user = resident_with_account(getattr(tree, home), name=f"居民{i}")
        services.survey_answer(
            user=user, survey=survey, topics=topics, times=["weekend_day"], other="希望晚上也有课" if i == 0 else ""
        )
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    client.force_login(staff)
    url = reverse("survey_detail", args=[survey.pk])
    response = client.get(url)
    html = response.content.decode()
    charts = chart_data(html)
    assert charts["topics"] == {
        "labels": ["智能手机使用", "防范电信诈骗", "家庭理财"],
        "counts": [2, 1, 1],
        "own": [False, False, False],
    }
    assert (charts["times"]["labels"][0], charts["times"]["counts"][0]) == ("周末白天", 3)
    assert "希望晚上也有课" in html and "居民0" not in html  # suggestions, but no names
    assert f'data-community="{tree.comm_a1.code}"' in html
    one = client.get(f"{url}?community={tree.comm_a2.code}").content.decode()
    topics = chart_data(one)["topics"]
    assert dict(zip(topics["labels"], topics["counts"], strict=True)) == {
        "智能手机使用": 0,
        "防范电信诈骗": 1,
        "家庭理财": 0,
    }
    # Turn a topic into needs.
    posted = client.post(
        reverse("survey_needs", args=[survey.pk]),
        {
            "topic": ["智能手机使用", "防范电信诈骗", "家庭理财"],
            "kind-0": "course",
            "kind-1": "",
            "kind-2": "",
            "min_count": "1",
        },
    )
    assert posted.status_code == 302
    assert list(Need.objects.values_list("community_id", "title", "resource_kind", "direction")) == [
        (tree.comm_a1.code, "智能手机使用", "course", "survey")
    ]
    assert "由本调查生成的需求" in client.get(url).content.decode()
    nothing = client.post(reverse("survey_needs", args=[survey.pk]), {"topic": ["智能手机使用"]})
    assert nothing.status_code == 400 and "请至少为一个主题选择所需资源类型" in nothing.content.decode()
    assert Need.objects.count() == 1


def test_results_page_queries_do_not_grow_with_answers(client, tree):
    survey = make_survey(tree, targets=[tree.street_a])
    client.force_login(factories.staff(Role.STREET_STAFF, tree.street_a))
    url = reverse("survey_detail", args=[survey.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    _r, user = resident_with_account(tree.comm_a1, name="第一位")
    services.survey_answer(user=user, survey=survey, topics=["家庭理财"])
    few = count()
    for i in range(10):
        _r, user = resident_with_account(tree.comm_a2 if i % 2 else tree.comm_a1, name=f"居民{i}")
        services.survey_answer(user=user, survey=survey, topics=["智能手机使用"], own_topic=f"自拟{i % 3}")
    assert count() == few


def test_list_queries_do_not_grow(client, tree):
    client.force_login(factories.staff(Role.ADMIN, tree.district))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("survey_list")).status_code == 200
        return len(ctx.captured_queries)

    make_survey(tree)
    few = count()
    for _ in range(6):
        make_survey(tree, place=tree.district, targets=[tree.street_b])
    assert count() == few


def test_resident_answers_on_a_phone_and_again_replaces(client, tree):
    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_a1)
    client.force_login(user)
    listing = client.get(reverse("survey_mine")).content.decode()
    assert "去填写" in listing
    url = reverse("survey_answer", args=[survey.pk])
    empty = client.post(url, {"times": ["weekend_day"]})
    assert empty.status_code == 400 and "请至少选择一个主题，或写下您想学的内容" in empty.content.decode()
    assert not SurveyResponse.objects.exists()
    first = client.post(url, {"topics": ["智能手机使用"], "times": ["weekend_day"], "places": ["online"]}, follow=True)
    assert "谢谢您！您的回答已提交" in first.content.decode()
    second = client.post(
        url, {"topics": ["家庭理财"], "own_topic": "太极拳", "times": ["weekday_evening"]}, follow=True
    )
    html = second.content.decode()
    assert "已更新您的回答（每人只保留最新的一份）" in html and 'id="answered-note"' in html
    stored = SurveyResponse.objects.get()
    assert stored.topics == ["家庭理财", "太极拳"] and stored.times == ["weekday_evening"]
    assert 'value="太极拳"' in html  # the form shows the answer kept
    assert "查看或修改我的回答" in client.get(reverse("survey_mine")).content.decode()
    services.survey_close(actor=None, survey=survey)
    closed = client.get(url).content.decode()
    assert "这份调查已经结束" in closed and 'id="answer-form"' not in closed
    late = client.post(url, {"topics": ["智能手机使用"]})
    assert late.status_code == 400
    assert SurveyResponse.objects.get().topics == ["家庭理财", "太极拳"]
