"""The rotating QR token: fresh tokens check in; expired, forged, garbled, other-activity and out-of-window tokens are
refused with a clear Chinese message and write nothing."""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone

from gongzhi.activities import qr, services
from gongzhi.activities.models import Attendance
from gongzhi.core.models import AuditEvent
from gongzhi.learning.models import PointsEntry

from .conftest import open_activity, resident_with_account


def _nothing_written() -> None:
    assert Attendance.objects.count() == 0
    assert not AuditEvent.objects.filter(target_type="attendance").exists()
    assert PointsEntry.objects.count() == 0


@pytest.fixture
def setup(tree):
    activity = open_activity(tree.comm_a1)
    resident, user = resident_with_account(tree.comm_a1, "赵桂芳", "13900000201")
    return activity, resident, user


def test_a_fresh_token_checks_in(setup):
    activity, resident, user = setup
    attendance, created = services.checkin_by_qr(user=user, token=qr.issue(activity.pk))
    assert created
    assert (attendance.activity, attendance.resident, attendance.status, attendance.source) == (
        activity,
        resident,
        "present",
        "qr",
    )
    assert attendance.recorded_by == user


def test_the_token_changes_every_step_and_is_url_safe(setup):
    activity, _resident, _user = setup
    t0 = time.time()
    a, b = qr.issue(activity.pk, at=t0), qr.issue(activity.pk, at=t0 + qr.STEP)
    assert a != b
    assert all(c.isalnum() or c in "-_." for c in a)
    assert qr.verify_signature(a, at=t0).activity_id == activity.pk


def test_a_token_is_accepted_for_about_30_seconds(setup):
    activity, _resident, _user = setup
    issued = time.time() - 15  # its step began at most 25 s ago
    token = qr.issue(activity.pk, at=issued)
    assert qr.verify_signature(token, at=time.time()).activity_id == activity.pk
    with pytest.raises(qr.TokenError) as exc:
        qr.verify_signature(token, at=issued + qr.VALID_FOR + qr.STEP + 1)
    assert exc.value.code == "expired"


def test_expired_token_is_refused(setup):
    activity, _resident, user = setup
    token = qr.issue(activity.pk, at=time.time() - 60)
    with pytest.raises(qr.TokenError) as exc:
        services.checkin_by_qr(user=user, token=token)
    assert exc.value.code == "expired"
    assert exc.value.message == "签到码已过期，请扫描屏幕上的最新二维码"
    _nothing_written()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature altered
        lambda t: t.rsplit(".", 2)[0] + "." + format(int(t.split(".")[1], 16) + 1, "x") + "." + t.rsplit(".", 1)[1],
        lambda t: "not-a-token",
        lambda t: "a.b.c",
        lambda t: "",
        lambda t: t + ".x",
    ],
    ids=["signature", "step", "garbage", "three-parts", "empty", "extra-part"],
)
def test_forged_or_garbled_token_is_refused(setup, mangle):
    activity, _resident, user = setup
    with pytest.raises(qr.TokenError) as exc:
        services.checkin_by_qr(user=user, token=mangle(qr.issue(activity.pk)))
    assert exc.value.code == "invalid"
    assert exc.value.message == "签到码无效"
    _nothing_written()


def test_token_signed_with_another_key_is_refused(setup, settings):
    activity, _resident, user = setup
    settings.SECRET_KEY = "someone-else's-key"
    token = qr.issue(activity.pk)
    settings.SECRET_KEY = "test-secret-key-not-for-production"
    with pytest.raises(qr.TokenError) as exc:
        services.checkin_by_qr(user=user, token=token)
    assert exc.value.code == "invalid"
    _nothing_written()


def test_token_of_another_activity_is_refused(setup, tree):
    activity, _resident, user = setup
    other = open_activity(tree.comm_a1, title="另一场活动")
    with pytest.raises(qr.TokenError) as exc:
        services.checkin_by_qr(user=user, token=qr.issue(other.pk), activity=activity)
    assert exc.value.code == "other_activity"
    assert "其他活动" in exc.value.message
    _nothing_written()


def test_token_for_an_unknown_activity_is_invalid(setup):
    import uuid

    _activity, _resident, user = setup
    with pytest.raises(qr.TokenError) as exc:
        services.checkin_by_qr(user=user, token=qr.issue(uuid.uuid4()))
    assert exc.value.code == "invalid"
    _nothing_written()


@pytest.mark.parametrize(
    ("starts", "ends", "code", "message"),
    [
        (datetime.timedelta(hours=2), None, "not_started", "签到尚未开始"),
        (datetime.timedelta(minutes=31), datetime.timedelta(hours=2), "not_started", "签到尚未开始"),
        (-datetime.timedelta(hours=3), -datetime.timedelta(hours=1), "ended", "活动已结束"),
        (-datetime.timedelta(hours=3, minutes=1), None, "ended", "活动已结束"),  # no end: open for 3 hours
    ],
)
def test_outside_the_window_is_refused(tree, starts, ends, code, message):
    now = timezone.now()
    activity = open_activity(tree.comm_a1, starts_at=now + starts, ends_at=(now + ends) if ends is not None else None)
    _resident, user = resident_with_account(tree.comm_a1, "赵桂芳", "13900000202")
    with pytest.raises(qr.TokenError) as exc:
        services.checkin_by_qr(user=user, token=qr.issue(activity.pk))
    assert exc.value.code == code
    assert exc.value.message.startswith(message)
    _nothing_written()


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        (datetime.timedelta(minutes=29), datetime.timedelta(hours=2)),  # opens 30 minutes before the start
        (-datetime.timedelta(hours=2, minutes=50), None),  # no end: still inside the 3 hours
        (-datetime.timedelta(hours=5), datetime.timedelta(minutes=1)),  # a long activity, until its end
    ],
)
def test_inside_the_window_is_accepted(tree, starts, ends):
    now = timezone.now()
    activity = open_activity(tree.comm_a1, starts_at=now + starts, ends_at=(now + ends) if ends is not None else None)
    _resident, user = resident_with_account(tree.comm_a1, "赵桂芳", "13900000203")
    _attendance, created = services.checkin_by_qr(user=user, token=qr.issue(activity.pk))
    assert created


def test_a_user_without_a_resident_profile_is_refused(setup, tree):
    from tests import factories

    activity, _resident, _user = setup
    staff = factories.staff("street_staff", tree.street_a)
    with pytest.raises(services.DomainError) as exc:
        services.checkin_by_qr(user=staff, token=qr.issue(activity.pk))
    assert exc.value.code == "no_resident"
    _nothing_written()


def test_qr_svg_is_inline_svg():
    svg = qr.svg("https://example.org/checkin/abc/")
    assert svg.startswith("<svg") and "<?xml" not in svg
