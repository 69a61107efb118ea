"""Cultivate pages: permission tables (role × place relation × action), the leader's view, bad input in Chinese with
nothing written, the stage board, rounds end to end through the pages, the public list, constant query counts."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.organizations import services as org_services
from gongzhi.organizations.cultivation import services as cv
from gongzhi.organizations.models import (
    AdmissionCheck,
    AssessmentScheme,
    AssessmentScore,
    RoundEntry,
    StageChange,
    SupplyItem,
    SupportRecord,
)
from gongzhi.people.models import Role
from tests import factories

from .conftest import CRITERIA, assessor, enter, make_leader, org, resident_with_account, round_of, score

pytestmark = pytest.mark.django_db
d = datetime.date

PLACES = ["comm_a1", "comm_a2", "street_a", "comm_b1", "other_comm"]
GRANTS = {"community_worker": "comm_a1", "street_staff": "street_a", "admin": "district", "teacher": "street_a"}
SEES = {
    "community_worker": {"comm_a1"},
    "street_staff": {"comm_a1", "comm_a2", "street_a"},
    "admin": {"comm_a1", "comm_a2", "street_a", "comm_b1"},
    "teacher": set(),
}
TABLE = [(role, key, key in seen) for role, seen in SEES.items() for key in PLACES]


@pytest.fixture
def orgs(tree):
    return {key: org(getattr(tree, key), f"组织{key}") for key in PLACES}


@pytest.mark.parametrize(("role", "key", "allowed"), TABLE)
def test_staff_permission_table(client, tree, orgs, role, key, allowed):
    user = factories.staff(role, getattr(tree, GRANTS[role]))
    client.force_login(user)
    o = orgs[key]
    criterion = cv.admission_criterion_add(actor=None, place=tree.province, text="有章程")
    page = client.get(reverse("cultivation_organization", args=[o.pk]))
    assert page.status_code == (200 if allowed else 404)
    check = client.post(
        reverse("cultivation_admission_check", args=[o.pk, criterion.pk]),
        {"met": "1", "evidence": "章程文本", "checked_on": "2025-01-01"},
    )
    assert check.status_code == (302 if allowed else 404)
    support = client.post(
        reverse("support_record_new", args=[o.pk]),
        {"kind": "training", "title": "能力建设培训", "starts_on": "2025-01-01"},
    )
    assert support.status_code == (302 if allowed else 404)
    supply = client.post(reverse("support_supply_new", args=[o.pk]), {"title": "四点半课堂"})
    assert supply.status_code == (302 if allowed else 404)
    assert AdmissionCheck.objects.filter(organization=o).exists() is allowed
    assert SupportRecord.objects.filter(organization=o).exists() is allowed
    assert SupplyItem.objects.filter(organization=o).exists() is allowed
    board = client.get(reverse("stage_board"))
    assert board.status_code == (403 if role == "teacher" else 200)
    if role != "teacher":
        listed = client.get(reverse("stage_board") + "?stage=grassroots").content.decode()
        assert (o.name in listed) is allowed


@pytest.mark.parametrize(
    ("who", "view", "supply", "support", "check"),
    [
        ("leader", 200, 302, 403, 403),  # the leader sees and keeps the supply list, staff record support
        ("member", 404, 404, 404, 404),
        ("near_resident", 404, 404, 404, 404),
    ],
)
def test_leader_member_resident_table(client, tree, who, view, supply, support, check):
    o = org(tree.comm_a1, "新杭州人志愿服务驿站")
    criterion = cv.admission_criterion_add(actor=None, place=tree.street_a, text="有章程")
    if who == "leader":
        user = make_leader(o, tree.comm_a1)
    else:
        r = resident_with_account(tree.comm_a1, name="钱成员")
        if who == "member":
            org_services.membership_add(actor=None, organization=o, resident=r)
        user = r.user
    client.force_login(user)
    assert client.get(reverse("cultivation_organization", args=[o.pk])).status_code == view
    assert client.post(reverse("support_supply_new", args=[o.pk]), {"title": "四点半课堂"}).status_code == supply
    posted = client.post(
        reverse("support_record_new", args=[o.pk]), {"kind": "training", "title": "培训", "starts_on": "2025-01-01"}
    )
    assert posted.status_code == support
    checked = client.post(
        reverse("cultivation_admission_check", args=[o.pk, criterion.pk]),
        {"met": "1", "evidence": "x", "checked_on": "2025-01-01"},
    )
    assert checked.status_code == check
    assert SupplyItem.objects.exists() is (who == "leader")
    assert not SupportRecord.objects.exists() and not AdmissionCheck.objects.exists()


@pytest.mark.parametrize(
    ("role", "place", "status"),
    [
        ("street_staff", "street_a", 200),  # covers the round's place
        ("admin", "district", 200),
        ("community_worker", "comm_a1", 404),  # below the round's place: does not manage it
        ("street_staff", "street_b", 404),  # a sibling street
        ("teacher", "street_a", 404),
    ],
)
def test_round_page_permission_table(client, tree, role, place, status):
    rnd = round_of(tree.street_a)
    client.force_login(factories.staff(role, getattr(tree, place)))
    assert client.get(reverse("assessment_round_detail", args=[rnd.pk])).status_code == status
    close = client.post(reverse("assessment_round_close", args=[rnd.pk]))
    assert close.status_code == (302 if status == 200 else 404)


def test_a_non_staff_assessor_scores_on_their_own_page(client, tree):
    rnd = round_of(tree.street_a)
    expert = factories.staff(Role.TEACHER, tree.district)
    cv.round_assessor_add(actor=None, round=rnd, user=expert)
    entry = enter(rnd, org(tree.comm_a1, "读书会"))
    client.force_login(expert)
    assert client.get(reverse("assessment_round_detail", args=[rnd.pk])).status_code == 302
    mine = client.get(reverse("assessment_mine")).content.decode()
    assert "读书会" in mine and reverse("assessment_score", args=[entry.pk]) in mine
    home = client.get(reverse("assessment_mine")).content.decode()
    assert f'href="{reverse("assessment_mine")}"' in home, "the nav shows 我的评审 to an outside assessor"
    bad = client.post(
        reverse("assessment_score", args=[entry.pk]), {"s_service": "101", "s_governance": "", "s_growth": "x"}
    )
    text = bad.content.decode()
    assert bad.status_code == 400 and "服务成效" in text and not AssessmentScore.objects.exists()
    good = client.post(
        reverse("assessment_score", args=[entry.pk]), {"s_service": "80", "s_governance": "70", "s_growth": "6"}
    )
    assert good.status_code == 302
    assert AssessmentScore.objects.get().total == Decimal("71.000")
    other = factories.staff(Role.TEACHER, tree.district)
    client.force_login(other)
    assert client.get(reverse("assessment_score", args=[entry.pk])).status_code == 404


def test_a_conflicted_assessor_sees_the_refusal_and_cannot_score(client, tree):
    rnd = round_of(tree.street_a)
    o = org(tree.comm_a1, "新市民互助会")
    leader = make_leader(o, tree.comm_a1)
    cv.round_assessor_add(actor=None, round=rnd, user=leader)
    entry = enter(rnd, o)
    client.force_login(leader)
    mine = client.get(reverse("assessment_mine")).content.decode()
    assert "须回避" in mine
    page = client.get(reverse("assessment_score", args=[entry.pk])).content.decode()
    assert "须回避，不能为其评分" in page and 'id="score-form"' not in page
    posted = client.post(
        reverse("assessment_score", args=[entry.pk]), {"s_service": "99", "s_governance": "99", "s_growth": "9"}
    )
    assert posted.status_code == 403 and "须回避" in posted.content.decode()
    assert not AssessmentScore.objects.exists()


def test_round_through_the_pages_and_the_public_list(client, tree):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    client.force_login(staff)
    session = client.session
    session["gongzhi_place"] = tree.street_a.code
    session.save()
    # A scheme with a bad weight sum: field errors in Chinese, nothing written.
    bad = client.post(
        reverse("assessment_scheme_new"),
        {
            "name": "年度评估",
            "year": "2025",
            "c0_code": "service",
            "c0_name": "服务",
            "c0_weight": "0.5",
            "c0_max": "100",
        },
    )
    assert bad.status_code == 400 and "各项权重之和应为 1，当前为 0.5" in bad.content.decode()
    assert not AssessmentScheme.objects.exists()
    form = {"name": "年度评估", "year": "2025"}
    for i, c in enumerate(CRITERIA):
        form.update({f"c{i}_{k}": str(c[k]) for k in ("code", "name", "weight", "max", "guide")})
    created = client.post(reverse("assessment_scheme_new"), form)
    assert created.status_code == 302
    scheme = AssessmentScheme.objects.get()
    made = client.post(
        reverse("assessment_round_new"),
        {"name": "2025 年度评选", "scheme": str(scheme.pk), "warn_last": "1", "cat0_code": "studio", "cat0_quota": "1",
         "cat1_code": "quality_org", "cat1_quota": "1"},
    )  # fmt: skip
    assert made.status_code == 302
    rnd = scheme.rounds.get()
    url = reverse("assessment_round_detail", args=[rnd.pk])
    a = resident_with_account(tree.comm_b1, name="甲评审").user
    b = factories.staff(Role.STREET_STAFF, tree.street_b)
    for user in (a, b):
        assert (
            client.post(reverse("assessment_round_assessor_add", args=[rnd.pk]), {"phone": user.phone}).status_code
            == 302
        )
    unknown = client.post(reverse("assessment_round_assessor_add", args=[rnd.pk]), {"phone": "13012345678"})
    assert unknown.status_code == 400 and "没有使用这个手机号的账号" in unknown.content.decode()
    orgs = [org(tree.comm_a1, name) for name in ("老娘舅工作室", "互助会", "巡防队")]
    search = client.get(url + "?q=互助").content.decode()
    assert "互助会" in search and "巡防队" not in search
    for o, category in zip(orgs, ("studio", "quality_org", "quality_org"), strict=True):
        client.post(
            reverse("assessment_round_entry_add", args=[rnd.pk]), {"organization": str(o.pk), "category": category}
        )
    assert RoundEntry.objects.filter(round=rnd).count() == 3
    for user, bump in ((a, 0), (b, 4)):
        for n, entry in enumerate(RoundEntry.objects.filter(round=rnd).order_by("organization__name")):
            score(user, entry, 60 + 10 * n + bump, 70, 7)
    assert client.post(reverse("assessment_round_close", args=[rnd.pk])).status_code == 302
    page = client.get(url).content.decode()
    assert "排名规则" in page and "权重最大指标的平均得分高者在前" in page and "末位警示" in page
    # Not yet public.
    client.logout()
    assert client.get(reverse("selection_public", args=[rnd.pk])).status_code == 404
    client.force_login(staff)
    assert client.post(reverse("assessment_round_publish", args=[rnd.pk])).status_code == 302
    client.logout()
    public = client.get(reverse("selection_public", args=[rnd.pk])).content.decode()
    winners = set(RoundEntry.objects.filter(round=rnd, outcome="selected").values_list("organization__name", flat=True))
    losers = set(
        RoundEntry.objects.filter(round=rnd).exclude(outcome="selected").values_list("organization__name", flat=True)
    )
    assert winners and all(w in public for w in winners) and not any(x in public for x in losers)
    assert "甲评审" not in public and a.phone not in public
    assert rnd.name in client.get(reverse("selection_public_index")).content.decode()


def test_leader_replies_to_a_warning_from_the_organisation_page(client, tree):
    rnd = round_of(tree.street_a, quotas={"studio": 1}, warn_last=1)
    user = assessor(tree.street_a)
    cv.round_assessor_add(actor=None, round=rnd, user=user)
    good, weak = org(tree.comm_a1, "老娘舅工作室"), org(tree.comm_a1, "新市民之声工作室")
    score(user, enter(rnd, good, "studio"), 90, 90, 9)
    weak_entry = enter(rnd, weak, "studio")
    score(user, weak_entry, 50, 50, 5)
    cv.assessment_round_close(actor=None, round=rnd)
    leader = make_leader(weak, tree.comm_a1)
    client.force_login(leader)
    home = client.get(reverse("my_communities")).content.decode()
    assert "受到末位警示" in home and reverse("cultivation_organization", args=[weak.pk]) in home
    page = client.get(reverse("cultivation_organization", args=[weak.pk])).content.decode()
    assert "末位警示" in page and f'id="reply-form-{weak_entry.pk}"' in page
    empty = client.post(reverse("assessment_reply", args=[weak_entry.pk]), {"reply": ""})
    assert empty.status_code == 400 and "申辩：这个字段是必填项。" in empty.content.decode()
    sent = client.post(reverse("assessment_reply", args=[weak_entry.pk]), {"reply": "骨干流失，已补充新成员"})
    assert sent.status_code == 302
    weak_entry.refresh_from_db()
    assert weak_entry.reply == "骨干流失，已补充新成员"
    # The leader of the other organisation cannot reply for this one.
    client.force_login(make_leader(good, tree.comm_a1, "李领队"))
    assert client.post(reverse("assessment_reply", args=[weak_entry.pk]), {"reply": "x"}).status_code == 404


def test_stage_board_counts_moves_and_drill_down(client, tree):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    client.force_login(staff)
    a = org(tree.comm_a1, "驿站", founded_on=d(2024, 3, 15))
    org(tree.comm_a2, "读书会", founded_on=d(2024, 1, 1))
    org(tree.comm_b1, "别的街道", founded_on=d(2024, 1, 1))
    org_services.organization_stage_change(
        actor=staff, organization=a, to_stage="incubating", changed_on=d(2025, 9, 1), reason="入驻孵化", evidence="协议"
    )
    page = client.get(reverse("stage_board") + "?year=2025").content.decode()
    assert "阶段调整 1 次" in page and "别的街道" not in page
    drill = client.get(reverse("stage_board") + "?year=2025&from=grassroots&to=incubating").content.decode()
    assert "驿站" in drill and "入驻孵化" in drill and "协议" in drill
    past = client.get(reverse("stage_board") + "?on=2025-06-30&stage=grassroots").content.decode()
    assert "驿站" in past, "on 2025-06-30 it was still grassroots"
    now = client.get(reverse("stage_board") + "?stage=grassroots").content.decode()
    assert "驿站" not in now and "读书会" in now
    listing = client.get(reverse("organization_list") + "?kind=all&stage=incubating").content.decode()
    assert "驿站" in listing and "读书会" not in listing


def test_stage_change_page_names_the_unmet_admission_criteria(client, tree):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    client.force_login(staff)
    o = org(tree.comm_a1, "互助会", founded_on=d(2024, 1, 1))
    cv.admission_criterion_add(actor=None, place=tree.street_a, text="有固定负责人和 5 名骨干")
    detail = client.get(reverse("organization_detail", args=[o.pk])).content.decode()
    assert "进入孵化前还有 1 项准入标准未核查符合" in detail
    refused = client.post(
        reverse("organization_stage", args=[o.pk]),
        {"to_stage": "incubating", "changed_on": "2025-01-01", "reason": "入驻", "evidence": "协议"},
    )
    assert refused.status_code == 400 and "有固定负责人和 5 名骨干" in refused.content.decode()
    assert StageChange.objects.filter(organization=o).count() == 1


def test_bad_support_input_is_shown_in_chinese_and_writes_nothing(client, tree):
    staff = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
    client.force_login(staff)
    o = org(tree.comm_a1, "驿站")
    response = client.post(
        reverse("support_record_new", args=[o.pk]), {"kind": "contract", "title": "购买服务", "starts_on": "2025-03-01"}
    )
    text = response.content.decode()
    assert response.status_code == 400
    assert "金额（元）：政府购买服务须填写金额" in text and "交付内容：政府购买服务须写明交付内容" in text
    assert not SupportRecord.objects.exists()
    check = client.post(
        reverse(
            "cultivation_admission_check",
            args=[o.pk, cv.admission_criterion_add(actor=None, place=tree.comm_a1, text="有章程").pk],
        ),
        {"met": "1", "evidence": "", "checked_on": "2025-01-01"},
    )
    assert check.status_code == 400 and "符合时须写明依据" in check.content.decode()
    assert not AdmissionCheck.objects.exists()


def test_admission_page_manages_own_place_and_shows_inherited(client, tree):
    cv.admission_criterion_add(actor=None, place=tree.district, text="区级标准")
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    client.force_login(staff)
    assert client.post(reverse("cultivation_admission_add"), {"text": "街道标准", "order": ""}).status_code == 302
    page = client.get(reverse("cultivation_admission")).content.decode()
    assert "区级标准" in page and "街道标准" in page and "上级区划的标准" in page
    dup = client.post(reverse("cultivation_admission_add"), {"text": "街道标准"})
    assert dup.status_code == 400 and "已存在" in dup.content.decode()
    district_criterion = tree.district.admission_criteria.get()
    assert (
        client.post(
            reverse("cultivation_admission_edit", args=[district_criterion.pk]), {"action": "retire"}
        ).status_code
        == 404
    )


# --- query counts -------------------------------------------------------------------------------------------------


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_pages_keep_a_constant_query_count(client, tree):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    client.force_login(staff)
    rnd = round_of(tree.street_a, quotas={"quality_org": 50})
    assessors = [assessor(tree.street_a) for _ in range(2)]
    for user in assessors:
        cv.round_assessor_add(actor=None, round=rnd, user=user)
    station = org(tree.comm_a1, "驿站")
    cv.admission_criterion_add(actor=None, place=tree.comm_a1, text="有章程")  # the station's checklist

    def grow(n: int, start: int) -> None:
        for i in range(start, start + n):
            o = org(tree.comm_a2, f"组织{i}", founded_on=d(2020, 1, 1))
            org_services.organization_stage_change(
                actor=None, organization=o, to_stage="incubating", changed_on=d(2021, 1, 1), reason="r", evidence="e"
            )
            entry = enter(rnd, o)
            for user in assessors:
                score(user, entry, 70 + i % 5, 70, 7)
            cv.support_record_add(
                actor=None, organization=station, kind="training", title=f"培训{i}", starts_on=d(2025, 1, 1)
            )
            cv.supply_item_add(actor=None, organization=o, title=f"服务{i}")

    urls = [
        reverse("stage_board") + "?year=2021&from=grassroots&to=incubating",
        reverse("stage_board") + "?on=2021-06-01&stage=incubating",
        reverse("assessment_round_detail", args=[rnd.pk]),
        reverse("assessment_list"),
        reverse("support_list"),
        reverse("support_supply_list"),
        reverse("cultivation_organization", args=[station.pk]),
    ]
    grow(2, 0)
    few = [_count(client, u) for u in urls]
    grow(12, 2)
    many = [_count(client, u) for u in urls]
    assert few == many, list(zip(urls, few, many, strict=True))
    cv.assessment_round_close(actor=None, round=rnd)
    cv.assessment_round_publish(actor=None, round=rnd)
    client.logout()
    assert _count(client, reverse("selection_public", args=[rnd.pk])) <= 4
