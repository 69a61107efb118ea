"""Questions from XLSX: every row is checked first; one bad row imports nothing; errors name row and column."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from gongzhi.learning.models import Question
from gongzhi.learning.testing import question_import, services

pytestmark = pytest.mark.django_db

HEAD = ["题型", "题目", "选项A", "选项B", "选项C", "选项D", "答案", "解析"]


def xlsx(rows, head=HEAD) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(head)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = [
    ["单选", "婴儿满几个月添加辅食？", "3 个月", "6 个月", "12 个月", None, "B", "WHO 建议 6 个月"],
    ["多选", "哪些有助于沟通？", "家庭会议", "当面争执", "统一规则", "互相尊重", "A, C、D", None],
    ["判断", "哭闹时应满足一切要求。", None, None, None, None, "错误", "及时回应不等于一味满足"],
    [None, None, None, None, None, None, None, None],  # blank rows are skipped
    ["判断题", "户外活动有益视力。", None, None, None, None, "√", None],
]


def test_good_rows_are_read(tree):
    checked = question_import.check_workbook(xlsx(GOOD))
    assert checked.errors == []
    assert [(r.kind, r.choices, r.answer) for r in checked.rows] == [
        ("single", ["3 个月", "6 个月", "12 个月"], [1]),
        ("multiple", ["家庭会议", "当面争执", "统一规则", "互相尊重"], [0, 2, 3]),
        ("true_false", ["正确", "错误"], [1]),
        ("true_false", ["正确", "错误"], [0]),
    ]
    bank = services.question_bank_create(actor=None, place=tree.street_a, name="题库")
    services.questions_import(actor=None, bank=bank, rows=checked.rows)
    assert list(bank.questions.order_by("order").values_list("text", flat=True)) == [r[1] for r in GOOD if r[1]]


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        (["问答", "题", "甲", "乙", None, None, "A", None], "题型", "单选"),
        (["单选", None, "甲", "乙", None, None, "A", None], "题目", "题目"),
        (["单选", "题", "甲", "乙", None, None, "AB", None], "答案", "一个"),
        (["单选", "题", "甲", "乙", None, None, "C", None], "答案", "C"),
        (["单选", "题", "甲", None, "丙", None, "A", None], "选项", "依次"),
        (["单选", "题", "甲", None, None, None, "A", None], "选项", "两个"),
        (["多选", "题", "甲", "乙", None, None, "", None], "答案", "答案"),
        (["多选", "题", "甲", "乙", None, None, "1", None], "答案", "字母"),
        (["判断", "题", None, None, None, None, "也许", None], "答案", "正确"),
    ],
)
def test_a_bad_row_imports_nothing_and_names_row_and_column(tree, row, column, fragment):
    checked = question_import.check_workbook(xlsx([GOOD[0], GOOD[1], row]))
    assert checked.errors, checked.rows
    e = checked.errors[0]
    assert (e.row, e.column) == (4, column), checked.errors
    assert fragment in e.message
    assert f"第 4 行「{column}」列" in str(e)


def test_import_view_is_all_or_nothing(client, tree):
    from tests import factories

    staff = factories.staff("street_staff", tree.street_a)
    bank = services.question_bank_create(actor=None, place=tree.street_a, name="题库")
    client.force_login(staff)
    bad = xlsx([GOOD[0], ["单选", "题", "甲", "乙", None, None, "Z", None]])
    r = client.post(f"/staff/question-banks/{bank.pk}/import/", {"file": io.BytesIO(bad)})
    assert r.status_code == 200
    assert "第 3 行「答案」列" in r.content.decode()
    assert not Question.objects.exists()
    f = io.BytesIO(xlsx(GOOD))
    f.name = "questions.xlsx"
    r = client.post(f"/staff/question-banks/{bank.pk}/import/", {"file": f})
    assert r.status_code == 302
    assert bank.questions.count() == 4


def test_missing_columns_and_bad_files(tree):
    checked = question_import.check_workbook(xlsx([["单选", "题"]], head=["题型", "题目"]))
    assert checked.errors and checked.errors[0].row == 1 and "答案" in checked.errors[0].column
    assert "Excel" in str(question_import.check_workbook(b"not a spreadsheet").errors[0])
    assert question_import.check_workbook(xlsx([])).errors  # no questions


def test_the_template_reads_back_without_errors():
    checked = question_import.check_workbook(question_import.template_workbook())
    assert checked.errors == [] and len(checked.rows) == 3


def test_english_column_names_and_values_are_read_too():
    head = ["Type", "Question", "Option A", "Option B", "Option C", "Answer", "Explanation"]
    rows = [
        ["single", "When do babies start solid food?", "3 months", "6 months", "12 months", "B", "WHO: 6 months"],
        ["true_false", "Outdoor play is good for the eyes.", None, None, None, "TRUE", None],
    ]
    checked = question_import.check_workbook(xlsx(rows, head=head))
    assert checked.errors == []
    assert [(r.kind, r.answer, r.explanation) for r in checked.rows] == [
        ("single", [1], "WHO: 6 months"),
        ("true_false", [0], ""),
    ]
