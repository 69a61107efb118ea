"""Navigation entries of 析 measure (see gongzhi.web.context_processors): only pages that exist and the user may use.

The staff pages work on the current place: the dashboards, reports, computations, settings and the mechanism test
need ``analytics.view_dashboard`` on it (the forms on them check their own permissions); the social-capital survey's
list is open to any staff user with a current place. Residents get the surveys they may answer. Cheap: the checks read
what is cached on the user for the request (grants, resident profile) and the current place. Every url name is checked
by tests/analytics_dashboard/test_nav.py.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gongzhi.people import access

# (url name = nav key, label), in menu order. Requested by the parts that own the pages: /tmp/gz/requests-{pipeline,
# reports,survey,mechanism}.md.
VIEWER_PAGES: tuple[tuple[str, Any], ...] = (
    ("measure_dashboard", _("治理成效")),
    ("measure_report_index", _("测评报告")),
    ("measure_computations", _("指标计算")),
    ("measure_settings", _("测评设置")),
)
STAFF_PAGES: tuple[tuple[str, Any], ...] = (("social_survey_list", _("社会资本调查")),)
VIEWER_PAGES_AFTER: tuple[tuple[str, Any], ...] = (("analytics_mechanism", _("机制检验")),)
RESIDENT_PAGES: tuple[tuple[str, Any], ...] = (("social_survey_mine", _("社会资本调查")),)
ALL_PAGES = (*VIEWER_PAGES, *STAFF_PAGES, *VIEWER_PAGES_AFTER, *RESIDENT_PAGES)


def _entries(pages: tuple[tuple[str, Any], ...]) -> list[dict[str, Any]]:
    return [{"url": reverse(name), "label": label, "key": name} for name, label in pages]


def nav_items(request: Any, user: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    place = getattr(request, "place", None)
    viewer = bool(place) and user.has_perm("analytics.view_dashboard", place)
    if viewer:
        items += _entries(VIEWER_PAGES)
    if place and access.is_staff(user):
        items += _entries(STAFF_PAGES)
    if viewer:
        items += _entries(VIEWER_PAGES_AFTER)
    if access.has_resident_profile(user):
        items += _entries(RESIDENT_PAGES)
    return items
