"""compute_indicators and export_indicators: clear Chinese + English errors for a bad period, an unknown place or a
period not computed yet, and nothing changes; the summary on stdout; the export's number format."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gongzhi.analytics.exporting import number
from gongzhi.analytics.models import Computation, IndicatorSnapshot
from tests.analytics_support import measured_world

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("options", "chinese", "english"),
    [
        ({"period": "2025Q5"}, "时期应为年份（如 2025）或季度（如 2025Q1）", "bad period"),
        ({"period": "25"}, "时期应为年份", "bad period"),
        ({"period": "2025", "place": "330102009009"}, "找不到区划 330102009009", "unknown place 330102009009"),
        ({"period": "2025", "place": "abc"}, "找不到区划 abc", "unknown place abc"),
    ],
)
def test_compute_indicators_refuses_bad_input_and_writes_nothing(tree, options, chinese, english):
    with pytest.raises(CommandError) as caught:
        call_command("compute_indicators", no_progress=True, **options)
    assert chinese in str(caught.value) and english in str(caught.value)
    assert not Computation.objects.exists() and not IndicatorSnapshot.objects.exists()


def test_compute_indicators_reports_what_it_did(tree):
    out = StringIO()
    call_command("compute_indicators", period="2025", place=tree.street_a.code, stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "已计算 2 个社区" in text and "computed 2 communities" in text
    assert Computation.objects.get().trigger == "command"


def test_export_needs_a_computed_period_and_a_known_place(tree, tmp_path):
    measured_world(tree, periods=("2025",))
    out = tmp_path / "x.csv"
    with pytest.raises(CommandError) as caught:
        call_command("export_indicators", period="2024", output=str(out))
    assert "2024 尚未计算" in str(caught.value) and "run compute_indicators first" in str(caught.value)
    with pytest.raises(CommandError) as caught:
        call_command("export_indicators", period="2025", place="330102009009", output=str(out))
    assert "找不到区划" in str(caught.value)
    with pytest.raises(CommandError):
        call_command("export_indicators", period="2025x", output=str(out))
    assert not out.exists()
    call_command("export_indicators", period="2025", place=tree.street_a.code, output=str(out), stdout=StringIO())
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "place_code,period,indicator,value,score"
    assert len(lines) == 1 + 2 * 26  # two communities × (22 ids + 4 score rows)
    assert {line.split(",")[0] for line in lines[1:]} == {tree.comm_a1.code, tree.comm_a2.code}


def test_numbers_are_written_deterministically():
    assert number(None) == ""
    assert number(0.1 + 0.2) == "0.3"
    assert number(-0.0) == "0"
    assert number(200 / 3) == "66.66666667"
    assert number(1234567.891) == "1234567.891"
    assert number(1e-7) == "1e-07"
