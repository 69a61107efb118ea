"""Navigation entries of this app (see gongzhi.web.context_processors): only pages that exist and the user may use."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gongzhi.people import access


def nav_items(request: Any, user: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if access.is_staff(user):
        items.append({"url": reverse("organization_list"), "label": _("学习共同体"), "key": "organization_list"})
    if access.has_resident_profile(user):
        items.append({"url": reverse("my_communities"), "label": _("我的学习共同体"), "key": "my_communities"})
    return items
