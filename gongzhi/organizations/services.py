"""Writes of organisations and memberships. One transaction each; staff writes are audited.

Permission checks are made by the caller (views, API) with the predicates in ``rules.py``; these functions enforce the
domain's own rules (statuses, stages, dates) and let the database decide uniqueness (one current membership).
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, invalid
from gongzhi.people.models import Resident
from gongzhi.places.models import Place

from .models import (
    Membership,
    MembershipRole,
    Organization,
    OrganizationKind,
    OrganizationStage,
    OrganizationStatus,
    StageChange,
)
from .rules import forget_led, near_codes


def _required(**values: str) -> None:
    missing = [field for field, value in values.items() if not (value or "").strip()]
    if missing:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields={f: [_("必填")] for f in missing})


def _save_new_organization(organization: Organization) -> None:
    try:
        organization.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    try:
        with transaction.atomic():
            organization.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(_("编号重复：该组织已存在"), fields={"ref": [_("编号已存在")]}, code="duplicate_ref") from exc


def _locked(organization: Organization) -> Organization:
    return Organization.objects.select_for_update().select_related("place").get(pk=organization.pk)


# --- organisations ----------------------------------------------------------------------------------------------


@transaction.atomic
def organization_create(
    *,
    actor: Any,
    place: Place,
    kind: str,
    name: str,
    theme: str = "",
    charter: str = "",
    founded_on: datetime.date | None = None,
    stage: str = OrganizationStage.GRASSROOTS,
    ref: str = "",
) -> Organization:
    """Staff register an organisation (active at once) and record its initial stage."""
    _required(name=name)
    founded = founded_on or timezone.localdate()
    organization = Organization(
        ref=ref or f"O{secrets.token_hex(6).upper()}",
        name=name.strip(),
        kind=kind,
        place=place,
        theme=theme.strip(),
        charter=charter.strip(),
        founded_on=founded,
        stage=stage,
        status=OrganizationStatus.ACTIVE,
    )
    _save_new_organization(organization)
    StageChange.objects.create(
        organization=organization,
        from_stage="",
        to_stage=organization.stage,
        changed_on=founded,
        reason=_("成立"),
        decided_by=acting_user(actor),
    )
    audit_record(
        actor=actor,
        action="create",
        target_type="organization",
        target_id=str(organization.pk),
        place_code=place.code,
        summary=f"新建组织 {organization.name}",
    )
    return organization


@transaction.atomic
def organization_propose(
    *, resident: Resident, place: Place, name: str, theme: str = "", charter: str = ""
) -> Organization:
    """A resident proposes a learning community in their community or its street; staff review it."""
    _required(name=name)
    if place.code not in near_codes(resident.community_id):
        raise DomainError(
            _("只能在自己所在的社区或街道发起学习共同体"), fields={"place": [_("请选择您所在的社区或街道")]}
        )
    organization = Organization(
        ref=f"O{secrets.token_hex(6).upper()}",
        name=name.strip(),
        kind=OrganizationKind.LEARNING_COMMUNITY,
        place=place,
        theme=theme.strip(),
        charter=charter.strip(),
        status=OrganizationStatus.PROPOSED,
        proposed_by=resident,
    )
    _save_new_organization(organization)
    audit_record(
        actor=resident.user,
        action="create",
        target_type="organization",
        target_id=str(organization.pk),
        place_code=place.code,
        summary=f"居民申请成立学习共同体 {organization.name}",
    )
    return organization


@transaction.atomic
def organization_review(*, actor: Any, organization: Organization, approve: bool, note: str = "") -> Organization:
    """Staff approve a proposal (active, founded today, the proposer becomes its leader) or reject it with a note."""
    organization = _locked(organization)
    if organization.status != OrganizationStatus.PROPOSED:
        raise Conflict(
            _("该申请已经审核过（当前状态：%(status)s），不能重复审核") % {"status": organization.get_status_display()},
            code="already_reviewed",
        )
    note = (note or "").strip()
    if len(note) > 300:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields={"note": [_("不能超过 300 字")]})
    today = timezone.localdate()
    if approve:
        organization.status = OrganizationStatus.ACTIVE
        organization.founded_on = today
        organization.review_note = note
        organization.save(update_fields=["status", "founded_on", "review_note", "updated_at"])
        StageChange.objects.create(
            organization=organization,
            from_stage="",
            to_stage=organization.stage,
            changed_on=today,
            reason=_("审核通过，成立"),
            decided_by=acting_user(actor),
        )
        proposer = organization.proposed_by
        if proposer is not None and proposer.left_on is None:
            Membership.objects.create(
                organization=organization, resident=proposer, role=MembershipRole.LEADER, joined_on=today
            )
            if proposer.user_id:
                forget_led(proposer.user)
    else:
        if not note:
            raise DomainError(_("请填写未通过的理由"), fields={"note": [_("必填")]})
        organization.status = OrganizationStatus.REJECTED
        organization.review_note = note
        organization.save(update_fields=["status", "review_note", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="organization",
        target_id=str(organization.pk),
        place_code=organization.place_id,
        summary=f"{'通过' if approve else '未通过'}学习共同体申请 {organization.name}",
        changes={"status": organization.status, "note": note},
    )
    return organization


@transaction.atomic
def organization_stage_change(
    *,
    actor: Any,
    organization: Organization,
    to_stage: str,
    changed_on: datetime.date,
    reason: str = "",
    evidence: str = "",
) -> StageChange:
    """Move an active organisation to another stage: a staff decision with its effective date, reason and evidence
    (all required), kept as history.

    - The date may not be in the future, before the founding date, or before the last recorded change (history stays
      in order, so ``selectors.stage_on`` can answer "what stage on date D").
    - Leaving grassroots (entering incubation, or any stage above it) needs every active admission criterion of the
      organisation's place and of the places above it met, checked on or before the effective date; otherwise the
      error lists the criteria not met (``code="admission_unmet"``).
    """
    from .cultivation.selectors import admission_unmet

    organization = _locked(organization)
    if to_stage not in OrganizationStage.values:
        raise DomainError(_("发展阶段无效"), fields={"to_stage": [_("不是可选的值")]})
    if organization.status != OrganizationStatus.ACTIVE:
        raise DomainError(_("只有活跃的组织可以调整发展阶段"), fields={"to_stage": [_("该组织不是活跃状态")]})
    if to_stage == organization.stage:
        raise DomainError(_("该组织已处于这一阶段"), fields={"to_stage": [_("与当前阶段相同")]}, code="same_stage")
    reason, evidence = (reason or "").strip(), (evidence or "").strip()
    fields: dict[str, list[str]] = {}
    if not reason:
        fields["reason"] = [_("必填")]
    elif len(reason) > 300:
        fields["reason"] = [_("不能超过 300 字")]
    if not evidence:
        fields["evidence"] = [_("必填：如评估报告、协议、登记证书、会议纪要")]
    if changed_on is None:
        fields["changed_on"] = [_("必填")]
    else:
        last = (
            StageChange.objects.filter(organization=organization)
            .order_by("-changed_on", "-created_at")
            .values_list("changed_on", flat=True)
            .first()
        )
        if changed_on > timezone.localdate():
            fields["changed_on"] = [_("不能晚于今天")]
        elif organization.founded_on and changed_on < organization.founded_on:
            fields["changed_on"] = [_("不能早于成立日期")]
        elif last is not None and changed_on < last:
            fields["changed_on"] = [_("不能早于上一次阶段调整（%(date)s）") % {"date": last.isoformat()}]
    if fields:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields=fields)
    if organization.stage == OrganizationStage.GRASSROOTS:
        unmet = admission_unmet(organization=organization, on=changed_on)
        if unmet:
            items = "；".join(c.text for c in unmet)
            message = _("尚未满足准入标准，不能进入孵化。未满足（须在生效日期前核查符合）：%(items)s") % {
                "items": items
            }
            raise DomainError(message, fields={"to_stage": [message]}, code="admission_unmet")
    change = StageChange(
        organization=organization,
        from_stage=organization.stage,
        to_stage=to_stage,
        changed_on=changed_on,
        reason=reason,
        evidence=evidence,
        decided_by=acting_user(actor),
    )
    try:
        change.full_clean()
    except ValidationError as exc:
        raise invalid(exc) from exc
    change.save(force_insert=True)
    organization.stage = to_stage
    organization.save(update_fields=["stage", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="organization",
        target_id=str(organization.pk),
        place_code=organization.place_id,
        summary=f"{organization.name} 发展阶段调整",
        changes={"stage": [change.from_stage, to_stage], "changed_on": changed_on.isoformat(), "reason": reason},
    )
    return change


@transaction.atomic
def organization_dissolve(
    *, actor: Any, organization: Organization, dissolved_on: datetime.date, reason: str = ""
) -> Organization:
    """Dissolve an active organisation; its current memberships end on that day."""
    organization = _locked(organization)
    if organization.status != OrganizationStatus.ACTIVE:
        raise Conflict(_("只有活跃的组织可以解散"), code="not_active")
    if dissolved_on is None:
        raise DomainError(_("提交的信息有误，请检查标红的字段"), fields={"dissolved_on": [_("必填")]})
    organization.status = OrganizationStatus.DISSOLVED
    organization.dissolved_on = dissolved_on
    try:
        organization.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise invalid(exc) from exc
    organization.save(update_fields=["status", "dissolved_on", "updated_at"])
    for membership in Membership.objects.select_for_update().filter(organization=organization, left_on__isnull=True):
        membership.left_on = max(dissolved_on, membership.joined_on)
        membership.save(update_fields=["left_on", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="organization",
        target_id=str(organization.pk),
        place_code=organization.place_id,
        summary=f"解散组织 {organization.name}",
        changes={"dissolved_on": dissolved_on.isoformat(), "reason": (reason or "").strip()[:200]},
    )
    return organization


# --- memberships ------------------------------------------------------------------------------------------------


def _current(organization: Organization, resident: Resident) -> Membership | None:
    return (
        Membership.objects.select_for_update()
        .filter(organization=organization, resident=resident, left_on__isnull=True)
        .first()
    )


def _insert_membership(
    *, organization: Organization, resident: Resident, role: str, joined_on: datetime.date
) -> tuple[Membership, bool]:
    """Insert a current membership; if one exists (a second click, a concurrent request) return it instead.

    The partial unique constraint ``membership_one_current`` decides, not a check before the insert.
    """
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                organization=organization, resident=resident, role=role, joined_on=joined_on
            )
        return membership, True
    except IntegrityError:
        pass
    current = _current(organization, resident)
    if current is not None:
        return current, False
    # Left and joined again on the same day (unique spell per day): reopen that spell.
    spell = Membership.objects.select_for_update().get(
        organization=organization, resident=resident, joined_on=joined_on
    )
    spell.left_on = None
    spell.role = role
    spell.save(update_fields=["left_on", "role", "updated_at"])
    return spell, True


@transaction.atomic
def membership_join(*, resident: Resident, organization: Organization) -> tuple[Membership, bool]:
    """A resident joins an active organisation. Joining twice returns the current membership: ``(membership, False)``."""
    status = Organization.objects.filter(pk=organization.pk).values_list("status", flat=True).first()
    if status != OrganizationStatus.ACTIVE:
        raise DomainError(_("只能加入正在活动的组织"), code="not_active")
    membership, created = _insert_membership(
        organization=organization, resident=resident, role=MembershipRole.MEMBER, joined_on=timezone.localdate()
    )
    if created:
        audit_record(
            actor=resident.user,
            action="create",
            target_type="membership",
            target_id=str(membership.pk),
            place_code=organization.place_id,
            summary=f"加入 {organization.name}",
        )
    return membership, created


@transaction.atomic
def membership_leave(
    *, resident: Resident, organization: Organization, left_on: datetime.date | None = None, actor: Any = None
) -> Membership | None:
    """End the resident's current membership. Leaving when not a member changes nothing and returns None."""
    membership = _current(organization, resident)
    if membership is None:
        return None
    left_on = left_on or timezone.localdate()
    if left_on < membership.joined_on:
        raise DomainError(_("退出日期不能早于加入日期"), fields={"left_on": [_("不能早于加入日期")]})
    membership.left_on = left_on
    membership.save(update_fields=["left_on", "updated_at"])
    if membership.role == MembershipRole.LEADER and resident.user_id:
        forget_led(resident.user)
    audit_record(
        actor=actor if actor is not None else resident.user,
        action="update",
        target_type="membership",
        target_id=str(membership.pk),
        place_code=organization.place_id,
        summary=f"退出 {organization.name}",
    )
    return membership


@transaction.atomic
def membership_set_role(*, actor: Any, membership: Membership, role: str) -> Membership:
    membership = Membership.objects.select_for_update().select_related("organization").get(pk=membership.pk)
    if role not in MembershipRole.values:
        raise DomainError(_("角色无效"), fields={"role": [_("不是可选的值")]})
    if membership.left_on is not None:
        raise DomainError(_("该居民已退出，不能修改角色"), fields={"role": [_("已退出")]})
    if membership.role != role:
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
        audit_record(
            actor=actor,
            action="update",
            target_type="membership",
            target_id=str(membership.pk),
            place_code=membership.organization.place_id,
            summary=f"{membership.organization.name} 成员角色改为 {membership.get_role_display()}",
        )
    return membership


@transaction.atomic
def membership_add(
    *,
    actor: Any,
    organization: Organization,
    resident: Resident,
    role: str = MembershipRole.MEMBER,
    joined_on: datetime.date | None = None,
) -> Membership:
    """Staff (or the organisation's leader) add a resident. A resident who is already a member is refused clearly."""
    if role not in MembershipRole.values:
        raise DomainError(_("角色无效"), fields={"role": [_("不是可选的值")]})
    status = Organization.objects.filter(pk=organization.pk).values_list("status", flat=True).first()
    if status != OrganizationStatus.ACTIVE:
        raise DomainError(_("只能向正在活动的组织添加成员"), code="not_active")
    joined_on = joined_on or timezone.localdate()
    if joined_on > timezone.localdate():
        raise DomainError(_("加入日期不能晚于今天"), fields={"joined_on": [_("不能晚于今天")]})
    membership, created = _insert_membership(
        organization=organization, resident=resident, role=role, joined_on=joined_on
    )
    if not created:
        raise Conflict(_("该居民已经是成员"), fields={"resident": [_("已经是成员")]}, code="already_member")
    audit_record(
        actor=actor,
        action="create",
        target_type="membership",
        target_id=str(membership.pk),
        place_code=organization.place_id,
        summary=f"添加 {resident.masked_name} 为 {organization.name} 的{membership.get_role_display()}",
    )
    if role == MembershipRole.LEADER and resident.user_id:
        forget_led(resident.user)
    return membership
