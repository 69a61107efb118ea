"""Reading interchange tables: a folder of UTF-8 CSV files (header row, BOM tolerated) or one XLSX workbook with one
sheet per file (the sheet named ``residents.csv`` or ``residents``).

Rows stream from disk: nothing but the current row is held here. Every cell comes out as stripped text; a workbook's
numbers, dates and times are turned into the text the CSV would hold (``2025``, ``2025-03-01``,
``2025-03-01T19:30:00+08:00`` — a spreadsheet time carries no offset, so it is read as local time).
"""

from __future__ import annotations

import csv
import datetime
import os
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.interchange import spec_for

Row = tuple[int, list[str]]  # (spreadsheet row number, cells)


class ReadError(Exception):
    """A file that cannot be read at all (not UTF-8, not a workbook …); the message is for people, in the active language."""


@dataclass
class Table:
    """One file of the source: its header and a way to stream its data rows."""

    name: str  # the canonical file name, e.g. "residents.csv"
    origin: str  # where it came from, for messages
    header: list[str]
    total: int | None  # an estimate of the number of data rows, for progress bars
    _rows: Callable[[], Iterator[Row]] = field(repr=False)

    def rows(self) -> Iterator[Row]:
        """The data rows with their spreadsheet row numbers (the header is row 1). May raise ReadError."""
        return self._rows()


@dataclass
class Source(AbstractContextManager["Source"]):
    """The tables found at a path, by canonical file name; close it (or use ``with``) when done."""

    tables: dict[str, Table] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # files/sheets that are no known interchange file
    errors: dict[str, str] = field(default_factory=dict)  # file name → why it cannot be read
    _close: Callable[[], None] | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def text_of(value: Any) -> str:
    """A workbook cell value as interchange text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            if value.time() == datetime.time(0):
                return value.date().isoformat()
            value = timezone.make_aware(value)
        return timezone.localtime(value).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _clean_header(cells: list[str]) -> list[str]:
    header = [c.replace("\ufeff", "").strip() for c in cells]
    while header and header[-1] == "":
        header.pop()
    return header


def open_source(path: str | os.PathLike[str], *, names: Collection[str] | None = None) -> Source:
    """Open a folder of CSV files or an ``.xlsx`` workbook. ``names`` limits which files are looked for."""
    path = Path(path)
    if path.is_dir():
        return _open_folder(path, names)
    if path.suffix.lower() == ".xlsx" and path.is_file():
        return _open_workbook(path, names)
    if not path.exists():
        raise ReadError(_("找不到 %(path)s") % {"path": path})
    raise ReadError(_("%(path)s 既不是文件夹，也不是 .xlsx 工作簿") % {"path": path})


def _canonical(name: str, names: Collection[str] | None) -> str | None:
    spec = spec_for(name)
    if spec is None or (names is not None and spec.name not in names):
        return None
    return spec.name


# --- CSV folder -------------------------------------------------------------------------------------------------


def _open_folder(folder: Path, names: Collection[str] | None) -> Source:
    source = Source()
    for file in sorted(folder.iterdir()):
        if not file.is_file() or file.suffix.lower() != ".csv":
            continue
        name = _canonical(file.name, names)
        if name is None:
            source.ignored.append(file.name)
            continue
        if name in source.tables or name in source.errors:
            source.errors[name] = _("有两个 %(name)s（文件名大小写不同）") % {"name": name}
            source.tables.pop(name, None)
            continue
        try:
            header, total = _csv_head(file)
        except ReadError as exc:
            source.errors[name] = str(exc)
            continue
        source.tables[name] = Table(name, file.name, header, total, partial(_csv_rows, file))
    return source


def _decode_error(file: Path) -> ReadError:
    return ReadError(
        _("%(file)s 不是 UTF-8 编码的文本（用 Excel 保存时请选择“CSV UTF-8（逗号分隔）”）") % {"file": file.name}
    )


def _csv_head(file: Path) -> tuple[list[str], int]:
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            first = next(csv.reader(fh), None)
        with file.open("rb") as raw:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: raw.read(1 << 20), b""))
    except UnicodeDecodeError as exc:
        raise _decode_error(file) from exc
    except csv.Error as exc:
        raise ReadError(_("%(file)s 不是有效的 CSV：%(error)s") % {"file": file.name, "error": exc}) from exc
    if first is None or not _clean_header(first):
        raise ReadError(_("文件为空，缺少表头行"))
    return _clean_header(first), max(lines - 1, 0)


def _csv_rows(file: Path) -> Iterator[Row]:
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for number, cells in enumerate(reader, start=2):
                yield number, [c.strip() for c in cells]
    except UnicodeDecodeError as exc:
        raise _decode_error(file) from exc
    except csv.Error as exc:
        raise ReadError(_("%(file)s 不是有效的 CSV：%(error)s") % {"file": file.name, "error": exc}) from exc


# --- XLSX workbook ----------------------------------------------------------------------------------------------


def _open_workbook(path: Path, names: Collection[str] | None) -> Source:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ReadError(_("%(file)s 不是有效的 .xlsx 工作簿") % {"file": path.name}) from exc
    source = Source(_close=workbook.close)
    for sheet in workbook.worksheets:
        name = _canonical(sheet.title, names)
        if name is None:
            source.ignored.append(sheet.title)
            continue
        if name in source.tables or name in source.errors:
            source.errors[name] = _("工作簿中有两张 %(name)s 工作表") % {"name": name}
            source.tables.pop(name, None)
            continue
        first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
        header = _clean_header([text_of(v) for v in first]) if first else []
        if not header:
            source.errors[name] = _("工作表为空，缺少表头行")
            continue
        total = max((sheet.max_row or 1) - 1, 0)
        source.tables[name] = Table(name, f"{path.name}:{sheet.title}", header, total, partial(_sheet_rows, sheet))
    return source


def _sheet_rows(sheet: Any) -> Iterator[Row]:
    for number, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        yield number, [text_of(v) for v in values]
