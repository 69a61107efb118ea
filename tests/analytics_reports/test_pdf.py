"""The report as a Chinese PDF (fpdf2 with the embedded CJK font) with the charts drawn by matplotlib as images.
Its pages are rendered to test-results/measure-report-pdf-<n>.png (look at them)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from django.test import Client, override_settings

from gongzhi.analytics import catalogue
from gongzhi.analytics.engine import spec
from gongzhi.analytics.reports import charts, pdf, selectors

pytestmark = pytest.mark.django_db

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def _report(snap, key: str = "district", period: str = "2025"):
    return selectors.report_get(user=snap.users["admin"], code=getattr(snap.tree, key).code, period=period)


def _text(document: pdfium.PdfDocument) -> str:
    return "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


def test_the_district_pdf_has_the_report_in_chinese_with_charts(snap, cjk_font):
    content = pdf.render(_report(snap))
    assert content.startswith(b"%PDF-")
    assert re.search(rb"/FontFile[23]?\b", content) and b"/CIDFontType" in content  # embedded CJK font
    assert len(re.findall(rb"/Subtype\s*/Image", content)) >= 3  # dimension bars, indicator bars, trend
    assert len(content) < 1_500_000
    document = pdfium.PdfDocument(content)
    assert 2 <= len(document) <= 6
    width, height = document[0].get_size()
    assert round(width) == 595 and round(height) == 842  # A4 portrait
    text = _text(document).replace("\r", "").replace("\n", "")
    for expected in (
        "上城区",
        "2025 年",
        "社会资本测评报告",
        "九堡街道",
        "采荷街道",
        "九堡社区",
        "观音塘社区",
        "街道排名",
        "社区排名",
    ):
        assert expected in text, expected
    for d in spec.DIMENSIONS:
        assert catalogue.dimension(d).label in text
    assert "综合得分" in text and "短板阈值" in text and "计算时间" in text and "2026-01-02 09:30" in text
    for ind in spec.EXPORT_IDS:
        assert f"{ind} {catalogue.indicator(ind).name}" in text.replace("\n", ""), ind
    assert "第 1 页 / 共" in text
    SHOTS.mkdir(exist_ok=True)
    for i in range(min(len(document), 3)):
        image = document[i].render(scale=1.6).to_pil()
        image.save(SHOTS / f"measure-report-pdf-{i + 1}.png")
    # The first page carries the dimension chart: plenty of coloured (not grey) pixels.
    first = document[0].render(scale=1).to_pil().convert("RGB")
    coloured = sum(1 for r, g, b in first.get_flattened_data() if max(r, g, b) - min(r, g, b) > 60)
    assert coloured > 2000


def test_a_community_pdf_names_its_dilemma_strategy_and_actions(snap, cjk_font):
    document = pdfium.PdfDocument(pdf.render(_report(snap, "comm_a1")))
    text = _text(document).replace("\r", "").replace("\n", "")
    assert "九堡社区" in text
    assert "主导困境" in text and "参与不足" in text and "强化学习共同体孵化机制" in text
    assert "拉低该维度的指标" in text and "I4 议事参与率" in text
    assert "议事参与率（I4）：0 → 0.1" in text  # the changed goalpost
    assert "街道排名" not in text


def test_the_same_report_gives_the_same_bytes_dated_by_its_computation(snap, cjk_font):
    first = pdf.render(_report(snap))
    time.sleep(1.1)  # a second later: nothing in the file may carry the time of the rendering
    second = pdf.render(_report(snap))
    assert first == second
    meta = pdfium.PdfDocument(first).get_metadata_dict()
    assert meta["CreationDate"].startswith("D:20260102")  # the computation finished 2026-01-02 09:30 (+08:00)
    assert meta["Title"] == "上城区 2025 年 社会资本测评报告"
    png = charts.dimension_bars(_report(snap))
    assert png.startswith(b"\x89PNG") and png == charts.dimension_bars(_report(snap))
    assert b"Software" not in png and b"matplotlib" not in png


def test_the_download(snap, cjk_font):
    client = Client()
    client.force_login(snap.users["street_staff"])
    response = client.get(f"/measure/reports/{snap.tree.street_a.code}/2024/report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="measure-report-{snap.tree.street_a.code}-2024.pdf"' in response["Content-Disposition"]
    text = _text(pdfium.PdfDocument(response.content))
    assert "九堡街道 2024 年 社会资本测评报告" in text.replace("\r\n", "")


def test_without_a_cjk_font_there_is_a_clear_error(snap, tmp_path):
    with override_settings(CJK_FONT_PATHS=[str(tmp_path / "missing.ttc")]):
        with pytest.raises(pdf.CJKFontMissing) as err:
            pdf.render(_report(snap))
        assert (
            "中文字体" in err.value.message
            and "PDF 报告" in err.value.message
            and "fonts-noto-cjk" in err.value.message
        )
        client = Client()
        client.force_login(snap.users["admin"])
        response = client.get(f"/measure/reports/{snap.tree.district.code}/2025/report.pdf")
        assert response.status_code == 503
        html = response.content.decode()
        assert "fonts-noto-cjk" in html and f"/measure/reports/{snap.tree.district.code}/2025/" in html
