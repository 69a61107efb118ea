"""A small world of providers on the shared place tree: a bank registered on COMM_A1 with a lecture series serving
COMM_A1 and a pairing with COMM_A1, a university registered on STREET_B; staff of every relation to COMM_A1, each
provider's partner account, and a resident of COMM_A1 — all made through the services."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from gongzhi.people import services as people_services
from gongzhi.people.models import Resident, Role, User
from gongzhi.resources.models import Pairing, Provider, Resource
from gongzhi.resources.services import providers as services
from tests import factories
from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: F401 (API fixtures)
from tests.conftest import Tree

PASSWORD = "gongzhi-test-pw"

# Who, by relation to COMM_A1 (where the bank is registered and paired).
STAFF_ROLES = {
    "community_worker": (Role.COMMUNITY_WORKER, "comm_a1"),  # same place
    "sibling_worker": (Role.COMMUNITY_WORKER, "comm_a2"),  # sibling community
    "street_staff": (Role.STREET_STAFF, "street_a"),  # parent
    "admin": (Role.ADMIN, "district"),  # grandparent
    "other_street_staff": (Role.STREET_STAFF, "street_b"),  # another street
    "other_admin": (Role.ADMIN, "other_district"),  # another district
}


def partner_account(provider: Provider, phone: str) -> User:
    """A partner account linked through the service, with a password set as the person would by SMS code."""
    user = services.provider_member_add(actor=None, provider=provider, phone=phone)
    people_services.user_password_set(user=user, password=PASSWORD)
    return user


@dataclass
class ProviderWorld:
    tree: Tree
    bank: Provider  # registered on COMM_A1
    lectures: Resource  # the bank's, serving COMM_A1
    pairing: Pairing  # bank ↔ COMM_A1, for a year from 30 days ago
    university: Provider  # registered on STREET_B
    health_talks: Resource  # the university's, serving STREET_B
    resident: Resident
    users: dict[str, User] = field(default_factory=dict)


@pytest.fixture
def pw(tree) -> ProviderWorld:
    users = {key: factories.staff(role, getattr(tree, where)) for key, (role, where) in STAFF_ROLES.items()}
    bank = services.provider_create(
        actor=users["community_worker"],
        place=tree.comm_a1,
        name="农商银行九堡支行",
        kind="bank",
        contact_name="李经理",
        contact_phone="0571-86000000",
    )
    lectures = services.resource_create(
        actor=users["community_worker"],
        provider=bank,
        kind="teacher",
        name="金融知识讲座",
        service_area=[tree.comm_a1],
        availability="每月第二个周六上午",
        terms="免费",
        capacity=2,
    )
    pairing = services.pairing_create(
        actor=users["community_worker"],
        provider=bank,
        place=tree.comm_a1,
        starts_on=timezone.localdate() - datetime.timedelta(days=30),
        ends_on=timezone.localdate() + datetime.timedelta(days=335),
        commitments="每季度一次金融知识讲座",
    )
    university = services.provider_create(
        actor=users["other_street_staff"], place=tree.street_b, name="浙江工商大学", kind="university"
    )
    health_talks = services.resource_create(
        actor=users["other_street_staff"],
        provider=university,
        kind="volunteer_service",
        name="大学生健康讲座",
        service_area=[tree.street_b],
    )
    users["partner"] = partner_account(bank, "13700000001")
    users["other_partner"] = partner_account(university, "13700000002")
    resident = factories.resident(tree.comm_a1, name="赵桂芳", phone="13900000101")
    users["resident"] = people_services.account_claim(phone="13900000101", password=PASSWORD)
    return ProviderWorld(
        tree=tree,
        bank=bank,
        lectures=lectures,
        pairing=pairing,
        university=university,
        health_talks=health_talks,
        resident=resident,
        users=users,
    )
