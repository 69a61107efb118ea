"""Interchange files of organisations: ``organizations.csv`` (every kind of group) and ``memberships.csv``.

Also the generic "does this ref exist" look-up that other files use for their ``*_ref`` columns (a ref exists when it
is in the database or in this import's file that defines it), so ``activities.csv`` can name organisations and
residents of the same import.

The stage in the file is the organisation's current stage. A new organisation starts with no history (METHOD.md II2
reads the current stage where no history is known); when a re-import changes the stage, a ``StageChange`` dated the
import day keeps the history.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core.interchange import (
    Cells,
    Column,
    FileSpec,
    ImportContext,
    ParsedRow,
    WriteContext,
    WriteCounts,
    cell,
    chunks,
    ref_ids,
    register,
    report_unknown_refs,
)
from gongzhi.people.interchange import RESIDENTS_FILE
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.interchange import LEVEL_CHOICES, read_place_code, report_unknown_places

from .models import (
    Membership,
    MembershipRole,
    Organization,
    OrganizationKind,
    OrganizationStage,
    OrganizationStatus,
    StageChange,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

ORGANIZATIONS_FILE = "organizations.csv"
MEMBERSHIPS_FILE = "memberships.csv"
KIND_CHOICES: dict[str, StrOrPromise] = dict(OrganizationKind.choices)
STAGE_CHOICES: dict[str, StrOrPromise] = dict(OrganizationStage.choices)
ROLE_CHOICES: dict[str, StrOrPromise] = dict(MembershipRole.choices)
HOSTING_LEVELS = ("street", "community")  # organisations and activities belong to a street or a community
BATCH = 2000


def read_hosting_place_code(cells: Cells, column: str) -> str:
    """A required place code of a street or a community (where organisations and activities belong)."""
    code = read_place_code(cells, column)
    if code and codes.level_of(code) not in HOSTING_LEVELS:
        cells.error(
            column,
            _("应为街道/乡镇或社区/村一级的区划代码，而 %(code)s 是%(actual)s一级")
            % {"code": code, "actual": LEVEL_CHOICES[codes.level_of(code)]},
        )
        return ""
    return code


def place_filter(place_code: str | None, field: str) -> Q:
    """Rows whose ``field`` (a place code) lies under ``place_code`` (everything when None)."""
    if not place_code:
        return Q()
    return Q(**{f"{field}__startswith": codes.prefix_of(place_code)})


# --- organizations.csv ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    ref: str
    name: str
    place_code: str
    kind: str
    stage: str
    founded_on: datetime.date | None
    dissolved_on: datetime.date | None


class OrganizationsFile(FileSpec[OrganizationRow]):
    name = ORGANIZATIONS_FILE
    title = gettext_lazy("组织")
    order = 40
    columns = (
        Column("ref"),
        Column("name"),
        Column("place_code"),
        Column("kind"),
        Column("stage"),
        Column("founded_on"),
        Column("dissolved_on"),
    )
    key = ("ref",)

    def parse_row(self, cells: Cells) -> OrganizationRow | None:
        ref = cells.text("ref", required=True, max_length=64)
        name = cells.text("name", required=True, max_length=100)
        place_code = read_hosting_place_code(cells, "place_code")
        kind = cells.choice("kind", KIND_CHOICES, required=True)
        stage = cells.choice("stage", STAGE_CHOICES, required=True)
        founded_on = cells.date("founded_on")
        dissolved_on = cells.date("dissolved_on")
        if founded_on and dissolved_on and dissolved_on < founded_on:
            cells.error(
                "dissolved_on",
                _("解散日期 %(dissolved_on)s 不能早于成立日期 %(founded_on)s")
                % {"dissolved_on": dissolved_on, "founded_on": founded_on},
            )
        if not cells.ok:
            return None
        return OrganizationRow(ref, name, place_code, kind, stage, founded_on, dissolved_on)

    def validate(self, rows: list[ParsedRow[OrganizationRow]], context: ImportContext) -> None:
        uses = [(r.number, "place_code", r.value.place_code) for r in rows]
        report_unknown_places(context, self.name, uses)

    def write(self, rows: list[OrganizationRow], context: WriteContext) -> WriteCounts:
        counts = WriteCounts()
        today = timezone.localdate(context.now)
        for batch in chunks(sorted(rows, key=lambda r: r.ref), self.batch_size):
            existing = {o.ref: o for o in Organization.objects.filter(ref__in=[r.ref for r in batch])}
            new: list[Organization] = []
            changed: list[Organization] = []
            history: list[StageChange] = []
            for row in batch:
                org = existing.get(row.ref)
                if org is None:
                    org = Organization(ref=row.ref, status=OrganizationStatus.ACTIVE)
                    self._apply(org, row)
                    new.append(org)
                    continue
                old_stage = org.stage
                if self._apply(org, row):
                    org.updated_at = context.now
                    changed.append(org)
                    if org.stage != old_stage:
                        history.append(
                            StageChange(
                                organization=org,
                                from_stage=old_stage,
                                to_stage=org.stage,
                                changed_on=today,
                                reason=_("数据导入"),
                            )
                        )
                else:
                    counts.unchanged += 1
            Organization.objects.bulk_create(new)
            Organization.objects.bulk_update(
                changed,
                ["name", "place", "kind", "stage", "status", "founded_on", "dissolved_on", "updated_at"],
            )
            StageChange.objects.bulk_create(history)
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    @staticmethod
    def _apply(org: Organization, row: OrganizationRow) -> bool:
        """Copy the row onto the organisation; whether anything changed. The status follows ``dissolved_on``."""
        status = org.status
        if row.dissolved_on is not None:
            status = OrganizationStatus.DISSOLVED
        elif status == OrganizationStatus.DISSOLVED or not status:
            status = OrganizationStatus.ACTIVE
        values = {
            "name": row.name,
            "place_id": row.place_code,
            "kind": row.kind,
            "stage": row.stage,
            "status": status,
            "founded_on": row.founded_on,
            "dissolved_on": row.dissolved_on,
        }
        changed = False
        for attr, value in values.items():
            if getattr(org, attr) != value:
                setattr(org, attr, value)
                changed = True
        return changed

    @staticmethod
    def exported(place_code: str | None) -> models.QuerySet[Organization]:
        """The organisations of the place's subtree, and those (of a street above it) organising activities in it."""
        if not place_code:
            return Organization.objects.all()
        return Organization.objects.filter(
            place_filter(place_code, "place__code") | Q(activities__place__code__startswith=codes.prefix_of(place_code))
        ).distinct()

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        fields = ("ref", "name", "place_id", "kind", "stage", "founded_on", "dissolved_on")
        for values in self.exported(place_code).order_by("ref").values_list(*fields).iterator(chunk_size=BATCH):
            yield [cell(v) for v in values]


# --- memberships.csv -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MembershipRow:
    organization_ref: str
    resident_ref: str
    role: str
    joined_on: datetime.date
    left_on: datetime.date | None


class MembershipsFile(FileSpec[MembershipRow]):
    name = MEMBERSHIPS_FILE
    title = gettext_lazy("组织成员")
    order = 45
    columns = (
        Column("organization_ref"),
        Column("resident_ref"),
        Column("role"),
        Column("joined_on"),
        Column("left_on"),
    )
    key = ("organization_ref", "resident_ref", "joined_on")

    def parse_row(self, cells: Cells) -> MembershipRow | None:
        organization_ref = cells.text("organization_ref", required=True, max_length=64)
        resident_ref = cells.text("resident_ref", required=True, max_length=64)
        role = cells.choice("role", ROLE_CHOICES, required=True)
        joined_on = cells.date("joined_on", required=True)
        left_on = cells.date("left_on")
        if joined_on and left_on and left_on < joined_on:
            cells.error(
                "left_on",
                _("退出日期 %(left_on)s 不能早于加入日期 %(joined_on)s") % {"left_on": left_on, "joined_on": joined_on},
            )
        if not cells.ok or joined_on is None:
            return None
        return MembershipRow(organization_ref, resident_ref, role, joined_on, left_on)

    def validate(self, rows: list[ParsedRow[MembershipRow]], context: ImportContext) -> None:
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "organization_ref", r.value.organization_ref) for r in rows],
            source_file=ORGANIZATIONS_FILE,
            model=Organization,
            what=_("组织"),
        )
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "resident_ref", r.value.resident_ref) for r in rows],
            source_file=RESIDENTS_FILE,
            model=Resident,
            what=_("居民"),
        )
        self._check_one_current(rows, context)

    def _check_one_current(self, rows: list[ParsedRow[MembershipRow]], context: ImportContext) -> None:
        """A person has at most one current (no ``left_on``) membership per organisation, counting what is stored."""
        # (org ref, resident ref) → {joined_on: (row number or None for stored, current?)}
        spells: dict[tuple[str, str], dict[datetime.date, tuple[int | None, bool]]] = {}
        for r in rows:
            v = r.value
            spells.setdefault((v.organization_ref, v.resident_ref), {})[v.joined_on] = (r.number, v.left_on is None)
        org_refs = sorted({pair[0] for pair in spells})
        for batch in chunks(org_refs, BATCH):
            stored = Membership.objects.filter(organization__ref__in=batch, left_on__isnull=True).values_list(
                "organization__ref", "resident__ref", "joined_on"
            )
            for org_ref, resident_ref, joined_on in stored:
                pair_spells = spells.get((org_ref, resident_ref))
                if pair_spells is not None and joined_on not in pair_spells:
                    pair_spells[joined_on] = (None, True)
        for (org_ref, resident_ref), pair_spells in spells.items():
            current = sorted(
                ((number, joined) for joined, (number, is_current) in pair_spells.items() if is_current),
                key=lambda x: (x[0] is not None, x[0] or 0),
            )
            if len(current) < 2:
                continue
            first_number, first_joined = current[0]
            for number, _joined in current[1:]:
                if number is None:
                    continue
                if first_number is None:
                    message = _(
                        "居民 %(resident)s 在组织 %(org)s 已有一段未退出的成员记录（%(joined)s 加入），"
                        "需先填写其退出日期"
                    ) % {"resident": resident_ref, "org": org_ref, "joined": first_joined}
                else:
                    message = _("与第 %(row)s 行同时未退出：同一居民在同一组织只能有一段当前成员记录") % {
                        "row": first_number
                    }
                context.error(self.name, number, "left_on", message)

    def write(self, rows: list[MembershipRow], context: WriteContext) -> WriteCounts:
        counts = WriteCounts()
        ordered = sorted(rows, key=lambda r: (r.organization_ref, r.resident_ref, r.joined_on))
        for batch in chunks(ordered, self.batch_size):
            orgs = ref_ids(Organization, (r.organization_ref for r in batch))
            residents = ref_ids(Resident, (r.resident_ref for r in batch))
            existing = {
                (m.organization_id, m.resident_id, m.joined_on): m
                for m in Membership.objects.filter(
                    organization_id__in=set(orgs.values()), resident_id__in=set(residents.values())
                )
            }
            new: list[Membership] = []
            changed: list[Membership] = []
            for row in batch:
                org_id, resident_id = orgs[row.organization_ref], residents[row.resident_ref]
                found = existing.get((org_id, resident_id, row.joined_on))
                if found is None:
                    new.append(
                        Membership(
                            organization_id=org_id,
                            resident_id=resident_id,
                            role=row.role,
                            joined_on=row.joined_on,
                            left_on=row.left_on,
                        )
                    )
                elif (found.role, found.left_on) != (row.role, row.left_on):
                    found.role, found.left_on, found.updated_at = row.role, row.left_on, context.now
                    changed.append(found)
                else:
                    counts.unchanged += 1
            # Updates first: a spell closed by this file frees the "one current membership" slot for a new one.
            Membership.objects.bulk_update(changed, ["role", "left_on", "updated_at"])
            Membership.objects.bulk_create(new)
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = Membership.objects.filter(organization__in=OrganizationsFile.exported(place_code))
        if place_code:
            qs = qs.filter(place_filter(place_code, "resident__community__code"))
        fields = ("organization__ref", "resident__ref", "role", "joined_on", "left_on")
        for values in qs.order_by(*fields[:2], "joined_on").values_list(*fields).iterator(chunk_size=BATCH):
            yield [cell(v) for v in values]


ORGANIZATIONS = register(OrganizationsFile())
MEMBERSHIPS = register(MembershipsFile())
