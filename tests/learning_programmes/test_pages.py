"""Pages: the staff programme pages and the criteria builder (rows → tree, errors in Chinese naming the row and the
field, the JSON for experts, the lock), and the resident's progress page (met and missing, the next level, claim)."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.learning.credentials import programmes
from gongzhi.learning.credentials.certificates import certificate_issue
from gongzhi.learning.models import Certificate, CredentialLevel, CredentialProgramme
from gongzhi.people.models import Role
from tests import factories

from .conftest import LEVEL1, attend, resident_with_account, sessions_of, take_test

pytestmark = pytest.mark.django_db


@pytest.fixture
def street_staff(tree):
    return factories.staff(Role.STREET_STAFF, tree.street_a)


def rows(*leaves: dict, top: str = "all", ops: dict | None = None, **extra) -> dict:
    """The builder's POST data: each leaf a dict of row fields (group, kind, min, series, …)."""
    data = {"mode": "rows", "top": top, "rank": 1, "name": "一星", "description": "", "criteria_json": ""}
    for key, op in (ops or {}).items():
        data[f"op_{key}"] = op
    for i, leaf in enumerate(leaves):
        for key, value in leaf.items():
            data[f"r{i}_{key}"] = value
    data.update(extra)
    return data


# --- staff pages ----------------------------------------------------------------------------------------------------


def test_staff_creates_a_programme_and_builds_a_level_from_rows(client, tree, street_staff, licence):
    client.force_login(street_staff)
    assert client.get(reverse("programme_list")).status_code == 200
    resp = client.post(
        reverse("programme_new"), {"name": "好婆婆学习证", "description": "", "series": "", "validity_months": ""}
    )
    programme = CredentialProgramme.objects.get(name="好婆婆学习证")
    assert resp.status_code == 302 and resp["Location"] == reverse("programme_detail", args=[programme.pk])
    assert client.get(reverse("level_new", args=[programme.pk])).status_code == 200
    s = str(licence.series.pk)
    data = rows(
        {"kind": "points", "min": 100, "series": s, "days": 365},
        {"group": "A", "kind": "sessions_attended", "min": 6, "course": str(licence.course.pk)},
        {"group": "A", "kind": "courses_completed", "min": 2, "from": "2025-01-01", "to": "2025-12-31"},
        {"kind": "tests_passed", "min": 1, "test": str(licence.test.pk)},
        ops={"A": "any"},
    )
    resp = client.post(reverse("level_new", args=[programme.pk]), data)
    assert resp.status_code == 302, resp.content.decode()[:3000]
    level = CredentialLevel.objects.get(programme=programme)
    assert level.criteria == {
        "all": [
            {"kind": "points", "min": 100, "series": s, "window": {"days": 365}},
            {
                "any": [
                    {"kind": "sessions_attended", "min": 6, "course": str(licence.course.pk)},
                    {"kind": "courses_completed", "min": 2, "window": {"from": "2025-01-01", "to": "2025-12-31"}},
                ]
            },
            {"kind": "tests_passed", "min": 1, "test": str(licence.test.pk)},
        ]
    }
    # The edit page shows the same rows back (and the JSON).
    page = client.get(reverse("level_edit", args=[level.pk])).content.decode()
    assert 'name="r1_group"' in page and 'value="A" selected' in page
    assert "&quot;sessions_attended&quot;" in page or '"sessions_attended"' in page
    detail = client.get(reverse("programme_detail", args=[programme.pk])).content.decode()
    assert "系列“科学育儿”内积分 ≥ 100（近 365 天）" in detail
    assert "满足以下任一条件" in detail and "参加课程“婴幼儿照护” ≥ 6 次" in detail


BAD_ROWS = [
    # rows, the message expected in the page, the field marked
    ([{"kind": "points", "min": ""}], "第 1 行「最少」：必填", "r0_min"),
    (
        [{"kind": "points", "min": 5}, {"kind": "points", "min": 0}],
        "第 2 行「最少」：必须是 1 到 1000000 之间的整数",
        "r1_min",
    ),
    (
        [{"kind": "points", "min": 5, "days": 30, "from": "2025-01-01"}],
        "第 1 行「近 N 天」：“近 N 天”与起止日期只能选一种",
        "r0_days",
    ),
    (
        [{"kind": "points", "min": 5, "from": "2025-03-01", "to": "2025-02-01"}],
        "第 1 行「截止日期」：截止日期不能早于起始日期",
        "r0_to",
    ),
    ([{"kind": "level_held", "rank": ""}], "第 1 行「级别」：必须是不小于 1 的整数", "r0_rank"),
    ([{"kind": "points", "min": "abc"}], "第 1 行「最少」：", "r0_min"),
    ([{"kind": "tests_passed", "min": 2, "test": "TEST"}], "第 1 行「最少」：指定了测试时，最少只能是 1", "r0_min"),
]


@pytest.mark.parametrize(("leaves", "message", "field"), BAD_ROWS)
def test_builder_errors_name_the_row_and_field_and_change_nothing(
    client, tree, street_staff, licence, leaves, message, field
):
    client.force_login(street_staff)
    programme = programmes.programme_create(actor=None, place=tree.street_a, name="新项目")
    leaves = [{k: (str(licence.test.pk) if v == "TEST" else v) for k, v in leaf.items()} for leaf in leaves]
    resp = client.post(reverse("level_new", args=[programme.pk]), rows(*leaves))
    assert resp.status_code == 400
    page = resp.content.decode()
    assert message in page, page[page.find("pg-errors") : page.find("pg-errors") + 800]
    assert field in resp.context["form"].errors
    assert not CredentialLevel.objects.filter(programme=programme).exists()


def test_builder_needs_a_row_and_json_mode_reports_bad_json(client, tree, street_staff):
    client.force_login(street_staff)
    programme = programmes.programme_create(actor=None, place=tree.street_a, name="新项目")
    url = reverse("level_new", args=[programme.pk])
    assert "请至少填写一行条件" in client.post(url, rows()).content.decode()
    resp = client.post(url, rows(mode="json", criteria_json='{"all": [}'))
    assert "不是有效的 JSON：第 1 行第 10 列" in resp.content.decode()
    resp = client.post(url, rows(mode="json", criteria_json='{"any": [{"kind": "points", "min": 1}, {"kind": "x"}]}'))
    assert "第 2 项「条件类型」：不认识的条件类型“x”" in resp.content.decode()
    assert not CredentialLevel.objects.exists()


def test_json_mode_saves_a_deep_tree_and_the_edit_page_keeps_it_as_json(client, tree, street_staff):
    client.force_login(street_staff)
    programme = programmes.programme_create(actor=None, place=tree.street_a, name="新项目")
    deep = {"all": [{"any": [{"all": [{"kind": "points", "min": 5}, {"kind": "tests_passed", "min": 1}]}]}]}
    resp = client.post(reverse("level_new", args=[programme.pk]), rows(mode="json", criteria_json=json.dumps(deep)))
    assert resp.status_code == 302
    level = CredentialLevel.objects.get(programme=programme)
    assert level.criteria == deep
    page = client.get(reverse("level_edit", args=[level.pk]))
    assert 'id="json-only"' in page.content.decode()
    assert page.context["form"].initial["mode"] == "json"


def test_locked_level_says_so_and_refuses_a_change(client, tree, street_staff, licence):
    client.force_login(street_staff)
    level = licence.levels[0]
    certificate_issue(actor=street_staff, resident=factories.resident(tree.comm_a1), level=level)
    page = client.get(reverse("level_edit", args=[level.pk])).content.decode()
    assert "该级别已颁发 1 张证书" in page
    resp = client.post(reverse("level_edit", args=[level.pk]), rows({"kind": "points", "min": 1}, name=LEVEL1))
    assert resp.status_code == 400 and "另存为新版本" in resp.content.decode()
    level.refresh_from_db()
    assert level.criteria != {"all": [{"kind": "points", "min": 1}]}
    resp = client.post(
        reverse("level_edit", args=[level.pk]),
        rows(mode="json", criteria_json=json.dumps(level.criteria), name="一星（新名）"),
    )
    assert resp.status_code == 302
    level.refresh_from_db()
    assert level.name == "一星（新名）"
    # the copy button makes the new version
    resp = client.post(reverse("programme_copy", args=[licence.programme.pk]), {"name": ""})
    copy = CredentialProgramme.objects.get(name="星级家长执照（第 2 版）")
    assert resp["Location"] == reverse("programme_detail", args=[copy.pk])


def test_activate_and_retire_buttons(client, tree, street_staff):
    client.force_login(street_staff)
    programme = programmes.programme_create(actor=None, place=tree.street_a, name="新项目")
    url = reverse("programme_status", args=[programme.pk])
    client.post(url, {"action": "activate"})
    programme.refresh_from_db()
    assert programme.status == "draft"  # no level yet
    programmes.level_create(actor=None, programme=programme, rank=1, name="一星", criteria={"kind": "points", "min": 1})
    client.post(url, {"action": "activate"})
    programme.refresh_from_db()
    assert programme.status == "active"
    client.post(url, {"action": "retire"})
    programme.refresh_from_db()
    assert programme.status == "retired"


def test_staff_pages_are_closed_to_others(client, tree, licence):
    worker = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)  # sees, does not manage
    client.force_login(worker)
    assert client.get(reverse("programme_detail", args=[licence.programme.pk])).status_code == 200
    for name, args in (
        ("programme_edit", [licence.programme.pk]),
        ("level_new", [licence.programme.pk]),
        ("level_edit", [licence.levels[0].pk]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 403, name
    assert (
        client.post(reverse("programme_status", args=[licence.programme.pk]), {"action": "retire"}).status_code == 403
    )
    # …but may run a programme of their own community
    assert client.get(reverse("programme_new")).status_code == 200
    other = factories.staff(Role.STREET_STAFF, tree.street_b)
    client.force_login(other)
    assert client.get(reverse("programme_detail", args=[licence.programme.pk])).status_code == 404
    r = resident_with_account(tree.comm_a1)
    client.force_login(r.user)
    assert client.get(reverse("programme_list")).status_code == 403
    assert client.get(reverse("programme_detail", args=[licence.programme.pk])).status_code == 404


def test_programme_list_query_count_is_constant(client, tree, street_staff, django_assert_max_num_queries):
    client.force_login(street_staff)
    for i in range(3):
        programmes.programme_create(actor=None, place=tree.street_a, name=f"项目{i}")
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("programme_list")).status_code == 200
    for i in range(3, 15):
        programmes.programme_create(actor=None, place=tree.comm_a1, name=f"项目{i}")
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("programme_list")).content.decode()
    assert "项目14" in page
    assert len(few.captured_queries) == len(many.captured_queries)


# --- the resident's progress page -----------------------------------------------------------------------------------


def next_level(page: str) -> str:
    """The rank of the level highlighted as the next one (exactly one per programme)."""
    found = re.findall(r'class="pg-level is-next[^"]*" data-level="(\d+)"', page)
    assert len(found) == 1, found
    return found[0]


def test_progress_page_shows_met_and_missing_and_the_next_level(client, tree, licence):
    r = resident_with_account(tree.comm_a1)
    client.force_login(r.user)
    page = client.get(reverse("my_programmes")).content.decode()
    assert "星级家长执照" in page
    assert next_level(page) == "1"
    assert "已有 0 积分，还差 20 积分" in page and "已通过 0/1 个测试，还差 1 个" in page
    assert "领取证书" not in page
    # two sessions (20 points in the series) and a passed test: level 1 reached, the claim button appears
    for s in sessions_of(licence.course)[:2]:
        attend(r, s)
    take_test(r, licence.test)
    page = client.get(reverse("my_programmes")).content.decode()
    assert "已有 40 积分" in page and "已通过 1 个测试" in page
    assert 'data-claim="1"' in page and reverse("certificate_claim", args=[licence.levels[0].pk]) in page
    # the claim goes to the certificates part and comes back as a held level; level 2 is next
    resp = client.post(reverse("certificate_claim", args=[licence.levels[0].pk]), {"next": reverse("my_programmes")})
    assert resp.status_code == 302
    assert Certificate.objects.filter(resident=r, level=licence.levels[0], claimed=True).exists()
    page = client.get(reverse("my_programmes")).content.decode()
    assert "已获得“一星家长”" in page
    assert next_level(page) == "2"
    assert "已参加 2/4 次课，还差 2 次" in page and 'data-claim="1"' not in page


def test_progress_page_for_someone_without_programmes_and_for_staff(client, tree, licence):
    far = resident_with_account(tree.comm_b1)
    client.force_login(far.user)
    page = client.get(reverse("my_programmes")).content.decode()
    assert "暂时没有开放的认证项目" in page
    client.force_login(factories.staff(Role.STREET_STAFF, tree.street_a))
    assert client.get(reverse("my_programmes")).status_code == 404  # not a resident


def test_progress_page_query_count_is_constant(client, tree, licence):
    r = resident_with_account(tree.comm_a1)
    for s in sessions_of(licence.course)[:3]:
        attend(r, s)
    client.force_login(r.user)
    client.get(reverse("my_programmes"))  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("my_programmes")).status_code == 200
    for i in range(3):  # more programmes with more levels, more facts
        p = programmes.programme_create(actor=None, place=tree.comm_a1, name=f"社区项目{i}")
        for rank in (1, 2, 3):
            programmes.level_create(
                actor=None,
                programme=p,
                rank=rank,
                name=f"{rank} 级",
                criteria={
                    "any": [
                        {"kind": "points", "min": rank * 10, "series": str(licence.series.pk)},
                        {"kind": "tests_passed", "min": rank, "window": {"days": 30}},
                    ]
                },
            )
        programmes.programme_activate(actor=None, programme=p)
    take_test(r, licence.test)
    with CaptureQueriesContext(connection) as four:
        page = client.get(reverse("my_programmes")).content.decode()
    assert page.count("pg-prog") >= 4
    assert len(four.captured_queries) == len(one.captured_queries), [q["sql"][:120] for q in four.captured_queries]
