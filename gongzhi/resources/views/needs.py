"""Needs pages (需求): staff see, match and cancel needs; residents report needs on their phones and see what was done;
resource partners see the needs matched to them.

Thin views: parse the input, check a permission, call one service or selector, render. Fulfilling a need with an
activity and rating it are pages of ``gongzhi.activities.fulfilment`` (``need_fulfil``, ``need_rate``): ``resources``
does not import ``activities``; the pages here only link to them.

URL names: staff — need_list, need_new, need_detail, need_match, need_unmatch, need_cancel; residents — need_report,
need_mine, need_community, need_view; partners — need_partner_list.
"""

from __future__ import annotations

import uuid
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
from gongzhi.people import selectors as people_selectors
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import Need, NeedDirection, NeedStatus, Resource, ResourceKind
from ..rules import provider_ids
from ..selectors import needs as selectors
from ..services import needs as services

BOARD = [NeedStatus.OPEN, NeedStatus.MATCHED, NeedStatus.FULFILLED, NeedStatus.CANCELLED]
STAFF_PAGE = 50
PHONE_PAGE = 20


# --- forms (parsing only; the services decide) ------------------------------------------------------------------


class ReportForm(forms.Form):
    """A resident reports a need on their phone."""

    title = forms.CharField(
        label=gettext_lazy("需要什么"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：想学用智能手机挂号")}),
    )
    resource_kind = forms.ChoiceField(
        label=gettext_lazy("需要哪类帮助"), choices=ResourceKind.choices, initial=ResourceKind.COURSE
    )
    description = forms.CharField(
        label=gettext_lazy("详细说明"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": gettext_lazy("谁需要、多少人、遇到了什么困难")}),
    )
    preferred_time = forms.CharField(
        label=gettext_lazy("希望时间"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：周末上午")}),
    )


class StaffNeedForm(ReportForm):
    """Staff record a need for a community: a resident's report heard at the desk, or a survey finding."""

    community = forms.ChoiceField(label=gettext_lazy("社区"))
    direction = forms.ChoiceField(
        label=gettext_lazy("来源"), choices=NeedDirection.choices, initial=NeedDirection.REPORT
    )
    raised_on = forms.DateField(label=gettext_lazy("提出日期"), widget=forms.DateInput(attrs={"type": "date"}))

    field_order = ["community", "direction", "title", "resource_kind", "description", "preferred_time", "raised_on"]

    def __init__(self, *args: Any, communities: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [(p.code, p.name) for p in communities]  # type: ignore[attr-defined]
        self.initial.setdefault("raised_on", timezone.localdate())


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=300)


class MatchForm(forms.Form):
    resource = forms.UUIDField(label=gettext_lazy("资源"))


# --- helpers ----------------------------------------------------------------------------------------------------


def _need_or_404(request: HttpRequest, need_id: Any) -> Need:
    try:
        return selectors.need_get(user=request.user, need_id=need_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _managed(request: HttpRequest, need_id: Any) -> Need:
    need = _need_or_404(request, need_id)
    if not request.user.has_perm("resources.change_need", need):
        raise PermissionDenied
    return need


def _message(exc: DomainError) -> str:
    first = next((m for msgs in exc.fields.values() for m in msgs), "")
    if first and first != exc.message and exc.message.startswith(_("提交的信息有误")):
        return first
    return exc.message


def _record_communities(request: HttpRequest, place: Place) -> list[Place]:
    return [
        p
        for p in place_selectors.place_subtree(place=place, level="community")
        if request.user.has_perm("resources.add_need", p)
    ]


def _resident_or_404(request: HttpRequest) -> Any:
    resident = people_selectors.resident_of_user(user=request.user)
    if resident is None or resident.left_on is not None:
        raise Http404(_("您还没有居民档案"))
    return resident


def _status_filter(request: HttpRequest) -> str:
    status = request.GET.get("status", "")
    return status if status in NeedStatus.values else ""


# --- staff ------------------------------------------------------------------------------------------------------


@login_required
def need_list(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    status = _status_filter(request)
    kind = request.GET.get("kind", "")
    kind = kind if kind in ResourceKind.values else ""
    direction = request.GET.get("direction", "")
    direction = direction if direction in NeedDirection.values else ""
    q = request.GET.get("q", "")[:40]
    needs = selectors.needs_visible(
        user=request.user, place=place, status=status, kind=kind, direction=direction, search=q
    )
    page = Paginator(needs, STAFF_PAGE).get_page(request.GET.get("page"))
    counts = selectors.need_status_counts(user=request.user, place=place)
    board = [{"status": s, "label": s.label, "count": counts.get(s, 0)} for s in BOARD]
    keep = "&".join(f"{k}={v}" for k, v in (("kind", kind), ("direction", direction), ("q", q)) if v)
    return render(
        request,
        "resources/needs/need_list.html",
        {
            "place": place,
            "page": page,
            "board": board,
            "total": sum(counts.values()),
            "status": status,
            "kind": kind,
            "direction": direction,
            "q": q,
            "keep": keep,
            "kinds": ResourceKind.choices,
            "directions": NeedDirection.choices,
            "can_record": bool(_record_communities(request, place)),
        },
    )


@login_required
def need_new(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    communities = _record_communities(request, place)
    if not communities:
        raise PermissionDenied
    form = StaffNeedForm(request.POST or None, communities=communities)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        community = next(p for p in communities if p.code == data["community"])
        try:
            need, created = services.need_report(
                actor=request.user,
                community=community,
                title=data["title"],
                resource_kind=data["resource_kind"],
                description=data["description"],
                preferred_time=data["preferred_time"],
                direction=data["direction"],
                raised_on=data["raised_on"],
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            if created:
                messages.success(request, _("已登记需求：%(title)s") % {"title": need.title})
            else:
                messages.info(request, _("这条需求今天已经登记过了"))
            return redirect("need_detail", need_id=need.pk)
    return render(request, "resources/needs/need_form.html", {"form": form, "place": place, "staff": True})


def _staff_detail(request: HttpRequest, need: Need, status: int = 200, **bound: Any) -> HttpResponse:
    user = request.user
    is_open = need.status == NeedStatus.OPEN
    context = {
        "need": need,
        "candidates": selectors.need_candidates(user=user, need=need) if is_open else [],
        "activities": list(selectors.need_activities(need=need)),
        "summary": selectors.need_rating_summary(need=need),
        "ratings": selectors.need_ratings(user=user, need=need),
        "can_match": is_open,
        "can_unmatch": need.status == NeedStatus.MATCHED,
        "can_cancel": NeedStatus.CANCELLED in services.NEED_TRANSITIONS[NeedStatus(need.status)],
        "can_fulfil": need.status in (NeedStatus.MATCHED, NeedStatus.FULFILLED),
        "unmatch_form": bound.get("unmatch_form") or ReasonForm(prefix="unmatch"),
        "cancel_form": bound.get("cancel_form") or ReasonForm(prefix="cancel"),
    }
    return render(request, "resources/needs/need_detail.html", context, status=status)


@login_required
def need_detail(request: HttpRequest, need_id: uuid.UUID) -> HttpResponse:
    need = _need_or_404(request, need_id)
    if not request.user.has_perm("resources.change_need", need):
        return redirect("need_view", need_id=need.pk)
    return _staff_detail(request, need)


@login_required
@require_POST
def need_match(request: HttpRequest, need_id: uuid.UUID) -> HttpResponse:
    need = _need_or_404(request, need_id)
    if not request.user.has_perm("resources.match_need", need):
        raise PermissionDenied
    form = MatchForm(request.POST)
    resource = None
    if form.is_valid():
        resource = Resource.objects.filter(pk=form.cleaned_data["resource"]).first()
    if resource is None:
        messages.error(request, _("请从候选资源中选择一项"))
        return redirect("need_detail", need_id=need.pk)
    try:
        services.need_match(actor=request.user, need=need, resource=resource)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("已匹配：%(name)s") % {"name": resource.name})
    return redirect("need_detail", need_id=need.pk)


@login_required
@require_POST
def need_unmatch(request: HttpRequest, need_id: uuid.UUID) -> HttpResponse:
    need = _managed(request, need_id)
    form = ReasonForm(request.POST, prefix="unmatch")
    if form.is_valid():
        try:
            services.need_unmatch(actor=request.user, need=need, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            if "reason" in exc.fields:
                apply_errors(form, exc)
                return _staff_detail(request, need, status=400, unmatch_form=form)
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("已撤销匹配，需求回到待匹配"))
        return redirect("need_detail", need_id=need.pk)
    return _staff_detail(request, need, status=400, unmatch_form=form)


@login_required
@require_POST
def need_cancel(request: HttpRequest, need_id: uuid.UUID) -> HttpResponse:
    need = _managed(request, need_id)
    form = ReasonForm(request.POST, prefix="cancel")
    if form.is_valid():
        try:
            services.need_cancel(actor=request.user, need=need, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            if "reason" in exc.fields:
                apply_errors(form, exc)
                return _staff_detail(request, need, status=400, cancel_form=form)
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("已取消需求"))
        return redirect("need_detail", need_id=need.pk)
    return _staff_detail(request, need, status=400, cancel_form=form)


# --- residents on their phones ----------------------------------------------------------------------------------


@login_required
def need_report(request: HttpRequest) -> HttpResponse:
    resident = _resident_or_404(request)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            need, created = services.need_report(
                actor=request.user,
                community=resident.community,
                resident=resident,
                title=data["title"],
                resource_kind=data["resource_kind"],
                description=data["description"],
                preferred_time=data["preferred_time"],
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            if created:
                messages.success(request, _("需求已提交，社区会尽快为您对接资源"))
            else:
                messages.info(request, _("您今天已经反映过这条需求，不会重复提交"))
            return redirect("need_view", need_id=need.pk)
    return render(request, "resources/needs/need_form.html", {"form": form, "resident": resident, "staff": False})


@login_required
def need_mine(request: HttpRequest) -> HttpResponse:
    resident = _resident_or_404(request)
    status = _status_filter(request)
    needs = selectors.needs_of_resident(user=request.user, status=status)
    page = Paginator(needs, PHONE_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "resources/needs/need_mine.html",
        {"resident": resident, "page": page, "status": status, "statuses": NeedStatus.choices, "tab": "mine"},
    )


@login_required
def need_community(request: HttpRequest) -> HttpResponse:
    resident = _resident_or_404(request)
    status = _status_filter(request)
    needs = selectors.needs_of_my_community(user=request.user, status=status)
    page = Paginator(needs, PHONE_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "resources/needs/need_mine.html",
        {"resident": resident, "page": page, "status": status, "statuses": NeedStatus.choices, "tab": "community"},
    )


@login_required
def need_view(request: HttpRequest, need_id: uuid.UUID) -> HttpResponse:
    """A need as a resident (its raiser, a neighbour) or the matched partner sees it: what, status, what was done."""
    need = _need_or_404(request, need_id)
    user = request.user
    partner = need.resource_id is not None and need.resource.provider_id in provider_ids(user)  # type: ignore[union-attr]
    if user.has_perm("resources.change_need", need) and not partner:
        return redirect("need_detail", need_id=need.pk)
    need = selectors.need_get_for_resident(user=user, need_id=need.pk, need=need)
    return render(
        request,
        "resources/needs/need_view.html",
        {
            "need": need,
            "mine": need.raised_by is not None and need.raised_by.user_id == user.pk,
            "partner": partner,
            "summary": selectors.need_rating_summary(need=need),
            "ratings": selectors.need_ratings(user=user, need=need) if partner else [],
        },
    )


# --- resource partners ------------------------------------------------------------------------------------------


@login_required
def need_partner_list(request: HttpRequest) -> HttpResponse:
    if not provider_ids(request.user):
        raise PermissionDenied
    status = _status_filter(request)
    needs = selectors.needs_of_partner(user=request.user, status=status)
    page = Paginator(needs, STAFF_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "resources/needs/need_partner_list.html",
        {"page": page, "status": status, "statuses": NeedStatus.choices},
    )


urlpatterns: list[URLPattern] = [
    path("staff/needs/", need_list, name="need_list"),
    path("staff/needs/new/", need_new, name="need_new"),
    path("staff/needs/<uuid:need_id>/", need_detail, name="need_detail"),
    path("staff/needs/<uuid:need_id>/match/", need_match, name="need_match"),
    path("staff/needs/<uuid:need_id>/unmatch/", need_unmatch, name="need_unmatch"),
    path("staff/needs/<uuid:need_id>/cancel/", need_cancel, name="need_cancel"),
    path("me/needs/", need_mine, name="need_mine"),
    path("me/needs/new/", need_report, name="need_report"),
    path("me/needs/community/", need_community, name="need_community"),
    path("me/needs/<uuid:need_id>/", need_view, name="need_view"),
    path("partner/needs/", need_partner_list, name="need_partner_list"),
]
