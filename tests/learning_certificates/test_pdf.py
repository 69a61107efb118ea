"""Must show: the PDF certificate shows Chinese text with an embedded CJK font. The first page is rendered to
test-results/certificate-pdf.png (look at it)."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from django.test import override_settings

from gongzhi.learning.credentials import certificates, pdf

pytestmark = pytest.mark.django_db

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def test_the_pdf_embeds_a_cjk_font_and_renders_chinese(eligible):
    cert = eligible.claim()
    content = pdf.render(cert, verify_url=f"https://gz.example/verify/{cert.code}/")
    assert content.startswith(b"%PDF-")
    # The font is embedded (a subset: TrueType /FontFile2 or CFF /FontFile3), as a CID font for the CJK glyphs.
    assert re.search(rb"/FontFile[23]?\b", content)
    assert b"/CIDFontType" in content
    assert len(content) < 400_000  # a subset, not the whole 19 MB collection

    document = pdfium.PdfDocument(content)
    assert len(document) == 1
    page = document[0]
    width, height = page.get_size()
    assert width > height  # A4 landscape: 842 × 595 pt
    assert round(width) == 842 and round(height) == 595
    text = page.get_textpage().get_text_range()
    for expected in ("证", "书", "星级家长执照", "陈*华", "一星家长", "九堡街道", certificates.code_display(cert.code)):
        assert expected in text, expected
    assert "陈美华" not in text  # the masked name only
    assert cert.expires_on.isoformat() in text and cert.issued_on.isoformat() in text
    assert f"https://gz.example/verify/{cert.code}/" in text.replace("\r", "").replace("\n", "")

    image = page.render(scale=2).to_pil()
    SHOTS.mkdir(exist_ok=True)
    image.save(SHOTS / "certificate-pdf.png")
    # Chinese glyphs were drawn: the title area holds plenty of dark red pixels, not an empty box.
    gray = image.convert("L")
    title = gray.crop(
        (int(image.width * 0.35), int(image.height * 0.06), int(image.width * 0.65), int(image.height * 0.2))
    )
    dark = sum(1 for v in title.get_flattened_data() if v < 160)
    assert dark > 1500
    # The QR code in the lower right is black and white modules.
    qr = gray.crop(
        (int(image.width * 0.78), int(image.height * 0.64), int(image.width * 0.94), int(image.height * 0.87))
    )
    values = list(qr.get_flattened_data())
    assert sum(1 for v in values if v < 60) > len(values) * 0.2


def test_a_revoked_certificate_pdf_says_so(eligible):
    cert = eligible.claim()
    certificates.certificate_revoke(actor=eligible.users["street_staff"], certificate=cert, reason="材料不实")
    cert.refresh_from_db()
    text = pdfium.PdfDocument(pdf.render(cert, verify_url="https://gz.example/v/")).get_page(0).get_textpage()
    assert "本证书已撤销" in text.get_text_range()


def test_without_a_cjk_font_there_is_a_clear_error(eligible, tmp_path):
    cert = eligible.claim()
    with override_settings(CJK_FONT_PATHS=[str(tmp_path / "missing.ttc")]), pytest.raises(pdf.CJKFontMissing) as err:
        pdf.render(cert, verify_url="https://gz.example/v/")
    assert "中文字体" in err.value.message and "fonts-noto-cjk" in err.value.message


def test_the_simplified_chinese_face_of_a_collection_is_chosen():
    path, index = pdf.cjk_font()
    if path.endswith("NotoSansCJK-Regular.ttc"):
        assert index == 2  # JP, KR, SC, …
