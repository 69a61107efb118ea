"""The 机制检验 page: the newest stored mechanism test for the staff's current place (read only — a view never
recomputes), and the form that runs a new one (``analytics.run_mechanism``).

Thin views: parse, check a permission, call one service or selector, render.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gongzhi.core.errors import DomainError
from gongzhi.core.pages import apply_errors, staff_place

from ..engine.periods import Period
from ..models import MechanismResult
from . import forms, selectors, services
from .labels import VARIABLE_NOTES, reason_label, variable_label


def fmt(value: float | None) -> str:
    """A coefficient for reading: about four significant digits, no exponent unless tiny or huge; "—" for none."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    size = abs(value)
    if size < 1e-3 or size >= 1e6:
        return f"{value:.3g}"
    decimals = max(0, 3 - math.floor(math.log10(size)))
    return f"{value:.{decimals}f}"


def fmt_p(value: float | None) -> str:
    if value is None:
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _path(raw: dict[str, Any] | None) -> dict[str, Any]:
    raw = raw or {}
    p = raw.get("p")
    return {
        "coef": fmt(raw.get("coef")),
        "se": fmt(raw.get("se")),
        "p": fmt_p(p),
        "significant": p is not None and p < 0.05,
    }


def present(stored: MechanismResult) -> dict[str, Any]:
    """The stored result as the page shows it: one row per mediator, numbers formatted, reasons in words."""
    result, config = stored.result, stored.config
    rows = []
    for item in result.get("mediators", []):
        key = item["mediator"]
        med, fe = item.get("mediation", {}), item.get("fixed_effects", {})
        indirect = med.get("indirect") or {}
        low, high = indirect.get("ci_low"), indirect.get("ci_high")
        rows.append(
            {
                "key": key,
                "label": variable_label(key),
                "note": str(VARIABLE_NOTES.get(key, "")),
                "estimable": bool(med.get("estimable")),
                "reason": reason_label(med.get("reason")),
                "a": _path(med.get("a")),
                "b": _path(med.get("b")),
                "direct": _path(med.get("direct")),
                "total": _path(med.get("total")),
                "indirect": fmt(indirect.get("coef")),
                "ci": f"[{fmt(low)}, {fmt(high)}]" if low is not None and high is not None else "—",
                "ci_excludes_zero": low is not None and high is not None and (low > 0 or high < 0),
                "resamples_valid": indirect.get("resamples_valid"),
                "resamples": indirect.get("resamples"),
                "n_rows": med.get("n_rows"),
                "n_communities": med.get("n_communities"),
                "dropped_rows": med.get("dropped_rows"),
                "fe_estimable": bool(fe.get("estimable")),
                "fe_reason": reason_label(fe.get("reason")),
                "fe": _path(fe),
                "fe_rows": fe.get("n_rows"),
                "fe_communities": fe.get("n_communities"),
            }
        )
    outcome = config.get("outcome", result.get("y", "G1"))
    return {
        "stored": stored,
        "rows": rows,
        "x_label": variable_label(config.get("x", "E1")),
        "x_note": str(VARIABLE_NOTES.get(config.get("x", "E1"), "")),
        "y_label": variable_label(outcome),
        "y_note": str(VARIABLE_NOTES.get(outcome, "")),
        "periods": config.get("periods", []),
        "resamples": config.get("resamples"),
        "seed": config.get("seed"),
        "panel": result.get("panel", {}),
    }


def _default_periods(available: list[str]) -> list[str]:
    years = [p for p in available if Period.parse(p).quarter is None]
    return years if len(years) >= 2 else available[-4:]


def _initial(newest: MechanismResult | None, available: list[str]) -> dict[str, Any]:
    """The form starts from the newest run's settings (its periods that still exist), else from the defaults."""
    if newest is not None:
        config = newest.config
        kept = [p for p in config.get("periods", []) if p in available]
        return {
            "periods": kept or _default_periods(available),
            "outcome": config.get("outcome", "G1"),
            "resamples": config.get("resamples", services.DEFAULT_RESAMPLES),
            "seed": config.get("seed", services.DEFAULT_SEED),
        }
    return {"periods": _default_periods(available)}


def _page(request: HttpRequest, place: Any, *, form: forms.MechanismRunForm | None = None, status: int = 200):
    newest = selectors.mechanism_newest(place=place)
    can_run = request.user.has_perm("analytics.run_mechanism", place)
    periods: list[str] = []
    if can_run:
        periods = selectors.snapshot_periods(place=place)
        if form is None:
            form = forms.MechanismRunForm(periods=periods, initial=_initial(newest, periods))
    return render(
        request,
        "analytics/mechanism/page.html",
        {
            "place": place,
            "view": present(newest) if newest is not None else None,
            "can_run": can_run,
            "form": form,
            "available_periods": periods,
        },
        status=status,
    )


@login_required
@require_GET
def mechanism_page(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm("analytics.view_dashboard", place):
        raise PermissionDenied
    return _page(request, place)


@login_required
@require_POST
def mechanism_run(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm("analytics.run_mechanism", place):
        raise PermissionDenied
    form = forms.MechanismRunForm(request.POST, periods=selectors.snapshot_periods(place=place))
    if form.is_valid():
        try:
            services.mechanism_run(
                place=place,
                periods=form.cleaned_data["periods"],
                outcome=form.cleaned_data["outcome"],
                resamples=form.cleaned_data["resamples"],
                seed=form.cleaned_data["seed"],
                actor=request.user,
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("机制检验已完成"))
            return redirect("analytics_mechanism")
    return _page(request, place, form=form, status=400)
