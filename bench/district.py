"""A synthetic district in the interchange format (METHOD.md "Interchange format"), for load tests of the import.

    python bench/district.py OUT_DIR --residents 1000000 --communities 300 --streets 15 --attendance 10000000 --seed 1
    DATABASE_URL=postgres://… python bench/district.py import OUT_DIR   # bulk-import it and print the rates

writes ``places.csv``, ``population.csv``, ``residents.csv``, ``organizations.csv``, ``memberships.csv``,
``providers.csv``, ``resources.csv``, ``activities.csv``, ``attendance.csv``, ``issues.csv``, ``issue_actions.csv``,
``needs.csv`` and ``survey_answers.csv`` for one district (浙江省 杭州市 “演示区” 330188000000) with ``--streets`` streets
and ``--communities`` communities, over the calendar year ``--year`` (default: last year).

What it looks like (the skew the import and the indicators have to cope with):

- communities differ in size (log-normal weights) and in their share of new citizens (10–50 %); ~4 % of residents have
  moved out (``left_on``);
- a heavy-tailed attendance propensity per resident: about 70 % never attend anything, a few attend a lot;
- events are mostly small (5–30 people) with ~3 % street lectures of 100–300; one attendance per (activity, resident),
  exactly ``--attendance`` rows in all; volunteer events carry hours;
- organisations of every kind in every community and some street-wide ones, with members drawn from their place;
  providers, resources (some used by activities, some matched to needs), issues with their participation ledger, and
  survey answers (12 items per respondent, ~3 % of residents).

The generator streams: every file is written row by row with ``csv.writer`` and only compact arrays are kept (per
community resident index ranges, a float32 propensity per resident, per community samplers of the residents who
attend), so memory does not grow with ``--attendance`` and grows by a few bytes per resident. The output is
deterministic: the same arguments give byte-identical files (numpy ``default_rng`` seeded per file from ``--seed``).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gongzhi.analytics.survey.instrument import ITEMS

PROVINCE = "330000000000"
CITY = "330100000000"
DISTRICT = "330188000000"
DISTRICT_PREFIX = DISTRICT[:6]
OFFSET = "+08:00"

KINDS_ORG = ("social_org", "learning_community", "volunteer_team", "studio")
STAGES = ("grassroots", "incubating", "professional", "self_governing")
PROVIDER_KINDS = ("company", "university", "bank", "hospital", "government", "ngo", "other")
RESOURCE_KINDS = ("venue", "teacher", "course", "fund", "volunteer_service", "other")
# activity kinds of small events and their shares
EVENT_KINDS = ("course_session", "learning_meeting", "deliberation_meeting", "volunteer_event", "org_event")
EVENT_SHARES = (0.40, 0.20, 0.10, 0.15, 0.15)
ORG_LABELS = {
    "social_org": "社会组织",
    "learning_community": "学习共同体",
    "volunteer_team": "志愿服务队",
    "studio": "工作室",
}
EVENT_LABELS = {
    "course_session": "课程",
    "learning_meeting": "学习会",
    "deliberation_meeting": "议事会",
    "volunteer_event": "志愿服务",
    "org_event": "组织活动",
}
ORG_KIND_FOR_EVENT = {
    "course_session": "learning_community",
    "learning_meeting": "learning_community",
    "deliberation_meeting": "social_org",
    "volunteer_event": "volunteer_team",
    "org_event": "studio",
}
LECTURE_SHARE = 0.03  # street lectures of 100–300 people
SMALL_SIZES = (5, 30)
LECTURE_SIZES = (100, 300)
NEVER_ATTEND = 0.70
SURVEY_SHARE = 0.03
FILES = (
    "places.csv",
    "population.csv",
    "residents.csv",
    "organizations.csv",
    "memberships.csv",
    "providers.csv",
    "resources.csv",
    "activities.csv",
    "attendance.csv",
    "issues.csv",
    "issue_actions.csv",
    "needs.csv",
    "survey_answers.csv",
)
STREET_NAMES = [
    "东湖",
    "西溪",
    "南星",
    "北山",
    "清波",
    "湖滨",
    "望江",
    "紫阳",
    "小营",
    "凯旋",
    "采荷",
    "闸弄口",
    "四季青",
    "彭埠",
    "笕桥",
    "丁兰",
    "九堡",
    "白杨",
    "下沙",
    "钱塘",
]
COMMUNITY_WORDS = [
    "和平",
    "幸福",
    "春晖",
    "文澜",
    "新华",
    "建国",
    "长庆",
    "朝晖",
    "翠苑",
    "桂花",
    "银杏",
    "梅园",
    "竹林",
    "松鹤",
    "枫林",
    "荷塘",
    "东坡",
    "景芳",
    "潮鸣",
    "流水",
]


@dataclass(frozen=True)
class Shape:
    residents: int
    communities: int
    streets: int
    attendance: int
    seed: int
    year: int


@dataclass
class District:
    """The compact state later files need (no per-row objects)."""

    shape: Shape
    street_codes: list[str]
    community_codes: list[str]
    community_street: np.ndarray  # community index → street index
    starts: np.ndarray  # community index → first resident index (length communities + 1)
    household_new: np.ndarray  # resident index → 1 for new_citizen (uint8)
    propensity: np.ndarray  # resident index → attendance weight, 0 = never (float32)
    org_refs_by_place: dict[tuple[str, str], list[str]]  # (place code, kind) → organisation refs
    resources: int


def resident_ref(index: int) -> str:
    return f"R{index + 1:07d}"


def _rng(shape: Shape, stage: int) -> np.random.Generator:
    return np.random.default_rng([shape.seed, stage])


def _day(year: int, day_of_year: int) -> datetime.date:
    return datetime.date(year, 1, 1) + datetime.timedelta(days=int(day_of_year))


def _moment(day: datetime.date, minutes: int) -> str:
    return f"{day.isoformat()}T{minutes // 60:02d}:{minutes % 60:02d}:00{OFFSET}"


class Out:
    """The CSV files of the folder, each opened when first written."""

    def __init__(self, folder: Path, progress: Callable[[str], None] | None = None):
        self.folder = folder
        self.counts: dict[str, int] = {}
        self.progress = progress
        folder.mkdir(parents=True, exist_ok=True)

    def table(self, name: str, header: Sequence[str]) -> Table:
        return Table(self, name, header)


class Table:
    def __init__(self, out: Out, name: str, header: Sequence[str]):
        self.out = out
        self.name = name
        self.fh: IO[str] = (out.folder / name).open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.fh, lineterminator="\n")
        self.writer.writerow(header)
        self.count = 0

    def row(self, cells: Sequence[Any]) -> None:
        self.writer.writerow(cells)
        self.count += 1

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self.writer.writerows(rows)
        self.count += len(rows)

    def close(self) -> None:
        self.fh.close()
        self.out.counts[self.name] = self.count
        if self.out.progress is not None:
            self.out.progress(f"{self.name}: {self.count} rows")

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- places, population, residents -----------------------------------------------------------------------------------


def _places(shape: Shape, out: Out) -> tuple[list[str], list[str], np.ndarray]:
    rng = _rng(shape, 1)
    # communities per street: uneven (Dirichlet shares), at least one each
    shares = rng.dirichlet(np.full(shape.streets, 4.0))
    per_street = np.maximum(1, np.floor(shares * (shape.communities - shape.streets)).astype(np.int64) + 1)
    while per_street.sum() < shape.communities:
        per_street[int(np.argmin(per_street))] += 1
    while per_street.sum() > shape.communities:
        per_street[int(np.argmax(per_street))] -= 1
    street_codes = [f"{DISTRICT_PREFIX}{s + 1:03d}000" for s in range(shape.streets)]
    community_codes: list[str] = []
    community_street: list[int] = []
    with out.table("places.csv", ("code", "name", "level", "parent_code")) as t:
        t.row((PROVINCE, "浙江省", "province", ""))
        t.row((CITY, "杭州市", "city", PROVINCE))
        t.row((DISTRICT, "演示区", "district", CITY))
        for s, street in enumerate(street_codes):
            street_name = STREET_NAMES[s % len(STREET_NAMES)] + ("" if s < len(STREET_NAMES) else str(s + 1))
            t.row((street, f"{street_name}街道", "street", DISTRICT))
            for c in range(int(per_street[s])):
                code = f"{street[:9]}{c + 1:03d}"
                word = COMMUNITY_WORDS[(s * 7 + c) % len(COMMUNITY_WORDS)]
                t.row((code, f"{street_name}{word}第{c + 1}社区", "community", street))
                community_codes.append(code)
                community_street.append(s)
    return street_codes, community_codes, np.asarray(community_street, dtype=np.int32)


def _residents(shape: Shape, out: Out, community_codes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = _rng(shape, 2)
    n_comm = len(community_codes)
    weights = rng.lognormal(0.0, 0.5, n_comm)
    sizes = np.floor(weights / weights.sum() * shape.residents).astype(np.int64)
    sizes[: shape.residents - int(sizes.sum())] += 1
    starts = np.zeros(n_comm + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    new_share = rng.uniform(0.10, 0.50, n_comm)
    household_new = np.zeros(shape.residents, dtype=np.uint8)
    # propensity: 70 % zero, the rest heavy-tailed (Pareto, capped)
    propensity = np.zeros(shape.residents, dtype=np.float32)
    year_start = datetime.date(shape.year, 1, 1)
    first_day = datetime.date(1985, 1, 1)
    span = (datetime.date(shape.year, 12, 31) - first_day).days
    with out.table(
        "residents.csv", ("ref", "community_code", "registered_on", "left_on", "gender", "birth_year", "household")
    ) as t:
        for c, code in enumerate(community_codes):
            lo, hi = int(starts[c]), int(starts[c + 1])
            n = hi - lo
            new = rng.random(n) < new_share[c]
            household_new[lo:hi] = new
            registered = rng.integers(0, span, n)
            # new citizens registered more recently
            registered = np.where(new, span - (rng.random(n) ** 2 * min(span, 3650)).astype(np.int64) - 1, registered)
            left = rng.random(n) < 0.04
            left_after = rng.integers(30, 3650, n)
            genders = rng.random(n)
            births = rng.integers(1935, min(shape.year, 2015), n)
            attends = rng.random(n) >= NEVER_ATTEND
            weight = np.minimum(rng.pareto(1.6, n) + 0.2, 40.0).astype(np.float32)
            rows = []
            for i in range(n):
                reg_day = first_day + datetime.timedelta(days=int(registered[i]))
                left_on = ""
                if left[i]:
                    left_day = reg_day + datetime.timedelta(days=int(left_after[i]))
                    if left_day <= datetime.date(shape.year, 12, 31):
                        left_on = left_day.isoformat()
                        if left_day < year_start:
                            attends[i] = False
                g = genders[i]
                gender = "F" if g < 0.49 else ("M" if g < 0.97 else "")
                rows.append(
                    (
                        resident_ref(lo + i),
                        code,
                        reg_day.isoformat(),
                        left_on,
                        gender,
                        int(births[i]),
                        "new_citizen" if new[i] else "local",
                    )
                )
            t.rows(rows)
            propensity[lo:hi] = np.where(attends, weight, 0.0)
    with out.table("population.csv", ("community_code", "year", "population")) as t:
        for c, code in enumerate(community_codes):
            n = int(sizes[c])
            for year in (shape.year - 1, shape.year):
                factor = 1.0 + float(rng.normal(0.05, 0.03)) - (0.01 if year < shape.year else 0.0)
                t.row((code, year, max(1, round(n * factor))))
    return starts, household_new, propensity


# --- organisations, providers, resources ----------------------------------------------------------------------------


def _organizations(shape: Shape, out: Out, d: District) -> None:
    rng = _rng(shape, 3)
    org_no = 0
    places: list[tuple[str, int]] = [(code, c) for c, code in enumerate(d.community_codes)]
    places += [(code, -1 - s) for s, code in enumerate(d.street_codes)]
    with (
        out.table(
            "organizations.csv", ("ref", "name", "place_code", "kind", "stage", "founded_on", "dissolved_on")
        ) as orgs,
        out.table("memberships.csv", ("organization_ref", "resident_ref", "role", "joined_on", "left_on")) as members,
    ):
        for code, c in places:
            if c >= 0:
                lo, hi = int(d.starts[c]), int(d.starts[c + 1])
                n_orgs = int(rng.integers(3, 9))
            else:
                s = -1 - c
                comms = np.flatnonzero(d.community_street == s)
                lo, hi = int(d.starts[comms[0]]), int(d.starts[comms[-1] + 1])
                n_orgs = int(rng.integers(1, 4))
            year_end = datetime.date(shape.year, 12, 31)
            kinds = [KINDS_ORG[k % 4] for k in range(n_orgs)]  # every kind present where there are 4+
            for kind in kinds:
                org_no += 1
                ref = f"O{org_no:05d}"
                d.org_refs_by_place.setdefault((code, kind), []).append(ref)
                founded = _day(shape.year - int(rng.integers(0, 12)), int(rng.integers(0, 365)))
                dissolved = ""
                if rng.random() < 0.05:
                    dissolved = (founded + datetime.timedelta(days=int(rng.integers(60, 1500)))).isoformat()
                stage = STAGES[int(rng.choice(4, p=(0.45, 0.3, 0.15, 0.10)))]
                orgs.row((ref, f"{ORG_LABELS[kind]}{org_no}号", code, kind, stage, founded.isoformat(), dissolved))
                # members: distinct residents of the place, leaning to those who attend
                size = min(hi - lo, int(rng.integers(5, 41)))
                pool = np.arange(lo, hi)
                weight = d.propensity[lo:hi].astype(np.float64) + 0.05
                chosen = rng.choice(pool, size=size, replace=False, p=weight / weight.sum())
                chosen.sort()
                leader = int(chosen[int(rng.integers(0, size))])
                rows = []
                for r in chosen:
                    joined = min(founded + datetime.timedelta(days=int(rng.integers(0, 400))), year_end)
                    left = ""
                    if rng.random() < 0.1:
                        left = (joined + datetime.timedelta(days=int(rng.integers(10, 700)))).isoformat()
                    role = "leader" if int(r) == leader else "member"
                    rows.append((ref, resident_ref(int(r)), role, joined.isoformat(), left))
                members.rows(rows)


def _providers(shape: Shape, out: Out, d: District) -> None:
    rng = _rng(shape, 4)
    n_providers = max(5, len(d.community_codes) // 2)
    n_resources = 0
    with (
        out.table("providers.csv", ("ref", "name", "kind")) as providers,
        out.table("resources.csv", ("ref", "provider_ref", "kind", "name")) as resources,
    ):
        for p in range(n_providers):
            ref = f"P{p + 1:04d}"
            kind = PROVIDER_KINDS[int(rng.integers(0, len(PROVIDER_KINDS)))]
            providers.row((ref, f"资源方{p + 1}（{kind}）", kind))
            for _r in range(int(rng.integers(1, 6))):
                n_resources += 1
                rkind = RESOURCE_KINDS[int(rng.integers(0, len(RESOURCE_KINDS)))]
                resources.row((f"S{n_resources:05d}", ref, rkind, f"资源 {n_resources}（{rkind}）"))
    d.resources = n_resources


# --- activities and attendance -------------------------------------------------------------------------------------


class Sampler:
    """Weighted draws of distinct residents from a range of residents (those with propensity > 0)."""

    def __init__(self, members: np.ndarray, weights: np.ndarray):
        self.members = members
        self.cumulative = np.cumsum(weights.astype(np.float64))

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        size = min(size, len(self.members))
        if size == 0:
            return self.members[:0]
        total = self.cumulative[-1]
        chosen = np.unique(self.members[np.searchsorted(self.cumulative, rng.random(size) * total, side="right")])
        for _attempt in range(8):  # top up after duplicates
            if len(chosen) >= size:
                break
            more = self.members[np.searchsorted(self.cumulative, rng.random(2 * size) * total, side="right")]
            chosen = np.unique(np.concatenate((chosen, more)))
        if len(chosen) > size:
            chosen = np.sort(rng.choice(chosen, size=size, replace=False))
        return chosen


def _sampler(d: District, lo: int, hi: int) -> Sampler:
    weights = d.propensity[lo:hi]
    members = np.flatnonzero(weights > 0) + lo
    return Sampler(members, weights[members - lo])


def _activities(shape: Shape, out: Out, d: District) -> None:
    rng = _rng(shape, 5)
    n_comm = len(d.community_codes)
    comm_weights = np.diff(d.starts).astype(np.float64)
    comm_weights /= comm_weights.sum()
    samplers = [_sampler(d, int(d.starts[c]), int(d.starts[c + 1])) for c in range(n_comm)]
    street_samplers: dict[int, Sampler] = {}
    for s in range(len(d.street_codes)):
        comms = np.flatnonzero(d.community_street == s)
        street_samplers[s] = _sampler(d, int(d.starts[comms[0]]), int(d.starts[comms[-1] + 1]))
    street_weights = np.bincount(d.community_street, weights=np.diff(d.starts), minlength=len(d.street_codes))
    street_weights = street_weights / street_weights.sum()
    kinds_cum = np.cumsum(EVENT_SHARES)
    remaining = shape.attendance
    number = 0
    year_days = (datetime.date(shape.year + 1, 1, 1) - datetime.date(shape.year, 1, 1)).days
    with (
        out.table(
            "activities.csv", ("ref", "place_code", "kind", "title", "starts_at", "organization_ref", "resource_refs")
        ) as acts,
        out.table("attendance.csv", ("activity_ref", "resident_ref", "status", "hours")) as att,
    ):
        # activities in batches: draw their shapes with numpy, then their attendance one by one
        while remaining > 0:
            batch = 512
            lecture = rng.random(batch) < LECTURE_SHARE
            sizes = np.where(
                lecture,
                rng.integers(LECTURE_SIZES[0], LECTURE_SIZES[1] + 1, batch),
                np.minimum(rng.geometric(1 / 11, batch) + SMALL_SIZES[0] - 1, SMALL_SIZES[1]),
            )
            kinds = np.searchsorted(kinds_cum, rng.random(batch) * kinds_cum[-1], side="right")
            comms = rng.choice(n_comm, size=batch, p=comm_weights)
            streets = rng.choice(len(d.street_codes), size=batch, p=street_weights)
            days = rng.integers(0, year_days, batch)
            minutes = rng.integers(8 * 4, 20 * 4, batch) * 15
            with_org = rng.random(batch)
            with_resource = rng.random(batch)
            for i in range(batch):
                if remaining <= 0:
                    break
                number += 1
                ref = f"A{number:07d}"
                size = int(sizes[i])
                if lecture[i]:
                    s = int(streets[i])
                    place = d.street_codes[s]
                    kind = "course_session"
                    sampler = street_samplers[s]
                    title = f"街道大讲堂 第{number}期"
                else:
                    c = int(comms[i])
                    place = d.community_codes[c]
                    kind = EVENT_KINDS[int(kinds[i])]
                    sampler = samplers[c]
                    title = f"{EVENT_LABELS[kind]} 第{number}场"
                org = ""
                if with_org[i] < 0.6:
                    candidates = d.org_refs_by_place.get((place, ORG_KIND_FOR_EVENT[kind]))
                    if candidates:
                        org = candidates[int(rng.integers(0, len(candidates)))]
                resource_refs = ""
                if with_resource[i] < 0.2 and d.resources:
                    picks = sorted({int(x) for x in rng.integers(1, d.resources + 1, int(rng.integers(1, 3)))})
                    resource_refs = ";".join(f"S{p:05d}" for p in picks)
                attendees = sampler.draw(rng, min(size, remaining))
                if len(attendees) == 0:
                    number -= 1
                    continue
                day = _day(shape.year, int(days[i]))
                acts.row((ref, place, kind, title, _moment(day, int(minutes[i])), org, resource_refs))
                u = rng.random(len(attendees))
                volunteer = kind == "volunteer_event"
                hours = rng.integers(2, 9, len(attendees)) if volunteer else None
                rows = []
                for j, r in enumerate(attendees):
                    status = "present" if u[j] < 0.92 else ("absent" if u[j] < 0.97 else "excused")
                    h = ""
                    if hours is not None and status == "present":
                        h = str(hours[j] // 2) if hours[j] % 2 == 0 else f"{hours[j] // 2}.5"
                    rows.append((ref, resident_ref(int(r)), status, h))
                att.rows(rows)
                remaining -= len(rows)


# --- deliberation, needs, survey -----------------------------------------------------------------------------------

ISSUE_STATUSES = ("open", "discussing", "decided", "implementing", "closed", "rejected")
ISSUE_SHARES = (0.10, 0.15, 0.10, 0.10, 0.45, 0.10)
STEPS = ("discussed_on", "decided_on", "implemented_on", "closed_on")
STEPS_REACHED = {"open": 0, "discussing": 1, "decided": 2, "implementing": 3, "closed": 4, "rejected": 1}


def _issues(shape: Shape, out: Out, d: District) -> None:
    rng = _rng(shape, 6)
    number = 0
    with (
        out.table(
            "issues.csv",
            (
                "ref",
                "community_code",
                "raised_by",
                "raised_on",
                "status",
                "discussed_on",
                "decided_on",
                "implemented_on",
                "closed_on",
            ),
        ) as issues,
        out.table("issue_actions.csv", ("issue_ref", "resident_ref", "action", "at")) as actions,
    ):
        for c, code in enumerate(d.community_codes):
            lo, hi = int(d.starts[c]), int(d.starts[c + 1])
            sampler = _sampler(d, lo, hi)
            n_issues = max(1, (hi - lo) // 150)
            for _k in range(n_issues):
                number += 1
                ref = f"I{number:06d}"
                status = ISSUE_STATUSES[int(rng.choice(6, p=ISSUE_SHARES))]
                raised = _day(shape.year, int(rng.integers(0, 200)))
                raiser = sampler.draw(rng, 1) if rng.random() < 0.7 else np.empty(0, dtype=np.int64)
                steps = []
                day = raised
                for _s in range(STEPS_REACHED[status]):
                    day = day + datetime.timedelta(days=int(rng.integers(3, 40)))
                    steps.append(day.isoformat())
                steps += [""] * (4 - len(steps))
                raised_by = resident_ref(int(raiser[0])) if len(raiser) else ""
                issues.row((ref, code, raised_by, raised.isoformat(), status, *steps))
                rows = []
                if raised_by:
                    rows.append((ref, raised_by, "raise", _moment(raised, 9 * 60)))
                people = sampler.draw(rng, int(rng.integers(3, 40)))
                for j, r in enumerate(people):
                    action = ("comment", "propose", "vote")[int(rng.integers(0, 3))]
                    at = raised + datetime.timedelta(days=int(rng.integers(0, 60)))
                    rows.append((ref, resident_ref(int(r)), action, _moment(at, 10 * 60 + j)))
                actions.rows(rows)


def _needs(shape: Shape, out: Out, d: District) -> None:
    rng = _rng(shape, 7)
    number = 0
    with out.table(
        "needs.csv",
        ("ref", "community_code", "direction", "resource_kind", "raised_on", "status", "fulfilled_on", "resource_ref"),
    ) as needs:
        for code in d.community_codes:
            for _k in range(int(rng.integers(3, 15))):
                number += 1
                status = ("open", "matched", "fulfilled", "cancelled")[int(rng.choice(4, p=(0.3, 0.2, 0.4, 0.1)))]
                raised = _day(shape.year, int(rng.integers(0, 300)))
                fulfilled = ""
                resource = ""
                if status in ("matched", "fulfilled") and d.resources:
                    resource = f"S{int(rng.integers(1, d.resources + 1)):05d}"
                if status == "fulfilled":
                    fulfilled = (raised + datetime.timedelta(days=int(rng.integers(5, 60)))).isoformat()
                needs.row(
                    (
                        f"N{number:05d}",
                        code,
                        ("survey", "report")[int(rng.integers(0, 2))],
                        RESOURCE_KINDS[int(rng.integers(0, len(RESOURCE_KINDS)))],
                        raised.isoformat(),
                        status,
                        fulfilled,
                        resource,
                    )
                )


def _survey(shape: Shape, out: Out, d: District) -> None:
    rng = _rng(shape, 8)
    with out.table("survey_answers.csv", ("resident_ref", "community_code", "answered_on", "item", "value")) as t:
        for c, code in enumerate(d.community_codes):
            lo, hi = int(d.starts[c]), int(d.starts[c + 1])
            n = max(1, round((hi - lo) * SURVEY_SHARE))
            respondents = np.sort(rng.choice(np.arange(lo, hi), size=min(n, hi - lo), replace=False))
            level = rng.normal(3.3, 0.4)  # the community's mood
            base = np.clip(rng.normal(level, 0.7, len(respondents)), 1, 5)
            noise = rng.normal(0, 0.6, (len(respondents), len(ITEMS)))
            days = rng.integers(250, 300, len(respondents))
            values = np.clip(np.rint(base[:, None] + noise), 1, 5).astype(np.int64)
            rows: list[tuple[str, str, str, str, int]] = []
            for k, r in enumerate(respondents):
                day = _day(shape.year, int(days[k])).isoformat()
                ref = resident_ref(int(r))
                rows.extend((ref, code, day, item, int(values[k, j])) for j, item in enumerate(ITEMS))
            t.rows(rows)


# --- driver ----------------------------------------------------------------------------------------------------------


def generate(folder: str | Path, shape: Shape, *, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write the district's files into ``folder``; returns the data rows per file."""
    if shape.communities < shape.streets or shape.streets < 1 or shape.streets > 999 or shape.communities > 999 * 999:
        raise ValueError("need 1 ≤ streets ≤ communities (≤ 999 per street)")
    if shape.residents < shape.communities:
        raise ValueError("need at least one resident per community")
    out = Out(Path(folder), progress)
    street_codes, community_codes, community_street = _places(shape, out)
    starts, household_new, propensity = _residents(shape, out, community_codes)
    district = District(
        shape, street_codes, community_codes, community_street, starts, household_new, propensity, {}, 0
    )
    _organizations(shape, out, district)
    _providers(shape, out, district)
    _activities(shape, out, district)
    _issues(shape, out, district)
    _needs(shape, out, district)
    _survey(shape, out, district)
    return out.counts


def iter_files(folder: str | Path) -> Iterator[Path]:
    for name in FILES:
        path = Path(folder) / name
        if path.exists():
            yield path


def import_folder(folder: str, *, progress: bool = True) -> int:
    """``python bench/district.py import OUT_DIR``: bulk-import a generated folder into ``DATABASE_URL`` and report.

    Runs ``gongzhi.interchange.bulk.bulk_import`` (what ``import_data --bulk`` runs) with the project's settings
    (``DJANGO_SETTINGS_MODULE``, default ``config.settings.local`` with DEBUG off), prints the rows per file, the seconds
    of every step and the rates: all rows per second, and attendance rows per second over the attendance steps.
    """
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DEBUG", "0")
    import django

    django.setup()
    from gongzhi.interchange.bulk import BulkImportFailed, bulk_import
    from gongzhi.interchange.progress import tqdm_bars

    timings: dict[str, float] = {}
    began = time.perf_counter()
    try:
        report = bulk_import(folder, progress=tqdm_bars() if progress else None, timings=timings)
    except BulkImportFailed as exc:
        for error in exc.errors[:50]:
            print(error.english(), file=sys.stderr)
        print(f"import failed: {exc.total} errors, nothing written", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - began
    rows = 0
    for f in report.files:
        c = f.counts
        rows += c.total
        print(f"{f.name:20} created {c.created:>10}  updated {c.updated:>8}  unchanged {c.unchanged:>10}")
    for step, took in timings.items():
        if took >= 0.05:
            print(f"  {step:40} {took:8.1f} s")
    attendance = next((f.counts.total for f in report.files if f.name == "attendance.csv"), 0)
    att_seconds = sum(t for step, t in timings.items() if step.endswith(" attendance.csv"))
    print(f"{rows} rows in {seconds:.1f} s: {rows / seconds:,.0f} rows/s overall")
    if attendance and att_seconds:
        print(f"attendance: {attendance} rows in {att_seconds:.1f} s: {attendance / att_seconds:,.0f} rows/s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["import"]:
        parser = argparse.ArgumentParser(prog="district.py import")
        parser.add_argument("folder")
        parser.add_argument("--no-progress", action="store_true")
        options = parser.parse_args(args_list[1:])
        return import_folder(options.folder, progress=not options.no_progress)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("out_dir")
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--communities", type=int, default=300)
    parser.add_argument("--streets", type=int, default=15)
    parser.add_argument("--attendance", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=datetime.date.today().year - 1)
    args = parser.parse_args(args_list)
    shape = Shape(args.residents, args.communities, args.streets, args.attendance, args.seed, args.year)
    began = time.monotonic()
    counts = generate(
        args.out_dir,
        shape,
        progress=lambda line: print(f"[{time.monotonic() - began:7.1f}s] {line}", file=sys.stderr, flush=True),
    )
    total = sum(counts.values())
    print(f"{total} rows in {len(counts)} files, {time.monotonic() - began:.1f} s → {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
