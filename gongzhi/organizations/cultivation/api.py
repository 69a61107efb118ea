"""育 cultivate API: the stage board and stage history, admission standards and checks, support records, supply lists,
assessment schemes (versioned), rounds, entries, assessors, scores, closing, replies and publication.

Anything the caller may not see is "not found" (404); a write the caller may not make is 403; a conflicted assessor
gets 403 with ``code="conflict_of_interest"``; an illegal move (scoring a closed round, publishing an open one) is 409.
Closing and publishing are idempotent: again, they return the round unchanged (200). The published selection is a
page without login (``/selections/<round>/``); the API, like every operation here, needs an account.
"""

import datetime
import uuid
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, NotFound, PermissionDenied
from gongzhi.people import protection
from gongzhi.people.models import User
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from .. import selectors as org_selectors
from ..models import (
    AdmissionCriterion,
    AssessmentRound,
    AssessmentScheme,
    AssessmentScore,
    Organization,
    OrganizationKind,
    OrganizationStage,
    RoundEntry,
    RoundStatus,
    SupplyItem,
    SupportKind,
    SupportRecord,
)
from . import selection, selectors, services

router = Router(tags=["cultivation"])


# --- schemas ------------------------------------------------------------------------------------------------------


class StageBoardMoveOut(Schema):
    from_stage: OrganizationStage | None = Field(..., description="原阶段；新登记时为空")
    to_stage: OrganizationStage
    count: int


class StageBoardOut(Schema):
    place_code: str
    on: datetime.date | None = Field(..., description="统计日期；为空表示现在")
    counts: dict[str, int] = Field(..., description="阶段 → 组织数")
    year: int
    moves: list[StageBoardMoveOut]


class StageBoardFilters(Schema):
    place: str = Field(..., pattern=CODE_PATTERN, description="区划（12 位代码），统计它及下级的组织")
    year: int | None = Field(None, ge=2000, le=2100, description="统计哪一年的阶段变动（默认今年）")
    on: datetime.date | None = Field(None, description="统计这一天各阶段的组织数（按阶段历程推算）")
    kind: OrganizationKind | None = None


class StageOnOut(Schema):
    organization_id: uuid.UUID
    on: datetime.date
    stage: OrganizationStage | None = Field(..., description="当天所处的阶段；尚未成立时为空")


class AdmissionCriterionOut(Schema):
    id: uuid.UUID
    place_code: str
    place_name: str
    text: str
    order: int
    active: bool

    @staticmethod
    def resolve_place_code(obj: AdmissionCriterion) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: AdmissionCriterion) -> str:
        return obj.place.name


class AdmissionCriterionIn(Schema):
    place_code: str = Field(..., pattern=CODE_PATTERN)
    text: str = Field(..., min_length=1, max_length=200)
    order: int | None = Field(None, ge=0, le=32767)


class AdmissionCriterionPatch(Schema):
    text: str | None = Field(None, min_length=1, max_length=200)
    order: int | None = Field(None, ge=0, le=32767)
    active: bool | None = None


class CriteriaFilters(Schema):
    place: str = Field(..., pattern=CODE_PATTERN, description="区划：返回它及上级区划的准入标准")


class AdmissionCheckRowOut(Schema):
    criterion: AdmissionCriterionOut
    met: bool | None = Field(..., description="核查结果；尚未核查时为空")
    evidence: str
    checked_on: datetime.date | None
    checked_by: str


class AdmissionChecklistOut(Schema):
    organization_id: uuid.UUID
    stage: OrganizationStage
    total: int
    met: int
    rows: list[AdmissionCheckRowOut]


class AdmissionCheckIn(Schema):
    met: bool
    evidence: str = Field("", max_length=300, description="符合时必填")
    checked_on: datetime.date | None = Field(None, description="核查日期，默认今天")


class SupportRecordOut(Schema):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    kind: SupportKind
    kind_label: str
    title: str
    starts_on: datetime.date
    ends_on: datetime.date | None
    amount: Decimal | None = Field(..., description="金额（元）")
    quantity: int | None = Field(..., description="公益岗位数")
    deliverables: str
    note: str

    @staticmethod
    def resolve_organization_name(obj: SupportRecord) -> str:
        return obj.organization.name

    @staticmethod
    def resolve_kind_label(obj: SupportRecord) -> str:
        return str(obj.get_kind_display())


class SupportRecordIn(Schema):
    kind: SupportKind
    title: str = Field(..., min_length=1, max_length=200)
    starts_on: datetime.date
    ends_on: datetime.date | None = None
    amount: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    quantity: int | None = Field(None, ge=1, le=100000)
    deliverables: str = Field("", max_length=5000)
    note: str = Field("", max_length=300)


class SupportFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN)
    kind: SupportKind | None = None
    year: int | None = Field(None, ge=2000, le=2100)


class SupplyItemOut(Schema):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    title: str
    description: str
    audience: str
    active: bool

    @staticmethod
    def resolve_organization_name(obj: SupplyItem) -> str:
        return obj.organization.name


class SupplyItemIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    audience: str = Field("", max_length=100)


class SupplyItemPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    audience: str | None = Field(None, max_length=100)
    active: bool | None = None


class SupplyFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN)
    q: str = Field("", max_length=40)


class AssessmentCriterionSchema(Schema):
    code: str = Field(..., description="小写字母开头的字母、数字或下划线")
    name: str
    weight: float = Field(..., description="权重，各项之和为 1")
    max: float = Field(..., description="满分")
    guide: str = Field("", description="评分说明")


class AssessmentSchemeOut(Schema):
    id: uuid.UUID
    place_code: str
    year: int
    version: int
    name: str
    criteria: list[AssessmentCriterionSchema]
    in_use: bool = Field(..., description="已被评选使用：修改将另存为新版本")

    @staticmethod
    def resolve_place_code(obj: AssessmentScheme) -> str:
        return obj.place_id

    @staticmethod
    def resolve_in_use(obj: AssessmentScheme) -> bool:
        count = getattr(obj, "round_count", None)
        return bool(count) if count is not None else obj.rounds.exists()


class AssessmentSchemeIn(Schema):
    place_code: str = Field(..., pattern=CODE_PATTERN)
    year: int = Field(..., ge=2000, le=2100)
    name: str = Field(..., min_length=1, max_length=100)
    criteria: list[dict[str, Any]] = Field(..., description="指标：code, name, weight, max, guide；权重之和为 1")


class AssessmentSchemeEditIn(Schema):
    year: int = Field(..., ge=2000, le=2100)
    name: str = Field(..., min_length=1, max_length=100)
    criteria: list[dict[str, Any]]


class AssessmentRoundOut(Schema):
    id: uuid.UUID
    name: str
    place_code: str
    place_name: str
    scheme_id: uuid.UUID
    scheme_name: str
    year: int
    quotas: dict[str, int] = Field(..., description="类别 → 名额")
    warn_last: int = Field(..., description="每类未入选者中末位警示的个数")
    status: RoundStatus
    closed_at: datetime.datetime | None
    published_at: datetime.datetime | None

    @staticmethod
    def resolve_place_code(obj: AssessmentRound) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: AssessmentRound) -> str:
        return obj.place.name

    @staticmethod
    def resolve_scheme_name(obj: AssessmentRound) -> str:
        return str(obj.scheme)

    @staticmethod
    def resolve_year(obj: AssessmentRound) -> int:
        return obj.scheme.year


class AssessmentRoundIn(Schema):
    scheme_id: uuid.UUID
    name: str = Field(..., min_length=1, max_length=100)
    quotas: dict[str, int] = Field(..., description='类别 → 名额，如 {"studio": 10, "quality_org": 50}')
    warn_last: int = Field(0, ge=0, le=1000)
    place_code: str | None = Field(None, pattern=CODE_PATTERN, description="默认为方案所属区划")


class RoundFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN)
    status: RoundStatus | None = None


class RoundEntryOut(Schema):
    id: uuid.UUID
    round_id: uuid.UUID
    organization_id: uuid.UUID
    organization_ref: str
    organization_name: str
    place_code: str
    category: str
    category_label: str
    score_count: int
    total: Decimal | None = Field(..., description="结束评分后：各评审加权总分的平均值")
    rank: int | None
    outcome: str = Field(..., description="selected / not_selected / warned；评分中为空")
    tie_note: str
    reply: str
    replied_at: datetime.datetime | None

    @staticmethod
    def resolve_organization_ref(obj: RoundEntry) -> str:
        return obj.organization.ref

    @staticmethod
    def resolve_organization_name(obj: RoundEntry) -> str:
        return obj.organization.name

    @staticmethod
    def resolve_place_code(obj: RoundEntry) -> str:
        return obj.organization.place_id

    @staticmethod
    def resolve_category_label(obj: RoundEntry) -> str:
        return selection.category_label(obj.category)

    @staticmethod
    def resolve_score_count(obj: RoundEntry) -> int:
        count = getattr(obj, "score_count", None)
        if count is None:
            count = len(obj.scores.all())
        return int(count)


class RoundEntryIn(Schema):
    organization_id: uuid.UUID
    category: str = Field(..., max_length=40)


class RoundAssessorOut(Schema):
    id: uuid.UUID
    display_name: str
    phone_masked: str
    scored: int


class RoundAssessorIn(Schema):
    phone: str = Field(..., max_length=20, description="评审账号的手机号")


class AssessmentScoreIn(Schema):
    scores: dict[str, float | str] = Field(..., description="指标代码 → 得分（0 到满分）")
    comment: str = Field("", max_length=300)


class AssessmentScoreOut(Schema):
    id: uuid.UUID
    entry_id: uuid.UUID
    scores: dict[str, float]
    total: Decimal = Field(..., description="加权总分（百分制）")
    comment: str

    @staticmethod
    def resolve_scores(obj: AssessmentScore) -> dict[str, float]:
        return {k: float(v) for k, v in obj.scores.items()}


class WarningReplyIn(Schema):
    reply: str = Field(..., min_length=1, max_length=2000)


class AssessmentTaskOut(Schema):
    entry_id: uuid.UUID
    organization_name: str
    category: str
    conflicted: bool = Field(..., description="须回避：我是该组织的负责人或成员")
    my_total: Decimal | None


class RoundTasksOut(Schema):
    round_id: uuid.UUID
    round_name: str
    status: RoundStatus
    tasks: list[AssessmentTaskOut]


# --- helpers ------------------------------------------------------------------------------------------------------


def _require(request: ApiRequest, perm: str, obj: Any, field: str | None = None) -> None:
    if not request.auth.has_perm(perm, obj):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={field: [message]} if field else None)


def _place_named(code: str, field: str) -> Place:
    place = place_selectors.place_get(code=code) if codes.CODE_RE.match(code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={field: [_("找不到该区划代码")]})
    return place


def _place_filter(request: ApiRequest, code: str | None) -> Place | None:
    return place_selectors.place_for_user(user=request.auth, code=code) if code else None


def _organization(request: ApiRequest, organization_id: uuid.UUID) -> Organization:
    organization = org_selectors.organization_get(user=request.auth, organization_id=organization_id)
    if not request.auth.has_perm("organizations.view_cultivation", organization):
        raise NotFound(_("找不到该组织"))
    return organization


def _round(request: ApiRequest, round_id: uuid.UUID, *, manage: bool = True) -> AssessmentRound:
    rnd = selectors.round_get(user=request.auth, round_id=round_id)
    if manage and not request.auth.has_perm("organizations.manage_assessment", rnd):
        # An assessor sees the round but may not manage it.
        raise PermissionDenied(_("您无权执行此操作"))
    return rnd


def _entry_of(rnd: AssessmentRound, entry_id: uuid.UUID) -> RoundEntry:
    entry = RoundEntry.objects.select_related("organization", "round").filter(round=rnd, pk=entry_id).first()
    if entry is None:
        raise NotFound(_("找不到该参评记录"))
    return entry


# --- stage board and stage history --------------------------------------------------------------------------------


@router.get(
    "/cultivation/stage-board",
    response={200: StageBoardOut, **errors(401, 403, 404, 422)},
    summary="阶段看板：各阶段组织数与年度变动",
)
def stage_board(request: ApiRequest, filters: Query[StageBoardFilters]) -> Any:
    from django.utils import timezone

    place = place_selectors.place_for_user(user=request.auth, code=filters.place)
    year = filters.year or timezone.localdate().year
    counts = selectors.stage_counts(user=request.auth, place=place, on=filters.on, kind=filters.kind or "")
    moves = selectors.stage_moves(user=request.auth, place=place, year=year, kind=filters.kind or "")
    return {
        "place_code": place.code,
        "on": filters.on,
        "counts": counts,
        "year": year,
        "moves": [{"from_stage": m.from_stage or None, "to_stage": m.to_stage, "count": m.n} for m in moves],
    }


@router.get(
    "/organizations/{organization_id}/stage-on",
    response={200: StageOnOut, **errors(401, 404, 422)},
    summary="组织在某一天所处的发展阶段",
    description="按阶段历程推算：当天及以前最近一次调整后的阶段；第一次记录的调整之前为它调整前的阶段；"
    "成立之前为空；没有历程时为当前阶段。",
)
def stage_on(request: ApiRequest, organization_id: uuid.UUID, on: datetime.date) -> Any:
    organization = org_selectors.organization_get(user=request.auth, organization_id=organization_id)
    return {"organization_id": organization.pk, "on": on, "stage": org_selectors.stage_on(organization, on)}


# --- admission ----------------------------------------------------------------------------------------------------


@router.get(
    "/cultivation/admission-criteria",
    response={200: list[AdmissionCriterionOut], **errors(401, 404, 422)},
    summary="一个区划适用的准入标准（含上级区划的）",
)
def criteria_list(request: ApiRequest, filters: Query[CriteriaFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place)
    return list(selectors.admission_criteria_for(place_code=place.code, active_only=False))


@router.post(
    "/cultivation/admission-criteria",
    response={201: AdmissionCriterionOut, **errors(400, 401, 403, 409, 422)},
    summary="增加一条准入标准",
)
def criteria_add(request: ApiRequest, payload: AdmissionCriterionIn) -> Any:
    place = _place_named(payload.place_code, "place_code")
    _require(request, "organizations.manage_admission", place, "place_code")
    return Status(
        201, services.admission_criterion_add(actor=request.auth, place=place, text=payload.text, order=payload.order)
    )


@router.patch(
    "/cultivation/admission-criteria/{criterion_id}",
    response={200: AdmissionCriterionOut, **errors(400, 401, 404, 409, 422)},
    summary="修改或停用一条准入标准",
)
def criteria_change(request: ApiRequest, criterion_id: uuid.UUID, payload: AdmissionCriterionPatch) -> Any:
    criterion = selectors.admission_criterion_get(user=request.auth, criterion_id=criterion_id)
    return services.admission_criterion_update(
        actor=request.auth, criterion=criterion, text=payload.text, order=payload.order, active=payload.active
    )


def _admission(request: ApiRequest, organization: Organization) -> dict[str, Any]:
    rows = selectors.admission_checklist(user=request.auth, organization=organization)
    return {
        "organization_id": organization.pk,
        "stage": organization.stage,
        "total": len(rows),
        "met": sum(1 for r in rows if r.met),
        "rows": [
            {
                "criterion": r.criterion,
                "met": r.check.met if r.check else None,
                "evidence": r.check.evidence if r.check else "",
                "checked_on": r.check.checked_on if r.check else None,
                "checked_by": str(r.check.checked_by) if r.check and r.check.checked_by else "",
            }
            for r in rows
        ],
    }


@router.get(
    "/organizations/{organization_id}/admission",
    response={200: AdmissionChecklistOut, **errors(401, 404, 422)},
    summary="组织的准入核查清单",
)
def admission_get(request: ApiRequest, organization_id: uuid.UUID) -> Any:
    return _admission(request, _organization(request, organization_id))


@router.put(
    "/organizations/{organization_id}/admission/{criterion_id}",
    response={200: AdmissionChecklistOut, **errors(400, 401, 403, 404, 422)},
    summary="核查一条准入标准（依据、核查人、日期）",
)
def admission_check(
    request: ApiRequest, organization_id: uuid.UUID, criterion_id: uuid.UUID, payload: AdmissionCheckIn
) -> Any:
    organization = _organization(request, organization_id)
    _require(request, "organizations.check_admission", organization)
    criterion = next(
        (
            c
            for c in selectors.admission_criteria_for(place_code=organization.place_id, active_only=False)
            if c.pk == criterion_id
        ),
        None,
    )
    if criterion is None:
        raise NotFound(_("找不到该准入标准"))
    services.admission_check_record(
        actor=request.auth,
        organization=organization,
        criterion=criterion,
        met=payload.met,
        evidence=payload.evidence,
        checked_on=payload.checked_on,
    )
    return _admission(request, organization)


# --- support and supply -------------------------------------------------------------------------------------------


@router.get(
    "/organizations/{organization_id}/support",
    response={200: list[SupportRecordOut], **errors(401, 404, 422)},
    summary="组织获得的扶持",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def support_of(request: ApiRequest, organization_id: uuid.UUID) -> Any:
    organization = _organization(request, organization_id)
    return selectors.support_records_of(user=request.auth, organization=organization).select_related("organization")


@router.post(
    "/organizations/{organization_id}/support",
    response={201: SupportRecordOut, **errors(400, 401, 403, 404, 422)},
    summary="记录一项扶持",
    description="政府购买服务须填写金额、结束日期和交付内容；公益岗位须填写岗位数；资金须填写金额。",
)
def support_add(request: ApiRequest, organization_id: uuid.UUID, payload: SupportRecordIn) -> Any:
    organization = _organization(request, organization_id)
    _require(request, "organizations.record_support", organization)
    record = services.support_record_add(actor=request.auth, organization=organization, **payload.dict())
    return Status(201, record)


@router.delete(
    "/organizations/{organization_id}/support/{record_id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="删除一条误录的扶持记录",
)
def support_delete(request: ApiRequest, organization_id: uuid.UUID, record_id: uuid.UUID) -> Any:
    organization = _organization(request, organization_id)
    _require(request, "organizations.record_support", organization)
    record = selectors.support_record_get(user=request.auth, organization=organization, record_id=record_id)
    services.support_record_delete(actor=request.auth, record=record)
    return Status(204, None)


@router.get(
    "/cultivation/support",
    response={200: list[SupportRecordOut], **errors(401, 404, 422)},
    summary="辖区内的扶持记录",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def support_list(request: ApiRequest, filters: Query[SupportFilters]) -> Any:
    return selectors.support_records_visible(
        user=request.auth, place=_place_filter(request, filters.place), kind=filters.kind or "", year=filters.year
    )


@router.get(
    "/organizations/{organization_id}/supply",
    response={200: list[SupplyItemOut], **errors(401, 404, 422)},
    summary="组织的供给清单",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def supply_of(request: ApiRequest, organization_id: uuid.UUID) -> Any:
    organization = _organization(request, organization_id)
    return selectors.supply_items_of(user=request.auth, organization=organization).select_related("organization")


@router.post(
    "/organizations/{organization_id}/supply",
    response={201: SupplyItemOut, **errors(400, 401, 403, 404, 422)},
    summary="供给清单增加一项服务（工作人员或组织负责人）",
)
def supply_add(request: ApiRequest, organization_id: uuid.UUID, payload: SupplyItemIn) -> Any:
    organization = _organization(request, organization_id)
    _require(request, "organizations.manage_supply", organization)
    return Status(201, services.supply_item_add(actor=request.auth, organization=organization, **payload.dict()))


@router.patch(
    "/organizations/{organization_id}/supply/{item_id}",
    response={200: SupplyItemOut, **errors(400, 401, 403, 404, 422)},
    summary="修改、下架或重新上架一项服务",
)
def supply_change(request: ApiRequest, organization_id: uuid.UUID, item_id: uuid.UUID, payload: SupplyItemPatch) -> Any:
    organization = _organization(request, organization_id)
    _require(request, "organizations.manage_supply", organization)
    item = selectors.supply_item_get(user=request.auth, item_id=item_id)
    if item.organization_id != organization.pk:
        raise NotFound(_("找不到该服务项目"))
    return services.supply_item_update(actor=request.auth, item=item, **payload.dict())


@router.get(
    "/cultivation/supply",
    response={200: list[SupplyItemOut], **errors(401, 404, 422)},
    summary="辖区的供给清单",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def supply_list(request: ApiRequest, filters: Query[SupplyFilters]) -> Any:
    return selectors.supply_items_visible(
        user=request.auth, place=_place_filter(request, filters.place), search=filters.q
    )


# --- schemes ------------------------------------------------------------------------------------------------------


@router.get("/cultivation/schemes", response={200: list[AssessmentSchemeOut], **errors(401, 422)}, summary="评估方案")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def scheme_list(request: ApiRequest) -> Any:
    return selectors.schemes_visible(user=request.auth)


@router.post(
    "/cultivation/schemes",
    response={201: AssessmentSchemeOut, **errors(400, 401, 403, 409, 422)},
    summary="新建评估方案（同一区划同一年度的下一个版本）",
)
def scheme_create(request: ApiRequest, payload: AssessmentSchemeIn) -> Any:
    place = _place_named(payload.place_code, "place_code")
    _require(request, "organizations.manage_assessment", place, "place_code")
    scheme, _new = services.assessment_scheme_save(
        actor=request.auth, place=place, year=payload.year, name=payload.name, criteria=payload.criteria
    )
    return Status(201, scheme)


@router.get(
    "/cultivation/schemes/{scheme_id}",
    response={200: AssessmentSchemeOut, **errors(401, 404, 422)},
    summary="一个评估方案",
)
def scheme_detail(request: ApiRequest, scheme_id: uuid.UUID) -> Any:
    return selectors.scheme_get(user=request.auth, scheme_id=scheme_id)


@router.put(
    "/cultivation/schemes/{scheme_id}",
    response={200: AssessmentSchemeOut, 201: AssessmentSchemeOut, **errors(400, 401, 404, 409, 422)},
    summary="修改评估方案",
    description="没有被评选使用的方案原地修改（200）；已被使用的方案不修改，另存为新版本（201，返回新版本）。",
)
def scheme_edit(request: ApiRequest, scheme_id: uuid.UUID, payload: AssessmentSchemeEditIn) -> Any:
    scheme = selectors.scheme_get(user=request.auth, scheme_id=scheme_id)
    saved, new_version = services.assessment_scheme_save(
        actor=request.auth,
        place=scheme.place,
        year=payload.year,
        name=payload.name,
        criteria=payload.criteria,
        scheme=scheme,
    )
    return Status(201 if new_version else 200, selectors.scheme_get(user=request.auth, scheme_id=saved.pk))


# --- rounds -------------------------------------------------------------------------------------------------------


@router.get(
    "/cultivation/rounds", response={200: list[AssessmentRoundOut], **errors(401, 404, 422)}, summary="评估评选"
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def round_list(request: ApiRequest, filters: Query[RoundFilters]) -> Any:
    return selectors.rounds_visible(
        user=request.auth, place=_place_filter(request, filters.place), status=filters.status or ""
    )


@router.post(
    "/cultivation/rounds",
    response={201: AssessmentRoundOut, **errors(400, 401, 403, 404, 422)},
    summary="新建评选（类别、名额、末位警示数）",
)
def round_create(request: ApiRequest, payload: AssessmentRoundIn) -> Any:
    scheme = selectors.scheme_get(user=request.auth, scheme_id=payload.scheme_id)
    place = _place_named(payload.place_code, "place_code") if payload.place_code else None
    if place is not None:
        _require(request, "organizations.manage_assessment", place, "place_code")
    rnd = services.assessment_round_create(
        actor=request.auth,
        scheme=scheme,
        name=payload.name,
        quotas=payload.quotas,
        warn_last=payload.warn_last,
        place=place,
    )
    return Status(201, rnd)


@router.get(
    "/cultivation/rounds/{round_id}",
    response={200: AssessmentRoundOut, **errors(401, 404, 422)},
    summary="一次评选（管理的工作人员或评审）",
)
def round_detail(request: ApiRequest, round_id: uuid.UUID) -> Any:
    return selectors.round_get(user=request.auth, round_id=round_id)


@router.get(
    "/cultivation/rounds/{round_id}/entries",
    response={200: list[RoundEntryOut], **errors(401, 404, 422)},
    summary="参评组织（按类别、名次）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def entry_list(request: ApiRequest, round_id: uuid.UUID) -> Any:
    rnd = selectors.round_get(user=request.auth, round_id=round_id)
    return selectors.round_entries(round=rnd)


@router.post(
    "/cultivation/rounds/{round_id}/entries",
    response={200: RoundEntryOut, 201: RoundEntryOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="组织参评",
    description="同一组织再次以同一类别参评返回已有记录（200）；以另一类别参评为冲突（409）。",
)
def entry_add(request: ApiRequest, round_id: uuid.UUID, payload: RoundEntryIn) -> Any:
    rnd = _round(request, round_id)
    organization = org_selectors.organization_get(user=request.auth, organization_id=payload.organization_id)
    entry, created = services.round_entry_add(
        actor=request.auth, round=rnd, organization=organization, category=payload.category
    )
    return Status(201 if created else 200, entry)


@router.delete(
    "/cultivation/rounds/{round_id}/entries/{entry_id}",
    response={204: None, **errors(401, 403, 404, 409, 422)},
    summary="移出参评组织（尚无评分时）",
)
def entry_remove(request: ApiRequest, round_id: uuid.UUID, entry_id: uuid.UUID) -> Any:
    rnd = _round(request, round_id)
    services.round_entry_remove(actor=request.auth, entry=_entry_of(rnd, entry_id))
    return Status(204, None)


def _assessors(rnd: AssessmentRound) -> list[dict[str, Any]]:
    scored: dict[Any, int] = {}
    for assessor_id in AssessmentScore.objects.filter(entry__round=rnd).values_list("assessor_id", flat=True):
        scored[assessor_id] = scored.get(assessor_id, 0) + 1
    return [
        {
            "id": a.pk,
            "display_name": a.display_name,
            "phone_masked": protection.mask_phone(a.phone),
            "scored": scored.get(a.pk, 0),
        }
        for a in selectors.round_assessors(round=rnd)
    ]


@router.get(
    "/cultivation/rounds/{round_id}/assessors",
    response={200: list[RoundAssessorOut], **errors(401, 403, 404, 422)},
    summary="评审",
)
def assessor_list(request: ApiRequest, round_id: uuid.UUID) -> Any:
    return _assessors(_round(request, round_id))


@router.post(
    "/cultivation/rounds/{round_id}/assessors",
    response={200: list[RoundAssessorOut], 201: list[RoundAssessorOut], **errors(400, 401, 403, 404, 409, 422)},
    summary="增加评审（按手机号）",
)
def assessor_add(request: ApiRequest, round_id: uuid.UUID, payload: RoundAssessorIn) -> Any:
    rnd = _round(request, round_id)
    phone = protection.normalise_mobile(payload.phone)
    user = User.objects.filter(phone=phone).first() if phone else None
    if user is None:
        raise DomainError(_("提交的数据有误"), fields={"phone": [_("没有使用这个手机号的账号")]})
    added = services.round_assessor_add(actor=request.auth, round=rnd, user=user)
    return Status(201 if added else 200, _assessors(rnd))


@router.delete(
    "/cultivation/rounds/{round_id}/assessors/{user_id}",
    response={204: None, **errors(401, 403, 404, 409, 422)},
    summary="移除尚未评分的评审",
)
def assessor_remove(request: ApiRequest, round_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    rnd = _round(request, round_id)
    user = rnd.assessors.filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("找不到该评审"))
    services.round_assessor_remove(actor=request.auth, round=rnd, user=user)
    return Status(204, None)


@router.put(
    "/cultivation/entries/{entry_id}/score",
    response={200: AssessmentScoreOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="评审为一个参评组织评分（再次提交为修改）",
    description="须回避自己负责或参加的组织（403，code=conflict_of_interest）；每项 0 到满分；评分结束后为 409。",
)
def score_submit(request: ApiRequest, entry_id: uuid.UUID, payload: AssessmentScoreIn) -> Any:
    entry = selectors.entry_get(user=request.auth, entry_id=entry_id)
    if not request.auth.has_perm("organizations.score_roundentry", entry):
        raise PermissionDenied(_("您不是本轮评选的评审"), code="not_assessor")
    return services.assessment_score_submit(
        actor=request.auth, entry=entry, scores=payload.scores, comment=payload.comment
    )


@router.post(
    "/cultivation/rounds/{round_id}/close",
    response={200: AssessmentRoundOut, **errors(400, 401, 403, 404, 422)},
    summary="结束评分，计算排名、入选和末位警示（幂等）",
    description="排名规则：总分高者在前；相同时依次比较权重最大指标的平均得分、评审人数、成立日期（早者在前）、"
    "组织编号（小者在前）。已结束的评选再次结束不会改变任何结果。",
)
def round_close(request: ApiRequest, round_id: uuid.UUID) -> Any:
    rnd = _round(request, round_id)
    services.assessment_round_close(actor=request.auth, round=rnd)
    return selectors.round_get(user=request.auth, round_id=round_id)


@router.post(
    "/cultivation/rounds/{round_id}/publish",
    response={200: AssessmentRoundOut, **errors(401, 403, 404, 409, 422)},
    summary="公示入选名单（幂等）",
)
def round_publish(request: ApiRequest, round_id: uuid.UUID) -> Any:
    rnd = _round(request, round_id)
    services.assessment_round_publish(actor=request.auth, round=rnd)
    return selectors.round_get(user=request.auth, round_id=round_id)


@router.post(
    "/cultivation/entries/{entry_id}/reply",
    response={200: RoundEntryOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="受到末位警示的组织负责人申辩（公示前）",
)
def entry_reply(request: ApiRequest, entry_id: uuid.UUID, payload: WarningReplyIn) -> Any:
    entry = selectors.entry_get(user=request.auth, entry_id=entry_id)
    _require(request, "organizations.reply_roundentry", entry)
    services.round_entry_reply(actor=request.auth, entry=entry, text=payload.reply)
    return selectors.entries_of_organization(user=request.auth, organization=entry.organization).get(pk=entry.pk)


@router.get(
    "/organizations/{organization_id}/entries",
    response={200: list[RoundEntryOut], **errors(401, 404, 422)},
    summary="组织参加的评估评选",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def organization_entries(request: ApiRequest, organization_id: uuid.UUID) -> Any:
    organization = _organization(request, organization_id)
    return selectors.entries_of_organization(user=request.auth, organization=organization).select_related(
        "organization"
    )


@router.get(
    "/me/assessments", response={200: list[RoundTasksOut], **errors(401, 422)}, summary="我的评审任务（进行中的评选）"
)
def my_assessments(request: ApiRequest) -> Any:
    return [
        {
            "round_id": rt.round.pk,
            "round_name": rt.round.name,
            "status": rt.round.status,
            "tasks": [
                {
                    "entry_id": t.entry.pk,
                    "organization_name": t.entry.organization.name,
                    "category": t.entry.category,
                    "conflicted": t.conflicted,
                    "my_total": t.mine.total if t.mine else None,
                }
                for t in rt.tasks
            ],
        }
        for rt in selectors.assessment_tasks(user=request.auth)
    ]
