"""Fixtures of the dashboard tests: the people of the permission table and a measured world of snapshots on the shared
place tree (comm_a1 weak, comm_a2 strong, comm_b1 in between; 2024 and 2025; rolled up to the streets and district)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gongzhi.people import services as people_services
from gongzhi.people.models import Role, User
from tests import factories
from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: F401  (API fixtures)
from tests.conftest import Tree

from .snapshots import Stored, store

PASSWORD = "gongzhi-test-pw"


@dataclass
class People:
    admin: User  # district admin
    street_a: User  # street staff of street A
    street_b: User  # street staff of street B
    worker_a1: User  # community worker of comm_a1
    worker_a2: User  # community worker of comm_a2 (a sibling of comm_a1)
    resident: User  # a resident of comm_a1 with an account


@pytest.fixture
def people(tree: Tree) -> People:
    factories.resident(tree.comm_a1, name="李秀兰", phone="13911110001")
    resident = people_services.account_claim(phone="13911110001", password=PASSWORD)
    return People(
        admin=factories.staff(Role.ADMIN, tree.district),
        street_a=factories.staff(Role.STREET_STAFF, tree.street_a),
        street_b=factories.staff(Role.STREET_STAFF, tree.street_b),
        worker_a1=factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1),
        worker_a2=factories.staff(Role.COMMUNITY_WORKER, tree.comm_a2),
        resident=resident,
    )


@pytest.fixture
def measured(tree: Tree) -> Stored:
    return store(
        [(tree.comm_a1, 0), (tree.comm_a2, 4), (tree.comm_b1, 2)],
        ("2024", "2025"),
        rollup_to=[tree.street_a, tree.street_b, tree.district],
        truncated=(tree.comm_a2.code,),
    )
