"""The certificate as a Chinese A4 PDF (fpdf2): holder's masked name, programme, level, dates, code, issuer, and a QR
code to the public verification page (drawn as vector squares, with the address printed under it).

The font is the first file of ``settings.CJK_FONT_PATHS`` that exists (a .ttf/.otf, or a .ttc/.otc collection, of
which the Simplified Chinese face is chosen), EMBEDDED as a subset of the glyphs used, so the PDF shows the same on any
device. Without such a font there is no PDF: ``CJKFontMissing`` says what to install.
"""

from __future__ import annotations

import datetime
import os
from functools import lru_cache

import segno
from django.conf import settings
from django.utils.translation import gettext as _
from fpdf import FPDF

from gongzhi.core.errors import DomainError

from ..models import Certificate
from .certificates import code_display
from .verify import certificate_state

RED = (155, 28, 28)
GOLD = (184, 134, 11)
INK = (33, 33, 33)
GREY = (110, 110, 110)


class CJKFontMissing(DomainError):
    code = "cjk_font_missing"
    status = 503


@lru_cache(maxsize=8)
def _face_index(path: str) -> int:
    """For a font collection: the index of its Simplified Chinese face (Noto "… CJK SC", WenQuanYi…); else 0."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    try:
        from fontTools.ttLib import TTCollection

        collection = TTCollection(path, lazy=True)
        names = [str(font["name"].getDebugName(1) or "") for font in collection.fonts]
    except Exception:  # an unreadable collection: let fpdf2 report it
        return 0
    for i, name in enumerate(names):
        if name.endswith(" SC") or "Simplified" in name or " GB" in name:
            return i
    return 0


def cjk_font() -> tuple[str, int]:
    """(path, face index) of the CJK font to embed. Raises ``CJKFontMissing``."""
    for path in getattr(settings, "CJK_FONT_PATHS", []) or []:
        if path and os.path.isfile(path):
            return path, _face_index(path)
    raise CJKFontMissing(
        _(
            "找不到中文字体，无法生成 PDF 证书。请安装 fonts-noto-cjk，或设置 CJK_FONT_PATH 指向含中文字形的 "
            ".ttf/.otf/.ttc 字体文件"
        )
    )


def _bold_sibling(path: str) -> str | None:
    candidate = path.replace("Regular", "Bold")
    return candidate if candidate != path and os.path.isfile(candidate) else None


def _qr(pdf: FPDF, data: str, x: float, y: float, size: float) -> None:
    """A QR code of ``data`` as filled squares (one rectangle per run of dark modules in a row)."""
    qr = segno.make(data, error="m", micro=False)
    rows = [list(row) for row in qr.matrix_iter(scale=1, border=0)]
    module = size / len(rows)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")
            else:
                c += 1


def render(certificate: Certificate, *, verify_url: str, today: datetime.date | None = None) -> bytes:
    """The certificate's PDF (A4 landscape). ``certificate`` with its programme, place and level loaded."""
    path, index = cjk_font()
    programme, level = certificate.programme, certificate.level
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_title(f"{programme.name} · {level.name} · {certificate.code}")
    pdf.set_author(programme.place.name)
    pdf.set_creator("gongzhi 共治")
    pdf.set_lang("zh-CN")
    pdf.add_font("cjk", "", path, collection_font_number=index)
    bold = _bold_sibling(path)
    if bold:
        pdf.add_font("cjk", "B", bold, collection_font_number=_face_index(bold))
    pdf.add_page()
    w, h = pdf.w, pdf.h

    # Frame: a red outer line and a gold inner one.
    pdf.set_draw_color(*RED)
    pdf.set_line_width(1.6)
    pdf.rect(8, 8, w - 16, h - 16)
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.5)
    pdf.rect(12, 12, w - 24, h - 24)

    def text(y: float, value: str, size: float, color: tuple[int, int, int] = INK, bold_text: bool = False) -> None:
        pdf.set_font("cjk", "B" if bold_text and bold else "", size)
        pdf.set_text_color(*color)
        pdf.set_xy(20, y)
        pdf.cell(w - 40, size * 0.45, value, align="C")

    text(24, "证    书", 40, RED, True)
    text(42, "CERTIFICATE", 10, GREY)
    text(52, programme.name, 20, INK, True)
    text(70, "兹证明", 15)
    text(81, certificate.holder_name_masked, 28, INK, True)
    text(97, f"参加“{programme.name}”学习认证，达到", 15)
    text(108, f"「{level.name}」", 24, RED, True)
    text(123, "标准，特发此证。", 15)

    # Details, bottom left.
    expires = certificate.expires_on.isoformat() if certificate.expires_on else "长期有效"
    rows = [
        ("证书编号", code_display(certificate.code)),
        ("颁发日期", certificate.issued_on.isoformat()),
        ("有效期至", expires),
        ("颁证单位", programme.place.name),
    ]
    y = 146.0
    for label, value in rows:
        pdf.set_xy(30, y)
        pdf.set_font("cjk", "", 11)
        pdf.set_text_color(*GREY)
        pdf.cell(24, 7, label)
        pdf.set_text_color(*INK)
        pdf.set_font("cjk", "", 12)
        pdf.cell(110, 7, value)
        y += 8.5

    state = certificate_state(certificate, today=today)
    if state != "valid":
        label = {"revoked": "本证书已撤销", "superseded": "本证书已换发新证", "expired": "本证书已过期"}.get(state, "")
        if label:
            text(134, label, 16, RED, True)

    # QR code to the verification page, bottom right, with the address under it.
    size = 38.0
    qx, qy = w - 30 - size, 138.0
    _qr(pdf, verify_url, qx, qy, size)
    pdf.set_font("cjk", "", 9)
    pdf.set_text_color(*INK)
    pdf.set_xy(qx - 20, qy + size + 1.5)
    pdf.cell(size + 40, 4.5, "扫码验证证书真伪", align="C")
    pdf.set_font("cjk", "", 6.5)
    pdf.set_text_color(*GREY)
    pdf.set_xy(qx - 36, qy + size + 6.5)
    pdf.multi_cell(size + 72, 3.2, verify_url, align="C")
    return bytes(pdf.output())


def filename(certificate: Certificate) -> str:
    return f"certificate-{certificate.code}.pdf"
