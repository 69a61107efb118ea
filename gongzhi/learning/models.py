"""学 learn: teachers, themed series, courses and their sessions, enrolment, and the points ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.activities.models import Activity
from gongzhi.core.models import BaseModel
from gongzhi.people.models import Resident
from gongzhi.places.models import Place


class Teacher(BaseModel):
    """A teacher or outside expert (lawyer, planner, doctor…); may have an account with the teacher role."""

    name = models.CharField(_("姓名"), max_length=50)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="teachers", verbose_name=_("所属区划"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="teacher_profiles"
    )
    expertise = models.CharField(_("专长"), max_length=200, blank=True)
    bio = models.TextField(_("简介"), blank=True)

    class Meta:
        ordering = ["place_id", "name"]
        verbose_name = _("师资")
        verbose_name_plural = _("师资")

    def __str__(self) -> str:
        return self.name


class Series(BaseModel):
    """A themed series of courses (e.g. the 好婆婆 classroom's four series)."""

    name = models.CharField(_("名称"), max_length=100)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="series", verbose_name=_("所属区划"))
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["place_id", "name"]
        verbose_name = _("主题系列")
        verbose_name_plural = _("主题系列")
        constraints = [models.UniqueConstraint(fields=["place", "name"], name="series_unique_name")]

    def __str__(self) -> str:
        return self.name


class CourseStatus(models.TextChoices):
    DRAFT = "draft", _("筹备中")
    OPEN = "open", _("报名中")
    CLOSED = "closed", _("已结束")


class Course(BaseModel):
    title = models.CharField(_("课程名称"), max_length=200)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="courses", verbose_name=_("所属区划"))
    series = models.ForeignKey(
        Series, null=True, blank=True, on_delete=models.SET_NULL, related_name="courses", verbose_name=_("主题系列")
    )
    teachers = models.ManyToManyField(Teacher, blank=True, related_name="courses", verbose_name=_("授课教师"))
    audience = models.CharField(_("面向对象"), max_length=200, blank=True)
    description = models.TextField(_("课程介绍"), blank=True)
    capacity = models.PositiveIntegerField(_("名额"), null=True, blank=True, help_text=_("留空表示不限"))
    status = models.CharField(_("状态"), max_length=10, choices=CourseStatus.choices, default=CourseStatus.OPEN)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("课程")
        verbose_name_plural = _("课程")
        indexes = [models.Index(fields=["place", "status"], name="course_place_status")]

    def __str__(self) -> str:
        return self.title


class CourseSession(BaseModel):
    """A session of a course: the course's link to the ``Activity`` (kind course_session) where people check in."""

    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="course_session")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    teacher = models.ForeignKey(
        Teacher, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions", verbose_name=_("授课教师")
    )

    class Meta:
        ordering = ["course", "activity__starts_at"]
        verbose_name = _("课次")
        verbose_name_plural = _("课次")


class EnrolmentStatus(models.TextChoices):
    ENROLLED = "enrolled", _("已报名")
    WAITLISTED = "waitlisted", _("候补")
    CANCELLED = "cancelled", _("已取消")


class Enrolment(BaseModel):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrolments")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(_("状态"), max_length=12, choices=EnrolmentStatus.choices)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["course", "created_at"]
        verbose_name = _("报名")
        verbose_name_plural = _("报名")
        indexes = [
            models.Index(fields=["course", "status", "created_at"], name="enrolment_queue"),
            models.Index(fields=["resident", "status"], name="enrolment_resident"),
        ]
        constraints = [
            # One live enrolment per person and course: a double click enrols once.
            models.UniqueConstraint(
                fields=["course", "resident"], condition=~models.Q(status="cancelled"), name="enrolment_one_live"
            ),
        ]


class PointsRule(BaseModel):
    """A declared rule: what earns points, how many, with caps (anti-gaming)."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    points = models.IntegerField(_("积分"))
    daily_cap = models.PositiveIntegerField(_("每日上限"), null=True, blank=True, help_text=_("每人每天最多获得的积分"))
    active = models.BooleanField(_("启用"), default=True)
    description = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("积分规则")
        verbose_name_plural = _("积分规则")

    def __str__(self) -> str:
        return self.name


class PointsEntry(BaseModel):
    """Append-only. A correction is a reversing entry (``reversal_of``) with a reason; balances are derived."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="points_entries")
    points = models.IntegerField(_("积分"))
    rule = models.ForeignKey(PointsRule, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    source_type = models.CharField(_("来源类型"), max_length=40)
    source_id = models.CharField(_("来源"), max_length=64)
    reason = models.CharField(_("说明"), max_length=300, blank=True)
    reversal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["resident", "-created_at"]
        verbose_name = _("积分记录")
        verbose_name_plural = _("积分记录")
        indexes = [models.Index(fields=["resident", "-created_at"], name="points_resident_time")]
        constraints = [
            # No source is ever awarded twice, even under concurrency.
            models.UniqueConstraint(
                fields=["resident", "source_type", "source_id"],
                condition=models.Q(reversal_of__isnull=True),
                name="points_once_per_source",
            ),
        ]


class PointsBalance(models.Model):
    """The running balance of a resident, kept in step with the entries in the same transaction; rebuildable."""

    resident = models.OneToOneField(Resident, primary_key=True, on_delete=models.CASCADE, related_name="points")
    balance = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.resident_id}: {self.balance}"
