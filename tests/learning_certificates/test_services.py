"""Certificate services: claim (eligible only, idempotent), issue, revoke, renew, expiry; issuer keys."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import override_settings

from gongzhi.core.errors import Conflict, DomainError, PermissionDenied
from gongzhi.core.models import AuditEvent
from gongzhi.learning.credentials import certificates, keys, programmes, signing
from gongzhi.learning.models import Certificate, CertificateStatus, IssuerKey

from .conftest import years_ago

pytestmark = pytest.mark.django_db


# --- claim ------------------------------------------------------------------------------------------------------


def test_claim_needs_the_level_criteria(cw):
    with pytest.raises(DomainError) as err:
        cw.claim()
    assert err.value.code == "not_eligible"
    assert "一星家长" in err.value.message and "积分" in err.value.message
    assert not Certificate.objects.exists()
    cw.points(cw.holder)
    cert = cw.claim()
    assert cert.claimed is True and cert.issued_by is None and cert.status == CertificateStatus.VALID
    assert cert.holder_name_masked == "陈*华"
    assert cert.programme == cw.programme and cert.level == cw.level1
    assert len(cert.code) == 16 and cert.code.isalnum() and cert.code.upper() == cert.code
    assert cert.credential_jwt.count(".") == 2


def test_a_double_claim_gives_one_certificate(eligible):
    first = eligible.claim()
    second = eligible.claim()
    assert first.pk == second.pk
    assert Certificate.objects.filter(resident=eligible.holder, level=eligible.level1).count() == 1
    assert AuditEvent.objects.filter(target_type="certificate", target_id=str(first.pk)).count() == 1


def test_the_database_keeps_one_valid_certificate_per_person_and_level(eligible):
    cert = eligible.claim()
    dup = Certificate(
        code=certificates.new_code(),
        programme=cert.programme,
        level=cert.level,
        resident=cert.resident,
        holder_name_masked="x",
        issued_on=cert.issued_on,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        dup.save()


def test_a_concurrent_winner_is_returned(eligible, monkeypatch):
    """The race a lock cannot see (another transaction inserted first): the loser answers with the winner's row."""
    winner = eligible.claim()
    calls = []
    real_valid_of = certificates._valid_of

    def first_miss(resident, level):
        calls.append(1)
        return None if len(calls) == 1 else real_valid_of(resident, level)

    monkeypatch.setattr(certificates, "_valid_of", first_miss)
    assert eligible.claim().pk == winner.pk
    assert Certificate.objects.count() == 1


def test_claim_refusals(eligible):
    with pytest.raises(PermissionDenied):
        certificates.certificate_claim(resident=eligible.holder, level=eligible.level1, actor=eligible.neighbour.user)
    programmes.programme_retire(actor=None, programme=eligible.programme)
    eligible.level1.programme.refresh_from_db()
    with pytest.raises(Conflict) as err:
        eligible.claim()
    assert err.value.code == "programme_inactive"
    assert not Certificate.objects.exists()


def test_level_two_needs_level_one_held(eligible):
    eligible.points(eligible.holder, 5)  # 120 points
    with pytest.raises(DomainError) as err:
        eligible.claim(level=eligible.level2)
    assert err.value.code == "not_eligible"
    eligible.claim()
    assert eligible.claim(level=eligible.level2).level == eligible.level2


def test_expiry_from_the_programme_validity():
    assert certificates.expiry_for(12, datetime.date(2025, 3, 15)) == datetime.date(2026, 3, 14)
    assert certificates.expiry_for(1, datetime.date(2025, 1, 31)) == datetime.date(2025, 2, 27)
    assert certificates.expiry_for(24, datetime.date(2024, 2, 29)) == datetime.date(2026, 2, 27)
    assert certificates.expiry_for(None, datetime.date(2025, 3, 15)) is None
    assert certificates.expiry_for(0, datetime.date(2025, 3, 15)) is None


def test_a_programme_without_validity_issues_indefinite_certificates(cw):
    programmes.programme_update(
        actor=None, programme=cw.programme, name=cw.programme.name, description="", validity_months=None
    )
    cw.level1.programme.refresh_from_db()
    cw.points(cw.holder)
    cert = cw.claim()
    assert cert.expires_on is None
    assert "validUntil" not in signing.credential_of_jwt(cert.credential_jwt)
    assert "exp" not in signing.jwt_parts(cert.credential_jwt)[1]


# --- issue, revoke, renew ---------------------------------------------------------------------------------------


def test_staff_issue_without_criteria_idempotently(cw):
    staff = cw.users["street_staff"]
    cert = certificates.certificate_issue(actor=staff, resident=cw.holder, level=cw.level1, note="线下培训签到表")
    assert cert.claimed is False and cert.issued_by == staff
    assert certificates.certificate_issue(actor=staff, resident=cw.holder, level=cw.level1).pk == cert.pk
    event = AuditEvent.objects.get(target_type="certificate", target_id=str(cert.pk))
    assert (
        event.actor == staff
        and event.place_code == cw.tree.street_a.code
        and event.changes == {"note": "线下培训签到表"}
    )
    with pytest.raises(DomainError) as err:
        certificates.certificate_issue(actor=staff, resident=cw.neighbour, level=cw.level1, note="x" * 301)
    assert "note" in err.value.fields


def test_revoke_needs_a_reason_and_is_idempotent(eligible):
    cert = eligible.claim()
    staff = eligible.users["street_staff"]
    for reason in ("", "   ", "x" * 301):
        with pytest.raises(DomainError) as err:
            certificates.certificate_revoke(actor=staff, certificate=cert, reason=reason)
        assert "reason" in err.value.fields
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID
    revoked = certificates.certificate_revoke(actor=staff, certificate=cert, reason="材料不实")
    assert revoked.status == CertificateStatus.REVOKED and revoked.revoke_reason == "材料不实" and revoked.revoked_at
    again = certificates.certificate_revoke(actor=staff, certificate=cert, reason="另一个原因")
    assert again.revoke_reason == "材料不实" and again.revoked_at == revoked.revoked_at
    # Once revoked, the resident may claim again (when still eligible): a new certificate.
    fresh = eligible.claim()
    assert fresh.pk != cert.pk and fresh.status == CertificateStatus.VALID


def test_holder_renewal_window_and_eligibility(cw):
    staff = cw.users["street_staff"]
    cw.points(cw.holder)
    # Issued 11 months and a half ago: expires in about two weeks, inside the 30-day window.
    issued = datetime.date.today() - datetime.timedelta(days=350)
    cert = certificates.certificate_issue(actor=staff, resident=cw.holder, level=cw.level1, today=issued)
    fresh = certificates.certificate_issue(actor=staff, resident=cw.neighbour, level=cw.level1)
    with pytest.raises(Conflict) as err:
        certificates.certificate_renew(actor=cw.neighbour.user, certificate=fresh)
    assert err.value.code == "too_early" and "30" in err.value.message
    with pytest.raises(PermissionDenied):
        certificates.certificate_renew(actor=cw.neighbour.user, certificate=cert)
    renewed = certificates.certificate_renew(actor=cw.holder.user, certificate=cert)
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.SUPERSEDED
    assert renewed.renewed_from == cert and renewed.claimed is True
    assert renewed.issued_on == datetime.date.today() and renewed.expires_on > cert.expires_on
    # A second click returns the same successor.
    assert certificates.certificate_renew(actor=cw.holder.user, certificate=cert).pk == renewed.pk
    assert Certificate.objects.filter(resident=cw.holder).count() == 2


def test_holder_renewal_after_expiry_needs_the_criteria_again(cw):
    old = certificates.certificate_issue(
        actor=cw.users["street_staff"], resident=cw.holder, level=cw.level1, today=years_ago(2)
    )
    with pytest.raises(DomainError) as err:
        certificates.certificate_renew(actor=cw.holder.user, certificate=old)
    assert err.value.code == "not_eligible"
    cw.points(cw.holder)
    assert certificates.certificate_renew(actor=cw.holder.user, certificate=old).status == CertificateStatus.VALID


def test_staff_renew_any_time_but_not_a_revoked_one(eligible):
    staff = eligible.users["street_staff"]
    cert = eligible.claim()
    renewed = certificates.certificate_renew(actor=staff, certificate=cert)
    assert renewed.claimed is False and renewed.issued_by == staff
    certificates.certificate_revoke(actor=staff, certificate=renewed, reason="错误")
    with pytest.raises(Conflict) as err:
        certificates.certificate_renew(actor=staff, certificate=renewed)
    assert err.value.code == "certificate_revoked"
    with pytest.raises(Conflict):
        certificates.certificate_revoke(actor=staff, certificate=cert, reason="旧证")  # superseded


# --- issuer keys --------------------------------------------------------------------------------------------------


def test_one_key_per_place_generated_on_first_use(eligible):
    assert not IssuerKey.objects.exists()
    eligible.claim()
    key = IssuerKey.objects.get()
    assert key.place == eligible.tree.street_a and key.retired_at is None
    assert key.public_jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": key.public_jwk["x"],
        "kid": key.kid,
        "alg": "EdDSA",
        "use": "sig",
    }
    assert keys.issuer_key_active(place=eligible.tree.street_a) == key
    assert keys.public_multibase(key).startswith("z6Mk")


def test_the_private_key_is_not_in_the_database_in_plain_form(eligible):
    eligible.claim()
    key = IssuerKey.objects.get()
    private = keys.private_key(key)
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    forms = [raw.hex(), keys.b64url(raw), __import__("base64").b64encode(raw).decode(), pem.splitlines()[1]]
    # A dump of the whole database holds none of the private key's encodings…
    import io

    out = io.StringIO()
    call_command("dumpdata", "learning", "core", stdout=out)
    dump = out.getvalue()
    assert key.kid in dump and key.private_key_encrypted in dump
    for form in forms:
        assert form not in dump
    assert '"d"' not in json.dumps(key.public_jwk)
    # …and the stored form is useless without the deployment's data key (not in the database).
    with override_settings(DATA_ENCRYPTION_KEY="another-deployment-key"), pytest.raises(keys.IssuerKeyError):
        keys.private_key(key)
    # Moving the encrypted key onto another row (another kid) does not decrypt either.
    moved = IssuerKey(kid="330102001000-moved", private_key_encrypted=key.private_key_encrypted)
    with pytest.raises(keys.IssuerKeyError):
        keys.private_key(moved)


def test_rotation_retires_the_old_key(eligible):
    place = eligible.tree.street_a
    first = keys.issuer_key_active(place=place)
    second = keys.issuer_key_rotate(actor=eligible.users["street_staff"], place=place)
    first.refresh_from_db()
    assert first.retired_at is not None and second.retired_at is None
    assert [k.kid for k in keys.issuer_keys(place=place)] == [second.kid, first.kid]
    assert keys.issuer_key_active(place=place) == second
    assert IssuerKey.objects.filter(place=place, retired_at__isnull=True).count() == 1
    assert keys.issuer_key_by_kid(f"https://gz.example/credentials/keys/{first.kid}/") == first


def test_base58btc_round_trip():
    for raw in (b"", b"\0\0\x01", bytes(range(40)), b"\xed\x01" + b"\xff" * 32):
        assert keys.base58btc_decode(keys.base58btc(raw)) == raw
    assert keys.base58btc(b"hello world") == "StV1DL6CwTryKyV"
