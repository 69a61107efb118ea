"""学 learn: teachers, themed series, courses and their sessions, enrolment, the points ledger; online tests,
credential programmes and certificates, and star ratings of learners."""

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


# --- 学 credentials: online tests ---------------------------------------------------------------------------------


class QuestionBank(BaseModel):
    """A bank of questions for a course or a themed series (or a place's own)."""

    name = models.CharField(_("名称"), max_length=100)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="question_banks", verbose_name=_("所属区划")
    )
    course = models.ForeignKey(
        Course, null=True, blank=True, on_delete=models.SET_NULL, related_name="question_banks", verbose_name=_("课程")
    )
    series = models.ForeignKey(
        Series,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="question_banks",
        verbose_name=_("主题系列"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["place_id", "name"]
        verbose_name = _("题库")
        verbose_name_plural = _("题库")
        constraints = [models.UniqueConstraint(fields=["place", "name"], name="bank_unique_name")]

    def __str__(self) -> str:
        return self.name


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("单选题")
    MULTIPLE = "multiple", _("多选题")
    TRUE_FALSE = "true_false", _("判断题")


class Question(BaseModel):
    """``choices`` is the list of option texts (for true/false: ["正确", "错误"]); ``answer`` the sorted list of the
    correct options' indices. The answer never leaves the server before an attempt is submitted."""

    bank = models.ForeignKey(QuestionBank, on_delete=models.CASCADE, related_name="questions")
    kind = models.CharField(_("题型"), max_length=10, choices=QuestionKind.choices)
    text = models.TextField(_("题目"))
    choices = models.JSONField(_("选项"), default=list)
    answer = models.JSONField(_("答案"), default=list)
    explanation = models.TextField(_("解析"), blank=True)
    order = models.PositiveIntegerField(_("顺序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["bank", "order", "created_at"]
        verbose_name = _("题目")
        verbose_name_plural = _("题目")
        constraints = [models.CheckConstraint(condition=models.Q(kind__in=QuestionKind.values), name="question_kind")]


class OnlineTestStatus(models.TextChoices):
    DRAFT = "draft", _("未发布")
    OPEN = "open", _("开放中")
    CLOSED = "closed", _("已关闭")


class OnlineTest(BaseModel):
    """A test drawn from a bank: time limit, shuffled order, pass mark (percent), attempts allowed."""

    title = models.CharField(_("名称"), max_length=200)
    bank = models.ForeignKey(QuestionBank, on_delete=models.PROTECT, related_name="tests", verbose_name=_("题库"))
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="online_tests", verbose_name=_("所属区划"))
    course = models.ForeignKey(Course, null=True, blank=True, on_delete=models.SET_NULL, related_name="online_tests")
    series = models.ForeignKey(Series, null=True, blank=True, on_delete=models.SET_NULL, related_name="online_tests")
    question_count = models.PositiveIntegerField(_("抽题数"), null=True, blank=True, help_text=_("留空表示全部题目"))
    time_limit_minutes = models.PositiveIntegerField(_("限时（分钟）"), null=True, blank=True)
    pass_mark = models.PositiveSmallIntegerField(_("及格分（百分制）"), default=60)
    attempts_allowed = models.PositiveSmallIntegerField(_("可作答次数"), default=3)
    shuffle = models.BooleanField(_("打乱题目和选项顺序"), default=True)
    status = models.CharField(_("状态"), max_length=8, choices=OnlineTestStatus.choices, default=OnlineTestStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["place_id", "-created_at"]
        verbose_name = _("线上测试")
        verbose_name_plural = _("线上测试")
        indexes = [models.Index(fields=["place", "status"], name="test_place_status")]
        constraints = [
            models.CheckConstraint(condition=models.Q(pass_mark__gte=0, pass_mark__lte=100), name="test_pass_mark"),
            models.CheckConstraint(condition=models.Q(attempts_allowed__gte=1), name="test_attempts_min"),
        ]

    def __str__(self) -> str:
        return self.title


class OnlineTestAttempt(BaseModel):
    """One attempt: the questions drawn (and each one's option order) are fixed at the start; the server scores the
    answers on submission, once (``submitted_at``), within the deadline."""

    test = models.ForeignKey(OnlineTest, on_delete=models.PROTECT, related_name="attempts")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="test_attempts")
    number = models.PositiveSmallIntegerField(_("第几次"))
    deadline = models.DateTimeField(null=True, blank=True)
    question_ids = models.JSONField(default=list)  # in the order shown
    option_orders = models.JSONField(default=dict)  # {question id: [original option indices in the order shown]}
    answers = models.JSONField(default=dict)  # {question id: [original option indices chosen]}
    submitted_at = models.DateTimeField(null=True, blank=True)
    score = models.DecimalField(_("得分"), max_digits=5, decimal_places=2, null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["test", "resident", "number"]
        indexes = [models.Index(fields=["resident", "passed"], name="attempt_resident_passed")]
        constraints = [
            models.UniqueConstraint(fields=["test", "resident", "number"], name="attempt_unique_number"),
            # At most one unfinished attempt per person and test: a double click starts one.
            models.UniqueConstraint(
                fields=["test", "resident"], condition=models.Q(submitted_at__isnull=True), name="attempt_one_open"
            ),
        ]


# --- 学 credentials: programmes, levels, certificates, issuer keys ------------------------------------------------


class ProgrammeStatus(models.TextChoices):
    DRAFT = "draft", _("未发布")
    ACTIVE = "active", _("进行中")
    RETIRED = "retired", _("已停用")


class CredentialProgramme(BaseModel):
    """A credential programme (e.g. 星级家长执照) with levels; issued by a place."""

    name = models.CharField(_("名称"), max_length=100)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="credential_programmes", verbose_name=_("颁证区划")
    )
    description = models.TextField(_("说明"), blank=True)
    series = models.ForeignKey(Series, null=True, blank=True, on_delete=models.SET_NULL, related_name="programmes")
    validity_months = models.PositiveSmallIntegerField(
        _("有效期（月）"), null=True, blank=True, help_text=_("留空表示长期有效")
    )
    status = models.CharField(_("状态"), max_length=8, choices=ProgrammeStatus.choices, default=ProgrammeStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["place_id", "name"]
        verbose_name = _("认证项目")
        verbose_name_plural = _("认证项目")
        constraints = [models.UniqueConstraint(fields=["place", "name"], name="programme_unique_name")]

    def __str__(self) -> str:
        return self.name


class CredentialLevel(BaseModel):
    """A level of a programme. ``criteria`` is declared, not coded: a tree of ``{"all": [...]}`` / ``{"any": [...]}``
    groups whose leaves are ``{"kind": ..., "min": ..., ...}`` (see ``gongzhi.learning.credentials.criteria``)."""

    programme = models.ForeignKey(CredentialProgramme, on_delete=models.CASCADE, related_name="levels")
    rank = models.PositiveSmallIntegerField(_("级别"))
    name = models.CharField(_("名称"), max_length=50)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    criteria = models.JSONField(_("条件"), default=dict)

    class Meta:
        ordering = ["programme", "rank"]
        verbose_name = _("认证级别")
        verbose_name_plural = _("认证级别")
        constraints = [
            models.UniqueConstraint(fields=["programme", "rank"], name="level_unique_rank"),
            models.CheckConstraint(condition=models.Q(rank__gte=1), name="level_rank_min"),
        ]

    def __str__(self) -> str:
        return self.name


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("有效")
    REVOKED = "revoked", _("已撤销")
    SUPERSEDED = "superseded", _("已换发")


class Certificate(BaseModel):
    """A certificate: claimed by an eligible resident or issued by staff. ``code`` is unguessable and names the public
    verification page. Expiry is a date (status stays ``valid``; "expired" is derived from ``expires_on``). A renewal
    issues a new certificate (``renewed_from``) and marks the old one superseded."""

    code = models.CharField(_("证书编号"), max_length=32, unique=True)
    programme = models.ForeignKey(CredentialProgramme, on_delete=models.PROTECT, related_name="certificates")
    level = models.ForeignKey(CredentialLevel, on_delete=models.PROTECT, related_name="certificates")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="certificates")
    holder_name_masked = models.CharField(_("持证人"), max_length=50)
    issued_on = models.DateField(_("颁发日期"))
    expires_on = models.DateField(_("有效期至"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=CertificateStatus.choices, default=CertificateStatus.VALID
    )
    claimed = models.BooleanField(_("本人领取"), default=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(_("撤销原因"), max_length=300, blank=True)
    renewed_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewed_by"
    )
    # The signed Open Badges 3.0 credential (a VC-JWT, compact JWS) as issued.
    credential_jwt = models.TextField(blank=True)

    class Meta:
        ordering = ["-issued_on", "-created_at"]
        verbose_name = _("证书")
        verbose_name_plural = _("证书")
        indexes = [
            models.Index(fields=["resident", "status"], name="certificate_resident"),
            models.Index(fields=["programme", "status"], name="certificate_programme"),
        ]
        constraints = [
            # One valid certificate per person and level: a double claim issues once.
            models.UniqueConstraint(
                fields=["resident", "level"], condition=models.Q(status="valid"), name="certificate_one_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=True) | models.Q(expires_on__gte=models.F("issued_on")),
                name="certificate_expiry_order",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class IssuerKey(BaseModel):
    """An issuing place's signing key (Ed25519). Only the public key is stored in plain form; the private key is
    encrypted with a key derived from ``settings.DATA_ENCRYPTION_KEY`` (not in the database), so a database dump
    alone cannot sign credentials."""

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="issuer_keys")
    kid = models.CharField(max_length=64, unique=True)
    public_jwk = models.JSONField()
    private_key_encrypted = models.TextField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["place_id", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["place"], condition=models.Q(retired_at__isnull=True), name="issuer_key_one_active"
            )
        ]


# --- 学 credentials: star ratings of learners (星级评定) ----------------------------------------------------------


class StarStandardStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    ACTIVE = "active", _("评定中")
    PUBLISHED = "published", _("已公布")


class StarStandard(BaseModel):
    """A declared yearly standard: ``criteria`` = ``[{"code", "name", "weight", "source", "target"}]`` with sources
    attendance, points, volunteer_hours, assessment (staff or peer scores 0–100); weights sum to 1. ``thresholds`` =
    the minimum weighted score (0–100) for 1…5 stars, ascending."""

    name = models.CharField(_("名称"), max_length=100)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="star_standards", verbose_name=_("区划"))
    year = models.PositiveSmallIntegerField(_("年度"))
    organization_ref = models.CharField(
        _("限定组织编号"), max_length=64, blank=True, help_text=_("只评定该组织的成员，留空为区划内全部居民")
    )
    criteria = models.JSONField(_("评定指标"), default=list)
    thresholds = models.JSONField(_("星级分数线"), default=list)
    status = models.CharField(
        _("状态"), max_length=10, choices=StarStandardStatus.choices, default=StarStandardStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["place_id", "-year", "name"]
        verbose_name = _("星级评定标准")
        verbose_name_plural = _("星级评定标准")
        constraints = [models.UniqueConstraint(fields=["place", "year", "name"], name="star_standard_unique")]

    def __str__(self) -> str:
        return f"{self.name} {self.year}"


class StarAssessment(BaseModel):
    """A staff or peer assessment score (0–100) of a resident on one criterion of source ``assessment``."""

    standard = models.ForeignKey(StarStandard, on_delete=models.CASCADE, related_name="assessments")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="star_assessments")
    criterion = models.CharField(max_length=40)
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    score = models.DecimalField(max_digits=5, decimal_places=2)
    comment = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["standard", "resident", "criterion"]
        constraints = [
            models.UniqueConstraint(
                fields=["standard", "resident", "criterion", "assessor"], name="star_assessment_once"
            ),
            models.CheckConstraint(condition=models.Q(score__gte=0, score__lte=100), name="star_assessment_range"),
        ]


class StarRatingStatus(models.TextChoices):
    PROPOSED = "proposed", _("待审核")
    APPROVED = "approved", _("已审核")
    PUBLISHED = "published", _("已公布")


class StarRating(BaseModel):
    """A computed proposal (``proposed_stars`` with its ``breakdown``) that staff review (``final_stars``, note)
    before the standard's ratings are published."""

    standard = models.ForeignKey(StarStandard, on_delete=models.CASCADE, related_name="ratings")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="star_ratings")
    score = models.DecimalField(max_digits=6, decimal_places=2)
    proposed_stars = models.PositiveSmallIntegerField()
    final_stars = models.PositiveSmallIntegerField(null=True, blank=True)
    breakdown = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=StarRatingStatus.choices, default=StarRatingStatus.PROPOSED)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["standard", "-score"]
        indexes = [models.Index(fields=["standard", "status"], name="star_rating_status")]
        constraints = [
            models.UniqueConstraint(fields=["standard", "resident"], name="star_rating_once"),
            models.CheckConstraint(condition=models.Q(proposed_stars__lte=5), name="star_rating_max"),
            models.CheckConstraint(
                condition=models.Q(final_stars__isnull=True) | models.Q(final_stars__lte=5), name="star_final_max"
            ),
        ]
