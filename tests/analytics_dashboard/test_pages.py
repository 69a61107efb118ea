"""The 治理成效 pages: who may open which (a table), what they show (scores, diagnosis, strategy, indicators, trend,
ranking, network, 暂无数据), the empty states, bad input, the navigation entry — and that opening them never
recomputes anything."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.analytics import catalogue
from gongzhi.analytics.dashboard import views
from gongzhi.analytics.models import Computation, DiagnosisSnapshot, GraphSnapshot, IndicatorSnapshot
from gongzhi.people.models import Role
from gongzhi.web.middleware import SESSION_KEY
from tests import factories

from .snapshots import store

pytestmark = pytest.mark.django_db

DASHBOARD_DIR = Path(views.__file__).resolve().parent


def _find(pattern: str, body: str, group: int = 0) -> str:
    match = re.search(pattern, body, re.S)
    assert match is not None, pattern
    return match[group]


def _page(tree, which: str) -> str:
    return {
        "district": f"/staff/measure/{tree.district.code}/",
        "street_a": f"/staff/measure/{tree.street_a.code}/",
        "comm_a1": f"/staff/measure/{tree.comm_a1.code}/",
        "network_a1": f"/staff/measure/{tree.comm_a1.code}/network/",
    }[which]


# (user) × (district, street A, community A1, network of A1) → status
TABLE = {
    "admin": (200, 200, 200, 200),
    "street_a": (404, 200, 200, 200),
    "street_b": (404, 404, 404, 404),
    "worker_a1": (404, 404, 200, 200),
    "worker_a2": (404, 404, 404, 404),
    "resident": (403, 403, 403, 403),
}


@pytest.mark.parametrize("who", list(TABLE))
def test_permission_table(client, tree, people, measured, who):
    client.force_login(getattr(people, who))
    got = tuple(client.get(_page(tree, w)).status_code for w in ("district", "street_a", "comm_a1", "network_a1"))
    assert got == TABLE[who]


def test_anonymous_is_sent_to_login(client, tree, measured):
    for which in ("district", "street_a", "comm_a1", "network_a1"):
        response = client.get(_page(tree, which))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.get(reverse("measure_dashboard"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_home_shows_the_current_place(client, tree, people, measured):
    client.force_login(people.street_a)
    response = client.get(reverse("measure_dashboard"))
    assert response.status_code == 200 and response.context["place"] == tree.street_a
    # The place switcher moves it.
    session = client.session
    session[SESSION_KEY] = tree.comm_a2.code
    session.save()
    response = client.get(reverse("measure_dashboard"))
    assert response.status_code == 200 and response.context["place"] == tree.comm_a2
    client.force_login(people.resident)
    assert client.get(reverse("measure_dashboard")).status_code == 403


def test_dashboard_page_shows_scores_diagnosis_and_strategy(client, tree, people, measured):
    client.force_login(people.admin)
    response = client.get(_page(tree, "comm_a1") + "?period=2025")
    body = response.content.decode()
    board = response.context["board"]
    assert board.period == "2025"
    rows = measured.rows[(tree.comm_a1.code, "2025")]
    cards = re.findall(r'data-row="(DIM_I|DIM_II|DIM_III|COMPOSITE)"', body)
    assert cards == ["DIM_I", "DIM_II", "DIM_III", "COMPOSITE"]
    assert f"{rows['COMPOSITE']['score']:.1f}" in body
    stored = DiagnosisSnapshot.objects.get(place=tree.comm_a1, period="2025")
    for dim in catalogue.parse_dilemmas(stored.dilemmas):
        info = catalogue.DIMENSIONS[dim]
        assert str(info.dilemma) in body and str(info.strategy) in body
        assert str(info.actions[0].text) in body
    assert 'id="verdict"' in body and "主要短板" in body
    # Every action links to an existing page.
    for href in re.findall(r'<ol class="action-list">(.*?)</ol>', body, re.S):
        for url in re.findall(r'href="([^"]+)"', href):
            assert client.get(url).status_code in (200, 302)
    # The table: every indicator with its raw value written in its unit.
    assert 'data-indicator="I1"' in body and catalogue.indicator("I1").format(rows["I1"]["value"]) in body
    assert 'data-indicator="DENSITY"' in body
    # The charts' data is embedded, the network linked.
    data = json.loads(_find(r'<script id="measure-data" type="application/json">(.*?)</script>', body, 1))
    assert [d["row"] for d in data["dims"]] == ["DIM_I", "DIM_II", "DIM_III", "COMPOSITE"]
    assert {i["id"] for i in data["indicators"]} == {i.id for i in board.indicators if i.info.scored}
    i1 = next(i for i in data["indicators"] if i["id"] == "I1")
    assert i1["formula"] == str(catalogue.indicator("I1").formula) and i1["numerator"] == rows["I1"]["numerator"]
    assert data["trend"]["year"]["periods"] == ["2024", "2025"]
    assert f'href="/staff/measure/{tree.comm_a1.code}/network/?period=2025"' in body
    assert "vendor/echarts.min.js" in body and "analytics/dashboard.js" in body
    # The report of the same place and period, the settings and the computations behind it.
    report = reverse(views.REPORT, args=[tree.comm_a1.code, "2025"])
    pdf = reverse(views.REPORT_PDF, args=[tree.comm_a1.code, "2025"])
    for url in (report, pdf, reverse(views.SETTINGS), reverse(views.COMPUTATIONS)):
        assert f'href="{url}"' in body
        assert client.get(url).status_code == 200, url


def test_no_dilemma_and_no_data(client, tree, people, measured):
    client.force_login(people.admin)
    body = client.get(_page(tree, "comm_a1") + "?period=2024").content.decode()
    # II6 of comm_a1 in 2024 is null.
    row = _find(r'<tr data-indicator="II6".*?</tr>', body)
    assert row.count("暂无数据") == 2
    body = client.get(f"/staff/measure/{tree.comm_a2.code}/").content.decode()
    assert "无明显短板" in body and "主要短板" not in body


def test_street_ranking_and_drill_down_links(client, tree, people, measured):
    client.force_login(people.street_a)
    body = client.get(_page(tree, "street_a")).content.decode()
    table = _find(r'<table class="table measure-ranking".*?</table>', body)
    codes = re.findall(r'data-code="(\d{12})"', table)
    assert codes == [tree.comm_a2.code, tree.comm_a1.code]  # sorted by composite
    assert f'href="/staff/measure/{tree.comm_a2.code}/?period=2025"' in table
    data = json.loads(_find(r'<script id="measure-data" type="application/json">(.*?)</script>', body, 1))
    assert [r["code"] for r in data["ranking"]] == codes and data["ranking"][0]["url"].endswith("?period=2025")
    # Breadcrumbs from the community go back up to the street only.
    body = client.get(_page(tree, "comm_a1")).content.decode()
    crumbs = _find(r'<nav class="crumbs measure-crumbs".*?</nav>', body)
    assert f"/staff/measure/{tree.street_a.code}/" in crumbs and tree.district.code not in crumbs


def test_district_compares_every_community(client, tree, people, measured):
    client.force_login(people.admin)
    body = client.get(_page(tree, "district") + "?compare=communities").content.decode()
    table = _find(r'<table class="table measure-ranking".*?</table>', body)
    assert re.findall(r'data-code="(\d{12})"', table) == [tree.comm_a2.code, tree.comm_b1.code, tree.comm_a1.code]
    assert "下辖社区比较" in body and 'name="compare" value="communities"' in body


def test_network_page(client, tree, people, measured):
    client.force_login(people.worker_a1)
    response = client.get(f"/staff/measure/{tree.comm_a2.code}/network/")
    assert response.status_code == 404  # a sibling community
    client.force_login(people.admin)
    body = client.get(f"/staff/measure/{tree.comm_a2.code}/network/").content.decode()
    stored = GraphSnapshot.objects.get(place=tree.comm_a2, period="2025")
    assert 'id="network-chart"' in body and 'id="truncated-note"' in body and "已截取" in body
    assert f'id="node-count">{stored.data["nodes_total"]:,}<' in body
    data = json.loads(_find(r'<script id="network-data" type="application/json">(.*?)</script>', body, 1))
    assert len(data["nodes"]) == len(stored.data["nodes"]) and len(data["edges"]) == len(stored.data["edges"])
    assert [c["name"] for c in data["categories"]] == ["户籍居民", "新市民"]
    for id_ in ("III5", "III6", "III7"):
        assert f'data-indicator="{id_}"' in body
    body = client.get(f"/staff/measure/{tree.comm_a1.code}/network/").content.decode()
    assert "已截取" not in body
    assert client.get(f"/staff/measure/{tree.street_a.code}/network/").status_code == 404


def test_empty_states(client, tree, people):
    client.force_login(people.admin)
    body = client.get(_page(tree, "district")).content.decode()
    assert 'id="measure-empty"' in body and "还没有治理成效数据" in body
    assert 'id="measure-data"' not in body  # no empty charts
    # The admin may compute: the way to the computations page (and a street's worker only sees the record).
    assert f'href="{reverse(views.COMPUTATIONS)}" id="computations-link">去计算指标<' in body
    client.force_login(people.worker_a1)
    body = client.get(_page(tree, "comm_a1")).content.decode()
    assert "请联系区或街道的管理员计算指标" in body and "去计算指标" not in body
    client.force_login(people.admin)
    body = client.get(_page(tree, "network_a1")).content.decode()
    assert 'id="measure-empty"' in body and 'id="network-chart"' not in body
    store([(tree.comm_a1, 1)], ("2025",), rollup_to=[tree.street_a, tree.district])
    body = client.get(_page(tree, "comm_a1") + "?period=2023").content.decode()
    assert "2023 没有治理成效数据" in body and 'href="?period=2025"' in body


def test_a_malformed_period_is_a_clear_error(client, tree, people, measured):
    client.force_login(people.admin)
    response = client.get(_page(tree, "comm_a1") + "?period=2025Q5")
    assert response.status_code == 400
    body = response.content.decode()
    assert "时期格式不正确" in body and response.context["board"].period == "2025"  # the newest instead
    assert client.get(_page(tree, "network_a1") + "?period=abc").status_code == 400


def test_opening_pages_never_recomputes(client, tree, people, measured, monkeypatch):
    import importlib

    def boom(*args, **kwargs):
        raise AssertionError("a dashboard page must not run the engine or a computation")

    for module, names in (
        ("gongzhi.analytics.services", ("compute_now", "computation_request")),
        ("gongzhi.analytics.engine.indicators", ("compute_indicators",)),
        ("gongzhi.analytics.engine.scoring", ("score", "diagnose")),
        ("gongzhi.analytics.engine.rollup", ("rollup",)),
        ("gongzhi.analytics.engine.graphs", ("drawings", "coparticipation_edges")),
    ):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        for name in names:
            if hasattr(mod, name):
                monkeypatch.setattr(mod, name, boom)
    before = (
        Computation.objects.count(),
        IndicatorSnapshot.objects.count(),
        DiagnosisSnapshot.objects.count(),
        GraphSnapshot.objects.count(),
    )
    client.force_login(people.admin)
    for url in (
        reverse("measure_dashboard"),
        _page(tree, "district") + "?compare=communities",
        _page(tree, "street_a") + "?period=2024",
        _page(tree, "comm_a1"),
        _page(tree, "network_a1"),
        _page(tree, "comm_a1") + "?period=2030",
    ):
        assert client.get(url).status_code == 200
    after = (
        Computation.objects.count(),
        IndicatorSnapshot.objects.count(),
        DiagnosisSnapshot.objects.count(),
        GraphSnapshot.objects.count(),
    )
    assert after == before


def test_the_dashboard_code_imports_no_engine_formula_or_service():
    forbidden = ("engine.indicators", "engine.scoring", "engine.rollup", "engine.graphs", "analytics.services", "jobs")
    for path in DASHBOARD_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert not any(name.endswith(f) or f".{f}." in f".{name}." for f in forbidden), (path.name, name)


def _page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_page_queries_do_not_grow_with_communities(client, tree):
    extra = [factories.place_chain(f"330102001{n:03d}") for n in range(3, 9)]
    store([(tree.comm_b1, 1)], ("2024", "2025"), rollup_to=[tree.street_b])
    store(
        [(tree.comm_a1, 0), (tree.comm_a2, 2)] + [(p, i) for i, p in enumerate(extra)],
        ("2024", "2025"),
        rollup_to=[tree.street_a],
    )
    admin = factories.staff(Role.ADMIN, tree.district)
    client.force_login(admin)
    small = _page_queries(client, _page(tree, "district").replace(tree.district.code, tree.street_b.code))
    large = _page_queries(client, _page(tree, "street_a"))
    assert small == large
    assert _page_queries(client, f"/staff/measure/{tree.comm_b1.code}/network/") == _page_queries(
        client, f"/staff/measure/{extra[-1].code}/network/"
    )


def test_navigation_entry(client, tree, people, measured):
    client.force_login(people.worker_a1)
    body = client.get(reverse("staff_home")).content.decode()
    assert f'href="{reverse("measure_dashboard")}"' in body and "治理成效" in body
    body = client.get(_page(tree, "comm_a1")).content.decode()
    assert re.search(r'<a href="/staff/measure/" class="active[^"]*"', body)  # highlighted on every dashboard page
    client.force_login(people.resident)
    body = client.get(reverse("resident_home")).content.decode()
    assert reverse("measure_dashboard") not in body
