"""Deciding and carrying out (民决、民治): ballots, online and paper votes, consensus at a meeting, the published
decision, milestones, public progress, closure and residents' satisfaction.

Every total counts online votes and the paper votes staff enter from a meeting alike. One vote per person and ballot is
decided by the database (``ballot_one_vote_per_person``), never by a check before the insert. In a secret ballot the
``Vote`` row carries no voter and the participation row carries no choice; a random receipt lets a voter check that
their vote is counted.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.activities.models import Activity, ActivityKind, Attendance, AttendanceStatus
from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, NotFound, PermissionDenied, invalid
from gongzhi.organizations.models import Membership, Organization
from gongzhi.people.models import Resident
from gongzhi.places import codes

from ..models import (
    Ballot,
    BallotParticipation,
    Decision,
    DecisionMethod,
    Eligibility,
    Issue,
    IssueAction,
    IssueActionKind,
    IssueSession,
    IssueStatus,
    Milestone,
    PaperTally,
    ProgressUpdate,
    Proposal,
    SatisfactionRating,
    Vote,
)

ONLINE = "online"
PAPER = "paper"


def _fail(field_name: str, message: str, *, code: str = "invalid", cls: type[DomainError] = DomainError) -> DomainError:
    return cls(message, fields={field_name: [message]}, code=code)


def _locked_issue(issue: Issue) -> Issue:
    return Issue.objects.select_for_update().get(pk=issue.pk)


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


# --- the status move to "decided" / "implementing" / "closed" --------------------------------------------------


def _move(*, actor: Any, issue: Issue, to_status: str, reason: str, on: datetime.date) -> Issue:
    """Move the issue one legal step through the issues service (status, its date, the history row, the audit)."""
    from .issues import issue_transition

    return issue_transition(actor=actor, issue=issue, to_status=to_status, reason=reason, on=on)


# --- eligibility ------------------------------------------------------------------------------------------------


def _eligible(ballot: Ballot, resident: Resident, *, on: datetime.date) -> bool:
    if ballot.eligibility == Eligibility.COUNCIL:
        if ballot.council_id is None:
            return False
        return Membership.objects.filter(
            organization_id=ballot.council_id, resident=resident, left_on__isnull=True
        ).exists()
    lives_there = resident.community_id == ballot.issue.community_id
    return lives_there and (resident.left_on is None or resident.left_on > on) and resident.erased_at is None


def _ineligible_message(ballot: Ballot) -> str:
    if ballot.eligibility == Eligibility.COUNCIL:
        return _("本次表决只限%(council)s的现任成员参加") % {"council": ballot.council.name if ballot.council else ""}
    return _("本次表决只限本社区居民参加")


# --- ballots ----------------------------------------------------------------------------------------------------


@transaction.atomic
def ballot_open(
    *,
    actor: Any,
    issue: Issue,
    title: str,
    proposals: Sequence[Proposal],
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    eligibility: str = Eligibility.COMMUNITY,
    council: Organization | None = None,
    quorum: int = 0,
    secret: bool = False,
) -> Ballot:
    """Staff open a vote on an issue in discussion, on two or more of its proposals."""
    issue = _locked_issue(issue)
    if issue.status != IssueStatus.DISCUSSING:
        raise _fail("issue", _("只有议事中的议题才能发起表决"), code="not_discussing")
    errors: dict[str, list[str]] = {}
    chosen = {p.pk: p for p in proposals}
    valid_ids = set(
        Proposal.objects.filter(pk__in=list(chosen), issue=issue, withdrawn_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if set(chosen) - valid_ids:
        errors["proposals"] = [_("只能选择本议题未撤回的方案")]
    elif len(valid_ids) < 2:
        errors["proposals"] = [_("请至少选择两个方案")]
    if not (title or "").strip():
        errors["title"] = [_("必填")]
    if opens_at and closes_at and closes_at <= opens_at:
        errors["closes_at"] = [_("截止时间必须晚于开始时间")]
    if eligibility not in Eligibility.values:
        errors["eligibility"] = [_("不是可选的值")]
    elif eligibility == Eligibility.COUNCIL:
        if council is None:
            errors["council"] = [_("议事会成员表决须选择议事会")]
        elif not issue.community_id.startswith(codes.prefix_of(council.place_id)):
            errors["council"] = [_("议事会须属于本社区或其所在街道")]
    if quorum is None or quorum < 0:
        errors["quorum"] = [_("不能为负数")]
    if errors:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields=errors)
    ballot = Ballot(
        issue=issue,
        title=title.strip(),
        eligibility=eligibility,
        council=council if eligibility == Eligibility.COUNCIL else None,
        opens_at=opens_at,
        closes_at=closes_at,
        quorum=quorum,
        secret=secret,
    )
    try:
        ballot.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    ballot.save(force_insert=True)
    ballot.proposals.set([chosen[pk] for pk in valid_ids])
    audit_record(
        actor=actor,
        action="create",
        target_type="ballot",
        target_id=str(ballot.pk),
        place_code=issue.community_id,
        summary=f"发起表决 {ballot.title}",
    )
    return ballot


def ballot_state(ballot: Ballot, *, now: datetime.datetime | None = None) -> str:
    """``not_started``, ``open`` or ``closed`` (the window is [opens_at, closes_at))."""
    at = _now(now)
    if at < ballot.opens_at:
        return "not_started"
    return "open" if at < ballot.closes_at else "closed"


@transaction.atomic
def vote_cast(*, user: Any, ballot: Ballot, proposal: Proposal, now: datetime.datetime | None = None) -> str:
    """A logged-in eligible resident votes once. Returns the vote's receipt.

    A second vote (a double click, concurrent requests) is refused by the unique constraint on the participation row:
    ``Conflict`` with code ``already_voted``; nothing is written by the refused call.
    """
    from gongzhi.people.selectors import resident_of_user

    at = _now(now)
    resident = resident_of_user(user=user)
    if resident is None:
        raise _fail("ballot", _("您的账号还没有关联居民信息，请联系社区工作人员"), code="no_resident")
    ballot = Ballot.objects.select_related("issue", "council").get(pk=ballot.pk)
    if not ballot.proposals.filter(pk=proposal.pk).exists():
        raise _fail("proposal", _("请选择本次表决的一个方案"))
    state = ballot_state(ballot, now=at)
    if state == "not_started":
        raise _fail("ballot", _("投票尚未开始"), code="not_open")
    if state == "closed":
        raise _fail("ballot", _("投票已经截止"), code="closed")
    if not _eligible(ballot, resident, on=timezone.localdate(at)):
        raise _fail("ballot", _ineligible_message(ballot), code="not_eligible", cls=PermissionDenied)
    try:
        with transaction.atomic():
            BallotParticipation.objects.create(ballot=ballot, voter=resident, source=ONLINE)
    except IntegrityError as exc:
        raise Conflict(
            _("您已投过票，每人只能投一次"), fields={"ballot": [_("您已投过票")]}, code="already_voted"
        ) from exc
    vote = Vote.objects.create(
        ballot=ballot,
        proposal=proposal,
        voter=None if ballot.secret else resident,
        receipt=secrets.token_hex(16),
    )
    if ballot.secret:
        # Nothing may link the choice to the participation, not even the time: the vote keeps the ballot's opening.
        Vote.objects.filter(pk=vote.pk).update(created_at=ballot.opens_at, updated_at=ballot.opens_at)
    IssueAction.objects.create(issue=ballot.issue, resident=resident, action=IssueActionKind.VOTE, at=at)
    return vote.receipt


def _meeting_ok(meeting: Activity, issue: Issue) -> bool:
    if meeting.kind != ActivityKind.DELIBERATION_MEETING:
        return False
    linked = IssueSession.objects.filter(issue=issue, activity=meeting).exists()
    return linked or meeting.place_id == issue.community_id


def _present_count(meeting: Activity) -> int:
    return Attendance.objects.filter(activity=meeting, status=AttendanceStatus.PRESENT).count()


@transaction.atomic
def paper_votes_enter(
    *,
    actor: Any,
    ballot: Ballot,
    meeting: Activity,
    counts: Mapping[Proposal, int],
    voters: Iterable[Resident] = (),
) -> list[PaperTally]:
    """Staff enter the paper votes counted at a deliberation meeting of the issue (its attendance is the evidence).

    Entering the same meeting again replaces its counts (one tally per ballot, proposal and meeting). Listed paper
    voters are recorded as participations; someone who already voted online is refused and nothing is written.
    """
    ballot = Ballot.objects.select_for_update(of=("self",)).select_related("issue", "council").get(pk=ballot.pk)
    issue = ballot.issue
    if issue.status != IssueStatus.DISCUSSING:
        raise _fail("ballot", _("议题已不在议事中，不能再录入纸质票"), code="not_discussing")
    if meeting is None or not _meeting_ok(meeting, issue):
        raise _fail("meeting", _("请选择本议题的议事会议（或本社区的议事会议）"))
    if meeting.starts_at >= ballot.closes_at + datetime.timedelta(days=1) or meeting.starts_at < (
        ballot.opens_at - datetime.timedelta(days=1)
    ):
        raise _fail("meeting", _("会议时间须在投票期间"))
    allowed = set(ballot.proposals.values_list("pk", flat=True))
    errors: list[str] = []
    for proposal, count in counts.items():
        if proposal.pk not in allowed:
            errors.append(_("“%(title)s”不是本次表决的方案") % {"title": proposal.title})
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            errors.append(_("“%(title)s”的票数应为不小于 0 的整数") % {"title": proposal.title})
    if not counts:
        errors.append(_("请填写各方案的票数"))
    if errors:
        raise DomainError(_("纸质票录入有误，没有保存"), fields={"counts": errors})
    total = sum(counts.values())
    present = _present_count(meeting)
    if total > present:
        message = _("纸质票共 %(total)s 张，多于会议出席人数 %(present)s 人；请先补录会议签到") % {
            "total": total,
            "present": present,
        }
        raise _fail("counts", message, code="more_than_present")
    voter_list = list(voters)
    if len(voter_list) > total:
        raise _fail("voters", _("登记的纸质投票人数多于纸质票数"))
    on = timezone.localdate(meeting.starts_at)
    for resident in voter_list:
        if not _eligible(ballot, resident, on=on):
            raise _fail("voters", _("%(name)s 没有本次表决的资格") % {"name": resident.masked_name or resident.ref})
        try:
            with transaction.atomic():
                BallotParticipation.objects.create(ballot=ballot, voter=resident, source=PAPER)
        except IntegrityError:
            source = (
                BallotParticipation.objects.filter(ballot=ballot, voter=resident)
                .values_list("source", flat=True)
                .first()
            )
            if source == ONLINE:
                raise Conflict(
                    _("%(name)s 已在线投票，不能再计纸质票") % {"name": resident.masked_name or resident.ref},
                    fields={"voters": [_("已在线投票：%(ref)s") % {"ref": resident.ref}]},
                    code="already_voted",
                ) from None
    tallies: list[PaperTally] = []
    for proposal, count in counts.items():
        tally = PaperTally.objects.select_for_update().filter(ballot=ballot, proposal=proposal, meeting=meeting).first()
        if tally is None:
            try:
                with transaction.atomic():
                    tally = PaperTally.objects.create(
                        ballot=ballot, proposal=proposal, meeting=meeting, count=count, entered_by=acting_user(actor)
                    )
            except IntegrityError:
                tally = PaperTally.objects.select_for_update().get(ballot=ballot, proposal=proposal, meeting=meeting)
        if tally.count != count:
            tally.count = count
            tally.entered_by = acting_user(actor)
            tally.save(update_fields=["count", "entered_by", "updated_at"])
        tallies.append(tally)
    audit_record(
        actor=actor,
        action="update",
        target_type="ballot",
        target_id=str(ballot.pk),
        place_code=issue.community_id,
        summary=f"录入纸质票 {total} 张（{meeting.title}）",
        changes={"paper": {p.title: c for p, c in counts.items()}, "voters": len(voter_list)},
    )
    return tallies


# --- results ----------------------------------------------------------------------------------------------------


@dataclass
class ProposalTotal:
    proposal: Proposal
    online: int = 0
    paper: int = 0

    @property
    def total(self) -> int:
        return self.online + self.paper


@dataclass
class BallotResult:
    ballot: Ballot
    rows: list[ProposalTotal] = field(default_factory=list)

    @property
    def online(self) -> int:
        return sum(r.online for r in self.rows)

    @property
    def paper(self) -> int:
        return sum(r.paper for r in self.rows)

    @property
    def participation(self) -> int:
        """Everyone who voted: online votes and paper ballots (each paper ballot is one person)."""
        return self.online + self.paper

    @property
    def quorum_met(self) -> bool:
        return self.participation >= self.ballot.quorum

    @property
    def winners(self) -> list[Proposal]:
        best = max((r.total for r in self.rows), default=0)
        if best == 0:
            return []
        return [r.proposal for r in self.rows if r.total == best]

    @property
    def tie(self) -> bool:
        return len(self.winners) > 1

    def text(self) -> str:
        """The published result: every proposal with its online and paper votes, participation against quorum."""
        b = self.ballot
        lines = [
            _("表决事项：%(title)s（%(start)s 至 %(end)s）")
            % {
                "title": b.title,
                "start": timezone.localtime(b.opens_at).strftime("%Y-%m-%d %H:%M"),
                "end": timezone.localtime(b.closes_at).strftime("%Y-%m-%d %H:%M"),
            },
            _("参与 %(n)s 人（线上 %(online)s，纸质 %(paper)s），最低参与人数 %(quorum)s，%(met)s。")
            % {
                "n": self.participation,
                "online": self.online,
                "paper": self.paper,
                "quorum": b.quorum,
                "met": _("已达到") if self.quorum_met else _("未达到"),
            },
        ]
        for r in self.rows:
            lines.append(
                _("%(title)s：%(total)s 票（线上 %(online)s，纸质 %(paper)s）")
                % {"title": r.proposal.title, "total": r.total, "online": r.online, "paper": r.paper}
            )
        if self.tie:
            lines.append(_("得票并列最多：%(titles)s") % {"titles": "、".join(p.title for p in self.winners)})
        elif self.winners:
            lines.append(_("得票最多：%(title)s") % {"title": self.winners[0].title})
        return "\n".join(lines)


def ballot_results(ballots: Sequence[Ballot]) -> dict[Any, BallotResult]:
    """Results of several ballots in three queries (proposals, online counts, paper sums), whatever their number."""
    ids = [b.pk for b in ballots]
    results = {b.pk: BallotResult(ballot=b) for b in ballots}
    index: dict[tuple[Any, Any], ProposalTotal] = {}
    through = Ballot.proposals.through.objects.filter(ballot_id__in=ids).select_related("proposal")
    for link in sorted(through, key=lambda t: (t.proposal.created_at, t.proposal.pk)):
        row = ProposalTotal(proposal=link.proposal)
        results[link.ballot_id].rows.append(row)
        index[(link.ballot_id, link.proposal_id)] = row
    for ballot_id, proposal_id, n in (
        Vote.objects.filter(ballot_id__in=ids).values_list("ballot_id", "proposal_id").annotate(n=Count("id"))
    ):
        if (ballot_id, proposal_id) in index:
            index[(ballot_id, proposal_id)].online = n
    for ballot_id, proposal_id, n in (
        PaperTally.objects.filter(ballot_id__in=ids).values_list("ballot_id", "proposal_id").annotate(n=Sum("count"))
    ):
        if (ballot_id, proposal_id) in index:
            index[(ballot_id, proposal_id)].paper = n or 0
    return results


def ballot_result(ballot: Ballot) -> BallotResult:
    return ballot_results([ballot])[ballot.pk]


# --- secret ballot audit ----------------------------------------------------------------------------------------


@dataclass
class BallotAudit:
    participations: int
    online_participations: int
    paper_participations: int
    online_votes: int
    paper_votes: int
    receipts: list[tuple[str, str]]  # (receipt, proposal title) — never who

    @property
    def consistent(self) -> bool:
        """Every online participant cast exactly one vote, and no more paper voters are listed than paper ballots."""
        return self.online_participations == self.online_votes and self.paper_participations <= self.paper_votes


def ballot_audit(ballot: Ballot) -> BallotAudit:
    sources = dict(
        BallotParticipation.objects.filter(ballot=ballot).values_list("source").annotate(n=Count("id")).order_by()
    )
    receipts = list(Vote.objects.filter(ballot=ballot).order_by("receipt").values_list("receipt", "proposal__title"))
    paper = PaperTally.objects.filter(ballot=ballot).aggregate(n=Sum("count"))["n"] or 0
    return BallotAudit(
        participations=sum(sources.values()),
        online_participations=sources.get(ONLINE, 0),
        paper_participations=sources.get(PAPER, 0),
        online_votes=len(receipts),
        paper_votes=paper,
        receipts=receipts,
    )


@dataclass
class ReceiptCheck:
    receipt: str
    ballot: Ballot
    proposal: Proposal
    counted: bool


def vote_verify(receipt: str) -> ReceiptCheck:
    """A voter checks their receipt: which ballot and choice it recorded, and that it is in the count."""
    receipt = (receipt or "").strip().lower()
    vote = (
        Vote.objects.select_related("ballot", "ballot__issue", "proposal").filter(receipt=receipt).first()
        if receipt
        else None
    )
    if vote is None:
        raise NotFound(_("找不到这张回执"), fields={"receipt": [_("找不到这张回执")]})
    return ReceiptCheck(receipt=vote.receipt, ballot=vote.ballot, proposal=vote.proposal, counted=True)


# --- the decision -----------------------------------------------------------------------------------------------


@transaction.atomic
def decision_publish(
    *,
    actor: Any,
    issue: Issue,
    method: str,
    text: str,
    body: str,
    decided_on: datetime.date,
    ballot: Ballot | None = None,
    adopted: Proposal | None = None,
    meeting: Activity | None = None,
    now: datetime.datetime | None = None,
) -> Decision:
    """Publish the decision on an issue in discussion — by a closed ballot whose quorum is met (the result text counts
    online and paper votes) or by consensus at a meeting (its attendance is the evidence) — and mark it decided."""
    at = _now(now)
    issue = _locked_issue(issue)
    if issue.status != IssueStatus.DISCUSSING:
        raise _fail("issue", _("只有议事中的议题才能发布决定"), code="not_discussing")
    errors: dict[str, list[str]] = {}
    if not (text or "").strip():
        errors["text"] = [_("必填")]
    if not (body or "").strip():
        errors["body"] = [_("必填")]
    if decided_on is None:
        errors["decided_on"] = [_("必填")]
    elif decided_on > timezone.localdate(at):
        errors["decided_on"] = [_("不能晚于今天")]
    if method not in DecisionMethod.values:
        errors["method"] = [_("不是可选的值")]
    if adopted is not None and adopted.issue_id != issue.pk:
        errors["adopted"] = [_("只能选择本议题的方案")]
    if errors:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields=errors)
    result_text = ""
    if method == DecisionMethod.VOTE:
        if ballot is None or ballot.issue_id != issue.pk:
            raise _fail("ballot", _("请选择本议题的一次表决"))
        ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
        if ballot_state(ballot, now=at) != "closed":
            raise _fail("ballot", _("表决尚未截止，不能发布结果"), code="not_closed")
        result = ballot_result(ballot)
        if not result.quorum_met:
            raise _fail(
                "ballot",
                _("参与人数 %(n)s 未达到最低参与人数 %(quorum)s，表决无效")
                % {"n": result.participation, "quorum": ballot.quorum},
                code="quorum_not_met",
            )
        if adopted is None:
            if result.tie:
                raise _fail("adopted", _("得票并列，请选择采纳的方案"))
            adopted = result.winners[0] if result.winners else None
        elif adopted not in result.winners:
            raise _fail("adopted", _("采纳的方案须是得票最多的方案"))
        result_text = result.text()
        meeting = None
    else:
        if meeting is None or not _meeting_ok(meeting, issue):
            raise _fail("meeting", _("协商一致须选择本议题的议事会议"))
        present = _present_count(meeting)
        if present == 0:
            raise _fail("meeting", _("会议还没有出席记录，请先录入签到"), code="no_attendance")
        result_text = _("%(date)s %(title)s 会议协商一致，出席 %(n)s 人。") % {
            "date": timezone.localtime(meeting.starts_at).strftime("%Y-%m-%d"),
            "title": meeting.title,
            "n": present,
        }
        if adopted is not None:
            result_text += _("采纳方案：%(title)s") % {"title": adopted.title}
        ballot = None
    decision = Decision(
        issue=issue,
        method=method,
        text=text.strip(),
        result=result_text,
        body=body.strip(),
        decided_on=decided_on,
        ballot=ballot,
        adopted=adopted,
        meeting=meeting,
        published_at=at,
    )
    try:
        decision.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            decision.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(_("该议题已经发布过决定"), fields={"issue": [_("已有决定")]}, code="already_decided") from exc
    _move(actor=actor, issue=issue, to_status=IssueStatus.DECIDED, reason=_("发布决定"), on=decided_on)
    audit_record(
        actor=actor,
        action="create",
        target_type="decision",
        target_id=str(decision.pk),
        place_code=issue.community_id,
        summary=f"发布决定 {issue.title}",
    )
    return decision


# --- carrying it out --------------------------------------------------------------------------------------------

CARRYING_OUT = (IssueStatus.DECIDED, IssueStatus.IMPLEMENTING)


@transaction.atomic
def implementation_start(*, actor: Any, issue: Issue, on: datetime.date | None = None) -> Issue:
    """A decided issue starts being carried out."""
    issue = _locked_issue(issue)
    if issue.status != IssueStatus.DECIDED:
        raise _fail("issue", _("只有已决策的议题才能开始落实"), code="illegal_transition")
    issue = _move(
        actor=actor,
        issue=issue,
        to_status=IssueStatus.IMPLEMENTING,
        reason=_("开始落实"),
        on=on or timezone.localdate(),
    )
    return issue


@transaction.atomic
def milestone_add(*, actor: Any, issue: Issue, title: str, responsible: str, due_on: datetime.date) -> Milestone:
    issue = _locked_issue(issue)
    if issue.status not in CARRYING_OUT:
        raise _fail("issue", _("只有已决策或落实中的议题才能添加节点"), code="not_decided")
    milestone = Milestone(
        issue=issue, title=(title or "").strip(), responsible=(responsible or "").strip(), due_on=due_on
    )
    try:
        milestone.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    milestone.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="milestone",
        target_id=str(milestone.pk),
        place_code=issue.community_id,
        summary=f"{issue.title}：{milestone.title}",
    )
    return milestone


@transaction.atomic
def milestone_done(*, actor: Any, milestone: Milestone, done_on: datetime.date | None = None) -> Milestone:
    milestone = Milestone.objects.select_for_update().select_related("issue").get(pk=milestone.pk)
    if milestone.issue.status not in CARRYING_OUT:
        raise _fail("milestone", _("议题不在落实阶段"), code="not_implementing")
    done_on = done_on or timezone.localdate()
    if done_on > timezone.localdate():
        raise _fail("done_on", _("不能晚于今天"))
    if milestone.done_on != done_on:
        milestone.done_on = done_on
        milestone.save(update_fields=["done_on", "updated_at"])
        audit_record(
            actor=actor,
            action="update",
            target_type="milestone",
            target_id=str(milestone.pk),
            place_code=milestone.issue.community_id,
            summary=f"完成节点 {milestone.title}",
        )
    return milestone


@transaction.atomic
def progress_post(*, actor: Any, issue: Issue, body: str, milestone: Milestone | None = None) -> ProgressUpdate:
    """A public progress update (shown on the public pages: no personal data belongs in it)."""
    issue = _locked_issue(issue)
    if issue.status not in CARRYING_OUT:
        raise _fail("issue", _("只有已决策或落实中的议题才能发布进展"), code="not_decided")
    if milestone is not None and milestone.issue_id != issue.pk:
        raise _fail("milestone", _("只能选择本议题的节点"))
    update = ProgressUpdate(issue=issue, milestone=milestone, body=(body or "").strip(), posted_by=acting_user(actor))
    try:
        update.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    update.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="progress_update",
        target_id=str(update.pk),
        place_code=issue.community_id,
        summary=update.body[:100],
    )
    return update


@transaction.atomic
def issue_close(*, actor: Any, issue: Issue, on: datetime.date | None = None, reason: str = "") -> Issue:
    """Close an issue being carried out once all its milestones are done."""
    issue = _locked_issue(issue)
    if issue.status != IssueStatus.IMPLEMENTING:
        raise _fail("issue", _("只有落实中的议题才能办结"), code="illegal_transition")
    open_ones = list(Milestone.objects.filter(issue=issue, done_on__isnull=True).values_list("title", flat=True))
    if open_ones:
        raise _fail(
            "issue", _("还有未完成的节点：%(titles)s") % {"titles": "、".join(open_ones)}, code="milestones_open"
        )
    issue = _move(
        actor=actor,
        issue=issue,
        to_status=IssueStatus.CLOSED,
        reason=(reason or "").strip() or _("全部节点完成，办结"),
        on=on or timezone.localdate(),
    )
    return issue


@transaction.atomic
def satisfaction_rate(*, user: Any, issue: Issue, score: int, comment: str = "") -> SatisfactionRating:
    """A resident of the community rates a closed issue, once (the database decides)."""
    from gongzhi.people.selectors import resident_of_user

    resident = resident_of_user(user=user)
    if resident is None:
        raise _fail("issue", _("您的账号还没有关联居民信息，请联系社区工作人员"), code="no_resident")
    issue = Issue.objects.get(pk=issue.pk)
    if resident.community_id != issue.community_id or resident.left_on is not None:
        raise _fail("issue", _("只有本社区居民才能评价"), code="not_eligible", cls=PermissionDenied)
    if issue.status != IssueStatus.CLOSED:
        raise _fail("issue", _("议题办结后才能评价"), code="not_closed")
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise _fail("score", _("满意度应为 1 到 5 分"))
    rating = SatisfactionRating(issue=issue, resident=resident, score=score, comment=(comment or "").strip())
    try:
        rating.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            rating.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(_("您已评价过"), fields={"score": [_("您已评价过")]}, code="already_rated") from exc
    return rating
