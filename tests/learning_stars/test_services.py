"""Star-rating services: the declared standard, set-based facts, assessments by staff and peers, computing proposals,
review and publication — with the rules that matter (cannot publish with unreviewed proposals; recomputing never
overwrites a reviewed rating; nobody scores themselves)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.activities import services as activities
from gongzhi.activities.models import ActivityKind, AttendanceStatus
from gongzhi.activities.volunteering import services as volunteering
from gongzhi.core.errors import Conflict, DomainError, PermissionDenied
from gongzhi.core.models import AuditEvent
from gongzhi.learning.models import StarAssessment, StarRating, StarRatingStatus, StarStandardStatus
from gongzhi.learning.stars import services as stars
from gongzhi.organizations import services as organizations
from gongzhi.people import services as people_services
from gongzhi.people.models import Role

from .conftest import (
    CRITERIA,
    ORG_REF,
    SHANGHAI,
    YEAR,
    at,
    attend,
    attendance_points_out_of_year,
    give_points,
    make_standard,
    resident_with_account,
    serve,
)

pytestmark = pytest.mark.django_db
D = Decimal


def lines_of(rating: StarRating) -> dict[str, dict]:
    return {line["code"]: line for line in rating.breakdown["lines"]}


def rating_of(standard, resident) -> StarRating:
    return StarRating.objects.get(standard=standard, resident=resident)


@pytest.fixture
def facts_world(world):
    """Resident a has facts of every kind, in and out of the year; d attended ten sessions; b and c nothing."""
    w, staff = world, world.users["street_staff"]
    a = w.a
    attend(a, 4, place=w.tree.comm_a1)
    attend(a, 1, place=w.tree.comm_a1, kind=ActivityKind.LEARNING_MEETING, start=datetime.date(YEAR, 12, 31))
    attend(a, 1, place=w.tree.comm_a1, start=datetime.date(YEAR - 1, 12, 31))  # the year before: not counted
    absent = activities.activity_create(
        actor=None, place=w.tree.comm_a1, kind=ActivityKind.COURSE_SESSION, title="缺席的一讲",
        starts_at=at(datetime.date(YEAR, 9, 1)), ref="STAR-ABSENT",
    )  # fmt: skip
    activities.attendance_record(
        actor=None, activity=absent, resident=a, status=AttendanceStatus.ABSENT, source="roster"
    )
    attend(w.d, 10, place=w.tree.comm_a2)
    attendance_points_out_of_year()
    give_points(a, 2, on=at(datetime.date(YEAR, 6, 1)))
    give_points(a, 1, on=datetime.datetime(YEAR - 1, 12, 31, 23, 59, tzinfo=SHANGHAI))
    give_points(a, 1, on=datetime.datetime(YEAR, 12, 31, 23, 59, tzinfo=SHANGHAI))
    give_points(a, 1, on=datetime.datetime(YEAR + 1, 1, 1, 0, 0, tzinfo=SHANGHAI))
    serve(w.team, a, "3", on=datetime.date(YEAR, 4, 1), staff=staff)
    five = serve(w.team, a, "5", on=datetime.date(YEAR, 5, 1), staff=staff)
    volunteering.volunteer_hours_reverse(actor=staff, entry=five, reason="提前离开", hours="2")
    serve(w.team, a, "6", on=datetime.date(YEAR - 1, 12, 30), staff=staff)
    volunteering.volunteer_hours_record(
        actor=staff, team=w.team, resident=a, hours="4", served_on=datetime.date(YEAR, 6, 1), confirm=False
    )  # pending: not counted
    standard = make_standard(w.tree.street_a)
    stars.star_assessment_submit(actor=staff, standard=standard, resident=a, criterion="staff", score=80)
    stars.star_assessment_submit(
        actor=w.users["worker_a1"], standard=standard, resident=a, criterion="staff", score="90"
    )
    stars.star_assessment_submit(actor=w.users["b"], standard=standard, resident=a, criterion="peer", score=70)
    stars.star_assessment_submit(actor=w.users["c"], standard=standard, resident=a, criterion="peer", score=90)
    return w, standard


# --- facts and compute --------------------------------------------------------------------------------------------


def test_facts_count_as_declared(facts_world):
    w, standard = facts_world
    result = stars.star_ratings_compute(actor=w.users["street_staff"], standard=standard)
    assert (result.created, result.updated, result.unchanged, result.kept_reviewed) == (4, 0, 0, 0)
    a = rating_of(standard, w.a)
    lines = lines_of(a)
    # 4 course sessions + 1 learning meeting on 31 December; not last year's, not the absence
    assert lines["attendance"]["value"] == "5" and lines["attendance"]["score"] == "15.00"
    # 2 × 30 in June + 30 at 23:59 on 31 December (Shanghai); not 23:59 the day before the year, not New Year 00:00
    assert lines["points"]["value"] == "90" and lines["points"]["score"] == "18.00"
    # 3 h + (5 h corrected to 2 h); not the pending 4 h nor last year's 6 h
    assert lines["service"]["value"] == "5" and lines["service"]["score"] == "5.00"
    assert lines["staff"] == {**lines["staff"], "value": "85", "assessors": 2, "score": "17.00"}
    assert lines["peer"] == {**lines["peer"], "value": "80", "assessors": 2, "score": "8.00"}
    assert a.score == D("63.00") and a.proposed_stars == 3 and a.status == StarRatingStatus.PROPOSED
    assert a.final_stars is None
    d = rating_of(standard, w.d)
    assert d.score == D("30.00") and d.proposed_stars == 1
    b = rating_of(standard, w.b)
    assert b.score == D(0) and b.proposed_stars == 0
    assert lines_of(b)["staff"]["note"] == "尚无评分，按 0 计"
    assert AuditEvent.objects.filter(target_type="star_standard", summary__startswith="计算星级评定建议").exists()


def test_scope_is_the_members_in_the_year(world):
    w = world
    left_before, _u = resident_with_account(w.tree.comm_a1, "钱月英")
    organizations.membership_add(
        actor=None, organization=w.org, resident=left_before, joined_on=datetime.date(2023, 1, 1)
    )
    organizations.membership_leave(resident=left_before, organization=w.org, left_on=datetime.date(YEAR - 1, 12, 31))
    left_during, _u = resident_with_account(w.tree.comm_b1, "周凤英")  # another street: members are members
    organizations.membership_add(
        actor=None, organization=w.org, resident=left_during, joined_on=datetime.date(2023, 1, 1)
    )
    organizations.membership_leave(resident=left_during, organization=w.org, left_on=datetime.date(YEAR, 3, 1))
    standard = make_standard(w.tree.street_a)
    stars.star_ratings_compute(actor=None, standard=standard)
    rated = set(StarRating.objects.filter(standard=standard).values_list("resident_id", flat=True))
    assert rated == {w.a.pk, w.b.pk, w.c.pk, w.d.pk, left_during.pk}


def test_scope_without_an_organisation_is_the_place(world):
    criteria = [c for c in CRITERIA if c["code"] != "peer"]
    criteria[0] = {**criteria[0], "weight": 0.4}
    standard = make_standard(world.tree.comm_a1, criteria=criteria, organization_ref="", name="社区学员星级")
    stars.star_ratings_compute(actor=None, standard=standard)
    rated = set(StarRating.objects.filter(standard=standard).values_list("resident_id", flat=True))
    assert rated == {world.a.pk, world.b.pk, world.c.pk, world.outsider.pk}  # COMM_A1, not d in COMM_A2


def test_compute_queries_do_not_grow_with_residents(world):
    w = world
    standard = make_standard(w.tree.street_a)
    stars.star_ratings_compute(actor=None, standard=standard)  # warm caches (rules, content types)
    StarRating.objects.all().delete()
    with CaptureQueriesContext(connection) as few:
        stars.star_ratings_compute(actor=None, standard=standard)
    for i in range(20):
        r, _u = resident_with_account(w.tree.comm_a1, f"学员{i:02d}号")
        organizations.membership_add(actor=None, organization=w.org, resident=r, joined_on=datetime.date(2024, 1, 1))
        attend(r, i % 3, place=w.tree.comm_a1)
    StarRating.objects.all().delete()
    with CaptureQueriesContext(connection) as many:
        result = stars.star_ratings_compute(actor=None, standard=standard)
    assert result.created == 24
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    assert len(many) <= 14, len(many)
    # recomputing with nothing changed writes nothing
    with CaptureQueriesContext(connection) as again:
        result = stars.star_ratings_compute(actor=None, standard=standard)
    assert result.unchanged == 24 and result.updated == 0
    assert not [
        q
        for q in again.captured_queries
        if q["sql"].lstrip().upper().startswith(('INSERT INTO "LEARNING_STARRATING', 'UPDATE "LEARNING_STARRATING'))
    ]


def test_recompute_is_idempotent_and_updates_proposals(facts_world):
    w, standard = facts_world
    stars.star_ratings_compute(actor=None, standard=standard)
    before = {r.pk: (r.score, r.proposed_stars, r.updated_at) for r in StarRating.objects.filter(standard=standard)}
    result = stars.star_ratings_compute(actor=None, standard=standard)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 4)
    assert {
        r.pk: (r.score, r.proposed_stars, r.updated_at) for r in StarRating.objects.filter(standard=standard)
    } == before
    attend(w.b, 10, place=w.tree.comm_a1)
    result = stars.star_ratings_compute(actor=None, standard=standard)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 3)
    assert rating_of(standard, w.b).score == D(30) and rating_of(standard, w.b).proposed_stars == 1


def test_recompute_after_review_does_not_overwrite(facts_world):
    w, standard = facts_world
    staff = w.users["street_staff"]
    stars.star_ratings_compute(actor=staff, standard=standard)
    a = stars.star_rating_review(actor=staff, rating=rating_of(standard, w.a), stars=4, note="带领姐妹们做志愿服务")
    assert (a.final_stars, a.status, a.reviewed_by) == (4, StarRatingStatus.APPROVED, staff)
    attend(w.a, 5, place=w.tree.comm_a1, start=datetime.date(YEAR, 8, 1))  # now 10 sessions: a would score 78
    attend(w.b, 2, place=w.tree.comm_a1)
    result = stars.star_ratings_compute(actor=staff, standard=standard)
    assert (result.kept_reviewed, result.reviewed_differs, result.updated) == (1, 1, 1)
    a.refresh_from_db()
    assert (a.score, a.proposed_stars, a.final_stars, a.status) == (D("63.00"), 3, 4, StarRatingStatus.APPROVED)
    assert lines_of(a)["attendance"]["value"] == "5"
    assert rating_of(standard, w.b).score == D(6)


def test_a_proposal_out_of_scope_is_removed_but_a_reviewed_one_kept(world):
    w = world
    standard = make_standard(w.tree.street_a)
    stars.star_ratings_compute(actor=None, standard=standard)
    stars.star_rating_review(actor=None, rating=rating_of(standard, w.c))
    for r in (w.b, w.c):
        organizations.membership_leave(resident=r, organization=w.org, left_on=datetime.date(2024, 1, 1))
    result = stars.star_ratings_compute(actor=None, standard=standard)
    assert result.removed == 1
    assert not StarRating.objects.filter(standard=standard, resident=w.b).exists()
    assert StarRating.objects.filter(standard=standard, resident=w.c).exists()


def test_compute_needs_an_active_standard(world):
    draft = make_standard(world.tree.street_a, active=False)
    with pytest.raises(Conflict) as exc:
        stars.star_ratings_compute(actor=None, standard=draft)
    assert exc.value.message == "请先发布标准，开始评定后再计算"
    assert not StarRating.objects.exists()


# --- review and publication ---------------------------------------------------------------------------------------


def test_review_rules(facts_world):
    w, standard = facts_world
    staff = w.users["street_staff"]
    stars.star_ratings_compute(actor=staff, standard=standard)
    a = rating_of(standard, w.a)
    with pytest.raises(DomainError) as exc:
        stars.star_rating_review(actor=staff, rating=a, stars=5)
    assert exc.value.fields == {"note": ["审核意见：改动建议星级时须写明理由"]}
    with pytest.raises(DomainError) as exc:
        stars.star_rating_review(actor=staff, rating=a, stars=6, note="x")
    assert exc.value.fields == {"stars": ["星级：应为 0 到 5"]}
    a.refresh_from_db()
    assert a.status == StarRatingStatus.PROPOSED and a.final_stars is None  # bad input changed nothing
    approved = stars.star_rating_review(actor=staff, rating=a)
    assert (approved.final_stars, approved.status) == (3, StarRatingStatus.APPROVED)
    # a second identical review changes nothing; a revised one is kept with its note
    assert stars.star_rating_review(actor=staff, rating=a).reviewed_at == approved.reviewed_at
    revised = stars.star_rating_review(actor=staff, rating=a, stars=2, note="出勤记录待核实")
    assert (revised.final_stars, revised.review_note) == (2, "出勤记录待核实")


def test_nobody_reviews_their_own_rating(facts_world):
    w, standard = facts_world
    people_services.role_grant(actor=None, user=w.users["a"], place=w.tree.comm_a1, role=Role.COMMUNITY_WORKER)
    stars.star_ratings_compute(actor=None, standard=standard)
    with pytest.raises(PermissionDenied) as exc:
        stars.star_rating_review(actor=w.users["a"], rating=rating_of(standard, w.a))
    assert exc.value.code == "own_rating"
    # approving all leaves the actor's own rating for someone else
    assert stars.star_ratings_approve_all(actor=w.users["a"], standard=standard) == 3
    assert rating_of(standard, w.a).status == StarRatingStatus.PROPOSED


def test_cannot_publish_with_unreviewed_then_publish(facts_world):
    w, standard = facts_world
    staff = w.users["street_staff"]
    with pytest.raises(Conflict) as exc:
        stars.star_standard_publish(actor=staff, standard=standard)
    assert exc.value.code == "no_ratings"
    stars.star_ratings_compute(actor=staff, standard=standard)
    stars.star_rating_review(actor=staff, rating=rating_of(standard, w.a))
    with pytest.raises(Conflict) as exc:
        stars.star_standard_publish(actor=staff, standard=standard)
    assert exc.value.code == "unreviewed" and exc.value.message == "还有 3 条星级建议没有审核，全部审核后才能公布"
    standard.refresh_from_db()
    assert standard.status == StarStandardStatus.ACTIVE
    assert stars.star_ratings_approve_all(actor=staff, standard=standard) == 3
    assert stars.star_ratings_approve_all(actor=staff, standard=standard) == 0
    published, changed = stars.star_standard_publish(actor=staff, standard=standard)
    assert changed and published.status == StarStandardStatus.PUBLISHED
    assert set(StarRating.objects.filter(standard=standard).values_list("status", flat=True)) == {"published"}
    assert rating_of(standard, w.a).final_stars == 3
    assert stars.star_standard_publish(actor=staff, standard=standard)[1] is False
    # nothing changes after publication
    with pytest.raises(Conflict):
        stars.star_ratings_compute(actor=staff, standard=standard)
    with pytest.raises(Conflict):
        stars.star_rating_review(actor=staff, rating=rating_of(standard, w.b), stars=1, note="x")
    with pytest.raises(Conflict):
        stars.star_assessment_submit(actor=staff, standard=standard, resident=w.b, criterion="staff", score=50)
    with pytest.raises(Conflict):
        stars.star_standard_update(actor=staff, standard=standard, name="新名字")


# --- assessments --------------------------------------------------------------------------------------------------


def test_who_may_score_whom(world):
    w = world
    u = w.users
    standard = make_standard(w.tree.street_a)

    def refused(actor, resident, criterion, code):
        with pytest.raises(DomainError) as exc:
            stars.star_assessment_submit(
                actor=actor, standard=standard, resident=resident, criterion=criterion, score=60
            )
        assert exc.value.code == code, (exc.value.code, exc.value.message)

    refused(u["a"], w.a, "peer", "self_assessment")  # never oneself
    refused(u["a"], w.b, "staff", "not_assessor")  # a member does not give the staff score
    refused(u["outsider"], w.b, "peer", "not_assessor")  # not a member
    refused(u["street_staff"], w.b, "peer", "not_assessor")  # staff do not give the peer score
    refused(u["worker_a2"], w.a, "staff", "not_assessor")  # a worker of COMM_A2 does not score COMM_A1's residents
    refused(u["other_street"], w.a, "staff", "not_assessor")
    refused(u["teacher"], w.a, "staff", "not_assessor")
    refused(u["street_staff"], w.outsider, "staff", "invalid")  # not in scope (not a member)
    refused(u["street_staff"], w.a, "attendance", "invalid")  # not an assessment criterion
    ok = [
        (u["b"], w.a, "peer"),
        (u["worker_a2"], w.d, "staff"),
        (u["worker_a1"], w.a, "staff"),
        (u["street_staff"], w.d, "staff"),
        (u["admin"], w.c, "staff"),
    ]
    for actor, resident, criterion in ok:
        assessment, created = stars.star_assessment_submit(
            actor=actor, standard=standard, resident=resident, criterion=criterion, score="75.5"
        )
        assert created and assessment.score == D("75.5")
    assert StarAssessment.objects.count() == 5


@pytest.mark.parametrize(
    ("score", "field", "message"),
    [
        ("101", "score", "评分：应在 0 到 100 之间"),
        ("-1", "score", "评分：应在 0 到 100 之间"),
        ("abc", "score", "评分：应为 0 到 100 的数"),
        ("80.123", "score", "评分：最多保留 2 位小数"),
    ],
)
def test_score_validation(world, score, field, message):
    standard = make_standard(world.tree.street_a)
    with pytest.raises(DomainError) as exc:
        stars.star_assessment_submit(
            actor=world.users["street_staff"], standard=standard, resident=world.a, criterion="staff", score=score
        )
    assert exc.value.fields == {field: [message]}
    assert not StarAssessment.objects.exists()


def test_scoring_again_revises_and_a_reviewed_resident_is_closed(world):
    w, staff = world, world.users["street_staff"]
    standard = make_standard(w.tree.street_a)
    first, created = stars.star_assessment_submit(
        actor=staff, standard=standard, resident=w.a, criterion="staff", score=60
    )
    same, created_again = stars.star_assessment_submit(
        actor=staff, standard=standard, resident=w.a, criterion="staff", score=60
    )
    assert created and not created_again and same.pk == first.pk
    revised, _c = stars.star_assessment_submit(
        actor=staff, standard=standard, resident=w.a, criterion="staff", score=70, comment="进步明显"
    )
    assert revised.pk == first.pk and revised.score == D(70) and StarAssessment.objects.count() == 1
    stars.star_ratings_compute(actor=staff, standard=standard)
    stars.star_rating_review(actor=staff, rating=rating_of(standard, w.a))
    with pytest.raises(Conflict) as exc:
        stars.star_assessment_submit(actor=staff, standard=standard, resident=w.a, criterion="staff", score=90)
    assert exc.value.code == "reviewed"


def test_several_scores_at_once_are_all_or_nothing(world):
    criteria = [dict(c) for c in CRITERIA]
    criteria[3]["by"] = "both"
    standard = make_standard(world.tree.street_a, criteria=criteria)
    with pytest.raises(DomainError):
        stars.star_assessments_submit(
            actor=world.users["b"], standard=standard, resident=world.a, scores={"staff": 80, "peer": 300}
        )
    assert not StarAssessment.objects.exists()
    n = stars.star_assessments_submit(
        actor=world.users["b"], standard=standard, resident=world.a, scores={"staff": 80, "peer": 90}
    )
    assert n == 2 and StarAssessment.objects.count() == 2


def test_draft_standards_take_no_scores(world):
    draft = make_standard(world.tree.street_a, active=False)
    with pytest.raises(Conflict) as exc:
        stars.star_assessment_submit(
            actor=world.users["street_staff"], standard=draft, resident=world.a, criterion="staff", score=50
        )
    assert exc.value.code == "not_active"


# --- the standard -------------------------------------------------------------------------------------------------


def test_standard_validation_names_fields(world):
    t = world.tree
    with pytest.raises(DomainError) as exc:
        stars.star_standard_create(
            actor=None, place=t.district, year=1999, name="", criteria=[], thresholds=[1, 2], organization_ref="NOPE"
        )
    assert exc.value.fields == {
        "name": ["名称：必填"],
        "year": ["年度：应在 2000 到 2100 之间"],
        "place": ["区划：星级评定在街道或社区开展"],
        "organization_ref": ["限定组织：找不到编号为 NOPE 的组织"],
        "criteria": ["评定指标：至少需要一项"],
        "thresholds": ["星级分数线：应为一星到五星的 5 个分数"],
    }
    with pytest.raises(DomainError) as exc:
        make_standard(t.comm_a2)  # the organisation is in COMM_A1
    assert exc.value.fields == {"organization_ref": ["限定组织：该组织不在本标准的区划内"]}
    make_standard(t.street_a)
    with pytest.raises(Conflict) as exc:
        make_standard(t.street_a)
    assert exc.value.fields == {"name": ["名称：已存在"]}


def test_a_declared_standard_is_fixed(world):
    staff = world.users["street_staff"]
    draft = make_standard(world.tree.street_a, active=False)
    changed = stars.star_standard_update(actor=staff, standard=draft, thresholds=[10, 30, 50, 70, 85])
    assert changed.thresholds == [10, 30, 50, 70, 85]
    active, was = stars.star_standard_activate(actor=staff, standard=draft)
    assert was and active.status == StarStandardStatus.ACTIVE
    assert stars.star_standard_activate(actor=staff, standard=draft)[1] is False
    with pytest.raises(Conflict) as exc:
        stars.star_standard_update(actor=staff, standard=active, thresholds=[20, 40, 60, 75, 90], year=2024)
    assert set(exc.value.fields) == {"thresholds", "year"}
    renamed = stars.star_standard_update(actor=staff, standard=active, name="好婆婆学堂 2025 年度星级学员")
    assert renamed.name == "好婆婆学堂 2025 年度星级学员" and renamed.thresholds == [10, 30, 50, 70, 85]
    assert renamed.organization_ref == ORG_REF
