"""Every gathering is one ``Activity``, and everyone's presence at it is one ``Attendance`` — whatever the check-in."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.models import BaseModel
from gongzhi.organizations.models import Organization
from gongzhi.people.models import Resident
from gongzhi.places.models import Place
from gongzhi.resources.models import Booking, LearningSpace, Need, Resource


class ActivityKind(models.TextChoices):
    COURSE_SESSION = "course_session", _("课程")
    LEARNING_MEETING = "learning_meeting", _("学习共同体活动")
    DELIBERATION_MEETING = "deliberation_meeting", _("议事会")
    VOLUNTEER_EVENT = "volunteer_event", _("志愿服务")
    ORG_EVENT = "org_event", _("组织活动")


EDUCATION_KINDS = (ActivityKind.COURSE_SESSION, ActivityKind.LEARNING_MEETING)


class ActivityMode(models.TextChoices):
    CENTRALISED = "centralised", _("集中培训（街道）")
    LOCAL = "local", _("进村入社区")


class Activity(BaseModel):
    ref = models.CharField(_("编号"), max_length=64, unique=True)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="activities", verbose_name=_("举办地"))
    kind = models.CharField(_("类型"), max_length=24, choices=ActivityKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    venue = models.CharField(_("地点"), max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="activities",
        verbose_name=_("主办组织"),
        help_text=_("留空表示由工作人员组织"),
    )
    capacity = models.PositiveIntegerField(_("容量"), null=True, blank=True)
    # 联: the learning space it was held in (and the booking that holds the space), the providers' resources it used
    # (METHOD.md resource_refs) and the needs it fulfilled.
    space = models.ForeignKey(
        LearningSpace,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        verbose_name=_("学习空间"),
    )
    booking = models.OneToOneField(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="activity", verbose_name=_("场地预约")
    )
    resources = models.ManyToManyField(Resource, blank=True, related_name="activities", verbose_name=_("使用资源"))
    needs = models.ManyToManyField(Need, blank=True, related_name="activities", verbose_name=_("满足的需求"))
    signup_open = models.BooleanField(_("开放报名"), default=False)
    mode = models.CharField(_("形式"), max_length=12, choices=ActivityMode.choices, default=ActivityMode.LOCAL)
    description = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("活动")
        verbose_name_plural = _("活动")
        indexes = [
            models.Index(fields=["place", "starts_at"], name="activity_place_start"),
            models.Index(fields=["kind", "starts_at"], name="activity_kind_start"),
            models.Index(fields=["organization", "starts_at"], name="activity_org_start"),
            models.Index(fields=["starts_at"], name="activity_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=ActivityKind.values), name="activity_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True) | models.Q(ends_at__gte=models.F("starts_at")),
                name="activity_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.place_id and getattr(self, "place", None) and self.place.level not in ("street", "community"):
            raise ValidationError({"place": [str(_("活动只能在街道或社区举办"))]})
        if self.ends_at and self.starts_at and self.ends_at < self.starts_at:
            raise ValidationError({"ends_at": [str(_("结束时间不能早于开始时间"))]})


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("出席")
    ABSENT = "absent", _("缺席")
    EXCUSED = "excused", _("请假")


class AttendanceSource(models.TextChoices):
    QR = "qr", _("扫码签到")
    ROSTER = "roster", _("名单勾选")
    PAPER = "paper", _("纸质签到表")
    IMPORT = "import", _("导入")


class Attendance(BaseModel):
    """One per (activity, resident): QR, roster, paper and import all write this one row, so none counts twice."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendances")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="attendances")
    status = models.CharField(_("状态"), max_length=10, choices=AttendanceStatus.choices)
    source = models.CharField(_("来源"), max_length=10, choices=AttendanceSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hours = models.DecimalField(_("时长（小时）"), max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["activity", "created_at"]
        verbose_name = _("出席记录")
        verbose_name_plural = _("出席记录")
        indexes = [
            models.Index(fields=["resident", "status"], name="attendance_resident_status"),
            models.Index(fields=["activity", "status"], name="attendance_activity_status"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["activity", "resident"], name="attendance_one_per_person"),
            models.CheckConstraint(condition=models.Q(status__in=AttendanceStatus.values), name="attendance_status"),
            models.CheckConstraint(
                condition=models.Q(hours__isnull=True) | models.Q(hours__gte=0), name="attendance_hours_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.status} @ {self.activity_id}"


class SignupStatus(models.TextChoices):
    SIGNED_UP = "signed_up", _("已报名")
    CANCELLED = "cancelled", _("已取消")


class ActivitySignup(BaseModel):
    """Sign-up for an activity that takes them (volunteer events, organisation events). One live sign-up per person."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="signups")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="activity_signups")
    status = models.CharField(_("状态"), max_length=10, choices=SignupStatus.choices, default=SignupStatus.SIGNED_UP)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["activity", "created_at"]
        verbose_name = _("活动报名")
        verbose_name_plural = _("活动报名")
        indexes = [models.Index(fields=["resident", "status"], name="signup_resident_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "resident"], condition=models.Q(status="signed_up"), name="signup_one_live"
            ),
        ]


class VolunteerHours(BaseModel):
    """育: the volunteer-hours ledger. Append-only: recorded by the team leader or staff, confirmed by someone who is
    not the volunteer; a correction is a reversing entry (``reversal_of``, negative hours) with a reason. Only
    confirmed entries count; confirmed hours feed the points ledger (``volunteer_hour`` rule) through a hook."""

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="volunteer_hours")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="volunteer_hours", verbose_name=_("志愿服务队")
    )
    activity = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.PROTECT, related_name="volunteer_hours"
    )
    served_on = models.DateField(_("服务日期"))
    hours = models.DecimalField(_("时长（小时）"), max_digits=6, decimal_places=2)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    reversal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    class Meta:
        ordering = ["resident", "-served_on"]
        verbose_name = _("志愿服务时长")
        verbose_name_plural = _("志愿服务时长")
        indexes = [
            models.Index(fields=["resident", "served_on"], name="vhours_resident_date"),
            models.Index(fields=["organization", "confirmed_at"], name="vhours_org_confirmed"),
        ]
        constraints = [
            # One original entry per volunteer and event: a double submit records once.
            models.UniqueConstraint(
                fields=["resident", "activity"],
                condition=models.Q(reversal_of__isnull=True, activity__isnull=False),
                name="vhours_once_per_event",
            ),
            models.CheckConstraint(
                condition=models.Q(reversal_of__isnull=False) | models.Q(hours__gt=0, hours__lte=24),
                name="vhours_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.hours}h @ {self.organization_id}"
