"""Navigation entries of this app (see gongzhi.web.context_processors): only pages that exist and the user may use."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gongzhi.people import access


def nav_items(request: Any, user: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    place = getattr(request, "place", None)
    if access.is_staff(user) and place:
        items += [
            {"url": reverse("course_list"), "label": _("课程"), "key": "course_list"},
            {"url": reverse("series_list"), "label": _("主题系列"), "key": "series_list"},
            {"url": reverse("teacher_list"), "label": _("师资"), "key": "teacher_list"},
            {"url": reverse("points_rule_list"), "label": _("积分规则"), "key": "points_rule_list"},
            {"url": reverse("test_list"), "label": _("线上测试"), "key": "test_list"},
            {"url": reverse("programme_list"), "label": _("认证项目"), "key": "programme_list"},
            {"url": reverse("certificate_list"), "label": _("证书"), "key": "certificate_list"},
            {"url": reverse("star_standard_list"), "label": _("星级评定"), "key": "star_standard_list"},
        ]
    else:
        from .views import has_teacher_courses

        if has_teacher_courses(user):
            items.append({"url": reverse("course_list"), "label": _("我的课程"), "key": "course_list"})
    if access.has_resident_profile(user):
        items += [
            {"url": reverse("learn_home"), "label": _("学习"), "key": "learn_home"},
            {"url": reverse("my_schedule"), "label": _("我的课表"), "key": "my_schedule"},
            {"url": reverse("my_points"), "label": _("我的积分"), "key": "my_points"},
            {"url": reverse("test_home"), "label": _("线上测试"), "key": "test_home"},
            {"url": reverse("my_programmes"), "label": _("我的认证"), "key": "my_programmes"},
            {"url": reverse("my_certificates"), "label": _("我的证书"), "key": "my_certificates"},
            {"url": reverse("star_mine"), "label": _("我的星级"), "key": "star_mine"},
        ]
    return items
