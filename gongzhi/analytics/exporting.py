"""Writing stored results as CSV (METHOD.md "Commands and results"): ``export_indicators`` and its diagnosis file.

Read from the snapshots only. Byte-identical for the same data and settings: rows sorted (place code, then the
METHOD order of indicators), numbers written with ``format(x, ".10g")`` (at least six significant digits, no float
noise such as ``0.30000000000000004``, ``-0`` written as ``0``), null as an empty cell, UTF-8 without BOM, ``\\n``
line ends.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from gongzhi.core.errors import DomainError
from gongzhi.places import codes
from gongzhi.places.models import Place

from .engine import spec
from .engine.periods import Period
from .models import DiagnosisSnapshot, IndicatorSnapshot

INDICATOR_COLUMNS = ("place_code", "period", "indicator", "value", "score")
DIAGNOSIS_COLUMNS = ("place_code", "period", "dilemmas", "strategy")
SCORE_ROWS: tuple[str, ...] = (*spec.DIMENSION_ROWS.values(), spec.COMPOSITE)
EXPORT_ROWS: tuple[str, ...] = (*spec.EXPORT_IDS, *SCORE_ROWS)

# The paper's strategy for each dilemma (METHOD.md "Diagnosis"). The export is a data file: always in Chinese.
STRATEGIES: dict[str, str] = {
    "I": "强化学习共同体孵化机制",
    "II": "强化社会组织培育机制",
    "III": "扩大教育资源供给范围",
}
STRATEGY_SEPARATOR = "；"


def number(value: float | None) -> str:
    """A number as a CSV cell: empty for null, 10 significant digits, no negative zero."""
    if value is None:
        return ""
    text = format(value, ".10g")
    return "0" if text in ("-0", "0") else text


def strategy_text(dilemmas: Sequence[str]) -> str:
    return STRATEGY_SEPARATOR.join(STRATEGIES[d] for d in dilemmas if d in STRATEGIES)


@dataclass(frozen=True)
class ExportRows:
    indicators: list[tuple[str, ...]]
    diagnoses: list[tuple[str, ...]]


def communities_under(place_code: str) -> list[str]:
    qs = Place.objects.filter(level="community")
    if place_code:
        qs = qs.filter(code__startswith=codes.prefix_of(place_code))
    return list(qs.order_by("code").values_list("code", flat=True))


def export_rows(*, period: Period, place_code: str = "") -> ExportRows:
    """The rows of both files for the communities under ``place_code`` (every community when empty). A DomainError
    when the period has not been computed for them."""
    communities = communities_under(place_code)
    if not communities:
        message = _("%(place)s 下没有社区") % {"place": place_code or _("全部区划")}
        raise DomainError(message, fields={"place": [message]})
    prefix = codes.prefix_of(place_code) if place_code else ""
    stored: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    for place_id, indicator, value, score in IndicatorSnapshot.objects.filter(
        period=period.key, place__code__startswith=prefix, place__level="community", indicator__in=EXPORT_ROWS
    ).values_list("place_id", "indicator", "value", "score"):
        stored[(place_id, indicator)] = (value, score)
    computed = {code for code, _indicator in stored}
    absent = [c for c in communities if c not in computed]
    if absent:
        shown = "、".join(absent[:5]) + ("……" if len(absent) > 5 else "")
        message = _("%(period)s 尚未计算（没有结果的社区：%(codes)s），请先运行 compute_indicators") % {
            "period": period.key,
            "codes": shown,
        }
        raise DomainError(message, fields={"period": [message]}, code="not_computed")
    indicator_rows: list[tuple[str, ...]] = []
    for code in communities:
        for indicator in EXPORT_ROWS:
            value, score = stored.get((code, indicator), (None, None))
            if indicator in SCORE_ROWS:
                value = None
            indicator_rows.append((code, period.key, indicator, number(value), number(score)))
    diagnosed = dict(
        DiagnosisSnapshot.objects.filter(period=period.key, place_id__in=communities).values_list(
            "place_id", "dilemmas"
        )
    )
    diagnosis_rows: list[tuple[str, ...]] = []
    for code in communities:
        named = set((diagnosed.get(code) or "").split(";"))
        dilemmas = [d for d in spec.DIMENSIONS if d in named]
        diagnosis_rows.append((code, period.key, ";".join(dilemmas), strategy_text(dilemmas)))
    return ExportRows(indicator_rows, diagnosis_rows)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    """Write a CSV file (UTF-8, ``\\n``); returns the number of data rows."""
    rows = list(rows)
    Path(path).write_bytes(csv_text(header, rows).encode("utf-8"))
    return len(rows)


def write_indicators(path: str | Path, rows: ExportRows) -> int:
    return write_csv(path, INDICATOR_COLUMNS, rows.indicators)


def write_diagnoses(path: str | Path, rows: ExportRows) -> int:
    return write_csv(path, DIAGNOSIS_COLUMNS, rows.diagnoses)
