"""Questions from a spreadsheet (XLSX): read and check every row first, import all or nothing.

Columns (the first row holds the headers, in any order): 题型 (单选 / 多选 / 判断), 题目, 选项A … 选项H, 答案
(letters such as ``B`` or ``ACD``; for true/false 正确 / 错误), 解析 (optional). Errors name the row and column as the
spreadsheet shows them (row 2 is the first question).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from ..models import QuestionKind
from .services import LETTERS, MAX_OPTIONS, QuestionData, question_problems

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 1000

KINDS = {
    "单选": QuestionKind.SINGLE,
    "单选题": QuestionKind.SINGLE,
    "single": QuestionKind.SINGLE,
    "多选": QuestionKind.MULTIPLE,
    "多选题": QuestionKind.MULTIPLE,
    "multiple": QuestionKind.MULTIPLE,
    "判断": QuestionKind.TRUE_FALSE,
    "判断题": QuestionKind.TRUE_FALSE,
    "true_false": QuestionKind.TRUE_FALSE,
}
TRUE_WORDS = {"正确", "对", "是", "√", "✓", "T", "TRUE", "A", "Y"}
FALSE_WORDS = {"错误", "错", "否", "×", "✗", "X", "F", "FALSE", "B", "N"}
HEADERS = ["题型", "题目", *[f"选项{c}" for c in LETTERS[:MAX_OPTIONS]], "答案", "解析"]


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.row:
            return _("第 %(row)d 行「%(col)s」列：%(msg)s") % {"row": self.row, "col": self.column, "msg": self.message}
        return self.message


@dataclass
class ImportCheck:
    rows: list[QuestionData] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        return "正确" if value else "错误"
    return str(value).strip()


# English column names are accepted as well as the template's Chinese ones.
ENGLISH_HEADERS = {"type": "题型", "kind": "题型", "question": "题目", "answer": "答案", "explanation": "解析"}


def _header_key(value: Any) -> str:
    text = _text(value).replace(" ", "").replace("　", "")
    if re.fullmatch(r"[A-Ha-h]", text):
        return f"选项{text.upper()}"
    option = re.fullmatch(r"option([A-Ha-h])", text, flags=re.IGNORECASE)
    if option:
        return f"选项{option.group(1).upper()}"
    return ENGLISH_HEADERS.get(text.lower(), text)


def _answer(kind: str, raw: str, n_options: int) -> tuple[list[int], str | None]:
    text = raw.strip().upper()
    if not text:
        return [], _("请填写答案")
    if kind == QuestionKind.TRUE_FALSE:
        if text in TRUE_WORDS:
            return [0], None
        if text in FALSE_WORDS:
            return [1], None
        return [], _("判断题的答案应为“正确”或“错误”")
    letters = re.sub(r"[\s,，、;；/]+", "", text)
    if not re.fullmatch(r"[A-Z]+", letters):
        return [], _("答案应为选项字母，如 B 或 ACD")
    picks = []
    for ch in letters:
        index = ord(ch) - ord("A")
        if index >= n_options:
            return [], _("答案“%(ch)s”没有对应的选项") % {"ch": ch}
        picks.append(index)
    return sorted(set(picks)), None


FIELD_COLUMNS = {"kind": "题型", "text": "题目", "choices": "选项", "answer": "答案", "explanation": "解析"}


def check_workbook(data: bytes) -> ImportCheck:
    """Read and check every row. Nothing is written; ``rows`` is meaningful only when ``errors`` is empty."""
    from openpyxl import load_workbook

    result = ImportCheck()
    if len(data) > MAX_BYTES:
        result.errors.append(RowError(0, "", _("文件太大（不超过 2 MB）")))
        return result
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        result.errors.append(RowError(0, "", _("不是有效的 Excel 文件（.xlsx）")))
        return result
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            result.errors.append(RowError(0, "", _("表格是空的")))
            return result
        columns = {_header_key(v): i for i, v in enumerate(header) if _header_key(v)}
        missing = [name for name in ("题型", "题目", "答案") if name not in columns]
        if missing:
            result.errors.append(RowError(1, "、".join(missing), _("缺少这一列（第一行应为列名）")))
            return result
        option_cols = [(c, columns[f"选项{c}"]) for c in LETTERS[:MAX_OPTIONS] if f"选项{c}" in columns]

        def cell(values: tuple[Any, ...], name: str) -> str:
            i = columns.get(name)
            return _text(values[i]) if i is not None and i < len(values) else ""

        for number, values in enumerate(rows, start=2):
            if not any(_text(v) for v in values):
                continue
            if len(result.rows) + len(result.errors) >= MAX_ROWS:
                result.errors.append(RowError(number, "", _("一次最多导入 %(n)d 道题") % {"n": MAX_ROWS}))
                break
            row_errors: list[RowError] = []
            kind_text = cell(values, "题型")
            kind = KINDS.get(kind_text) or KINDS.get(kind_text.lower())
            if kind is None:
                row_errors.append(RowError(number, "题型", _("应为“单选”“多选”或“判断”")))
                kind = QuestionKind.SINGLE
            choices = [cell(values, f"选项{c}") for c, _i in option_cols]
            n_options = 2 if kind == QuestionKind.TRUE_FALSE else len([c for c in choices if c])
            answer, answer_error = _answer(kind, cell(values, "答案"), n_options)
            if answer_error:
                row_errors.append(RowError(number, "答案", answer_error))
            text = cell(values, "题目")
            explanation = cell(values, "解析")
            problems, clean_choices, clean_answer = question_problems(
                kind=kind, text=text, choices=choices, answer=answer
            )
            for fname, messages in problems.items():
                if fname == "answer" and answer_error:
                    continue
                if fname == "kind" and any(e.column == "题型" for e in row_errors):
                    continue
                for message in messages:
                    row_errors.append(RowError(number, FIELD_COLUMNS.get(fname, fname), message))
            if len(explanation) > 4000:
                row_errors.append(RowError(number, "解析", _("解析不能超过 4000 字")))
            if row_errors:
                result.errors.extend(row_errors)
            else:
                result.rows.append(
                    QuestionData(
                        kind=kind, text=text, choices=clean_choices, answer=clean_answer, explanation=explanation
                    )
                )
        if not result.rows and not result.errors:
            result.errors.append(RowError(0, "", _("表格中没有题目")))
    finally:
        book.close()
    return result


def template_workbook() -> bytes:
    """An example spreadsheet to fill in."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "题目"
    sheet.append(HEADERS)
    for c in sheet[1]:
        c.font = Font(bold=True)
    blank = [""] * (MAX_OPTIONS - 4)
    sheet.append(
        [
            "单选",
            "婴儿满几个月后可以开始添加辅食？",
            "3 个月",
            "6 个月",
            "12 个月",
            "18 个月",
            *blank,
            "B",
            "世界卫生组织建议纯母乳喂养至 6 个月，之后逐步添加辅食。",
        ]
    )
    sheet.append(
        [
            "多选",
            "下列哪些做法有助于隔代教养中的沟通？",
            "定期家庭会议",
            "当着孩子面争执",
            "统一教养规则",
            "互相尊重",
            *blank,
            "ACD",
            "",
        ]
    )
    sheet.append(
        ["判断", "孩子哭闹时应立即满足其一切要求。", "", "", "", "", *blank, "错误", "及时回应不等于一味满足。"]
    )
    sheet.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
