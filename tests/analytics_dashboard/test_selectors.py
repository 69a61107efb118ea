"""The dashboard selectors read snapshots: values, scores, diagnosis, trend, ranking, network — in a constant number of
queries, for the user's own subtree only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from gongzhi.analytics.dashboard import selectors
from gongzhi.analytics.engine.config import MeasureConfig
from gongzhi.analytics.models import DiagnosisSnapshot, GraphSnapshot, IndicatorSnapshot
from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.people.models import Role
from tests import factories

from .snapshots import store

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def test_dashboard_of_a_community_reads_its_snapshots(tree, people, measured):
    board = selectors.dashboard(user=people.admin, place=tree.comm_a1)
    assert board.period == "2025"  # the newest period with results
    assert [p.key for p in board.periods] == ["2025", "2024"]
    rows = measured.rows[(tree.comm_a1.code, "2025")]
    dims = {d.row: d for d in board.dimensions}
    assert list(dims) == ["DIM_I", "DIM_II", "DIM_III", "COMPOSITE"]
    for row, d in dims.items():
        assert d.score == pytest.approx(rows[row]["score"])
    assert board.computation is not None and board.computation.threshold == 60.0
    assert board.computation.weighting_label == "等权" and board.computation.changed_goalposts == []
    # Every stored indicator, in the method's order (core, then counts), with its raw value and score.
    ids = [i.id for i in board.indicators]
    assert ids[:5] == ["I1", "I2", "I3", "I4", "I5"] and ids[-4:] == ["POP", "NODES", "EDGES", "DENSITY"]
    assert "DIM_I" not in ids and "COMPOSITE" not in ids
    i1 = board.indicator("I1")
    assert (
        i1 is not None
        and i1.value == pytest.approx(rows["I1"]["value"])
        and i1.score == pytest.approx(rows["I1"]["score"])
    )
    assert i1.goalposts == (0.0, 0.5) and i1.goalposts_text == "0.0% → 50.0%"
    assert i1.fraction_text() == f"{rows['I1']['numerator']:,.10g} / {rows['I1']['denominator']:,.10g}"
    pop = board.indicator("POP")
    assert pop is not None and pop.score is None and pop.score_text == "" and not pop.has_ratio


def test_null_values_show_no_data(tree, people, measured):
    # comm_a1 (seed 0) closed no issue in 2024: II6 is null, its score too.
    board = selectors.dashboard(user=people.admin, place=tree.comm_a1, period="2024")
    ii6 = board.indicator("II6")
    assert ii6 is not None and ii6.value is None and ii6.score is None
    assert ii6.value_text == "暂无数据" and ii6.score_text == "暂无数据"


def test_diagnosis_names_the_dilemma_strategy_and_weak_indicators(tree, people, measured):
    board = selectors.dashboard(user=people.admin, place=tree.comm_a1, period="2025")
    stored = DiagnosisSnapshot.objects.get(place=tree.comm_a1, period="2025")
    assert stored.dilemmas  # the weak community has a dominant dilemma
    assert board.diagnosis is not None
    dims = [d.dim.id for d in board.diagnosis.dilemmas]
    assert ";".join(dims) == stored.dilemmas
    first = board.diagnosis.dilemmas[0]
    assert [w.id for w in first.weak] == [i for i in stored.weak[first.dim.id] if board.indicator(i)]
    assert all(board.indicator(w.id).weak for w in first.weak)  # type: ignore[union-attr]
    assert str(first.dim.strategy) in {"强化学习共同体孵化机制", "强化社会组织培育机制", "扩大教育资源供给范围"}
    assert {d.row for d in board.dimensions if d.dilemma} == {f"DIM_{d}" for d in dims}


def test_no_dominant_dilemma_names_the_lowest_dimension(tree, people, measured):
    board = selectors.dashboard(user=people.admin, place=tree.comm_a2, period="2025")
    assert board.diagnosis is not None and board.diagnosis.dilemmas == []
    assert board.diagnosis.text == "无明显短板"
    lowest = board.diagnosis.lowest
    assert lowest is not None
    assert lowest.score == min(d.score for d in board.dimensions if d.dim is not None)  # type: ignore[type-var]


def test_trend_has_every_period_split_by_year_and_quarter(tree, people):
    store([(tree.comm_a1, 1)], ("2024", "2025"))
    store([(tree.comm_a1, 1)], ("2025Q1", "2025Q2", "2024Q4"))
    board = selectors.dashboard(user=people.admin, place=tree.comm_a1)
    assert board.period == "2025"  # the year ends last
    assert [p.key for p in board.years] == ["2025", "2024"]
    assert [p.key for p in board.quarters] == ["2025Q2", "2025Q1", "2024Q4"]
    assert board.trend["year"]["periods"] == ["2024", "2025"]
    assert board.trend["quarter"]["periods"] == ["2024Q4", "2025Q1", "2025Q2"]
    assert board.trend["quarter"]["labels"][0] == "2024 年第 4 季度"
    for row in ("DIM_I", "DIM_II", "DIM_III", "COMPOSITE"):
        assert len(board.trend["year"][row]) == 2 and None not in board.trend["year"][row]
    q = selectors.dashboard(user=people.admin, place=tree.comm_a1, period="2025Q1")
    assert q.period == "2025Q1" and q.has_data


def test_a_later_quarter_is_the_newest_period(tree, people):
    store([(tree.comm_a1, 1)], ("2025", "2026Q1"))
    assert selectors.dashboard(user=people.admin, place=tree.comm_a1).period == "2026Q1"


def test_a_period_without_results_is_empty_not_an_error(tree, people, measured):
    board = selectors.dashboard(user=people.admin, place=tree.comm_a1, period="2019")
    assert board.requested_missing and not board.has_data and board.indicators == [] and board.diagnosis is None
    assert [p.key for p in board.periods] == ["2025", "2024"]  # what there is to choose instead


def test_nothing_computed_yet(tree, people):
    board = selectors.dashboard(user=people.admin, place=tree.district)
    assert board.period is None and board.periods == [] and not board.has_data and board.ranking is None


def test_ranking_of_children_sorted_by_composite_with_places_without_data(tree, people, measured):
    factories.place_chain("330102001009")  # a community of street A never computed
    board = selectors.dashboard(user=people.admin, place=tree.street_a, period="2025")
    ranking = board.ranking
    assert ranking is not None and ranking.mode == "children" and ranking.modes == ["children"]
    assert [r.code for r in ranking.rows] == [tree.comm_a2.code, tree.comm_a1.code, "330102001009"]
    assert [r.rank for r in ranking.rows] == [1, 2, None]
    assert ranking.total == 3 and ranking.with_data == 2 and not ranking.truncated
    top = ranking.rows[0]
    assert top.scores["COMPOSITE"] == pytest.approx(measured.rows[(tree.comm_a2.code, "2025")]["COMPOSITE"]["score"])
    assert top.dilemma_text == "无明显短板" and ranking.rows[2].has_data is False


def test_district_compares_streets_or_every_community(tree, people, measured):
    board = selectors.dashboard(user=people.admin, place=tree.district, period="2025")
    assert board.ranking is not None and board.ranking.modes == ["children", "communities"]
    assert {r.code for r in board.ranking.rows} == {tree.street_a.code, tree.street_b.code}
    board = selectors.dashboard(user=people.admin, place=tree.district, period="2025", compare="communities")
    assert board.ranking is not None and board.ranking.mode == "communities"
    assert [r.code for r in board.ranking.rows] == [tree.comm_a2.code, tree.comm_b1.code, tree.comm_a1.code]
    assert board.ranking.total == 3
    # Anything else is the children.
    board = selectors.dashboard(user=people.admin, place=tree.district, period="2025", compare="bogus")
    assert board.ranking is not None and board.ranking.mode == "children"
    # A community compares nothing.
    assert selectors.dashboard(user=people.admin, place=tree.comm_a1).ranking is None


def test_changed_settings_are_shown(tree, people):
    config = MeasureConfig.from_overrides(goalposts={"I1": [0.0, 0.4]}, threshold=70, weighting="entropy")
    store([(tree.comm_a1, 1)], ("2025",), config=config)
    board = selectors.dashboard(user=people.admin, place=tree.comm_a1)
    comp = board.computation
    assert comp is not None and comp.threshold == 70 and comp.weighting_label == "熵权法"
    assert comp.changed_goalposts == [("I1", "参与覆盖率", 0.0, 0.4)]
    assert board.indicator("I1").goalposts == (0.0, 0.4)  # type: ignore[union-attr]
    assert board.threshold == 70


def test_crumbs_are_limited_to_what_the_user_may_see(tree, people, measured):
    assert [c.code for c in selectors.dashboard(user=people.admin, place=tree.comm_a1).crumbs] == [
        tree.district.code,
        tree.street_a.code,
    ]
    assert [c.code for c in selectors.dashboard(user=people.street_a, place=tree.comm_a1).crumbs] == [
        tree.street_a.code
    ]
    assert selectors.dashboard(user=people.worker_a1, place=tree.comm_a1).crumbs == []


@pytest.mark.parametrize(
    ("who", "place", "allowed"),
    [
        ("admin", "district", True),
        ("admin", "comm_b1", True),
        ("admin", "other_comm", False),
        ("street_a", "street_a", True),
        ("street_a", "comm_a2", True),
        ("street_a", "district", False),
        ("street_a", "street_b", False),
        ("street_b", "comm_a1", False),
        ("worker_a1", "comm_a1", True),
        ("worker_a1", "street_a", False),
        ("worker_a2", "comm_a1", False),
        ("resident", "comm_a1", False),
    ],
)
def test_selectors_check_the_place(tree, people, measured, who, place, allowed):
    user, target = getattr(people, who), getattr(tree, place)
    if allowed:
        assert selectors.place_for_dashboard(user=user, code=target.code) == target
        assert selectors.dashboard(user=user, place=target).place == target
    else:
        with pytest.raises(NotFound):
            selectors.place_for_dashboard(user=user, code=target.code)
        with pytest.raises(NotFound):
            selectors.dashboard(user=user, place=target)
        if target.level == "community":
            with pytest.raises(NotFound):
                selectors.network(user=user, place=target)


def test_unknown_or_malformed_codes_are_not_found(people, tree):
    for code in ("330102009999", "abc", "", "33010200100"):
        with pytest.raises(NotFound):
            selectors.place_for_dashboard(user=people.admin, code=code)


def test_network_of_a_community(tree, people, measured):
    net = selectors.network(user=people.admin, place=tree.comm_a2)
    assert net.period == "2025"
    stored = GraphSnapshot.objects.get(place=tree.comm_a2, period="2025")
    assert (
        net.truncated and net.nodes_drawn == len(stored.data["nodes"]) < net.nodes_total == stored.data["nodes_total"]
    )
    assert net.edges_total == stored.data["edges_total"]
    counts = net.group_counts
    assert counts["local"] + counts["new_citizen"] == net.nodes_drawn and counts["new_citizen"] > 0
    assert [m.id for m in net.measures] == ["NODES", "EDGES", "DENSITY", "III5", "III6", "III7"]
    iii5 = net.measure("III5")
    assert iii5 is not None and iii5.value == pytest.approx(measured.rows[(tree.comm_a2.code, "2025")]["III5"]["value"])
    assert not selectors.network(user=people.admin, place=tree.comm_a1).truncated
    with pytest.raises(NotFound):
        selectors.network(user=people.admin, place=tree.street_a)  # streets have no graph
    missing = selectors.network(user=people.admin, place=tree.comm_a1, period="2020")
    assert missing.requested_missing and missing.graph is None


def test_network_measures_without_rows_are_no_data(tree, people, measured):
    IndicatorSnapshot.objects.filter(place=tree.comm_a1, period="2025", indicator="III7").delete()
    net = selectors.network(user=people.admin, place=tree.comm_a1)
    m = net.measure("III7")
    assert m is not None and m.value is None and m.value_text == "暂无数据"


# --- a constant number of queries ------------------------------------------------------------------------------------


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_communities_or_periods(tree):
    # Street B: one community × 2 periods. Street A: three communities × 2 periods (one more community made here).
    extra = factories.place_chain("330102001003")
    store([(tree.comm_b1, 1)], ("2024", "2025"), rollup_to=[tree.street_b])
    store(
        [(tree.comm_a1, 0), (tree.comm_a2, 2), (extra, 3)],
        ("2024", "2025"),
        rollup_to=[tree.street_a, tree.district],
    )
    admin = factories.staff(Role.ADMIN, tree.district)
    access.user_grants(admin)  # the grants are read once per request, before any page reads
    small = _count(lambda: selectors.dashboard(user=admin, place=tree.street_b))
    large = _count(lambda: selectors.dashboard(user=admin, place=tree.street_a))
    assert small == large == 8  # see the selectors module docstring
    # More periods do not add queries either; nor does comparing every community of the district.
    store([(extra, 1)], ("2023", "2022Q1", "2022Q2"), rollup_to=[tree.street_a])
    assert _count(lambda: selectors.dashboard(user=admin, place=tree.street_a)) == large
    # (The district has no ancestor its admin may see: no breadcrumb query.)
    district = _count(lambda: selectors.dashboard(user=admin, place=tree.district, compare="communities"))
    assert district == _count(lambda: selectors.dashboard(user=admin, place=tree.district)) == large - 1
    # A community's page (no ranking) and its network.
    one = _count(lambda: selectors.dashboard(user=admin, place=tree.comm_b1))
    many = _count(lambda: selectors.dashboard(user=admin, place=extra))
    assert one == many
    assert _count(lambda: selectors.network(user=admin, place=tree.comm_b1)) == _count(
        lambda: selectors.network(user=admin, place=extra)
    )
