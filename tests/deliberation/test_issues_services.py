"""Issue services: the lifecycle (every legal and illegal move), photos, topics and sessions, discussion, proposals,
and the participation ledger (IssueAction)."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gongzhi.activities import services as activity_services
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied
from gongzhi.deliberation.models import (
    ISSUE_TRANSITIONS,
    Comment,
    CommentReport,
    Issue,
    IssueAction,
    IssuePhoto,
    IssueSession,
    IssueStatus,
    IssueStatusChange,
    IssueTopic,
    Proposal,
)
from gongzhi.deliberation.selectors import issues as selectors
from gongzhi.deliberation.services import issues as services
from gongzhi.learning import services as learning_services
from gongzhi.organizations import services as org_services
from tests import factories

from .test_issues_helpers import issue, jpeg, png, resident_with_account, webp, worker

pytestmark = pytest.mark.django_db

# The path from open to each status, through legal moves only.
PATH = {
    IssueStatus.OPEN: [],
    IssueStatus.DISCUSSING: [IssueStatus.DISCUSSING],
    IssueStatus.DECIDED: [IssueStatus.DISCUSSING, IssueStatus.DECIDED],
    IssueStatus.IMPLEMENTING: [IssueStatus.DISCUSSING, IssueStatus.DECIDED, IssueStatus.IMPLEMENTING],
    IssueStatus.CLOSED: [IssueStatus.DISCUSSING, IssueStatus.DECIDED, IssueStatus.IMPLEMENTING, IssueStatus.CLOSED],
    IssueStatus.REJECTED: [IssueStatus.REJECTED],
}
PAIRS = list(itertools.product(IssueStatus.values, IssueStatus.values))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def at_status(community, status, actor=None):
    i = issue(community)
    for step in PATH[IssueStatus(status)]:
        services.issue_transition(actor=actor, issue=i, to_status=step, reason="理由")
    i.refresh_from_db()
    assert i.status == status
    return i


@pytest.mark.parametrize(("start", "target"), PAIRS)
def test_every_transition_legal_or_refused(tree, start, target):
    user = worker(tree)
    i = at_status(tree.comm_a1, start)
    before = IssueStatusChange.objects.filter(issue=i).count()
    legal = target in ISSUE_TRANSITIONS[start]
    if legal:
        moved = services.issue_transition(actor=user, issue=i, to_status=target, reason="经居民议事会讨论")
        assert moved.status == target
        i.refresh_from_db()
        assert i.status == target
        change = IssueStatusChange.objects.filter(issue=i).order_by("-created_at").first()
        assert (change.from_status, change.to_status, change.changed_by) == (start, target, user)
        assert IssueStatusChange.objects.filter(issue=i).count() == before + 1
    else:
        snapshot = Issue.objects.filter(pk=i.pk).values().get()
        with pytest.raises(Conflict) as err:
            services.issue_transition(actor=user, issue=i, to_status=target, reason="越级")
        assert err.value.code == "illegal_transition"
        assert "不能从" in err.value.message and "to_status" in err.value.fields
        assert Issue.objects.filter(pk=i.pk).values().get() == snapshot, "nothing changed"
        assert IssueStatusChange.objects.filter(issue=i).count() == before, "no history row"


def test_each_step_sets_its_date(tree):
    i = issue(tree.comm_a1, raised_on=datetime.date(2026, 1, 5))
    days = {
        "discussing": ("discussed_on", datetime.date(2026, 2, 1)),
        "decided": ("decided_on", datetime.date(2026, 3, 1)),
        "implementing": ("implemented_on", datetime.date(2026, 4, 1)),
        "closed": ("closed_on", datetime.date(2026, 9, 1)),
    }
    for status, (field, day) in days.items():
        services.issue_transition(actor=None, issue=i, to_status=status, on=day)
        i.refresh_from_db()
        assert getattr(i, field) == day
    history = [(h.from_status, h.to_status) for h in selectors.issue_history(issue=i)]
    assert history == [
        ("", "open"),
        ("open", "discussing"),
        ("discussing", "decided"),
        ("decided", "implementing"),
        ("implementing", "closed"),
    ]


def test_rejection_needs_a_reason_and_keeps_it(tree):
    i = issue(tree.comm_a1)
    with pytest.raises(DomainError) as err:
        services.issue_transition(actor=None, issue=i, to_status="rejected", reason="  ")
    assert err.value.fields == {"reason": ["必填"]}
    i.refresh_from_db()
    assert i.status == "open" and IssueStatusChange.objects.filter(issue=i).count() == 1
    services.issue_transition(actor=None, issue=i, to_status="rejected", reason="属于市政道路，不在社区议事范围")
    i.refresh_from_db()
    assert (i.status, i.rejected_reason) == ("rejected", "属于市政道路，不在社区议事范围")


def test_bad_input_to_transition(tree):
    i = issue(tree.comm_a1, raised_on=datetime.date(2026, 5, 1))
    with pytest.raises(DomainError) as err:
        services.issue_transition(actor=None, issue=i, to_status="archived")
    assert "to_status" in err.value.fields
    with pytest.raises(DomainError) as err:
        services.issue_transition(actor=None, issue=i, to_status="discussing", on=datetime.date(2026, 4, 1))
    assert err.value.fields == {"on": ["日期不能早于提出日期"]}
    i.refresh_from_db()
    assert i.status == "open"


def test_resident_raises_in_own_community_only(tree):
    r = factories.resident(tree.comm_a1, name="张小明")
    i = services.issue_raise(actor=None, community=tree.comm_a1, title="楼道堆物", resident=r, category="environment")
    assert i.raised_by == r and i.status == "open"
    assert list(IssueAction.objects.filter(issue=i).values_list("resident", "action")) == [(r.pk, "raise")]
    with pytest.raises(PermissionDenied):
        services.issue_raise(actor=None, community=tree.comm_a2, title="别处的事", resident=r)
    assert Issue.objects.count() == 1


def test_staff_raise_writes_no_action_and_bad_input_writes_nothing(tree):
    i = services.issue_raise(actor=worker(tree), community=tree.comm_a1, title="议事会提出：停车难")
    assert i.raised_by is None and not IssueAction.objects.exists()
    for kwargs, field in [
        ({"community": tree.comm_a1, "title": " "}, "title"),
        ({"community": tree.street_a, "title": "街道"}, "community"),
        ({"community": tree.comm_a1, "title": "x", "category": "nope"}, "category"),
        ({"community": tree.comm_a1, "title": "x" * 201}, "title"),
    ]:
        with pytest.raises(DomainError) as err:
            services.issue_raise(actor=None, **kwargs)
        assert field in err.value.fields
    assert Issue.objects.count() == 1


@pytest.mark.parametrize("make", [png, jpeg, webp])
def test_photos_of_each_type_are_kept(tree, make):
    i = issue(tree.comm_a1, photos=[make()])
    assert IssuePhoto.objects.filter(issue=i).count() == 1
    services.issue_photo_add(actor=None, issue=i, file=make())
    assert IssuePhoto.objects.filter(issue=i).count() == 2


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("x.png", b"GIF89a" + b"\x00" * 50, content_type="image/png"),
            "只能上传 JPG、PNG 或 WebP 格式的图片",
        ),
        (
            SimpleUploadedFile("x.jpg", b"%PDF-1.4 hello", content_type="image/jpeg"),
            "只能上传 JPG、PNG 或 WebP 格式的图片",
        ),
        (
            SimpleUploadedFile("x.exe", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, content_type="image/png"),
            "文件扩展名与图片内容不符",
        ),
        (
            SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), content_type="image/jpeg"),
            "照片不能超过 5 MB",
        ),
        (SimpleUploadedFile("empty.png", b"", content_type="image/png"), "照片是空文件"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_written(tree, upload, message):
    with pytest.raises(DomainError) as err:
        issue(tree.comm_a1, photos=[upload])
    assert err.value.fields == {"photo": [message]}
    assert not Issue.objects.exists() and not IssuePhoto.objects.exists()
    i = issue(tree.comm_a1)
    upload.seek(0)
    with pytest.raises(DomainError):
        services.issue_photo_add(actor=None, issue=i, file=upload)
    assert not IssuePhoto.objects.exists()


def test_topics_are_idempotent_per_target_and_stay_in_the_street(tree):
    i = issue(tree.comm_a1)
    lc = org_services.organization_create(
        actor=None, place=tree.street_a, kind="learning_community", name="物业法学习小组"
    )
    course = learning_services.course_create(actor=None, place=tree.street_a, title="物权法与业主自治")
    far = learning_services.course_create(actor=None, place=tree.comm_b1, title="别的街道的课")
    t1, created1 = services.issue_topic_add(actor=None, issue=i, organization=lc, note="每月一次")
    t2, created2 = services.issue_topic_add(actor=None, issue=i, organization=lc)
    assert (created1, created2) == (True, False) and t1.pk == t2.pk
    _t3, created3 = services.issue_topic_add(actor=None, issue=i, course=course)
    assert created3 and IssueTopic.objects.filter(issue=i).count() == 2
    with pytest.raises(DomainError) as err:
        services.issue_topic_add(actor=None, issue=i, course=far)
    assert "course" in err.value.fields
    with pytest.raises(DomainError):
        services.issue_topic_add(actor=None, issue=i)
    assert IssueTopic.objects.filter(issue=i).count() == 2


def test_sessions_and_their_attendance(tree):
    user = worker(tree)
    i = issue(tree.comm_a1)
    start = timezone.now() + datetime.timedelta(days=3)
    meeting = services.issue_session_schedule(
        actor=user, issue=i, title="加装电梯居民议事会", starts_at=start, venue="社区活动室", purpose="协商"
    )
    assert meeting.activity.kind == "deliberation_meeting" and meeting.activity.place_id == tree.comm_a1.code
    course = learning_services.course_create(actor=None, place=tree.street_a, title="物业管理讲座")
    teacher = learning_services.teacher_create(actor=None, place=tree.street_a, name="李律师", expertise="物权法")
    lecture = services.issue_session_schedule(
        actor=user,
        issue=i,
        title="律师讲物权法",
        starts_at=start,
        kind="course_session",
        course=course,
        teacher=teacher,
    )
    assert lecture.activity.kind == "course_session"
    assert lecture.activity.course_session.course == course and lecture.activity.course_session.teacher == teacher
    assert IssueTopic.objects.filter(issue=i, course=course).exists(), (
        "an expert lecture brings the issue into the course"
    )
    with pytest.raises(DomainError) as err:
        services.issue_session_schedule(actor=user, issue=i, title="讲座", starts_at=start, kind="course_session")
    assert "course" in err.value.fields
    people = [factories.resident(tree.comm_a1, name=f"居民{n}") for n in range(3)]
    for r in people:
        activity_services.attendance_record(actor=user, activity=meeting.activity, resident=r, source="roster")
    activity_services.attendance_record(actor=user, activity=lecture.activity, resident=people[0], source="roster")
    activity_services.attendance_record(
        actor=user, activity=lecture.activity, resident=people[1], status="absent", source="roster"
    )
    present = {s.activity_id: s.present for s in selectors.issue_sessions(issue=i)}
    assert present == {meeting.activity_id: 3, lecture.activity_id: 1}
    assert selectors.deliberation_attendance(issue=i) == {"total": 4, "people": 3}
    # Linking an existing activity is idempotent.
    other = activity_services.activity_create(
        actor=user, place=tree.street_a, kind="learning_meeting", title="学习会", starts_at=start
    )
    _l1, c1 = services.issue_session_link(actor=user, issue=i, activity=other)
    _l2, c2 = services.issue_session_link(actor=user, issue=i, activity=other)
    assert (c1, c2) == (True, False) and IssueSession.objects.filter(issue=i).count() == 3


def test_comments_write_actions_and_are_refused_elsewhere_and_when_finished(tree):
    r = resident_with_account(tree.comm_a1, name="张小明")
    stranger = resident_with_account(tree.comm_a2, name="李四海")
    i = issue(tree.comm_a1)
    c = services.comment_post(user=r.user, issue=i, body="支持加装电梯")
    assert c.author == r
    assert IssueAction.objects.filter(issue=i, resident=r, action="comment").count() == 1
    staff_comment = services.comment_post(user=worker(tree), issue=i, body="周五开议事会")
    assert staff_comment.author is None and IssueAction.objects.filter(issue=i).count() == 1
    with pytest.raises(PermissionDenied):
        services.comment_post(user=stranger.user, issue=i, body="路过")
    with pytest.raises(DomainError) as err:
        services.comment_post(user=r.user, issue=i, body="   ")
    assert err.value.fields == {"body": ["必填"]}
    services.issue_transition(actor=None, issue=i, to_status="rejected", reason="不在范围")
    with pytest.raises(Conflict):
        services.comment_post(user=r.user, issue=i, body="还想说")
    assert Comment.objects.filter(issue=i).count() == 2


def test_moderation_hide_with_reason_and_report_once(tree):
    r = resident_with_account(tree.comm_a1, name="张小明")
    neighbour = resident_with_account(tree.comm_a1, name="王大妈")
    i = issue(tree.comm_a1)
    c = services.comment_post(user=r.user, issue=i, body="骂人的话")
    report = services.comment_report(user=neighbour.user, comment=c, reason="人身攻击")
    with pytest.raises(Conflict) as err:
        services.comment_report(user=neighbour.user, comment=c, reason="再举报一次")
    assert err.value.code == "already_reported"
    assert CommentReport.objects.filter(comment=c).count() == 1
    with pytest.raises(DomainError) as err:
        services.comment_report(user=neighbour.user, comment=c, reason="")
    with pytest.raises(DomainError) as err:
        services.comment_hide(actor=worker(tree), comment=c, reason=" ")
    assert err.value.fields == {"reason": ["必填"]}
    c.refresh_from_db()
    assert c.hidden_at is None
    services.comment_hide(actor=worker(tree), comment=c, reason="含人身攻击")
    c.refresh_from_db()
    report.refresh_from_db()
    assert c.hidden_at is not None and c.hidden_reason == "含人身攻击" and report.resolved_at is not None
    # Others see "已隐藏", staff see the text.
    shown = {x.pk: x.shown_body for x in selectors.issue_comments(user=neighbour.user, issue=i)}
    assert shown[c.pk] == "已隐藏"
    shown_staff = {x.pk: x.shown_body for x in selectors.issue_comments(user=worker(tree), issue=i)}
    assert shown_staff[c.pk] == "骂人的话"


def test_names_are_masked_except_for_staff(tree):
    r = resident_with_account(tree.comm_a1, name="张小明")
    i = issue(tree.comm_a1)
    services.comment_post(user=r.user, issue=i, body="同意")
    services.proposal_add(user=r.user, issue=i, title="每户分摊")
    neighbour = resident_with_account(tree.comm_a1, name="王大妈")
    assert [c.author_label for c in selectors.issue_comments(user=neighbour.user, issue=i)] == ["张*明"]
    assert [p.proposer_label for p in selectors.issue_proposals(user=neighbour.user, issue=i)] == ["张*明"]
    assert [c.author_label for c in selectors.issue_comments(user=worker(tree), issue=i)] == ["张小明"]


def test_proposals_by_residents_while_open_or_discussing(tree):
    r = resident_with_account(tree.comm_a1, name="张小明")
    other = resident_with_account(tree.comm_a2, name="李四海")
    i = issue(tree.comm_a1)
    p = services.proposal_add(user=r.user, issue=i, title="加装电梯，按楼层分摊", description="一楼不出钱")
    assert p.proposed_by == r
    assert IssueAction.objects.filter(issue=i, resident=r, action="propose").count() == 1
    with pytest.raises(PermissionDenied):
        services.proposal_add(user=other.user, issue=i, title="我也来")
    with pytest.raises(PermissionDenied):
        services.proposal_add(user=worker(tree), issue=i, title="工作人员不提方案")
    with pytest.raises(DomainError) as err:
        services.proposal_add(user=r.user, issue=i, title="")
    assert err.value.fields == {"title": ["必填"]}
    services.issue_transition(actor=None, issue=i, to_status="discussing")
    services.proposal_add(user=r.user, issue=i, title="第二个方案")
    services.issue_transition(actor=None, issue=i, to_status="decided")
    with pytest.raises(Conflict):
        services.proposal_add(user=r.user, issue=i, title="太晚了")
    assert Proposal.objects.filter(issue=i).count() == 2
    with pytest.raises(PermissionDenied):
        services.proposal_withdraw(user=other.user, proposal=p)
    services.proposal_withdraw(user=r.user, proposal=p)
    services.proposal_withdraw(user=r.user, proposal=p)  # idempotent
    p.refresh_from_db()
    assert p.withdrawn_at is not None
