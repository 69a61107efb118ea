"""Interchange files of 联 link: ``providers.csv``, ``resources.csv`` and ``needs.csv`` (METHOD.md III1–III4).

- ``providers.csv`` (order 50): who brings resources — a company, a university, a bank, a hospital …
- ``resources.csv`` (order 55): what they bring, one row per resource, naming its provider (this import's
  ``providers.csv`` or the database). ``activities.csv`` (60) names the resources an activity used in ``resource_refs``.
- ``needs.csv`` (order 90): the needs of a community, both ways (``survey``: a needs survey sent down; ``report``: a
  resident's or worker's report sent up), with the need's status and, when matched or fulfilled, the resource. What
  III1 and III3 read.

Only the METHOD.md columns travel. The rest (a provider's contacts and members, a resource's service area, terms and
availability, pairings, a need's description, who raised it, surveys, ratings) is managed in the platform: import
leaves it as it is and export never writes it. A need's title is an optional import-only column, as for issues: a
new need without one is called “需求 <ref>”.

An imported need is history: its status is taken as given, but the row must be coherent — a ``fulfilled`` need has a
``fulfilled_on`` not before ``raised_on`` and only a fulfilled need has one; a ``matched`` need names its resource and
an ``open`` need names none (a ``cancelled`` or ``fulfilled`` need may or may not).

Export under a place writes the needs of its communities, the resources those needs and the place's activities used
(and the resources of providers registered or paired there, or serving it), and the providers of those resources, so
that the files import on their own.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
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
from gongzhi.organizations.interchange import place_filter
from gongzhi.places import codes
from gongzhi.places.interchange import read_place_code, report_unknown_places

from .models import Need, NeedDirection, NeedStatus, Provider, ProviderKind, Resource, ResourceKind

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PROVIDERS_FILE = "providers.csv"
RESOURCES_FILE = "resources.csv"
NEEDS_FILE = "needs.csv"
PROVIDER_KIND_CHOICES: dict[str, StrOrPromise] = dict(ProviderKind.choices)
RESOURCE_KIND_CHOICES: dict[str, StrOrPromise] = dict(ResourceKind.choices)
DIRECTION_CHOICES: dict[str, StrOrPromise] = dict(NeedDirection.choices)
NEED_STATUS_CHOICES: dict[str, StrOrPromise] = dict(NeedStatus.choices)
BATCH = 2000


def _copy(instance: models.Model, values: dict[str, object]) -> bool:
    """Set the values that differ; whether anything changed."""
    changed = False
    for attr, value in values.items():
        if getattr(instance, attr) != value:
            setattr(instance, attr, value)
            changed = True
    return changed


def exported_resources(place_code: str | None) -> models.QuerySet[Resource]:
    """The resources an export under ``place_code`` carries (all when None).

    Those used by activities held in the place's subtree or matched to needs of its communities (so that
    ``activities.csv`` and ``needs.csv`` import on their own), and those of providers registered in it, paired with a
    place in it, or serving it (a service area in the subtree, or a street or district above that covers it).
    """
    if not place_code:
        return Resource.objects.all()
    prefix = codes.prefix_of(place_code)
    used = Resource.objects.filter(activities__place__code__startswith=prefix).values("pk")
    matched = Need.objects.filter(community__code__startswith=prefix, resource__isnull=False).values("resource_id")
    serving = Resource.service_area.through.objects.filter(
        Q(place__code__startswith=prefix) | Q(place__code__in=codes.ancestor_codes(place_code))
    ).values("resource_id")
    return Resource.objects.filter(
        Q(pk__in=used) | Q(pk__in=matched) | Q(pk__in=serving) | Q(provider__in=_local_providers(prefix).values("pk"))
    )


def _local_providers(prefix: str) -> models.QuerySet[Provider]:
    """Providers registered in, or paired with a place in, the subtree of ``prefix``."""
    paired = Provider.objects.filter(pairings__place__code__startswith=prefix).values("pk")
    return Provider.objects.filter(Q(place__code__startswith=prefix) | Q(pk__in=paired))


def exported_providers(place_code: str | None) -> models.QuerySet[Provider]:
    """The providers of the exported resources, and those registered in or paired with the place's subtree."""
    if not place_code:
        return Provider.objects.all()
    prefix = codes.prefix_of(place_code)
    return Provider.objects.filter(
        Q(pk__in=exported_resources(place_code).values("provider_id")) | Q(pk__in=_local_providers(prefix).values("pk"))
    )


# --- providers.csv -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderRow:
    ref: str
    name: str
    kind: str


class ProvidersFile(FileSpec[ProviderRow]):
    name = PROVIDERS_FILE
    title = gettext_lazy("资源方")
    order = 50  # after organisations (40, 45), before resources (55) and activities (60)
    columns = (Column("ref"), Column("name"), Column("kind"))
    key = ("ref",)

    def parse_row(self, cells: Cells) -> ProviderRow | None:
        ref = cells.text("ref", required=True, max_length=64)
        name = cells.text("name", required=True, max_length=100)
        kind = cells.choice("kind", PROVIDER_KIND_CHOICES, required=True)
        if not cells.ok:
            return None
        return ProviderRow(ref, name, kind)

    def write(self, rows: list[ProviderRow], context: WriteContext) -> WriteCounts:
        counts = WriteCounts()
        for batch in chunks(sorted(rows, key=lambda r: r.ref), self.batch_size):
            existing = {p.ref: p for p in Provider.objects.filter(ref__in=[r.ref for r in batch])}
            new: list[Provider] = []
            changed: list[Provider] = []
            for row in batch:
                provider = existing.get(row.ref)
                if provider is None:
                    new.append(Provider(ref=row.ref, name=row.name, kind=row.kind))
                elif _copy(provider, {"name": row.name, "kind": row.kind}):
                    provider.updated_at = context.now
                    changed.append(provider)
                else:
                    counts.unchanged += 1
            Provider.objects.bulk_create(new)
            Provider.objects.bulk_update(changed, ["name", "kind", "updated_at"])
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = exported_providers(place_code).order_by("ref")
        for values in qs.values_list("ref", "name", "kind").iterator(chunk_size=BATCH):
            yield [cell(v) for v in values]


# --- resources.csv -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResourceRow:
    ref: str
    provider_ref: str
    kind: str
    name: str


class ResourcesFile(FileSpec[ResourceRow]):
    name = RESOURCES_FILE
    title = gettext_lazy("资源")
    order = 55
    columns = (Column("ref"), Column("provider_ref"), Column("kind"), Column("name"))
    key = ("ref",)

    def parse_row(self, cells: Cells) -> ResourceRow | None:
        ref = cells.text("ref", required=True, max_length=64)
        provider_ref = cells.text("provider_ref", required=True, max_length=64)
        kind = cells.choice("kind", RESOURCE_KIND_CHOICES, required=True)
        name = cells.text("name", required=True, max_length=200)
        if not cells.ok:
            return None
        return ResourceRow(ref, provider_ref, kind, name)

    def validate(self, rows: list[ParsedRow[ResourceRow]], context: ImportContext) -> None:
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "provider_ref", r.value.provider_ref) for r in rows],
            source_file=PROVIDERS_FILE,
            model=Provider,
            what=_("资源方"),
        )

    def write(self, rows: list[ResourceRow], context: WriteContext) -> WriteCounts:
        counts = WriteCounts()
        for batch in chunks(sorted(rows, key=lambda r: r.ref), self.batch_size):
            providers = ref_ids(Provider, (r.provider_ref for r in batch))
            existing = {r.ref: r for r in Resource.objects.filter(ref__in=[r.ref for r in batch])}
            new: list[Resource] = []
            changed: list[Resource] = []
            for row in batch:
                values = {"provider_id": providers[row.provider_ref], "kind": row.kind, "name": row.name}
                resource = existing.get(row.ref)
                if resource is None:
                    new.append(Resource(ref=row.ref, **values))
                elif _copy(resource, values):
                    resource.updated_at = context.now
                    changed.append(resource)
                else:
                    counts.unchanged += 1
            Resource.objects.bulk_create(new)
            Resource.objects.bulk_update(changed, ["provider", "kind", "name", "updated_at"])
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = exported_resources(place_code).order_by("ref")
        for values in qs.values_list("ref", "provider__ref", "kind", "name").iterator(chunk_size=BATCH):
            yield [cell(v) for v in values]


# --- needs.csv -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NeedRow:
    ref: str
    community_code: str
    direction: str
    resource_kind: str
    raised_on: datetime.date
    status: str
    fulfilled_on: datetime.date | None
    resource_ref: str  # "" = no resource
    title: str  # import only; "" keeps the stored title (or names a new need after its ref)


class NeedsFile(FileSpec[NeedRow]):
    name = NEEDS_FILE
    title = gettext_lazy("需求")
    order = 90  # after places, residents and resources; after deliberation (80, 85), as in METHOD.md's table
    columns = (
        Column("ref"),
        Column("community_code"),
        Column("direction"),
        Column("resource_kind"),
        Column("raised_on"),
        Column("status"),
        Column("fulfilled_on"),
        Column("resource_ref"),
        Column("title", required=False, exported=False),
    )
    key = ("ref",)

    def parse_row(self, cells: Cells) -> NeedRow | None:
        ref = cells.text("ref", required=True, max_length=64)
        community_code = read_place_code(cells, "community_code", level="community")
        direction = cells.choice("direction", DIRECTION_CHOICES, required=True)
        resource_kind = cells.choice("resource_kind", RESOURCE_KIND_CHOICES, required=True)
        raised_on = cells.date("raised_on", required=True)
        status = cells.choice("status", NEED_STATUS_CHOICES, required=True)
        fulfilled_on = cells.date("fulfilled_on")
        resource_ref = cells.text("resource_ref", max_length=64)
        title = cells.text("title", max_length=200)
        if status:
            label = NEED_STATUS_CHOICES[status]
            if status == NeedStatus.FULFILLED:
                if fulfilled_on is None and "fulfilled_on" not in cells.errors:
                    cells.error("fulfilled_on", _("状态为 fulfilled（已满足）的需求必须填写满足日期"))
            elif fulfilled_on is not None:
                cells.error(
                    "fulfilled_on",
                    _("状态为 %(status)s（%(label)s）的需求不能有满足日期，只有已满足的需求才有")
                    % {"status": status, "label": label},
                )
            if status == NeedStatus.MATCHED and not resource_ref and "resource_ref" not in cells.errors:
                cells.error("resource_ref", _("状态为 matched（已匹配）的需求必须填写所匹配的资源编号"))
            elif status == NeedStatus.OPEN and resource_ref:
                cells.error("resource_ref", _("状态为 open（待匹配）的需求还没有匹配资源，resource_ref 应为空"))
        if raised_on and fulfilled_on and fulfilled_on < raised_on and "fulfilled_on" not in cells.errors:
            cells.error(
                "fulfilled_on",
                _("满足日期 %(fulfilled_on)s 不能早于提出日期 %(raised_on)s")
                % {"fulfilled_on": fulfilled_on, "raised_on": raised_on},
            )
        if not cells.ok or raised_on is None:
            return None
        return NeedRow(
            ref, community_code, direction, resource_kind, raised_on, status, fulfilled_on, resource_ref, title
        )

    def validate(self, rows: list[ParsedRow[NeedRow]], context: ImportContext) -> None:
        report_unknown_places(
            context, self.name, [(r.number, "community_code", r.value.community_code) for r in rows], what=_("社区")
        )
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "resource_ref", r.value.resource_ref) for r in rows if r.value.resource_ref],
            source_file=RESOURCES_FILE,
            model=Resource,
            what=_("资源"),
        )

    def write(self, rows: list[NeedRow], context: WriteContext) -> WriteCounts:
        counts = WriteCounts()
        fields = [
            "community",
            "direction",
            "resource_kind",
            "raised_on",
            "status",
            "fulfilled_on",
            "resource",
            "title",
            "updated_at",
        ]
        for batch in chunks(sorted(rows, key=lambda r: r.ref), self.batch_size):
            resources = ref_ids(Resource, (r.resource_ref for r in batch if r.resource_ref))
            existing = {n.ref: n for n in Need.objects.filter(ref__in=[r.ref for r in batch])}
            new: list[Need] = []
            changed: list[Need] = []
            for row in batch:
                values: dict[str, object] = {
                    "community_id": row.community_code,
                    "direction": row.direction,
                    "resource_kind": row.resource_kind,
                    "raised_on": row.raised_on,
                    "status": row.status,
                    "fulfilled_on": row.fulfilled_on,
                    "resource_id": resources[row.resource_ref] if row.resource_ref else None,
                }
                if row.title:
                    values["title"] = row.title
                need = existing.get(row.ref)
                if need is None:
                    need = Need(ref=row.ref, title=row.title or _("需求 %(ref)s") % {"ref": row.ref})
                    _copy(need, values)
                    new.append(need)
                elif _copy(need, values):
                    need.updated_at = context.now
                    changed.append(need)
                else:
                    counts.unchanged += 1
            Need.objects.bulk_create(new)
            Need.objects.bulk_update(changed, fields)
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = Need.objects.filter(place_filter(place_code, "community__code")).order_by("ref")
        fields = (
            "ref",
            "community_id",
            "direction",
            "resource_kind",
            "raised_on",
            "status",
            "fulfilled_on",
            "resource__ref",
        )
        for values in qs.values_list(*fields).iterator(chunk_size=BATCH):
            yield [cell(v) for v in values]


PROVIDERS = register(ProvidersFile())
RESOURCES = register(ResourcesFile())
NEEDS = register(NeedsFile())
