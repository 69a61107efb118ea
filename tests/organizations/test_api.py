"""Organisations API: permission tables, idempotent join/leave, review, bad input, constant query counts.

Every response is checked against the OpenAPI document by the API client of tests/api.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.organizations import services
from gongzhi.organizations.models import Membership, Organization, StageChange
from gongzhi.people.models import Role
from tests import factories
from tests.api.conftest import API, error_of

from .conftest import org, resident_with_account
from .test_pages import GRANTS, PLACES, SEES

pytestmark = pytest.mark.django_db

TABLE = [(role, key, key in seen) for role, seen in SEES.items() for key in PLACES]


@pytest.mark.parametrize(("role", "key", "allowed"), TABLE)
def test_staff_api_permission_table(make_client, tree, orgs, role, key, allowed):
    client = make_client(factories.staff(role, getattr(tree, GRANTS[role])))
    o = orgs[key]
    ids = {item["id"] for item in client.get(f"{API}/organizations").json()["items"]}
    assert (str(o.pk) in ids) is allowed
    detail = client.get(f"{API}/organizations/{o.pk}")
    assert detail.status_code == (200 if allowed else 404)
    members = client.get(f"{API}/organizations/{o.pk}/members")
    assert members.status_code == (200 if allowed else 404)
    change = client.post_json(
        f"{API}/organizations/{o.pk}/stage-changes",
        {"to_stage": "incubating", "reason": "入驻孵化基地", "evidence": "孵化协议"},
    )
    assert change.status_code == (201 if allowed else 404)
    assert StageChange.objects.filter(organization=o, to_stage="incubating").exists() is allowed
    created = client.post_json(
        f"{API}/organizations",
        {"place_code": getattr(tree, key).code, "kind": "volunteer_team", "name": "志愿服务队"},
    )
    assert created.status_code == (201 if allowed else 403)
    if not allowed:
        assert error_of(created)["fields"] == {"place_code": ["您无权执行此操作"]}


@pytest.mark.parametrize("key", PLACES)
def test_resident_api_permission_table(make_client, tree, orgs, key):
    near = key in {"comm_a1", "street_a"}
    r = resident_with_account(tree.comm_a1)
    client = make_client(r.user)
    o = orgs[key]
    assert client.get(f"{API}/organizations").json()["items"] == [], "residents see no staff list"
    near_ids = {item["id"] for item in client.get(f"{API}/organizations/near").json()["items"]}
    assert (str(o.pk) in near_ids) is near
    assert client.get(f"{API}/organizations/{o.pk}").status_code == (200 if near else 404)
    join = client.post(f"{API}/organizations/{o.pk}/join")
    assert join.status_code == (201 if near else 404)
    assert Membership.objects.filter(organization=o, resident=r).exists() is near
    members = client.get(f"{API}/organizations/{o.pk}/members")
    assert members.status_code == (403 if near else 404), "a member is not the leader: no member list"
    stage = client.post_json(
        f"{API}/organizations/{o.pk}/stage-changes", {"to_stage": "incubating", "reason": "r", "evidence": "e"}
    )
    assert stage.status_code == (403 if near else 404)


def test_join_and_leave_are_idempotent(make_client, tree, orgs):
    r = resident_with_account(tree.comm_a1)
    client = make_client(r.user)
    o = orgs["comm_a1"]
    first = client.post(f"{API}/organizations/{o.pk}/join")
    second = client.post(f"{API}/organizations/{o.pk}/join")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Membership.objects.filter(organization=o, resident=r).count() == 1
    mine = client.get(f"{API}/me/memberships").json()["items"]
    assert [m["organization_id"] for m in mine] == [str(o.pk)]
    assert client.post(f"{API}/organizations/{o.pk}/leave").status_code == 204
    assert client.post(f"{API}/organizations/{o.pk}/leave").status_code == 204
    assert not Membership.objects.filter(organization=o, resident=r, left_on__isnull=True).exists()
    assert client.post(f"{API}/organizations/{orgs['comm_b1'].pk}/leave").status_code == 404


def test_propose_review_and_members(make_client, tree):
    proposer = resident_with_account(tree.comm_a1, name="钱阿婆")
    joiner = resident_with_account(tree.comm_a1, name="孙秀兰")
    staff = make_client(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    resident = make_client(proposer.user)
    proposed = resident.post_json(
        f"{API}/organizations/proposals", {"name": "好婆婆学堂", "theme": "隔代养育", "charter": "每周三"}
    )
    assert proposed.status_code == 201
    body = proposed.json()
    assert body["status"] == "proposed" and body["place_code"] == tree.comm_a1.code
    assert body["proposed_by_masked"] == "钱*婆"
    org_id = body["id"]
    assert make_client(joiner.user).post(f"{API}/organizations/{org_id}/join").status_code == 404, "not active yet"
    rejected = staff.post_json(f"{API}/organizations/{org_id}/review", {"approve": False})
    assert rejected.status_code == 400 and error_of(rejected)["fields"] == {"note": ["必填"]}
    approved = staff.post_json(f"{API}/organizations/{org_id}/review", {"approve": True, "note": "欢迎"})
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert approved.json()["member_count"] == 1
    twice = staff.post_json(f"{API}/organizations/{org_id}/review", {"approve": True})
    assert twice.status_code == 409 and error_of(twice)["code"] == "already_reviewed"
    assert make_client(joiner.user).post(f"{API}/organizations/{org_id}/join").status_code == 201
    members = staff.get(f"{API}/organizations/{org_id}/members").json()["items"]
    assert [(m["name_masked"], m["role"]) for m in members] == [("钱*婆", "leader"), ("孙*兰", "member")]
    assert "钱阿婆" not in str(members)
    # The leader sees the member list of their own community.
    leader = make_client(proposer.user)
    assert leader.get(f"{API}/organizations/{org_id}/members").status_code == 200
    assert leader.post_json(f"{API}/organizations/{org_id}/review", {"approve": True}).status_code == 403


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"place_code": "330102001001", "kind": "learning_community", "name": ""}, "name"),
        ({"place_code": "330102001001", "kind": "club", "name": "x"}, "kind"),
        ({"place_code": "12", "kind": "studio", "name": "x"}, "place_code"),
        ({"place_code": "330102001009", "kind": "studio", "name": "x"}, "place_code"),
        ({"place_code": "330102000000", "kind": "studio", "name": "x"}, "place"),
        ({"place_code": "330102001001", "kind": "studio", "name": "x", "founded_on": "昨天"}, "founded_on"),
        ({"place_code": "330102001001", "kind": "studio", "name": "x", "stage": "giant"}, "stage"),
    ],
)
def test_create_bad_input(make_client, tree, payload, field):
    client = make_client(factories.staff(Role.ADMIN, tree.district))
    response = client.post_json(f"{API}/organizations", payload)
    assert response.status_code in (400, 422)
    err = error_of(response)
    assert field in err["fields"], err
    assert not Organization.objects.exists()


def test_stage_change_bad_input(make_client, tree):
    o = org(tree.comm_a1)
    client = make_client(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    same = client.post_json(
        f"{API}/organizations/{o.pk}/stage-changes", {"to_stage": "grassroots", "reason": "r", "evidence": "e"}
    )
    assert same.status_code == 400 and error_of(same)["fields"] == {"to_stage": ["与当前阶段相同"]}
    bad = client.post_json(f"{API}/organizations/{o.pk}/stage-changes", {"to_stage": "x", "changed_on": "2025-13-01"})
    assert bad.status_code == 422
    assert set(error_of(bad)["fields"]) == {"to_stage", "changed_on", "reason", "evidence"}
    assert StageChange.objects.filter(organization=o).count() == 1
    history = client.get(f"{API}/organizations/{o.pk}/stage-changes").json()
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [(None, "grassroots")]


def test_resident_without_profile_cannot_propose_or_join(make_client, tree, orgs):
    client = make_client(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    assert client.post_json(f"{API}/organizations/proposals", {"name": "x"}).status_code == 403
    assert client.post(f"{API}/organizations/{orgs['comm_a1'].pk}/join").status_code == 403


def test_anonymous_gets_401(anon, orgs):
    for response in (anon.get(f"{API}/organizations"), anon.post(f"{API}/organizations/{orgs['comm_a1'].pk}/join")):
        assert response.status_code == 401


def _grow(tree, n: int) -> None:
    for i in range(n):
        o = org(tree.comm_a1, name=f"学堂{i}")
        services.membership_add(actor=None, organization=o, resident=factories.resident(tree.comm_a1, name=f"甲{i}"))


def test_list_apis_keep_a_constant_query_count(make_client, tree):
    staff = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    r = make_client(resident_with_account(tree.comm_a1).user)
    _grow(tree, 2)
    counts = []
    for n in (0, 15):
        _grow(tree, n)
        o = Organization.objects.first()
        assert o is not None
        for _ in range(n):
            services.membership_add(actor=None, organization=o, resident=factories.resident(tree.comm_a1, name="乙"))
        row = []
        for client, path in (
            (staff, f"{API}/organizations"),
            (r, f"{API}/organizations/near"),
            (staff, f"{API}/organizations/{o.pk}/members"),
        ):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(path).status_code == 200
            row.append(len(ctx.captured_queries))
        counts.append(row)
    assert counts[0] == counts[1], counts


def test_openapi_documents_the_organization_operations(openapi_spec):
    paths = openapi_spec["paths"]
    for path in (
        "/api/v1/organizations",
        "/api/v1/organizations/near",
        "/api/v1/organizations/proposals",
        "/api/v1/organizations/{organization_id}/review",
        "/api/v1/organizations/{organization_id}/join",
        "/api/v1/organizations/{organization_id}/members",
        "/api/v1/organizations/{organization_id}/stage-changes",
    ):
        assert path in paths, path
