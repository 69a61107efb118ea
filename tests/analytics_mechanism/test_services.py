"""The mechanism service and selectors over snapshot rows: the panel read in one query, the stored result, refusals
that write nothing, and no duplicates on a retry."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.analytics.engine import mechanism as engine
from gongzhi.analytics.mechanism import selectors, services
from gongzhi.analytics.models import IndicatorSnapshot, MechanismResult
from gongzhi.core.errors import DomainError
from gongzhi.core.models import AuditEvent

from .conftest import plant

pytestmark = pytest.mark.django_db


def test_panel_is_one_query_of_the_communities_under_the_place(mech_world):
    street = mech_world.tree.street_a
    with CaptureQueriesContext(connection) as queries:
        panel = selectors.mechanism_panel(place=street, periods=["2024", "2025"])
    assert len(queries) == 1
    frame = panel.frame
    assert list(frame.columns) == ["community", "period", "E1", "G1", "S_SATISFACTION", *selectors.MEDIATORS]
    assert len(frame) == 24 and frame["community"].nunique() == 12
    assert street.code not in set(frame["community"])  # the rolled-up street row is not a community
    assert not set(frame["community"]) & {p.code for p in mech_world.street_b}
    first = mech_world.street_a[0].code
    row = frame[(frame["community"] == first) & (frame["period"] == "2025")].iloc[0]
    planted = mech_world.planted[(first, "2025")]
    assert row["E1"] == pytest.approx(planted["E1"])
    assert row["DIM_II"] == pytest.approx(planted["DIM_II"])  # the score of dimension rows
    assert row["G1"] == pytest.approx(planted["G1"])  # the value of the others
    assert len(panel.computations) == 2


def test_snapshot_periods(mech_world):
    assert selectors.snapshot_periods(place=mech_world.tree.street_a) == ["2024", "2025"]
    assert selectors.snapshot_periods(place=mech_world.tree.other_district) == []


def test_run_stores_the_estimates_and_everything_used(mech_world):
    street = mech_world.tree.street_a
    actor = mech_world.users["street_staff"]
    stored = services.mechanism_run(place=street, periods=["2025", "2024"], resamples=500, seed=7, actor=actor)
    stored.refresh_from_db()
    config, result = stored.config, stored.result
    assert config["place_code"] == street.code and config["periods"] == ["2024", "2025"]
    assert config["outcome"] == "G1" and config["x"] == "E1" and config["resamples"] == 500 and config["seed"] == 7
    assert config["mediators"] == ["DIM_I", "DIM_II", "DIM_III", "COMPOSITE"]
    assert len(config["panel_sha256"]) == 64 and config["panel_rows"] == 24 and len(config["computations"]) == 2
    assert set(config["libraries"]) == {"numpy", "statsmodels", "linearmodels"}
    assert result["panel"] == {"rows": 24, "communities": 12, "periods": ["2024", "2025"]}
    by_m = {item["mediator"]: item for item in result["mediators"]}
    assert list(by_m) == ["DIM_I", "DIM_II", "DIM_III", "COMPOSITE"]
    composite = by_m["COMPOSITE"]["mediation"]
    assert composite["estimable"] is True and composite["n_communities"] == 12 and composite["n_rows"] == 24
    assert composite["a"]["coef"] == pytest.approx(4.0, abs=1.5) and composite["a"]["p"] < 0.001
    assert composite["indirect"]["ci_low"] > 0  # the planted path shows
    assert by_m["COMPOSITE"]["fixed_effects"]["estimable"] is True
    assert stored.requested_by == actor
    # The numbers are the engine's on the same panel.
    frame = selectors.mechanism_panel(place=street, periods=["2024", "2025"]).frame
    data = pd.DataFrame(
        {
            "community": frame["community"],
            "period": frame["period"],
            "X": frame["E1"],
            "M": frame["DIM_I"],
            "Y": frame["G1"],
        }
    )
    assert by_m["DIM_I"]["mediation"] == engine.mediation(data, resamples=500, seed=7)
    assert by_m["DIM_I"]["fixed_effects"] == engine.fixed_effects(data)
    audit = AuditEvent.objects.get(target_type="mechanism_result")
    assert audit.actor == actor and audit.place_code == street.code and audit.target_id == str(stored.pk)
    json.dumps(result, allow_nan=False)


def test_a_retry_returns_the_stored_result_and_a_change_adds_one(mech_world):
    street = mech_world.tree.street_a
    actor = mech_world.users["street_staff"]
    first = services.mechanism_run(place=street, periods=["2024", "2025"], resamples=200, actor=actor)
    again = services.mechanism_run(place=street, periods=["2025", "2024", "2025"], resamples=200, actor=actor)
    assert again.pk == first.pk
    assert (
        MechanismResult.objects.count() == 1 and AuditEvent.objects.filter(target_type="mechanism_result").count() == 1
    )
    other_seed = services.mechanism_run(place=street, periods=["2024", "2025"], resamples=200, seed=1, actor=actor)
    assert other_seed.pk != first.pk
    assert other_seed.result["mediators"][0]["mediation"]["a"] == first.result["mediators"][0]["mediation"]["a"]
    # New data (a recomputation) is a new panel: running again stores a new result.
    IndicatorSnapshot.objects.filter(place=mech_world.street_a[0], period="2025", indicator="E1").update(value=42.0)
    changed = services.mechanism_run(place=street, periods=["2024", "2025"], resamples=200, seed=1, actor=actor)
    assert changed.pk != other_seed.pk and changed.config["panel_sha256"] != other_seed.config["panel_sha256"]
    assert MechanismResult.objects.count() == 3


def test_same_data_same_result_byte_for_byte(mech_world):
    street = mech_world.tree.street_a
    first = services.mechanism_run(place=street, periods=["2024", "2025"], resamples=300, actor=None)
    first_json = json.dumps(first.result, sort_keys=True)
    MechanismResult.objects.all().delete()
    second = services.mechanism_run(place=street, periods=["2024", "2025"], resamples=300, actor=None)
    assert second.pk != first.pk and json.dumps(second.result, sort_keys=True) == first_json


def test_satisfaction_outcome(mech_world):
    street = mech_world.tree.street_a
    stored = services.mechanism_run(
        place=street, periods=["2024", "2025"], outcome="S_SATISFACTION", resamples=200, actor=None
    )
    assert stored.config["outcome"] == "S_SATISFACTION" and stored.result["y"] == "S_SATISFACTION"
    composite = stored.result["mediators"][3]["mediation"]
    # Satisfaction was planted as 1 + composite/25 (+ noise), i.e. 0–100 scale ≈ composite: b ≈ 1.
    assert composite["b"]["coef"] == pytest.approx(1.0, abs=0.3)


def test_nulls_are_dropped_and_counted(mech_world):
    street = mech_world.tree.street_a
    IndicatorSnapshot.objects.filter(place=mech_world.street_a[3], period="2024", indicator="DIM_II").update(score=None)
    IndicatorSnapshot.objects.filter(place=mech_world.street_a[4], period="2025", indicator="DIM_II").delete()
    stored = services.mechanism_run(place=street, periods=["2024", "2025"], resamples=200, actor=None)
    by_m = {item["mediator"]: item for item in stored.result["mediators"]}
    assert by_m["DIM_II"]["mediation"]["dropped_rows"] == 2 and by_m["DIM_II"]["mediation"]["n_rows"] == 22
    assert by_m["DIM_I"]["mediation"]["dropped_rows"] == 0


def _refused(place, field: str, text: str, **kwargs):
    before = (MechanismResult.objects.count(), AuditEvent.objects.count())
    with pytest.raises(DomainError) as exc:
        services.mechanism_run(place=place, actor=None, **{"periods": ["2024", "2025"], **kwargs})
    assert field in exc.value.fields, exc.value.fields
    assert text in exc.value.fields[field][0], exc.value.fields
    assert (MechanismResult.objects.count(), AuditEvent.objects.count()) == before
    return exc.value


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"periods": ["2025"]}, "periods", "至少选择 2 个时期"),
        ({"periods": []}, "periods", "至少选择 2 个时期"),
        ({"periods": "2024,2025"}, "periods", "请选择时期"),
        ({"periods": ["2024", "2019"]}, "periods", "没有测评结果：2019"),
        ({"periods": ["2024", "20x5"]}, "periods", "时期格式"),
        ({"outcome": "G2"}, "outcome", "G1 或满意度"),
        ({"resamples": 10}, "resamples", "100 到 10000"),
        ({"resamples": "2000"}, "resamples", "整数"),
        ({"seed": -1}, "seed", "0 到"),
    ],
)
def test_bad_input_changes_nothing(mech_world, kwargs, field, text):
    _refused(mech_world.tree.street_a, field, text, **kwargs)


def test_fewer_than_five_communities_is_refused(mech_world):
    error = _refused(mech_world.tree.street_b, "periods", "只有 2 个，至少需要 5 个")
    assert "只有 2 个" in error.message


def test_a_community_without_data_does_not_count(mech_world):
    # Six communities under a new street, but three lack G1: three usable.
    street = mech_world.tree.street_a
    codes = mech_world.street_a
    IndicatorSnapshot.objects.filter(place__in=codes[:9], indicator="G1").delete()
    _refused(street, "periods", "只有 3 个")


def test_satisfaction_without_survey_rows_is_refused(mech_world):
    IndicatorSnapshot.objects.filter(indicator="S_SATISFACTION").delete()
    _refused(mech_world.tree.street_a, "periods", "治理满意度", outcome="S_SATISFACTION")


def test_years_and_quarters_are_not_mixed(mech_world):
    plant(mech_world.street_a, ("2025Q1",), seed=3)
    _refused(mech_world.tree.street_a, "periods", "同为年度或同为季度", periods=["2024", "2025Q1"])


def test_one_period_with_data_is_refused(mech_world):
    IndicatorSnapshot.objects.filter(period="2024", indicator="G1").delete()  # 2024 has E1 but no outcome
    _refused(mech_world.tree.street_a, "periods", "只有 1 个有数据")


def test_not_estimable_mediators_are_stored_as_such(mech_world):
    # DIM_III the same everywhere: no variation, reported, not a crash.
    IndicatorSnapshot.objects.filter(indicator="DIM_III").update(score=50.0)
    stored = services.mechanism_run(place=mech_world.tree.street_a, periods=["2024", "2025"], resamples=200, actor=None)
    dim3 = stored.result["mediators"][2]
    assert dim3["mediator"] == "DIM_III"
    assert dim3["mediation"] == {**dim3["mediation"], "estimable": False, "reason": "constant_m"}
    assert dim3["fixed_effects"]["estimable"] is False


def test_a_few_hundred_rows_and_2000_resamples_run_in_the_request(tree, capsys):
    """150 communities × 3 periods (450 rows), four mediators, 2,000 resamples each: well under a few seconds once
    the libraries are loaded (the first run in a process also imports statsmodels and linearmodels)."""
    import time

    from .conftest import community_codes

    communities = community_codes(tree.street_a, 150)
    plant(communities, ("2023", "2024", "2025"), seed=8)
    services.mechanism_run(place=tree.street_a, periods=["2024", "2025"], resamples=100, actor=None)  # warm
    started = time.perf_counter()
    stored = services.mechanism_run(place=tree.street_a, periods=["2023", "2024", "2025"], actor=None)
    elapsed = time.perf_counter() - started
    assert stored.result["panel"] == {"rows": 450, "communities": 150, "periods": ["2023", "2024", "2025"]}
    assert all(m["mediation"]["indirect"]["resamples_valid"] == 2000 for m in stored.result["mediators"])
    with capsys.disabled():
        print(f"\nmechanism_run, 450 rows, 4 mediators x 2000 resamples: {elapsed:.2f}s")
    assert elapsed < 3.0
