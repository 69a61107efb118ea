"""The data the dashboard's ECharts read (embedded in the page with ``json_script``): plain lists and numbers, with
every text already translated and formatted, so that the script only draws."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .. import catalogue
from ..engine import spec
from .selectors import Dashboard, IndicatorView, Network

COLORS = {"DIM_I": "#c2410c", "DIM_II": "#0f766e", "DIM_III": "#1d4ed8", "COMPOSITE": "#374151"}
DIM_COLORS = {"I": COLORS["DIM_I"], "II": COLORS["DIM_II"], "III": COLORS["DIM_III"]}
GROUP_COLORS = {"local": "#c2410c", "new_citizen": "#1d4ed8"}


def _labels() -> dict[str, str]:
    return {
        "value": _("原始值"),
        "score": _("得分"),
        "goalposts": _("目标值"),
        "threshold": _("短板阈值"),
        "no_data": str(catalogue.NO_DATA),
        "numerator": _("分子"),
        "denominator": _("分母"),
        "composite": str(catalogue.indicator(spec.COMPOSITE).name),
        "open": _("点击查看"),
        "local": _("户籍居民"),
        "new_citizen": _("新市民"),
        "component": _("连通片"),
        "resident": _("居民"),
    }


def _indicator(i: IndicatorView) -> dict[str, Any]:
    return {
        "id": i.id,
        "name": str(i.info.name),
        "label": f"{i.id} {i.info.name}",
        "dimension": i.info.dimension,
        "color": DIM_COLORS.get(i.info.dimension or "", COLORS["COMPOSITE"]),
        "score": None if i.score is None else round(i.score, 4),
        "value_text": i.value_text,
        "score_text": i.score_text,
        "formula": str(i.info.formula),
        "numerator": None if i.numerator is None else i.numerator,
        "denominator": None if i.denominator is None else i.denominator,
        "numerator_label": str(i.info.numerator),
        "denominator_label": str(i.info.denominator),
        "goalposts": i.goalposts_text,
        "weak": i.weak,
    }


def dashboard_chart(board: Dashboard) -> dict[str, Any]:
    period_q = {"period": board.period} if board.period else {}
    trend_default = "quarter" if board.period and "Q" in board.period else "year"
    if not board.trend.get(trend_default, {}).get("periods"):
        trend_default = "year" if board.trend.get("year", {}).get("periods") else "quarter"
    ranking: list[dict[str, Any]] = []
    if board.ranking is not None:
        for row in board.ranking.rows:
            if not row.has_data:
                continue
            url = reverse("measure_place", kwargs={"code": row.code})
            ranking.append(
                {
                    "code": row.code,
                    "name": row.name,
                    "url": f"{url}?{urlencode(period_q)}" if period_q else url,
                    "scores": {k: None if v is None else round(v, 4) for k, v in row.scores.items()},
                    "dilemma": row.dilemma_text,
                }
            )
    return {
        "threshold": board.threshold,
        "labels": _labels(),
        "dims": [
            {
                "row": d.row,
                "label": d.label,
                "score": None if d.score is None else round(d.score, 4),
                "color": COLORS[d.row],
            }
            for d in board.dimensions
        ],
        "series": [
            {"row": row, "label": _series_label(row), "short": _series_short(row), "color": COLORS[row]}
            for row in catalogue.DIMENSION_ROWS
        ],
        "indicators": [_indicator(i) for i in board.indicators if i.info.scored],
        "trend": board.trend,
        "trend_default": trend_default,
        "ranking": ranking,
    }


def _series_label(row: str) -> str:
    for dim in catalogue.DIMENSIONS.values():
        if dim.row == row:
            return dim.label
    return str(catalogue.indicator(row).name)


def _series_short(row: str) -> str:
    """A short legend name for a phone: "Ⅰ 信任", "综合"."""
    for dim in catalogue.DIMENSIONS.values():
        if dim.row == row:
            return f"{dim.numeral} {dim.capital}"
    return _("综合")


def network_chart(net: Network) -> dict[str, Any]:
    graph = net.graph or {}
    groups = ("local", "new_citizen")
    nodes = []
    for node in graph.get("nodes") or []:
        group = node[0] if isinstance(node, (list, tuple)) and node else ""
        component = node[1] if isinstance(node, (list, tuple)) and len(node) > 1 else None
        nodes.append([groups.index(group) if group in groups else 0, component])
    edges = [
        [int(e[0]), int(e[1])]
        for e in graph.get("edges") or []
        if isinstance(e, (list, tuple)) and len(e) == 2 and 0 <= int(e[0]) < len(nodes) and 0 <= int(e[1]) < len(nodes)
    ]
    labels = _labels()
    return {
        "nodes": nodes,
        "edges": edges,
        "categories": [{"name": labels[g], "color": GROUP_COLORS[g]} for g in groups],
        "labels": labels,
    }
