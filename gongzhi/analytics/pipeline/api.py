"""析 measure API — computations and settings.

- ``GET /measure/computations?place=CODE``: the computations a place's staff see (its scope, the scopes inside it and
  those covering it), newest first, paginated;
- ``POST /measure/computations``: request one for a period over a place (201; while one is queued or running for the
  same period and place, that one is returned with 200 — a double submit queues nothing more);
- ``GET /measure/computations/{id}``: one (progress while it runs);
- ``GET /measure/settings?place=CODE``: the settings in force and the place's own versions;
- ``PUT /measure/settings``: a new version (the same settings again add none).

Viewing needs ``analytics.view_dashboard`` on the place, requesting ``analytics.run_computation``, changing settings
``analytics.change_measuresettings``; a place the caller does not cover is "not found".
"""

import datetime
import uuid
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import NotFound, PermissionDenied
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from .. import services
from ..models import Computation, ComputationStatus, MeasureSettings, Weighting
from . import selectors

router = Router(tags=["measure-pipeline"])


class ComputationOut(Schema):
    id: uuid.UUID
    period: str = Field(..., description="时期：2025（年度）或 2025Q1（季度）")
    scope_code: str = Field(..., description="范围：计算这个区划下的所有社区；为空表示全部社区")
    status: ComputationStatus
    status_label: str
    trigger: str = Field(..., description="触发方式：web、command、import、demo")
    progress_done: int
    progress_total: int
    communities: int = Field(..., description="计算的社区数")
    message: str
    requested_by: str | None = Field(None, description="申请人（称呼）")
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None

    @staticmethod
    def resolve_status_label(obj: Computation) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_requested_by(obj: Computation) -> str | None:
        return str(obj.requested_by) if obj.requested_by_id else None


class ComputationFilters(Schema):
    place: str = Field(..., pattern=CODE_PATTERN, description="区划（12 位代码）")
    period: str | None = Field(None, max_length=6, description="只看这个时期")


class ComputationIn(Schema):
    period: str = Field(..., max_length=10, description="2025 或 2025Q1")
    place_code: str = Field(..., pattern=CODE_PATTERN, description="计算这个区划下的所有社区")


class SettingsVersionOut(Schema):
    id: uuid.UUID
    place_code: str
    goalposts: dict[str, list[float]] = Field(..., description="与默认值不同的目标值：指标 → [下限, 上限]")
    weighting: Weighting
    expert_weights: dict[str, float]
    threshold: float
    graph_limit: int
    note: str
    created_by: str | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_place_code(obj: MeasureSettings) -> str:
        return obj.place_id

    @staticmethod
    def resolve_created_by(obj: MeasureSettings) -> str | None:
        return str(obj.created_by) if obj.created_by_id else None


class ConfigOut(Schema):
    goalposts: dict[str, list[float]] = Field(..., description="每个计分指标的目标值 [下限, 上限]")
    weighting: Weighting
    expert_weights: dict[str, float]
    threshold: float
    graph_limit: int


class SettingsOut(Schema):
    place_code: str
    config: ConfigOut = Field(..., description="对这个区划生效的设置（本级或最近上级的最新版本；没有时为默认值）")
    version: SettingsVersionOut | None = Field(..., description="生效的版本；为空表示使用默认值")
    versions: list[SettingsVersionOut] = Field(..., description="本区划自己的设置版本，最新在前（最多 50 个）")


class SettingsFilters(Schema):
    place: str = Field(..., pattern=CODE_PATTERN, description="区划（12 位代码）")


class SettingsIn(Schema):
    place_code: str = Field(..., pattern=CODE_PATTERN)
    goalposts: dict[str, list[float]] = Field(default_factory=dict, description="指标 → [下限, 上限]（只需写要改的）")
    weighting: Weighting = Weighting.EQUAL
    expert_weights: dict[str, float] = Field(default_factory=dict, description="专家赋权时：指标 → 权重（≥ 0）")
    threshold: float = 60
    graph_limit: int = 50
    note: str = Field("", max_length=300)


def _place(request: ApiRequest, code: str, perm: str = "analytics.view_dashboard") -> Place:
    place = place_selectors.place_for_user(user=request.auth, code=code)
    if not request.auth.has_perm("analytics.view_dashboard", place):
        raise NotFound(_("找不到该区划"))
    if perm != "analytics.view_dashboard" and not request.auth.has_perm(perm, place):
        raise PermissionDenied(_("您无权执行此操作"))
    return place


def _named_place(request: ApiRequest, code: str, perm: str) -> Place:
    try:
        return _place(request, code, perm)
    except NotFound as exc:
        raise NotFound(exc.message, fields={"place_code": [exc.message]}) from exc


@router.get(
    "/measure/computations",
    response={200: list[ComputationOut], **errors(401, 404, 422)},
    summary="指标计算记录（本区划、下级和覆盖它的范围）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def computation_list(request: ApiRequest, filters: Query[ComputationFilters]) -> Any:
    place = _place(request, filters.place)
    qs = selectors.computations_visible(place=place)
    if filters.period:
        qs = qs.filter(period=filters.period)
    return qs


@router.post(
    "/measure/computations",
    response={200: ComputationOut, 201: ComputationOut, **errors(400, 401, 403, 404, 422)},
    summary="申请计算指标（同一时期和范围正在排队或计算时返回那一个）",
)
def computation_request(request: ApiRequest, payload: ComputationIn) -> Any:
    place = _named_place(request, payload.place_code, "analytics.run_computation")
    before = selectors.live_computation(period=payload.period.strip(), scope_code=place.code)
    computation = services.computation_request(
        period=payload.period.strip(), scope=place, actor=request.auth, trigger="web"
    )
    computation = selectors.computation_with_user(computation.pk)
    return Status(200 if before is not None and before.pk == computation.pk else 201, computation)


@router.get(
    "/measure/computations/{computation_id}",
    response={200: ComputationOut, **errors(401, 404)},
    summary="一次指标计算（含进度）",
)
def computation_get(request: ApiRequest, computation_id: uuid.UUID) -> Any:
    computation = selectors.computation_get(user=request.auth, computation_id=computation_id)
    return computation


def _settings_out(place: Place) -> dict[str, Any]:
    config, version = services.measure_config_for(place=place)
    versions = list(selectors.settings_versions(place=place, limit=50))
    return {
        "place_code": place.code,
        "config": config.to_json(),
        "version": version,
        "versions": versions,
    }


@router.get(
    "/measure/settings",
    response={200: SettingsOut, **errors(401, 404, 422)},
    summary="测评设置：生效的设置和本区划的版本历史",
)
def settings_get(request: ApiRequest, filters: Query[SettingsFilters]) -> Any:
    return _settings_out(_place(request, filters.place))


@router.put(
    "/measure/settings",
    response={200: SettingsOut, **errors(400, 401, 403, 404, 422)},
    summary="修改测评设置（新增一个版本；与当前版本相同则不新增）",
)
def settings_put(request: ApiRequest, payload: SettingsIn) -> Any:
    place = _named_place(request, payload.place_code, "analytics.change_measuresettings")
    services.measure_settings_change(
        place=place,
        actor=request.auth,
        goalposts=payload.goalposts,
        weighting=payload.weighting.value if isinstance(payload.weighting, Weighting) else payload.weighting,
        expert_weights=payload.expert_weights,
        threshold=payload.threshold,
        graph_limit=payload.graph_limit,
        note=payload.note,
    )
    return _settings_out(place)
