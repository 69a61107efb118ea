"""bench/district.py: deterministic, realistic skew, valid interchange files, memory that does not grow with size."""

from __future__ import annotations

import csv
import hashlib
import tracemalloc
from collections import Counter
from pathlib import Path

from bench.district import DISTRICT, FILES, Shape, generate, main
from gongzhi.analytics.survey.instrument import ITEMS
from gongzhi.places import codes

SHAPE = Shape(residents=3000, communities=12, streets=3, attendance=30000, seed=5, year=2025)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", SHAPE)
    generate(tmp_path / "b", SHAPE)
    generate(tmp_path / "c", Shape(**{**SHAPE.__dict__, "seed": 6}))

    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert digests(tmp_path / "a")["attendance.csv"] != digests(tmp_path / "c")["attendance.csv"]
    assert set(first) == set(FILES)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(FILES)


def test_sizes_places_and_references(tmp_path: Path) -> None:
    counts = generate(tmp_path, SHAPE)
    assert counts["residents.csv"] == SHAPE.residents
    assert counts["attendance.csv"] == SHAPE.attendance

    places = rows(tmp_path, "places.csv")
    by_level = Counter(p["level"] for p in places)
    assert by_level == {"province": 1, "city": 1, "district": 1, "street": 3, "community": 12}
    for p in places:
        codes.validate_code(p["code"])
        assert codes.level_of(p["code"]) == p["level"]
        assert (codes.parent_code_of(p["code"]) or "") == p["parent_code"]
        if p["level"] in ("street", "community"):
            assert codes.covers(DISTRICT, p["code"])
    communities = {p["code"] for p in places if p["level"] == "community"}
    residents = {r["ref"] for r in rows(tmp_path, "residents.csv")}
    assert {r["community_code"] for r in rows(tmp_path, "residents.csv")} == communities
    activities = {a["ref"] for a in rows(tmp_path, "activities.csv")}
    attendance = rows(tmp_path, "attendance.csv")
    assert {a["activity_ref"] for a in attendance} == activities
    assert {a["resident_ref"] for a in attendance} <= residents
    assert len({(a["activity_ref"], a["resident_ref"]) for a in attendance}) == len(attendance)  # one per person
    answers = rows(tmp_path, "survey_answers.csv")
    assert {a["item"] for a in answers} == set(ITEMS)
    assert {a["value"] for a in answers} <= {"1", "2", "3", "4", "5"}
    resources = {r["ref"] for r in rows(tmp_path, "resources.csv")}
    used = {ref for a in rows(tmp_path, "activities.csv") for ref in a["resource_refs"].split(";") if ref}
    assert used and used <= resources
    assert {m["resident_ref"] for m in rows(tmp_path, "memberships.csv")} <= residents


def test_skew_most_never_attend_a_few_attend_a_lot_events_mostly_small(tmp_path: Path) -> None:
    generate(tmp_path, SHAPE)
    attendance = rows(tmp_path, "attendance.csv")
    per_resident = Counter(a["resident_ref"] for a in attendance)
    never = 1 - len(per_resident) / SHAPE.residents
    assert never >= 0.6  # most residents never attend
    ranked = sorted(per_resident.values(), reverse=True)
    top = ranked[: max(1, SHAPE.residents // 100)]  # the top 1 % of residents
    assert sum(top) / SHAPE.attendance >= 0.05  # … carry far more than 1 % of attendance
    assert ranked[0] >= 10 * (SHAPE.attendance / SHAPE.residents)  # someone attends ten times the mean

    sizes = Counter(a["activity_ref"] for a in attendance)
    values = sorted(sizes.values())
    median = values[len(values) // 2]
    assert 5 <= median <= 30
    lectures = [v for v in values if v >= 100]
    assert lectures and len(lectures) / len(values) < 0.1  # some large lectures, but few
    assert max(values) <= 300
    kinds = Counter(a["kind"] for a in rows(tmp_path, "activities.csv"))
    assert set(kinds) == {"course_session", "learning_meeting", "deliberation_meeting", "volunteer_event", "org_event"}
    hours = [a["hours"] for a in attendance if a["hours"]]
    assert hours and all(float(h) > 0 for h in hours)


def _peak(folder: Path, attendance: int) -> int:
    tracemalloc.start()
    try:
        generate(folder, Shape(residents=10000, communities=10, streets=2, attendance=attendance, seed=1, year=2025))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_attendance(tmp_path: Path) -> None:
    _peak(tmp_path / "warm-up", 1000)  # first-use allocations (imports, caches) are not the generator's
    small = _peak(tmp_path / "small", 30_000)
    large = _peak(tmp_path / "large", 120_000)  # four times the attendance
    assert large < small * 1.25 + 200_000, (small, large)
    assert large < 5_000_000  # a few bytes per resident, nothing per attendance row


def test_command_line(tmp_path: Path, capsys) -> None:
    code = main(
        [
            str(tmp_path / "cli"),
            "--residents",
            "200",
            "--communities",
            "4",
            "--streets",
            "2",
            "--attendance",
            "500",
            "--seed",
            "3",
            "--year",
            "2025",
        ]
    )
    assert code == 0
    assert "rows in 13 files" in capsys.readouterr().out
    assert sum(1 for _ in (tmp_path / "cli" / "attendance.csv").open()) == 501
