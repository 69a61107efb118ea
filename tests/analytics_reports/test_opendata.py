"""Open data: every community beneath a place for a period, no personal data, small counts (1–4) suppressed with a
flag, byte-identical files for the same snapshots, an audit record per export."""

from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest
from django.test import Client
from openpyxl import load_workbook

from gongzhi.analytics.models import IndicatorSnapshot
from gongzhi.analytics.reports import opendata
from gongzhi.core.models import AuditEvent

from .conftest import COMMUNITIES

pytestmark = pytest.mark.django_db


# --- the rule itself --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "hidden"),
    [(0, False), (1, True), (4, True), (5, False), (17, False), (None, False), (0.5, True), (4.9, True)],
)
def test_is_small(count, hidden):
    assert opendata.is_small(count) is hidden


@pytest.mark.parametrize(
    ("indicator", "count", "hidden"), [(i, c, c in (1, 4)) for i in ("POP", "NODES", "EDGES") for c in (0, 1, 4, 5, 17)]
)
def test_counts_between_1_and_4_are_suppressed(indicator, count, hidden):
    (value, _s, _n, _d), flags = opendata.suppress(indicator, float(count), None, None, None)
    assert (value is None) is hidden
    assert flags == (("value",) if hidden else ())


@pytest.mark.parametrize("numerator", [0, 1, 4, 5, 17])
@pytest.mark.parametrize("denominator", [0, 1, 4, 5, 17])
def test_a_ratio_with_a_small_numerator_or_denominator_is_suppressed(numerator, denominator):
    value = numerator / denominator if denominator else None
    score = 100 * min(value / 0.5, 1) if value is not None else None
    (v, s, n, d), flags = opendata.suppress("I1", value, score, float(numerator), float(denominator))
    small_n, small_d = numerator in (1, 4), denominator in (1, 4)
    assert (n is None) is small_n
    assert (d is None) is small_d
    if small_n or small_d:
        assert v is None and s is None
        expected = [
            f
            for f, held in (("value", value), ("score", score), ("numerator", 1), ("denominator", 1))
            if held is not None
        ]
        expected = [
            f
            for f in expected
            if f in ("value", "score") or (f == "numerator" and small_n) or (f == "denominator" and small_d)
        ]
        assert list(flags) == expected
    else:
        assert (v, s, n, d) == (value, score, float(numerator), float(denominator))
        assert flags == ()


def test_graph_measures_of_a_tiny_graph_and_everything_of_a_tiny_community_are_suppressed():
    _vals, flags = opendata.suppress("III6", 1.0, 100.0, None, None, nodes=4, edges=30, population=500)
    assert flags == ("value", "score")
    _vals, flags = opendata.suppress("DENSITY", 0.1, None, None, None, nodes=40, edges=3, population=500)
    assert flags == ("value",)
    _vals, flags = opendata.suppress("III6", 1.0, 100.0, None, None, nodes=40, edges=30, population=500)
    assert flags == ()
    (_v, s, _n, _d), flags = opendata.suppress("DIM_I", None, 55.0, None, None, population=3)
    assert s is None and flags == ("score",)
    # Zero is published: it names nobody.
    assert opendata.suppress("I4", 0.0, 0.0, 0.0, 500.0, population=500)[1] == ()


# --- the files --------------------------------------------------------------------------------------------------


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_the_csv_has_every_community_beneath_with_small_counts_suppressed(snap):
    response = _client(snap.users["admin"]).get(f"/measure/opendata/{snap.tree.district.code}/2025.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="opendata-{snap.tree.district.code}-2025.csv"' in response["Content-Disposition"]
    content = response.content
    assert not content.startswith(b"\xef\xbb\xbf")  # UTF-8 without BOM, like the interchange format
    assert content.split(b"\n")[0].decode() == ",".join(opendata.COLUMNS)
    rows = _csv(content)
    codes = [getattr(snap.tree, k).code for k in COMMUNITIES]
    assert sorted({r["place_code"] for r in rows}) == codes  # communities only, not the streets or the district
    assert [r["place_code"] for r in rows] == sorted(r["place_code"] for r in rows)
    stored = IndicatorSnapshot.objects.filter(period="2025", place__level="community").count()
    assert len(rows) == stored
    by = {(r["place_code"], r["indicator"]): r for r in rows}
    a1, b1 = snap.tree.comm_a1.code, snap.tree.comm_b1.code
    # A large community: published as stored.
    assert (
        by[(a1, "I1")]["value"] == "0.3"
        and by[(a1, "I1")]["numerator"] == "600"
        and by[(a1, "I1")]["denominator"] == "2000"
    )
    assert by[(a1, "I1")]["suppressed"] == ""
    assert by[(a1, "I1")]["place_name"] == "九堡社区" and by[(a1, "I1")]["indicator_name"] == "参与覆盖率"
    # II1 = 6 organisations of 2,000: published; III1 = 5 providers: published (5 is not small).
    assert by[(a1, "III1")]["numerator"] == "5" and by[(a1, "III1")]["suppressed"] == ""
    # II2 = 3 of 6 organisations: the numerator is small, so the share is hidden too.
    assert by[(a1, "II2")]["numerator"] == "" and by[(a1, "II2")]["value"] == "" and by[(a1, "II2")]["score"] == ""
    assert by[(a1, "II2")]["denominator"] == "6"
    assert by[(a1, "II2")]["suppressed"] == "value;score;numerator"
    # II6 = 4 of 5 issues: numerator 4 hidden, denominator 5 shown.
    assert by[(a1, "II6")]["suppressed"] == "value;score;numerator" and by[(a1, "II6")]["denominator"] == "5"
    # A community of 9 people with a graph of 4 nodes and 3 edges.
    assert by[(b1, "POP")]["value"] == "9" and by[(b1, "POP")]["suppressed"] == ""
    assert by[(b1, "NODES")]["value"] == "" and by[(b1, "NODES")]["suppressed"] == "value"
    assert by[(b1, "EDGES")]["value"] == "" and by[(b1, "EDGES")]["suppressed"] == "value"
    for graph in ("III5", "III6", "DENSITY"):
        assert by[(b1, graph)]["value"] == "" and "value" in by[(b1, graph)]["suppressed"]
    assert by[(b1, "I1")]["suppressed"] == "value;score;numerator"  # 4 of 9
    assert by[(b1, "II4")]["value"] == "4" and by[(b1, "II4")]["suppressed"] == ""  # 36 hours of 9 people
    assert by[(b1, "II1")]["value"] == "0" and by[(b1, "II1")]["numerator"] == "0"  # zero names nobody
    # A null is an empty cell with an empty flag (no data), never confused with a hidden number.
    assert by[(b1, "III3")]["value"] == "" and by[(b1, "III3")]["suppressed"] == ""
    # Dimension scores and the composite are published (as scores only).
    assert by[(a1, "COMPOSITE")]["value"] == "" and by[(a1, "COMPOSITE")]["score"] != ""
    # No personal data: the columns are exactly these, and nothing but place names and indicator names is text.
    assert list(rows[0].keys()) == list(opendata.COLUMNS)


def test_the_same_snapshots_give_byte_identical_files(snap):
    client = _client(snap.users["admin"])
    for fmt in ("csv", "xlsx"):
        url = f"/measure/opendata/{snap.tree.district.code}/2025.{fmt}"
        first = client.get(url).content
        time.sleep(1.1)  # a second later: nothing in the file may carry the time of the export
        second = client.get(url).content
        assert first == second, fmt
    data = opendata.opendata_get(user=snap.users["admin"], code=snap.tree.district.code, period="2025")
    assert opendata.to_xlsx(data) == opendata.to_xlsx(data)
    # The workbook's zip entries carry the computation's finish time, not "now".
    with zipfile.ZipFile(io.BytesIO(opendata.to_xlsx(data))) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 1, 2, 9, 30, 0)}
        core = z.read("docProps/core.xml").decode()
    # …and so do the workbook's own dates (openpyxl's save() would write the current time into ``modified``).
    assert core.count("2026-01-02T01:30:00Z") == 2  # 09:30 in Shanghai
    # In English too the file is the same (names are data: always Chinese).
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.force_login(snap.users["admin"])
    english.cookies["django_language"] = "en"
    assert (
        english.get(f"/measure/opendata/{snap.tree.district.code}/2025.csv").content
        == client.get(f"/measure/opendata/{snap.tree.district.code}/2025.csv").content
    )


def test_the_workbook_has_the_rows_and_a_sheet_explaining_the_rules(snap):
    client = _client(snap.users["street_staff"])
    response = client.get(f"/measure/opendata/{snap.tree.street_a.code}/2025.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["数据", "说明"]
    sheet_rows = [[c if c is not None else "" for c in row] for row in book["数据"].iter_rows(values_only=True)]
    csv_rows = list(
        csv.reader(io.StringIO(client.get(f"/measure/opendata/{snap.tree.street_a.code}/2025.csv").content.decode()))
    )
    assert sheet_rows == csv_rows  # the same cells, codes kept as text
    assert {r[0] for r in sheet_rows[1:]} == {snap.tree.comm_a1.code, snap.tree.comm_a2.code}
    about = "\n".join(str(c or "") for row in book["说明"].iter_rows(values_only=True) for c in row)
    assert "小数保护" in about and "1–4" in about and "九堡街道" in about
    assert "无 BOM" in about


def test_every_export_is_audited(snap):
    client = _client(snap.users["street_staff"])
    client.get(f"/measure/opendata/{snap.tree.street_a.code}/2025.csv")
    client.get(f"/measure/opendata/{snap.tree.street_a.code}/2025.xlsx")
    events = list(AuditEvent.objects.filter(target_type="analytics_opendata").order_by("id"))
    assert [e.changes["format"] for e in events] == ["csv", "xlsx"]
    assert all(e.action == "export" and e.actor == snap.users["street_staff"] for e in events)
    assert events[0].place_code == snap.tree.street_a.code and events[0].target_id == f"{snap.tree.street_a.code}:2025"
    assert events[0].changes["communities"] == 2 and events[0].changes["rows"] > 0


def test_a_period_without_results_is_404_and_not_audited(snap):
    client = _client(snap.users["admin"])
    assert client.get(f"/measure/opendata/{snap.tree.district.code}/2023.csv").status_code == 404
    assert client.get(f"/measure/opendata/{snap.tree.district.code}/nope.xlsx").status_code == 404
    assert not AuditEvent.objects.filter(target_type="analytics_opendata").exists()


def test_a_community_exports_itself(snap):
    rows = _csv(_client(snap.users["street_staff"]).get(f"/measure/opendata/{snap.tree.comm_a2.code}/2024.csv").content)
    assert {r["place_code"] for r in rows} == {snap.tree.comm_a2.code}
    assert {r["period"] for r in rows} == {"2024"}


@pytest.mark.parametrize(
    ("between", "within", "hidden"),
    [(0, 40, False), (3, 40, True), (40, 4, True), (5, 40, False), (17, 17, False), (30, 1, True)],
)
def test_bridging_is_suppressed_when_the_edges_across_or_within_the_groups_are_few(between, within, hidden):
    # III5 is stored as (E − I) ÷ (E + I): the pair gives E and I back.
    numerator, denominator = float(between - within), float(between + within)
    (v, _s, n, d), flags = opendata.suppress(
        "III5", numerator / denominator, 50.0, numerator, denominator, nodes=60, edges=denominator, population=500
    )
    assert (v is None) is hidden and (n is None) is hidden
    assert d == denominator
    assert ("numerator" in flags) is hidden
