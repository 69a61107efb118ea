"""Pages: a permission table (role × relation to the team's place × page), residents' phone pages (sign-up with a
clear "full" message, my hours, the certificate, the XLSX export), the leader's forms with errors by row and field,
and constant query counts on every list."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gongzhi.activities.models import ActivitySignup, SignupStatus, VolunteerHours
from gongzhi.activities.volunteering import services
from gongzhi.organizations import services as organizations
from tests import factories

from .conftest import future_event, past_event, resident_with_account, team_in

pytestmark = pytest.mark.django_db

# Who runs the team of COMM_A1 (team pages open); everyone else gets a 404 for its pages.
RUNS = {"community_worker", "street_staff", "admin", "leader", "leader2"}
USERS = [
    "community_worker",
    "sibling_worker",
    "street_staff",
    "other_street_staff",
    "admin",
    "other_admin",
    "teacher",
    "leader",
    "leader2",
    "volunteer",
    "neighbour",
]
TEAM_PAGES = ["volunteer_team", "volunteer_event_new", "volunteer_hours_new"]
EVENT_PAGES = ["volunteer_event", "volunteer_event_hours"]
TABLE = [(user, page, user in RUNS) for user in USERS for page in TEAM_PAGES + EVENT_PAGES]


@pytest.mark.parametrize(("user", "page", "allowed"), TABLE)
def test_team_pages_permission_table(vw, client, user, page, allowed):
    client.force_login(vw.users[user])
    arg = vw.team.pk if page in TEAM_PAGES else vw.past.pk
    response = client.get(reverse(page, args=[arg]))
    assert response.status_code == (200 if allowed else 404)
    if allowed:
        assert vw.team.name in response.content.decode()


@pytest.mark.parametrize("user", USERS)
def test_team_list_and_inbox_permission_table(vw, client, user):
    client.force_login(vw.users[user])
    staff = user in {"community_worker", "sibling_worker", "street_staff", "other_street_staff", "admin", "other_admin"}
    may_use = staff or user in {"leader", "leader2"}
    for page in ("volunteer_teams", "volunteer_to_confirm"):
        response = client.get(reverse(page))
        assert response.status_code == (200 if may_use else 403), page
    if may_use:
        listed = vw.team.name in client.get(reverse("volunteer_teams")).content.decode()
        assert listed is (user in RUNS)


@pytest.mark.parametrize(
    ("who", "entry_of", "may_confirm"),
    [
        ("leader", "volunteer", True),
        ("leader2", "leader", True),
        ("leader", "leader", False),  # their own hours
        ("community_worker", "volunteer", True),
        ("street_staff", "leader", True),
        ("sibling_worker", "volunteer", False),
        ("other_admin", "volunteer", False),
        ("volunteer", "volunteer", False),
        ("neighbour", "volunteer", False),
        ("teacher", "volunteer", False),
    ],
)
def test_confirm_permission_table(vw, client, who, entry_of, may_confirm):
    resident = getattr(vw, entry_of)
    entry, _ = services.volunteer_hours_record(
        actor=vw.users["admin"], team=vw.team, resident=resident, hours="2", activity=vw.past
    )
    assert vw.users[who].has_perm("activities.confirm_volunteerhours", entry) is may_confirm
    client.force_login(vw.users[who])
    response = client.post(reverse("volunteer_hours_confirm", args=[entry.pk]))
    entry.refresh_from_db()
    assert (entry.confirmed_at is not None) is may_confirm
    if who == "leader" and entry_of == "leader":
        # Refused with a clear message, not a silent 404.
        page = client.get(response["Location"])
        assert "不能确认自己的志愿服务时长" in page.content.decode()


@pytest.mark.parametrize(
    ("where", "member", "may"),
    [("comm_a1", False, True), ("comm_a2", False, False), ("comm_a2", True, True), ("comm_b1", False, False)],
)
def test_signup_permission_table(vw, client, where, member, may):
    resident, user = resident_with_account(getattr(vw.tree, where), "报名人")
    if member:
        organizations.membership_add(actor=None, organization=vw.team, resident=resident)
    client.force_login(user)
    listed = str(vw.upcoming.pk) in client.get(reverse("volunteer_home")).content.decode()
    assert listed is may
    response = client.post(reverse("volunteer_signup", args=[vw.upcoming.pk]))
    assert response.status_code == (302 if may else 404)
    assert ActivitySignup.objects.filter(activity=vw.upcoming, resident=resident).exists() is may


def test_pages_need_login(vw, client):
    for name, args in [
        ("volunteer_home", []),
        ("volunteer_my_hours", []),
        ("volunteer_certificate", []),
        ("volunteer_teams", []),
        ("volunteer_team", [vw.team.pk]),
        ("volunteer_event", [vw.past.pk]),
    ]:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- residents --------------------------------------------------------------------------------------------------


def test_signup_on_the_phone_with_a_clear_full_message(vw, client):
    services.signup_create(resident=vw.quiet, activity=vw.upcoming)
    client.force_login(vw.users["volunteer"])
    response = client.post(reverse("volunteer_signup", args=[vw.upcoming.pk]), follow=True)
    assert "已报名" in response.content.decode()
    again = client.post(reverse("volunteer_signup", args=[vw.upcoming.pk]), follow=True)
    assert "您已经报过名了" in again.content.decode()
    assert ActivitySignup.objects.filter(activity=vw.upcoming, resident=vw.volunteer).count() == 1
    # Now full (2 places): the neighbour sees it, and a clear message if they try.
    client.force_login(vw.users["neighbour"])
    page = client.get(reverse("volunteer_home")).content.decode()
    assert "名额已满" in page
    full = client.post(reverse("volunteer_signup", args=[vw.upcoming.pk]), follow=True).content.decode()
    assert "名额已满：这次活动共 2 个名额，都已报满" in full
    # Cancelling frees the place.
    client.force_login(vw.users["volunteer"])
    client.post(reverse("volunteer_signup_cancel", args=[vw.upcoming.pk]))
    assert ActivitySignup.objects.filter(
        activity=vw.upcoming, resident=vw.volunteer, status=SignupStatus.CANCELLED
    ).exists()


def test_my_hours_shows_pending_and_confirmed_by_year_and_team(vw, client):
    staff = vw.users["street_staff"]
    services.volunteer_hours_record(
        actor=staff, team=vw.team, resident=vw.volunteer, hours="3", activity=vw.past, confirm=True
    )
    services.volunteer_hours_record(
        actor=staff, team=vw.team, resident=vw.volunteer, hours="1.5", served_on=datetime.date(2024, 9, 1)
    )
    client.force_login(vw.users["volunteer"])
    page = client.get(reverse("volunteer_my_hours")).content.decode()
    assert 'id="confirmed-total">3 ' in page and 'id="pending-total">1.50 ' in page
    assert "2024 年" in page and "小蜜蜂志愿服务队" in page and "待确认" in page and "已确认" in page
    home = client.get(reverse("volunteer_home")).content.decode()
    assert 'id="hours-total">3 ' in home


def test_certificate_is_printable_chinese_and_shows_no_id_number(vw, client, tree):
    from tests.conftest import ID_A

    resident = factories.resident(tree.comm_a1, name="欧阳志愿", phone="13655559999", id_number=ID_A)
    from gongzhi.people import services as people_services

    user = people_services.account_claim(phone="13655559999", password="Gongzhi-2026-pw")
    organizations.membership_add(
        actor=None, organization=vw.team, resident=resident, joined_on=datetime.date(2024, 6, 1)
    )
    services.volunteer_hours_record(
        actor=vw.users["street_staff"], team=vw.team, resident=resident, hours="2.5", activity=vw.past, confirm=True
    )
    services.volunteer_hours_record(
        actor=vw.users["street_staff"], team=vw.team, resident=resident, hours="4", served_on=datetime.date(2024, 7, 2)
    )  # pending: not on the certificate
    client.force_login(user)
    html = client.get(reverse("volunteer_certificate")).content.decode()
    assert "志愿服务证明" in html and "欧阳志愿" in html and "@page" in html and "A4" in html
    assert 'id="certificate-total">2.50<' in html
    assert "2024" not in html.split("<tbody>")[1].split("</tbody>")[0], "pending hours are not certified"
    assert ID_A not in html and resident.id_number_masked not in html
    assert "出具单位" in html and "出具日期" in html and tree.comm_a1.name in html


def test_record_xlsx_export(vw, client):
    from openpyxl import load_workbook

    staff = vw.users["street_staff"]
    entry, _ = services.volunteer_hours_record(
        actor=staff, team=vw.team, resident=vw.volunteer, hours="3", activity=vw.past, confirm=True
    )
    services.volunteer_hours_reverse(actor=staff, entry=entry, reason="提前离开", hours="2")
    client.force_login(vw.users["volunteer"])
    response = client.get(reverse("volunteer_record_xlsx"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    summary, detail = book.worksheets
    assert [c.value for c in summary[3]] == [
        "年度",
        "志愿服务队",
        "所属区划",
        "已确认时长（小时）",
        "待确认时长（小时）",
    ]
    assert summary.cell(row=4, column=4).value == 2
    rows = [[c.value for c in row] for row in detail.iter_rows(min_row=2)]
    assert sorted((r[3], r[4]) for r in rows) == [(-1, "更正"), (3, "已确认")]


# --- leaders and staff ------------------------------------------------------------------------------------------


def test_leader_creates_an_event_and_bad_input_is_shown_in_chinese(vw, client):
    client.force_login(vw.users["leader"])
    url = reverse("volunteer_event_new", args=[vw.team.pk])
    bad = client.post(url, {"title": "", "starts_at": "明天", "capacity": "0"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "活动名称" in text and "开始时间" in text and "名额" in text
    start = timezone.localtime(timezone.now() + datetime.timedelta(days=5))
    ok = client.post(
        url,
        {"title": "河道清洁", "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "capacity": "10", "signup_open": "on"},
    )
    assert ok.status_code == 302
    event = vw.team.activities.get(title="河道清洁")
    assert event.kind == "volunteer_event" and event.signup_open and event.capacity == 10


def test_bulk_form_reports_rows_and_saves_nothing_on_error(vw, client):
    client.force_login(vw.users["leader"])
    url = reverse("volunteer_event_hours", args=[vw.past.pk])
    page = client.get(url).content.decode()
    assert f'name="hours-{vw.volunteer.pk}"' in page and f'name="hours-{vw.quiet.pk}"' in page
    bad = client.post(url, {f"hours-{vw.volunteer.pk}": "3", f"hours-{vw.quiet.pk}": "99"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "没有保存任何记录" in text and "时长应为大于 0、不超过 24 的数字" in text and "行：" in text
    assert VolunteerHours.objects.count() == 0
    ok = client.post(url, {f"hours-{vw.volunteer.pk}": "3", f"hours-{vw.quiet.pk}": "2", "confirm": "1"})
    assert ok.status_code == 302
    assert VolunteerHours.objects.filter(confirmed_at__isnull=False).count() == 2


def test_to_confirm_lists_entries_recorded_by_others_not_own_hours(vw, client):
    staff = vw.users["community_worker"]
    by_staff, _ = services.volunteer_hours_record(
        actor=staff, team=vw.team, resident=vw.volunteer, hours="2", activity=vw.past
    )
    own, _ = services.volunteer_hours_record(actor=staff, team=vw.team, resident=vw.leader, hours="2", activity=vw.past)
    mine, _ = services.volunteer_hours_record(
        actor=vw.users["leader"], team=vw.team, resident=vw.quiet, hours="1", activity=vw.past
    )
    client.force_login(vw.users["leader"])
    page = client.get(reverse("volunteer_to_confirm")).content.decode()
    assert f'id="entry-{by_staff.pk}"' in page
    assert f"entry-{own.pk}" not in page and str(own.pk) not in page, "one's own hours are not offered"
    assert 'id="mine-to-confirm"' in page and str(mine.pk) in page
    response = client.post(
        reverse("volunteer_hours_confirm", args=[by_staff.pk]), {"next": reverse("volunteer_to_confirm")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("volunteer_to_confirm")
    by_staff.refresh_from_db()
    assert by_staff.confirmed_by == vw.users["leader"]


def test_reverse_page(vw, client):
    entry, _ = services.volunteer_hours_record(
        actor=vw.users["street_staff"], team=vw.team, resident=vw.volunteer, hours="3", activity=vw.past, confirm=True
    )
    client.force_login(vw.users["leader"])
    url = reverse("volunteer_hours_reverse", args=[entry.pk])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"hours": "5", "reason": "多记了"})
    assert bad.status_code == 400 and "更正后的时长应不少于 0、少于原记录的 3.00 小时" in bad.content.decode()
    missing = client.post(url, {"hours": "1", "reason": ""})
    assert missing.status_code == 400 and "冲正原因" in missing.content.decode()
    ok = client.post(url, {"hours": "2", "reason": "提前离开"})
    assert ok.status_code == 302
    assert VolunteerHours.objects.get(reversal_of=entry).hours == Decimal("-1.00")


def test_hours_without_an_event_form(vw, client):
    client.force_login(vw.users["leader"])
    url = reverse("volunteer_hours_new", args=[vw.team.pk])
    page = client.get(url).content.decode()
    assert str(vw.volunteer.pk) in page and str(vw.neighbour.pk) not in page, "members only"
    bad = client.post(url, {"resident": str(vw.volunteer.pk), "served_on": "2099-01-01", "hours": "2"})
    assert bad.status_code == 400 and "服务日期不能晚于今天" in bad.content.decode()
    ok = client.post(url, {"resident": str(vw.volunteer.pk), "served_on": "2025-06-01", "hours": "2", "note": "值守"})
    assert ok.status_code == 302
    assert VolunteerHours.objects.get(resident=vw.volunteer).served_on == datetime.date(2025, 6, 1)


# --- query counts -----------------------------------------------------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_lists_make_a_constant_number_of_queries(vw, client, tree):
    staff = vw.users["street_staff"]

    def grow(n: int, tag: str) -> None:
        for i in range(n):
            team = team_in(tree.comm_a1, name=f"服务队{tag}{i}")
            r = factories.resident(tree.comm_a1, name=f"队员{tag}{i}")
            organizations.membership_add(actor=None, organization=team, resident=r, joined_on=datetime.date(2024, 6, 1))
            organizations.membership_add(
                actor=None, organization=vw.team, resident=r, joined_on=datetime.date(2024, 6, 1)
            )
            event = past_event(team, title=f"活动{tag}{i}")
            services.volunteer_hours_record(actor=staff, team=team, resident=r, hours="2", activity=event)
            services.volunteer_hours_record(
                actor=staff, team=vw.team, resident=r, hours="1", activity=vw.past, confirm=(i % 2 == 0)
            )
            services.volunteer_hours_record(
                actor=staff, team=team, resident=r, hours="1", served_on=datetime.date(2024, 7, i + 1), confirm=True
            )
            future_event(vw.team, title=f"未来{tag}{i}")
            services.signup_create(resident=r, activity=vw.upcoming) if i < 1 else None

    pages = [
        (vw.users["street_staff"], reverse("volunteer_teams")),
        (vw.users["street_staff"], reverse("volunteer_to_confirm")),
        (vw.users["leader"], reverse("volunteer_to_confirm")),
        (vw.users["leader"], reverse("volunteer_team", args=[vw.team.pk])),
        (vw.users["leader"], reverse("volunteer_event", args=[vw.past.pk])),
        (vw.users["leader"], reverse("volunteer_event_hours", args=[vw.past.pk])),
        (vw.users["volunteer"], reverse("volunteer_home")),
        (vw.users["volunteer"], reverse("volunteer_my_hours")),
        (vw.users["volunteer"], reverse("volunteer_certificate")),
    ]
    grow(2, "a")
    services.volunteer_hours_record(actor=staff, team=vw.team, resident=vw.volunteer, hours="2", activity=vw.past)
    before = []
    for user, url in pages:
        client.force_login(user)
        before.append(_queries(client, url))
    grow(6, "b")
    # The volunteer's own record grows too.
    for i in range(5):
        services.volunteer_hours_record(
            actor=staff,
            team=vw.team,
            resident=vw.volunteer,
            hours="1",
            served_on=datetime.date(2024, 8, i + 1),
            confirm=True,
        )
    after = []
    for user, url in pages:
        client.force_login(user)
        after.append(_queries(client, url))
    assert after == before, list(zip([u for _, u in pages], before, after, strict=True))
    assert max(after) <= 25


@pytest.mark.parametrize("user", ["leader", "community_worker"])
def test_team_page_links_to_member_management_that_opens(vw, client, user):
    client.force_login(vw.users[user])
    page = client.get(reverse("volunteer_team", args=[vw.team.pk])).content.decode()
    members_url = reverse("organization_detail", args=[vw.team.pk])
    assert members_url in page and "成员（4）" in page
    assert client.get(members_url).status_code == 200


@pytest.mark.parametrize(
    ("user", "labels", "extra"),
    [
        ("neighbour", ["我的活动", "我的志愿服务"], 0),
        ("volunteer", ["我的活动", "我的志愿服务"], 0),
        # A team leader: one query (is one of the organisations they lead a volunteer team?), once per request.
        ("leader", ["活动签到", "志愿服务队", "我的活动", "我的志愿服务"], 1),
        ("street_staff", ["活动签到", "志愿服务队"], 0),
    ],
)
def test_nav_entries_only_for_who_may_use_them_and_cheap(vw, user, labels, extra):
    """The volunteering entries cost no query beyond what the navigation already reads (grants, the organisations
    the user leads, the resident profile — cached on the user for the request), except one for a leader."""
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    from gongzhi.activities.nav import nav_items
    from gongzhi.people import access

    fresh = get_user_model().objects.get(pk=vw.users[user].pk)  # nothing cached yet
    # What the navigation read before the volunteering entries existed.
    access.is_staff(fresh)
    fresh.has_perm("activities.use_activity_pages")
    access.has_resident_profile(fresh)
    with CaptureQueriesContext(connection) as ctx:
        items = nav_items(RequestFactory().get("/"), fresh)
    assert [str(i["label"]) for i in items] == labels
    assert len(ctx) == extra, "\n".join(q["sql"][:160] for q in ctx.captured_queries)
    with CaptureQueriesContext(connection) as again:
        nav_items(RequestFactory().get("/"), fresh)
    assert len(again) == 0, "everything is cached on the user for the request"
