"""Pages of 育 cultivate. This module: the stage board, admission standards, support records and supply lists, and an
organisation's cultivation record (staff and the organisation's leader). ``assessment_views``: schemes, rounds,
scoring, selection, replies and the public list. ``urlpatterns`` holds both.

Thin views: parse, check a permission, call one service or selector, render.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors, staff_place

from .. import selectors as org_selectors
from ..models import Organization, OrganizationKind, OrganizationStage, OrganizationStatus, SupportKind
from ..rules import is_organization_leader
from . import assessment_views, forms, selection, selectors, services

STAGE_LABELS = dict(OrganizationStage.choices)


def _organization(
    request: HttpRequest, organization_id: Any, perm: str = "organizations.view_cultivation"
) -> Organization:
    try:
        organization = org_selectors.organization_get(user=request.user, organization_id=organization_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.user.has_perm("organizations.view_cultivation", organization):
        raise Http404(_("找不到该组织"))
    if not request.user.has_perm(perm, organization):
        raise PermissionDenied
    return organization


def _date_param(value: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int_param(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value or "")
    except ValueError:
        return default
    return number if low <= number <= high else default


# --- stage board --------------------------------------------------------------------------------------------------


@login_required
def stage_board(request: HttpRequest) -> HttpResponse:
    """How many organisations sit at each stage (now, or on a chosen date) and how they moved in a year, for the
    staff's place; a column or a move opens the list behind it."""
    place = staff_place(request)
    today = timezone.localdate()
    kind = request.GET.get("kind", "")
    if kind not in OrganizationKind.values:
        kind = ""
    on = _date_param(request.GET.get("on"))
    if on is not None and on >= today:
        on = None
    year = _int_param(request.GET.get("year"), today.year, 2000, 2100)
    counts = selectors.stage_counts(user=request.user, place=place, on=on, kind=kind)
    total = sum(counts.values())
    top = max(counts.values()) if counts else 0
    columns = [
        {"stage": s, "label": STAGE_LABELS[s], "n": counts[s], "pct": round(100 * counts[s] / top) if top else 0}
        for s in OrganizationStage.values
    ]
    moves = selectors.stage_moves(user=request.user, place=place, year=year, kind=kind)
    stage = request.GET.get("stage", "")
    drill_orgs = (
        selectors.stage_board_organizations(user=request.user, place=place, stage=stage, on=on, kind=kind)
        if stage in OrganizationStage.values
        else None
    )
    from_stage = request.GET.get("from")
    to_stage = request.GET.get("to", "")
    drill_moves = None
    if to_stage in OrganizationStage.values and (from_stage in ("", None) or from_stage in OrganizationStage.values):
        drill_moves = list(
            selectors.stage_moves_list(
                user=request.user, place=place, year=year, from_stage=from_stage, to_stage=to_stage, kind=kind
            )[:500]
        )
    return render(
        request,
        "organizations/cultivation/stage_board.html",
        {
            "place": place,
            "columns": columns,
            "total": total,
            "moves": moves,
            "moved": sum(m.n for m in moves if m.from_stage),
            "founded": sum(m.n for m in moves if not m.from_stage),
            "year": year,
            "years": selectors.stage_years(user=request.user, place=place),
            "on": on,
            "kind": kind,
            "kinds": OrganizationKind.choices,
            "stage": stage,
            "stage_label": STAGE_LABELS.get(stage, ""),
            "drill_orgs": drill_orgs,
            "drill_moves": drill_moves,
            "from_stage": from_stage,
            "to_stage": to_stage,
            "from_label": STAGE_LABELS.get(from_stage or "", _("新登记")),
            "to_label": STAGE_LABELS.get(to_stage, ""),
            "tab": "board",
        },
    )


# --- admission standards ------------------------------------------------------------------------------------------


def _admission_page(request: HttpRequest, status: int = 200, form: Any = None) -> HttpResponse:
    place = staff_place(request)
    groups = selectors.admission_criteria_visible(user=request.user, place=place)
    return render(
        request,
        "organizations/cultivation/admission.html",
        {
            "place": place,
            "groups": groups,
            "form": form or forms.AdmissionCriterionForm(),
            "can_add": request.user.has_perm("organizations.manage_admission", place),
            "tab": "admission",
        },
        status=status,
    )


@login_required
def cultivation_admission(request: HttpRequest) -> HttpResponse:
    return _admission_page(request)


@login_required
@require_POST
def cultivation_admission_add(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm("organizations.manage_admission", place):
        raise PermissionDenied
    form = forms.AdmissionCriterionForm(request.POST)
    if form.is_valid():
        try:
            services.admission_criterion_add(
                actor=request.user, place=place, text=form.cleaned_data["text"], order=form.cleaned_data["order"]
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已添加准入标准"))
            return redirect("cultivation_admission")
    return _admission_page(request, status=400, form=form)


@login_required
@require_POST
def cultivation_admission_edit(request: HttpRequest, criterion_id: Any) -> HttpResponse:
    try:
        criterion = selectors.admission_criterion_get(user=request.user, criterion_id=criterion_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    action = request.POST.get("action", "")
    try:
        if action in ("retire", "restore"):
            services.admission_criterion_update(actor=request.user, criterion=criterion, active=action == "restore")
        else:
            order = _int_param(request.POST.get("order"), criterion.order, 0, 32767)
            services.admission_criterion_update(
                actor=request.user, criterion=criterion, text=request.POST.get("text", criterion.text), order=order
            )
    except DomainError as exc:
        messages.error(
            request, exc.message if not exc.fields else "；".join(m for ms in exc.fields.values() for m in ms)
        )
    else:
        messages.success(request, _("已保存准入标准"))
    return redirect("cultivation_admission")


# --- an organisation's cultivation record -------------------------------------------------------------------------


def _organization_page(
    request: HttpRequest, organization: Organization, status: int = 200, **bound: Any
) -> HttpResponse:
    user = request.user
    checklist = selectors.admission_checklist(user=user, organization=organization)
    support = list(selectors.support_records_of(user=user, organization=organization))
    supply = list(selectors.supply_items_of(user=user, organization=organization))
    entries = list(selectors.entries_of_organization(user=user, organization=organization))
    for e in entries:
        e.category_label = selection.category_label(e.category)  # type: ignore[attr-defined]
    is_leader = is_organization_leader(user, organization)
    can_check = user.has_perm("organizations.check_admission", organization)
    return render(
        request,
        "organizations/cultivation/organization.html",
        {
            "org": organization,
            "history": list(org_selectors.stage_history(user=user, organization=organization)),
            "checklist": checklist,
            "met_count": sum(1 for row in checklist if row.met),
            "support": support,
            "totals": selectors.support_totals(support),
            "supply": supply,
            "entries": entries,
            "can_check": can_check and organization.status == OrganizationStatus.ACTIVE,
            "can_support": user.has_perm("organizations.record_support", organization),
            "can_supply": user.has_perm("organizations.manage_supply", organization)
            and organization.status == OrganizationStatus.ACTIVE,
            "can_manage": user.has_perm("organizations.change_organization", organization),
            "is_leader": is_leader,
            "check_form": bound.get("check_form"),
            "check_criterion": bound.get("check_criterion"),
            "support_form": bound.get("support_form") or forms.SupportRecordForm(),
            "supply_form": bound.get("supply_form") or forms.SupplyItemForm(),
            "reply_form": bound.get("reply_form"),
            "reply_entry": bound.get("reply_entry"),
            "support_kinds": SupportKind,
        },
        status=status,
    )


@login_required
def cultivation_organization(request: HttpRequest, organization_id: Any) -> HttpResponse:
    organization = _organization(request, organization_id)
    return _organization_page(request, organization)


@login_required
@require_POST
def cultivation_admission_check(request: HttpRequest, organization_id: Any, criterion_id: Any) -> HttpResponse:
    organization = _organization(request, organization_id, "organizations.check_admission")
    criterion = next(
        (
            c
            for c in selectors.admission_criteria_for(place_code=organization.place_id)
            if str(c.pk) == str(criterion_id)
        ),
        None,
    )
    if criterion is None:
        raise Http404(_("找不到该准入标准"))
    form = forms.AdmissionCheckForm(request.POST)
    if form.is_valid():
        try:
            services.admission_check_record(
                actor=request.user, organization=organization, criterion=criterion, **form.cleaned_data
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已记录准入核查：%(text)s") % {"text": criterion.text})
            return redirect(f"{_url(organization)}#admission")
    return _organization_page(request, organization, status=400, check_form=form, check_criterion=criterion.pk)


def _url(organization: Organization) -> str:
    from django.urls import reverse

    return reverse("cultivation_organization", args=[organization.pk])


@login_required
@require_POST
def support_record_new(request: HttpRequest, organization_id: Any) -> HttpResponse:
    organization = _organization(request, organization_id, "organizations.record_support")
    form = forms.SupportRecordForm(request.POST)
    if form.is_valid():
        try:
            services.support_record_add(actor=request.user, organization=organization, **form.cleaned_data)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已记录扶持：%(title)s") % {"title": form.cleaned_data["title"]})
            return redirect(f"{_url(organization)}#support")
    return _organization_page(request, organization, status=400, support_form=form)


@login_required
@require_POST
def support_record_delete(request: HttpRequest, organization_id: Any, record_id: Any) -> HttpResponse:
    organization = _organization(request, organization_id, "organizations.record_support")
    try:
        record = selectors.support_record_get(user=request.user, organization=organization, record_id=record_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    services.support_record_delete(actor=request.user, record=record, reason=request.POST.get("reason", ""))
    messages.success(request, _("已删除扶持记录：%(title)s") % {"title": record.title})
    return redirect(f"{_url(organization)}#support")


@login_required
@require_POST
def support_supply_new(request: HttpRequest, organization_id: Any) -> HttpResponse:
    organization = _organization(request, organization_id, "organizations.manage_supply")
    form = forms.SupplyItemForm(request.POST)
    if form.is_valid():
        try:
            services.supply_item_add(actor=request.user, organization=organization, **form.cleaned_data)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已加入供给清单：%(title)s") % {"title": form.cleaned_data["title"]})
            return redirect(f"{_url(organization)}#supply")
    return _organization_page(request, organization, status=400, supply_form=form)


@login_required
@require_POST
def support_supply_edit(request: HttpRequest, organization_id: Any, item_id: Any) -> HttpResponse:
    organization = _organization(request, organization_id, "organizations.manage_supply")
    try:
        item = selectors.supply_item_get(user=request.user, item_id=item_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if item.organization_id != organization.pk:
        raise Http404
    action = request.POST.get("action", "")
    try:
        if action in ("retire", "restore"):
            services.supply_item_update(actor=request.user, item=item, active=action == "restore")
        else:
            form = forms.SupplyItemForm(request.POST)
            if not form.is_valid():
                raise DomainError(_("服务项目必填，且不能超过 200 字"))
            services.supply_item_update(actor=request.user, item=item, **form.cleaned_data)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已更新供给清单"))
    return redirect(f"{_url(organization)}#supply")


# --- staff lists: support given, the place's supply list ----------------------------------------------------------


@login_required
def support_list(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    kind = request.GET.get("kind", "")
    if kind not in SupportKind.values:
        kind = ""
    year_text = request.GET.get("year", "")
    year = _int_param(year_text, 0, 2000, 2100) or None
    qs = selectors.support_records_visible(user=request.user, place=place, kind=kind, year=year)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "organizations/cultivation/support_list.html",
        {
            "place": place,
            "page": page,
            "summary": selectors.support_summary(
                selectors.support_records_visible(user=request.user, place=place, year=year)
            ),
            "kind": kind,
            "kinds": SupportKind.choices,
            "year": year,
            "years": list(range(timezone.localdate().year, timezone.localdate().year - 6, -1)),
            "tab": "support",
        },
    )


@login_required
def support_supply_list(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    q = request.GET.get("q", "")[:40]
    page = Paginator(selectors.supply_items_visible(user=request.user, place=place, search=q), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "organizations/cultivation/supply_list.html",
        {"place": place, "page": page, "q": q, "tab": "supply"},
    )


urlpatterns: list[URLPattern] = [
    path("staff/cultivation/", stage_board, name="stage_board"),
    path("staff/cultivation/admission/", cultivation_admission, name="cultivation_admission"),
    path("staff/cultivation/admission/new/", cultivation_admission_add, name="cultivation_admission_add"),
    path(
        "staff/cultivation/admission/<uuid:criterion_id>/",
        cultivation_admission_edit,
        name="cultivation_admission_edit",
    ),
    path("staff/cultivation/support/", support_list, name="support_list"),
    path("staff/cultivation/supply/", support_supply_list, name="support_supply_list"),
    path(
        "organizations/<uuid:organization_id>/cultivation/", cultivation_organization, name="cultivation_organization"
    ),
    path(
        "organizations/<uuid:organization_id>/cultivation/admission/<uuid:criterion_id>/",
        cultivation_admission_check,
        name="cultivation_admission_check",
    ),
    path("organizations/<uuid:organization_id>/cultivation/support/", support_record_new, name="support_record_new"),
    path(
        "organizations/<uuid:organization_id>/cultivation/support/<uuid:record_id>/delete/",
        support_record_delete,
        name="support_record_delete",
    ),
    path("organizations/<uuid:organization_id>/cultivation/supply/", support_supply_new, name="support_supply_new"),
    path(
        "organizations/<uuid:organization_id>/cultivation/supply/<uuid:item_id>/",
        support_supply_edit,
        name="support_supply_edit",
    ),
    *assessment_views.urlpatterns,
]
