"""The 析 measure navigation entries: only pages that exist (every url name resolves — checked when this module is
imported) and that the user may use (each opens for the user it is shown to; nothing for anyone else)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from gongzhi.analytics import nav
from gongzhi.analytics.dashboard import views

pytestmark = pytest.mark.django_db

# Resolved at import: a missing page fails the whole module, not one assertion.
URLS = {name: reverse(name) for name, _ in nav.ALL_PAGES}
LINKED = {name: reverse(name) for name in (views.COMPUTATIONS, views.SETTINGS)}
STAFF_KEYS = [name for name, _ in (*nav.VIEWER_PAGES, *nav.STAFF_PAGES, *nav.VIEWER_PAGES_AFTER)]
RESIDENT_KEYS = [name for name, _ in nav.RESIDENT_PAGES]


def _items(user, place):
    request = RequestFactory().get("/")
    request.user = user
    request.place = place  # type: ignore[attr-defined]
    return nav.nav_items(request, user)


def test_staff_get_every_staff_entry_and_each_page_opens(client, tree, people, measured):
    for who, place in (("admin", tree.district), ("street_a", tree.street_a), ("worker_a1", tree.comm_a1)):
        user = getattr(people, who)
        items = _items(user, place)
        assert [i["key"] for i in items] == STAFF_KEYS
        assert [i["url"] for i in items] == [URLS[k] for k in STAFF_KEYS]
        client.force_login(user)
        for item in items:
            assert client.get(item["url"], follow=True).status_code == 200, (who, item["key"])


def test_residents_get_their_survey_only(client, tree, people):
    items = _items(people.resident, None)
    assert [i["key"] for i in items] == RESIDENT_KEYS
    client.force_login(people.resident)
    for item in items:
        assert client.get(item["url"]).status_code == 200
    for name in STAFF_KEYS:
        assert client.get(URLS[name]).status_code in (302, 403, 404), name


def test_no_staff_entry_without_a_covered_place(tree, people):
    assert _items(people.admin, None) == []
    # A place they do not cover (never what the place switcher gives them): no measure page of that place.
    keys = [i["key"] for i in _items(people.street_b, tree.street_a)]
    assert not set(keys) & {name for name, _ in (*nav.VIEWER_PAGES, *nav.VIEWER_PAGES_AFTER)}


def test_the_menu_shows_them(client, tree, people):
    client.force_login(people.street_a)
    body = client.get(reverse("staff_home")).content.decode()
    for name in STAFF_KEYS:
        assert f'href="{URLS[name]}"' in body, name
    client.force_login(people.resident)
    body = client.get(reverse("resident_home")).content.decode()
    assert not any(f'href="{URLS[name]}"' in body for name in STAFF_KEYS)
    assert f'href="{URLS[RESIDENT_KEYS[0]]}"' in body
