"""Deciding and carrying out, through the real services: votes, paper votes, secret ballots, quorum, publishing,
milestones, closure and ratings."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from gongzhi.deliberation.models import (
    BallotParticipation,
    Decision,
    IssueAction,
    IssueStatus,
    IssueStatusChange,
    PaperTally,
    SatisfactionRating,
    Vote,
)
from gongzhi.deliberation.services import decisions as services

from .test_decisions_fixtures import meeting_with, resident_with_account, world_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def test_open_ballot_needs_discussing_issue_two_proposals_and_council(world):
    with pytest.raises(DomainError) as exc:
        world.ballot(proposals=world.proposals[:1])
    assert "proposals" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        world.ballot(eligibility="council")
    assert "council" in exc.value.fields
    now = timezone.now()
    with pytest.raises(DomainError) as exc:
        world.ballot(opens_at=now, closes_at=now - datetime.timedelta(hours=1))
    assert "closes_at" in exc.value.fields
    ballot = world.ballot(quorum=2)
    assert set(ballot.proposals.all()) == set(world.proposals)


def test_vote_once_writes_participation_vote_and_action(world):
    ballot = world.ballot()
    voter = world.residents[1]
    receipt = services.vote_cast(user=voter.user, ballot=ballot, proposal=world.proposals[0])
    assert len(receipt) == 32
    vote = Vote.objects.get(receipt=receipt)
    assert vote.voter == voter and vote.proposal == world.proposals[0]
    assert BallotParticipation.objects.get(ballot=ballot, voter=voter).source == "online"
    assert IssueAction.objects.filter(issue=world.issue, resident=voter, action="vote").count() == 1
    with pytest.raises(Conflict) as exc:
        services.vote_cast(user=voter.user, ballot=ballot, proposal=world.proposals[1])
    assert exc.value.code == "already_voted" and "您已投过票" in exc.value.message
    assert Vote.objects.filter(ballot=ballot).count() == 1
    assert IssueAction.objects.filter(issue=world.issue, resident=voter, action="vote").count() == 1


def test_vote_outside_the_window_is_refused(world):
    now = timezone.now()
    later = world.ballot(opens_at=now + datetime.timedelta(hours=1), closes_at=now + datetime.timedelta(days=1))
    with pytest.raises(DomainError) as exc:
        services.vote_cast(user=world.residents[1].user, ballot=later, proposal=world.proposals[0])
    assert exc.value.code == "not_open" and "尚未开始" in exc.value.message
    closed = world.ballot(opens_at=now - datetime.timedelta(days=2), closes_at=now - datetime.timedelta(seconds=1))
    with pytest.raises(DomainError) as exc:
        services.vote_cast(user=world.residents[1].user, ballot=closed, proposal=world.proposals[0])
    assert exc.value.code == "closed" and "截止" in exc.value.message
    # The closing instant itself is outside [opens_at, closes_at).
    edge = world.ballot()
    with pytest.raises(DomainError):
        services.vote_cast(user=world.residents[1].user, ballot=edge, proposal=world.proposals[0], now=edge.closes_at)
    assert not Vote.objects.exists() and not BallotParticipation.objects.exists()


def test_ineligible_voters_are_refused(world, tree):
    ballot = world.ballot()
    with pytest.raises(PermissionDenied) as exc:
        services.vote_cast(user=world.outsider.user, ballot=ballot, proposal=world.proposals[0])
    assert exc.value.code == "not_eligible" and "本社区居民" in exc.value.message
    # A resident who moved out may no longer vote.
    gone = resident_with_account(tree.comm_a1, name="搬走了")
    gone.left_on = datetime.date(2025, 1, 1)
    gone.save(update_fields=["left_on"])
    with pytest.raises(PermissionDenied):
        services.vote_cast(user=gone.user, ballot=ballot, proposal=world.proposals[0])
    # A council ballot: only current members of the council.
    council = world.council([world.residents[1]])
    council_ballot = world.ballot(eligibility="council", council=council)
    services.vote_cast(user=world.residents[1].user, ballot=council_ballot, proposal=world.proposals[0])
    with pytest.raises(PermissionDenied) as exc:
        services.vote_cast(user=world.residents[2].user, ballot=council_ballot, proposal=world.proposals[0])
    assert "班长议事会" in exc.value.message
    # A proposal not on this ballot.
    from gongzhi.deliberation.services import issues as issue_services

    other = issue_services.proposal_add(user=world.residents[0].user, issue=world.issue, title="后来的方案")
    with pytest.raises(DomainError) as exc:
        services.vote_cast(user=world.residents[3].user, ballot=ballot, proposal=other)
    assert "proposal" in exc.value.fields
    assert BallotParticipation.objects.count() == 1


def test_paper_votes_count_in_totals_and_in_published_result(world):
    now = timezone.now()
    ballot = world.ballot(
        quorum=5, opens_at=now - datetime.timedelta(days=2), closes_at=now + datetime.timedelta(hours=1)
    )
    services.vote_cast(user=world.residents[1].user, ballot=ballot, proposal=world.proposals[0])
    services.vote_cast(user=world.residents[2].user, ballot=ballot, proposal=world.proposals[1])
    attendees = [factories_resident(world, i) for i in range(6)]
    meeting = meeting_with(world.issue, attendees, staff=world.worker)
    a, b = world.proposals
    services.paper_votes_enter(actor=world.worker, ballot=ballot, meeting=meeting, counts={a: 1, b: 4})
    # Entering the same meeting again replaces its counts (a correction), it does not add.
    services.paper_votes_enter(actor=world.worker, ballot=ballot, meeting=meeting, counts={a: 1, b: 3})
    assert PaperTally.objects.filter(ballot=ballot).count() == 2
    result = services.ballot_result(ballot)
    totals = {r.proposal: (r.online, r.paper, r.total) for r in result.rows}
    assert totals == {a: (1, 1, 2), b: (1, 3, 4)}
    assert result.participation == 6 and result.quorum_met and result.winners == [b]
    # Publishing before the close is refused.
    with pytest.raises(DomainError) as exc:
        services.decision_publish(
            actor=world.worker,
            issue=world.issue,
            method="vote",
            text="采纳方案乙",
            body="居民议事会",
            decided_on=timezone.localdate(),
            ballot=ballot,
        )
    assert exc.value.code == "not_closed"
    decision = services.decision_publish(
        actor=world.worker,
        issue=world.issue,
        method="vote",
        text="采纳方案乙",
        body="居民议事会",
        decided_on=timezone.localdate(),
        ballot=ballot,
        now=ballot.closes_at,
    )
    assert decision.adopted == b and decision.published_at is not None
    assert "纸质 3" in decision.result and "方案乙：4 票" in decision.result and "参与 6 人" in decision.result
    world.issue.refresh_from_db()
    assert world.issue.status == IssueStatus.DECIDED and world.issue.decided_on == timezone.localdate()
    assert IssueStatusChange.objects.filter(issue=world.issue, to_status="decided").count() == 1


def factories_resident(w, i):
    from tests import factories

    return factories.resident(w.tree.comm_a1, name=f"到会{i}")


def test_paper_votes_need_meeting_attendance_and_refuse_online_voters(world):
    ballot = world.ballot()
    a, b = world.proposals
    meeting = meeting_with(world.issue, [world.residents[1], world.residents[2]], staff=world.worker)
    with pytest.raises(DomainError) as exc:
        services.paper_votes_enter(actor=world.worker, ballot=ballot, meeting=meeting, counts={a: 2, b: 1})
    assert exc.value.code == "more_than_present"
    services.vote_cast(user=world.residents[1].user, ballot=ballot, proposal=a)
    with pytest.raises(Conflict) as exc:
        services.paper_votes_enter(
            actor=world.worker, ballot=ballot, meeting=meeting, counts={a: 1, b: 1}, voters=[world.residents[1]]
        )
    assert "已在线投票" in exc.value.message
    assert not PaperTally.objects.exists()
    services.paper_votes_enter(
        actor=world.worker, ballot=ballot, meeting=meeting, counts={a: 1, b: 1}, voters=[world.residents[2]]
    )
    # The paper voter cannot then vote online.
    with pytest.raises(Conflict):
        services.vote_cast(user=world.residents[2].user, ballot=ballot, proposal=a)
    with pytest.raises(DomainError) as exc:
        services.paper_votes_enter(actor=world.worker, ballot=ballot, meeting=meeting, counts={a: -1})
    assert "counts" in exc.value.fields


def test_secret_ballot_stores_no_voter_and_audit_matches(world):
    ballot = world.ballot(secret=True)
    receipts = [
        services.vote_cast(user=r.user, ballot=ballot, proposal=world.proposals[i % 2])
        for i, r in enumerate(world.residents[1:])
    ]
    assert Vote.objects.filter(ballot=ballot, voter__isnull=False).count() == 0
    assert set(Vote.objects.filter(ballot=ballot).values_list("created_at", flat=True)) == {ballot.opens_at}
    assert BallotParticipation.objects.filter(ballot=ballot).count() == 3
    audit = services.ballot_audit(ballot)
    assert audit.consistent and audit.participations == audit.online_votes == 3
    assert sorted(r for r, _title in audit.receipts) == sorted(receipts)
    check = services.vote_verify(receipts[0])
    assert check.counted and check.ballot == ballot and check.proposal == world.proposals[0]
    with pytest.raises(NotFound):
        services.vote_verify("0" * 32)


def test_quorum_not_met_refuses_publishing(world):
    now = timezone.now()
    ballot = world.ballot(
        quorum=3, opens_at=now - datetime.timedelta(days=2), closes_at=now - datetime.timedelta(hours=1)
    )
    with pytest.raises(DomainError) as exc:
        services.decision_publish(
            actor=world.worker,
            issue=world.issue,
            method="vote",
            text="x",
            body="居民议事会",
            decided_on=timezone.localdate(),
            ballot=ballot,
        )
    assert exc.value.code == "quorum_not_met"
    assert not Decision.objects.exists()
    world.issue.refresh_from_db()
    assert world.issue.status == IssueStatus.DISCUSSING


def test_consensus_needs_a_meeting_with_attendance(world):
    with pytest.raises(DomainError) as exc:
        services.decision_publish(
            actor=world.worker,
            issue=world.issue,
            method="consensus",
            text="协商一致",
            body="居民议事会",
            decided_on=timezone.localdate(),
        )
    assert "meeting" in exc.value.fields
    meeting = meeting_with(world.issue, world.residents[:3], staff=world.worker)
    decision = services.decision_publish(
        actor=world.worker,
        issue=world.issue,
        method="consensus",
        text="协商一致：方案甲",
        body="居民议事会",
        decided_on=timezone.localdate(),
        meeting=meeting,
        adopted=world.proposals[0],
    )
    assert "出席 3 人" in decision.result
    with pytest.raises(DomainError):
        services.decision_publish(
            actor=world.worker,
            issue=world.issue,
            method="consensus",
            text="again",
            body="x",
            decided_on=timezone.localdate(),
            meeting=meeting,
        )


def test_milestones_progress_close_and_rating(world):
    meeting = meeting_with(world.issue, world.residents[:2], staff=world.worker)
    services.decision_publish(
        actor=world.worker,
        issue=world.issue,
        method="consensus",
        text="加装",
        body="居民议事会",
        decided_on=timezone.localdate(),
        meeting=meeting,
    )
    voter = world.residents[1]
    with pytest.raises(DomainError) as exc:
        services.satisfaction_rate(user=voter.user, issue=world.issue, score=5)
    assert exc.value.code == "not_closed"
    m1 = services.milestone_add(
        actor=world.worker,
        issue=world.issue,
        title="施工招标",
        responsible="物业公司",
        due_on=datetime.date(2030, 1, 1),
    )
    with pytest.raises(DomainError) as exc:
        services.milestone_add(actor=world.worker, issue=world.issue, title="", responsible="", due_on=None)
    assert {"title", "responsible", "due_on"} <= set(exc.value.fields)
    services.implementation_start(actor=world.worker, issue=world.issue)
    services.progress_post(actor=world.worker, issue=world.issue, body="已完成招标文件", milestone=m1)
    with pytest.raises(DomainError) as exc:
        services.issue_close(actor=world.worker, issue=world.issue)
    assert exc.value.code == "milestones_open"
    services.milestone_done(actor=world.worker, milestone=m1)
    issue = services.issue_close(actor=world.worker, issue=world.issue)
    assert issue.status == IssueStatus.CLOSED and issue.closed_on == timezone.localdate()
    with pytest.raises(PermissionDenied):
        services.satisfaction_rate(user=world.outsider.user, issue=issue, score=4)
    with pytest.raises(DomainError) as exc:
        services.satisfaction_rate(user=voter.user, issue=issue, score=6)
    assert "score" in exc.value.fields
    services.satisfaction_rate(user=voter.user, issue=issue, score=5, comment="很满意")
    with pytest.raises(Conflict) as exc:
        services.satisfaction_rate(user=voter.user, issue=issue, score=4)
    assert exc.value.code == "already_rated"
    assert SatisfactionRating.objects.filter(issue=issue).count() == 1
