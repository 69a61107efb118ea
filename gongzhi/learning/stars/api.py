"""学 credentials: star ratings of learners (星级评定) — a declared yearly standard, computed proposals, staff review.

A standard the caller may not see is "not found" (404); a write the caller may not make is 403; an illegal move
(computing a draft, publishing with unreviewed proposals, scoring a reviewed resident) is 409. Declaring, publishing
and approving are idempotent. The published list without personal data is a page without login
(``/stars/<standard>/``); the API, like every operation here, needs an account.
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
from gongzhi.people.models import Resident
from gongzhi.people.selectors import resident_of_user
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import StarAssessment, StarRating, StarRatingStatus, StarStandard, StarStandardStatus
from . import compute, selectors, services

router = Router(tags=["stars"])


# --- schemas --------------------------------------------------------------------------------------------------------


class StarCriterionSchema(Schema):
    code: str = Field(..., description="小写字母开头的字母、数字或下划线")
    name: str
    weight: float = Field(..., description="权重，各项之和为 1")
    source: str = Field(..., description="attendance 出勤、points 积分、volunteer_hours 志愿服务时长、assessment 评议")
    target: float = Field(..., description="满分目标：达到即得该项满分，不足按比例")
    by: str | None = Field(None, description="评议类指标的评议人：staff 工作人员、peer 同伴、both 两者")


class StarStandardOut(Schema):
    id: uuid.UUID
    place_code: str
    place_name: str
    year: int
    name: str
    organization_ref: str = Field(..., description="限定组织的编号；空为区划内全部居民")
    criteria: list[StarCriterionSchema]
    thresholds: list[float] = Field(..., description="一星到五星的最低加权得分")
    status: StarStandardStatus
    rating_count: int
    proposed_count: int = Field(..., description="待审核的星级建议数")
    approved_count: int

    @staticmethod
    def resolve_place_code(obj: StarStandard) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: StarStandard) -> str:
        return obj.place.name

    @staticmethod
    def resolve_criteria(obj: StarStandard) -> list[dict[str, Any]]:
        return [{"by": None, **c} for c in obj.criteria]

    @staticmethod
    def resolve_rating_count(obj: StarStandard) -> int:
        return int(getattr(obj, "rating_count", 0) or 0)

    @staticmethod
    def resolve_proposed_count(obj: StarStandard) -> int:
        return int(getattr(obj, "proposed_count", 0) or 0)

    @staticmethod
    def resolve_approved_count(obj: StarStandard) -> int:
        return int(getattr(obj, "approved_count", 0) or 0)


class StarStandardIn(Schema):
    place_code: str = Field(..., pattern=CODE_PATTERN, description="街道或社区")
    year: int = Field(..., ge=2000, le=2100)
    name: str = Field(..., min_length=1, max_length=100)
    organization_ref: str = Field("", max_length=64, description="只评定该组织（编号）的成员")
    criteria: list[dict[str, Any]] = Field(
        ..., description="指标：code, name, weight, source, target, by（评议类）；权重之和为 1"
    )
    thresholds: list[Any] = Field(..., description="一星到五星的分数线（5 个，逐级升高，0 < t ≤ 100）")


class StarStandardPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    year: int | None = Field(None, ge=2000, le=2100)
    organization_ref: str | None = Field(None, max_length=64)
    criteria: list[dict[str, Any]] | None = None
    thresholds: list[Any] | None = None


class StarStandardFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="该区划及其下级、上级的标准")
    year: int | None = Field(None, ge=2000, le=2100)
    status: StarStandardStatus | None = None


class StarAssessmentIn(Schema):
    resident_id: uuid.UUID
    criterion: str = Field(..., max_length=40, description="评议类指标的代码")
    score: Decimal = Field(..., description="0–100，最多 2 位小数")
    comment: str = Field("", max_length=300)


class StarAssessmentOut(Schema):
    id: uuid.UUID
    standard_id: uuid.UUID
    resident_id: uuid.UUID
    resident_ref: str
    resident_name_masked: str
    criterion: str
    score: Decimal
    comment: str
    mine: bool = Field(..., description="是否为本人的评分")
    updated_at: datetime.datetime

    @staticmethod
    def resolve_resident_ref(obj: StarAssessment) -> str:
        return obj.resident.ref

    @staticmethod
    def resolve_resident_name_masked(obj: StarAssessment) -> str:
        return obj.resident.masked_name

    @staticmethod
    def resolve_mine(obj: StarAssessment, context: Any) -> bool:
        request = context["request"]
        return bool(obj.assessor_id == getattr(request.auth, "pk", None))


class StarComputeOut(Schema):
    created: int
    updated: int
    unchanged: int
    kept_reviewed: int = Field(..., description="已审核、未被覆盖的记录数")
    reviewed_differs: int = Field(..., description="其中按最新数据计算结果不同的记录数")
    removed: int = Field(..., description="不再在评定范围内而删除的建议数")
    total: int


class StarBreakdownLineOut(Schema):
    code: str
    name: str
    source: str
    weight: str
    target: str
    value: str | None = Field(..., description="计入的实际值；评议尚无评分时为空")
    ratio: str = Field(..., description="min(实际值 ÷ 满分目标, 1)")
    score: str = Field(..., description="该项得分：权重 × 比例 × 100")
    assessors: int | None = Field(..., description="评议类：评分人数")
    note: str


class StarRatingOut(Schema):
    id: uuid.UUID
    standard_id: uuid.UUID
    resident_id: uuid.UUID
    resident_ref: str
    resident_name_masked: str
    community_name: str
    score: Decimal
    proposed_stars: int
    final_stars: int | None
    status: StarRatingStatus
    breakdown: list[StarBreakdownLineOut]
    review_note: str
    reviewed_at: datetime.datetime | None

    @staticmethod
    def resolve_resident_ref(obj: StarRating) -> str:
        return obj.resident.ref

    @staticmethod
    def resolve_resident_name_masked(obj: StarRating) -> str:
        return obj.resident.masked_name

    @staticmethod
    def resolve_community_name(obj: StarRating) -> str:
        return obj.resident.community.name

    @staticmethod
    def resolve_breakdown(obj: StarRating) -> list[dict[str, Any]]:
        return list((obj.breakdown or {}).get("lines", []))


class StarRatingFilters(Schema):
    status: StarRatingStatus | None = None
    stars: int | None = Field(None, ge=0, le=5, description="审定星级（未审核的按建议星级）")
    q: str = Field("", max_length=40, description="居民姓名开头或编号")


class StarReviewIn(Schema):
    stars: int | None = Field(None, description="审定星级 0–5；不填为按建议星级审核")
    note: str = Field("", max_length=300, description="改动建议星级时必填")


class StarApproveAllOut(Schema):
    approved: int


class StarThresholdOut(Schema):
    stars: int
    min_score: float


class MyStarOut(Schema):
    rating_id: uuid.UUID
    standard_id: uuid.UUID
    standard_name: str
    year: int
    place_name: str
    stars: int
    proposed_stars: int
    score: Decimal
    review_note: str
    breakdown: list[StarBreakdownLineOut]
    thresholds: list[StarThresholdOut]


# --- helpers --------------------------------------------------------------------------------------------------------


def _require(request: ApiRequest, perm: str, obj: Any, field: str | None = None) -> None:
    if not request.auth.has_perm(perm, obj):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={field: [message]} if field else None)


def _place_named(code: str, field: str) -> Place:
    place = place_selectors.place_get(code=code) if codes.CODE_RE.match(code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={field: [_("找不到该区划代码")]})
    return place


def _managed(request: ApiRequest, standard_id: uuid.UUID) -> StarStandard:
    standard = selectors.standard_get(user=request.auth, standard_id=standard_id)
    _require(request, "learning.manage_starstandard", standard)
    return standard


def _for_assessment(request: ApiRequest, standard_id: uuid.UUID) -> StarStandard:
    """A standard the caller may score on (staff who see it, or a member for its peer criteria)."""
    standard = StarStandard.objects.select_related("place").filter(pk=standard_id).first()
    if standard is None or not (
        request.auth.has_perm("learning.view_starstandard", standard)
        or request.auth.has_perm("learning.assess_starstandard", standard)
    ):
        raise NotFound(_("找不到该星级评定标准"))
    return standard


def _fresh(request: ApiRequest, standard: StarStandard) -> StarStandard:
    return selectors.standard_get(user=request.auth, standard_id=standard.pk)


# --- standards ------------------------------------------------------------------------------------------------------


@router.get("/stars/standards", response={200: list[StarStandardOut], **errors(401, 404, 422)}, summary="星级评定标准")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def standard_list(request: ApiRequest, filters: Query[StarStandardFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.standards_visible(user=request.auth, place=place, year=filters.year, status=filters.status or "")


@router.post(
    "/stars/standards",
    response={201: StarStandardOut, **errors(400, 401, 403, 409, 422)},
    summary="新建星级评定标准（草稿）",
)
def standard_create(request: ApiRequest, payload: StarStandardIn) -> Any:
    place = _place_named(payload.place_code, "place_code")
    _require(request, "learning.manage_starstandard", place, "place_code")
    standard = services.star_standard_create(
        actor=request.auth,
        place=place,
        year=payload.year,
        name=payload.name,
        organization_ref=payload.organization_ref,
        criteria=payload.criteria,
        thresholds=payload.thresholds,
    )
    return Status(201, _fresh(request, standard))


@router.get(
    "/stars/standards/{standard_id}",
    response={200: StarStandardOut, **errors(401, 404, 422)},
    summary="一个星级评定标准",
)
def standard_detail(request: ApiRequest, standard_id: uuid.UUID) -> Any:
    return selectors.standard_get(user=request.auth, standard_id=standard_id)


@router.patch(
    "/stars/standards/{standard_id}",
    response={200: StarStandardOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改星级评定标准",
    description="草稿可以修改全部内容；发布（评定中）后只能改名称；公布后不能修改（409）。",
)
def standard_update(request: ApiRequest, standard_id: uuid.UUID, payload: StarStandardPatch) -> Any:
    standard = _managed(request, standard_id)
    services.star_standard_update(actor=request.auth, standard=standard, **payload.dict(exclude_unset=True))
    return _fresh(request, standard)


@router.post(
    "/stars/standards/{standard_id}/activate",
    response={200: StarStandardOut, **errors(400, 401, 403, 404, 422)},
    summary="发布标准，开始评定（幂等）",
)
def standard_activate(request: ApiRequest, standard_id: uuid.UUID) -> Any:
    standard = _managed(request, standard_id)
    services.star_standard_activate(actor=request.auth, standard=standard)
    return _fresh(request, standard)


@router.post(
    "/stars/standards/{standard_id}/compute",
    response={200: StarComputeOut, **errors(401, 403, 404, 409, 422)},
    summary="计算星级建议（重复计算只更新未审核的建议）",
)
def standard_compute(request: ApiRequest, standard_id: uuid.UUID) -> Any:
    standard = _managed(request, standard_id)
    result = services.star_ratings_compute(actor=request.auth, standard=standard)
    return {**result.__dict__, "total": result.total}


@router.post(
    "/stars/standards/{standard_id}/approve-all",
    response={200: StarApproveAllOut, **errors(401, 403, 404, 409, 422)},
    summary="其余待审核的建议按建议星级审核",
)
def standard_approve_all(request: ApiRequest, standard_id: uuid.UUID) -> Any:
    standard = _managed(request, standard_id)
    return {"approved": services.star_ratings_approve_all(actor=request.auth, standard=standard)}


@router.post(
    "/stars/standards/{standard_id}/publish",
    response={200: StarStandardOut, **errors(401, 403, 404, 409, 422)},
    summary="公布评定结果（全部审核后；幂等）",
)
def standard_publish(request: ApiRequest, standard_id: uuid.UUID) -> Any:
    standard = _managed(request, standard_id)
    services.star_standard_publish(actor=request.auth, standard=standard)
    return _fresh(request, standard)


# --- assessments ----------------------------------------------------------------------------------------------------


@router.get(
    "/stars/standards/{standard_id}/assessments",
    response={200: list[StarAssessmentOut], **errors(401, 404, 422)},
    summary="评议分数（管理的工作人员看全部，其他人看自己的）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def assessment_list(request: ApiRequest, standard_id: uuid.UUID) -> Any:
    standard = _for_assessment(request, standard_id)
    return selectors.assessments_of(user=request.auth, standard=standard)


@router.put(
    "/stars/standards/{standard_id}/assessments",
    response={200: StarAssessmentOut, 201: StarAssessmentOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="为一位居民在一项评议指标上打分（再次提交为修改）",
    description="工作人员为其负责的居民打工作人员评议分；限定组织的标准中，成员为其他成员打同伴互评分；不能为自己打分"
    "（403）。该居民的星级审核后为 409。",
)
def assessment_submit(request: ApiRequest, standard_id: uuid.UUID, payload: StarAssessmentIn) -> Any:
    standard = _for_assessment(request, standard_id)
    resident = Resident.objects.select_related("community").filter(pk=payload.resident_id).first()
    own = resident is not None and resident.user_id == request.auth.pk
    if resident is None or not (
        own
        or selectors.assessable_residents(user=request.auth, standard=standard).filter(pk=resident.pk).exists()
        or selectors.assessable_residents(user=request.auth, standard=standard, as_peer=True)
        .filter(pk=resident.pk)
        .exists()
    ):
        raise NotFound(_("找不到该居民"), fields={"resident_id": [_("不在您可以评分的居民中")]})
    assessment, created = services.star_assessment_submit(
        actor=request.auth,
        standard=standard,
        resident=resident,
        criterion=payload.criterion,
        score=payload.score,
        comment=payload.comment,
    )
    assessment.resident = resident
    return Status(201 if created else 200, assessment)


# --- ratings --------------------------------------------------------------------------------------------------------


@router.get(
    "/stars/standards/{standard_id}/ratings",
    response={200: list[StarRatingOut], **errors(401, 404, 422)},
    summary="星级建议与审核结果（得分从高到低）",
    description="公布前只有管理该标准的工作人员可以看到；公布后能看到该标准的工作人员都可以看到。",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def rating_list(request: ApiRequest, standard_id: uuid.UUID, filters: Query[StarRatingFilters]) -> Any:
    standard = selectors.standard_get(user=request.auth, standard_id=standard_id)
    return selectors.ratings_ranked(
        user=request.auth, standard=standard, status=filters.status or "", stars=filters.stars, search=filters.q
    )


@router.post(
    "/stars/ratings/{rating_id}/review",
    response={200: StarRatingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="审核一条星级建议：按建议通过，或改动星级并写明理由",
)
def rating_review(request: ApiRequest, rating_id: uuid.UUID, payload: StarReviewIn) -> Any:
    rating = selectors.rating_get(user=request.auth, rating_id=rating_id)
    _require(request, "learning.review_starrating", rating)
    services.star_rating_review(actor=request.auth, rating=rating, stars=payload.stars, note=payload.note)
    return selectors.rating_get(user=request.auth, rating_id=rating_id)


@router.get("/me/stars", response={200: list[MyStarOut], **errors(401, 403)}, summary="我的星级（已公布）")
def my_stars(request: ApiRequest) -> Any:
    resident = resident_of_user(user=request.auth)
    if resident is None:
        raise PermissionDenied(_("只有居民可以进行此操作"))
    return [
        {
            "rating_id": r.pk,
            "standard_id": r.standard_id,
            "standard_name": r.standard.name,
            "year": r.standard.year,
            "place_name": r.standard.place.name,
            "stars": r.final_stars or 0,
            "proposed_stars": r.proposed_stars,
            "score": r.score,
            "review_note": r.review_note,
            "breakdown": list((r.breakdown or {}).get("lines", [])),
            "thresholds": [
                {"stars": n, "min_score": float(t)}
                for n, t in enumerate(compute.thresholds_of(r.standard.thresholds), start=1)
            ],
        }
        for r in selectors.my_ratings(resident=resident)
    ]
