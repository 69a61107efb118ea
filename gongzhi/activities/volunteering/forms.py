"""Forms of the volunteering pages (parsing only; the services decide)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
HOURS_INPUT = forms.NumberInput(attrs={"step": "0.5", "min": "0", "max": "24", "inputmode": "decimal"})


class EventForm(forms.Form):
    title = forms.CharField(label=_("活动名称"), max_length=200)
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=_("结束时间"), required=False, widget=DATETIME_INPUT)
    venue = forms.CharField(label=_("集合地点"), max_length=200, required=False)
    capacity = forms.IntegerField(label=_("名额"), min_value=1, required=False, help_text=_("留空表示不限人数"))
    description = forms.CharField(
        label=_("服务内容"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    signup_open = forms.BooleanField(label=_("开放居民报名"), required=False, initial=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends < starts:
            self.add_error("ends_at", _("结束时间不能早于开始时间"))
        return data


class HoursForm(forms.Form):
    """Hours without an event: a member of the team, a date, the hours."""

    resident = forms.ChoiceField(label=_("志愿者"))
    served_on = forms.DateField(label=_("服务日期"), widget=forms.DateInput(attrs={"type": "date"}))
    hours = forms.DecimalField(
        label=_("时长（小时）"),
        min_value=Decimal("0.01"),
        max_value=Decimal(24),
        decimal_places=2,
        max_digits=4,
        widget=HOURS_INPUT,
    )
    note = forms.CharField(label=_("服务内容"), max_length=300, required=False)
    confirm = forms.BooleanField(
        label=_("同时确认"),
        required=False,
        help_text=_("您不是这位志愿者时可以直接确认；否则记录后由其他负责人或工作人员确认"),
    )

    def __init__(self, *args: Any, members: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["resident"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—")] + [(str(r.pk), f"{r.masked_name or r.ref}（{r.ref}）") for r in members]
        self.initial.setdefault("served_on", timezone.localdate())


class ReverseForm(forms.Form):
    hours = forms.DecimalField(
        label=_("更正后的时长（小时）"),
        min_value=Decimal(0),
        max_value=Decimal(24),
        decimal_places=2,
        max_digits=4,
        initial=Decimal(0),
        widget=HOURS_INPUT,
        help_text=_("填 0 表示撤销整条记录"),
    )
    reason = forms.CharField(label=_("冲正原因"), max_length=300)
