"""Pages of online tests (线上测试). Thin: parse input, check a permission, call one service or selector, render.

Staff (desk): question banks and their questions (with XLSX import), tests, and each test's results with its pass
rate. Residents (phone): open tests for them, the test itself with a countdown, the result after submission (score,
pass or fail, points, and only then the right answers with explanations), and their attempts.

URL names are stable (other parts link to them): staff ``bank_list``, ``bank_detail``, ``bank_edit``,
``bank_import``, ``bank_import_template``, ``question_new``, ``question_edit``, ``question_delete``,
``question_active``, ``test_list``, ``test_new``, ``test_detail``, ``test_edit``, ``test_status``; residents
``test_home``, ``test_intro``, ``test_start``, ``test_attempt``, ``test_attempt_save``, ``test_attempt_submit``,
``test_attempt_result``, ``test_my_attempts``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import Conflict, DomainError, NotFound
from gongzhi.core.pages import apply_errors, staff_place
from gongzhi.people.selectors import resident_of_user
from gongzhi.places.models import Place

from ..models import OnlineTest, OnlineTestStatus, QuestionBank, QuestionKind
from . import forms, question_import, selectors, services

PAGE = 50


def _or_404(fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _picked(objs: Any, pk: str) -> Any:
    return next((o for o in objs if str(o.pk) == pk), None) if pk else None


# --- staff: question banks --------------------------------------------------------------------------------------


def _bank_form(request: HttpRequest, place: Place, bank: QuestionBank | None = None) -> tuple[Any, list, list]:
    courses = selectors.course_choices(user=request.user, place=place)
    series = selectors.series_choices(user=request.user, place=place)
    initial = {}
    if bank is not None:
        initial = {"name": bank.name, "course": str(bank.course_id or ""), "series": str(bank.series_id or "")}
    form = forms.BankForm(request.POST or None, initial=initial, courses=courses, series=series)
    return form, courses, series


@login_required
def bank_list(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    user = request.user
    if not user.has_perm("learning.manage_questionbank", place):
        raise PermissionDenied
    form, courses, series = _bank_form(request, place)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bank = services.question_bank_create(
                actor=user,
                place=place,
                name=data["name"],
                course=_picked(courses, data["course"]),
                series=_picked(series, data["series"]),
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已创建题库“%(name)s”，现在可以添加题目") % {"name": bank.name})
            return redirect("bank_detail", bank_id=bank.pk)
    page = Paginator(selectors.banks_visible(user=user, place=place), PAGE).get_page(request.GET.get("page"))
    return render(request, "learning/testing/bank_list.html", {"place": place, "page": page, "form": form})


@login_required
def bank_detail(request: HttpRequest, bank_id: Any) -> HttpResponse:
    bank = _or_404(selectors.bank_get, user=request.user, bank_id=bank_id)
    show = request.GET.get("show", "")
    active = {"active": True, "inactive": False}.get(show)
    questions = selectors.bank_questions(user=request.user, bank=bank, active=active)
    page = Paginator(questions, PAGE).get_page(request.GET.get("page"))
    for q in page.object_list:
        q.letters = "".join(services.LETTERS[i] for i in q.answer)  # type: ignore[attr-defined]
        q.options = list(zip(services.LETTERS, q.choices, strict=False))  # type: ignore[attr-defined]
    return render(
        request,
        "learning/testing/bank_detail.html",
        {
            "bank": bank,
            "page": page,
            "show": show,
            "can_manage": request.user.has_perm("learning.manage_questionbank", bank),
            "can_test": request.user.has_perm("learning.manage_onlinetest", getattr(request, "place", None)),
        },
    )


def _bank_to_manage(request: HttpRequest, bank_id: Any) -> QuestionBank:
    bank = _or_404(selectors.bank_get, user=request.user, bank_id=bank_id)
    if not request.user.has_perm("learning.manage_questionbank", bank):
        raise PermissionDenied
    return bank


@login_required
def bank_edit(request: HttpRequest, bank_id: Any) -> HttpResponse:
    bank = _bank_to_manage(request, bank_id)
    form, courses, series = _bank_form(request, bank.place, bank)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.question_bank_update(
                actor=request.user,
                bank=bank,
                name=data["name"],
                course=_picked(courses, data["course"]),
                series=_picked(series, data["series"]),
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("bank_detail", bank_id=bank.pk)
    return render(request, "learning/testing/bank_form.html", {"form": form, "bank": bank})


# --- staff: questions -------------------------------------------------------------------------------------------

# The services name "choices" and "answer"; the form shows options as option_a…option_h.
_QUESTION_FIELD_MAP = {"choices": "option_a"}


def _question_errors(form: Any, exc: DomainError) -> None:
    exc.fields = {_QUESTION_FIELD_MAP.get(k, k): v for k, v in exc.fields.items()}
    apply_errors(form, exc)


def _question_fields(form: Any) -> dict[str, Any]:
    """The service arguments of a valid question form (shared by question_new and question_edit)."""
    data = form.cleaned_data
    return {
        "kind": data["kind"],
        "text": data["text"],
        "choices": form.cleaned_choices(),
        "answer": form.cleaned_answer(),
        "explanation": data["explanation"],
    }


@login_required
def question_new(request: HttpRequest, bank_id: Any) -> HttpResponse:
    bank = _bank_to_manage(request, bank_id)
    form = forms.QuestionForm(request.POST or None, initial={"kind": request.GET.get("kind", QuestionKind.SINGLE)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.question_create(actor=request.user, bank=bank, **_question_fields(form))
        except DomainError as exc:
            _question_errors(form, exc)
        else:
            messages.success(request, _("已添加题目"))
            if request.POST.get("again"):
                return redirect(f"{request.path}?kind={data['kind']}")
            return redirect("bank_detail", bank_id=bank.pk)
    return render(request, "learning/testing/question_form.html", {"form": form, "bank": bank, "title": _("添加题目")})


@login_required
def question_edit(request: HttpRequest, question_id: Any) -> HttpResponse:
    question = _or_404(selectors.question_get, user=request.user, question_id=question_id)
    form = forms.QuestionForm(request.POST or None, initial=forms.QuestionForm.initial_for(question))
    in_use = services.question_in_use(question)
    if request.method == "POST" and form.is_valid():
        try:
            services.question_update(actor=request.user, question=question, **_question_fields(form))
        except DomainError as exc:
            _question_errors(form, exc)
        else:
            messages.success(request, _("已保存题目"))
            return redirect("bank_detail", bank_id=question.bank_id)
    return render(
        request,
        "learning/testing/question_form.html",
        {"form": form, "bank": question.bank, "question": question, "in_use": in_use, "title": _("修改题目")},
    )


@login_required
@require_POST
def question_delete(request: HttpRequest, question_id: Any) -> HttpResponse:
    question = _or_404(selectors.question_get, user=request.user, question_id=question_id)
    if services.question_delete(actor=request.user, question=question):
        messages.success(request, _("已删除题目"))
    else:
        messages.info(request, _("该题已有人作答，不能删除，已改为停用（作答记录保留）"))
    return redirect("bank_detail", bank_id=question.bank_id)


@login_required
@require_POST
def question_active(request: HttpRequest, question_id: Any) -> HttpResponse:
    question = _or_404(selectors.question_get, user=request.user, question_id=question_id)
    active = request.POST.get("active") == "1"
    services.question_set_active(actor=request.user, question=question, active=active)
    messages.success(request, _("已启用题目") if active else _("已停用题目，今后抽题不再抽到它"))
    return redirect("bank_detail", bank_id=question.bank_id)


@login_required
def bank_import(request: HttpRequest, bank_id: Any) -> HttpResponse:
    bank = _bank_to_manage(request, bank_id)
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    errors: list[Any] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > question_import.MAX_BYTES:
            form.add_error("file", _("文件太大（不超过 2 MB）"))
        else:
            checked = question_import.check_workbook(upload.read())
            if checked.errors:
                errors = checked.errors
            else:
                created = services.questions_import(actor=request.user, bank=bank, rows=checked.rows)
                messages.success(request, _("已导入 %(n)d 道题") % {"n": len(created)})
                return redirect("bank_detail", bank_id=bank.pk)
    return render(request, "learning/testing/bank_import.html", {"bank": bank, "form": form, "errors": errors})


@login_required
def bank_import_template(request: HttpRequest) -> HttpResponse:
    staff_place(request)
    response = HttpResponse(
        question_import.template_workbook(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="question-import-template.xlsx"'
    return response


# --- staff: tests -----------------------------------------------------------------------------------------------


@login_required
def online_test_list(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm("learning.manage_onlinetest", place):
        raise PermissionDenied
    status = request.GET.get("status", "")
    tests = selectors.tests_visible(user=request.user, place=place, status=status)
    page = Paginator(tests, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "learning/testing/test_list.html",
        {"place": place, "page": page, "status": status, "statuses": OnlineTestStatus.choices},
    )


def _test_form(request: HttpRequest, place: Place, test: OnlineTest | None = None) -> tuple[Any, list, list, list]:
    banks = list(selectors.banks_visible(user=request.user, place=place)[: selectors.CHOICES_LIMIT])
    courses = selectors.course_choices(user=request.user, place=place)
    series = selectors.series_choices(user=request.user, place=place)
    if test is not None:
        initial: dict[str, Any] = {
            "title": test.title,
            "bank": str(test.bank_id),
            "course": str(test.course_id or ""),
            "series": str(test.series_id or ""),
            "question_count": test.question_count,
            "time_limit_minutes": test.time_limit_minutes,
            "pass_mark": test.pass_mark,
            "attempts_allowed": test.attempts_allowed,
            "shuffle": test.shuffle,
        }
    else:
        initial = {"bank": request.GET.get("bank", ""), "time_limit_minutes": 20}
    form = forms.OnlineTestForm(request.POST or None, initial=initial, banks=banks, courses=courses, series=series)
    return form, banks, courses, series


def _settings(data: dict[str, Any]) -> services.OnlineTestSettings:
    return services.OnlineTestSettings(
        title=data["title"],
        question_count=data["question_count"],
        time_limit_minutes=data["time_limit_minutes"],
        pass_mark=data["pass_mark"],
        attempts_allowed=data["attempts_allowed"],
        shuffle=data["shuffle"],
    )


@login_required
def online_test_new(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm("learning.manage_onlinetest", place):
        raise PermissionDenied
    form, banks, courses, series = _test_form(request, place)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            test = services.online_test_create(
                actor=request.user,
                place=place,
                bank=_picked(banks, data["bank"]),
                settings=_settings(data),
                course=_picked(courses, data["course"]),
                series=_picked(series, data["series"]),
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已创建测试（未发布）。检查设置后点“发布”，居民即可作答"))
            return redirect("test_detail", test_id=test.pk)
    return render(
        request, "learning/testing/test_form.html", {"form": form, "place": place, "title": _("新建线上测试")}
    )


@login_required
def online_test_edit(request: HttpRequest, test_id: Any) -> HttpResponse:
    test = _or_404(selectors.online_test_get, user=request.user, test_id=test_id)
    form, banks, courses, series = _test_form(request, test.place, test)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.online_test_update(
                actor=request.user,
                test=test,
                bank=_picked(banks, data["bank"]),
                settings=_settings(data),
                course=_picked(courses, data["course"]),
                series=_picked(series, data["series"]),
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("test_detail", test_id=test.pk)
    return render(
        request,
        "learning/testing/test_form.html",
        {"form": form, "place": test.place, "test": test, "title": _("修改线上测试")},
    )


@login_required
def online_test_detail(request: HttpRequest, test_id: Any) -> HttpResponse:
    test = _or_404(selectors.online_test_get, user=request.user, test_id=test_id)
    page = Paginator(selectors.result_rows_query(test=test), PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "learning/testing/test_detail.html",
        {
            "test": test,
            "summary": selectors.results_summary(test=test),
            "page": page,
            "rows": selectors.result_rows(page.object_list),
            "stats": selectors.question_stats(test=test),
            "moves": services.TEST_TRANSITIONS.get(test.status, ()),
        },
    )


@login_required
@require_POST
def online_test_status(request: HttpRequest, test_id: Any) -> HttpResponse:
    test = _or_404(selectors.online_test_get, user=request.user, test_id=test_id)
    status = request.POST.get("status", "")
    try:
        test = services.online_test_set_status(actor=request.user, test=test, status=status)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        labels: dict[str, str] = {
            OnlineTestStatus.OPEN: _("测试已发布，居民现在可以作答"),
            OnlineTestStatus.CLOSED: _("测试已关闭，不再接受新的作答"),
        }
        messages.success(request, labels.get(test.status, _("已保存")))
    return redirect("test_detail", test_id=test.pk)


# --- residents on their phones ----------------------------------------------------------------------------------


def _resident(request: HttpRequest) -> Any:
    resident = resident_of_user(user=request.user)
    if resident is None:
        raise Http404(_("您还没有居民档案"))
    return resident


@login_required
def test_home(request: HttpRequest) -> HttpResponse:
    resident = _resident(request)
    tests = list(selectors.tests_open_for(resident=resident)[:100])
    return render(request, "learning/testing/home.html", {"resident": resident, "tests": tests})


@login_required
def test_intro(request: HttpRequest, test_id: Any) -> HttpResponse:
    resident = _resident(request)
    test = _or_404(selectors.online_test_for_resident, resident=resident, test_id=test_id)
    attempts = list(selectors.my_attempts(resident=resident).filter(test=test))
    count = test.question_count or test.active_count  # type: ignore[attr-defined]
    return render(
        request,
        "learning/testing/intro.html",
        {
            "test": test,
            "attempts": attempts,
            "question_total": min(count, test.active_count),  # type: ignore[attr-defined]
            "left": max(0, test.attempts_allowed - len(attempts)),
            "may_start": test.status == OnlineTestStatus.OPEN and services.may_take(resident, test),
            "points": selectors.points_for_test(resident=resident, test=test),
        },
    )


@login_required
@require_POST
def test_start(request: HttpRequest, test_id: Any) -> HttpResponse:
    resident = _resident(request)
    test = _or_404(selectors.online_test_for_resident, resident=resident, test_id=test_id)
    try:
        attempt = services.attempt_start(resident=resident, test=test)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("test_intro", test_id=test.pk)
    return redirect("test_attempt", attempt_id=attempt.pk)


@login_required
def test_attempt(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    resident = _resident(request)
    attempt = _or_404(selectors.attempt_for_resident, resident=resident, attempt_id=attempt_id)
    state = selectors.attempt_state(attempt)
    if state == "submitted":
        return redirect("test_attempt_result", attempt_id=attempt.pk)
    sheet = selectors.attempt_sheet(attempt=attempt, reveal=False)
    left = selectors.seconds_left(attempt)
    return render(
        request,
        "learning/testing/attempt.html",
        {
            "attempt": attempt,
            "test": attempt.test,
            "sheet": sheet,
            "state": state,
            "seconds_left": left,
            "clock": f"{left // 60:02d}:{left % 60:02d}" if left is not None else "",
            "answered": sum(1 for item in sheet if item.answered),
        },
    )


def _sheet_from_post(request: HttpRequest, question_ids: list[str], only_given: bool) -> dict[str, list[str]]:
    """The answer sheet of a form: ``q-<question id>`` → the positions ticked."""
    sheet: dict[str, list[str]] = {}
    for qid in question_ids:
        key = f"q-{qid}"
        if only_given and key not in request.POST and request.POST.get("question") != qid:
            continue
        sheet[qid] = request.POST.getlist(key)
    return sheet


@login_required
@require_POST
def test_attempt_save(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    """Autosave from the page (fetch): the answers of the questions sent; JSON back."""
    resident = _resident(request)
    attempt = _or_404(selectors.attempt_for_resident, resident=resident, attempt_id=attempt_id)
    try:
        services.attempt_save_answers(
            resident=resident, attempt=attempt, answers=_sheet_from_post(request, attempt.question_ids, True)
        )
    except DomainError as exc:
        return JsonResponse({"saved": False, "code": exc.code, "message": exc.message}, status=exc.status)
    return JsonResponse({"saved": True})


@login_required
@require_POST
def test_attempt_submit(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    resident = _resident(request)
    attempt = _or_404(selectors.attempt_for_resident, resident=resident, attempt_id=attempt_id)
    # "saved": hand in what was saved (the time-up screen has no answer sheet to send).
    answers = None if request.POST.get("saved") else _sheet_from_post(request, attempt.question_ids, False)
    try:
        attempt = services.attempt_submit(resident=resident, attempt=attempt, answers=answers)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("test_attempt_result", attempt_id=attempt.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("test_attempt", attempt_id=attempt.pk)
    if getattr(attempt, "late", False):
        messages.info(request, _("已超过作答时限，只计入截止前保存的答案"))
    return redirect("test_attempt_result", attempt_id=attempt.pk)


@login_required
def test_attempt_result(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    resident = _resident(request)
    attempt = _or_404(selectors.attempt_for_resident, resident=resident, attempt_id=attempt_id)
    if attempt.submitted_at is None:
        return redirect("test_attempt", attempt_id=attempt.pk)
    sheet = selectors.attempt_sheet(attempt=attempt, reveal=True)
    test = attempt.test
    used = selectors.my_attempts(resident=resident).filter(test=test).count()
    return render(
        request,
        "learning/testing/result.html",
        {
            "attempt": attempt,
            "test": test,
            "sheet": sheet,
            "right": sum(1 for item in sheet if item.correct),
            "points": selectors.points_for_test(resident=resident, test=test),
            "left": max(0, test.attempts_allowed - used),
            "may_retry": test.status == OnlineTestStatus.OPEN and used < test.attempts_allowed,
        },
    )


@login_required
def test_my_attempts(request: HttpRequest) -> HttpResponse:
    resident = _resident(request)
    page = Paginator(selectors.my_attempts(resident=resident), 30).get_page(request.GET.get("page"))
    for a in page.object_list:
        a.state = selectors.attempt_state(a)  # type: ignore[attr-defined]
    return render(request, "learning/testing/my_attempts.html", {"page": page})


urlpatterns: list[URLPattern] = [
    path("staff/question-banks/", bank_list, name="bank_list"),
    path("staff/question-banks/template.xlsx", bank_import_template, name="bank_import_template"),
    path("staff/question-banks/<uuid:bank_id>/", bank_detail, name="bank_detail"),
    path("staff/question-banks/<uuid:bank_id>/edit/", bank_edit, name="bank_edit"),
    path("staff/question-banks/<uuid:bank_id>/import/", bank_import, name="bank_import"),
    path("staff/question-banks/<uuid:bank_id>/questions/new/", question_new, name="question_new"),
    path("staff/questions/<uuid:question_id>/edit/", question_edit, name="question_edit"),
    path("staff/questions/<uuid:question_id>/delete/", question_delete, name="question_delete"),
    path("staff/questions/<uuid:question_id>/active/", question_active, name="question_active"),
    path("staff/online-tests/", online_test_list, name="test_list"),
    path("staff/online-tests/new/", online_test_new, name="test_new"),
    path("staff/online-tests/<uuid:test_id>/", online_test_detail, name="test_detail"),
    path("staff/online-tests/<uuid:test_id>/edit/", online_test_edit, name="test_edit"),
    path("staff/online-tests/<uuid:test_id>/status/", online_test_status, name="test_status"),
    path("learn/tests/", test_home, name="test_home"),
    path("learn/tests/mine/", test_my_attempts, name="test_my_attempts"),
    path("learn/tests/<uuid:test_id>/", test_intro, name="test_intro"),
    path("learn/tests/<uuid:test_id>/start/", test_start, name="test_start"),
    path("learn/tests/attempts/<uuid:attempt_id>/", test_attempt, name="test_attempt"),
    path("learn/tests/attempts/<uuid:attempt_id>/save/", test_attempt_save, name="test_attempt_save"),
    path("learn/tests/attempts/<uuid:attempt_id>/submit/", test_attempt_submit, name="test_attempt_submit"),
    path("learn/tests/attempts/<uuid:attempt_id>/result/", test_attempt_result, name="test_attempt_result"),
]
