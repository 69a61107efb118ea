"""The HTML report of a place and period: header with the settings used, dimension scores and composite, the
diagnosis with the paper's strategy and actions, every indicator, the trend, the ranked places beneath; read from the
snapshots in a constant number of queries; a missing period is a clear 404 page."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gongzhi.analytics import catalogue
from gongzhi.analytics.engine import spec
from gongzhi.analytics.models import Computation, DiagnosisSnapshot, IndicatorSnapshot
from gongzhi.places.models import Place
from tests import factories

from .conftest import COMMUNITIES

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _section(pattern: str, html: str, group: int = 0) -> str:
    found = re.search(pattern, html, re.S)
    assert found is not None, pattern
    return found.group(group)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_community_report_shows_scores_diagnosis_indicators_and_trend(snap):
    response = _client(snap.users["street_staff"]).get(f"/measure/reports/{snap.tree.comm_a1.code}/2025/")
    assert response.status_code == 200
    html = response.content.decode()
    text = _text(html)
    assert "九堡社区 2025 年 社会资本测评报告" in text
    # Header: period, computed at, the settings used (threshold 65 and a changed goalpost).
    assert "2026-01-02 09:30" in text
    assert "短板阈值" in text and "65" in text
    assert "等权" in text
    assert "议事参与率（I4）：0 → 0.1（默认 0 → 0.2）" in text
    # The dimension scores and composite, as stored.
    rows = snap.rows("comm_a1", "2025")
    for d in spec.DIMENSIONS:
        assert catalogue.dimension(d).label in text
        assert f"{rows[spec.DIMENSION_ROWS[d]].score:.1f}" in text
    assert f"{rows['COMPOSITE'].score:.1f}" in text
    # The diagnosis: the dominant dilemma with the paper's strategy, its actions and the weak indicators.
    diagnosis = DiagnosisSnapshot.objects.get(place=snap.tree.comm_a1, period="2025")
    assert diagnosis.dilemmas == "I"
    assert 'data-dilemma="I"' in html
    assert "强化学习共同体孵化机制" in text and "参与不足" in text
    for action in catalogue.dimension("I").actions:
        assert str(action.text) in text
    for weak in diagnosis.weak["I"]:
        assert f'data-weak="{weak}"' in html
    # Every indicator with its raw value, score and formula.
    for ind in (*spec.EXPORT_IDS, "POP", "NODES", "EDGES", "DENSITY"):
        assert f'data-indicator="{ind}"' in html, ind
    assert "30.0%" in text  # I1 = 0.30 as a share
    assert str(catalogue.indicator("I1").formula) in text
    i1 = rows["I1"]
    assert f"{i1.score:.1f}" in text
    # The trend over the stored years, with both periods linked.
    assert 'id="chart-trend"' in html and "2024 年" in text
    assert f'href="/measure/reports/{snap.tree.comm_a1.code}/2024/"' in html
    # Charts from the local ECharts, their data in the page; a PDF link; no children for a community.
    assert "/static/vendor/echarts.min.js" in html
    data = json.loads(_section(r'id="report-chart-data"[^>]*>(.*?)</script>', html, 1))
    assert [d["id"] for d in data["dimensions"]] == ["I", "II", "III", "COMPOSITE"]
    assert len(data["indicators"]) == len(spec.SCORED_IDS)
    assert f"/measure/reports/{snap.tree.comm_a1.code}/2025/report.pdf" in html
    assert 'id="report-children"' not in html
    # Printable.
    assert "@media print" in html


def test_a_street_report_ranks_its_communities(snap):
    response = _client(snap.users["street_staff"]).get(f"/measure/reports/{snap.tree.street_a.code}/2025/")
    assert response.status_code == 200
    html = response.content.decode()
    table = _section(r'id="children-table".*?</table>', html)
    order = re.findall(r'data-place="(\d{12})"', table)
    composite = {
        code: IndicatorSnapshot.objects.get(place_id=code, period="2025", indicator="COMPOSITE").score
        for code in (snap.tree.comm_a1.code, snap.tree.comm_a2.code)
    }
    assert order == sorted(composite, key=lambda c: -(composite[c] or 0.0))
    assert "社区排名" in html
    assert 'id="communities-table"' not in html  # a street's children are its communities


def test_a_district_report_ranks_streets_and_communities(snap):
    response = _client(snap.users["admin"]).get(f"/measure/reports/{snap.tree.district.code}/2025/")
    assert response.status_code == 200
    html = response.content.decode()
    children = _section(r'id="children-table".*?</table>', html)
    assert set(re.findall(r'data-place="(\d{12})"', children)) == {snap.tree.street_a.code, snap.tree.street_b.code}
    communities = _section(r'id="communities-table".*?</table>', html)
    codes = re.findall(r'data-place="(\d{12})"', communities)
    assert sorted(codes) == sorted(getattr(snap.tree, k).code for k in COMMUNITIES)
    assert "街道排名" in html
    # Open data links for an admin (export permission).
    assert f"/measure/opendata/{snap.tree.district.code}/2025.csv" in html
    assert f"/measure/opendata/{snap.tree.district.code}/2025.xlsx" in html


def test_no_dominant_dilemma_says_so(snap):
    DiagnosisSnapshot.objects.filter(place=snap.tree.comm_a2, period="2025").update(dilemmas="", weak={})
    html = _client(snap.users["street_staff"]).get(f"/measure/reports/{snap.tree.comm_a2.code}/2025/").content.decode()
    assert 'id="no-dilemma"' in html and "无明显短板" in html
    assert "data-dilemma=" not in html


def test_a_missing_period_is_a_clear_404_page_offering_the_stored_ones(snap):
    client = _client(snap.users["street_staff"])
    for period in ("2023", "2025Q2", "abc"):
        response = client.get(f"/measure/reports/{snap.tree.comm_a1.code}/{period}/")
        assert response.status_code == 404
        html = response.content.decode()
        assert "还没有" in html and "九堡社区" in html
        assert f'href="/measure/reports/{snap.tree.comm_a1.code}/2025/"' in html
        assert f'href="/measure/reports/{snap.tree.comm_a1.code}/2024/"' in html
    assert client.get(f"/measure/reports/{snap.tree.comm_a1.code}/2023/report.pdf").status_code == 404


def test_the_index_opens_the_newest_period_of_the_current_place(snap):
    client = _client(snap.users["street_staff"])
    response = client.get("/measure/reports/")
    assert response.status_code == 302
    assert response["Location"] == f"/measure/reports/{snap.tree.street_a.code}/2025/"


def test_the_index_without_results(tree):
    user = factories.staff("street_staff", tree.street_a)
    response = _client(user).get("/measure/reports/")
    assert response.status_code == 200
    assert "还没有测评结果" in response.content.decode()


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_report_reads_in_a_constant_number_of_queries(snap):
    client = _client(snap.users["admin"])
    district = f"/measure/reports/{snap.tree.district.code}/2025/"
    before = _count(client, district)
    assert before <= 14
    # Ten more communities under street_b with results: the same number of queries.
    computation = snap.computations["2025"]
    for i in range(2, 12):
        code = f"{snap.tree.street_b.code[:9]}{i:03d}"
        place = factories.place_chain(code)
        IndicatorSnapshot.objects.bulk_create(
            IndicatorSnapshot(place=place, period="2025", indicator=ind, value=1.0, score=50.0, computation=computation)
            for ind in (*spec.EXPORT_IDS, "POP", *spec.DIMENSION_ROWS.values(), spec.COMPOSITE)
        )
        DiagnosisSnapshot.objects.create(
            place=place, period="2025", dilemmas="II", weak={"II": ["II1"]}, computation=computation
        )
    assert _count(client, district) == before
    assert _count(client, f"/measure/reports/{snap.tree.comm_a1.code}/2025/") <= before


def test_the_report_uses_the_settings_of_its_own_computation(snap):
    html = _client(snap.users["street_staff"]).get(f"/measure/reports/{snap.tree.comm_a1.code}/2024/").content.decode()
    assert "方法默认值" in html  # 2024 ran with the defaults
    assert "60" in _text(html)
    assert Computation.objects.count() == 2
    assert Place.objects.get(code=snap.tree.comm_a1.code).name == "九堡社区"
