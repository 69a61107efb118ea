"""A resident's service record as a file: an XLSX workbook (summary by year and team, and every ledger entry)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import VolunteerHours
from .selectors import ServiceRecord

_UNKNOWN = object()


def entry_state(entry: VolunteerHours) -> str:
    """confirmed, pending, cancelled (a pending entry corrected to 0), correction (a reversing entry)."""
    if entry.reversal_of_id is not None:
        return "correction"
    if entry.confirmed_at is not None:
        return "confirmed"
    correction: Any = getattr(entry, "correction", _UNKNOWN)  # set by the caller when already at hand
    if correction is _UNKNOWN:
        try:
            correction = entry.reversed_by
        except VolunteerHours.DoesNotExist:
            correction = None
    if correction is not None and entry.hours + correction.hours <= 0:
        return "cancelled"
    return "pending"


def state_label(state: str) -> str:
    return {
        "confirmed": _("已确认"),
        "pending": _("待确认"),
        "cancelled": _("已撤销"),
        "correction": _("更正"),
    }.get(state, state)


def service_record_xlsx(*, name: str, record: ServiceRecord, entries: Iterable[VolunteerHours]) -> bytes:
    """Two sheets: 汇总 (year, team, confirmed and pending hours) and 明细 (every entry of the ledger)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _("汇总")
    summary.append([_("志愿服务记录"), name, _("导出日期"), timezone.localdate().isoformat()])
    summary.append([])
    summary.append([_("年度"), _("志愿服务队"), _("所属区划"), _("已确认时长（小时）"), _("待确认时长（小时）")])
    for line in record.lines:
        summary.append([line.year, line.team_name, line.place_name, float(line.confirmed), float(line.pending)])
    summary.append([_("合计"), "", "", float(record.confirmed), float(record.pending)])
    for cell in summary[3]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDE", (8, 28, 16, 18, 18), strict=True):
        summary.column_dimensions[column].width = width

    detail = book.create_sheet(_("明细"))
    detail.append([_("服务日期"), _("志愿服务队"), _("活动"), _("时长（小时）"), _("状态"), _("说明")])
    for cell in detail[1]:
        cell.font = Font(bold=True)
    for e in entries:
        detail.append(
            [
                e.served_on.isoformat(),
                e.organization.name,
                e.activity.title if e.activity_id and e.activity else "",
                float(e.hours),
                state_label(entry_state(e)),
                e.note,
            ]
        )
    for column, width in zip("ABCDEF", (12, 28, 30, 12, 10, 40), strict=True):
        detail.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
