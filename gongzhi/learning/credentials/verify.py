"""Verification of a certificate: by its code (the public page), or of a credential someone pastes — a VC-JWT or the
Open Badges 3.0 JSON with its Data Integrity proof.

A credential is checked in this order: its form; the issuer's key, found by ``kid`` / ``verificationMethod`` among
this site's issuer keys (retired keys still verify); the signature; that the claims agree with the credential and the
issuer is the key's place; then the record: revoked or superseded in the database, and the dates (validFrom ≤ now ≤
validUntil). The result is one status with a Chinese message:

valid · revoked · superseded · expired · not_yet_valid · invalid_signature · unknown_issuer · unknown_credential ·
malformed
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Certificate, CertificateStatus, IssuerKey
from . import keys, signing

MAX_INPUT = 64 * 1024

STATUS_MESSAGES = {
    "valid": gettext_lazy("证书有效"),
    "revoked": gettext_lazy("证书已被撤销"),
    "superseded": gettext_lazy("证书已换发新证，本证书不再有效"),
    "expired": gettext_lazy("证书已过期"),
    "not_yet_valid": gettext_lazy("证书尚未生效"),
    "invalid_signature": gettext_lazy("签名无效：证书内容被改动过，或不是本平台签发的"),
    "unknown_issuer": gettext_lazy("无法识别颁证单位：签名密钥不属于本平台的颁证单位"),
    "unknown_credential": gettext_lazy("签名有效，但本平台没有这张证书的记录"),
    "malformed": gettext_lazy("无法识别：请粘贴完整的 VC-JWT 或 Open Badges 3.0 JSON"),
}
# Short labels for the big status text.
STATUS_LABELS = {
    "valid": gettext_lazy("有效"),
    "revoked": gettext_lazy("已撤销"),
    "superseded": gettext_lazy("已换发"),
    "expired": gettext_lazy("已过期"),
    "not_yet_valid": gettext_lazy("未生效"),
    "invalid_signature": gettext_lazy("签名无效"),
    "unknown_issuer": gettext_lazy("颁证单位未知"),
    "unknown_credential": gettext_lazy("无此证书"),
    "malformed": gettext_lazy("无法识别"),
}


@dataclass
class Verification:
    status: str
    format: str = ""  # "vc-jwt", "ob3-json" or "code"
    certificate: Certificate | None = None
    credential: dict[str, Any] | None = None
    detail: str = ""
    checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    @property
    def message(self) -> str:
        return str(STATUS_MESSAGES[self.status])

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.status])


def certificate_state(certificate: Certificate, *, today: datetime.date | None = None) -> str:
    """The status of a certificate from its record: valid, revoked, superseded, expired or not_yet_valid."""
    today = today or timezone.localdate()
    if certificate.status == CertificateStatus.REVOKED:
        return "revoked"
    if certificate.status == CertificateStatus.SUPERSEDED:
        return "superseded"
    if certificate.expires_on is not None and certificate.expires_on < today:
        return "expired"
    if certificate.issued_on > today:
        return "not_yet_valid"
    return "valid"


def verify_code(code: str, *, today: datetime.date | None = None) -> Verification:
    """The public page's check: the record's status (the certificate loaded with its programme, place and level)."""
    normal = normalise_code(code)
    certificate = (
        Certificate.objects.select_related("programme__place", "level").filter(code=normal).first() if normal else None
    )
    if certificate is None:
        return Verification(status="unknown_credential", format="code")
    return Verification(status=certificate_state(certificate, today=today), format="code", certificate=certificate)


def normalise_code(code: str) -> str:
    text = "".join((code or "").split()).replace("-", "").upper()
    return text if 8 <= len(text) <= 32 and text.isalnum() else ""


def verify_text(text: Any, *, now: datetime.datetime | None = None) -> Verification:
    """Verify a pasted credential: a VC-JWT (compact JWS), or an OB3 JSON object (a dict or its text)."""
    now = now or timezone.now()
    if isinstance(text, dict):
        return _verify_json(text, now=now)
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_INPUT:
        return Verification(status="malformed")
    text = text.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return Verification(status="malformed", format="ob3-json", detail=_("JSON 格式不正确"))
        if not isinstance(document, dict):
            return Verification(status="malformed", format="ob3-json")
        return _verify_json(document, now=now)
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    return verify_jwt(text, now=now)


def verify_jwt(token: str, *, now: datetime.datetime | None = None) -> Verification:
    now = now or timezone.now()
    result = Verification(status="malformed", format="vc-jwt")
    try:
        header, raw_payload, signing_input, signature = signing.jws_split(token)
    except (ValueError, UnicodeError):
        result.detail = _("不是完整的 VC-JWT（应为用“.”分隔的三段）")
        return result
    if header.get("alg") != "EdDSA":
        result.status = "invalid_signature"
        result.detail = _("不支持的签名算法：%(alg)s") % {"alg": str(header.get("alg"))[:20]}
        return result
    key = keys.issuer_key_by_kid(str(header.get("kid") or ""))
    if key is None:
        result.status = "unknown_issuer"
        return result
    result.checks.append((_("找到颁证单位的公钥 %(kid)s") % {"kid": key.kid}, True))
    try:
        keys.public_key(key).verify(signature, signing_input)
    except InvalidSignature:
        result.status = "invalid_signature"
        result.checks.append((_("签名校验"), False))
        return result
    result.checks.append((_("签名校验（EdDSA / Ed25519）"), True))
    try:
        payload = signing.jwt_payload(raw_payload)
    except (ValueError, UnicodeError):
        result.detail = _("JWT 内容不是 JSON 对象")
        return result
    credential = {k: v for k, v in payload.items() if k not in signing.JWT_CLAIMS}
    result.credential = credential
    problem = _claims_problem(payload, credential)
    if problem:
        result.status = "malformed"
        result.detail = problem
        return result
    if "proof" in credential:
        inner = _check_data_integrity(credential)
        if inner is None or inner.pk != key.pk:
            result.status = "invalid_signature"
            result.detail = _("内嵌的数据完整性证明无效")
            return result
    return _finish(result, key, credential, now)


def _verify_json(document: dict[str, Any], *, now: datetime.datetime) -> Verification:
    result = Verification(status="malformed", format="ob3-json", credential=document)
    if "OpenBadgeCredential" not in _types(document) and "AchievementCredential" not in _types(document):
        result.detail = _("不是 OpenBadgeCredential")
        return result
    try:
        proof, signed, signature = signing.data_integrity_signed_bytes(document)
    except ValueError:
        result.status = "invalid_signature"
        result.detail = _("没有可验证的签名（需要 eddsa-jcs-2022 数据完整性证明，或粘贴 VC-JWT）")
        return result
    key = keys.issuer_key_by_kid(str(proof.get("verificationMethod") or ""))
    if key is None:
        result.status = "unknown_issuer"
        return result
    result.checks.append((_("找到颁证单位的公钥 %(kid)s") % {"kid": key.kid}, True))
    try:
        keys.public_key(key).verify(signature, signed)
    except (InvalidSignature, ValueError):
        result.status = "invalid_signature"
        result.checks.append((_("签名校验"), False))
        return result
    result.checks.append((_("签名校验（eddsa-jcs-2022）"), True))
    problem = _claims_problem(None, document)
    if problem:
        result.detail = problem
        return result
    return _finish(result, key, document, now)


def _check_data_integrity(document: dict[str, Any]) -> IssuerKey | None:
    try:
        proof, signed, signature = signing.data_integrity_signed_bytes(document)
    except ValueError:
        return None
    key = keys.issuer_key_by_kid(str(proof.get("verificationMethod") or ""))
    if key is None:
        return None
    try:
        keys.public_key(key).verify(signature, signed)
    except (InvalidSignature, ValueError):
        return None
    return key


def _types(document: dict[str, Any]) -> list[str]:
    kind = document.get("type")
    return [kind] if isinstance(kind, str) else [t for t in kind or [] if isinstance(t, str)]


def _claims_problem(payload: dict[str, Any] | None, credential: dict[str, Any]) -> str:
    """Why the credential's own fields (and, for a JWT, its claims) do not agree; "" when they do."""
    context = credential.get("@context")
    if (
        not isinstance(context, list)
        or context[:1] != signing.CONTEXT[:1]
        or "OpenBadgeCredential" not in _types(credential)
    ):
        return _("不是 Open Badges 3.0 凭证")
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    start = signing.parse_datetime(credential.get("validFrom"))
    if not isinstance(issuer_id, str) or start is None:
        return _("缺少颁证单位或生效时间")
    end = signing.parse_datetime(credential["validUntil"]) if "validUntil" in credential else None
    if "validUntil" in credential and end is None:
        return _("有效期格式不正确")
    if payload is not None:
        if payload.get("iss") != issuer_id or payload.get("jti") != credential.get("id"):
            return _("JWT 声明与凭证内容不一致")
        if payload.get("nbf") != int(start.timestamp()):
            return _("JWT 声明与凭证内容不一致")
        if (payload.get("exp") is None) != (end is None) or (
            end is not None and payload.get("exp") != int(end.timestamp())
        ):
            return _("JWT 声明与凭证内容不一致")
    return ""


def _issuer_matches(credential: dict[str, Any], key: IssuerKey) -> bool:
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    expected = reverse("certificate_issuer", kwargs={"code": key.place_id})
    return isinstance(issuer_id, str) and urlsplit(issuer_id).path == expected


def _finish(result: Verification, key: IssuerKey, credential: dict[str, Any], now: datetime.datetime) -> Verification:
    if not _issuer_matches(credential, key):
        result.status = "unknown_issuer"
        result.detail = _("签名密钥与凭证中的颁证单位不符")
        return result
    result.checks.append((_("颁证单位与签名密钥一致"), True))
    certificate_pk = signing.certificate_id_of(credential.get("id"))
    certificate = (
        Certificate.objects.select_related("programme__place", "level").filter(pk=certificate_pk).first()
        if certificate_pk
        else None
    )
    if certificate is None or certificate.programme.place_id != key.place_id:
        result.status = "unknown_credential"
        return result
    result.certificate = certificate
    start = signing.parse_datetime(credential.get("validFrom"))
    end = signing.parse_datetime(credential.get("validUntil"))
    state = certificate_state(certificate, today=timezone.localdate(now))
    if state in ("revoked", "superseded"):
        result.status = state
    elif state == "expired" or (end is not None and now > end):
        result.status = "expired"
    elif state == "not_yet_valid" or (start is not None and now < start):
        result.status = "not_yet_valid"
    else:
        result.status = "valid"
    result.checks.append((_("撤销状态（本平台记录）"), state not in ("revoked", "superseded")))
    result.checks.append((_("有效期"), result.status not in ("expired", "not_yet_valid")))
    return result
