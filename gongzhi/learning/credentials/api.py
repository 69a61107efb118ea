"""Credentials API: certificates (颁证) and their verification.

- Residents: their certificates, one certificate with its Open Badges 3.0 credential, claim (idempotent: a second
  claim returns the same certificate).
- Staff covering a programme's place: list its certificates (masked names), issue, revoke with a reason, renew.
- Public, no login (tag ``public``): verify a credential — POST a VC-JWT or an OB3 JSON, get valid / revoked /
  superseded / expired / not_yet_valid / invalid_signature / unknown_issuer / unknown_credential / malformed — and the
  status of a certificate by its code.
"""

import datetime
import uuid
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, NotFound, PermissionDenied
from gongzhi.people.selectors import resident_get, resident_of_user
from gongzhi.places import selectors as place_selectors

from ..models import Certificate, CertificateStatus, CredentialLevel, CredentialProgramme
from . import certificate_selectors as reads
from . import signing
from .certificates import certificate_claim, certificate_issue, certificate_renew, certificate_revoke
from .verify import Verification, certificate_state, verify_code, verify_text
from .views import base_url

router = Router(tags=["credentials"])

State = Literal["valid", "revoked", "superseded", "expired", "not_yet_valid"]
VerificationStatus = Literal[
    "valid",
    "revoked",
    "superseded",
    "expired",
    "not_yet_valid",
    "invalid_signature",
    "unknown_issuer",
    "unknown_credential",
    "malformed",
]

# --- schemas ----------------------------------------------------------------------------------------------------


class CertificateOut(Schema):
    id: uuid.UUID
    code: str
    programme_id: uuid.UUID
    programme_name: str
    level_id: uuid.UUID
    level_rank: int
    level_name: str
    issuer_code: str
    issuer_name: str
    holder_name_masked: str
    issued_on: datetime.date
    expires_on: datetime.date | None
    status: CertificateStatus = Field(..., description="记录状态：valid 有效 / revoked 已撤销 / superseded 已换发")
    state: State = Field(..., description="当前状态（含按有效期判断的 expired 已过期）")
    claimed: bool = Field(..., description="true：本人领取；false：工作人员颁发")
    revoked_at: datetime.datetime | None
    renewed_from_id: uuid.UUID | None
    verify_url: str = Field(..., description="公开验证页（二维码指向的地址）")

    @staticmethod
    def resolve_programme_name(obj: Certificate) -> str:
        return obj.programme.name

    @staticmethod
    def resolve_level_rank(obj: Certificate) -> int:
        return obj.level.rank

    @staticmethod
    def resolve_level_name(obj: Certificate) -> str:
        return obj.level.name

    @staticmethod
    def resolve_issuer_code(obj: Certificate) -> str:
        return obj.programme.place_id

    @staticmethod
    def resolve_issuer_name(obj: Certificate) -> str:
        return obj.programme.place.name

    @staticmethod
    def resolve_state(obj: Certificate) -> str:
        return certificate_state(obj)

    @staticmethod
    def resolve_verify_url(obj: Certificate, context: dict[str, Any]) -> str:
        return signing.verify_url(obj.code, base_url(context["request"]))


class MyCertificateOut(CertificateOut):
    revoke_reason: str = Field(..., description="撤销原因（只有持证人和工作人员能看到）")


class CertificateCredentialOut(Schema):
    jwt: str = Field(..., description="VC-JWT（紧凑 JWS，EdDSA），Open Badges 3.0 OpenBadgeCredential")
    credential: dict[str, Any] = Field(..., description="同一凭证的 JSON（含 eddsa-jcs-2022 数据完整性证明）")


class CertificateIssueIn(Schema):
    level_id: uuid.UUID
    resident_id: uuid.UUID
    note: str = Field("", max_length=300)


class CertificateRevokeIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


class CertificateFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="只看该区划（含下级）的认证项目")
    programme: uuid.UUID | None = None
    level: uuid.UUID | None = None
    state: Literal["valid", "expired", "revoked", "superseded"] | None = None
    q: str | None = Field(None, max_length=50, description="证书编号、居民编号、手机号或身份证号")


class CredentialVerifyIn(Schema):
    credential: str | dict[str, Any] = Field(
        ..., description="VC-JWT 字符串，或 Open Badges 3.0 JSON（对象或其文本）；最多 64 KB"
    )


class VerifiedCertificate(Schema):
    code: str
    holder_name_masked: str
    programme_name: str
    level_name: str
    issuer_code: str
    issuer_name: str
    issued_on: datetime.date
    expires_on: datetime.date | None


class CredentialVerificationOut(Schema):
    status: VerificationStatus
    valid: bool
    message: str = Field(..., description="中文说明")
    detail: str
    format: str = Field(..., description="vc-jwt / ob3-json / code")
    checks: list[str]
    certificate: VerifiedCertificate | None


# --- helpers ----------------------------------------------------------------------------------------------------


def _resident(request: ApiRequest) -> Any:
    resident = resident_of_user(user=request.auth)
    if resident is None:
        raise PermissionDenied(_("只有居民可以进行此操作"))
    return resident


def _certificate(request: ApiRequest, certificate_id: uuid.UUID) -> Certificate:
    return reads.certificate_get(user=request.auth, certificate_id=certificate_id)


def _managed(request: ApiRequest, certificate_id: uuid.UUID) -> Certificate:
    certificate = _certificate(request, certificate_id)
    if not request.auth.has_perm("learning.manage_certificate", certificate):
        raise NotFound(_("找不到该证书"))
    return certificate


def _verification_out(result: Verification) -> dict[str, Any]:
    c = result.certificate
    return {
        "status": result.status,
        "valid": result.valid,
        "message": result.message,
        "detail": result.detail,
        "format": result.format,
        "checks": [f"{'✓' if ok else '✕'} {text}" for text, ok in result.checks],
        "certificate": None
        if c is None
        else {
            "code": c.code,
            "holder_name_masked": c.holder_name_masked,
            "programme_name": c.programme.name,
            "level_name": c.level.name,
            "issuer_code": c.programme.place_id,
            "issuer_name": c.programme.place.name,
            "issued_on": c.issued_on,
            "expires_on": c.expires_on,
        },
    }


# --- residents --------------------------------------------------------------------------------------------------


@router.get("/me/certificates", response={200: list[MyCertificateOut], **errors(401, 403, 422)}, summary="我的证书")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def my_certificates(request: ApiRequest) -> Any:
    _resident(request)
    return reads.my_certificates(user=request.auth)


@router.post(
    "/credentials/levels/{level_id}/claim",
    response={200: MyCertificateOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="领取证书（居民本人，须达到该级别的条件；重复领取返回同一张证书）",
)
def claim(request: ApiRequest, level_id: uuid.UUID) -> Any:
    resident = _resident(request)
    level = CredentialLevel.objects.select_related("programme__place").filter(pk=level_id).first()
    if level is None or not request.auth.has_perm("learning.view_credentialprogramme", level.programme):
        raise NotFound(_("找不到该认证级别"))
    certificate = certificate_claim(resident=resident, level=level, actor=request.auth, base_url=base_url(request))
    return _certificate(request, certificate.pk)


@router.get(
    "/certificates/{certificate_id}",
    response={200: MyCertificateOut, **errors(401, 404, 422)},
    summary="一张证书（持证人或负责该认证项目的工作人员）",
)
def certificate_detail(request: ApiRequest, certificate_id: uuid.UUID) -> Any:
    return _certificate(request, certificate_id)


@router.get(
    "/certificates/{certificate_id}/credential",
    response={200: CertificateCredentialOut, **errors(401, 404, 422)},
    summary="证书的 Open Badges 3.0 电子凭证（VC-JWT 与 JSON）",
)
def certificate_credential(request: ApiRequest, certificate_id: uuid.UUID) -> Any:
    certificate = _certificate(request, certificate_id)
    if not certificate.credential_jwt:
        raise NotFound(_("该证书没有电子凭证"))
    return {"jwt": certificate.credential_jwt, "credential": signing.credential_of_jwt(certificate.credential_jwt)}


# --- staff ------------------------------------------------------------------------------------------------------


@router.get(
    "/certificates",
    response={200: list[CertificateOut], **errors(401, 403, 404, 422)},
    summary="证书列表（工作人员：所负责认证项目的证书，持证人姓名脱敏）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def certificate_list(request: ApiRequest, filters: Query[CertificateFilters]) -> Any:
    user = request.auth
    place = None
    if filters.place:
        place = place_selectors.place_get(code=filters.place)
        if place is None:
            raise DomainError(_("提交的数据有误"), fields={"place": [_("找不到该区划代码")]})
    programme = None
    if filters.programme:
        programme = CredentialProgramme.objects.filter(pk=filters.programme).select_related("place").first()
        if programme is None or not user.has_perm("learning.manage_credentialprogramme", programme):
            raise NotFound(_("找不到该认证项目"))
    from gongzhi.people import access

    if not access.is_staff(user):
        raise PermissionDenied(_("您无权执行此操作"))
    return reads.certificates_for_staff(
        user=user,
        place=place,
        programme=programme,
        level_id=filters.level,
        state=filters.state or "",
        search=filters.q or "",
    )


@router.post(
    "/certificates",
    response={201: MyCertificateOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="颁发证书（工作人员；该居民已持有该级别的有效证书时返回那一张）",
)
def certificate_issue_api(request: ApiRequest, payload: CertificateIssueIn) -> Any:
    level = CredentialLevel.objects.select_related("programme__place").filter(pk=payload.level_id).first()
    if level is None or not request.auth.has_perm("learning.view_credentialprogramme", level.programme):
        raise NotFound(_("找不到该认证级别"), fields={"level_id": [_("找不到该认证级别")]})
    resident = resident_get(user=request.auth, resident_id=payload.resident_id)
    certificate = certificate_issue(
        actor=request.auth, resident=resident, level=level, note=payload.note, base_url=base_url(request)
    )
    return Status(201, _certificate(request, certificate.pk))


@router.post(
    "/certificates/{certificate_id}/revoke",
    response={200: MyCertificateOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="撤销证书（工作人员，须填写原因；重复撤销不改变任何内容）",
)
def certificate_revoke_api(request: ApiRequest, certificate_id: uuid.UUID, payload: CertificateRevokeIn) -> Any:
    certificate = _managed(request, certificate_id)
    certificate_revoke(actor=request.auth, certificate=certificate, reason=payload.reason)
    return _certificate(request, certificate.pk)


@router.post(
    "/certificates/{certificate_id}/renew",
    response={201: MyCertificateOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="换发证书（工作人员随时；持证人在到期前 30 天起且仍符合条件时）；原证书失效",
)
def certificate_renew_api(request: ApiRequest, certificate_id: uuid.UUID) -> Any:
    certificate = _certificate(request, certificate_id)
    renewed = certificate_renew(actor=request.auth, certificate=certificate, base_url=base_url(request))
    return Status(201, _certificate(request, renewed.pk))


# --- public -----------------------------------------------------------------------------------------------------


@router.post(
    "/credentials/verify",
    auth=None,
    tags=["public"],
    response={200: CredentialVerificationOut, **errors(400, 422)},
    summary="验证电子证书（公开，无需登录）：提交 VC-JWT 或 Open Badges 3.0 JSON",
    description="核对签名（颁证单位的 Ed25519 公钥，按 kid / verificationMethod 查找）、JWT 声明与凭证内容是否一致、"
    "有效期（validFrom ≤ 当前时间 ≤ validUntil）和撤销状态（本平台记录）。结果见 status；验证不通过也返回 200。",
)
def verify(request: HttpRequest, payload: CredentialVerifyIn) -> Any:
    return _verification_out(verify_text(payload.credential))


@router.get(
    "/credentials/verify/{code}",
    auth=None,
    tags=["public"],
    response={200: CredentialVerificationOut, **errors(404)},
    summary="按证书编号查询证书状态（公开，无需登录；只含脱敏姓名）",
)
def verify_by_code(request: HttpRequest, code: str) -> Any:
    result = verify_code(code)
    if result.certificate is None:
        raise NotFound(_("找不到该证书"))
    return _verification_out(result)
