"""Needs-survey pages (需求调查): staff send a survey to streets and communities, open and close it, see the results
(bar charts and tables) and turn the top topics into needs; residents answer on their phones.

Thin views: parse the input, check a permission, call one service or selector, render.

URL names: staff — survey_list, survey_new, survey_detail, survey_open, survey_close, survey_needs; residents —
survey_mine, survey_answer.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors, staff_place
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import NeedsSurvey, ResourceKind, SurveyStatus
from ..selectors import surveys as selectors
from ..services import surveys as services

PAGE_SIZE = 30
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- forms (parsing only; the services decide) ------------------------------------------------------------------


class SurveyForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("标题"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：2026 年春季社区学习需求调查")}),
    )
    intro = forms.CharField(
        label=gettext_lazy("说明"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": gettext_lazy("告诉居民为什么做这次调查、结果怎么用")}),
    )
    topics = forms.CharField(
        label=gettext_lazy("主题选项"),
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 6, "placeholder": gettext_lazy("每行一个，如：\n智能手机使用\n防范电信诈骗\n家庭教育")}
        ),
        help_text=gettext_lazy("每行一个，最多 20 个；居民还可以写下自己想学的"),
    )
    targets = forms.MultipleChoiceField(
        label=gettext_lazy("调查范围"),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("选街道即包括该街道的所有社区"),
    )
    opens_on = forms.DateField(label=gettext_lazy("开始日期"), widget=DATE_WIDGET)
    closes_on = forms.DateField(label=gettext_lazy("截止日期"), widget=DATE_WIDGET)
    open_now = forms.BooleanField(label=gettext_lazy("保存后立即开始收集"), required=False, initial=True)

    def __init__(self, *args: Any, places: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["targets"].choices = [  # type: ignore[attr-defined]
            (p.code, p.name if p.level == "street" else f"　{p.name}") for p in places
        ]
        today = timezone.localdate()
        self.initial.setdefault("opens_on", today)
        self.initial.setdefault("closes_on", today + datetime.timedelta(days=14))


class AnswerForm(forms.Form):
    topics = forms.MultipleChoiceField(
        label=gettext_lazy("您想学什么？（可多选）"), required=False, widget=forms.CheckboxSelectMultiple
    )
    own_topic = forms.CharField(
        label=gettext_lazy("还想学别的？写下来"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：太极拳")}),
    )
    times = forms.MultipleChoiceField(
        label=gettext_lazy("什么时间方便？"),
        required=False,
        choices=services.TIME_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    places = forms.MultipleChoiceField(
        label=gettext_lazy("在哪里学方便？"),
        required=False,
        choices=services.PLACE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    other = forms.CharField(
        label=gettext_lazy("其他建议"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, survey: NeedsSurvey, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["topics"].choices = [(t, t) for t in survey.topics]  # type: ignore[attr-defined]


KIND_CHOICES = [("", gettext_lazy("不转为需求")), *ResourceKind.choices]


# --- helpers ----------------------------------------------------------------------------------------------------


def _survey_or_404(request: HttpRequest, survey_id: Any) -> NeedsSurvey:
    try:
        return selectors.survey_get(user=request.user, survey_id=survey_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _managed(request: HttpRequest, survey_id: Any) -> NeedsSurvey:
    survey = _survey_or_404(request, survey_id)
    if not request.user.has_perm("resources.change_needssurvey", survey):
        raise PermissionDenied
    return survey


def _target_places(place: Place) -> list[Place]:
    """Streets and communities the survey may be sent to: inside the current place, each street followed by its
    communities."""
    if place.level == "community":
        return [place]
    return list(place_selectors.place_subtree(place=place).filter(level__in=services.TARGET_LEVELS))


def _chart(tallies: list[Any]) -> dict[str, list[Any]]:
    return {
        "labels": [t.label for t in tallies],
        "counts": [t.count for t in tallies],
        "own": [t.own for t in tallies],
    }


# --- staff ------------------------------------------------------------------------------------------------------


@login_required
def survey_list(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    status = request.GET.get("status", "")
    if status not in SurveyStatus.values:
        status = ""
    surveys = selectors.surveys_visible(user=request.user, place=place, status=status)
    page = Paginator(surveys, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.survey_status_counts(user=request.user, place=place)
    return render(
        request,
        "resources/surveys/survey_list.html",
        {
            "place": place,
            "page": page,
            "status": status,
            "board": [{"status": s, "label": s.label, "count": counts.get(s, 0)} for s in SurveyStatus],
            "total": sum(counts.values()),
            "can_add": request.user.has_perm("resources.add_needssurvey", place),
        },
    )


@login_required
def survey_new(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm("resources.add_needssurvey", place):
        raise PermissionDenied
    places = _target_places(place)
    form = SurveyForm(request.POST or None, places=places)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        by_code = {p.code: p for p in places}
        try:
            survey = services.survey_create(
                actor=request.user,
                place=place,
                title=data["title"],
                intro=data["intro"],
                targets=[by_code[c] for c in data["targets"]],
                topics=data["topics"],
                opens_on=data["opens_on"],
                closes_on=data["closes_on"],
            )
            if data["open_now"] and data["opens_on"] <= timezone.localdate():
                services.survey_open(actor=request.user, survey=survey)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存需求调查：%(title)s") % {"title": survey.title})
            return redirect("survey_detail", survey_id=survey.pk)
    return render(request, "resources/surveys/survey_form.html", {"form": form, "place": place})


def _detail(request: HttpRequest, survey: NeedsSurvey, status: int = 200, needs_error: str = "") -> HttpResponse:
    community = request.GET.get("community", "")
    results = selectors.survey_results(user=request.user, survey=survey, community=community)
    overall = results if not community else selectors.survey_results(user=request.user, survey=survey)
    context = {
        "survey": survey,
        "targets": selectors.survey_targets(survey=survey),
        "results": results,
        "overall": overall,
        "community": community,
        "community_name": next((c.name for c in overall.communities if c.code == community), ""),
        "charts": {
            "topics": _chart(results.topics),
            "times": _chart(results.times),
            "places": _chart(results.places),
        },
        "kinds": KIND_CHOICES,
        "can_manage": request.user.has_perm("resources.change_needssurvey", survey),
        "accepting": services.accepting(survey),
        "today": timezone.localdate(),
        "needs_error": needs_error,
    }
    return render(request, "resources/surveys/survey_detail.html", context, status=status)


@login_required
def survey_detail(request: HttpRequest, survey_id: Any) -> HttpResponse:
    return _detail(request, _survey_or_404(request, survey_id))


@login_required
@require_POST
def survey_open(request: HttpRequest, survey_id: Any) -> HttpResponse:
    survey = _managed(request, survey_id)
    try:
        services.survey_open(actor=request.user, survey=survey)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("调查已开始收集，调查范围内的居民可以在手机上填写了"))
    return redirect("survey_detail", survey_id=survey.pk)


@login_required
@require_POST
def survey_close(request: HttpRequest, survey_id: Any) -> HttpResponse:
    survey = _managed(request, survey_id)
    try:
        services.survey_close(actor=request.user, survey=survey)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("调查已结束"))
    return redirect("survey_detail", survey_id=survey.pk)


@login_required
@require_POST
def survey_needs(request: HttpRequest, survey_id: Any) -> HttpResponse:
    """The results' topics the staff chose (a resource kind picked next to a topic) become needs."""
    survey = _managed(request, survey_id)
    picked = [
        (topic, request.POST.get(f"kind-{i}", ""))
        for i, topic in enumerate(request.POST.getlist("topic"))
        if request.POST.get(f"kind-{i}", "")
    ]
    try:
        min_count = int(request.POST.get("min_count", "1") or 1)
    except ValueError:
        min_count = 0
    if not picked:
        return _detail(request, survey, status=400, needs_error=_("请至少为一个主题选择所需资源类型"))
    try:
        made = services.survey_needs_create(actor=request.user, survey=survey, topics=picked, min_count=min_count)
    except DomainError as exc:
        message = next((m for msgs in exc.fields.values() for m in msgs), exc.message)
        return _detail(request, survey, status=400, needs_error=message)
    if made:
        messages.success(request, _("已生成 %(n)d 条需求，可以到「需求」中匹配资源") % {"n": len(made)})
    else:
        messages.info(request, _("没有新的需求：所选主题已经生成过需求，或未达到人数"))
    return redirect("survey_detail", survey_id=survey.pk)


# --- residents on their phones ----------------------------------------------------------------------------------


@login_required
def survey_mine(request: HttpRequest) -> HttpResponse:
    resident = selectors.current_resident(user=request.user)
    if resident is None:
        raise Http404(_("您还没有居民档案"))
    surveys = list(selectors.surveys_for_resident(user=request.user))
    for s in surveys:
        s.days_left = selectors.days_left(s)  # type: ignore[attr-defined]
    return render(request, "resources/surveys/survey_mine.html", {"resident": resident, "surveys": surveys})


@login_required
def survey_answer(request: HttpRequest, survey_id: Any) -> HttpResponse:
    try:
        survey = selectors.survey_for_resident(user=request.user, survey_id=survey_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    mine = selectors.my_response(user=request.user, survey=survey)
    initial: dict[str, Any] = {}
    if mine is not None:
        initial = {
            "topics": [t for t in mine.topics if t in survey.topics],
            "own_topic": next((t for t in mine.topics if t not in survey.topics), ""),
            "times": mine.times,
            "places": mine.places,
            "other": mine.other,
        }
    accepting = services.accepting(survey)
    form = AnswerForm(request.POST or None, initial=initial, survey=survey)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                _response, created = services.survey_answer(
                    user=request.user,
                    survey=survey,
                    topics=data["topics"],
                    own_topic=data["own_topic"],
                    times=data["times"],
                    places=data["places"],
                    other=data["other"],
                )
            except DomainError as exc:
                apply_errors(form, exc)
            else:
                if created:
                    messages.success(request, _("谢谢您！您的回答已提交"))
                else:
                    messages.success(request, _("已更新您的回答（每人只保留最新的一份）"))
                return redirect("survey_answer", survey_id=survey.pk)
        status = 400
    return render(
        request,
        "resources/surveys/survey_answer.html",
        {"survey": survey, "form": form, "mine": mine, "accepting": accepting},
        status=status,
    )


urlpatterns: list[URLPattern] = [
    path("staff/surveys/", survey_list, name="survey_list"),
    path("staff/surveys/new/", survey_new, name="survey_new"),
    path("staff/surveys/<uuid:survey_id>/", survey_detail, name="survey_detail"),
    path("staff/surveys/<uuid:survey_id>/open/", survey_open, name="survey_open"),
    path("staff/surveys/<uuid:survey_id>/close/", survey_close, name="survey_close"),
    path("staff/surveys/<uuid:survey_id>/needs/", survey_needs, name="survey_needs"),
    path("me/surveys/", survey_mine, name="survey_mine"),
    path("me/surveys/<uuid:survey_id>/", survey_answer, name="survey_answer"),
]
