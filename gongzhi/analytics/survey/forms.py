"""Forms of the social-capital survey pages: parsing only (the services decide)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .instrument import ITEMS, LIKERT, TEXTS, item_number

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SocialSurveyForm(forms.Form):
    title = forms.CharField(
        label=_("标题"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("如：2026 年上半年社会资本调查")}),
    )
    targets = forms.MultipleChoiceField(
        label=_("调查范围"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("选街道即包括该街道的所有社区"),
    )
    opens_on = forms.DateField(label=_("开始日期"), widget=DATE_WIDGET)
    closes_on = forms.DateField(label=_("截止日期"), widget=DATE_WIDGET)
    open_now = forms.BooleanField(label=_("保存后立即开始收集"), required=False, initial=True)

    def __init__(self, *args: Any, places: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["targets"].choices = [  # type: ignore[attr-defined]
            (p.code, p.name if p.level == "street" else f"　{p.name}") for p in places
        ]
        today = timezone.localdate()
        self.initial.setdefault("opens_on", today)
        self.initial.setdefault("closes_on", today + datetime.timedelta(days=21))


class AnswerForm(forms.Form):
    """All twelve items, each a choice of 1–5. A missing answer is reported next to its item."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for item in ITEMS:
            field = forms.TypedChoiceField(
                label=TEXTS[item],
                choices=[(str(v), label) for v, label in LIKERT],
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("第 %(n)d 题还没有选择") % {"n": item_number(item)},
                    "invalid_choice": _("第 %(n)d 题的答案应为 1 到 5") % {"n": item_number(item)},
                },
            )
            field.item = item  # type: ignore[attr-defined]
            field.number = item_number(item)  # type: ignore[attr-defined]
            self.fields[item] = field

    def answers(self) -> dict[str, int]:
        return {item: self.cleaned_data[item] for item in ITEMS}
