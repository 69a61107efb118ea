"""Reads of the mechanism test: the panel under a place (from the stored snapshots), the periods it can use, and the
newest stored result. Permission checks are the callers' (``analytics.view_dashboard`` / ``analytics.run_mechanism``
on the place)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gongzhi.places.models import Place

from ..engine.mechanism import period_sort_key as _period_order
from ..models import IndicatorSnapshot, MechanismResult

if TYPE_CHECKING:
    import pandas as pd

X_ID = "E1"
OUTCOMES: tuple[str, ...] = ("G1", "S_SATISFACTION")
MEDIATORS: tuple[str, ...] = ("DIM_I", "DIM_II", "DIM_III", "COMPOSITE")
# Which stored number is used: the raw value for X and the outcomes, the 0–100 score for the dimension rows.
PANEL_IDS: tuple[str, ...] = (X_ID, *OUTCOMES, *MEDIATORS)
PANEL_COLUMNS: tuple[str, ...] = ("community", "period", *PANEL_IDS)


@dataclass(frozen=True)
class Panel:
    """One row per (community, period) that has any of the panel's snapshot rows; a column per id in ``PANEL_IDS``
    (null where not stored). ``computations``: the ids of the computations whose rows were read."""

    frame: pd.DataFrame
    computations: list[str]


def _community_rows(place: Place):  # type: ignore[no-untyped-def]
    return IndicatorSnapshot.objects.filter(place__code__startswith=place.prefix, place__level="community")


def snapshot_periods(*, place: Place) -> list[str]:
    """The periods (keys, oldest first) with stored education-input rows (E1) for communities under ``place``."""
    keys = _community_rows(place).filter(indicator=X_ID).order_by().values_list("period", flat=True).distinct()
    return sorted(set(keys), key=_period_order)


def mechanism_panel(*, place: Place, periods: list[str]) -> Panel:
    """The panel of the communities under ``place`` in ``periods``: one query."""
    rows = (
        _community_rows(place)
        .filter(period__in=periods, indicator__in=PANEL_IDS)
        .order_by()
        .values_list("place_id", "period", "indicator", "value", "score", "computation_id")
    )
    cells: dict[tuple[str, str], dict[str, float | None]] = {}
    computations: set[str] = set()
    for code, period, indicator, value, score, computation_id in rows:
        number = score if indicator in MEDIATORS else value
        cells.setdefault((code, period), {})[indicator] = number
        computations.add(str(computation_id))
    records = [
        {"community": code, "period": period, **{i: found.get(i) for i in PANEL_IDS}}
        for (code, period), found in sorted(cells.items(), key=lambda kv: (kv[0][0], _period_order(kv[0][1])))
    ]
    import pandas as pd  # heavy: imported when a panel is read, not when the URLconf loads

    frame = pd.DataFrame(records, columns=list(PANEL_COLUMNS))
    for column in PANEL_IDS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return Panel(frame=frame, computations=sorted(computations))


def mechanism_newest(*, place: Place) -> MechanismResult | None:
    """The newest stored result for ``place`` (with who ran it), or None."""
    return MechanismResult.objects.filter(place=place).select_related("requested_by").order_by("-created_at").first()
