"""Forms of the star-rating pages (parsing only; the services decide)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import compute

CRITERIA_ROWS = 6
ROW_KEYS = ("code", "name", "source", "weight", "target", "by")


class StandardForm(forms.Form):
    """A standard: name, year, the organisation it is limited to, up to ``CRITERIA_ROWS`` criteria rows (blank rows
    are ignored) and the five thresholds."""

    name = forms.CharField(label=_("名称"), max_length=100)
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    organization_ref = forms.ChoiceField(
        label=_("限定组织"), required=False, help_text=_("只评定该组织的成员；不选则评定本区划全部居民")
    )

    def __init__(
        self,
        *args: Any,
        organizations: Any = (),
        standard_criteria: list[dict[str, Any]] | None = None,
        standard_thresholds: list[Any] | None = None,
        fixed: bool = False,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.fixed = fixed
        self.fields["organization_ref"].choices = [("", _("（不限定：本区划全部居民）"))] + [  # type: ignore[attr-defined]
            (o.ref, f"{o.name}（{o.get_kind_display()} · {o.place.name}）") for o in organizations
        ]
        self.initial.setdefault("year", timezone.localdate().year)
        source_choices = [("", "—")] + [(k, v) for k, v in compute.SOURCE_SHORT.items()]
        by_choices = [("", "—")] + [(k, v) for k, v in compute.ASSESSORS.items()]
        for i in range(CRITERIA_ROWS):
            n = i + 1
            self.fields[f"c{i}_code"] = forms.CharField(
                label=_("代码"),
                max_length=40,
                required=False,
                widget=forms.TextInput(attrs={"aria-label": f"{n} · 代码"}),
            )
            self.fields[f"c{i}_name"] = forms.CharField(
                label=_("指标"),
                max_length=50,
                required=False,
                widget=forms.TextInput(attrs={"aria-label": f"{n} · 指标"}),
            )
            self.fields[f"c{i}_source"] = forms.ChoiceField(
                label=_("数据来源"),
                choices=source_choices,
                required=False,
                widget=forms.Select(attrs={"aria-label": f"{n} · 数据来源"}),
            )
            self.fields[f"c{i}_weight"] = forms.CharField(
                label=_("权重"),
                max_length=12,
                required=False,
                widget=forms.TextInput(attrs={"aria-label": f"{n} · 权重", "inputmode": "decimal"}),
            )
            self.fields[f"c{i}_target"] = forms.CharField(
                label=_("满分目标"),
                max_length=12,
                required=False,
                widget=forms.TextInput(attrs={"aria-label": f"{n} · 满分目标", "inputmode": "decimal"}),
            )
            self.fields[f"c{i}_by"] = forms.ChoiceField(
                label=_("评议人"),
                choices=by_choices,
                required=False,
                widget=forms.Select(attrs={"aria-label": f"{n} · 评议人"}),
            )
        for n in range(1, compute.STARS + 1):
            self.fields[f"t{n}"] = forms.CharField(
                label=compute.star_name(n),
                max_length=12,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
            )
        for i, c in enumerate((standard_criteria or [])[:CRITERIA_ROWS]):
            for key in ROW_KEYS:
                value = c.get(key, "")
                self.initial.setdefault(f"c{i}_{key}", "" if value is None else str(value))
        for n, t in enumerate((standard_thresholds or [])[: compute.STARS], start=1):
            self.initial.setdefault(f"t{n}", str(t))
        if fixed:
            for name, field in self.fields.items():
                if name != "name":
                    field.disabled = True
                    field.required = False

    def rows(self) -> list[list[forms.BoundField]]:
        return [[self[f"c{i}_{key}"] for key in ROW_KEYS] for i in range(CRITERIA_ROWS)]

    def threshold_fields(self) -> list[forms.BoundField]:
        return [self[f"t{n}"] for n in range(1, compute.STARS + 1)]

    def criteria(self) -> list[dict[str, str]]:
        """The filled rows; a row without a code gets its source as code (``assessment_2`` for a second one)."""
        data = self.cleaned_data
        out = []
        for i in range(CRITERIA_ROWS):
            row = {key: (data.get(f"c{i}_{key}") or "").strip() for key in ROW_KEYS}
            if any(row[k] for k in ("code", "name", "weight", "target")):
                if not row["by"]:
                    row.pop("by")
                out.append(row)
        taken = {row["code"] for row in out if row["code"]}
        for row in out:
            if not row["code"] and row["source"]:
                code, n = row["source"], 1
                while code in taken:
                    n += 1
                    code = f"{row['source']}_{n}"
                row["code"] = code
                taken.add(code)
        return out

    def thresholds(self) -> list[str]:
        return [(self.cleaned_data.get(f"t{n}") or "").strip() for n in range(1, compute.STARS + 1)]


class ReviewForm(forms.Form):
    stars = forms.TypedChoiceField(label=_("审定星级"), coerce=int)
    note = forms.CharField(label=_("审核意见"), max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["stars"].choices = [  # type: ignore[attr-defined]
            (str(n), compute.star_name(n)) for n in range(compute.STARS, -1, -1)
        ]


class AssessForm(forms.Form):
    """One resident's scores: a number (0–100) per assessment criterion the assessor may score (blank: not scored
    now), and a comment."""

    comment = forms.CharField(label=_("评语"), max_length=300, required=False)

    def __init__(self, *args: Any, criteria: list[compute.Criterion] = (), **kwargs: Any):  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        comment = self.fields.pop("comment")
        for c in self.criteria:
            self.fields[f"s_{c.code}"] = forms.DecimalField(
                label=c.name,
                min_value=Decimal(0),
                max_value=Decimal(100),
                decimal_places=2,
                required=False,
                widget=forms.NumberInput(attrs={"step": "0.5", "min": "0", "max": "100", "inputmode": "decimal"}),
            )
        self.fields["comment"] = comment

    def scores(self) -> dict[str, Decimal]:
        return {
            c.code: self.cleaned_data[f"s_{c.code}"]
            for c in self.criteria
            if self.cleaned_data.get(f"s_{c.code}") is not None
        }
