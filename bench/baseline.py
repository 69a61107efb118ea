"""The baseline of the analytics benchmark (issue #9, part 3c): METHOD.md's core indicators computed the way a
researcher would write them with pandas and NetworkX — groupby/merge per formula and a NetworkX graph per community.

It is an independent implementation: it shares no code with ``gongzhi.analytics.engine`` (it reads the same rows the
engine's extractor reads, as plain tuples from the database, and computes everything itself), so agreement between
the two is evidence that both follow METHOD.md. It is honest, not deliberately slow (vectorised pandas for the ratios,
a pandas self-merge per community for the co-participation edges, NetworkX for components and transitivity), but it
does not try to be clever either: no integer ids, no batching, strings as Python objects, one graph per community.

Input: ``load(rows)`` turns ``{source: [tuple, …]}`` — the rows of the extractor's queries, columns in the order of
the engine's input contract (METHOD "Interchange format" → ``frames.SCHEMAS``) — into pandas frames (ids as text,
times as local dates in Asia/Shanghai, decimals as floats). ``compute(frames, "2025")`` returns a long frame
``community_code, indicator, value`` for every community and every id in ``IDS``.

Not covered (the benchmark district has every source): sources that are absent altogether (the engine's
``missing``: then what they feed is null) and survey scale scores.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

LOCAL_TZ = "Asia/Shanghai"
EDUCATION = ("course_session", "learning_meeting")
MATURE = ("professional", "self_governing")
IDS: tuple[str, ...] = (
    "I1",
    "I2",
    "I3",
    "I4",
    "I5",
    "II1",
    "II2",
    "II3",
    "II4",
    "II5",
    "II6",
    "III1",
    "III2",
    "III3",
    "III4",
    "III5",
    "III6",
    "III7",
    "E1",
    "E2",
    "G1",
    "G2",
    "POP",
    "NODES",
    "EDGES",
    "DENSITY",
)

# The columns of each source, in the order the extractor's queries select them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "communities": ("community_code",),
    "population": ("community_code", "year", "population"),
    "residents": ("resident_id", "community_code", "household", "registered_on", "left_on"),
    "activities": ("activity_id", "place_code", "kind", "starts_on", "organization_id"),
    "attendance": ("activity_id", "resident_id", "hours"),
    "organizations": ("organization_id", "place_code", "kind", "stage", "founded_on", "dissolved_on"),
    "stage_changes": ("organization_id", "changed_on", "from_stage", "to_stage"),
    "memberships": ("organization_id", "resident_id", "joined_on", "left_on"),
    "issues": (
        "issue_id",
        "community_code",
        "status",
        "raised_on",
        "discussed_on",
        "decided_on",
        "implemented_on",
        "closed_on",
    ),
    "issue_actions": ("issue_id", "resident_id", "on"),
    "needs": ("need_id", "community_code", "raised_on", "status", "fulfilled_on", "resource_id"),
    "resources": ("resource_id", "provider_id", "kind"),
    "activity_resources": ("activity_id", "resource_id"),
}
IDS_COLUMNS = {"resident_id", "activity_id", "organization_id", "issue_id", "need_id", "resource_id", "provider_id"}
DATES = {
    "registered_on",
    "left_on",
    "founded_on",
    "dissolved_on",
    "changed_on",
    "joined_on",
    "raised_on",
    "discussed_on",
    "decided_on",
    "implemented_on",
    "closed_on",
    "fulfilled_on",
}
MOMENTS = {"starts_on", "on"}  # aware datetimes → local dates


# --- reading -------------------------------------------------------------------------------------------------------


def _ids(series: pd.Series) -> pd.Series:
    """UUIDs (PostgreSQL) or their hex text (SQLite) as text; None stays None."""
    return series.map(lambda v: None if v is None else str(v).replace("-", ""), na_action="ignore")


def load(rows: Mapping[str, Sequence[Sequence[Any]]]) -> dict[str, pd.DataFrame]:
    """pandas frames from the rows of the extractor's queries (see the module docstring)."""
    frames: dict[str, pd.DataFrame] = {}
    for name, columns in COLUMNS.items():
        df = pd.DataFrame(list(rows.get(name, [])), columns=list(columns))
        for column in columns:
            if column in IDS_COLUMNS:
                df[column] = _ids(df[column]).astype(object)
            elif column in DATES:
                df[column] = pd.to_datetime(df[column], errors="coerce")
            elif column in MOMENTS:
                local = pd.to_datetime(df[column], utc=True).dt.tz_convert(LOCAL_TZ)
                df[column] = local.dt.tz_localize(None).dt.normalize()
            elif column in ("hours", "population"):
                df[column] = pd.to_numeric(df[column].astype(object).map(lambda v: None if v is None else float(v)))
        frames[name] = df
    return frames


# --- periods -------------------------------------------------------------------------------------------------------


def period_bounds(key: str) -> tuple[pd.Timestamp, pd.Timestamp, int]:
    """``[start, end)`` and the year of "2025" or "2025Q2"."""
    match = re.fullmatch(r"(\d{4})(?:Q([1-4]))?", key)
    if not match:
        raise ValueError(f"bad period {key!r}")
    year, quarter = int(match.group(1)), match.group(2)
    if quarter is None:
        return pd.Timestamp(year, 1, 1), pd.Timestamp(year + 1, 1, 1), year
    q = int(quarter)
    start = pd.Timestamp(year, 3 * q - 2, 1)
    end = pd.Timestamp(year + 1, 1, 1) if q == 4 else pd.Timestamp(year, 3 * q + 1, 1)
    return start, end, year


def previous_key(key: str) -> str:
    match = re.fullmatch(r"(\d{4})(?:Q([1-4]))?", key)
    assert match
    year, quarter = int(match.group(1)), match.group(2)
    if quarter is None:
        return str(year - 1)
    q = int(quarter)
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"


def _in(series: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    return (series >= start) & (series < end)


# --- the indicators ------------------------------------------------------------------------------------------------


def _per_community(comms: list[str], counts: pd.Series | dict[str, float]) -> pd.Series:
    return pd.Series(counts, dtype="float64").reindex(comms).fillna(0.0)


def _div(num: pd.Series, den: pd.Series, scale: float = 1.0) -> pd.Series:
    out = scale * num / den
    return out.where(den > 0)


def compute(frames: Mapping[str, pd.DataFrame], period: str, *, graph_limit: int = 50) -> pd.DataFrame:
    """``community_code, indicator, value`` for every community of ``frames["communities"]`` and every id in ``IDS``
    (null values as NaN)."""
    start, end, year = period_bounds(period)
    prev_start, prev_end, _ = period_bounds(previous_key(period))
    comms = sorted(set(frames["communities"]["community_code"].dropna()))
    residents = frames["residents"]
    res = residents[residents["community_code"].isin(comms)].drop_duplicates("resident_id")
    res = res[["resident_id", "community_code", "household"]]

    # population: the table's row for the year, else the residents registered at the end of p
    pop_table = frames["population"]
    pop_table = pop_table[(pop_table["year"] == year) & pop_table["population"].notna()]
    table = pop_table.groupby("community_code")["population"].max()
    registered = residents[
        (residents["registered_on"].isna() | (residents["registered_on"] < end))
        & (residents["left_on"].isna() | (residents["left_on"] >= end))
    ]
    counted = registered.groupby("community_code")["resident_id"].nunique()
    pop = pd.Series(
        [float(table[c]) if c in table.index else float(counted.get(c, 0)) for c in comms], index=comms, dtype="float64"
    )

    activities = frames["activities"].drop_duplicates("activity_id")
    acts = activities[_in(activities["starts_on"], start, end)]
    acts_before = activities[_in(activities["starts_on"], prev_start, prev_end)]
    attendance = frames["attendance"].drop_duplicates(["activity_id", "resident_id"])
    present = attendance.merge(acts[["activity_id", "kind"]], on="activity_id").merge(res, on="resident_id")
    present_before = attendance.merge(acts_before[["activity_id", "kind"]], on="activity_id").merge(
        res, on="resident_id"
    )

    def count(df: pd.DataFrame, column: str) -> pd.Series:
        return _per_community(comms, df.groupby("community_code")[column].nunique())

    out: dict[str, pd.Series] = {}
    # I trust
    learning = present[present["kind"].isin(EDUCATION)]
    learners = learning.groupby(["community_code", "resident_id"])["activity_id"].nunique().reset_index(name="n")
    n_learners = count(learners, "resident_id")
    out["I1"] = _div(n_learners, pop)
    before = present_before[present_before["kind"].isin(EDUCATION)][["community_code", "resident_id"]]
    before = before.drop_duplicates()
    kept = before.merge(learners[["community_code", "resident_id"]], on=["community_code", "resident_id"])
    out["I2"] = _div(count(kept, "resident_id"), count(before, "resident_id"))
    out["I3"] = _div(count(learners[learners["n"] >= 3], "resident_id"), n_learners)
    actions = frames["issue_actions"]
    acted = actions[_in(actions["on"], start, end)][["resident_id"]].merge(res, on="resident_id")
    met = present[present["kind"] == "deliberation_meeting"]
    deliberators = pd.concat([acted[["community_code", "resident_id"]], met[["community_code", "resident_id"]]])
    deliberators = deliberators.drop_duplicates()
    out["I4"] = _div(count(deliberators, "resident_id"), pop)
    volunteering = present[present["kind"] == "volunteer_event"]
    volunteers = volunteering[volunteering["hours"] > 0][["community_code", "resident_id"]].drop_duplicates()
    engaged = pd.concat([deliberators, volunteers]).drop_duplicates()
    converted = learners.merge(engaged, on=["community_code", "resident_id"])
    out["I5"] = _div(count(converted, "resident_id"), n_learners)

    # II norms
    orgs = frames["organizations"].drop_duplicates("organization_id")
    organisers = set(acts["organization_id"].dropna())
    active = orgs[
        (orgs["founded_on"].isna() | (orgs["founded_on"] < end))
        & (orgs["dissolved_on"].isna() | (orgs["dissolved_on"] >= start))
        & orgs["organization_id"].isin(organisers)
    ]
    active_of = active[active["place_code"].isin(comms)].rename(columns={"place_code": "community_code"})
    n_active = count(active_of, "organization_id")
    out["II1"] = _div(n_active, pop, 1000.0)
    stage = _stage_at_end(orgs, frames["stage_changes"], end)
    mature = active_of[active_of["organization_id"].map(stage).isin(MATURE)]
    out["II2"] = _div(count(mature, "organization_id"), n_active)
    members = frames["memberships"]
    members = members[
        (members["joined_on"].isna() | (members["joined_on"] < end))
        & (members["left_on"].isna() | (members["left_on"] >= start))
        & members["organization_id"].isin(set(active["organization_id"]))
    ]
    members = members[["resident_id"]].merge(res, on="resident_id")
    out["II3"] = _div(count(members, "resident_id"), pop)
    hours = volunteering.groupby("community_code")["hours"].sum(min_count=0)
    out["II4"] = _div(_per_community(comms, hours), pop)
    held = acts[acts["place_code"].isin(comms)].rename(columns={"place_code": "community_code"})
    led = held[held["organization_id"].notna() & (held["organization_id"] != "")]
    n_held = count(held, "activity_id")
    out["II5"] = _div(count(led, "activity_id"), n_held)
    issues = frames["issues"].drop_duplicates("issue_id")
    closed = issues[
        issues["community_code"].isin(comms) & (issues["status"] == "closed") & _in(issues["closed_on"], start, end)
    ]
    full = closed[closed["discussed_on"].notna() & closed["decided_on"].notna() & closed["implemented_on"].notna()]
    out["II6"] = _div(count(full, "issue_id"), count(closed, "issue_id"))

    # III networks
    resources = frames["resources"].drop_duplicates("resource_id")
    uses = (
        frames["activity_resources"]
        .drop_duplicates()
        .merge(held[["activity_id", "community_code"]], on="activity_id")
        .merge(resources, on="resource_id")
    )
    needs = frames["needs"]
    needs = needs[needs["community_code"].isin(comms)]
    by_need = needs[_in(needs["fulfilled_on"], start, end)][["community_code", "resource_id"]].merge(
        resources[["resource_id", "provider_id"]], on="resource_id"
    )
    providers = pd.concat([uses[["community_code", "provider_id"]], by_need[["community_code", "provider_id"]]])
    out["III1"] = _div(count(providers.dropna(), "provider_id"), pop, 1000.0)
    entropy: dict[str, float] = {}
    for code, group in uses.groupby("community_code"):
        shares = group["kind"].value_counts(normalize=True).sort_index()
        entropy[str(code)] = abs(-sum(p * math.log(p) for p in shares) / math.log(6))
    out["III2"] = pd.Series(entropy, dtype="float64").reindex(comms)
    raised = needs[_in(needs["raised_on"], start, end)].drop_duplicates("need_id")
    met_needs = raised[raised["fulfilled_on"].notna() & (raised["fulfilled_on"] < end)]
    out["III3"] = _div(count(met_needs, "need_id"), count(raised, "need_id"))
    out["III4"] = _div(count(uses[uses["provider_id"].notna()], "activity_id"), n_held)

    # education inputs, governance outcomes
    out["E1"] = _div(count(held[held["kind"].isin(EDUCATION)], "activity_id"), pop, 1000.0)
    out["E2"] = _div(count(active_of[active_of["kind"] == "learning_community"], "organization_id"), pop, 1000.0)
    done = closed[closed["implemented_on"].notna()]
    out["G1"] = _div(count(done, "issue_id"), pop, 1000.0)
    timed = done[done["raised_on"].notna()]
    days = (timed["closed_on"] - timed["raised_on"]).dt.days.astype("float64")
    out["G2"] = days.groupby(timed["community_code"]).median().reindex(comms)
    out["POP"] = pop

    graph = graph_measures(comms, res, acts, attendance, present, graph_limit)
    for column in graph.columns:
        out[column] = graph[column]

    wide = pd.DataFrame(out).reindex(comms)[list(IDS)]
    wide.index.name = "community_code"
    return wide.reset_index().melt(id_vars="community_code", var_name="indicator", value_name="value")


def _stage_at_end(orgs: pd.DataFrame, changes: pd.DataFrame, end: pd.Timestamp) -> dict[str, str]:
    """The stage of each organisation at ``end``: the latest change before ``end``; when every change is later, the
    first change's ``from_stage``; with no history, the current stage."""
    stage = dict(zip(orgs["organization_id"], orgs["stage"], strict=True))
    changes = changes.dropna(subset=["organization_id", "changed_on"]).sort_values("changed_on", kind="stable")
    later = changes[changes["changed_on"] >= end].groupby("organization_id")["from_stage"].first()
    for org, first in later.items():
        if first:
            stage[str(org)] = first
    earlier = changes[changes["changed_on"] < end].groupby("organization_id")["to_stage"].last()
    for org, last in earlier.items():
        stage[str(org)] = last
    return stage


def graph_measures(
    comms: list[str],
    res: pd.DataFrame,
    acts: pd.DataFrame,
    attendance: pd.DataFrame,
    present: pd.DataFrame,
    graph_limit: int,
) -> pd.DataFrame:
    """III5 bridging (E-I index), III6 connectedness, III7 bonding (transitivity), NODES, EDGES, DENSITY: a NetworkX
    graph per community of its residents present at an activity in p, joined when present at the same activity of at
    most ``graph_limit`` present residents (counting every present attendance of it)."""
    import networkx as nx

    size = attendance[attendance["activity_id"].isin(set(acts["activity_id"]))].groupby("activity_id").size()
    small = set(size[size <= graph_limit].index)
    household = dict(zip(res["resident_id"], res["household"], strict=True))
    rows: dict[str, dict[str, float]] = {}
    for code, group in present.groupby("community_code"):
        g = nx.Graph()
        g.add_nodes_from(group["resident_id"].unique())
        ties = group[group["activity_id"].isin(small)][["activity_id", "resident_id"]]
        pairs = ties.merge(ties, on="activity_id", suffixes=("_a", "_b"))
        pairs = pairs[pairs["resident_id_a"] < pairs["resident_id_b"]]
        g.add_edges_from(zip(pairs["resident_id_a"], pairs["resident_id_b"], strict=True))
        n, m = g.number_of_nodes(), g.number_of_edges()
        external = internal = 0
        for a, b in g.edges():
            ha, hb = household.get(a), household.get(b)
            if ha is None or hb is None:
                continue
            if ha == hb:
                internal += 1
            else:
                external += 1
        triples = sum(d * (d - 1) / 2 for _node, d in g.degree())
        rows[str(code)] = {
            "III5": (external - internal) / (external + internal) if external + internal else math.nan,
            "III6": max(len(c) for c in nx.connected_components(g)) / n if n else math.nan,
            "III7": nx.transitivity(g) if triples else math.nan,
            "NODES": float(n),
            "EDGES": float(m),
            "DENSITY": nx.density(g) if n >= 2 else math.nan,
        }
    empty = {"III5": math.nan, "III6": math.nan, "III7": math.nan, "NODES": 0.0, "EDGES": 0.0, "DENSITY": math.nan}
    return pd.DataFrame([rows.get(c, empty) for c in comms], index=comms, dtype="float64")


# --- comparing -----------------------------------------------------------------------------------------------------


def disagreements(
    baseline: pd.DataFrame,
    engine: Iterable[tuple[str, str, float | None]],
    *,
    indicators: Iterable[str] = IDS,
    rel: float = 1e-9,
    abs_tol: float = 1e-12,
) -> list[tuple[str, str, float | None, float | None]]:
    """(community, indicator, baseline value, engine value) for every pair that differs (both null agree)."""
    wanted = set(indicators)
    mine = {
        (c, i): (None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v))
        for c, i, v in baseline[["community_code", "indicator", "value"]].itertuples(index=False)
        if i in wanted
    }
    theirs = {(c, i): (None if v is None else float(v)) for c, i, v in engine if i in wanted}
    found = []
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key, "absent"), theirs.get(key, "absent")
        if a is None and b is None:
            continue
        if isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol):
            continue
        found.append((key[0], key[1], a if not isinstance(a, str) else None, b if not isinstance(b, str) else None))
    return found
