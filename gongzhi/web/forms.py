from __future__ import annotations

import datetime

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import DomainError
from gongzhi.people import protection
from gongzhi.people import services as people_services
from gongzhi.people.models import Gender, Household, Role


class PhoneField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return value
        try:
            return protection.normalise_mobile(value)
        except protection.PersonalDataError as exc:
            raise forms.ValidationError(str(exc)) from exc


class PhoneLoginForm(AuthenticationForm):
    username = PhoneField(
        label=_("手机号"),
        max_length=20,
        widget=forms.TextInput(attrs={"autofocus": True, "inputmode": "tel", "autocomplete": "tel"}),
    )
    password = forms.CharField(
        label=_("密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    error_messages = {
        "invalid_login": _("手机号或密码不正确。"),
        "inactive": _("该账号已停用。"),
    }

    def clean(self):
        """Refuse without checking the password after too many recent failures (per phone and per address); record
        each failure, and clear the phone's failures on success."""
        phone = self.cleaned_data.get("username") or str(self.data.get("username", ""))
        ip = str(self.request.META.get("REMOTE_ADDR", "")) if self.request is not None else ""
        try:
            people_services.login_throttle_check(phone=phone, ip=ip)
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code="rate_limited") from exc
        try:
            cleaned = super().clean()
        except forms.ValidationError as exc:
            if exc.code == "invalid_login":
                people_services.login_failure_record(phone=phone, ip=ip)
            raise
        people_services.login_success_record(phone=phone)
        return cleaned


class CodeRequestForm(forms.Form):
    phone = PhoneField(label=_("手机号"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel"}))


class CodeLoginForm(forms.Form):
    phone = PhoneField(label=_("手机号"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel"}))
    code = forms.RegexField(
        label=_("验证码"),
        regex=r"^\d{6}$",
        error_messages={"invalid": _("验证码为 6 位数字")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class ClaimForm(CodeLoginForm):
    password = forms.CharField(label=_("设置密码"), strip=False, widget=forms.PasswordInput, min_length=8)


class ResidentForm(forms.Form):
    # A key made when the form is shown: submitting the same form twice (double click, retry) registers one resident.
    ref = forms.RegexField(regex=r"^[A-Za-z0-9_-]{4,64}$", widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("姓名"), max_length=50)
    community = forms.ChoiceField(label=_("所在社区"))
    phone = PhoneField(label=_("手机号"), max_length=20, required=False)
    household = forms.ChoiceField(label=_("户籍类型"), choices=Household.choices)
    gender = forms.ChoiceField(label=_("性别"), choices=[("", _("未填写")), *Gender.choices], required=False)
    birth_year = forms.IntegerField(label=_("出生年份"), required=False, min_value=1900)
    registered_on = forms.DateField(label=_("登记日期"), widget=forms.DateInput(attrs={"type": "date"}))
    left_on = forms.DateField(label=_("迁出日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    id_number = forms.CharField(
        label=_("身份证号（选填）"),
        max_length=18,
        required=False,
        help_text=_("加密保存；列表中只显示前 4 位和后 4 位。留空表示不修改。"),
    )

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [  # type: ignore[attr-defined]
            (p.code, f"{p.name}（{p.code}）") for p in communities
        ]
        self.initial.setdefault("registered_on", timezone.localdate())

    def clean_birth_year(self):
        year = self.cleaned_data.get("birth_year")
        if year and year > timezone.localdate().year:
            raise forms.ValidationError(_("出生年份不能晚于今年"))
        return year

    def clean_id_number(self):
        value = self.cleaned_data.get("id_number", "").strip()
        if value:
            try:
                return protection.normalise_id_number(value)
            except protection.PersonalDataError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return value

    def clean(self):
        data = super().clean() or {}
        reg, left = data.get("registered_on"), data.get("left_on")
        if reg and left and left < reg:
            self.add_error("left_on", _("迁出日期不能早于登记日期"))
        if reg and reg > timezone.localdate() + datetime.timedelta(days=1):
            self.add_error("registered_on", _("登记日期不能晚于今天"))
        return data


class GrantForm(forms.Form):
    phone = PhoneField(label=_("手机号"), max_length=20)
    display_name = forms.CharField(label=_("称呼"), max_length=50, required=False)
    place = forms.ChoiceField(label=_("区划"))
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)

    def __init__(self, *args, places=(), **kwargs):
        super().__init__(*args, **kwargs)
        indent = {"province": 0, "city": 1, "district": 2, "street": 3, "community": 4}
        self.fields["place"].choices = [  # type: ignore[attr-defined]
            (p.code, f"{'　' * indent[p.level]}{p.name}") for p in places
        ]
