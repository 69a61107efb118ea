from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.activities.models import ActivityMode

from .models import CourseStatus


class CourseForm(forms.Form):
    title = forms.CharField(label=_("课程名称"), max_length=200)
    series = forms.ChoiceField(label=_("主题系列"), required=False)
    teachers = forms.MultipleChoiceField(label=_("授课教师"), required=False, widget=forms.CheckboxSelectMultiple)
    audience = forms.CharField(label=_("面向对象"), max_length=200, required=False)
    capacity = forms.IntegerField(label=_("名额"), required=False, min_value=1, help_text=_("留空表示不限"))
    status = forms.ChoiceField(label=_("状态"), choices=CourseStatus.choices, initial=CourseStatus.OPEN)
    description = forms.CharField(label=_("课程介绍"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, series: Any = (), teachers: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["series"].choices = [("", _("（无）")), *[(str(s.pk), s.name) for s in series]]  # type: ignore[attr-defined]
        self.fields["teachers"].choices = [(str(t.pk), t.name) for t in teachers]  # type: ignore[attr-defined]


class SessionForm(forms.Form):
    starts_at = forms.DateTimeField(
        label=_("开始时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label=_("结束时间"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    venue = forms.CharField(label=_("地点"), max_length=200, required=False)
    teacher = forms.ChoiceField(label=_("授课教师"), required=False)
    mode = forms.ChoiceField(label=_("形式"), choices=ActivityMode.choices, initial=ActivityMode.LOCAL)
    title = forms.CharField(label=_("标题"), max_length=200, required=False, help_text=_("留空则为“课程名称 第N讲”"))

    def __init__(self, *args: Any, teachers: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["teacher"].choices = [("", _("（未定）")), *[(str(t.pk), t.name) for t in teachers]]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and end < start:
            self.add_error("ends_at", _("结束时间不能早于开始时间"))
        return data


class SeriesForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class TeacherForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    expertise = forms.CharField(label=_("专长"), max_length=200, required=False)
    bio = forms.CharField(label=_("简介"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
