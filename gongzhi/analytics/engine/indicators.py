"""The core indicators of METHOD.md, one small set-based function per formula, and ``compute_indicators``.

Every formula function takes a ``Context`` (the input, the period, the comparison set and shared intermediate frames)
and returns ``community_code, value, numerator, denominator`` with one row per community of the set. Conventions:

- a ratio carries its numerator and denominator; its value is null when the denominator is 0 or null (METHOD: "a
  ratio whose denominator is 0 is null");
- "per 1,000 population" indicators (II1, III1, E1, E2, G1) carry the count as numerator and N(c,p) as denominator,
  value = 1000 × numerator ÷ denominator;
- III2 (entropy) and G2 (median) are not ratios: numerator is null and denominator is the number of units the value
  rests on (resource uses, issues), for small-count suppression;
- counts (POP, NODES, EDGES) carry the value only.

"Residents of c" are the residents whose community (``residents.community_code``) is c; what they do counts wherever
it happens. "In p" is a date test on the local date. Sources named in ``EngineInput.missing`` make the indicators
that depend on them null (see ``REQUIRES``): an absent file is "no data", not 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import polars as pl

from . import spec
from .frames import EngineInput
from .graphs import start_graph_measures
from .periods import Period
from .prep import (
    CODE,
    DELIBERATION_MEETING,
    EDUCATION_KINDS,
    LEARNING_COMMUNITY,
    MATURE_STAGES,
    RESOURCE_KINDS,
    VOLUNTEER_EVENT,
    active_organizations,
    communities,
    held_in,
    population,
    present,
    residents_of,
    within,
)

OUTPUT_IDS: tuple[str, ...] = (*spec.EXPORT_IDS, *spec.EXTRA_IDS)
OUTPUT_SCHEMA: dict[str, type[pl.DataType]] = {
    CODE: pl.Utf8,
    "indicator": pl.Utf8,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}


@dataclass
class Context:
    data: EngineInput
    period: Period

    @cached_property
    def comms(self) -> pl.DataFrame:
        return communities(self.data)

    @cached_property
    def residents(self) -> pl.DataFrame:
        return residents_of(self.data, self.comms)

    @cached_property
    def pop(self) -> pl.DataFrame:
        """community_code, denominator (= N(c,p), null when unknown)."""
        return population(self.data, self.comms, self.period).rename({"population": "denominator"})

    @cached_property
    def present(self) -> pl.DataFrame:
        return present(self.data, self.residents, self.period)

    @cached_property
    def present_before(self) -> pl.DataFrame:
        return present(self.data, self.residents, self.period.previous())

    @cached_property
    def learners(self) -> pl.DataFrame:
        """Residents of c present at ≥1 education activity in p, with the number of such activities:
        ``resident_id, community_code, activities``."""
        return (
            self.present.filter(pl.col("kind").is_in(EDUCATION_KINDS))
            .group_by("resident_id", CODE)
            .agg(pl.col("activity_id").n_unique().alias("activities"))
        )

    @cached_property
    def deliberators(self) -> pl.DataFrame:
        """Deliberation participants of the set in p: an issue action dated in p (on any issue), or present at a
        deliberation meeting in p. ``resident_id, community_code``, distinct."""
        acted = (
            self.data.issue_actions.filter(within("on", self.period.start, self.period.end))
            .select("resident_id")
            .join(self.residents.select("resident_id", CODE), on="resident_id", how="inner")
        )
        met = self.present.filter(pl.col("kind") == DELIBERATION_MEETING).select("resident_id", CODE)
        return pl.concat([acted.select("resident_id", CODE), met], how="vertical").unique()

    @cached_property
    def volunteering(self) -> pl.DataFrame:
        """Present attendances of residents of the set at volunteer events in p: ``resident_id, community_code,
        hours``."""
        return self.present.filter(pl.col("kind") == VOLUNTEER_EVENT).select("resident_id", CODE, "hours")

    @cached_property
    def volunteers(self) -> pl.DataFrame:
        """Volunteers in p: present at a volunteer event in p with hours > 0 (hours are confirmed ones only: the
        extractor passes null for unconfirmed hours). ``resident_id, community_code``, distinct."""
        return self.volunteering.filter(pl.col("hours") > 0).select("resident_id", CODE).unique()

    @cached_property
    def held(self) -> pl.DataFrame:
        return held_in(self.data, self.comms, self.period)

    @cached_property
    def active_orgs(self) -> pl.DataFrame:
        return active_organizations(self.data, self.period)

    @cached_property
    def active_orgs_of(self) -> pl.DataFrame:
        """Active organisations of a community of the set ("of c": the organisation's place is c)."""
        return self.active_orgs.rename({"place_code": CODE}).join(self.comms, on=CODE, how="semi")

    @cached_property
    def provider_resources(self) -> pl.DataFrame:
        """Resources with a provider: ``resource_id, provider_id, kind``."""
        return (
            self.data.resources.drop_nulls(["resource_id"])
            .unique(subset="resource_id", keep="first", maintain_order=True)
            .select("resource_id", "provider_id", "kind")
        )

    @cached_property
    def uses(self) -> pl.DataFrame:
        """Distinct (activity, resource) uses of the activities held in c in p, with the resource's provider and kind
        (uses of resources unknown to the resources frame are left out): ``activity_id, community_code,
        resource_id, provider_id, kind``."""
        return (
            self.data.activity_resources.select("activity_id", "resource_id")
            .unique()
            .join(self.held.select("activity_id", CODE), on="activity_id", how="inner")
            .join(self.provider_resources, on="resource_id", how="inner")
        )

    @cached_property
    def closed_issues(self) -> pl.DataFrame:
        """Issues of c closed in p: status ``closed`` and ``closed_on`` in p (a rejected issue is never closed)."""
        return (
            self.data.issues.join(self.comms, on=CODE, how="semi")
            .filter((pl.col("status") == "closed") & within("closed_on", self.period.start, self.period.end))
            .unique(subset="issue_id", keep="first", maintain_order=True)
        )


# --- helpers ---------------------------------------------------------------------------------------------------------


def _count(frame: pl.DataFrame, column: str | None = None) -> pl.DataFrame:
    """community_code, numerator: distinct values of ``column`` (rows when None) per community."""
    agg = pl.len() if column is None else pl.col(column).n_unique()
    return frame.group_by(CODE).agg(agg.cast(pl.Float64).alias("numerator"))


def _ratio(ctx: Context, numerator: pl.DataFrame, denominator: pl.DataFrame, *, scale: float = 1.0) -> pl.DataFrame:
    """Join a per-community numerator (missing: 0) and denominator (``community_code, denominator``; a community
    without a row has denominator 0 unless the frame is the population, which may be null) onto the comparison set;
    value = scale × numerator ÷ denominator, null when the denominator is 0 or null."""
    out = (
        ctx.comms.join(numerator.select(CODE, "numerator"), on=CODE, how="left")
        .join(denominator.select(CODE, "denominator"), on=CODE, how="left")
        .with_columns(pl.col("numerator").fill_null(0.0).cast(pl.Float64), pl.col("denominator").cast(pl.Float64))
    )
    return out.select(
        CODE,
        pl.when(pl.col("denominator") > 0)
        .then(scale * pl.col("numerator") / pl.col("denominator"))
        .otherwise(None)
        .alias("value"),
        "numerator",
        "denominator",
    )


def _share(ctx: Context, numerator: pl.DataFrame, denominator: pl.DataFrame) -> pl.DataFrame:
    """A share whose denominator is a count (a community without a row has denominator 0, value null)."""
    den = ctx.comms.join(denominator, on=CODE, how="left").select(
        CODE, pl.col("numerator").fill_null(0.0).alias("denominator")
    )
    return _ratio(ctx, numerator, den)


def _per_population(ctx: Context, numerator: pl.DataFrame, *, per: float = 1.0) -> pl.DataFrame:
    return _ratio(ctx, numerator, ctx.pop, scale=per)


# --- I trust / participation -----------------------------------------------------------------------------------------


def reach_i1(ctx: Context) -> pl.DataFrame:
    """I1 参与覆盖率: residents of c present at ≥1 education activity (course session or learning meeting, held
    anywhere) in p ÷ N(c,p)."""
    return _per_population(ctx, _count(ctx.learners, "resident_id"))


def retention_i2(ctx: Context) -> pl.DataFrame:
    """I2 持续参与率: of the residents of c present at ≥1 education activity in p−1, the share also present at one in
    p. The community is the resident's record (the same for both periods)."""
    before = ctx.present_before.filter(pl.col("kind").is_in(EDUCATION_KINDS)).select("resident_id", CODE).unique()
    kept = before.join(ctx.learners.select("resident_id", CODE), on=["resident_id", CODE], how="semi")
    return _share(ctx, _count(kept, "resident_id"), _count(before, "resident_id"))


def depth_i3(ctx: Context) -> pl.DataFrame:
    """I3 深度参与率: of the I1 participants, the share present at ≥3 distinct education activities in p."""
    deep = ctx.learners.filter(pl.col("activities") >= 3)
    return _share(ctx, _count(deep, "resident_id"), _count(ctx.learners, "resident_id"))


def deliberation_i4(ctx: Context) -> pl.DataFrame:
    """I4 议事参与率: deliberation participants of c in p (an issue action — raise, comment, propose, vote — dated in
    p on any issue, or present at a deliberation meeting in p held anywhere) ÷ N(c,p)."""
    return _per_population(ctx, _count(ctx.deliberators, "resident_id"))


def conversion_i5(ctx: Context) -> pl.DataFrame:
    """I5 学治转化率: of the I1 participants, the share who are deliberation participants or volunteers in p."""
    engaged = pl.concat([ctx.deliberators, ctx.volunteers], how="vertical").unique()
    converted = ctx.learners.select("resident_id", CODE).join(engaged, on=["resident_id", CODE], how="semi")
    return _share(ctx, _count(converted, "resident_id"), _count(ctx.learners, "resident_id"))


# --- II norms / organisation -----------------------------------------------------------------------------------------


def organisations_ii1(ctx: Context) -> pl.DataFrame:
    """II1 组织密度: active organisations of c in p (founded before ``end`` or with no founding date, not dissolved
    before ``start``, organiser of ≥1 activity in p anywhere; every kind counts) per 1,000 population."""
    return _per_population(ctx, _count(ctx.active_orgs_of, "organization_id"), per=1000.0)


def stage_at_end(ctx: Context) -> pl.DataFrame:
    """The stage of each organisation at ``end``: ``organization_id, stage_at_end``.

    - the latest change with ``changed_on < end`` gives its ``to_stage`` (several changes on that day: the last in
      frame order, which the extractor keeps in recording order);
    - when every change is on or after ``end``: the earliest change's ``from_stage`` when non-empty, else the current
      stage;
    - no history (or stage_changes missing): the current stage."""
    end = ctx.period.end
    changes = ctx.data.stage_changes.drop_nulls(["organization_id", "changed_on"]).with_row_index("_row")
    before = (
        changes.filter(pl.col("changed_on") < end)
        .sort("organization_id", "changed_on", "_row")
        .group_by("organization_id")
        .agg(pl.col("to_stage").last().alias("before"))
    )
    after = (
        changes.filter(pl.col("changed_on") >= end)
        .sort("organization_id", "changed_on", "_row")
        .group_by("organization_id")
        .agg(pl.col("from_stage").first().alias("after"))
        .with_columns(pl.when(pl.col("after") != "").then(pl.col("after")).otherwise(None).alias("after"))
    )
    return (
        ctx.data.organizations.select("organization_id", "stage")
        .unique(subset="organization_id", keep="first", maintain_order=True)
        .join(before, on="organization_id", how="left")
        .join(after, on="organization_id", how="left")
        .select(
            "organization_id",
            pl.when(pl.col("before").is_not_null())
            .then(pl.col("before"))
            .when(pl.col("after").is_not_null())
            .then(pl.col("after"))
            .otherwise(pl.col("stage"))
            .alias("stage_at_end"),
        )
    )


def maturity_ii2(ctx: Context) -> pl.DataFrame:
    """II2 组织成熟度: of the active organisations of c, the share at stage ``professional`` or ``self_governing`` at
    ``end`` (see ``stage_at_end``)."""
    orgs = ctx.active_orgs_of.join(stage_at_end(ctx), on="organization_id", how="left")
    mature = orgs.filter(pl.col("stage_at_end").is_in(MATURE_STAGES))
    return _share(ctx, _count(mature, "organization_id"), _count(orgs, "organization_id"))


def organised_ii3(ctx: Context) -> pl.DataFrame:
    """II3 组织化率: residents of c with a membership (any role) overlapping p — ``joined_on < end`` (no date: joined)
    and (``left_on`` empty or ``left_on >= start``) — in an organisation active in p (of any place) ÷ N(c,p)."""
    start, end = ctx.period.start, ctx.period.end
    members = (
        ctx.data.memberships.filter(
            (pl.col("joined_on").is_null() | (pl.col("joined_on") < end))
            & (pl.col("left_on").is_null() | (pl.col("left_on") >= start))
        )
        .join(ctx.active_orgs.select("organization_id"), on="organization_id", how="semi")
        .select("resident_id")
        .join(ctx.residents.select("resident_id", CODE), on="resident_id", how="inner")
    )
    return _per_population(ctx, _count(members, "resident_id"))


def volunteering_ii4(ctx: Context) -> pl.DataFrame:
    """II4 志愿服务: hours of the present attendances of residents of c at volunteer events in p (held anywhere;
    unconfirmed hours are null and add nothing) ÷ N(c,p)."""
    # float sums in a fixed row order, so the same input gives the same bits whatever the join order
    hours = (
        ctx.volunteering.sort(CODE, "resident_id", "hours", nulls_last=True)
        .group_by(CODE, maintain_order=True)
        .agg(pl.col("hours").fill_null(0.0).sum().alias("numerator"))
    )
    return _per_population(ctx, hours)


def resident_led_ii5(ctx: Context) -> pl.DataFrame:
    """II5 居民自组织: of the activities held in c in p, the share organised by an organisation (a non-empty
    ``organization_id``; empty = organised by staff)."""
    led_by = pl.col("organization_id").is_not_null()
    if ctx.held.schema["organization_id"] == pl.Utf8:  # coded ids (``keys.encode_ids``) have no empty id
        led_by = led_by & (pl.col("organization_id") != "")
    led = ctx.held.filter(led_by)
    return _share(ctx, _count(led, "activity_id"), _count(ctx.held, "activity_id"))


def due_process_ii6(ctx: Context) -> pl.DataFrame:
    """II6 议事规范: of the issues of c closed in p, the share with a discussed, a decided and an implemented date."""
    issues = ctx.closed_issues
    full = issues.filter(
        pl.col("discussed_on").is_not_null()
        & pl.col("decided_on").is_not_null()
        & pl.col("implemented_on").is_not_null()
    )
    return _share(ctx, _count(full, "issue_id"), _count(issues, "issue_id"))


# --- III networks / resources ----------------------------------------------------------------------------------------


def providers_iii1(ctx: Context) -> pl.DataFrame:
    """III1 外部资源: distinct providers whose resource was used by an activity held in c in p, or whose resource
    fulfilled a need of c with ``fulfilled_on`` in p, per 1,000 population."""
    by_use = ctx.uses.select(CODE, "provider_id")
    by_need = (
        ctx.data.needs.join(ctx.comms, on=CODE, how="semi")
        .filter(within("fulfilled_on", ctx.period.start, ctx.period.end))
        .select(CODE, "resource_id")
        .join(ctx.provider_resources.select("resource_id", "provider_id"), on="resource_id", how="inner")
        .select(CODE, "provider_id")
    )
    providers = pl.concat([by_use, by_need], how="vertical").drop_nulls("provider_id").unique()
    return _per_population(ctx, _count(providers, "provider_id"), per=1000.0)


def diversity_iii2(ctx: Context) -> pl.DataFrame:
    """III2 资源多样性: Shannon entropy (natural log) of the resource kinds over the distinct (activity, resource) uses
    of the activities held in c in p, ÷ ln 6. Null when there is no use. Numerator null, denominator = the uses."""
    counts = ctx.uses.group_by(CODE, "kind").agg(pl.len().cast(pl.Float64).alias("k")).sort(CODE, "kind")
    entropy = (
        counts.with_columns((pl.col("k") / pl.col("k").sum().over(CODE)).alias("p"))
        .group_by(CODE, maintain_order=True)  # sums in kind order: the same bits every run
        .agg(
            (-(pl.col("p") * pl.col("p").log()).sum() / math.log(RESOURCE_KINDS)).abs().alias("value"),
            pl.col("k").sum().alias("denominator"),
        )
    )
    return ctx.comms.join(entropy, on=CODE, how="left").select(
        CODE,
        pl.col("value").cast(pl.Float64),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.col("denominator").fill_null(0.0).cast(pl.Float64),
    )


def fulfilment_iii3(ctx: Context) -> pl.DataFrame:
    """III3 需求满足率: needs of c raised in p (any status, any direction) and fulfilled before ``end``
    (``fulfilled_on < end``) ÷ needs of c raised in p."""
    raised = (
        ctx.data.needs.join(ctx.comms, on=CODE, how="semi")
        .filter(within("raised_on", ctx.period.start, ctx.period.end))
        .unique(subset="need_id", keep="first", maintain_order=True)
    )
    met = raised.filter(pl.col("fulfilled_on").is_not_null() & (pl.col("fulfilled_on") < ctx.period.end))
    return _share(ctx, _count(met, "need_id"), _count(raised, "need_id"))


def coproduction_iii4(ctx: Context) -> pl.DataFrame:
    """III4 共建共享: of the activities held in c in p, the share that used ≥1 resource with a provider."""
    used = ctx.uses.filter(pl.col("provider_id").is_not_null())
    return _share(ctx, _count(used, "activity_id"), _count(ctx.held, "activity_id"))


# --- education inputs and governance outcomes (reported, not scored) -------------------------------------------------


def education_e1(ctx: Context) -> pl.DataFrame:
    """E1: education activities held in c in p per 1,000 population."""
    education = ctx.held.filter(pl.col("kind").is_in(EDUCATION_KINDS))
    return _per_population(ctx, _count(education, "activity_id"), per=1000.0)


def learning_communities_e2(ctx: Context) -> pl.DataFrame:
    """E2: active learning communities (kind ``learning_community``) of c per 1,000 population."""
    learning = ctx.active_orgs_of.filter(pl.col("kind") == LEARNING_COMMUNITY)
    return _per_population(ctx, _count(learning, "organization_id"), per=1000.0)


def implemented(ctx: Context) -> pl.DataFrame:
    return ctx.closed_issues.filter(pl.col("implemented_on").is_not_null())


def closed_g1(ctx: Context) -> pl.DataFrame:
    """G1: issues of c closed in p with an implemented date per 1,000 population."""
    return _per_population(ctx, _count(implemented(ctx), "issue_id"), per=1000.0)


def days_to_close_g2(ctx: Context) -> pl.DataFrame:
    """G2: the median of (``closed_on`` − ``raised_on``) in days over the G1 issues (issues without a raised date
    are left out); null when there is none. Numerator null, denominator = the issues in the median."""
    days = (
        implemented(ctx)
        .filter(pl.col("raised_on").is_not_null())
        .select(CODE, (pl.col("closed_on") - pl.col("raised_on")).dt.total_days().cast(pl.Float64).alias("days"))
        .group_by(CODE)
        .agg(pl.col("days").median().alias("value"), pl.len().cast(pl.Float64).alias("denominator"))
    )
    return ctx.comms.join(days, on=CODE, how="left").select(
        CODE,
        pl.col("value").cast(pl.Float64),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.col("denominator").fill_null(0.0),
    )


def population_pop(ctx: Context) -> pl.DataFrame:
    """POP: N(c,p) (value only)."""
    return ctx.pop.select(
        CODE,
        pl.col("denominator").alias("value"),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"),
    )


FORMULAS: dict[str, Callable[[Context], pl.DataFrame]] = {
    "I1": reach_i1,
    "I2": retention_i2,
    "I3": depth_i3,
    "I4": deliberation_i4,
    "I5": conversion_i5,
    "II1": organisations_ii1,
    "II2": maturity_ii2,
    "II3": organised_ii3,
    "II4": volunteering_ii4,
    "II5": resident_led_ii5,
    "II6": due_process_ii6,
    "III1": providers_iii1,
    "III2": diversity_iii2,
    "III3": fulfilment_iii3,
    "III4": coproduction_iii4,
    "E1": education_e1,
    "E2": learning_communities_e2,
    "G1": closed_g1,
    "G2": days_to_close_g2,
    "POP": population_pop,
}

# The sources each indicator needs. An indicator is null when one of its clauses fails; a clause is a tuple of
# alternatives and holds when every source of at least one alternative is present. Optional sources (issue actions
# for I4/I5, stage changes for II2) are not listed: without them the formula uses what is there.
_ATT = ("attendance", "activities", "residents")
_ORG = ("organizations", "activities")
REQUIRES: dict[str, tuple[tuple[tuple[str, ...], ...], ...]] = {
    "I1": ((_ATT,),),
    "I2": ((_ATT,),),
    "I3": ((_ATT,),),
    "I4": ((_ATT,),),
    "I5": ((_ATT,),),
    "II1": ((_ORG,),),
    "II2": ((_ORG,),),
    "II3": ((_ORG,), (("memberships", "residents"),)),
    "II4": ((_ATT,),),
    "II5": ((_ORG,),),
    "II6": ((("issues",),),),
    "III1": ((("resources",),), (("activities", "activity_resources"), ("needs",))),
    "III2": ((("activities", "activity_resources", "resources"),),),
    "III3": ((("needs",),),),
    "III4": ((("activities", "activity_resources", "resources"),),),
    "E1": ((("activities",),),),
    "E2": ((_ORG,),),
    "G1": ((("issues",),),),
    "G2": ((("issues",),),),
    "POP": ((("population",), ("residents",)),),
}


def available(indicator: str, missing: frozenset[str] | set[str]) -> bool:
    """Whether the sources ``indicator`` needs are present (graph ids: attendance, activities and residents)."""
    clauses = REQUIRES.get(indicator, ((_ATT,),))
    return all(any(not (set(alt) & set(missing)) for alt in clause) for clause in clauses)


def compute_indicators(
    data: EngineInput, period: Period, *, graph_limit: int = 50, workers: int | None = None
) -> pl.DataFrame:
    """Long frame ``community_code, indicator, value, numerator, denominator``: one row per community in
    ``data.communities`` and per id in ``spec.EXPORT_IDS + spec.EXTRA_IDS``, sorted by community code then the spec
    order. Graph measures (III5–III7, NODES, EDGES, DENSITY) come from ``graphs.graph_measures`` (``workers``: see
    ``graphs.start_graph_measures``)."""
    data.check()
    ctx = Context(data, period)
    null = pl.lit(None, pl.Float64)
    parts: list[pl.DataFrame] = []
    # the graphs are measured by worker processes at scale while the formulas run here
    graphs = start_graph_measures(data, period, graph_limit=graph_limit, workers=workers)
    try:
        for indicator, formula in FORMULAS.items():
            frame = formula(ctx).select(
                CODE,
                pl.lit(indicator).alias("indicator"),
                pl.col("value").cast(pl.Float64),
                pl.col("numerator").cast(pl.Float64),
                pl.col("denominator").cast(pl.Float64),
            )
            if not available(indicator, data.missing):
                frame = frame.with_columns(value=null, numerator=null, denominator=null)
            parts.append(frame)
        parts.append(graphs.result())
    finally:
        graphs.close()
    order = pl.DataFrame({"indicator": list(OUTPUT_IDS), "_order": list(range(len(OUTPUT_IDS)))})
    out = (
        pl.concat(parts, how="vertical")
        .with_columns(
            # NaN never leaves the engine: it would break "null = no data" downstream
            *(pl.col(c).fill_nan(None) for c in ("value", "numerator", "denominator"))
        )
        .join(order, on="indicator", how="inner")
        .sort(CODE, "_order")
        .drop("_order")
    )
    return out.select([pl.col(c).cast(t) for c, t in OUTPUT_SCHEMA.items()])
