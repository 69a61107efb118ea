"""Forms of the fulfilment pages (parsing only; the services decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ..forms import DATETIME_INPUT
from ..models import ActivityKind

SCORE_CHOICES = [(5, _("5 非常满意")), (4, _("4 满意")), (3, _("3 一般")), (2, _("2 不满意")), (1, _("1 很不满意"))]


class ExistingActivityForm(forms.Form):
    """Fulfil the need with an activity already held."""

    activity = forms.ChoiceField(label=_("已举办的活动"))

    def __init__(self, *args: Any, activities: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["activity"].choices = [("", _("请选择"))] + [  # type: ignore[attr-defined]
            (str(a.pk), f"{a.starts_at:%Y-%m-%d} {a.title}（{a.place.name}）") for a in activities
        ]


class NewActivityForm(forms.Form):
    """Record the activity that met the need, right here."""

    place = forms.ChoiceField(label=_("举办地"))
    kind = forms.ChoiceField(label=_("类型"), choices=ActivityKind.choices, initial=ActivityKind.COURSE_SESSION)
    title = forms.CharField(label=_("活动名称"), max_length=200)
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=_("结束时间"), required=False, widget=DATETIME_INPUT)
    venue = forms.CharField(label=_("地点"), max_length=200, required=False)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, places: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = [  # type: ignore[attr-defined]
            (p.code, f"{p.name}（{p.get_level_display()}）") for p in places
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends < starts:
            self.add_error("ends_at", _("结束时间不能早于开始时间"))
        return data


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(label=_("满意度"), coerce=int, choices=SCORE_CHOICES, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("意见"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 3}))
