"""Concurrent double votes: on PostgreSQL with real threads and transactions; on SQLite one after another."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from gongzhi.core.errors import Conflict
from gongzhi.deliberation.models import BallotParticipation, IssueAction, SatisfactionRating, Vote
from gongzhi.deliberation.services import decisions as services

from .test_decisions_fixtures import world_fixture  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def run_all(fn, n):
    results, errors = [], []
    if connection.vendor != "postgresql":
        for _ in range(n):
            try:
                results.append(fn())
            except Exception as exc:
                errors.append(exc)
        return results, errors
    barrier = threading.Barrier(n)

    def work():
        try:
            barrier.wait()
            results.append(fn())
        except Exception as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


@pytest.mark.parametrize("secret", [False, True])
def test_concurrent_double_votes_by_one_person_make_one_vote(world, secret):
    ballot = world.ballot(secret=secret)
    voter = world.residents[1]
    a, b = world.proposals
    picks = iter([a, b] * 5)
    lock = threading.Lock()

    def vote():
        with lock:
            proposal = next(picks)
        return services.vote_cast(user=voter.user, ballot=ballot, proposal=proposal)

    results, errors = run_all(vote, 8)
    assert len(results) == 1
    assert len(errors) == 7 and all(isinstance(e, Conflict) and e.code == "already_voted" for e in errors)
    assert Vote.objects.filter(ballot=ballot).count() == 1
    assert BallotParticipation.objects.filter(ballot=ballot).count() == 1
    assert IssueAction.objects.filter(issue=world.issue, action="vote").count() == 1
    assert services.ballot_audit(ballot).consistent


def test_concurrent_votes_by_many_are_all_counted(world):
    ballot = world.ballot()
    voters = iter(world.residents)
    lock = threading.Lock()

    def vote():
        with lock:
            r = next(voters)
        return services.vote_cast(user=r.user, ballot=ballot, proposal=world.proposals[0])

    results, errors = run_all(vote, 4)
    assert not errors and len(set(results)) == 4
    assert services.ballot_result(ballot).participation == 4
    assert SatisfactionRating.objects.count() == 0
