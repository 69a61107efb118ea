"""Issues API: raising, the status lifecycle, 议题进课堂 (topics, sessions), comments with moderation, proposals.

An issue the caller may not see is "not found". Names in the discussion are masked except for staff covering the issue.
Illegal status moves answer 409 with code ``illegal_transition`` and change nothing.
"""

import datetime
import uuid
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.activities.models import Activity, ActivityKind
from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, PermissionDenied
from gongzhi.people import selectors as people_selectors
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors

from ..models import (
    Comment,
    CommentReport,
    Issue,
    IssueCategory,
    IssueSession,
    IssueStatus,
    IssueStatusChange,
    IssueTopic,
    Proposal,
)
from ..selectors import issues as selectors
from ..services import issues as services
from .base import router

# --- schemas ----------------------------------------------------------------------------------------------------


class IssueOut(Schema):
    id: uuid.UUID
    ref: str
    community_code: str
    community_name: str
    title: str
    description: str
    category: IssueCategory
    category_label: str
    status: IssueStatus
    status_label: str
    raised_on: datetime.date
    raised_by_resident: bool = Field(..., description="由居民提出（否则为工作人员登记）")
    discussed_on: datetime.date | None
    decided_on: datetime.date | None
    implemented_on: datetime.date | None
    closed_on: datetime.date | None
    rejected_reason: str
    comment_count: int = Field(..., description="未隐藏的评论数")
    proposal_count: int = Field(..., description="未撤回的方案数")

    @staticmethod
    def resolve_community_code(obj: Issue) -> str:
        return obj.community_id

    @staticmethod
    def resolve_community_name(obj: Issue) -> str:
        return obj.community.name

    @staticmethod
    def resolve_category_label(obj: Issue) -> str:
        return str(obj.get_category_display())

    @staticmethod
    def resolve_status_label(obj: Issue) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_raised_by_resident(obj: Issue) -> bool:
        return obj.raised_by_id is not None

    @staticmethod
    def resolve_comment_count(obj: Issue) -> int:
        value = getattr(obj, "comment_count", None)
        return int(value if value is not None else obj.comments.filter(hidden_at__isnull=True).count())

    @staticmethod
    def resolve_proposal_count(obj: Issue) -> int:
        value = getattr(obj, "proposal_count", None)
        return int(value if value is not None else obj.proposals.filter(withdrawn_at__isnull=True).count())


class IssueStatusChangeOut(Schema):
    from_status: IssueStatus | None
    to_status: IssueStatus
    reason: str
    at: datetime.datetime

    @staticmethod
    def resolve_from_status(obj: IssueStatusChange) -> str | None:
        return obj.from_status or None

    @staticmethod
    def resolve_at(obj: IssueStatusChange) -> datetime.datetime:
        return obj.created_at


class IssueTopicOut(Schema):
    id: uuid.UUID
    organization_id: uuid.UUID | None
    organization_name: str | None
    course_id: uuid.UUID | None
    course_title: str | None
    note: str

    @staticmethod
    def resolve_organization_name(obj: IssueTopic) -> str | None:
        return obj.organization.name if obj.organization_id and obj.organization else None

    @staticmethod
    def resolve_course_title(obj: IssueTopic) -> str | None:
        return obj.course.title if obj.course_id and obj.course else None


class IssueSessionOut(Schema):
    id: uuid.UUID
    activity_id: uuid.UUID
    activity_ref: str
    kind: str
    title: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None
    venue: str
    purpose: str
    present: int = Field(..., description="出席人数")

    @staticmethod
    def resolve_activity_ref(obj: IssueSession) -> str:
        return obj.activity.ref

    @staticmethod
    def resolve_kind(obj: IssueSession) -> str:
        return obj.activity.kind

    @staticmethod
    def resolve_title(obj: IssueSession) -> str:
        return obj.activity.title

    @staticmethod
    def resolve_starts_at(obj: IssueSession) -> datetime.datetime:
        return obj.activity.starts_at

    @staticmethod
    def resolve_ends_at(obj: IssueSession) -> datetime.datetime | None:
        return obj.activity.ends_at

    @staticmethod
    def resolve_venue(obj: IssueSession) -> str:
        return obj.activity.venue

    @staticmethod
    def resolve_present(obj: IssueSession) -> int:
        return int(getattr(obj, "present", 0) or 0)


class IssueDetailOut(IssueOut):
    history: list[IssueStatusChangeOut]
    topics: list[IssueTopicOut]
    sessions: list[IssueSessionOut]
    attendance_total: int = Field(..., description="议事相关活动的出席人次")
    attendance_people: int = Field(..., description="议事相关活动的出席人数（去重）")

    @staticmethod
    def resolve_history(obj: Issue) -> list[Any]:
        return obj.history_list  # type: ignore[attr-defined]

    @staticmethod
    def resolve_topics(obj: Issue) -> list[Any]:
        return obj.topics_list  # type: ignore[attr-defined]

    @staticmethod
    def resolve_sessions(obj: Issue) -> list[Any]:
        return obj.sessions_list  # type: ignore[attr-defined]


class IssueCommentOut(Schema):
    id: uuid.UUID
    author: str = Field(..., description="发言人：工作人员看到全名，其他人看到脱敏姓名；工作人员发言为「工作人员」")
    body: str = Field(..., description="内容；被隐藏的评论对非工作人员显示为「已隐藏」")
    hidden: bool
    hidden_reason: str = Field(..., description="隐藏理由（仅工作人员可见，其他人为空）")
    open_reports: int = Field(..., description="待核查的举报数（仅工作人员可见，其他人为 0）")
    created_at: datetime.datetime


class IssueProposalOut(Schema):
    id: uuid.UUID
    title: str
    description: str
    proposer: str = Field(..., description="提出人：工作人员看到全名，其他人看到脱敏姓名")
    withdrawn: bool
    created_at: datetime.datetime


class CommentReportOut(Schema):
    id: uuid.UUID
    comment_id: uuid.UUID
    reason: str
    created_at: datetime.datetime


class IssueFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="只看这个区划之下（12 位代码）")
    status: IssueStatus | None = None
    category: IssueCategory | None = None
    q: str = Field("", max_length=40, description="标题包含，或编号")


class MyIssueFilters(Schema):
    status: IssueStatus | None = None


class IssueIn(Schema):
    community_code: str | None = Field(
        None, pattern=CODE_PATTERN, description="社区的 12 位区划代码；居民提出时默认本人所在社区"
    )
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    category: IssueCategory = IssueCategory.OTHER
    raised_on: datetime.date | None = Field(None, description="提出日期（工作人员登记时可填），默认今天")


class IssueTransitionIn(Schema):
    to_status: IssueStatus
    reason: str = Field("", max_length=300, description="理由；不予立项（rejected）时必填")
    on: datetime.date | None = Field(None, description="该步骤的日期，默认今天")


class IssueCommentIn(Schema):
    body: str = Field(..., min_length=1, max_length=2000)


class IssueReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


class IssueProposalIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=5000)


class IssueTopicIn(Schema):
    organization_id: uuid.UUID | None = Field(None, description="学习共同体")
    course_id: uuid.UUID | None = Field(None, description="课程")
    note: str = Field("", max_length=300)


class IssueSessionIn(Schema):
    kind: str = Field(
        ActivityKind.DELIBERATION_MEETING,
        pattern="^(deliberation_meeting|course_session)$",
        description="deliberation_meeting（议事会）或 course_session（课程中的专家讲座）",
    )
    title: str = Field(..., min_length=1, max_length=200)
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None = None
    venue: str = Field("", max_length=200)
    course_id: uuid.UUID | None = Field(None, description="专家讲座所属课程（course_session 必填）")
    teacher_id: uuid.UUID | None = None
    purpose: str = Field("", max_length=100)
    activity_id: uuid.UUID | None = Field(None, description="关联已有的活动（给出时忽略其他字段）")


# --- helpers ----------------------------------------------------------------------------------------------------


def _require(request: ApiRequest, perm: str, obj: Any, field: str | None = None) -> None:
    if not request.auth.has_perm(perm, obj):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={field: [message]} if field else None)


def _comment_out(c: Comment, staff: bool) -> dict[str, Any]:
    return {
        "id": c.pk,
        "author": c.author_label,  # type: ignore[attr-defined]
        "body": c.shown_body,  # type: ignore[attr-defined]
        "hidden": c.hidden_at is not None,
        "hidden_reason": c.hidden_reason if staff else "",
        "open_reports": int(getattr(c, "open_reports", 0)) if staff else 0,
        "created_at": c.created_at,
    }


def _proposal_out(p: Proposal) -> dict[str, Any]:
    return {
        "id": p.pk,
        "title": p.title,
        "description": p.description,
        "proposer": p.proposer_label,  # type: ignore[attr-defined]
        "withdrawn": p.withdrawn_at is not None,
        "created_at": p.created_at,
    }


def _detail(request: ApiRequest, issue: Issue) -> Issue:
    issue = selectors.issue_get(user=request.auth, issue_id=issue.pk)
    attendance = selectors.deliberation_attendance(issue=issue)
    issue.history_list = list(selectors.issue_history(issue=issue))  # type: ignore[attr-defined]
    issue.topics_list = list(selectors.issue_topics(issue=issue))  # type: ignore[attr-defined]
    issue.sessions_list = list(selectors.issue_sessions(issue=issue))  # type: ignore[attr-defined]
    issue.attendance_total = attendance["total"]  # type: ignore[attr-defined]
    issue.attendance_people = attendance["people"]  # type: ignore[attr-defined]
    return issue


# --- issues -----------------------------------------------------------------------------------------------------


@router.get("/issues", response={200: list[IssueOut], **errors(401, 404, 422)}, summary="议题（工作人员）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def issue_list(request: ApiRequest, filters: Query[IssueFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.issues_visible(
        user=request.auth,
        place=place,
        status=filters.status or "",
        category=filters.category or "",
        search=filters.q,
    )


@router.get("/me/issues", response={200: list[IssueOut], **errors(401, 422)}, summary="我所在社区的议题（居民）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def my_issue_list(request: ApiRequest, filters: Query[MyIssueFilters]) -> Any:
    return selectors.issues_of_my_community(user=request.auth, status=filters.status or "")


@router.post(
    "/issues",
    response={201: IssueOut, **errors(400, 401, 403, 409, 422)},
    summary="提出议题",
    description="居民在本人所在社区提出（community_code 可省略）；工作人员为其负责的社区登记（须给出 community_code）。",
)
def issue_raise(request: ApiRequest, payload: IssueIn) -> Any:
    user = request.auth
    code = payload.community_code
    place = place_selectors.place_get(code=code) if code and codes.CODE_RE.match(code) else None
    if code and place is None:
        raise DomainError(_("提交的数据有误"), fields={"community_code": [_("找不到该区划代码")]})
    if place is not None and user.has_perm("deliberation.manage_issue", place):
        issue = services.issue_raise(
            actor=user,
            community=place,
            title=payload.title,
            description=payload.description,
            category=payload.category,
            raised_on=payload.raised_on,
        )
        return Status(201, selectors.issue_get(user=user, issue_id=issue.pk))
    resident = people_selectors.resident_of_user(user=user)
    if resident is None or resident.left_on is not None or (place is not None and place.code != resident.community_id):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={"community_code": [message]})
    issue = services.issue_raise(
        actor=user,
        community=resident.community,
        resident=resident,
        title=payload.title,
        description=payload.description,
        category=payload.category,
    )
    return Status(201, selectors.issue_get(user=user, issue_id=issue.pk))


@router.get("/issues/{issue_id}", response={200: IssueDetailOut, **errors(401, 404, 422)}, summary="一个议题")
def issue_detail(request: ApiRequest, issue_id: uuid.UUID) -> Any:
    issue = selectors.issue_get(user=request.auth, issue_id=issue_id)
    return _detail(request, issue)


@router.post(
    "/issues/{issue_id}/transitions",
    response={200: IssueDetailOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="推进议题状态",
    description="只允许合法的一步：open→discussing|rejected，discussing→decided|rejected，decided→implementing，"
    "implementing→closed。其他变更返回 409（illegal_transition），不做任何改变。不予立项须填写理由。",
)
def issue_transition(request: ApiRequest, issue_id: uuid.UUID, payload: IssueTransitionIn) -> Any:
    issue = selectors.issue_get(user=request.auth, issue_id=issue_id)
    _require(request, "deliberation.manage_issue", issue)
    services.issue_transition(
        actor=request.auth, issue=issue, to_status=payload.to_status, reason=payload.reason, on=payload.on
    )
    return _detail(request, issue)


# --- 议题进课堂 --------------------------------------------------------------------------------------------------


@router.post(
    "/issues/{issue_id}/topics",
    response={200: IssueTopicOut, 201: IssueTopicOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="议题进课堂：设为学习共同体或课程的学习主题",
    description="同一目标重复提交返回已有的记录（200）。",
)
def issue_topic_add(request: ApiRequest, issue_id: uuid.UUID, payload: IssueTopicIn) -> Any:
    from gongzhi.learning import selectors as learning_selectors
    from gongzhi.organizations import selectors as org_selectors

    issue = selectors.issue_get(user=request.auth, issue_id=issue_id)
    _require(request, "deliberation.manage_issue", issue)
    organization = course = None
    if payload.organization_id:
        try:
            organization = org_selectors.organization_get(user=request.auth, organization_id=payload.organization_id)
        except DomainError as exc:
            raise DomainError(_("提交的数据有误"), fields={"organization_id": [exc.message]}) from exc
    if payload.course_id:
        try:
            course = learning_selectors.course_get(user=request.auth, course_id=payload.course_id)
        except DomainError as exc:
            raise DomainError(_("提交的数据有误"), fields={"course_id": [exc.message]}) from exc
    topic, created = services.issue_topic_add(
        actor=request.auth, issue=issue, organization=organization, course=course, note=payload.note
    )
    return Status(201 if created else 200, topic)


@router.post(
    "/issues/{issue_id}/sessions",
    response={200: IssueSessionOut, 201: IssueSessionOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="安排专家讲座或议事会（或关联已有活动）",
    description="其出席即议题的议事出席。关联已有活动时重复提交返回已有的记录（200）。",
)
def issue_session_add(request: ApiRequest, issue_id: uuid.UUID, payload: IssueSessionIn) -> Any:
    from gongzhi.activities import selectors as activity_selectors
    from gongzhi.learning import selectors as learning_selectors
    from gongzhi.learning.models import Teacher

    issue = selectors.issue_get(user=request.auth, issue_id=issue_id)
    _require(request, "deliberation.manage_issue", issue)
    if payload.activity_id:
        try:
            activity: Activity = activity_selectors.activity_get(user=request.auth, activity_id=payload.activity_id)
        except DomainError as exc:
            raise DomainError(_("提交的数据有误"), fields={"activity_id": [exc.message]}) from exc
        link, created = services.issue_session_link(
            actor=request.auth, issue=issue, activity=activity, purpose=payload.purpose
        )
    else:
        course = teacher = None
        if payload.course_id:
            try:
                course = learning_selectors.course_get(user=request.auth, course_id=payload.course_id)
            except DomainError as exc:
                raise DomainError(_("提交的数据有误"), fields={"course_id": [exc.message]}) from exc
        if payload.teacher_id:
            teacher = (
                learning_selectors.teachers_visible(user=request.auth, place=issue.community)
                .filter(pk=payload.teacher_id)
                .first()
            )
            if not isinstance(teacher, Teacher):
                raise DomainError(_("提交的数据有误"), fields={"teacher_id": [_("找不到该师资")]})
        link = services.issue_session_schedule(
            actor=request.auth,
            issue=issue,
            title=payload.title,
            starts_at=payload.starts_at,
            ends_at=payload.ends_at,
            venue=payload.venue,
            kind=payload.kind,
            course=course,
            teacher=teacher,
            purpose=payload.purpose,
        )
        created = True
    row = selectors.issue_sessions(issue=issue).get(pk=link.pk)
    return Status(201 if created else 200, row)


# --- discussion -------------------------------------------------------------------------------------------------


@router.get(
    "/issues/{issue_id}/comments", response={200: list[IssueCommentOut], **errors(401, 404, 422)}, summary="议题的讨论"
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def comment_list(request: ApiRequest, issue_id: uuid.UUID) -> Any:
    issue = selectors.issue_get(user=request.auth, issue_id=issue_id)
    staff = request.auth.has_perm("deliberation.manage_issue", issue)
    return [_comment_out(c, staff) for c in selectors.issue_comments(user=request.auth, issue=issue)]


@router.post(
    "/issues/{issue_id}/comments",
    response={201: IssueCommentOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="发表评论（本社区居民或工作人员）",
)
def comment_post(request: ApiRequest, issue_id: uuid.UUID, payload: IssueCommentIn) -> Any:
    issue = selectors.issue_get(user=request.auth, issue_id=issue_id)
    _require(request, "deliberation.add_comment", issue)
    comment = services.comment_post(user=request.auth, issue=issue, body=payload.body)
    staff = request.auth.has_perm("deliberation.manage_issue", issue)
    row = next(c for c in selectors.issue_comments(user=request.auth, issue=issue) if c.pk == comment.pk)
    return Status(201, _comment_out(row, staff))


@router.post(
    "/comments/{comment_id}/hide",
    response={200: IssueCommentOut, **errors(400, 401, 403, 404, 422)},
    summary="隐藏评论（工作人员，须填写理由）",
)
def comment_hide(request: ApiRequest, comment_id: uuid.UUID, payload: IssueReasonIn) -> Any:
    comment = selectors.comment_get(user=request.auth, comment_id=comment_id)
    _require(request, "deliberation.moderate_comment", comment)
    services.comment_hide(actor=request.auth, comment=comment, reason=payload.reason)
    row = next(c for c in selectors.issue_comments(user=request.auth, issue=comment.issue) if c.pk == comment.pk)
    return _comment_out(row, True)


@router.post(
    "/comments/{comment_id}/reports",
    response={201: CommentReportOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="举报评论",
    description="每人对同一条评论只能举报一次（再次举报返回 409 already_reported）。",
)
def comment_report(request: ApiRequest, comment_id: uuid.UUID, payload: IssueReasonIn) -> Any:
    comment = selectors.comment_get(user=request.auth, comment_id=comment_id)
    _require(request, "deliberation.report_comment", comment)
    report: CommentReport = services.comment_report(user=request.auth, comment=comment, reason=payload.reason)
    return Status(201, report)


# --- proposals --------------------------------------------------------------------------------------------------


@router.get(
    "/issues/{issue_id}/proposals",
    response={200: list[IssueProposalOut], **errors(401, 404, 422)},
    summary="议题的方案",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def proposal_list(request: ApiRequest, issue_id: uuid.UUID) -> Any:
    issue = selectors.issue_get(user=request.auth, issue_id=issue_id)
    return [_proposal_out(p) for p in selectors.issue_proposals(user=request.auth, issue=issue)]


@router.post(
    "/issues/{issue_id}/proposals",
    response={201: IssueProposalOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="提出方案（本社区居民，议题提出或议事阶段）",
)
def proposal_add(request: ApiRequest, issue_id: uuid.UUID, payload: IssueProposalIn) -> Any:
    issue = selectors.issue_get(user=request.auth, issue_id=issue_id)
    _require(request, "deliberation.add_proposal", issue)
    proposal = services.proposal_add(
        user=request.auth, issue=issue, title=payload.title, description=payload.description
    )
    row = next(p for p in selectors.issue_proposals(user=request.auth, issue=issue) if p.pk == proposal.pk)
    return Status(201, _proposal_out(row))


@router.post(
    "/proposals/{proposal_id}/withdraw",
    response={200: IssueProposalOut, **errors(401, 403, 404, 409, 422)},
    summary="撤回方案（提出人或工作人员）",
)
def proposal_withdraw(request: ApiRequest, proposal_id: uuid.UUID) -> Any:
    proposal = selectors.proposal_get(user=request.auth, proposal_id=proposal_id)
    services.proposal_withdraw(user=request.auth, proposal=proposal)
    row = next(p for p in selectors.issue_proposals(user=request.auth, issue=proposal.issue) if p.pk == proposal.pk)
    return _proposal_out(row)
