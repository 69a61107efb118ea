"""``keys.encode_ids``: ids coded as integers, consistently across frames and in id order (every indicator test also
runs on coded ids: ``helpers.run``)."""

from __future__ import annotations

import polars as pl

from gongzhi.analytics.engine import graphs
from gongzhi.analytics.engine.keys import CODE_DTYPE, encode_ids, is_encoded
from gongzhi.analytics.engine.periods import Period

from .helpers import world
from .test_graphs import random_world

P = Period.parse("2025")


def small():
    return world(
        residents=[("r-b", "A", "local", None, None), ("r-a", "A", "local", None, None)],
        activities=[("act-2", "A", "org_event", "2025-02-01", ""), ("act-1", "A", "org_event", "2025-01-01", "o1")],
        attendance=[("act-1", "r-b", None), ("act-2", "r-a", 1.5), ("act-2", "outsider", None)],
        memberships=[("o1", "r-a", None, None)],
    )


def test_codes_follow_id_order_and_agree_across_frames():
    coded = encode_ids(small())
    assert is_encoded(coded)
    assert coded.residents["resident_id"].dtype == CODE_DTYPE
    # resident ids outsider < r-a < r-b (from every frame), activity ids act-1 < act-2
    assert coded.residents["resident_id"].to_list() == [2, 1]
    assert coded.attendance.rows() == [(0, 2, None), (1, 1, 1.5), (1, 0, None)]
    assert coded.memberships["resident_id"].to_list() == [1]
    assert coded.memberships["organization_id"].to_list() == coded.activities["organization_id"].to_list()[1:]


def test_an_empty_id_becomes_null_and_other_columns_are_untouched():
    data = small()
    coded = encode_ids(data)
    assert coded.activities["organization_id"].to_list()[0] is None  # "" = organised by staff
    assert coded.activities.columns == data.activities.columns
    assert coded.activities.drop("activity_id", "organization_id").equals(
        data.activities.drop("activity_id", "organization_id")
    )
    assert coded.attendance["hours"].to_list() == data.attendance["hours"].to_list()


def test_coded_input_is_returned_as_it_is():
    coded = encode_ids(small())
    assert encode_ids(coded) is coded
    assert not is_encoded(small())


def test_the_graph_and_its_drawings_are_the_same_with_coded_ids():
    data = random_world(5)
    graphs.clear_cache()
    measures = graphs.graph_measures(data, P, graph_limit=8)
    drawn = graphs.drawings(data, P, graph_limit=8)
    coded = encode_ids(data)
    assert graphs.graph_measures(coded, P, graph_limit=8).equals(measures)
    assert graphs.drawings(coded, P, graph_limit=8) == drawn
    # the edges name the same residents, as codes
    names = dict(zip(coded.residents["resident_id"].to_list(), data.residents["resident_id"].to_list(), strict=True))
    by_code = graphs.coparticipation_edges(coded, P, graph_limit=8)
    by_id = graphs.coparticipation_edges(data, P, graph_limit=8)
    assert by_code.with_columns(pl.col("a", "b").replace_strict(names)).equals(by_id)
    graphs.clear_cache()
