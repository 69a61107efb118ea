"""Pipeline services: settings versions (validation in Chinese by field, append-only, idempotent, audited), the
settings in force (nearest ancestor), computation requests (one live per period and scope, even under a race),
compute_now (snapshots for communities and rolled-up places, replaced on recompute, nothing on failure), background
runs, run_computations, and the recompute after imports."""

from __future__ import annotations

import datetime
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from gongzhi.analytics import jobs, services
from gongzhi.analytics.engine.config import MeasureConfig
from gongzhi.analytics.models import (
    Computation,
    DiagnosisSnapshot,
    GraphSnapshot,
    IndicatorSnapshot,
    MeasureSettings,
)
from gongzhi.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from gongzhi.core.models import AuditEvent
from gongzhi.people.models import Role
from tests import factories
from tests.analytics_support import measured_world, write_world_files

pytestmark = pytest.mark.django_db


# --- settings ----------------------------------------------------------------------------------------------------


def test_settings_versions_are_appended_audited_and_not_duplicated(tree):
    admin = factories.staff(Role.ADMIN, tree.district)
    first = services.measure_settings_change(
        place=tree.district, actor=admin, goalposts={"I1": [0, 0.4], "I2": [0, 0.8]}, threshold=55, note="首版"
    )
    # Only the goalposts that differ from METHOD.md's are stored.
    assert first.goalposts == {"I1": [0.0, 0.4]}
    assert first.created_by == admin
    again = services.measure_settings_change(
        place=tree.district, actor=admin, goalposts={"I1": [0, 0.4]}, threshold=55.0, note="首版"
    )
    assert again.pk == first.pk  # a double submit adds nothing
    second = services.measure_settings_change(place=tree.district, actor=admin, graph_limit=30)
    assert MeasureSettings.objects.filter(place=tree.district).count() == 2
    assert AuditEvent.objects.filter(target_type="measure_settings").count() == 2
    config, version = services.measure_config_for(place=tree.comm_a1)
    assert version == second and config.graph_limit == 30 and config.goalposts["I1"] == (0.0, 0.5)


def test_the_nearest_settings_apply(tree):
    services.measure_settings_change(place=tree.province, actor=None, threshold=50)
    services.measure_settings_change(place=tree.street_a, actor=None, threshold=70)
    assert services.measure_config_for(place=tree.comm_a1)[0].threshold == 70
    assert services.measure_config_for(place=tree.comm_b1)[0].threshold == 50
    assert services.measure_config_for(place=None)[0].threshold == 50  # every community: the root's
    assert services.measure_config_for(place=tree.other_comm)[0].threshold == 50
    MeasureSettings.objects.all().delete()
    assert services.measure_config_for(place=tree.comm_a1) == (MeasureConfig(), None)


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"goalposts": {"I1": [0.5, 0.5]}}, "goalposts.I1", "上限"),
        ({"goalposts": {"I1": ["a", 1]}}, "goalposts.I1", "数字"),
        ({"goalposts": {"III7": [0, 1]}}, "goalposts.III7", "不是计分指标"),
        ({"goalposts": {"I1": [0]}}, "goalposts.I1", "两个数"),
        ({"weighting": "magic"}, "weighting", "赋权方法"),
        ({"expert_weights": {"I1": -1}}, "expert_weights.I1", "不小于 0"),
        ({"weighting": "expert", "expert_weights": {"I1": 1, "II1": 1}}, "expert_weights", "维度 III"),
        ({"threshold": 120}, "threshold", "0 到 100"),
        ({"threshold": "nan"}, "threshold", "0 到 100"),
        ({"graph_limit": 1}, "graph_limit", "建网活动人数上限"),
        ({"graph_limit": "x"}, "graph_limit", "整数"),
        ({"note": "长" * 301}, "note", "300"),
    ],
)
def test_invalid_settings_are_refused_in_chinese_and_change_nothing(tree, kwargs, field, fragment):
    admin = factories.staff(Role.ADMIN, tree.district)
    with pytest.raises(DomainError) as caught:
        services.measure_settings_change(place=tree.district, actor=admin, **kwargs)
    assert fragment in " ".join(caught.value.fields[field])
    assert not MeasureSettings.objects.exists()
    assert not AuditEvent.objects.filter(target_type="measure_settings").exists()


def test_only_planners_change_settings(tree):
    worker = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    street = factories.staff(Role.STREET_STAFF, tree.street_a)
    with pytest.raises(PermissionDenied):
        services.measure_settings_change(place=tree.comm_a1, actor=worker, threshold=50)
    with pytest.raises(PermissionDenied):
        services.measure_settings_change(place=tree.street_b, actor=street, threshold=50)
    assert services.measure_settings_change(place=tree.comm_a1, actor=street, threshold=50).place == tree.comm_a1


# --- computations ------------------------------------------------------------------------------------------------


def test_a_double_request_creates_one_computation(tree):
    street = factories.staff(Role.STREET_STAFF, tree.street_a)
    with override_settings(ANALYTICS_INLINE=False):
        first = services.computation_request(period="2025", scope=tree.street_a, actor=street)
        second = services.computation_request(period="2025", scope=tree.street_a, actor=street)
    assert first.pk == second.pk
    assert Computation.objects.count() == 1
    assert first.status == "queued" and first.requested_by == street and first.config == MeasureConfig().to_json()
    # Another period or scope is another computation.
    with override_settings(ANALYTICS_INLINE=False):
        services.computation_request(period="2025Q1", scope=tree.street_a, actor=street)
        services.computation_request(period="2025", scope=tree.comm_a1, actor=street)
    assert Computation.objects.count() == 3


def test_a_racing_request_returns_the_live_one(tree, monkeypatch):
    """Two requests both see no live computation; the unique constraint lets one insert and the other gets it."""
    with override_settings(ANALYTICS_INLINE=False):
        winner = services.computation_request(period="2025", scope=tree.street_a)
        real_live = services._live
        calls = []

        def blind(period, scope):
            calls.append(period)
            return None if len(calls) == 1 else real_live(period, scope)

        monkeypatch.setattr(services, "_live", blind)
        loser = services.computation_request(period="2025", scope=tree.street_a)
    assert loser.pk == winner.pk and Computation.objects.count() == 1


def test_requests_check_the_period_and_the_permission(tree):
    worker = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    with pytest.raises(DomainError) as caught:
        services.computation_request(period="2025Q5", scope=tree.comm_a1)
    assert "2025Q1" in caught.value.fields["period"][0]
    with pytest.raises(PermissionDenied):
        services.computation_request(period="2025", scope=tree.comm_a1, actor=worker)
    with pytest.raises(PermissionDenied):  # every community: superusers only
        services.computation_request(period="2025", scope=None, actor=factories.staff(Role.ADMIN, tree.district))
    assert not Computation.objects.exists()


def test_compute_now_stores_communities_and_every_ancestor(tree):
    world = measured_world(tree)
    done = world.computations["2025"]
    assert done.status == "done" and done.communities == 4 and done.progress_done == done.progress_total == 7
    assert done.started_at and done.finished_at and "秒" in done.message
    places = set(IndicatorSnapshot.objects.filter(period="2025").values_list("place_id", flat=True))
    assert {tree.comm_a1.code, tree.street_a.code, tree.district.code, tree.city.code, tree.province.code} <= places
    assert tree.other_district.code in places
    # Every community has the exported ids, the extra counts and the four score rows.
    a1 = set(IndicatorSnapshot.objects.filter(period="2025", place=tree.comm_a1).values_list("indicator", flat=True))
    assert {"I1", "III7", "G2", "POP", "NODES", "EDGES", "DENSITY", "DIM_I", "COMPOSITE"} <= a1
    assert DiagnosisSnapshot.objects.filter(period="2025", place=tree.district).exists()
    graph = GraphSnapshot.objects.get(period="2025", place=tree.comm_a1)
    assert graph.nodes > 0 and set(graph.data) == {"nodes", "edges", "truncated"}
    assert not GraphSnapshot.objects.filter(place=tree.street_a).exists()  # graphs are of communities only


def test_recomputing_replaces_the_rows_of_the_covered_places(tree):
    world = measured_world(tree)
    before = IndicatorSnapshot.objects.filter(period="2025").count()
    street = services.compute_now(period="2025", scope_code=tree.street_a.code)
    rows = IndicatorSnapshot.objects.filter(period="2025")
    assert rows.count() == before
    # The street's computation replaced the rows of street A and its communities, not the district's.
    assert set(rows.filter(computation=street).values_list("place_id", flat=True)) == {
        tree.street_a.code,
        tree.comm_a1.code,
        tree.comm_a2.code,
    }
    assert rows.filter(place=tree.district, computation=world.computations["2025"]).exists()


def test_a_failure_marks_the_computation_failed_and_keeps_the_stored_results(tree, monkeypatch):
    world = measured_world(tree, periods=("2025",))
    before = list(IndicatorSnapshot.objects.order_by("id").values_list("id", "value"))
    from gongzhi.analytics.engine import scoring

    def broken(values, config):
        raise RuntimeError("引擎出错")

    monkeypatch.setattr(scoring, "score", broken)
    failed = services.compute_now(period="2025", scope_code="")
    assert failed.status == "failed" and "引擎出错" in failed.message and failed.finished_at
    assert list(IndicatorSnapshot.objects.order_by("id").values_list("id", "value")) == before
    assert not IndicatorSnapshot.objects.filter(computation=failed).exists()
    assert world.computations["2025"].indicator_rows.exists()


def test_compute_now_refuses_a_running_one_and_takes_over_a_queued_one(tree):
    with override_settings(ANALYTICS_INLINE=False):
        queued = services.computation_request(period="2025", scope=tree.comm_a1)
    steps: list[tuple[int, int, str]] = []
    done = services.compute_now(
        period="2025", scope_code=tree.comm_a1.code, progress=lambda d, t, label: steps.append((d, t, label))
    )
    assert done.pk == queued.pk and done.status == "done"
    assert steps[0][:2] == (0, 7) and steps[-1][:2] == (7, 7)
    Computation.objects.create(period="2024", scope_code=tree.comm_a1.code, status="running")
    with pytest.raises(Conflict):
        services.compute_now(period="2024", scope_code=tree.comm_a1.code)
    with pytest.raises(NotFound):
        services.compute_now(period="2024", scope_code="330102009009")


def test_run_computations_runs_queued_and_interrupted_ones(tree):
    with override_settings(ANALYTICS_INLINE=False):
        queued = services.computation_request(period="2025", scope=tree.comm_a1)
    stuck = Computation.objects.create(period="2024", scope_code=tree.comm_a2.code, status="running")
    fresh = Computation.objects.create(period="2023", scope_code=tree.comm_b1.code, status="running")
    Computation.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=2))
    out = StringIO()
    call_command("run_computations", stdout=out)
    statuses = dict(Computation.objects.values_list("pk", "status"))
    assert statuses[queued.pk] == "done" and statuses[stuck.pk] == "done"
    assert statuses[fresh.pk] == "running"  # still within its time: another process may be running it
    assert "完成 2 个" in out.getvalue()


# --- after imports -----------------------------------------------------------------------------------------------


def test_an_import_that_changes_data_recomputes_the_years_it_touches(tree, tmp_path):
    write_world_files(tmp_path, tree)
    out = StringIO()
    with override_settings(ANALYTICS_AUTO_COMPUTE=True):
        call_command("import_data", str(tmp_path), "--no-progress", stdout=out)
    done = sorted(Computation.objects.values_list("period", "scope_code", "status", "trigger"))
    # Activities, issues, actions and needs fall in 2024 and 2025; population.csv names 2024 and 2025 too.
    assert done == [("2024", "", "done", "import"), ("2025", "", "done", "import")]
    assert "重新计算指标：2024、2025" in out.getvalue()
    # The same files again: nothing changed, nothing recomputed.
    with override_settings(ANALYTICS_AUTO_COMPUTE=True):
        call_command("import_data", str(tmp_path), "--no-progress", stdout=StringIO())
    assert Computation.objects.count() == 2
    # A district with settings of its own gets its own recompute after the one over every community.
    services.measure_settings_change(place=tree.district, actor=None, threshold=50)
    (tmp_path / "residents.csv").write_text(
        (tmp_path / "residents.csv").read_text(encoding="utf-8").replace("1950", "1951", 1), encoding="utf-8"
    )
    keep = {n for n in ("residents.csv",)}
    for f in tmp_path.iterdir():
        if f.name not in keep:
            f.unlink()
    with override_settings(ANALYTICS_AUTO_COMPUTE=True):
        call_command("import_data", str(tmp_path), "--no-progress", "--compute-now", stdout=StringIO())
    latest = list(Computation.objects.order_by("created_at").values_list("period", "scope_code")[2:])
    # residents.csv changes every period already computed, in order: every community, then the district.
    assert latest == [("2024", ""), ("2024", tree.district.code), ("2025", ""), ("2025", tree.district.code)]


def test_no_compute_and_the_setting_turn_the_recompute_off(tree, tmp_path):
    write_world_files(tmp_path, tree)
    with override_settings(ANALYTICS_AUTO_COMPUTE=True):
        call_command("import_data", str(tmp_path), "--no-progress", "--no-compute", stdout=StringIO())
    assert not Computation.objects.exists()
    (tmp_path / "population.csv").write_text(
        f"community_code,year,population\n{tree.comm_a1.code},2023,900\n", encoding="utf-8"
    )
    with override_settings(ANALYTICS_AUTO_COMPUTE=False):
        call_command("import_data", str(tmp_path), "--no-progress", stdout=StringIO())
    assert not Computation.objects.exists()
    with override_settings(ANALYTICS_AUTO_COMPUTE=False):
        (tmp_path / "population.csv").write_text(
            f"community_code,year,population\n{tree.comm_a1.code},2023,901\n", encoding="utf-8"
        )
        call_command("import_data", str(tmp_path), "--no-progress", "--compute-now", stdout=StringIO())
    assert list(Computation.objects.values_list("period", "status")) == [("2023", "done")]


@pytest.mark.django_db(transaction=True)
def test_a_request_runs_in_a_background_thread_after_commit(tree):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:"):
        pytest.skip("an in-memory SQLite database is not shared with another thread")
    started = threading.Event()
    real = jobs._worker

    def watched(ids):
        started.set()
        real(ids)

    with override_settings(ANALYTICS_INLINE=False):
        jobs._worker = watched  # type: ignore[assignment]
        try:
            computation = services.computation_request(period="2025", scope=tree.comm_a1)
            assert started.wait(10)
            jobs.wait(30)
        finally:
            jobs._worker = real  # type: ignore[assignment]
    computation.refresh_from_db()
    assert computation.status == "done"
    assert IndicatorSnapshot.objects.filter(computation=computation).exists()
