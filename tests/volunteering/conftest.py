"""A small volunteering world on the shared place tree: a volunteer team in COMM_A1 with two leaders and members (some
with accounts), staff around it, an event that has taken place and one still open for sign-up."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from gongzhi.activities.models import Activity
from gongzhi.activities.volunteering import services
from gongzhi.organizations import services as organizations
from gongzhi.organizations.models import Organization
from gongzhi.people import services as people_services
from gongzhi.people.models import Resident, Role, User
from tests import factories
from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: F401 (API fixtures)
from tests.conftest import Tree

PASSWORD = "Gongzhi-2026-pw"
_phones = itertools.count(13650000000)


def resident_with_account(community: Any, name: str) -> tuple[Resident, User]:
    phone = str(next(_phones))
    factories.resident(community, name=name, phone=phone)
    user = people_services.account_claim(phone=phone, password=PASSWORD)
    return Resident.objects.select_related("user", "community").get(phone=phone), user


def team_in(place: Any, name: str = "小蜜蜂志愿服务队") -> Organization:
    return organizations.organization_create(actor=None, place=place, kind="volunteer_team", name=name)


def past_event(team: Organization, *, title: str = "垃圾分类宣传", days_ago: int = 2, **extra: Any) -> Activity:
    start = timezone.now() - datetime.timedelta(days=days_ago)
    return services.volunteer_event_create(
        actor=None, team=team, title=title, starts_at=start, ends_at=start + datetime.timedelta(hours=3), **extra
    )


def future_event(team: Organization, *, title: str = "社区环境整治", days: int = 3, **extra: Any) -> Activity:
    start = timezone.now() + datetime.timedelta(days=days)
    return services.volunteer_event_create(
        actor=None, team=team, title=title, starts_at=start, ends_at=start + datetime.timedelta(hours=2), **extra
    )


@dataclass
class VolunteerWorld:
    tree: Tree
    team: Organization
    leader: Resident  # leader of the team, with an account
    leader2: Resident  # a second leader, with an account
    volunteer: Resident  # a member with an account
    quiet: Resident  # a member without an account
    neighbour: Resident  # a resident of COMM_A1, not a member, with an account
    past: Activity  # an event of the team two days ago
    upcoming: Activity  # an open event in three days, 2 places
    users: dict[str, User] = field(default_factory=dict)


@pytest.fixture
def vw(tree) -> VolunteerWorld:
    team = team_in(tree.comm_a1)
    leader, leader_user = resident_with_account(tree.comm_a1, "钱队长")
    leader2, leader2_user = resident_with_account(tree.comm_a1, "孙副队长")
    volunteer, volunteer_user = resident_with_account(tree.comm_a1, "周小蜂")
    neighbour, neighbour_user = resident_with_account(tree.comm_a1, "吴邻居")
    quiet = factories.resident(tree.comm_a1, name="郑大爷")
    for r, role in ((leader, "leader"), (leader2, "leader"), (volunteer, "member"), (quiet, "member")):
        organizations.membership_add(
            actor=None, organization=team, resident=r, role=role, joined_on=datetime.date(2024, 6, 1)
        )
    users = {
        "leader": leader_user,
        "leader2": leader2_user,
        "volunteer": volunteer_user,
        "neighbour": neighbour_user,
        "community_worker": factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1),
        "sibling_worker": factories.staff(Role.COMMUNITY_WORKER, tree.comm_a2),
        "street_staff": factories.staff(Role.STREET_STAFF, tree.street_a),
        "other_street_staff": factories.staff(Role.STREET_STAFF, tree.street_b),
        "admin": factories.staff(Role.ADMIN, tree.district),
        "other_admin": factories.staff(Role.ADMIN, tree.other_district),
        "teacher": factories.staff(Role.TEACHER, tree.street_a),
    }
    return VolunteerWorld(
        tree=tree,
        team=team,
        leader=leader,
        leader2=leader2,
        volunteer=volunteer,
        quiet=quiet,
        neighbour=neighbour,
        past=past_event(team),
        upcoming=future_event(team, capacity=2),
        users=users,
    )
