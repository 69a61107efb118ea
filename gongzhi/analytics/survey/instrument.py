"""The social-capital survey instrument (METHOD.md "The survey"): four scales, Likert 1–5, three items each.

Item ids are the ``item`` column of ``survey_answers.csv``; they never change meaning. The wording (Chinese source
strings, English in the catalogue) is the survey helper's to write in ``TEXTS``.
"""

from __future__ import annotations

# scale → its item ids, in the order they are asked
SCALES: dict[str, tuple[str, ...]] = {
    "trust": ("T1", "T2", "T3"),  # generalised trust, trust in neighbours, trust in community institutions
    "norms": ("N1", "N2", "N3"),  # reciprocity, cooperation, fairness
    "network": ("R1", "R2", "R3"),  # could you get help with … from someone you know
    "satisfaction": ("S1", "S2", "S3"),  # satisfaction with community governance
}
# scale → the indicator id its score is stored under (engine.spec.SURVEY_SCALES gives the dimension)
SCALE_INDICATORS: dict[str, str] = {
    "trust": "S_TRUST",
    "norms": "S_NORMS",
    "network": "S_NETWORK",
    "satisfaction": "S_SATISFACTION",
}
ITEMS: tuple[str, ...] = tuple(item for items in SCALES.values() for item in items)
SCALE_OF: dict[str, str] = {item: scale for scale, items in SCALES.items() for item in items}
