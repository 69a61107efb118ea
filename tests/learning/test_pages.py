from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gongzhi.learning import services
from gongzhi.learning.models import Course, CourseSession, Enrolment, Series, Teacher
from tests import factories

from .conftest import resident_with_account

pytestmark = pytest.mark.django_db

# role (granted on) × where the course is → may manage it (staff pages)
CASES = [
    ("community_worker", "comm_a1", "comm_a1", True),
    ("community_worker", "comm_a1", "comm_a2", False),
    ("community_worker", "comm_a1", "street_a", False),
    ("street_staff", "street_a", "street_a", True),
    ("street_staff", "street_a", "comm_a2", True),
    ("street_staff", "street_a", "comm_b1", False),
    ("street_staff", "street_a", "other_comm", False),
    ("admin", "district", "comm_b1", True),
    ("admin", "district", "other_comm", False),
]


@pytest.mark.parametrize(("role", "granted", "where", "allowed"), CASES)
def test_course_pages_permission_table(client, tree, role, granted, where, allowed):
    user = factories.staff(role, getattr(tree, granted))
    course = services.course_create(actor=None, place=getattr(tree, where), title="权限测试课程")
    client.force_login(user)
    listing = client.get(reverse("course_list"))
    assert listing.status_code == 200
    assert ("权限测试课程" in listing.content.decode()) is allowed
    assert client.get(reverse("course_detail", args=[course.pk])).status_code == (200 if allowed else 404)
    assert client.get(reverse("course_edit", args=[course.pk])).status_code == (200 if allowed else 404)
    start = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    resp = client.post(reverse("course_detail", args=[course.pk]), {"starts_at": start, "mode": "local"})
    assert resp.status_code == (302 if allowed else 404)
    assert CourseSession.objects.filter(course=course).exists() is allowed


def test_resident_and_plain_teacher_have_no_staff_pages(client, tree):
    _, user = resident_with_account(tree.comm_a1)
    teacher = factories.staff("teacher", tree.street_a)
    for u in (user, teacher):
        client.force_login(u)
        for name in ("course_list", "course_new", "series_list", "teacher_list", "points_rule_list"):
            assert client.get(reverse(name)).status_code == 403, (u, name)


def test_teacher_sees_own_courses_only(client, tree):
    user = factories.staff("teacher", tree.street_a)
    mine = services.teacher_create(actor=None, place=tree.street_a, name="王老师", user=user)
    c1 = services.course_create(actor=None, place=tree.street_a, title="我的课", teachers=[mine])
    c2 = services.course_create(actor=None, place=tree.street_a, title="别人的课")
    client.force_login(user)
    page = client.get(reverse("course_list")).content.decode()
    assert "我的课" in page and "别人的课" not in page
    assert client.get(reverse("course_detail", args=[c1.pk])).status_code == 200
    assert client.get(reverse("course_detail", args=[c2.pk])).status_code == 404
    # A teacher sees but does not add sessions.
    assert client.post(reverse("course_detail", args=[c1.pk]), {"starts_at": "2030-01-01T10:00"}).status_code == 403


def test_staff_creates_course_series_teacher(client, tree):
    user = factories.staff("street_staff", tree.street_a)
    client.force_login(user)
    assert client.post(reverse("series_list"), {"name": "健康生活"}).status_code == 302
    assert client.post(reverse("teacher_list"), {"name": "赵医生", "expertise": "全科"}).status_code == 302
    series, teacher = Series.objects.get(), Teacher.objects.get()
    resp = client.post(
        reverse("course_new"),
        {
            "title": "慢病管理",
            "series": str(series.pk),
            "teachers": [str(teacher.pk)],
            "capacity": "30",
            "status": "open",
        },
    )
    course = Course.objects.get()
    assert resp.status_code == 302 and resp.url == reverse("course_detail", args=[course.pk])
    assert course.place == tree.street_a and course.series == series and list(course.teachers.all()) == [teacher]
    page = client.get(reverse("course_list") + f"?series={series.pk}").content.decode()
    assert "慢病管理" in page
    assert "慢病管理" in client.get(reverse("course_list")).content.decode()
    rules = client.get(reverse("points_rule_list")).content.decode()
    assert "参加课程" in rules and "attend_course_session" in rules


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"title": "", "status": "open"}, "课程名称："),
        ({"title": "x", "status": "open", "capacity": "0"}, "名额："),
        ({"title": "x", "status": "nope"}, "状态："),
        ({"title": "x", "status": "open", "capacity": "abc"}, "名额："),
    ],
)
def test_course_form_bad_input(client, tree, data, field_error):
    client.force_login(factories.staff("street_staff", tree.street_a))
    resp = client.post(reverse("course_new"), data)
    assert resp.status_code == 200 and field_error in resp.content.decode()
    assert not Course.objects.exists()


def test_session_form_bad_input(client, tree):
    client.force_login(factories.staff("street_staff", tree.street_a))
    course = services.course_create(actor=None, place=tree.street_a, title="课")
    resp = client.post(
        reverse("course_detail", args=[course.pk]),
        {"starts_at": "2030-01-02T10:00", "ends_at": "2030-01-01T10:00", "mode": "local"},
    )
    assert resp.status_code == 200 and "结束时间：结束时间不能早于开始时间" in resp.content.decode()
    resp = client.post(reverse("course_detail", args=[course.pk]), {"starts_at": "", "mode": "local"})
    assert "开始时间：" in resp.content.decode()
    assert not CourseSession.objects.exists()


def test_course_list_query_count_is_constant(client, tree):
    user = factories.staff("street_staff", tree.street_a)
    teacher = services.teacher_create(actor=None, place=tree.street_a, name="师")
    client.force_login(user)

    def add(n):
        for i in range(n):
            c = services.course_create(actor=None, place=tree.comm_a1, title=f"课{i}", teachers=[teacher], capacity=5)
            services.course_session_add(actor=None, course=c, starts_at=timezone.now())
            services.enrolment_create(resident=factories.resident(tree.comm_a1, name=f"人{i}"), course=c)

    add(2)
    client.get(reverse("course_list"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("course_list")).status_code == 200
    add(10)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("course_list")).status_code == 200
    assert len(many) == len(few)


# --- residents ----------------------------------------------------------------------------------------------------


def test_resident_enrols_waits_and_moves_up_on_pages(client, tree):
    course = services.course_create(actor=None, place=tree.street_a, title="好婆婆课堂", capacity=1)
    services.course_session_add(actor=None, course=course, starts_at=timezone.now() + datetime.timedelta(days=2))
    _a, ua = resident_with_account(tree.comm_a1, "甲")
    b, ub = resident_with_account(tree.comm_a2, "乙")
    client.force_login(ua)
    assert "好婆婆课堂" in client.get(reverse("learn_home")).content.decode()
    client.post(reverse("learn_enrol", args=[course.pk]))
    client.post(reverse("learn_enrol", args=[course.pk]))  # double click
    assert "已报名" in client.get(reverse("learn_home")).content.decode()
    assert "好婆婆课堂 第1讲" in client.get(reverse("my_schedule")).content.decode()
    client.force_login(ub)
    client.post(reverse("learn_enrol", args=[course.pk]))
    assert "候补第 1 位" in client.get(reverse("learn_home")).content.decode()
    assert "好婆婆课堂 第1讲" not in client.get(reverse("my_schedule")).content.decode()
    client.force_login(ua)
    client.post(reverse("learn_cancel", args=[course.pk]))
    client.force_login(ub)
    assert "已报名" in client.get(reverse("learn_home")).content.decode()
    assert Enrolment.objects.filter(course=course, status="enrolled").get().resident == b


def test_resident_cannot_enrol_in_a_course_elsewhere(client, tree):
    course = services.course_create(actor=None, place=tree.street_b, title="别处的课")
    _, user = resident_with_account(tree.comm_a1)
    client.force_login(user)
    assert "别处的课" not in client.get(reverse("learn_home")).content.decode()
    assert client.post(reverse("learn_enrol", args=[course.pk])).status_code == 404
    assert not Enrolment.objects.exists()


def test_my_points_page_shows_balance_history_and_reversal(client, tree):
    r, user = resident_with_account(tree.comm_a1)
    other = factories.resident(tree.comm_a1, name="别人")
    e = services.points_award(resident=r, rule_code="pass_test", source_type="test", source_id="1", reason="育儿测试")
    services.points_award(resident=r, rule_code="adopted_proposal", source_type="p", source_id="1")
    services.points_award(resident=other, rule_code="adopted_proposal", source_type="p", source_id="2", reason="别人的")
    assert e is not None
    services.points_reverse(entry=e, reason="登记错误", actor=None)
    client.force_login(user)
    assert reverse("my_points") == "/me/points/"
    page = client.get(reverse("my_points")).content.decode()
    assert 'id="balance">30<' in page
    assert "育儿测试" in page and "登记错误" in page and "已冲正" in page and "-20" in page
    assert "别人的" not in page


def test_resident_pages_need_a_resident(client, tree):
    client.force_login(factories.staff("street_staff", tree.street_a))
    for name in ("learn_home", "my_schedule", "my_points"):
        assert client.get(reverse(name)).status_code == 404


def test_nav_shows_learning_pages(client, tree):
    client.force_login(factories.staff("street_staff", tree.street_a))
    page = client.get(reverse("course_list")).content.decode()
    assert reverse("series_list") in page and reverse("teacher_list") in page and reverse("points_rule_list") in page
    _, user = resident_with_account(tree.comm_a1)
    client.force_login(user)
    page = client.get(reverse("learn_home")).content.decode()
    assert reverse("my_points") in page and reverse("my_schedule") in page
    assert reverse("course_list") not in page
