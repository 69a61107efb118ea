"""The report's charts as PNG images for the PDF, drawn with matplotlib (the Agg canvas, no pyplot and no global
state) in the same CJK font the PDF embeds (``settings.CJK_FONT_PATHS``; of a collection, the Simplified Chinese
face). The same report gives the same bytes: no timestamps or software versions are written into the PNG.

- ``dimension_bars``: the three dimension scores and the composite, with the threshold line;
- ``indicator_bars``: the score of every scored indicator, coloured by dimension (no data: a note instead of a bar);
- ``trend_lines``: the dimension scores and the composite over the stored periods.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from .. import catalogue
from ..engine import spec

if TYPE_CHECKING:
    from .selectors import Report

COLORS = {"I": "#c2410c", "II": "#0f766e", "III": "#1d4ed8", spec.COMPOSITE: "#374151", None: "#9ca3af"}
THRESHOLD_COLOR = "#b91c1c"
GRID = "#e5e7eb"
INK = "#1f2937"
MUTED = "#6b7280"
DPI = 200
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85}


@lru_cache(maxsize=4)
def _font(path: str, index: int) -> Any:
    from matplotlib.font_manager import FontPath, FontProperties

    return FontProperties(fname=FontPath(path, index))


def font_properties(size: float | None = None) -> Any:
    """The CJK font as matplotlib ``FontProperties`` (raises ``CJKFontMissing``, like the PDF)."""
    from .pdf import report_font

    base = _font(*report_font())
    if size is None:
        return base
    fp = base.copy()
    fp.set_size(size)
    return fp


def _figure(width_mm: float, height_mm: float) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return buffer.getvalue()


def _style(ax: Any, fp: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#9ca3af")
    ax.tick_params(colors=INK, labelsize=8)
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_fontproperties(fp)


def dimension_bars(report: Report, *, width_mm: float = 170, height_mm: float = 62) -> bytes:
    fp, small = font_properties(9), font_properties(8)
    fig, ax = _figure(width_mm, height_mm)
    lines = [*report.dimensions, report.composite]
    labels = [line.label for line in lines]
    values = [line.score if line.score is not None else 0.0 for line in lines]
    colors = [COLORS[line.id] for line in lines]
    ys = list(range(len(lines)))[::-1]
    ax.barh(ys, values, color=colors, height=0.6)
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, 100)
    ax.xaxis.grid(True, color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    threshold = report.config.threshold
    ax.axvline(threshold, color=THRESHOLD_COLOR, linestyle="--", linewidth=1)
    ax.text(
        threshold + (0.8 if threshold < 80 else -0.8),
        len(lines) - 0.45,
        _("短板阈值 %(t)s") % {"t": f"{threshold:g}"},
        color=THRESHOLD_COLOR,
        fontproperties=small,
        ha="left" if threshold < 80 else "right",
        va="bottom",
    )
    for y, line in zip(ys, lines, strict=True):
        text = line.score_text
        x = line.score if line.score is not None else 0.0
        ax.text(
            x + 1.2,
            y,
            text,
            va="center",
            ha="left",
            fontproperties=fp,
            color=INK if line.score is not None else MUTED,
            bbox=LABEL_BOX,
        )
    ax.set_xlabel(_("得分（0–100）"), fontproperties=small, color=MUTED)
    ax.set_ylim(-0.6, len(lines) - 0.1)
    _style(ax, fp)
    fig.tight_layout(pad=0.6)
    return _png(fig)


def indicator_bars(report: Report, *, width_mm: float = 170) -> bytes:
    lines = [i for i in report.indicators if i.scored]
    fp, small = font_properties(8), font_properties(7.5)
    height_mm = 14 + 5.2 * max(len(lines), 1)
    fig, ax = _figure(width_mm, height_mm)
    ys = list(range(len(lines)))[::-1]
    values = [i.score if i.score is not None else 0.0 for i in lines]
    colors = [COLORS.get(i.dimension, COLORS[None]) for i in lines]
    ax.barh(ys, values, color=colors, height=0.62)
    ax.set_yticks(ys, [f"{i.id} {i.name}" for i in lines])
    ax.set_xlim(0, 100)
    ax.axvline(report.config.threshold, color=THRESHOLD_COLOR, linestyle="--", linewidth=0.8)
    ax.xaxis.grid(True, color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    for y, line in zip(ys, lines, strict=True):
        if line.score is None:
            ax.text(1, y, str(catalogue.NO_DATA), va="center", ha="left", fontproperties=small, color=MUTED)
        else:
            mark = " ▼" if line.weak else ""
            ax.text(
                line.score + 1,
                y,
                f"{line.score_text}{mark}",
                va="center",
                ha="left",
                fontproperties=small,
                color=INK,
                bbox=LABEL_BOX,
            )
    ax.set_ylim(-0.7, max(len(lines), 1) - 0.3)
    ax.set_xlabel(_("得分（0–100）；红色虚线：短板阈值；▼ 拉低所在维度的指标"), fontproperties=small, color=MUTED)
    _style(ax, fp)
    fig.tight_layout(pad=0.6)
    return _png(fig)


def trend_lines(report: Report, *, width_mm: float = 170, height_mm: float = 70) -> bytes:
    fp, small = font_properties(8.5), font_properties(8)
    fig, ax = _figure(width_mm, height_mm)
    points = report.trend
    xs = list(range(len(points)))
    series = [(d, catalogue.dimension(d).label) for d in spec.DIMENSIONS] + [
        (spec.COMPOSITE, str(catalogue.indicator(spec.COMPOSITE).name))
    ]
    for key, label in series:
        ys = [p.get(key) for p in points]
        pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        if not pairs:
            continue
        ax.plot(
            [x for x, _y in pairs],
            [y for _x, y in pairs],
            marker="o",
            markersize=3.5,
            linewidth=2.2 if key == spec.COMPOSITE else 1.4,
            linestyle="-" if key == spec.COMPOSITE else (0, (4, 1.5)),
            color=COLORS[key],
            label=label,
        )
    ax.axhline(report.config.threshold, color=THRESHOLD_COLOR, linestyle=":", linewidth=0.9)
    ax.text(
        max(len(points) - 0.6, 0.4),
        report.config.threshold + 1.5,
        _("短板阈值 %(t)s") % {"t": f"{report.config.threshold:g}"},
        color=THRESHOLD_COLOR,
        fontproperties=small,
        ha="right",
        va="bottom",
    )
    ax.set_xticks(xs, [p["label"] for p in points])
    ax.set_xlim(-0.4, max(len(points) - 0.6, 0.4))
    ax.set_ylim(0, 100)
    ax.set_ylabel(_("得分"), fontproperties=small, color=MUTED)
    ax.yaxis.grid(True, color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(prop=small, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, frameon=False)
    _style(ax, fp)
    fig.tight_layout(pad=0.6)
    return _png(fig)
