"""Fulfilment API: fulfil a matched need with an activity (an existing one, or a new one recorded with it), and a
resident who came rates it. The need's other operations are in ``gongzhi.resources.api.needs``."""

import datetime
import uuid
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, ApiRequest, errors
from gongzhi.core.errors import DomainError, NotFound, PermissionDenied
from gongzhi.places.models import Place
from gongzhi.resources.api.needs import NeedDetailOut, need_detail_of
from gongzhi.resources.selectors import needs as need_selectors

from .. import selectors as activity_selectors
from ..models import ActivityKind
from . import selectors, services

router = Router(tags=["fulfilment"])


class NewActivityIn(Schema):
    place_code: str | None = Field(None, pattern=CODE_PATTERN, description="举办地：需求所在社区（默认）或其街道")
    kind: ActivityKind = ActivityKind.COURSE_SESSION
    title: str = Field(..., min_length=1, max_length=200)
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None = None
    venue: str = Field("", max_length=200)
    description: str = Field("", max_length=2000)


class FulfilIn(Schema):
    activity_id: uuid.UUID | None = Field(None, description="已举办的活动（本社区或所在街道）")
    new_activity: NewActivityIn | None = Field(None, description="或者：同时登记一场新活动")


class FulfilOut(Schema):
    need: NeedDetailOut
    activity_id: uuid.UUID
    linked: bool = Field(..., description="本次新关联了活动（重复提交为 false，不做改变）")


class NeedRatingIn(Schema):
    score: int = Field(..., ge=1, le=5)
    comment: str = Field("", max_length=300)


class NeedRatingOut(Schema):
    id: uuid.UUID
    need_id: uuid.UUID
    resource_id: uuid.UUID | None
    score: int
    comment: str
    created_at: datetime.datetime
    created: bool = Field(..., description="本次新建；已经评价过时为 false，评价不变")


def _renamed(exc: DomainError, names: dict[str, str]) -> DomainError:
    """The service's error with its field names as the client sent them."""
    exc.fields = {names.get(k, k): v for k, v in exc.fields.items()}
    return exc


def _managed_need(request: ApiRequest, need_id: Any) -> Any:
    need = need_selectors.need_get(user=request.auth, need_id=need_id)
    if not request.auth.has_perm("resources.change_need", need):
        raise PermissionDenied(_("您无权执行此操作"))
    return need


@router.post(
    "/needs/{need_id}/fulfil",
    response={200: FulfilOut, 201: FulfilOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="登记需求满足（关联活动）",
    description="给出 activity_id（本社区或所在街道已举办的活动），或 new_activity（同时登记活动）。需求须已匹配；"
    "活动记为满足了该需求并使用了匹配的资源，需求变为已满足，满足日期为活动日期。重复关联同一活动返回 200，不做改变。",
)
def need_fulfil(request: ApiRequest, need_id: uuid.UUID, payload: FulfilIn) -> Any:
    need = _managed_need(request, need_id)
    user = request.auth
    if (payload.activity_id is None) == (payload.new_activity is None):
        message = _("请给出 activity_id 或 new_activity 之一")
        raise DomainError(_("提交的数据有误"), fields={"activity_id": [message]})
    if payload.activity_id is not None:
        try:
            activity = activity_selectors.activity_get(user=user, activity_id=payload.activity_id)
        except NotFound as exc:
            raise DomainError(_("提交的数据有误"), fields={"activity_id": [exc.message]}) from exc
        if not user.has_perm("activities.change_activity", activity):
            raise PermissionDenied(_("您无权执行此操作"), fields={"activity_id": [_("您无权执行此操作")]})
        try:
            _need, linked = services.need_fulfil(actor=user, need=need, activity=activity)
        except DomainError as exc:
            raise _renamed(exc, {"activity": "activity_id"}) from exc
    else:
        data = payload.new_activity
        assert data is not None
        code = data.place_code or need.community_id
        place = Place.objects.filter(code=code).first()
        if place is None or code not in services.activity_places(need):
            raise DomainError(
                _("提交的数据有误"), fields={"new_activity.place_code": [_("只能在本社区或所在街道举办")]}
            )
        if not user.has_perm("activities.add_activity", place):
            message = _("您无权执行此操作")
            raise PermissionDenied(message, fields={"new_activity.place_code": [message]})
        try:
            _need, activity = services.need_fulfil_with_new_activity(
                actor=user,
                need=need,
                place=place,
                kind=data.kind,
                title=data.title,
                starts_at=data.starts_at,
                ends_at=data.ends_at,
                venue=data.venue,
                description=data.description,
            )
        except DomainError as exc:
            names = {k: f"new_activity.{'place_code' if k == 'place' else k}" for k in exc.fields if k != "status"}
            raise _renamed(exc, names) from exc
        linked = True
    body = {"need": need_detail_of(request, need.pk), "activity_id": activity.pk, "linked": linked}
    return Status(201 if linked else 200, body)


@router.post(
    "/needs/{need_id}/ratings",
    response={200: NeedRatingOut, 201: NeedRatingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="评价需求的满足（参加了活动的居民）",
    description="只有出席了满足该需求的活动的居民可以评价，每人一次；再次提交返回已有的评价（200，created=false），"
    "评价不变。评分计入匹配资源的历史评分。",
)
def need_rate(request: ApiRequest, need_id: uuid.UUID, payload: NeedRatingIn) -> Any:
    need = selectors.need_for_rating(user=request.auth, need_id=need_id)
    state = selectors.rating_state(user=request.auth, need=need)
    if state.resident is None:
        raise PermissionDenied(_("只有居民可以评价"))
    rating, created = services.need_rate(
        resident=state.resident, need=need, score=payload.score, comment=payload.comment
    )
    body = {
        "id": rating.pk,
        "need_id": rating.need_id,
        "resource_id": rating.resource_id,
        "score": rating.score,
        "comment": rating.comment,
        "created_at": rating.created_at,
        "created": created,
    }
    return Status(201 if created else 200, body)
