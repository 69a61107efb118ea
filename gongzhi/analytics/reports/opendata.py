"""Open data: the stored results of every community beneath a place for a period, with no personal data and small
counts suppressed, as CSV, XLSX (with a 说明 sheet) or JSON rows.

**Columns.** ``place_code, place_name, period, indicator, indicator_name, value, score, numerator, denominator,
suppressed``: one row per community (code order) and stored indicator (METHOD order: I1 … G2, the survey scales, POP,
NODES, EDGES, DENSITY, then DIM_I, DIM_II, DIM_III, COMPOSITE). ``value`` is the raw value, ``score`` the 0–100 score
where the indicator is scored, ``numerator``/``denominator`` the counts behind a ratio (for a survey scale: the
respondents). Numbers as ``exporting.number`` writes them (10 significant digits), null as an empty cell.

**Suppression (small counts).** A count between 1 and 4 can point at a person. So, in each row:

1. a count — ``numerator``, ``denominator``, or the ``value`` of POP, NODES and EDGES — greater than 0 and less than
   5 is written as an empty cell (a signed numerator, a difference of counts, by its size; for III5, whose numerator
   is E − I and denominator E + I, the edges across (E) and within (I) the household groups are checked too);
2. a ratio whose numerator or denominator is suppressed is suppressed too (``value`` and ``score``), since it would
   reveal the count (3 ÷ 1,000 gives back 3);
3. the graph measures (III5, III6, III7, DENSITY) of a community whose co-participation graph has 1–4 nodes or 1–4
   edges are suppressed;
4. every row of a community whose population (POP) is 1–4 is suppressed, the dimension scores included.

Zero is not suppressed (it names nobody). ``suppressed`` lists the cells left empty by these rules
(``value;score;numerator``), empty when none: an empty cell with an empty flag is a null (no data), never a hidden
number. Names of places are public; no resident, organisation or provider appears.

**Encoding.** CSV: UTF-8 without BOM, ``\\n`` line ends, a header row first and nothing else — the interchange
format's conventions, so that it loads as is into pandas, Polars, R or a database. Excel users take the XLSX file,
which also carries the rules above in its 说明 sheet. Both files are byte-identical for the same snapshots: rows in a
fixed order, names always in Chinese (whatever the user's language), and the workbook's dates set to the computation's
finish time.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, PermissionDenied
from gongzhi.places.models import Place

from .. import catalogue
from ..engine.periods import Period, PeriodError
from ..exporting import number
from ..models import Computation, IndicatorSnapshot
from .selectors import period_label, place_for_report

EXPORT_PERM = "analytics.export_opendata"
COLUMNS: tuple[str, ...] = (
    "place_code",
    "place_name",
    "period",
    "indicator",
    "indicator_name",
    "value",
    "score",
    "numerator",
    "denominator",
    "suppressed",
)
COUNT_IDS = frozenset({"POP", "NODES", "EDGES"})
GRAPH_IDS = frozenset({"III5", "III6", "III7", "DENSITY"})
BRIDGING = "III5"  # stored with numerator E − I and denominator E + I (edges across and within the household groups)
ROW_ORDER: tuple[str, ...] = (*catalogue.INDICATOR_ORDER, *catalogue.DIMENSION_ROWS)
SMALL_LOW, SMALL_HIGH = 0.0, 5.0  # a count c with SMALL_LOW < c < SMALL_HIGH is suppressed (1–4)
LANGUAGE = "zh-hans"  # the file is data: names always in Chinese


def is_small(count: float | None) -> bool:
    """Whether a count must be suppressed: 1–4 (any value strictly between 0 and 5)."""
    return count is not None and SMALL_LOW < count < SMALL_HIGH


@dataclass(frozen=True)
class OpenRow:
    place_code: str
    place_name: str
    period: str
    indicator: str
    indicator_name: str
    value: float | None
    score: float | None
    numerator: float | None
    denominator: float | None
    suppressed: tuple[str, ...]  # the fields left empty by the rules, in column order

    def cells(self) -> list[str]:
        return [
            self.place_code,
            self.place_name,
            self.period,
            self.indicator,
            self.indicator_name,
            number(self.value),
            number(self.score),
            number(self.numerator),
            number(self.denominator),
            ";".join(self.suppressed),
        ]


@dataclass(frozen=True)
class OpenData:
    place: Place
    period: str
    rows: list[OpenRow]
    computed_at: datetime.datetime | None  # the newest finish time of the computations behind the rows
    communities: int

    @property
    def suppressed_rows(self) -> int:
        return sum(1 for r in self.rows if r.suppressed)

    @property
    def suppressed_cells(self) -> int:
        return sum(len(r.suppressed) for r in self.rows)


def suppress(
    indicator: str,
    value: float | None,
    score: float | None,
    numerator: float | None,
    denominator: float | None,
    *,
    population: float | None = None,
    nodes: float | None = None,
    edges: float | None = None,
) -> tuple[tuple[float | None, float | None, float | None, float | None], tuple[str, ...]]:
    """Apply the suppression rules to one row: ((value, score, numerator, denominator) as published, the fields
    suppressed)."""
    hidden: set[str] = set()
    if is_small(abs(numerator) if numerator is not None else None):  # a signed numerator is a difference of counts
        hidden.add("numerator")
    if is_small(denominator):
        hidden.add("denominator")
    if indicator == BRIDGING and numerator is not None and denominator is not None:
        # E-I index: numerator E − I and denominator E + I give back E and I, the counts behind it.
        between, within = (denominator + numerator) / 2, (denominator - numerator) / 2
        if is_small(between) or is_small(within):
            hidden.add("numerator")
    if hidden:  # rule 2: the ratio would give the count back
        hidden.update({"value", "score"})
    if indicator in COUNT_IDS and is_small(value):
        hidden.update({"value", "score"})
    if indicator in GRAPH_IDS and (is_small(nodes) or is_small(edges)):
        hidden.update({"value", "score"})
    if is_small(population):  # rule 4: a community of 1–4 people
        hidden.update({"value", "score", "numerator", "denominator"})
    # Only cells that held a number are reported as suppressed.
    published = {"value": value, "score": score, "numerator": numerator, "denominator": denominator}
    flags = tuple(f for f in ("value", "score", "numerator", "denominator") if f in hidden and published[f] is not None)
    for f in hidden:
        published[f] = None
    return (published["value"], published["score"], published["numerator"], published["denominator"]), flags


def _order(indicator: str) -> tuple[int, str]:
    return (ROW_ORDER.index(indicator), "") if indicator in ROW_ORDER else (len(ROW_ORDER), indicator)


def place_for_export(*, user: Any, code: str) -> Place:
    place = place_for_report(user=user, code=code)
    if not user.has_perm(EXPORT_PERM, place):
        raise PermissionDenied(_("您没有导出该区划开放数据的权限"))
    return place


def opendata_get(*, user: Any, code: str, period: str) -> OpenData:
    """The open-data rows of the communities beneath the place ``code`` (the place itself when it is a community).
    ``NotFound`` for an unknown place, one the user does not cover, or a period without stored results."""
    place = place_for_export(user=user, code=code)
    try:
        key = Period.parse(period).key
    except PeriodError:
        key = ""
    snapshots = list(
        IndicatorSnapshot.objects.filter(period=key, place__code__startswith=place.prefix, place__level="community")
        .select_related("place")
        .only(
            "place_id",
            "period",
            "indicator",
            "value",
            "score",
            "numerator",
            "denominator",
            "computation_id",
            "place__name",
        )
        .order_by()
    )
    if not snapshots:
        raise NotFound(
            _("%(place)s 下的社区还没有 %(period)s 的测评结果") % {"place": place.name, "period": period_label(period)}
        )
    computed = Computation.objects.filter(id__in={s.computation_id for s in snapshots}).aggregate(
        at=Max("finished_at")
    )["at"]
    counts: dict[str, dict[str, float | None]] = {}
    for s in snapshots:
        if s.indicator in COUNT_IDS:
            counts.setdefault(s.place_id, {})[s.indicator] = s.value
    snapshots.sort(key=lambda s: (s.place_id, _order(s.indicator)))
    rows = []
    with translation.override(LANGUAGE):
        for s in snapshots:
            c = counts.get(s.place_id, {})
            (value, score, numerator, denominator), flags = suppress(
                s.indicator,
                s.value,
                s.score,
                s.numerator,
                s.denominator,
                population=c.get("POP"),
                nodes=c.get("NODES"),
                edges=c.get("EDGES"),
            )
            rows.append(
                OpenRow(
                    place_code=s.place_id,
                    place_name=s.place.name,
                    period=key,
                    indicator=s.indicator,
                    indicator_name=str(catalogue.indicator(s.indicator).name),
                    value=value,
                    score=score,
                    numerator=numerator,
                    denominator=denominator,
                    suppressed=flags,
                )
            )
    return OpenData(
        place=place,
        period=key,
        rows=rows,
        computed_at=computed,
        communities=len({s.place_id for s in snapshots}),
    )


# --- files -----------------------------------------------------------------------------------------------------------


def to_csv(data: OpenData) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in data.rows:
        writer.writerow(row.cells())
    return buffer.getvalue().encode("utf-8")


def rules_text() -> list[str]:
    """The suppression and format rules, one paragraph per item (in the active language)."""
    return [
        _(
            "每行是一个社区在该时期的一个指标：value 为原始值，score 为 0–100 得分（计分指标），numerator/denominator 为比率背后的计数（调查量表为受访人数）。空单元格表示无数据。"
        ),
        _(
            "小数保护：任何计数（numerator、denominator，以及 POP、NODES、EDGES 的值）大于 0 且小于 5（即 1–4）时不公开，写为空。"
        ),
        _(
            "分子或分母被隐藏的比率，其 value 和 score 也不公开（否则可以反推出计数）。III5（桥接）的分子为跨群体边数 − 群体内边数、分母为两者之和，其中任一边数为 1–4 时同样隐藏。"
        ),
        _("共同参与网络只有 1–4 个节点或 1–4 条连线的社区，其网络指标（III5、III6、III7、DENSITY）不公开。"),
        _("人口为 1–4 人的社区，所有指标（含维度得分）都不公开。"),
        _(
            "suppressed 列列出按上述规则隐藏的单元格（如 value;score;numerator）；为空时，空单元格表示无数据，而不是被隐藏的数字。0 不隐藏。"
        ),
        _("文件不含任何个人信息：没有居民、组织或资源方的名称与编号，只有区划（公开的统计用区划代码与名称）。"),
        _(
            "CSV 为 UTF-8 编码（无 BOM）、逗号分隔、首行为列名，与平台的数据交换格式一致；用 Excel 打开请使用 XLSX 文件。相同的测评结果导出的文件逐字节相同。"
        ),
    ]


def _about_rows(data: OpenData) -> list[tuple[str, str]]:
    computed = timezone.localtime(data.computed_at).strftime("%Y-%m-%d %H:%M") if data.computed_at else ""
    rows: list[tuple[str, str]] = [
        (_("数据集"), _("社会资本测评开放数据")),
        (_("区划"), f"{data.place.name}（{data.place.code}）"),
        (_("时期"), f"{data.period}（{period_label(data.period)}）"),
        (_("社区数"), str(data.communities)),
        (_("行数"), str(len(data.rows))),
        (_("含隐藏单元格的行"), str(data.suppressed_rows)),
        (_("计算时间"), computed),
        ("", ""),
        (_("规则"), ""),
    ]
    rows.extend((f"{i}.", text) for i, text in enumerate(rules_text(), start=1))
    rows.append(("", ""))
    rows.append((_("列"), ""))
    column_notes = {
        "place_code": _("社区的 12 位统计用区划代码"),
        "place_name": _("社区名称"),
        "period": _("时期（2025 为全年，2025Q1 为季度）"),
        "indicator": _("指标编号（见方法说明）"),
        "indicator_name": _("指标名称"),
        "value": _("原始值"),
        "score": _("得分（0–100）"),
        "numerator": _("分子（计数）"),
        "denominator": _("分母（计数）"),
        "suppressed": _("按小数保护规则隐藏的单元格"),
    }
    rows.extend((c, str(column_notes[c])) for c in COLUMNS)
    rows.append(("", ""))
    rows.append((_("指标"), ""))
    seen = sorted({r.indicator for r in data.rows}, key=_order)
    rows.extend((i, f"{catalogue.indicator(i).name}：{catalogue.indicator(i).formula}") for i in seen)
    return rows


def to_xlsx(data: OpenData) -> bytes:
    """The rows (sheet 数据, every cell as text so that codes keep their digits) and the rules (sheet 说明)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.writer.excel import ExcelWriter

    with translation.override(LANGUAGE):
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.title = "数据"
        sheet.append(list(COLUMNS))
        for row in data.rows:
            sheet.append(row.cells())
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for column, width in zip("ABCDEFGHIJ", (15, 16, 8, 12, 16, 14, 10, 12, 12, 24), strict=True):
            sheet.column_dimensions[column].width = width
        about = workbook.create_sheet("说明")
        for label, text in _about_rows(data):
            about.append([label, text])
        about.column_dimensions["A"].width = 18
        about.column_dimensions["B"].width = 110
        for (cell,) in about.iter_rows(min_col=2, max_col=2):
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        stamp = (
            timezone.localtime(data.computed_at).replace(tzinfo=None, microsecond=0)
            if data.computed_at
            else datetime.datetime(2000, 1, 1)
        )
        workbook.properties.creator = "gongzhi 共治"
        workbook.properties.title = f"{data.place.name} {data.period} 社会资本测评开放数据"
        utc = (
            data.computed_at.astimezone(datetime.UTC).replace(tzinfo=None, microsecond=0)
            if data.computed_at
            else datetime.datetime(2000, 1, 1)
        )
        workbook.properties.created = utc  # core properties are UTC (W3CDTF, "…Z")
        workbook.properties.modified = utc
        workbook.properties.lastModifiedBy = None
        buffer = io.BytesIO()
        # Not workbook.save(): it stamps ``modified`` with the current time.
        archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        ExcelWriter(workbook, archive).save()
    return _fixed_zip(buffer.getvalue(), stamp)


def _fixed_zip(content: bytes, stamp: datetime.datetime) -> bytes:
    """The same workbook with every zip entry dated ``stamp`` (openpyxl dates them now), in the same order."""
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=date_time)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def as_json_rows(data: OpenData) -> Iterable[dict[str, Any]]:
    for r in data.rows:
        yield {
            "place_code": r.place_code,
            "place_name": r.place_name,
            "period": r.period,
            "indicator": r.indicator,
            "indicator_name": r.indicator_name,
            "value": r.value,
            "score": r.score,
            "numerator": r.numerator,
            "denominator": r.denominator,
            "suppressed": list(r.suppressed),
        }


def filename(data: OpenData, extension: str) -> str:
    return f"opendata-{data.place.code}-{data.period}.{extension}"


def opendata_export_record(*, actor: Any, data: OpenData, file_format: str) -> None:
    """The audit record of an open-data export (who took which place and period, in which format)."""
    audit_record(
        actor=actor,
        action="export",
        target_type="analytics_opendata",
        target_id=f"{data.place.code}:{data.period}",
        place_code=data.place.code,
        summary=_("导出开放数据 %(place)s %(period)s（%(fmt)s）")
        % {"place": data.place.name, "period": data.period, "fmt": file_format.upper()},
        changes={
            "format": file_format,
            "period": data.period,
            "rows": len(data.rows),
            "communities": data.communities,
            "suppressed_cells": data.suppressed_cells,
        },
    )
