"""``manage.py export_indicators --period P [--place CODE] --output FILE [--diagnosis FILE]``: write the stored
results of every community under CODE as CSV (METHOD.md "Commands and results"); the period must have been computed
(``compute_indicators``). The same data and settings give byte-identical files."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gongzhi.analytics import exporting, services
from gongzhi.core.errors import DomainError

from .compute_indicators import command_error


class Command(BaseCommand):
    help = "导出指标结果（CSV） / Export the computed indicators as CSV"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="2025 (a year) or 2025Q1 (a quarter)")
        parser.add_argument("--place", default="", help="12-digit code: the communities under it (default: all)")
        parser.add_argument("--output", required=True, help="the CSV file to write")
        parser.add_argument("--diagnosis", default="", help="also write the diagnoses to this CSV file")

    def handle(self, *args: Any, **options: Any) -> None:
        place = options["place"] or ""
        try:
            period = services.period_parse(options["period"])
            services.scope_place(place)
            rows = exporting.export_rows(period=period, place_code=place)
        except DomainError as exc:
            english = {
                "not_found": f"unknown place {place}",
                "not_computed": f"{options['period']} has not been computed; run compute_indicators first",
            }.get(exc.code, "")
            raise command_error(exc, english) from exc
        try:
            n = exporting.write_indicators(options["output"], rows)
            if options["diagnosis"]:
                exporting.write_diagnoses(options["diagnosis"], rows)
        except OSError as exc:
            raise CommandError(f"无法写入文件：{exc}  (cannot write the file)") from exc
        self.stdout.write(f"已导出 {n} 行到 {options['output']}  (exported {n} rows to {options['output']})")
        if options["diagnosis"]:
            self.stdout.write(f"诊断已导出到 {options['diagnosis']}  (diagnoses exported to {options['diagnosis']})")
