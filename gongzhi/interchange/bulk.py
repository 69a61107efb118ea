"""Bulk import of large interchange folders (METHOD.md "Interchange format"): the same files, the same checks, the same
result as ``importer.import_data``, with memory that does not grow with the number of rows.

How it works, in one transaction (all or nothing):

1. **Stream and stage.** Every file is read row by row; every row goes through its ``FileSpec.parse_row`` (the same
   value checks and messages as the regular import) and the rows that parse are loaded into a temporary *staging*
   table per file — with ``COPY … FROM STDIN`` on PostgreSQL, ``executemany`` in chunks on SQLite — with their
   spreadsheet row number. Python holds one chunk at a time, never a file.
2. **Check in SQL.** Duplicate keys within a file, references to places, residents, organisations, providers,
   resources, activities and issues (each must exist in the database or in this import's file that defines it), and
   "one current membership per person and organisation" are set-based queries over the staging tables. Problems are
   reported as (file, row, column, message) — the same messages as the regular import; the first ``max_errors``
   (1,000) are kept, all are counted.
3. Any problem → ``BulkImportFailed`` and the transaction rolls back: nothing is written.
4. **Merge.** File by file, in import order: ``UPDATE … FROM staging`` for stored rows whose values differ, then
   ``INSERT … SELECT … WHERE NOT EXISTS`` for new ones; refs are turned into ids by joins in SQL. Identical rows are
   left untouched (``updated_at`` too), so importing the same folder again reports 0 created and 0 updated. The side
   records of the regular import are kept: a ``StageChange`` when an organisation's stage changes, an
   ``IssueStatusChange`` for a new issue or a changed status, an activity's resource set replaced by its
   ``resource_refs``, imported attendance with source ``import`` (no points awarded, as in the regular import).
   On PostgreSQL a very large insert (≥ ``REBUILD_ABOVE`` rows into a table holding fewer) runs with the table's
   indexes and foreign keys dropped and re-created afterwards (``_loading``).
5. One audit event, as the regular import.

Personal data: ``residents.csv`` may carry ``name`` and ``phone`` (phones normalised by ``parse_row``; an empty cell
keeps what is stored, as in the regular import). **ID numbers are refused** by the bulk path: they must be encrypted,
hashed and checked for uniqueness one by one through ``people.protection``, which the regular import does. A row with
an ``id_number`` is an error here ("use the regular import"), so the bulk path can never store an ID number in clear
or skip its checks. (A header with an all-empty ``id_number`` column is fine.)

Progress goes to the interchange ``ProgressFactory`` (tqdm in the commands): one bar per file while it is checked and
staged, one per file while it is merged.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import operator
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from gongzhi.core.audit import audit_record
from gongzhi.core.interchange import Cells, FileSpec, ImportContext, ProgressFactory, RowError, WriteCounts, specs

from .importer import FileReport, ImportFailed, ImportReport, _check_header, _NoBar
from .readers import ReadError, open_source

MAX_ERRORS = 1000
# PostgreSQL: an INSERT of at least this many rows (and at least half the table) runs with the table's secondary
# indexes and foreign keys dropped and re-created afterwards, in the same transaction (see ``_loading``).
REBUILD_ABOVE = 200_000
CHUNK = 5000  # rows per executemany on SQLite, per progress update
PREFIX = "gzb_"


class BulkImportFailed(ImportFailed):
    """Problems were found and nothing was written. ``errors`` holds the first ``MAX_ERRORS``, ``total`` counts all."""

    def __init__(self, errors: list[RowError], total: int | None = None):
        super().__init__(errors)
        self.total = len(errors) if total is None else total
        if self.total != len(errors):
            self.message = ngettext(
                "导入失败：发现 %(count)s 处错误（列出前 %(shown)s 处），没有写入任何数据",
                "导入失败：发现 %(count)s 处错误（列出前 %(shown)s 处），没有写入任何数据",
                self.total,
            ) % {"count": self.total, "shown": len(errors)}
            self.args = (self.message,)


# --- staging layout ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    """A staging column: its name, type (text, int, date, ts, num) and the typed row's attribute it comes from."""

    name: str
    type: str = "text"
    attr: str = ""  # defaults to name
    empty_null: bool = False  # "" → NULL


@dataclass(frozen=True)
class Target:
    """What a reference column points at: the defining file, its staging table and key, the stored table and key."""

    file: str
    stage: str
    key: str
    table: str
    column: str
    place: bool = False  # place codes use their own message


PLACE = Target("places.csv", "places", "code", "places_place", "code", place=True)
RESIDENT = Target("residents.csv", "residents", "ref", "people_resident", "ref")
ORGANIZATION = Target("organizations.csv", "organizations", "ref", "organizations_organization", "ref")
PROVIDER = Target("providers.csv", "providers", "ref", "resources_provider", "ref")
RESOURCE = Target("resources.csv", "resources", "ref", "resources_resource", "ref")
ACTIVITY = Target("activities.csv", "activities", "ref", "activities_activity", "ref")
ISSUE = Target("issues.csv", "issues", "ref", "deliberation_issue", "ref")


@dataclass(frozen=True)
class Ref:
    column: str  # staging column (= file column)
    target: Target
    what: Callable[[], str]
    stage: str = ""  # another staging table of the same file (activity resource links)


@dataclass(frozen=True)
class Layout:
    stage: str  # staging table name without prefix
    cols: tuple[Col, ...]
    key: tuple[str, ...]
    refs: tuple[Ref, ...] = ()


def _what(text: str) -> Callable[[], str]:
    return lambda: _(text)


LAYOUTS: dict[str, Layout] = {
    "places.csv": Layout(
        "places",
        (Col("code"), Col("name"), Col("level"), Col("parent_code")),
        ("code",),
        (Ref("parent_code", PLACE, _what("上级区划")),),
    ),
    "population.csv": Layout(
        "population",
        (Col("community_code"), Col("year", "int"), Col("population", "int")),
        ("community_code", "year"),
        (Ref("community_code", PLACE, _what("社区")),),
    ),
    "residents.csv": Layout(
        "residents",
        (
            Col("ref"),
            Col("community_code"),
            Col("registered_on", "date"),
            Col("left_on", "date"),
            Col("gender"),
            Col("birth_year", "int"),
            Col("household"),
            Col("name"),  # None: keep what is stored
            Col("phone"),
        ),
        ("ref",),
        (Ref("community_code", PLACE, _what("社区")),),
    ),
    "organizations.csv": Layout(
        "organizations",
        (
            Col("ref"),
            Col("name"),
            Col("place_code"),
            Col("kind"),
            Col("stage"),
            Col("founded_on", "date"),
            Col("dissolved_on", "date"),
        ),
        ("ref",),
        (Ref("place_code", PLACE, _what("区划")),),
    ),
    "memberships.csv": Layout(
        "memberships",
        (
            Col("organization_ref"),
            Col("resident_ref"),
            Col("role"),
            Col("joined_on", "date"),
            Col("left_on", "date"),
        ),
        ("organization_ref", "resident_ref", "joined_on"),
        (
            Ref("organization_ref", ORGANIZATION, _what("组织")),
            Ref("resident_ref", RESIDENT, _what("居民")),
        ),
    ),
    "providers.csv": Layout("providers", (Col("ref"), Col("name"), Col("kind")), ("ref",)),
    "resources.csv": Layout(
        "resources",
        (Col("ref"), Col("provider_ref"), Col("kind"), Col("name")),
        ("ref",),
        (Ref("provider_ref", PROVIDER, _what("资源方")),),
    ),
    "activities.csv": Layout(
        "activities",
        (
            Col("ref"),
            Col("place_code"),
            Col("kind"),
            Col("title"),
            Col("starts_at", "ts"),
            Col("organization_ref", empty_null=True),
        ),
        ("ref",),
        (
            Ref("place_code", PLACE, _what("区划")),
            Ref("organization_ref", ORGANIZATION, _what("组织")),
            Ref("resource_refs", RESOURCE, _what("资源"), stage="activity_links"),
        ),
    ),
    "attendance.csv": Layout(
        "attendance",
        (Col("activity_ref"), Col("resident_ref"), Col("status"), Col("hours", "num")),
        ("activity_ref", "resident_ref"),
        (
            Ref("activity_ref", ACTIVITY, _what("活动")),
            Ref("resident_ref", RESIDENT, _what("居民")),
        ),
    ),
    "issues.csv": Layout(
        "issues",
        (
            Col("ref"),
            Col("community_code"),
            Col("raised_by", empty_null=True),
            Col("raised_on", "date"),
            Col("status"),
            Col("discussed_on", "date"),
            Col("decided_on", "date"),
            Col("implemented_on", "date"),
            Col("closed_on", "date"),
            Col("title", empty_null=True),
        ),
        ("ref",),
        (
            Ref("community_code", PLACE, _what("社区")),
            Ref("raised_by", RESIDENT, _what("居民")),
        ),
    ),
    "issue_actions.csv": Layout(
        "issue_actions",
        (Col("issue_ref"), Col("resident_ref"), Col("action"), Col("at", "ts")),
        ("issue_ref", "resident_ref", "action", "at"),
        (
            Ref("issue_ref", ISSUE, _what("议题")),
            Ref("resident_ref", RESIDENT, _what("居民")),
        ),
    ),
    "needs.csv": Layout(
        "needs",
        (
            Col("ref"),
            Col("community_code"),
            Col("direction"),
            Col("resource_kind"),
            Col("raised_on", "date"),
            Col("status"),
            Col("fulfilled_on", "date"),
            Col("resource_ref", empty_null=True),
            Col("title", empty_null=True),
        ),
        ("ref",),
        (
            Ref("community_code", PLACE, _what("社区")),
            Ref("resource_ref", RESOURCE, _what("资源")),
        ),
    ),
    "survey_answers.csv": Layout(
        "survey_answers",
        (Col("resident_ref"), Col("community_code"), Col("answered_on", "date"), Col("item"), Col("value", "int")),
        ("resident_ref", "answered_on", "item"),
        (
            Ref("community_code", PLACE, _what("社区")),
            Ref("resident_ref", RESIDENT, _what("居民")),
        ),
    ),
}
LINKS_STAGE = "activity_links"  # (rn, activity_ref, resource_ref) of activities.csv's resource_refs


# --- the database side ---------------------------------------------------------------------------------------------


class Db:
    """Vendor differences (PostgreSQL or SQLite) and the statements run through one cursor."""

    SQL_TYPES = {
        "postgresql": {
            "text": "text",
            "int": "bigint",
            "date": "date",
            "ts": "timestamptz",
            "num": "numeric",
            "uuid": "uuid",
        },
        "sqlite": {
            "text": "text",
            "int": "integer",
            "date": "date",
            "ts": "datetime",
            "num": "decimal",
            "uuid": "text",
        },
    }

    def __init__(self, cursor: Any, now: datetime.datetime, rebuild_above: int = REBUILD_ABOVE):
        self.cursor = cursor
        self.rebuild_above = rebuild_above
        self.vendor = connection.vendor
        if self.vendor not in self.SQL_TYPES:
            raise NotImplementedError(f"bulk import supports PostgreSQL and SQLite, not {self.vendor}")
        self.pg = self.vendor == "postgresql"
        self.uuid = "gen_random_uuid()" if self.pg else "lower(hex(randomblob(16)))"
        self.null_uuid = "CAST(NULL AS uuid)" if self.pg else "NULL"
        self.empty_json = "CAST('[]' AS jsonb)" if self.pg else "'[]'"
        self.now = self.ts(now)
        self.today = timezone.localdate(now)
        self.staged: list[str] = []
        self.clock: _Clock = _Clock(None)

    def ts(self, value: datetime.datetime | None) -> Any:
        if value is None or self.pg:
            return value
        return connection.ops.adapt_datetimefield_value(value)

    def cell(self, type_: str, value: Any) -> Any:
        """A Python value as the driver should receive it for a staging column."""
        if self.pg or value is None:
            return value
        if type_ == "ts":
            return connection.ops.adapt_datetimefield_value(value)
        if type_ == "date":
            return value.isoformat()
        if type_ == "num":
            return str(value)
        return value

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.cursor.execute(sql, params or None)
        return max(self.cursor.rowcount or 0, 0)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(sql, params or None)
        return list(self.cursor.fetchall())

    def create_stage(self, name: str, cols: Sequence[tuple[str, str]]) -> None:
        table = PREFIX + name
        types = self.SQL_TYPES[self.vendor]
        body = ", ".join(["rn bigint NOT NULL", *(f"{c} {types[t]}" for c, t in cols)])
        self.run(f"DROP TABLE IF EXISTS {table}")
        suffix = " ON COMMIT DROP" if self.pg else ""
        self.run(f"CREATE TEMP TABLE {table} ({body}){suffix}")
        self.staged.append(table)

    def index(self, name: str, columns: Sequence[str]) -> None:
        table = PREFIX + name
        self.run(f"CREATE INDEX {table}_{'_'.join(columns)}_ix ON {table} ({', '.join(columns)})")

    def analyze(self, name: str) -> None:
        self.run(f"ANALYZE {PREFIX}{name}")

    def loader(self, name: str, columns: Sequence[str]) -> Loader:
        return PgCopy(self, name, columns) if self.pg else SqliteLoader(self, name, columns)

    def drop_stages(self) -> None:
        for table in self.staged:
            self.run(f"DROP TABLE IF EXISTS {table}")
        self.staged.clear()


class Loader:
    def add(self, row: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class PgCopy(Loader):
    """``COPY staging FROM STDIN`` (psycopg 3), rows written as they come."""

    def __init__(self, db: Db, name: str, columns: Sequence[str]):
        raw = db.cursor.cursor  # the psycopg cursor under Django's wrapper
        self._context = raw.copy(f"COPY {PREFIX}{name} (rn, {', '.join(columns)}) FROM STDIN")
        self._copy = self._context.__enter__()

    def add(self, row: tuple[Any, ...]) -> None:
        self._copy.write_row(row)

    def close(self) -> None:
        self._context.__exit__(None, None, None)


class SqliteLoader(Loader):
    """``executemany`` INSERTs in chunks of ``CHUNK`` rows."""

    def __init__(self, db: Db, name: str, columns: Sequence[str]):
        self.db = db
        marks = ", ".join(["%s"] * (len(columns) + 1))
        self.sql = f"INSERT INTO {PREFIX}{name} (rn, {', '.join(columns)}) VALUES ({marks})"
        self.pending: list[tuple[Any, ...]] = []

    def add(self, row: tuple[Any, ...]) -> None:
        self.pending.append(row)
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.db.cursor.executemany(self.sql, self.pending)
            self.pending = []

    def close(self) -> None:
        self.flush()


# --- errors --------------------------------------------------------------------------------------------------------


@dataclass
class Errors:
    limit: int
    kept: list[RowError] = field(default_factory=list)
    total: int = 0

    def add(self, file: str, row: int | None, column: str | None, message: str) -> None:
        self.total += 1
        if len(self.kept) < self.limit:
            self.kept.append(RowError(file, row, column, message))

    @property
    def full(self) -> bool:
        return len(self.kept) >= self.limit

    def failed(self) -> BulkImportFailed:
        order = {s.name: (i, s.column_names) for i, s in enumerate(specs())}

        def key(e: RowError) -> tuple[int, int, int]:
            index, columns = order.get(e.file, (len(order), []))
            return (index, *e.sort_key(columns))

        return BulkImportFailed(sorted(self.kept, key=key), self.total)


# --- the import ----------------------------------------------------------------------------------------------------


def bulk_import(
    path: str | os.PathLike[str],
    *,
    actor: Any = None,
    progress: ProgressFactory | None = None,
    max_errors: int = MAX_ERRORS,
    timings: dict[str, float] | None = None,
    rebuild_above: int = REBUILD_ABOVE,
) -> ImportReport:
    """Import a folder of CSV files (or a workbook) set-based; raises BulkImportFailed, writing nothing, on any problem.

    Same files, checks, messages and result as ``importer.import_data`` (see the module docstring for the one
    difference: ID numbers are refused). ``timings``, when given, receives the seconds of each step
    ("stage attendance.csv", "check attendance.csv", "merge attendance.csv", …) for benchmarks.
    """
    clock = _Clock(timings)
    registered = specs()
    try:
        source = open_source(path, names=[s.name for s in registered])
    except ReadError as exc:
        raise BulkImportFailed([RowError(Path(path).name, None, None, str(exc))]) from exc
    errors = Errors(max_errors)
    report = ImportReport(ignored=list(source.ignored))
    now = timezone.now()
    with source, transaction.atomic(), connection.cursor() as cursor:
        db = Db(cursor, now, rebuild_above)
        db.clock = clock
        if db.pg:
            db.run("SET LOCAL work_mem = '256MB'")
        try:
            present: set[str] = set()
            broken: set[str] = set()
            staged: dict[str, int] = {}
            for name, message in source.errors.items():
                present.add(name)
                broken.add(name)
                errors.add(name, None, None, message)
            for spec in registered:
                table = source.tables.get(spec.name)
                if table is None:
                    continue
                if spec.name not in LAYOUTS:
                    present.add(spec.name)
                    broken.add(spec.name)
                    errors.add(spec.name, None, None, _("批量导入不支持 %(file)s：请用常规导入") % {"file": spec.name})
                    continue
                present.add(spec.name)
                check = ImportContext()
                if not _check_header(spec, table, check):
                    broken.add(spec.name)
                    for e in check.errors:
                        errors.add(e.file, e.row, e.column, e.message)
                    continue
                try:
                    with clock(f"stage {spec.name}"):
                        staged[spec.name] = _stage(db, spec, table.header, table.rows(), table.total, errors, progress)
                except ReadError as exc:
                    errors.add(spec.name, None, None, str(exc))
                    broken.add(spec.name)
            if not present:
                expected = pgettext("list separator", "、").join(s.name for s in registered)
                message = _("没有找到可导入的文件（可导入：%(expected)s）") % {"expected": expected}
                raise BulkImportFailed([RowError(Path(path).name, None, None, message)])
            for spec in registered:
                if spec.name in staged:
                    with clock(f"check {spec.name}"):
                        _check(db, spec, staged, broken, errors)
            if errors.total:
                raise errors.failed()
            for spec in registered:
                if spec.name not in staged:
                    continue
                bar = progress(f"写入 {spec.name}", staged[spec.name]) if progress else _NoBar()
                try:
                    with clock(f"merge {spec.name}"):
                        counts = MERGES[spec.name](db, staged[spec.name])
                    bar.update(staged[spec.name])
                finally:
                    bar.close()
                report.files.append(FileReport(spec.name, spec.title, counts))
            audit_record(
                actor=actor,
                action="import",
                target_type="interchange",
                target_id=Path(path).name[:64],
                summary="批量导入 "
                + "，".join(
                    f"{f.name}（新增 {f.counts.created}，更新 {f.counts.updated}，未变 {f.counts.unchanged}）"
                    for f in report.files
                ),
                changes={
                    "bulk": True,
                    "files": {
                        f.name: {
                            "created": f.counts.created,
                            "updated": f.counts.updated,
                            "unchanged": f.counts.unchanged,
                        }
                        for f in report.files
                    },
                },
            )
        finally:
            if not db.pg:
                with contextlib.suppress(Exception):  # failing anyway: the temp tables go with the connection
                    db.drop_stages()
    if connection.vendor == "postgresql" and report.changed:
        # Fresh statistics at once: until autovacuum gets to them, the planner takes the loaded tables for nearly
        # empty and the indicators' extractor runs nested loops over millions of rows (bench/RESULTS.md, R1).
        with clock("analyze"), connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return report


class _Clock:
    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings

    @contextlib.contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            if self.timings is not None:
                self.timings[step] = time.perf_counter() - began


def _stage(
    db: Db,
    spec: FileSpec[Any],
    header: list[str],
    rows: Iterator[tuple[int, list[str]]],
    total: int | None,
    errors: Errors,
    progress: ProgressFactory | None,
) -> int:
    """Parse every row of a file with its spec and load the good ones into its staging table; rows staged."""
    layout = LAYOUTS[spec.name]
    db.create_stage(layout.stage, [(c.name, c.type) for c in layout.cols])
    loader = db.loader(layout.stage, [c.name for c in layout.cols])
    # An activity's resource refs go to their own staging table, loaded after the file (one COPY at a time per
    # connection): they wait in a temporary file, not in memory.
    links: Any = None
    if spec.name == "activities.csv":
        links = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115  (closed below)
        link_writer = csv.writer(links)
    getters = [(c.attr or c.name, c.type, c.empty_null) for c in layout.cols]
    # The common case (PostgreSQL takes Python values as they are, no "" → NULL column): one attrgetter call.
    plain = (
        operator.attrgetter(*(attr for attr, _type, _null in getters))
        if db.pg and not any(null for _attr, _type, null in getters)
        else None
    )
    width = len(header)
    refuse_id = spec.name == "residents.csv" and "id_number" in header
    bar = progress(f"校验 {spec.name}", total) if progress else _NoBar()
    count = 0
    pending = 0
    name = spec.name
    try:
        for number, cells in rows:
            pending += 1
            if pending >= CHUNK:
                bar.update(pending)
                pending = 0
            if not any(cells):
                continue
            if len(cells) > width:
                if any(cells[width:]):
                    errors.add(
                        name,
                        number,
                        None,
                        _("该行有 %(cells)s 个单元格，多于表头的 %(width)s 列") % {"cells": len(cells), "width": width},
                    )
                    continue
                cells = cells[:width]
            elif len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            row_cells = Cells(dict(zip(header, cells, strict=True)))
            if refuse_id and row_cells.raw("id_number"):
                errors.add(
                    name,
                    number,
                    "id_number",
                    _(
                        "批量导入不接收身份证号码（需逐条加密和查重）：请用常规导入（不加 --bulk）导入含身份证号码的居民"
                    ),
                )
                continue
            value = spec.parse_row(row_cells)
            for column, message in row_cells.errors.items():
                errors.add(name, number, column, message)
            if value is None or not row_cells.ok:
                continue
            if plain is not None:
                loader.add((number, *plain(value)))
            else:
                out: list[Any] = [number]
                for attr, type_, empty_null in getters:
                    v = getattr(value, attr)
                    if empty_null and v == "":
                        v = None
                    out.append(db.cell(type_, v))
                loader.add(tuple(out))
            if links is not None:
                link_writer.writerows((number, value.ref, ref) for ref in value.resource_refs)
            count += 1
    finally:
        bar.update(pending)
        bar.close()
        loader.close()
    if links is not None:
        with links:
            links.seek(0)
            db.create_stage(LINKS_STAGE, [("activity_ref", "text"), ("resource_ref", "text")])
            link_loader = db.loader(LINKS_STAGE, ["activity_ref", "resource_ref"])
            try:
                for rn, activity_ref, resource_ref in csv.reader(links):
                    link_loader.add((int(rn), activity_ref, resource_ref))
            finally:
                link_loader.close()
    # Indexes for the look-ups into this table (refs of other files, joins of the merge).
    if layout.key == ("ref",) or layout.key == ("code",):
        db.index(layout.stage, layout.key)
    if not db.pg:
        if spec.name == "activities.csv":
            db.index(LINKS_STAGE, ["activity_ref"])
        if spec.name == "memberships.csv":
            db.index(layout.stage, ["organization_ref", "resident_ref"])
    if db.pg:
        db.analyze(layout.stage)
        if spec.name == "activities.csv":
            db.analyze(LINKS_STAGE)
    return count


# --- checks --------------------------------------------------------------------------------------------------------


def _check(db: Db, spec: FileSpec[Any], staged: dict[str, int], broken: set[str], errors: Errors) -> None:
    layout = LAYOUTS[spec.name]
    table = PREFIX + layout.stage
    separator = pgettext("list separator", "、")
    # Duplicate keys: every row after the first with the same key.
    keys = ", ".join(layout.key)
    on = " AND ".join(f"d.{k} = s.{k}" for k in layout.key)
    sql = (
        f"SELECT s.rn, d.first, {', '.join('s.' + k for k in layout.key)} FROM {table} s "
        f"JOIN (SELECT {keys}, MIN(rn) AS first FROM {table} GROUP BY {keys} HAVING COUNT(*) > 1) d ON {on} "
        f"WHERE s.rn > d.first ORDER BY s.rn"
    )
    for rn, first, *values in _limited(db, sql, errors):
        shown = separator.join(f"{k}={_shown(v)}" for k, v in zip(layout.key, values, strict=True))
        errors.add(spec.name, rn, layout.key[0], _("与第 %(row)s 行重复（%(key)s）") % {"row": first, "key": shown})
    # References.
    for ref in layout.refs:
        target = ref.target
        if target.file in broken:
            continue  # its rows are unknown: stay silent rather than echo its error
        source = PREFIX + (ref.stage or layout.stage)
        column = "resource_ref" if ref.stage else ref.column
        in_file = ""
        if target.file in staged:
            in_file = f"AND NOT EXISTS (SELECT 1 FROM {PREFIX}{target.stage} t WHERE t.{target.key} = s.{column}) "
        sql = (
            f"SELECT s.rn, s.{column} FROM {source} s WHERE s.{column} IS NOT NULL AND s.{column} <> '' "
            f"{in_file}AND NOT EXISTS (SELECT 1 FROM {target.table} r WHERE r.{target.column} = s.{column}) "
            f"ORDER BY s.rn"
        )
        for rn, value in _limited(db, sql, errors):
            if target.place:
                message = _("%(what)s %(code)s 不存在（系统中没有，本次导入的 places.csv 中也没有）") % {
                    "what": ref.what(),
                    "code": value,
                }
            else:
                message = _("%(what)s %(ref)s 不存在（系统中没有，本次导入的 %(source)s 中也没有）") % {
                    "what": ref.what(),
                    "ref": value,
                    "source": target.file,
                }
            errors.add(spec.name, rn, ref.column, message)
    if spec.name == "memberships.csv":
        _check_one_current(db, spec.name, errors)


def _limited(db: Db, sql: str, errors: Errors) -> list[tuple[Any, ...]]:
    """The problem rows of a check while there is room for them; the others are only counted (into errors.total)."""
    room = errors.limit - len(errors.kept)
    found = db.rows(f"{sql} LIMIT {room}") if room > 0 else []
    if len(found) == room:
        (n,) = db.rows(f"SELECT COUNT(*) FROM ({sql.rsplit(' ORDER BY ', 1)[0]}) q")[0]
        errors.total += n - room
    return found


def _shown(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _check_one_current(db: Db, name: str, errors: Errors) -> None:
    """At most one current (no ``left_on``) membership per person and organisation, counting what is stored."""
    s = PREFIX + "memberships"
    sql = f"""
        WITH cur AS (
            SELECT s.rn, s.organization_ref AS o, s.resident_ref AS r FROM {s} s
            WHERE s.left_on IS NULL AND NOT EXISTS (
                SELECT 1 FROM {s} d WHERE d.organization_ref = s.organization_ref AND d.resident_ref = s.resident_ref
                AND d.joined_on = s.joined_on AND d.rn < s.rn)
        ), stored AS (
            SELECT o.ref AS o, p.ref AS r, MIN(m.joined_on) AS joined
            FROM organizations_membership m
            JOIN organizations_organization o ON o.id = m.organization_id
            JOIN people_resident p ON p.id = m.resident_id
            WHERE m.left_on IS NULL
              AND EXISTS (SELECT 1 FROM {s} x WHERE x.organization_ref = o.ref AND x.resident_ref = p.ref)
              AND NOT EXISTS (SELECT 1 FROM {s} x WHERE x.organization_ref = o.ref AND x.resident_ref = p.ref
                              AND x.joined_on = m.joined_on)
            GROUP BY o.ref, p.ref
        ), firsts AS (SELECT o, r, MIN(rn) AS first FROM cur GROUP BY o, r)
        SELECT c.rn, c.o, c.r, st.joined, f.first FROM cur c
        JOIN firsts f ON f.o = c.o AND f.r = c.r
        LEFT JOIN stored st ON st.o = c.o AND st.r = c.r
        WHERE st.joined IS NOT NULL OR c.rn > f.first
        ORDER BY c.rn
    """
    for rn, org_ref, resident_ref, joined, first in _limited(db, sql, errors):
        if joined is not None:
            if isinstance(joined, str):
                joined = datetime.date.fromisoformat(joined)
            message = _(
                "居民 %(resident)s 在组织 %(org)s 已有一段未退出的成员记录（%(joined)s 加入），需先填写其退出日期"
            ) % {"resident": resident_ref, "org": org_ref, "joined": joined}
        else:
            message = _("与第 %(row)s 行同时未退出：同一居民在同一组织只能有一段当前成员记录") % {"row": first}
        errors.add(name, rn, "left_on", message)


# --- merges --------------------------------------------------------------------------------------------------------
# Each merge: UPDATE the stored rows whose values differ, then INSERT the missing ones; counts from the row counts.


@contextlib.contextmanager
def _loading(db: Db, table: str, rows: int) -> Iterator[bool]:
    """Around a large INSERT on PostgreSQL: drop the table's secondary indexes and foreign keys, re-create them after.

    PostgreSQL's own advice for loading many rows ("Populating a Database"): building an index once is much faster
    than growing it row by row, and re-adding a foreign key checks every row with one query instead of one deferred
    trigger per row. Indexes and constraints that a foreign key of another table relies on stay (e.g. the primary key
    of residents); the others are rebuilt, unique ones and the primary key of an unreferenced table (attendance)
    included: what is new was decided by the INSERT's own anti-join, and rebuilding checks uniqueness again. The definitions are read from the catalogue
    and re-created exactly (same names), in the same transaction: a failure rolls the drop back too. The table is
    locked for the rest of the import (ACCESS EXCLUSIVE) — acceptable for a bulk load. Only when the file has at least
    ``db.rebuild_above`` rows and more than the table holds (so a re-import of the same rows rebuilds nothing).
    """
    if not db.pg or rows < db.rebuild_above:
        yield False
        return
    ((stored,),) = db.rows("SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [table])
    if rows <= stored:
        yield False
        return
    # Every index but those a foreign key (of another table) relies on — so the primary key too when nothing refers
    # to the table; an index that backs a constraint (primary key, unique) is dropped and re-added as that constraint.
    indexes = db.rows(
        """SELECT c.relname, pg_get_indexdef(c.oid), k.conname, pg_get_constraintdef(k.oid)
        FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
        LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = x.indexrelid)
        ORDER BY c.relname""",
        [table],
    )
    foreign = db.rows(
        """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname""",
        [table],
    )
    # Pending deferred checks (of the rows this import wrote so far) block ALTER TABLE: run them now.
    db.run("SET CONSTRAINTS ALL IMMEDIATE")
    db.run("SET CONSTRAINTS ALL DEFERRED")
    for name, _definition in foreign:
        db.run(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition, constraint, _constraint_definition in indexes:
        if constraint:
            db.run(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
        else:
            db.run(f'DROP INDEX "{name}"')
    with db.clock(f"insert {table}"):
        yield True
    db.run("SET LOCAL maintenance_work_mem = '512MB'")
    with db.clock(f"indexes {table}"):
        for _name, definition, constraint, constraint_definition in indexes:
            if constraint:
                db.run(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {constraint_definition}')
            else:
                db.run(definition)
    with db.clock(f"foreign keys {table}"):
        for name, definition in foreign:
            db.run(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _insert(db: Db, table: str, rows: int, sql: str | Callable[[bool], str], params: Sequence[Any]) -> int:
    """Run an INSERT (its SQL may depend on whether the table's indexes are being rebuilt)."""
    with _loading(db, table, rows) as rebuilding:
        return db.run(sql(rebuilding) if callable(sql) else sql, params)


def _counts(staged: int, created: int, updated: int) -> WriteCounts:
    return WriteCounts(created=created, updated=updated, unchanged=staged - created - updated)


def _merge_places(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "places"
    updated = db.run(
        f"""UPDATE places_place AS t SET name = s.name, level = s.level, parent_id = NULLIF(s.parent_code, ''),
            updated_at = %s
        FROM {s} s WHERE t.code = s.code
          AND (t.name <> s.name OR t.level <> s.level OR t.parent_id IS DISTINCT FROM NULLIF(s.parent_code, ''))""",
        [db.now],
    )
    created = db.run(
        f"""INSERT INTO places_place (code, name, level, parent_id, created_at, updated_at)
        SELECT s.code, s.name, s.level, NULLIF(s.parent_code, ''), %s, %s FROM {s} s
        WHERE NOT EXISTS (SELECT 1 FROM places_place t WHERE t.code = s.code)""",
        [db.now, db.now],
    )
    return _counts(staged, created, updated)


def _merge_population(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "population"
    updated = db.run(
        f"""UPDATE places_population AS t SET population = s.population
        FROM {s} s WHERE t.place_id = s.community_code AND t.year = s.year AND t.population <> s.population"""
    )
    created = db.run(
        f"""INSERT INTO places_population (place_id, year, population)
        SELECT s.community_code, s.year, s.population FROM {s} s
        WHERE NOT EXISTS (SELECT 1 FROM places_population t WHERE t.place_id = s.community_code AND t.year = s.year)"""
    )
    return _counts(staged, created, updated)


def _merge_residents(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "residents"
    updated = db.run(
        f"""UPDATE people_resident AS t SET community_id = s.community_code, registered_on = s.registered_on,
            left_on = s.left_on, gender = s.gender, birth_year = s.birth_year, household = s.household,
            name = COALESCE(s.name, t.name), phone = COALESCE(s.phone, t.phone), updated_at = %s
        FROM {s} s WHERE t.ref = s.ref AND (
            t.community_id <> s.community_code OR t.registered_on <> s.registered_on
            OR t.left_on IS DISTINCT FROM s.left_on OR t.gender <> s.gender
            OR t.birth_year IS DISTINCT FROM s.birth_year OR t.household <> s.household
            OR (s.name IS NOT NULL AND t.name <> s.name) OR (s.phone IS NOT NULL AND t.phone <> s.phone))""",
        [db.now],
    )
    created = _insert(
        db,
        "people_resident",
        staged,
        f"""INSERT INTO people_resident (id, created_at, updated_at, ref, user_id, name, phone, community_id,
            registered_on, left_on, gender, birth_year, household, id_number_encrypted, id_number_hash,
            id_number_masked, erased_at)
        SELECT {db.uuid}, %s, %s, s.ref, NULL, COALESCE(s.name, ''), COALESCE(s.phone, ''), s.community_code,
            s.registered_on, s.left_on, s.gender, s.birth_year, s.household, '', '', '', NULL
        FROM {s} s WHERE NOT EXISTS (SELECT 1 FROM people_resident t WHERE t.ref = s.ref)""",
        [db.now, db.now],
    )
    return _counts(staged, created, updated)


ORG_STATUS = """CASE WHEN s.dissolved_on IS NOT NULL THEN 'dissolved'
    WHEN t.status = 'dissolved' OR t.status = '' THEN 'active' ELSE t.status END"""


def _merge_organizations(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "organizations"
    # The stage history first (it reads the stored stage).
    db.run(
        f"""INSERT INTO organizations_stagechange (id, created_at, updated_at, organization_id, from_stage, to_stage,
            changed_on, reason, evidence, decided_by_id)
        SELECT {db.uuid}, %s, %s, t.id, t.stage, s.stage, %s, %s, '', NULL
        FROM {s} s JOIN organizations_organization t ON t.ref = s.ref WHERE t.stage <> s.stage""",
        [db.now, db.now, db.cell("date", db.today), _("数据导入")],
    )
    updated = db.run(
        f"""UPDATE organizations_organization AS t SET name = s.name, place_id = s.place_code, kind = s.kind,
            stage = s.stage, status = {ORG_STATUS}, founded_on = s.founded_on, dissolved_on = s.dissolved_on,
            updated_at = %s
        FROM {s} s WHERE t.ref = s.ref AND (
            t.name <> s.name OR t.place_id <> s.place_code OR t.kind <> s.kind OR t.stage <> s.stage
            OR t.status <> ({ORG_STATUS}) OR t.founded_on IS DISTINCT FROM s.founded_on
            OR t.dissolved_on IS DISTINCT FROM s.dissolved_on)""",
        [db.now],
    )
    created = db.run(
        f"""INSERT INTO organizations_organization (id, created_at, updated_at, ref, name, kind, place_id, theme,
            charter, founded_on, dissolved_on, stage, status, proposed_by_id, review_note)
        SELECT {db.uuid}, %s, %s, s.ref, s.name, s.kind, s.place_code, '', '', s.founded_on, s.dissolved_on, s.stage,
            CASE WHEN s.dissolved_on IS NOT NULL THEN 'dissolved' ELSE 'active' END, NULL, ''
        FROM {s} s WHERE NOT EXISTS (SELECT 1 FROM organizations_organization t WHERE t.ref = s.ref)""",
        [db.now, db.now],
    )
    return _counts(staged, created, updated)


def _merge_memberships(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "memberships"
    mapped = f"""SELECT o.id AS oid, p.id AS pid, s.role, s.joined_on, s.left_on FROM {s} s
        JOIN organizations_organization o ON o.ref = s.organization_ref
        JOIN people_resident p ON p.ref = s.resident_ref"""
    # Updates first: a spell closed by this file frees the "one current membership" slot for a new one.
    updated = db.run(
        f"""UPDATE organizations_membership AS t SET role = x.role, left_on = x.left_on, updated_at = %s
        FROM ({mapped}) x WHERE t.organization_id = x.oid AND t.resident_id = x.pid AND t.joined_on = x.joined_on
          AND (t.role <> x.role OR t.left_on IS DISTINCT FROM x.left_on)""",
        [db.now],
    )
    created = _insert(
        db,
        "organizations_membership",
        staged,
        f"""INSERT INTO organizations_membership (id, created_at, updated_at, organization_id, resident_id, role,
            joined_on, left_on)
        SELECT {db.uuid}, %s, %s, x.oid, x.pid, x.role, x.joined_on, x.left_on FROM ({mapped}) x
        WHERE NOT EXISTS (SELECT 1 FROM organizations_membership t WHERE t.organization_id = x.oid
                          AND t.resident_id = x.pid AND t.joined_on = x.joined_on)""",
        [db.now, db.now],
    )
    return _counts(staged, created, updated)


def _merge_providers(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "providers"
    updated = db.run(
        f"""UPDATE resources_provider AS t SET name = s.name, kind = s.kind, updated_at = %s
        FROM {s} s WHERE t.ref = s.ref AND (t.name <> s.name OR t.kind <> s.kind)""",
        [db.now],
    )
    created = db.run(
        f"""INSERT INTO resources_provider (id, created_at, updated_at, ref, name, kind, place_id, description,
            contact_name, contact_phone, active)
        SELECT {db.uuid}, %s, %s, s.ref, s.name, s.kind, NULL, '', '', '', %s FROM {s} s
        WHERE NOT EXISTS (SELECT 1 FROM resources_provider t WHERE t.ref = s.ref)""",
        [db.now, db.now, True],
    )
    return _counts(staged, created, updated)


def _merge_resources(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "resources"
    mapped = f"SELECT s.ref, p.id AS pid, s.kind, s.name FROM {s} s JOIN resources_provider p ON p.ref = s.provider_ref"
    updated = db.run(
        f"""UPDATE resources_resource AS t SET provider_id = x.pid, kind = x.kind, name = x.name, updated_at = %s
        FROM ({mapped}) x WHERE t.ref = x.ref AND (t.provider_id <> x.pid OR t.kind <> x.kind OR t.name <> x.name)""",
        [db.now],
    )
    created = db.run(
        f"""INSERT INTO resources_resource (id, created_at, updated_at, ref, provider_id, kind, name, description,
            available_from, available_until, availability, terms, capacity, active)
        SELECT {db.uuid}, %s, %s, x.ref, x.pid, x.kind, x.name, '', NULL, NULL, '', '', NULL, %s FROM ({mapped}) x
        WHERE NOT EXISTS (SELECT 1 FROM resources_resource t WHERE t.ref = x.ref)""",
        [db.now, db.now, True],
    )
    return _counts(staged, created, updated)


def _title(template: str) -> tuple[str, str]:
    """The text before and after the ref in a translated "… %(ref)s …" default title."""
    marker = "\x00"
    before, _sep, after = (template % {"ref": marker}).partition(marker)
    return before, after


def _merge_needs(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "needs"
    mapped = f"""SELECT s.ref, s.community_code, s.direction, s.resource_kind, s.raised_on, s.status,
            s.fulfilled_on, r.id AS rid, s.title
        FROM {s} s LEFT JOIN resources_resource r ON r.ref = s.resource_ref"""
    updated = db.run(
        f"""UPDATE resources_need AS t SET community_id = x.community_code, direction = x.direction,
            resource_kind = x.resource_kind, raised_on = x.raised_on, status = x.status, fulfilled_on = x.fulfilled_on,
            resource_id = x.rid, title = COALESCE(x.title, t.title), updated_at = %s
        FROM ({mapped}) x WHERE t.ref = x.ref AND (
            t.community_id <> x.community_code OR t.direction <> x.direction OR t.resource_kind <> x.resource_kind
            OR t.raised_on <> x.raised_on OR t.status <> x.status OR t.fulfilled_on IS DISTINCT FROM x.fulfilled_on
            OR t.resource_id IS DISTINCT FROM x.rid OR (x.title IS NOT NULL AND t.title <> x.title))""",
        [db.now],
    )
    before, after = _title(_("需求 %(ref)s"))
    created = db.run(
        f"""INSERT INTO resources_need (id, created_at, updated_at, ref, community_id, direction, resource_kind, title,
            description, preferred_time, raised_on, raised_by_id, raised_by_user_id, survey_id, status, resource_id,
            matched_on, match_reasons, fulfilled_on, cancelled_reason)
        SELECT {db.uuid}, %s, %s, x.ref, x.community_code, x.direction, x.resource_kind,
            COALESCE(x.title, %s || x.ref || %s), '', '', x.raised_on, NULL, NULL, NULL, x.status, x.rid, NULL,
            {db.empty_json}, x.fulfilled_on, ''
        FROM ({mapped}) x WHERE NOT EXISTS (SELECT 1 FROM resources_need t WHERE t.ref = x.ref)""",
        [db.now, db.now, before, after],
    )
    return _counts(staged, created, updated)


def _merge_activities(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "activities"
    links = PREFIX + LINKS_STAGE
    changed = PREFIX + "activities_changed"
    mapped = f"""SELECT s.ref, s.place_code, s.kind, s.title, s.starts_at, o.id AS oid,
            CASE WHEN substr(s.place_code, 10, 3) = '000' THEN 'centralised' ELSE 'local' END AS mode
        FROM {s} s LEFT JOIN organizations_organization o ON o.ref = s.organization_ref"""
    wanted = f"""SELECT t.id AS aid, r.id AS rid FROM {links} l
        JOIN activities_activity t ON t.ref = l.activity_ref JOIN resources_resource r ON r.ref = l.resource_ref"""
    through = "activities_activity_resources"
    # The stored activities of this file whose fields or resource set differ.
    db.create_stage("activities_changed", [("id", "uuid")])
    db.run(
        f"""INSERT INTO {changed} (rn, id)
        SELECT 0, t.id FROM ({mapped}) x JOIN activities_activity t ON t.ref = x.ref
        WHERE t.place_id <> x.place_code OR t.kind <> x.kind OR t.title <> x.title OR t.starts_at <> x.starts_at
           OR t.organization_id IS DISTINCT FROM x.oid
        UNION
        SELECT 0, l.activity_id FROM {through} l JOIN activities_activity t ON t.id = l.activity_id
        JOIN {s} s ON s.ref = t.ref
        WHERE NOT EXISTS (SELECT 1 FROM ({wanted}) w WHERE w.aid = l.activity_id AND w.rid = l.resource_id)
        UNION
        SELECT 0, w.aid FROM ({wanted}) w
        WHERE NOT EXISTS (SELECT 1 FROM {through} l WHERE l.activity_id = w.aid AND l.resource_id = w.rid)"""
    )
    updated = db.run(
        f"""UPDATE activities_activity AS t SET place_id = x.place_code, kind = x.kind, title = x.title,
            starts_at = x.starts_at, organization_id = x.oid,
            mode = CASE WHEN t.place_id <> x.place_code THEN x.mode ELSE t.mode END, updated_at = %s
        FROM ({mapped}) x WHERE t.ref = x.ref AND t.id IN (SELECT id FROM {changed})""",
        [db.now],
    )
    db.run(
        f"""DELETE FROM {through} WHERE activity_id IN (SELECT id FROM {changed})
        AND NOT EXISTS (SELECT 1 FROM ({wanted}) w WHERE w.aid = {through}.activity_id
                        AND w.rid = {through}.resource_id)"""
    )
    created = _insert(
        db,
        "activities_activity",
        staged,
        f"""INSERT INTO activities_activity (id, created_at, updated_at, ref, place_id, kind, title, starts_at,
            ends_at, venue, organization_id, capacity, space_id, booking_id, signup_open, mode, description,
            created_by_id)
        SELECT {db.uuid}, %s, %s, x.ref, x.place_code, x.kind, x.title, x.starts_at, NULL, '', x.oid, NULL, NULL,
            NULL, %s, x.mode, '', NULL
        FROM ({mapped}) x WHERE NOT EXISTS (SELECT 1 FROM activities_activity t WHERE t.ref = x.ref)""",
        [db.now, db.now, False],
    )
    db.run(
        f"""INSERT INTO {through} (activity_id, resource_id)
        SELECT DISTINCT w.aid, w.rid FROM ({wanted}) w
        WHERE NOT EXISTS (SELECT 1 FROM {through} l WHERE l.activity_id = w.aid AND l.resource_id = w.rid)"""
    )
    return _counts(staged, created, updated)


def _merge_attendance(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "attendance"
    mapped = f"""SELECT a.id AS aid, p.id AS pid, s.status, s.hours FROM {s} s
        JOIN activities_activity a ON a.ref = s.activity_ref JOIN people_resident p ON p.ref = s.resident_ref"""
    updated = db.run(
        f"""UPDATE activities_attendance AS t SET status = x.status, hours = x.hours, source = 'import',
            recorded_by_id = NULL, updated_at = %s
        FROM ({mapped}) x WHERE t.activity_id = x.aid AND t.resident_id = x.pid
          AND (t.status <> x.status OR t.hours IS DISTINCT FROM x.hours)""",
        [db.now],
    )
    created = _insert(
        db,
        "activities_attendance",
        staged,
        # In key order, the primary key index grows at its end (unless it is being rebuilt anyway).
        lambda rebuilding: (
            f"""INSERT INTO activities_attendance (id, created_at, updated_at, activity_id, resident_id,
            status, source, recorded_by_id, hours)
        SELECT q.* FROM (
            SELECT {db.uuid} AS nid, %s, %s, x.aid, x.pid, x.status, 'import', {db.null_uuid}, x.hours
            FROM ({mapped}) x
            WHERE NOT EXISTS (SELECT 1 FROM activities_attendance t WHERE t.activity_id = x.aid
                              AND t.resident_id = x.pid)
        ) q {"" if rebuilding else "ORDER BY q.nid"}"""
        ),
        [db.now, db.now],
    )
    return _counts(staged, created, updated)


def _merge_issues(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "issues"
    reason = _("数据导入")
    mapped = f"""SELECT s.ref, s.community_code, p.id AS pid, s.raised_on, s.status, s.discussed_on, s.decided_on,
            s.implemented_on, s.closed_on, s.title
        FROM {s} s LEFT JOIN people_resident p ON p.ref = s.raised_by"""
    db.run(
        f"""INSERT INTO deliberation_issuestatuschange (id, created_at, updated_at, issue_id, from_status, to_status,
            changed_by_id, reason)
        SELECT {db.uuid}, %s, %s, t.id, t.status, s.status, NULL, %s
        FROM {s} s JOIN deliberation_issue t ON t.ref = s.ref WHERE t.status <> s.status""",
        [db.now, db.now, reason],
    )
    updated = db.run(
        f"""UPDATE deliberation_issue AS t SET community_id = x.community_code, raised_by_id = x.pid,
            raised_on = x.raised_on, status = x.status, discussed_on = x.discussed_on, decided_on = x.decided_on,
            implemented_on = x.implemented_on, closed_on = x.closed_on, title = COALESCE(x.title, t.title),
            updated_at = %s
        FROM ({mapped}) x WHERE t.ref = x.ref AND (
            t.community_id <> x.community_code OR t.raised_by_id IS DISTINCT FROM x.pid OR t.raised_on <> x.raised_on
            OR t.status <> x.status OR t.discussed_on IS DISTINCT FROM x.discussed_on
            OR t.decided_on IS DISTINCT FROM x.decided_on OR t.implemented_on IS DISTINCT FROM x.implemented_on
            OR t.closed_on IS DISTINCT FROM x.closed_on OR (x.title IS NOT NULL AND t.title <> x.title))""",
        [db.now],
    )
    db.create_stage("issues_new", [("ref", "text")])
    db.run(
        f"""INSERT INTO {PREFIX}issues_new (rn, ref) SELECT s.rn, s.ref FROM {s} s
        WHERE NOT EXISTS (SELECT 1 FROM deliberation_issue t WHERE t.ref = s.ref)"""
    )
    before, after = _title(_("议题 %(ref)s"))
    created = db.run(
        f"""INSERT INTO deliberation_issue (id, created_at, updated_at, ref, community_id, title, description,
            category, raised_by_id, raised_by_user_id, raised_on, status, discussed_on, decided_on, implemented_on,
            closed_on, rejected_reason)
        SELECT {db.uuid}, %s, %s, x.ref, x.community_code, COALESCE(x.title, %s || x.ref || %s), '', 'other', x.pid,
            NULL, x.raised_on, x.status, x.discussed_on, x.decided_on, x.implemented_on, x.closed_on, ''
        FROM ({mapped}) x WHERE x.ref IN (SELECT ref FROM {PREFIX}issues_new)""",
        [db.now, db.now, before, after],
    )
    db.run(
        f"""INSERT INTO deliberation_issuestatuschange (id, created_at, updated_at, issue_id, from_status, to_status,
            changed_by_id, reason)
        SELECT {db.uuid}, %s, %s, t.id, '', t.status, NULL, %s
        FROM deliberation_issue t WHERE t.ref IN (SELECT ref FROM {PREFIX}issues_new)""",
        [db.now, db.now, reason],
    )
    return _counts(staged, created, updated)


def _merge_issue_actions(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "issue_actions"
    created = _insert(
        db,
        "deliberation_issueaction",
        staged,
        f"""INSERT INTO deliberation_issueaction (id, created_at, updated_at, issue_id, resident_id, action, at)
        SELECT {db.uuid}, %s, %s, x.iid, x.pid, x.action, x.at FROM (
            SELECT i.id AS iid, p.id AS pid, s.action, s.at FROM {s} s
            JOIN deliberation_issue i ON i.ref = s.issue_ref JOIN people_resident p ON p.ref = s.resident_ref) x
        WHERE NOT EXISTS (SELECT 1 FROM deliberation_issueaction t WHERE t.issue_id = x.iid
                          AND t.resident_id = x.pid AND t.action = x.action AND t.at = x.at)""",
        [db.now, db.now],
    )
    return _counts(staged, created, 0)


def _merge_survey_answers(db: Db, staged: int) -> WriteCounts:
    s = PREFIX + "survey_answers"
    mapped = f"""SELECT p.id AS pid, s.community_code, s.answered_on, s.item, s.value FROM {s} s
        JOIN people_resident p ON p.ref = s.resident_ref"""
    updated = db.run(
        f"""UPDATE analytics_surveyanswer AS t SET value = x.value, community_id = x.community_code, updated_at = %s
        FROM ({mapped}) x WHERE t.resident_id = x.pid AND t.answered_on = x.answered_on AND t.item = x.item
          AND (t.value <> x.value OR t.community_id <> x.community_code)""",
        [db.now],
    )
    created = _insert(
        db,
        "analytics_surveyanswer",
        staged,
        f"""INSERT INTO analytics_surveyanswer (id, created_at, updated_at, survey_id, resident_id, community_id,
            answered_on, item, value)
        SELECT {db.uuid}, %s, %s, NULL, x.pid, x.community_code, x.answered_on, x.item, x.value FROM ({mapped}) x
        WHERE NOT EXISTS (SELECT 1 FROM analytics_surveyanswer t WHERE t.resident_id = x.pid
                          AND t.answered_on = x.answered_on AND t.item = x.item)""",
        [db.now, db.now],
    )
    return _counts(staged, created, updated)


MERGES: dict[str, Callable[[Db, int], WriteCounts]] = {
    "places.csv": _merge_places,
    "population.csv": _merge_population,
    "residents.csv": _merge_residents,
    "organizations.csv": _merge_organizations,
    "memberships.csv": _merge_memberships,
    "providers.csv": _merge_providers,
    "resources.csv": _merge_resources,
    "activities.csv": _merge_activities,
    "attendance.csv": _merge_attendance,
    "issues.csv": _merge_issues,
    "issue_actions.csv": _merge_issue_actions,
    "needs.csv": _merge_needs,
    "survey_answers.csv": _merge_survey_answers,
}


def supported(names: Iterable[str]) -> bool:
    """Whether the bulk path knows every one of these interchange files."""
    return all(name in LAYOUTS for name in names)
