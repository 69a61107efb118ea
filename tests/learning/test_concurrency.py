"""Concurrency: on PostgreSQL with real threads and transactions; on SQLite the same calls run one after another."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from gongzhi.learning import services
from gongzhi.learning.models import Enrolment, PointsBalance, PointsEntry
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def run_all(fn, args_list):
    """Run fn(*args) for each args: concurrently on PostgreSQL, sequentially on SQLite."""
    results, errors = [], []
    if connection.vendor != "postgresql":
        for args in args_list:
            results.append(fn(*args))
        return results, errors
    barrier = threading.Barrier(len(args_list))

    def work(args):
        try:
            barrier.wait()
            results.append(fn(*args))
        except Exception as exc:  # pragma: no cover - reported below
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


def test_concurrent_enrolments_never_exceed_capacity(tree):
    course = services.course_create(actor=None, place=tree.street_a, title="热门课程", capacity=3)
    residents = [factories.resident(tree.comm_a1, name=f"居民{i}") for i in range(12)]
    _results, errors = run_all(
        lambda r: services.enrolment_create(resident=r, course=course), [(r,) for r in residents]
    )
    assert not errors
    assert Enrolment.objects.filter(course=course, status="enrolled").count() == 3
    assert Enrolment.objects.filter(course=course, status="waitlisted").count() == 9


def test_concurrent_double_enrol_by_one_resident_makes_one(tree):
    course = services.course_create(actor=None, place=tree.street_a, title="课程", capacity=5)
    r = factories.resident(tree.comm_a1)
    results, errors = run_all(lambda: services.enrolment_create(resident=r, course=course), [()] * 8)
    assert not errors
    assert Enrolment.objects.filter(course=course).count() == 1
    assert len({e.pk for e in results}) == 1


def test_concurrent_awards_for_one_source_make_one_entry(tree):
    r = factories.resident(tree.comm_a1)
    _results, errors = run_all(
        lambda: services.points_award(resident=r, rule_code="pass_test", source_type="test", source_id="T1"),
        [()] * 10,
    )
    assert not errors
    assert PointsEntry.objects.filter(resident=r).count() == 1
    assert PointsBalance.objects.get(resident=r).balance == 20


def test_concurrent_awards_respect_the_daily_cap(tree):
    r = factories.resident(tree.comm_a1)
    _results, errors = run_all(
        lambda i: services.points_award(
            resident=r, rule_code="attend_course_session", source_type="attendance", source_id=str(i)
        ),
        [(i,) for i in range(8)],
    )
    assert not errors
    assert PointsBalance.objects.get(resident=r).balance == 30
    assert sum(PointsEntry.objects.filter(resident=r).values_list("points", flat=True)) == 30
