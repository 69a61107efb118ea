"""Survey API: permission tables for staff and residents, create/open/close, answering (201 then 200 = replaced, twelve
rows), results (withheld below five), the instrument, bad input in the one error shape, constant query counts. Every
response is checked against the OpenAPI document by the API client of tests/api."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.analytics.models import SocialSurvey, SurveyAnswer
from gongzhi.analytics.survey.instrument import ITEMS, TEXTS
from gongzhi.people.models import Role
from tests import factories
from tests.api.conftest import API, error_of

from .conftest import all_items, answer, make_survey, resident_with_account
from .test_pages import RESIDENT_TABLE, STAFF_TABLE

pytestmark = pytest.mark.django_db

D = datetime.timedelta


@pytest.mark.parametrize(("role", "granted", "allowed", "may_create"), STAFF_TABLE)
def test_staff_permission_table(make_client, tree, role, granted, allowed, may_create):
    survey = make_survey(tree, open_it=False)
    client = make_client(factories.staff(role, getattr(tree, granted)))
    ids = {s["id"] for s in client.get(f"{API}/social-surveys").json()["items"]}
    assert (str(survey.pk) in ids) is allowed
    assert client.get(f"{API}/social-surveys/{survey.pk}").status_code == (200 if allowed else 404)
    assert client.get(f"{API}/social-surveys/{survey.pk}/results").status_code == (200 if allowed else 404)
    assert client.post_json(f"{API}/social-surveys/{survey.pk}/open").status_code == (200 if allowed else 404)
    assert client.post_json(f"{API}/social-surveys/{survey.pk}/close").status_code == (200 if allowed else 404)
    survey.refresh_from_db()
    assert survey.status == ("closed" if allowed else "draft")
    today = timezone.localdate()
    created = client.post_json(
        f"{API}/social-surveys",
        {
            "place_code": tree.street_a.code,
            "title": "新一轮调查",
            "target_codes": [tree.comm_a1.code],
            "opens_on": today.isoformat(),
            "closes_on": (today + D(days=5)).isoformat(),
        },
    )
    assert created.status_code == (201 if allowed else 403)
    if not allowed:
        assert error_of(created)["fields"] == {"place_code": ["您无权执行此操作"]}
    assert SocialSurvey.objects.filter(title="新一轮调查").exists() is allowed


@pytest.mark.parametrize(("home", "targeted"), RESIDENT_TABLE)
def test_resident_permission_table(make_client, tree, home, targeted):
    survey = make_survey(tree, targets=[tree.street_a])
    _r, user = resident_with_account(getattr(tree, home))
    client = make_client(user)
    ids = {s["id"] for s in client.get(f"{API}/me/social-surveys").json()["items"]}
    assert (str(survey.pk) in ids) is targeted
    assert client.get(f"{API}/me/social-surveys/{survey.pk}").status_code == (200 if targeted else 404)
    answered = client.put(
        f"{API}/me/social-surveys/{survey.pk}/answer",
        {"answers": all_items(3)},
        content_type="application/json",
    )
    assert answered.status_code == (201 if targeted else 404)
    assert SurveyAnswer.objects.count() == (12 if targeted else 0)
    assert client.get(f"{API}/social-surveys/{survey.pk}").status_code == 404
    assert client.get(f"{API}/social-surveys").json()["items"] == []


def test_anonymous_is_refused(anon, tree):
    survey = make_survey(tree)
    for path in ("/social-surveys", f"/social-surveys/{survey.pk}/results", "/me/social-surveys"):
        response = anon.get(API + path)
        assert response.status_code == 401 and error_of(response)["code"] == "unauthenticated"


def test_create_open_close_and_bad_input(make_client, tree):
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    today = timezone.localdate()
    payload = {
        "place_code": tree.street_a.code,
        "title": "上半年社会资本调查",
        "target_codes": [tree.comm_a1.code, tree.comm_a2.code, tree.comm_a1.code],
        "opens_on": today.isoformat(),
        "closes_on": (today + D(days=10)).isoformat(),
        "open_now": True,
    }
    created = client.post_json(f"{API}/social-surveys", payload)
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "open" and body["status_label"] == "进行中" and body["respondents"] == 0
    assert body["target_codes"] == [tree.comm_a1.code, tree.comm_a2.code] and body["place_code"] == tree.street_a.code
    survey_id = body["id"]
    assert client.post_json(f"{API}/social-surveys/{survey_id}/close").json()["status"] == "closed"
    again = client.post_json(f"{API}/social-surveys/{survey_id}/open")
    assert again.status_code == 409 and error_of(again)["message"] == "调查已结束，不能再开始"

    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        (
            {"target_codes": [tree.comm_b1.code]},
            400,
            "target_codes",
            f"{tree.comm_b1.name} 不在 {tree.street_a.name} 之内",
        ),
        ({"target_codes": ["330102001099"]}, 400, "target_codes", "找不到该区划代码：330102001099"),
        ({"target_codes": []}, 422, "target_codes", None),
        ({"title": ""}, 422, "title", "不能为空"),
        ({"title": "   "}, 400, "title", "必填"),
        ({"place_code": "12345"}, 422, "place_code", "格式不正确"),
        ({"place_code": "330102009000"}, 400, "place_code", "找不到该区划代码"),
        ({"closes_on": (today - D(days=1)).isoformat()}, 400, "closes_on", "截止日期不能早于开始日期"),
        ({"opens_on": "2026-02-30"}, 422, "opens_on", "日期格式应为 YYYY-MM-DD"),
    ]
    for change, status, field, message in cases:
        response = client.post_json(f"{API}/social-surveys", {**payload, **change})
        assert response.status_code == status, (change, response.json())
        fields = error_of(response)["fields"]
        assert field in fields, (change, fields)
        if message:
            assert fields[field] == [message], (change, fields)
    assert SocialSurvey.objects.count() == 1


def test_answer_then_replace_and_bad_answers(make_client, tree):
    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_a1)
    client = make_client(user)
    url = f"{API}/me/social-surveys/{survey.pk}/answer"

    def put(answers):
        return client.put(url, {"answers": answers}, content_type="application/json")

    detail = client.get(f"{API}/me/social-surveys/{survey.pk}").json()
    assert detail["my_answers"] is None and detail["accepting"] is True and detail["answered"] is False
    assert [i["item"] for i in detail["items"]] == list(ITEMS) and detail["items"][0]["text"] == str(TEXTS["T1"])
    assert [lk["value"] for lk in detail["likert"]] == [1, 2, 3, 4, 5]

    missing = put({k: v for k, v in all_items(4).items() if k != "R3"})
    assert missing.status_code == 400
    assert error_of(missing)["message"] == "还有 1 道题没有作答，请选择后再提交"
    assert error_of(missing)["fields"] == {"R3": ["第 9 题还没有选择"]}
    out_of_range = put(all_items(4) | {"T1": 9})
    assert out_of_range.status_code == 400 and error_of(out_of_range)["fields"] == {"T1": ["第 1 题的答案应为 1 到 5"]}
    unknown = put(all_items(4) | {"Z1": 3})
    assert unknown.status_code == 400 and error_of(unknown)["fields"] == {"Z1": ["没有这道题"]}
    not_int = put(all_items(4) | {"T1": "很同意"})
    assert not_int.status_code == 422 and "answers.T1" in error_of(not_int)["fields"]
    no_body = client.put(url, "{", content_type="application/json")
    assert no_body.status_code == 400
    assert not SurveyAnswer.objects.exists()

    first = put(all_items(4))
    assert first.status_code == 201 and first.json()["my_answers"] == all_items(4) and first.json()["answered"]
    assert first.json()["answered_on"] == timezone.localdate().isoformat()
    second = put(all_items(2))
    assert second.status_code == 200 and second.json()["my_answers"] == all_items(2)
    assert SurveyAnswer.objects.count() == 12
    listed = client.get(f"{API}/me/social-surveys").json()["items"]
    assert [(s["id"], s["answered"]) for s in listed] == [(str(survey.pk), True)]

    client_staff = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    client_staff.post_json(f"{API}/social-surveys/{survey.pk}/close")
    late = put(all_items(5))
    assert late.status_code == 409 and error_of(late)["code"] == "survey_not_open"
    assert set(SurveyAnswer.objects.values_list("value", flat=True)) == {2}


def test_results(make_client, tree):
    survey = make_survey(tree, targets=[tree.street_a])
    for i in range(6):
        _r, user = resident_with_account(tree.comm_a1, name=f"居民{i}")
        answer(user, survey, [1 + (i + j // 3) % 5 for j in range(12)])
    _r, user = resident_with_account(tree.comm_a2, name="少数")
    answer(user, survey, 5)
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    body = client.get(f"{API}/social-surveys/{survey.pk}/results").json()
    assert body["respondents"] == 7 and body["small_sample"] is False and body["min_respondents"] == 5
    by_code = {c["code"]: c for c in body["communities"]}
    assert set(by_code) == {tree.comm_a1.code, tree.comm_a2.code}  # the street's communities
    a1 = by_code[tree.comm_a1.code]
    assert a1["respondents"] == 6 and not a1["small_sample"] and a1["targeted"]
    trust = a1["scales"][0]
    # trust items of comm_a1's six: 1 + i % 5 for i = 0 … 5 → 1, 2, 3, 4, 5, 1: mean 16/6 on each item
    assert trust["indicator"] == "S_TRUST" and trust["value"] == pytest.approx(16 / 6)
    assert trust["score"] == pytest.approx((16 / 6 - 1) / 4 * 100)
    a2 = by_code[tree.comm_a2.code]
    assert a2["small_sample"] and all(s["value"] is None and s["score"] is None for s in a2["scales"])
    assert [a["indicator"] for a in body["alphas"]] == ["S_TRUST", "S_NORMS", "S_NETWORK", "S_SATISFACTION"]
    assert all(a["respondents"] == 7 and a["alpha"] is not None for a in body["alphas"])
    assert body["alphas"][0]["level"] == "excellent"  # each scale's three items move together here
    assert [i["item"] for i in body["items"]] == list(ITEMS) and sum(body["items"][0]["counts"]) == 7
    assert all(i["total"] == 7 for i in body["items"])


def test_results_withheld_below_five(make_client, tree):
    survey = make_survey(tree)
    for i in range(3):
        _r, user = resident_with_account(tree.comm_a1, name=f"居民{i}")
        answer(user, survey, 1 + i)
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    body = client.get(f"{API}/social-surveys/{survey.pk}/results").json()
    assert body["respondents"] == 3 and body["small_sample"] is True
    assert all(c["value"] is None for c in body["overall"])
    assert all(a["alpha"] is None and a["level"] == "small" for a in body["alphas"])
    assert all(i["counts"] == [0, 0, 0, 0, 0] and i["mean"] is None for i in body["items"])


def test_the_instrument(make_client, tree):
    _r, user = resident_with_account(tree.comm_a1)
    body = make_client(user).get(f"{API}/social-survey-instrument").json()
    assert [s["indicator"] for s in body["scales"]] == ["S_TRUST", "S_NORMS", "S_NETWORK", "S_SATISFACTION"]
    assert [i["item"] for i in body["items"]] == list(ITEMS)
    assert body["likert"][0] == {"value": 1, "label": "非常不同意"}


def test_list_queries_do_not_grow(make_client, tree):
    staff = make_client(factories.staff(Role.ADMIN, tree.district))
    _r, user = resident_with_account(tree.comm_a1)
    resident = make_client(user)

    def count(client, path) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(API + path).status_code == 200
        return len(ctx.captured_queries)

    make_survey(tree)
    few = count(staff, "/social-surveys"), count(resident, "/me/social-surveys")
    for i in range(5):
        s = make_survey(tree, place=tree.district, targets=[tree.street_a, tree.comm_b1], title=f"调查{i}")
        answer(user, s)
    assert (count(staff, "/social-surveys"), count(resident, "/me/social-surveys")) == few
