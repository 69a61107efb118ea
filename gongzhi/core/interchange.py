"""The base of the interchange format (METHOD.md "Interchange format"): one ``FileSpec`` per file, and their registry.

Each app declares the files it owns in its own ``<app>/interchange.py`` and registers them here; the interchange app
imports those modules at start-up and drives them (read → parse every row → cross-check → write in one transaction).
This module lives in ``core`` so that every app can declare its files while depending only downward.

A spec describes one file:

- ``name`` ("places.csv"), ``title`` (for people, translatable), ``order`` (places before population before residents …);
- ``columns``: the ordered columns; a column is *required* when the header must contain it, *exported* when export
  writes it (personal data such as names is accepted on import but never exported);
- ``key``: the column(s) that identify a row; a row whose key exists is updated, else created;
- ``parse_row(cells)``: one row's cells → a typed row, reporting problems per column through ``cells.error``;
- ``validate(rows, context)``: checks across rows, across files and against the database, in bulk;
- ``write(rows, context)``: bulk create/update, returning the counts; ``export(place_code=…)``: the rows to write out.

Typed rows are plain objects whose attributes are named after the columns (so keys can be read generically).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

RowT = TypeVar("RowT")
T = TypeVar("T")

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INT_RE = re.compile(r"^[+-]?\d+$")
LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Column:
    """A column of an interchange file."""

    name: str
    required: bool = True  # the header must contain it
    exported: bool = True  # export writes it (False: accepted on import only, e.g. personal data)


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem, located as the spreadsheet user sees it: the header is row 1, the first data row is row 2.

    ``row`` is None for a problem with the whole file (its encoding, its header); ``column`` is None when no single
    column is at fault.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where = _("%(file)s 第 %(row)s 行") % {"file": where, "row": self.row}
        if self.column:
            where += f" {self.column}"
        return _("%(where)s：%(message)s") % {"where": where, "message": self.message}

    def english(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"

    def sort_key(self, columns: Sequence[str] = ()) -> tuple[int, int]:
        col = columns.index(self.column) if self.column in columns else len(columns)
        return (self.row or 0, col)


class Cells:
    """One row's cells by column name, with typed readers that collect an error message per column.

    A reader returns a usable empty value (``""`` or ``None``) when the cell is empty or wrong, so a parser can read
    every column and report every problem of the row at once. Columns absent from the header read as empty.
    """

    __slots__ = ("_raw", "errors")

    def __init__(self, raw: Mapping[str, str]):
        self._raw = raw
        self.errors: dict[str, str] = {}

    def has(self, column: str) -> bool:
        """Whether the file has this column (an optional column may be absent from the header)."""
        return column in self._raw

    def raw(self, column: str) -> str:
        return self._raw.get(column, "")

    def error(self, column: str, message: str) -> None:
        """Record a problem with a column (the first problem of a column is kept)."""
        self.errors.setdefault(column, message)

    @property
    def ok(self) -> bool:
        return not self.errors

    def _missing(self, column: str, required: bool) -> bool:
        if self.raw(column) == "":
            if required:
                self.error(column, _("必填，不能为空"))
            return True
        return False

    def text(self, column: str, *, required: bool = False, max_length: int | None = None) -> str:
        value = self.raw(column)
        if self._missing(column, required):
            return ""
        if max_length is not None and len(value) > max_length:
            self.error(
                column, _("不能超过 %(max)s 个字符（现为 %(length)s 个）") % {"max": max_length, "length": len(value)}
            )
            return ""
        return value

    def integer(
        self, column: str, *, required: bool = False, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self.raw(column)
        if self._missing(column, required):
            return None
        if not INT_RE.match(value):
            self.error(column, _("应为整数，而不是“%(value)s”") % {"value": value})
            return None
        number = int(value)
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            low = "" if minimum is None else str(minimum)
            high = "" if maximum is None else str(maximum)
            if minimum is not None and maximum is not None:
                self.error(
                    column,
                    _("应在 %(low)s 到 %(high)s 之间（现为 %(number)s）")
                    % {"low": low, "high": high, "number": number},
                )
            elif minimum is not None:
                self.error(column, _("不能小于 %(low)s（现为 %(number)s）") % {"low": low, "number": number})
            else:
                self.error(column, _("不能大于 %(high)s（现为 %(number)s）") % {"high": high, "number": number})
            return None
        return number

    def decimal(self, column: str, *, required: bool = False, minimum: Decimal | None = None) -> Decimal | None:
        value = self.raw(column)
        if self._missing(column, required):
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.error(column, _("应为数字，而不是“%(value)s”") % {"value": value})
            return None
        if not number.is_finite():
            self.error(column, _("应为数字，而不是“%(value)s”") % {"value": value})
            return None
        if minimum is not None and number < minimum:
            self.error(column, _("不能小于 %(low)s（现为 %(number)s）") % {"low": minimum, "number": number})
            return None
        return number

    def date(self, column: str, *, required: bool = False) -> datetime.date | None:
        value = self.raw(column)
        if self._missing(column, required):
            return None
        try:
            if not DATE_RE.match(value):
                raise ValueError
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.error(column, _("日期应为 YYYY-MM-DD 格式（如 2025-03-01），而不是“%(value)s”") % {"value": value})
            return None

    def datetime(self, column: str, *, required: bool = False) -> datetime.datetime | None:
        """An ISO 8601 time with an offset (``2025-03-01T19:30:00+08:00``)."""
        value = self.raw(column)
        if self._missing(column, required):
            return None
        try:
            if not DATE_RE.match(value[:10]) or len(value) <= 10:
                raise ValueError
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            self.error(
                column,
                _("时间应为 ISO 8601 格式并带时区（如 2025-03-01T19:30:00+08:00），而不是“%(value)s”")
                % {"value": value},
            )
            return None
        if moment.tzinfo is None:
            self.error(column, _("时间需带时区偏移（如 +08:00）：“%(value)s”") % {"value": value})
            return None
        return moment

    def choice(self, column: str, choices: Mapping[str, StrOrPromise], *, required: bool = False) -> str:
        """One of ``choices`` (value → label); the message lists them."""
        value = self.raw(column)
        if self._missing(column, required):
            return ""
        if value not in choices:
            allowed = pgettext("list separator", "、").join(
                _("%(value)s（%(label)s）") % {"value": k, "label": v} for k, v in choices.items()
            )
            self.error(column, _("应为 %(allowed)s 之一，而不是“%(value)s”") % {"allowed": allowed, "value": value})
            return ""
        return value

    def items(self, column: str) -> list[str]:
        """A list cell: values separated by ``;`` (empty items dropped)."""
        return [v.strip() for v in self.raw(column).split(LIST_SEPARATOR) if v.strip()]


@dataclass(slots=True)
class ParsedRow(Generic[RowT]):
    number: int  # the spreadsheet row number
    value: RowT


@dataclass
class WriteCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def __iadd__(self, other: WriteCounts) -> WriteCounts:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


class ProgressBar(Protocol):
    """What import and export report progress to (a ``tqdm`` bar fits)."""

    def update(self, n: int = 1) -> Any: ...

    def close(self) -> Any: ...


ProgressFactory = Callable[[str, int | None], ProgressBar]


class ImportContext:
    """What specs see while checking: every file's parsed rows, the errors so far, and which files are unusable.

    Cross-file checks must tolerate a *broken* file (one whose header or encoding failed, so its rows are unknown):
    ``trusts(name)`` is False for it, and a check that depends on it should then stay silent rather than report
    errors that are only echoes of the first one.
    """

    def __init__(self) -> None:
        self.rows: dict[str, list[ParsedRow[Any]]] = {}
        self.present: set[str] = set()
        self.broken: set[str] = set()
        self.errors: list[RowError] = []
        self.shared: dict[str, Any] = {}  # lookups one spec computes and another reuses

    def error(self, file: str, row: int | None, column: str | None, message: str) -> None:
        self.errors.append(RowError(file, row, column, message))

    def values(self, file: str) -> list[Any]:
        return [r.value for r in self.rows.get(file, [])]

    def trusts(self, file: str) -> bool:
        return file not in self.broken


@dataclass
class WriteContext:
    actor: Any = None
    now: datetime.datetime = field(default_factory=timezone.now)
    progress: ProgressBar | None = None
    shared: dict[str, Any] = field(default_factory=dict)

    def advance(self, n: int) -> None:
        if self.progress is not None:
            self.progress.update(n)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def cell(value: Any) -> str:
    """A value as an interchange cell: empty for None, ISO 8601 dates and times (local offset), ``;`` for lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(cell(v) for v in value)
    return str(value)


class FileSpec(Generic[RowT]):
    """One interchange file. Subclasses set the class attributes and implement parse_row, write and export."""

    name: ClassVar[str]
    title: ClassVar[StrOrPromise]
    order: ClassVar[int]
    columns: ClassVar[tuple[Column, ...]]
    key: ClassVar[tuple[str, ...]]
    batch_size: ClassVar[int] = 2000

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def export_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.exported]

    def key_of(self, row: RowT) -> tuple[Any, ...]:
        return tuple(getattr(row, k) for k in self.key)

    def parse_row(self, cells: Cells) -> RowT | None:
        """A typed row, or None when ``cells.errors`` holds the problems (a row with errors is never written)."""
        raise NotImplementedError

    def validate(self, rows: list[ParsedRow[RowT]], context: ImportContext) -> None:
        """Checks across rows and files and against the database (in bulk, not per row); report via context.error."""

    def write(self, rows: list[RowT], context: WriteContext) -> WriteCounts:
        """Create new rows, update changed ones, leave identical ones untouched — set-based, in batches."""
        raise NotImplementedError

    def export(self, *, place_code: str | None = None) -> Iterable[Sequence[str]]:
        """The rows (cells in ``export_columns`` order, as text), under a place when given, in key order."""
        raise NotImplementedError


_registry: dict[str, FileSpec[Any]] = {}


def register(spec: FileSpec[T]) -> FileSpec[T]:
    """Register a spec (once per file name). Returns it, so a module can write ``PLACES = register(PlacesFile())``."""
    existing = _registry.get(spec.name)
    if existing is not None and type(existing).__qualname__ != type(spec).__qualname__:
        raise ImproperlyConfigured(
            f"interchange file {spec.name} is declared twice ({type(existing).__name__}, {type(spec).__name__})"
        )
    names = spec.column_names
    if len(set(names)) != len(names) or not set(spec.key) <= set(names):
        raise ImproperlyConfigured(f"interchange file {spec.name}: duplicate columns or a key outside the columns")
    _registry[spec.name] = spec
    return spec


def specs() -> list[FileSpec[Any]]:
    """Every registered spec, in import order."""
    return sorted(_registry.values(), key=lambda s: (s.order, s.name))


def spec_for(name: str) -> FileSpec[Any] | None:
    """The spec of a file or sheet name: ``residents.csv`` or ``residents`` (case and spaces ignored)."""
    wanted = name.strip().lower()
    for spec in _registry.values():
        if wanted in (spec.name, spec.stem):
            return spec
    return None


# --- references between files ----------------------------------------------------------------------------------

REF_BATCH = 2000


def ref_ids(model: type[models.Model], refs: Iterable[str]) -> dict[str, Any]:
    """ref → primary key of the stored rows with these refs (one query per 2,000 refs)."""
    found: dict[str, Any] = {}
    for batch in chunks(sorted(set(refs)), REF_BATCH):
        found.update(model._default_manager.filter(ref__in=batch).values_list("ref", "pk"))  # type: ignore[misc]
    return found


def known_refs(
    context: ImportContext, source_file: str, model: type[models.Model], wanted: Iterable[str]
) -> set[str] | None:
    """Which of these refs exist, in this import's ``source_file`` or in the database.

    None when ``source_file`` is present but unreadable: then nothing can be said, and callers stay silent.
    """
    if not context.trusts(source_file):
        return None
    cache_key = f"refs:{source_file}"
    in_file: set[str] = context.shared.get(cache_key) or {r.ref for r in context.values(source_file)}
    context.shared[cache_key] = in_file
    wanted_set = set(wanted)
    known = wanted_set & in_file
    known.update(ref_ids(model, wanted_set - known))
    return known


def report_unknown_refs(
    context: ImportContext,
    file: str,
    uses: Sequence[tuple[int, str, str]],
    *,
    source_file: str,
    model: type[models.Model],
    what: str,
) -> None:
    """Report every (row, column, ref) that exists neither in the database nor in this import's ``source_file``."""
    known = known_refs(context, source_file, model, (ref for _row, _column, ref in uses if ref))
    if known is None:
        return
    for row, column, ref in uses:
        if ref and ref not in known:
            context.error(
                file,
                row,
                column,
                _("%(what)s %(ref)s 不存在（系统中没有，本次导入的 %(source)s 中也没有）")
                % {"what": what, "ref": ref, "source": source_file},
            )
