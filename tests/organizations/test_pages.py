"""Organisation pages: permission tables (role × place relation), bad input, query counts, the resident's phone pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.activities.models import Activity
from gongzhi.organizations import services
from gongzhi.organizations.models import Membership, Organization, OrganizationStatus, StageChange
from gongzhi.people.models import Role
from tests import factories

from .conftest import org, resident_with_account

pytestmark = pytest.mark.django_db

PLACES = ["comm_a1", "comm_a2", "street_a", "comm_b1", "other_comm"]
GRANTS = {
    "community_worker": "comm_a1",
    "street_staff": "street_a",
    "admin": "district",
    "teacher": "street_a",
}
# role (granted on) → the organisations (by place) it sees and manages.
SEES = {
    "community_worker": {"comm_a1"},  # not its sibling COMM_A2, not its parent STREET_A, not another district
    "street_staff": {"comm_a1", "comm_a2", "street_a"},
    "admin": {"comm_a1", "comm_a2", "street_a", "comm_b1"},
    "teacher": set(),
}
TABLE = [(role, key, key in seen) for role, seen in SEES.items() for key in PLACES]


@pytest.mark.parametrize(("role", "key", "allowed"), TABLE)
def test_staff_pages_permission_table(client, tree, orgs, role, key, allowed):
    user = factories.staff(role, getattr(tree, GRANTS[role]))
    client.force_login(user)
    o = orgs[key]
    listing = client.get(reverse("organization_list"))
    if role == "teacher":
        assert listing.status_code == 403
    else:
        assert listing.status_code == 200
        assert (o.name in listing.content.decode()) is allowed
    assert client.get(reverse("organization_detail", args=[o.pk])).status_code == (200 if allowed else 404)
    response = client.post(
        reverse("organization_stage", args=[o.pk]),
        {"to_stage": "incubating", "changed_on": o.founded_on.isoformat(), "reason": "入驻孵化", "evidence": "协议"},
    )
    assert response.status_code == (302 if allowed else 404)
    assert StageChange.objects.filter(organization=o, to_stage="incubating").exists() is allowed


@pytest.mark.parametrize(("key", "near"), [(k, k in {"comm_a1", "street_a"}) for k in PLACES])
def test_resident_join_permission_table(client, tree, orgs, key, near):
    r = resident_with_account(tree.comm_a1)
    client.force_login(r.user)
    o = orgs[key]
    page = client.get(reverse("my_communities")).content.decode()
    assert (o.name in page) is near
    response = client.post(reverse("community_join", args=[o.pk]))
    assert response.status_code == (302 if near else 404)
    assert Membership.objects.filter(organization=o, resident=r).exists() is near
    # Residents never reach the staff pages, nor the member list.
    assert client.get(reverse("organization_list")).status_code == 403
    detail = client.get(reverse("organization_detail", args=[o.pk]))
    assert detail.status_code == (302 if near else 404)


def test_leader_manages_own_members_but_not_stage(client, tree, orgs):
    leader = resident_with_account(tree.comm_a1, name="钱阿婆")
    member = factories.resident(tree.comm_a1, name="孙秀兰")
    o = orgs["comm_a1"]
    services.membership_add(actor=None, organization=o, resident=leader, role="leader")
    m = services.membership_add(actor=None, organization=o, resident=member)
    client.force_login(leader.user)
    detail = client.get(reverse("organization_detail", args=[o.pk]))
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "孙*兰" in body and "孙秀兰" not in body
    assert "调整发展阶段" not in body
    assert client.get(reverse("organization_detail", args=[orgs["comm_a2"].pk])).status_code == 404
    stage = client.post(
        reverse("organization_stage", args=[o.pk]), {"to_stage": "incubating", "changed_on": "2030-1-1"}
    )
    assert stage.status_code == 403
    # Records a meeting of their own community.
    response = client.post(
        reverse("organization_meeting_new", args=[o.pk]),
        {"title": "第一次读书会", "starts_at": "2026-03-04T14:00", "venue": "社区活动室"},
    )
    assert response.status_code == 302
    meeting = Activity.objects.get(organization=o)
    assert meeting.kind == "learning_meeting" and meeting.place_id == o.place_id and meeting.created_by == leader.user
    other = client.post(
        reverse("organization_meeting_new", args=[orgs["comm_a2"].pk]), {"title": "x", "starts_at": "2026-03-04T14:00"}
    )
    assert other.status_code == 404
    client.post(reverse("organization_member_remove", args=[o.pk, m.pk]))
    assert Membership.objects.get(pk=m.pk).left_on is not None


def test_review_from_the_list_and_twice(client, tree):
    proposer = resident_with_account(tree.comm_a1, name="钱阿婆")
    o = services.organization_propose(resident=proposer, place=tree.comm_a1, name="好婆婆学堂")
    client.force_login(factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1))
    listing = client.get(reverse("organization_list")).content.decode()
    assert "待审核的申请" in listing and "钱*婆" in listing and "钱阿婆" not in listing
    url = reverse("organization_review", args=[o.pk])
    response = client.post(url, {"decision": "reject", "note": ""}, follow=True)
    assert "未通过时请填写理由" in response.content.decode()
    assert Organization.objects.get(pk=o.pk).status == OrganizationStatus.PROPOSED
    client.post(url, {"decision": "approve", "note": ""})
    assert Organization.objects.get(pk=o.pk).status == OrganizationStatus.ACTIVE
    again = client.post(url, {"decision": "reject", "note": "晚了"}, follow=True).content.decode()
    assert "已经审核过" in again
    assert Organization.objects.get(pk=o.pk).status == OrganizationStatus.ACTIVE


def test_bad_input_shows_chinese_field_errors_and_writes_nothing(client, tree):
    staff = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    o = org(tree.comm_a1)
    client.force_login(staff)
    response = client.post(reverse("organization_new"), {"name": "", "kind": "x", "place": "123", "founded_on": "abc"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "名称：这个字段是必填项。" in body and "成立日期：" in body
    assert Organization.objects.count() == 1
    same = client.post(
        reverse("organization_stage", args=[o.pk]),
        {"to_stage": "grassroots", "changed_on": "2030-01-01", "reason": "r", "evidence": "e"},
    )
    assert same.status_code == 400 and "调整为：与当前阶段相同" in same.content.decode()
    # A decision needs its reason and evidence; it takes effect no later than today.
    bare = client.post(
        reverse("organization_stage", args=[o.pk]), {"to_stage": "incubating", "changed_on": "2030-01-01"}
    )
    text = bare.content.decode()
    assert bare.status_code == 400 and "理由：这个字段是必填项。" in text and "依据：这个字段是必填项。" in text
    future = client.post(
        reverse("organization_stage", args=[o.pk]),
        {"to_stage": "incubating", "changed_on": "2030-01-01", "reason": "入驻孵化", "evidence": "协议"},
    )
    assert future.status_code == 400 and "生效日期：不能晚于今天" in future.content.decode()
    meeting = client.post(
        reverse("organization_meeting_new", args=[o.pk]),
        {"title": "", "starts_at": "2026-03-04T14:00", "ends_at": "2026-03-04T10:00"},
    )
    text = meeting.content.decode()
    assert meeting.status_code == 400 and "活动主题：" in text and "结束时间不能早于开始时间" in text
    assert not Activity.objects.exists()
    assert StageChange.objects.filter(organization=o).count() == 1


def test_resident_proposes_with_field_errors_then_succeeds(client, tree):
    r = resident_with_account(tree.comm_a1)
    client.force_login(r.user)
    url = reverse("community_propose")
    bad = client.post(url, {"name": "", "place": tree.comm_b1.code})
    text = bad.content.decode()
    assert "名称：这个字段是必填项。" in text and "在哪里活动：" in text
    assert not Organization.objects.exists()
    ok = client.post(url, {"name": "好婆婆学堂", "place": tree.comm_a1.code, "theme": "隔代养育"})
    assert ok.status_code == 302
    o = Organization.objects.get()
    assert o.status == OrganizationStatus.PROPOSED and o.proposed_by == r
    page = client.get(reverse("my_communities")).content.decode()
    assert "我发起的申请" in page and "待审核" in page


def test_join_twice_and_leave(client, tree, orgs):
    r = resident_with_account(tree.comm_a1)
    client.force_login(r.user)
    o = orgs["comm_a1"]
    client.post(reverse("community_join", args=[o.pk]))
    client.post(reverse("community_join", args=[o.pk]))
    assert Membership.objects.filter(organization=o, resident=r).count() == 1
    client.post(reverse("community_leave", args=[o.pk]))
    client.post(reverse("community_leave", args=[o.pk]))
    assert not Membership.objects.filter(organization=o, resident=r, left_on__isnull=True).exists()


def test_staff_adds_a_member_found_by_name(client, tree):
    staff = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    o = org(tree.comm_a1)
    r = factories.resident(tree.comm_a1, name="孙秀兰", ref="R-SUN")
    factories.resident(tree.comm_a2, name="孙别处", ref="R-ELSE")
    client.force_login(staff)
    page = client.get(reverse("organization_detail", args=[o.pk]), {"q": "孙"}).content.decode()
    assert "R-SUN" in page and "R-ELSE" not in page
    client.post(reverse("organization_member_add", args=[o.pk]), {"resident": str(r.pk), "role": "member"})
    assert Membership.objects.filter(organization=o, resident=r).exists()


def _fill(tree, n: int) -> None:
    for i in range(n):
        o = org(tree.comm_a1, name=f"学堂{i:03d}")
        services.membership_add(
            actor=None, organization=o, resident=factories.resident(tree.comm_a1, name=f"居民{i}"), role="leader"
        )


def test_list_pages_keep_a_constant_query_count(client, tree):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    r = resident_with_account(tree.comm_a1)
    _fill(tree, 2)
    client.force_login(staff)
    resident_client = client.__class__()
    resident_client.force_login(r.user)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("organization_list")).status_code == 200
    with CaptureQueriesContext(connection) as few_near:
        assert resident_client.get(reverse("my_communities")).status_code == 200
    _fill(tree, 12)
    with CaptureQueriesContext(connection) as many:
        assert "学堂011" in client.get(reverse("organization_list")).content.decode()
    with CaptureQueriesContext(connection) as many_near:
        assert "学堂011" in resident_client.get(reverse("my_communities")).content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(many_near.captured_queries) == len(few_near.captured_queries)


def test_detail_page_keeps_a_constant_query_count(client, tree):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    o = org(tree.comm_a1)
    client.force_login(staff)

    def add(n: int) -> None:
        for _ in range(n):
            services.membership_add(actor=None, organization=o, resident=factories.resident(tree.comm_a1, name="李四"))

    add(1)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("organization_detail", args=[o.pk]))
    add(10)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("organization_detail", args=[o.pk]))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_navigation_entries(client, tree):
    staff = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    client.force_login(staff)
    assert reverse("organization_list") in client.get(reverse("staff_home")).content.decode()
    r = resident_with_account(tree.comm_a1)
    client.force_login(r.user)
    home = client.get(reverse("resident_home")).content.decode()
    assert reverse("my_communities") in home and reverse("organization_list") not in home
