"""MUST-SHOW, concurrency: on PostgreSQL with real threads and transactions (on SQLite the same calls run one after
another). A double start makes one attempt; concurrent submits of one attempt score it once and award points once."""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.db import close_old_connections, connection

from gongzhi.core.errors import Conflict
from gongzhi.learning.models import OnlineTestAttempt, PointsBalance, PointsEntry
from gongzhi.learning.testing import services
from tests import factories

from .conftest import sheet

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
        except Exception as exc:
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


def test_concurrent_starts_make_one_attempt(tree, online_test_factory):
    test = online_test_factory()
    r = factories.resident(tree.comm_a1)
    results, errors = run_all(lambda: services.attempt_start(resident=r, test=test), [()] * 8)
    assert not errors
    assert OnlineTestAttempt.objects.filter(test=test, resident=r).count() == 1
    assert len({a.pk for a in results}) == 1
    assert len({tuple(a.question_ids) for a in results}) == 1


def test_concurrent_starts_by_many_residents_each_get_their_own(tree, online_test_factory):
    test = online_test_factory()
    residents = [factories.resident(tree.comm_a1, name=f"居民{i}") for i in range(6)]
    _results, errors = run_all(lambda r: services.attempt_start(resident=r, test=test), [(r,) for r in residents])
    assert not errors
    assert OnlineTestAttempt.objects.filter(test=test).count() == 6


def test_concurrent_submits_score_once_and_award_once(tree, online_test_factory):
    test = online_test_factory()
    r = factories.resident(tree.comm_a1)
    attempt = services.attempt_start(resident=r, test=test)
    answers = sheet(attempt)
    results, errors = run_all(lambda: services.attempt_submit(resident=r, attempt=attempt, answers=answers), [()] * 8)
    assert len(results) == 1, errors
    assert len(errors) == 7 and all(isinstance(e, Conflict) and e.code == "already_submitted" for e in errors)
    attempt.refresh_from_db()
    assert attempt.passed and attempt.submitted_at is not None
    assert PointsEntry.objects.filter(resident=r, source_type="online_test").count() == 1
    assert PointsBalance.objects.get(resident=r).balance == 20


def test_concurrent_starts_never_exceed_the_attempts_allowed(tree, online_test_factory):
    test = online_test_factory(attempts_allowed=2)
    r = factories.resident(tree.comm_a1)
    first = services.attempt_start(resident=r, test=test)
    services.attempt_submit(resident=r, attempt=first, answers={})

    def start_and_submit():
        a = services.attempt_start(resident=r, test=test)
        with contextlib.suppress(Conflict):
            services.attempt_submit(resident=r, attempt=a, answers={})
        return a

    _results, errors = run_all(start_and_submit, [()] * 6)
    assert OnlineTestAttempt.objects.filter(test=test, resident=r).count() == 2
    assert all(getattr(e, "code", "") == "no_attempts_left" for e in errors)
