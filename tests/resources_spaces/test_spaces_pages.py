"""Learning-space pages: the permission table (role × place relation × action), the list with utilisation and a
constant number of queries, the week calendar, booking (one-off and weekly) with bad input refused in Chinese and
nothing written, cancellation."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.people.models import Role
from gongzhi.resources.models import Booking, BookingSeries, LearningSpace
from gongzhi.resources.services import providers as provider_services
from gongzhi.resources.services import spaces as services
from tests import factories

from .conftest import at, make_space, next_monday, resident_with_account

pytestmark = pytest.mark.django_db

D = datetime.timedelta

# (role, where granted) × the space's place (COMM_A1) → may see and book it.
STAFF_TABLE = [
    ("admin", "district", True),
    ("street_staff", "street_a", True),
    ("street_staff", "street_b", False),
    ("community_worker", "comm_a1", True),
    ("community_worker", "comm_a2", False),
    ("admin", "other_district", False),
    ("teacher", "comm_a1", False),
    ("org_leader", "comm_a1", False),
    ("resource_partner", "comm_a1", False),
]


def booking_post(day, start="09:00", end="11:00", title="太极拳班", **extra):
    return {"title": title, "date": day.isoformat(), "starts_at": start, "ends_at": end, **extra}


@pytest.mark.parametrize(("role", "granted", "allowed"), STAFF_TABLE)
def test_permission_table(client, tree, role, granted, allowed):
    space = make_space(tree.comm_a1, name="九堡社区学习室")
    day = next_monday()
    booking = services.booking_create(
        actor=None, space=space, title="已有预约", starts_at=at(day, "14:00"), ends_at=at(day, "15:00")
    )
    client.force_login(factories.staff(role, getattr(tree, granted)))
    is_staff = role in ("admin", "street_staff", "community_worker")
    listing = client.get(reverse("space_list"))
    assert listing.status_code == (200 if is_staff else 403)
    if is_staff:
        assert ("九堡社区学习室" in listing.content.decode()) is allowed
    assert client.get(reverse("space_detail", args=[space.pk])).status_code == (200 if allowed else 404)
    assert client.get(reverse("space_edit", args=[space.pk])).status_code == (200 if allowed else 404)
    made = client.post(reverse("booking_new", args=[space.pk]), booking_post(day))
    assert made.status_code == (302 if allowed else 404)
    assert Booking.objects.filter(title="太极拳班").exists() is allowed
    cancelled = client.post(reverse("booking_cancel", args=[booking.pk]), {"reason": "改期"})
    assert cancelled.status_code == (302 if allowed else 404)
    booking.refresh_from_db()
    assert (booking.status == "cancelled") is allowed
    can_add = client.get(reverse("space_new"))
    assert can_add.status_code == (200 if is_staff else 403)  # staff add spaces in their own places


def test_resident_and_anonymous(client, tree):
    space = make_space(tree.comm_a1)
    assert client.get(reverse("space_list")).status_code == 302  # to the login page
    _r, user = resident_with_account(tree.comm_a1)
    client.force_login(user)
    assert client.get(reverse("space_list")).status_code == 403
    assert client.get(reverse("space_detail", args=[space.pk])).status_code == 404
    assert client.post(reverse("booking_new", args=[space.pk]), booking_post(next_monday())).status_code == 404
    assert not Booking.objects.exists()


def test_a_partner_books_the_venue_their_provider_offers(client, tree):
    provider = provider_services.provider_create(actor=None, place=tree.street_a, name="杭州银行九堡支行", kind="bank")
    venue = provider_services.resource_create(actor=None, provider=provider, kind="venue", name="支行多功能厅")
    offered = make_space(tree.street_a, name="银行多功能厅", resource=venue)
    other = make_space(tree.comm_a1, name="社区学习室")
    partner = factories.staff(Role.RESOURCE_PARTNER, tree.street_a)
    provider.members.add(partner)
    client.force_login(partner)
    listing = client.get(reverse("space_list")).content.decode()
    assert "银行多功能厅" in listing and "社区学习室" not in listing
    assert client.get(reverse("space_detail", args=[other.pk])).status_code == 404
    assert client.post(reverse("booking_new", args=[offered.pk]), booking_post(next_monday())).status_code == 302
    assert client.get(reverse("space_edit", args=[offered.pk])).status_code == 403


def test_list_shows_utilisation_in_constant_queries(client, tree):
    from django.utils import timezone

    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    client.force_login(staff)
    first = make_space(tree.comm_a1, name="空间0", opens="08:00", closes="18:00")  # 70 open hours a week
    today = timezone.localdate()
    services.booking_create(
        actor=None, space=first, title="上课", starts_at=at(today, "11:00"), ends_at=at(today, "18:00")
    )

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("space_list"))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(1, 12):
        space = make_space(tree.comm_a1 if i % 2 else tree.comm_a2, name=f"空间{i}")
        services.booking_create(
            actor=None, space=space, title="上课", starts_at=at(today, "09:00"), ends_at=at(today, "10:00")
        )
    assert count() == few
    html = client.get(reverse("space_list")).content.decode()
    row = html.split('data-space="空间0"')[1].split("</tr>")[0]
    assert 'this-week" title="已预约 7.0 小时 / 开放 70.0 小时">10%' in row


def test_calendar_and_one_off_booking(client, tree):
    staff = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    client.force_login(staff)
    space = make_space(tree.comm_a1, weekdays="12345")
    day = next_monday()
    url = reverse("space_detail", args=[space.pk])
    response = client.post(reverse("booking_new", args=[space.pk]), booking_post(day))
    assert response.status_code == 302 and response["Location"] == f"{url}?week={day.isoformat()}"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert 'data-booking="太极拳班"' in html and "09:00–11:00" in html
    assert html.count('class="day closed') == 2  # Saturday and Sunday
    assert Booking.objects.get().booked_by == staff


@pytest.mark.parametrize(
    ("post", "expected"),
    [
        ({"starts_at": "07:00"}, "开始时间：不在开放时间内：该空间开放时间为 08:00–21:00"),
        ({"ends_at": "08:30", "starts_at": "09:00"}, "结束时间：结束时间必须晚于开始时间"),
        ({"title": ""}, "用途：这个字段是必填项。"),
        ({"date": "2020-01-06"}, "开始时间：不能预约过去的日期"),
        ({"date": "saturday"}, "日期："),
    ],
)
def test_bad_booking_input_is_refused_in_chinese(client, tree, post, expected):
    client.force_login(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    space = make_space(tree.comm_a1)
    response = client.post(reverse("booking_new", args=[space.pk]), booking_post(next_monday(), **post))
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert not Booking.objects.exists()


def test_wrong_weekday_shows_on_the_date(client, tree):
    client.force_login(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    space = make_space(tree.comm_a1, weekdays="12345")
    response = client.post(reverse("booking_new", args=[space.pk]), booking_post(next_monday() + D(days=6)))
    assert response.status_code == 400
    assert "开始时间：该空间周日不开放（开放日：周一至周五）" in response.content.decode()


def test_overlap_is_refused_with_the_clashing_time(client, tree):
    client.force_login(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    space = make_space(tree.comm_a1)
    day = next_monday()
    services.booking_create(
        actor=None, space=space, title="书法班", starts_at=at(day, "10:00"), ends_at=at(day, "12:00")
    )
    response = client.post(reverse("booking_new", args=[space.pk]), booking_post(day))
    assert response.status_code == 400
    assert (
        f"该时段已被预约：「书法班」{day.isoformat()}（周一）10:00–12:00。请换一个时间。" in response.content.decode()
    )
    assert Booking.objects.count() == 1


def test_weekly_booking_all_or_nothing(client, tree):
    client.force_login(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    space = make_space(tree.comm_a1)
    day = next_monday()
    third = day + D(weeks=2)
    services.booking_create(
        actor=None, space=space, title="家长课堂", starts_at=at(third, "19:30"), ends_at=at(third, "20:30")
    )
    post = booking_post(day, "19:00", "21:00", title="合唱团排练", repeat="on", last_on=(day + D(weeks=5)).isoformat())
    response = client.post(reverse("booking_new", args=[space.pk]), post)
    assert response.status_code == 400
    html = response.content.decode()
    assert "以下 1 个日期与已有预约冲突，整组每周预约未保存" in html and third.isoformat() in html
    assert not BookingSeries.objects.exists() and Booking.objects.count() == 1
    # Without the clash: six Mondays.
    post["starts_at"], post["ends_at"] = "18:00", "19:30"
    response = client.post(reverse("booking_new", args=[space.pk]), post)
    assert response.status_code == 302
    assert BookingSeries.objects.get().bookings.count() == 6
    page = client.get(reverse("space_detail", args=[space.pk])).content.decode()
    assert 'data-series="合唱团排练"' in page and "还有 6 次" in page
    # Missing "repeat until".
    post.pop("last_on")
    response = client.post(reverse("booking_new", args=[space.pk]), post)
    assert "重复到：每周重复时请填写重复到哪一天" in response.content.decode()


def test_cancel_one_and_the_rest_of_a_series(client, tree):
    client.force_login(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    space = make_space(tree.comm_a1)
    day = next_monday()
    booking = services.booking_create(
        actor=None, space=space, title="书法班", starts_at=at(day, "10:00"), ends_at=at(day, "12:00")
    )
    response = client.post(reverse("booking_cancel", args=[booking.pk]), {"reason": ""})
    booking.refresh_from_db()
    assert response.status_code == 302 and booking.status == "active"
    client.post(reverse("booking_cancel", args=[booking.pk]), {"reason": "老师请假"})
    booking.refresh_from_db()
    assert booking.status == "cancelled" and booking.cancel_reason == "老师请假"
    series = services.booking_series_create(
        actor=None, space=space, title="合唱团", weekday=3, starts_at=at(day, "19:00").time(),
        ends_at=at(day, "20:00").time(), first_on=day, last_on=day + D(weeks=3),
    )  # fmt: skip
    response = client.post(reverse("booking_series_cancel", args=[series.pk]), {"reason": "暂停"})
    assert response.status_code == 302
    assert not series.bookings.filter(status="active").exists()


def test_create_and_edit_a_space(client, tree):
    client.force_login(factories.staff(Role.STREET_STAFF, tree.street_a))
    form = client.get(reverse("space_new")).content.decode()
    assert tree.comm_a1.name in form and tree.comm_b1.name not in form
    post = {
        "place": tree.comm_a1.code,
        "name": "九堡社区学习室",
        "address": "九堡路 1 号",
        "capacity": "40",
        "opens_at": "08:30",
        "closes_at": "20:30",
        "weekdays": ["1", "2", "3", "4", "5", "6"],
    }
    response = client.post(reverse("space_new"), post)
    space = LearningSpace.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("space_detail", args=[space.pk])
    assert space.weekdays == "123456" and space.capacity == 40
    again = client.post(reverse("space_new"), post)
    assert again.status_code == 200 and "该区划已有同名的学习空间" in again.content.decode()
    bad = client.post(reverse("space_new"), {**post, "name": "夜校", "opens_at": "21:00"})
    assert "关闭时间必须晚于开放时间" in bad.content.decode()
    outside = client.post(reverse("space_new"), {**post, "name": "别处", "place": tree.comm_b1.code})
    assert outside.status_code == 200 and LearningSpace.objects.count() == 1
    edit = client.post(
        reverse("space_edit", args=[space.pk]),
        {**post, "name": "九堡学习中心", "capacity": "60", "active": "on"},
    )
    assert edit.status_code == 302
    space.refresh_from_db()
    assert space.name == "九堡学习中心" and space.capacity == 60 and space.active
    client.post(reverse("space_edit", args=[space.pk]), {**post, "capacity": "60"})  # "active" unticked
    space.refresh_from_db()
    assert not space.active
    page = client.get(reverse("space_detail", args=[space.pk])).content.decode()
    assert "该学习空间已停用，不能预约" in page


def test_week_navigation(client, tree):
    client.force_login(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    space = make_space(tree.comm_a1)
    day = next_monday(3)
    services.booking_create(
        actor=None, space=space, title="远一点的", starts_at=at(day, "10:00"), ends_at=at(day, "11:00")
    )
    url = reverse("space_detail", args=[space.pk])
    assert "远一点的" not in client.get(url).content.decode()
    assert "远一点的" in client.get(f"{url}?week={(day + D(days=3)).isoformat()}").content.decode()
    assert client.get(f"{url}?week=nonsense").status_code == 200


def test_space_page_queries_do_not_grow_with_bookings(client, tree):
    client.force_login(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    space = make_space(tree.comm_a1)
    day = next_monday()
    url = f"{reverse('space_detail', args=[space.pk])}?week={day.isoformat()}"

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    services.booking_create(actor=None, space=space, title="一", starts_at=at(day, "08:00"), ends_at=at(day, "09:00"))
    few = count()
    for i in range(6):
        d = day + D(days=i)
        services.booking_create(
            actor=None, space=space, title=f"课{i}", starts_at=at(d, "10:00"), ends_at=at(d, "11:00")
        )
        services.booking_series_create(
            actor=None, space=space, title=f"每周{i}", weekday=d.isoweekday(), starts_at=at(d, "12:00").time(),
            ends_at=at(d, "13:00").time(), first_on=d, last_on=d + D(weeks=3),
        )  # fmt: skip
    assert count() == few
