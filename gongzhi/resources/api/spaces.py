"""Learning spaces and bookings API: spaces (staff of their places; partners see the venues their provider offers),
a space's bookings over a range of days, one-off and weekly bookings, cancellation, utilisation by week.

A space the caller may not book is "not found". An overlapping booking answers 409 with code ``booking_overlap`` (one
booking) or ``series_overlap`` (a weekly series: nothing is written, the message lists the clashing dates).
"""

import datetime
import uuid
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, PermissionDenied
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors

from ..models import Booking, BookingSeries, BookingStatus, LearningSpace, Resource
from ..selectors import providers as provider_selectors
from ..selectors import spaces as selectors
from ..services import spaces as services
from .base import router

MAX_RANGE_DAYS = 92
MAX_WEEKS = 26

# --- schemas ----------------------------------------------------------------------------------------------------


class SpaceOut(Schema):
    id: uuid.UUID
    name: str
    place_code: str
    place_name: str
    address: str
    capacity: int
    opens_at: datetime.time
    closes_at: datetime.time
    weekdays: str = Field(..., description="开放的星期（ISO：1 周一 … 7 周日），如 12345")
    weekdays_label: str = Field(..., description="开放日的文字说明，如 周一至周五")
    resource_id: uuid.UUID | None = Field(..., description="提供场地的资源（资源方的场地）；社区自有场地为空")
    provider_name: str | None
    active: bool

    @staticmethod
    def resolve_place_code(obj: LearningSpace) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: LearningSpace) -> str:
        return obj.place.name

    @staticmethod
    def resolve_weekdays_label(obj: LearningSpace) -> str:
        return services.weekdays_label(obj.weekdays)

    @staticmethod
    def resolve_provider_name(obj: LearningSpace) -> str | None:
        return obj.resource.provider.name if obj.resource_id and obj.resource else None


class SpaceIn(Schema):
    place_code: str = Field(..., pattern=CODE_PATTERN, description="所在街道或社区的 12 位区划代码")
    name: str = Field(..., min_length=1, max_length=100)
    address: str = Field("", max_length=200)
    capacity: int = Field(..., ge=1, le=100000)
    opens_at: datetime.time
    closes_at: datetime.time
    weekdays: str = Field("1234567", pattern=r"^[1-7]{1,7}$", description="开放的星期，ISO 数字，如 12345")
    resource_id: uuid.UUID | None = Field(None, description="资源方提供的场地资源（类型须为 venue）")


class SpacePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    address: str | None = Field(None, max_length=200)
    capacity: int | None = Field(None, ge=1, le=100000)
    opens_at: datetime.time | None = None
    closes_at: datetime.time | None = None
    weekdays: str | None = Field(None, pattern=r"^[1-7]{1,7}$")
    resource_id: uuid.UUID | None = Field(None, description="给出 null 以外的值时更换；要去掉请用 clear_resource")
    clear_resource: bool = Field(False, description="去掉提供场地的资源")
    active: bool | None = None


class SpaceFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="只看这个区划之下（12 位代码）")
    active: bool | None = None


class BookingOut(Schema):
    id: uuid.UUID
    space_id: uuid.UUID
    series_id: uuid.UUID | None
    title: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    status: BookingStatus
    cancelled_at: datetime.datetime | None
    cancel_reason: str


class BookingIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    starts_at: datetime.datetime = Field(..., description="带时区；不带时区按北京时间")
    ends_at: datetime.datetime


class BookingRange(Schema):
    since: datetime.date | None = Field(None, description="从这一天（含），默认本周一")
    until: datetime.date | None = Field(None, description="到这一天（含），默认 since 之后 6 天；最多 92 天")
    include_cancelled: bool = False


class BookingSeriesIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    weekday: int = Field(..., ge=1, le=7, description="星期（ISO：1 周一 … 7 周日）")
    starts_at: datetime.time
    ends_at: datetime.time
    first_on: datetime.date = Field(..., description="从这一天起的第一个该星期几")
    last_on: datetime.date = Field(..., description="到这一天为止；最多 53 周")


class BookingSeriesOut(Schema):
    id: uuid.UUID
    space_id: uuid.UUID
    title: str
    weekday: int
    starts_at: datetime.time
    ends_at: datetime.time
    first_on: datetime.date
    last_on: datetime.date
    bookings: list[BookingOut]

    @staticmethod
    def resolve_bookings(obj: BookingSeries) -> list[Booking]:
        return list(obj.bookings.order_by("starts_at"))


class CancelIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)


class SeriesCancelOut(Schema):
    cancelled: int = Field(..., description="这次取消的次数（已开始的不取消；再次取消为 0）")


class WeekUseOut(Schema):
    week: datetime.date = Field(..., description="这一周的周一")
    booked_hours: float
    open_hours: float
    ratio: float | None = Field(..., description="利用率 = 已预约小时 ÷ 开放小时")


class SpaceUseOut(Schema):
    space_id: uuid.UUID
    space_name: str
    place_code: str
    active: bool
    weeks: list[WeekUseOut]


class UseFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="只看这个区划之下（12 位代码）")
    since: datetime.date | None = Field(None, description="从这一天所在的周起，默认三周前")
    weeks: int = Field(6, ge=1, le=MAX_WEEKS, description="多少周")


# --- helpers ----------------------------------------------------------------------------------------------------


def _forbidden(field: str | None = None) -> PermissionDenied:
    message = _("您无权执行此操作")
    return PermissionDenied(message, fields={field: [message]} if field else None)


def _venue(request: ApiRequest, resource_id: uuid.UUID) -> Resource:
    try:
        return provider_selectors.resource_get(user=request.auth, resource_id=resource_id)
    except DomainError as exc:
        raise DomainError(_("提交的数据有误"), fields={"resource_id": [exc.message]}) from exc


# --- spaces -----------------------------------------------------------------------------------------------------


@router.get("/spaces", response={200: list[SpaceOut], **errors(401, 404, 422)}, summary="学习空间")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def space_list(request: ApiRequest, filters: Query[SpaceFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.spaces_visible(user=request.auth, place=place, active=filters.active)


@router.post(
    "/spaces",
    response={201: SpaceOut, **errors(400, 401, 403, 409, 422)},
    summary="添加学习空间（工作人员）",
    description="同一区划内名称不能重复（409 duplicate_space）。",
)
def space_create(request: ApiRequest, payload: SpaceIn) -> Any:
    place = place_selectors.place_get(code=payload.place_code) if codes.CODE_RE.match(payload.place_code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={"place_code": [_("找不到该区划代码")]})
    if not request.auth.has_perm("resources.add_learningspace", place):
        raise _forbidden("place_code")
    resource = _venue(request, payload.resource_id) if payload.resource_id else None
    space = services.space_create(
        actor=request.auth,
        place=place,
        name=payload.name,
        address=payload.address,
        capacity=payload.capacity,
        opens_at=payload.opens_at,
        closes_at=payload.closes_at,
        weekdays=payload.weekdays,
        resource=resource,
    )
    return Status(201, selectors.space_get(user=request.auth, space_id=space.pk))


@router.get("/spaces/{space_id}", response={200: SpaceOut, **errors(401, 404, 422)}, summary="一个学习空间")
def space_detail(request: ApiRequest, space_id: uuid.UUID) -> Any:
    return selectors.space_get(user=request.auth, space_id=space_id)


@router.patch(
    "/spaces/{space_id}",
    response={200: SpaceOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改学习空间",
    description="只改给出的字段。已有的预约不受开放时间变化的影响。",
)
def space_update(request: ApiRequest, space_id: uuid.UUID, payload: SpacePatch) -> Any:
    space = selectors.space_get(user=request.auth, space_id=space_id)
    if not request.auth.has_perm("resources.change_learningspace", space):
        raise _forbidden()
    changes: dict[str, Any] = {
        k: v
        for k, v in payload.dict(exclude_unset=True).items()
        if k not in ("resource_id", "clear_resource") and v is not None
    }
    if payload.clear_resource:
        changes["resource"] = None
    elif payload.resource_id:
        changes["resource"] = _venue(request, payload.resource_id)
    services.space_update(actor=request.auth, space=space, **changes)
    return selectors.space_get(user=request.auth, space_id=space.pk)


# --- bookings ---------------------------------------------------------------------------------------------------


@router.get(
    "/spaces/{space_id}/bookings",
    response={200: list[BookingOut], **errors(400, 401, 404, 422)},
    summary="学习空间在一段日子里的预约（默认本周）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def booking_list(request: ApiRequest, space_id: uuid.UUID, filters: Query[BookingRange]) -> Any:
    space = selectors.space_get(user=request.auth, space_id=space_id)
    since = filters.since or selectors.week_start(timezone.localdate())
    until = filters.until or since + datetime.timedelta(days=6)
    if until < since:
        raise DomainError(_("提交的数据有误"), fields={"until": [_("不能早于 since")]})
    if (until - since).days > MAX_RANGE_DAYS:
        raise DomainError(_("提交的数据有误"), fields={"until": [_("一次最多查询 %(n)d 天") % {"n": MAX_RANGE_DAYS}]})
    return selectors.space_bookings(
        user=request.auth, space=space, since=since, until=until, include_cancelled=filters.include_cancelled
    )


@router.post(
    "/spaces/{space_id}/bookings",
    response={201: BookingOut, **errors(400, 401, 404, 409, 422)},
    summary="预约学习空间（一次）",
    description="须在开放日和开放时间内、同一天内，不早于今天。与已有的有效预约重叠返回 409（booking_overlap），"
    "消息写明冲突预约的时间。同一人重复提交同一预约返回原预约。",
)
def booking_create(request: ApiRequest, space_id: uuid.UUID, payload: BookingIn) -> Any:
    space = selectors.space_get(user=request.auth, space_id=space_id)
    booking = services.booking_create(
        actor=request.auth, space=space, title=payload.title, starts_at=payload.starts_at, ends_at=payload.ends_at
    )
    return Status(201, booking)


@router.post(
    "/spaces/{space_id}/booking-series",
    response={201: BookingSeriesOut, **errors(400, 401, 404, 409, 422)},
    summary="每周预约（全部成功或全部不保存）",
    description="从 first_on 到 last_on 的每个 weekday 各预约一次。任何一周冲突，整组都不保存，返回 409（series_overlap），"
    "消息列出冲突的日期。",
)
def booking_series_create(request: ApiRequest, space_id: uuid.UUID, payload: BookingSeriesIn) -> Any:
    space = selectors.space_get(user=request.auth, space_id=space_id)
    series = services.booking_series_create(
        actor=request.auth,
        space=space,
        title=payload.title,
        weekday=payload.weekday,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        first_on=payload.first_on,
        last_on=payload.last_on,
    )
    return Status(201, series)


@router.post(
    "/bookings/{booking_id}/cancel",
    response={200: BookingOut, **errors(400, 401, 404, 409, 422)},
    summary="取消预约（须填写原因；重复取消不变）",
)
def booking_cancel(request: ApiRequest, booking_id: uuid.UUID, payload: CancelIn) -> Any:
    booking = selectors.booking_get(user=request.auth, booking_id=booking_id)
    return services.booking_cancel(actor=request.auth, booking=booking, reason=payload.reason)


@router.post(
    "/booking-series/{series_id}/cancel",
    response={200: SeriesCancelOut, **errors(400, 401, 404, 422)},
    summary="取消每周预约余下的各次",
)
def booking_series_cancel(request: ApiRequest, series_id: uuid.UUID, payload: CancelIn) -> Any:
    series = selectors.series_get(user=request.auth, series_id=series_id)
    return {"cancelled": services.booking_series_cancel(actor=request.auth, series=series, reason=payload.reason)}


@router.get(
    "/space-utilisation",
    response={200: list[SpaceUseOut], **errors(401, 404, 422)},
    summary="学习空间利用率（按周）",
    description="每个学习空间每周的已预约小时、开放小时和利用率（已预约 ÷ 开放）。",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def space_utilisation(request: ApiRequest, filters: Query[UseFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    first = selectors.week_start(filters.since or timezone.localdate() - datetime.timedelta(weeks=3))
    weeks = [first + datetime.timedelta(weeks=i) for i in range(filters.weeks)]
    rows = selectors.space_utilisation(user=request.auth, weeks=weeks, place=place)
    return [
        {
            "space_id": r.space.pk,
            "space_name": r.space.name,
            "place_code": r.space.place_id,
            "active": r.space.active,
            "weeks": [
                {"week": w.week, "booked_hours": w.booked_hours, "open_hours": w.open_hours, "ratio": w.ratio}
                for w in r.weeks
            ],
        }
        for r in rows
    ]
