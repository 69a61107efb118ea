"""``manage.py compute_indicators --period P [--place CODE]``: compute and store the indicators, scores and diagnoses
of every community under CODE (all communities when omitted) for period P (``2025`` or ``2025Q1``), with the
roll-ups to the places above them up to CODE."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from gongzhi.analytics import services
from gongzhi.analytics.models import ComputationStatus
from gongzhi.core.errors import DomainError

ENGLISH = {
    "invalid": "bad period: use a year such as 2025 or a quarter such as 2025Q1",
    "not_found": "unknown place",
    "computation_running": "this period is being computed right now; try again later",
}


def command_error(exc: DomainError, english: str = "") -> CommandError:
    """A service's refusal as a command error, in Chinese and English."""
    return CommandError(f"{exc.message}  ({english or ENGLISH.get(exc.code, exc.code)})")


class Command(BaseCommand):
    help = "计算并保存指标、得分与诊断 / Compute and store the indicators, scores and diagnoses"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="2025 (a year) or 2025Q1 (a quarter)")
        parser.add_argument("--place", default="", help="12-digit code: the communities under it (default: all)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        place = options["place"] or ""
        try:
            period = services.period_parse(options["period"])
            services.scope_place(place)
        except DomainError as exc:
            english = f"unknown place {place}" if exc.code == "not_found" else ""
            raise command_error(exc, english) from exc
        bar = None
        if not options["no_progress"]:
            bar = tqdm(total=len(services.STEPS), file=getattr(self.stderr, "_out", sys.stderr), leave=False)

        def progress(done: int, total: int, label: str) -> None:
            if bar is not None:
                bar.set_description(label)
                bar.n = done
                bar.refresh()

        try:
            computation = services.compute_now(period=period.key, scope_code=place, progress=progress)
        except DomainError as exc:
            raise command_error(exc) from exc
        finally:
            if bar is not None:
                bar.close()
        if computation.status != ComputationStatus.DONE:
            raise CommandError(f"{computation.message}  (computation failed)")
        self.stdout.write(
            f"{period.key}：已计算 {computation.communities} 个社区（{place or '全部'}）；{computation.message}"
            f"  (computed {computation.communities} communities of {place or 'all places'} for {period.key})"
        )
