"""Journey (析 measure): a district admin opens 治理成效, reads the three dimensions and the diagnosis, switches the
period and the trend, drills district → street → community and opens the community's co-participation network, then
climbs back with the breadcrumbs; the same pages fit a phone; a street's staff cannot see the other street."""

from __future__ import annotations

import random
import re

import pytest
from django.urls import reverse

from gongzhi.analytics.models import DiagnosisSnapshot, GraphSnapshot
from gongzhi.people.models import Role
from tests import factories
from tests.analytics_dashboard.snapshots import store
from tests.analytics_support import measured_world

from .conftest import SHOTS, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"


def _login(page, base, phone, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _world(tree):
    reverse("home")  # load every URL module (and the API) here, not in the live server's first request
    names = {
        tree.district: "上城区",
        tree.street_a: "九堡街道",
        tree.street_b: "采荷街道",
        tree.comm_a1: "九堡社区",
        tree.comm_a2: "格畈社区",
        tree.comm_b1: "采荷社区",
    }
    for place, name in names.items():
        place.name = name
        place.save()
    # The pipeline's shared world: real interchange files, imported, computed with the real engine — yearly and
    # three quarters (for the quarterly trend).
    measured_world(tree, periods=("2024", "2025", "2025Q1", "2025Q2", "2025Q3"))


def _canvas(page, selector):
    page.locator(f"{selector} canvas").first.wait_for()
    box = page.locator(selector).bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 150, (selector, box)


def test_admin_drills_down_to_a_community_network(live_server, desk, phone, tree):
    base = live_server.url
    _world(tree)
    admin = factories.staff(Role.ADMIN, tree.district)

    # 1. The district's dashboard from the navigation.
    _login(desk, base, admin.phone)
    desk.get_by_role("link", name="治理成效").first.click()
    desk.get_by_role("heading", name=re.compile("治理成效")).wait_for()
    cards = desk.locator("#dimension-scores .measure-dim")
    assert cards.count() == 4
    assert [cards.nth(i).get_attribute("data-row") for i in range(4)] == ["DIM_I", "DIM_II", "DIM_III", "COMPOSITE"]
    desk.locator("#verdict").wait_for()
    _canvas(desk, "#indicator-chart")
    _canvas(desk, "#trend-chart")
    _canvas(desk, "#rank-chart")
    assert desk.locator("#period-select").input_value() == "2025"
    shot(desk, "measure-1-district")

    # The trend by quarter, then by year (no page load).
    desk.locator('[data-trend="quarter"]').click()
    assert desk.locator("#trend-chart").get_attribute("data-freq") == "quarter"
    desk.locator("#trend").scroll_into_view_if_needed()
    shot(desk, "measure-2-trend-quarters")
    desk.locator('[data-trend="year"]').click()
    assert desk.locator("#trend-chart").get_attribute("data-freq") == "year"

    # Another period from the selector; every community beneath instead of the streets.
    desk.locator("#period-select").select_option("2024")
    desk.wait_for_url(re.compile(r"period=2024"))
    assert desk.locator("#period-select").input_value() == "2024"
    desk.get_by_role("link", name="全部社区").click()
    desk.wait_for_url(re.compile(r"compare=communities"))
    rows = desk.locator("#ranking-table tbody tr")
    assert rows.count() == 3
    shot(desk, "measure-3-district-communities-2024")

    # 2. Drill down: the district's streets → 九堡街道 (a click on the row).
    desk.goto(f"{base}/staff/measure/{tree.district.code}/?period=2025")
    desk.locator(f'#ranking-table tr[data-code="{tree.street_a.code}"] td').nth(2).click()
    desk.wait_for_url(re.compile(tree.street_a.code))
    desk.get_by_role("heading", name=re.compile("九堡街道")).wait_for()
    _canvas(desk, "#rank-chart")
    codes = [desk.locator("#ranking-table tbody tr").nth(i).get_attribute("data-code") for i in range(2)]
    assert set(codes) == {tree.comm_a1.code, tree.comm_a2.code}
    shot(desk, "measure-4-street")

    # 3. → 九堡社区: the diagnosis names its dilemma, the strategy and the actions.
    desk.locator("#ranking-table").get_by_role("link", name="九堡社区").click()
    desk.wait_for_url(re.compile(tree.comm_a1.code))
    stored = DiagnosisSnapshot.objects.get(place=tree.comm_a1, period="2025")
    verdict = desk.locator("#verdict").inner_text()
    if stored.dilemmas:
        assert "主要短板" in verdict
        desk.locator("#diagnosis .strategy").first.wait_for()
        assert desk.locator("#diagnosis .action-list li").count() >= 2
    else:
        assert "无明显短板" in verdict
    _canvas(desk, "#indicator-chart")
    assert desk.locator("#rank-chart").count() == 0  # a community compares nothing
    shot(desk, "measure-5-community")

    # The tooltip of an indicator bar shows its formula, raw value and numerator / denominator.
    desk.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('indicator-chart'))"
        ".dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0})"
    )
    tip = desk.locator("#indicator-chart div").filter(has_text="原始值").last
    tip.wait_for()
    text = tip.inner_text()
    assert "I1 参与覆盖率" in text and "÷ 人口" in text and "分子 / 分母" in text and "得分" in text
    shot(desk, "measure-5b-tooltip")

    # 4. Its co-participation network.
    desk.locator("#network-link").click()
    desk.wait_for_url(re.compile(r"/network/"))
    _canvas(desk, "#network-chart")
    desk.locator("#node-count").wait_for()
    for id_ in ("III5", "III6", "III7"):
        desk.locator(f'[data-indicator="{id_}"]').wait_for()
    desk.wait_for_timeout(500)
    shot(desk, "measure-6-network")

    # 5. Back up with the breadcrumbs.
    desk.locator(".measure-crumbs").get_by_role("link", name="上城区").click()
    desk.wait_for_url(re.compile(tree.district.code))
    desk.locator("#dimension-scores").wait_for()

    # The same pages on a phone: nothing wider than the screen.
    _login(phone, base, admin.phone)
    for url, name in (
        (f"/staff/measure/{tree.district.code}/", "measure-7-district-phone"),
        (f"/staff/measure/{tree.comm_a1.code}/", "measure-8-community-phone"),
        (f"/staff/measure/{tree.comm_a2.code}/network/", "measure-9-network-phone"),
    ):
        phone.goto(base + url)
        phone.locator("canvas").first.wait_for()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, url
        shot(phone, name)


def test_street_staff_see_only_their_street(live_server, desk, tree):
    base = live_server.url
    _world(tree)
    staff = factories.staff(Role.STREET_STAFF, tree.street_b)
    _login(desk, base, staff.phone)
    desk.get_by_role("link", name="治理成效").first.click()
    desk.get_by_role("heading", name=re.compile("采荷街道")).wait_for()
    assert desk.locator(".measure-crumbs a").count() == 0  # the district is not theirs
    table = desk.locator("#ranking-table").inner_text()
    assert "采荷社区" in table and "九堡" not in table
    shot(desk, "measure-10-street-b")
    for url in (f"/staff/measure/{tree.street_a.code}/", f"/staff/measure/{tree.comm_a1.code}/network/"):
        response = desk.goto(base + url)
        assert response is not None and response.status == 404


def test_a_large_street_and_a_truncated_network_stay_readable(live_server, desk, phone, tree):
    """35 communities in one ranking and a 300-node drawing of an 812-node network: the chart scrolls inside itself,
    the "已截取" note says what is drawn, and nothing is wider than a phone."""
    reverse("home")
    base = live_server.url
    communities = []
    for n in range(1, 36):
        place = factories.place_chain(f"330102001{n:03d}")
        place.name = f"第{n}社区居民委员会" if n % 5 == 0 else f"社区{n}"
        place.save()
        communities.append((place, n % 6))
    store(communities, ("2024", "2025"), rollup_to=[tree.street_a, tree.district])
    rng = random.Random(1)
    nodes = [["local" if rng.random() < 0.7 else "new_citizen", 1 if i < 280 else 2 + i % 5] for i in range(300)]
    edges = sorted(
        {(min(a, b), max(a, b)) for a, b in ((rng.randrange(280), rng.randrange(280)) for _ in range(900)) if a != b}
    )
    big = communities[0][0]
    GraphSnapshot.objects.filter(place=big, period="2025").update(
        nodes=812,
        edges=5210,
        data={
            "nodes": nodes,
            "edges": [list(e) for e in edges],
            "truncated": True,
            "nodes_total": 812,
            "edges_total": 5210,
        },
    )
    admin = factories.staff(Role.ADMIN, tree.district)

    _login(desk, base, admin.phone)
    desk.goto(f"{base}/staff/measure/{tree.street_a.code}/")
    _canvas(desk, "#rank-chart")
    assert desk.locator("#ranking-table tbody tr").count() == 35
    box = desk.locator("#rank-chart").bounding_box()
    assert box is not None and box["height"] < 1100  # 25 rows shown, the rest behind the chart's own scroll bar
    desk.locator("#ranking").screenshot(path=str(SHOTS / "measure-11-large-street.png"))
    desk.goto(f"{base}/staff/measure/{big.code}/network/")
    _canvas(desk, "#network-chart")
    note = desk.locator("#truncated-note").inner_text()
    assert "已截取" in note and "300" in note and "812" in note
    assert desk.locator("#node-count").inner_text() == "812"
    desk.wait_for_timeout(500)
    shot(desk, "measure-12-large-network")

    _login(phone, base, admin.phone)
    for url in (f"/staff/measure/{tree.street_a.code}/", f"/staff/measure/{big.code}/network/"):
        phone.goto(base + url)
        phone.locator("canvas").first.wait_for()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, url
    phone.locator(".network-graph").screenshot(path=str(SHOTS / "measure-13-large-network-phone.png"))
