"""The mechanism test over snapshots the real pipeline stored (``tests.analytics_support.measured_world``)."""

from __future__ import annotations

import pytest

from gongzhi.analytics.engine import mechanism as engine
from gongzhi.analytics.mechanism import selectors, services
from gongzhi.analytics.models import IndicatorSnapshot, MechanismResult
from gongzhi.core.errors import DomainError
from tests.analytics_support import measured_world

pytestmark = pytest.mark.django_db


def test_panel_from_the_pipelines_snapshots(tree):
    world = measured_world(tree)
    district = world.district
    assert selectors.snapshot_periods(place=district) == ["2024", "2025"]
    panel = selectors.mechanism_panel(place=district, periods=["2024", "2025"])
    frame = panel.frame
    # One row per community and period: the rolled-up streets and the district are not in the panel.
    assert sorted(set(frame["community"])) == sorted(world.community_codes)
    assert len(frame) == 6
    assert panel.computations == sorted(str(c.pk) for c in world.computations.values())
    stored: dict[tuple[object, object, str], IndicatorSnapshot] = {
        (r.place_id, r.period, r.indicator): r
        for r in IndicatorSnapshot.objects.filter(place_id__in=world.community_codes, indicator__in=selectors.PANEL_IDS)
    }
    for row in frame.itertuples(index=False):
        e1 = stored[(row.community, row.period, "E1")].value
        composite = stored[(row.community, row.period, "COMPOSITE")].score
        assert pytest.approx(e1) == row.E1 and pytest.approx(composite) == row.COMPOSITE
    # Three communities are too few for the service (it asks for five) and nothing is stored …
    with pytest.raises(DomainError) as exc:
        services.mechanism_run(place=district, periods=["2024", "2025"], actor=None)
    assert "只有 3 个" in exc.value.fields["periods"][0]
    assert MechanismResult.objects.count() == 0
    # … while the engine itself runs on the same panel and answers with numbers or a reason, never a crash.
    data = frame[["community", "period"]].assign(X=frame["E1"], M=frame["COMPOSITE"], Y=frame["G1"])
    result = engine.mediation(data, resamples=200)
    assert result["n_communities"] <= 3
    assert result["estimable"] is True or result["reason"] in engine.REASONS
    fe = engine.fixed_effects(data)
    assert fe["estimable"] is True or fe["reason"] in engine.REASONS
