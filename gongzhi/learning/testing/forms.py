"""Forms of the online-test pages. They parse input; the services check the domain rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import QuestionKind
from .services import LETTERS, MAX_ATTEMPTS, MAX_OPTIONS, MAX_TIME_LIMIT

OPTION_FIELDS = [f"option_{c.lower()}" for c in LETTERS[:MAX_OPTIONS]]


def _choices(objs: Any, empty: Any) -> list[tuple[str, str]]:
    return [("", empty), *[(str(o.pk), str(o)) for o in objs]]


class BankForm(forms.Form):
    name = forms.CharField(label=_("题库名称"), max_length=100)
    course = forms.ChoiceField(label=_("课程"), required=False)
    series = forms.ChoiceField(label=_("主题系列"), required=False, help_text=_("留空则沿用课程所属的主题系列"))

    def __init__(self, *args: Any, courses: Any = (), series: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].choices = _choices(courses, _("（不限课程）"))  # type: ignore[attr-defined]
        self.fields["series"].choices = _choices(series, _("（无）"))  # type: ignore[attr-defined]


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("题型"), choices=QuestionKind.choices, initial=QuestionKind.SINGLE)
    text = forms.CharField(label=_("题目"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    answer = forms.MultipleChoiceField(
        label=_("正确答案"),
        choices=[(str(i), c) for i, c in enumerate(LETTERS[:MAX_OPTIONS])],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("单选题勾一个；多选题勾全部正确选项；判断题 A 为“正确”、B 为“错误”"),
    )
    explanation = forms.CharField(
        label=_("解析"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("交卷后给居民看"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i, name in enumerate(OPTION_FIELDS):
            self.fields[name] = forms.CharField(
                label=_("选项 %(letter)s") % {"letter": LETTERS[i]},
                max_length=500,
                required=False,
                help_text=_("判断题不用填写选项") if i == 0 else "",
            )

    def option_fields(self) -> list[Any]:
        return [self[name] for name in OPTION_FIELDS]

    def cleaned_choices(self) -> list[str]:
        return [self.cleaned_data.get(name, "") or "" for name in OPTION_FIELDS]

    def cleaned_answer(self) -> list[int]:
        return sorted(int(v) for v in self.cleaned_data.get("answer", []))

    @staticmethod
    def initial_for(question: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "kind": question.kind,
            "text": question.text,
            "answer": [str(i) for i in question.answer],
            "explanation": question.explanation,
        }
        if question.kind != QuestionKind.TRUE_FALSE:
            for name, choice in zip(OPTION_FIELDS, question.choices, strict=False):
                initial[name] = choice
        return initial


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Excel 文件（.xlsx）"))


class OnlineTestForm(forms.Form):
    title = forms.CharField(label=_("测试名称"), max_length=200)
    bank = forms.ChoiceField(label=_("题库"))
    course = forms.ChoiceField(label=_("课程"), required=False, help_text=_("留空则沿用题库的课程"))
    series = forms.ChoiceField(
        label=_("主题系列"), required=False, help_text=_("留空则沿用题库或课程的主题系列；认证条件按系列统计通过的测试")
    )
    question_count = forms.IntegerField(label=_("抽题数"), required=False, min_value=1, help_text=_("留空表示全部题目"))
    time_limit_minutes = forms.IntegerField(
        label=_("限时（分钟）"), required=False, min_value=1, max_value=MAX_TIME_LIMIT, help_text=_("留空表示不限时")
    )
    pass_mark = forms.IntegerField(label=_("及格分（百分制）"), min_value=0, max_value=100, initial=60)
    attempts_allowed = forms.IntegerField(label=_("可作答次数"), min_value=1, max_value=MAX_ATTEMPTS, initial=3)
    shuffle = forms.BooleanField(label=_("打乱题目和选项顺序"), required=False, initial=True)

    def __init__(self, *args: Any, banks: Any = (), courses: Any = (), series: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bank"].choices = [  # type: ignore[attr-defined]
            ("", _("请选择题库")),
            *[(str(b.pk), f"{b.name}（{b.place.name}，{b.active_count} 题）") for b in banks],
        ]
        self.fields["course"].choices = _choices(courses, _("（无）"))  # type: ignore[attr-defined]
        self.fields["series"].choices = _choices(series, _("（无）"))  # type: ignore[attr-defined]
