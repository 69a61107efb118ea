from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.places.models import Place
from gongzhi.resources.models import LearningSpace, Resource

from .models import ActivityKind, ActivityMode

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ActivityForm(forms.Form):
    place = forms.ChoiceField(label=_("举办地"))
    kind = forms.ChoiceField(label=_("类型"), choices=ActivityKind.choices)
    title = forms.CharField(label=_("标题"), max_length=200)
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=_("结束时间"), required=False, widget=DATETIME_INPUT)
    venue = forms.CharField(label=_("地点"), max_length=200, required=False)
    mode = forms.ChoiceField(label=_("形式"), choices=ActivityMode.choices, initial=ActivityMode.LOCAL)
    capacity = forms.IntegerField(label=_("容量"), min_value=1, required=False, help_text=_("留空表示不限"))
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    space = forms.ChoiceField(
        label=_("学习空间"),
        required=False,
        help_text=_("选择后将按活动时间自动预约该空间；时段已被占用时不能保存"),
    )
    resources = forms.MultipleChoiceField(
        label=_("使用资源"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("本次活动用到的资源方资源（师资、课程、资金、志愿服务等）"),
    )

    def __init__(
        self,
        *args: Any,
        places: list[Place],
        spaces: list[LearningSpace] | None = None,
        resources: list[Resource] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        place_field = self.fields["place"]
        assert isinstance(place_field, forms.ChoiceField)
        place_field.choices = [(p.code, f"{p.name}（{p.get_level_display()}）") for p in places]
        self.spaces = {str(s.pk): s for s in spaces or []}
        self.resource_options = {str(r.pk): r for r in resources or []}
        space_field = self.fields["space"]
        assert isinstance(space_field, forms.ChoiceField)
        space_field.choices = [("", _("不使用学习空间")), *((k, space_label(s)) for k, s in self.spaces.items())]
        resource_field = self.fields["resources"]
        assert isinstance(resource_field, forms.MultipleChoiceField)
        resource_field.choices = [(k, resource_label(r)) for k, r in self.resource_options.items()]
        if not self.spaces:
            del self.fields["space"]
        if not self.resource_options:
            del self.fields["resources"]

    def chosen_space(self) -> LearningSpace | None:
        return self.spaces.get(self.cleaned_data.get("space") or "")

    def chosen_resources(self) -> list[Resource]:
        return [self.resource_options[k] for k in self.cleaned_data.get("resources") or []]


def space_label(space: LearningSpace) -> str:
    hours = f"{space.opens_at:%H:%M}–{space.closes_at:%H:%M}"
    return f"{space.name}（{space.place.name}，{space.capacity} 人，{hours}）"


def resource_label(resource: Resource) -> str:
    return f"{resource.provider.name} · {resource.name}（{resource.get_kind_display()}）"


class PaperTextForm(forms.Form):
    lines = forms.CharField(
        label=_("签到名单"),
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": "R-0001\nR-0002 请假\n王小明 13800000000 出席 1.5"}),
        help_text=_("每行一人：居民编号，或者姓名加手机号；可在后面加状态（出席、缺席、请假）和时长（小时）。"),
    )


class PaperFileForm(forms.Form):
    file = forms.FileField(label=_("Excel 签到表（.xlsx）"))
