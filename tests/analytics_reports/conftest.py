"""Snapshot rows written directly (as the pipeline stores them) over the ``tree`` fixture: 2024 and 2025 results for
the three communities of the district (comm_a1, comm_a2 under street_a; comm_b1 under street_b), rolled up to the
streets and the district, with computations, diagnoses and the counts behind the ratios.

The numbers follow the method (scores from the goalposts, dimension = mean of its scores, composite = mean of the
dimensions, the diagnosis from the threshold, roll-ups weighted by population) so that the report reads like a real
one; the engine's own correctness is tested elsewhere.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from gongzhi.analytics.engine import spec
from gongzhi.analytics.engine.config import MeasureConfig
from gongzhi.analytics.models import Computation, DiagnosisSnapshot, IndicatorSnapshot
from gongzhi.people.models import Role, User
from gongzhi.places.models import Place
from tests import factories
from tests.api.conftest import make_client, openapi_checker, openapi_spec  # noqa: F401  (API fixtures)
from tests.conftest import Tree

NAMES = {
    "district": "上城区",
    "street_a": "九堡街道",
    "street_b": "采荷街道",
    "comm_a1": "九堡社区",
    "comm_a2": "三村社区",
    "comm_b1": "观音塘社区",
}
COMMUNITIES = ("comm_a1", "comm_a2", "comm_b1")

# community → indicator → (value, numerator, denominator); the 2025 figures. 2024 is derived (a little lower).
BASE: dict[str, dict[str, tuple[float | None, float | None, float | None]]] = {
    "comm_a1": {
        "I1": (0.30, 600, 2000),
        "I2": (0.55, 110, 200),
        "I3": (0.25, 150, 600),
        "I4": (0.012, 24, 2000),  # weak participation: few deliberation participants
        "I5": (0.08, 48, 600),
        "II1": (3.0, 6, 2000),
        "II2": (0.5, 3, 6),
        "II3": (0.2, 400, 2000),
        "II4": (3.1, 6200, 2000),
        "II5": (0.45, 45, 100),
        "II6": (0.8, 4, 5),
        "III1": (2.5, 5, 2000),
        "III2": (0.8, None, None),
        "III3": (0.9, 9, 10),
        "III4": (0.4, 40, 100),
        "III5": (-0.3, 30, 100),
        "III6": (0.9, 270, 300),
        "III7": (0.4, None, None),
        "E1": (12.0, 24, 2000),
        "E2": (1.5, 3, 2000),
        "G1": (2.0, 4, 2000),
        "G2": (21.0, None, None),
        "POP": (2000, None, None),
        "NODES": (300, None, None),
        "EDGES": (1200, None, None),
        "DENSITY": (0.0268, None, None),
    },
    "comm_a2": {
        "I1": (0.40, 1200, 3000),
        "I2": (0.7, 420, 600),
        "I3": (0.5, 600, 1200),
        "I4": (0.15, 450, 3000),
        "I5": (0.4, 480, 1200),
        "II1": (0.5, 2, 3000),  # few organisations: II
        "II2": (0.0, 0, 2),
        "II3": (0.05, 150, 3000),
        "II4": (0.5, 1500, 3000),
        "II5": (0.1, 12, 120),
        "II6": (0.5, 2, 4),
        "III1": (2.0, 6, 3000),
        "III2": (0.7, None, None),
        "III3": (0.8, 17, 21),
        "III4": (0.3, 36, 120),
        "III5": (-0.5, 100, 400),
        "III6": (0.8, 400, 500),
        "III7": (0.3, None, None),
        "E1": (15.0, 45, 3000),
        "E2": (0.3, 1, 3000),
        "G1": (1.0, 3, 3000),
        "G2": (30.0, None, None),
        "POP": (3000, None, None),
        "NODES": (500, None, None),
        "EDGES": (4000, None, None),
        "DENSITY": (0.032, None, None),
    },
    "comm_b1": {
        "I1": (0.45, 4, 9),
        "I2": (0.8, 4, 5),
        "I3": (0.5, 2, 4),
        "I4": (0.2, 2, 9),
        "I5": (0.5, 2, 4),
        "II1": (0.0, 0, 9),
        "II2": (None, 0, 0),
        "II3": (0.3, 3, 9),
        "II4": (4.0, 36, 9),
        "II5": (0.5, 1, 2),
        "II6": (None, 0, 0),
        "III1": (0.0, 0, 9),
        "III2": (0.0, None, None),
        "III3": (None, 0, 0),
        "III4": (0.0, 0, 2),
        "III5": (-1.0, 3, 3),
        "III6": (1.0, 4, 4),
        "III7": (None, None, None),
        "E1": (222.2, 2, 9),
        "E2": (0.0, 0, 9),
        "G1": (0.0, 0, 9),
        "G2": (None, None, None),
        "POP": (9, None, None),
        "NODES": (4, None, None),
        "EDGES": (3, None, None),
        "DENSITY": (0.5, None, None),
    },
}


def score_of(indicator: str, value: float | None, goalposts: dict[str, tuple[float, float]]) -> float | None:
    posts = goalposts.get(indicator)
    if value is None or posts is None:
        return None
    lo, hi = posts
    return 100.0 * min(max((value - lo) / (hi - lo), 0.0), 1.0)


def _mean(xs: list[float | None]) -> float | None:
    found = [x for x in xs if x is not None]
    return sum(found) / len(found) if found else None


def _scored(
    values: dict[str, tuple[float | None, float | None, float | None]], config: MeasureConfig
) -> tuple[dict[str, tuple[Any, ...]], str, dict[str, list[str]]]:
    rows: dict[str, tuple[Any, ...]] = {}
    for ind, (value, num, den) in values.items():
        rows[ind] = (value, score_of(ind, value, config.goalposts), num, den)
    dims: dict[str, float | None] = {}
    for d in spec.DIMENSIONS:
        ids = [s.id for s in spec.CORE if s.dimension == d and s.scored]
        dims[d] = _mean([rows[i][1] for i in ids if i in rows])
        rows[spec.DIMENSION_ROWS[d]] = (None, dims[d], None, None)
    rows[spec.COMPOSITE] = (None, _mean(list(dims.values())), None, None)
    return rows, *_diagnose(dims, rows, config.threshold)


def _diagnose(
    dims: dict[str, float | None], rows: dict[str, tuple[Any, ...]], threshold: float
) -> tuple[str, dict[str, list[str]]]:
    below = {d: s for d, s in dims.items() if s is not None and s < threshold}
    if not below:
        return "", {}
    low = min(below.values())
    dilemmas = [d for d in spec.DIMENSIONS if below.get(d) == low]
    weak: dict[str, list[str]] = {}
    for d in dilemmas:
        ids = [s.id for s in spec.CORE if s.dimension == d and s.scored and rows.get(s.id, (None, None))[1] is not None]
        ids = [i for i in ids if rows[i][1] < threshold]
        weak[d] = sorted(ids, key=lambda i: (rows[i][1], i))
    return ";".join(dilemmas), weak


def _rollup(
    community_rows: dict[str, dict[str, tuple[Any, ...]]], children: tuple[str, ...]
) -> dict[str, tuple[Any, ...]]:
    """Population-weighted means of values and scores; sums of the counts (numerator, denominator, POP …)."""
    pops = {c: community_rows[c]["POP"][0] for c in children}

    def wmean(ind: str, pos: int) -> float | None:
        pairs = [(community_rows[c][ind][pos], pops[c]) for c in children if community_rows[c][ind][pos] is not None]
        weight = sum(p for _, p in pairs)
        return sum(x * p for x, p in pairs) / weight if pairs and weight else None

    def total(ind: str, pos: int) -> float | None:
        xs = [community_rows[c][ind][pos] for c in children if community_rows[c][ind][pos] is not None]
        return sum(xs) if xs else None

    return {
        ind: (
            total(ind, 0) if ind in ("POP", "NODES", "EDGES") else wmean(ind, 0),
            wmean(ind, 1),
            total(ind, 2),
            total(ind, 3),
        )
        for ind in community_rows[children[0]]
    }


@dataclass
class SnapWorld:
    tree: Tree
    computations: dict[str, Computation]
    users: dict[str, User] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)

    def rows(self, key: str, period: str) -> dict[str, IndicatorSnapshot]:
        return {r.indicator: r for r in IndicatorSnapshot.objects.filter(place=self.places[key], period=period)}


def _for_period(period: str, values: dict[str, tuple[float | None, float | None, float | None]]) -> dict[str, Any]:
    if period == "2025":
        return values
    out = {}
    for ind, (value, num, den) in values.items():
        if value is not None and ind not in ("POP", "NODES", "EDGES", "III5"):
            value = value * 0.8
        out[ind] = (value, num, den)
    return out


def build_world(tree: Tree, *, periods: tuple[str, ...] = ("2024", "2025")) -> SnapWorld:
    places = {key: getattr(tree, key) for key in NAMES}
    for key, name in NAMES.items():
        places[key].name = name
        places[key].save(update_fields=["name"])
    computations = {}
    for period in periods:
        config = (
            MeasureConfig.from_overrides(goalposts={"I4": [0, 0.1]}, threshold=65)
            if period == "2025"
            else MeasureConfig()
        )
        finished = timezone.make_aware(datetime.datetime(int(period) + 1, 1, 2, 9, 30))
        computation = Computation.objects.create(
            period=period,
            scope_code=tree.district.code,
            config=config.to_json(),
            status="done",
            trigger="command",
            communities=len(COMMUNITIES),
            started_at=finished - datetime.timedelta(minutes=1),
            finished_at=finished,
        )
        computations[period] = computation
        snapshots = []
        diagnoses = []
        community_rows = {}
        for key in COMMUNITIES:
            rows, dilemmas, weak = _scored(_for_period(period, BASE[key]), config)
            community_rows[key] = rows
            snapshots += [
                IndicatorSnapshot(
                    place=places[key],
                    period=period,
                    indicator=ind,
                    value=v,
                    score=s,
                    numerator=n,
                    denominator=d,
                    computation=computation,
                )
                for ind, (v, s, n, d) in rows.items()
            ]
            diagnoses.append(
                DiagnosisSnapshot(
                    place=places[key], period=period, dilemmas=dilemmas, weak=weak, computation=computation
                )
            )
        # Roll-ups: population-weighted means of values and scores, sums of counts.
        for parent, children in (
            ("street_a", ("comm_a1", "comm_a2")),
            ("street_b", ("comm_b1",)),
            ("district", COMMUNITIES),
        ):
            rolled = _rollup(community_rows, children)
            dims = {d: rolled[spec.DIMENSION_ROWS[d]][1] for d in spec.DIMENSIONS}
            dilemmas, weak = _diagnose(dims, rolled, config.threshold)
            snapshots += [
                IndicatorSnapshot(
                    place=places[parent],
                    period=period,
                    indicator=ind,
                    value=v,
                    score=s,
                    numerator=n,
                    denominator=d,
                    computation=computation,
                )
                for ind, (v, s, n, d) in rolled.items()
            ]
            diagnoses.append(
                DiagnosisSnapshot(
                    place=places[parent], period=period, dilemmas=dilemmas, weak=weak, computation=computation
                )
            )
        IndicatorSnapshot.objects.bulk_create(snapshots)
        DiagnosisSnapshot.objects.bulk_create(diagnoses)
    world = SnapWorld(tree=tree, computations=computations, places=places)
    world.users = {
        "admin": factories.staff(Role.ADMIN, tree.district),
        "street_staff": factories.staff(Role.STREET_STAFF, tree.street_a),
        "community_worker": factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1),
        "teacher": factories.staff(Role.TEACHER, tree.street_a),
        "other_admin": factories.staff(Role.ADMIN, tree.other_district),
    }
    return world


@pytest.fixture
def snap(tree) -> SnapWorld:
    return build_world(tree)


@pytest.fixture
def cjk_font():
    """The CJK font the PDF needs (CI installs fonts-noto-cjk); a clear failure without it."""
    from gongzhi.analytics.reports.pdf import CJKFontMissing, report_font

    try:
        return report_font()
    except CJKFontMissing as exc:  # pragma: no cover - depends on the machine
        pytest.fail(exc.message)
