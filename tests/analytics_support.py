"""A measured world for the 析 measure tests: ``measured_world(tree)``.

It writes a small but varied two-year (2024, 2025) interchange folder for the ``tree`` fixture's three communities
(comm_a1, comm_a2 under street_a; comm_b1 under street_b) — residents (locals and new citizens, one who moved away),
population (given for comm_a1 and comm_a2, counted from residents for comm_b1), organisations of every kind at
several stages (one of the street), memberships, providers and resources, activities of every kind with attendance
(volunteer hours, a street's centralised course attended from two communities),
issues through their stages with actions, needs, and survey answers when the survey's file is registered — imports it
with the real importer, then runs ``compute_now`` for 2024 and 2025 over every community, so snapshots exist for the
communities, the streets, the district and above.

Keep the signature stable: other helpers' tests use it.
"""

from __future__ import annotations

import csv
import datetime
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gongzhi.analytics.models import Computation
from gongzhi.core.interchange import spec_for

PERIODS = ("2024", "2025")


@dataclass
class World:
    tree: Any
    periods: tuple[str, ...]
    communities: list[Any]  # the three community Places
    streets: list[Any]
    district: Any
    computations: dict[str, Computation] = field(default_factory=dict)
    folder: Path | None = None

    @property
    def community_codes(self) -> list[str]:
        return [c.code for c in self.communities]


def _write(folder: Path, name: str, header: list[str], rows: list[list[Any]]) -> None:
    with (folder / name).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)


def _at(day: datetime.date, hour: int = 19) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00+08:00"


def write_world_files(folder: Path, tree: Any) -> None:
    """The interchange files of the measured world (no places.csv: the tree fixture holds the places)."""
    a1, a2, b1, street_a = tree.comm_a1.code, tree.comm_a2.code, tree.comm_b1.code, tree.street_a.code
    communities = {a1: 12, a2: 10, b1: 8}

    _write(
        folder,
        "population.csv",
        ["community_code", "year", "population"],
        [[a1, 2024, 1000], [a1, 2025, 1100], [a2, 2024, 800], [a2, 2025, 820]],
    )

    residents: dict[str, list[str]] = {}
    resident_rows = []
    for code, n in communities.items():
        residents[code] = []
        for i in range(n):
            ref = f"r-{code[-4:]}-{i:02d}"
            residents[code].append(ref)
            household = "new_citizen" if i % 3 == 2 else "local"
            left = "2024-06-30" if (code == b1 and i == n - 1) else None
            resident_rows.append([ref, code, "2020-01-01", left, "F" if i % 2 else "M", 1950 + 3 * i, household])
    _write(
        folder,
        "residents.csv",
        ["ref", "community_code", "registered_on", "left_on", "gender", "birth_year", "household"],
        resident_rows,
    )

    orgs = [
        ["o-a1-lc", "乐学共同体", a1, "learning_community", "professional", "2022-01-01", None],
        ["o-a1-vt", "邻里志愿队", a1, "volunteer_team", "grassroots", "2023-05-01", None],
        ["o-a2-so", "银龄互助社", a2, "social_org", "incubating", "2021-03-01", None],
        ["o-a2-lc", "书香共同体", a2, "learning_community", "self_governing", "2020-01-01", "2024-10-01"],
        ["o-b1-st", "手作工作室", b1, "studio", "self_governing", "2025-03-01", None],
        ["o-sa-vt", "街道志愿服务队", street_a, "volunteer_team", "professional", "2019-01-01", None],
    ]
    _write(
        folder,
        "organizations.csv",
        ["ref", "name", "place_code", "kind", "stage", "founded_on", "dissolved_on"],
        orgs,
    )
    memberships = []
    for i, ref in enumerate(residents[a1][:6]):
        memberships.append(["o-a1-lc", ref, "leader" if i == 0 else "member", "2023-01-01", None])
    for ref in residents[a1][4:8]:
        memberships.append(["o-a1-vt", ref, "member", "2024-03-01", "2025-02-01" if ref.endswith("07") else None])
    for ref in residents[a2][:4]:
        memberships.append(["o-a2-so", ref, "member", "2022-01-01", None])
    for ref in residents[b1][:3]:
        memberships.append(["o-b1-st", ref, "member", "2025-03-01", None])
    for ref in [*residents[a2][6:8], *residents[b1][3:5]]:
        memberships.append(["o-sa-vt", ref, "member", "2024-01-01", None])
    _write(folder, "memberships.csv", ["organization_ref", "resident_ref", "role", "joined_on", "left_on"], memberships)

    _write(
        folder,
        "providers.csv",
        ["ref", "name", "kind"],
        [["p-bank", "城东银行", "bank"], ["p-univ", "健康学院", "university"], ["p-ngo", "公益基金会", "ngo"]],
    )
    _write(
        folder,
        "resources.csv",
        ["ref", "provider_ref", "kind", "name"],
        [
            ["res-venue", "p-univ", "venue", "报告厅"],
            ["res-teacher", "p-univ", "teacher", "健康讲师"],
            ["res-course", "p-bank", "course", "金融知识课"],
            ["res-fund", "p-ngo", "fund", "社区微基金"],
        ],
    )

    activities: list[list[Any]] = []
    attendance: list[list[Any]] = []

    def activity(ref: str, place: str, kind: str, day: datetime.date, org: str | None, res: str, who: list[str]):
        activities.append([ref, place, kind, f"{kind} {ref}", _at(day), org, res])
        for j, r in enumerate(who):
            hours = "2" if kind == "volunteer_event" and j % 2 == 0 else None
            attendance.append([ref, r, "present", hours])

    for year in (2024, 2025):
        y = year - 2024
        for code, people in residents.items():
            tag = f"{code[-4:]}-{year}"
            n = len(people)
            learners = people[: n - 3 + y]  # more learners in 2025
            for k in range(4):
                day = datetime.date(year, 2 + 2 * k, 10 + k)
                who = learners[k % 2 :: 1 + k % 2]
                res = "res-teacher" if (k == 0 and code != b1) else ("res-course;res-venue" if k == 2 else "")
                activity(f"cs-{tag}-{k}", code, "course_session", day, None, res, who)
            org = {a1: "o-a1-lc", a2: "o-a2-so", b1: "o-b1-st" if year == 2025 else None}[code]
            activity(f"lm-{tag}", code, "learning_meeting", datetime.date(year, 5, 20), org, "", people[:5])
            activity(f"dm-{tag}", code, "deliberation_meeting", datetime.date(year, 6, 15), None, "", people[2 : 6 + y])
            team = "o-a1-vt" if code == a1 else "o-sa-vt"
            activity(f"ve-{tag}", code, "volunteer_event", datetime.date(year, 9, 9), team, "res-fund", people[4:9])
            if code != b1 or year == 2025:
                activity(f"oe-{tag}", code, "org_event", datetime.date(year, 11, 3), org, "", people[::3])
        # A street's centralised course, attended from comm_a1 and comm_a2.
        both = residents[a1][5:9] + residents[a2][3:7]
        activity(f"cs-street-{year}", street_a, "course_session", datetime.date(year, 7, 1), None, "res-venue", both)
    # An absent and an excused attendance (they never count).
    attendance.append([f"cs-{a1[-4:]}-2025-0", residents[a1][-1], "absent", None])
    attendance.append([f"cs-{a2[-4:]}-2025-1", residents[a2][-1], "excused", None])
    _write(
        folder,
        "activities.csv",
        ["ref", "place_code", "kind", "title", "starts_at", "organization_ref", "resource_refs"],
        activities,
    )
    _write(folder, "attendance.csv", ["activity_ref", "resident_ref", "status", "hours"], attendance)

    issues = [
        [
            "i-a1-1",
            a1,
            residents[a1][0],
            "2024-02-01",
            "closed",
            "2024-02-10",
            "2024-03-01",
            "2024-04-01",
            "2024-06-01",
        ],
        ["i-a1-2", a1, residents[a1][1], "2024-05-01", "closed", None, "2024-06-01", None, "2024-08-01"],
        [
            "i-a1-3",
            a1,
            residents[a1][2],
            "2025-01-15",
            "closed",
            "2025-02-01",
            "2025-03-01",
            "2025-04-01",
            "2025-09-01",
        ],
        ["i-a2-1", a2, residents[a2][0], "2024-09-01", "rejected", None, None, None, None],
        [
            "i-a2-2",
            a2,
            residents[a2][1],
            "2024-11-01",
            "closed",
            "2024-12-01",
            "2025-01-10",
            "2025-02-01",
            "2025-03-01",
        ],
        ["i-b1-1", b1, residents[b1][0], "2025-04-01", "implementing", "2025-04-10", "2025-05-01", "2025-06-01", None],
    ]
    _write(
        folder,
        "issues.csv",
        [
            "ref",
            "community_code",
            "raised_by",
            "raised_on",
            "status",
            "discussed_on",
            "decided_on",
            "implemented_on",
            "closed_on",
        ],
        issues,
    )
    actions = []
    for ref, code, raiser, raised, *_rest in issues:
        actions.append([ref, raiser, "raise", f"{raised}T09:00:00+08:00"])
        people = residents[code]
        for j, r in enumerate(people[3:7]):
            actions.append([ref, r, "comment" if j % 2 else "vote", f"{raised[:4]}-0{4 + j}-02T20:00:00+08:00"])
    _write(folder, "issue_actions.csv", ["issue_ref", "resident_ref", "action", "at"], actions)

    needs = [
        ["n-a1-1", a1, "report", "teacher", "2024-03-01", "fulfilled", "2024-04-01", "res-teacher"],
        ["n-a1-2", a1, "survey", "venue", "2024-06-01", "open", None, None],
        ["n-a1-3", a1, "survey", "fund", "2025-02-01", "fulfilled", "2025-03-15", "res-fund"],
        ["n-a2-1", a2, "report", "course", "2024-05-01", "matched", None, "res-course"],
        ["n-a2-2", a2, "survey", "venue", "2025-05-01", "fulfilled", "2025-06-01", "res-venue"],
        ["n-b1-1", b1, "report", "volunteer_service", "2025-07-01", "cancelled", None, None],
    ]
    _write(
        folder,
        "needs.csv",
        ["ref", "community_code", "direction", "resource_kind", "raised_on", "status", "fulfilled_on", "resource_ref"],
        needs,
    )

    if spec_for("survey_answers.csv") is not None:
        from gongzhi.analytics.survey.instrument import ITEMS

        answers = []
        for code, people in residents.items():
            for i, ref in enumerate(people[:6]):
                for k, item in enumerate(ITEMS):
                    value = 1 + (i + k + len(code)) % 5
                    answers.append([ref, code, "2025-06-01", item, value])
        _write(
            folder, "survey_answers.csv", ["resident_ref", "community_code", "answered_on", "item", "value"], answers
        )


def measured_world(tree: Any, *, periods: tuple[str, ...] = PERIODS) -> World:
    """Import the measured world's files and compute ``periods`` over every community (see the module docstring)."""
    from gongzhi.analytics.services import compute_now
    from gongzhi.interchange.importer import import_data

    folder = Path(tempfile.mkdtemp(prefix="gz-measured-world-"))
    write_world_files(folder, tree)
    import_data(folder)
    world = World(
        tree=tree,
        periods=periods,
        communities=[tree.comm_a1, tree.comm_a2, tree.comm_b1],
        streets=[tree.street_a, tree.street_b],
        district=tree.district,
        folder=folder,
    )
    for period in periods:
        computation = compute_now(period=period, scope_code="", trigger="test")
        if computation.status != "done":
            raise AssertionError(f"measured_world: computing {period} failed: {computation.message}")
        world.computations[period] = computation
    return world
