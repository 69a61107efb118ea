"""Writes of people: residents, personal data, consent, accounts, one-time codes, role grants, API tokens.

Each service is one transaction, validates with full_clean(), and records the change in the audit log.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import Conflict, DomainError, NotFound, invalid
from gongzhi.places.models import Place

from . import protection
from .models import ApiToken, Consent, LoginFailure, OneTimeCode, Resident, RoleGrant, User
from .sms import get_sender

RESIDENT_FIELDS = (
    "name",
    "phone",
    "community",
    "registered_on",
    "left_on",
    "gender",
    "birth_year",
    "household",
)


def _apply_id_number(resident: Resident, id_number: str | None) -> bool:
    """Set (or clear with "") the encrypted ID number; returns whether it changed."""
    if id_number is None:
        return False
    if id_number == "":
        changed = bool(resident.id_number_encrypted)
        resident.id_number_encrypted = resident.id_number_hash = resident.id_number_masked = ""
        return changed
    try:
        number = protection.normalise_id_number(id_number)
    except protection.PersonalDataError as exc:
        raise DomainError(str(exc), fields={"id_number": [str(exc)]}) from exc
    digest = protection.lookup_hash(number)
    if digest == resident.id_number_hash:
        return False
    clash = Resident.objects.filter(id_number_hash=digest).exclude(pk=resident.pk).exists()
    if clash:
        raise Conflict(_("该身份证号码已登记在另一位居民名下"), fields={"id_number": [_("该身份证号码已被登记")]})
    resident.id_number_encrypted = protection.encrypt(number)
    resident.id_number_hash = digest
    resident.id_number_masked = protection.mask_id_number(number)
    return True


def _normalise_phone_field(phone: str) -> str:
    if not phone:
        return ""
    try:
        return protection.normalise_mobile(phone)
    except protection.PersonalDataError as exc:
        raise DomainError(str(exc), fields={"phone": [str(exc)]}) from exc


@transaction.atomic
def resident_register(
    *,
    actor: Any,
    community: Place,
    name: str,
    registered_on: datetime.date,
    household: str,
    phone: str = "",
    gender: str = "",
    birth_year: int | None = None,
    id_number: str = "",
    ref: str = "",
) -> Resident:
    """Register a resident at the desk (no account needed)."""
    resident = Resident(
        ref=ref or f"R{secrets.token_hex(6).upper()}",
        name=name.strip(),
        phone=_normalise_phone_field(phone),
        community=community,
        registered_on=registered_on,
        gender=gender,
        birth_year=birth_year,
        household=household,
    )
    _apply_id_number(resident, id_number or None)
    try:
        resident.full_clean(validate_unique=False)  # the database decides uniqueness (race-safe)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            resident.save(force_insert=True)
    except IntegrityError as exc:
        if Resident.objects.filter(ref=resident.ref).exists():
            raise Conflict(
                _("编号重复：该居民已登记"), fields={"ref": [_("编号已存在")]}, code="duplicate_ref"
            ) from exc
        raise Conflict(
            _("该身份证号码已登记在另一位居民名下"), fields={"id_number": [_("该身份证号码已被登记")]}
        ) from exc
    audit_record(
        actor=actor,
        action="create",
        target_type="resident",
        target_id=str(resident.pk),
        place_code=community.code,
        summary=f"登记居民 {resident.masked_name}",
    )
    return resident


@transaction.atomic
def resident_update(*, actor: Any, resident: Resident, id_number: str | None = None, **changes: Any) -> Resident:
    """Change a resident's profile. Only the named fields are written; the audit log keeps which ones changed."""
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    unknown = set(changes) - set(RESIDENT_FIELDS)
    if unknown:
        raise DomainError(_("不能修改这些字段"), fields={f: [_("不可修改")] for f in sorted(unknown)})
    required = [f for f in ("name", "community", "registered_on", "household") if f in changes and not changes[f]]
    if required:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields={f: [_("必填")] for f in required})
    for field in ("phone", "gender"):
        if field in changes and changes[field] is None:
            changes[field] = ""
    if "phone" in changes:
        changes["phone"] = _normalise_phone_field(changes["phone"])
    changed = []
    for field, value in changes.items():
        if getattr(resident, field) != value:
            setattr(resident, field, value)
            changed.append("community_id" if field == "community" else field)
    if _apply_id_number(resident, id_number):
        changed += ["id_number_encrypted", "id_number_hash", "id_number_masked"]
    if not changed:
        return resident
    try:
        resident.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    resident.save(update_fields=[*changed, "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="resident",
        target_id=str(resident.pk),
        place_code=resident.community_id,
        summary=f"修改居民 {resident.masked_name}",
        # Which fields changed, never their personal values.
        changes={
            "fields": sorted({c.replace("_encrypted", "").replace("_hash", "").replace("_masked", "") for c in changed})
        },
    )
    return resident


def resident_reveal(*, actor: Any, resident: Resident) -> dict[str, str]:
    """Full personal data of one resident, for someone allowed to see it. Every reveal is audited."""
    audit_record(
        actor=actor,
        action="view_personal",
        target_type="resident",
        target_id=str(resident.pk),
        place_code=resident.community_id,
        summary=f"查看居民 {resident.masked_name} 的完整个人信息",
    )
    return {"name": resident.name, "phone": resident.phone, "id_number": resident.id_number()}


@transaction.atomic
def resident_erase(*, actor: Any, resident: Resident) -> Resident:
    """Erase a resident's personal data (PIPL right to deletion), at their request or by staff.

    Name, phone and ID number are wiped, consents withdrawn, and the account removed (or, for someone who also holds a
    work role, unlinked). What stays is pseudonymous — the ref, community, dates, gender, birth year and household — so
    that attendance and the community's statistics stay correct without identifying anyone.
    """
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    if resident.erased_at is not None:
        return resident
    user = resident.user
    resident.name = resident.phone = ""
    resident.id_number_encrypted = resident.id_number_hash = resident.id_number_masked = ""
    resident.user = None
    resident.erased_at = timezone.now()
    resident.save(
        update_fields=[
            "name",
            "phone",
            "id_number_encrypted",
            "id_number_hash",
            "id_number_masked",
            "user",
            "erased_at",
            "updated_at",
        ]
    )
    Consent.objects.filter(resident=resident, withdrawn_at__isnull=True).update(
        withdrawn_at=resident.erased_at, updated_at=resident.erased_at
    )
    by_self = user is not None and getattr(actor, "pk", None) == user.pk
    if user is not None and not user.grants.exists():
        user.delete()
    audit_record(
        actor=None if by_self else actor,
        action="delete",
        target_type="resident",
        target_id=str(resident.pk),
        place_code=resident.community_id,
        summary="删除居民个人信息" + ("（本人申请）" if by_self else ""),
    )
    return resident


@transaction.atomic
def consent_give(*, resident: Resident, purpose: str, version: str, actor: Any = None) -> Consent:
    existing = (
        Consent.objects.select_for_update()
        .filter(resident=resident, purpose=purpose, withdrawn_at__isnull=True)
        .first()
    )
    if existing and existing.version == version:
        return existing
    now = timezone.now()
    if existing:
        existing.withdrawn_at = now
        existing.save(update_fields=["withdrawn_at", "updated_at"])
    consent = Consent(
        resident=resident,
        purpose=purpose,
        version=version,
        given_at=now,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        consent.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    consent.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="consent",
        target_id=str(consent.pk),
        place_code=resident.community_id,
        summary=f"同意 {Consent.Purpose(purpose).label} v{version}",
    )
    return consent


@transaction.atomic
def consent_withdraw(*, resident: Resident, purpose: str, actor: Any = None) -> int:
    n = Consent.objects.filter(resident=resident, purpose=purpose, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now(), updated_at=timezone.now()
    )
    if n:
        audit_record(
            actor=actor,
            action="update",
            target_type="consent",
            target_id=str(resident.pk),
            place_code=resident.community_id,
            summary=f"撤回同意 {Consent.Purpose(purpose).label}",
        )
    return n


# --- one-time codes and accounts -------------------------------------------------------------------------------


def _code_hash(phone: str, code: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{phone}:{code}".encode()).hexdigest()


# Password logins: after this many failures for one phone (or many more from one address) within the window, further
# attempts are refused without checking the password until the window has passed; SMS-code login stays open.
LOGIN_FAILURES_PER_PHONE = 5
LOGIN_FAILURES_PER_IP = 30
LOGIN_FAILURE_WINDOW = datetime.timedelta(minutes=15)


def _login_phone_key(phone: str) -> str:
    try:
        return protection.normalise_mobile(phone)
    except protection.PersonalDataError:
        return (phone or "").strip()[:20]


def login_throttle_check(*, phone: str, ip: str = "") -> None:
    """Raise ``DomainError(code="rate_limited")`` when this phone or this address has failed too often lately."""
    since = timezone.now() - LOGIN_FAILURE_WINDOW
    key = _login_phone_key(phone)
    recent = LoginFailure.objects.filter(at__gte=since)
    if key and recent.filter(phone=key).count() >= LOGIN_FAILURES_PER_PHONE:
        raise DomainError(
            _("登录失败次数过多，请 15 分钟后再试，或使用短信验证码登录"),
            fields={"username": [_("请稍后再试")]},
            code="rate_limited",
        )
    if ip and recent.filter(ip=ip).count() >= LOGIN_FAILURES_PER_IP:
        raise DomainError(
            _("此网络登录失败次数过多，请 15 分钟后再试"), fields={"username": [_("请稍后再试")]}, code="rate_limited"
        )


def login_failure_record(*, phone: str, ip: str = "") -> None:
    LoginFailure.objects.create(phone=_login_phone_key(phone), ip=ip[:45], at=timezone.now())
    # Keep the table small: failures older than a day serve no purpose.
    LoginFailure.objects.filter(at__lt=timezone.now() - datetime.timedelta(days=1)).delete()


def login_success_record(*, phone: str) -> None:
    LoginFailure.objects.filter(phone=_login_phone_key(phone)).delete()


def otp_send(*, phone: str, purpose: str = "login") -> None:
    """Send a 6-digit code. At most one a minute per phone; an earlier unused code stops working."""
    phone = _normalise_phone_field(phone)
    if not phone:
        raise DomainError(_("请输入手机号"), fields={"phone": [_("必填")]})
    now = timezone.now()
    with transaction.atomic():
        recent = OneTimeCode.objects.select_for_update().filter(phone=phone, purpose=purpose, used_at__isnull=True)
        if recent.filter(created_at__gte=now - datetime.timedelta(seconds=60)).exists():
            raise DomainError(
                _("验证码已发送，请 1 分钟后再试"), fields={"phone": [_("发送太频繁")]}, code="rate_limited"
            )
        recent.update(used_at=now)
        code = f"{secrets.randbelow(10**6):06d}"
        OneTimeCode.objects.create(
            phone=phone,
            purpose=purpose,
            code_hash=_code_hash(phone, code),
            expires_at=now + datetime.timedelta(seconds=settings.OTP_TTL_SECONDS),
        )
    get_sender().send(phone, f"【共治】您的验证码是 {code}，{settings.OTP_TTL_SECONDS // 60} 分钟内有效。")


def otp_verify(*, phone: str, code: str, purpose: str = "login") -> bool:
    """True once for a correct, fresh code; wrong guesses count against the code."""
    try:
        phone = protection.normalise_mobile(phone)
    except protection.PersonalDataError:
        return False
    now = timezone.now()
    with transaction.atomic():
        row = (
            OneTimeCode.objects.select_for_update()
            .filter(phone=phone, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at")
            .first()
        )
        if row is None or row.attempts >= settings.OTP_MAX_ATTEMPTS:
            return False
        if not secrets.compare_digest(row.code_hash, _code_hash(phone, (code or "").strip())):
            row.attempts += 1
            row.save(update_fields=["attempts", "updated_at"])
            return False
        row.used_at = now
        row.save(update_fields=["used_at", "updated_at"])
        return True


@transaction.atomic
def account_claim(*, phone: str, password: str) -> User:
    """A resident registered without an account claims one with their phone number (after a verified code).

    The account links to the resident(s) with that number that have no account yet.
    """
    phone = _normalise_phone_field(phone)
    try:
        validate_password(password)
    except ValidationError as exc:
        raise DomainError(_("密码不符合要求"), fields={"password": list(exc.messages)}) from exc
    user = User.objects.select_for_update().filter(phone=phone).first()
    if user is None:
        user = User(phone=phone)
        user.set_password(password)
        user.save(force_insert=True)
    elif not user.has_usable_password():
        user.set_password(password)
        user.save(update_fields=["password", "updated_at"])
    else:
        raise Conflict(_("该手机号已有账号，请直接登录"), fields={"phone": [_("已注册")]})
    resident = (
        Resident.objects.select_for_update().filter(phone=phone, user__isnull=True).order_by("created_at").first()
    )
    if resident:
        resident.user = user
        resident.save(update_fields=["user", "updated_at"])
        if not user.display_name:
            user.display_name = resident.name
            user.save(update_fields=["display_name", "updated_at"])
        audit_record(
            actor=user,
            action="update",
            target_type="resident",
            target_id=str(resident.pk),
            place_code=resident.community_id,
            summary="居民认领账号",
        )
    return user


@transaction.atomic
def user_password_set(*, user: User, password: str, actor: Any = None) -> User:
    """Set a user's password (validated against the password rules)."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(_("密码不符合要求"), fields={"password": list(exc.messages)}) from exc
    user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    audit_record(actor=actor or user, action="update", target_type="user", target_id=str(user.pk), summary="设置密码")
    return user


# --- role grants ------------------------------------------------------------------------------------------------


@transaction.atomic
def role_grant(*, actor: Any, user: User, place: Place, role: str) -> RoleGrant:
    """Grant a role on a place. Granting the same role twice returns the existing grant."""
    existing = RoleGrant.objects.filter(user=user, place=place, role=role).first()
    if existing:
        return existing
    grant = RoleGrant(
        user=user,
        place=place,
        role=role,
        granted_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        grant.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            grant.save(force_insert=True)
    except IntegrityError:
        return RoleGrant.objects.get(user=user, place=place, role=role)
    audit_record(
        actor=actor,
        action="grant",
        target_type="role_grant",
        target_id=str(grant.pk),
        place_code=place.code,
        summary=f"授予 {protection.mask_phone(user.phone)} {grant.get_role_display()}",
    )
    return grant


@transaction.atomic
def role_revoke(*, actor: Any, grant: RoleGrant) -> None:
    audit_record(
        actor=actor,
        action="revoke",
        target_type="role_grant",
        target_id=str(grant.pk),
        place_code=grant.place_id,
        summary=f"撤销 {protection.mask_phone(grant.user.phone)} {grant.get_role_display()}",
    )
    grant.delete()


def user_for_grant(*, phone: str, display_name: str = "") -> User:
    """The account for a phone number, created without a password (the person sets one with a code) if new."""
    phone = _normalise_phone_field(phone)
    if not phone:
        raise DomainError(_("请输入手机号"), fields={"phone": [_("必填")]})
    user, created = User.objects.get_or_create(phone=phone, defaults={"display_name": display_name})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


# --- API tokens -------------------------------------------------------------------------------------------------


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    key = "gz_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=token_hash(key), prefix=key[:8])
    audit_record(actor=user, action="create", target_type="api_token", target_id=str(token.pk), summary=name)
    return token, key


@transaction.atomic
def api_token_revoke(*, user: User, token_id: Any) -> ApiToken:
    """Revoke one of the user's own tokens (revoking twice changes nothing)."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(_("找不到该令牌"))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_record(actor=user, action="update", target_type="api_token", target_id=str(token.pk), summary="撤销令牌")
    return token
