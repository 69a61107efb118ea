"""``manage.py run_computations [--stale-minutes N]``: run the queued computations, oldest first, and retry those
left ``running`` by a process that died (no progress for N minutes, 30 by default).

Computations normally run in a background thread of the process that queued them (``gongzhi.analytics.jobs``). Run
this from cron (e.g. ``* * * * * manage.py run_computations``) so that nothing stays queued when that process ended
first (a restart, a crash): it is safe to run it often and concurrently — each computation is taken by one worker."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from gongzhi.analytics.models import Computation, ComputationStatus
from gongzhi.analytics.services import computation_run


class Command(BaseCommand):
    help = "运行排队中的指标计算，并重试中断的计算 / Run queued computations and retry interrupted ones"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stale-minutes", type=int, default=30, help="retry 'running' ones idle this long")

    def handle(self, *args: Any, **options: Any) -> None:
        stale_before = timezone.now() - datetime.timedelta(minutes=max(options["stale_minutes"], 1))
        stale = list(
            Computation.objects.filter(status=ComputationStatus.RUNNING, updated_at__lt=stale_before).order_by(
                "created_at"
            )
        )
        queued = list(Computation.objects.filter(status=ComputationStatus.QUEUED).order_by("created_at"))
        done = failed = 0
        for computation in [*stale, *queued]:
            result = computation_run(computation, retry=computation.status == ComputationStatus.RUNNING)
            if result.status == ComputationStatus.DONE:
                done += 1
            elif result.status == ComputationStatus.FAILED:
                failed += 1
                self.stderr.write(f"{result.period} {result.scope_code or '*'}：{result.message}")
        self.stdout.write(
            f"完成 {done} 个，失败 {failed} 个（其中重试中断的 {len(stale)} 个）"
            f"  (done {done}, failed {failed}, of which {len(stale)} interrupted ones retried)"
        )
