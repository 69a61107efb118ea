"""Navigation entries of 联 link (see gongzhi.web.context_processors): only pages that exist and the user may use."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gongzhi.people import access

from .rules import provider_ids


def nav_items(request: Any, user: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if access.is_staff(user) and getattr(request, "place", None) is not None:
        items.append({"url": reverse("provider_list"), "label": _("资源方"), "key": "provider_list"})
        items.append({"url": reverse("need_list"), "label": _("需求对接"), "key": "need_list"})
        items.append({"url": reverse("survey_list"), "label": _("需求调查"), "key": "survey_list"})
        items.append({"url": reverse("space_list"), "label": _("学习空间"), "key": "space_list"})
        items.append({"url": reverse("resource_network"), "label": _("资源网络"), "key": "resource_network"})
    if provider_ids(user):
        items.append({"url": reverse("partner_home"), "label": _("我的资源"), "key": "partner_home"})
        items.append({"url": reverse("need_partner_list"), "label": _("对接需求"), "key": "need_partner_list"})
    if access.has_resident_profile(user):
        items.append({"url": reverse("need_mine"), "label": _("我的需求"), "key": "need_mine"})
        items.append({"url": reverse("survey_mine"), "label": _("需求调查"), "key": "survey_mine"})
    return items
