"""联 link: providers and their resources, pairings, needs (both ways), needs surveys, ratings, learning spaces and bookings.

``resources`` sits below ``activities``: an activity names the resources and space it used and the needs it fulfilled
(``Activity.resources``, ``Activity.space``, ``Activity.needs``); nothing here imports ``activities``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.models import BaseModel
from gongzhi.people.models import Resident
from gongzhi.places.models import Place


class ProviderKind(models.TextChoices):
    COMPANY = "company", _("企业")
    UNIVERSITY = "university", _("高校")
    BANK = "bank", _("银行")
    HOSPITAL = "hospital", _("医院")
    GOVERNMENT = "government", _("政府部门")
    NGO = "ngo", _("社会组织")
    OTHER = "other", _("其他")


class Provider(BaseModel):
    """Someone outside the community who brings resources: a company, a university, a bank, a hospital…"""

    ref = models.CharField(_("编号"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=12, choices=ProviderKind.choices)
    # The place that registered the provider (staff of its subtree manage it); null for providers only imported.
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="providers", verbose_name=_("登记区划")
    )
    description = models.TextField(_("简介"), blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    # Accounts of the provider's own people (role resource_partner): they see and manage this provider's resources.
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="providers", verbose_name=_("资源方账号")
    )
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("资源方")
        verbose_name_plural = _("资源方")
        indexes = [models.Index(fields=["place", "kind"], name="provider_place_kind")]
        constraints = [models.CheckConstraint(condition=models.Q(kind__in=ProviderKind.values), name="provider_kind")]

    def __str__(self) -> str:
        return self.name


class ResourceKind(models.TextChoices):
    VENUE = "venue", _("场地/学习空间")
    TEACHER = "teacher", _("师资/专家")
    COURSE = "course", _("课程")
    FUND = "fund", _("资金")
    VOLUNTEER_SERVICE = "volunteer_service", _("志愿服务")
    OTHER = "other", _("其他")


class Resource(BaseModel):
    ref = models.CharField(_("编号"), max_length=64, unique=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="resources", verbose_name=_("资源方"))
    kind = models.CharField(_("类型"), max_length=20, choices=ResourceKind.choices)
    name = models.CharField(_("名称"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    # Streets and communities the resource serves (a street covers its communities); empty = not declared.
    service_area = models.ManyToManyField(
        Place, blank=True, related_name="served_by_resources", verbose_name=_("服务范围")
    )
    available_from = models.DateField(_("可用起始日"), null=True, blank=True)
    available_until = models.DateField(_("可用截止日"), null=True, blank=True)
    availability = models.CharField(_("可用时间"), max_length=200, blank=True, help_text=_("如：每周六上午"))
    terms = models.CharField(_("条件"), max_length=300, blank=True, help_text=_("如：免费、需提前两周预约"))
    capacity = models.PositiveIntegerField(_("每月可承接次数"), null=True, blank=True)
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        ordering = ["provider", "name"]
        verbose_name = _("资源")
        verbose_name_plural = _("资源")
        indexes = [
            models.Index(fields=["kind", "active"], name="resource_kind_active"),
            models.Index(fields=["provider", "kind"], name="resource_provider_kind"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=ResourceKind.values), name="resource_kind"),
            models.CheckConstraint(
                condition=models.Q(available_until__isnull=True)
                | models.Q(available_from__isnull=True)
                | models.Q(available_until__gte=models.F("available_from")),
                name="resource_available_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.available_from and self.available_until and self.available_until < self.available_from:
            raise ValidationError({"available_until": [str(_("截止日不能早于起始日"))]})


class Pairing(BaseModel):
    """结对: a provider's standing commitment to a street or community for a period."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="pairings", verbose_name=_("资源方"))
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="pairings", verbose_name=_("结对区划"))
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    commitments = models.TextField(_("承诺内容"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["place_id", "-starts_on"]
        verbose_name = _("结对")
        verbose_name_plural = _("结对")
        indexes = [models.Index(fields=["place", "starts_on"], name="pairing_place_start")]
        constraints = [
            models.UniqueConstraint(fields=["provider", "place", "starts_on"], name="pairing_unique"),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="pairing_end_after_start",
            ),
        ]

    def clean(self) -> None:
        if self.place_id and getattr(self, "place", None) and self.place.level not in ("street", "community"):
            raise ValidationError({"place": [str(_("只能与街道或社区结对"))]})
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": [str(_("结束日期不能早于开始日期"))]})


class PairingDelivery(BaseModel):
    """What a pairing actually delivered (a lecture, a donation, a service day)."""

    pairing = models.ForeignKey(Pairing, on_delete=models.CASCADE, related_name="deliveries")
    delivered_on = models.DateField(_("日期"))
    description = models.CharField(_("内容"), max_length=300)
    quantity = models.PositiveIntegerField(_("数量"), null=True, blank=True, help_text=_("如：讲座场次、服务人次"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["pairing", "-delivered_on"]
        verbose_name = _("结对履约记录")
        verbose_name_plural = _("结对履约记录")


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("收集中")
    CLOSED = "closed", _("已结束")


class NeedsSurvey(BaseModel):
    """A top-down needs survey (需求调查): a short questionnaire sent to the residents of chosen places."""

    title = models.CharField(_("标题"), max_length=200)
    intro = models.TextField(_("说明"), blank=True)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="needs_surveys", verbose_name=_("发起区划"))
    targets = models.ManyToManyField(Place, related_name="targeted_by_surveys", verbose_name=_("调查范围"))
    # The topics offered ("what do you want to learn"), as a list of short labels; residents may add their own.
    topics = models.JSONField(_("主题选项"), default=list)
    opens_on = models.DateField(_("开始日期"))
    closes_on = models.DateField(_("截止日期"))
    status = models.CharField(_("状态"), max_length=8, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-opens_on"]
        verbose_name = _("需求调查")
        verbose_name_plural = _("需求调查")
        indexes = [models.Index(fields=["place", "status"], name="survey_place_status")]
        constraints = [
            models.CheckConstraint(condition=models.Q(closes_on__gte=models.F("opens_on")), name="survey_close_after")
        ]

    def __str__(self) -> str:
        return self.title


class SurveyResponse(BaseModel):
    """One resident's answer to a needs survey (one per resident; answering again replaces the answer)."""

    survey = models.ForeignKey(NeedsSurvey, on_delete=models.CASCADE, related_name="responses")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="needs_survey_responses")
    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    topics = models.JSONField(_("想学的主题"), default=list)
    times = models.JSONField(_("方便的时间"), default=list)
    places = models.JSONField(_("方便的地点"), default=list)
    other = models.CharField(_("其他建议"), max_length=300, blank=True)

    class Meta:
        ordering = ["survey", "created_at"]
        constraints = [models.UniqueConstraint(fields=["survey", "resident"], name="survey_response_once")]
        indexes = [models.Index(fields=["survey", "community"], name="survey_response_place")]


class NeedDirection(models.TextChoices):
    SURVEY = "survey", _("需求调查（自上而下）")
    REPORT = "report", _("居民反映（自下而上）")


class NeedStatus(models.TextChoices):
    OPEN = "open", _("待匹配")
    MATCHED = "matched", _("已匹配")
    FULFILLED = "fulfilled", _("已满足")
    CANCELLED = "cancelled", _("已取消")


class Need(BaseModel):
    ref = models.CharField(_("编号"), max_length=64, unique=True)
    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="needs", verbose_name=_("社区"))
    direction = models.CharField(_("来源"), max_length=8, choices=NeedDirection.choices)
    resource_kind = models.CharField(_("所需资源类型"), max_length=20, choices=ResourceKind.choices)
    title = models.CharField(_("需求"), max_length=200)
    description = models.TextField(_("详细说明"), blank=True)
    preferred_time = models.CharField(_("希望时间"), max_length=100, blank=True)
    raised_on = models.DateField(_("提出日期"))
    raised_by = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="needs", verbose_name=_("提出居民")
    )
    raised_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    survey = models.ForeignKey(NeedsSurvey, null=True, blank=True, on_delete=models.SET_NULL, related_name="needs")
    status = models.CharField(_("状态"), max_length=10, choices=NeedStatus.choices, default=NeedStatus.OPEN)
    resource = models.ForeignKey(
        Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="needs", verbose_name=_("匹配资源")
    )
    matched_on = models.DateField(_("匹配日期"), null=True, blank=True)
    match_reasons = models.JSONField(_("匹配理由"), default=list, blank=True)
    fulfilled_on = models.DateField(_("满足日期"), null=True, blank=True)
    cancelled_reason = models.CharField(_("取消原因"), max_length=300, blank=True)

    class Meta:
        ordering = ["-raised_on", "-created_at"]
        verbose_name = _("需求")
        verbose_name_plural = _("需求")
        indexes = [
            models.Index(fields=["community", "status"], name="need_community_status"),
            models.Index(fields=["community", "raised_on"], name="need_community_raised"),
            models.Index(fields=["status", "raised_on"], name="need_status_raised"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=NeedStatus.values), name="need_status_valid"),
            models.CheckConstraint(condition=models.Q(direction__in=NeedDirection.values), name="need_direction"),
            models.CheckConstraint(condition=models.Q(resource_kind__in=ResourceKind.values), name="need_kind"),
            models.CheckConstraint(
                condition=~models.Q(status="fulfilled") | models.Q(fulfilled_on__isnull=False),
                name="need_fulfilled_has_date",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="matched") | models.Q(resource__isnull=False),
                name="need_matched_has_resource",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.community_id and getattr(self, "community", None) and self.community.level != "community":
            raise ValidationError({"community": [str(_("需求必须属于一个社区"))]})
        if self.fulfilled_on and self.raised_on and self.fulfilled_on < self.raised_on:
            raise ValidationError({"fulfilled_on": [str(_("满足日期不能早于提出日期"))]})


class Rating(BaseModel):
    """A resident who came rates how a need was met (1–5); the matched resource's past ratings feed matching."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="ratings")
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.CASCADE, related_name="ratings")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="resource_ratings")
    score = models.PositiveSmallIntegerField(_("评分"))
    comment = models.CharField(_("评价"), max_length=300, blank=True)

    class Meta:
        ordering = ["need", "-created_at"]
        verbose_name = _("评价")
        verbose_name_plural = _("评价")
        indexes = [models.Index(fields=["resource"], name="resource_rating_res")]
        constraints = [
            models.UniqueConstraint(fields=["need", "resident"], name="resource_rating_once"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="resource_rating_range"),
        ]


class LearningSpace(BaseModel):
    """A venue for learning (学习空间) with opening hours and capacity; bookable."""

    name = models.CharField(_("名称"), max_length=100)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="spaces", verbose_name=_("所在区划"))
    resource = models.ForeignKey(
        Resource,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="spaces",
        verbose_name=_("提供资源"),
        help_text=_("由资源方提供的场地；社区自有场地留空"),
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    capacity = models.PositiveIntegerField(_("容纳人数"))
    opens_at = models.TimeField(_("开放时间"))
    closes_at = models.TimeField(_("关闭时间"))
    # ISO weekdays it is open, as digits 1 (Monday) … 7 (Sunday), e.g. "12345" or "1234567".
    weekdays = models.CharField(_("开放日"), max_length=7, default="1234567")
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["place_id", "name"]
        verbose_name = _("学习空间")
        verbose_name_plural = _("学习空间")
        constraints = [
            models.UniqueConstraint(fields=["place", "name"], name="space_unique_name"),
            models.CheckConstraint(condition=models.Q(closes_at__gt=models.F("opens_at")), name="space_hours_order"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": [str(_("关闭时间必须晚于开放时间"))]})
        if self.weekdays and (
            not set(self.weekdays) <= set("1234567") or len(set(self.weekdays)) != len(self.weekdays)
        ):
            raise ValidationError({"weekdays": [str(_("开放日只能是 1–7 的数字，不重复"))]})


class BookingSeries(BaseModel):
    """A weekly booking: one ``Booking`` per week from ``first_on`` to ``last_on``, made all together or not at all."""

    space = models.ForeignKey(LearningSpace, on_delete=models.CASCADE, related_name="booking_series")
    title = models.CharField(_("用途"), max_length=200)
    weekday = models.PositiveSmallIntegerField(_("星期"))
    starts_at = models.TimeField(_("开始时间"))
    ends_at = models.TimeField(_("结束时间"))
    first_on = models.DateField(_("首次日期"))
    last_on = models.DateField(_("末次日期"))
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["space", "first_on"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__gte=1, weekday__lte=7), name="series_weekday"),
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="series_time_order"),
            models.CheckConstraint(condition=models.Q(last_on__gte=models.F("first_on")), name="series_date_order"),
        ]


class BookingStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    CANCELLED = "cancelled", _("已取消")


class Booking(BaseModel):
    """One use of a space. Active bookings of one space never overlap: a PostgreSQL exclusion constraint
    (``booking_no_overlap``, migration 0002) and, on SQLite, a check inside the write transaction (IMMEDIATE mode
    serialises writers)."""

    space = models.ForeignKey(LearningSpace, on_delete=models.PROTECT, related_name="bookings")
    series = models.ForeignKey(BookingSeries, null=True, blank=True, on_delete=models.CASCADE, related_name="bookings")
    title = models.CharField(_("用途"), max_length=200)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    status = models.CharField(_("状态"), max_length=10, choices=BookingStatus.choices, default=BookingStatus.ACTIVE)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)

    class Meta:
        ordering = ["space", "starts_at"]
        verbose_name = _("场地预约")
        verbose_name_plural = _("场地预约")
        indexes = [models.Index(fields=["space", "status", "starts_at"], name="booking_space_time")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="booking_time_order"),
            models.CheckConstraint(condition=models.Q(status__in=BookingStatus.values), name="booking_status"),
        ]

    def __str__(self) -> str:
        return f"{self.title} @ {self.space_id}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": [str(_("结束时间必须晚于开始时间"))]})
