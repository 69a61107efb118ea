"""Certificates: a street's parent-licence programme with two levels, staff around it and residents with accounts."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from gongzhi.learning import services as learning_services
from gongzhi.learning.credentials import certificates, programmes
from gongzhi.learning.models import Certificate, CredentialLevel, CredentialProgramme
from gongzhi.people import services as people_services
from gongzhi.people.models import Resident, Role, User
from tests import factories
from tests.api.conftest import make_client, openapi_checker, openapi_spec  # noqa: F401  (API fixtures)
from tests.conftest import Tree

PASSWORD = "gongzhi-test-pw"


@dataclass
class CertWorld:
    tree: Tree
    programme: CredentialProgramme
    level1: CredentialLevel  # 20 points
    level2: CredentialLevel  # 100 points
    holder: Resident  # comm_a1, with an account
    neighbour: Resident  # comm_a2, with an account
    far: Resident  # comm_b1 (the other street), with an account
    users: dict[str, User]
    names: dict[str, tuple[str, str]]  # key → (full name, phone)

    def points(self, resident: Resident, times: int = 1) -> None:
        """Award 20 points per time (the pass_test rule) from a distinct source."""
        for _ in range(times):
            learning_services.points_award(
                resident=resident, rule_code="pass_test", source_type="fixture", source_id=str(uuid.uuid4())
            )

    def claim(self, resident: Resident | None = None, level: CredentialLevel | None = None, **kw: Any) -> Certificate:
        resident = resident or self.holder
        return certificates.certificate_claim(
            resident=resident, level=level or self.level1, actor=resident.user, base_url="https://gz.example", **kw
        )


def _account(community, name: str, phone: str) -> Resident:
    factories.resident(community, name=name, phone=phone)
    people_services.account_claim(phone=phone, password=PASSWORD)
    return Resident.objects.select_related("user", "community").get(phone=phone)


@pytest.fixture
def cw(tree) -> CertWorld:
    tree.street_a.name = "九堡街道"
    tree.street_a.save()
    names = {
        "holder": ("陈美华", "13900000111"),
        "neighbour": ("刘秀英", "13900000112"),
        "far": ("王建国", "13900000113"),
    }
    holder = _account(tree.comm_a1, *names["holder"])
    neighbour = _account(tree.comm_a2, *names["neighbour"])
    far = _account(tree.comm_b1, *names["far"])
    users = {
        "street_staff": factories.staff(Role.STREET_STAFF, tree.street_a),
        "district_admin": factories.staff(Role.ADMIN, tree.district),
        "community_worker": factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1),
        "other_street_staff": factories.staff(Role.STREET_STAFF, tree.street_b),
        "teacher": factories.staff(Role.TEACHER, tree.street_a),
    }
    programme = programmes.programme_create(
        actor=None, place=tree.street_a, name="星级家长执照", description="好婆婆课堂家长学习认证", validity_months=12
    )
    level1 = programmes.level_create(
        actor=None,
        programme=programme,
        rank=1,
        name="一星家长",
        criteria={"all": [{"kind": "points", "min": 20}]},
        description="累计 20 积分",
    )
    level2 = programmes.level_create(
        actor=None,
        programme=programme,
        rank=2,
        name="二星家长",
        criteria={"all": [{"kind": "points", "min": 100}, {"kind": "level_held", "rank": 1}]},
    )
    programme = programmes.programme_activate(actor=None, programme=programme)
    programme = CredentialProgramme.objects.select_related("place").get(pk=programme.pk)
    level1 = CredentialLevel.objects.select_related("programme__place").get(pk=level1.pk)
    level2 = CredentialLevel.objects.select_related("programme__place").get(pk=level2.pk)
    return CertWorld(
        tree=tree,
        programme=programme,
        level1=level1,
        level2=level2,
        holder=holder,
        neighbour=neighbour,
        far=far,
        users=users,
        names=names,
    )


@pytest.fixture
def eligible(cw) -> CertWorld:
    cw.points(cw.holder)
    return cw


def years_ago(n: int) -> datetime.date:
    today = datetime.date.today()
    return today.replace(year=today.year - n)
