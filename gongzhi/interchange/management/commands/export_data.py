"""``manage.py export_data PATH [--place CODE]``: export the interchange format (open data, no personal data)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gongzhi.core.errors import DomainError
from gongzhi.interchange.exporter import export_data
from gongzhi.interchange.progress import tqdm_bars


class Command(BaseCommand):
    help = (
        "导出交换格式数据：PATH 为文件夹（CSV）或以 .xlsx 结尾的工作簿 / Export interchange files (CSV folder or .xlsx)"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a folder for CSV files, or a file name ending with .xlsx")
        parser.add_argument("--place", default=None, help="12-digit code: export only this place's subtree")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        progress = None if options["no_progress"] else tqdm_bars(getattr(self.stderr, "_out", sys.stderr))
        try:
            counts = export_data(options["path"], place_code=options["place"], progress=progress)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        for name, rows in counts.items():
            self.stdout.write(f"{name}：{rows} 行  ({rows} rows)")
        self.stdout.write(f"已导出到 {options['path']}  (exported to {options['path']})")
