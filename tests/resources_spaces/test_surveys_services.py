"""Needs surveys through the services: sending to streets and communities, the open/close lifecycle, answering once
(again = replace; a double submit never duplicates, also at the same moment), aggregated results, and turning the top
topics into needs in one transaction."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.core.errors import Conflict, DomainError, PermissionDenied
from gongzhi.core.models import AuditEvent
from gongzhi.people.models import Role
from gongzhi.resources.models import Need, NeedsSurvey, SurveyResponse
from gongzhi.resources.selectors import surveys as selectors
from gongzhi.resources.services import surveys as services
from tests import factories

from .concurrency import Race
from .conftest import resident_with_account

pytestmark = pytest.mark.django_db

D = datetime.timedelta
TOPICS = "智能手机使用\n防范电信诈骗\n\n家庭理财\n智能手机使用\n"


def make_survey(tree, *, place=None, targets=None, opens_on=None, closes_on=None, topics=TOPICS, open_it=True):
    today = timezone.localdate()
    survey = services.survey_create(
        actor=None,
        place=place or tree.district,
        title="2026 年社区学习需求调查",
        intro="想学什么？什么时候方便？",
        targets=targets if targets is not None else [tree.street_a, tree.comm_b1],
        topics=topics,
        opens_on=opens_on or today,
        closes_on=closes_on or today + D(days=14),
    )
    if open_it:
        services.survey_open(actor=None, survey=survey)
        survey.refresh_from_db()
    return survey


def test_create_cleans_topics_and_starts_as_draft(tree):
    survey = make_survey(tree, open_it=False)
    assert survey.status == "draft"
    assert survey.topics == ["智能手机使用", "防范电信诈骗", "家庭理财"]
    assert sorted(survey.targets.values_list("code", flat=True)) == [tree.street_a.code, tree.comm_b1.code]
    assert AuditEvent.objects.filter(target_type="needs_survey", action="create").count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"targets": []}, "targets", "请至少选择一个街道或社区"),
        ({"topics": "\n \n"}, "topics", "请至少列出一个主题"),
        ({"topics": ["长" * 51]}, "topics", "每个主题不超过 50 字：长长长长长长长长长长…"),
        ({"topics": [f"主题{i}" for i in range(21)]}, "topics", "主题最多 20 个"),
    ],
)
def test_create_bad_input_writes_nothing(tree, kwargs, field, message):
    with pytest.raises(DomainError) as caught:
        make_survey(tree, open_it=False, **kwargs)
    assert caught.value.fields == {field: [message]}
    assert not NeedsSurvey.objects.exists()


def test_targets_are_streets_or_communities_inside_the_sending_place(tree):
    with pytest.raises(DomainError) as caught:
        make_survey(tree, place=tree.street_a, targets=[tree.comm_a1, tree.comm_b1], open_it=False)
    assert caught.value.fields == {"targets": [f"{tree.comm_b1.name} 不在 {tree.street_a.name} 之内"]}
    with pytest.raises(DomainError) as caught:
        make_survey(tree, targets=[tree.district], open_it=False)
    assert caught.value.fields == {"targets": [f"调查范围只能是街道或社区：{tree.district.name}"]}


def test_dates(tree):
    today = timezone.localdate()
    with pytest.raises(DomainError) as caught:
        make_survey(tree, opens_on=today + D(days=5), closes_on=today + D(days=1), open_it=False)
    assert caught.value.fields == {"closes_on": ["截止日期不能早于开始日期"]}
    with pytest.raises(DomainError) as caught:
        make_survey(tree, opens_on=today - D(days=9), closes_on=today - D(days=1), open_it=False)
    assert caught.value.fields == {"closes_on": ["截止日期已经过去"]}


def test_lifecycle(tree):
    survey = make_survey(tree, open_it=False)
    with pytest.raises(Conflict) as caught:
        services.survey_close(actor=None, survey=survey)
    assert caught.value.message == "调查还没有开始收集，不能结束"
    services.survey_open(actor=None, survey=survey)
    services.survey_open(actor=None, survey=survey)  # idempotent
    services.survey_close(actor=None, survey=survey)
    services.survey_close(actor=None, survey=survey)
    survey.refresh_from_db()
    assert survey.status == "closed"
    with pytest.raises(Conflict) as caught:
        services.survey_open(actor=None, survey=survey)
    assert caught.value.message == "调查已结束，不能再开始"
    assert AuditEvent.objects.filter(target_type="needs_survey", action="update").count() == 2


def test_an_expired_draft_cannot_open(tree):
    survey = make_survey(tree, open_it=False)
    NeedsSurvey.objects.filter(pk=survey.pk).update(
        opens_on=timezone.localdate() - D(days=5), closes_on=timezone.localdate() - D(days=1)
    )
    with pytest.raises(Conflict) as caught:
        services.survey_open(actor=None, survey=survey)
    assert caught.value.code == "survey_expired"


# --- answering ----------------------------------------------------------------------------------------------------


def answer(user, survey, **kwargs):
    kwargs.setdefault("topics", ["智能手机使用"])
    return services.survey_answer(user=user, survey=survey, **kwargs)


def test_a_resident_of_a_target_answers_once_and_again_replaces(tree):
    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_a1)  # under the targeted street
    response, created = answer(
        user, survey, topics=["智能手机使用", "家庭理财"], times=["weekend_day"], places=["online"]
    )
    assert created and response.community_id == tree.comm_a1.code
    again, created_again = answer(
        user, survey, topics=["防范电信诈骗"], own_topic="太极拳", times=["weekday_evening"], other="希望有字幕"
    )
    assert not created_again and again.pk == response.pk
    stored = SurveyResponse.objects.get()
    assert stored.topics == ["防范电信诈骗", "太极拳"] and stored.times == ["weekday_evening"] and stored.places == []
    assert stored.other == "希望有字幕"


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"topics": []}, "topics", "请至少选择一个主题，或写下您想学的内容"),
        ({"topics": ["不在选项里"]}, "topics", "不是可选的值：不在选项里"),
        ({"times": ["midnight"]}, "times", "不是可选的值：midnight"),
        ({"places": ["moon"]}, "places", "不是可选的值：moon"),
        ({"own_topic": "长" * 51}, "own_topic", "不能超过 50 字"),
        ({"other": "长" * 301}, "other", "不能超过 300 字"),
    ],
)
def test_bad_answers_write_nothing(tree, kwargs, field, message):
    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_b1)
    with pytest.raises(DomainError) as caught:
        answer(user, survey, **kwargs)
    assert caught.value.fields == {field: [message]}
    assert not SurveyResponse.objects.exists()


def test_only_residents_of_a_target_answer(tree):
    survey = make_survey(tree, targets=[tree.comm_a1])
    _r, sibling = resident_with_account(tree.comm_a2)
    with pytest.raises(PermissionDenied) as caught:
        answer(sibling, survey)
    assert caught.value.message == "这份调查不是发给您所在社区的"
    staff = factories.staff(Role.ADMIN, tree.district)
    with pytest.raises(PermissionDenied):
        answer(staff, survey)
    assert not SurveyResponse.objects.exists()


def test_only_while_open(tree):
    today = timezone.localdate()
    draft = make_survey(tree, open_it=False)
    _r, user = resident_with_account(tree.comm_a1)
    with pytest.raises(Conflict) as caught:
        answer(user, draft)
    assert caught.value.message == "该调查目前不在收集期内"
    later = make_survey(tree, opens_on=today + D(days=3), closes_on=today + D(days=10))
    with pytest.raises(Conflict):
        answer(user, later)
    closed = make_survey(tree)
    services.survey_close(actor=None, survey=closed)
    with pytest.raises(Conflict):
        answer(user, closed)
    assert not SurveyResponse.objects.exists()


def test_open_surveys_for_a_resident(tree):
    mine = make_survey(tree, targets=[tree.street_a])
    other = make_survey(tree, targets=[tree.comm_b1])
    make_survey(tree, targets=[tree.comm_a1], open_it=False)  # a draft is not shown
    _r, user = resident_with_account(tree.comm_a1)
    listed = list(selectors.surveys_for_resident(user=user))
    assert [s.pk for s in listed] == [mine.pk] and listed[0].answered is False
    answer(user, mine)
    assert selectors.surveys_for_resident(user=user).get().answered is True
    assert selectors.survey_for_resident(user=user, survey_id=mine.pk) == mine
    from gongzhi.core.errors import NotFound

    with pytest.raises(NotFound):
        selectors.survey_for_resident(user=user, survey_id=other.pk)


@pytest.mark.django_db(transaction=True)
def test_double_submit_at_the_same_moment_makes_one_answer(tree):
    survey = make_survey(tree)
    _r, user = resident_with_account(tree.comm_a1)
    with Race() as race:
        results, errors = race.run(
            *[
                lambda i=i: answer(user, survey, topics=[["智能手机使用", "家庭理财", "防范电信诈骗"][i % 3]])
                for i in range(4)
            ]
        )
        assert not errors, errors
        assert sum(created for _resp, created in results) == 1
        assert race.read(lambda: SurveyResponse.objects.filter(survey=survey).count()) == 1


# --- results and needs --------------------------------------------------------------------------------------------


@pytest.fixture
def answered(tree):
    survey = make_survey(tree)
    plan = [
        (tree.comm_a1, ["智能手机使用", "防范电信诈骗"], ["weekend_day"], ["community_room"], "太极拳"),
        (tree.comm_a1, ["智能手机使用"], ["weekend_day", "weekday_evening"], ["online"], ""),
        (tree.comm_a1, ["家庭理财"], ["weekday_evening"], [], "太极拳"),
        (tree.comm_a2, ["智能手机使用"], ["weekday_day"], ["community_room"], ""),
        (tree.comm_b1, ["防范电信诈骗"], ["weekday_day"], ["street_school"], ""),
    ]
    for i, (community, topics, times, places, own) in enumerate(plan):
        _r, user = resident_with_account(community, name=f"居民{i}")
        answer(
            user, survey, topics=topics, times=times, places=places, own_topic=own, other=f"建议{i}" if i < 2 else ""
        )
    return survey


def test_results_are_aggregated(tree, answered, django_assert_max_num_queries):
    staff = factories.staff(Role.ADMIN, tree.district)
    staff.has_perm("resources.view_needssurvey", answered)  # grants read once per request
    with django_assert_max_num_queries(3):
        results = selectors.survey_results(user=staff, survey=answered)
    assert results.respondents == 5
    assert [(t.label, t.count, t.own) for t in results.topics] == [
        ("智能手机使用", 3, False),
        ("防范电信诈骗", 2, False),
        ("家庭理财", 1, False),
        ("太极拳", 2, True),
    ]
    assert results.topics[0].percent == 60
    assert [(t.key, t.count) for t in results.times] == [
        ("weekday_day", 2),
        ("weekday_evening", 2),
        ("weekend_day", 2),
        ("weekend_evening", 0),
    ]
    assert [(t.key, t.count) for t in results.places][:2] == [("community_room", 2), ("street_school", 1)]
    assert [(c.code, c.respondents) for c in results.communities] == [
        (tree.comm_a1.code, 3),
        (tree.comm_a2.code, 1),
        (tree.comm_b1.code, 1),
    ]
    assert [(t.label, t.count) for t in results.communities[0].topics] == [
        ("智能手机使用", 2),
        ("太极拳", 2),
        ("防范电信诈骗", 1),
    ]
    assert sorted(results.others) == ["建议0", "建议1"]
    one = selectors.survey_results(user=staff, survey=answered, community=tree.comm_b1.code)
    assert one.respondents == 1 and one.topics[0].label == "防范电信诈骗"


def test_results_are_for_staff_covering_the_survey(tree, answered):
    from gongzhi.core.errors import NotFound

    outsider = factories.staff(Role.STREET_STAFF, tree.street_a)  # the survey was sent from the district
    with pytest.raises(NotFound):
        selectors.survey_results(user=outsider, survey=answered)


def test_top_topics_become_needs_per_community_once(tree, answered):
    staff = factories.staff(Role.ADMIN, tree.district)
    made = services.survey_needs_create(
        actor=staff, survey=answered, topics=[("智能手机使用", "course"), ("太极拳", "teacher")]
    )
    got = sorted((n.community_id, n.title, n.resource_kind) for n in made)
    assert got == [
        (tree.comm_a1.code, "太极拳", "teacher"),
        (tree.comm_a1.code, "智能手机使用", "course"),
        (tree.comm_a2.code, "智能手机使用", "course"),
    ]
    need = Need.objects.get(community=tree.comm_a1, title="智能手机使用")
    assert need.direction == "survey" and need.status == "open" and need.survey == answered
    assert need.ref.startswith("N") and need.raised_by_user == staff and need.raised_by is None
    assert "本社区 2 位居民想学这个主题" in need.description and need.preferred_time == "周末白天、工作日晚上"
    assert AuditEvent.objects.filter(target_type="need").count() == 3
    # Again (a double submit): nothing more.
    assert services.survey_needs_create(actor=staff, survey=answered, topics=[("智能手机使用", "course")]) == []
    assert Need.objects.count() == 3


def test_needs_with_a_threshold_and_bad_choices(tree, answered):
    made = services.survey_needs_create(actor=None, survey=answered, topics=[("智能手机使用", "course")], min_count=2)
    assert [n.community_id for n in made] == [tree.comm_a1.code]
    with pytest.raises(DomainError) as caught:
        services.survey_needs_create(actor=None, survey=answered, topics=[("没人选", "course")])
    assert caught.value.fields == {"topics": ["没有居民选择「没人选」"]}
    with pytest.raises(DomainError) as caught:
        services.survey_needs_create(actor=None, survey=answered, topics=[("家庭理财", "spaceship")])
    assert caught.value.fields == {"resource_kind": ["请为「家庭理财」选择所需资源类型"]}
    assert Need.objects.count() == 1


def test_needs_made_in_one_transaction(tree, answered, monkeypatch):
    from gongzhi.resources.services import surveys as module

    real = module.audit_record
    calls = {"n": 0}

    def fail_on_second(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(module, "audit_record", fail_on_second)
    with pytest.raises(RuntimeError):
        services.survey_needs_create(actor=None, survey=answered, topics=[("智能手机使用", "course")])
    assert Need.objects.count() == 0
