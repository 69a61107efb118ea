"""Forms of the decision pages (ballots, paper votes, decisions, milestones, progress, ratings)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import DecisionMethod, Eligibility

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _choices(field: forms.Field, choices: list[tuple[Any, str]]) -> None:
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class BallotForm(forms.Form):
    title = forms.CharField(label=_("表决事项"), max_length=200)
    proposals = forms.MultipleChoiceField(
        label=_("候选方案"), widget=forms.CheckboxSelectMultiple, help_text=_("至少选择两个方案")
    )
    opens_at = forms.DateTimeField(label=_("开始时间"), widget=DATETIME_INPUT)
    closes_at = forms.DateTimeField(label=_("截止时间"), widget=DATETIME_INPUT)
    eligibility = forms.ChoiceField(label=_("表决资格"), choices=Eligibility.choices, initial=Eligibility.COMMUNITY)
    council = forms.ChoiceField(label=_("议事会"), required=False, help_text=_("表决资格为议事会成员时必选"))
    quorum = forms.IntegerField(label=_("最低参与人数"), min_value=0, initial=0)
    secret = forms.BooleanField(label=_("无记名投票"), required=False, help_text=_("不记录谁投了哪个方案"))

    def __init__(self, *args: Any, proposals: list[Any], councils: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self.fields["proposals"], [(str(p.pk), p.title) for p in proposals])
        _choices(self.fields["council"], [("", "—"), *((str(o.pk), o.name) for o in councils)])


class PaperVotesForm(forms.Form):
    meeting = forms.ChoiceField(label=_("议事会议"), help_text=_("纸质票在这次会议上清点；会议的出席记录是依据"))
    voters = forms.CharField(
        label=_("纸质投票人（可选）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "R-0001\nR-0002"}),
        help_text=_("每行一个居民编号；登记后这些居民不能再在线投票"),
    )

    def __init__(self, *args: Any, meetings: list[Any], proposals: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(
            self.fields["meeting"],
            [
                (str(m.pk), f"{m.starts_at:%Y-%m-%d} {m.title}（{_('出席')} {getattr(m, 'present', 0)}）")
                for m in meetings
            ],
        )
        self.proposal_fields: list[tuple[str, Any]] = []
        for p in proposals:
            name = f"count_{p.pk}"
            self.fields[name] = forms.IntegerField(label=p.title, min_value=0, initial=0)
            self.proposal_fields.append((name, p))


class DecisionForm(forms.Form):
    method = forms.ChoiceField(label=_("决策方式"), choices=DecisionMethod.choices)
    ballot = forms.ChoiceField(
        label=_("表决"), required=False, help_text=_("投票表决时必选：须已截止且达到最低参与人数")
    )
    meeting = forms.ChoiceField(label=_("议事会议"), required=False, help_text=_("会议协商一致时必选"))
    adopted = forms.ChoiceField(label=_("采纳的方案"), required=False, help_text=_("投票表决时默认为得票最多的方案"))
    text = forms.CharField(label=_("决定内容"), widget=forms.Textarea(attrs={"rows": 4}))
    body = forms.CharField(label=_("决策主体"), max_length=100, help_text=_("如：居民议事会、班长议事会"))
    decided_on = forms.DateField(label=_("决策日期"), widget=DATE_INPUT)

    def __init__(
        self, *args: Any, ballots: list[Any], meetings: list[Any], proposals: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self.fields["ballot"], [("", "—"), *((str(b.pk), b.title) for b in ballots)])
        _choices(
            self.fields["meeting"],
            [("", "—"), *((str(m.pk), f"{m.starts_at:%Y-%m-%d} {m.title}") for m in meetings)],
        )
        _choices(self.fields["adopted"], [("", "—"), *((str(p.pk), p.title) for p in proposals)])


class MilestoneForm(forms.Form):
    title = forms.CharField(label=_("节点"), max_length=200)
    responsible = forms.CharField(label=_("责任方"), max_length=100)
    due_on = forms.DateField(label=_("计划完成日期"), widget=DATE_INPUT)


class ProgressForm(forms.Form):
    body = forms.CharField(
        label=_("进展"), widget=forms.Textarea(attrs={"rows": 3}), help_text=_("公开发布，请勿填写个人信息")
    )
    milestone = forms.ChoiceField(label=_("相关节点"), required=False)

    def __init__(self, *args: Any, milestones: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self.fields["milestone"], [("", "—"), *((str(m.pk), m.title) for m in milestones)])


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("满意度"),
        coerce=int,
        choices=[(5, _("5 非常满意")), (4, _("4 满意")), (3, _("3 一般")), (2, _("2 不满意")), (1, _("1 很不满意"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label=_("意见"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ReceiptForm(forms.Form):
    receipt = forms.CharField(label=_("投票回执"), max_length=64)
