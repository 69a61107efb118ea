"""Writes of online tests (线上测试): question banks and questions, tests and their status, attempts.

One transaction each (``attempt_start`` two: an expired open attempt is finished first). Permission checks are made by the callers (views, API) with the predicates in ``rules.py``;
these functions enforce the domain's own rules:

- A question is valid for its kind: single choice has exactly one correct option, multiple choice at least one (of two
  or more options), true/false has the fixed options ["正确", "错误"]. A question already drawn into an attempt keeps
  its kind, options and answer (its wording and explanation may still be corrected); it is deactivated, not deleted.
- ``attempt_start`` draws the questions and each one's option order once and stores them on the attempt. The
  resident's row is locked while attempts are counted, and the unique constraint ``attempt_one_open`` keeps one open
  attempt per person and test: a double click resumes the same attempt.
- ``attempt_submit`` scores on the server, exactly once: the attempt row is locked, a second submit is refused
  (``Conflict``, code ``already_submitted``). The client only ever sends option *positions* in the order shown; they
  are mapped back to the options here.
- Time: answers (saved or submitted) count until the deadline plus ``GRACE`` (network delay). A submission after that
  is still accepted as the end of the attempt, but it is scored with the answers saved before the deadline only.
- A pass earns the ``pass_test`` points once per test and resident (``points_once_per_source``).
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import Conflict, DomainError, NotFound, PermissionDenied, invalid
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import (
    Course,
    OnlineTest,
    OnlineTestAttempt,
    OnlineTestStatus,
    Question,
    QuestionBank,
    QuestionKind,
    Series,
)
from ..services import points_award

GRACE = datetime.timedelta(seconds=30)
MAX_OPTIONS = 8
LETTERS = "ABCDEFGH"
TRUE_FALSE_CHOICES = ["正确", "错误"]
PLACE_LEVELS = ("district", "street", "community")
MAX_TIME_LIMIT = 600  # minutes
MAX_ATTEMPTS = 20
POINTS_SOURCE = "online_test"
# Status moves staff may make: publish, close, reopen.
TEST_TRANSITIONS: dict[str, tuple[str, ...]] = {
    OnlineTestStatus.DRAFT: (OnlineTestStatus.OPEN,),
    OnlineTestStatus.OPEN: (OnlineTestStatus.CLOSED,),
    OnlineTestStatus.CLOSED: (OnlineTestStatus.OPEN,),
}

_random = random.SystemRandom()


def _bad(fields: dict[str, list[str]]) -> DomainError:
    return DomainError(_("提交的信息有误，请检查标红的字段"), fields=fields)


def _check_place(place: Place | None) -> None:
    if place is None or place.level not in PLACE_LEVELS:
        raise _bad({"place": [_("只能设在区、街道或社区")]})


def _related_places(a: Place, b_code: str) -> bool:
    """``b_code`` is ``a`` itself, in its subtree, or above it (a district's bank serves its streets)."""
    return codes.covers(a.code, b_code) or codes.covers(b_code, a.code)


# --- questions: validation --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionData:
    """A question as entered (form, API or a spreadsheet row): checked and normalised by ``question_normalise``."""

    kind: str
    text: str
    choices: list[str]
    answer: list[int]
    explanation: str = ""


def question_problems(
    *, kind: str, text: str, choices: Sequence[Any], answer: Sequence[Any]
) -> tuple[dict[str, list[str]], list[str], list[int]]:
    """Check a question. Returns (errors by field, normalised choices, sorted answer). Pure: no database."""
    errors: dict[str, list[str]] = {}
    if kind not in QuestionKind.values:
        errors["kind"] = [_("不是可选的题型")]
    if not (text or "").strip():
        errors["text"] = [_("请填写题目")]
    elif len(text) > 2000:
        errors["text"] = [_("题目不能超过 2000 字")]
    if kind == QuestionKind.TRUE_FALSE:
        clean_choices = list(TRUE_FALSE_CHOICES)
    else:
        clean_choices = [str(c).strip() for c in choices]
        while clean_choices and not clean_choices[-1]:
            clean_choices.pop()
        if any(not c for c in clean_choices):
            errors["choices"] = [_("选项须从 A 开始依次填写，中间不能留空")]
        elif len(clean_choices) < 2:
            errors["choices"] = [_("至少需要两个选项")]
        elif len(clean_choices) > MAX_OPTIONS:
            errors["choices"] = [_("最多 %(n)d 个选项") % {"n": MAX_OPTIONS}]
        elif len(set(clean_choices)) != len(clean_choices):
            errors["choices"] = [_("选项不能重复")]
        elif any(len(c) > 500 for c in clean_choices):
            errors["choices"] = [_("每个选项不能超过 500 字")]
    picks: list[int] = []
    bad_pick = False
    for a in answer:
        if isinstance(a, bool) or not isinstance(a, int):
            bad_pick = True
            continue
        picks.append(a)
    picks = sorted(set(picks))
    if bad_pick or any(p < 0 or p >= len(clean_choices) for p in picks):
        errors["answer"] = [_("正确答案须是已填写的选项")]
    elif not picks:
        errors["answer"] = [_("请选择正确答案")]
    elif kind in (QuestionKind.SINGLE, QuestionKind.TRUE_FALSE) and len(picks) != 1:
        errors["answer"] = [_("单选题和判断题只能有一个正确答案")]
    return errors, clean_choices, picks


def _normalise(data: QuestionData) -> QuestionData:
    errors, choices, answer = question_problems(
        kind=data.kind, text=data.text, choices=data.choices, answer=data.answer
    )
    if len(data.explanation or "") > 4000:
        errors["explanation"] = [_("解析不能超过 4000 字")]
    if errors:
        raise _bad(errors)
    return QuestionData(
        kind=data.kind,
        text=data.text.strip(),
        choices=choices,
        answer=answer,
        explanation=(data.explanation or "").strip(),
    )


def question_in_use(question: Question) -> bool:
    """Whether the question was drawn into any attempt (its id is in an attempt's ``question_ids``)."""
    return (
        OnlineTestAttempt.objects.filter(test__bank_id=question.bank_id, question_ids__icontains=str(question.pk))
        .order_by()
        .exists()
    )


# --- question banks ---------------------------------------------------------------------------------------------


def _bank_links_check(place: Place, course: Course | None, series: Series | None) -> None:
    errors: dict[str, list[str]] = {}
    if course is not None and not _related_places(place, course.place_id):
        errors["course"] = [_("课程不属于该区划")]
    if series is not None and not _related_places(place, series.place_id):
        errors["series"] = [_("主题系列不属于该区划")]
    if errors:
        raise _bad(errors)


def _bank_name_taken(place: Place, name: str, exclude: Any = None) -> None:
    qs = QuestionBank.objects.filter(place=place, name=name)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    if qs.exists():
        msg = _("该区划已有同名题库")
        raise Conflict(msg, fields={"name": [msg]})


@transaction.atomic
def question_bank_create(
    *,
    actor: Any,
    place: Place,
    name: str,
    course: Course | None = None,
    series: Series | None = None,
) -> QuestionBank:
    _check_place(place)
    name = (name or "").strip()
    _bank_links_check(place, course, series)
    if series is None and course is not None:
        series = course.series
    bank = QuestionBank(
        place=place,
        name=name,
        course=course,
        series=series,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        bank.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    _bank_name_taken(place, name)
    try:
        with transaction.atomic():
            bank.save(force_insert=True)
    except IntegrityError as exc:
        msg = _("该区划已有同名题库")
        raise Conflict(msg, fields={"name": [msg]}) from exc
    audit_record(
        actor=actor,
        action="create",
        target_type="question_bank",
        target_id=str(bank.pk),
        place_code=place.code,
        summary=name,
    )
    return bank


@transaction.atomic
def question_bank_update(
    *, actor: Any, bank: QuestionBank, name: str, course: Course | None = None, series: Series | None = None
) -> QuestionBank:
    bank = QuestionBank.objects.select_for_update().select_related("place").get(pk=bank.pk)
    name = (name or "").strip()
    _bank_links_check(bank.place, course, series)
    before = {"name": bank.name, "course": str(bank.course_id or ""), "series": str(bank.series_id or "")}
    bank.name, bank.course, bank.series = name, course, series
    try:
        bank.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    _bank_name_taken(bank.place, name, exclude=bank.pk)
    bank.save(update_fields=["name", "course", "series", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="question_bank",
        target_id=str(bank.pk),
        place_code=bank.place_id,
        summary=name,
        changes={"before": before, "after": {"name": name, "course": str(course.pk if course else "")}},
    )
    return bank


# --- questions --------------------------------------------------------------------------------------------------


def _next_order(bank: QuestionBank) -> int:
    last = Question.objects.filter(bank=bank).order_by("-order").values_list("order", flat=True).first()
    return (last or 0) + 1


@transaction.atomic
def question_create(
    *,
    actor: Any,
    bank: QuestionBank,
    kind: str,
    text: str,
    choices: Sequence[Any] = (),
    answer: Sequence[Any] = (),
    explanation: str = "",
) -> Question:
    QuestionBank.objects.select_for_update().filter(pk=bank.pk).first()  # number questions one at a time
    data = _normalise(
        QuestionData(kind=kind, text=text or "", choices=list(choices), answer=list(answer), explanation=explanation)
    )
    question = Question(
        bank=bank,
        kind=data.kind,
        text=data.text,
        choices=data.choices,
        answer=data.answer,
        explanation=data.explanation,
        order=_next_order(bank),
    )
    question.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="question",
        target_id=str(question.pk),
        place_code=bank.place_id,
        summary=data.text[:100],
    )
    return question


@transaction.atomic
def question_update(
    *,
    actor: Any,
    question: Question,
    kind: str,
    text: str,
    choices: Sequence[Any] = (),
    answer: Sequence[Any] = (),
    explanation: str = "",
) -> Question:
    """Change a question. Once drawn into an attempt, its kind, number of options and answer are fixed (the stored
    attempts refer to them); the wording of the question and its options and the explanation may still be corrected."""
    question = Question.objects.select_for_update().select_related("bank").get(pk=question.pk)
    data = _normalise(
        QuestionData(kind=kind, text=text or "", choices=list(choices), answer=list(answer), explanation=explanation)
    )
    if question_in_use(question):
        errors: dict[str, list[str]] = {}
        if data.kind != question.kind:
            errors["kind"] = [_("该题已有人作答，不能修改题型")]
        if len(data.choices) != len(question.choices):
            errors["choices"] = [_("该题已有人作答，不能增减选项")]
        if data.answer != list(question.answer):
            errors["answer"] = [_("该题已有人作答，不能修改正确答案（可停用后另出新题）")]
        if errors:
            raise Conflict(_("该题已有人作答，只能修改文字和解析"), fields=errors, code="question_in_use")
    before = {"text": question.text, "choices": question.choices, "answer": question.answer}
    question.kind, question.text, question.choices = data.kind, data.text, data.choices
    question.answer, question.explanation = data.answer, data.explanation
    question.save(update_fields=["kind", "text", "choices", "answer", "explanation", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="question",
        target_id=str(question.pk),
        place_code=question.bank.place_id,
        summary=data.text[:100],
        changes={"before": before, "after": {"text": data.text, "choices": data.choices, "answer": data.answer}},
    )
    return question


@transaction.atomic
def question_set_active(*, actor: Any, question: Question, active: bool) -> Question:
    question = Question.objects.select_for_update().select_related("bank").get(pk=question.pk)
    if question.active == active:
        return question
    question.active = active
    question.save(update_fields=["active", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="question",
        target_id=str(question.pk),
        place_code=question.bank.place_id,
        summary=(_("启用题目") if active else _("停用题目")) + "：" + question.text[:80],
        changes={"active": active},
    )
    return question


@transaction.atomic
def question_delete(*, actor: Any, question: Question) -> bool:
    """Delete a question never drawn into an attempt (True). One that was is deactivated instead (False), so that
    results keep their questions."""
    question = Question.objects.select_for_update().select_related("bank").get(pk=question.pk)
    if question_in_use(question):
        if question.active:
            question.active = False
            question.save(update_fields=["active", "updated_at"])
        audit_record(
            actor=actor,
            action="update",
            target_type="question",
            target_id=str(question.pk),
            place_code=question.bank.place_id,
            summary=_("停用题目（已有人作答，不删除）") + "：" + question.text[:80],
            changes={"active": False},
        )
        return False
    pk, place_code, text = question.pk, question.bank.place_id, question.text
    question.delete()
    audit_record(
        actor=actor,
        action="delete",
        target_type="question",
        target_id=str(pk),
        place_code=place_code,
        summary=text[:100],
    )
    return True


@transaction.atomic
def questions_import(*, actor: Any, bank: QuestionBank, rows: Iterable[QuestionData]) -> list[Question]:
    """Add checked questions to a bank, all or none (the importer has already checked every row)."""
    QuestionBank.objects.select_for_update().filter(pk=bank.pk).first()
    order = _next_order(bank)
    created: list[Question] = []
    for i, row in enumerate(rows):
        data = _normalise(row)
        created.append(
            Question(
                bank=bank,
                kind=data.kind,
                text=data.text,
                choices=data.choices,
                answer=data.answer,
                explanation=data.explanation,
                order=order + i,
            )
        )
    Question.objects.bulk_create(created)
    audit_record(
        actor=actor,
        action="import",
        target_type="question_bank",
        target_id=str(bank.pk),
        place_code=bank.place_id,
        summary=_("导入题目 %(n)d 道") % {"n": len(created)},
        changes={"count": len(created)},
    )
    return created


# --- tests ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnlineTestSettings:
    title: str
    question_count: int | None = None
    time_limit_minutes: int | None = None
    pass_mark: int = 60
    attempts_allowed: int = 3
    shuffle: bool = True


def _settings_check(s: OnlineTestSettings) -> None:
    errors: dict[str, list[str]] = {}
    if not (s.title or "").strip():
        errors["title"] = [_("请填写名称")]
    if s.question_count is not None and s.question_count < 1:
        errors["question_count"] = [_("抽题数至少为 1（留空表示全部题目）")]
    if s.time_limit_minutes is not None and not (1 <= s.time_limit_minutes <= MAX_TIME_LIMIT):
        errors["time_limit_minutes"] = [_("限时应在 1 到 %(n)d 分钟之间（留空表示不限时）") % {"n": MAX_TIME_LIMIT}]
    if not (0 <= s.pass_mark <= 100):
        errors["pass_mark"] = [_("及格分应在 0 到 100 之间")]
    if not (1 <= s.attempts_allowed <= MAX_ATTEMPTS):
        errors["attempts_allowed"] = [_("可作答次数应在 1 到 %(n)d 次之间") % {"n": MAX_ATTEMPTS}]
    if errors:
        raise _bad(errors)


def _active_questions(bank: QuestionBank) -> int:
    return Question.objects.filter(bank=bank, active=True).count()


def _links_check(place: Place, bank: QuestionBank, course: Course | None, series: Series | None) -> None:
    errors: dict[str, list[str]] = {}
    if not _related_places(place, bank.place_id):
        errors["bank"] = [_("题库不属于该区划")]
    if course is not None and not _related_places(place, course.place_id):
        errors["course"] = [_("课程不属于该区划")]
    if series is not None and not _related_places(place, series.place_id):
        errors["series"] = [_("主题系列不属于该区划")]
    if errors:
        raise _bad(errors)


@transaction.atomic
def online_test_create(
    *,
    actor: Any,
    place: Place,
    bank: QuestionBank,
    settings: OnlineTestSettings,
    course: Course | None = None,
    series: Series | None = None,
) -> OnlineTest:
    """A draft test drawn from ``bank``. The course and series default to the bank's (the series decides which
    credential criteria "tests passed within a series" count it for)."""
    _check_place(place)
    _settings_check(settings)
    _links_check(place, bank, course, series)
    course = course or bank.course
    series = series or bank.series or (course.series if course is not None else None)
    test = OnlineTest(
        title=settings.title.strip(),
        bank=bank,
        place=place,
        course=course,
        series=series,
        question_count=settings.question_count,
        time_limit_minutes=settings.time_limit_minutes,
        pass_mark=settings.pass_mark,
        attempts_allowed=settings.attempts_allowed,
        shuffle=settings.shuffle,
        status=OnlineTestStatus.DRAFT,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        test.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    test.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="online_test",
        target_id=str(test.pk),
        place_code=place.code,
        summary=test.title,
    )
    return test


SCORING_FIELDS = ("bank", "question_count", "pass_mark", "shuffle")


@transaction.atomic
def online_test_update(
    *,
    actor: Any,
    test: OnlineTest,
    bank: QuestionBank,
    settings: OnlineTestSettings,
    course: Course | None = None,
    series: Series | None = None,
) -> OnlineTest:
    """Change a test. Once anyone has attempted it, what decides scores (bank, number of questions, pass mark,
    shuffling) is fixed; the title, time limit, attempts allowed, course and series may still change."""
    test = OnlineTest.objects.select_for_update().get(pk=test.pk)
    place = Place.objects.get(pk=test.place_id)
    _settings_check(settings)
    _links_check(place, bank, course, series)
    if OnlineTestAttempt.objects.filter(test=test).exists():
        errors: dict[str, list[str]] = {}
        if bank.pk != test.bank_id:
            errors["bank"] = [_("已有人作答，不能更换题库")]
        if settings.question_count != test.question_count:
            errors["question_count"] = [_("已有人作答，不能修改抽题数")]
        if settings.pass_mark != test.pass_mark:
            errors["pass_mark"] = [_("已有人作答，不能修改及格分")]
        if settings.shuffle != test.shuffle:
            errors["shuffle"] = [_("已有人作答，不能修改乱序设置")]
        if errors:
            raise Conflict(_("已有人作答，只能修改名称、限时、可作答次数和所属课程"), fields=errors, code="test_in_use")
    if test.status == OnlineTestStatus.OPEN:
        _check_enough_questions(bank, settings.question_count)
    before = {"title": test.title, "pass_mark": test.pass_mark, "attempts_allowed": test.attempts_allowed}
    test.title, test.bank, test.course, test.series = settings.title.strip(), bank, course, series
    test.question_count, test.time_limit_minutes = settings.question_count, settings.time_limit_minutes
    test.pass_mark, test.attempts_allowed, test.shuffle = (
        settings.pass_mark,
        settings.attempts_allowed,
        settings.shuffle,
    )
    try:
        test.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    test.save(
        update_fields=[
            "title",
            "bank",
            "course",
            "series",
            "question_count",
            "time_limit_minutes",
            "pass_mark",
            "attempts_allowed",
            "shuffle",
            "updated_at",
        ]
    )
    audit_record(
        actor=actor,
        action="update",
        target_type="online_test",
        target_id=str(test.pk),
        place_code=test.place_id,
        summary=test.title,
        changes={
            "before": before,
            "after": {"title": test.title, "pass_mark": test.pass_mark, "attempts_allowed": test.attempts_allowed},
        },
    )
    return test


def _check_enough_questions(bank: QuestionBank, question_count: int | None) -> None:
    available = _active_questions(bank)
    if available == 0:
        msg = _("题库中还没有启用的题目")
        raise DomainError(msg, fields={"bank": [msg]}, code="no_questions")
    if question_count is not None and question_count > available:
        msg = _("抽题数（%(n)d）超过题库中启用的题目数（%(m)d）") % {"n": question_count, "m": available}
        raise DomainError(msg, fields={"question_count": [msg]}, code="not_enough_questions")


@transaction.atomic
def online_test_set_status(*, actor: Any, test: OnlineTest, status: str) -> OnlineTest:
    """Publish (draft → open), close (open → closed) or reopen (closed → open). Idempotent for the current status.
    Closing stops new attempts; attempts already started may still be submitted within their time."""
    test = OnlineTest.objects.select_for_update().get(pk=test.pk)
    if status == test.status:
        return test
    if status not in TEST_TRANSITIONS.get(test.status, ()):
        msg = _("不能从“%(a)s”改为“%(b)s”") % {
            "a": OnlineTestStatus(test.status).label,
            "b": OnlineTestStatus(status).label if status in OnlineTestStatus.values else status,
        }
        raise DomainError(msg, fields={"status": [msg]}, code="bad_transition")
    if status == OnlineTestStatus.OPEN:
        _check_enough_questions(QuestionBank.objects.get(pk=test.bank_id), test.question_count)
    before = test.status
    test.status = status
    test.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="online_test",
        target_id=str(test.pk),
        place_code=test.place_id,
        summary=f"{test.title}：{OnlineTestStatus(status).label}",
        changes={"status": [before, status]},
    )
    return test


# --- attempts ---------------------------------------------------------------------------------------------------


def may_take(resident: Resident, test: OnlineTest) -> bool:
    """The test is for the resident: their community lies under the test's place, and they have not moved out."""
    return resident.left_on is None and codes.covers(test.place_id, resident.community_id)


def _expired(attempt: OnlineTestAttempt, now: datetime.datetime) -> bool:
    return attempt.deadline is not None and now > attempt.deadline + GRACE


def _draw(test: OnlineTest) -> tuple[list[str], dict[str, list[int]]]:
    questions = list(
        Question.objects.filter(bank_id=test.bank_id, active=True)
        .order_by("order", "created_at")
        .values_list("pk", "kind", "choices")
    )
    if not questions:
        msg = _("该测试暂时没有可用的题目，请联系工作人员")
        raise DomainError(msg, code="no_questions")
    if test.question_count is not None and test.question_count < len(questions):
        picked = _random.sample(range(len(questions)), test.question_count)
        if not test.shuffle:
            picked.sort()
        questions = [questions[i] for i in picked]
    elif test.shuffle:
        _random.shuffle(questions)
    ids: list[str] = []
    orders: dict[str, list[int]] = {}
    for pk, kind, choices in questions:
        order = list(range(len(choices)))
        if test.shuffle and kind != QuestionKind.TRUE_FALSE:  # 正确/错误 stay in their natural order
            _random.shuffle(order)
        ids.append(str(pk))
        orders[str(pk)] = order
    return ids, orders


def _score(attempt: OnlineTestAttempt, answers: Mapping[str, list[int]]) -> tuple[Decimal, int]:
    """(percent of questions fully right, 2 decimals; number right). Multiple choice is all or nothing."""
    keys = dict(Question.objects.filter(pk__in=attempt.question_ids).values_list("pk", "answer"))
    right = sum(1 for qid in attempt.question_ids if sorted(answers.get(qid, [])) == sorted(keys.get(_uuid(qid), [])))
    total = len(attempt.question_ids)
    score = (Decimal(100) * right / total).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if total else Decimal(0)
    return score, right


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _finish(
    attempt: OnlineTestAttempt, test: OnlineTest, answers: dict[str, list[int]], now: datetime.datetime
) -> None:
    score, _right = _score(attempt, answers)
    attempt.answers = answers
    attempt.submitted_at = now
    attempt.score = score
    attempt.passed = score >= test.pass_mark
    attempt.save(update_fields=["answers", "submitted_at", "score", "passed", "updated_at"])
    attempt.points_entry = None  # type: ignore[attr-defined]
    if attempt.passed:
        attempt.points_entry = points_award(  # type: ignore[attr-defined]
            resident=attempt.resident,
            rule_code="pass_test",
            source_type=POINTS_SOURCE,
            source_id=str(test.pk),
            reason=_("通过线上测试《%(title)s》") % {"title": test.title},
        )


def attempt_start(*, resident: Resident, test: OnlineTest) -> OnlineTestAttempt:
    """Start an attempt, or resume the open one (a double click starts one). The questions and each one's option
    order are drawn here and stored; the deadline is now + the time limit.

    Two transactions: an open attempt whose time ran out is first finished (scored with the answers saved in time,
    its pass points awarded) and stays finished — it counts as used — even when the new start is then refused."""
    _finish_expired(resident=resident, test=test)
    return _attempt_create(resident=resident, test=test)


def _lock_resident(resident: Resident) -> None:
    """One start at a time per resident: attempts are counted and the open one is found under this lock."""
    if Resident.objects.select_for_update().filter(pk=resident.pk).only("pk").first() is None:  # pragma: no cover
        raise NotFound(_("找不到该居民"))


@transaction.atomic
def _finish_expired(*, resident: Resident, test: OnlineTest) -> None:
    _lock_resident(resident)
    now = timezone.now()
    current = OnlineTestAttempt.objects.filter(test=test, resident=resident, submitted_at__isnull=True).first()
    if current is not None and _expired(current, now):
        current.resident = resident
        _finish(current, OnlineTest.objects.get(pk=test.pk), dict(current.answers), now)


@transaction.atomic
def _attempt_create(*, resident: Resident, test: OnlineTest) -> OnlineTestAttempt:
    _lock_resident(resident)
    test = OnlineTest.objects.get(pk=test.pk)
    now = timezone.now()
    current = OnlineTestAttempt.objects.filter(test=test, resident=resident, submitted_at__isnull=True).first()
    if current is not None:
        if not _expired(current, now):
            return current
        current.resident = resident  # its time ran out in between: finish it here
        _finish(current, test, dict(current.answers), now)
    if test.status != OnlineTestStatus.OPEN:
        raise DomainError(_("该测试当前未开放"), code="not_open")
    if not may_take(resident, test):
        raise PermissionDenied(_("该测试不面向您所在的社区"))
    used = OnlineTestAttempt.objects.filter(test=test, resident=resident).count()
    if used >= test.attempts_allowed:
        msg = _("您已用完全部 %(n)d 次作答机会") % {"n": test.attempts_allowed}
        raise DomainError(msg, code="no_attempts_left")
    question_ids, option_orders = _draw(test)
    attempt = OnlineTestAttempt(
        test=test,
        resident=resident,
        number=used + 1,
        deadline=now + datetime.timedelta(minutes=test.time_limit_minutes) if test.time_limit_minutes else None,
        question_ids=question_ids,
        option_orders=option_orders,
        answers={},
    )
    try:
        with transaction.atomic():
            attempt.save(force_insert=True)
    except IntegrityError:
        # attempt_one_open / attempt_unique_number: another request started it (only without the row lock).
        found = OnlineTestAttempt.objects.filter(test=test, resident=resident, submitted_at__isnull=True).first()
        if found is None:  # pragma: no cover
            raise
        return found
    return attempt


def _answers_from_positions(attempt: OnlineTestAttempt, given: Mapping[str, Any]) -> dict[str, list[int]]:
    """Answers as sent (question id → option positions in the order shown) → question id → original option
    indices (an empty list for a question left blank). Unknown questions or positions, or several picks for a
    single-choice question, are refused."""
    kinds = dict(Question.objects.filter(pk__in=attempt.question_ids).values_list("pk", "kind"))
    out: dict[str, list[int]] = {}
    errors: list[str] = []
    for qid, picks in given.items():
        qid = str(qid)
        order = attempt.option_orders.get(qid)
        if order is None:
            errors.append(_("答卷中没有这道题：%(id)s") % {"id": qid})
            continue
        if isinstance(picks, int | str):
            picks = [picks]
        positions: list[int] = []
        for p in picks or []:
            try:
                pos = int(p)
            except (TypeError, ValueError):
                pos = -1
            if isinstance(p, bool) or not 0 <= pos < len(order):
                errors.append(_("选项不存在"))
                break
            positions.append(pos)
        original = sorted({order[p] for p in positions})
        if len(original) > 1 and kinds.get(_uuid(qid)) != QuestionKind.MULTIPLE:
            errors.append(_("单选题和判断题只能选一个答案"))
        out[qid] = original
    if errors:
        raise DomainError(_("答卷有误"), fields={"answers": sorted(set(errors))}, code="bad_answers")
    return out


def _own_attempt_locked(resident: Resident, attempt: OnlineTestAttempt) -> OnlineTestAttempt:
    locked = OnlineTestAttempt.objects.select_for_update().filter(pk=attempt.pk).first()
    if locked is None or locked.resident_id != resident.pk:
        raise NotFound(_("找不到该作答记录"))
    locked.resident = resident
    return locked


@transaction.atomic
def attempt_save_answers(
    *, resident: Resident, attempt: OnlineTestAttempt, answers: Mapping[str, Any]
) -> OnlineTestAttempt:
    """Save answers while the attempt is open (the page saves each pick as it is made). Given questions replace
    their saved answers; an empty list clears one. Refused once submitted or after the deadline (+ grace)."""
    attempt = _own_attempt_locked(resident, attempt)
    if attempt.submitted_at is not None:
        raise Conflict(_("本次作答已经提交，不能再修改答案"), code="already_submitted")
    if _expired(attempt, timezone.now()):
        raise DomainError(_("作答时间已到，不能再修改答案，请交卷"), code="time_up")
    merged = {k: list(v) for k, v in attempt.answers.items()}
    for qid, picks in _answers_from_positions(attempt, answers).items():
        if picks:
            merged[qid] = picks
        else:
            merged.pop(qid, None)
    attempt.answers = merged
    attempt.save(update_fields=["answers", "updated_at"])
    return attempt


@transaction.atomic
def attempt_submit(
    *, resident: Resident, attempt: OnlineTestAttempt, answers: Mapping[str, Any] | None = None
) -> OnlineTestAttempt:
    """Hand in an attempt and score it on the server, exactly once.

    ``answers``: the answer sheet (question id → option positions as shown); a question left out is unanswered.
    None: the answers saved so far. After the deadline (+ ``GRACE``) the sheet sent is ignored and only the answers
    saved before the deadline count. A second submit of the same attempt raises ``Conflict`` (already_submitted).
    The attempt returned has ``late`` (bool) and ``points_entry`` (the pass_test award, or None) set.
    """
    attempt = _own_attempt_locked(resident, attempt)
    if attempt.submitted_at is not None:
        raise Conflict(
            _("本次作答已经提交过了，不能重复提交。成绩以第一次提交为准。"),
            code="already_submitted",
        )
    test = OnlineTest.objects.get(pk=attempt.test_id)
    now = timezone.now()
    late = _expired(attempt, now)
    if late or answers is None:
        sheet = {k: list(v) for k, v in attempt.answers.items()}
    else:
        sheet = {qid: picks for qid, picks in _answers_from_positions(attempt, answers).items() if picks}
    _finish(attempt, test, sheet, now)
    attempt.late = late  # type: ignore[attr-defined]
    return attempt
