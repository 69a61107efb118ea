"""析 measure: settings, computation runs, snapshots of results, the social-capital survey, mechanism results.

Dashboards read snapshots only; the engine (``gongzhi.analytics.engine``, plain Python over Polars frames) writes them
through ``gongzhi.analytics.services``. A snapshot row is keyed by (place, period, indicator): recomputing replaces the
rows of the places it covers, in one transaction, and every row points at the ``Computation`` (with its settings) that
produced it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.models import BaseModel
from gongzhi.people.models import Resident
from gongzhi.places.models import Place

PERIOD_MAX = 6  # "2025" or "2025Q1"


class Weighting(models.TextChoices):
    EQUAL = "equal", _("等权")
    ENTROPY = "entropy", _("熵权法")
    EXPERT = "expert", _("专家赋权")


class MeasureSettings(BaseModel):
    """One version of the measurement settings of a place's subtree. Append-only: a change is a new version, and each
    computation copies the settings it used. The settings in force for a place are the newest version on the place or
    its nearest ancestor; with none, METHOD.md's defaults."""

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="measure_settings", verbose_name=_("区划"))
    goalposts = models.JSONField(_("目标值"), default=dict, blank=True)  # {"I1": [0, 0.5], …}: overrides only
    weighting = models.CharField(_("赋权方法"), max_length=8, choices=Weighting.choices, default=Weighting.EQUAL)
    expert_weights = models.JSONField(_("专家权重"), default=dict, blank=True)  # {"I1": 2.0, …}
    threshold = models.FloatField(_("短板阈值"), default=60.0)
    graph_limit = models.PositiveIntegerField(_("建网活动人数上限"), default=50)
    note = models.CharField(_("修改说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["place_id", "-created_at"]
        verbose_name = _("测评设置")
        verbose_name_plural = _("测评设置")
        indexes = [models.Index(fields=["place", "-created_at"], name="msettings_place_newest")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold__gte=0, threshold__lte=100), name="msettings_threshold"
            ),
            models.CheckConstraint(condition=models.Q(graph_limit__gte=2), name="msettings_graph_limit"),
        ]


class ComputationStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("计算中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class Computation(BaseModel):
    """One run of the engine for a period over the communities under ``scope_code`` (empty: every community)."""

    period = models.CharField(_("时期"), max_length=PERIOD_MAX)
    scope_code = models.CharField(_("范围"), max_length=12, blank=True)
    config = models.JSONField(_("设置"), default=dict)  # the full settings used (engine.config.MeasureConfig)
    settings_version = models.ForeignKey(
        MeasureSettings, null=True, blank=True, on_delete=models.SET_NULL, related_name="computations"
    )
    status = models.CharField(
        _("状态"), max_length=8, choices=ComputationStatus.choices, default=ComputationStatus.QUEUED
    )
    trigger = models.CharField(_("触发方式"), max_length=10, blank=True)  # command, import, web, demo
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    communities = models.PositiveIntegerField(_("社区数"), default=0)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("指标计算")
        verbose_name_plural = _("指标计算")
        indexes = [
            models.Index(fields=["period", "scope_code", "status"], name="computation_period_scope"),
            models.Index(fields=["scope_code", "-created_at"], name="computation_scope_newest"),
            models.Index(fields=["status", "created_at"], name="computation_status_age"),
        ]
        constraints = [
            # A double click or a second import while one is waiting or running queues nothing more.
            models.UniqueConstraint(
                fields=["period", "scope_code"],
                condition=models.Q(status__in=["queued", "running"]),
                name="computation_one_live",
            ),
        ]


class IndicatorSnapshot(models.Model):
    """The stored result of one indicator for a place and period: ``value`` (raw), ``score`` (0–100 where scored),
    and, for ratios and counts, the ``numerator`` and ``denominator`` behind the value (used to suppress small counts
    in open data). Rows ``DIM_I``, ``DIM_II``, ``DIM_III`` and ``COMPOSITE`` carry only a score."""

    id = models.BigAutoField(primary_key=True)
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="indicator_snapshots")
    period = models.CharField(max_length=PERIOD_MAX)
    indicator = models.CharField(max_length=16)
    value = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    numerator = models.FloatField(null=True, blank=True)
    denominator = models.FloatField(null=True, blank=True)
    computation = models.ForeignKey(Computation, on_delete=models.CASCADE, related_name="indicator_rows")

    class Meta:
        ordering = ["place_id", "period", "indicator"]
        constraints = [
            models.UniqueConstraint(fields=["place", "period", "indicator"], name="isnap_unique"),
        ]
        indexes = [
            models.Index(fields=["period", "indicator", "place"], name="isnap_period_indicator"),
        ]

    def __str__(self) -> str:
        return f"{self.place_id} {self.period} {self.indicator}"


class DiagnosisSnapshot(models.Model):
    """The diagnosis of a place and period: its dominant dilemma(s) (``"I"``, ``"II;III"``, or empty for none) and,
    for each dimension, the indicators that pull it down (``weak``: ``{"I": ["I4", "I2"], …}``)."""

    id = models.BigAutoField(primary_key=True)
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="diagnosis_snapshots")
    period = models.CharField(max_length=PERIOD_MAX)
    dilemmas = models.CharField(max_length=10, blank=True)
    weak = models.JSONField(default=dict, blank=True)
    computation = models.ForeignKey(Computation, on_delete=models.CASCADE, related_name="diagnosis_rows")

    class Meta:
        ordering = ["place_id", "period"]
        constraints = [models.UniqueConstraint(fields=["place", "period"], name="dsnap_unique")]
        indexes = [models.Index(fields=["period", "place"], name="dsnap_period_place")]

    def __str__(self) -> str:
        return f"{self.place_id} {self.period} {self.dilemmas or '-'}"


class GraphSnapshot(models.Model):
    """The co-participation graph of a community and period, for drawing: anonymous node numbers with their household
    group and component, and the edges (``data = {"nodes": [[group, component], …], "edges": [[i, j], …],
    "truncated": bool}``), capped at a drawable size. Never resident ids."""

    id = models.BigAutoField(primary_key=True)
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="graph_snapshots")
    period = models.CharField(max_length=PERIOD_MAX)
    nodes = models.PositiveIntegerField(default=0)
    edges = models.PositiveIntegerField(default=0)
    data = models.JSONField(default=dict)
    computation = models.ForeignKey(Computation, on_delete=models.CASCADE, related_name="graph_rows")

    class Meta:
        ordering = ["place_id", "period"]
        constraints = [models.UniqueConstraint(fields=["place", "period"], name="gsnap_unique")]

    def __str__(self) -> str:
        return f"{self.place_id} {self.period} ({self.nodes}/{self.edges})"


# --- the social-capital survey ------------------------------------------------------------------------------------


class SocialSurveyStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class SocialSurvey(BaseModel):
    """A round of the social-capital survey (the instrument is fixed in ``analytics.survey.instrument``), sent by a
    place to residents of the target places, answered on a phone between ``opens_on`` and ``closes_on``."""

    title = models.CharField(_("标题"), max_length=200)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="social_surveys", verbose_name=_("发起区划")
    )
    targets = models.ManyToManyField(Place, related_name="targeted_by_social_surveys", verbose_name=_("调查范围"))
    opens_on = models.DateField(_("开始日期"))
    closes_on = models.DateField(_("截止日期"))
    status = models.CharField(
        _("状态"), max_length=8, choices=SocialSurveyStatus.choices, default=SocialSurveyStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-opens_on", "title"]
        verbose_name = _("社会资本调查")
        verbose_name_plural = _("社会资本调查")
        indexes = [models.Index(fields=["place", "status"], name="ssurvey_place_status")]
        constraints = [
            models.CheckConstraint(condition=models.Q(closes_on__gte=models.F("opens_on")), name="ssurvey_dates"),
        ]


class SurveyAnswer(BaseModel):
    """One resident's answer to one item (Likert 1–5). Answers from the app carry their survey; imported answers
    (``survey_answers.csv``) have none. A resident answers an item at most once a day: re-answering replaces."""

    survey = models.ForeignKey(SocialSurvey, null=True, blank=True, on_delete=models.CASCADE, related_name="answers")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="survey_answers")
    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    answered_on = models.DateField(_("作答日期"))
    item = models.CharField(_("题目"), max_length=12)
    value = models.PositiveSmallIntegerField(_("得分"))

    class Meta:
        ordering = ["answered_on", "item"]
        verbose_name = _("调查作答")
        verbose_name_plural = _("调查作答")
        constraints = [
            models.UniqueConstraint(fields=["resident", "answered_on", "item"], name="sanswer_once_a_day"),
            models.CheckConstraint(condition=models.Q(value__gte=1, value__lte=5), name="sanswer_likert"),
        ]
        indexes = [
            models.Index(fields=["community", "answered_on"], name="sanswer_community_date"),
            models.Index(fields=["survey", "resident"], name="sanswer_survey_resident"),
        ]


# --- the mechanism test -------------------------------------------------------------------------------------------


class MechanismResult(BaseModel):
    """A stored run of the mechanism test over the panel under ``place`` (periods, outcome, resamples and seed in
    ``config``; the estimates in ``result``). Pages show the newest; recomputing adds a new row."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="mechanism_results")
    config = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["place", "-created_at"], name="mechanism_place_newest")]
