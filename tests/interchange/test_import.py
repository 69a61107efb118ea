from __future__ import annotations

import copy
import datetime
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.core.models import AuditEvent
from gongzhi.interchange.importer import ImportFailed, import_data
from gongzhi.people.models import Resident
from gongzhi.places.models import Place, Population
from tests import factories
from tests.conftest import ID_A, ID_B

from .conftest import PLACES, POPULATION, RESIDENTS, SMALL, snapshot, write_folder

pytestmark = pytest.mark.django_db


def errors_of(exc: ImportFailed) -> set[tuple[str, int | None, str | None]]:
    return {(e.file, e.row, e.column) for e in exc.errors}


def test_import_small_folder(small: Path) -> None:
    report = import_data(small)

    counts = {name: (c.created, c.updated, c.unchanged) for name, c in report.counts().items()}
    assert counts == {"places.csv": (6, 0, 0), "population.csv": (2, 0, 0), "residents.csv": (3, 0, 0)}
    assert Place.objects.get(code="330102001001").parent_id == "330102001000"
    assert Place.objects.get(code="330000000000").parent_id is None
    assert Population.objects.get(place_id="330102001002", year=2025).population == 800
    r1, r2, r3 = Resident.objects.order_by("ref")
    assert (r1.name, r1.phone, r1.gender, r1.birth_year, r1.household) == ("张三", "13800001111", "F", 1980, "local")
    assert r1.id_number() == ID_A and r1.id_number_masked == "3301**********123X"
    assert r2.left_on == datetime.date(2025, 3, 1) and r2.household == "new_citizen"
    assert (r3.gender, r3.birth_year, r3.left_on, r3.name, r3.phone, r3.id_number_hash) == ("", None, None, "", "", "")
    event = AuditEvent.objects.get(action="import")
    assert event.changes["files"]["residents.csv"] == {"created": 3, "updated": 0, "unchanged": 0}


def test_reimport_of_the_same_rows_changes_nothing(small: Path) -> None:
    import_data(small)
    before = snapshot()
    stamps = dict(Resident.objects.values_list("ref", "updated_at"))
    place_stamps = dict(Place.objects.values_list("code", "updated_at"))

    report = import_data(small)

    counts = {name: (c.created, c.updated, c.unchanged) for name, c in report.counts().items()}
    assert counts == {"places.csv": (0, 0, 6), "population.csv": (0, 0, 2), "residents.csv": (0, 0, 3)}
    assert not report.changed
    assert snapshot() == before
    assert dict(Resident.objects.values_list("ref", "updated_at")) == stamps
    assert dict(Place.objects.values_list("code", "updated_at")) == place_stamps


def test_a_changed_row_updates_only_that_resident(tmp_path: Path, small: Path) -> None:
    import_data(small)
    stamps = dict(Resident.objects.values_list("ref", "updated_at"))
    residents = copy.deepcopy(RESIDENTS)
    residents[2][6] = "local"  # R2 household
    residents[3][5] = "1990"  # R3 birth year
    population = copy.deepcopy(POPULATION)
    population[1][2] = "1250"

    report = import_data(
        write_folder(tmp_path / "v2", {**SMALL, "residents.csv": residents, "population.csv": population})
    )

    assert report.counts()["residents.csv"].updated == 2
    assert report.counts()["residents.csv"].unchanged == 1
    assert report.counts()["population.csv"].updated == 1
    assert Resident.objects.get(ref="R2").household == "local"
    assert Resident.objects.get(ref="R3").birth_year == 1990
    assert Resident.objects.get(ref="R1").updated_at == stamps["R1"]
    assert Resident.objects.get(ref="R2").updated_at > stamps["R2"]
    assert Population.objects.get(place_id="330102001001", year=2025).population == 1250


def test_open_data_file_keeps_personal_data(tmp_path: Path, small: Path) -> None:
    """A residents.csv without the personal columns (e.g. an export) does not wipe names, phones or ID numbers."""
    import_data(small)
    before = snapshot()
    open_rows = [row[:7] for row in RESIDENTS]

    report = import_data(write_folder(tmp_path / "open", {"residents.csv": open_rows}))

    assert report.counts()["residents.csv"].unchanged == 3
    assert snapshot() == before


def test_residents_against_places_in_the_database(tmp_path: Path, tree) -> None:
    rows = [RESIDENTS[0][:7], ["X1", tree.comm_b1.code, "2025-01-02", "", "M", "1970", "local"]]
    report = import_data(write_folder(tmp_path / "r", {"residents.csv": rows}))
    assert report.counts()["residents.csv"].created == 1
    assert Resident.objects.get(ref="X1").community == tree.comm_b1


def test_one_bad_row_writes_nothing_and_names_file_row_and_column(tmp_path: Path, tree) -> None:
    places_before, residents_before, audit_before = (
        Place.objects.count(),
        Resident.objects.count(),
        AuditEvent.objects.count(),
    )
    places = [*PLACES, ["3301020010031", "坏社区", "community", "330102001000"]]  # 13 digits, row 8
    residents = [*RESIDENTS, ["R4", "330102001009", "2025-01-01", "", "F", "1990", "local", "", "", ""]]  # row 5

    with pytest.raises(ImportFailed) as caught:
        import_data(write_folder(tmp_path / "bad", {**SMALL, "places.csv": places, "residents.csv": residents}))

    assert errors_of(caught.value) == {("places.csv", 8, "code"), ("residents.csv", 5, "community_code")}
    by_file = {e.file: e for e in caught.value.errors}
    assert "12 位数字" in by_file["places.csv"].message
    assert str(by_file["residents.csv"]).startswith("residents.csv 第 5 行 community_code：")
    assert "330102001009" in by_file["residents.csv"].message
    assert by_file["residents.csv"].english().startswith("residents.csv, row 5, column community_code: ")
    assert (Place.objects.count(), Resident.objects.count(), AuditEvent.objects.count()) == (
        places_before, residents_before, audit_before,
    )  # fmt: skip
    assert not Population.objects.exists()


def test_every_error_of_every_file_is_reported(tmp_path: Path) -> None:
    residents = [
        RESIDENTS[0],
        ["R1", "330102001001", "2024-13-01", "", "X", "1980", "local", "", "12345", ""],  # row 2
        ["R2", "330102001001", "2024-01-01", "2023-01-01", "", "abc", "migrant", "", "", "330102198001011231"],  # row 3
        ["R2", "330102001001", "2024-01-01", "", "", "1990", "local", "", "", ID_A],  # row 4: duplicate ref, ID year
        ["", "330102001000", "", "", "", "", "", "", "", ""],  # row 5: a street is no community, ref etc. empty
    ]
    with pytest.raises(ImportFailed) as caught:
        import_data(write_folder(tmp_path / "bad", {**SMALL, "residents.csv": residents}))
    assert errors_of(caught.value) == {
        ("residents.csv", 2, "registered_on"),
        ("residents.csv", 2, "gender"),
        ("residents.csv", 2, "phone"),
        ("residents.csv", 3, "left_on"),
        ("residents.csv", 3, "birth_year"),
        ("residents.csv", 3, "household"),
        ("residents.csv", 3, "id_number"),
        ("residents.csv", 4, "id_number"),
        ("residents.csv", 5, "ref"),
        ("residents.csv", 5, "community_code"),
        ("residents.csv", 5, "registered_on"),
        ("residents.csv", 5, "household"),
    }
    messages = {(e.row, e.column): e.message for e in caught.value.errors}
    assert "校验位" in messages[(3, "id_number")]
    assert "1980" in messages[(4, "id_number")]
    assert "社区/村" in messages[(5, "community_code")]
    assert not Place.objects.exists()


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    residents = [*RESIDENTS, ["R1", "330102001002", "2025-01-01", "", "", "", "local", "", "", ""]]
    population = [*POPULATION, ["330102001001", "2025", "5"]]
    with pytest.raises(ImportFailed) as caught:
        import_data(write_folder(tmp_path / "dup", {**SMALL, "residents.csv": residents, "population.csv": population}))
    assert errors_of(caught.value) == {("residents.csv", 5, "ref"), ("population.csv", 4, "community_code")}
    assert "第 2 行" in next(e.message for e in caught.value.errors if e.file == "residents.csv")


def test_place_rules(tmp_path: Path) -> None:
    places = [
        *PLACES,
        ["330102001003", "丙社区", "street", "330102001000"],  # row 8: level does not follow from the code
        ["330102002001", "丁社区", "community", "330102001000"],  # row 9: wrong parent
        ["340000000000", "安徽省", "province", "330000000000"],  # row 10: a province has no parent
        ["340100000000", "合肥市", "city", "340000000000"],  # row 11: its parent's row failed, so it is unknown
        ["350100000000", "福州市", "city", "350000000000"],  # row 12: parent neither in DB nor in file
    ]
    with pytest.raises(ImportFailed) as caught:
        import_data(write_folder(tmp_path / "p", {"places.csv": places}))
    assert errors_of(caught.value) == {
        ("places.csv", 8, "level"),
        ("places.csv", 9, "parent_code"),
        ("places.csv", 10, "parent_code"),
        ("places.csv", 11, "parent_code"),
        ("places.csv", 12, "parent_code"),
    }


def test_unknown_and_missing_columns(tmp_path: Path) -> None:
    residents = [[*RESIDENTS[0][:6], "nickname"], ["R1", "330102001001", "2024-01-01", "", "F", "1980", "x"]]
    with pytest.raises(ImportFailed) as caught:
        import_data(write_folder(tmp_path / "cols", {**SMALL, "residents.csv": residents}))
    assert errors_of(caught.value) == {("residents.csv", 1, "nickname"), ("residents.csv", 1, "household")}
    messages = " ".join(str(e) for e in caught.value.errors)
    assert "未知的列“nickname”" in messages and "缺少必需的列“household”" in messages
    assert not Place.objects.exists()


def test_bom_blank_lines_and_whitespace_are_tolerated(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "bom", SMALL, encoding="utf-8-sig")
    text = (folder / "residents.csv").read_text(encoding="utf-8-sig")
    (folder / "residents.csv").write_text(text.replace("R3,", " R3 ,") + "\n,,,,,,,,,\n\n", encoding="utf-8-sig")
    report = import_data(folder)
    assert report.counts()["residents.csv"].created == 3
    assert Resident.objects.filter(ref="R3").exists()


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "gbk", {"places.csv": PLACES}, encoding="gbk")
    with pytest.raises(ImportFailed) as caught:
        import_data(folder)
    assert [(e.file, e.row) for e in caught.value.errors] == [("places.csv", None)]
    assert "UTF-8" in caught.value.errors[0].message


def test_nothing_to_import(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFailed):
        import_data(tmp_path / "empty")
    with pytest.raises(ImportFailed):
        import_data(tmp_path / "missing")


def test_unknown_files_are_ignored_and_listed(tmp_path: Path, small: Path) -> None:
    (small / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    report = import_data(small)
    assert report.ignored == ["notes.csv"]


def test_an_id_number_belongs_to_one_resident(tmp_path: Path, tree) -> None:
    factories.resident(tree.comm_a1, ref="EXISTING", id_number=ID_A)
    with pytest.raises(ImportFailed) as caught:
        import_data(write_folder(tmp_path / "id", SMALL))
    assert errors_of(caught.value) == {("residents.csv", 2, "id_number")}
    # The same resident (same ref) may carry its own number again; a new number replaces it, encrypted.
    rows = [RESIDENTS[0], ["EXISTING", tree.comm_a1.code, "2024-01-01", "", "F", "1949", "local", "", "", ID_B]]
    report = import_data(write_folder(tmp_path / "id2", {"residents.csv": rows}))
    assert report.counts()["residents.csv"].updated == 1
    assert Resident.objects.get(ref="EXISTING").id_number() == ID_B


def test_id_numbers_are_never_stored_in_plain(small: Path) -> None:
    import_data(small)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM people_resident")
        stored = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert ID_A not in stored and ID_A[:17] not in stored
    assert "3301**********123X" in stored  # the masked form only


def test_query_count_does_not_grow_with_rows(tmp_path: Path) -> None:
    def folder(n: int) -> Path:
        rows = [RESIDENTS[0]] + [
            [f"Q{i:04d}", "330102001001", "2024-01-01", "", "F", "1980", "local", f"居民{i}", f"1380000{i:04d}", ""]
            for i in range(n)
        ]
        return write_folder(tmp_path / f"n{n}", {**SMALL, "residents.csv": rows})

    small, large = folder(20), folder(400)
    with CaptureQueriesContext(connection) as first:
        import_data(small)
    with CaptureQueriesContext(connection) as second:
        import_data(large)  # 20 unchanged + 380 new

    def selects(ctx: CaptureQueriesContext) -> int:
        return sum(q["sql"].startswith("SELECT") for q in ctx.captured_queries)

    # Reads are one per file (or per 2,000 rows); inserts are multi-row (SQLite caps their size at 999 parameters).
    assert selects(second) == selects(first)
    assert len(second) < len(first) + 400 // 50
