"""Volunteering API: sign-up, hours record / bulk / confirm / reverse, my hours — every response checked against the
OpenAPI document (tests/api's client), errors in the one shape, permission tables, constant query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.activities.models import ActivitySignup, SignupStatus, VolunteerHours
from gongzhi.activities.volunteering import services
from gongzhi.learning.models import PointsEntry
from gongzhi.organizations import services as organizations
from tests import factories
from tests.api.conftest import API, error_of

from .conftest import future_event, past_event, resident_with_account, team_in

pytestmark = pytest.mark.django_db

RUNS = {"community_worker", "street_staff", "admin", "leader", "leader2"}
OTHERS = ["sibling_worker", "other_street_staff", "other_admin", "teacher", "volunteer", "neighbour"]


@pytest.mark.parametrize("user", sorted(RUNS) + OTHERS)
def test_team_api_permission_table(vw, make_client, user):
    client = make_client(vw.users[user])
    allowed = user in RUNS
    start = (timezone.now() + datetime.timedelta(days=4)).isoformat()
    created = client.post_json(f"{API}/volunteer-teams/{vw.team.pk}/events", {"title": "河道清洁", "starts_at": start})
    assert created.status_code == (201 if allowed else 404)
    signups = client.get(f"{API}/volunteer-events/{vw.upcoming.pk}/signups")
    assert signups.status_code == (200 if allowed else 404)
    recorded = client.post_json(
        f"{API}/volunteer-hours",
        {"team_id": str(vw.team.pk), "resident_id": str(vw.quiet.pk), "hours": "2", "activity_id": str(vw.past.pk)},
    )
    assert recorded.status_code == (201 if allowed else 404)
    if not allowed:
        assert error_of(recorded)["code"] == "not_found"
        entry, _ = services.volunteer_hours_record(
            actor=vw.users["admin"], team=vw.team, resident=vw.quiet, hours="2", activity=vw.past
        )
    else:
        entry = VolunteerHours.objects.get(pk=recorded.json()["id"])
    confirmed = client.post_json(f"{API}/volunteer-hours/{entry.pk}/confirm")
    assert confirmed.status_code == (200 if allowed else 404)
    listed = client.get(f"{API}/volunteer-hours").json()["items"]
    assert (str(entry.pk) in {e["id"] for e in listed}) is allowed


def test_record_confirm_reverse_through_the_api(vw, make_client):
    staff = make_client(vw.users["community_worker"])
    body = {
        "team_id": str(vw.team.pk),
        "resident_id": str(vw.volunteer.pk),
        "hours": "3",
        "activity_id": str(vw.past.pk),
    }
    first = staff.post_json(f"{API}/volunteer-hours", body)
    assert first.status_code == 201
    entry = first.json()
    assert entry["state"] == "pending" and entry["hours"] in ("3.00", "3", 3) and entry["name_masked"].startswith("周")
    assert staff.post_json(f"{API}/volunteer-hours", body).status_code == 200, "a double submit returns the entry"
    other = staff.post_json(f"{API}/volunteer-hours", {**body, "hours": "4"})
    assert other.status_code == 409 and error_of(other)["code"] == "already_recorded"

    leader = make_client(vw.users["leader"])
    inbox = leader.get(f"{API}/volunteer-hours", {"status": "to_confirm"}).json()
    assert [e["id"] for e in inbox["items"]] == [entry["id"]]
    confirmed = leader.post_json(f"{API}/volunteer-hours/{entry['id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed"
    assert leader.post_json(f"{API}/volunteer-hours/{entry['id']}/confirm").status_code == 200
    assert PointsEntry.objects.filter(resident=vw.volunteer, source_type="volunteer_hours").count() == 1

    reversal = leader.post_json(f"{API}/volunteer-hours/{entry['id']}/reversal", {"reason": "提前离开", "hours": "2"})
    assert reversal.status_code == 201
    assert reversal.json()["state"] == "correction" and reversal.json()["reversal_of"] == entry["id"]
    again = leader.post_json(f"{API}/volunteer-hours/{entry['id']}/reversal", {"reason": "再改", "hours": "1"})
    assert again.status_code == 409 and error_of(again)["code"] == "already_reversed"

    mine = make_client(vw.users["volunteer"])
    record = mine.get(f"{API}/me/volunteer-record").json()
    assert float(record["confirmed"]) == 2 and float(record["pending"]) == 0
    assert {e["state"] for e in mine.get(f"{API}/me/volunteer-hours").json()["items"]} == {"confirmed", "correction"}


def test_self_confirmation_is_refused_with_403(vw, make_client):
    leader = make_client(vw.users["leader"])
    created = leader.post_json(
        f"{API}/volunteer-hours",
        {"team_id": str(vw.team.pk), "resident_id": str(vw.leader.pk), "hours": "2", "activity_id": str(vw.past.pk)},
    )
    assert created.status_code == 201
    refused = leader.post_json(f"{API}/volunteer-hours/{created.json()['id']}/confirm")
    assert refused.status_code == 403
    err = error_of(refused)
    assert err["code"] == "self_confirm" and "不能确认自己的志愿服务时长" in err["message"] and "entry" in err["fields"]
    assert VolunteerHours.objects.get(pk=created.json()["id"]).confirmed_at is None


def test_bad_input_in_the_one_error_shape(vw, make_client):
    client = make_client(vw.users["leader"])
    base = {"team_id": str(vw.team.pk), "resident_id": str(vw.volunteer.pk), "activity_id": str(vw.past.pk)}
    for hours, field in [("0", "hours"), ("25", "hours"), ("1.234", "hours"), ("abc", "hours")]:
        response = client.post_json(f"{API}/volunteer-hours", {**base, "hours": hours})
        assert response.status_code == 422 and field in error_of(response)["fields"], hours
    missing = client.post_json(
        f"{API}/volunteer-hours", {"team_id": str(vw.team.pk), "resident_id": str(vw.volunteer.pk), "hours": "1"}
    )
    assert missing.status_code == 400 and "served_on" in error_of(missing)["fields"]
    nobody = client.post_json(
        f"{API}/volunteer-hours", {**base, "resident_id": "00000000-0000-0000-0000-000000000000", "hours": "1"}
    )
    assert nobody.status_code == 400 and "resident_id" in error_of(nobody)["fields"]
    future = client.post_json(f"{API}/volunteer-hours", {**base, "activity_id": str(vw.upcoming.pk), "hours": "1"})
    assert future.status_code == 400 and error_of(future)["code"] == "not_started"
    bad_bulk = client.post_json(
        f"{API}/volunteer-events/{vw.past.pk}/hours",
        {
            "rows": [
                {"resident_id": str(vw.volunteer.pk), "hours": "2"},
                {"resident_id": str(vw.volunteer.pk), "hours": "3"},
            ]
        },
    )
    assert bad_bulk.status_code == 400 and list(error_of(bad_bulk)["fields"]) == ["rows.1.resident_id"]
    invalid_bulk = client.post_json(
        f"{API}/volunteer-events/{vw.past.pk}/hours", {"rows": [{"resident_id": str(vw.volunteer.pk), "hours": "30"}]}
    )
    assert invalid_bulk.status_code == 422 and "rows.0.hours" in error_of(invalid_bulk)["fields"]
    reason = client.post_json(f"{API}/volunteer-hours/{vw.past.pk}/reversal", {"reason": ""})
    assert reason.status_code == 422 and "reason" in error_of(reason)["fields"]
    event = client.post_json(f"{API}/volunteer-teams/{vw.team.pk}/events", {"title": "", "starts_at": "明天"})
    assert event.status_code == 422 and {"title", "starts_at"} <= set(error_of(event)["fields"])
    assert VolunteerHours.objects.count() == 0


def test_bulk_record_through_the_api(vw, make_client):
    client = make_client(vw.users["street_staff"])
    response = client.post_json(
        f"{API}/volunteer-events/{vw.past.pk}/hours",
        {
            "rows": [
                {"resident_id": str(vw.volunteer.pk), "hours": "3"},
                {"resident_id": str(vw.quiet.pk), "hours": "2.5", "note": "搬运物资"},
            ],
            "confirm": True,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["confirmed"], body["own_pending"]) == (2, 2, 0)
    assert {e["state"] for e in body["entries"]} == {"confirmed"}


def test_signup_api_double_full_and_cancel(vw, make_client):
    client = make_client(vw.users["volunteer"])
    listed = client.get(f"{API}/me/volunteer-events").json()["items"]
    assert [e["id"] for e in listed] == [str(vw.upcoming.pk)] and listed[0]["signed_up"] is False
    first = client.post(f"{API}/volunteer-events/{vw.upcoming.pk}/signup")
    assert first.status_code == 201 and first.json()["status"] == "signed_up"
    assert client.post(f"{API}/volunteer-events/{vw.upcoming.pk}/signup").status_code == 200
    services.signup_create(resident=vw.quiet, activity=vw.upcoming)
    full = make_client(vw.users["neighbour"]).post(f"{API}/volunteer-events/{vw.upcoming.pk}/signup")
    assert full.status_code == 409 and error_of(full)["code"] == "full" and "名额已满" in error_of(full)["message"]
    cancelled = client.delete(f"{API}/volunteer-events/{vw.upcoming.pk}/signup")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.delete(f"{API}/volunteer-events/{vw.upcoming.pk}/signup").status_code == 404
    started = client.post(f"{API}/volunteer-events/{vw.past.pk}/signup")
    assert started.status_code == 400 and error_of(started)["code"] == "started"
    far = factories.resident(vw.tree.comm_b1, name="远方", phone="13655558888")
    from gongzhi.people import services as people_services

    far_user = people_services.account_claim(phone="13655558888", password="Gongzhi-2026-pw")
    assert make_client(far_user).post(f"{API}/volunteer-events/{vw.upcoming.pk}/signup").status_code == 404
    assert ActivitySignup.objects.filter(resident=far).count() == 0
    assert make_client(vw.users["community_worker"]).get(f"{API}/me/volunteer-events").status_code == 404
    assert ActivitySignup.objects.filter(activity=vw.upcoming, status=SignupStatus.SIGNED_UP).count() == 1


def test_api_needs_login(vw, anon):
    assert anon.get(f"{API}/me/volunteer-hours").status_code == 401
    assert anon.post(f"{API}/volunteer-events/{vw.upcoming.pk}/signup").status_code == 401


def _count(client, url: str, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx)


def test_api_lists_make_a_constant_number_of_queries(vw, make_client, tree):
    staff_user = vw.users["street_staff"]

    def grow(n: int, tag: str) -> None:
        for i in range(n):
            team = team_in(tree.comm_a1, name=f"队{tag}{i}")
            r, _u = resident_with_account(tree.comm_a1, f"志愿者{tag}{i}")
            for t in (team, vw.team):
                organizations.membership_add(
                    actor=None, organization=t, resident=r, joined_on=datetime.date(2024, 6, 1)
                )
            event = past_event(team, title=f"活动{tag}{i}")
            services.volunteer_hours_record(actor=staff_user, team=team, resident=r, hours="2", activity=event)
            services.volunteer_hours_record(
                actor=staff_user, team=vw.team, resident=r, hours="1", activity=vw.past, confirm=True
            )
            services.signup_create(resident=r, activity=future_event(vw.team, title=f"将来{tag}{i}"))
            services.volunteer_hours_record(
                actor=staff_user,
                team=vw.team,
                resident=vw.volunteer,
                hours="1",
                served_on=datetime.date(2024, 7, i + 1 + (10 if tag == "b" else 0)),
                confirm=True,
            )

    calls = [
        (staff_user, f"{API}/volunteer-hours", None),
        (vw.users["leader"], f"{API}/volunteer-hours", {"status": "to_confirm"}),
        (vw.users["leader"], f"{API}/volunteer-events/{vw.past.pk}/signups", None),
        (vw.users["volunteer"], f"{API}/me/volunteer-events", None),
        (vw.users["volunteer"], f"{API}/me/volunteer-hours", None),
        (vw.users["volunteer"], f"{API}/me/volunteer-record", None),
    ]
    grow(2, "a")
    before = [_count(make_client(u), url, p) for u, url, p in calls]
    grow(5, "b")
    after = [_count(make_client(u), url, p) for u, url, p in calls]
    assert after == before
