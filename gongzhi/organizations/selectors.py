"""Reads of organisations and memberships. Every selector takes the acting user, so filtering cannot be forgotten —
except ``stage_on``/``stages_on``, which answer a question of history about organisations the caller already chose
(the analytics extractor of METHOD.md II2 asks it for the organisations of a community)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.people.models import Resident
from gongzhi.places.models import Place

from .models import Membership, MembershipRole, Organization, OrganizationStage, OrganizationStatus, StageChange
from .rules import led_organization_ids, near_codes

CURRENT = Q(memberships__left_on__isnull=True)


def _uid(user: Any) -> Any:
    """The user's key, or a key no row has (anonymous)."""
    return user.pk if getattr(user, "is_authenticated", False) else 0


def _with_counts(qs: QuerySet[Organization]) -> QuerySet[Organization]:
    return qs.annotate(member_count=Count("memberships", filter=CURRENT)).select_related("place", "proposed_by")


def organizations_visible(
    *, user: Any, place: Place | None = None, kind: str = "", status: str = "", search: str = "", stage: str = ""
) -> QuerySet[Organization]:
    """Organisations under the staff places the user covers (optionally under ``place``), with current member counts.
    One query whatever the number of organisations."""
    qs = Organization.objects.filter(access.prefix_q("place__code", user, access.STAFF_ROLES))
    if place is not None:
        qs = qs.filter(place__code__startswith=place.prefix)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if stage:
        qs = qs.filter(stage=stage)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(name__contains=search) | Q(ref=search) | Q(theme__contains=search))
    return _with_counts(qs).order_by("place_id", "name")


def organization_get(*, user: Any, organization_id: Any) -> Organization:
    """An organisation the user may see (staff covering it, its leader, a resident near an active one); any other is
    not found."""
    try:
        organization = _with_counts(Organization.objects.filter(pk=organization_id)).first()
    except (ValueError, ValidationError):
        organization = None
    if organization is None or not user.has_perm("organizations.view_organization", organization):
        raise NotFound(_("找不到该组织"))
    return organization


def organizations_near(*, user: Any, kind: str = "") -> QuerySet[Organization]:
    """Active organisations of the resident's community and its street, with member counts and ``is_member``."""
    resident = Resident.objects.filter(user_id=_uid(user)).values_list("pk", "community_id").first()
    if resident is None:
        return Organization.objects.none()
    resident_id, community = resident
    qs = Organization.objects.filter(place_id__in=near_codes(community), status=OrganizationStatus.ACTIVE)
    if kind:
        qs = qs.filter(kind=kind)
    mine = Membership.objects.filter(organization=OuterRef("pk"), resident_id=resident_id, left_on__isnull=True)
    return _with_counts(qs).annotate(is_member=Exists(mine)).order_by("-place_id", "name")


def memberships_of(*, user: Any, include_left: bool = False) -> QuerySet[Membership]:
    """The user's own memberships (through their resident profile)."""
    qs = Membership.objects.filter(resident__user_id=_uid(user))
    if not include_left:
        qs = qs.filter(left_on__isnull=True)
    return qs.select_related("organization", "organization__place").order_by("-joined_on")


def proposals_of(*, user: Any) -> QuerySet[Organization]:
    """The proposals the user made as a resident that are still waiting or were not approved."""
    return (
        Organization.objects.filter(
            proposed_by__user_id=_uid(user),
            status__in=[OrganizationStatus.PROPOSED, OrganizationStatus.REJECTED],
        )
        .select_related("place")
        .order_by("-created_at")
    )


def organizations_led_by(*, user: Any) -> QuerySet[Organization]:
    """The organisations the user currently leads (a current leader membership of their resident profile)."""
    return Organization.objects.filter(pk__in=led_organization_ids(user)).select_related("place").order_by("name")


def members_of(*, user: Any, organization: Organization, include_left: bool = False) -> QuerySet[Membership]:
    """The members of an organisation, for staff covering it or its leader; nobody else sees the member list."""
    if not user.has_perm("organizations.view_membership", organization):
        raise NotFound(_("找不到该组织"))
    qs = Membership.objects.filter(organization=organization)
    if not include_left:
        qs = qs.filter(left_on__isnull=True)
    # "leader" sorts before "member": leaders first.
    return qs.select_related("resident", "resident__community").order_by("role", "joined_on", "created_at")


def membership_get(*, user: Any, organization: Organization, membership_id: Any) -> Membership:
    try:
        membership = (
            Membership.objects.select_related("resident", "organization")
            .filter(pk=membership_id, organization=organization)
            .first()
        )
    except (ValueError, ValidationError):
        membership = None
    if membership is None or not user.has_perm("organizations.manage_membership", organization):
        raise NotFound(_("找不到该成员"))
    return membership


def stage_history(*, user: Any, organization: Organization) -> QuerySet[StageChange]:
    if not user.has_perm("organizations.view_organization", organization):
        raise NotFound(_("找不到该组织"))
    return (
        StageChange.objects.filter(organization=organization)
        .select_related("decided_by")
        .order_by("changed_on", "created_at")
    )


def leader_names(*, organizations: list[Organization]) -> dict[Any, str]:
    """Masked names of the current leaders of these organisations (one query)."""
    out: dict[Any, list[str]] = {}
    rows = Membership.objects.filter(
        organization__in=organizations, role=MembershipRole.LEADER, left_on__isnull=True
    ).values_list("organization_id", "resident__name")
    for org_id, name in rows:
        from gongzhi.people.protection import mask_name

        out.setdefault(org_id, []).append(mask_name(name))
    return {k: "、".join(v) for k, v in out.items()}


# --- stage history: what stage was an organisation at on a date ----------------------------------------------------

STAGE_BATCH = 2000


def _stage_from_history(
    *,
    stage: str,
    founded_on: datetime.date | None,
    changes: list[tuple[datetime.date, str, str]],
    on: datetime.date,
) -> str | None:
    """The rule, for one organisation whose ``changes`` are ``(changed_on, from_stage, to_stage)`` in recorded order."""
    if founded_on is not None and on < founded_on:
        return None
    latest: str | None = None
    for changed_on, _from, to in changes:
        if changed_on <= on:
            latest = to  # the last change on or before the date wins (same-day changes: the last recorded)
        else:
            break
    if latest is not None:
        return latest
    if changes:
        # Before the first recorded change: the stage it left, unless that change is the founding record.
        return changes[0][1] or None
    return stage


def stages_on(org_ids: Iterable[Any], on: datetime.date) -> dict[Any, str | None]:
    """The stage each organisation was at on ``on`` (``{id: stage or None}``), set-based: two queries per 2,000 ids.

    The rule (METHOD.md II2 reads it; ``organizations.interchange`` explains why imported organisations may have no
    history):

    - before ``founded_on`` the organisation did not exist: ``None``;
    - otherwise the ``to_stage`` of the latest ``StageChange`` dated on or before ``on`` (a change takes effect on
      its ``changed_on``; several on one day: the last recorded);
    - before the first recorded change: that change's ``from_stage`` (the stage it left); when the first change is
      the founding record (no ``from_stage``), the organisation did not exist yet: ``None``;
    - no history at all (an imported organisation never changed since): the current ``stage``.

    A dissolved organisation keeps the stage it had; whether it was active on the date is the caller's question.
    Unknown ids are left out of the answer.
    """
    ids = list(dict.fromkeys(org_ids))
    out: dict[Any, str | None] = {}
    for start in range(0, len(ids), STAGE_BATCH):
        batch = ids[start : start + STAGE_BATCH]
        orgs = Organization.objects.filter(pk__in=batch).values_list("pk", "stage", "founded_on")
        history: dict[Any, list[tuple[datetime.date, str, str]]] = {}
        rows = (
            StageChange.objects.filter(organization_id__in=batch)
            .order_by("organization_id", "changed_on", "created_at")
            .values_list("organization_id", "changed_on", "from_stage", "to_stage")
        )
        for org_id, changed_on, from_stage, to_stage in rows:
            history.setdefault(org_id, []).append((changed_on, from_stage, to_stage))
        for pk, stage, founded_on in orgs:
            out[pk] = _stage_from_history(stage=stage, founded_on=founded_on, changes=history.get(pk, []), on=on)
    return out


def stage_on(organization: Organization, on: datetime.date) -> str | None:
    """The stage one organisation was at on ``on`` (see ``stages_on`` for the rule); None before it existed."""
    return stages_on([organization.pk], on).get(organization.pk)


STAGE_ORDER = {stage: n for n, stage in enumerate(OrganizationStage.values)}
