"""Concurrent moves of one issue: the row lock lets one win; the loser sees the new status and is refused."""

from __future__ import annotations

import itertools

import pytest

from gongzhi.core.errors import Conflict
from gongzhi.deliberation.models import Issue, IssueStatusChange, IssueTopic
from gongzhi.deliberation.services import issues as services
from gongzhi.learning import services as learning_services
from tests.learning.test_concurrency import run_all

pytestmark = pytest.mark.django_db(transaction=True)


def _try(fn):
    try:
        return fn()
    except Conflict as exc:
        return exc


def test_concurrent_transitions_only_one_wins(tree):
    issue = services.issue_raise(actor=None, community=tree.comm_a1, title="加装电梯")
    moves = ["discussing", "rejected", "discussing", "rejected", "discussing", "rejected"]
    results, errors = run_all(
        lambda to: _try(lambda: services.issue_transition(actor=None, issue=issue, to_status=to, reason="理由")),
        [(m,) for m in moves],
    )
    assert not errors
    wins = [r for r in results if isinstance(r, Issue)]
    refused = [r for r in results if isinstance(r, Conflict)]
    issue.refresh_from_db()
    # discussing → rejected is legal too, so at most two steps succeed, and always along legal moves.
    history = [
        (h.from_status, h.to_status) for h in IssueStatusChange.objects.filter(issue=issue).order_by("created_at")
    ]
    assert history[0] == ("", "open")
    assert len(wins) == len(history) - 1 and len(wins) + len(refused) == len(moves)
    for a, b in itertools.pairwise(history):
        assert b[0] == a[1], "each move starts where the previous one ended"
    assert issue.status == history[-1][1]


def test_concurrent_same_move_happens_once(tree):
    issue = services.issue_raise(actor=None, community=tree.comm_a1, title="加装电梯")
    results, errors = run_all(
        lambda: _try(lambda: services.issue_transition(actor=None, issue=issue, to_status="discussing")), [()] * 6
    )
    assert not errors
    assert IssueStatusChange.objects.filter(issue=issue, to_status="discussing").count() == 1
    assert sum(isinstance(r, Issue) for r in results) == 1


def test_concurrent_topic_adds_make_one(tree):
    issue = services.issue_raise(actor=None, community=tree.comm_a1, title="加装电梯")
    course = learning_services.course_create(actor=None, place=tree.street_a, title="物权法")
    _results, errors = run_all(lambda: services.issue_topic_add(actor=None, issue=issue, course=course), [()] * 6)
    assert not errors
    assert IssueTopic.objects.filter(issue=issue, course=course).count() == 1
