"""Learning spaces and bookings through the services: what is made, what bad input is refused (and that a refusal
writes nothing), weekly series all or nothing, cancellation, and utilisation by week."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.core.errors import Conflict, DomainError
from gongzhi.core.models import AuditEvent
from gongzhi.people.models import Role
from gongzhi.resources.models import Booking, BookingSeries, LearningSpace
from gongzhi.resources.selectors import spaces as selectors
from gongzhi.resources.services import providers as provider_services
from gongzhi.resources.services import spaces as services
from tests import factories

from .conftest import at, hm, make_space

pytestmark = pytest.mark.django_db

D = datetime.timedelta


def book(space, day, start, end, title="活动", actor=None):
    return services.booking_create(
        actor=actor, space=space, title=title, starts_at=at(day, start), ends_at=at(day, end)
    )


def fields_of(exc_info) -> dict:
    return exc_info.value.fields


# --- spaces -----------------------------------------------------------------------------------------------------


def test_space_create_and_update(tree):
    space = make_space(tree.comm_a1, name="九堡社区学习室", weekdays="531", address="九堡路 1 号")
    assert space.weekdays == "135" and space.address == "九堡路 1 号" and space.active
    assert AuditEvent.objects.filter(target_type="learning_space", action="create", target_id=str(space.pk)).exists()
    services.space_update(actor=None, space=space, closes_at=hm("22:00"), capacity=50)
    space.refresh_from_db()
    assert space.closes_at == hm("22:00") and space.capacity == 50
    event = AuditEvent.objects.get(target_type="learning_space", action="update")
    assert set(event.changes) == {"closes_at", "capacity"}
    # Nothing changed: nothing written.
    services.space_update(actor=None, space=space, capacity=50)
    assert AuditEvent.objects.filter(target_type="learning_space", action="update").count() == 1


def test_space_of_a_providers_venue(tree):
    provider = provider_services.provider_create(actor=None, place=tree.street_a, name="杭州银行九堡支行", kind="bank")
    venue = provider_services.resource_create(actor=None, provider=provider, kind="venue", name="支行二楼多功能厅")
    teacher = provider_services.resource_create(actor=None, provider=provider, kind="teacher", name="理财讲师")
    space = make_space(tree.street_a, name="银行多功能厅", resource=venue)
    assert space.resource == venue
    with pytest.raises(DomainError) as caught:
        make_space(tree.street_a, name="讲师", resource=teacher)
    assert fields_of(caught) == {"resource": ["只能选择「场地/学习空间」类的资源"]}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "必填"),
        ({"capacity": 0}, "capacity", "容纳人数至少为 1"),
        ({"weekdays": "189"}, "weekdays", "开放日只能是 1–7 的数字，不重复"),
        ({"weekdays": "113"}, "weekdays", "开放日只能是 1–7 的数字，不重复"),
        ({"opens": "21:00", "closes": "08:00"}, "closes_at", "关闭时间必须晚于开放时间"),
    ],
)
def test_space_bad_input_writes_nothing(tree, changes, field, message):
    with pytest.raises(DomainError) as caught:
        make_space(tree.comm_a1, **changes)
    assert caught.value.fields[field] == [message]
    assert not LearningSpace.objects.exists()


def test_space_only_in_a_street_or_community(tree):
    with pytest.raises(DomainError) as caught:
        make_space(tree.district)
    assert fields_of(caught) == {"place": ["学习空间只能设在街道或社区"]}


def test_space_names_are_unique_per_place(tree):
    make_space(tree.comm_a1, name="学习室")
    make_space(tree.comm_a2, name="学习室")  # another community may use the name
    with pytest.raises(Conflict) as caught:
        make_space(tree.comm_a1, name="学习室")
    assert caught.value.fields == {"name": ["该区划已有同名的学习空间"]}


# --- one booking ------------------------------------------------------------------------------------------------


def test_booking_made_and_audited(space, monday):
    user = factories.staff(Role.COMMUNITY_WORKER, space.place)
    booking = book(space, monday, "09:00", "11:00", title="太极拳班", actor=user)
    assert booking.status == "active" and booking.booked_by == user
    assert timezone.localtime(booking.starts_at).hour == 9
    event = AuditEvent.objects.get(target_type="booking")
    assert event.actor == user and event.place_code == space.place_id and "太极拳班" in event.summary


@pytest.mark.parametrize(
    ("case", "start", "end", "field", "message"),
    [
        ("before opening", "07:00", "09:00", "starts_at", "不在开放时间内：该空间开放时间为 08:00–21:00"),
        ("after closing", "20:00", "21:30", "ends_at", "不在开放时间内：该空间开放时间为 08:00–21:00"),
        ("end before start", "11:00", "09:00", "ends_at", "结束时间必须晚于开始时间"),
        ("empty", "11:00", "11:00", "ends_at", "结束时间必须晚于开始时间"),
    ],
)
def test_booking_bad_times_are_refused(space, monday, case, start, end, field, message):
    with pytest.raises(DomainError) as caught:
        book(space, monday, start, end)
    assert caught.value.fields == {field: [message]}, case
    assert caught.value.message == "提交的信息有误，请检查标红的字段"
    assert not Booking.objects.exists()


def test_booking_on_a_closed_weekday_is_refused(tree, monday):
    space = make_space(tree.comm_a1, weekdays="12345")
    saturday = monday + D(days=5)
    with pytest.raises(DomainError) as caught:
        book(space, saturday, "09:00", "10:00")
    assert caught.value.fields == {"starts_at": ["该空间周六不开放（开放日：周一至周五）"]}
    space2 = make_space(tree.comm_a2, weekdays="135")
    with pytest.raises(DomainError) as caught:
        book(space2, monday + D(days=1), "09:00", "10:00")
    assert caught.value.fields == {"starts_at": ["该空间周二不开放（开放日：周一、周三、周五）"]}
    assert not Booking.objects.exists()


def test_booking_in_the_past_is_refused_today_is_allowed(tree):
    space = make_space(tree.comm_a1, opens="00:00", closes="23:59")
    yesterday = timezone.localdate() - D(days=1)
    with pytest.raises(DomainError) as caught:
        book(space, yesterday, "09:00", "10:00")
    assert caught.value.fields == {"starts_at": ["不能预约过去的日期"]}
    booking = book(space, timezone.localdate(), "23:00", "23:30")
    assert booking.pk


def test_booking_across_midnight_is_refused(tree, monday):
    space = make_space(tree.comm_a1, opens="00:00", closes="23:59")
    with pytest.raises(DomainError) as caught:
        services.booking_create(
            actor=None,
            space=space,
            title="通宵",
            starts_at=at(monday, "22:00"),
            ends_at=at(monday + D(days=1), "01:00"),
        )
    assert caught.value.fields == {"ends_at": ["预约须在同一天内开始和结束"]}


def test_booking_needs_a_title_and_an_active_space(space, monday):
    with pytest.raises(DomainError) as caught:
        services.booking_create(
            actor=None, space=space, title=" ", starts_at=at(monday, "9:00"), ends_at=at(monday, "10:00")
        )
    assert caught.value.fields == {"title": ["必填"]}
    services.space_update(actor=None, space=space, active=False)
    with pytest.raises(Conflict) as conflict:
        book(space, monday, "09:00", "10:00")
    assert conflict.value.code == "space_inactive" and conflict.value.message == "该学习空间已停用，不能预约"


def test_naive_times_are_local(space, monday):
    booking = services.booking_create(
        actor=None,
        space=space,
        title="本地时间",
        starts_at=datetime.datetime.combine(monday, hm("09:00")),
        ends_at=datetime.datetime.combine(monday, hm("10:00")),
    )
    assert timezone.localtime(booking.starts_at).time() == hm("09:00")


def test_overlap_is_refused_with_the_clashing_time(space, monday):
    book(space, monday, "09:00", "11:00", title="太极拳班")
    for start, end in [("10:00", "12:00"), ("08:00", "09:30"), ("09:30", "10:30"), ("08:00", "12:00")]:
        with pytest.raises(Conflict) as caught:
            book(space, monday, start, end, title="书法班")
        message = f"该时段已被预约：「太极拳班」{monday.isoformat()}（周一）09:00–11:00。请换一个时间。"
        assert caught.value.message == message and caught.value.code == "booking_overlap"
        assert caught.value.fields == {"starts_at": [message]}
    assert Booking.objects.count() == 1
    # Touching is not overlapping; another space or another day is free.
    book(space, monday, "11:00", "12:00")
    book(space, monday, "08:00", "09:00")
    book(make_space(space.place, name="第二学习室"), monday, "09:00", "11:00")
    book(space, monday + D(days=1), "09:00", "11:00")
    assert Booking.objects.count() == 5


def test_double_submit_by_the_same_person_returns_the_booking(space, monday):
    user = factories.staff(Role.COMMUNITY_WORKER, space.place)
    first = book(space, monday, "09:00", "11:00", title="太极拳班", actor=user)
    again = book(space, monday, "09:00", "11:00", title="太极拳班", actor=user)
    assert again.pk == first.pk and Booking.objects.count() == 1
    other = factories.staff(Role.COMMUNITY_WORKER, space.place)
    with pytest.raises(Conflict):
        book(space, monday, "09:00", "11:00", title="太极拳班", actor=other)


# --- cancel -----------------------------------------------------------------------------------------------------


def test_cancel_frees_the_time_and_is_idempotent(space, monday):
    booking = book(space, monday, "09:00", "11:00", title="太极拳班")
    with pytest.raises(DomainError) as caught:
        services.booking_cancel(actor=None, booking=booking, reason=" ")
    assert caught.value.fields == {"reason": ["必填"]}
    cancelled = services.booking_cancel(actor=None, booking=booking, reason="老师生病")
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "老师生病" and cancelled.cancelled_at
    again = services.booking_cancel(actor=None, booking=booking, reason="再次取消")
    assert again.cancel_reason == "老师生病" and again.cancelled_at == cancelled.cancelled_at
    assert AuditEvent.objects.filter(target_type="booking", action="update").count() == 1
    book(space, monday, "10:00", "11:00", title="书法班")


def test_a_past_booking_cannot_be_cancelled(space, monday):
    booking = book(space, monday, "09:00", "11:00")
    Booking.objects.filter(pk=booking.pk).update(
        starts_at=timezone.now() - D(days=2), ends_at=timezone.now() - D(days=2) + D(hours=1)
    )
    with pytest.raises(Conflict) as caught:
        services.booking_cancel(actor=None, booking=booking, reason="太晚")
    assert caught.value.message == "该预约已经结束，不能取消"


# --- weekly series ----------------------------------------------------------------------------------------------


def series(space, first, last, weekday=3, start="19:00", end="21:00", title="合唱团排练", actor=None):
    return services.booking_series_create(
        actor=actor,
        space=space,
        title=title,
        weekday=weekday,
        starts_at=hm(start),
        ends_at=hm(end),
        first_on=first,
        last_on=last,
    )


def test_series_makes_one_booking_a_week(space, monday):
    made = series(space, monday, monday + D(weeks=7, days=6))  # Wednesdays of eight weeks
    days = [timezone.localtime(b.starts_at).date() for b in made.bookings.order_by("starts_at")]
    assert days == [monday + D(days=2) + D(weeks=i) for i in range(8)]
    assert made.first_on == days[0] and made.last_on == days[-1]
    assert set(made.bookings.values_list("title", "status")) == {("合唱团排练", "active")}
    assert AuditEvent.objects.filter(target_type="booking_series").count() == 1


def test_series_is_all_or_nothing(space, monday):
    third = monday + D(days=2, weeks=2)
    fifth = monday + D(days=2, weeks=4)
    book(space, third, "20:00", "21:00", title="家长课堂")
    book(space, fifth, "18:00", "19:30", title="读书会")
    with pytest.raises(Conflict) as caught:
        series(space, monday, monday + D(weeks=7, days=6))
    message = caught.value.message
    assert caught.value.code == "series_overlap"
    assert message.startswith("以下 2 个日期与已有预约冲突，整组每周预约未保存：")
    assert f"{third.isoformat()} 与「家长课堂」" in message and f"{fifth.isoformat()} 与「读书会」" in message
    assert not BookingSeries.objects.exists()
    assert Booking.objects.count() == 2


def test_series_checks_every_week_before_writing(tree, monday):
    space = make_space(tree.comm_a1, weekdays="12345")
    with pytest.raises(DomainError) as caught:
        series(space, monday, monday + D(weeks=3), weekday=6)
    assert caught.value.fields == {"starts_at": ["该空间周六不开放（开放日：周一至周五）"]}
    with pytest.raises(DomainError) as caught:
        series(space, monday, monday + D(weeks=3), start="20:00", end="22:00")
    assert caught.value.fields == {"ends_at": ["不在开放时间内：该空间开放时间为 08:00–21:00"]}
    with pytest.raises(DomainError) as caught:
        series(space, monday, monday - D(days=1))
    assert caught.value.fields == {"last_on": ["末次日期不能早于首次日期"]}
    with pytest.raises(DomainError) as caught:
        series(space, monday, monday + D(days=1), weekday=3)
    assert "之间没有周三" in caught.value.fields["last_on"][0]
    with pytest.raises(DomainError) as caught:
        series(space, monday, monday + D(weeks=60))
    assert caught.value.fields == {"last_on": ["每周预约最多 53 周"]}
    with pytest.raises(DomainError) as caught:
        series(space, monday, monday + D(weeks=2), weekday=8)
    assert caught.value.fields == {"weekday": ["星期只能是 1（周一）到 7（周日）"]}
    with pytest.raises(DomainError) as caught:
        series(space, timezone.localdate() - D(days=14), monday + D(weeks=2), weekday=timezone.localdate().isoweekday())
    assert caught.value.fields == {"starts_at": ["不能预约过去的日期"]}
    assert not Booking.objects.exists() and not BookingSeries.objects.exists()


def test_series_double_submit_returns_the_series(space, monday):
    user = factories.staff(Role.COMMUNITY_WORKER, space.place)
    first = series(space, monday, monday + D(weeks=3), actor=user)
    again = series(space, monday, monday + D(weeks=3), actor=user)
    assert again.pk == first.pk and Booking.objects.count() == 3  # three Wednesdays


def test_series_cancel_cancels_the_weeks_to_come(space, monday):
    made = series(space, monday, monday + D(weeks=5))  # five Wednesdays
    # The first week has already happened.
    first = made.bookings.order_by("starts_at").first()
    Booking.objects.filter(pk=first.pk).update(
        starts_at=timezone.now() - D(days=1), ends_at=timezone.now() - D(days=1) + D(hours=2)
    )
    assert services.booking_series_cancel(actor=None, series=made, reason="合唱团暂停") == 4
    assert services.booking_series_cancel(actor=None, series=made, reason="合唱团暂停") == 0
    assert made.bookings.filter(status="active").count() == 1
    assert set(made.bookings.filter(status="cancelled").values_list("cancel_reason", flat=True)) == {"合唱团暂停"}


# --- calendar and utilisation -----------------------------------------------------------------------------------


def test_week_calendar(tree, monday):
    space = make_space(tree.comm_a1, weekdays="12345")
    user = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    book(space, monday, "09:00", "11:00", title="上午")
    book(space, monday, "14:00", "15:00", title="下午")
    book(space, monday + D(days=4), "19:00", "20:00", title="周五晚上")
    book(space, monday + D(weeks=1), "09:00", "10:00", title="下周")
    cancelled = book(space, monday + D(days=1), "09:00", "10:00", title="取消的")
    services.booking_cancel(actor=None, booking=cancelled, reason="不办了")
    week = selectors.space_week(user=user, space=space, monday=monday + D(days=3))
    assert [d.date for d in week] == [monday + D(days=i) for i in range(7)]
    assert [d.open for d in week] == [True] * 5 + [False] * 2
    assert [[b.title for b in d.bookings] for d in week] == [["上午", "下午"], [], [], [], ["周五晚上"], [], []]


def test_utilisation_by_week(tree, monday, django_assert_max_num_queries):
    a = make_space(tree.comm_a1, name="A", opens="08:00", closes="18:00", weekdays="12345")  # 50 h a week
    b = make_space(tree.comm_a2, name="B", opens="05:00", closes="23:00")  # 126 h a week
    c = make_space(tree.comm_b1, name="C")  # another street
    book(a, monday, "08:00", "18:00")  # 10 h
    book(a, monday + D(days=4), "08:00", "13:00")  # 5 h
    book(a, monday + D(weeks=1), "09:00", "10:30")  # 1.5 h next week
    booking = book(a, monday + D(weeks=1, days=1), "09:00", "17:00")
    services.booking_cancel(actor=None, booking=booking, reason="取消不计")
    book(b, monday, "05:00", "07:00")  # Monday early morning local time — still this week
    book(b, monday + D(days=6), "21:00", "23:00")  # Sunday late
    book(c, monday, "09:00", "10:00")
    user = factories.staff(Role.STREET_STAFF, tree.street_a)
    user.grants.all()  # warm nothing: the count below includes reading grants
    with django_assert_max_num_queries(4):
        rows = selectors.space_utilisation(user=user, place=tree.street_a, weeks=[monday, monday + D(weeks=1)])
    got = {r.space.name: [(w.booked_hours, w.open_hours, w.percent) for w in r.weeks] for r in rows}
    assert got == {"A": [(15.0, 50.0, 30), (1.5, 50.0, 3)], "B": [(4.0, 126.0, 3), (0.0, 126.0, 0)]}
    totals = selectors.utilisation_totals(rows)
    assert [(t.booked_hours, t.open_hours) for t in totals] == [(19.0, 176.0), (1.5, 176.0)]


def test_utilisation_query_count_does_not_grow_with_spaces(tree, monday):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = factories.staff(Role.ADMIN, tree.district)

    def count() -> int:
        user_fresh = type(user).objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as ctx:
            selectors.space_utilisation(user=user_fresh, place=tree.district, weeks=selectors.weeks_around(monday))
        return len(ctx.captured_queries)

    make_space(tree.comm_a1, name="一")
    few = count()
    for i in range(8):
        s = make_space(tree.comm_a2 if i % 2 else tree.comm_b1, name=f"空间{i}")
        book(s, monday, "09:00", "10:00")
    assert count() == few
