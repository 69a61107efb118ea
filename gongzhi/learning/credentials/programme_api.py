"""Credential programmes API: programmes and their levels (staff covering the programme's place manage them), a check
of the criteria language, and a resident's own progress (what is met, what is missing, the next level).

A programme the caller may not see is "not found". Its own router (tags "programmes"), mounted in config/api.py.
"""

import datetime
import uuid
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.core.errors import DomainError, NotFound, PermissionDenied
from gongzhi.people import access
from gongzhi.people.selectors import resident_of_user
from gongzhi.places import codes
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from ..models import CredentialLevel, CredentialProgramme, ProgrammeStatus, Series
from . import criteria as crit
from . import programmes as services
from . import selectors

router = Router(tags=["programmes"])

# --- schemas ----------------------------------------------------------------------------------------------------


class ProgrammeOut(Schema):
    id: uuid.UUID
    name: str
    place_code: str
    place_name: str
    description: str
    series_id: uuid.UUID | None
    series_name: str | None
    validity_months: int | None = Field(..., description="证书有效期（月）；null 为长期有效")
    status: ProgrammeStatus
    level_count: int
    certificate_count: int = Field(..., description="有效证书数")

    @staticmethod
    def resolve_place_code(obj: CredentialProgramme) -> str:
        return obj.place_id

    @staticmethod
    def resolve_place_name(obj: CredentialProgramme) -> str:
        return obj.place.name

    @staticmethod
    def resolve_series_name(obj: CredentialProgramme) -> str | None:
        return obj.series.name if obj.series is not None else None

    @staticmethod
    def resolve_level_count(obj: CredentialProgramme) -> int:
        return int(getattr(obj, "level_count", 0))

    @staticmethod
    def resolve_certificate_count(obj: CredentialProgramme) -> int:
        return int(getattr(obj, "certificate_count", 0))


class CredentialLevelOut(Schema):
    id: uuid.UUID
    programme_id: uuid.UUID
    rank: int
    name: str
    description: str
    criteria: dict[str, Any] = Field(..., description='条件树：{"all"|"any": [...]} 或单项条件，见 docs/credentials.md')
    labels: list[str] = Field(..., description="各项条件的中文说明，按出现顺序")
    certificate_count: int = Field(..., description="该级别的有效证书数")
    locked: bool = Field(..., description="已颁发证书：条件和级别序号不能再改")


class ProgrammeDetailOut(ProgrammeOut):
    levels: list[CredentialLevelOut]

    @staticmethod
    def resolve_levels(obj: CredentialProgramme) -> list[dict[str, Any]]:
        return getattr(obj, "levels_out", [])


class ProgrammeIn(Schema):
    place: str = Field(..., pattern=CODE_PATTERN)
    name: str = Field(..., min_length=1, max_length=100)
    description: str = ""
    series_id: uuid.UUID | None = None
    validity_months: int | None = Field(None, ge=1, le=240)


class ProgrammePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = None
    series_id: uuid.UUID | None = None
    validity_months: int | None = Field(None, ge=1, le=240)


class ProgrammeCopyIn(Schema):
    name: str = Field("", max_length=100, description="新版本名称；留空自动命名")


class CredentialLevelIn(Schema):
    rank: int = Field(..., ge=1, le=100)
    name: str = Field(..., min_length=1, max_length=50)
    description: str = Field("", max_length=300)
    criteria: dict[str, Any]


class CredentialLevelPatch(Schema):
    rank: int | None = Field(None, ge=1, le=100)
    name: str | None = Field(None, min_length=1, max_length=50)
    description: str | None = Field(None, max_length=300)
    criteria: dict[str, Any] | None = None


class CriteriaCheckIn(Schema):
    criteria: Any


class CriteriaCheckOut(Schema):
    valid: bool
    errors: list[str]
    labels: list[str]


class ProgrammeFilters(Schema):
    place: str | None = Field(None, pattern=CODE_PATTERN)
    status: ProgrammeStatus | None = None


class CriteriaLeafOut(Schema):
    label: str
    met: bool
    have: int
    need: int
    kind: str
    detail: str = Field(..., description="如“已参加 4/6 次课，还差 2 次”")


class CriteriaNodeOut(Schema):
    op: str = Field(..., description="all、any 或 leaf")
    label: str
    met: bool
    leaf: CriteriaLeafOut | None = None
    children: list["CriteriaNodeOut"] = []


CriteriaNodeOut.model_rebuild()


class ProgressCertificateRef(Schema):
    id: uuid.UUID
    code: str
    issued_on: datetime.date
    expires_on: datetime.date | None


class CredentialLevelProgressOut(Schema):
    level_id: uuid.UUID
    rank: int
    name: str
    description: str
    met: bool = Field(..., description="今天是否满足条件")
    held: bool = Field(..., description="持有该级别未过期的有效证书")
    expired: bool = Field(..., description="持有的证书已过有效期")
    is_next: bool = Field(..., description="尚未获得的最低级别")
    claimable: bool = Field(..., description="满足条件且没有该级别的有效证书：可以领取")
    certificate: ProgressCertificateRef | None
    leaves: list[CriteriaLeafOut]
    root: CriteriaNodeOut


class ProgrammeRef(Schema):
    id: uuid.UUID
    name: str
    place_code: str
    place_name: str
    description: str


class ProgrammeProgressOut(Schema):
    programme: ProgrammeRef
    held_rank: int = Field(..., description="已获得的最高级别（0 为尚未获得）")
    next_rank: int | None
    levels: list[CredentialLevelProgressOut]


# --- helpers ----------------------------------------------------------------------------------------------------


def _place(code: str) -> Place:
    place = place_selectors.place_get(code=code) if codes.CODE_RE.match(code) else None
    if place is None:
        raise DomainError(_("提交的数据有误"), fields={"place": [_("找不到该区划代码")]})
    return place


def _require_manage(request: ApiRequest, obj: Any, field: str | None = None) -> None:
    if not request.auth.has_perm("learning.manage_credentialprogramme", obj):
        message = _("您无权执行此操作")
        raise PermissionDenied(message, fields={field: [message]} if field else None)


def _series(pk: uuid.UUID | None) -> Series | None:
    if pk is None:
        return None
    series = Series.objects.filter(pk=pk).first()
    if series is None:
        raise DomainError(_("提交的数据有误"), fields={"series_id": [_("找不到该主题系列")]})
    return series


def _resident(request: ApiRequest) -> Any:
    resident = resident_of_user(user=request.auth)
    if resident is None:
        raise PermissionDenied(_("只有居民可以进行此操作"))
    return resident


def _levels_out(programme: CredentialProgramme) -> list[dict[str, Any]]:
    levels = selectors.programme_levels(programme=programme)
    names = selectors.criteria_names([lv.criteria for lv in levels], levels)
    return [_level_out(level, names) for level in levels]


def _level_out(level: CredentialLevel, names: dict[str, str] | None = None) -> dict[str, Any]:
    if names is None:
        others = list(CredentialLevel.objects.filter(programme_id=level.programme_id).only("rank", "name"))
        names = selectors.criteria_names([level.criteria], others)
    issued = getattr(level, "issued_count", None)
    if issued is None:
        issued = level.certificates.count()
    valid = getattr(level, "certificate_count", None)
    if valid is None:
        valid = level.certificates.filter(status="valid").count()
    return {
        "id": level.pk,
        "programme_id": level.programme_id,
        "rank": level.rank,
        "name": level.name,
        "description": level.description,
        "criteria": level.criteria if isinstance(level.criteria, dict) else {},
        "labels": [
            leaf.label
            for leaf in crit.evaluate(level.criteria, crit.Facts(), datetime.date.today(), names=names).leaves
        ],
        "certificate_count": int(valid),
        "locked": bool(issued),
    }


def _detail(request: ApiRequest, programme_id: Any) -> CredentialProgramme:
    programme = selectors.programme_get(user=request.auth, programme_id=programme_id)
    programme.levels_out = _levels_out(programme)  # type: ignore[attr-defined]
    return programme


def _node(node: crit.NodeResult) -> dict[str, Any]:
    return {
        "op": node.op,
        "label": node.label,
        "met": node.met,
        "leaf": _leaf(node.leaf) if node.leaf is not None else None,
        "children": [_node(child) for child in node.children],
    }


def _leaf(leaf: crit.LeafResult) -> dict[str, Any]:
    return {
        "label": leaf.label,
        "met": leaf.met,
        "have": int(leaf.have),
        "need": leaf.need,
        "kind": leaf.kind,
        "detail": leaf.detail,
    }


def _progress_out(progress: selectors.ProgrammeProgress) -> dict[str, Any]:
    programme = progress.programme
    nxt = progress.next_level
    return {
        "programme": {
            "id": programme.pk,
            "name": programme.name,
            "place_code": programme.place_id,
            "place_name": programme.place.name,
            "description": programme.description,
        },
        "held_rank": progress.held_rank,
        "next_rank": nxt.level.rank if nxt is not None else None,
        "levels": [
            {
                "level_id": lp.level.pk,
                "rank": lp.level.rank,
                "name": lp.level.name,
                "description": lp.level.description,
                "met": lp.evaluation.met,
                "held": lp.held,
                "expired": lp.expired,
                "is_next": lp.is_next,
                "claimable": lp.claimable,
                "certificate": (
                    {
                        "id": lp.certificate.pk,
                        "code": lp.certificate.code,
                        "issued_on": lp.certificate.issued_on,
                        "expires_on": lp.certificate.expires_on,
                    }
                    if lp.certificate is not None
                    else None
                ),
                "leaves": [_leaf(leaf) for leaf in lp.evaluation.leaves],
                "root": _node(lp.evaluation.root) if lp.evaluation.root else {"op": "all", "label": "", "met": False},
            }
            for lp in progress.levels
        ],
    }


# --- programmes -------------------------------------------------------------------------------------------------


@router.get("/credentials/programmes", response={200: list[ProgrammeOut], **errors(401, 404, 422)}, summary="认证项目")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def programme_list(request: ApiRequest, filters: Query[ProgrammeFilters]) -> Any:
    """Staff: the programmes of the places they cover and of the places above; residents: the active programmes of
    their place chain."""
    user = request.auth
    if access.is_staff(user):
        place = place_selectors.place_for_user(user=user, code=filters.place) if filters.place else None
        return selectors.programmes_visible(user=user, place=place, status=filters.status or "")
    resident = resident_of_user(user=user)
    if resident is None:
        return CredentialProgramme.objects.none()
    return selectors.programmes_for_resident(resident=resident)


@router.post(
    "/credentials/programmes",
    response={201: ProgrammeDetailOut, **errors(400, 401, 403, 409, 422)},
    summary="新建认证项目（未发布）",
)
def programme_create(request: ApiRequest, payload: ProgrammeIn) -> Any:
    place = _place(payload.place)
    _require_manage(request, place, "place")
    programme = services.programme_create(
        actor=request.auth,
        place=place,
        name=payload.name,
        description=payload.description,
        series=_series(payload.series_id),
        validity_months=payload.validity_months,
    )
    return Status(201, _detail(request, programme.pk))


@router.get(
    "/credentials/programmes/{programme_id}",
    response={200: ProgrammeDetailOut, **errors(401, 404, 422)},
    summary="一个认证项目及其级别",
)
def programme_detail(request: ApiRequest, programme_id: uuid.UUID) -> Any:
    return _detail(request, programme_id)


@router.patch(
    "/credentials/programmes/{programme_id}",
    response={200: ProgrammeDetailOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改认证项目",
)
def programme_update(request: ApiRequest, programme_id: uuid.UUID, payload: ProgrammePatch) -> Any:
    programme = selectors.programme_get(user=request.auth, programme_id=programme_id)
    _require_manage(request, programme)
    given = payload.dict(exclude_unset=True)
    services.programme_update(
        actor=request.auth,
        programme=programme,
        name=given.get("name", programme.name) or "",
        description=given.get("description", programme.description) or "",
        series=_series(given["series_id"]) if "series_id" in given else programme.series,
        validity_months=given.get("validity_months", programme.validity_months),
    )
    return _detail(request, programme.pk)


@router.post(
    "/credentials/programmes/{programme_id}/activate",
    response={200: ProgrammeOut, **errors(400, 401, 403, 404, 422)},
    summary="启用认证项目（至少一个级别）",
)
def programme_activate(request: ApiRequest, programme_id: uuid.UUID) -> Any:
    programme = selectors.programme_get(user=request.auth, programme_id=programme_id)
    _require_manage(request, programme)
    services.programme_activate(actor=request.auth, programme=programme)
    return selectors.programme_get(user=request.auth, programme_id=programme_id)


@router.post(
    "/credentials/programmes/{programme_id}/retire",
    response={200: ProgrammeOut, **errors(401, 403, 404, 422)},
    summary="停用认证项目（已颁发的证书仍有效）",
)
def programme_retire(request: ApiRequest, programme_id: uuid.UUID) -> Any:
    programme = selectors.programme_get(user=request.auth, programme_id=programme_id)
    _require_manage(request, programme)
    services.programme_retire(actor=request.auth, programme=programme)
    return selectors.programme_get(user=request.auth, programme_id=programme_id)


@router.post(
    "/credentials/programmes/{programme_id}/copy",
    response={201: ProgrammeDetailOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="另存为新版本（未发布，级别与条件相同）",
)
def programme_copy(request: ApiRequest, programme_id: uuid.UUID, payload: ProgrammeCopyIn) -> Any:
    programme = selectors.programme_get(user=request.auth, programme_id=programme_id)
    _require_manage(request, programme)
    copy = services.programme_copy(actor=request.auth, programme=programme, name=payload.name)
    return Status(201, _detail(request, copy.pk))


# --- levels -----------------------------------------------------------------------------------------------------


@router.post(
    "/credentials/programmes/{programme_id}/levels",
    response={201: CredentialLevelOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="添加级别（条件经校验）",
)
def level_create(request: ApiRequest, programme_id: uuid.UUID, payload: CredentialLevelIn) -> Any:
    programme = selectors.programme_get(user=request.auth, programme_id=programme_id)
    _require_manage(request, programme)
    level = services.level_create(
        actor=request.auth,
        programme=programme,
        rank=payload.rank,
        name=payload.name,
        description=payload.description,
        criteria=payload.criteria,
    )
    return Status(201, _level_out(level))


def _level_for_manage(request: ApiRequest, level_id: uuid.UUID) -> CredentialLevel:
    level = selectors.level_get(user=request.auth, level_id=level_id)
    _require_manage(request, level.programme)
    return level


@router.patch(
    "/credentials/levels/{level_id}",
    response={200: CredentialLevelOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改级别（已颁发证书的级别不能改条件）",
)
def level_update(request: ApiRequest, level_id: uuid.UUID, payload: CredentialLevelPatch) -> Any:
    level = _level_for_manage(request, level_id)
    given = payload.dict(exclude_unset=True)
    level = services.level_update(
        actor=request.auth,
        level=level,
        rank=given["rank"] if given.get("rank") is not None else level.rank,
        name=given.get("name") or level.name,
        description=given["description"] if given.get("description") is not None else level.description,
        criteria=given["criteria"] if given.get("criteria") is not None else level.criteria,
    )
    return _level_out(level)


@router.delete(
    "/credentials/levels/{level_id}",
    response={204: None, **errors(401, 403, 404, 409, 422)},
    summary="删除级别（未颁发证书、未被其他级别引用）",
)
def level_delete(request: ApiRequest, level_id: uuid.UUID) -> Any:
    level = _level_for_manage(request, level_id)
    services.level_delete(actor=request.auth, level=level)
    return Status(204, None)


@router.post(
    "/credentials/criteria/check",
    response={200: CriteriaCheckOut, **errors(401, 422)},
    summary="检查条件写法（不保存）",
)
def criteria_check(request: ApiRequest, payload: CriteriaCheckIn) -> Any:
    problems = crit.validate(payload.criteria)
    labels = (
        []
        if problems
        else [leaf.label for leaf in crit.evaluate(payload.criteria, crit.Facts(), datetime.date.today()).leaves]
    )
    return {"valid": not problems, "errors": problems, "labels": labels}


# --- my progress ------------------------------------------------------------------------------------------------


@router.get(
    "/me/programmes",
    response={200: list[ProgrammeProgressOut], **errors(401, 403)},
    summary="我的认证进度（各项目各级别：已满足、还差什么、下一级）",
)
def my_programmes(request: ApiRequest) -> Any:
    resident = _resident(request)
    return [_progress_out(p) for p in selectors.resident_progress(user=request.auth, resident=resident)]


@router.get(
    "/me/programmes/{programme_id}",
    response={200: ProgrammeProgressOut, **errors(401, 403, 404, 422)},
    summary="我在一个认证项目中的进度",
)
def my_programme(request: ApiRequest, programme_id: uuid.UUID) -> Any:
    resident = _resident(request)
    found = [
        p for p in selectors.resident_progress(user=request.auth, resident=resident) if p.programme.pk == programme_id
    ]
    if not found:
        raise NotFound(_("找不到该认证项目"))
    return _progress_out(found[0])
