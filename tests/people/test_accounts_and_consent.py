import pytest

from gongzhi.core.errors import Conflict, DomainError
from gongzhi.people import services
from gongzhi.people.models import Consent, OneTimeCode, User
from gongzhi.people.sms import MemorySender
from tests import factories


@pytest.fixture(autouse=True)
def _outbox():
    MemorySender.outbox.clear()


def _last_code() -> str:
    return MemorySender.outbox[-1][1].split("验证码是 ")[1][:6]


def test_otp_send_and_verify_once(db):
    services.otp_send(phone="13800000001")
    code = _last_code()
    assert services.otp_verify(phone="13800000001", code=code)
    assert not services.otp_verify(phone="13800000001", code=code), "a code works once"


def test_otp_rate_limited_and_attempts_capped(db, settings):
    services.otp_send(phone="13800000002")
    with pytest.raises(DomainError):
        services.otp_send(phone="13800000002")
    code = _last_code()
    for _ in range(settings.OTP_MAX_ATTEMPTS):
        assert not services.otp_verify(phone="13800000002", code="000000" if code != "000000" else "111111")
    assert not services.otp_verify(phone="13800000002", code=code), "locked after too many wrong guesses"
    assert OneTimeCode.objects.count() == 1


def test_resident_claims_account_with_phone(tree):
    r = factories.resident(tree.comm_a1, name="赵阿姨", phone="13800000003")
    assert r.user is None
    user = services.account_claim(phone="13800000003", password="Zhao-2026-pw")
    r.refresh_from_db()
    assert r.user == user and user.check_password("Zhao-2026-pw") and user.display_name == "赵阿姨"
    with pytest.raises(Conflict):
        services.account_claim(phone="13800000003", password="Another-2026-pw")
    assert User.objects.filter(phone="13800000003").count() == 1


def test_weak_password_refused(tree):
    factories.resident(tree.comm_a1, phone="13800000004")
    with pytest.raises(DomainError) as exc:
        services.account_claim(phone="13800000004", password="123")
    assert "password" in exc.value.fields
    assert not User.objects.filter(phone="13800000004").exists()


def test_consent_give_twice_and_withdraw_keeps_history(tree):
    r = factories.resident(tree.comm_a1)
    c1 = services.consent_give(resident=r, purpose="platform", version="2026-01")
    assert services.consent_give(resident=r, purpose="platform", version="2026-01") == c1
    services.consent_give(resident=r, purpose="platform", version="2026-02")
    assert Consent.objects.filter(resident=r).count() == 2
    assert services.consent_withdraw(resident=r, purpose="platform") == 1
    assert not Consent.objects.filter(resident=r, withdrawn_at__isnull=True).exists()


def test_role_grant_is_idempotent_and_level_checked(tree):
    user = factories.UserFactory()
    g1 = services.role_grant(actor=None, user=user, place=tree.street_a, role="street_staff")
    g2 = services.role_grant(actor=None, user=user, place=tree.street_a, role="street_staff")
    assert g1 == g2
    with pytest.raises(DomainError) as exc:
        services.role_grant(actor=None, user=user, place=tree.comm_a1, role="street_staff")
    assert "place" in exc.value.fields
