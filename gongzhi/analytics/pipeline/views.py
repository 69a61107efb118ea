"""测评设置 and 指标计算 pages (staff, for the current place). Thin: check the permission, call one service or
selector, render.

- ``measure_settings``: the settings in force for the current place (own or inherited), the version history with who
  and when, and — for planners (``analytics.change_measuresettings``) — the form for a new version.
- ``measure_computations``: the computations over, inside or covering the current place, with progress (refreshed by
  htmx while one is queued or running: ``measure_computations_table``), and — for planners
  (``analytics.run_computation``) — a form to recompute a period over the current place.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from gongzhi.core.errors import DomainError
from gongzhi.core.pages import staff_place
from gongzhi.places.models import Place

from .. import catalogue, services
from ..engine import spec
from ..models import ComputationStatus, Weighting
from . import selectors
from .forms import SCORED, WEIGHTED, ComputationForm, SettingsForm, hi_name, lo_name, weight_name

PAGE_SIZE = 20
POLL_SECONDS = 3


def _place(request: HttpRequest) -> Place:
    place = staff_place(request)
    if not request.user.has_perm("analytics.view_dashboard", place):
        raise PermissionDenied(_("您无权查看这个区划的测评"))
    return place


def _dimension_label(dim: str | None) -> str:
    return catalogue.dimension(dim).label if dim else ""


def _num(value: float | None) -> str:
    return "—" if value is None else format(value, "g")


def _settings_rows(form: SettingsForm, config: Any, defaults: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """One row per weighted indicator, grouped by dimension (the first row of a dimension carries its label)."""
    rows = []
    seen: set[str | None] = set()
    for s in sorted(WEIGHTED, key=lambda s: spec.DIMENSIONS.index(s.dimension or "I")):
        info = catalogue.indicator(s.id)
        scored_core = s in SCORED
        lo, hi = config.goalposts.get(s.id, (s.lo, s.hi)) if scored_core else (s.lo, s.hi)
        rows.append(
            {
                "id": s.id,
                "name": info.name,
                "dimension": _dimension_label(s.dimension),
                "group": _dimension_label(s.dimension) if s.dimension not in seen else "",
                "lo": _num(lo),
                "hi": _num(hi),
                "changed": scored_core and (lo, hi) != defaults.get(s.id),
                "default": defaults.get(s.id) if scored_core else (s.lo, s.hi),
                "weight": _num(config.expert_weights.get(s.id)),
                "lo_field": form[lo_name(s.id)] if scored_core else None,
                "hi_field": form[hi_name(s.id)] if scored_core else None,
                "weight_field": form[weight_name(s.id)],
            }
        )
        seen.add(s.dimension)
    return rows


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    place = _place(request)
    may_change = request.user.has_perm("analytics.change_measuresettings", place)
    config, version = services.measure_config_for(place=place)
    form = SettingsForm(request.POST or None, config=config)
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied(_("您无权修改这个区划的测评设置"))
        if form.is_valid():
            try:
                services.measure_settings_change(place=place, actor=request.user, **form.values())
            except DomainError as exc:
                for key, msgs in exc.fields.items():
                    for msg in msgs:
                        form.add_error(form.field_for(key), msg)
                if not exc.fields:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, _("测评设置已保存；重新计算后生效"))
                return redirect("measure_settings")
    defaults = {s.id: (s.lo, s.hi) for s in SCORED}
    history = list(selectors.settings_history(place=place))
    context = {
        "place": place,
        "config": config,
        "version": version,
        "inherited": version is not None and version.place_id != place.code,
        "form": form,
        "may_change": may_change,
        "rows": _settings_rows(form, config, defaults),  # type: ignore[arg-type]
        "history": history,
        "weighting_label": dict(Weighting.choices).get(config.weighting, config.weighting),
        "dimensions": [catalogue.dimension(d) for d in spec.DIMENSIONS],
        "nav_active": "measure_settings",
    }
    return render(request, "analytics/pipeline/settings.html", context)


def _table_context(request: HttpRequest, place: Place) -> dict[str, Any]:
    page = Paginator(selectors.computations_visible(place=place), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    live = any(c.status in (ComputationStatus.QUEUED, ComputationStatus.RUNNING) for c in rows)
    names = dict(
        Place.objects.filter(code__in={c.scope_code for c in rows if c.scope_code}).values_list("code", "name")
    )
    for c in rows:
        c.scope_name = names.get(c.scope_code, c.scope_code) if c.scope_code else _("全部社区")  # type: ignore[attr-defined]
        total = c.progress_total or 0
        c.percent = int(100 * c.progress_done / total) if total else 0  # type: ignore[attr-defined]
    return {"page": page, "rows": rows, "live": live, "poll": POLL_SECONDS, "place": place}


@login_required
def computations_page(request: HttpRequest) -> HttpResponse:
    place = _place(request)
    may_run = request.user.has_perm("analytics.run_computation", place)
    form = ComputationForm(request.POST or None)
    if request.method == "POST":
        if not may_run:
            raise PermissionDenied(_("您无权为这个区划计算指标"))
        if form.is_valid():
            period = form.cleaned_data["period"].strip()
            before = selectors.live_computation(period=period, scope_code=place.code)
            try:
                computation = services.computation_request(
                    period=period, scope=place, actor=request.user, trigger="web"
                )
            except DomainError as exc:
                for key, msgs in exc.fields.items():
                    for msg in msgs:
                        form.add_error(key if key in form.fields else None, msg)
                if not exc.fields:
                    form.add_error(None, exc.message)
            else:
                if before is not None and before.pk == computation.pk:
                    messages.info(request, _("%(period)s 的计算已在进行中，无需重复提交") % {"period": period})
                else:
                    messages.success(request, _("已提交 %(period)s 的指标计算") % {"period": period})
                return redirect("measure_computations")
    context = {
        **_table_context(request, place),
        "form": form,
        "may_run": may_run,
        "nav_active": "measure_computations",
    }
    return render(request, "analytics/pipeline/computations.html", context)


@login_required
def computations_table(request: HttpRequest) -> HttpResponse:
    place = _place(request)
    return render(request, "analytics/pipeline/_computations_table.html", _table_context(request, place))
