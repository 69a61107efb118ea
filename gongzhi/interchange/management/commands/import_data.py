"""``manage.py import_data PATH``: import a folder of interchange CSV files or an XLSX workbook."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gongzhi.interchange.importer import ImportFailed, ImportReport, import_data
from gongzhi.interchange.progress import tqdm_bars

MAX_SHOWN = 500


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
    if len(exc.errors) > MAX_SHOWN:
        rest = len(exc.errors) - MAX_SHOWN
        command.stderr.write(f"…… 另有 {rest} 处错误未显示  (… {rest} more errors not shown)")


class Command(BaseCommand):
    help = "导入交换格式数据（CSV 文件夹或 XLSX 工作簿）；有任何错误时不写入 / Import interchange files, all or nothing"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a folder of CSV files, or an .xlsx workbook")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args: Any, **options: Any) -> None:
        progress = None if options["no_progress"] else tqdm_bars(getattr(self.stderr, "_out", sys.stderr))
        try:
            report = import_data(options["path"], progress=progress)
        except ImportFailed as exc:
            print_errors(self, exc)
            raise CommandError(
                f"导入失败：{len(exc.errors)} 处错误，没有写入任何数据  "
                f"(import failed: {len(exc.errors)} errors, nothing was written)"
            ) from exc
        print_report(self, report)
