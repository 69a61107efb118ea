"""The indicator catalogue of METHOD.md as data: ids, dimensions, goalposts and whether an indicator is scored.

Display names and formulas (translated) live in ``gongzhi.analytics.catalogue``; this module stays free of Django.
"""

from __future__ import annotations

from dataclasses import dataclass

DIMENSIONS: tuple[str, ...] = ("I", "II", "III")
DIMENSION_ROWS: dict[str, str] = {"I": "DIM_I", "II": "DIM_II", "III": "DIM_III"}
COMPOSITE = "COMPOSITE"


@dataclass(frozen=True)
class IndicatorSpec:
    id: str
    dimension: str | None  # "I" trust, "II" norms, "III" networks; None: reported, not scored
    lo: float | None = None
    hi: float | None = None

    @property
    def scored(self) -> bool:
        return self.dimension is not None and self.lo is not None and self.hi is not None


CORE: tuple[IndicatorSpec, ...] = (
    IndicatorSpec("I1", "I", 0.0, 0.5),
    IndicatorSpec("I2", "I", 0.0, 0.8),
    IndicatorSpec("I3", "I", 0.0, 0.6),
    IndicatorSpec("I4", "I", 0.0, 0.2),
    IndicatorSpec("I5", "I", 0.0, 0.5),
    IndicatorSpec("II1", "II", 0.0, 5.0),
    IndicatorSpec("II2", "II", 0.0, 0.5),
    IndicatorSpec("II3", "II", 0.0, 0.3),
    IndicatorSpec("II4", "II", 0.0, 4.0),
    IndicatorSpec("II5", "II", 0.0, 0.5),
    IndicatorSpec("II6", "II", 0.0, 1.0),
    IndicatorSpec("III1", "III", 0.0, 3.0),
    IndicatorSpec("III2", "III", 0.0, 1.0),
    IndicatorSpec("III3", "III", 0.0, 1.0),
    IndicatorSpec("III4", "III", 0.0, 0.5),
    IndicatorSpec("III5", "III", -1.0, 0.0),
    IndicatorSpec("III6", "III", 0.0, 1.0),
    IndicatorSpec("III7", None),
    IndicatorSpec("E1", None),
    IndicatorSpec("E2", None),
    IndicatorSpec("G1", None),
    IndicatorSpec("G2", None),
)

# The ids export_indicators writes, in this order, for each community (then DIM_I, DIM_II, DIM_III, COMPOSITE).
EXPORT_IDS: tuple[str, ...] = tuple(s.id for s in CORE)

# Survey scale scores are one more indicator in their dimension when a survey ran in (c, p). Their value is the mean
# of item means (1–5) and their goalposts are fixed at 1 → 5, so the normalised score maps 1 → 0 and 5 → 100.
# Satisfaction is reported (and an outcome for the mechanism test), not scored in a dimension.
SURVEY: tuple[IndicatorSpec, ...] = (
    IndicatorSpec("S_TRUST", "I", 1.0, 5.0),
    IndicatorSpec("S_NORMS", "II", 1.0, 5.0),
    IndicatorSpec("S_NETWORK", "III", 1.0, 5.0),
    IndicatorSpec("S_SATISFACTION", None),
)
SURVEY_SCALES: dict[str, str | None] = {s.id: s.dimension for s in SURVEY}

# Counts reported beside the indicators (stored, shown, used for small-count suppression; not exported by
# export_indicators): population N(c,p) and the co-participation graph's size and density.
EXTRA_IDS: tuple[str, ...] = ("POP", "NODES", "EDGES", "DENSITY")

BY_ID: dict[str, IndicatorSpec] = {s.id: s for s in (*CORE, *SURVEY)}
SCORED_IDS: tuple[str, ...] = tuple(s.id for s in CORE if s.scored)


def dimension_of(indicator: str) -> str | None:
    spec = BY_ID.get(indicator)
    return spec.dimension if spec else None
