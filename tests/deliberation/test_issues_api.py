"""Issues API: permission tables, the lifecycle with 409 on illegal moves, discussion and moderation, proposals,
topics and sessions, bad input in the one error shape, constant query counts. Every response is checked against the
OpenAPI document by the API client of tests/api."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.deliberation.models import Comment, CommentReport, Issue, IssueAction, IssueStatusChange, Proposal
from gongzhi.deliberation.services import issues as services
from gongzhi.learning import services as learning_services
from tests import factories
from tests.api.conftest import API, anon, error_of, make_client, openapi_checker, openapi_spec  # noqa: F401

from .test_issues_helpers import PLACES, STAFF_TABLE, issue, resident_with_account, staff_of, worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def issues(tree) -> dict[str, Issue]:
    return {key: issue(getattr(tree, key), title=f"议题{key}") for key in PLACES}


@pytest.mark.parametrize(("role", "key", "allowed"), STAFF_TABLE)
def test_staff_api_permission_table(make_client, tree, issues, role, key, allowed):  # noqa: F811 (pytest fixtures)
    client = make_client(staff_of(role, tree))
    i = issues[key]
    ids = {item["id"] for item in client.get(f"{API}/issues").json()["items"]}
    assert (str(i.pk) in ids) is allowed
    assert client.get(f"{API}/issues/{i.pk}").status_code == (200 if allowed else 404)
    moved = client.post_json(f"{API}/issues/{i.pk}/transitions", {"to_status": "discussing"})
    assert moved.status_code == (200 if allowed else 404)
    i.refresh_from_db()
    assert (i.status == "discussing") is allowed
    raised = client.post_json(f"{API}/issues", {"community_code": getattr(tree, key).code, "title": "工作人员登记"})
    assert raised.status_code == (201 if allowed else 403)
    if not allowed:
        assert error_of(raised)["fields"] == {"community_code": ["您无权执行此操作"]}


@pytest.mark.parametrize("key", PLACES)
def test_resident_api_permission_table(make_client, tree, issues, key):  # noqa: F811 (pytest fixtures)
    mine = key == "comm_a1"
    r = resident_with_account(tree.comm_a1, name="张小明")
    client = make_client(r.user)
    i = issues[key]
    assert client.get(f"{API}/issues").json()["items"] == [], "residents see no staff list"
    ids = {item["id"] for item in client.get(f"{API}/me/issues").json()["items"]}
    assert (str(i.pk) in ids) is mine
    assert client.get(f"{API}/issues/{i.pk}").status_code == (200 if mine else 404)
    comment = client.post_json(f"{API}/issues/{i.pk}/comments", {"body": "支持"})
    assert comment.status_code == (201 if mine else 404)
    proposal = client.post_json(f"{API}/issues/{i.pk}/proposals", {"title": "方案一"})
    assert proposal.status_code == (201 if mine else 404)
    moved = client.post_json(f"{API}/issues/{i.pk}/transitions", {"to_status": "discussing"})
    assert moved.status_code == (403 if mine else 404)
    i.refresh_from_db()
    assert i.status == "open"


def test_resident_raises_in_own_community(make_client, tree):  # noqa: F811 (pytest fixtures)
    r = resident_with_account(tree.comm_a1, name="张小明")
    client = make_client(r.user)
    created = client.post_json(f"{API}/issues", {"title": "小区加装电梯", "category": "estate"})
    assert created.status_code == 201
    body = created.json()
    assert body["community_code"] == tree.comm_a1.code and body["raised_by_resident"] is True
    assert IssueAction.objects.filter(issue_id=body["id"], resident=r, action="raise").count() == 1
    elsewhere = client.post_json(f"{API}/issues", {"title": "别处", "community_code": tree.comm_a2.code})
    assert elsewhere.status_code == 403
    assert Issue.objects.count() == 1


def test_lifecycle_and_illegal_moves(make_client, tree):  # noqa: F811 (pytest fixtures)
    client = make_client(worker(tree))
    i = issue(tree.comm_a1)
    illegal = client.post_json(f"{API}/issues/{i.pk}/transitions", {"to_status": "decided"})
    assert illegal.status_code == 409
    err = error_of(illegal)
    assert err["code"] == "illegal_transition" and "不能从「已提出」变为「已决策」" in err["message"]
    assert IssueStatusChange.objects.filter(issue=i).count() == 1
    no_reason = client.post_json(f"{API}/issues/{i.pk}/transitions", {"to_status": "rejected"})
    assert no_reason.status_code == 400 and error_of(no_reason)["fields"] == {"reason": ["必填"]}
    for step in ["discussing", "decided", "implementing", "closed"]:
        response = client.post_json(f"{API}/issues/{i.pk}/transitions", {"to_status": step, "on": "2030-01-01"})
        assert response.status_code == 200, response.content
    detail = response.json()
    assert detail["status"] == "closed" and detail["closed_on"] == "2030-01-01"
    assert [h["to_status"] for h in detail["history"]] == ["open", "discussing", "decided", "implementing", "closed"]
    bad = client.post_json(f"{API}/issues/{i.pk}/transitions", {"to_status": "archived"})
    assert bad.status_code == 422 and "to_status" in error_of(bad)["fields"]


def test_comments_moderation_and_reports(make_client, tree):  # noqa: F811 (pytest fixtures)
    author = resident_with_account(tree.comm_a1, name="张小明")
    reader = resident_with_account(tree.comm_a1, name="王大妈")
    i = issue(tree.comm_a1)
    c = services.comment_post(user=author.user, issue=i, body="不文明的话")
    rc = make_client(reader.user)
    listed = rc.get(f"{API}/issues/{i.pk}/comments").json()["items"]
    assert [x["author"] for x in listed] == ["张*明"]
    first = rc.post_json(f"{API}/comments/{c.pk}/reports", {"reason": "人身攻击"})
    second = rc.post_json(f"{API}/comments/{c.pk}/reports", {"reason": "人身攻击"})
    assert (first.status_code, second.status_code) == (201, 409)
    assert error_of(second)["code"] == "already_reported"
    assert CommentReport.objects.filter(comment=c).count() == 1
    assert rc.post_json(f"{API}/comments/{c.pk}/hide", {"reason": "x"}).status_code == 403
    sc = make_client(worker(tree))
    assert sc.get(f"{API}/issues/{i.pk}/comments").json()["items"][0]["author"] == "张小明"
    empty = sc.post_json(f"{API}/comments/{c.pk}/hide", {"reason": ""})
    assert empty.status_code == 422 and "reason" in error_of(empty)["fields"]
    hidden = sc.post_json(f"{API}/comments/{c.pk}/hide", {"reason": "不文明用语"})
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    shown = rc.get(f"{API}/issues/{i.pk}/comments").json()["items"][0]
    assert (shown["body"], shown["hidden_reason"]) == ("已隐藏", "")
    # Another community's staff: not found.
    other = make_client(factories.staff("community_worker", tree.comm_a2))
    assert other.post_json(f"{API}/comments/{c.pk}/hide", {"reason": "x"}).status_code == 404
    assert other.post_json(f"{API}/comments/{c.pk}/reports", {"reason": "x"}).status_code == 404


def test_closed_issue_refuses_comments_and_proposals(make_client, tree):  # noqa: F811 (pytest fixtures)
    r = resident_with_account(tree.comm_a1, name="张小明")
    i = issue(tree.comm_a1)
    services.issue_transition(actor=None, issue=i, to_status="rejected", reason="不在范围")
    client = make_client(r.user)
    assert client.post_json(f"{API}/issues/{i.pk}/comments", {"body": "还想说"}).status_code == 409
    assert client.post_json(f"{API}/issues/{i.pk}/proposals", {"title": "方案"}).status_code == 409
    empty = client.post_json(f"{API}/issues/{i.pk}/comments", {"body": ""})
    assert empty.status_code == 422
    assert not Comment.objects.exists() and not Proposal.objects.exists()


def test_proposals_and_withdraw(make_client, tree):  # noqa: F811 (pytest fixtures)
    r = resident_with_account(tree.comm_a1, name="张小明")
    i = issue(tree.comm_a1)
    client = make_client(r.user)
    created = client.post_json(f"{API}/issues/{i.pk}/proposals", {"title": "按楼层分摊", "description": "一楼免"})
    assert created.status_code == 201 and created.json()["proposer"] == "张*明"
    pid = created.json()["id"]
    assert IssueAction.objects.filter(issue=i, action="propose").count() == 1
    neighbour = make_client(resident_with_account(tree.comm_a1, name="王大妈").user)
    assert neighbour.post(f"{API}/proposals/{pid}/withdraw").status_code == 403
    withdrawn = client.post(f"{API}/proposals/{pid}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn"] is True


def test_topics_and_sessions(make_client, tree):  # noqa: F811 (pytest fixtures)
    client = make_client(worker(tree))
    i = issue(tree.comm_a1)
    course = learning_services.course_create(actor=None, place=tree.comm_a1, title="物权法")
    first = client.post_json(f"{API}/issues/{i.pk}/topics", {"course_id": str(course.pk)})
    again = client.post_json(f"{API}/issues/{i.pk}/topics", {"course_id": str(course.pk)})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["course_title"] == "物权法"
    nothing = client.post_json(f"{API}/issues/{i.pk}/topics", {})
    assert nothing.status_code == 400 and "organization" in error_of(nothing)["fields"]
    meeting = client.post_json(
        f"{API}/issues/{i.pk}/sessions",
        {"title": "电梯议事会", "starts_at": "2030-05-01T19:00:00+08:00", "venue": "活动室"},
    )
    assert meeting.status_code == 201 and meeting.json()["kind"] == "deliberation_meeting"
    lecture = client.post_json(
        f"{API}/issues/{i.pk}/sessions",
        {
            "kind": "course_session",
            "title": "律师讲座",
            "starts_at": "2030-05-02T19:00:00+08:00",
            "course_id": str(course.pk),
        },
    )
    assert lecture.status_code == 201 and lecture.json()["kind"] == "course_session"
    relink = client.post_json(
        f"{API}/issues/{i.pk}/sessions",
        {"title": "x", "starts_at": "2030-05-02T19:00:00+08:00", "activity_id": lecture.json()["activity_id"]},
    )
    assert relink.status_code == 200
    detail = client.get(f"{API}/issues/{i.pk}").json()
    assert len(detail["sessions"]) == 2 and detail["attendance_total"] == 0
    bad = client.post_json(
        f"{API}/issues/{i.pk}/sessions", {"kind": "volunteer_event", "title": "x", "starts_at": "no"}
    )
    assert bad.status_code == 422 and {"kind", "starts_at"} <= set(error_of(bad)["fields"])


def test_anonymous_is_refused(anon, tree):  # noqa: F811 (pytest fixtures)
    i = issue(tree.comm_a1)
    assert anon.get(f"{API}/issues").status_code == 401
    assert anon.get(f"{API}/issues/{i.pk}").status_code == 401


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_apis_have_constant_queries(make_client, tree):  # noqa: F811 (pytest fixtures)
    staff = make_client(factories.staff("street_staff", tree.street_a))
    r = resident_with_account(tree.comm_a1, name="张小明")
    res = make_client(r.user)
    i = issue(tree.comm_a1)
    services.comment_post(user=r.user, issue=i, body="一")
    services.proposal_add(user=r.user, issue=i, title="一")
    urls = [
        (staff, f"{API}/issues"),
        (res, f"{API}/me/issues"),
        (res, f"{API}/issues/{i.pk}/comments"),
        (res, f"{API}/issues/{i.pk}/proposals"),
    ]
    few = [_queries(c, u) for c, u in urls]
    for n in range(10):
        issue(tree.comm_a1 if n % 2 else tree.comm_a2, title=f"议题{n}")
        services.comment_post(user=r.user, issue=i, body=f"评论{n}")
        services.proposal_add(user=r.user, issue=i, title=f"方案{n}")
    assert [_queries(c, u) for c, u in urls] == few
