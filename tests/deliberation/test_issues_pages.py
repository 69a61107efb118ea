"""Issue pages: permission tables (role × community relation), the legal move buttons, moderation, the resident's
phone pages with masked names, bad input and query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.deliberation.models import (
    Comment,
    CommentReport,
    Issue,
    IssueAction,
    IssuePhoto,
    IssueStatusChange,
    Proposal,
)
from gongzhi.deliberation.services import issues as services
from gongzhi.learning import services as learning_services
from tests import factories

from .test_issues_helpers import PLACES, STAFF_TABLE, issue, png, resident_with_account, staff_of, worker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def issues(tree) -> dict[str, Issue]:
    return {key: issue(getattr(tree, key), title=f"议题{key}") for key in PLACES}


@pytest.mark.parametrize(("role", "key", "allowed"), STAFF_TABLE)
def test_staff_pages_permission_table(client, tree, issues, role, key, allowed):
    client.force_login(staff_of(role, tree))
    i = issues[key]
    listing = client.get(reverse("issue_list"))
    if role == "teacher":
        assert listing.status_code == 403
    else:
        assert listing.status_code == 200
        assert (i.title in listing.content.decode()) is allowed
    assert client.get(reverse("issue_detail", args=[i.pk])).status_code == (200 if allowed else 404)
    moved = client.post(reverse("issue_transition", args=[i.pk]), {"to_status": "discussing"})
    assert moved.status_code == (302 if allowed else 404)
    i.refresh_from_db()
    assert (i.status == "discussing") is allowed
    posted = client.post(reverse("issue_comment_post", args=[i.pk]), {"body": "工作人员说明"})
    assert posted.status_code == (302 if allowed else 404)
    assert Comment.objects.filter(issue=i).exists() is allowed


@pytest.mark.parametrize("key", PLACES)
def test_resident_pages_permission_table(client, tree, issues, key):
    mine = key == "comm_a1"
    r = resident_with_account(tree.comm_a1, name="张小明")
    client.force_login(r.user)
    i = issues[key]
    page = client.get(reverse("my_issues")).content.decode()
    assert (i.title in page) is mine
    assert client.get(reverse("my_issue_detail", args=[i.pk])).status_code == (200 if mine else 404)
    assert client.post(reverse("issue_comment_post", args=[i.pk]), {"body": "我同意"}).status_code == (
        302 if mine else 404
    )
    assert client.post(reverse("proposal_add", args=[i.pk]), {"title": "方案"}).status_code == (302 if mine else 404)
    assert Comment.objects.filter(issue=i).exists() is mine
    assert Proposal.objects.filter(issue=i).exists() is mine
    # Residents never move issues nor reach the staff pages.
    assert client.post(reverse("issue_transition", args=[i.pk]), {"to_status": "discussing"}).status_code in (403, 404)
    assert client.get(reverse("issue_list")).status_code == 403
    i.refresh_from_db()
    assert i.status == "open"


def test_only_legal_moves_are_offered_and_illegal_posts_change_nothing(client, tree):
    client.force_login(worker(tree))
    i = issue(tree.comm_a1)
    html = client.get(reverse("issue_detail", args=[i.pk])).content.decode()
    assert 'id="move-discussing"' in html and 'id="move-rejected"' in html
    assert 'id="move-decided"' not in html and 'id="move-closed"' not in html
    response = client.post(reverse("issue_transition", args=[i.pk]), {"to_status": "closed"}, follow=True)
    assert "不能从「已提出」变为「已办结」" in response.content.decode()
    i.refresh_from_db()
    assert i.status == "open" and IssueStatusChange.objects.filter(issue=i).count() == 1
    # Reject without a reason: a Chinese field error, nothing written.
    response = client.post(reverse("issue_transition", args=[i.pk]), {"to_status": "rejected", "reason": ""})
    assert response.status_code == 400
    assert "不予立项理由：这个字段是必填项。" in response.content.decode()
    i.refresh_from_db()
    assert i.status == "open"
    client.post(reverse("issue_transition", args=[i.pk]), {"to_status": "rejected", "reason": "不属于社区事务"})
    i.refresh_from_db()
    assert (i.status, i.rejected_reason) == ("rejected", "不属于社区事务")
    html = client.get(reverse("issue_detail", args=[i.pk])).content.decode()
    assert 'id="issue-moves"' not in html


def test_resident_raises_with_a_photo_and_bad_photo_is_refused(client, tree):
    r = resident_with_account(tree.comm_a1, name="张小明")
    client.force_login(r.user)
    bad = client.post(
        reverse("my_issue_new"),
        {"title": "楼道灯坏了", "category": "safety", "photo": _fake("x.png", b"not an image at all")},
    )
    assert bad.status_code == 200
    assert "照片：只能上传 JPG、PNG 或 WebP 格式的图片" in bad.content.decode()
    assert not Issue.objects.exists()
    missing = client.post(reverse("my_issue_new"), {"title": "", "category": "safety"})
    assert "议题：这个字段是必填项。" in missing.content.decode()
    ok = client.post(reverse("my_issue_new"), {"title": "楼道灯坏了", "category": "safety", "photo": png()})
    i = Issue.objects.get()
    assert ok.status_code == 302 and ok["Location"] == reverse("my_issue_detail", args=[i.pk])
    assert i.raised_by == r and IssueAction.objects.filter(issue=i, action="raise").count() == 1
    photo = IssuePhoto.objects.get(issue=i)
    served = client.get(reverse("issue_photo", args=[photo.pk]))
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    stranger = resident_with_account(tree.comm_a2, name="李四海")
    client.force_login(stranger.user)
    assert client.get(reverse("issue_photo", args=[photo.pk])).status_code == 404


def _fake(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="image/png")


def test_staff_registers_an_issue_for_a_covered_community_only(client, tree):
    client.force_login(worker(tree))
    form = client.get(reverse("issue_new")).content.decode()
    assert tree.comm_a1.code in form and tree.comm_a2.code not in form
    response = client.post(
        reverse("issue_new"),
        {"community": tree.comm_a2.code, "title": "越权", "category": "other", "raised_on": "2026-05-01"},
    )
    assert response.status_code == 200 and not Issue.objects.exists()
    response = client.post(
        reverse("issue_new"),
        {"community": tree.comm_a1.code, "title": "停车难", "category": "safety", "raised_on": "2026-05-01"},
    )
    assert response.status_code == 302
    assert Issue.objects.get().raised_by is None


def test_discussion_masks_names_for_residents_and_moderation_works(client, tree):
    author = resident_with_account(tree.comm_a1, name="张小明")
    reader = resident_with_account(tree.comm_a1, name="王大妈")
    i = issue(tree.comm_a1)
    c = services.comment_post(user=author.user, issue=i, body="这是一条不文明的评论")
    client.force_login(reader.user)
    html = client.get(reverse("my_issue_detail", args=[i.pk])).content.decode()
    assert "张*明" in html and "张小明" not in html
    assert client.post(reverse("comment_report", args=[c.pk]), {"reason": "不文明"}).status_code == 302
    again = client.post(reverse("comment_report", args=[c.pk]), {"reason": "再次"}, follow=True)
    assert "您已经举报过这条评论" in again.content.decode()
    assert CommentReport.objects.filter(comment=c).count() == 1
    # A resident may not hide.
    assert client.post(reverse("comment_hide", args=[c.pk]), {"reason": "x"}).status_code == 403
    staff = worker(tree)
    client.force_login(staff)
    html = client.get(reverse("issue_detail", args=[i.pk])).content.decode()
    assert "张小明" in html and "被举报 1 次" in html
    assert "有 1 条评论被举报" in client.get(reverse("issue_list")).content.decode()
    no_reason = client.post(reverse("comment_hide", args=[c.pk]), {"reason": ""}, follow=True)
    assert "隐藏评论时请填写理由" in no_reason.content.decode()
    c.refresh_from_db()
    assert c.hidden_at is None
    client.post(reverse("comment_hide", args=[c.pk]), {"reason": "不文明用语"})
    c.refresh_from_db()
    assert c.hidden_reason == "不文明用语"
    client.force_login(reader.user)
    html = client.get(reverse("my_issue_detail", args=[i.pk])).content.decode()
    assert "这是一条不文明的评论" not in html and "已隐藏" in html


def test_topic_and_session_forms(client, tree):
    client.force_login(worker(tree))
    i = issue(tree.comm_a1)
    course = learning_services.course_create(actor=None, place=tree.comm_a1, title="物权法与业主自治")
    html = client.get(reverse("issue_detail", args=[i.pk])).content.decode()
    assert f"course:{course.pk}" in html
    response = client.post(reverse("issue_topic_add", args=[i.pk]), {"target": f"course:{course.pk}", "note": "第三讲"})
    assert response.status_code == 302
    assert i.topics.get().course == course
    bad = client.post(reverse("issue_topic_add", args=[i.pk]), {"target": "course:nope"})
    assert bad.status_code == 400
    response = client.post(
        reverse("issue_session_add", args=[i.pk]),
        {"kind": "deliberation_meeting", "title": "电梯议事会", "starts_at": "2030-05-01T19:00", "venue": "活动室"},
    )
    assert response.status_code == 302
    assert i.sessions.get().activity.kind == "deliberation_meeting"
    bad = client.post(
        reverse("issue_session_add", args=[i.pk]),
        {"kind": "course_session", "title": "讲座", "starts_at": "2030-05-02T19:00"},
    )
    assert bad.status_code == 400 and "所属课程：专家讲座请选择所属课程" in bad.content.decode()
    bad = client.post(reverse("issue_session_add", args=[i.pk]), {"kind": "deliberation_meeting", "title": ""})
    assert bad.status_code == 400 and i.sessions.count() == 1


def test_navigation_entries(client, tree):
    r = resident_with_account(tree.comm_a1)
    client.force_login(r.user)
    html = client.get(reverse("my_issues")).content.decode()
    assert "社区议事" in html and reverse("issue_list") not in html
    client.force_login(worker(tree))
    html = client.get(reverse("issue_list")).content.decode()
    assert f'href="{reverse("issue_list")}"' in html


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_pages_have_constant_queries(client, tree):
    staff = factories.staff("street_staff", tree.street_a)
    r = resident_with_account(tree.comm_a1, name="张小明")
    i = issue(tree.comm_a1)
    services.comment_post(user=r.user, issue=i, body="一")
    client.force_login(staff)
    few_staff = _count(client, reverse("issue_list"))
    client.force_login(r.user)
    few_res = _count(client, reverse("my_issues"))
    few_detail = _count(client, reverse("my_issue_detail", args=[i.pk]))
    for n in range(12):
        j = issue(tree.comm_a1 if n % 2 else tree.comm_a2, title=f"议题{n}")
        services.comment_post(user=r.user, issue=i, body=f"评论{n}")
        services.proposal_add(user=r.user, issue=i, title=f"方案{n}")
        if n % 2:
            services.comment_post(user=r.user, issue=j, body="也说一句")
    client.force_login(staff)
    assert _count(client, reverse("issue_list")) == few_staff
    client.force_login(r.user)
    assert _count(client, reverse("my_issues")) == few_res
    assert _count(client, reverse("my_issue_detail", args=[i.pk])) == few_detail
