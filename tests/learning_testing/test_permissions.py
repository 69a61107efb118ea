"""Permissions as a table: role (granted on) × where the bank or test is → what the user may do, checked on the
predicates and through the pages and the API."""

from __future__ import annotations

import pytest

from gongzhi.learning.testing import services
from tests import factories
from tests.api.conftest import API

from .conftest import QUESTIONS, resident_with_account

pytestmark = pytest.mark.django_db

PLACES = ["comm_a1", "street_a", "district", "comm_b1", "other_comm"]

# who → {where: (manage bank, view bank, manage test, take test)}
Y, N = True, False
TABLE = {
    ("community_worker", "comm_a1"): {
        "comm_a1": (Y, Y, Y, N),
        "street_a": (N, Y, N, N),
        "district": (N, Y, N, N),
        "comm_b1": (N, N, N, N),
        "other_comm": (N, N, N, N),
    },
    ("street_staff", "street_a"): {
        "comm_a1": (Y, Y, Y, N),
        "street_a": (Y, Y, Y, N),
        "district": (N, Y, N, N),
        "comm_b1": (N, N, N, N),
        "other_comm": (N, N, N, N),
    },
    ("admin", "district"): {
        "comm_a1": (Y, Y, Y, N),
        "street_a": (Y, Y, Y, N),
        "district": (Y, Y, Y, N),
        "comm_b1": (Y, Y, Y, N),
        "other_comm": (N, N, N, N),
    },
    ("teacher", "street_a"): {p: (N, N, N, N) for p in PLACES},
    ("resident", "comm_a1"): {
        "comm_a1": (N, N, N, Y),
        "street_a": (N, N, N, Y),
        "district": (N, N, N, Y),
        "comm_b1": (N, N, N, N),
        "other_comm": (N, N, N, N),
    },
}
CASES = [(role, granted, where, *TABLE[(role, granted)][where]) for (role, granted) in TABLE for where in PLACES]


def _user(tree, role, granted):
    if role == "resident":
        return resident_with_account(getattr(tree, granted))[1]
    return factories.staff(role, getattr(tree, granted))


def _bank_and_test(tree, where):
    place = getattr(tree, where)
    bank = services.question_bank_create(actor=None, place=place, name="题库")
    for kind, text, choices, answer in QUESTIONS:
        services.question_create(actor=None, bank=bank, kind=kind, text=text, choices=choices, answer=answer)
    test = services.online_test_create(
        actor=None, place=place, bank=bank, settings=services.OnlineTestSettings(title="测试")
    )
    test = services.online_test_set_status(actor=None, test=test, status="open")
    return bank, test


@pytest.mark.parametrize(("role", "granted", "where", "manage_bank", "view_bank", "manage_test", "take"), CASES)
def test_permission_table(tree, role, granted, where, manage_bank, view_bank, manage_test, take):
    user = _user(tree, role, granted)
    bank, test = _bank_and_test(tree, where)
    assert user.has_perm("learning.manage_questionbank", bank) is manage_bank
    assert user.has_perm("learning.view_questionbank", bank) is view_bank
    assert user.has_perm("learning.manage_onlinetest", test) is manage_test
    assert user.has_perm("learning.take_onlinetest", test) is take


@pytest.mark.parametrize(("role", "granted", "where", "manage_bank", "view_bank", "manage_test", "take"), CASES)
def test_permission_table_through_the_api(
    make_client, tree, role, granted, where, manage_bank, view_bank, manage_test, take
):
    user = _user(tree, role, granted)
    bank, test = _bank_and_test(tree, where)
    client = make_client(user)
    assert client.get(f"{API}/question-banks/{bank.pk}").status_code == (200 if view_bank else 404)
    listed = {b["id"] for b in client.get(f"{API}/question-banks").json()["items"]}
    assert (str(bank.pk) in listed) is view_bank
    r = client.get(f"{API}/question-banks/{bank.pk}/questions")
    assert r.status_code == (200 if view_bank else 404)
    r = client.post_json(
        f"{API}/question-banks/{bank.pk}/questions", {"kind": "true_false", "text": "新题", "answer": [0]}
    )
    assert r.status_code == (201 if manage_bank else 403 if view_bank else 404)
    assert client.get(f"{API}/online-tests/{test.pk}").status_code == (200 if manage_test else 404)
    assert client.get(f"{API}/online-tests/{test.pk}/results").status_code == (200 if manage_test else 404)
    r = client.post_json(f"{API}/online-tests/{test.pk}/attempts")
    expected = 200 if take else (404 if role == "resident" else 403)
    assert r.status_code == expected


@pytest.mark.parametrize(("role", "granted", "where", "manage_bank", "view_bank", "manage_test", "take"), CASES)
def test_permission_table_through_the_pages(
    client, tree, role, granted, where, manage_bank, view_bank, manage_test, take
):
    user = _user(tree, role, granted)
    bank, test = _bank_and_test(tree, where)
    client.force_login(user)
    assert client.get(f"/staff/question-banks/{bank.pk}/").status_code == (200 if view_bank else 404)
    r = client.get(f"/staff/question-banks/{bank.pk}/questions/new/")
    assert r.status_code == (200 if manage_bank else 403 if view_bank else 404)
    assert client.get(f"/staff/online-tests/{test.pk}/").status_code == (200 if manage_test else 404)
    r = client.post(f"/staff/online-tests/{test.pk}/status/", {"status": "closed"})
    assert r.status_code == (302 if manage_test else 404)
    test.refresh_from_db()
    assert test.status == ("closed" if manage_test else "open")
    if manage_test:
        return
    assert client.get(f"/learn/tests/{test.pk}/").status_code == (200 if take else 404)
    r = client.post(f"/learn/tests/{test.pk}/start/")
    assert r.status_code == (302 if take else 404)
    assert test.attempts.exists() is take
