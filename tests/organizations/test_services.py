"""Organisation services through the real code paths: create, propose, review, stages, dissolve, memberships."""

from __future__ import annotations

import datetime
import threading
from unittest import mock

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from gongzhi.core.errors import Conflict, DomainError
from gongzhi.core.models import AuditEvent
from gongzhi.organizations import rules, selectors, services
from gongzhi.organizations.models import (
    Membership,
    MembershipRole,
    Organization,
    OrganizationStatus,
    StageChange,
)
from gongzhi.people.models import Role, User
from tests import factories

from .conftest import org, resident_with_account

pytestmark = pytest.mark.django_db


def test_create_is_active_with_initial_stage_and_audited(tree):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    o = services.organization_create(
        actor=staff, place=tree.comm_a1, kind="learning_community", name=" 好婆婆学堂 ", theme="隔代养育"
    )
    assert o.status == OrganizationStatus.ACTIVE and o.name == "好婆婆学堂" and o.founded_on == timezone.localdate()
    history = list(StageChange.objects.filter(organization=o))
    assert [(h.from_stage, h.to_stage) for h in history] == [("", "grassroots")]
    assert AuditEvent.objects.filter(target_type="organization", target_id=str(o.pk), actor=staff).exists()


def test_create_refuses_a_district_place_and_an_empty_name(tree):
    with pytest.raises(DomainError) as exc:
        services.organization_create(actor=None, place=tree.district, kind="studio", name="x")
    assert "place" in exc.value.fields and "组织只能属于街道或社区" in exc.value.fields["place"][0]
    with pytest.raises(DomainError) as exc:
        services.organization_create(actor=None, place=tree.comm_a1, kind="studio", name="  ")
    assert exc.value.fields == {"name": ["必填"]}
    with pytest.raises(DomainError) as exc:
        services.organization_create(actor=None, place=tree.comm_a1, kind="nonsense", name="x")
    assert "kind" in exc.value.fields
    assert not Organization.objects.exists()


def test_duplicate_ref_is_a_conflict(tree):
    org(tree.comm_a1, ref="ORG-1")
    with pytest.raises(Conflict) as exc:
        org(tree.comm_a2, ref="ORG-1", name="另一个")
    assert exc.value.fields == {"ref": ["编号已存在"]}
    assert Organization.objects.count() == 1


def test_propose_then_approve_makes_the_proposer_leader(tree):
    proposer = resident_with_account(tree.comm_a1, name="钱阿婆")
    staff = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    o = services.organization_propose(
        resident=proposer, place=tree.comm_a1, name="好婆婆学堂", theme="科学育儿", charter="每周三下午"
    )
    assert o.status == OrganizationStatus.PROPOSED and o.kind == "learning_community" and o.proposed_by == proposer
    assert not Membership.objects.exists(), "the proposer leads only once approved"
    assert not rules.is_organization_leader(proposer.user, o)

    services.organization_review(actor=staff, organization=o, approve=True, note="欢迎")
    o.refresh_from_db()
    assert o.status == OrganizationStatus.ACTIVE and o.founded_on == timezone.localdate() and o.review_note == "欢迎"
    membership = Membership.objects.get(organization=o)
    assert membership.resident == proposer and membership.role == MembershipRole.LEADER
    user = User.objects.get(pk=proposer.user_id)  # leaders are read once per request: a fresh request's user
    assert rules.is_organization_leader(user, o)
    assert list(selectors.organizations_led_by(user=user)) == [o]
    assert StageChange.objects.filter(organization=o).count() == 1


def test_reviewing_twice_is_refused_clearly(tree):
    proposer = resident_with_account(tree.comm_a1)
    o = services.organization_propose(resident=proposer, place=tree.comm_a1, name="合唱学习会")
    services.organization_review(actor=None, organization=o, approve=True)
    with pytest.raises(Conflict) as exc:
        services.organization_review(actor=None, organization=o, approve=False, note="重复")
    assert "已经审核过" in exc.value.message and exc.value.code == "already_reviewed"
    assert Organization.objects.get(pk=o.pk).status == OrganizationStatus.ACTIVE
    assert Membership.objects.filter(organization=o).count() == 1


def test_reject_needs_a_note(tree):
    proposer = resident_with_account(tree.comm_a1)
    o = services.organization_propose(resident=proposer, place=tree.comm_a1, name="合唱学习会")
    with pytest.raises(DomainError) as exc:
        services.organization_review(actor=None, organization=o, approve=False, note=" ")
    assert exc.value.fields == {"note": ["必填"]}
    assert Organization.objects.get(pk=o.pk).status == OrganizationStatus.PROPOSED
    services.organization_review(actor=None, organization=o, approve=False, note="与已有学堂重复")
    o.refresh_from_db()
    assert o.status == OrganizationStatus.REJECTED and o.review_note == "与已有学堂重复"
    assert not Membership.objects.exists()


def test_propose_only_in_own_community_or_street(tree):
    proposer = resident_with_account(tree.comm_a1)
    services.organization_propose(resident=proposer, place=tree.street_a, name="街道读书会")
    for place in (tree.comm_a2, tree.comm_b1, tree.district):
        with pytest.raises(DomainError) as exc:
            services.organization_propose(resident=proposer, place=place, name="别处")
        assert "place" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.organization_propose(resident=proposer, place=tree.comm_a1, name="")
    assert exc.value.fields == {"name": ["必填"]}
    assert Organization.objects.count() == 1


def test_stage_change_keeps_history_and_refuses_the_same_stage(tree):
    o = org(tree.comm_a1, founded_on=datetime.date(2024, 3, 1))
    change = services.organization_stage_change(
        actor=None,
        organization=o,
        to_stage="incubating",
        changed_on=datetime.date(2025, 1, 1),
        reason="入驻孵化基地",
        evidence="孵化协议",
    )
    assert (change.from_stage, change.to_stage) == ("grassroots", "incubating")
    o.refresh_from_db()
    assert o.stage == "incubating"
    with pytest.raises(DomainError) as exc:
        services.organization_stage_change(
            actor=None, organization=o, to_stage="incubating", changed_on=datetime.date(2025, 2, 1)
        )
    assert exc.value.fields == {"to_stage": ["与当前阶段相同"]}
    with pytest.raises(DomainError) as exc:
        services.organization_stage_change(
            actor=None, organization=o, to_stage="professional", changed_on=datetime.date(2020, 1, 1)
        )
    assert "changed_on" in exc.value.fields
    with pytest.raises(DomainError):
        services.organization_stage_change(
            actor=None, organization=o, to_stage="bogus", changed_on=datetime.date(2025, 2, 1)
        )
    assert StageChange.objects.filter(organization=o).count() == 2


def test_dissolve_ends_memberships_and_blocks_joining(tree):
    o = org(tree.comm_a1, founded_on=datetime.date(2024, 1, 1))
    r = resident_with_account(tree.comm_a1)
    services.membership_join(resident=r, organization=o)
    with pytest.raises(DomainError) as exc:
        services.organization_dissolve(actor=None, organization=o, dissolved_on=datetime.date(2023, 1, 1))
    assert "dissolved_on" in exc.value.fields
    services.organization_dissolve(actor=None, organization=o, dissolved_on=timezone.localdate(), reason="成员搬走")
    o.refresh_from_db()
    assert o.status == OrganizationStatus.DISSOLVED
    assert not Membership.objects.filter(organization=o, left_on__isnull=True).exists()
    with pytest.raises(DomainError):
        services.membership_join(resident=r, organization=o)
    with pytest.raises(Conflict):
        services.organization_dissolve(actor=None, organization=o, dissolved_on=timezone.localdate())


def test_join_is_idempotent_and_only_for_active(tree):
    o = org(tree.comm_a1)
    r = resident_with_account(tree.comm_a1)
    first, created = services.membership_join(resident=r, organization=o)
    second, created_again = services.membership_join(resident=r, organization=o)
    assert created and not created_again and first.pk == second.pk
    assert Membership.objects.filter(organization=o, resident=r).count() == 1
    proposed = services.organization_propose(resident=r, place=tree.comm_a1, name="待审核的")
    with pytest.raises(DomainError) as exc:
        services.membership_join(resident=r, organization=proposed)
    assert "只能加入正在活动的组织" in exc.value.message


def test_join_returns_the_winner_when_the_insert_loses_a_race(tree):
    """The IntegrityError path: another request inserted the membership between our decision and our insert."""
    o = org(tree.comm_a1)
    r = resident_with_account(tree.comm_a1)
    winner = Membership.objects.create(organization=o, resident=r, joined_on=timezone.localdate())
    with mock.patch.object(Membership.objects, "create", side_effect=IntegrityError("membership_one_current")):
        membership, created = services.membership_join(resident=r, organization=o)
    assert not created and membership.pk == winner.pk
    assert Membership.objects.filter(organization=o).count() == 1


def test_leave_and_join_again_on_the_same_day(tree):
    o = org(tree.comm_a1)
    r = resident_with_account(tree.comm_a1)
    services.membership_join(resident=r, organization=o)
    left = services.membership_leave(resident=r, organization=o)
    assert left is not None and left.left_on == timezone.localdate()
    assert services.membership_leave(resident=r, organization=o) is None, "leaving twice changes nothing"
    again, created = services.membership_join(resident=r, organization=o)
    assert created and again.left_on is None
    assert Membership.objects.filter(organization=o, resident=r, left_on__isnull=True).count() == 1


def test_leave_before_joining_is_refused(tree):
    o = org(tree.comm_a1)
    r = resident_with_account(tree.comm_a1)
    services.membership_join(resident=r, organization=o)
    with pytest.raises(DomainError) as exc:
        services.membership_leave(resident=r, organization=o, left_on=datetime.date(2000, 1, 1))
    assert "left_on" in exc.value.fields


def test_staff_add_and_set_role(tree):
    staff = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    o = org(tree.comm_a1)
    r = factories.resident(tree.comm_a1, name="孙秀兰")
    m = services.membership_add(actor=staff, organization=o, resident=r, role="member")
    with pytest.raises(Conflict) as exc:
        services.membership_add(actor=staff, organization=o, resident=r, role="member")
    assert exc.value.fields == {"resident": ["已经是成员"]}
    services.membership_set_role(actor=staff, membership=m, role="leader")
    assert Membership.objects.get(pk=m.pk).role == "leader"
    with pytest.raises(DomainError):
        services.membership_set_role(actor=staff, membership=m, role="boss")
    with pytest.raises(DomainError) as exc:
        services.membership_add(
            actor=staff, organization=o, resident=factories.resident(tree.comm_a1, name="周"), role="chief"
        )
    assert exc.value.fields == {"role": ["不是可选的值"]}


def test_near_me_is_the_community_and_its_street(tree, orgs):
    r = resident_with_account(tree.comm_a1)
    near = {o.place_id for o in selectors.organizations_near(user=r.user)}
    assert near == {tree.comm_a1.code, tree.street_a.code}
    services.membership_join(resident=r, organization=orgs["street_a"])
    flags = {o.place_id: o.is_member for o in selectors.organizations_near(user=r.user)}
    assert flags == {tree.comm_a1.code: False, tree.street_a.code: True}
    assert [m.organization for m in selectors.memberships_of(user=r.user)] == [orgs["street_a"]]


def test_member_counts_in_one_query(tree):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    for i in range(3):
        o = org(tree.comm_a1, name=f"学堂{i}")
        for j in range(i):
            services.membership_add(
                actor=None, organization=o, resident=factories.resident(tree.comm_a1, name=f"居民{i}{j}")
            )
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        counts = {o.name: o.member_count for o in selectors.organizations_visible(user=staff, place=tree.street_a)}
    assert counts == {"学堂0": 0, "学堂1": 1, "学堂2": 2}
    assert len(ctx.captured_queries) == 2  # the grants of the user, then the organisations with counts


@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_make_one_membership(tree):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    o = org(tree.comm_a1)
    r = resident_with_account(tree.comm_a1)
    barrier = threading.Barrier(8)
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def join() -> None:
        from django.db import connections

        try:
            barrier.wait()
            membership, created = services.membership_join(resident=r, organization=o)
            results.append((str(membership.pk), created))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=join) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert Membership.objects.filter(organization=o, resident=r).count() == 1
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
