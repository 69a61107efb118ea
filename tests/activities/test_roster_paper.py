"""Roster, typed paper sheet and XLSX upload: every way yields one attendance per person; a bad sheet writes nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from gongzhi.activities import qr, selectors, services
from gongzhi.activities.models import Attendance
from gongzhi.core.errors import DomainError
from tests import factories


def _xlsx(rows: list[list[object]]) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "sheet.xlsx"
    return out


def test_roster_lists_enrolled_members_and_attendees(cw):
    staff = cw.users["street_staff"]
    session_roster = {r.resident.pk for r in selectors.roster(user=staff, activity=cw.session)}
    assert session_roster == {r.pk for r in cw.enrolled}, "enrolled only: not the cancelled enrolment"
    meeting_roster = {r.resident.pk for r in selectors.roster(user=staff, activity=cw.meeting)}
    assert meeting_roster == {m.pk for m in cw.members}, "current members only: not the one who left"
    walk_in = factories.resident(cw.tree.comm_a2, name="路过")
    services.paper_sheet_record(actor=staff, activity=cw.session, rows=[services.PaperRow(line=1, ref=walk_in.ref)])
    assert walk_in.pk in {r.resident.pk for r in selectors.roster(user=staff, activity=cw.session)}


def test_roster_ticks_are_one_row_per_person(cw):
    staff = cw.users["community_worker"]
    person = cw.enrolled[1]
    for status in ("present", "present", "absent", "excused", "present"):
        services.roster_mark(actor=staff, activity=cw.session, resident=person, status=status)
    attendance = Attendance.objects.get(activity=cw.session, resident=person)
    assert (attendance.status, attendance.source) == ("present", "roster")
    with pytest.raises(DomainError) as exc:
        services.roster_mark(actor=staff, activity=cw.session, resident=person, status="maybe")
    assert exc.value.fields == {"status": ["不是可选的值"]}


def test_qr_then_roster_then_paper_is_still_one_row(cw):
    staff = cw.users["street_staff"]
    services.checkin_by_qr(user=cw.resident_user, token=qr.issue(cw.session.pk))
    services.roster_mark(actor=staff, activity=cw.session, resident=cw.resident, status="present")
    services.paper_sheet_record(
        actor=staff, activity=cw.session, rows=[services.PaperRow(line=1, ref=cw.resident.ref, hours=Decimal("1.5"))]
    )
    rows = Attendance.objects.filter(activity=cw.session, resident=cw.resident)
    assert rows.count() == 1
    assert rows.get().hours == Decimal("1.50")


def test_typed_paper_lines(cw):
    staff = cw.users["street_staff"]
    a, b, c = cw.enrolled
    member = cw.members[1]
    phone_resident = factories.resident(cw.tree.comm_a1, name="孙大伯", phone="13900000301")
    text = f"{a.ref}\n{b.ref} 请假\n\n{c.ref}，缺席\n孙大伯 13900000301 出席 2\n{a.ref} 出席\n"
    result = services.paper_sheet_record(actor=staff, activity=cw.session, rows=services.paper_rows_from_text(text))
    assert (result.created, result.total) == (4, 4)
    got = dict(Attendance.objects.filter(activity=cw.session).values_list("resident_id", "status"))
    assert got == {a.pk: "present", b.pk: "excused", c.pk: "absent", phone_resident.pk: "present"}
    assert member.pk not in got
    assert set(Attendance.objects.values_list("source", flat=True)) == {"paper"}


def test_typed_paper_with_a_bad_line_writes_nothing(cw):
    staff = cw.users["street_staff"]
    outsider = factories.resident(cw.tree.comm_b1, name="别的街道")
    text = f"{cw.enrolled[0].ref}\nR-不存在\n{outsider.ref}\n王某 13900009999\n{cw.enrolled[1].ref} 出席 99"
    with pytest.raises(DomainError) as exc:
        services.paper_sheet_record(actor=staff, activity=cw.session, rows=services.paper_rows_from_text(text))
    rows = exc.value.fields["rows"]
    assert rows[0] == "第 2 行：找不到编号为 R-不存在 的居民"
    assert rows[1] == f"第 3 行：找不到编号为 {outsider.ref} 的居民", "only residents of the activity's street"
    assert rows[2] == "第 4 行：找不到姓名和手机号都相符的居民"
    assert rows[3] == "第 5 行：时长应为 0 到 24 之间的数字"
    assert "没有保存任何记录" in exc.value.message
    assert not Attendance.objects.exists()


def test_same_person_twice_with_different_statuses_is_an_error(cw):
    ref = cw.enrolled[0].ref
    with pytest.raises(DomainError) as exc:
        services.paper_sheet_record(
            actor=None, activity=cw.session, rows=services.paper_rows_from_text(f"{ref}\n{ref} 请假")
        )
    assert exc.value.fields["rows"] == ["第 2 行：与第 1 行是同一位居民，但状态不同"]
    assert not Attendance.objects.exists()


def test_xlsx_import(cw):
    a, b, c = cw.enrolled
    sheet = _xlsx(
        [["编号", "状态", "时长"], [a.ref, "出席", 1.5], [b.ref, None, None], [None, None, None], [c.ref, "请假", None]]
    )
    result = services.paper_sheet_import_xlsx(actor=cw.users["street_staff"], activity=cw.session, file=sheet)
    assert result.created == 3
    got = {r.resident_id: (r.status, r.hours) for r in Attendance.objects.filter(activity=cw.session)}
    assert got == {a.pk: ("present", Decimal("1.50")), b.pk: ("present", None), c.pk: ("excused", None)}
    # The same sheet again changes nothing.
    sheet.seek(0)
    again = services.paper_sheet_import_xlsx(actor=cw.users["street_staff"], activity=cw.session, file=sheet)
    assert (again.created, again.unchanged) == (0, 3)
    assert Attendance.objects.count() == 3


def test_xlsx_english_headers(cw):
    sheet = _xlsx([["ref", "status", "hours"], [cw.enrolled[0].ref, "absent", 0]])
    services.paper_sheet_import_xlsx(actor=None, activity=cw.session, file=sheet)
    assert Attendance.objects.get().status == "absent"


def test_xlsx_with_one_bad_row_writes_nothing(cw):
    a, b, _c = cw.enrolled
    sheet = _xlsx([["编号", "状态"], [a.ref, "出席"], [b.ref, "迟到"], ["R-nobody", ""]])
    with pytest.raises(DomainError) as exc:
        services.paper_sheet_import_xlsx(actor=None, activity=cw.session, file=sheet)
    assert exc.value.fields["rows"] == [
        "第 3 行：状态“迟到”无效，应为 出席、缺席 或 请假",
        "第 4 行：找不到编号为 R-nobody 的居民",
    ]
    assert not Attendance.objects.exists()


@pytest.mark.parametrize(
    ("content", "field"),
    [(b"not a spreadsheet", "file"), (None, "file")],
)
def test_xlsx_bad_files(cw, content, field):
    sheet = io.BytesIO(content) if content else _xlsx([["姓名", "备注"], ["某人", "x"]])
    with pytest.raises(DomainError) as exc:
        services.paper_sheet_import_xlsx(actor=None, activity=cw.session, file=sheet)
    assert field in exc.value.fields
    assert not Attendance.objects.exists()


def test_template_is_a_readable_sheet(cw, client):
    client.force_login(cw.users["street_staff"])
    response = client.get(reverse("activity_paper_template", args=[cw.session.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]] == ["编号", "姓名", "手机号", "状态", "时长"]


# --- the pages --------------------------------------------------------------------------------------------------


def test_roster_tick_page_htmx(cw, client):
    client.force_login(cw.users["community_worker"])
    person = cw.enrolled[2]
    url = reverse("activity_roster_mark", args=[cw.session.pk, person.pk])
    for _ in range(2):  # a double click
        response = client.post(url, {"status": "present"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        body = response.content.decode()
        assert body.strip().startswith("<li") and 'data-status="present"' in body
    assert Attendance.objects.filter(activity=cw.session, resident=person).count() == 1
    response = client.post(url, {"status": "nonsense"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "出席状态无效" in response.content.decode()
    # Without htmx: back to the roster.
    response = client.post(url, {"status": "excused"})
    assert response.status_code == 302
    assert Attendance.objects.get(activity=cw.session, resident=person).status == "excused"


def test_roster_tick_of_someone_not_on_the_roster_is_404(cw, client):
    client.force_login(cw.users["community_worker"])
    stranger = factories.resident(cw.tree.comm_a1, name="陌生人")
    url = reverse("activity_roster_mark", args=[cw.session.pk, stranger.pk])
    assert client.post(url, {"status": "present"}, HTTP_HX_REQUEST="true").status_code == 404
    assert not Attendance.objects.exists()


def test_paper_page_text_and_upload(cw, client):
    client.force_login(cw.users["street_staff"])
    url = reverse("activity_paper", args=[cw.session.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"action": "text", "lines": f"{cw.enrolled[0].ref}\nR-nobody"})
    assert response.status_code == 400
    assert "第 2 行：找不到编号为 R-nobody 的居民" in response.content.decode()
    assert not Attendance.objects.exists()
    sheet = _xlsx([["编号"], [cw.enrolled[0].ref], [cw.enrolled[1].ref]])
    response = client.post(url, {"action": "file", "file": sheet})
    assert response.status_code == 302
    assert Attendance.objects.count() == 2
    response = client.post(url, {"action": "text", "lines": ""})
    assert response.status_code == 200 and "签到名单：" in response.content.decode()
