"""The catalogue: a Chinese name, a formula and a unit for every indicator id the engine stores; the three dimensions
with the paper's dilemmas, strategies and actions; values written in their units, nulls as 暂无数据."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from gongzhi.analytics import catalogue
from gongzhi.analytics.engine import spec

ALL_IDS = (
    *spec.EXPORT_IDS,
    *(s.id for s in spec.SURVEY),
    *spec.EXTRA_IDS,
    *spec.DIMENSION_ROWS.values(),
    spec.COMPOSITE,
)


@pytest.mark.parametrize("id_", ALL_IDS)
def test_every_stored_indicator_has_a_name_formula_and_unit(id_):
    info = catalogue.indicator(id_)
    assert info is catalogue.INDICATORS[id_]
    assert str(info.name) and str(info.formula)
    assert info.unit in catalogue.UNITS
    assert info.dimension == spec.dimension_of(id_) or id_ in {*spec.DIMENSION_ROWS.values(), spec.COMPOSITE}
    assert info.scored == (id_ in spec.BY_ID and spec.BY_ID[id_].scored)


def test_method_chinese_names():
    with translation.override("zh-hans"):
        names = {i: str(catalogue.indicator(i).name) for i in spec.EXPORT_IDS}
    assert names["I1"] == "参与覆盖率" and names["I2"] == "持续参与率" and names["I5"] == "学治转化率"
    assert names["II1"] == "组织密度" and names["II6"] == "议事规范"
    assert names["III2"] == "资源多样性" and names["III5"] == "桥接" and names["III6"] == "网络连通"


def test_units_of_the_method():
    unit = {i: catalogue.indicator(i).unit for i in ALL_IDS}
    assert {unit[i] for i in ("I1", "I2", "I3", "I4", "I5", "II2", "II3", "II5", "II6", "III3", "III4", "III6")} == {
        "share"
    }
    assert unit["II1"] == unit["III1"] == unit["E1"] == unit["E2"] == unit["G1"] == "per_1000"
    assert unit["II4"] == "hours" and unit["III2"] == "entropy" and unit["III5"] == "index" and unit["G2"] == "days"
    assert unit["S_TRUST"] == "likert" and unit["POP"] == "count" and unit["COMPOSITE"] == "score"


@pytest.mark.parametrize(
    ("id_", "value", "text"),
    [
        ("I1", 0.4567, "45.7%"),
        ("I1", 0.0, "0.0%"),
        ("II1", 2.5, "2.50 / 千人"),
        ("II4", 1.25, "1.25 小时/人"),
        ("III2", 0.71234, "0.712"),
        ("III5", -0.35, "−0.350"),
        ("III5", 0.2, "+0.200"),
        ("G2", 12.0, "12.0 天"),
        ("POP", 12345.0, "12,345"),
        ("S_TRUST", 3.84, "3.84 / 5"),
        ("I1", None, "暂无数据"),
        ("III5", float("nan"), "暂无数据"),
    ],
)
def test_values_are_written_in_their_unit(id_, value, text):
    with translation.override("zh-hans"):
        assert catalogue.indicator(id_).format(value) == text


def test_unknown_id_gets_a_plain_entry():
    info = catalogue.indicator("X9")
    assert info.name == "X9" and not info.scored


def test_dimensions_dilemmas_and_strategies_of_the_paper():
    with translation.override("zh-hans"):
        dims = {d: catalogue.dimension(d) for d in spec.DIMENSIONS}
        assert [str(d.name) for d in dims.values()] == ["信任/参与", "规范/组织", "网络/资源"]
        assert [str(d.dilemma) for d in dims.values()] == ["参与不足", "组织化主体不足", "资源分散"]
        assert [str(d.strategy) for d in dims.values()] == [
            "强化学习共同体孵化机制",
            "强化社会组织培育机制",
            "扩大教育资源供给范围",
        ]
        assert dims["I"].label == "维度Ⅰ 信任/参与"
        text_ii = " ".join(str(a.text) for a in dims["II"].actions)
        assert "准入制度" in text_ii and "需求调查" in text_ii
        text_iii = " ".join(str(a.text) for a in dims["III"].actions)
        assert "学习空间" in text_iii and "资源网络" in text_iii
        assert "市场遴选、末位淘汰" in " ".join(str(a.text) for a in dims["I"].actions)
    for d in dims.values():
        assert 2 <= len(d.actions) <= 4
        assert d.row == spec.DIMENSION_ROWS[d.id]


def test_every_action_link_is_an_existing_page():
    for d in catalogue.DIMENSIONS.values():
        for a in d.actions:
            if a.url_name:
                assert reverse(a.url_name).startswith("/")
                assert str(a.link_label)


def test_dilemma_texts():
    with translation.override("zh-hans"):
        assert catalogue.parse_dilemmas("III;I") == ["I", "III"]
        assert catalogue.parse_dilemmas("") == []
        assert catalogue.dilemma_text("") == "无明显短板"
        assert catalogue.dilemma_text("II;III") == "组织化主体不足；资源分散"
        assert catalogue.strategy_text("I") == "强化学习共同体孵化机制"
        assert catalogue.strategy_text("") == ""


def test_english_names_come_from_the_catalogue_not_the_code():
    # The names are lazy translations: rendering in another language goes through gettext (no crash, a string).
    with translation.override("en"):
        assert isinstance(str(catalogue.indicator("I1").name), str)
        data = catalogue.as_json()
    assert set(data["indicators"]) >= set(ALL_IDS)
    assert data["dimensions"]["III"]["row"] == "DIM_III"
