"""The online-test API: staff build banks and tests; residents take them. Every response is checked against the
OpenAPI document (tests/api/conftest.py). MUST-SHOW: no answer key before submission; a second submit is refused."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.learning.models import OnlineTestAttempt, PointsEntry, Question
from gongzhi.learning.testing import services
from tests import factories
from tests.api.conftest import API, error_of

from .conftest import QUESTIONS, resident_with_account, sheet

pytestmark = pytest.mark.django_db

EXPLANATION = "世界卫生组织建议：纯母乳喂养至六个月"


def _build_with_api(client, tree):
    bank = client.post_json(f"{API}/question-banks", {"place": tree.street_a.code, "name": "科学育儿题库"})
    assert bank.status_code == 201, bank.json()
    bank_id = bank.json()["id"]
    for i, (kind, text, choices, answer) in enumerate(QUESTIONS):
        r = client.post_json(
            f"{API}/question-banks/{bank_id}/questions",
            {
                "kind": kind,
                "text": text,
                "choices": choices,
                "answer": answer,
                "explanation": EXPLANATION if i == 0 else f"解析{i}",
            },
        )
        assert r.status_code == 201, r.json()
    test = client.post_json(
        f"{API}/online-tests",
        {"place": tree.street_a.code, "bank_id": bank_id, "title": "科学育儿知识测试", "time_limit_minutes": 20},
    )
    assert test.status_code == 201, test.json()
    assert test.json()["status"] == "draft"
    opened = client.post_json(f"{API}/online-tests/{test.json()['id']}/status", {"status": "open"})
    assert opened.status_code == 200 and opened.json()["status"] == "open"
    return bank_id, test.json()["id"]


def _no_key(raw: bytes) -> None:
    text = raw.decode()
    body = json.loads(text)
    assert EXPLANATION not in text
    for q in body["questions"]:
        assert set(q) == {"number", "question_id", "kind", "text", "options", "answered"}
        for o in q["options"]:
            assert set(o) == {"position", "letter", "text", "chosen"}
    assert '"answer"' not in text and '"correct' not in text and '"explanation"' not in text


def test_staff_build_and_resident_takes_and_passes(make_client, tree):
    staff = make_client(factories.staff("street_staff", tree.street_a))
    bank_id, test_id = _build_with_api(staff, tree)
    questions = staff.get(f"{API}/question-banks/{bank_id}/questions").json()
    assert questions["count"] == len(QUESTIONS) and questions["items"][0]["answer"] == [1]  # staff see the key

    resident, user = resident_with_account(tree.comm_a1)
    me = make_client(user)
    mine = me.get(f"{API}/me/online-tests").json()
    assert [t["id"] for t in mine] == [test_id]
    assert mine[0]["question_count"] == len(QUESTIONS) and mine[0]["my_attempts"] == 0

    started = me.post_json(f"{API}/online-tests/{test_id}/attempts")
    assert started.status_code == 200
    _no_key(started.content)  # MUST-SHOW: the sheet carries no answer key
    attempt_id = started.json()["id"]
    assert started.json()["state"] == "open" and 0 < started.json()["seconds_left"] <= 20 * 60
    again = me.post_json(f"{API}/online-tests/{test_id}/attempts")
    assert again.json()["id"] == attempt_id  # resumed, not a second attempt
    _no_key(me.get(f"{API}/test-attempts/{attempt_id}").content)

    attempt = OnlineTestAttempt.objects.get(pk=attempt_id)
    answers = sheet(attempt)
    first = attempt.question_ids[0]
    saved = me.put(
        f"{API}/test-attempts/{attempt_id}/answers",
        json.dumps({"answers": {first: answers[first]}}),
        content_type="application/json",
    )
    assert saved.status_code == 200
    _no_key(saved.content)
    assert saved.json()["questions"][0]["answered"] is True

    early = me.get(f"{API}/test-attempts/{attempt_id}/result")
    assert early.status_code == 409 and error_of(early)["code"] == "not_submitted"

    done = me.post_json(f"{API}/test-attempts/{attempt_id}/submit", {"answers": answers})
    assert done.status_code == 200, done.json()
    body = done.json()
    assert body["score"] == "100.00" and body["passed"] is True and body["points"] == 20
    assert body["right_count"] == len(QUESTIONS) and body["late"] is False
    # After submission: the right options (as positions of this sheet) and the explanations.
    for q in body["questions"]:
        assert q["correct"] is True
        assert q["correct_positions"] == answers[q["question_id"]]
    assert EXPLANATION in done.content.decode()

    twice = me.post_json(f"{API}/test-attempts/{attempt_id}/submit", {"answers": {}})
    assert twice.status_code == 409
    err = error_of(twice)
    assert err["code"] == "already_submitted" and "不能重复提交" in err["message"]
    assert me.get(f"{API}/test-attempts/{attempt_id}/result").json()["score"] == "100.00"
    assert PointsEntry.objects.filter(resident=resident, source_type="online_test").count() == 1

    attempts = me.get(f"{API}/me/test-attempts").json()
    assert attempts["count"] == 1 and attempts["items"][0]["state"] == "submitted"
    summary = staff.get(f"{API}/online-tests/{test_id}/summary").json()
    assert (summary["takers"], summary["passers"], summary["pass_rate"]) == (1, 1, "100.00")
    rows = staff.get(f"{API}/online-tests/{test_id}/results").json()
    assert rows["count"] == 1 and rows["items"][0]["name_masked"] == "陈*华"


def test_positions_are_mapped_back_on_the_server(make_client, tree, online_test_factory):
    """The client sends positions in the order shown; sending the original indices instead scores as such."""
    test = online_test_factory()
    _resident, user = resident_with_account(tree.comm_a1)
    me = make_client(user)
    keys = {str(q.pk): q.answer for q in test.bank.questions.all()}
    for _round in range(30):  # until the shuffle moved some right option away from its original index
        a = me.post_json(f"{API}/online-tests/{test.pk}/attempts").json()
        attempt = OnlineTestAttempt.objects.get(pk=a["id"])
        moved = [
            q for q in attempt.question_ids if sorted(attempt.option_orders[q].index(o) for o in keys[q]) != keys[q]
        ]
        if moved:
            break
        OnlineTestAttempt.objects.filter(pk=attempt.pk).delete()
    assert moved
    original = {q: keys[q] for q in attempt.question_ids}
    r = me.post_json(f"{API}/test-attempts/{attempt.pk}/submit", {"answers": original})
    assert r.status_code == 200
    assert r.json()["score"] != "100.00"
    by_id = {q["question_id"]: q for q in r.json()["questions"]}
    assert all(by_id[q]["correct"] is False for q in moved)


def test_staff_bad_input(make_client, tree, bank_factory):
    client = make_client(factories.staff("street_staff", tree.street_a))
    bank = bank_factory()
    r = client.post_json(
        f"{API}/question-banks/{bank.pk}/questions",
        {"kind": "single", "text": "题", "choices": ["甲", "乙"], "answer": [0, 1]},
    )
    assert r.status_code == 400 and "answer" in error_of(r)["fields"]
    r = client.post_json(f"{API}/question-banks/{bank.pk}/questions", {"kind": "essay", "text": "题", "answer": [0]})
    assert r.status_code == 422 and "kind" in error_of(r)["fields"]
    r = client.post_json(f"{API}/question-banks", {"place": tree.street_a.code, "name": bank.name})
    assert r.status_code == 409 and "name" in error_of(r)["fields"]
    r = client.post_json(
        f"{API}/online-tests", {"place": tree.street_a.code, "bank_id": str(bank.pk), "title": "测", "pass_mark": 120}
    )
    assert r.status_code == 422 and "pass_mark" in error_of(r)["fields"]
    r = client.post_json(f"{API}/online-tests", {"place": "999999999999", "bank_id": str(bank.pk), "title": "测"})
    assert r.status_code == 400 and "place" in error_of(r)["fields"]
    other = bank_factory(place=tree.other_comm)
    r = client.post_json(f"{API}/online-tests", {"place": tree.street_a.code, "bank_id": str(other.pk), "title": "测"})
    assert r.status_code == 400 and "bank_id" in error_of(r)["fields"]
    assert Question.objects.filter(bank=bank).count() == len(QUESTIONS)


def test_question_update_and_delete_through_the_api(make_client, tree, online_test_factory):
    client = make_client(factories.staff("street_staff", tree.street_a))
    test = online_test_factory()
    q = test.bank.questions.order_by("order").first()
    r = client.put(
        f"{API}/questions/{q.pk}",
        json.dumps(
            {"kind": "single", "text": "修订后的题目", "choices": q.choices, "answer": q.answer, "active": False}
        ),
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["text"] == "修订后的题目" and r.json()["active"] is False
    r = client.delete(f"{API}/questions/{q.pk}")
    assert r.json() == {"deleted": True, "active": False}
    q2 = test.bank.questions.order_by("order").first()
    resident = factories.resident(tree.comm_a1)
    services.attempt_start(resident=resident, test=test)
    r = client.put(
        f"{API}/questions/{q2.pk}",
        json.dumps(
            {
                "kind": q2.kind,
                "text": q2.text,
                "choices": q2.choices,
                "answer": [1] if q2.answer == [0] else [0],
            }
        ),
        content_type="application/json",
    )
    assert r.status_code == 409 and error_of(r)["code"] == "question_in_use"
    r = client.delete(f"{API}/questions/{q2.pk}")
    assert r.json() == {"deleted": False, "active": False}


def test_resident_errors(make_client, tree, online_test_factory):
    test = online_test_factory(attempts_allowed=1)
    _r, user = resident_with_account(tree.comm_a1)
    me = make_client(user)
    a = me.post_json(f"{API}/online-tests/{test.pk}/attempts").json()
    r = me.post_json(f"{API}/test-attempts/{a['id']}/submit", {"answers": {a["questions"][0]["question_id"]: [7]}})
    assert r.status_code == 400 and "answers" in error_of(r)["fields"]
    r = me.post_json(f"{API}/test-attempts/{a['id']}/submit", {})
    assert r.status_code == 200 and r.json()["score"] == "0.00"
    r = me.post_json(f"{API}/online-tests/{test.pk}/attempts")
    assert r.status_code == 400 and error_of(r)["code"] == "no_attempts_left"
    _s, stranger = resident_with_account(tree.comm_a2, name="王五")
    other = make_client(stranger)
    assert other.get(f"{API}/test-attempts/{a['id']}").status_code == 404
    assert other.post_json(f"{API}/test-attempts/{a['id']}/submit", {}).status_code == 404
    staff = make_client(factories.staff("street_staff", tree.street_a))
    assert staff.get(f"{API}/me/online-tests").status_code == 403
    assert make_client().get(f"{API}/me/online-tests").status_code == 401


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, r.content
    return len(ctx.captured_queries)


def test_list_queries_do_not_grow_with_rows(make_client, tree, bank_factory, online_test_factory):
    staff_user = factories.staff("street_staff", tree.street_a)
    staff = make_client(staff_user)
    _resident, user = resident_with_account(tree.comm_a1)
    me = make_client(user)

    def grow(n):
        for _i in range(n):
            t = online_test_factory()
            r = factories.resident(tree.comm_a1, name="张三")
            a = services.attempt_start(resident=r, test=t)
            services.attempt_submit(resident=r, attempt=a, answers=sheet(a))
            mine = services.attempt_start(resident=_resident, test=t)
            services.attempt_submit(resident=_resident, attempt=mine, answers={})
        return t

    t = grow(1)
    urls = [
        f"{API}/question-banks",
        f"{API}/online-tests",
        f"{API}/online-tests/{t.pk}/results",
        f"{API}/question-banks/{t.bank_id}/questions",
    ]
    small = {u: _count(staff, u) for u in urls}
    small_me = {u: _count(me, u) for u in (f"{API}/me/online-tests", f"{API}/me/test-attempts")}
    t = grow(4)
    for r in [factories.resident(tree.comm_a2, name=f"居民{i}") for i in range(4)]:
        a = services.attempt_start(resident=r, test=t)
        services.attempt_submit(resident=r, attempt=a, answers=sheet(a))
    urls[2:] = [f"{API}/online-tests/{t.pk}/results", f"{API}/question-banks/{t.bank_id}/questions"]
    for old, new in zip(small, urls, strict=True):
        assert _count(staff, new) == small[old], new
    for u, n in small_me.items():
        assert _count(me, u) == n, u
    assert max(small.values()) <= 8 and max(small_me.values()) <= 6
