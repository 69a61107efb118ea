"""MUST-SHOW concurrency: on PostgreSQL with real threads and transactions (a barrier releases them together); on
SQLite the same calls run one after another (SQLite serialises writers anyway)."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from gongzhi.activities.models import ActivitySignup, Attendance, SignupStatus, VolunteerHours
from gongzhi.activities.volunteering import services
from gongzhi.core.errors import Conflict
from gongzhi.learning.models import PointsBalance, PointsEntry
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def run_all(fn, args_list):
    """Run fn(*args) for each args: concurrently on PostgreSQL, sequentially on SQLite."""
    results, errors = [], []
    if connection.vendor != "postgresql":
        for args in args_list:
            try:
                results.append(fn(*args))
            except Exception as exc:
                errors.append(exc)
        return results, errors
    barrier = threading.Barrier(len(args_list))

    def work(args):
        try:
            barrier.wait()
            results.append(fn(*args))
        except Exception as exc:  # reported to the test
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_concurrent_double_confirm_confirms_once_and_awards_once(vw):
    entry, _ = services.volunteer_hours_record(
        actor=vw.users["community_worker"], team=vw.team, resident=vw.volunteer, hours="3", activity=vw.past
    )
    confirmers = [vw.users["leader"], vw.users["leader2"], vw.users["street_staff"], vw.users["admin"]] * 2
    results, errors = run_all(
        lambda u: services.volunteer_hours_confirm(actor=u, entry=entry), [(u,) for u in confirmers]
    )
    assert not errors, errors
    assert sum(1 for _e, changed in results if changed) == 1, "exactly one request confirms"
    entry.refresh_from_db()
    assert entry.confirmed_at is not None
    assert PointsEntry.objects.filter(resident=vw.volunteer, source_type="volunteer_hours").count() == 1
    assert PointsBalance.objects.get(resident=vw.volunteer).balance == 15
    assert Attendance.objects.get(activity=vw.past, resident=vw.volunteer).hours == Decimal(3)


def test_concurrent_double_signup_makes_one(vw):
    results, errors = run_all(lambda: services.signup_create(resident=vw.volunteer, activity=vw.upcoming), [()] * 8)
    assert not errors, errors
    assert ActivitySignup.objects.filter(activity=vw.upcoming, resident=vw.volunteer).count() == 1
    assert len({s.pk for s, _created in results}) == 1
    assert sum(1 for _s, created in results if created) == 1


def test_concurrent_signups_never_exceed_capacity(vw):
    event = services.volunteer_event_create(
        actor=None, team=vw.team, title="热门活动", starts_at=timezone.now() + datetime.timedelta(days=2), capacity=3
    )
    people = [factories.resident(vw.tree.comm_a1, name=f"居民{i}") for i in range(10)]
    _results, errors = run_all(lambda r: services.signup_create(resident=r, activity=event), [(r,) for r in people])
    assert ActivitySignup.objects.filter(activity=event, status=SignupStatus.SIGNED_UP).count() == 3
    assert len(errors) == 7 and all(isinstance(e, Conflict) and e.code == "full" for e in errors)


def test_concurrent_double_record_makes_one_entry(vw):
    _results, errors = run_all(
        lambda: services.volunteer_hours_record(
            actor=vw.users["leader"], team=vw.team, resident=vw.volunteer, hours="2", activity=vw.past
        ),
        [()] * 6,
    )
    assert not errors, errors
    assert VolunteerHours.objects.filter(resident=vw.volunteer).count() == 1
    day = timezone.localdate()
    _results, errors = run_all(
        lambda: services.volunteer_hours_record(
            actor=vw.users["leader"], team=vw.team, resident=vw.quiet, hours="1", served_on=day, note="值守"
        ),
        [()] * 6,
    )
    assert not errors, errors
    assert VolunteerHours.objects.filter(resident=vw.quiet).count() == 1


def test_concurrent_confirm_and_reverse_never_leave_points_without_hours(vw):
    entry, _ = services.volunteer_hours_record(
        actor=vw.users["community_worker"], team=vw.team, resident=vw.volunteer, hours="2", activity=vw.past
    )

    def act(kind):
        if kind == "confirm":
            return services.volunteer_hours_confirm(actor=vw.users["leader"], entry=entry)
        return services.volunteer_hours_reverse(actor=vw.users["leader2"], entry=entry, reason="撤销")

    _results, _errors = run_all(act, [("confirm",), ("reverse",)])
    counted = sum(
        VolunteerHours.objects.filter(resident=vw.volunteer, confirmed_at__isnull=False).values_list(
            "hours", flat=True
        ),
        Decimal(0),
    )
    balance = PointsBalance.objects.filter(resident=vw.volunteer).values_list("balance", flat=True).first() or 0
    assert balance == int(counted * 5), "the points always match the counted hours"
