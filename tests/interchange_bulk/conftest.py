"""A small generated district (bench/district.py) and a full snapshot of what an import stores, for comparisons."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.db import models

from bench.district import Shape, generate
from gongzhi.activities.models import Activity, Attendance
from gongzhi.analytics.models import SurveyAnswer
from gongzhi.deliberation.models import Issue, IssueAction, IssueStatusChange
from gongzhi.organizations.models import Membership, Organization, StageChange
from gongzhi.people.models import Resident
from gongzhi.places.models import Place, Population
from gongzhi.resources.models import Need, Provider, Resource

SMALL = Shape(residents=600, communities=6, streets=2, attendance=4000, seed=7, year=2025)
MODELS: list[type[models.Model]] = [
    Place,
    Population,
    Resident,
    Organization,
    Membership,
    StageChange,
    Provider,
    Resource,
    Need,
    Activity,
    Attendance,
    Issue,
    IssueStatusChange,
    IssueAction,
    SurveyAnswer,
]
SKIPPED = {"id", "created_at", "updated_at", "id_number_encrypted"}


@pytest.fixture(scope="session")
def district_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("district") / "small"
    generate(folder, SMALL)
    return folder


@pytest.fixture
def district(tmp_path: Path, district_master: Path) -> Path:
    """A private copy of the small district, free to be edited by the test."""
    return Path(shutil.copytree(district_master, tmp_path / "district"))


def _columns(model: type[models.Model]) -> list[str]:
    out = []
    for f in model._meta.concrete_fields:
        if f.name in SKIPPED:
            continue
        if f.is_relation and f.related_model is not None and hasattr(f.related_model, "ref"):
            out.append(f"{f.name}__ref")  # natural key instead of a UUID
        elif f.is_relation:
            out.append(f.attname)  # a place code, or a user id (None)
        else:
            out.append(f.name)
    return out


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of every table an import writes, by natural keys (no UUIDs, no timestamps), sorted."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for model in MODELS:
        columns = _columns(model)
        out[model.__name__] = sorted(model._default_manager.values_list(*columns), key=repr)
    out["activity_resources"] = sorted(
        Activity.resources.through.objects.values_list("activity__ref", "resource__ref"), key=repr
    )
    return out


def stamps() -> dict[str, dict[Any, Any]]:
    """updated_at of the big tables, to show that a re-import touched nothing."""
    return {
        "residents": dict(Resident.objects.values_list("ref", "updated_at")),
        "activities": dict(Activity.objects.values_list("ref", "updated_at")),
        "attendance": dict(Attendance.objects.values_list("id", "updated_at")),
        "organizations": dict(Organization.objects.values_list("ref", "updated_at")),
        "issues": dict(Issue.objects.values_list("ref", "updated_at")),
    }


def read_rows(file: Path) -> list[list[str]]:
    with file.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(file: Path, rows: list[list[str]]) -> None:
    with file.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def edit_cell(folder: Path, name: str, row: int, column: str, value: str) -> None:
    """Set one cell (row as the spreadsheet numbers it: the header is row 1)."""
    rows = read_rows(folder / name)
    rows[row - 1][rows[0].index(column)] = value
    write_rows(folder / name, rows)
