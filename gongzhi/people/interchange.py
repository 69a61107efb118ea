"""Interchange file of residents: ``residents.csv``.

The METHOD.md columns are open data and round-trip. Three more columns — ``name``, ``phone``, ``id_number`` — are
accepted on import only, so a community can load its roll in one go; export never writes them. They are validated
with ``protection`` and stored as the services store them: the phone normalised, the ID number encrypted with its keyed
hash and masked form. An empty (or absent) personal-data cell leaves what is stored as it is: an open-data file
re-imported must not wipe the roll, and erasing personal data is a deliberate act with its own service.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    register,
)
from gongzhi.places import codes
from gongzhi.places.interchange import read_place_code, report_unknown_places

from . import protection
from .models import Gender, Household, Resident

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

RESIDENTS_FILE = "residents.csv"
GENDER_CHOICES: dict[str, StrOrPromise] = dict(Gender.choices)  # value → label (lazy: translated when shown)
HOUSEHOLD_CHOICES: dict[str, StrOrPromise] = dict(Household.choices)
UPDATE_FIELDS = [
    "community",
    "registered_on",
    "left_on",
    "gender",
    "birth_year",
    "household",
    "name",
    "phone",
    "id_number_encrypted",
    "id_number_hash",
    "id_number_masked",
    "updated_at",
]


@dataclass(slots=True)
class ResidentRow:
    ref: str
    community_code: str
    registered_on: datetime.date
    left_on: datetime.date | None
    gender: str
    birth_year: int | None
    household: str
    # Personal data (import only). None: leave what is stored.
    name: str | None = None
    phone: str | None = None
    id_number: str | None = None  # normalised, in memory only for the import
    id_hash: str | None = None


def _id_birth_date(number: str) -> datetime.date | None:
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


class ResidentsFile(FileSpec[ResidentRow]):
    name = RESIDENTS_FILE
    title = gettext_lazy("居民")
    order = 30
    columns = (
        Column("ref"),
        Column("community_code"),
        Column("registered_on"),
        Column("left_on"),
        Column("gender"),
        Column("birth_year"),
        Column("household"),
        Column("name", required=False, exported=False),
        Column("phone", required=False, exported=False),
        Column("id_number", required=False, exported=False),
    )
    key = ("ref",)

    def parse_row(self, cells: Cells) -> ResidentRow | None:
        ref = cells.text("ref", required=True, max_length=64)
        community_code = read_place_code(cells, "community_code", level="community")
        registered_on = cells.date("registered_on", required=True)
        left_on = cells.date("left_on")
        gender = cells.choice("gender", GENDER_CHOICES)
        this_year = timezone.localdate().year
        birth_year = cells.integer("birth_year", minimum=1900, maximum=this_year)
        household = cells.choice("household", HOUSEHOLD_CHOICES, required=True)
        if registered_on and left_on and left_on < registered_on:
            cells.error(
                "left_on",
                _("迁出日期 %(left_on)s 不能早于登记日期 %(registered_on)s")
                % {"left_on": left_on, "registered_on": registered_on},
            )
        name = cells.text("name", max_length=50) or None
        phone = None
        if cells.raw("phone"):
            try:
                phone = protection.normalise_mobile(cells.raw("phone"))
            except protection.PersonalDataError as exc:
                cells.error("phone", str(exc))
        id_number = id_hash = None
        if cells.raw("id_number"):
            try:
                id_number = protection.normalise_id_number(cells.raw("id_number"))
            except protection.PersonalDataError as exc:
                cells.error("id_number", str(exc))
            else:
                born = _id_birth_date(id_number)
                if born is None:
                    cells.error("id_number", _("身份证号码中的出生日期无效"))
                elif birth_year is not None and born.year != birth_year:
                    cells.error(
                        "id_number",
                        _("身份证号码中的出生年份 %(born)s 与 birth_year %(birth_year)s 不一致")
                        % {"born": born.year, "birth_year": birth_year},
                    )
                else:
                    id_hash = protection.lookup_hash(id_number)
        if not cells.ok or registered_on is None:
            return None
        return ResidentRow(
            ref=ref,
            community_code=community_code,
            registered_on=registered_on,
            left_on=left_on,
            gender=gender,
            birth_year=birth_year,
            household=household,
            name=name,
            phone=phone,
            id_number=id_number,
            id_hash=id_hash,
        )

    def validate(self, rows: list[ParsedRow[ResidentRow]], context: ImportContext) -> None:
        uses = [(r.number, "community_code", r.value.community_code) for r in rows]
        report_unknown_places(context, self.name, uses, what=_("社区"))
        # An ID number belongs to one resident: not twice in the file, not to another resident already stored.
        first_row: dict[str, ParsedRow[ResidentRow]] = {}
        for parsed in rows:
            digest = parsed.value.id_hash
            if digest is None:
                continue
            if digest in first_row:
                context.error(
                    self.name,
                    parsed.number,
                    "id_number",
                    _("与第 %(row)s 行的身份证号码相同") % {"row": first_row[digest].number},
                )
            else:
                first_row[digest] = parsed
        digests = sorted(first_row)
        for batch in chunks(digests, self.batch_size):
            stored = Resident.objects.filter(id_number_hash__in=batch).values_list("id_number_hash", "ref")
            for digest, ref in stored:
                parsed = first_row[digest]
                if ref != parsed.value.ref:
                    context.error(self.name, parsed.number, "id_number", _("该身份证号码已登记在另一位居民名下"))

    def write(self, rows: list[ResidentRow], context: WriteContext) -> WriteCounts:
        counts = WriteCounts()
        ordered = sorted(rows, key=lambda r: r.ref)
        for batch in chunks(ordered, self.batch_size):
            existing = {r.ref: r for r in Resident.objects.filter(ref__in=[row.ref for row in batch])}
            new: list[Resident] = []
            changed: list[Resident] = []
            for row in batch:
                resident = existing.get(row.ref)
                if resident is None:
                    resident = Resident(ref=row.ref, name=row.name or "", phone=row.phone or "")
                    self._apply(resident, row)
                    new.append(resident)
                elif self._apply(resident, row):
                    resident.updated_at = context.now
                    changed.append(resident)
                else:
                    counts.unchanged += 1
            Resident.objects.bulk_create(new)
            Resident.objects.bulk_update(changed, UPDATE_FIELDS)
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    @staticmethod
    def _apply(resident: Resident, row: ResidentRow) -> bool:
        """Copy the row onto the resident; whether anything changed."""
        values = {
            "community_id": row.community_code,
            "registered_on": row.registered_on,
            "left_on": row.left_on,
            "gender": row.gender,
            "birth_year": row.birth_year,
            "household": row.household,
        }
        if row.name is not None:
            values["name"] = row.name
        if row.phone is not None:
            values["phone"] = row.phone
        changed = False
        for attr, value in values.items():
            if getattr(resident, attr) != value:
                setattr(resident, attr, value)
                changed = True
        if row.id_number is not None and row.id_hash != resident.id_number_hash:
            resident.id_number_encrypted = protection.encrypt(row.id_number)
            resident.id_number_hash = row.id_hash or ""
            resident.id_number_masked = protection.mask_id_number(row.id_number)
            changed = True
        return changed

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = Resident.objects.order_by("ref")
        if place_code:
            qs = qs.filter(community__code__startswith=codes.prefix_of(place_code))
        fields = ("ref", "community_id", "registered_on", "left_on", "gender", "birth_year", "household")
        for values in qs.values_list(*fields).iterator(chunk_size=self.batch_size):
            yield [cell(v) for v in values]


RESIDENTS = register(ResidentsFile())
