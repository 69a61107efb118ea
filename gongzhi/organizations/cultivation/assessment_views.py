"""Pages of assessment and selection: schemes (versioned), rounds (entries, assessors, closing, publication), the
assessor's scoring pages, the leader's reply to a last-place warning, and the published list (no login)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors, staff_place
from gongzhi.people import protection
from gongzhi.people.models import User

from .. import selectors as org_selectors
from ..models import AssessmentRound, OrganizationStatus, RoundEntry, RoundStatus
from . import forms, selection, selectors, services


def _round(request: HttpRequest, round_id: Any, *, manage: bool = True) -> AssessmentRound:
    try:
        rnd = selectors.round_get(user=request.user, round_id=round_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if manage and not request.user.has_perm("organizations.manage_assessment", rnd):
        raise Http404(_("找不到该评估评选"))
    return rnd


def _message(exc: DomainError) -> str:
    if exc.fields:
        details = "；".join(m for ms in exc.fields.values() for m in ms)
        return f"{exc.message}：{details}" if details and details != exc.message else exc.message
    return exc.message


def _tie_break() -> list[str]:
    return [str(label) for _key, label in selection.TIE_BREAK]


# --- list, schemes --------------------------------------------------------------------------------------------------


@login_required
def assessment_list(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    can_manage = request.user.has_perm("organizations.manage_assessment", place)
    return render(
        request,
        "organizations/cultivation/assessment_list.html",
        {
            "place": place,
            "schemes": list(selectors.schemes_visible(user=request.user, place=place)[:100]),
            "rounds": list(selectors.rounds_visible(user=request.user, place=place)[:100]),
            "can_manage": can_manage,
            "tab": "assessment",
        },
    )


@login_required
def assessment_scheme_new(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm("organizations.manage_assessment", place):
        raise PermissionDenied
    form = forms.SchemeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            scheme, _new = services.assessment_scheme_save(
                actor=request.user,
                place=place,
                year=form.cleaned_data["year"],
                name=form.cleaned_data["name"],
                criteria=form.criteria(),
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已新建评估方案 %(s)s") % {"s": scheme})
            return redirect("assessment_scheme_detail", scheme_id=scheme.pk)
    return render(
        request,
        "organizations/cultivation/scheme_form.html",
        {"form": form, "place": place, "scheme": None, "tab": "assessment"},
        status=400 if form.errors else 200,
    )


@login_required
def assessment_scheme_detail(request: HttpRequest, scheme_id: Any) -> HttpResponse:
    try:
        scheme = selectors.scheme_get(user=request.user, scheme_id=scheme_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = forms.SchemeForm(
        request.POST or None, scheme_criteria=scheme.criteria, initial={"name": scheme.name, "year": scheme.year}
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved, new_version = services.assessment_scheme_save(
                actor=request.user,
                place=scheme.place,
                year=form.cleaned_data["year"],
                name=form.cleaned_data["name"],
                criteria=form.criteria(),
                scheme=scheme,
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            if new_version:
                messages.success(request, _("原方案已被评选使用，不能修改：已另存为新版本 %(s)s") % {"s": saved})
            else:
                messages.success(request, _("已保存评估方案"))
            return redirect("assessment_scheme_detail", scheme_id=saved.pk)
    criteria = selection.criteria_of(scheme.criteria)
    versions = list(
        selectors.schemes_visible(user=request.user).filter(place=scheme.place, year=scheme.year).order_by("version")
    )
    return render(
        request,
        "organizations/cultivation/scheme_detail.html",
        {
            "scheme": scheme,
            "criteria": criteria,
            "heaviest": selection.heaviest(criteria) if criteria else None,
            "rounds": list(scheme.rounds.order_by("-created_at")),
            "versions": versions,
            "form": form,
            "in_use": scheme.round_count > 0,  # type: ignore[attr-defined]
            "tab": "assessment",
        },
        status=400 if form.errors else 200,
    )


# --- rounds ---------------------------------------------------------------------------------------------------------


@login_required
def assessment_round_new(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm("organizations.manage_assessment", place):
        raise PermissionDenied
    schemes = [
        s
        for s in selectors.schemes_visible(user=request.user, place=place)
        if request.user.has_perm("organizations.manage_assessment", s)
    ]
    form = forms.RoundForm(request.POST or None, schemes=schemes, initial={"scheme": request.GET.get("scheme", "")})
    if request.method == "POST" and form.is_valid():
        scheme = next(s for s in schemes if str(s.pk) == form.cleaned_data["scheme"])
        try:
            rnd = services.assessment_round_create(
                actor=request.user,
                scheme=scheme,
                name=form.cleaned_data["name"],
                quotas=form.quotas(),
                warn_last=form.cleaned_data["warn_last"],
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已新建评估评选 %(name)s") % {"name": rnd.name})
            return redirect("assessment_round_detail", round_id=rnd.pk)
    return render(
        request,
        "organizations/cultivation/round_form.html",
        {"form": form, "place": place, "schemes": schemes, "labels": selection.CATEGORY_LABELS, "tab": "assessment"},
        status=400 if form.errors else 200,
    )


def _category_groups(rnd: AssessmentRound, entries: list[RoundEntry]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for code, quota in (rnd.quotas or {}).items():
        groups[code] = {"code": code, "label": selection.category_label(code), "quota": quota, "entries": []}
    for e in entries:
        scores = list(e.scores.all())
        e.score_list = scores  # type: ignore[attr-defined]
        e.provisional = (  # type: ignore[attr-defined]
            selection.mean([Decimal(s.total) for s in scores]) if scores else None
        )
        groups.setdefault(
            e.category, {"code": e.category, "label": selection.category_label(e.category), "quota": 0, "entries": []}
        )["entries"].append(e)
    return list(groups.values())


def _round_page(request: HttpRequest, rnd: AssessmentRound, status: int = 200, **bound: Any) -> HttpResponse:
    entries = selectors.round_entries(round=rnd)
    assessors = selectors.round_assessors(round=rnd)
    scored_by: dict[Any, int] = {}
    for e in entries:
        for s in e.scores.all():
            scored_by[s.assessor_id] = scored_by.get(s.assessor_id, 0) + 1
    q = request.GET.get("q", "")[:40].strip()
    candidates: list[Any] = []
    if q and rnd.status == RoundStatus.OPEN:
        entered = {e.organization_id for e in entries}
        candidates = [
            o
            for o in org_selectors.organizations_visible(
                user=request.user, place=rnd.place, status=OrganizationStatus.ACTIVE, search=q
            )[:30]
            if o.pk not in entered
        ]
    criteria = selection.criteria_of(rnd.scheme.criteria)
    return render(
        request,
        "organizations/cultivation/round_detail.html",
        {
            "round": rnd,
            "criteria": criteria,
            "heaviest": selection.heaviest(criteria) if criteria else None,
            "groups": _category_groups(rnd, entries),
            "entry_count": len(entries),
            "unscored": [e for e in entries if not e.scores.all()],
            "assessors": [
                {"user": a, "masked_phone": protection.mask_phone(a.phone), "scored": scored_by.get(a.pk, 0)}
                for a in assessors
            ],
            "q": q,
            "candidates": candidates,
            "entry_form": bound.get("entry_form") or forms.EntryAddForm(categories=list(rnd.quotas or {})),
            "assessor_form": bound.get("assessor_form") or forms.AssessorAddForm(),
            "tie_break": _tie_break(),
            "is_open": rnd.status == RoundStatus.OPEN,
            "tab": "assessment",
        },
        status=status,
    )


@login_required
def assessment_round_detail(request: HttpRequest, round_id: Any) -> HttpResponse:
    try:
        rnd = selectors.round_get(user=request.user, round_id=round_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.user.has_perm("organizations.manage_assessment", rnd):
        return redirect("assessment_mine")  # an assessor scores on their own page
    return _round_page(request, rnd)


@login_required
@require_POST
def assessment_round_entry_add(request: HttpRequest, round_id: Any) -> HttpResponse:
    rnd = _round(request, round_id)
    form = forms.EntryAddForm(request.POST, categories=list(rnd.quotas or {}))
    if form.is_valid():
        try:
            organization = org_selectors.organization_get(
                user=request.user, organization_id=form.cleaned_data["organization"]
            )
            __, created = services.round_entry_add(
                actor=request.user, round=rnd, organization=organization, category=form.cleaned_data["category"]
            )
        except DomainError as exc:
            messages.error(request, _message(exc))
        else:
            if created:
                messages.success(request, _("%(name)s 已参评") % {"name": organization.name})
            else:
                messages.info(request, _("%(name)s 已经在参评名单中") % {"name": organization.name})
    else:
        messages.error(request, _("请选择组织和类别"))
    return redirect(reverse("assessment_round_detail", args=[rnd.pk]) + "#entries")


@login_required
@require_POST
def assessment_round_entry_remove(request: HttpRequest, round_id: Any, entry_id: Any) -> HttpResponse:
    rnd = _round(request, round_id)
    entry = RoundEntry.objects.filter(round=rnd, pk=entry_id).select_related("organization", "round").first()
    if entry is None:
        raise Http404
    try:
        services.round_entry_remove(actor=request.user, entry=entry)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("已将 %(name)s 移出") % {"name": entry.organization.name})
    return redirect(reverse("assessment_round_detail", args=[rnd.pk]) + "#entries")


@login_required
@require_POST
def assessment_round_assessor_add(request: HttpRequest, round_id: Any) -> HttpResponse:
    rnd = _round(request, round_id)
    form = forms.AssessorAddForm(request.POST)
    if form.is_valid():
        phone = protection.normalise_mobile(form.cleaned_data["phone"])
        user = User.objects.filter(phone=phone).first() if phone else None
        if user is None:
            form.add_error("phone", _("没有使用这个手机号的账号：请先在“角色授权”中为评审开通账号"))
        else:
            try:
                added = services.round_assessor_add(actor=request.user, round=rnd, user=user)
            except DomainError as exc:
                apply_errors(form, exc)
            else:
                if added:
                    messages.success(request, _("已增加评审 %(who)s") % {"who": user})
                else:
                    messages.info(request, _("%(who)s 已经是评审") % {"who": user})
                return redirect(reverse("assessment_round_detail", args=[rnd.pk]) + "#assessors")
    return _round_page(request, rnd, status=400, assessor_form=form)


@login_required
@require_POST
def assessment_round_assessor_remove(request: HttpRequest, round_id: Any, user_id: Any) -> HttpResponse:
    rnd = _round(request, round_id)
    user = rnd.assessors.filter(pk=user_id).first()
    if user is None:
        raise Http404
    try:
        services.round_assessor_remove(actor=request.user, round=rnd, user=user)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("已移除评审 %(who)s") % {"who": user})
    return redirect(reverse("assessment_round_detail", args=[rnd.pk]) + "#assessors")


@login_required
@require_POST
def assessment_round_close(request: HttpRequest, round_id: Any) -> HttpResponse:
    rnd = _round(request, round_id)
    try:
        __, changed = services.assessment_round_close(actor=request.user, round=rnd)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        if changed:
            messages.success(request, _("评分已结束，排名和入选结果已计算"))
        else:
            messages.info(request, _("该评选已经结束，结果没有变化"))
    return redirect(reverse("assessment_round_detail", args=[rnd.pk]) + "#results")


@login_required
@require_POST
def assessment_round_publish(request: HttpRequest, round_id: Any) -> HttpResponse:
    rnd = _round(request, round_id)
    try:
        __, changed = services.assessment_round_publish(actor=request.user, round=rnd)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        if changed:
            messages.success(request, _("已公示入选名单"))
        else:
            messages.info(request, _("该评选结果已经公示"))
    return redirect(reverse("assessment_round_detail", args=[rnd.pk]) + "#results")


# --- the assessor ---------------------------------------------------------------------------------------------------


@login_required
def assessment_mine(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "organizations/cultivation/assessment_mine.html",
        {"rounds": selectors.assessment_tasks(user=request.user), "tab": "mine"},
    )


@login_required
def assessment_score(request: HttpRequest, entry_id: Any) -> HttpResponse:
    try:
        entry = selectors.entry_get(user=request.user, entry_id=entry_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.user.has_perm("organizations.score_roundentry", entry):
        raise Http404(_("找不到该参评记录"))
    rnd = entry.round
    criteria = selection.criteria_of(rnd.scheme.criteria)
    conflicted = bool(
        selectors.conflicted_organization_ids(
            user=request.user, organization_ids=[entry.organization_id], year=rnd.scheme.year
        )
    )
    mine = selectors.my_score(user=request.user, entry=entry)
    initial: dict[str, Any] = {}
    if mine is not None:
        initial = {f"s_{code}": value for code, value in mine.scores.items()}
        initial["comment"] = mine.comment
    form = forms.ScoreForm(request.POST or None, criteria=criteria, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                score = services.assessment_score_submit(
                    actor=request.user, entry=entry, scores=form.scores(), comment=form.cleaned_data["comment"]
                )
            except DomainError as exc:
                if exc.code == "conflict_of_interest":
                    status = 403
                fields = {(f"s_{k}" if f"s_{k}" in form.fields else k): v for k, v in exc.fields.items()}
                apply_errors(form, DomainError(exc.message, fields=fields))
            else:
                messages.success(
                    request,
                    _("已为 %(name)s 评分：加权总分 %(total)s")
                    % {"name": entry.organization.name, "total": score.total},
                )
                return redirect("assessment_mine")
    return render(
        request,
        "organizations/cultivation/score_form.html",
        {
            "entry": entry,
            "round": rnd,
            "form": form,
            "conflicted": conflicted,
            "mine": mine,
            "is_open": rnd.status == RoundStatus.OPEN,
            "category": selection.category_label(entry.category),
            "tab": "mine",
        },
        status=status,
    )


# --- the leader's reply -----------------------------------------------------------------------------------------------


@login_required
@require_POST
def assessment_reply(request: HttpRequest, entry_id: Any) -> HttpResponse:
    try:
        entry = selectors.entry_get(user=request.user, entry_id=entry_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.user.has_perm("organizations.reply_roundentry", entry):
        raise PermissionDenied
    form = forms.ReplyForm(request.POST)
    target = reverse("cultivation_organization", args=[entry.organization_id]) + "#entries"
    if form.is_valid():
        try:
            services.round_entry_reply(actor=request.user, entry=entry, text=form.cleaned_data["reply"])
        except DomainError as exc:
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("已提交申辩"))
        return redirect(target)
    from .views import _organization_page

    return _organization_page(request, entry.organization, status=400, reply_form=form, reply_entry=entry.pk)


# --- the published list (no login) ------------------------------------------------------------------------------------


def selection_public_index(request: HttpRequest) -> HttpResponse:
    return render(
        request, "organizations/cultivation/public_index.html", {"rounds": list(selectors.public_rounds()[:100])}
    )


def selection_public(request: HttpRequest, round_id: Any) -> HttpResponse:
    try:
        rnd, categories = selectors.public_round(round_id=round_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(
        request,
        "organizations/cultivation/public_round.html",
        {"round": rnd, "categories": categories, "tie_break": _tie_break()},
    )


urlpatterns: list[URLPattern] = [
    path("staff/cultivation/assessments/", assessment_list, name="assessment_list"),
    path("staff/cultivation/schemes/new/", assessment_scheme_new, name="assessment_scheme_new"),
    path("staff/cultivation/schemes/<uuid:scheme_id>/", assessment_scheme_detail, name="assessment_scheme_detail"),
    path("staff/cultivation/rounds/new/", assessment_round_new, name="assessment_round_new"),
    path("staff/cultivation/rounds/<uuid:round_id>/", assessment_round_detail, name="assessment_round_detail"),
    path(
        "staff/cultivation/rounds/<uuid:round_id>/entries/",
        assessment_round_entry_add,
        name="assessment_round_entry_add",
    ),
    path(
        "staff/cultivation/rounds/<uuid:round_id>/entries/<uuid:entry_id>/remove/",
        assessment_round_entry_remove,
        name="assessment_round_entry_remove",
    ),
    path(
        "staff/cultivation/rounds/<uuid:round_id>/assessors/",
        assessment_round_assessor_add,
        name="assessment_round_assessor_add",
    ),
    path(
        "staff/cultivation/rounds/<uuid:round_id>/assessors/<uuid:user_id>/remove/",
        assessment_round_assessor_remove,
        name="assessment_round_assessor_remove",
    ),
    path("staff/cultivation/rounds/<uuid:round_id>/close/", assessment_round_close, name="assessment_round_close"),
    path(
        "staff/cultivation/rounds/<uuid:round_id>/publish/", assessment_round_publish, name="assessment_round_publish"
    ),
    path("me/assessments/", assessment_mine, name="assessment_mine"),
    path("me/assessments/entries/<uuid:entry_id>/", assessment_score, name="assessment_score"),
    path("organizations/entries/<uuid:entry_id>/reply/", assessment_reply, name="assessment_reply"),
    path("selections/", selection_public_index, name="selection_public_index"),
    path("selections/<uuid:round_id>/", selection_public, name="selection_public"),
]
