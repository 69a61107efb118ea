"""Fixtures for credential programmes: courses with sessions held in the past, attendance, passed tests, programmes
with levels — all made through the services."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from gongzhi.activities.services import attendance_record
from gongzhi.learning import services as learning
from gongzhi.learning.credentials import programmes
from gongzhi.learning.testing import services as testing
from gongzhi.people import services as people_services
from gongzhi.people.models import Role
from tests import factories

_n = iter(range(100_000))


def resident_with_account(community: Any, name: str = "陈美华") -> Any:
    phone = f"1360000{next(_n):04d}"
    r = factories.resident(community, name=name, phone=phone)
    people_services.account_claim(phone=phone, password="a-long-passphrase-9")
    r.refresh_from_db()
    return r


def course_with_sessions(place: Any, *, title: str, series: Any = None, past: int = 0, future: int = 0) -> Any:
    """A course with ``past`` sessions already held (weekly, ending yesterday) and ``future`` ones to come."""
    course = learning.course_create(actor=None, place=place, title=title, series=series)
    now = timezone.now()
    for i in range(past):
        learning.course_session_add(
            actor=None, course=course, starts_at=now - datetime.timedelta(days=7 * (past - i) - 6, hours=2)
        )
    for i in range(future):
        learning.course_session_add(actor=None, course=course, starts_at=now + datetime.timedelta(days=7 * (i + 1)))
    return course


def sessions_of(course: Any) -> list[Any]:
    return list(course.sessions.select_related("activity").order_by("activity__starts_at"))


def attend(resident: Any, session: Any, status: str = "present") -> Any:
    attendance, _created = attendance_record(
        actor=None, activity=session.activity, resident=resident, status=status, source="roster"
    )
    return attendance


def online_test(place: Any, *, title: str, series: Any = None, course: Any = None) -> Any:
    bank = testing.question_bank_create(actor=None, place=place, name=f"题库 {title}", series=series, course=course)
    testing.question_create(
        actor=None, bank=bank, kind="true_false", text="孩子发烧应及时就医。", choices=["正确", "错误"], answer=[0]
    )
    test = testing.online_test_create(
        actor=None,
        place=place,
        bank=bank,
        settings=testing.OnlineTestSettings(title=title, pass_mark=60, attempts_allowed=3),
        course=course,
        series=series,
    )
    return testing.online_test_set_status(actor=None, test=test, status="open")


def take_test(resident: Any, test: Any, *, correct: bool = True) -> Any:
    attempt = testing.attempt_start(resident=resident, test=test)
    answers = {}
    for qid in attempt.question_ids:
        from gongzhi.learning.models import Question

        question = Question.objects.get(pk=qid)
        order = attempt.option_orders[str(qid)]
        wanted = question.answer[0] if correct else 1 - question.answer[0]
        answers[str(qid)] = [order.index(wanted)]
    return testing.attempt_submit(resident=resident, attempt=attempt, answers=answers)


@dataclass
class Licence:
    """The parent-licence programme of street A: two series, courses, a test, three levels."""

    programme: Any
    levels: list[Any]
    series: Any
    other_series: Any
    course: Any
    other_course: Any
    test: Any


LEVEL1 = "一星家长"
LEVEL2 = "二星家长"
LEVEL3 = "三星家长"


@pytest.fixture
def licence(tree) -> Licence:
    series = learning.series_create(actor=None, place=tree.street_a, name="科学育儿")
    other = learning.series_create(actor=None, place=tree.street_a, name="健康生活")
    course = course_with_sessions(tree.street_a, title="婴幼儿照护", series=series, past=5)
    other_course = course_with_sessions(tree.street_a, title="膳食营养", series=other, past=2)
    test = online_test(tree.street_a, title="育儿测验", series=series)
    programme = programmes.programme_create(actor=None, place=tree.street_a, name="星级家长执照", validity_months=24)
    s = str(series.pk)
    levels = [
        programmes.level_create(
            actor=None,
            programme=programme,
            rank=1,
            name=LEVEL1,
            criteria={"all": [{"kind": "points", "min": 20, "series": s}, {"kind": "tests_passed", "min": 1}]},
        ),
        programmes.level_create(
            actor=None,
            programme=programme,
            rank=2,
            name=LEVEL2,
            criteria={
                "all": [
                    {"kind": "level_held", "rank": 1},
                    {
                        "any": [
                            {"kind": "sessions_attended", "min": 4, "series": s},
                            {"kind": "courses_completed", "min": 1},
                        ]
                    },
                ]
            },
        ),
        programmes.level_create(
            actor=None,
            programme=programme,
            rank=3,
            name=LEVEL3,
            criteria={"all": [{"kind": "level_held", "rank": 2}, {"kind": "points", "min": 200}]},
        ),
    ]
    programme = programmes.programme_activate(actor=None, programme=programme)
    return Licence(programme, levels, series, other, course, other_course, test)


def staff_of(role: str, tree: Any, key: str) -> Any:
    return factories.staff(role, getattr(tree, key))


ROLES = {"admin": Role.ADMIN, "street_staff": Role.STREET_STAFF, "community_worker": Role.COMMUNITY_WORKER}


from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: E402, F401
