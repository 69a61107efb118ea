"""Snapshot rows written directly (no pipeline): communities under STREET_A (the tree's two plus ten more) and the
two under STREET_B, each with E1, G1, the dimension scores, the composite and (optionally) survey satisfaction for
2024 and 2025, with a planted relation: the dimension scores rise with E1 and G1 rises with the composite."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from gongzhi.analytics.models import Computation, IndicatorSnapshot
from gongzhi.people.models import Role, User
from gongzhi.places.models import Place
from tests import factories
from tests.api.conftest import make_client, openapi_checker, openapi_spec  # noqa: F401  (API fixtures)
from tests.conftest import Tree

PERIODS = ("2024", "2025")
MEDIATORS = ("DIM_I", "DIM_II", "DIM_III", "COMPOSITE")


def community_codes(street: Place, n: int) -> list[Place]:
    return [factories.place_chain(f"{street.code[:9]}{i:03d}") for i in range(1, n + 1)]


def plant(
    communities: list[Place],
    periods: tuple[str, ...] = PERIODS,
    *,
    seed: int = 1,
    satisfaction: bool = False,
    scope: str = "",
) -> dict[tuple[str, str], dict[str, float]]:
    """Write the snapshot rows (one Computation per period) and return the planted numbers by (code, period)."""
    rng = np.random.default_rng(seed)
    planted: dict[tuple[str, str], dict[str, float]] = {}
    for period in periods:
        computation = Computation.objects.create(period=period, scope_code=scope, status="done", trigger="command")
        rows = []
        for place in communities:
            x = float(rng.uniform(0, 10))
            dims = {d: float(np.clip(30 + 4 * x + rng.normal(0, 10), 0, 100)) for d in MEDIATORS[:3]}
            composite = sum(dims.values()) / 3
            g1 = 0.2 * composite + float(rng.normal(0, 0.5))
            values = {"E1": x, "G1": g1, **dims, "COMPOSITE": composite}
            if satisfaction:
                values["S_SATISFACTION"] = float(np.clip(1 + composite / 25 + rng.normal(0, 0.05), 1, 5))
            planted[(place.code, period)] = values
            for indicator, number in values.items():
                is_score = indicator in MEDIATORS
                rows.append(
                    IndicatorSnapshot(
                        place=place,
                        period=period,
                        indicator=indicator,
                        value=None if is_score else number,
                        score=number if is_score else None,
                        computation=computation,
                    )
                )
            # Rows the panel must not read: another indicator, and a score-less value for a dimension row.
            rows.append(
                IndicatorSnapshot(
                    place=place, period=period, indicator="I1", value=0.3, score=60.0, computation=computation
                )
            )
        IndicatorSnapshot.objects.bulk_create(rows)
    return planted


@dataclass
class MechWorld:
    tree: Tree
    street_a: list[Place]  # 12 communities
    street_b: list[Place]  # 2 communities
    planted: dict[tuple[str, str], dict[str, float]]
    users: dict[str, User]


@pytest.fixture
def mech_world(tree) -> MechWorld:
    street_a = community_codes(tree.street_a, 12)
    street_b = community_codes(tree.street_b, 2)
    planted = plant(street_a + street_b, satisfaction=True)
    # A rolled-up street row: above community level, never part of the panel.
    computation = Computation.objects.filter(period="2025").first()
    assert computation is not None
    IndicatorSnapshot.objects.create(
        place=tree.street_a, period="2025", indicator="E1", value=99.0, computation=computation
    )
    users = {
        "admin": factories.staff(Role.ADMIN, tree.district),
        "street_staff": factories.staff(Role.STREET_STAFF, tree.street_a),
        "street_staff_b": factories.staff(Role.STREET_STAFF, tree.street_b),
        "community_worker": factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1),
        "teacher": factories.staff(Role.TEACHER, tree.street_a),
        "other_admin": factories.staff(Role.ADMIN, tree.other_district),
    }
    return MechWorld(tree=tree, street_a=street_a, street_b=street_b, planted=planted, users=users)
