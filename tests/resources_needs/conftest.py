"""Fixtures for the needs tests: providers and resources made with the ORM (``full_clean`` + save), needs, residents
with accounts, activities with attendance."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from django.utils import timezone

from gongzhi.activities.models import Activity, ActivityKind, AttendanceSource
from gongzhi.activities.services import activity_create, attendance_record
from gongzhi.people.models import Resident
from gongzhi.places.models import Place
from gongzhi.resources.models import Need, Provider, Resource
from gongzhi.resources.services import needs as services
from tests.organizations.conftest import resident_with_account  # noqa: F401  (re-exported)

_refs = itertools.count(1)


def provider(
    name: str = "浙商银行", *, kind: str = "bank", place: Place | None = None, members: Any = (), active: bool = True
) -> Provider:
    p = Provider(ref=f"P{next(_refs):05d}", name=name, kind=kind, place=place, active=active)
    p.full_clean()
    p.save()
    if members:
        p.members.add(*members)
    return p


def resource(
    prov: Provider,
    name: str = "金融知识讲座",
    *,
    kind: str = "course",
    area: Any = (),
    available_from: datetime.date | None = None,
    available_until: datetime.date | None = None,
    active: bool = True,
    **extra: Any,
) -> Resource:
    r = Resource(
        ref=f"R{next(_refs):05d}",
        provider=prov,
        name=name,
        kind=kind,
        available_from=available_from,
        available_until=available_until,
        active=active,
        **extra,
    )
    r.full_clean()
    r.save()
    if area:
        r.service_area.add(*area)
    return r


def need(community: Place, title: str = "想学防范电信诈骗", *, kind: str = "course", **kw: Any) -> Need:
    """A need recorded by staff a week ago (so that activities of the last days may fulfil it)."""
    kw.setdefault("raised_on", timezone.localdate() - datetime.timedelta(days=7))
    found, _created = services.need_report(actor=None, community=community, title=title, resource_kind=kind, **kw)
    return found


def past_activity(place: Place, title: str = "防诈骗讲座", *, days_ago: int = 1, **kw: Any) -> Activity:
    starts = timezone.now() - datetime.timedelta(days=days_ago)
    return activity_create(
        actor=None, place=place, kind=kw.pop("kind", ActivityKind.COURSE_SESSION), title=title, starts_at=starts, **kw
    )


def present(activity: Activity, resident: Resident, status: str = "present") -> None:
    attendance_record(actor=None, activity=activity, resident=resident, status=status, source=AttendanceSource.ROSTER)


@pytest.fixture
def bank(tree) -> Provider:
    return provider("浙商银行", kind="bank", place=tree.street_a)


@pytest.fixture
def lecture(tree, bank) -> Resource:
    return resource(bank, "金融知识讲座", kind="course", area=[tree.comm_a1])
