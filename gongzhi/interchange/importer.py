"""Import of the interchange format: everything is checked before anything is written.

1. Read every registered file found at the path (a CSV folder or an XLSX workbook) and check its header.
2. Parse every row of every file, collecting each problem as (file, row, column, message); duplicate keys are problems.
3. Run each file's cross-row, cross-file and database checks (in bulk: a query per file or per batch, never per row).
4. Any problem → ``ImportFailed`` with all of them, and nothing is written.
5. Otherwise write every file, in order, in one transaction with set-based statements, and record one audit event.

Re-importing the same rows changes nothing: rows are matched on their keys (refs, codes) and identical ones are left
untouched (their ``updated_at`` too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import DomainError
from gongzhi.core.interchange import (
    Cells,
    FileSpec,
    ImportContext,
    ParsedRow,
    ProgressBar,
    ProgressFactory,
    RowError,
    WriteContext,
    WriteCounts,
    specs,
)

from .readers import ReadError, Table, open_source

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PROGRESS_EVERY = 500


@dataclass
class FileReport:
    name: str
    title: StrOrPromise
    counts: WriteCounts

    @property
    def rows(self) -> int:
        return self.counts.total


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # files or sheets that are no known interchange file

    def counts(self) -> dict[str, WriteCounts]:
        return {f.name: f.counts for f in self.files}

    @property
    def changed(self) -> bool:
        return any(f.counts.created or f.counts.updated for f in self.files)


class ImportFailed(DomainError):
    """The import found problems and wrote nothing. ``errors`` holds every one, in file, row and column order."""

    code = "import_failed"

    def __init__(self, errors: list[RowError]):
        fields: dict[str, list[str]] = {}
        for e in errors:
            fields.setdefault(e.file, []).append(str(e)[len(e.file) :].lstrip(" ：:"))
        message = ngettext(
            "导入失败：发现 %(count)s 处错误，没有写入任何数据",
            "导入失败：发现 %(count)s 处错误，没有写入任何数据",
            len(errors),
        ) % {"count": len(errors)}
        super().__init__(message, fields=fields)
        self.errors = errors


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def import_data(
    path: str | os.PathLike[str], *, actor: Any = None, progress: ProgressFactory | None = None
) -> ImportReport:
    """Import a folder of CSV files or an ``.xlsx`` workbook. Raises ImportFailed (writing nothing) on any problem."""
    registered = specs()
    try:
        source = open_source(path, names=[s.name for s in registered])
    except ReadError as exc:
        raise ImportFailed([RowError(Path(path).name, None, None, str(exc))]) from exc

    context = ImportContext()
    with source:
        for name, message in source.errors.items():
            context.present.add(name)
            context.broken.add(name)
            context.error(name, None, None, message)
        for spec in registered:
            table = source.tables.get(spec.name)
            if table is not None:
                context.present.add(spec.name)
                _parse(spec, table, context, progress)

    if not context.present:
        expected = pgettext("list separator", "、").join(s.name for s in registered)
        message = _("没有找到可导入的文件（可导入：%(expected)s）") % {"expected": expected}
        raise ImportFailed([RowError(Path(path).name, None, None, message)])

    for spec in registered:
        if spec.name in context.rows and context.trusts(spec.name):
            spec.validate(context.rows[spec.name], context)

    if context.errors:
        raise ImportFailed(_sorted(context.errors, registered))

    report = ImportReport(ignored=list(source.ignored))
    with transaction.atomic():
        write_context = WriteContext(actor=actor)
        for spec in registered:
            if spec.name not in context.rows:
                continue
            rows = context.values(spec.name)
            bar = progress(f"写入 {spec.name}", len(rows)) if progress else None
            write_context.progress = bar
            try:
                counts = spec.write(rows, write_context)
            finally:
                if bar is not None:
                    bar.close()
            report.files.append(FileReport(spec.name, spec.title, counts))
        audit_record(
            actor=actor,
            action="import",
            target_type="interchange",
            target_id=Path(path).name[:64],
            summary="导入 "
            + "，".join(
                f"{f.name}（新增 {f.counts.created}，更新 {f.counts.updated}，未变 {f.counts.unchanged}）"
                for f in report.files
            ),
            changes={
                "files": {
                    f.name: {"created": f.counts.created, "updated": f.counts.updated, "unchanged": f.counts.unchanged}
                    for f in report.files
                }
            },
        )
    return report


def _check_header(spec: FileSpec[Any], table: Table, context: ImportContext) -> bool:
    ok = True
    seen: dict[str, int] = {}
    for index, column in enumerate(table.header, start=1):
        if column == "":
            context.error(spec.name, 1, None, _("第 %(index)s 列没有列名") % {"index": index})
            ok = False
        elif column in seen:
            context.error(
                spec.name,
                1,
                column,
                _("列名重复（第 %(first)s 列和第 %(index)s 列）") % {"first": seen[column], "index": index},
            )
            ok = False
        elif column not in spec.column_names:
            context.error(
                spec.name,
                1,
                column,
                _("未知的列“%(column)s”（%(file)s 可用的列：%(columns)s）")
                % {"column": column, "file": spec.name, "columns": ", ".join(spec.column_names)},
            )
            ok = False
        seen.setdefault(column, index)
    for column in spec.required_columns:
        if column not in seen:
            context.error(spec.name, 1, column, _("缺少必需的列“%(column)s”") % {"column": column})
            ok = False
    return ok


def _parse(spec: FileSpec[Any], table: Table, context: ImportContext, progress: ProgressFactory | None) -> None:
    """Parse every row of one file into context.rows[spec.name]; problems go to context.errors."""
    if not _check_header(spec, table, context):
        context.broken.add(spec.name)
        return
    header = table.header
    width = len(header)
    parsed: list[ParsedRow[Any]] = []
    first_with_key: dict[tuple[Any, ...], int] = {}
    bar: ProgressBar = progress(f"校验 {spec.name}", table.total) if progress else _NoBar()
    pending = 0
    try:
        for number, cells in table.rows():
            pending += 1
            if pending >= PROGRESS_EVERY:
                bar.update(pending)
                pending = 0
            if not any(cells):
                continue  # a blank line
            if len(cells) > width:
                if any(cells[width:]):
                    context.error(
                        spec.name,
                        number,
                        None,
                        _("该行有 %(cells)s 个单元格，多于表头的 %(width)s 列") % {"cells": len(cells), "width": width},
                    )
                    continue
                cells = cells[:width]
            elif len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            row_cells = Cells(dict(zip(header, cells, strict=True)))
            value = spec.parse_row(row_cells)
            for column, message in row_cells.errors.items():
                context.error(spec.name, number, column, message)
            if value is None or not row_cells.ok:
                continue
            key = spec.key_of(value)
            if key in first_with_key:
                separator = pgettext("list separator", "、")
                shown = separator.join(f"{k}={v}" for k, v in zip(spec.key, key, strict=True))
                context.error(
                    spec.name,
                    number,
                    spec.key[0],
                    _("与第 %(row)s 行重复（%(key)s）") % {"row": first_with_key[key], "key": shown},
                )
                continue
            first_with_key[key] = number
            parsed.append(ParsedRow(number, value))
    except ReadError as exc:
        context.error(spec.name, None, None, str(exc))
        context.broken.add(spec.name)
    finally:
        bar.update(pending)
        bar.close()
    context.rows[spec.name] = parsed


def _sorted(errors: list[RowError], registered: list[FileSpec[Any]]) -> list[RowError]:
    order = {s.name: (i, s.column_names) for i, s in enumerate(registered)}

    def key(e: RowError) -> tuple[int, int, int]:
        index, columns = order.get(e.file, (len(order), []))
        return (index, *e.sort_key(columns))

    return sorted(errors, key=key)
