"""Every kind of group — learning community, social organisation, volunteer team, studio — is one ``Organization``."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.models import BaseModel
from gongzhi.people.models import Resident
from gongzhi.places.models import Place


class OrganizationKind(models.TextChoices):
    LEARNING_COMMUNITY = "learning_community", _("学习共同体")
    SOCIAL_ORG = "social_org", _("社会组织")
    VOLUNTEER_TEAM = "volunteer_team", _("志愿服务队")
    STUDIO = "studio", _("居民工作室")


class OrganizationStage(models.TextChoices):
    GRASSROOTS = "grassroots", _("草根")
    INCUBATING = "incubating", _("孵化")
    PROFESSIONAL = "professional", _("专业化")
    SELF_GOVERNING = "self_governing", _("自治型公益组织")


class OrganizationStatus(models.TextChoices):
    PROPOSED = "proposed", _("待审核")
    ACTIVE = "active", _("活跃")
    REJECTED = "rejected", _("未通过")
    DISSOLVED = "dissolved", _("已解散")


class Organization(BaseModel):
    ref = models.CharField(_("编号"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=OrganizationKind.choices)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="organizations", verbose_name=_("所属区划"))
    theme = models.CharField(_("领域/主题"), max_length=100, blank=True)
    charter = models.TextField(_("章程"), blank=True)
    founded_on = models.DateField(_("成立日期"), null=True, blank=True)
    dissolved_on = models.DateField(_("解散日期"), null=True, blank=True)
    stage = models.CharField(
        _("发展阶段"), max_length=20, choices=OrganizationStage.choices, default=OrganizationStage.GRASSROOTS
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=OrganizationStatus.choices, default=OrganizationStatus.ACTIVE
    )
    proposed_by = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposed_organizations"
    )
    review_note = models.CharField(_("审核意见"), max_length=300, blank=True)

    class Meta:
        ordering = ["place_id", "name"]
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        indexes = [
            models.Index(fields=["place", "kind"], name="org_place_kind"),
            models.Index(fields=["kind", "status"], name="org_kind_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=OrganizationKind.values), name="org_kind_valid"),
            models.CheckConstraint(condition=models.Q(stage__in=OrganizationStage.values), name="org_stage_valid"),
            models.CheckConstraint(
                condition=models.Q(dissolved_on__isnull=True)
                | models.Q(founded_on__isnull=True)
                | models.Q(dissolved_on__gte=models.F("founded_on")),
                name="org_dissolved_after_founded",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.place_id and getattr(self, "place", None) and self.place.level not in ("street", "community"):
            raise ValidationError({"place": [str(_("组织只能属于街道或社区"))]})
        if self.founded_on and self.dissolved_on and self.dissolved_on < self.founded_on:
            raise ValidationError({"dissolved_on": [str(_("解散日期不能早于成立日期"))]})


class StageChange(BaseModel):
    """A decision that moved an organisation from one stage to another: kept as history (METHOD.md II2 reads it)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, choices=OrganizationStage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=OrganizationStage.choices)
    changed_on = models.DateField(_("生效日期"))
    reason = models.CharField(_("理由"), max_length=300, blank=True)
    evidence = models.TextField(_("依据"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["organization", "changed_on", "created_at"]
        indexes = [models.Index(fields=["organization", "changed_on"], name="stage_org_date")]


class MembershipRole(models.TextChoices):
    MEMBER = "member", _("成员")
    LEADER = "leader", _("负责人")


class Membership(BaseModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("角色"), max_length=10, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    joined_on = models.DateField(_("加入日期"))
    left_on = models.DateField(_("退出日期"), null=True, blank=True)

    class Meta:
        ordering = ["organization", "-role", "joined_on"]
        indexes = [
            models.Index(fields=["resident", "left_on"], name="membership_resident"),
            models.Index(fields=["organization", "left_on"], name="membership_org"),
        ]
        constraints = [
            # One current membership per person and organisation: joining twice (double click) cannot create two.
            models.UniqueConstraint(
                fields=["organization", "resident"],
                condition=models.Q(left_on__isnull=True),
                name="membership_one_current",
            ),
            models.UniqueConstraint(fields=["organization", "resident", "joined_on"], name="membership_unique_spell"),
            models.CheckConstraint(
                condition=models.Q(left_on__isnull=True) | models.Q(left_on__gte=models.F("joined_on")),
                name="membership_left_after_joined",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} @ {self.organization_id}"
