"""Needs API: report (idempotent), lists for staff / residents / partners, ranked candidates, match / unmatch / cancel
with 409 on illegal moves, fulfil and rate; bad input in the one error shape; constant query counts. Every response
is checked against the OpenAPI document by the API client of tests/api."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.activities.fulfilment import services as fulfilment
from gongzhi.activities.models import Activity
from gongzhi.people.models import Role
from gongzhi.resources.models import Need, Rating
from gongzhi.resources.services import needs as services
from tests import factories
from tests.api.conftest import API, anon, error_of, make_client, openapi_checker, openapi_spec  # noqa: F401

from .conftest import need, past_activity, present, provider, resident_with_account, resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def lecture(tree):
    return resource(provider("浙商银行", place=tree.street_a), "防诈骗讲座", kind="course", area=[tree.comm_a1])


def test_resident_reports_and_a_double_submit_returns_the_same(make_client, tree):  # noqa: F811
    r = resident_with_account(tree.comm_a1, name="李阿姨")
    client = make_client(r.user)
    payload = {"title": "想学用手机挂号", "resource_kind": "course", "preferred_time": "周末上午"}
    first = client.post_json(f"{API}/needs", payload)
    assert first.status_code == 201
    body = first.json()
    assert body["community_code"] == tree.comm_a1.code and body["status"] == "open" and body["direction"] == "report"
    assert body["raised_by"] == "" and body["activities"] == [] and body["can_rate"] is False
    again = client.post_json(f"{API}/needs", payload)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert Need.objects.count() == 1
    mine = client.get(f"{API}/me/needs").json()
    assert [item["id"] for item in mine["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"title": "x", "resource_kind": "course", "community_code": "330102001002"}, 403, "community_code"),
        ({"title": "x", "resource_kind": "course", "direction": "survey"}, 400, "direction"),
        ({"title": "x", "resource_kind": "course", "raised_on": "2025-01-01"}, 400, "raised_on"),
        ({"title": "", "resource_kind": "course"}, 422, "title"),
        ({"title": "x", "resource_kind": "spaceship"}, 422, "resource_kind"),
        ({"title": "x"}, 422, "resource_kind"),
        ({"title": "x", "resource_kind": "course", "community_code": "999"}, 422, "community_code"),
        ({"title": "x", "resource_kind": "course", "community_code": "330102001999"}, 400, "community_code"),
    ],
)
def test_bad_reports_answer_in_one_shape_and_write_nothing(make_client, tree, payload, status, field):  # noqa: F811
    r = resident_with_account(tree.comm_a1, name="李阿姨")
    resp = make_client(r.user).post_json(f"{API}/needs", payload)
    assert resp.status_code == status
    assert field in error_of(resp)["fields"]
    assert not Need.objects.exists()


def test_malformed_json_and_anonymous(make_client, anon, tree):  # noqa: F811
    r = resident_with_account(tree.comm_a1, name="李阿姨")
    resp = make_client(r.user).post(f"{API}/needs", "{not json", content_type="application/json")
    assert resp.status_code == 400 and error_of(resp)["code"] == "invalid"
    assert anon.get(f"{API}/needs").status_code == 401
    assert anon.post_json(f"{API}/needs", {"title": "x", "resource_kind": "course"}).status_code == 401


def test_staff_record_list_and_see_the_raiser(make_client, tree):  # noqa: F811
    staff = factories.staff("street_staff", tree.street_a)
    client = make_client(staff)
    made = client.post_json(
        f"{API}/needs",
        {"community_code": tree.comm_a2.code, "title": "家长课堂", "resource_kind": "teacher", "direction": "survey"},
    )
    assert made.status_code == 201 and made.json()["direction"] == "survey"
    elsewhere = client.post_json(
        f"{API}/needs", {"community_code": tree.comm_b1.code, "title": "别处", "resource_kind": "course"}
    )
    assert elsewhere.status_code == 403 and error_of(elsewhere)["fields"] == {"community_code": ["您无权执行此操作"]}
    r = factories.resident(tree.comm_a1, name="李阿姨")
    services.need_report(actor=None, community=tree.comm_a1, resident=r, title="想学理财", resource_kind="course")
    items = client.get(f"{API}/needs").json()["items"]
    assert {i["title"]: i["raised_by"] for i in items} == {"家长课堂": "", "想学理财": "李阿姨"}
    assert [i["title"] for i in client.get(f"{API}/needs?direction=survey").json()["items"]] == ["家长课堂"]
    assert [i["title"] for i in client.get(f"{API}/needs?resource_kind=course").json()["items"]] == ["想学理财"]
    assert client.get(f"{API}/needs?place={tree.comm_a2.code}").json()["count"] == 1
    assert client.get(f"{API}/needs?place={tree.comm_b1.code}").status_code == 404
    assert client.get(f"{API}/needs?status=nonsense").status_code == 422


def test_residents_never_see_who_raised_a_need(make_client, tree):  # noqa: F811
    raiser = resident_with_account(tree.comm_a1, name="李阿姨")
    neighbour = resident_with_account(tree.comm_a1, name="王大爷")
    n, _ = services.need_report(
        actor=None, community=tree.comm_a1, resident=raiser, title="想学理财", resource_kind="course"
    )
    client = make_client(neighbour.user)
    assert client.get(f"{API}/needs").json()["items"] == [], "residents see no staff list"
    items = client.get(f"{API}/me/community-needs").json()["items"]
    assert [i["id"] for i in items] == [str(n.pk)] and items[0]["raised_by"] == ""
    detail = client.get(f"{API}/needs/{n.pk}")
    assert detail.status_code == 200 and "李" not in detail.content.decode()
    assert client.get(f"{API}/me/needs").json()["items"] == []
    assert client.get(f"{API}/needs/{n.pk}/candidates").status_code == 403
    far = resident_with_account(tree.comm_b1, name="陈先生")
    assert make_client(far.user).get(f"{API}/needs/{n.pk}").status_code == 404


def test_candidates_match_unmatch_cancel(make_client, tree, lecture):  # noqa: F811
    staff = factories.staff("community_worker", tree.comm_a1)
    venue = resource(lecture.provider, "银行会议室", kind="venue", area=[tree.comm_a1])
    n = need(tree.comm_a1)
    client = make_client(staff)
    candidates = client.get(f"{API}/needs/{n.pk}/candidates").json()
    assert [c["resource_name"] for c in candidates] == ["防诈骗讲座", "银行会议室"]
    assert candidates[0]["score"] > candidates[1]["score"]
    assert [r["text"] for r in candidates[0]["reasons"]][:2] == ["同类资源", "服务范围覆盖本社区"]
    assert sum(r["points"] for r in candidates[0]["reasons"]) == pytest.approx(candidates[0]["score"], abs=0.3)
    unknown = client.post_json(f"{API}/needs/{n.pk}/match", {"resource_id": "00000000-0000-0000-0000-000000000000"})
    assert unknown.status_code == 400 and "resource_id" in error_of(unknown)["fields"]
    matched = client.post_json(f"{API}/needs/{n.pk}/match", {"resource_id": str(lecture.pk)})
    assert matched.status_code == 200
    body = matched.json()
    assert body["status"] == "matched" and body["resource_name"] == "防诈骗讲座" and "同类资源" in body["match_reasons"]
    assert client.get(f"{API}/needs/{n.pk}/candidates").json() == []
    other = client.post_json(f"{API}/needs/{n.pk}/match", {"resource_id": str(venue.pk)})
    assert other.status_code == 409 and error_of(other)["code"] == "already_matched"
    assert client.post_json(f"{API}/needs/{n.pk}/unmatch", {"reason": ""}).status_code == 422
    undone = client.post_json(f"{API}/needs/{n.pk}/unmatch", {"reason": "讲师排不开"})
    assert undone.status_code == 200 and undone.json()["status"] == "open" and undone.json()["resource_id"] is None
    cancelled = client.post_json(f"{API}/needs/{n.pk}/cancel", {"reason": "居民已解决"})
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_reason"] == "居民已解决"
    illegal = client.post_json(f"{API}/needs/{n.pk}/match", {"resource_id": str(lecture.pk)})
    assert illegal.status_code == 409 and error_of(illegal)["code"] == "illegal_transition"
    other_worker = make_client(factories.staff("community_worker", tree.comm_a2))
    assert other_worker.post_json(f"{API}/needs/{n.pk}/cancel", {"reason": "x"}).status_code == 404


def test_fulfil_and_rate(make_client, tree, lecture):  # noqa: F811
    staff = factories.staff("street_staff", tree.street_a)
    r = resident_with_account(tree.comm_a1, name="李阿姨")
    n = need(tree.comm_a1)
    client = make_client(staff)
    held = past_activity(tree.comm_a1, "社区讲座")
    not_yet = client.post_json(f"{API}/needs/{n.pk}/fulfil", {"activity_id": str(held.pk)})
    assert not_yet.status_code == 409 and error_of(not_yet)["code"] == "not_matched"
    services.need_match(actor=None, need=n, resource=lecture)
    both = client.post_json(
        f"{API}/needs/{n.pk}/fulfil",
        {"activity_id": str(held.pk), "new_activity": {"title": "x", "starts_at": timezone.now().isoformat()}},
    )
    assert both.status_code == 400 and "activity_id" in error_of(both)["fields"]
    far = past_activity(tree.other_comm, "外区讲座")
    hidden = client.post_json(f"{API}/needs/{n.pk}/fulfil", {"activity_id": str(far.pk)})
    assert hidden.status_code == 400 and "activity_id" in error_of(hidden)["fields"]
    next_street = past_activity(tree.comm_b1, "别的街道")
    wrong = make_client(factories.staff("admin", tree.district)).post_json(
        f"{API}/needs/{n.pk}/fulfil", {"activity_id": str(next_street.pk)}
    )
    assert wrong.status_code == 400 and "activity_id" in error_of(wrong)["fields"]
    done = client.post_json(f"{API}/needs/{n.pk}/fulfil", {"activity_id": str(held.pk)})
    assert done.status_code == 201
    assert done.json()["linked"] is True and done.json()["need"]["status"] == "fulfilled"
    again = client.post_json(f"{API}/needs/{n.pk}/fulfil", {"activity_id": str(held.pk)})
    assert again.status_code == 200 and again.json()["linked"] is False

    phone = make_client(r.user)
    absent = phone.post_json(f"{API}/needs/{n.pk}/ratings", {"score": 5})
    assert absent.status_code == 403
    present(held, r)
    assert phone.get(f"{API}/me/community-needs").json()["items"][0]["can_rate"] is True
    assert phone.post_json(f"{API}/needs/{n.pk}/ratings", {"score": 6}).status_code == 422
    rated = phone.post_json(f"{API}/needs/{n.pk}/ratings", {"score": 4, "comment": "实用"})
    assert rated.status_code == 201 and rated.json()["created"] is True
    assert rated.json()["resource_id"] == str(lecture.pk)
    twice = phone.post_json(f"{API}/needs/{n.pk}/ratings", {"score": 1})
    assert twice.status_code == 200 and twice.json()["created"] is False and twice.json()["score"] == 4
    assert Rating.objects.get().score == 4
    detail = phone.get(f"{API}/needs/{n.pk}").json()
    assert detail["my_score"] == 4 and detail["can_rate"] is False and detail["rating_count"] == 1
    assert detail["activities"][0]["title"] == "社区讲座"


def test_fulfil_with_a_new_activity(make_client, tree, lecture):  # noqa: F811
    staff = factories.staff("community_worker", tree.comm_a1)
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    client = make_client(staff)
    street = client.post_json(
        f"{API}/needs/{n.pk}/fulfil",
        {
            "new_activity": {
                "place_code": tree.street_a.code,
                "title": "街道讲座",
                "starts_at": timezone.now().isoformat(),
            }
        },
    )
    assert street.status_code == 403, "a community worker does not hold street activities"
    future = client.post_json(
        f"{API}/needs/{n.pk}/fulfil",
        {"new_activity": {"title": "未来", "starts_at": (timezone.now() + datetime.timedelta(days=3)).isoformat()}},
    )
    assert future.status_code == 400 and "new_activity.starts_at" in error_of(future)["fields"]
    assert not Activity.objects.exists()
    made = client.post_json(
        f"{API}/needs/{n.pk}/fulfil",
        {"new_activity": {"title": "防诈骗讲座", "starts_at": timezone.now().isoformat(), "venue": "活动室"}},
    )
    assert made.status_code == 201
    activity = Activity.objects.get(pk=made.json()["activity_id"])
    assert activity.place == tree.comm_a1 and activity.resources.get() == lecture


def test_partner_list(make_client, tree):  # noqa: F811
    partner = factories.staff(Role.RESOURCE_PARTNER, tree.street_a)
    bank = provider("银行", place=tree.street_a, members=[partner])
    mine = services.need_match(actor=None, need=need(tree.comm_a1, "甲"), resource=resource(bank, "讲座"))
    services.need_match(
        actor=None, need=need(tree.comm_a1, "乙"), resource=resource(provider("医院", kind="hospital"), "义诊")
    )
    items = make_client(partner).get(f"{API}/partner/needs").json()["items"]
    assert [i["id"] for i in items] == [str(mine.pk)] and items[0]["raised_by"] == ""
    assert make_client(factories.staff("street_staff", tree.street_a)).get(f"{API}/partner/needs").json()["count"] == 0


@pytest.mark.parametrize("path", ["/needs", "/me/needs", "/me/community-needs", "/partner/needs"])
def test_lists_keep_a_constant_number_of_queries(make_client, tree, lecture, path):  # noqa: F811
    partner = factories.staff(Role.RESOURCE_PARTNER, tree.street_a)
    lecture.provider.members.add(partner)
    me = resident_with_account(tree.comm_a1, name="李阿姨")
    user = {"/needs": factories.staff("street_staff", tree.street_a), "/partner/needs": partner}.get(path, me.user)
    client = make_client(user)

    def fill(n: int, offset: int) -> None:
        for i in range(n):
            found, _ = services.need_report(
                actor=None, community=tree.comm_a1, resident=me, title=f"需求{offset + i}", resource_kind="course",
                raised_on=timezone.localdate() - datetime.timedelta(days=5),
            )  # fmt: skip
            services.need_match(actor=None, need=found, resource=lecture)
            if i % 2:
                activity = past_activity(tree.comm_a1, f"活动{offset + i}")
                fulfilment.need_fulfil(actor=None, need=found, activity=activity)
                present(activity, me)

    fill(2, 0)
    client.get(f"{API}{path}")
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"{API}{path}").json()["count"] == 2
    fill(12, 100)
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"{API}{path}").json()["count"] == 14
    assert len(many) == len(few) <= 10
