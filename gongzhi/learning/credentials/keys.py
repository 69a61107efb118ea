"""Issuer keys: one active Ed25519 signing key per issuing place, generated on first use.

The public key is stored as a JWK (``IssuerKey.public_jwk``). The private key is stored only encrypted, with AES-256-GCM
under a wrapping key DERIVED (HKDF-SHA256) from ``settings.DATA_ENCRYPTION_KEY`` — a secret of the deployment that is
not in the database — and bound to the key's ``kid`` (associated data), so that a database dump alone cannot sign a
credential and an encrypted key cannot be moved onto another row.

Rotation retires the active key (``retired_at``) and generates a new one; retired keys still verify what they signed.
"""

from __future__ import annotations

import base64
import secrets
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import DomainError
from gongzhi.places.models import Place

from ..models import IssuerKey

WRAP_INFO = b"gongzhi.learning.credentials.issuer-key-wrap.v1"
WRAP_SALT = b"gongzhi-issuer-keys"
FORMAT = "v1"  # the prefix of IssuerKey.private_key_encrypted


class IssuerKeyError(DomainError):
    code = "issuer_key"
    status = 500


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or any(c in text for c in "+/= \n"):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=4)
def _wrapping_key(secret: str) -> bytes:
    if not secret:
        raise IssuerKeyError(_("未配置数据密钥（DATA_ENCRYPTION_KEY），无法使用证书签名密钥"))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=WRAP_SALT, info=WRAP_INFO).derive(secret.encode())


def _encrypt_private(private: Ed25519PrivateKey, kid: str) -> str:
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_wrapping_key(settings.DATA_ENCRYPTION_KEY)).encrypt(nonce, raw, kid.encode())
    return f"{FORMAT}.{b64url(nonce)}.{b64url(sealed)}"


def private_key(key: IssuerKey) -> Ed25519PrivateKey:
    """The key's private half, decrypted with the deployment's data key. Raises ``IssuerKeyError`` when the data key
    does not match (a database restored elsewhere) or the row was altered."""
    try:
        fmt, nonce, sealed = key.private_key_encrypted.split(".")
        if fmt != FORMAT:
            raise ValueError(fmt)
        raw = AESGCM(_wrapping_key(settings.DATA_ENCRYPTION_KEY)).decrypt(
            b64url_decode(nonce), b64url_decode(sealed), key.kid.encode()
        )
    except (ValueError, InvalidTag) as exc:
        raise IssuerKeyError(_("无法解密颁证单位的签名密钥：数据密钥不匹配或密钥记录已损坏")) from exc
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_jwk(public: Ed25519PublicKey, kid: str) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(public.public_bytes(Encoding.Raw, PublicFormat.Raw)),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    }


def public_key(key: IssuerKey) -> Ed25519PublicKey:
    jwk = key.public_jwk
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise IssuerKeyError(_("不支持的密钥类型"))
    return Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))


# --- base58btc multibase (for the Multikey form of a public key and Data Integrity proof values) ------------------

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ED25519_PUB_MULTICODEC = b"\xed\x01"


def base58btc(raw: bytes) -> str:
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, rem = divmod(n, 58)
        out = B58[rem] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def base58btc_decode(text: str) -> bytes:
    n = 0
    for ch in text:
        i = B58.find(ch)
        if i < 0:
            raise ValueError("not base58btc")
        n = n * 58 + i
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def public_multibase(key: IssuerKey) -> str:
    """The public key as a Multikey ``publicKeyMultibase`` (``z6Mk…``)."""
    raw = public_key(key).public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "z" + base58btc(ED25519_PUB_MULTICODEC + raw)


# --- lifecycle ----------------------------------------------------------------------------------------------------


def _new_key(place: Place) -> IssuerKey:
    kid = f"{place.code}-{secrets.token_hex(6)}"
    private = Ed25519PrivateKey.generate()
    key = IssuerKey(
        place=place,
        kid=kid,
        public_jwk=public_jwk(private.public_key(), kid),
        private_key_encrypted=_encrypt_private(private, kid),
    )
    key.full_clean()
    key.save()
    return key


def issuer_key_active(*, place: Place) -> IssuerKey:
    """The place's active signing key, generated on first use (concurrent first uses make one: the database keeps
    one active key per place)."""
    found = IssuerKey.objects.filter(place=place, retired_at__isnull=True).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            key = _new_key(place)
            audit_record(
                actor=None,
                action="create",
                target_type="issuer_key",
                target_id=key.kid,
                place_code=place.code,
                summary=f"生成颁证签名密钥 {key.kid}",
            )
            return key
    except (IntegrityError, ValidationError):  # another request made it first (its row is visible to full_clean)
        return IssuerKey.objects.get(place=place, retired_at__isnull=True)


def issuer_key_rotate(*, actor: Any, place: Place) -> IssuerKey:
    """Retire the place's active key and generate a new one. Credentials signed with the old key still verify."""
    with transaction.atomic():
        Place.objects.select_for_update().filter(pk=place.pk).first()
        now = timezone.now()
        old = list(IssuerKey.objects.filter(place=place, retired_at__isnull=True).values_list("kid", flat=True))
        IssuerKey.objects.filter(place=place, retired_at__isnull=True).update(retired_at=now, updated_at=now)
        key = _new_key(place)
        audit_record(
            actor=actor,
            action="update",
            target_type="issuer_key",
            target_id=key.kid,
            place_code=place.code,
            summary=f"更换颁证签名密钥：{', '.join(old) or '—'} → {key.kid}",
            changes={"retired": old, "new": key.kid},
        )
        return key


def issuer_key_by_kid(kid: str) -> IssuerKey | None:
    """A key (active or retired) by its ``kid``; the kid may be given as the key's URL (its last path segment)."""
    kid = (kid or "").strip().rstrip("/").rsplit("/", 1)[-1].split("#")[-1]
    if not kid or len(kid) > 64:
        return None
    return IssuerKey.objects.select_related("place").filter(kid=kid).first()


def issuer_keys(*, place: Place) -> list[IssuerKey]:
    """Every key of a place, active first: what its JWKS publishes."""
    return list(IssuerKey.objects.filter(place=place).order_by(F("retired_at").desc(nulls_first=True), "-created_at"))
