"""Writes of credential programmes and their levels.

One transaction each, audited; permission checks are the callers' (``rules.py``). The domain's rules:

- a level's criteria are validated (``criteria.validate``) and every series, course and test they name must exist
  and belong to the programme's place (its subtree or the places above it);
- a level whose certificates exist keeps its criteria and rank: the holders earned it under those criteria. A change
  is refused with a clear message; ``programme_copy`` makes a new version (a draft copy with the same levels) that
  can be changed, activated, and the old one retired;
- a programme is activated only with at least one level; concurrent writes on one programme are serialised by
  locking the programme row (``FOR NO KEY UPDATE``: a certificate inserted meanwhile only needs a key-share lock on
  it, so a claim holding its level's lock never deadlocks with a level change); a level being changed is locked
  ``FOR UPDATE``, as ``certificate_claim`` and ``certificate_issue`` lock it, so criteria never change between an
  eligibility check and the certificate it allows; a repeated create (a double click) returns the first row.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import Conflict, DomainError, invalid
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import (
    Certificate,
    Course,
    CredentialLevel,
    CredentialProgramme,
    OnlineTest,
    ProgrammeStatus,
    Series,
)
from . import criteria as crit

BAD_INPUT = "提交的信息有误，请检查标红的字段"
MAX_VALIDITY_MONTHS = 240


def _bad(fields: dict[str, list[str]]) -> DomainError:
    return DomainError(_(BAD_INPUT), fields=fields)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def place_scope_q(place_code: str, field: str = "place") -> Q:
    """Objects of a place's subtree or of the places above it."""
    return Q(**{f"{field}__code__startswith": codes.prefix_of(place_code)}) | Q(
        **{f"{field}_id__in": codes.ancestor_codes(place_code)}
    )


def _check_programme_fields(
    *, place: Place, name: str, series: Series | None, validity_months: int | None
) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if not name:
        fields["name"] = [_("必填")]
    elif len(name) > 100:
        fields["name"] = [_("不能超过 100 字")]
    if series is not None and not (
        codes.covers(place.code, series.place_id) or series.place_id in codes.ancestor_codes(place.code)
    ):
        fields["series"] = [_("主题系列不属于该区划")]
    if validity_months is not None and not (1 <= validity_months <= MAX_VALIDITY_MONTHS):
        fields["validity_months"] = [_("应在 1 到 %(max)d 个月之间，留空表示长期有效") % {"max": MAX_VALIDITY_MONTHS}]
    return fields


def _snapshot(programme: CredentialProgramme) -> dict[str, Any]:
    return {
        "name": programme.name,
        "description": programme.description,
        "series": str(programme.series_id or ""),
        "validity_months": programme.validity_months,
        "status": programme.status,
    }


# --- programmes -------------------------------------------------------------------------------------------------


@transaction.atomic
def programme_create(
    *,
    actor: Any,
    place: Place,
    name: str,
    description: str = "",
    series: Series | None = None,
    validity_months: int | None = None,
) -> CredentialProgramme:
    """A new programme (draft). The same request twice returns the first programme; another programme of the same
    name at the place is a conflict."""
    name = (name or "").strip()
    description = (description or "").strip()
    fields = _check_programme_fields(place=place, name=name, series=series, validity_months=validity_months)
    if fields:
        raise _bad(fields)
    programme = CredentialProgramme(
        place=place,
        name=name,
        description=description,
        series=series,
        validity_months=validity_months,
        created_by=_user(actor),
    )
    try:
        programme.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            programme.save(force_insert=True)
    except IntegrityError as exc:
        existing = CredentialProgramme.objects.filter(place=place, name=name).first()
        if existing is not None and (existing.description, existing.series_id, existing.validity_months) == (
            description,
            series.pk if series else None,
            validity_months,
        ):
            return existing  # a double click
        msg = _("该区划已有同名的认证项目")
        raise Conflict(msg, fields={"name": [msg]}) from exc
    audit_record(
        actor=actor,
        action="create",
        target_type="credential_programme",
        target_id=str(programme.pk),
        place_code=place.code,
        summary=programme.name,
    )
    return programme


@transaction.atomic
def programme_update(
    *,
    actor: Any,
    programme: CredentialProgramme,
    name: str,
    description: str = "",
    series: Series | None = None,
    validity_months: int | None = None,
) -> CredentialProgramme:
    """Change a programme's name, description, series and validity (certificates already issued keep their dates)."""
    programme = (
        CredentialProgramme.objects.select_for_update(no_key=True, of=("self",))
        .select_related("place")
        .get(pk=programme.pk)
    )
    name = (name or "").strip()
    fields = _check_programme_fields(place=programme.place, name=name, series=series, validity_months=validity_months)
    if fields:
        raise _bad(fields)
    before = _snapshot(programme)
    programme.name, programme.description = name, (description or "").strip()
    programme.series, programme.validity_months = series, validity_months
    try:
        programme.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            programme.save(update_fields=["name", "description", "series", "validity_months", "updated_at"])
    except IntegrityError as exc:
        msg = _("该区划已有同名的认证项目")
        raise Conflict(msg, fields={"name": [msg]}) from exc
    audit_record(
        actor=actor,
        action="update",
        target_type="credential_programme",
        target_id=str(programme.pk),
        place_code=programme.place_id,
        summary=programme.name,
        changes={"before": before, "after": _snapshot(programme)},
    )
    return programme


def _set_status(*, actor: Any, programme: CredentialProgramme, status: str) -> CredentialProgramme:
    locked = CredentialProgramme.objects.select_for_update(no_key=True).get(pk=programme.pk)
    if locked.status == status:
        return locked  # idempotent
    if status == ProgrammeStatus.ACTIVE:
        levels = list(locked.levels.all())
        if not levels:
            msg = _("请先添加至少一个级别，再启用认证项目")
            raise DomainError(msg, fields={"levels": [msg]}, code="no_levels")
        ranks = {level.rank for level in levels}
        fields: dict[str, list[str]] = {}
        for level in levels:
            errors = _criteria_errors(locked, level.criteria, own_rank=level.rank, ranks=ranks)
            if errors:
                fields.setdefault("levels", []).extend(f"{level.name}：{e}" for e in errors)
        if fields:
            raise DomainError(_("有级别的条件需要修改后才能启用"), fields=fields, code="invalid_levels")
    before = locked.status
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="credential_programme",
        target_id=str(locked.pk),
        place_code=locked.place_id,
        summary=f"{locked.name}：{locked.get_status_display()}",
        changes={"status": [before, status]},
    )
    return locked


@transaction.atomic
def programme_activate(*, actor: Any, programme: CredentialProgramme) -> CredentialProgramme:
    """Open a programme to residents (draft or retired → active). Needs at least one level, all with valid criteria."""
    return _set_status(actor=actor, programme=programme, status=ProgrammeStatus.ACTIVE)


@transaction.atomic
def programme_retire(*, actor: Any, programme: CredentialProgramme) -> CredentialProgramme:
    """Stop a programme: residents no longer see it or claim its certificates; certificates issued stay valid."""
    return _set_status(actor=actor, programme=programme, status=ProgrammeStatus.RETIRED)


def _copy_name(programme: CredentialProgramme) -> str:
    taken = set(
        CredentialProgramme.objects.filter(place_id=programme.place_id, name__startswith=programme.name[:80])
        .order_by()
        .values_list("name", flat=True)
    )
    base = programme.name[:80]
    for n in range(2, 100):
        candidate = _("%(name)s（第 %(n)d 版）") % {"name": base, "n": n}
        if candidate not in taken:
            return candidate
    return _("%(name)s（新版）") % {"name": base}  # pragma: no cover - a hundred versions


@transaction.atomic
def programme_copy(*, actor: Any, programme: CredentialProgramme, name: str = "") -> CredentialProgramme:
    """A new version of a programme: a draft with the same place, settings and levels (criteria copied), which can be
    changed freely and activated; the original and its certificates are left as they are."""
    source = CredentialProgramme.objects.select_for_update(no_key=True).get(pk=programme.pk)
    name = (name or "").strip() or _copy_name(source)
    fields = _check_programme_fields(place=source.place, name=name, series=source.series, validity_months=None)
    if fields:
        raise _bad(fields)
    copy = CredentialProgramme(
        place_id=source.place_id,
        name=name,
        description=source.description,
        series=source.series,
        validity_months=source.validity_months,
        created_by=_user(actor),
    )
    try:
        with transaction.atomic():
            copy.save(force_insert=True)
    except IntegrityError as exc:
        msg = _("该区划已有同名的认证项目")
        raise Conflict(msg, fields={"name": [msg]}) from exc
    CredentialLevel.objects.bulk_create(
        [
            CredentialLevel(
                programme=copy, rank=level.rank, name=level.name, description=level.description, criteria=level.criteria
            )
            for level in source.levels.order_by("rank")
        ]
    )
    audit_record(
        actor=actor,
        action="create",
        target_type="credential_programme",
        target_id=str(copy.pk),
        place_code=copy.place_id,
        summary=_("%(name)s（复制自 %(source)s）") % {"name": copy.name, "source": source.name},
        changes={"copied_from": str(source.pk)},
    )
    return copy


# --- levels -----------------------------------------------------------------------------------------------------


def _criteria_errors(
    programme: CredentialProgramme, tree: Any, *, own_rank: int | None, ranks: set[int] | None
) -> list[str]:
    """Problems of a tree: its language (``criteria.validate``) and what it names (exists, and in the place)."""
    problems = crit.problems(tree, own_rank=own_rank, ranks=ranks)
    if problems:
        return [crit.format_problem(p) for p in problems]
    scope = place_scope_q(programme.place_id)
    refs = crit.references(tree)
    found = {
        "series": {str(pk) for pk in Series.objects.filter(scope, pk__in=refs["series"]).values_list("pk", flat=True)}
        if refs["series"]
        else set(),
        "course": {str(pk) for pk in Course.objects.filter(scope, pk__in=refs["course"]).values_list("pk", flat=True)}
        if refs["course"]
        else set(),
        "test": {str(pk) for pk in OnlineTest.objects.filter(scope, pk__in=refs["test"]).values_list("pk", flat=True)}
        if refs["test"]
        else set(),
    }
    missing = {
        "series": _("找不到该主题系列，或它不属于本项目的区划"),
        "course": _("找不到该课程，或它不属于本项目的区划"),
        "test": _("找不到该测试，或它不属于本项目的区划"),
    }
    out: list[str] = []
    for path, leaf in crit.iter_leaves(tree):
        for key in ("series", "course", "test"):
            cid = crit.canonical_id(leaf.get(key))
            if cid and cid not in found[key]:
                out.append(crit.format_problem(crit.Problem(path, key, missing[key])))
    return out


def _level_fields(
    programme: CredentialProgramme,
    *,
    rank: Any,
    name: str,
    criteria: Any,
    other_ranks: set[int],
) -> tuple[dict[str, list[str]], Any]:
    fields: dict[str, list[str]] = {}
    if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= 100:
        fields["rank"] = [_("级别应为 1 到 100 的整数")]
    elif rank in other_ranks:
        fields["rank"] = [_("第 %(rank)d 级已存在") % {"rank": rank}]
    if not name:
        fields["name"] = [_("必填")]
    elif len(name) > 50:
        fields["name"] = [_("不能超过 50 字")]
    own = rank if "rank" not in fields else None
    errors = _criteria_errors(programme, criteria, own_rank=own, ranks=other_ranks | ({own} if own else set()))
    if errors:
        fields["criteria"] = errors
        return fields, None
    return fields, crit.normalize(criteria)


def _certificate_count(level: CredentialLevel) -> int:
    return Certificate.objects.filter(level=level).count()


@transaction.atomic
def level_create(
    *,
    actor: Any,
    programme: CredentialProgramme,
    rank: int,
    name: str,
    criteria: Any,
    description: str = "",
) -> CredentialLevel:
    """Add a level. Its criteria may require (``level_held``) only lower levels that exist. The same request twice
    returns the level the first one made; another level of that rank is a conflict."""
    programme = CredentialProgramme.objects.select_for_update(no_key=True).get(pk=programme.pk)
    name, description = (name or "").strip(), (description or "").strip()
    ranks = set(programme.levels.values_list("rank", flat=True))
    existing = programme.levels.filter(rank=rank).first() if isinstance(rank, int) else None
    if existing is not None:
        if (
            existing.name == name
            and existing.description == description
            and not crit.validate(criteria)
            and existing.criteria == crit.normalize(criteria)
        ):
            return existing  # a double click
        msg = _("第 %(rank)d 级已存在") % {"rank": rank}
        raise Conflict(msg, fields={"rank": [msg]})
    fields, tree = _level_fields(programme, rank=rank, name=name, criteria=criteria, other_ranks=ranks)
    if len(description) > 300:
        fields["description"] = [_("不能超过 300 字")]
    if fields:
        raise _bad(fields)
    level = CredentialLevel(programme=programme, rank=rank, name=name, description=description, criteria=tree)
    try:
        level.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    level.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="credential_level",
        target_id=str(level.pk),
        place_code=programme.place_id,
        summary=f"{programme.name}：{level.name}",
        changes={"rank": rank, "criteria": tree},
    )
    return level


def _referencing(level: CredentialLevel, rank: int) -> list[CredentialLevel]:
    """Other levels of the programme whose criteria require (``level_held``) the given rank."""
    return [
        other
        for other in CredentialLevel.objects.filter(programme_id=level.programme_id).exclude(pk=level.pk)
        if str(rank) in crit.references(other.criteria)["rank"]
    ]


@transaction.atomic
def level_update(
    *,
    actor: Any,
    level: CredentialLevel,
    rank: int,
    name: str,
    criteria: Any,
    description: str = "",
) -> CredentialLevel:
    """Change a level. Once certificates of the level exist, its criteria and rank can no longer change (the name
    and description can): the refusal says to make a new version of the programme (``programme_copy``)."""
    programme = CredentialProgramme.objects.select_for_update(no_key=True).get(pk=level.programme_id)
    level = CredentialLevel.objects.select_for_update().get(pk=level.pk)
    name, description = (name or "").strip(), (description or "").strip()
    ranks = set(programme.levels.exclude(pk=level.pk).values_list("rank", flat=True))
    fields, tree = _level_fields(programme, rank=rank, name=name, criteria=criteria, other_ranks=ranks)
    if len(description) > 300:
        fields["description"] = [_("不能超过 300 字")]
    if fields:
        raise _bad(fields)
    changes_meaning = tree != level.criteria or rank != level.rank
    if changes_meaning:
        issued = _certificate_count(level)
        if issued:
            msg = _(
                "该级别已颁发 %(n)d 张证书，持证人是按现在的条件获得的，条件和级别不能再修改（名称和说明可以改）。"
                "如需调整，请在项目页“另存为新版本”，在新版本中修改后启用，再停用本项目。"
            ) % {"n": issued}
            raise Conflict(msg, fields={"criteria": [msg]}, code="level_in_use")
        if rank != level.rank:
            users = _referencing(level, level.rank)
            if users:
                msg = _("级别“%(names)s”的条件要求持有本级别，不能改变级别序号") % {
                    "names": "、".join(u.name for u in users)
                }
                raise Conflict(msg, fields={"rank": [msg]})
    before = {"rank": level.rank, "name": level.name, "description": level.description, "criteria": level.criteria}
    level.rank, level.name, level.description, level.criteria = rank, name, description, tree
    try:
        level.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            level.save(update_fields=["rank", "name", "description", "criteria", "updated_at"])
    except IntegrityError as exc:
        msg = _("第 %(rank)d 级已存在") % {"rank": rank}
        raise Conflict(msg, fields={"rank": [msg]}) from exc
    audit_record(
        actor=actor,
        action="update",
        target_type="credential_level",
        target_id=str(level.pk),
        place_code=programme.place_id,
        summary=f"{programme.name}：{level.name}",
        changes={"before": before, "after": {"rank": rank, "name": name, "criteria": tree}},
    )
    return level


@transaction.atomic
def level_delete(*, actor: Any, level: CredentialLevel) -> None:
    """Remove a level that has no certificates, that no other level requires, and that is not the last level of an
    active programme."""
    programme = CredentialProgramme.objects.select_for_update(no_key=True).get(pk=level.programme_id)
    level = CredentialLevel.objects.select_for_update().get(pk=level.pk)
    if _certificate_count(level):
        raise Conflict(_("该级别已颁发证书，不能删除"), code="level_in_use")
    users = _referencing(level, level.rank)
    if users:
        raise Conflict(_("级别“%(names)s”的条件要求持有本级别，不能删除") % {"names": "、".join(u.name for u in users)})
    if programme.status == ProgrammeStatus.ACTIVE and programme.levels.count() <= 1:
        raise Conflict(_("进行中的认证项目至少要有一个级别"))
    audit_record(
        actor=actor,
        action="delete",
        target_type="credential_level",
        target_id=str(level.pk),
        place_code=programme.place_id,
        summary=f"{programme.name}：{level.name}",
        changes={"rank": level.rank, "criteria": level.criteria},
    )
    level.delete()
