"""Providers API: providers (资源方), their resources, partner accounts, pairings (结对) and their delivery record.

A provider, resource or pairing the caller may not see does not exist for them (404); one they see but may not change
answers 403. Creating the same provider, resource, pairing or delivery twice returns the first (a retry is safe).
Partner accounts are listed with masked phone numbers.
"""

import datetime
import uuid
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, NotFound, PermissionDenied
from gongzhi.people import protection
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import Pairing, PairingDelivery, Provider, ProviderKind, Resource, ResourceKind
from ..rules import manages_unplaced_provider
from ..selectors import providers as selectors
from ..services import providers as services
from .base import router

# --- schemas ----------------------------------------------------------------------------------------------------


class PlaceRefOut(Schema):
    code: str
    name: str
    level: str


class ProviderOut(Schema):
    id: uuid.UUID
    ref: str
    name: str
    kind: ProviderKind
    kind_label: str
    place_code: str | None = Field(..., description="登记区划（导入的资源方为空）")
    place_name: str | None
    description: str
    contact_name: str
    contact_phone: str
    active: bool
    resource_count: int = Field(..., description="有效资源数")
    pairing_count: int = Field(..., description="结对数")

    @staticmethod
    def resolve_kind_label(obj: Provider) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_place_code(obj: Provider) -> str | None:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: Provider) -> str | None:
        return obj.place.name if obj.place is not None else None

    @staticmethod
    def resolve_resource_count(obj: Provider) -> int:
        return int(getattr(obj, "resource_count", 0) or 0)

    @staticmethod
    def resolve_pairing_count(obj: Provider) -> int:
        return int(getattr(obj, "pairing_count", 0) or 0)


class ProviderFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="登记在该区划之下或服务该区划的资源方")
    area: str | None = Field(None, pattern=CODE_PATTERN, description="有资源服务该区划（或结对）的资源方")
    kind: ProviderKind | None = None
    active: bool | None = None
    q: str = Field("", max_length=40, description="名称包含，或编号等于")


class ProviderIn(Schema):
    place_code: str = Field(..., pattern=CODE_PATTERN, description="登记区划（其工作人员管理该资源方）")
    name: str = Field(..., min_length=1, max_length=100)
    kind: ProviderKind
    description: str = Field("", max_length=5000)
    contact_name: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=20)


class ProviderPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: ProviderKind | None = None
    description: str | None = Field(None, max_length=5000)
    contact_name: str | None = Field(None, max_length=50)
    contact_phone: str | None = Field(None, max_length=20)
    active: bool | None = None


class MemberOut(Schema):
    id: uuid.UUID
    phone_masked: str
    display_name: str
    has_logged_in: bool

    @staticmethod
    def resolve_phone_masked(obj: Any) -> str:
        return protection.mask_phone(obj.phone)

    @staticmethod
    def resolve_has_logged_in(obj: Any) -> bool:
        return obj.last_login is not None


class MemberIn(Schema):
    phone: str = Field(..., min_length=1, max_length=20, description="资源方工作人员的手机号（无账号时自动创建）")
    display_name: str = Field("", max_length=50)


class ResourceOut(Schema):
    id: uuid.UUID
    ref: str
    provider_id: uuid.UUID
    provider_name: str
    kind: ResourceKind
    kind_label: str
    name: str
    description: str
    service_area: list[PlaceRefOut]
    available_from: datetime.date | None
    available_until: datetime.date | None
    availability: str
    terms: str
    capacity: int | None = Field(..., description="每月可承接次数")
    active: bool

    @staticmethod
    def resolve_provider_name(obj: Resource) -> str:
        return obj.provider.name

    @staticmethod
    def resolve_kind_label(obj: Resource) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_service_area(obj: Resource) -> list[Place]:
        return list(obj.service_area.all())


class ResourceFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="登记在该区划之下或服务该区划的资源")
    area: str | None = Field(None, pattern=CODE_PATTERN, description="服务该区划（含其上级街道、下级社区）的资源")
    provider_id: uuid.UUID | None = None
    kind: ResourceKind | None = None
    active: bool | None = None
    q: str = Field("", max_length=40)


class ResourceIn(Schema):
    kind: ResourceKind
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    service_area: list[str] = Field(default_factory=list, max_length=200, description="服务的街道、社区的 12 位代码")
    available_from: datetime.date | None = None
    available_until: datetime.date | None = None
    availability: str = Field("", max_length=200, description="如：每周六上午")
    terms: str = Field("", max_length=300, description="如：免费、需提前两周预约")
    capacity: int | None = Field(None, ge=1, description="每月可承接次数")


class ResourcePatch(Schema):
    kind: ResourceKind | None = None
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    service_area: list[str] | None = Field(None, max_length=200)
    available_from: datetime.date | None = None
    available_until: datetime.date | None = None
    availability: str | None = Field(None, max_length=200)
    terms: str | None = Field(None, max_length=300)
    capacity: int | None = Field(None, ge=1)


class PairingOut(Schema):
    id: uuid.UUID
    provider_id: uuid.UUID
    provider_name: str
    place: PlaceRefOut
    starts_on: datetime.date
    ends_on: datetime.date | None
    commitments: str
    deliveries_count: int
    delivered_quantity: int | None = Field(..., description="履约记录的数量合计")

    @staticmethod
    def resolve_provider_name(obj: Pairing) -> str:
        return obj.provider.name

    @staticmethod
    def resolve_deliveries_count(obj: Pairing) -> int:
        return int(getattr(obj, "deliveries_count", 0) or 0)

    @staticmethod
    def resolve_delivered_quantity(obj: Pairing) -> int | None:
        return getattr(obj, "delivered_quantity", None)


class PairingFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="与该区划（或其所在街道）的结对")
    provider_id: uuid.UUID | None = None
    current_on: datetime.date | None = Field(None, description="在这一天有效的结对")


class PairingIn(Schema):
    provider_id: uuid.UUID
    place_code: str = Field(..., pattern=CODE_PATTERN, description="结对的街道或社区")
    starts_on: datetime.date
    ends_on: datetime.date | None = None
    commitments: str = Field(..., min_length=1, max_length=5000)


class PairingEndIn(Schema):
    ends_on: datetime.date


class DeliveryOut(Schema):
    id: uuid.UUID
    pairing_id: uuid.UUID
    delivered_on: datetime.date
    description: str
    quantity: int | None
    recorded_at: datetime.datetime

    @staticmethod
    def resolve_recorded_at(obj: PairingDelivery) -> datetime.datetime:
        return obj.created_at


class DeliveryIn(Schema):
    delivered_on: datetime.date
    description: str = Field(..., min_length=1, max_length=300)
    quantity: int | None = Field(None, ge=1, description="如：讲座场次、服务人次")


# --- helpers ----------------------------------------------------------------------------------------------------


def _require(request: ApiRequest, perm: str, obj: Any, field: str | None = None) -> None:
    if not request.auth.has_perm(perm, obj):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={field: [message]} if field else None)


def _place(code: str | None, field: str) -> Place:
    place = place_selectors.place_get(code=code) if code and codes.CODE_RE.match(code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={field: [_("找不到该区划代码")]})
    return place


def _area(codes_given: list[str]) -> list[Place]:
    wanted = sorted(set(codes_given))
    bad = [c for c in wanted if not codes.CODE_RE.match(c)]
    found = {p.code: p for p in Place.objects.filter(code__in=[c for c in wanted if c not in bad])}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise DomainError(
            _("提交的数据有误"),
            fields={"service_area": [_("找不到区划代码：%(codes)s") % {"codes": "、".join(missing)}]},
        )
    return [found[c] for c in wanted]


def _provider_out(request: ApiRequest, provider_id: Any) -> Provider:
    return selectors.provider_get(user=request.auth, provider_id=provider_id)


def _resource_out(request: ApiRequest, resource_id: Any) -> Resource:
    return selectors.resource_get(user=request.auth, resource_id=resource_id)


def _pairing_out(request: ApiRequest, pairing_id: Any) -> Pairing:
    return selectors.pairing_get(user=request.auth, pairing_id=pairing_id)


def _filter_place(request: ApiRequest, code: str | None) -> Place | None:
    return place_selectors.place_for_user(user=request.auth, code=code) if code else None


def _any_place(code: str | None) -> Place | None:
    """A place named in a filter (its records are still limited to what the caller sees)."""
    if not code:
        return None
    place = place_selectors.place_get(code=code)
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={"area": [_("找不到该区划代码")]})
    return place


# --- providers --------------------------------------------------------------------------------------------------


@router.get("/providers", response={200: list[ProviderOut], **errors(400, 401, 404, 422)}, summary="资源方")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def provider_list(request: ApiRequest, filters: Query[ProviderFilters]) -> Any:
    return selectors.providers_visible(
        user=request.auth,
        place=_filter_place(request, filters.place),
        area=_any_place(filters.area),
        kind=filters.kind or "",
        active=filters.active,
        search=filters.q,
    )


@router.get(
    "/partner/providers",
    response={200: list[ProviderOut], **errors(401, 422)},
    summary="我代表的资源方（资源方账号）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def partner_provider_list(request: ApiRequest) -> Any:
    return selectors.partner_providers(user=request.auth)


@router.post(
    "/providers",
    response={201: ProviderOut, **errors(400, 401, 403, 409, 422)},
    summary="登记资源方",
    description="同一区划下重复提交同一资源方返回已有记录；同名但内容不同返回 409（duplicate_name）。",
)
def provider_create(request: ApiRequest, payload: ProviderIn) -> Any:
    place = _place(payload.place_code, "place_code")
    _require(request, "resources.add_provider", place, "place_code")
    provider = services.provider_create(
        actor=request.auth,
        place=place,
        name=payload.name,
        kind=payload.kind,
        description=payload.description,
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
    )
    return Status(201, _provider_out(request, provider.pk))


@router.get("/providers/{provider_id}", response={200: ProviderOut, **errors(401, 404, 422)}, summary="一个资源方")
def provider_detail(request: ApiRequest, provider_id: uuid.UUID) -> Any:
    return _provider_out(request, provider_id)


@router.patch(
    "/providers/{provider_id}",
    response={200: ProviderOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改资源方",
    description="只修改给出的字段；active=false 停用。",
)
def provider_patch(request: ApiRequest, provider_id: uuid.UUID, payload: ProviderPatch) -> Any:
    provider = _provider_out(request, provider_id)
    _require(request, "resources.change_provider", provider)
    changes = {name: getattr(payload, name) for name in payload.model_fields_set}
    for name, value in changes.items():
        if value is None:
            raise DomainError(_("提交的数据有误"), fields={name: [_("不能为空")]})
    services.provider_update(actor=request.auth, provider=provider, **changes)
    return _provider_out(request, provider_id)


def _members_manager(request: ApiRequest, provider: Provider) -> None:
    """Partner accounts are added and removed by the staff who manage the provider (not by its partners)."""
    if not manages_unplaced_provider(request.auth, provider):
        message = _("只有管理该资源方的工作人员可以管理资源方账号")
        raise PermissionDenied(message)


@router.get(
    "/providers/{provider_id}/members",
    response={200: list[MemberOut], **errors(401, 403, 404, 422)},
    summary="资源方账号",
)
def provider_member_list(request: ApiRequest, provider_id: uuid.UUID) -> Any:
    provider = _provider_out(request, provider_id)
    _members_manager(request, provider)
    return selectors.provider_members(user=request.auth, provider=provider)


@router.post(
    "/providers/{provider_id}/members",
    response={201: MemberOut, **errors(400, 401, 403, 404, 422)},
    summary="添加资源方账号",
    description="按手机号关联账号（无账号时创建，本人用短信验证码设置密码），并授予“资源方”角色。重复添加不变。",
)
def provider_member_add(request: ApiRequest, provider_id: uuid.UUID, payload: MemberIn) -> Any:
    provider = _provider_out(request, provider_id)
    _members_manager(request, provider)
    user = services.provider_member_add(
        actor=request.auth, provider=provider, phone=payload.phone, display_name=payload.display_name
    )
    return Status(201, user)


@router.delete(
    "/providers/{provider_id}/members/{user_id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="移除资源方账号",
)
def provider_member_remove(request: ApiRequest, provider_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    provider = _provider_out(request, provider_id)
    _members_manager(request, provider)
    user = provider.members.filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("该账号不是此资源方的账号"))
    services.provider_member_remove(actor=request.auth, provider=provider, user=user)
    return Status(204, None)


# --- resources --------------------------------------------------------------------------------------------------


@router.get("/resources", response={200: list[ResourceOut], **errors(400, 401, 404, 422)}, summary="资源")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def resource_list(request: ApiRequest, filters: Query[ResourceFilters]) -> Any:
    provider = _provider_out(request, filters.provider_id) if filters.provider_id else None
    return selectors.resources_visible(
        user=request.auth,
        place=_filter_place(request, filters.place),
        area=_any_place(filters.area),
        provider=provider,
        kind=filters.kind or "",
        active=filters.active,
        search=filters.q,
    )


@router.post(
    "/providers/{provider_id}/resources",
    response={201: ResourceOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="添加资源",
    description="服务范围为街道或社区的代码。重复提交同一资源返回已有记录；同名同类但内容不同返回 409。",
)
def resource_create(request: ApiRequest, provider_id: uuid.UUID, payload: ResourceIn) -> Any:
    provider = _provider_out(request, provider_id)
    _require(request, "resources.add_resource", provider)
    resource = services.resource_create(
        actor=request.auth,
        provider=provider,
        kind=payload.kind,
        name=payload.name,
        description=payload.description,
        service_area=_area(payload.service_area),
        available_from=payload.available_from,
        available_until=payload.available_until,
        availability=payload.availability,
        terms=payload.terms,
        capacity=payload.capacity,
    )
    return Status(201, _resource_out(request, resource.pk))


@router.get("/resources/{resource_id}", response={200: ResourceOut, **errors(401, 404, 422)}, summary="一项资源")
def resource_detail(request: ApiRequest, resource_id: uuid.UUID) -> Any:
    return _resource_out(request, resource_id)


@router.patch(
    "/resources/{resource_id}",
    response={200: ResourceOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改资源",
    description="只修改给出的字段；service_area 给出时替换全部服务范围。",
)
def resource_patch(request: ApiRequest, resource_id: uuid.UUID, payload: ResourcePatch) -> Any:
    resource = _resource_out(request, resource_id)
    _require(request, "resources.change_resource", resource)
    given = payload.model_fields_set
    changes = {name: getattr(payload, name) for name in given if name != "service_area"}
    for name in ("kind", "name", "description", "availability", "terms"):
        if name in changes and changes[name] is None:
            raise DomainError(_("提交的数据有误"), fields={name: [_("不能为空")]})
    area = _area(payload.service_area or []) if "service_area" in given else None
    services.resource_update(actor=request.auth, resource=resource, service_area=area, **changes)
    return _resource_out(request, resource_id)


@router.post(
    "/resources/{resource_id}/deactivate",
    response={200: ResourceOut, **errors(401, 403, 404, 422)},
    summary="停用资源",
    description="停用后不再参与匹配和新活动，历史记录保留。重复停用不变。",
)
def resource_deactivate(request: ApiRequest, resource_id: uuid.UUID) -> Any:
    resource = _resource_out(request, resource_id)
    _require(request, "resources.change_resource", resource)
    services.resource_deactivate(actor=request.auth, resource=resource)
    return _resource_out(request, resource_id)


# --- pairings ---------------------------------------------------------------------------------------------------


@router.get("/pairings", response={200: list[PairingOut], **errors(401, 404, 422)}, summary="结对")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def pairing_list(request: ApiRequest, filters: Query[PairingFilters]) -> Any:
    provider = _provider_out(request, filters.provider_id) if filters.provider_id else None
    return selectors.pairings_visible(
        user=request.auth,
        place=_filter_place(request, filters.place),
        provider=provider,
        current_on=filters.current_on,
    )


@router.post(
    "/pairings",
    response={201: PairingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="建立结对",
    description="资源方与街道或社区结对。同一资源方、区划和开始日期重复提交返回已有记录；期间重叠返回 409。",
)
def pairing_create(request: ApiRequest, payload: PairingIn) -> Any:
    provider = _provider_out(request, payload.provider_id)
    place = _place(payload.place_code, "place_code")
    _require(request, "resources.add_pairing", place, "place_code")
    pairing = services.pairing_create(
        actor=request.auth,
        provider=provider,
        place=place,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        commitments=payload.commitments,
    )
    return Status(201, _pairing_out(request, pairing.pk))


@router.get("/pairings/{pairing_id}", response={200: PairingOut, **errors(401, 404, 422)}, summary="一项结对")
def pairing_detail(request: ApiRequest, pairing_id: uuid.UUID) -> Any:
    return _pairing_out(request, pairing_id)


@router.post(
    "/pairings/{pairing_id}/end",
    response={200: PairingOut, **errors(400, 401, 403, 404, 422)},
    summary="结束结对",
)
def pairing_end(request: ApiRequest, pairing_id: uuid.UUID, payload: PairingEndIn) -> Any:
    pairing = _pairing_out(request, pairing_id)
    _require(request, "resources.change_pairing", pairing)
    services.pairing_end(actor=request.auth, pairing=pairing, ends_on=payload.ends_on)
    return _pairing_out(request, pairing_id)


@router.get(
    "/pairings/{pairing_id}/deliveries",
    response={200: list[DeliveryOut], **errors(401, 404, 422)},
    summary="结对履约记录",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def delivery_list(request: ApiRequest, pairing_id: uuid.UUID) -> Any:
    pairing = _pairing_out(request, pairing_id)
    return selectors.deliveries_of_pairing(user=request.auth, pairing=pairing)


@router.post(
    "/pairings/{pairing_id}/deliveries",
    response={201: DeliveryOut, **errors(400, 401, 403, 404, 422)},
    summary="登记结对履约",
    description="工作人员或资源方账号登记。日期须在结对期间内且不晚于今天；重复提交同一记录不会重复登记。",
)
def delivery_record(request: ApiRequest, pairing_id: uuid.UUID, payload: DeliveryIn) -> Any:
    pairing = _pairing_out(request, pairing_id)
    _require(request, "resources.record_delivery", pairing)
    delivery = services.delivery_record(
        actor=request.auth,
        pairing=pairing,
        delivered_on=payload.delivered_on,
        description=payload.description,
        quantity=payload.quantity,
    )
    return Status(201, delivery)
