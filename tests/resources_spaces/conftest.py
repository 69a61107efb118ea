"""Fixtures of the learning-space and needs-survey tests: a space open 08:00–21:00 every day, dates always in the
future (next Monday and the weeks after), residents with accounts."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.utils import timezone

from gongzhi.people import services as people_services
from gongzhi.resources.services import spaces as space_services
from tests import factories

_phones = itertools.count(1)


def next_monday(weeks: int = 1) -> datetime.date:
    """The Monday ``weeks`` weeks after this week's Monday (always in the future)."""
    today = timezone.localdate()
    return today - datetime.timedelta(days=today.isoweekday() - 1) + datetime.timedelta(weeks=weeks)


def at(day: datetime.date, hhmm: str) -> datetime.datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def hm(hhmm: str) -> datetime.time:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.time(hour, minute)


def make_space(place, *, name="社区学习室", opens="08:00", closes="21:00", weekdays="1234567", capacity=30, **extra):
    return space_services.space_create(
        actor=None,
        place=place,
        name=name,
        capacity=capacity,
        opens_at=hm(opens),
        closes_at=hm(closes),
        weekdays=weekdays,
        **extra,
    )


def resident_with_account(community, name="陈美华"):
    phone = f"1366600{next(_phones):04d}"
    r = factories.resident(community, name=name, phone=phone)
    user = people_services.account_claim(phone=phone, password="a-long-passphrase-9")
    r.refresh_from_db()
    return r, user


@pytest.fixture
def space(tree):
    return make_space(tree.comm_a1)


@pytest.fixture
def monday() -> datetime.date:
    return next_monday()
