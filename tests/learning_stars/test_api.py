"""Star-rating API: every response checked against the OpenAPI document; a standard end to end (create, declare,
score as staff and as a peer, compute twice, review, approve, publish, "my stars"); the one error shape for bad
input and refused moves; who may do what; constant query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.learning.models import StarAssessment, StarRating, StarStandard
from gongzhi.learning.stars import services as stars
from gongzhi.organizations import services as organizations
from tests.api.conftest import API, error_of

from .conftest import CRITERIA, ORG_REF, THRESHOLDS, attend, make_standard, resident_with_account

pytestmark = pytest.mark.django_db

BODY = {
    "place_code": "330102001000",  # STREET_A
    "year": 2025,
    "name": "好婆婆学堂星级学员评定",
    "organization_ref": ORG_REF,
    "criteria": CRITERIA,
    "thresholds": THRESHOLDS,
}


def test_end_to_end(make_client, world):
    w = world
    attend(w.a, 10, place=w.tree.comm_a1)
    staff = make_client(w.users["street_staff"])
    created = staff.post_json(f"{API}/stars/standards", BODY)
    assert created.status_code == 201, created.content
    body = created.json()
    sid = body["id"]
    assert body["status"] == "draft" and body["place_name"] and body["criteria"][3]["by"] == "staff"
    assert body["criteria"][0]["by"] is None and body["thresholds"] == [20, 40, 60, 75, 90]
    # a draft: compute refused (409), scores refused (409)
    refused = staff.post_json(f"{API}/stars/standards/{sid}/compute")
    assert refused.status_code == 409 and error_of(refused)["code"] == "not_active"
    patched = staff.patch_json(f"{API}/stars/standards/{sid}", {"thresholds": [10, 30, 50, 70, 85]})
    assert patched.status_code == 200 and patched.json()["thresholds"] == [10, 30, 50, 70, 85]
    assert staff.post_json(f"{API}/stars/standards/{sid}/activate").json()["status"] == "active"
    assert staff.post_json(f"{API}/stars/standards/{sid}/activate").status_code == 200  # again: unchanged
    fixed = staff.patch_json(f"{API}/stars/standards/{sid}", {"thresholds": [20, 40, 60, 75, 90]})
    assert fixed.status_code == 409 and error_of(fixed)["fields"] == {
        "thresholds": ["标准已发布开始评定，指标、分数线、年度和限定组织不能再修改"]
    }
    # scores: staff and a peer; a peer may not score themselves
    put = staff.put(
        f"{API}/stars/standards/{sid}/assessments",
        data={"resident_id": str(w.a.pk), "criterion": "staff", "score": "90"},
        content_type="application/json",
    )
    assert put.status_code == 201 and put.json()["mine"] is True and put.json()["resident_name_masked"] == "陈*华"
    again = staff.put(
        f"{API}/stars/standards/{sid}/assessments",
        data={"resident_id": str(w.a.pk), "criterion": "staff", "score": "95"},
        content_type="application/json",
    )
    assert again.status_code == 200 and again.json()["score"] in ("95", "95.00", 95)
    peer = make_client(w.users["b"])
    ok = peer.put(
        f"{API}/stars/standards/{sid}/assessments",
        data={"resident_id": str(w.a.pk), "criterion": "peer", "score": 80},
        content_type="application/json",
    )
    assert ok.status_code == 201
    self_score = peer.put(
        f"{API}/stars/standards/{sid}/assessments",
        data={"resident_id": str(w.b.pk), "criterion": "peer", "score": 100},
        content_type="application/json",
    )
    assert self_score.status_code == 403 and error_of(self_score)["code"] == "self_assessment"
    outsider = peer.put(
        f"{API}/stars/standards/{sid}/assessments",
        data={"resident_id": str(w.outsider.pk), "criterion": "peer", "score": 100},
        content_type="application/json",
    )
    assert outsider.status_code == 404
    mine = peer.get(f"{API}/stars/standards/{sid}/assessments").json()
    assert mine["count"] == 1 and mine["items"][0]["criterion"] == "peer"
    assert staff.get(f"{API}/stars/standards/{sid}/assessments").json()["count"] == 2
    # compute twice
    first = staff.post_json(f"{API}/stars/standards/{sid}/compute").json()
    assert (first["created"], first["total"]) == (4, 4)
    second = staff.post_json(f"{API}/stars/standards/{sid}/compute").json()
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 4)
    ratings = staff.get(f"{API}/stars/standards/{sid}/ratings").json()
    assert ratings["count"] == 4
    top = ratings["items"][0]
    # 30 (attendance) + 0.2 × 95 + 0.1 × 80 = 57 → three stars at 10/30/50/70/85
    assert top["resident_name_masked"] == "陈*华" and top["score"] in ("57.00", 57, "57")
    assert top["proposed_stars"] == 3 and top["final_stars"] is None and top["status"] == "proposed"
    assert [line["code"] for line in top["breakdown"]] == ["attendance", "points", "service", "staff", "peer"]
    assert staff.get(f"{API}/stars/standards/{sid}/ratings?stars=0").json()["count"] == 3
    # review: a change without a note is refused with the field named; publish refused until all are reviewed
    no_note = staff.post_json(f"{API}/stars/ratings/{top['id']}/review", {"stars": 4})
    assert no_note.status_code == 400 and error_of(no_note)["fields"] == {
        "note": ["审核意见：改动建议星级时须写明理由"]
    }
    reviewed = staff.post_json(f"{API}/stars/ratings/{top['id']}/review", {"stars": 4, "note": "组织同伴学习"})
    assert reviewed.status_code == 200 and reviewed.json()["final_stars"] == 4
    early = staff.post_json(f"{API}/stars/standards/{sid}/publish")
    assert early.status_code == 409 and error_of(early)["code"] == "unreviewed"
    assert staff.post_json(f"{API}/stars/standards/{sid}/approve-all").json() == {"approved": 3}
    published = staff.post_json(f"{API}/stars/standards/{sid}/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"
    # the resident sees their stars
    me = make_client(w.users["a"]).get(f"{API}/me/stars")
    assert me.status_code == 200
    [item] = me.json()
    assert (item["stars"], item["proposed_stars"], item["review_note"]) == (4, 3, "组织同伴学习")
    assert item["thresholds"][0] == {"stars": 1, "min_score": 10.0}
    assert make_client(w.users["b"]).get(f"{API}/me/stars").json()[0]["stars"] == 0
    assert staff.get(f"{API}/me/stars").status_code == 403  # not a resident


def test_bad_input_in_the_one_error_shape(make_client, world):
    staff = make_client(world.users["street_staff"])
    bad = staff.post_json(
        f"{API}/stars/standards",
        dict(BODY, criteria=[dict(CRITERIA[0], weight=0.5)], thresholds=[20, 40, 40, 75, 90]),
    )
    assert bad.status_code == 400
    error = error_of(bad)
    assert error["fields"] == {
        "criteria": ["评定指标：各项权重之和应为 1，当前为 0.5"],
        "thresholds": ["三星分数线：应高于二星分数线 40"],
    }
    wrong_place = staff.post_json(f"{API}/stars/standards", dict(BODY, place_code="330103001000"))
    assert wrong_place.status_code == 403 and "place_code" in error_of(wrong_place)["fields"]
    unknown = staff.post_json(f"{API}/stars/standards", dict(BODY, place_code="330102009000"))
    assert unknown.status_code == 400 and error_of(unknown)["fields"] == {"place_code": ["找不到该区划代码"]}
    missing = staff.post_json(f"{API}/stars/standards", {"name": "x"})
    assert missing.status_code == 422
    assert not StarStandard.objects.exists()
    standard = make_standard(world.tree.street_a)
    score = staff.put(
        f"{API}/stars/standards/{standard.pk}/assessments",
        data={"resident_id": str(world.a.pk), "criterion": "staff", "score": "101"},
        content_type="application/json",
    )
    assert score.status_code == 400 and error_of(score)["fields"] == {"score": ["评分：应在 0 到 100 之间"]}
    assert not StarAssessment.objects.exists()


@pytest.mark.parametrize(
    ("who", "see", "manage"),
    [
        ("street_staff", 200, True),
        ("admin", 200, True),
        ("worker_a1", 200, False),
        ("worker_a2", 200, False),
        ("other_street", 404, False),
        ("teacher", 404, False),
        ("a", 404, False),
    ],
)
def test_permission_table(make_client, world, who, see, manage):
    standard = make_standard(world.tree.street_a)
    client = make_client(world.users[who])
    assert client.get(f"{API}/stars/standards/{standard.pk}").status_code == see
    listed = {s["id"] for s in client.get(f"{API}/stars/standards").json()["items"]}
    assert (str(standard.pk) in listed) is (see == 200)
    compute = client.post_json(f"{API}/stars/standards/{standard.pk}/compute")
    assert compute.status_code == (200 if manage else 403 if see == 200 else 404)
    assert StarRating.objects.exists() is manage
    ratings = client.get(f"{API}/stars/standards/{standard.pk}/ratings")
    assert ratings.status_code == see
    if see == 200:
        assert ratings.json()["count"] == (4 if manage else 0)  # before publication only managers see proposals


def test_anonymous_is_refused(anon, world):
    standard = make_standard(world.tree.street_a)
    assert anon.get(f"{API}/stars/standards/{standard.pk}").status_code == 401
    assert anon.get(f"{API}/me/stars").status_code == 401


def test_list_queries_do_not_grow(make_client, world):
    standard = make_standard(world.tree.street_a)
    stars.star_ratings_compute(actor=None, standard=standard)
    client = make_client(world.users["street_staff"])
    url = f"{API}/stars/standards/{standard.pk}/ratings"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(15):
        r, _u = resident_with_account(world.tree.comm_a1, f"学员{i:02d}号")
        organizations.membership_add(
            actor=None, organization=world.org, resident=r, joined_on=datetime.date(2024, 1, 1)
        )
    stars.star_ratings_compute(actor=None, standard=standard)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).json()["count"] == 19
    assert len(many) == len(few), len(many)
