"""Needs pages: a resident reports on a phone (double submit, bad input), staff match from the ranked candidates and
fulfil through an activity (picker limited to the community and street; or a new activity), the resident rates once;
partners see the needs matched to them. List pages keep a constant number of queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.activities.fulfilment import services as fulfilment
from gongzhi.activities.models import Activity
from gongzhi.people.models import Role
from gongzhi.resources.models import Need, Rating
from gongzhi.resources.services import needs as services
from tests import factories

from .conftest import need, past_activity, present, provider, resident_with_account, resource

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_resident_reports_a_need_and_a_double_submit_makes_one(tree):
    r = resident_with_account(tree.comm_a1, name="李阿姨")
    c = _client(r.user)
    assert c.get("/me/needs/new/").status_code == 200
    data = {"title": "想学用手机挂号", "resource_kind": "course", "description": "老人多", "preferred_time": "周末"}
    first = c.post("/me/needs/new/", data)
    n = Need.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/me/needs/{n.pk}/"
    assert (n.raised_by, n.community, n.direction, n.preferred_time) == (r, tree.comm_a1, "report", "周末")
    second = c.post("/me/needs/new/", data, follow=True)
    assert Need.objects.count() == 1
    assert "您今天已经反映过这条需求，不会重复提交" in second.content.decode()
    mine = c.get("/me/needs/").content.decode()
    assert f'data-need="{n.ref}"' in mine and "待匹配" in mine


def test_bad_report_shows_chinese_field_errors_and_writes_nothing(tree):
    r = resident_with_account(tree.comm_a1, name="李阿姨")
    resp = _client(r.user).post("/me/needs/new/", {"title": "", "resource_kind": "spaceship"})
    body = resp.content.decode()
    assert resp.status_code == 200
    assert "需要什么：" in body and "需要哪类帮助：" in body
    assert not Need.objects.exists()


def test_staff_record_a_need_and_see_it_listed(tree):
    staff = factories.staff("street_staff", tree.street_a)
    c = _client(staff)
    assert c.get("/staff/needs/new/").status_code == 200
    resp = c.post(
        "/staff/needs/new/",
        {
            "community": tree.comm_a2.code,
            "direction": "survey",
            "title": "家长想学亲子沟通",
            "resource_kind": "teacher",
            "raised_on": timezone.localdate().isoformat(),
        },
    )
    n = Need.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/staff/needs/{n.pk}/"
    assert n.direction == "survey" and n.raised_by_user == staff
    listed = c.get("/staff/needs/?direction=survey&status=open").content.decode()
    assert f'data-need="{n.ref}"' in listed
    assert f'data-need="{n.ref}"' not in c.get("/staff/needs/?direction=report").content.decode()
    assert f'data-need="{n.ref}"' not in c.get("/staff/needs/?kind=venue").content.decode()
    # A community outside the staff's place cannot be chosen.
    bad = c.post("/staff/needs/new/", {"community": tree.comm_b1.code, "title": "x", "resource_kind": "course",
                                       "direction": "report", "raised_on": timezone.localdate().isoformat()})  # fmt: skip
    assert bad.status_code == 200 and Need.objects.count() == 1


def test_the_whole_flow_on_the_pages(tree):
    staff = factories.staff("street_staff", tree.street_a)
    r = resident_with_account(tree.comm_a1, name="李阿姨")
    bank = provider("浙商银行", place=tree.street_a)
    lecture = resource(bank, "防范电信诈骗讲座", kind="course", area=[tree.comm_a1], terms="免费")
    resource(bank, "银行网点会议室", kind="venue", area=[tree.comm_a1])
    n, _ = services.need_report(
        actor=r.user, community=tree.comm_a1, resident=r, title="老人想学防电信诈骗", resource_kind="course"
    )
    Need.objects.filter(pk=n.pk).update(raised_on=timezone.localdate() - datetime.timedelta(days=5))
    desk = _client(staff)
    detail = desk.get(f"/staff/needs/{n.pk}/").content.decode()
    assert detail.index("防范电信诈骗讲座") < detail.index("银行网点会议室"), "ranked: same kind first"
    assert "同类资源" in detail and "服务范围覆盖本社区" in detail and "李阿姨" in detail
    desk.post(f"/staff/needs/{n.pk}/match/", {"resource": str(lecture.pk)})
    n.refresh_from_db()
    assert n.status == "matched" and n.resource == lecture
    matched_page = desk.get(f"/staff/needs/{n.pk}/").content.decode()
    assert 'id="match-reasons"' in matched_page and 'id="need-fulfil"' in matched_page
    # Unmatch without a reason: the form says so, nothing changes.
    bad = desk.post(f"/staff/needs/{n.pk}/unmatch/", {"unmatch-reason": ""})
    assert bad.status_code == 400 and "原因：" in bad.content.decode()
    n.refresh_from_db()
    assert n.status == "matched"

    # The picker: activities of the community and its street, already held, not elsewhere, not in the future.
    held = past_activity(tree.comm_a1, "社区防诈骗讲座", days_ago=1)
    street = past_activity(tree.street_a, "街道讲座", days_ago=2)
    past_activity(tree.comm_b1, "别的街道的讲座", days_ago=1)
    past_activity(tree.comm_a2, "隔壁社区的讲座", days_ago=1)
    past_activity(tree.comm_a1, "下周的讲座", days_ago=-7)
    fulfil_page = desk.get(f"/staff/needs/{n.pk}/fulfil/").content.decode()
    assert "社区防诈骗讲座" in fulfil_page and "街道讲座" in fulfil_page
    for elsewhere in ("别的街道的讲座", "隔壁社区的讲座", "下周的讲座"):
        assert elsewhere not in fulfil_page
    # A made-up activity id is refused by the form.
    other = Activity.objects.get(title="别的街道的讲座")
    refused = desk.post(f"/staff/needs/{n.pk}/fulfil/", {"mode": "existing", "existing-activity": str(other.pk)})
    assert refused.status_code == 400
    n.refresh_from_db()
    assert n.status == "matched"
    done = desk.post(f"/staff/needs/{n.pk}/fulfil/", {"mode": "existing", "existing-activity": str(held.pk)})
    assert done.status_code == 302
    n.refresh_from_db()
    assert n.status == "fulfilled" and n.fulfilled_on == timezone.localdate(held.starts_at)
    assert list(held.resources.all()) == [lecture]
    assert street.needs.count() == 0

    # The resident came: they can rate once, from "my needs".
    phone = _client(r.user)
    assert 'class="button primary wide need-rate"' not in phone.get("/me/needs/").content.decode()
    present(held, r)
    mine = phone.get("/me/needs/").content.decode()
    assert "已开展：社区防诈骗讲座" in mine and f"/me/needs/{n.pk}/rate/" in mine
    assert 'id="rate-form"' in phone.get(f"/me/needs/{n.pk}/rate/").content.decode()
    bad_score = phone.post(f"/me/needs/{n.pk}/rate/", {"score": "9"})
    assert bad_score.status_code == 400 and "满意度：" in bad_score.content.decode()
    rated = phone.post(f"/me/needs/{n.pk}/rate/", {"score": "5", "comment": "很实用"}, follow=True)
    assert "谢谢您的评价" in rated.content.decode() and 'id="rated"' in rated.content.decode()
    again = phone.post(f"/me/needs/{n.pk}/rate/", {"score": "1"}, follow=True)
    assert "您已经评价过了，评价提交后不能修改" in again.content.decode()
    rating = Rating.objects.get()
    assert (rating.score, rating.resource) == (5, lecture)
    assert "您已评价" in phone.get("/me/needs/").content.decode()
    staff_view = desk.get(f"/staff/needs/{n.pk}/").content.decode()
    assert "居民评价：5.0 分（1 人）" in staff_view and "很实用" in staff_view


def test_fulfil_with_a_new_activity_on_the_page(tree):
    staff = factories.staff("community_worker", tree.comm_a1)
    lecture = resource(provider("银行", place=tree.street_a), "讲座", area=[tree.comm_a1])
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    desk = _client(staff)
    page = desk.get(f"/staff/needs/{n.pk}/fulfil/").content.decode()
    # A community worker may create activities in the community, not in the street.
    assert tree.comm_a1.code in page and f'value="{tree.street_a.code}"' not in page
    form = {
        "mode": "new",
        "new-place": tree.comm_a1.code,
        "new-kind": "course_session",
        "new-title": "下周的讲座",
        "new-starts_at": _local(timezone.now() + datetime.timedelta(days=7)),
    }
    future = desk.post(f"/staff/needs/{n.pk}/fulfil/", form)
    assert future.status_code == 400 and "活动还没有举行" in future.content.decode()
    assert not Activity.objects.exists()
    form |= {"new-title": "防诈骗讲座", "new-starts_at": _local(timezone.now() - datetime.timedelta(hours=2))}
    done = desk.post(f"/staff/needs/{n.pk}/fulfil/", form)
    assert done.status_code == 302
    activity = Activity.objects.get()
    assert activity.title == "防诈骗讲座" and activity.needs.get() == n and activity.resources.get() == lecture


def test_fulfil_page_of_an_open_need_says_match_first(tree):
    staff = factories.staff("community_worker", tree.comm_a1)
    n = need(tree.comm_a1)
    desk = _client(staff)
    assert 'id="not-matched"' in desk.get(f"/staff/needs/{n.pk}/fulfil/").content.decode()
    held = past_activity(tree.comm_a1)
    resp = desk.post(f"/staff/needs/{n.pk}/fulfil/", {"mode": "existing", "existing-activity": str(held.pk)})
    assert resp.status_code == 302
    n.refresh_from_db()
    assert n.status == "open" and not held.needs.exists()


def test_cancel_on_the_page_shows_the_reason_to_residents(tree):
    staff = factories.staff("community_worker", tree.comm_a1)
    r = resident_with_account(tree.comm_a1, name="李阿姨")
    n, _ = services.need_report(
        actor=r.user, community=tree.comm_a1, resident=r, title="想学拍短视频", resource_kind="course"
    )
    desk = _client(staff)
    empty = desk.post(f"/staff/needs/{n.pk}/cancel/", {"cancel-reason": ""})
    assert empty.status_code == 400
    desk.post(f"/staff/needs/{n.pk}/cancel/", {"cancel-reason": "已并入老年大学课程"})
    n.refresh_from_db()
    assert n.status == "cancelled"
    assert "取消原因：已并入老年大学课程" in _client(r.user).get("/me/needs/").content.decode()


def test_partner_sees_the_needs_matched_to_them_without_who_raised_them(tree):
    partner = factories.staff(Role.RESOURCE_PARTNER, tree.street_a)
    bank = provider("银行", place=tree.street_a, members=[partner])
    lecture = resource(bank, "金融讲座")
    r = factories.resident(tree.comm_a1, name="李阿姨")
    n, _ = services.need_report(
        actor=None, community=tree.comm_a1, resident=r, title="想学理财", resource_kind="course"
    )
    Need.objects.filter(pk=n.pk).update(raised_on=timezone.localdate() - datetime.timedelta(days=3))
    services.need_match(actor=None, need=n, resource=lecture)
    body = _client(partner).get("/partner/needs/").content.decode()
    assert f'data-need="{n.ref}"' in body and "想学理财" in body and "匹配资源：金融讲座" in body
    assert "李阿姨" not in body and "李*姨" not in body
    view = _client(partner).get(f"/me/needs/{n.pk}/").content.decode()
    assert "想学理财" in view and "李阿姨" not in view and "李*姨" not in view


# --- query counts -----------------------------------------------------------------------------------------------


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _fill(tree, lecture, residents, n: int, offset: int = 0) -> None:
    for i in range(n):
        r = residents[i % len(residents)]
        found, _ = services.need_report(
            actor=None, community=tree.comm_a1, resident=r, title=f"需求{offset + i}", resource_kind="course",
            raised_on=timezone.localdate() - datetime.timedelta(days=5),
        )  # fmt: skip
        if i % 2:
            services.need_match(actor=None, need=found, resource=lecture)
        if i % 4 == 1:
            activity = past_activity(tree.comm_a1, f"活动{offset + i}")
            fulfilment.need_fulfil(actor=None, need=found, activity=activity)
            present(activity, r)


@pytest.mark.parametrize("url", ["/staff/needs/", "/me/needs/", "/me/needs/community/", "/partner/needs/"])
def test_list_pages_keep_a_constant_number_of_queries(tree, url):
    partner = factories.staff(Role.RESOURCE_PARTNER, tree.street_a)
    lecture = resource(provider("银行", place=tree.street_a, members=[partner]), "讲座", area=[tree.comm_a1])
    me = resident_with_account(tree.comm_a1, name="李阿姨")
    user = {"/staff/needs/": factories.staff("street_staff", tree.street_a), "/partner/needs/": partner}.get(
        url, me.user
    )
    client = _client(user)
    _fill(tree, lecture, [me], 4)
    client.get(url)  # warm the session
    few = _count(client, url)
    _fill(tree, lecture, [me], 16, offset=100)
    many = _count(client, url)
    assert many == few and many <= 16


def test_staff_detail_queries_do_not_grow_with_candidates(tree):
    staff = factories.staff("street_staff", tree.street_a)
    n = need(tree.comm_a1)
    client = _client(staff)
    resource(provider("资源方0", place=tree.street_a), "课0", area=[tree.comm_a1])
    client.get(f"/staff/needs/{n.pk}/")
    few = _count(client, f"/staff/needs/{n.pk}/")
    for i in range(1, 12):
        resource(provider(f"资源方{i}", place=tree.street_a), f"课{i}", area=[tree.comm_a1])
    many = _count(client, f"/staff/needs/{n.pk}/")
    assert many == few
