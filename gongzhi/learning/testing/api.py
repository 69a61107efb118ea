"""学 credentials: online tests — question banks, tests, attempts scored on the server.

Staff: question banks and their questions (with the answer key), tests, their status, and their results. Residents:
the open tests for them, starting (or resuming) an attempt, saving answers, submitting once, and their attempts.

The answer key never leaves the server before submission: an attempt's sheet (``GET /test-attempts/{id}``, the start
and save answers) lists the options in the order drawn for that attempt, each with its ``position``; answers are sent
as positions and mapped back to the options on the server. The right answers and explanations are in
``/test-attempts/{id}/result`` and the submit response only, once the attempt is submitted.
"""

import datetime
import uuid
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from gongzhi.people.selectors import resident_of_user
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import (
    Course,
    OnlineTest,
    OnlineTestAttempt,
    OnlineTestStatus,
    QuestionBank,
    QuestionKind,
    Series,
)
from . import selectors, services

router = Router(tags=["testing"])

# --- schemas: staff ---------------------------------------------------------------------------------------------


class QuestionBankOut(Schema):
    id: uuid.UUID
    name: str
    place_code: str
    place_name: str
    course_id: uuid.UUID | None
    course_title: str | None
    series_id: uuid.UUID | None
    series_name: str | None
    active_count: int = Field(..., description="启用的题目数")
    question_total: int = Field(..., description="题目总数（含停用）")
    test_count: int

    @staticmethod
    def resolve_place_code(obj: QuestionBank) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: QuestionBank) -> str:
        return obj.place.name

    @staticmethod
    def resolve_course_title(obj: QuestionBank) -> str | None:
        return obj.course.title if obj.course is not None else None

    @staticmethod
    def resolve_series_name(obj: QuestionBank) -> str | None:
        return obj.series.name if obj.series is not None else None


class QuestionBankIn(Schema):
    place: str = Field(..., pattern=CODE_PATTERN)
    name: str = Field(..., min_length=1, max_length=100)
    course_id: uuid.UUID | None = None
    series_id: uuid.UUID | None = None


class QuestionBankUpdateIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    course_id: uuid.UUID | None = None
    series_id: uuid.UUID | None = None


class QuestionOut(Schema):
    """A question with its answer key (staff who manage or use the bank only)."""

    id: uuid.UUID
    bank_id: uuid.UUID
    kind: QuestionKind
    text: str
    choices: list[str]
    answer: list[int] = Field(..., description="正确选项的序号（从 0 开始，对应 choices）")
    explanation: str
    order: int
    active: bool


class QuestionIn(Schema):
    kind: QuestionKind
    text: str = Field(..., min_length=1, max_length=2000)
    choices: list[str] = Field([], max_length=services.MAX_OPTIONS, description="判断题可省略（固定为“正确”“错误”）")
    answer: list[int] = Field(..., description="正确选项的序号（从 0 开始）")
    explanation: str = Field("", max_length=4000)


class QuestionUpdateIn(QuestionIn):
    active: bool | None = Field(None, description="停用或启用；省略则不变")


class QuestionDeleteOut(Schema):
    deleted: bool = Field(..., description="false：已有人作答，未删除而是停用")
    active: bool


class OnlineTestOut(Schema):
    id: uuid.UUID
    title: str
    place_code: str
    place_name: str
    bank_id: uuid.UUID
    bank_name: str
    course_id: uuid.UUID | None
    series_id: uuid.UUID | None
    question_count: int | None
    time_limit_minutes: int | None
    pass_mark: int
    attempts_allowed: int
    shuffle: bool
    status: OnlineTestStatus
    active_count: int = Field(..., description="题库中启用的题目数")
    attempt_count: int = Field(..., description="已交卷的答卷数")
    taker_count: int = Field(..., description="已交卷的人数")
    passer_count: int = Field(..., description="通过的人数")

    @staticmethod
    def resolve_place_code(obj: OnlineTest) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: OnlineTest) -> str:
        return obj.place.name

    @staticmethod
    def resolve_bank_name(obj: OnlineTest) -> str:
        return obj.bank.name


class OnlineTestSettingsIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    bank_id: uuid.UUID
    course_id: uuid.UUID | None = None
    series_id: uuid.UUID | None = None
    question_count: int | None = Field(None, ge=1)
    time_limit_minutes: int | None = Field(None, ge=1, le=services.MAX_TIME_LIMIT)
    pass_mark: int = Field(60, ge=0, le=100)
    attempts_allowed: int = Field(3, ge=1, le=services.MAX_ATTEMPTS)
    shuffle: bool = True


class OnlineTestIn(OnlineTestSettingsIn):
    place: str = Field(..., pattern=CODE_PATTERN)


class OnlineTestStatusIn(Schema):
    status: OnlineTestStatus


class TestResultsSummaryOut(Schema):
    takers: int
    passers: int
    pass_rate: Decimal | None = Field(..., description="通过人数 / 交卷人数，百分比")
    attempts: int
    open_attempts: int
    average: Decimal | None


class TestResultRowOut(Schema):
    resident_id: uuid.UUID
    name_masked: str
    community_name: str
    attempts: int
    best: Decimal | None
    passed: bool
    first_passed_at: datetime.datetime | None
    last_submitted_at: datetime.datetime | None


class BankFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN)


class OnlineTestFilters(BankFilters):
    status: OnlineTestStatus | None = None


class QuestionListFilters(Schema):
    active: bool | None = None


# --- schemas: residents -----------------------------------------------------------------------------------------


class MyOnlineTestOut(Schema):
    id: uuid.UUID
    title: str
    place_name: str
    series_name: str | None
    question_count: int = Field(..., description="每次作答的题目数")
    time_limit_minutes: int | None
    pass_mark: int
    attempts_allowed: int
    my_attempts: int
    my_best: Decimal | None
    my_passed: bool
    my_open_attempt_id: uuid.UUID | None

    @staticmethod
    def resolve_place_name(obj: OnlineTest) -> str:
        return obj.place.name

    @staticmethod
    def resolve_series_name(obj: OnlineTest) -> str | None:
        return obj.series.name if obj.series is not None else None

    @staticmethod
    def resolve_question_count(obj: OnlineTest) -> int:
        active = int(getattr(obj, "active_count", 0))
        return min(obj.question_count, active) if obj.question_count else active

    @staticmethod
    def resolve_my_best(obj: OnlineTest) -> Decimal | None:
        return selectors.two_decimals(getattr(obj, "my_best", None))

    @staticmethod
    def resolve_my_open_attempt_id(obj: OnlineTest) -> Any:
        return getattr(obj, "my_open", None)


class SheetOptionOut(Schema):
    position: int = Field(..., description="作答时提交的值：该选项在本次答卷中的位置")
    letter: str
    text: str
    chosen: bool


class SheetQuestionOut(Schema):
    number: int
    question_id: str
    kind: QuestionKind
    text: str
    options: list[SheetOptionOut]
    answered: bool


class AttemptStateBase(Schema):
    id: uuid.UUID
    test_id: uuid.UUID
    test_title: str
    number: int
    state: str = Field(..., description="open 作答中 / time_up 时间已到未交卷 / submitted 已交卷")
    started_at: datetime.datetime
    deadline: datetime.datetime | None
    submitted_at: datetime.datetime | None
    score: Decimal | None
    passed: bool | None


class AttemptSheetOut(AttemptStateBase):
    """An attempt's answer sheet: no answer key, whatever the state."""

    seconds_left: int | None
    questions: list[SheetQuestionOut]


class ReviewedOptionOut(SheetOptionOut):
    correct: bool


class ReviewedQuestionOut(Schema):
    number: int
    question_id: str
    kind: QuestionKind
    text: str
    options: list[ReviewedOptionOut]
    answered: bool
    correct: bool
    correct_positions: list[int]
    explanation: str


class AttemptResultOut(AttemptStateBase):
    right_count: int
    question_total: int
    late: bool = Field(..., description="交卷晚于截止时间（含 30 秒宽限）：只计截止前保存的答案")
    points: int = Field(..., description="本测试已获得的积分（每个测试只计一次）")
    questions: list[ReviewedQuestionOut]


class MyAttemptOut(AttemptStateBase):
    pass


class AttemptAnswersIn(Schema):
    answers: dict[str, list[int]] = Field(..., description="题目 id → 选中选项的 position；空列表表示清除")


class AttemptSubmitIn(Schema):
    answers: dict[str, list[int]] | None = Field(
        None, description="完整答卷（题目 id → position）；省略则按已保存的答案交卷"
    )


# --- helpers ----------------------------------------------------------------------------------------------------


def _place(code: str, field: str = "place") -> Place:
    place = place_selectors.place_get(code=code) if codes.CODE_RE.match(code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={field: [_("找不到该区划代码")]})
    return place


def _require(request: ApiRequest, perm: str, obj: Any, field: str | None = None) -> None:
    if not request.auth.has_perm(perm, obj):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={field: [message]} if field else None)


def _resident(request: ApiRequest) -> Any:
    resident = resident_of_user(user=request.auth)
    if resident is None:
        raise PermissionDenied(_("只有居民可以进行此操作"))
    return resident


def _pick(model: Any, pk: uuid.UUID | None, field: str) -> Any:
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise DomainError(_("提交的数据有误"), fields={field: [_("找不到")]})
    return obj


def _bank_for_test(request: ApiRequest, bank_id: uuid.UUID) -> QuestionBank:
    try:
        return selectors.bank_get(user=request.auth, bank_id=bank_id)
    except NotFound as exc:
        raise DomainError(_("提交的数据有误"), fields={"bank_id": [_("找不到该题库")]}) from exc


def _settings(payload: OnlineTestSettingsIn) -> services.OnlineTestSettings:
    return services.OnlineTestSettings(
        title=payload.title,
        question_count=payload.question_count,
        time_limit_minutes=payload.time_limit_minutes,
        pass_mark=payload.pass_mark,
        attempts_allowed=payload.attempts_allowed,
        shuffle=payload.shuffle,
    )


def _state_fields(attempt: OnlineTestAttempt) -> dict[str, Any]:
    return {
        "id": attempt.pk,
        "test_id": attempt.test_id,
        "test_title": attempt.test.title,
        "number": attempt.number,
        "state": selectors.attempt_state(attempt),
        "started_at": attempt.created_at,
        "deadline": attempt.deadline,
        "submitted_at": attempt.submitted_at,
        "score": attempt.score,
        "passed": attempt.passed,
    }


def _sheet_out(attempt: OnlineTestAttempt) -> dict[str, Any]:
    items = selectors.attempt_sheet(attempt=attempt, reveal=False)
    return {
        **_state_fields(attempt),
        "seconds_left": selectors.seconds_left(attempt),
        "questions": [
            {
                "number": i.number,
                "question_id": i.question_id,
                "kind": i.kind,
                "text": i.text,
                "answered": i.answered,
                "options": [
                    {"position": o.position, "letter": o.letter, "text": o.text, "chosen": o.chosen} for o in i.options
                ],
            }
            for i in items
        ],
    }


def _result_out(attempt: OnlineTestAttempt, resident: Any) -> dict[str, Any]:
    items = selectors.attempt_sheet(attempt=attempt, reveal=True)
    late = bool(
        attempt.deadline is not None
        and attempt.submitted_at is not None
        and attempt.submitted_at > attempt.deadline + services.GRACE
    )
    return {
        **_state_fields(attempt),
        "right_count": sum(1 for i in items if i.correct),
        "question_total": len(items),
        "late": late,
        "points": selectors.points_for_test(resident=resident, test=attempt.test),
        "questions": [
            {
                "number": i.number,
                "question_id": i.question_id,
                "kind": i.kind,
                "text": i.text,
                "answered": i.answered,
                "correct": bool(i.correct),
                "correct_positions": [o.position for o in i.options if o.correct],
                "explanation": i.explanation or "",
                "options": [
                    {
                        "position": o.position,
                        "letter": o.letter,
                        "text": o.text,
                        "chosen": o.chosen,
                        "correct": bool(o.correct),
                    }
                    for o in i.options
                ],
            }
            for i in items
        ],
    }


def _my_attempt(request: ApiRequest, attempt_id: uuid.UUID) -> tuple[Any, OnlineTestAttempt]:
    resident = _resident(request)
    return resident, selectors.attempt_for_resident(resident=resident, attempt_id=attempt_id)


# --- question banks ---------------------------------------------------------------------------------------------


@router.get(
    "/question-banks", response={200: list[QuestionBankOut], **errors(401, 404, 422)}, summary="题库（工作人员）"
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def bank_list(request: ApiRequest, filters: Query[BankFilters]) -> Any:
    """The banks of the places the caller covers, and those of the places above (usable for their tests)."""
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.banks_visible(user=request.auth, place=place)


@router.post("/question-banks", response={201: QuestionBankOut, **errors(400, 401, 403, 409, 422)}, summary="新建题库")
def bank_create(request: ApiRequest, payload: QuestionBankIn) -> Any:
    place = _place(payload.place)
    _require(request, "learning.manage_questionbank", place, "place")
    bank = services.question_bank_create(
        actor=request.auth,
        place=place,
        name=payload.name,
        course=_pick(Course, payload.course_id, "course_id"),
        series=_pick(Series, payload.series_id, "series_id"),
    )
    return Status(201, selectors.bank_get(user=request.auth, bank_id=bank.pk))


@router.get("/question-banks/{bank_id}", response={200: QuestionBankOut, **errors(401, 404, 422)}, summary="一个题库")
def bank_detail(request: ApiRequest, bank_id: uuid.UUID) -> Any:
    return selectors.bank_get(user=request.auth, bank_id=bank_id)


@router.put(
    "/question-banks/{bank_id}",
    response={200: QuestionBankOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改题库",
)
def bank_update(request: ApiRequest, bank_id: uuid.UUID, payload: QuestionBankUpdateIn) -> Any:
    bank = selectors.bank_get(user=request.auth, bank_id=bank_id)
    _require(request, "learning.manage_questionbank", bank)
    services.question_bank_update(
        actor=request.auth,
        bank=bank,
        name=payload.name,
        course=_pick(Course, payload.course_id, "course_id"),
        series=_pick(Series, payload.series_id, "series_id"),
    )
    return selectors.bank_get(user=request.auth, bank_id=bank_id)


@router.get(
    "/question-banks/{bank_id}/questions",
    response={200: list[QuestionOut], **errors(401, 404, 422)},
    summary="题库中的题目（含答案，工作人员）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def question_list(request: ApiRequest, bank_id: uuid.UUID, filters: Query[QuestionListFilters]) -> Any:
    bank = selectors.bank_get(user=request.auth, bank_id=bank_id)
    return selectors.bank_questions(user=request.auth, bank=bank, active=filters.active)


@router.post(
    "/question-banks/{bank_id}/questions",
    response={201: QuestionOut, **errors(400, 401, 403, 404, 422)},
    summary="添加题目",
)
def question_create(request: ApiRequest, bank_id: uuid.UUID, payload: QuestionIn) -> Any:
    bank = selectors.bank_get(user=request.auth, bank_id=bank_id)
    _require(request, "learning.manage_questionbank", bank)
    question = services.question_create(
        actor=request.auth,
        bank=bank,
        kind=payload.kind,
        text=payload.text,
        choices=payload.choices,
        answer=payload.answer,
        explanation=payload.explanation,
    )
    return Status(201, question)


@router.put(
    "/questions/{question_id}",
    response={200: QuestionOut, **errors(400, 401, 404, 409, 422)},
    summary="修改题目（已有人作答的题只能改文字和解析）",
)
def question_update(request: ApiRequest, question_id: uuid.UUID, payload: QuestionUpdateIn) -> Any:
    question = selectors.question_get(user=request.auth, question_id=question_id)
    question = services.question_update(
        actor=request.auth,
        question=question,
        kind=payload.kind,
        text=payload.text,
        choices=payload.choices,
        answer=payload.answer,
        explanation=payload.explanation,
    )
    if payload.active is not None:
        question = services.question_set_active(actor=request.auth, question=question, active=payload.active)
    return question


@router.delete(
    "/questions/{question_id}",
    response={200: QuestionDeleteOut, **errors(401, 404, 422)},
    summary="删除题目（已有人作答的题改为停用）",
)
def question_delete(request: ApiRequest, question_id: uuid.UUID) -> Any:
    question = selectors.question_get(user=request.auth, question_id=question_id)
    deleted = services.question_delete(actor=request.auth, question=question)
    return {"deleted": deleted, "active": False}


# --- tests (staff) ----------------------------------------------------------------------------------------------


@router.get(
    "/online-tests", response={200: list[OnlineTestOut], **errors(401, 404, 422)}, summary="线上测试（工作人员）"
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def test_list(request: ApiRequest, filters: Query[OnlineTestFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.tests_visible(user=request.auth, place=place, status=filters.status or "")


@router.post(
    "/online-tests", response={201: OnlineTestOut, **errors(400, 401, 403, 422)}, summary="新建线上测试（未发布）"
)
def test_create(request: ApiRequest, payload: OnlineTestIn) -> Any:
    place = _place(payload.place)
    _require(request, "learning.manage_onlinetest", place, "place")
    test = services.online_test_create(
        actor=request.auth,
        place=place,
        bank=_bank_for_test(request, payload.bank_id),
        settings=_settings(payload),
        course=_pick(Course, payload.course_id, "course_id"),
        series=_pick(Series, payload.series_id, "series_id"),
    )
    return Status(201, selectors.online_test_get(user=request.auth, test_id=test.pk))


@router.get("/online-tests/{test_id}", response={200: OnlineTestOut, **errors(401, 404, 422)}, summary="一个线上测试")
def test_detail(request: ApiRequest, test_id: uuid.UUID) -> Any:
    return selectors.online_test_get(user=request.auth, test_id=test_id)


@router.put(
    "/online-tests/{test_id}",
    response={200: OnlineTestOut, **errors(400, 401, 404, 409, 422)},
    summary="修改线上测试（已有人作答后，题库、抽题数、及格分、乱序不能改）",
)
def test_update(request: ApiRequest, test_id: uuid.UUID, payload: OnlineTestSettingsIn) -> Any:
    test = selectors.online_test_get(user=request.auth, test_id=test_id)
    services.online_test_update(
        actor=request.auth,
        test=test,
        bank=_bank_for_test(request, payload.bank_id),
        settings=_settings(payload),
        course=_pick(Course, payload.course_id, "course_id"),
        series=_pick(Series, payload.series_id, "series_id"),
    )
    return selectors.online_test_get(user=request.auth, test_id=test_id)


@router.post(
    "/online-tests/{test_id}/status",
    response={200: OnlineTestOut, **errors(400, 401, 404, 422)},
    summary="发布、关闭或重新开放测试",
)
def test_status(request: ApiRequest, test_id: uuid.UUID, payload: OnlineTestStatusIn) -> Any:
    test = selectors.online_test_get(user=request.auth, test_id=test_id)
    services.online_test_set_status(actor=request.auth, test=test, status=payload.status)
    return selectors.online_test_get(user=request.auth, test_id=test_id)


@router.get(
    "/online-tests/{test_id}/summary",
    response={200: TestResultsSummaryOut, **errors(401, 404, 422)},
    summary="成绩汇总与通过率",
)
def test_summary(request: ApiRequest, test_id: uuid.UUID) -> Any:
    test = selectors.online_test_get(user=request.auth, test_id=test_id)
    s = selectors.results_summary(test=test)
    return {
        "takers": s.takers,
        "passers": s.passers,
        "pass_rate": s.pass_rate,
        "attempts": s.attempts,
        "open_attempts": s.open_attempts,
        "average": s.average,
    }


@router.get(
    "/online-tests/{test_id}/results",
    response={200: list[TestResultRowOut], **errors(401, 404, 422)},
    summary="每人成绩（姓名脱敏）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def test_results(request: ApiRequest, test_id: uuid.UUID) -> Any:
    test = selectors.online_test_get(user=request.auth, test_id=test_id)
    return _ResultRows(selectors.result_rows_query(test=test))


class _ResultRows:
    """A lazily sliced list of ``ResultRow`` over the aggregate query (so that pagination slices the query)."""

    def __init__(self, qs: Any) -> None:
        self.qs = qs

    def count(self) -> int:
        return int(self.qs.count())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[Any]:
        return selectors.result_rows(self.qs[item])


# --- residents --------------------------------------------------------------------------------------------------


@router.get("/me/online-tests", response={200: list[MyOnlineTestOut], **errors(401, 403)}, summary="面向我的线上测试")
def my_tests(request: ApiRequest) -> Any:
    return list(selectors.tests_open_for(resident=_resident(request))[:100])


@router.post(
    "/online-tests/{test_id}/attempts",
    response={200: AttemptSheetOut, **errors(400, 401, 403, 404, 422)},
    summary="开始作答（已有未交的作答则继续那一次）",
)
def attempt_start(request: ApiRequest, test_id: uuid.UUID) -> Any:
    resident = _resident(request)
    test = selectors.online_test_for_resident(resident=resident, test_id=test_id)
    attempt = services.attempt_start(resident=resident, test=test)
    attempt.test = test
    return _sheet_out(attempt)


@router.get("/me/test-attempts", response={200: list[MyAttemptOut], **errors(401, 403, 422)}, summary="我的作答记录")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def my_attempts(request: ApiRequest) -> Any:
    return _Attempts(selectors.my_attempts(resident=_resident(request)))


class _Attempts(_ResultRows):
    def __getitem__(self, item: slice) -> list[Any]:
        return [_state_fields(a) for a in self.qs[item]]


@router.get(
    "/test-attempts/{attempt_id}",
    response={200: AttemptSheetOut, **errors(401, 403, 404, 422)},
    summary="一次作答的答卷（不含答案）",
)
def attempt_detail(request: ApiRequest, attempt_id: uuid.UUID) -> Any:
    _who, attempt = _my_attempt(request, attempt_id)
    return _sheet_out(attempt)


@router.put(
    "/test-attempts/{attempt_id}/answers",
    response={200: AttemptSheetOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="保存答案（交卷前可多次保存）",
)
def attempt_save(request: ApiRequest, attempt_id: uuid.UUID, payload: AttemptAnswersIn) -> Any:
    resident, attempt = _my_attempt(request, attempt_id)
    test = attempt.test
    attempt = services.attempt_save_answers(resident=resident, attempt=attempt, answers=payload.answers)
    attempt.test = test
    return _sheet_out(attempt)


@router.post(
    "/test-attempts/{attempt_id}/submit",
    response={200: AttemptResultOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="交卷（服务器评分，每次作答只能交一次）",
)
def attempt_submit(request: ApiRequest, attempt_id: uuid.UUID, payload: AttemptSubmitIn) -> Any:
    resident, attempt = _my_attempt(request, attempt_id)
    test = attempt.test
    attempt = services.attempt_submit(resident=resident, attempt=attempt, answers=payload.answers)
    attempt.test = test
    return _result_out(attempt, resident)


@router.get(
    "/test-attempts/{attempt_id}/result",
    response={200: AttemptResultOut, **errors(401, 403, 404, 409, 422)},
    summary="成绩与答案解析（交卷后）",
)
def attempt_result(request: ApiRequest, attempt_id: uuid.UUID) -> Any:
    resident, attempt = _my_attempt(request, attempt_id)
    if attempt.submitted_at is None:
        raise Conflict(_("还没有交卷，交卷后才能看到答案和解析"), code="not_submitted")
    return _result_out(attempt, resident)
