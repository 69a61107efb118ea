"""issues.csv and issue_actions.csv: import, re-import, errors (nothing written), export round trip; the demo step."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongzhi.deliberation.models import Issue, IssueAction, IssueStatusChange
from gongzhi.interchange.demo import build_demo
from gongzhi.interchange.exporter import export_data
from gongzhi.interchange.importer import ImportFailed, import_data
from tests.interchange.conftest import SMALL, write_folder

pytestmark = pytest.mark.django_db

ISSUES = [
    ["ref", "community_code", "raised_by", "raised_on", "status", "discussed_on", "decided_on", "implemented_on",
     "closed_on", "title"],
    ["I1", "330102001001", "R1", "2025-02-01", "closed", "2025-02-10", "2025-03-01", "2025-03-05", "2025-06-30",
     "加装电梯"],
    ["I2", "330102001001", "", "2025-04-01", "discussing", "2025-04-03", "", "", "", ""],
    ["I3", "330102001002", "R3", "2025-05-01", "rejected", "", "", "", "", "广场舞音量"],
]  # fmt: skip
ACTIONS = [
    ["issue_ref", "resident_ref", "action", "at"],
    ["I1", "R1", "raise", "2025-02-01T09:00:00+08:00"],
    ["I1", "R2", "comment", "2025-02-11T20:15:00+08:00"],
    ["I1", "R1", "vote", "2025-02-20T01:00:00+00:00"],
    ["I2", "R3", "propose", "2025-04-05T10:00:00+08:00"],
]
FILES = {**SMALL, "issues.csv": ISSUES, "issue_actions.csv": ACTIONS}


def state() -> dict[str, list[tuple]]:
    return {
        "issues": list(
            Issue.objects.order_by("ref").values_list(
                "ref", "community_id", "raised_by__ref", "raised_on", "status", "discussed_on", "decided_on",
                "implemented_on", "closed_on", "title", "updated_at",
            )
        ),
        "actions": list(
            IssueAction.objects.order_by("issue__ref", "resident__ref", "action", "at").values_list(
                "issue__ref", "resident__ref", "action", "at", "updated_at"
            )
        ),
        "history": IssueStatusChange.objects.count(),
    }  # fmt: skip


def _report(report, name):
    return next(f for f in report.files if f.name == name)


def test_import_then_reimport_changes_nothing(tmp_path: Path):
    folder = write_folder(tmp_path / "in", FILES)
    report = import_data(folder)
    assert (_report(report, "issues.csv").counts.created, _report(report, "issue_actions.csv").counts.created) == (3, 4)
    i1 = Issue.objects.get(ref="I1")
    assert (i1.status, i1.closed_on.isoformat(), i1.title, i1.raised_by.ref) == (
        "closed",
        "2025-06-30",
        "加装电梯",
        "R1",
    )
    assert Issue.objects.get(ref="I2").title == "议题 I2" and Issue.objects.get(ref="I2").raised_by is None
    first = state()
    again = import_data(folder)
    assert _report(again, "issues.csv").counts.unchanged == 3
    assert _report(again, "issue_actions.csv").counts.unchanged == 4
    assert state() == first


def test_reimport_with_a_new_status_updates_and_records_history(tmp_path: Path):
    import_data(write_folder(tmp_path / "a", FILES))
    changed = [row[:] for row in ISSUES]
    changed[2][4:7] = ["decided", "2025-04-03", "2025-05-01"]
    changed[2][9] = ""
    report = import_data(write_folder(tmp_path / "b", {"issues.csv": changed}))
    assert (_report(report, "issues.csv").counts.updated, _report(report, "issues.csv").counts.unchanged) == (1, 2)
    i2 = Issue.objects.get(ref="I2")
    assert i2.status == "decided" and i2.title == "议题 I2"
    assert list(i2.status_changes.values_list("from_status", "to_status")) == [
        ("", "discussing"),
        ("discussing", "decided"),
    ]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["I9", "330102001001", "", "2025-02-01", "closed", "", "", "", "", ""], "closed_on", "必须填写办结日期"),
        (["I9", "330102001001", "", "2025-02-01", "rejected", "", "", "", "2025-03-01", ""], "closed_on", "不能有办结日期"),
        (["I9", "330102001001", "", "2025-02-01", "open", "2025-02-03", "", "", "", ""], "discussed_on", "不能有"),
        (["I9", "330102001001", "", "2025-02-01", "decided", "2025-03-01", "2025-02-15", "", "", ""], "decided_on",
         "不能早于"),
        (["I9", "330102001001", "", "2025-02-01", "discussing", "2025-01-01", "", "", "", ""], "discussed_on", "不能早于"),
        (["I9", "330102001001", "R404", "2025-02-01", "open", "", "", "", "", ""], "raised_by", "不存在"),
        (["I9", "330102001999", "", "2025-02-01", "open", "", "", "", "", ""], "community_code", "不存在"),
        (["I9", "330102001000", "", "2025-02-01", "open", "", "", "", "", ""], "community_code", "社区"),
        (["I9", "330102001001", "", "2025/02/01", "open", "", "", "", "", ""], "raised_on", "YYYY-MM-DD"),
        (["I9", "330102001001", "", "2025-02-01", "done", "", "", "", "", ""], "status", "之一"),
    ],
)  # fmt: skip
def test_one_bad_row_writes_nothing(tmp_path: Path, row, column, message):
    bad = [*ISSUES, row]
    with pytest.raises(ImportFailed) as exc:
        import_data(write_folder(tmp_path / "bad", {**FILES, "issues.csv": bad}))
    errors = exc.value.errors
    assert any(e.file == "issues.csv" and e.row == len(bad) and e.column == column and message in e.message
               for e in errors), [str(e) for e in errors]  # fmt: skip
    assert not Issue.objects.exists() and not IssueAction.objects.exists()


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["I404", "R1", "raise", "2025-02-01T09:00:00+08:00"], "issue_ref", "不存在"),
        (["I1", "R404", "raise", "2025-02-01T09:00:00+08:00"], "resident_ref", "不存在"),
        (["I1", "R1", "like", "2025-02-01T09:00:00+08:00"], "action", "之一"),
        (["I1", "R1", "raise", "2025-02-01T09:00:00"], "at", "时区"),
        (["I1", "R1", "raise", "2025-02-01T01:00:00+00:00"], "issue_ref", "重复"),  # the same instant as row 2
    ],
)
def test_one_bad_action_row_writes_nothing(tmp_path: Path, row, column, message):
    bad = [*ACTIONS, row]
    with pytest.raises(ImportFailed) as exc:
        import_data(write_folder(tmp_path / "bad", {**FILES, "issue_actions.csv": bad}))
    assert any(e.file == "issue_actions.csv" and e.row == len(bad) and e.column == column and message in e.message
               for e in exc.value.errors), [str(e) for e in exc.value.errors]  # fmt: skip
    assert not Issue.objects.exists() and not IssueAction.objects.exists()


def test_export_round_trip(tmp_path: Path):
    import_data(write_folder(tmp_path / "in", FILES))
    first = state()
    out = tmp_path / "out"
    export_data(out)
    issues_csv = (out / "issues.csv").read_text(encoding="utf-8")
    assert issues_csv.splitlines()[0] == (
        "ref,community_code,raised_by,raised_on,status,discussed_on,decided_on,implemented_on,closed_on"
    )
    assert "加装电梯" not in issues_csv  # the title is import-only
    assert "I1,330102001001,R1,2025-02-01,closed,2025-02-10,2025-03-01,2025-03-05,2025-06-30" in issues_csv
    actions_csv = (out / "issue_actions.csv").read_text(encoding="utf-8")
    assert "I1,R1,vote,2025-02-20T09:00:00+08:00" in actions_csv
    report = import_data(out)
    assert _report(report, "issues.csv").counts.unchanged == 3
    assert _report(report, "issue_actions.csv").counts.unchanged == 4
    assert state() == first
    export_data(tmp_path / "again")
    assert (tmp_path / "again" / "issue_actions.csv").read_bytes() == (out / "issue_actions.csv").read_bytes()


def test_export_of_a_place_keeps_only_its_rows(tmp_path: Path):
    import_data(write_folder(tmp_path / "in", FILES))
    out = tmp_path / "a2"
    export_data(out, place_code="330102001002")
    rows = (out / "issues.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["I3"]
    assert (out / "issue_actions.csv").read_text(encoding="utf-8").splitlines()[1:] == []


def test_demo_issues_are_deterministic_and_coherent():
    def tables(seed):
        _world, out = build_demo(seed=seed, residents=300)
        return {t.name: t for t in out}

    a, b = tables(7), tables(7)
    assert a["issues.csv"].rows == b["issues.csv"].rows
    assert a["issue_actions.csv"].rows == b["issue_actions.csv"].rows
    assert len({r[1] for r in a["issues.csv"].rows}) >= 3  # several communities
    assert {r[4] for r in a["issues.csv"].rows} >= {"open", "discussing", "decided", "implementing", "closed"}
    assert {r[2] for r in a["issue_actions.csv"].rows} == {"raise", "comment", "propose", "vote"}
    # The existing files do not change because of the new step.
    assert [t.name for t in build_demo(seed=7, residents=300)[1]][:7] == [
        "places.csv", "residents.csv", "population.csv", "organizations.csv", "memberships.csv", "activities.csv",
        "attendance.csv",
    ]  # fmt: skip


def test_demo_files_import(tmp_path: Path):
    from gongzhi.interchange.demo import generate_demo

    folder = tmp_path / "demo"
    generate_demo(folder, seed=3, residents=240)
    report = import_data(folder)
    assert _report(report, "issues.csv").counts.created > 5
    assert _report(report, "issue_actions.csv").counts.created > 10
    again = import_data(folder)
    assert _report(again, "issue_actions.csv").counts.created == 0


def test_seed_demo_builds_the_estate_case_and_an_open_ballot(tmp_path: Path):
    import io

    from django.core.management import call_command
    from django.utils import timezone

    from gongzhi.deliberation.models import Ballot, Decision, PaperTally, SatisfactionRating
    from gongzhi.deliberation.services.decisions import ballot_result
    from gongzhi.interchange.demo_deliberation import CASE_REF, OPEN_REF, VOTING_REF, demo_deliberation_ensure

    out = io.StringIO()
    call_command("seed_demo", "--residents", "300", "--dir", str(tmp_path / "demo"), "--no-progress", stdout=out)
    case = Issue.objects.get(ref=CASE_REF)
    assert case.status == "closed" and case.community_id == "330102011001"
    assert case.raised_by is not None and case.raised_by.phone == "13900000011"
    titles = set(case.sessions.values_list("activity__title", flat=True))
    assert len(titles) == 4 and any("法律" in t for t in titles) and any("规划" in t for t in titles)
    assert set(case.topics.values_list("course__title", flat=True)) >= {"小区改造中的物业法律", "物业管理与维修资金"}
    assert case.topics.filter(organization__ref="O0001").exists()
    ballot = Ballot.objects.get(issue=case)
    result = ballot_result(ballot)
    assert PaperTally.objects.filter(ballot=ballot).count() == 3
    assert Decision.objects.get(issue=case).published_at is not None
    assert "17" in Decision.objects.get(issue=case).result or result.participation >= 20
    assert SatisfactionRating.objects.filter(issue=case).count() == 2
    assert case.milestones.filter(done_on__isnull=False).count() == 3
    voting = Issue.objects.get(ref=VOTING_REF)
    now = timezone.now()
    assert Ballot.objects.filter(issue=voting, opens_at__lte=now, closes_at__gt=now).count() == 1, (
        voting.status,
        out.getvalue()[-800:],
        list(Ballot.objects.filter(issue=voting).values_list("opens_at", "closes_at")),
    )
    assert Issue.objects.get(ref=OPEN_REF).status == "open"
    counts = (Issue.objects.count(), Ballot.objects.count(), IssueAction.objects.count())
    summary = demo_deliberation_ensure()
    assert (summary.issues, summary.ballots) == (0, 0)
    assert (Issue.objects.count(), Ballot.objects.count(), IssueAction.objects.count()) == counts
