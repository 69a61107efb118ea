"""``manage.py seed_demo [--seed N]``: write the demo interchange files (2024 and 2025) into var/demo/, import them,
create the demo logins, then the courses of the imported sessions and a few upcoming sessions (``demo_learning``), the
deliberation cases (``demo_deliberation``), the link records the files do not carry (``demo_link``), the station's
growth and a selection year (``demo_cultivate``), the little bees volunteer team (``demo_volunteering``), the
credentials (``demo_credentials``), and finally the indicators of 2024, 2025 and the quarters of 2025
(``demo_measure``), with a summary of how the communities differ. Running it again changes nothing (on another day
it adds that day's upcoming sessions; the indicators are recomputed)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from config import env
from gongzhi.interchange.demo import DEFAULT_RESIDENTS, DEFAULT_SEED, generate_demo
from gongzhi.interchange.demo_accounts import DEMO_PASSWORD, demo_accounts_ensure
from gongzhi.interchange.demo_credentials import demo_credentials_ensure
from gongzhi.interchange.demo_cultivate import demo_cultivate_ensure
from gongzhi.interchange.demo_deliberation import demo_deliberation_ensure
from gongzhi.interchange.demo_learning import demo_learning_ensure
from gongzhi.interchange.demo_link import demo_link_ensure
from gongzhi.interchange.demo_measure import PERIODS, MeasureSummary, demo_measure_ensure
from gongzhi.interchange.demo_volunteering import demo_volunteering_ensure
from gongzhi.interchange.importer import ImportFailed, import_data
from gongzhi.interchange.progress import tqdm_bars

from .import_data import print_errors, print_report


class Command(BaseCommand):
    help = "生成并导入演示数据，创建演示账号 / Generate and import the demo data and create the demo logins"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
        parser.add_argument(
            "--residents", type=int, default=DEFAULT_RESIDENTS, help=f"residents (default {DEFAULT_RESIDENTS})"
        )
        parser.add_argument("--dir", default=None, help="where to write the files (default VAR_DIR/demo)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
        parser.add_argument("--no-measure", action="store_true", help="do not compute the indicators")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["dir"]) if options["dir"] else env.VAR_DIR / "demo"
        rows = generate_demo(folder, seed=options["seed"], residents=options["residents"])
        self.stdout.write(
            f"演示数据已写入 {folder}："
            + "，".join(f"{name} {n} 行" for name, n in rows.items())
            + f"  (demo files written to {folder})"
        )
        progress = None if options["no_progress"] else tqdm_bars(getattr(self.stderr, "_out", sys.stderr))
        try:
            report = import_data(folder, progress=progress)
        except ImportFailed as exc:
            print_errors(self, exc)
            raise CommandError("演示数据导入失败  (demo import failed)") from exc
        print_report(self, report)

        logins = demo_accounts_ensure()
        learning = demo_learning_ensure()
        self.stdout.write(
            f"课程：新增 {learning.courses} 门，关联课次 {learning.sessions_linked} 个，新增报名 {learning.enrolments} 个，"
            f"新增积分记录 {learning.points_entries} 条  (courses created {learning.courses}, sessions linked "
            f"{learning.sessions_linked}, enrolments {learning.enrolments}, points entries {learning.points_entries})"
        )
        deliberation = demo_deliberation_ensure()
        self.stdout.write(
            f"议事：新增议题 {deliberation.issues} 个，新增表决 {deliberation.ballots} 次，新增专家 {deliberation.teachers} 位，"
            f"新增专家课程 {deliberation.courses} 门  (issues {deliberation.issues}, ballots {deliberation.ballots}, "
            f"experts {deliberation.teachers}, expert courses {deliberation.courses})"
        )
        for note in deliberation.notes:
            self.stdout.write(note)
        link = demo_link_ensure()
        self.stdout.write(
            f"联：新增结对 {link.pairings} 个、履约记录 {link.deliveries} 条，学习空间 {link.spaces} 个，预约 {link.bookings} 次、"
            f"每周预约 {link.series} 组，需求调查答卷 {link.survey_answers} 份，生成需求 {link.survey_needs} 个，"
            f"评价 {link.ratings} 条  (pairings {link.pairings}, deliveries {link.deliveries}, spaces {link.spaces}, "
            f"bookings {link.bookings}, series {link.series}, survey answers {link.survey_answers}, "
            f"survey needs {link.survey_needs}, ratings {link.ratings})"
        )
        for note in link.notes:
            self.stdout.write(note)
        logins = [*logins, *link.logins]
        cultivate = demo_cultivate_ensure()
        self.stdout.write(
            f"培育：新增组织 {cultivate.organizations} 个、阶段变更 {cultivate.stage_changes} 次、准入核查 "
            f"{cultivate.admission_checks} 项、扶持记录 {cultivate.support_records} 条、供给清单 {cultivate.supply_items} 项，"
            f"评估方案 {cultivate.schemes} 个、评选 {cultivate.rounds} 轮（参评 {cultivate.entries}，评分 {cultivate.scores}）"
            f"  (organisations {cultivate.organizations}, stage changes {cultivate.stage_changes}, admission checks "
            f"{cultivate.admission_checks}, support {cultivate.support_records}, supply {cultivate.supply_items}, schemes "
            f"{cultivate.schemes}, rounds {cultivate.rounds}, entries {cultivate.entries}, scores {cultivate.scores})"
        )
        for note in cultivate.notes:
            self.stdout.write(note)
        vol = demo_volunteering_ensure()
        self.stdout.write(
            f"志愿服务：新增活动 {vol.events} 场，报名 {vol.signups} 人次，时长记录 {vol.entries} 条（已确认 {vol.confirmed}，"
            f"待确认 {vol.pending}，冲正 {vol.reversals}）  (volunteer events {vol.events}, sign-ups {vol.signups}, "
            f"hours entries {vol.entries}: confirmed {vol.confirmed}, pending {vol.pending}, reversals {vol.reversals})"
        )
        for note in vol.notes:
            self.stdout.write(note)
        creds = demo_credentials_ensure()  # after learning (the series) and volunteering (the hours)
        held = "、".join(f"{rank} 星 {n} 张" for rank, n in sorted(creds.holders.items())) or "—"
        self.stdout.write(
            f"学习认证：新增题库 {creds.banks} 个、题目 {creds.questions} 道、测试 {creds.tests} 个、作答 {creds.attempts} 次，"
            f"认证级别 {creds.levels} 个，证书 {creds.certificates} 张（撤销 {creds.revoked}；有效：{held}）；星级评定：评分 "
            f"{creds.assessments} 条，评定 {creds.ratings} 人  (banks {creds.banks}, questions {creds.questions}, tests "
            f"{creds.tests}, attempts {creds.attempts}, levels {creds.levels}, certificates {creds.certificates}, revoked "
            f"{creds.revoked}, star assessments {creds.assessments}, star ratings {creds.ratings})"
        )
        for note in creds.notes:
            self.stdout.write(note)
        if not options["no_measure"]:
            self._measure(demo_measure_ensure())
        for activity in learning.upcoming:
            start = timezone.localtime(activity.starts_at)
            self.stdout.write(f"即将开课 upcoming: {start:%Y-%m-%d %H:%M} {activity.title}（{activity.ref}）")
        self.stdout.write("")
        self.stdout.write("演示账号 Demo logins")
        header = ("手机号 phone", "密码 password", "角色 role", "区划 place")
        table = [header] + [
            (x.phone, x.password, f"{x.role_label} / {x.role_english}", f"{x.place_name} {x.place_code}")
            for x in logins
        ]
        table += [(phone, DEMO_PASSWORD, what, "上城区 330102000000") for phone, what in cultivate.logins]
        widths = [max(_width(r[i]) for r in table) for i in range(len(header))]
        for row in table:
            self.stdout.write("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)))

    def _measure(self, summary: MeasureSummary) -> None:
        for note in summary.notes:
            self.stdout.write(note)
        if not summary.computed:
            return
        self.stdout.write(
            f"测评：已计算 {'、'.join(summary.computed)} 的指标  (indicators computed for {', '.join(summary.computed)})"
        )
        years = [p for p in PERIODS if "Q" not in p]
        header = ("社区 community", *(f"综合 {y}" for y in years), "I", "II", "III", f"主要困境 {years[-1]}")
        table = [header]
        for c in summary.communities:
            table.append(
                (
                    c.name,
                    *(_score(c.composite.get(y)) for y in years),
                    *(_score(v) for v in c.dimensions.values()),
                    c.dilemma_label,
                )
            )
        widths = [max(_width(r[i]) for r in table) for i in range(len(header))]
        for row in table:
            self.stdout.write("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)))


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
