"""Writes of issues: raising, the status lifecycle, photos, 议题进课堂 (topics and sessions), comments and proposals.

One transaction each. Permission checks are made by the callers (views, API) with the predicates in
``rules/issues.py``; these functions also enforce the domain's own rules: only legal status moves, only residents of the
issue's community take part, nothing on a finished issue. Every raise, comment and proposal by a resident writes an
``IssueAction`` (the participation ledger of METHOD.md).
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.activities.models import Activity, ActivityKind
from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied, invalid
from gongzhi.learning.models import Course, Teacher
from gongzhi.organizations.models import Organization
from gongzhi.people import access
from gongzhi.people.models import Resident
from gongzhi.places.codes import prefix_of
from gongzhi.places.models import Place

from ..models import (
    ISSUE_TRANSITIONS,
    Comment,
    CommentReport,
    Issue,
    IssueAction,
    IssueActionKind,
    IssueCategory,
    IssuePhoto,
    IssueSession,
    IssueStatus,
    IssueStatusChange,
    IssueTopic,
    Proposal,
)

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 9
MAX_COMMENT = 2000
FINISHED = (IssueStatus.CLOSED, IssueStatus.REJECTED)
PROPOSING = (IssueStatus.OPEN, IssueStatus.DISCUSSING)
# The date each step sets on the issue.
STEP_DATES = {
    IssueStatus.DISCUSSING: "discussed_on",
    IssueStatus.DECIDED: "decided_on",
    IssueStatus.IMPLEMENTING: "implemented_on",
    IssueStatus.CLOSED: "closed_on",
}
SESSION_KINDS = (ActivityKind.DELIBERATION_MEETING, ActivityKind.COURSE_SESSION)


def _bad(field: str, message: str) -> DomainError:
    return DomainError(_("提交的信息有误，请检查标红的字段"), fields={field: [message]})


def _locked(issue: Issue) -> Issue:
    return Issue.objects.select_for_update(of=("self",)).select_related("community").get(pk=issue.pk)


def _current_resident_of(user: Any, community_code: str) -> Resident | None:
    """The user's resident profile if they currently live in this community."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Resident.objects.filter(user_id=user.pk, community_id=community_code, left_on__isnull=True).first()


def _is_staff_for(user: Any, community_code: str) -> bool:
    return access.has_role_covering(user, community_code, access.STAFF_ROLES)


def _same_street(community_code: str, place_code: str) -> bool:
    """A place in the issue's street: the street itself or one of its communities."""
    return place_code[:9] == community_code[:9]


def _not_finished(issue: Issue) -> None:
    if issue.status in FINISHED:
        raise Conflict(
            _("该议题已%(status)s，不能再进行此操作") % {"status": issue.get_status_display()}, code="issue_finished"
        )


def _action(issue: Issue, resident: Resident, kind: str) -> None:
    IssueAction.objects.create(issue=issue, resident=resident, action=kind, at=timezone.now())


# --- photos -----------------------------------------------------------------------------------------------------


def _sniff(head: bytes) -> str | None:
    """The image type from the file's first bytes (not its name): jpeg, png, webp, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


EXTENSIONS = {"jpeg": (".jpg", ".jpeg"), "png": (".png",), "webp": (".webp",)}


def photo_check(file: Any, field: str = "photo") -> str:
    """Refuse a photo over 5 MB or that is not a JPEG, PNG or WebP image (judged by its content). Returns the type."""
    size = getattr(file, "size", None)
    if size is None:
        raise _bad(field, _("无法读取照片"))
    if size == 0:
        raise _bad(field, _("照片是空文件"))
    if size > MAX_PHOTO_BYTES:
        raise _bad(field, _("照片不能超过 5 MB"))
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    kind = _sniff(head)
    if kind is None:
        raise _bad(field, _("只能上传 JPG、PNG 或 WebP 格式的图片"))
    name = (getattr(file, "name", "") or "").lower()
    if "." in name and not name.endswith(EXTENSIONS[kind]):
        raise _bad(field, _("文件扩展名与图片内容不符"))
    return kind


def _photo_save(*, issue: Issue, file: Any, user: Any) -> IssuePhoto:
    kind = photo_check(file)
    file.name = f"{secrets.token_hex(8)}{EXTENSIONS[kind][0]}"
    return IssuePhoto.objects.create(issue=issue, image=file, uploaded_by=acting_user(user))


@transaction.atomic
def issue_photo_add(*, actor: Any, issue: Issue, file: Any) -> IssuePhoto:
    """Add a photo to an issue (at most nine). Validated by size and content before anything is written."""
    photo_check(file)
    issue = _locked(issue)
    _not_finished(issue)
    if IssuePhoto.objects.filter(issue=issue).count() >= MAX_PHOTOS:
        raise _bad("photo", _("每个议题最多 %(n)d 张照片") % {"n": MAX_PHOTOS})
    photo = _photo_save(issue=issue, file=file, user=actor)
    audit_record(
        actor=actor,
        action="create",
        target_type="issue_photo",
        target_id=str(photo.pk),
        place_code=issue.community_id,
        summary=f"议题照片 {issue.title}",
    )
    return photo


# --- issues -----------------------------------------------------------------------------------------------------


@transaction.atomic
def issue_raise(
    *,
    actor: Any,
    community: Place,
    title: str,
    description: str = "",
    category: str = IssueCategory.OTHER,
    resident: Resident | None = None,
    raised_on: datetime.date | None = None,
    ref: str = "",
    photos: Sequence[Any] = (),
) -> Issue:
    """A resident raises an issue in their own community (``resident`` given: an IssueAction "raise" is written), or
    staff raise one for a community (``resident`` None). Photos are checked first: a bad one and nothing is written."""
    title = (title or "").strip()
    if not title:
        raise _bad("title", _("必填"))
    if getattr(community, "level", None) != "community":
        raise _bad("community", _("议题只能在社区提出"))
    if category not in IssueCategory.values:
        raise _bad("category", _("不是可选的值"))
    if resident is not None and (resident.community_id != community.code or resident.left_on is not None):
        raise PermissionDenied(
            _("只能在自己居住的社区提出议题"), fields={"community": [_("只能在自己居住的社区提出议题")]}
        )
    photos = list(photos)
    if len(photos) > MAX_PHOTOS:
        raise _bad("photo", _("每个议题最多 %(n)d 张照片") % {"n": MAX_PHOTOS})
    for photo in photos:
        photo_check(photo)
    today = timezone.localdate()
    issue = Issue(
        ref=ref or f"I{secrets.token_hex(6).upper()}",
        community=community,
        title=title,
        description=(description or "").strip(),
        category=category,
        raised_by=resident,
        raised_by_user=acting_user(actor),
        raised_on=raised_on or today,
        status=IssueStatus.OPEN,
    )
    try:
        issue.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            issue.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(_("编号重复：该议题已存在"), fields={"ref": [_("编号已存在")]}, code="duplicate_ref") from exc
    IssueStatusChange.objects.create(
        issue=issue, from_status="", to_status=IssueStatus.OPEN, changed_by=acting_user(actor), reason=_("提出议题")
    )
    if resident is not None:
        _action(issue, resident, IssueActionKind.RAISE)
    for photo in photos:
        _photo_save(issue=issue, file=photo, user=actor)
    audit_record(
        actor=actor,
        action="create",
        target_type="issue",
        target_id=str(issue.pk),
        place_code=community.code,
        summary=f"{'居民' if resident else '工作人员'}提出议题 {issue.title}",
    )
    return issue


@transaction.atomic
def issue_transition(
    *, actor: Any, issue: Issue, to_status: str, reason: str = "", on: datetime.date | None = None
) -> Issue:
    """Move an issue one legal step (``ISSUE_TRANSITIONS``), record who, when and why. The row is locked, so two
    concurrent moves cannot both win: the second sees the new status and is refused if its move is no longer legal."""
    if to_status not in IssueStatus.values:
        raise _bad("to_status", _("不是可选的状态"))
    reason = (reason or "").strip()
    if len(reason) > 300:
        raise _bad("reason", _("不能超过 300 字"))
    issue = _locked(issue)
    current = IssueStatus(issue.status)
    target = IssueStatus(to_status)
    if target not in ISSUE_TRANSITIONS[current]:
        allowed = "、".join(str(IssueStatus(s).label) for s in ISSUE_TRANSITIONS[current]) or _("无（已结束）")
        message = _("不能从「%(from)s」变为「%(to)s」。当前可以变为：%(allowed)s") % {
            "from": current.label,
            "to": target.label,
            "allowed": allowed,
        }
        raise Conflict(message, fields={"to_status": [message]}, code="illegal_transition")
    if target == IssueStatus.REJECTED and not reason:
        raise DomainError(_("不予立项时请填写理由"), fields={"reason": [_("必填")]})
    day = on or timezone.localdate()
    if day < issue.raised_on:
        raise _bad("on", _("日期不能早于提出日期"))
    changed = ["status", "updated_at"]
    issue.status = target
    if target in STEP_DATES:
        setattr(issue, STEP_DATES[target], day)
        changed.append(STEP_DATES[target])
    if target == IssueStatus.REJECTED:
        issue.rejected_reason = reason
        changed.append("rejected_reason")
    issue.save(update_fields=changed)
    IssueStatusChange.objects.create(
        issue=issue, from_status=current, to_status=target, changed_by=acting_user(actor), reason=reason
    )
    audit_record(
        actor=actor,
        action="update",
        target_type="issue",
        target_id=str(issue.pk),
        place_code=issue.community_id,
        summary=f"议题 {issue.title}：{current.label} → {target.label}",
        changes={"status": [str(current), str(target)], "reason": reason, "on": day.isoformat()},
    )
    return issue


# --- into the classroom (议题进课堂) ----------------------------------------------------------------------------


@transaction.atomic
def issue_topic_add(
    *,
    actor: Any,
    issue: Issue,
    organization: Organization | None = None,
    course: Course | None = None,
    note: str = "",
) -> tuple[IssueTopic, bool]:
    """Bring the issue into a learning community or a course (of the issue's street) as a topic. Idempotent per
    target: a second call returns ``(topic, False)``."""
    if organization is None and course is None:
        raise DomainError(_("请选择学习共同体或课程"), fields={"organization": [_("请选择学习共同体或课程")]})
    if organization is not None and not _same_street(issue.community_id, organization.place_id):
        raise _bad("organization", _("只能选择本街道的学习共同体"))
    if course is not None and not _same_street(issue.community_id, course.place_id):
        raise _bad("course", _("只能选择本街道的课程"))
    if len(note or "") > 300:
        raise _bad("note", _("不能超过 300 字"))
    issue = _locked(issue)  # one topic per target: concurrent calls wait here
    _not_finished(issue)
    existing = IssueTopic.objects.filter(issue=issue, organization=organization, course=course).first()
    if existing is not None:
        return existing, False
    topic = IssueTopic.objects.create(issue=issue, organization=organization, course=course, note=(note or "").strip())
    target = organization.name if organization is not None else course.title  # type: ignore[union-attr]
    audit_record(
        actor=actor,
        action="create",
        target_type="issue_topic",
        target_id=str(topic.pk),
        place_code=issue.community_id,
        summary=f"议题进课堂：{issue.title} → {target}",
    )
    return topic, True


def _link(*, actor: Any, issue: Issue, activity: Activity, purpose: str) -> tuple[IssueSession, bool]:
    existing = IssueSession.objects.filter(issue=issue, activity=activity).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            link = IssueSession.objects.create(issue=issue, activity=activity, purpose=(purpose or "").strip()[:100])
    except IntegrityError:
        return IssueSession.objects.get(issue=issue, activity=activity), False
    audit_record(
        actor=actor,
        action="create",
        target_type="issue_session",
        target_id=str(link.pk),
        place_code=issue.community_id,
        summary=f"议题活动：{issue.title} ← {activity.title}",
    )
    return link, True


@transaction.atomic
def issue_session_schedule(
    *,
    actor: Any,
    issue: Issue,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None = None,
    venue: str = "",
    kind: str = ActivityKind.DELIBERATION_MEETING,
    course: Course | None = None,
    teacher: Teacher | None = None,
    purpose: str = "",
) -> IssueSession:
    """Schedule a session for the issue: a deliberation meeting in its community (an Activity), or an expert lecture
    as a session of a course (which also makes the issue a topic of that course). Its attendance is the issue's
    deliberation attendance."""
    from gongzhi.activities.services import activity_create
    from gongzhi.learning.services import course_session_add

    if kind not in SESSION_KINDS:
        raise _bad("kind", _("不是可选的值"))
    if not (title or "").strip():
        raise _bad("title", _("必填"))
    if len(purpose or "") > 100:
        raise _bad("purpose", _("不能超过 100 字"))
    issue = _locked(issue)
    _not_finished(issue)
    if kind == ActivityKind.COURSE_SESSION:
        if course is None:
            raise _bad("course", _("专家讲座请选择所属课程"))
        if not _same_street(issue.community_id, course.place_id):
            raise _bad("course", _("只能选择本街道的课程"))
        if teacher is not None and not (
            teacher.place_id[:6] == issue.community_id[:6] or issue.community_id.startswith(prefix_of(teacher.place_id))
        ):
            raise _bad("teacher", _("只能选择本区的师资"))
        session = course_session_add(
            actor=actor,
            course=course,
            starts_at=starts_at,
            ends_at=ends_at,
            venue=venue,
            teacher=teacher,
            place=issue.community,
            title=title,
        )
        activity = session.activity
        issue_topic_add(actor=actor, issue=issue, course=course)
    else:
        if teacher is not None:
            raise _bad("teacher", _("议事会不需要授课教师；专家讲座请选择课程"))
        activity = activity_create(
            actor=actor,
            place=issue.community,
            kind=ActivityKind.DELIBERATION_MEETING,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            venue=venue,
            description=purpose,
        )
    link, _created = _link(actor=actor, issue=issue, activity=activity, purpose=purpose)
    return link


@transaction.atomic
def issue_session_link(*, actor: Any, issue: Issue, activity: Activity, purpose: str = "") -> tuple[IssueSession, bool]:
    """Link an existing activity of the issue's street to the issue. Idempotent: ``(link, False)`` the second time."""
    if not _same_street(issue.community_id, activity.place_id):
        raise _bad("activity", _("只能关联本街道的活动"))
    issue = _locked(issue)
    _not_finished(issue)
    return _link(actor=actor, issue=issue, activity=activity, purpose=purpose)


# --- discussion -------------------------------------------------------------------------------------------------


@transaction.atomic
def comment_post(*, user: Any, issue: Issue, body: str) -> Comment:
    """A resident of the issue's community (an IssueAction "comment" is written) or staff covering it comments."""
    body = (body or "").strip()
    if not body:
        raise _bad("body", _("必填"))
    if len(body) > MAX_COMMENT:
        raise _bad("body", _("不能超过 %(n)d 字") % {"n": MAX_COMMENT})
    resident = _current_resident_of(user, issue.community_id)
    if resident is None and not _is_staff_for(user, issue.community_id):
        raise PermissionDenied(_("只有本社区居民可以参与讨论"))
    issue = Issue.objects.select_for_update(of=("self",)).get(pk=issue.pk)
    _not_finished(issue)
    comment = Comment.objects.create(issue=issue, author=resident, author_user=acting_user(user), body=body)
    if resident is not None:
        _action(issue, resident, IssueActionKind.COMMENT)
    else:
        audit_record(
            actor=user,
            action="create",
            target_type="comment",
            target_id=str(comment.pk),
            place_code=issue.community_id,
            summary=f"工作人员评论议题 {issue.title}",
        )
    return comment


@transaction.atomic
def comment_hide(*, actor: Any, comment: Comment, reason: str) -> Comment:
    """Staff hide a comment with a reason; its open reports are resolved. Hiding a hidden comment changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("隐藏评论时请填写理由"), fields={"reason": [_("必填")]})
    if len(reason) > 300:
        raise _bad("reason", _("不能超过 300 字"))
    comment = Comment.objects.select_for_update(of=("self",)).select_related("issue").get(pk=comment.pk)
    if comment.hidden_at is not None:
        return comment
    now = timezone.now()
    comment.hidden_at = now
    comment.hidden_reason = reason
    comment.hidden_by = acting_user(actor)
    comment.save(update_fields=["hidden_at", "hidden_reason", "hidden_by", "updated_at"])
    CommentReport.objects.filter(comment=comment, resolved_at__isnull=True).update(resolved_at=now, updated_at=now)
    audit_record(
        actor=actor,
        action="update",
        target_type="comment",
        target_id=str(comment.pk),
        place_code=comment.issue.community_id,
        summary=f"隐藏评论（{comment.issue.title}）",
        changes={"reason": reason},
    )
    return comment


@transaction.atomic
def comment_reports_dismiss(*, actor: Any, comment: Comment) -> int:
    """Staff keep a reported comment visible: its open reports are resolved. Returns how many were resolved."""
    now = timezone.now()
    count = CommentReport.objects.filter(comment=comment, resolved_at__isnull=True).update(
        resolved_at=now, updated_at=now
    )
    if count:
        audit_record(
            actor=actor,
            action="update",
            target_type="comment",
            target_id=str(comment.pk),
            place_code=comment.issue.community_id,
            summary="举报核查后保留评论",
        )
    return count


@transaction.atomic
def comment_report(*, user: Any, comment: Comment, reason: str) -> CommentReport:
    """Report a comment as abusive — once per reporter (the database constraint decides)."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("请先登录"))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写举报理由"), fields={"reason": [_("必填")]})
    if len(reason) > 300:
        raise _bad("reason", _("不能超过 300 字"))
    if comment.hidden_at is not None:
        raise Conflict(_("该评论已被隐藏"), code="comment_hidden")
    try:
        with transaction.atomic():
            return CommentReport.objects.create(comment=comment, reporter=user, reason=reason)
    except IntegrityError as exc:
        raise Conflict(_("您已经举报过这条评论"), code="already_reported") from exc


# --- proposals --------------------------------------------------------------------------------------------------


@transaction.atomic
def proposal_add(*, user: Any, issue: Issue, title: str, description: str = "") -> Proposal:
    """A resident of the issue's community proposes an option while the issue is open or under discussion."""
    title = (title or "").strip()
    if not title:
        raise _bad("title", _("必填"))
    if len(title) > 200:
        raise _bad("title", _("不能超过 200 字"))
    resident = _current_resident_of(user, issue.community_id)
    if resident is None:
        raise PermissionDenied(_("只有本社区居民可以提出方案"))
    issue = Issue.objects.select_for_update(of=("self",)).get(pk=issue.pk)
    if issue.status not in PROPOSING:
        raise Conflict(_("只有在议题提出或议事阶段才能提出方案"), code="not_proposing")
    proposal = Proposal(issue=issue, title=title, description=(description or "").strip(), proposed_by=resident)
    try:
        proposal.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    proposal.save(force_insert=True)
    _action(issue, resident, IssueActionKind.PROPOSE)
    return proposal


@transaction.atomic
def proposal_withdraw(*, user: Any, proposal: Proposal) -> Proposal:
    """The proposer (or staff covering the community) withdraws a proposal not yet put to a vote. Idempotent."""
    proposal = (
        Proposal.objects.select_for_update(of=("self",)).select_related("issue", "proposed_by").get(pk=proposal.pk)
    )
    issue = proposal.issue
    own = proposal.proposed_by is not None and proposal.proposed_by.user_id == getattr(user, "pk", None)
    staff = _is_staff_for(user, issue.community_id)
    if not (own or staff):
        raise PermissionDenied(_("只有提出人可以撤回方案"))
    if proposal.withdrawn_at is not None:
        return proposal
    if proposal.ballots.exists():
        raise Conflict(_("该方案已列入表决，不能撤回"), code="in_ballot")
    proposal.withdrawn_at = timezone.now()
    proposal.save(update_fields=["withdrawn_at", "updated_at"])
    if staff and not own:
        audit_record(
            actor=user,
            action="update",
            target_type="proposal",
            target_id=str(proposal.pk),
            place_code=issue.community_id,
            summary=f"撤回方案 {proposal.title}",
        )
    return proposal
