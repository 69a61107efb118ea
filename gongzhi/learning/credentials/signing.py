"""Open Badges 3.0: a certificate as an ``OpenBadgeCredential``, signed by its issuing place's key.

Two proofs over the same credential, both Ed25519 with the issuer's key:

- the **VC-JWT** (the OB 3.0 "JSON Web Token Proof Format"): a compact JWS, header ``{"alg": "EdDSA", "kid": <key URL>,
  "typ": "JWT"}``, whose payload is the credential with the registered claims ``iss`` (issuer.id), ``jti`` (id), ``nbf``
  (validFrom) and ``exp`` (validUntil, when it expires). This is what ``Certificate.credential_jwt`` stores.
- an embedded **Data Integrity proof** (``DataIntegrityProof``, cryptosuite ``eddsa-jcs-2022``: JSON canonicalisation
  RFC 8785, SHA-256, Ed25519, base58btc ``proofValue``), created first as the spec asks, so that the plain OB3 JSON a
  holder downloads (the JWT payload without the JWT claims) is verifiable on its own.

The credential subject is identified only by a salted SHA-256 hash of the resident's internal identifier — no name, no
phone, no ID number. URLs (issuer profile, key, revocation list) are absolute: ``settings.SITE_URL``, or the address
the request came in on.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import secrets
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.urls import reverse

from gongzhi.places.models import Place

from ..models import Certificate, CredentialLevel
from . import keys

CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
TYPES = ["VerifiableCredential", "OpenBadgeCredential"]
CRYPTOSUITE = "eddsa-jcs-2022"
JWT_CLAIMS = ("iss", "jti", "nbf", "exp", "sub", "iat")
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def site_base(base_url: str = "") -> str:
    """The site's public address without a trailing slash: ``settings.SITE_URL``, else ``base_url`` (the request's)."""
    return (getattr(settings, "SITE_URL", "") or base_url or "http://localhost:8000").rstrip("/")


def issuer_url(place: Place | str, base_url: str = "") -> str:
    code = place if isinstance(place, str) else place.code
    return site_base(base_url) + reverse("certificate_issuer", kwargs={"code": code})


def key_url(kid: str, base_url: str = "") -> str:
    return site_base(base_url) + reverse("certificate_key", kwargs={"kid": kid})


def revocation_list_url(place: Place | str, base_url: str = "") -> str:
    code = place if isinstance(place, str) else place.code
    return site_base(base_url) + reverse("certificate_revocations", kwargs={"code": code})


def verify_url(code: str, base_url: str = "") -> str:
    return site_base(base_url) + reverse("certificate_verify", kwargs={"code": code})


def credential_id(certificate: Certificate) -> str:
    return f"urn:uuid:{certificate.pk}"


def certificate_id_of(credential_id_value: Any) -> uuid.UUID | None:
    if not isinstance(credential_id_value, str) or not credential_id_value.startswith("urn:uuid:"):
        return None
    try:
        return uuid.UUID(credential_id_value[len("urn:uuid:") :])
    except ValueError:
        return None


def valid_from(day: datetime.date) -> str:
    return datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=LOCAL_TZ).isoformat()


def valid_until(day: datetime.date) -> str:
    return datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=LOCAL_TZ).isoformat()


def parse_datetime(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def identity_hash(identifier: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((identifier + salt).encode()).hexdigest()


# --- the criteria narrative (from the level's declared criteria) -------------------------------------------------


def criteria_narrative(level: CredentialLevel) -> str:
    """The level's declared criteria in Chinese words (the labels the progress pages use), e.g.
    "满足以下全部条件：\n1. 通过线上测试 ≥ 1\n2. …". Signed into the credential as ``criteria.narrative``."""
    from . import criteria as crit
    from .selectors import criteria_names

    if not level.criteria:
        return "由颁证单位认定"
    levels = list(CredentialLevel.objects.filter(programme_id=level.programme_id).only("rank", "name"))
    root = crit.describe(level.criteria, criteria_names([level.criteria], levels))

    def render(node: crit.NodeResult) -> list[str]:
        if node.leaf is not None or not node.children:
            return [node.label]
        if len(node.children) == 1:
            return render(node.children[0])
        lines = [f"{node.label}："]
        for i, child in enumerate(node.children, 1):
            sub = render(child)
            lines.append(f"{i}. {sub[0]}")
            lines.extend("   " + line for line in sub[1:])
        return lines

    return "\n".join(render(root))


# --- the credential -----------------------------------------------------------------------------------------------


def build_credential(certificate: Certificate, *, base_url: str = "", salt: str = "") -> dict[str, Any]:
    """The unsigned ``OpenBadgeCredential`` of a certificate (its programme, level and programme place loaded)."""
    programme = certificate.programme
    level: CredentialLevel = certificate.level
    place = programme.place
    salt = salt or secrets.token_hex(16)
    name = f"{programme.name} · {level.name}"
    credential: dict[str, Any] = {
        "@context": list(CONTEXT),
        "id": credential_id(certificate),
        "type": list(TYPES),
        "name": name,
        "issuer": {"id": issuer_url(place, base_url), "type": ["Profile"], "name": place.name},
        "validFrom": valid_from(certificate.issued_on),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": identity_hash(f"urn:uuid:{certificate.resident_id}", salt),
                    "identityType": "identifier",
                    "hashed": True,
                    "salt": salt,
                }
            ],
            "achievement": {
                "id": f"urn:uuid:{level.pk}",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": name,
                "description": level.description or programme.description or name,
                "criteria": {"narrative": criteria_narrative(level)},
                "creator": {"id": issuer_url(place, base_url), "type": ["Profile"], "name": place.name},
            },
        },
        "credentialStatus": {"id": revocation_list_url(place, base_url), "type": "1EdTechRevocationList"},
    }
    if certificate.expires_on:
        credential["validUntil"] = valid_until(certificate.expires_on)
    return credential


# --- Data Integrity proof (eddsa-jcs-2022) ------------------------------------------------------------------------


def jcs(value: Any) -> bytes:
    """JSON canonicalisation (RFC 8785) for the values credentials hold here: objects with ASCII keys (sorted), strings,
    integers, booleans, null, arrays. Floats are refused (RFC 8785 number formatting is not needed)."""

    def check(v: Any) -> None:
        if isinstance(v, float):
            raise ValueError("floats are not canonicalised here")
        if isinstance(v, dict):
            for k, item in v.items():
                if not isinstance(k, str):
                    raise ValueError("keys must be strings")
                check(item)
        elif isinstance(v, list):
            for item in v:
                check(item)

    check(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _proof_hash(document: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    options = dict(proof_options)
    if "@context" in document:
        options["@context"] = document["@context"]
    return hashlib.sha256(jcs(options)).digest() + hashlib.sha256(jcs(document)).digest()


def add_data_integrity_proof(
    credential: dict[str, Any], *, private: Ed25519PrivateKey, verification_method: str, created: str
) -> dict[str, Any]:
    unsecured = {k: v for k, v in credential.items() if k != "proof"}
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    signature = private.sign(_proof_hash(unsecured, proof))
    return {**unsecured, "proof": {**proof, "proofValue": "z" + keys.base58btc(signature)}}


def data_integrity_signed_bytes(document: dict[str, Any]) -> tuple[dict[str, Any], bytes, bytes]:
    """For verification: (the proof, the bytes that were signed, the signature). Raises ``ValueError``."""
    proof = document.get("proof")
    if isinstance(proof, list):
        proof = next((p for p in proof if isinstance(p, dict) and p.get("cryptosuite") == CRYPTOSUITE), None)
    if not isinstance(proof, dict):
        raise ValueError("no proof")
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ValueError("unsupported proof")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ValueError("bad proofValue")
    signature = keys.base58btc_decode(value[1:])
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return proof, _proof_hash(unsecured, options), signature


# --- VC-JWT (compact JWS) -----------------------------------------------------------------------------------------


def _numeric_date(value: str) -> int:
    parsed = parse_datetime(value)
    assert parsed is not None
    return int(parsed.timestamp())


def jws_sign(header: dict[str, Any], payload: dict[str, Any], private: Ed25519PrivateKey) -> str:
    head = keys.b64url(json.dumps(header, separators=(",", ":")).encode())
    body = keys.b64url(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    signature = private.sign(f"{head}.{body}".encode("ascii"))
    return f"{head}.{body}.{keys.b64url(signature)}"


def sign_certificate(certificate: Certificate, *, base_url: str = "") -> str:
    """Build the certificate's credential, add its Data Integrity proof and sign it as a VC-JWT with the programme
    place's active key (generated on first use). Returns the compact JWS."""
    place = certificate.programme.place
    key = keys.issuer_key_active(place=place)
    private = keys.private_key(key)
    kid_url = key_url(key.kid, base_url)
    credential = build_credential(certificate, base_url=base_url)
    created = datetime.datetime.now(tz=LOCAL_TZ).replace(microsecond=0).isoformat()
    credential = add_data_integrity_proof(credential, private=private, verification_method=kid_url, created=created)
    payload: dict[str, Any] = {
        **credential,
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": _numeric_date(credential["validFrom"]),
    }
    if "validUntil" in credential:
        payload["exp"] = _numeric_date(credential["validUntil"])
    return jws_sign({"alg": "EdDSA", "kid": kid_url, "typ": "JWT"}, payload, private)


def jws_split(token: str) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """(header, raw payload, signing input, signature) of a compact JWS, the payload not yet parsed (it is parsed
    only once the signature over it holds). Raises ``ValueError`` on a malformed one."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise ValueError("not a compact JWS")
    header = json.loads(keys.b64url_decode(parts[0]))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    return header, keys.b64url_decode(parts[1]), signing_input, keys.b64url_decode(parts[2])


def jwt_payload(raw: bytes) -> dict[str, Any]:
    payload = json.loads(raw.decode("utf-8"))
    if not isinstance(payload, dict):
        raise ValueError("payload is not a JSON object")
    return payload


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, payload, signing input, signature) of a compact JWS. Raises ``ValueError`` on a malformed one."""
    header, raw, signing_input, signature = jws_split(token)
    return header, jwt_payload(raw), signing_input, signature


def credential_of_jwt(token: str) -> dict[str, Any]:
    """The OB3 credential (with its Data Integrity proof) carried by a VC-JWT: the payload without the JWT claims."""
    _, payload, _, _ = jwt_parts(token)
    return {k: v for k, v in payload.items() if k not in JWT_CLAIMS}
