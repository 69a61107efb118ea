"""Forms of the issue pages (parsing only; the services decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.activities.models import ActivityKind

from ..models import IssueCategory, IssueStatus

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
DATETIME_FORMATS = [DATETIME_LOCAL, "%Y-%m-%d %H:%M"]
IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"


def _datetime_field(label: Any, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )


class IssueForm(forms.Form):
    """A resident raises an issue in their community (with an optional photo)."""

    title = forms.CharField(
        label=_("议题"), max_length=200, widget=forms.TextInput(attrs={"placeholder": _("如：小区加装电梯")})
    )
    category = forms.ChoiceField(label=_("类别"), choices=IssueCategory.choices, initial=IssueCategory.OTHER)
    description = forms.CharField(
        label=_("说明"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("遇到了什么问题？希望大家一起商量什么？")}),
    )
    photo = forms.FileField(
        label=_("照片"),
        required=False,
        help_text=_("可选，JPG、PNG 或 WebP，不超过 5 MB"),
        widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
    )


class StaffIssueForm(IssueForm):
    """Staff register an issue for a community under their place (e.g. raised at a meeting or on paper)."""

    community = forms.ChoiceField(label=_("社区"))
    raised_on = forms.DateField(label=_("提出日期"), widget=forms.DateInput(attrs={"type": "date"}))

    field_order = ["community", "title", "category", "description", "raised_on", "photo"]

    def __init__(self, *args: Any, communities: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [(p.code, p.name) for p in communities]  # type: ignore[attr-defined]
        self.initial.setdefault("raised_on", timezone.localdate())


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(label=_("变为"), choices=IssueStatus.choices)
    reason = forms.CharField(label=_("理由"), max_length=300, required=False)
    on = forms.DateField(label=_("日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("不予立项理由"), max_length=300, widget=forms.TextInput(attrs={"placeholder": _("必填，将向居民公开")})
    )


class TopicForm(forms.Form):
    target = forms.ChoiceField(label=_("学习共同体或课程"))
    note = forms.CharField(label=_("说明"), max_length=300, required=False)

    def __init__(self, *args: Any, organizations: Any = (), courses: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices: list[Any] = [("", _("请选择"))]
        if organizations:
            choices.append((_("学习共同体"), [(f"org:{o.pk}", o.name) for o in organizations]))
        if courses:
            choices.append((_("课程"), [(f"course:{c.pk}", c.title) for c in courses]))
        self.fields["target"].choices = choices  # type: ignore[attr-defined]


SESSION_KIND_CHOICES = [
    (ActivityKind.DELIBERATION_MEETING, _("议事会（居民协商）")),
    (ActivityKind.COURSE_SESSION, _("专家讲座（课程中的一讲）")),
]


class SessionForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=SESSION_KIND_CHOICES, initial=ActivityKind.DELIBERATION_MEETING)
    title = forms.CharField(label=_("主题"), max_length=200)
    starts_at = _datetime_field(_("开始时间"))
    ends_at = _datetime_field(_("结束时间"), required=False)
    venue = forms.CharField(label=_("地点"), max_length=200, required=False)
    course = forms.ChoiceField(label=_("所属课程"), required=False, help_text=_("专家讲座必选"))
    teacher = forms.ChoiceField(label=_("主讲专家/教师"), required=False)
    purpose = forms.CharField(label=_("用途"), max_length=100, required=False)

    def __init__(self, *args: Any, courses: Any = (), teachers: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["course"].choices = [("", "—")] + [(str(c.pk), c.title) for c in courses]  # type: ignore[attr-defined]
        self.fields["teacher"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(t.pk), f"{t.name}（{t.expertise}）" if t.expertise else t.name) for t in teachers
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends < starts:
            self.add_error("ends_at", _("结束时间不能早于开始时间"))
        if data.get("kind") == ActivityKind.COURSE_SESSION and not data.get("course"):
            self.add_error("course", _("专家讲座请选择所属课程"))
        return data


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("发表意见"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("说说您的看法")}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=300)


class ProposalForm(forms.Form):
    title = forms.CharField(label=_("方案"), max_length=200)
    description = forms.CharField(
        label=_("说明"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
