"""Decision pages: permission tables (role × place relation), the resident's phone pages, bad input, query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gongzhi.deliberation.models import Ballot, BallotParticipation, Decision, Milestone, PaperTally, SatisfactionRating
from gongzhi.deliberation.services import decisions as services
from gongzhi.people.models import Role
from tests import factories

from .test_decisions_fixtures import meeting_with, resident_with_account, world_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

# (role, granted on) → allowed on an issue of COMM_A1.
STAFF = [
    ("community_worker", "comm_a1", True),
    ("street_staff", "street_a", True),
    ("admin", "district", True),
    ("community_worker", "comm_a2", False),  # sibling community
    ("street_staff", "street_b", False),  # other street
    ("admin", "other_district", False),
    ("teacher", "street_a", False),
]


@pytest.mark.parametrize(("role", "place", "allowed"), STAFF)
def test_staff_pages_permission_table(client, world, role, place, allowed):
    ballot = world.ballot()
    user = factories.staff(role, getattr(world.tree, place))
    client.force_login(user)
    urls = [
        reverse("ballot_new", args=[world.issue.pk]),
        reverse("ballot_detail", args=[ballot.pk]),
        reverse("ballot_totals", args=[ballot.pk]),
        reverse("paper_votes", args=[ballot.pk]),
        reverse("ballot_audit", args=[ballot.pk]),
        reverse("decision_new", args=[world.issue.pk]),
        reverse("milestones", args=[world.issue.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == (200 if allowed else 404), url
    now = timezone.localtime()
    response = client.post(
        reverse("ballot_new", args=[world.issue.pk]),
        {
            "title": "第二轮表决",
            "proposals": [str(p.pk) for p in world.proposals],
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "eligibility": "community",
            "quorum": "0",
        },
    )
    assert response.status_code == (302 if allowed else 404)
    assert Ballot.objects.filter(title="第二轮表决").exists() is allowed


def test_residents_do_not_reach_staff_pages(client, world):
    ballot = world.ballot()
    client.force_login(world.residents[1].user)
    assert client.get(reverse("ballot_new", args=[world.issue.pk])).status_code == 403
    assert client.get(reverse("ballot_detail", args=[ballot.pk])).status_code == 403
    assert client.get(reverse("paper_votes", args=[ballot.pk])).status_code == 403
    assert client.get(reverse("milestones", args=[world.issue.pk])).status_code == 403


def test_resident_votes_on_phone_gets_receipt_then_already_voted(client, world):
    ballot = world.ballot()
    voter = world.residents[1]
    client.force_login(voter.user)
    listing = client.get(reverse("my_ballots")).content.decode()
    assert ballot.title in listing and "去投票" in listing
    page = client.get(reverse("ballot_vote", args=[ballot.pk])).content.decode()
    assert 'name="proposal"' in page and "方案甲" in page
    response = client.post(reverse("ballot_vote", args=[ballot.pk]), {"proposal": str(world.proposals[1].pk)})
    assert response.status_code == 200
    receipt = response.context["receipt"]
    assert len(receipt) == 32 and receipt in response.content.decode()
    again = client.get(reverse("ballot_vote", args=[ballot.pk])).content.decode()
    assert "您已投票" in again and 'name="proposal"' not in again
    twice = client.post(reverse("ballot_vote", args=[ballot.pk]), {"proposal": str(world.proposals[0].pk)})
    assert twice.status_code == 409 and "您已投过票" in twice.content.decode()
    assert BallotParticipation.objects.filter(ballot=ballot).count() == 1
    # Results stay hidden until the close; the receipt checks out.
    assert "投票进行中" in client.get(reverse("ballot_result", args=[ballot.pk])).content.decode()
    check = client.get(reverse("receipt_verify"), {"receipt": receipt}).content.decode()
    assert "已计入" in check and "方案乙" in check
    assert client.get(reverse("receipt_verify"), {"receipt": "f" * 32}).status_code == 404


def test_vote_page_refuses_outsiders_and_non_members(client, world):
    ballot = world.ballot()
    client.force_login(world.outsider.user)
    assert client.get(reverse("ballot_vote", args=[ballot.pk])).status_code == 404
    assert (
        client.post(reverse("ballot_vote", args=[ballot.pk]), {"proposal": str(world.proposals[0].pk)}).status_code
        == 404
    )
    council = world.council([world.residents[2]])
    council_ballot = world.ballot(eligibility="council", council=council)
    client.force_login(world.residents[1].user)
    response = client.post(reverse("ballot_vote", args=[council_ballot.pk]), {"proposal": str(world.proposals[0].pk)})
    assert response.status_code == 400 and "班长议事会" in response.content.decode()
    empty = client.post(reverse("ballot_vote", args=[ballot.pk]), {})
    assert empty.status_code == 400 and "请选择一个方案" in empty.content.decode()
    assert not BallotParticipation.objects.exists()


def test_ballot_form_bad_input_shows_chinese_field_errors(client, world):
    client.force_login(world.worker)
    now = timezone.localtime()
    response = client.post(
        reverse("ballot_new", args=[world.issue.pk]),
        {
            "title": "",
            "proposals": [str(world.proposals[0].pk)],
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "eligibility": "council",
            "quorum": "-1",
        },
    )
    assert response.status_code == 400
    assert "表决事项" in response.content.decode()
    assert not Ballot.objects.exists()
    response = client.post(
        reverse("ballot_new", args=[world.issue.pk]),
        {
            "title": "表决",
            "proposals": [str(world.proposals[0].pk)],
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "eligibility": "council",
            "quorum": "0",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "请至少选择两个方案" in page and "截止时间必须晚于开始时间" in page and "议事会成员表决须选择议事会" in page
    assert not Ballot.objects.exists()


def test_paper_votes_page_counts_in_live_totals_and_refuses_bad_input(client, world):
    ballot = world.ballot()
    meeting = meeting_with(world.issue, world.residents, staff=world.worker)
    a, b = world.proposals
    client.force_login(world.worker)
    url = reverse("paper_votes", args=[ballot.pk])
    bad = client.post(url, {"meeting": str(meeting.pk), f"count_{a.pk}": "-2", f"count_{b.pk}": "x"})
    assert bad.status_code == 400 and "方案甲" in bad.content.decode()
    too_many = client.post(url, {"meeting": str(meeting.pk), f"count_{a.pk}": "3", f"count_{b.pk}": "3"})
    assert too_many.status_code == 400 and "多于会议出席人数" in too_many.content.decode()
    unknown = client.post(
        url, {"meeting": str(meeting.pk), f"count_{a.pk}": "1", f"count_{b.pk}": "0", "voters": "NOPE"}
    )
    assert unknown.status_code == 400 and "NOPE" in unknown.content.decode()
    assert not PaperTally.objects.exists()
    ok = client.post(
        url, {"meeting": str(meeting.pk), f"count_{a.pk}": "1", f"count_{b.pk}": "2", "voters": world.residents[3].ref}
    )
    assert ok.status_code == 302
    totals = client.get(reverse("ballot_totals", args=[ballot.pk]))
    assert totals.context["result"].paper == 3 and totals.context["result"].participation == 3


def test_publish_decision_page_refuses_quorum_not_met_then_publishes(client, world):
    now = timezone.now()
    ballot = world.ballot(
        quorum=2, opens_at=now - datetime.timedelta(days=1), closes_at=now + datetime.timedelta(hours=1)
    )
    services.vote_cast(user=world.residents[1].user, ballot=ballot, proposal=world.proposals[0])
    Ballot.objects.filter(pk=ballot.pk).update(closes_at=now - datetime.timedelta(minutes=1))
    client.force_login(world.worker)
    data = {
        "method": "vote",
        "ballot": str(ballot.pk),
        "text": "采纳方案甲",
        "body": "居民议事会",
        "decided_on": timezone.localdate().isoformat(),
    }
    refused = client.post(reverse("decision_new", args=[world.issue.pk]), data)
    assert refused.status_code == 400 and "未达到最低参与人数" in refused.content.decode()
    assert not Decision.objects.exists()
    meeting = meeting_with(world.issue, world.residents[:2], staff=world.worker, at=now - datetime.timedelta(hours=2))
    services.paper_votes_enter(actor=world.worker, ballot=ballot, meeting=meeting, counts={world.proposals[0]: 1})
    published = client.post(reverse("decision_new", args=[world.issue.pk]), data)
    assert published.status_code == 302
    page = client.get(reverse("milestones", args=[world.issue.pk])).content.decode()
    assert "纸质 1" in page and "采纳方案甲" in page


def test_milestones_page_and_rating_after_closure(client, world):
    meeting = meeting_with(world.issue, world.residents[:2], staff=world.worker)
    services.decision_publish(
        actor=world.worker,
        issue=world.issue,
        method="consensus",
        text="加装电梯",
        body="居民议事会",
        decided_on=timezone.localdate(),
        meeting=meeting,
    )
    client.force_login(world.worker)
    url = reverse("milestones", args=[world.issue.pk])
    bad = client.post(url, {"action": "add", "title": "", "responsible": "", "due_on": "not-a-date"})
    assert bad.status_code == 400 and "节点" in bad.content.decode()
    assert not Milestone.objects.exists()
    assert (
        client.post(url, {"action": "add", "title": "招标", "responsible": "物业", "due_on": "2030-01-01"}).status_code
        == 302
    )
    assert client.post(url, {"action": "start"}).status_code == 302
    m = Milestone.objects.get()
    assert client.post(url, {"action": "progress", "body": "已发布招标公告", "milestone": str(m.pk)}).status_code == 302
    refused = client.post(url, {"action": "close"})
    assert refused.status_code == 400 and "未完成的节点" in refused.content.decode()
    assert client.post(url, {"action": "done", "milestone": str(m.pk)}).status_code == 302
    assert client.post(url, {"action": "close"}).status_code == 302
    world.issue.refresh_from_db()
    assert world.issue.status == "closed"
    resident = world.residents[1]
    client.force_login(resident.user)
    rate_url = reverse("issue_rate", args=[world.issue.pk])
    assert client.post(rate_url, {"score": "9"}).status_code == 400
    assert client.post(rate_url, {"score": "4", "comment": "不错"}).status_code == 302
    assert "您已评价" in client.get(rate_url).content.decode()
    client.post(rate_url, {"score": "1"})
    assert SatisfactionRating.objects.get().score == 4
    client.force_login(world.outsider.user)
    assert client.get(rate_url).status_code == 404


def test_rating_page_before_closure_says_so(client, world):
    client.force_login(world.residents[1].user)
    page = client.get(reverse("issue_rate", args=[world.issue.pk])).content.decode()
    assert "办结后才能评价" in page


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_query_counts_do_not_grow_with_votes_or_ballots(client, world, tree):
    ballot = world.ballot()
    meeting = meeting_with(world.issue, world.residents, staff=world.worker)
    services.vote_cast(user=world.residents[1].user, ballot=ballot, proposal=world.proposals[0])
    services.paper_votes_enter(actor=world.worker, ballot=ballot, meeting=meeting, counts={world.proposals[1]: 1})
    client.force_login(world.worker)
    detail = reverse("ballot_detail", args=[ballot.pk])
    few = _count(client, detail)
    for i in range(6):
        r = resident_with_account(tree.comm_a1, name=f"新居民{i}")
        services.vote_cast(user=r.user, ballot=ballot, proposal=world.proposals[i % 2])
    services.paper_votes_enter(
        actor=world.worker, ballot=ballot, meeting=meeting, counts={world.proposals[0]: 2, world.proposals[1]: 2}
    )
    world.ballot(title="另一次")
    assert _count(client, detail) == few
    client.force_login(world.residents[2].user)
    listing = reverse("my_ballots")
    few_list = _count(client, listing)
    for i in range(5):
        world.ballot(title=f"表决{i}")
    assert _count(client, listing) == few_list
    decision = reverse("decision_new", args=[world.issue.pk])
    client.force_login(world.worker)
    many = _count(client, decision)
    world.ballot(title="再一次")
    assert _count(client, decision) == many


def test_staff_role_without_grant_on_street_b_cannot_open(client, world, tree):
    user = factories.staff(Role.COMMUNITY_WORKER, tree.comm_b1)
    client.force_login(user)
    assert client.get(reverse("ballot_new", args=[world.issue.pk])).status_code == 404
