"""The 析 measure side of the demo: the indicators of the imported demo, computed through the pipeline.

After the files are imported and the other demo steps have run, this step computes the indicators, dimension scores and
diagnoses of every community (and the streets and the district they roll up to) for 2024, 2025 and the four quarters
of 2025, with ``gongzhi.analytics.services.compute_now`` (trigger ``demo``), so that every dashboard has data and a
trend at once. It then reads back what was stored for a short summary: per community, the composite score of 2024 and
2025, the dimension scores of 2025 and its dominant dilemma — where the communities' profiles (``demo.PROFILES``) show.

Running it again recomputes (the stored rows of each period are replaced, nothing is added twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gongzhi.analytics.models import ComputationStatus, DiagnosisSnapshot, IndicatorSnapshot
from gongzhi.analytics.services import compute_now
from gongzhi.core.errors import Conflict
from gongzhi.places.models import Place

from .demo import YEAR

PERIODS: tuple[str, ...] = ("2024", "2025", "2025Q1", "2025Q2", "2025Q3", "2025Q4")
DIMENSIONS = ("DIM_I", "DIM_II", "DIM_III")
DILEMMA_NAMES = {"I": "参与弱", "II": "主体不足", "III": "资源分散"}


@dataclass
class CommunityResult:
    code: str
    name: str
    composite: dict[str, float | None] = field(default_factory=dict)  # period → composite score
    dimensions: dict[str, float | None] = field(default_factory=dict)  # DIM_I … → score in YEAR
    dilemmas: str = ""  # in YEAR: "I", "II;III" or "" (none)

    @property
    def dilemma_label(self) -> str:
        if not self.dilemmas:
            return "无"
        return "、".join(f"{d} {DILEMMA_NAMES.get(d, '')}" for d in self.dilemmas.split(";"))


@dataclass
class MeasureSummary:
    computed: list[str] = field(default_factory=list)  # the periods computed
    communities: list[CommunityResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def demo_measure_ensure(*, periods: tuple[str, ...] = PERIODS) -> MeasureSummary:
    """Compute the demo's indicators for ``periods`` over all communities and summarise them."""
    summary = MeasureSummary()
    for period in periods:
        try:
            computation = compute_now(period=period, trigger="demo")
        except Conflict as exc:  # a computation of the period is running elsewhere (an import's, say)
            summary.notes.append(
                f"测评：{period} 未计算：{exc.message}  (measure: {period} is being computed elsewhere)"
            )
            continue
        if computation.status != ComputationStatus.DONE:
            summary.notes.append(
                f"测评：{period} 的指标计算未完成（{computation.get_status_display()}）{computation.message}  "
                f"(measure: {period} {computation.status})"
            )
            continue
        summary.computed.append(period)

    communities = list(Place.objects.filter(level="community").order_by("code"))
    codes = [c.code for c in communities]
    scores: dict[tuple[str, str, str], float | None] = {
        (place, period, indicator): score
        for place, period, indicator, score in IndicatorSnapshot.objects.filter(
            place_id__in=codes, period__in=list(periods), indicator__in=["COMPOSITE", *DIMENSIONS]
        ).values_list("place_id", "period", "indicator", "score")
    }
    dilemmas = dict(
        DiagnosisSnapshot.objects.filter(place_id__in=codes, period=str(YEAR)).values_list("place_id", "dilemmas")
    )
    for place in communities:
        result = CommunityResult(place.code, place.name, dilemmas=dilemmas.get(place.code, ""))
        result.composite = {p: scores.get((place.code, p, "COMPOSITE")) for p in periods}
        result.dimensions = {d: scores.get((place.code, str(YEAR), d)) for d in DIMENSIONS}
        summary.communities.append(result)
    return summary
