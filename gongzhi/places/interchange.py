"""Interchange files of places: ``places.csv`` (the division tree) and ``population.csv`` (population by year).

Also the place-code cell reader and the "does this place exist" look-up that other apps' files use for their
``community_code`` / ``place_code`` columns (a place exists when it is in the database or in this import's places.csv).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
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
    register,
)

from . import codes
from .models import Level, Place, Population

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PLACES_FILE = "places.csv"
POPULATION_FILE = "population.csv"
LEVEL_CHOICES: dict[str, StrOrPromise] = dict(Level.choices)  # value → label (lazy: translated when shown)


def read_place_code(cells: Cells, column: str, *, required: bool = True, level: str | None = None) -> str:
    """A 12-digit division code cell; with ``level``, the code must be of that level (it follows from the code)."""
    value = cells.raw(column)
    if value == "":
        if required:
            cells.error(column, _("必填，不能为空"))
        return ""
    try:
        codes.validate_code(value)
    except codes.CodeError as exc:
        cells.error(
            column,
            _("%(error)s，而不是“%(value)s”（%(length)s 位）") % {"error": exc, "value": value, "length": len(value)},
        )
        return ""
    if level is not None and codes.level_of(value) != level:
        actual = LEVEL_CHOICES[codes.level_of(value)]
        cells.error(
            column,
            _("应为%(level)s一级的区划代码，而 %(code)s 是%(actual)s一级")
            % {"level": LEVEL_CHOICES[level], "code": value, "actual": actual},
        )
        return ""
    return value


def known_place_codes(context: ImportContext, wanted: Iterable[str]) -> set[str] | None:
    """Which of these codes exist, in this import's places.csv or in the database (one query per 2,000 codes).

    None when places.csv is present but unreadable: then nothing can be said, and callers stay silent.
    """
    if not context.trusts(PLACES_FILE):
        return None
    in_file: set[str] = context.shared.get("places.codes") or {r.code for r in context.values(PLACES_FILE)}
    context.shared["places.codes"] = in_file
    wanted_set = set(wanted)
    known = wanted_set & in_file
    for batch in chunks(sorted(wanted_set - known), 2000):
        known.update(Place.objects.filter(code__in=batch).values_list("code", flat=True))
    return known


def report_unknown_places(
    context: ImportContext, file: str, uses: Sequence[tuple[int, str, str]], *, what: str | None = None
) -> None:
    """Report every (row, column, code) whose place exists neither in the database nor in this import."""
    known = known_place_codes(context, (code for _row, _column, code in uses if code))
    if known is None:
        return
    what = what or _("区划")
    for row, column, code in uses:
        if code and code not in known:
            context.error(
                file,
                row,
                column,
                _("%(what)s %(code)s 不存在（系统中没有，本次导入的 places.csv 中也没有）")
                % {"what": what, "code": code},
            )


@dataclass(frozen=True, slots=True)
class PlaceRow:
    code: str
    name: str
    level: str
    parent_code: str  # "" for a province


class PlacesFile(FileSpec[PlaceRow]):
    name = PLACES_FILE
    title = gettext_lazy("区划")
    order = 10
    columns = (Column("code"), Column("name"), Column("level"), Column("parent_code"))
    key = ("code",)

    def parse_row(self, cells: Cells) -> PlaceRow | None:
        code = read_place_code(cells, "code")
        name = cells.text("name", required=True, max_length=100)
        level = cells.choice("level", LEVEL_CHOICES, required=True)
        parent_code = cells.raw("parent_code")
        if code:
            expected_level = codes.level_of(code)
            if level and level != expected_level:
                cells.error(
                    "level",
                    _("与区划代码不符：%(code)s 是 %(expected)s（%(label)s），而不是 %(level)s")
                    % {
                        "code": code,
                        "expected": expected_level,
                        "label": LEVEL_CHOICES[expected_level],
                        "level": level,
                    },
                )
            expected_parent = codes.parent_code_of(code) or ""
            if parent_code != expected_parent:
                if expected_parent:
                    cells.error(
                        "parent_code",
                        _("应为 %(parent)s（区划代码 %(code)s 的上级）") % {"parent": expected_parent, "code": code},
                    )
                else:
                    cells.error("parent_code", _("省级区划没有上级，应为空"))
        if not cells.ok:
            return None
        return PlaceRow(code=code, name=name, level=level, parent_code=parent_code)

    def validate(self, rows: list[ParsedRow[PlaceRow]], context: ImportContext) -> None:
        uses = [(r.number, "parent_code", r.value.parent_code) for r in rows if r.value.parent_code]
        report_unknown_places(context, self.name, uses, what=_("上级区划"))

    def write(self, rows: list[PlaceRow], context: WriteContext) -> WriteCounts:
        counts = WriteCounts()
        # Parents first, so every insert finds its parent.
        ordered = sorted(rows, key=lambda r: (codes.LEVELS.index(r.level), r.code))
        for batch in chunks(ordered, self.batch_size):
            existing = {
                p.code: p
                for p in Place.objects.filter(code__in=[r.code for r in batch]).only("code", "name", "level", "parent")
            }
            new: list[Place] = []
            changed: list[Place] = []
            for row in batch:
                parent_id = row.parent_code or None
                place = existing.get(row.code)
                if place is None:
                    new.append(Place(code=row.code, name=row.name, level=row.level, parent_id=parent_id))
                elif (place.name, place.level, place.parent_id) != (row.name, row.level, parent_id):
                    place.name, place.level, place.parent_id = row.name, row.level, parent_id
                    place.updated_at = context.now
                    changed.append(place)
                else:
                    counts.unchanged += 1
            Place.objects.bulk_create(new)
            Place.objects.bulk_update(changed, ["name", "level", "parent", "updated_at"])
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = Place.objects.all()
        if place_code:
            # The subtree and its ancestors, so that the file imports on its own into an empty system.
            qs = qs.filter(code__startswith=codes.prefix_of(place_code)) | Place.objects.filter(
                code__in=codes.ancestor_codes(place_code)
            )
        for code, name, level, parent_id in qs.order_by("code").values_list("code", "name", "level", "parent_id"):
            yield [code, name, level, cell(parent_id)]


@dataclass(frozen=True, slots=True)
class PopulationRow:
    community_code: str
    year: int
    population: int


class PopulationFile(FileSpec[PopulationRow]):
    name = POPULATION_FILE
    title = gettext_lazy("人口")
    order = 20
    columns = (Column("community_code"), Column("year"), Column("population"))
    key = ("community_code", "year")

    def parse_row(self, cells: Cells) -> PopulationRow | None:
        community_code = read_place_code(cells, "community_code", level="community")
        year = cells.integer("year", required=True, minimum=1949, maximum=2200)
        population = cells.integer("population", required=True, minimum=0, maximum=2_147_483_647)
        if not cells.ok or year is None or population is None:
            return None
        return PopulationRow(community_code=community_code, year=year, population=population)

    def validate(self, rows: list[ParsedRow[PopulationRow]], context: ImportContext) -> None:
        uses = [(r.number, "community_code", r.value.community_code) for r in rows]
        report_unknown_places(context, self.name, uses, what=_("社区"))

    def write(self, rows: list[PopulationRow], context: WriteContext) -> WriteCounts:
        counts = WriteCounts()
        ordered = sorted(rows, key=lambda r: (r.community_code, r.year))
        for batch in chunks(ordered, self.batch_size):
            wanted = sorted({r.community_code for r in batch})
            existing = {(p.place_id, p.year): p for p in Population.objects.filter(place_id__in=wanted)}
            new: list[Population] = []
            changed: list[Population] = []
            for row in batch:
                found = existing.get((row.community_code, row.year))
                if found is None:
                    new.append(Population(place_id=row.community_code, year=row.year, population=row.population))
                elif found.population != row.population:
                    found.population = row.population
                    changed.append(found)
                else:
                    counts.unchanged += 1
            Population.objects.bulk_create(new)
            Population.objects.bulk_update(changed, ["population"])
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = Population.objects.order_by("place_id", "year")
        if place_code:
            qs = qs.filter(place__code__startswith=codes.prefix_of(place_code))
        for code, year, population in qs.values_list("place_id", "year", "population"):
            yield [code, str(year), str(population)]


PLACES = register(PlacesFile())
POPULATION = register(PopulationFile())
