"""Organisations API: learning communities and other groups, their members (masked) and stages.

An organisation the caller may not see is "not found". Joining and leaving are idempotent: a second join returns the
current membership (200 instead of 201), leaving when not a member changes nothing (204).
"""

import datetime
import uuid
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, PermissionDenied
from gongzhi.people import selectors as people_selectors
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from . import selectors, services
from .models import (
    Membership,
    MembershipRole,
    Organization,
    OrganizationKind,
    OrganizationStage,
    OrganizationStatus,
    StageChange,
)

router = Router(tags=["organizations"])


# --- schemas ----------------------------------------------------------------------------------------------------


class OrganizationOut(Schema):
    id: uuid.UUID
    ref: str
    name: str
    kind: OrganizationKind
    kind_label: str
    place_code: str
    place_name: str
    theme: str
    charter: str
    stage: OrganizationStage
    status: OrganizationStatus
    founded_on: datetime.date | None
    dissolved_on: datetime.date | None
    member_count: int = Field(..., description="当前成员数")
    proposed_by_masked: str = Field(..., description="发起人（脱敏），没有时为空")
    review_note: str

    @staticmethod
    def resolve_kind_label(obj: Organization) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_place_code(obj: Organization) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: Organization) -> str:
        return obj.place.name

    @staticmethod
    def resolve_member_count(obj: Organization) -> int:
        count = getattr(obj, "member_count", None)
        if count is None:
            count = obj.memberships.filter(left_on__isnull=True).count()
        return int(count)

    @staticmethod
    def resolve_proposed_by_masked(obj: Organization) -> str:
        return obj.proposed_by.masked_name if obj.proposed_by_id and obj.proposed_by else ""


class NearOrganizationOut(OrganizationOut):
    is_member: bool = Field(..., description="我是否是当前成员")


class OrganizationFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="只看这个区划之下（12 位代码）")
    kind: OrganizationKind | None = None
    status: OrganizationStatus | None = None
    q: str = Field("", max_length=40, description="名称或主题包含，或编号")


class NearFilters(Schema):
    kind: OrganizationKind | None = None


class OrganizationIn(Schema):
    place_code: str = Field(..., pattern=CODE_PATTERN, description="所属街道或社区的 12 位区划代码")
    kind: OrganizationKind
    name: str = Field(..., min_length=1, max_length=100)
    theme: str = Field("", max_length=100)
    charter: str = Field("", max_length=5000)
    founded_on: datetime.date | None = Field(None, description="成立日期，默认今天")
    stage: OrganizationStage = OrganizationStage.GRASSROOTS
    ref: str = Field("", max_length=64, description="编号，默认自动生成")


class ProposalIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    place_code: str | None = Field(
        None, pattern=CODE_PATTERN, description="在哪里活动：本人所在社区或其街道，默认所在社区"
    )
    theme: str = Field("", max_length=100)
    charter: str = Field("", max_length=5000)


class ReviewIn(Schema):
    approve: bool
    note: str = Field("", max_length=300, description="审核意见；不通过时必填")


class StageChangeIn(Schema):
    """A stage change is a staff decision: effective date (not in the future), reason and evidence are required.
    Leaving grassroots needs the admission standard met (400, ``code="admission_unmet"``, the unmet items listed)."""

    to_stage: OrganizationStage
    changed_on: datetime.date | None = Field(None, description="生效日期，默认今天；不能晚于今天、不能早于上一次调整")
    reason: str = Field(..., min_length=1, max_length=300)
    evidence: str = Field(..., min_length=1, max_length=5000, description="依据：如评估报告、协议、登记证书")


class StageChangeOut(Schema):
    id: uuid.UUID
    from_stage: OrganizationStage | None
    to_stage: OrganizationStage
    changed_on: datetime.date
    reason: str
    evidence: str
    decided_by: str = Field(..., description="决定的工作人员（称呼）；导入或成立记录为空")

    @staticmethod
    def resolve_decided_by(obj: StageChange) -> str:
        return str(obj.decided_by) if obj.decided_by_id and obj.decided_by else ""

    @staticmethod
    def resolve_from_stage(obj: StageChange) -> str | None:
        return obj.from_stage or None


class OrganizationMemberOut(Schema):
    """A member, with the name masked."""

    id: uuid.UUID
    resident_id: uuid.UUID
    resident_ref: str
    name_masked: str
    community_code: str
    role: MembershipRole
    joined_on: datetime.date
    left_on: datetime.date | None

    @staticmethod
    def resolve_resident_ref(obj: Membership) -> str:
        return obj.resident.ref

    @staticmethod
    def resolve_name_masked(obj: Membership) -> str:
        return obj.resident.masked_name

    @staticmethod
    def resolve_community_code(obj: Membership) -> str:
        return obj.resident.community_id


class MyMembershipOut(Schema):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    place_code: str
    role: MembershipRole
    joined_on: datetime.date
    left_on: datetime.date | None

    @staticmethod
    def resolve_organization_name(obj: Membership) -> str:
        return obj.organization.name

    @staticmethod
    def resolve_place_code(obj: Membership) -> str:
        return obj.organization.place_id


# --- helpers ----------------------------------------------------------------------------------------------------


def _place_named(code: str, field: str) -> Place:
    place = place_selectors.place_get(code=code) if codes.CODE_RE.match(code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={field: [_("找不到该区划代码")]})
    return place


def _require(request: ApiRequest, perm: str, obj: Any, field: str | None = None) -> None:
    if not request.auth.has_perm(perm, obj):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={field: [message]} if field else None)


def _resident(request: ApiRequest) -> Any:
    resident = people_selectors.resident_of_user(user=request.auth)
    if resident is None:
        raise PermissionDenied(_("只有登记过的居民可以这样做"))
    return resident


# --- organisations ----------------------------------------------------------------------------------------------


@router.get(
    "/organizations", response={200: list[OrganizationOut], **errors(401, 404, 422)}, summary="组织（工作人员）"
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def organization_list(request: ApiRequest, filters: Query[OrganizationFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.organizations_visible(
        user=request.auth, place=place, kind=filters.kind or "", status=filters.status or "", search=filters.q
    )


@router.get(
    "/organizations/near",
    response={200: list[NearOrganizationOut], **errors(401, 422)},
    summary="我身边可以加入的组织（居民）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def organization_near(request: ApiRequest, filters: Query[NearFilters]) -> Any:
    return selectors.organizations_near(user=request.auth, kind=filters.kind or "")


@router.get("/me/memberships", response={200: list[MyMembershipOut], **errors(401, 422)}, summary="我参加的组织")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def my_memberships(request: ApiRequest) -> Any:
    return selectors.memberships_of(user=request.auth)


@router.post("/organizations", response={201: OrganizationOut, **errors(400, 401, 403, 409, 422)}, summary="新建组织")
def organization_create(request: ApiRequest, payload: OrganizationIn) -> Any:
    place = _place_named(payload.place_code, "place_code")
    _require(request, "organizations.add_organization", place, "place_code")
    organization = services.organization_create(
        actor=request.auth,
        place=place,
        kind=payload.kind,
        name=payload.name,
        theme=payload.theme,
        charter=payload.charter,
        founded_on=payload.founded_on,
        stage=payload.stage,
        ref=payload.ref,
    )
    return Status(201, organization)


@router.post(
    "/organizations/proposals",
    response={201: OrganizationOut, **errors(400, 401, 403, 422)},
    summary="居民发起学习共同体（待审核）",
)
def organization_propose(request: ApiRequest, payload: ProposalIn) -> Any:
    resident = _resident(request)
    place = _place_named(payload.place_code or resident.community_id, "place_code")
    organization = services.organization_propose(
        resident=resident, place=place, name=payload.name, theme=payload.theme, charter=payload.charter
    )
    return Status(201, organization)


@router.get(
    "/organizations/{organization_id}", response={200: OrganizationOut, **errors(401, 404, 422)}, summary="一个组织"
)
def organization_detail(request: ApiRequest, organization_id: uuid.UUID) -> Any:
    return selectors.organization_get(user=request.auth, organization_id=organization_id)


@router.post(
    "/organizations/{organization_id}/review",
    response={200: OrganizationOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="审核学习共同体申请",
    description="通过：成立日期为今天，发起人成为负责人；不通过：须填写审核意见。已审核的申请不能再审核（409）。",
)
def organization_review(request: ApiRequest, organization_id: uuid.UUID, payload: ReviewIn) -> Any:
    organization = selectors.organization_get(user=request.auth, organization_id=organization_id)
    _require(request, "organizations.review_organization", organization)
    services.organization_review(
        actor=request.auth, organization=organization, approve=payload.approve, note=payload.note
    )
    return selectors.organization_get(user=request.auth, organization_id=organization_id)


@router.post(
    "/organizations/{organization_id}/join",
    response={200: MyMembershipOut, 201: MyMembershipOut, **errors(400, 401, 403, 404, 422)},
    summary="加入组织（居民）",
    description="已经是成员时返回当前的成员记录（200），不会重复加入。",
)
def organization_join(request: ApiRequest, organization_id: uuid.UUID) -> Any:
    resident = _resident(request)
    organization = selectors.organization_get(user=request.auth, organization_id=organization_id)
    _require(request, "organizations.join_organization", organization)
    membership, created = services.membership_join(resident=resident, organization=organization)
    return Status(201 if created else 200, membership)


@router.post(
    "/organizations/{organization_id}/leave",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="退出组织（居民）",
    description="不是成员时什么也不改变。",
)
def organization_leave(request: ApiRequest, organization_id: uuid.UUID) -> Any:
    resident = _resident(request)
    membership = selectors.memberships_of(user=request.auth).filter(organization_id=organization_id).first()
    if membership is None:
        # Not a current member: nothing to do; an organisation the caller cannot see is still "not found".
        selectors.organization_get(user=request.auth, organization_id=organization_id)
        return Status(204, None)
    services.membership_leave(resident=resident, organization=membership.organization)
    return Status(204, None)


@router.get(
    "/organizations/{organization_id}/members",
    response={200: list[OrganizationMemberOut], **errors(401, 403, 404, 422)},
    summary="组织的成员（脱敏）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def organization_members(request: ApiRequest, organization_id: uuid.UUID) -> Any:
    organization = selectors.organization_get(user=request.auth, organization_id=organization_id)
    _require(request, "organizations.view_membership", organization)
    return selectors.members_of(user=request.auth, organization=organization)


@router.get(
    "/organizations/{organization_id}/stage-changes",
    response={200: list[StageChangeOut], **errors(401, 404, 422)},
    summary="发展阶段历程",
)
def organization_stage_history(request: ApiRequest, organization_id: uuid.UUID) -> Any:
    organization = selectors.organization_get(user=request.auth, organization_id=organization_id)
    return list(selectors.stage_history(user=request.auth, organization=organization))


@router.post(
    "/organizations/{organization_id}/stage-changes",
    response={201: StageChangeOut, **errors(400, 401, 403, 404, 422)},
    summary="调整发展阶段",
)
def organization_stage_change(request: ApiRequest, organization_id: uuid.UUID, payload: StageChangeIn) -> Any:
    from django.utils import timezone

    organization = selectors.organization_get(user=request.auth, organization_id=organization_id)
    _require(request, "organizations.change_organization", organization)
    change = services.organization_stage_change(
        actor=request.auth,
        organization=organization,
        to_stage=payload.to_stage,
        changed_on=payload.changed_on or timezone.localdate(),
        reason=payload.reason,
        evidence=payload.evidence,
    )
    return Status(201, change)
