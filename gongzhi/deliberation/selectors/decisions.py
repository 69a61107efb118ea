"""Reads of ballots, decisions and their follow-up. Every selector that depends on who asks takes the acting user.

Ballot lists come with their results (online + paper) in a constant number of queries whatever the number of ballots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, Prefetch, QuerySet
from django.utils.translation import gettext as _

from gongzhi.activities.models import Activity, ActivityKind, AttendanceStatus
from gongzhi.core.errors import NotFound

from ..models import (
    Ballot,
    BallotParticipation,
    Decision,
    Issue,
    IssueStatus,
    Milestone,
    PaperTally,
    ProgressUpdate,
    SatisfactionRating,
)
from ..services.decisions import BallotResult, ballot_results, ballot_state


@dataclass
class BallotView:
    ballot: Ballot
    result: BallotResult
    state: str  # not_started | open | closed
    my_vote: BallotParticipation | None = None


def _uid(user: Any) -> Any:
    return user.pk if getattr(user, "is_authenticated", False) else None


def _ballots(qs: QuerySet[Ballot], user: Any) -> list[BallotView]:
    ballots = list(qs.select_related("issue", "council").order_by("opens_at", "created_at"))
    results = ballot_results(ballots)
    mine: dict[Any, BallotParticipation] = {}
    uid = _uid(user)
    if uid is not None and ballots:
        mine = {
            p.ballot_id: p
            for p in BallotParticipation.objects.filter(ballot__in=ballots, voter__user_id=uid).only(
                "id", "ballot_id", "source", "created_at"
            )
        }
    return [BallotView(b, results[b.pk], ballot_state(b), mine.get(b.pk)) for b in ballots]


def ballots_of_issue(*, user: Any, issue: Issue) -> list[BallotView]:
    """The issue's ballots the user may see, each with its result and the user's own participation. Four queries
    (ballots, proposals, online counts, paper sums) plus one for the user's participations."""
    views = _ballots(Ballot.objects.filter(issue=issue), user)
    return [v for v in views if user.has_perm("deliberation.view_ballot", v.ballot)]


def ballots_open_for_me(*, user: Any) -> list[BallotView]:
    """Ballots of the resident's community (or of a council they sit on) that are open or not yet started."""
    from django.db.models import Q
    from django.utils import timezone

    from ..rules.decisions import _member_org_ids
    from ..rules.issues import resident_community

    community = resident_community(user)
    councils = _member_org_ids(user)
    if community is None and not councils:
        return []
    q = Q(council_id__in=list(councils), eligibility="council")
    if community is not None:
        q |= Q(issue__community_id=community, eligibility="community")
    qs = Ballot.objects.filter(q, closes_at__gt=timezone.now(), issue__status=IssueStatus.DISCUSSING)
    return _ballots(qs, user)


def ballot_get(*, user: Any, ballot_id: Any, perm: str = "deliberation.view_ballot") -> Ballot:
    """A ballot the user may see (or act on with ``perm``); any other does not exist for them."""
    try:
        ballot = Ballot.objects.select_related("issue", "issue__community", "council").filter(pk=ballot_id).first()
    except (ValueError, ValidationError):
        ballot = None
    if ballot is None or not user.has_perm(perm, ballot):
        raise NotFound(_("找不到该表决"))
    return ballot


def ballot_view(*, user: Any, ballot: Ballot) -> BallotView:
    return _ballots(Ballot.objects.filter(pk=ballot.pk), user)[0]


def my_vote(*, user: Any, ballot: Ballot) -> BallotParticipation | None:
    """Whether (and how) the logged-in user has voted on this ballot: their participation row, never their choice."""
    uid = _uid(user)
    if uid is None:
        return None
    return BallotParticipation.objects.filter(ballot=ballot, voter__user_id=uid).first()


def paper_tallies(*, ballot: Ballot) -> QuerySet[PaperTally]:
    return (
        PaperTally.objects.filter(ballot=ballot)
        .select_related("proposal", "meeting", "entered_by")
        .order_by("meeting__starts_at", "proposal__created_at")
    )


def meetings_for(*, issue: Issue) -> QuerySet[Activity]:
    """Deliberation meetings usable as evidence for the issue: linked to it, or held in its community; with the
    present count."""
    from django.db.models import Q

    return (
        Activity.objects.filter(
            Q(issue_links__issue=issue) | Q(place_id=issue.community_id), kind=ActivityKind.DELIBERATION_MEETING
        )
        .annotate(present=Count("attendances", filter=Q(attendances__status=AttendanceStatus.PRESENT), distinct=True))
        .distinct()
        .order_by("-starts_at")
    )


def decision_of(*, issue: Issue) -> Decision | None:
    """The issue's decision with its ballot, adopted proposal and meeting (one query), or None."""
    return Decision.objects.select_related("ballot", "adopted", "meeting").filter(issue=issue).first()


def milestones_of(*, issue: Issue) -> list[Milestone]:
    """Milestones with their progress updates (two queries)."""
    return list(
        Milestone.objects.filter(issue=issue)
        .prefetch_related(Prefetch("progress_updates", queryset=ProgressUpdate.objects.order_by("-created_at")))
        .order_by("due_on", "created_at")
    )


def progress_of(*, issue: Issue) -> QuerySet[ProgressUpdate]:
    return ProgressUpdate.objects.filter(issue=issue).select_related("milestone").order_by("-created_at")


def ratings_summary(*, issue: Issue) -> dict[str, Any]:
    agg = SatisfactionRating.objects.filter(issue=issue).aggregate(n=Count("id"), avg=Avg("score"))
    return {"count": agg["n"] or 0, "average": round(agg["avg"], 1) if agg["avg"] is not None else None}


def my_rating(*, user: Any, issue: Issue) -> SatisfactionRating | None:
    uid = _uid(user)
    if uid is None:
        return None
    return SatisfactionRating.objects.filter(issue=issue, resident__user_id=uid).first()
