"""Reads for the public pages (民事民议 / 民决 / 民治 transparency): open to everyone, so they return **no personal
data** — no names, phones, ID numbers or hidden comments; who raised an issue is only "a resident" or "staff", and
discussion shows as counts. Every function runs a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Q, Sum
from django.http import Http404
from django.utils import timezone

from gongzhi.places.models import Place

from ..models import (
    Ballot,
    Comment,
    Decision,
    Issue,
    IssueAction,
    IssueSession,
    IssueStatus,
    IssueTopic,
    Milestone,
    PaperTally,
    ProgressUpdate,
    Proposal,
    SatisfactionRating,
    Vote,
)

# The public stages of the chain, in order: (key, slogan, statuses).
PUBLIC_STAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("deliberating", "民事民议", (IssueStatus.OPEN, IssueStatus.DISCUSSING)),
    ("deciding", "民事民决", (IssueStatus.DECIDED,)),
    ("governing", "民事民治", (IssueStatus.IMPLEMENTING,)),
    ("closed", "已办结", (IssueStatus.CLOSED,)),
)


def public_communities() -> list[dict[str, Any]]:
    """The communities with at least one issue, with counts per status (one query)."""
    rows = (
        Issue.objects.values("community__code", "community__name", "community__parent__name")
        .annotate(
            total=Count("id"),
            deliberating=Count("id", filter=Q(status__in=[IssueStatus.OPEN, IssueStatus.DISCUSSING])),
            deciding=Count("id", filter=Q(status=IssueStatus.DECIDED)),
            governing=Count("id", filter=Q(status=IssueStatus.IMPLEMENTING)),
            closed=Count("id", filter=Q(status=IssueStatus.CLOSED)),
        )
        .order_by("community__code")
    )
    return [
        {
            "code": r["community__code"],
            "name": r["community__name"],
            "street": r["community__parent__name"] or "",
            "total": r["total"],
            "deliberating": r["deliberating"],
            "deciding": r["deciding"],
            "governing": r["governing"],
            "closed": r["closed"],
        }
        for r in rows
    ]


def public_community(*, code: str) -> Place:
    place = Place.objects.filter(code=code, level="community").select_related("parent").first()
    if place is None:
        raise Http404
    return place


@dataclass
class StageGroup:
    key: str
    slogan: str
    issues: list[Issue] = field(default_factory=list)


def public_issue_groups(*, community: Place) -> tuple[list[StageGroup], list[Issue]]:
    """The community's issues by public stage, and the rejected ones (one query; visible comment counts, the
    satisfaction average and whether a decision is published come as annotations)."""
    issues = list(
        Issue.objects.filter(community=community)
        .annotate(
            comment_count=Count("comments", filter=Q(comments__hidden_at__isnull=True), distinct=True),
            rating_avg=Avg("ratings__score"),
        )
        .only("id", "ref", "title", "category", "status", "raised_on", "decided_on", "closed_on", "community_id")
        .order_by("-raised_on", "ref")
    )
    groups = [StageGroup(key, slogan) for key, slogan, _statuses in PUBLIC_STAGES]
    by_status = {status: group for group, (_k, _s, statuses) in zip(groups, PUBLIC_STAGES, strict=True)
                 for status in statuses}  # fmt: skip
    rejected: list[Issue] = []
    for issue in issues:
        group = by_status.get(issue.status)
        if group is None:
            rejected.append(issue)
        else:
            group.issues.append(issue)
    return groups, rejected


@dataclass
class ProposalTotal:
    title: str
    online: int
    paper: int

    @property
    def total(self) -> int:
        return self.online + self.paper


@dataclass
class PublicBallot:
    title: str
    opens_at: datetime.datetime
    closes_at: datetime.datetime
    eligibility: str
    secret: bool
    quorum: int
    is_open: bool
    is_closed: bool
    participants: int
    paper_votes: int
    totals: list[ProposalTotal]

    @property
    def online_votes(self) -> int:
        return sum(t.online for t in self.totals)

    @property
    def total_votes(self) -> int:
        return sum(t.total for t in self.totals)


@dataclass
class PublicIssue:
    issue: Issue
    raised_by_resident: bool
    steps: list[tuple[str, datetime.date | None]]
    topics: list[str]
    sessions: list[dict[str, Any]]
    proposals: list[str]
    ballots: list[PublicBallot]
    decision: Decision | None
    milestones: list[Milestone]
    progress: list[ProgressUpdate]
    comment_count: int
    participant_count: int
    rating_avg: Decimal | float | None
    rating_count: int


def public_issue(*, community: Place, ref: str, now: datetime.datetime | None = None) -> PublicIssue:
    """One issue of the community as the public sees it (a fixed number of queries)."""
    now = now or timezone.now()
    issue = Issue.objects.filter(community=community, ref=ref).first()
    if issue is None:
        raise Http404
    steps = [
        ("raised", issue.raised_on),
        ("discussed", issue.discussed_on),
        ("decided", issue.decided_on),
        ("implemented", issue.implemented_on),
        ("closed", issue.closed_on),
    ]
    topics = [
        t.organization.name if t.organization_id else t.course.title  # type: ignore[union-attr]
        for t in IssueTopic.objects.filter(issue=issue).select_related("organization", "course")
    ]
    sessions = [
        {
            "title": s.activity.title,
            "kind": s.activity.get_kind_display(),
            "starts_at": s.activity.starts_at,
            "purpose": s.purpose,
            "present": s.present,
        }
        for s in IssueSession.objects.filter(issue=issue)
        .select_related("activity")
        .annotate(present=Count("activity__attendances", filter=Q(activity__attendances__status="present")))
        .order_by("activity__starts_at")
    ]
    proposals = list(
        Proposal.objects.filter(issue=issue, withdrawn_at__isnull=True)
        .order_by("created_at")
        .values_list("title", flat=True)
    )
    ballots = _ballots(issue, now)
    decision = Decision.objects.filter(issue=issue, published_at__isnull=False).first()
    milestones = list(Milestone.objects.filter(issue=issue).order_by("due_on", "created_at"))
    progress = list(ProgressUpdate.objects.filter(issue=issue).select_related("milestone").order_by("-created_at"))
    comment_count = Comment.objects.filter(issue=issue, hidden_at__isnull=True).count()
    participant_count = IssueAction.objects.filter(issue=issue).values("resident_id").distinct().count()
    rating = SatisfactionRating.objects.filter(issue=issue).aggregate(avg=Avg("score"), n=Count("id"))
    return PublicIssue(
        issue=issue,
        raised_by_resident=issue.raised_by_id is not None,
        steps=steps,
        topics=topics,
        sessions=sessions,
        proposals=proposals,
        ballots=ballots,
        decision=decision,
        milestones=milestones,
        progress=progress,
        comment_count=comment_count,
        participant_count=participant_count,
        rating_avg=rating["avg"],
        rating_count=rating["n"],
    )


def _ballots(issue: Issue, now: datetime.datetime) -> list[PublicBallot]:
    """Every ballot with its totals per proposal: online votes plus the paper votes entered from meetings (four
    queries). Running totals of a ballot still open are not shown (only how many took part)."""
    ballots = list(
        Ballot.objects.filter(issue=issue)
        .annotate(participant_count=Count("participations", distinct=True))
        .prefetch_related("proposals")
        .order_by("opens_at")
    )
    ids = [b.id for b in ballots]
    online: dict[tuple[Any, Any], int] = {
        (r["ballot_id"], r["proposal_id"]): r["n"]
        for r in Vote.objects.filter(ballot_id__in=ids).values("ballot_id", "proposal_id").annotate(n=Count("id"))
    }
    paper: dict[tuple[Any, Any], int] = {
        (r["ballot_id"], r["proposal_id"]): r["n"] or 0
        for r in PaperTally.objects.filter(ballot_id__in=ids)
        .values("ballot_id", "proposal_id")
        .annotate(n=Sum("count"))
    }
    result = []
    for b in ballots:
        closed = b.closes_at <= now
        totals = [
            ProposalTotal(p.title, online.get((b.id, p.id), 0), paper.get((b.id, p.id), 0))
            for p in sorted(b.proposals.all(), key=lambda p: p.created_at)
        ]
        if closed:
            totals.sort(key=lambda t: -t.total)
        result.append(
            PublicBallot(
                title=b.title,
                opens_at=b.opens_at,
                closes_at=b.closes_at,
                eligibility=b.get_eligibility_display(),
                secret=b.secret,
                quorum=b.quorum,
                is_open=b.opens_at <= now < b.closes_at,
                is_closed=closed,
                participants=b.participant_count,  # type: ignore[attr-defined]
                paper_votes=sum(paper.get((b.id, p.id), 0) for p in b.proposals.all()),
                totals=totals,
            )
        )
    return result
