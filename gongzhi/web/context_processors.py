"""Navigation: only what is built and what the user may use appears."""

from __future__ import annotations

from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from gongzhi.activities import nav as activities_nav
from gongzhi.analytics import nav as analytics_nav
from gongzhi.deliberation import nav as deliberation_nav
from gongzhi.learning import nav as learning_nav
from gongzhi.organizations import nav as organizations_nav
from gongzhi.people import access
from gongzhi.places.models import Place
from gongzhi.resources import nav as resources_nav

SWITCHER_LIMIT = 400


def _place_choices(user) -> list[Place]:
    """The places of the user's staff grants and their subtrees (one query), for the place switcher."""
    return list(
        Place.objects.filter(access.prefix_q("code", user, access.STAFF_ROLES)).order_by("code")[:SWITCHER_LIMIT]
    )


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    match = getattr(request, "resolver_match", None)
    current = match.url_name if match else ""
    items = []
    is_staff = access.is_staff(user)
    if is_staff:
        items.append({"url": reverse("staff_home"), "label": _("工作台"), "key": "staff_home"})
        items.append({"url": reverse("resident_list"), "label": _("居民名册"), "key": "resident_list"})
        items.append({"url": reverse("grant_list"), "label": _("角色授权"), "key": "grant_list"})
        place = getattr(request, "place", None)
        if place and user.has_perm("core.view_auditevent", place):
            items.append({"url": reverse("audit_list"), "label": _("审计日志"), "key": "audit_list"})
    for app_nav in (organizations_nav, resources_nav, activities_nav, learning_nav, deliberation_nav, analytics_nav):
        group = app_nav.nav_items(request, user)
        if group and items:
            group[0] = {**group[0], "group_start": True}  # a thin divider between one app's entries and the next
        items.extend(group)
    if access.has_resident_profile(user):
        items.append({"url": reverse("resident_home"), "label": _("我的"), "key": "resident_home"})
    return {
        "nav_items": items,
        "nav_active": current,
        "is_staff_user": is_staff,
        "place_choices": SimpleLazyObject(lambda: _place_choices(user)) if is_staff else [],
    }
