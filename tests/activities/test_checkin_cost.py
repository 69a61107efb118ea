"""What one QR check-in costs, and what it still guarantees: a resident's own check-in is their own record (no audit
row), a staff mark is audited, the attendance and its points commit together, and the statement count cannot creep
back (bench/RESULTS.md)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.activities import qr, services
from gongzhi.activities.models import Attendance
from gongzhi.core.models import AuditEvent
from gongzhi.learning import services as learning
from gongzhi.learning.models import PointsBalance, PointsEntry

from .test_checkin import _points_rule_for_sessions

CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


def test_a_residents_own_qr_checkin_writes_no_audit_row(cw):
    rule = _points_rule_for_sessions()
    audits = AuditEvent.objects.count()
    attendance, created = services.checkin_by_qr(user=cw.resident_user, token=qr.issue(cw.session.pk))
    assert created and attendance.resident == cw.resident and attendance.source == "qr"
    assert AuditEvent.objects.count() == audits, "a resident checking themselves in is not a staff write"
    if rule is not None:
        assert PointsEntry.objects.filter(resident=cw.resident, source_id=str(attendance.pk)).count() == 1
        assert PointsBalance.objects.get(resident=cw.resident).balance == rule.points


def test_a_staff_roster_mark_is_audited(cw):
    staff = cw.users["community_worker"]
    _attendance, created = services.roster_mark(
        actor=staff, activity=cw.session, resident=cw.enrolled[1], status="present"
    )
    assert created
    event = AuditEvent.objects.get(target_type="attendance")
    assert event.actor == staff and event.action == "create"


def test_a_failed_points_award_leaves_no_attendance(cw):
    """The attendance and its points are one transaction: a failure in the award undoes the attendance."""
    if _points_rule_for_sessions() is None:
        pytest.skip("learning's presence handler is not registered")
    with (
        mock.patch.object(learning, "_lock_balance", side_effect=RuntimeError("database gone")),
        pytest.raises(RuntimeError),
    ):
        services.checkin_by_qr(user=cw.resident_user, token=qr.issue(cw.session.pk))
    assert not Attendance.objects.filter(activity=cw.session).exists()
    assert not PointsEntry.objects.exists()


def test_a_repeated_award_returns_the_entry_that_holds_the_constraint(cw):
    first = learning.points_award(resident=cw.resident, rule_code="pass_test", source_type="test", source_id="T1")
    again = learning.points_award(resident=cw.resident, rule_code="pass_test", source_type="test", source_id="T1")
    assert first is not None and again is not None and again.pk == first.pk
    assert PointsBalance.objects.get(resident=cw.resident).balance == first.points


def test_one_checkin_costs_a_fixed_number_of_statements(cw):
    """activity, resident, attendance insert, points rule, balance lock, today's points, entry insert, balance update
    (SQLite: the balance lock is two statements). No audit row, no look-up before an insert, no savepoint per insert."""
    if _points_rule_for_sessions() is None:
        pytest.skip("learning's presence handler is not registered")
    token = qr.issue(cw.session.pk)
    with CaptureQueriesContext(connection) as captured:
        _attendance, created = services.checkin_by_qr(user=cw.resident_user, token=token)
    assert created
    statements = [q["sql"] for q in captured.captured_queries]
    work = [s for s in statements if not s.upper().startswith(CONTROL)]
    expected = 8 if connection.vendor == "postgresql" else 9
    assert len(work) == expected, "\n".join(work)
    if connection.vendor == "postgresql":
        # Only attendance_record's own transaction (a savepoint inside the test's transaction): none per insert.
        assert sum(s.upper().startswith("SAVEPOINT") for s in statements) <= 1, "\n".join(statements)
    assert not any("ORDER BY" in s.upper() for s in work), "single-row look-ups need no ORDER BY"
    assert not any("core_auditevent" in s for s in work)

    # A second scan writes nothing and costs no more.
    with CaptureQueriesContext(connection) as captured:
        _attendance, created = services.checkin_by_qr(user=cw.resident_user, token=token)
    assert not created
    again = [q["sql"] for q in captured.captured_queries if not q["sql"].upper().startswith(CONTROL)]
    assert len(again) <= expected + 1, "\n".join(again)
    assert Attendance.objects.filter(activity=cw.session).count() == 1
    assert PointsEntry.objects.filter(resident=cw.resident).count() == 1
