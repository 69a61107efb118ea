"""Concurrency: on PostgreSQL with real threads and transactions (on SQLite the same calls run one after another) —
computing, scoring and publishing twice at once give one result."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from gongzhi.learning.models import StarAssessment, StarRating
from gongzhi.learning.stars import services as stars

from .conftest import make_standard

pytestmark = pytest.mark.django_db(transaction=True)


def run_all(fn, args_list):
    """Run fn(*args) for each args: concurrently on PostgreSQL, sequentially on SQLite."""
    results, errors = [], []
    if connection.vendor != "postgresql":
        return [fn(*args) for args in args_list], errors
    barrier = threading.Barrier(len(args_list))

    def work(args):
        try:
            barrier.wait()
            results.append(fn(*args))
        except Exception as exc:  # pragma: no cover - reported by the test
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


def test_concurrent_computes_make_one_rating_each(world):
    standard = make_standard(world.tree.street_a)
    results, errors = run_all(lambda: stars.star_ratings_compute(actor=None, standard=standard), [()] * 6)
    assert not errors, errors
    assert StarRating.objects.filter(standard=standard).count() == 4
    assert sum(r.created for r in results) == 4


def test_concurrent_scores_by_one_assessor_make_one(world):
    standard = make_standard(world.tree.street_a)
    staff = world.users["street_staff"]
    results, errors = run_all(
        lambda score: stars.star_assessment_submit(
            actor=staff, standard=standard, resident=world.a, criterion="staff", score=score
        ),
        [(70,), (70,), (80,), (90,)],
    )
    assert not errors, errors
    assessment = StarAssessment.objects.get()
    assert assessment.score in (70, 80, 90)
    assert sum(1 for _a, created in results if created) == 1


def test_concurrent_publish_and_review(world):
    standard = make_standard(world.tree.street_a)
    stars.star_ratings_compute(actor=None, standard=standard)
    stars.star_ratings_approve_all(actor=None, standard=standard)
    results, errors = run_all(lambda: stars.star_standard_publish(actor=None, standard=standard), [()] * 4)
    assert not errors, errors
    assert sum(1 for _s, changed in results if changed) == 1
    assert set(StarRating.objects.filter(standard=standard).values_list("status", flat=True)) == {"published"}
