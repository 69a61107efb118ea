"""Shared building blocks of the formulas (METHOD.md "Units"): the comparison set, population N(c,p), residents of c,
"in p", present attendances. Everything is set-based Polars; nothing loops over rows.

The frames of ``EngineInput`` may hold more rows than a period needs (the extractor passes the period and the one
before it); every function here filters by date itself, so extra rows never change a result.
"""

from __future__ import annotations

import datetime
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import polars as pl

from .frames import EngineInput
from .periods import Period

EDUCATION_KINDS: tuple[str, ...] = ("course_session", "learning_meeting")
DELIBERATION_MEETING = "deliberation_meeting"
VOLUNTEER_EVENT = "volunteer_event"
LEARNING_COMMUNITY = "learning_community"
MATURE_STAGES: tuple[str, ...] = ("professional", "self_governing")
RESOURCE_KINDS = 6  # venue, teacher, course, fund, volunteer_service, other

CODE = "community_code"

T = TypeVar("T")

# name -> (key, weak references to the frames the key names, value): at most one entry per name
_KEPT: dict[str, tuple[tuple[Any, ...], tuple[weakref.ref[pl.DataFrame], ...], Any]] = {}


def kept(name: str, frames: Sequence[pl.DataFrame], extra: tuple[Hashable, ...], build: Callable[[], T]) -> T:
    """``build()``, kept under ``name`` while ``frames`` live: the next call with the same frames (by identity) and
    the same ``extra`` returns the kept value. One entry per name; weak references make sure an identity is not a
    recycled one, and the entry goes as soon as one of its frames is freed. Frames are treated as immutable (the
    formulas never change a frame in place). Intermediate results several formulas share — the deduplicated
    attendance, the graphs — are built once per input this way."""
    key = (*(id(f) for f in frames), *extra)
    entry = _KEPT.get(name)
    if entry is not None:
        cached_key, refs, value = entry
        if cached_key == key and all(ref() is f for ref, f in zip(refs, frames, strict=True)):
            return value  # type: ignore[no-any-return]
    value = build()

    def gone(_ref: object) -> None:
        _KEPT.pop(name, None)

    _KEPT[name] = (key, tuple(weakref.ref(f, gone) for f in frames), value)
    return value


def forget(name: str | None = None) -> None:
    """Drop what ``kept`` holds under ``name`` (everything when None)."""
    if name is None:
        _KEPT.clear()
    else:
        _KEPT.pop(name, None)


def within(column: str, start: datetime.date, end: datetime.date) -> pl.Expr:
    """``start <= column < end`` (null dates are never in a period)."""
    return pl.col(column).is_between(start, end, closed="left").fill_null(False)


def communities(data: EngineInput) -> pl.DataFrame:
    """The comparison set: one row per distinct community code, sorted."""
    return data.communities.select(pl.col(CODE).cast(pl.Utf8)).drop_nulls().unique().sort(CODE)


def residents_of(data: EngineInput, comms: pl.DataFrame) -> pl.DataFrame:
    """Residents whose community is in the comparison set (METHOD: "the residents whose community is c"; the
    community is the resident's record, whatever the dates — what they did in p counts for it):
    ``resident_id, community_code, household``. One row per resident id (the first in sorted order if the frame
    repeats an id)."""
    return (
        data.residents.select("resident_id", CODE, "household")
        .drop_nulls("resident_id")
        .join(comms, on=CODE, how="semi")
        .sort("resident_id", CODE)
        .unique(subset="resident_id", keep="first", maintain_order=True)
    )


def population(data: EngineInput, comms: pl.DataFrame, period: Period) -> pl.DataFrame:
    """N(c,p): ``community_code, population`` (Float64, null when unknown), one row per community.

    The population table's row for (c, ``period.year``) when there is one with a value (the largest if the table
    repeats a row); otherwise the residents registered in c with ``registered_on < end`` and (``left_on`` empty or
    ``left_on >= end``) — a resident with no ``registered_on`` counts as registered. When the population table has no
    row for c and the residents source is missing, N is null."""
    end = period.end
    table = (
        data.population.filter((pl.col("year") == period.year) & pl.col("population").is_not_null())
        .group_by(CODE)
        .agg(pl.col("population").max().cast(pl.Float64).alias("table"))
    )
    counted = (
        data.residents.filter(
            (pl.col("registered_on").is_null() | (pl.col("registered_on") < end))
            & (pl.col("left_on").is_null() | (pl.col("left_on") >= end))
        )
        .group_by(CODE)
        .agg(pl.col("resident_id").n_unique().cast(pl.Float64).alias("counted"))
    )
    fallback = pl.col("counted").fill_null(0.0) if "residents" not in data.missing else pl.lit(None, pl.Float64)
    return (
        comms.join(table, on=CODE, how="left")
        .join(counted, on=CODE, how="left")
        .select(CODE, pl.coalesce(pl.col("table"), fallback).cast(pl.Float64).alias("population"))
    )


def activities_in(data: EngineInput, period: Period) -> pl.DataFrame:
    """Activities whose start date (Asia/Shanghai) is in p: ``activity_id, place_code, kind, organization_id``."""
    return (
        data.activities.filter(within("starts_on", period.start, period.end))
        .select("activity_id", "place_code", "kind", "organization_id")
        .unique(subset="activity_id", keep="first", maintain_order=True)
    )


def held_in(data: EngineInput, comms: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Activities held in a community of the set in p ("held in c": the activity's place is c):
    ``activity_id, community_code, kind, organization_id``."""
    return (
        activities_in(data, period)
        .rename({"place_code": CODE})
        .join(comms, on=CODE, how="semi")
        .select("activity_id", CODE, "kind", "organization_id")
    )


def attendance(data: EngineInput) -> pl.DataFrame:
    """Present attendances, one per (activity, resident) even if the frame repeats a pair (the largest hours kept):
    ``activity_id, resident_id, hours``. Built once per attendance frame (``kept``): I1–I5, II4 and the graphs all
    start from it."""
    return kept("attendance", (data.attendance,), (), lambda: _deduplicated(data.attendance))


def _deduplicated(frame: pl.DataFrame) -> pl.DataFrame:
    # A sort and a comparison with the next row instead of a group-by: the same rows (the last of each pair in
    # (activity, resident, hours nulls first) order carries the largest hours), 7× faster and a quarter of the
    # group-by's peak memory on millions of text ids.
    ordered = frame.drop_nulls(["activity_id", "resident_id"]).sort(
        "activity_id", "resident_id", "hours", nulls_last=False
    )
    repeated = (pl.col("activity_id") == pl.col("activity_id").shift(-1)) & (
        pl.col("resident_id") == pl.col("resident_id").shift(-1)
    )
    return ordered.filter(~repeated.fill_null(False)).select("activity_id", "resident_id", "hours")


def present(data: EngineInput, residents: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Present attendances of residents of the set at activities in p, wherever held:
    ``activity_id, resident_id, community_code, household, kind, hours``."""
    acts = activities_in(data, period).select("activity_id", "kind")
    return (
        attendance(data)
        .join(acts, on="activity_id", how="inner")
        .join(residents, on="resident_id", how="inner")
        .select("activity_id", "resident_id", CODE, "household", "kind", "hours")
    )


def active_organizations(data: EngineInput, period: Period) -> pl.DataFrame:
    """Organisations active in p (METHOD): founded before ``end`` (no founding date counts as founded), not dissolved
    before ``start``, and organiser of at least one activity in p (anywhere). Columns
    ``organization_id, place_code, kind, stage``."""
    start, end = period.start, period.end
    organisers = activities_in(data, period).select("organization_id").drop_nulls().unique()
    return (
        data.organizations.filter(
            (pl.col("founded_on").is_null() | (pl.col("founded_on") < end))
            & (pl.col("dissolved_on").is_null() | (pl.col("dissolved_on") >= start))
        )
        .join(organisers, on="organization_id", how="semi")
        .unique(subset="organization_id", keep="first", maintain_order=True)
        .select("organization_id", "place_code", "kind", "stage")
    )
