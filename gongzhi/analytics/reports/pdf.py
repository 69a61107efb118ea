"""The report of a place and period as a Chinese A4 PDF (fpdf2), the same content as the HTML page: header with the
settings used, the dimension scores and composite, the diagnosis with the paper's strategy and actions, every
indicator, the trend, and the ranked places beneath. The charts are PNG images drawn by ``charts`` (matplotlib).

The font is the CJK font of the certificates (``settings.CJK_FONT_PATHS``: the first that exists; of a collection,
the Simplified Chinese face), embedded as a subset. Without one there is no PDF: ``CJKFontMissing`` says what to
install. Output is deterministic: the PDF's creation date is the computation's finish time, and the charts carry no
timestamps, so the same snapshots give the same bytes.
"""

from __future__ import annotations

import datetime
import io
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, TextMode, WrapMode, XPos, YPos

from gongzhi.learning.credentials.pdf import CJKFontMissing
from gongzhi.learning.credentials.pdf import cjk_font as _certificate_font

from .. import catalogue
from ..engine import spec
from . import charts

if TYPE_CHECKING:
    from .selectors import RankedPlace, Report

__all__ = ["CJKFontMissing", "filename", "render", "report_font"]

INK = (31, 41, 55)
MUTED = (107, 114, 128)
BRAND = (155, 28, 28)
LINE = (209, 213, 219)
HEAD_FILL = (243, 244, 246)
WEAK = (185, 28, 28)
MARGIN = 16.0
FONT = "cjk"


def report_font() -> tuple[str, int]:
    """(path, face index) of the CJK font (the certificates' font). Raises ``CJKFontMissing`` naming the report."""
    try:
        return _certificate_font()
    except CJKFontMissing as exc:
        raise CJKFontMissing(
            _(
                "找不到中文字体，无法生成 PDF 报告。请安装 fonts-noto-cjk，或设置 CJK_FONT_PATH 指向含中文字形的 "
                ".ttf/.otf/.ttc 字体文件"
            )
        ) from exc


class ReportPDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        mode = self.text_mode
        self.text_mode = TextMode.FILL
        self.set_y(-11)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, _("第 %(page)s 页 / 共 {nb} 页") % {"page": self.page_no()}, align="R")
        self.text_mode = mode


class _Writer:
    def __init__(self, report: Report):
        self.report = report
        path, index = report_font()
        pdf = ReportPDF(orientation="P", unit="mm", format="A4")
        pdf.set_margins(MARGIN, 14, MARGIN)
        pdf.set_auto_page_break(True, margin=16)
        pdf.add_font(FONT, "", path, collection_font_number=index)
        finished = report.computation.finished_at or report.computation.created_at
        pdf.set_creation_date(
            finished.astimezone(datetime.UTC) if finished else datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
        )
        pdf.set_title(report.title)
        pdf.set_author(report.place.name)
        pdf.set_subject(_("社会资本测评报告"))
        pdf.set_creator("gongzhi 共治")
        pdf.set_lang("zh-CN")
        pdf.footer_text = f"{_('共治 gongzhi')} · {report.title}"
        self.pdf = pdf
        self.width = pdf.w - 2 * MARGIN

    # --- primitives ---------------------------------------------------------------------------------------------

    def font(self, size: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        """One face only (parsing and subsetting a CJK collection costs about a second per face): bold text is the
        regular glyphs filled and stroked with a thin outline of the same colour."""
        self.pdf.set_font(FONT, "", size)
        if bold:
            self.pdf.text_mode = TextMode.FILL_STROKE
            self.pdf.set_draw_color(*color)
            self.pdf.set_line_width(size * 0.011)
        else:
            self.pdf.text_mode = TextMode.FILL
        self.pdf.set_text_color(*color)

    def para(
        self,
        text: str,
        size: float = 9.5,
        color: tuple[int, int, int] = INK,
        bold: bool = False,
        h: float = 5.2,
        indent: float = 0,
    ) -> None:
        self.font(size, bold, color)
        self.pdf.set_x(MARGIN + indent)
        self.pdf.multi_cell(self.width - indent, h, text, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str, keep: float = 45) -> None:
        """A section heading, moved to the next page with the first ``keep`` mm of its content."""
        self.ensure(keep)
        self.pdf.ln(3)
        self.font(12.5, True, BRAND)
        self.pdf.cell(self.width, 7.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.set_draw_color(*BRAND)
        self.pdf.set_line_width(0.4)
        y = self.pdf.get_y()
        self.pdf.line(MARGIN, y, MARGIN + self.width, y)
        self.pdf.ln(2.5)

    def ensure(self, height: float) -> None:
        if self.pdf.get_y() + height > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def image(self, png: bytes, width: float) -> None:
        from PIL import Image

        with Image.open(io.BytesIO(png)) as im:
            w_px, h_px = im.size
        height = width * h_px / w_px
        self.ensure(height + 2)
        self.pdf.image(io.BytesIO(png), x=MARGIN + (self.width - width) / 2, y=self.pdf.get_y(), w=width, h=height)
        self.pdf.set_y(self.pdf.get_y() + height + 2)

    def table(
        self,
        rows: list[list[str]],
        widths: tuple[float, ...],
        align: tuple[str, ...],
        *,
        size: float = 8.5,
        highlight: set[int] | None = None,
    ) -> None:
        self.font(size)
        self.pdf.set_draw_color(*LINE)
        self.pdf.set_line_width(0.2)
        headings = FontFace(emphasis=None, fill_color=HEAD_FILL, color=INK)
        with self.pdf.table(
            width=self.width,
            col_widths=widths,
            text_align=align,
            line_height=size * 0.52,
            padding=(1.2, 1.5),
            wrapmode=WrapMode.CHAR,
            headings_style=headings,
            cell_fill_mode=TableCellFillMode.NONE,
            v_align="MIDDLE",
        ) as table:
            for i, values in enumerate(rows):
                style = FontFace(color=WEAK) if highlight and i in highlight else None
                row = table.row(style=style)
                for value in values:
                    row.cell(value)
        self.pdf.ln(2)

    # --- sections -----------------------------------------------------------------------------------------------

    def header(self) -> None:
        r = self.report
        pdf = self.pdf
        pdf.add_page()
        self.font(18, True, INK)
        pdf.multi_cell(self.width, 9, r.title, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font(9, False, MUTED)
        level = r.place.get_level_display()
        parent = f"{r.place.parent.name} · " if r.place.parent_id and r.place.parent else ""
        pdf.cell(
            self.width, 5.5, f"{parent}{r.place.name}（{level}，{r.place.code}）", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.ln(2)
        computed = timezone.localtime(r.computed_at).strftime("%Y-%m-%d %H:%M") if r.computed_at else "—"
        facts = [
            [_("项目"), _("内容")],
            [_("区划"), f"{r.place.name}（{r.place.code}）"],
            [_("时期"), f"{r.period}（{_period_range(r.period)}）"],
            [_("计算时间"), computed],
            [_("计算覆盖社区数"), f"{r.computation.communities}"],
            *(
                [s.label, s.value + (_("（非默认）") if s.changed and s.label != _("目标值") else "")]
                for s in r.settings
            ),
        ]
        if r.goalpost_changes:
            facts.append([_("修改的目标值"), "；".join(r.goalpost_changes)])
        self.table(facts, (0.22, 0.78), ("LEFT", "LEFT"), size=8.5)

    def dimensions(self) -> None:
        r = self.report
        self.heading(_("一、维度得分"))
        self.para(
            _(
                "三个维度对应社会资本的信任、规范、网络，得分 0–100；综合得分为三个维度的平均。"
                "低于短板阈值（%(t)s）且最低的维度为主导困境。"
            )
            % {"t": f"{r.config.threshold:g}"},
            size=8.5,
            color=MUTED,
        )
        self.image(charts.dimension_bars(r), self.width)
        rows = [[_("维度"), _("社会资本"), _("对应的治理困境"), _("得分"), _("状态")]]
        highlight = set()
        for line in r.dimensions:
            info = catalogue.dimension(line.id)
            if line.below_threshold:
                highlight.add(len(rows))
            state = _("低于阈值") if line.below_threshold else (_("暂无数据") if line.score is None else _("达到阈值"))
            rows.append([line.label, str(info.capital), str(info.dilemma), line.score_text, str(state)])
        rows.append([r.composite.label, "—", "—", r.composite.score_text, ""])
        self.table(
            rows,
            (0.3, 0.14, 0.26, 0.12, 0.18),
            ("LEFT", "CENTER", "LEFT", "RIGHT", "CENTER"),
            size=9,
            highlight=highlight,
        )

    def diagnosis(self) -> None:
        r = self.report
        self.heading(_("二、诊断与对策"))
        if not r.dilemmas:
            self.para(
                _("%(text)s：三个维度的得分都不低于短板阈值 %(t)s。")
                % {"text": catalogue.NO_DILEMMA, "t": f"{r.config.threshold:g}"},
                size=10,
                bold=True,
            )
            if r.weakest:
                names = "、".join(f"{i.id} {i.name}（{i.score_text}）" for i in r.weakest)
                self.para(_("得分最低的指标：%(names)s。") % {"names": names}, size=9)
            return
        for n, d in enumerate(r.dilemmas):
            if n:  # the first block follows its heading (kept together by heading()); the next starts on a fresh page if short
                self.ensure(40)
            score = catalogue.format_score(d.score)
            self.para(
                _("主导困境：%(label)s —— %(dilemma)s（得分 %(score)s，低于阈值 %(t)s）")
                % {"label": d.label, "dilemma": d.dilemma, "score": score, "t": f"{r.config.threshold:g}"},
                size=10.5,
                bold=True,
                color=WEAK,
            )
            self.para(_("对策：%(s)s") % {"s": d.strategy}, size=10, bold=True)
            self.para(d.summary, size=9, color=MUTED)
            self.para(_("具体举措："), size=9.5, bold=True)
            for number, action in enumerate(d.actions, start=1):
                self.para(f"{number}. {action['text']}", size=9, indent=3)
            if d.weak:
                self.para(_("拉低该维度的指标："), size=9.5, bold=True)
                for line in d.weak:
                    self.para(
                        _("%(id)s %(name)s：得分 %(score)s，原始值 %(value)s（%(formula)s）")
                        % {
                            "id": line.id,
                            "name": line.name,
                            "score": line.score_text,
                            "value": line.value_text,
                            "formula": line.formula,
                        },
                        size=9,
                        indent=3,
                        color=WEAK,
                    )
            self.pdf.ln(1.5)

    def indicators(self) -> None:
        r = self.report
        self.heading(_("三、指标得分"))
        if any(i.scored for i in r.indicators):
            self.image(charts.indicator_bars(r), self.width)
        self.heading(_("四、指标明细"))
        self.para(
            _("原始值为按方法计算的值；得分 = 100 × (值 − 下限) ÷ (上限 − 下限)，截断在 0–100。"), size=8.5, color=MUTED
        )
        rows = [[_("维度"), _("指标"), _("原始值"), _("得分"), _("目标值"), _("计算方法")]]
        highlight = set()
        for line in r.indicators:
            dim = catalogue.dimension(line.dimension).numeral if line.dimension else "—"
            posts = f"{line.goalposts[0]:g} → {line.goalposts[1]:g}" if line.goalposts else "—"
            if line.goalposts_changed:
                posts += " *"
            if line.weak:
                highlight.add(len(rows))
            rows.append([dim, f"{line.id} {line.name}", line.value_text, line.score_text, posts, line.formula])
        self.table(
            rows,
            (0.06, 0.19, 0.12, 0.07, 0.1, 0.46),
            ("CENTER", "LEFT", "RIGHT", "RIGHT", "CENTER", "LEFT"),
            size=8,
            highlight=highlight,
        )
        if any(i.goalposts_changed for i in r.indicators):
            self.para(_("* 目标值已修改（非方法默认值）。"), size=8, color=MUTED)
        if any(i.weak for i in r.indicators):
            self.para(_("红色：诊断中拉低所在维度的指标。"), size=8, color=MUTED)

    def trend(self) -> None:
        r = self.report
        self.heading(_("五、趋势"))
        if len(r.trend) < 2:
            self.para(_("只有一个时期的结果，暂无趋势。"), size=9, color=MUTED)
            if not r.trend:
                return
        self.image(charts.trend_lines(r), self.width)

    def ranking(self, title: str, places: list[RankedPlace]) -> None:
        self.heading(title)
        rows = [[_("排名"), _("名称"), _("人口"), "Ⅰ", "Ⅱ", "Ⅲ", _("综合"), _("主导困境")]]
        for p in places:
            rows.append(
                [
                    str(p.rank),
                    p.name,
                    p.population_text,
                    *(catalogue.format_score(p.dims[d]) for d in spec.DIMENSIONS),
                    catalogue.format_score(p.composite),
                    p.dilemma_text,
                ]
            )
        self.table(
            rows,
            (0.07, 0.25, 0.1, 0.08, 0.08, 0.08, 0.09, 0.25),
            ("CENTER", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
            size=8.5,
        )

    def closing(self) -> None:
        r = self.report
        self.pdf.ln(2)
        self.para(
            _(
                "本报告读取已存储的测评结果（计算于 %(at)s），相同的数据与设置得到相同的结果。指标定义见方法说明；"
                "这是观察数据中的描述，不表示因果。"
            )
            % {"at": timezone.localtime(r.computed_at).strftime("%Y-%m-%d %H:%M") if r.computed_at else "—"},
            size=8,
            color=MUTED,
        )

    def build(self) -> bytes:
        r = self.report
        self.header()
        self.dimensions()
        self.diagnosis()
        self.indicators()
        self.trend()
        if r.children:
            self.ranking(_("六、%(label)s") % {"label": r.children_label}, r.children)
        if r.communities:
            self.ranking(_("七、社区排名") if r.children else _("六、社区排名"), r.communities)
        self.closing()
        return bytes(self.pdf.output())


def _period_range(key: str) -> str:
    from ..engine.periods import Period

    p = Period.parse(key)
    last = p.end - datetime.timedelta(days=1)
    return f"{p.start.isoformat()} — {last.isoformat()}"


def render(report: Report) -> bytes:
    """The report's PDF bytes. Raises ``CJKFontMissing`` without a CJK font."""
    return _Writer(report).build()


def filename(report: Report) -> str:
    return f"measure-report-{report.place.code}-{report.period}.pdf"
