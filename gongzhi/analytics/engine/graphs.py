"""The co-participation graph of (c, p) (METHOD.md) with NumPy and SciPy (python-igraph for very large graphs).

Nodes: the residents of c present at ≥1 activity (any kind, held anywhere) in p. An undirected, unweighted edge joins
two of them present at the same activity, unless that activity had more than ``graph_limit`` present residents (of
any community: every present attendance of the activity in the input counts) — a lecture hall is not a tie. Residents
of different communities who meet are not joined in either graph (each graph holds only residents of its community).
A node may have no edges.

Edges are built set-based: the present residents of each small activity, as node numbers sorted per (community,
activity), give their pairs in NumPy, deduplicated to ``a < b`` by one sort of an integer key. Each community's graph is
then measured from its edge array without a graph object: components with SciPy's ``connected_components``, triangles
by AND-ing rows of an adjacency bitset (``_closed_triples``); communities are measured by worker threads at scale,
while the other formulas run. Node numbers are positions in the community's resident ids sorted ascending, so the same
input always gives the same numbers; drawings never carry resident ids.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import igraph as ig
import numpy as np
import polars as pl
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .frames import EngineInput
from .periods import Period
from .prep import CODE, attendance, communities, forget, kept, residents_of, within

GRAPH_IDS: tuple[str, ...] = ("III5", "III6", "III7", "NODES", "EDGES", "DENSITY")
GRAPH_SOURCES: tuple[str, ...] = ("attendance", "activities", "residents")
UNKNOWN_GROUP = "unknown"
JOIN_BATCH_ROWS = 1_000_000  # present residents per batch of the pairing (whole communities)
PAIRS_PER_ROW = 3  # about how many edges a present resident brings, to decide on threads before pairing


@dataclass
class GraphParts:
    """``codes``: the community codes of the set, sorted; a community's index ``ci`` is its position here.
    ``nodes``: ci, community_code, node (0…n−1 per community), resident_id, household — sorted by (ci, node).
    ``edges``: ci, a, b (node numbers, a < b), distinct, sorted by (ci, a, b).
    ``node_bounds`` / ``edge_bounds``: community ci's rows are ``[bounds[ci], bounds[ci + 1])`` of each frame."""

    codes: list[str]
    nodes: pl.DataFrame
    edges: pl.DataFrame
    node_bounds: np.ndarray
    edge_bounds: np.ndarray
    # community_code -> (component membership of each node, edge count), filled by graph_measures so that drawings
    # does not build every graph a second time
    components: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict)

    def edge_array(self, ci: int) -> np.ndarray:
        """Community ci's edges as a contiguous (m, 2) int64 array."""
        lo, hi = int(self.edge_bounds[ci]), int(self.edge_bounds[ci + 1])
        return np.ascontiguousarray(self.edges.slice(lo, hi - lo).select("a", "b").to_numpy(), dtype=np.int64)

    def node_frame(self, ci: int) -> pl.DataFrame:
        lo, hi = int(self.node_bounds[ci]), int(self.node_bounds[ci + 1])
        return self.nodes.slice(lo, hi - lo)


def graph_parts(data: EngineInput, period: Period, *, graph_limit: int = 50) -> GraphParts:
    """Nodes and edges of every community's graph in p.

    The last result is kept while its input frames live (``prep.kept``): the pipeline asks for the measures and then
    the drawings of the same input, and the graph is built once. Frames are treated as immutable."""
    frames = (data.communities, data.residents, data.activities, data.attendance)
    return kept("graph_parts", frames, (period, graph_limit), lambda: _build_parts(data, period, graph_limit))


def _bounds(ci: np.ndarray, communities: int) -> np.ndarray:
    """Row bounds of each community in rows sorted by ``ci``: community k is ``[b[k], b[k + 1])``."""
    return np.searchsorted(ci, np.arange(communities + 1), side="left").astype(np.int64)


def _build_parts(data: EngineInput, period: Period, graph_limit: int) -> GraphParts:
    comms = communities(data).with_row_index("ci")
    codes = comms.get_column(CODE).to_list()
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
    pres = att.join(residents, on="resident_id", how="inner").join(comms, on=CODE, how="inner")
    nodes = (
        pres.select("ci", CODE, "resident_id", "household")
        .unique(subset=["ci", "resident_id"], keep="any")
        .sort("ci", "resident_id")
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("ci").alias("node"))
        .select("ci", CODE, "node", "resident_id", "household")
    )
    # integer keys from here on: rows sorted by (community, activity, node)
    small = (
        pres.join(sizes.filter(pl.col("present") <= graph_limit), on="ai", how="semi")
        .select("ci", "ai", "resident_id")
        .join(nodes.select("ci", "resident_id", "node"), on=["ci", "resident_id"], how="inner")
        .select(pl.col("ci").cast(pl.Int64), pl.col("ai").cast(pl.Int64), "node")
        .sort("ci", "ai", "node")
    )
    del pres
    # Pairs are made for batches of whole communities, so that memory stays bounded.
    ci = small.get_column("ci").to_numpy()
    ai = small.get_column("ai").to_numpy()
    node = small.get_column("node").to_numpy()
    del small
    batches = _batches(ci, JOIN_BATCH_ROWS)
    workers = min(len(batches), graph_workers(int(ci.shape[0]) * PAIRS_PER_ROW))
    if workers > 1:  # batches are independent, and NumPy works without the GIL: pair them in threads
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gongzhi-pairs") as pool:
            pieces = list(pool.map(lambda bounds: _pairs(*(x[bounds[0] : bounds[1]] for x in (ci, ai, node))), batches))
    else:
        pieces = [_pairs(ci[lo:hi], ai[lo:hi], node[lo:hi]) for lo, hi in batches]
    edge_schema = {"ci": pl.UInt32, "a": pl.Int64, "b": pl.Int64}
    edges = pl.concat(pieces, how="vertical") if pieces else pl.DataFrame(schema=edge_schema)
    # each batch is sorted by (ci, a, b) and batches follow each other in ci order: the whole is sorted
    return GraphParts(
        codes=codes,
        nodes=nodes,
        edges=edges,
        node_bounds=_bounds(nodes.get_column("ci").to_numpy(), len(codes)),
        edge_bounds=_bounds(edges.get_column("ci").to_numpy(), len(codes)),
    )


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
    """The distinct pairs (a < b) of nodes present at the same activity, per community: ``ci, a, b``, sorted.

    Rows are sorted by (community, activity, node) and distinct, so each (activity, community) group of k rows gives its
    k(k−1)/2 pairs directly, in NumPy (no k² self-join rows, no diagonal to filter out); pairs met at several
    activities are made unique on one int64 key per pair, whose sort also orders the edges by (ci, a, b)."""
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
    # the second row of each pair: the rows after ``first`` in its group, i.e. first + 1, first + 2, …
    second = np.arange(total, dtype=np.int64)
    second -= np.repeat(np.cumsum(after) - after - np.arange(n, dtype=np.int64) - 1, after)
    mask = (1 << NODE_BITS) - 1
    row_keys = (ci << (2 * NODE_BITS)) | (node << NODE_BITS)  # the key part of each row as a pair's first end
    keys = row_keys[first]
    del first
    keys |= node[second]
    del second
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
    ids = parts.nodes.select("ci", "node", "resident_id")
    return (
        parts.edges.join(ids.rename({"node": "a", "resident_id": "ra"}), on=["ci", "a"], how="inner")
        .join(ids.rename({"node": "b", "resident_id": "rb"}), on=["ci", "b"], how="inner")
        .join(parts.nodes.select("ci", CODE).unique(), on="ci", how="inner")
        .select(
            CODE,
            pl.min_horizontal("ra", "rb").alias("a"),
            pl.max_horizontal("ra", "rb").alias("b"),
        )
        .sort(CODE, "a", "b")
    )


def _graph(n: int, edges: np.ndarray) -> ig.Graph:
    """An igraph graph of n nodes from an (m, 2) int64 edge array."""
    g = ig.Graph(n=n)
    if edges.shape[0]:
        g.add_edges(edges)
    return g


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """The connected component of each node (numbers in no particular order), from the sparse adjacency (SciPy)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    adjacency = csr_matrix((np.ones(edges.shape[0], dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return connected_components(adjacency, directed=False)[1].astype(np.int64)


BITSET_MAX_NODES = 40_000  # the adjacency bitset takes n²/8 bytes: 200 MB at this size; above it, igraph counts
BITSET_EDGES_PER_STEP = 1 << 16


def _closed_triples(n: int, edges: np.ndarray) -> int:
    """Triangles × 3: for every edge (a, b), the common neighbours of a and b, summed (each triangle is counted once
    per side). Each node's neighbours are a row of bits, so an edge's common neighbours are the set bits of the AND
    of two rows (``np.bitwise_count``) — vectorised over edges in steps, with no graph object: at district scale 4×
    faster than building igraph graphs and calling ``transitivity_undirected`` (which gives the same count, and is
    used above ``BITSET_MAX_NODES``)."""
    m = edges.shape[0]
    if m == 0:
        return 0
    if n > BITSET_MAX_NODES:
        g = _graph(n, edges)
        degrees = np.asarray(g.degree(), dtype=np.int64)
        return round(g.transitivity_undirected(mode="zero") * float((degrees * (degrees - 1) // 2).sum()))
    words = (n + 63) // 64
    a, b = edges[:, 0], edges[:, 1]
    rows, cols = np.concatenate((a, b)), np.concatenate((b, a))
    bits = np.zeros(n * words, dtype=np.uint64)
    np.bitwise_or.at(bits, rows * words + (cols >> 6), np.left_shift(np.uint64(1), (cols & 63).astype(np.uint64)))
    del rows, cols
    matrix = bits.reshape(n, words)
    total = 0
    for lo in range(0, m, BITSET_EDGES_PER_STEP):
        hi = lo + BITSET_EDGES_PER_STEP
        total += int(np.bitwise_count(matrix[a[lo:hi]] & matrix[b[lo:hi]]).sum(dtype=np.int64))
    return total


Measure = tuple[np.ndarray, int, int, float, float, int, int]


def _measure(n: int, edges: np.ndarray, groups: np.ndarray) -> Measure:
    """One community's graph: (component of each node, edges, largest component, connected triples Σ d(d−1)/2,
    closed triples (triangles × 3), E, I). ``groups``: each node's household as a small integer, 0 = unknown; E
    counts the edges joining two different known groups (a local and a new citizen), I the edges within one; edges
    with an end of unknown group are in neither."""
    m = edges.shape[0]
    membership = _components(n, edges)
    largest = int(np.bincount(membership).max()) if n else 0
    degrees = np.bincount(edges[:, 0], minlength=n) + np.bincount(edges[:, 1], minlength=n)
    triples = int((degrees * (degrees - 1) // 2).sum())
    closed = _closed_triples(n, edges) if triples > 0 else 0
    e = i = 0
    if m:
        ga, gb = groups[edges[:, 0]], groups[edges[:, 1]]
        known = (ga > 0) & (gb > 0)
        e = int(((ga != gb) & known).sum())
        i = int(known.sum()) - e
    return membership, m, largest, float(triples), float(closed), e, i


Task = tuple[str, int, np.ndarray, np.ndarray]  # community code, nodes, edges (m, 2), household group per node


def _measure_batch(tasks: list[Task]) -> list[tuple[str, Measure]]:
    return [(code, _measure(n, edges, groups)) for code, n, edges, groups in tasks]


# Above this many edges in all, the per-community graphs are measured by worker threads (NumPy and SciPy release
# the GIL for most of the work) while the caller computes the other formulas; below it, in ``result()``.
PARALLEL_MIN_EDGES = 2_000_000
TASK_EDGES = 1_000_000  # edges per task given to a worker (whole communities)
MAX_WORKERS = 8


def graph_workers(total_edges: int) -> int:
    """Worker threads for measuring ``total_edges`` edges: 0 (measure in ``result()``) below
    ``PARALLEL_MIN_EDGES`` or with one CPU; otherwise one per CPU this process may use, at most ``MAX_WORKERS``.
    The environment variable ``GONGZHI_GRAPH_WORKERS`` overrides it (0: never)."""
    forced = os.environ.get("GONGZHI_GRAPH_WORKERS", "").strip()
    if forced:
        return max(0, int(forced))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if total_edges < PARALLEL_MIN_EDGES or cpus < 2:
        return 0
    return min(cpus, MAX_WORKERS)


def _task_batches(parts: GraphParts) -> list[list[Task]]:
    """Every community with nodes as a measuring task, in batches of about ``TASK_EDGES`` edges, the largest
    communities first (so that the workers finish at about the same time)."""
    if parts.nodes.height == 0:
        return []
    groups = parts.nodes.get_column("household").rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
    tasks: list[Task] = []
    for ci, code in enumerate(parts.codes):
        lo, hi = int(parts.node_bounds[ci]), int(parts.node_bounds[ci + 1])
        if hi > lo:
            tasks.append((code, hi - lo, parts.edge_array(ci), groups[lo:hi]))
    tasks.sort(key=lambda task: -task[2].shape[0])
    batches: list[list[Task]] = []
    size = TASK_EDGES
    for task in tasks:
        if size >= TASK_EDGES:
            batches.append([])
            size = 0
        batches[-1].append(task)
        size += task[2].shape[0] + 1
    return batches


class PendingMeasures:
    """Graph measures under way (``start_graph_measures``); ``result()`` waits for them."""

    def __init__(self, data: EngineInput, period: Period, graph_limit: int, workers: int | None) -> None:
        self.data, self.period, self.graph_limit = data, period, graph_limit
        count = graph_workers(int(data.attendance.height) * PAIRS_PER_ROW) if workers is None else workers
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[tuple[GraphParts, list[tuple[str, Measure]]]] | None = None
        if count > 0:
            attendance(data)  # built once here, not by this thread and the caller's formulas at the same time
            # one thread builds the graphs and hands the communities to ``count`` others
            self._pool = ThreadPoolExecutor(max_workers=count + 1, thread_name_prefix="gongzhi-graph")
            self._future = self._pool.submit(self._measure_all, self._pool)

    def _measure_all(self, pool: ThreadPoolExecutor | None) -> tuple[GraphParts, list[tuple[str, Measure]]]:
        parts = graph_parts(self.data, self.period, graph_limit=self.graph_limit)
        batches = _task_batches(parts)
        if pool is None:
            return parts, [item for batch in batches for item in _measure_batch(batch)]
        futures = [pool.submit(_measure_batch, batch) for batch in batches]
        return parts, [item for future in futures for item in future.result()]

    def result(self) -> pl.DataFrame:
        try:
            parts, measured = self._measure_all(None) if self._future is None else self._future.result()
        finally:
            self.close()
        for code, (membership, m, *_rest) in measured:
            parts.components[code] = (membership, m)
        return _measures_frame(self.data, measured)

    def close(self) -> None:
        """Stop the workers (what has not started is cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def start_graph_measures(
    data: EngineInput, period: Period, *, graph_limit: int = 50, workers: int | None = None
) -> PendingMeasures:
    """Start building the graphs and measuring them — in threads at scale (``graph_workers``, decided from the
    attendance rows) — so that the caller can compute other things meanwhile; ``.result()`` returns what
    ``graph_measures`` returns. ``workers``: threads measuring (0: everything in ``result()``); None: automatic."""
    return PendingMeasures(data, period, graph_limit, workers)


def graph_measures(
    data: EngineInput, period: Period, *, graph_limit: int = 50, workers: int | None = None
) -> pl.DataFrame:
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
    return start_graph_measures(data, period, graph_limit=graph_limit, workers=workers).result()


def _measures_frame(data: EngineInput, measured: list[tuple[str, Measure]]) -> pl.DataFrame:
    comms = communities(data)
    rows = [
        {CODE: code, "n": int(membership.shape[0]), "m": m, "largest": largest, "triples": triples}
        | {"closed": closed, "E": float(e), "I": float(i)}
        for code, (membership, m, largest, triples, closed, e, i) in measured
    ]
    schema = {CODE: pl.Utf8, "n": pl.Int64, "m": pl.Int64, "largest": pl.Int64, "triples": pl.Float64}
    measured_frame = pl.DataFrame(rows, schema={**schema, "closed": pl.Float64, "E": pl.Float64, "I": pl.Float64})
    wide = comms.join(measured_frame, on=CODE, how="left").with_columns(
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
    parts = graph_parts(data, period, graph_limit=graph_limit)
    result: dict[str, dict[str, Any]] = {}
    for ci, code in enumerate(parts.codes):
        nodes = parts.node_frame(ci)
        n = nodes.height
        if n == 0:
            result[code] = {"nodes": [], "edges": [], "truncated": False, "nodes_total": 0, "edges_total": 0}
            continue
        edges = parts.edge_array(ci)
        known = parts.components.get(code)
        if known is None:
            known = (_components(n, edges), int(edges.shape[0]))
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
        households = nodes.get_column("household").gather(order).fill_null(UNKNOWN_GROUP).to_list()
        drawn_nodes = [[group, rank] for group, rank in zip(households, node_rank[order].tolist(), strict=True)]
        drawn_edges: list[list[int]] = []
        if edges.shape[0]:
            pa = position[edges[:, 0]]
            pb = position[edges[:, 1]]
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
    forget("graph_parts")
