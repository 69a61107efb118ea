"""育 cultivate test helpers: organisations, schemes and rounds made through the real services."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from gongzhi.organizations import services as org_services
from gongzhi.organizations.cultivation import services as cv
from gongzhi.organizations.models import (
    AssessmentRound,
    AssessmentScheme,
    MembershipRole,
    Organization,
    OrganizationKind,
    RoundEntry,
)
from gongzhi.people.models import Role, User
from gongzhi.places.models import Place
from tests import factories
from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: F401  (API fixtures)
from tests.organizations.conftest import PASSWORD, resident_with_account  # noqa: F401

# Weights 0.4 / 0.3 / 0.3: "service" is the heaviest criterion.
CRITERIA: list[dict[str, Any]] = [
    {"code": "service", "name": "服务成效", "weight": 0.4, "max": 100, "guide": "服务次数与受益人数"},
    {"code": "governance", "name": "组织治理", "weight": 0.3, "max": 100, "guide": "章程与财务"},
    {"code": "growth", "name": "专业成长", "weight": 0.3, "max": 10, "guide": "培训与督导（满分 10）"},
]


def org(
    place: Place,
    name: str,
    *,
    kind: str = OrganizationKind.SOCIAL_ORG,
    founded_on: datetime.date = datetime.date(2020, 1, 1),
    ref: str = "",
    stage: str = "grassroots",
) -> Organization:
    return org_services.organization_create(
        actor=None, place=place, kind=kind, name=name, founded_on=founded_on, ref=ref, stage=stage
    )


def scheme(place: Place, year: int = 2025, criteria: list[dict[str, Any]] | None = None) -> AssessmentScheme:
    made, _new = cv.assessment_scheme_save(
        actor=None, place=place, year=year, name="年度评估方案", criteria=criteria or CRITERIA
    )
    return made


def round_of(
    place: Place, quotas: dict[str, int] | None = None, warn_last: int = 1, sch: AssessmentScheme | None = None
) -> AssessmentRound:
    return cv.assessment_round_create(
        actor=None,
        scheme=sch or scheme(place),
        name="年度评选",
        quotas=quotas or {"studio": 1, "quality_org": 2},
        warn_last=warn_last,
    )


def assessor(place: Place, role: str = Role.STREET_STAFF) -> User:
    return factories.staff(role, place)


def enter(rnd: AssessmentRound, organization: Organization, category: str = "quality_org") -> RoundEntry:
    entry, _created = cv.round_entry_add(actor=None, round=rnd, organization=organization, category=category)
    return entry


def score(user: User, entry: RoundEntry, service: float, governance: float, growth: float) -> Any:
    return cv.assessment_score_submit(
        actor=user, entry=entry, scores={"service": service, "governance": governance, "growth": growth}
    )


def make_leader(organization: Organization, community: Place, name: str = "周建国") -> User:
    r = resident_with_account(community, name=name)
    org_services.membership_add(actor=None, organization=organization, resident=r, role=MembershipRole.LEADER)
    user = r.user
    assert user is not None
    return User.objects.get(pk=user.pk)


@pytest.fixture
def district_round(tree):
    """A round on the district with two assessors (street staff of A and B) and five organisations entered."""
    rnd = round_of(tree.district, quotas={"studio": 1, "quality_org": 2}, warn_last=1)
    a, b = assessor(tree.street_a), assessor(tree.street_b)
    cv.round_assessor_add(actor=None, round=rnd, user=a)
    cv.round_assessor_add(actor=None, round=rnd, user=b)
    return rnd, a, b
