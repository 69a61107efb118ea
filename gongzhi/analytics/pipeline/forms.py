"""Forms of the 测评设置 and 指标计算 pages. Checks beyond field types are the services' (Chinese messages keyed by
field: ``goalposts.I1`` → the goalpost inputs of I1, ``expert_weights.I1`` → its weight input)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..engine import spec
from ..engine.config import MeasureConfig
from ..models import Weighting
from ..services import GRAPH_LIMIT_MAX

SCORED = tuple(s for s in spec.CORE if s.scored)
WEIGHTED = tuple(s for s in (*spec.CORE, *spec.SURVEY) if s.scored)


def lo_name(indicator: str) -> str:
    return f"lo_{indicator}"


def hi_name(indicator: str) -> str:
    return f"hi_{indicator}"


def weight_name(indicator: str) -> str:
    return f"w_{indicator}"


class SettingsForm(forms.Form):
    weighting = forms.ChoiceField(label=_("赋权方法"), choices=Weighting.choices)
    threshold = forms.FloatField(
        label=_("短板阈值"),
        min_value=0,
        max_value=100,
        help_text=_("维度得分低于它、且为最低时，判为主要短板（0–100）"),
    )
    graph_limit = forms.IntegerField(
        label=_("建网活动人数上限"),
        min_value=2,
        max_value=GRAPH_LIMIT_MAX,
        help_text=_("出席居民超过这个人数的活动（如大讲堂）不在共同参与网络中连线"),
    )
    note = forms.CharField(label=_("修改说明"), max_length=300, required=False)

    def __init__(self, *args: Any, config: MeasureConfig, **kwargs: Any) -> None:
        initial = {
            "weighting": config.weighting,
            "threshold": config.threshold,
            "graph_limit": config.graph_limit,
        }
        for s in SCORED:
            lo, hi = config.goalposts[s.id]
            initial[lo_name(s.id)], initial[hi_name(s.id)] = lo, hi
        for s in WEIGHTED:
            initial[weight_name(s.id)] = config.expert_weights.get(s.id)
        kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        for s in SCORED:
            self.fields[lo_name(s.id)] = forms.FloatField(label=_("%(id)s 下限") % {"id": s.id})
            self.fields[hi_name(s.id)] = forms.FloatField(label=_("%(id)s 上限") % {"id": s.id})
        for s in WEIGHTED:
            self.fields[weight_name(s.id)] = forms.FloatField(
                label=_("%(id)s 专家权重") % {"id": s.id}, required=False, min_value=0
            )
        for name in self.fields:
            if name.startswith(("lo_", "hi_", "w_")):
                self.fields[name].widget.attrs.update({"step": "any", "inputmode": "decimal", "class": "num-input"})

    def values(self) -> dict[str, Any]:
        """The cleaned data as the service's arguments."""
        data = self.cleaned_data
        return {
            "goalposts": {s.id: [data[lo_name(s.id)], data[hi_name(s.id)]] for s in SCORED},
            "weighting": data["weighting"],
            "expert_weights": {
                s.id: data[weight_name(s.id)] for s in WEIGHTED if data.get(weight_name(s.id)) is not None
            },
            "threshold": data["threshold"],
            "graph_limit": data["graph_limit"],
            "note": data.get("note", ""),
        }

    def field_for(self, error_key: str) -> str | None:
        """The form field of a service error key (None: above the form)."""
        if error_key.startswith("goalposts."):
            return hi_name(error_key.split(".", 1)[1])
        if error_key.startswith("expert_weights."):
            return weight_name(error_key.split(".", 1)[1])
        return error_key if error_key in self.fields else None


class ComputationForm(forms.Form):
    period = forms.CharField(
        label=_("时期"),
        max_length=10,
        help_text=_("年度如 2025，季度如 2025Q1"),
        widget=forms.TextInput(attrs={"placeholder": "2025", "autocomplete": "off", "size": 8}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"period": str(timezone.localdate().year)})
        super().__init__(*args, **kwargs)
