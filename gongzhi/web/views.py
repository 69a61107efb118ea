"""Thin views: parse input, check permission, call one service or selector, render."""

from __future__ import annotations

import json
import secrets

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.db.models.functions import Substr
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.models import AuditEvent
from gongzhi.core.pages import apply_errors as _apply_errors
from gongzhi.people import selectors, services
from gongzhi.people.models import Consent, Household, RoleGrant, User
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place, Population
from gongzhi.resources.rules import provider_ids

from . import forms
from .middleware import SESSION_KEY


def _staff_place(request) -> Place:
    """The current place of a staff user; users without a staff role get a 403."""
    if not request.user.is_authenticated:
        raise PermissionDenied
    place = request.place
    if not place:
        raise PermissionDenied(_("您没有可以工作的区划"))
    return place


# --- accounts ---------------------------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = forms.PhoneLoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


def code_login(request):
    """Log in with a one-time SMS code (step 1 sends, step 2 verifies)."""
    sent = False
    form = forms.CodeLoginForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get("action") == "send":
            send_form = forms.CodeRequestForm(request.POST)
            form = forms.CodeLoginForm(initial={"phone": request.POST.get("phone", "")})
            if send_form.is_valid():
                try:
                    services.otp_send(phone=send_form.cleaned_data["phone"])
                    sent = True
                    messages.info(request, _("验证码已发送，5 分钟内有效。"))
                except DomainError as exc:
                    form.add_error("phone", exc.message)
            else:
                form.errors.update(send_form.errors)
        elif form.is_valid():
            phone, code = form.cleaned_data["phone"], form.cleaned_data["code"]
            user = User.objects.filter(phone=phone, is_active=True).first()
            if user is None:
                form.add_error("phone", _("该手机号还没有账号，请先认领账号。"))
            elif not services.otp_verify(phone=phone, code=code):
                form.add_error("code", _("验证码不正确或已过期。"))
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect("home")
            sent = True
    return render(request, "web/code_login.html", {"form": form, "sent": sent})


def account_claim(request):
    """A resident registered at the desk claims an account with their phone number."""
    form = forms.ClaimForm(request.POST or None)
    sent = False
    if request.method == "POST":
        if request.POST.get("action") == "send":
            send_form = forms.CodeRequestForm(request.POST)
            form = forms.ClaimForm(initial={"phone": request.POST.get("phone", "")})
            if send_form.is_valid():
                try:
                    services.otp_send(phone=send_form.cleaned_data["phone"], purpose="claim")
                    sent = True
                    messages.info(request, _("验证码已发送，5 分钟内有效。"))
                except DomainError as exc:
                    form.add_error("phone", exc.message)
            else:
                form.errors.update(send_form.errors)
        elif form.is_valid():
            sent = True
            phone = form.cleaned_data["phone"]
            if not services.otp_verify(phone=phone, code=form.cleaned_data["code"], purpose="claim"):
                form.add_error("code", _("验证码不正确或已过期。"))
            else:
                try:
                    user = services.account_claim(phone=phone, password=form.cleaned_data["password"])
                except DomainError as exc:
                    _apply_errors(form, exc)
                else:
                    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                    messages.success(request, _("账号已开通。"))
                    return redirect("home")
    return render(request, "web/claim.html", {"form": form, "sent": sent})


@login_required
def home(request):
    if request.place:
        return redirect("staff_home")
    if selectors.resident_of_user(user=request.user):
        return redirect("resident_home")
    if provider_ids(request.user):
        return redirect("partner_home")
    grants = request.user.grants.select_related("place").order_by("place_id")
    return render(request, "web/no_role.html", {"grants": grants})


# --- staff ------------------------------------------------------------------------------------------------------


@login_required
def staff_home(request):
    place = _staff_place(request)
    ancestors = place_selectors.place_ancestors(place=place)
    children = list(place_selectors.place_children(place=place))
    child_len = codes.PREFIX_LENGTH[children[0].level] if children else None
    visible = selectors.residents_visible(user=request.user, place=place).order_by()
    counts: dict[str, int] = {}
    if child_len:
        for row in visible.annotate(k=Substr("community_id", 1, child_len)).values("k").annotate(n=Count("id")):
            counts[row["k"]] = row["n"]
    by_household = {r["household"]: r["n"] for r in visible.values("household").annotate(n=Count("id"))}
    latest_year = (
        Population.objects.filter(place__code__startswith=place.prefix).aggregate(y=Max("year"))["y"]
        or timezone.localdate().year
    )
    pop_by_child: dict[str, int] = {}
    if child_len:
        for key, population in (
            Population.objects.filter(place__code__startswith=place.prefix, year=latest_year)
            .annotate(k=Substr("place_id", 1, child_len))
            .values_list("k", "population")
        ):
            pop_by_child[key] = pop_by_child.get(key, 0) + population
    rows = [
        {"place": c, "residents": counts.get(c.prefix, 0), "population": pop_by_child.get(c.prefix)} for c in children
    ]
    total = sum(by_household.values())
    return render(
        request,
        "web/staff_home.html",
        {
            "place": place,
            "ancestors": ancestors,
            "rows": rows,
            "total": total,
            "locals": by_household.get(Household.LOCAL, 0),
            "new_citizens": by_household.get(Household.NEW_CITIZEN, 0),
            "population_year": latest_year,
            "switchable": selectors.staff_places_switchable(user=request.user),
            "grant_count": selectors.grants_visible(user=request.user, place=place).count(),
        },
    )


@login_required
@require_POST
def place_switch(request):
    code = request.POST.get("code", "")
    place = place_selectors.place_get(code=code) if codes.CODE_RE.match(code) else None
    if place is None or not request.user.has_perm("places.manage_place", place):
        messages.error(request, _("您无权切换到该区划。"))
    else:
        request.session[SESSION_KEY] = place.code
        messages.success(request, _("已切换到 %(name)s") % {"name": place.name})
    target = request.POST.get("next") or "staff_home"
    return redirect(target if target.startswith("/") and not target.startswith("//") else "staff_home")


def _communities_for(request, place: Place):
    return [
        p
        for p in place_selectors.place_subtree(place=place, level="community")
        if request.user.has_perm("people.add_resident", p)
    ]


@login_required
def resident_list(request):
    place = _staff_place(request)
    community_code = request.GET.get("community", "")
    scope = place
    if community_code:
        chosen = place_selectors.place_get(code=community_code) if codes.CODE_RE.match(community_code) else None
        if chosen is not None and place.covers(chosen.code):
            scope = chosen
    household = request.GET.get("household", "")
    if household not in Household.values:
        household = ""
    q = request.GET.get("q", "")[:40]
    include_left = request.GET.get("left") == "1"
    residents = selectors.residents_visible(
        user=request.user, place=scope, search=q, household=household, include_left=include_left
    )
    page = Paginator(residents, 50).get_page(request.GET.get("page"))
    context = {
        "place": place,
        "page": page,
        "q": q,
        "household": household,
        "community": scope.code,
        "communities": place_selectors.place_subtree(place=place, level="community"),
        "households": Household.choices,
        "include_left": include_left,
    }
    template = "web/_resident_table.html" if request.headers.get("HX-Request") else "web/resident_list.html"
    return render(request, template, context)


@login_required
def resident_new(request):
    place = _staff_place(request)
    communities = _communities_for(request, place)
    if not communities:
        raise PermissionDenied
    form = forms.ResidentForm(
        request.POST or None, communities=communities, initial={"ref": f"R{secrets.token_hex(6).upper()}"}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        community = next(p for p in communities if p.code == data["community"])
        try:
            resident = services.resident_register(
                actor=request.user,
                ref=data["ref"],
                community=community,
                name=data["name"],
                phone=data["phone"] or "",
                registered_on=data["registered_on"],
                household=data["household"],
                gender=data["gender"] or "",
                birth_year=data["birth_year"],
                id_number=data["id_number"],
            )
        except DomainError as exc:
            already = data["ref"] and exc.code == "duplicate_ref"
            existing = (
                selectors.residents_visible(user=request.user).filter(ref=data["ref"]).first() if already else None
            )
            if existing is not None:
                messages.info(request, _("该居民已登记（重复提交）"))
                return redirect("resident_detail", resident_id=existing.pk)
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已登记居民 %(name)s") % {"name": resident.masked_name})
            return redirect("resident_detail", resident_id=resident.pk)
    return render(request, "web/resident_form.html", {"form": form, "place": place, "title": _("登记居民")})


def _resident_or_404(request, resident_id):
    try:
        return selectors.resident_get(user=request.user, resident_id=resident_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
def resident_detail(request, resident_id):
    _staff_place(request)
    resident = _resident_or_404(request, resident_id)
    consents = list(Consent.objects.filter(resident=resident).order_by("-given_at"))
    return render(request, "web/resident_detail.html", {"resident": resident, "consents": consents})


@login_required
@require_POST
def resident_reveal(request, resident_id):
    _staff_place(request)
    resident = _resident_or_404(request, resident_id)
    if not request.user.has_perm("people.view_resident_personal", resident):
        raise PermissionDenied
    revealed = services.resident_reveal(actor=request.user, resident=resident)
    consents = list(Consent.objects.filter(resident=resident).order_by("-given_at"))
    return render(
        request,
        "web/resident_detail.html",
        {"resident": resident, "revealed": revealed, "consents": consents},
    )


@login_required
def resident_edit(request, resident_id):
    place = _staff_place(request)
    resident = _resident_or_404(request, resident_id)
    if not request.user.has_perm("people.change_resident", resident):
        raise PermissionDenied
    communities = _communities_for(request, place)
    if resident.community not in communities:
        communities = [resident.community, *communities]
    initial = {
        "name": resident.name,
        "community": resident.community_id,
        "phone": resident.phone,
        "household": resident.household,
        "gender": resident.gender,
        "birth_year": resident.birth_year,
        "registered_on": resident.registered_on,
        "left_on": resident.left_on,
    }
    form = forms.ResidentForm(request.POST or None, initial=initial, communities=communities)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        community = next(p for p in communities if p.code == data["community"])
        try:
            services.resident_update(
                actor=request.user,
                resident=resident,
                name=data["name"],
                phone=data["phone"] or "",
                community=community,
                household=data["household"],
                gender=data["gender"] or "",
                birth_year=data["birth_year"],
                registered_on=data["registered_on"],
                left_on=data["left_on"],
                id_number=data["id_number"] or None,
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("resident_detail", resident_id=resident.pk)
    return render(
        request,
        "web/resident_form.html",
        {"form": form, "place": place, "title": _("修改居民信息"), "resident": resident},
    )


@login_required
@require_POST
def resident_erase(request, resident_id):
    _staff_place(request)
    resident = _resident_or_404(request, resident_id)
    if not request.user.has_perm("people.change_resident", resident):
        raise PermissionDenied
    if request.POST.get("confirm") != "1":
        messages.error(request, _("请勾选确认后再删除。"))
    else:
        services.resident_erase(actor=request.user, resident=resident)
        messages.success(request, _("已删除该居民的个人信息"))
    return redirect("resident_detail", resident_id=resident.pk)


@login_required
def grant_list(request):
    place = _staff_place(request)
    if not request.user.has_perm("people.view_rolegrant", place):
        raise PermissionDenied
    places = list(place_selectors.place_subtree(place=place)[:1000])
    form = forms.GrantForm(request.POST or None, places=places)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        target = next(p for p in places if p.code == data["place"])
        candidate = RoleGrant(place=target, role=data["role"])
        if not request.user.has_perm("people.add_rolegrant", candidate):
            form.add_error("role", _("您无权在该区划授予这一角色。"))
        else:
            try:
                user = services.user_for_grant(phone=data["phone"], display_name=data["display_name"])
                services.role_grant(actor=request.user, user=user, place=target, role=data["role"])
            except DomainError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("已授予角色"))
                return redirect("grant_list")
    grants = [
        (g, request.user.has_perm("people.delete_rolegrant", g) and g.user_id != request.user.pk)
        for g in selectors.grants_visible(user=request.user, place=place)
    ]
    return render(request, "web/grant_list.html", {"place": place, "grants": grants, "form": form})


@login_required
@require_POST
def grant_revoke(request, grant_id):
    _staff_place(request)
    grant = RoleGrant.objects.select_related("user", "place").filter(pk=grant_id).first()
    if grant is None or not request.user.has_perm("people.delete_rolegrant", grant):
        raise Http404
    if grant.user_id == request.user.id:
        messages.error(request, _("不能撤销自己的角色。"))
    else:
        services.role_revoke(actor=request.user, grant=grant)
        messages.success(request, _("已撤销角色"))
    return redirect("grant_list")


@login_required
def audit_list(request):
    place = _staff_place(request)
    if not request.user.has_perm("core.view_auditevent", place):
        raise PermissionDenied
    events = AuditEvent.objects.filter(place_code__startswith=place.prefix).select_related("actor")
    action = request.GET.get("action", "")
    if action in AuditEvent.Action.values:
        events = events.filter(action=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "web/audit_list.html",
        {"place": place, "page": page, "actions": AuditEvent.Action.choices, "action": action},
    )


# --- residents on their phones ----------------------------------------------------------------------------------


@login_required
def resident_home(request):
    resident = selectors.resident_of_user(user=request.user)
    if resident is None:
        return render(request, "web/no_role.html")
    active = {c.purpose: c for c in Consent.objects.filter(resident=resident, withdrawn_at__isnull=True)}
    ancestors = place_selectors.place_ancestors(place=resident.community)
    return render(
        request,
        "web/resident_home.html",
        {
            "resident": resident,
            "ancestors": ancestors,
            "consents": [(value, label, active.get(value)) for value, label in Consent.Purpose.choices],
            "consent_version": Consent.CURRENT_VERSION,
        },
    )


@login_required
@require_POST
def my_consent(request):
    resident = selectors.resident_of_user(user=request.user)
    purpose = request.POST.get("purpose", "")
    if resident is None or purpose not in Consent.Purpose.values:
        raise Http404
    if request.POST.get("give") == "1":
        services.consent_give(resident=resident, purpose=purpose, version=Consent.CURRENT_VERSION, actor=request.user)
        messages.success(request, _("已记录您的同意"))
    else:
        services.consent_withdraw(resident=resident, purpose=purpose, actor=request.user)
        messages.success(request, _("已撤回同意"))
    return redirect("resident_home")


@login_required
@require_POST
def my_erase(request):
    """A resident erases their personal data and account (PIPL: right to deletion)."""
    resident = selectors.resident_of_user(user=request.user)
    if resident is None:
        raise Http404
    if request.POST.get("confirm") != "1":
        messages.error(request, _("请勾选确认后再删除。"))
        return redirect("resident_home")
    services.resident_erase(actor=request.user, resident=resident)
    logout(request)
    messages.success(request, _("您的个人信息和账号已删除。"))
    return redirect("login")


@login_required
def my_export(request):
    """A resident downloads everything gongzhi holds about them (PIPL: right to a copy)."""
    resident = selectors.resident_of_user(user=request.user)
    if resident is None:
        raise Http404
    data = {
        "ref": resident.ref,
        "name": resident.name,
        "phone": resident.phone,
        "community": {"code": resident.community_id, "name": resident.community.name},
        "registered_on": resident.registered_on.isoformat(),
        "left_on": resident.left_on.isoformat() if resident.left_on else None,
        "gender": resident.gender,
        "birth_year": resident.birth_year,
        "household": resident.household,
        "id_number": resident.id_number(),
        "consents": [
            {
                "purpose": c.purpose,
                "version": c.version,
                "given_at": c.given_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
            }
            for c in Consent.objects.filter(resident=resident)
        ],
        "roles": [{"role": g.role, "place": g.place_id} for g in request.user.grants.all()],
    }
    services.resident_reveal(actor=request.user, resident=resident)
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="gongzhi-my-data.json"'
    return response
