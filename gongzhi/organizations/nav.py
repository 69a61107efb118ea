"""Navigation entries of this app (see gongzhi.web.context_processors): only pages that exist and the user may use."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gongzhi.people import access

from .rules import assessor_round_ids


def nav_items(request: Any, user: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    staff = access.is_staff(user)
    if staff:
        items.append({"url": reverse("organization_list"), "label": _("学习共同体"), "key": "organization_list"})
        # 育 cultivate: the stage board opens the staff's cultivation tabs (admission, assessment, support, supply,
        # their own assessments).
        items.append({"url": reverse("stage_board"), "label": _("组织培育"), "key": "stage_board"})
    elif assessor_round_ids(user):
        # An assessor without a staff role (an outside expert) finds the entries to score here.
        items.append({"url": reverse("assessment_mine"), "label": _("我的评审"), "key": "assessment_mine"})
    if access.has_resident_profile(user):
        items.append({"url": reverse("my_communities"), "label": _("我的学习共同体"), "key": "my_communities"})
    return items
