"""Issue pages: staff move issues along (议事), residents raise and discuss them on their phones (社区议事).

Thin views: parse the input, check a permission, call one service or selector, render.

URL names (stable, for the other deliberation pages and the end-to-end journeys):
staff — issue_list, issue_new, issue_detail, issue_transition, issue_topic_add, issue_session_add,
comment_hide, comment_reports_dismiss; residents — my_issues, my_issue_new, my_issue_detail, proposal_add,
proposal_withdraw; both — issue_comment_post, comment_report, issue_photo.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors as _apply_errors
from gongzhi.core.pages import staff_place as _staff_place
from gongzhi.people import selectors as people_selectors
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import ISSUE_TRANSITIONS, Decision, Issue, IssueCategory, IssueStatus
from ..selectors import issues as selectors
from ..services import issues as services
from . import issue_forms as forms

BOARD = [
    IssueStatus.OPEN,
    IssueStatus.DISCUSSING,
    IssueStatus.DECIDED,
    IssueStatus.IMPLEMENTING,
    IssueStatus.CLOSED,
    IssueStatus.REJECTED,
]


def _issue_or_404(request: HttpRequest, issue_id: Any) -> Issue:
    try:
        return selectors.issue_get(user=request.user, issue_id=issue_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _managed(request: HttpRequest, issue_id: Any) -> Issue:
    issue = _issue_or_404(request, issue_id)
    if not request.user.has_perm("deliberation.manage_issue", issue):
        raise PermissionDenied
    return issue


def _back(request: HttpRequest, issue: Issue) -> HttpResponse:
    if request.user.has_perm("deliberation.manage_issue", issue):
        return redirect("issue_detail", issue_id=issue.pk)
    return redirect("my_issue_detail", issue_id=issue.pk)


def _error_message(exc: DomainError) -> str:
    first = next((m for msgs in exc.fields.values() for m in msgs), "")
    if first and first != exc.message and exc.message.startswith(_("提交的信息有误")):
        return first
    return exc.message


# --- staff ------------------------------------------------------------------------------------------------------


@login_required
def issue_list(request: HttpRequest) -> HttpResponse:
    place = _staff_place(request)
    status = request.GET.get("status", "")
    if status not in IssueStatus.values:
        status = ""
    category = request.GET.get("category", "")
    if category not in IssueCategory.values:
        category = ""
    q = request.GET.get("q", "")[:40]
    issues = selectors.issues_visible(user=request.user, place=place, status=status, category=category, search=q)
    page = Paginator(issues, 50).get_page(request.GET.get("page"))
    counts = selectors.issue_status_counts(user=request.user, place=place)
    board = [{"status": s, "label": s.label, "count": counts.get(s, 0)} for s in BOARD]
    return render(
        request,
        "deliberation/issues/issue_list.html",
        {
            "place": place,
            "page": page,
            "board": board,
            "total": sum(counts.values()),
            "status": status,
            "category": category,
            "q": q,
            "categories": IssueCategory.choices,
            "open_reports": selectors.reports_open(user=request.user, place=place).count(),
            "can_raise": bool(_raise_communities(request, place)),
        },
    )


def _raise_communities(request: HttpRequest, place: Place) -> list[Place]:
    return [
        p
        for p in place_selectors.place_subtree(place=place, level="community")
        if request.user.has_perm("deliberation.manage_issue", p)
    ]


@login_required
def issue_new(request: HttpRequest) -> HttpResponse:
    place = _staff_place(request)
    communities = _raise_communities(request, place)
    if not communities:
        raise PermissionDenied
    form = forms.StaffIssueForm(request.POST or None, request.FILES or None, communities=communities)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        community = next(p for p in communities if p.code == data["community"])
        try:
            issue = services.issue_raise(
                actor=request.user,
                community=community,
                title=data["title"],
                description=data["description"],
                category=data["category"],
                raised_on=data["raised_on"],
                photos=[data["photo"]] if data.get("photo") else [],
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已登记议题：%(title)s") % {"title": issue.title})
            return redirect("issue_detail", issue_id=issue.pk)
    return render(request, "deliberation/issues/issue_form.html", {"form": form, "place": place, "staff": True})


def _learning_choices(request: HttpRequest, issue: Issue) -> tuple[list[Any], list[Any], list[Any]]:
    """The learning communities and courses of the issue's street, and the teachers, that the user may pick."""
    from gongzhi.learning import selectors as learning_selectors
    from gongzhi.organizations import selectors as org_selectors
    from gongzhi.organizations.models import OrganizationKind, OrganizationStatus

    user = request.user
    street = issue.community.parent
    organizations = list(
        org_selectors.organizations_visible(
            user=user, place=street, kind=OrganizationKind.LEARNING_COMMUNITY, status=OrganizationStatus.ACTIVE
        )
    )
    courses = list(learning_selectors.courses_visible(user=user, place=street)) if street else []
    teachers = list(learning_selectors.teachers_visible(user=user, place=issue.community))
    return organizations, courses, teachers


def _staff_detail(request: HttpRequest, issue: Issue, status: int = 200, **bound: Any) -> HttpResponse:
    user = request.user
    organizations, courses, teachers = _learning_choices(request, issue)
    moves = [s for s in ISSUE_TRANSITIONS[IssueStatus(issue.status)] if s != IssueStatus.REJECTED]
    context = {
        "issue": issue,
        "staff": True,
        "moves": [{"status": s, "label": IssueStatus(s).label} for s in moves],
        "can_reject": IssueStatus.REJECTED in ISSUE_TRANSITIONS[IssueStatus(issue.status)],
        "finished": issue.status in services.FINISHED,
        "can_comment": issue.status not in services.FINISHED,
        "history": list(selectors.issue_history(issue=issue)),
        "photos": list(selectors.issue_photos(issue=issue)),
        "topics": list(selectors.issue_topics(issue=issue)),
        "sessions": list(selectors.issue_sessions(issue=issue)),
        "attendance": selectors.deliberation_attendance(issue=issue),
        "comments": selectors.issue_comments(user=user, issue=issue),
        "proposals": selectors.issue_proposals(user=user, issue=issue),
        "ballots": list(issue.ballots.order_by("opens_at")),
        "decision": Decision.objects.filter(issue=issue).first(),
        "reject_form": bound.get("reject_form") or forms.RejectForm(),
        "topic_form": bound.get("topic_form") or forms.TopicForm(organizations=organizations, courses=courses),
        "session_form": bound.get("session_form") or forms.SessionForm(courses=courses, teachers=teachers),
        "comment_form": bound.get("comment_form") or forms.CommentForm(),
        "organizations": organizations,
        "courses": courses,
        "teachers": teachers,
    }
    return render(request, "deliberation/issues/issue_detail.html", context, status=status)


@login_required
def issue_detail(request: HttpRequest, issue_id: Any) -> HttpResponse:
    issue = _issue_or_404(request, issue_id)
    if not request.user.has_perm("deliberation.manage_issue", issue):
        return redirect("my_issue_detail", issue_id=issue.pk)
    return _staff_detail(request, issue)


@login_required
@require_POST
def issue_transition(request: HttpRequest, issue_id: Any) -> HttpResponse:
    issue = _managed(request, issue_id)
    to_status = request.POST.get("to_status", "")
    form_class = forms.RejectForm if to_status == IssueStatus.REJECTED else forms.TransitionForm
    form = form_class(request.POST)
    if not form.is_valid():
        if to_status == IssueStatus.REJECTED:
            return _staff_detail(request, issue, status=400, reject_form=form)
        messages.error(request, _("提交的信息有误"))
        return redirect("issue_detail", issue_id=issue.pk)
    data = form.cleaned_data
    try:
        moved = services.issue_transition(
            actor=request.user, issue=issue, to_status=to_status, reason=data.get("reason", ""), on=data.get("on")
        )
    except DomainError as exc:
        if to_status == IssueStatus.REJECTED and "reason" in exc.fields:
            _apply_errors(form, exc)
            return _staff_detail(request, issue, status=400, reject_form=form)
        messages.error(request, _error_message(exc))
    else:
        messages.success(request, _("议题状态已变为「%(status)s」") % {"status": moved.get_status_display()})
    return redirect("issue_detail", issue_id=issue.pk)


@login_required
@require_POST
def issue_topic_add(request: HttpRequest, issue_id: Any) -> HttpResponse:
    issue = _managed(request, issue_id)
    orgs, courses, _teachers = _learning_choices(request, issue)
    organizations = {f"org:{o.pk}": o for o in orgs}
    course_map = {f"course:{c.pk}": c for c in courses}
    form = forms.TopicForm(request.POST, organizations=orgs, courses=courses)
    if form.is_valid():
        target = form.cleaned_data["target"]
        try:
            topic, created = services.issue_topic_add(
                actor=request.user,
                issue=issue,
                organization=organizations.get(target),
                course=course_map.get(target),
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            name = topic.organization.name if topic.organization_id else topic.course.title  # type: ignore[union-attr]
            if created:
                messages.success(request, _("议题已进课堂：%(name)s") % {"name": name})
            else:
                messages.info(request, _("该议题已经是 %(name)s 的学习主题") % {"name": name})
            return redirect("issue_detail", issue_id=issue.pk)
    return _staff_detail(request, issue, status=400, topic_form=form)


@login_required
@require_POST
def issue_session_add(request: HttpRequest, issue_id: Any) -> HttpResponse:
    issue = _managed(request, issue_id)
    _orgs, courses, teachers = _learning_choices(request, issue)
    form = forms.SessionForm(request.POST, courses=courses, teachers=teachers)
    if form.is_valid():
        data = form.cleaned_data
        course = next((c for c in courses if str(c.pk) == data["course"]), None)
        teacher = next((t for t in teachers if str(t.pk) == data["teacher"]), None)
        try:
            link = services.issue_session_schedule(
                actor=request.user,
                issue=issue,
                title=data["title"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                venue=data["venue"],
                kind=data["kind"],
                course=course if data["kind"] == "course_session" else None,
                teacher=teacher if data["kind"] == "course_session" else None,
                purpose=data["purpose"],
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已安排：%(title)s") % {"title": link.activity.title})
            return redirect("issue_detail", issue_id=issue.pk)
    return _staff_detail(request, issue, status=400, session_form=form)


def _comment_for(request: HttpRequest, comment_id: Any, perm: str) -> Any:
    try:
        comment = selectors.comment_get(user=request.user, comment_id=comment_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.user.has_perm(perm, comment):
        raise PermissionDenied
    return comment


@login_required
@require_POST
def comment_hide(request: HttpRequest, comment_id: Any) -> HttpResponse:
    comment = _comment_for(request, comment_id, "deliberation.moderate_comment")
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("隐藏评论时请填写理由（不超过 300 字）"))
    else:
        try:
            services.comment_hide(actor=request.user, comment=comment, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, _error_message(exc))
        else:
            messages.success(request, _("已隐藏该评论"))
    return redirect("issue_detail", issue_id=comment.issue_id)


@login_required
@require_POST
def comment_reports_dismiss(request: HttpRequest, comment_id: Any) -> HttpResponse:
    comment = _comment_for(request, comment_id, "deliberation.moderate_comment")
    services.comment_reports_dismiss(actor=request.user, comment=comment)
    messages.success(request, _("已处理举报，评论保留"))
    return redirect("issue_detail", issue_id=comment.issue_id)


# --- both -------------------------------------------------------------------------------------------------------


@login_required
@require_POST
def issue_comment_post(request: HttpRequest, issue_id: Any) -> HttpResponse:
    issue = _issue_or_404(request, issue_id)
    if not request.user.has_perm("deliberation.add_comment", issue):
        raise PermissionDenied
    form = forms.CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_post(user=request.user, issue=issue, body=form.cleaned_data["body"])
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已发表"))
            return _back(request, issue)
    if request.user.has_perm("deliberation.manage_issue", issue):
        return _staff_detail(request, issue, status=400, comment_form=form)
    return _resident_detail(request, issue, status=400, comment_form=form)


@login_required
@require_POST
def comment_report(request: HttpRequest, comment_id: Any) -> HttpResponse:
    comment = _comment_for(request, comment_id, "deliberation.report_comment")
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写举报理由（不超过 300 字）"))
    else:
        try:
            services.comment_report(user=request.user, comment=comment, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已收到您的举报，工作人员会尽快核查"))
    return _back(request, comment.issue)


@login_required
def issue_photo(request: HttpRequest, photo_id: Any) -> FileResponse:
    try:
        photo = selectors.photo_get(user=request.user, photo_id=photo_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        handle = photo.image.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404(_("找不到该照片")) from exc
    content_type = mimetypes.guess_type(photo.image.name or "")[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- residents on their phones ----------------------------------------------------------------------------------


def _resident_or_404(request: HttpRequest) -> Any:
    resident = people_selectors.resident_of_user(user=request.user)
    if resident is None or resident.left_on is not None:
        raise Http404(_("您还没有居民档案"))
    return resident


@login_required
def my_issues(request: HttpRequest) -> HttpResponse:
    resident = _resident_or_404(request)
    status = request.GET.get("status", "")
    if status not in IssueStatus.values:
        status = ""
    issues = selectors.issues_of_my_community(user=request.user, status=status)
    page = Paginator(issues, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "deliberation/issues/my_issues.html",
        {"resident": resident, "page": page, "status": status, "statuses": IssueStatus.choices},
    )


@login_required
def my_issue_new(request: HttpRequest) -> HttpResponse:
    resident = _resident_or_404(request)
    form = forms.IssueForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            issue = services.issue_raise(
                actor=request.user,
                community=resident.community,
                resident=resident,
                title=data["title"],
                description=data["description"],
                category=data["category"],
                photos=[data["photo"]] if data.get("photo") else [],
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("议题已提出，邻居们可以一起讨论了"))
            return redirect("my_issue_detail", issue_id=issue.pk)
    return render(request, "deliberation/issues/issue_form.html", {"form": form, "resident": resident, "staff": False})


def _resident_detail(request: HttpRequest, issue: Issue, status: int = 200, **bound: Any) -> HttpResponse:
    user = request.user
    context = {
        "issue": issue,
        "staff": False,
        "history": list(selectors.issue_history(issue=issue)),
        "photos": list(selectors.issue_photos(issue=issue)),
        "topics": list(selectors.issue_topics(issue=issue)),
        "sessions": list(selectors.issue_sessions(issue=issue)),
        "comments": selectors.issue_comments(user=user, issue=issue),
        "proposals": selectors.issue_proposals(user=user, issue=issue, include_withdrawn=False),
        "ballots": list(issue.ballots.order_by("opens_at")),
        "decision": Decision.objects.filter(issue=issue).first(),
        "finished": issue.status in services.FINISHED,
        "can_comment": user.has_perm("deliberation.add_comment", issue) and issue.status not in services.FINISHED,
        "can_propose": user.has_perm("deliberation.add_proposal", issue) and issue.status in services.PROPOSING,
        "comment_form": bound.get("comment_form") or forms.CommentForm(),
        "proposal_form": bound.get("proposal_form") or forms.ProposalForm(),
    }
    return render(request, "deliberation/issues/my_issue_detail.html", context, status=status)


@login_required
def my_issue_detail(request: HttpRequest, issue_id: Any) -> HttpResponse:
    issue = _issue_or_404(request, issue_id)
    if not request.user.has_perm("deliberation.add_proposal", issue):
        # Not a resident of the community: staff see the staff page.
        return redirect("issue_detail", issue_id=issue.pk)
    return _resident_detail(request, issue)


@login_required
@require_POST
def proposal_add(request: HttpRequest, issue_id: Any) -> HttpResponse:
    issue = _issue_or_404(request, issue_id)
    if not request.user.has_perm("deliberation.add_proposal", issue):
        raise PermissionDenied
    form = forms.ProposalForm(request.POST)
    if form.is_valid():
        try:
            services.proposal_add(user=request.user, issue=issue, **form.cleaned_data)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("方案已提出"))
            return redirect("my_issue_detail", issue_id=issue.pk)
    return _resident_detail(request, issue, status=400, proposal_form=form)


@login_required
@require_POST
def proposal_withdraw(request: HttpRequest, proposal_id: Any) -> HttpResponse:
    try:
        proposal = selectors.proposal_get(user=request.user, proposal_id=proposal_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        services.proposal_withdraw(user=request.user, proposal=proposal)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤回方案"))
    return _back(request, proposal.issue)


urlpatterns: list[URLPattern] = [
    path("staff/issues/", issue_list, name="issue_list"),
    path("staff/issues/new/", issue_new, name="issue_new"),
    path("staff/issues/<uuid:issue_id>/", issue_detail, name="issue_detail"),
    path("staff/issues/<uuid:issue_id>/transition/", issue_transition, name="issue_transition"),
    path("staff/issues/<uuid:issue_id>/topics/", issue_topic_add, name="issue_topic_add"),
    path("staff/issues/<uuid:issue_id>/sessions/", issue_session_add, name="issue_session_add"),
    path("staff/issues/comments/<uuid:comment_id>/hide/", comment_hide, name="comment_hide"),
    path("staff/issues/comments/<uuid:comment_id>/dismiss/", comment_reports_dismiss, name="comment_reports_dismiss"),
    path("issues/<uuid:issue_id>/comments/", issue_comment_post, name="issue_comment_post"),
    path("issues/comments/<uuid:comment_id>/report/", comment_report, name="comment_report"),
    path("issues/photos/<uuid:photo_id>/", issue_photo, name="issue_photo"),
    path("me/issues/", my_issues, name="my_issues"),
    path("me/issues/new/", my_issue_new, name="my_issue_new"),
    path("me/issues/<uuid:issue_id>/", my_issue_detail, name="my_issue_detail"),
    path("me/issues/<uuid:issue_id>/proposals/", proposal_add, name="proposal_add"),
    path("me/issues/proposals/<uuid:proposal_id>/withdraw/", proposal_withdraw, name="proposal_withdraw"),
]
