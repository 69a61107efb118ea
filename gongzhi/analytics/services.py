"""析 measure — writes: measurement settings (append-only versions), computation requests and runs.

- ``measure_config_for``: the settings in force for a place (newest version on it or its nearest ancestor; METHOD.md
  defaults without one). For "every community" (no place) it is the newest version on a root place (a province).
- ``measure_settings_change``: a new settings version (append-only; the same settings again add nothing), audited.
- ``computation_request``: queue a computation for a period and scope (idempotent while one is queued or running:
  the partial unique constraint ``computation_one_live`` decides under concurrency) and run it in the background.
- ``compute_now``: run one synchronously (commands, tests); ``computation_run`` runs a queued one (jobs, cron).

A run: extract (one set of queries) → ``compute_indicators`` (+ survey scale scores) → ``scoring.score`` → roll-ups
to every ancestor up to the scope place, weighted by population (``POP``) → diagnoses of the rolled-up places →
snapshots stored in one transaction replacing the rows of the covered places for that period. Any failure marks the
computation failed with its message and stores nothing.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from gongzhi.places import codes
from gongzhi.places.models import Place

from .engine import spec
from .engine.config import WEIGHTINGS, MeasureConfig, default_goalposts
from .engine.periods import Period, PeriodError
from .models import (
    Computation,
    ComputationStatus,
    DiagnosisSnapshot,
    GraphSnapshot,
    IndicatorSnapshot,
    MeasureSettings,
)

logger = logging.getLogger("gongzhi.analytics")

LIVE = (ComputationStatus.QUEUED, ComputationStatus.RUNNING)
GRAPH_LIMIT_MAX = 100_000
MESSAGE_MAX = 500
BULK = 2000
# progress(done, total, label): the steps of a run, for progress bars and the computations page.
Progress = Callable[[int, int, str], Any]
STEPS = ("extract", "indicators", "survey", "scores", "rollup", "graphs", "store")
STEP_LABELS = {
    "extract": "读取数据",
    "indicators": "计算指标",
    "survey": "调查量表",
    "scores": "标准化与赋权",
    "rollup": "逐级汇总与诊断",
    "graphs": "共同参与网络",
    "store": "保存结果",
}


# --- periods and places ------------------------------------------------------------------------------------------


def period_parse(value: Any, *, field: str = "period") -> Period:
    """A period key ("2025", "2025Q1"), or a DomainError naming the field."""
    try:
        return Period.parse(str(value or ""))
    except PeriodError as exc:
        message = _("时期应为年份（如 2025）或季度（如 2025Q1），而不是“%(value)s”") % {"value": value or ""}
        raise DomainError(message, fields={field: [message]}) from exc


def scope_place(code: str) -> Place | None:
    """The place of a scope code ("" = every community); NotFound for an unknown or malformed code."""
    if not code:
        return None
    place = Place.objects.filter(code=code).first() if codes.CODE_RE.match(code) else None
    if place is None:
        message = _("找不到区划 %(code)s") % {"code": code}
        raise NotFound(message, fields={"place": [message]})
    return place


# --- settings ----------------------------------------------------------------------------------------------------


def _config_of(version: MeasureSettings | None) -> MeasureConfig:
    if version is None:
        return MeasureConfig()
    return MeasureConfig.from_overrides(
        goalposts=version.goalposts,
        weighting=version.weighting,
        expert_weights=version.expert_weights,
        threshold=version.threshold,
        graph_limit=version.graph_limit,
    )


def measure_config_for(*, place: Place | None) -> tuple[MeasureConfig, MeasureSettings | None]:
    """The settings in force for ``place``: the newest version on the place or its nearest ancestor (one query)."""
    if place is None:
        version = (
            MeasureSettings.objects.filter(place__parent__isnull=True).select_related("place").order_by("-created_at")
        ).first()
        return _config_of(version), version
    chain = [*codes.ancestor_codes(place.code), place.code]
    versions = list(MeasureSettings.objects.filter(place_id__in=chain).order_by("-created_at", "-id"))
    for code in reversed(chain):
        version = next((v for v in versions if v.place_id == code), None)
        if version is not None:
            return _config_of(version), version
    return MeasureConfig(), None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def settings_validate(
    *,
    goalposts: dict[str, Any] | None,
    weighting: str,
    expert_weights: dict[str, Any] | None,
    threshold: Any,
    graph_limit: Any,
    note: str = "",
) -> tuple[MeasureConfig, dict[str, list[float]], dict[str, float]]:
    """Check settings as entered; errors in Chinese, keyed by field (``goalposts.I1``, ``expert_weights.II3`` …).
    Returns the config and the overrides to store (goalposts that differ from METHOD.md's, positive expert weights)."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    defaults = default_goalposts()
    posts: dict[str, list[float]] = {}
    if goalposts is not None and not isinstance(goalposts, dict):
        fail("goalposts", _("目标值应为“指标 → [下限, 上限]”"))
        goalposts = {}
    for key, pair in (goalposts or {}).items():
        field = f"goalposts.{key}"
        if key not in defaults:
            fail(field, _("%(id)s 不是计分指标，不能设置目标值") % {"id": key})
            continue
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            fail(field, _("%(id)s 的目标值应为两个数：下限和上限") % {"id": key})
            continue
        lo, hi = _number(pair[0]), _number(pair[1])
        if lo is None or hi is None:
            fail(field, _("%(id)s 的目标值应为数字") % {"id": key})
        elif not hi > lo:
            fail(field, _("%(id)s 的目标值：上限（%(hi)s）必须大于下限（%(lo)s）") % {"id": key, "lo": lo, "hi": hi})
        elif (lo, hi) != defaults[key]:
            posts[key] = [lo, hi]
    if weighting not in WEIGHTINGS:
        fail("weighting", _("赋权方法应为等权（equal）、熵权法（entropy）或专家赋权（expert）"))
    weights: dict[str, float] = {}
    scorable = {s.id: s.dimension for s in (*spec.CORE, *spec.SURVEY) if s.scored}
    if expert_weights is not None and not isinstance(expert_weights, dict):
        fail("expert_weights", _("专家权重应为“指标 → 权重”"))
        expert_weights = {}
    for key, raw in (expert_weights or {}).items():
        field = f"expert_weights.{key}"
        if key not in scorable:
            fail(field, _("%(id)s 不是计分指标，不能设置权重") % {"id": key})
            continue
        weight = _number(raw)
        if weight is None or weight < 0:
            fail(field, _("%(id)s 的权重应为不小于 0 的数字") % {"id": key})
        elif weight > 0:
            weights[key] = weight
    if weighting == "expert" and not any(f.startswith("expert_weights") for f in errors):
        for dim in spec.DIMENSIONS:
            if not any(scorable[k] == dim for k in weights):
                fail(
                    "expert_weights",
                    _("专家赋权时，维度 %(dim)s 至少要有一个指标的权重大于 0") % {"dim": dim},
                )
    threshold_value = _number(threshold)
    if threshold_value is None or not 0 <= threshold_value <= 100:
        fail("threshold", _("短板阈值应为 0 到 100 之间的数"))
    limit: int | None = None
    try:
        limit = int(str(graph_limit).strip())
    except (TypeError, ValueError):
        limit = None
    if limit is None or not 2 <= limit <= GRAPH_LIMIT_MAX:
        fail("graph_limit", _("建网活动人数上限应为 2 到 %(max)s 之间的整数") % {"max": GRAPH_LIMIT_MAX})
    if len(note or "") > 300:
        fail("note", _("修改说明不能超过 300 个字符"))
    if errors:
        raise DomainError(_("测评设置有误，请检查标红的字段"), fields=errors)
    assert threshold_value is not None and limit is not None
    config = MeasureConfig.from_overrides(
        goalposts=posts, weighting=weighting, expert_weights=weights, threshold=threshold_value, graph_limit=limit
    )
    return config, posts, weights


def measure_settings_change(
    *,
    place: Place,
    actor: Any,
    goalposts: dict[str, Any] | None = None,
    weighting: str = "equal",
    expert_weights: dict[str, Any] | None = None,
    threshold: Any = 60,
    graph_limit: Any = 50,
    note: str = "",
) -> MeasureSettings:
    """A new version of the settings of ``place``'s subtree. The same settings as the place's newest version add no
    version (a double submit); computations run later use the new version."""
    if actor is not None and not actor.has_perm("analytics.change_measuresettings", place):
        raise PermissionDenied(_("您无权修改这个区划的测评设置"))
    config, posts, weights = settings_validate(
        goalposts=goalposts,
        weighting=weighting,
        expert_weights=expert_weights,
        threshold=threshold,
        graph_limit=graph_limit,
        note=note,
    )
    with transaction.atomic():
        Place.objects.select_for_update().filter(code=place.code).first()  # one change of a place at a time
        newest = MeasureSettings.objects.filter(place=place).order_by("-created_at", "-id").first()
        if newest is not None and _config_of(newest).canonical() == config.canonical() and newest.note == note:
            return newest
        version = MeasureSettings(
            place=place,
            goalposts=posts,
            weighting=config.weighting,
            expert_weights=weights,
            threshold=config.threshold,
            graph_limit=config.graph_limit,
            note=note,
            created_by=acting_user(actor),
        )
        version.full_clean()
        version.save()
        audit_record(
            actor=actor,
            action="change",
            target_type="measure_settings",
            target_id=str(version.pk),
            place_code=place.code,
            summary=f"修改测评设置：{place.name}（{config.weighting}，阈值 {config.threshold:g}，"
            f"建网上限 {config.graph_limit}）",
            changes=config.to_json(),
        )
    return version


# --- computations ------------------------------------------------------------------------------------------------


def _live(period: str, scope_code: str) -> Computation | None:
    return Computation.objects.filter(period=period, scope_code=scope_code, status__in=LIVE).first()


def _queue(*, period: Period, scope: Place | None, actor: Any, trigger: str, status: str) -> tuple[Computation, bool]:
    """A new live computation, or the one already live for the period and scope: ``(computation, created)``."""
    scope_code = scope.code if scope is not None else ""
    existing = _live(period.key, scope_code)
    if existing is not None:
        return existing, False
    config, version = measure_config_for(place=scope)
    computation = Computation(
        period=period.key,
        scope_code=scope_code,
        config=config.to_json(),
        settings_version=version,
        status=status,
        trigger=trigger[:10],
        requested_by=acting_user(actor),
        started_at=timezone.now() if status == ComputationStatus.RUNNING else None,
    )
    try:
        with transaction.atomic():
            computation.save()
    except IntegrityError:
        # Another request queued the same period and scope in between (computation_one_live).
        existing = _live(period.key, scope_code)
        if existing is None:
            raise
        return existing, False
    return computation, True


def computation_request(
    *, period: str, scope: Place | None, actor: Any = None, trigger: str = "web", background: bool = True
) -> Computation:
    """Queue a computation of ``period`` over the communities under ``scope`` (every community when None) and run it
    in the background. While one is queued or running for the same period and scope, that one is returned."""
    parsed = period_parse(period)
    if actor is not None:
        allowed = (
            actor.has_perm("analytics.run_computation", scope)
            if scope is not None
            else getattr(actor, "is_superuser", False)
        )
        if not allowed:
            raise PermissionDenied(_("您无权为这个区划计算指标"))
    computation, created = _queue(period=parsed, scope=scope, actor=actor, trigger=trigger, status="queued")
    if created:
        audit_record(
            actor=actor,
            action="request",
            target_type="computation",
            target_id=str(computation.pk),
            place_code=computation.scope_code,
            summary=f"申请计算指标：{computation.period}（{scope.name if scope else '全部社区'}）",
        )
        if background:
            from . import jobs

            jobs.run_in_background([computation])
    return computation


def compute_now(
    *,
    period: str,
    scope_code: str = "",
    actor: Any = None,
    trigger: str = "command",
    progress: Progress | None = None,
) -> Computation:
    """Compute ``period`` over the communities under ``scope_code`` now and store the results. A computation queued
    for the same period and scope is taken over; one already running elsewhere is a Conflict. Returns the
    computation (status ``done``, or ``failed`` with its message)."""
    parsed = period_parse(period)
    scope = scope_place(scope_code)
    computation, created = _queue(period=parsed, scope=scope, actor=actor, trigger=trigger, status="running")
    if not created and (computation.status == ComputationStatus.RUNNING or not _claim(computation)):
        raise Conflict(
            _("%(period)s 的指标正在计算中，请稍后再试") % {"period": parsed.key},
            fields={"period": [_("正在计算中")]},
            code="computation_running",
        )
    return _run(computation, progress=progress)


def _claim(computation: Computation) -> bool:
    """Take a queued computation (only one worker wins)."""
    now = timezone.now()
    won = Computation.objects.filter(pk=computation.pk, status=ComputationStatus.QUEUED).update(
        status=ComputationStatus.RUNNING, started_at=now, updated_at=now, progress_done=0
    )
    if won:
        computation.status, computation.started_at, computation.progress_done = ComputationStatus.RUNNING, now, 0
    return bool(won)


def computation_run(computation: Computation, *, progress: Progress | None = None, retry: bool = False) -> Computation:
    """Run a queued computation (``retry``: also one left ``running`` by a crashed process). Returns it; a computation
    another worker took meanwhile is returned untouched."""
    if retry and computation.status == ComputationStatus.RUNNING:
        Computation.objects.filter(pk=computation.pk).update(status=ComputationStatus.QUEUED)
        computation.status = ComputationStatus.QUEUED
    if not _claim(computation):
        computation.refresh_from_db()
        return computation
    return _run(computation, progress=progress)


@dataclass
class _Tracker:
    computation: Computation
    progress: Progress | None
    timings: dict[str, float]
    started: float = 0.0

    def step(self, name: str) -> None:
        """Mark the start of a step: the steps before it are done."""
        now = time.perf_counter()
        done = STEPS.index(name)
        if done and self.started:
            self.timings[STEPS[done - 1]] = now - self.started
        self.started = now
        Computation.objects.filter(pk=self.computation.pk).update(
            progress_done=done, progress_total=len(STEPS), updated_at=timezone.now()
        )
        self.computation.progress_done, self.computation.progress_total = done, len(STEPS)
        if self.progress is not None:
            self.progress(done, len(STEPS), STEP_LABELS[name])

    def finish(self) -> None:
        if self.started:
            self.timings[STEPS[-1]] = time.perf_counter() - self.started
        if self.progress is not None:
            self.progress(len(STEPS), len(STEPS), "")


def _run(computation: Computation, *, progress: Progress | None) -> Computation:
    tracker = _Tracker(computation, progress, {})
    began = time.perf_counter()
    try:
        communities = _compute_and_store(computation, tracker)
    except Exception as exc:  # any failure: the computation says why, and no snapshot was written
        logger.exception("computation %s (%s %s) failed", computation.pk, computation.period, computation.scope_code)
        message = (_("计算失败：%(error)s") % {"error": f"{type(exc).__name__}: {exc}"})[:MESSAGE_MAX]
        now = timezone.now()
        Computation.objects.filter(pk=computation.pk).update(
            status=ComputationStatus.FAILED, message=message, finished_at=now, updated_at=now
        )
        computation.status, computation.message, computation.finished_at = ComputationStatus.FAILED, message, now
        return computation
    computation.refresh_from_db()
    logger.info(
        "computation %s (%s %s): %s communities in %.2fs",
        computation.pk,
        computation.period,
        computation.scope_code or "*",
        communities,
        time.perf_counter() - began,
    )
    return computation


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _survey_rows(data: Any, period: Period) -> pl.DataFrame | None:
    """The survey scale scores (S_*) of the communities, when the survey engine is installed and answers exist."""
    try:
        from .engine import survey as survey_engine
    except ImportError:  # the survey engine is optional
        return None
    if data.survey_answers.height == 0:
        return None
    rows = survey_engine.scale_scores(data.survey_answers, period)
    if rows.height == 0:
        return None
    wanted = set(data.communities["community_code"].to_list())
    return rows.filter(pl.col("community_code").is_in(wanted))


def _parents(community_codes: Iterable[str], scope: str) -> pl.DataFrame:
    """(community_code, place_code) for every existing ancestor of each community under the scope, up to and
    including the scope place (every ancestor when the scope is empty)."""
    pairs = []
    for code in community_codes:
        for ancestor in codes.ancestor_codes(code):
            if not scope or codes.covers(scope, ancestor):
                pairs.append((code, ancestor))
    existing = set(Place.objects.filter(code__in={a for _c, a in pairs}).values_list("code", flat=True))
    kept = [(c, a) for c, a in pairs if a in existing]
    return pl.DataFrame(
        {"community_code": [c for c, _a in kept], "place_code": [a for _c, a in kept]},
        schema={"community_code": pl.Utf8, "place_code": pl.Utf8},
    )


ROW_COLUMNS = ("community_code", "indicator", "value", "score", "numerator", "denominator")
ROW_SCHEMA: dict[str, Any] = {
    "community_code": pl.Utf8,
    "indicator": pl.Utf8,
    "value": pl.Float64,
    "score": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Any result frame as the full row shape (missing columns null, dtypes fixed)."""
    return frame.select(
        [
            pl.col(c).cast(ROW_SCHEMA[c]) if c in frame.columns else pl.lit(None, dtype=ROW_SCHEMA[c]).alias(c)
            for c in ROW_COLUMNS
        ]
    )


def _compute_and_store(computation: Computation, tracker: _Tracker) -> int:
    from .engine import graphs, indicators, rollup, scoring
    from .extract import extract

    period = Period.parse(computation.period)
    config = MeasureConfig.from_json(computation.config)
    scope = computation.scope_code

    tracker.step("extract")
    # ids as integer codes from here on: every join and distinct count on millions of rows works on integers
    data = extract(period=period, scope_code=scope, coded=True)
    community_codes = data.communities["community_code"].to_list()
    Computation.objects.filter(pk=computation.pk).update(communities=len(community_codes))

    tracker.step("indicators")
    values = indicators.compute_indicators(data, period, graph_limit=config.graph_limit)

    tracker.step("survey")
    survey = _survey_rows(data, period)
    if survey is not None and survey.height:
        values = pl.concat([values, survey.select(values.columns)], how="vertical_relaxed")

    tracker.step("scores")
    scored = scoring.score(values, config)
    community_rows = pl.concat([_rows(scored.indicators), _rows(scored.dimensions)], how="vertical_relaxed")

    tracker.step("rollup")
    parents = _parents(community_codes, scope)
    population = (
        community_rows.filter(pl.col("indicator") == "POP")
        .select("community_code", pl.col("value").fill_null(0).alias("population"))
        .unique("community_code")
    )
    place_rows = pl.DataFrame(schema={"place_code": pl.Utf8, **{c: ROW_SCHEMA[c] for c in ROW_COLUMNS[1:]}})
    place_diagnoses: list[Any] = []
    if parents.height:
        place_rows = rollup.rollup(community_rows, population, parents)
        as_communities = _rows(place_rows.rename({"place_code": "community_code"}))
        dims = as_communities.filter(pl.col("indicator").is_in([*spec.DIMENSION_ROWS.values(), spec.COMPOSITE]))
        inds = as_communities.filter(~pl.col("indicator").is_in([*spec.DIMENSION_ROWS.values(), spec.COMPOSITE]))
        place_diagnoses = scoring.diagnose(dims.select("community_code", "indicator", "score"), inds, config.threshold)

    tracker.step("graphs")
    drawings = graphs.drawings(data, period, graph_limit=config.graph_limit)

    tracker.step("store")
    _store(
        computation=computation,
        period=period,
        scope=scope,
        community_rows=community_rows,
        place_rows=_rows(place_rows.rename({"place_code": "community_code"})),
        diagnoses=[*scored.diagnoses, *place_diagnoses],
        drawings=drawings,
        communities=community_codes,
        tracker=tracker,
    )
    return len(community_codes)


def _store(
    *,
    computation: Computation,
    period: Period,
    scope: str,
    community_rows: pl.DataFrame,
    place_rows: pl.DataFrame,
    diagnoses: list[Any],
    drawings: dict[str, dict[str, Any]],
    communities: list[str],
    tracker: _Tracker,
) -> None:
    rows = pl.concat([community_rows, place_rows], how="vertical_relaxed").unique(
        ["community_code", "indicator"], keep="first", maintain_order=True
    )
    indicator_objs = [
        IndicatorSnapshot(
            place_id=r["community_code"],
            period=period.key,
            indicator=r["indicator"],
            value=_clean(r["value"]),
            score=_clean(r["score"]),
            numerator=_clean(r["numerator"]),
            denominator=_clean(r["denominator"]),
            computation=computation,
        )
        for r in rows.iter_rows(named=True)
    ]
    diagnosis_objs = [
        DiagnosisSnapshot(
            place_id=d.community_code,
            period=period.key,
            dilemmas=";".join(d.dilemmas),
            weak={k: list(v) for k, v in sorted(d.weak.items())},
            computation=computation,
        )
        for d in diagnoses
    ]
    known = set(communities)
    graph_objs = [
        GraphSnapshot(
            place_id=code,
            period=period.key,
            nodes=int(drawing.get("nodes_total", len(drawing.get("nodes", [])))),
            edges=int(drawing.get("edges_total", len(drawing.get("edges", [])))),
            data={
                "nodes": drawing.get("nodes", []),
                "edges": drawing.get("edges", []),
                "truncated": bool(drawing.get("truncated", False)),
            },
            computation=computation,
        )
        for code, drawing in sorted(drawings.items())
        if code in known
    ]
    covered = Q(place__code__startswith=codes.prefix_of(scope)) if scope else Q()
    with transaction.atomic():
        for model in (IndicatorSnapshot, DiagnosisSnapshot, GraphSnapshot):
            model.objects.filter(covered, period=period.key).delete()
        IndicatorSnapshot.objects.bulk_create(indicator_objs, batch_size=BULK)
        DiagnosisSnapshot.objects.bulk_create(diagnosis_objs, batch_size=BULK)
        GraphSnapshot.objects.bulk_create(graph_objs, batch_size=BULK)
        tracker.finish()
        now = timezone.now()
        timings = "，".join(f"{STEP_LABELS[k]} {v:.2f}" for k, v in tracker.timings.items())
        total = sum(tracker.timings.values())
        message = _("%(n)s 个社区、%(places)s 个汇总区划，用时 %(s)s 秒（%(steps)s）") % {
            "n": len(communities),
            "places": place_rows["community_code"].n_unique() if place_rows.height else 0,
            "s": f"{total:.2f}",
            "steps": timings,
        }
        Computation.objects.filter(pk=computation.pk).update(
            status=ComputationStatus.DONE,
            progress_done=len(STEPS),
            progress_total=len(STEPS),
            communities=len(communities),
            message=message[:MESSAGE_MAX],
            finished_at=now,
            updated_at=now,
        )


# --- recomputing after an import ---------------------------------------------------------------------------------


def recompute_scopes() -> list[str]:
    """The scopes a full recompute runs, in order: every community first (settings of the root), then each place
    with settings of its own, broader before narrower — so each place's stored results end up computed with the
    settings in force for it."""
    places = set(MeasureSettings.objects.values_list("place_id", flat=True).distinct())
    return ["", *sorted(places, key=lambda code: (codes.LEVELS.index(codes.level_of(code)), code))]


def computed_periods() -> list[str]:
    """The periods that have results (a done computation)."""
    found = Computation.objects.filter(status=ComputationStatus.DONE).values_list("period", flat=True).distinct()
    return sorted(set(found))


def computations_after_import(*, periods: Iterable[str], background: bool = True) -> list[Computation]:
    """Queue the recomputation of these periods over every scope (``recompute_scopes``) after an import changed data,
    and run them in one background thread, in order. Periods already queued or running are not queued twice."""
    queued: list[Computation] = []
    scopes = recompute_scopes()
    places = {p.code: p for p in Place.objects.filter(code__in=[s for s in scopes if s])}
    for period in sorted(set(periods)):
        for scope in scopes:
            if scope and scope not in places:
                continue
            queued.append(
                computation_request(
                    period=period, scope=places.get(scope), actor=None, trigger="import", background=False
                )
            )
    fresh = [c for c in queued if c.status == ComputationStatus.QUEUED]
    if background and fresh:
        from . import jobs

        jobs.run_in_background(fresh)
    return queued
