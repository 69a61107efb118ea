"""``EngineInput``: the frames the engine reads. Column names and dtypes here are the contract between the extractor
(``gongzhi.analytics.extract``, from the database), tests (hand-made tiny frames) and the formulas.

Ids are strings (UUIDs or refs as text). Dates are ``pl.Date`` in Asia/Shanghai (an activity's or issue action's
time is turned into its local date by the extractor; periods are whole days, so "in p" is a date test).

The extractor passes the rows the formulas need for the period and the one before it (I2 retention); formulas must
still filter by date themselves, so that a frame holding more rows gives the same result.

``missing`` names the sources that are absent (an interchange folder without the file, or a database where that
table has no row at all): every indicator fed only by missing sources is null, not 0 (METHOD.md: "Any of the files
may be absent; what they would feed is then null").
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import polars as pl

SCHEMAS: dict[str, dict[str, pl.DataType | type[pl.DataType]]] = {
    # the communities to compute (the comparison set): one row each
    "communities": {"community_code": pl.Utf8},
    # population table (population.csv / places.Population)
    "population": {"community_code": pl.Utf8, "year": pl.Int32, "population": pl.Int64},
    "residents": {
        "resident_id": pl.Utf8,
        "community_code": pl.Utf8,
        "household": pl.Utf8,  # "local" | "new_citizen"
        "registered_on": pl.Date,
        "left_on": pl.Date,  # null: still here
    },
    "activities": {
        "activity_id": pl.Utf8,
        "place_code": pl.Utf8,  # a community or a street
        "kind": pl.Utf8,  # course_session, learning_meeting, deliberation_meeting, volunteer_event, org_event
        "starts_on": pl.Date,  # local date of the start time
        "organization_id": pl.Utf8,  # null: organised by staff
    },
    # present attendances only (one per resident and activity); hours null or > 0
    "attendance": {"activity_id": pl.Utf8, "resident_id": pl.Utf8, "hours": pl.Float64},
    "organizations": {
        "organization_id": pl.Utf8,
        "place_code": pl.Utf8,
        "kind": pl.Utf8,  # social_org, learning_community, volunteer_team, studio
        "stage": pl.Utf8,  # current stage: grassroots, incubating, professional, self_governing
        "founded_on": pl.Date,  # null: unknown (counts as founded)
        "dissolved_on": pl.Date,  # null: not dissolved
    },
    "stage_changes": {
        "organization_id": pl.Utf8,
        "changed_on": pl.Date,
        "from_stage": pl.Utf8,  # may be null/empty for the first stage
        "to_stage": pl.Utf8,
    },
    "memberships": {
        "organization_id": pl.Utf8,
        "resident_id": pl.Utf8,
        "joined_on": pl.Date,
        "left_on": pl.Date,
    },
    "issues": {
        "issue_id": pl.Utf8,
        "community_code": pl.Utf8,
        "status": pl.Utf8,
        "raised_on": pl.Date,
        "discussed_on": pl.Date,
        "decided_on": pl.Date,
        "implemented_on": pl.Date,
        "closed_on": pl.Date,
    },
    # raise, comment, propose, vote: any action counts
    "issue_actions": {"issue_id": pl.Utf8, "resident_id": pl.Utf8, "on": pl.Date},
    "needs": {
        "need_id": pl.Utf8,
        "community_code": pl.Utf8,
        "raised_on": pl.Date,
        "status": pl.Utf8,  # open, matched, fulfilled, cancelled
        "fulfilled_on": pl.Date,
        "resource_id": pl.Utf8,
    },
    "resources": {"resource_id": pl.Utf8, "provider_id": pl.Utf8, "kind": pl.Utf8},
    "activity_resources": {"activity_id": pl.Utf8, "resource_id": pl.Utf8},
    "survey_answers": {
        "resident_id": pl.Utf8,
        "community_code": pl.Utf8,
        "answered_on": pl.Date,
        "item": pl.Utf8,
        "value": pl.Int8,
    },
}

SOURCES: tuple[str, ...] = tuple(SCHEMAS)


def empty(name: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS[name])


def frame(name: str, rows: list[dict] | list[tuple] | None = None) -> pl.DataFrame:
    """A frame of the named source from rows (dicts, or tuples in column order), cast to the contract's dtypes.
    Dates may be given as ``datetime.date`` or ISO strings."""
    schema = SCHEMAS[name]
    if not rows:
        return empty(name)
    if isinstance(rows[0], dict):
        data = pl.DataFrame(rows, schema={k: pl.Utf8 if v == pl.Date else v for k, v in schema.items()}, strict=False)
    else:
        data = pl.DataFrame(
            rows, schema={k: pl.Utf8 if v == pl.Date else v for k, v in schema.items()}, orient="row", strict=False
        )
    return data.with_columns(
        [pl.col(k).cast(pl.Utf8).str.to_date("%Y-%m-%d") for k, v in schema.items() if v == pl.Date]
    ).select(list(schema))


@dataclass
class EngineInput:
    communities: pl.DataFrame = field(default_factory=lambda: empty("communities"))
    population: pl.DataFrame = field(default_factory=lambda: empty("population"))
    residents: pl.DataFrame = field(default_factory=lambda: empty("residents"))
    activities: pl.DataFrame = field(default_factory=lambda: empty("activities"))
    attendance: pl.DataFrame = field(default_factory=lambda: empty("attendance"))
    organizations: pl.DataFrame = field(default_factory=lambda: empty("organizations"))
    stage_changes: pl.DataFrame = field(default_factory=lambda: empty("stage_changes"))
    memberships: pl.DataFrame = field(default_factory=lambda: empty("memberships"))
    issues: pl.DataFrame = field(default_factory=lambda: empty("issues"))
    issue_actions: pl.DataFrame = field(default_factory=lambda: empty("issue_actions"))
    needs: pl.DataFrame = field(default_factory=lambda: empty("needs"))
    resources: pl.DataFrame = field(default_factory=lambda: empty("resources"))
    activity_resources: pl.DataFrame = field(default_factory=lambda: empty("activity_resources"))
    survey_answers: pl.DataFrame = field(default_factory=lambda: empty("survey_answers"))
    missing: frozenset[str] = frozenset()

    def check(self) -> None:
        """Raise ``ValueError`` when a frame lacks a contract column (extra columns are allowed)."""
        for f in fields(self):
            if f.name == "missing":
                continue
            data = getattr(self, f.name)
            absent = [c for c in SCHEMAS[f.name] if c not in data.columns]
            if absent:
                raise ValueError(f"{f.name} lacks columns {absent}")
