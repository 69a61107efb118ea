"""The instrument: twelve items in four scales of three (METHOD.md), each with a Chinese text and an English one; the
Likert labels; the scale ids the engine stores."""

from __future__ import annotations

import re

from gongzhi.analytics.engine import spec
from gongzhi.analytics.survey import instrument

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_four_scales_of_three_items_with_stable_ids():
    assert instrument.SCALES == {
        "trust": ("T1", "T2", "T3"),
        "norms": ("N1", "N2", "N3"),
        "network": ("R1", "R2", "R3"),
        "satisfaction": ("S1", "S2", "S3"),
    }
    assert instrument.ITEMS == ("T1", "T2", "T3", "N1", "N2", "N3", "R1", "R2", "R3", "S1", "S2", "S3")
    assert set(instrument.SCALE_INDICATORS.values()) == set(spec.SURVEY_SCALES)
    assert [instrument.item_number(i) for i in instrument.ITEMS] == list(range(1, 13))


def test_every_item_has_chinese_and_english_wording():
    assert set(instrument.TEXTS) == set(instrument.ITEMS) == set(instrument.ENGLISH)
    for item in instrument.ITEMS:
        chinese, english = str(instrument.TEXTS[item]), instrument.ENGLISH[item]
        assert HAN.search(chinese) and len(chinese) >= 10, item
        assert not HAN.search(english) and len(english.split()) >= 8, item
    assert len({str(t) for t in instrument.TEXTS.values()}) == 12
    # network resources: "could you get help with … from someone you know"
    for item in instrument.SCALES["network"]:
        assert "认识的人" in str(instrument.TEXTS[item]) and "someone I know" in instrument.ENGLISH[item]
    assert set(instrument.SCALE_LABELS) == set(instrument.SCALE_PROMPTS) == set(instrument.SCALES)
    assert set(instrument.SCALE_ENGLISH) == set(instrument.SCALES)
    assert set(instrument.SHORT) == set(instrument.SHORT_ENGLISH) == set(instrument.ITEMS)
    assert len({str(t) for t in instrument.SHORT.values()}) == 12


def test_likert_one_to_five():
    assert [v for v, _label in instrument.LIKERT] == [1, 2, 3, 4, 5] == list(instrument.VALUES)
    assert str(instrument.LIKERT[0][1]) == "非常不同意" and str(instrument.LIKERT[-1][1]) == "非常同意"
    assert instrument.LIKERT_ENGLISH[1] == "Strongly disagree" and instrument.LIKERT_ENGLISH[5] == "Strongly agree"
