"""Writes of star ratings (星级评定): the declared yearly standard, assessments by staff and peers, computing the
proposals, the staff review and publication.

The life of a standard
    ``draft`` (草稿): criteria, weights, targets and thresholds are written and may change.
    ``active`` (评定中): declared — the criteria are fixed (only the name may change); staff and peers score the
    assessment criteria; the proposals are computed (again and again: recomputing updates the proposals that have not
    been reviewed, and never a reviewed one); staff review every proposal (approve, or change the stars with a note).
    ``published`` (已公布): when every rating is reviewed; residents see their stars, the public list shows the
    starred residents with masked names. Nothing changes any more.

One transaction each, audited. Permission checks are the callers' (``rules.py``) except where the domain decides who
may do it (who may score whom). Repeated requests never duplicate: one rating per standard and resident and one score
per assessor, resident and criterion (database constraints); the standard's row is locked by every write that
depends on its status, so a compute, a review and a publication never interleave.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied, full_clean_or_invalid
from gongzhi.organizations.models import Organization
from gongzhi.people import access
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import StarAssessment, StarRating, StarRatingStatus, StarStandard, StarStandardStatus
from . import compute, selectors

BAD_INPUT = "提交的信息有误，请检查标红的字段"
BATCH = 500


def _bad(fields: dict[str, list[str]], message: str | None = None) -> DomainError:
    return DomainError(message or _(BAD_INPUT), fields=fields)


def _text(value: str | None) -> str:
    return (value or "").strip()


def _locked(standard: StarStandard) -> StarStandard:
    return StarStandard.objects.select_for_update().select_related("place").get(pk=standard.pk)


# --- the standard ---------------------------------------------------------------------------------------------------


def _check_standard(
    *, place: Place, year: Any, name: str, criteria: Any, thresholds: Any, organization_ref: str
) -> tuple[list[compute.Criterion], list[Decimal], dict[str, list[str]]]:
    fields: dict[str, list[str]] = {}
    if not name:
        fields["name"] = [_("名称：必填")]
    elif len(name) > 100:
        fields["name"] = [_("名称：不能超过 100 字")]
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        fields["year"] = [_("年度：应在 2000 到 2100 之间")]
    if place.level not in ("street", "community"):
        fields["place"] = [_("区划：星级评定在街道或社区开展")]
    if organization_ref:
        organization = Organization.objects.filter(ref=organization_ref).only("place_id", "status").first()
        if organization is None:
            fields["organization_ref"] = [_("限定组织：找不到编号为 %(ref)s 的组织") % {"ref": organization_ref}]
        elif not codes.covers(place.code, organization.place_id):
            fields["organization_ref"] = [_("限定组织：该组织不在本标准的区划内")]
        elif organization.status != "active":
            fields["organization_ref"] = [_("限定组织：该组织不在活动中")]
    parsed, errors = compute.validate_criteria(criteria, organization_limited=bool(organization_ref))
    if errors:
        fields["criteria"] = errors
    levels, errors = compute.validate_thresholds(thresholds)
    if errors:
        fields["thresholds"] = errors
    return parsed, levels, fields


def _stored(criteria: list[compute.Criterion], thresholds: list[Decimal]) -> tuple[list[dict[str, Any]], list[Any]]:
    return [c.as_json() for c in criteria], [compute.as_json_number(t) for t in thresholds]


@transaction.atomic
def star_standard_create(
    *,
    actor: Any,
    place: Place,
    year: int,
    name: str,
    criteria: Any,
    thresholds: Any,
    organization_ref: str = "",
) -> StarStandard:
    """Write a yearly standard (a draft) for a street or community, optionally limited to the members of one of its
    organisations. The same place, year and name twice is refused."""
    name, organization_ref = _text(name), _text(organization_ref)
    parsed, levels, fields = _check_standard(
        place=place, year=year, name=name, criteria=criteria, thresholds=thresholds, organization_ref=organization_ref
    )
    if fields:
        raise _bad(fields)
    stored_criteria, stored_thresholds = _stored(parsed, levels)
    standard = StarStandard(
        place=place,
        year=year,
        name=name,
        organization_ref=organization_ref,
        criteria=stored_criteria,
        thresholds=stored_thresholds,
        created_by=acting_user(actor),
    )
    full_clean_or_invalid(standard, validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            standard.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(
            _("该区划该年度已有同名的评定标准"), fields={"name": [_("名称：已存在")]}, code="duplicate"
        ) from exc
    audit_record(
        actor=actor,
        action="create",
        target_type="star_standard",
        target_id=str(standard.pk),
        place_code=place.code,
        summary=f"新建星级评定标准 {standard}"[:300],
        changes={"criteria": stored_criteria, "thresholds": stored_thresholds, "organization_ref": organization_ref},
    )
    return standard


@transaction.atomic
def star_standard_update(
    *,
    actor: Any,
    standard: StarStandard,
    name: str | None = None,
    year: int | None = None,
    criteria: Any = None,
    thresholds: Any = None,
    organization_ref: str | None = None,
) -> StarStandard:
    """Change a draft standard. Once declared (active) only its name may change; a published one not at all."""
    std = _locked(standard)
    if std.status == StarStandardStatus.PUBLISHED:
        raise Conflict(_("评定结果已公布，标准不能再修改"), code="published")
    new_name = _text(name) if name is not None else std.name
    new_year = year if year is not None else std.year
    new_ref = _text(organization_ref) if organization_ref is not None else std.organization_ref
    new_criteria = criteria if criteria is not None else std.criteria
    new_thresholds = thresholds if thresholds is not None else std.thresholds
    if std.status != StarStandardStatus.DRAFT:
        fixed = {
            "year": new_year != std.year,
            "organization_ref": new_ref != std.organization_ref,
            "criteria": criteria is not None and criteria != std.criteria,
            "thresholds": thresholds is not None and thresholds != std.thresholds,
        }
        changed_fixed = [k for k, v in fixed.items() if v]
        if changed_fixed:
            message = _("标准已发布开始评定，指标、分数线、年度和限定组织不能再修改")
            raise Conflict(message, fields={k: [message] for k in changed_fixed}, code="declared")
    parsed, levels, fields = _check_standard(
        place=std.place,
        year=new_year,
        name=new_name,
        criteria=new_criteria,
        thresholds=new_thresholds,
        organization_ref=new_ref,
    )
    if std.status != StarStandardStatus.DRAFT:
        fields.pop("organization_ref", None)  # the organisation may have changed since; the standard keeps it
    if fields:
        raise _bad(fields)
    stored_criteria, stored_thresholds = _stored(parsed, levels)
    new = {
        "name": new_name,
        "year": new_year,
        "organization_ref": new_ref,
        "criteria": stored_criteria,
        "thresholds": stored_thresholds,
    }
    changed = [k for k, v in new.items() if getattr(std, k) != v]
    if not changed:
        return std
    for k in changed:
        setattr(std, k, new[k])
    try:
        with transaction.atomic():
            std.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:
        raise Conflict(
            _("该区划该年度已有同名的评定标准"), fields={"name": [_("名称：已存在")]}, code="duplicate"
        ) from exc
    audit_record(
        actor=actor,
        action="update",
        target_type="star_standard",
        target_id=str(std.pk),
        place_code=std.place_id,
        summary=f"修改星级评定标准 {std}"[:300],
        changes={k: new[k] for k in changed},
    )
    return std


@transaction.atomic
def star_standard_activate(*, actor: Any, standard: StarStandard) -> tuple[StarStandard, bool]:
    """Declare a draft standard (发布标准，开始评定): from now on its criteria are fixed, assessments are taken and
    proposals computed. Again: unchanged (``changed`` False)."""
    std = _locked(standard)
    if std.status != StarStandardStatus.DRAFT:
        return std, False
    fields = _check_standard(
        place=std.place,
        year=std.year,
        name=std.name,
        criteria=std.criteria,
        thresholds=std.thresholds,
        organization_ref=std.organization_ref,
    )[2]
    if fields:
        raise _bad(fields)
    std.status = StarStandardStatus.ACTIVE
    std.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="star_standard",
        target_id=str(std.pk),
        place_code=std.place_id,
        summary=f"发布星级评定标准，开始评定：{std}"[:300],
    )
    return std, True


# --- assessments ----------------------------------------------------------------------------------------------------


def _criterion(std: StarStandard, code: str) -> compute.Criterion:
    found = next((c for c in compute.criteria_of(std.criteria) if c.code == code), None)
    if found is None or not found.is_assessment:
        raise _bad({"criterion": [_("评议指标：不是本标准的评议类指标")]})
    return found


@transaction.atomic
def star_assessment_submit(
    *,
    actor: Any,
    standard: StarStandard,
    resident: Resident,
    criterion: str,
    score: Any,
    comment: str = "",
) -> tuple[StarAssessment, bool]:
    """Score a resident (0–100) on an assessment criterion of an active standard; submitting again revises the
    assessor's score. ``(assessment, created)``.

    Who: staff covering the standard's place (any resident in scope) or a community inside it (its residents), on
    criteria scored by staff; a current member of the standard's organisation, on peer criteria, for a fellow
    member. Never oneself. Refused once the resident's rating has been reviewed (the reviewed stars would no longer
    match their facts).
    """
    std = _locked(standard)
    if std.status != StarStandardStatus.ACTIVE:
        raise Conflict(
            _("只有评定中的标准可以评分（当前：%(status)s）") % {"status": std.get_status_display()}, code="not_active"
        )
    crit = _criterion(std, _text(criterion))
    value = compute.as_decimal(score)
    comment = _text(comment)
    fields: dict[str, list[str]] = {}
    if value is None:
        fields["score"] = [_("评分：应为 0 到 100 的数")]
    elif value < 0 or value > 100:
        fields["score"] = [_("评分：应在 0 到 100 之间")]
    elif value != value.quantize(compute.CENT):
        fields["score"] = [_("评分：最多保留 2 位小数")]
    if len(comment) > 300:
        fields["comment"] = [_("评语：不能超过 300 字")]
    if fields:
        raise _bad(fields)
    assert value is not None
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_("请先登录"), code="unauthenticated")
    if resident.user_id is not None and resident.user_id == actor.pk:
        raise PermissionDenied(_("不能为自己评分"), fields={"resident": [_("不能为自己评分")]}, code="self_assessment")
    role = selectors.assessor_role(user=actor, standard=std)
    as_staff = (
        crit.staff_may_score
        and role.staff
        and (role.all_residents or access.has_role_covering(actor, resident.community_id, access.STAFF_ROLES))
    )
    as_peer = crit.peers_may_score and role.peer_resident_id is not None and role.peer_resident_id != resident.pk
    if as_peer and not as_staff:
        as_peer = (
            std.organization_ref != ""
            and resident.memberships.filter(organization__ref=std.organization_ref, left_on__isnull=True).exists()
        )
    if not (as_staff or as_peer):
        message = (
            _("“%(name)s”由同伴互评：只有同一组织的其他成员可以评分")
            if crit.by == compute.BY_PEER
            else _("您不能为该居民在“%(name)s”上评分")
        ) % {"name": crit.name}
        raise PermissionDenied(message, fields={"criterion": [message]}, code="not_assessor")
    if not selectors.in_scope(std, resident):
        raise _bad({"resident": [_("居民：不在本标准的评定范围内")]})
    if StarRating.objects.filter(standard=std, resident=resident).exclude(status=StarRatingStatus.PROPOSED).exists():
        raise Conflict(_("该居民的星级已经审核，不能再修改评分"), fields={"resident": [_("已审核")]}, code="reviewed")
    found = StarAssessment.objects.select_for_update().filter(
        standard=std, resident=resident, criterion=crit.code, assessor=actor
    )
    assessment = found.first()
    created = assessment is None
    if assessment is None:
        assessment = StarAssessment(
            standard=std, resident=resident, criterion=crit.code, assessor=actor, score=value, comment=comment
        )
        try:
            with transaction.atomic():
                assessment.save(force_insert=True)
        except IntegrityError:  # a concurrent first score by the same assessor won: revise it
            assessment = found.get()
            created = False
    if not created:
        if assessment.score == value and assessment.comment == comment:
            return assessment, False
        assessment.score, assessment.comment = value, comment
        assessment.save(update_fields=["score", "comment", "updated_at"])
    audit_record(
        actor=actor,
        action="create" if created else "update",
        target_type="star_assessment",
        target_id=str(assessment.pk),
        place_code=std.place_id,
        summary=f"{std}：{crit.name} 为 {resident.masked_name or resident.ref} 评分 {value}"[:300],
        changes={"score": str(value), "criterion": crit.code, "as": "staff" if as_staff else "peer"},
    )
    return assessment, created


@transaction.atomic
def star_assessments_submit(
    *, actor: Any, standard: StarStandard, resident: Resident, scores: dict[str, Any], comment: str = ""
) -> int:
    """Several criteria of one resident at once (a form row): all or nothing. How many scores were new or changed."""
    changed = 0
    for code, value in scores.items():
        before = (
            StarAssessment.objects.filter(
                standard=standard, resident=resident, criterion=code, assessor=getattr(actor, "pk", None)
            )
            .values_list("score", "comment")
            .first()
        )
        assessment, created = star_assessment_submit(
            actor=actor, standard=standard, resident=resident, criterion=code, score=value, comment=comment
        )
        if created or before != (assessment.score, assessment.comment):
            changed += 1
    return changed


# --- computing the proposals ----------------------------------------------------------------------------------------


@dataclass
class ComputeResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_reviewed: int = 0  # reviewed ratings left as they are
    reviewed_differs: int = 0  # … of which the facts now give another score or stars
    removed: int = 0  # proposals of residents no longer in scope

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.kept_reviewed


@transaction.atomic
def star_ratings_compute(*, actor: Any, standard: StarStandard, now: datetime.datetime | None = None) -> ComputeResult:
    """Compute the proposals of an active standard for every resident in scope, set-based (a fixed number of
    queries, plus one per 500 rows written).

    Idempotent: a resident whose facts did not change keeps their proposal untouched; a changed one is updated; a
    reviewed rating (approved) is never overwritten (counted in ``kept_reviewed``; ``reviewed_differs`` says how many
    of those the facts would now rate differently). A proposal of a resident who is no longer in scope is removed.
    """
    std = _locked(standard)
    if std.status != StarStandardStatus.ACTIVE:
        message = (
            _("请先发布标准，开始评定后再计算")
            if std.status == StarStandardStatus.DRAFT
            else _("评定结果已公布，不能再计算")
        )
        raise Conflict(message, code="not_active")
    moment = now or timezone.now()
    criteria = compute.criteria_of(std.criteria)
    thresholds = compute.thresholds_of(std.thresholds)
    scope_ids = list(selectors.scope_residents(std).order_by().values_list("pk", flat=True))
    facts = selectors.standard_facts(std, scope_ids)
    existing = {r.resident_id: r for r in StarRating.objects.filter(standard=std)}
    result = ComputeResult()
    to_create: list[StarRating] = []
    to_update: list[StarRating] = []
    for rid in scope_ids:
        rating = compute.evaluate(criteria, thresholds, facts[rid])
        breakdown = rating.breakdown()
        old = existing.get(rid)
        if old is None:
            to_create.append(
                StarRating(
                    standard=std,
                    resident_id=rid,
                    score=rating.score,
                    proposed_stars=rating.stars,
                    breakdown=breakdown,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        elif old.status != StarRatingStatus.PROPOSED:
            result.kept_reviewed += 1
            if Decimal(old.score) != rating.score or old.proposed_stars != rating.stars:
                result.reviewed_differs += 1
        elif Decimal(old.score) == rating.score and old.proposed_stars == rating.stars and old.breakdown == breakdown:
            result.unchanged += 1
        else:
            old.score, old.proposed_stars, old.breakdown, old.updated_at = rating.score, rating.stars, breakdown, moment
            to_update.append(old)
    in_scope = set(scope_ids)
    stale = [r.pk for rid, r in existing.items() if rid not in in_scope and r.status == StarRatingStatus.PROPOSED]
    if to_create:
        StarRating.objects.bulk_create(to_create, batch_size=BATCH)
    if to_update:
        StarRating.objects.bulk_update(
            to_update, ["score", "proposed_stars", "breakdown", "updated_at"], batch_size=BATCH
        )
    if stale:
        StarRating.objects.filter(pk__in=stale).delete()
    result.created, result.updated, result.removed = len(to_create), len(to_update), len(stale)
    audit_record(
        actor=actor,
        action="update",
        target_type="star_standard",
        target_id=str(std.pk),
        place_code=std.place_id,
        summary=f"计算星级评定建议：{std}"[:300],
        changes={
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "kept_reviewed": result.kept_reviewed,
            "removed": result.removed,
        },
    )
    return result


# --- review and publication -----------------------------------------------------------------------------------------


@transaction.atomic
def star_rating_review(
    *,
    actor: Any,
    rating: StarRating,
    stars: int | None = None,
    note: str = "",
    now: datetime.datetime | None = None,
) -> StarRating:
    """Approve a proposal (``stars`` None or equal to the proposal) or change its stars (0–5) with a note saying
    why. Reviewing again before publication revises the review. Nobody reviews their own rating."""
    std = _locked(rating.standard)
    rating = StarRating.objects.select_for_update().select_related("resident").get(pk=rating.pk)
    if std.status != StarStandardStatus.ACTIVE:
        raise Conflict(_("评定结果已公布，不能再审核"), code="published")
    note = _text(note)
    final = rating.proposed_stars if stars is None else stars
    fields: dict[str, list[str]] = {}
    if isinstance(final, bool) or not isinstance(final, int) or not 0 <= final <= compute.STARS:
        fields["stars"] = [_("星级：应为 0 到 5")]
    elif final != rating.proposed_stars and not note:
        fields["note"] = [_("审核意见：改动建议星级时须写明理由")]
    if len(note) > 300:
        fields["note"] = [_("审核意见：不能超过 300 字")]
    if fields:
        raise _bad(fields)
    if rating.resident.user_id is not None and rating.resident.user_id == getattr(actor, "pk", None):
        raise PermissionDenied(_("不能审核自己的星级"), code="own_rating")
    if rating.status == StarRatingStatus.APPROVED and rating.final_stars == final and rating.review_note == note:
        return rating
    previous = (rating.status, rating.final_stars)
    rating.final_stars, rating.review_note = final, note
    rating.status = StarRatingStatus.APPROVED
    rating.reviewed_by, rating.reviewed_at = acting_user(actor), now or timezone.now()
    rating.save(update_fields=["final_stars", "review_note", "status", "reviewed_by", "reviewed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="star_rating",
        target_id=str(rating.pk),
        place_code=std.place_id,
        summary=(
            f"{std}：审核 {rating.resident.masked_name or rating.resident.ref} "
            f"建议 {rating.proposed_stars} 星 → {final} 星" + (f"（{note}）" if note else "")
        )[:300],
        changes={"final_stars": final, "note": note, "previous": list(previous)},
    )
    return rating


@transaction.atomic
def star_ratings_approve_all(*, actor: Any, standard: StarStandard, now: datetime.datetime | None = None) -> int:
    """Approve every remaining proposal as proposed (one update); how many. Ratings already reviewed keep their
    review; the actor's own rating, if any, is left for someone else."""
    std = _locked(standard)
    if std.status != StarStandardStatus.ACTIVE:
        raise Conflict(_("只有评定中的标准可以审核"), code="not_active")
    pending = StarRating.objects.filter(standard=std, status=StarRatingStatus.PROPOSED)
    if getattr(actor, "is_authenticated", False):
        pending = pending.exclude(resident__user=actor)
    ids = list(pending.values_list("pk", flat=True))
    if not ids:
        return 0
    moment = now or timezone.now()
    from django.db.models import F

    count = StarRating.objects.filter(pk__in=ids, status=StarRatingStatus.PROPOSED).update(
        final_stars=F("proposed_stars"),
        status=StarRatingStatus.APPROVED,
        reviewed_by=acting_user(actor),
        reviewed_at=moment,
        updated_at=moment,
    )
    audit_record(
        actor=actor,
        action="update",
        target_type="star_standard",
        target_id=str(std.pk),
        place_code=std.place_id,
        summary=f"{std}：按建议星级批量审核 {count} 条"[:300],
        changes={"approved": count},
    )
    return count


@transaction.atomic
def star_standard_publish(
    *, actor: Any, standard: StarStandard, now: datetime.datetime | None = None
) -> tuple[StarStandard, bool]:
    """Publish the reviewed ratings: only when there is at least one and every one is reviewed. Publishing again
    changes nothing (``changed`` False)."""
    std = _locked(standard)
    if std.status == StarStandardStatus.PUBLISHED:
        return std, False
    if std.status != StarStandardStatus.ACTIVE:
        raise Conflict(_("请先发布标准、计算并审核，再公布结果"), code="not_active")
    ratings = StarRating.objects.filter(standard=std)
    total = ratings.count()
    if not total:
        raise Conflict(_("还没有计算星级，不能公布"), code="no_ratings")
    unreviewed = ratings.filter(status=StarRatingStatus.PROPOSED).count()
    if unreviewed:
        raise Conflict(_("还有 %(n)d 条星级建议没有审核，全部审核后才能公布") % {"n": unreviewed}, code="unreviewed")
    moment = now or timezone.now()
    ratings.update(status=StarRatingStatus.PUBLISHED, updated_at=moment)
    std.status = StarStandardStatus.PUBLISHED
    std.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="star_standard",
        target_id=str(std.pk),
        place_code=std.place_id,
        summary=f"公布星级评定结果：{std}（{total} 人）"[:300],
        changes={"ratings": total},
    )
    return std, True
