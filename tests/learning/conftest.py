from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.learning import services
from gongzhi.people import services as people_services
from tests import factories


@pytest.fixture
def course_factory(tree):
    def make(*, place=None, capacity=None, title="科学育儿", status="open", sessions=0):
        course = services.course_create(
            actor=None, place=place or tree.street_a, title=title, capacity=capacity, status=status
        )
        for i in range(sessions):
            services.course_session_add(
                actor=None, course=course, starts_at=timezone.now() + datetime.timedelta(days=i + 1)
            )
        return course

    return make


_n = iter(range(10_000))


def resident_with_account(community, name="陈美华"):
    phone = f"1370000{next(_n):04d}"
    r = factories.resident(community, name=name, phone=phone)
    user = people_services.account_claim(phone=phone, password="a-long-passphrase-9")
    r.refresh_from_db()
    return r, user


from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: E402, F401
