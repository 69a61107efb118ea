"""Organisations test helpers: residents with accounts, organisations made through the real services."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from gongzhi.organizations import services
from gongzhi.organizations.models import Organization, OrganizationKind
from gongzhi.people import services as people_services
from gongzhi.people.models import Resident
from gongzhi.places.models import Place
from tests import factories
from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: F401  (API fixtures)

PASSWORD = "Gongzhi-2026-pw"
_phones = itertools.count(13700000000)


def resident_with_account(community: Place, name: str = "赵桂芳", phone: str | None = None) -> Resident:
    phone = phone or str(next(_phones))
    factories.resident(community, name=name, phone=phone)
    people_services.account_claim(phone=phone, password=PASSWORD)
    return Resident.objects.select_related("user", "community").get(phone=phone)


def org(
    place: Place, name: str = "好婆婆学堂", kind: str = OrganizationKind.LEARNING_COMMUNITY, **kw: Any
) -> Organization:
    return services.organization_create(actor=None, place=place, kind=kind, name=name, **kw)


@pytest.fixture
def orgs(tree) -> dict[str, Organization]:
    """One active learning community on each place a permission table asks about."""
    return {
        key: org(getattr(tree, key), name=f"学习共同体{key}")
        for key in ("comm_a1", "comm_a2", "street_a", "comm_b1", "other_comm")
    }
