"""Online tests through the services: question validation, banks, tests, attempts, scoring, points, time."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from gongzhi.core.errors import Conflict, DomainError, PermissionDenied
from gongzhi.learning import services as learning_services
from gongzhi.learning.models import OnlineTestAttempt, PointsBalance, PointsEntry, Question
from gongzhi.learning.testing import selectors, services
from tests import factories

from .conftest import QUESTIONS, sheet

pytestmark = pytest.mark.django_db


# --- question validation: a table -------------------------------------------------------------------------------

VALIDATION = [
    # kind, choices, answer, field with an error (None = valid)
    ("single", ["甲", "乙", "丙"], [1], None),
    ("single", ["甲", "乙", "丙"], [0, 1], "answer"),
    ("single", ["甲", "乙", "丙"], [], "answer"),
    ("single", ["甲", "乙", "丙"], [3], "answer"),
    ("single", ["甲", "乙", "丙"], [-1], "answer"),
    ("single", ["甲"], [0], "choices"),
    ("single", ["甲", "", "丙"], [0], "choices"),
    ("single", ["甲", "甲"], [0], "choices"),
    ("single", [f"选项{i}" for i in range(9)], [0], "choices"),
    ("multiple", ["甲", "乙"], [0, 1], None),
    ("multiple", ["甲", "乙", "丙"], [2], None),
    ("multiple", ["甲", "乙", "丙"], [], "answer"),
    ("multiple", ["甲"], [0], "choices"),
    ("true_false", [], [0], None),
    ("true_false", ["对", "错", "不知道"], [1], None),  # options fixed: what was sent is ignored
    ("true_false", [], [0, 1], "answer"),
    ("true_false", [], [2], "answer"),
    ("essay", ["甲", "乙"], [0], "kind"),
]


@pytest.mark.parametrize(("kind", "choices", "answer", "bad"), VALIDATION)
def test_question_validation_table(tree, kind, choices, answer, bad):
    bank = services.question_bank_create(actor=None, place=tree.street_a, name="题库")
    if bad is None:
        q = services.question_create(actor=None, bank=bank, kind=kind, text="题目", choices=choices, answer=answer)
        if kind == "true_false":
            assert q.choices == ["正确", "错误"]
        assert q.answer == sorted(answer)
    else:
        with pytest.raises(DomainError) as exc:
            services.question_create(actor=None, bank=bank, kind=kind, text="题目", choices=choices, answer=answer)
        assert bad in exc.value.fields
        assert not Question.objects.exists()


def test_question_needs_text_and_trailing_blank_options_are_dropped(tree):
    bank = services.question_bank_create(actor=None, place=tree.street_a, name="题库")
    with pytest.raises(DomainError) as exc:
        services.question_create(actor=None, bank=bank, kind="single", text="  ", choices=["甲", "乙"], answer=[0])
    assert "text" in exc.value.fields
    q = services.question_create(
        actor=None, bank=bank, kind="single", text="题", choices=["甲", "乙", "", ""], answer=[1]
    )
    assert q.choices == ["甲", "乙"]


# --- banks ------------------------------------------------------------------------------------------------------


def test_bank_names_are_unique_per_place_and_links_must_be_near(tree):
    services.question_bank_create(actor=None, place=tree.street_a, name="育儿题库")
    with pytest.raises(Conflict) as exc:
        services.question_bank_create(actor=None, place=tree.street_a, name="育儿题库")
    assert "name" in exc.value.fields
    services.question_bank_create(actor=None, place=tree.street_b, name="育儿题库")  # another place: fine
    far = learning_services.series_create(actor=None, place=tree.street_b, name="隔代教养")
    with pytest.raises(DomainError) as exc:
        services.question_bank_create(actor=None, place=tree.street_a, name="另一个", series=far)
    assert "series" in exc.value.fields
    with pytest.raises(DomainError):
        services.question_bank_create(actor=None, place=tree.city, name="市级题库")


def test_bank_takes_the_series_of_its_course(tree):
    series = learning_services.series_create(actor=None, place=tree.street_a, name="科学育儿")
    course = learning_services.course_create(actor=None, place=tree.comm_a1, title="育儿课", series=series)
    bank = services.question_bank_create(actor=None, place=tree.street_a, name="题库", course=course)
    assert bank.series == series


# --- questions once used ----------------------------------------------------------------------------------------


def test_used_question_is_deactivated_not_deleted_and_its_key_is_fixed(tree, online_test_factory):
    test = online_test_factory(question_count=None)
    unused = services.question_create(
        actor=None, bank=test.bank, kind="single", text="新题", choices=["甲", "乙"], answer=[0]
    )
    r = factories.resident(tree.comm_a1)
    # The new question is in the bank before the attempt starts: every question of the bank is drawn.
    attempt = services.attempt_start(resident=r, test=test)
    used = Question.objects.get(pk=attempt.question_ids[0])
    assert services.question_in_use(used)

    with pytest.raises(Conflict) as exc:
        services.question_update(
            actor=None,
            question=used,
            kind=used.kind,
            text=used.text,
            choices=used.choices,
            answer=[(used.answer[0] + 1) % len(used.choices)],
        )
    assert "answer" in exc.value.fields
    # Wording and explanation may be corrected.
    services.question_update(
        actor=None,
        question=used,
        kind=used.kind,
        text=used.text + "（修订）",
        choices=used.choices,
        answer=used.answer,
        explanation="见课程第 2 讲",
    )
    used.refresh_from_db()
    assert used.text.endswith("（修订）") and used.explanation == "见课程第 2 讲"

    assert services.question_delete(actor=None, question=used) is False
    used.refresh_from_db()
    assert used.active is False
    services.attempt_submit(resident=r, attempt=attempt, answers=sheet(attempt))
    assert services.question_delete(actor=None, question=unused) is False  # drawn too (all questions)
    fresh = services.question_create(actor=None, bank=test.bank, kind="true_false", text="新判断", answer=[0])
    assert services.question_delete(actor=None, question=fresh) is True
    assert not Question.objects.filter(pk=fresh.pk).exists()


def test_unused_question_can_change_entirely(tree, bank_factory):
    bank = bank_factory()
    q = bank.questions.first()
    services.question_update(
        actor=None, question=q, kind="multiple", text="改", choices=["甲", "乙", "丙"], answer=[0, 2]
    )
    q.refresh_from_db()
    assert (q.kind, q.choices, q.answer) == ("multiple", ["甲", "乙", "丙"], [0, 2])


# --- tests: settings and status ---------------------------------------------------------------------------------


def test_a_test_opens_only_with_enough_questions_and_moves_draft_open_closed(tree, bank_factory, online_test_factory):
    empty = services.question_bank_create(actor=None, place=tree.street_a, name="空题库")
    draft = online_test_factory(bank=empty, status="draft")
    with pytest.raises(DomainError) as exc:
        services.online_test_set_status(actor=None, test=draft, status="open")
    assert exc.value.code == "no_questions"
    too_many = online_test_factory(bank=bank_factory(), status="draft", question_count=len(QUESTIONS) + 1)
    with pytest.raises(DomainError) as exc:
        services.online_test_set_status(actor=None, test=too_many, status="open")
    assert "question_count" in exc.value.fields

    test = online_test_factory(status="draft", question_count=3)
    with pytest.raises(DomainError):
        services.online_test_set_status(actor=None, test=test, status="closed")  # draft → closed: no
    test = services.online_test_set_status(actor=None, test=test, status="open")
    assert services.online_test_set_status(actor=None, test=test, status="open").status == "open"  # idempotent
    test = services.online_test_set_status(actor=None, test=test, status="closed")
    test = services.online_test_set_status(actor=None, test=test, status="open")  # reopen
    with pytest.raises(DomainError):
        services.online_test_set_status(actor=None, test=test, status="draft")


@pytest.mark.parametrize(
    ("field", "value"),
    [("pass_mark", 101), ("attempts_allowed", 0), ("question_count", 0), ("time_limit_minutes", 0), ("title", " ")],
)
def test_bad_test_settings_are_refused(tree, bank_factory, field, value):
    settings = {"title": "测试", "pass_mark": 60, "attempts_allowed": 3}
    settings[field] = value
    with pytest.raises(DomainError) as exc:
        services.online_test_create(
            actor=None, place=tree.street_a, bank=bank_factory(), settings=services.OnlineTestSettings(**settings)
        )
    assert field in exc.value.fields


def test_bank_of_an_unrelated_place_is_refused(tree, bank_factory):
    bank = bank_factory(place=tree.street_b)
    with pytest.raises(DomainError) as exc:
        services.online_test_create(
            actor=None, place=tree.street_a, bank=bank, settings=services.OnlineTestSettings(title="测试")
        )
    assert "bank" in exc.value.fields
    # A district's bank serves its streets.
    services.online_test_create(
        actor=None,
        place=tree.street_a,
        bank=bank_factory(place=tree.district),
        settings=services.OnlineTestSettings(title="测试"),
    )


def test_scoring_settings_are_fixed_once_attempted(tree, online_test_factory):
    test = online_test_factory(pass_mark=60)
    services.attempt_start(resident=factories.resident(tree.comm_a1), test=test)
    with pytest.raises(Conflict) as exc:
        services.online_test_update(
            actor=None, test=test, bank=test.bank, settings=services.OnlineTestSettings(title=test.title, pass_mark=80)
        )
    assert "pass_mark" in exc.value.fields
    services.online_test_update(
        actor=None,
        test=test,
        bank=test.bank,
        settings=services.OnlineTestSettings(title="改名", time_limit_minutes=30, pass_mark=60, attempts_allowed=5),
    )
    test.refresh_from_db()
    assert (test.title, test.time_limit_minutes, test.attempts_allowed) == ("改名", 30, 5)


# --- attempts ---------------------------------------------------------------------------------------------------


def test_start_draws_and_stores_questions_and_option_orders(tree, online_test_factory):
    test = online_test_factory(question_count=3, time_limit_minutes=15)
    r = factories.resident(tree.comm_a1)
    before = timezone.now()
    attempt = services.attempt_start(resident=r, test=test)
    assert attempt.number == 1
    assert len(attempt.question_ids) == 3 and len(set(attempt.question_ids)) == 3
    bank_ids = {str(pk) for pk in test.bank.questions.values_list("pk", flat=True)}
    assert set(attempt.question_ids) <= bank_ids
    for qid in attempt.question_ids:
        q = Question.objects.get(pk=qid)
        assert sorted(attempt.option_orders[qid]) == list(range(len(q.choices)))
        if q.kind == "true_false":
            assert attempt.option_orders[qid] == [0, 1]
    assert (
        before + datetime.timedelta(minutes=15) <= attempt.deadline <= timezone.now() + datetime.timedelta(minutes=15)
    )
    # Resuming returns the same attempt, with the same draw.
    again = services.attempt_start(resident=r, test=test)
    assert again.pk == attempt.pk and again.question_ids == attempt.question_ids
    assert OnlineTestAttempt.objects.count() == 1


def test_shuffle_varies_the_order_between_attempts_and_no_shuffle_keeps_it(tree, online_test_factory):
    shuffled = online_test_factory(attempts_allowed=20)
    r = factories.resident(tree.comm_a1)
    orders = set()
    for _i in range(12):
        a = services.attempt_start(resident=r, test=shuffled)
        orders.add((tuple(a.question_ids), tuple(tuple(a.option_orders[q]) for q in a.question_ids)))
        services.attempt_submit(resident=r, attempt=a, answers={})
    assert len(orders) > 1
    plain = online_test_factory(shuffle=False)
    a = services.attempt_start(resident=r, test=plain)
    ids = [str(pk) for pk in plain.bank.questions.order_by("order").values_list("pk", flat=True)]
    assert a.question_ids == ids
    assert all(a.option_orders[q] == sorted(a.option_orders[q]) for q in ids)


def test_score_is_percent_fully_right_two_decimals_and_multiple_is_all_or_nothing(
    tree, bank_factory, online_test_factory
):
    test = online_test_factory(bank=bank_factory(questions=QUESTIONS[:3]), shuffle=False, pass_mark=60)
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    answers = sheet(a)
    multiple = next(q for q in a.question_ids if Question.objects.get(pk=q).kind == "multiple")
    answers[multiple] = answers[multiple][:2]  # two of the three right options: not right
    a = services.attempt_submit(resident=r, attempt=a, answers=answers)
    assert a.score == Decimal("66.67") and a.passed is True
    b = services.attempt_start(resident=r, test=test)
    b = services.attempt_submit(resident=r, attempt=b, answers=sheet(b, right=1))
    assert b.score == Decimal("33.33") and b.passed is False
    c = services.attempt_start(resident=r, test=test)
    c = services.attempt_submit(resident=r, attempt=c, answers={})
    assert c.score == Decimal("0.00") and c.passed is False


def test_pass_mark_is_inclusive(tree, bank_factory, online_test_factory):
    test = online_test_factory(bank=bank_factory(questions=QUESTIONS[:4]), pass_mark=75)
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    a = services.attempt_submit(resident=r, attempt=a, answers=sheet(a, right=3))
    assert a.score == Decimal("75.00") and a.passed is True


def test_a_pass_earns_points_once_per_test(tree, online_test_factory):
    test = online_test_factory()
    other = online_test_factory(title="第二个测试")
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    a = services.attempt_submit(resident=r, attempt=a, answers=sheet(a))
    assert a.passed and a.points_entry is not None and a.points_entry.points == 20
    b = services.attempt_start(resident=r, test=test)
    b = services.attempt_submit(resident=r, attempt=b, answers=sheet(b))
    assert b.passed
    entries = PointsEntry.objects.filter(resident=r, source_type="online_test")
    assert list(entries.values_list("source_id", flat=True)) == [str(test.pk)]
    assert PointsBalance.objects.get(resident=r).balance == 20
    c = services.attempt_start(resident=r, test=other)
    services.attempt_submit(resident=r, attempt=c, answers=sheet(c))
    assert PointsBalance.objects.get(resident=r).balance == 40
    assert selectors.points_for_test(resident=r, test=test) == 20


def test_a_fail_earns_nothing(tree, online_test_factory):
    test = online_test_factory()
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    a = services.attempt_submit(resident=r, attempt=a, answers=sheet(a, right=1))
    assert a.passed is False and a.points_entry is None
    assert not PointsEntry.objects.filter(resident=r).exists()


def test_an_attempt_cannot_be_submitted_twice(tree, online_test_factory):
    """MUST-SHOW: a second submit of the same attempt is refused and changes nothing."""
    test = online_test_factory()
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    services.attempt_submit(resident=r, attempt=a, answers=sheet(a, right=1))
    first = OnlineTestAttempt.objects.get(pk=a.pk)
    with pytest.raises(Conflict) as exc:
        services.attempt_submit(resident=r, attempt=a, answers=sheet(a))  # all right this time: still refused
    assert exc.value.code == "already_submitted"
    assert "不能重复提交" in exc.value.message
    after = OnlineTestAttempt.objects.get(pk=a.pk)
    assert (after.score, after.passed, after.answers, after.submitted_at) == (
        first.score,
        first.passed,
        first.answers,
        first.submitted_at,
    )
    assert not PointsEntry.objects.filter(resident=r).exists()
    with pytest.raises(Conflict):
        services.attempt_save_answers(resident=r, attempt=a, answers=sheet(a))


def test_attempts_beyond_the_allowed_number_are_refused(tree, online_test_factory):
    test = online_test_factory(attempts_allowed=2)
    r = factories.resident(tree.comm_a1)
    for _i in range(2):
        a = services.attempt_start(resident=r, test=test)
        services.attempt_submit(resident=r, attempt=a, answers={})
    with pytest.raises(DomainError) as exc:
        services.attempt_start(resident=r, test=test)
    assert exc.value.code == "no_attempts_left"
    assert OnlineTestAttempt.objects.filter(resident=r).count() == 2


def test_only_residents_under_the_test_place_may_start(tree, online_test_factory):
    test = online_test_factory(place=tree.street_a)
    with pytest.raises(PermissionDenied):
        services.attempt_start(resident=factories.resident(tree.comm_b1), test=test)
    moved = factories.resident(tree.comm_a2)
    moved.left_on = datetime.date(2025, 1, 1)
    moved.save(update_fields=["left_on"])
    with pytest.raises(PermissionDenied):
        services.attempt_start(resident=moved, test=test)
    assert services.attempt_start(resident=factories.resident(tree.comm_a2), test=test).number == 1


def test_closed_or_draft_tests_refuse_new_attempts_but_started_ones_may_be_handed_in(tree, online_test_factory):
    r = factories.resident(tree.comm_a1)
    with pytest.raises(DomainError) as exc:
        services.attempt_start(resident=r, test=online_test_factory(status="draft"))
    assert exc.value.code == "not_open"
    test = online_test_factory()
    a = services.attempt_start(resident=r, test=test)
    services.online_test_set_status(actor=None, test=test, status="closed")
    a = services.attempt_submit(resident=r, attempt=a, answers=sheet(a))
    assert a.passed
    with pytest.raises(DomainError):
        services.attempt_start(resident=r, test=test)


def test_someone_else_cannot_submit_my_attempt(tree, online_test_factory):
    test = online_test_factory()
    mine = services.attempt_start(resident=factories.resident(tree.comm_a1), test=test)
    other = factories.resident(tree.comm_a1, name="李四")
    from gongzhi.core.errors import NotFound

    with pytest.raises(NotFound):
        services.attempt_submit(resident=other, attempt=mine, answers={})
    assert OnlineTestAttempt.objects.get(pk=mine.pk).submitted_at is None


@pytest.mark.parametrize(
    "bad",
    [
        {"00000000-0000-0000-0000-000000000000": [0]},  # not in this attempt
        "FIRST:[9]",  # no such position
        "FIRST:[-1]",
        "SINGLE:[0,1]",  # two picks on single choice
    ],
)
def test_bad_answer_sheets_are_refused_and_change_nothing(tree, bank_factory, online_test_factory, bad):
    test = online_test_factory(bank=bank_factory(questions=QUESTIONS[:2]))
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    if isinstance(bad, str):
        _which, picks = bad.split(":")
        bad = {a.question_ids[0]: json.loads(picks)}
    with pytest.raises(DomainError) as exc:
        services.attempt_submit(resident=r, attempt=a, answers=bad)
    assert "answers" in exc.value.fields
    assert OnlineTestAttempt.objects.get(pk=a.pk).submitted_at is None


# --- time -------------------------------------------------------------------------------------------------------


def _expire(attempt, seconds_ago):
    OnlineTestAttempt.objects.filter(pk=attempt.pk).update(
        deadline=timezone.now() - datetime.timedelta(seconds=seconds_ago)
    )
    attempt.refresh_from_db()


def test_within_the_grace_the_sheet_counts(tree, online_test_factory):
    test = online_test_factory()
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    _expire(a, 10)  # 10 s late: within the 30 s grace
    a = services.attempt_submit(resident=r, attempt=a, answers=sheet(a))
    assert a.score == Decimal("100.00") and a.late is False


def test_late_submission_counts_only_answers_saved_before_the_deadline(tree, online_test_factory):
    test = online_test_factory(question_count=5, shuffle=False)
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    right = sheet(a)
    first_two = {q: right[q] for q in a.question_ids[:2]}
    services.attempt_save_answers(resident=r, attempt=a, answers=first_two)
    _expire(a, 120)
    with pytest.raises(DomainError) as exc:
        services.attempt_save_answers(resident=r, attempt=a, answers=right)
    assert exc.value.code == "time_up"
    a = services.attempt_submit(resident=r, attempt=a, answers=right)  # the full sheet arrives too late
    assert a.late is True
    assert a.score == Decimal("40.00") and a.passed is False


def test_an_expired_open_attempt_is_finished_when_the_next_starts(tree, online_test_factory):
    test = online_test_factory(attempts_allowed=3)
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    services.attempt_save_answers(resident=r, attempt=a, answers=sheet(a))
    _expire(a, 3600)
    assert selectors.attempt_state(a) == "time_up"
    b = services.attempt_start(resident=r, test=test)
    assert b.pk != a.pk and b.number == 2
    a.refresh_from_db()
    assert a.submitted_at is not None and a.score == Decimal("100.00") and a.passed
    assert PointsBalance.objects.get(resident=r).balance == 20


def test_saving_answers_replaces_and_clears(tree, online_test_factory):
    test = online_test_factory()
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    q1, q2 = a.question_ids[:2]
    services.attempt_save_answers(resident=r, attempt=a, answers={q1: [0], q2: [1]})
    services.attempt_save_answers(resident=r, attempt=a, answers={q1: []})
    a.refresh_from_db()
    assert set(a.answers) == {q2}
    assert a.answers[q2] == [a.option_orders[q2][1]]  # stored as the original option index
    a = services.attempt_submit(resident=r, attempt=a, answers=None)  # hand in what was saved
    assert a.answers == {q2: [OnlineTestAttempt.objects.get(pk=a.pk).option_orders[q2][1]]}


# --- facts for the credential criteria --------------------------------------------------------------------------


def test_tests_passed_facts(tree, online_test_factory, django_assert_max_num_queries):
    series = learning_services.series_create(actor=None, place=tree.street_a, name="科学育儿")
    course = learning_services.course_create(actor=None, place=tree.street_a, title="育儿课", series=series)
    t1 = online_test_factory(title="系列测试")
    services.online_test_update(
        actor=None, test=t1, bank=t1.bank, settings=services.OnlineTestSettings(title="系列测试"), series=series
    )
    t2 = online_test_factory(title="课程测试")
    services.online_test_update(
        actor=None, test=t2, bank=t2.bank, settings=services.OnlineTestSettings(title="课程测试"), course=course
    )
    t3 = online_test_factory(title="无系列")
    a, b = factories.resident(tree.comm_a1), factories.resident(tree.comm_a2, name="李四")
    for r, t, right in [(a, t1, None), (a, t1, None), (a, t2, None), (a, t3, 0), (b, t3, None)]:
        att = services.attempt_start(resident=r, test=t)
        services.attempt_submit(resident=r, attempt=att, answers=sheet(att, right=right))
    with django_assert_max_num_queries(1):
        facts = selectors.tests_passed_facts([a.pk, b.pk])
    got = {(f.resident_id, f.test_id): f for f in facts}
    assert set(got) == {(a.pk, t1.pk), (a.pk, t2.pk), (b.pk, t3.pk)}
    assert got[(a.pk, t1.pk)].series_id == series.pk
    assert got[(a.pk, t2.pk)].series_id == series.pk  # through the course
    assert got[(b.pk, t3.pk)].series_id is None
    assert got[(a.pk, t1.pk)].passed_on == timezone.localdate()
    assert selectors.tests_passed_facts([]) == []


def test_the_last_attempt_expired_is_finished_even_when_no_new_one_may_start(tree, online_test_factory):
    test = online_test_factory(attempts_allowed=1)
    r = factories.resident(tree.comm_a1)
    a = services.attempt_start(resident=r, test=test)
    services.attempt_save_answers(resident=r, attempt=a, answers=sheet(a))
    _expire(a, 3600)
    with pytest.raises(DomainError) as exc:
        services.attempt_start(resident=r, test=test)
    assert exc.value.code == "no_attempts_left"
    a.refresh_from_db()
    assert a.submitted_at is not None and a.passed  # finished, and its points awarded
    assert PointsBalance.objects.get(resident=r).balance == 20
