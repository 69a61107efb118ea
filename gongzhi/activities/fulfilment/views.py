"""Fulfilment pages: staff fulfil a matched need with an activity (one already held, or recorded right here), and a
resident who came rates it on their phone. The need pages (``gongzhi.resources.views.needs``) link here.

URL names: need_fulfil (staff), need_rate (residents).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors
from gongzhi.resources.models import Need, NeedStatus
from gongzhi.resources.selectors import needs as need_selectors

from . import forms, selectors, services


def _managed_need(request: HttpRequest, need_id: Any) -> Need:
    try:
        need = need_selectors.need_get(user=request.user, need_id=need_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.user.has_perm("resources.change_need", need):
        raise PermissionDenied
    return need


@login_required
def need_fulfil(request: HttpRequest, need_id: uuid.UUID) -> HttpResponse:
    need = _managed_need(request, need_id)
    user = request.user
    activities = selectors.fulfil_activity_choices(user=user, need=need)
    places = selectors.fulfil_place_choices(user=user, need=need)
    initial = {"title": need.title, "place": need.community_id}
    existing_form = forms.ExistingActivityForm(prefix="existing", activities=activities)
    new_form = forms.NewActivityForm(prefix="new", places=places, initial=initial)
    mode = request.POST.get("mode", "")
    status = 200
    if request.method == "POST":
        if need.status not in (NeedStatus.MATCHED, NeedStatus.FULFILLED):
            messages.error(request, _("请先为需求匹配资源，再登记满足"))
            return redirect("need_detail", need_id=need.pk)
        if mode == "existing":
            existing_form = forms.ExistingActivityForm(request.POST, prefix="existing", activities=activities)
            if existing_form.is_valid():
                activity = next(a for a in activities if str(a.pk) == existing_form.cleaned_data["activity"])
                try:
                    _need, linked = services.need_fulfil(actor=user, need=need, activity=activity)
                except DomainError as exc:
                    apply_errors(existing_form, exc)
                else:
                    if linked:
                        messages.success(request, _("需求已满足：%(title)s") % {"title": activity.title})
                    else:
                        messages.info(request, _("该活动已经登记过"))
                    return redirect("need_detail", need_id=need.pk)
        elif mode == "new":
            new_form = forms.NewActivityForm(request.POST, prefix="new", places=places)
            if new_form.is_valid():
                data = new_form.cleaned_data
                place = next(p for p in places if p.code == data["place"])
                try:
                    _need, activity = services.need_fulfil_with_new_activity(
                        actor=user,
                        need=need,
                        place=place,
                        kind=data["kind"],
                        title=data["title"],
                        starts_at=data["starts_at"],
                        ends_at=data["ends_at"],
                        venue=data["venue"],
                        description=data["description"],
                    )
                except DomainError as exc:
                    apply_errors(new_form, exc)
                else:
                    messages.success(request, _("已登记活动，需求已满足：%(title)s") % {"title": activity.title})
                    return redirect("need_detail", need_id=need.pk)
        else:
            messages.error(request, _("请选择已举办的活动，或登记一场新活动"))
        status = 400
    return render(
        request,
        "activities/fulfilment/need_fulfil.html",
        {
            "need": need,
            "activities": activities,
            "places": places,
            "existing_form": existing_form,
            "new_form": new_form,
            "mode": mode,
            "can_fulfil": need.status in (NeedStatus.MATCHED, NeedStatus.FULFILLED),
        },
        status=status,
    )


@login_required
def need_rate(request: HttpRequest, need_id: uuid.UUID) -> HttpResponse:
    try:
        need = selectors.need_for_rating(user=request.user, need_id=need_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    state = selectors.rating_state(user=request.user, need=need)
    if state.resident is None:
        raise Http404(_("您还没有居民档案"))
    form = forms.RatingForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if state.rating is not None:
            messages.info(request, _("您已经评价过了，评价提交后不能修改"))
            return redirect("need_rate", need_id=need.pk)
        if form.is_valid():
            try:
                _rating, created = services.need_rate(
                    resident=state.resident,
                    need=need,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as exc:
                apply_errors(form, exc)
            else:
                if created:
                    messages.success(request, _("谢谢您的评价！"))
                else:
                    messages.info(request, _("您已经评价过了，评价提交后不能修改"))
                return redirect("need_rate", need_id=need.pk)
        status = 400
    return render(
        request,
        "activities/fulfilment/need_rate.html",
        {
            "need": need,
            "state": state,
            "form": form,
            "summary": need_selectors.need_rating_summary(need=need),
            "sees_need": request.user.has_perm("resources.view_need", need),
        },
        status=status,
    )


urlpatterns: list[URLPattern] = [
    path("staff/needs/<uuid:need_id>/fulfil/", need_fulfil, name="need_fulfil"),
    path("me/needs/<uuid:need_id>/rate/", need_rate, name="need_rate"),
]
