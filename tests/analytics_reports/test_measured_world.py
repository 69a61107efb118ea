"""The reports over results computed by the real pipeline (``tests.analytics_support.measured_world``: the
interchange import, the engine, the snapshots): the report, its PDF and the open data read what was stored."""

from __future__ import annotations

import csv
import io

import pypdfium2 as pdfium
import pytest
from django.test import Client

from gongzhi.analytics import catalogue
from gongzhi.analytics.engine import spec
from gongzhi.analytics.models import DiagnosisSnapshot, IndicatorSnapshot
from gongzhi.analytics.reports import pdf, selectors
from gongzhi.people.models import Role
from tests import factories
from tests.analytics_support import measured_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def measured(tree):
    return measured_world(tree)


def test_reports_and_open_data_of_a_measured_district(measured, tree, cjk_font):
    admin = factories.staff(Role.ADMIN, tree.district)
    client = Client()
    client.force_login(admin)
    for period in measured.periods:
        response = client.get(f"/measure/reports/{tree.district.code}/{period}/")
        assert response.status_code == 200, period
        html = response.content.decode()
        stored = {r.indicator: r for r in IndicatorSnapshot.objects.filter(place=tree.district, period=period)}
        composite = stored[spec.COMPOSITE].score
        assert catalogue.format_score(composite) in html
        for d in spec.DIMENSIONS:
            assert catalogue.dimension(d).label in html
        # Both streets ranked, and every community.
        for place in (tree.street_a, tree.street_b, tree.comm_a1, tree.comm_a2, tree.comm_b1):
            assert f'data-place="{place.code}"' in html
        diagnosis = DiagnosisSnapshot.objects.get(place=tree.district, period=period)
        for d in catalogue.parse_dilemmas(diagnosis.dilemmas):
            assert str(catalogue.dimension(d).strategy) in html

    report = selectors.report_get(user=admin, code=tree.comm_a1.code, period="2025")
    assert [line.id for line in report.dimensions] == list(spec.DIMENSIONS)
    assert {i.id for i in report.indicators} >= set(spec.EXPORT_IDS)
    assert [p["period"] for p in report.trend] == ["2024", "2025"]
    document = pdfium.PdfDocument(pdf.render(report))
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert tree.comm_a1.name in text and "维度Ⅰ" in text

    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/measure/opendata/{tree.district.code}/2025.csv").content.decode()))
    )
    assert {r["place_code"] for r in rows} == {tree.comm_a1.code, tree.comm_a2.code, tree.comm_b1.code}
    # Small communities: every published count is 0 or at least 5.
    for r in rows:
        for column in ("numerator", "denominator"):
            if r[column]:
                assert float(r[column]) == 0 or abs(float(r[column])) >= 5, r
        if r["indicator"] == "III5" and r["numerator"]:
            num, den = float(r["numerator"]), float(r["denominator"])
            assert all(x == 0 or x >= 5 for x in ((den + num) / 2, (den - num) / 2)), r
        if r["indicator"] in ("POP", "NODES", "EDGES") and r["value"]:
            assert float(r["value"]) == 0 or float(r["value"]) >= 5, r
    assert any(r["suppressed"] for r in rows)
