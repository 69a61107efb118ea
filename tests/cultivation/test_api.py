"""Cultivate API: every response checked against the OpenAPI document; permission tables; a round end to end (enter,
score as two assessors, conflicted assessor refused, close twice, reply, publish, the public list without login); bad
input in the one error shape; constant query counts."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.organizations import services as org_services
from gongzhi.organizations.cultivation import services as cv
from gongzhi.organizations.models import AssessmentScore, RoundEntry, StageChange, SupplyItem, SupportRecord
from gongzhi.people.models import Role
from tests import factories
from tests.api.conftest import API, error_of

from .conftest import CRITERIA, assessor, enter, make_leader, org, resident_with_account, round_of, score

pytestmark = pytest.mark.django_db
d = datetime.date

PLACES = ["comm_a1", "comm_a2", "street_a", "comm_b1", "other_comm"]
GRANTS = {"community_worker": "comm_a1", "street_staff": "street_a", "admin": "district", "teacher": "street_a"}
SEES = {
    "community_worker": {"comm_a1"},
    "street_staff": {"comm_a1", "comm_a2", "street_a"},
    "admin": {"comm_a1", "comm_a2", "street_a", "comm_b1"},
    "teacher": set(),
}
TABLE = [(role, key, key in seen) for role, seen in SEES.items() for key in PLACES]


@pytest.mark.parametrize(("role", "key", "allowed"), TABLE)
def test_organization_cultivation_permission_table(make_client, tree, role, key, allowed):
    client = make_client(factories.staff(role, getattr(tree, GRANTS[role])))
    o = org(getattr(tree, key), f"组织{key}")
    criterion = cv.admission_criterion_add(actor=None, place=tree.province, text="有章程")
    code = 200 if allowed else 404
    assert client.get(f"{API}/organizations/{o.pk}/admission").status_code == code
    put = client.put(
        f"{API}/organizations/{o.pk}/admission/{criterion.pk}",
        data='{"met": true, "evidence": "章程文本", "checked_on": "2025-01-01"}',
        content_type="application/json",
    )
    assert put.status_code == code
    support = client.post_json(
        f"{API}/organizations/{o.pk}/support", {"kind": "training", "title": "培训", "starts_on": "2025-01-01"}
    )
    assert support.status_code == (201 if allowed else 404)
    supply = client.post_json(f"{API}/organizations/{o.pk}/supply", {"title": "四点半课堂"})
    assert supply.status_code == (201 if allowed else 404)
    stage = client.get(f"{API}/organizations/{o.pk}/stage-on?on=2025-01-01")
    assert stage.status_code == code
    assert SupportRecord.objects.filter(organization=o).exists() is allowed
    ids = {i["id"] for i in client.get(f"{API}/cultivation/support").json()["items"]}
    assert str(SupportRecord.objects.first().pk) in ids if allowed else ids == set()


def test_leader_keeps_the_supply_list_but_records_no_support(make_client, tree):
    o = org(tree.comm_a1, "驿站")
    leader = make_client(make_leader(o, tree.comm_a1))
    assert leader.get(f"{API}/organizations/{o.pk}/admission").status_code == 200
    made = leader.post_json(f"{API}/organizations/{o.pk}/supply", {"title": "暑期托管", "audience": "新市民子女"})
    assert made.status_code == 201
    changed = leader.patch_json(f"{API}/organizations/{o.pk}/supply/{made.json()['id']}", {"active": False})
    assert changed.status_code == 200 and changed.json()["active"] is False
    refused = leader.post_json(
        f"{API}/organizations/{o.pk}/support", {"kind": "training", "title": "培训", "starts_on": "2025-01-01"}
    )
    assert refused.status_code == 403
    member = resident_with_account(tree.comm_a1, name="成员乙")
    org_services.membership_add(actor=None, organization=o, resident=member)
    assert make_client(member.user).get(f"{API}/organizations/{o.pk}/supply").status_code == 404
    assert SupplyItem.objects.count() == 1 and not SupportRecord.objects.exists()


def test_support_bad_input_in_the_one_error_shape(make_client, tree):
    o = org(tree.comm_a1, "驿站")
    client = make_client(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    missing = client.post_json(
        f"{API}/organizations/{o.pk}/support", {"kind": "contract", "title": "购买服务", "starts_on": "2025-03-01"}
    )
    assert missing.status_code == 400
    assert set(error_of(missing)["fields"]) == {"amount", "ends_on", "deliverables"}
    bad = client.post_json(
        f"{API}/organizations/{o.pk}/support", {"kind": "x", "title": "", "starts_on": "2025-13-01", "amount": -1}
    )
    assert bad.status_code == 422 and set(error_of(bad)["fields"]) == {"kind", "title", "starts_on", "amount"}
    assert not SupportRecord.objects.exists()


def test_stage_change_api_needs_evidence_and_admission(make_client, tree):
    o = org(tree.comm_a1, "互助会", founded_on=d(2024, 1, 1))
    c = cv.admission_criterion_add(actor=None, place=tree.street_a, text="有章程")
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    url = f"{API}/organizations/{o.pk}/stage-changes"
    bare = client.post_json(url, {"to_stage": "incubating"})
    assert bare.status_code == 422 and set(error_of(bare)["fields"]) == {"reason", "evidence"}
    unmet = client.post_json(
        url, {"to_stage": "incubating", "changed_on": "2025-01-01", "reason": "入驻", "evidence": "协议"}
    )
    assert unmet.status_code == 400 and error_of(unmet)["code"] == "admission_unmet"
    assert "有章程" in error_of(unmet)["message"]
    checked = client.put(
        f"{API}/organizations/{o.pk}/admission/{c.pk}",
        data='{"met": true, "evidence": "章程", "checked_on": "2024-12-01"}',
        content_type="application/json",
    )
    assert checked.status_code == 200 and checked.json()["met"] == 1
    ok = client.post_json(
        url, {"to_stage": "incubating", "changed_on": "2025-01-01", "reason": "入驻", "evidence": "协议"}
    )
    assert ok.status_code == 201 and ok.json()["decided_by"]
    assert client.get(f"{API}/organizations/{o.pk}/stage-on?on=2024-12-31").json()["stage"] == "grassroots"
    assert client.get(f"{API}/organizations/{o.pk}/stage-on?on=2025-01-01").json()["stage"] == "incubating"
    assert client.get(f"{API}/organizations/{o.pk}/stage-on?on=2023-12-31").json()["stage"] is None
    board = client.get(f"{API}/cultivation/stage-board?place={tree.street_a.code}&year=2025").json()
    assert board["counts"]["incubating"] == 1
    assert board["moves"] == [{"from_stage": "grassroots", "to_stage": "incubating", "count": 1}]
    assert StageChange.objects.filter(organization=o).count() == 2


def test_a_round_end_to_end_through_the_api(make_client, anon, tree):
    staff_user = factories.staff(Role.STREET_STAFF, tree.street_a)
    staff = make_client(staff_user)
    scheme = staff.post_json(
        f"{API}/cultivation/schemes",
        {"place_code": tree.street_a.code, "year": 2025, "name": "评估方案", "criteria": CRITERIA},
    )
    assert scheme.status_code == 201 and scheme.json()["version"] == 1
    bad_scheme = staff.post_json(
        f"{API}/cultivation/schemes",
        {"place_code": tree.street_a.code, "year": 2025, "name": "x", "criteria": [{"code": "a", "name": "甲", "weight": 0.5, "max": 10}]},
    )  # fmt: skip
    assert bad_scheme.status_code == 400 and "各项权重之和应为 1" in error_of(bad_scheme)["fields"]["criteria"][0]
    sid = scheme.json()["id"]
    rnd = staff.post_json(
        f"{API}/cultivation/rounds",
        {"scheme_id": sid, "name": "年度评选", "quotas": {"studio": 1, "quality_org": 1}, "warn_last": 1},
    )
    assert rnd.status_code == 201
    rid = rnd.json()["id"]
    # Editing the scheme now makes a new version.
    edited = staff.put(
        f"{API}/cultivation/schemes/{sid}",
        data=json.dumps({"year": 2025, "name": "评估方案（修订）", "criteria": CRITERIA}),
        content_type="application/json",
    )
    assert edited.status_code == 201 and edited.json()["version"] == 2 and edited.json()["id"] != sid
    orgs = {name: org(tree.comm_a1, name) for name in ("工作室甲", "工作室乙", "互助会", "巡防队")}
    for name, category in (
        ("工作室甲", "studio"),
        ("工作室乙", "studio"),
        ("互助会", "quality_org"),
        ("巡防队", "quality_org"),
    ):
        entered = staff.post_json(
            f"{API}/cultivation/rounds/{rid}/entries", {"organization_id": str(orgs[name].pk), "category": category}
        )
        assert entered.status_code == 201
    again = staff.post_json(
        f"{API}/cultivation/rounds/{rid}/entries",
        {"organization_id": str(orgs["互助会"].pk), "category": "quality_org"},
    )
    assert again.status_code == 200
    other = staff.post_json(
        f"{API}/cultivation/rounds/{rid}/entries", {"organization_id": str(orgs["互助会"].pk), "category": "studio"}
    )
    assert other.status_code == 409
    a_user = factories.staff(Role.STREET_STAFF, tree.street_b)
    leader_user = make_leader(orgs["互助会"], tree.comm_a1)  # an assessor who leads one of the entries
    for user in (a_user, leader_user):
        added = staff.post_json(f"{API}/cultivation/rounds/{rid}/assessors", {"phone": user.phone})
        assert added.status_code == 201
    assert staff.post_json(f"{API}/cultivation/rounds/{rid}/assessors", {"phone": a_user.phone}).status_code == 200
    assert staff.post_json(f"{API}/cultivation/rounds/{rid}/assessors", {"phone": "13012345678"}).status_code == 400
    a, leader = make_client(a_user), make_client(leader_user)
    tasks = leader.get(f"{API}/me/assessments").json()
    conflicted = {t["organization_name"]: t["conflicted"] for t in tasks[0]["tasks"]}
    assert conflicted == {"工作室甲": False, "工作室乙": False, "互助会": True, "巡防队": False}
    entries = {
        e["organization_name"]: e["id"] for e in a.get(f"{API}/cultivation/rounds/{rid}/entries").json()["items"]
    }
    refused = leader.put(
        f"{API}/cultivation/entries/{entries['互助会']}/score",
        data='{"scores": {"service": 100, "governance": 100, "growth": 10}}',
        content_type="application/json",
    )
    assert refused.status_code == 403 and error_of(refused)["code"] == "conflict_of_interest"
    bad = a.put(
        f"{API}/cultivation/entries/{entries['互助会']}/score",
        data='{"scores": {"service": 101, "governance": 1}}',
        content_type="application/json",
    )
    assert bad.status_code == 400 and set(error_of(bad)["fields"]) == {"service", "growth"}
    assert not AssessmentScore.objects.exists()
    values = {"工作室甲": (90, 90, 9), "工作室乙": (60, 60, 6), "互助会": (80, 80, 8), "巡防队": (70, 70, 7)}
    for client in (a, leader):
        for name, (s1, s2, s3) in values.items():
            if client is leader and name == "互助会":
                continue
            put = client.put(
                f"{API}/cultivation/entries/{entries[name]}/score",
                data=f'{{"scores": {{"service": {s1}, "governance": {s2}, "growth": {s3}}}}}',
                content_type="application/json",
            )
            assert put.status_code == 200 and put.json()["total"] == f"{s1}.000"
    assert a.post(f"{API}/cultivation/rounds/{rid}/close").status_code == 403, "an assessor does not close"
    closed = staff.post(f"{API}/cultivation/rounds/{rid}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    results = staff.get(f"{API}/cultivation/rounds/{rid}/entries").json()["items"]
    outcome = {e["organization_name"]: (e["rank"], e["outcome"], e["score_count"]) for e in results}
    assert outcome == {
        "工作室甲": (1, "selected", 2),
        "工作室乙": (2, "warned", 2),
        "互助会": (1, "selected", 1),
        "巡防队": (2, "warned", 2),
    }
    snapshot = list(RoundEntry.objects.order_by("pk").values_list("total", "rank", "outcome", "updated_at"))
    assert staff.post(f"{API}/cultivation/rounds/{rid}/close").status_code == 200
    assert list(RoundEntry.objects.order_by("pk").values_list("total", "rank", "outcome", "updated_at")) == snapshot
    late = a.put(
        f"{API}/cultivation/entries/{entries['巡防队']}/score",
        data='{"scores": {"service": 100, "governance": 100, "growth": 10}}',
        content_type="application/json",
    )
    assert late.status_code == 409
    # The warned studio's leader replies before publication.
    studio_leader = make_client(make_leader(orgs["工作室乙"], tree.comm_a1, "孙领队"))
    replied = studio_leader.post_json(
        f"{API}/cultivation/entries/{entries['工作室乙']}/reply", {"reply": "骨干流失，已补充"}
    )
    assert replied.status_code == 200 and replied.json()["reply"] == "骨干流失，已补充"
    assert leader.post_json(f"{API}/cultivation/entries/{entries['工作室乙']}/reply", {"reply": "x"}).status_code == 403
    published = staff.post(f"{API}/cultivation/rounds/{rid}/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert staff.post(f"{API}/cultivation/rounds/{rid}/publish").status_code == 200
    assert (
        studio_leader.post_json(f"{API}/cultivation/entries/{entries['工作室乙']}/reply", {"reply": "y"}).status_code
        == 409
    )
    selected = {e["organization_name"]: e["outcome"] for e in anon_entries(staff, rid)}
    assert [n for n, o in selected.items() if o == "selected"] == ["工作室甲", "互助会"]
    public = anon.get(f"/selections/{rid}/")
    assert public.status_code == 200 and "工作室甲" in public.content.decode()


def anon_entries(client, rid):
    return client.get(f"{API}/cultivation/rounds/{rid}/entries").json()["items"]


def test_round_permission_table(make_client, tree):
    rnd = round_of(tree.street_a)
    expected = {
        ("street_staff", "street_a"): 200,
        ("admin", "district"): 200,
        ("community_worker", "comm_a1"): 404,
        ("street_staff", "street_b"): 404,
        ("teacher", "street_a"): 404,
    }
    for (role, place), status in expected.items():
        client = make_client(factories.staff(role, getattr(tree, place)))
        assert client.get(f"{API}/cultivation/rounds/{rnd.pk}").status_code == status, (role, place)
        ids = {r["id"] for r in client.get(f"{API}/cultivation/rounds").json()["items"]}
        assert (str(rnd.pk) in ids) is (status == 200)
        close = client.post(f"{API}/cultivation/rounds/{rnd.pk}/close")
        assert close.status_code == (400 if status == 200 else 404)  # 400: no entries yet


def test_anonymous_gets_401(anon, tree):
    o = org(tree.comm_a1, "驿站")
    for path in (f"/organizations/{o.pk}/admission", "/cultivation/rounds", "/me/assessments", "/cultivation/schemes"):
        assert anon.get(API + path).status_code == 401


def test_list_apis_keep_a_constant_query_count(make_client, tree):
    staff = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    rnd = round_of(tree.street_a, quotas={"quality_org": 50})
    user = assessor(tree.street_a)
    cv.round_assessor_add(actor=None, round=rnd, user=user)
    station = org(tree.comm_a1, "驿站")

    def grow(n: int, start: int) -> None:
        for i in range(start, start + n):
            o = org(tree.comm_a2, f"组织{i}")
            score(user, enter(rnd, o), 70, 70, 7)
            cv.support_record_add(
                actor=None, organization=station, kind="training", title=f"培训{i}", starts_on=d(2025, 1, 1)
            )
            cv.supply_item_add(actor=None, organization=o, title=f"服务{i}")

    paths = [
        f"{API}/cultivation/rounds/{rnd.pk}/entries",
        f"{API}/cultivation/rounds",
        f"{API}/cultivation/support",
        f"{API}/cultivation/supply",
        f"{API}/organizations/{station.pk}/support",
        f"{API}/cultivation/rounds/{rnd.pk}/assessors",
        f"{API}/cultivation/stage-board?place={tree.street_a.code}",
    ]

    def counts() -> list[int]:
        row = []
        for path in paths:
            with CaptureQueriesContext(connection) as ctx:
                assert staff.get(path).status_code == 200, path
            row.append(len(ctx.captured_queries))
        return row

    grow(2, 0)
    few = counts()
    grow(10, 2)
    assert counts() == few


def test_openapi_documents_the_cultivation_operations(openapi_spec):
    paths = openapi_spec["paths"]
    for path in (
        "/api/v1/cultivation/stage-board",
        "/api/v1/organizations/{organization_id}/stage-on",
        "/api/v1/organizations/{organization_id}/admission",
        "/api/v1/organizations/{organization_id}/support",
        "/api/v1/organizations/{organization_id}/supply",
        "/api/v1/cultivation/schemes",
        "/api/v1/cultivation/rounds/{round_id}/close",
        "/api/v1/cultivation/rounds/{round_id}/publish",
        "/api/v1/cultivation/entries/{entry_id}/score",
        "/api/v1/cultivation/entries/{entry_id}/reply",
    ):
        assert path in paths, path
