"""Writes of 育 cultivate: admission standards and checks, support records, supply lists, assessment schemes, rounds,
entries, assessors, scores, closing (ranking and selection), replies to last-place warnings and publication.

One transaction each, audited. Permission checks are the callers' (``rules.py``); these functions enforce the
domain's rules: a scheme in use is never edited (a change is a new version), an assessor never scores an organisation
they lead or belong to, scores fit the scheme, a closed round never changes again (closing twice, or two closes at
once, give one result: the round row is locked and its status decides).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied, full_clean_or_invalid
from gongzhi.places.models import Place

from ..models import (
    AdmissionCheck,
    AdmissionCriterion,
    AssessmentRound,
    AssessmentScheme,
    AssessmentScore,
    Organization,
    OrganizationStatus,
    RoundEntry,
    RoundStatus,
    SupplyItem,
    SupportKind,
    SupportRecord,
)
from ..rules import forget_assessor, is_organization_leader
from . import selection
from .selectors import conflicted_organization_ids, place_chain

BAD_INPUT = "提交的信息有误，请检查标红的字段"
MAX_AMOUNT = Decimal("10000000000")


def _bad(fields: dict[str, list[str]], message: str | None = None) -> DomainError:
    return DomainError(message or _(BAD_INPUT), fields=fields)


def _text(value: str | None) -> str:
    return (value or "").strip()


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


# --- admission ----------------------------------------------------------------------------------------------------


@transaction.atomic
def admission_criterion_add(*, actor: Any, place: Place, text: str, order: int | None = None) -> AdmissionCriterion:
    """Add an item to a place's admission standard (准入标准). The same text twice on one place is refused."""
    text = _text(text)
    if not text:
        raise _bad({"text": [_("必填")]})
    if len(text) > 200:
        raise _bad({"text": [_("不能超过 200 字")]})
    if order is None:
        order = (AdmissionCriterion.objects.filter(place=place).aggregate(m=Max("order"))["m"] or 0) + 1
    criterion = AdmissionCriterion(place=place, text=text, order=max(0, min(int(order), 32767)))
    full_clean_or_invalid(
        criterion, validate_unique=False, validate_constraints=False
    )  # the database decides uniqueness
    try:
        with transaction.atomic():
            criterion.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(_("该区划已有这条准入标准"), fields={"text": [_("已存在")]}, code="duplicate") from exc
    audit_record(
        actor=actor,
        action="create",
        target_type="admission_criterion",
        target_id=str(criterion.pk),
        place_code=place.code,
        summary=f"新增准入标准：{text}"[:300],
    )
    return criterion


@transaction.atomic
def admission_criterion_update(
    *,
    actor: Any,
    criterion: AdmissionCriterion,
    text: str | None = None,
    order: int | None = None,
    active: bool | None = None,
) -> AdmissionCriterion:
    """Change a criterion's text or order, or retire it (``active=False``; checks already made are kept)."""
    criterion = AdmissionCriterion.objects.select_for_update().get(pk=criterion.pk)
    changed: dict[str, Any] = {}
    if text is not None:
        text = _text(text)
        if not text:
            raise _bad({"text": [_("必填")]})
        if len(text) > 200:
            raise _bad({"text": [_("不能超过 200 字")]})
        if text != criterion.text:
            changed["text"] = text
    if order is not None and order != criterion.order:
        changed["order"] = max(0, min(int(order), 32767))
    if active is not None and active != criterion.active:
        changed["active"] = active
    if not changed:
        return criterion
    for name, value in changed.items():
        setattr(criterion, name, value)
    try:
        with transaction.atomic():
            criterion.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:
        raise Conflict(_("该区划已有这条准入标准"), fields={"text": [_("已存在")]}, code="duplicate") from exc
    audit_record(
        actor=actor,
        action="update",
        target_type="admission_criterion",
        target_id=str(criterion.pk),
        place_code=criterion.place_id,
        summary=f"修改准入标准：{criterion.text}"[:300],
        changes={k: v for k, v in changed.items()},
    )
    return criterion


@transaction.atomic
def admission_check_record(
    *,
    actor: Any,
    organization: Organization,
    criterion: AdmissionCriterion,
    met: bool,
    evidence: str = "",
    checked_on: datetime.date | None = None,
) -> AdmissionCheck:
    """Record whether an organisation meets one criterion of its place chain, with the evidence (required when met),
    who checked and when. Checking again replaces the earlier result (one check per organisation and criterion)."""
    evidence = _text(evidence)
    checked_on = checked_on or timezone.localdate()
    fields: dict[str, list[str]] = {}
    if criterion.place_id not in place_chain(organization.place_id):
        fields["criterion"] = [_("这条标准不适用于该组织所在的区划")]
    elif not criterion.active:
        fields["criterion"] = [_("这条标准已停用")]
    if met and not evidence:
        fields["evidence"] = [_("符合时须写明依据：如章程、活动记录、名册")]
    if len(evidence) > 300:
        fields["evidence"] = [_("不能超过 300 字")]
    if checked_on > timezone.localdate():
        fields["checked_on"] = [_("不能晚于今天")]
    if fields:
        raise _bad(fields)
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    check = AdmissionCheck.objects.select_for_update().filter(organization=organization, criterion=criterion).first()
    if check is None:
        check = AdmissionCheck(organization=organization, criterion=criterion)
    check.met, check.evidence, check.checked_on, check.checked_by = met, evidence, checked_on, acting_user(actor)
    if check._state.adding:
        check.save(force_insert=True)
    else:
        check.save(update_fields=["met", "evidence", "checked_on", "checked_by", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="admission_check",
        target_id=str(check.pk),
        place_code=organization.place_id,
        summary=f"{organization.name} 准入核查：{criterion.text}（{'符合' if met else '不符合'}）"[:300],
        changes={"met": met, "evidence": evidence, "checked_on": checked_on.isoformat()},
    )
    return check


# --- support and supply -------------------------------------------------------------------------------------------


def _check_support(
    *,
    kind: str,
    title: str,
    starts_on: datetime.date | None,
    ends_on: datetime.date | None,
    amount: Decimal | None,
    quantity: int | None,
    deliverables: str,
    note: str,
) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if kind not in SupportKind.values:
        fields["kind"] = [_("不是可选的值")]
    if not title:
        fields["title"] = [_("必填")]
    elif len(title) > 200:
        fields["title"] = [_("不能超过 200 字")]
    if starts_on is None:
        fields["starts_on"] = [_("必填")]
    elif ends_on is not None and ends_on < starts_on:
        fields["ends_on"] = [_("不能早于开始日期")]
    if amount is not None and (amount < 0 or amount >= MAX_AMOUNT):
        fields["amount"] = [_("金额应为 0 到 100 亿之间")]
    if quantity is not None and quantity < 1:
        fields["quantity"] = [_("至少为 1")]
    if len(note) > 300:
        fields["note"] = [_("不能超过 300 字")]
    if kind == SupportKind.CONTRACT:
        # A government-purchased service: amount, period and deliverables.
        if amount is None:
            fields.setdefault("amount", [_("政府购买服务须填写金额")])
        if ends_on is None:
            fields.setdefault("ends_on", [_("政府购买服务须填写服务期限（结束日期）")])
        if not deliverables:
            fields.setdefault("deliverables", [_("政府购买服务须写明交付内容")])
    elif kind == SupportKind.FUNDS and amount is None:
        fields.setdefault("amount", [_("资金扶持须填写金额")])
    elif kind == SupportKind.POST and not quantity:
        fields.setdefault("quantity", [_("公益岗位须填写岗位数")])
    return fields


@transaction.atomic
def support_record_add(
    *,
    actor: Any,
    organization: Organization,
    kind: str,
    title: str,
    starts_on: datetime.date | None,
    ends_on: datetime.date | None = None,
    amount: Decimal | None = None,
    quantity: int | None = None,
    deliverables: str = "",
    note: str = "",
) -> SupportRecord:
    """Record support the education centre gave an organisation: training, mentoring, a venue, funds, a
    government-purchased service contract (amount, period and deliverables required) or public-welfare posts (the
    number of posts required)."""
    title, deliverables, note = _text(title), _text(deliverables), _text(note)
    fields = _check_support(
        kind=kind,
        title=title,
        starts_on=starts_on,
        ends_on=ends_on,
        amount=amount,
        quantity=quantity,
        deliverables=deliverables,
        note=note,
    )
    if fields or starts_on is None:
        raise _bad(fields)
    status = Organization.objects.filter(pk=organization.pk).values_list("status", flat=True).first()
    if status not in (OrganizationStatus.ACTIVE, OrganizationStatus.DISSOLVED):
        raise DomainError(_("只能为已成立的组织记录扶持"), code="not_active")
    record = SupportRecord(
        organization=organization,
        kind=kind,
        title=title,
        starts_on=starts_on,
        ends_on=ends_on,
        amount=amount,
        quantity=quantity,
        deliverables=deliverables,
        note=note,
        recorded_by=acting_user(actor),
    )
    full_clean_or_invalid(record)
    record.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="support_record",
        target_id=str(record.pk),
        place_code=organization.place_id,
        summary=f"{organization.name} 扶持记录：{record.get_kind_display()} {title}"[:300],
        changes={"amount": str(amount) if amount is not None else None, "quantity": quantity},
    )
    return record


@transaction.atomic
def support_record_delete(*, actor: Any, record: SupportRecord, reason: str = "") -> None:
    """Delete a support record entered by mistake (audited with its content and the reason)."""
    record = SupportRecord.objects.select_for_update().select_related("organization").get(pk=record.pk)
    audit_record(
        actor=actor,
        action="delete",
        target_type="support_record",
        target_id=str(record.pk),
        place_code=record.organization.place_id,
        summary=f"删除 {record.organization.name} 的扶持记录：{record.title}"[:300],
        changes={
            "kind": record.kind,
            "title": record.title,
            "starts_on": record.starts_on.isoformat(),
            "amount": str(record.amount) if record.amount is not None else None,
            "reason": _text(reason)[:200],
        },
    )
    record.delete()


def _check_supply(title: str, description: str, audience: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if not title:
        fields["title"] = [_("必填")]
    elif len(title) > 200:
        fields["title"] = [_("不能超过 200 字")]
    if len(description) > 2000:
        fields["description"] = [_("不能超过 2000 字")]
    if len(audience) > 100:
        fields["audience"] = [_("不能超过 100 字")]
    return fields


@transaction.atomic
def supply_item_add(
    *, actor: Any, organization: Organization, title: str, description: str = "", audience: str = ""
) -> SupplyItem:
    """Add a service the organisation can offer to its supply list (供给清单). The same active title twice returns
    the existing line (a double click adds one)."""
    title, description, audience = _text(title), _text(description), _text(audience)
    fields = _check_supply(title, description, audience)
    if fields:
        raise _bad(fields)
    locked = Organization.objects.select_for_update().filter(pk=organization.pk).values_list("status", flat=True)
    if locked.first() != OrganizationStatus.ACTIVE:
        raise DomainError(_("只有活跃的组织可以维护供给清单"), code="not_active")
    existing = SupplyItem.objects.filter(organization=organization, title=title, active=True).first()
    if existing is not None:
        return existing
    item = SupplyItem(organization=organization, title=title, description=description, audience=audience)
    full_clean_or_invalid(item)
    item.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="supply_item",
        target_id=str(item.pk),
        place_code=organization.place_id,
        summary=f"{organization.name} 供给清单新增：{title}"[:300],
    )
    return item


@transaction.atomic
def supply_item_update(
    *,
    actor: Any,
    item: SupplyItem,
    title: str | None = None,
    description: str | None = None,
    audience: str | None = None,
    active: bool | None = None,
) -> SupplyItem:
    """Edit a line of the supply list, or take it off (``active=False``) and back."""
    item = SupplyItem.objects.select_for_update().select_related("organization").get(pk=item.pk)
    new = {
        "title": _text(title) if title is not None else item.title,
        "description": _text(description) if description is not None else item.description,
        "audience": _text(audience) if audience is not None else item.audience,
    }
    fields = _check_supply(new["title"], new["description"], new["audience"])
    if fields:
        raise _bad(fields)
    changed = [k for k, v in new.items() if getattr(item, k) != v]
    for k in changed:
        setattr(item, k, new[k])
    if active is not None and active != item.active:
        item.active = active
        changed.append("active")
    if not changed:
        return item
    item.save(update_fields=[*changed, "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="supply_item",
        target_id=str(item.pk),
        place_code=item.organization.place_id,
        summary=f"{item.organization.name} 供给清单修改：{item.title}"[:300],
        changes={k: getattr(item, k) for k in changed},
    )
    return item


# --- schemes ------------------------------------------------------------------------------------------------------


@transaction.atomic
def assessment_scheme_save(
    *,
    actor: Any,
    place: Place,
    year: int,
    name: str,
    criteria: Any,
    scheme: AssessmentScheme | None = None,
) -> tuple[AssessmentScheme, bool]:
    """Create a scheme (version 1, or the next version for the place and year), or edit one.

    A scheme that no round uses is edited in place; a scheme in use is never edited: the edit becomes a new version
    (same place, next version number for its year) and the rounds keep the version they used. Returns ``(scheme,
    new_version)`` where ``new_version`` says whether a new row was made.
    """
    name = _text(name)
    fields: dict[str, list[str]] = {}
    if not name:
        fields["name"] = [_("必填")]
    elif len(name) > 100:
        fields["name"] = [_("不能超过 100 字")]
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        fields["year"] = [_("年度应在 2000 到 2100 之间")]
    parsed, errors = selection.validate_criteria(criteria)
    if errors:
        fields["criteria"] = errors
    if fields:
        raise _bad(fields)
    stored = [c.as_json() for c in parsed]
    Place.objects.select_for_update().filter(pk=place.pk).first()  # serialises version numbers per place
    if scheme is not None:
        scheme = AssessmentScheme.objects.select_for_update().get(pk=scheme.pk)
        if scheme.place_id != place.pk:
            raise _bad({"place": [_("不能改变方案所属的区划")]})
        if not scheme.rounds.exists():
            scheme.year, scheme.name, scheme.criteria = year, name, stored
            full_clean_or_invalid(scheme, validate_unique=False, validate_constraints=False)
            try:
                with transaction.atomic():
                    scheme.save(update_fields=["year", "name", "criteria", "updated_at"])
            except IntegrityError as exc:
                raise Conflict(_("该年度已有同一版本的方案"), fields={"year": [_("版本重复")]}) from exc
            audit_record(
                actor=actor,
                action="update",
                target_type="assessment_scheme",
                target_id=str(scheme.pk),
                place_code=place.code,
                summary=f"修改评估方案 {scheme}"[:300],
                changes={"criteria": stored},
            )
            return scheme, False
    version = (AssessmentScheme.objects.filter(place=place, year=year).aggregate(v=Max("version"))["v"] or 0) + 1
    new = AssessmentScheme(
        place=place, year=year, version=version, name=name, criteria=stored, created_by=acting_user(actor)
    )
    full_clean_or_invalid(new, validate_unique=False, validate_constraints=False)
    new.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="assessment_scheme",
        target_id=str(new.pk),
        place_code=place.code,
        summary=(
            f"评估方案 {new}（由 v{scheme.version} 修订，原版本已被评选使用）"
            if scheme is not None
            else f"新建评估方案 {new}"
        )[:300],
        changes={"criteria": stored},
    )
    return new, scheme is not None


# --- rounds -------------------------------------------------------------------------------------------------------


def _check_quotas(quotas: Any, warn_last: Any) -> tuple[dict[str, int], dict[str, list[str]]]:
    fields: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    if not isinstance(quotas, dict) or not quotas:
        fields["quotas"] = [_("至少需要一个类别和名额")]
    elif len(quotas) > 10:
        fields["quotas"] = [_("类别不能超过 10 个")]
    else:
        problems: list[str] = []
        for code, quota in quotas.items():
            code = str(code).strip()
            if not selection.CATEGORY_RE.match(code):
                problems.append(_("类别代码 %(code)s 应为小写字母开头的字母、数字或下划线") % {"code": code})
                continue
            if isinstance(quota, bool) or not isinstance(quota, int) or not 1 <= quota <= 10000:
                problems.append(_("类别 %(code)s 的名额应为 1 到 10000 的整数") % {"code": code})
                continue
            clean[code] = quota
        if problems:
            fields["quotas"] = problems
    if isinstance(warn_last, bool) or not isinstance(warn_last, int) or not 0 <= warn_last <= 1000:
        fields["warn_last"] = [_("应为 0 到 1000 的整数")]
    return clean, fields


@transaction.atomic
def assessment_round_create(
    *,
    actor: Any,
    scheme: AssessmentScheme,
    name: str,
    quotas: dict[str, int],
    warn_last: int = 0,
    place: Place | None = None,
) -> AssessmentRound:
    """Open an assessment and selection round on a scheme: categories with quotas (``{"studio": 10, "quality_org":
    50}``) and how many last places of each category are warned. The round's place is the scheme's or one below."""
    name = _text(name)
    place = place or scheme.place
    clean, fields = _check_quotas(quotas, warn_last)
    if not name:
        fields["name"] = [_("必填")]
    elif len(name) > 100:
        fields["name"] = [_("不能超过 100 字")]
    if not place.code.startswith(scheme.place.prefix):
        fields["place"] = [_("评选的区划须在方案所属区划之内")]
    if fields:
        raise _bad(fields)
    rnd = AssessmentRound(
        scheme=scheme, place=place, name=name, quotas=clean, warn_last=warn_last, created_by=acting_user(actor)
    )
    full_clean_or_invalid(rnd)
    rnd.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="assessment_round",
        target_id=str(rnd.pk),
        place_code=place.code,
        summary=f"新建评估评选 {name}"[:300],
        changes={"quotas": clean, "warn_last": warn_last, "scheme": str(scheme.pk)},
    )
    return rnd


def _locked_round(rnd: AssessmentRound) -> AssessmentRound:
    return AssessmentRound.objects.select_for_update().select_related("scheme", "place").get(pk=rnd.pk)


def _require_open(rnd: AssessmentRound) -> None:
    if rnd.status != RoundStatus.OPEN:
        raise Conflict(
            _("该评选已结束（%(status)s），不能再修改") % {"status": rnd.get_status_display()}, code="round_closed"
        )


@transaction.atomic
def round_entry_add(
    *, actor: Any, round: AssessmentRound, organization: Organization, category: str
) -> tuple[RoundEntry, bool]:
    """Enter an active organisation of the round's place in a category. Entering it again in the same category
    returns the existing entry (``created`` False); in another category it is refused."""
    rnd = _locked_round(round)
    _require_open(rnd)
    organization = Organization.objects.select_related("place").get(pk=organization.pk)  # its status now
    fields: dict[str, list[str]] = {}
    if category not in (rnd.quotas or {}):
        fields["category"] = [_("不是本轮评选的类别")]
    if not organization.place_id.startswith(rnd.place.prefix):
        fields["organization"] = [_("该组织不在本轮评选的区划内")]
    elif organization.status != OrganizationStatus.ACTIVE:
        fields["organization"] = [_("只有活跃的组织可以参评")]
    if fields:
        raise _bad(fields)
    existing = RoundEntry.objects.filter(round=rnd, organization=organization).first()
    if existing is not None:
        if existing.category != category:
            raise Conflict(
                _("该组织已在“%(category)s”类别参评") % {"category": selection.category_label(existing.category)},
                fields={"organization": [_("已参评")]},
                code="already_entered",
            )
        return existing, False
    try:
        with transaction.atomic():
            entry = RoundEntry.objects.create(round=rnd, organization=organization, category=category)
    except IntegrityError:
        return RoundEntry.objects.get(round=rnd, organization=organization), False
    audit_record(
        actor=actor,
        action="create",
        target_type="round_entry",
        target_id=str(entry.pk),
        place_code=rnd.place_id,
        summary=f"{organization.name} 参加 {rnd.name}（{selection.category_label(category)}）"[:300],
    )
    return entry, True


@transaction.atomic
def round_entry_remove(*, actor: Any, entry: RoundEntry) -> None:
    """Take an entry out of an open round; an entry that has scores stays (its scores are evidence)."""
    rnd = _locked_round(entry.round)
    _require_open(rnd)
    entry = RoundEntry.objects.select_related("organization").get(pk=entry.pk)
    if entry.scores.exists():
        raise Conflict(_("该组织已有评分，不能移出"), code="has_scores")
    audit_record(
        actor=actor,
        action="delete",
        target_type="round_entry",
        target_id=str(entry.pk),
        place_code=rnd.place_id,
        summary=f"{entry.organization.name} 移出 {rnd.name}"[:300],
    )
    entry.delete()


@transaction.atomic
def round_assessor_add(*, actor: Any, round: AssessmentRound, user: Any) -> bool:
    """Make a user an assessor of an open round; whether they were added (already an assessor: False)."""
    rnd = _locked_round(round)
    _require_open(rnd)
    if not getattr(user, "is_active", False):
        raise _bad({"assessor": [_("该账号已停用")]})
    if rnd.assessors.filter(pk=user.pk).exists():
        return False
    rnd.assessors.add(user)
    forget_assessor(user)
    audit_record(
        actor=actor,
        action="update",
        target_type="assessment_round",
        target_id=str(rnd.pk),
        place_code=rnd.place_id,
        summary=f"{rnd.name} 增加评审 {user}"[:300],
    )
    return True


@transaction.atomic
def round_assessor_remove(*, actor: Any, round: AssessmentRound, user: Any) -> bool:
    """Remove an assessor who has not scored yet; whether they were removed."""
    rnd = _locked_round(round)
    _require_open(rnd)
    if not rnd.assessors.filter(pk=user.pk).exists():
        return False
    if AssessmentScore.objects.filter(entry__round=rnd, assessor=user).exists():
        raise Conflict(_("该评审已经评分，不能移除"), code="has_scores")
    rnd.assessors.remove(user)
    forget_assessor(user)
    audit_record(
        actor=actor,
        action="update",
        target_type="assessment_round",
        target_id=str(rnd.pk),
        place_code=rnd.place_id,
        summary=f"{rnd.name} 移除评审 {user}"[:300],
    )
    return True


@transaction.atomic
def assessment_score_submit(*, actor: Any, entry: RoundEntry, scores: Any, comment: str = "") -> AssessmentScore:
    """An assessor scores an entry of an open round (submitting again revises their score).

    Refused: someone who is not an assessor of the round; an assessor who leads or belongs to the organisation
    (``code="conflict_of_interest"``: a current membership, or one that ended in the assessment year); a score
    outside 0..max of a criterion, a missing criterion, an unknown one.
    """
    rnd = _locked_round(entry.round)  # a close and a score never interleave
    entry = RoundEntry.objects.select_related("organization").get(pk=entry.pk)
    _require_open(rnd)
    if not getattr(actor, "is_authenticated", False) or not rnd.assessors.filter(pk=actor.pk).exists():
        raise PermissionDenied(_("您不是本轮评选的评审"), code="not_assessor")
    if conflicted_organization_ids(user=actor, organization_ids=[entry.organization_id], year=rnd.scheme.year):
        raise PermissionDenied(
            _("您是“%(name)s”的负责人或成员，须回避，不能为其评分") % {"name": entry.organization.name},
            code="conflict_of_interest",
        )
    comment = _text(comment)
    criteria = selection.criteria_of(rnd.scheme.criteria)
    parsed, fields = selection.validate_scores(criteria, scores)
    if len(comment) > 300:
        fields["comment"] = [_("不能超过 300 字")]
    if fields:
        raise _bad(fields)
    total = selection.weighted_total(criteria, parsed)
    stored = {code: selection.as_json_number(value) for code, value in parsed.items()}
    score = AssessmentScore.objects.select_for_update().filter(entry=entry, assessor=actor).first()
    created = score is None
    if score is None:
        score = AssessmentScore(entry=entry, assessor=actor, scores=stored, total=total, comment=comment)
        try:
            with transaction.atomic():
                score.save(force_insert=True)
        except IntegrityError:
            score = AssessmentScore.objects.select_for_update().get(entry=entry, assessor=actor)
            created = False
    if not created:
        score.scores, score.total, score.comment = stored, total, comment
        score.save(update_fields=["scores", "total", "comment", "updated_at"])
    audit_record(
        actor=actor,
        action="create" if created else "update",
        target_type="assessment_score",
        target_id=str(score.pk),
        place_code=rnd.place_id,
        summary=f"{rnd.name}：为 {entry.organization.name} 评分 {total}"[:300],
        changes={"scores": stored, "total": str(total)},
    )
    return score


@transaction.atomic
def assessment_round_close(
    *, actor: Any, round: AssessmentRound, now: datetime.datetime | None = None
) -> tuple[AssessmentRound, bool]:
    """End scoring and compute the result: each entry's total (mean of its assessors' weighted totals), its rank in
    its category by the stated tie-break (``selection`` module), selection of the first ``quota`` and last-place
    warnings. Every entry needs at least one score.

    Idempotent: a round that is already closed or published is returned unchanged (``changed`` False). The round row
    is locked first, so of two concurrent closes one computes and the other finds it closed.
    """
    rnd = _locked_round(round)
    if rnd.status != RoundStatus.OPEN:
        return rnd, False
    entries = list(RoundEntry.objects.filter(round=rnd).select_related("organization"))
    if not entries:
        raise DomainError(_("还没有参评组织，不能结束评选"), code="no_entries")
    by_entry: dict[Any, list[tuple[Decimal, dict[str, Any]]]] = {}
    for entry_id, total, scores in AssessmentScore.objects.filter(entry__round=rnd).values_list(
        "entry_id", "total", "scores"
    ):
        by_entry.setdefault(entry_id, []).append((Decimal(total), scores))
    unscored = [e.organization.name for e in entries if e.pk not in by_entry]
    if unscored:
        raise DomainError(
            _("以下组织还没有评分，不能结束评选：%(names)s") % {"names": "、".join(sorted(unscored))}, code="unscored"
        )
    criteria = selection.criteria_of(rnd.scheme.criteria)
    heaviest = selection.heaviest(criteria)
    candidates: dict[str, list[selection.Candidate]] = {}
    for e in entries:
        rows = by_entry[e.pk]
        e.total = selection.mean([t for t, _s in rows])
        h = selection.mean([selection.as_decimal(s.get(heaviest.code)) or Decimal(0) for _t, s in rows])
        candidates.setdefault(e.category, []).append(
            selection.Candidate(
                key=e.pk,
                total=e.total,
                heaviest=h,
                assessors=len(rows),
                founded_on=e.organization.founded_on,
                ref=e.organization.ref,
            )
        )
    placements: dict[Any, selection.Placement] = {}
    for category, group in candidates.items():
        quota = int((rnd.quotas or {}).get(category, 0))
        for p in selection.rank(group, quota=quota, warn_last=rnd.warn_last):
            placements[p.key] = p
    moment = _now(now)
    for e in entries:
        p = placements[e.pk]
        e.rank, e.outcome, e.tie_note, e.updated_at = p.rank, p.outcome, p.tie_note, moment
    RoundEntry.objects.bulk_update(entries, ["total", "rank", "outcome", "tie_note", "updated_at"])
    rnd.status, rnd.closed_at = RoundStatus.CLOSED, moment
    rnd.save(update_fields=["status", "closed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="assessment_round",
        target_id=str(rnd.pk),
        place_code=rnd.place_id,
        summary=f"结束评选并计算排名：{rnd.name}"[:300],
        changes={
            "selected": sum(1 for p in placements.values() if p.outcome == "selected"),
            "warned": sum(1 for p in placements.values() if p.outcome == "warned"),
        },
    )
    return rnd, True


@transaction.atomic
def round_entry_reply(*, actor: Any, entry: RoundEntry, text: str, now: datetime.datetime | None = None) -> RoundEntry:
    """The leader of a warned organisation replies (申辩) before the result is published; replying again replaces
    the reply."""
    rnd = _locked_round(entry.round)
    entry = RoundEntry.objects.select_for_update().select_related("organization").get(pk=entry.pk)
    if not is_organization_leader(actor, entry.organization):
        raise PermissionDenied(_("只有该组织的负责人可以申辩"), code="not_leader")
    if entry.outcome != RoundEntry.Outcome.WARNED:
        raise Conflict(_("只有受到末位警示的组织可以申辩"), code="not_warned")
    if rnd.status != RoundStatus.CLOSED:
        raise Conflict(_("评选结果已公示，不能再申辩"), code="published")
    text = _text(text)
    if not text:
        raise _bad({"reply": [_("必填")]})
    if len(text) > 2000:
        raise _bad({"reply": [_("不能超过 2000 字")]})
    entry.reply, entry.replied_at, entry.replied_by = text, _now(now), acting_user(actor)
    entry.save(update_fields=["reply", "replied_at", "replied_by", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="round_entry",
        target_id=str(entry.pk),
        place_code=rnd.place_id,
        summary=f"{entry.organization.name} 对 {rnd.name} 的末位警示提出申辩"[:300],
    )
    return entry


@transaction.atomic
def assessment_round_publish(
    *, actor: Any, round: AssessmentRound, now: datetime.datetime | None = None
) -> tuple[AssessmentRound, bool]:
    """Publish a closed round's selection (the public list). Publishing again changes nothing; an open round must be
    closed first."""
    rnd = _locked_round(round)
    if rnd.status == RoundStatus.PUBLISHED:
        return rnd, False
    if rnd.status != RoundStatus.CLOSED:
        raise Conflict(_("请先结束评分并计算排名，再公示"), code="not_closed")
    rnd.status, rnd.published_at = RoundStatus.PUBLISHED, _now(now)
    rnd.save(update_fields=["status", "published_at", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="assessment_round",
        target_id=str(rnd.pk),
        place_code=rnd.place_id,
        summary=f"公示评选结果：{rnd.name}"[:300],
    )
    return rnd, True
