from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gongzhi.interchange.demo import (
    CAIHE,
    DEMO_RESIDENT_PHONES,
    JIUBAO,
    JIUBAO_COMMUNITY,
    build_demo,
    generate_demo,
)
from gongzhi.interchange.demo_accounts import DEMO_PASSWORD, STAFF_LOGINS
from gongzhi.interchange.importer import import_data
from gongzhi.people import protection
from gongzhi.people.models import Consent, Resident, RoleGrant, User
from gongzhi.places.models import Place, Population

from .conftest import RESIDENTS, SMALL, write_folder

SIZE = 240


def test_demo_files_are_deterministic(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", seed=7, residents=SIZE)
    generate_demo(tmp_path / "b", seed=7, residents=SIZE)
    generate_demo(tmp_path / "c", seed=8, residents=SIZE)
    assert list(first)[:3] == ["places.csv", "residents.csv", "population.csv"]
    assert {k: first[k] for k in ("places.csv", "residents.csv", "population.csv")} == {
        "places.csv": 13, "residents.csv": SIZE, "population.csv": 16,
    }  # fmt: skip
    assert list(first)[3:] == [
        "organizations.csv", "memberships.csv", "activities.csv", "attendance.csv", "issues.csv", "issue_actions.csv",
        "providers.csv", "resources.csv", "needs.csv", "survey_answers.csv",
    ]  # fmt: skip
    for name in first:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "residents.csv").read_bytes() != (tmp_path / "c" / "residents.csv").read_bytes()


def test_demo_residents_are_believable() -> None:
    world, _ = build_demo(seed=3, residents=2000)
    residents = world.residents
    street = {c.code: c.street_code for c in world.communities}
    share = {
        s: sum(r.household == "new_citizen" for r in residents if street[r.community_code] == s)
        / sum(1 for r in residents if street[r.community_code] == s)
        for s in (JIUBAO, CAIHE)
    }
    assert 0.35 < share[JIUBAO] < 0.55 and 0.08 < share[CAIHE] < 0.22
    phones = [r.phone for r in residents if r.phone]
    assert len(phones) == len(set(phones)) and 0.7 < len(phones) / len(residents) < 0.95
    assert set(DEMO_RESIDENT_PHONES) <= set(phones)
    ids = [r for r in residents if r.id_number]
    assert 0.15 < len(ids) / len(residents) < 0.25
    for r in ids:
        assert protection.normalise_id_number(r.id_number) == r.id_number
        assert r.id_number.startswith("330102") and int(r.id_number[6:10]) == r.birth_year
    left = sum(1 for r in residents if r.left_on)
    assert 0.01 < left / len(residents) < 0.05
    assert all(r.left_on is None or r.left_on >= r.registered_on for r in residents)
    assert min(r.birth_year for r in residents) >= 1935 and max(r.birth_year for r in residents) <= 2012
    assert Counter(len(r.name) for r in residents).keys() <= {2, 3}


@pytest.mark.django_db
def test_demo_output_imports_without_errors(tmp_path: Path) -> None:
    generate_demo(tmp_path / "demo", seed=11, residents=SIZE)
    report = import_data(tmp_path / "demo")
    assert report.counts()["residents.csv"].created == SIZE
    assert Place.objects.filter(level="community").count() == 8
    assert Place.objects.get(code=JIUBAO).name == "九堡街道"
    assert Population.objects.filter(year__in=[2024, 2025]).count() == 16


@pytest.mark.django_db
def test_seed_demo_twice_is_idempotent(tmp_path: Path) -> None:
    def run() -> str:
        out = io.StringIO()
        call_command(
            "seed_demo", "--residents", str(SIZE), "--dir", str(tmp_path / "demo"), "--no-progress", stdout=out
        )
        return out.getvalue()

    def state() -> dict[str, object]:
        return {
            "users": sorted(User.objects.values_list("phone", flat=True)),
            "grants": sorted(RoleGrant.objects.values_list("user__phone", "role", "place_id")),
            "residents": Resident.objects.count(),
            "consents": sorted(Consent.objects.values_list("resident__ref", "purpose", "version", "withdrawn_at")),
            "linked": sorted(Resident.objects.filter(user__isnull=False).values_list("ref", "user__phone")),
        }

    first_output = run()
    first = state()
    second_output = run()

    assert state() == first
    assert "residents.csv：新增 0，更新 0，未变 240" in second_output
    assert "13900000011" in first_output and "gongzhi2026" in first_output and "community worker" in first_output
    for phone, *_ in STAFF_LOGINS:
        assert User.objects.get(phone=phone).check_password(DEMO_PASSWORD)
    grants = first["grants"]
    assert isinstance(grants, list)
    staff_phones = {phone for phone, *_ in STAFF_LOGINS}
    assert len([g for g in grants if g[0] in staff_phones]) == len(STAFF_LOGINS)
    # The link demo's partner logins (the bank, the college) speak for their providers.
    assert sorted(User.objects.filter(providers__isnull=False).values_list("phone", flat=True)) == [
        "13900000021",
        "13900000022",
    ]
    for phone in DEMO_RESIDENT_PHONES:
        user = User.objects.get(phone=phone)
        assert user.check_password(DEMO_PASSWORD)
        assert user.resident.community_id == JIUBAO_COMMUNITY
        assert Consent.objects.filter(resident=user.resident, purpose="platform", withdrawn_at__isnull=True).exists()


@pytest.mark.django_db
def test_import_data_command(tmp_path: Path, small: Path) -> None:
    out = io.StringIO()
    call_command("import_data", str(small), "--no-progress", stdout=out)
    assert "residents.csv：新增 3，更新 0，未变 0  (created 3, updated 0, unchanged 0)" in out.getvalue()


@pytest.mark.django_db
def test_import_data_command_failure_lists_every_error(tmp_path: Path) -> None:
    residents = [*RESIDENTS, ["R4", "330102009001", "2025-01-01", "", "", "", "local", "", "", ""]]
    folder = write_folder(tmp_path / "bad", {**SMALL, "residents.csv": residents})
    err = io.StringIO()
    with pytest.raises(CommandError, match="没有写入任何数据"):
        call_command("import_data", str(folder), "--no-progress", stderr=err)
    assert "residents.csv 第 5 行 community_code：社区 330102009001 不存在" in err.getvalue()
    assert "[residents.csv, row 5, column community_code:" in err.getvalue()
    assert not Resident.objects.exists()


@pytest.mark.django_db
def test_export_data_command(tmp_path: Path, small: Path) -> None:
    import_data(small)
    out = io.StringIO()
    call_command("export_data", str(tmp_path / "out.xlsx"), "--place", "330102001000", "--no-progress", stdout=out)
    assert "residents.csv：3 行" in out.getvalue()
    assert (tmp_path / "out.xlsx").exists()
    with pytest.raises(CommandError):
        call_command("export_data", str(tmp_path / "x"), "--place", "990000000000", "--no-progress")
