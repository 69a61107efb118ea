from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.models import BaseModel
from gongzhi.places.models import Place

from . import protection


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, phone: str, password: str | None = None, **extra) -> User:
        user = self.model(phone=protection.normalise_mobile(phone), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(phone, password, **extra)


def validate_mobile(value: str) -> None:
    try:
        if protection.normalise_mobile(value) != value:
            raise ValidationError(_("手机号格式不正确"))
    except protection.PersonalDataError as exc:
        raise ValidationError(str(exc)) from exc


class User(BaseModel, AbstractBaseUser, PermissionsMixin):
    """An account: logs in with a mainland mobile number and a password or a one-time code."""

    phone = models.CharField(_("手机号"), max_length=11, unique=True, validators=[validate_mobile])
    display_name = models.CharField(_("称呼"), max_length=50, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    is_staff = models.BooleanField(_("可进入管理后台"), default=False)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = []  # type: ignore[misc]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or protection.mask_phone(self.phone)

    @property
    def masked_phone(self) -> str:
        return protection.mask_phone(self.phone)


class Household(models.TextChoices):
    LOCAL = "local", _("户籍居民")
    NEW_CITIZEN = "new_citizen", _("新市民")


class Gender(models.TextChoices):
    FEMALE = "F", _("女")
    MALE = "M", _("男")


class Resident(BaseModel):
    """A resident of a community. Most residents never log in: a resident can exist without an account (imported,
    registered at the desk) and claim one later with their phone number."""

    ref = models.CharField(_("编号"), max_length=64, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="resident"
    )
    name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("手机号"), max_length=11, blank=True, db_index=True, validators=[validate_mobile])
    community = models.ForeignKey(
        Place,
        on_delete=models.PROTECT,
        related_name="residents",
        verbose_name=_("所在社区"),
        limit_choices_to={"level": "community"},
    )
    registered_on = models.DateField(_("登记日期"))
    left_on = models.DateField(_("迁出日期"), null=True, blank=True)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("出生年份"), null=True, blank=True)
    household = models.CharField(_("户籍类型"), max_length=12, choices=Household.choices)
    id_number_encrypted = models.TextField(_("身份证号（加密）"), blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number_masked = models.CharField(_("身份证号"), max_length=18, blank=True, editable=False)
    erased_at = models.DateTimeField(_("个人信息删除时间"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["community_id", "ref"]
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        indexes = [
            models.Index(fields=["community", "household"], name="resident_comm_household"),
            models.Index(fields=["community", "registered_on"], name="resident_comm_registered"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(left_on__isnull=True) | models.Q(left_on__gte=models.F("registered_on")),
                name="resident_left_after_registered",
            ),
            models.CheckConstraint(
                condition=models.Q(birth_year__isnull=True) | models.Q(birth_year__gte=1900, birth_year__lte=2100),
                name="resident_birth_year_range",
            ),
            models.CheckConstraint(condition=models.Q(household__in=Household.values), name="resident_household"),
            # One ID number, one resident — enforced by the database so that concurrent registrations cannot both win.
            models.UniqueConstraint(
                fields=["id_number_hash"], condition=~models.Q(id_number_hash=""), name="resident_id_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return protection.mask_name(self.name) or self.ref

    @property
    def masked_name(self) -> str:
        return protection.mask_name(self.name)

    @property
    def masked_phone(self) -> str:
        return protection.mask_phone(self.phone) if self.phone else ""

    @property
    def age(self) -> int | None:
        return timezone.localdate().year - self.birth_year if self.birth_year else None

    def id_number(self) -> str:
        """The plain ID number. Callers must be allowed and must audit (see services.resident_reveal)."""
        return protection.decrypt(self.id_number_encrypted) if self.id_number_encrypted else ""

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.community_id and getattr(self, "community", None) and self.community.level != "community":
            errors["community"] = [str(_("居民只能登记在社区/村一级"))]
        if self.left_on and self.registered_on and self.left_on < self.registered_on:
            errors["left_on"] = [str(_("迁出日期不能早于登记日期"))]
        this_year = datetime.date.today().year
        if self.birth_year and not (1900 <= self.birth_year <= this_year):
            errors["birth_year"] = [str(_("出生年份应在 1900 到 %(year)s 之间")) % {"year": this_year}]
        if errors:
            raise ValidationError(errors)


class Consent(BaseModel):
    """A resident's consent to a processing purpose, in a given text version; withdrawing keeps the record."""

    # The version of the consent texts currently shown to residents.
    CURRENT_VERSION = "2026-01"

    class Purpose(models.TextChoices):
        PLATFORM = "platform", _("使用平台服务（个人信息处理规则）")
        PHOTOS = "photos", _("活动照片使用")
        RESEARCH = "research", _("匿名数据用于研究")

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("用途"), max_length=20, choices=Purpose.choices)
    version = models.CharField(_("文本版本"), max_length=20)
    given_at = models.DateTimeField(_("同意时间"))
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["resident", "purpose", "-given_at"]
        verbose_name = _("同意记录")
        verbose_name_plural = _("同意记录")
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "purpose"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.purpose} v{self.version}"


class Role(models.TextChoices):
    ADMIN = "admin", _("管理员（省/市/区县）")
    STREET_STAFF = "street_staff", _("街道社区教育中心")
    COMMUNITY_WORKER = "community_worker", _("社区工作者")
    TEACHER = "teacher", _("师资")
    ORG_LEADER = "org_leader", _("团队负责人")
    RESOURCE_PARTNER = "resource_partner", _("资源方")


# The levels a role may be granted on.
ROLE_LEVELS: dict[str, tuple[str, ...]] = {
    Role.ADMIN: ("province", "city", "district"),
    Role.STREET_STAFF: ("street",),
    Role.COMMUNITY_WORKER: ("community",),
    Role.TEACHER: ("district", "street", "community"),
    Role.ORG_LEADER: ("street", "community"),
    Role.RESOURCE_PARTNER: ("city", "district", "street", "community"),
}


class RoleGrant(BaseModel):
    """A role held on a place; it covers the place's whole subtree."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="grants", verbose_name=_("区划"))
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["place_id", "role"]
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.UniqueConstraint(fields=["user", "place", "role"], name="grant_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="grant_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} @ {self.place_id}"

    def clean(self) -> None:
        if self.place_id and self.role in ROLE_LEVELS and self.place.level not in ROLE_LEVELS[self.role]:
            raise ValidationError(
                {"place": [str(_("角色“%(role)s”不能授予在这一层级的区划上")) % {"role": self.get_role_display()}]}
            )


class LoginFailure(models.Model):
    """A failed password login (phone as typed, normalised when possible; the client's address). Used only to slow
    down guessing (``gongzhi.people.services.login_throttle_check``); cleared for the phone on a successful login."""

    id = models.BigAutoField(primary_key=True)
    phone = models.CharField(max_length=20)
    ip = models.CharField(max_length=45, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["phone", "at"], name="login_failure_phone"),
            models.Index(fields=["ip", "at"], name="login_failure_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} @ {self.at:%Y-%m-%d %H:%M}"


class OneTimeCode(BaseModel):
    """A short-lived login code sent by SMS. Only its hash is kept."""

    phone = models.CharField(max_length=11, db_index=True)
    code_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=20, default="login")
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class ApiToken(BaseModel):
    """A bearer token for integrations. Only a hash is stored; the plain token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=60)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
