from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.learning import services
from gongzhi.learning.models import Course, CourseSession, Enrolment, PointsEntry, Series
from tests import factories
from tests.api.conftest import API, error_of

from .conftest import resident_with_account

pytestmark = pytest.mark.django_db

# role (granted on) × where the course is → sees / manages it
TABLE = [
    ("community_worker", "comm_a1", "comm_a1", True),
    ("community_worker", "comm_a1", "comm_a2", False),
    ("street_staff", "street_a", "comm_a2", True),
    ("street_staff", "street_a", "comm_b1", False),
    ("admin", "district", "comm_b1", True),
    ("admin", "district", "other_comm", False),
    ("teacher", "street_a", "street_a", False),
]


@pytest.mark.parametrize(("role", "granted", "where", "allowed"), TABLE)
def test_course_api_permission_table(make_client, tree, role, granted, where, allowed):
    user = factories.staff(role, getattr(tree, granted))
    course = services.course_create(actor=None, place=getattr(tree, where), title="课程")
    client = make_client(user)
    ids = {c["id"] for c in client.get(f"{API}/courses").json()["items"]}
    assert (str(course.pk) in ids) is allowed
    assert client.get(f"{API}/courses/{course.pk}").status_code == (200 if allowed else 404)
    r = client.post_json(f"{API}/courses/{course.pk}/sessions", {"starts_at": timezone.now().isoformat()})
    assert r.status_code == (201 if allowed else 404)
    place = getattr(tree, where)
    r = client.post_json(f"{API}/courses", {"place": place.code, "title": "新课"})
    assert r.status_code == (201 if allowed else 403)
    assert Course.objects.filter(title="新课").exists() is allowed


def test_teacher_sees_own_course_and_sessions(make_client, tree):
    user = factories.staff("teacher", tree.street_a)
    t = services.teacher_create(actor=None, place=tree.street_a, name="王老师", user=user)
    c = services.course_create(actor=None, place=tree.street_a, title="我的课")
    services.course_session_add(actor=None, course=c, starts_at=timezone.now(), teacher=t)
    client = make_client(user)
    assert [x["id"] for x in client.get(f"{API}/courses").json()["items"]] == [str(c.pk)]
    sessions = client.get(f"{API}/courses/{c.pk}/sessions").json()
    assert len(sessions) == 1 and sessions[0]["teacher"]["name"] == "王老师"
    r = client.post_json(f"{API}/courses/{c.pk}/sessions", {"starts_at": timezone.now().isoformat()})
    assert r.status_code == 403


def test_staff_creates_course_series_teacher_and_session(make_client, tree):
    client = make_client(factories.staff("street_staff", tree.street_a))
    s = client.post_json(f"{API}/series", {"place": tree.street_a.code, "name": "隔代教养"})
    assert s.status_code == 201
    again = client.post_json(f"{API}/series", {"place": tree.street_a.code, "name": "隔代教养"})
    assert again.json()["id"] == s.json()["id"] and Series.objects.count() == 1
    t = client.post_json(f"{API}/teachers", {"place": tree.street_a.code, "name": "陈律师", "expertise": "家事法"})
    assert t.status_code == 201
    c = client.post_json(
        f"{API}/courses",
        {
            "place": tree.street_a.code,
            "title": "婆媳沟通",
            "series_id": s.json()["id"],
            "teacher_ids": [t.json()["id"]],
            "capacity": 2,
        },
    )
    assert c.status_code == 201, c.json()
    body = c.json()
    assert body["series_name"] == "隔代教养" and body["teachers"][0]["name"] == "陈律师"
    assert body["enrolled_count"] == 0 and body["capacity"] == 2
    r = client.post_json(
        f"{API}/courses/{body['id']}/sessions", {"starts_at": "2030-03-01T09:00:00+08:00", "venue": "社区活动室"}
    )
    assert r.status_code == 201 and r.json()["title"] == "婆媳沟通 第1讲"
    assert client.get(f"{API}/series").json()["count"] == 1
    assert client.get(f"{API}/teachers").json()["count"] == 1


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"place": "330102001000", "title": ""}, 422, "title"),
        ({"place": "330102001000", "title": "x", "capacity": 0}, 422, "capacity"),
        ({"place": "330102001000", "title": "x", "status": "nope"}, 422, "status"),
        ({"place": "999999999999", "title": "x"}, 400, "place"),
        ({"place": "330102000000", "title": "x"}, 403, "place"),
    ],
)
def test_course_api_bad_input(make_client, tree, payload, status, field):
    client = make_client(factories.staff("street_staff", tree.street_a))
    r = client.post_json(f"{API}/courses", payload)
    assert r.status_code == status
    assert field in error_of(r)["fields"]
    assert not Course.objects.exists()


def test_session_api_bad_input(make_client, tree):
    client = make_client(factories.staff("street_staff", tree.street_a))
    c = services.course_create(actor=None, place=tree.street_a, title="课")
    r = client.post_json(
        f"{API}/courses/{c.pk}/sessions",
        {"starts_at": "2030-03-02T09:00:00+08:00", "ends_at": "2030-03-01T09:00:00+08:00"},
    )
    assert r.status_code == 400 and "ends_at" in error_of(r)["fields"]
    r = client.post_json(f"{API}/courses/{c.pk}/sessions", {"starts_at": "yesterday"})
    assert r.status_code == 422 and "starts_at" in error_of(r)["fields"]
    assert not CourseSession.objects.exists()


def test_resident_enrol_cancel_idempotent_and_waitlist(make_client, tree):
    course = services.course_create(actor=None, place=tree.street_a, title="热门课", capacity=1)
    _, ua = resident_with_account(tree.comm_a1, "甲")
    b, ub = resident_with_account(tree.comm_a2, "乙")
    ca, cb = make_client(ua), make_client(ub)
    assert [x["id"] for x in ca.get(f"{API}/courses").json()["items"]] == [str(course.pk)]
    r1, r2 = ca.post(f"{API}/courses/{course.pk}/enrol"), ca.post(f"{API}/courses/{course.pk}/enrol")
    assert r1.json()["status"] == "enrolled" and r1.json()["id"] == r2.json()["id"]
    w = cb.post(f"{API}/courses/{course.pk}/enrol").json()
    assert w["status"] == "waitlisted" and w["waitlist_position"] == 1
    assert ca.post(f"{API}/courses/{course.pk}/cancel").status_code == 204
    assert ca.post(f"{API}/courses/{course.pk}/cancel").status_code == 204
    mine = cb.get(f"{API}/me/enrolments").json()
    assert [(m["course_title"], m["status"], m["waitlist_position"]) for m in mine] == [("热门课", "enrolled", None)]
    assert ca.get(f"{API}/me/enrolments").json() == []
    assert Enrolment.objects.get(resident=b).status == "enrolled"


def test_resident_cannot_see_or_enrol_elsewhere_and_staff_cannot_enrol(make_client, tree):
    far = services.course_create(actor=None, place=tree.street_b, title="别处")
    draft = services.course_create(actor=None, place=tree.street_a, title="筹备", status="draft")
    _, user = resident_with_account(tree.comm_a1)
    client = make_client(user)
    for c in (far, draft):
        assert client.get(f"{API}/courses/{c.pk}").status_code == 404
        assert client.post(f"{API}/courses/{c.pk}/enrol").status_code == 404
    staff = make_client(factories.staff("street_staff", tree.street_a))
    assert staff.post(f"{API}/courses/{draft.pk}/enrol").status_code == 403
    assert staff.get(f"{API}/me/points").status_code == 403
    assert not Enrolment.objects.exists()


def test_my_points_and_staff_reverse(make_client, tree):
    r, user = resident_with_account(tree.comm_a1)
    e = services.points_award(resident=r, rule_code="pass_test", source_type="test", source_id="1")
    assert e is not None
    me = make_client(user)
    body = me.get(f"{API}/me/points").json()
    assert body["balance"] == 20 and body["entries"][0]["rule_code"] == "pass_test"
    # A resident cannot reverse; staff elsewhere do not find the entry; bad input writes nothing.
    assert me.post_json(f"{API}/points/{e.pk}/reverse", {"reason": "x"}).status_code == 404
    far = make_client(factories.staff("community_worker", tree.comm_a2))
    assert far.post_json(f"{API}/points/{e.pk}/reverse", {"reason": "x"}).status_code == 404
    staff = make_client(factories.staff("community_worker", tree.comm_a1))
    bad = staff.post_json(f"{API}/points/{e.pk}/reverse", {"reason": ""})
    assert bad.status_code == 400 and "reason" in error_of(bad)["fields"]
    assert PointsEntry.objects.count() == 1
    ok = staff.post_json(f"{API}/points/{e.pk}/reverse", {"reason": "录入错误"})
    assert ok.status_code == 201 and ok.json()["points"] == -20 and ok.json()["reversal_of"] == str(e.pk)
    assert staff.post_json(f"{API}/points/{e.pk}/reverse", {"reason": "又一次"}).status_code == 409
    body = me.get(f"{API}/me/points").json()
    assert body["balance"] == 0 and len(body["entries"]) == 2
    assert {x["reversed"] for x in body["entries"]} == {True, False}


def test_unauthenticated(anon, tree):
    for r in (anon.get(f"{API}/courses"), anon.get(f"{API}/me/points"), anon.get(f"{API}/series")):
        assert r.status_code == 401


def test_course_list_api_query_count_is_constant(make_client, tree):
    client = make_client(factories.staff("street_staff", tree.street_a))
    teacher = services.teacher_create(actor=None, place=tree.street_a, name="师")

    def add(n):
        for i in range(n):
            c = services.course_create(actor=None, place=tree.comm_a1, title=f"课{i}", teachers=[teacher])
            services.enrolment_create(resident=factories.resident(tree.comm_a1, name=f"人{i}"), course=c)

    add(2)
    client.get(f"{API}/courses")
    with CaptureQueriesContext(connection) as few:
        client.get(f"{API}/courses")
    add(10)
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"{API}/courses").json()["count"] == 12
    assert len(many) == len(few)
