"""Small interchange folders for the tests, written as CSV exactly as a spreadsheet user would save them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gongzhi.people.models import Resident
from gongzhi.places.models import Place, Population
from tests.conftest import ID_A

PLACES = [
    ["code", "name", "level", "parent_code"],
    ["330000000000", "浙江省", "province", ""],
    ["330100000000", "杭州市", "city", "330000000000"],
    ["330102000000", "上城区", "district", "330100000000"],
    ["330102001000", "甲街道", "street", "330102000000"],
    ["330102001001", "甲一社区", "community", "330102001000"],
    ["330102001002", "甲二社区", "community", "330102001000"],
]
POPULATION = [
    ["community_code", "year", "population"],
    ["330102001001", "2025", "1200"],
    ["330102001002", "2025", "800"],
]
RESIDENTS = [
    ["ref", "community_code", "registered_on", "left_on", "gender", "birth_year", "household", "name", "phone",
     "id_number"],
    ["R1", "330102001001", "2024-01-01", "", "F", "1980", "local", "张三", "138 0000 1111", ID_A],
    ["R2", "330102001001", "2023-05-01", "2025-03-01", "M", "1950", "new_citizen", "李四", "", ""],
    ["R3", "330102001002", "2025-03-01", "", "", "", "local", "", "", ""],
]  # fmt: skip
SMALL = {"places.csv": PLACES, "population.csv": POPULATION, "residents.csv": RESIDENTS}
# 联 link: the providers and resources that activities.csv and needs.csv name.
PROVIDERS = [
    ["ref", "name", "kind"],
    ["P1", "钱塘银行九堡支行", "bank"],
    ["P2", "之江健康学院", "university"],
]
RESOURCES = [
    ["ref", "provider_ref", "kind", "name"],
    ["RES1", "P1", "course", "金融知识讲座（防范电信诈骗）"],
    ["RES2", "P1", "teacher", "金融知识宣讲员"],
    ["RES3", "P2", "volunteer_service", "大学生志愿者健康讲座"],
]
LINK_BASE = {"providers.csv": PROVIDERS, "resources.csv": RESOURCES}


def write_folder(folder: Path, files: dict[str, list[list[str]]], *, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        with (folder / name).open("w", encoding=encoding, newline="") as fh:
            csv.writer(fh).writerows(rows)
    return folder


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "small", SMALL)


def snapshot() -> dict[str, list[tuple]]:
    """Everything the interchange files carry, as stored (the encrypted ID varies per encryption: its hash does not)."""
    return {
        "places": list(Place.objects.order_by("code").values_list("code", "name", "level", "parent_id")),
        "population": list(
            Population.objects.order_by("place_id", "year").values_list("place_id", "year", "population")
        ),
        "residents": list(
            Resident.objects.order_by("ref").values_list(
                "ref", "community_id", "registered_on", "left_on", "gender", "birth_year", "household", "name",
                "phone", "id_number_hash", "id_number_masked",
            )
        ),
    }  # fmt: skip


def wipe() -> None:
    Resident.objects.all().delete()
    Population.objects.all().delete()
    for level in ("community", "street", "district", "city", "province"):
        Place.objects.filter(level=level).delete()
