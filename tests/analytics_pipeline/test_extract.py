"""The extractor: a constant number of queries whatever the number of communities; the frames' contract (columns,
dtypes, ids as text, local dates); the rows a scope needs — including other communities' attendance of the
activities its residents attended (the graph limit counts every present resident); ``missing`` sources."""

from __future__ import annotations

import datetime

import polars as pl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.activities.models import Activity, Attendance
from gongzhi.analytics.engine.frames import SCHEMAS
from gongzhi.analytics.engine.periods import Period
from gongzhi.analytics.extract import extract
from gongzhi.places.models import Place
from tests import factories
from tests.analytics_support import write_world_files

pytestmark = pytest.mark.django_db
P2025 = Period.parse("2025")


def _import_world(tree, tmp_path):
    from gongzhi.interchange.importer import import_data

    write_world_files(tmp_path, tree)
    import_data(tmp_path)


def _queries(**kwargs) -> int:
    with CaptureQueriesContext(connection) as ctx:
        extract(**kwargs)
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_depend_on_the_communities(tree, tmp_path):
    _import_world(tree, tmp_path)
    base_all = _queries(period=P2025)
    base_street = _queries(period=P2025, scope_code=tree.street_a.code)
    # Ten more communities with residents and activities under street A.
    for i in range(3, 13):
        comm = factories.place_chain(f"330102001{i:03d}")
        people = [factories.resident(comm, name=f"居民{i}{k}", ref=f"x-{i}-{k}") for k in range(3)]
        activity = Activity.objects.create(
            ref=f"x-act-{i}",
            place=comm,
            kind="course_session",
            title="课",
            starts_at=datetime.datetime(2025, 5, 1, 19, tzinfo=datetime.UTC),
        )
        Attendance.objects.bulk_create(
            [Attendance(activity=activity, resident=r, status="present", source="roster") for r in people]
        )
    assert Place.objects.filter(level="community").count() == 14
    assert _queries(period=P2025) == base_all
    assert _queries(period=P2025, scope_code=tree.street_a.code) == base_street
    assert base_all <= 16


def test_the_frames_keep_the_contract(tree, tmp_path):
    _import_world(tree, tmp_path)
    data = extract(period=P2025)
    data.check()
    for name, schema in SCHEMAS.items():
        frame = getattr(data, name)
        assert dict(zip(frame.columns, frame.dtypes, strict=True)) == {k: v for k, v in schema.items()}, name
    assert data.communities["community_code"].to_list() == sorted(
        [tree.comm_a1.code, tree.comm_a2.code, tree.comm_b1.code, tree.other_comm.code]
    )
    assert data.missing == frozenset({"stage_changes"})  # imports record no stage history
    assert data.attendance.height > 0 and data.residents["resident_id"].dtype == pl.Utf8
    # Only present attendances, and the window is p−1 and p: 2024 and 2025 dates only.
    days = data.activities["starts_on"].to_list()
    assert min(days) >= datetime.date(2024, 1, 1) and max(days) < datetime.date(2026, 1, 1)


def test_local_dates_at_the_year_boundary(tree):
    """A start time is turned into its Asia/Shanghai date: 2024-12-31T17:00Z is 2025-01-01 locally; a time one
    minute before local midnight stays in 2024, one after the window's end is left out."""
    r = factories.resident(tree.comm_a1, ref="tz-r")
    times = {
        "tz-new-year": datetime.datetime(2024, 12, 31, 17, 0, tzinfo=datetime.UTC),  # 2025-01-01 01:00 local
        "tz-eve": datetime.datetime(2024, 12, 31, 15, 59, tzinfo=datetime.UTC),  # 2024-12-31 23:59 local
        "tz-after": datetime.datetime(2025, 12, 31, 16, 0, tzinfo=datetime.UTC),  # 2026-01-01 00:00 local
        "tz-first": datetime.datetime(2023, 12, 31, 16, 0, tzinfo=datetime.UTC),  # 2024-01-01 00:00 local
        "tz-before": datetime.datetime(2023, 12, 31, 15, 59, tzinfo=datetime.UTC),  # 2023-12-31 23:59 local
    }
    for ref, at in times.items():
        a = Activity.objects.create(ref=ref, place=tree.comm_a1, kind="course_session", title=ref, starts_at=at)
        Attendance.objects.create(activity=a, resident=r, status="present", source="roster")
    data = extract(period=P2025, scope_code=tree.comm_a1.code)
    by_id = dict(
        zip(
            data.activities["activity_id"].to_list(),
            data.activities["starts_on"].to_list(),
            strict=True,
        )
    )
    refs = dict(Activity.objects.values_list("ref", "id"))
    assert by_id[str(refs["tz-new-year"])] == datetime.date(2025, 1, 1)
    assert by_id[str(refs["tz-eve"])] == datetime.date(2024, 12, 31)
    assert by_id[str(refs["tz-first"])] == datetime.date(2024, 1, 1)
    assert str(refs["tz-after"]) not in by_id
    assert str(refs["tz-before"]) not in by_id


def test_a_scope_reads_other_communities_attendance_of_its_residents_activities(tree):
    """comm_a1's resident attends an activity in comm_b1 with two residents of comm_b1: computing comm_a1 alone
    still reads all three attendances (the graph limit counts them) but not comm_b1's residents or activities
    nobody of comm_a1 attended."""
    mine = factories.resident(tree.comm_a1, ref="s-a1")
    theirs = [factories.resident(tree.comm_b1, ref=f"s-b1-{k}") for k in range(2)]
    at = datetime.datetime(2025, 3, 1, 11, tzinfo=datetime.UTC)
    shared = Activity.objects.create(ref="s-shared", place=tree.comm_b1, kind="org_event", title="共", starts_at=at)
    elsewhere = Activity.objects.create(ref="s-else", place=tree.comm_b1, kind="org_event", title="别", starts_at=at)
    for r in [mine, *theirs]:
        Attendance.objects.create(activity=shared, resident=r, status="present", source="roster")
    Attendance.objects.create(activity=elsewhere, resident=theirs[0], status="present", source="roster")
    Attendance.objects.create(
        activity=shared, resident=factories.resident(tree.comm_b1, ref="s-abs"), status="absent", source="roster"
    )
    data = extract(period=P2025, scope_code=tree.comm_a1.code)
    assert set(data.activities["activity_id"].to_list()) == {str(shared.pk)}
    assert sorted(data.attendance["resident_id"].to_list()) == sorted(str(r.pk) for r in [mine, *theirs])
    assert data.residents["resident_id"].to_list() == [str(mine.pk)]
    assert data.communities["community_code"].to_list() == [tree.comm_a1.code]


def test_missing_sources_are_the_empty_tables(tree):
    data = extract(period=P2025)
    # Nothing but places: every source is missing (resource uses follow activities and resources).
    assert data.missing == frozenset(SCHEMAS) - {"communities"}
    factories.resident(tree.comm_a1, ref="m-r")
    Activity.objects.create(
        ref="m-a",
        place=tree.comm_a1,
        kind="course_session",
        title="课",
        starts_at=datetime.datetime(2025, 1, 5, tzinfo=datetime.UTC),
    )
    data = extract(period=P2025)
    assert "residents" not in data.missing and "activities" not in data.missing
    assert {"attendance", "resources", "activity_resources", "survey_answers"} <= data.missing


def _same_frames(left, right) -> None:
    from dataclasses import fields

    for f in fields(left):
        if f.name == "missing":
            assert left.missing == right.missing
        else:
            assert getattr(left, f.name).equals(getattr(right, f.name)), f.name


def test_the_coded_extract_is_the_extract_coded(tree, tmp_path):
    """``extract(coded=True)`` gives exactly ``keys.encode_ids(extract())`` — by one join per id column when the
    residents, activities … hold every id (a whole district), the general way when they do not (a scope whose
    residents met others)."""
    from gongzhi.analytics.engine.keys import encode_ids, is_encoded

    _import_world(tree, tmp_path)
    whole = extract(period=P2025, coded=True)
    assert is_encoded(whole) and whole.attendance.height > 0
    _same_frames(whole, encode_ids(extract(period=P2025)))
    mine = factories.resident(tree.comm_a1, ref="c-a1")
    other = factories.resident(tree.comm_b1, ref="c-b1")
    shared = Activity.objects.create(
        ref="c-shared",
        place=tree.comm_b1,
        kind="org_event",
        title="共",
        starts_at=datetime.datetime(2025, 3, 1, 11, tzinfo=datetime.UTC),
    )
    for r in (mine, other):
        Attendance.objects.create(activity=shared, resident=r, status="present", source="roster")
    scoped = extract(period=P2025, scope_code=tree.comm_a1.code, coded=True)
    _same_frames(scoped, encode_ids(extract(period=P2025, scope_code=tree.comm_a1.code)))
    assert scoped.attendance.height > scoped.attendance.join(scoped.residents, on="resident_id", how="semi").height


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the second connection is used on PostgreSQL only")
def test_outside_a_transaction_attendance_is_read_on_a_second_connection(tree, tmp_path):
    import threading

    from gongzhi.analytics import extract as extract_module
    from gongzhi.analytics.engine.keys import encode_ids

    _import_world(tree, tmp_path)
    threads: dict[str, str] = {}
    read = extract_module._copy_frame

    def recording(name, *args):
        threads[name] = threading.current_thread().name
        return read(name, *args)

    extract_module._copy_frame = recording
    try:
        concurrent = extract(period=P2025, coded=True)
        text = extract(period=P2025)
    finally:
        extract_module._copy_frame = read
    assert threads["attendance"].startswith("gongzhi-extract") and threads["residents"] == "MainThread"
    _same_frames(concurrent, encode_ids(text))
    assert text.attendance.height > 0
