"""The cultivate demo: the new Hangzhou people volunteer station grows from grassroots to self-governing with evidence,
and one 1050-style selection year is scored, closed, answered and published — twice gives the same."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from gongzhi.interchange.demo import DISTRICT, generate_demo
from gongzhi.interchange.demo_accounts import demo_accounts_ensure
from gongzhi.interchange.demo_cultivate import ROUND_NAME, STATION_REF, VOICE_REF, demo_cultivate_ensure
from gongzhi.interchange.importer import import_data
from gongzhi.organizations.models import (
    AdmissionCheck,
    AssessmentRound,
    AssessmentScore,
    RoundEntry,
    StageChange,
    SupplyItem,
    SupportRecord,
)
from gongzhi.organizations.selectors import stage_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    generate_demo(folder, seed=5, residents=600)
    import_data(folder)
    demo_accounts_ensure()
    return folder


def test_demo_cultivate_builds_the_station_and_the_selection_and_runs_twice(demo: Path) -> None:
    summary = demo_cultivate_ensure()
    assert summary.notes == [] or all("not found" in n for n in summary.notes), summary.notes
    from gongzhi.organizations.models import Organization

    station = Organization.objects.get(ref=STATION_REF)
    assert station.stage == "self_governing" and station.place_id == "330102011000"
    history = list(StageChange.objects.filter(organization=station).order_by("changed_on"))
    assert [h.to_stage for h in history] == ["grassroots", "incubating", "professional", "self_governing"]
    assert all(h.reason and h.evidence for h in history[1:])
    assert stage_on(station, datetime.date(2024, 12, 31)) == "incubating"
    assert stage_on(station, datetime.date(2024, 1, 1)) is None
    assert AdmissionCheck.objects.filter(organization=station, met=True).count() == 5
    kinds = set(SupportRecord.objects.filter(organization=station).values_list("kind", flat=True))
    assert kinds == {"training", "mentoring", "venue", "funds", "contract", "post"}
    contract = SupportRecord.objects.get(organization=station, kind="contract")
    assert contract.amount and contract.ends_on and contract.deliverables
    assert SupplyItem.objects.filter(organization=station).count() == 5
    rnd = AssessmentRound.objects.get(place_id=DISTRICT, name=ROUND_NAME)
    assert rnd.status == "published" and rnd.published_at is not None
    entries = RoundEntry.objects.filter(round=rnd)
    assert entries.filter(outcome="selected", category="studio").count() == 2
    assert entries.filter(outcome="selected", category="quality_org").count() == 4
    warned = entries.get(outcome="warned", category="studio")
    assert warned.organization.ref == VOICE_REF and warned.reply and warned.replied_by is not None
    assert warned.replied_by.phone == "13900000012"
    assert entries.get(organization=station).outcome == "selected"
    tied = entries.filter(category="quality_org", rank__in=[4, 5]).order_by("rank")
    assert [e.organization.name for e in tied] == ["九堡街道新市民互助会", "采荷街道银龄志愿服务队"]
    assert tied[0].total == tied[1].total and "权重最大指标" in tied[1].tie_note
    counts = (
        StageChange.objects.count(),
        AdmissionCheck.objects.count(),
        SupportRecord.objects.count(),
        SupplyItem.objects.count(),
        AssessmentScore.objects.count(),
        RoundEntry.objects.count(),
    )
    again = demo_cultivate_ensure()
    assert (again.organizations, again.stage_changes, again.support_records, again.rounds, again.scores) == (0,) * 5
    assert (
        StageChange.objects.count(),
        AdmissionCheck.objects.count(),
        SupportRecord.objects.count(),
        SupplyItem.objects.count(),
        AssessmentScore.objects.count(),
        RoundEntry.objects.count(),
    ) == counts
