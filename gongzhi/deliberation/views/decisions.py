"""Decision pages: staff open ballots, watch the totals, enter paper votes, publish the decision and follow the
milestones; residents vote on their phones, see the result and rate a closed issue.

URL names (for the issue pages and the journeys): staff — ballot_new, ballot_detail, ballot_totals, paper_votes,
ballot_audit, decision_new, milestones; residents — my_ballots, ballot_vote, ballot_result, issue_rate, receipt_verify.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors as _apply_errors
from gongzhi.organizations.models import Organization, OrganizationStatus
from gongzhi.people.models import Resident

from ..models import Ballot, Issue, IssueStatus
from ..selectors import decisions as selectors
from ..selectors import issues as issue_selectors
from ..services import decisions as services
from . import decision_forms as forms


def _issue(request: HttpRequest, issue_id: Any, perm: str) -> Issue:
    """The issue if the user may see it (else 404) and act on it with ``perm`` (else 403)."""
    try:
        issue = issue_selectors.issue_get(user=request.user, issue_id=issue_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.user.has_perm(perm, issue):
        raise PermissionDenied
    return issue


def _ballot(request: HttpRequest, ballot_id: Any, perm: str = "deliberation.view_ballot") -> Ballot:
    try:
        ballot = selectors.ballot_get(user=request.user, ballot_id=ballot_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if perm != "deliberation.view_ballot" and not request.user.has_perm(perm, ballot):
        raise PermissionDenied
    return ballot


def _proposals(issue: Issue) -> list[Any]:
    return list(issue.proposals.filter(withdrawn_at__isnull=True).order_by("created_at"))


def _councils(issue: Issue) -> list[Organization]:
    """Organisations of the community or its street that may serve as the council of a ballot."""
    street = issue.community_id[:9] + "000"
    return list(
        Organization.objects.filter(place_id__in=[issue.community_id, street], status=OrganizationStatus.ACTIVE)
        .only("id", "name")
        .order_by("name")
    )


def _pick(items: list[Any], value: str) -> Any:
    return next((x for x in items if str(x.pk) == value), None)


# --- staff: ballots ---------------------------------------------------------------------------------------------


@login_required
def ballot_new(request: HttpRequest, issue_id: Any) -> HttpResponse:
    issue = _issue(request, issue_id, "deliberation.add_ballot")
    proposals = _proposals(issue)
    councils = _councils(issue)
    now = timezone.localtime().replace(second=0, microsecond=0)
    form = forms.BallotForm(
        request.POST or None,
        proposals=proposals,
        councils=councils,
        initial={
            "title": issue.title,
            "proposals": [str(p.pk) for p in proposals],
            "opens_at": now,
            "closes_at": now + datetime.timedelta(days=7),
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ballot = services.ballot_open(
                actor=request.user,
                issue=issue,
                title=data["title"],
                proposals=[p for p in proposals if str(p.pk) in data["proposals"]],
                opens_at=data["opens_at"],
                closes_at=data["closes_at"],
                eligibility=data["eligibility"],
                council=_pick(councils, data["council"] or ""),
                quorum=data["quorum"],
                secret=data["secret"],
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已发起表决"))
            return redirect("ballot_detail", ballot_id=ballot.pk)
    return render(
        request,
        "deliberation/decisions/ballot_form.html",
        {"issue": issue, "form": form},
        status=400 if form.errors else 200,
    )


def _ballot_context(request: HttpRequest, ballot: Ballot) -> dict[str, Any]:
    view = selectors.ballot_view(user=request.user, ballot=ballot)
    return {"ballot": ballot, "issue": ballot.issue, "view": view, "result": view.result}


@login_required
def ballot_detail(request: HttpRequest, ballot_id: Any) -> HttpResponse:
    ballot = _ballot(request, ballot_id, "deliberation.audit_ballot")
    context = _ballot_context(request, ballot)
    context["tallies"] = list(selectors.paper_tallies(ballot=ballot))
    context["may_publish"] = ballot.issue.status == IssueStatus.DISCUSSING
    return render(request, "deliberation/decisions/ballot_detail.html", context)


@login_required
def ballot_totals(request: HttpRequest, ballot_id: Any) -> HttpResponse:
    """The live totals (htmx refreshes them every few seconds on the ballot page)."""
    ballot = _ballot(request, ballot_id, "deliberation.audit_ballot")
    response = render(request, "deliberation/decisions/_totals.html", _ballot_context(request, ballot))
    response["Cache-Control"] = "no-store"
    return response


@login_required
def paper_votes(request: HttpRequest, ballot_id: Any) -> HttpResponse:
    ballot = _ballot(request, ballot_id, "deliberation.enter_paper_votes")
    issue = ballot.issue
    meetings = list(selectors.meetings_for(issue=issue))
    proposals = list(ballot.proposals.order_by("created_at"))
    form = forms.PaperVotesForm(request.POST or None, meetings=meetings, proposals=proposals)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        refs = [line.strip() for line in (data["voters"] or "").splitlines() if line.strip()]
        found = {r.ref: r for r in Resident.objects.filter(ref__in=refs)}
        missing = [ref for ref in refs if ref not in found]
        if missing:
            form.add_error("voters", _("找不到编号为 %(refs)s 的居民") % {"refs": "、".join(missing)})
        else:
            try:
                services.paper_votes_enter(
                    actor=request.user,
                    ballot=ballot,
                    meeting=_pick(meetings, data["meeting"]),
                    counts={p: data[name] for name, p in form.proposal_fields},
                    voters=[found[ref] for ref in dict.fromkeys(refs)],
                )
            except DomainError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("已录入纸质票"))
                return redirect("ballot_detail", ballot_id=ballot.pk)
    return render(
        request,
        "deliberation/decisions/paper_votes.html",
        {
            "ballot": ballot,
            "issue": issue,
            "form": form,
            "count_fields": [form[name] for name, _p in form.proposal_fields],
            "meetings": meetings,
            "tallies": list(selectors.paper_tallies(ballot=ballot)),
        },
        status=400 if form.errors else 200,
    )


@login_required
def ballot_audit(request: HttpRequest, ballot_id: Any) -> HttpResponse:
    ballot = _ballot(request, ballot_id, "deliberation.audit_ballot")
    return render(
        request,
        "deliberation/decisions/ballot_audit.html",
        {"ballot": ballot, "issue": ballot.issue, "audit": services.ballot_audit(ballot)},
    )


# --- staff: the decision and its follow-up ----------------------------------------------------------------------


@login_required
def decision_new(request: HttpRequest, issue_id: Any) -> HttpResponse:
    issue = _issue(request, issue_id, "deliberation.publish_decision")
    decision = selectors.decision_of(issue=issue)
    if decision is not None:
        return redirect("milestones", issue_id=issue.pk)
    ballots = [v.ballot for v in selectors.ballots_of_issue(user=request.user, issue=issue)]
    meetings = list(selectors.meetings_for(issue=issue))
    proposals = _proposals(issue)
    form = forms.DecisionForm(
        request.POST or None,
        ballots=ballots,
        meetings=meetings,
        proposals=proposals,
        initial={
            "decided_on": timezone.localdate(),
            "method": "vote" if ballots else "consensus",
            "ballot": str(ballots[-1].pk) if ballots else "",
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.decision_publish(
                actor=request.user,
                issue=issue,
                method=data["method"],
                text=data["text"],
                body=data["body"],
                decided_on=data["decided_on"],
                ballot=_pick(ballots, data["ballot"] or ""),
                adopted=_pick(proposals, data["adopted"] or ""),
                meeting=_pick(meetings, data["meeting"] or ""),
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("决定已发布"))
            return redirect("milestones", issue_id=issue.pk)
    return render(
        request,
        "deliberation/decisions/decision_form.html",
        {"issue": issue, "form": form, "ballots": selectors.ballots_of_issue(user=request.user, issue=issue)},
        status=400 if form.errors else 200,
    )


@login_required
def milestones(request: HttpRequest, issue_id: Any) -> HttpResponse:
    """The decision and its implementation: milestones, public progress, start, closure; POST ``action`` =
    add | done | progress | start | close."""
    issue = _issue(request, issue_id, "deliberation.manage_milestone")
    items = selectors.milestones_of(issue=issue)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    milestone_form = forms.MilestoneForm(request.POST if action == "add" else None)
    progress_form = forms.ProgressForm(request.POST if action == "progress" else None, milestones=items)
    error = ""
    if action:
        try:
            if action == "add" and milestone_form.is_valid():
                d = milestone_form.cleaned_data
                services.milestone_add(
                    actor=request.user, issue=issue, title=d["title"], responsible=d["responsible"], due_on=d["due_on"]
                )
                messages.success(request, _("已添加节点"))
            elif action == "progress" and progress_form.is_valid():
                d = progress_form.cleaned_data
                services.progress_post(
                    actor=request.user, issue=issue, body=d["body"], milestone=_pick(items, d["milestone"] or "")
                )
                messages.success(request, _("已发布进展"))
            elif action == "done":
                target = _pick(items, request.POST.get("milestone", ""))
                if target is None:
                    raise Http404
                services.milestone_done(actor=request.user, milestone=target)
                messages.success(request, _("节点已完成"))
            elif action == "start":
                services.implementation_start(actor=request.user, issue=issue)
                messages.success(request, _("已开始落实"))
            elif action == "close":
                services.issue_close(actor=request.user, issue=issue, reason=request.POST.get("reason", ""))
                messages.success(request, _("议题已办结"))
            elif action not in ("add", "progress"):
                raise Http404
        except DomainError as exc:
            if action == "add":
                _apply_errors(milestone_form, exc)
            elif action == "progress":
                _apply_errors(progress_form, exc)
            else:
                error = exc.message
        if not (milestone_form.errors or progress_form.errors or error):
            return redirect("milestones", issue_id=issue.pk)
    return render(
        request,
        "deliberation/decisions/milestones.html",
        {
            "issue": issue,
            "decision": selectors.decision_of(issue=issue),
            "milestones": items,
            "progress": list(selectors.progress_of(issue=issue)[:50]),
            "ratings": selectors.ratings_summary(issue=issue),
            "milestone_form": milestone_form,
            "progress_form": progress_form,
            "error": error,
            "all_done": all(m.done_on for m in items),
        },
        status=400 if (milestone_form.errors or progress_form.errors or error) else 200,
    )


# --- residents: vote, result, rating, receipt -------------------------------------------------------------------


@login_required
def my_ballots(request: HttpRequest) -> HttpResponse:
    return render(
        request, "deliberation/decisions/my_ballots.html", {"views": selectors.ballots_open_for_me(user=request.user)}
    )


@login_required
def ballot_vote(request: HttpRequest, ballot_id: Any) -> HttpResponse:
    """The phone page: choose one proposal, get the receipt; afterwards it says 您已投票."""
    ballot = _ballot(request, ballot_id)
    receipt = ""
    error = ""
    if request.method == "POST":
        proposal = _pick(list(ballot.proposals.all()), request.POST.get("proposal", ""))
        if proposal is None:
            error = _("请选择一个方案")
        else:
            try:
                receipt = services.vote_cast(user=request.user, ballot=ballot, proposal=proposal)
            except DomainError as exc:
                error = exc.message
    view = selectors.ballot_view(user=request.user, ballot=ballot)
    status = 200
    if error:
        status = 409 if view.my_vote is not None else 400
    return render(
        request,
        "deliberation/decisions/vote.html",
        {
            "ballot": ballot,
            "issue": ballot.issue,
            "view": view,
            "proposals": [r.proposal for r in view.result.rows],
            "receipt": receipt,
            "error": error,
        },
        status=status,
    )


@login_required
def ballot_result(request: HttpRequest, ballot_id: Any) -> HttpResponse:
    ballot = _ballot(request, ballot_id)
    view = selectors.ballot_view(user=request.user, ballot=ballot)
    return render(
        request,
        "deliberation/decisions/result.html",
        {
            "ballot": ballot,
            "issue": ballot.issue,
            "view": view,
            "result": view.result,
            "decision": selectors.decision_of(issue=ballot.issue),
        },
    )


@login_required
def issue_rate(request: HttpRequest, issue_id: Any) -> HttpResponse:
    issue = _issue(request, issue_id, "deliberation.rate_issue")
    mine = selectors.my_rating(user=request.user, issue=issue)
    form = forms.RatingForm(request.POST or None)
    if request.method == "POST" and mine is None and form.is_valid():
        try:
            services.satisfaction_rate(
                user=request.user, issue=issue, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("感谢您的评价"))
            return redirect("issue_rate", issue_id=issue.pk)
    return render(
        request,
        "deliberation/decisions/rate.html",
        {
            "issue": issue,
            "form": form,
            "mine": mine,
            "closed": issue.status == IssueStatus.CLOSED,
            "ratings": selectors.ratings_summary(issue=issue),
        },
        status=400 if form.errors else 200,
    )


@login_required
def receipt_verify(request: HttpRequest) -> HttpResponse:
    form = forms.ReceiptForm(request.GET or None)
    check = None
    if form.is_bound and form.is_valid():
        try:
            check = services.vote_verify(form.cleaned_data["receipt"])
        except DomainError as exc:
            _apply_errors(form, exc)
    return render(
        request,
        "deliberation/decisions/receipt.html",
        {"form": form, "check": check},
        status=404 if form.errors and form.is_bound else 200,
    )


urlpatterns: list[URLPattern] = [
    path("staff/issues/<uuid:issue_id>/ballots/new/", ballot_new, name="ballot_new"),
    path("staff/ballots/<uuid:ballot_id>/", ballot_detail, name="ballot_detail"),
    path("staff/ballots/<uuid:ballot_id>/totals/", ballot_totals, name="ballot_totals"),
    path("staff/ballots/<uuid:ballot_id>/paper/", paper_votes, name="paper_votes"),
    path("staff/ballots/<uuid:ballot_id>/audit/", ballot_audit, name="ballot_audit"),
    path("staff/issues/<uuid:issue_id>/decision/", decision_new, name="decision_new"),
    path("staff/issues/<uuid:issue_id>/milestones/", milestones, name="milestones"),
    path("me/ballots/", my_ballots, name="my_ballots"),
    path("me/ballots/<uuid:ballot_id>/", ballot_vote, name="ballot_vote"),
    path("me/ballots/<uuid:ballot_id>/result/", ballot_result, name="ballot_result"),
    path("me/issues/<uuid:issue_id>/rate/", issue_rate, name="issue_rate"),
    path("me/receipts/", receipt_verify, name="receipt_verify"),
]
