"""The demo over two years: 2024 and 2025 in every year-bound file, communities that differ as their profiles say
(``demo.PROFILES``), growth in most and decline in one, a survey that hangs together — checked on the generated rows
with simple proxies of the METHOD.md indicators, and once with the engine on the imported demo."""

from __future__ import annotations

import datetime
import statistics
from collections import Counter, defaultdict
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from gongzhi.analytics.models import DiagnosisSnapshot, IndicatorSnapshot
from gongzhi.analytics.services import compute_now
from gongzhi.analytics.survey.instrument import ITEMS, SCALES
from gongzhi.interchange.demo import (
    DEFAULT_RESIDENTS,
    DEFAULT_SEED,
    PROFILES,
    TODAY,
    YEARS,
    build_demo,
    catalogue_title,
    generate_demo,
)
from gongzhi.interchange.importer import import_data

EDUCATION = ("course_session", "learning_meeting")


class Demo:
    """The default demo's rows, with what the proxies need."""

    def __init__(self, rows: dict[str, list[list[str]]]) -> None:
        self.rows = rows
        self.code = {p[1]: p[0] for p in rows["places.csv"] if p[2] == "community"}
        self.street = {p[0]: p[3] for p in rows["places.csv"] if p[2] == "community"}
        self.population = {(c, int(y)): int(n) for c, y, n in rows["population.csv"]}
        self.residents = {r[0]: (r[1], r[6], int(r[5])) for r in rows["residents.csv"]}
        self.activities: dict[str, dict[str, Any]] = {
            a[0]: {"place": a[1], "kind": a[2], "title": a[3], "year": int(a[4][:4]), "org": a[5], "uses": a[6]}
            for a in rows["activities.csv"]
        }
        self.present: dict[str, list[str]] = defaultdict(list)
        for activity, resident, status, _hours in rows["attendance.csv"]:
            if status == "present":
                self.present[activity].append(resident)

    def held(self, name: str, year: int) -> list[dict[str, Any]]:
        code = self.code[name]
        return [a for a in self.activities.values() if a["place"] == code and a["year"] == year]

    def reach(self, name: str, year: int) -> float:
        """I1: residents of the community present at an education activity in the year ÷ its population."""
        code = self.code[name]
        came = {
            r
            for ref, a in self.activities.items()
            if a["kind"] in EDUCATION and a["year"] == year
            for r in self.present[ref]
            if self.residents[r][0] == code
        }
        return len(came) / self.population[(code, year)]

    def resident_led(self, name: str, year: int) -> float:
        """II5: the share of the activities held in the community organised by an organisation."""
        held = self.held(name, year)
        return sum(1 for a in held if a["org"]) / len(held)

    def active_organisations(self, name: str, year: int) -> int:
        """Organisations of the community that organised an activity in the year (II1's numerator)."""
        place = {o[0]: o[2] for o in self.rows["organizations.csv"]}
        return len({a["org"] for a in self.activities.values() if a["org"] and a["year"] == year
                    and place[a["org"]] == self.code[name]})  # fmt: skip

    def coproduction(self, name: str, year: int) -> float:
        """III4: the share of the activities held in the community that used an outside resource."""
        held = self.held(name, year)
        return sum(1 for a in held if a["uses"]) / len(held)

    def cross_share(self, name: str, year: int) -> float:
        """The share of co-participation ties (two residents of the community at one gathering of at most 50) that
        join a local and a new citizen: (E-I index + 1) / 2."""
        code = self.code[name]
        ties: dict[tuple[str, str], bool] = {}
        for ref, a in self.activities.items():
            people = self.present[ref]
            if a["year"] != year or len(people) > 50:
                continue
            mine = sorted(r for r in people if self.residents[r][0] == code)
            for x, y in combinations(mine, 2):
                ties[(x, y)] = self.residents[x][1] != self.residents[y][1]
        return sum(ties.values()) / len(ties)

    def new_citizen_share(self, name: str) -> float:
        mine = [r for r in self.residents.values() if r[0] == self.code[name]]
        return sum(1 for r in mine if r[1] == "new_citizen") / len(mine)


@cache
def demo() -> Demo:
    _world, tables = build_demo(seed=DEFAULT_SEED, residents=DEFAULT_RESIDENTS)
    return Demo({t.name: [list(r) for r in t.rows] for t in tables})


def test_every_year_bound_file_covers_2024_and_2025_and_nothing_later() -> None:
    rows = demo().rows
    dated = {
        "activities.csv": [a[4][:10] for a in rows["activities.csv"]],
        "issues.csv": [i[3] for i in rows["issues.csv"]],
        "issue_actions.csv": [x[3][:10] for x in rows["issue_actions.csv"]],
        "needs.csv": [n[4] for n in rows["needs.csv"]],
        "survey_answers.csv": [s[2] for s in rows["survey_answers.csv"]],
    }
    for name, days in dated.items():
        years = Counter(int(d[:4]) for d in days)
        assert set(years) == set(YEARS), name
        assert min(years.values()) > 0.25 * len(days), (name, years)
        assert max(days) <= TODAY.isoformat(), name
    # A course runs once a year: 2024's editions carry their year, so each edition is a course of its own.
    sessions = [a for a in demo().activities.values() if a["kind"] == "course_session"]
    assert all(a["title"].endswith("（2024年）") == (a["year"] == 2024) for a in sessions)
    assert {catalogue_title(a["title"]) for a in sessions if a["year"] == 2024} < {
        catalogue_title(a["title"]) for a in sessions
    }
    # Every community has a profile; the year-bound attendance follows the activities of both years.
    assert set(demo().code) == set(PROFILES)
    assert {demo().activities[a]["year"] for a in demo().present} == set(YEARS)


def test_jielian_learns_much_but_has_few_organisations() -> None:
    d = demo()
    others = [name for name in d.code if name != "洁莲社区"]
    reach = {name: d.reach(name, 2025) for name in d.code}
    assert reach["洁莲社区"] >= statistics.median(reach.values()) and reach["洁莲社区"] > 0.35
    led = {name: d.resident_led(name, 2025) for name in d.code}
    assert led["洁莲社区"] < 0.4 and all(led[name] > 0.55 for name in others), led
    active = {name: d.active_organisations(name, 2025) for name in d.code}
    assert active["洁莲社区"] == 1 and all(active[name] >= 2 for name in others), active


def test_furong_is_rich_in_outside_resources() -> None:
    d = demo()
    share = {name: d.coproduction(name, 2025) for name in d.code}
    assert max(share, key=lambda name: share[name]) == "芙蓉社区" and share["芙蓉社区"] > 0.5, share
    assert share["双桥社区"] < 0.05
    kinds = {r[0]: r[2] for r in d.rows["resources.csv"]}
    used = {kinds[ref] for a in d.held("芙蓉社区", 2025) for ref in a["uses"].split(";") if ref}
    assert len(used) >= 5
    needs = [n for n in d.rows["needs.csv"] if n[1] == d.code["芙蓉社区"] and n[4].startswith("2025")]
    assert sum(1 for n in needs if n[5] == "fulfilled") / len(needs) > 0.5


def test_locals_and_new_citizens_rarely_meet_in_keyun() -> None:
    d = demo()
    jiubao = [name for name in d.code if d.street[d.code[name]] == d.street[d.code["客运中心社区"]]]
    cross = {name: d.cross_share(name, 2025) for name in jiubao}
    q = d.new_citizen_share("客运中心社区")
    assert q > 0.5 and 2 * q * (1 - q) > 0.4  # were gatherings mixed at random, about half the ties would cross
    assert cross["客运中心社区"] < 0.15 and min(cross, key=lambda name: cross[name]) == "客运中心社区", cross


def test_most_communities_grow_and_one_declines() -> None:
    d = demo()
    grew = [name for name in d.code if d.reach(name, 2025) > d.reach(name, 2024)]
    assert "观音塘社区" not in grew and len(grew) >= 6, grew
    assert d.reach("观音塘社区", 2025) < 0.8 * d.reach("观音塘社区", 2024)
    assert len(d.held("观音塘社区", 2025)) < 0.7 * len(d.held("观音塘社区", 2024))
    led = {year: sum(1 for a in d.held("观音塘社区", year) if a["org"]) for year in YEARS}
    assert led[2025] < 0.6 * led[2024]
    folded = [o for o in d.rows["organizations.csv"] if o[2] == d.code["观音塘社区"] and o[6].startswith("2025")]
    assert len(folded) == 1 and folded[0][3] == "learning_community"


def _alpha(answers: list[dict[str, int]], items: tuple[str, ...]) -> float:
    k = len(items)
    parts = sum(statistics.pvariance([a[i] for a in answers]) for i in items)
    total = statistics.pvariance([sum(a[i] for i in items) for a in answers])
    return k / (k - 1) * (1 - parts / total)


def test_survey_answers_hang_together_and_follow_participation() -> None:
    d = demo()
    answers: dict[tuple[str, str, int], dict[str, int]] = defaultdict(dict)
    for resident, community, day, item, value in d.rows["survey_answers.csv"]:
        assert d.residents[resident][0] == community and 1 <= int(value) <= 5
        assert item not in answers[(resident, community, int(day[:4]))]
        answers[(resident, community, int(day[:4]))][item] = int(value)
    assert all(sorted(a) == sorted(ITEMS) for a in answers.values())
    adults = {
        year: Counter(c for c, _h, born in d.residents.values() if year - born >= 16) for year in YEARS
    }  # fmt: skip
    asked = {year: Counter(c for (_r, c, y) in answers if y == year) for year in YEARS}
    for code in d.code.values():
        assert 0.2 <= asked[2025][code] / adults[2025][code] <= 0.45
    assert sum(asked[2024].values()) < 0.75 * sum(asked[2025].values())
    share_2025 = sum(asked[2025].values()) / sum(adults[2025].values())
    assert 0.25 <= share_2025 <= 0.4
    for year in YEARS:
        of_year = [a for (_r, _c, y), a in answers.items() if y == year]
        for scale, items in SCALES.items():
            assert 0.7 <= _alpha(of_year, items) <= 0.85, (year, scale)
    # People who take part trust more; the community's profile shows in its means.
    came: Counter[str] = Counter()
    for ref, people in d.present.items():
        if d.activities[ref]["year"] == 2025:
            came.update(people)
    trust = defaultdict(list)
    network = defaultdict(list)
    for (resident, community, year), a in answers.items():
        if year == 2025:
            trust[came[resident] >= 5].append(statistics.mean(a[i] for i in SCALES["trust"]))
            network[community].append(statistics.mean(a[i] for i in SCALES["network"]))
    assert statistics.mean(trust[True]) > statistics.mean(trust[False]) + 0.3
    means = {code: statistics.mean(v) for code, v in network.items()}
    assert max(means, key=lambda code: means[code]) == d.code["芙蓉社区"]


@pytest.mark.django_db
def test_the_engine_sees_the_profiles_in_the_imported_demo(tmp_path: Path) -> None:
    generate_demo(tmp_path / "demo", seed=DEFAULT_SEED, residents=DEFAULT_RESIDENTS)
    import_data(tmp_path / "demo")
    for period in ("2024", "2025"):
        assert compute_now(period=period, trigger="demo").status == "done"
    code = demo().code
    names = {c: n for n, c in code.items()}
    score: dict[tuple[str, str, str], float | None] = {}
    value: dict[tuple[str, str, str], float | None] = {}
    for place, period, indicator, v, s in IndicatorSnapshot.objects.filter(place_id__in=names).values_list(
        "place_id", "period", "indicator", "value", "score"
    ):
        score[(names[place], period, indicator)] = s
        value[(names[place], period, indicator)] = v
    dilemmas = dict(
        DiagnosisSnapshot.objects.filter(period="2025", place_id__in=names).values_list("place", "dilemmas")
    )

    def dims(name: str) -> dict[str, float]:
        return {d: score[(name, "2025", f"DIM_{d}")] or 0.0 for d in ("I", "II", "III")}

    # 洁莲: learning strong, organisations weak — its dominant dilemma is II.
    assert min(dims("洁莲社区"), key=lambda d: dims("洁莲社区")[d]) == "II" and dims("洁莲社区")["II"] < 50
    assert "II" in dilemmas[code["洁莲社区"]].split(";")
    assert dims("洁莲社区")["I"] > 75
    # 芙蓉: the richest in outside resources (dimension III).
    assert max(names.values(), key=lambda n: dims(n)["III"]) == "芙蓉社区"
    # 客运中心: little bridging between locals and new citizens (III5, E-I index), the lowest of 九堡.
    jiubao = [n for n in names.values() if code[n][:9] == code["客运中心社区"][:9]]
    bridging = {n: value[(n, "2025", "III5")] for n in jiubao}
    assert bridging["客运中心社区"] is not None and bridging["客运中心社区"] < -0.5
    assert min(bridging, key=lambda n: bridging[n] or 0.0) == "客运中心社区"
    # 双桥: scattered resources (III) is its dominant dilemma.
    assert "III" in dilemmas[code["双桥社区"]].split(";")
    # Retention has a previous period in 2025 (not in 2024); most communities grow, 观音塘 declines.
    assert all(value[(n, "2025", "I2")] is not None and value[(n, "2024", "I2")] is None for n in names.values())
    composite = {n: (score[(n, "2024", "COMPOSITE")], score[(n, "2025", "COMPOSITE")]) for n in names.values()}
    grew = [
        n for n, (before, after) in composite.items() if before is not None and after is not None and after > before
    ]
    assert "观音塘社区" not in grew and len(grew) >= 6, composite
    before, after = composite["观音塘社区"]
    assert before is not None and after is not None and after < before - 5
    # The survey ran in both years and counts in the dimensions.
    assert all(value[(n, year, "S_TRUST")] is not None for n in names.values() for year in ("2024", "2025"))
    assert datetime.date(2025, 12, 31) == TODAY
