"""Pages of providers (资源方), their resources, partner accounts and pairings (结对), for staff and for the resource
partners themselves ("我的资源"). Thin views: parse the input, check a permission, call one service or selector, render.

URL names: staff — provider_list, provider_new, pairing_list, pairing_new, pairing_end, provider_member_add,
provider_member_remove; staff or the provider's partner — provider_detail, provider_edit, resource_new, resource_edit,
resource_deactivate, pairing_detail, pairing_delivery_add; partners — partner_home.
"""

from __future__ import annotations

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
from gongzhi.core.pages import apply_errors
from gongzhi.core.pages import staff_place as _staff_place
from gongzhi.people import access, protection
from gongzhi.places.models import Place

from ..models import Pairing, Provider, ProviderKind, Resource, ResourceKind
from ..rules import manages_unplaced_provider
from ..selectors import providers as selectors
from ..services import providers as services

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
AREA_LIMIT = 500

# --- forms ------------------------------------------------------------------------------------------------------


class ProviderForm(forms.Form):
    place = forms.ChoiceField(label=gettext_lazy("登记区划"))
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=ProviderKind.choices)
    description = forms.CharField(
        label=gettext_lazy("简介"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    contact_name = forms.CharField(label=gettext_lazy("联系人"), max_length=50, required=False)
    contact_phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=20, required=False)
    active = forms.BooleanField(label=gettext_lazy("有效（取消勾选即停用该资源方）"), required=False)

    def __init__(self, *args: Any, places: list[Place] | None = None, with_active: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.places = {p.code: p for p in places or []}
        if not with_active:
            del self.fields["active"]
        if places is None:
            del self.fields["place"]
        else:
            field = self.fields["place"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(p.code, f"{p.name}（{p.get_level_display()}）") for p in places]


class MemberForm(forms.Form):
    phone = forms.CharField(label=gettext_lazy("手机号"), max_length=20)
    display_name = forms.CharField(label=gettext_lazy("姓名"), max_length=50, required=False)


class ResourceForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=ResourceKind.choices)
    name = forms.CharField(label=gettext_lazy("名称"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    service_area = forms.MultipleChoiceField(
        label=gettext_lazy("服务范围"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("服务的街道和社区；选择街道即覆盖其下所有社区"),
    )
    available_from = forms.DateField(label=gettext_lazy("可用起始日"), required=False, widget=DATE_INPUT)
    available_until = forms.DateField(label=gettext_lazy("可用截止日"), required=False, widget=DATE_INPUT)
    availability = forms.CharField(
        label=gettext_lazy("可用时间"), max_length=200, required=False, help_text=gettext_lazy("如：每周六上午")
    )
    terms = forms.CharField(
        label=gettext_lazy("条件"), max_length=300, required=False, help_text=gettext_lazy("如：免费、需提前两周预约")
    )
    capacity = forms.IntegerField(label=gettext_lazy("每月可承接次数"), min_value=1, required=False)

    def __init__(self, *args: Any, areas: list[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.areas = {p.code: p for p in areas}
        field = self.fields["service_area"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(p.code, _area_label(p)) for p in areas]

    def chosen_areas(self) -> list[Place]:
        return [self.areas[c] for c in self.cleaned_data.get("service_area") or []]


class PairingForm(forms.Form):
    place = forms.ChoiceField(label=gettext_lazy("结对街道/社区"))
    starts_on = forms.DateField(label=gettext_lazy("开始日期"), widget=DATE_INPUT)
    ends_on = forms.DateField(
        label=gettext_lazy("结束日期"), required=False, widget=DATE_INPUT, help_text=gettext_lazy("留空表示长期")
    )
    commitments = forms.CharField(
        label=gettext_lazy("承诺内容"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text=gettext_lazy("如：每季度一次金融知识讲座，每年资助 2 万元"),
    )

    def __init__(self, *args: Any, places: list[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.places = {p.code: p for p in places}
        field = self.fields["place"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(p.code, _area_label(p)) for p in places]


class PairingEndForm(forms.Form):
    ends_on = forms.DateField(label=gettext_lazy("结束日期"), widget=DATE_INPUT)


class DeliveryForm(forms.Form):
    delivered_on = forms.DateField(label=gettext_lazy("日期"), widget=DATE_INPUT)
    description = forms.CharField(label=gettext_lazy("内容"), max_length=300)
    quantity = forms.IntegerField(
        label=gettext_lazy("数量"), min_value=1, required=False, help_text=gettext_lazy("如：讲座场次、服务人次")
    )


def _area_label(place: Place) -> str:
    return f"{place.name}（{place.get_level_display()}）"


# --- helpers ----------------------------------------------------------------------------------------------------


def _provider(request: HttpRequest, provider_id: Any, perm: str = "") -> Provider:
    try:
        provider = selectors.provider_get(user=request.user, provider_id=provider_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if perm and not request.user.has_perm(perm, provider):
        raise PermissionDenied
    return provider


def _resource(request: HttpRequest, resource_id: Any, perm: str = "") -> Resource:
    try:
        resource = selectors.resource_get(user=request.user, resource_id=resource_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if perm and not request.user.has_perm(perm, resource):
        raise PermissionDenied
    return resource


def _pairing(request: HttpRequest, pairing_id: Any, perm: str = "") -> Pairing:
    try:
        pairing = selectors.pairing_get(user=request.user, pairing_id=pairing_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if perm and not request.user.has_perm(perm, pairing):
        raise PermissionDenied
    return pairing


def _staff_places(request: HttpRequest, perm: str, levels: tuple[str, ...] | None = None) -> list[Place]:
    """The current place, its subtree and, for a community, its street, that the user holds ``perm`` on."""
    place = _staff_place(request)
    qs = Place.objects.filter(code__startswith=place.prefix)
    if levels:
        qs = qs.filter(level__in=levels)
    found = list(qs.order_by("code")[:AREA_LIMIT])
    if place.parent_id and place.level == "community" and (not levels or "street" in levels):
        parent = Place.objects.filter(code=place.parent_id).first()
        if parent is not None:
            found.insert(0, parent)
    return [p for p in found if request.user.has_perm(perm, p)]


def _area_choices(provider: Provider, keep: list[Place] = ()) -> list[Place]:  # type: ignore[assignment]
    """Streets and communities a provider's resource may serve: those of the district it is registered in (or all of
    the province for a provider registered higher up, or imported), and any it already serves."""
    anchor = provider.place.code[:6] if provider.place is not None and provider.place.level != "province" else ""
    if provider.place is not None and provider.place.level in ("province", "city"):
        anchor = provider.place.prefix
    qs = Place.objects.filter(level__in=services.AREA_LEVELS)
    if anchor:
        qs = qs.filter(code__startswith=anchor)
    found = {p.code: p for p in qs.order_by("code")[:AREA_LIMIT]}
    for p in keep:
        found.setdefault(p.code, p)
    return sorted(found.values(), key=lambda p: p.code)


def _may_manage_members(request: HttpRequest, provider: Provider) -> bool:
    return bool(manages_unplaced_provider(request.user, provider))


def _flag(value: str) -> bool | None:
    return {"1": True, "0": False}.get(value)


# --- staff: providers -------------------------------------------------------------------------------------------


@login_required
def provider_list(request: HttpRequest) -> HttpResponse:
    place = _staff_place(request)
    kind = request.GET.get("kind", "")
    if kind not in ProviderKind.values:
        kind = ""
    area_code = request.GET.get("area", "")
    areas = list(Place.objects.filter(code__startswith=place.prefix, level__in=services.AREA_LEVELS).order_by("code"))
    area = next((p for p in areas if p.code == area_code), None)
    active_raw = request.GET.get("active", "1")
    active = _flag(active_raw)
    q = request.GET.get("q", "")[:40]
    providers = selectors.providers_visible(
        user=request.user, place=place, kind=kind, area=area, active=active, search=q
    )
    page = Paginator(providers, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "resources/providers/provider_list.html",
        {
            "place": place,
            "page": page,
            "kind": kind,
            "kinds": ProviderKind.choices,
            "areas": areas,
            "area": area.code if area else "",
            "active": active_raw if active is not None else "",
            "q": q,
            "may_add": bool(_staff_places(request, "resources.add_provider")),
            "pairing_count": selectors.pairings_visible(user=request.user, place=place).count(),
            "network_url": _url_if_exists("resource_network"),
        },
    )


@login_required
def provider_new(request: HttpRequest) -> HttpResponse:
    places = _staff_places(request, "resources.add_provider")
    if not places:
        raise PermissionDenied
    form = ProviderForm(request.POST or None, places=places, initial={"place": places[0].code if places else ""})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            provider = services.provider_create(
                actor=request.user,
                place=form.places[data["place"]],
                name=data["name"],
                kind=data["kind"],
                description=data["description"],
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已登记资源方：%(name)s") % {"name": provider.name})
            return redirect("provider_detail", provider_id=provider.pk)
    return render(
        request,
        "resources/providers/provider_form.html",
        {"form": form, "title": _("登记资源方")},
        status=400 if form.errors else 200,
    )


@login_required
def provider_detail(request: HttpRequest, provider_id: Any) -> HttpResponse:
    provider = _provider(request, provider_id)
    user = request.user
    may_manage_members = _may_manage_members(request, provider)
    pairings = list(selectors.pairings_visible(user=user, provider=provider))
    return render(
        request,
        "resources/providers/provider_detail.html",
        {
            "provider": provider,
            "resources": list(selectors.resources_visible(user=user, provider=provider)),
            "pairings": pairings,
            "deliveries": selectors.deliveries_of_provider(user=user, provider=provider, limit=20),
            "reach": selectors.provider_reach(provider=provider),
            "members": selectors.provider_members(user=user, provider=provider) if may_manage_members else [],
            "member_form": MemberForm() if may_manage_members else None,
            "may_change": user.has_perm("resources.change_provider", provider),
            "may_add_resource": provider.active and user.has_perm("resources.add_resource", provider),
            "may_pair": provider.active and access.is_staff(user) and bool(getattr(request, "place", None)),
            "may_manage_members": may_manage_members,
            "is_staff_user": access.is_staff(user),
        },
    )


@login_required
def provider_edit(request: HttpRequest, provider_id: Any) -> HttpResponse:
    provider = _provider(request, provider_id, "resources.change_provider")
    initial = {name: getattr(provider, name) for name in services.PROVIDER_FIELDS}
    form = ProviderForm(request.POST or None, initial=initial, with_active=_may_manage_members(request, provider))
    if request.method == "POST" and form.is_valid():
        try:
            services.provider_update(actor=request.user, provider=provider, **form.cleaned_data)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("provider_detail", provider_id=provider.pk)
    return render(
        request,
        "resources/providers/provider_form.html",
        {"form": form, "provider": provider, "title": _("修改资源方")},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def provider_member_add(request: HttpRequest, provider_id: Any) -> HttpResponse:
    provider = _provider(request, provider_id)
    if not _may_manage_members(request, provider):
        raise PermissionDenied
    form = MemberForm(request.POST)
    if form.is_valid():
        try:
            user = services.provider_member_add(
                actor=request.user,
                provider=provider,
                phone=form.cleaned_data["phone"],
                display_name=form.cleaned_data["display_name"],
            )
        except DomainError as exc:
            messages.error(request, next((m for ms in exc.fields.values() for m in ms), exc.message))
        else:
            messages.success(
                request,
                _("已添加资源方账号 %(phone)s；对方可用手机验证码认领账号后登录")
                % {"phone": protection.mask_phone(user.phone)},
            )
    else:
        messages.error(request, _("请填写手机号"))
    return redirect("provider_detail", provider_id=provider.pk)


@login_required
@require_POST
def provider_member_remove(request: HttpRequest, provider_id: Any, user_id: Any) -> HttpResponse:
    provider = _provider(request, provider_id)
    if not _may_manage_members(request, provider):
        raise PermissionDenied
    member = provider.members.filter(pk=user_id).first()
    if member is None:
        raise Http404
    services.provider_member_remove(actor=request.user, provider=provider, user=member)
    messages.success(request, _("已移除资源方账号 %(phone)s") % {"phone": protection.mask_phone(member.phone)})
    return redirect("provider_detail", provider_id=provider.pk)


# --- resources (staff or the provider's partner) ----------------------------------------------------------------


@login_required
def resource_new(request: HttpRequest, provider_id: Any) -> HttpResponse:
    provider = _provider(request, provider_id, "resources.add_resource")
    form = ResourceForm(request.POST or None, areas=_area_choices(provider))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("service_area")
        try:
            resource = services.resource_create(
                actor=request.user, provider=provider, service_area=form.chosen_areas(), **data
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已添加资源：%(name)s") % {"name": resource.name})
            return redirect("provider_detail", provider_id=provider.pk)
    return render(
        request,
        "resources/providers/resource_form.html",
        {"form": form, "provider": provider, "title": _("添加资源")},
        status=400 if form.errors else 200,
    )


@login_required
def resource_edit(request: HttpRequest, resource_id: Any) -> HttpResponse:
    resource = _resource(request, resource_id, "resources.change_resource")
    provider = resource.provider
    current = list(resource.service_area.all())
    initial: dict[str, Any] = {name: getattr(resource, name) for name in services.RESOURCE_FIELDS}
    initial["service_area"] = [p.code for p in current]
    form = ResourceForm(request.POST or None, areas=_area_choices(provider, current), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("service_area")
        try:
            services.resource_update(actor=request.user, resource=resource, service_area=form.chosen_areas(), **data)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("provider_detail", provider_id=provider.pk)
    return render(
        request,
        "resources/providers/resource_form.html",
        {"form": form, "provider": provider, "resource": resource, "title": _("修改资源")},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def resource_deactivate(request: HttpRequest, resource_id: Any) -> HttpResponse:
    resource = _resource(request, resource_id, "resources.change_resource")
    services.resource_deactivate(actor=request.user, resource=resource)
    messages.success(request, _("已停用资源：%(name)s") % {"name": resource.name})
    return redirect("provider_detail", provider_id=resource.provider_id)


# --- pairings ---------------------------------------------------------------------------------------------------


@login_required
def pairing_list(request: HttpRequest) -> HttpResponse:
    place = _staff_place(request)
    current = request.GET.get("current", "") == "1"
    pairings = selectors.pairings_visible(
        user=request.user, place=place, current_on=timezone.localdate() if current else None
    )
    page = Paginator(pairings, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "resources/providers/pairing_list.html",
        {"place": place, "page": page, "current": current, "today": timezone.localdate()},
    )


@login_required
def pairing_new(request: HttpRequest, provider_id: Any) -> HttpResponse:
    provider = _provider(request, provider_id)
    if not provider.active:
        raise PermissionDenied
    places = _staff_places(request, "resources.add_pairing", services.AREA_LEVELS)
    if not places:
        raise PermissionDenied
    form = PairingForm(request.POST or None, places=places, initial={"starts_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            pairing = services.pairing_create(
                actor=request.user,
                provider=provider,
                place=form.places[data["place"]],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                commitments=data["commitments"],
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已建立结对：%(place)s") % {"place": pairing.place.name})
            return redirect("pairing_detail", pairing_id=pairing.pk)
    return render(
        request,
        "resources/providers/pairing_form.html",
        {"form": form, "provider": provider, "title": _("建立结对")},
        status=400 if form.errors else 200,
    )


def _pairing_page(
    request: HttpRequest,
    pairing: Pairing,
    *,
    delivery_form: DeliveryForm | None = None,
    end_form: PairingEndForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    may_record = user.has_perm("resources.record_delivery", pairing)
    may_end = user.has_perm("resources.change_pairing", pairing)
    deliveries = selectors.deliveries_of_pairing(user=user, pairing=pairing)
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "resources/providers/pairing_detail.html",
        {
            "pairing": pairing,
            "page": page,
            "state": _pairing_state(pairing, today),
            "may_record": may_record,
            "may_end": may_end,
            "may_view_provider": _may_view_provider(request, pairing.provider_id),
            "delivery_form": delivery_form or (DeliveryForm(initial={"delivered_on": today}) if may_record else None),
            "end_form": end_form or (PairingEndForm(initial={"ends_on": today}) if may_end else None),
        },
        status=status,
    )


def _pairing_state(pairing: Pairing, today: Any) -> str:
    if pairing.starts_on > today:
        return "upcoming"
    if pairing.ends_on is not None and pairing.ends_on < today:
        return "ended"
    return "running"


def _may_view_provider(request: HttpRequest, provider_id: Any) -> bool:
    return selectors.providers_visible(user=request.user).filter(pk=provider_id).exists()


@login_required
def pairing_detail(request: HttpRequest, pairing_id: Any) -> HttpResponse:
    return _pairing_page(request, _pairing(request, pairing_id))


@login_required
@require_POST
def pairing_delivery_add(request: HttpRequest, pairing_id: Any) -> HttpResponse:
    pairing = _pairing(request, pairing_id, "resources.record_delivery")
    form = DeliveryForm(request.POST)
    if form.is_valid():
        try:
            services.delivery_record(actor=request.user, pairing=pairing, **form.cleaned_data)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已登记履约：%(what)s") % {"what": form.cleaned_data["description"]})
            return redirect("pairing_detail", pairing_id=pairing.pk)
    return _pairing_page(request, pairing, delivery_form=form, status=400)


@login_required
@require_POST
def pairing_end(request: HttpRequest, pairing_id: Any) -> HttpResponse:
    pairing = _pairing(request, pairing_id, "resources.change_pairing")
    form = PairingEndForm(request.POST)
    if form.is_valid():
        try:
            services.pairing_end(actor=request.user, pairing=pairing, ends_on=form.cleaned_data["ends_on"])
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("结对已结束"))
            return redirect("pairing_detail", pairing_id=pairing.pk)
    return _pairing_page(request, pairing, end_form=form, status=400)


# --- partners: 我的资源 ------------------------------------------------------------------------------------------


@login_required
def partner_home(request: HttpRequest) -> HttpResponse:
    """A resource partner's own page: the providers they speak for, their resources and their pairings."""
    providers = list(selectors.partner_providers(user=request.user))
    if not providers:
        raise Http404(_("您的账号还没有关联资源方"))
    resources = list(selectors.resources_visible(user=request.user).filter(provider__in=providers))
    pairings = list(selectors.pairings_visible(user=request.user).filter(provider__in=providers))
    today = timezone.localdate()
    by_provider: dict[Any, dict[str, Any]] = {p.pk: {"provider": p, "resources": [], "pairings": []} for p in providers}
    for r in resources:
        by_provider[r.provider_id]["resources"].append(r)
    for pairing in pairings:
        pairing.running = _pairing_state(pairing, today) == "running"  # type: ignore[attr-defined]
        by_provider[pairing.provider_id]["pairings"].append(pairing)
    return render(
        request,
        "resources/providers/partner_home.html",
        {"groups": list(by_provider.values()), "need_list_url": _url_if_exists("need_partner_list")},
    )


def _url_if_exists(name: str) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


urlpatterns: list[URLPattern] = [
    path("providers/", provider_list, name="provider_list"),
    path("providers/new/", provider_new, name="provider_new"),
    path("providers/<uuid:provider_id>/", provider_detail, name="provider_detail"),
    path("providers/<uuid:provider_id>/edit/", provider_edit, name="provider_edit"),
    path("providers/<uuid:provider_id>/members/", provider_member_add, name="provider_member_add"),
    path(
        "providers/<uuid:provider_id>/members/<uuid:user_id>/remove/",
        provider_member_remove,
        name="provider_member_remove",
    ),
    path("providers/<uuid:provider_id>/resources/new/", resource_new, name="resource_new"),
    path("providers/<uuid:provider_id>/pairings/new/", pairing_new, name="pairing_new"),
    path("providers/resources/<uuid:resource_id>/edit/", resource_edit, name="resource_edit"),
    path("providers/resources/<uuid:resource_id>/deactivate/", resource_deactivate, name="resource_deactivate"),
    path("providers/pairings/", pairing_list, name="pairing_list"),
    path("providers/pairings/<uuid:pairing_id>/", pairing_detail, name="pairing_detail"),
    path("providers/pairings/<uuid:pairing_id>/deliveries/", pairing_delivery_add, name="pairing_delivery_add"),
    path("providers/pairings/<uuid:pairing_id>/end/", pairing_end, name="pairing_end"),
    path("partner/", partner_home, name="partner_home"),
]
