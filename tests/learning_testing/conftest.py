"""Fixtures of the online-test tests: banks with questions, tests, residents who can log in, and a helper that knows
the right answers (as only the server does) to fill in a sheet."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from gongzhi.learning.models import OnlineTestAttempt, Question
from gongzhi.learning.testing import services
from gongzhi.people import services as people_services
from tests import factories
from tests.api.conftest import anon, make_client, openapi_checker, openapi_spec  # noqa: F401

PASSWORD = "a-long-passphrase-9"
_n = itertools.count()

# (kind, text, choices, answer)
QUESTIONS: list[tuple[str, str, list[str], list[int]]] = [
    ("single", "婴儿满几个月后可以开始添加辅食？", ["3 个月", "6 个月", "12 个月", "18 个月"], [1]),
    ("single", "孩子发烧到多少度需要及时就医？", ["37.5℃", "38.5℃以上持续不退", "36.8℃"], [1]),
    (
        "multiple",
        "哪些做法有助于隔代教养中的沟通？",
        ["定期家庭会议", "当着孩子面争执", "统一教养规则", "互相尊重"],
        [0, 2, 3],
    ),
    ("true_false", "孩子哭闹时应立即满足其一切要求。", [], [1]),
    ("true_false", "每天户外活动有益于幼儿视力发育。", [], [0]),
]


def resident_with_account(community: Any, name: str = "陈美华") -> tuple[Any, Any]:
    phone = f"1371111{next(_n):04d}"
    r = factories.resident(community, name=name, phone=phone)
    user = people_services.account_claim(phone=phone, password=PASSWORD)
    r.refresh_from_db()
    return r, user


@pytest.fixture
def bank_factory(tree):
    def make(*, place=None, name=None, questions=QUESTIONS, series=None, course=None):
        bank = services.question_bank_create(
            actor=None,
            place=place or tree.street_a,
            name=name or f"育儿知识题库{next(_n)}",
            series=series,
            course=course,
        )
        for kind, text, choices, answer in questions:
            services.question_create(actor=None, bank=bank, kind=kind, text=text, choices=choices, answer=answer)
        return bank

    return make


@pytest.fixture
def online_test_factory(tree, bank_factory):
    def make(*, place=None, bank=None, status="open", **settings):
        bank = bank or bank_factory(place=place)
        defaults = {"title": "科学育儿知识测试", "time_limit_minutes": 20, "pass_mark": 60, "attempts_allowed": 3}
        defaults.update(settings)
        test = services.online_test_create(
            actor=None,
            place=place or tree.street_a,
            bank=bank,
            settings=services.OnlineTestSettings(**defaults),
        )
        if status != "draft":
            services.online_test_set_status(actor=None, test=test, status="open")
        if status == "closed":
            services.online_test_set_status(actor=None, test=test, status="closed")
        test.refresh_from_db()
        return test

    return make


def sheet(attempt: OnlineTestAttempt, right: int | None = None) -> dict[str, list[int]]:
    """An answer sheet in positions (as a client sends): the first ``right`` questions answered right (all when None),
    the others wrong."""
    keys = {str(q.pk): (q.kind, q.answer, len(q.choices)) for q in Question.objects.filter(pk__in=attempt.question_ids)}
    out: dict[str, list[int]] = {}
    for i, qid in enumerate(attempt.question_ids):
        _kind, answer, n = keys[qid]
        order = attempt.option_orders[qid]
        if right is None or i < right:
            originals = answer
        else:
            wrong = [o for o in range(n) if o not in answer]
            originals = [wrong[0]]
        out[qid] = sorted(order.index(o) for o in originals)
    return out
