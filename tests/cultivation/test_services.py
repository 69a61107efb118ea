"""Services of 育 cultivate: admission, support and supply, scheme versions, rounds, conflicted assessors (refused),
scores, closing (deterministic, idempotent, concurrent closes give one result), replies and publication."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection

from gongzhi.core.errors import Conflict, DomainError, PermissionDenied
from gongzhi.core.models import AuditEvent
from gongzhi.organizations import services as org_services
from gongzhi.organizations.cultivation import services as cv
from gongzhi.organizations.models import (
    AdmissionCheck,
    AssessmentRound,
    AssessmentScheme,
    AssessmentScore,
    RoundEntry,
    SupplyItem,
    SupportRecord,
)

from .conftest import CRITERIA, assessor, enter, make_leader, org, resident_with_account, round_of, scheme, score

pytestmark = pytest.mark.django_db
d = datetime.date


# --- admission ------------------------------------------------------------------------------------------------


def test_admission_criteria_and_checks(tree):
    staff = assessor(tree.street_a)
    c = cv.admission_criterion_add(actor=staff, place=tree.street_a, text="有章程")
    assert c.order == 1 and cv.admission_criterion_add(actor=staff, place=tree.street_a, text="有骨干").order == 2
    with pytest.raises(Conflict):
        cv.admission_criterion_add(actor=staff, place=tree.street_a, text=" 有章程 ")
    with pytest.raises(DomainError) as exc:
        cv.admission_criterion_add(actor=staff, place=tree.street_a, text="  ")
    assert exc.value.fields == {"text": ["必填"]}
    o = org(tree.comm_a1, "读书会")
    with pytest.raises(DomainError) as exc:
        cv.admission_check_record(actor=staff, organization=o, criterion=c, met=True, evidence="")
    assert "evidence" in exc.value.fields
    elsewhere = cv.admission_criterion_add(actor=staff, place=tree.street_b, text="别处")
    with pytest.raises(DomainError) as exc:
        cv.admission_check_record(actor=staff, organization=o, criterion=elsewhere, met=True, evidence="x")
    assert "criterion" in exc.value.fields
    check = cv.admission_check_record(actor=staff, organization=o, criterion=c, met=False, checked_on=d(2025, 1, 1))
    again = cv.admission_check_record(actor=staff, organization=o, criterion=c, met=True, evidence="章程文本")
    assert again.pk == check.pk and again.met and again.checked_by == staff
    assert AdmissionCheck.objects.count() == 1
    assert AuditEvent.objects.filter(target_type="admission_check").count() == 2


# --- support and supply ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"kind": "contract", "title": "购买服务"}, {"amount", "ends_on", "deliverables"}),
        ({"kind": "post", "title": "公益岗位"}, {"quantity"}),
        ({"kind": "funds", "title": "启动资金"}, {"amount"}),
        ({"kind": "training", "title": ""}, {"title"}),
        ({"kind": "bogus", "title": "x"}, {"kind"}),
        ({"kind": "venue", "title": "场地", "ends_on": d(2024, 1, 1)}, {"ends_on"}),
        ({"kind": "funds", "title": "资金", "amount": Decimal("-1")}, {"amount"}),
        ({"kind": "post", "title": "岗位", "quantity": 0}, {"quantity"}),
    ],
)
def test_support_bad_input_writes_nothing(tree, kwargs, fields):
    o = org(tree.comm_a1, "驿站")
    with pytest.raises(DomainError) as exc:
        cv.support_record_add(actor=None, organization=o, starts_on=d(2025, 3, 1), **kwargs)
    assert set(exc.value.fields) == fields
    assert not SupportRecord.objects.exists()


def test_support_records_a_contract_and_posts(tree):
    o = org(tree.comm_a1, "驿站")
    contract = cv.support_record_add(
        actor=None, organization=o, kind="contract", title="四点半课堂", starts_on=d(2025, 3, 1),
        ends_on=d(2025, 12, 31), amount=Decimal("180000"), deliverables="每周 4 次",
    )  # fmt: skip
    post = cv.support_record_add(
        actor=None, organization=o, kind="post", title="项目社工", starts_on=d(2025, 1, 1), quantity=2
    )
    assert contract.amount == Decimal("180000") and post.quantity == 2
    cv.support_record_delete(actor=None, record=post, reason="录重了")
    assert list(SupportRecord.objects.values_list("kind", flat=True)) == ["contract"]
    assert AuditEvent.objects.filter(target_type="support_record", action="delete").count() == 1


def test_supply_list_add_is_idempotent_and_lines_can_be_taken_off(tree):
    o = org(tree.comm_a1, "驿站")
    item = cv.supply_item_add(actor=None, organization=o, title="四点半课堂", audience="小学生")
    assert cv.supply_item_add(actor=None, organization=o, title="四点半课堂").pk == item.pk
    cv.supply_item_update(actor=None, item=item, active=False)
    assert SupplyItem.objects.get().active is False
    assert cv.supply_item_add(actor=None, organization=o, title="四点半课堂").pk != item.pk  # a new active line
    with pytest.raises(DomainError) as exc:
        cv.supply_item_update(actor=None, item=item, title="")
    assert exc.value.fields == {"title": ["必填"]}
    org_services.organization_dissolve(actor=None, organization=o, dissolved_on=d(2025, 1, 1))
    with pytest.raises(DomainError):
        cv.supply_item_add(actor=None, organization=o, title="新服务")


# --- schemes: a scheme in use is never edited ----------------------------------------------------------------


def test_scheme_versions(tree):
    s1 = scheme(tree.district)
    assert (s1.version, s1.year) == (1, 2025)
    edited, new = cv.assessment_scheme_save(
        actor=None, place=tree.district, year=2025, name="改名", criteria=CRITERIA, scheme=s1
    )
    assert (edited.pk, new, edited.name) == (s1.pk, False, "改名"), "unused: edited in place"
    round_of(tree.district, sch=s1)
    changed = [dict(c) for c in CRITERIA]
    changed[0]["guide"] = "新的评分说明"
    s2, new = cv.assessment_scheme_save(
        actor=None, place=tree.district, year=2025, name="改名", criteria=changed, scheme=s1
    )
    assert new and s2.pk != s1.pk and s2.version == 2
    s1.refresh_from_db()
    assert s1.criteria[0]["guide"] == "服务次数与受益人数", "the version in use is unchanged"
    assert AssessmentScheme.objects.filter(place=tree.district, year=2025).count() == 2
    with pytest.raises(DomainError) as exc:
        cv.assessment_scheme_save(actor=None, place=tree.district, year=1999, name="", criteria=[])
    assert set(exc.value.fields) == {"name", "year", "criteria"}


# --- rounds and entries ---------------------------------------------------------------------------------------


def test_round_bad_input(tree):
    s = scheme(tree.street_a)
    for quotas, warn_last, field in (
        ({}, 0, "quotas"),
        ({"Studio": 1}, 0, "quotas"),
        ({"studio": 0}, 0, "quotas"),
        ({"studio": "10"}, 0, "quotas"),
        ({"studio": 1}, -1, "warn_last"),
    ):
        with pytest.raises(DomainError) as exc:
            cv.assessment_round_create(actor=None, scheme=s, name="评选", quotas=quotas, warn_last=warn_last)
        assert field in exc.value.fields
    with pytest.raises(DomainError) as exc:
        cv.assessment_round_create(actor=None, scheme=s, name="评选", quotas={"studio": 1}, place=tree.district)
    assert "place" in exc.value.fields
    assert not AssessmentRound.objects.exists()


def test_entries(tree):
    rnd = round_of(tree.street_a)
    o = org(tree.comm_a1, "读书会")
    entry, created = cv.round_entry_add(actor=None, round=rnd, organization=o, category="studio")
    again, created_again = cv.round_entry_add(actor=None, round=rnd, organization=o, category="studio")
    assert created and not created_again and again.pk == entry.pk
    with pytest.raises(Conflict):
        cv.round_entry_add(actor=None, round=rnd, organization=o, category="quality_org")
    with pytest.raises(DomainError) as exc:
        cv.round_entry_add(actor=None, round=rnd, organization=org(tree.comm_a1, "x"), category="bogus")
    assert "category" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        cv.round_entry_add(actor=None, round=rnd, organization=org(tree.comm_b1, "别的街道"), category="studio")
    assert "organization" in exc.value.fields
    gone = org(tree.comm_a1, "已解散")
    org_services.organization_dissolve(actor=None, organization=gone, dissolved_on=d(2025, 1, 1))
    with pytest.raises(DomainError):
        cv.round_entry_add(actor=None, round=rnd, organization=gone, category="studio")
    cv.round_entry_remove(actor=None, entry=entry)
    assert not RoundEntry.objects.exists()


# --- MUST-SHOW: conflicted assessors are refused --------------------------------------------------------------


CONFLICTS = [
    # (relation of the assessor to the organisation, refused)
    ("leader", True),
    ("member", True),
    ("left_this_year", True),  # ended in the assessment year: still conflicted
    ("left_before_the_year", False),
    ("member_of_another_organisation", False),
    ("none", False),
]


@pytest.mark.parametrize(("relation", "refused"), CONFLICTS)
def test_conflicted_assessors_are_refused(tree, relation, refused):
    rnd = round_of(tree.street_a)  # scheme year 2025
    target = org(tree.comm_a1, "新市民互助会", founded_on=d(2020, 1, 1))
    other = org(tree.comm_a1, "另一个组织", founded_on=d(2020, 1, 1))
    entry = enter(rnd, target)
    person = resident_with_account(tree.comm_a1, name="吴评审")
    user = person.user
    if relation in ("leader", "member", "left_this_year", "left_before_the_year"):
        role = "leader" if relation == "leader" else "member"
        org_services.membership_add(
            actor=None, organization=target, resident=person, role=role, joined_on=d(2021, 1, 1)
        )
        if relation == "left_this_year":
            org_services.membership_leave(resident=person, organization=target, left_on=d(2025, 2, 1))
        if relation == "left_before_the_year":
            org_services.membership_leave(resident=person, organization=target, left_on=d(2024, 12, 31))
    elif relation == "member_of_another_organisation":
        org_services.membership_add(actor=None, organization=other, resident=person, joined_on=d(2021, 1, 1))
    cv.round_assessor_add(actor=None, round=rnd, user=user)
    if refused:
        with pytest.raises(PermissionDenied) as exc:
            score(user, entry, 80, 80, 8)
        assert exc.value.code == "conflict_of_interest"
        assert "须回避" in exc.value.message and "新市民互助会" in exc.value.message
        assert not AssessmentScore.objects.exists()
    else:
        assert score(user, entry, 80, 80, 8).total == Decimal("80.000")


def test_only_assessors_of_an_open_round_score_and_scores_fit_the_scheme(tree, district_round):
    rnd, a, _b = district_round
    entry = enter(rnd, org(tree.comm_a1, "甲"))
    outsider = assessor(tree.street_a)
    with pytest.raises(PermissionDenied) as exc:
        score(outsider, entry, 80, 80, 8)
    assert exc.value.code == "not_assessor"
    with pytest.raises(DomainError) as exc:
        cv.assessment_score_submit(actor=a, entry=entry, scores={"service": 101, "governance": -1, "growth": 11})
    assert set(exc.value.fields) == {"service", "governance", "growth"}
    with pytest.raises(DomainError) as exc:
        cv.assessment_score_submit(actor=a, entry=entry, scores={"service": 1, "governance": 1, "extra": 1})
    assert set(exc.value.fields) == {"growth", "extra"}
    assert not AssessmentScore.objects.exists()
    first = score(a, entry, 80, 70, 6)  # 0.4·80 + 0.3·70 + 0.3·60 = 71
    assert first.total == Decimal("71.000")
    revised = score(a, entry, 90, 70, 6)
    assert revised.pk == first.pk and revised.total == Decimal("75.000")
    assert AssessmentScore.objects.count() == 1


# --- MUST-SHOW: closing is deterministic and idempotent -------------------------------------------------------


def _results(rnd: AssessmentRound) -> list[tuple]:
    return list(
        RoundEntry.objects.filter(round=rnd)
        .order_by("category", "rank")
        .values_list("organization__name", "category", "total", "rank", "outcome", "tie_note", "updated_at")
    )


def test_close_ranks_selects_warns_and_rerunning_changes_nothing(tree, district_round):
    rnd, a, b = district_round
    # quality_org: quota 2, warn 1. 丙 and 丁 tie on the total (75): 丁 has the higher heaviest criterion.
    plan = {
        "甲": ("quality_org", [(90, 90, 9), (90, 90, 9)]),  # 90
        "乙": ("quality_org", [(80, 80, 8), (80, 80, 8)]),  # 80
        "丙": ("quality_org", [(75, 75, 7.5), (75, 75, 7.5)]),  # 75, service 75
        "丁": ("quality_org", [(90, 60, 7), (90, 60, 7)]),  # 36 + 18 + 21 = 75, service 90
        "戊": ("quality_org", [(50, 50, 5), (50, 50, 5)]),  # 50: last → warned
        "工作室A": ("studio", [(70, 70, 7), (60, 60, 6)]),  # 65
        "工作室B": ("studio", [(66, 66, 6.6)]),  # 66 with one assessor
    }
    entries = {}
    for n, (name, (category, rows)) in enumerate(plan.items()):
        entries[name] = enter(rnd, org(tree.comm_a1, name, founded_on=d(2015 + n, 1, 1)), category)
        for user, values in zip((a, b), rows, strict=False):
            score(user, entries[name], *values)
    closed, changed = cv.assessment_round_close(actor=None, round=rnd)
    assert changed and closed.status == "closed" and closed.closed_at is not None
    got = {name: (total, rank, outcome) for name, _c, total, rank, outcome, _t, _u in _results(rnd)}
    assert got == {
        "甲": (Decimal("90.000"), 1, "selected"),
        "乙": (Decimal("80.000"), 2, "selected"),
        "丁": (Decimal("75.000"), 3, "not_selected"),
        "丙": (Decimal("75.000"), 4, "not_selected"),
        "戊": (Decimal("50.000"), 5, "warned"),
        "工作室B": (Decimal("66.000"), 1, "selected"),
        "工作室A": (Decimal("65.000"), 2, "warned"),
    }
    tie = RoundEntry.objects.get(pk=entries["丙"].pk).tie_note
    assert tie == "总分与第 3 名相同，按“权重最大指标的平均得分高者在前”排在其后"
    late, newcomer = org(tree.comm_a1, "迟到的组织"), assessor(tree.street_a)
    before = _results(rnd)
    audits = AuditEvent.objects.count()
    # Re-running the close, scoring, entering, adding an assessor: nothing changes.
    again, changed = cv.assessment_round_close(actor=None, round=rnd)
    assert not changed and again.closed_at == closed.closed_at
    with pytest.raises(Conflict):
        score(a, entries["戊"], 100, 100, 10)
    with pytest.raises(Conflict):
        enter(rnd, late)
    with pytest.raises(Conflict):
        cv.round_assessor_add(actor=None, round=rnd, user=newcomer)
    assert _results(rnd) == before
    assert AuditEvent.objects.count() == audits
    published, changed = cv.assessment_round_publish(actor=None, round=rnd)
    assert changed and published.status == "published"
    again, changed = cv.assessment_round_close(actor=None, round=rnd)
    assert not changed and again.status == "published"
    assert cv.assessment_round_publish(actor=None, round=rnd)[1] is False
    assert _results(rnd) == before


def test_close_needs_a_score_for_every_entry_and_publish_needs_a_close(tree, district_round):
    rnd, a, _b = district_round
    with pytest.raises(DomainError) as exc:
        cv.assessment_round_close(actor=None, round=rnd)
    assert exc.value.code == "no_entries"
    e1 = enter(rnd, org(tree.comm_a1, "已评"))
    enter(rnd, org(tree.comm_a1, "未评"))
    score(a, e1, 80, 80, 8)
    with pytest.raises(DomainError) as exc:
        cv.assessment_round_close(actor=None, round=rnd)
    assert exc.value.code == "unscored" and "未评" in exc.value.message
    with pytest.raises(Conflict):
        cv.assessment_round_publish(actor=None, round=rnd)
    rnd.refresh_from_db()
    assert rnd.status == "open"


def test_same_scores_give_the_same_result_in_any_entry_order(tree):
    results = []
    for order in (list(range(6)), [5, 3, 1, 0, 2, 4]):
        rnd = round_of(tree.street_a, quotas={"quality_org": 3}, warn_last=2)
        user = assessor(tree.street_a)
        cv.round_assessor_add(actor=None, round=rnd, user=user)
        for i in order:
            o = org(tree.comm_a1, f"组织{i}-{len(results)}", founded_on=d(2010, 1, 1), ref=f"R{len(results)}-{i:02d}")
            score(user, enter(rnd, o), 80, 80, 8)  # all equal: founded equal, ref decides
        cv.assessment_round_close(actor=None, round=rnd)
        results.append(
            list(RoundEntry.objects.filter(round=rnd).order_by("rank").values_list("organization__ref", "outcome"))
        )
    assert [ref[-2:] for ref, _ in results[0]] == ["00", "01", "02", "03", "04", "05"]
    assert [(r[-2:], o) for r, o in results[0]] == [(r[-2:], o) for r, o in results[1]]
    assert [o for _r, o in results[0]] == ["selected"] * 3 + ["not_selected"] + ["warned"] * 2


# --- replies ----------------------------------------------------------------------------------------------------


def test_only_the_warned_organisation_s_leader_replies_before_publication(tree, district_round):
    rnd, a, _b = district_round
    warned_org = org(tree.comm_a1, "末位组织")
    top = enter(rnd, org(tree.comm_a1, "第一"), "studio")
    last = enter(rnd, warned_org, "studio")
    score(a, top, 90, 90, 9)
    score(a, last, 50, 50, 5)
    leader = make_leader(warned_org, tree.comm_a1)
    member = resident_with_account(tree.comm_a1, name="成员甲")
    org_services.membership_add(actor=None, organization=warned_org, resident=member)
    with pytest.raises(Conflict):
        cv.round_entry_reply(actor=leader, entry=last, text="早了")  # not warned yet: round open
    cv.assessment_round_close(actor=None, round=rnd)
    last.refresh_from_db()
    assert last.outcome == "warned"
    with pytest.raises(PermissionDenied):
        cv.round_entry_reply(actor=member.user, entry=last, text="我是成员")
    with pytest.raises(Conflict):
        cv.round_entry_reply(actor=make_leader(org_of(top), tree.comm_a1, "李领队"), entry=top, text="没有警示")
    with pytest.raises(DomainError) as exc:
        cv.round_entry_reply(actor=leader, entry=last, text=" ")
    assert exc.value.fields == {"reply": ["必填"]}
    cv.round_entry_reply(actor=leader, entry=last, text="上半年骨干流失，已补充新成员")
    cv.round_entry_reply(actor=leader, entry=last, text="上半年骨干流失，已补充三名新成员")
    last.refresh_from_db()
    assert last.reply == "上半年骨干流失，已补充三名新成员" and last.replied_by == leader
    cv.assessment_round_publish(actor=None, round=rnd)
    with pytest.raises(Conflict):
        cv.round_entry_reply(actor=leader, entry=last, text="公示后")


def org_of(entry: RoundEntry):
    return entry.organization


def test_assessor_with_scores_cannot_be_removed(tree, district_round):
    rnd, a, b = district_round
    entry = enter(rnd, org(tree.comm_a1, "甲"))
    score(a, entry, 80, 80, 8)
    with pytest.raises(Conflict):
        cv.round_assessor_remove(actor=None, round=rnd, user=a)
    assert cv.round_assessor_remove(actor=None, round=rnd, user=b) is True
    assert cv.round_assessor_remove(actor=None, round=rnd, user=b) is False
    assert cv.round_assessor_add(actor=None, round=rnd, user=a) is False
    with pytest.raises(Conflict):
        cv.round_entry_remove(actor=None, entry=entry)


# --- concurrency (PostgreSQL) -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_closes_produce_one_result(tree):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    rnd = round_of(tree.street_a, quotas={"quality_org": 2}, warn_last=1)
    user = assessor(tree.street_a)
    cv.round_assessor_add(actor=None, round=rnd, user=user)
    for i in range(5):
        score(user, enter(rnd, org(tree.comm_a1, f"组织{i}")), 60 + i, 60, 6)
    barrier = threading.Barrier(6)
    changed: list[bool] = []
    errors: list[BaseException] = []

    def close() -> None:
        from django.db import connections

        try:
            barrier.wait()
            changed.append(cv.assessment_round_close(actor=None, round=rnd)[1])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=close) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(changed) == [False] * 5 + [True]
    assert AuditEvent.objects.filter(target_type="assessment_round", summary__startswith="结束评选").count() == 1
    assert list(RoundEntry.objects.filter(round=rnd).order_by("rank").values_list("rank", flat=True)) == [1, 2, 3, 4, 5]


@pytest.mark.django_db(transaction=True)
def test_concurrent_scores_of_one_assessor_make_one_row(tree):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    rnd = round_of(tree.street_a)
    user = assessor(tree.street_a)
    cv.round_assessor_add(actor=None, round=rnd, user=user)
    entry = enter(rnd, org(tree.comm_a1, "甲"))
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def submit(n: int) -> None:
        from django.db import connections

        try:
            barrier.wait()
            score(user, entry, 70 + n, 70, 7)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert AssessmentScore.objects.filter(entry=entry, assessor=user).count() == 1
