"""Needs surveys API: staff send a survey to streets and communities, open and close it, read the aggregated results
and turn topics into needs; residents list the surveys sent to them and answer (again = replace).

A survey the caller may not see is "not found". Results never name the residents who answered.
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
from gongzhi.places.models import Place

from ..models import NeedsSurvey, NeedStatus, ResourceKind, SurveyStatus
from ..selectors import surveys as selectors
from ..services import surveys as services
from .base import router

# --- schemas ----------------------------------------------------------------------------------------------------


class SurveyOut(Schema):
    id: uuid.UUID
    title: str
    intro: str
    place_code: str = Field(..., description="发起调查的区划")
    place_name: str
    target_codes: list[str] = Field(..., description="调查范围：街道或社区的区划代码（街道包括其所有社区）")
    topics: list[str] = Field(..., description="主题选项")
    opens_on: datetime.date
    closes_on: datetime.date
    status: SurveyStatus
    status_label: str
    response_count: int

    @staticmethod
    def resolve_place_code(obj: NeedsSurvey) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: NeedsSurvey) -> str:
        return obj.place.name

    @staticmethod
    def resolve_target_codes(obj: NeedsSurvey) -> list[str]:
        return sorted(p.code for p in obj.targets.all())

    @staticmethod
    def resolve_status_label(obj: NeedsSurvey) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_response_count(obj: NeedsSurvey) -> int:
        value = getattr(obj, "response_count", None)
        return int(value if value is not None else obj.responses.count())


class SurveyFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="只看这个区划之下（12 位代码）")
    status: SurveyStatus | None = None


class SurveyIn(Schema):
    place_code: str = Field(..., pattern=CODE_PATTERN, description="发起调查的区划（须在您的工作范围内）")
    title: str = Field(..., min_length=1, max_length=200)
    intro: str = Field("", max_length=2000)
    target_codes: list[str] = Field(..., min_length=1, max_length=500, description="调查范围：发起区划内的街道或社区")
    topics: list[str] = Field(..., min_length=1, max_length=20, description="主题选项，每个不超过 50 字")
    opens_on: datetime.date
    closes_on: datetime.date
    open_now: bool = Field(False, description="保存后立即开始收集（开始日期不晚于今天时）")


class TallyOut(Schema):
    key: str
    label: str
    count: int
    share: float = Field(..., description="占回答人数的比例（0–1）")
    own: bool = Field(..., description="居民自拟的主题")


class CommunityTallyOut(Schema):
    code: str
    name: str
    respondents: int
    topics: list[TallyOut] = Field(..., description="该社区最想学的（前三）")


class SurveyNeedOut(Schema):
    id: uuid.UUID
    ref: str
    community_code: str
    title: str
    resource_kind: ResourceKind
    status: NeedStatus

    @staticmethod
    def resolve_community_code(obj: Any) -> str:
        return str(obj.community_id)


class ResultsOut(Schema):
    respondents: int
    topics: list[TallyOut]
    times: list[TallyOut]
    places: list[TallyOut]
    communities: list[CommunityTallyOut]
    others: list[str] = Field(..., description="其他建议（最新的 50 条，不含姓名）")
    needs: list[SurveyNeedOut] = Field(..., description="由本调查生成的需求")


class ResultsFilters(Schema):
    community: str | None = Field(None, pattern=CODE_PATTERN, description="只看一个社区的回答")


class NeedChoiceIn(Schema):
    topic: str = Field(..., min_length=1, max_length=200)
    resource_kind: ResourceKind


class NeedsIn(Schema):
    topics: list[NeedChoiceIn] = Field(..., min_length=1, max_length=40)
    min_count: int = Field(1, ge=1, description="社区内至少多少人选择才生成")


class OptionOut(Schema):
    key: str
    label: str


class AnswerOut(Schema):
    topics: list[str]
    times: list[str]
    places: list[str]
    other: str
    updated_at: datetime.datetime


class MySurveyOut(Schema):
    id: uuid.UUID
    title: str
    intro: str
    opens_on: datetime.date
    closes_on: datetime.date
    status: SurveyStatus
    answered: bool


class MySurveyDetailOut(MySurveyOut):
    topics: list[str] = Field(..., description="主题选项（可多选；另可自拟一个）")
    time_options: list[OptionOut]
    place_options: list[OptionOut]
    accepting: bool = Field(..., description="今天是否可以填写")
    my_answer: AnswerOut | None


class AnswerIn(Schema):
    topics: list[str] = Field([], max_length=20)
    own_topic: str = Field("", max_length=50, description="自拟的主题")
    times: list[str] = Field([], max_length=4, description="weekday_day、weekday_evening、weekend_day、weekend_evening")
    places: list[str] = Field([], max_length=4, description="community_room、street_school、learning_space、online")
    other: str = Field("", max_length=300)


# --- helpers ----------------------------------------------------------------------------------------------------


def _forbidden(field: str | None = None) -> PermissionDenied:
    message = _("您无权执行此操作")
    return PermissionDenied(message, fields={field: [message]} if field else None)


def _managed(request: ApiRequest, survey_id: uuid.UUID) -> NeedsSurvey:
    survey = selectors.survey_get(user=request.auth, survey_id=survey_id)
    if not request.auth.has_perm("resources.change_needssurvey", survey):
        raise _forbidden()
    return survey


def _tally(t: Any) -> dict[str, Any]:
    return {"key": t.key, "label": t.label, "count": t.count, "share": round(t.share, 4), "own": t.own}


def _options(choices: list[tuple[str, Any]]) -> list[dict[str, str]]:
    return [{"key": k, "label": str(v)} for k, v in choices]


def _my_detail(request: ApiRequest, survey: NeedsSurvey) -> dict[str, Any]:
    mine = selectors.my_response(user=request.auth, survey=survey)
    return {
        "id": survey.pk,
        "title": survey.title,
        "intro": survey.intro,
        "opens_on": survey.opens_on,
        "closes_on": survey.closes_on,
        "status": survey.status,
        "answered": mine is not None,
        "topics": list(survey.topics),
        "time_options": _options(services.TIME_CHOICES),
        "place_options": _options(services.PLACE_CHOICES),
        "accepting": services.accepting(survey),
        "my_answer": None
        if mine is None
        else {
            "topics": mine.topics,
            "times": mine.times,
            "places": mine.places,
            "other": mine.other,
            "updated_at": mine.updated_at,
        },
    }


# --- staff ------------------------------------------------------------------------------------------------------


@router.get("/needs-surveys", response={200: list[SurveyOut], **errors(401, 404, 422)}, summary="需求调查（工作人员）")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def survey_list(request: ApiRequest, filters: Query[SurveyFilters]) -> Any:
    from gongzhi.places import selectors as place_selectors

    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.surveys_visible(user=request.auth, place=place, status=filters.status or "").prefetch_related(
        "targets"
    )


@router.post(
    "/needs-surveys",
    response={201: SurveyOut, **errors(400, 401, 403, 409, 422)},
    summary="发起需求调查（工作人员）",
    description="调查范围须是发起区划内的街道或社区。新建的调查为草稿；open_now 为 true 时立即开始收集。",
)
def survey_create(request: ApiRequest, payload: SurveyIn) -> Any:
    place = Place.objects.filter(code=payload.place_code).first() if codes.CODE_RE.match(payload.place_code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={"place_code": [_("找不到该区划代码")]})
    if not request.auth.has_perm("resources.add_needssurvey", place):
        raise _forbidden("place_code")
    wanted = list(dict.fromkeys(payload.target_codes))
    targets = list(Place.objects.filter(code__in=wanted))
    missing = sorted(set(wanted) - {p.code for p in targets})
    if missing:
        raise DomainError(
            _("提交的数据有误"), fields={"target_codes": [_("找不到该区划代码：%(c)s") % {"c": missing[0]}]}
        )
    survey = services.survey_create(
        actor=request.auth,
        place=place,
        title=payload.title,
        intro=payload.intro,
        targets=targets,
        topics=payload.topics,
        opens_on=payload.opens_on,
        closes_on=payload.closes_on,
    )
    if payload.open_now and payload.opens_on <= timezone.localdate():
        services.survey_open(actor=request.auth, survey=survey)
    return Status(201, selectors.survey_get(user=request.auth, survey_id=survey.pk))


@router.get("/needs-surveys/{survey_id}", response={200: SurveyOut, **errors(401, 404, 422)}, summary="一个需求调查")
def survey_detail(request: ApiRequest, survey_id: uuid.UUID) -> Any:
    return selectors.survey_get(user=request.auth, survey_id=survey_id)


@router.post(
    "/needs-surveys/{survey_id}/open",
    response={200: SurveyOut, **errors(401, 403, 404, 409, 422)},
    summary="开始收集（草稿 → 收集中；重复调用不变）",
)
def survey_open(request: ApiRequest, survey_id: uuid.UUID) -> Any:
    survey = _managed(request, survey_id)
    services.survey_open(actor=request.auth, survey=survey)
    return selectors.survey_get(user=request.auth, survey_id=survey.pk)


@router.post(
    "/needs-surveys/{survey_id}/close",
    response={200: SurveyOut, **errors(401, 403, 404, 409, 422)},
    summary="结束调查（收集中 → 已结束；重复调用不变）",
)
def survey_close(request: ApiRequest, survey_id: uuid.UUID) -> Any:
    survey = _managed(request, survey_id)
    services.survey_close(actor=request.auth, survey=survey)
    return selectors.survey_get(user=request.auth, survey_id=survey.pk)


@router.get(
    "/needs-surveys/{survey_id}/results",
    response={200: ResultsOut, **errors(401, 404, 422)},
    summary="调查结果（按主题、时间、地点、社区汇总）",
)
def survey_results(request: ApiRequest, survey_id: uuid.UUID, filters: Query[ResultsFilters]) -> Any:
    survey = selectors.survey_get(user=request.auth, survey_id=survey_id)
    results = selectors.survey_results(user=request.auth, survey=survey, community=filters.community or "")
    return {
        "respondents": results.respondents,
        "topics": [_tally(t) for t in results.topics],
        "times": [_tally(t) for t in results.times],
        "places": [_tally(t) for t in results.places],
        "communities": [
            {"code": c.code, "name": c.name, "respondents": c.respondents, "topics": [_tally(t) for t in c.topics]}
            for c in results.communities
        ],
        "others": results.others,
        "needs": results.needs,
    }


@router.post(
    "/needs-surveys/{survey_id}/needs",
    response={200: list[SurveyNeedOut], 201: list[SurveyNeedOut], **errors(400, 401, 403, 404, 409, 422)},
    summary="把主题转为需求",
    description="每个主题在选择了它（且人数不少于 min_count）的每个社区生成一条来源为「需求调查」的待匹配需求，一次完成。"
    "已生成过的不重复生成：没有新需求时返回 200 和空列表。",
)
def survey_needs(request: ApiRequest, survey_id: uuid.UUID, payload: NeedsIn) -> Any:
    survey = _managed(request, survey_id)
    made = services.survey_needs_create(
        actor=request.auth,
        survey=survey,
        topics=[(c.topic, c.resource_kind) for c in payload.topics],
        min_count=payload.min_count,
    )
    return Status(201 if made else 200, made)


# --- residents --------------------------------------------------------------------------------------------------


@router.get(
    "/me/needs-surveys",
    response={200: list[MySurveyOut], **errors(401, 422)},
    summary="发给我所在社区、正在收集的需求调查（居民）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def my_survey_list(request: ApiRequest) -> Any:
    return selectors.surveys_for_resident(user=request.auth)


@router.get(
    "/me/needs-surveys/{survey_id}",
    response={200: MySurveyDetailOut, **errors(401, 404, 422)},
    summary="一个发给我的需求调查，连同选项和我的回答",
)
def my_survey_detail(request: ApiRequest, survey_id: uuid.UUID) -> Any:
    survey = selectors.survey_for_resident(user=request.auth, survey_id=survey_id)
    return _my_detail(request, survey)


@router.put(
    "/me/needs-surveys/{survey_id}/answer",
    response={200: MySurveyDetailOut, 201: MySurveyDetailOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="填写需求调查（再次填写替换之前的回答）",
    description="第一次填写返回 201，之后再填写替换原回答并返回 200；每人每份调查只保留一份回答。",
)
def my_survey_answer(request: ApiRequest, survey_id: uuid.UUID, payload: AnswerIn) -> Any:
    survey = selectors.survey_for_resident(user=request.auth, survey_id=survey_id)
    _response, created = services.survey_answer(
        user=request.auth,
        survey=survey,
        topics=payload.topics,
        own_topic=payload.own_topic,
        times=payload.times,
        places=payload.places,
        other=payload.other,
    )
    survey = selectors.survey_for_resident(user=request.auth, survey_id=survey_id)
    return Status(201 if created else 200, _my_detail(request, survey))
