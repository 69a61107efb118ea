"""The bulk import path (gongzhi.interchange.bulk) against the regular import, on SQLite and PostgreSQL."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from bench.district import Shape, generate
from gongzhi.activities.models import Attendance
from gongzhi.core.models import AuditEvent
from gongzhi.interchange import bulk
from gongzhi.interchange.bulk import BulkImportFailed, bulk_import
from gongzhi.interchange.importer import ImportFailed, import_data
from gongzhi.organizations.models import StageChange
from gongzhi.people.models import Resident
from gongzhi.places.models import Place
from tests.conftest import ID_A

from .conftest import SMALL, edit_cell, read_rows, snapshot, stamps, write_rows

pytestmark = pytest.mark.django_db


def counts_of(report: Any) -> dict[str, tuple[int, int, int]]:
    return {name: (c.created, c.updated, c.unchanged) for name, c in report.counts().items()}


def regular_result(*folders: Path) -> tuple[dict[str, list[tuple[Any, ...]]], list[dict[str, tuple[int, int, int]]]]:
    """What the regular import stores for these folders imported in turn (then rolled back)."""
    with transaction.atomic():
        reports = [counts_of(import_data(folder)) for folder in folders]
        result = snapshot()
        transaction.set_rollback(True)
    return result, reports


def regular_errors(folder: Path) -> set[tuple[str, int | None, str | None, str]]:
    with transaction.atomic(), pytest.raises(ImportFailed) as caught:
        import_data(folder)
    return {(e.file, e.row, e.column, e.message) for e in caught.value.errors}


def test_bulk_import_stores_what_the_regular_import_stores(district: Path) -> None:
    expected, (expected_counts,) = regular_result(district)

    report = bulk_import(district)

    assert snapshot() == expected
    assert counts_of(report) == expected_counts
    assert expected_counts["attendance.csv"] == (SMALL.attendance, 0, 0)
    assert len(expected["Attendance"]) == SMALL.attendance
    assert {row[3] for row in expected["Attendance"]} == {"import"}  # source
    event = AuditEvent.objects.get(action="import")
    assert event.changes["bulk"] is True
    assert event.changes["files"]["attendance.csv"] == {"created": SMALL.attendance, "updated": 0, "unchanged": 0}


def test_reimport_changes_nothing(district: Path) -> None:
    bulk_import(district)
    before, touched = snapshot(), stamps()

    report = bulk_import(district)

    assert not report.changed
    assert all(created == 0 and updated == 0 for created, updated, _unchanged in counts_of(report).values())
    assert counts_of(report)["attendance.csv"] == (0, 0, SMALL.attendance)
    assert snapshot() == before
    assert stamps() == touched


def test_bulk_after_the_regular_import_changes_nothing(district: Path) -> None:
    import_data(district)
    before, touched = snapshot(), stamps()

    report = bulk_import(district)

    assert not report.changed
    assert snapshot() == before
    assert stamps() == touched


def _second_version(district: Path, tmp_path: Path) -> Path:
    """The same district with a few rows changed: what a second delivery of the data looks like."""
    import shutil

    v2 = Path(shutil.copytree(district, tmp_path / "v2"))
    edit_cell(v2, "residents.csv", 2, "household", "new_citizen")
    edit_cell(v2, "residents.csv", 3, "left_on", "2025-12-30")
    edit_cell(v2, "attendance.csv", 2, "status", "excused")
    edit_cell(v2, "attendance.csv", 3, "hours", "3.5")
    edit_cell(v2, "activities.csv", 2, "resource_refs", "S00001;S00002")
    edit_cell(v2, "activities.csv", 3, "title", "改名的活动")
    edit_cell(v2, "organizations.csv", 2, "stage", "professional")
    edit_cell(v2, "organizations.csv", 3, "dissolved_on", "2025-12-31")
    rows = read_rows(v2 / "issues.csv")
    header = rows[0]
    open_row = next(i for i, r in enumerate(rows) if i and r[header.index("status")] == "open")
    rows[open_row][header.index("status")] = "discussing"
    rows[open_row][header.index("discussed_on")] = "2025-12-01"
    write_rows(v2 / "issues.csv", rows)
    edit_cell(v2, "memberships.csv", 2, "left_on", "2025-12-31")
    edit_cell(v2, "survey_answers.csv", 2, "value", "1" if read_rows(v2 / "survey_answers.csv")[1][4] != "1" else "2")
    edit_cell(v2, "needs.csv", 2, "direction", "survey" if read_rows(v2 / "needs.csv")[1][2] != "survey" else "report")
    edit_cell(v2, "population.csv", 2, "population", "4321")
    edit_cell(v2, "places.csv", 5, "name", "改名街道")
    # A new attendance row for an existing activity and resident who did not attend it yet.
    attendance = read_rows(v2 / "attendance.csv")
    taken = {(r[0], r[1]) for r in attendance[1:]}
    residents = [r[0] for r in read_rows(v2 / "residents.csv")[1:]]
    newcomer = next(ref for ref in residents if ("A0000001", ref) not in taken)
    attendance.append(["A0000001", newcomer, "present", ""])
    write_rows(v2 / "attendance.csv", attendance)
    return v2


def test_changed_rows_update_as_the_regular_import_does(district: Path, tmp_path: Path) -> None:
    v2 = _second_version(district, tmp_path)
    expected, (_first, expected_counts) = regular_result(district, v2)

    bulk_import(district)
    report = bulk_import(v2)

    assert snapshot() == expected
    assert counts_of(report) == expected_counts
    counts = counts_of(report)
    assert counts["residents.csv"][:2] == (0, 2)
    assert counts["attendance.csv"][:2] == (1, 2)
    assert counts["activities.csv"][:2] == (0, 2)
    assert counts["organizations.csv"][:2] == (0, 2)
    assert counts["issues.csv"][:2] == (0, 1)
    assert StageChange.objects.filter(to_stage="professional", reason="数据导入").count() >= 1


@pytest.mark.parametrize(
    ("file", "row", "column", "value"),
    [
        ("attendance.csv", -1, "resident_ref", "R9999999"),  # unknown resident, on the last row
        ("attendance.csv", 500, "activity_ref", "A9999999"),  # unknown activity
        ("attendance.csv", 77, "status", "maybe"),  # bad value
        ("attendance.csv", 78, "hours", "1.255"),  # too many decimals
        ("residents.csv", 40, "community_code", "330188009999"),  # unknown community
        ("residents.csv", 41, "registered_on", "2025-02-30"),  # bad date
        ("activities.csv", 12, "resource_refs", "S00001;S99999"),  # unknown resource
        ("activities.csv", 13, "starts_at", "2025-03-01T19:30:00"),  # no offset
        ("memberships.csv", 9, "organization_ref", "O99999"),  # unknown organisation
        ("issues.csv", 3, "raised_by", "R9999999"),  # unknown resident
        ("issue_actions.csv", 4, "issue_ref", "I999999"),
        ("needs.csv", 5, "resource_ref", "S99999"),
        ("survey_answers.csv", 6, "item", "X9"),
        ("places.csv", 4, "parent_code", "330188000001"),  # not the parent the code implies
        ("population.csv", 3, "year", "1800"),
        ("organizations.csv", 2, "place_code", "330188099000"),  # unknown street
    ],
)
def test_one_bad_row_anywhere_writes_nothing(district: Path, file: str, row: int, column: str, value: str) -> None:
    if row == -1:
        row = len(read_rows(district / file))
    edit_cell(district, file, row, column, value)
    expected = regular_errors(district)

    with pytest.raises(BulkImportFailed) as caught:
        bulk_import(district)

    errors = {(e.file, e.row, e.column, e.message) for e in caught.value.errors}
    assert errors == expected
    assert (file, row, column) in {(e.file, e.row, e.column) for e in caught.value.errors}
    assert caught.value.total == len(errors)
    assert Place.objects.count() == 0
    assert Resident.objects.count() == 0
    assert Attendance.objects.count() == 0
    assert not AuditEvent.objects.filter(action="import").exists()


def test_duplicate_keys_are_reported_like_the_regular_import(district: Path) -> None:
    rows = read_rows(district / "attendance.csv")
    rows.append(rows[10])
    rows.append(rows[20])
    write_rows(district / "attendance.csv", rows)
    members = read_rows(district / "memberships.csv")
    members.append([*members[3][:4], ""])  # the same spell again
    write_rows(district / "memberships.csv", members)
    expected = regular_errors(district)

    with pytest.raises(BulkImportFailed) as caught:
        bulk_import(district)

    assert {(e.file, e.row, e.column, e.message) for e in caught.value.errors} == expected
    assert ("attendance.csv", len(rows), "activity_ref") in {(e.file, e.row, e.column) for e in caught.value.errors}
    assert Attendance.objects.count() == 0


def test_a_second_current_membership_is_refused(district: Path, tmp_path: Path) -> None:
    bulk_import(district)
    members = read_rows(district / "memberships.csv")
    current = next(r for r in members[1:] if r[4] == "")
    members.append([current[0], current[1], "member", "2025-12-31", ""])  # a new spell while one is open
    write_rows(district / "memberships.csv", members)
    with transaction.atomic():
        expected = regular_errors(district)

    with pytest.raises(BulkImportFailed) as caught:
        bulk_import(district)

    assert {(e.file, e.row, e.column, e.message) for e in caught.value.errors} == expected
    assert [(e.file, e.row, e.column) for e in caught.value.errors] == [("memberships.csv", len(members), "left_on")]


def test_errors_are_capped_and_counted(district: Path) -> None:
    rows = read_rows(district / "attendance.csv")
    for i, r in enumerate(rows[1:41]):
        r[1] = f"R99990{i:02d}"  # 40 unknown residents
    for r in rows[41:51]:
        r[2] = "maybe"  # 10 bad statuses
    write_rows(district / "attendance.csv", rows)

    with pytest.raises(BulkImportFailed) as caught:
        bulk_import(district, max_errors=15)

    assert len(caught.value.errors) == 15
    assert caught.value.total == 50
    assert "50" in caught.value.message and "15" in caught.value.message
    assert Attendance.objects.count() == 0


def test_id_numbers_are_refused_names_and_phones_are_kept(district: Path) -> None:
    rows = read_rows(district / "residents.csv")
    rows[0] += ["name", "phone", "id_number"]
    for r in rows[1:]:
        r += ["", "", ""]
    rows[1][-3:] = ["张三", "138 0000 1111", ""]
    write_rows(district / "residents.csv", rows)
    bulk_import(district)
    first = Resident.objects.get(ref=rows[1][0])
    assert (first.name, first.phone, first.id_number_hash) == ("张三", "13800001111", "")

    rows[2][-1] = ID_A
    write_rows(district / "residents.csv", rows)
    with pytest.raises(BulkImportFailed) as caught:
        bulk_import(district)
    assert [(e.file, e.row, e.column) for e in caught.value.errors] == [("residents.csv", 3, "id_number")]
    assert "常规导入" in caught.value.errors[0].message
    assert not Resident.objects.exclude(id_number_hash="").exists()

    # An empty name/phone cell keeps what is stored (as the regular import does).
    rows[2][-1] = ""
    rows[1][-3:] = ["", "", ""]
    write_rows(district / "residents.csv", rows)
    report = bulk_import(district)
    assert counts_of(report)["residents.csv"][:2] == (0, 0)
    first.refresh_from_db()
    assert (first.name, first.phone) == ("张三", "13800001111")


def test_the_rebuild_path_for_large_inserts_gives_the_same_result(district: Path) -> None:
    """With the threshold at 1 row, PostgreSQL drops and re-creates indexes and foreign keys around every insert."""
    expected, (expected_counts,) = regular_result(district)
    table = "activities_attendance"
    with connection.cursor() as cursor:
        before = _schema(cursor, table)

    report = bulk_import(district, rebuild_above=1)

    assert snapshot() == expected
    assert counts_of(report) == expected_counts
    with connection.cursor() as cursor:
        assert _schema(cursor, table) == before
    again = bulk_import(district, rebuild_above=1)
    assert not again.changed


def _schema(cursor: Any, table: str) -> Any:
    if connection.vendor != "postgresql":
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name = %s ORDER BY name", [table])
        return cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname",
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY conname",
        [table],
    )
    return indexes, cursor.fetchall()


def test_progress_bars_per_file(district: Path) -> None:
    bars: dict[str, list[int]] = {}

    class Bar:
        def __init__(self, label: str, total: int | None):
            self.label = label
            bars[label] = [0, total or 0]

        def update(self, n: int = 1) -> None:
            bars[self.label][0] += n

        def close(self) -> None:
            pass

    bulk_import(district, progress=Bar)

    assert bars["校验 attendance.csv"] == [SMALL.attendance, SMALL.attendance]
    assert bars["写入 attendance.csv"] == [SMALL.attendance, SMALL.attendance]
    assert {label.split(" ")[1] for label in bars} >= {"places.csv", "residents.csv", "survey_answers.csv"}


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(BulkImportFailed):
        bulk_import(tmp_path / "nothing-here")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BulkImportFailed) as caught:
        bulk_import(tmp_path / "empty")
    assert "没有找到可导入的文件" in caught.value.errors[0].message


def test_a_broken_header_is_reported_and_silences_echoes(district: Path) -> None:
    rows = read_rows(district / "residents.csv")
    rows[0][rows[0].index("household")] = "hukou"
    write_rows(district / "residents.csv", rows)
    expected = regular_errors(district)

    with pytest.raises(BulkImportFailed) as caught:
        bulk_import(district)

    got = {(e.file, e.row, e.column, e.message) for e in caught.value.errors}
    assert got == expected
    assert {e.file for e in caught.value.errors} == {"residents.csv"}


def _import_peak(folder: Path) -> int:
    with transaction.atomic():
        tracemalloc.start()
        try:
            bulk_import(folder)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            transaction.set_rollback(True)


def test_memory_does_not_grow_with_the_number_of_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python holds one chunk of rows at a time (here 500): four times the attendance, about the same peak."""
    monkeypatch.setattr(bulk, "CHUNK", 500)
    shape = Shape(residents=800, communities=4, streets=2, attendance=3000, seed=9, year=2025)
    generate(tmp_path / "small", shape)
    generate(tmp_path / "large", replace(shape, attendance=12000))
    _import_peak(tmp_path / "small")  # warm-up: first-use allocations are not the import's

    small = _import_peak(tmp_path / "small")
    large = _import_peak(tmp_path / "large")

    assert large < small * 1.3 + 300_000, (small, large)


def test_a_workbook_imports_like_the_folder(district: Path, tmp_path: Path) -> None:
    from gongzhi.interchange.writers import OutTable, write_tables

    tables = []
    for file in sorted(district.iterdir()):
        header, *body = read_rows(file)
        tables.append(OutTable(file.name, header, body))
    workbook = tmp_path / "district.xlsx"
    write_tables(workbook, tables)
    expected, _counts = regular_result(district)

    bulk_import(workbook)

    assert snapshot() == expected


def test_the_benchmark_command_imports_and_reports_rates(district: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.district import main

    assert main(["import", str(district), "--no-progress"]) == 0

    out = capsys.readouterr().out
    assert "rows/s overall" in out and f"attendance: {SMALL.attendance} rows" in out
    assert Attendance.objects.count() == SMALL.attendance
