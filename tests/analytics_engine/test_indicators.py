"""Every formula of METHOD.md on tiny hand-made inputs; the expected numbers are worked out by hand in the comments."""

from __future__ import annotations

import math
import random

import polars as pl
import pytest

from gongzhi.analytics.engine import spec
from gongzhi.analytics.engine.frames import SOURCES, EngineInput, frame
from gongzhi.analytics.engine.indicators import compute_indicators
from gongzhi.analytics.engine.periods import Period

from .helpers import run, value, world

Y = "2020-01-01"
RESIDENTS = [
    ("a1", "A", "local", Y, None),
    ("a2", "A", "new_citizen", Y, None),
    ("a3", "A", "local", Y, None),
    ("a4", "A", "new_citizen", Y, None),
    ("b1", "B", "local", Y, None),
    ("b2", "B", "new_citizen", Y, None),
]
POPULATION = [("A", 2025, 100), ("B", 2025, 10), ("A", 2024, 100), ("B", 2024, 10)]


def base(**rows):
    rows.setdefault("residents", RESIDENTS)
    rows.setdefault("population", POPULATION)
    return world(**rows)


# --- output shape ------------------------------------------------------------------------------------------------


def test_one_row_per_community_and_id_in_spec_order():
    out = compute_indicators(base(), Period.parse("2025"))
    ids = [*spec.EXPORT_IDS, *spec.EXTRA_IDS]
    assert out.columns == ["community_code", "indicator", "value", "numerator", "denominator"]
    assert out.dtypes == [pl.Utf8, pl.Utf8, pl.Float64, pl.Float64, pl.Float64]
    assert out.get_column("community_code").to_list() == ["A"] * len(ids) + ["B"] * len(ids)
    assert out.get_column("indicator").to_list() == ids * 2


def test_empty_communities_gives_an_empty_frame():
    out = compute_indicators(world(communities=()), Period.parse("2025"))
    assert out.height == 0
    assert out.columns == ["community_code", "indicator", "value", "numerator", "denominator"]


# --- N(c,p) ------------------------------------------------------------------------------------------------------


def test_population_from_the_table_for_the_period_year():
    r = run(base(population=[("A", 2025, 200), ("A", 2024, 100), ("B", 2026, 7)]), "2025Q3")
    assert value(r, "A", "POP") == 200
    # B has no 2025 row: counted from residents (b1, b2)
    assert value(r, "B", "POP") == 2
    assert r[("A", "POP")][1:] == (None, None)  # a count carries the value only


def test_population_counted_from_residents_who_are_there_at_the_end():
    residents = [
        ("a1", "A", "local", "2020-01-01", None),  # counts
        ("a2", "A", "local", "2025-12-31", None),  # registered before end: counts
        ("a3", "A", "local", "2026-01-01", None),  # registered on end: not yet
        ("a4", "A", "local", "2020-01-01", "2025-06-30"),  # left before end: gone
        ("a5", "A", "local", "2020-01-01", "2026-01-01"),  # left on end: still counts
        ("a6", "A", "local", None, None),  # no registration date: counts
        ("b1", "B", "local", "2020-01-01", "2025-01-01"),  # left: B has nobody
    ]
    r = run(world(residents=residents), "2025")
    assert value(r, "A", "POP") == 4
    assert value(r, "B", "POP") == 0


def test_population_null_without_table_row_and_without_residents():
    r = run(world(population=[("A", 2025, 50)], missing=("residents",)))
    assert value(r, "A", "POP") == 50
    assert value(r, "B", "POP") is None
    assert value(r, "B", "E1") is None  # per-1,000 with unknown N


def test_zero_population_makes_ratios_null_not_zero():
    data = base(
        population=[("A", 2025, 0), ("B", 2025, 10)],
        activities=[("x1", "A", "course_session", "2025-03-01", None)],
        attendance=[("x1", "a1", None)],
    )
    r = run(data)
    assert r[("A", "I1")] == (None, 1.0, 0.0)
    assert value(r, "A", "E1") is None
    assert value(r, "B", "I1") == 0.0  # B: 0 ÷ 10


# --- I: participation --------------------------------------------------------------------------------------------


PARTICIPATION_ACTIVITIES = [
    ("c1", "A", "course_session", "2025-02-01", None),
    ("c2", "S", "learning_meeting", "2025-03-01", None),  # held at the street: residents of A still count
    ("c3", "B", "course_session", "2025-04-01", None),  # held in B
    ("c4", "A", "course_session", "2025-12-31", None),
    ("o1", "A", "org_event", "2025-05-01", None),  # not education
    ("old", "A", "course_session", "2024-06-01", None),  # the year before
    ("new", "A", "course_session", "2026-01-01", None),  # after the period
]


def test_i1_reach_counts_residents_of_c_at_education_anywhere():
    attendance = [
        ("c1", "a1", None),
        ("c2", "a1", None),
        ("c2", "a2", None),  # street-held
        ("c3", "a3", None),  # held in B, resident of A
        ("o1", "a4", None),  # org_event only: not a learner
        ("new", "a4", None),  # 2026
        ("c3", "b1", None),
        ("c1", "zz", None),  # unknown resident
    ]
    r = run(base(activities=PARTICIPATION_ACTIVITIES, attendance=attendance))
    # A: a1, a2, a3 → 3 ÷ 100
    assert r[("A", "I1")] == (0.03, 3.0, 100.0)
    # B: b1 → 1 ÷ 10
    assert r[("B", "I1")] == (0.1, 1.0, 10.0)


def test_i2_retention_of_last_periods_learners():
    attendance = [
        ("old", "a1", None),
        ("old", "a2", None),
        ("old", "a3", None),
        ("c1", "a1", None),  # a1 came back
        ("c3", "a3", None),  # a3 came back, in B
        ("c1", "a4", None),  # a4 is new: not in the denominator
        ("o1", "a2", None),  # a2 only at an org event
    ]
    r = run(base(activities=PARTICIPATION_ACTIVITIES, attendance=attendance))
    assert r[("A", "I2")] == (pytest.approx(2 / 3), 2.0, 3.0)
    # B had no learner in 2024: 0 ÷ 0 → null
    assert r[("B", "I2")] == (None, 0.0, 0.0)


def test_i2_for_a_quarter_uses_the_quarter_before():
    activities = [
        ("q4", "A", "course_session", "2024-11-01", None),
        ("q3", "A", "course_session", "2024-08-01", None),
        ("q1", "A", "course_session", "2025-02-01", None),
    ]
    attendance = [("q4", "a1", None), ("q3", "a2", None), ("q1", "a1", None), ("q1", "a2", None)]
    r = run(base(activities=activities, attendance=attendance), "2025Q1")
    # 2024Q4 learners: a1 only (a2 was in Q3); a1 is back → 1/1
    assert r[("A", "I2")] == (1.0, 1.0, 1.0)


def test_i3_depth_counts_distinct_education_activities():
    activities = [(f"e{i}", "A", "course_session", f"2025-0{i}-01", None) for i in range(1, 5)]
    activities.append(("o", "A", "org_event", "2025-06-01", None))
    attendance = [
        ("e1", "a1", None),
        ("e2", "a1", None),
        ("e3", "a1", None),  # a1: 3 → deep
        ("e1", "a2", None),
        ("e2", "a2", None),
        ("e2", "a2", None),  # the same attendance twice counts once
        ("o", "a2", None),  # a2: 2 education activities → not deep
        ("e4", "a3", None),
    ]
    r = run(base(activities=activities, attendance=attendance))
    assert r[("A", "I3")] == (pytest.approx(1 / 3), 1.0, 3.0)
    assert r[("B", "I3")] == (None, 0.0, 0.0)


def test_i4_deliberation_participants_from_actions_and_meetings():
    activities = [
        ("m1", "A", "deliberation_meeting", "2025-03-01", None),
        ("m2", "S", "deliberation_meeting", "2025-04-01", None),
        ("m0", "A", "deliberation_meeting", "2024-03-01", None),
        ("c1", "A", "course_session", "2025-03-01", None),
    ]
    attendance = [("m1", "a1", None), ("m2", "a2", None), ("m0", "a3", None), ("c1", "a4", None), ("m1", "b1", None)]
    actions = [
        ("i1", "a1", "2025-05-01"),  # a1 again: counted once
        ("i9", "a3", "2025-12-31"),  # any issue, dated in p
        ("i1", "a4", "2024-12-31"),  # before p
        ("i1", "b2", "2025-01-01"),
    ]
    r = run(base(activities=activities, attendance=attendance, issue_actions=actions))
    # A: a1, a2 (meeting at the street), a3 (action) → 3 ÷ 100
    assert r[("A", "I4")] == (0.03, 3.0, 100.0)
    # B: b1 (meeting in A), b2 (action) → 2 ÷ 10
    assert r[("B", "I4")] == (0.2, 2.0, 10.0)


def test_i5_learners_who_deliberate_or_volunteer():
    activities = [
        ("c1", "A", "course_session", "2025-03-01", None),
        ("v1", "B", "volunteer_event", "2025-04-01", None),
        ("m1", "A", "deliberation_meeting", "2025-05-01", None),
    ]
    attendance = [
        ("c1", "a1", None),
        ("c1", "a2", None),
        ("c1", "a3", None),
        ("c1", "a4", None),
        ("v1", "a1", 2.0),  # volunteer with hours (held in B)
        ("v1", "a2", None),  # no confirmed hours: not a volunteer
        ("m1", "a3", None),  # deliberation meeting
        ("m1", "b1", None),  # deliberates but is not a learner
    ]
    r = run(base(activities=activities, attendance=attendance))
    # learners a1…a4; converted a1 (volunteer), a3 (meeting) → 2/4
    assert r[("A", "I5")] == (0.5, 2.0, 4.0)
    assert r[("B", "I5")] == (None, 0.0, 0.0)


# --- II: organisation --------------------------------------------------------------------------------------------


ORGS = [
    # organization_id, place, kind, stage, founded_on, dissolved_on
    ("o_ok", "A", "social_org", "grassroots", "2020-01-01", None),
    ("o_nofound", "A", "learning_community", "grassroots", None, None),  # no founding date: counts
    ("o_late", "A", "social_org", "grassroots", "2026-01-01", None),  # founded on end: not yet
    ("o_gone", "A", "social_org", "grassroots", "2020-01-01", "2024-12-31"),  # dissolved before start
    ("o_dissolving", "A", "learning_community", "grassroots", "2020-01-01", "2025-01-01"),  # dissolved on start: counts
    ("o_idle", "A", "studio", "grassroots", "2020-01-01", None),  # organised nothing in p
    ("o_street", "S", "volunteer_team", "grassroots", "2020-01-01", None),  # of the street
    ("o_b", "B", "learning_community", "grassroots", "2020-01-01", None),
]
ORG_ACTIVITIES = [
    ("x1", "A", "org_event", "2025-02-01", "o_ok"),
    ("x2", "B", "org_event", "2025-02-01", "o_nofound"),  # organised anywhere
    ("x3", "A", "org_event", "2025-02-01", "o_late"),
    ("x4", "A", "org_event", "2025-02-01", "o_gone"),
    ("x5", "A", "course_session", "2025-03-01", "o_dissolving"),
    ("x6", "A", "org_event", "2024-02-01", "o_idle"),  # the year before only
    ("x7", "S", "volunteer_event", "2025-02-01", "o_street"),
    ("x8", "B", "org_event", "2025-06-01", "o_b"),
]


def test_ii1_and_e2_active_organisations_of_c():
    r = run(base(organizations=ORGS, activities=ORG_ACTIVITIES))
    # active of A: o_ok, o_nofound, o_dissolving → 3 per 100 → 30 per 1,000
    assert r[("A", "II1")] == (pytest.approx(30.0), 3.0, 100.0)
    # learning communities among them: o_nofound, o_dissolving → 20 per 1,000
    assert r[("A", "E2")] == (pytest.approx(20.0), 2.0, 100.0)
    assert r[("B", "II1")] == (pytest.approx(100.0), 1.0, 10.0)
    assert r[("B", "E2")] == (pytest.approx(100.0), 1.0, 10.0)


def test_ii2_maturity_uses_the_stage_at_the_end_of_the_period():
    orgs = [
        ("h1", "A", "social_org", "professional", None, None),
        ("h2", "A", "social_org", "self_governing", None, None),  # no history: current stage → mature
        ("h3", "A", "social_org", "professional", None, None),
        ("h4", "A", "social_org", "professional", None, None),
        ("h5", "A", "social_org", "grassroots", None, None),
        ("h6", "A", "social_org", "grassroots", None, None),  # not active: not counted
    ]
    changes = [
        # h1: incubating at the end (the professional step came in 2026) → not mature
        ("h1", "2025-03-01", "grassroots", "incubating"),
        ("h1", "2026-02-01", "incubating", "professional"),
        # h3: every change after the end → the earliest change's from_stage (grassroots) → not mature
        ("h3", "2026-05-01", "incubating", "professional"),
        ("h3", "2026-03-01", "grassroots", "incubating"),
        # h4: every change after the end with an empty from_stage → current stage (professional) → mature
        ("h4", "2026-03-01", "", "professional"),
        # h5: two changes on the last day before the end, in recording order → self_governing → mature
        ("h5", "2025-12-31", "grassroots", "professional"),
        ("h5", "2025-12-31", "professional", "self_governing"),
        ("h5", "2025-01-15", "incubating", "grassroots"),
    ]
    activities = [(f"y{i}", "A", "org_event", "2025-05-01", f"h{i}") for i in range(1, 6)]
    r = run(base(organizations=orgs, stage_changes=changes, activities=activities))
    # active h1…h5; mature h2, h4, h5 → 3/5
    assert r[("A", "II2")] == (pytest.approx(0.6), 3.0, 5.0)
    assert r[("B", "II2")] == (None, 0.0, 0.0)
    # the same organisations a year later: h1 professional, h3 professional (changes before 2027), h4, h5, h2
    activities_2026 = [(f"z{i}", "A", "org_event", "2026-05-01", f"h{i}") for i in range(1, 6)]
    r = run(base(organizations=orgs, stage_changes=changes, activities=activities_2026), "2026")
    assert value(r, "A", "II2") == 1.0


def test_ii2_without_stage_history_uses_the_current_stage():
    orgs = [("h1", "A", "social_org", "professional", None, None), ("h2", "A", "studio", "incubating", None, None)]
    activities = [("y1", "A", "org_event", "2025-05-01", "h1"), ("y2", "A", "org_event", "2025-05-01", "h2")]
    r = run(base(organizations=orgs, activities=activities, missing=("stage_changes",)))
    assert value(r, "A", "II2") == 0.5


def test_ii3_memberships_overlapping_p_in_active_organisations():
    memberships = [
        ("o_ok", "a1", "2024-01-01", None),  # counts
        ("o_street", "a1", "2024-01-01", None),  # a1 again: once
        ("o_street", "a2", "2025-12-31", None),  # joined on the last day, street's team: counts
        ("o_ok", "a3", "2020-01-01", "2024-12-31"),  # left before start
        ("o_idle", "a4", "2020-01-01", None),  # organisation not active
        ("o_ok", "a4", "2026-01-01", None),  # joined on end
        ("o_b", "b1", "2020-01-01", "2025-01-01"),  # left on start: overlaps
    ]
    r = run(base(organizations=ORGS, activities=ORG_ACTIVITIES, memberships=memberships))
    assert r[("A", "II3")] == (0.02, 2.0, 100.0)
    assert r[("B", "II3")] == (0.1, 1.0, 10.0)


def test_ii4_volunteer_hours_of_residents_anywhere():
    activities = [
        ("v1", "A", "volunteer_event", "2025-02-01", None),
        ("v2", "B", "volunteer_event", "2025-03-01", None),
        ("v0", "A", "volunteer_event", "2024-03-01", None),
        ("c1", "A", "course_session", "2025-03-01", None),
    ]
    attendance = [
        ("v1", "a1", 2.5),
        ("v2", "a1", 1.5),  # held in B, resident of A
        ("v1", "a2", None),  # unconfirmed: nothing
        ("v0", "a3", 10.0),  # 2024
        ("c1", "a4", 3.0),  # hours at a course are not volunteering
        ("v2", "b1", 4.0),
    ]
    r = run(base(activities=activities, attendance=attendance))
    assert r[("A", "II4")] == (0.04, 4.0, 100.0)
    assert r[("B", "II4")] == (0.4, 4.0, 10.0)


def test_ii5_share_of_activities_held_in_c_organised_by_an_organisation():
    activities = [
        ("s1", "A", "course_session", "2025-02-01", None),
        ("s2", "A", "org_event", "2025-02-01", "o1"),
        ("s3", "A", "volunteer_event", "2025-02-01", "o2"),
        ("s4", "A", "course_session", "2025-02-01", None),
        ("s5", "S", "org_event", "2025-02-01", "o1"),  # street-held: not in A
        ("s6", "A", "org_event", "2024-02-01", "o1"),
    ]
    r = run(base(activities=activities, organizations=[("o1", "A", "studio", "grassroots", None, None)]))
    assert r[("A", "II5")] == (0.5, 2.0, 4.0)
    assert r[("B", "II5")] == (None, 0.0, 0.0)


def test_ii6_due_process_and_g1_g2_over_issues_closed_in_p():
    issues = [
        # issue_id, community, status, raised, discussed, decided, implemented, closed
        ("i1", "A", "closed", "2024-10-01", "2024-11-01", "2024-12-01", "2025-01-15", "2025-03-01"),  # full, 151 d
        ("i2", "A", "closed", "2025-02-01", None, "2025-02-10", "2025-03-01", "2025-04-01"),  # no discussed, 59 d
        ("i3", "A", "closed", "2025-05-01", "2025-05-02", "2025-05-03", None, "2025-06-01"),  # not implemented
        ("i4", "A", "rejected", "2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04", "2025-02-01"),  # never closed
        ("i5", "A", "closed", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-12-31"),  # closed 2024
        ("i6", "A", "implementing", "2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04", None),
        ("i7", "A", "closed", "2025-06-01", "2025-06-02", "2025-06-03", "2025-06-04", "2025-12-31"),  # full, 213 d
        ("i8", "B", "closed", "2025-06-01", None, None, None, "2025-07-01"),
    ]
    r = run(base(issues=issues))
    # closed in 2025 of A: i1, i2, i3, i7; with all three dates: i1, i7 → 2/4
    assert r[("A", "II6")] == (0.5, 2.0, 4.0)
    # with an implemented date: i1, i2, i7 → 3 per 100 → 30 per 1,000
    assert r[("A", "G1")] == (pytest.approx(30.0), 3.0, 100.0)
    # days: 151, 59, 213 → median 151
    assert r[("A", "G2")] == (151.0, None, 3.0)
    assert r[("B", "II6")] == (0.0, 0.0, 1.0)
    assert r[("B", "G1")] == (0.0, 0.0, 10.0)
    assert r[("B", "G2")] == (None, None, 0.0)


def test_g2_median_of_an_even_number_of_issues():
    issues = [
        ("i1", "A", "closed", "2025-01-01", None, None, "2025-01-05", "2025-01-11"),  # 10 d
        ("i2", "A", "closed", "2025-01-01", None, None, "2025-01-05", "2025-01-21"),  # 20 d
    ]
    assert value(run(base(issues=issues)), "A", "G2") == 15.0


# --- III: resources ----------------------------------------------------------------------------------------------


RESOURCES = [
    ("r_venue1", "p1", "venue"),
    ("r_venue2", "p2", "venue"),
    ("r_teacher", "p1", "teacher"),
    ("r_fund", "p3", "fund"),
    ("r_course", "p4", "course"),
    ("r_orphan", None, "other"),  # no provider
]
RES_ACTIVITIES = [
    ("u1", "A", "course_session", "2025-02-01", None),
    ("u2", "A", "org_event", "2025-03-01", None),
    ("u3", "A", "org_event", "2025-04-01", None),
    ("u4", "A", "org_event", "2025-05-01", None),
    ("u5", "S", "course_session", "2025-05-01", None),  # street-held: not A's
    ("u6", "A", "course_session", "2024-05-01", None),  # 2024
    ("u7", "B", "org_event", "2025-05-01", None),
]
USES = [
    ("u1", "r_venue1"),
    ("u1", "r_teacher"),
    ("u1", "r_teacher"),  # the same use twice counts once
    ("u2", "r_venue2"),
    ("u3", "r_fund"),
    ("u4", "r_orphan"),  # a resource without provider
    ("u5", "r_course"),
    ("u6", "r_course"),
    ("u7", "r_orphan"),
]


def test_iii1_distinct_providers_by_use_or_fulfilled_need():
    needs = [
        # need_id, community, raised_on, status, fulfilled_on, resource_id
        ("n1", "A", "2024-06-01", "fulfilled", "2025-02-01", "r_course"),  # p4 via a need fulfilled in 2025
        ("n2", "A", "2025-06-01", "fulfilled", "2026-01-02", "r_fund"),  # fulfilled after p (p3 already counted)
        ("n3", "B", "2025-06-01", "fulfilled", "2025-07-01", "r_venue1"),  # B gets p1
        ("n4", "B", "2025-06-01", "fulfilled", "2024-07-01", "r_fund"),  # fulfilled before p
    ]
    data = base(activities=RES_ACTIVITIES, resources=RESOURCES, activity_resources=USES, needs=needs)
    r = run(data)
    # A: by use p1 (venue1, teacher), p2, p3; by need p4 → 4 per 100 → 40 per 1,000
    assert r[("A", "III1")] == (pytest.approx(40.0), 4.0, 100.0)
    # B: the orphan resource has no provider; need n3 → p1 → 1 per 10 → 100 per 1,000
    assert r[("B", "III1")] == (pytest.approx(100.0), 1.0, 10.0)


def test_iii2_entropy_of_resource_kinds_over_uses():
    data = base(activities=RES_ACTIVITIES, resources=RESOURCES, activity_resources=USES)
    r = run(data)
    # A's uses: venue (u1), teacher (u1), venue (u2), fund (u3), other (u4) → p = 2/5, 1/5, 1/5, 1/5
    h = -(0.4 * math.log(0.4) + 3 * 0.2 * math.log(0.2))  # 1.3321790402101223
    assert r[("A", "III2")][0] == pytest.approx(h / math.log(6))  # 0.7434918...
    assert r[("A", "III2")][1:] == (None, 5.0)
    # B: one use of one kind → H = 0
    assert r[("B", "III2")] == (0.0, None, 1.0)
    # no use at all → null
    r = run(base(activities=RES_ACTIVITIES, resources=RESOURCES))
    assert r[("A", "III2")] == (None, None, 0.0)


def test_iii2_two_venues_a_teacher_and_a_fund():
    activities = [(f"w{i}", "A", "org_event", "2025-02-01", None) for i in range(4)]
    uses = [("w0", "r_venue1"), ("w1", "r_venue2"), ("w2", "r_teacher"), ("w3", "r_fund")]
    r = run(base(activities=activities, resources=RESOURCES, activity_resources=uses))
    # H = −(½ ln ½ + 2 · ¼ ln ¼) = 1.0397207708; ÷ ln 6 = 0.5802792108
    assert value(r, "A", "III2") == pytest.approx(0.5802792108518123, abs=1e-12)


def test_iii3_needs_raised_in_p_and_fulfilled_before_the_end():
    needs = [
        ("n1", "A", "2025-02-01", "fulfilled", "2025-03-01", None),  # yes
        ("n2", "A", "2025-02-01", "fulfilled", "2026-01-01", None),  # fulfilled on end: no
        ("n3", "A", "2025-12-31", "open", None, None),
        ("n4", "A", "2025-05-01", "cancelled", None, None),  # any status counts in the denominator
        ("n5", "A", "2024-12-31", "fulfilled", "2025-02-01", None),  # raised before p: out
        ("n6", "B", "2026-01-01", "open", None, None),
    ]
    r = run(base(needs=needs))
    assert r[("A", "III3")] == (0.25, 1.0, 4.0)
    assert r[("B", "III3")] == (None, 0.0, 0.0)


def test_iii4_share_of_activities_using_a_providers_resource():
    r = run(base(activities=RES_ACTIVITIES, resources=RESOURCES, activity_resources=USES))
    # held in A in 2025: u1…u4; with a provider's resource: u1, u2, u3 (u4's resource has none) → 3/4
    assert r[("A", "III4")] == (0.75, 3.0, 4.0)
    assert r[("B", "III4")] == (0.0, 0.0, 1.0)


def test_e1_education_activities_held_in_c():
    r = run(base(activities=PARTICIPATION_ACTIVITIES))
    # held in A in 2025 and education: c1, c4 → 2 per 100 → 20 per 1,000
    assert r[("A", "E1")] == (pytest.approx(20.0), 2.0, 100.0)
    assert r[("B", "E1")] == (pytest.approx(100.0), 1.0, 10.0)


# --- missing sources, extra rows, determinism --------------------------------------------------------------------


def full_world(missing: tuple[str, ...] = ()) -> EngineInput:
    """A world where every indicator of A has a value."""
    activities = [
        ("f1", "A", "course_session", "2025-02-01", "o_ok"),
        ("f2", "A", "deliberation_meeting", "2025-03-01", None),
        ("f3", "A", "volunteer_event", "2025-04-01", "o_ok"),
        ("f0", "A", "course_session", "2024-04-01", None),
    ]
    return base(
        missing=missing,
        activities=activities,
        attendance=[
            ("f1", "a1", None),
            ("f1", "a2", None),
            ("f2", "a1", None),
            ("f3", "a2", 2.0),
            ("f3", "a3", 1.0),
            ("f0", "a1", None),
        ],
        organizations=[("o_ok", "A", "learning_community", "professional", "2020-01-01", None)],
        stage_changes=[("o_ok", "2021-01-01", "grassroots", "professional")],
        memberships=[("o_ok", "a1", "2024-01-01", None)],
        issues=[("i1", "A", "closed", "2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04", "2025-02-01")],
        issue_actions=[("i1", "a3", "2025-01-02")],
        needs=[("n1", "A", "2025-02-01", "fulfilled", "2025-03-01", "r1")],
        resources=[("r1", "p1", "venue"), ("r2", "p2", "teacher")],
        activity_resources=[("f1", "r1"), ("f2", "r2")],
    )


def test_the_full_world_has_every_indicator_of_a():
    r = run(full_world())
    for ind in (*spec.EXPORT_IDS, *spec.EXTRA_IDS):
        assert value(r, "A", ind) is not None, ind


ATTENDANCE_FED = ("I1", "I2", "I3", "I4", "I5", "II4", "III5", "III6", "III7", "NODES", "EDGES", "DENSITY")


@pytest.mark.parametrize(
    ("missing", "nulls"),
    [
        (("needs",), ("III3",)),
        (("issues",), ("II6", "G1", "G2")),
        (("organizations",), ("II1", "II2", "II3", "II5", "E2")),
        (("memberships",), ("II3",)),
        (("attendance",), ATTENDANCE_FED),
        (("residents",), (*ATTENDANCE_FED, "II3")),
        (("resources",), ("III1", "III2", "III4")),
        (("activity_resources",), ("III2", "III4")),
        (("activity_resources", "needs"), ("III1", "III2", "III3", "III4")),
        (("resources", "needs"), ("III1", "III2", "III3", "III4")),
        (("issue_actions",), ()),  # I4 and I5 then rest on meetings
        (("stage_changes",), ()),  # II2 then uses the current stage
        (("population",), ()),  # N is counted from residents
        (("survey_answers",), ()),
    ],
)
def test_missing_sources_make_what_they_feed_null(missing, nulls):
    r = run(full_world(missing))
    for ind in (*spec.EXPORT_IDS, *spec.EXTRA_IDS):
        triple = r[("A", ind)]
        if ind in nulls:
            assert triple == (None, None, None), ind
        else:
            assert triple[0] is not None, ind


def test_activities_missing_nulls_everything_that_needs_them():
    r = run(full_world(("activities",)))
    for ind in (*spec.EXPORT_IDS, *spec.EXTRA_IDS):
        # issues and needs stand alone; III1 still has providers through fulfilled needs
        expected_null = ind not in ("II6", "III1", "III3", "G1", "G2", "POP")
        assert (value(r, "A", ind) is None) == expected_null, ind


def test_every_source_missing_leaves_only_nulls():
    out = compute_indicators(
        world(missing=tuple(s for s in SOURCES if s != "communities")),
        Period.parse("2025"),
    )
    assert out.height == 2 * (len(spec.EXPORT_IDS) + len(spec.EXTRA_IDS))
    assert out.get_column("value").null_count() == out.height


def with_extra_rows(data: EngineInput) -> EngineInput:
    """The same world plus rows outside 2025 (and the 2024 retention base) that must change nothing."""

    def add(name: str, rows: list) -> None:
        setattr(data, name, pl.concat([getattr(data, name), frame(name, rows)], how="vertical"))

    add(
        "activities",
        [("late", "A", "course_session", "2026-01-01", "o_ok"), ("early", "A", "org_event", "2023-01-01", "o_new")],
    )
    add("attendance", [("late", "a1", None), ("late", "a4", 3.0), ("early", "a4", None), ("early", "a3", None)])
    add("organizations", [("o_new", "A", "social_org", "professional", "2026-01-01", None)])
    add("memberships", [("o_ok", "a4", "2026-01-01", None)])
    add("issues", [("i9", "A", "closed", "2026-01-01", None, None, "2026-01-02", "2026-01-03")])
    add("issue_actions", [("i9", "a4", "2026-01-01"), ("i9", "a2", "2024-12-31")])
    add(
        "needs",
        [("n9", "A", "2026-01-01", "fulfilled", "2026-01-02", "r2"), ("n8", "A", "2024-01-01", "open", None, None)],
    )
    add("activity_resources", [("late", "r2"), ("early", "r2")])
    add("stage_changes", [("o_ok", "2026-06-01", "professional", "grassroots")])
    add("population", [("A", 2026, 999), ("A", 2024, 5)])
    return data


def test_rows_outside_the_period_change_nothing():
    period = Period.parse("2025")
    before = compute_indicators(full_world(), period)
    after = compute_indicators(with_extra_rows(full_world()), period)
    assert before.equals(after)


def test_same_input_twice_and_shuffled_rows_give_identical_frames():
    period = Period.parse("2025")
    first = compute_indicators(full_world(), period)
    second = compute_indicators(full_world(), period)
    assert first.write_csv() == second.write_csv()
    shuffled = full_world()
    rng = random.Random(7)
    for name in ("residents", "activities", "attendance", "memberships", "needs", "activity_resources", "communities"):
        df = getattr(shuffled, name)
        order = list(range(df.height))
        rng.shuffle(order)
        setattr(shuffled, name, df[order])
    assert compute_indicators(shuffled, period).write_csv() == first.write_csv()


def test_check_rejects_a_frame_without_a_contract_column():
    data = base()
    data.attendance = data.attendance.drop("hours")
    with pytest.raises(ValueError, match="attendance"):
        compute_indicators(data, Period.parse("2025"))


def test_a_resident_who_left_counts_for_what_they_did_but_not_in_n():
    residents = [("a1", "A", "local", Y, None), ("a2", "A", "local", Y, "2025-05-01")]
    activities = [("c1", "A", "course_session", "2025-03-01", None)]
    attendance = [("c1", "a1", None), ("c1", "a2", None)]
    r = run(world(residents=residents, activities=activities, attendance=attendance))
    # N = a1 only (a2 left before the end); both learnt in 2025 while residents of A
    assert value(r, "A", "POP") == 1.0
    assert r[("A", "I1")] == (2.0, 2.0, 1.0)


def test_float_hours_sum_to_the_same_bits_in_any_row_order():
    activities = [(f"v{i}", "A", "volunteer_event", "2025-03-01", None) for i in range(6)]
    hours = [0.1, 0.2, 0.7, 1e-3, 3.3, 1e6]
    attendance = [(f"v{i}", f"a{1 + i % 4}", h) for i, h in enumerate(hours)]
    results = set()
    rng = random.Random(3)
    for _ in range(8):
        rng.shuffle(attendance)
        results.add(run(base(activities=activities, attendance=list(attendance)))[("A", "II4")][1])
    assert len(results) == 1
    assert results.pop() == pytest.approx(sum(hours))
