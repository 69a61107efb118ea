"""Helpers of the social-capital survey tests: residents with accounts, rounds made through the services, answers."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from gongzhi.analytics.models import SocialSurvey
from gongzhi.analytics.survey import services
from gongzhi.analytics.survey.instrument import ITEMS
from gongzhi.people import services as people_services
from gongzhi.people.models import Resident, User
from gongzhi.places.models import Place
from tests import factories
from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: F401  (API fixtures)

PASSWORD = "a-long-passphrase-9"
D = datetime.timedelta
_phones = itertools.count(1)


def resident_with_account(community: Place, name: str = "陈美华") -> tuple[Resident, User]:
    phone = f"1355500{next(_phones):04d}"
    resident = factories.resident(community, name=name, phone=phone)
    user = people_services.account_claim(phone=phone, password=PASSWORD)
    resident.refresh_from_db()
    return resident, user


def make_survey(
    tree: Any,
    *,
    place: Place | None = None,
    targets: Sequence[Place] | None = None,
    title: str = "2026 年社会资本调查",
    opens_on: datetime.date | None = None,
    closes_on: datetime.date | None = None,
    open_it: bool = True,
) -> SocialSurvey:
    today = timezone.localdate()
    survey = services.social_survey_create(
        actor=None,
        place=place or tree.street_a,
        title=title,
        targets=targets if targets is not None else [tree.street_a],
        opens_on=opens_on or today,
        closes_on=closes_on or today + D(days=14),
    )
    if open_it:
        services.social_survey_open(actor=None, survey=survey)
        survey.refresh_from_db()
    return survey


def all_items(value: int | Sequence[int] = 4) -> dict[str, int]:
    """Answers to the twelve items: one value for all, or one per item."""
    if isinstance(value, int):
        return dict.fromkeys(ITEMS, value)
    return dict(zip(ITEMS, value, strict=True))


def answer(user: User, survey: SocialSurvey, value: int | Sequence[int] = 4) -> Any:
    return services.social_survey_answer(user=user, survey=survey, answers=all_items(value))
