"""治理成效 API: the dashboard of a place and a community's co-participation network, read from stored snapshots (the
same selectors as the pages; nothing is recomputed). Staff see the places of their own subtree; any other place is
not found (404); a user without a staff role gets 403."""

import datetime
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from gongzhi.core.api import ApiRequest, errors
from gongzhi.core.errors import DomainError, PermissionDenied

from .. import catalogue
from ..engine.periods import PeriodError
from . import selectors

router = Router(tags=["measure-dashboard"])

PERIOD_PATTERN = r"^\d{4}(Q[1-4])?$"

# --- schemas (names unique across the API: tests/api/test_schema_names.py) -----------------------------------------


class DashPlaceOut(Schema):
    code: str
    name: str
    level: str


class DashPeriodOut(Schema):
    key: str = Field(..., description="2025（年度）或 2025Q1（季度）")
    label: str
    quarterly: bool


class DashComputationOut(Schema):
    id: str
    computed_at: datetime.datetime | None
    trigger: str
    weighting: str = Field(..., description="equal、entropy 或 expert")
    threshold: float = Field(..., description="短板阈值（0–100）")
    graph_limit: int = Field(..., description="建网活动人数上限")
    goalposts: dict[str, list[float]] = Field(..., description="计分指标的目标值 [lo, hi]（本次计算所用）")
    expert_weights: dict[str, float]


class DashDimensionOut(Schema):
    row: str = Field(..., description="DIM_I、DIM_II、DIM_III 或 COMPOSITE")
    label: str
    score: float | None = Field(..., description="0–100；null 表示暂无数据")
    below_threshold: bool
    dilemma: bool = Field(..., description="是否为主要短板")


class DashIndicatorOut(Schema):
    id: str
    name: str
    formula: str
    unit: str = Field(..., description="share、per_1000、hours、entropy、ratio、index、days、count、likert")
    dimension: str | None
    scored: bool
    value: float | None
    value_text: str = Field(..., description="按单位格式化的原始值（null 为“暂无数据”）")
    score: float | None
    numerator: float | None
    denominator: float | None
    goalposts: list[float] | None
    weak: bool = Field(..., description="诊断认为拉低了所在维度")


class DashStrategyOut(Schema):
    dimension: str
    dilemma: str
    strategy: str
    actions: list[str]
    weak: list[str] = Field(..., description="拉低该维度的指标，最差的在前")


class DashDiagnosisOut(Schema):
    dilemmas: list[str] = Field(..., description="主要短板的维度（I、II、III）；空表示无明显短板")
    text: str
    strategies: list[DashStrategyOut]


class DashTrendOut(Schema):
    periods: list[str]
    series: dict[str, list[float | None]] = Field(..., description="DIM_I、DIM_II、DIM_III、COMPOSITE 各时期得分")


class DashRankOut(Schema):
    code: str
    name: str
    level: str
    rank: int | None
    scores: dict[str, float | None]
    dilemmas: list[str]
    has_data: bool


class DashRankingOut(Schema):
    mode: str = Field(..., description="children（下级区划）或 communities（全部社区）")
    total: int
    with_data: int
    truncated: bool
    rows: list[DashRankOut]


class DashboardOut(Schema):
    place: DashPlaceOut
    crumbs: list[DashPlaceOut] = Field(..., description="调用者可见的上级区划，自上而下")
    period: str | None
    periods: list[DashPeriodOut] = Field(..., description="有结果的时期，新的在前")
    has_data: bool
    computation: DashComputationOut | None
    dimensions: list[DashDimensionOut]
    diagnosis: DashDiagnosisOut | None
    indicators: list[DashIndicatorOut]
    trend: dict[str, DashTrendOut] = Field(..., description="year：年度；quarter：季度")
    ranking: DashRankingOut | None


class DashNodeOut(Schema):
    group: str = Field(..., description="local（户籍居民）或 new_citizen（新市民）")
    component: int | None = Field(..., description="所在连通片的名次（1 为最大）")


class DashNetworkOut(Schema):
    place: DashPlaceOut
    period: str | None
    periods: list[DashPeriodOut]
    nodes_total: int
    edges_total: int
    truncated: bool = Field(..., description="网络较大时只保存可绘制的一部分")
    nodes: list[DashNodeOut]
    edges: list[list[int]] = Field(..., description="[i, j]：nodes 中的下标")
    measures: list[DashIndicatorOut]


class DashboardFilters(Schema):
    period: str | None = Field(None, pattern=PERIOD_PATTERN, description="时期；不填为最新一期")
    compare: str = Field("children", pattern=r"^(children|communities)$", description="比较范围")


class DashNetworkFilters(Schema):
    period: str | None = Field(None, pattern=PERIOD_PATTERN, description="时期；不填为最新一期")


# --- helpers -------------------------------------------------------------------------------------------------------


def _user(request: ApiRequest) -> Any:
    user = request.auth
    if not selectors.staff_may_use(user):
        raise PermissionDenied(_("只有工作人员可以查看治理成效"))
    return user


def _period(raw: str | None) -> str | None:
    try:
        return selectors.parse_period(raw)
    except PeriodError as exc:
        message = _("时期格式不正确：应为 2025（年度）或 2025Q1（季度）")
        raise DomainError(message, fields={"period": [message]}) from exc


def _place(p: Any) -> dict[str, Any]:
    return {"code": p.code, "name": p.name, "level": p.level}


def _indicator(i: selectors.IndicatorView) -> dict[str, Any]:
    return {
        "id": i.id,
        "name": str(i.info.name),
        "formula": str(i.info.formula),
        "unit": i.info.unit,
        "dimension": i.info.dimension,
        "scored": i.info.scored,
        "value": i.value,
        "value_text": i.value_text,
        "score": i.score,
        "numerator": i.numerator,
        "denominator": i.denominator,
        "goalposts": list(i.goalposts) if i.goalposts else None,
        "weak": i.weak,
    }


def _periods(choices: list[selectors.PeriodChoice]) -> list[dict[str, Any]]:
    return [{"key": p.key, "label": p.label, "quarterly": p.quarterly} for p in choices]


# --- endpoints -----------------------------------------------------------------------------------------------------


@router.get(
    "/measure/dashboards/{code}",
    response={200: DashboardOut, **errors(400, 401, 403, 404, 422)},
    summary="治理成效：一个区划一个时期的维度得分、诊断、指标、趋势和比较",
)
def dashboard_get(request: ApiRequest, code: str, filters: Query[DashboardFilters]) -> Any:
    user = _user(request)
    place = selectors.place_for_dashboard(user=user, code=code)
    board = selectors.dashboard(user=user, place=place, period=_period(filters.period), compare=filters.compare)
    comp = board.computation
    diagnosis = None
    if board.diagnosis is not None:
        diagnosis = {
            "dilemmas": [d.dim.id for d in board.diagnosis.dilemmas],
            "text": board.diagnosis.text,
            "strategies": [
                {
                    "dimension": d.dim.id,
                    "dilemma": str(d.dim.dilemma),
                    "strategy": str(d.dim.strategy),
                    "actions": [str(a.text) for a in d.dim.actions],
                    "weak": [w.id for w in d.weak],
                }
                for d in board.diagnosis.dilemmas
            ],
        }
    ranking = None
    if board.ranking is not None:
        ranking = {
            "mode": board.ranking.mode,
            "total": board.ranking.total,
            "with_data": board.ranking.with_data,
            "truncated": board.ranking.truncated,
            "rows": [
                {
                    "code": r.code,
                    "name": r.name,
                    "level": r.level,
                    "rank": r.rank,
                    "scores": r.scores,
                    "dilemmas": catalogue.parse_dilemmas(r.dilemmas),
                    "has_data": r.has_data,
                }
                for r in board.ranking.rows
            ],
        }
    return {
        "place": _place(place),
        "crumbs": [{"code": c.code, "name": c.name, "level": c.level} for c in board.crumbs],
        "period": board.period,
        "periods": _periods(board.periods),
        "has_data": board.has_data,
        "computation": None
        if comp is None
        else {
            "id": comp.id,
            "computed_at": comp.finished_at,
            "trigger": comp.trigger,
            "weighting": comp.weighting,
            "threshold": comp.threshold,
            "graph_limit": comp.graph_limit,
            "goalposts": {k: [lo, hi] for k, (lo, hi) in comp.goalposts.items()},
            "expert_weights": comp.expert_weights,
        },
        "dimensions": [
            {"row": d.row, "label": d.label, "score": d.score, "below_threshold": d.below, "dilemma": d.dilemma}
            for d in board.dimensions
        ],
        "diagnosis": diagnosis,
        "indicators": [_indicator(i) for i in board.indicators],
        "trend": {
            freq: {
                "periods": t.get("periods", []),
                "series": {row: t.get(row, []) for row in catalogue.DIMENSION_ROWS},
            }
            for freq, t in board.trend.items()
        },
        "ranking": ranking,
    }


@router.get(
    "/measure/networks/{code}",
    response={200: DashNetworkOut, **errors(400, 401, 403, 404, 422)},
    summary="社区的共同参与网络（匿名节点：户籍居民/新市民）及其指标",
)
def network_get(request: ApiRequest, code: str, filters: Query[DashNetworkFilters]) -> Any:
    user = _user(request)
    place = selectors.place_for_dashboard(user=user, code=code)
    net = selectors.network(user=user, place=place, period=_period(filters.period))
    graph = net.graph or {}
    nodes = [
        {"group": str(n[0]), "component": n[1] if len(n) > 1 and isinstance(n[1], int) else None}
        for n in graph.get("nodes") or []
        if isinstance(n, (list, tuple)) and n
    ]
    edges = [[int(e[0]), int(e[1])] for e in graph.get("edges") or [] if isinstance(e, (list, tuple)) and len(e) == 2]
    return {
        "place": _place(place),
        "period": net.period,
        "periods": _periods(net.periods),
        "nodes_total": net.nodes_total,
        "edges_total": net.edges_total,
        "truncated": net.truncated,
        "nodes": nodes,
        "edges": edges,
        "measures": [_indicator(m) for m in net.measures],
    }
