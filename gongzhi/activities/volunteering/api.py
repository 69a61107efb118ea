"""育 volunteering API: volunteer events with sign-up, the volunteer-hours ledger (record, confirm, reverse) and a
resident's own hours.

A team, event or entry the caller may not act on does not exist for them (404). Nobody confirms their own hours
(403 ``self_confirm``). A full event answers 409 ``full``; recording other hours for an event already recorded answers
409 ``already_recorded`` (a correction is a reversal).
"""

import datetime
import uuid
from decimal import Decimal
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, NotFound
from gongzhi.people import selectors as people_selectors
from gongzhi.people.models import Resident

from ..models import Activity, ActivitySignup, SignupStatus, VolunteerHours
from . import selectors, services
from .record_export import entry_state

router = Router(tags=["volunteering"])

HoursState = Literal["confirmed", "pending", "cancelled", "correction"]


# --- schemas ----------------------------------------------------------------------------------------------------


class VolunteerEventOut(Schema):
    id: uuid.UUID
    ref: str
    title: str
    team_id: uuid.UUID | None
    team_name: str
    place_code: str
    place_name: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None
    venue: str
    description: str
    capacity: int | None
    signup_open: bool
    signup_count: int | None = Field(None, description="有效报名人数")
    signed_up: bool | None = Field(None, description="我是否已报名（居民列表中给出）")

    @staticmethod
    def resolve_team_id(obj: Activity) -> Any:
        return obj.organization_id

    @staticmethod
    def resolve_team_name(obj: Activity) -> str:
        return obj.organization.name if obj.organization_id and obj.organization else ""

    @staticmethod
    def resolve_place_code(obj: Activity) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: Activity) -> str:
        return obj.place.name

    @staticmethod
    def resolve_signup_count(obj: Activity) -> int | None:
        return getattr(obj, "signup_count", None)

    @staticmethod
    def resolve_signed_up(obj: Activity) -> bool | None:
        return getattr(obj, "signed_up", None)


class VolunteerEventIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None = None
    venue: str = Field("", max_length=200)
    capacity: int | None = Field(None, ge=1, description="名额，不填表示不限")
    description: str = Field("", max_length=5000)
    signup_open: bool = Field(True, description="是否开放居民报名")


class SignupOut(Schema):
    id: uuid.UUID
    activity_id: uuid.UUID
    status: SignupStatus
    signed_up_at: datetime.datetime
    cancelled_at: datetime.datetime | None

    @staticmethod
    def resolve_signed_up_at(obj: ActivitySignup) -> datetime.datetime:
        return obj.created_at


class SignupRosterOut(Schema):
    resident_id: uuid.UUID
    ref: str
    name_masked: str
    community_code: str
    signed_up_at: datetime.datetime


class HoursOut(Schema):
    id: uuid.UUID
    resident_id: uuid.UUID
    resident_ref: str
    name_masked: str
    team_id: uuid.UUID
    team_name: str
    activity_id: uuid.UUID | None
    activity_title: str
    served_on: datetime.date
    hours: Decimal
    note: str
    state: HoursState = Field(
        ..., description="confirmed 已确认；pending 待确认；cancelled 已撤销（待确认时冲正为 0）；correction 冲正记录"
    )
    confirmed_at: datetime.datetime | None
    reversal_of: uuid.UUID | None = Field(None, description="冲正记录：被更正的原记录")

    @staticmethod
    def resolve_resident_ref(obj: VolunteerHours) -> str:
        return obj.resident.ref

    @staticmethod
    def resolve_name_masked(obj: VolunteerHours) -> str:
        return obj.resident.masked_name

    @staticmethod
    def resolve_team_id(obj: VolunteerHours) -> Any:
        return obj.organization_id

    @staticmethod
    def resolve_team_name(obj: VolunteerHours) -> str:
        return obj.organization.name

    @staticmethod
    def resolve_activity_title(obj: VolunteerHours) -> str:
        return obj.activity.title if obj.activity_id and obj.activity else ""

    @staticmethod
    def resolve_state(obj: VolunteerHours) -> str:
        return entry_state(obj)

    @staticmethod
    def resolve_reversal_of(obj: VolunteerHours) -> Any:
        return obj.reversal_of_id


class HoursIn(Schema):
    team_id: uuid.UUID
    resident_id: uuid.UUID
    hours: Decimal = Field(..., gt=0, le=24, decimal_places=2, description="时长（小时），大于 0、不超过 24")
    activity_id: uuid.UUID | None = Field(None, description="活动；给出时服务日期取活动日期")
    served_on: datetime.date | None = Field(None, description="服务日期（没有活动时必填，不能晚于今天）")
    note: str = Field("", max_length=300)
    confirm: bool = Field(False, description="同时确认（记录人不是志愿者本人时）")


class BulkRowIn(Schema):
    resident_id: uuid.UUID
    hours: Decimal = Field(..., gt=0, le=24, decimal_places=2)
    note: str = Field("", max_length=300)


class BulkIn(Schema):
    rows: list[BulkRowIn] = Field(..., min_length=1, max_length=500)
    confirm: bool = Field(False, description="同时确认（记录人本人的时长除外）")


class BulkOut(Schema):
    created: int
    unchanged: int
    confirmed: int
    own_pending: int = Field(..., description="记录人本人的时长：已记录，需由他人确认")
    entries: list[HoursOut]


class HoursReverseIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300, description="冲正原因")
    hours: Decimal = Field(Decimal(0), ge=0, le=24, decimal_places=2, description="更正后的时长；0 表示撤销")


class HoursFilters(Schema):
    status: Literal["pending", "confirmed", "to_confirm"] | None = Field(
        None, description="pending 待确认；confirmed 已确认；to_confirm 我可以确认的（不含本人的）"
    )
    team_id: uuid.UUID | None = None
    activity_id: uuid.UUID | None = None


class RecordLineOut(Schema):
    year: int
    team_id: uuid.UUID
    team_name: str
    place_name: str
    confirmed: Decimal
    pending: Decimal


class RecordOut(Schema):
    confirmed: Decimal = Field(..., description="已确认时长合计")
    pending: Decimal = Field(..., description="待确认时长合计")
    lines: list[RecordLineOut]


# --- helpers ----------------------------------------------------------------------------------------------------


def _resident(request: ApiRequest) -> Resident:
    resident = people_selectors.resident_of_user(user=request.auth)
    if resident is None:
        raise NotFound(_("您还没有居民档案"), code="no_resident")
    return resident


def _entry_out(entry_id: Any) -> VolunteerHours:
    return VolunteerHours.objects.select_related("resident", "organization", "activity", "reversed_by").get(pk=entry_id)


def _event_out(activity_id: Any) -> Activity:
    return Activity.objects.select_related("place", "organization").get(pk=activity_id)


# --- residents --------------------------------------------------------------------------------------------------


@router.get(
    "/me/volunteer-events",
    response={200: list[VolunteerEventOut], **errors(401, 404, 422)},
    summary="可以报名的志愿服务活动",
    description="本社区、本街道以及我所在服务队的、尚未开始且开放报名的志愿服务活动。",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def my_volunteer_events(request: ApiRequest) -> Any:
    return selectors.events_open_for(user=request.auth, resident=_resident(request))


@router.post(
    "/volunteer-events/{activity_id}/signup",
    response={200: SignupOut, 201: SignupOut, **errors(400, 401, 404, 409, 422)},
    summary="报名志愿服务活动",
    description="201：报名成功；200：之前已报名（重复提交不会重复报名）。名额已满返回 409（full）；未开放报名、"
    "活动已开始返回 400（signup_closed、started）。",
)
def signup_create(request: ApiRequest, activity_id: uuid.UUID) -> Any:
    resident = _resident(request)
    activity = selectors.open_event_get(user=request.auth, activity_id=activity_id)
    signup, created = services.signup_create(resident=resident, activity=activity)
    return Status(201 if created else 200, signup)


@router.delete(
    "/volunteer-events/{activity_id}/signup",
    response={200: SignupOut, **errors(400, 401, 404, 422)},
    summary="取消报名",
    description="活动开始前可以取消。没有有效报名时返回 404。",
)
def signup_cancel(request: ApiRequest, activity_id: uuid.UUID) -> Any:
    resident = _resident(request)
    activity = selectors.open_event_get(user=request.auth, activity_id=activity_id)
    signup = services.signup_cancel(resident=resident, activity=activity)
    if signup is None:
        raise NotFound(_("您没有报名这次活动"), code="not_signed_up")
    return signup


@router.get(
    "/me/volunteer-hours",
    response={200: list[HoursOut], **errors(401, 404, 422)},
    summary="我的志愿服务时长（明细）",
    description="我的全部记录：待确认、已确认、冲正。只有已确认的计入时长。",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def my_volunteer_hours(request: ApiRequest) -> Any:
    return selectors.entries_of_resident(user=request.auth, resident=_resident(request))


@router.get(
    "/me/volunteer-record",
    response={200: RecordOut, **errors(401, 404)},
    summary="我的志愿服务记录（按年度和服务队）",
)
def my_volunteer_record(request: ApiRequest) -> Any:
    record = selectors.service_record(user=request.auth, resident=_resident(request))
    return {
        "confirmed": record.confirmed,
        "pending": record.pending,
        "lines": [line.__dict__ for line in record.lines],
    }


# --- team leaders and staff -------------------------------------------------------------------------------------


@router.post(
    "/volunteer-teams/{team_id}/events",
    response={201: VolunteerEventOut, **errors(400, 401, 404, 422)},
    summary="发布志愿服务活动",
    description="服务队负责人或覆盖其区划的工作人员。活动在服务队所属区划举办。",
)
def volunteer_event_create(request: ApiRequest, team_id: uuid.UUID, payload: VolunteerEventIn) -> Any:
    team = selectors.team_get(user=request.auth, team_id=team_id)
    activity = services.volunteer_event_create(
        actor=request.auth,
        team=team,
        title=payload.title,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        venue=payload.venue,
        capacity=payload.capacity,
        description=payload.description,
        signup_open=payload.signup_open,
    )
    return Status(201, _event_out(activity.pk))


@router.get(
    "/volunteer-events/{activity_id}/signups",
    response={200: list[SignupRosterOut], **errors(401, 404, 422)},
    summary="活动的报名名单",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def volunteer_event_signups(request: ApiRequest, activity_id: uuid.UUID) -> Any:
    activity = selectors.event_get(user=request.auth, activity_id=activity_id)
    signups = (
        ActivitySignup.objects.filter(activity=activity, status=SignupStatus.SIGNED_UP)
        .select_related("resident")
        .order_by("created_at")
    )
    return [
        {
            "resident_id": s.resident_id,
            "ref": s.resident.ref,
            "name_masked": s.resident.masked_name,
            "community_code": s.resident.community_id,
            "signed_up_at": s.created_at,
        }
        for s in signups
    ]


@router.get(
    "/volunteer-hours",
    response={200: list[HoursOut], **errors(401, 422)},
    summary="服务队的志愿服务时长",
    description="我负责的服务队（工作人员：所覆盖区划的服务队）的记录。status=to_confirm：等待我确认的（不含本人的）。",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def volunteer_hours_list(request: ApiRequest, filters: Query[HoursFilters]) -> Any:
    team = selectors.team_get(user=request.auth, team_id=filters.team_id) if filters.team_id else None
    if filters.status == "to_confirm":
        qs = selectors.hours_to_confirm(user=request.auth, team=team)
        if filters.activity_id:
            qs = qs.filter(activity_id=filters.activity_id)
        return qs
    activity = selectors.event_get(user=request.auth, activity_id=filters.activity_id) if filters.activity_id else None
    return selectors.entries_managed(user=request.auth, team=team, status=filters.status or "", activity=activity)


@router.post(
    "/volunteer-hours",
    response={200: HoursOut, 201: HoursOut, **errors(400, 401, 404, 409, 422)},
    summary="记录志愿服务时长",
    description="服务队负责人或工作人员记录（待确认）。给出 activity_id 时按活动记录，同一人同一活动只记一次：重复提交"
    "相同时长返回 200 和已有记录，不同时长返回 409（already_recorded，请冲正）。confirm=true 且记录人不是志愿者本人时"
    "同时确认。",
)
def volunteer_hours_record(request: ApiRequest, payload: HoursIn) -> Any:
    team = selectors.team_get(user=request.auth, team_id=payload.team_id)
    resident = Resident.objects.filter(pk=payload.resident_id).first()
    if resident is None:
        raise DomainError(_("提交的数据有误"), fields={"resident_id": [_("找不到该居民")]})
    activity = None
    if payload.activity_id is not None:
        activity = Activity.objects.select_related("place").filter(pk=payload.activity_id).first()
        if activity is None or activity.organization_id != team.pk:
            raise DomainError(_("提交的数据有误"), fields={"activity_id": [_("找不到该服务队的这次活动")]})
    entry, created = services.volunteer_hours_record(
        actor=request.auth,
        team=team,
        resident=resident,
        hours=payload.hours,
        served_on=payload.served_on,
        activity=activity,
        note=payload.note,
        confirm=payload.confirm,
    )
    return Status(201 if created else 200, _entry_out(entry.pk))


@router.post(
    "/volunteer-events/{activity_id}/hours",
    response={201: BulkOut, **errors(400, 401, 404, 409, 422)},
    summary="批量记录一次活动的服务时长",
    description='全部正确才保存，有一行错误则一条也不保存；错误按行和字段给出，如 fields["rows.2.hours"]。',
)
def volunteer_hours_bulk(request: ApiRequest, activity_id: uuid.UUID, payload: BulkIn) -> Any:
    activity = selectors.event_get(user=request.auth, activity_id=activity_id)
    rows = [
        services.HoursRow(line=i, resident_id=row.resident_id, hours=row.hours, note=row.note)
        for i, row in enumerate(payload.rows, start=1)
    ]
    result = services.volunteer_hours_record_bulk(
        actor=request.auth, activity=activity, rows=rows, confirm=payload.confirm
    )
    ids = [e.pk for e in (*result.created, *result.unchanged)]
    entries = VolunteerHours.objects.select_related("resident", "organization", "activity", "reversed_by").filter(
        pk__in=ids
    )
    return Status(
        201,
        {
            "created": len(result.created),
            "unchanged": len(result.unchanged),
            "confirmed": result.confirmed,
            "own_pending": result.own_pending,
            "entries": sorted(entries, key=lambda e: (e.resident.ref, str(e.pk))),
        },
    )


@router.post(
    "/volunteer-hours/{entry_id}/confirm",
    response={200: HoursOut, **errors(400, 401, 403, 404)},
    summary="确认志愿服务时长",
    description="由志愿者本人以外的服务队负责人或工作人员确认；本人确认返回 403（self_confirm）。重复确认不会重复计入。",
)
def volunteer_hours_confirm(request: ApiRequest, entry_id: uuid.UUID) -> Any:
    entry = selectors.entry_get(user=request.auth, entry_id=entry_id)
    if not request.auth.has_perm("activities.reverse_volunteerhours", entry):
        raise NotFound(_("找不到该记录"))
    confirmed, _changed = services.volunteer_hours_confirm(actor=request.auth, entry=entry)
    return _entry_out(confirmed.pk)


@router.post(
    "/volunteer-hours/{entry_id}/reversal",
    response={201: HoursOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="冲正（更正）志愿服务时长",
    description="追加一条冲正记录（负时长），原记录保留；hours 为更正后的时长（0 表示撤销）。每条记录只能冲正一次"
    "（409 already_reversed）。已确认的记录冲正后立即生效，本人不能冲正自己已确认的时长（403）。",
)
def volunteer_hours_reverse(request: ApiRequest, entry_id: uuid.UUID, payload: HoursReverseIn) -> Any:
    entry = selectors.entry_get(user=request.auth, entry_id=entry_id)
    if not request.auth.has_perm("activities.reverse_volunteerhours", entry):
        raise NotFound(_("找不到该记录"))
    reversal = services.volunteer_hours_reverse(
        actor=request.auth, entry=entry, reason=payload.reason, hours=payload.hours
    )
    return Status(201, _entry_out(reversal.pk))
