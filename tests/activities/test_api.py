"""Activities API: permission tables, idempotent attendance, QR check-in, own history; every response checked against
the OpenAPI document; one error shape."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.activities import qr, services
from gongzhi.activities.models import Activity, Attendance
from tests.api.conftest import API, error_of

from .conftest import open_activity
from .test_pages import RUNS_MEETING, RUNS_SESSION, USERS

TABLE = [
    (user, which, user in (RUNS_SESSION if which == "session" else RUNS_MEETING))
    for user in USERS
    for which in ("session", "meeting")
]


@pytest.mark.parametrize(("user", "which", "allowed"), TABLE)
def test_detail_roster_and_mark_permission_table(cw, make_client, user, which, allowed):
    activity = cw.session if which == "session" else cw.meeting
    person = cw.enrolled[1] if which == "session" else cw.members[1]
    client = make_client(cw.users[user])
    detail = client.get(f"{API}/activities/{activity.pk}")
    roster = client.get(f"{API}/activities/{activity.pk}/roster")
    mark = client.put(
        f"{API}/activities/{activity.pk}/attendance/{person.pk}",
        '{"status": "present"}',
        content_type="application/json",
    )
    listed = {item["id"] for item in client.get(f"{API}/activities").json()["items"]}
    if allowed:
        assert detail.status_code == 200 and detail.json()["title"] == activity.title
        assert roster.status_code == 200 and str(person.pk) in {r["resident_id"] for r in roster.json()["items"]}
        assert mark.status_code == 200 and mark.json()["status"] == "present"
        assert str(activity.pk) in listed
    else:
        for response in (detail, roster, mark):
            assert response.status_code == 404
            assert error_of(response)["code"] == "not_found"
        assert not Attendance.objects.exists()
        assert str(activity.pk) not in listed


def test_mark_is_idempotent_and_updates(cw, make_client):
    client = make_client(cw.users["community_worker"])
    url = f"{API}/activities/{cw.session.pk}/attendance/{cw.enrolled[0].pk}"
    first = client.put(url, '{"status": "present", "hours": "1.5"}', content_type="application/json")
    second = client.put(url, '{"status": "present", "hours": "1.5"}', content_type="application/json")
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    third = client.put(url, '{"status": "excused"}', content_type="application/json")
    assert third.json()["status"] == "excused" and third.json()["source"] == "roster"
    assert Attendance.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [('{"status": "maybe"}', "status"), ('{"status": "present", "hours": -1}', "hours"), ("{}", "status")],
)
def test_mark_bad_input(cw, make_client, body, field):
    client = make_client(cw.users["community_worker"])
    response = client.put(
        f"{API}/activities/{cw.session.pk}/attendance/{cw.enrolled[0].pk}", body, content_type="application/json"
    )
    assert response.status_code == 422
    assert field in error_of(response)["fields"]
    assert not Attendance.objects.exists()


def test_mark_someone_not_on_the_roster_is_404(cw, make_client):
    client = make_client(cw.users["community_worker"])
    response = client.put(
        f"{API}/activities/{cw.session.pk}/attendance/{cw.members[1].pk}",
        '{"status": "present"}',
        content_type="application/json",
    )
    assert response.status_code == 404


def test_create_activity(cw, make_client):
    client = make_client(cw.users["street_staff"])
    body = {
        "place_code": cw.tree.comm_a2.code,
        "kind": "volunteer_event",
        "title": "清洁家园",
        "starts_at": "2026-06-01T09:00:00+08:00",
        "ends_at": "2026-06-01T11:00:00+08:00",
    }
    response = client.post_json(f"{API}/activities", body)
    assert response.status_code == 201
    assert response.json()["place_code"] == cw.tree.comm_a2.code and response.json()["kind_label"] == "志愿服务"
    response = client.post_json(f"{API}/activities", {**body, "place_code": cw.tree.comm_b1.code})
    assert response.status_code == 403 and "place_code" in error_of(response)["fields"]
    response = client.post_json(f"{API}/activities", {**body, "ends_at": "2026-06-01T08:00:00+08:00"})
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"ends_at": ["结束时间不能早于开始时间"]}
    response = client.post_json(f"{API}/activities", {**body, "kind": "party", "title": ""})
    assert response.status_code == 422 and {"kind", "title"} <= set(error_of(response)["fields"])
    teacher = make_client(cw.users["teacher"])
    assert teacher.post_json(f"{API}/activities", body).status_code == 403
    assert Activity.objects.filter(title="清洁家园").count() == 1


def test_checkin_api(cw, make_client):
    client = make_client(cw.resident_user)
    token = qr.issue(cw.session.pk)
    first = client.post_json(f"{API}/checkin", {"token": token})
    assert first.status_code == 200
    assert first.json()["created"] is True and first.json()["message"] == "签到成功"
    assert first.json()["activity"]["id"] == str(cw.session.pk)
    again = client.post_json(f"{API}/checkin", {"token": token})
    assert again.json()["created"] is False and again.json()["message"] == "您已签到"
    assert Attendance.objects.count() == 1


@pytest.mark.parametrize("case", ["expired", "forged", "other_activity"])
def test_checkin_api_refusals(cw, make_client, case):
    client = make_client(cw.resident_user)
    body: dict[str, str] = {"token": qr.issue(cw.session.pk)}
    if case == "expired":
        body["token"] = qr.issue(cw.session.pk, at=time.time() - 90)
    elif case == "forged":
        body["token"] = body["token"][:-3] + "xyz"
    else:
        body["activity_id"] = str(cw.meeting.pk)
    response = client.post_json(f"{API}/checkin", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == {"forged": "invalid"}.get(case, case)
    assert error["fields"]["token"]
    assert not Attendance.objects.exists()


def test_checkin_needs_login(cw, anon):
    response = anon.post_json(f"{API}/checkin", {"token": qr.issue(cw.session.pk)})
    assert response.status_code == 401
    assert not Attendance.objects.exists()


def test_my_attendance_is_only_mine(cw, make_client):
    services.checkin_by_qr(user=cw.resident_user, token=qr.issue(cw.session.pk))
    services.roster_mark(actor=None, activity=cw.meeting, resident=cw.members[1], status="present")
    mine = make_client(cw.resident_user).get(f"{API}/me/attendance").json()
    assert [item["activity_id"] for item in mine["items"]] == [str(cw.session.pk)]
    staff_view = make_client(cw.users["street_staff"]).get(f"{API}/me/attendance").json()
    assert staff_view["items"] == []


def test_activity_list_query_count_is_constant(cw, make_client):
    client = make_client(cw.users["admin"])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{API}/activities").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(10):
        a = open_activity(cw.tree.comm_a2, title=f"活动{i}")
        services.roster_mark(actor=None, activity=a, resident=cw.enrolled[0], status="present")
    assert count() == few


def test_roster_query_count_is_constant(cw, make_client):
    client = make_client(cw.users["admin"])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{API}/activities/{cw.session.pk}/roster").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for r in cw.enrolled:
        services.roster_mark(actor=None, activity=cw.session, resident=r, status="present")
    assert count() == few
