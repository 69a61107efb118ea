"""The must-show case: a hand-made interchange folder (data/method_case/, every file of METHOD.md's table) for two
communities over 2024 and 2025, imported with ``import_data``, computed with ``compute_indicators --period 2025`` and
written with ``export_indicators``: every exported value below is derived by hand from the files (comments), not by
the engine. Running it twice gives byte-identical files; a narrower scope gives the same community values.

Places: 甲社区 C1 = 330102001001 and 乙社区 C2 = 330102001002 under 方法街道 S = 330102001000 (district 330102000000).
Settings: a province-level version with graph limit 4 (``measure_settings_change``), everything else METHOD.md's
defaults (goalposts, equal weights, threshold 60).

Residents (household): C1 a1 L, a2 L, a3 N, a4 N, a5 L, a6 L (left 2025-06-30);
C2 b1 L, b2 N, b3 L, b4 L (registered 2025-03-01), b5 L (left 2025-04-30), b6 N. (L local, N new citizen.)

N(c, 2025): C1 from population.csv = 200. C2 has a 2024 row only, so N is counted: registered before 2026-01-01 and
not left before it → b1, b2, b3, b4, b6 = 5 (b5 left 2025-04-30).

Activities "in 2025" by their local (Asia/Shanghai) start date:
  A1 C1 course   2024-12-31T17:00Z = 2025-01-01 01:00 local → IN 2025   present a1 a2 a3          uses r1 r2
  A2 C1 course   2025-03-10                                              present a1 a2 b1          uses r2
  A3 C1 learning 2025-04-12, org o1                                      present a1 a4
  A4 C1 deliberation 2025-05-20                                          present a4 a5             uses r3
  A5 C1 volunteer 2025-06-01, org o2                                     present a3(2h) a5(3h) a6(no hours) b2(1.5h)  uses r5
  A6 C1 course   2025-12-31T16:30Z = 2026-01-01 00:30 local → NOT in 2025 (a6 only)
  A7 C1 org_event 2025-09-09, org o1                                     present a1 a2 a3 a4 b3 (a5 absent)  uses r4
  A8 S  course   2025-07-07 (held at the street)                         present a2 a5 b1 b4       uses r3
  A9 C2 course   2025-02-02                                              present b1 b2 b3 (b4 excused)
  A10 C2 learning 2025-08-08, org o3                                     present b1 b2             uses r1
  A11 C2 volunteer 2025-10-10, org o5 (the street's team)                present b3(2h) b4(4h) a5(1h)  uses r5
  A12 C2 deliberation 2025-11-11, org o3                                 present b6
In 2024: B1 C1 course (a1 a2 a4 a6), B2 C1 learning 2024-12-31T23:30+08:00 (a5), B3 C2 course (b1 b2 b5),
B4 C2 course 2025-01-01T00:30+09:00 = 2024-12-31 23:30 local → IN 2024 (b3).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from gongzhi.analytics import services
from gongzhi.analytics.models import Computation, IndicatorSnapshot
from gongzhi.places.models import Place

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "method_case"
C1, C2 = "330102001001", "330102001002"
STREET, DISTRICT, PROVINCE = "330102001000", "330102000000", "330000000000"

LN6 = math.log(6)
# III2 C1: the (activity, resource) uses of activities held in C1 in 2025: A1 r1 venue, A1 r2 teacher, A2 r2 teacher,
# A4 r3 course, A5 r5 volunteer_service, A7 r4 fund → 6 uses, kinds venue 1, teacher 2, course 1, volunteer 1, fund 1:
# H = −(4 · 1/6 ln 1/6 + 2/6 ln 2/6) = 4/6 ln 6 + 1/3 ln 3; ÷ ln 6.
III2_C1 = (4 / 6 * LN6 + 1 / 3 * math.log(3)) / LN6
# III2 C2: A10 r1 venue, A11 r5 volunteer_service → two kinds, one use each: H = ln 2; ÷ ln 6.
III2_C2 = math.log(2) / LN6

# Survey (C1 only; b1's 2024 answer is outside 2025; a1's T1 = 2 of 2025-03-01 is replaced by the later 4):
# trust   T1 (4, 2) → 3, T2 (4, 4) → 4, T3 (4, 3) → 3.5: mean 3.5 → score 100 × (3.5 − 1) ÷ 4 = 62.5
# norms   N1 (3, 5) → 4, N2 (3, 5) → 4, N3 (3, 5) → 4: mean 4 → 75
# network R1 (5, 3) → 4, R2 (5, 3) → 4, R3 (5, 4) → 4.5: mean 12.5/3 → 100 × (12.5/3 − 1) ÷ 4 = 950/12
S_TRUST_C1, S_NORMS_C1, S_NETWORK_C1 = 62.5, 75.0, 950 / 12

# Scores with the default goalposts (lo → hi), 100 × clip((x − lo) ÷ (hi − lo), 0, 1).
DIM_I_C1 = (5 + 100 + 200 / 3 + 12.5 + 100 + S_TRUST_C1) / 6  # I1…I5 and S_TRUST, equal weights
DIM_II_C1 = (100 + 100 + 5 + 0.75 + 100 + 200 / 3 + S_NORMS_C1) / 7  # II1…II6 and S_NORMS
DIM_III_C1 = (100 + 100 * III2_C1 + 100 / 3 + 100 + 100 + 100 + S_NETWORK_C1) / 7  # III1…III6 and S_NETWORK
DIM_I_C2 = (100 + 93.75 + 125 / 3 + 100 + 100) / 5  # no survey in C2: its S_* are left out (weights re-normalised)
DIM_II_C2 = (100 + 100 + 100 + 37.5 + 100) / 5  # II6 is null (no issue of C2 closed in 2025): left out
DIM_III_C2 = (100 + 100 * III2_C2 + 100 / 3 + 100 + 80 + 80) / 6


def fmt(x: float | None) -> str:
    """METHOD.md: null is an empty cell; numbers with (at least) 6 significant digits — here 10, no float noise."""
    return "" if x is None else format(x, ".10g")


# (indicator, value, score) per community, derived by hand.
EXPECTED: dict[str, list[tuple[str, float | None, float | None]]] = {
    C1: [
        # I1 learners (present at a course/learning meeting in 2025, anywhere): a1 (A1 A2 A3), a2 (A1 A2 A8),
        # a3 (A1), a4 (A3), a5 (A8) = 5; a6's only course is A6, which is 2026 locally. 5 ÷ 200 = 0.025 → 5.
        ("I1", 0.025, 5),
        # I2 2024 learners: a1 a2 a4 a6 (B1), a5 (B2) = 5; also learners in 2025: a1 a2 a4 a5 → 4/5 = 0.8 → 100.
        ("I2", 0.8, 100),
        # I3 of the 5 learners, ≥3 education activities: a1 (3), a2 (3) → 2/5 = 0.4 → 100 × 0.4/0.6.
        ("I3", 0.4, 200 / 3),
        # I4 deliberation participants: actions dated in 2025 a3 (comment), a6 (vote), a2 (raise); at A4 a4, a5.
        # a1 raised in 2024 and proposed at 2025-12-31T16:30Z = 2026 locally: not one. 5 ÷ 200 = 0.025 → 12.5.
        ("I4", 0.025, 12.5),
        # I5 learners who deliberate (a2 a3 a4 a5) or volunteer with hours (a3, a5) → a2 a3 a4 a5 = 4/5 → 100.
        ("I5", 0.8, 100),
        # II1 active organisations of C1 (organised an activity in 2025): o1 (A3, A7), o2 (A5) = 2 → 2 ÷ 200 × 1000.
        ("II1", 10, 100),
        # II2 of o1 (professional) and o2 (grassroots): 1/2 → 100.
        ("II2", 0.5, 100),
        # II3 members overlapping 2025 of an active organisation: a1 (o1), a3 (o2, from 2025-02-01), a5 (o5, the
        # street's team, active by A11); a2 left o1 on 2024-12-31. 3 ÷ 200 = 0.015 → 100 × 0.015/0.3 = 5.
        ("II3", 0.015, 5),
        # II4 hours of C1 residents at volunteer events in 2025: a3 2 + a5 3 (A5) + a5 1 (A11 in C2) = 6 ÷ 200.
        ("II4", 0.03, 0.75),
        # II5 activities held in C1 in 2025: A1 A2 A3 A4 A5 A7 (6); organised by an organisation: A3 A5 A7 → 1/2.
        ("II5", 0.5, 100),
        # II6 issues of C1 closed in 2025: i1, i2, i4 (i3 rejected); with discussed, decided and implemented
        # dates: i1, i4 → 2/3.
        ("II6", 2 / 3, 200 / 3),
        # III1 providers used by activities held in C1 (p2 via r1 r2, p1 via r3, p3 via r5 r4) or fulfilling a need
        # of C1 fulfilled in 2025 (n1 r3 p1, n3 r1 p2) = 3 → 3 ÷ 200 × 1000 = 15 → clip → 100.
        ("III1", 15, 100),
        ("III2", III2_C1, 100 * III2_C1),
        # III3 needs of C1 raised in 2025: n1 (fulfilled 2025-03-01), n2 (open), n4 (matched) → 1/3
        # (n3 was raised in 2024).
        ("III3", 1 / 3, 100 / 3),
        # III4 of the 6 activities held in C1, those using a resource: A1 A2 A4 A5 A7 → 5/6 → clip → 100.
        ("III4", 5 / 6, 100),
        # Graph of C1 (limit 4): nodes a1…a6. A7 has 5 present residents (b3 of C2 counts!) > 4: no ties.
        # Edges: A1 a1a2 a1a3 a2a3; A2 a1a2; A3 a1a4; A4 a4a5; A5 (4 present) a3a5 a3a6 a5a6; A8 (4 present) a2a5
        # → 9 distinct. Mixed (local–new citizen): a1a3 a2a3 a1a4 a4a5 a3a5 a3a6 = E 6; same group: a1a2 a5a6
        # a2a5 = I 3. III5 = (6 − 3) ÷ 9 = 1/3 → (1/3 + 1) ÷ 1 clipped → 100.
        ("III5", 1 / 3, 100),
        # III6 one component with all 6 nodes → 1.
        ("III6", 1, 100),
        # III7 degrees a1 3, a2 3, a3 4, a4 2, a5 4, a6 2 → triples 3+3+6+1+6+1 = 20; triangles a1a2a3, a2a3a5,
        # a3a5a6 → 3 × 3 ÷ 20 = 0.45 (reported, not scored).
        ("III7", 0.45, None),
        # E1 education activities held in C1: A1 A2 A3 = 3 ÷ 200 × 1000.
        ("E1", 15, None),
        # E2 active learning communities of C1: o1 → 1 ÷ 200 × 1000.
        ("E2", 5, None),
        # G1 issues of C1 closed in 2025 with an implemented date: i1, i4 → 2 ÷ 200 × 1000.
        ("G1", 10, None),
        # G2 median days raised → closed over them: i1 2024-10-01 → 2025-03-01 = 151, i4 2025-07-01 → 12-31 = 183.
        ("G2", 167, None),
        ("DIM_I", None, DIM_I_C1),
        ("DIM_II", None, DIM_II_C1),
        ("DIM_III", None, DIM_III_C1),
        ("COMPOSITE", None, (DIM_I_C1 + DIM_II_C1 + DIM_III_C1) / 3),
    ],
    C2: [
        # I1 learners: b1 (A2 in C1, A8 at the street, A9, A10), b2 (A9, A10), b3 (A9), b4 (A8) = 4 ÷ 5 → clip 100.
        ("I1", 0.8, 100),
        # I2 2024 learners b1 b2 b5 (B3), b3 (B4, 2024 locally) = 4; in 2025 again: b1 b2 b3 → 3/4 → 93.75.
        ("I2", 0.75, 93.75),
        # I3 ≥3 education activities: b1 (4) → 1/4 → 100 × 0.25/0.6.
        ("I3", 0.25, 125 / 3),
        # I4 actions in 2025: b6 (comment on C1's issue), b2 (raise), b3 (vote at 2024-12-31T16:30Z = 2025-01-01
        # 00:30 locally); A12: b6 → b2 b3 b6 = 3 ÷ 5 = 0.6 → clip 100.
        ("I4", 0.6, 100),
        # I5 learners b1 b2 b3 b4: deliberating b2 b3; volunteers b2 (A5, 1.5 h), b3, b4 (A11) → b2 b3 b4 = 3/4.
        ("I5", 0.75, 100),
        # II1 active organisations of C2: o3 (A10, A12; dissolved 2025-12-15, not before 2025) = 1; o4 organised
        # nothing → 1 ÷ 5 × 1000 = 200.
        ("II1", 200, 100),
        # II2 o3 is self_governing → 1/1.
        ("II2", 1, 100),
        # II3 b1 (o3), b3 (o5 from 2025-01-01); b2's o4 is not active → 2 ÷ 5 = 0.4 → clip 100.
        ("II3", 0.4, 100),
        # II4 hours: b2 1.5 (A5 in C1) + b3 2 + b4 4 (A11) = 7.5 ÷ 5 = 1.5 → 100 × 1.5/4.
        ("II4", 1.5, 37.5),
        # II5 held in C2: A9 A10 A11 A12; organised: A10 A11 A12 → 3/4 → clip 100.
        ("II5", 0.75, 100),
        # II6 no issue of C2 closed in 2025 (i5 closed 2024, i6 implementing): 0 ÷ 0 → null, no score.
        ("II6", None, None),
        # III1 providers: A10 r1 p2, A11 r5 p3; need n5 fulfilled 2025-06-01 with r3 p1 → 3 ÷ 5 × 1000 = 600.
        ("III1", 600, 100),
        ("III2", III2_C2, 100 * III2_C2),
        # III3 raised in 2025: n5 (fulfilled), n6 (cancelled), n7 (fulfilled 2026-01-05, after the end) → 1/3.
        ("III3", 1 / 3, 100 / 3),
        # III4 held in C2 using a resource: A10, A11 → 2/4 = 0.5 → 100.
        ("III4", 0.5, 100),
        # Graph of C2: nodes b1 b2 b3 b4 b6 (present somewhere in 2025). A7 (5 present) makes no ties; A2 and A5
        # have one C2 resident each; A8 b1b4; A9 b1b2 b1b3 b2b3; A10 b1b2; A11 b3b4; A12 b6 alone → 5 edges.
        # Mixed: b1b2 b2b3 = E 2; same: b1b4 b1b3 b3b4 = I 3 → (2 − 3) ÷ 5 = −0.2 → (−0.2 + 1) ÷ 1 = 80.
        ("III5", -0.2, 80),
        # III6 largest component b1 b2 b3 b4 (b6 alone) → 4/5 → 80.
        ("III6", 0.8, 80),
        # III7 degrees b1 3, b2 2, b3 3, b4 2, b6 0 → triples 3+1+3+1 = 8; triangles b1b2b3, b1b3b4 → 6/8.
        ("III7", 0.75, None),
        # E1 A9, A10 → 2 ÷ 5 × 1000 = 400.
        ("E1", 400, None),
        # E2 no learning community of C2 → 0 ÷ 5 × 1000 = 0 (a ratio with a denominator: 0, not null).
        ("E2", 0, None),
        # G1 none closed → 0; G2 the median of nothing → null.
        ("G1", 0, None),
        ("G2", None, None),
        ("DIM_I", None, DIM_I_C2),
        ("DIM_II", None, DIM_II_C2),
        ("DIM_III", None, DIM_III_C2),
        ("COMPOSITE", None, (DIM_I_C2 + DIM_II_C2 + DIM_III_C2) / 3),
    ],
}


def expected_csv() -> str:
    lines = ["place_code,period,indicator,value,score"]
    for code in (C1, C2):
        for indicator, value, score in EXPECTED[code]:
            lines.append(f"{code},2025,{indicator},{fmt(value)},{fmt(score)}")
    return "\n".join(lines) + "\n"


# Diagnosis (threshold 60): C1's lowest dimension is I (≈57.78 < 60) → "I", strategy for weak participation.
# C2's lowest is III (≈72.00) ≥ 60 → no dominant dilemma: empty cells.
EXPECTED_DIAGNOSIS = f"place_code,period,dilemmas,strategy\n{C1},2025,I,强化学习共同体孵化机制\n{C2},2025,,\n"


def import_and_configure() -> None:
    call_command("import_data", str(DATA), "--no-progress", "--no-compute")
    services.measure_settings_change(
        place=Place.objects.get(code=PROVINCE), actor=None, graph_limit=4, note="方法样例：建网上限 4"
    )


def run_export(tmp_path: Path, name: str, place: str = "") -> tuple[bytes, bytes]:
    out, diagnosis = tmp_path / f"{name}.csv", tmp_path / f"{name}-diagnosis.csv"
    args = {"period": "2025", "output": str(out), "diagnosis": str(diagnosis)}
    if place:
        args["place"] = place
    call_command("export_indicators", **args)
    return out.read_bytes(), diagnosis.read_bytes()


def test_the_method_case_gives_the_hand_computed_values(tmp_path):
    import_and_configure()
    call_command("compute_indicators", period="2025", no_progress=True)
    indicators, diagnosis = run_export(tmp_path, "first", place=DISTRICT)
    assert indicators.decode("utf-8") == expected_csv()
    assert diagnosis.decode("utf-8") == EXPECTED_DIAGNOSIS

    # The same data and settings, computed and exported again: byte-identical files.
    call_command("compute_indicators", period="2025", no_progress=True)
    again = run_export(tmp_path, "second", place=DISTRICT)
    assert again == (indicators, diagnosis)
    assert Computation.objects.filter(status="done").count() == 2
    # The computation recorded the settings it used.
    assert Computation.objects.latest("created_at").config["graph_limit"] == 4

    # The roll-up: the street, district, city and province rows exist; the street's POP is the sum of N(c,p) and its
    # I1 the population-weighted mean (200 × 0.025 + 5 × 0.8) ÷ 205.
    street = {r.indicator: r for r in IndicatorSnapshot.objects.filter(place_id=STREET, period="2025")}
    assert street["POP"].value == 205
    assert street["I1"].value == pytest.approx((200 * 0.025 + 5 * 0.8) / 205)
    assert IndicatorSnapshot.objects.filter(place_id=PROVINCE, period="2025", indicator="COMPOSITE").exists()


def test_a_narrower_scope_gives_the_same_community_values(tmp_path):
    """Computing C1 alone still counts the other community's residents at C1's activities (the graph limit) and
    C1's residents at the street's and C2's activities: C1's rows are those of the full computation."""
    import_and_configure()
    call_command("compute_indicators", period="2025", place=C1, no_progress=True)
    alone, _diagnosis = run_export(tmp_path, "alone", place=C1)
    header, *rows = alone.decode("utf-8").splitlines()
    assert [header, *rows] == expected_csv().splitlines()[: 1 + len(EXPECTED[C1])]
    # Only C1 was covered: no street rows.
    assert not IndicatorSnapshot.objects.filter(place_id=STREET).exists()


def test_the_same_folder_as_a_copy_and_a_quarter(tmp_path):
    """Re-importing the same rows changes nothing (and queues nothing); a quarter is a period too: 2025Q1 holds A1
    (local 2025-01-01), A2 and A9 as education activities."""
    folder = tmp_path / "copy"
    shutil.copytree(DATA, folder)
    import_and_configure()
    call_command("import_data", str(folder), "--no-progress", "--compute-now")
    assert not Computation.objects.exists()  # nothing changed, nothing recomputed
    call_command("compute_indicators", period="2025Q1", place=STREET, no_progress=True)
    rows = {
        (r.place_id, r.indicator): r.value
        for r in IndicatorSnapshot.objects.filter(period="2025Q1", indicator__in=["E1", "POP", "I1"])
    }
    # N(c, 2025Q1) uses the year's population: C1 200; C2 counted at 2025-04-01: b1 b2 b3 b4 b5 b6 = 6
    # (b5 leaves on 2025-04-30, after the quarter's end).
    assert rows[(C1, "POP")] == 200
    assert rows[(C2, "POP")] == 6
    # Education activities held in C1 in Q1: A1, A2 → 2 ÷ 200 × 1000; in C2: A9 → 1 ÷ 6 × 1000.
    assert rows[(C1, "E1")] == pytest.approx(10)
    assert rows[(C2, "E1")] == pytest.approx(1000 / 6)
    # Q1 learners of C1: a1, a2, a3 (A1), a1 a2 (A2) → 3 ÷ 200.
    assert rows[(C1, "I1")] == pytest.approx(0.015)
