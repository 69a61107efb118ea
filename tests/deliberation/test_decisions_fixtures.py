"""Shared set-up for the decision tests (no tests here): an issue in discussion with proposals, residents with
accounts, staff, a deliberation meeting with attendance, a council."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from gongzhi.activities import services as activity_services
from gongzhi.activities.models import Activity
from gongzhi.deliberation.models import Ballot, Issue, Proposal
from gongzhi.deliberation.services import decisions as services
from gongzhi.deliberation.services import issues as issue_services
from gongzhi.organizations import services as org_services
from gongzhi.organizations.models import Organization
from gongzhi.people import services as people_services
from gongzhi.people.models import Resident, Role, User
from tests import factories

_n = itertools.count()


def resident_with_account(community: Any, name: str = "陈美华") -> Resident:
    phone = f"1361000{next(_n):04d}"
    r = factories.resident(community, name=name, phone=phone)
    people_services.account_claim(phone=phone, password="a-long-passphrase-9")
    r.refresh_from_db()
    return r


def discussing_issue(community: Any, *, staff: User, proposer: Resident, n_proposals: int = 2) -> Issue:
    issue = issue_services.issue_raise(
        actor=staff, community=community, title="老旧小区加装电梯", raised_on=datetime.date(2025, 1, 1)
    )
    issue_services.issue_transition(actor=staff, issue=issue, to_status="discussing", on=datetime.date(2025, 1, 2))
    for i in range(n_proposals):
        issue_services.proposal_add(user=proposer.user, issue=issue, title=f"方案{'甲乙丙丁'[i]}")
    issue.refresh_from_db()
    return issue


def meeting_with(
    issue: Issue, residents: list[Resident], *, staff: User, at: datetime.datetime | None = None
) -> Activity:
    meeting = activity_services.activity_create(
        actor=staff,
        place=issue.community,
        kind="deliberation_meeting",
        title="居民议事会",
        starts_at=at or timezone.now() - datetime.timedelta(hours=1),
    )
    issue_services.issue_session_link(actor=staff, issue=issue, activity=meeting, purpose="议事会议")
    for r in residents:
        activity_services.attendance_record(actor=staff, activity=meeting, resident=r, source="roster")
    return meeting


@dataclass
class World:
    tree: Any
    worker: User  # community worker of comm_a1
    street: User  # street staff of street_a
    issue: Issue
    proposals: list[Proposal]
    residents: list[Resident]  # of comm_a1, with accounts
    outsider: Resident  # of comm_a2, with an account
    extra: dict[str, Any] = field(default_factory=dict)

    def ballot(self, **kw: Any) -> Ballot:
        now = timezone.now()
        args: dict[str, Any] = {
            "actor": self.worker,
            "issue": self.issue,
            "title": "加装电梯方案表决",
            "proposals": self.proposals,
            "opens_at": now - datetime.timedelta(hours=2),
            "closes_at": now + datetime.timedelta(days=3),
        }
        args.update(kw)
        return services.ballot_open(**args)

    def council(self, members: list[Resident]) -> Organization:
        org = org_services.organization_create(
            actor=self.worker, place=self.tree.comm_a1, kind="social_org", name="班长议事会"
        )
        for m in members:
            org_services.membership_add(actor=self.worker, organization=org, resident=m)
        return org


@pytest.fixture(name="world")
def world_fixture(tree) -> World:
    worker = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    street = factories.staff(Role.STREET_STAFF, tree.street_a)
    residents = [resident_with_account(tree.comm_a1, name=f"居民{i}号") for i in range(4)]
    outsider = resident_with_account(tree.comm_a2, name="邻社区人")
    issue = discussing_issue(tree.comm_a1, staff=worker, proposer=residents[0])
    proposals = list(issue.proposals.order_by("created_at"))
    return World(tree, worker, street, issue, proposals, residents, outsider)
