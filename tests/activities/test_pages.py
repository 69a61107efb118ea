"""Pages: who may open what (role × relation to the activity's place), forms with Chinese errors, constant queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gongzhi.activities import services
from gongzhi.activities.models import Activity
from gongzhi.people.models import Role
from tests import factories

from .conftest import open_activity

# Who runs the course session (in COMM_A1, taught by "teacher") and the meeting (in COMM_A1, led by "leader").
RUNS_SESSION = {"community_worker", "street_staff", "admin", "teacher"}
RUNS_MEETING = {"community_worker", "street_staff", "admin", "leader"}
USERS = [
    "community_worker",
    "sibling_worker",
    "street_staff",
    "other_street_staff",
    "admin",
    "other_admin",
    "teacher",
    "other_teacher",
    "leader",
    "resident",
]
PAGES = ["activity_detail", "activity_qr", "activity_qr_frame", "activity_roster", "activity_paper"]
TABLE = [
    (user, which, page, user in (RUNS_SESSION if which == "session" else RUNS_MEETING))
    for user in USERS
    for which in ("session", "meeting")
    for page in PAGES
]


@pytest.mark.parametrize(("user", "which", "page", "allowed"), TABLE)
def test_activity_pages_permission_table(cw, client, user, which, page, allowed):
    activity = cw.session if which == "session" else cw.meeting
    client.force_login(cw.users[user])
    response = client.get(reverse(page, args=[activity.pk]))
    if allowed:
        assert response.status_code == 200
        assert activity.title in response.content.decode() or page == "activity_qr_frame"
    else:
        assert response.status_code == 404


def test_pages_need_login(cw, client):
    for page in PAGES:
        response = client.get(reverse(page, args=[cw.session.pk]))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(reverse("my_activities")).status_code == 302


@pytest.mark.parametrize(
    ("user", "sees"),
    [
        ("community_worker", {"session", "meeting", "a1"}),
        ("sibling_worker", {"a2"}),
        ("street_staff", {"session", "meeting", "a1", "a2", "street"}),
        ("other_street_staff", {"b1"}),
        ("admin", {"session", "meeting", "a1", "a2", "street", "b1"}),
        ("teacher", {"session"}),
        ("leader", {"meeting"}),
        ("other_teacher", set()),
    ],
)
def test_activity_list_shows_what_the_user_runs(cw, client, user, sees):
    tree = cw.tree
    made = {
        "a1": open_activity(tree.comm_a1, title="甲一活动"),
        "a2": open_activity(tree.comm_a2, title="甲二活动"),
        "street": open_activity(tree.street_a, title="街道活动"),
        "b1": open_activity(tree.comm_b1, title="乙一活动"),
        "other": open_activity(tree.other_comm, title="外区活动"),
        "session": cw.session,
        "meeting": cw.meeting,
    }
    client.force_login(cw.users[user])
    response = client.get(reverse("activity_list"))
    assert response.status_code == 200
    body = response.content.decode()
    shown = {key for key, a in made.items() if a.title in body}
    assert shown == sees


def test_residents_cannot_open_the_activity_list(cw, client):
    client.force_login(cw.users["resident"])
    assert client.get(reverse("activity_list")).status_code == 403
    assert client.get(reverse("activity_new")).status_code == 403


def test_activity_list_filters(cw, client):
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    open_activity(cw.tree.comm_a1, title="明天的议事会", kind="deliberation_meeting", starts_at=tomorrow, ends_at=None)
    client.force_login(cw.users["street_staff"])
    body = client.get(reverse("activity_list"), {"kind": "deliberation_meeting"}).content.decode()
    assert "明天的议事会" in body and cw.session.title not in body
    body = client.get(reverse("activity_list"), {"date": timezone.localdate(tomorrow).isoformat()}).content.decode()
    assert "明天的议事会" in body and cw.meeting.title not in body


def test_create_activity_form(cw, client):
    client.force_login(cw.users["street_staff"])
    url = reverse("activity_new")
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "place": cw.tree.comm_a2.code,
            "kind": "deliberation_meeting",
            "title": "  楼道议事会  ",
            "starts_at": "2026-05-01T19:00",
            "ends_at": "2026-05-01T21:00",
            "mode": "local",
        },
    )
    activity = Activity.objects.get(title="楼道议事会")
    assert response.status_code == 302 and response["Location"] == reverse("activity_detail", args=[activity.pk])
    assert activity.place == cw.tree.comm_a2 and activity.created_by == cw.users["street_staff"]


def test_create_activity_bad_input_shows_chinese_field_errors(cw, client):
    client.force_login(cw.users["community_worker"])
    before = Activity.objects.count()
    response = client.post(
        reverse("activity_new"),
        {
            "place": cw.tree.comm_b1.code,  # not theirs
            "kind": "course_session",
            "title": "",
            "starts_at": "2026-05-01T19:00",
            "ends_at": "2026-05-01T18:00",
            "mode": "local",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "举办地：" in body and "标题：这个字段是必填项。" in body
    response = client.post(
        reverse("activity_new"),
        {
            "place": cw.tree.comm_a1.code,
            "kind": "course_session",
            "title": "时间颠倒",
            "starts_at": "2026-05-01T19:00",
            "ends_at": "2026-05-01T18:00",
            "mode": "local",
        },
    )
    assert "结束时间：结束时间不能早于开始时间" in response.content.decode()
    assert Activity.objects.count() == before


def test_qr_screen_shows_a_working_link_and_the_count(cw, client):
    client.force_login(cw.users["teacher"])
    body = client.get(reverse("activity_qr", args=[cw.session.pk])).content.decode()
    assert "<svg" in body and "已签到" in body and 'hx-trigger="every 5s"' in body
    assert "vendor/htmx.min.js" in body and "cdn" not in body.lower()
    start = body.index('data-checkin-url="') + len('data-checkin-url="')
    url = body[start : body.index('"', start)]
    assert "/checkin/" in url
    client.force_login(cw.resident_user)
    path = url.split("testserver", 1)[1]
    assert "签到成功" in client.get(path).content.decode()
    client.force_login(cw.users["teacher"])
    frame = client.get(reverse("activity_qr_frame", args=[cw.session.pk])).content.decode()
    assert "已签到 <strong>1</strong> 人" in frame


def test_qr_screen_outside_the_window_shows_no_code(cw, client):
    later = open_activity(
        cw.tree.comm_a1, starts_at=timezone.now() + datetime.timedelta(days=2), ends_at=None, title="后天"
    )
    client.force_login(cw.users["community_worker"])
    body = client.get(reverse("activity_qr", args=[later.pk])).content.decode()
    assert "签到尚未开始" in body and "<svg" not in body


# --- query counts ---------------------------------------------------------------------------------------------


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_roster_page_query_count_is_constant(cw, client):
    client.force_login(cw.users["street_staff"])
    url = reverse("activity_roster", args=[cw.meeting.pk])
    few = _count(client, url)
    from gongzhi.organizations import services as organizations

    org = cw.meeting.organization
    for i in range(15):
        r = factories.resident(cw.tree.comm_a1, name=f"多{i}")
        organizations.membership_add(actor=None, organization=org, resident=r)
        if i % 2:
            services.roster_mark(actor=None, activity=cw.meeting, resident=r, status="present")
    many = _count(client, url)
    assert many == few


def test_activity_list_query_count_is_constant(cw, client):
    client.force_login(cw.users["admin"])
    url = reverse("activity_list")
    few = _count(client, url)
    for i in range(12):
        a = open_activity(cw.tree.comm_a2 if i % 2 else cw.tree.comm_b1, title=f"活动{i}")
        services.roster_mark(actor=None, activity=a, resident=cw.enrolled[0], status="present")
    many = _count(client, url)
    assert many == few


def test_my_activities_query_count_is_constant(cw, client):
    client.force_login(cw.resident_user)
    url = reverse("my_activities")
    services.roster_mark(actor=None, activity=cw.session, resident=cw.resident, status="present")
    few = _count(client, url)
    for i in range(8):
        a = open_activity(cw.tree.comm_a1, title=f"活动{i}")
        services.roster_mark(actor=None, activity=a, resident=cw.resident, status="present")
    assert _count(client, url) == few


def test_nav_shows_check_in_pages(cw, client):
    client.force_login(cw.users["street_staff"])
    body = client.get(reverse("activity_list")).content.decode()
    assert reverse("activity_list") in body
    client.force_login(cw.resident_user)
    body = client.get(reverse("my_activities")).content.decode()
    assert reverse("my_activities") in body and reverse("activity_list") not in body


def test_staff_of_another_role_only(cw, client):
    # A resource partner grant gives no activities pages.
    partner = factories.staff(Role.RESOURCE_PARTNER, cw.tree.street_a)
    client.force_login(partner)
    assert client.get(reverse("activity_list")).status_code == 403
