"""Spaces and bookings API: permission table, create/patch, bookings with 409 on overlap naming the clash, weekly
series all or nothing, cancellation, utilisation, bad input in the one error shape, constant query counts. Every
response is checked against the OpenAPI document by the API client of tests/api."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.people.models import Role
from gongzhi.resources.models import Booking, BookingSeries, LearningSpace
from gongzhi.resources.services import spaces as services
from tests import factories
from tests.api.conftest import API, anon, error_of, make_client, openapi_checker, openapi_spec  # noqa: F401

from .conftest import at, make_space, next_monday, resident_with_account
from .test_spaces_pages import STAFF_TABLE

pytestmark = pytest.mark.django_db

D = datetime.timedelta


def iso(dt: datetime.datetime) -> str:
    return dt.isoformat()


@pytest.mark.parametrize(("role", "granted", "allowed"), STAFF_TABLE)
def test_permission_table(make_client, tree, role, granted, allowed):  # noqa: F811 (pytest fixtures)
    space = make_space(tree.comm_a1, name="九堡社区学习室")
    day = next_monday()
    existing = services.booking_create(
        actor=None, space=space, title="已有", starts_at=at(day, "14:00"), ends_at=at(day, "15:00")
    )
    client = make_client(factories.staff(role, getattr(tree, granted)))
    ids = {s["id"] for s in client.get(f"{API}/spaces").json()["items"]}
    assert (str(space.pk) in ids) is allowed
    assert client.get(f"{API}/spaces/{space.pk}").status_code == (200 if allowed else 404)
    listed = client.get(f"{API}/spaces/{space.pk}/bookings?since={day.isoformat()}")
    assert listed.status_code == (200 if allowed else 404)
    made = client.post_json(
        f"{API}/spaces/{space.pk}/bookings",
        {"title": "太极拳班", "starts_at": iso(at(day, "09:00")), "ends_at": iso(at(day, "10:00"))},
    )
    assert made.status_code == (201 if allowed else 404)
    patched = client.patch_json(f"{API}/spaces/{space.pk}", {"capacity": 99})
    assert patched.status_code == (200 if allowed else 404)
    cancelled = client.post_json(f"{API}/bookings/{existing.pk}/cancel", {"reason": "改期"})
    assert cancelled.status_code == (200 if allowed else 404)
    existing.refresh_from_db()
    assert (existing.status == "cancelled") is allowed
    created = client.post_json(
        f"{API}/spaces",
        {"place_code": tree.comm_a1.code, "name": "新空间", "capacity": 10, "opens_at": "09:00", "closes_at": "17:00"},
    )
    assert created.status_code == (201 if allowed else 403)
    if not allowed:
        assert error_of(created)["fields"] == {"place_code": ["您无权执行此操作"]}
    assert LearningSpace.objects.filter(name="新空间").exists() is allowed


def test_anonymous_and_resident(make_client, anon, tree):  # noqa: F811 (pytest fixtures)
    space = make_space(tree.comm_a1)
    assert anon.get(f"{API}/spaces").status_code == 401
    _r, user = resident_with_account(tree.comm_a1)
    client = make_client(user)
    assert client.get(f"{API}/spaces").json()["items"] == []
    assert client.get(f"{API}/spaces/{space.pk}").status_code == 404


def test_create_and_patch(make_client, tree):  # noqa: F811 (pytest fixtures)
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    created = client.post_json(
        f"{API}/spaces",
        {
            "place_code": tree.comm_a1.code,
            "name": "九堡社区学习室",
            "capacity": 40,
            "opens_at": "08:30",
            "closes_at": "20:30",
            "weekdays": "12345",
            "address": "九堡路 1 号",
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["weekdays_label"] == "周一至周五" and body["opens_at"] == "08:30:00" and body["resource_id"] is None
    duplicate = client.post_json(
        f"{API}/spaces",
        {
            "place_code": tree.comm_a1.code,
            "name": "九堡社区学习室",
            "capacity": 5,
            "opens_at": "08:30",
            "closes_at": "20:30",
        },
    )
    assert duplicate.status_code == 409 and error_of(duplicate)["code"] == "duplicate_space"
    bad = client.post_json(
        f"{API}/spaces",
        {"place_code": tree.comm_a1.code, "name": "夜校", "capacity": 5, "opens_at": "21:00", "closes_at": "08:00"},
    )
    assert bad.status_code == 400 and error_of(bad)["fields"] == {"closes_at": ["关闭时间必须晚于开放时间"]}
    wrong = client.post_json(
        f"{API}/spaces",
        {
            "place_code": tree.comm_a1.code,
            "name": "x",
            "capacity": 0,
            "opens_at": "8",
            "closes_at": "20:00",
            "weekdays": "189",
        },
    )
    assert wrong.status_code == 422 and set(error_of(wrong)["fields"]) == {"capacity", "opens_at", "weekdays"}
    patched = client.patch_json(f"{API}/spaces/{body['id']}", {"closes_at": "21:30", "active": False})
    assert (
        patched.status_code == 200 and patched.json()["closes_at"] == "21:30:00" and patched.json()["active"] is False
    )
    assert LearningSpace.objects.count() == 1


def test_booking_overlap_is_409_with_the_clashing_time(make_client, tree):  # noqa: F811 (pytest fixtures)
    space = make_space(tree.comm_a1)
    day = next_monday()
    client = make_client(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    url = f"{API}/spaces/{space.pk}/bookings"
    first = client.post_json(
        url, {"title": "太极拳班", "starts_at": iso(at(day, "09:00")), "ends_at": iso(at(day, "11:00"))}
    )
    assert first.status_code == 201 and first.json()["status"] == "active"
    clash = client.post_json(
        url, {"title": "书法班", "starts_at": iso(at(day, "10:00")), "ends_at": iso(at(day, "12:00"))}
    )
    assert clash.status_code == 409
    error = error_of(clash)
    message = f"该时段已被预约：「太极拳班」{day.isoformat()}（周一）09:00–11:00。请换一个时间。"
    assert error == {"code": "booking_overlap", "message": message, "fields": {"starts_at": [message]}}
    # The same request again by the same person: the booking already made.
    again = client.post_json(
        url, {"title": "太极拳班", "starts_at": iso(at(day, "09:00")), "ends_at": iso(at(day, "11:00"))}
    )
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    # Naive times are Beijing time.
    naive = client.post_json(url, {"title": "午间", "starts_at": f"{day}T12:00:00", "ends_at": f"{day}T13:00:00"})
    assert naive.status_code == 201 and naive.json()["starts_at"].endswith("+08:00")
    assert Booking.objects.count() == 2


@pytest.mark.parametrize(
    ("start", "end", "status", "field"),
    [
        ("07:00", "09:00", 400, "starts_at"),
        ("11:00", "09:00", 400, "ends_at"),
        ("20:00", "22:00", 400, "ends_at"),
    ],
)
def test_bad_booking_input(make_client, tree, start, end, status, field):  # noqa: F811 (pytest fixtures)
    space = make_space(tree.comm_a1)
    day = next_monday()
    client = make_client(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    response = client.post_json(
        f"{API}/spaces/{space.pk}/bookings",
        {"title": "x", "starts_at": iso(at(day, start)), "ends_at": iso(at(day, end))},
    )
    assert response.status_code == status and list(error_of(response)["fields"]) == [field]
    past = client.post_json(
        f"{API}/spaces/{space.pk}/bookings",
        {"title": "x", "starts_at": iso(at(day - D(weeks=2), "09:00")), "ends_at": iso(at(day - D(weeks=2), "10:00"))},
    )
    assert error_of(past)["fields"] == {"starts_at": ["不能预约过去的日期"]}
    missing = client.post_json(f"{API}/spaces/{space.pk}/bookings", {"title": "", "starts_at": "soon"})
    assert missing.status_code == 422 and set(error_of(missing)["fields"]) == {"title", "starts_at", "ends_at"}
    assert not Booking.objects.exists()


def test_series_all_or_nothing_and_cancel(make_client, tree):  # noqa: F811 (pytest fixtures)
    space = make_space(tree.comm_a1)
    day = next_monday()
    client = make_client(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    services.booking_create(
        actor=None,
        space=space,
        title="家长课堂",
        starts_at=at(day + D(weeks=2), "19:30"),
        ends_at=at(day + D(weeks=2), "20:30"),
    )
    payload = {
        "title": "合唱团排练",
        "weekday": 1,
        "starts_at": "19:00",
        "ends_at": "21:00",
        "first_on": day.isoformat(),
        "last_on": (day + D(weeks=5)).isoformat(),
    }
    refused = client.post_json(f"{API}/spaces/{space.pk}/booking-series", payload)
    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "series_overlap" and (day + D(weeks=2)).isoformat() in error["message"]
    assert not BookingSeries.objects.exists() and Booking.objects.count() == 1
    made = client.post_json(
        f"{API}/spaces/{space.pk}/booking-series", {**payload, "starts_at": "17:00", "ends_at": "19:00"}
    )
    assert made.status_code == 201 and len(made.json()["bookings"]) == 6
    series_id = made.json()["id"]
    cancelled = client.post_json(f"{API}/booking-series/{series_id}/cancel", {"reason": "暂停"})
    assert cancelled.json() == {"cancelled": 6}
    assert client.post_json(f"{API}/booking-series/{series_id}/cancel", {"reason": "暂停"}).json() == {"cancelled": 0}
    bad = client.post_json(f"{API}/spaces/{space.pk}/booking-series", {**payload, "weekday": 8})
    assert bad.status_code == 422 and list(error_of(bad)["fields"]) == ["weekday"]


def test_bookings_in_a_range_and_utilisation(make_client, tree):  # noqa: F811 (pytest fixtures)
    space = make_space(tree.comm_a1, opens="08:00", closes="18:00", weekdays="12345")
    day = next_monday()
    services.booking_create(actor=None, space=space, title="一", starts_at=at(day, "08:00"), ends_at=at(day, "13:00"))
    services.booking_create(
        actor=None,
        space=space,
        title="二",
        starts_at=at(day + D(days=1), "08:00"),
        ends_at=at(day + D(days=1), "18:00"),
    )
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    week = client.get(f"{API}/spaces/{space.pk}/bookings?since={day.isoformat()}").json()
    assert [b["title"] for b in week["items"]] == ["一", "二"] and week["count"] == 2
    too_long = client.get(
        f"{API}/spaces/{space.pk}/bookings?since={day.isoformat()}&until={(day + D(days=200)).isoformat()}"
    )
    assert too_long.status_code == 400 and list(error_of(too_long)["fields"]) == ["until"]
    use = client.get(f"{API}/space-utilisation?since={day.isoformat()}&weeks=2").json()["items"]
    assert use[0]["weeks"] == [
        {"week": day.isoformat(), "booked_hours": 15.0, "open_hours": 50.0, "ratio": 0.3},
        {"week": (day + D(weeks=1)).isoformat(), "booked_hours": 0.0, "open_hours": 50.0, "ratio": 0.0},
    ]


def test_list_queries_do_not_grow(make_client, tree):  # noqa: F811 (pytest fixtures)
    client = make_client(factories.staff(Role.ADMIN, tree.district))

    def count(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    make_space(tree.comm_a1, name="一")
    few = count(f"{API}/spaces"), count(f"{API}/space-utilisation")
    for i in range(10):
        space = make_space(tree.comm_a2 if i % 2 else tree.comm_b1, name=f"空间{i}")
        services.booking_create(
            actor=None, space=space, title="x", starts_at=at(next_monday(), "09:00"), ends_at=at(next_monday(), "10:00")
        )
    assert (count(f"{API}/spaces"), count(f"{API}/space-utilisation")) == few
