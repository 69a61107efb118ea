"""Social-capital survey pages (社会资本调查): staff send a round to streets and communities, open and close it and read
the results (respondents, scale scores, Cronbach's alpha, the spread of answers); residents answer on their phones.

Thin views: parse the input, check a permission, call one service or selector, render.

URL names: staff — social_survey_list, social_survey_new, social_survey_detail, social_survey_open,
social_survey_close; residents — social_survey_mine, social_survey_answer.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors, staff_place
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import SocialSurvey, SocialSurveyStatus
from . import selectors, services
from .forms import AnswerForm, SocialSurveyForm
from .instrument import ITEMS, LIKERT, SCALE_LABELS, SCALE_PROMPTS, SCALES, SHORT, TEXTS, item_number

PAGE_SIZE = 30


def _survey_or_404(request: HttpRequest, survey_id: Any) -> SocialSurvey:
    try:
        return selectors.social_survey_get(user=request.user, survey_id=survey_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _target_places(place: Place) -> list[Place]:
    """Streets and communities a round may be sent to: inside the current place, each street followed by its
    communities."""
    if place.level == "community":
        return [place]
    return list(place_selectors.place_subtree(place=place).filter(level__in=services.TARGET_LEVELS))


def instrument_rows() -> list[dict[str, Any]]:
    """The questionnaire for showing: scales with their prompt and numbered items."""
    return [
        {
            "scale": scale,
            "label": SCALE_LABELS[scale],
            "prompt": SCALE_PROMPTS[scale],
            "items": [{"item": i, "number": item_number(i), "text": TEXTS[i]} for i in items],
        }
        for scale, items in SCALES.items()
    ]


# --- staff ------------------------------------------------------------------------------------------------------


@login_required
def social_survey_list(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    status = request.GET.get("status", "")
    if status not in SocialSurveyStatus.values:
        status = ""
    surveys = selectors.social_surveys_visible(user=request.user, place=place, status=status).prefetch_related(
        "targets"
    )
    page = Paginator(surveys, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.status_counts(user=request.user, place=place)
    return render(
        request,
        "analytics/survey/list.html",
        {
            "place": place,
            "page": page,
            "status": status,
            "board": [{"status": s, "label": s.label, "count": counts.get(s, 0)} for s in SocialSurveyStatus],
            "total": sum(counts.values()),
            "can_add": request.user.has_perm(services.MANAGE, place),
        },
    )


@login_required
def social_survey_new(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm(services.MANAGE, place):
        raise PermissionDenied
    places = _target_places(place)
    form = SocialSurveyForm(request.POST or None, places=places)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            by_code = {p.code: p for p in places}
            try:
                survey = services.social_survey_create(
                    actor=request.user,
                    place=place,
                    title=data["title"],
                    targets=[by_code[c] for c in data["targets"]],
                    opens_on=data["opens_on"],
                    closes_on=data["closes_on"],
                )
                if data["open_now"] and data["opens_on"] <= timezone.localdate():
                    services.social_survey_open(actor=request.user, survey=survey)
            except DomainError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已保存社会资本调查：%(title)s") % {"title": survey.title})
                return redirect("social_survey_detail", survey_id=survey.pk)
        status = 400
    return render(
        request,
        "analytics/survey/form.html",
        {"form": form, "place": place, "instrument": instrument_rows()},
        status=status,
    )


@login_required
def social_survey_detail(request: HttpRequest, survey_id: Any) -> HttpResponse:
    survey = _survey_or_404(request, survey_id)
    results = selectors.social_survey_results(user=request.user, survey=survey)
    chart = {
        "items": [f"{r.number} {SHORT[r.item]}" for r in results.items],
        "texts": [r.text for r in results.items],
        "labels": [str(label) for _v, label in LIKERT],
        "counts": [[r.counts[v] for r in results.items] for v in range(len(LIKERT))],
    }
    return render(
        request,
        "analytics/survey/detail.html",
        {
            "survey": survey,
            "targets": selectors.social_survey_targets(survey=survey),
            "results": results,
            "scale_labels": [SCALE_LABELS[s] for s in SCALES],
            "likert": LIKERT,
            "chart": chart,
            "instrument": instrument_rows(),
            "accepting": services.accepting(survey),
        },
    )


@login_required
@require_POST
def social_survey_open(request: HttpRequest, survey_id: Any) -> HttpResponse:
    survey = _survey_or_404(request, survey_id)
    try:
        services.social_survey_open(actor=request.user, survey=survey)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("调查已开始收集，调查范围内的居民可以在手机上填写了"))
    return redirect("social_survey_detail", survey_id=survey.pk)


@login_required
@require_POST
def social_survey_close(request: HttpRequest, survey_id: Any) -> HttpResponse:
    survey = _survey_or_404(request, survey_id)
    try:
        services.social_survey_close(actor=request.user, survey=survey)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("调查已结束"))
    return redirect("social_survey_detail", survey_id=survey.pk)


# --- residents on their phones ----------------------------------------------------------------------------------


@login_required
def social_survey_mine(request: HttpRequest) -> HttpResponse:
    resident = selectors.current_resident(user=request.user)
    if resident is None:
        raise Http404(_("您还没有居民档案"))
    surveys = list(selectors.social_surveys_for_resident(user=request.user))
    for s in surveys:
        s.days_left = selectors.days_left(s)  # type: ignore[attr-defined]
    return render(request, "analytics/survey/mine.html", {"resident": resident, "surveys": surveys})


@login_required
def social_survey_answer(request: HttpRequest, survey_id: Any) -> HttpResponse:
    try:
        survey = selectors.social_survey_for_resident(user=request.user, survey_id=survey_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    mine = selectors.my_answers(user=request.user, survey=survey)
    initial = {item: str(v) for item, v in mine.values.items()} if mine else {}
    form = AnswerForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _rows, created = services.social_survey_answer(user=request.user, survey=survey, answers=form.answers())
            except DomainError as exc:
                apply_errors(form, exc)
            else:
                if created:
                    messages.success(request, _("谢谢您！您的回答已提交"))
                else:
                    messages.success(request, _("已更新您的回答（每份调查只保留您最新的回答）"))
                return redirect("social_survey_answer", survey_id=survey.pk)
        status = 400
    groups = [
        {"label": SCALE_LABELS[scale], "prompt": SCALE_PROMPTS[scale], "fields": [form[i] for i in items]}
        for scale, items in SCALES.items()
    ]
    missing = [{"item": item, "number": item_number(item)} for item in ITEMS if form.errors.get(item)]
    return render(
        request,
        "analytics/survey/answer.html",
        {
            "survey": survey,
            "form": form,
            "groups": groups,
            "mine": mine,
            "missing": missing,
            "accepting": services.accepting(survey),
        },
        status=status,
    )
