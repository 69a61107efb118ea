"""The co-participation graph: hand-made cases, and seeded random worlds checked against NetworkX built independently
from the raw rows."""

from __future__ import annotations

import datetime
import itertools
import json
import random

import networkx as nx
import polars as pl
import pytest

from gongzhi.analytics.engine import graphs, prep
from gongzhi.analytics.engine.graphs import coparticipation_edges, drawings, graph_measures
from gongzhi.analytics.engine.periods import Period

from .helpers import run, world

Y = "2020-01-01"
P = Period.parse("2025")


def hand_world():
    residents = [
        ("a1", "A", "local", Y, None),
        ("a2", "A", "new_citizen", Y, None),
        ("a3", "A", "local", Y, None),
        ("a4", "A", "local", Y, None),
        ("a5", "A", "new_citizen", Y, None),
        ("a6", "A", "local", Y, "2025-03-01"),  # left during the year: still a resident of A
        ("b1", "B", "local", Y, None),
        ("b2", "B", "local", Y, None),
    ]
    activities = [
        ("t1", "A", "course_session", "2025-01-10", None),
        ("t2", "S", "org_event", "2025-02-10", None),  # street-held
        ("t3", "B", "volunteer_event", "2025-03-10", None),  # held in B
        ("big", "A", "course_session", "2025-04-10", None),  # 4 present (one of another community) > limit 3
        ("old", "A", "course_session", "2024-04-10", None),
        ("solo", "A", "org_event", "2025-05-10", None),
    ]
    attendance = [
        ("t1", "a1", None),
        ("t1", "a2", None),
        ("t1", "a3", None),  # triangle a1 a2 a3
        ("t2", "a3", None),
        ("t2", "a4", None),  # a3–a4
        ("t2", "b1", None),  # b1 meets A's residents: no edge in either graph
        ("t3", "b1", None),
        ("t3", "b2", None),  # B: b1–b2
        ("big", "a1", None),
        ("big", "a4", None),
        ("big", "a5", None),
        ("big", "zz", None),  # unknown resident still counts toward the limit
        ("old", "a5", None),
        ("old", "a1", None),
        ("solo", "a6", None),  # an isolated node
    ]
    return world(residents=residents, activities=activities, attendance=attendance)


def test_hand_case_measures():
    r = run(hand_world(), graph_limit=3)
    # A: nodes a1…a6 (a5 only at "big", which makes no edges); edges a1a2 a1a3 a2a3 a3a4
    assert r[("A", "NODES")] == (6.0, None, None)
    assert r[("A", "EDGES")] == (4.0, None, None)
    assert r[("A", "DENSITY")] == (4 / 15, 4.0, 15.0)
    # E (local–new citizen): a1a2 a2a3 = 2; I: a1a3 a3a4 = 2 → 0
    assert r[("A", "III5")] == (0.0, 0.0, 4.0)
    # components {a1 a2 a3 a4}, {a5}, {a6} → 4/6
    assert r[("A", "III6")] == (pytest.approx(4 / 6), 4.0, 6.0)
    # degrees a1 2, a2 2, a3 3, a4 1 → triples 1 + 1 + 3 = 5; one triangle → 3/5
    assert r[("A", "III7")] == (pytest.approx(0.6), 3.0, 5.0)
    # B: b1b2, both local → I = 1 → −1
    assert r[("B", "III5")] == (-1.0, -1.0, 1.0)
    assert r[("B", "III6")] == (1.0, 2.0, 2.0)
    assert r[("B", "III7")] == (None, 0.0, 0.0)  # no connected triple
    assert r[("B", "DENSITY")] == (1.0, 1.0, 1.0)


def test_a_higher_limit_lets_the_big_activity_make_ties():
    r = run(hand_world(), graph_limit=4)
    # big adds a1a4 a1a5 a4a5 → 7 edges, one component of a1…a5
    assert r[("A", "EDGES")][0] == 7.0
    assert r[("A", "III6")][0] == pytest.approx(5 / 6)


def test_empty_graph_is_null_except_the_counts():
    r = run(world(residents=[("a1", "A", "local", Y, None)]))
    for code in ("A", "B"):
        assert r[(code, "NODES")] == (0.0, None, None)
        assert r[(code, "EDGES")] == (0.0, None, None)
        for ind in ("III5", "III6", "III7", "DENSITY"):
            assert r[(code, ind)][0] is None


def test_single_node_and_unknown_groups():
    residents = [("a1", "A", None, Y, None), ("a2", "A", "local", Y, None), ("b1", "B", "local", Y, None)]
    activities = [("t", "A", "org_event", "2025-06-01", None), ("u", "B", "org_event", "2025-06-01", None)]
    attendance = [("t", "a1", None), ("t", "a2", None), ("u", "b1", None)]
    r = run(world(residents=residents, activities=activities, attendance=attendance))
    # A's only edge has an end of unknown group: neither E nor I → null
    assert r[("A", "EDGES")][0] == 1.0
    assert r[("A", "III5")] == (None, 0.0, 0.0)
    # B: one node, no edge → density null, largest component 1/1
    assert r[("B", "DENSITY")][0] is None
    assert r[("B", "III6")][0] == 1.0
    drawing = drawings(world(residents=residents, activities=activities, attendance=attendance), P)
    assert drawing["A"]["nodes"] == [["unknown", 0], ["local", 0]]


def test_coparticipation_edges_are_resident_pairs_within_a_community():
    edges = coparticipation_edges(hand_world(), P, graph_limit=3)
    assert edges.columns == ["community_code", "a", "b"]
    assert edges.rows() == [
        ("A", "a1", "a2"),
        ("A", "a1", "a3"),
        ("A", "a2", "a3"),
        ("A", "a3", "a4"),
        ("B", "b1", "b2"),
    ]


def test_drawings_hold_groups_and_component_ranks_but_no_ids():
    drawn = drawings(hand_world(), P, graph_limit=3)
    a = drawn["A"]
    # node numbers a1…a6 = 0…5; components: {0,1,2,3} rank 0, {4} rank 1, {5} rank 2
    assert a["nodes"] == [
        ["local", 0],
        ["new_citizen", 0],
        ["local", 0],
        ["local", 0],
        ["new_citizen", 1],
        ["local", 2],
    ]
    assert a["edges"] == [[0, 1], [0, 2], [1, 2], [2, 3]]
    assert (a["truncated"], a["nodes_total"], a["edges_total"]) == (False, 6, 4)
    text = json.dumps(drawn)
    assert not any(rid in text for rid in ("a1", "a2", "b1", "zz"))
    assert drawn["B"]["nodes"] == [["local", 0], ["local", 0]]


def test_drawings_are_capped_keeping_the_largest_components_first():
    # A: a path of 2 (p0 p1), a triangle (q0 q1 q2), an isolated node (r0); sorted ids: p0 p1 q0 q1 q2 r0
    residents = [(rid, "A", "local", Y, None) for rid in ("p0", "p1", "q0", "q1", "q2", "r0")]
    activities = [("x", "A", "org_event", "2025-06-01", None), ("y", "A", "org_event", "2025-06-02", None)]
    attendance = [("x", "p0", None), ("x", "p1", None), ("y", "q0", None), ("y", "q1", None), ("y", "q2", None)]
    attendance.append(("z", "r0", None))
    activities.append(("z", "A", "org_event", "2025-06-03", None))
    data = world(residents=residents, activities=activities, attendance=attendance)
    full = drawings(data, P)["A"]
    # the triangle (nodes 2, 3, 4) is rank 0, the path (0, 1) rank 1, r0 (5) rank 2; drawing order follows ranks
    assert full["nodes"] == [["local", 0]] * 3 + [["local", 1]] * 2 + [["local", 2]]
    assert full["edges"] == [[0, 1], [0, 2], [1, 2], [3, 4]]
    cut = drawings(data, P, max_nodes=4)["A"]
    assert cut["nodes"] == [["local", 0]] * 3 + [["local", 1]]
    assert cut["edges"] == [[0, 1], [0, 2], [1, 2]]
    assert (cut["truncated"], cut["nodes_total"], cut["edges_total"]) == (True, 6, 4)
    assert drawings(world(), P)["A"] == {
        "nodes": [],
        "edges": [],
        "truncated": False,
        "nodes_total": 0,
        "edges_total": 0,
    }


def test_same_input_gives_the_same_drawing_and_measures():
    graphs.clear_cache()
    first = json.dumps(drawings(hand_world(), P, graph_limit=3), sort_keys=True)
    second = json.dumps(drawings(hand_world(), P, graph_limit=3), sort_keys=True)
    assert first == second
    assert graph_measures(hand_world(), P).equals(graph_measures(hand_world(), P))


# --- seeded random worlds against NetworkX -----------------------------------------------------------------------


def random_world(seed: int):
    rng = random.Random(seed)
    residents = []
    for code in ("A", "B", "C"):
        for k in range(rng.randint(5, 30)):
            residents.append((f"{code}{k:02d}", code, rng.choice(["local", "new_citizen"]), Y, None))
    ids = [r[0] for r in residents] + ["ghost1", "ghost2"]  # ghosts: present but not residents of the set
    activities, attendance = [], []
    for k in range(rng.randint(10, 40)):
        day = datetime.date(2024, 11, 1) + datetime.timedelta(days=rng.randint(0, 500))  # some outside 2025
        activities.append((f"act{k}", rng.choice(["A", "B", "C", "S"]), "org_event", day.isoformat(), None))
        for rid in rng.sample(ids, rng.randint(1, 12)):
            attendance.append((f"act{k}", rid, None))
    return world(("A", "B", "C"), residents=residents, activities=activities, attendance=attendance)


def networkx_expectations(data, limit: int) -> dict[tuple[str, str], float | None]:
    """The measures computed from the raw rows with plain Python and NetworkX (no engine code)."""
    community = dict(zip(data.residents["resident_id"], data.residents["community_code"], strict=True))
    group = dict(zip(data.residents["resident_id"], data.residents["household"], strict=True))
    in_2025 = {
        a
        for a, day in zip(data.activities["activity_id"], data.activities["starts_on"], strict=True)
        if day.year == 2025
    }
    present: dict[str, set[str]] = {}
    for act, rid in zip(data.attendance["activity_id"], data.attendance["resident_id"], strict=True):
        if act in in_2025:
            present.setdefault(act, set()).add(rid)
    expected: dict[tuple[str, str], float | None] = {}
    for code in ("A", "B", "C"):
        g = nx.Graph()
        for people in present.values():
            ours = sorted(p for p in people if community.get(p) == code)
            g.add_nodes_from(ours)
            if len(people) <= limit:
                g.add_edges_from(itertools.combinations(ours, 2))
        n, m = g.number_of_nodes(), g.number_of_edges()
        e = sum(1 for u, v in g.edges if group[u] != group[v])
        i = m - e
        triples = sum(d * (d - 1) / 2 for _, d in g.degree)
        expected[(code, "NODES")] = n
        expected[(code, "EDGES")] = m
        expected[(code, "DENSITY")] = nx.density(g) if n >= 2 else None
        expected[(code, "III5")] = (e - i) / (e + i) if m else None
        expected[(code, "III6")] = max(len(c) for c in nx.connected_components(g)) / n if n else None
        expected[(code, "III7")] = nx.transitivity(g) if triples else None
    return expected


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("limit", [3, 8, 50])
def test_measures_equal_networkx(seed, limit):
    data = random_world(seed)
    got = {(c, i): v for c, i, v, _, _ in graph_measures(data, P, graph_limit=limit).iter_rows()}
    for key, want in networkx_expectations(data, limit).items():
        if want is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(want, abs=1e-12), key


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_edges_equal_the_pairs_from_raw_rows(seed):
    data = random_world(seed)
    edges = coparticipation_edges(data, P, graph_limit=8)
    drawn = drawings(data, P, graph_limit=8)
    for code in ("A", "B", "C"):
        ours = set(edges.filter(pl.col("community_code") == code).select("a", "b").rows())
        assert all(a < b for a, b in ours)
        assert len(ours) == networkx_expectations(data, 8)[(code, "EDGES")]
        assert drawn[code]["edges_total"] == len(ours)
        assert len(drawn[code]["edges"]) == len(ours)
        ranks = [rank for _, rank in drawn[code]["nodes"]]
        assert ranks == sorted(ranks)


def test_graph_measures_null_when_attendance_missing():
    data = hand_world()
    data.missing = frozenset({"attendance"})
    out = graph_measures(data, P)
    assert out.get_column("value").null_count() == out.height


@pytest.mark.parametrize("seed", [0, 3])
def test_batched_self_join_gives_the_same_graph(seed, monkeypatch):
    data = random_world(seed)
    graphs.clear_cache()
    whole = graph_measures(data, P, graph_limit=8)
    edges = coparticipation_edges(data, P, graph_limit=8)
    monkeypatch.setattr(graphs, "JOIN_BATCH_ROWS", 5)  # many small batches of whole communities
    graphs.clear_cache()
    assert graph_measures(data, P, graph_limit=8).equals(whole)
    assert coparticipation_edges(data, P, graph_limit=8).equals(edges)
    graphs.clear_cache()


def test_the_kept_graph_is_reused_and_forgotten_with_its_frames():
    import gc

    graphs.clear_cache()
    data = hand_world()
    first = graphs.graph_parts(data, P, graph_limit=3)
    assert graphs.graph_parts(data, P, graph_limit=3) is first
    assert graphs.graph_parts(data, P, graph_limit=4) is not first  # another limit: rebuilt
    data.attendance = data.attendance.clone()  # a new frame: rebuilt, and the old entry is gone
    again = graphs.graph_parts(data, P, graph_limit=4)
    del data
    gc.collect()
    assert "graph_parts" not in prep._KEPT
    assert again.edges.height == 8  # A 7, B 1


@pytest.mark.parametrize("seed", [1, 4])
def test_worker_processes_give_what_this_process_gives(seed):
    data = random_world(seed)
    graphs.clear_cache()
    here = graph_measures(data, P, graph_limit=8, workers=0)
    drawn_here = drawings(data, P, graph_limit=8)
    graphs.clear_cache()
    assert graph_measures(data, P, graph_limit=8, workers=2).equals(here)
    assert drawings(data, P, graph_limit=8) == drawn_here  # drawings reuse the workers' components
    graphs.clear_cache()


@pytest.mark.parametrize("seed", [2, 6])
def test_triangles_by_bitsets_are_igraphs_transitivity(seed, monkeypatch):
    data = random_world(seed)
    graphs.clear_cache()
    by_bits = graph_measures(data, P, graph_limit=12)
    graphs.clear_cache()
    monkeypatch.setattr(graphs, "BITSET_MAX_NODES", 0)  # every graph through igraph
    monkeypatch.setattr(graphs, "BITSET_EDGES_PER_STEP", 3)
    assert graph_measures(data, P, graph_limit=12).equals(by_bits)
    graphs.clear_cache()
    assert by_bits.filter(pl.col("indicator") == "III7")["numerator"].sum() > 0  # there were triangles to count


def test_bitset_steps_do_not_change_the_count(monkeypatch):
    import numpy as np

    # a 5-clique (10 triangles) plus a triangle sharing node 4, plus a pendant edge: 11 triangles
    edges = [(a, b) for a in range(5) for b in range(a + 1, 5)] + [(4, 5), (4, 6), (5, 6), (6, 7)]
    array = np.array(edges, dtype=np.int64)
    assert graphs._closed_triples(8, array) == 33
    monkeypatch.setattr(graphs, "BITSET_EDGES_PER_STEP", 2)
    assert graphs._closed_triples(8, array) == 33
    monkeypatch.setattr(graphs, "BITSET_MAX_NODES", 4)
    assert graphs._closed_triples(8, array) == 33  # igraph


def test_graph_workers_by_size_and_override(monkeypatch):
    monkeypatch.delenv("GONGZHI_GRAPH_WORKERS", raising=False)
    monkeypatch.setattr(graphs.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert graphs.graph_workers(graphs.PARALLEL_MIN_EDGES - 1) == 0  # small: not worth starting processes
    assert graphs.graph_workers(graphs.PARALLEL_MIN_EDGES) == 4
    monkeypatch.setattr(graphs.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert graphs.graph_workers(10**9) == 0  # one CPU
    monkeypatch.setenv("GONGZHI_GRAPH_WORKERS", "3")
    assert graphs.graph_workers(10) == 3
    monkeypatch.setenv("GONGZHI_GRAPH_WORKERS", "0")
    assert graphs.graph_workers(10**9) == 0


def test_the_deduplicated_attendance_is_built_once_per_attendance_frame():
    data = hand_world()
    first = prep.attendance(data)
    assert prep.attendance(data) is first
    data.attendance = pl.concat([data.attendance, data.attendance])  # another frame, with every row twice
    again = prep.attendance(data)
    assert again is not first and again.equals(first)
    prep.forget()
    assert prep._KEPT == {}
