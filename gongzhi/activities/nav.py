"""Navigation entries of this app (see gongzhi.web.context_processors): only pages that exist and the user may use."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gongzhi.people import access


def nav_items(request: Any, user: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if user.has_perm("activities.use_activity_pages"):
        items.append({"url": reverse("activity_list"), "label": _("活动签到"), "key": "activity_list"})
    if access.has_resident_profile(user):
        items.append({"url": reverse("my_activities"), "label": _("我的活动"), "key": "my_activities"})
    return items
