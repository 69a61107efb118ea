"""Pages of activities and check-in. Thin: parse input, check a permission, call one service or selector, render."""

from __future__ import annotations

import datetime
import time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors as _apply_errors
from gongzhi.core.pages import staff_place as _staff_place
from gongzhi.people import selectors as people_selectors
from gongzhi.places import selectors as place_selectors

from . import forms, qr, resource_use, selectors, services
from .models import Activity, ActivityKind, AttendanceStatus

# A token verified fresh before the resident logged in stays good for this long (typing a password takes a while).
LOGIN_GRACE_SECONDS = 600
GRACE_KEY = "gongzhi_checkin_grace"
QR_REFRESH_SECONDS = 5


def _activity(request: HttpRequest, activity_id: Any, perm: str = "activities.view_activity") -> Activity:
    try:
        activity = selectors.activity_get(user=request.user, activity_id=activity_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if perm != "activities.view_activity" and not request.user.has_perm(perm, activity):
        raise PermissionDenied
    return activity


# --- staff: activities ------------------------------------------------------------------------------------------


@login_required
def activity_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("activities.use_activity_pages"):
        raise PermissionDenied
    place = request.place or None  # type: ignore[attr-defined]
    kind = request.GET.get("kind", "")
    if kind not in ActivityKind.values:
        kind = ""
    day = parse_date(request.GET.get("date", "") or "") if len(request.GET.get("date", "")) == 10 else None
    activities = selectors.activities_visible(user=request.user, place=place, kind=kind, date_from=day)
    page = Paginator(activities, 50).get_page(request.GET.get("page"))
    may_add = place is not None and request.user.has_perm("activities.add_activity", place)
    return render(
        request,
        "activities/activity_list.html",
        {
            "place": place,
            "page": page,
            "kind": kind,
            "kinds": ActivityKind.choices,
            "date": day.isoformat() if day else "",
            "may_add": may_add,
        },
    )


FORM_CHOICES_LIMIT = 300


@login_required
def activity_new(request: HttpRequest) -> HttpResponse:
    place = request.place or None  # type: ignore[attr-defined]
    if place is None:
        raise PermissionDenied
    places = [
        p
        for p in place_selectors.place_subtree(place=place).filter(level__in=["street", "community"])[:1000]
        if request.user.has_perm("activities.add_activity", p)
    ]
    if not places:
        raise PermissionDenied
    spaces = [
        s
        for s in resource_use.spaces_for_activity(user=request.user, place=place)[:FORM_CHOICES_LIMIT]
        if request.user.has_perm("resources.book_learningspace", s)
    ]
    resources = list(resource_use.resources_for_activity(user=request.user, place=place)[:FORM_CHOICES_LIMIT])
    form = forms.ActivityForm(request.POST or None, places=places, spaces=spaces, resources=resources)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        target = next(p for p in places if p.code == data["place"])
        try:
            activity = services.activity_create(
                actor=request.user,
                place=target,
                kind=data["kind"],
                title=data["title"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                venue=data["venue"],
                capacity=data["capacity"],
                mode=data["mode"],
                description=data["description"],
                space=form.chosen_space(),
                resources=form.chosen_resources(),
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已创建活动"))
            return redirect("activity_detail", activity_id=activity.pk)
    return render(request, "activities/activity_form.html", {"form": form, "place": place, "title": _("新建活动")})


@login_required
def activity_detail(request: HttpRequest, activity_id: Any) -> HttpResponse:
    activity = _activity(request, activity_id)
    opens, closes = qr.window(activity)
    return render(
        request,
        "activities/activity_detail.html",
        {
            "activity": activity,
            "present": selectors.present_count(activity=activity),
            "opens": opens,
            "closes": closes,
            "window_state": qr.window_state(activity),
            "may_mark": request.user.has_perm("activities.mark_attendance", activity),
            "use": resource_use.activity_use(user=request.user, activity=activity),
        },
    )


# --- staff: the resource network --------------------------------------------------------------------------------

NETWORK_DEFAULT_DAYS = 365


@login_required
def resource_network(request: HttpRequest) -> HttpResponse:
    """Which providers reach which communities of the current place, over a date range (a year by default)."""
    place = _staff_place(request)
    today = timezone.localdate()
    date_to = _date_param(request, "to") or today
    date_from = _date_param(request, "from") or date_to - datetime.timedelta(days=NETWORK_DEFAULT_DAYS)
    error = ""
    if date_from > date_to:
        error = _("开始日期不能晚于结束日期")
        date_from, date_to = date_to - datetime.timedelta(days=NETWORK_DEFAULT_DAYS), date_to
    try:
        network = resource_use.resource_network(user=request.user, place=place, date_from=date_from, date_to=date_to)
    except NotFound as exc:
        raise PermissionDenied(exc.message) from exc
    return render(
        request,
        "activities/resource_network.html",
        {"place": place, "network": network, "chart": network.chart(), "error": error},
        status=400 if error else 200,
    )


def _date_param(request: HttpRequest, name: str) -> datetime.date | None:
    raw = request.GET.get(name, "")
    try:
        return parse_date(raw) if len(raw) == 10 else None
    except ValueError:
        return None


# --- staff: the QR screen ---------------------------------------------------------------------------------------


def _qr_context(request: HttpRequest, activity: Activity) -> dict[str, Any]:
    token = qr.issue(activity.pk)
    url = request.build_absolute_uri(reverse("checkin", kwargs={"token": token}))
    return {
        "activity": activity,
        "token_url": url,
        "svg": qr.svg(url),
        "present": selectors.present_count(activity=activity),
        "window_state": qr.window_state(activity),
        "refresh": QR_REFRESH_SECONDS,
    }


@login_required
def activity_qr(request: HttpRequest, activity_id: Any) -> HttpResponse:
    activity = _activity(request, activity_id, "activities.mark_attendance")
    return render(request, "activities/activity_qr.html", _qr_context(request, activity))


@login_required
def activity_qr_frame(request: HttpRequest, activity_id: Any) -> HttpResponse:
    activity = _activity(request, activity_id, "activities.mark_attendance")
    response = render(request, "activities/_qr_frame.html", _qr_context(request, activity))
    response["Cache-Control"] = "no-store"
    return response


# --- staff: the roster ------------------------------------------------------------------------------------------


@login_required
def activity_roster(request: HttpRequest, activity_id: Any) -> HttpResponse:
    activity = _activity(request, activity_id, "activities.mark_attendance")
    rows = selectors.roster(user=request.user, activity=activity)
    present = sum(1 for r in rows if r.status == AttendanceStatus.PRESENT)
    return render(
        request,
        "activities/roster.html",
        {"activity": activity, "rows": rows, "present": present, "statuses": AttendanceStatus.choices},
    )


@login_required
@require_POST
def roster_mark(request: HttpRequest, activity_id: Any, resident_id: Any) -> HttpResponse:
    activity = _activity(request, activity_id, "activities.mark_attendance")
    try:
        row = selectors.roster_row(user=request.user, activity=activity, resident_id=resident_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    status = request.POST.get("status", "")
    error = ""
    try:
        attendance, _created = services.roster_mark(
            actor=request.user, activity=activity, resident=row.resident, status=status
        )
        row.attendance = attendance
    except DomainError as exc:
        error = exc.message
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        return redirect("activity_roster", activity_id=activity.pk)
    return render(
        request,
        "activities/_roster_row.html",
        {"activity": activity, "row": row, "statuses": AttendanceStatus.choices, "error": error},
        status=400 if error else 200,
    )


# --- staff: the paper sheet -------------------------------------------------------------------------------------


@login_required
def activity_paper(request: HttpRequest, activity_id: Any) -> HttpResponse:
    activity = _activity(request, activity_id, "activities.mark_attendance")
    text_form = forms.PaperTextForm(request.POST if request.POST.get("action") == "text" else None)
    file_form = forms.PaperFileForm(
        request.POST if request.POST.get("action") == "file" else None,
        request.FILES if request.POST.get("action") == "file" else None,
    )
    sheet_errors: list[str] = []
    if request.method == "POST":
        result = None
        try:
            if request.POST.get("action") == "text" and text_form.is_valid():
                rows = services.paper_rows_from_text(text_form.cleaned_data["lines"])
                result = services.paper_sheet_record(actor=request.user, activity=activity, rows=rows)
            elif request.POST.get("action") == "file" and file_form.is_valid():
                result = services.paper_sheet_import_xlsx(
                    actor=request.user, activity=activity, file=file_form.cleaned_data["file"]
                )
        except DomainError as exc:
            sheet_errors = [exc.message, *exc.fields.get("rows", [])]
            for name, msgs in exc.fields.items():
                if name != "rows":
                    sheet_errors.extend(msgs)
        if result is not None:
            messages.success(
                request,
                _("已保存 %(total)s 人：新增 %(created)s，修改 %(updated)s，未变 %(unchanged)s")
                % {
                    "total": result.total,
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                },
            )
            return redirect("activity_roster", activity_id=activity.pk)
    return render(
        request,
        "activities/paper.html",
        {"activity": activity, "text_form": text_form, "file_form": file_form, "sheet_errors": sheet_errors},
        status=400 if sheet_errors else 200,
    )


@login_required
def paper_template(request: HttpRequest, activity_id: Any) -> HttpResponse:
    activity = _activity(request, activity_id, "activities.mark_attendance")
    response = HttpResponse(
        services.paper_sheet_template(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="checkin-{activity.ref}.xlsx"'
    return response


# --- residents: scan to check in --------------------------------------------------------------------------------


def checkin(request: HttpRequest, token: str) -> HttpResponse:
    """The URL inside the QR code. Logged out: check the token, remember it for a while, and send to the login page."""
    if not request.user.is_authenticated:
        try:
            services.checkin_token_check(token=token)
        except DomainError as exc:
            return render(request, "activities/checkin_result.html", {"error": exc.message}, status=400)
        request.session[GRACE_KEY] = {"token": token, "until": time.time() + LOGIN_GRACE_SECONDS}
        return redirect_to_login(request.get_full_path())
    grace = request.session.get(GRACE_KEY) or {}
    accept_expired = grace.get("token") == token and float(grace.get("until", 0)) > time.time()
    try:
        attendance, created = services.checkin_by_qr(user=request.user, token=token, accept_expired=accept_expired)
    except DomainError as exc:
        return render(request, "activities/checkin_result.html", {"error": exc.message}, status=400)
    request.session.pop(GRACE_KEY, None)
    return render(
        request,
        "activities/checkin_result.html",
        {"attendance": attendance, "activity": attendance.activity, "created": created},
    )


@login_required
def my_activities(request: HttpRequest) -> HttpResponse:
    resident = people_selectors.resident_of_user(user=request.user)
    if resident is None:
        raise Http404
    history = selectors.attendance_of_resident(user=request.user, resident=resident)
    page = Paginator(history, 30).get_page(request.GET.get("page"))
    return render(request, "activities/my_activities.html", {"page": page, "today": timezone.localdate()})
