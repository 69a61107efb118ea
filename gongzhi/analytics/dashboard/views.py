"""治理成效 pages: the dashboard of a place and period, and a community's co-participation network. Thin: parse the
query string, call one selector, render. Charts read their data from ``json_script`` blocks (no extra requests)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.core.pages import staff_place
from gongzhi.places.models import Place

from .. import catalogue
from ..engine.periods import PeriodError
from . import charts, selectors

NAV_KEY = "measure_dashboard"

# Pages of the other parts of 析 measure the dashboards link to (each name is checked by tests/analytics_dashboard).
COMPUTATIONS = "measure_computations"  # pipeline: the computations of the current place (form for planners)
SETTINGS = "measure_settings"  # pipeline: the settings in force and their history
REPORT = "measure_report"  # reports: the printable report of a place and period
REPORT_PDF = "measure_report_pdf"  # reports: the same as a PDF


def _staff_only(request: HttpRequest) -> None:
    if not selectors.staff_may_use(request.user):
        raise PermissionDenied(_("只有工作人员可以查看治理成效"))


def _params(request: HttpRequest) -> tuple[str | None, str]:
    """The period asked for (None: the newest) and an error message for a malformed one."""
    try:
        return selectors.parse_period(request.GET.get("period")), ""
    except PeriodError:
        return None, _("时期格式不正确：应为 2025（年度）或 2025Q1（季度）")


def _place(request: HttpRequest, code: str) -> Place:
    try:
        return selectors.place_for_dashboard(user=request.user, code=code)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _actions(dims: list[catalogue.DimensionInfo]) -> dict[str, list[dict[str, str]]]:
    return {
        d.id: [
            {"text": str(a.text), "url": reverse(a.url_name) if a.url_name else "", "label": str(a.link_label)}
            for a in d.actions
        ]
        for d in dims
    }


def _render_dashboard(request: HttpRequest, place: Place) -> HttpResponse:
    period, error = _params(request)
    compare = request.GET.get("compare", "children")
    try:
        board = selectors.dashboard(user=request.user, place=place, period=period, compare=compare)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    dilemmas = board.diagnosis.dilemmas if board.diagnosis else []
    actions = _actions([d.dim for d in dilemmas])
    context: dict[str, Any] = {
        "board": board,
        "place": place,
        "error": error,
        "chart": charts.dashboard_chart(board),
        "strategies": [{"view": d, "actions": actions[d.dim.id]} for d in dilemmas],
        "network_measures": [m for m in (board.indicator(i) for i in selectors.NETWORK_IDS) if m is not None],
        "computations_url": reverse(COMPUTATIONS),
        "settings_url": reverse(SETTINGS),
        "report_url": reverse(REPORT, args=[place.code, board.period]) if board.has_data and board.period else "",
        "report_pdf_url": reverse(REPORT_PDF, args=[place.code, board.period])
        if board.has_data and board.period
        else "",
        "may_run": request.user.has_perm("analytics.run_computation", place),
        "network_url": reverse("measure_network", kwargs={"code": place.code}) if place.level == "community" else "",
        "nav_active": NAV_KEY,
    }
    return render(request, "analytics/dashboard/dashboard.html", context, status=400 if error else 200)


@login_required
def dashboard_home(request: HttpRequest) -> HttpResponse:
    """The dashboard of the staff user's current place."""
    _staff_only(request)
    place = staff_place(request)
    if not selectors.may_view(request.user, place):
        raise PermissionDenied
    return _render_dashboard(request, place)


@login_required
def dashboard_place(request: HttpRequest, code: str) -> HttpResponse:
    _staff_only(request)
    return _render_dashboard(request, _place(request, code))


@login_required
def network_page(request: HttpRequest, code: str) -> HttpResponse:
    _staff_only(request)
    place = _place(request, code)
    period, error = _params(request)
    try:
        net = selectors.network(user=request.user, place=place, period=period)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(
        request,
        "analytics/dashboard/network.html",
        {
            "net": net,
            "place": place,
            "error": error,
            "chart": charts.network_chart(net),
            "dashboard_url": reverse("measure_place", kwargs={"code": place.code})
            + (f"?period={net.period}" if net.period else ""),
            "nav_active": NAV_KEY,
            "computations_url": reverse(COMPUTATIONS),
        },
        status=400 if error else 200,
    )
