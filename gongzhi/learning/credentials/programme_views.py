"""Pages of credential programmes: staff manage programmes and their levels (with the criteria builder); a resident
sees, on their phone, their progress in each programme of their place chain — what is met, what is missing, the next
level — and claims a certificate when eligible."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors, staff_place
from gongzhi.people import access
from gongzhi.people.selectors import resident_of_user

from ..models import CredentialLevel, CredentialProgramme, ProgrammeStatus
from . import programmes as services
from . import selectors
from .programme_forms import CopyForm, LevelForm, ProgrammeForm

PAGE_SIZE = 50
STAFF_NAV = "programme_list"


def url_or_none(name: str, **kwargs: Any) -> str | None:
    """The URL of a page of another part, or None while that page does not exist (no dead links)."""
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def _programme(request: HttpRequest, programme_id: Any, *, manage: bool = False) -> CredentialProgramme:
    try:
        programme = selectors.programme_get(user=request.user, programme_id=programme_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if manage and not request.user.has_perm("learning.manage_credentialprogramme", programme):
        raise PermissionDenied
    return programme


def _level(request: HttpRequest, level_id: Any) -> CredentialLevel:
    try:
        level = selectors.level_get(user=request.user, level_id=level_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.user.has_perm("learning.manage_credentialprogramme", level.programme):
        raise PermissionDenied
    return level


def _series_choices(programme_place_code: str) -> list[Any]:
    from ..models import Series

    return list(Series.objects.filter(services.place_scope_q(programme_place_code)).order_by("place_id", "name")[:500])


def _programme_fields(form: ProgrammeForm) -> dict[str, Any]:
    """The service arguments of a valid programme form (shared by programme_new and programme_edit)."""
    data = form.cleaned_data
    return {
        "name": data["name"],
        "description": data["description"],
        "series": form.chosen_series(),
        "validity_months": data["validity_months"],
    }


# --- staff: programmes ------------------------------------------------------------------------------------------


@login_required
def programme_list(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    status = request.GET.get("status", "")
    rows = selectors.programmes_visible(user=request.user, place=place, status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "learning/credentials/programmes/programme_list.html",
        {
            "place": place,
            "page": page,
            "rows": page.object_list,
            "status": status,
            "statuses": ProgrammeStatus.choices,
            "can_create": request.user.has_perm("learning.manage_credentialprogramme", place),
            "certificates_url": url_or_none("certificate_list"),
            "nav_active": STAFF_NAV,
        },
    )


@login_required
def programme_new(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm("learning.manage_credentialprogramme", place):
        raise PermissionDenied
    form = ProgrammeForm(request.POST or None, series=_series_choices(place.code))
    if request.method == "POST" and form.is_valid():
        try:
            programme = services.programme_create(
                actor=request.user,
                place=place,
                **_programme_fields(form),
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已新建认证项目，请添加级别"))
            return redirect("programme_detail", programme_id=programme.pk)
    return render(
        request,
        "learning/credentials/programmes/programme_form.html",
        {"form": form, "place": place, "programme": None, "title": _("新建认证项目"), "nav_active": STAFF_NAV},
        status=400 if form.errors else 200,
    )


@login_required
def programme_edit(request: HttpRequest, programme_id: Any) -> HttpResponse:
    programme = _programme(request, programme_id, manage=True)
    initial = {
        "name": programme.name,
        "description": programme.description,
        "series": str(programme.series_id or ""),
        "validity_months": programme.validity_months,
    }
    form = ProgrammeForm(request.POST or None, initial=initial, series=_series_choices(programme.place_id))
    if request.method == "POST" and form.is_valid():
        try:
            services.programme_update(
                actor=request.user,
                programme=programme,
                **_programme_fields(form),
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("programme_detail", programme_id=programme.pk)
    return render(
        request,
        "learning/credentials/programmes/programme_form.html",
        {
            "form": form,
            "place": programme.place,
            "programme": programme,
            "title": _("修改认证项目"),
            "nav_active": STAFF_NAV,
        },
        status=400 if form.errors else 200,
    )


@login_required
def programme_detail(request: HttpRequest, programme_id: Any) -> HttpResponse:
    programme = _programme(request, programme_id)
    if not access.is_staff(request.user):
        raise Http404
    levels = selectors.programme_levels(programme=programme)
    outlines = selectors.level_outline(levels=levels)
    return render(
        request,
        "learning/credentials/programmes/programme_detail.html",
        {
            "programme": programme,
            "levels": [(level, outlines[level.pk]) for level in levels],
            "can_manage": request.user.has_perm("learning.manage_credentialprogramme", programme),
            "copy_form": CopyForm(),
            "certificates_url": url_or_none("certificate_list"),
            "issue_url": url_or_none("certificate_issue"),
            "nav_active": STAFF_NAV,
        },
    )


@login_required
@require_POST
def programme_status(request: HttpRequest, programme_id: Any) -> HttpResponse:
    programme = _programme(request, programme_id, manage=True)
    action = request.POST.get("action", "")
    try:
        if action == "activate":
            services.programme_activate(actor=request.user, programme=programme)
            messages.success(request, _("认证项目已启用，居民可以看到进度并领取证书"))
        elif action == "retire":
            services.programme_retire(actor=request.user, programme=programme)
            messages.success(request, _("认证项目已停用；已颁发的证书仍然有效"))
        else:
            messages.error(request, _("未知的操作"))
    except DomainError as exc:
        details = "；".join(m for ms in exc.fields.values() for m in ms)
        messages.error(request, f"{exc.message}：{details}" if details and details != exc.message else exc.message)
    return redirect("programme_detail", programme_id=programme.pk)


@login_required
@require_POST
def programme_copy(request: HttpRequest, programme_id: Any) -> HttpResponse:
    programme = _programme(request, programme_id, manage=True)
    form = CopyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("新版本名称不能超过 100 字"))
        return redirect("programme_detail", programme_id=programme.pk)
    try:
        copy = services.programme_copy(actor=request.user, programme=programme, name=form.cleaned_data["name"])
    except DomainError as exc:
        details = "；".join(m for ms in exc.fields.values() for m in ms)
        messages.error(request, details or exc.message)
        return redirect("programme_detail", programme_id=programme.pk)
    messages.success(request, _("已另存为新版本“%(name)s”（未发布），可在其中修改级别条件") % {"name": copy.name})
    return redirect("programme_detail", programme_id=copy.pk)


# --- staff: levels and the criteria builder ---------------------------------------------------------------------


def _level_form(request: HttpRequest, programme: CredentialProgramme, level: CredentialLevel | None) -> LevelForm:
    choices = selectors.criteria_choices(programme=programme)
    levels = list(programme.levels.order_by("rank"))
    initial: dict[str, Any] = {}
    if level is None:
        initial["rank"] = max((lv.rank for lv in levels), default=0) + 1
    return LevelForm(
        request.POST or None,
        initial=initial,
        series=choices.series,
        courses=choices.courses,
        tests=choices.tests,
        levels=levels,
        level=level,
    )


def _render_level_form(
    request: HttpRequest, programme: CredentialProgramme, form: LevelForm, level: CredentialLevel | None
) -> HttpResponse:
    issued = level.certificates.count() if level is not None else 0
    return render(
        request,
        "learning/credentials/programmes/level_form.html",
        {
            "programme": programme,
            "level": level,
            "form": form,
            "issued": issued,
            "title": _("修改级别") if level else _("添加级别"),
            "nav_active": STAFF_NAV,
        },
        status=400 if form.errors else 200,
    )


def _save_level(request: HttpRequest, form: LevelForm, save: Any) -> bool:
    data = form.cleaned_data
    try:
        save(rank=data["rank"], name=data["name"], description=data["description"], criteria=form.criteria())
    except DomainError as exc:
        fields = dict(exc.fields)
        criteria_errors = fields.pop("criteria", [])
        if fields:
            apply_errors(form, DomainError(exc.message, fields=fields))
        for message in criteria_errors:
            form.add_error(None, message)
        if not fields and not criteria_errors:
            form.add_error(None, exc.message)
        return False
    return True


@login_required
def level_new(request: HttpRequest, programme_id: Any) -> HttpResponse:
    programme = _programme(request, programme_id, manage=True)
    form = _level_form(request, programme, None)
    if request.method == "POST" and form.is_valid():

        def save(**kwargs: Any) -> None:
            services.level_create(actor=request.user, programme=programme, **kwargs)

        if _save_level(request, form, save):
            messages.success(request, _("已添加级别"))
            return redirect("programme_detail", programme_id=programme.pk)
    return _render_level_form(request, programme, form, None)


@login_required
def level_edit(request: HttpRequest, level_id: Any) -> HttpResponse:
    level = _level(request, level_id)
    programme = level.programme
    form = _level_form(request, programme, level)
    if request.method == "POST" and form.is_valid():

        def save(**kwargs: Any) -> None:
            services.level_update(actor=request.user, level=level, **kwargs)

        if _save_level(request, form, save):
            messages.success(request, _("已保存级别"))
            return redirect("programme_detail", programme_id=programme.pk)
    return _render_level_form(request, programme, form, level)


@login_required
@require_POST
def level_delete(request: HttpRequest, level_id: Any) -> HttpResponse:
    level = _level(request, level_id)
    try:
        services.level_delete(actor=request.user, level=level)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已删除级别“%(name)s”") % {"name": level.name})
    return redirect("programme_detail", programme_id=level.programme_id)


# --- residents: my progress (phone) -----------------------------------------------------------------------------


@login_required
def my_programmes(request: HttpRequest) -> HttpResponse:
    resident = resident_of_user(user=request.user)
    if resident is None:
        raise Http404
    progress = selectors.resident_progress(user=request.user, resident=resident)
    claim_available = url_or_none("certificate_claim", level_id="00000000-0000-0000-0000-000000000000") is not None
    return render(
        request,
        "learning/credentials/programmes/my_programmes.html",
        {
            "resident": resident,
            "progress": progress,
            "claim_available": claim_available,
            "certificate_page": url_or_none("my_certificate", certificate_id="00000000-0000-0000-0000-000000000000")
            is not None,
            "my_certificates_url": url_or_none("my_certificates"),
            "nav_active": "my_programmes",
        },
    )


urlpatterns: list[URLPattern] = [
    path("staff/credentials/programmes/", programme_list, name="programme_list"),
    path("staff/credentials/programmes/new/", programme_new, name="programme_new"),
    path("staff/credentials/programmes/<uuid:programme_id>/", programme_detail, name="programme_detail"),
    path("staff/credentials/programmes/<uuid:programme_id>/edit/", programme_edit, name="programme_edit"),
    path("staff/credentials/programmes/<uuid:programme_id>/status/", programme_status, name="programme_status"),
    path("staff/credentials/programmes/<uuid:programme_id>/copy/", programme_copy, name="programme_copy"),
    path("staff/credentials/programmes/<uuid:programme_id>/levels/new/", level_new, name="level_new"),
    path("staff/credentials/levels/<uuid:level_id>/edit/", level_edit, name="level_edit"),
    path("staff/credentials/levels/<uuid:level_id>/delete/", level_delete, name="level_delete"),
    path("me/programmes/", my_programmes, name="my_programmes"),
]
