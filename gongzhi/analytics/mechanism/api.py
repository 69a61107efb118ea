"""析 measure API: the mechanism test — the newest stored result for a place, the periods it can use, and running a new
one (``analytics.run_mechanism``). Reading needs ``analytics.view_dashboard`` on the place. A place the caller does
not cover is "not found" (404). The results are associations in observational data, not causal effects."""

import datetime
import uuid
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, ApiRequest, errors
from gongzhi.core.errors import NotFound, PermissionDenied
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import MechanismResult
from . import selectors, services
from .labels import reason_label, variable_label

router = Router(tags=["measure-mechanism"])

CAUTION = "这是观察数据中的关联，不是因果关系的证明。"


# --- schemas ------------------------------------------------------------------------------------------------------


class MechanismPlaceQuery(Schema):
    place: str = Field(..., pattern=CODE_PATTERN, description="区划（12 位代码）：检验它下辖的社区")


class MechanismPeriodsOut(Schema):
    place_code: str
    periods: list[str] = Field(..., description="下辖社区有测评结果（E1）的时期，由早到晚")


class MechanismRunIn(Schema):
    place: str = Field(..., pattern=CODE_PATTERN, description="区划（12 位代码）")
    periods: list[str] = Field(..., min_length=1, max_length=40, description='时期，如 ["2024", "2025"]；至少两个')
    outcome: Literal["G1", "S_SATISFACTION"] = Field("G1", description="结果变量：G1 或治理满意度")
    resamples: int = Field(
        services.DEFAULT_RESAMPLES, ge=services.MIN_RESAMPLES, le=services.MAX_RESAMPLES, description="自助抽样次数"
    )
    seed: int = Field(services.DEFAULT_SEED, ge=0, le=services.MAX_SEED, description="随机种子")


class MechanismPathOut(Schema):
    coef: float | None
    se: float | None = Field(..., description="按社区聚类的标准误")
    p: float | None


class MechanismIndirectOut(Schema):
    coef: float | None = Field(..., description="a·b")
    ci_low: float | None = Field(..., description="95% 百分位自助区间下限（按社区抽样）")
    ci_high: float | None
    boot_se: float | None
    resamples: int
    resamples_valid: int = Field(..., description="可估计的抽样次数")


class MechanismMediationOut(Schema):
    estimable: bool
    reason: str | None = Field(None, description="无法估计时的原因代码")
    message: str | None = Field(None, description="无法估计时的说明")
    n_rows: int
    n_communities: int
    n_periods: int
    dropped_rows: int = Field(..., description="因 X、M 或 Y 缺失而未计入的记录数")
    a: MechanismPathOut | None = Field(None, description="路径 a：M ~ X")
    b: MechanismPathOut | None = Field(None, description="路径 b：Y ~ M + X 中 M 的系数")
    direct: MechanismPathOut | None = Field(None, description="直接效应 c′：Y ~ M + X 中 X 的系数")
    total: MechanismPathOut | None = Field(None, description="总效应 c：Y ~ X")
    indirect: MechanismIndirectOut | None = None


class MechanismFixedEffectsOut(Schema):
    estimable: bool
    reason: str | None = None
    message: str | None = None
    n_rows: int
    n_communities: int
    n_periods: int
    dropped_rows: int
    coef: float | None = Field(None, description="Y 对 M 的系数（社区与时期双向固定效应）")
    se: float | None = Field(None, description="按社区聚类的标准误")
    p: float | None = None
    r2: float | None = None
    df_resid: int | None = None


class MechanismMediatorOut(Schema):
    mediator: str = Field(..., description="DIM_I、DIM_II、DIM_III 或 COMPOSITE")
    label: str
    mediation: MechanismMediationOut
    fixed_effects: MechanismFixedEffectsOut


class MechanismPanelOut(Schema):
    rows: int
    communities: int
    periods: list[str]


class MechanismResultOut(Schema):
    id: uuid.UUID
    place_code: str
    created_at: datetime.datetime
    periods: list[str]
    x: str
    outcome: str
    resamples: int
    seed: int
    alpha: float
    panel: MechanismPanelOut
    mediators: list[MechanismMediatorOut]
    config: dict[str, Any] = Field(..., description="运行所用的全部设置与数据指纹")
    caution: str


# --- helpers ------------------------------------------------------------------------------------------------------


def _place(request: ApiRequest, code: str, perm: str) -> Place:
    place = place_selectors.place_for_user(user=request.auth, code=code)
    if not request.auth.has_perm(perm, place):
        raise PermissionDenied(_("您无权执行此操作"))
    return place


def _explained(part: dict[str, Any]) -> dict[str, Any]:
    if part.get("estimable"):
        return part
    return {**part, "message": reason_label(part.get("reason"))}


def result_out(stored: MechanismResult) -> dict[str, Any]:
    config, result = stored.config, stored.result
    return {
        "id": stored.pk,
        "place_code": stored.place_id,
        "created_at": stored.created_at,
        "periods": config["periods"],
        "x": config["x"],
        "outcome": config["outcome"],
        "resamples": config["resamples"],
        "seed": config["seed"],
        "alpha": config["alpha"],
        "panel": result["panel"],
        "mediators": [
            {
                "mediator": item["mediator"],
                "label": variable_label(item["mediator"]),
                "mediation": _explained(item["mediation"]),
                "fixed_effects": _explained(item["fixed_effects"]),
            }
            for item in result["mediators"]
        ],
        "config": config,
        "caution": _(CAUTION),
    }


# --- endpoints ----------------------------------------------------------------------------------------------------


@router.get(
    "/measure/mechanism",
    response={200: MechanismResultOut, **errors(401, 403, 404, 422)},
    summary="机制检验：一个区划最新的结果",
    description="从已存储的结果读取，不重新计算。没有结果时为 404。",
)
def mechanism_newest(request: ApiRequest, filters: Query[MechanismPlaceQuery]) -> Any:
    place = _place(request, filters.place, "analytics.view_dashboard")
    stored = selectors.mechanism_newest(place=place)
    if stored is None:
        raise NotFound(_("这个区划还没有机制检验结果"))
    return result_out(stored)


@router.get(
    "/measure/mechanism/periods",
    response={200: MechanismPeriodsOut, **errors(401, 403, 404, 422)},
    summary="机制检验可用的时期",
)
def mechanism_periods(request: ApiRequest, filters: Query[MechanismPlaceQuery]) -> Any:
    place = _place(request, filters.place, "analytics.view_dashboard")
    return {"place_code": place.code, "periods": selectors.snapshot_periods(place=place)}


@router.post(
    "/measure/mechanism/runs",
    response={201: MechanismResultOut, 200: MechanismResultOut, **errors(400, 401, 403, 404, 422)},
    summary="运行机制检验",
    description="在所选时期的已存储测评结果上运行（几秒内完成），保存并返回结果（201）。相同设置在相同数据上再次运行"
    "返回已有的结果（200），不重复保存。至少两个时期、五个有数据的社区。",
)
def mechanism_run(request: ApiRequest, payload: MechanismRunIn) -> Any:
    place = _place(request, payload.place, "analytics.run_mechanism")
    before = selectors.mechanism_newest(place=place)
    stored = services.mechanism_run(
        place=place,
        periods=payload.periods,
        outcome=payload.outcome,
        resamples=payload.resamples,
        seed=payload.seed,
        actor=request.auth,
    )
    status = 200 if before is not None and before.pk == stored.pk else 201
    return Status(status, result_out(stored))
