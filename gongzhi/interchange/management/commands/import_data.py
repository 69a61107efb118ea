"""``manage.py import_data PATH``: import a folder of interchange CSV files or an XLSX workbook.

After an import that changed something, the indicators of the periods the data touches are recomputed (析 measure):
the years of the imported activities, attendance, issues and their actions, needs, population and survey answers,
and — when residents, organisations, memberships, providers, resources or places changed — every period that already
has results. They run in a background thread that the command waits for (``--compute-now``: one after the other in the
command, with progress; ``--no-compute``: not at all). ``settings.ANALYTICS_AUTO_COMPUTE = False`` turns the
automatic recompute off (``--compute-now`` still runs it).
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gongzhi.core.errors import DomainError
from gongzhi.core.interchange import chunks
from gongzhi.interchange.importer import ImportFailed, ImportReport, import_data
from gongzhi.interchange.progress import tqdm_bars
from gongzhi.interchange.readers import ReadError, open_source

MAX_SHOWN = 500

# file → the columns holding the dates (or times, or a year) of what it records
EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "activities.csv": ("starts_at",),
    "issues.csv": ("raised_on", "discussed_on", "decided_on", "implemented_on", "closed_on"),
    "issue_actions.csv": ("at",),
    "needs.csv": ("raised_on", "fulfilled_on"),
    "population.csv": ("year",),
    "survey_answers.csv": ("answered_on",),
}
STRUCTURE_FILES = frozenset(
    {"places.csv", "residents.csv", "organizations.csv", "memberships.csv", "providers.csv", "resources.csv"}
)


def print_report(command: BaseCommand, report: ImportReport) -> None:
    for f in report.files:
        c = f.counts
        command.stdout.write(
            f"{f.name}：新增 {c.created}，更新 {c.updated}，未变 {c.unchanged}"
            f"  (created {c.created}, updated {c.updated}, unchanged {c.unchanged})"
        )
    for name in report.ignored:
        command.stderr.write(f"已忽略 {name}：不是可导入的文件  (ignored {name}: not an interchange file)")


def print_errors(command: BaseCommand, exc: ImportFailed) -> None:
    for error in exc.errors[:MAX_SHOWN]:
        command.stderr.write(f"{error}    [{error.english()}]")
    total = getattr(exc, "total", len(exc.errors))  # the bulk path lists the first errors and counts them all
    if total > MAX_SHOWN:
        rest = total - min(len(exc.errors), MAX_SHOWN)
        command.stderr.write(f"…… 另有 {rest} 处错误未显示  (… {rest} more errors not shown)")


def _year(cell: str) -> int | None:
    """The (local) year of a date, a time with an offset, or a year."""
    text = cell.strip()
    try:
        if len(text) == 4:
            return int(text)
        if len(text) > 10:
            moment = datetime.datetime.fromisoformat(text)
            if moment.tzinfo is not None:
                moment = timezone.localtime(moment)
            return moment.year
        return datetime.date.fromisoformat(text).year
    except ValueError:
        return None


def touched_periods(path: str | Path, report: ImportReport) -> list[str]:
    """The periods (years) whose results the import may have changed (see the module docstring)."""
    from gongzhi.activities.models import Activity
    from gongzhi.analytics.services import computed_periods

    changed = {f.name for f in report.files if f.counts.created or f.counts.updated}
    if not changed:
        return []
    years: set[int] = set()
    activity_refs: set[str] = set()
    wanted = [n for n in (*EVENT_COLUMNS, "attendance.csv") if n in changed]
    try:
        source = open_source(path, names=wanted)
    except ReadError:
        source = None
    if source is not None:
        with source:
            for name, table in source.tables.items():
                columns = ("activity_ref",) if name == "attendance.csv" else EVENT_COLUMNS.get(name, ())
                index = [table.header.index(c) for c in columns if c in table.header]
                for _number, cells in table.rows():
                    for i in index:
                        if i < len(cells) and cells[i]:
                            if name == "attendance.csv":
                                activity_refs.add(cells[i])
                            elif (year := _year(cells[i])) is not None:
                                years.add(year)
    for batch in chunks(sorted(activity_refs), 2000):  # a big import names hundreds of thousands of activities
        for starts_at in Activity.objects.filter(ref__in=batch).values_list("starts_at", flat=True):
            years.add(timezone.localtime(starts_at).year)
    last = timezone.localdate().year + 1
    periods = {str(y) for y in years if 1949 <= y <= last}
    if changed & STRUCTURE_FILES:
        periods.update(computed_periods())
    return sorted(periods)


class Command(BaseCommand):
    help = "导入交换格式数据（CSV 文件夹或 XLSX 工作簿）；有任何错误时不写入 / Import interchange files, all or nothing"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a folder of CSV files, or an .xlsx workbook")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
        parser.add_argument(
            "--bulk",
            action="store_true",
            help="large folders: stream, check in SQL, load set-based (COPY on PostgreSQL); no id_number values",
        )
        parser.add_argument("--no-compute", action="store_true", help="do not recompute the indicators afterwards")
        parser.add_argument(
            "--compute-now", action="store_true", help="recompute the touched periods here, one after the other"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        progress = None if options["no_progress"] else tqdm_bars(getattr(self.stderr, "_out", sys.stderr))
        importer = import_data
        if options["bulk"]:
            from gongzhi.interchange.bulk import bulk_import

            importer = bulk_import
        try:
            report = importer(options["path"], progress=progress)
        except ImportFailed as exc:
            print_errors(self, exc)
            total = getattr(exc, "total", len(exc.errors))
            raise CommandError(
                f"导入失败：{total} 处错误，没有写入任何数据  (import failed: {total} errors, nothing was written)"
            ) from exc
        print_report(self, report)
        if options["no_compute"] or not report.changed:
            return
        if not (options["compute_now"] or getattr(settings, "ANALYTICS_AUTO_COMPUTE", True)):
            return
        self.recompute(touched_periods(options["path"], report), now=options["compute_now"])

    def recompute(self, periods: list[str], *, now: bool) -> None:
        from gongzhi.analytics import jobs, services

        if not periods:
            return
        self.stdout.write(f"重新计算指标：{'、'.join(periods)}  (recomputing the indicators of {', '.join(periods)})")
        if now:
            computations = []
            for period in periods:
                for scope in services.recompute_scopes():
                    try:
                        computations.append(services.compute_now(period=period, scope_code=scope, trigger="import"))
                    except DomainError as exc:  # already running elsewhere: say so, go on
                        self.stderr.write(f"{period}（{scope or '全部'}）：{exc.message}")
        else:
            computations = services.computations_after_import(periods=periods)
            jobs.wait()
            for c in computations:
                c.refresh_from_db()
        for c in computations:
            scope = c.scope_code or "全部"
            self.stdout.write(f"{c.period}（{scope}）：{c.get_status_display()}  {c.message}")
