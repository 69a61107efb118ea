"""organizations.csv, memberships.csv, activities.csv, attendance.csv: import, re-import, errors, export; the demo."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from gongzhi.activities.models import Activity, Attendance
from gongzhi.interchange.demo import (
    DEMO_RESIDENT_PHONES,
    HAOPOPO_NAME,
    HAOPOPO_REF,
    YEAR,
    build_demo,
    generate_demo,
)
from gongzhi.interchange.exporter import export_data
from gongzhi.interchange.importer import ImportFailed, import_data
from gongzhi.learning.models import Course, CourseSession, Enrolment, PointsEntry, Series, Teacher
from gongzhi.organizations.models import Membership, Organization, StageChange

from .conftest import LINK_BASE, SMALL, write_folder

ORGS = [
    ["ref", "name", "place_code", "kind", "stage", "founded_on", "dissolved_on"],
    ["O1", "好婆婆学堂", "330102001001", "learning_community", "incubating", "2020-03-01", ""],
    ["O2", "甲街道红马甲", "330102001000", "volunteer_team", "professional", "2018-01-01", ""],
    ["O3", "甲二合唱团", "330102001002", "learning_community", "grassroots", "2024-01-01", "2025-06-30"],
]
MEMBERS = [
    ["organization_ref", "resident_ref", "role", "joined_on", "left_on"],
    ["O1", "R1", "leader", "2024-02-01", ""],
    ["O1", "R2", "member", "2024-02-01", "2025-01-31"],
    ["O2", "R3", "member", "2025-03-02", ""],
]
ACTIVITIES = [
    ["ref", "place_code", "kind", "title", "starts_at", "organization_ref", "resource_refs"],
    ["A1", "330102001000", "course_session", "婆媳沟通的艺术", "2025-03-01T09:00:00+08:00", "", ""],
    ["A2", "330102001001", "learning_meeting", "好婆婆学堂活动", "2025-03-08T19:30:00+08:00", "O1", ""],
    ["A3", "330102001002", "volunteer_event", "垃圾分类宣传", "2025-04-01T01:00:00+00:00", "O2", "RES1;RES2"],
]
ATTENDANCE = [
    ["activity_ref", "resident_ref", "status", "hours"],
    ["A1", "R1", "present", ""],
    ["A1", "R3", "absent", ""],
    ["A2", "R1", "present", ""],
    ["A3", "R3", "present", "2.5"],
]
LEARN = {
    "organizations.csv": ORGS,
    "memberships.csv": MEMBERS,
    "activities.csv": ACTIVITIES,
    "attendance.csv": ATTENDANCE,
}
SIZE = 240


def learn_state() -> dict[str, list[tuple]]:
    return {
        "orgs": list(
            Organization.objects.order_by("ref").values_list(
                "ref", "name", "place_id", "kind", "stage", "status", "founded_on", "dissolved_on", "updated_at"
            )
        ),
        "members": list(
            Membership.objects.order_by("organization__ref", "resident__ref", "joined_on").values_list(
                "organization__ref", "resident__ref", "role", "joined_on", "left_on", "updated_at"
            )
        ),
        "activities": list(
            Activity.objects.order_by("ref").values_list(
                "ref", "place_id", "kind", "title", "starts_at", "organization__ref", "mode", "updated_at"
            )
        ),
        "attendance": list(
            Attendance.objects.order_by("activity__ref", "resident__ref").values_list(
                "activity__ref", "resident__ref", "status", "hours", "source", "updated_at"
            )
        ),
    }


def folder(tmp_path: Path, name: str = "learn", **changes: list[list[str]]) -> Path:
    files = {**SMALL, **LINK_BASE, **LEARN}
    files.update({f"{k}.csv": v for k, v in changes.items()})
    return write_folder(tmp_path / name, files)


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ImportFailed) as info:
        import_data(path)
    return [e.english() for e in info.value.errors]


@pytest.mark.django_db
def test_import_then_reimport_changes_nothing(tmp_path: Path) -> None:
    report = import_data(folder(tmp_path))
    counts = {name: (c.created, c.updated, c.unchanged) for name, c in report.counts().items()}
    assert counts["organizations.csv"] == (3, 0, 0)
    assert counts["memberships.csv"] == (3, 0, 0)
    assert counts["activities.csv"] == (3, 0, 0)
    assert counts["attendance.csv"] == (4, 0, 0)
    a1 = Activity.objects.get(ref="A1")
    assert a1.mode == "centralised" and a1.organization is None
    a3 = Activity.objects.get(ref="A3")
    assert a3.mode == "local" and a3.organization.ref == "O2"
    assert a3.starts_at == datetime.datetime(2025, 4, 1, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    assert Organization.objects.get(ref="O3").status == "dissolved"
    assert Organization.objects.get(ref="O1").status == "active"
    att = Attendance.objects.get(activity__ref="A3")
    assert att.hours == Decimal("2.5") and att.source == "import" and att.recorded_by is None
    # Imported history awards no points (presence handlers do not run for imports).
    assert not PointsEntry.objects.exists()
    assert not StageChange.objects.exists()
    before = learn_state()

    again = import_data(folder(tmp_path, "again"))

    assert not again.changed
    assert {n: c.unchanged for n, c in again.counts().items() if n in LEARN} == {
        "organizations.csv": 3, "memberships.csv": 3, "activities.csv": 3, "attendance.csv": 4,
    }  # fmt: skip
    assert learn_state() == before


@pytest.mark.django_db
def test_changed_rows_update_and_a_stage_change_is_recorded(tmp_path: Path) -> None:
    import_data(folder(tmp_path))
    orgs = [*ORGS[:1], [*ORGS[1][:4], "professional", *ORGS[1][5:]], *ORGS[2:]]
    members = [*MEMBERS[:2], ["O1", "R2", "member", "2024-02-01", ""], MEMBERS[3]]
    attendance = [*ATTENDANCE[:2], ["A1", "R3", "excused", ""], *ATTENDANCE[3:]]

    report = import_data(folder(tmp_path, "v2", organizations=orgs, memberships=members, attendance=attendance))

    counts = {name: (c.created, c.updated, c.unchanged) for name, c in report.counts().items()}
    assert counts["organizations.csv"] == (0, 1, 2)
    assert counts["memberships.csv"] == (0, 1, 2)
    assert counts["attendance.csv"] == (0, 1, 3)
    change = StageChange.objects.get()
    assert (change.organization.ref, change.from_stage, change.to_stage) == ("O1", "incubating", "professional")
    assert change.changed_on == timezone.localdate()
    assert Organization.objects.get(ref="O1").stage == "professional"
    assert Attendance.objects.get(activity__ref="A1", resident__ref="R3").status == "excused"
    # Importing the same again records no second change.
    import_data(folder(tmp_path, "v3", organizations=orgs, memberships=members, attendance=attendance))
    assert StageChange.objects.count() == 1


@pytest.mark.django_db
def test_one_bad_row_writes_nothing(tmp_path: Path) -> None:
    attendance = [*ATTENDANCE, ["A9", "R1", "present", ""]]
    errors = errors_of(folder(tmp_path, attendance=attendance))
    assert errors == [
        "attendance.csv, row 6, column activity_ref: 活动 A9 不存在（系统中没有，本次导入的 activities.csv 中也没有）"
    ]
    assert not Organization.objects.exists() and not Activity.objects.exists() and not Attendance.objects.exists()


@pytest.mark.django_db
def test_every_bad_cell_is_reported_with_file_row_and_column(tmp_path: Path) -> None:
    orgs = [*ORGS, ["O4", "区级组织", "330102000000", "studio", "grassroots", "", ""],
            ["O5", "", "330102001001", "club", "mature", "2025-01-01", "2024-01-01"]]  # fmt: skip
    members = [*MEMBERS, ["O1", "R1", "member", "2025-01-01", ""], ["O9", "R8", "boss", "2025/01/01", ""]]
    activities = [*ACTIVITIES, ["A4", "330102001001", "party", "x", "2025-03-01 09:00", "O9", ""]]
    attendance = [*ATTENDANCE, ["A1", "R2", "present", "-1"], ["A2", "R9", "here", "1.234"]]

    errors = errors_of(
        folder(tmp_path, organizations=orgs, memberships=members, activities=activities, attendance=attendance)
    )

    text = "\n".join(errors)
    assert "organizations.csv, row 5, column place_code: 应为街道/乡镇或社区/村一级的区划代码" in text
    assert "organizations.csv, row 6, column name: 必填" in text
    assert "organizations.csv, row 6, column kind: 应为" in text
    assert "organizations.csv, row 6, column stage: 应为" in text
    assert "organizations.csv, row 6, column dissolved_on: 解散日期 2024-01-01 不能早于成立日期 2025-01-01" in text
    assert "memberships.csv, row 5, column left_on: 与第 2 行同时未退出" in text
    assert "memberships.csv, row 6, column role:" in text and "memberships.csv, row 6, column joined_on:" in text
    assert "activities.csv, row 5, column kind:" in text and "activities.csv, row 5, column starts_at:" in text
    assert "attendance.csv, row 6, column hours: 不能小于 0" in text
    assert (
        "attendance.csv, row 7, column status:" in text
        and "attendance.csv, row 7, column hours: 最多保留两位小数" in text
    )
    assert not Organization.objects.exists() and not Membership.objects.exists()


@pytest.mark.django_db
def test_unknown_refs_in_the_database_and_a_second_current_spell(tmp_path: Path) -> None:
    import_data(folder(tmp_path))
    # O1/R1 is current since 2024-02-01 in the database: another current spell needs that one closed first.
    members = [MEMBERS[0], ["O1", "R1", "member", "2025-05-01", ""], ["O7", "R1", "member", "2025-05-01", ""]]
    errors = errors_of(write_folder(tmp_path / "m", {"memberships.csv": members}))
    assert errors[0].startswith("memberships.csv, row 2, column left_on: 居民 R1 在组织 O1 已有一段未退出的成员记录")
    assert errors[1].startswith("memberships.csv, row 3, column organization_ref: 组织 O7 不存在")
    # Closing the stored spell in the same file makes it valid.
    members = [MEMBERS[0], ["O1", "R1", "leader", "2024-02-01", "2025-04-30"], ["O1", "R1", "member", "2025-05-01", ""]]
    report = import_data(write_folder(tmp_path / "ok", {"memberships.csv": members}))
    assert (report.counts()["memberships.csv"].created, report.counts()["memberships.csv"].updated) == (1, 1)
    assert Membership.objects.filter(resident__ref="R1", organization__ref="O1", left_on__isnull=True).count() == 1


@pytest.mark.django_db
def test_files_refer_to_the_database(tmp_path: Path) -> None:
    """A later import may bring attendance alone for activities and residents already stored."""
    import_data(folder(tmp_path))
    report = import_data(write_folder(tmp_path / "att", {"attendance.csv": [*ATTENDANCE, ["A2", "R2", "present", ""]]}))
    assert report.counts()["attendance.csv"].created == 1


@pytest.mark.django_db
def test_export_round_trip(tmp_path: Path) -> None:
    import_data(folder(tmp_path))
    before = learn_state()
    out = tmp_path / "out"

    counts = export_data(out)

    assert {k: counts[k] for k in LEARN} == {
        "organizations.csv": 3, "memberships.csv": 3, "activities.csv": 3, "attendance.csv": 4,
    }  # fmt: skip
    lines = (out / "activities.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(ACTIVITIES[0])
    assert lines[3] == "A3,330102001002,volunteer_event,垃圾分类宣传,2025-04-01T09:00:00+08:00,O2,RES1;RES2"
    assert (out / "attendance.csv").read_text(encoding="utf-8").splitlines()[4] == "A3,R3,present,2.5"
    assert (out / "organizations.csv").read_text(encoding="utf-8").splitlines() == [",".join(r) for r in ORGS]

    assert not import_data(out).changed
    assert learn_state() == before

    # Into an empty system, an export under a place imports on its own.
    sub = tmp_path / "sub"
    export_data(sub, place_code="330102001002")
    Attendance.objects.all().delete()
    Activity.objects.all().delete()
    Membership.objects.all().delete()
    Organization.objects.all().delete()
    report = import_data(sub)
    assert report.counts()["activities.csv"].created == 1  # A3, held in 甲二社区
    assert report.counts()["organizations.csv"].created == 2  # O3 of 甲二社区, and O2 (street) organising A3
    assert report.counts()["attendance.csv"].created == 1  # R3 lives in 甲二社区


def test_demo_learn_files_are_deterministic_and_believable(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", seed=7, residents=SIZE)
    generate_demo(tmp_path / "b", seed=7, residents=SIZE)
    for name in first:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    world, tables = build_demo(seed=2026, residents=3600)
    rows = {t.name: list(t.rows) for t in tables}
    assert 20_000 <= len(rows["attendance.csv"]) <= 40_000
    orgs = rows["organizations.csv"]
    assert orgs[0][:2] == [HAOPOPO_REF, HAOPOPO_NAME] and orgs[0][2].startswith("330102011")
    assert {o[3] for o in orgs} == {"learning_community", "studio", "volunteer_team", "social_org"}
    titles = {a[3] for a in rows["activities.csv"] if a[2] == "course_session"}
    assert {"婴幼儿科学喂养", "慢病预防与合理膳食", "婆媳沟通的艺术", "隔代教养中的爱与规矩"} <= titles
    present: dict[str, int] = {}
    per_activity: dict[str, int] = {}
    for activity_ref, resident_ref, status, _hours in rows["attendance.csv"]:
        if status == "present":
            present[resident_ref] = present.get(resident_ref, 0) + 1
            per_activity[activity_ref] = per_activity.get(activity_ref, 0) + 1
    counts = sorted(present.values())
    assert counts[len(counts) // 2] <= 4  # most people come a few times
    assert sum(1 for c in counts if c >= 20) >= 50  # a core keeps coming
    sizes = sorted(per_activity.values())
    assert 10 <= sizes[len(sizes) // 2] <= 40 and 60 <= sizes[-1] <= 150
    assert any(m[4] for m in rows["memberships.csv"])  # some leave
    mixing = world.extra["mixing"][YEAR]
    assert max(mixing.values()) - min(mixing.values()) > 0.3
    hours = [a[3] for a in rows["attendance.csv"] if a[3]]
    assert hours and all(Decimal(h) > 0 for h in hours)


@pytest.mark.django_db
def test_demo_imports_without_errors(tmp_path: Path) -> None:
    generate_demo(tmp_path / "demo", seed=11, residents=SIZE)
    report = import_data(tmp_path / "demo")
    counts = report.counts()
    assert counts["attendance.csv"].created == Attendance.objects.count() > 500
    assert Organization.objects.get(ref=HAOPOPO_REF).name == HAOPOPO_NAME
    assert not import_data(tmp_path / "demo").changed


@pytest.mark.django_db
def test_seed_demo_twice_is_idempotent_for_learning(tmp_path: Path) -> None:
    def run() -> str:
        out = io.StringIO()
        call_command(
            "seed_demo", "--residents", str(SIZE), "--dir", str(tmp_path / "demo"), "--no-progress", stdout=out
        )
        return out.getvalue()

    def state() -> dict[str, object]:
        return {
            "series": sorted(Series.objects.values_list("place_id", "name")),
            "teachers": sorted(Teacher.objects.values_list("place_id", "name", "user__phone")),
            "courses": sorted(Course.objects.values_list("place_id", "title", "status", "capacity")),
            "sessions": sorted(CourseSession.objects.values_list("activity__ref", "course__title")),
            "enrolments": sorted(Enrolment.objects.values_list("course__title", "resident__ref", "status")),
            "points": sorted(PointsEntry.objects.values_list("resident__ref", "source_id", "points")),
            "activities": Activity.objects.count(),
            "memberships": Membership.objects.count(),
        }

    first_output = run()
    first = state()
    second_output = run()

    assert state() == first
    assert "attendance.csv：新增 0，更新 0" in second_output
    assert "13900000005" in second_output and "即将开课" in first_output
    assert {name for _place, name in first["series"]} == {"科学育儿", "健康生活", "婆媳沟通", "隔代教养"}  # type: ignore[union-attr]
    assert Teacher.objects.filter(user__phone="13900000005").exists()
    # Every imported course session belongs to a course; the upcoming ones start around now.
    assert not Activity.objects.filter(kind="course_session", course_session__isnull=True).exists()
    # (DEMO-L-… are the bank's upcoming lectures of the link demo, sessions of the bank's own course.)
    upcoming = (
        Activity.objects.filter(ref__startswith="DEMO-", kind="course_session")
        .exclude(ref__startswith="DEMO-L-")
        .order_by("starts_at")
    )
    assert upcoming.count() == 3
    now = timezone.now()
    assert upcoming[0].starts_at.date() <= timezone.localdate() and upcoming[2].starts_at > now
    assert all(a.course_session.teacher.user.phone == "13900000005" for a in upcoming)
    for phone in DEMO_RESIDENT_PHONES:
        assert Membership.objects.filter(
            resident__phone=phone, organization__ref=HAOPOPO_REF, left_on__isnull=True
        ).exists()
        assert Enrolment.objects.filter(resident__phone=phone, course__title="婆媳沟通工作坊").exists()
        assert PointsEntry.objects.filter(resident__phone=phone).exists()
