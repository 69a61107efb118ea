"""Forms of credential programmes, and the criteria builder: rows of conditions (kind, minimum, series, course, test,
level, window) grouped under "all"/"any" with one level of sub-groups, or the JSON itself for experts.

The builder turns its rows into a criteria tree and validates it with ``criteria.problems``; each problem is put on
the row and field it comes from ("第 3 行「最少」：必须是 1 到 1000000 之间的整数"). A tree deeper than the rows can
show is edited as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Course, CredentialLevel, OnlineTest, Series
from . import criteria as crit

ROWS = 8
GROUP_KEYS = ("A", "B", "C")
ROW_KEYS = ("group", "kind", "min", "series", "course", "test", "rank", "from", "to", "days")
ROW_LABELS = {
    "group": gettext_lazy("分组"),
    "kind": gettext_lazy("条件类型"),
    "min": gettext_lazy("最少"),
    "series": gettext_lazy("主题系列"),
    "course": gettext_lazy("课程"),
    "test": gettext_lazy("测试"),
    "rank": gettext_lazy("级别"),
    "from": gettext_lazy("起始日期"),
    "to": gettext_lazy("截止日期"),
    "days": gettext_lazy("近 N 天"),
}
OP_CHOICES = [("all", gettext_lazy("全部满足（并且）")), ("any", gettext_lazy("任一满足（或者）"))]
KIND_CHOICES = [
    ("", gettext_lazy("（空行）")),
    (crit.POINTS, gettext_lazy("积分")),
    (crit.SESSIONS, gettext_lazy("参加课次")),
    (crit.COURSES, gettext_lazy("完成课程")),
    (crit.TESTS, gettext_lazy("通过测试")),
    (crit.LEVEL, gettext_lazy("持有级别证书")),
]
MODE_CHOICES = [("rows", gettext_lazy("用表格填写")), ("json", gettext_lazy("直接编辑 JSON（高级）"))]


class ProgrammeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    description = forms.CharField(label=gettext_lazy("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    series = forms.ChoiceField(label=gettext_lazy("主题系列"), required=False)
    validity_months = forms.IntegerField(
        label=gettext_lazy("有效期（月）"),
        required=False,
        min_value=1,
        max_value=240,
        help_text=gettext_lazy("留空表示长期有效"),
    )

    def __init__(self, *args: Any, series: Sequence[Series] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.series_objects = list(series)
        self.fields["series"].choices = [  # type: ignore[attr-defined]
            ("", _("（不限）")),
            *[(str(s.pk), s.name) for s in self.series_objects],
        ]

    def chosen_series(self) -> Series | None:
        pk = self.cleaned_data.get("series") or ""
        return next((s for s in self.series_objects if str(s.pk) == pk), None)


class CopyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("新版本名称"), max_length=100, required=False, help_text=gettext_lazy("留空则自动命名")
    )


def _leaf_from_row(row: dict[str, Any]) -> dict[str, Any]:
    kind = row["kind"]
    leaf: dict[str, Any] = {"kind": kind}
    if kind == crit.LEVEL:
        leaf["rank"] = row.get("rank")
        for key in ("min", "series", "course", "test", "from", "to", "days"):
            if row.get(key) not in (None, ""):
                leaf[key] = row[key]  # refused by validation, on that field
        return leaf
    leaf["min"] = row.get("min")
    for key in ("series", "course", "test"):
        if row.get(key):
            leaf[key] = row[key]
    window: dict[str, Any] = {}
    if row.get("from"):
        window["from"] = row["from"].isoformat()
    if row.get("to"):
        window["to"] = row["to"].isoformat()
    if row.get("days") is not None:
        window["days"] = row["days"]
    if window:
        leaf["window"] = window
    if row.get("rank"):
        leaf["rank"] = row["rank"]
    return leaf


def rows_from_tree(tree: Any) -> tuple[str, dict[str, str], list[dict[str, Any]]] | None:
    """(top operator, {group key: operator}, rows) for a tree the rows can show, else None."""
    if not isinstance(tree, dict) or not tree:
        return "all", {}, []
    if not crit.is_group(tree):
        children, top = [tree], "all"
    else:
        top, children = next(iter(tree.items()))
    ops: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    groups = 0
    for child in children:
        if crit.is_group(child):
            if groups >= len(GROUP_KEYS):
                return None
            key = GROUP_KEYS[groups]
            groups += 1
            op, leaves = next(iter(child.items()))
            ops[key] = op
            for leaf in leaves:
                if crit.is_group(leaf) or not isinstance(leaf, dict):
                    return None
                rows.append({"group": key, **_row_from_leaf(leaf)})
        elif isinstance(child, dict):
            rows.append({"group": "", **_row_from_leaf(child)})
        else:
            return None
    return top, ops, rows


def _row_from_leaf(leaf: dict[str, Any]) -> dict[str, Any]:
    raw = leaf.get("window")
    window: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return {
        "kind": leaf.get("kind", ""),
        "min": leaf.get("min"),
        "series": leaf.get("series") or "",
        "course": leaf.get("course") or "",
        "test": leaf.get("test") or "",
        "rank": leaf.get("rank") or "",
        "from": window.get("from") or "",
        "to": window.get("to") or "",
        "days": window.get("days"),
    }


class LevelForm(forms.Form):
    """A level: rank, name, description, and its criteria from the builder's rows or from JSON."""

    rank = forms.IntegerField(
        label=gettext_lazy("级别"), min_value=1, max_value=100, help_text=gettext_lazy("1 为最低")
    )
    name = forms.CharField(label=gettext_lazy("名称"), max_length=50, help_text=gettext_lazy("如“一星家长”"))
    description = forms.CharField(label=gettext_lazy("说明"), max_length=300, required=False)
    mode = forms.ChoiceField(
        label=gettext_lazy("填写方式"), choices=MODE_CHOICES, initial="rows", widget=forms.RadioSelect
    )
    top = forms.ChoiceField(label=gettext_lazy("各项条件之间"), choices=OP_CHOICES, initial="all")
    criteria_json = forms.CharField(
        label=gettext_lazy("条件 JSON"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "mono"}),
    )

    def __init__(
        self,
        *args: Any,
        series: Sequence[Series] = (),
        courses: Sequence[Course] = (),
        tests: Sequence[OnlineTest] = (),
        levels: Sequence[CredentialLevel] = (),
        level: CredentialLevel | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.level = level
        self.other_ranks = {lv.rank for lv in levels if level is None or lv.pk != level.pk}
        self.tree: Any = None
        self.row_errors: list[str] = []
        self.unrepresentable = False
        self.row_count = ROWS
        for key in GROUP_KEYS:
            self.fields[f"op_{key}"] = forms.ChoiceField(
                label=_("组 %(key)s 内") % {"key": key}, choices=OP_CHOICES, initial="any", required=False
            )
        if level is not None and not self.is_bound:
            self._initial_from_tree(level.criteria)
            self.initial.update({"rank": level.rank, "name": level.name, "description": level.description})
        elif not self.is_bound:
            self.initial.setdefault("criteria_json", "")
        if self.is_bound:
            filled = [i for i in range(100) if (self.data.get(f"r{i}_kind") or "") or f"r{i}_group" in self.data]
            self.row_count = max(ROWS, (max(filled) + 1) if filled else 0)
        group_choices = [("", "—"), *[(k, k) for k in GROUP_KEYS]]
        series_choices = [("", _("（不限）")), *[(str(s.pk), s.name) for s in series]]
        course_choices = [("", _("（不限）")), *[(str(c.pk), c.title) for c in courses]]
        test_choices = [("", _("（不限）")), *[(str(t.pk), t.title) for t in tests]]
        rank_choices = [("", _("—")), *[(str(lv.rank), f"{lv.rank} · {lv.name}") for lv in levels]]
        for i in range(self.row_count):
            n = i + 1

            def aria(key: str, n: int = n) -> dict[str, str]:
                return {"aria-label": _("第 %(n)d 行 %(field)s") % {"n": n, "field": ROW_LABELS[key]}, "data-col": key}

            self.fields[f"r{i}_group"] = forms.ChoiceField(
                label=ROW_LABELS["group"],
                choices=group_choices,
                required=False,
                widget=forms.Select(attrs=aria("group")),
            )
            self.fields[f"r{i}_kind"] = forms.ChoiceField(
                label=ROW_LABELS["kind"], choices=KIND_CHOICES, required=False, widget=forms.Select(attrs=aria("kind"))
            )
            self.fields[f"r{i}_min"] = forms.IntegerField(
                label=ROW_LABELS["min"], required=False, widget=forms.NumberInput(attrs={**aria("min"), "min": 1})
            )
            self.fields[f"r{i}_series"] = forms.ChoiceField(
                label=ROW_LABELS["series"],
                choices=series_choices,
                required=False,
                widget=forms.Select(attrs=aria("series")),
            )
            self.fields[f"r{i}_course"] = forms.ChoiceField(
                label=ROW_LABELS["course"],
                choices=course_choices,
                required=False,
                widget=forms.Select(attrs=aria("course")),
            )
            self.fields[f"r{i}_test"] = forms.ChoiceField(
                label=ROW_LABELS["test"], choices=test_choices, required=False, widget=forms.Select(attrs=aria("test"))
            )
            self.fields[f"r{i}_rank"] = forms.TypedChoiceField(
                label=ROW_LABELS["rank"],
                choices=rank_choices,
                required=False,
                coerce=int,
                empty_value=None,
                widget=forms.Select(attrs=aria("rank")),
            )
            for key in ("from", "to"):
                self.fields[f"r{i}_{key}"] = forms.DateField(
                    label=ROW_LABELS[key], required=False, widget=forms.DateInput(attrs={**aria(key), "type": "date"})
                )
            self.fields[f"r{i}_days"] = forms.IntegerField(
                label=ROW_LABELS["days"], required=False, widget=forms.NumberInput(attrs={**aria("days"), "min": 1})
            )

    # --- initial values from a saved tree -----------------------------------------------------------------------

    def _initial_from_tree(self, tree: Any) -> None:
        self.initial["criteria_json"] = json.dumps(tree, ensure_ascii=False, indent=2) if tree else ""
        shown = rows_from_tree(tree)
        if shown is None:
            self.unrepresentable = True
            self.initial["mode"] = "json"
            return
        top, ops, rows = shown
        self.initial["top"] = top
        self.initial["mode"] = "rows"
        for key, op in ops.items():
            self.initial[f"op_{key}"] = op
        self.row_count = max(ROWS, len(rows) + 2)
        for i, row in enumerate(rows):
            for key, value in row.items():
                if value not in (None, ""):
                    self.initial[f"r{i}_{key}"] = value

    # --- the rows as bound fields, for the template -------------------------------------------------------------

    def rows(self) -> list[tuple[int, list[forms.BoundField], bool]]:
        """(row number, its fields, whether it has an error) for each row."""
        out = []
        for i in range(self.row_count):
            cells = [self[f"r{i}_{key}"] for key in ROW_KEYS]
            out.append((i + 1, cells, any(cell.errors for cell in cells)))
        return out

    def group_ops(self) -> list[forms.BoundField]:
        return [self[f"op_{key}"] for key in GROUP_KEYS]

    def row_headers(self) -> list[str]:
        return [str(ROW_LABELS[key]) for key in ROW_KEYS]

    # --- cleaning -----------------------------------------------------------------------------------------------

    def _row_problem(self, row: int, key: str | None, message: str) -> None:
        field = f"r{row}_{key}" if key and f"r{row}_{key}" in self.fields else None
        if field:
            self.add_error(field, message)
            label = ROW_LABELS.get(key or "", key)
            self.row_errors.append(
                _("第 %(n)d 行「%(field)s」：%(message)s") % {"n": row + 1, "field": label, "message": message}
            )
        else:
            text = _("第 %(n)d 行：%(message)s") % {"n": row + 1, "message": message}
            self.row_errors.append(text)
            self.add_error(None, text)

    def _tree_from_rows(self, data: dict[str, Any]) -> tuple[Any, dict[tuple[int, ...], int]]:
        """The tree of the filled rows, and which row each leaf path came from."""
        top = data.get("top") or "all"
        children: list[Any] = []
        where: dict[tuple[int, ...], int] = {}
        group_index: dict[str, int] = {}
        for i in range(self.row_count):
            kind = data.get(f"r{i}_kind") or ""
            if not kind:
                continue
            row = {key: data.get(f"r{i}_{key}") for key in ROW_KEYS}
            leaf = _leaf_from_row(row)
            group = row.get("group") or ""
            if group:
                if group not in group_index:
                    op = data.get(f"op_{group}") or "any"
                    children.append({op: []})
                    group_index[group] = len(children)
                members = next(iter(children[group_index[group] - 1].values()))
                members.append(leaf)
                where[(group_index[group], len(members))] = i
            else:
                children.append(leaf)
                where[(len(children),)] = i
        return {top: children}, where

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rank = data.get("rank")
        own_rank = rank if isinstance(rank, int) else None
        ranks = self.other_ranks | ({own_rank} if own_rank else set())
        if data.get("mode") == "json":
            text = (data.get("criteria_json") or "").strip()
            if not text:
                self.add_error("criteria_json", _("请填写条件 JSON"))
                return data
            try:
                tree = json.loads(text)
            except json.JSONDecodeError as exc:
                self.add_error(
                    "criteria_json",
                    _("不是有效的 JSON：第 %(line)d 行第 %(col)d 列，%(msg)s")
                    % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
                )
                return data
            problems = crit.problems(tree, own_rank=own_rank, ranks=ranks)
            for p in problems:
                self.add_error("criteria_json", crit.format_problem(p))
            if not problems:
                self.tree = crit.normalize(tree)
            return data
        # Rows: a row whose fields failed to parse is reported there already.
        bad_rows = {int(name[1:].split("_", 1)[0]) for name in self.errors if name.startswith("r") and "_" in name}
        for name, errors in list(self.errors.items()):
            if name.startswith("r") and "_" in name and name in self.fields:
                i, key = name[1:].split("_", 1)
                for e in errors:
                    self.row_errors.append(
                        _("第 %(n)d 行「%(field)s」：%(message)s")
                        % {"n": int(i) + 1, "field": ROW_LABELS.get(key, key), "message": e}
                    )
        tree, where = self._tree_from_rows(data)
        if not tree[next(iter(tree))]:
            self.add_error(None, _("请至少填写一行条件（选择条件类型）"))
            return data
        problems = crit.problems(tree, own_rank=own_rank, ranks=ranks)
        for p in problems:
            row = where.get(p.path)
            if row is None:
                if len(p.path) == 1 and p.path not in where:  # a group
                    self.add_error(None, crit.format_problem(p))
                elif not p.path:
                    self.add_error(None, p.message)
                continue
            if row in bad_rows:
                continue
            self._row_problem(row, "from" if p.field == "window" else p.field, p.message)
        if not problems and not bad_rows:
            self.tree = crit.normalize(tree)
        return data

    def criteria(self) -> Any:
        """The validated, normalised tree (after ``is_valid()``)."""
        return self.tree
