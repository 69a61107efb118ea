"""Reads of issues. Every selector takes the acting user, so permission filtering cannot be forgotten.

Lists run a constant number of queries whatever the number of rows (counts are annotated as subqueries). Names in the
discussion are masked (张*明) for everyone except staff covering the issue's community.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from gongzhi.activities.models import AttendanceStatus
from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.people.protection import mask_name
from gongzhi.places.models import Place

from ..models import (
    Comment,
    CommentReport,
    Issue,
    IssuePhoto,
    IssueSession,
    IssueStatus,
    IssueStatusChange,
    IssueTopic,
    Proposal,
)
from ..rules.issues import resident_community


def _count(qs: QuerySet[Any], group: str = "issue_id") -> Coalesce:
    return Coalesce(
        Subquery(qs.order_by().values(group).annotate(n=Count("pk")).values("n"), output_field=IntegerField()),
        Value(0),
    )


def _with_counts(qs: QuerySet[Issue]) -> QuerySet[Issue]:
    return qs.select_related("community", "raised_by").annotate(
        comment_count=_count(Comment.objects.filter(issue=OuterRef("pk"), hidden_at__isnull=True)),
        proposal_count=_count(Proposal.objects.filter(issue=OuterRef("pk"), withdrawn_at__isnull=True)),
        open_report_count=_count(
            CommentReport.objects.filter(comment__issue=OuterRef("pk"), resolved_at__isnull=True), "comment__issue_id"
        ),
    )


def _staff_scope(user: Any, place: Place | None) -> QuerySet[Issue]:
    qs = Issue.objects.filter(access.prefix_q("community__code", user, access.STAFF_ROLES))
    if place is not None:
        qs = qs.filter(community__code__startswith=place.prefix)
    return qs


def issues_visible(
    *, user: Any, place: Place | None = None, status: str = "", category: str = "", search: str = ""
) -> QuerySet[Issue]:
    """Issues of the communities the user covers as staff (under ``place`` when given), with comment, proposal and
    open-report counts. A constant number of queries."""
    qs = _staff_scope(user, place)
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(title__contains=search) | Q(ref=search))
    return _with_counts(qs).order_by("-raised_on", "-created_at")


def issue_status_counts(*, user: Any, place: Place | None = None) -> dict[str, int]:
    """How many issues are in each status (the board), one query."""
    rows = _staff_scope(user, place).order_by().values_list("status").annotate(n=Count("pk"))
    counts = {s: 0 for s in IssueStatus.values}
    counts.update({status: n for status, n in rows})
    return counts


def issues_of_my_community(*, user: Any, status: str = "") -> QuerySet[Issue]:
    """Issues of the logged-in resident's (current) community, with counts; none for anyone else."""
    community = resident_community(user)
    if community is None:
        return Issue.objects.none()
    qs = Issue.objects.filter(community_id=community)
    if status:
        qs = qs.filter(status=status)
    return _with_counts(qs).order_by("-raised_on", "-created_at")


def issue_get(*, user: Any, issue_id: Any) -> Issue:
    """An issue the user may see (staff covering it, residents of its community); any other does not exist."""
    try:
        issue = _with_counts(Issue.objects.filter(pk=issue_id)).first()
    except (ValueError, ValidationError):
        issue = None
    if issue is None or not user.has_perm("deliberation.view_issue", issue):
        raise NotFound(_("找不到该议题"))
    return issue


def comment_get(*, user: Any, comment_id: Any) -> Comment:
    try:
        comment = Comment.objects.select_related("issue", "author").filter(pk=comment_id).first()
    except (ValueError, ValidationError):
        comment = None
    if comment is None or not user.has_perm("deliberation.view_issue", comment.issue):
        raise NotFound(_("找不到该评论"))
    return comment


def proposal_get(*, user: Any, proposal_id: Any) -> Proposal:
    try:
        proposal = Proposal.objects.select_related("issue", "proposed_by").filter(pk=proposal_id).first()
    except (ValueError, ValidationError):
        proposal = None
    if proposal is None or not user.has_perm("deliberation.view_issue", proposal.issue):
        raise NotFound(_("找不到该方案"))
    return proposal


def photo_get(*, user: Any, photo_id: Any) -> IssuePhoto:
    try:
        photo = IssuePhoto.objects.select_related("issue").filter(pk=photo_id).first()
    except (ValueError, ValidationError):
        photo = None
    if photo is None or not user.has_perm("deliberation.view_issue", photo.issue):
        raise NotFound(_("找不到该照片"))
    return photo


# --- the parts of an issue --------------------------------------------------------------------------------------


def issue_history(*, issue: Issue) -> QuerySet[IssueStatusChange]:
    return IssueStatusChange.objects.filter(issue=issue).select_related("changed_by").order_by("created_at")


def issue_photos(*, issue: Issue) -> QuerySet[IssuePhoto]:
    return IssuePhoto.objects.filter(issue=issue).order_by("created_at")


def issue_topics(*, issue: Issue) -> QuerySet[IssueTopic]:
    return (
        IssueTopic.objects.filter(issue=issue)
        .select_related("organization", "organization__place", "course", "course__place")
        .order_by("created_at")
    )


def issue_sessions(*, issue: Issue) -> QuerySet[IssueSession]:
    """The activities held for the issue with how many were present at each (its deliberation attendance)."""
    return (
        IssueSession.objects.filter(issue=issue)
        .select_related("activity", "activity__place")
        .annotate(
            present=Count("activity__attendances", filter=Q(activity__attendances__status=AttendanceStatus.PRESENT))
        )
        .order_by("activity__starts_at")
    )


def deliberation_attendance(*, issue: Issue) -> dict[str, int]:
    """Attendance over all the issue's sessions: presences counted per session, and distinct people."""
    from gongzhi.activities.models import Attendance

    qs = Attendance.objects.filter(activity__issue_links__issue=issue, status=AttendanceStatus.PRESENT)
    agg = qs.aggregate(total=Count("pk"), people=Count("resident_id", distinct=True))
    return {"total": agg["total"] or 0, "people": agg["people"] or 0}


def _sees_names(user: Any, issue: Issue) -> bool:
    return bool(user.has_perm("deliberation.manage_issue", issue))


def _name(resident: Any, full: bool) -> str:
    if resident is None:
        return ""
    return resident.name if full else mask_name(resident.name)


def issue_comments(*, user: Any, issue: Issue) -> list[Comment]:
    """The discussion as the user may see it. Each comment gets ``author_label`` (full name for staff, masked for
    others, 工作人员 for staff comments), ``shown_body`` (已隐藏 in place of a hidden comment's text for non-staff),
    ``open_reports`` and ``reported_by_me``. Two queries."""
    staff = _sees_names(user, issue)
    uid = user.pk if getattr(user, "is_authenticated", False) else None
    comments: list[Comment] = list(
        Comment.objects.filter(issue=issue)
        .select_related("author", "hidden_by")
        .annotate(
            open_reports=Count("reports", filter=Q(reports__resolved_at__isnull=True)),
            reported_by_me=Count("reports", filter=Q(reports__reporter_id=uid)),
        )
        .order_by("created_at")
    )
    for c in comments:
        c.author_label = _name(c.author, staff) if c.author_id else _("工作人员")  # type: ignore[attr-defined]
        c.is_hidden = c.hidden_at is not None  # type: ignore[attr-defined]
        c.shown_body = c.body if (staff or not c.is_hidden) else _("已隐藏")  # type: ignore[attr-defined]
        c.is_mine = uid is not None and c.author_user_id == uid  # type: ignore[attr-defined]
    return comments


def issue_proposals(*, user: Any, issue: Issue, include_withdrawn: bool = True) -> list[Proposal]:
    """The proposals with ``proposer_label`` (full name for staff, masked otherwise) and ``is_mine``. One query."""
    staff = _sees_names(user, issue)
    uid = user.pk if getattr(user, "is_authenticated", False) else None
    qs = Proposal.objects.filter(issue=issue).select_related("proposed_by").order_by("created_at")
    if not include_withdrawn:
        qs = qs.filter(withdrawn_at__isnull=True)
    proposals = list(qs)
    for p in proposals:
        p.proposer_label = _name(p.proposed_by, staff)  # type: ignore[attr-defined]
        p.is_mine = uid is not None and p.proposed_by is not None and p.proposed_by.user_id == uid  # type: ignore[attr-defined]
    return proposals


def reports_open(*, user: Any, place: Place | None = None) -> QuerySet[CommentReport]:
    """Unresolved reports on comments of issues the user manages (the moderation queue)."""
    qs = CommentReport.objects.filter(
        access.prefix_q("comment__issue__community__code", user, access.STAFF_ROLES), resolved_at__isnull=True
    )
    if place is not None:
        qs = qs.filter(comment__issue__community__code__startswith=place.prefix)
    return qs.select_related("comment", "comment__issue", "comment__author").order_by("created_at")
