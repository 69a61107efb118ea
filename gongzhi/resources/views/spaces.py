"""Learning-space pages (学习空间): the staff list with utilisation by week, a space's week calendar with the booking
form (one-off or weekly), cancellation. Resource partners reach the spaces their provider offers.

Thin views: parse the input, check a permission, call one service or selector, render.

URL names: space_list, space_new, space_detail, space_edit, booking_new, booking_cancel, booking_series_cancel.
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
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import LearningSpace, Resource
from ..rules import provider_ids
from ..selectors import providers as provider_selectors
from ..selectors import spaces as selectors
from ..services import spaces as services

PAGE_SIZE = 30
WEEKDAY_CHOICES = [(str(d), services.weekday_label(d)) for d in range(1, 8)]
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- forms (parsing only; the services decide) ------------------------------------------------------------------


class SpaceForm(forms.Form):
    place = forms.ChoiceField(label=gettext_lazy("所在街道/社区"))
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    address = forms.CharField(label=gettext_lazy("地址"), max_length=200, required=False)
    capacity = forms.IntegerField(label=gettext_lazy("容纳人数"), min_value=1, max_value=100000)
    opens_at = forms.TimeField(label=gettext_lazy("开放时间"), widget=TIME_WIDGET)
    closes_at = forms.TimeField(label=gettext_lazy("关闭时间"), widget=TIME_WIDGET)
    weekdays = forms.MultipleChoiceField(
        label=gettext_lazy("开放日"), choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    resource = forms.ChoiceField(
        label=gettext_lazy("提供资源"), required=False, help_text=gettext_lazy("由资源方提供的场地；社区自有场地留空")
    )
    active = forms.BooleanField(label=gettext_lazy("启用（可以预约）"), required=False, initial=True)

    def __init__(self, *args: Any, places: Any = (), venues: Any = (), editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["place"]
        else:
            del self.fields["active"]
            self.fields["place"].choices = [(p.code, p.name) for p in places]  # type: ignore[attr-defined]
        self.fields["resource"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(r.pk), f"{r.provider.name} · {r.name}") for r in venues
        ]
        self.initial.setdefault("weekdays", list("1234567"))
        self.initial.setdefault("opens_at", datetime.time(8, 30))
        self.initial.setdefault("closes_at", datetime.time(21, 0))


class BookingForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("用途"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：太极拳班、家长课堂")}),
    )
    date = forms.DateField(label=gettext_lazy("日期"), widget=DATE_WIDGET)
    starts_at = forms.TimeField(label=gettext_lazy("开始时间"), widget=TIME_WIDGET)
    ends_at = forms.TimeField(label=gettext_lazy("结束时间"), widget=TIME_WIDGET)
    repeat = forms.BooleanField(label=gettext_lazy("每周重复（同一星期几、同一时段）"), required=False)
    last_on = forms.DateField(
        label=gettext_lazy("重复到"),
        required=False,
        widget=DATE_WIDGET,
        help_text=gettext_lazy("每周预约：任何一周冲突，整组都不保存"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("repeat") and not data.get("last_on"):
            self.add_error("last_on", _("每周重复时请填写重复到哪一天"))
        return data


class CancelForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("取消原因"), max_length=200)


# --- helpers ----------------------------------------------------------------------------------------------------


def _space_or_404(request: HttpRequest, space_id: Any) -> LearningSpace:
    try:
        return selectors.space_get(user=request.user, space_id=space_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _scope(request: HttpRequest) -> Place | None:
    """The staff user's current place; a resource partner without one sees their provider's spaces."""
    place = getattr(request, "place", None)
    if place:
        return place
    if provider_ids(request.user):
        return None
    raise PermissionDenied(_("您没有可以工作的区划"))


def _space_places(request: HttpRequest, place: Place | None) -> list[Place]:
    """Streets and communities under the current place where the user may add a space."""
    if place is None:
        return []
    return [
        p
        for p in place_selectors.place_subtree(place=place).filter(level__in=services.SPACE_LEVELS)
        if request.user.has_perm("resources.add_learningspace", p)
    ]


def _venues(request: HttpRequest, place: Place | None) -> list[Resource]:
    return list(provider_selectors.resources_visible(user=request.user, place=place, kind="venue", active=True))


def _remap(exc: DomainError, mapping: dict[str, str]) -> DomainError:
    """A service's field names as the form's."""
    fields: dict[str, list[str]] = {}
    for name, msgs in exc.fields.items():
        fields.setdefault(mapping.get(name, name), []).extend(msgs)
    return DomainError(exc.message, fields=fields, code=exc.code)


def _week_param(request: HttpRequest) -> datetime.date:
    raw = request.GET.get("week", "")
    try:
        day = datetime.date.fromisoformat(raw) if raw else timezone.localdate()
    except ValueError:
        day = timezone.localdate()
    return selectors.week_start(day)


# --- staff: the list --------------------------------------------------------------------------------------------


@login_required
def space_list(request: HttpRequest) -> HttpResponse:
    place = _scope(request)
    show_inactive = request.GET.get("inactive") == "1"
    spaces = selectors.spaces_visible(user=request.user, place=place, active=None if show_inactive else True)
    page = Paginator(spaces, PAGE_SIZE).get_page(request.GET.get("page"))
    weeks = selectors.weeks_around(timezone.localdate())
    rows = selectors.space_utilisation(user=request.user, weeks=weeks, spaces=list(page.object_list))
    return render(
        request,
        "resources/spaces/space_list.html",
        {
            "place": place,
            "page": page,
            "rows": rows,
            "weeks": weeks,
            "this_week": selectors.week_start(timezone.localdate()),
            "totals": selectors.utilisation_totals(rows),
            "show_inactive": show_inactive,
            "can_add": bool(_space_places(request, place)),
        },
    )


@login_required
def space_new(request: HttpRequest) -> HttpResponse:
    place = _scope(request)
    places = _space_places(request, place)
    if not places:
        raise PermissionDenied
    venues = _venues(request, place)
    form = SpaceForm(request.POST or None, places=places, venues=venues)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen = next(p for p in places if p.code == data["place"])
        resource = next((r for r in venues if str(r.pk) == data["resource"]), None)
        try:
            space = services.space_create(
                actor=request.user,
                place=chosen,
                name=data["name"],
                address=data["address"],
                capacity=data["capacity"],
                opens_at=data["opens_at"],
                closes_at=data["closes_at"],
                weekdays=data["weekdays"],
                resource=resource,
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已添加学习空间：%(name)s") % {"name": space.name})
            return redirect("space_detail", space_id=space.pk)
    return render(request, "resources/spaces/space_form.html", {"form": form, "place": place, "space": None})


@login_required
def space_edit(request: HttpRequest, space_id: Any) -> HttpResponse:
    space = _space_or_404(request, space_id)
    if not request.user.has_perm("resources.change_learningspace", space):
        raise PermissionDenied
    venues = _venues(request, space.place)
    if space.resource is not None and all(r.pk != space.resource_id for r in venues):
        venues.insert(0, space.resource)
    initial = {
        "name": space.name,
        "address": space.address,
        "capacity": space.capacity,
        "opens_at": space.opens_at,
        "closes_at": space.closes_at,
        "weekdays": list(space.weekdays),
        "resource": str(space.resource_id or ""),
        "active": space.active,
    }
    form = SpaceForm(request.POST or None, initial=initial, venues=venues, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.space_update(
                actor=request.user,
                space=space,
                name=data["name"],
                address=data["address"],
                capacity=data["capacity"],
                opens_at=data["opens_at"],
                closes_at=data["closes_at"],
                weekdays=data["weekdays"],
                resource=next((r for r in venues if str(r.pk) == data["resource"]), None),
                active=data["active"],
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("space_detail", space_id=space.pk)
    return render(request, "resources/spaces/space_form.html", {"form": form, "place": space.place, "space": space})


# --- a space: the week and the booking form ---------------------------------------------------------------------


def _detail(
    request: HttpRequest,
    space: LearningSpace,
    monday: datetime.date,
    form: BookingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    if form is None:
        start = max(monday, today)
        form = BookingForm(
            initial={"date": start, "starts_at": space.opens_at, "last_on": start + datetime.timedelta(weeks=7)}
        )
    series = selectors.space_series(user=user, space=space)
    for s in series:
        s.day_label = services.weekday_label(s.weekday)  # type: ignore[attr-defined]
    use = selectors.space_utilisation(user=user, weeks=[monday], spaces=[space])
    week_use = use[0].weeks[0] if use and use[0].weeks else None
    context = {
        "space": space,
        "days": selectors.space_week(user=user, space=space, monday=monday),
        "monday": monday,
        "sunday": monday + datetime.timedelta(days=6),
        "prev_week": monday - datetime.timedelta(weeks=1),
        "next_week": monday + datetime.timedelta(weeks=1),
        "this_week": selectors.week_start(today),
        "week_use": week_use,
        "series": series,
        "form": form,
        "hours": f"{space.opens_at:%H:%M}–{space.closes_at:%H:%M}",
        "weekdays": services.weekdays_label(space.weekdays),
        "can_edit": user.has_perm("resources.change_learningspace", space),
        "now": timezone.now(),
    }
    return render(request, "resources/spaces/space_detail.html", context, status=status)


@login_required
def space_detail(request: HttpRequest, space_id: Any) -> HttpResponse:
    space = _space_or_404(request, space_id)
    return _detail(request, space, _week_param(request))


def _at(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


@login_required
@require_POST
def booking_new(request: HttpRequest, space_id: Any) -> HttpResponse:
    space = _space_or_404(request, space_id)
    form = BookingForm(request.POST)
    monday = selectors.week_start(timezone.localdate())
    if form.is_valid():
        data = form.cleaned_data
        monday = selectors.week_start(data["date"])
        try:
            if data["repeat"]:
                series = services.booking_series_create(
                    actor=request.user,
                    space=space,
                    title=data["title"],
                    weekday=data["date"].isoweekday(),
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    first_on=data["date"],
                    last_on=data["last_on"],
                )
                count = series.bookings.count()
                messages.success(
                    request,
                    _("已预约每周%(day)s %(start)s–%(end)s，共 %(n)d 次（%(first)s 至 %(last)s）")
                    % {
                        "day": services.weekday_label(series.weekday)[1:],
                        "start": f"{series.starts_at:%H:%M}",
                        "end": f"{series.ends_at:%H:%M}",
                        "n": count,
                        "first": series.first_on,
                        "last": series.last_on,
                    },
                )
            else:
                booking = services.booking_create(
                    actor=request.user,
                    space=space,
                    title=data["title"],
                    starts_at=_at(data["date"], data["starts_at"]),
                    ends_at=_at(data["date"], data["ends_at"]),
                )
                messages.success(
                    request,
                    _("已预约：%(title)s，%(span)s")
                    % {"title": booking.title, "span": services.span_label(booking.starts_at, booking.ends_at)},
                )
        except DomainError as exc:
            # A clash concerns the whole slot: shown above the form, not next to one field.
            mapping = {"weekday": "date", "first_on": "__all__"}
            if exc.code == "booking_overlap":
                mapping["starts_at"] = "__all__"
            apply_errors(form, _remap(exc, mapping))
        else:
            return redirect(f"{reverse('space_detail', kwargs={'space_id': space.pk})}?week={monday.isoformat()}")
    return _detail(request, space, monday, form=form, status=400)


def _back_to_week(space_id: Any, starts_at: datetime.datetime) -> HttpResponse:
    monday = selectors.week_start(timezone.localtime(starts_at).date())
    return redirect(f"{reverse('space_detail', kwargs={'space_id': space_id})}?week={monday.isoformat()}")


@login_required
@require_POST
def booking_cancel(request: HttpRequest, booking_id: Any) -> HttpResponse:
    try:
        booking = selectors.booking_get(user=request.user, booking_id=booking_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("取消预约时请填写原因（不超过 200 字）"))
    else:
        try:
            services.booking_cancel(actor=request.user, booking=booking, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已取消预约：%(title)s") % {"title": booking.title})
    return _back_to_week(booking.space_id, booking.starts_at)


@login_required
@require_POST
def booking_series_cancel(request: HttpRequest, series_id: Any) -> HttpResponse:
    try:
        series = selectors.series_get(user=request.user, series_id=series_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("取消预约时请填写原因（不超过 200 字）"))
    else:
        try:
            count = services.booking_series_cancel(
                actor=request.user, series=series, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已取消「%(title)s」余下的 %(n)d 次") % {"title": series.title, "n": count})
    return redirect("space_detail", space_id=series.space_id)


urlpatterns: list[URLPattern] = [
    path("staff/spaces/", space_list, name="space_list"),
    path("staff/spaces/new/", space_new, name="space_new"),
    path("staff/spaces/<uuid:space_id>/", space_detail, name="space_detail"),
    path("staff/spaces/<uuid:space_id>/edit/", space_edit, name="space_edit"),
    path("staff/spaces/<uuid:space_id>/bookings/", booking_new, name="booking_new"),
    path("staff/bookings/<uuid:booking_id>/cancel/", booking_cancel, name="booking_cancel"),
    path("staff/booking-series/<uuid:series_id>/cancel/", booking_series_cancel, name="booking_series_cancel"),
]
