"""Needs services: reporting both ways (idempotent), the status lifecycle, matching with stored reasons, fulfilment
through an activity, ratings by those who came; and the candidate selector over the database."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.activities.fulfilment import services as fulfilment
from gongzhi.activities.models import Activity
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied
from gongzhi.core.models import AuditEvent
from gongzhi.resources.models import Need, Rating
from gongzhi.resources.selectors import needs as selectors
from gongzhi.resources.services import needs as services
from tests import factories

from .conftest import need, past_activity, present, provider, resource

pytestmark = pytest.mark.django_db


# --- reporting --------------------------------------------------------------------------------------------------


def test_resident_reports_in_own_community_and_a_double_submit_returns_the_same(tree):
    r = factories.resident(tree.comm_a1, name="李阿姨")
    first, created = services.need_report(
        actor=None,
        community=tree.comm_a1,
        resident=r,
        title=" 想学用手机挂号 ",
        resource_kind="course",
        description="老人多，不会用手机",
        preferred_time="周末上午",
    )
    assert created and first.status == "open" and first.direction == "report"
    assert first.title == "想学用手机挂号" and first.raised_by == r and first.raised_on == timezone.localdate()
    assert first.ref.startswith("N") and len(first.ref) == 13
    again, created_again = services.need_report(
        actor=None, community=tree.comm_a1, resident=r, title="想学用手机挂号", resource_kind="course"
    )
    assert (again.pk, created_again) == (first.pk, False)
    other, created_other = services.need_report(
        actor=None, community=tree.comm_a1, resident=r, title="想学太极拳", resource_kind="teacher"
    )
    assert created_other and other.pk != first.pk
    assert Need.objects.count() == 2
    assert AuditEvent.objects.filter(target_type="need", action="create").count() == 2


def test_a_neighbour_reporting_the_same_title_is_a_second_need(tree):
    a = factories.resident(tree.comm_a1, name="李阿姨")
    b = factories.resident(tree.comm_a1, name="王大爷")
    for r in (a, b):
        services.need_report(
            actor=None, community=tree.comm_a1, resident=r, title="想学用手机挂号", resource_kind="course"
        )
    assert Need.objects.count() == 2


@pytest.mark.parametrize("case", ["other_community", "moved_out", "survey_direction"])
def test_resident_report_refusals_write_nothing(tree, case):
    r = factories.resident(tree.comm_a1, name="李阿姨")
    community, direction = tree.comm_a1, "report"
    if case == "other_community":
        community = tree.comm_a2
    elif case == "moved_out":
        r.left_on = datetime.date(2025, 1, 1)
        r.save(update_fields=["left_on"])
    else:
        direction = "survey"
    expected = DomainError if case == "survey_direction" else PermissionDenied
    with pytest.raises(expected):
        services.need_report(
            actor=None, community=community, resident=r, title="想学", resource_kind="course", direction=direction
        )
    assert Need.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "长" * 201}, "title"),
        ({"resource_kind": "spaceship"}, "resource_kind"),
        ({"direction": "sideways"}, "direction"),
        ({"preferred_time": "时" * 101}, "preferred_time"),
        ({"description": "说" * 2001}, "description"),
        ({"raised_on": timezone.localdate() + datetime.timedelta(days=1)}, "raised_on"),
        ({"community": "street"}, "community"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(tree, changes, field):
    kw = {"title": "想学防诈骗", "resource_kind": "course", "community": tree.comm_a1, **changes}
    if kw["community"] == "street":
        kw["community"] = tree.street_a
    with pytest.raises(DomainError) as exc:
        services.need_report(actor=None, **kw)
    assert field in exc.value.fields
    assert Need.objects.count() == 0


def test_staff_record_a_survey_need_and_a_backdated_report(tree):
    staff = factories.staff("street_staff", tree.street_a)
    survey_need, created = services.need_report(
        actor=staff, community=tree.comm_a2, title="家长想学亲子沟通", resource_kind="teacher", direction="survey"
    )
    assert created and survey_need.direction == "survey" and survey_need.raised_by is None
    assert survey_need.raised_by_user == staff
    day = timezone.localdate() - datetime.timedelta(days=10)
    old, _ = services.need_report(
        actor=staff, community=tree.comm_a2, title="场地不够", resource_kind="venue", raised_on=day
    )
    assert old.raised_on == day
    again, created_again = services.need_report(
        actor=staff, community=tree.comm_a2, title="场地不够", resource_kind="venue", raised_on=day
    )
    assert again.pk == old.pk and not created_again


# --- matching ---------------------------------------------------------------------------------------------------


def test_match_stores_the_reasons_of_the_ranking(tree, lecture):
    n = need(tree.comm_a1)
    staff = factories.staff("community_worker", tree.comm_a1)
    matched = services.need_match(actor=staff, need=n, resource=lecture)
    matched.refresh_from_db()
    assert matched.status == "matched" and matched.resource == lecture and matched.matched_on == timezone.localdate()
    assert matched.match_reasons[:3] == ["同类资源", "服务范围覆盖本社区", "当前可用"]
    assert "尚无居民评分" in matched.match_reasons
    event = AuditEvent.objects.get(target_type="need", action="update")
    assert event.changes["reasons"] == matched.match_reasons and event.place_code == tree.comm_a1.code


def test_match_again_same_is_idempotent_other_is_refused(tree, bank, lecture):
    n = need(tree.comm_a1)
    services.need_match(actor=None, need=n, resource=lecture)
    services.need_match(actor=None, need=n, resource=lecture)
    assert AuditEvent.objects.filter(target_type="need", action="update").count() == 1
    other = resource(bank, "理财课", kind="course")
    with pytest.raises(Conflict) as exc:
        services.need_match(actor=None, need=n, resource=other)
    assert exc.value.code == "already_matched"
    n.refresh_from_db()
    assert n.resource == lecture


def test_an_inactive_resource_cannot_be_matched(tree, bank):
    n = need(tree.comm_a1)
    stopped = resource(bank, "停办的讲座", active=False)
    with pytest.raises(DomainError) as exc:
        services.need_match(actor=None, need=n, resource=stopped)
    assert "resource" in exc.value.fields
    n.refresh_from_db()
    assert n.status == "open"


def test_unmatch_needs_a_reason_and_goes_back_to_open(tree, lecture):
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    with pytest.raises(DomainError) as exc:
        services.need_unmatch(actor=None, need=n, reason=" ")
    assert exc.value.fields == {"reason": ["必填"]}
    n = services.need_unmatch(actor=None, need=n, reason="银行讲师排不开")
    n.refresh_from_db()
    assert (n.status, n.resource, n.matched_on, n.match_reasons) == ("open", None, None, [])
    assert services.need_unmatch(actor=None, need=n, reason="再点一次").status == "open"
    assert AuditEvent.objects.get(summary__startswith="撤销需求匹配").changes["reason"] == "银行讲师排不开"


def test_cancel_from_open_or_matched_but_never_after_fulfilment(tree, lecture):
    a = services.need_cancel(actor=None, need=need(tree.comm_a1, "甲"), reason="居民已另行解决")
    assert a.status == "cancelled" and a.cancelled_reason == "居民已另行解决"
    assert services.need_cancel(actor=None, need=a, reason="再次").cancelled_reason == "居民已另行解决"
    with pytest.raises(Conflict) as exc:
        services.need_match(actor=None, need=a, resource=lecture)
    assert exc.value.code == "illegal_transition" and "已取消" in exc.value.message
    b = services.need_match(actor=None, need=need(tree.comm_a1, "乙"), resource=lecture)
    assert services.need_cancel(actor=None, need=b, reason="资源方撤出").status == "cancelled"
    c = services.need_match(actor=None, need=need(tree.comm_a1, "丙"), resource=lecture)
    fulfilment.need_fulfil(actor=None, need=c, activity=past_activity(tree.comm_a1))
    with pytest.raises(Conflict) as exc:
        services.need_cancel(actor=None, need=c, reason="晚了")
    assert exc.value.code == "illegal_transition"
    with pytest.raises(Conflict):
        services.need_unmatch(actor=None, need=c, reason="晚了")
    c.refresh_from_db()
    assert c.status == "fulfilled"


# --- fulfilment -------------------------------------------------------------------------------------------------


def test_fulfil_links_the_activity_and_the_resource(tree, lecture):
    n = need(tree.comm_a1)
    activity = past_activity(tree.comm_a1, days_ago=0)
    with pytest.raises(Conflict) as exc:
        fulfilment.need_fulfil(actor=None, need=n, activity=activity)
    assert exc.value.code == "not_matched"
    services.need_match(actor=None, need=n, resource=lecture)
    done, linked = fulfilment.need_fulfil(actor=None, need=n, activity=activity)
    assert linked and done.status == "fulfilled" and done.fulfilled_on == timezone.localdate(activity.starts_at)
    assert list(activity.needs.all()) == [n] and list(activity.resources.all()) == [lecture]
    again, linked_again = fulfilment.need_fulfil(actor=None, need=n, activity=activity)
    assert not linked_again and again.status == "fulfilled"
    # A street lecture of the same series also counts; the need keeps its first date.
    street_one = past_activity(tree.street_a, "第二讲", days_ago=0)
    _n, linked_street = fulfilment.need_fulfil(actor=None, need=n, activity=street_one)
    n.refresh_from_db()
    assert linked_street and n.fulfilled_on == done.fulfilled_on and n.activities.count() == 2


@pytest.mark.parametrize("case", ["other_street", "future", "before_raised"])
def test_fulfil_refusals_change_nothing(tree, lecture, case):
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    if case == "other_street":
        activity = past_activity(tree.comm_b1)
    elif case == "future":
        activity = past_activity(tree.comm_a1, days_ago=-2)
    else:
        n.raised_on = timezone.localdate()
        Need.objects.filter(pk=n.pk).update(raised_on=timezone.localdate())
        activity = past_activity(tree.comm_a1, days_ago=3)
    with pytest.raises(DomainError) as exc:
        fulfilment.need_fulfil(actor=None, need=n, activity=activity)
    assert "activity" in exc.value.fields
    n.refresh_from_db()
    assert n.status == "matched" and not activity.needs.exists() and not activity.resources.exists()


def test_fulfil_with_a_new_activity_is_all_or_nothing(tree, lecture):
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    with pytest.raises(DomainError):
        fulfilment.need_fulfil_with_new_activity(
            actor=None,
            need=n,
            place=tree.comm_a1,
            kind="course_session",
            title="未来的讲座",
            starts_at=timezone.now() + datetime.timedelta(days=3),
        )
    with pytest.raises(DomainError):
        fulfilment.need_fulfil_with_new_activity(
            actor=None, need=n, place=tree.comm_b1, kind="course_session", title="别处", starts_at=timezone.now()
        )
    assert Activity.objects.count() == 0
    done, activity = fulfilment.need_fulfil_with_new_activity(
        actor=None, need=n, place=tree.comm_a1, kind="course_session", title="防诈骗讲座", starts_at=timezone.now()
    )
    assert done.status == "fulfilled" and activity.needs.get() == n and activity.resources.get() == lecture


# --- ratings ----------------------------------------------------------------------------------------------------


def _fulfilled(tree, lecture, place=None):
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    activity = past_activity(place or tree.comm_a1)
    fulfilment.need_fulfil(actor=None, need=n, activity=activity)
    return n, activity


def test_only_a_resident_present_at_a_fulfilling_activity_rates_once(tree, lecture):
    came = factories.resident(tree.comm_a1, name="李阿姨")
    absent = factories.resident(tree.comm_a1, name="王大爷")
    excused = factories.resident(tree.comm_a1, name="赵奶奶")
    stranger = factories.resident(tree.comm_a1, name="陈先生")
    n, activity = _fulfilled(tree, lecture)
    present(activity, came)
    present(activity, absent, "absent")
    present(activity, excused, "excused")
    for r in (absent, excused, stranger):
        with pytest.raises(PermissionDenied):
            fulfilment.need_rate(resident=r, need=n, score=5)
    rating, created = fulfilment.need_rate(resident=came, need=n, score=4, comment="讲得清楚")
    assert created and rating.resource == lecture and rating.score == 4
    again, created_again = fulfilment.need_rate(resident=came, need=n, score=1, comment="改主意")
    assert not created_again and again.pk == rating.pk
    rating.refresh_from_db()
    assert (rating.score, rating.comment) == (4, "讲得清楚")
    assert Rating.objects.count() == 1


def test_a_neighbour_at_a_street_lecture_may_rate(tree, lecture):
    neighbour = factories.resident(tree.comm_a2, name="邻居")
    n, activity = _fulfilled(tree, lecture, place=tree.street_a)
    present(activity, neighbour)
    _rating, created = fulfilment.need_rate(resident=neighbour, need=n, score=5)
    assert created


def test_no_rating_before_fulfilment(tree, lecture):
    r = factories.resident(tree.comm_a1)
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    with pytest.raises(Conflict) as exc:
        fulfilment.need_rate(resident=r, need=n, score=5)
    assert exc.value.code == "not_fulfilled"


@pytest.mark.parametrize(("score", "comment", "field"), [(0, "", "score"), (6, "", "score"), (True, "", "score"),
                                                         (5, "长" * 301, "comment")])  # fmt: skip
def test_bad_ratings_are_refused(tree, lecture, score, comment, field):
    r = factories.resident(tree.comm_a1)
    n, activity = _fulfilled(tree, lecture)
    present(activity, r)
    with pytest.raises(DomainError) as exc:
        fulfilment.need_rate(resident=r, need=n, score=score, comment=comment)
    assert field in exc.value.fields
    assert not Rating.objects.exists()


# --- candidates over the database -------------------------------------------------------------------------------


def test_candidates_ranked_with_reasons_and_load_from_the_database(tree, bank, lecture):
    staff = factories.staff("street_staff", tree.street_a)
    college = provider("浙江大学", kind="university", place=tree.district)
    health = resource(college, "健康讲座", kind="course", area=[tree.street_a])
    volunteers = resource(college, "大学生志愿服务", kind="volunteer_service")  # undeclared, other kind
    resource(bank, "停用的课", kind="course", area=[tree.comm_a1], active=False)
    far = provider("外区企业", kind="company", place=tree.other_district)
    resource(far, "外区课程", kind="course")  # out of reach: another district, no area here
    resource(far, "服务本社区的外区课程", kind="course", area=[tree.comm_a1])  # serves here: a candidate
    # The bank is busy: one other need matched to it and one recent activity used its lecture.
    services.need_match(actor=None, need=need(tree.comm_a2, "别的需求"), resource=lecture)
    used = past_activity(tree.comm_a1, "上周讲座", days_ago=5)
    used.resources.add(lecture)
    n = need(tree.comm_a1)
    ranked = selectors.need_candidates(user=staff, need=n)
    names = [c.resource.name for c in ranked]
    assert names[:2] == ["服务本社区的外区课程", "金融知识讲座"]
    assert set(names) == {"服务本社区的外区课程", "金融知识讲座", "健康讲座", "大学生志愿服务"}
    bank_row = ranked[1]
    assert "该资源方当前承接 1 项需求，近 30 天有 1 场活动使用其资源" in [r.text for r in bank_row.reasons]
    assert "服务范围覆盖本街道" in [r.text for r in next(c for c in ranked if c.resource == health).reasons]
    assert ranked[-1].reasons[0].text == "类型不同：需要课程，这是志愿服务"
    assert ranked[-1].resource == volunteers
    # Only staff who may match it see candidates.
    assert selectors.need_candidates(user=factories.staff("community_worker", tree.comm_b1), need=n) == []


def test_candidate_queries_do_not_grow_with_the_candidates(tree, bank):
    staff = factories.staff("street_staff", tree.street_a)
    n = need(tree.comm_a1)
    resource(bank, "课0", area=[tree.comm_a1])
    selectors.need_candidates(user=staff, need=n)  # warm the grant cache
    with CaptureQueriesContext(connection) as few:
        assert len(selectors.need_candidates(user=staff, need=n)) == 1
    for i in range(1, 15):
        p = provider(f"资源方{i}", place=tree.street_a)
        r = resource(p, f"课{i}", area=[tree.comm_a1, tree.street_a])
        services.need_match(actor=None, need=need(tree.comm_a2, f"需求{i}"), resource=r)
    with CaptureQueriesContext(connection) as many:
        assert len(selectors.need_candidates(user=staff, need=n)) == 15
    assert len(many) == len(few) <= 5
