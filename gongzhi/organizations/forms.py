"""Forms of the organisation pages (parsing only; the services decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import MembershipRole, OrganizationKind, OrganizationStage

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _place_choices(places: Any) -> list[tuple[str, str]]:
    return [(p.code, f"{p.name}（{p.get_level_display()}）") for p in places]


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    kind = forms.ChoiceField(label=_("类型"), choices=OrganizationKind.choices)
    place = forms.ChoiceField(label=_("所属区划"))
    theme = forms.CharField(label=_("领域/主题"), max_length=100, required=False)
    stage = forms.ChoiceField(label=_("发展阶段"), choices=OrganizationStage.choices)
    founded_on = forms.DateField(label=_("成立日期"), widget=forms.DateInput(attrs={"type": "date"}))
    charter = forms.CharField(label=_("章程"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, places: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = _place_choices(places)  # type: ignore[attr-defined]
        self.initial.setdefault("founded_on", timezone.localdate())
        self.initial.setdefault("kind", OrganizationKind.LEARNING_COMMUNITY)


class ProposalForm(forms.Form):
    name = forms.CharField(
        label=_("名称"), max_length=100, widget=forms.TextInput(attrs={"placeholder": _("如：好婆婆学堂")})
    )
    place = forms.ChoiceField(label=_("在哪里活动"))
    theme = forms.CharField(label=_("学习主题"), max_length=100, required=False)
    charter = forms.CharField(
        label=_("简介与约定"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("大家一起学什么、多久聚一次、欢迎哪些居民参加"),
    )

    def __init__(self, *args: Any, places: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = _place_choices(places)  # type: ignore[attr-defined]


class ReviewForm(forms.Form):
    note = forms.CharField(label=_("审核意见"), max_length=300, required=False)


class StageChangeForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("调整为"), choices=OrganizationStage.choices)
    changed_on = forms.DateField(label=_("生效日期"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("理由"), max_length=300)
    evidence = forms.CharField(
        label=_("依据"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("如评估报告、孵化协议、登记证书、会议纪要"),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("changed_on", timezone.localdate())


class DissolveForm(forms.Form):
    dissolved_on = forms.DateField(label=_("解散日期"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("理由"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("dissolved_on", timezone.localdate())


class MemberAddForm(forms.Form):
    resident = forms.UUIDField(widget=forms.HiddenInput)
    role = forms.ChoiceField(label=_("角色"), choices=MembershipRole.choices, initial=MembershipRole.MEMBER)


class MeetingForm(forms.Form):
    title = forms.CharField(label=_("活动主题"), max_length=200)
    starts_at = forms.DateTimeField(
        label=_("开始时间"),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    ends_at = forms.DateTimeField(
        label=_("结束时间"),
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    venue = forms.CharField(label=_("地点"), max_length=200, required=False)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends < starts:
            self.add_error("ends_at", _("结束时间不能早于开始时间"))
        return data
