"""`manage.py import_data PATH --bulk`: the bulk path behind the regular command, with its error count."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from gongzhi.activities.models import Attendance
from gongzhi.people.models import Resident

from .conftest import read_rows, write_rows

pytestmark = pytest.mark.django_db


def test_the_command_imports_with_bulk_and_a_second_run_changes_nothing(district: Path) -> None:
    out = StringIO()
    call_command("import_data", str(district), "--bulk", "--no-progress", "--no-compute", stdout=out, stderr=StringIO())
    residents, attendance = Resident.objects.count(), Attendance.objects.count()
    assert residents > 0 and attendance > 0
    assert len(read_rows(district / "attendance.csv")) - 1 == attendance

    again = StringIO()
    call_command("import_data", str(district), "--bulk", "--no-progress", stdout=again, stderr=StringIO())
    assert (Resident.objects.count(), Attendance.objects.count()) == (residents, attendance)


def test_the_command_reports_every_error_counted_and_writes_nothing(district: Path) -> None:
    rows = read_rows(district / "attendance.csv")
    for i, r in enumerate(rows[1:4]):
        r[1] = f"R99990{i:02d}"  # three unknown residents
    write_rows(district / "attendance.csv", rows)
    err = StringIO()
    with pytest.raises(CommandError, match="3 处错误"):
        call_command("import_data", str(district), "--bulk", "--no-progress", stdout=StringIO(), stderr=err)
    assert "R9999000" in err.getvalue()
    assert Resident.objects.count() == 0 and Attendance.objects.count() == 0
