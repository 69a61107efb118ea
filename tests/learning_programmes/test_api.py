"""Programmes API: programmes and levels (staff), criteria check, my progress (residents); permissions, the one error
shape, constant query counts. Every response is checked against the OpenAPI document by the API client of tests/api."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.learning.credentials import programmes
from gongzhi.learning.credentials.certificates import certificate_issue
from gongzhi.learning.models import CredentialLevel, CredentialProgramme
from gongzhi.people.models import Role
from tests import factories
from tests.api.conftest import API, error_of

from .conftest import attend, resident_with_account, sessions_of, take_test

pytestmark = pytest.mark.django_db


def test_staff_create_programme_levels_and_activate(make_client, tree, licence):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    client = make_client(staff)
    resp = client.post_json(
        f"{API}/credentials/programmes",
        {
            "place": tree.street_a.code,
            "name": "好婆婆学习证",
            "series_id": str(licence.series.pk),
            "validity_months": 12,
        },
    )
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["status"] == "draft" and body["levels"] == [] and body["series_name"] == "科学育儿"
    pid = body["id"]
    s = str(licence.series.pk)
    level = client.post_json(
        f"{API}/credentials/programmes/{pid}/levels",
        {
            "rank": 1,
            "name": "一星",
            "criteria": {"all": [{"kind": "points", "min": 50, "series": s}, {"kind": "tests_passed", "min": 1}]},
        },
    )
    assert level.status_code == 201
    assert level.json()["labels"] == ["系列“科学育儿”内积分 ≥ 50", "通过测试 ≥ 1 个"]
    assert level.json()["locked"] is False
    bad = client.post_json(
        f"{API}/credentials/programmes/{pid}/levels",
        {
            "rank": 2,
            "name": "二星",
            "criteria": {"all": [{"kind": "level_held", "rank": 3}, {"kind": "stars", "min": 1}]},
        },
    )
    assert bad.status_code == 400
    assert error_of(bad)["fields"] == {
        "criteria": ["第 1 项「级别」：只能要求低于本级别的级别", "第 2 项「条件类型」：不认识的条件类型“stars”"]
    }
    dup = client.post_json(
        f"{API}/credentials/programmes/{pid}/levels",
        {"rank": 1, "name": "又一个一星", "criteria": {"kind": "points", "min": 1}},
    )
    assert dup.status_code == 409 and error_of(dup)["fields"] == {"rank": ["第 1 级已存在"]}
    activated = client.post_json(f"{API}/credentials/programmes/{pid}/activate")
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    patched = client.patch_json(f"{API}/credentials/programmes/{pid}", {"description": "学习、积分、测试、领证"})
    assert patched.status_code == 200 and patched.json()["description"] == "学习、积分、测试、领证"
    assert patched.json()["name"] == "好婆婆学习证" and patched.json()["validity_months"] == 12


def test_level_lock_and_new_version_over_the_api(make_client, tree, licence):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    client = make_client(staff)
    level = licence.levels[0]
    certificate_issue(actor=staff, resident=factories.resident(tree.comm_a1), level=level)
    refused = client.patch_json(f"{API}/credentials/levels/{level.pk}", {"criteria": {"kind": "points", "min": 1}})
    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "level_in_use" and "另存为新版本" in error["message"]
    renamed = client.patch_json(f"{API}/credentials/levels/{level.pk}", {"name": "一星（入门）"})
    assert renamed.status_code == 200 and renamed.json()["locked"] is True
    copy = client.post_json(f"{API}/credentials/programmes/{licence.programme.pk}/copy", {"name": "星级家长执照 2026"})
    assert copy.status_code == 201
    assert [lv["rank"] for lv in copy.json()["levels"]] == [1, 2, 3] and copy.json()["status"] == "draft"
    deleted = client.delete(f"{API}/credentials/levels/{level.pk}")
    assert deleted.status_code == 409


# role, where granted → sees the street A programme, may change it
API_TABLE = [
    ("admin", "district", True, True),
    ("street_staff", "street_a", True, True),
    ("community_worker", "comm_a1", True, False),
    ("street_staff", "street_b", False, False),
    ("admin", "other_district", False, False),
]


@pytest.mark.parametrize(("role", "where", "sees", "manages"), API_TABLE)
def test_api_permission_table(make_client, tree, licence, role, where, sees, manages):
    client = make_client(factories.staff(getattr(Role, role.upper()), getattr(tree, where)))
    pid = licence.programme.pk
    ids = {item["id"] for item in client.get(f"{API}/credentials/programmes").json()["items"]}
    assert (str(pid) in ids) is sees
    assert client.get(f"{API}/credentials/programmes/{pid}").status_code == (200 if sees else 404)
    changed = client.patch_json(f"{API}/credentials/programmes/{pid}", {"description": "改"})
    assert changed.status_code == (200 if manages else 403 if sees else 404)
    level = client.post_json(
        f"{API}/credentials/programmes/{pid}/levels",
        {"rank": 9, "name": "九星", "criteria": {"kind": "points", "min": 900}},
    )
    assert level.status_code == (201 if manages else 403 if sees else 404)
    assert CredentialLevel.objects.filter(programme_id=pid, rank=9).exists() is manages
    created = client.post_json(f"{API}/credentials/programmes", {"place": tree.street_a.code, "name": "街道项目"})
    assert created.status_code == (201 if role != "community_worker" and manages else 403)
    if created.status_code == 403:
        assert error_of(created)["fields"] == {"place": ["您无权执行此操作"]}


def test_resident_sees_active_programmes_and_own_progress(make_client, tree, licence):
    r = resident_with_account(tree.comm_a1)
    client = make_client(r.user)
    items = client.get(f"{API}/credentials/programmes").json()["items"]
    assert [i["name"] for i in items] == ["星级家长执照"]
    assert client.patch_json(f"{API}/credentials/programmes/{licence.programme.pk}", {"name": "x"}).status_code == 403
    for s in sessions_of(licence.course)[:2]:
        attend(r, s)
    take_test(r, licence.test)
    [progress] = client.get(f"{API}/me/programmes").json()
    assert progress["held_rank"] == 0 and progress["next_rank"] == 1
    one, two, _three = progress["levels"]
    assert one["met"] and one["claimable"] and one["is_next"] and not one["held"]
    assert [leaf["detail"] for leaf in one["leaves"]] == ["已有 40 积分", "已通过 1 个测试"]
    assert not two["met"] and not two["claimable"]
    assert two["root"]["op"] == "all" and two["root"]["children"][1]["op"] == "any"
    assert [leaf["detail"] for leaf in two["leaves"]] == [
        "尚未持有",
        "已参加 2/4 次课，还差 2 次",
        "已完成 0/1 门课程，还差 1 门",
    ]
    single = client.get(f"{API}/me/programmes/{licence.programme.pk}")
    assert single.status_code == 200 and single.json()["levels"][0]["level_id"] == str(licence.levels[0].pk)
    far = make_client(resident_with_account(tree.comm_b1).user)
    assert far.get(f"{API}/me/programmes").json() == []
    assert far.get(f"{API}/me/programmes/{licence.programme.pk}").status_code == 404
    assert far.get(f"{API}/credentials/programmes/{licence.programme.pk}").status_code == 404


def test_staff_without_resident_profile_has_no_progress(make_client, tree):
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    resp = client.get(f"{API}/me/programmes")
    assert resp.status_code == 403 and error_of(resp)["code"] == "permission_denied"


def test_criteria_check(make_client, tree):
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    ok = client.post_json(
        f"{API}/credentials/criteria/check",
        {
            "criteria": {
                "any": [{"kind": "points", "min": 5, "window": {"days": 30}}, {"kind": "courses_completed", "min": 1}]
            }
        },
    )
    assert ok.json() == {"valid": True, "errors": [], "labels": ["积分 ≥ 5（近 30 天）", "完成课程 ≥ 1 门"]}
    bad = client.post_json(
        f"{API}/credentials/criteria/check",
        {"criteria": {"kind": "points", "min": 1, "window": {"from": "2025-13-01"}}},
    )
    assert bad.json() == {"valid": False, "errors": ["条件「起始日期」：日期格式应为 YYYY-MM-DD"], "labels": []}


def test_bad_input_in_the_one_error_shape(make_client, tree):
    client = make_client(factories.staff(Role.STREET_STAFF, tree.street_a))
    resp = client.post_json(f"{API}/credentials/programmes", {"place": "999999999999", "name": "x"})
    assert resp.status_code == 400 and error_of(resp)["fields"] == {"place": ["找不到该区划代码"]}
    resp = client.post_json(f"{API}/credentials/programmes", {"place": tree.street_a.code, "name": ""})
    assert resp.status_code == 422 and "name" in error_of(resp)["fields"]
    resp = client.get(f"{API}/credentials/programmes/00000000-0000-0000-0000-000000000000")
    assert resp.status_code == 404 and error_of(resp)["code"] == "not_found"
    assert not CredentialProgramme.objects.exists()


def test_list_and_progress_query_counts_are_constant(make_client, tree, licence):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    r = resident_with_account(tree.comm_a1)
    staff_client, resident_client = make_client(staff), make_client(r.user)
    attend(r, sessions_of(licence.course)[0])
    staff_client.get(f"{API}/credentials/programmes")
    resident_client.get(f"{API}/me/programmes")
    with CaptureQueriesContext(connection) as staff_few:
        staff_client.get(f"{API}/credentials/programmes")
    with CaptureQueriesContext(connection) as resident_few:
        resident_client.get(f"{API}/me/programmes")
    for i in range(4):
        p = programmes.programme_create(actor=None, place=tree.street_a, name=f"项目{i}")
        programmes.level_create(
            actor=None, programme=p, rank=1, name="一星", criteria={"kind": "sessions_attended", "min": 2}
        )
        programmes.programme_activate(actor=None, programme=p)
    attend(r, sessions_of(licence.course)[1])
    attend(r, sessions_of(licence.other_course)[0])
    take_test(r, licence.test)
    with CaptureQueriesContext(connection) as staff_many:
        assert len(staff_client.get(f"{API}/credentials/programmes").json()["items"]) == 5
    with CaptureQueriesContext(connection) as resident_many:
        assert len(resident_client.get(f"{API}/me/programmes").json()) == 5
    assert len(staff_few.captured_queries) == len(staff_many.captured_queries)
    assert len(resident_few.captured_queries) == len(resident_many.captured_queries)
