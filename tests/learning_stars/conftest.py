"""A small 好婆婆 world on the shared place tree for star ratings: a learning community in COMM_A1 with members (with
accounts), a non-member neighbour, a volunteer team, staff around it, and helpers that give residents attendance,
points and confirmed volunteer hours in 2025 through the real services."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gongzhi.activities import services as activities
from gongzhi.activities.models import ActivityKind, AttendanceSource
from gongzhi.activities.volunteering import services as volunteering
from gongzhi.learning import services as learning
from gongzhi.learning.models import PointsEntry, StarStandard
from gongzhi.learning.stars import services as stars
from gongzhi.organizations import services as organizations
from gongzhi.organizations.models import Organization
from gongzhi.people import services as people_services
from gongzhi.people.models import Resident, Role, User
from gongzhi.places.models import Place
from tests import factories
from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: F401 (API fixtures)
from tests.conftest import Tree

SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR = 2025
PASSWORD = "Gongzhi-2026-pw"
ORG_REF = "HP-TEST"
_phones = itertools.count(13660000000)
_refs = itertools.count(1)

# attendance 30 % (10 sessions), points 20 % (100), volunteer hours 20 % (20 h), staff 20 %, peers 10 %.
CRITERIA: list[dict[str, Any]] = [
    {"code": "attendance", "name": "出勤", "weight": 0.3, "source": "attendance", "target": 10},
    {"code": "points", "name": "学习积分", "weight": 0.2, "source": "points", "target": 100},
    {"code": "service", "name": "志愿服务", "weight": 0.2, "source": "volunteer_hours", "target": 20},
    {"code": "staff", "name": "教师评议", "weight": 0.2, "source": "assessment", "target": 100, "by": "staff"},
    {"code": "peer", "name": "同伴互评", "weight": 0.1, "source": "assessment", "target": 100, "by": "peer"},
]
THRESHOLDS = [20, 40, 60, 75, 90]


def resident_with_account(community: Place, name: str) -> tuple[Resident, User]:
    phone = str(next(_phones))
    factories.resident(community, name=name, phone=phone)
    user = people_services.account_claim(phone=phone, password=PASSWORD)
    return Resident.objects.select_related("user", "community").get(phone=phone), user


def at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def attend(resident: Resident, n: int, *, place: Place, start: datetime.date = datetime.date(YEAR, 3, 1),
           kind: str = ActivityKind.COURSE_SESSION) -> None:  # fmt: skip
    """``n`` sessions (one a week from ``start``) the resident was present at."""
    for i in range(n):
        day = start + datetime.timedelta(days=7 * i)
        activity = activities.activity_create(
            actor=None,
            place=place,
            kind=kind,
            title=f"好婆婆课堂 第{i + 1}讲",
            starts_at=at(day),
            ends_at=at(day, 11),
            ref=f"STAR-T-{next(_refs)}",
        )
        activities.attendance_record(actor=None, activity=activity, resident=resident, source=AttendanceSource.ROSTER)


def give_points(resident: Resident, points_times_30: int, *, on: datetime.datetime) -> None:
    """Award the ``adopted_proposal`` rule (30 points, no cap) ``points_times_30`` times, dated ``on``."""
    for _i in range(points_times_30):
        entry = learning.points_award(
            resident=resident, rule_code="adopted_proposal", source_type="star_test", source_id=str(next(_refs))
        )
        assert entry is not None
        PointsEntry.objects.filter(pk=entry.pk).update(created_at=on)


def attendance_points_out_of_year() -> None:
    """Points that attendance earned are dated when the test runs; move them out of the standard's year."""
    PointsEntry.objects.filter(source_type="attendance").update(created_at=at(datetime.date(YEAR + 1, 1, 5)))


def serve(team: Organization, resident: Resident, hours: str, *, on: datetime.date, staff: User) -> Any:
    entry, _created = volunteering.volunteer_hours_record(
        actor=staff, team=team, resident=resident, hours=hours, served_on=on, confirm=True
    )
    return entry


def make_standard(
    place: Place,
    *,
    criteria: list[dict[str, Any]] | None = None,
    thresholds: list[Any] | None = None,
    organization_ref: str = ORG_REF,
    name: str = "好婆婆学堂星级学员评定",
    active: bool = True,
    year: int = YEAR,
) -> StarStandard:
    standard = stars.star_standard_create(
        actor=None,
        place=place,
        year=year,
        name=name,
        criteria=criteria or CRITERIA,
        thresholds=thresholds or THRESHOLDS,
        organization_ref=organization_ref,
    )
    if active:
        standard, _changed = stars.star_standard_activate(actor=None, standard=standard)
    return standard


@dataclass
class StarWorld:
    tree: Tree
    org: Organization
    team: Organization
    a: Resident  # member in COMM_A1, with an account
    b: Resident  # member in COMM_A1
    c: Resident  # member in COMM_A1
    d: Resident  # member living in COMM_A2
    outsider: Resident  # COMM_A1, not a member
    users: dict[str, User]


@pytest.fixture
def world(tree) -> StarWorld:
    org = organizations.organization_create(
        actor=None,
        place=tree.comm_a1,
        kind="learning_community",
        name="好婆婆学堂",
        ref=ORG_REF,
        founded_on=datetime.date(2020, 1, 1),
    )
    team = organizations.organization_create(
        actor=None,
        place=tree.comm_a1,
        kind="volunteer_team",
        name="小蜜蜂志愿服务队",
        founded_on=datetime.date(2020, 1, 1),
    )
    people: dict[str, Resident] = {}
    users: dict[str, User] = {}
    for key, name, community in (
        ("a", "陈美华", tree.comm_a1),
        ("b", "刘秀英", tree.comm_a1),
        ("c", "王桂兰", tree.comm_a1),
        ("d", "赵玉珍", tree.comm_a2),
        ("outsider", "孙丽娟", tree.comm_a1),
    ):
        people[key], users[key] = resident_with_account(community, name)
        if key != "outsider":
            organizations.membership_add(
                actor=None, organization=org, resident=people[key], joined_on=datetime.date(2024, 1, 1)
            )
            organizations.membership_add(
                actor=None, organization=team, resident=people[key], joined_on=datetime.date(2024, 1, 1)
            )
    users.update(
        {
            "street_staff": factories.staff(Role.STREET_STAFF, tree.street_a),
            "worker_a1": factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1),
            "worker_a2": factories.staff(Role.COMMUNITY_WORKER, tree.comm_a2),
            "other_street": factories.staff(Role.STREET_STAFF, tree.street_b),
            "admin": factories.staff(Role.ADMIN, tree.district),
            "teacher": factories.staff(Role.TEACHER, tree.street_a),
        }
    )
    return StarWorld(
        tree=tree,
        org=org,
        team=team,
        a=people["a"],
        b=people["b"],
        c=people["c"],
        d=people["d"],
        outsider=people["outsider"],
        users=users,
    )


def hours_total(*values: str) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))
