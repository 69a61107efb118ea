"""People API: residents (masked; full personal data only through an audited reveal), role grants, the caller, tokens.

Endpoints are thin: parse, check the permission, call one selector or service. A resident the caller may not see is
"not found" (never "forbidden", which would tell that it exists).
"""

import datetime
import uuid
from typing import Any

import ninja.security
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import AuthenticationError
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status
from ninja.security import HttpBearer

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, PermissionDenied
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from . import access, protection, selectors, services
from .models import ApiToken, Gender, Household, Resident, Role, RoleGrant

# --- schemas ----------------------------------------------------------------------------------------------------


class ResidentOut(Schema):
    """A resident with personal data masked."""

    id: uuid.UUID
    ref: str
    community_code: str
    community_name: str
    name_masked: str
    phone_masked: str
    id_number_masked: str
    gender: Gender | None
    birth_year: int | None
    household: Household
    registered_on: datetime.date
    left_on: datetime.date | None

    @staticmethod
    def resolve_community_code(obj: Resident) -> str:
        return obj.community_id

    @staticmethod
    def resolve_community_name(obj: Resident) -> str:
        return obj.community.name

    @staticmethod
    def resolve_name_masked(obj: Resident) -> str:
        return obj.masked_name

    @staticmethod
    def resolve_phone_masked(obj: Resident) -> str:
        return obj.masked_phone

    @staticmethod
    def resolve_gender(obj: Resident) -> str | None:
        return obj.gender or None


class ResidentPersonalOut(Schema):
    """Full personal data of one resident (every reveal is written to the audit log)."""

    id: uuid.UUID
    name: str
    phone: str
    id_number: str


class ResidentFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="只看这个区划之下（12 位代码）")
    household: Household | None = None
    q: str = Field("", max_length=40, description="编号、姓名开头、完整手机号或完整身份证号")


class ResidentIn(Schema):
    community: str = Field(..., description="所在社区的 12 位区划代码")
    name: str = Field(..., min_length=1, max_length=50)
    household: Household
    registered_on: datetime.date | None = Field(None, description="登记日期，默认今天")
    phone: str = Field("", max_length=20)
    gender: Gender | None = None
    birth_year: int | None = None
    id_number: str = Field("", max_length=20)
    ref: str = Field("", max_length=64, description="编号，默认自动生成")


class ResidentPatch(Schema):
    """Only the fields sent are changed; ``id_number: ""`` clears the ID number."""

    community: str | None = None
    name: str | None = Field(None, min_length=1, max_length=50)
    household: Household | None = None
    registered_on: datetime.date | None = None
    left_on: datetime.date | None = None
    phone: str | None = Field(None, max_length=20)
    gender: Gender | None = None
    birth_year: int | None = None
    id_number: str | None = Field(None, max_length=20)


class GrantOut(Schema):
    id: uuid.UUID
    role: Role
    role_label: str
    place_code: str
    place_name: str
    user_id: uuid.UUID
    phone_masked: str
    display_name: str
    granted_at: datetime.datetime

    @staticmethod
    def resolve_role_label(obj: RoleGrant) -> str:
        return str(obj.get_role_display())

    @staticmethod
    def resolve_place_code(obj: RoleGrant) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: RoleGrant) -> str:
        return obj.place.name

    @staticmethod
    def resolve_phone_masked(obj: RoleGrant) -> str:
        return str(protection.mask_phone(obj.user.phone))

    @staticmethod
    def resolve_display_name(obj: RoleGrant) -> str:
        return obj.user.display_name

    @staticmethod
    def resolve_granted_at(obj: RoleGrant) -> datetime.datetime:
        return obj.created_at


class GrantFilters(Schema):
    place: str = Field(..., pattern=CODE_PATTERN, description="区划代码：列出其下及其上级的授权")


class GrantIn(Schema):
    phone: str = Field(..., max_length=20, description="被授权人的手机号；没有账号时会创建一个（无密码）")
    place_code: str = Field(..., pattern=CODE_PATTERN)
    role: Role
    display_name: str = Field("", max_length=50)


class RoleOut(Schema):
    role: Role
    role_label: str
    place_code: str


class MeOut(Schema):
    id: uuid.UUID
    phone_masked: str
    display_name: str
    is_superuser: bool
    roles: list[RoleOut]
    resident: ResidentOut | None


class TokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=60)


class TokenOut(Schema):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime.datetime
    key: str = Field(..., description="完整令牌，只显示这一次；请求时放在 Authorization: Bearer <key>")


# --- authentication --------------------------------------------------------------------------------------------


class ApiTokenAuth(HttpBearer):
    """``Authorization: Bearer <key>`` for integrations: a token that is not revoked, of an active user.

    A token that is presented but unknown or revoked is refused at once (401) instead of falling back to the session.
    ``last_used_at`` is written at most once a minute per token.
    """

    touch_every = datetime.timedelta(minutes=1)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=services.token_hash(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if found is None:
            raise AuthenticationError()
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at >= self.touch_every:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        return found.user


class SessionAuth(ninja.security.SessionAuth):
    """Django's session, as ``ninja.security.django_auth``: unsafe methods must carry the CSRF token.

    Without a logged-in session user there is nothing to protect, so the CSRF check is skipped and the request is
    simply unauthenticated (401) rather than "CSRF failed" (403).
    """

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


token_auth = ApiTokenAuth()
session_auth = SessionAuth()
# The API's authentication: a bearer token, else the browser session.
AUTH = [token_auth, session_auth]


# --- helpers ----------------------------------------------------------------------------------------------------


def _place_named(code: str, field: str) -> Place:
    """The place named in a request body; an unknown code is an error on that field."""
    place = place_selectors.place_get(code=code) if codes.CODE_RE.match(code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={field: [_("找不到该区划代码")]})
    return place


def _require(request: ApiRequest, perm: str, obj: Any, field: str | None = None) -> None:
    if not request.auth.has_perm(perm, obj):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={field: [message]} if field else None)


# --- residents --------------------------------------------------------------------------------------------------

router = Router(tags=["people"])


@router.get("/residents", response={200: list[ResidentOut], **errors(401, 404, 422)}, summary="居民（脱敏）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def resident_list(request: ApiRequest, filters: Query[ResidentFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.residents_visible(
        user=request.auth, place=place, household=filters.household or "", search=filters.q
    )


@router.post("/residents", response={201: ResidentOut, **errors(400, 401, 403, 409, 422)}, summary="登记居民")
def resident_create(request: ApiRequest, payload: ResidentIn) -> Any:
    community = _place_named(payload.community, "community")
    _require(request, "people.add_resident", community, "community")
    resident = services.resident_register(
        actor=request.auth,
        community=community,
        name=payload.name,
        registered_on=payload.registered_on or timezone.localdate(),
        household=payload.household,
        phone=payload.phone,
        gender=payload.gender or "",
        birth_year=payload.birth_year,
        id_number=payload.id_number,
        ref=payload.ref,
    )
    return Status(201, resident)


@router.get(
    "/residents/{resident_id}", response={200: ResidentOut, **errors(401, 404, 422)}, summary="一位居民（脱敏）"
)
def resident_detail(request: ApiRequest, resident_id: uuid.UUID) -> Any:
    return selectors.resident_get(user=request.auth, resident_id=resident_id)


@router.patch(
    "/residents/{resident_id}",
    response={200: ResidentOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改居民信息",
)
def resident_change(request: ApiRequest, resident_id: uuid.UUID, payload: ResidentPatch) -> Any:
    resident = selectors.resident_get(user=request.auth, resident_id=resident_id)
    _require(request, "people.change_resident", resident)
    changes = payload.model_dump(exclude_unset=True)
    if "community" in changes:
        changes["community"] = _place_named(changes["community"] or "", "community")
        _require(request, "people.add_resident", changes["community"], "community")
    for field in ("phone", "gender"):
        if field in changes and changes[field] is None:
            changes[field] = ""
    id_number = changes.pop("id_number", None)
    if "id_number" in payload.model_fields_set and id_number is None:
        id_number = ""
    return services.resident_update(actor=request.auth, resident=resident, id_number=id_number, **changes)


@router.post(
    "/residents/{resident_id}/reveal",
    response={200: ResidentPersonalOut, **errors(401, 403, 404, 422)},
    summary="查看完整个人信息（记入审计日志）",
)
def resident_reveal(request: ApiRequest, resident_id: uuid.UUID) -> Any:
    resident = selectors.resident_get(user=request.auth, resident_id=resident_id)
    _require(request, "people.view_resident_personal", resident)
    return {"id": resident.pk, **services.resident_reveal(actor=request.auth, resident=resident)}


# --- role grants ------------------------------------------------------------------------------------------------


@router.get("/grants", response={200: list[GrantOut], **errors(401, 404, 422)}, summary="区划上的角色授权")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def grant_list(request: ApiRequest, filters: Query[GrantFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place)
    return selectors.grants_visible(user=request.auth, place=place)


@router.post(
    "/grants",
    response={201: GrantOut, **errors(400, 401, 403, 422)},
    summary="授予角色",
    description="同样的授权重复提交时返回已有的那一条，不会重复创建。",
)
def grant_create(request: ApiRequest, payload: GrantIn) -> Any:
    place = _place_named(payload.place_code, "place_code")
    _require(request, "people.add_rolegrant", RoleGrant(place=place, role=payload.role), "role")
    # One transaction: an account created for the phone is not kept if the grant itself is refused.
    with transaction.atomic():
        user = services.user_for_grant(phone=payload.phone, display_name=payload.display_name)
        grant = services.role_grant(actor=request.auth, user=user, place=place, role=payload.role)
    return Status(201, grant)


@router.delete("/grants/{grant_id}", response={204: None, **errors(400, 401, 403, 404, 422)}, summary="撤销角色")
def grant_delete(request: ApiRequest, grant_id: uuid.UUID) -> Any:
    grant = selectors.grant_get(user=request.auth, grant_id=grant_id)
    _require(request, "people.delete_rolegrant", grant)
    if grant.user_id == request.auth.pk:
        raise DomainError(_("不能撤销自己的角色"), code="own_grant")
    services.role_revoke(actor=request.auth, grant=grant)
    return Status(204, None)


# --- the caller -------------------------------------------------------------------------------------------------


@router.get("/me", response={200: MeOut, **errors(401)}, summary="当前用户")
def me(request: ApiRequest) -> Any:
    user = request.auth
    resident = selectors.resident_of_user(user=user)
    return {
        "id": user.pk,
        "phone_masked": protection.mask_phone(user.phone),
        "display_name": user.display_name,
        "is_superuser": user.is_superuser,
        "roles": [
            {"role": g.role, "role_label": str(Role(g.role).label), "place_code": g.place_code}
            for g in access.user_grants(user)
        ],
        "resident": resident,
    }


@router.post(
    "/tokens",
    auth=session_auth,
    response={201: TokenOut, **errors(400, 401, 403, 422)},
    summary="创建接口令牌",
    description="只限浏览器登录（会话）的用户：令牌不能再创建令牌。完整令牌只在这里返回一次。",
)
def token_create(request: ApiRequest, payload: TokenIn) -> Any:
    token, key = services.api_token_create(user=request.auth, name=payload.name)
    return Status(
        201, {"id": token.pk, "name": token.name, "prefix": token.prefix, "created_at": token.created_at, "key": key}
    )


class TokenListOut(Schema):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime.datetime
    last_used_at: datetime.datetime | None
    revoked_at: datetime.datetime | None


@router.get("/tokens", auth=session_auth, response={200: list[TokenListOut], **errors(401)}, summary="我的接口令牌")
def token_list(request: ApiRequest) -> Any:
    return list(ApiToken.objects.filter(user=request.auth).order_by("-created_at"))


@router.delete(
    "/tokens/{token_id}",
    auth=session_auth,
    response={200: TokenListOut, **errors(401, 404, 422)},
    summary="撤销接口令牌",
)
def token_revoke(request: ApiRequest, token_id: uuid.UUID) -> Any:
    return services.api_token_revoke(user=request.auth, token_id=token_id)
