"""The volunteer-hours ledger and sign-up, through the real services: record → confirm by someone else → counted;
self-confirmation refused; corrections by reversal; attendance and points follow; bad input changes nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from gongzhi.activities.models import (
    ActivitySignup,
    Attendance,
    AttendanceSource,
    AttendanceStatus,
    SignupStatus,
    VolunteerHours,
)
from gongzhi.activities.services import attendance_record
from gongzhi.activities.volunteering import selectors, services
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied
from gongzhi.learning.models import PointsBalance, PointsEntry
from gongzhi.learning.services import points_balance_of
from gongzhi.organizations import services as organizations
from tests import factories

from .conftest import future_event, past_event, team_in

pytestmark = pytest.mark.django_db


def _points(resident) -> list[PointsEntry]:
    return list(PointsEntry.objects.filter(resident=resident, source_type="volunteer_hours").order_by("created_at"))


def _counted(resident) -> Decimal:
    return sum(
        VolunteerHours.objects.filter(resident=resident, confirmed_at__isnull=False).values_list("hours", flat=True),
        Decimal(0),
    )


# --- record and confirm -----------------------------------------------------------------------------------------


def test_hours_recorded_by_staff_confirmed_by_leader_count_once(vw):
    staff = vw.users["community_worker"]
    entry, created = services.volunteer_hours_record(
        actor=staff, team=vw.team, resident=vw.volunteer, hours="3", activity=vw.past
    )
    assert created and entry.confirmed_at is None and entry.recorded_by == staff
    assert entry.served_on == timezone.localtime(vw.past.starts_at).date()
    assert _counted(vw.volunteer) == 0, "pending hours do not count"
    assert not Attendance.objects.filter(activity=vw.past, resident=vw.volunteer).exists()

    confirmed, changed = services.volunteer_hours_confirm(actor=vw.users["leader"], entry=entry)
    assert changed and confirmed.confirmed_by == vw.users["leader"] and confirmed.confirmed_at is not None
    assert _counted(vw.volunteer) == Decimal(3)
    # The attendance carries the hours (analytics and export read it).
    attendance = Attendance.objects.get(activity=vw.past, resident=vw.volunteer)
    assert attendance.status == AttendanceStatus.PRESENT and attendance.hours == Decimal(3)
    # 5 points an hour.
    [award] = _points(vw.volunteer)
    assert award.points == 15 and award.source_id == str(entry.pk) and award.rule.code == "volunteer_hour"
    assert points_balance_of(vw.volunteer) == 15

    again, changed = services.volunteer_hours_confirm(actor=vw.users["leader2"], entry=entry)
    assert not changed and again.confirmed_by == vw.users["leader"]
    assert len(_points(vw.volunteer)) == 1 and points_balance_of(vw.volunteer) == 15


def test_a_leader_cannot_confirm_their_own_hours(vw):
    """MUST-SHOW: self-confirmed hours are refused, whoever records them."""
    leader = vw.users["leader"]
    entry, _ = services.volunteer_hours_record(
        actor=leader, team=vw.team, resident=vw.leader, hours="2", activity=vw.past
    )
    with pytest.raises(PermissionDenied) as exc:
        services.volunteer_hours_confirm(actor=leader, entry=entry)
    assert exc.value.code == "self_confirm"
    assert "不能确认自己的志愿服务时长" in exc.value.message
    entry.refresh_from_db()
    assert entry.confirmed_at is None and _counted(vw.leader) == 0 and _points(vw.leader) == []
    # Recording with confirm=True leaves one's own hours pending too.
    own, _ = services.volunteer_hours_record(
        actor=leader,
        team=vw.team,
        resident=vw.leader,
        hours="1",
        served_on=timezone.localdate(),
        note="值班",
        confirm=True,
    )
    assert own.confirmed_at is None
    # Another leader confirms them.
    services.volunteer_hours_confirm(actor=vw.users["leader2"], entry=entry)
    assert _counted(vw.leader) == Decimal(2)


def test_staff_who_volunteered_cannot_confirm_their_own_hours(vw):
    staff_resident = factories.resident(vw.tree.comm_a1, name="冯社工", phone="13655550000")
    from gongzhi.people import services as people_services

    user = people_services.account_claim(phone="13655550000", password="Gongzhi-2026-pw")
    from gongzhi.people.models import Role

    people_services.role_grant(actor=None, user=user, place=vw.tree.comm_a1, role=Role.COMMUNITY_WORKER)
    staff_resident.refresh_from_db()
    organizations.membership_add(
        actor=None, organization=vw.team, resident=staff_resident, joined_on=datetime.date(2024, 6, 1)
    )
    entry, _ = services.volunteer_hours_record(
        actor=user, team=vw.team, resident=staff_resident, hours="2", activity=vw.past
    )
    with pytest.raises(PermissionDenied):
        services.volunteer_hours_confirm(actor=user, entry=entry)
    entry, _ = services.volunteer_hours_record(
        actor=user, team=vw.team, resident=vw.volunteer, hours="2", activity=vw.past, confirm=True
    )
    assert entry.confirmed_at is not None and entry.confirmed_by == user, "staff may record and confirm for others"


def test_recording_twice_is_one_entry_and_other_hours_are_refused(vw):
    leader = vw.users["leader"]
    first, created = services.volunteer_hours_record(
        actor=leader, team=vw.team, resident=vw.volunteer, hours="2.5", activity=vw.past
    )
    second, created2 = services.volunteer_hours_record(
        actor=leader, team=vw.team, resident=vw.volunteer, hours=Decimal("2.50"), activity=vw.past
    )
    assert created and not created2 and first.pk == second.pk
    with pytest.raises(Conflict) as exc:
        services.volunteer_hours_record(actor=leader, team=vw.team, resident=vw.volunteer, hours="3", activity=vw.past)
    assert exc.value.code == "already_recorded" and "冲正" in exc.value.message
    # Without an event: the same volunteer, date, hours and note is the same entry (a double click).
    day = timezone.localdate() - datetime.timedelta(days=1)
    a, c1 = services.volunteer_hours_record(
        actor=leader, team=vw.team, resident=vw.quiet, hours="1", served_on=day, note="站岗"
    )
    b, c2 = services.volunteer_hours_record(
        actor=leader, team=vw.team, resident=vw.quiet, hours="1", served_on=day, note="站岗"
    )
    assert c1 and not c2 and a.pk == b.pk
    assert VolunteerHours.objects.count() == 2


@pytest.mark.parametrize(
    ("hours", "field"),
    [("0", "hours"), ("-1", "hours"), ("24.5", "hours"), ("1.234", "hours"), ("abc", "hours"), ("", "hours")],
)
def test_bad_hours_are_refused_with_the_field(vw, hours, field):
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_record(
            actor=vw.users["leader"], team=vw.team, resident=vw.volunteer, hours=hours, activity=vw.past
        )
    assert field in exc.value.fields
    assert VolunteerHours.objects.count() == 0


def test_other_bad_input_is_refused_and_changes_nothing(vw, tree):
    leader = vw.users["leader"]
    # A future event: no hours yet.
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_record(
            actor=leader, team=vw.team, resident=vw.volunteer, hours="1", activity=vw.upcoming
        )
    assert exc.value.code == "not_started"
    # Another team's event.
    other_team = team_in(tree.comm_a1, name="红马甲")
    other_event = past_event(other_team)
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_record(
            actor=leader, team=vw.team, resident=vw.volunteer, hours="1", activity=other_event
        )
    assert exc.value.code == "wrong_event"
    # Not a volunteer team.
    club = organizations.organization_create(actor=None, place=tree.comm_a1, kind="learning_community", name="读书会")
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_record(
            actor=leader, team=club, resident=vw.volunteer, hours="1", served_on=timezone.localdate()
        )
    assert exc.value.code == "not_a_team"
    # A stranger at an event (not signed up, not present, not a member).
    stranger = factories.resident(tree.comm_b1, name="路人")
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_record(actor=leader, team=vw.team, resident=stranger, hours="1", activity=vw.past)
    assert "resident" in exc.value.fields
    # Without an event: a date is needed, not in the future, and only for members.
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_record(actor=leader, team=vw.team, resident=vw.volunteer, hours="1")
    assert "served_on" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_record(
            actor=leader,
            team=vw.team,
            resident=vw.volunteer,
            hours="1",
            served_on=timezone.localdate() + datetime.timedelta(days=1),
        )
    assert "served_on" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_record(
            actor=leader, team=vw.team, resident=vw.neighbour, hours="1", served_on=timezone.localdate()
        )
    assert exc.value.code == "not_a_member"
    assert VolunteerHours.objects.count() == 0


def test_a_signed_up_neighbour_can_be_given_hours_for_the_event(vw):
    event = past_event(vw.team, title="敬老院探访", days_ago=1)
    ActivitySignup.objects.create(activity=event, resident=vw.neighbour)  # signed up before it started
    entry, created = services.volunteer_hours_record(
        actor=vw.users["street_staff"], team=vw.team, resident=vw.neighbour, hours="2", activity=event, confirm=True
    )
    assert created and entry.confirmed_at is not None


# --- corrections ------------------------------------------------------------------------------------------------


def test_reversing_a_confirmed_entry_corrects_hours_attendance_and_points(vw):
    """MUST-SHOW: reversals — the original stays, a negative entry corrects it; points reversed and re-awarded."""
    entry, _ = services.volunteer_hours_record(
        actor=vw.users["community_worker"], team=vw.team, resident=vw.volunteer, hours="4", activity=vw.past
    )
    services.volunteer_hours_confirm(actor=vw.users["leader"], entry=entry)
    assert points_balance_of(vw.volunteer) == 20
    reversal = services.volunteer_hours_reverse(
        actor=vw.users["leader2"], entry=entry, reason="实际服务 2.5 小时", hours="2.5"
    )
    assert reversal.reversal_of == entry and reversal.hours == Decimal("-1.50")
    assert reversal.confirmed_at is not None and reversal.confirmed_by == vw.users["leader2"]
    entry.refresh_from_db()
    assert entry.hours == Decimal(4), "the original entry is never edited"
    assert _counted(vw.volunteer) == Decimal("2.5")
    assert Attendance.objects.get(activity=vw.past, resident=vw.volunteer).hours == Decimal("2.5")
    entries = _points(vw.volunteer)
    assert [e.points for e in entries] == [20, -20, 12]  # 2.5 h × 5 = 12.5, rounded down
    assert entries[1].reversal_of == entries[0] and entries[2].source_id == str(reversal.pk)
    assert points_balance_of(vw.volunteer) == 12
    # Never twice, never a reversal of a reversal.
    with pytest.raises(Conflict):
        services.volunteer_hours_reverse(actor=vw.users["leader2"], entry=entry, reason="再改")
    with pytest.raises(DomainError):
        services.volunteer_hours_reverse(actor=vw.users["leader2"], entry=reversal, reason="再改")
    # The service record counts the net.
    record = selectors.service_record(user=vw.users["volunteer"], resident=vw.volunteer)
    assert record.confirmed == Decimal("2.5") and record.pending == 0


def test_cancelling_a_confirmed_entry_takes_back_everything(vw):
    entry, _ = services.volunteer_hours_record(
        actor=vw.users["street_staff"], team=vw.team, resident=vw.volunteer, hours="3", activity=vw.past, confirm=True
    )
    assert points_balance_of(vw.volunteer) == 15
    services.volunteer_hours_reverse(actor=vw.users["street_staff"], entry=entry, reason="记错了人")
    assert _counted(vw.volunteer) == 0
    assert points_balance_of(vw.volunteer) == 0
    assert [e.points for e in _points(vw.volunteer)] == [15, -15]
    assert Attendance.objects.get(activity=vw.past, resident=vw.volunteer).hours == Decimal(0)


def test_correcting_a_pending_entry(vw):
    leader = vw.users["leader"]
    entry, _ = services.volunteer_hours_record(
        actor=leader, team=vw.team, resident=vw.volunteer, hours="3", activity=vw.past
    )
    reversal = services.volunteer_hours_reverse(actor=leader, entry=entry, reason="少记半小时", hours="2.5")
    assert reversal.confirmed_at is None, "a pending entry's correction waits for the confirmation"
    assert _counted(vw.volunteer) == 0
    assert selectors.service_record(user=vw.users["volunteer"], resident=vw.volunteer).pending == Decimal("2.5")
    services.volunteer_hours_confirm(actor=vw.users["leader2"], entry=entry)
    assert _counted(vw.volunteer) == Decimal("2.5")
    assert [e.points for e in _points(vw.volunteer)] == [12]
    assert Attendance.objects.get(activity=vw.past, resident=vw.volunteer).hours == Decimal("2.5")
    # A pending entry cancelled (corrected to 0) can no longer be confirmed.
    other, _ = services.volunteer_hours_record(
        actor=leader, team=vw.team, resident=vw.quiet, hours="2", activity=vw.past
    )
    services.volunteer_hours_reverse(actor=leader, entry=other, reason="没来")
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_confirm(actor=vw.users["leader2"], entry=other)
    assert exc.value.code == "cancelled"
    assert not selectors.hours_to_confirm(user=vw.users["leader2"]).filter(pk=other.pk).exists()


def test_reversal_input_and_self_correction(vw):
    leader = vw.users["leader"]
    entry, _ = services.volunteer_hours_record(
        actor=vw.users["street_staff"], team=vw.team, resident=vw.leader, hours="3", activity=vw.past
    )
    for hours in ("3", "4", "-1", "x", "1.005"):
        with pytest.raises(DomainError) as exc:
            services.volunteer_hours_reverse(actor=vw.users["street_staff"], entry=entry, reason="改", hours=hours)
        assert "hours" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_reverse(actor=vw.users["street_staff"], entry=entry, reason="  ")
    assert "reason" in exc.value.fields
    services.volunteer_hours_confirm(actor=vw.users["leader2"], entry=entry)
    # The volunteer may not correct their own confirmed hours.
    with pytest.raises(PermissionDenied):
        services.volunteer_hours_reverse(actor=leader, entry=entry, reason="我想改")
    assert VolunteerHours.objects.filter(reversal_of__isnull=False).count() == 0


def test_a_reversing_entry_cannot_be_confirmed(vw):
    entry, _ = services.volunteer_hours_record(
        actor=vw.users["leader"], team=vw.team, resident=vw.volunteer, hours="3", activity=vw.past
    )
    reversal = services.volunteer_hours_reverse(actor=vw.users["leader"], entry=entry, reason="改", hours="2")
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_confirm(actor=vw.users["leader2"], entry=reversal)
    assert exc.value.code == "is_reversal"


# --- points -----------------------------------------------------------------------------------------------------


def test_points_are_rule_points_times_hours_rounded_down(vw):
    _entry, _ = services.volunteer_hours_record(
        actor=vw.users["street_staff"], team=vw.team, resident=vw.volunteer, hours="1.5", activity=vw.past, confirm=True
    )
    [award] = _points(vw.volunteer)
    assert award.points == 7, "5 × 1.5 = 7.5, rounded down"
    other, _ = services.volunteer_hours_record(
        actor=vw.users["street_staff"], team=vw.team, resident=vw.quiet, hours="0.1", activity=vw.past, confirm=True
    )
    assert other.confirmed_at is not None and _points(vw.quiet) == [], "less than a point: nothing awarded"


def test_presence_at_a_volunteer_event_earns_no_presence_points(vw):
    """Attendance at a volunteer event must not also earn the course/meeting presence points."""
    attendance_record(actor=vw.users["leader"], activity=vw.past, resident=vw.volunteer, source=AttendanceSource.ROSTER)
    assert not PointsEntry.objects.filter(resident=vw.volunteer).exists()
    services.volunteer_hours_record(
        actor=vw.users["leader2"], team=vw.team, resident=vw.volunteer, hours="2", activity=vw.past, confirm=True
    )
    assert [(e.source_type, e.points) for e in PointsEntry.objects.filter(resident=vw.volunteer)] == [
        ("volunteer_hours", 10)
    ]
    assert PointsBalance.objects.get(resident=vw.volunteer).balance == 10


# --- bulk -------------------------------------------------------------------------------------------------------


def test_bulk_record_is_all_or_nothing_and_names_row_and_field(vw):
    rows = [
        services.HoursRow(line=1, resident_id=vw.volunteer.pk, hours="3"),
        services.HoursRow(line=2, resident_id=vw.quiet.pk, hours="30"),
        services.HoursRow(line=3, resident_id=vw.leader.pk, hours=""),  # blank: skipped
        services.HoursRow(line=4, resident_id=factories.resident(vw.tree.comm_b1, name="外人").pk, hours="1"),
        services.HoursRow(line=5, resident_id=vw.volunteer.pk, hours="2"),
        services.HoursRow(line=6, resident_id="not-a-uuid", hours="2"),
    ]
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_record_bulk(actor=vw.users["leader"], activity=vw.past, rows=rows)
    fields = exc.value.fields
    assert set(fields) == {"rows.1.hours", "rows.3.resident_id", "rows.4.resident_id", "rows.5.resident_id"}
    assert fields["rows.1.hours"][0].startswith("第 2 行：")
    assert "与第 1 行是同一位居民" in fields["rows.4.resident_id"][0]
    assert "第 2、4、5、6 行" in exc.value.message
    assert VolunteerHours.objects.count() == 0, "one bad row and nothing is written"

    good = [
        services.HoursRow(line=1, resident_id=vw.volunteer.pk, hours="3"),
        services.HoursRow(line=2, resident_id=vw.quiet.pk, hours="2.5", note="搬运物资"),
        services.HoursRow(line=3, resident_id=vw.leader.pk, hours="3"),
    ]
    result = services.volunteer_hours_record_bulk(actor=vw.users["leader"], activity=vw.past, rows=good, confirm=True)
    assert len(result.created) == 3 and result.confirmed == 2 and result.own_pending == 1
    leader_entry = VolunteerHours.objects.get(resident=vw.leader)
    assert leader_entry.confirmed_at is None, "the leader's own hours wait for someone else"
    assert Attendance.objects.filter(activity=vw.past, status="present").count() == 2
    # Submitting the same again changes nothing; other hours for a recorded row are refused.
    again = services.volunteer_hours_record_bulk(actor=vw.users["leader"], activity=vw.past, rows=good)
    assert len(again.created) == 0 and len(again.unchanged) == 3
    with pytest.raises(DomainError) as exc:
        services.volunteer_hours_record_bulk(
            actor=vw.users["leader"],
            activity=vw.past,
            rows=[services.HoursRow(line=1, resident_id=vw.quiet.pk, hours="1")],
        )
    assert "冲正" in exc.value.fields["rows.0.hours"][0]
    with pytest.raises(DomainError):
        services.volunteer_hours_record_bulk(actor=vw.users["leader"], activity=vw.past, rows=[])


# --- sign-up ----------------------------------------------------------------------------------------------------


def test_signup_is_once_capacity_is_respected_and_cancel_frees_a_place(vw):
    event = vw.upcoming  # 2 places
    s1, c1 = services.signup_create(resident=vw.volunteer, activity=event)
    s2, c2 = services.signup_create(resident=vw.volunteer, activity=event)
    assert c1 and not c2 and s1.pk == s2.pk
    services.signup_create(resident=vw.quiet, activity=event)
    with pytest.raises(Conflict) as exc:
        services.signup_create(resident=vw.neighbour, activity=event)
    assert exc.value.code == "full" and "名额已满" in exc.value.message and "2" in exc.value.message
    cancelled = services.signup_cancel(resident=vw.quiet, activity=event)
    assert cancelled is not None and cancelled.status == SignupStatus.CANCELLED
    assert services.signup_cancel(resident=vw.quiet, activity=event) is None
    services.signup_create(resident=vw.neighbour, activity=event)
    assert ActivitySignup.objects.filter(activity=event, status=SignupStatus.SIGNED_UP).count() == 2
    # Signing up again after cancelling makes a new live sign-up when a place is free.
    services.signup_cancel(resident=vw.neighbour, activity=event)
    again, created = services.signup_create(resident=vw.quiet, activity=event)
    assert created and again.pk != cancelled.pk


def test_signup_refused_when_closed_started_or_moved_away(vw):
    closed = future_event(vw.team, title="未开放", signup_open=False)
    with pytest.raises(DomainError) as exc:
        services.signup_create(resident=vw.volunteer, activity=closed)
    assert exc.value.code == "signup_closed"
    with pytest.raises(DomainError) as exc:
        services.signup_create(resident=vw.volunteer, activity=vw.past)
    assert exc.value.code == "started"
    services.signup_create(resident=vw.volunteer, activity=vw.upcoming)
    with pytest.raises(DomainError):
        services.signup_cancel(
            resident=vw.volunteer, activity=vw.upcoming, now=vw.upcoming.starts_at + datetime.timedelta(minutes=1)
        )
    services.volunteer_event_signup_set(actor=vw.users["leader"], activity=closed, open=True)
    closed.refresh_from_db()
    assert closed.signup_open
    assert ActivitySignup.objects.filter(activity=vw.past).count() == 0


def test_event_creation_checks(vw, tree):
    club = organizations.organization_create(actor=None, place=tree.comm_a1, kind="learning_community", name="读书会")
    start = timezone.now() + datetime.timedelta(days=1)
    with pytest.raises(DomainError):
        services.volunteer_event_create(actor=None, team=club, title="x", starts_at=start)
    with pytest.raises(DomainError) as exc:
        services.volunteer_event_create(actor=None, team=vw.team, title="  ", starts_at=start)
    assert "title" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.volunteer_event_create(
            actor=None, team=vw.team, title="活动", starts_at=start, ends_at=start - datetime.timedelta(hours=1)
        )
    assert "ends_at" in exc.value.fields
    event = services.volunteer_event_create(actor=None, team=vw.team, title="活动", starts_at=start, capacity=5)
    assert event.kind == "volunteer_event" and event.signup_open and event.place == vw.team.place
    assert event.organization == vw.team


# --- the service record -----------------------------------------------------------------------------------------


def test_service_record_by_year_and_team(vw, tree):
    staff = vw.users["street_staff"]
    other_team = team_in(tree.comm_a1, name="红马甲志愿服务队")
    organizations.membership_add(
        actor=None, organization=other_team, resident=vw.volunteer, joined_on=datetime.date(2024, 1, 1)
    )
    services.volunteer_hours_record(
        actor=staff, team=vw.team, resident=vw.volunteer, hours="3", activity=vw.past, confirm=True
    )
    services.volunteer_hours_record(
        actor=staff, team=vw.team, resident=vw.volunteer, hours="2", served_on=datetime.date(2024, 7, 1), confirm=True
    )
    services.volunteer_hours_record(
        actor=staff, team=other_team, resident=vw.volunteer, hours="1.5", served_on=datetime.date(2024, 8, 1)
    )
    record = selectors.service_record(user=vw.users["volunteer"], resident=vw.volunteer)
    this_year = timezone.localtime(vw.past.starts_at).year
    got = {(x.year, x.team_name): (x.confirmed, x.pending) for x in record.lines}
    assert got == {
        (this_year, "小蜜蜂志愿服务队"): (Decimal(3), Decimal(0)),
        (2024, "小蜜蜂志愿服务队"): (Decimal(2), Decimal(0)),
        (2024, "红马甲志愿服务队"): (Decimal(0), Decimal("1.5")),
    }
    assert record.confirmed == Decimal(5) and record.pending == Decimal("1.5")
    # Someone else (not staff over the resident) sees nothing.
    assert selectors.service_record(user=vw.users["neighbour"], resident=vw.volunteer).lines == []
    assert selectors.service_record(user=vw.users["community_worker"], resident=vw.volunteer).confirmed == 5
