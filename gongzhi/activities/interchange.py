"""Interchange files of gatherings: ``activities.csv`` and ``attendance.csv``.

Imported attendance is history: it is written set-based with source ``import`` and **does not run the presence
handlers** (no points are awarded for it), unlike ``attendance_record`` which every live check-in goes through.

``resource_refs`` names the providers' resources an activity used (METHOD.md III1, III2, III4): each ref must exist in
this import's ``resources.csv`` (order 55, before activities) or in the database. The cell is the activity's whole
set: a re-import replaces ``Activity.resources`` with it (adding and removing through-table rows in bulk; an empty cell
empties the set), and an activity whose set is unchanged is left untouched. Export writes the refs sorted, ``;``-joined.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

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
from gongzhi.organizations.interchange import ORGANIZATIONS_FILE, place_filter, read_hosting_place_code
from gongzhi.organizations.models import Organization
from gongzhi.people.interchange import RESIDENTS_FILE
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.interchange import report_unknown_places
from gongzhi.resources.interchange import RESOURCES_FILE
from gongzhi.resources.models import Resource

from .models import Activity, ActivityKind, ActivityMode, Attendance, AttendanceSource, AttendanceStatus

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

ACTIVITIES_FILE = "activities.csv"
ATTENDANCE_FILE = "attendance.csv"
KIND_CHOICES: dict[str, StrOrPromise] = dict(ActivityKind.choices)
STATUS_CHOICES: dict[str, StrOrPromise] = dict(AttendanceStatus.choices)
MAX_HOURS = Decimal("999.99")  # Attendance.hours: 5 digits, 2 decimals
BATCH = 2000


def _hours_cell(hours: Decimal | None) -> str:
    """Hours as written by people: ``2``, ``1.5`` (not ``2.00``)."""
    if hours is None:
        return ""
    text = format(hours, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- activities.csv ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityRow:
    ref: str
    place_code: str
    kind: str
    title: str
    starts_at: datetime.datetime
    organization_ref: str  # "" = organised by staff
    resource_refs: tuple[str, ...]  # the whole set of resources used (order kept, duplicates dropped)


class ActivitiesFile(FileSpec[ActivityRow]):
    name = ACTIVITIES_FILE
    title = gettext_lazy("活动")
    order = 60  # after organisations (40, 45), providers (50) and resources (55)
    columns = (
        Column("ref"),
        Column("place_code"),
        Column("kind"),
        Column("title"),
        Column("starts_at"),
        Column("organization_ref"),
        Column("resource_refs"),
    )
    key = ("ref",)

    def parse_row(self, cells: Cells) -> ActivityRow | None:
        ref = cells.text("ref", required=True, max_length=64)
        place_code = read_hosting_place_code(cells, "place_code")
        kind = cells.choice("kind", KIND_CHOICES, required=True)
        title = cells.text("title", required=True, max_length=200)
        starts_at = cells.datetime("starts_at", required=True)
        organization_ref = cells.text("organization_ref", max_length=64)
        resource_refs = tuple(dict.fromkeys(cells.items("resource_refs")))
        too_long = [ref for ref in resource_refs if len(ref) > 64]
        if too_long:
            cells.error(
                "resource_refs",
                _("资源编号不能超过 %(max)s 个字符：“%(ref)s”") % {"max": 64, "ref": too_long[0]},
            )
        if not cells.ok or starts_at is None:
            return None
        return ActivityRow(ref, place_code, kind, title, starts_at, organization_ref, resource_refs)

    def validate(self, rows: list[ParsedRow[ActivityRow]], context: ImportContext) -> None:
        report_unknown_places(context, self.name, [(r.number, "place_code", r.value.place_code) for r in rows])
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "organization_ref", r.value.organization_ref) for r in rows if r.value.organization_ref],
            source_file=ORGANIZATIONS_FILE,
            model=Organization,
            what=_("组织"),
        )
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "resource_refs", ref) for r in rows for ref in r.value.resource_refs],
            source_file=RESOURCES_FILE,
            model=Resource,
            what=_("资源"),
        )

    def write(self, rows: list[ActivityRow], context: WriteContext) -> WriteCounts:
        counts = WriteCounts()
        through = Activity.resources.through
        for batch in chunks(sorted(rows, key=lambda r: r.ref), self.batch_size):
            orgs = ref_ids(Organization, (r.organization_ref for r in batch if r.organization_ref))
            resources = ref_ids(Resource, (ref for r in batch for ref in r.resource_refs))
            existing = {a.ref: a for a in Activity.objects.filter(ref__in=[r.ref for r in batch])}
            # The stored resource sets of the existing activities: activity id → {resource id: through row id}.
            stored: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
            for link_id, activity_id, resource_id in through.objects.filter(
                activity_id__in=[a.pk for a in existing.values()]
            ).values_list("id", "activity_id", "resource_id"):
                stored.setdefault(activity_id, {})[resource_id] = link_id
            new: list[Activity] = []
            changed: list[Activity] = []
            unlink: list[int] = []  # through-table row ids
            link: list[tuple[uuid.UUID, uuid.UUID]] = []  # (activity id, resource id)
            for row in batch:
                organization_id = orgs[row.organization_ref] if row.organization_ref else None
                wanted: set[uuid.UUID] = {resources[ref] for ref in row.resource_refs}
                activity = existing.get(row.ref)
                if activity is None:
                    activity = Activity(
                        ref=row.ref,
                        place_id=row.place_code,
                        kind=row.kind,
                        title=row.title,
                        starts_at=row.starts_at,
                        organization_id=organization_id,
                        mode=self._mode(row.place_code),
                    )  # its UUID key is set here, before the insert
                    new.append(activity)
                    link.extend((activity.pk, resource_id) for resource_id in sorted(wanted))
                    continue
                values = {
                    "place_id": row.place_code,
                    "kind": row.kind,
                    "title": row.title,
                    "starts_at": row.starts_at,
                    "organization_id": organization_id,
                }
                if activity.place_id != row.place_code:
                    values["mode"] = self._mode(row.place_code)
                diff = {k: v for k, v in values.items() if getattr(activity, k) != v}
                have = stored.get(activity.pk, {})
                gone = [link_id for resource_id, link_id in have.items() if resource_id not in wanted]
                added = sorted(wanted - have.keys())
                if not diff and not gone and not added:
                    counts.unchanged += 1
                    continue
                for attr, value in diff.items():
                    setattr(activity, attr, value)
                activity.updated_at = context.now
                changed.append(activity)
                unlink.extend(gone)
                link.extend((activity.pk, resource_id) for resource_id in added)
            Activity.objects.bulk_create(new)
            Activity.objects.bulk_update(
                changed, ["place", "kind", "title", "starts_at", "organization", "mode", "updated_at"]
            )
            through.objects.filter(id__in=unlink).delete()
            through.objects.bulk_create([through(activity_id=a, resource_id=r) for a, r in link])
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    @staticmethod
    def _mode(place_code: str) -> str:
        """Held at a street: centralised training; in a community: taken to the community."""
        return ActivityMode.CENTRALISED if codes.level_of(place_code) == "street" else ActivityMode.LOCAL

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        """The activities in ref order, each with its resources' refs (sorted), one query per batch for those."""
        qs = Activity.objects.filter(place_filter(place_code, "place__code")).order_by("ref")
        fields = ("pk", "ref", "place_id", "kind", "title", "starts_at", "organization__ref")
        batch: list[tuple[object, ...]] = []
        for values in qs.values_list(*fields).iterator(chunk_size=BATCH):
            batch.append(values)
            if len(batch) >= BATCH:
                yield from self._with_resources(batch)
                batch = []
        yield from self._with_resources(batch)

    @staticmethod
    def _with_resources(batch: list[tuple[object, ...]]) -> Iterator[list[str]]:
        used: dict[object, list[str]] = {}
        if batch:
            links = Activity.resources.through.objects.filter(activity_id__in=[values[0] for values in batch])
            for activity_id, ref in links.order_by("resource__ref").values_list("activity_id", "resource__ref"):
                used.setdefault(activity_id, []).append(ref)
        for pk, *values in batch:
            yield [*(cell(v) for v in values), cell(used.get(pk, []))]


# --- attendance.csv ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    activity_ref: str
    resident_ref: str
    status: str
    hours: Decimal | None


class AttendanceFile(FileSpec[AttendanceRow]):
    name = ATTENDANCE_FILE
    title = gettext_lazy("出席记录")
    order = 70
    columns = (Column("activity_ref"), Column("resident_ref"), Column("status"), Column("hours"))
    key = ("activity_ref", "resident_ref")

    def parse_row(self, cells: Cells) -> AttendanceRow | None:
        activity_ref = cells.text("activity_ref", required=True, max_length=64)
        resident_ref = cells.text("resident_ref", required=True, max_length=64)
        status = cells.choice("status", STATUS_CHOICES, required=True)
        hours = cells.decimal("hours", minimum=Decimal(0))
        if hours is not None:
            if hours > MAX_HOURS:
                cells.error("hours", _("不能大于 %(high)s（现为 %(number)s）") % {"high": MAX_HOURS, "number": hours})
            elif hours != hours.quantize(Decimal("0.01")):
                cells.error("hours", _("最多保留两位小数（现为 %(number)s）") % {"number": hours})
            else:
                hours = hours.quantize(Decimal("0.01"))
        if not cells.ok:
            return None
        return AttendanceRow(activity_ref, resident_ref, status, hours)

    def validate(self, rows: list[ParsedRow[AttendanceRow]], context: ImportContext) -> None:
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "activity_ref", r.value.activity_ref) for r in rows],
            source_file=ACTIVITIES_FILE,
            model=Activity,
            what=_("活动"),
        )
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "resident_ref", r.value.resident_ref) for r in rows],
            source_file=RESIDENTS_FILE,
            model=Resident,
            what=_("居民"),
        )

    def write(self, rows: list[AttendanceRow], context: WriteContext) -> WriteCounts:
        """Set-based, source ``import``; presence handlers (points) do not run for imported history."""
        counts = WriteCounts()
        ordered = sorted(rows, key=lambda r: (r.activity_ref, r.resident_ref))
        for batch in chunks(ordered, self.batch_size):
            activities = ref_ids(Activity, (r.activity_ref for r in batch))
            residents = ref_ids(Resident, (r.resident_ref for r in batch))
            existing = {
                (a.activity_id, a.resident_id): a
                for a in Attendance.objects.filter(
                    activity_id__in=set(activities.values()), resident_id__in=set(residents.values())
                ).only("id", "activity_id", "resident_id", "status", "hours", "source", "recorded_by_id")
            }
            new: list[Attendance] = []
            changed: list[Attendance] = []
            for row in batch:
                activity_id, resident_id = activities[row.activity_ref], residents[row.resident_ref]
                found = existing.get((activity_id, resident_id))
                if found is None:
                    new.append(
                        Attendance(
                            activity_id=activity_id,
                            resident_id=resident_id,
                            status=row.status,
                            hours=row.hours,
                            source=AttendanceSource.IMPORT,
                        )
                    )
                elif (found.status, found.hours) != (row.status, row.hours):
                    found.status, found.hours = row.status, row.hours
                    found.source, found.recorded_by_id, found.updated_at = AttendanceSource.IMPORT, None, context.now
                    changed.append(found)
                else:
                    counts.unchanged += 1
            Attendance.objects.bulk_create(new)
            Attendance.objects.bulk_update(changed, ["status", "hours", "source", "recorded_by", "updated_at"])
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = Attendance.objects.filter(place_filter(place_code, "activity__place__code"))
        if place_code:
            qs = qs.filter(place_filter(place_code, "resident__community__code"))
        qs = qs.order_by("activity__ref", "resident__ref")
        for activity_ref, resident_ref, status, hours in qs.values_list(
            "activity__ref", "resident__ref", "status", "hours"
        ).iterator(chunk_size=BATCH):
            yield [activity_ref, resident_ref, status, _hours_cell(hours)]


ACTIVITIES = register(ActivitiesFile())
ATTENDANCE = register(AttendanceFile())
