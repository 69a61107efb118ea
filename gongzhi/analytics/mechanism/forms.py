"""The form of the 机制检验 page (parsing only; ``services.mechanism_run`` decides)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import services
from .labels import OUTCOME_CHOICES


class MechanismRunForm(forms.Form):
    periods = forms.MultipleChoiceField(
        label=_("时期"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("至少选择两个时期（同为年度或同为季度）"),
    )
    outcome = forms.ChoiceField(label=_("结果变量 Y"), choices=OUTCOME_CHOICES, initial="G1")
    resamples = forms.IntegerField(
        label=_("自助抽样次数"),
        min_value=services.MIN_RESAMPLES,
        max_value=services.MAX_RESAMPLES,
        initial=services.DEFAULT_RESAMPLES,
        help_text=_("按社区整体有放回抽样，默认 2000 次"),
    )
    seed = forms.IntegerField(
        label=_("随机种子"),
        min_value=0,
        max_value=services.MAX_SEED,
        initial=services.DEFAULT_SEED,
        help_text=_("相同数据、相同种子得到相同结果"),
    )

    def __init__(self, *args: Any, periods: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["periods"].choices = [(p, p) for p in periods]  # type: ignore[attr-defined]
