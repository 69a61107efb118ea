"""The extractor: the database → ``EngineInput`` (``engine.frames``) for one period and the communities under a scope.

A fixed number of set-based queries (one per frame, plus one for the empty tables), whatever the number of
communities or rows: nothing is read per community or per row. Rows cover the period ``p`` and the one before it
(I2 retention reads ``p-1``); the engine still filters by date itself.

What is read, and why (METHOD.md):

- **communities**: the places of level ``community`` under the scope (all communities when the scope is empty).
- **population**, **residents**: of those communities (N(c,p) falls back to counting residents).
- **attendance**: present attendances only, at activities starting in ``[start(p-1), end(p))`` — every present
  attendance of every activity that at least one resident of the scope attended. What residents of c do counts
  wherever it happens (a street's centralised course), and the co-participation graph leaves out activities with more
  than ``graph_limit`` present residents *of any community*, so the other communities' attendances of those activities
  are needed to count them (they are not nodes: their residents are not in ``residents``).
- **activities**: in the same window, held in the scope (II5, III2, III4, E1), organised by an organisation read
  below (active organisations), or attended by a resident of the scope.
- **organizations**: of the scope (II1, II2, E2), and those any resident of the scope is a member of (II3 counts
  memberships in an organisation active in p wherever it belongs); **stage_changes** and **memberships** of those.
- **issues**, **needs**: of the scope, raised before the end of p; **issue_actions**: of residents of the scope in the
  window; **resources**: those used by the activities held in the scope or fulfilling its needs;
  **activity_resources**: the resource uses of the activities held in the scope; **survey_answers**: of the scope.
- **missing**: the sources whose table has no row at all (one query): the engine then reports what they feed as null.
  Resource uses (``activity_resources``) are missing when the activities or the resources are.

Activity and issue-action times become local dates (Asia/Shanghai, METHOD.md) in Polars, vectorised.

How (at district scale this is most of a computation's time, see docs/scale.md): on PostgreSQL the large frames are
read with ``COPY (…) TO STDOUT`` as CSV that Polars parses in chunks (no Python object per row), and outside a
transaction the attendance statement — the longest by far — runs on a second connection while this one reads the
rest. ``extract(coded=True)`` returns the ids as integer codes (``engine.keys``), coding the other frames while the
attendance still arrives.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast
from zoneinfo import ZoneInfo

import polars as pl
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model, Q

from gongzhi.activities.models import Activity, Attendance, AttendanceStatus
from gongzhi.analytics.models import SurveyAnswer
from gongzhi.deliberation.models import Issue, IssueAction
from gongzhi.organizations.models import Membership, Organization, StageChange
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.models import Place, Population
from gongzhi.resources.models import Need, Resource

from .engine import keys
from .engine.frames import SCHEMAS, EngineInput
from .engine.periods import Period

LOCAL_TZ = "Asia/Shanghai"  # METHOD.md: periods are [start, end) in Asia/Shanghai

ActivityResource = Activity.resources.through

# The table behind each source, for ``missing`` (a source whose table holds no row at all).
SOURCE_TABLES: dict[str, type[Model]] = {
    "population": Population,
    "residents": Resident,
    "activities": Activity,
    "attendance": Attendance,
    "organizations": Organization,
    "stage_changes": StageChange,
    "memberships": Membership,
    "issues": Issue,
    "issue_actions": IssueAction,
    "needs": Need,
    "resources": Resource,
    "survey_answers": SurveyAnswer,
}
# Resource uses are a column of activities.csv, not a file of their own: they are missing when the activities or the
# resources are (an activity table without a single resource use is "no activity used a resource", not "no data").
DERIVED_MISSING: dict[str, tuple[str, ...]] = {"activity_resources": ("activities", "resources")}


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=ZoneInfo(LOCAL_TZ))


def _prefix_q(field: str, prefix: str) -> Q:
    return Q(**{f"{field}__startswith": prefix}) if prefix else Q()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _frame(
    name: str,
    rows: Sequence[Sequence[Any]],
    convert: Mapping[str, Callable[[Any], Any]] | None = None,
    moments: Iterable[str] = (),
) -> pl.DataFrame:
    """A contract frame from ``values_list`` rows (in the schema's column order). ``convert`` turns ids (UUIDs) into
    text and decimals into floats; ``moments`` are aware datetimes to turn into local dates (vectorised)."""
    schema = SCHEMAS[name]
    columns = list(schema)
    convert = convert or {}
    moments = set(moments)
    data: dict[str, pl.Series] = {}
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    for column, values in zip(columns, transposed, strict=True):
        fn = convert.get(column)
        items = [fn(v) for v in values] if fn is not None else list(values)
        if column in moments:
            series = pl.Series(column, items, dtype=pl.Datetime("us", "UTC"))
            data[column] = series.dt.convert_time_zone(LOCAL_TZ).dt.date()
        else:
            data[column] = pl.Series(column, items, dtype=schema[column], strict=False)
    return pl.DataFrame(data).select([pl.col(c).cast(schema[c]) for c in columns])


CHUNK_BYTES = 32 * 1024 * 1024  # CSV text parsed at a time by the PostgreSQL path of ``_read``


def _read(
    name: str,
    queryset: Any,
    convert: Mapping[str, Callable[[Any], Any]] | None = None,
    moments: Iterable[str] = (),
) -> pl.DataFrame:
    """The contract frame of a ``values_list`` queryset (columns in the schema's order). ``convert`` must only hold
    ``_text`` (ids) and ``_number`` (decimals) for the PostgreSQL path.

    On PostgreSQL the statement runs as ``COPY (…) TO STDOUT`` in CSV and Polars parses the text in chunks of
    ``CHUNK_BYTES``: no Python object per row or value (psycopg would otherwise build a tuple per row and a
    ``uuid.UUID``, ``Decimal`` or ``datetime`` per value), memory bounded by the frame itself."""
    if connection.vendor != "postgresql":
        return _frame(name, list(queryset), convert, moments)
    sql, params = queryset.query.sql_with_params()
    return _copy_frame(name, sql, params, frozenset(moments))


def _copy_frame(name: str, sql: str, params: Sequence[Any], moments: frozenset[str]) -> pl.DataFrame:
    """Rows of ``sql`` (columns in ``SCHEMAS[name]`` order) read with ``COPY … TO STDOUT (FORMAT csv)``."""
    schema = SCHEMAS[name]
    columns = list(schema)
    # dates and times arrive as ISO text (DateStyle ISO; Django's PostgreSQL sessions are in UTC) and are parsed
    # strictly: anything else is an error, not a silent null
    text = {c for c in columns if c in moments or schema[c] == pl.Date}
    read_schema = {c: (pl.Utf8 if c in text else schema[c]) for c in columns}

    def parse(data: bytes) -> pl.DataFrame:
        chunk = pl.read_csv(data, has_header=False, new_columns=columns, schema=read_schema)
        return chunk.with_columns(
            [
                pl.col(c)
                .str.to_datetime("%Y-%m-%d %H:%M:%S%.f%#z", time_zone="UTC", strict=True)
                .dt.convert_time_zone(LOCAL_TZ)
                .dt.date()
                if c in moments
                else pl.col(c).str.to_date("%Y-%m-%d", strict=True)
                for c in text
            ]
        )

    parts: list[pl.DataFrame] = []
    buffer = bytearray()
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
        for row in copy:
            buffer += row
            if len(buffer) >= CHUNK_BYTES:
                parts.append(parse(bytes(buffer)))
                buffer.clear()
    if buffer:
        parts.append(parse(bytes(buffer)))
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts, how="vertical").select([pl.col(c).cast(schema[c]) for c in columns])


def _started(read: Callable[[], pl.DataFrame]) -> Callable[[], pl.DataFrame]:
    """Start ``read`` and return a function that waits for its frame. On PostgreSQL outside a transaction it runs in
    a thread, on that thread's own connection (closed when done), while the caller goes on with this connection;
    inside a transaction a second connection would not see the transaction's rows, so ``read`` runs here and now."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        frame = read()
        return lambda: frame

    def in_own_connection() -> pl.DataFrame:
        try:
            return read()
        finally:
            connections[DEFAULT_DB_ALIAS].close()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gongzhi-extract")
    future = pool.submit(in_own_connection)
    pool.shutdown(wait=False)

    def wait() -> pl.DataFrame:
        return future.result()

    return wait


def _missing() -> frozenset[str]:
    """The sources whose table has no row at all, in one query (portable: ``EXISTS`` as a selected value)."""
    names = list(SOURCE_TABLES)
    quote = connection.ops.quote_name
    sql = "SELECT " + ", ".join(
        f"CASE WHEN EXISTS (SELECT 1 FROM {quote(SOURCE_TABLES[n]._meta.db_table)}) THEN 1 ELSE 0 END" for n in names
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        found = cursor.fetchone()
    missing = {n for n, flag in zip(names, found, strict=True) if not flag}
    missing.update(name for name, sources in DERIVED_MISSING.items() if missing & set(sources))
    return frozenset(missing)


def scope_prefix(scope_code: str) -> str:
    return codes.prefix_of(scope_code) if scope_code else ""


def extract(*, period: Period, scope_code: str = "", coded: bool = False) -> EngineInput:
    """The engine's input for ``period`` over the communities under ``scope_code`` (every community when empty).
    ``coded``: with ids as integer codes, exactly as ``keys.encode_ids`` codes them (what the pipeline computes on)."""
    prefix = scope_prefix(scope_code)
    previous = period.previous()
    window_start, window_end = _local_midnight(previous.start), _local_midnight(period.end)
    in_window = Q(starts_at__gte=window_start, starts_at__lt=window_end)

    ids = {"resident_id": _text, "activity_id": _text, "organization_id": _text, "issue_id": _text}
    # Activities in the window that a resident of the scope attended (present) — as a subquery.
    attended: Any  # a subquery of activity ids
    if prefix:
        attended = Attendance.objects.filter(
            status=AttendanceStatus.PRESENT,
            resident__community__code__startswith=prefix,
            activity__starts_at__gte=window_start,
            activity__starts_at__lt=window_end,
        ).values("activity_id")
    else:
        attended = Activity.objects.filter(in_window).values("id")
    attendance_qs = (
        Attendance.objects.filter(status=AttendanceStatus.PRESENT, activity_id__in=attended)
        .order_by()
        .values_list("activity_id", "resident_id", "hours")
    )
    # The attendance statement is most of the reading (PostgreSQL spends most of it joining before the first row):
    # outside a transaction it runs on a second connection while this one reads the other frames.
    attendance_later = _started(lambda: _read("attendance", attendance_qs, {**ids, "hours": _number}))

    communities = list(
        Place.objects.filter(_prefix_q("code", prefix), level="community").order_by("code").values_list("code")
    )
    population = list(
        Population.objects.filter(
            _prefix_q("place__code", prefix), place__level="community", year__in=(previous.year, period.year)
        )
        .order_by("place_id", "year")
        .values_list("place_id", "year", "population")
    )
    residents_qs = Resident.objects.filter(_prefix_q("community__code", prefix))
    residents = _read(
        "residents",
        residents_qs.order_by("community_id", "ref").values_list(
            "id", "community_id", "household", "registered_on", "left_on"
        ),
        ids,
    )

    member_of = Membership.objects.filter(_prefix_q("resident__community__code", prefix)).values("organization_id")
    organizations_qs = Organization.objects.filter(Q(_prefix_q("place__code", prefix)) | Q(id__in=member_of))
    if not prefix:
        organizations_qs = Organization.objects.all()
    organizations = list(
        organizations_qs.order_by("id").values_list("id", "place_id", "kind", "stage", "founded_on", "dissolved_on")
    )
    stage_changes = list(
        StageChange.objects.filter(organization_id__in=organizations_qs.values("id"))
        .order_by("organization_id", "changed_on", "created_at")
        .values_list("organization_id", "changed_on", "from_stage", "to_stage")
    )
    memberships = _read(
        "memberships",
        Membership.objects.filter(
            _prefix_q("resident__community__code", prefix),
            Q(left_on__isnull=True) | Q(left_on__gte=previous.start),
            joined_on__lt=period.end,
        )
        .order_by("organization_id", "resident_id", "joined_on")
        .values_list("organization_id", "resident_id", "joined_on", "left_on"),
        ids,
    )

    activities_qs = Activity.objects.filter(in_window)
    if prefix:
        activities_qs = activities_qs.filter(
            Q(place__code__startswith=prefix)
            | Q(organization_id__in=organizations_qs.values("id"))
            | Q(id__in=attended)
        )
    activities = _read(
        "activities",
        activities_qs.order_by("id").values_list("id", "place_id", "kind", "starts_at", "organization_id"),
        ids,
        moments=("starts_on",),
    )
    held = Activity.objects.filter(in_window, _prefix_q("place__code", prefix))
    activity_resources = _read(
        "activity_resources",
        ActivityResource.objects.filter(activity_id__in=held.values("id"))
        .order_by("activity_id", "resource_id")
        .values_list("activity_id", "resource_id"),
        {**ids, "resource_id": _text},
    )

    issues = list(
        Issue.objects.filter(_prefix_q("community__code", prefix), raised_on__lt=period.end)
        .order_by("id")
        .values_list(
            "id", "community_id", "status", "raised_on", "discussed_on", "decided_on", "implemented_on", "closed_on"
        )
    )
    issue_actions = _read(
        "issue_actions",
        IssueAction.objects.filter(
            _prefix_q("resident__community__code", prefix), at__gte=window_start, at__lt=window_end
        )
        .order_by("issue_id", "resident_id", "at")
        .values_list("issue_id", "resident_id", "at"),
        ids,
        moments=("on",),
    )
    needs_qs = Need.objects.filter(_prefix_q("community__code", prefix), raised_on__lt=period.end)
    needs = list(
        needs_qs.order_by("id").values_list("id", "community_id", "raised_on", "status", "fulfilled_on", "resource_id")
    )
    resources = list(
        Resource.objects.filter(
            Q(id__in=ActivityResource.objects.filter(activity_id__in=held.values("id")).values("resource_id"))
            | Q(id__in=needs_qs.filter(resource_id__isnull=False).values("resource_id"))
        )
        .order_by("id")
        .values_list("id", "provider_id", "kind")
    )
    survey_answers = _read(
        "survey_answers",
        SurveyAnswer.objects.filter(
            _prefix_q("community__code", prefix), answered_on__gte=previous.start, answered_on__lt=period.end
        )
        .order_by("community_id", "resident_id", "answered_on", "item")
        .values_list("resident_id", "community_id", "answered_on", "item", "value"),
        ids,
    )

    frames = {
        "communities": _frame("communities", communities),
        "population": _frame("population", population),
        "residents": residents,
        "activities": activities,
        "organizations": _frame("organizations", organizations, ids),
        "stage_changes": _frame("stage_changes", stage_changes, {**ids, "from_stage": lambda s: s or None}),
        "memberships": memberships,
        "issues": _frame("issues", issues, ids),
        "issue_actions": issue_actions,
        "needs": _frame("needs", needs, {"need_id": _text, "resource_id": _text}),
        "resources": _frame("resources", resources, {"resource_id": _text, "provider_id": _text}),
        "activity_resources": activity_resources,
        "survey_answers": survey_answers,
    }
    missing = _missing()
    if not coded:
        data = EngineInput(**frames, attendance=attendance_later(), missing=missing)
        data.check()
        return data
    # Coded ids (``keys``): the residents, activities … read above hold every id the other frames name (checked,
    # frame by frame), so they are coded now — while the attendance may still be arriving — and the attendance
    # then needs one join per id column. Should a frame name an id they lack, everything is coded the general way.
    codings = keys.primary_codings(frames)
    early = {name: keys.encode_frame(frame, codings) for name, frame in frames.items()}
    attendance = attendance_later()
    coded_attendance = keys.encode_frame(attendance, codings)
    text = EngineInput(**frames, attendance=attendance, missing=missing)
    text.check()
    if coded_attendance is None or any(frame is None for frame in early.values()):
        return keys.encode_ids(text)
    return EngineInput(**cast(dict[str, pl.DataFrame], early), attendance=coded_attendance, missing=missing)
