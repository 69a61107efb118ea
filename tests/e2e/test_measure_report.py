"""Journey (析 measure, reports): street staff open the report of their street from the reports entry, read the
dimension scores, the diagnosis and the ranked communities, follow a community's report, print it (the print layout is
rendered to PDF by Chromium and looked at), download the server-side PDF (its pages rendered to PNG and looked at) and
the open data (CSV and XLSX); a phone shows the same report without sideways scrolling."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook

import config.urls  # noqa: F401  (load the URLconf, which imports every app, before the first page is timed)
from gongzhi.core.models import AuditEvent
from tests.analytics_reports.conftest import build_world

from .conftest import SHOTS, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"


def _login(page, base, phone, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _pdf_pages(content: bytes, name: str, pages: int = 3) -> pdfium.PdfDocument:
    document = pdfium.PdfDocument(content)
    SHOTS.mkdir(exist_ok=True)
    for i in range(min(len(document), pages)):
        document[i].render(scale=1.5).to_pil().save(SHOTS / f"{name}-{i + 1}.png")
    return document


def test_staff_read_print_and_download_the_report(live_server, desk, phone, tree):
    base = live_server.url
    world = build_world(tree)
    staff = world.users["street_staff"]
    street, a1 = tree.street_a, tree.comm_a1

    # 1. The reports entry opens the newest report of the current place (the street).
    _login(desk, base, staff.phone)
    desk.goto(f"{base}/measure/reports/")
    desk.wait_for_url(f"{base}/measure/reports/{street.code}/2025/")
    desk.locator("#report[data-charts]").wait_for()  # ECharts (served locally) drew the charts
    assert desk.locator("#report").get_attribute("data-charts") == "4"
    assert desk.locator("#report-title").inner_text() == "九堡街道 2025 年 社会资本测评报告"
    assert desk.locator("#chart-dimensions svg").count() == 1
    assert desk.locator(".dim-card").count() == 4
    ranked = desk.locator("#children-table tbody tr")
    assert ranked.count() == 2
    assert "组织化主体不足" in desk.locator("#report-diagnosis").inner_text()
    shot(desk, "measure-report-1-street-desk")

    # 2. A community from the ranking: its own report with the dilemma, the strategy and the actions.
    desk.locator("#children-table").get_by_role("link", name="九堡社区").click()
    desk.wait_for_url(f"{base}/measure/reports/{a1.code}/2025/")
    desk.locator("#report[data-charts]").wait_for()
    diagnosis = desk.locator('[data-dilemma="I"]')
    assert "强化学习共同体孵化机制" in diagnosis.inner_text()
    assert desk.locator('#indicator-table tr[data-indicator="I4"].weak').count() == 1
    shot(desk, "measure-report-2-community-desk")

    # 3. Printing: the print stylesheet hides the navigation and the buttons; Chromium's print to PDF is looked at.
    desk.emulate_media(media="print")
    desk.evaluate("window.dispatchEvent(new Event('beforeprint'))")  # what the browser sends before printing
    assert not desk.locator(".topbar").is_visible() and not desk.locator("#report-pdf").is_visible()
    printed = desk.pdf(format="A4", print_background=True)
    document = _pdf_pages(printed, "measure-report-3-printed", pages=4)
    assert "九堡社区 2025 年 社会资本测评报告" in document[0].get_textpage().get_text_range()
    desk.emulate_media(media="screen")

    # 4. The server's PDF.
    with desk.expect_download(timeout=60_000) as download:  # drawn on demand: a few seconds on a busy machine
        desk.locator("#report-pdf").click(timeout=60_000)
    assert download.value.suggested_filename == f"measure-report-{a1.code}-2025.pdf"
    content = Path(download.value.path()).read_bytes()
    document = _pdf_pages(content, "measure-report-4-pdf")
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    for expected in ("九堡社区", "维度Ⅰ 信任/参与", "维度Ⅱ 规范/组织", "维度Ⅲ 网络/资源", "强化学习共同体孵化机制"):
        assert expected in text, expected

    # 5. Open data of the street: CSV and XLSX, both audited.
    desk.goto(f"{base}/measure/reports/{street.code}/2025/")
    desk.locator("#report-opendata summary").click()
    shot(desk, "measure-report-5-opendata-desk")
    with desk.expect_download() as csv_download:
        desk.locator("#opendata-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text(encoding="utf-8"))))
    assert {r["place_code"] for r in rows} == {tree.comm_a1.code, tree.comm_a2.code}
    assert any(r["suppressed"] for r in rows)
    with desk.expect_download() as xlsx_download:
        desk.locator("#opendata-xlsx").click()
    book = load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes()))
    assert book.sheetnames == ["数据", "说明"]
    assert list(
        AuditEvent.objects.filter(target_type="analytics_opendata")
        .order_by("id")
        .values_list("changes__format", flat=True)
    ) == ["csv", "xlsx"]

    # 6. On a phone: the same report, no sideways scrolling of the page (wide tables scroll inside their box).
    _login(phone, base, staff.phone)
    phone.goto(f"{base}/measure/reports/{a1.code}/2025/")
    phone.locator("#report[data-charts]").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "measure-report-6-community-phone")

    # 7. A period without results: a clear page that offers the stored ones.
    desk.goto(f"{base}/measure/reports/{a1.code}/2019/")
    assert "还没有" in desk.locator("#report-missing").inner_text()
    desk.get_by_role("link", name="九堡社区 2024").click()
    desk.wait_for_url(f"{base}/measure/reports/{a1.code}/2024/")
