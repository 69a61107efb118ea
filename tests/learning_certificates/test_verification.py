"""Must show: verification says "valid" for a good credential, "revoked" after revocation, "expired" after expiry, and a
tampered Open Badges 3.0 credential (one character changed, or the subject swapped) fails — for the VC-JWT and for the
OB3 JSON with its Data Integrity proof."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gongzhi.learning.credentials import certificates, keys, signing
from gongzhi.learning.credentials.verify import certificate_state, verify_code, verify_jwt, verify_text

from .conftest import years_ago

pytestmark = pytest.mark.django_db


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, ensure_ascii=False).encode()).decode().rstrip("=")


def _parts(token: str) -> tuple[dict, dict, str]:
    header, payload, _, _ = signing.jwt_parts(token)
    return header, payload, token.split(".")[2]


def test_a_fresh_certificate_verifies_as_valid_in_every_form(eligible):
    cert = eligible.claim()
    result = verify_jwt(cert.credential_jwt)
    assert result.status == "valid", (result.status, result.detail)
    assert result.message == "证书有效"
    assert result.certificate == cert
    assert [ok for _, ok in result.checks] == [True] * len(result.checks) and len(result.checks) >= 4

    credential = signing.credential_of_jwt(cert.credential_jwt)
    assert verify_text(json.dumps(credential, ensure_ascii=False)).status == "valid"
    assert verify_text(credential).status == "valid"  # the parsed object, as the API receives it
    assert verify_code(cert.code).status == "valid"
    assert verify_code(certificates.code_display(cert.code).lower()).status == "valid"  # typed with dashes


def test_the_credential_is_an_ob3_open_badge_credential_without_plain_personal_data(eligible):
    cert = eligible.claim()
    header, payload, _ = _parts(cert.credential_jwt)
    assert header == {
        "alg": "EdDSA",
        "kid": f"https://gz.example/credentials/keys/{keys.issuer_key_active(place=eligible.tree.street_a).kid}/",
        "typ": "JWT",
    }
    vc = signing.credential_of_jwt(cert.credential_jwt)
    assert vc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert vc["id"] == f"urn:uuid:{cert.pk}" == payload["jti"]
    assert vc["issuer"] == {
        "id": f"https://gz.example/credentials/issuers/{eligible.tree.street_a.code}/",
        "type": ["Profile"],
        "name": "九堡街道",
    }
    assert payload["iss"] == vc["issuer"]["id"]
    assert vc["validFrom"] == f"{cert.issued_on.isoformat()}T00:00:00+08:00"
    assert vc["validUntil"] == f"{cert.expires_on.isoformat()}T23:59:59+08:00"
    assert payload["nbf"] < payload["exp"]
    subject = vc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    identity = subject["identifier"][0]
    assert identity["type"] == "IdentityObject" and identity["hashed"] is True
    assert identity["identityType"] == "identifier"
    assert identity["identityHash"] == signing.identity_hash(f"urn:uuid:{eligible.holder.pk}", identity["salt"])
    assert identity["identityHash"].startswith("sha256$")
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"] and achievement["name"] == "星级家长执照 · 一星家长"
    assert "积分" in achievement["criteria"]["narrative"] and "20" in achievement["criteria"]["narrative"]
    assert vc["credentialStatus"] == {
        "id": f"https://gz.example/credentials/issuers/{eligible.tree.street_a.code}/revocations.json",
        "type": "1EdTechRevocationList",
    }
    assert vc["proof"]["type"] == "DataIntegrityProof" and vc["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    text = json.dumps(payload, ensure_ascii=False)
    full_name, phone = eligible.names["holder"]
    for secret in (full_name, phone, str(eligible.holder.pk), eligible.holder.ref or "@@"):
        assert secret not in text
    assert "陈*华" not in text  # not even the masked name: the subject is the hash


def test_a_changed_character_in_the_jwt_payload_fails(eligible):
    cert = eligible.claim()
    _header, payload, signature = _parts(cert.credential_jwt)
    head = cert.credential_jwt.split(".")[0]
    forged = dict(payload, name=payload["name"].replace("一星", "五星"))
    assert verify_jwt(f"{head}.{_b64(forged)}.{signature}").status == "invalid_signature"
    # One character of the encoded payload itself.
    body = cert.credential_jwt.split(".")[1]
    i = len(body) // 2
    flipped = body[:i] + ("A" if body[i] != "A" else "B") + body[i + 1 :]
    assert verify_jwt(f"{head}.{flipped}.{signature}").status == "invalid_signature"
    # Every single position: a changed character never verifies (it fails the signature, never "malformed").
    for i in range(0, len(body), 7):
        other = "A" if body[i] != "A" else "B"
        assert verify_jwt(f"{head}.{body[:i]}{other}{body[i + 1 :]}.{signature}").status == "invalid_signature"


def test_a_swapped_subject_fails(eligible):
    mine = eligible.claim()
    eligible.points(eligible.neighbour)
    theirs = eligible.claim(eligible.neighbour)
    head, _, signature = mine.credential_jwt.split(".")
    _, payload, _ = _parts(mine.credential_jwt)
    _, other, _ = _parts(theirs.credential_jwt)
    swapped = dict(payload, credentialSubject=other["credentialSubject"])
    assert verify_jwt(f"{head}.{_b64(swapped)}.{signature}").status == "invalid_signature"
    # The OB3 JSON with its Data Integrity proof: the same swap fails too.
    vc = signing.credential_of_jwt(mine.credential_jwt)
    vc["credentialSubject"] = signing.credential_of_jwt(theirs.credential_jwt)["credentialSubject"]
    assert verify_text(json.dumps(vc, ensure_ascii=False)).status == "invalid_signature"


def test_a_tampered_ob3_json_fails_and_one_without_proof_is_not_accepted(eligible):
    cert = eligible.claim()
    vc = signing.credential_of_jwt(cert.credential_jwt)
    text = json.dumps(vc, ensure_ascii=False)
    assert verify_text(text).status == "valid"
    assert verify_text(text.replace("一星家长", "五星家长")).status == "invalid_signature"
    later = dict(vc, validUntil="2099-12-31T23:59:59+08:00")
    assert verify_text(later).status == "invalid_signature"
    no_proof = {k: v for k, v in vc.items() if k != "proof"}
    result = verify_text(no_proof)
    assert result.status == "invalid_signature" and "签名" in result.detail


def test_foreign_keys_alg_none_and_garbage(eligible):
    cert = eligible.claim()
    header, payload, _ = _parts(cert.credential_jwt)
    stranger = Ed25519PrivateKey.generate()
    # Signed by a key this site does not know.
    foreign = signing.jws_sign({**header, "kid": "https://evil.example/keys/x/"}, payload, stranger)
    assert verify_jwt(foreign).status == "unknown_issuer"
    # Our kid, but another key's signature.
    assert verify_jwt(signing.jws_sign(header, payload, stranger)).status == "invalid_signature"
    # alg "none" is refused.
    unsigned = f"{_b64({'alg': 'none', 'kid': header['kid']})}.{_b64(payload)}."
    assert verify_jwt(unsigned).status == "invalid_signature"
    for junk in ("", "abc", "a.b.c", "{not json", "[1, 2]", "x" * 70_000):
        assert verify_text(junk).status == "malformed", junk
        assert verify_text(junk).message


def test_claims_must_agree_with_the_credential(eligible):
    cert = eligible.claim()
    key = keys.issuer_key_active(place=eligible.tree.street_a)
    header, payload, _ = _parts(cert.credential_jwt)
    # Re-signed with the real key (as a thief of the key could): a jti other than the id is still refused.
    bad = signing.jws_sign(
        header, dict(payload, jti="urn:uuid:00000000-0000-0000-0000-000000000000"), keys.private_key(key)
    )
    assert verify_jwt(bad).status == "malformed"


def test_revoked_says_revoked(eligible):
    cert = eligible.claim()
    staff = eligible.users["street_staff"]
    certificates.certificate_revoke(actor=staff, certificate=cert, reason="材料不实")
    result = verify_jwt(cert.credential_jwt)
    assert result.status == "revoked" and result.message == "证书已被撤销" and result.label == "已撤销"
    assert verify_text(signing.credential_of_jwt(cert.credential_jwt)).status == "revoked"
    assert verify_code(cert.code).status == "revoked"


def test_expired_says_expired(cw):
    issued = years_ago(2)
    cert = certificates.certificate_issue(
        actor=cw.users["street_staff"], resident=cw.holder, level=cw.level1, today=issued, base_url="https://gz.example"
    )
    assert cert.expires_on == issued.replace(year=issued.year + 1) - datetime.timedelta(days=1)
    assert certificate_state(cert) == "expired"
    result = verify_jwt(cert.credential_jwt)
    assert result.status == "expired" and result.message == "证书已过期"
    assert verify_text(signing.credential_of_jwt(cert.credential_jwt)).status == "expired"
    assert verify_code(cert.code).status == "expired"
    # The day before the expiry it was valid; the day after, expired (boundaries of validUntil).
    end = datetime.datetime.fromisoformat(signing.valid_until(cert.expires_on))
    assert verify_jwt(cert.credential_jwt, now=end - datetime.timedelta(seconds=1)).status == "valid"
    assert verify_jwt(cert.credential_jwt, now=end + datetime.timedelta(seconds=1)).status == "expired"


def test_not_yet_valid_before_valid_from(eligible):
    cert = eligible.claim()
    start = datetime.datetime.fromisoformat(signing.valid_from(cert.issued_on))
    assert verify_jwt(cert.credential_jwt, now=start - datetime.timedelta(seconds=1)).status == "not_yet_valid"


def test_a_renewed_certificate_is_superseded_and_the_new_one_valid(eligible):
    cert = eligible.claim()
    renewed = certificates.certificate_renew(actor=eligible.users["street_staff"], certificate=cert)
    assert verify_jwt(cert.credential_jwt).status == "superseded"
    assert verify_jwt(renewed.credential_jwt).status == "valid"


def test_a_retired_key_still_verifies_and_new_certificates_use_the_new_key(eligible):
    first = eligible.claim()
    old = keys.issuer_key_active(place=eligible.tree.street_a)
    new = keys.issuer_key_rotate(actor=eligible.users["street_staff"], place=eligible.tree.street_a)
    assert new.kid != old.kid
    assert verify_jwt(first.credential_jwt).status == "valid"
    eligible.points(eligible.neighbour)
    second = eligible.claim(eligible.neighbour)
    assert _parts(second.credential_jwt)[0]["kid"].endswith(f"/{new.kid}/")
    assert verify_jwt(second.credential_jwt).status == "valid"


def test_unknown_code(cw):
    assert verify_code("ZZZZZZZZZZZZZZZZ").status == "unknown_credential"
    assert verify_code("<script>").status == "unknown_credential"
