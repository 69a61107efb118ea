"""Facts extraction on the real database: what ``facts_for`` reads (points with their series, sessions attended,
courses completed by the 80 % rule, tests passed, certificates), and that it runs a constant number of queries
whatever the number of residents."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.learning import services as learning
from gongzhi.learning.credentials import criteria as crit
from gongzhi.learning.credentials.certificates import certificate_issue, certificate_revoke
from gongzhi.learning.credentials.facts import facts_for
from gongzhi.learning.credentials.selectors import level_eligibility
from gongzhi.learning.models import PointsEntry
from gongzhi.people.models import Role
from tests import factories

from .conftest import attend, course_with_sessions, online_test, sessions_of, take_test

pytestmark = pytest.mark.django_db


def test_facts_of_one_resident(tree, licence):
    r = factories.resident(tree.comm_a1, name="陈美华")
    five = sessions_of(licence.course)
    for s in five[:4]:
        attend(r, s)
    attend(r, five[4], status="absent")  # recorded, but not present
    two = sessions_of(licence.other_course)
    attend(r, two[0])
    take_test(r, licence.test)

    facts = facts_for([r.pk], licence.programme)[r.pk]
    s, other = str(licence.series.pk), str(licence.other_series.pk)
    today = timezone.localdate()

    assert Counter(f.series for f in facts.sessions) == {s: 4, other: 1}
    assert {f.course for f in facts.sessions} == {str(licence.course.pk), str(licence.other_course.pk)}
    # 4 of 5 held sessions is exactly 80 %: completed; 1 of 2 is not.
    assert [(c.course, c.series) for c in facts.courses] == [(str(licence.course.pk), s)]
    assert facts.courses[0].on == timezone.localtime(five[3].activity.starts_at).date()
    assert [(t.test, t.series, t.on) for t in facts.tests] == [(str(licence.test.pk), s, today)]
    # Points: attendance is capped at 30 a day (3 awards), the pass earns 20; each entry keeps its series.
    by_series = Counter()
    for p in facts.points:
        by_series[p.series] += p.points
    assert by_series == {s: 30 + 20}  # the session of the other series came after the cap: no points
    assert sum(p.points for p in facts.points) == 50
    assert facts.certificates == []


def test_course_completion_counts_only_sessions_held_so_far(tree):
    series = learning.series_create(actor=None, place=tree.street_a, name="隔代教养")
    course = course_with_sessions(tree.street_a, title="祖辈课堂", series=series, past=2, future=3)
    done, half = factories.resident(tree.comm_a1, name="甲"), factories.resident(tree.comm_a1, name="乙")
    held = sessions_of(course)[:2]
    for s in held:
        attend(done, s)
    attend(half, held[0])
    facts = facts_for([done.pk, half.pk])
    assert [c.course for c in facts[done.pk].courses] == [str(course.pk)]  # 2 of 2 held
    assert facts[half.pk].courses == []  # 1 of 2 held: 50 %


def test_completion_boundary_one_below_eighty_percent(tree):
    course = course_with_sessions(tree.street_a, title="十讲课程", past=10)
    eight, seven = factories.resident(tree.comm_a1, name="八"), factories.resident(tree.comm_a1, name="七")
    sessions = sessions_of(course)
    for s in sessions[:8]:
        attend(eight, s)
    for s in sessions[:7]:
        attend(seven, s)
    facts = facts_for([eight.pk, seven.pk])
    assert len(facts[eight.pk].courses) == 1 and facts[seven.pk].courses == []
    assert facts[eight.pk].courses[0].series is None  # a course outside any series


def test_reversed_points_count_neither_way(tree, licence):
    r = factories.resident(tree.comm_a1)
    attendance = attend(r, sessions_of(licence.course)[0])
    entry = PointsEntry.objects.get(resident=r, source_type="attendance", source_id=str(attendance.pk))
    learning.points_reverse(entry=entry, reason="误签到", actor=None)
    facts = facts_for([r.pk])[r.pk]
    assert facts.points == []
    assert len(facts.sessions) == 1  # the attendance itself still stands


def test_attendance_points_are_dated_by_the_session_not_by_the_entry(tree, licence):
    r = factories.resident(tree.comm_a1)
    first = sessions_of(licence.course)[0]  # held four weeks ago, entered from the paper sheet today
    attend(r, first)
    session_day = timezone.localtime(first.activity.starts_at).date()
    assert session_day < timezone.localdate()
    [fact] = facts_for([r.pk])[r.pk].points
    assert (fact.on, fact.points) == (session_day, 10)
    window = {"kind": "points", "min": 10, "window": {"to": session_day.isoformat()}}
    assert crit.evaluate(window, facts_for([r.pk])[r.pk], timezone.localdate()).met


def test_learning_meeting_points_have_no_series(tree):
    from gongzhi.activities.services import activity_create

    r = factories.resident(tree.comm_a1)
    meeting = activity_create(
        actor=None,
        place=tree.comm_a1,
        kind="learning_meeting",
        title="读书会",
        starts_at=timezone.now() - datetime.timedelta(days=1),
    )
    from gongzhi.activities.services import attendance_record

    attendance_record(actor=None, activity=meeting, resident=r, source="roster")
    facts = facts_for([r.pk])[r.pk]
    assert [(p.points, p.series) for p in facts.points] == [(5, None)]
    assert facts.sessions == []  # not a course session


def test_certificates_valid_only_and_of_the_programme(tree, licence):
    r = factories.resident(tree.comm_a1, name="王丽")
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    one = certificate_issue(actor=staff, resident=r, level=licence.levels[0])
    two = certificate_issue(actor=staff, resident=r, level=licence.levels[1])
    certificate_revoke(actor=staff, certificate=two, reason="材料有误")
    facts = facts_for([r.pk], licence.programme)[r.pk]
    assert [(c.rank, c.issued_on, c.expires_on) for c in facts.certificates] == [(1, one.issued_on, one.expires_on)]
    assert one.expires_on is not None  # the programme's 24 months
    # level 2 requires level 1 held: met now; with "today" after the expiry, not.
    tree_ = {"kind": "level_held", "rank": 1}
    assert crit.evaluate(tree_, facts, one.issued_on).met
    assert not crit.evaluate(tree_, facts, one.expires_on + datetime.timedelta(days=1)).met


def test_level_eligibility_end_to_end(tree, licence):
    r = factories.resident(tree.comm_a1)
    level1 = licence.levels[0]
    before = level_eligibility(resident=r, level=level1)
    assert not before.met
    assert [(leaf.label, leaf.detail) for leaf in before.leaves] == [
        ("系列“科学育儿”内积分 ≥ 20", "已有 0 积分，还差 20 积分"),
        ("通过测试 ≥ 1 个", "已通过 0/1 个测试，还差 1 个"),
    ]
    take_test(r, licence.test, correct=False)
    assert not level_eligibility(resident=r, level=level1).met  # a failed attempt earns nothing
    take_test(r, licence.test)
    after = level_eligibility(resident=r, level=level1)
    assert after.met and [leaf.have for leaf in after.leaves] == [20, 1]


def _busy_residents(tree, licence, n: int) -> list:
    out = []
    five = sessions_of(licence.course)
    for i in range(n):
        r = factories.resident(tree.comm_a1 if i % 2 else tree.comm_a2, name=f"居民{i}")
        for s in five[: 2 + i % 4]:
            attend(r, s)
        attend(r, sessions_of(licence.other_course)[0])
        if i % 2:
            take_test(r, licence.test)
        out.append(r)
    return out


def test_query_count_is_constant_in_the_number_of_residents(tree, licence):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    residents = _busy_residents(tree, licence, 12)
    certificate_issue(actor=staff, resident=residents[1], level=licence.levels[0])
    counts = []
    for group in (residents[:2], residents):
        with CaptureQueriesContext(connection) as ctx:
            facts = facts_for([r.pk for r in group], licence.programme)
        counts.append(len(ctx.captured_queries))
        assert set(facts) == {r.pk for r in group}
    assert counts[0] == counts[1] <= 5, counts
    # and the facts are right for everyone: sessions attended = 2 + i % 4 of the series, plus 1 of the other
    for i, r in enumerate(residents):
        assert len([f for f in facts[r.pk].sessions if f.series == str(licence.series.pk)]) == 2 + i % 4
        assert len(facts[r.pk].tests) == i % 2
    assert [c.rank for c in facts[residents[1].pk].certificates] == [1]


def test_no_residents_no_queries():
    with CaptureQueriesContext(connection) as ctx:
        assert facts_for([]) == {}
    assert len(ctx.captured_queries) == 0


def test_a_test_of_a_course_counts_in_the_course_series(tree, licence):
    r = factories.resident(tree.comm_a1)
    course_test = online_test(tree.street_a, title="照护小测", course=licence.course)
    take_test(r, course_test)
    [fact] = facts_for([r.pk])[r.pk].tests
    assert fact.series == str(licence.series.pk)
