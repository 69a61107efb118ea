"""Concurrent requests (threads on PostgreSQL, in turn on SQLite): a double claim, a double issue, concurrent first
uses of a place's key — each makes one row."""

from __future__ import annotations

import pytest

from gongzhi.learning.credentials import certificates, keys
from gongzhi.learning.models import Certificate, CertificateStatus, IssuerKey
from tests.learning.test_concurrency import run_all

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_claims_make_one_certificate(eligible):
    results, errors = run_all(lambda: eligible.claim(), [()] * 6)
    assert not errors, errors
    assert len({c.pk for c in results}) == 1
    assert Certificate.objects.filter(resident=eligible.holder, status=CertificateStatus.VALID).count() == 1
    assert IssuerKey.objects.count() == 1


def test_concurrent_issues_and_claims_make_one_certificate(eligible):
    staff = eligible.users["street_staff"]

    def issue():
        return certificates.certificate_issue(actor=staff, resident=eligible.holder, level=eligible.level1)

    results, errors = run_all(lambda f: f(), [(issue,), (eligible.claim,)] * 3)
    assert not errors, errors
    assert len({c.pk for c in results}) == 1
    assert Certificate.objects.count() == 1


def test_concurrent_first_uses_of_a_key_make_one(cw):
    results, errors = run_all(lambda: keys.issuer_key_active(place=cw.tree.street_a), [()] * 6)
    assert not errors, errors
    assert len({k.pk for k in results}) == 1
    assert IssuerKey.objects.filter(place=cw.tree.street_a, retired_at__isnull=True).count() == 1


def test_concurrent_revokes_record_one(eligible):
    cert = eligible.claim()
    staff = eligible.users["street_staff"]
    results, errors = run_all(
        lambda r: certificates.certificate_revoke(actor=staff, certificate=cert, reason=r),
        [(f"原因{i}",) for i in range(4)],
    )
    assert not errors, errors
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.REVOKED
    assert {c.revoke_reason for c in results} == {cert.revoke_reason}


def test_concurrent_renewals_make_one_successor(eligible):
    cert = eligible.claim()
    staff = eligible.users["street_staff"]
    results, errors = run_all(lambda: certificates.certificate_renew(actor=staff, certificate=cert), [()] * 4)
    assert not errors, errors
    assert len({c.pk for c in results}) == 1
    assert Certificate.objects.filter(renewed_from=cert).count() == 1
    assert Certificate.objects.filter(status=CertificateStatus.VALID).count() == 1
