"""Pages of the measure report: the printable HTML report of a place and period, its PDF, and the open-data files.

Thin: parse the path, call one selector, render. Unknown places and places outside the user's subtree are 404; a
covered place without the permission is 403; a period without stored results is a 404 page that offers the stored
periods.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound, PermissionDenied
from gongzhi.core.pages import staff_place

from .. import catalogue
from ..engine import spec
from . import opendata, selectors
from .selectors import Report, ReportMissing

NAV_KEY = "measure_report_index"  # the navigation entry of the reports (gongzhi.analytics.nav)


def _report_or_error(request: HttpRequest, code: str, period: str) -> Report | HttpResponse:
    try:
        return selectors.report_get(user=request.user, code=code, period=period)
    except ReportMissing as exc:
        return render(
            request,
            "analytics/reports/missing.html",
            {
                "place": exc.place,
                "period": exc.period,
                "periods": exc.periods,
                "message": exc.message,
                "nav_active": NAV_KEY,
            },
            status=404,
        )
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _url(name: str) -> str:
    try:
        return reverse(name) if name else ""
    except NoReverseMatch:
        return ""


def chart_data(report: Report) -> dict[str, Any]:
    """What the page's ECharts draw (the same numbers as the tables)."""
    dims = [*report.dimensions, report.composite]
    scored = [i for i in report.indicators if i.scored]
    series = [(d, catalogue.dimension(d).label) for d in spec.DIMENSIONS]
    series.append((spec.COMPOSITE, str(catalogue.indicator(spec.COMPOSITE).name)))
    return {
        "threshold": report.config.threshold,
        "noData": str(catalogue.NO_DATA),
        "dimensions": [{"id": d.id, "label": d.label, "score": d.score} for d in dims],
        "indicators": [
            {"id": i.id, "label": f"{i.id} {i.name}", "dimension": i.dimension, "score": i.score, "weak": i.weak}
            for i in scored
        ],
        "trend": {
            "periods": [p["label"] for p in report.trend],
            "series": [
                {"id": key, "label": label, "data": [p.get(key) for p in report.trend]} for key, label in series
            ],
        },
        "children": [{"name": p.name, "score": p.composite} for p in report.children],
    }


@login_required
def report_index(request: HttpRequest) -> HttpResponse:
    """The report of the current place, newest period."""
    place = staff_place(request)
    try:
        period = selectors.latest_period(user=request.user, place=place)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    if period:
        return redirect("measure_report", code=place.code, period=period)
    return render(
        request,
        "analytics/reports/missing.html",
        {
            "place": place,
            "period": "",
            "periods": [],
            "message": _("%(place)s 还没有测评结果") % {"place": place.name},
            "nav_active": NAV_KEY,
        },
    )


@login_required
def report_page(request: HttpRequest, code: str, period: str) -> HttpResponse:
    report = _report_or_error(request, code, period)
    if isinstance(report, HttpResponse):
        return report
    dilemmas = [
        {
            "line": d,
            "actions": [{**a, "url": _url(a["url_name"])} for a in d.actions],
        }
        for d in report.dilemmas
    ]
    can_export = request.user.has_perm(opendata.EXPORT_PERM, report.place)
    return render(
        request,
        "analytics/reports/report.html",
        {
            "report": report,
            "place": report.place,
            "dilemmas": dilemmas,
            "chart": chart_data(report),
            "can_export": can_export,
            "nav_active": NAV_KEY,
            "rules": opendata.rules_text() if can_export else [],
            "groups": [(catalogue.dimension(d).label, report.indicators_of(d)) for d in spec.DIMENSIONS]
            + [(_("只报告、不计分"), report.indicators_of(None))],
        },
    )


@login_required
def report_pdf(request: HttpRequest, code: str, period: str) -> HttpResponse:
    report = _report_or_error(request, code, period)
    if isinstance(report, HttpResponse):
        return report
    from . import pdf  # fpdf2 and matplotlib load on the first download, not with the URLconf

    try:
        content = pdf.render(report)
    except pdf.CJKFontMissing as exc:
        return render(
            request, "analytics/reports/pdf_unavailable.html", {"message": exc.message, "report": report}, status=503
        )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf.filename(report)}"'
    return response


def _opendata(request: HttpRequest, code: str, period: str, file_format: str) -> HttpResponse:
    try:
        data = opendata.opendata_get(user=request.user, code=code, period=period)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if file_format == "csv":
        content = opendata.to_csv(data)
        content_type = "text/csv; charset=utf-8"
    else:
        content = opendata.to_xlsx(data)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    opendata.opendata_export_record(actor=request.user, data=data, file_format=file_format)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{opendata.filename(data, file_format)}"'
    return response


@login_required
def opendata_csv(request: HttpRequest, code: str, period: str) -> HttpResponse:
    return _opendata(request, code, period, "csv")


@login_required
def opendata_xlsx(request: HttpRequest, code: str, period: str) -> HttpResponse:
    return _opendata(request, code, period, "xlsx")
