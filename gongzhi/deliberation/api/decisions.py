"""Decisions API: ballots (open, read, results, audit), votes and receipts, paper votes, the published decision,
milestones, public progress, closure and satisfaction ratings.

A ballot or issue the caller may not see does not exist for them (404). Totals always count online and paper votes.
Error codes of a vote: not_open, closed, not_eligible (403), already_voted (409), no_resident.
"""

import datetime
import uuid
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.responses import Status

from gongzhi.core.api import ApiRequest, errors
from gongzhi.core.errors import DomainError, NotFound, PermissionDenied
from gongzhi.people.models import Resident

from ..models import Ballot, DecisionMethod, Eligibility, Issue, Milestone
from ..selectors import decisions as selectors
from ..selectors import issues as issue_selectors
from ..services import decisions as services
from ..services.decisions import BallotResult
from .base import router

# --- schemas ----------------------------------------------------------------------------------------------------


class ProposalTotalOut(Schema):
    proposal_id: uuid.UUID
    title: str
    online: int
    paper: int
    total: int


class ResultOut(Schema):
    online: int = Field(..., description="线上票数")
    paper: int = Field(..., description="纸质票数（工作人员按会议录入）")
    participation: int = Field(..., description="参与人数：线上 + 纸质")
    quorum: int
    quorum_met: bool
    winners: list[uuid.UUID] = Field(..., description="得票最多的方案（并列时多个）")
    tie: bool
    proposals: list[ProposalTotalOut]


class MyVoteOut(Schema):
    voted: bool
    source: str | None = Field(None, description="online 或 paper")
    at: datetime.datetime | None = None


class BallotOut(Schema):
    id: uuid.UUID
    issue_id: uuid.UUID
    title: str
    eligibility: Eligibility
    council_id: uuid.UUID | None
    council_name: str
    opens_at: datetime.datetime
    closes_at: datetime.datetime
    quorum: int
    secret: bool
    state: str = Field(..., description="not_started、open 或 closed")
    result: ResultOut | None = Field(None, description="结果；居民在截止前看不到各方案票数")
    my_vote: MyVoteOut


class BallotIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    proposal_ids: list[uuid.UUID] = Field(..., min_length=2, description="候选方案（本议题的，至少两个）")
    opens_at: datetime.datetime
    closes_at: datetime.datetime
    eligibility: Eligibility = Eligibility.COMMUNITY
    council_id: uuid.UUID | None = Field(None, description="议事会成员表决时必填：议事会（组织）")
    quorum: int = Field(0, ge=0)
    secret: bool = False


class VoteIn(Schema):
    proposal_id: uuid.UUID


class VoteOut(Schema):
    receipt: str = Field(..., description="投票回执：凭它核对选票已计入")
    message: str


class PaperCountIn(Schema):
    proposal_id: uuid.UUID
    count: int = Field(..., ge=0)


class PaperVotesIn(Schema):
    meeting_id: uuid.UUID = Field(..., description="清点纸质票的议事会议（活动）")
    counts: list[PaperCountIn] = Field(..., min_length=1)
    voter_refs: list[str] = Field([], description="可选：纸质投票人的居民编号")


class AuditOut(Schema):
    consistent: bool
    participations: int
    online_participations: int
    paper_participations: int
    online_votes: int
    paper_votes: int
    receipts: list[dict[str, str]] = Field(..., description="回执号与所选方案，不含投票人")


class ReceiptOut(Schema):
    receipt: str
    counted: bool
    ballot_id: uuid.UUID
    ballot_title: str
    proposal_title: str


class DecisionIn(Schema):
    method: DecisionMethod
    text: str = Field(..., min_length=1, max_length=5000)
    body: str = Field(..., min_length=1, max_length=100)
    decided_on: datetime.date
    ballot_id: uuid.UUID | None = None
    adopted_id: uuid.UUID | None = None
    meeting_id: uuid.UUID | None = None


class DecisionOut(Schema):
    id: uuid.UUID
    issue_id: uuid.UUID
    method: DecisionMethod
    text: str
    result: str
    body: str
    decided_on: datetime.date
    ballot_id: uuid.UUID | None
    adopted_id: uuid.UUID | None
    meeting_id: uuid.UUID | None
    published_at: datetime.datetime | None


class MilestoneIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    responsible: str = Field(..., min_length=1, max_length=100)
    due_on: datetime.date


class MilestoneDoneIn(Schema):
    done_on: datetime.date | None = None


class MilestoneOut(Schema):
    id: uuid.UUID
    issue_id: uuid.UUID
    title: str
    responsible: str
    due_on: datetime.date
    done_on: datetime.date | None


class ProgressIn(Schema):
    body: str = Field(..., min_length=1, max_length=5000)
    milestone_id: uuid.UUID | None = None


class ProgressOut(Schema):
    id: uuid.UUID
    issue_id: uuid.UUID
    milestone_id: uuid.UUID | None
    body: str
    created_at: datetime.datetime


class ImplementationOut(Schema):
    issue_id: uuid.UUID
    status: str
    decision: DecisionOut | None
    milestones: list[MilestoneOut]
    progress: list[ProgressOut]
    rating_count: int
    rating_average: float | None


class ClosureIn(Schema):
    reason: str = Field("", max_length=300)


class IssueStatusOut(Schema):
    issue_id: uuid.UUID
    status: str


class RatingIn(Schema):
    score: int = Field(..., ge=1, le=5)
    comment: str = Field("", max_length=300)


class RatingOut(Schema):
    issue_id: uuid.UUID
    score: int
    comment: str
    created_at: datetime.datetime


# --- helpers ----------------------------------------------------------------------------------------------------


def _issue(request: ApiRequest, issue_id: uuid.UUID, perm: str) -> Issue:
    issue = issue_selectors.issue_get(user=request.auth, issue_id=issue_id)
    if not request.auth.has_perm(perm, issue):
        raise PermissionDenied(_("您无权执行此操作"))
    return issue


def _ballot(request: ApiRequest, ballot_id: uuid.UUID, perm: str = "deliberation.view_ballot") -> Ballot:
    ballot = selectors.ballot_get(user=request.auth, ballot_id=ballot_id)
    if perm != "deliberation.view_ballot" and not request.auth.has_perm(perm, ballot):
        raise PermissionDenied(_("您无权执行此操作"))
    return ballot


def _result_out(result: BallotResult) -> dict[str, Any]:
    return {
        "online": result.online,
        "paper": result.paper,
        "participation": result.participation,
        "quorum": result.ballot.quorum,
        "quorum_met": result.quorum_met,
        "winners": [p.pk for p in result.winners],
        "tie": result.tie,
        "proposals": [
            {
                "proposal_id": r.proposal.pk,
                "title": r.proposal.title,
                "online": r.online,
                "paper": r.paper,
                "total": r.total,
            }
            for r in result.rows
        ],
    }


def _ballot_out(request: ApiRequest, view: selectors.BallotView) -> dict[str, Any]:
    b = view.ballot
    staff = request.auth.has_perm("deliberation.audit_ballot", b)
    return {
        "id": b.pk,
        "issue_id": b.issue_id,
        "title": b.title,
        "eligibility": b.eligibility,
        "council_id": b.council_id,
        "council_name": b.council.name if b.council else "",
        "opens_at": b.opens_at,
        "closes_at": b.closes_at,
        "quorum": b.quorum,
        "secret": b.secret,
        "state": view.state,
        "result": _result_out(view.result) if staff or view.state == "closed" else None,
        "my_vote": {
            "voted": view.my_vote is not None,
            "source": view.my_vote.source if view.my_vote else None,
            "at": view.my_vote.created_at if view.my_vote else None,
        },
    }


def _one(model: Any, pk: Any, field: str, message: str, **filters: Any) -> Any:
    found = model.objects.filter(pk=pk, **filters).first() if pk else None
    if pk and found is None:
        raise DomainError(_("提交的数据有误"), fields={field: [message]})
    return found


# --- ballots ----------------------------------------------------------------------------------------------------


@router.get(
    "/issues/{issue_id}/ballots",
    response={200: list[BallotOut], **errors(401, 404, 422)},
    summary="议题的表决（含结果）",
)
def ballot_list(request: ApiRequest, issue_id: uuid.UUID) -> Any:
    issue = issue_selectors.issue_get(user=request.auth, issue_id=issue_id)
    return [_ballot_out(request, v) for v in selectors.ballots_of_issue(user=request.auth, issue=issue)]


@router.post(
    "/issues/{issue_id}/ballots",
    response={201: BallotOut, **errors(400, 401, 403, 404, 422)},
    summary="发起表决",
    description="议题须在议事中；至少两个本议题的方案；议事会成员表决须指定议事会。",
)
def ballot_open(request: ApiRequest, issue_id: uuid.UUID, payload: BallotIn) -> Any:
    from gongzhi.organizations.models import Organization

    issue = _issue(request, issue_id, "deliberation.add_ballot")
    proposals = list(issue.proposals.filter(pk__in=payload.proposal_ids))
    if len(proposals) != len(set(payload.proposal_ids)):
        raise DomainError(_("提交的数据有误"), fields={"proposal_ids": [_("只能选择本议题的方案")]})
    council = _one(Organization, payload.council_id, "council_id", _("找不到该议事会"))
    ballot = services.ballot_open(
        actor=request.auth,
        issue=issue,
        title=payload.title,
        proposals=proposals,
        opens_at=payload.opens_at,
        closes_at=payload.closes_at,
        eligibility=payload.eligibility,
        council=council,
        quorum=payload.quorum,
        secret=payload.secret,
    )
    return Status(201, _ballot_out(request, selectors.ballot_view(user=request.auth, ballot=ballot)))


@router.get("/ballots/{ballot_id}", response={200: BallotOut, **errors(401, 404, 422)}, summary="一次表决")
def ballot_detail(request: ApiRequest, ballot_id: uuid.UUID) -> Any:
    ballot = _ballot(request, ballot_id)
    return _ballot_out(request, selectors.ballot_view(user=request.auth, ballot=ballot))


@router.get(
    "/ballots/{ballot_id}/result",
    response={200: ResultOut, **errors(401, 403, 404, 422)},
    summary="表决结果（线上 + 纸质）",
    description="工作人员随时可看；居民在截止后可看。",
)
def ballot_result(request: ApiRequest, ballot_id: uuid.UUID) -> Any:
    ballot = _ballot(request, ballot_id)
    view = selectors.ballot_view(user=request.auth, ballot=ballot)
    if view.state != "closed" and not request.auth.has_perm("deliberation.audit_ballot", ballot):
        raise PermissionDenied(_("投票截止后公布结果"), code="not_closed")
    return _result_out(view.result)


@router.post(
    "/ballots/{ballot_id}/votes",
    response={201: VoteOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="投票",
    description="每人一票；重复投票返回 409 already_voted。无记名投票不记录投票人与所选方案的对应。",
)
def vote(request: ApiRequest, ballot_id: uuid.UUID, payload: VoteIn) -> Any:
    ballot = _ballot(request, ballot_id)
    proposal = ballot.proposals.filter(pk=payload.proposal_id).first()
    if proposal is None:
        raise DomainError(_("提交的数据有误"), fields={"proposal_id": [_("请选择本次表决的一个方案")]})
    receipt = services.vote_cast(user=request.auth, ballot=ballot, proposal=proposal)
    return Status(201, {"receipt": receipt, "message": _("投票成功")})


@router.put(
    "/ballots/{ballot_id}/paper-votes",
    response={200: ResultOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="录入纸质票",
    description="按会议录入各方案的纸质票数；同一会议再次录入会更正原数字。票数不能多于会议出席人数。",
)
def paper_votes(request: ApiRequest, ballot_id: uuid.UUID, payload: PaperVotesIn) -> Any:
    from gongzhi.activities.models import Activity

    ballot = _ballot(request, ballot_id, "deliberation.enter_paper_votes")
    meeting = _one(Activity, payload.meeting_id, "meeting_id", _("找不到该会议"))
    proposals = {p.pk: p for p in ballot.proposals.all()}
    missing = [str(c.proposal_id) for c in payload.counts if c.proposal_id not in proposals]
    if missing:
        raise DomainError(
            _("提交的数据有误"), fields={"counts": [_("不是本次表决的方案：%(ids)s") % {"ids": "、".join(missing)}]}
        )
    refs = list(dict.fromkeys(r.strip() for r in payload.voter_refs if r.strip()))
    found = {r.ref: r for r in Resident.objects.filter(ref__in=refs)}
    unknown = [ref for ref in refs if ref not in found]
    if unknown:
        raise DomainError(
            _("提交的数据有误"),
            fields={"voter_refs": [_("找不到编号为 %(refs)s 的居民") % {"refs": "、".join(unknown)}]},
        )
    services.paper_votes_enter(
        actor=request.auth,
        ballot=ballot,
        meeting=meeting,
        counts={proposals[c.proposal_id]: c.count for c in payload.counts},
        voters=[found[ref] for ref in refs],
    )
    return _result_out(services.ballot_result(ballot))


@router.get(
    "/ballots/{ballot_id}/audit",
    response={200: AuditOut, **errors(401, 403, 404, 422)},
    summary="表决核验",
    description="参与人数与选票数是否一致；回执清单不含投票人。",
)
def ballot_audit(request: ApiRequest, ballot_id: uuid.UUID) -> Any:
    ballot = _ballot(request, ballot_id, "deliberation.audit_ballot")
    audit = services.ballot_audit(ballot)
    return {
        "consistent": audit.consistent,
        "participations": audit.participations,
        "online_participations": audit.online_participations,
        "paper_participations": audit.paper_participations,
        "online_votes": audit.online_votes,
        "paper_votes": audit.paper_votes,
        "receipts": [{"receipt": r, "proposal": t} for r, t in audit.receipts],
    }


@router.get("/receipts/{receipt}", response={200: ReceiptOut, **errors(401, 404, 422)}, summary="核对投票回执")
def receipt_verify(request: ApiRequest, receipt: str) -> Any:
    check = services.vote_verify(receipt)
    return {
        "receipt": check.receipt,
        "counted": check.counted,
        "ballot_id": check.ballot.pk,
        "ballot_title": check.ballot.title,
        "proposal_title": check.proposal.title,
    }


# --- the decision -----------------------------------------------------------------------------------------------


@router.post(
    "/issues/{issue_id}/decision",
    response={201: DecisionOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="发布决定",
    description="投票表决：表决须已截止且达到最低参与人数，结果文字含线上和纸质票；会议协商一致：须指定有出席记录的议事会议。",
)
def decision_publish(request: ApiRequest, issue_id: uuid.UUID, payload: DecisionIn) -> Any:
    from gongzhi.activities.models import Activity

    from ..models import Proposal

    issue = _issue(request, issue_id, "deliberation.publish_decision")
    decision = services.decision_publish(
        actor=request.auth,
        issue=issue,
        method=payload.method,
        text=payload.text,
        body=payload.body,
        decided_on=payload.decided_on,
        ballot=_one(Ballot, payload.ballot_id, "ballot_id", _("找不到该表决"), issue=issue),
        adopted=_one(Proposal, payload.adopted_id, "adopted_id", _("找不到该方案"), issue=issue),
        meeting=_one(Activity, payload.meeting_id, "meeting_id", _("找不到该会议")),
    )
    return Status(201, decision)


def _implementation(issue: Issue) -> dict[str, Any]:
    ratings = selectors.ratings_summary(issue=issue)
    return {
        "issue_id": issue.pk,
        "status": issue.status,
        "decision": selectors.decision_of(issue=issue),
        "milestones": selectors.milestones_of(issue=issue),
        "progress": list(selectors.progress_of(issue=issue)[:200]),
        "rating_count": ratings["count"],
        "rating_average": ratings["average"],
    }


@router.get(
    "/issues/{issue_id}/decision",
    response={200: ImplementationOut, **errors(401, 404, 422)},
    summary="决定与落实（节点、进展、满意度）",
)
def decision_detail(request: ApiRequest, issue_id: uuid.UUID) -> Any:
    issue = issue_selectors.issue_get(user=request.auth, issue_id=issue_id)
    return _implementation(issue)


@router.post(
    "/issues/{issue_id}/milestones",
    response={201: MilestoneOut, **errors(400, 401, 403, 404, 422)},
    summary="添加落实节点",
)
def milestone_add(request: ApiRequest, issue_id: uuid.UUID, payload: MilestoneIn) -> Any:
    issue = _issue(request, issue_id, "deliberation.manage_milestone")
    milestone = services.milestone_add(
        actor=request.auth, issue=issue, title=payload.title, responsible=payload.responsible, due_on=payload.due_on
    )
    return Status(201, milestone)


@router.post(
    "/milestones/{milestone_id}/done",
    response={200: MilestoneOut, **errors(400, 401, 403, 404, 422)},
    summary="节点完成",
)
def milestone_done(request: ApiRequest, milestone_id: uuid.UUID, payload: MilestoneDoneIn) -> Any:
    milestone = Milestone.objects.select_related("issue").filter(pk=milestone_id).first()
    if milestone is None:
        raise NotFound(_("找不到该节点"))
    _issue(request, milestone.issue_id, "deliberation.manage_milestone")
    return services.milestone_done(actor=request.auth, milestone=milestone, done_on=payload.done_on)


@router.post(
    "/issues/{issue_id}/progress",
    response={201: ProgressOut, **errors(400, 401, 403, 404, 422)},
    summary="发布进展（公开）",
)
def progress_post(request: ApiRequest, issue_id: uuid.UUID, payload: ProgressIn) -> Any:
    issue = _issue(request, issue_id, "deliberation.manage_milestone")
    milestone = _one(Milestone, payload.milestone_id, "milestone_id", _("找不到该节点"), issue=issue)
    return Status(201, services.progress_post(actor=request.auth, issue=issue, body=payload.body, milestone=milestone))


@router.post(
    "/issues/{issue_id}/implementation",
    response={200: IssueStatusOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="开始落实",
)
def implementation_start(request: ApiRequest, issue_id: uuid.UUID) -> Any:
    issue = _issue(request, issue_id, "deliberation.manage_milestone")
    issue = services.implementation_start(actor=request.auth, issue=issue)
    return {"issue_id": issue.pk, "status": issue.status}


@router.post(
    "/issues/{issue_id}/closure",
    response={200: IssueStatusOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="办结议题",
    description="议题须在落实中，且全部节点已完成。",
)
def issue_close(request: ApiRequest, issue_id: uuid.UUID, payload: ClosureIn) -> Any:
    issue = _issue(request, issue_id, "deliberation.manage_milestone")
    issue = services.issue_close(actor=request.auth, issue=issue, reason=payload.reason)
    return {"issue_id": issue.pk, "status": issue.status}


@router.post(
    "/issues/{issue_id}/ratings",
    response={201: RatingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="满意度评价",
    description="本社区居民在议题办结后评价一次（1–5 分）。",
)
def rating_add(request: ApiRequest, issue_id: uuid.UUID, payload: RatingIn) -> Any:
    issue = _issue(request, issue_id, "deliberation.rate_issue")
    rating = services.satisfaction_rate(user=request.auth, issue=issue, score=payload.score, comment=payload.comment)
    return Status(201, rating)
