"""Reads of online tests. Staff selectors take the acting user; resident selectors take the resident acting. List
selectors run a constant number of queries whatever the number of rows.

The answer key (``Question.answer``) and the explanations leave here only in ``bank_questions`` (staff who manage the
bank) and in ``attempt_sheet(..., reveal=True)``, which the pages and the API call for a submitted attempt only.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access, protection
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import (
    Course,
    OnlineTest,
    OnlineTestAttempt,
    OnlineTestStatus,
    PointsEntry,
    Question,
    QuestionBank,
    QuestionKind,
    Series,
)
from .services import GRACE, LETTERS, POINTS_SOURCE, may_take


def _subquery_count(qs: QuerySet[Any], group: str, counted: str = "pk", distinct: bool = False) -> Coalesce:
    rows = qs.order_by().values(group).annotate(n=Count(counted, distinct=distinct)).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _uuid_or_none(value: Any) -> Any:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def _near_q(place: Place) -> Q:
    """Rows of the place's subtree and of the places above it."""
    return Q(place__code__startswith=place.prefix) | Q(place_id__in=codes.ancestor_codes(place.code))


# --- staff: banks and questions ---------------------------------------------------------------------------------


def _staff_bank_q(user: Any) -> Q:
    """Banks of places the user covers, and banks of places above a place they work on."""
    q = access.prefix_q("place__code", user, access.STAFF_ROLES)
    above = {
        a for g in access.user_grants(user) if g.role in access.STAFF_ROLES for a in codes.ancestor_codes(g.place_code)
    }
    if above:
        q |= Q(place_id__in=sorted(above))
    return q


def banks_visible(*, user: Any, place: Place | None = None) -> QuerySet[QuestionBank]:
    """The banks a staff user may see (under or above ``place`` when given), with question and test counts."""
    if not access.is_staff(user):
        return QuestionBank.objects.none()
    qs = QuestionBank.objects.filter(_staff_bank_q(user))
    if place is not None:
        qs = qs.filter(_near_q(place))
    return (
        qs.select_related("place", "course", "series")
        .annotate(
            active_count=_subquery_count(Question.objects.filter(bank=OuterRef("pk"), active=True), "bank_id"),
            question_total=_subquery_count(Question.objects.filter(bank=OuterRef("pk")), "bank_id"),
            test_count=_subquery_count(OnlineTest.objects.filter(bank=OuterRef("pk")), "bank_id"),
        )
        .order_by("place_id", "name")
    )


def bank_get(*, user: Any, bank_id: Any) -> QuestionBank:
    """A bank the user may see; any other does not exist for them."""
    pk = _uuid_or_none(bank_id)
    bank = banks_visible(user=user).filter(pk=pk).first() if pk else None
    if bank is None or not user.has_perm("learning.view_questionbank", bank):
        raise NotFound(_("找不到该题库"))
    return bank


def bank_questions(*, user: Any, bank: QuestionBank, active: bool | None = None) -> QuerySet[Question]:
    """The questions of a bank, with their answer key: for staff who may see the bank."""
    if not user.has_perm("learning.view_questionbank", bank):
        return Question.objects.none()
    qs = Question.objects.filter(bank=bank)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("order", "created_at")


def question_get(*, user: Any, question_id: Any) -> Question:
    """A question the user may edit (staff covering its bank's place)."""
    pk = _uuid_or_none(question_id)
    question = Question.objects.select_related("bank", "bank__place").filter(pk=pk).first() if pk else None
    if question is None or not user.has_perm("learning.manage_questionbank", question.bank):
        raise NotFound(_("找不到该题目"))
    return question


# --- staff: tests and results -----------------------------------------------------------------------------------


def _with_test_counts(qs: QuerySet[OnlineTest]) -> QuerySet[OnlineTest]:
    done = OnlineTestAttempt.objects.filter(test=OuterRef("pk"), submitted_at__isnull=False)
    return qs.select_related("place", "bank", "course", "series").annotate(
        attempt_count=_subquery_count(done, "test_id"),
        taker_count=_subquery_count(done, "test_id", "resident_id", distinct=True),
        passer_count=_subquery_count(done.filter(passed=True), "test_id", "resident_id", distinct=True),
        active_count=_subquery_count(Question.objects.filter(bank=OuterRef("bank_id"), active=True), "bank_id"),
    )


def tests_visible(*, user: Any, place: Place | None = None, status: str = "") -> QuerySet[OnlineTest]:
    """Tests of the places a staff user covers (under ``place`` when given), with attempt and pass counts."""
    if not access.is_staff(user):
        return OnlineTest.objects.none()
    qs = OnlineTest.objects.filter(access.prefix_q("place__code", user, access.STAFF_ROLES))
    if place is not None:
        qs = qs.filter(place__code__startswith=place.prefix)
    if status in OnlineTestStatus.values:
        qs = qs.filter(status=status)
    return _with_test_counts(qs).order_by("-created_at")


def online_test_get(*, user: Any, test_id: Any) -> OnlineTest:
    """A test the user manages; any other does not exist for them."""
    pk = _uuid_or_none(test_id)
    test = _with_test_counts(OnlineTest.objects.filter(pk=pk)).first() if pk else None
    if test is None or not user.has_perm("learning.manage_onlinetest", test):
        raise NotFound(_("找不到该测试"))
    return test


@dataclass
class ResultSummary:
    takers: int  # residents with at least one submitted attempt
    passers: int  # of them, those who passed at least once
    attempts: int  # submitted attempts
    open_attempts: int  # started, not handed in
    average: Decimal | None  # mean score of submitted attempts

    @property
    def pass_rate(self) -> Decimal | None:
        """Percent of takers who passed (2 decimals)."""
        if not self.takers:
            return None
        return (Decimal(100) * self.passers / self.takers).quantize(Decimal("0.01"))


def results_summary(*, test: OnlineTest) -> ResultSummary:
    done = Q(submitted_at__isnull=False)
    row = OnlineTestAttempt.objects.filter(test=test).aggregate(
        takers=Count("resident_id", distinct=True, filter=done),
        passers=Count("resident_id", distinct=True, filter=Q(passed=True)),
        attempts=Count("pk", filter=done),
        open_attempts=Count("pk", filter=Q(submitted_at__isnull=True)),
        average=Avg("score", filter=done),
    )
    average = row["average"]
    return ResultSummary(
        takers=row["takers"],
        passers=row["passers"],
        attempts=row["attempts"],
        open_attempts=row["open_attempts"],
        average=Decimal(average).quantize(Decimal("0.01")) if average is not None else None,
    )


@dataclass
class ResultRow:
    resident_id: uuid.UUID
    name_masked: str
    community_name: str
    attempts: int
    best: Decimal | None
    passed: bool
    first_passed_at: datetime.datetime | None
    last_submitted_at: datetime.datetime | None


def result_rows_query(*, test: OnlineTest) -> QuerySet[Any]:
    """One row per resident who started the test (values: ``resident_id``, ``name``, ``community``, ``attempts``,
    ``best``, ``passes``, ``first_pass``, ``last``), passed first, then by best score. Turn rows into ``ResultRow``
    with ``result_rows`` (names masked)."""
    return (
        OnlineTestAttempt.objects.filter(test=test)
        .values("resident_id")
        .annotate(
            name=Max("resident__name"),
            community=Max("resident__community__name"),
            attempts=Count("pk"),
            best=Max("score"),
            passes=Count("pk", filter=Q(passed=True)),
            first_pass=Min("submitted_at", filter=Q(passed=True)),
            last=Max("submitted_at"),
        )
        .order_by("-passes", "-best", "resident_id")
    )


def two_decimals(value: Any) -> Decimal | None:
    """A score as stored: 2 decimals (SQLite returns aggregates of decimals unquantised)."""
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def result_rows(rows: Iterable[dict[str, Any]]) -> list[ResultRow]:
    return [
        ResultRow(
            resident_id=r["resident_id"],
            name_masked=protection.mask_name(r["name"] or ""),
            community_name=r["community"] or "",
            attempts=r["attempts"],
            best=two_decimals(r["best"]),
            passed=r["passes"] > 0,
            first_passed_at=r["first_pass"],
            last_submitted_at=r["last"],
        )
        for r in rows
    ]


@dataclass
class QuestionStat:
    question: Question
    shown: int  # in submitted attempts
    right: int

    @property
    def rate(self) -> Decimal | None:
        return (Decimal(100) * self.right / self.shown).quantize(Decimal("0.1")) if self.shown else None


def question_stats(*, test: OnlineTest) -> list[QuestionStat]:
    """How often each question drawn was answered right in submitted attempts (two queries), hardest first."""
    stats: dict[str, list[int]] = {}
    rows = OnlineTestAttempt.objects.filter(test=test, submitted_at__isnull=False).values_list(
        "question_ids", "answers"
    )
    keys = {
        str(pk): (q, sorted(q.answer)) for pk, q in ((q.pk, q) for q in Question.objects.filter(bank_id=test.bank_id))
    }
    for question_ids, answers in rows.iterator(chunk_size=500):
        for qid in question_ids:
            if qid not in keys:
                continue
            s = stats.setdefault(qid, [0, 0])
            s[0] += 1
            if sorted(answers.get(qid, [])) == keys[qid][1]:
                s[1] += 1
    out = [QuestionStat(question=keys[qid][0], shown=s[0], right=s[1]) for qid, s in stats.items()]
    out.sort(key=lambda x: (x.rate if x.rate is not None else Decimal(101), x.question.order))
    return out


# --- residents --------------------------------------------------------------------------------------------------


def _mine(resident: Resident) -> QuerySet[OnlineTestAttempt]:
    return OnlineTestAttempt.objects.filter(test=OuterRef("pk"), resident=resident)


def _with_my_attempts(qs: QuerySet[OnlineTest], resident: Resident) -> QuerySet[OnlineTest]:
    mine = _mine(resident)
    return qs.select_related("place", "series", "course").annotate(
        my_attempts=_subquery_count(mine, "test_id"),
        my_best=Subquery(
            mine.filter(submitted_at__isnull=False).order_by("-score").values("score")[:1],
            output_field=DecimalField(max_digits=5, decimal_places=2),
        ),
        my_passed=Exists(mine.filter(passed=True)),
        my_open=Subquery(mine.filter(submitted_at__isnull=True).values("pk")[:1]),
        active_count=_subquery_count(Question.objects.filter(bank=OuterRef("bank_id"), active=True), "bank_id"),
    )


def tests_open_for(*, resident: Resident) -> QuerySet[OnlineTest]:
    """Open tests for the resident — of their community and every place above it — with their own attempts
    (``my_attempts``, ``my_best``, ``my_passed``, ``my_open``) annotated. Four queries at most on a page."""
    if resident.left_on is not None:
        return OnlineTest.objects.none()
    places = [*codes.ancestor_codes(resident.community_id), resident.community_id]
    qs = OnlineTest.objects.filter(place_id__in=places, status=OnlineTestStatus.OPEN)
    return _with_my_attempts(qs, resident).order_by("-created_at")


def online_test_for_resident(*, resident: Resident, test_id: Any) -> OnlineTest:
    """An open test for the resident, or one they have attempted; any other does not exist for them."""
    pk = _uuid_or_none(test_id)
    test = _with_my_attempts(OnlineTest.objects.filter(pk=pk), resident).first() if pk else None
    if test is None:
        raise NotFound(_("找不到该测试"))
    if not test.my_attempts and not (  # type: ignore[attr-defined]
        test.status == OnlineTestStatus.OPEN and may_take(resident, test)
    ):
        raise NotFound(_("找不到该测试"))
    return test


def attempt_for_resident(*, resident: Resident, attempt_id: Any) -> OnlineTestAttempt:
    """One of the resident's own attempts."""
    pk = _uuid_or_none(attempt_id)
    attempt = (
        OnlineTestAttempt.objects.select_related("test", "test__place").filter(pk=pk, resident=resident).first()
        if pk
        else None
    )
    if attempt is None:
        raise NotFound(_("找不到该作答记录"))
    return attempt


def my_attempts(*, resident: Resident) -> QuerySet[OnlineTestAttempt]:
    """The resident's attempts, newest first."""
    return (
        OnlineTestAttempt.objects.filter(resident=resident)
        .select_related("test")
        .defer("question_ids", "option_orders", "answers")
        .order_by("-created_at")
    )


def points_for_test(*, resident: Resident, test: OnlineTest) -> int:
    """The points the resident holds for passing this test (0 when none, or reversed)."""
    entry = (
        PointsEntry.objects.filter(resident=resident, source_type=POINTS_SOURCE, source_id=str(test.pk))
        .order_by()
        .values_list("points", flat=True)
    )
    return sum(entry)


def attempt_state(attempt: OnlineTestAttempt, now: datetime.datetime | None = None) -> str:
    """ "submitted", "open" (time left or no limit), or "time_up" (open, but its time ran out)."""
    if attempt.submitted_at is not None:
        return "submitted"
    now = now or timezone.now()
    if attempt.deadline is not None and now > attempt.deadline + GRACE:
        return "time_up"
    return "open"


def seconds_left(attempt: OnlineTestAttempt, now: datetime.datetime | None = None) -> int | None:
    if attempt.deadline is None or attempt.submitted_at is not None:
        return None
    now = now or timezone.now()
    return max(0, int((attempt.deadline - now).total_seconds()))


@dataclass
class SheetOption:
    position: int  # what the client sends back: the option's place in the order shown
    letter: str
    text: str
    chosen: bool
    correct: bool | None = None  # only when revealed


@dataclass
class SheetItem:
    number: int
    question_id: str
    kind: str
    kind_label: str
    text: str
    options: list[SheetOption]
    answered: bool
    correct: bool | None = None  # only when revealed
    explanation: str | None = None  # only when revealed
    correct_letters: str | None = None  # only when revealed
    chosen_letters: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def attempt_sheet(*, attempt: OnlineTestAttempt, reveal: bool) -> list[SheetItem]:
    """The attempt's questions in the order drawn, options in the order drawn, with the resident's picks. With
    ``reveal`` (a submitted attempt only) also the right options, whether each answer was right, and the explanation.
    One query."""
    if reveal and attempt.submitted_at is None:
        reveal = False  # never before submission
    questions = {str(q.pk): q for q in Question.objects.filter(pk__in=attempt.question_ids)}
    items: list[SheetItem] = []
    for number, qid in enumerate(attempt.question_ids, start=1):
        q = questions.get(qid)
        if q is None:  # pragma: no cover - questions drawn are never deleted
            continue
        order = attempt.option_orders.get(qid) or list(range(len(q.choices)))
        chosen = set(attempt.answers.get(qid, []))
        key = set(q.answer)
        options = [
            SheetOption(
                position=pos,
                letter=LETTERS[pos],
                text=q.choices[original],
                chosen=original in chosen,
                correct=(original in key) if reveal else None,
            )
            for pos, original in enumerate(order)
        ]
        item = SheetItem(
            number=number,
            question_id=qid,
            kind=q.kind,
            kind_label=str(QuestionKind(q.kind).label),
            text=q.text,
            options=options,
            answered=bool(chosen),
            chosen_letters="".join(o.letter for o in options if o.chosen),
        )
        if reveal:
            item.correct = chosen == key
            item.explanation = q.explanation
            item.correct_letters = "".join(o.letter for o in options if o.correct)
        items.append(item)
    return items


# --- for other parts: the facts credential criteria count ---------------------------------------------------------


@dataclass(frozen=True)
class PassFact:
    resident_id: uuid.UUID
    test_id: uuid.UUID
    series_id: uuid.UUID | None  # the test's series, else its course's series
    passed_on: datetime.date  # local date (Asia/Shanghai) of the first passing attempt


def tests_passed_facts(resident_ids: Iterable[Any]) -> list[PassFact]:
    """Every (resident, test) the residents passed, with the date of the first pass: one query, set-based. For the
    credential criteria ``{"kind": "tests_passed", ...}`` (credentials/facts.py). Not filtered by user: the caller
    has already decided whose facts it computes."""
    ids = list(resident_ids)
    if not ids:
        return []
    rows = (
        OnlineTestAttempt.objects.filter(resident_id__in=ids, passed=True, submitted_at__isnull=False)
        .values("resident_id", "test_id", "test__series_id", "test__course__series_id")
        .annotate(first=Min("submitted_at"))
        .order_by()
    )
    return [
        PassFact(
            resident_id=r["resident_id"],
            test_id=r["test_id"],
            series_id=r["test__series_id"] or r["test__course__series_id"],
            passed_on=timezone.localtime(r["first"]).date(),
        )
        for r in rows
    ]


# --- choices for the staff forms ----------------------------------------------------------------------------------

CHOICES_LIMIT = 300


def course_choices(*, user: Any, place: Place) -> list[Course]:
    """Courses a bank or test at ``place`` may name: of the place's subtree and the places above it (recent first)."""
    if not access.has_role_covering(user, place.code, access.STAFF_ROLES):
        return []
    return list(Course.objects.filter(_near_q(place)).order_by("-created_at")[:CHOICES_LIMIT])


def series_choices(*, user: Any, place: Place) -> list[Series]:
    if not access.has_role_covering(user, place.code, access.STAFF_ROLES):
        return []
    return list(Series.objects.filter(_near_q(place)).order_by("name")[:CHOICES_LIMIT])
