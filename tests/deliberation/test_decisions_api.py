# ruff: noqa: F811  (pytest fixtures imported from tests.api.conftest are used as parameters)
"""Decisions API: permission tables, votes (once, window, eligibility), paper votes, publishing, follow-up, ratings,
bad input and query counts. Every response is checked against the OpenAPI document."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.deliberation.models import Ballot, BallotParticipation, Decision, PaperTally, SatisfactionRating
from gongzhi.deliberation.services import decisions as services
from tests import factories
from tests.api.conftest import error_of, make_client, openapi_checker, openapi_spec  # noqa: F401

from .test_decisions_fixtures import meeting_with, resident_with_account, world_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

API = "/api/v1"

STAFF = [
    ("community_worker", "comm_a1", True),
    ("street_staff", "street_a", True),
    ("admin", "district", True),
    ("community_worker", "comm_a2", False),
    ("street_staff", "street_b", False),
    ("teacher", "street_a", False),
]


def _ballot_payload(world, **kw):
    now = timezone.now()
    data = {
        "title": "加装电梯表决",
        "proposal_ids": [str(p.pk) for p in world.proposals],
        "opens_at": (now - datetime.timedelta(hours=1)).isoformat(),
        "closes_at": (now + datetime.timedelta(days=2)).isoformat(),
    }
    data.update(kw)
    return data


@pytest.mark.parametrize(("role", "place", "allowed"), STAFF)
def test_open_ballot_permission_table(make_client, world, role, place, allowed):
    client = make_client(factories.staff(role, getattr(world.tree, place)))
    response = client.post_json(f"{API}/issues/{world.issue.pk}/ballots", _ballot_payload(world))
    assert response.status_code == (201 if allowed else 404)
    assert Ballot.objects.exists() is allowed
    if allowed:
        body = response.json()
        assert body["state"] == "open" and body["result"]["participation"] == 0
        assert client.get(f"{API}/ballots/{body['id']}/audit").status_code == 200


def test_residents_may_not_open_ballots_or_enter_paper_votes(make_client, world):
    client = make_client(world.residents[1].user)
    response = client.post_json(f"{API}/issues/{world.issue.pk}/ballots", _ballot_payload(world))
    assert response.status_code == 403
    ballot = world.ballot()
    meeting = meeting_with(world.issue, world.residents, staff=world.worker)
    paper = client.put(
        f"{API}/ballots/{ballot.pk}/paper-votes",
        {"meeting_id": str(meeting.pk), "counts": [{"proposal_id": str(world.proposals[0].pk), "count": 1}]},
        content_type="application/json",
    )
    assert paper.status_code == 403
    assert client.get(f"{API}/ballots/{ballot.pk}/audit").status_code == 403
    assert not PaperTally.objects.exists()


def test_vote_once_window_and_eligibility(make_client, world):
    ballot = world.ballot()
    voter = make_client(world.residents[1].user)
    url = f"{API}/ballots/{ballot.pk}/votes"
    first = voter.post_json(url, {"proposal_id": str(world.proposals[0].pk)})
    assert first.status_code == 201 and len(first.json()["receipt"]) == 32
    second = voter.post_json(url, {"proposal_id": str(world.proposals[1].pk)})
    assert second.status_code == 409 and error_of(second)["code"] == "already_voted"
    assert "您已投过票" in error_of(second)["message"]
    mine = voter.get(f"{API}/ballots/{ballot.pk}").json()
    assert mine["my_vote"]["voted"] is True and mine["result"] is None  # no totals for residents before the close
    assert voter.get(f"{API}/ballots/{ballot.pk}/result").status_code == 403
    receipt = voter.get(f"{API}/receipts/{first.json()['receipt']}")
    assert receipt.status_code == 200 and receipt.json()["proposal_title"] == "方案甲"
    assert voter.get(f"{API}/receipts/{'0' * 32}").status_code == 404
    # Other community: the ballot does not exist for them.
    assert (
        make_client(world.outsider.user).post_json(url, {"proposal_id": str(world.proposals[0].pk)}).status_code == 404
    )
    # Outside the window.
    now = timezone.now()
    later = world.ballot(opens_at=now + datetime.timedelta(days=1), closes_at=now + datetime.timedelta(days=2))
    early = voter.post_json(f"{API}/ballots/{later.pk}/votes", {"proposal_id": str(world.proposals[0].pk)})
    assert early.status_code == 400 and error_of(early)["code"] == "not_open"
    # A council ballot and a resident who is not on the council.
    council = world.council([world.residents[2]])
    cb = world.ballot(eligibility="council", council=council)
    refused = voter.post_json(f"{API}/ballots/{cb.pk}/votes", {"proposal_id": str(world.proposals[0].pk)})
    assert refused.status_code == 403 and error_of(refused)["code"] == "not_eligible"
    assert BallotParticipation.objects.count() == 1


def test_vote_bad_input(make_client, world):
    ballot = world.ballot()
    voter = make_client(world.residents[1].user)
    url = f"{API}/ballots/{ballot.pk}/votes"
    missing = voter.post_json(url, {})
    assert missing.status_code == 422 and "proposal_id" in error_of(missing)["fields"]
    wrong = voter.post_json(url, {"proposal_id": "not-a-uuid"})
    assert wrong.status_code == 422
    other = voter.post_json(url, {"proposal_id": str(ballot.pk)})
    assert other.status_code == 400 and "proposal_id" in error_of(other)["fields"]
    assert not BallotParticipation.objects.exists()


def test_paper_votes_results_and_publish(make_client, world):
    now = timezone.now()
    ballot = world.ballot(
        quorum=3, opens_at=now - datetime.timedelta(days=1), closes_at=now + datetime.timedelta(hours=1)
    )
    services.vote_cast(user=world.residents[1].user, ballot=ballot, proposal=world.proposals[0])
    meeting = meeting_with(world.issue, world.residents, staff=world.worker)
    staff = make_client(world.worker)
    url = f"{API}/ballots/{ballot.pk}/paper-votes"
    a, b = world.proposals
    bad = staff.put(
        url,
        {"meeting_id": str(meeting.pk), "counts": [{"proposal_id": str(a.pk), "count": -1}]},
        content_type="application/json",
    )
    assert bad.status_code == 422 and "counts.0.count" in error_of(bad)["fields"]
    ok = staff.put(
        url,
        {
            "meeting_id": str(meeting.pk),
            "counts": [{"proposal_id": str(a.pk), "count": 1}, {"proposal_id": str(b.pk), "count": 3}],
            "voter_refs": [world.residents[3].ref],
        },
        content_type="application/json",
    )
    assert ok.status_code == 200
    result = ok.json()
    assert result["participation"] == 5 and result["paper"] == 4 and result["quorum_met"] is True
    online_voter = staff.put(
        url,
        {
            "meeting_id": str(meeting.pk),
            "counts": [{"proposal_id": str(a.pk), "count": 1}],
            "voter_refs": [world.residents[1].ref],
        },
        content_type="application/json",
    )
    assert online_voter.status_code == 409
    decision_url = f"{API}/issues/{world.issue.pk}/decision"
    payload = {
        "method": "vote",
        "text": "采纳方案",
        "body": "居民议事会",
        "decided_on": timezone.localdate().isoformat(),
        "ballot_id": str(ballot.pk),
    }
    early = staff.post_json(decision_url, payload)
    assert early.status_code == 400 and error_of(early)["code"] == "not_closed"
    Ballot.objects.filter(pk=ballot.pk).update(closes_at=now - datetime.timedelta(minutes=1))
    published = staff.post_json(decision_url, payload)
    assert published.status_code == 201, published.content
    body = published.json()
    assert "纸质 4" in body["result"] and body["adopted_id"] == str(b.pk)
    again = staff.post_json(decision_url, payload)
    assert again.status_code in (400, 409)
    assert Decision.objects.count() == 1
    # Residents now see the totals.
    resident_view = make_client(world.residents[2].user).get(f"{API}/ballots/{ballot.pk}/result")
    assert resident_view.status_code == 200 and resident_view.json()["paper"] == 4


def test_follow_up_and_rating(make_client, world):
    meeting = meeting_with(world.issue, world.residents[:2], staff=world.worker)
    staff = make_client(world.worker)
    consensus = staff.post_json(
        f"{API}/issues/{world.issue.pk}/decision",
        {
            "method": "consensus",
            "text": "协商一致",
            "body": "居民议事会",
            "decided_on": timezone.localdate().isoformat(),
            "meeting_id": str(meeting.pk),
        },
    )
    assert consensus.status_code == 201 and "出席 2 人" in consensus.json()["result"]
    bad = staff.post_json(
        f"{API}/issues/{world.issue.pk}/milestones", {"title": "", "responsible": "物业", "due_on": "2030-13-01"}
    )
    assert bad.status_code == 422 and {"title", "due_on"} <= set(error_of(bad)["fields"])
    m = staff.post_json(
        f"{API}/issues/{world.issue.pk}/milestones", {"title": "招标", "responsible": "物业", "due_on": "2030-01-01"}
    )
    assert m.status_code == 201
    assert staff.post_json(f"{API}/issues/{world.issue.pk}/implementation").status_code == 200
    assert (
        staff.post_json(
            f"{API}/issues/{world.issue.pk}/progress", {"body": "招标公告已发布", "milestone_id": m.json()["id"]}
        ).status_code
        == 201
    )
    refused = staff.post_json(f"{API}/issues/{world.issue.pk}/closure", {})
    assert refused.status_code == 400 and error_of(refused)["code"] == "milestones_open"
    assert staff.post_json(f"{API}/milestones/{m.json()['id']}/done", {}).status_code == 200
    closed = staff.post_json(f"{API}/issues/{world.issue.pk}/closure", {})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    resident = make_client(world.residents[1].user)
    rating_url = f"{API}/issues/{world.issue.pk}/ratings"
    assert resident.post_json(rating_url, {"score": 0}).status_code == 422
    assert resident.post_json(rating_url, {"score": 5, "comment": "满意"}).status_code == 201
    twice = resident.post_json(rating_url, {"score": 3})
    assert twice.status_code == 409 and error_of(twice)["code"] == "already_rated"
    assert make_client(world.outsider.user).post_json(rating_url, {"score": 3}).status_code == 404
    assert staff.post_json(rating_url, {"score": 3}).status_code == 403
    assert SatisfactionRating.objects.count() == 1
    detail = resident.get(f"{API}/issues/{world.issue.pk}/decision").json()
    assert detail["status"] == "closed" and detail["rating_count"] == 1 and len(detail["milestones"]) == 1


def test_ballot_list_query_count_is_constant(make_client, world, tree):
    staff = make_client(world.worker)
    url = f"{API}/issues/{world.issue.pk}/ballots"
    world.ballot()
    with CaptureQueriesContext(connection) as few:
        assert staff.get(url).status_code == 200
    for i in range(5):
        b = world.ballot(title=f"表决{i}")
        r = resident_with_account(tree.comm_a1, name=f"投票人{i}")
        services.vote_cast(user=r.user, ballot=b, proposal=world.proposals[0])
    with CaptureQueriesContext(connection) as many:
        response = staff.get(url)
    assert response.status_code == 200 and len(response.json()) == 6
    assert len(many) == len(few)
