"""The survey through its services: sending a round to streets and communities, the open/close lifecycle, answering
all twelve items (again = replace, in one transaction), the window, the targets, double and concurrent submits."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.analytics.models import SocialSurvey, SurveyAnswer
from gongzhi.analytics.survey import selectors, services
from gongzhi.analytics.survey.instrument import ITEMS
from gongzhi.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from gongzhi.core.models import AuditEvent
from gongzhi.people.models import Role
from tests import factories
from tests.resources_spaces.concurrency import Race

from .conftest import all_items, answer, make_survey, resident_with_account

pytestmark = pytest.mark.django_db

D = datetime.timedelta


# --- rounds -------------------------------------------------------------------------------------------------------


def test_create_starts_as_a_draft_with_its_targets_and_is_audited(tree):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    survey = services.social_survey_create(
        actor=staff,
        place=tree.street_a,
        title="  上半年社会资本调查 ",
        targets=[tree.comm_a2, tree.comm_a1, tree.comm_a1],
        opens_on=timezone.localdate(),
        closes_on=timezone.localdate() + D(days=7),
    )
    assert survey.status == "draft" and survey.title == "上半年社会资本调查" and survey.created_by == staff
    assert sorted(survey.targets.values_list("code", flat=True)) == [tree.comm_a1.code, tree.comm_a2.code]
    event = AuditEvent.objects.get(target_type="social_survey", action="create")
    assert event.actor == staff and event.place_code == tree.street_a.code


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"title": "  "}, "title", "必填"),
        ({"title": "长" * 201}, "title", "不能超过 200 字"),
        ({"targets": []}, "targets", "请至少选择一个街道或社区"),
        ({"closes_on": -1, "opens_on": 3}, "closes_on", "截止日期不能早于开始日期"),
        ({"closes_on": -1, "opens_on": -9}, "closes_on", "截止日期已经过去"),
    ],
)
def test_create_bad_input_writes_nothing(tree, kwargs, field, message):
    today = timezone.localdate()
    for key in ("opens_on", "closes_on"):
        if key in kwargs:
            kwargs[key] = today + D(days=kwargs[key])
    with pytest.raises(DomainError) as caught:
        make_survey(tree, open_it=False, **kwargs)
    assert caught.value.fields == {field: [message]}
    assert not SocialSurvey.objects.exists()
    assert not AuditEvent.objects.filter(target_type="social_survey").exists()


def test_targets_are_streets_or_communities_inside_the_sending_place(tree):
    with pytest.raises(DomainError) as caught:
        make_survey(tree, place=tree.street_a, targets=[tree.comm_a1, tree.comm_b1], open_it=False)
    assert caught.value.fields == {"targets": [f"{tree.comm_b1.name} 不在 {tree.street_a.name} 之内"]}
    with pytest.raises(DomainError) as caught:
        make_survey(tree, place=tree.district, targets=[tree.district], open_it=False)
    assert caught.value.fields == {"targets": [f"调查范围只能是街道或社区：{tree.district.name}"]}
    assert not SocialSurvey.objects.exists()


# Who may create a round sent from STREET_A (analytics.manage_socialsurvey on the sending place).
CREATE_TABLE = [
    (Role.ADMIN, "district", True),
    (Role.STREET_STAFF, "street_a", True),
    (Role.STREET_STAFF, "street_b", False),
    (Role.COMMUNITY_WORKER, "comm_a1", False),
    (Role.ADMIN, "other_district", False),
    (Role.TEACHER, "street_a", False),
]


@pytest.mark.parametrize(("role", "granted", "allowed"), CREATE_TABLE)
def test_services_check_the_permission_of_a_signed_in_actor(tree, role, granted, allowed):
    actor = factories.staff(role, getattr(tree, granted))
    today = timezone.localdate()

    def create():
        return services.social_survey_create(
            actor=actor, place=tree.street_a, title="调查", targets=[tree.comm_a1], opens_on=today, closes_on=today
        )

    if allowed:
        survey = create()
        services.social_survey_open(actor=actor, survey=survey)
        services.social_survey_close(actor=actor, survey=survey)
        survey.refresh_from_db()
        assert survey.status == "closed"
    else:
        with pytest.raises(PermissionDenied):
            create()
        survey = make_survey(tree, targets=[tree.comm_a1], open_it=False)
        with pytest.raises(PermissionDenied):
            services.social_survey_open(actor=actor, survey=survey)
        survey.refresh_from_db()
        assert survey.status == "draft"


def test_a_community_worker_sends_a_round_to_their_own_community(tree):
    worker = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    today = timezone.localdate()
    survey = services.social_survey_create(
        actor=worker, place=tree.comm_a1, title="本社区调查", targets=[tree.comm_a1], opens_on=today, closes_on=today
    )
    assert survey.place == tree.comm_a1


def test_lifecycle(tree):
    survey = make_survey(tree, open_it=False)
    with pytest.raises(Conflict) as caught:
        services.social_survey_close(actor=None, survey=survey)
    assert caught.value.message == "调查还没有开始收集，不能结束"
    services.social_survey_open(actor=None, survey=survey)
    services.social_survey_open(actor=None, survey=survey)  # idempotent
    services.social_survey_close(actor=None, survey=survey)
    services.social_survey_close(actor=None, survey=survey)
    survey.refresh_from_db()
    assert survey.status == "closed"
    with pytest.raises(Conflict) as caught:
        services.social_survey_open(actor=None, survey=survey)
    assert caught.value.message == "调查已结束，不能再开始"
    assert AuditEvent.objects.filter(target_type="social_survey", action="update").count() == 2


def test_an_expired_draft_cannot_open(tree):
    survey = make_survey(tree, open_it=False)
    today = timezone.localdate()
    SocialSurvey.objects.filter(pk=survey.pk).update(opens_on=today - D(days=9), closes_on=today - D(days=1))
    with pytest.raises(Conflict) as caught:
        services.social_survey_open(actor=None, survey=survey)
    assert caught.value.code == "survey_expired"


# --- answering ----------------------------------------------------------------------------------------------------


def stored(survey=None):
    qs = SurveyAnswer.objects.all() if survey is None else SurveyAnswer.objects.filter(survey=survey)
    return dict(qs.values_list("item", "value"))


def test_a_resident_answers_all_twelve_items(tree):
    survey = make_survey(tree)
    resident, user = resident_with_account(tree.comm_a1)
    values = [5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 3, 2]
    rows, created = answer(user, survey, values)
    assert created and len(rows) == 12
    assert stored(survey) == dict(zip(ITEMS, values, strict=True))
    one = SurveyAnswer.objects.get(item="T1")
    assert one.resident == resident and one.community_id == tree.comm_a1.code
    assert one.answered_on == timezone.localdate() and one.survey == survey


def test_answering_again_replaces_in_one_transaction(tree, monkeypatch):
    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_a2)
    answer(user, survey, 2)
    first_ids = set(SurveyAnswer.objects.values_list("pk", flat=True))
    # Earlier answers to the same round on another day are replaced too.
    SurveyAnswer.objects.update(answered_on=timezone.localdate() - D(days=3))
    rows, created = answer(user, survey, 5)
    assert not created and len(rows) == 12
    assert SurveyAnswer.objects.count() == 12 and set(stored().values()) == {5}
    assert set(SurveyAnswer.objects.values_list("answered_on", flat=True)) == {timezone.localdate()}
    assert not first_ids & set(SurveyAnswer.objects.values_list("pk", flat=True))

    # A failure after the delete leaves the earlier answers as they were.
    def boom(*args, **kwargs):
        raise RuntimeError("insert failed")

    monkeypatch.setattr(SurveyAnswer.objects, "bulk_create", boom)
    with pytest.raises(RuntimeError):
        answer(user, survey, 1)
    assert SurveyAnswer.objects.count() == 12 and set(stored().values()) == {5}


def test_same_day_answers_to_another_round_or_an_import_are_replaced(tree):
    first = make_survey(tree, title="甲")
    second = make_survey(tree, title="乙")
    resident, user = resident_with_account(tree.comm_a1)
    answer(user, first, 3)
    earlier = timezone.localdate() - D(days=40)
    SurveyAnswer.objects.create(
        resident=resident, community=tree.comm_a1, answered_on=earlier, item="T1", value=1
    )  # imported, long ago: kept
    _rows, created = answer(user, second, 4)
    assert created
    assert not SurveyAnswer.objects.filter(survey=first).exists()  # one answer per day and item
    assert stored(second) == all_items(4)
    assert SurveyAnswer.objects.filter(survey=None, answered_on=earlier).count() == 1


@pytest.mark.parametrize(
    ("answers", "fields"),
    [
        (
            {k: v for k, v in all_items(3).items() if k not in ("N2", "S3")},
            {"N2": ["第 5 题还没有选择"], "S3": ["第 12 题还没有选择"]},
        ),
        (all_items(3) | {"T2": 6}, {"T2": ["第 2 题的答案应为 1 到 5"]}),
        (all_items(3) | {"T2": 0}, {"T2": ["第 2 题的答案应为 1 到 5"]}),
        (all_items(3) | {"R1": "很好"}, {"R1": ["第 7 题的答案应为 1 到 5"]}),
        (all_items(3) | {"R1": True}, {"R1": ["第 7 题的答案应为 1 到 5"]}),
        (all_items(3) | {"X1": 3}, {"X1": ["没有这道题"]}),
    ],
)
def test_bad_answers_write_nothing(tree, answers, fields):
    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_a1)
    with pytest.raises(DomainError) as caught:
        services.social_survey_answer(user=user, survey=survey, answers=answers)
    assert caught.value.fields == fields
    assert not SurveyAnswer.objects.exists()


def test_text_digits_are_accepted():
    assert services.clean_answers({k: str(v) for k, v in all_items(2).items()}) == all_items(2)
    with pytest.raises(DomainError) as caught:
        services.clean_answers({})
    assert caught.value.message == "还有 12 道题没有作答，请选择后再提交"


def test_only_residents_of_a_target_answer(tree):
    survey = make_survey(tree, place=tree.district, targets=[tree.comm_a1, tree.street_b])
    for home, allowed in [("comm_a1", True), ("comm_a2", False), ("comm_b1", True), ("other_comm", False)]:
        _r, user = resident_with_account(getattr(tree, home), name=f"居民{home}")
        if allowed:
            answer(user, survey)
        else:
            with pytest.raises(PermissionDenied) as caught:
                answer(user, survey)
            assert caught.value.message == "这份调查不是发给您所在社区的"
    assert SurveyAnswer.objects.values("resident").distinct().count() == 2
    staff = factories.staff(Role.ADMIN, tree.district)
    with pytest.raises(PermissionDenied) as caught:
        answer(staff, survey)
    assert caught.value.message == "只有居民可以填写社会资本调查"


def test_a_resident_who_left_cannot_answer(tree):
    survey = make_survey(tree)
    resident, user = resident_with_account(tree.comm_a1)
    resident.left_on = timezone.localdate()
    resident.save(update_fields=["left_on"])
    with pytest.raises(PermissionDenied):
        answer(user, survey)


def test_only_within_the_window(tree):
    today = timezone.localdate()
    _r, user = resident_with_account(tree.comm_a1)
    draft = make_survey(tree, open_it=False)
    with pytest.raises(Conflict) as caught:
        answer(user, draft)
    assert caught.value.code == "survey_not_open"
    later = make_survey(tree, opens_on=today + D(days=3), closes_on=today + D(days=10))
    with pytest.raises(Conflict) as caught:
        answer(user, later)
    assert caught.value.message == f"这份调查的填写时间是 {today + D(days=3)} 至 {today + D(days=10)}，现在不能填写"
    closed = make_survey(tree)
    services.social_survey_close(actor=None, survey=closed)
    with pytest.raises(Conflict) as caught:
        answer(user, closed)
    assert caught.value.message == "这份调查已经结束，不能再填写"
    past = make_survey(tree)
    SocialSurvey.objects.filter(pk=past.pk).update(opens_on=today - D(days=9), closes_on=today - D(days=1))
    with pytest.raises(Conflict):
        answer(user, past)
    assert not SurveyAnswer.objects.exists()


def test_double_submit_keeps_twelve_rows(tree):
    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_a1)
    results = [answer(user, survey, v) for v in (2, 2, 4)]
    assert [created for _rows, created in results] == [True, False, False]
    assert SurveyAnswer.objects.count() == 12 and set(stored().values()) == {4}


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_of_one_resident_leave_one_answer_set(tree):
    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_a1)
    with Race() as race:
        results, errors = race.run(*[lambda v=v: answer(user, survey, v) for v in (1, 2, 3, 4, 5, 1)])
        assert not errors, errors
        assert sum(created for _rows, created in results) == 1
        rows = race.read(lambda: list(SurveyAnswer.objects.values_list("item", "value")))
    assert len(rows) == 12 and {item for item, _v in rows} == set(ITEMS)
    assert len({v for _item, v in rows}) == 1  # one submit's answers, not a mix


@pytest.mark.django_db(transaction=True)
def test_concurrent_residents_all_count(tree):
    survey = make_survey(tree)
    users = [resident_with_account(tree.comm_a1, name=f"居民{i}")[1] for i in range(6)]
    with Race() as race:
        results, errors = race.run(*[lambda u=u: answer(u, survey, 3) for u in users])
        assert not errors, errors
        assert all(created for _rows, created in results)
        assert race.read(lambda: SurveyAnswer.objects.count()) == 72


# --- what a resident sees -----------------------------------------------------------------------------------------


def test_rounds_for_a_resident(tree):
    mine = make_survey(tree, targets=[tree.street_a], title="街道")
    make_survey(tree, place=tree.district, targets=[tree.comm_b1], title="别的社区")
    make_survey(tree, targets=[tree.comm_a1], open_it=False, title="草稿")
    _r, user = resident_with_account(tree.comm_a1)
    listed = list(selectors.social_surveys_for_resident(user=user))
    assert [s.title for s in listed] == ["街道"] and getattr(listed[0], "answered") is False  # noqa: B009
    answer(user, mine)
    assert getattr(selectors.social_surveys_for_resident(user=user).get(), "answered") is True  # noqa: B009
    mine_answers = selectors.my_answers(user=user, survey=mine)
    assert mine_answers is not None and mine_answers.values == all_items(4)
    assert selectors.social_survey_for_resident(user=user, survey_id=mine.pk) == mine
    other = SocialSurvey.objects.get(title="别的社区")
    with pytest.raises(NotFound):
        selectors.social_survey_for_resident(user=user, survey_id=other.pk)
    with pytest.raises(NotFound):
        selectors.social_survey_for_resident(user=user, survey_id="not-a-uuid")
