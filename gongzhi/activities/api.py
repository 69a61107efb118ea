"""Activities and attendance API: activities, rosters, marking attendance, QR check-in and a resident's own history.

An activity the caller may not run does not exist for them (404). Marking attendance is a PUT on the one record of a
(activity, resident): repeating it changes nothing.
"""

import datetime
import uuid
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, NotFound, PermissionDenied
from gongzhi.people import selectors as people_selectors
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place
from gongzhi.resources.models import LearningSpace, Resource, ResourceKind

from . import resource_use, selectors, services
from .models import Activity, ActivityKind, ActivityMode, Attendance, AttendanceSource, AttendanceStatus

router = Router(tags=["activities"])


# --- schemas ----------------------------------------------------------------------------------------------------


class ResourceUseOut(Schema):
    id: uuid.UUID
    ref: str
    name: str
    kind: ResourceKind
    provider_id: uuid.UUID
    provider_name: str

    @staticmethod
    def resolve_provider_name(obj: Resource) -> str:
        return obj.provider.name


class ActivityOut(Schema):
    id: uuid.UUID
    ref: str
    kind: ActivityKind
    kind_label: str
    title: str
    place_code: str
    place_name: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None
    venue: str
    organization_id: uuid.UUID | None
    capacity: int | None
    mode: ActivityMode
    description: str
    present_count: int | None = Field(None, description="出席人数（列表中给出）")
    space_id: uuid.UUID | None = Field(None, description="举办的学习空间")
    space_name: str | None = None
    booking_id: uuid.UUID | None = Field(None, description="为本活动预约该空间的记录")
    resources: list[ResourceUseOut] = Field(default_factory=list, description="使用的资源方资源（resource_refs）")

    @staticmethod
    def resolve_space_name(obj: Activity) -> str | None:
        return obj.space.name if obj.space_id is not None and obj.space is not None else None

    @staticmethod
    def resolve_resources(obj: Activity) -> list[Resource]:
        return list(obj.resources.all())

    @staticmethod
    def resolve_kind_label(obj: Activity) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_place_code(obj: Activity) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: Activity) -> str:
        return obj.place.name

    @staticmethod
    def resolve_present_count(obj: Activity) -> int | None:
        return getattr(obj, "present_count", None)


class ActivityFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="只看这个区划之下（12 位代码）")
    kind: ActivityKind | None = None
    date_from: datetime.date | None = Field(None, description="开始日期不早于")
    date_to: datetime.date | None = Field(None, description="开始日期不晚于")


class ActivityIn(Schema):
    place_code: str = Field(..., pattern=CODE_PATTERN, description="举办地（街道或社区）的 12 位区划代码")
    kind: ActivityKind
    title: str = Field(..., min_length=1, max_length=200)
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None = None
    venue: str = Field("", max_length=200)
    capacity: int | None = Field(None, ge=1)
    mode: ActivityMode = ActivityMode.LOCAL
    description: str = Field("", max_length=5000)
    ref: str = Field("", max_length=64, description="编号，默认自动生成")
    space_id: uuid.UUID | None = Field(
        None, description="举办的学习空间：按活动时间自动预约（须有结束时间）；时段已被占用时返回 409 booking_overlap"
    )
    resource_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50, description="使用的资源方资源")


class ActivityPatch(Schema):
    """Only the fields given change; ``space_id: null`` releases the space (its booking is cancelled)."""

    title: str | None = Field(None, min_length=1, max_length=200)
    starts_at: datetime.datetime | None = None
    ends_at: datetime.datetime | None = None
    venue: str | None = Field(None, max_length=200)
    capacity: int | None = Field(None, ge=1)
    description: str | None = Field(None, max_length=5000)
    space_id: uuid.UUID | None = None
    resource_ids: list[uuid.UUID] | None = Field(None, max_length=50)


class AttendanceOut(Schema):
    id: uuid.UUID
    activity_id: uuid.UUID
    resident_id: uuid.UUID
    status: AttendanceStatus
    source: AttendanceSource
    hours: Decimal | None
    recorded_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_recorded_at(obj: Attendance) -> datetime.datetime:
        return obj.created_at


class RosterEntryOut(Schema):
    resident_id: uuid.UUID
    ref: str
    name_masked: str
    phone_masked: str
    community_code: str
    status: AttendanceStatus | None
    source: AttendanceSource | None
    hours: Decimal | None


class AttendanceIn(Schema):
    status: AttendanceStatus
    hours: Decimal | None = Field(None, ge=0, le=24, decimal_places=2)


class CheckinIn(Schema):
    token: str = Field(..., min_length=1, max_length=200, description="二维码中的签到码（签到链接 /checkin/<签到码>/）")
    activity_id: uuid.UUID | None = Field(None, description="可选：只接受这场活动的签到码")


class CheckinOut(Schema):
    created: bool = Field(..., description="true：本次签到成功；false：之前已签到，未重复记录")
    message: str
    activity: ActivityOut
    attendance: AttendanceOut


class MyAttendanceOut(Schema):
    id: uuid.UUID
    status: AttendanceStatus
    source: AttendanceSource
    hours: Decimal | None
    activity_id: uuid.UUID
    activity_title: str
    activity_kind: ActivityKind
    starts_at: datetime.datetime
    place_name: str

    @staticmethod
    def resolve_activity_title(obj: Attendance) -> str:
        return obj.activity.title

    @staticmethod
    def resolve_activity_kind(obj: Attendance) -> str:
        return obj.activity.kind

    @staticmethod
    def resolve_starts_at(obj: Attendance) -> datetime.datetime:
        return obj.activity.starts_at

    @staticmethod
    def resolve_place_name(obj: Attendance) -> str:
        return obj.activity.place.name


# --- activities -------------------------------------------------------------------------------------------------


@router.get("/activities", response={200: list[ActivityOut], **errors(401, 404, 422)}, summary="活动")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def activity_list(request: ApiRequest, filters: Query[ActivityFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return _with_use(
        selectors.activities_visible(
            user=request.auth,
            place=place,
            kind=filters.kind or "",
            date_from=filters.date_from,
            date_to=filters.date_to,
        )
    )


def _with_use(qs: QuerySet[Activity]) -> QuerySet[Activity]:
    """The space and the resources of each activity, in one more query for a whole page."""
    return qs.select_related("space").prefetch_related(
        Prefetch("resources", queryset=Resource.objects.select_related("provider").order_by("provider__name", "name"))
    )


def _space_for(request: ApiRequest, place: Place, space_id: uuid.UUID | None) -> LearningSpace | None:
    if space_id is None:
        return None
    space = resource_use.spaces_for_activity(user=request.auth, place=place).filter(pk=space_id).first()
    if space is None or not request.auth.has_perm("resources.book_learningspace", space):
        raise DomainError(_("提交的数据有误"), fields={"space_id": [_("找不到该学习空间，或您无权预约")]})
    return space


def _resources_for(request: ApiRequest, place: Place, ids: list[uuid.UUID]) -> list[Resource]:
    if not ids:
        return []
    wanted = set(ids)
    found = list(resource_use.resources_for_activity(user=request.auth, place=place).filter(pk__in=wanted))
    if len(found) != len(wanted):
        missing = sorted(str(i) for i in wanted - {r.pk for r in found})
        raise DomainError(
            _("提交的数据有误"),
            fields={"resource_ids": [_("找不到这些资源，或已停用：%(ids)s") % {"ids": "、".join(missing)}]},
        )
    return found


@router.post(
    "/activities",
    response={201: ActivityOut, **errors(400, 401, 403, 409, 422)},
    summary="新建活动",
    description="给出 space_id 时同时预约该学习空间（同一事务）；时段冲突返回 409（booking_overlap），活动不会创建。",
)
def activity_create(request: ApiRequest, payload: ActivityIn) -> Any:
    place = place_selectors.place_get(code=payload.place_code) if codes.CODE_RE.match(payload.place_code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={"place_code": [_("找不到该区划代码")]})
    if not request.auth.has_perm("activities.add_activity", place):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={"place_code": [message]})
    activity = services.activity_create(
        actor=request.auth,
        place=place,
        kind=payload.kind,
        title=payload.title,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        venue=payload.venue,
        capacity=payload.capacity,
        mode=payload.mode,
        description=payload.description,
        ref=payload.ref,
        space=_space_for(request, place, payload.space_id),
        resources=_resources_for(request, place, payload.resource_ids),
    )
    return Status(201, _with_use(Activity.objects.all()).select_related("place").get(pk=activity.pk))


@router.get("/activities/{activity_id}", response={200: ActivityOut, **errors(401, 404, 422)}, summary="一场活动")
def activity_detail(request: ApiRequest, activity_id: uuid.UUID) -> Any:
    activity = selectors.activity_get(user=request.auth, activity_id=activity_id)
    return _with_use(Activity.objects.all()).select_related("place").get(pk=activity.pk)


@router.patch(
    "/activities/{activity_id}",
    response={200: ActivityOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改活动（含学习空间与使用资源）",
    description="只修改给出的字段。更换学习空间或改时间时，原预约取消并按新时间重新预约；冲突返回 409，不做任何修改。"
    "space_id 为 null 时释放空间；resource_ids 给出时替换全部使用资源。",
)
def activity_patch(request: ApiRequest, activity_id: uuid.UUID, payload: ActivityPatch) -> Any:
    activity = selectors.activity_get(user=request.auth, activity_id=activity_id)
    if not request.auth.has_perm("activities.change_activity", activity):
        raise PermissionDenied(_("您无权执行此操作"))
    given = payload.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("title", "starts_at", "ends_at", "venue", "capacity", "description"):
        if name in given:
            value = getattr(payload, name)
            if value is None and name in ("title", "starts_at", "venue", "description"):
                raise DomainError(_("提交的数据有误"), fields={name: [_("不能为空")]})
            changes[name] = value
    if "space_id" in given:
        changes["space"] = _space_for(request, activity.place, payload.space_id)
    if "resource_ids" in given and payload.resource_ids is not None:
        changes["resources"] = _resources_for(request, activity.place, payload.resource_ids)
    services.activity_update(actor=request.auth, activity=activity, **changes)
    return _with_use(Activity.objects.all()).select_related("place").get(pk=activity.pk)


def _runnable(request: ApiRequest, activity_id: uuid.UUID) -> Activity:
    activity = selectors.activity_get(user=request.auth, activity_id=activity_id)
    if not request.auth.has_perm("activities.mark_attendance", activity):
        raise NotFound(_("找不到该活动"))
    return activity


@router.get(
    "/activities/{activity_id}/roster",
    response={200: list[RosterEntryOut], **errors(401, 404, 422)},
    summary="签到名单",
    description="应到的人（组织的现任成员、课程的报名者）和已有出席记录的人。",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def activity_roster(request: ApiRequest, activity_id: uuid.UUID) -> Any:
    activity = _runnable(request, activity_id)
    return [
        {
            "resident_id": row.resident.pk,
            "ref": row.resident.ref,
            "name_masked": row.resident.masked_name,
            "phone_masked": row.resident.masked_phone,
            "community_code": row.resident.community_id,
            "status": row.attendance.status if row.attendance else None,
            "source": row.attendance.source if row.attendance else None,
            "hours": row.attendance.hours if row.attendance else None,
        }
        for row in selectors.roster(user=request.auth, activity=activity)
    ]


@router.put(
    "/activities/{activity_id}/attendance/{resident_id}",
    response={200: AttendanceOut, **errors(400, 401, 403, 404, 422)},
    summary="记录出席（名单勾选）",
    description="同一人同一活动只有一条记录；重复提交不会重复创建。",
)
def attendance_mark(request: ApiRequest, activity_id: uuid.UUID, resident_id: uuid.UUID, payload: AttendanceIn) -> Any:
    activity = _runnable(request, activity_id)
    row = selectors.roster_row(user=request.auth, activity=activity, resident_id=resident_id)
    attendance, _created = services.roster_mark(
        actor=request.auth, activity=activity, resident=row.resident, status=payload.status, hours=payload.hours
    )
    return attendance


# --- residents --------------------------------------------------------------------------------------------------


@router.post(
    "/checkin",
    response={200: CheckinOut, **errors(400, 401, 422)},
    summary="扫码签到",
    description="居民用手机扫描现场屏幕上的二维码。签到码几秒一换、约 30 秒内有效，只在活动开始前 30 分钟到结束之间"
    "可用。错误代码：invalid（无效）、expired（过期）、other_activity（其他活动）、not_started、ended、no_resident。",
)
def checkin(request: ApiRequest, payload: CheckinIn) -> Any:
    expected = None
    if payload.activity_id is not None:
        expected = Activity.objects.select_related("place").filter(pk=payload.activity_id).first()
    if payload.activity_id is not None and expected is None:
        raise DomainError(_("签到码无效"), fields={"activity_id": [_("找不到该活动")]}, code="invalid")
    attendance, created = services.checkin_by_qr(user=request.auth, token=payload.token, activity=expected)
    return {
        "created": created,
        "message": _("签到成功") if created else _("您已签到"),
        "activity": attendance.activity,
        "attendance": attendance,
    }


@router.get("/me/attendance", response={200: list[MyAttendanceOut], **errors(401, 422)}, summary="我的活动（出席记录）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def my_attendance(request: ApiRequest) -> Any:
    resident = people_selectors.resident_of_user(user=request.auth)
    return selectors.attendance_of_resident(user=request.auth, resident=resident)
