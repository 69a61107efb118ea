from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from gongzhi.interchange.exporter import export_data
from gongzhi.interchange.importer import import_data
from gongzhi.interchange.writers import OutTable, write_tables
from gongzhi.people.models import Resident
from tests.conftest import ID_A

from .conftest import PLACES, POPULATION, RESIDENTS, SMALL, snapshot, wipe

pytestmark = pytest.mark.django_db

METHOD_RESIDENT_COLUMNS = ["ref", "community_code", "registered_on", "left_on", "gender", "birth_year", "household"]


def test_xlsx_workbook_imports_like_the_csv_folder(tmp_path: Path, small: Path) -> None:
    import_data(small)
    from_csv = snapshot()
    wipe()
    book = tmp_path / "data.xlsx"
    write_tables(book, [OutTable(name, rows[0], rows[1:]) for name, rows in SMALL.items()])

    report = import_data(book)

    assert report.counts()["residents.csv"].created == 3
    assert snapshot() == from_csv


def test_hand_made_workbook_with_typed_cells_and_short_sheet_names(tmp_path: Path, small: Path) -> None:
    import_data(small)
    from_csv = snapshot()
    wipe()
    book = Workbook()
    book.remove(book.active)
    for name, rows in SMALL.items():
        sheet = book.create_sheet(name.removesuffix(".csv"))  # "residents"
        for row in rows:
            sheet.append([_typed(v) for v in row])
    book.create_sheet("说明").append(["这张表不是数据"])
    path = tmp_path / "hand.xlsx"
    book.save(path)

    report = import_data(path)

    assert report.ignored == ["说明"]
    assert snapshot() == from_csv


def _typed(value: str) -> object:
    """What Excel would hold: numbers as numbers, dates as dates, empty cells as nothing."""
    if value == "":
        return None
    if len(value) == 10 and value[4] == "-":
        return datetime.datetime.fromisoformat(value)
    if value.isdigit() and len(value) < 12:
        return int(value)
    return value


def test_export_then_import_round_trip(tmp_path: Path, small: Path) -> None:
    import_data(small)
    before = snapshot()
    out = tmp_path / "out"

    counts = export_data(out)

    learn_files = (
        "organizations.csv",
        "memberships.csv",
        "providers.csv",
        "resources.csv",
        "activities.csv",
        "attendance.csv",
        "issues.csv",
        "issue_actions.csv",
        "needs.csv",
        "survey_answers.csv",
    )  # empty here
    assert counts == {"places.csv": 6, "population.csv": 2, "residents.csv": 3, **dict.fromkeys(learn_files, 0)}
    lines = (out / "residents.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(METHOD_RESIDENT_COLUMNS)
    assert lines[2] == "R2,330102001001,2023-05-01,2025-03-01,M,1950,new_citizen"
    assert (out / "places.csv").read_text(encoding="utf-8").splitlines() == [",".join(r) for r in PLACES]
    assert (out / "population.csv").read_text(encoding="utf-8").splitlines() == [",".join(r) for r in POPULATION]
    # Open data: no names, phones or ID numbers anywhere.
    exported = "".join(f.read_text(encoding="utf-8") for f in out.iterdir())
    for personal in ("张三", "李四", "13800001111", ID_A, ID_A[-4:], "*"):
        assert personal not in exported

    wipe()
    report = import_data(out)
    assert report.counts()["residents.csv"].created == 3
    opened = {k: v for k, v in before.items()}
    opened["residents"] = [(*row[:7], "", "", "", "") for row in before["residents"]]
    assert snapshot() == opened

    again = tmp_path / "again"
    export_data(again)
    for name in counts:
        assert (again / name).read_bytes() == (out / name).read_bytes()


def test_export_to_a_workbook_round_trips(tmp_path: Path, small: Path) -> None:
    import_data(small)
    before = snapshot()
    export_data(tmp_path / "out.xlsx")
    assert import_data(tmp_path / "out.xlsx").changed is False
    assert snapshot() == before


def test_export_under_a_place(tmp_path: Path, small: Path) -> None:
    import_data(small)
    counts = export_data(tmp_path / "a2", place_code="330102001002")
    places = (tmp_path / "a2" / "places.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert [p.split(",")[0] for p in places] == [
        "330000000000", "330100000000", "330102000000", "330102001000", "330102001002",
    ]  # fmt: skip
    assert counts["residents.csv"] == Resident.objects.filter(community_id="330102001002").count() == 1
    assert counts["population.csv"] == 1


def test_export_place_must_exist(tmp_path: Path, db) -> None:
    from gongzhi.core.errors import NotFound

    with pytest.raises(NotFound):
        export_data(tmp_path / "x", place_code="990000000000")


def test_residents_export_columns_are_the_method_columns(db) -> None:
    from gongzhi.core.interchange import spec_for

    spec = spec_for("residents")
    assert spec is not None and spec.export_columns == METHOD_RESIDENT_COLUMNS
    assert RESIDENTS[0][:7] == METHOD_RESIDENT_COLUMNS
