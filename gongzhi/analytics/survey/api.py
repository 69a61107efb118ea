"""Social-capital survey API: staff send a round to streets and communities, open and close it and read its results
(respondents, scale scores, Cronbach's alpha, the spread of answers per item); residents list the rounds sent to them
and answer all twelve items (again = replace). The instrument itself is readable by any signed-in user.

A round the caller may not see is "not found". Results never name a resident; a figure resting on fewer than five
respondents is withheld (null, ``small_sample`` true).
"""

import datetime
import uuid
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, PermissionDenied
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import SocialSurvey, SocialSurveyStatus
from . import selectors, services
from .instrument import ITEMS, LIKERT, SCALE_INDICATORS, SCALE_LABELS, SCALE_OF, SCALE_PROMPTS, SCALES, SHORT, TEXTS

router = Router(tags=["measure-survey"])

# --- schemas (names unique in the whole API) ------------------------------------------------------------------------


class SocialSurveyOut(Schema):
    id: uuid.UUID
    title: str
    place_code: str = Field(..., description="发起调查的区划")
    place_name: str
    target_codes: list[str] = Field(..., description="调查范围：街道或社区的区划代码（街道包括其所有社区）")
    opens_on: datetime.date
    closes_on: datetime.date
    status: SocialSurveyStatus
    status_label: str
    respondents: int = Field(..., description="作答人数")

    @staticmethod
    def resolve_place_code(obj: SocialSurvey) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: SocialSurvey) -> str:
        return obj.place.name

    @staticmethod
    def resolve_target_codes(obj: SocialSurvey) -> list[str]:
        return sorted(p.code for p in obj.targets.all())

    @staticmethod
    def resolve_status_label(obj: SocialSurvey) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_respondents(obj: SocialSurvey) -> int:
        value = getattr(obj, "respondents", None)
        return int(value if value is not None else obj.answers.values("resident_id").distinct().count())


class SocialSurveyFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN, description="只看这个区划之下（12 位代码）")
    status: SocialSurveyStatus | None = None


class SocialSurveyIn(Schema):
    place_code: str = Field(..., pattern=CODE_PATTERN, description="发起调查的区划（须在您的工作范围内）")
    title: str = Field(..., min_length=1, max_length=200)
    target_codes: list[str] = Field(..., min_length=1, max_length=500, description="调查范围：发起区划内的街道或社区")
    opens_on: datetime.date
    closes_on: datetime.date
    open_now: bool = Field(False, description="保存后立即开始收集（开始日期不晚于今天时）")


class SocialSurveyScaleCellOut(Schema):
    indicator: str = Field(..., description="S_TRUST、S_NORMS、S_NETWORK、S_SATISFACTION")
    value: float | None = Field(..., description="量表得分 1–5（各题平均分的平均）；样本不足或无作答时为 null")
    score: float | None = Field(..., description="换算为 0–100（1 → 0，5 → 100）")


class SocialSurveyCommunityOut(Schema):
    code: str
    name: str
    targeted: bool = Field(..., description="是否在调查范围内")
    respondents: int
    small_sample: bool = Field(..., description="作答少于 5 人：不给出得分")
    scales: list[SocialSurveyScaleCellOut]


class SocialSurveyAlphaOut(Schema):
    scale: str
    indicator: str
    label: str
    items: int
    respondents: int = Field(..., description="每道题都作答的人数")
    alpha: float | None = Field(..., description="Cronbach's α；少于 5 人或无法计算时为 null")
    level: str = Field(..., description="small、undefined、excellent、good、acceptable、questionable、poor")
    reading: str = Field(..., description="通俗解读")


class SocialSurveyItemOut(Schema):
    item: str
    number: int
    scale: str
    text: str
    short: str = Field(..., description="简称（用于图表）")
    counts: list[int] = Field(..., description="选 1、2、3、4、5 的人数（样本不足时全为 0）")
    total: int
    mean: float | None


class SocialSurveyResultsOut(Schema):
    respondents: int
    small_sample: bool
    min_respondents: int
    overall: list[SocialSurveyScaleCellOut]
    alphas: list[SocialSurveyAlphaOut]
    communities: list[SocialSurveyCommunityOut]
    items: list[SocialSurveyItemOut]


class SocialSurveyLikertOut(Schema):
    value: int
    label: str


class SocialSurveyInstrumentItemOut(Schema):
    item: str = Field(..., description="题目编号（survey_answers.csv 的 item 列）")
    number: int
    scale: str
    indicator: str
    text: str
    short: str = Field(..., description="简称（用于图表）")


class SocialSurveyScaleOut(Schema):
    scale: str
    indicator: str
    label: str
    prompt: str
    items: list[str]


class SocialSurveyInstrumentOut(Schema):
    scales: list[SocialSurveyScaleOut]
    items: list[SocialSurveyInstrumentItemOut]
    likert: list[SocialSurveyLikertOut]


class MySocialSurveyOut(Schema):
    id: uuid.UUID
    title: str
    opens_on: datetime.date
    closes_on: datetime.date
    status: SocialSurveyStatus
    answered: bool


class MySocialSurveyDetailOut(MySocialSurveyOut):
    accepting: bool = Field(..., description="今天是否可以填写")
    items: list[SocialSurveyInstrumentItemOut]
    likert: list[SocialSurveyLikertOut]
    my_answers: dict[str, int] | None = Field(..., description="我的回答：题目编号 → 1–5；未填写时为 null")
    answered_on: datetime.date | None


class SocialSurveyAnswerIn(Schema):
    answers: dict[str, int] = Field(
        ..., description="十二道题全部作答：题目编号（T1…S3）→ 1–5", examples=[dict.fromkeys(ITEMS, 4)]
    )


# --- helpers ----------------------------------------------------------------------------------------------------


def _forbidden(field: str | None = None) -> PermissionDenied:
    message = _("您无权执行此操作")
    return PermissionDenied(message, fields={field: [message]} if field else None)


def _items() -> list[dict[str, Any]]:
    return [
        {
            "item": item,
            "number": i + 1,
            "scale": SCALE_OF[item],
            "indicator": SCALE_INDICATORS[SCALE_OF[item]],
            "text": str(TEXTS[item]),
            "short": str(SHORT[item]),
        }
        for i, item in enumerate(ITEMS)
    ]


def _likert() -> list[dict[str, Any]]:
    return [{"value": v, "label": str(label)} for v, label in LIKERT]


def _cell(cell: selectors.ScaleCell) -> dict[str, Any]:
    return {"indicator": cell.indicator, "value": cell.value, "score": cell.percent}


def _my_detail(request: ApiRequest, survey: SocialSurvey) -> dict[str, Any]:
    mine = selectors.my_answers(user=request.auth, survey=survey)
    return {
        "id": survey.pk,
        "title": survey.title,
        "opens_on": survey.opens_on,
        "closes_on": survey.closes_on,
        "status": survey.status,
        "answered": mine is not None,
        "accepting": services.accepting(survey),
        "items": _items(),
        "likert": _likert(),
        "my_answers": mine.values if mine else None,
        "answered_on": mine.answered_on if mine else None,
    }


# --- the instrument -----------------------------------------------------------------------------------------------


@router.get(
    "/social-survey-instrument",
    response={200: SocialSurveyInstrumentOut, **errors(401)},
    summary="社会资本调查问卷（十二道题与 1–5 分选项）",
)
def social_survey_instrument(request: ApiRequest) -> Any:
    return {
        "scales": [
            {
                "scale": scale,
                "indicator": SCALE_INDICATORS[scale],
                "label": str(SCALE_LABELS[scale]),
                "prompt": str(SCALE_PROMPTS[scale]),
                "items": list(items),
            }
            for scale, items in SCALES.items()
        ],
        "items": _items(),
        "likert": _likert(),
    }


# --- staff ------------------------------------------------------------------------------------------------------


@router.get(
    "/social-surveys",
    response={200: list[SocialSurveyOut], **errors(401, 404, 422)},
    summary="社会资本调查（工作人员）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def social_survey_list(request: ApiRequest, filters: Query[SocialSurveyFilters]) -> Any:
    place = place_selectors.place_for_user(user=request.auth, code=filters.place) if filters.place else None
    return selectors.social_surveys_visible(
        user=request.auth, place=place, status=filters.status or ""
    ).prefetch_related("targets")


@router.post(
    "/social-surveys",
    response={201: SocialSurveyOut, **errors(400, 401, 403, 409, 422)},
    summary="发起一轮社会资本调查（工作人员）",
    description="调查范围须是发起区划内的街道或社区。新建的调查为草稿；open_now 为 true 时立即开始收集。",
)
def social_survey_create(request: ApiRequest, payload: SocialSurveyIn) -> Any:
    place = Place.objects.filter(code=payload.place_code).first() if codes.CODE_RE.match(payload.place_code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={"place_code": [_("找不到该区划代码")]})
    if not request.auth.has_perm(services.MANAGE, place):
        raise _forbidden("place_code")
    wanted = list(dict.fromkeys(payload.target_codes))
    targets = list(Place.objects.filter(code__in=wanted))
    missing = sorted(set(wanted) - {p.code for p in targets})
    if missing:
        raise DomainError(
            _("提交的数据有误"), fields={"target_codes": [_("找不到该区划代码：%(c)s") % {"c": missing[0]}]}
        )
    try:
        survey = services.social_survey_create(
            actor=request.auth,
            place=place,
            title=payload.title,
            targets=targets,
            opens_on=payload.opens_on,
            closes_on=payload.closes_on,
        )
    except DomainError as exc:
        if "targets" in exc.fields:
            exc.fields = {"target_codes": exc.fields["targets"]}
        raise
    if payload.open_now and payload.opens_on <= timezone.localdate():
        services.social_survey_open(actor=request.auth, survey=survey)
    return Status(201, selectors.social_survey_get(user=request.auth, survey_id=survey.pk))


@router.get(
    "/social-surveys/{survey_id}", response={200: SocialSurveyOut, **errors(401, 404, 422)}, summary="一轮社会资本调查"
)
def social_survey_detail(request: ApiRequest, survey_id: uuid.UUID) -> Any:
    return selectors.social_survey_get(user=request.auth, survey_id=survey_id)


@router.post(
    "/social-surveys/{survey_id}/open",
    response={200: SocialSurveyOut, **errors(401, 403, 404, 409, 422)},
    summary="开始收集（草稿 → 进行中；重复调用不变）",
)
def social_survey_open(request: ApiRequest, survey_id: uuid.UUID) -> Any:
    survey = selectors.social_survey_get(user=request.auth, survey_id=survey_id)
    services.social_survey_open(actor=request.auth, survey=survey)
    return selectors.social_survey_get(user=request.auth, survey_id=survey.pk)


@router.post(
    "/social-surveys/{survey_id}/close",
    response={200: SocialSurveyOut, **errors(401, 403, 404, 409, 422)},
    summary="结束调查（进行中 → 已结束；重复调用不变）",
)
def social_survey_close(request: ApiRequest, survey_id: uuid.UUID) -> Any:
    survey = selectors.social_survey_get(user=request.auth, survey_id=survey_id)
    services.social_survey_close(actor=request.auth, survey=survey)
    return selectors.social_survey_get(user=request.auth, survey_id=survey.pk)


@router.get(
    "/social-surveys/{survey_id}/results",
    response={200: SocialSurveyResultsOut, **errors(401, 404, 422)},
    summary="调查结果：各社区作答人数与量表得分、信度 α、每题答案分布",
)
def social_survey_results(request: ApiRequest, survey_id: uuid.UUID) -> Any:
    survey = selectors.social_survey_get(user=request.auth, survey_id=survey_id)
    results = selectors.social_survey_results(user=request.auth, survey=survey)
    return {
        "respondents": results.respondents,
        "small_sample": results.small,
        "min_respondents": results.min_respondents,
        "overall": [_cell(c) for c in results.overall],
        "alphas": [
            {
                "scale": a.scale,
                "indicator": a.indicator,
                "label": a.label,
                "items": a.items,
                "respondents": a.respondents,
                "alpha": a.value,
                "level": a.level,
                "reading": a.reading,
            }
            for a in results.alphas
        ],
        "communities": [
            {
                "code": c.code,
                "name": c.name,
                "targeted": c.targeted,
                "respondents": c.respondents,
                "small_sample": c.small,
                "scales": [_cell(s) for s in c.scales],
            }
            for c in results.communities
        ],
        "items": [
            {
                "item": r.item,
                "number": r.number,
                "scale": r.scale,
                "text": r.text,
                "short": r.short,
                "counts": r.counts,
                "total": r.total,
                "mean": r.mean,
            }
            for r in results.items
        ],
    }


# --- residents --------------------------------------------------------------------------------------------------


@router.get(
    "/me/social-surveys",
    response={200: list[MySocialSurveyOut], **errors(401, 422)},
    summary="发给我所在社区、正在收集的社会资本调查（居民）",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def my_social_survey_list(request: ApiRequest) -> Any:
    return selectors.social_surveys_for_resident(user=request.auth)


@router.get(
    "/me/social-surveys/{survey_id}",
    response={200: MySocialSurveyDetailOut, **errors(401, 404, 422)},
    summary="一轮发给我的社会资本调查，连同题目和我的回答",
)
def my_social_survey_detail(request: ApiRequest, survey_id: uuid.UUID) -> Any:
    survey = selectors.social_survey_for_resident(user=request.auth, survey_id=survey_id)
    return _my_detail(request, survey)


@router.put(
    "/me/social-surveys/{survey_id}/answer",
    response={200: MySocialSurveyDetailOut, 201: MySocialSurveyDetailOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="填写社会资本调查（十二道题全部作答；再次填写替换之前的回答）",
    description="第一次填写返回 201，之后再填写替换原回答并返回 200。缺题或答案不在 1–5 之间返回 400，"
    "fields 以题目编号为键。",
)
def my_social_survey_answer(request: ApiRequest, survey_id: uuid.UUID, payload: SocialSurveyAnswerIn) -> Any:
    survey = selectors.social_survey_for_resident(user=request.auth, survey_id=survey_id)
    _rows, created = services.social_survey_answer(user=request.auth, survey=survey, answers=payload.answers)
    survey = selectors.social_survey_for_resident(user=request.auth, survey_id=survey_id)
    return Status(201 if created else 200, _my_detail(request, survey))
