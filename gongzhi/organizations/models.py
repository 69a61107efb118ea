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


# --- 育 cultivate: admission, support, supply, assessment and selection -------------------------------------------


class AdmissionCriterion(BaseModel):
    """One item of the admission standard (准入标准) a place declares for entering incubation."""

    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="admission_criteria", verbose_name=_("区划")
    )
    text = models.CharField(_("标准"), max_length=200)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["place_id", "order", "created_at"]
        verbose_name = _("准入标准")
        verbose_name_plural = _("准入标准")
        constraints = [models.UniqueConstraint(fields=["place", "text"], name="admission_unique_text")]

    def __str__(self) -> str:
        return self.text


class AdmissionCheck(BaseModel):
    """Whether an organisation meets one admission criterion, with the evidence and who checked."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="admission_checks")
    criterion = models.ForeignKey(AdmissionCriterion, on_delete=models.CASCADE, related_name="checks")
    met = models.BooleanField(_("符合"), default=False)
    evidence = models.CharField(_("依据"), max_length=300, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_on = models.DateField(_("核查日期"))

    class Meta:
        ordering = ["organization", "criterion__order"]
        constraints = [models.UniqueConstraint(fields=["organization", "criterion"], name="admission_check_once")]


class SupportKind(models.TextChoices):
    TRAINING = "training", _("培训")
    MENTORING = "mentoring", _("导师辅导")
    VENUE = "venue", _("场地")
    FUNDS = "funds", _("资金")
    CONTRACT = "contract", _("政府购买服务")
    POST = "post", _("公益岗位")


class SupportRecord(BaseModel):
    """Support the education centre gave an organisation. A contract has an amount, a period and deliverables;
    a public-welfare post has a number of posts (``quantity``)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="support_records")
    kind = models.CharField(_("类型"), max_length=10, choices=SupportKind.choices)
    title = models.CharField(_("内容"), max_length=200)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2, null=True, blank=True)
    quantity = models.PositiveIntegerField(_("数量"), null=True, blank=True)
    deliverables = models.TextField(_("交付内容"), blank=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["organization", "-starts_on"]
        verbose_name = _("扶持记录")
        verbose_name_plural = _("扶持记录")
        indexes = [models.Index(fields=["kind", "starts_on"], name="support_kind_start")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=SupportKind.values), name="support_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="support_end_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0), name="support_amount_positive"
            ),
        ]


class SupplyItem(BaseModel):
    """One line of an organisation's supply list (供给清单): a service it can offer."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="supply_items")
    title = models.CharField(_("服务项目"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    audience = models.CharField(_("服务对象"), max_length=100, blank=True)
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        ordering = ["organization", "title"]
        verbose_name = _("供给清单")
        verbose_name_plural = _("供给清单")


class AssessmentScheme(BaseModel):
    """A yearly assessment scheme, versioned: ``criteria`` is a list of ``{"code", "name", "weight", "max",
    "guide"}``; weights sum to 1. A scheme in use is never edited: a change is a new version."""

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="assessment_schemes")
    year = models.PositiveSmallIntegerField(_("年度"))
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    name = models.CharField(_("名称"), max_length=100)
    criteria = models.JSONField(_("指标"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["place_id", "-year", "-version"]
        verbose_name = _("评估方案")
        verbose_name_plural = _("评估方案")
        constraints = [models.UniqueConstraint(fields=["place", "year", "version"], name="scheme_unique_version")]

    def __str__(self) -> str:
        return f"{self.name} {self.year} v{self.version}"


class RoundStatus(models.TextChoices):
    OPEN = "open", _("评估中")
    CLOSED = "closed", _("已结束")
    PUBLISHED = "published", _("已公示")


class AssessmentRound(BaseModel):
    """A yearly assessment and selection round (like the 1050 project): organisations entered with a category,
    assessors, scores, then a selection with quotas per category, a stated tie-break and last-place warnings."""

    scheme = models.ForeignKey(AssessmentScheme, on_delete=models.PROTECT, related_name="rounds")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="assessment_rounds")
    name = models.CharField(_("名称"), max_length=100)
    # {category: number selected}, e.g. {"studio": 10, "quality_org": 50}; and how many last places are warned.
    quotas = models.JSONField(_("名额"), default=dict)
    warn_last = models.PositiveSmallIntegerField(_("末位警示数"), default=0)
    status = models.CharField(_("状态"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    assessors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="assessment_rounds")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["place_id", "-created_at"]
        verbose_name = _("评估评选")
        verbose_name_plural = _("评估评选")
        indexes = [models.Index(fields=["place", "status"], name="round_place_status")]

    def __str__(self) -> str:
        return self.name


class RoundEntry(BaseModel):
    """An organisation taking part in a round, in a category; after closing: its mean score, rank and outcome."""

    class Outcome(models.TextChoices):
        SELECTED = "selected", _("入选")
        NOT_SELECTED = "not_selected", _("未入选")
        WARNED = "warned", _("末位警示")

    round = models.ForeignKey(AssessmentRound, on_delete=models.CASCADE, related_name="entries")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="round_entries")
    category = models.CharField(_("类别"), max_length=40)
    total = models.DecimalField(_("得分"), max_digits=7, decimal_places=3, null=True, blank=True)
    rank = models.PositiveIntegerField(_("名次"), null=True, blank=True)
    outcome = models.CharField(_("结果"), max_length=14, choices=Outcome.choices, blank=True)
    tie_note = models.CharField(_("并列处理"), max_length=200, blank=True)
    reply = models.TextField(_("申辩"), blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["round", "category", "rank"]
        constraints = [models.UniqueConstraint(fields=["round", "organization"], name="round_entry_once")]
        indexes = [models.Index(fields=["round", "category", "rank"], name="round_entry_rank")]


class AssessmentScore(BaseModel):
    """One assessor's scores of one entry: ``scores`` is ``{criterion code: value}``; ``total`` the weighted sum."""

    entry = models.ForeignKey(RoundEntry, on_delete=models.CASCADE, related_name="scores")
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scores = models.JSONField(default=dict)
    total = models.DecimalField(max_digits=7, decimal_places=3)
    comment = models.CharField(_("评语"), max_length=300, blank=True)

    class Meta:
        ordering = ["entry", "created_at"]
        constraints = [models.UniqueConstraint(fields=["entry", "assessor"], name="score_once_per_assessor")]
