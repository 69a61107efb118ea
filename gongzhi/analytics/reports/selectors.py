"""The report of a place and period, read from the stored snapshots (never from the engine or the raw tables).

``report_get`` reads, in a fixed number of queries whatever the size of the place:

1. the place (with its parent);
2. the place's own rows: every indicator of the period, and the dimension scores of every stored period (the trend);
3. the computation that produced the period's rows (with the settings version it used);
4. the diagnoses of the place and of the places beneath it that the page ranks;
5. the dimension scores, composite and population of those places.

The places ranked: for a street, its communities; for a district, its streets and (a second table) all its
communities; above a district, its children only (a province has tens of thousands of communities).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound, PermissionDenied
from gongzhi.places import codes
from gongzhi.places.models import Place

from .. import catalogue
from ..engine import spec
from ..engine.config import DEFAULT_GRAPH_LIMIT, DEFAULT_THRESHOLD, MeasureConfig, default_goalposts
from ..engine.periods import Period, PeriodError
from ..models import Computation, DiagnosisSnapshot, IndicatorSnapshot, Weighting

VIEW_PERM = "analytics.view_dashboard"
DIM_ROWS: tuple[str, ...] = (*spec.DIMENSION_ROWS.values(), spec.COMPOSITE)
RANK_ROWS: tuple[str, ...] = (*DIM_ROWS, "POP")


class ReportMissing(NotFound):
    """The place exists and the user may see it, but nothing is stored for the period. ``periods`` are the stored
    periods of the place (newest first), for the page to offer."""

    code = "report_missing"

    def __init__(self, message: str, *, place: Place, period: str, periods: list[str]):
        super().__init__(message)
        self.place = place
        self.period = period
        self.periods = periods


@dataclass(frozen=True)
class IndicatorLine:
    id: str
    name: str
    formula: str
    unit_label: str
    dimension: str | None
    scored: bool
    group: str
    value: float | None
    score: float | None
    numerator: float | None
    denominator: float | None
    value_text: str
    score_text: str
    goalposts: tuple[float, float] | None
    goalposts_changed: bool
    weak: bool  # named by the diagnosis as pulling its dimension down


@dataclass(frozen=True)
class DimensionLine:
    id: str  # "I", "II", "III" or "COMPOSITE"
    label: str
    score: float | None
    score_text: str
    below_threshold: bool


@dataclass(frozen=True)
class DilemmaLine:
    dimension: str
    label: str
    dilemma: str
    strategy: str
    summary: str
    actions: list[dict[str, str]]  # {"text", "url_name", "link_label"}
    weak: list[IndicatorLine]
    score: float | None


@dataclass(frozen=True)
class RankedPlace:
    rank: int
    code: str
    name: str
    level: str
    population: float | None
    population_text: str
    dims: dict[str, float | None]  # "I", "II", "III" → score
    composite: float | None
    dilemma_text: str
    dilemmas: list[str]


@dataclass(frozen=True)
class SettingLine:
    label: str
    value: str
    changed: bool


@dataclass
class Report:
    place: Place
    period: str
    computation: Computation
    computed_at: datetime.datetime | None
    config: MeasureConfig
    settings: list[SettingLine]
    goalpost_changes: list[str]
    dimensions: list[DimensionLine]
    composite: DimensionLine
    dilemmas: list[DilemmaLine]
    weakest: list[IndicatorLine]  # when there is no dominant dilemma: the lowest scored indicators, for a hint
    indicators: list[IndicatorLine]
    trend: list[dict[str, Any]]  # [{"period", "I", "II", "III", "COMPOSITE"}] oldest first, same granularity
    periods: list[str]  # every stored period of the place, newest first
    children: list[RankedPlace]
    communities: list[RankedPlace]  # a district's communities (empty otherwise)
    children_label: str

    @property
    def has_dilemma(self) -> bool:
        return bool(self.dilemmas)

    @property
    def title(self) -> str:
        return _("%(place)s %(period)s 社会资本测评报告") % {
            "place": self.place.name,
            "period": period_label(self.period),
        }

    def indicators_of(self, dimension: str | None) -> list[IndicatorLine]:
        return [i for i in self.indicators if i.dimension == dimension]


def period_label(key: str) -> str:
    """ "2025" → "2025 年", "2025Q1" → "2025 年第 1 季度"."""
    try:
        p = Period.parse(key)
    except PeriodError:
        return key
    if p.quarter is None:
        return _("%(year)s 年") % {"year": p.year}
    return _("%(year)s 年第 %(q)s 季度") % {"year": p.year, "q": p.quarter}


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _sort_key(indicator_id: str) -> tuple[int, str]:
    order = catalogue.INDICATOR_ORDER
    return (order.index(indicator_id), "") if indicator_id in order else (len(order), indicator_id)


def place_for_report(*, user: Any, code: str) -> Place:
    """The place of a report; unknown or not covered: ``NotFound``; covered for other things but not the dashboard:
    ``PermissionDenied``."""
    place = (
        Place.objects.select_related("parent").filter(code=code).first() if codes.CODE_RE.match(code or "") else None
    )
    if place is None or not user.has_perm("places.view_place", place):
        raise NotFound(_("找不到该区划"))
    if not user.has_perm(VIEW_PERM, place):
        raise PermissionDenied(_("您没有查看该区划测评结果的权限"))
    return place


def periods_stored(*, place: Place) -> list[str]:
    """The periods with a composite score stored for the place, newest first (one query)."""
    keys = (
        IndicatorSnapshot.objects.filter(place=place, indicator=spec.COMPOSITE)
        .order_by()
        .values_list("period", flat=True)
        .distinct()
    )
    return sorted(keys, key=_period_order, reverse=True)


def _period_order(key: str) -> tuple[int, int]:
    try:
        p = Period.parse(key)
    except PeriodError:
        return (0, 0)
    return (p.year, p.quarter or 0)


def _settings_lines(config: MeasureConfig, computation: Computation) -> tuple[list[SettingLine], list[str]]:
    weighting = Weighting(config.weighting).label if config.weighting in Weighting.values else config.weighting
    lines = [
        SettingLine(_("赋权方法"), str(weighting), config.weighting != Weighting.EQUAL),
        SettingLine(_("短板阈值"), f"{config.threshold:g}", config.threshold != DEFAULT_THRESHOLD),
        SettingLine(_("建网活动人数上限"), f"{config.graph_limit}", config.graph_limit != DEFAULT_GRAPH_LIMIT),
    ]
    if config.weighting == Weighting.EXPERT and config.expert_weights:
        weights = "，".join(
            f"{catalogue.indicator(k).name}（{k}）{v:g}"
            for k, v in sorted(config.expert_weights.items(), key=lambda kv: _sort_key(kv[0]))
        )
        lines.append(SettingLine(_("专家权重"), weights, True))
    defaults = default_goalposts()
    changes = []
    for key in sorted(config.goalposts, key=_sort_key):
        lo, hi = config.goalposts[key]
        if defaults.get(key) != (lo, hi):
            dlo, dhi = defaults.get(key, (None, None))
            changes.append(
                _("%(name)s（%(id)s）：%(lo)s → %(hi)s（默认 %(dlo)s → %(dhi)s）")
                % {
                    "name": catalogue.indicator(key).name,
                    "id": key,
                    "lo": f"{lo:g}",
                    "hi": f"{hi:g}",
                    "dlo": f"{dlo:g}" if dlo is not None else "—",
                    "dhi": f"{dhi:g}" if dhi is not None else "—",
                }
            )
    lines.append(
        SettingLine(
            _("目标值"), _("已修改 %(n)s 项") % {"n": len(changes)} if changes else _("方法默认值"), bool(changes)
        )
    )
    version = computation.settings_version
    if version is not None:
        source = version.place.name if version.place_id else ""
        note = f"{source}{'：' if source and version.note else ''}{version.note}"
        if note:
            lines.append(SettingLine(_("设置来源"), note, False))
    return lines, changes


def _line(row: IndicatorSnapshot, config: MeasureConfig, weak_ids: set[str]) -> IndicatorLine:
    info = catalogue.indicator(row.indicator)
    posts = config.goalposts.get(row.indicator)
    if posts is None and row.indicator in spec.BY_ID and spec.BY_ID[row.indicator].scored:
        s = spec.BY_ID[row.indicator]
        posts = (float(s.lo), float(s.hi))  # type: ignore[arg-type]
    default = default_goalposts().get(row.indicator)
    value, score = _finite(row.value), _finite(row.score)
    return IndicatorLine(
        id=row.indicator,
        name=str(info.name),
        formula=str(info.formula),
        unit_label=info.unit_label,
        dimension=info.dimension,
        scored=info.scored,
        group=info.group,
        value=value,
        score=score,
        numerator=_finite(row.numerator),
        denominator=_finite(row.denominator),
        value_text=info.format(value),
        score_text=catalogue.format_score(score) if info.scored else "—",
        goalposts=posts if info.scored else None,
        goalposts_changed=bool(info.scored and default is not None and posts is not None and tuple(posts) != default),
        weak=row.indicator in weak_ids,
    )


def _dimension_line(dim: str, score: float | None, threshold: float) -> DimensionLine:
    label = str(catalogue.indicator(spec.COMPOSITE).name) if dim == spec.COMPOSITE else catalogue.dimension(dim).label
    return DimensionLine(
        id=dim,
        label=label,
        score=score,
        score_text=catalogue.format_score(score),
        below_threshold=score is not None and score < threshold and dim != spec.COMPOSITE,
    )


def _ranked(
    rows: list[IndicatorSnapshot], diagnoses: dict[str, DiagnosisSnapshot], places: dict[str, Place]
) -> list[RankedPlace]:
    by_place: dict[str, dict[str, float | None]] = {}
    for row in rows:
        by_place.setdefault(row.place_id, {})[row.indicator] = (
            _finite(row.value) if row.indicator == "POP" else _finite(row.score)
        )
    items = []
    for code, values in by_place.items():
        place = places[code]
        diagnosis = diagnoses.get(code)
        stored = diagnosis.dilemmas if diagnosis is not None else ""
        items.append(
            (
                values.get(spec.COMPOSITE),
                code,
                place,
                values,
                stored,
            )
        )
    # Highest composite first; places without a composite last; ties by code (stable, deterministic).
    items.sort(key=lambda t: (t[0] is None, -(t[0] or 0.0), t[1]))
    return [
        RankedPlace(
            rank=i + 1,
            code=code,
            name=place.name,
            level=place.level,
            population=values.get("POP"),
            population_text=catalogue.format_number(values.get("POP"), "count")
            if values.get("POP") is not None
            else "—",
            dims={d: values.get(spec.DIMENSION_ROWS[d]) for d in spec.DIMENSIONS},
            composite=composite,
            dilemma_text=catalogue.dilemma_text(stored) if code in diagnoses else str(catalogue.NO_DATA),
            dilemmas=catalogue.parse_dilemmas(stored),
        )
        for i, (composite, code, place, values, stored) in enumerate(items)
    ]


def report_get(*, user: Any, code: str, period: str) -> Report:
    """The report of the place ``code`` for ``period``. Raises ``NotFound`` (unknown place, or one the user does not
    cover), ``PermissionDenied`` or ``ReportMissing`` (no results stored for the period)."""
    place = place_for_report(user=user, code=code)
    try:
        key = Period.parse(period).key
    except PeriodError:
        key = ""

    own = list(
        IndicatorSnapshot.objects.filter(place=place)
        .filter(Q(period=key) | Q(indicator__in=DIM_ROWS))
        .order_by("period", "indicator")
    )
    periods = sorted({r.period for r in own if r.indicator == spec.COMPOSITE}, key=_period_order, reverse=True)
    current = [r for r in own if r.period == key] if key else []
    if not current:
        raise ReportMissing(
            _("%(place)s 还没有 %(period)s 的测评结果") % {"place": place.name, "period": period_label(period)},
            place=place,
            period=period,
            periods=periods,
        )

    # The computation of the period's composite row (all rows of a place and period come from one computation).
    anchor = next((r for r in current if r.indicator == spec.COMPOSITE), current[0])
    computation = Computation.objects.select_related("settings_version__place").get(pk=anchor.computation_id)
    try:
        config = MeasureConfig.from_json(computation.config or {})
    except (ValueError, TypeError, KeyError):
        config = MeasureConfig()
    settings_lines, goalpost_changes = _settings_lines(config, computation)

    # Diagnoses (and dimension scores) of the place and of the places ranked beneath it.
    level = place.level
    if level in ("street", "district"):
        beneath = Q(place__code__startswith=place.prefix) & ~Q(place_id=place.code)
    elif level == "community":
        beneath = Q(pk__in=[])
    else:
        beneath = Q(place__parent_id=place.code)
    diagnoses = {
        d.place_id: d
        for d in DiagnosisSnapshot.objects.filter(period=key).filter(Q(place_id=place.code) | beneath).order_by()
    }
    ranked_rows: list[IndicatorSnapshot] = []
    if level != "community":
        ranked_rows = list(
            IndicatorSnapshot.objects.filter(period=key, indicator__in=RANK_ROWS)
            .filter(beneath)
            .select_related("place")
            .only("place_id", "indicator", "value", "score", "place__name", "place__level", "place__parent_id")
            .order_by()
        )
    places = {r.place_id: r.place for r in ranked_rows}
    children_rows = [r for r in ranked_rows if r.place.parent_id == place.code]
    community_rows = [r for r in ranked_rows if r.place.level == "community"] if level == "district" else []

    own_diagnosis = diagnoses.get(place.code)
    weak_map: dict[str, list[str]] = (own_diagnosis.weak or {}) if own_diagnosis is not None else {}
    stored_dilemmas = own_diagnosis.dilemmas if own_diagnosis is not None else ""
    weak_ids = {i for ids in weak_map.values() for i in (ids or [])}

    lines = {r.indicator: _line(r, config, weak_ids) for r in current if r.indicator not in DIM_ROWS}
    indicators = [lines[k] for k in sorted(lines, key=_sort_key)]
    scores = {r.indicator: _finite(r.score) for r in current if r.indicator in DIM_ROWS}
    dimensions = [_dimension_line(d, scores.get(spec.DIMENSION_ROWS[d]), config.threshold) for d in spec.DIMENSIONS]
    composite = _dimension_line(spec.COMPOSITE, scores.get(spec.COMPOSITE), config.threshold)

    dilemmas = []
    for d in catalogue.parse_dilemmas(stored_dilemmas):
        info = catalogue.dimension(d)
        weak = [lines[i] for i in (weak_map.get(d) or []) if i in lines]
        dilemmas.append(
            DilemmaLine(
                dimension=d,
                label=info.label,
                dilemma=str(info.dilemma),
                strategy=str(info.strategy),
                summary=str(info.summary),
                actions=[
                    {"text": str(a.text), "url_name": a.url_name, "link_label": str(a.link_label)} for a in info.actions
                ],
                weak=weak,
                score=scores.get(spec.DIMENSION_ROWS[d]),
            )
        )
    scored = [i for i in indicators if i.scored and i.score is not None]
    weakest = sorted(scored, key=lambda i: (i.score, _sort_key(i.id)))[:3] if not dilemmas else []

    # The trend: the dimension scores over the stored periods of the same kind (years, or quarters).
    quarterly = "Q" in key
    trend_points: dict[str, dict[str, Any]] = {}
    for r in own:
        if r.indicator in DIM_ROWS and ("Q" in r.period) == quarterly:
            point = trend_points.setdefault(r.period, {"period": r.period, "label": period_label(r.period)})
            dim = next((d for d, row in spec.DIMENSION_ROWS.items() if row == r.indicator), spec.COMPOSITE)
            point[dim] = _finite(r.score)
    trend = [trend_points[k] for k in sorted(trend_points, key=_period_order)]

    children_label = {
        "street": _("社区排名"),
        "district": _("街道排名"),
        "city": _("区县排名"),
        "province": _("市排名"),
    }.get(level, "")
    finished = computation.finished_at or computation.created_at
    return Report(
        place=place,
        period=key,
        computation=computation,
        computed_at=timezone.localtime(finished) if finished else None,
        config=config,
        settings=settings_lines,
        goalpost_changes=goalpost_changes,
        dimensions=dimensions,
        composite=composite,
        dilemmas=dilemmas,
        weakest=weakest,
        indicators=indicators,
        trend=trend,
        periods=periods,
        children=_ranked(children_rows, diagnoses, places),
        communities=_ranked(community_rows, diagnoses, places),
        children_label=str(children_label),
    )


def latest_period(*, user: Any, place: Place) -> str | None:
    """The newest period with results for the place (None when there are none)."""
    if not user.has_perm(VIEW_PERM, place):
        raise PermissionDenied(_("您没有查看该区划测评结果的权限"))
    found = periods_stored(place=place)
    return found[0] if found else None
