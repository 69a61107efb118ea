from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from gongzhi.activities.services import activity_create, attendance_record
from gongzhi.core.errors import Conflict, DomainError
from gongzhi.learning import services
from gongzhi.learning.models import (
    Course,
    CourseSession,
    Enrolment,
    PointsBalance,
    PointsEntry,
    PointsRule,
    Series,
)
from tests import factories

pytestmark = pytest.mark.django_db


def balance(resident) -> int:
    return PointsBalance.objects.get(resident=resident).balance


# --- declared rules ------------------------------------------------------------------------------------------------


def test_default_rules_are_seeded():
    rules = {r.code: (r.points, r.daily_cap) for r in PointsRule.objects.all()}
    assert rules["attend_course_session"] == (10, 30)
    assert rules["attend_learning_meeting"] == (5, 20)
    assert rules["pass_test"] == (20, None)
    assert rules["volunteer_hour"] == (5, None)  # confirmed by someone else, often as a backlog: no daily cap
    assert rules["adopted_proposal"] == (30, None)


# --- series, teachers, courses, sessions ---------------------------------------------------------------------------


def test_series_create_is_idempotent(tree):
    a = services.series_create(actor=None, place=tree.street_a, name="科学育儿")
    b = services.series_create(actor=None, place=tree.street_a, name=" 科学育儿 ")
    assert a.pk == b.pk and Series.objects.count() == 1


def test_course_with_sessions_numbers_titles_and_creates_activities(tree):
    teacher = services.teacher_create(actor=None, place=tree.street_a, name="李老师", expertise="婴幼儿照护")
    series = services.series_create(actor=None, place=tree.street_a, name="科学育儿")
    course = services.course_create(
        actor=None, place=tree.street_a, title="好婆婆课堂", series=series, teachers=[teacher], capacity=20
    )
    start = timezone.now() + datetime.timedelta(days=3)
    s1 = services.course_session_add(actor=None, course=course, starts_at=start, teacher=teacher)
    s2 = services.course_session_add(actor=None, course=course, starts_at=start + datetime.timedelta(days=7))
    assert s1.activity.title == "好婆婆课堂 第1讲" and s2.activity.title == "好婆婆课堂 第2讲"
    assert s1.activity.kind == "course_session" and s1.activity.place == tree.street_a
    assert list(course.teachers.all()) == [teacher]


def test_session_attach_is_idempotent_and_refuses_other_kinds(tree):
    course = services.course_create(actor=None, place=tree.comm_a1, title="健康生活")
    act = activity_create(
        actor=None, place=tree.comm_a1, kind="course_session", title="第一讲", starts_at=timezone.now()
    )
    a = services.course_session_attach(actor=None, course=course, activity=act)
    b = services.course_session_attach(actor=None, course=course, activity=act)
    assert a.pk == b.pk and CourseSession.objects.count() == 1
    other = services.course_create(actor=None, place=tree.comm_a1, title="另一门")
    with pytest.raises(Conflict):
        services.course_session_attach(actor=None, course=other, activity=act)
    meeting = activity_create(
        actor=None, place=tree.comm_a1, kind="learning_meeting", title="读书会", starts_at=timezone.now()
    )
    with pytest.raises(DomainError) as exc:
        services.course_session_attach(actor=None, course=course, activity=meeting)
    assert "activity" in exc.value.fields


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x", "status": "bogus"}, "status"),
        ({"title": "x", "place": "district"}, "place"),
    ],
)
def test_course_bad_input_writes_nothing(tree, kwargs, field):
    place = getattr(tree, kwargs.pop("place", "street_a"))
    with pytest.raises(DomainError) as exc:
        services.course_create(actor=None, place=place, **kwargs)
    assert field in exc.value.fields
    assert all("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message[:2])
    assert not Course.objects.exists()


# --- enrolment ----------------------------------------------------------------------------------------------------


def test_enrol_waitlist_and_move_up_on_cancel(tree, course_factory):
    course = course_factory(capacity=2)
    a, b, c, d = (factories.resident(tree.comm_a1, name=n) for n in "甲乙丙丁")
    assert services.enrolment_create(resident=a, course=course).status == "enrolled"
    assert services.enrolment_create(resident=b, course=course).status == "enrolled"
    assert services.enrolment_create(resident=c, course=course).status == "waitlisted"
    assert services.enrolment_create(resident=d, course=course).status == "waitlisted"
    # A second enrol returns the live one.
    again = services.enrolment_create(resident=c, course=course)
    assert again.status == "waitlisted" and Enrolment.objects.filter(resident=c).count() == 1
    services.enrolment_cancel(resident=a, course=course)
    status = dict(Enrolment.objects.exclude(status="cancelled").values_list("resident_id", "status"))
    assert status == {b.pk: "enrolled", c.pk: "enrolled", d.pk: "waitlisted"}
    # Cancelling a waitlisted one moves nobody; cancelling twice is harmless.
    services.enrolment_cancel(resident=d, course=course)
    assert services.enrolment_cancel(resident=d, course=course) is None
    assert Enrolment.objects.filter(status="enrolled").count() == 2
    # Enrolling again after cancelling makes a new live enrolment.
    assert services.enrolment_create(resident=a, course=course).status == "waitlisted"


def test_closed_course_refuses_enrolment(tree, course_factory):
    course = course_factory(status="closed")
    r = factories.resident(tree.comm_a1)
    with pytest.raises(DomainError):
        services.enrolment_create(resident=r, course=course)
    assert not Enrolment.objects.exists()


def test_raising_capacity_moves_waitlist_up(tree, course_factory):
    course = course_factory(capacity=1)
    a, b = factories.resident(tree.comm_a1, name="甲"), factories.resident(tree.comm_a1, name="乙")
    services.enrolment_create(resident=a, course=course)
    services.enrolment_create(resident=b, course=course)
    services.course_update(actor=None, course=course, title=course.title, capacity=2, status="open")
    assert Enrolment.objects.get(resident=b).status == "enrolled"
    with pytest.raises(DomainError) as exc:
        services.course_update(actor=None, course=course, title=course.title, capacity=1, status="open")
    assert "capacity" in exc.value.fields


def test_direct_duplicate_live_enrolment_is_refused_by_the_database(tree, course_factory):
    course = course_factory()
    r = factories.resident(tree.comm_a1)
    services.enrolment_create(resident=r, course=course)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(course=course, resident=r, status="enrolled")


# --- points -------------------------------------------------------------------------------------------------------


def test_award_once_per_source_and_balance(tree):
    r = factories.resident(tree.comm_a1)
    e1 = services.points_award(resident=r, rule_code="pass_test", source_type="test", source_id="T1")
    e2 = services.points_award(resident=r, rule_code="pass_test", source_type="test", source_id="T1")
    assert e1 is not None and e2 is not None and e1.pk == e2.pk
    assert PointsEntry.objects.count() == 1 and balance(r) == 20


def test_the_database_refuses_a_second_award_for_a_source(tree):
    r = factories.resident(tree.comm_a1)
    services.points_award(resident=r, rule_code="pass_test", source_type="test", source_id="T1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(resident=r, points=20, source_type="test", source_id="T1")


def test_award_race_lost_at_the_constraint_returns_the_existing_entry(tree):
    """No look-up before the insert: the unique constraint refuses the second award and the winner is returned."""
    r = factories.resident(tree.comm_a1)
    first = services.points_award(resident=r, rule_code="pass_test", source_type="test", source_id="T9")
    with mock.patch.object(services, "_existing_award", side_effect=AssertionError("no pre-check expected")):
        got = services.points_award(resident=r, rule_code="pass_test", source_type="test", source_id="T9")
    assert got is not None and first is not None and got.pk == first.pk
    assert PointsEntry.objects.count() == 1 and balance(r) == 20


def test_daily_cap_awards_only_the_part_under_the_cap(tree):
    r = factories.resident(tree.comm_a1)
    PointsRule.objects.filter(code="volunteer_hour").update(daily_cap=40)  # staff declare a cap on this rule
    got = [
        services.points_award(resident=r, rule_code="volunteer_hour", source_type="v", source_id=str(i), quantity=3)
        for i in range(4)
    ]
    # 5 points an hour, 3 hours each, cap 40 a day: 15 + 15 + 10 + nothing.
    assert [e.points if e else None for e in got] == [15, 15, 10, None]
    assert balance(r) == 40
    # The next day (Asia/Shanghai) the cap starts afresh.
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    with mock.patch("django.utils.timezone.now", return_value=tomorrow):
        e = services.points_award(resident=r, rule_code="volunteer_hour", source_type="v", source_id="9")
    assert e is not None and e.points == 5


def test_inactive_rule_awards_nothing_and_unknown_rule_is_an_error(tree):
    r = factories.resident(tree.comm_a1)
    PointsRule.objects.filter(code="pass_test").update(active=False)
    assert services.points_award(resident=r, rule_code="pass_test", source_type="t", source_id="1") is None
    with pytest.raises(DomainError):
        services.points_award(resident=r, rule_code="nope", source_type="t", source_id="1")
    assert not PointsEntry.objects.exists()


def test_reverse_restores_balance_and_refuses_twice(tree):
    r = factories.resident(tree.comm_a1)
    staff = factories.staff("community_worker", tree.comm_a1)
    e = services.points_award(resident=r, rule_code="adopted_proposal", source_type="proposal", source_id="P1")
    services.points_award(resident=r, rule_code="pass_test", source_type="test", source_id="T1")
    assert e is not None and balance(r) == 50
    with pytest.raises(DomainError) as exc:
        services.points_reverse(entry=e, reason=" ", actor=staff)
    assert "reason" in exc.value.fields
    rev = services.points_reverse(entry=e, reason="重复登记", actor=staff)
    assert rev.points == -30 and rev.reversal_of == e and balance(r) == 20
    with pytest.raises(Conflict):
        services.points_reverse(entry=e, reason="再来一次", actor=staff)
    with pytest.raises(DomainError):
        services.points_reverse(entry=rev, reason="冲正的冲正", actor=staff)
    assert balance(r) == 20
    # The source stays awarded: it cannot be awarded again after a reversal.
    again = services.points_award(resident=r, rule_code="adopted_proposal", source_type="proposal", source_id="P1")
    assert again is not None and again.pk == e.pk and balance(r) == 20


def test_rebuild_gives_the_stored_balances_and_repairs_drift(tree, capsys):
    a, b = factories.resident(tree.comm_a1, name="甲"), factories.resident(tree.comm_a2, name="乙")
    for i in range(3):
        services.points_award(resident=a, rule_code="pass_test", source_type="t", source_id=str(i))
    e = services.points_award(resident=b, rule_code="adopted_proposal", source_type="p", source_id="1")
    assert e is not None
    services.points_reverse(entry=e, reason="错误", actor=None)
    stored = dict(PointsBalance.objects.values_list("resident_id", "balance"))
    assert services.points_balance_rebuild() == []
    assert dict(PointsBalance.objects.values_list("resident_id", "balance")) == stored == {a.pk: 60, b.pk: 0}
    PointsBalance.objects.filter(resident=a).update(balance=999)
    call_command("rebuild_points_balances")
    out = capsys.readouterr().out
    assert f"{a.pk}: stored 999 -> computed 60" in out and "1 balance(s) corrected" in out
    assert balance(a) == 60


# --- presence hook ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "points"), [("course_session", 10), ("learning_meeting", 5), ("org_event", None)])
def test_presence_awards_points_once(tree, kind, points):
    r = factories.resident(tree.comm_a1)
    act = activity_create(actor=None, place=tree.comm_a1, kind=kind, title="活动", starts_at=timezone.now())
    att, created = attendance_record(actor=None, activity=act, resident=r, source="qr")
    assert created
    att2, created2 = attendance_record(actor=None, activity=act, resident=r, source="roster")
    assert not created2 and att2.pk == att.pk
    entries = PointsEntry.objects.filter(resident=r)
    if points is None:
        assert not entries.exists()
    else:
        assert entries.count() == 1
        entry = entries.get()
        assert (entry.points, entry.source_type, entry.source_id) == (points, "attendance", str(att.pk))
        assert balance(r) == points


def test_absence_awards_nothing(tree):
    r = factories.resident(tree.comm_a1)
    act = activity_create(actor=None, place=tree.comm_a1, kind="course_session", title="课", starts_at=timezone.now())
    attendance_record(actor=None, activity=act, resident=r, source="roster", status="absent")
    assert not PointsEntry.objects.exists()
