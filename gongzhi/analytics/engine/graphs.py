"""The co-participation graph of (c, p) (METHOD.md) with python-igraph.

Nodes: the residents of c present at ≥1 activity (any kind, held anywhere) in p. An undirected, unweighted edge joins
two of them present at the same activity, unless that activity had more than ``graph_limit`` present residents (of
any community: every present attendance of the activity in the input counts) — a lecture hall is not a tie. Residents
of different communities who meet are not joined in either graph (each graph holds only residents of its community).
A node may have no edges.

Edges are built set-based (a Polars self-join of the present residents per activity, deduplicated to ``a < b``);
igraph builds one graph per community from the edge list only for the measures that need graph traversal
(components, transitivity). Node numbers are positions in the community's resident ids sorted ascending, so the same
input always gives the same numbers; drawings never carry resident ids.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field
from typing import Any

import igraph as ig
import numpy as np
import polars as pl

from .frames import EngineInput
from .periods import Period
from .prep import CODE, attendance, communities, residents_of, within

GRAPH_IDS: tuple[str, ...] = ("III5", "III6", "III7", "NODES", "EDGES", "DENSITY")
GRAPH_SOURCES: tuple[str, ...] = ("attendance", "activities", "residents")
UNKNOWN_GROUP = "unknown"
JOIN_BATCH_ROWS = 2_000_000  # present residents per batch of the pairing (whole communities)


@dataclass
class GraphParts:
    """``nodes``: community_code, node (0…n−1 per community), resident_id, household.
    ``edges``: community_code, a, b (node numbers, a < b), distinct, in no particular order."""

    nodes: pl.DataFrame
    edges: pl.DataFrame
    # community_code -> (component membership of each node, edge count), filled by graph_measures so that drawings
    # does not build every graph a second time
    components: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict)


# (key, weak references to the frames the key names, result): at most one entry
_CACHE: list[tuple[tuple[Any, ...], tuple[weakref.ref[pl.DataFrame], ...], GraphParts]] = []


def graph_parts(data: EngineInput, period: Period, *, graph_limit: int = 50) -> GraphParts:
    """Nodes and edges of every community's graph in p.

    The last result is kept while its input frames live (one entry, keyed by the identity of the frames, the period
    and the limit; weak references make sure an identity is not a recycled one, and the entry is dropped as soon as
    one of the frames is freed): the pipeline asks for the measures and then the drawings of the same input, and the
    graph is built once. Frames are treated as immutable."""
    frames = (data.communities, data.residents, data.activities, data.attendance)
    key = (*(id(f) for f in frames), period, graph_limit)
    for cached_key, refs, cached in list(_CACHE):  # a copy: another thread may replace or clear the entry
        if cached_key == key and all(ref() is f for ref, f in zip(refs, frames, strict=True)):
            return cached
    parts = _build_parts(data, period, graph_limit)
    _CACHE[:] = [(key, tuple(weakref.ref(f, _forget) for f in frames), parts)]
    return parts


def _forget(_ref: object) -> None:
    _CACHE.clear()


def _build_parts(data: EngineInput, period: Period, graph_limit: int) -> GraphParts:
    comms = communities(data).with_row_index("ci")
    residents = residents_of(data, comms.select(CODE))
    acts = (
        data.activities.filter(within("starts_on", period.start, period.end))
        .select("activity_id")
        .unique()
        .sort("activity_id")
        .with_row_index("ai")
    )
    att = attendance(data).select("activity_id", "resident_id").join(acts, on="activity_id", how="inner")
    # the limit counts every present resident of the activity, whatever their community
    sizes = att.group_by("ai").agg(pl.len().alias("present"))
    pres = att.join(residents, on="resident_id", how="inner")
    nodes = (
        pres.select(CODE, "resident_id", "household")
        .unique()
        .sort(CODE, "resident_id")
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(CODE).alias("node"))
        .select(CODE, "node", "resident_id", "household")
    )
    # integer keys from here on: rows sorted by (community, activity, node)
    small = (
        pres.join(sizes.filter(pl.col("present") <= graph_limit), on="ai", how="semi")
        .join(nodes.select(CODE, "resident_id", "node"), on=[CODE, "resident_id"], how="inner")
        .join(comms, on=CODE, how="inner")
        .select(pl.col("ci").cast(pl.Int64), pl.col("ai").cast(pl.Int64), "node")
        .sort("ci", "ai", "node")
    )
    # Pairs are made for batches of whole communities, so that memory stays bounded.
    ci = small.get_column("ci").to_numpy()
    ai = small.get_column("ai").to_numpy()
    node = small.get_column("node").to_numpy()
    del small
    pieces = [_pairs(ci[lo:hi], ai[lo:hi], node[lo:hi]) for lo, hi in _batches(ci, JOIN_BATCH_ROWS)]
    edge_schema = {"ci": pl.UInt32, "a": pl.Int64, "b": pl.Int64}
    joined = pl.concat(pieces, how="vertical") if pieces else pl.DataFrame(schema=edge_schema)
    edges = joined.join(comms, on="ci", how="inner").select(CODE, "a", "b")
    return GraphParts(nodes=nodes, edges=edges)


NODE_BITS = 24  # node numbers per community < 2**24 (16.7 M residents of one community), community index < 2**15


def _batches(ci: np.ndarray, rows: int) -> list[tuple[int, int]]:
    """[lo, hi) ranges of about ``rows`` rows each that never split a community (``ci`` is sorted)."""
    if ci.shape[0] == 0:
        return []
    bounds = [0]
    starts = np.flatnonzero(np.diff(ci)) + 1  # first row of each community after the first
    for start in starts.tolist():
        if start - bounds[-1] >= rows:
            bounds.append(start)
    bounds.append(int(ci.shape[0]))
    return list(itertools.pairwise(bounds))


def _pairs(ci: np.ndarray, ai: np.ndarray, node: np.ndarray) -> pl.DataFrame:
    """The distinct pairs (a < b) of nodes present at the same activity, per community: ``ci, a, b``.

    Rows are sorted by (community, activity, node) and distinct, so each (activity, community) group of k rows gives its
    k(k−1)/2 pairs directly, in NumPy (no k² self-join rows, no diagonal to filter out); pairs met at several
    activities are made unique on one int64 key per pair."""
    n = node.shape[0]
    first_of_group = np.ones(n, dtype=bool)
    first_of_group[1:] = (ci[1:] != ci[:-1]) | (ai[1:] != ai[:-1])
    starts = np.flatnonzero(first_of_group)
    ends = np.append(starts[1:], n)
    after = np.repeat(ends, ends - starts) - np.arange(n) - 1  # rows after each row in its group
    total = int(after.sum())
    if total == 0:
        return pl.DataFrame(schema={"ci": pl.UInt32, "a": pl.Int64, "b": pl.Int64})
    first = np.repeat(np.arange(n, dtype=np.int64), after)
    run_start = np.repeat(np.cumsum(after) - after, after)
    second = np.arange(total, dtype=np.int64) - run_start + first + 1
    del run_start
    mask = (1 << NODE_BITS) - 1
    keys = (ci[first] << (2 * NODE_BITS)) | (node[first] << NODE_BITS) | node[second]
    del first, second
    keys.sort()  # in place; a sort is faster here than np.unique's hashing
    keys = keys[np.append(True, keys[1:] != keys[:-1])]
    return pl.DataFrame(
        {
            "ci": (keys >> (2 * NODE_BITS)).astype(np.uint32),
            "a": (keys >> NODE_BITS) & mask,
            "b": keys & mask,
        }
    )


def coparticipation_edges(data: EngineInput, period: Period, *, graph_limit: int = 50) -> pl.DataFrame:
    """The edges of every community's co-participation graph in p: ``community_code, a, b`` with resident ids
    (``a < b``), distinct, sorted."""
    parts = graph_parts(data, period, graph_limit=graph_limit)
    ids = parts.nodes.select(CODE, "node", "resident_id")
    return (
        parts.edges.join(ids.rename({"node": "a", "resident_id": "ra"}), on=[CODE, "a"], how="inner")
        .join(ids.rename({"node": "b", "resident_id": "rb"}), on=[CODE, "b"], how="inner")
        .select(
            CODE,
            pl.min_horizontal("ra", "rb").alias("a"),
            pl.max_horizontal("ra", "rb").alias("b"),
        )
        .sort(CODE, "a", "b")
    )


def _graph(n: int, edges: pl.DataFrame | None) -> ig.Graph:
    """An igraph graph of n nodes from an edge list (``add_edges`` with a NumPy array is several times faster than
    passing the edges to the constructor)."""
    g = ig.Graph(n=n)
    if edges is not None and edges.height:
        g.add_edges(edges.select("a", "b").to_numpy())
    return g


def _group_codes(nodes: pl.DataFrame) -> pl.DataFrame:
    """nodes + ``group``: the household as a small integer (0 = unknown), for counting E and I with NumPy."""
    return nodes.with_columns(pl.col("household").rank("dense").fill_null(0).cast(pl.Int64).alias("group"))


def _ei(groups: np.ndarray, edges: pl.DataFrame | None) -> tuple[int, int]:
    """E (edges joining two different household groups, i.e. a local and a new citizen) and I (edges within one
    group); edges with an end of unknown group are in neither."""
    if edges is None or edges.height == 0:
        return 0, 0
    ga = groups[edges.get_column("a").to_numpy()]
    gb = groups[edges.get_column("b").to_numpy()]
    known = (ga > 0) & (gb > 0)
    e = int(((ga != gb) & known).sum())
    return e, int(known.sum()) - e


def graph_measures(data: EngineInput, period: Period, *, graph_limit: int = 50) -> pl.DataFrame:
    """Long frame ``community_code, indicator, value, numerator, denominator`` for every community of the set and
    every id in ``GRAPH_IDS``:

    - III5 bridging, the E-I index ``(E − I) ÷ (E + I)`` by household group (numerator E − I, denominator E + I);
      null with no edge between two residents of known group;
    - III6 connectedness, the share of nodes in the largest connected component (numerator its size, denominator the
      nodes); null with no nodes;
    - III7 bonding, global transitivity: triangles × 3 ÷ connected triples (numerator triangles × 3, denominator the
      connected triples Σ d(d−1)/2); null without a connected triple;
    - NODES, EDGES: counts (value only);
    - DENSITY: edges ÷ (n(n−1)/2) (numerator edges, denominator possible pairs); null for fewer than two nodes.

    When attendance, activities or residents are missing, every row is null.
    """
    comms = communities(data)
    parts = graph_parts(data, period, graph_limit=graph_limit)
    nodes = _group_codes(parts.nodes)
    node_groups = nodes.partition_by(CODE, as_dict=True, include_key=False) if nodes.height else {}
    edge_groups = parts.edges.partition_by(CODE, as_dict=True, include_key=False) if parts.edges.height else {}
    rows: list[dict[str, Any]] = []
    # one igraph per community with nodes: components and transitivity need the graph
    for (code,), community_nodes in sorted(node_groups.items()):
        n = community_nodes.height
        edges = edge_groups.get((code,))
        groups = community_nodes.sort("node").get_column("group").to_numpy()
        e, i = _ei(groups, edges)
        g = _graph(n, edges)
        membership = np.asarray(g.connected_components().membership, dtype=np.int64)
        parts.components[code] = (membership, g.ecount())
        largest = int(np.bincount(membership).max()) if n else 0
        degrees = np.asarray(g.degree(), dtype=np.float64)
        triples = float((degrees * (degrees - 1) / 2).sum())
        closed = 0.0
        if triples > 0:
            closed = float(round(g.transitivity_undirected(mode="zero") * triples))
        rows.append(
            {CODE: code, "n": n, "m": g.ecount(), "largest": largest, "triples": triples, "closed": closed}
            | {"E": float(e), "I": float(i)}
        )
    schema = {CODE: pl.Utf8, "n": pl.Int64, "m": pl.Int64, "largest": pl.Int64, "triples": pl.Float64}
    measured = pl.DataFrame(rows, schema={**schema, "closed": pl.Float64, "E": pl.Float64, "I": pl.Float64})
    wide = comms.join(measured, on=CODE, how="left").with_columns(
        pl.col("n").fill_null(0).cast(pl.Float64),
        pl.col("m").fill_null(0).cast(pl.Float64),
        pl.col("largest").fill_null(0).cast(pl.Float64),
        pl.col("triples").fill_null(0.0),
        pl.col("closed").fill_null(0.0),
        pl.col("E").fill_null(0.0),
        pl.col("I").fill_null(0.0),
    )
    pairs = pl.col("n") * (pl.col("n") - 1) / 2
    null = pl.lit(None, pl.Float64)

    def ratio(num: pl.Expr, den: pl.Expr, ok: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
        return pl.when(ok).then(num / den).otherwise(None), num, den

    specs: dict[str, tuple[pl.Expr, pl.Expr, pl.Expr]] = {
        "III5": ratio(pl.col("E") - pl.col("I"), pl.col("E") + pl.col("I"), (pl.col("E") + pl.col("I")) > 0),
        "III6": ratio(pl.col("largest"), pl.col("n"), pl.col("n") > 0),
        "III7": ratio(pl.col("closed"), pl.col("triples"), pl.col("triples") > 0),
        "NODES": (pl.col("n"), null, null),
        "EDGES": (pl.col("m"), null, null),
        "DENSITY": ratio(pl.col("m"), pairs, pl.col("n") >= 2),
    }
    frames = [
        wide.select(
            CODE,
            pl.lit(ind).alias("indicator"),
            value.cast(pl.Float64).alias("value"),
            num.cast(pl.Float64).alias("numerator"),
            den.cast(pl.Float64).alias("denominator"),
        )
        for ind, (value, num, den) in specs.items()
    ]
    out = pl.concat(frames, how="vertical")
    if any(s in data.missing for s in GRAPH_SOURCES):
        out = out.with_columns(value=null, numerator=null, denominator=null)
    return out


def drawings(
    data: EngineInput, period: Period, *, graph_limit: int = 50, max_nodes: int = 300
) -> dict[str, dict[str, Any]]:
    """For every community of the set, a drawable graph without resident ids::

        {"nodes": [[group, component_rank], …], "edges": [[i, j], …], "truncated": bool,
         "nodes_total": int, "edges_total": int}

    ``group`` is the household group (``local``/``new_citizen``; ``unknown`` when not given). ``component_rank`` is
    0 for the largest connected component, then by size descending (ties: the component holding the smaller node
    number first). Nodes are ordered by (component rank, node number) and cut after ``max_nodes``, so the largest
    components are kept first; drawing numbers ``i`` are positions in that order; edges (``i < j``) join kept nodes,
    sorted. ``truncated`` tells whether nodes were cut. A community with no nodes gets an empty drawing.
    """
    comms = communities(data)
    parts = graph_parts(data, period, graph_limit=graph_limit)
    node_groups = parts.nodes.partition_by(CODE, as_dict=True, include_key=False) if parts.nodes.height else {}
    edge_groups = parts.edges.partition_by(CODE, as_dict=True, include_key=False) if parts.edges.height else {}
    result: dict[str, dict[str, Any]] = {}
    for (code,) in comms.iter_rows():
        nodes = node_groups.get((code,))
        edges = edge_groups.get((code,))
        n = 0 if nodes is None else nodes.height
        if nodes is None or n == 0:
            result[code] = {"nodes": [], "edges": [], "truncated": False, "nodes_total": 0, "edges_total": 0}
            continue
        nodes = nodes.sort("node")
        known = parts.components.get(code)
        if known is None:
            g = _graph(n, edges)
            known = (np.asarray(g.connected_components().membership, dtype=np.int64), g.ecount())
            parts.components[code] = known
        membership, edges_total = known
        comp_size = np.bincount(membership)
        comp_first = np.full(comp_size.shape[0], n, dtype=np.int64)
        np.minimum.at(comp_first, membership, np.arange(n, dtype=np.int64))
        comp_order = np.lexsort((comp_first, -comp_size))  # size desc, then smallest node first
        comp_rank = np.empty_like(comp_order)
        comp_rank[comp_order] = np.arange(comp_order.shape[0])
        node_rank = comp_rank[membership]
        order = np.lexsort((np.arange(n), node_rank))[:max_nodes]
        position = np.full(n, -1, dtype=np.int64)
        position[order] = np.arange(order.shape[0])
        households = nodes.get_column("household").fill_null(UNKNOWN_GROUP).to_list()
        drawn_nodes = [[households[k], int(node_rank[k])] for k in order.tolist()]
        drawn_edges: list[list[int]] = []
        if edges is not None and edges.height:
            pa = position[edges.get_column("a").to_numpy()]
            pb = position[edges.get_column("b").to_numpy()]
            keep = (pa >= 0) & (pb >= 0)
            lo = np.minimum(pa[keep], pb[keep])
            hi = np.maximum(pa[keep], pb[keep])
            idx = np.lexsort((hi, lo))
            drawn_edges = np.column_stack((lo[idx], hi[idx])).tolist()
        result[code] = {
            "nodes": drawn_nodes,
            "edges": drawn_edges,
            "truncated": bool(order.shape[0] < n),
            "nodes_total": n,
            "edges_total": int(edges_total),
        }
    return result


def clear_cache() -> None:
    """Forget the kept graph."""
    _CACHE.clear()
