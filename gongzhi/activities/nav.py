"""Navigation entries of this app (see gongzhi.web.context_processors): only pages that exist and the user may use.

Cheap: the checks read what is cached on the user for the request (grants, resident profile, the organisations they
lead); only someone who leads an organisation costs one more query, once, to tell whether it is a volunteer team.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gongzhi.people import access


def nav_items(request: Any, user: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if user.has_perm("activities.use_activity_pages"):
        items.append({"url": reverse("activity_list"), "label": _("活动签到"), "key": "activity_list"})
    if user.has_perm("activities.use_volunteer_pages"):
        items.append({"url": reverse("volunteer_teams"), "label": _("志愿服务队"), "key": "volunteer_teams"})
    if access.has_resident_profile(user):
        items.append({"url": reverse("my_activities"), "label": _("我的活动"), "key": "my_activities"})
        items.append({"url": reverse("volunteer_home"), "label": _("我的志愿服务"), "key": "volunteer_home"})
    return items
