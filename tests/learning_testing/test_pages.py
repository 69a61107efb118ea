"""The pages: staff build banks, questions and tests and read results; residents take a test on their phone.
Bad input changes nothing; lists keep a constant number of queries; the sheet has no answer key."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.learning.models import OnlineTest, OnlineTestAttempt, PointsEntry, Question, QuestionBank
from gongzhi.learning.testing import services
from tests import factories

from .conftest import resident_with_account, sheet

pytestmark = pytest.mark.django_db

EXPLANATION = "纯母乳喂养至六个月后添加辅食"


@pytest.fixture
def staff_client(client, tree):
    client.force_login(factories.staff("street_staff", tree.street_a))
    return client


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, url
    return len(ctx.captured_queries)


# --- staff ------------------------------------------------------------------------------------------------------


def test_staff_create_bank_and_questions_with_errors_shown(staff_client, tree):
    r = staff_client.post("/staff/question-banks/", {"name": ""})
    assert r.status_code == 200 and "题库名称：这个字段是必填项。" in r.content.decode()
    assert not QuestionBank.objects.exists()
    r = staff_client.post("/staff/question-banks/", {"name": "科学育儿题库"})
    bank = QuestionBank.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/staff/question-banks/{bank.pk}/"
    assert bank.place == tree.street_a
    r = staff_client.post("/staff/question-banks/", {"name": "科学育儿题库"})
    assert "该区划已有同名题库" in r.content.decode() and QuestionBank.objects.count() == 1

    url = f"/staff/question-banks/{bank.pk}/questions/new/"
    bad = {
        "kind": "single",
        "text": "婴儿几个月添加辅食？",
        "option_a": "3 个月",
        "option_b": "6 个月",
        "answer": ["0", "1"],
    }
    r = staff_client.post(url, bad)
    assert r.status_code == 200 and "正确答案：单选题和判断题只能有一个正确答案" in r.content.decode()
    r = staff_client.post(url, {**bad, "option_b": "", "option_c": "12 个月", "answer": ["0"]})
    assert "选项须从 A 开始依次填写" in r.content.decode()
    assert not Question.objects.exists()
    good = {**bad, "answer": ["1"], "explanation": EXPLANATION, "again": "1"}
    r = staff_client.post(url, good)
    assert r.status_code == 302 and r["Location"] == f"{url}?kind=single"
    r = staff_client.post(url, {"kind": "true_false", "text": "户外活动有益视力。", "answer": ["0"]})
    assert r.status_code == 302
    q = Question.objects.get(kind="single")
    assert (q.choices, q.answer, q.explanation) == (["3 个月", "6 个月"], [1], EXPLANATION)
    assert Question.objects.get(kind="true_false").choices == ["正确", "错误"]
    page = staff_client.get(f"/staff/question-banks/{bank.pk}/").content.decode()
    assert "6 个月 ✓" in page and "启用 2 道（共 2 道）" in page


def test_staff_question_edit_deactivate_delete(staff_client, tree, online_test_factory):
    test = online_test_factory(place=tree.street_a)
    q = test.bank.questions.order_by("order").first()
    resident = factories.resident(tree.comm_a1)
    services.attempt_start(resident=resident, test=test)
    r = staff_client.get(f"/staff/questions/{q.pk}/edit/")
    assert "这道题已有人作答" in r.content.decode()
    form = {"kind": q.kind, "text": q.text, "answer": ["0"], "explanation": ""}
    form.update({f"option_{c}": t for c, t in zip("abcdefgh", q.choices, strict=False)})
    r = staff_client.post(f"/staff/questions/{q.pk}/edit/", form)
    assert "不能修改正确答案" in r.content.decode()
    q.refresh_from_db()
    assert q.answer == [1]
    r = staff_client.post(f"/staff/questions/{q.pk}/delete/", follow=True)
    assert "已改为停用" in r.content.decode()
    q.refresh_from_db()
    assert q.active is False
    r = staff_client.post(f"/staff/questions/{q.pk}/active/", {"active": "1"})
    q.refresh_from_db()
    assert r.status_code == 302 and q.active is True
    assert staff_client.get(f"/staff/questions/{q.pk}/delete/").status_code == 405


def test_staff_create_test_publish_and_read_results(staff_client, tree, bank_factory):
    bank = bank_factory(place=tree.street_a)
    r = staff_client.post(
        "/staff/online-tests/new/", {"title": "", "bank": str(bank.pk), "pass_mark": 60, "attempts_allowed": 3}
    )
    assert r.status_code == 200 and "测试名称：这个字段是必填项。" in r.content.decode()
    r = staff_client.post(
        "/staff/online-tests/new/",
        {"title": "育儿测试", "bank": str(bank.pk), "question_count": 9, "pass_mark": 60, "attempts_allowed": 3},
    )
    test = OnlineTest.objects.get()
    assert r.status_code == 302 and test.status == "draft"
    r = staff_client.post(f"/staff/online-tests/{test.pk}/status/", {"status": "open"}, follow=True)
    assert "抽题数（9）超过题库中启用的题目数（5）" in r.content.decode()
    test.refresh_from_db()
    assert test.status == "draft"
    r = staff_client.post(
        f"/staff/online-tests/{test.pk}/edit/",
        {
            "title": "育儿测试",
            "bank": str(bank.pk),
            "question_count": 4,
            "pass_mark": 60,
            "attempts_allowed": 3,
            "shuffle": "on",
        },
    )
    assert r.status_code == 302
    r = staff_client.post(f"/staff/online-tests/{test.pk}/status/", {"status": "open"}, follow=True)
    assert "测试已发布" in r.content.decode()

    passers = [factories.resident(tree.comm_a1, name=f"王小{i}") for i in range(3)]
    for i, who in enumerate(passers):
        a = services.attempt_start(resident=who, test=test)
        services.attempt_submit(resident=who, attempt=a, answers=sheet(a, right=None if i < 2 else 0))
    page = staff_client.get(f"/staff/online-tests/{test.pk}/").content.decode()
    assert re.search(r'id="takers">3<', page) and re.search(r'id="passers">2<', page)
    assert 'id="pass-rate">66.67%<' in page
    assert "王*0" in page and "王小0" not in page  # names masked in the list
    assert "每题正确率" in page


def test_staff_list_pages_keep_constant_queries(staff_client, tree, bank_factory, online_test_factory):
    def grow(n):
        test = None
        for _i in range(n):
            test = online_test_factory(place=tree.street_a)
            for j in range(2):
                r = factories.resident(tree.comm_a1, name=f"居民{j}")
                a = services.attempt_start(resident=r, test=test)
                services.attempt_submit(resident=r, attempt=a, answers=sheet(a, right=j * 5))
        return test

    test = grow(1)
    urls = lambda t: [  # noqa: E731
        "/staff/question-banks/",
        f"/staff/question-banks/{t.bank_id}/",
        "/staff/online-tests/",
        f"/staff/online-tests/{t.pk}/",
    ]
    small = [_queries(staff_client, u) for u in urls(test)]
    test = grow(5)
    for j in range(6):
        r = factories.resident(tree.comm_a2, name=f"新居民{j}")
        a = services.attempt_start(resident=r, test=test)
        services.attempt_submit(resident=r, attempt=a, answers=sheet(a))
    services.question_create(actor=None, bank=test.bank, kind="true_false", text="再加一题", answer=[0])
    large = [_queries(staff_client, u) for u in urls(test)]
    assert large == small
    assert max(small) <= 16


# --- residents --------------------------------------------------------------------------------------------------


@pytest.fixture
def resident_client(client, tree):
    resident, user = resident_with_account(tree.comm_a1)
    client.force_login(user)
    client.resident = resident
    return client


def _with_explanations(test):
    for q in test.bank.questions.all():
        q.explanation = f"{EXPLANATION}（{q.order}）"
        q.save(update_fields=["explanation"])


def test_the_sheet_before_submission_has_no_answer_key(resident_client, tree, online_test_factory):
    """MUST-SHOW: answers are checked on the server only — the page before submission carries no answer key."""
    test = online_test_factory(place=tree.street_a)
    _with_explanations(test)
    r = resident_client.post(f"/learn/tests/{test.pk}/start/")
    attempt = OnlineTestAttempt.objects.get()
    assert r["Location"] == f"/learn/tests/attempts/{attempt.pk}/"
    html = resident_client.get(r["Location"]).content.decode()
    assert EXPLANATION not in html and "正确答案" not in html and "解析" not in html
    # Option inputs carry only their position in this sheet (0…n-1), nothing derived from the key.
    for qid in attempt.question_ids:
        values = re.findall(rf'name="q-{qid}" value="(\d+)"', html)
        assert values == [str(i) for i in range(len(attempt.option_orders[qid]))]
    assert 'id="clock" data-seconds="' in html
    # No other way round: the result page of an open attempt sends back to the sheet.
    r = resident_client.get(f"/learn/tests/attempts/{attempt.pk}/result/")
    assert r.status_code == 302 and r["Location"] == f"/learn/tests/attempts/{attempt.pk}/"


def test_take_submit_see_result_and_cannot_submit_twice(resident_client, tree, online_test_factory):
    test = online_test_factory(place=tree.street_a)
    _with_explanations(test)
    resident_client.post(f"/learn/tests/{test.pk}/start/")
    attempt = OnlineTestAttempt.objects.get()
    answers = sheet(attempt)
    # Autosave of one answer.
    first = attempt.question_ids[0]
    r = resident_client.post(
        f"/learn/tests/attempts/{attempt.pk}/save/", {"question": first, f"q-{first}": answers[first]}
    )
    assert r.json() == {"saved": True}
    form = {f"q-{qid}": [str(p) for p in picks] for qid, picks in answers.items()}
    r = resident_client.post(f"/learn/tests/attempts/{attempt.pk}/submit/", form)
    assert r.status_code == 302 and r["Location"] == f"/learn/tests/attempts/{attempt.pk}/result/"
    html = resident_client.get(r["Location"]).content.decode()
    assert 'id="score">100.00<' in html and 'id="verdict">通过<' in html and "获得 20 积分" in html
    assert EXPLANATION in html and "正确答案" in html  # after submission: the key and explanations

    # A second submission (a double click, a back button) is refused with a clear message; nothing changes.
    r = resident_client.post(f"/learn/tests/attempts/{attempt.pk}/submit/", {}, follow=True)
    assert "本次作答已经提交过了，不能重复提交" in r.content.decode()
    attempt.refresh_from_db()
    assert attempt.score == 100 and PointsEntry.objects.filter(source_type="online_test").count() == 1
    r = resident_client.post(f"/learn/tests/attempts/{attempt.pk}/save/", {"question": first})
    assert r.status_code == 409 and r.json()["code"] == "already_submitted"
    # The sheet of a submitted attempt goes to its result.
    assert resident_client.get(f"/learn/tests/attempts/{attempt.pk}/")["Location"].endswith("/result/")

    mine = resident_client.get("/learn/tests/mine/").content.decode()
    assert "100.00 分 · 通过" in mine
    home = resident_client.get("/learn/tests/").content.decode()
    assert "已通过 · 最高 100.00 分" in home


def test_time_up_page_hands_in_what_was_saved(resident_client, tree, online_test_factory):
    import datetime

    from django.utils import timezone

    test = online_test_factory(place=tree.street_a)
    resident_client.post(f"/learn/tests/{test.pk}/start/")
    attempt = OnlineTestAttempt.objects.get()
    OnlineTestAttempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - datetime.timedelta(minutes=5))
    html = resident_client.get(f"/learn/tests/attempts/{attempt.pk}/").content.decode()
    assert "作答时间已到" in html and 'name="saved"' in html and 'name="q-' not in html
    r = resident_client.post(f"/learn/tests/attempts/{attempt.pk}/submit/", {"saved": "1"}, follow=True)
    assert "已超过作答时限" in r.content.decode()
    attempt.refresh_from_db()
    assert attempt.submitted_at is not None and attempt.score == 0


def test_residents_see_only_tests_for_their_community(client, tree, online_test_factory):
    here = online_test_factory(place=tree.street_a, title="九堡街道测试")
    there = online_test_factory(place=tree.street_b, title="采荷街道测试")
    online_test_factory(place=tree.comm_a1, title="未发布测试", status="draft")
    _r, user = resident_with_account(tree.comm_a2)
    client.force_login(user)
    html = client.get("/learn/tests/").content.decode()
    assert "九堡街道测试" in html and "采荷街道测试" not in html and "未发布测试" not in html
    assert client.get(f"/learn/tests/{there.pk}/").status_code == 404
    assert client.post(f"/learn/tests/{there.pk}/start/").status_code == 404
    assert client.get(f"/learn/tests/{here.pk}/").status_code == 200


def test_resident_pages_keep_constant_queries(resident_client, tree, online_test_factory):
    def grow(n):
        for _i in range(n):
            t = online_test_factory(place=tree.street_a)
            a = services.attempt_start(resident=resident_client.resident, test=t)
            services.attempt_submit(resident=resident_client.resident, attempt=a, answers={})

    grow(1)
    small = [_queries(resident_client, u) for u in ("/learn/tests/", "/learn/tests/mine/")]
    grow(6)
    assert [_queries(resident_client, u) for u in ("/learn/tests/", "/learn/tests/mine/")] == small
    assert max(small) <= 14  # ~9 of them are the session, the user and the navigation of every page


def test_no_attempts_left_is_explained(resident_client, tree, online_test_factory):
    test = online_test_factory(place=tree.street_a, attempts_allowed=1)
    resident_client.post(f"/learn/tests/{test.pk}/start/")
    a = OnlineTestAttempt.objects.get()
    resident_client.post(f"/learn/tests/attempts/{a.pk}/submit/", {})
    html = resident_client.get(f"/learn/tests/{test.pk}/").content.decode()
    assert "您的作答次数已用完" in html
    r = resident_client.post(f"/learn/tests/{test.pk}/start/", follow=True)
    assert "您已用完全部 1 次作答机会" in r.content.decode()
    assert OnlineTestAttempt.objects.count() == 1


def test_pages_need_the_right_person(client, tree, online_test_factory):
    test = online_test_factory(place=tree.street_a)
    assert client.get("/learn/tests/").status_code == 302  # login first
    client.force_login(factories.staff("street_staff", tree.street_a))
    assert client.get("/learn/tests/").status_code == 404  # no resident record
    _r, user = resident_with_account(tree.comm_a1)
    client.force_login(user)
    assert client.get("/staff/question-banks/").status_code == 403
    assert client.get("/staff/online-tests/").status_code == 403
    assert client.get(f"/staff/online-tests/{test.pk}/").status_code == 404
