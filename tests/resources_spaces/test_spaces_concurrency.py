"""MUST SHOW: two overlapping bookings of one space made at the same moment — exactly one succeeds, the other gets a
clear message naming the booking it clashes with. Real threads with their own connections on both databases (see
``concurrency.Race``); on PostgreSQL also the exclusion constraint ``booking_no_overlap`` as the backstop."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from gongzhi.core.errors import Conflict
from gongzhi.resources.models import Booking, BookingSeries
from gongzhi.resources.services import spaces as services

from .concurrency import Race
from .conftest import at, hm, make_space, next_monday

pytestmark = pytest.mark.django_db(transaction=True)


def _attempt(fn):
    def call():
        try:
            return fn()
        except Conflict as exc:
            return exc

    return call


def test_two_overlapping_bookings_at_once_exactly_one_wins(tree):
    space = make_space(tree.comm_a1, name="九堡社区学习室")
    day = next_monday()
    with Race() as race:
        results, errors = race.run(
            _attempt(
                lambda: services.booking_create(
                    actor=None, space=space, title="太极拳班", starts_at=at(day, "09:00"), ends_at=at(day, "11:00")
                )
            ),
            _attempt(
                lambda: services.booking_create(
                    actor=None, space=space, title="书法班", starts_at=at(day, "10:00"), ends_at=at(day, "12:00")
                )
            ),
        )
        assert not errors, errors
        wins = [r for r in results if isinstance(r, Booking)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert len(wins) == 1 and len(refused) == 1
        winner, loser = wins[0], refused[0]
        assert loser.code == "booking_overlap"
        assert loser.message.startswith("该时段已被预约：「")
        assert f"「{winner.title}」" in loser.message
        start = "09:00" if winner.title == "太极拳班" else "10:00"
        assert f"{day.isoformat()}（周一）{start}–" in loser.message
        stored = race.read(lambda: list(Booking.objects.filter(space=space).values_list("title", "status")))
        assert stored == [(winner.title, "active")]


def test_many_identical_slots_at_once_make_one_booking(tree):
    space = make_space(tree.comm_a1)
    day = next_monday()
    calls = [
        _attempt(
            lambda i=i: services.booking_create(
                actor=None, space=space, title=f"活动{i}", starts_at=at(day, "14:00"), ends_at=at(day, "15:00")
            )
        )
        for i in range(6)
    ]
    with Race() as race:
        results, errors = race.run(*calls)
        assert not errors, errors
        assert sum(isinstance(r, Booking) for r in results) == 1
        assert sum(isinstance(r, Conflict) for r in results) == 5
        assert race.read(lambda: Booking.objects.filter(space=space, status="active").count()) == 1


def test_a_series_and_a_booking_at_once_one_wins_and_nothing_is_half_made(tree):
    space = make_space(tree.comm_a1)
    first = next_monday()
    with Race() as race:
        results, errors = race.run(
            _attempt(
                lambda: services.booking_series_create(
                    actor=None,
                    space=space,
                    title="合唱团排练",
                    weekday=1,
                    starts_at=hm("19:00"),
                    ends_at=hm("21:00"),
                    first_on=first,
                    last_on=first + datetime.timedelta(weeks=5),
                )
            ),
            _attempt(
                lambda: services.booking_create(
                    actor=None,
                    space=space,
                    title="家长课堂",
                    starts_at=at(first + datetime.timedelta(weeks=3), "20:00"),
                    ends_at=at(first + datetime.timedelta(weeks=3), "21:00"),
                )
            ),
        )
        assert not errors, errors
        assert sum(isinstance(r, Conflict) for r in results) == 1

        def stored():
            return (
                BookingSeries.objects.filter(space=space).count(),
                sorted(Booking.objects.filter(space=space).values_list("title", flat=True)),
            )

        series_count, titles = race.read(stored)
        if series_count:
            assert titles == ["合唱团排练"] * 6
        else:
            assert titles == ["家长课堂"]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_exclusion_constraint_refuses_an_overlap_written_past_the_service(tree):
    space = make_space(tree.comm_a1)
    day = next_monday()
    services.booking_create(
        actor=None, space=space, title="太极拳班", starts_at=at(day, "09:00"), ends_at=at(day, "11:00")
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(space=space, title="绕过检查", starts_at=at(day, "10:00"), ends_at=at(day, "12:00"))
    # A cancelled booking does not hold the time; touching ends are not an overlap ('[)' ranges).
    Booking.objects.create(
        space=space, title="已取消", starts_at=at(day, "10:00"), ends_at=at(day, "12:00"), status="cancelled"
    )
    Booking.objects.create(space=space, title="紧接着", starts_at=at(day, "11:00"), ends_at=at(day, "12:00"))
    assert connection.vendor == "postgresql"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_constraint_violation_becomes_the_same_clear_conflict(tree, monkeypatch):
    space = make_space(tree.comm_a1)
    day = next_monday()
    services.booking_create(
        actor=None, space=space, title="太极拳班", starts_at=at(day, "09:00"), ends_at=at(day, "11:00")
    )
    real = services._clashes
    calls = {"n": 0}

    def check_misses_once(space, slots):
        calls["n"] += 1
        return [] if calls["n"] == 1 else real(space, slots)

    monkeypatch.setattr(services, "_clashes", check_misses_once)  # as if the check had been skipped
    with pytest.raises(Conflict) as caught:
        services.booking_create(
            actor=None, space=space, title="书法班", starts_at=at(day, "10:00"), ends_at=at(day, "12:00")
        )
    assert caught.value.code == "booking_overlap"
    assert caught.value.message == f"该时段已被预约：「太极拳班」{day.isoformat()}（周一）09:00–11:00。请换一个时间。"
    assert list(Booking.objects.filter(space=space).values_list("title", flat=True)) == ["太极拳班"]
