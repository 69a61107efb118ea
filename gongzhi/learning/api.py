"""Learning API: courses and sessions, series and teachers, enrolment, and the points ledger.

A course the caller may not see is "not found". Residents enrol and cancel for themselves (idempotent) and see only
their own enrolments and points; staff covering a resident's community may reverse that resident's points.
"""

import datetime
import uuid
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.activities.models import ActivityMode
from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, NotFound, PermissionDenied
from gongzhi.people.selectors import resident_of_user
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from . import selectors, services
from .models import Course, CourseSession, CourseStatus, Enrolment, EnrolmentStatus, PointsEntry, Series, Teacher

router = Router(tags=["learning"])

# --- schemas ----------------------------------------------------------------------------------------------------


class SeriesOut(Schema):
    id: uuid.UUID
    name: str
    place_code: str
    description: str

    @staticmethod
    def resolve_place_code(obj: Series) -> str:
        return obj.place_id


class SeriesIn(Schema):
    place: str = Field(..., pattern=CODE_PATTERN)
    name: str = Field(..., min_length=1, max_length=100)
    description: str = ""


class TeacherOut(Schema):
    id: uuid.UUID
    name: str
    place_code: str
    expertise: str
    bio: str

    @staticmethod
    def resolve_place_code(obj: Teacher) -> str:
        return obj.place_id


class TeacherIn(Schema):
    place: str = Field(..., pattern=CODE_PATTERN)
    name: str = Field(..., min_length=1, max_length=50)
    expertise: str = Field("", max_length=200)
    bio: str = ""


class TeacherRef(Schema):
    id: uuid.UUID
    name: str


class CourseOut(Schema):
    id: uuid.UUID
    title: str
    place_code: str
    place_name: str
    series_id: uuid.UUID | None
    series_name: str | None
    teachers: list[TeacherRef]
    audience: str
    description: str
    capacity: int | None
    status: CourseStatus
    enrolled_count: int
    waitlisted_count: int
    session_count: int

    @staticmethod
    def resolve_place_code(obj: Course) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: Course) -> str:
        return obj.place.name

    @staticmethod
    def resolve_series_name(obj: Course) -> str | None:
        return obj.series.name if obj.series is not None else None

    @staticmethod
    def resolve_teachers(obj: Course) -> list[Teacher]:
        return list(obj.teachers.all())


class CourseIn(Schema):
    place: str = Field(..., pattern=CODE_PATTERN)
    title: str = Field(..., min_length=1, max_length=200)
    series_id: uuid.UUID | None = None
    teacher_ids: list[uuid.UUID] = []
    audience: str = Field("", max_length=200)
    description: str = ""
    capacity: int | None = Field(None, ge=1)
    status: CourseStatus = CourseStatus.OPEN


class CourseFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN)
    series: uuid.UUID | None = None
    status: CourseStatus | None = None


class SessionOut(Schema):
    id: uuid.UUID
    activity_id: uuid.UUID
    course_id: uuid.UUID
    title: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None
    venue: str
    place_code: str
    mode: str
    teacher: TeacherRef | None

    @staticmethod
    def resolve_title(obj: CourseSession) -> str:
        return obj.activity.title

    @staticmethod
    def resolve_starts_at(obj: CourseSession) -> datetime.datetime:
        return obj.activity.starts_at

    @staticmethod
    def resolve_ends_at(obj: CourseSession) -> datetime.datetime | None:
        return obj.activity.ends_at

    @staticmethod
    def resolve_venue(obj: CourseSession) -> str:
        return obj.activity.venue

    @staticmethod
    def resolve_place_code(obj: CourseSession) -> str:
        return obj.activity.place_id

    @staticmethod
    def resolve_mode(obj: CourseSession) -> str:
        return obj.activity.mode


class SessionIn(Schema):
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None = None
    venue: str = Field("", max_length=200)
    teacher_id: uuid.UUID | None = None
    mode: ActivityMode = ActivityMode.LOCAL
    place: str | None = Field(None, pattern=CODE_PATTERN)
    title: str = Field("", max_length=200)


class EnrolmentOut(Schema):
    id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    status: EnrolmentStatus
    waitlist_position: int | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_course_title(obj: Enrolment) -> str:
        return obj.course.title

    @staticmethod
    def resolve_waitlist_position(obj: Enrolment) -> int | None:
        if obj.status != EnrolmentStatus.WAITLISTED:
            return None
        position = getattr(obj, "position", None)
        if position is None:
            position = Enrolment.objects.filter(
                course_id=obj.course_id, status=EnrolmentStatus.WAITLISTED, created_at__lte=obj.created_at
            ).count()
        return int(position)


class PointsEntryOut(Schema):
    id: uuid.UUID
    points: int
    rule_code: str | None
    rule_name: str | None
    source_type: str
    source_id: str
    reason: str
    reversal_of: uuid.UUID | None
    reversed: bool
    created_at: datetime.datetime

    @staticmethod
    def resolve_rule_code(obj: PointsEntry) -> str | None:
        return obj.rule.code if obj.rule is not None else None

    @staticmethod
    def resolve_rule_name(obj: PointsEntry) -> str | None:
        return obj.rule.name if obj.rule is not None else None

    @staticmethod
    def resolve_reversal_of(obj: PointsEntry) -> uuid.UUID | None:
        return obj.reversal_of_id

    @staticmethod
    def resolve_reversed(obj: PointsEntry) -> bool:
        return hasattr(obj, "reversed_by")


class MyPointsOut(Schema):
    balance: int
    entries: list[PointsEntryOut]


class ReverseIn(Schema):
    reason: str = Field(..., max_length=300)


# --- helpers ----------------------------------------------------------------------------------------------------


def _place(request: ApiRequest, code: str, field: str = "place") -> Place:
    place = place_selectors.place_get(code=code) if codes.CODE_RE.match(code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={field: [_("找不到该区划代码")]})
    return place


def _require(request: ApiRequest, perm: str, obj: Any, field: str | None = None) -> None:
    if not request.auth.has_perm(perm, obj):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={field: [message]} if field else None)


def _resident(request: ApiRequest) -> Any:
    resident = resident_of_user(user=request.auth)
    if resident is None:
        message = _("只有居民可以进行此操作")
        raise PermissionDenied(message)
    return resident


def _course_for_resident(request: ApiRequest, course_id: uuid.UUID) -> Course:
    resident = _resident(request)
    course = Course.objects.select_related("place").filter(pk=course_id).first()
    if course is None or not (
        request.auth.has_perm("learning.view_course", course) or course.enrolments.filter(resident=resident).exists()
    ):
        raise NotFound(_("找不到该课程"))
    return course


def _pick(model: Any, pk: uuid.UUID | None, place: Place, field: str) -> Any:
    if pk is None:
        return None
    obj = model.objects.select_related("place").filter(pk=pk).first()
    if obj is None:
        raise DomainError(_("提交的数据有误"), fields={field: [_("找不到")]})
    return obj


# --- courses ----------------------------------------------------------------------------------------------------


@router.get("/courses", response={200: list[CourseOut], **errors(401, 404, 422)}, summary="课程")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def course_list(request: ApiRequest, filters: Query[CourseFilters]) -> Any:
    """Staff: the courses of the places they cover; teachers: their own; residents: open courses near them."""
    user = request.auth
    place = place_selectors.place_for_user(user=user, code=filters.place) if filters.place else None
    series = Series.objects.filter(pk=filters.series).first() if filters.series else None
    qs = selectors.courses_visible(user=user, place=place, series=series, status=filters.status or "")
    if place is None and not qs.exists():
        resident = resident_of_user(user=user)
        if resident is not None:
            qs = selectors.courses_for_resident(resident=resident)
            if series is not None:
                qs = qs.filter(series=series)
    return qs


@router.post("/courses", response={201: CourseOut, **errors(400, 401, 403, 422)}, summary="新建课程")
def course_create(request: ApiRequest, payload: CourseIn) -> Any:
    place = _place(request, payload.place)
    _require(request, "learning.manage_course", place, "place")
    series = _pick(Series, payload.series_id, place, "series_id")
    teachers = [_pick(Teacher, t, place, "teacher_ids") for t in payload.teacher_ids]
    course = services.course_create(
        actor=request.auth,
        place=place,
        title=payload.title,
        series=series,
        teachers=teachers,
        audience=payload.audience,
        description=payload.description,
        capacity=payload.capacity,
        status=payload.status,
    )
    return Status(201, selectors.course_get(user=request.auth, course_id=course.pk))


@router.get("/courses/{course_id}", response={200: CourseOut, **errors(401, 404, 422)}, summary="一门课程")
def course_detail(request: ApiRequest, course_id: uuid.UUID) -> Any:
    return selectors.course_get(user=request.auth, course_id=course_id)


@router.get("/courses/{course_id}/sessions", response={200: list[SessionOut], **errors(401, 404, 422)}, summary="课次")
def session_list(request: ApiRequest, course_id: uuid.UUID) -> Any:
    course = selectors.course_get(user=request.auth, course_id=course_id)
    return list(selectors.course_sessions(course=course))


@router.post(
    "/courses/{course_id}/sessions",
    response={201: SessionOut, **errors(400, 401, 403, 404, 422)},
    summary="添加课次",
)
def session_add(request: ApiRequest, course_id: uuid.UUID, payload: SessionIn) -> Any:
    course = selectors.course_get(user=request.auth, course_id=course_id)
    _require(request, "learning.manage_course", course)
    place = _place(request, payload.place) if payload.place else None
    if place is not None:
        _require(request, "learning.manage_course", place, "place")
    teacher = _pick(Teacher, payload.teacher_id, course.place, "teacher_id")
    session = services.course_session_add(
        actor=request.auth,
        course=course,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        venue=payload.venue,
        teacher=teacher,
        mode=payload.mode,
        place=place,
        title=payload.title,
    )
    return Status(201, session)


# --- enrolment --------------------------------------------------------------------------------------------------


@router.post(
    "/courses/{course_id}/enrol",
    response={200: EnrolmentOut, **errors(400, 401, 403, 404, 422)},
    summary="报名（居民本人，重复提交只报一次）",
)
def enrol(request: ApiRequest, course_id: uuid.UUID) -> Any:
    course = _course_for_resident(request, course_id)
    return services.enrolment_create(resident=_resident(request), course=course)


@router.post(
    "/courses/{course_id}/cancel",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="取消报名（居民本人；候补第一位自动递补）",
)
def cancel(request: ApiRequest, course_id: uuid.UUID) -> Any:
    course = _course_for_resident(request, course_id)
    services.enrolment_cancel(resident=_resident(request), course=course)
    return Status(204, None)


@router.get("/me/enrolments", response={200: list[EnrolmentOut], **errors(401, 403)}, summary="我的报名")
def my_enrolments(request: ApiRequest) -> Any:
    return list(selectors.my_enrolments(resident=_resident(request)))


# --- points -----------------------------------------------------------------------------------------------------


@router.get("/me/points", response={200: MyPointsOut, **errors(401, 403)}, summary="我的积分（余额与记录）")
def my_points(request: ApiRequest) -> Any:
    balance, entries = selectors.my_points(resident=_resident(request))
    return {"balance": balance, "entries": list(entries[:500])}


@router.post(
    "/points/{entry_id}/reverse",
    response={201: PointsEntryOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="冲正一条积分记录（工作人员）",
)
def points_reverse(request: ApiRequest, entry_id: uuid.UUID, payload: ReverseIn) -> Any:
    entry = selectors.points_entry_get(user=request.auth, entry_id=entry_id)
    return Status(201, services.points_reverse(entry=entry, reason=payload.reason, actor=request.auth))


# --- series and teachers ----------------------------------------------------------------------------------------


class PlaceFilter(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN)


@router.get("/series", response={200: list[SeriesOut], **errors(401, 404, 422)}, summary="主题系列")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def series_list(request: ApiRequest, filters: Query[PlaceFilter]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.series_visible(user=request.auth, place=place)


@router.post("/series", response={201: SeriesOut, **errors(400, 401, 403, 422)}, summary="新建主题系列")
def series_create(request: ApiRequest, payload: SeriesIn) -> Any:
    place = _place(request, payload.place)
    _require(request, "learning.manage_series", place, "place")
    series = services.series_create(actor=request.auth, place=place, name=payload.name, description=payload.description)
    return Status(201, series)


@router.get("/teachers", response={200: list[TeacherOut], **errors(401, 404, 422)}, summary="师资")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def teacher_list(request: ApiRequest, filters: Query[PlaceFilter]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.teachers_visible(user=request.auth, place=place)


@router.post("/teachers", response={201: TeacherOut, **errors(400, 401, 403, 422)}, summary="添加师资")
def teacher_create(request: ApiRequest, payload: TeacherIn) -> Any:
    place = _place(request, payload.place)
    _require(request, "learning.manage_teacher", place, "place")
    teacher = services.teacher_create(
        actor=request.auth, place=place, name=payload.name, expertise=payload.expertise, bio=payload.bio
    )
    return Status(201, teacher)
