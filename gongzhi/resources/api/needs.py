"""Needs API (需求): report (both ways), the staff list and detail, ranked candidates with reasons, match, undo a match,
cancel; residents' own needs and their community's; partners' matched needs. Fulfilling and rating are operations of
``gongzhi.activities.fulfilment.api``.

A need the caller may not see is "not found". Who raised a need is shown only to staff covering its community.
Illegal status moves answer 409 (``illegal_transition``, ``already_matched``) and change nothing.
"""

import datetime
import uuid
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, PermissionDenied
from gongzhi.people import access
from gongzhi.people import selectors as people_selectors
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors

from ..models import Need, NeedDirection, NeedStatus, Resource, ResourceKind
from ..selectors import needs as selectors
from ..services import needs as services
from .base import router

# --- schemas ----------------------------------------------------------------------------------------------------


class NeedActivityOut(Schema):
    title: str
    starts_at: datetime.datetime
    place_name: str

    @staticmethod
    def resolve_place_name(obj: Any) -> str:
        return obj.place.name


class NeedOut(Schema):
    id: uuid.UUID
    ref: str
    community_code: str
    community_name: str
    direction: NeedDirection
    direction_label: str
    resource_kind: ResourceKind
    resource_kind_label: str
    title: str
    description: str
    preferred_time: str
    raised_on: datetime.date
    raised_by: str = Field(
        ..., description="提出人：覆盖该社区的工作人员看到居民姓名（工作人员登记的为空）；其他人为空"
    )
    status: NeedStatus
    status_label: str
    resource_id: uuid.UUID | None
    resource_name: str | None
    provider_name: str | None
    matched_on: datetime.date | None
    match_reasons: list[str] = Field(..., description="匹配时排序给出的理由")
    fulfilled_on: datetime.date | None
    cancelled_reason: str

    @staticmethod
    def resolve_community_code(obj: Need) -> str:
        return obj.community_id

    @staticmethod
    def resolve_community_name(obj: Need) -> str:
        return obj.community.name

    @staticmethod
    def resolve_direction_label(obj: Need) -> str:
        return str(obj.get_direction_display())

    @staticmethod
    def resolve_resource_kind_label(obj: Need) -> str:
        return str(obj.get_resource_kind_display())

    @staticmethod
    def resolve_status_label(obj: Need) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_raised_by(obj: Need, context: Any) -> str:
        request = (context or {}).get("request")
        user = getattr(request, "auth", None) if request is not None else None
        if user is None or obj.raised_by_id is None or not user.has_perm("resources.change_need", obj):
            return ""
        return obj.raised_by.name  # type: ignore[union-attr]

    @staticmethod
    def resolve_resource_name(obj: Need) -> str | None:
        return obj.resource.name if obj.resource_id else None  # type: ignore[union-attr]

    @staticmethod
    def resolve_provider_name(obj: Need) -> str | None:
        return obj.resource.provider.name if obj.resource_id else None  # type: ignore[union-attr]


class ResidentNeedOut(NeedOut):
    activities: list[NeedActivityOut] = Field(..., description="满足该需求的活动")
    i_came: bool = Field(..., description="本人参加了满足该需求的活动")
    my_score: int | None = Field(..., description="本人的评分（未评价为空）")
    can_rate: bool = Field(..., description="本人现在可以评价")

    @staticmethod
    def resolve_activities(obj: Need) -> list[Any]:
        return list(getattr(obj, "done", []))

    @staticmethod
    def resolve_i_came(obj: Need) -> bool:
        return bool(getattr(obj, "i_came", False))

    @staticmethod
    def resolve_my_score(obj: Need) -> int | None:
        return getattr(obj, "my_score", None)

    @staticmethod
    def resolve_can_rate(obj: Need) -> bool:
        return (
            obj.status == NeedStatus.FULFILLED
            and bool(getattr(obj, "i_came", False))
            and getattr(obj, "my_score", None) is None
        )


class PartnerNeedOut(NeedOut):
    activities: list[NeedActivityOut]
    rating_count: int
    rating_mean: float | None

    @staticmethod
    def resolve_activities(obj: Need) -> list[Any]:
        return list(getattr(obj, "done", []))

    @staticmethod
    def resolve_rating_mean(obj: Need) -> float | None:
        mean = getattr(obj, "rating_mean", None)
        return round(float(mean), 2) if mean is not None else None


class NeedDetailOut(ResidentNeedOut):
    rating_count: int = Field(..., description="评价人数")
    rating_mean: float | None = Field(..., description="平均评分")


class ReasonOut(Schema):
    factor: str = Field(
        ..., description="kind（类型）、area（服务范围）、availability（可用期）、rating（评分）、load（负荷）"
    )
    points: float
    text: str


class CandidateOut(Schema):
    resource_id: uuid.UUID
    resource_ref: str
    resource_name: str
    resource_kind: ResourceKind
    provider_id: uuid.UUID
    provider_name: str
    score: float = Field(..., description="匹配度 0–100（权重见 docs/link-needs.md）")
    reasons: list[ReasonOut]


class NeedFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="只看这个区划之下（12 位代码）")
    status: NeedStatus | None = None
    resource_kind: ResourceKind | None = None
    direction: NeedDirection | None = None
    q: str = Field("", max_length=40, description="标题包含，或编号")


class MyNeedFilters(Schema):
    status: NeedStatus | None = None


class NeedIn(Schema):
    community_code: str | None = Field(
        None, pattern=CODE_PATTERN, description="社区的 12 位区划代码；居民反映时默认本人所在社区"
    )
    title: str = Field(..., min_length=1, max_length=200)
    resource_kind: ResourceKind
    description: str = Field("", max_length=2000)
    preferred_time: str = Field("", max_length=100)
    direction: NeedDirection = Field(NeedDirection.REPORT, description="工作人员可登记 survey（需求调查）")
    raised_on: datetime.date | None = Field(None, description="提出日期（工作人员登记时可填），默认今天")


class MatchIn(Schema):
    resource_id: uuid.UUID


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


# --- helpers ----------------------------------------------------------------------------------------------------


def _require(request: ApiRequest, perm: str, obj: Any) -> None:
    if not request.auth.has_perm(perm, obj):
        raise PermissionDenied(_("您无权执行此操作"))


def need_detail_of(request: ApiRequest, need_id: Any) -> Need:
    """A need with the caller's annotations and its rating summary (for the detail responses)."""
    need = selectors.need_get_for_resident(user=request.auth, need_id=need_id)
    summary = selectors.need_rating_summary(need=need)
    need.rating_count = summary.count  # type: ignore[attr-defined]
    need.rating_mean = round(summary.mean, 2) if summary.mean is not None else None  # type: ignore[attr-defined]
    return need


def _candidate_out(c: selectors.Candidate) -> dict[str, Any]:
    r = c.resource
    return {
        "resource_id": r.pk,
        "resource_ref": r.ref,
        "resource_name": r.name,
        "resource_kind": r.kind,
        "provider_id": r.provider_id,
        "provider_name": r.provider.name,
        "score": c.score,
        "reasons": [{"factor": x.factor, "points": round(x.points, 1), "text": x.text} for x in c.reasons],
    }


# --- lists ------------------------------------------------------------------------------------------------------


@router.get("/needs", response={200: list[NeedOut], **errors(401, 404, 422)}, summary="需求（工作人员）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def need_list(request: ApiRequest, filters: Query[NeedFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.needs_visible(
        user=request.auth,
        place=place,
        status=filters.status or "",
        kind=filters.resource_kind or "",
        direction=filters.direction or "",
        search=filters.q,
    )


@router.get("/me/needs", response={200: list[ResidentNeedOut], **errors(401, 422)}, summary="我反映的需求（居民）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def my_need_list(request: ApiRequest, filters: Query[MyNeedFilters]) -> Any:
    return selectors.needs_of_resident(user=request.auth, status=filters.status or "")


@router.get(
    "/me/community-needs",
    response={200: list[ResidentNeedOut], **errors(401, 422)},
    summary="本社区的需求（居民；不含提出人）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def community_need_list(request: ApiRequest, filters: Query[MyNeedFilters]) -> Any:
    return selectors.needs_of_my_community(user=request.auth, status=filters.status or "")


@router.get(
    "/partner/needs",
    response={200: list[PartnerNeedOut], **errors(401, 422)},
    summary="匹配到本单位资源的需求（资源方）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def partner_need_list(request: ApiRequest, filters: Query[MyNeedFilters]) -> Any:
    return selectors.needs_of_partner(user=request.auth, status=filters.status or "")


# --- one need ---------------------------------------------------------------------------------------------------


@router.post(
    "/needs",
    response={200: NeedDetailOut, 201: NeedDetailOut, **errors(400, 401, 403, 409, 422)},
    summary="反映或登记需求",
    description="居民在本人所在社区反映（community_code 可省略，来源只能是 report）；工作人员为其负责的社区登记"
    "（须给出 community_code，来源可为 report 或 survey）。同一人同一天在同一社区提交同一标题的需求，返回已有的那条（200）。",
)
def need_report(request: ApiRequest, payload: NeedIn) -> Any:
    user = request.auth
    code = payload.community_code
    place = place_selectors.place_get(code=code) if code and codes.CODE_RE.match(code) else None
    if code and place is None:
        raise DomainError(_("提交的数据有误"), fields={"community_code": [_("找不到该区划代码")]})
    if place is not None and access.has_role_covering(user, place.code, access.STAFF_ROLES):
        need, created = services.need_report(
            actor=user,
            community=place,
            title=payload.title,
            resource_kind=payload.resource_kind,
            description=payload.description,
            preferred_time=payload.preferred_time,
            direction=payload.direction,
            raised_on=payload.raised_on,
        )
        return Status(201 if created else 200, need_detail_of(request, need.pk))
    resident = people_selectors.resident_of_user(user=user)
    if resident is None or resident.left_on is not None or (place is not None and place.code != resident.community_id):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={"community_code": [message]})
    if not user.has_perm("resources.add_need", resident.community):
        raise PermissionDenied(_("您无权执行此操作"))
    if payload.raised_on is not None:
        raise DomainError(_("提交的数据有误"), fields={"raised_on": [_("居民反映需求不能指定日期")]})
    need, created = services.need_report(
        actor=user,
        community=resident.community,
        resident=resident,
        title=payload.title,
        resource_kind=payload.resource_kind,
        description=payload.description,
        preferred_time=payload.preferred_time,
        direction=payload.direction,
    )
    return Status(201 if created else 200, need_detail_of(request, need.pk))


@router.get("/needs/{need_id}", response={200: NeedDetailOut, **errors(401, 404, 422)}, summary="一条需求")
def need_detail(request: ApiRequest, need_id: uuid.UUID) -> Any:
    return need_detail_of(request, need_id)


@router.get(
    "/needs/{need_id}/candidates",
    response={200: list[CandidateOut], **errors(401, 403, 404, 422)},
    summary="候选资源（按匹配度排序，附理由）",
    description="只对待匹配（open）的需求给出候选；按类型、服务范围、可用期、历史评分和资源方负荷打分，最多 20 项。",
)
def need_candidates(request: ApiRequest, need_id: uuid.UUID) -> Any:
    need = selectors.need_get(user=request.auth, need_id=need_id)
    _require(request, "resources.match_need", need)
    if need.status != NeedStatus.OPEN:
        return []
    return [_candidate_out(c) for c in selectors.need_candidates(user=request.auth, need=need)]


@router.post(
    "/needs/{need_id}/match",
    response={200: NeedDetailOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="接受匹配：为待匹配的需求选定资源",
    description="需求变为已匹配，记录匹配日期和排序给出的理由。重复提交同一资源不做改变；已匹配到其他资源返回 409"
    "（already_matched）；已满足或已取消返回 409（illegal_transition）。",
)
def need_match(request: ApiRequest, need_id: uuid.UUID, payload: MatchIn) -> Any:
    need = selectors.need_get(user=request.auth, need_id=need_id)
    _require(request, "resources.match_need", need)
    resource = Resource.objects.filter(pk=payload.resource_id).first()
    if resource is None:
        raise DomainError(_("提交的数据有误"), fields={"resource_id": [_("找不到该资源")]})
    services.need_match(actor=request.auth, need=need, resource=resource)
    return need_detail_of(request, need.pk)


@router.post(
    "/needs/{need_id}/unmatch",
    response={200: NeedDetailOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="撤销匹配（须填写原因）",
    description="已匹配 → 待匹配；待匹配的需求不做改变；已满足或已取消返回 409。",
)
def need_unmatch(request: ApiRequest, need_id: uuid.UUID, payload: ReasonIn) -> Any:
    need = selectors.need_get(user=request.auth, need_id=need_id)
    _require(request, "resources.change_need", need)
    services.need_unmatch(actor=request.auth, need=need, reason=payload.reason)
    return need_detail_of(request, need.pk)


@router.post(
    "/needs/{need_id}/cancel",
    response={200: NeedDetailOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="取消需求（须填写原因）",
    description="待匹配或已匹配 → 已取消；已取消的不做改变；已满足返回 409。",
)
def need_cancel(request: ApiRequest, need_id: uuid.UUID, payload: ReasonIn) -> Any:
    need = selectors.need_get(user=request.auth, need_id=need_id)
    _require(request, "resources.change_need", need)
    services.need_cancel(actor=request.auth, need=need, reason=payload.reason)
    return need_detail_of(request, need.pk)
