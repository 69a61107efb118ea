"""Stage history answers "what stage was this organisation at on date D" (METHOD.md II2), and a stage change is a
staff decision with date, reason and evidence; leaving grassroots needs the admission standard met."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.core.errors import DomainError
from gongzhi.organizations import services as org_services
from gongzhi.organizations.cultivation import services as cv
from gongzhi.organizations.models import Organization, OrganizationStage, StageChange
from gongzhi.organizations.selectors import stage_on, stages_on

from .conftest import org

pytestmark = pytest.mark.django_db

d = datetime.date


def _change(o: Organization, to: str, on: datetime.date) -> StageChange:
    return org_services.organization_stage_change(
        actor=None, organization=o, to_stage=to, changed_on=on, reason=f"调整为{to}", evidence="评估报告"
    )


@pytest.fixture
def grown(tree) -> Organization:
    """Founded 2024-03-15 (grassroots), incubating 2024-09-01, professional 2025-04-15, then back to incubating and
    up to self-governing on the same day 2025-11-20 (the last recorded wins)."""
    o = org(tree.street_a, "新杭州人志愿服务驿站", founded_on=d(2024, 3, 15))
    _change(o, "incubating", d(2024, 9, 1))
    _change(o, "professional", d(2025, 4, 15))
    _change(o, "incubating", d(2025, 11, 20))
    _change(o, "self_governing", d(2025, 11, 20))
    return o


# (date, expected stage): before founding, the founding day, the day before a change, the change date, after.
STAGE_TABLE = [
    (d(2024, 3, 14), None),  # before it existed
    (d(2024, 3, 15), "grassroots"),  # founding day (the founding record takes effect that day)
    (d(2024, 8, 31), "grassroots"),  # the day before the first move
    (d(2024, 9, 1), "incubating"),  # on the change date
    (d(2025, 4, 14), "incubating"),
    (d(2025, 4, 15), "professional"),
    (d(2025, 11, 19), "professional"),
    (d(2025, 11, 20), "self_governing"),  # two changes that day: the last recorded one
    (d(2030, 1, 1), "self_governing"),  # after the last change
]


@pytest.mark.parametrize(("on", "expected"), STAGE_TABLE, ids=[str(r[0]) for r in STAGE_TABLE])
def test_stage_on_date_table(grown, on, expected):
    assert stage_on(grown, on) == expected
    assert stages_on([grown.pk], on) == {grown.pk: expected}


def test_imported_organisation_without_history_reads_its_current_stage(tree):
    """An imported organisation (no StageChange rows): its current stage at any date after founding, None before."""
    o = Organization.objects.create(
        ref="IMP1", name="导入的组织", kind="social_org", place=tree.comm_a1, stage="professional",
        founded_on=d(2018, 5, 1),
    )  # fmt: skip
    assert stage_on(o, d(2019, 1, 1)) == "professional"
    assert stage_on(o, d(2018, 4, 30)) is None
    nodate = Organization.objects.create(ref="IMP2", name="无成立日期", kind="studio", place=tree.comm_a1)
    assert stage_on(nodate, d(2001, 1, 1)) == "grassroots"


def test_before_the_first_recorded_change_it_was_at_that_change_s_from_stage(tree):
    """A re-import records a change from the old stage: before it, the organisation was at the old stage."""
    o = Organization.objects.create(
        ref="IMP3", name="重新导入", kind="social_org", place=tree.comm_a1, stage="professional",
        founded_on=d(2015, 1, 1),
    )  # fmt: skip
    StageChange.objects.create(
        organization=o, from_stage="incubating", to_stage="professional", changed_on=d(2025, 6, 1)
    )
    assert stage_on(o, d(2020, 1, 1)) == "incubating"
    assert stage_on(o, d(2025, 6, 1)) == "professional"


def test_stages_on_is_set_based(tree):
    orgs = [org(tree.comm_a1, f"组织{i}", founded_on=d(2020, 1, 1)) for i in range(12)]
    for o in orgs[:6]:
        _change(o, "incubating", d(2021, 1, 1))
    with CaptureQueriesContext(connection) as ctx:
        answer = stages_on([o.pk for o in orgs], d(2022, 1, 1))
    assert len(ctx.captured_queries) == 2
    assert sorted(answer.values()) == ["grassroots"] * 6 + ["incubating"] * 6
    assert stages_on([], d(2022, 1, 1)) == {}


# --- a stage change is a decision with evidence --------------------------------------------------------------


def test_reason_and_evidence_are_required_and_dates_keep_history_in_order(tree):
    o = org(tree.comm_a1, "读书会", founded_on=d(2024, 1, 1))
    with pytest.raises(DomainError) as exc:
        org_services.organization_stage_change(
            actor=None, organization=o, to_stage="incubating", changed_on=d(2024, 6, 1), reason=" ", evidence=""
        )
    assert set(exc.value.fields) == {"reason", "evidence"}
    with pytest.raises(DomainError) as exc:
        _change(o, "incubating", timezone.localdate() + datetime.timedelta(days=1))
    assert exc.value.fields == {"changed_on": ["不能晚于今天"]}
    with pytest.raises(DomainError) as exc:
        _change(o, "incubating", d(2023, 12, 31))
    assert exc.value.fields == {"changed_on": ["不能早于成立日期"]}
    _change(o, "incubating", d(2024, 6, 1))
    with pytest.raises(DomainError) as exc:
        _change(o, "professional", d(2024, 5, 31))
    assert exc.value.fields == {"changed_on": ["不能早于上一次阶段调整（2024-06-01）"]}
    change = _change(o, "professional", d(2024, 6, 1))
    assert (change.from_stage, change.to_stage, change.reason, change.evidence) == (
        "incubating", "professional", "调整为professional", "评估报告",
    )  # fmt: skip
    assert StageChange.objects.filter(organization=o).count() == 3


def test_entering_incubation_needs_every_admission_criterion_of_the_place_chain(tree):
    o = org(tree.comm_a1, "新市民互助会", founded_on=d(2024, 1, 1))
    district = cv.admission_criterion_add(actor=None, place=tree.district, text="已在街道或社区备案")
    street = cv.admission_criterion_add(actor=None, place=tree.street_a, text="有章程")
    cv.admission_criterion_add(actor=None, place=tree.street_b, text="别的街道的标准")  # not in the chain
    retired = cv.admission_criterion_add(actor=None, place=tree.comm_a1, text="已停用的标准")
    cv.admission_criterion_update(actor=None, criterion=retired, active=False)
    with pytest.raises(DomainError) as exc:
        _change(o, "incubating", d(2024, 9, 1))
    assert exc.value.code == "admission_unmet"
    assert "已在街道或社区备案" in exc.value.message and "有章程" in exc.value.message
    assert "别的街道" not in exc.value.message and "已停用" not in exc.value.message
    # Skipping incubation does not avoid admission either.
    with pytest.raises(DomainError):
        _change(o, "professional", d(2024, 9, 1))
    cv.admission_check_record(actor=None, organization=o, criterion=district, met=True, evidence="备案表",
                              checked_on=d(2024, 8, 1))  # fmt: skip
    cv.admission_check_record(actor=None, organization=o, criterion=street, met=False, checked_on=d(2024, 8, 1))
    with pytest.raises(DomainError) as exc:
        _change(o, "incubating", d(2024, 9, 1))
    assert "有章程" in exc.value.message and "备案" not in exc.value.message.split("：", 1)[1]
    # Met, but checked after the effective date: not yet met on that date.
    cv.admission_check_record(actor=None, organization=o, criterion=street, met=True, evidence="章程文本",
                              checked_on=d(2024, 10, 1))  # fmt: skip
    with pytest.raises(DomainError):
        _change(o, "incubating", d(2024, 9, 1))
    o.refresh_from_db()
    assert o.stage == "grassroots" and StageChange.objects.filter(organization=o).count() == 1
    _change(o, "incubating", d(2024, 10, 1))
    o.refresh_from_db()
    assert o.stage == OrganizationStage.INCUBATING


def test_no_criteria_means_nothing_to_meet_and_moving_down_needs_no_admission(tree):
    o = org(tree.comm_b1, "巡防队", founded_on=d(2024, 1, 1))
    _change(o, "incubating", d(2024, 2, 1))
    cv.admission_criterion_add(actor=None, place=tree.street_b, text="后来新增的标准")
    _change(o, "grassroots", d(2024, 3, 1))  # moving down: no admission check
    with pytest.raises(DomainError):
        _change(o, "incubating", d(2024, 4, 1))  # and back up: the new standard applies
