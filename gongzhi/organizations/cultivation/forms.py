"""Forms of the 育 cultivate pages (parsing only; the services decide)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import SupportKind
from . import selection

DATE = forms.DateInput(attrs={"type": "date"})
SCHEME_ROWS = 8
CATEGORY_ROWS = 4


class AdmissionCriterionForm(forms.Form):
    text = forms.CharField(label=_("标准"), max_length=200)
    order = forms.IntegerField(label=_("顺序"), min_value=0, max_value=32767, required=False)


class AdmissionCheckForm(forms.Form):
    met = forms.TypedChoiceField(
        label=_("核查结果"),
        choices=[("1", _("符合")), ("0", _("不符合"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    evidence = forms.CharField(
        label=_("依据"), max_length=300, required=False, help_text=_("如章程、活动记录、成员名册、现场查看")
    )
    checked_on = forms.DateField(label=_("核查日期"), widget=DATE)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("checked_on", timezone.localdate())


class SupportRecordForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=SupportKind.choices)
    title = forms.CharField(label=_("内容"), max_length=200)
    starts_on = forms.DateField(label=_("开始日期"), widget=DATE)
    ends_on = forms.DateField(label=_("结束日期"), widget=DATE, required=False)
    amount = forms.DecimalField(
        label=_("金额（元）"), max_digits=12, decimal_places=2, min_value=Decimal(0), required=False
    )
    quantity = forms.IntegerField(label=_("岗位数"), min_value=1, max_value=100000, required=False)
    deliverables = forms.CharField(
        label=_("交付内容"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("政府购买服务必填：服务次数、人次、成果"),
    )
    note = forms.CharField(label=_("备注"), max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("starts_on", timezone.localdate())


class SupplyItemForm(forms.Form):
    title = forms.CharField(label=_("服务项目"), max_length=200)
    audience = forms.CharField(label=_("服务对象"), max_length=100, required=False)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SupplyItemEditForm(SupplyItemForm):
    active = forms.BooleanField(label=_("有效"), required=False)


class SchemeForm(forms.Form):
    """A scheme: its name and year, and up to ``SCHEME_ROWS`` criteria rows (blank rows are ignored)."""

    name = forms.CharField(label=_("方案名称"), max_length=100)
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)

    def __init__(self, *args: Any, scheme_criteria: list[dict[str, Any]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("year", timezone.localdate().year)
        for i in range(SCHEME_ROWS):
            for key, label, length in (
                ("code", _("代码"), 20),
                ("name", _("指标"), 50),
                ("weight", _("权重"), 12),
                ("max", _("满分"), 12),
                ("guide", _("评分说明"), 500),
            ):
                self.fields[f"c{i}_{key}"] = forms.CharField(
                    label=label,
                    max_length=length,
                    required=False,
                    widget=forms.TextInput(attrs={"aria-label": f"{i + 1} · {label}"}),
                )
        for i, c in enumerate((scheme_criteria or [])[:SCHEME_ROWS]):
            for key in ("code", "name", "weight", "max", "guide"):
                self.initial.setdefault(f"c{i}_{key}", c.get(key, ""))

    def rows(self) -> list[list[forms.BoundField]]:
        return [[self[f"c{i}_{key}"] for key in ("code", "name", "weight", "max", "guide")] for i in range(SCHEME_ROWS)]

    def criteria(self) -> list[dict[str, str]]:
        data = self.cleaned_data
        out = []
        for i in range(SCHEME_ROWS):
            row = {key: (data.get(f"c{i}_{key}") or "").strip() for key in ("code", "name", "weight", "max", "guide")}
            if any(row.values()):
                out.append(row)
        return out


class RoundForm(forms.Form):
    name = forms.CharField(label=_("评选名称"), max_length=100)
    scheme = forms.ChoiceField(label=_("评估方案"))
    warn_last = forms.IntegerField(
        label=_("每类末位警示数"),
        min_value=0,
        max_value=1000,
        initial=0,
        help_text=_("每个类别未入选者中排名最后的几个组织受到末位警示"),
    )

    def __init__(self, *args: Any, schemes: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["scheme"].choices = [(str(s.pk), f"{s}（{s.place.name}）") for s in schemes]  # type: ignore[attr-defined]
        for i in range(CATEGORY_ROWS):
            self.fields[f"cat{i}_code"] = forms.CharField(label=_("类别代码"), max_length=40, required=False)
            self.fields[f"cat{i}_quota"] = forms.IntegerField(
                label=_("名额"), min_value=1, max_value=10000, required=False
            )
        self.initial.setdefault("cat0_code", "studio")
        self.initial.setdefault("cat0_quota", 10)
        self.initial.setdefault("cat1_code", "quality_org")
        self.initial.setdefault("cat1_quota", 50)

    def category_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"cat{i}_code"], self[f"cat{i}_quota"]) for i in range(CATEGORY_ROWS)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for i in range(CATEGORY_ROWS):
            code, quota = (data.get(f"cat{i}_code") or "").strip(), data.get(f"cat{i}_quota")
            if code and quota is None:
                self.add_error(f"cat{i}_quota", _("请填写名额"))
            if quota is not None and not code:
                self.add_error(f"cat{i}_code", _("请填写类别代码"))
        return data

    def quotas(self) -> dict[str, int]:
        data = self.cleaned_data
        out: dict[str, int] = {}
        for i in range(CATEGORY_ROWS):
            code, quota = (data.get(f"cat{i}_code") or "").strip(), data.get(f"cat{i}_quota")
            if code and quota is not None:
                out[code] = quota
        return out


class EntryAddForm(forms.Form):
    organization = forms.UUIDField(widget=forms.HiddenInput)
    category = forms.ChoiceField(label=_("类别"))

    def __init__(self, *args: Any, categories: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [(c, selection.category_label(c)) for c in categories]  # type: ignore[attr-defined]


class AssessorAddForm(forms.Form):
    phone = forms.CharField(label=_("评审的手机号"), max_length=20)


class ScoreForm(forms.Form):
    """One number field per criterion of the scheme (0 to its max), and a comment."""

    comment = forms.CharField(label=_("评语"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, criteria: list[selection.Criterion] = (), **kwargs: Any):  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        fields: dict[str, forms.Field] = {}
        for c in self.criteria:
            fields[f"s_{c.code}"] = forms.DecimalField(
                label=f"{c.name}（{_('权重')} {c.weight_text} · {_('满分')} {c.max_text}）",
                min_value=Decimal(0),
                max_value=c.max,
                decimal_places=2,
                help_text=c.guide,
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": c.max_text}),
            )
        fields["comment"] = self.fields.pop("comment")
        self.fields.update(fields)

    def scores(self) -> dict[str, str]:
        return {c.code: str(self.cleaned_data[f"s_{c.code}"]) for c in self.criteria}


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label=_("申辩"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("说明情况和改进计划，公示前可以修改"),
    )
