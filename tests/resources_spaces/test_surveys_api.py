"""Needs surveys API: permission tables for staff and residents, create/open/close, answering (201 then 200 =
replaced, one row), results, topics into needs, bad input in the one error shape, constant query counts. Every
response is checked against the OpenAPI document by the API client of tests/api."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.people.models import Role
from gongzhi.resources.models import Need, NeedsSurvey, SurveyResponse
from gongzhi.resources.services import surveys as services
from tests import factories
from tests.api.conftest import API, anon, error_of, make_client, openapi_checker, openapi_spec  # noqa: F401

from .conftest import resident_with_account
from .test_surveys_pages import RESIDENT_TABLE, STAFF_TABLE, make_survey

pytestmark = pytest.mark.django_db

D = datetime.timedelta


@pytest.mark.parametrize(("role", "granted", "allowed"), STAFF_TABLE)
def test_staff_permission_table(make_client, tree, role, granted, allowed):  # noqa: F811 (pytest fixtures)
    survey = make_survey(tree)
    client = make_client(factories.staff(role, getattr(tree, granted)))
    ids = {s["id"] for s in client.get(f"{API}/needs-surveys").json()["items"]}
    assert (str(survey.pk) in ids) is allowed
    assert client.get(f"{API}/needs-surveys/{survey.pk}").status_code == (200 if allowed else 404)
    assert client.get(f"{API}/needs-surveys/{survey.pk}/results").status_code == (200 if allowed else 404)
    closed = client.post_json(f"{API}/needs-surveys/{survey.pk}/close")
    assert closed.status_code == (200 if allowed else 404)
    survey.refresh_from_db()
    assert (survey.status == "closed") is allowed
    today = timezone.localdate()
    created = client.post_json(
        f"{API}/needs-surveys",
        {
            "place_code": tree.street_a.code,
            "title": "新调查",
            "target_codes": [tree.comm_a1.code],
            "topics": ["家庭教育"],
            "opens_on": today.isoformat(),
            "closes_on": (today + D(days=5)).isoformat(),
        },
    )
    assert created.status_code == (201 if allowed else 403)
    assert NeedsSurvey.objects.filter(title="新调查").exists() is allowed


@pytest.mark.parametrize(("home", "targeted"), RESIDENT_TABLE)
def test_resident_permission_table(make_client, tree, home, targeted):  # noqa: F811 (pytest fixtures)
    survey = make_survey(tree, targets=[tree.street_a])
    _r, user = resident_with_account(getattr(tree, home))
    client = make_client(user)
    ids = {s["id"] for s in client.get(f"{API}/me/needs-surveys").json()["items"]}
    assert (str(survey.pk) in ids) is targeted
    assert client.get(f"{API}/me/needs-surveys/{survey.pk}").status_code == (200 if targeted else 404)
    answered = client.put(
        f"{API}/me/needs-surveys/{survey.pk}/answer", '{"topics": ["家庭理财"]}', content_type="application/json"
    )
    assert answered.status_code == (201 if targeted else 404)
    assert client.get(f"{API}/needs-surveys/{survey.pk}").status_code == 404
    assert client.get(f"{API}/needs-surveys").json()["items"] == []


def test_create_open_and_bad_input(make_client, tree):  # noqa: F811 (pytest fixtures)
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    today = timezone.localdate()
    payload = {
        "place_code": tree.street_a.code,
        "title": "春季学习需求",
        "target_codes": [tree.comm_a1.code, tree.comm_a2.code],
        "topics": ["智能手机使用", " 防范电信诈骗 ", "智能手机使用"],
        "opens_on": today.isoformat(),
        "closes_on": (today + D(days=7)).isoformat(),
        "open_now": True,
    }
    created = client.post_json(f"{API}/needs-surveys", payload)
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "open" and body["topics"] == ["智能手机使用", "防范电信诈骗"]
    assert body["target_codes"] == [tree.comm_a1.code, tree.comm_a2.code] and body["response_count"] == 0
    outside = client.post_json(f"{API}/needs-surveys", {**payload, "target_codes": [tree.comm_b1.code]})
    assert outside.status_code == 400 and list(error_of(outside)["fields"]) == ["targets"]
    unknown = client.post_json(f"{API}/needs-surveys", {**payload, "target_codes": ["330102009009"]})
    assert unknown.status_code == 400 and list(error_of(unknown)["fields"]) == ["target_codes"]
    empty = client.post_json(f"{API}/needs-surveys", {**payload, "topics": [], "closes_on": "tomorrow"})
    assert empty.status_code == 422 and set(error_of(empty)["fields"]) == {"topics", "closes_on"}
    assert NeedsSurvey.objects.count() == 1
    reopened = client.post_json(f"{API}/needs-surveys/{body['id']}/close")
    assert reopened.json()["status"] == "closed"
    refused = client.post_json(f"{API}/needs-surveys/{body['id']}/open")
    assert refused.status_code == 409 and error_of(refused)["code"] == "survey_closed"


def test_answer_then_replace_then_results_then_needs(make_client, tree):  # noqa: F811 (pytest fixtures)
    survey = make_survey(tree, targets=[tree.street_a])
    _r, user = resident_with_account(tree.comm_a1)
    resident = make_client(user)
    detail = resident.get(f"{API}/me/needs-surveys/{survey.pk}").json()
    assert detail["accepting"] is True and detail["my_answer"] is None and detail["answered"] is False
    assert [o["key"] for o in detail["time_options"]] == [
        "weekday_day",
        "weekday_evening",
        "weekend_day",
        "weekend_evening",
    ]
    url = f"{API}/me/needs-surveys/{survey.pk}/answer"
    bad = resident.put(url, '{"topics": ["不在选项里"]}', content_type="application/json")
    assert bad.status_code == 400 and error_of(bad)["fields"] == {"topics": ["不是可选的值：不在选项里"]}
    first = resident.put(url, '{"topics": ["智能手机使用"], "times": ["weekend_day"]}', content_type="application/json")
    assert first.status_code == 201 and first.json()["my_answer"]["topics"] == ["智能手机使用"]
    again = resident.put(
        url, '{"topics": ["家庭理财"], "own_topic": "太极拳", "places": ["online"]}', content_type="application/json"
    )
    assert again.status_code == 200 and again.json()["my_answer"]["topics"] == ["家庭理财", "太极拳"]
    assert SurveyResponse.objects.count() == 1
    staff = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    results = staff.get(f"{API}/needs-surveys/{survey.pk}/results").json()
    assert results["respondents"] == 1
    assert [(t["label"], t["count"], t["own"]) for t in results["topics"] if t["count"]] == [
        ("家庭理财", 1, False),
        ("太极拳", 1, True),
    ]
    assert results["communities"][0]["code"] == tree.comm_a1.code
    made = staff.post_json(
        f"{API}/needs-surveys/{survey.pk}/needs", {"topics": [{"topic": "太极拳", "resource_kind": "teacher"}]}
    )
    assert made.status_code == 201 and [(n["title"], n["community_code"]) for n in made.json()] == [
        ("太极拳", tree.comm_a1.code)
    ]
    none = staff.post_json(
        f"{API}/needs-surveys/{survey.pk}/needs", {"topics": [{"topic": "太极拳", "resource_kind": "teacher"}]}
    )
    assert none.status_code == 200 and none.json() == []
    wrong = staff.post_json(
        f"{API}/needs-surveys/{survey.pk}/needs", {"topics": [{"topic": "x", "resource_kind": "rocket"}]}
    )
    assert wrong.status_code == 422
    assert Need.objects.count() == 1
    assert staff.get(f"{API}/needs-surveys/{survey.pk}/results").json()["needs"][0]["status"] == "open"
    services.survey_close(actor=None, survey=survey)
    late = resident.put(url, '{"topics": ["智能手机使用"]}', content_type="application/json")
    assert late.status_code == 409 and error_of(late)["code"] == "survey_not_open"


def test_list_queries_do_not_grow(make_client, tree):  # noqa: F811 (pytest fixtures)
    client = make_client(factories.staff(Role.ADMIN, tree.district))
    _r, user = resident_with_account(tree.comm_a1)
    resident = make_client(user)

    def count(c, path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(path).status_code == 200
        return len(ctx.captured_queries)

    make_survey(tree)
    few = count(client, f"{API}/needs-surveys"), count(resident, f"{API}/me/needs-surveys")
    for _ in range(6):
        make_survey(tree, place=tree.district, targets=[tree.street_a, tree.comm_b1])
    assert (count(client, f"{API}/needs-surveys"), count(resident, f"{API}/me/needs-surveys")) == few
