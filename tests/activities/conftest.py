"""A small world for check-in tests: a course session and an organisation meeting in COMM_A1, both open for check-in
now, with staff, the session's teacher, the organisation's leader, enrolled residents and members."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from gongzhi.activities import services
from gongzhi.activities.models import Activity
from gongzhi.learning import services as learning
from gongzhi.organizations import services as organizations
from gongzhi.people import services as people_services
from gongzhi.people.models import Resident, Role, User
from tests import factories
from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: F401 (API fixtures)
from tests.conftest import Tree

PASSWORD = "gongzhi-test-pw"


def resident_with_account(community, name: str, phone: str) -> tuple[Resident, User]:
    resident = factories.resident(community, name=name, phone=phone)
    user = people_services.account_claim(phone=phone, password=PASSWORD)
    resident.refresh_from_db()
    return resident, user


def open_activity(place, *, kind: str = "learning_meeting", title: str = "邻里读书会", **extra) -> Activity:
    now = timezone.now()
    return services.activity_create(
        actor=None,
        place=place,
        kind=kind,
        title=title,
        starts_at=extra.pop("starts_at", now - datetime.timedelta(minutes=5)),
        ends_at=extra.pop("ends_at", now + datetime.timedelta(hours=1)),
        **extra,
    )


@dataclass
class CheckinWorld:
    tree: Tree
    session: Activity  # a course session in COMM_A1, taught by users["teacher"]
    meeting: Activity  # a meeting of an organisation in COMM_A1, led by users["leader"]
    enrolled: list[Resident]
    members: list[Resident]
    resident: Resident  # enrolled, with an account
    resident_user: User
    users: dict[str, User] = field(default_factory=dict)


@pytest.fixture
def cw(tree) -> CheckinWorld:
    users = {
        "community_worker": factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1),
        "sibling_worker": factories.staff(Role.COMMUNITY_WORKER, tree.comm_a2),
        "street_staff": factories.staff(Role.STREET_STAFF, tree.street_a),
        "other_street_staff": factories.staff(Role.STREET_STAFF, tree.street_b),
        "admin": factories.staff(Role.ADMIN, tree.district),
        "other_admin": factories.staff(Role.ADMIN, tree.other_district),
        "teacher": factories.staff(Role.TEACHER, tree.street_a),
        "other_teacher": factories.staff(Role.TEACHER, tree.street_a),
    }
    teacher = learning.teacher_create(actor=None, place=tree.street_a, name="李老师", user=users["teacher"])
    learning.teacher_create(actor=None, place=tree.street_a, name="周老师", user=users["other_teacher"])
    course = learning.course_create(actor=None, place=tree.street_a, title="科学育儿", teachers=[teacher])
    now = timezone.now()
    session = learning.course_session_add(
        actor=None,
        course=course,
        starts_at=now - datetime.timedelta(minutes=5),
        ends_at=now + datetime.timedelta(hours=1),
        teacher=teacher,
        place=tree.comm_a1,
        venue="社区会议室",
    ).activity
    resident, resident_user = resident_with_account(tree.comm_a1, "赵桂芳", "13900000101")
    enrolled = [resident] + [factories.resident(tree.comm_a1, name=f"报名{i}") for i in range(2)]
    for r in enrolled:
        learning.enrolment_create(resident=r, course=course)
    cancelled = factories.resident(tree.comm_a1, name="取消者")
    learning.enrolment_create(resident=cancelled, course=course)
    learning.enrolment_cancel(resident=cancelled, course=course)

    leader, leader_user = resident_with_account(tree.comm_a1, "钱队长", "13900000102")
    users["leader"] = leader_user
    users["resident"] = resident_user
    org = organizations.organization_create(
        actor=None, place=tree.comm_a1, kind="learning_community", name="好婆婆学习共同体"
    )
    organizations.membership_add(actor=None, organization=org, resident=leader, role="leader")
    members = [leader] + [factories.resident(tree.comm_a1, name=f"成员{i}") for i in range(2)]
    for m in members[1:]:
        organizations.membership_add(actor=None, organization=org, resident=m)
    gone = factories.resident(tree.comm_a1, name="已退出")
    organizations.membership_add(actor=None, organization=org, resident=gone)
    organizations.membership_leave(resident=gone, organization=org, left_on=timezone.localdate())
    meeting = open_activity(tree.comm_a1, organization=org)
    return CheckinWorld(
        tree=tree,
        session=session,
        meeting=meeting,
        enrolled=enrolled,
        members=members,
        resident=resident,
        resident_user=resident_user,
        users=users,
    )
