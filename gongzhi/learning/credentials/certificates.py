"""Writes of certificates (颁证): claim by an eligible resident, issue by staff, revoke with a reason, renew.

Each certificate gets an unguessable code (16 characters of Crockford base32, 80 bits) that names its public
verification page, an expiry from the programme's ``validity_months`` (none: valid indefinitely), and its Open Badges
3.0 credential signed by the programme place's key (``signing.sign_certificate``), stored as issued.

Idempotent and safe under concurrency: the level row is locked (``select_for_update``) before the check and the
insert, and the database keeps one valid certificate per person and level (``certificate_one_valid``), so a double
claim or a double click on "issue" returns the one certificate. A renewal supersedes the old certificate and issues a
new one; renewing a superseded certificate again returns its successor.

Permission checks: ``certificate_issue``, ``certificate_revoke`` and ``certificate_renew`` check the actor themselves
(``learning.issue_certificate`` / ``learning.manage_certificate``, or the holder for a renewal); ``certificate_claim``
is for the resident's own account.
"""

from __future__ import annotations

import calendar
import datetime
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import Conflict, DomainError, NotFound, PermissionDenied, invalid
from gongzhi.people import access
from gongzhi.people.models import Resident

from ..models import Certificate, CertificateStatus, CredentialLevel, ProgrammeStatus
from . import signing

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 16
RENEW_WINDOW_DAYS = 30  # a holder may renew from this many days before the expiry on
MAX_REASON = 300


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_display(code: str) -> str:
    """ABCD-EFGH-JKMN-PQRS: easier to read out and type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def add_months(day: datetime.date, months: int) -> datetime.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def expiry_for(validity_months: int | None, issued_on: datetime.date) -> datetime.date | None:
    """Valid through the day before the same date ``validity_months`` later (12 months from 2025-03-15: 2026-03-14)."""
    if not validity_months:
        return None
    return add_months(issued_on, validity_months) - datetime.timedelta(days=1)


def renewable_by_holder(certificate: Certificate, *, today: datetime.date | None = None) -> bool:
    """Whether the holder may renew: a valid certificate with an expiry, from RENEW_WINDOW_DAYS before it on."""
    today = today or timezone.localdate()
    return (
        certificate.status == CertificateStatus.VALID
        and certificate.expires_on is not None
        and (certificate.expires_on - today).days <= RENEW_WINDOW_DAYS
    )


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _locked_level(level: CredentialLevel) -> CredentialLevel:
    """The level row locked for this transaction (criteria cannot change between the check and the insert)."""
    try:
        return (
            CredentialLevel.objects.select_for_update(of=("self",)).select_related("programme__place").get(pk=level.pk)
        )
    except CredentialLevel.DoesNotExist as exc:
        raise NotFound(_("找不到该认证级别")) from exc


def _valid_of(resident: Resident, level: CredentialLevel) -> Certificate | None:
    return (
        Certificate.objects.select_related("programme__place", "level", "resident")
        .filter(resident=resident, level=level, status=CertificateStatus.VALID)
        .first()
    )


def _active_programme(level: CredentialLevel) -> None:
    if level.programme.status != ProgrammeStatus.ACTIVE:
        raise Conflict(
            _("认证项目“%(name)s”未在进行中，不能颁发证书") % {"name": level.programme.name}, code="programme_inactive"
        )


def _check_eligible(resident: Resident, level: CredentialLevel, today: datetime.date) -> None:
    from .selectors import level_eligibility

    evaluation = level_eligibility(resident=resident, level=level, today=today)
    if not evaluation.met:
        missing = "；".join(leaf.label for leaf in evaluation.leaves if not leaf.met)
        message = _("尚未达到“%(level)s”的条件") % {"level": level.name}
        if missing:
            message += _("：还差 %(missing)s") % {"missing": missing}
        raise DomainError(message, code="not_eligible")


def _create(
    *,
    resident: Resident,
    level: CredentialLevel,
    today: datetime.date,
    claimed: bool,
    issued_by: Any,
    renewed_from: Certificate | None = None,
    base_url: str = "",
) -> Certificate:
    programme = level.programme
    certificate = Certificate(
        code=new_code(),
        programme=programme,
        level=level,
        resident=resident,
        holder_name_masked=(resident.masked_name or resident.ref or "—")[:50],
        issued_on=today,
        expires_on=expiry_for(programme.validity_months, today),
        claimed=claimed,
        issued_by=_user(issued_by),
        renewed_from=renewed_from,
    )
    certificate.credential_jwt = signing.sign_certificate(certificate, base_url=base_url)
    try:
        certificate.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    certificate.save()
    return certificate


def _create_once(**kwargs: Any) -> Certificate:
    """``_create``, but a concurrent request that won the race is answered with its certificate."""
    try:
        with transaction.atomic():
            return _create(**kwargs)
    except (IntegrityError, DomainError):
        existing = _valid_of(kwargs["resident"], kwargs["level"])
        if existing is None:
            raise
        return existing


def certificate_claim(
    *,
    resident: Resident,
    level: CredentialLevel,
    actor: Any,
    today: datetime.date | None = None,
    base_url: str = "",
) -> Certificate:
    """The resident claims (领取) the certificate of a level they are eligible for. Idempotent: a second claim returns
    the certificate they already hold."""
    user = _user(actor)
    if user is not None and resident.user_id != user.pk:
        raise PermissionDenied(_("只能领取本人的证书"))
    today = today or timezone.localdate()
    with transaction.atomic():
        level = _locked_level(level)
        existing = _valid_of(resident, level)
        if existing is not None:
            return existing
        _active_programme(level)
        if resident.left_on is not None:
            raise Conflict(_("已迁出的居民不能领取证书"), code="resident_left")
        _check_eligible(resident, level, today)
        certificate = _create_once(
            resident=resident, level=level, today=today, claimed=True, issued_by=None, base_url=base_url
        )
        audit_record(
            actor=actor,
            action="create",
            target_type="certificate",
            target_id=str(certificate.pk),
            place_code=level.programme.place_id,
            summary=f"领取证书 {level.programme.name}·{level.name} {certificate.code}",
        )
        return certificate


def certificate_issue(
    *,
    actor: Any,
    resident: Resident,
    level: CredentialLevel,
    note: str = "",
    today: datetime.date | None = None,
    base_url: str = "",
) -> Certificate:
    """Staff issue (颁发) a certificate to a resident they cover — recorded as not claimed. The criteria are not
    checked (staff decide, e.g. on paper records); ``note`` goes to the audit log. Idempotent like a claim."""
    if not getattr(actor, "has_perm", None) or not actor.has_perm("learning.issue_certificate", level.programme):
        raise PermissionDenied(_("您无权颁发该项目的证书"))
    if not access.has_role_covering(actor, resident.community_id, access.RESIDENT_ROLES):
        raise PermissionDenied(_("您无权为该居民颁发证书"))
    note = (note or "").strip()
    if len(note) > MAX_REASON:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields={"note": [_("备注不能超过 300 字")]})
    today = today or timezone.localdate()
    with transaction.atomic():
        level = _locked_level(level)
        existing = _valid_of(resident, level)
        if existing is not None:
            return existing
        _active_programme(level)
        certificate = _create_once(
            resident=resident, level=level, today=today, claimed=False, issued_by=actor, base_url=base_url
        )
        audit_record(
            actor=actor,
            action="create",
            target_type="certificate",
            target_id=str(certificate.pk),
            place_code=level.programme.place_id,
            summary=f"颁发证书 {level.programme.name}·{level.name} {certificate.code}"[:300],
            changes={"note": note} if note else {},
        )
        return certificate


def _locked(certificate: Certificate) -> Certificate:
    return (
        Certificate.objects.select_for_update(of=("self",))
        .select_related("programme__place", "level", "resident")
        .get(pk=certificate.pk)
    )


def certificate_revoke(*, actor: Any, certificate: Certificate, reason: str) -> Certificate:
    """Revoke (撤销) a certificate with a reason. Revoking a revoked certificate changes nothing."""
    if not actor.has_perm("learning.manage_certificate", certificate):
        raise PermissionDenied(_("您无权撤销该证书"))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields={"reason": [_("请填写撤销原因")]})
    if len(reason) > MAX_REASON:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields={"reason": [_("撤销原因不能超过 300 字")]})
    with transaction.atomic():
        current = _locked(certificate)
        if current.status == CertificateStatus.REVOKED:
            return current
        if current.status == CertificateStatus.SUPERSEDED:
            raise Conflict(_("该证书已换发新证，请撤销新证书"), code="certificate_superseded")
        current.status = CertificateStatus.REVOKED
        current.revoked_at = timezone.now()
        current.revoke_reason = reason
        current.save(update_fields=["status", "revoked_at", "revoke_reason", "updated_at"])
        audit_record(
            actor=actor,
            action="update",
            target_type="certificate",
            target_id=str(current.pk),
            place_code=current.programme.place_id,
            summary=f"撤销证书 {current.code}：{reason}"[:300],
            changes={"status": ["valid", "revoked"], "reason": reason},
        )
        return current


def certificate_renew(
    *, actor: Any, certificate: Certificate, today: datetime.date | None = None, base_url: str = ""
) -> Certificate:
    """Renew (换发): a new certificate for the same level, the old one superseded. Staff covering the programme may
    renew at any time; the holder from RENEW_WINDOW_DAYS before the expiry on, when they still meet the criteria.
    Renewing a certificate already renewed returns its successor."""
    user = _user(actor)
    is_staff = bool(user) and actor.has_perm("learning.manage_certificate", certificate)
    is_holder = bool(user) and certificate.resident.user_id == user.pk
    if not (is_staff or is_holder):
        raise PermissionDenied(_("您无权换发该证书"))
    today = today or timezone.localdate()
    with transaction.atomic():
        level = _locked_level(certificate.level)
        current = _locked(certificate)
        if current.status == CertificateStatus.SUPERSEDED:
            successor = Certificate.objects.select_related("programme__place", "level").filter(renewed_from=current)
            found = successor.first()
            if found is not None:
                return found
        if current.status != CertificateStatus.VALID:
            raise Conflict(_("已撤销的证书不能换发"), code="certificate_revoked")
        _active_programme(level)
        if not is_staff:
            if current.expires_on is None:
                raise Conflict(_("该证书长期有效，无需换发"), code="no_expiry")
            if not renewable_by_holder(current, today=today):
                raise Conflict(
                    _("证书到期前 %(days)s 天内才能申请换发（有效期至 %(date)s）")
                    % {"days": RENEW_WINDOW_DAYS, "date": current.expires_on.isoformat()},
                    code="too_early",
                )
            _check_eligible(current.resident, level, today)
        current.status = CertificateStatus.SUPERSEDED
        current.save(update_fields=["status", "updated_at"])
        renewed = _create(
            resident=current.resident,
            level=level,
            today=today,
            claimed=not is_staff,
            issued_by=actor if is_staff else None,
            renewed_from=current,
            base_url=base_url,
        )
        audit_record(
            actor=actor,
            action="create",
            target_type="certificate",
            target_id=str(renewed.pk),
            place_code=level.programme.place_id,
            summary=f"换发证书 {current.code} → {renewed.code}",
            changes={"renewed_from": str(current.pk)},
        )
        return renewed
