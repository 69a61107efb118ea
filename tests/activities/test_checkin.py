"""Scanning: once per person whatever happens — a second scan, a double click, 20 concurrent requests."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from gongzhi.activities import qr, services
from gongzhi.activities.hooks import presence_handlers
from gongzhi.activities.models import Attendance
from gongzhi.core.models import AuditEvent
from gongzhi.learning.models import PointsEntry, PointsRule

from .conftest import PASSWORD


def _points_rule_for_sessions() -> PointsRule | None:
    """The rule learning awards for presence at a course session (re-created here: transactional tests flush the rows
    the data migration seeded)."""
    if not presence_handlers():
        return None
    rule, _ = PointsRule.objects.get_or_create(
        code="attend_course_session", defaults={"name": "参加课程", "points": 10, "daily_cap": 30}
    )
    return rule


def test_second_scan_creates_nothing(cw):
    rule = _points_rule_for_sessions()
    first, created = services.checkin_by_qr(user=cw.resident_user, token=qr.issue(cw.session.pk))
    audits = AuditEvent.objects.count()
    again, created_again = services.checkin_by_qr(user=cw.resident_user, token=qr.issue(cw.session.pk))
    assert created and not created_again
    assert first.pk == again.pk
    assert Attendance.objects.filter(activity=cw.session).count() == 1
    assert AuditEvent.objects.count() == audits, "a repeated scan leaves no trace"
    assert PointsEntry.objects.count() <= 1
    if rule is not None:
        entry = PointsEntry.objects.get()
        assert (entry.resident, entry.points, entry.source_id) == (cw.resident, rule.points, str(first.pk))


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_scans_make_one_attendance_and_one_points_entry(cw):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every write on one file lock, so the threads cannot race; run on PostgreSQL")
    rule = _points_rule_for_sessions()
    token = qr.issue(cw.session.pk)
    barrier = threading.Barrier(20)
    results: list[bool] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def scan() -> None:
        try:
            barrier.wait(timeout=10)
            _attendance, created = services.checkin_by_qr(user=cw.resident_user, token=token)
            with lock:
                results.append(created)
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not failures, failures
    assert len(results) == 20
    assert results.count(True) == 1
    assert Attendance.objects.filter(activity=cw.session, resident=cw.resident).count() == 1
    assert PointsEntry.objects.count() <= 1
    if rule is not None:
        assert PointsEntry.objects.filter(resident=cw.resident, source_type="attendance").count() == 1


# --- the page behind the QR code --------------------------------------------------------------------------------


def test_checkin_page_logged_out_goes_to_login_and_back(cw, client):
    url = reverse("checkin", kwargs={"token": qr.issue(cw.session.pk)})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login")) and "next=" in response["Location"]
    assert not Attendance.objects.exists()
    client.post(reverse("login"), {"username": cw.resident_user.phone, "password": PASSWORD})
    response = client.get(url)
    assert response.status_code == 200
    assert "签到成功" in response.content.decode()
    assert cw.session.title in response.content.decode()
    response = client.get(url)
    assert "您已签到" in response.content.decode()
    assert Attendance.objects.count() == 1


def test_a_token_checked_before_login_stays_good_while_logging_in(cw, client, monkeypatch):
    import time as time_module

    token = qr.issue(cw.session.pk)
    url = reverse("checkin", kwargs={"token": token})
    assert client.get(url).status_code == 302
    client.force_login(cw.resident_user)
    later = time_module.time() + 120  # two minutes typing the password: the token itself has expired
    monkeypatch.setattr("gongzhi.activities.qr.time.time", lambda: later)
    monkeypatch.setattr("gongzhi.activities.views.time.time", lambda: later)
    response = client.get(url)
    assert "签到成功" in response.content.decode()
    # Another old token (not the one checked before login) is still refused.
    other = qr.issue(cw.meeting.pk, at=later - 120)
    response = client.get(reverse("checkin", kwargs={"token": other}))
    assert response.status_code == 400
    assert "签到码已过期" in response.content.decode()


@pytest.mark.parametrize(
    ("token", "message"),
    [("garbage", "签到码无效"), (None, "签到码已过期")],
)
def test_checkin_page_shows_refusals_in_chinese(cw, client, token, message):
    import time as time_module

    client.force_login(cw.resident_user)
    token = token or qr.issue(cw.session.pk, at=time_module.time() - 120)
    response = client.get(reverse("checkin", kwargs={"token": token}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "签到未成功" in response.content.decode()
    assert not Attendance.objects.exists()


def test_logged_out_scan_of_a_bad_token_says_so_without_login(cw, client):
    response = client.get(reverse("checkin", kwargs={"token": "garbage"}))
    assert response.status_code == 400
    assert "签到码无效" in response.content.decode()


def test_my_activities_lists_only_my_attendance(cw, client):
    services.checkin_by_qr(user=cw.resident_user, token=qr.issue(cw.session.pk))
    services.roster_mark(actor=None, activity=cw.meeting, resident=cw.members[1], status="present")
    client.force_login(cw.resident_user)
    body = client.get(reverse("my_activities")).content.decode()
    assert cw.session.title in body
    assert cw.meeting.title not in body
