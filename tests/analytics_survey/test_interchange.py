"""survey_answers.csv: import, idempotent re-import, changed rows, every bad cell reported with file/row/column and
nothing written, unknown residents and communities, export (refs only) and the import → export round trip."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from gongzhi.analytics.engine.periods import Period
from gongzhi.analytics.engine.survey import scale_scores
from gongzhi.analytics.interchange import SURVEY_ANSWERS_FILE
from gongzhi.analytics.models import SurveyAnswer
from gongzhi.analytics.survey.selectors import answers_frame
from gongzhi.core.interchange import spec_for, specs
from gongzhi.interchange.exporter import export_data
from gongzhi.interchange.importer import ImportFailed, import_data
from gongzhi.people.models import Resident
from tests.interchange.conftest import SMALL, write_folder

from .conftest import answer, make_survey, resident_with_account

pytestmark = pytest.mark.django_db

HEADER = ["resident_ref", "community_code", "answered_on", "item", "value"]
ANSWERS = [
    HEADER,
    ["R1", "330102001001", "2025-04-01", "T1", "4"],
    ["R1", "330102001001", "2025-04-01", "T2", "5"],
    ["R1", "330102001001", "2025-04-01", "T3", "3"],
    ["R3", "330102001002", "2025-04-02", "T1", "2"],
    ["R3", "330102001002", "2025-04-02", "S1", "1"],
    ["R2", "330102001001", "2025-02-20", "N1", "5"],  # R2 left on 2025-03-01; the answer is history
]


def folder(tmp_path: Path, name: str = "survey", answers: list[list[str]] | None = None) -> Path:
    return write_folder(tmp_path / name, {**SMALL, SURVEY_ANSWERS_FILE: answers or ANSWERS})


def state() -> list[tuple]:
    return list(
        SurveyAnswer.objects.order_by("resident__ref", "answered_on", "item").values_list(
            "resident__ref", "community_id", "answered_on", "item", "value", "survey_id", "updated_at"
        )
    )


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ImportFailed) as info:
        import_data(path)
    return [e.english() for e in info.value.errors]


def test_registered_after_residents_with_the_method_columns():
    spec = spec_for("survey_answers")
    assert spec is not None and spec.name == SURVEY_ANSWERS_FILE
    assert spec.column_names == HEADER == spec.export_columns == spec.required_columns
    assert spec.key == ("resident_ref", "answered_on", "item")
    names = [s.name for s in specs()]
    assert names.index(SURVEY_ANSWERS_FILE) > names.index("residents.csv")
    assert names[-1] == SURVEY_ANSWERS_FILE


def test_import_then_reimport_changes_nothing(tmp_path):
    report = import_data(folder(tmp_path))
    c = report.counts()[SURVEY_ANSWERS_FILE]
    assert (c.created, c.updated, c.unchanged) == (6, 0, 0)
    r1 = Resident.objects.get(ref="R1")
    t1 = SurveyAnswer.objects.get(resident=r1, item="T1")
    assert (t1.community_id, t1.answered_on, t1.value, t1.survey) == (
        "330102001001",
        datetime.date(2025, 4, 1),
        4,
        None,
    )
    before = state()
    again = import_data(folder(tmp_path, "again"))
    assert not again.changed
    assert again.counts()[SURVEY_ANSWERS_FILE].unchanged == 6
    assert state() == before  # same rows, same updated_at


def test_a_changed_value_or_community_updates_and_new_keys_are_added(tmp_path):
    import_data(folder(tmp_path))
    changed = [
        *ANSWERS[:2],
        ["R1", "330102001001", "2025-04-01", "T2", "1"],  # value changed
        ["R1", "330102001002", "2025-04-01", "T3", "3"],  # community changed
        *ANSWERS[4:],
        ["R1", "330102001001", "2025-09-01", "T1", "2"],  # a later answer: a new key
    ]
    report = import_data(folder(tmp_path, "v2", changed))
    c = report.counts()[SURVEY_ANSWERS_FILE]
    assert (c.created, c.updated, c.unchanged) == (1, 2, 4)
    r1 = Resident.objects.get(ref="R1")
    assert SurveyAnswer.objects.get(resident=r1, item="T2").value == 1
    assert SurveyAnswer.objects.get(resident=r1, item="T3").community_id == "330102001002"
    assert SurveyAnswer.objects.filter(resident=r1, item="T1").count() == 2


def test_every_bad_cell_is_reported_and_nothing_is_written(tmp_path):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    bad = [
        *ANSWERS,
        ["R1", "330102001000", "2025-04-03", "T1", "4"],  # a street, not a community
        ["R1", "330102001001", "2025/04/03", "T1", "4"],
        ["R1", "330102001001", "2025-04-03", "Q7", "4"],
        ["R1", "330102001001", "2025-04-04", "T1", "6"],
        ["R1", "330102001001", "2025-04-05", "T1", "0"],
        ["R1", "330102001001", "2025-04-06", "T1", "四"],
        ["", "330102001001", "2025-04-07", "", ""],
        ["R1", "330102001001", tomorrow, "T1", "3"],
        ["R1", "330102001001", "2025-04-01", "T1", "2"],  # the key of row 2 again
    ]
    errors = errors_of(folder(tmp_path, answers=bad))
    text = "\n".join(errors)
    assert "survey_answers.csv, row 8, column community_code: 应为社区/村一级的区划代码" in text
    assert "survey_answers.csv, row 9, column answered_on: 日期应为 YYYY-MM-DD 格式" in text
    assert (
        "survey_answers.csv, row 10, column item: 应为调查题目编号 T1、T2、T3、N1、N2、N3、R1、R2、R3、S1、S2、S3 之一，"
        "而不是“Q7”" in text
    )
    assert "survey_answers.csv, row 11, column value: 应在 1 到 5 之间（现为 6）" in text
    assert "survey_answers.csv, row 12, column value: 应在 1 到 5 之间（现为 0）" in text
    assert "survey_answers.csv, row 13, column value: 应为整数，而不是“四”" in text
    assert "survey_answers.csv, row 14, column resident_ref: 必填，不能为空" in text
    assert "survey_answers.csv, row 14, column item: 必填，不能为空" in text
    assert "survey_answers.csv, row 14, column value: 必填，不能为空" in text
    assert f"survey_answers.csv, row 15, column answered_on: 作答日期 {tomorrow} 不能晚于今天" in text
    assert "survey_answers.csv, row 16, column resident_ref: 与第 2 行重复" in text
    assert not SurveyAnswer.objects.exists() and not Resident.objects.exists()


def test_unknown_residents_and_communities_are_reported(tmp_path):
    bad = [*ANSWERS, ["R9", "330102001001", "2025-04-01", "T1", "4"], ["R1", "330102001009", "2025-04-09", "T1", "4"]]
    assert errors_of(folder(tmp_path, answers=bad)) == [
        "survey_answers.csv, row 8, column resident_ref: 居民 R9 不存在（系统中没有，本次导入的 residents.csv 中也没有）",
        "survey_answers.csv, row 9, column community_code: 社区 330102001009 不存在（系统中没有，本次导入的 places.csv 中也没有）",
    ]
    assert not SurveyAnswer.objects.exists()


def test_answers_may_come_alone_naming_stored_residents(tmp_path):
    import_data(write_folder(tmp_path / "base", SMALL))
    report = import_data(write_folder(tmp_path / "later", {SURVEY_ANSWERS_FILE: ANSWERS}))
    assert report.counts()[SURVEY_ANSWERS_FILE].created == 6


def test_imported_answers_feed_the_engine(tmp_path):
    import_data(folder(tmp_path))
    rows = list(SurveyAnswer.objects.values_list("resident_id", "community_id", "answered_on", "item", "value"))
    scores = {(c, i): (v, n) for c, i, v, n, _d in scale_scores(answers_frame(rows), Period.parse("2025")).iter_rows()}
    assert scores[("330102001001", "S_TRUST")] == (4.0, 1.0)
    assert scores[("330102001002", "S_SATISFACTION")] == (1.0, 1.0)


def test_export_round_trip(tmp_path):
    import_data(folder(tmp_path))
    before = state()
    out = tmp_path / "out"
    counts = export_data(out)
    assert counts[SURVEY_ANSWERS_FILE] == 6
    lines = (out / SURVEY_ANSWERS_FILE).read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(HEADER)
    assert lines[1:] == [
        "R1,330102001001,2025-04-01,T1,4",
        "R1,330102001001,2025-04-01,T2,5",
        "R1,330102001001,2025-04-01,T3,3",
        "R2,330102001001,2025-02-20,N1,5",
        "R3,330102001002,2025-04-02,S1,1",
        "R3,330102001002,2025-04-02,T1,2",
    ]
    # Importing the export into the same database changes nothing; into an empty one, it recreates the rows.
    assert not import_data(out).changed
    assert state() == before
    SurveyAnswer.objects.all().delete()
    report = import_data(out)
    assert report.counts()[SURVEY_ANSWERS_FILE].created == 6
    assert [row[:5] for row in state()] == [row[:5] for row in before]
    again = tmp_path / "again"
    export_data(again)
    assert (again / SURVEY_ANSWERS_FILE).read_bytes() == (out / SURVEY_ANSWERS_FILE).read_bytes()


def test_export_writes_app_answers_with_refs_only_and_under_a_place(tmp_path, tree):
    survey = make_survey(tree, targets=[tree.street_a])
    resident, user = resident_with_account(tree.comm_a1, name="王秀英")
    answer(user, survey, 3)
    _other, other_user = resident_with_account(tree.comm_a2, name="李建国")
    answer(other_user, survey, 5)
    # An answer given in comm_a1 by a resident who then moved outside street A.
    moved, moved_user = resident_with_account(tree.comm_a1, name="赵大海")
    answer(moved_user, survey, 2)
    Resident.objects.filter(pk=moved.pk).update(community=tree.comm_b1)

    counts = export_data(tmp_path / "all")
    assert counts[SURVEY_ANSWERS_FILE] == 36
    text = (tmp_path / "all" / SURVEY_ANSWERS_FILE).read_text(encoding="utf-8")
    for personal in ("王秀英", "李建国", "赵大海", resident.phone, str(resident.pk), str(survey.pk)):
        assert personal not in text
    assert f"{resident.ref},{tree.comm_a1.code},{timezone.localdate().isoformat()},N1,3" in text

    one = export_data(tmp_path / "a1", place_code=tree.comm_a1.code)
    assert one[SURVEY_ANSWERS_FILE] == 12  # the mover's answers would name a resident not in residents.csv
    lines = (tmp_path / "a1" / SURVEY_ANSWERS_FILE).read_text(encoding="utf-8").splitlines()[1:]
    assert {line.split(",")[0] for line in lines} == {resident.ref}
    # The exported place imports on its own.
    SurveyAnswer.objects.all().delete()
    assert import_data(tmp_path / "a1").counts()[SURVEY_ANSWERS_FILE].created == 12


def test_an_import_matching_an_app_answer_keeps_its_round(tmp_path, tree):
    survey = make_survey(tree, targets=[tree.comm_a1])
    resident, user = resident_with_account(tree.comm_a1)
    answer(user, survey, 3)
    today = timezone.localdate().isoformat()
    rows = [HEADER, [resident.ref, tree.comm_a1.code, today, "T1", "5"]]
    report = import_data(write_folder(tmp_path / "fix", {SURVEY_ANSWERS_FILE: rows}))
    assert report.counts()[SURVEY_ANSWERS_FILE].updated == 1
    t1 = SurveyAnswer.objects.get(resident=resident, item="T1")
    assert t1.value == 5 and t1.survey == survey
    assert SurveyAnswer.objects.count() == 12
