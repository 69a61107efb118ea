"""Navigation entries of this app (see gongzhi.web.context_processors): only pages that exist and the user may use."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gongzhi.people import access


def nav_items(request: Any, user: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if access.is_staff(user) and getattr(request, "place", None):
        items.append({"url": reverse("issue_list"), "label": _("议事"), "key": "issue_list"})
    if access.has_resident_profile(user):
        items.append({"url": reverse("my_issues"), "label": _("社区议事"), "key": "my_issues"})
        items.append({"url": reverse("my_ballots"), "label": _("社区表决"), "key": "my_ballots"})
    return items
