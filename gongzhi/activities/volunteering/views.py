"""Pages of 育 volunteering. Thin: parse input, check a permission, call one service or selector, render.

Residents (phone): open events near them with sign-up, "my hours", the certificate of service (志愿服务证明) and its
XLSX export. Team leaders and staff: their teams (staff: with hours per year), a team's events, an event's sign-ups
and hours (recorded in one form), hours to confirm, corrections.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors
from gongzhi.people import access
from gongzhi.people import selectors as people_selectors

from . import forms, selectors, services
from .record_export import entry_state, service_record_xlsx, state_label

PAGE = 50


def _resident(request: HttpRequest) -> Any:
    resident = people_selectors.resident_of_user(user=request.user)
    if resident is None:
        raise Http404(_("您还没有居民档案"))
    return resident


def _or_404(fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


def hours_text(value: Decimal) -> str:
    """3.00 → "3", 2.50 → "2.5" (for messages)."""
    return format(Decimal(value).normalize(), "f")


def _decorate(entries: list[Any]) -> list[Any]:
    for e in entries:
        e.state = entry_state(e)
        e.state_label = state_label(e.state)
    return entries


# --- residents --------------------------------------------------------------------------------------------------


@login_required
def volunteer_home(request: HttpRequest) -> HttpResponse:
    resident = _resident(request)
    events = selectors.events_open_for(user=request.user, resident=resident, not_signed_up=True)
    page = Paginator(events, 20).get_page(request.GET.get("page"))
    record = selectors.service_record(user=request.user, resident=resident)
    this_year = timezone.localdate().year
    return render(
        request,
        "activities/volunteering/home.html",
        {
            "resident": resident,
            "page": page,
            "signups": list(selectors.my_signups(user=request.user, resident=resident)[:50]),
            "record": record,
            "this_year": this_year,
            "this_year_hours": sum((x.confirmed for x in record.lines if x.year == this_year), Decimal(0)),
        },
    )


@login_required
@require_POST
def volunteer_signup(request: HttpRequest, activity_id: Any) -> HttpResponse:
    resident = _resident(request)
    activity = _or_404(selectors.open_event_get, user=request.user, activity_id=activity_id)
    try:
        _signup, created = services.signup_create(resident=resident, activity=activity)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(request, _("已报名：%(title)s") % {"title": activity.title})
        else:
            messages.info(request, _("您已经报过名了：%(title)s") % {"title": activity.title})
    return _back(request, reverse("volunteer_home"))


@login_required
@require_POST
def volunteer_signup_cancel(request: HttpRequest, activity_id: Any) -> HttpResponse:
    resident = _resident(request)
    activity = _or_404(selectors.open_event_get, user=request.user, activity_id=activity_id)
    try:
        cancelled = services.signup_cancel(resident=resident, activity=activity)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if cancelled is not None:
            messages.success(request, _("已取消报名：%(title)s") % {"title": activity.title})
    return _back(request, reverse("volunteer_home"))


@login_required
def volunteer_my_hours(request: HttpRequest) -> HttpResponse:
    resident = _resident(request)
    record = selectors.service_record(user=request.user, resident=resident)
    entries = selectors.entries_of_resident(user=request.user, resident=resident)
    page = Paginator(entries, 30).get_page(request.GET.get("page"))
    _decorate(list(page.object_list))
    return render(
        request,
        "activities/volunteering/my_hours.html",
        {"resident": resident, "record": record, "page": page},
    )


@login_required
def volunteer_certificate(request: HttpRequest) -> HttpResponse:
    resident = _resident(request)
    record = selectors.service_record(user=request.user, resident=resident)
    lines = record.confirmed_lines()
    years = sorted({line.year for line in lines})
    community = resident.community
    street = community.parent if community.parent_id else None
    return render(
        request,
        "activities/volunteering/certificate.html",
        {
            "resident": resident,
            "name": resident.name or resident.ref,
            "lines": lines,
            "total": sum((line.confirmed for line in lines), Decimal(0)),
            "first_year": years[0] if years else None,
            "last_year": years[-1] if years else None,
            "teams": sorted({line.team_name for line in lines}),
            "issuer": f"{street.name if street else ''}{community.name}",
            "street": street,
            "community": community,
            "today": timezone.localdate(),
        },
    )


@login_required
def volunteer_record_xlsx(request: HttpRequest) -> HttpResponse:
    resident = _resident(request)
    record = selectors.service_record(user=request.user, resident=resident)
    entries = list(selectors.entries_of_resident(user=request.user, resident=resident))
    selectors.entries_with_corrections(entries)
    body = service_record_xlsx(name=resident.name or resident.ref, record=record, entries=entries)
    response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="volunteer-record-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


# --- leaders and staff: teams -----------------------------------------------------------------------------------


def _pages_for_team_runners(request: HttpRequest) -> None:
    if not request.user.has_perm("activities.use_volunteer_pages"):
        raise PermissionDenied


@login_required
def volunteer_teams(request: HttpRequest) -> HttpResponse:
    _pages_for_team_runners(request)
    is_staff = access.is_staff(request.user)
    place = (request.place or None) if is_staff else None  # type: ignore[attr-defined]
    teams = selectors.teams_managed(user=request.user, place=place)
    page = Paginator(teams, PAGE).get_page(request.GET.get("page"))
    ids = [t.pk for t in page.object_list]
    totals = selectors.team_hours_by_year(user=request.user, team_ids=ids)
    pending = selectors.team_pending_counts(team_ids=ids, exclude_user=request.user)
    this_year = timezone.localdate().year
    years = sorted({y for by_year in totals.values() for y in by_year} | {this_year}, reverse=True)[:4]
    rows = [
        {
            "team": t,
            "years": [totals.get(t.pk, {}).get(y, Decimal(0)) for y in years],
            "total": sum(totals.get(t.pk, {}).values(), Decimal(0)),
            "pending": pending.get(t.pk, 0),
        }
        for t in page.object_list
    ]
    return render(
        request,
        "activities/volunteering/teams.html",
        {"page": page, "rows": rows, "years": years, "place": place, "is_staff": is_staff},
    )


@login_required
def volunteer_team(request: HttpRequest, team_id: Any) -> HttpResponse:
    team = _or_404(selectors.team_get, user=request.user, team_id=team_id)
    events = selectors.team_events(user=request.user, team=team)
    page = Paginator(events, PAGE).get_page(request.GET.get("page"))
    totals = selectors.team_hours_by_year(user=request.user, team_ids=[team.pk]).get(team.pk, {})
    return render(
        request,
        "activities/volunteering/team.html",
        {
            "team": team,
            "page": page,
            "totals": sorted(totals.items(), reverse=True),
            "to_confirm": selectors.team_pending_counts(team_ids=[team.pk], exclude_user=request.user).get(team.pk, 0),
            "member_count": selectors.team_members(team=team).count(),
            "now": timezone.now(),
        },
    )


@login_required
def volunteer_event_new(request: HttpRequest, team_id: Any) -> HttpResponse:
    team = _or_404(selectors.team_get, user=request.user, team_id=team_id)
    form = forms.EventForm(request.POST or None, initial={"signup_open": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            activity = services.volunteer_event_create(
                actor=request.user,
                team=team,
                title=data["title"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                venue=data["venue"],
                capacity=data["capacity"],
                description=data["description"],
                signup_open=data["signup_open"],
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已发布志愿服务活动：%(title)s") % {"title": activity.title})
            return redirect("volunteer_event", activity_id=activity.pk)
    return render(
        request,
        "activities/volunteering/event_form.html",
        {"team": team, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def volunteer_hours_new(request: HttpRequest, team_id: Any) -> HttpResponse:
    """Hours without an event (a member's service on a date)."""
    team = _or_404(selectors.team_get, user=request.user, team_id=team_id)
    members = list(selectors.team_members(team=team)[:500])
    form = forms.HoursForm(request.POST or None, members=members)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        resident = next(r for r in members if str(r.pk) == data["resident"])
        try:
            entry, created = services.volunteer_hours_record(
                actor=request.user,
                team=team,
                resident=resident,
                hours=data["hours"],
                served_on=data["served_on"],
                note=data["note"],
                confirm=data["confirm"],
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            if not created:
                messages.info(request, _("这条记录已经存在，没有重复记录"))
            elif entry.confirmed_at:
                messages.success(request, _("已记录并确认 %(h)s 小时") % {"h": hours_text(entry.hours)})
            else:
                messages.success(request, _("已记录 %(h)s 小时，等待确认") % {"h": hours_text(entry.hours)})
            return redirect("volunteer_team", team_id=team.pk)
    return render(
        request,
        "activities/volunteering/hours_form.html",
        {"team": team, "form": form},
        status=400 if form.errors else 200,
    )


# --- leaders and staff: an event --------------------------------------------------------------------------------


@login_required
def volunteer_event(request: HttpRequest, activity_id: Any) -> HttpResponse:
    activity = _or_404(selectors.event_get, user=request.user, activity_id=activity_id)
    rows = selectors.event_rows(user=request.user, activity=activity)
    for row in rows:
        if row.entry is not None:
            row.entry.correction = getattr(row.entry, "reversal", None)  # type: ignore[attr-defined]
            _decorate([row.entry])
    signed = sum(1 for r in rows if r.signup)
    return render(
        request,
        "activities/volunteering/event.html",
        {
            "activity": activity,
            "team": activity.organization,
            "rows": rows,
            "signed": signed,
            "started": activity.starts_at <= timezone.now(),
            "recorded": sum(1 for r in rows if r.entry),
        },
    )


@login_required
@require_POST
def volunteer_event_signup(request: HttpRequest, activity_id: Any) -> HttpResponse:
    activity = _or_404(selectors.event_get, user=request.user, activity_id=activity_id)
    opened = request.POST.get("open") == "1"
    services.volunteer_event_signup_set(actor=request.user, activity=activity, open=opened)
    messages.success(request, _("已开放报名") if opened else _("已关闭报名"))
    return redirect("volunteer_event", activity_id=activity.pk)


@login_required
def volunteer_event_hours(request: HttpRequest, activity_id: Any) -> HttpResponse:
    """Record the hours of an event's volunteers in one form: all rows or none."""
    activity = _or_404(selectors.event_get, user=request.user, activity_id=activity_id)
    rows = selectors.event_rows(user=request.user, activity=activity)
    open_rows = [r for r in rows if r.entry is None]
    done_rows = [r for r in rows if r.entry is not None]
    for r in done_rows:
        assert r.entry is not None
        r.entry.correction = getattr(r.entry, "reversal", None)  # type: ignore[attr-defined]
        _decorate([r.entry])
    errors: list[str] = []
    row_errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    notes: dict[str, str] = {}
    confirm = request.method == "POST" and request.POST.get("confirm") == "1"
    if request.method == "POST":
        hours_rows = []
        for line, row in enumerate(open_rows, start=1):
            key = str(row.resident.pk)
            values[key] = request.POST.get(f"hours-{key}", "").strip()
            notes[key] = request.POST.get(f"note-{key}", "").strip()
            hours_rows.append(
                services.HoursRow(line=line, resident_id=row.resident.pk, hours=values[key], note=notes[key])
            )
        try:
            result = services.volunteer_hours_record_bulk(
                actor=request.user, activity=activity, rows=hours_rows, confirm=confirm
            )
        except DomainError as exc:
            errors = [exc.message]
            for name, msgs in exc.fields.items():
                parts = name.split(".")
                if len(parts) == 3 and parts[0] == "rows" and parts[1].isdigit():
                    index = int(parts[1])
                    if index < len(open_rows):
                        row_errors.setdefault(str(open_rows[index].resident.pk), []).extend(msgs)
                errors.extend(msgs)
        else:
            text = _("已记录 %(n)s 人的时长") % {"n": len(result.created)}
            if confirm:
                text += _("，已确认 %(n)s 人") % {"n": result.confirmed}
            if result.own_pending:
                text += _("；您自己的时长需由其他负责人或工作人员确认")
            messages.success(request, text)
            return redirect("volunteer_event", activity_id=activity.pk)
    lines = [
        {
            "line": n,
            "row": row,
            "key": str(row.resident.pk),
            "value": values.get(str(row.resident.pk), ""),
            "note": notes.get(str(row.resident.pk), ""),
            "errors": row_errors.get(str(row.resident.pk), []),
        }
        for n, row in enumerate(open_rows, start=1)
    ]
    return render(
        request,
        "activities/volunteering/event_hours.html",
        {
            "activity": activity,
            "team": activity.organization,
            "lines": lines,
            "done_rows": done_rows,
            "errors": errors,
            "confirm": confirm,
            "started": activity.starts_at <= timezone.now(),
            "default_hours": _event_hours(activity),
        },
        status=400 if errors else 200,
    )


def _event_hours(activity: Any) -> str:
    """The event's length in hours (a hint for the form), when it has an end."""
    if not activity.ends_at:
        return ""
    hours = Decimal((activity.ends_at - activity.starts_at).total_seconds()) / Decimal(3600)
    if not Decimal(0) < hours <= Decimal(24):
        return ""
    return str(hours.quantize(Decimal("0.5")).normalize())


# --- leaders and staff: the ledger ------------------------------------------------------------------------------


@login_required
def volunteer_to_confirm(request: HttpRequest) -> HttpResponse:
    _pages_for_team_runners(request)
    entries = selectors.hours_to_confirm(user=request.user)
    others = entries.exclude(recorded_by_id=request.user.pk)
    mine = entries.filter(recorded_by_id=request.user.pk)
    page = Paginator(others, PAGE).get_page(request.GET.get("page"))
    user_pk: Any = request.user.pk
    own = (
        selectors.entries_managed(user=request.user, status="pending")
        .filter(resident__user_id=user_pk, reversal_of__isnull=True)
        .count()
    )
    return render(
        request,
        "activities/volunteering/to_confirm.html",
        {"page": page, "mine": list(mine[:PAGE]), "mine_count": mine.count(), "own_pending": own},
    )


@login_required
@require_POST
def volunteer_hours_confirm(request: HttpRequest, entry_id: Any) -> HttpResponse:
    entry = _or_404(selectors.entry_get, user=request.user, entry_id=entry_id)
    if not request.user.has_perm("activities.reverse_volunteerhours", entry):
        raise Http404
    try:
        confirmed, changed = services.volunteer_hours_confirm(actor=request.user, entry=entry)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if changed:
            messages.success(
                request,
                _("已确认 %(name)s 的 %(h)s 小时")
                % {"name": confirmed.resident.masked_name or confirmed.resident.ref, "h": hours_text(confirmed.hours)},
            )
        else:
            messages.info(request, _("这条记录已经确认过了"))
    return _back(request, reverse("volunteer_to_confirm"))


@login_required
def volunteer_hours_reverse(request: HttpRequest, entry_id: Any) -> HttpResponse:
    entry = _or_404(selectors.entry_get, user=request.user, entry_id=entry_id)
    if not request.user.has_perm("activities.reverse_volunteerhours", entry):
        raise Http404
    entry.state = entry_state(entry)
    entry.state_label = state_label(entry.state)
    form = forms.ReverseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.volunteer_hours_reverse(
                actor=request.user, entry=entry, reason=form.cleaned_data["reason"], hours=form.cleaned_data["hours"]
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已冲正，更正后为 %(h)s 小时") % {"h": hours_text(form.cleaned_data["hours"])})
            if entry.activity_id:
                return redirect("volunteer_event", activity_id=entry.activity_id)
            return redirect("volunteer_team", team_id=entry.organization_id)
    return render(
        request,
        "activities/volunteering/reverse.html",
        {"entry": entry, "form": form},
        status=400 if form.errors else 200,
    )


urlpatterns: list[URLPattern] = [
    path("me/volunteering/", volunteer_home, name="volunteer_home"),
    path("me/volunteering/hours/", volunteer_my_hours, name="volunteer_my_hours"),
    path("me/volunteering/certificate/", volunteer_certificate, name="volunteer_certificate"),
    path("me/volunteering/record.xlsx", volunteer_record_xlsx, name="volunteer_record_xlsx"),
    path("me/volunteering/events/<uuid:activity_id>/signup/", volunteer_signup, name="volunteer_signup"),
    path("me/volunteering/events/<uuid:activity_id>/cancel/", volunteer_signup_cancel, name="volunteer_signup_cancel"),
    path("volunteering/teams/", volunteer_teams, name="volunteer_teams"),
    path("volunteering/teams/<uuid:team_id>/", volunteer_team, name="volunteer_team"),
    path("volunteering/teams/<uuid:team_id>/events/new/", volunteer_event_new, name="volunteer_event_new"),
    path("volunteering/teams/<uuid:team_id>/hours/new/", volunteer_hours_new, name="volunteer_hours_new"),
    path("volunteering/events/<uuid:activity_id>/", volunteer_event, name="volunteer_event"),
    path("volunteering/events/<uuid:activity_id>/signup/", volunteer_event_signup, name="volunteer_event_signup"),
    path("volunteering/events/<uuid:activity_id>/hours/", volunteer_event_hours, name="volunteer_event_hours"),
    path("volunteering/confirm/", volunteer_to_confirm, name="volunteer_to_confirm"),
    path("volunteering/hours/<uuid:entry_id>/confirm/", volunteer_hours_confirm, name="volunteer_hours_confirm"),
    path("volunteering/hours/<uuid:entry_id>/reverse/", volunteer_hours_reverse, name="volunteer_hours_reverse"),
]
